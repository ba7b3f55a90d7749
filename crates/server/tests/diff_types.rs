//! Differential test for hashes, sets and sorted sets: the same commands go to a real
//! `redis-server` (7.0) and to `ferrodis-server`, and the replies must be identical.
//! Replies whose order is unspecified (hashtable encodings) are compared sorted; random
//! commands (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) are checked for shape only.

#![allow(clippy::unwrap_used)] // test binary: a failed setup step should just panic

use ferrodis_test_support::{Conn, Frame, TestServer};

/// Sorts the elements of arrays/sets (and flat pair lists when `pairs`), recursively for
/// scan replies.
fn sorted(f: Frame, pairs: bool) -> Frame {
    match f {
        Frame::Array(v) | Frame::Set(v) => {
            if pairs && v.len() % 2 == 0 && !v.iter().any(|x| matches!(x, Frame::Array(_))) {
                let mut p: Vec<(String, String)> = v
                    .chunks(2)
                    .map(|c| (c[0].to_text(), c[1].to_text()))
                    .collect();
                p.sort();
                return Frame::Array(
                    p.into_iter()
                        .flat_map(|(a, b)| [Frame::bulk(a.as_bytes()), Frame::bulk(b.as_bytes())])
                        .collect(),
                );
            }
            let mut v: Vec<Frame> = v.into_iter().map(|x| sorted(x, pairs)).collect();
            v.sort_by_key(|x| x.to_text());
            Frame::Array(v)
        }
        Frame::Map(m) => {
            let mut p: Vec<(String, String)> = m
                .into_iter()
                .map(|(a, b)| (a.to_text(), b.to_text()))
                .collect();
            p.sort();
            Frame::Array(
                p.into_iter()
                    .map(|(a, b)| {
                        Frame::Array(vec![Frame::bulk(a.as_bytes()), Frame::bulk(b.as_bytes())])
                    })
                    .collect(),
            )
        }
        other => other,
    }
}

const SCRIPT: &str = r#"
flushall
set str hello
# ---- hashes
hset h f1 v1 f2 v2 f3 v3
hset h f1 x
hset h
hset h f1
hmset h a 1 b 2
hsetnx h a 9
hsetnx h new 9
hget h a
hget h nosuch
hget nokey a
hget str a
hmget h a b nosuch
hmget nokey a
hmget str a
hlen h
hlen nokey
hstrlen h f1
hstrlen h nosuch
hexists h a
hexists h zz
hkeys h
hvals h
hgetall h
hgetall nokey
hkeys nokey
hincrby h a 10
hincrby h a x
hincrby h f1 1
hincrby h cnt 9223372036854775807
hincrby h cnt 1
hincrby h cnt -1
hincrbyfloat h fl 1.5
hincrbyfloat h fl 0.1
hincrbyfloat h fl x
hincrbyfloat h f1 1
hincrbyfloat str f 1
hincrby str f 1
hdel h a b nosuch
hdel nokey a
hdel str a
object encoding h
hscan h 0
hscan h 0 match f*
hscan h 0 count 0
hscan h x
hscan nokey 0
hscan str 0
hrandfield nokey
hrandfield nokey 5
hrandfield h 1 withvalues x
hrandfield h 1 foo
hrandfield h 0
hrandfield str
hset long f aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
object encoding long
hdel h f1 f2 f3 new cnt fl
exists h
# ---- sets
sadd s 3 1 2
sadd s 2
smembers s
object encoding s
sadd s -5 100
smembers s
sadd s a
object encoding s
scard s
scard nokey
sismember s a
sismember s zz
sismember nokey a
smismember s a zz 1
smismember nokey a
sadd s2 1 2 a b c
sadd s3 1 b 99
sinter s s2
sinter s s2 s3
sinter s nokey
sinter nokey str
sinter s str
sintercard 2 s s2
sintercard 2 s s2 limit 1
sintercard 0 s
sintercard 3 s
sintercard 1 s limit -1
sintercard 1 s foo
sunion s s3 nokey
sdiff s s2
sdiff nokey s
sinterstore dst s s2
smembers dst
object encoding dst
sunionstore dst s3 s2
sdiffstore dst s s
exists dst
sdiffstore dst nokey
sadd ints 1 2 3
sinterstore dst ints ints
object encoding dst
srem s a 1 nosuch
srem nokey a
srem str a
smove s s2 2
smove s s2 nosuch
smove nokey s2 1
smove str s 1
smove s str 1
smove s2 s2 a
sscan ints 0
sscan ints 0 match 1*
sscan nokey 0
sscan str 0
sscan s x
spop nokey
spop nokey 3
spop s -1
spop s 0
spop str
srandmember nokey
srandmember nokey 3
srandmember s 1 2
srandmember str
sadd one x
spop one 5
exists one
sadd s 1
# ---- sorted sets
zadd z 1 a 2 b 3 c
zadd z nx xx 1 a
zadd z gt lt 1 a
zadd z nx gt 1 a
zadd z incr 1 a 2 b
zadd z nx 1
zadd z x a
zadd z nan a
zadd z xx 5 nosuch
zadd z xx incr 1 nosuch
zadd z nx incr 1 a
zadd z gt ch 0 a
zadd z lt ch 0 a
zadd z gt incr -1 a
zadd z ch 1 a 10 b 20 new
zadd nokey2 xx 1 a
exists nokey2
zadd str 1 a
zadd z -0.5 neg 1e20 big 0.1 tenth inf pinf -inf ninf
zrange z 0 -1 withscores
zadd z incr -inf pinf
zincrby z 1.5 a
zincrby z x a
zincrby z -inf ninf
zincrby z inf ninf
zincrby nokey3 2 m
zincrby str 1 a
zcard z
zcard nokey
zscore z a
zscore z nosuch
zscore nokey a
zscore z tenth
zmscore z a nosuch b
zmscore nokey a
zrank z a
zrank z nosuch
zrevrank z a
zrank nokey a
zcount z -inf +inf
zcount z (0 1
zcount z a b
zcount nokey 0 1
zrange z 0 -1
zrange z 1 2 withscores
zrange z -2 -1
zrange z 5 1
zrange z 0 100
zrange z -100 2
zrange z 0 -1 rev
zrange z 0 -1 rev withscores
zrange z (1 +inf byscore
zrange z +inf (1 byscore rev
zrange z -inf +inf byscore limit 1 2
zrange z -inf +inf byscore limit 1 -1
zrange z -inf +inf byscore limit -1 2
zrange z +inf -inf byscore rev limit 1 2 withscores
zrange z 0 1 bylex
zrange z 0 -1 limit 0 1
zrange z - + bylex withscores
zrange z x y byscore
zrange z (a [b bylex limit 0
zrange z a b foo
zrange nokey 0 -1
zrange str 0 -1
zrevrange z 0 2 withscores
zrevrange z 0 2 byscore
zrangebyscore z 1 2
zrangebyscore z (1 (20 withscores limit 0 2
zrangebyscore z x 1
zrangebyscore z 1 2 limit 0
zrangebyscore z 1 2 foo
zrevrangebyscore z +inf -inf
zrevrangebyscore z 20 (1 withscores
zadd lex 0 a 0 b 0 c 0 d 0 e 0 foo
zrangebylex lex - +
zrangebylex lex [b (e
zrangebylex lex (b [e limit 1 2
zrangebylex lex a b
zrevrangebylex lex + -
zrevrangebylex lex [e (b
zlexcount lex - +
zlexcount lex [c +
zlexcount lex - x
zremrangebylex lex [a (c
zremrangebylex lex a b
zrange lex 0 -1
zrangestore dst z 0 -1
zrange dst 0 -1 withscores
object encoding dst
zrangestore dst z 0 -1 withscores
zrangestore dst z -inf +inf byscore rev limit 0 2
zrange dst 0 -1 withscores
zrangestore dst nokey 0 -1
exists dst
zrangestore dst z 0 -1 rev bylex
zremrangebyrank z 0 0
zremrangebyrank z -1 -1
zremrangebyrank z 5 1
zremrangebyscore z (1 2
zremrangebyscore z x 2
zremrangebyrank nokey 0 1
zrange z 0 -1 withscores
zpopmin z
zpopmax z 2
zpopmin z -1
zpopmin z 0
zpopmin nokey
zpopmin nokey 2
zpopmin str
zadd p 1 a 2 b 3 c 4 d
zmpop 0 p min
zmpop 1 p foo
zmpop 1 p min count 0
zmpop 2 p min
zmpop 2 nokey p max count 2
zmpop 1 nokey min
zmpop 1 str min
zmpop 3 p
zadd u1 1 a 2 b 3 c
zadd u2 10 b 20 c 30 d
sadd us c d e
zunion 2 u1 u2
zunion 2 u1 u2 withscores
zunion 2 u1 u2 weights 2 0.5 withscores
zunion 2 u1 u2 aggregate min withscores
zunion 2 u1 u2 aggregate max withscores
zunion 3 u1 u2 us withscores
zunion 1 u1 weights 1 2
zunion 1 u1 aggregate foo
zunion 1 u1 weights x
zunion 2 u1
zunion 0 u1
zunion 2 u1 str
zinter 2 u1 u2 withscores
zinter 3 u1 u2 us withscores
zinter 2 u1 nokey
zinter 2 u1 u2 weights 1 -1 aggregate sum withscores
zdiff 2 u1 u2 withscores
zdiff 1 u1 withscores
zdiff 2 nokey u1
zdiff 1 u1 weights 1
zunionstore dst 2 u1 u2
zrange dst 0 -1 withscores
zinterstore dst 2 u1 u2 aggregate max
zrange dst 0 -1 withscores
zinterstore dst 0 u1
zinterstore dst 2 u1 nokey
exists dst
zdiffstore dst 2 u1 u2
zunionstore dst 1 u1 withscores
zintercard 2 u1 u2
zintercard 2 u1 u2 limit 1
zintercard 1 u1 limit -1
zintercard 0 u1
zrandmember nokey
zrandmember nokey 3
zrandmember u1 1 foo
zrandmember u1 0
zrandmember str
zscan u1 0
zscan u1 0 match a*
zscan nokey 0
zscan str 0
zadd inf 1 a
zadd inf -1 a
zadd inf 1e308 x 1e308 y
zincrby inf 1e308 x
zrange inf 0 -1 withscores
"#;

/// Commands whose reply order is unspecified: compare sorted.
fn unordered(cmd: &str) -> bool {
    let c = cmd.split_whitespace().next().unwrap_or("").to_lowercase();
    matches!(
        c.as_str(),
        "sinter"
            | "sunion"
            | "sdiff"
            | "smembers"
            | "hkeys"
            | "hvals"
            | "hgetall"
            | "sscan"
            | "hscan"
    )
}

fn random(cmd: &str) -> bool {
    let c = cmd.split_whitespace().next().unwrap_or("").to_lowercase();
    matches!(
        c.as_str(),
        "spop" | "srandmember" | "hrandfield" | "zrandmember"
    )
}

fn shape(f: &Frame) -> String {
    match f {
        Frame::Array(v) | Frame::Set(v) => format!("array({})", v.len()),
        Frame::Error(e) => String::from_utf8_lossy(e).into_owned(),
        Frame::Null | Frame::NullArray => "nil".into(),
        _ => "value".into(),
    }
}

fn run_script(resp3: bool) {
    let redis = TestServer::redis::<&str>(&[]);
    let rport = redis.port();
    let ferro = TestServer::start::<&str>(env!("CARGO_BIN_EXE_ferrodis-server"), &[]);
    let fport = ferro.port();
    let (mut r, mut f) = (Conn::connect(rport), Conn::connect(fport));
    if resp3 {
        r.cmd(&["HELLO", "3"]);
        f.cmd(&["HELLO", "3"]);
    }
    let mut failures = Vec::new();
    for line in SCRIPT.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let args: Vec<&str> = line.split_whitespace().collect();
        let (a, b) = (r.cmd(&args), f.cmd(&args));
        let (a, b) = if random(line) {
            (
                Frame::bulk(shape(&a).as_bytes()),
                Frame::bulk(shape(&b).as_bytes()),
            )
        } else if unordered(line) {
            let pairs = line.starts_with("hscan") || line.starts_with("hgetall");
            (sorted(a, pairs), sorted(b, pairs))
        } else {
            (a, b)
        };
        if a != b {
            failures.push(format!("{line}\n   redis:    {a:?}\n   ferrodis: {b:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences (resp3={resp3}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn same_replies_as_redis_resp2() {
    run_script(false);
}

#[test]
fn same_replies_as_redis_resp3() {
    run_script(true);
}

#[test]
fn encodings_match_redis_thresholds() {
    let redis = TestServer::redis::<&str>(&[]);
    let rport = redis.port();
    let ferro = TestServer::start::<&str>(env!("CARGO_BIN_EXE_ferrodis-server"), &[]);
    let fport = ferro.port();
    for port in [rport, fport] {
        let mut c = Conn::connect(port);
        for i in 0..600 {
            let (f, m) = (format!("f{i}"), i.to_string());
            c.cmd(&["HSET", "h", &f, "v"]);
            c.cmd(&["SADD", "s", &m]);
            c.cmd(&["ZADD", "z", &m, &f]);
            if i == 127 || i == 128 || i == 511 || i == 512 {
                let enc: Vec<String> = ["h", "s", "z"]
                    .iter()
                    .map(|k| c.cmd(&["OBJECT", "ENCODING", k]).to_text())
                    .collect();
                let expect = match i {
                    127 => ["listpack", "intset", "listpack"],
                    128 => ["listpack", "intset", "skiplist"],
                    511 => ["listpack", "intset", "skiplist"],
                    _ => ["hashtable", "hashtable", "skiplist"],
                };
                assert_eq!(enc, expect, "port {port} after {} elements", i + 1);
            }
        }
    }
}
