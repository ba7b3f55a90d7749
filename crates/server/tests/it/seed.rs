//! The seed workflow: config files, pidfile, signals, SHUTDOWN, daemonize, start-up errors.

use crate::BIN;
use ferrodis_test_support::{free_port, signal, temp_dir, wait_until, Conn, TestServer};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SEED: &str = "# the seed's lines\nport {port}\npidfile {dir}/run/redis.pid\ndir {dir}/db\nslaveof 127.0.0.1 6379\nsave \"\"\n";

fn seed_server() -> TestServer {
    let b = TestServer::builder(BIN).config(SEED).no_defaults();
    std::fs::create_dir_all(b.dir().join("run")).expect("mkdir run");
    std::fs::create_dir_all(b.dir().join("db")).expect("mkdir db");
    b.start()
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .parse()
        .expect("pid number")
}

#[test]
fn seed_config_pidfile_and_kill_cat_pidfile() {
    let mut s = seed_server();
    let pidfile = s.dir().join("run/redis.pid");
    wait_until(
        Duration::from_secs(10),
        || pidfile.exists(),
        "the pidfile appears",
    );
    assert_eq!(read_pid(&pidfile), s.pid());
    let mut c = s.conn();
    assert_eq!(c.run("PING"), "+PONG");
    assert_eq!(
        c.run("CONFIG GET dir"),
        format!("[$dir, ${}]", s.dir().join("db").display())
    );
    assert!(c.run("CONFIG GET slaveof").len() > 2, "slaveof is kept");
    // The seed's stop script: kill $(cat pidfile).
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("kill $(cat {})", pidfile.display()))
        .status()
        .expect("sh");
    assert!(st.success());
    let st = s.wait_exit(Duration::from_secs(30));
    assert_eq!(st.code(), Some(0), "graceful exit; log:\n{}", s.log());
    assert!(!pidfile.exists(), "the pidfile is removed at exit");
}

#[test]
fn sigint_stops_gracefully() {
    let mut s = seed_server();
    let pidfile = s.dir().join("run/redis.pid");
    wait_until(
        Duration::from_secs(10),
        || pidfile.exists(),
        "the pidfile appears",
    );
    signal(s.pid(), "INT");
    let st = s.wait_exit(Duration::from_secs(30));
    assert_eq!(st.code(), Some(0));
    assert!(!pidfile.exists());
    assert!(s.log().contains("Received SIGINT"), "{}", s.log());
}

#[test]
fn shutdown_nosave() {
    let mut s = seed_server();
    let pidfile = s.dir().join("run/redis.pid");
    wait_until(
        Duration::from_secs(10),
        || pidfile.exists(),
        "the pidfile appears",
    );
    let mut c = s.conn();
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(
        c.closed_within(Duration::from_secs(30)),
        "SHUTDOWN closes the connection"
    );
    let st = s.wait_exit(Duration::from_secs(30));
    assert_eq!(st.code(), Some(0));
    assert!(!pidfile.exists());
}

#[test]
fn sigterm_via_stop_and_restart() {
    let mut s = crate::start(&[]);
    s.conn().run("SET k v");
    let st = s.stop();
    assert_eq!(st.code(), Some(0));
    s.restart();
    assert_eq!(s.conn().run("PING"), "+PONG");
}

#[test]
fn daemonize_detaches_and_pidfile_has_the_daemon_pid() {
    let dir = temp_dir("daemon");
    let port = free_port();
    let conf = dir.join("redis.conf");
    std::fs::write(
        &conf,
        format!(
            "daemonize yes\nport {port}\nbind 127.0.0.1\npidfile {d}/redis.pid\ndir {d}\nlogfile {d}/server.log\nsave \"\"\n",
            d = dir.display()
        ),
    )
    .expect("write config");
    let out = Command::new(BIN)
        .arg(&conf)
        .output()
        .expect("run the server");
    assert_eq!(
        out.status.code(),
        Some(0),
        "the foreground process exits 0 after detaching: {out:?}"
    );
    let pidfile = dir.join("redis.pid");
    wait_until(
        Duration::from_secs(30),
        || pidfile.exists(),
        "the daemon writes its pidfile",
    );
    let pid = read_pid(&pidfile);
    wait_until(
        Duration::from_secs(30),
        || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the daemon listens",
    );
    let mut c = Conn::connect(port);
    let info = ferrodis_test_support::info_fields(&c.cmd(&["INFO", "server"]));
    assert_eq!(
        info["process_id"],
        pid.to_string(),
        "pidfile holds the daemon's pid"
    );
    drop(c);
    signal(pid, "TERM");
    wait_until(
        Duration::from_secs(30),
        || !pidfile.exists(),
        "the daemon removes its pidfile",
    );
    wait_until(
        Duration::from_secs(30),
        || TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the daemon stops listening",
    );
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    assert!(log.contains("ready to exit"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn start_failure(config: &str, args: &[&str]) -> (Option<i32>, String, std::path::PathBuf) {
    let dir = temp_dir("badconf");
    let conf = dir.join("bad.conf");
    std::fs::write(&conf, config).expect("write config");
    let out = Command::new(BIN)
        .arg(&conf)
        .args(args)
        .output()
        .expect("run the server");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code(), stderr, conf)
}

#[test]
fn bad_config_fails_with_file_line_and_reason() {
    let (code, err, conf) = start_failure("port 0\nbogus-directive yes\n", &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("*** FATAL CONFIG FILE ERROR"), "{err}");
    assert!(
        err.contains(&format!(
            "Reading the configuration file {}, at line 2",
            conf.display()
        )),
        "{err}"
    );
    assert!(err.contains(">>> 'bogus-directive yes'"), "{err}");
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );

    let (code, err, _) = start_failure("# comment\n\nmaxclients lots\n", &[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("at line 3"), "{err}");
    assert!(err.contains(">>> 'maxclients lots'"), "{err}");
    assert!(
        err.contains("argument couldn't be parsed into an integer"),
        "{err}"
    );

    let (code, err, _) = start_failure("port 0\n", &["--appendfsync", "sometimes"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("appendfsync"), "{err}");
}

#[test]
fn port_in_use_fails_start_up() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port();
    let out = Command::new(BIN)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("port {port}")), "{text}");
}
