//! The replica side against real redis-server 7.0 masters (and a fake master for broken
//! payloads): full sync (disk and diskless), the live stream in several databases, expired
//! keys, restart and link loss with partial resync, master restart, masterauth, READONLY,
//! REPLICAOF NO ONE, INFO/ROLE fields, MASTERDOWN.

use ferrodis_test_support::{info_fields, show, text, wait_until, Conn, Frame, TestServer};
use std::collections::HashMap;
use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn redis_master(extra: &[&str]) -> TestServer {
    let mut args = vec!["--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    TestServer::redis(&args)
}

fn replica_of(master: &TestServer, extra: &[&str]) -> TestServer {
    let port = master.port().to_string();
    let mut args = vec!["--replicaof", "127.0.0.1", port.as_str()];
    args.extend_from_slice(extra);
    crate::start(&args)
}

fn info(c: &mut Conn, section: &str) -> HashMap<String, String> {
    info_fields(&c.cmd(&["INFO", section]))
}

fn field(c: &mut Conn, section: &str, name: &str) -> String {
    info(c, section).get(name).cloned().unwrap_or_default()
}

fn wait_link_up(r: &mut Conn) {
    wait_until(
        WAIT,
        || field(r, "replication", "master_link_status") == "up",
        "master_link_status:up on the replica",
    );
}

/// Waits until the replica applied everything the master wrote so far.
fn wait_offsets(m: &mut Conn, r: &mut Conn) {
    wait_until(
        WAIT,
        || {
            let mo = field(m, "replication", "master_repl_offset");
            let ro = field(r, "replication", "master_repl_offset");
            !mo.is_empty() && mo == ro && field(r, "replication", "master_link_status") == "up"
        },
        "equal master_repl_offset on master and replica",
    );
}

fn digest(c: &mut Conn) -> String {
    text(&c.cmd(&["DEBUG", "DIGEST"]))
}

fn stat(c: &mut Conn, name: &str) -> i64 {
    field(c, "stats", name).parse().unwrap_or(-1)
}

/// Every type in several databases, with and without expiry, small and large encodings.
fn populate(m: &mut Conn) {
    for db in ["0", "3", "9"] {
        assert_eq!(show(&m.cmd(&["SELECT", db])), "+OK");
        m.cmd(&["SET", "str", "hello"]);
        m.cmd(&["SET", "int", "12345"]);
        m.cmd(&["SET", "big", &"x".repeat(5000)]);
        m.cmd(&["SET", "ttl", "v", "PX", "3600000"]);
        m.cmd(&["RPUSH", "list", "a", "b", "c", "1", "2"]);
        for i in 0..300 {
            m.cmd(&["RPUSH", "biglist", &format!("element-{i}")]);
        }
        m.cmd(&["SADD", "intset", "1", "2", "3", "100000"]);
        m.cmd(&["SADD", "set", "a", "b", "c"]);
        for i in 0..200 {
            m.cmd(&["SADD", "bigset", &format!("m{i}")]);
            m.cmd(&["HSET", "bighash", &format!("f{i}"), &format!("v{i}")]);
            m.cmd(&["ZADD", "bigzset", &i.to_string(), &format!("z{i}")]);
        }
        m.cmd(&["HSET", "hash", "f1", "v1", "f2", "2"]);
        m.cmd(&["ZADD", "zset", "1.5", "a", "-2", "b", "3", "c"]);
        m.cmd(&["EXPIRE", "hash", "100000"]);
        m.cmd(&["XADD", "stream", "1-1", "f", "v"]);
    }
    m.cmd(&["SELECT", "0"]);
}

fn compare_values(m: &mut Conn, r: &mut Conn) {
    for db in ["0", "3", "9"] {
        m.cmd(&["SELECT", db]);
        r.cmd(&["SELECT", db]);
        for q in [
            vec!["GET", "str"],
            vec!["GET", "big"],
            vec!["LRANGE", "biglist", "0", "-1"],
            vec!["SMEMBERS", "intset"],
            vec!["HGETALL", "hash"],
            vec!["ZRANGE", "bigzset", "0", "-1", "WITHSCORES"],
            vec!["PTTL", "missing"],
            vec!["TYPE", "stream"],
        ] {
            let a = show(&m.cmd(&q));
            let b = show(&r.cmd(&q));
            if q[0] == "SMEMBERS" {
                let mut a: Vec<_> = a.split(", ").map(String::from).collect();
                let mut b: Vec<_> = b.split(", ").map(String::from).collect();
                a.sort();
                b.sort();
                assert_eq!(a, b, "{q:?} in db {db}");
            } else {
                assert_eq!(a, b, "{q:?} in db {db}");
            }
        }
        let ttl_m = show(&m.cmd(&["PTTL", "ttl"]));
        let ttl_r = show(&r.cmd(&["PTTL", "ttl"]));
        assert!(
            ttl_m.starts_with(':') && ttl_r.starts_with(':'),
            "{ttl_m} {ttl_r}"
        );
    }
    m.cmd(&["SELECT", "0"]);
    r.cmd(&["SELECT", "0"]);
}

fn live_writes(m: &mut Conn, tag: &str) {
    for db in ["0", "5", "15"] {
        m.cmd(&["SELECT", db]);
        m.cmd(&["SET", &format!("live:{tag}"), db]);
        m.cmd(&["INCR", "counter"]);
        m.cmd(&["LPUSH", "l", tag]);
        m.cmd(&["SET", &format!("ex:{tag}"), "1", "EX", "1000"]);
        m.cmd(&["MULTI"]);
        m.cmd(&["HSET", "h", tag, "1"]);
        m.cmd(&["SADD", "s", tag]);
        m.cmd(&["EXEC"]);
        m.cmd(&["DEL", "nosuchkey"]);
    }
    m.cmd(&["SELECT", "0"]);
}

fn full_sync_case(diskless: bool) {
    let master = redis_master(&["--repl-diskless-sync", if diskless { "yes" } else { "no" }]);
    let mut m = master.conn();
    populate(&mut m);
    let replica = replica_of(&master, &[]);
    let mut r = replica.conn();
    wait_offsets(&mut m, &mut r);
    assert_eq!(digest(&mut m), digest(&mut r), "digest after full sync");
    compare_values(&mut m, &mut r);
    assert_eq!(stat(&mut m, "sync_full"), 1);

    // INFO and ROLE while connected.
    let f = info(&mut r, "replication");
    assert_eq!(f["role"], "slave");
    assert_eq!(f["master_host"], "127.0.0.1");
    assert_eq!(f["master_port"], master.port().to_string());
    assert_eq!(f["master_sync_in_progress"], "0");
    assert_eq!(f["slave_read_only"], "1");
    assert!(!f.contains_key("master_link_down_since_seconds"));
    let role = r.cmd(&["ROLE"]);
    let Frame::Array(v) = &role else {
        panic!("ROLE: {}", show(&role))
    };
    assert_eq!(show(&v[0]), "$slave");
    assert_eq!(show(&v[2]), format!(":{}", master.port()));
    assert_eq!(show(&v[3]), "$connected");
    assert!(
        matches!(v[4], Frame::Integer(n) if n >= 0),
        "{}",
        show(&role)
    );
    // Field order of the role:slave block.
    let text = text(&r.cmd(&["INFO", "replication"]));
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .take(11)
        .collect();
    assert_eq!(
        names,
        [
            "role",
            "master_host",
            "master_port",
            "master_link_status",
            "master_last_io_seconds_ago",
            "master_sync_in_progress",
            "slave_read_repl_offset",
            "slave_repl_offset",
            "slave_priority",
            "slave_read_only",
            "replica_announced"
        ]
    );

    // Writes from clients are refused; the stream is applied in every database.
    assert_eq!(
        show(&r.cmd(&["SET", "x", "1"])),
        "-READONLY You can't write against a read only replica."
    );
    live_writes(&mut m, "a");
    m.cmd(&["FLUSHDB"]);
    live_writes(&mut m, "b");
    wait_offsets(&mut m, &mut r);
    assert_eq!(digest(&mut m), digest(&mut r), "digest after live writes");
    r.cmd(&["SELECT", "15"]);
    assert_eq!(show(&r.cmd(&["GET", "counter"])), "$2");
    assert_eq!(show(&r.cmd(&["GET", "live:b"])), "$15");
    // The redis master saw our ACKs with our applied offset.
    let mo = field(&mut m, "replication", "master_repl_offset");
    wait_until(
        WAIT,
        || field(&mut m, "replication", "slave0").contains(&format!("offset={mo}")),
        "the master to see our ACK offset",
    );
}

#[test]
fn full_sync_from_diskless_redis_master() {
    full_sync_case(true);
}

#[test]
fn full_sync_from_disk_redis_master() {
    full_sync_case(false);
}

/// Reference §5: commands from the master act on logically expired keys.
#[test]
fn master_commands_see_expired_keys_as_live() {
    let master = redis_master(&[]);
    let mut m = master.conn();
    m.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let replica = replica_of(&master, &[]);
    let mut r = replica.conn();
    wait_link_up(&mut r);
    m.cmd(&["SET", "k", "10", "PX", "300"]);
    wait_offsets(&mut m, &mut r);
    // Logically expired on the replica: hidden from reads but kept.
    wait_until(
        WAIT,
        || show(&r.cmd(&["GET", "k"])) == "nil",
        "k to expire logically on the replica",
    );
    assert_eq!(show(&r.cmd(&["DBSIZE"])), ":1");
    // The master's stream increments the stored value, then makes it persistent.
    m.cmd(&["DEBUG", "REPLICATE", "INCR", "k"]);
    m.cmd(&["DEBUG", "REPLICATE", "PERSIST", "k"]);
    wait_offsets(&mut m, &mut r);
    assert_eq!(show(&r.cmd(&["GET", "k"])), "$11");
}

#[test]
fn replica_restart_continues_with_partial_resync() {
    let master = redis_master(&[]);
    let mut m = master.conn();
    populate(&mut m);
    let mut replica = replica_of(&master, &["--save", "3600 1"]);
    let mut r = replica.conn();
    wait_offsets(&mut m, &mut r);
    live_writes(&mut m, "before");
    m.cmd(&["SELECT", "7"]);
    m.cmd(&["SET", "in7", "x"]);
    wait_offsets(&mut m, &mut r);
    let full = stat(&mut m, "sync_full");
    let partial = stat(&mut m, "sync_partial_ok");
    drop(r);
    replica.restart();
    // Writes while the replica restarts land in the master's backlog; the stream is still
    // in db 7 (no SELECT will be sent again).
    m.cmd(&["SET", "after-restart", "y"]);
    let mut r = replica.conn();
    wait_offsets(&mut m, &mut r);
    assert_eq!(stat(&mut m, "sync_full"), full, "no new full sync");
    assert!(
        stat(&mut m, "sync_partial_ok") > partial,
        "a partial resync"
    );
    assert_eq!(digest(&mut m), digest(&mut r));
    r.cmd(&["SELECT", "7"]);
    assert_eq!(show(&r.cmd(&["GET", "after-restart"])), "$y");
    assert!(replica
        .log()
        .contains("Successful partial resynchronization"));
}

#[test]
fn killed_link_reconnects_with_partial_resync() {
    let master = redis_master(&[]);
    let mut m = master.conn();
    let replica = replica_of(&master, &[]);
    let mut r = replica.conn();
    live_writes(&mut m, "1");
    wait_offsets(&mut m, &mut r);
    let partial = stat(&mut m, "sync_partial_ok");
    for round in 0..3 {
        m.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
        live_writes(&mut m, &format!("k{round}"));
        wait_offsets(&mut m, &mut r);
    }
    assert_eq!(stat(&mut m, "sync_full"), 1);
    assert!(stat(&mut m, "sync_partial_ok") >= partial + 3);
    assert_eq!(digest(&mut m), digest(&mut r));
    // And from our side: CLIENT KILL TYPE master drops the link, which comes back.
    let before = stat(&mut m, "sync_partial_ok");
    assert_eq!(show(&r.cmd(&["CLIENT", "KILL", "TYPE", "master"])), ":1");
    wait_until(
        WAIT,
        || stat(&mut m, "sync_partial_ok") > before,
        "a partial resync after CLIENT KILL TYPE master",
    );
    live_writes(&mut m, "end");
    wait_offsets(&mut m, &mut r);
    assert_eq!(digest(&mut m), digest(&mut r));
}

#[test]
fn master_restart_and_down_link_fields() {
    let mut master = redis_master(&["--save", "3600 1"]);
    let mut m = master.conn();
    populate(&mut m);
    let replica = replica_of(&master, &["--repl-timeout", "5"]);
    let mut r = replica.conn();
    wait_offsets(&mut m, &mut r);
    drop(m);
    master.stop();
    // Link down: INFO and ROLE say so; stale data is still served by default.
    wait_until(
        WAIT,
        || field(&mut r, "replication", "master_link_status") == "down",
        "the link to go down",
    );
    let f = info(&mut r, "replication");
    assert!(f.contains_key("master_link_down_since_seconds"), "{f:?}");
    assert_eq!(f["master_last_io_seconds_ago"], "-1");
    let role = r.cmd(&["ROLE"]);
    let Frame::Array(v) = &role else {
        panic!("{}", show(&role))
    };
    let state = show(&v[3]);
    assert!(
        ["$connect", "$connecting", "$handshake"].contains(&state.as_str()),
        "{state}"
    );
    assert_eq!(show(&v[4]), ":-1");
    assert_eq!(show(&r.cmd(&["GET", "str"])), "$hello");
    assert_eq!(
        show(&r.cmd(&["CONFIG", "SET", "replica-serve-stale-data", "no"])),
        "+OK"
    );
    assert_eq!(
        show(&r.cmd(&["GET", "str"])),
        "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    );
    assert_eq!(show(&r.cmd(&["PING"])), "+PONG");
    r.cmd(&["CONFIG", "SET", "replica-serve-stale-data", "yes"]);

    // The master comes back on the same port with its RDB: the replica reconnects by itself
    // and continues with a partial resync (the restarted master keeps the old id as replid2).
    master.restart_same_port();
    let mut m = master.conn();
    m.cmd(&["SET", "after", "master-restart"]);
    wait_offsets(&mut m, &mut r);
    assert_eq!(digest(&mut m), digest(&mut r));
    assert_eq!(
        stat(&mut m, "sync_full"),
        0,
        "no full sync after the master restart"
    );
    assert_eq!(stat(&mut m, "sync_partial_ok"), 1);
    let port = master.port().to_string();
    assert_eq!(
        show(&r.cmd(&["REPLICAOF", "127.0.0.1", &port])),
        "+OK Already connected to specified master"
    );
    assert_eq!(show(&r.cmd(&["GET", "after"])), "$master-restart");
}

#[test]
fn masterauth_against_requirepass_master() {
    let master = redis_master(&["--requirepass", "s3cret"]);
    let mut m = master.conn();
    assert_eq!(show(&m.cmd(&["AUTH", "s3cret"])), "+OK");
    m.cmd(&["SET", "a", "1"]);
    // Wrong password: the link stays down and the log says why.
    let bad = replica_of(&master, &["--masterauth", "wrong"]);
    wait_until(
        WAIT,
        || bad.log().contains("Unable to AUTH to MASTER"),
        "the AUTH failure in the log",
    );
    assert_eq!(
        field(&mut bad.conn(), "replication", "master_link_status"),
        "down"
    );
    let good = replica_of(&master, &["--masterauth", "s3cret"]);
    let mut r = good.conn();
    wait_offsets(&mut m, &mut r);
    assert_eq!(show(&r.cmd(&["GET", "a"])), "$1");
}

#[test]
fn replicaof_no_one_promotes() {
    let master = redis_master(&[]);
    let mut m = master.conn();
    m.cmd(&["SET", "a", "1"]);
    let replica = replica_of(&master, &[]);
    let mut r = replica.conn();
    wait_offsets(&mut m, &mut r);
    assert_eq!(
        show(&r.cmd(&["REPLICAOF", "127.0.0.1", "99999"])),
        "-ERR Invalid master port"
    );
    assert_eq!(
        show(&r.cmd(&["REPLICAOF", "127.0.0.1", "x"])),
        "-ERR value is not an integer or out of range"
    );
    let before = info(&mut r, "replication");
    assert_eq!(show(&r.cmd(&["SLAVEOF", "NO", "ONE"])), "+OK");
    let after = info(&mut r, "replication");
    assert_eq!(after["role"], "master");
    assert_eq!(after["master_replid2"], before["master_replid"]);
    assert_ne!(after["master_replid"], before["master_replid"]);
    let off: i64 = before["master_repl_offset"].parse().unwrap_or(-1);
    assert_eq!(after["second_repl_offset"], (off + 1).to_string());
    assert_eq!(show(&r.cmd(&["SET", "b", "2"])), "+OK");
    assert_eq!(show(&r.cmd(&["GET", "a"])), "$1");
    // A client blocked on the (now) master is released when it becomes a replica again.
    let mut blocked = replica.conn();
    blocked.send(&["BLPOP", "nolist", "0"]);
    wait_until(
        WAIT,
        || field(&mut r, "clients", "blocked_clients") == "1",
        "the BLPOP to block",
    );
    assert_eq!(show(&r.cmd(&["REPLICAOF", "NO", "ONE"])), "+OK");
    // Master writes no longer arrive.
    m.cmd(&["SET", "a", "changed"]);
    assert_eq!(show(&r.cmd(&["GET", "a"])), "$1");
    let role = r.cmd(&["ROLE"]);
    assert_eq!(show(&role).split(", ").next(), Some("[$master"));
    // Becoming a replica again: our history is unknown to the master, so a full sync.
    let port = master.port().to_string();
    assert_eq!(show(&r.cmd(&["REPLICAOF", "localhost", &port])), "+OK");
    assert_eq!(
        show(&blocked.read_frame()),
        "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
    );
    wait_offsets(&mut m, &mut r);
    assert_eq!(show(&r.cmd(&["GET", "a"])), "$changed");
    assert_eq!(show(&r.cmd(&["GET", "b"])), "nil");
}

/// Reads one RESP command sent by the replica.
fn read_cmd(c: &mut Conn) -> Vec<String> {
    match c.read_frame() {
        Frame::Array(v) => v
            .iter()
            .map(|f| String::from_utf8_lossy(f.as_bytes().unwrap_or(b"?")).into_owned())
            .collect(),
        f => panic!("expected a command, got {}", show(&f)),
    }
}

/// Plays the master's side of the handshake up to the PSYNC, answering +OK.
fn fake_handshake(c: &mut Conn) -> Vec<String> {
    assert_eq!(read_cmd(c), ["PING"]);
    c.send_raw(b"+PONG\r\n");
    let port = read_cmd(c);
    assert_eq!(port[..2], ["REPLCONF", "listening-port"]);
    c.send_raw(b"+OK\r\n");
    assert_eq!(read_cmd(c), ["REPLCONF", "capa", "eof", "capa", "psync2"]);
    c.send_raw(b"+OK\r\n");
    let psync = read_cmd(c);
    assert_eq!(psync[0], "PSYNC");
    psync
}

/// A fake master sends a corrupt payload, then a truncated one, then a good one followed by
/// a stream with GETACK: the replica logs each failure, keeps serving, and retries.
#[test]
fn fake_master_corrupt_and_truncated_rdb() {
    // A valid RDB made by redis itself.
    let src = TestServer::redis(&[] as &[&str]);
    let mut s = src.conn();
    s.cmd(&["SET", "from-rdb", "1"]);
    s.cmd(&["SAVE"]);
    let rdb = std::fs::read(src.dir().join("dump.rdb")).unwrap_or_default();
    assert!(rdb.starts_with(b"REDIS"), "dump.rdb from redis");

    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("bind a fake master: {e}"),
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let replica = crate::start(&["--replicaof", "127.0.0.1", &port.to_string()]);
    let id = "a".repeat(40);
    let accept = || {
        let (sock, _) = listener.accept().unwrap_or_else(|e| panic!("accept: {e}"));
        Conn::from_stream(sock)
    };

    // 1. Corrupt payload (right length, garbage content).
    let mut c = accept();
    fake_handshake(&mut c);
    c.send_raw(format!("+FULLRESYNC {id} 100\r\n\n\n").as_bytes());
    let garbage = b"REDIS0010this is not an rdb file at all";
    c.send_raw(format!("${}\r\n", garbage.len()).as_bytes());
    c.send_raw(garbage);
    let mut r = replica.conn();
    wait_until(
        WAIT,
        || {
            replica
                .log()
                .contains("Failed trying to load the MASTER synchronization DB")
        },
        "the load failure in the replica's log",
    );
    assert_eq!(show(&r.cmd(&["PING"])), "+PONG");
    drop(c);

    // 2. Truncated EOF-marked payload: the connection closes mid-transfer.
    let mut c = accept();
    let psync = fake_handshake(&mut c);
    assert_eq!(
        psync,
        ["PSYNC", "?", "-1"],
        "no history after a failed load"
    );
    c.send_raw(format!("+FULLRESYNC {id} 100\r\n").as_bytes());
    c.send_raw(format!("$EOF:{}\r\n", "b".repeat(40)).as_bytes());
    c.send_raw(&rdb[..rdb.len() / 2]);
    // Mid-transfer: INFO shows the transfer fields, ROLE says `sync`.
    wait_until(
        WAIT,
        || field(&mut r, "replication", "master_sync_in_progress") == "1",
        "master_sync_in_progress:1",
    );
    let f = info(&mut r, "replication");
    assert_eq!(f["master_sync_total_bytes"], "0", "{f:?}");
    assert!(f.contains_key("master_sync_read_bytes"), "{f:?}");
    assert!(f.contains_key("master_sync_perc"), "{f:?}");
    assert!(f.contains_key("master_sync_last_io_seconds_ago"), "{f:?}");
    assert!(show(&r.cmd(&["ROLE"])).contains("$sync"));
    drop(c);
    wait_until(
        WAIT,
        || {
            replica
                .log()
                .contains("I/O error trying to sync with MASTER")
        },
        "the truncated transfer in the replica's log",
    );
    assert_eq!(show(&r.cmd(&["PING"])), "+PONG");

    // 3. PSYNC refused: the legacy SYNC on the same connection, `$len` framing.
    let mut c = accept();
    fake_handshake(&mut c);
    c.send_raw(b"-ERR unknown command 'PSYNC'\r\n");
    let mut inline = [0u8; 6];
    let mut got = 0;
    while got < 6 {
        match c.stream().read(&mut inline[got..]) {
            Ok(0) | Err(_) => panic!("the replica closed instead of sending SYNC"),
            Ok(n) => got += n,
        }
    }
    assert_eq!(&inline, b"SYNC\r\n");
    c.send_raw(format!("\n${}\r\n", rdb.len()).as_bytes());
    c.send_raw(&rdb);
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$4\r\nsync\r\n$3\r\nyes\r\n");
    wait_until(
        WAIT,
        || show(&r.cmd(&["GET", "sync"])) == "$yes",
        "the stream after a legacy SYNC",
    );
    assert_eq!(show(&r.cmd(&["GET", "from-rdb"])), "$1");
    drop(c);

    // 4. A good payload, then a stream: SET, MULTI/EXEC, GETACK.
    let mut c = accept();
    fake_handshake(&mut c);
    c.send_raw(format!("+FULLRESYNC {id} 100\r\n").as_bytes());
    let mark = "c".repeat(40);
    c.send_raw(format!("$EOF:{mark}\r\n").as_bytes());
    c.send_raw(&rdb);
    c.send_raw(mark.as_bytes());
    // The first ACK comes at once after an EOF-marked load.
    assert_eq!(read_cmd(&mut c), ["REPLCONF", "ACK", "100"]);
    let select = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
    let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    let multi = b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n";
    let exec = b"*1\r\n$4\r\nEXEC\r\n";
    let getack = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";
    let mut stream = Vec::new();
    stream.extend_from_slice(select);
    stream.extend_from_slice(set);
    stream.extend_from_slice(multi);
    c.send_raw(&stream);
    // Inside the MULTI the applied offset stops before it.
    c.send_raw(getack);
    let expect = 100 + select.len() + set.len();
    loop {
        let ack = read_cmd(&mut c);
        assert_eq!(ack[..2], ["REPLCONF", "ACK"]);
        if ack[2] == expect.to_string() {
            break;
        }
        // A periodic ACK may come first; it can only be behind.
        let n: usize = ack[2].parse().unwrap_or(0);
        assert!(n <= expect, "ACK {n} past {expect}");
    }
    c.send_raw(exec);
    c.send_raw(getack);
    let expect = expect + multi.len() + getack.len() + exec.len();
    loop {
        let ack = read_cmd(&mut c);
        if ack[2] == expect.to_string() {
            break;
        }
    }
    let mut r = replica.conn();
    assert_eq!(show(&r.cmd(&["GET", "from-rdb"])), "$1");
    assert_eq!(show(&r.cmd(&["GET", "k"])), "$v");
    assert_eq!(show(&r.cmd(&["GET", "n"])), "$1");
    let f = info(&mut r, "replication");
    assert_eq!(f["master_link_status"], "up");
    assert_eq!(f["master_replid"], id);
    assert_eq!(f["master_repl_offset"], (expect + getack.len()).to_string());
    // An error from the master's stream is logged, not sent back.
    c.send_raw(b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
    wait_until(
        WAIT,
        || {
            replica
                .log()
                .contains("== CRITICAL == This replica is sending an error to its master")
        },
        "the CRITICAL line",
    );
    c.stream().set_nonblocking(true).ok();
    let mut buf = [0u8; 256];
    let mut got = Vec::new();
    if let Ok(n) = c.stream().read(&mut buf) {
        got.extend_from_slice(&buf[..n]);
    }
    assert!(
        !String::from_utf8_lossy(&got).contains("-ERR"),
        "no error reply to the master: {:?}",
        String::from_utf8_lossy(&got)
    );
    c.stream().set_nonblocking(false).ok();

    // 5. A silent master times out; the replica comes back asking to continue its history.
    let applied: usize = field(&mut r, "replication", "master_repl_offset")
        .parse()
        .unwrap_or(0);
    assert_eq!(show(&r.cmd(&["CONFIG", "SET", "repl-timeout", "1"])), "+OK");
    wait_until(
        WAIT,
        || {
            replica
                .log()
                .contains("MASTER timeout: no data nor PING received")
        },
        "the MASTER timeout line",
    );
    let mut c2 = accept();
    let psync = fake_handshake(&mut c2);
    assert_eq!(psync, ["PSYNC", id.as_str(), &(applied + 1).to_string()]);
    drop(c);
}

/// `repl-diskless-load on-empty-db`: an empty replica parses the payload from the socket
/// (EOF-marked and `$len` framing); no temp file is written.
#[test]
fn diskless_load_on_empty_db() {
    for diskless_master in ["yes", "no"] {
        let master = redis_master(&["--repl-diskless-sync", diskless_master]);
        let mut m = master.conn();
        populate(&mut m);
        let replica = replica_of(&master, &["--repl-diskless-load", "on-empty-db"]);
        let mut r = replica.conn();
        wait_offsets(&mut m, &mut r);
        assert_eq!(
            digest(&mut m),
            digest(&mut r),
            "master diskless {diskless_master}"
        );
        assert!(
            replica.log().contains("to parser"),
            "loaded from the socket:\n{}",
            replica.log()
        );
        assert!(!replica.dir().join("dump.rdb").exists());
        live_writes(&mut m, "x");
        wait_offsets(&mut m, &mut r);
        assert_eq!(digest(&mut m), digest(&mut r));
    }
}

/// A full sync and link losses while the master takes writes in several databases: the
/// stream that follows the payload (and the backlog after a reconnect) must be applied from
/// the exact byte the RDB ended at. Local writes on a writable replica are not propagated.
#[test]
fn sync_under_write_load() {
    for diskless in ["yes", "no"] {
        let master = redis_master(&["--repl-diskless-sync", diskless]);
        let mut m = master.conn();
        m.cmd(&["DEBUG", "POPULATE", "20000", "key", "100"]);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            let port = master.port();
            std::thread::spawn(move || {
                let mut w = Conn::connect(port);
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let db = (n % 4).to_string();
                    w.cmd(&["SELECT", &db]);
                    w.cmd(&["INCR", "counter"]);
                    w.cmd(&["SET", &format!("w{}", n % 500), &n.to_string()]);
                    w.cmd(&["RPUSH", "list", &n.to_string()]);
                    w.cmd(&["MULTI"]);
                    w.cmd(&["HINCRBY", "hash", &format!("f{}", n % 50), "1"]);
                    w.cmd(&["ZINCRBY", "zset", "1", &format!("m{}", n % 50)]);
                    w.cmd(&["EXEC"]);
                    n += 1;
                }
                n
            })
        };
        let replica = replica_of(&master, &[]);
        let mut r = replica.conn();
        wait_link_up(&mut r);
        for _ in 0..2 {
            m.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
            wait_link_up(&mut r);
        }
        assert_eq!(
            show(&r.cmd(&["CONFIG", "SET", "replica-read-only", "no"])),
            "+OK"
        );
        assert_eq!(show(&r.cmd(&["SET", "local-only", "1"])), "+OK");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let n = writer.join().unwrap_or(0);
        assert!(n > 0);
        assert_eq!(show(&r.cmd(&["DEL", "local-only"])), ":1");
        wait_offsets(&mut m, &mut r);
        assert_eq!(digest(&mut m), digest(&mut r), "master diskless {diskless}");
    }
}
