//! Differential tests against a real redis-server 7.0 (must be installed: CI installs it).
//! The server runs on an ephemeral port in a temporary directory and is killed on drop.

// Test-only helpers outside `#[test]` functions: a panic is the intended failure.
#![allow(clippy::unwrap_used)]

use ferrodis_config::Config;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Redis {
    child: Child,
    conn: BufReader<TcpStream>,
    dir: std::path::PathBuf,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug, PartialEq)]
enum Reply {
    Ok(String),
    Err(String),
    Bulk(String),
    Array(Vec<Reply>),
}

impl Redis {
    fn start(extra: &[&str]) -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!(
            "ferrodis-config-live-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let dir = std::fs::canonicalize(dir).unwrap();
        let mut args = vec![
            "--port".to_string(),
            port.to_string(),
            "--save".into(),
            "".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new("redis-server")
            .args(&args)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server 7.0 must be installed for the differential config tests (apt-get install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    panic!("redis-server did not start listening on port {port} within 10s: {e}")
                }
            }
        };
        let mut r = Redis {
            child,
            conn: BufReader::new(stream),
            dir,
        };
        r.config_file_less_check();
        r
    }

    fn config_file_less_check(&mut self) {
        let v = self.cmd(&["CONFIG", "GET", "port"]);
        assert!(matches!(v, Reply::Array(_)), "{v:?}");
    }

    fn cmd(&mut self, args: &[&str]) -> Reply {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        self.conn.get_mut().write_all(&out).unwrap();
        self.read()
    }

    fn read(&mut self) -> Reply {
        let mut line = String::new();
        self.conn.read_line(&mut line).unwrap();
        let line = line.trim_end_matches("\r\n");
        let (t, rest) = line.split_at(1);
        match t {
            "+" => Reply::Ok(rest.to_string()),
            "-" => Reply::Err(rest.to_string()),
            "$" => {
                let n: usize = rest.parse().unwrap();
                let mut buf = vec![0; n + 2];
                self.conn.read_exact(&mut buf).unwrap();
                buf.truncate(n);
                Reply::Bulk(String::from_utf8(buf).unwrap())
            }
            "*" => {
                let n: usize = rest.parse().unwrap();
                Reply::Array((0..n).map(|_| self.read()).collect())
            }
            _ => panic!("unexpected reply {line}"),
        }
    }

    fn get_all(&mut self, pattern: &str) -> BTreeMap<String, String> {
        let Reply::Array(items) = self.cmd(&["CONFIG", "GET", pattern]) else {
            panic!()
        };
        let mut m = BTreeMap::new();
        for kv in items.chunks(2) {
            if let [Reply::Bulk(k), Reply::Bulk(v)] = kv {
                m.insert(k.clone(), v.clone());
            }
        }
        m
    }
}

fn ours_matching(redis: &Redis, port_and_save: &mut Config) {
    port_and_save.dir = redis.dir.clone();
}

fn ours_all(c: &Config, pattern: &str) -> BTreeMap<String, String> {
    c.get(pattern.as_bytes()).into_iter().collect()
}

#[test]
fn config_get_star_matches_redis_after_same_sets() {
    let mut redis = Redis::start(&[]);
    let mut ours = Config::default();
    ours_matching(&redis, &mut ours);
    let port = redis.get_all("port")["port"].clone();
    ours.set(&[(b"port", port.as_bytes()), (b"save", b"")])
        .unwrap();

    let sets: &[(&str, &str)] = &[
        ("maxmemory", "1gb"),
        ("save", "100 1 200 2"),
        (
            "client-output-buffer-limit",
            "normal 1kb 2 3 replica 10mb 5mb 30",
        ),
        ("notify-keyspace-events", "KEA"),
        ("bind", "127.0.0.1 ::1"),
        ("hz", "1000"),
        ("maxmemory-policy", "ALLKEYS-LRU"),
        ("slave-read-only", "no"),
        ("lua-time-limit", "100"),
        ("hash-max-ziplist-value", "1k"),
        ("maxmemory-clients", "10%"),
        ("oom-score-adj-values", "1 2 3"),
        ("latency-tracking-info-percentiles", "50 99.99 100"),
        ("activedefrag", "no"),
        ("list-max-ziplist-size", "-3"),
        ("slowlog-log-slower-than", "-1"),
        ("requirepass", ""),
        ("masterauth", "secret"),
    ];
    for (k, v) in sets {
        let r = redis.cmd(&["CONFIG", "SET", k, v]);
        assert_eq!(r, Reply::Ok("OK".into()), "redis CONFIG SET {k} {v}");
        ours.set(&[(k.as_bytes(), v.as_bytes())])
            .unwrap_or_else(|e| panic!("ours CONFIG SET {k} {v}: {e}"));
    }
    let theirs = redis.get_all("*");
    let mine = ours_all(&ours, "*");
    for (k, v) in &theirs {
        assert_eq!(mine.get(k), Some(v), "CONFIG GET {k}: redis says {v:?}");
    }
    let extra: Vec<&String> = mine.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(extra.is_empty(), "names redis does not report: {extra:?}");
    for pattern in [
        "slave*",
        "*max*",
        "?ort",
        "*[ab]ind*",
        "PORT",
        "Slave-Read-Only",
        "repl-*",
    ] {
        assert_eq!(
            ours_all(&ours, pattern),
            redis.get_all(pattern),
            "pattern {pattern}"
        );
    }
}

#[test]
fn config_set_errors_match_redis() {
    let mut redis = Redis::start(&[]);
    let mut ours = Config::default();
    ours_matching(&redis, &mut ours);
    let cases: &[&[&str]] = &[
        &["foo", "bar"],
        &["port", "abc"],
        &["PORT", "70000"],
        &["daemonize", "yes"],
        &["databases", "10"],
        &["slaveof", "no one"],
        &["dir", "/tmp"],
        &["dbfilename", "x.rdb"],
        &["maxmemory", "10q"],
        &["maxmemory", "-1"],
        &["maxmemory-policy", "foo"],
        &["protected-mode", "maybe"],
        &["loglevel", "verbose warning"],
        &["port", "6380", "port", "6381"],
        &["Hz", "10", "hZ", "11"],
        &["hz", "5", "foo", "1"],
        &["daemonize", "yes", "foo", "1"],
        &["hz", "5", "maxmemory", "bad"],
        &["save", "10"],
        &["save", "100  1"],
        &["client-output-buffer-limit", "foo 1 2 3"],
        &["client-output-buffer-limit", "normal 1 2"],
        &["client-output-buffer-limit", "normal x 1 1"],
        &["bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"],
        &["oom-score-adj-values", "1 2"],
        &["oom-score-adj-values", "1 2 3000"],
        &["notify-keyspace-events", "Q"],
        &["hz", "-1"],
        &["Slave-Read-Only", "x"],
        &["proto-max-bulk-len", "1"],
        &["maxmemory-clients", "x%"],
        &["enable-debug-command", "yes"],
    ];
    for case in cases {
        let mut args = vec!["CONFIG", "SET"];
        args.extend_from_slice(case);
        let Reply::Err(theirs) = redis.cmd(&args) else {
            panic!("redis accepted {case:?}")
        };
        let pairs: Vec<(&[u8], &[u8])> = case
            .chunks(2)
            .map(|p| (p[0].as_bytes(), p[1].as_bytes()))
            .collect();
        let mine = ours.set(&pairs).expect_err("ours accepted");
        assert_eq!(mine, theirs, "CONFIG SET {case:?}");
    }
}
