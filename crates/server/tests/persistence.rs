//! RDB persistence over real processes: save/restart, BGSAVE, save points, shutdown saves,
//! FLUSHALL, DEBUG RELOAD, interop with Debian's redis-server 7.0 (dumps both ways, DUMP/RESTORE
//! payloads), crash safety (SIGKILL during BGSAVE), corrupt dumps, -LOADING, and the
//! point-in-time guarantee of BGSAVE under concurrent writers.
//!
//! Every wait is bounded and names what it waited for. The tests that build multi-million-key
//! datasets take the `HEAVY` lock so that only one runs at a time (memory and CPU on small CI
//! machines), which keeps them from being flaky on a loaded 2-core box.
#![allow(clippy::unwrap_used)]

mod support {
    //! Minimal process + RESP helpers.
    //! TODO(test-support): replace this module with `ferrodis-test-support`'s `TestServer`
    //! once that crate lands on main; keep the API shape (start/spawn/conn/cmd) compatible.
    #![allow(dead_code)]

    use bytes::BytesMut;
    pub use ferrodis_resp::Frame;
    use std::collections::BTreeMap;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, ExitStatus, Stdio};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    /// Default bound for waits that involve a whole server (start, load, save, exit).
    pub const LONG: Duration = Duration::from_secs(180);

    /// Polls `f` every 10 ms until it returns `Some`, failing with `what` after `limit`.
    pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
        let t0 = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(
                t0.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Fails (never skips) when a Redis tool is missing.
    pub fn require(bin: &str) -> PathBuf {
        std::env::var_os("PATH")
            .and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(bin))
                    .find(|p| p.is_file())
            })
            .unwrap_or_else(|| {
                panic!(
                    "`{bin}` not found in PATH: the persistence interop tests need Debian's \
                     redis-server 7.0 (`apt-get install redis-server` provides redis-server and \
                     redis-check-rdb); they fail rather than skip"
                )
            })
    }

    /// A temporary directory removed on drop.
    pub struct TempDir(pub PathBuf);
    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "ferrodis-persist-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        /// A subdirectory (created).
        pub fn sub(&self, name: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::create_dir_all(&p).unwrap();
            p
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        Ferrodis,
        Redis,
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn command(kind: Kind, port: u16, dir: &Path, extra: &[&str]) -> Command {
        let mut c = match kind {
            Kind::Ferrodis => Command::new(env!("CARGO_BIN_EXE_ferrodis-server")),
            Kind::Redis => {
                let mut c = Command::new(require("redis-server"));
                c.args(["--appendonly", "no", "--daemonize", "no"]);
                c
            }
        };
        c.arg("--port").arg(port.to_string());
        c.args(["--bind", "127.0.0.1", "--enable-debug-command", "yes"]);
        c.arg("--dir").arg(dir);
        if !extra.contains(&"--save") {
            c.args(["--save", ""]);
        }
        c.args(extra);
        c
    }

    /// A server process (ferrodis or redis-server), killed on drop.
    pub struct Server {
        pub kind: Kind,
        pub child: Child,
        pub port: u16,
        pub dir: PathBuf,
        pub log: PathBuf,
    }

    /// The `process_id` INFO reports on `port`, if a server answers there.
    fn owner_pid(port: u16) -> Option<u32> {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n").ok()?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&buf).contains("process_id:") || !buf.ends_with(b"\r\n") {
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8_lossy(&buf);
        let line = text.lines().find(|l| l.starts_with("process_id:"))?;
        line["process_id:".len()..].trim().parse().ok()
    }

    impl Server {
        /// Starts and waits until PING answers PONG (i.e. any dump is loaded).
        pub fn start(kind: Kind, dir: &Path, extra: &[&str]) -> Server {
            let s = Server::spawn(kind, dir, extra);
            s.wait_ready();
            s
        }

        /// Starts and waits only until the port accepts connections (the server may still be
        /// loading). Retries on another port when the process dies before that (port race).
        pub fn spawn(kind: Kind, dir: &Path, extra: &[&str]) -> Server {
            static N: AtomicU32 = AtomicU32::new(0);
            let mut last_log = String::new();
            for _attempt in 0..5 {
                let port = free_port();
                let log = dir.parent().unwrap_or(dir).join(format!(
                    "{:?}-{}-{}.log",
                    kind,
                    port,
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                let out = std::fs::File::create(&log).unwrap();
                let child = command(kind, port, dir, extra)
                    .stdout(Stdio::from(out.try_clone().unwrap()))
                    .stderr(Stdio::from(out))
                    .spawn()
                    .unwrap_or_else(|e| panic!("cannot start {kind:?}: {e}"));
                let mut s = Server {
                    kind,
                    child,
                    port,
                    dir: dir.to_path_buf(),
                    log,
                };
                let t0 = Instant::now();
                loop {
                    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        // The port may belong to another test's server (free-port race): make
                        // sure the process answering is ours.
                        match owner_pid(port) {
                            Some(pid) if pid == s.child.id() => return s,
                            Some(_) => {
                                let _ = s.child.kill();
                                let _ = s.child.wait();
                                eprintln!(
                                    "{kind:?}: port {port} taken by another server, retrying"
                                );
                                break;
                            }
                            None => {}
                        }
                    }
                    if let Ok(Some(st)) = s.child.try_wait() {
                        last_log = s.log_text();
                        eprintln!("{kind:?} exited early ({st}), retrying on another port");
                        break;
                    }
                    assert!(
                        t0.elapsed() < Duration::from_secs(30),
                        "{kind:?} did not open port {port} within 30 s; log:\n{}",
                        s.log_text()
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            panic!("{kind:?} failed to start 5 times; last log:\n{last_log}");
        }

        /// Waits until PING answers PONG (not -LOADING).
        pub fn wait_ready(&self) {
            let mut c = self.conn();
            wait_for(
                &format!("{:?} on port {} to finish loading", self.kind, self.port),
                LONG,
                || (c.cmd(&["PING"]) == Frame::Simple("PONG".into())).then_some(()),
            );
        }

        pub fn conn(&self) -> Conn {
            Conn::connect(self.port)
        }

        pub fn pid(&self) -> u32 {
            self.child.id()
        }

        pub fn log_text(&self) -> String {
            std::fs::read_to_string(&self.log).unwrap_or_default()
        }

        pub fn dump_path(&self) -> PathBuf {
            self.dir.join("dump.rdb")
        }

        pub fn signal(&self, sig: &str) {
            let st = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(self.pid().to_string())
                .status()
                .unwrap();
            assert!(st.success(), "kill -{sig} {} failed", self.pid());
        }

        /// SIGKILL and reap.
        pub fn kill9(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }

        /// Waits (bounded) for the process to exit.
        pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
            let what = format!("{:?} (pid {}) to exit", self.kind, self.pid());
            let child = &mut self.child;
            wait_for(&what, limit, || child.try_wait().unwrap())
        }

        /// Sends SHUTDOWN with `args` and waits for the exit.
        pub fn shutdown(&mut self, args: &[&str]) -> ExitStatus {
            let mut c = self.conn();
            let mut argv = vec!["SHUTDOWN"];
            argv.extend_from_slice(args);
            c.send(&argv);
            let st = self.wait_exit(LONG);
            assert!(st.success(), "{:?} exited with {st}", self.kind);
            st
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Runs a server expected to exit by itself (e.g. refusing a corrupt dump); returns its
    /// status and log. Retries when the port was taken in the meantime.
    pub fn run_to_exit(kind: Kind, dir: &Path, extra: &[&str]) -> (ExitStatus, String) {
        for _ in 0..5 {
            let port = free_port();
            let out = command(kind, port, dir, extra)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let log = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if !log.contains("Address already in use") {
                return (out.status, log);
            }
        }
        panic!("{kind:?}: port races 5 times in a row");
    }

    /// A RESP2 connection.
    pub struct Conn {
        s: TcpStream,
        buf: BytesMut,
    }

    impl Conn {
        pub fn connect(port: u16) -> Conn {
            let s = wait_for(
                &format!("a connection to 127.0.0.1:{port}"),
                Duration::from_secs(30),
                || TcpStream::connect(("127.0.0.1", port)).ok(),
            );
            s.set_read_timeout(Some(LONG)).unwrap();
            s.set_nodelay(true).unwrap();
            Conn {
                s,
                buf: BytesMut::new(),
            }
        }

        pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
            let mut out = BytesMut::new();
            ferrodis_resp::encode_command(args, &mut out);
            self.s.write_all(&out).unwrap();
        }

        /// Next reply; `None` when the server closed the connection.
        pub fn read(&mut self) -> Option<Frame> {
            loop {
                if let Some(f) = ferrodis_resp::decode(&mut self.buf).expect("valid RESP") {
                    return Some(f);
                }
                let mut chunk = [0u8; 65536];
                let n = match self.s.read(&mut chunk) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                    Err(e) => panic!("read failed: {e}"),
                };
                if n == 0 {
                    return None;
                }
                self.buf.extend_from_slice(&chunk[..n]);
            }
        }

        pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Frame {
            self.send(args);
            self.read().expect("connection closed before the reply")
        }

        /// A command that must not fail.
        pub fn ok<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Frame {
            let r = self.cmd(args);
            if let Frame::Error(e) = &r {
                panic!(
                    "{:?} failed: {}",
                    args.iter()
                        .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
                        .collect::<Vec<_>>(),
                    String::from_utf8_lossy(e)
                );
            }
            r
        }

        /// Sends commands in batches of 500 and returns every reply.
        pub fn pipeline(&mut self, cmds: &[Vec<Vec<u8>>]) -> Vec<Frame> {
            let mut replies = Vec::with_capacity(cmds.len());
            for batch in cmds.chunks(500) {
                let mut out = BytesMut::new();
                for c in batch {
                    ferrodis_resp::encode_command(c, &mut out);
                }
                self.s.write_all(&out).unwrap();
                for _ in batch {
                    replies.push(self.read().expect("connection closed in a pipeline"));
                }
            }
            replies
        }

        pub fn int<A: AsRef<[u8]>>(&mut self, args: &[A]) -> i64 {
            match self.ok(args) {
                Frame::Integer(i) => i,
                other => panic!("expected an integer, got {other:?}"),
            }
        }

        /// One INFO field (`section`), as text.
        pub fn info(&mut self, section: &str, field: &str) -> String {
            let text = self.ok(&["INFO", section]).to_text();
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
                .unwrap_or_else(|| panic!("INFO {section} has no {field}:\n{text}"))
        }

        pub fn info_i(&mut self, section: &str, field: &str) -> i64 {
            self.info(section, field).trim().parse().unwrap()
        }
    }

    /// Errors mean "unknown command" only when the server lacks the command entirely.
    fn unsupported(f: &Frame) -> bool {
        matches!(f, Frame::Error(e) if e.starts_with(b"ERR unknown command"))
    }

    /// What a key holds, in a form comparable between servers.
    #[derive(Debug, Clone, PartialEq)]
    pub struct KeyState {
        pub ty: String,
        pub pexpiretime: i64,
        /// `None` when the server has no command to read this type yet.
        pub value: Option<Frame>,
    }

    fn sorted(f: Frame, pairs: bool) -> Frame {
        let Frame::Array(mut v) = f else { return f };
        if pairs {
            let mut p: Vec<(Frame, Frame)> =
                v.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect();
            p.sort_by_key(|a| a.0.to_text());
            v = p.into_iter().flat_map(|(a, b)| [a, b]).collect();
        } else {
            v.sort_by_key(|x| x.as_bytes().map(<[u8]>::to_vec));
        }
        Frame::Array(v)
    }

    /// Drops the radix tree shape fields from XINFO STREAM FULL (they depend on insertion
    /// history, not on content).
    pub fn stream_info(f: Frame) -> Frame {
        let Frame::Array(v) = f else { return f };
        Frame::Array(
            v.chunks(2)
                .filter(|c| !c[0].to_text().starts_with("radix-tree"))
                .flat_map(|c| c.to_vec())
                .collect(),
        )
    }

    /// Reads a key's value with the type's read commands. Add a type here when it lands.
    fn read_value(c: &mut Conn, ty: &str, key: &[u8]) -> Option<Frame> {
        let k = key.to_vec();
        let run = |c: &mut Conn, args: &[&[u8]]| -> Option<Frame> {
            let r = c.cmd(args);
            if unsupported(&r) {
                None
            } else {
                Some(r)
            }
        };
        match ty {
            "string" => run(c, &[b"GET", &k]),
            "list" => run(c, &[b"LRANGE", &k, b"0", b"-1"]),
            "hash" => run(c, &[b"HGETALL", &k]).map(|f| sorted(f, true)),
            "set" => run(c, &[b"SMEMBERS", &k]).map(|f| sorted(f, false)),
            "zset" => run(c, &[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"]),
            "stream" => {
                let range = run(c, &[b"XRANGE", &k, b"-", b"+"])?;
                let groups = run(c, &[b"XINFO", b"GROUPS", &k])?;
                let full = run(c, &[b"XINFO", b"STREAM", &k, b"FULL"]).map(stream_info)?;
                Some(Frame::Array(vec![range, groups, full]))
            }
            other => panic!("no reader for type {other}"),
        }
    }

    pub type Contents = BTreeMap<(u32, Vec<u8>), KeyState>;

    /// Every key of every database (0..16) with type, absolute expiry and value.
    pub fn contents(c: &mut Conn) -> Contents {
        let mut out = Contents::new();
        for db in 0..16u32 {
            c.ok(&["SELECT", &db.to_string()]);
            let Frame::Array(keys) = c.ok(&["KEYS", "*"]) else {
                panic!("KEYS did not return an array")
            };
            let keys: Vec<Vec<u8>> = keys
                .iter()
                .map(|k| k.as_bytes().unwrap().to_vec())
                .collect();
            let meta: Vec<Vec<Vec<u8>>> = keys
                .iter()
                .flat_map(|k| {
                    [
                        vec![b"TYPE".to_vec(), k.clone()],
                        vec![b"PEXPIRETIME".to_vec(), k.clone()],
                    ]
                })
                .collect();
            let replies = c.pipeline(&meta);
            let mut strings = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                let ty = replies[2 * i].to_text();
                let Frame::Integer(pexpiretime) = replies[2 * i + 1] else {
                    panic!("PEXPIRETIME: {:?}", replies[2 * i + 1])
                };
                if ty == "string" {
                    strings.push(k.clone());
                }
                out.insert(
                    (db, k.clone()),
                    KeyState {
                        ty,
                        pexpiretime,
                        value: None,
                    },
                );
            }
            // Strings in one pipeline (the bulk of every dataset), the rest one by one.
            let gets: Vec<Vec<Vec<u8>>> = strings
                .iter()
                .map(|k| vec![b"GET".to_vec(), k.clone()])
                .collect();
            for (k, v) in strings.iter().zip(c.pipeline(&gets)) {
                out.get_mut(&(db, k.clone())).unwrap().value = Some(v);
            }
            for k in &keys {
                let ty = out[&(db, k.clone())].ty.clone();
                if ty != "string" {
                    let v = read_value(c, &ty, k);
                    out.get_mut(&(db, k.clone())).unwrap().value = v;
                }
            }
        }
        c.ok(&["SELECT", "0"]);
        out
    }

    /// Asserts equal contents. Values a side cannot read (`None`) are not compared, but the
    /// key, its type and its expiry still are.
    pub fn assert_same(what: &str, a: &Contents, b: &Contents) {
        let ka: Vec<_> = a.keys().collect();
        let kb: Vec<_> = b.keys().collect();
        if ka != kb {
            let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).take(10).collect();
            let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).take(10).collect();
            panic!(
                "{what}: key sets differ ({} vs {} keys); only in first: {only_a:?}; only in \
                 second: {only_b:?}",
                a.len(),
                b.len()
            );
        }
        for (k, x) in a {
            let y = &b[k];
            assert_eq!(x.ty, y.ty, "{what}: type of {k:?}");
            assert_eq!(x.pexpiretime, y.pexpiretime, "{what}: expiry of {k:?}");
            if let (Some(vx), Some(vy)) = (&x.value, &y.value) {
                assert!(vx == vy, "{what}: value of {k:?} differs:\n{vx:?}\n{vy:?}");
            }
        }
    }
}

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::*;

/// Only one heavy (multi-million-key) test at a time.
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// A mixed string dataset: small, int-like, binary-safe, big (> 64 KB), compressible, with
/// expiries, in several databases, plus `many` plain keys in db 0.
fn write_strings(c: &mut Conn, many: usize) {
    let binary: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    let big: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let compressible = b("abcabcabcd").repeat(20_000);
    for db in ["0", "3", "15"] {
        c.ok(&["SELECT", db]);
        c.ok(&[b("SET"), b("plain"), b(&format!("in db {db}"))]);
        c.ok(&[b("SET"), b("int"), b("12345")]);
        c.ok(&[b("SET"), b("neg"), b("-9223372036854775808")]);
        c.ok(&[b("SET"), b("empty"), b("")]);
        c.ok(&[b("SET"), b("bin\r\n\0key"), binary.clone()]);
        c.ok(&[b("SET"), b("big"), big.clone()]);
        c.ok(&[b("SET"), b("lzf"), compressible.clone()]);
        c.ok(&["SET", "ttl-ex", "v", "EX", "100000"]);
        c.ok(&["SET", "ttl-px", "v", "PX", "50000000"]);
        c.ok(&["SET", "ttl-abs", "v", "PXAT", "32503680000123"]);
    }
    c.ok(&["SELECT", "0"]);
    let mut cmds = Vec::new();
    for chunk in (0..many).collect::<Vec<_>>().chunks(1000) {
        let mut m = vec![b("MSET")];
        for i in chunk {
            m.push(b(&format!("k:{i}")));
            m.push(b(&format!("v:{i}:{}", "x".repeat(i % 50))));
        }
        cmds.push(m);
    }
    for r in c.pipeline(&cmds) {
        assert!(!r.is_error(), "MSET: {r:?}");
    }
}

fn dump_bytes(s: &Server) -> Vec<u8> {
    std::fs::read(s.dump_path()).unwrap_or_else(|e| panic!("{}: {e}", s.dump_path().display()))
}

/// Waits until a background save (if any) is over.
fn wait_bgsave_done(c: &mut Conn) {
    wait_for("rdb_bgsave_in_progress:0", LONG, || {
        (c.info_i("persistence", "rdb_bgsave_in_progress") == 0).then_some(())
    });
}

/// Waits until the wall clock (server TIME) is past `secs`, so that LASTSAVE can change.
fn wait_clock_past(c: &mut Conn, secs: i64) {
    wait_for(
        "the server clock to pass LASTSAVE",
        Duration::from_secs(5),
        || {
            let Frame::Array(t) = c.ok(&["TIME"]) else {
                panic!("TIME")
            };
            (t[0].to_text().parse::<i64>().unwrap() > secs).then_some(())
        },
    );
}

#[test]
fn save_then_restart_keeps_everything() {
    let tmp = TempDir::new("restart");
    let dir = tmp.sub("data");
    let mut s = Server::start(Kind::Ferrodis, &dir, &[]);
    let mut c = s.conn();
    write_strings(&mut c, 20_000);
    let before = contents(&mut c);
    assert_eq!(before.len(), 30 + 20_000);
    c.ok(&["SAVE"]);
    s.shutdown(&["NOSAVE"]);
    let s2 = Server::start(Kind::Ferrodis, &dir, &[]);
    let after = contents(&mut s2.conn());
    assert_same("after restart", &before, &after);
    // TTLs are absolute: PEXPIRETIME is identical, so the remaining TTL carried over.
    assert_eq!(
        after[&(0, b("ttl-abs"))].pexpiretime,
        32_503_680_000_123,
        "absolute expiry kept"
    );
    assert!(s2.log_text().contains("DB loaded from disk"));
}

#[test]
fn debug_reload_keeps_data() {
    let tmp = TempDir::new("reload");
    let s = Server::start(Kind::Ferrodis, &tmp.sub("data"), &[]);
    let mut c = s.conn();
    write_strings(&mut c, 2_000);
    let before = contents(&mut c);
    c.ok(&["DEBUG", "RELOAD"]);
    assert_same("after DEBUG RELOAD", &before, &contents(&mut c));
}

/// The INFO persistence fields follow the same sequence as redis-server 7.0.
#[test]
fn info_persistence_and_lastsave_like_redis() {
    let tmp = TempDir::new("info");
    let mut seen = Vec::new();
    for kind in [Kind::Redis, Kind::Ferrodis] {
        let s = Server::start(kind, &tmp.sub(&format!("{kind:?}")), &[]);
        let mut c = s.conn();
        let mut rows = Vec::new();
        let mut snap = |c: &mut Conn, step: &str| {
            let f = [
                "loading",
                "rdb_changes_since_last_save",
                "rdb_bgsave_in_progress",
                "rdb_last_bgsave_status",
                "rdb_saves",
            ];
            let v: Vec<String> = f
                .iter()
                .map(|f| format!("{f}={}", c.info("persistence", f)))
                .collect();
            rows.push(format!("{step}: {}", v.join(" ")));
        };
        snap(&mut c, "fresh");
        c.ok(&["SET", "a", "1"]);
        c.ok(&["SET", "b", "2"]);
        c.ok(&["DEL", "b", "nosuchkey"]);
        c.ok(&["INCR", "a"]);
        c.ok(&["GET", "a"]);
        snap(&mut c, "after writes");
        c.ok(&["SAVE"]);
        snap(&mut c, "after SAVE");
        let last = c.int(&["LASTSAVE"]);
        c.ok(&["SET", "c", "3"]);
        wait_clock_past(&mut c, last);
        assert_eq!(c.ok(&["BGSAVE"]).to_text(), "Background saving started");
        wait_bgsave_done(&mut c);
        assert!(c.int(&["LASTSAVE"]) > last, "{kind:?}: LASTSAVE moved");
        snap(&mut c, "after BGSAVE");
        c.ok(&["FLUSHDB"]);
        snap(&mut c, "after FLUSHDB");
        seen.push(rows);
    }
    assert_eq!(
        seen[0], seen[1],
        "INFO persistence: redis (left) vs ferrodis (right)"
    );
}

/// `save "1 1"`: one change and a second later a background save happens by itself.
#[test]
fn save_points_trigger_bgsave_and_empty_save_disables() {
    let tmp = TempDir::new("savepoints");
    let dir = tmp.sub("data");
    let s = Server::start(Kind::Ferrodis, &dir, &["--save", "1 1"]);
    let mut c = s.conn();
    let last = c.int(&["LASTSAVE"]);
    c.ok(&["SET", "k", "v"]);
    let t0 = Instant::now();
    wait_for(
        "a save point to trigger BGSAVE",
        Duration::from_secs(20),
        || (c.int(&["LASTSAVE"]) > last).then_some(()),
    );
    wait_bgsave_done(&mut c);
    eprintln!("save point fired after {:?}", t0.elapsed());
    assert_eq!(c.info_i("persistence", "rdb_saves"), 1);
    assert_eq!(c.info_i("persistence", "rdb_changes_since_last_save"), 0);
    assert!(s.log_text().contains("1 changes in 1 seconds. Saving..."));
    assert!(dump_bytes(&s).starts_with(b"REDIS0010"));

    // save "" disables: writes, then more than twice the save point's period passes (a
    // negative result has to wait), and no save happened.
    c.ok(&["CONFIG", "SET", "save", ""]);
    assert_eq!(c.ok(&["CONFIG", "GET", "save"]), {
        Frame::Array(vec![Frame::bulk(b"save"), Frame::bulk(b"")])
    });
    c.ok(&["SET", "k2", "v"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(c.info_i("persistence", "rdb_saves"), 1);
    assert_eq!(c.info_i("persistence", "rdb_changes_since_last_save"), 1);
}

#[test]
fn shutdown_save_nosave_and_sigterm() {
    let tmp = TempDir::new("shutdown");
    // SHUTDOWN SAVE saves even without save points.
    let d1 = tmp.sub("save");
    let mut s = Server::start(Kind::Ferrodis, &d1, &[]);
    s.conn().ok(&["SET", "k", "shutdown-save"]);
    s.shutdown(&["SAVE"]);
    let s = Server::start(Kind::Ferrodis, &d1, &[]);
    assert_eq!(s.conn().ok(&["GET", "k"]).to_text(), "shutdown-save");
    drop(s);

    // SHUTDOWN NOSAVE with save points: the dump stays as it was (here: none).
    let d2 = tmp.sub("nosave");
    let mut s = Server::start(Kind::Ferrodis, &d2, &["--save", "3600 1"]);
    s.conn().ok(&["SET", "k", "v"]);
    s.shutdown(&["NOSAVE"]);
    assert!(
        !d2.join("dump.rdb").exists(),
        "SHUTDOWN NOSAVE wrote a dump"
    );

    // Plain SHUTDOWN and SIGTERM save when save points are configured.
    let d3 = tmp.sub("default");
    let mut s = Server::start(Kind::Ferrodis, &d3, &["--save", "3600 1"]);
    s.conn().ok(&["SET", "k", "plain-shutdown"]);
    s.shutdown(&[]);
    let mut s = Server::start(Kind::Ferrodis, &d3, &["--save", "3600 1"]);
    assert_eq!(s.conn().ok(&["GET", "k"]).to_text(), "plain-shutdown");
    s.conn().ok(&["SET", "k", "sigterm"]);
    s.signal("TERM");
    let st = s.wait_exit(LONG);
    assert!(st.success(), "exit after SIGTERM: {st}");
    assert!(s.log_text().contains("Received SIGTERM"));
    let s = Server::start(Kind::Ferrodis, &d3, &[]);
    assert_eq!(s.conn().ok(&["GET", "k"]).to_text(), "sigterm");
    drop(s);

    // SIGTERM without save points does not save.
    let d4 = tmp.sub("sigterm-nosave");
    let mut s = Server::start(Kind::Ferrodis, &d4, &[]);
    s.conn().ok(&["SET", "k", "v"]);
    s.signal("TERM");
    assert!(s.wait_exit(LONG).success());
    assert!(!d4.join("dump.rdb").exists());
}

/// FLUSHALL with save points saves the empty dataset; the dirty counter and save count move
/// exactly as in redis-server 7.0.
#[test]
fn flushall_with_save_points_like_redis() {
    let tmp = TempDir::new("flushall");
    let mut seen = Vec::new();
    for kind in [Kind::Redis, Kind::Ferrodis] {
        let dir = tmp.sub(&format!("{kind:?}"));
        let mut s = Server::start(kind, &dir, &["--save", "3600 1000"]);
        let mut c = s.conn();
        c.ok(&["SET", "a", "1"]);
        c.ok(&["SET", "b", "1"]);
        c.ok(&["SELECT", "2"]);
        c.ok(&["SET", "c", "1"]);
        c.ok(&["SAVE"]);
        c.ok(&["SET", "d", "1"]);
        let saves = c.info_i("persistence", "rdb_saves");
        c.ok(&["FLUSHALL"]);
        let row = format!(
            "dirty={} saves+={} dbsize={}",
            c.info("persistence", "rdb_changes_since_last_save"),
            c.info_i("persistence", "rdb_saves") - saves,
            c.int(&["DBSIZE"]),
        );
        // The dump on disk is empty.
        let mut n = 0;
        let mut r = ferrodis_rdb::Reader::new(std::io::Cursor::new(dump_bytes(&s))).unwrap();
        loop {
            match r.next_item().unwrap() {
                ferrodis_rdb::Item::End => break,
                ferrodis_rdb::Item::Entry(_) => n += 1,
                _ => {}
            }
        }
        assert_eq!(n, 0, "{kind:?}: dump after FLUSHALL has keys");
        // Without save points: dirty grows by the keys removed, nothing is saved.
        c.ok(&["CONFIG", "SET", "save", ""]);
        c.ok(&["MSET", "x", "1", "y", "2", "z", "3"]);
        c.ok(&["FLUSHALL"]);
        c.ok(&["FLUSHALL"]);
        let row = format!(
            "{row}; no save points: dirty={} saves+={}",
            c.info("persistence", "rdb_changes_since_last_save"),
            c.info_i("persistence", "rdb_saves") - saves,
        );
        s.shutdown(&["NOSAVE"]);
        let s = Server::start(kind, &dir, &[]);
        assert_eq!(s.conn().int(&["DBSIZE"]), 0);
        seen.push(row);
    }
    assert_eq!(seen[0], seen[1], "redis (left) vs ferrodis (right)");
}

/// FLUSHALL during a BGSAVE: Redis kills the child, and the dump ends up empty. It must not
/// deadlock, and the aborted save must not put the old keys back.
#[test]
fn flushall_during_bgsave() {
    let _g = heavy();
    let tmp = TempDir::new("flushall-bgsave");
    let dir = tmp.sub("data");
    let mut s = Server::start(Kind::Ferrodis, &dir, &["--save", "3600 1000000000"]);
    let mut c = s.conn();
    c.ok(&["DEBUG", "POPULATE", "1000000", "key", "100"]);
    c.ok(&["BGSAVE"]);
    assert_eq!(c.info_i("persistence", "rdb_bgsave_in_progress"), 1);
    c.ok(&["FLUSHALL"]);
    wait_bgsave_done(&mut c);
    assert_eq!(c.info("persistence", "rdb_last_bgsave_status"), "ok");
    assert_eq!(c.int(&["DBSIZE"]), 0);
    s.shutdown(&["NOSAVE"]);
    let s = Server::start(Kind::Ferrodis, &dir, &[]);
    assert_eq!(
        s.conn().int(&["DBSIZE"]),
        0,
        "the aborted BGSAVE resurrected keys"
    );
}

/// redis-server 7.0 fixtures for every type it can write. Types ferrodis cannot read back with
/// commands yet are still loaded, saved again and compared inside redis.
fn write_redis_fixtures(c: &mut Conn) {
    write_strings(c, 3_000);
    c.ok(&["SELECT", "5"]);
    // Strings Redis stores int-encoded and LZF-compressed.
    c.ok(&["SET", "i8", "-12"]);
    c.ok(&["SET", "i16", "30000"]);
    c.ok(&["SET", "i32", "-2000000000"]);
    c.ok(&["SET", "i64", "9223372036854775807"]);
    c.ok(&[b("SET"), b("lzf-long"), b("0123456789").repeat(3000)]);
    // Hashes (listpack and hashtable), lists (quicklist listpack nodes), sets (intset,
    // listpack-less 7.0 hashtable), zsets (listpack and skiplist).
    c.ok(&["HSET", "h-small", "f1", "v1", "f2", "2"]);
    let mut hbig = vec![b("HSET"), b("h-big")];
    let mut lbig = vec![b("RPUSH"), b("l-big")];
    let mut sbig = vec![b("SADD"), b("s-big")];
    let mut zbig = vec![b("ZADD"), b("z-big")];
    for i in 0..1000 {
        hbig.extend([b(&format!("field{i}")), b(&format!("{}", i * 7))]);
        lbig.push(b(&format!("elem-{i}-{}", "y".repeat(i % 70))));
        sbig.push(b(&format!("m{i}")));
        zbig.extend([b(&format!("{}.5", i as i64 - 500)), b(&format!("zm{i}"))]);
    }
    c.ok(&hbig);
    c.ok(&lbig);
    c.ok(&sbig);
    c.ok(&zbig);
    c.ok(&["RPUSH", "l-small", "a", "1", "bb"]);
    c.ok(&["SADD", "s-int", "1", "2", "300000", "-5"]);
    c.ok(&["SADD", "s-str", "x", "y"]);
    c.ok(&["ZADD", "z-small", "1", "a", "-inf", "b", "2.25", "c"]);
    c.ok(&["HSET", "h-ttl", "f", "v"]);
    c.ok(&["PEXPIREAT", "h-ttl", "32503680000999"]);
    // A stream with deleted entries, a consumer group with pending entries and two
    // consumers, and an empty group.
    c.ok(&["SELECT", "7"]);
    for i in 1..=20 {
        c.ok(&[
            "XADD",
            "st",
            &format!("{i}-1"),
            "f",
            &format!("v{i}"),
            "n",
            "1",
        ]);
    }
    c.ok(&["XDEL", "st", "3-1", "4-1"]);
    c.ok(&["XGROUP", "CREATE", "st", "g1", "0"]);
    c.ok(&["XGROUP", "CREATE", "st", "g2", "$"]);
    c.ok(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "5",
        "STREAMS",
        "st",
        ">",
    ]);
    c.ok(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        "3",
        "STREAMS",
        "st",
        ">",
    ]);
    c.ok(&["XACK", "st", "g1", "1-1"]);
    c.ok(&["XADD", "st-ttl", "*", "a", "b"]);
    c.ok(&["PEXPIREAT", "st-ttl", "32503680000777"]);
    c.ok(&["SELECT", "0"]);
}

#[test]
fn redis_dump_loads_into_ferrodis_and_back() {
    let tmp = TempDir::new("interop-in");
    let rdir = tmp.sub("redis");
    let mut r = Server::start(Kind::Redis, &rdir, &[]);
    let mut rc = r.conn();
    write_redis_fixtures(&mut rc);
    let original = contents(&mut rc);
    // Make sure the encodings we aimed for are there.
    rc.ok(&["SELECT", "5"]);
    for (k, enc) in [
        ("i16", "int"),
        ("lzf-long", "raw"),
        ("h-small", "listpack"),
        ("h-big", "hashtable"),
        ("s-int", "intset"),
        ("z-big", "skiplist"),
        ("l-big", "quicklist"),
    ] {
        assert_eq!(rc.ok(&["OBJECT", "ENCODING", k]).to_text(), enc, "{k}");
    }
    let redis_digest = rc.ok(&["DEBUG", "DIGEST"]).to_text();
    rc.ok(&["SAVE"]);
    r.shutdown(&["NOSAVE"]);

    // Into ferrodis.
    let fdir = tmp.sub("ferrodis");
    std::fs::copy(rdir.join("dump.rdb"), fdir.join("dump.rdb")).unwrap();
    let mut f = Server::start(Kind::Ferrodis, &fdir, &[]);
    let mut fc = f.conn();
    assert_same(
        "redis dump loaded by ferrodis",
        &original,
        &contents(&mut fc),
    );
    // Redis's own digest of the dataset (keys, values, expiries, every type) agrees.
    assert_eq!(
        fc.ok(&["DEBUG", "DIGEST"]).to_text(),
        redis_digest,
        "DEBUG DIGEST of the loaded dataset"
    );
    fc.ok(&["SAVE"]);
    f.shutdown(&["NOSAVE"]);

    // ferrodis's re-save passes redis-check-rdb and loads into redis with the same contents
    // (the stream and its consumer groups included).
    check_rdb(&fdir.join("dump.rdb"));
    let r2dir = tmp.sub("redis2");
    std::fs::copy(fdir.join("dump.rdb"), r2dir.join("dump.rdb")).unwrap();
    let r2 = Server::start(Kind::Redis, &r2dir, &[]);
    let back = contents(&mut r2.conn());
    assert!(back[&(7, b("st"))].value.is_some());
    assert_same("redis -> ferrodis -> redis", &original, &back);
}

fn check_rdb(path: &std::path::Path) {
    let out = std::process::Command::new(require("redis-check-rdb"))
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb rejected {}:\n{text}{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ferrodis_dump_passes_check_rdb_and_loads_into_redis() {
    let tmp = TempDir::new("interop-out");
    for compression in ["yes", "no"] {
        let fdir = tmp.sub(&format!("ferrodis-{compression}"));
        let mut f = Server::start(Kind::Ferrodis, &fdir, &["--rdbcompression", compression]);
        let mut fc = f.conn();
        write_strings(&mut fc, 5_000);
        let expected = contents(&mut fc);
        fc.ok(&["SAVE"]);
        f.shutdown(&["NOSAVE"]);
        check_rdb(&fdir.join("dump.rdb"));
        let rdir = tmp.sub(&format!("redis-{compression}"));
        std::fs::copy(fdir.join("dump.rdb"), rdir.join("dump.rdb")).unwrap();
        let r = Server::start(Kind::Redis, &rdir, &[]);
        assert_same(
            &format!("ferrodis dump (rdbcompression {compression}) in redis"),
            &expected,
            &contents(&mut r.conn()),
        );
    }
}

/// DUMP payloads move both ways; RESTORE's options and errors match Redis's exactly.
#[test]
fn dump_restore_both_ways() {
    let tmp = TempDir::new("dump");
    let r = Server::start(Kind::Redis, &tmp.sub("redis"), &[]);
    let f = Server::start(Kind::Ferrodis, &tmp.sub("ferrodis"), &[]);
    let (mut rc, mut fc) = (r.conn(), f.conn());
    let values: Vec<Vec<u8>> = vec![
        b(""),
        b("7"),
        b("-123456789"),
        b("hello"),
        (0..=255u8).collect(),
        b("abcdefgh").repeat(10_000),
        (0..100_000u32).map(|i| (i * 7919 % 251) as u8).collect(),
    ];
    for (i, v) in values.iter().enumerate() {
        let k = format!("k{i}");
        // Redis -> ferrodis.
        rc.ok(&[b("SET"), b(&k), v.clone()]);
        let payload = rc.ok(&["DUMP", &k]).as_bytes().unwrap().to_vec();
        fc.ok(&[b("RESTORE"), b(&k), b("0"), payload.clone()]);
        assert_eq!(
            fc.ok(&["GET", &k]).as_bytes(),
            Some(&v[..]),
            "{k} in ferrodis"
        );
        // ferrodis -> Redis.
        let back = fc.ok(&["DUMP", &k]).as_bytes().unwrap().to_vec();
        rc.ok(&[b("RESTORE"), b(&format!("{k}-back")), b("0"), back]);
        assert_eq!(
            rc.ok(&["GET", &format!("{k}-back")]).as_bytes(),
            Some(&v[..])
        );
    }
    // A stream with a consumer group, Redis -> ferrodis -> Redis.
    rc.ok(&["XADD", "st", "1-1", "a", "1"]);
    rc.ok(&["XADD", "st", "2-1", "b", "2"]);
    rc.ok(&["XGROUP", "CREATE", "st", "g", "0"]);
    rc.ok(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c1",
        "COUNT",
        "1",
        "STREAMS",
        "st",
        ">",
    ]);
    let p = rc.ok(&["DUMP", "st"]).as_bytes().unwrap().to_vec();
    fc.ok(&[b("RESTORE"), b("st"), b("0"), p]);
    let p2 = fc.ok(&["DUMP", "st"]).as_bytes().unwrap().to_vec();
    rc.ok(&[b("RESTORE"), b("st2"), b("0"), p2]);
    for q in [
        vec!["XRANGE", "{}", "-", "+"],
        vec!["XINFO", "GROUPS", "{}"],
        // Summary form: the extended form's idle times depend on when it is asked.
        vec!["XPENDING", "{}", "g"],
        vec!["XINFO", "STREAM", "{}", "FULL"],
    ] {
        let a: Vec<&str> = q
            .iter()
            .map(|x| if *x == "{}" { "st" } else { x })
            .collect();
        let b2: Vec<&str> = q
            .iter()
            .map(|x| if *x == "{}" { "st2" } else { x })
            .collect();
        assert_eq!(
            stream_info(rc.ok(&a)),
            stream_info(rc.ok(&b2)),
            "{q:?} after the round trip"
        );
    }

    // Options and errors, sent to both servers; replies must be identical.
    let payload = rc.ok(&["DUMP", "k3"]).as_bytes().unwrap().to_vec();
    let mut bad_crc = payload.clone();
    let n = bad_crc.len();
    bad_crc[n - 3] ^= 0x5a;
    let mut bad_ver = payload.clone();
    bad_ver[n - 10] = 11;
    let far = "32503680000456";
    let cases: Vec<Vec<Vec<u8>>> = vec![
        vec![b("SET"), b("busy"), b("x")],
        vec![b("RESTORE"), b("busy"), b("0"), payload.clone()],
        vec![
            b("RESTORE"),
            b("busy"),
            b("0"),
            payload.clone(),
            b("REPLACE"),
        ],
        vec![b("GET"), b("busy")],
        vec![b("RESTORE"), b("abs"), b(far), payload.clone(), b("ABSTTL")],
        vec![b("PEXPIRETIME"), b("abs")],
        vec![b("RESTORE"), b("rel"), b("100000000"), payload.clone()],
        vec![b("EXISTS"), b("rel")],
        vec![
            b("RESTORE"),
            b("past"),
            b("1"),
            payload.clone(),
            b("ABSTTL"),
        ],
        vec![b("EXISTS"), b("past")],
        vec![b("RESTORE"), b("x"), b("0"), bad_crc],
        vec![b("RESTORE"), b("x"), b("0"), bad_ver],
        vec![b("RESTORE"), b("x"), b("0"), b("garbage")],
        vec![b("RESTORE"), b("x"), b("-1"), payload.clone()],
        vec![b("RESTORE"), b("x"), b("abc"), payload.clone()],
        vec![b("RESTORE"), b("x"), b("0"), payload.clone(), b("BOGUS")],
        vec![
            b("RESTORE"),
            b("x"),
            b("0"),
            payload.clone(),
            b("IDLETIME"),
            b("-1"),
        ],
        vec![
            b("RESTORE"),
            b("x"),
            b("0"),
            payload.clone(),
            b("FREQ"),
            b("300"),
        ],
        vec![
            b("RESTORE"),
            b("x"),
            b("0"),
            payload,
            b("IDLETIME"),
            b("10"),
        ],
        vec![b("GET"), b("x")],
        vec![b("DUMP"), b("nosuchkey")],
        vec![b("EXISTS"), b("x")],
    ];
    for case in &cases {
        let (x, y) = (rc.cmd(case), fc.cmd(case));
        assert_eq!(
            x,
            y,
            "{:?}: redis (left) vs ferrodis (right)",
            case.iter()
                .map(|a| String::from_utf8_lossy(&a[..a.len().min(20)]).into_owned())
                .collect::<Vec<_>>()
        );
    }
    let ttl = fc.int(&["PTTL", "rel"]);
    assert!(
        (99_000_000..=100_000_000).contains(&ttl),
        "relative TTL: {ttl}"
    );
}

/// SIGKILL during a BGSAVE leaves the previous dump byte for byte, and a restart loads it.
#[test]
fn sigkill_during_bgsave_keeps_previous_dump() {
    let _g = heavy();
    let tmp = TempDir::new("sigkill");
    let dir = tmp.sub("data");
    let mut s = Server::start(Kind::Ferrodis, &dir, &[]);
    let mut c = s.conn();
    write_strings(&mut c, 1_000);
    let before = contents(&mut c);
    c.ok(&["SAVE"]);
    let old = dump_bytes(&s);
    c.ok(&["SELECT", "9"]);
    c.ok(&["DEBUG", "POPULATE", "2000000", "key", "100"]);
    c.ok(&["BGSAVE"]);
    // Wait until the save is demonstrably under way (the temp file is growing), then kill.
    wait_for(
        "rdb_bgsave_in_progress:1 and a growing temp file",
        LONG,
        || {
            let busy = c.info_i("persistence", "rdb_bgsave_in_progress") == 1;
            let tmpfile = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(Result::ok)
                .any(|e| {
                    e.file_name().to_string_lossy().starts_with("temp-")
                        && e.metadata().map(|m| m.len() > 1 << 20).unwrap_or(false)
                });
            assert!(
                busy || !tmpfile,
                "save finished before the kill: make the dataset larger"
            );
            (busy && tmpfile).then_some(())
        },
    );
    s.kill9();
    assert!(
        dump_bytes(&s) == old,
        "dump.rdb changed after SIGKILL during BGSAVE"
    );
    let s2 = Server::start(Kind::Ferrodis, &dir, &[]);
    assert_same(
        "after SIGKILL + restart",
        &before,
        &contents(&mut s2.conn()),
    );
}

/// Corrupt, truncated and too-new dumps stop start-up with the offset and reason; the file is
/// left as it was.
#[test]
fn corrupt_dumps_are_refused() {
    let tmp = TempDir::new("corrupt");
    let good_dir = tmp.sub("good");
    let mut s = Server::start(Kind::Ferrodis, &good_dir, &[]);
    write_strings(&mut s.conn(), 2_000);
    s.conn().ok(&["SAVE"]);
    s.shutdown(&["NOSAVE"]);
    let good = std::fs::read(good_dir.join("dump.rdb")).unwrap();
    let mid = good.len() / 2;
    let mut flipped = good.clone();
    for b in &mut flipped[mid..mid + 4] {
        *b ^= 0xa5;
    }
    let truncated = good[..mid].to_vec();
    let mut v11 = good.clone();
    v11[..9].copy_from_slice(b"REDIS0011");
    let mut bad_type = good.clone();
    // The first key's type byte follows the AUX fields: corrupt the byte after the first
    // SELECTDB's RESIZEDB instead by replacing the EOF opcode with an unknown type.
    let eof = bad_type.len() - 9;
    assert_eq!(bad_type[eof], 0xff);
    bad_type[eof] = 0x42;
    for (name, bytes, expect) in [
        ("flipped", flipped, "offset"),
        ("truncated", truncated, "offset"),
        ("version11", v11, "version"),
        ("badtype", bad_type, "offset"),
    ] {
        let dir = tmp.sub(name);
        std::fs::write(dir.join("dump.rdb"), &bytes).unwrap();
        let (st, log) = run_to_exit(Kind::Ferrodis, &dir, &[]);
        assert!(
            !st.success(),
            "{name}: ferrodis started with a bad dump; log:\n{log}"
        );
        assert!(
            log.contains(expect) && log.contains("offset"),
            "{name}: log does not name the offset/reason:\n{log}"
        );
        assert_eq!(
            std::fs::read(dir.join("dump.rdb")).unwrap(),
            bytes,
            "{name}: the dump was modified"
        );
        eprintln!(
            "{name}: {}",
            log.lines().find(|l| l.contains("offset")).unwrap_or("")
        );
    }
}

/// Clients connecting while a large dump loads get -LOADING, and INFO says loading:1.
#[test]
fn loading_error_while_loading_a_large_dump() {
    let _g = heavy();
    let tmp = TempDir::new("loading");
    let dir = tmp.sub("data");
    let mut s = Server::start(Kind::Ferrodis, &dir, &[]);
    let mut c = s.conn();
    c.ok(&["DEBUG", "POPULATE", "2000000", "key", "100"]);
    c.ok(&["SAVE"]);
    s.shutdown(&["NOSAVE"]);
    let mut seen = false;
    for _attempt in 0..3 {
        let s = Server::spawn(Kind::Ferrodis, &dir, &[]);
        let mut c = s.conn();
        match c.cmd(&["GET", "key:1"]) {
            Frame::Error(e) => {
                assert_eq!(
                    String::from_utf8_lossy(&e),
                    "LOADING Redis is loading the dataset in memory"
                );
                assert_eq!(c.info("persistence", "loading"), "1");
                seen = true;
            }
            other => eprintln!("load finished before the first command ({other:?}); retrying"),
        }
        s.wait_ready();
        assert_eq!(c.int(&["DBSIZE"]), 2_000_000);
        assert_eq!(c.info("persistence", "loading"), "0");
        if seen {
            break;
        }
    }
    assert!(
        seen,
        "never saw -LOADING in 3 attempts: make the dataset larger"
    );
}

/// The populate value Redis and ferrodis write for `key:i` with size 100.
fn populated(i: u64) -> Vec<u8> {
    let mut v = format!("value:{i}").into_bytes();
    v.resize(100, 0);
    v
}

/// BGSAVE under a concurrent writer stores exactly the dataset as of the BGSAVE: Redis forks
/// inside the command, so every write acknowledged before BGSAVE was sent is in the dump and
/// nothing sent after its reply is. The writer logs each operation with the time it sent it
/// and the time it got the reply; the dump must equal the model after some prefix of the
/// operations that lies between those two bounds.
#[test]
fn bgsave_is_point_in_time_under_writes() {
    let _g = heavy();
    const N: u64 = 2_000_000;
    const HOT: u64 = 50_000; // the writer touches key:0..HOT and new:*
    let tmp = TempDir::new("pit");
    let dir = tmp.sub("data");
    let s = Server::start(Kind::Ferrodis, &dir, &[]);
    let mut c = s.conn();
    c.ok(&["DEBUG", "POPULATE", &N.to_string(), "key", "100"]);

    #[derive(Clone, Debug)]
    enum Op {
        Set(Vec<u8>, Vec<u8>),
        Del(Vec<u8>),
        Append(Vec<u8>, Vec<u8>),
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let port = s.port;
    let stop2 = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut w = Conn::connect(port);
        let mut log: Vec<(Instant, Instant, Op)> = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut n = 0u64;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = if x % 5 == 0 {
                format!("new:{}", (x >> 8) % 20_000)
            } else {
                format!("key:{}", (x >> 8) % HOT)
            };
            let op = match (x >> 40) % 4 {
                0 | 1 => Op::Set(b(&key), b(&format!("w{n}"))),
                2 => Op::Del(b(&key)),
                _ => Op::Append(b(&key), b(&format!("+{n}"))),
            };
            let args = match &op {
                Op::Set(k, v) => vec![b("SET"), k.clone(), v.clone()],
                Op::Del(k) => vec![b("DEL"), k.clone()],
                Op::Append(k, v) => vec![b("APPEND"), k.clone(), v.clone()],
            };
            let sent = Instant::now();
            let r = w.cmd(&args);
            assert!(!r.is_error(), "writer: {r:?}");
            log.push((sent, Instant::now(), op));
            n += 1;
        }
        log
    });
    // Let the writer get going, then BGSAVE.
    wait_for("the writer to start", Duration::from_secs(30), || {
        (c.info_i("persistence", "rdb_changes_since_last_save") > 200).then_some(())
    });
    let bg_sent = Instant::now();
    assert_eq!(c.ok(&["BGSAVE"]).to_text(), "Background saving started");
    let bg_replied = Instant::now();
    wait_bgsave_done(&mut c);
    let save_done = Instant::now();
    // Keep writing a little after the save so the writer's tail is not all "after".
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let log = writer.join().expect("writer thread");
    assert_eq!(c.info("persistence", "rdb_last_bgsave_status"), "ok");
    let during = log
        .iter()
        .filter(|(s, _, _)| *s > bg_replied && *s < save_done)
        .count();
    assert!(
        during >= 50,
        "only {during} writes happened during the BGSAVE: the test proves nothing"
    );
    // Bounds: ops acknowledged before BGSAVE was sent are in; ops sent after its reply out.
    let lo = log.iter().take_while(|(_, r, _)| *r < bg_sent).count();
    let hi = log.iter().take_while(|(s, _, _)| *s <= bg_replied).count();
    eprintln!(
        "writer: {} ops, {lo}..={hi} before the snapshot, {during} during the save",
        log.len()
    );

    // Load the dump in a second server.
    let dir2 = tmp.sub("copy");
    std::fs::copy(dir.join("dump.rdb"), dir2.join("dump.rdb")).unwrap();
    drop(s);
    let s2 = Server::start(Kind::Ferrodis, &dir2, &[]);
    let mut c2 = s2.conn();
    let dbsize = c2.int(&["DBSIZE"]);
    let mut touched: BTreeSet<Vec<u8>> = log
        .iter()
        .map(|(_, _, op)| match op {
            Op::Set(k, _) | Op::Del(k) | Op::Append(k, _) => k.clone(),
        })
        .collect();
    // Also every new:* key the dump has (must all be explained by the model).
    let Frame::Array(news) = c2.ok(&["KEYS", "new:*"]) else {
        panic!("KEYS")
    };
    touched.extend(news.iter().map(|k| k.as_bytes().unwrap().to_vec()));
    let touched: Vec<Vec<u8>> = touched.into_iter().collect();
    let gets: Vec<Vec<Vec<u8>>> = touched.iter().map(|k| vec![b("GET"), k.clone()]).collect();
    let actual: BTreeMap<Vec<u8>, Option<Vec<u8>>> = touched
        .iter()
        .cloned()
        .zip(
            c2.pipeline(&gets)
                .into_iter()
                .map(|f| f.as_bytes().map(<[u8]>::to_vec)),
        )
        .collect();
    // The model after the first `j` ops, for every j in lo..=hi.
    let initial = |k: &[u8]| -> Option<Vec<u8>> {
        let s = std::str::from_utf8(k).unwrap();
        s.strip_prefix("key:")
            .map(|i| populated(i.parse().unwrap()))
    };
    let mut model: BTreeMap<Vec<u8>, Option<Vec<u8>>> =
        touched.iter().map(|k| (k.clone(), initial(k))).collect();
    let size = |m: &BTreeMap<Vec<u8>, Option<Vec<u8>>>| {
        let extra: i64 = m
            .iter()
            .map(|(k, v)| v.is_some() as i64 - initial(k).is_some() as i64)
            .sum();
        N as i64 + extra
    };
    let apply = |m: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>, op: &Op| match op {
        Op::Set(k, v) => {
            m.insert(k.clone(), Some(v.clone()));
        }
        Op::Del(k) => {
            m.insert(k.clone(), None);
        }
        Op::Append(k, v) => {
            let e = m.get_mut(k).unwrap();
            let mut cur = e.take().unwrap_or_default();
            cur.extend_from_slice(v);
            *e = Some(cur);
        }
    };
    for (_, _, op) in &log[..lo] {
        apply(&mut model, op);
    }
    let mut matched = None;
    let mut j = lo;
    loop {
        if model == actual && size(&model) == dbsize {
            matched = Some(j);
            break;
        }
        if j == hi {
            break;
        }
        apply(&mut model, &log[j].2);
        j += 1;
    }
    let Some(j) = matched else {
        let diffs: Vec<_> = model
            .iter()
            .filter(|(k, v)| actual.get(*k) != Some(v))
            .take(5)
            .map(|(k, v)| {
                format!(
                    "{}: model {:?} dump {:?}",
                    String::from_utf8_lossy(k),
                    v.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()),
                    actual[k]
                        .as_ref()
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                )
            })
            .collect();
        panic!(
            "the dump is not the dataset at any point between BGSAVE sent and replied \
             (ops {lo}..={hi}); dbsize {dbsize} vs model {}; e.g. {diffs:?}",
            size(&model)
        );
    };
    eprintln!("dump = dataset after op {j}");
    // Untouched keys: a sample must still hold their populated values.
    let sample: Vec<u64> = (0..20_000u64)
        .map(|i| HOT + i * ((N - HOT) / 20_000))
        .collect();
    let gets: Vec<Vec<Vec<u8>>> = sample
        .iter()
        .map(|i| vec![b("GET"), b(&format!("key:{i}"))])
        .collect();
    for (i, v) in sample.iter().zip(c2.pipeline(&gets)) {
        assert_eq!(v.as_bytes(), Some(&populated(*i)[..]), "key:{i}");
    }
}
