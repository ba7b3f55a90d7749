//! Generic key commands over TCP, including SCAN's guarantee under concurrent changes.

use crate::start;
use ferrodis_test_support::{show, strings, Conn, Frame};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Full SCAN iteration with extra arguments; returns every key returned (with duplicates
/// removed) and checks the cursor protocol.
fn scan_all(c: &mut Conn, extra: &[&str]) -> HashSet<String> {
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut rounds = 0;
    loop {
        let mut args = vec!["SCAN".to_string(), cursor.clone()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let r = c.cmd(&args);
        let Frame::Array(parts) = &r else {
            panic!("SCAN reply: {}", show(&r));
        };
        assert_eq!(parts.len(), 2, "SCAN reply: {}", show(&r));
        cursor = String::from_utf8_lossy(parts[0].as_bytes().expect("cursor bulk")).into_owned();
        seen.extend(strings(&parts[1]));
        rounds += 1;
        assert!(rounds < 1_000_000, "SCAN never returned cursor 0");
        if cursor == "0" {
            return seen;
        }
    }
}

#[test]
fn del_exists_type_touch_dbsize() {
    let s = start(&[]);
    let mut c = s.conn();
    c.run("MSET a 1 b 2 c 3");
    assert_eq!(c.run("EXISTS a a b nosuch"), ":3");
    assert_eq!(c.run("TYPE a"), "+string");
    assert_eq!(c.run("TYPE nosuch"), "+none");
    assert_eq!(c.run("TOUCH a b nosuch"), ":2");
    assert_eq!(c.run("DBSIZE"), ":3");
    assert_eq!(c.run("DEL a nosuch"), ":1");
    assert_eq!(c.run("UNLINK b c"), ":2");
    assert_eq!(c.run("DBSIZE"), ":0");
}

#[test]
fn keys_and_randomkey() {
    let s = start(&[]);
    let mut c = s.conn();
    for i in 0..100 {
        c.run(&format!("SET user:{i} x"));
    }
    c.run("SET other y");
    let mut k = strings(&c.cmd(&["KEYS", "user:1?"]));
    k.sort();
    let want: Vec<String> = (10..20).map(|i| format!("user:{i}")).collect();
    assert_eq!(k, want);
    assert_eq!(strings(&c.cmd(&["KEYS", "*"])).len(), 101);
    let r = c.run("RANDOMKEY");
    assert!(r.starts_with("$user:") || r == "$other", "{r}");
    c.run("FLUSHDB");
    assert_eq!(c.run("RANDOMKEY"), "nil");
}

#[test]
fn scan_match_count_type() {
    let s = start(&[]);
    let mut c = s.conn();
    for i in 0..500 {
        c.run(&format!("SET key:{i} v"));
    }
    let all = scan_all(&mut c, &["COUNT", "7"]);
    assert_eq!(all.len(), 500);
    let m = scan_all(&mut c, &["MATCH", "key:1*", "COUNT", "50"]);
    assert_eq!(m.len(), 111, "key:1, key:10-19, key:100-199");
    assert!(m.iter().all(|k| k.starts_with("key:1")));
    assert_eq!(scan_all(&mut c, &["TYPE", "string"]).len(), 500);
    assert_eq!(scan_all(&mut c, &["TYPE", "list"]).len(), 0);
    assert_eq!(c.run("SCAN abc"), "-ERR invalid cursor");
    assert_eq!(c.run("SCAN 0 COUNT 0"), "-ERR syntax error");
    assert_eq!(c.run("SCAN 0 BOGUS 1"), "-ERR syntax error");
}

#[test]
fn scan_returns_stable_keys_while_others_change() {
    let s = start(&[]);
    let mut c = s.conn();
    let stable: HashSet<String> = (0..3000).map(|i| format!("stable:{i}")).collect();
    let mut args = vec!["MSET".to_string()];
    for k in &stable {
        args.push(k.clone());
        args.push("v".into());
    }
    assert_eq!(show(&c.cmd(&args)), "+OK");
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = (0..2)
        .map(|t| {
            let stop = stop.clone();
            let port = s.port();
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    c.run(&format!("SET churn:{t}:{i} v"));
                    if i >= 50 {
                        c.run(&format!("DEL churn:{t}:{}", i - 50));
                    }
                    i += 1;
                }
                i
            })
        })
        .collect();
    let seen = scan_all(&mut c, &["COUNT", "10"]);
    stop.store(true, Ordering::Relaxed);
    let mut writes = 0;
    for t in churners {
        writes += t.join().expect("churn thread");
    }
    let missing: Vec<&String> = stable.iter().filter(|k| !seen.contains(*k)).collect();
    assert!(
        missing.is_empty(),
        "SCAN missed {} keys present for the whole scan (e.g. {:?}) while {writes} writes ran",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
}

#[test]
fn rename_move_copy_swapdb_flush() {
    let s = start(&[]);
    let mut c = s.conn();
    c.run("SET a 1 EX 100");
    assert_eq!(c.run("RENAME a b"), "+OK");
    assert_eq!(c.run("TTL b"), ":100");
    assert_eq!(c.run("RENAME nosuch x"), "-ERR no such key");
    c.run("SET c 3");
    assert_eq!(c.run("RENAMENX b c"), ":0");
    assert_eq!(c.run("RENAMENX b d"), ":1");
    assert_eq!(c.run("MOVE d 1"), ":1");
    assert_eq!(c.run("EXISTS d"), ":0");
    assert_eq!(c.run("COPY c e"), ":1");
    assert_eq!(c.run("COPY c d DB 1"), ":0");
    assert_eq!(c.run("COPY c d DB 1 REPLACE"), ":1");
    c.run("SELECT 1");
    assert_eq!(c.run("GET d"), "$3");
    assert_eq!(c.run("DBSIZE"), ":1");
    assert_eq!(c.run("SWAPDB 0 1"), "+OK");
    assert_eq!(c.run("DBSIZE"), ":2", "db 1 now holds what db 0 had (c, e)");
    // SWAPDB is visible to other connections at once.
    let mut other = s.conn();
    assert_eq!(other.run("DBSIZE"), ":1");
    assert_eq!(c.run("FLUSHDB"), "+OK");
    assert_eq!(c.run("DBSIZE"), ":0");
    assert_eq!(other.run("DBSIZE"), ":1");
    assert_eq!(c.run("FLUSHALL ASYNC"), "+OK");
    assert_eq!(other.run("DBSIZE"), ":0");
    c.run("SET x y");
    assert_eq!(c.run("FLUSHALL SYNC"), "+OK");
    assert_eq!(c.run("DBSIZE"), ":0");
}
