//! Differential tests: the same arguments and stdin go to Debian's `redis-cli` 7.0 and to
//! `ferrodis-cli`, both talking to a real `redis-server` on an ephemeral port, and their
//! stdout (and exit status) must be identical. These tests fail, not skip, when redis-server or
//! redis-cli is missing.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FERRODIS_CLI: &str = env!("CARGO_BIN_EXE_ferrodis-cli");

fn require(bin: &str) {
    let ok = Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{bin}` is required for these tests (apt-get install -y redis-server redis-tools)"
    );
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "ferrodis-cli-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).expect("create a temp dir");
    d
}

/// The `process_id` a server answering on `port` reports (None: nothing answers yet, or a
/// server with `requirepass`, whose pid cannot be read; such a server is then trusted).
fn owner_pid(port: u16) -> Option<u32> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"INFO server\r\n").ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = std::io::Read::read(&mut s, &mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if text.starts_with("-NOAUTH") {
            return Some(0);
        }
        if let Some(line) = text.lines().find(|l| l.starts_with("process_id:")) {
            if text.ends_with("\r\n") {
                return line["process_id:".len()..].trim().parse().ok();
            }
        }
    }
}

/// A redis-server child on an ephemeral port, killed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        require("redis-server");
        require("redis-cli");
        // A free port can be taken by another test's server between picking and binding:
        // retry until the server answering on the port is the process we started.
        for _attempt in 0..8 {
            let dir = temp_dir();
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("pick a free port")
                .port();
            let mut child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                ])
                .args(["--appendonly", "no", "--daemonize", "no", "--dir"])
                .arg(&dir)
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // exited (address in use): next attempt
                }
                if let Some(pid) = owner_pid(port) {
                    if pid == child.id() || pid == 0 {
                        return Server { child, port, dir };
                    }
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "redis-server did not listen on port {port} within 10s"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
        panic!("redis-server could not start on a free port after 8 attempts");
    }

    fn port(&self) -> String {
        self.port.to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Output {
    stdout: Vec<u8>,
    code: Option<i32>,
}

fn run(bin: &str, args: &[String], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(bin)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("REDISCLI_AUTH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for the cli");
    let _ = writer.join();
    Output {
        stdout: out.stdout,
        code: out.status.code(),
    }
}

/// Runs both CLIs with `args` (the server's `-p` is prepended) and compares.
fn same(server: &Server, args: &[&str], stdin: &str, env: &[(&str, &str)]) {
    let mut full = vec!["-p".to_string(), server.port()];
    full.extend(args.iter().map(|s| s.to_string()));
    let theirs = run("redis-cli", &full, stdin.as_bytes(), env);
    let ours = run(FERRODIS_CLI, &full, stdin.as_bytes(), env);
    assert_eq!(
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&theirs.stdout),
        "stdout differs for args {args:?} stdin {stdin:?} env {env:?}"
    );
    assert_eq!(
        ours.code, theirs.code,
        "exit status differs for args {args:?}"
    );
}

fn redis_cli(server: &Server, args: &[&str]) {
    let mut full = vec!["-p".to_string(), server.port()];
    full.extend(args.iter().map(|s| s.to_string()));
    let out = run("redis-cli", &full, b"", &[]);
    assert_eq!(out.code, Some(0), "setup command {args:?} failed");
}

fn seed(server: &Server) {
    redis_cli(server, &["set", "key1", "val1"]);
    redis_cli(server, &["set", "bin", "a\r\n\t\u{7}\u{8}\"\\\u{1}\u{7f}é"]);
    redis_cli(server, &["incr", "counter"]);
    let mut rpush = vec!["rpush", "list"];
    let items = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
    rpush.extend(items);
    redis_cli(server, &rpush);
    redis_cli(server, &["hset", "hash", "f1", "v1", "f2", "v2"]);
    redis_cli(
        server,
        &[
            "zadd",
            "zset",
            "1.5",
            "a",
            "2",
            "b",
            "3.3333333333333335",
            "c",
        ],
    );
    redis_cli(server, &["sadd", "set", "only"]);
    redis_cli(server, &["-n", "2", "set", "dbkey", "in-db-2"]);
}

#[test]
fn one_shot_replies_match_redis_cli() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    seed(&s);
    let nested = "return {1,{2,{3,'x'},{}},'a\\r\\n\\0\\1',{}}";
    let resp3_map = "return {map={a={1,2},b={},c={map={x=1}}}}";
    let cases: Vec<Vec<&str>> = vec![
        vec!["set", "key2", "val2"],
        vec!["get", "key1"],
        vec!["get", "missing"],
        vec!["get", "bin"],
        vec!["exists", "key1", "counter", "nope"],
        vec!["strlen", "key1"],
        vec!["nosuchcommand", "x"],
        vec!["get"],
        vec!["lrange", "list", "0", "-1"],
        vec!["lrange", "list", "0", "-1"],
        vec!["lrange", "missing", "0", "-1"],
        vec!["eval", nested, "0"],
        vec!["config", "get", "maxmemory*"],
        vec!["hgetall", "hash"],
        vec!["-3", "hgetall", "hash"],
        vec!["-3", "hgetall", "missing"],
        vec!["-3", "smembers", "set"],
        vec!["-3", "zrange", "zset", "0", "-1", "withscores"],
        vec!["-3", "zscore", "zset", "c"],
        vec!["-3", "eval", resp3_map, "0"],
        vec!["-3", "command", "docs", "get"],
        vec!["-3", "debug", "protocol", "true"],
        vec!["-3", "debug", "protocol", "false"],
        vec!["-3", "debug", "protocol", "double"],
        vec!["-3", "debug", "protocol", "verbatim"],
        vec!["-3", "debug", "protocol", "map"],
        vec!["-3", "debug", "protocol", "set"],
        vec!["-3", "debug", "protocol", "null"],
        vec!["-2", "hgetall", "hash"],
        vec!["-n", "2", "get", "dbkey"],
        vec!["-r", "3", "lrange", "list", "0", "1"],
        vec!["-r", "2", "-i", "0.05", "get", "key1"],
        vec!["-d", ",", "-D", "|", "lrange", "list", "0", "2"],
        vec!["-e", "nosuchcommand"],
        vec!["-e", "get", "key1"],
        vec!["--quoted-input", "get", "\"key\\x31\""],
    ];
    for mode in [&["--raw"][..], &["--no-raw"][..], &["--csv"][..], &[][..]] {
        for case in &cases {
            let mut args: Vec<&str> = mode.to_vec();
            args.extend(case.iter().copied());
            same(&s, &args, "", &[]);
        }
    }
    // A terminal's formatting, as redis-cli's own test-suite obtains it.
    same(&s, &["get", "key1"], "", &[("FAKETTY", "1")]);
    same(&s, &["lrange", "list", "0", "-1"], "", &[("FAKETTY", "1")]);
}

#[test]
fn stdin_modes_match_redis_cli() {
    let s = Server::start(&[]);
    seed(&s);
    let script = "select 2\nset n 0\nselect 0\nset a 0\nmulti\nset a 1\nincr a\nlpush a x\nget a\nexec\nselect 2\nget dbkey\n\
                  set \"a b\" \"c\\td\"\n\nget \"a b\n  get 'a b'\nkeys *\n3 incr n\n0 incr n\n\
                  discard\nquit\nget a\n";
    for mode in [&["--raw"][..], &["--no-raw"][..]] {
        same(&s, mode, script, &[]);
        same(&s, mode, "get key1\r\nnosuch\nget key1", &[]);
    }
    same(&s, &["-x", "set", "fromstdin"], "line one\nline two\n", &[]);
    same(&s, &["--no-raw", "get", "fromstdin"], "", &[]);
    same(&s, &["-X", "TAG", "set", "tagged", "TAG"], "tag-value", &[]);
    same(&s, &["get", "tagged"], "", &[]);
}

#[test]
fn url_db_and_password() {
    let s = Server::start(&["--requirepass", "s3cret"]);
    let port = s.port();
    let url = format!("redis://:s3cret@127.0.0.1:{port}/3");
    let url_user = format!("redis://default:s3cret@127.0.0.1:{port}/3");
    let url_db = format!("redis://127.0.0.1:{port}/3");
    same(
        &s,
        &["-a", "s3cret", "-n", "3", "set", "k", "in-3"],
        "",
        &[],
    );
    same(&s, &["-a", "s3cret", "get", "k"], "", &[]);
    same(&s, &["-a", "s3cret", "-n", "3", "get", "k"], "", &[]);
    same(
        &s,
        &["--no-auth-warning", "-a", "wrong", "get", "k"],
        "",
        &[],
    );
    same(&s, &["get", "k"], "", &[]);
    same(
        &s,
        &[
            "--user", "default", "--pass", "s3cret", "-n", "3", "get", "k",
        ],
        "",
        &[],
    );
    same(
        &s,
        &["-n", "3", "get", "k"],
        "",
        &[("REDISCLI_AUTH", "s3cret")],
    );
    same(&s, &["-u", &url, "get", "k"], "", &[]);
    same(&s, &["-u", &url_user, "get", "k"], "", &[]);
    same(&s, &["-a", "s3cret", "-u", &url_db, "get", "k"], "", &[]);
    same(
        &s,
        &["-a", "s3cret", "--no-raw", "-n", "3"],
        "get k\nselect 0\nget k\n",
        &[],
    );
}

#[test]
fn option_errors_and_unreachable_server() {
    let s = Server::start(&[]);
    same(&s, &["-z"], "", &[]);
    same(&s, &["-n"], "", &[]);
    // Port 1 is never a Redis server: both fail to connect and exit 1.
    let args: Vec<String> = ["-p", "1", "get", "x"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let theirs = run("redis-cli", &args, b"", &[]);
    let ours = run(FERRODIS_CLI, &args, b"", &[]);
    assert_eq!((ours.stdout, ours.code), (theirs.stdout, theirs.code));
}

#[test]
fn rdb_transfer_writes_a_snapshot() {
    let s = Server::start(&[]);
    seed(&s);
    for diskless in ["no", "yes"] {
        redis_cli(&s, &["config", "set", "repl-diskless-sync", diskless]);
        redis_cli(&s, &["config", "set", "repl-diskless-sync-delay", "0"]);
        let file = s.dir.join(format!("snap-{diskless}.rdb"));
        let args = vec![
            "-p".to_string(),
            s.port(),
            "--rdb".to_string(),
            file.display().to_string(),
        ];
        let out = run(FERRODIS_CLI, &args, b"", &[]);
        assert_eq!(out.code, Some(0), "--rdb failed (diskless {diskless})");
        let bytes = std::fs::read(&file).expect("read the RDB file");
        assert!(
            bytes.starts_with(b"REDIS0010"),
            "not an RDB file: {:?}",
            &bytes[..bytes.len().min(16)]
        );
        assert_eq!(
            bytes[bytes.len() - 9],
            0xff,
            "RDB must end with EOF opcode + CRC-64"
        );
    }
}

#[test]
fn replica_mode_prints_the_command_stream() {
    let s = Server::start(&[]);
    let mut child = Command::new(FERRODIS_CLI)
        .args(["-p", &s.port(), "--replica"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferrodis-cli --replica");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    // Writes made before the replica is online are not streamed: keep writing until one shows.
    'outer: while Instant::now() < deadline {
        redis_cli(&s, &["set", "rk", "v \"q\""]);
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            let hit = line == r#""set","rk","v \"q\"""#;
            seen.push(line);
            if hit {
                break 'outer;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l == r#""set","rk","v \"q\"""#),
        "the SET never appeared in the replica stream within 15s; saw {seen:?}"
    );
}
