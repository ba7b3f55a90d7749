//! `maxmemory`: used_memory accounting, eviction policies, the OOM error, and the per-key
//! access metadata (OBJECT IDLETIME/FREQ, RESTORE IDLETIME/FREQ) they rely on.

use crate::start;
use ferrodis_test_support::{info_fields, wait_until, Conn, TestServer};
use std::collections::HashMap;
use std::time::Duration;

fn info(c: &mut Conn, section: &str) -> HashMap<String, String> {
    info_fields(&c.cmd(&["INFO", section]))
}

fn num(f: &HashMap<String, String>, k: &str) -> u64 {
    f.get(k)
        .unwrap_or_else(|| panic!("INFO has no {k}"))
        .parse()
        .unwrap_or_else(|_| panic!("{k} is not a number: {}", f[k]))
}

fn used(c: &mut Conn) -> u64 {
    num(&info(c, "memory"), "used_memory")
}

fn evicted(c: &mut Conn) -> u64 {
    num(&info(c, "stats"), "evicted_keys")
}

/// Sends SETs for `keys` in pipelined batches and returns the replies in order.
fn set_many(
    c: &mut Conn,
    keys: impl Iterator<Item = String>,
    value: &str,
    ex: Option<u64>,
) -> Vec<String> {
    let keys: Vec<String> = keys.collect();
    let mut replies = Vec::with_capacity(keys.len());
    for batch in keys.chunks(200) {
        for k in batch {
            match ex {
                Some(s) => c.send(&["SET", k.as_str(), value, "EX", &s.to_string()]),
                None => c.send(&["SET", k.as_str(), value]),
            }
        }
        for _ in batch {
            replies.push(ferrodis_test_support::show(&c.read_frame()));
        }
    }
    replies
}

fn dbsize(c: &mut Conn) -> u64 {
    c.run("DBSIZE")
        .trim_start_matches(':')
        .parse()
        .expect("DBSIZE is an integer")
}

#[test]
fn noeviction_oom_matches_redis() {
    let script = [
        "SET keep v",
        "CONFIG SET maxmemory 1",
        "SET x y",
        "GET keep",
        "INCR counter",
        "DEL keep",
        "CONFIG SET maxmemory-policy volatile-lru",
        "SET x y",
        "CONFIG SET maxmemory 0",
        "SET x y",
    ];
    let run = |s: &TestServer| -> Vec<String> {
        let mut c = s.conn();
        script.iter().map(|l| c.run(l)).collect()
    };
    let ours = run(&start(&[]));
    let theirs = run(&TestServer::redis::<&str>(&[]));
    assert_eq!(ours, theirs);
    // Transactions: EXEC of a queued write is refused once over the limit; inside MULTI
    // even reads are refused (queuing costs memory) and the transaction is flagged.
    let tx = |s: &TestServer| -> Vec<String> {
        let (mut a, mut b) = (s.conn(), s.conn());
        let mut out = vec![a.run("MULTI"), a.run("SET q 1")];
        out.push(b.run("CONFIG SET maxmemory 1"));
        out.push(a.run("EXEC"));
        out.extend(["MULTI", "GET q", "DISCARD", "MULTI", "PING", "EXEC"].map(|l| a.run(l)));
        out.push(b.run("CONFIG SET maxmemory 0"));
        out.extend(["MULTI", "SET q 2", "EXEC", "GET q"].map(|l| a.run(l)));
        out
    };
    assert_eq!(tx(&start(&[])), tx(&TestServer::redis::<&str>(&[])));
    assert_eq!(
        ours[2],
        "-OOM command not allowed when used memory > 'maxmemory'."
    );
}

#[test]
fn allkeys_lru_stays_under_maxmemory() {
    let s = start(&[]);
    let mut c = s.conn();
    // Room for the replication backlog (1 MiB), the tables' first chunks (256 shards) and
    // several thousand keys.
    let limit = used(&mut c) + 8 * 1024 * 1024;
    assert_eq!(c.run(&format!("CONFIG SET maxmemory {limit}")), "+OK");
    assert_eq!(c.run("CONFIG SET maxmemory-policy allkeys-lru"), "+OK");
    let value = "x".repeat(200);
    let n = 60_000;
    let replies = set_many(&mut c, (0..n).map(|i| format!("key:{i}")), &value, None);
    assert!(replies.iter().all(|r| r == "+OK"), "every SET succeeds");
    let f = info(&mut c, "memory");
    // Per-thread counters may lag by 64 KiB each; allow for that and for the last command.
    assert!(
        num(&f, "used_memory") <= limit + 512 * 1024,
        "used_memory {} stays near maxmemory {limit}",
        num(&f, "used_memory")
    );
    assert_eq!(num(&f, "maxmemory"), limit);
    assert_eq!(f["maxmemory_policy"], "allkeys-lru");
    // Lift the limit so the background tick stops evicting before the counts are compared.
    c.run("CONFIG SET maxmemory 0");
    let keys = dbsize(&mut c);
    assert!(
        keys < n && keys > 5000,
        "some keys evicted, many kept: {keys}"
    );
    let ev = evicted(&mut c);
    assert!(
        ev > 0 && ev + keys == n,
        "evicted_keys {ev} + dbsize {keys} = {n}"
    );
}

#[test]
fn volatile_ttl_evicts_only_volatile_keys() {
    let s = start(&[]);
    let mut c = s.conn();
    let value = "p".repeat(200);
    set_many(
        &mut c,
        (0..500).map(|i| format!("persistent:{i}")),
        &value,
        None,
    );
    let limit = used(&mut c) + 2 * 1024 * 1024;
    c.run(&format!("CONFIG SET maxmemory {limit}"));
    c.run("CONFIG SET maxmemory-policy volatile-ttl");
    let replies = set_many(
        &mut c,
        (0..30_000).map(|i| format!("volatile:{i}")),
        &value,
        Some(100_000),
    );
    assert!(replies.iter().all(|r| r == "+OK"));
    assert!(evicted(&mut c) > 0, "volatile keys were evicted");
    for i in 0..500 {
        assert_eq!(
            c.run(&format!("EXISTS persistent:{i}")),
            ":1",
            "persistent:{i}"
        );
    }
    // Below what the persistent keys alone need: every volatile key goes, then OOM.
    c.run("CONFIG SET maxmemory 1");
    // Each command evicts for a bounded time; any command (GET here) continues the work.
    wait_until(
        Duration::from_secs(30),
        || {
            c.run("GET nothing");
            dbsize(&mut c) == 500
        },
        "every volatile key is evicted",
    );
    assert_eq!(
        c.run("SET more v"),
        "-OOM command not allowed when used memory > 'maxmemory'."
    );
    assert_eq!(dbsize(&mut c), 500, "only the persistent keys are left");
    assert_eq!(c.run("GET persistent:0"), format!("${value}"));
}

#[test]
fn lru_prefers_idle_keys() {
    let s = start(&[]);
    let mut c = s.conn();
    let value = "o".repeat(300);
    let old = 3000;
    set_many(&mut c, (0..old).map(|i| format!("old:{i}")), &value, None);
    // LRU time has one-second resolution: let the old keys age.
    std::thread::sleep(Duration::from_millis(2200));
    let touched: Vec<usize> = (0..old).step_by(10).collect();
    for &i in &touched {
        assert_eq!(c.run(&format!("GET old:{i}")), format!("${value}"));
    }
    let limit = used(&mut c);
    c.run(&format!("CONFIG SET maxmemory {limit}"));
    c.run("CONFIG SET maxmemory-policy allkeys-lru");
    // Room for the new keys must come from the old ones: write until about half went.
    let mut written = 0;
    while evicted(&mut c) < old as u64 / 2 {
        assert!(written < 20 * old, "evictions keep pace with writes");
        set_many(
            &mut c,
            (written..written + 100).map(|i| format!("new:{i}")),
            &value,
            None,
        );
        written += 100;
    }
    let alive = |c: &mut Conn, i: usize| c.run(&format!("EXISTS old:{i}")) == ":1";
    let touched_alive = touched.iter().filter(|&&i| alive(&mut c, i)).count();
    let idle: Vec<usize> = (0..old).filter(|i| i % 10 != 0).collect();
    let idle_alive = idle.iter().filter(|&&i| alive(&mut c, i)).count();
    let touched_rate = touched_alive as f64 / touched.len() as f64;
    let idle_rate = idle_alive as f64 / idle.len() as f64;
    let ev = evicted(&mut c) as usize;
    assert!(
        ev >= old / 3,
        "evictions happened: {ev}, dbsize {}",
        dbsize(&mut c)
    );
    assert!(
        touched_rate >= 0.9 && idle_rate <= touched_rate - 0.3,
        "recently used keys survive: touched {touched_rate:.2}, idle {idle_rate:.2}"
    );
}

#[test]
fn object_idletime_and_freq() {
    let s = start(&[]);
    let mut c = s.conn();
    c.run("SET k v");
    c.run("SET other v");
    wait_until(
        Duration::from_secs(5),
        || c.run("OBJECT IDLETIME k") != ":0",
        "k becomes idle",
    );
    // TYPE, EXISTS and OBJECT do not count as accesses; GET and TOUCH do.
    c.run("TYPE k");
    c.run("EXISTS k");
    assert_ne!(c.run("OBJECT IDLETIME k"), ":0");
    c.run("GET k");
    assert_eq!(c.run("OBJECT IDLETIME k"), ":0");
    c.run("TOUCH other");
    assert_eq!(c.run("OBJECT IDLETIME other"), ":0");
    assert!(c
        .run("OBJECT FREQ k")
        .starts_with("-ERR An LFU maxmemory policy is not selected"));
    let dump = c.cmd(&["DUMP", "k"]);
    let Some(bytes) = dump.as_bytes().map(<[u8]>::to_vec) else {
        panic!("DUMP returns a bulk string")
    };
    c.cmd(&[&b"RESTORE"[..], b"idle", b"0", &bytes, b"IDLETIME", b"1000"]);
    let idle: i64 = c.run("OBJECT IDLETIME idle")[1..].parse().expect("integer");
    assert!((1000..=1002).contains(&idle), "{idle}");
    // Under an LRU policy snapshots record idle times (RDB IDLE), so a reload keeps them.
    c.run("CONFIG SET maxmemory-policy allkeys-lru");
    assert_eq!(c.run("DEBUG RELOAD"), "+OK");
    let idle: i64 = c.run("OBJECT IDLETIME idle")[1..].parse().expect("integer");
    assert!((1000..=1004).contains(&idle), "after reload: {idle}");

    c.run("CONFIG SET maxmemory-policy allkeys-lfu");
    assert!(c
        .run("OBJECT IDLETIME k")
        .starts_with("-ERR An LFU maxmemory policy is selected, idle time not tracked."));
    c.run("SET fresh v");
    assert_eq!(
        c.run("OBJECT FREQ fresh"),
        ":5",
        "new keys start at LFU_INIT_VAL"
    );
    for _ in 0..200 {
        c.run("GET fresh");
    }
    let freq: i64 = c.run("OBJECT FREQ fresh")[1..].parse().expect("integer");
    assert!(freq > 5 && freq < 255, "{freq}");
    c.cmd(&[&b"RESTORE"[..], b"hot", b"0", &bytes, b"FREQ", b"100"]);
    assert_eq!(c.run("OBJECT FREQ hot"), ":100");
    assert_eq!(c.run("DEBUG RELOAD"), "+OK");
    assert_eq!(
        c.run("OBJECT FREQ hot"),
        ":100",
        "RDB FREQ survives a reload"
    );
}

#[test]
fn info_memory_fields() {
    let s = start(&[]);
    let mut c = s.conn();
    let f = info(&mut c, "memory");
    for k in [
        "used_memory",
        "used_memory_rss",
        "used_memory_peak",
        "used_memory_overhead",
        "used_memory_startup",
        "used_memory_dataset",
        "maxmemory",
        "mem_fragmentation_bytes",
    ] {
        assert!(f.contains_key(k), "INFO memory has {k}");
    }
    let before = num(&f, "used_memory");
    assert!(before > 0 && num(&f, "used_memory_rss") > 0);
    assert!(num(&f, "used_memory_peak") >= before);
    assert_eq!(f["maxmemory_policy"], "noeviction");
    assert_eq!(f["maxmemory_human"], "0B");
    let ratio: f64 = f["mem_fragmentation_ratio"].parse().expect("a ratio");
    assert!(ratio > 0.0);
    assert!(f["used_memory_human"].ends_with('K') || f["used_memory_human"].ends_with('M'));
    c.cmd(&["SET", "big", &"b".repeat(4 << 20)]);
    let during = used(&mut c);
    assert!(during >= before + (4 << 20), "{before} -> {during}");
    c.run("DEL big");
    let after = used(&mut c);
    assert!(after < during - (3 << 20), "{during} -> {after}");
    assert!(num(&info(&mut c, "memory"), "used_memory_peak") >= during);
    c.run("CONFIG SET maxmemory 100mb");
    assert_eq!(info(&mut c, "memory")["maxmemory_human"], "100.00M");
}

#[test]
fn lfu_prefers_frequently_used_keys() {
    let s = start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    let value = "f".repeat(300);
    let old = 3000;
    set_many(&mut c, (0..old).map(|i| format!("old:{i}")), &value, None);
    // Every access of a key at the initial counter bumps it, so hot keys rank above cold
    // ones (and above the new keys written below) without waiting.
    let hot: Vec<usize> = (0..old).step_by(10).collect();
    for _ in 0..5 {
        for &i in &hot {
            c.send(&["GET", &format!("old:{i}")]);
        }
        for _ in &hot {
            c.read_frame();
        }
    }
    assert!(
        c.run("OBJECT FREQ old:0")[1..]
            .parse::<u32>()
            .expect("integer")
            > 5
    );
    let limit = used(&mut c);
    c.run(&format!("CONFIG SET maxmemory {limit}"));
    let mut written = 0;
    while evicted(&mut c) < old as u64 / 2 {
        assert!(written < 20 * old, "evictions keep pace with writes");
        set_many(
            &mut c,
            (written..written + 100).map(|i| format!("new:{i}")),
            &value,
            None,
        );
        written += 100;
    }
    let alive = |c: &mut Conn, i: usize| c.run(&format!("EXISTS old:{i}")) == ":1";
    let hot_alive = hot.iter().filter(|&&i| alive(&mut c, i)).count();
    let hot_rate = hot_alive as f64 / hot.len() as f64;
    assert!(
        hot_rate >= 0.9,
        "frequently used keys survive: {hot_rate:.2}"
    );
}
