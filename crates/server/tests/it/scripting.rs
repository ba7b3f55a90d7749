//! Lua scripting: EVAL/EVALSHA/EVAL_RO/EVALSHA_RO and SCRIPT against redis-server 7.0
//! (byte-identical replies, errors included), effects replication in both directions
//! (DEBUG DIGEST), scripts on a read-only replica, busy scripts and SCRIPT KILL, and
//! redis-py's `Lock` and `register_script`.

use crate::differential::run_script;
use crate::start;
use ferrodis_test_support::{info_fields, show, text, wait_until, Conn, Frame, TestServer};
use std::process::Command;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

#[test]
fn scripting_replies_and_conversions() {
    run_script(
        "scripting_replies_and_conversions",
        r##"
        EVAL "return 1" 0
        EVAL "return 3.99" 0
        EVAL "return -2.7" 0
        EVAL "return 9007199254740993" 0
        EVAL "return 'hello'" 0
        EVAL "return true" 0
        EVAL "return false" 0
        EVAL "return nil" 0
        EVAL "return" 0
        EVAL "return {1,2,3,'ciao',{1,2}, nil, 4}" 0
        EVAL "return {1, 2.7, -2.7, 'x', true, false, 5}" 0
        EVAL "return {1, {2, {3, {4}}}}" 0
        EVAL "return {}" 0
        EVAL "return {err='My Error'}" 0
        EVAL "return {err='a\nb'}" 0
        EVAL "return {ok='fine'}" 0
        EVAL "return {err=1}" 0
        EVAL "return {ok=1}" 0
        EVAL "return redis.error_reply('x')" 0
        EVAL "return redis.error_reply('MY err')" 0
        EVAL "return redis.error_reply('-FOO')" 0
        EVAL "return redis.status_reply('st')" 0
        EVAL "return redis.sha1hex('abc')" 0
        EVAL "return redis.sha1hex('')" 0
        EVAL "return redis.sha1hex()" 0
        EVAL "return redis.REDIS_VERSION" 0
        EVAL "return redis.REDIS_VERSION_NUM" 0
        EVAL "return redis.replicate_commands()" 0
        EVAL "return redis.set_repl(redis.REPL_ALL)" 0
        EVAL "return redis.set_repl(9)" 0
        EVAL "return redis.set_repl()" 0
        EVAL "return redis.setresp(2)" 0
        EVAL "return redis.setresp(4)" 0
        EVAL "return redis.setresp()" 0
        EVAL "return tostring(redis.LOG_WARNING)..redis.LOG_NOTICE..redis.LOG_VERBOSE..redis.LOG_DEBUG" 0
        EVAL "return redis.log(redis.LOG_WARNING, 'hello', 'x')" 0
        EVAL "return redis.log(99, 'hello')" 0
        EVAL "return redis.log(1)" 0
        EVAL "return #KEYS + #ARGV" 2 a b c d e
        EVAL "return ARGV" 0 1 2 3
        EVAL "return KEYS" 3 1 2 3
        EVAL "return {KEYS[1], ARGV[1]}" 1 k v
        EVAL "return 1" -1
        EVAL "return 1" 3 a
        EVAL "return 1" x
        EVAL "return 1"
        EVALSHA ffffffffffffffffffffffffffffffffffffffff 0
        EVALSHA fff 0
        EVAL "return {math.random(1000), math.random(1000), math.floor(math.random() * 1e9)}" 0
        EVAL "math.randomseed(42) return {math.random(1000), math.random(5, 9), math.floor(math.random() * 1e9)}" 0
        EVAL "return math.random(0)" 0
        EVAL "return math.random('x')" 0
        EVAL "return math.random(1, 2, 3)" 0
        EVAL "return tonumber('0x10')" 0
        EVAL "return string.format('%d %s %5.2f', 3, 'x', 3.14159)" 0
        EVAL "return table.concat({1,2,3}, ',')" 0
        EVAL "return math.floor(3.7)" 0
        EVAL "return string.rep('x', 3)" 0
        EVAL "local s = 0; for i=1,100000 do s = s + i end; return s" 0
        EVAL "return unpack({1,2,3})" 0
        EVAL "return loadstring('return 1')()" 0
        EVAL "return tostring(1/0)" 0
        EVAL "return coroutine.wrap(function() coroutine.yield(5) end)()" 0
        EVAL "return cjson.encode({1,2,3,'a/b',{x=1}})" 0
        EVAL "return cjson.encode({a={b={c=1.5}}})" 0
        EVAL "return cjson.encode({})" 0
        EVAL "return cjson.encode({[1]=1,[3]=3})" 0
        EVAL "return cjson.encode({[1]=1,[30]=3})" 0
        EVAL "return cjson.encode(3.14159265358979)" 0
        EVAL "return cjson.encode(1e20)" 0
        EVAL "return cjson.encode(0.1)" 0
        EVAL "return cjson.encode(-0.0001)" 0
        EVAL "return cjson.encode(123456789012345)" 0
        EVAL "return cjson.encode(nil)" 0
        EVAL "return cjson.encode(cjson.null)" 0
        EVAL "return cjson.encode(function() end)" 0
        EVAL "local t = cjson.decode('{\"a\":[1,2,{\"b\":null}],\"c\":\"x\\u00e9y\"}') return {t.a[1], t.a[2], tostring(t.a[3].b == cjson.null), t.c}" 0
        EVAL "return cjson.decode('[1,2')" 0
        EVAL "return cjson.decode('3.5')" 0
        EVAL "return {bit.band(0xff, 0x0f), bit.bor(1,2,4), bit.bxor(5,3), bit.bnot(0), bit.lshift(1,31), bit.rshift(-1, 28), bit.arshift(-16, 2), bit.tohex(255), bit.tohex(-1, -4), bit.tobit(2^32+5), bit.rol(1, 33)}" 0
        EVAL "return cmsgpack.pack(1,2,3)" 0
        EVAL "return cmsgpack.pack({1,2,3})" 0
        EVAL "return cmsgpack.pack({a=1})" 0
        EVAL "return cmsgpack.pack(-1, -33, -200, -40000, -3000000000, 200, 70000, 5000000000)" 0
        EVAL "return cmsgpack.pack(1.5, 0.1, 1e300, -0.0)" 0
        EVAL "return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300), '')" 0
        EVAL "return cmsgpack.pack({})" 0
        EVAL "return cmsgpack.pack({1,nil,3})" 0
        EVAL "return cmsgpack.pack(true, false, nil)" 0
        EVAL "return cmsgpack.pack()" 0
        EVAL "return cmsgpack.unpack(cmsgpack.pack({1,2,{a='b'}}))[3].a" 0
        EVAL "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', -3, 2.5, 70000))}" 0
        EVAL "return cmsgpack.unpack('xc1')" 0
        EVAL "return select('#', cmsgpack.unpack(''))" 0
        EVAL "return cmsgpack.pack({{{{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}})" 0
        EVAL "#!lua\nreturn 1" 0
        EVAL "#!lua flags=no-writes\nreturn redis.call('set','a','b')" 0
        EVAL "#!lua flags=no-writes,allow-stale\nreturn 2" 0
        EVAL "#!lua flags=bad\nreturn 2" 0
        EVAL "#!lua name=x\nreturn 2" 0
        EVAL "#!foo\nreturn 2" 0
        EVAL "#!lua flags=\nreturn 3" 0
        EVAL "#!lua   flags=no-writes  \nreturn 4" 0
        EVAL "#!lua" 0
        EVAL_RO "#!lua\nreturn 1" 0
        EVAL_RO "#!lua flags=no-writes\nreturn 1" 0
        EVAL "#!lua\n\nerror('x')" 0
        SCRIPT LOAD "#!lua flags=zz\nreturn 1"
        SCRIPT LOAD "return 'loaded'"
        EVALSHA 9d0cd2bd7a7a9a0d95e4c6bb0bb6c8f54d2cfd35 0
        EVALSHA 9D0CD2BD7A7A9A0D95E4C6BB0BB6C8F54D2CFD35 0
        SCRIPT EXISTS 9d0cd2bd7a7a9a0d95e4c6bb0bb6c8f54d2cfd35 ffff
        EVAL "return 'cached by eval'" 0
        SCRIPT EXISTS 6b2c7e7a4e4b5d9a8f4e2b1d3c7a9e5f6b8d0c2a
        SCRIPT FLUSH
        SCRIPT EXISTS 9d0cd2bd7a7a9a0d95e4c6bb0bb6c8f54d2cfd35
        EVALSHA 9d0cd2bd7a7a9a0d95e4c6bb0bb6c8f54d2cfd35 0
        SCRIPT FLUSH ASYNC
        SCRIPT FLUSH SYNC
        SCRIPT FLUSH foo
        SCRIPT KILL
        SCRIPT foo
        SCRIPT
        SCRIPT LOAD
        SCRIPT LOAD "syntax error here"
        SCRIPT HELP
        "##,
    );
}

#[test]
fn scripting_errors() {
    run_script(
        "scripting_errors",
        r#"
        EVAL "return redis.call('nosuch')" 0
        EVAL "return redis.call('get')" 0
        EVAL "return redis.pcall('get')" 0
        EVAL "return redis.call('multi')" 0
        EVAL "return redis.call('eval','return 1', 0)" 0
        EVAL "return redis.call('script','load','return 1')" 0
        EVAL "return redis.call('blpop','l', 0)" 0
        EVAL "return redis.call('subscribe','c')" 0
        EVAL "return redis.call('watch','c')" 0
        EVAL_RO "return redis.call('set','a','b')" 1 a
        EVAL_RO "return redis.call('get','a')" 1 a
        EVAL "return x.y" 0
        EVAL "foo = 1" 0
        EVAL "string.foo = 1" 0
        EVAL "return _G.x" 0
        EVAL "rawset(_G,'zz',1) return zz" 0
        EVAL "setmetatable(_G, nil)" 0
        EVAL "return loadstring('x = 1')()" 0
        EVAL "error('boom')" 0
        EVAL "error({err='ERR custom'})" 0
        EVAL "local function f() error('deep') end\nlocal x = 1\nf()" 0
        EVAL "syntax error here" 0
        EVAL "return redis.call('set','x',{})" 0
        EVAL "return redis.call()" 0
        EVAL "return redis.call(1)" 0
        EVAL "return redis.pcall('set','x',{})" 0
        SET s abc
        EVAL "return redis.call('incr', KEYS[1])" 1 s
        EVAL "return redis.pcall('incr', KEYS[1])" 1 s
        EVAL "return type(redis.pcall('incr', KEYS[1]))" 1 s
        EVAL "local ok, e = pcall(redis.call, 'incr', 's'); return {tostring(ok), type(e), e}" 0
        EVAL "local ok, e = pcall(function() error('x') end); return {tostring(ok), e}" 0
        EVAL "local ok, e = pcall(function() error({err='yy'}) end); return {tostring(ok), e}" 0
        EVAL "return redis.call('SET','a','b','EX','x')" 0
        EVAL "redis.call('set','partial','1'); return redis.call('lpush','partial','x')" 0
        GET partial
        "#,
    );
}

#[test]
fn scripting_data_commands() {
    run_script(
        "scripting_data_commands",
        r#"
        EVAL "return {redis.call('set', KEYS[1], ARGV[1]), redis.call('get', KEYS[1]), redis.call('exists', KEYS[1], 'nokey'), redis.call('get','nokey')}" 1 k1 v1
        EVAL "return redis.call('incr', KEYS[1])" 1 counter
        EVAL "return redis.call('incr', KEYS[1])" 1 counter
        EVAL "return redis.call('set','fl',3.5)" 0
        GET fl
        EVAL "return redis.call('hgetall', 'nohash')" 0
        HSET h a 1 b 2
        EVAL "return redis.call('hgetall', 'h')" 0
        EVAL "return redis.call('hget', 'h', 'zz')" 0
        EVAL "return type(redis.call('hget', 'h', 'zz'))" 0
        EVAL "return redis.call('ping')" 0
        EVAL "return redis.call('ping')['ok']" 0
        EVAL "return redis.call('incrbyfloat','f', '1.5')" 0
        EVAL "return redis.call('zadd','z', 1.5, 'a')" 0
        EVAL "return redis.call('zscore','z','a')" 0
        EVAL "return redis.call('zrange','z',0,-1,'withscores')" 0
        EVAL "return redis.call('dbsize')" 0
        EVAL "return redis.call('type','h')" 0
        EVAL "return redis.call('lpush','l','a','b')" 0
        EVAL "return redis.call('lpop','l', 5)" 0
        EVAL "return redis.call('lpop','l')" 0
        EVAL "return redis.call('GeT','k1')" 0
        EVAL "redis.call('select', 5); redis.call('set','indb5','x'); return redis.call('get','indb5')" 0
        GET indb5
        SELECT 5
        GET indb5
        SELECT 0
        EVAL "return type(redis.call('info'))" 0
        EVAL "return string.sub(redis.call('info', 'keyspace'), 1, 10)" 0
        EVAL "return redis.call('del', unpack(KEYS))" 3 k1 counter h
        EVAL "for i=1,100 do redis.call('rpush', KEYS[1], i) end return redis.call('llen', KEYS[1])" 1 biglist
        EVAL "return redis.call('lrange', KEYS[1], 0, 4)" 1 biglist
        EVAL "local t = {} for i=1,10 do t[i] = redis.call('incr', 'c') end return t" 0
        MULTI
        EVAL "return redis.call('incr', 'c')" 0
        EVAL "return redis.call('nosuch')" 0
        INCR c
        EXEC
        any: HELLO 3
        EVAL "return redis.call('hgetall', 'nohash')" 0
        EVAL "return {1, 'two', {3}}" 0
        EVAL "return {double=3.5}" 0
        EVAL "return {map={a=1}}" 0
        EVAL "return {set={a=true}}" 0
        EVAL "return nil" 0
        EVAL "return false" 0
        EVAL "redis.setresp(3); return redis.call('hgetall', 'nohash')" 0
        EVAL "redis.setresp(3); return type(redis.call('get', 'nokey'))" 0
        EVAL "redis.setresp(3); local r = redis.call('zscore', 'z', 'a'); return r['double']" 0
        "#,
    );
}

fn info(c: &mut Conn, section: &str) -> std::collections::HashMap<String, String> {
    info_fields(&c.cmd(&["INFO", section]))
}

fn wait_link(m: &TestServer, r: &TestServer) {
    let (mut mc, mut rc) = (m.conn(), r.conn());
    wait_until(
        LONG,
        || {
            let mo = info(&mut mc, "replication")
                .get("master_repl_offset")
                .cloned();
            let f = info(&mut rc, "replication");
            f.get("master_link_status").map(String::as_str) == Some("up")
                && f.get("master_repl_offset") == mo.as_ref()
        },
        "replica in sync with the master",
    );
}

/// Scripts that write in several ways (several effects, one effect, reads only, expired
/// keys, SELECT inside the script, non-deterministic values, inside MULTI).
fn run_writing_scripts(c: &mut Conn) {
    c.cmd(&["SET", "gone", "x", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(20));
    let scripts: &[&[&str]] = &[
        &["EVAL", "redis.call('set', KEYS[1], ARGV[1]); redis.call('incr', 'n'); return 1", "1", "a", "va"],
        &["EVAL", "return redis.call('set', KEYS[1], 'single')", "1", "b"],
        &["EVAL", "return redis.call('get', 'a')", "0"],
        &["EVAL", "return redis.call('get', 'gone')", "0"],
        &["EVAL", "redis.call('select', 3); redis.call('set', 'in3', 'x'); redis.call('select', 0); return redis.call('set', 'in0', 'y')", "0"],
        &["EVAL", "local t = redis.call('time'); return redis.call('set', 'now', t[1] .. '.' .. t[2])", "0"],
        &["EVAL", "return redis.call('set', 'r', math.random(1000000))", "0"],
        &["EVAL", "redis.call('set', 'ex', 'v', 'EX', 100); redis.call('expire', 'a', 500); return redis.call('ttl', 'ex')", "0"],
        &["EVAL", "for i = 1, 50 do redis.call('rpush', 'list', i) end; redis.call('spop', 'noset'); return redis.call('lpop', 'list')", "0"],
        &["EVAL", "redis.call('sadd', 's', 'a', 'b', 'c', 'd'); return redis.call('spop', 's')", "0"],
        &["EVAL", "redis.call('incrbyfloat', 'fl', '1.1'); return redis.call('hset', 'h', 'f', 'v')", "0"],
        &["EVAL", "redis.call('set', 'before_error', '1'); return redis.call('nosuch')", "0"],
    ];
    for s in scripts {
        c.cmd(s);
    }
    c.run("MULTI");
    c.cmd(&["SET", "tx", "1"]);
    c.cmd(&[
        "EVAL",
        "redis.call('incr', 'tx'); return redis.call('incr', 'tx')",
        "0",
    ]);
    c.cmd(&["SET", "tx2", "2"]);
    c.run("EXEC");
    let sha = text(&c.cmd(&[
        "SCRIPT",
        "LOAD",
        "return redis.call('incrby', KEYS[1], ARGV[1])",
    ]));
    for i in 0..20 {
        c.cmd(&["EVALSHA", &sha, "1", &format!("k{}", i % 5), &i.to_string()]);
    }
}

#[test]
fn script_effects_replicate_to_a_redis_replica() {
    let m = start(&["--repl-diskless-sync-delay", "0"]);
    let mut mc = m.conn();
    mc.run("SET pre 1");
    let port = m.port().to_string();
    let r = TestServer::redis(&["--replicaof", "127.0.0.1", &port]);
    wait_link(&m, &r);
    run_writing_scripts(&mut mc);
    wait_link(&m, &r);
    let mut rc = r.conn();
    assert_eq!(
        show(&mc.cmd(&["DEBUG", "DIGEST"])),
        show(&rc.cmd(&["DEBUG", "DIGEST"])),
        "redis-server replica differs from the ferrodis master after scripts"
    );
    assert_eq!(show(&rc.cmd(&["GET", "tx"])), "$3"); // "3"
    assert_eq!(text(&rc.cmd(&["GET", "tx"])), "3");
    assert_eq!(text(&rc.cmd(&["GET", "before_error"])), "1");
    // Effects, not bodies: the replica never ran a script.
    let stats = text(&rc.cmd(&["INFO", "commandstats"]));
    assert!(!stats.contains("cmdstat_eval"), "{stats}");
}

#[test]
fn ferrodis_replica_follows_a_redis_master_running_scripts() {
    let m = TestServer::redis::<&str>(&[]);
    let port = m.port().to_string();
    let r = start(&["--replicaof", "127.0.0.1", &port]);
    wait_link(&m, &r);
    let mut mc = m.conn();
    run_writing_scripts(&mut mc);
    wait_link(&m, &r);
    let mut rc = r.conn();
    assert_eq!(
        show(&mc.cmd(&["DEBUG", "DIGEST"])),
        show(&rc.cmd(&["DEBUG", "DIGEST"])),
        "ferrodis replica differs from the redis-server master after scripts"
    );
}

#[test]
fn scripts_on_a_read_only_replica() {
    // The same calls on a redis-server replica and a ferrodis replica (both of a master that
    // does not exist) must answer identically.
    let rr = TestServer::redis(&["--replicaof", "127.0.0.1", "1"]);
    let fr = start(&["--replicaof", "127.0.0.1", "1"]);
    let (mut a, mut b) = (rr.conn(), fr.conn());
    let calls: &[&[&str]] = &[
        &["EVAL", "return redis.call('set','a','b')", "0"],
        &["EVAL", "return redis.pcall('set','a','b')", "0"],
        &["EVAL", "return redis.call('get','a')", "0"],
        &["EVAL_RO", "return redis.call('get','a')", "0"],
        &["EVAL", "return 1", "0"],
        &["EVAL", "#!lua\nreturn 1", "0"],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get','a')",
            "0",
        ],
        &["EVAL_RO", "#!lua\nreturn 1", "0"],
        &["CONFIG", "SET", "replica-serve-stale-data", "no"],
        &["EVAL", "return 1", "0"],
        &["EVAL_RO", "return 1", "0"],
    ];
    for c in calls {
        let (x, y) = (a.cmd(c), b.cmd(c));
        assert_eq!(show(&x), show(&y), "{c:?}");
    }
}

#[test]
fn busy_script_and_script_kill() {
    // Default threading (one I/O thread): the script runs on the script thread, so the other
    // clients are still answered (-BUSY once the threshold has passed).
    let s = start(&["--busy-reply-threshold", "100"]);
    let mut runner = s.conn();
    runner.send(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
    let mut others: Vec<Conn> = (0..3).map(|_| s.conn()).collect();
    for o in &mut others {
        o.set_timeout(Duration::from_millis(500));
    }
    // They see -BUSY.
    let mut busy = None;
    wait_until(
        LONG,
        || {
            for (i, o) in others.iter_mut().enumerate() {
                o.send(&["PING"]);
                if let Ok(f) = o.try_read_frame() {
                    let t = show(&f);
                    if t.starts_with("-BUSY") {
                        assert_eq!(t, "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
                        busy = Some(i);
                        return true;
                    }
                }
            }
            false
        },
        "a client gets -BUSY",
    );
    let i = busy.unwrap_or(0);
    let o = &mut others[i];
    o.set_timeout(Duration::from_secs(10));
    assert_eq!(show(&o.cmd(&["SCRIPT", "KILL"])), "+OK");
    runner.set_timeout(Duration::from_secs(10));
    let r = show(&runner.read_frame());
    assert!(
        r.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "),
        "{r}"
    );
    assert_eq!(show(&o.cmd(&["PING"])), "+PONG");
    assert_eq!(
        show(&o.cmd(&["SCRIPT", "KILL"])),
        "-NOTBUSY No scripts in execution right now."
    );

    // A script that wrote cannot be killed.
    runner.send(&[
        "EVAL",
        "redis.call('set','w','1') local t = redis.call('time') local s = tonumber(t[1]) while true do local n = redis.call('time') if tonumber(n[1]) > s + 1 then break end end return 'done'",
        "0",
    ]);
    wait_until(
        LONG,
        || {
            let f = o.cmd(&["SCRIPT", "KILL"]);
            let t = show(&f);
            t.starts_with("-UNKILLABLE")
        },
        "SCRIPT KILL answers -UNKILLABLE",
    );
    assert_eq!(show(&runner.read_frame()), "$done");
    assert_eq!(text(&o.cmd(&["GET", "w"])), "1");
    // New connections are accepted meanwhile too (the main thread never waits on shards).
    runner.send(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
    wait_until(
        LONG,
        || {
            let mut fresh = s.conn();
            fresh.set_timeout(Duration::from_secs(5));
            show(&fresh.cmd(&["PING"])).starts_with("-BUSY")
        },
        "a new connection gets -BUSY",
    );
    assert_eq!(
        show(&o.cmd(&["SHUTDOWN"])),
        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    assert_eq!(show(&o.cmd(&["SCRIPT", "KILL"])), "+OK");
    let r = show(&runner.read_frame());
    assert!(r.starts_with("-ERR Script killed"), "{r}");
}

const PY_LOCK: &str = r#"
import sys, threading, time
import redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
# Lock: acquire / extend / reacquire / release use Lua scripts.
lock = r.lock("res", timeout=5, blocking_timeout=1)
assert lock.acquire() is True
token = lock.local.token
assert r.get("res") == (token.decode() if isinstance(token, bytes) else token)
assert lock.owned()
assert lock.extend(10)
assert 10 < r.pttl("res") / 1000 <= 15, r.pttl("res")
assert lock.reacquire()
other = r.lock("res", timeout=5, blocking_timeout=0.2)
assert other.acquire() is False
lock.release()
assert r.get("res") is None
assert other.acquire() is True
try:
    lock.release()
    raise SystemExit("releasing a lock we do not own must fail")
except redis.exceptions.LockError:
    pass
other.release()
# Mutual exclusion across threads.
counter = {"n": 0}
def work():
    for _ in range(20):
        with r.lock("mutex", timeout=5, blocking_timeout=10):
            v = counter["n"]
            time.sleep(0.001)
            counter["n"] = v + 1
ts = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
assert counter["n"] == 80, counter
# register_script: EVALSHA, falling back to EVAL after SCRIPT FLUSH (NOSCRIPT).
add = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
assert add(keys=["cnt"], args=[5]) == 5
r.script_flush()
assert add(keys=["cnt"], args=[2]) == 7
assert r.script_exists(add.sha) == [True]
p = r.pipeline()
add(keys=["cnt"], args=[1], client=p)
add(keys=["cnt"], args=[1], client=p)
assert p.execute() == [8, 9]
# A sliding-window rate limiter as commonly written.
limiter = r.register_script("""
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, 0, now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, now .. '-' .. math.random(1000000))
  redis.call('PEXPIRE', key, window)
  return 1
end
return 0
""")
allowed = sum(limiter(keys=["rl"], args=[1000 + i, 100, 10]) for i in range(30))
assert allowed == 10, allowed
try:
    r.eval("return redis.call('nosuch')", 0)
    raise SystemExit("expected an error")
except redis.exceptions.ResponseError as e:
    assert "Unknown Redis command called from script" in str(e), str(e)
print("redis-py scripting OK")
"#;

#[test]
fn redis_py_lock_and_register_script() {
    let s = start(&[]);
    let out = Command::new("python3")
        .args(["-c", PY_LOCK, &s.port().to_string()])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "redis-py scripting failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn info_counts_cached_scripts() {
    let s = start(&[]);
    let mut c = s.conn();
    c.cmd(&["SCRIPT", "LOAD", "return 1"]);
    c.cmd(&["EVAL", "return 2", "0"]);
    let f = info(&mut c, "memory");
    assert_eq!(
        f.get("number_of_cached_scripts").map(String::as_str),
        Some("2")
    );
    assert_ne!(f.get("used_memory_lua").map(String::as_str), Some("0"));
    c.cmd(&["SCRIPT", "FLUSH"]);
    let f = info(&mut c, "memory");
    assert_eq!(
        f.get("number_of_cached_scripts").map(String::as_str),
        Some("0")
    );
    let cmd = c.cmd(&["COMMAND", "INFO", "eval", "evalsha_ro", "script"]);
    let Frame::Array(rows) = cmd else {
        panic!("COMMAND INFO: {}", show(&cmd))
    };
    assert_eq!(rows.len(), 3);
    assert!(show(&rows[0]).contains("eval"), "{}", show(&rows[0]));
}

#[test]
fn monitor_shows_eval_then_its_commands_as_lua() {
    let s = start(&[]);
    let mut m = s.conn();
    assert_eq!(show(&m.cmd(&["MONITOR"])), "+OK");
    let mut c = s.conn();
    c.cmd(&[
        "EVAL",
        "redis.call('set', KEYS[1], 'v') redis.call('select', 2) return redis.call('get', KEYS[1])",
        "1",
        "mk",
    ]);
    let lines: Vec<String> = (0..4).map(|_| show(&m.read_frame())).collect();
    assert!(lines[0].contains("] \"EVAL\""), "{lines:?}");
    assert!(
        lines[1].ends_with("[0 lua] \"set\" \"mk\" \"v\""),
        "{lines:?}"
    );
    assert!(lines[2].ends_with("[0 lua] \"select\" \"2\""), "{lines:?}");
    assert!(lines[3].ends_with("[2 lua] \"get\" \"mk\""), "{lines:?}");
}
