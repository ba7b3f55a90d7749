//! `ferrodis-topology` over real processes: ferrodis-server and Debian's redis-server, each
//! topology in its own temporary directory on ephemeral ports.
//!
//! The ferrodis-server binary comes from `ferrodis_test_support::server_bin()`
//! (`FERRODIS_SERVER_BIN`, else `target/<profile>/ferrodis-server`, which `cargo test
//! --workspace` builds; alone, run `cargo build -p ferrodis-server` first).

use ferrodis_test_support::{
    free_port, info_fields, require_program, server_bin, show, temp_dir, wait_until, Conn,
};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ferrodis-topology");
const REDIS: &str = "/usr/bin/redis-server";
/// Bound for replication links to come up and writes to reach replicas.
const LINK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Server {
    Ferrodis,
    Redis,
}

impl Server {
    fn bin(self) -> PathBuf {
        match self {
            Server::Ferrodis => server_bin(),
            Server::Redis => {
                require_program(REDIS, "install it with `apt-get install -y redis-server`");
                PathBuf::from(REDIS)
            }
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {BIN}: {e}"))
}

/// A base port whose next `n` ports are free too (checked by binding each).
fn free_base(n: u16) -> u16 {
    for _ in 0..100 {
        let base = free_port();
        if u32::from(base) + u32::from(n) > 65535 {
            continue;
        }
        let all_free = (0..=n).all(|k| TcpListener::bind(("127.0.0.1", base + k)).is_ok());
        if all_free {
            return base;
        }
    }
    panic!("found no {} consecutive free ports", n + 1);
}

/// A topology brought up by the launcher; `down` runs on drop, and the directory is removed
/// unless the test failed.
struct Topo {
    dir: PathBuf,
    base: u16,
    replicas: u16,
    up_stdout: String,
}

impl Topo {
    /// `up` with `replicas`, `extra` options, on fresh ports (retried on a port race).
    fn up(server: Server, replicas: u16, extra: &[&str]) -> Topo {
        let dir = temp_dir("topology");
        let bin = server.bin();
        let mut last = String::new();
        for _attempt in 0..5 {
            let base = free_base(replicas);
            let (base_s, n_s) = (base.to_string(), replicas.to_string());
            let dir_s = dir.display().to_string();
            let bin_s = bin.display().to_string();
            let mut args = vec![
                "up",
                "--dir",
                &dir_s,
                "--port",
                &base_s,
                "--replicas",
                &n_s,
                "--server-bin",
                &bin_s,
            ];
            args.extend_from_slice(extra);
            let out = run(&args);
            if out.status.success() {
                return Topo {
                    dir,
                    base,
                    replicas,
                    up_stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                };
            }
            last = text(&out);
            let race = [
                "not free",
                "in use",
                "already accepts",
                "is answered by pid",
            ];
            if !race.iter().any(|r| last.contains(r)) {
                break;
            }
        }
        panic!("ferrodis-topology up failed:\n{last}");
    }

    fn dir_arg(&self) -> String {
        self.dir.display().to_string()
    }

    fn ports(&self) -> Vec<u16> {
        (0..=self.replicas).map(|k| self.base + k).collect()
    }

    fn node_dir(&self, port: u16) -> PathBuf {
        self.dir.join(port.to_string())
    }

    fn pidfile(&self, port: u16) -> PathBuf {
        self.node_dir(port).join("redis.pid")
    }

    fn pid(&self, port: u16) -> u32 {
        let p = self.pidfile(port);
        let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
        t.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{} holds {t:?}: {e}", p.display()))
    }

    fn status(&self) -> Output {
        run(&["status", "--dir", &self.dir_arg()])
    }

    fn down(&self) -> Output {
        run(&["down", "--dir", &self.dir_arg()])
    }

    fn info_replication(&self, port: u16) -> std::collections::HashMap<String, String> {
        info_fields(&Conn::connect(port).cmd(&["INFO", "replication"]))
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        let out = self.down();
        if std::thread::panicking() {
            for port in self.ports() {
                let log = self.node_dir(port).join("server.log");
                eprintln!(
                    "---- {} ----\n{}",
                    log.display(),
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            eprintln!("down on drop: {}", text(&out));
            eprintln!("(directory kept: {})", self.dir.display());
        } else if out.status.success() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// True while `pid` exists and is not a zombie (Linux `/proc`).
fn running(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
    match stat {
        Ok(s) => !s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The rows of `status` output (header excluded), split on whitespace, keyed by port.
fn status_rows(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("node "))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn up_status_down(server: Server) {
    let topo = Topo::up(server, 2, &[]);
    let ports = topo.ports();
    // One line per node in `up`'s output, naming role, port, pid and dir.
    for (k, port) in ports.iter().enumerate() {
        let line = topo
            .up_stdout
            .lines()
            .find(|l| l.contains(&format!("port {port} ")))
            .unwrap_or_else(|| panic!("no line for {port} in:\n{}", topo.up_stdout));
        let role = if k == 0 { "master" } else { "replica of" };
        assert!(line.starts_with(role), "{line}");
        assert!(line.contains(&format!("pid {}", topo.pid(*port))), "{line}");
        assert!(
            line.contains(&topo.node_dir(*port).display().to_string()),
            "{line}"
        );
    }
    let mut pids = Vec::new();
    for &port in &ports {
        assert!(topo.pidfile(port).exists());
        let pid = topo.pid(port);
        assert!(running(pid), "pid {pid} of node {port} is not running");
        pids.push(pid);
        assert_eq!(show(&Conn::connect(port).cmd(&["PING"])), "+PONG");
        let info = info_fields(&Conn::connect(port).cmd(&["INFO", "server"]));
        assert_eq!(
            info.get("process_id"),
            Some(&pid.to_string()),
            "node {port}"
        );
    }
    // The files the launcher promises.
    let state = std::fs::read_to_string(topo.dir.join("topology.conf")).unwrap_or_default();
    assert!(
        state.contains(&format!("node {} master", ports[0])),
        "{state}"
    );
    let master_conf =
        std::fs::read_to_string(topo.node_dir(ports[0]).join("redis.conf")).unwrap_or_default();
    assert!(master_conf.contains("\nsave \"\"\n"), "{master_conf}");
    assert!(master_conf.contains("\ndaemonize yes\n"), "{master_conf}");

    let out = topo.status();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.starts_with("PORT"), "{stdout}");
    let rows = status_rows(&stdout);
    assert_eq!(rows.len(), 3, "{stdout}");
    for (row, (port, pid)) in rows.iter().zip(ports.iter().zip(&pids)) {
        assert_eq!(row[0], port.to_string(), "{stdout}");
        assert_eq!(row[1], pid.to_string(), "{stdout}");
    }
    assert_eq!(rows[0][2], "master", "{stdout}");
    for row in &rows[1..] {
        assert_eq!(row[2], "slave", "{stdout}");
        assert_eq!(row[3], ports[0].to_string(), "{stdout}");
    }

    let out = topo.down();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // Replicas first, the master last.
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("master  {}: stopped", ports[0])),
        "{stdout}"
    );
    for (&port, &pid) in ports.iter().zip(&pids) {
        assert!(
            !running(pid),
            "pid {pid} of node {port} still runs after down"
        );
        assert!(
            !topo.pidfile(port).exists(),
            "pidfile of {port} left after down"
        );
    }
    // down is idempotent; status now reports every node down and fails.
    let again = topo.down();
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("not running"),
        "{}",
        text(&again)
    );
    let out = topo.status();
    assert!(!out.status.success(), "{}", text(&out));
    let rows = status_rows(&String::from_utf8_lossy(&out.stdout));
    assert!(rows.iter().all(|r| r[2] == "down"), "{}", text(&out));
}

#[test]
fn up_status_down_ferrodis() {
    up_status_down(Server::Ferrodis);
}

#[test]
fn up_status_down_redis() {
    up_status_down(Server::Redis);
}

#[test]
fn second_up_on_the_same_dir_refuses() {
    let topo = Topo::up(Server::Ferrodis, 1, &[]);
    let pids: Vec<u32> = topo.ports().iter().map(|&p| topo.pid(p)).collect();
    // Same dir, other ports: still refused, because the recorded topology runs.
    let other = free_base(1).to_string();
    let bin = server_bin().display().to_string();
    let out = run(&[
        "up",
        "--dir",
        &topo.dir_arg(),
        "--port",
        &other,
        "--replicas",
        "1",
        "--server-bin",
        &bin,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already up"), "{}", text(&out));
    assert!(err.contains("down --dir"), "{}", text(&out));
    // Nothing was disturbed.
    for (&port, &pid) in topo.ports().iter().zip(&pids) {
        assert_eq!(topo.pid(port), pid);
        assert!(running(pid));
    }
}

#[test]
fn up_refuses_a_taken_port_and_starts_nothing() {
    let base = free_base(2);
    // Something else listens where the second replica would go.
    let holder = TcpListener::bind(("127.0.0.1", base + 2));
    let Ok(_holder) = holder else {
        return; // lost a port race before we could hold it: nothing to test this time
    };
    let dir = temp_dir("topology-taken");
    let (dir_s, base_s) = (dir.display().to_string(), base.to_string());
    let bin = server_bin().display().to_string();
    let out = run(&[
        "up",
        "--dir",
        &dir_s,
        "--port",
        &base_s,
        "--server-bin",
        &bin,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("port {}", base + 2)),
        "{}",
        text(&out)
    );
    assert!(!dir.join(base.to_string()).join("redis.pid").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn chain_writes_replicaof_lines_to_the_previous_node() {
    let topo = Topo::up(Server::Ferrodis, 3, &["--chain"]);
    let ports = topo.ports();
    let conf = |port: u16| {
        let p = topo.node_dir(port).join("redis.conf");
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    };
    let master = conf(ports[0]);
    assert!(!master.contains("replicaof"), "{master}");
    assert!(master.contains("\nsave \"\"\n"), "{master}");
    for w in ports.windows(2) {
        let c = conf(w[1]);
        let lines: Vec<&str> = c.lines().filter(|l| l.starts_with("replicaof")).collect();
        assert_eq!(lines, vec![format!("replicaof 127.0.0.1 {}", w[0])], "{c}");
        assert!(c.contains("\nsave 3600 1 300 100 60 10000\n"), "{c}");
        assert!(c.contains(&format!("\nport {}\n", w[1])), "{c}");
        // The running node reports the upstream it was configured with.
        let info = topo.info_replication(w[1]);
        assert_eq!(info.get("role").map(String::as_str), Some("slave"));
        assert_eq!(info.get("master_port"), Some(&w[0].to_string()));
    }
    let out = topo.status();
    assert!(out.status.success(), "{}", text(&out));
    let rows = status_rows(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows.len(), 4, "{}", text(&out));
    for (row, w) in rows[1..].iter().zip(ports.windows(2)) {
        assert_eq!(row[3], w[0].to_string(), "{}", text(&out));
    }
}

#[test]
fn killed_node_shows_down_and_status_fails() {
    let topo = Topo::up(Server::Ferrodis, 2, &[]);
    let victim = topo.base + 1;
    let pid = topo.pid(victim);
    let st = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("run kill: {e}"));
    assert!(st.success());
    wait_until(
        Duration::from_secs(10),
        || !running(pid),
        "the killed replica is gone",
    );
    let out = topo.status();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let rows = status_rows(&stdout);
    let row = rows
        .iter()
        .find(|r| r[0] == victim.to_string())
        .unwrap_or_else(|| panic!("no row for {victim}:\n{stdout}"));
    assert_eq!(row[1], format!("{pid}(dead)"), "{stdout}");
    assert_eq!(row[2], "down", "{stdout}");
    assert!(
        stdout.contains(&format!("node {victim} is down")),
        "{stdout}"
    );
    // The others are still reported as they are.
    assert_eq!(rows[0][2], "master", "{stdout}");
    assert_eq!(rows[2][2], "slave", "{stdout}");
    // down copes with the dead node (stale pidfile) and stops the rest.
    let out = topo.down();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("stale pidfile"),
        "{}",
        text(&out)
    );
    assert!(!topo.pidfile(victim).exists());
}

fn replicas_serve_what_the_master_set(server: Server, extra: &[&str]) {
    let topo = Topo::up(server, 2, extra);
    let ports = topo.ports();
    let mut master = Conn::connect(ports[0]);
    assert_eq!(master.run("set key1 val1"), "+OK");
    for &port in &ports[1..] {
        wait_until(
            LINK_TIMEOUT,
            || {
                topo.info_replication(port)
                    .get("master_link_status")
                    .map(String::as_str)
                    == Some("up")
            },
            &format!("replica {port} reports master_link_status:up"),
        );
        let mut c = Conn::connect(port);
        wait_until(
            LINK_TIMEOUT,
            || c.run("get key1") == "$val1",
            &format!("replica {port} answers get key1 with val1"),
        );
        // Replicas refuse writes.
        assert!(c.run("set key2 x").starts_with("-READONLY"));
    }
    let out = topo.status();
    assert!(out.status.success(), "{}", text(&out));
    let rows = status_rows(&String::from_utf8_lossy(&out.stdout));
    for row in &rows[1..] {
        assert_eq!(row[4], "up", "{}", text(&out));
    }
}

#[test]
fn replicas_serve_what_the_master_set_redis() {
    replicas_serve_what_the_master_set(Server::Redis, &[]);
}

#[test]
fn replicas_serve_what_the_master_set_redis_chain() {
    replicas_serve_what_the_master_set(Server::Redis, &["--chain"]);
}

#[test]
fn replicas_serve_what_the_master_set_ferrodis() {
    replicas_serve_what_the_master_set(Server::Ferrodis, &[]);
}

#[test]
fn status_and_down_without_a_topology() {
    let dir = temp_dir("topology-empty");
    let d = dir.display().to_string();
    let out = run(&["status", "--dir", &d]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("topology.conf"), "{}", text(&out));
    let out = run(&["down", "--dir", &d]);
    assert!(out.status.success(), "{}", text(&out));
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}

#[test]
fn unusable_server_programs_are_named_in_the_error() {
    let dir = temp_dir("topology-badbin");
    let d = dir.display().to_string();
    let base = free_base(1).to_string();
    let out = run(&[
        "up",
        "--dir",
        &d,
        "--port",
        &base,
        "--server-bin",
        "/nonexistent/redis-server",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--server-bin /nonexistent/redis-server: no such file"),
        "{}",
        text(&out)
    );
    // A program that exits with an error at once: the node, its config and the exit status.
    let out = run(&[
        "up",
        "--dir",
        &d,
        "--port",
        &base,
        "--replicas",
        "1",
        "--server-bin",
        "/bin/false",
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("master {base}")), "{}", text(&out));
    assert!(err.contains("redis.conf"), "{}", text(&out));
    assert!(err.contains("exited with"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
