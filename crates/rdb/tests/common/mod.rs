//! Test support: a real `redis-server` on an ephemeral port, a minimal RESP client,
//! temporary directories, and value normalization for comparisons.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrodis_rdb::Value;

/// A fresh empty directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "ferrodis-rdb-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Panics (fails the test) with a clear message when a Redis binary is missing.
pub fn require_binary(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => p,
        None => panic!(
            "`{name}` not found in PATH: these interop tests need Redis 7.0 (`apt-get install redis-server`, \
             which provides redis-server and redis-check-rdb); they fail rather than skip"
        ),
    }
}

/// A RESP reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn bulk(&self) -> Option<Vec<u8>> {
        match self {
            Reply::Bulk(b) => b.clone(),
            other => panic!("expected bulk reply, got {other:?}"),
        }
    }
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(i) => *i,
            other => panic!("expected integer reply, got {other:?}"),
        }
    }
    pub fn array(&self) -> Vec<Reply> {
        match self {
            Reply::Array(Some(a)) => a.clone(),
            other => panic!("expected array reply, got {other:?}"),
        }
    }
    /// Flat array of bulk strings.
    pub fn strings(&self) -> Vec<Vec<u8>> {
        self.array()
            .iter()
            .map(|r| r.bulk().expect("non-nil bulk"))
            .collect()
    }
}

pub struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client {
            r: BufReader::new(s.try_clone()?),
            w: s,
        })
    }

    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a);
            buf.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&buf).unwrap();
        self.read_reply()
    }

    /// A command that must not return an error.
    pub fn ok<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        let r = self.cmd(args);
        if let Reply::Error(e) = &r {
            let shown: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
                .collect();
            panic!("redis error for {shown:?}: {e}");
        }
        r
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        assert!(l.ends_with("\r\n"), "bad RESP line {l:?}");
        l.truncate(l.len() - 2);
        l
    }

    fn read_reply(&mut self) -> Reply {
        let l = self.line();
        let (t, rest) = l.split_at(1);
        match t {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().unwrap()),
            "$" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut b = vec![0u8; n as usize + 2];
                self.r.read_exact(&mut b).unwrap();
                b.truncate(n as usize);
                Reply::Bulk(Some(b))
            }
            "*" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Reply::Array(None);
                }
                Reply::Array(Some((0..n).map(|_| self.read_reply()).collect()))
            }
            _ => panic!("unexpected RESP type in {l:?}"),
        }
    }
}

/// A `redis-server` child process on an ephemeral loopback port, killed on drop.
pub struct RedisServer {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl RedisServer {
    /// Start with `--dir dir --save "" --appendonly no` plus `extra` arguments, and wait
    /// (at most 10 s) until it answers PING.
    pub fn start(dir: &Path, extra: &[&str]) -> RedisServer {
        let bin = require_binary("redis-server");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(bin);
        cmd.arg("--port")
            .arg(port.to_string())
            .args([
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ])
            .arg("--dir")
            .arg(dir)
            .args([
                "--logfile",
                "redis.log",
                "--enable-debug-command",
                "yes",
                "--enable-protected-configs",
                "yes",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn redis-server");
        let mut srv = RedisServer {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = srv.child.try_wait() {
                panic!("redis-server exited early ({status}); log:\n{}", srv.log());
            }
            if let Ok(mut c) = Client::connect(port) {
                if c.cmd(&["PING"]) == Reply::Simple("PONG".into()) {
                    return srv;
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING on port {port} within 10s; log:\n{}",
                srv.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sort unordered collections so values from different encodings compare equal.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Set(s) => {
            let mut s = s.clone();
            s.sort();
            Value::Set(s)
        }
        Value::Hash(h) => {
            let mut h = h.clone();
            h.sort();
            Value::Hash(h)
        }
        Value::ZSet(z) => {
            let mut z = z.clone();
            z.sort_by(|a, b| a.0.cmp(&b.0));
            Value::ZSet(z)
        }
        Value::Stream(s) => {
            let mut s = s.clone();
            s.groups.sort_by(|a, b| a.name.cmp(&b.name));
            for g in &mut s.groups {
                g.pel.sort_by_key(|p| p.id);
                g.consumers.sort_by(|a, b| a.name.cmp(&b.name));
                for c in &mut g.consumers {
                    c.pending.sort();
                }
            }
            Value::Stream(s)
        }
        other => other.clone(),
    }
}

use ferrodis_rdb::{Consumer, ConsumerGroup, Entry, PendingEntry, Stream, StreamEntry, StreamId};

/// Far-future absolute expire (2100-01-01 + 123 ms), so no key expires during a test.
pub const FAR_EXPIRE_MS: i64 = 4_102_444_800_123;

fn e(key: &str, value: Value, expire_ms: Option<i64>) -> Entry {
    Entry {
        key: key.as_bytes().to_vec(),
        value,
        expire_ms,
        idle: None,
        freq: None,
    }
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// A stream with two groups, a PEL owned by consumers, and a multi-node body.
pub fn sample_stream(n: u64) -> Stream {
    let mut entries = Vec::new();
    for i in 0..n {
        let mut fields = vec![
            (b("name"), format!("item-{i}").into_bytes()),
            (b("n"), i.to_string().into_bytes()),
        ];
        if i % 5 == 0 {
            fields = vec![
                (b("other"), b("x")),
                (b("blob"), vec![b'z'; 50 + i as usize]),
            ];
        }
        entries.push(StreamEntry {
            id: StreamId::new(1_700_000_000_000 + i / 2, i % 2),
            fields,
        });
    }
    let last = entries.last().map(|e| e.id).unwrap_or_default();
    let pel: Vec<PendingEntry> = entries
        .iter()
        .take(3)
        .enumerate()
        .map(|(k, e)| PendingEntry {
            id: e.id,
            delivery_time_ms: 1_700_000_001_000 + k as i64,
            delivery_count: 1 + k as u64,
        })
        .collect();
    let g1 = ConsumerGroup {
        name: b("g1"),
        last_id: pel.last().map(|p| p.id).unwrap_or_default(),
        entries_read: Some(3),
        consumers: vec![
            Consumer {
                name: b("alice"),
                seen_time_ms: 1_700_000_002_000,
                active_time_ms: None,
                pending: pel[..2].iter().map(|p| p.id).collect(),
            },
            Consumer {
                name: b("bob"),
                seen_time_ms: 1_700_000_003_000,
                active_time_ms: None,
                pending: vec![pel[2].id],
            },
        ],
        pel,
    };
    let g2 = ConsumerGroup {
        name: b("g2"),
        last_id: last,
        entries_read: None,
        pel: vec![],
        consumers: vec![Consumer {
            name: b("carol"),
            seen_time_ms: 1_700_000_004_000,
            active_time_ms: None,
            pending: vec![],
        }],
    };
    Stream {
        first_id: entries.first().map(|e| e.id).unwrap_or_default(),
        length: entries.len() as u64,
        last_id: StreamId::new(last.ms, last.seq + 10),
        max_deleted_id: StreamId::new(last.ms, last.seq + 3),
        entries_added: n + 5,
        entries,
        groups: vec![g1, g2],
        nodes: Vec::new(),
    }
}

/// A dataset with every value type and several databases, as (db, entry).
pub fn sample_dataset() -> Vec<(u64, Entry)> {
    let mut v = vec![
        (0, e("s:int8", Value::String(b("-5")), None)),
        (0, e("s:int16", Value::String(b("1000")), None)),
        (0, e("s:int32", Value::String(b("-100000")), None)),
        (0, e("s:bigint", Value::String(b("12345678901234")), None)),
        (0, e("s:notint", Value::String(b("007")), None)),
        (0, e("s:empty", Value::String(vec![]), None)),
        (
            0,
            e(
                "s:lzf",
                Value::String(b("abcdefgh").repeat(100)),
                Some(FAR_EXPIRE_MS),
            ),
        ),
        (0, e("s:bin", Value::String((0..=255u8).collect()), None)),
        (
            0,
            e(
                "s:big",
                Value::String((0..50_000u32).map(|i| (i % 251) as u8).collect()),
                None,
            ),
        ),
        (
            0,
            e(
                "l:small",
                Value::List(vec![b("a"), b("b"), b("1"), b("-2"), b("")]),
                None,
            ),
        ),
        (
            0,
            e(
                "l:big",
                Value::List(
                    (0..1000)
                        .map(|i| format!("element-{i}").into_bytes())
                        .collect(),
                ),
                Some(FAR_EXPIRE_MS),
            ),
        ),
        (
            0,
            e(
                "l:huge-elem",
                Value::List(vec![b("x"), vec![b'y'; 100_000], b("z")]),
                None,
            ),
        ),
        (
            0,
            e(
                "set:int",
                Value::Set(vec![b("1"), b("-3"), b("70000"), b("5000000000")]),
                None,
            ),
        ),
        (
            0,
            e(
                "set:str",
                Value::Set(vec![b("apple"), b("banana"), b("42")]),
                None,
            ),
        ),
        (
            0,
            e(
                "set:big",
                Value::Set((0..700).map(|i| i.to_string().into_bytes()).collect()),
                None,
            ),
        ),
        (
            0,
            e(
                "h:small",
                Value::Hash(vec![
                    (b("f1"), b("v1")),
                    (b("n"), b("42")),
                    (b("neg"), b("-7000")),
                ]),
                None,
            ),
        ),
        (
            0,
            e(
                "h:big",
                Value::Hash(
                    (0..600)
                        .map(|i| {
                            (
                                format!("field{i}").into_bytes(),
                                format!("value{i}").into_bytes(),
                            )
                        })
                        .collect(),
                ),
                None,
            ),
        ),
        (
            0,
            e(
                "h:longval",
                Value::Hash(vec![(b("k"), vec![b'q'; 200])]),
                None,
            ),
        ),
        (
            0,
            e(
                "z:small",
                Value::ZSet(vec![
                    (b("a"), 1.0),
                    (b("b"), 2.5),
                    (b("c"), -3.0),
                    (b("d"), f64::INFINITY),
                    (b("e"), f64::NEG_INFINITY),
                    (b("f"), 0.5),
                ]),
                None,
            ),
        ),
        (
            0,
            e(
                "z:big",
                Value::ZSet(
                    (0..200)
                        .map(|i| (format!("m{i}").into_bytes(), f64::from(i) * 1.5 - 7.0))
                        .collect(),
                ),
                None,
            ),
        ),
        (
            0,
            e("st:big", Value::Stream(Box::new(sample_stream(250))), None),
        ),
        (
            1,
            e(
                "db1:s",
                Value::String(b("in db one")),
                Some(FAR_EXPIRE_MS + 1),
            ),
        ),
        (
            1,
            e(
                "st:small",
                Value::Stream(Box::new(sample_stream(4))),
                Some(FAR_EXPIRE_MS + 2),
            ),
        ),
        (15, e("db15:l", Value::List(vec![b("only")]), None)),
    ];
    let empty_stream = Stream {
        groups: vec![],
        ..Default::default()
    };
    v.push((
        15,
        e("st:empty", Value::Stream(Box::new(empty_stream)), None),
    ));
    v
}

/// Library source used for FUNCTION2 tests.
pub const LIBRARY: &str =
    "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 1 end)";
