//! String commands over TCP (exact error strings are also checked against redis-server in
//! `differential`).

use crate::start;
use ferrodis_test_support::{wait_until, Conn};
use std::time::Duration;

fn ttl(c: &mut Conn, key: &str) -> i64 {
    c.run(&format!("TTL {key}"))[1..]
        .parse()
        .expect("TTL integer")
}

fn pttl(c: &mut Conn, key: &str) -> i64 {
    c.run(&format!("PTTL {key}"))[1..]
        .parse()
        .expect("PTTL integer")
}

#[test]
fn set_options() {
    let s = start(&[]);
    let mut c = s.conn();
    assert_eq!(c.run("SET k v NX"), "+OK");
    assert_eq!(c.run("SET k w NX"), "nil");
    assert_eq!(c.run("SET k w XX"), "+OK");
    assert_eq!(c.run("SET nope w XX"), "nil");
    assert_eq!(c.run("SET k x GET"), "$w");
    assert_eq!(c.run("SET k v EX 100"), "+OK");
    assert!((99..=100).contains(&ttl(&mut c, "k")));
    assert_eq!(c.run("SET k v PX 100000"), "+OK");
    assert!((99_000..=100_000).contains(&pttl(&mut c, "k")));
    assert_eq!(c.run("SET k v2 KEEPTTL"), "+OK");
    assert!(pttl(&mut c, "k") > 90_000, "KEEPTTL keeps the TTL");
    assert_eq!(c.run("SET k v3"), "+OK");
    assert_eq!(ttl(&mut c, "k"), -1, "plain SET clears the TTL");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert_eq!(c.run(&format!("SET k v EXAT {}", now + 1000)), "+OK");
    assert_eq!(c.run("EXPIRETIME k"), format!(":{}", now + 1000));
    assert_eq!(
        c.run(&format!("SET k v PXAT {}", (now + 500) * 1000)),
        "+OK"
    );
    assert_eq!(c.run("PEXPIRETIME k"), format!(":{}", (now + 500) * 1000));
    // A past PXAT deletes at once.
    assert_eq!(c.run("SET k v PXAT 1000"), "+OK");
    assert_eq!(c.run("EXISTS k"), ":0");
    // Short PX expires.
    assert_eq!(c.run("SET short v PX 50"), "+OK");
    wait_until(
        Duration::from_secs(10),
        || c.run("GET short") == "nil",
        "a PX 50 key expires",
    );
}

#[test]
fn setnx_setex_psetex() {
    let s = start(&[]);
    let mut c = s.conn();
    assert_eq!(c.run("SETNX k 1"), ":1");
    assert_eq!(c.run("SETNX k 2"), ":0");
    assert_eq!(c.run("SETEX k 100 v"), "+OK");
    assert_eq!(ttl(&mut c, "k"), 100);
    assert_eq!(c.run("PSETEX k 5000 v"), "+OK");
    assert!((4000..=5000).contains(&pttl(&mut c, "k")));
    assert_eq!(
        c.run("SETEX k 0 v"),
        "-ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        c.run("PSETEX k -1 v"),
        "-ERR invalid expire time in 'psetex' command"
    );
}

#[test]
fn multi_key_strings() {
    let s = start(&[]);
    let mut c = s.conn();
    assert_eq!(c.run("MSET a 1 b 2 c 3"), "+OK");
    assert_eq!(c.run("MGET a b nosuch c"), "[$1, $2, nil, $3]");
    assert_eq!(c.run("MSETNX c 9 d 4"), ":0");
    assert_eq!(c.run("EXISTS d"), ":0");
    assert_eq!(c.run("MSETNX d 4 e 5"), ":1");
    assert_eq!(
        c.run("MSET a"),
        "-ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(c.run("GETSET a 10"), "$1");
    assert_eq!(c.run("GETDEL a"), "$10");
    assert_eq!(c.run("GETDEL a"), "nil");
    assert_eq!(c.run("GETEX b EX 100"), "$2");
    assert_eq!(ttl(&mut c, "b"), 100);
    assert_eq!(c.run("GETEX b PERSIST"), "$2");
    assert_eq!(ttl(&mut c, "b"), -1);
}

#[test]
fn append_strlen_ranges_lcs() {
    let s = start(&[]);
    let mut c = s.conn();
    assert_eq!(c.run("APPEND k Hello"), ":5");
    assert_eq!(c.run("APPEND k \" World\""), ":11");
    assert_eq!(c.run("STRLEN k"), ":11");
    assert_eq!(c.run("GETRANGE k 0 4"), "$Hello");
    assert_eq!(c.run("GETRANGE k -5 -1"), "$World");
    assert_eq!(c.run("SUBSTR k 6 -1"), "$World");
    assert_eq!(c.run("SETRANGE k 6 Redis"), ":11");
    assert_eq!(c.run("GET k"), "$Hello Redis");
    assert_eq!(c.run("SETRANGE pad 3 x"), ":4");
    assert_eq!(c.run("GET pad"), "$\0\0\0x");
    assert_eq!(c.run("MSET k1 ohmytext k2 mynewtext"), "+OK");
    assert_eq!(c.run("LCS k1 k2"), "$mytext");
    assert_eq!(c.run("LCS k1 k2 LEN"), ":6");
    assert_eq!(
        c.run("LCS k1 k2 IDX MINMATCHLEN 4 WITHMATCHLEN"),
        "[$matches, [[[:4, :7], [:5, :8], :4]], $len, :6]"
    );
    // A big value through APPEND (multi-read bulk).
    let big = "x".repeat(1 << 20);
    assert_eq!(c.run(&format!("APPEND big {big}")), format!(":{}", 1 << 20));
    assert_eq!(c.run("STRLEN big"), format!(":{}", 1 << 20));
}

#[test]
fn counters() {
    let s = start(&[]);
    let mut c = s.conn();
    assert_eq!(c.run("INCR n"), ":1");
    assert_eq!(c.run("INCRBY n 41"), ":42");
    assert_eq!(c.run("DECR n"), ":41");
    assert_eq!(c.run("DECRBY n 40"), ":1");
    assert_eq!(c.run("SET n 9223372036854775807"), "+OK");
    assert_eq!(
        c.run("INCR n"),
        "-ERR increment or decrement would overflow"
    );
    assert_eq!(c.run("SET s abc"), "+OK");
    assert_eq!(
        c.run("INCR s"),
        "-ERR value is not an integer or out of range"
    );
    assert_eq!(c.run("INCRBYFLOAT f 10.5"), "$10.5");
    assert_eq!(c.run("INCRBYFLOAT f 0.1"), "$10.6");
    assert_eq!(c.run("INCRBYFLOAT f -5"), "$5.6");
    assert_eq!(c.run("INCRBYFLOAT f x"), "-ERR value is not a valid float");
    // Concurrent INCRs from many connections lose nothing.
    let port = s.port();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                for _ in 0..250 {
                    assert!(c.run("INCR shared").starts_with(':'));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("incr thread");
    }
    assert_eq!(c.run("GET shared"), "$2000");
}
