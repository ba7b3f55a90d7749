//! Differential suite: the same command scripts go to ferrodis and to Debian's `redis-server`
//! (7.0), and every reply must be byte-identical. It FAILS, never skips, when redis-server is
//! missing (`TestServer::redis` panics with an install hint).
//!
//! Script syntax: one command per line, split like redis-cli (quotes allowed); `#` starts a
//! comment line. A line may start with a directive:
//! * `sort: CMD` compares the array reply with its elements sorted (hash order differs
//!   legitimately: KEYS, SCAN pages, ...).
//! * `any: CMD` sends the command and ignores the reply because it legitimately differs
//!   between the two servers. Each use is one of the named [`LEGITIMATE_DIFFERENCES`].
//!
//! Replies compared byte for byte also cover RESP3 (scripts that start with `HELLO 3`).

use crate::start;
use ferrodis_test_support::{show, Conn, Frame, TestServer};

// Replies that legitimately differ between ferrodis and redis-server, and are therefore
// only sent (`any:`) here and checked by shape in the other modules:
// * INFO contents (versions, run_id, memory figures, pids, uptime, ports);
// * CLIENT LIST / CLIENT INFO lines (ids, addresses, fds, ages, memory);
// * CLIENT ID and HELLO's `id` field (connection counters differ);
// * CONFIG GET port (each server has its own ephemeral port);
// * TIME (clock);
// * COMMAND / COMMAND COUNT / COMMAND DOCS (ferrodis implements a subset of the commands).

struct Pair {
    _redis: TestServer,
    _ferro: TestServer,
    r: Conn,
    f: Conn,
}

fn pair() -> Pair {
    let redis = TestServer::redis::<&str>(&[]);
    let ferro = start(&[]);
    let r = redis.conn();
    let f = ferro.conn();
    Pair {
        _redis: redis,
        _ferro: ferro,
        r,
        f,
    }
}

fn sorted(f: &Frame) -> String {
    match f {
        Frame::Array(v) | Frame::Set(v) => {
            let mut items: Vec<String> = v.iter().map(show).collect();
            items.sort();
            format!("sorted[{}]", items.join(", "))
        }
        other => show(other),
    }
}

/// Runs `script` on both servers and panics listing every differing reply.
pub fn run_script(name: &str, script: &str) {
    let mut p = pair();
    let mut diffs = Vec::new();
    let mut count = 0;
    for (n, raw_line) in script.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (mode, cmd) = if let Some(rest) = line.strip_prefix("sort:") {
            ("sort", rest.trim())
        } else if let Some(rest) = line.strip_prefix("any:") {
            ("any", rest.trim())
        } else {
            ("exact", line)
        };
        let args = ferrodis_resp::split_args(cmd.as_bytes())
            .unwrap_or_else(|| panic!("{name}:{}: unbalanced quotes", n + 1));
        let rf = p.r.cmd(&args);
        let rraw = p.r.last_raw().to_vec();
        let ff = p.f.cmd(&args);
        let fraw = p.f.last_raw().to_vec();
        count += 1;
        let (a, b) = match mode {
            "sort" => (sorted(&rf), sorted(&ff)),
            "any" => continue,
            _ => {
                if rraw == fraw {
                    continue;
                }
                (
                    String::from_utf8_lossy(&rraw).into_owned(),
                    String::from_utf8_lossy(&fraw).into_owned(),
                )
            }
        };
        if a != b {
            diffs.push(format!(
                "  line {}: {cmd}\n    redis:    {a:?}\n    ferrodis: {b:?}",
                n + 1
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "differential script `{name}`: {} of {count} replies differ from redis-server:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

macro_rules! scripts {
    ($($name:ident => $script:expr;)*) => {
        $(
            #[test]
            fn $name() {
                run_script(stringify!($name), $script);
            }
        )*
    };
}

scripts! {
    connection_basics => r#"
        PING
        PING hello
        PING a b
        ECHO hi
        ECHO
        ECHO a b
        SELECT 1
        SET k v1
        SELECT 0
        GET k
        SELECT 1
        GET k
        SELECT 16
        SELECT -1
        SELECT x
        SELECT 0
        AUTH pw
        AUTH user pw
        AUTH a b c
        CLIENT SETNAME myname
        CLIENT GETNAME
        CLIENT SETNAME "bad name"
        CLIENT SETNAME ""
        CLIENT GETNAME
        CLIENT NO-EVICT on
        CLIENT NO-EVICT off
        CLIENT NO-EVICT maybe
        CLIENT REPLY maybe
        CLIENT KILL 1.2.3.4:5
        CLIENT KILL ID 999999
        CLIENT KILL ID 0
        CLIENT KILL TYPE nosuch
        CLIENT KILL ADDR 1.2.3.4:5 SKIPME yes
        CLIENT KILL ADDR
        CLIENT NOSUCH
        CLIENT
        any: CLIENT ID
        any: CLIENT LIST
        any: CLIENT INFO
        CLIENT LIST TYPE bogus
        CLIENT LIST ID abc
        HELLO 4
        HELLO abc
        HELLO 2 SETNAME "a b"
        HELLO 2 BOGUS
        any: HELLO 2 AUTH default wrong
        CLIENT SETNAME
        CLIENT ID x
        CLIENT GETNAME x
        CLIENT KILL
        CLIENT LIST x
        CLIENT REPLY
        client setname
        CLIENT GETNAME
        RESET
        CLIENT GETNAME
        NOSUCHCOMMAND a b
        nosuch
    "#;

    resp3 => r#"
        any: HELLO 3
        SET k v
        GET k
        GET missing
        MGET k missing
        INCRBYFLOAT f 1.5
        DEBUG PROTOCOL string
        DEBUG PROTOCOL integer
        DEBUG PROTOCOL double
        DEBUG PROTOCOL bignum
        DEBUG PROTOCOL null
        DEBUG PROTOCOL array
        DEBUG PROTOCOL set
        DEBUG PROTOCOL map
        DEBUG PROTOCOL true
        DEBUG PROTOCOL false
        DEBUG PROTOCOL verbatim
        DEBUG PROTOCOL nosuch
        SET k v GET
        SET n v NX GET
        GETEX missing
        GETDEL missing
        TTL missing
        EXISTS k
        LCS k k IDX
        CONFIG GET maxclients
        CONFIG GET nosuchparam
        any: HELLO 2
        DEBUG PROTOCOL double
        DEBUG PROTOCOL map
        DEBUG PROTOCOL set
        DEBUG PROTOCOL true
        DEBUG PROTOCOL null
        DEBUG PROTOCOL bignum
        DEBUG PROTOCOL verbatim
        CONFIG GET maxclients
    "#;

    set_options => r#"
        SET k v
        GET k
        SET k v2 NX
        SET k v3 XX
        GET k
        SET nx1 v XX
        GET nx1
        SET nx1 v NX
        SET k v4 GET
        SET missing v GET
        SET k v NX XX
        SET k v EX 0
        SET k v EX -1
        SET k v EX abc
        SET k v PX 0
        SET k v EXAT 0
        SET k v PXAT -3
        SET k v EX 100 PX 100
        SET k v KEEPTTL EX 100
        SET k v EX 100 EXAT 100000
        SET k v EX 100
        TTL k
        SET k v2 KEEPTTL
        TTL k
        SET k v3
        TTL k
        SET k v EXAT 4102444800
        EXPIRETIME k
        PEXPIRETIME k
        SET k v PXAT 4102444800123
        PEXPIRETIME k
        EXPIRETIME k
        SET k v EX 9223372036854775807
        SET k v PX 9223372036854775807
        SET k v EX 9223372036854775
        SET k v GET NX
        SET k v GET XX
        SET brandnew v GET NX
        SET k v badopt
        SET k v EX
        SET k v EX 10 EX 10
        SET k v NX NX
        SET k
        SET
        GET
        GET a b
        SET "" empty
        GET ""
        SET k ""
        GET k
        STRLEN k
        SET k v ex 100 keepttl
        set k v nx
        set k v Px 1000000 xx
        TTL k
    "#;

    set_variants => r#"
        SETNX k v
        SETNX k v2
        GET k
        SETNX k
        SETEX k 100 v
        TTL k
        SETEX k 0 v
        SETEX k -5 v
        SETEX k abc v
        SETEX k 9223372036854775807 v
        PSETEX k 100000 v
        TTL k
        PSETEX k 0 v
        PSETEX k -1 v
        MSET a 1 b 2 c 3
        MGET a b c nosuch
        MSET a 1 b
        MSET
        MGET
        MSETNX a 1 d 4
        MGET a d
        MSETNX d 4 e 5
        MGET d e
        MSETNX d 4 e
        MSET x 1 x 2
        GET x
        GETSET a 10
        GET a
        GETSET nosuch 1
        GETSET k
        SET t v EX 100
        GETSET t v2
        TTL t
        GETDEL a
        GETDEL a
        EXISTS a
        GETEX b
        GETEX b EX 100
        TTL b
        GETEX b PERSIST
        TTL b
        GETEX b PX 100000
        TTL b
        GETEX b EXAT 4102444800
        EXPIRETIME b
        GETEX b PXAT 4102444800000
        PEXPIRETIME b
        GETEX b EX 0
        GETEX b EX -1
        GETEX b EX 10 PX 10
        GETEX b EX 10 PERSIST
        GETEX b PERSIST EX 10
        GETEX b BOGUS
        GETEX b EX
        GETEX nosuch EX 10
        GETEX nosuch
        GETEX b EX 9223372036854775807
        GET b
    "#;

    append_strlen_ranges => r#"
        APPEND ap hello
        APPEND ap " world"
        GET ap
        STRLEN ap
        STRLEN nosuch
        APPEND n 1
        INCR n
        APPEND n 2
        GET n
        GETRANGE ap 0 4
        GETRANGE ap -5 -1
        GETRANGE ap 0 -1
        GETRANGE ap 5 3
        GETRANGE ap -100 2
        GETRANGE ap 0 100
        GETRANGE ap 100 200
        GETRANGE ap -1 -5
        GETRANGE ap 3 3
        GETRANGE ap a b
        GETRANGE nosuch 0 -1
        GETRANGE ap 0 9223372036854775807
        GETRANGE ap -9223372036854775808 9223372036854775807
        SUBSTR ap 0 4
        SUBSTR ap -3 -1
        SETRANGE ap 6 WORLD
        GET ap
        SETRANGE ap 20 "!"
        GET ap
        STRLEN ap
        SETRANGE new 3 abc
        GET new
        SETRANGE empty 0 ""
        EXISTS empty
        SETRANGE empty2 5 ""
        EXISTS empty2
        SETRANGE ap -1 x
        SETRANGE ap abc x
        SETRANGE ap 536870912 x
        SETRANGE ap 536870911 ""
        SETRANGE ap 0 ""
        SET num 123
        SETRANGE num 1 9
        GET num
        INCR num
        GETRANGE num 0 1
        APPEND num 4
        GET num
    "#;

    counters => r#"
        INCR c
        INCR c
        DECR c
        INCRBY c 10
        DECRBY c 3
        GET c
        INCRBY c -5
        DECRBY c -5
        INCRBY c abc
        INCRBY c 1.5
        INCRBY c ""
        INCRBY c 9223372036854775808
        SET c 9223372036854775806
        INCR c
        INCR c
        GET c
        SET c -9223372036854775807
        DECR c
        DECR c
        DECRBY c 1
        SET c 5
        DECRBY c -9223372036854775808
        DECRBY c 9223372036854775807
        INCRBY c -9223372036854775808
        SET c 0
        DECRBY c -9223372036854775808
        SET s hello
        INCR s
        DECR s
        INCRBY s 1
        INCRBYFLOAT s 1
        SET s " 1"
        INCR s
        SET s "1 "
        INCR s
        SET s 01
        INCR s
        SET s +1
        INCR s
        SET s -0
        INCR s
        SET s 1e2
        INCR s
        SET s 12345678901234567890
        INCR s
        INCR
        INCR a b
        INCRBYFLOAT f 1.5
        INCRBYFLOAT f 1.5
        INCRBYFLOAT f -0.25
        INCRBYFLOAT f 1e3
        INCRBYFLOAT f 5.0e-1
        GET f
        INCRBYFLOAT f abc
        INCRBYFLOAT f inf
        INCRBYFLOAT f -inf
        INCRBYFLOAT f nan
        INCRBYFLOAT f ""
        SET f 10.50
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f 0
        SET f 3
        INCRBYFLOAT f 0.0
        GET f
        SET f 1.5
        INCR f
        SET f "  1.5"
        INCRBYFLOAT f 1
        SET f "1.5 "
        INCRBYFLOAT f 1
    "#;

    lcs => r#"
        MSET key1 ohmytext key2 mynewtext
        LCS key1 key2
        LCS key1 key2 LEN
        LCS key1 key2 IDX
        LCS key1 key2 IDX MINMATCHLEN 4
        LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN
        LCS key1 key2 IDX WITHMATCHLEN
        LCS key1 key2 LEN IDX
        LCS key1 key2 MINMATCHLEN -1 IDX
        LCS key1 key2 MINMATCHLEN abc
        LCS key1 key2 BOGUS
        LCS key1 nosuch
        LCS nosuch1 nosuch2 LEN
        LCS nosuch1 nosuch2 IDX
        LCS key1
        MSET a ABCBDAB b BDCABA
        LCS a b
        LCS a b IDX WITHMATCHLEN
        MSET e "" f abc
        LCS e f
        LCS e f IDX
    "#;

    keys_generic => r#"
        MSET a 1 b 2 c 3
        DEL a b nosuch
        DEL a
        DEL
        EXISTS a b c c nosuch
        EXISTS
        UNLINK c nosuch
        SET k v
        TYPE k
        TYPE nosuch
        TYPE
        TOUCH k k nosuch
        TOUCH
        DBSIZE
        DBSIZE x
        sort: KEYS *
        MSET user:1 a user:2 b user:10 c other d "h[e]llo" e "a*b" f
        sort: KEYS user:*
        sort: KEYS user:?
        sort: KEYS user:[0-1]*
        sort: KEYS *[^r]
        sort: KEYS h\[e\]llo
        sort: KEYS a\*b
        sort: KEYS nomatch*
        KEYS
        RANDOMKEY x
        FLUSHDB
        RANDOMKEY
        SET only one
        RANDOMKEY
        DBSIZE
        RENAME only two
        GET two
        EXISTS only
        RENAME nosuch x
        RENAME two two
        GET two
        SET three 3
        RENAMENX two three
        RENAMENX two four
        RENAMENX nosuch x
        RENAMENX four four
        SET t v EX 100
        RENAME t t2
        TTL t2
        SET dst old
        RENAME t2 dst
        TTL dst
        FLUSHDB x
        FLUSHDB ASYNC
        FLUSHDB SYNC
        FLUSHALL BOGUS
        FLUSHALL ASYNC
        DBSIZE
    "#;

    move_copy_swapdb => r#"
        SET k v
        MOVE k 1
        EXISTS k
        SELECT 1
        GET k
        SELECT 0
        MOVE k 1
        SET k v2
        MOVE k 1
        MOVE nosuch 1
        MOVE k 0
        MOVE k 16
        MOVE k -1
        MOVE k abc
        SET t v EX 100
        MOVE t 2
        SELECT 2
        TTL t
        SELECT 0
        SET src hello EX 100
        COPY src dst
        GET dst
        TTL dst
        COPY src dst
        COPY src dst REPLACE
        COPY src dst DB 3
        SELECT 3
        GET dst
        TTL dst
        SELECT 0
        COPY src dst DB 3
        COPY src dst DB 3 REPLACE
        COPY src src
        COPY nosuch x
        COPY src x DB 99
        COPY src x DB abc
        COPY src x BOGUS
        COPY src x DB
        COPY src
        FLUSHALL
        SET a 0
        SELECT 1
        SET a 1
        SET b 1
        SWAPDB 0 1
        DBSIZE
        GET a
        SELECT 0
        DBSIZE
        GET a
        SWAPDB 0 0
        SWAPDB 0 16
        SWAPDB -1 0
        SWAPDB a 0
        SWAPDB 0 a
        SWAPDB 0
    "#;

    expire_family => r#"
        SET k v
        EXPIRE k 100
        TTL k
        EXPIRE k 100 NX
        EXPIRE k 200 XX
        TTL k
        EXPIRE k 50 GT
        EXPIRE k 500 GT
        TTL k
        EXPIRE k 600 LT
        EXPIRE k 300 LT
        TTL k
        EXPIRE k 10 NX XX
        EXPIRE k 10 GT LT
        EXPIRE k 10 NX GT
        EXPIRE k 10 BOGUS
        EXPIRE k abc
        EXPIRE k 1.5
        EXPIRE nosuch 10
        PERSIST k
        PERSIST k
        TTL k
        EXPIRE k 100 XX
        EXPIRE k 100 GT
        TTL k
        EXPIRE k 100 LT
        TTL k
        EXPIRE k 100 NX
        TTL k
        PERSIST nosuch
        PEXPIRE k 200000
        TTL k
        EXPIREAT k 4102444800
        EXPIRETIME k
        PEXPIRETIME k
        PEXPIREAT k 4102444800555
        PEXPIRETIME k
        EXPIRETIME k
        EXPIREAT k 4102444801 GT
        EXPIREAT k 4102444700 GT
        EXPIRETIME k
        PEXPIREAT k 4102444700000 LT
        EXPIRETIME k
        EXPIRETIME nosuch
        PEXPIRETIME nosuch
        TTL nosuch
        PTTL nosuch
        SET p v
        EXPIRETIME p
        PEXPIRETIME p
        TTL p
        PTTL p
        EXPIRE k 9223372036854775807
        PEXPIRE k 9223372036854775807
        EXPIREAT k 9223372036854775807
        EXPIRE k -9223372036854775808
        EXISTS k
        SET k v
        EXPIRE k 0
        EXISTS k
        SET k v
        EXPIRE k -1
        EXISTS k
        SET k v
        PEXPIRE k -100
        GET k
        SET k v
        EXPIREAT k 1
        GET k
        SET k v
        PEXPIREAT k 1000
        TYPE k
        EXPIRE
        EXPIRE k
        TTL
        TTL a b
    "#;

    numbers_and_quoting => r#"
        SET "key with spaces" "value with spaces"
        GET "key with spaces"
        SET bin "\x00\x01\xff"
        GET bin
        STRLEN bin
        SET nl "line1\nline2\r\n"
        GET nl
        SET neg -1
        INCRBY neg -9223372036854775807
        INCRBY neg -1
        GET neg
        INCRBY x 9223372036854775807
        INCR x
        DECRBY y 9223372036854775807
        DECR y
        DECR y
        GETRANGE x -1 -1
        SETRANGE x 0 1
        GET x
    "#;

    server_misc => r#"
        CONFIG GET maxmemory
        any: CONFIG GET port*
        CONFIG GET
        CONFIG SET a
        CONFIG HELP x
        SLOWLOG LEN x
        SLOWLOG GET 1 2
        SLOWLOG GET -2
        COMMAND COUNT x
        COMMAND LIST FILTERBY
        DEBUG SLEEP
        DEBUG
        CONFIG GET proto-max-bulk-len
        CONFIG SET maxclients abc
        CONFIG SET nosuch 1
        CONFIG SET timeout 100
        CONFIG GET timeout
        CONFIG SET timeout 0
        CONFIG
        CONFIG BOGUS
        CONFIG RESETSTAT
        CONFIG RESETSTAT x
        SLOWLOG RESET
        SLOWLOG LEN
        SLOWLOG BOGUS
        SLOWLOG GET abc
        any: TIME
        TIME x
        any: COMMAND COUNT
        COMMAND INFO nosuch
        COMMAND BOGUS
        DEBUG SLEEP 0
        DEBUG SLEEP abc
        DEBUG SET-ACTIVE-EXPIRE 1
        DEBUG BOGUS
        INFO nosuchsection
        DBSIZE
    "#;
    object_and_debug_introspection => r#"
        MEMORY DOCTOR
        SET small 7
        SET big 10000
        SET neg -1
        SET str bar
        SET long "a string longer than twenty bytes, compressible compressible compressible"
        OBJECT REFCOUNT small
        OBJECT REFCOUNT big
        OBJECT REFCOUNT neg
        OBJECT REFCOUNT str
        OBJECT ENCODING small
        OBJECT ENCODING long
        DEBUG LISTPACK str
        DEBUG QUICKLIST-PACKED-THRESHOLD 100
        DEBUG REPLYBUFFER PEAK-RESET-TIME 100
        DEBUG JMAP
        CONFIG SET maxmemory 100mb
        CONFIG SET maxmemory-policy allkeys-lru
        SET small2 8
        OBJECT REFCOUNT small2
        CONFIG SET maxmemory-policy noeviction
        CONFIG SET maxmemory 0
    "#;
}

// Known differences that are bugs (not legitimate): they state Redis's exact behaviour and are
// ignored until fixed, so CI stays meaningful. Run them with `cargo test -- --ignored`.

/// INCRBYFLOAT / HINCRBYFLOAT: Redis computes in `long double` (80-bit x87) and prints with
/// `%.17Lf` trimmed; ferrodis emulates that (`ldouble`), so digits past f64's precision and
/// results beyond f64's range match too.
#[test]
fn incrbyfloat_long_double() {
    run_script(
        "incrbyfloat_long_double",
        r#"
        INCRBYFLOAT g 3.0e3
        INCRBYFLOAT g 0.1
        INCRBYFLOAT g -5000
        SET big 9223372036854775807
        INCRBYFLOAT big 1
        INCRBYFLOAT h 1.23456789012345678
        INCRBYFLOAT h 100000000000000000000
        SET f 1.7976931348623157e308
        INCRBYFLOAT f 1.7976931348623157e308
        INCRBYFLOAT z 1e308
        INCRBYFLOAT z 1e308
        GET z
        INCRBYFLOAT t 0x1p-18
        INCRBYFLOAT t 0x3p-18
        INCRBYFLOAT n -1e-30
        SET w 18446744073709551616
        INCRBYFLOAT w 1
        INCRBYFLOAT w 1.5
        SET m 1.18973149535723176502e4932
        INCRBYFLOAT m 1e4900
        INCRBYFLOAT m -1e4932
        INCRBYFLOAT x 1e5000
        INCRBYFLOAT x 1e-5000
        INCRBYFLOAT x 1e-4940
        INCRBYFLOAT x +inf
        INCRBYFLOAT x " 1"
        INCRBYFLOAT x "1 "
        INCRBYFLOAT x 0X1.8P1
        INCRBYFLOAT x 007.50
        SET bad 1e
        INCRBYFLOAT bad 1
        HINCRBYFLOAT hh a 3.0e3
        HINCRBYFLOAT hh a 0.1
        HINCRBYFLOAT hh b 1e308
        HINCRBYFLOAT hh b 1e308
        HINCRBYFLOAT hh c inf
        HINCRBYFLOAT hh c nan
        HINCRBYFLOAT hh c 1e5000
        HSET hh d 9223372036854775807
        HINCRBYFLOAT hh d 1
        HSET hh e "1 "
        HINCRBYFLOAT hh e 1
        sort: HGETALL hh
        SADD l a
        HINCRBYFLOAT l f inf
        HINCRBYFLOAT l f 1
        INCRBYFLOAT l x
    "#,
    );
}

/// COMMAND INFO: Redis 7.0 returns key specifications (element 9) and tips; ferrodis returns
/// empty arrays there.
#[test]
#[ignore = "known gap: COMMAND INFO has no key specs"]
fn known_bug_command_info_key_specs() {
    run_script(
        "known_bug_command_info_key_specs",
        r#"
        COMMAND INFO get set
    "#,
    );
}
