//! Differential test for bitmaps, SORT / SORT_RO and DEBUG DIGEST: the same commands go to
//! a real `redis-server` (7.0) and to `ferrodis-server`, and the replies must be identical.
//! After each script, `DEBUG DIGEST` (and `DEBUG DIGEST-VALUE` per key) must agree too, which
//! checks the stored data, not only the replies. Fails (does not skip) without redis-server.

#![allow(clippy::unwrap_used)] // test binary: a failed setup step should just panic

use ferrodis_test_support::{wait_until, Conn, Frame, TestServer};
use std::time::Duration;

const BITMAP_SCRIPT: &str = r#"
flushall
set k foobar
hset h a b
set empty ""
setbit b 7 1
setbit b 7 0
setbit b 100 1
get b
getbit b 100
getbit b 101
getbit b 100000
getbit nokey 3
setbit b -1 1
setbit b x 1
setbit b 1 2
setbit b 1 -1
setbit b 1 x
setbit h 1 1
setbit b 4294967296 1
setbit b 4294967295 x
getbit b -1
getbit h 1
getbit nokey 4294967296
getbit nokey 4294967295
set n 12345
setbit n 3 1
get n
bitcount k
bitcount k 0 0
bitcount k 1 1
bitcount k 1 1 byte
bitcount k 1 1 bit
bitcount k 5 30 bit
bitcount k -1 -1
bitcount k -100 100
bitcount k 4 2
bitcount k -3 -1 bit
bitcount k 0 -1 bit
bitcount k 0
bitcount k 0 x
bitcount k x 1 foo
bitcount k 0 1 foo
bitcount k 0 1 bit extra
bitcount nokey 0 x
bitcount nokey
bitcount h 0 x
bitcount empty
bitcount empty 0 -1 bit
bitpos k 1
bitpos k 0
bitpos k 1 2
bitpos k 0 2
bitpos k 1 -1
bitpos k 0 0 5
bitpos k 0 0 -1 bit
bitpos k 1 7 15 bit
bitpos k 1 9 10 bit
bitpos k 0 1 1 bit
bitpos k 1 100
bitpos k 1 3 1
bitpos k 1 0 1 foo
bitpos k 1 x
bitpos k 1 0 x
bitpos k 2
bitpos k x
bitpos nokey 0
bitpos nokey 1
bitpos nokey 0 x
bitpos h 0
bitpos empty 0
bitpos empty 1
set ones "\xff\xff"
set allones abc
setrange allones 0 "\xff\xff\xff"
bitpos allones 0
bitpos allones 0 0
bitpos allones 0 0 -1
bitpos allones 0 1 1 byte
bitpos allones 1 0 -1 bit
setbit z 0 0
bitpos z 1
bitpos z 0
bitpos k 0 1 2 byte extra
bitop and dst k n
get dst
bitop or dst k n nokey
get dst
bitop xor dst k n
get dst
bitop not dst k
get dst
bitop and dst k nokey
get dst
bitop foo dst k
bitop not dst k k
bitop and dst h k
bitop and dst nokey
exists dst
set dst x
expire dst 100
bitop or dst k
ttl dst
bitfield bf set u8 0 255
bitfield bf get u8 0 get i8 0 get u4 4 get i4 4
bitfield bf incrby u8 0 10
bitfield bf overflow sat incrby u8 0 10 incrby i8 0 -300
bitfield bf overflow fail incrby u8 0 300 incrby u8 0 1 get u8 0
bitfield bf overflow wrap set i8 8 200 get i8 8 get u8 8
bitfield bf set i64 0 -1 get i64 0 get u63 0 incrby i64 0 1
bitfield bf overflow sat set i64 0 9223372036854775807 incrby i64 0 1 get i64 0
bitfield bf overflow wrap incrby i64 0 1 get i64 0
bitfield bf overflow sat incrby u63 0 -1 incrby u63 0 -100
bitfield bf set u8 #2 7 get u8 #2 get u8 16 set i5 #3 -3 get i5 15
bitfield bf get u8 1000
get bf
strlen bf
bitfield bf set u1 100 1
strlen bf
bitfield_ro bf get u8 0 get i16 4
bitfield_ro bf set u8 0 1
bitfield_ro bf get u8 0 overflow wrap
bitfield_ro bf incrby u8 0 1
bitfield_ro h get u8 0
bitfield_ro nokey get u8 0
bitfield_ro nokey set u8 0 x
bitfield_ro bf get u8 0 set u8 0 1 get x
bitfield h
bitfield nokey
exists nokey
bitfield bf get
bitfield bf get u64 0
bitfield bf get i65 0
bitfield bf get I8 0
bitfield bf get u 0
bitfield bf get i0 0
bitfield bf get u8 -1
bitfield bf overflow foo get u8 0
bitfield bf get u8 x set i8 0
bitfield bf get u8 #x
bitfield bf set u8 0 x
bitfield bf get u63 #100000000000000000
bitfield bf foo
bitfield bf overflow fail
bitfield bf overflow
bitfield h get u8 0 set u8 0 1
bitfield nokey2 overflow fail set u8 0 300
exists nokey2
bitfield n incrby u8 0 1
get n
# offsets are limited by proto-max-bulk-len (the byte holding the offset); a field may
# still end past it, as in Redis 7.0
config set proto-max-bulk-len 1mb
setbit big 8388607 1
setbit big 8388608 1
bitfield big2 set u8 8388607 1
strlen big2
bitfield big3 set i64 8388600 -1
strlen big3
bitfield big4 get u8 8388608
bitfield big4 get u8 #1048576
config set proto-max-bulk-len 512mb
"#;

const SORT_SCRIPT: &str = r#"
flushall
# lists are built with SORT ... BY nosort STORE from a sorted set (no list commands needed)
zadd src 1 3 2 1 3 2 4 10 5 -1.5 6 2
sort src by nosort store l
sort l by nosort
sort l
sort l desc
sort l limit 1 2
sort l limit -5 2
sort l limit 1 -1
sort l limit 10 1
sort l limit 0 0
sort l limit x 1
sort l limit 1
sort l desc limit 1 3
sort l by nosort desc
sort l by nosort desc limit 1 2
sort l by nosort limit 1 2
sort l alpha
sort l alpha desc
sort l foo
sort l store
sort l get
sort l by
sort_ro l store d
sort_ro l
sort_ro l desc limit 0 2
hset h a b
sort h
sort h foo
set str x
sort str
sort nokey
sort nokey store dd
exists dd
set dd x
sort nokey store dd
exists dd
# zsets: numeric sort uses members, nosort keeps score order
zadd z 1 c 2 a 3 b
sort z by nosort
sort z by nosort desc
sort z by nosort desc limit 1 1
sort z by nosort limit 1 5
sort z alpha
sort z alpha desc limit 0 2
sort z
zadd zn 5 10 1 20 3 3
sort zn
sort zn by nosort
# sets (intset: iteration order is ascending, as in Redis)
sadd s 5 3 9 -2 100
sort s
sort s desc
sort s by nosort
sort s by nosort store sdst
sort sdst by nosort
sadd sa banana apple cherry 10 9
sort sa alpha
sort sa alpha store sadst
sort sadst by nosort
sort sa by nosort store sadst
sort sadst by nosort
sort sa
# BY weights in strings and hashes, GET patterns
mset w_3 30 w_1 10 w_2 20 w_10 -5 w_-1.5 7
sort l by w_*
sort l by w_* desc
sort l by w_* get #
sort l by w_* get # get w_*
sort l by w_* get nope_* get # limit 1 3
sort l by w_* alpha
sort l by w_* alpha desc
hset obj_3 name three weight 3 
hset obj_1 name one weight 100
hset obj_2 name two weight -1
hset obj_10 name ten
sort l by obj_*->weight get obj_*->name get #
sort l by obj_*->weight desc get obj_*->name
sort l by obj_*->weight alpha get obj_*->name
sort l by obj_*->nofield get obj_*->name
sort l by obj_*->weight get obj_*->
sort l by obj_* get obj_*
sort l get obj_*->name get obj_*->weight
sort l by nosort get obj_*->name
sort l by w_*->x
sort l by weird*->
set weird3-> 1
sort l by weird*-> get weird*->
sort l get # get #
sort l get w_
# ties: numeric ties break on the element bytes, DESC reverses the whole order
mset t_a 1 t_b 1 t_c 0 t_d 1
sadd ts d b c a
sort ts by t_*
sort ts by t_* desc
# (ALPHA ties keep the input order: use a list, whose order is defined)
zadd tsrc 1 d 2 b 3 c 4 a 5 e
sort tsrc by nosort store tl
sort tl by t_* alpha
sort tl by t_* alpha desc
sort tl by t_* alpha store tsd
sort tsd by nosort
# conversion errors
sadd bad 1 x 2
sort bad
sort bad alpha
sort bad by nosort store baddst
sort baddst by nosort
set w_x notanumber
sort bad by w_*
set w_x ""
sort bad by w_*
set w_x nan
sort bad by w_*
set w_x inf
sort bad by w_*
set w_x "  2.5"
sort bad by w_*
# STORE
sort l by w_* get # get obj_*->name store out
sort out by nosort
sort l desc store out
sort out by nosort
expire out 100
sort l store out
ttl out
sort l limit 0 0 store out
exists out
sort l store str
type str
# Last: Redis 7.0 reads a stale errno after an out-of-range score, so later numeric sorts in
# the same process may fail too; nothing numeric may follow this.
set w_x 1e500
sort bad by w_*
"#;

#[test]
fn sort_resp2() {
    assert_same(SORT_SCRIPT, false);
}

#[test]
fn sort_resp3() {
    assert_same(SORT_SCRIPT, true);
}

const DIGEST_SCRIPT: &str = r#"
flushall
debug digest
set s hello
set n 12345
set neg -7
set big 123456789012345678901234567890
set long "this is a much longer string value that is not embstr at all, surely"
set e ""
set ex val
expire ex 1000
hset hs a 1 b 2
hset hs c 3
hset hb f0 x
config set hash-max-listpack-entries 1
hset hbig f1 1 f2 2 f3 3
config set hash-max-listpack-entries 128
sadd si 1 2 3 -100 9999999999
sadd sh a b c 1
zadd zl 1 a 2.5 b -0.1 c 1e300 d inf e -inf f 0.1 g
zadd zl 0 zero
config set zset-max-listpack-entries 1
zadd zs 1 a 2.5 b -0.1 c 3 d 123456789 e
config set zset-max-listpack-entries 128
zadd zsrc 1 x 2 12 3 -5 4 "hello world"
sort zsrc by nosort store li
pexpire li 99999999
select 5
set other 1
sadd s5 x
select 9
hset h9 k v
select 0
debug digest
debug digest-value s n neg big long e ex hs hb hbig si sh zl zs li nokey
select 5
debug digest-value other s5
select 0
del s5
debug digest
flushdb
debug digest
"#;

#[test]
fn digest_resp2() {
    assert_same(DIGEST_SCRIPT, false);
}

/// Splits a script line into arguments; `"..."` groups words and `\xNN` escapes a byte.
fn split_args(line: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let (mut quoted, mut started) = (false, false);
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            quoted = !quoted;
            started = true;
        } else if c == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
            cur.push(u8::from_str_radix(hex, 16).unwrap());
            started = true;
            i += 3;
        } else if c == b' ' && !quoted {
            if started {
                out.push(std::mem::take(&mut cur));
                started = false;
            }
        } else {
            cur.push(c);
            started = true;
        }
        i += 1;
    }
    if started {
        out.push(cur);
    }
    out
}

fn servers() -> (TestServer, TestServer, Conn, Conn) {
    let redis = TestServer::redis::<&str>(&[]);
    let ferro = TestServer::start::<&str>(env!("CARGO_BIN_EXE_ferrodis-server"), &[]);
    let (r, f) = (redis.conn(), ferro.conn());
    (redis, ferro, r, f)
}

/// Runs `script` on both servers and returns the differences (replies, then digests).
fn diff_script(script: &str, resp3: bool) -> Vec<String> {
    let (_redis, _ferro, mut r, mut f) = servers();
    if resp3 {
        r.cmd(&["HELLO", "3"]);
        f.cmd(&["HELLO", "3"]);
    }
    let mut failures = Vec::new();
    let mut keys = std::collections::BTreeSet::new();
    for line in script.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let args = split_args(line);
        if let Some(k) = args.get(1) {
            keys.insert(k.clone());
        }
        let (a, b) = (r.cmd(&args), f.cmd(&args));
        if a != b {
            failures.push(format!("{line}\n   redis:    {a:?}\n   ferrodis: {b:?}"));
        }
    }
    let (a, b) = (r.cmd(&["DEBUG", "DIGEST"]), f.cmd(&["DEBUG", "DIGEST"]));
    if a != b {
        failures.push(format!(
            "DEBUG DIGEST\n   redis:    {a:?}\n   ferrodis: {b:?}"
        ));
    }
    let mut dv = vec![b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec()];
    dv.extend(keys);
    let (a, b) = (r.cmd(&dv), f.cmd(&dv));
    if a != b {
        failures.push(format!(
            "DEBUG DIGEST-VALUE\n   redis:    {a:?}\n   ferrodis: {b:?}"
        ));
    }
    failures
}

fn assert_same(script: &str, resp3: bool) {
    let failures = diff_script(script, resp3);
    assert!(
        failures.is_empty(),
        "{} differences (resp3={resp3}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bitmaps_resp2() {
    assert_same(BITMAP_SCRIPT, false);
}

#[test]
fn bitmaps_resp3() {
    assert_same(BITMAP_SCRIPT, true);
}

/// Values ferrodis cannot build by command (lists with integer elements, streams with
/// deleted entries and consumer groups) are created in Redis, moved with DUMP/RESTORE, and
/// must then digest the same.
#[test]
fn digest_of_restored_values() {
    let (_redis, _ferro, mut r, mut f) = servers();
    let setup: &[&[&str]] = &[
        &["RPUSH", "l", "1", "-2", "three", "9223372036854775807", ""],
        &["CONFIG", "SET", "list-max-listpack-size", "2"],
        &["RPUSH", "ql", "a", "b", "c", "10", "11"],
        &["XADD", "st", "1-1", "a", "1", "b", "2"],
        &["XADD", "st", "2-0", "c", "3"],
        &["XADD", "st", "5-7", "a", "9", "b", "x"],
        &["XDEL", "st", "2-0"],
        &["XGROUP", "CREATE", "st", "g", "0"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c1",
            "COUNT",
            "1",
            "STREAMS",
            "st",
            ">",
        ],
        &["XADD", "empty", "1-1", "f", "v"],
        &["XDEL", "empty", "1-1"],
        &["PEXPIRE", "l", "100000000"],
    ];
    for c in setup {
        r.cmd(c);
    }
    let keys = ["l", "ql", "st", "empty"];
    for k in keys {
        let payload = match r.cmd(&["DUMP", k]) {
            Frame::Bulk(b) => b.to_vec(),
            other => panic!("DUMP {k}: {other:?}"),
        };
        let ttl = match r.cmd(&["PTTL", k]) {
            Frame::Integer(t) if t > 0 => t.to_string(),
            _ => "0".to_string(),
        };
        let restore = vec![
            b"RESTORE".to_vec(),
            k.as_bytes().to_vec(),
            ttl.into_bytes(),
            payload,
        ];
        assert_eq!(f.cmd(&restore), Frame::Simple("OK".into()), "RESTORE {k}");
    }
    let mut dv = vec!["DEBUG", "DIGEST-VALUE"];
    dv.extend(keys);
    assert_eq!(r.cmd(&dv), f.cmd(&dv));
    assert_eq!(r.cmd(&["DEBUG", "DIGEST"]), f.cmd(&["DEBUG", "DIGEST"]));
}

/// `SORT ... STORE` wakes a client blocked on the destination, as Redis does.
#[test]
fn sort_store_wakes_blocked_client() {
    let (_redis, _ferro, mut r, mut f) = servers();
    let mut replies = Vec::new();
    for c in [&mut r, &mut f] {
        c.cmd(&["SADD", "src", "3", "1", "2"]);
        let port = c.stream().peer_addr().unwrap().port();
        let mut waiter = Conn::connect(port);
        waiter.send(&["BLPOP", "dst", "5"]);
        wait_until(
            Duration::from_secs(10),
            || {
                c.cmd(&["INFO", "clients"])
                    .to_text()
                    .contains("blocked_clients:1\r\n")
            },
            "the BLPOP client is blocked",
        );
        assert_eq!(c.cmd(&["SORT", "src", "STORE", "dst"]), Frame::Integer(3));
        let popped = waiter.cmd(&["LRANGE", "dst", "0", "-1"]);
        let after = waiter.cmd(&["PING"]);
        replies.push((popped, after));
    }
    // The first reply read on the waiter is BLPOP's; the LRANGE reply follows it.
    assert_eq!(replies[0], replies[1]);
}
