//! Replication topologies: chains and mixed ferrodis / Debian redis-server 7.0 nodes in every
//! position. Whatever the topology, every node must end with the same data (`DEBUG DIGEST`)
//! at the same replication offset, and links that are cut heal by themselves.

use crate::BIN;
use ferrodis_test_support::repl::info_field;
use ferrodis_test_support::{repl, wait_until, Conn, TestServer};
use std::time::Duration;

const SYNC_WAIT: Duration = Duration::from_secs(90);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Ferrodis,
    Redis,
}

/// Starts a node; a replica of 127.0.0.1:`master` when given.
fn node(kind: Kind, master: Option<u16>) -> TestServer {
    let mut args: Vec<String> = vec![
        "--repl-diskless-sync-delay".into(),
        "0".into(),
        "--repl-ping-replica-period".into(),
        "1".into(),
    ];
    if let Some(p) = master {
        args.extend(["--replicaof".into(), "127.0.0.1".into(), p.to_string()]);
    }
    match kind {
        Kind::Ferrodis => TestServer::start(BIN, &args),
        Kind::Redis => TestServer::redis(&args),
    }
}

fn stats_field(c: &mut Conn, field: &str) -> i64 {
    let text = c.cmd(&["INFO", "stats"]).to_text();
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("INFO stats has no {field}"))
}

/// Waits until every replica has the master's offset and digest.
fn wait_converged(master: &TestServer, replicas: &[&TestServer]) {
    repl::wait_in_sync(master, replicas, SYNC_WAIT);
}

/// A dataset with every type, several databases and expiries.
fn populate(c: &mut Conn, tag: &str) {
    for i in 0..200 {
        let k = format!("{tag}:s:{i}");
        assert_eq!(c.run(&format!("SET {k} v{i}")), "+OK");
    }
    c.run(&format!("SET {tag}:counter 10"));
    c.run(&format!("INCRBY {tag}:counter 5"));
    c.run(&format!("INCRBYFLOAT {tag}:float 1.5"));
    c.run(&format!("RPUSH {tag}:list a b c d e"));
    c.run(&format!("LPOP {tag}:list"));
    c.run(&format!("HSET {tag}:hash f1 v1 f2 v2 f3 3"));
    c.run(&format!("HINCRBY {tag}:hash f3 4"));
    c.run(&format!("SADD {tag}:set a b c 1 2 3"));
    c.run(&format!("SPOP {tag}:set"));
    c.run(&format!("ZADD {tag}:zset 1 a 2 b 3.5 c"));
    c.run(&format!("ZINCRBY {tag}:zset 2 a"));
    c.run(&format!("SETEX {tag}:ttl 1000 x"));
    c.run(&format!("PEXPIRE {tag}:hash 500000"));
    c.run(&format!("SETBIT {tag}:bits 77 1"));
    c.run("SELECT 3");
    c.run(&format!("SET {tag}:db3 three"));
    c.run(&format!("RPUSH {tag}:db3list x y"));
    c.run("MULTI");
    c.run(&format!("INCR {tag}:db3counter"));
    c.run(&format!("SET {tag}:db3tx t"));
    assert_eq!(c.run("EXEC"), "[:1, +OK]");
    c.run("SELECT 0");
    c.run(&format!("DEL {tag}:s:0"));
}

fn chain(kinds: [Kind; 3]) {
    let m = node(kinds[0], None);
    let mut mc = m.conn();
    populate(&mut mc, "before");
    let r1 = node(kinds[1], Some(m.port()));
    let r2 = node(kinds[2], Some(r1.port()));
    populate(&mut mc, "after");
    assert_eq!(mc.run("SET key1 val1"), "+OK");
    wait_converged(&m, &[&r1, &r2]);
    for r in [&r1, &r2] {
        let mut c = r.conn();
        assert_eq!(c.run("GET key1"), "$val1");
        assert_eq!(info_field(&mut c, "role").as_deref(), Some("slave"));
        assert!(c.run("SET x y").starts_with("-READONLY"), "{:?}", kinds);
    }
    // More writes flow down the whole chain.
    populate(&mut mc, "later");
    wait_converged(&m, &[&r1, &r2]);
}

#[test]
fn chain_ferrodis_ferrodis_ferrodis() {
    chain([Kind::Ferrodis, Kind::Ferrodis, Kind::Ferrodis]);
}

#[test]
fn chain_redis_ferrodis_redis() {
    chain([Kind::Redis, Kind::Ferrodis, Kind::Redis]);
}

#[test]
fn chain_ferrodis_redis_ferrodis() {
    chain([Kind::Ferrodis, Kind::Redis, Kind::Ferrodis]);
}

#[test]
fn many_replicas_of_one_ferrodis_master() {
    let m = node(Kind::Ferrodis, None);
    let mut mc = m.conn();
    populate(&mut mc, "a");
    let replicas: Vec<TestServer> = (0..4)
        .map(|i| {
            node(
                if i % 2 == 0 {
                    Kind::Ferrodis
                } else {
                    Kind::Redis
                },
                Some(m.port()),
            )
        })
        .collect();
    populate(&mut mc, "b");
    let refs: Vec<&TestServer> = replicas.iter().collect();
    wait_converged(&m, &refs);
    assert_eq!(
        info_field(&mut mc, "connected_slaves").as_deref(),
        Some("4")
    );
}

/// The middle node's link to the master is cut: it reconnects with a partial resync, and its
/// own replica stays attached (same replication id) and converges too.
#[test]
fn cut_link_in_the_middle_of_a_chain_heals_with_partial_resync() {
    let m = node(Kind::Ferrodis, None);
    let r1 = node(Kind::Ferrodis, Some(m.port()));
    let r2 = node(Kind::Ferrodis, Some(r1.port()));
    let mut mc = m.conn();
    populate(&mut mc, "one");
    wait_converged(&m, &[&r1, &r2]);
    let full_before = stats_field(&mut mc, "sync_full");
    let partial_before = stats_field(&mut mc, "sync_partial_ok");
    let mut r1c = r1.conn();
    // Cut every replica link of the master (r1's upstream).
    let killed = mc.run("CLIENT KILL TYPE replica");
    assert_eq!(killed, ":1");
    populate(&mut mc, "two");
    wait_converged(&m, &[&r1, &r2]);
    assert_eq!(stats_field(&mut mc, "sync_full"), full_before);
    assert!(stats_field(&mut mc, "sync_partial_ok") > partial_before);
    // r2 never needed a new full sync from r1.
    assert_eq!(stats_field(&mut r1c, "sync_full"), 1);
}

/// A replica promoted with REPLICAOF NO ONE keeps its sub-replica with a partial resync
/// (PSYNC on replid2), and takes writes that reach it.
#[test]
fn promoted_replica_keeps_its_replica_with_partial_resync() {
    let m = node(Kind::Ferrodis, None);
    let r1 = node(Kind::Ferrodis, Some(m.port()));
    let r2 = node(Kind::Ferrodis, Some(r1.port()));
    let mut mc = m.conn();
    populate(&mut mc, "x");
    wait_converged(&m, &[&r1, &r2]);
    let mut r1c = r1.conn();
    assert_eq!(r1c.run("REPLICAOF NO ONE"), "+OK");
    assert_eq!(info_field(&mut r1c, "role").as_deref(), Some("master"));
    assert_eq!(r1c.run("SET promoted yes"), "+OK");
    wait_converged(&r1, &[&r2]);
    assert_eq!(r2.conn().run("GET promoted"), "$yes");
    assert_eq!(stats_field(&mut r1c, "sync_full"), 1);
    assert!(stats_field(&mut r1c, "sync_partial_ok") >= 1);
}

/// The master is killed and restarted on the same port with persistence off: the replicas
/// reconnect by themselves and end up with the new (empty, then written) dataset.
#[test]
fn replicas_follow_a_master_that_restarts() {
    let mut m = node(Kind::Ferrodis, None);
    let r1 = node(Kind::Ferrodis, Some(m.port()));
    let r2 = node(Kind::Redis, Some(m.port()));
    let mut mc = m.conn();
    populate(&mut mc, "first");
    wait_converged(&m, &[&r1, &r2]);
    m.kill();
    drop(mc);
    let mut r1c = r1.conn();
    wait_until(
        SYNC_WAIT,
        || info_field(&mut r1c, "master_link_status").as_deref() == Some("down"),
        "the replica sees its master down",
    );
    // Same port again, so the replicas' `replicaof` still points at it.
    m.restart_same_port();
    let mut mc = m.conn();
    populate(&mut mc, "second");
    wait_converged(&m, &[&r1, &r2]);
    assert_eq!(r1c.run("EXISTS first:s:1"), ":0");
    assert_eq!(r1c.run("GET second:s:1"), "$v1");
}
