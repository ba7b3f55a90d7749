//! Lists, blocking pops, MULTI/EXEC/WATCH and Pub/Sub over real TCP.
//!
//! Every scenario is a function of a port that returns the replies it saw; the differential
//! tests run it against ferrodis and against a real `redis-server` (7.0) and require the
//! replies to be identical. `redis-server` missing is a failure, not a skip.

use ferrodis_test_support::{Conn, Frame, TestServer};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn ferrodis() -> TestServer {
    TestServer::start::<&str>(env!("CARGO_BIN_EXE_ferrodis-server"), &[])
}

fn redis() -> TestServer {
    TestServer::redis::<&str>(&[])
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    }
}

/// Polls `cond` until it holds or `WAIT` passes; fails with `what`.
fn wait_until(cond: impl FnMut() -> bool, what: &str) {
    ferrodis_test_support::wait_until(WAIT, cond, what);
}

fn blocked_clients(c: &mut Conn) -> usize {
    let info = text(&c.cmd(&["INFO", "clients"]));
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO clients has blocked_clients")
}

fn wait_blocked(c: &mut Conn, n: usize) {
    wait_until(
        || blocked_clients(c) == n,
        &format!("{n} clients are blocked"),
    );
}

/// Runs `cmds` (whitespace-separated words) on one connection, collecting replies.
fn script(port: u16, cmds: &[&str]) -> Vec<(String, Frame)> {
    let mut c = Conn::connect(port);
    c.cmd(&["FLUSHALL"]);
    cmds.iter()
        .map(|line| {
            let args: Vec<&str> = line.split_whitespace().collect();
            let reply = c.cmd(&args);
            // HELLO's map carries the client id, which differs between servers.
            let reply = if args[0] == "HELLO" {
                Frame::Null
            } else {
                reply
            };
            (line.to_string(), reply)
        })
        .collect()
}

/// Runs `scenario` against ferrodis and redis-server and requires identical replies.
fn differential(name: &str, scenario: impl Fn(u16) -> Vec<(String, Frame)>) {
    let (f, r) = (ferrodis(), redis());
    let ours = scenario(f.port());
    let theirs = scenario(r.port());
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{name}: different number of steps"
    );
    let mut diffs = Vec::new();
    for ((step, a), (_, b)) in ours.iter().zip(&theirs) {
        if a != b {
            diffs.push(format!(
                "  {step}\n    ferrodis: {a:?}\n    redis:    {b:?}"
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{name}: replies differ from redis-server:\n{}",
        diffs.join("\n")
    );
}

const LIST_SCRIPT: &[&str] = &[
    "RPUSH l a b c d e",
    "LPUSH l z",
    "LPUSHX nx a",
    "RPUSHX l f",
    "LLEN l",
    "LRANGE l 0 -1",
    "LRANGE l -3 100",
    "LRANGE l 5 2",
    "LRANGE l x 2",
    "LINDEX l -1",
    "LINDEX l 100",
    "LSET l 0 Z",
    "LSET l 100 x",
    "LSET nx 0 x",
    "LINSERT l BEFORE c C",
    "LINSERT l AFTER nope x",
    "LINSERT nx AFTER a b",
    "LINSERT l middle a b",
    "RPUSH r a b a c a",
    "LREM r -2 a",
    "LRANGE r 0 -1",
    "LTRIM l 1 -2",
    "LRANGE l 0 -1",
    "LTRIM l 5 1",
    "EXISTS l",
    "RPUSH p a b c a b c a",
    "LPOS p a RANK 2",
    "LPOS p a RANK -1",
    "LPOS p a COUNT 0",
    "LPOS p a COUNT 2 RANK -1",
    "LPOS p a MAXLEN 2 COUNT 0",
    "LPOS p x",
    "LPOS p a RANK 0",
    "LPOS p a COUNT -1",
    "LPOS p a MAXLEN -1",
    "LPOS p a foo",
    "LPOP p",
    "RPOP p",
    "LPOP p 2",
    "RPOP p 0",
    "LPOP p -1",
    "LPOP nx 2",
    "LPOP nx",
    "LPOP p 100",
    "EXISTS p",
    "SET s x",
    "LPUSH s a",
    "LRANGE s 0 1",
    "RPUSH m1 a b c",
    "LMOVE m1 m2 LEFT RIGHT",
    "LMOVE m1 m2 RIGHT LEFT",
    "LRANGE m2 0 -1",
    "LMOVE m1 m1 LEFT RIGHT",
    "LMOVE nx m2 LEFT LEFT",
    "LMOVE m1 s LEFT LEFT",
    "LMOVE m1 m2 up LEFT",
    "RPOPLPUSH m1 m2",
    "EXISTS m1",
    "LMPOP 2 nx m2 LEFT",
    "LMPOP 2 nx m2 RIGHT COUNT 10",
    "LMPOP 1 nx LEFT",
    "LMPOP 0 l LEFT",
    "LMPOP 3 a b LEFT",
    "LMPOP 1 l LEFT COUNT 0",
    "LMPOP 1 l sideways",
    "BLPOP nx 0.01",
    "BLPOP l s 0",
    "BRPOP nx 0.01",
    "BLMOVE nx d LEFT LEFT 0.01",
    "BRPOPLPUSH nx d 0.01",
    "BLMPOP 0.01 1 nx LEFT",
    "BLMPOP -1 1 nx LEFT",
    "BLPOP nx -1",
    "BLPOP nx abc",
    "RPUSH e x",
    "OBJECT ENCODING e",
    "TYPE e",
    "HELLO 3",
    "LPOP nx 2",
    "BLPOP nx 0.01",
    "BLMOVE nx d LEFT LEFT 0.01",
];

#[test]
fn diff_lists() {
    differential("lists", |p| script(p, LIST_SCRIPT));
}

#[test]
fn diff_multi_exec() {
    let cmds = [
        "MULTI",
        "SET a 1",
        "INCR a",
        "LPUSH a x",
        "GET a",
        "EXEC",
        "EXEC",
        "DISCARD",
        "MULTI",
        "MULTI",
        "WATCH x",
        "EXEC",
        "MULTI",
        "SET a",
        "NOSUCHCOMMAND",
        "EXEC",
        "MULTI",
        "BLPOP nx 0",
        "BLMOVE nx y LEFT LEFT 0",
        "PING",
        "EXEC",
        "WATCH a",
        "SET a 2",
        "MULTI",
        "GET a",
        "EXEC",
        "WATCH b",
        "MULTI",
        "GET b",
        "EXEC",
        "HELLO 3",
        "MULTI",
        "SET c 1",
        "GET c",
        "EXEC",
        "WATCH c",
        "SET c 2",
        "MULTI",
        "EXEC",
    ];
    differential("multi", |p| script(p, &cmds));
}

#[test]
fn diff_watch_from_other_connections() {
    differential("watch", |p| {
        let (mut a, mut b) = (Conn::connect(p), Conn::connect(p));
        let mut out = Vec::new();
        let mut step = |c: &mut Conn, args: &[&str]| {
            out.push((args.join(" "), c.cmd(args)));
        };
        step(&mut a, &["FLUSHALL"]);
        step(&mut a, &["SET", "k", "1"]);
        step(&mut a, &["WATCH", "k"]);
        step(&mut b, &["SET", "k", "2"]);
        step(&mut a, &["MULTI"]);
        step(&mut a, &["INCR", "k"]);
        step(&mut a, &["EXEC"]);
        // Watched in another db: a write in db 0 does not touch it.
        step(&mut a, &["SELECT", "1"]);
        step(&mut a, &["WATCH", "k"]);
        step(&mut b, &["SET", "k", "3"]);
        step(&mut a, &["MULTI"]);
        step(&mut a, &["GET", "k"]);
        step(&mut a, &["EXEC"]);
        // FLUSHALL touches existing watched keys.
        step(&mut a, &["SET", "w", "1"]);
        step(&mut a, &["WATCH", "w"]);
        step(&mut b, &["FLUSHALL"]);
        step(&mut a, &["MULTI"]);
        step(&mut a, &["PING"]);
        step(&mut a, &["EXEC"]);
        // Not for missing keys.
        step(&mut a, &["WATCH", "missing"]);
        step(&mut b, &["FLUSHDB"]);
        step(&mut a, &["MULTI"]);
        step(&mut a, &["PING"]);
        step(&mut a, &["EXEC"]);
        // UNWATCH forgets.
        step(&mut a, &["WATCH", "u"]);
        step(&mut a, &["UNWATCH"]);
        step(&mut b, &["SELECT", "1"]);
        step(&mut b, &["SET", "u", "1"]);
        step(&mut a, &["MULTI"]);
        step(&mut a, &["PING"]);
        step(&mut a, &["EXEC"]);
        // Expiry of a watched key aborts.
        step(&mut a, &["SET", "x", "1", "PX", "30"]);
        step(&mut a, &["WATCH", "x"]);
        wait_until(
            || matches!(b.cmd(&["PTTL", "x"]), Frame::Integer(-2)),
            "x expires",
        );
        step(&mut a, &["MULTI"]);
        step(&mut a, &["PING"]);
        step(&mut a, &["EXEC"]);
        out
    });
}

/// Reads one message from a subscriber (a push or an array).
fn msg(c: &mut Conn) -> (String, Frame) {
    ("<message>".into(), c.read_reply("a pub/sub message"))
}

#[test]
fn diff_pubsub() {
    differential("pubsub", |p| {
        let (mut s, mut publ, mut s3) = (Conn::connect(p), Conn::connect(p), Conn::connect(p));
        let mut out = Vec::new();
        s.send(&["SUBSCRIBE", "a", "b"]);
        out.push(msg(&mut s));
        out.push(msg(&mut s));
        for args in [
            &["GET", "x"][..],
            &["PING"],
            &["PING", "hi"],
            &["PSUBSCRIBE", "z*"],
        ] {
            out.push((args.join(" "), s.cmd(args)));
        }
        out.push((
            "PUBLISH a hello".into(),
            publ.cmd(&["PUBLISH", "a", "hello"]),
        ));
        out.push(msg(&mut s));
        out.push(("PUBLISH zz hey".into(), publ.cmd(&["PUBLISH", "zz", "hey"])));
        out.push(msg(&mut s));
        out.push(("NUMPAT".into(), publ.cmd(&["PUBSUB", "NUMPAT"])));
        out.push((
            "NUMSUB".into(),
            publ.cmd(&["PUBSUB", "NUMSUB", "a", "b", "c"]),
        ));
        out.push((
            "CHANNELS a*".into(),
            publ.cmd(&["PUBSUB", "CHANNELS", "a*"]),
        ));
        s.send(&["UNSUBSCRIBE", "a", "b"]);
        out.push(msg(&mut s));
        out.push(msg(&mut s));
        out.push(("PUNSUBSCRIBE".into(), s.cmd(&["PUNSUBSCRIBE"])));
        out.push(("GET x".into(), s.cmd(&["GET", "x"])));
        out.push(("UNSUBSCRIBE".into(), s.cmd(&["UNSUBSCRIBE"])));
        // RESP3: pushes, and normal commands stay allowed.
        out.push(("HELLO 3".into(), {
            s3.cmd(&["HELLO", "3"]);
            Frame::Null
        }));
        out.push(("SUBSCRIBE c".into(), s3.cmd(&["SUBSCRIBE", "c"])));
        out.push(("GET x".into(), s3.cmd(&["GET", "x"])));
        out.push(("PING".into(), s3.cmd(&["PING"])));
        out.push(("PUBLISH c m".into(), publ.cmd(&["PUBLISH", "c", "m"])));
        out.push(msg(&mut s3));
        out.push(("RESET".into(), s3.cmd(&["RESET"])));
        out.push(("NUMSUB c".into(), publ.cmd(&["PUBSUB", "NUMSUB", "c"])));
        out
    });
}

#[test]
fn diff_keyspace_notifications() {
    differential("notifications", |p| {
        let (mut c, mut s) = (Conn::connect(p), Conn::connect(p));
        c.cmd(&["FLUSHALL"]);
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        let mut out = vec![("PSUBSCRIBE".into(), s.cmd(&["PSUBSCRIBE", "__key*"]))];
        let steps: &[(&[&str], usize)] = &[
            (&["SET", "foo", "bar"], 2),
            (&["RPUSH", "L", "a", "b"], 2),
            (&["LPOP", "L", "2"], 4),
            (&["EXPIRE", "foo", "100"], 2),
            (&["RENAME", "foo", "foo2"], 4),
            (&["INCR", "n"], 2),
            (&["APPEND", "foo2", "x"], 2),
            (&["DEL", "foo2", "n"], 4),
            (&["LPUSH", "m", "a"], 2),
            (&["LMOVE", "m", "m2", "LEFT", "RIGHT"], 6),
            (&["SET", "e", "1", "PX", "1"], 4),
        ];
        for (args, n) in steps {
            out.push((args.join(" "), c.cmd(args)));
            for _ in 0..*n {
                out.push(msg(&mut s));
            }
        }
        wait_until(
            || matches!(c.cmd(&["EXISTS", "e"]), Frame::Integer(0)),
            "e expires",
        );
        out.push(msg(&mut s));
        out.push(msg(&mut s));
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
        out
    });
}

#[test]
fn diff_blocking_wakeups() {
    differential("blocking", |p| {
        let mut c = Conn::connect(p);
        c.cmd(&["FLUSHALL"]);
        let mut w: Vec<Conn> = (0..3).map(|_| Conn::connect(p)).collect();
        let mut out = Vec::new();
        // FIFO among three waiters on one key.
        for (i, cmd) in ["BLPOP", "BLPOP", "BRPOP"].iter().enumerate() {
            w[i].send(&[cmd, "q", "0"]);
            wait_blocked(&mut c, i + 1);
        }
        out.push(("RPUSH q a b".into(), c.cmd(&["RPUSH", "q", "a", "b"])));
        out.push(("w0".into(), w[0].read_reply("BLPOP of waiter 0")));
        out.push(("w1".into(), w[1].read_reply("BLPOP of waiter 1")));
        wait_blocked(&mut c, 1);
        // A push inside MULTI/EXEC wakes the third.
        for a in [
            &["MULTI"][..],
            &["RPUSH", "q", "c"],
            &["RPUSH", "q", "d"],
            &["EXEC"],
        ] {
            out.push((a.join(" "), c.cmd(a)));
        }
        out.push(("w2".into(), w[2].read_reply("BRPOP of waiter 2")));
        out.push(("LRANGE".into(), c.cmd(&["LRANGE", "q", "0", "-1"])));
        // LMOVE into a waited key.
        w[0].send(&["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
        wait_blocked(&mut c, 1);
        c.cmd(&["RPUSH", "other", "x"]);
        c.cmd(&["LMOVE", "other", "src", "LEFT", "LEFT"]);
        out.push(("w0 blmove".into(), w[0].read_reply("BLMOVE")));
        out.push(("dst".into(), c.cmd(&["LRANGE", "dst", "0", "-1"])));
        // Another database.
        w[1].cmd(&["SELECT", "5"]);
        w[1].send(&["BLPOP", "k5", "0"]);
        wait_blocked(&mut c, 1);
        c.cmd(&["RPUSH", "k5", "db0"]);
        assert!(w[1].silent_for(Duration::from_millis(50)), "woken by db 0");
        c.cmd(&["SELECT", "5"]);
        c.cmd(&["RPUSH", "k5", "db5"]);
        out.push(("w1 db5".into(), w[1].read_reply("BLPOP in db 5")));
        c.cmd(&["SELECT", "0"]);
        // A key recreated with another type keeps the waiter blocked.
        w[2].send(&["BLPOP", "t", "0"]);
        wait_blocked(&mut c, 1);
        c.cmd(&["SET", "t", "str"]);
        c.cmd(&["DEL", "t"]);
        c.cmd(&["RPUSH", "t", "v"]);
        out.push(("w2 t".into(), w[2].read_reply("BLPOP t")));
        // Timeout and BLMPOP.
        out.push(("timeout".into(), w[0].cmd(&["BLPOP", "none", "0.05"])));
        w[0].send(&["BLMPOP", "0", "2", "m1", "m2", "RIGHT", "COUNT", "5"]);
        wait_blocked(&mut c, 1);
        c.cmd(&["RPUSH", "m2", "a", "b", "c"]);
        out.push(("blmpop".into(), w[0].read_reply("BLMPOP")));
        // CLIENT UNBLOCK, both ways.
        let id = text(&Frame::Bulk(bytes::Bytes::from(format!(
            "{:?}",
            w[1].cmd(&["CLIENT", "ID"])
        ))));
        let id = id
            .trim_start_matches("Integer(")
            .trim_end_matches(')')
            .to_string();
        w[1].send(&["BRPOPLPUSH", "none", "d", "0"]);
        wait_blocked(&mut c, 1);
        out.push(("unblock".into(), c.cmd(&["CLIENT", "UNBLOCK", &id])));
        out.push((
            "w1 unblocked".into(),
            w[1].read_reply("BRPOPLPUSH after unblock"),
        ));
        w[1].send(&["BLPOP", "none", "0"]);
        wait_blocked(&mut c, 1);
        out.push((
            "unblock error".into(),
            c.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]),
        ));
        out.push((
            "w1 error".into(),
            w[1].read_reply("BLPOP after unblock error"),
        ));
        out.push(("unblock none".into(), c.cmd(&["CLIENT", "UNBLOCK", &id])));
        out
    });
}

#[test]
fn blocked_client_flags_and_disconnect() {
    let f = ferrodis();
    let mut c = Conn::connect(f.port());
    let mut w = Conn::connect(f.port());
    w.send(&["BLPOP", "q", "0"]);
    wait_blocked(&mut c, 1);
    let list = text(&c.cmd(&["CLIENT", "LIST"]));
    assert!(
        list.lines()
            .any(|l| l.contains("flags=b ") && l.contains("cmd=blpop")),
        "a blocked client shows flags=b: {list}"
    );
    drop(w);
    wait_blocked(&mut c, 0);
    // The element is not lost to the departed client.
    c.cmd(&["RPUSH", "q", "x"]);
    assert_eq!(c.cmd(&["LLEN", "q"]), Frame::Integer(1));
    let mut m = Conn::connect(f.port());
    m.cmd(&["MULTI"]);
    m.cmd(&["PING"]);
    let mut s = Conn::connect(f.port());
    s.cmd(&["SUBSCRIBE", "a", "b"]);
    s.read_reply("second subscribe confirmation");
    s.cmd(&["PSUBSCRIBE", "p*"]);
    let list = text(&c.cmd(&["CLIENT", "LIST"]));
    assert!(
        list.lines()
            .any(|l| l.contains("flags=x ") && l.contains("multi=1")),
        "MULTI client: {list}"
    );
    assert!(
        list.lines()
            .any(|l| l.contains("flags=P ") && l.contains("sub=2 psub=1")),
        "pubsub client: {list}"
    );
    let info = text(&c.cmd(&["INFO", "stats"]));
    assert!(info.contains("pubsub_channels:2"), "{info}");
    assert!(info.contains("pubsub_patterns:1"), "{info}");
}
