//! Server commands: INFO, COMMAND, TIME, DEBUG, MONITOR, SLOWLOG, CONFIG.

use crate::start;
use ferrodis_test_support::{info_fields, show, strings, text, Frame};
use std::time::Duration;

#[test]
fn info_sections_and_fields() {
    let s = start(&[]);
    let mut c = s.conn();
    c.run("SET a 1");
    c.run("SET b 2 EX 100");
    c.run("GET a");
    c.run("GET nosuch");
    let all = text(&c.cmd(&["INFO"]));
    for section in ["# Server", "# Clients", "# Memory", "# Stats", "# Keyspace"] {
        assert!(all.contains(section), "INFO lacks {section}:\n{all}");
    }
    let f = info_fields(&c.cmd(&["INFO"]));
    let port = s.port().to_string();
    assert_eq!(f.get("redis_version").map(String::as_str), Some("7.0.15"));
    assert_eq!(f.get("tcp_port"), Some(&port));
    assert_eq!(f.get("run_id").map(String::len), Some(40));
    assert_eq!(f.get("connected_clients").map(String::as_str), Some("1"));
    assert!(f["db0"].starts_with("keys=2,expires=1,"), "{}", f["db0"]);
    assert_eq!(f.get("keyspace_hits").map(String::as_str), Some("1"));
    assert_eq!(f.get("keyspace_misses").map(String::as_str), Some("1"));
    for k in [
        "process_id",
        "uptime_in_seconds",
        "used_memory",
        "used_memory_human",
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "expired_keys",
        "maxclients",
    ] {
        assert!(f.contains_key(k), "INFO lacks {k}");
    }
    assert_eq!(f["process_id"], s.pid().to_string());
    let only = text(&c.cmd(&["INFO", "keyspace"]));
    assert!(only.starts_with("# Keyspace"), "{only}");
    assert!(!only.contains("# Server"));
    assert_eq!(show(&c.cmd(&["INFO", "nosuchsection"])), "$");
}

#[test]
fn command_family() {
    let s = start(&[]);
    let mut c = s.conn();
    let count = match c.cmd(&["COMMAND", "COUNT"]) {
        Frame::Integer(n) => n,
        f => panic!("{}", show(&f)),
    };
    let Frame::Array(all) = c.cmd(&["COMMAND"]) else {
        panic!("COMMAND is an array")
    };
    assert_eq!(all.len() as i64, count);
    let list = strings(&c.cmd(&["COMMAND", "LIST"]));
    assert_eq!(list.len() as i64, count);
    for name in ["get", "set", "del", "scan", "client", "config", "info"] {
        assert!(list.iter().any(|n| n == name), "COMMAND LIST lacks {name}");
    }
    let info = show(&c.cmd(&["COMMAND", "INFO", "get", "nosuch"]));
    assert!(
        info.starts_with("[[$get, :2, [+readonly, +fast], :1, :1, :1, [+@read, +@string, +@fast]"),
        "{info}"
    );
    assert!(info.ends_with(", nil]"), "{info}");
    let docs = c.cmd(&["COMMAND", "DOCS", "get"]);
    assert!(show(&docs).contains("$group, $string"), "{}", show(&docs));
    assert_eq!(
        strings(&c.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "getr*"])),
        vec!["getrange"]
    );
    assert_eq!(c.run("COMMAND GETKEYS MSET a 1 b 2"), "[$a, $b]");
}

#[test]
fn time_and_debug() {
    let s = start(&[]);
    let mut c = s.conn();
    let t = strings(&c.cmd(&["TIME"]));
    let secs: u64 = t[0].parse().expect("seconds");
    let us: u64 = t[1].parse().expect("micros");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(secs.abs_diff(now) <= 5 && us < 1_000_000);
    let t0 = std::time::Instant::now();
    assert_eq!(c.run("DEBUG SLEEP 0.2"), "+OK");
    assert!(t0.elapsed() >= Duration::from_millis(190));
    assert_eq!(c.run("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK");
    assert_eq!(c.run("DEBUG SET-ACTIVE-EXPIRE 1"), "+OK");
    // Without enable-debug-command, DEBUG is refused (Redis 7.0's default).
    let locked = start(&["--enable-debug-command", "no"]);
    assert!(locked
        .conn()
        .run("DEBUG SLEEP 0")
        .starts_with("-ERR DEBUG command not allowed."));
}

#[test]
fn monitor_shows_commands() {
    let s = start(&[]);
    let mut m = s.conn();
    assert_eq!(m.run("MONITOR"), "+OK");
    let mut c = s.conn();
    c.run("SET \"k 1\" v");
    c.run("SELECT 2");
    c.run("GET x");
    let local = c.stream().local_addr().expect("addr").to_string();
    let mut lines = Vec::new();
    while lines.len() < 3 {
        lines.push(text(&m.read_frame()));
    }
    let re_ok = |l: &str, db: u32, rest: &str| {
        let (ts, tail) = l.split_once(' ').expect("timestamp");
        let (sec, us) = ts.split_once('.').expect("dot");
        sec.parse::<u64>().is_ok() && us.len() == 6 && tail == format!("[{db} {local}] {rest}")
    };
    assert!(re_ok(&lines[0], 0, r#""SET" "k 1" "v""#), "{lines:?}");
    assert!(re_ok(&lines[1], 0, r#""SELECT" "2""#), "{lines:?}");
    assert!(re_ok(&lines[2], 2, r#""GET" "x""#), "{lines:?}");
}

#[test]
fn slowlog() {
    let s = start(&["--slowlog-log-slower-than", "0"]);
    let mut c = s.conn();
    c.run("CLIENT SETNAME slowpoke");
    assert_eq!(c.run("SLOWLOG RESET"), "+OK");
    c.run("SET slowkey v");
    let Frame::Array(entries) = c.cmd(&["SLOWLOG", "GET", "1"]) else {
        panic!("SLOWLOG GET")
    };
    assert_eq!(entries.len(), 1);
    let e = show(&entries[0]);
    assert!(e.contains("[$SET, $slowkey, $v]"), "{e}");
    assert!(e.contains("$slowpoke"), "{e}");
    assert!(e.contains("$127.0.0.1:"), "{e}");
    let len: i64 = c.run("SLOWLOG LEN")[1..].parse().expect("len");
    assert!(len >= 2);
    c.run("CONFIG SET slowlog-max-len 2");
    for i in 0..5 {
        c.run(&format!("SET k{i} v"));
    }
    assert_eq!(c.run("SLOWLOG LEN"), ":2");
    c.run("CONFIG SET slowlog-log-slower-than -1");
    c.run("SLOWLOG RESET");
    c.run("SET x y");
    assert_eq!(c.run("SLOWLOG LEN"), ":0");
}

#[test]
fn config_get_set_rewrite_resetstat() {
    let s = start(&[]);
    let mut c = s.conn();
    assert_eq!(c.run("CONFIG GET maxclients"), "[$maxclients, $10000]");
    assert_eq!(c.run("CONFIG SET maxclients 100"), "+OK");
    assert_eq!(c.run("CONFIG GET maxclients"), "[$maxclients, $100]");
    assert_eq!(c.run("CONFIG SET requirepass pw"), "+OK");
    assert_eq!(s.conn().run("GET x"), "-NOAUTH Authentication required.");
    assert_eq!(c.run("CONFIG SET requirepass \"\""), "+OK");
    assert_eq!(s.conn().run("GET x"), "nil");
    let f = info_fields(&c.cmd(&["INFO", "stats"]));
    assert_ne!(f["total_commands_processed"], "0");
    assert_eq!(c.run("CONFIG RESETSTAT"), "+OK");
    let f = info_fields(&c.cmd(&["INFO", "stats"]));
    assert!(f["total_commands_processed"].parse::<u64>().expect("n") <= 1);
    // REWRITE without a config file fails as Redis does.
    assert_eq!(
        c.run("CONFIG REWRITE"),
        "-ERR The server is running without a config file"
    );
}

#[test]
fn config_rewrite_with_file() {
    let b = ferrodis_test_support::TestServer::builder(crate::BIN)
        .config("# my config\nmaxclients 500\n");
    let dir = b.dir().to_path_buf();
    let s = b.start();
    let mut c = s.conn();
    assert_eq!(c.run("CONFIG SET maxclients 123"), "+OK");
    assert_eq!(c.run("CONFIG REWRITE"), "+OK");
    let text = std::fs::read_to_string(dir.join("redis.conf")).expect("config");
    assert!(text.contains("# my config"), "{text}");
    assert!(text.contains("maxclients 123"), "{text}");
    assert!(!text.contains("maxclients 500"), "{text}");
}

/// INFO inside a transaction (or a script) runs while this connection's thread holds some or
/// all shard locks: it must read those shards through the held locks, not wait on them
/// (it used to hang the connection and every client touching those shards).
#[test]
fn info_inside_exec_and_scripts_does_not_deadlock() {
    let s = start(&[]);
    let mut c = s.conn();
    c.set_timeout(Duration::from_secs(10));
    assert_eq!(c.run("SET k0 v"), "+OK");
    assert_eq!(c.run("MULTI"), "+OK");
    assert_eq!(c.run("SET a 1"), "+QUEUED");
    assert_eq!(c.run("INFO keyspace"), "+QUEUED");
    assert_eq!(c.run("INFO memory"), "+QUEUED");
    assert_eq!(c.run("DBSIZE"), "+QUEUED");
    assert_eq!(c.run("DEBUG DIGEST"), "+QUEUED");
    assert_eq!(c.run("DEBUG DIGEST-VALUE a k0"), "+QUEUED");
    assert_eq!(c.run("DEBUG OBJECT a"), "+QUEUED");
    let reply = c.cmd(&["EXEC"]);
    let text = show(&reply);
    assert!(text.contains("db0:keys=2,expires=0"), "{text}");
    assert!(text.contains("used_memory_dataset"), "{text}");
    assert!(text.contains("encoding:int serializedlength"), "{text}");
    let digest_in_exec = match &reply {
        Frame::Array(v) => show(&v[4]),
        other => panic!("EXEC reply {}", show(other)),
    };
    assert_eq!(digest_in_exec, show(&c.cmd(&["DEBUG", "DIGEST"])));
    let mut other = s.conn();
    other.set_timeout(Duration::from_secs(10));
    assert_eq!(other.run("GET a"), "$1");
    let r = c.cmd(&["EVAL", "return redis.call('INFO', 'keyspace')", "0"]);
    assert!(show(&r).contains("db0:keys=2"), "{}", show(&r));
}
