//! Differential test of keyspace notifications (`notify-keyspace-events KEA`) for the hash,
//! set, sorted-set, bitmap and SORT commands: one script runs against ferrodis and against a
//! real `redis-server` (7.0), with a `PSUBSCRIBE __key*__:*` connection listening. After each
//! command the script publishes a marker on another channel and collects every notification
//! that arrived before it, so the exact event sequence of each command (including "no event")
//! is compared, along with the replies. Fails (does not skip) without redis-server.

#![allow(clippy::unwrap_used)] // test binary: a failed setup step should just panic

use ferrodis_test_support::{show, wait_until, Conn, Frame, TestServer};
use std::time::Duration;

const SCRIPT: &[&str] = &[
    // Hashes.
    "HSET h a 1 b 2",
    "HSET h a 1",
    "HMSET h c 3",
    "HSETNX h a 9",
    "HSETNX h z 9",
    "HSETNX newh f v",
    "HINCRBY h n 5",
    "HINCRBY h n 0",
    "HINCRBYFLOAT h f 1.5",
    "HINCRBY h a x",
    "HINCRBYFLOAT h a x",
    "HDEL h nosuch",
    "HDEL h a b",
    "HDEL h c z n f",
    "HDEL missing a",
    "HSET h x",
    "SET str v",
    "HSET str a 1",
    "HDEL newh f",
    // Sets.
    "SADD s a b c",
    "SADD s a",
    "SREM s x",
    "SREM s a",
    "SREM nosuch a",
    "SADD s2 b x",
    "SMOVE s s2 b",
    "SMOVE s s3 c",
    "SMOVE s3 s3 c",
    "SMOVE nosuch s3 c",
    "SMOVE s2 s3 nosuch",
    "SADD t 1 2 3",
    "SINTERSTORE d s2 s3",
    "SUNIONSTORE d s2 s3",
    "SINTERSTORE d s2 nosuch",
    "SDIFFSTORE d s2 s3",
    "SDIFFSTORE d s3 s3",
    "SINTERSTORE d s2 t",
    "SUNIONSTORE d nosuch",
    "SUNIONSTORE d t",
    "SINTERSTORE d t",
    "SADD one x",
    "SPOP one",
    "SPOP t 0",
    "SPOP t 2",
    "SPOP t 5",
    "SPOP nosuch",
    "SPOP nosuch 3",
    "SADD str x",
    "SREM s2 b x",
    // Sorted sets.
    "ZADD z 1 a 2 b 3 c",
    "ZADD z 1 a",
    "ZADD z CH 5 a",
    "ZADD z NX 9 a",
    "ZADD z XX 9 q",
    "ZADD zx XX 1 q",
    "ZADD z INCR 1 a",
    "ZADD z INCR 0 a",
    "ZADD z GT 1 a",
    "ZADD z LT 1 a",
    "ZINCRBY z 2 b",
    "ZINCRBY z 0 b",
    "ZINCRBY zz 0 m",
    "ZINCRBY z x b",
    "ZREM z nosuch",
    "ZREM z b",
    "ZREM nosuch a",
    "ZADD z 10 d 11 e 12 f 13 g",
    "ZREMRANGEBYSCORE z 100 200",
    "ZREMRANGEBYSCORE z 10 11",
    "ZREMRANGEBYRANK z 0 0",
    "ZREMRANGEBYRANK z 50 60",
    "ZADD lx 0 a 0 b 0 c",
    "ZREMRANGEBYLEX lx [a [b",
    "ZREMRANGEBYLEX lx [x [y",
    "ZREMRANGEBYLEX lx - +",
    "ZREMRANGEBYSCORE zz -inf +inf",
    "ZPOPMIN z",
    "ZPOPMAX z 1",
    "ZPOPMIN z 0",
    "ZPOPMIN nosuch",
    "ZMPOP 2 nosuch z MIN COUNT 10",
    "ZMPOP 1 nosuch MAX",
    "ZADD z2 1 a 2 b",
    "BZPOPMAX z2 0",
    "BZPOPMIN z2 0",
    "ZADD z3 1 x 2 y",
    "BZMPOP 1 1 z3 MAX",
    "BZMPOP 1 1 z3 MIN COUNT 5",
    "ZADD u1 1 a 2 b",
    "ZADD u2 3 b 4 c",
    "ZUNIONSTORE out 2 u1 u2",
    "ZINTERSTORE out 2 u1 u2",
    "ZDIFFSTORE out 2 u1 u2",
    "ZINTERSTORE out 2 u1 nosuch",
    "ZINTERSTORE out 2 u1 nosuch",
    "ZRANGESTORE out u1 0 -1",
    "ZRANGESTORE out u1 5 10",
    "ZRANGESTORE out nosuch 0 -1",
    "ZRANGESTORE out u1 0 0",
    "ZRANGESTORE out nosuch 0 -1",
    "SADD ms b z",
    "ZUNIONSTORE out 2 u1 ms",
    "ZDIFFSTORE out 2 u1 u1",
    "ZADD str 1 a",
    // Bitmaps.
    "SETBIT b 7 1",
    "SETBIT b 7 1",
    "SETBIT b 7 0",
    "SETBIT b 7 0",
    "SETBIT b 100 0",
    "SETBIT b 100 0",
    "SETBIT b x 1",
    "SETBIT h2 1 1",
    "BITFIELD bf SET u8 0 255",
    "BITFIELD bf GET u8 0",
    "BITFIELD bf OVERFLOW FAIL INCRBY u8 0 10",
    "BITFIELD bf INCRBY u8 0 1",
    "BITFIELD bf SET u8 0 0 GET u8 0",
    "BITFIELD bf INCRBY u8 0 0",
    "BITFIELD bf SET u8 0 0 SET u8 8 1",
    "BITFIELD bf OVERFLOW FAIL INCRBY u8 0 300",
    "BITFIELD bf OVERFLOW FAIL INCRBY u8 64 -1",
    "BITFIELD bf2 OVERFLOW FAIL INCRBY u8 0 -1",
    "BITFIELD bf2 SET u8 0 0",
    "BITFIELD_RO bf GET u8 0",
    "BITFIELD nosuch GET u8 0",
    "BITOP OR dest b bf",
    "BITOP AND dest nosuch1 nosuch2",
    "BITOP AND dest nosuch1",
    "BITOP NOT dest b",
    "BITOP XOR dest b bf",
    "SETBIT ms 1 1",
    // SORT ... STORE.
    "RPUSH sl 3 1 2",
    "SORT sl STORE sd",
    "SORT sl",
    "SORT_RO sl",
    "SORT sl LIMIT 0 1 STORE sd",
    "SORT nosuch STORE sd",
    "SORT nosuch STORE sd",
    "SADD ss c a b",
    "SORT ss ALPHA STORE sd",
    "SORT u2 STORE sd",
    "SORT sl LIMIT 5 5 STORE sd",
    "SORT sl BY nosort STORE sd",
    // Another database: the channels carry its number.
    "SELECT 3",
    "HSET h a 1",
    "HDEL h a",
    "SADD s x",
    "SPOP s",
    "ZADD z 1 a",
    "ZPOPMAX z",
    "SETBIT b 0 1",
    "RPUSH l 1",
    "SORT l STORE l2",
    "SELECT 0",
    "FLUSHALL",
];

/// Replies that depend on random choices or set iteration order: only their events count.
fn masked(line: &str) -> bool {
    line.starts_with("SPOP t")
}

/// One step of a run: the command, its reply, and the notifications it produced.
#[derive(Debug, PartialEq)]
struct Step {
    cmd: String,
    reply: String,
    events: Vec<String>,
}

/// Publishes marker `i` and returns the notifications received before it.
fn events_until_marker(c: &mut Conn, sub: &mut Conn, i: usize, line: &str) -> Vec<String> {
    let tag = i.to_string();
    c.cmd(&["PUBLISH", "marker", &tag]);
    let mut events = Vec::new();
    loop {
        let Frame::Array(parts) = sub.read_frame() else {
            panic!("{line}: unexpected frame on the subscriber");
        };
        let part = |j: usize| parts.get(j).map(show).unwrap_or_default();
        assert_eq!(part(0), "$pmessage", "{line}: not a pmessage");
        if part(2) == "$marker" {
            assert_eq!(part(3), format!("${tag}"), "{line}: markers out of order");
            return events;
        }
        events.push(format!("{} {}", part(2), part(3)));
    }
}

fn run(port: u16) -> Vec<Step> {
    let (mut c, mut sub) = (Conn::connect(port), Conn::connect(port));
    c.cmd(&["FLUSHALL"]);
    assert_eq!(
        show(&c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"])),
        "+OK"
    );
    sub.send(&["PSUBSCRIBE", "__key*__:*", "marker"]);
    sub.read_frame();
    sub.read_frame();
    let mut steps = Vec::new();
    for (i, line) in SCRIPT.iter().enumerate() {
        let args: Vec<&str> = line.split_whitespace().collect();
        let reply = c.cmd(&args);
        let reply = if masked(line) {
            "<masked>".to_string()
        } else {
            show(&reply)
        };
        let events = events_until_marker(&mut c, &mut sub, i, line);
        steps.push(Step {
            cmd: line.to_string(),
            reply,
            events,
        });
    }
    // A blocked BZPOPMIN served by a ZADD from another client: zadd, then zpopmin and del.
    let mut b = Conn::connect(port);
    b.send(&["BZPOPMIN", "bz", "10"]);
    wait_until(
        Duration::from_secs(10),
        || show(&c.cmd(&["INFO", "clients"])).contains("blocked_clients:1"),
        "BZPOPMIN blocks",
    );
    let zadd = show(&c.cmd(&["ZADD", "bz", "1", "a"]));
    let served = show(&b.read_frame());
    steps.push(Step {
        cmd: "ZADD bz 1 a (serving a blocked BZPOPMIN)".into(),
        reply: format!("{zadd} / {served}"),
        events: events_until_marker(&mut c, &mut sub, SCRIPT.len(), "blocked BZPOPMIN"),
    });
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    steps
}

#[test]
fn diff_keyspace_notifications_hash_set_zset_bitmap_sort() {
    let ours = {
        let f = TestServer::start(env!("CARGO_BIN_EXE_ferrodis-server"), &[] as &[&str]);
        run(f.port())
    };
    let theirs = {
        let r = TestServer::redis(&[] as &[&str]);
        run(r.port())
    };
    assert_eq!(ours.len(), theirs.len());
    let diffs: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| {
            format!(
                "  {}\n    ferrodis: {} {:?}\n    redis:    {} {:?}",
                a.cmd, a.reply, a.events, b.reply, b.events
            )
        })
        .collect();
    assert!(
        diffs.is_empty(),
        "{} of {} steps differ from redis-server:\n{}",
        diffs.len(),
        ours.len(),
        diffs.join("\n")
    );
    // The script must really exercise notifications.
    let total: usize = theirs.iter().map(|s| s.events.len()).sum();
    assert!(total > 100, "only {total} notifications seen");
}
