//! Test helpers: real server processes on ephemeral ports and a small blocking RESP client.
//!
//! * [`TestServer`] starts `ferrodis-server` (or Debian's `redis-server`, [`TestServer::redis`])
//!   on a free loopback port with its own temporary directory, waits until it answers `PING`,
//!   and kills it on drop. Its output goes to a log file that is printed when the test panics.
//! * [`Conn`] is a blocking RESP client over `std::net::TcpStream` with read timeouts.
//! * [`wait_until`] polls a condition with a deadline and fails with what it waited for.
//! * [`show`] renders a [`Frame`] as compact text for assertions (`+OK`, `:1`, `$v`, `nil`...).
//!
//! Finding the server binary: the server crate's own integration tests pass
//! `env!("CARGO_BIN_EXE_ferrodis-server")` (Cargo builds it before the tests). Other crates can
//! call [`server_bin`], which reads `FERRODIS_SERVER_BIN` or looks next to the test executable
//! (`target/<profile>/ferrodis-server`; run `cargo build -p ferrodis-server` first).

use bytes::BytesMut;
pub use ferrodis_resp::Frame;

pub mod repl;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first PING. Generous: CI machines are slow.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Default read timeout of a [`Conn`].
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Polls `cond` every 10 ms until it is true; panics naming `what` after `timeout`.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The `ferrodis-server` binary: `$FERRODIS_SERVER_BIN`, else next to the running test
/// executable (`target/<profile>/deps/..`).
pub fn server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("FERRODIS_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("ferrodis-server");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build -p ferrodis-server` first or set FERRODIS_SERVER_BIN",
        bin.display()
    );
    bin
}

/// Fails (never skips) when a required external program is missing.
pub fn require_program(bin: &str, hint: &str) {
    let ok = Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{bin}` is required for this test but was not found or does not run ({hint})"
    );
}

/// A fresh, unique temporary directory (removed by its owner).
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let d = std::env::temp_dir().join(format!(
        "ferrodis-{tag}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).expect("create a temp dir");
    d
}

/// A free TCP port on 127.0.0.1 (bound then released; the caller retries on a race).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Sends a signal with the `kill` program (no unsafe code needed).
pub fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -{sig} {pid} failed");
}

/// Which server program a [`TestServer`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `ferrodis-server`.
    Ferrodis,
    /// Debian's `redis-server`.
    Redis,
}

/// Options for starting a [`TestServer`]. Made by [`TestServer::builder`] or
/// [`TestServer::redis_builder`].
pub struct Builder {
    flavor: Flavor,
    bin: PathBuf,
    dir: PathBuf,
    args: Vec<String>,
    config: Option<String>,
    defaults: bool,
}

impl Builder {
    /// The server's temporary directory (exists already; write files here before starting).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds command-line arguments (after the config file, before nothing: they override).
    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.args
            .extend(args.iter().map(|s| s.as_ref().to_string()));
        self
    }

    /// Adds `--name value`.
    pub fn arg(self, name: &str, value: &str) -> Self {
        self.args(&[format!("--{name}"), value.to_string()])
    }

    /// A config file with this text is written to `<dir>/redis.conf` and passed as the first
    /// argument. `{port}` and `{dir}` are replaced by the chosen port and the directory.
    pub fn config(mut self, text: &str) -> Self {
        self.config = Some(text.to_string());
        self
    }

    /// Without the default arguments (`--port --bind --save "" --dir ...`): the config file
    /// must choose the port (use `{port}`).
    pub fn no_defaults(mut self) -> Self {
        self.defaults = false;
        self
    }

    /// Starts the server and waits until it answers PING.
    pub fn start(self) -> TestServer {
        let mut ts = TestServer {
            flavor: self.flavor,
            bin: self.bin,
            dir: self.dir,
            args: self.args,
            config: self.config,
            defaults: self.defaults,
            port: 0,
            child: None,
            log: PathBuf::new(),
            starts: 0,
        };
        ts.launch(None);
        ts
    }
}

/// A server process for one test. See the crate docs.
pub struct TestServer {
    flavor: Flavor,
    bin: PathBuf,
    dir: PathBuf,
    args: Vec<String>,
    config: Option<String>,
    defaults: bool,
    port: u16,
    child: Option<Child>,
    log: PathBuf,
    starts: usize,
}

impl TestServer {
    /// Options for a `ferrodis-server` at `bin`.
    pub fn builder(bin: impl AsRef<Path>) -> Builder {
        Builder {
            flavor: Flavor::Ferrodis,
            bin: bin.as_ref().to_path_buf(),
            dir: temp_dir("server"),
            args: Vec::new(),
            config: None,
            defaults: true,
        }
    }

    /// Starts `ferrodis-server` at `bin` with extra `args` (e.g. `["--requirepass", "pw"]`).
    pub fn start<S: AsRef<str>>(bin: impl AsRef<Path>, args: &[S]) -> TestServer {
        Self::builder(bin).args(args).start()
    }

    /// Options for Debian's `redis-server`. Panics (the test fails) when it is missing.
    pub fn redis_builder() -> Builder {
        require_program(
            "redis-server",
            "install it with `apt-get install -y redis-server`",
        );
        Builder {
            flavor: Flavor::Redis,
            bin: PathBuf::from("redis-server"),
            dir: temp_dir("redis"),
            args: Vec::new(),
            config: None,
            defaults: true,
        }
    }

    /// Starts Debian's `redis-server` with extra `args`; fails when it is missing.
    pub fn redis<S: AsRef<str>>(args: &[S]) -> TestServer {
        Self::redis_builder().args(args).start()
    }

    fn launch(&mut self, fixed_port: Option<u16>) {
        let mut last_log = String::new();
        for _attempt in 0..8 {
            self.port = fixed_port.unwrap_or_else(free_port);
            self.starts += 1;
            self.log = self.dir.join(format!("server.{}.log", self.starts));
            let mut cmd = Command::new(&self.bin);
            if let Some(text) = &self.config {
                let text = text
                    .replace("{port}", &self.port.to_string())
                    .replace("{dir}", &self.dir.display().to_string());
                let path = self.dir.join("redis.conf");
                std::fs::write(&path, text).expect("write the config file");
                cmd.arg(&path);
            }
            if self.defaults {
                cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"]);
                cmd.args(["--save", "", "--dir"]).arg(&self.dir);
                cmd.args(["--enable-debug-command", "yes", "--daemonize", "no"]);
                if self.flavor == Flavor::Redis {
                    cmd.args(["--appendonly", "no"]);
                }
            }
            cmd.args(&self.args);
            let log = std::fs::File::create(&self.log).expect("create the log file");
            let log2 = log.try_clone().expect("clone the log file handle");
            cmd.stdin(Stdio::null())
                .stdout(Stdio::from(log))
                .stderr(Stdio::from(log2));
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", self.bin.display()));
            self.child = Some(child);
            match self.wait_ready() {
                Ok(()) => return,
                Err(why) => {
                    last_log = std::fs::read_to_string(&self.log).unwrap_or_default();
                    self.kill();
                    let in_use = why.contains("in use")
                        || last_log.contains("in use")
                        || last_log.contains("AddrInUse");
                    if !in_use || fixed_port.is_some() {
                        panic!(
                            "{:?} server did not start ({why}); its output:\n{last_log}",
                            self.flavor
                        );
                    }
                }
            }
        }
        panic!("server kept failing with address in use; last output:\n{last_log}");
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(st)) = child.try_wait() {
                    return Err(format!("exited with {st}"));
                }
            }
            if let Ok(s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut c = Conn::from_stream(s);
                c.set_timeout(Duration::from_secs(5));
                c.send_raw(b"PING\r\n");
                if let Ok(f) = c.try_read_frame() {
                    let ok = match &f {
                        Frame::Simple(s) => &s[..] == b"PONG",
                        Frame::Error(e) => e.starts_with(b"NOAUTH"),
                        _ => false,
                    };
                    if ok {
                        // A free-port race can leave another server on our port: make sure
                        // the one answering is the process we started.
                        if matches!(f, Frame::Simple(_)) {
                            c.send_raw(b"INFO server\r\n");
                            let pid = c.try_read_frame().ok().and_then(|f| {
                                let text = f.to_text();
                                let line = text.lines().find(|l| l.starts_with("process_id:"))?;
                                line["process_id:".len()..].trim().parse::<u32>().ok()
                            });
                            let mine = self.child.as_ref().map(|c| c.id());
                            if pid.is_some() && pid != mine {
                                return Err("address in use: another server answered".into());
                            }
                        }
                        return Ok(());
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("no PONG within {STARTUP_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's temporary directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Which program runs.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The process id (of the process we spawned).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is running").id()
    }

    /// Path of the current log file (stdout and stderr of the process).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A new connection (with [`READ_TIMEOUT`]).
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits (bounded) for the process to exit by itself and returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = child.try_wait().expect("try_wait") {
                return st;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "server did not exit within {timeout:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        signal(self.pid(), "TERM");
        self.wait_exit(Duration::from_secs(30))
    }

    /// Stops (SIGTERM) and starts again with the same directory, arguments and config; the
    /// port may change (a new free one is picked).
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        self.launch(None);
    }

    /// Like [`TestServer::restart`] (or a start after [`TestServer::kill`]) but on the same
    /// port, so replicas configured with it find the new process. Fails if the port was taken
    /// in the meantime.
    pub fn restart_same_port(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
        let port = self.port;
        self.launch(Some(port));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "---- {:?} server log ({}) ----\n{}\n---- end of server log ----",
                self.flavor,
                self.log.display(),
                self.log()
            );
            eprintln!("(directory kept: {})", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A blocking RESP client for tests.
pub struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    last_raw: Vec<u8>,
}

impl Conn {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"));
        Conn::from_stream(s)
    }

    /// Wraps a connected stream.
    pub fn from_stream(stream: TcpStream) -> Conn {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
        Conn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
            last_raw: Vec::new(),
        }
    }

    /// Changes the read timeout.
    pub fn set_timeout(&mut self, t: Duration) {
        let _ = self.stream.set_read_timeout(Some(t));
    }

    /// The underlying stream.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends a command and reads one reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Frame {
        self.send(args);
        self.read_frame()
    }

    /// Sends a command given as one line (split like redis-cli does, quotes allowed) and
    /// returns the reply rendered by [`show`].
    pub fn run(&mut self, line: &str) -> String {
        let args = ferrodis_resp::split_args(line.as_bytes())
            .unwrap_or_else(|| panic!("unbalanced quotes in {line:?}"));
        show(&self.cmd(&args))
    }

    /// Sends a command without reading the reply.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let mut out = BytesMut::new();
        ferrodis_resp::encode_command(args, &mut out);
        self.send_raw(&out);
    }

    /// Writes raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("write to the server: {e}"));
    }

    /// Reads one reply; panics on timeout, EOF or a malformed reply.
    pub fn read_frame(&mut self) -> Frame {
        self.try_read_frame()
            .unwrap_or_else(|e| panic!("reading a reply: {e}"))
    }

    /// The raw bytes of the last frame read.
    pub fn last_raw(&self) -> &[u8] {
        &self.last_raw
    }

    /// Reads one reply; `Err` on timeout, EOF (`UnexpectedEof`) or a malformed reply.
    pub fn try_read_frame(&mut self) -> std::io::Result<Frame> {
        loop {
            let before = self.buf.clone();
            match ferrodis_resp::decode(&mut self.buf) {
                Ok(Some(f)) => {
                    let used = before.len() - self.buf.len();
                    self.last_raw = before[..used].to_vec();
                    return Ok(f);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("malformed reply: {e}"),
                    ))
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "connection closed by the server (pending bytes: {:?})",
                        String::from_utf8_lossy(&self.buf)
                    ),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// True when the server closes the connection within `timeout` (any pending replies are
    /// read and dropped). False when it stays open that long.
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let _ = self.stream.set_read_timeout(Some(timeout));
        let deadline = Instant::now() + timeout;
        let mut chunk = [0u8; 16 * 1024];
        let closed = loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(_) => break false,
            }
            if Instant::now() >= deadline {
                break false;
            }
        };
        let _ = self.stream.set_read_timeout(Some(READ_TIMEOUT));
        closed
    }

    /// Reads one reply; on failure panics naming `what` the test was waiting for.
    pub fn read_reply(&mut self, what: &str) -> Frame {
        self.try_read_frame()
            .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
    }

    /// True when nothing arrives within `d` (bytes that do arrive stay buffered for the next
    /// read).
    pub fn silent_for(&mut self, d: Duration) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let _ = self.stream.set_read_timeout(Some(d));
        let mut chunk = [0u8; 16 * 1024];
        let silent = match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                false
            }
            Err(_) => true,
        };
        let _ = self.stream.set_read_timeout(Some(READ_TIMEOUT));
        silent
    }

    /// Bytes received but not decoded yet.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }
}

/// Renders a frame compactly: `+OK`, `-ERR x`, `:1`, `$bulk`, `nil`, `*nil` (RESP2 null
/// array), `[a, b]`, `{k: v}` (RESP3 map), `~[..]` (set), `>[..]` (push), `,1.5`, `#t`,
/// `(123` (big number), `=txt:..` (verbatim).
pub fn show(f: &Frame) -> String {
    fn list(items: &[Frame]) -> String {
        items.iter().map(show).collect::<Vec<_>>().join(", ")
    }
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match f {
        Frame::Simple(b) => format!("+{}", s(b)),
        Frame::Error(b) => format!("-{}", s(b)),
        Frame::Integer(n) => format!(":{n}"),
        Frame::Bulk(b) => format!("${}", s(b)),
        Frame::Null => "nil".into(),
        Frame::NullArray => "*nil".into(),
        Frame::Array(v) => format!("[{}]", list(v)),
        Frame::Double(d) => format!(",{}", ferrodis_resp::fmt_double(*d)),
        Frame::DoubleText(t) => format!(",{}", s(t)),
        Frame::Boolean(b) => format!("#{}", if *b { "t" } else { "f" }),
        Frame::BigNumber(b) => format!("({}", s(b)),
        Frame::Verbatim(t, b) => format!("={}:{}", s(t), s(b)),
        Frame::Map(kv) => format!(
            "{{{}}}",
            kv.iter()
                .map(|(k, v)| format!("{}: {}", show(k), show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Frame::Set(v) => format!("~[{}]", list(v)),
        Frame::Push(v) => format!(">[{}]", list(v)),
    }
}

/// The bulk-string elements of an array reply as strings (panics on other shapes).
pub fn strings(f: &Frame) -> Vec<String> {
    match f {
        Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => v
            .iter()
            .map(|x| match x.as_bytes() {
                Some(b) => String::from_utf8_lossy(b).into_owned(),
                None => panic!("expected strings in {}", show(f)),
            })
            .collect(),
        _ => panic!("expected an array, got {}", show(f)),
    }
}

/// The text of a bulk/verbatim/simple reply (panics on other shapes).
pub fn text(f: &Frame) -> String {
    match f.as_bytes() {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => panic!("expected a string reply, got {}", show(f)),
    }
}

/// An `INFO` reply parsed into `field -> value`.
pub fn info_fields(f: &Frame) -> std::collections::HashMap<String, String> {
    text(f)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}
