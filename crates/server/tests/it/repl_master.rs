//! The master side of replication against real Redis 7.0 replicas (and raw sockets): full
//! sync (diskless and disk-based), one snapshot for several replicas, writes during the
//! sync, partial resync, legacy SYNC, WAIT, min-replicas, errors, INFO and ROLE.

use crate::start;
use ferrodis_test_support::{info_fields, show, strings, text, wait_until, Conn, TestServer};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

fn master(extra: &[&str]) -> TestServer {
    let mut args = vec!["--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    start(&args)
}

fn redis_replica(m: &TestServer) -> TestServer {
    let port = m.port().to_string();
    TestServer::redis(&["--replicaof", "127.0.0.1", &port])
}

fn info(c: &mut Conn, section: &str) -> HashMap<String, String> {
    info_fields(&c.cmd(&["INFO", section]))
}

fn stat(c: &mut Conn, field: &str) -> u64 {
    info(c, "stats")
        .get(field)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("INFO stats has no {field}"))
}

/// Waits until the master lists `n` online replicas and each replica's link is up with the
/// master's offset.
fn wait_synced(m: &TestServer, replicas: &[&TestServer]) {
    let mut mc = m.conn();
    wait_until(
        LONG,
        || {
            let f = info(&mut mc, "replication");
            let online = (0..replicas.len())
                .filter(|i| {
                    f.get(&format!("slave{i}"))
                        .is_some_and(|l| l.contains("state=online"))
                })
                .count();
            if online != replicas.len() {
                return false;
            }
            let off = f.get("master_repl_offset").cloned();
            replicas.iter().all(|r| {
                let rf = info(&mut r.conn(), "replication");
                rf.get("master_link_status").map(String::as_str) == Some("up")
                    && rf.get("master_repl_offset") == off.as_ref()
            })
        },
        "every replica is online with the master's offset",
    );
}

fn digest(c: &mut Conn) -> String {
    text(&c.cmd(&["DEBUG", "DIGEST"]))
}

/// Every key of every database as `db key type value ttl-bucket` lines (a digest that does
/// not depend on the DEBUG DIGEST algorithm).
fn dump(c: &mut Conn) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..16 {
        c.cmd(&["SELECT", &db.to_string()]);
        let mut keys = strings(&c.cmd(&["KEYS", "*"]));
        keys.sort();
        for k in keys {
            let t = show(&c.cmd(&["TYPE", &k]));
            let v = match t.as_str() {
                "+string" => show(&c.cmd(&["GET", &k])),
                "+list" => show(&c.cmd(&["LRANGE", &k, "0", "-1"])),
                "+set" => {
                    let mut m = strings(&c.cmd(&["SMEMBERS", &k]));
                    m.sort();
                    m.join(",")
                }
                "+zset" => show(&c.cmd(&["ZRANGE", &k, "0", "-1", "WITHSCORES"])),
                "+hash" => {
                    let mut m = strings(&c.cmd(&["HGETALL", &k]));
                    let mut pairs: Vec<String> = m.chunks_mut(2).map(|p| p.join("=")).collect();
                    pairs.sort();
                    pairs.join(",")
                }
                other => other.to_string(),
            };
            let ttl = show(&c.cmd(&["PTTL", &k]));
            let ttl = if ttl == ":-1" { "none" } else { "some" };
            out.push(format!("{db} {k} {t} {v} {ttl}"));
        }
    }
    c.cmd(&["SELECT", "0"]);
    out
}

/// A dataset with every type, expiries, and several databases.
fn populate(c: &mut Conn) {
    for db in [0, 3] {
        c.cmd(&["SELECT", &db.to_string()]);
        c.run("SET str hello");
        c.run("SET num 12345");
        c.run("SET ttl v EX 1000");
        c.run("RPUSH list a b c 1 2 3");
        c.run("SADD set x y z");
        c.run("SADD intset 1 2 3 400");
        c.run("HSET hash f1 v1 f2 v2");
        c.run("ZADD zset 1 a 2.5 b -3 c");
        c.run("PEXPIRE hash 500000");
        for i in 0..200 {
            c.cmd(&["RPUSH", "biglist", &format!("element-{i}")]);
            c.cmd(&["HSET", "bighash", &format!("f{i}"), &format!("v{i}")]);
            c.cmd(&["ZADD", "bigzset", &i.to_string(), &format!("m{i}")]);
            c.cmd(&["SADD", "bigset", &format!("s{i}")]);
        }
    }
    c.cmd(&["SELECT", "0"]);
    c.cmd(&["DEBUG", "POPULATE", "1000", "pop", "20"]);
}

fn same_data(m: &TestServer, r: &TestServer) {
    let (mut mc, mut rc) = (m.conn(), r.conn());
    // DEBUG DIGEST of 100k keys in a debug build takes seconds, longer on a loaded machine.
    mc.set_timeout(Duration::from_secs(120));
    rc.set_timeout(Duration::from_secs(120));
    assert_eq!(
        dump(&mut mc),
        dump(&mut rc),
        "master and replica datasets differ"
    );
    assert_eq!(digest(&mut mc), digest(&mut rc), "DEBUG DIGEST differs");
}

#[test]
fn redis_replica_full_sync_diskless_then_live_writes() {
    let m = master(&[]);
    let mut mc = m.conn();
    populate(&mut mc);
    let r = redis_replica(&m);
    wait_synced(&m, &[&r]);
    same_data(&m, &r);
    let mut rc = r.conn();
    assert_eq!(rc.run("GET str"), "$hello");
    assert_eq!(rc.run("LRANGE list 0 -1"), "[$a, $b, $c, $1, $2, $3]");
    let ttl: i64 = show(&rc.cmd(&["TTL", "ttl"]))[1..].parse().unwrap_or(-9);
    assert!((990..=1000).contains(&ttl), "ttl on the replica: {ttl}");
    assert!(m.log().contains("target: replicas sockets"), "{}", m.log());
    // Live writes, in several databases.
    mc.run("SET after 1");
    mc.run("SELECT 5");
    mc.run("LPUSH l5 x y");
    mc.run("SET e5 v PX 100000");
    mc.run("SELECT 3");
    mc.run("INCR num");
    mc.run("DEL set");
    wait_synced(&m, &[&r]);
    same_data(&m, &r);
    rc.run("SELECT 3");
    assert_eq!(rc.run("GET num"), "$12346");
    let mut mc = m.conn();
    assert_eq!(stat(&mut mc, "sync_full"), 1);
    assert_eq!(stat(&mut mc, "sync_partial_ok"), 0);
    assert!(stat(&mut mc, "total_net_repl_output_bytes") > 10_000);
}

#[test]
fn disk_based_sync_and_attaching_replicas() {
    let m = master(&["--repl-diskless-sync", "no"]);
    let mut mc = m.conn();
    populate(&mut mc);
    let rs: Vec<TestServer> = (0..3).map(|_| redis_replica(&m)).collect();
    let refs: Vec<&TestServer> = rs.iter().collect();
    wait_synced(&m, &refs);
    for r in &rs {
        same_data(&m, r);
    }
    assert!(m.log().contains("target: disk"), "{}", m.log());
    assert_eq!(stat(&mut mc, "sync_full"), 3);
    mc.run("SET live 1");
    mc.run("SELECT 9");
    mc.run("SADD s9 a b");
    wait_synced(&m, &refs);
    for r in &rs {
        same_data(&m, r);
    }
    // The temporary RDB files are gone.
    let leftovers: Vec<_> = std::fs::read_dir(m.dir())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("temp-repl"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[test]
fn three_replicas_share_one_diskless_snapshot() {
    let m = master(&[
        "--repl-diskless-sync-delay",
        "30",
        "--repl-diskless-sync-max-replicas",
        "3",
    ]);
    let mut mc = m.conn();
    populate(&mut mc);
    let rs: Vec<TestServer> = (0..3).map(|_| redis_replica(&m)).collect();
    let refs: Vec<&TestServer> = rs.iter().collect();
    wait_synced(&m, &refs);
    let log = m.log();
    assert_eq!(
        log.matches("Starting BGSAVE for SYNC").count(),
        1,
        "one snapshot for the three replicas:\n{log}"
    );
    assert!(log.contains("(3 replicas)"), "{log}");
    for r in &rs {
        same_data(&m, r);
    }
    assert_eq!(stat(&mut mc, "sync_full"), 3);
}

fn hammer(port: u16, stop: Arc<AtomicBool>, done: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut c = Conn::connect(port);
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let k = format!("hk{}", i % 500);
            let db = (i % 3).to_string();
            c.cmd(&["SELECT", &db]);
            c.cmd(&["INCR", &k]);
            c.cmd(&["RPUSH", &format!("hl{}", i % 50), &i.to_string()]);
            c.cmd(&["SET", &format!("pop:{}", i % 2000), &i.to_string()]);
            if i % 7 == 0 {
                c.cmd(&["DEL", &format!("hl{}", i % 50)]);
            }
            if i % 11 == 0 {
                c.cmd(&["HSET", "hh", &k, &i.to_string()]);
            }
            i += 1;
            done.store(i, Ordering::Relaxed);
        }
    })
}

fn writes_during_full_sync(extra: &[&str]) {
    let m = master(extra);
    let mut mc = m.conn();
    mc.cmd(&["DEBUG", "POPULATE", "100000", "pop", "50"]);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let writer = hammer(m.port(), stop.clone(), done.clone());
    wait_until(
        LONG,
        || done.load(Ordering::Relaxed) > 100,
        "writes started",
    );
    let r = redis_replica(&m);
    let mut mi = m.conn();
    wait_until(
        LONG,
        || {
            info(&mut mi, "replication")
                .get("slave0")
                .is_some_and(|l| l.contains("state=online"))
        },
        "the replica is online",
    );
    let at = done.load(Ordering::Relaxed);
    wait_until(
        LONG,
        || done.load(Ordering::Relaxed) > at + 300,
        "more writes after the sync",
    );
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    wait_synced(&m, &[&r]);
    same_data(&m, &r);
}

#[test]
fn concurrent_writes_during_diskless_full_sync() {
    writes_during_full_sync(&[]);
}

#[test]
fn concurrent_writes_during_disk_full_sync() {
    writes_during_full_sync(&["--repl-diskless-sync", "no", "--io-threads", "2"]);
}

#[test]
fn partial_resync_after_link_kill_and_replica_restart() {
    let m = master(&[]);
    let mut mc = m.conn();
    populate(&mut mc);
    let mut r = redis_replica(&m);
    wait_synced(&m, &[&r]);
    for round in 0..2 {
        mc.run("CLIENT KILL TYPE replica");
        mc.cmd(&["SET", &format!("during{round}"), "x"]);
        wait_until(
            LONG,
            || stat(&mut mc, "sync_partial_ok") == round + 1,
            "the replica continued with a partial resync",
        );
        wait_synced(&m, &[&r]);
    }
    assert_eq!(stat(&mut mc, "sync_full"), 1);
    same_data(&m, &r);
    // A restarted replica continues from the replication id and offset of its RDB.
    assert_eq!(r.conn().run("SAVE"), "+OK");
    mc.run("SET while-down 1");
    r.restart();
    wait_until(
        LONG,
        || stat(&mut mc, "sync_partial_ok") == 3,
        "the restarted replica continued with a partial resync",
    );
    wait_synced(&m, &[&r]);
    assert_eq!(stat(&mut mc, "sync_full"), 1);
    same_data(&m, &r);
    assert!(r.log().contains("Successful partial resynchronization"));
}

/// Reads one `\n`-terminated line (skipping keepalive newlines).
fn read_line(s: &mut std::net::TcpStream) -> String {
    loop {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        loop {
            match s.read(&mut b) {
                Ok(1) => {}
                other => panic!("reading a line: {other:?}"),
            }
            if b[0] == b'\n' {
                break;
            }
            line.push(b[0]);
        }
        if line.is_empty() {
            continue;
        }
        return String::from_utf8_lossy(&line).trim_end().to_string();
    }
}

fn read_exact(s: &mut std::net::TcpStream, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    s.read_exact(&mut v)
        .unwrap_or_else(|e| panic!("reading {n} bytes: {e}"));
    v
}

/// Reads stream bytes until `needle` appears.
fn read_until(s: &mut std::net::TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !got.windows(needle.len()).any(|w| w == needle) {
        let n = s.read(&mut chunk).unwrap_or_else(|e| {
            panic!(
                "waiting for {:?} in {:?}: {e}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(&got)
            )
        });
        assert!(n > 0, "closed while waiting for the stream");
        got.extend_from_slice(&chunk[..n]);
    }
    got
}

fn raw(port: u16) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    s
}

#[test]
fn legacy_sync_gets_len_framed_rdb_then_the_stream() {
    let m = master(&[]);
    let mut mc = m.conn();
    mc.run("SET before 1");
    let mut s = raw(m.port());
    s.write_all(b"SYNC\r\n").unwrap_or_else(|e| panic!("{e}"));
    let head = read_line(&mut s);
    assert!(head.starts_with('$'), "expected $<len>, got {head:?}");
    let len: usize = head[1..].parse().unwrap_or_else(|e| panic!("{head}: {e}"));
    let rdb = read_exact(&mut s, len);
    assert!(rdb.starts_with(b"REDIS0010"), "not an RDB");
    mc.run("SET after 2");
    let got = read_until(&mut s, b"after");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"),
        "{text:?}"
    );
    assert!(text.contains("$3\r\nSET\r\n$5\r\nafter"), "{text:?}");
    // The replica link shows up with flag S; a keyspace command is refused.
    let list = text_of(&mut mc, &["CLIENT", "LIST", "TYPE", "replica"]);
    assert!(list.contains("flags=S"), "{list}");
    s.write_all(b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    read_until(&mut s, b"-ERR Replica can't interact with the keyspace\r\n");
    assert_eq!(mc.run("PING"), "+PONG");
}

fn text_of(c: &mut Conn, args: &[&str]) -> String {
    text(&c.cmd(args))
}

#[test]
fn redis_cli_replica_receives_the_stream() {
    ferrodis_test_support::require_program("redis-cli", "apt-get install -y redis-tools");
    let m = master(&[]);
    let mut child = std::process::Command::new("redis-cli")
        .args(["-p", &m.port().to_string(), "--replica"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("redis-cli: {e}"));
    let mut mc = m.conn();
    wait_until(
        LONG,
        || info(&mut mc, "replication").contains_key("slave0"),
        "redis-cli --replica is attached",
    );
    mc.run("SET from-cli hello");
    let mut out = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let got = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let sink = got.clone();
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 1024];
        while let Ok(n) = out.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().extend_from_slice(&chunk[..n]);
        }
    });
    let seen = || String::from_utf8_lossy(&got.lock()).contains("\"from-cli\"");
    let deadline = std::time::Instant::now() + LONG;
    while !seen() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let ok = seen();
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    assert!(
        ok,
        "redis-cli printed: {}\nmaster log:\n{}",
        String::from_utf8_lossy(&got.lock()),
        m.log()
    );
    // redis-cli asks for `rdb-filter-only ""`: an RDB without keys, no snapshot.
    assert!(!m.log().contains("Starting BGSAVE"), "{}", m.log());
}

#[test]
fn wait_counts_acknowledging_replicas() {
    let m = master(&[]);
    let mut mc = m.conn();
    assert_eq!(mc.run("WAIT 0 0"), ":0");
    assert_eq!(mc.run("WAIT 1 100"), ":0");
    let r1 = redis_replica(&m);
    let r2 = redis_replica(&m);
    wait_synced(&m, &[&r1, &r2]);
    mc.run("SET k v");
    assert_eq!(mc.run("WAIT 2 5000"), ":2");
    assert_eq!(mc.run("WAIT 3 300"), ":2");
    assert_eq!(mc.run("WAIT -1 10"), ":2");
    assert_eq!(mc.run("WAIT 1 -1"), "-ERR timeout is negative");
    // A replica answers WAIT with the spec's error.
    let e = r1.conn().run("WAIT 1 10");
    assert!(
        e.starts_with("-ERR WAIT cannot be used with replica instances"),
        "{e}"
    );
}

#[test]
fn replica_dying_mid_transfer_leaves_the_master_serving() {
    let m = master(&[]);
    let mut mc = m.conn();
    mc.cmd(&["DEBUG", "POPULATE", "200000", "big", "100"]);
    let mut s = raw(m.port());
    s.write_all(b"*3\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_line(&mut s), "+OK");
    s.write_all(b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let full = read_line(&mut s);
    assert!(full.starts_with("+FULLRESYNC "), "{full}");
    let eof = read_line(&mut s);
    assert!(eof.starts_with("$EOF:") && eof.len() == 45, "{eof}");
    read_exact(&mut s, 1000);
    // The transfer is stalled on this socket: the master keeps serving meanwhile.
    for i in 0..50 {
        assert_eq!(
            mc.cmd(&["SET", &format!("during{i}"), "v"]),
            ferrodis_test_support::Frame::ok()
        );
    }
    assert_eq!(mc.run("PING"), "+PONG");
    assert_eq!(mc.run("DEL during0"), ":1");
    drop(s);
    assert_eq!(mc.run("PING"), "+PONG");
    mc.run("SET x 1");
    let r = redis_replica(&m);
    wait_synced(&m, &[&r]);
    assert_eq!(r.conn().run("GET x"), "$1");
    assert_eq!(r.conn().run("DBSIZE"), ":200050");
}

#[test]
fn replconf_psync_wait_errors_and_min_replicas() {
    let m = master(&[]);
    let mut c = m.conn();
    assert_eq!(c.run("REPLCONF listening-port"), "-ERR syntax error");
    assert_eq!(
        c.run("REPLCONF foo bar"),
        "-ERR Unrecognized REPLCONF option: foo"
    );
    assert_eq!(
        c.run("REPLCONF listening-port 7777 capa eof capa psync2"),
        "+OK"
    );
    assert_eq!(c.run("REPLCONF capa whatever"), "+OK");
    // ACK and GETACK get no reply: the next reply is PING's.
    c.send(&["REPLCONF", "ACK", "10"]);
    c.send(&["REPLCONF", "GETACK", "*"]);
    assert_eq!(c.run("PING"), "+PONG");
    assert_eq!(
        c.run("PSYNC abc xyz"),
        "-ERR value is not an integer or out of range"
    );
    assert_eq!(
        c.run("PSYNC a"),
        "-ERR wrong number of arguments for 'psync' command"
    );
    assert_eq!(c.run("MULTI"), "+OK");
    assert_eq!(
        c.run("PSYNC ? -1"),
        "-ERR Command not allowed inside a transaction"
    );
    c.run("DISCARD");
    // min-replicas-to-write
    assert_eq!(c.run("CONFIG SET min-replicas-to-write 1"), "+OK");
    assert_eq!(
        c.run("SET k v"),
        "-NOREPLICAS Not enough good replicas to write."
    );
    assert_eq!(c.run("GET k"), "nil");
    let f = info(&mut c, "replication");
    assert_eq!(
        f.get("min_slaves_good_slaves").map(String::as_str),
        Some("0")
    );
    let r = redis_replica(&m);
    wait_synced(&m, &[&r]);
    wait_until(
        LONG,
        || c.run("SET k v") == "+OK",
        "writes are accepted with one good replica",
    );
    assert_eq!(c.run("CONFIG SET min-replicas-to-write 0"), "+OK");
    drop(r);
    // A node that is itself a replica whose link is down refuses PSYNC and SYNC.
    let lonely = start(&["--replicaof", "127.0.0.1", "1"]);
    let mut lc = lonely.conn();
    assert_eq!(
        lc.run("PSYNC ? -1"),
        "-NOMASTERLINK Can't SYNC while not connected with my master"
    );
    assert_eq!(
        lc.run("SYNC"),
        "-NOMASTERLINK Can't SYNC while not connected with my master"
    );
    assert_eq!(lc.run("REPLCONF capa eof"), "+OK");
}

#[test]
fn info_and_role_master_fields() {
    let m = master(&[]);
    let mut c = m.conn();
    let r = redis_replica(&m);
    wait_synced(&m, &[&r]);
    c.run("SET a 1");
    wait_synced(&m, &[&r]);
    let t = text(&c.cmd(&["INFO", "replication"]));
    let keys: Vec<&str> = t
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect();
    assert_eq!(
        keys,
        [
            "role",
            "connected_slaves",
            "slave0",
            "master_failover_state",
            "master_replid",
            "master_replid2",
            "master_repl_offset",
            "second_repl_offset",
            "repl_backlog_active",
            "repl_backlog_size",
            "repl_backlog_first_byte_offset",
            "repl_backlog_histlen",
        ],
        "{t}"
    );
    let rport = r.port();
    wait_until(
        LONG,
        || {
            let f = info_fields(&c.cmd(&["INFO", "replication"]));
            let off = f["master_repl_offset"].clone();
            let line_ok = f["slave0"].starts_with(&format!(
                "ip=127.0.0.1,port={rport},state=online,offset={off},lag="
            ));
            let role = show(&c.cmd(&["ROLE"]));
            line_ok && role == format!("[$master, :{off}, [[$127.0.0.1, ${rport}, ${off}]]]")
        },
        "INFO slave0 and ROLE show the replica with the master's offset",
    );
    let rrole = r.conn().cmd(&["ROLE"]);
    assert!(
        show(&rrole).starts_with("[$slave, $127.0.0.1"),
        "{}",
        show(&rrole)
    );
}

#[test]
fn redis_cli_rdb_downloads_a_snapshot() {
    ferrodis_test_support::require_program("redis-cli", "apt-get install -y redis-tools");
    let m = master(&[]);
    let mut mc = m.conn();
    populate(&mut mc);
    let path = m.dir().join("cli-download.rdb");
    let st = std::process::Command::new("redis-cli")
        .args(["-p", &m.port().to_string(), "--rdb"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("redis-cli: {e}"));
    assert!(st.success(), "redis-cli --rdb failed: {st:?}\n{}", m.log());
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(bytes.starts_with(b"REDIS0010"), "not an RDB");
    assert!(bytes.len() > 10_000, "RDB too small: {}", bytes.len());
    assert_eq!(mc.run("PING"), "+PONG");
}

#[test]
fn keepalive_pings_count_in_the_offset() {
    let m = master(&["--repl-ping-replica-period", "1"]);
    let mut s = raw(m.port());
    s.write_all(b"SYNC\r\n").unwrap_or_else(|e| panic!("{e}"));
    let head = read_line(&mut s);
    let len: usize = head[1..].parse().unwrap_or_else(|e| panic!("{head}: {e}"));
    read_exact(&mut s, len);
    let mut mc = m.conn();
    let before: u64 = info(&mut mc, "replication")["master_repl_offset"]
        .parse()
        .unwrap_or(0);
    read_until(&mut s, b"*1\r\n$4\r\nping\r\n");
    let after: u64 = info(&mut mc, "replication")["master_repl_offset"]
        .parse()
        .unwrap_or(0);
    assert!(after >= before + 14, "offset {before} -> {after}");
}

#[test]
fn silent_replica_is_dropped_after_repl_timeout() {
    let m = master(&["--repl-timeout", "1"]);
    let mut s = raw(m.port());
    s.write_all(b"*3\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_line(&mut s), "+OK");
    assert!(read_line(&mut s).starts_with("+FULLRESYNC"));
    let eof = read_line(&mut s);
    let mark = eof.trim_start_matches("$EOF:").to_string();
    read_until(&mut s, mark.as_bytes());
    // No REPLCONF ACK ever: the master gives up on us.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let mut mc = m.conn();
    wait_until(
        LONG,
        || {
            m.log()
                .contains("Disconnecting timedout replica (streaming sync)")
        },
        "the master logs the timeout",
    );
    assert_eq!(info(&mut mc, "replication")["connected_slaves"], "0");
}

#[test]
fn replica_over_the_output_buffer_hard_limit_is_dropped() {
    let m = master(&[
        "--client-output-buffer-limit",
        "replica 2mb 0 0",
        "--repl-backlog-size",
        "1mb",
    ]);
    let mut s = raw(m.port());
    s.write_all(b"SYNC\r\n").unwrap_or_else(|e| panic!("{e}"));
    let head = read_line(&mut s);
    let len: usize = head[1..].parse().unwrap_or_else(|e| panic!("{head}: {e}"));
    read_exact(&mut s, len);
    // Stop reading and write far more than the limit plus socket buffers.
    let mut mc = m.conn();
    let val = "x".repeat(100_000);
    let mut i = 0;
    wait_until(
        LONG,
        || {
            for _ in 0..20 {
                mc.cmd(&["SET", &format!("big{}", i % 100), &val]);
                i += 1;
            }
            m.log().contains("for overcoming of output buffer limits")
        },
        "the lagging replica is dropped",
    );
    wait_until(
        LONG,
        || info(&mut mc, "replication")["connected_slaves"] == "0",
        "the replica is gone",
    );
    // The log is back to its configured size once nobody pins it.
    mc.run("SET after 1");
    let f = info(&mut mc, "replication");
    let histlen: u64 = f["repl_backlog_histlen"].parse().unwrap_or(u64::MAX);
    assert!(histlen <= 1024 * 1024, "histlen {histlen}");
}

/// `Server::replica_epoch` is the replica side's way to drop every replica of this node
/// (after its own full sync from a new master): an in-process server, a SYNC link, a bump.
#[test]
fn bumping_replica_epoch_drops_replica_links() {
    use ferrodis_server::Server;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let server = Server::new(ferrodis_config::Config {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        repl_diskless_sync_delay: 0,
        ..Default::default()
    });
    let s2 = server.clone();
    rt.spawn(async move {
        let _ = ferrodis_server::net::run(s2).await;
    });
    wait_until(
        LONG,
        || server.bound_port.load(Ordering::Relaxed) != 0,
        "the in-process server is bound",
    );
    let port = server.bound_port.load(Ordering::Relaxed) as u16;
    let mut s = raw(port);
    s.write_all(b"SYNC\r\n").unwrap_or_else(|e| panic!("{e}"));
    let head = read_line(&mut s);
    let len: usize = head[1..].parse().unwrap_or_else(|e| panic!("{head}: {e}"));
    read_exact(&mut s, len);
    assert_eq!(server.repl_master.count(), 1);
    server.replica_epoch.fetch_add(1, Ordering::AcqRel);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    wait_until(
        LONG,
        || server.repl_master.count() == 0,
        "the link is unregistered",
    );
    server.request_shutdown();
    rt.shutdown_timeout(Duration::from_secs(5));
}

/// Sends REPLCONF/PSYNC on a raw socket and returns the PSYNC reply line.
fn raw_psync(s: &mut std::net::TcpStream, psync2: bool, id: &str, off: &str) -> String {
    let capa: &[u8] = if psync2 {
        b"*3\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n"
    } else {
        b"*3\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\nxyz\r\n"
    };
    s.write_all(capa).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_line(s), "+OK");
    let cmd = format!(
        "*3\r\n$5\r\nPSYNC\r\n${}\r\n{id}\r\n${}\r\n{off}\r\n",
        id.len(),
        off.len()
    );
    s.write_all(cmd.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    read_line(s)
}

#[test]
fn psync_accepts_exactly_what_the_backlog_holds() {
    let m = master(&["--repl-backlog-size", "16kb"]);
    let mut mc = m.conn();
    mc.run("SET a 1");
    let f = info(&mut mc, "replication");
    let replid = f["master_replid"].clone();
    let end: u64 = f["master_repl_offset"].parse().unwrap_or(0);
    let first: u64 = f["repl_backlog_first_byte_offset"].parse().unwrap_or(0);
    assert_eq!(first, 1);
    // Everything from the first byte: +CONTINUE <replid> with psync2, then the bytes.
    let mut s = raw(m.port());
    assert_eq!(
        raw_psync(&mut s, true, &replid, "1"),
        format!("+CONTINUE {replid}")
    );
    let got = read_exact(&mut s, end as usize);
    assert!(got.starts_with(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n"));
    mc.run("SET b 2");
    read_until(&mut s, b"$1\r\nb\r\n$1\r\n2\r\n");
    // Nothing missing (offset = end + 1), without psync2: plain +CONTINUE.
    let end2: u64 = info(&mut mc, "replication")["master_repl_offset"]
        .parse()
        .unwrap_or(0);
    let mut s2 = raw(m.port());
    assert_eq!(
        raw_psync(&mut s2, false, &replid, &(end2 + 1).to_string()),
        "+CONTINUE"
    );
    mc.run("SET c 3");
    let got = read_until(&mut s2, b"$1\r\nc\r\n");
    assert!(got.starts_with(b"*3\r\n$3\r\nSET\r\n$1\r\nc"), "{got:?}");
    assert_eq!(stat(&mut mc, "sync_partial_ok"), 2);
    // Past the end, a wrong id, or bytes the backlog no longer holds: full resync.
    let mut s3 = raw(m.port());
    assert!(
        raw_psync(&mut s3, true, &replid, &(end2 + 1000).to_string()).starts_with("+FULLRESYNC")
    );
    let mut s4 = raw(m.port());
    let wrong = "0123456789012345678901234567890123456789";
    assert!(raw_psync(&mut s4, true, wrong, "1").starts_with("+FULLRESYNC"));
    let val = "v".repeat(1000);
    for i in 0..40 {
        mc.cmd(&["SET", &format!("fill{i}"), &val]);
    }
    drop((s, s2, s3, s4));
    wait_until(
        LONG,
        || info(&mut mc, "replication")["connected_slaves"] == "0",
        "the raw links are gone",
    );
    mc.run("SET d 4");
    let f = info(&mut mc, "replication");
    let first: u64 = f["repl_backlog_first_byte_offset"].parse().unwrap_or(0);
    assert!(first > 1, "the 16kb backlog has wrapped: {f:?}");
    let mut s5 = raw(m.port());
    assert!(raw_psync(&mut s5, true, &replid, &(first - 1).to_string()).starts_with("+FULLRESYNC"));
    let mut s6 = raw(m.port());
    assert_eq!(
        raw_psync(&mut s6, true, &replid, &first.to_string()),
        format!("+CONTINUE {replid}")
    );
    assert_eq!(stat(&mut mc, "sync_partial_err"), 3);
    assert_eq!(stat(&mut mc, "sync_partial_ok"), 3);
    // `PSYNC ? -1` is a full resync that does not count as a partial error.
    let mut s7 = raw(m.port());
    assert!(raw_psync(&mut s7, true, "?", "-1").starts_with("+FULLRESYNC"));
    assert_eq!(stat(&mut mc, "sync_partial_err"), 3);
}

#[test]
fn a_lagging_replica_blocks_writes_with_min_replicas() {
    let m = master(&[
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "2",
    ]);
    let mut mc = m.conn();
    assert_eq!(
        mc.run("SET k v"),
        "-NOREPLICAS Not enough good replicas to write."
    );
    let r = redis_replica(&m);
    wait_synced(&m, &[&r]);
    wait_until(LONG, || mc.run("SET k v") == "+OK", "writes accepted");
    assert_eq!(info(&mut mc, "replication")["min_slaves_good_slaves"], "1");
    ferrodis_test_support::signal(r.pid(), "STOP");
    wait_until(
        LONG,
        || mc.run("SET k v2").starts_with("-NOREPLICAS"),
        "writes refused while the replica is stopped",
    );
    assert_eq!(mc.run("GET k"), "$v2");
    ferrodis_test_support::signal(r.pid(), "CONT");
    wait_until(
        LONG,
        || mc.run("SET k v3") == "+OK",
        "writes accepted again",
    );
}

/// WAIT counts acknowledgements of the calling client's own last write (Redis's `woff`), not
/// of the log's end: a client that never wrote gets the replicas at once even while one is
/// frozen, and a writer's WAIT ignores other clients' later writes. Same transcript on a
/// ferrodis master and on a redis-server master.
#[test]
fn wait_is_about_the_clients_own_writes() {
    let masters = [
        master(&[]),
        TestServer::redis(&["--repl-diskless-sync-delay", "0"]),
    ];
    for m in &masters {
        let r = redis_replica(m);
        wait_synced(m, &[&r]);
        let (mut a, mut b) = (m.conn(), m.conn());
        assert_eq!(a.run("SET before 1"), "+OK");
        assert_eq!(a.run("WAIT 1 5000"), ":1", "{:?}", m.flavor());
        ferrodis_test_support::signal(r.pid(), "STOP");
        assert_eq!(a.run("SET during 1"), "+OK");
        let t = std::time::Instant::now();
        assert_eq!(a.run("WAIT 1 300"), ":0", "{:?}", m.flavor());
        assert!(t.elapsed() >= Duration::from_millis(250));
        // `b` never wrote: nothing of its own to wait for.
        let t = std::time::Instant::now();
        assert_eq!(b.run("WAIT 1 5000"), ":1", "{:?}", m.flavor());
        assert!(
            t.elapsed() < Duration::from_millis(2500),
            "{:?}",
            m.flavor()
        );
        ferrodis_test_support::signal(r.pid(), "CONT");
        assert_eq!(a.run("WAIT 1 10000"), ":1", "{:?}", m.flavor());
    }
}
