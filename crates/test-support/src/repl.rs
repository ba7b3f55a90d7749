//! Replication helpers for tests: a node's offset and digest, and waiting until replicas have
//! caught up with their master.

use crate::{wait_until, Conn, TestServer};
use std::time::Duration;

/// A field of `INFO replication` (trimmed), if present.
pub fn info_field(c: &mut Conn, field: &str) -> Option<String> {
    let text = c.cmd(&["INFO", "replication"]).to_text();
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

/// `master_repl_offset`, or -1 when INFO does not show it.
pub fn repl_offset(c: &mut Conn) -> i64 {
    info_field(c, "master_repl_offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// `DEBUG DIGEST` as text.
pub fn digest(c: &mut Conn) -> String {
    c.cmd(&["DEBUG", "DIGEST"]).to_text()
}

/// Waits until `replica`'s link to its master is up.
pub fn wait_link_up(replica: &TestServer, timeout: Duration) {
    let mut r = replica.conn();
    wait_until(
        timeout,
        || info_field(&mut r, "master_link_status").as_deref() == Some("up"),
        "the replica's link is up",
    );
}

/// Waits until every replica reports its link up, the master's offset and the master's
/// digest; the failure message shows where each one stood.
pub fn wait_in_sync(master: &TestServer, replicas: &[&TestServer], timeout: Duration) {
    let mut m = master.conn();
    let mut conns: Vec<Conn> = replicas.iter().map(|r| r.conn()).collect();
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let (mo, md) = (repl_offset(&mut m), digest(&mut m));
        let mut state = String::new();
        let mut ok = true;
        for (i, c) in conns.iter_mut().enumerate() {
            let (o, d) = (repl_offset(c), digest(c));
            let link = info_field(c, "master_link_status").unwrap_or_default();
            state.push_str(&format!("replica {i}: offset {o} link {link} digest {d}; "));
            ok &= o == mo && d == md && link == "up";
        }
        if ok {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replicas not in sync after {timeout:?}: master offset {mo} digest {md}; {state}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
