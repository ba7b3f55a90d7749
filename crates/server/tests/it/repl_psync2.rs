//! PSYNC2 scenarios of Redis's own suites, against real processes: `psync2.tcl` (random
//! failovers and chains, exactly 4 full syncs, exact offsets, restart from the RDB aux
//! fields), `psync2-reg.tcl` (links killed under load), `psync2-pingoff.tcl` (pings at the
//! end of the stream), `psync2-master-restart.tcl` (a master restarting from its RDB) and
//! the `replication-psync.tcl` matrix (links killed under load with big, tiny and delayed
//! backlogs, disk / diskless sync, disabled / swapdb load).
//!
//! Every wait is bounded and says what it waited for; random choices come from a seeded RNG
//! whose seed is printed (set `PSYNC2_SEED` to replay one).

use crate::BIN;
use ferrodis_test_support::{info_fields, signal, text, wait_until, Conn, TestServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Generous: two cores shared with other test binaries.
const WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Ferrodis,
    Redis,
}

/// A node with an empty `extra.conf` included by its config file: copying the `CONFIG
/// REWRITE` result there before a restart makes the restart use it (TestServer writes
/// `redis.conf` itself on every start).
fn node(kind: Kind, extra: &[&str]) -> TestServer {
    let b = match kind {
        Kind::Ferrodis => TestServer::builder(BIN),
        Kind::Redis => TestServer::redis_builder(),
    };
    std::fs::write(b.dir().join("extra.conf"), "").expect("write extra.conf");
    let mut args = vec!["--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    b.config("include {dir}/extra.conf\n").args(&args).start()
}

fn info(c: &mut Conn, section: &str) -> HashMap<String, String> {
    info_fields(&c.cmd(&["INFO", section]))
}

fn field(c: &mut Conn, section: &str, name: &str) -> String {
    info(c, section).get(name).cloned().unwrap_or_default()
}

fn int(c: &mut Conn, section: &str, name: &str) -> i64 {
    let v = field(c, section, name);
    v.parse()
        .unwrap_or_else(|_| panic!("INFO {section} field {name} is not an integer: {v:?}"))
}

fn offset(c: &mut Conn) -> i64 {
    int(c, "replication", "master_repl_offset")
}

fn digest(c: &mut Conn) -> String {
    text(&c.cmd(&["DEBUG", "DIGEST"]))
}

fn ok(c: &mut Conn, line: &str) {
    let r = c.run(line);
    assert!(r.starts_with("+OK"), "{line}: {r}");
}

fn link_up(c: &mut Conn) -> bool {
    field(c, "replication", "master_link_status") == "up"
}

fn replicaof(c: &mut Conn, m: &TestServer) {
    ok(c, &format!("REPLICAOF 127.0.0.1 {}", m.port()));
}

/// Waits until every node has the same offset and digest as `nodes[0]` and every replica's
/// link is up.
fn wait_converged(nodes: &[&TestServer], what: &str) {
    let mut conns: Vec<Conn> = nodes.iter().map(|n| n.conn()).collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let mut state = Vec::new();
        for c in conns.iter_mut() {
            let f = info(c, "replication");
            let up = f.get("role").map(String::as_str) == Some("master")
                || f.get("master_link_status").map(String::as_str) == Some("up");
            state.push((
                f.get("master_repl_offset").cloned().unwrap_or_default(),
                digest(c),
                up,
            ));
        }
        if state
            .iter()
            .all(|s| s.0 == state[0].0 && s.1 == state[0].1 && s.2)
        {
            return;
        }
        if Instant::now() >= deadline {
            let keyspaces: Vec<String> = conns
                .iter_mut()
                .map(|c| text(&c.cmd(&["INFO", "keyspace"])).replace("\r\n", " "))
                .collect();
            panic!(
                "{what}: nodes did not converge within {WAIT:?} (offset, digest, link up): {state:?}; keyspaces: {keyspaces:?}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn seed() -> u64 {
    let seed = std::env::var("PSYNC2_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    // Shown with the output of a failing test (replay with PSYNC2_SEED).
    eprintln!("PSYNC2_SEED={seed}");
    seed
}

// ---------------------------------------------------------------------------------------
// psync2.tcl

/// Five nodes, random failovers and random chains, a writer doing `INCR x` at the current
/// master and random `CLIENT KILL TYPE master` meanwhile. Only the 4 initial syncs may be
/// full; offsets must match exactly once pings are off; a restarted replica continues from
/// its RDB's repl-id / repl-offset.
fn psync2(kinds: [Kind; 5], cycles: usize) {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut nodes: Vec<TestServer> = kinds.iter().map(|&k| node(k, &[])).collect();
    let ports: Vec<u16> = nodes.iter().map(|n| n.port()).collect();
    let idx_of = |port: &str| ports.iter().position(|p| p.to_string() == port);
    let mut conns: Vec<Conn> = nodes.iter().map(|n| n.conn()).collect();
    let mut counter = 0i64;
    let mut master_id = 0;
    for cycle in 1..=cycles {
        let ctx = format!("seed {seed} cycle {cycle}");
        // 1) A new master (a failover).
        master_id = rng.gen_range(0..5);
        ok(&mut conns[master_id], "REPLICAOF NO ONE");
        // Pings every second make "a ping is the last thing in the stream" likely.
        ok(
            &mut conns[master_id],
            "CONFIG SET repl-ping-replica-period 1",
        );
        if counter == 0 {
            ok(&mut conns[master_id], "SET x 0");
        }
        // 2) A random tree: each node replicates from one attached before it. Attaching in
        // that order, after the target learnt the new history, never asks a node for a
        // history it does not know yet (psync2.tcl orders its SLAVEOFs for the same reason).
        let mut order = vec![master_id];
        let mut rest: Vec<usize> = (0..5).filter(|&i| i != master_id).collect();
        while !rest.is_empty() {
            let s = rest.remove(rng.gen_range(0..rest.len()));
            let target = order[rng.gen_range(0..order.len())];
            let tport = ports[target];
            let r = conns[s].run(&format!("REPLICAOF 127.0.0.1 {tport}"));
            assert!(r.starts_with("+OK"), "{ctx}: REPLICAOF: {r}");
            wait_until(
                WAIT,
                || {
                    // Read each time: redis-server changes its replid when its first
                    // replica creates the backlog.
                    let new_id = field(&mut conns[master_id], "replication", "master_replid");
                    let f = info(&mut conns[s], "replication");
                    f.get("master_link_status").map(String::as_str) == Some("up")
                        && f.get("master_replid") == Some(&new_id)
                },
                &format!("{ctx}: node {s} replicates from node {target} with the new replid"),
            );
            order.push(s);
        }
        // 3) One write reaches everybody.
        assert_eq!(conns[master_id].run("INCR x"), format!(":{}", counter + 1));
        counter += 1;
        wait_x(&mut conns, counter, &ctx);
        // 4) Writes while random replication links are cut; some go to db 9, so the
        // stream switches databases across failovers and partial resyncs.
        let mut db9 = nodes[master_id].conn();
        ok(&mut db9, "SELECT 9");
        let t = Instant::now();
        let mut next_kill = Duration::from_millis(rng.gen_range(100..300));
        while t.elapsed() < Duration::from_millis(1200) {
            assert_eq!(conns[master_id].run("INCR x"), format!(":{}", counter + 1));
            counter += 1;
            if rng.gen_range(0..3) == 0 {
                db9.run("INCR y");
            }
            if t.elapsed() >= next_kill {
                next_kill += Duration::from_millis(rng.gen_range(100..300));
                let victim = rng.gen_range(0..5);
                conns[victim].run("CLIENT KILL TYPE master");
            }
        }
        // 5) Everybody converges ...
        wait_x(&mut conns, counter, &ctx);
        let sum: i64 = conns.iter_mut().map(|c| int(c, "stats", "sync_full")).sum();
        assert_eq!(
            sum,
            4,
            "{ctx}: total full syncs must stay 4 (every later change is a partial resync); per node: {:?}",
            conns.iter_mut().map(|c| int(c, "stats", "sync_full")).collect::<Vec<_>>()
        );
        // ... and, without pings, to exactly the same offset.
        ok(
            &mut conns[master_id],
            "CONFIG SET repl-ping-replica-period 3600",
        );
        let refs: Vec<&TestServer> = std::iter::once(&nodes[master_id])
            .chain((0..5).filter(|&i| i != master_id).map(|i| &nodes[i]))
            .collect();
        wait_converged(&refs, &ctx);
        // The topology the nodes report is the one we built (no stray links).
        for (s, c) in conns.iter_mut().enumerate() {
            let mp = field(c, "replication", "master_port");
            if s == master_id {
                assert_eq!(mp, "", "{ctx}: the master has no master");
            } else {
                assert!(idx_of(&mp).is_some(), "{ctx}: node {s} master_port {mp}");
            }
        }
    }
    // Everybody replicates from the master again, then one replica restarts from its RDB.
    for s in (0..5).filter(|&i| i != master_id) {
        let port = ports[master_id];
        conns[s].run(&format!("REPLICAOF 127.0.0.1 {port}"));
    }
    wait_until(
        WAIT,
        || {
            int(&mut conns[master_id], "replication", "connected_slaves") == 4
                && (0..5)
                    .filter(|&i| i != master_id)
                    .all(|i| link_up(&mut conns[i]))
        },
        &format!("seed {seed}: 4 replicas online at node {master_id}"),
    );
    let s = (master_id + 1) % 5;
    let full = int(&mut conns[master_id], "stats", "sync_full");
    let partial = int(&mut conns[master_id], "stats", "sync_partial_ok");
    ok(&mut conns[s], "CONFIG SET save \"3600 1\"");
    ok(&mut conns[s], "CONFIG REWRITE");
    let rewritten =
        std::fs::read_to_string(nodes[s].dir().join("redis.conf")).expect("read redis.conf");
    let line = format!("replicaof 127.0.0.1 {}", ports[master_id]);
    assert!(
        rewritten.lines().any(|l| l.trim() == line),
        "CONFIG REWRITE did not record `{line}`:\n{rewritten}"
    );
    // The restart reads the rewritten configuration (minus its `include` of extra.conf
    // itself; the command-line arguments still come last).
    let reloaded: String = rewritten
        .lines()
        .filter(|l| !l.trim_start().starts_with("include"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(nodes[s].dir().join("extra.conf"), reloaded).expect("write extra.conf");
    drop(conns.remove(s));
    nodes[s].restart_same_port(); // SIGTERM: saves (save points), then the same port again
    conns.insert(s, nodes[s].conn());
    wait_until(
        WAIT,
        || int(&mut conns[master_id], "stats", "sync_partial_ok") == partial + 1,
        &format!(
            "seed {seed}: restarted node {s} continues with a partial resync (sync_partial_ok)"
        ),
    );
    assert_eq!(
        int(&mut conns[master_id], "stats", "sync_full"),
        full,
        "seed {seed}: no full sync after the restart"
    );
    assert_eq!(conns[master_id].run("INCR x"), format!(":{}", counter + 1));
    counter += 1;
    wait_x(
        &mut conns,
        counter,
        &format!("seed {seed}: after the restart"),
    );
}

fn wait_x(conns: &mut [Conn], counter: i64, ctx: &str) {
    for (j, c) in conns.iter_mut().enumerate() {
        let want = format!("${counter}");
        let deadline = Instant::now() + WAIT;
        loop {
            let last = c.run("GET x");
            if last == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{ctx}: node {j} does not reach x = {counter} (it has {last})"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `PSYNC2_CYCLES` overrides the number of cycles (for soak runs).
fn cycles(default: usize) -> usize {
    std::env::var("PSYNC2_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn psync2_random_failovers_and_chains() {
    psync2([Kind::Ferrodis; 5], cycles(10));
}

#[test]
fn psync2_random_failovers_with_redis_nodes() {
    psync2(
        [
            Kind::Ferrodis,
            Kind::Redis,
            Kind::Ferrodis,
            Kind::Redis,
            Kind::Ferrodis,
        ],
        cycles(8),
    );
}

// ---------------------------------------------------------------------------------------
// Write load

/// A background writer: pipelined SET / INCR / RPUSH+LTRIM / DEL / EXPIRE in two databases
/// until stopped. Returns the number of batches written.
struct Load {
    stop: Arc<AtomicBool>,
    batches: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16, seed: u64) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let batches = Arc::new(AtomicU64::new(0));
        let (st, n) = (stop.clone(), batches.clone());
        let handle = std::thread::spawn(move || {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut c = Conn::connect(port);
            let value = "v".repeat(100);
            while !st.load(Ordering::Relaxed) {
                let db = rng.gen_range(0..2);
                let mut sent = 1;
                c.send(&["SELECT", &db.to_string()]);
                for _ in 0..20 {
                    let k = rng.gen_range(0..500);
                    match rng.gen_range(0..10) {
                        0..=3 => c.send(&["SET", &format!("k:{k}"), &value]),
                        4..=5 => c.send(&["INCR", &format!("n:{}", k % 50)]),
                        6 => {
                            c.send(&["RPUSH", &format!("l:{}", k % 20), &value]);
                            sent += 1;
                            c.send(&["LTRIM", &format!("l:{}", k % 20), "0", "30"]);
                        }
                        7 => c.send(&["DEL", &format!("k:{k}")]),
                        8 => c.send(&["HSET", &format!("h:{}", k % 30), &k.to_string(), "x"]),
                        _ => c.send(&["EXPIRE", &format!("k:{k}"), "1000"]),
                    }
                    sent += 1;
                }
                for _ in 0..sent {
                    let f = c.read_frame();
                    assert!(!matches!(f, ferrodis_test_support::Frame::Error(_)));
                }
                n.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Load {
            stop,
            batches,
            handle: Some(handle),
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().expect("the load thread failed");
        }
        self.batches.load(Ordering::Relaxed)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------
// psync2-reg.tcl

/// Master and two replicas (one chained); links cut again and again from both sides while
/// a writer runs; in the end the same dataset everywhere and no full sync beyond the
/// initial two.
#[test]
fn psync2_reg_links_killed_under_load_keep_the_dataset_identical() {
    psync2_reg([Kind::Ferrodis; 3]);
}

/// The same with redis-server 7.0 as the master, then as the middle of the chain.
#[test]
fn psync2_reg_mixed_chains() {
    use Kind::{Ferrodis as F, Redis as R};
    psync2_reg([R, F, F]);
    psync2_reg([F, R, F]);
}

fn psync2_reg(kinds: [Kind; 3]) {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    // The writer makes ~1 MB/s; a backlog that holds the whole run keeps every reconnect
    // partial however long a link stays down (the chained replica waits for its upstream).
    let big = ["--repl-backlog-size", "64mb"];
    let m = node(kinds[0], &big);
    let r1 = node(kinds[1], &big);
    let r2 = node(kinds[2], &big);
    let (mut mc, mut c1, mut c2) = (m.conn(), r1.conn(), r2.conn());
    replicaof(&mut c1, &m);
    replicaof(&mut c2, &r1);
    wait_until(
        WAIT,
        || link_up(&mut c1) && link_up(&mut c2),
        "both links up",
    );
    let load = Load::start(m.port(), seed);
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(4) {
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..250)));
        match rng.gen_range(0..4) {
            0 => c1.run("CLIENT KILL TYPE master"),
            1 => c2.run("CLIENT KILL TYPE master"),
            2 => mc.run("CLIENT KILL TYPE replica"),
            _ => c1.run("CLIENT KILL TYPE replica"),
        };
    }
    assert!(load.stop() > 0, "the writer made progress");
    let ctx = format!("{kinds:?} seed {seed}");
    wait_converged(&[&m, &r1, &r2], &ctx);
    let d = digest(&mut mc);
    assert_ne!(d, "0".repeat(40));
    assert_eq!(int(&mut mc, "stats", "sync_full"), 1, "{ctx}");
    assert_eq!(int(&mut c1, "stats", "sync_full"), 1, "{ctx}");
    assert!(int(&mut mc, "stats", "sync_partial_ok") > 0, "{ctx}");
}

// ---------------------------------------------------------------------------------------
// psync2-pingoff.tcl

/// The replica misses the master's last pings before it is promoted: the old master has
/// bytes the new one never had, so it rejoins with a full sync (as Redis: psync2-pingoff
/// "Make the old master a replica of the new one"), and then both share the exact offset.
/// Redis gets the replica stuck with MULTI / DEBUG SLEEP / SLAVEOF NO ONE / EXEC; ferrodis
/// applies its master's stream on another thread than DEBUG SLEEP, so the replica is cut
/// off by pointing it at a closed port (its history stays) while a second replica keeps
/// the master pinging.
#[test]
fn pingoff_promoted_replica_missing_pings_full_syncs_the_old_master() {
    let m = node(Kind::Ferrodis, &["--repl-ping-replica-period", "1"]);
    let r = node(Kind::Ferrodis, &[]);
    let other = node(Kind::Ferrodis, &[]);
    let (mut mc, mut rc, mut oc) = (m.conn(), r.conn(), other.conn());
    replicaof(&mut rc, &m);
    replicaof(&mut oc, &m);
    ok(&mut mc, "SET foo bar");
    for _ in 0..3 {
        mc.run("INCR counter");
    }
    wait_converged(&[&m, &r, &other], "setup");
    ok(&mut rc, "REPLICAOF 127.0.0.1 1");
    let cut_at = offset(&mut rc);
    wait_until(
        WAIT,
        || offset(&mut mc) > cut_at,
        "the master appends a ping the cut-off replica never sees",
    );
    ok(&mut rc, "REPLICAOF NO ONE");
    assert_eq!(
        int(&mut rc, "replication", "second_repl_offset"),
        cut_at + 1
    );
    ok(&mut rc, "CONFIG SET repl-ping-replica-period 1000");
    assert_eq!(int(&mut rc, "stats", "sync_full"), 0);
    replicaof(&mut mc, &r);
    wait_until(
        WAIT,
        || int(&mut rc, "stats", "sync_full") == 1,
        "the new master full-syncs the old one",
    );
    assert_eq!(rc.run("INCR x"), ":1");
    wait_until(
        WAIT,
        || field(&mut mc, "persistence", "loading") == "0" && mc.run("GET x") == "$1",
        "the old master gets INCR x",
    );
    wait_converged(&[&r, &m, &other], "after the rejoin");
    assert_eq!(mc.run("GET counter"), "$3");
}

/// The replica did get the last ping before its promotion (pings then stop): the old
/// master rejoins by partial resync at the very same offset. When a ping slips in after
/// all (the master's period is 1 s until we lower it), a full sync is the right outcome,
/// and the test checks that one instead.
#[test]
fn pingoff_old_master_rejoins_by_partial_resync_when_nothing_was_missed() {
    pingoff_rejoin([Kind::Ferrodis; 2]);
}

/// The same on redis-server 7.0 (the reference), and mixed.
#[test]
fn pingoff_old_master_rejoins_redis_and_mixed() {
    use Kind::{Ferrodis as F, Redis as R};
    pingoff_rejoin([R, R]);
    pingoff_rejoin([F, R]);
    pingoff_rejoin([R, F]);
}

fn pingoff_rejoin(kinds: [Kind; 2]) {
    let m = node(kinds[0], &["--repl-ping-replica-period", "1"]);
    let r = node(kinds[1], &[]);
    let (mut mc, mut rc) = (m.conn(), r.conn());
    replicaof(&mut rc, &m);
    mc.run("INCR x");
    wait_converged(&[&m, &r], "setup");
    // Wait for a ping to be the last thing in the stream, seen by the replica too.
    let before = offset(&mut mc);
    wait_until(
        WAIT,
        || {
            let o = offset(&mut mc);
            o > before && offset(&mut rc) == o
        },
        "a ping reaches the replica",
    );
    ok(&mut mc, "CONFIG SET repl-ping-replica-period 3600");
    ok(&mut rc, "REPLICAOF NO ONE");
    let promoted_at = int(&mut rc, "replication", "second_repl_offset") - 1;
    let old_end = offset(&mut mc);
    let partial = old_end == promoted_at;
    replicaof(&mut mc, &r);
    wait_until(WAIT, || link_up(&mut mc), "the old master's link is up");
    assert_eq!(rc.run("INCR x"), ":2");
    wait_converged(&[&r, &m], "after the rejoin");
    if partial {
        assert_eq!(int(&mut rc, "stats", "sync_full"), 0);
        assert_eq!(int(&mut rc, "stats", "sync_partial_ok"), 1);
    } else {
        eprintln!("{kinds:?}: a ping slipped in before the promotion: expecting a full sync");
        assert_eq!(int(&mut rc, "stats", "sync_full"), 1);
    }
}

/// psync2-pingoff's "various edge cases of repl topology changes with missing pings at the
/// end"; the full-sync counts are the ones Redis 7.0 asserts.
fn pingoff_edge_cases(kinds: [Kind; 5]) {
    let nodes: Vec<TestServer> = kinds.iter().map(|&k| node(k, &[])).collect();
    let mut c: Vec<Conn> = nodes.iter().map(|n| n.conn()).collect();
    let (master, r1, r2, r3, r4) = (0, 1, 2, 3, 4);
    for r in [r1, r2, r3, r4] {
        replicaof(&mut c[r], &nodes[master]);
    }
    wait_until(
        WAIT,
        || {
            int(&mut c[master], "replication", "connected_slaves") == 4
                && (1..5).all(|i| link_up(&mut c[i]))
        },
        "4 replicas connected",
    );
    c[master].run("INCR x");
    wait_x(&mut c, 1, "first incr");
    ok(&mut c[r1], "REPLICAOF NO ONE");
    // Not promoted (that would cycle its replid): pointed at a closed port instead.
    ok(&mut c[r2], "REPLICAOF 127.0.0.1 1");
    ok(&mut c[master], "CONFIG SET repl-ping-replica-period 1");
    let replofs = offset(&mut c[master]);
    wait_until(
        WAIT,
        || offset(&mut c[r3]) > replofs && offset(&mut c[r4]) > replofs,
        "r3 and r4 receive a ping r1 and r2 never saw",
    );
    replicaof(&mut c[r3], &nodes[r1]);
    replicaof(&mut c[master], &nodes[r1]);
    replicaof(&mut c[r2], &nodes[master]);
    wait_until(
        WAIT,
        || [r2, r3, r4, master].iter().all(|&i| link_up(&mut c[i])),
        "every link up",
    );
    c[r1].run("INCR x");
    wait_x(&mut c, 2, "second incr");
    let counts = |c: &mut Vec<Conn>| -> Vec<i64> {
        c.iter_mut().map(|c| int(c, "stats", "sync_full")).collect()
    };
    assert_eq!(counts(&mut c), vec![6, 2, 0, 0, 0], "sync_full per node");
    for i in [master, r2, r3, r4] {
        c[i].run("CLIENT KILL TYPE master");
    }
    c[r1].run("INCR x");
    wait_x(&mut c, 3, "third incr");
    assert_eq!(counts(&mut c), vec![6, 2, 0, 0, 0], "sync_full per node");
}

#[test]
fn pingoff_topology_edge_cases() {
    pingoff_edge_cases([Kind::Ferrodis; 5]);
}

/// The same scenario on redis-server 7.0: the expectations above are Redis's behaviour.
#[test]
fn pingoff_topology_edge_cases_redis_reference() {
    pingoff_edge_cases([Kind::Redis; 5]);
}

/// Mixed: every role is played by both servers across the two runs.
#[test]
fn pingoff_topology_edge_cases_mixed() {
    use Kind::{Ferrodis as F, Redis as R};
    pingoff_edge_cases([F, R, F, R, F]);
    pingoff_edge_cases([R, F, R, F, R]);
}

/// The middle replica of a chain re-PSYNCs with the same master (same replid): its own
/// replica stays connected.
#[test]
fn pingoff_chained_replica_stays_connected_when_the_middle_one_repsyncs() {
    let m = node(Kind::Ferrodis, &["--repl-ping-replica-period", "1"]);
    let r1 = node(Kind::Ferrodis, &[]);
    let r2 = node(Kind::Ferrodis, &[]);
    let (mut mc, mut c1, mut c2) = (m.conn(), r1.conn(), r2.conn());
    replicaof(&mut c1, &m);
    replicaof(&mut c2, &r1);
    wait_until(
        WAIT,
        || link_up(&mut c2),
        "the chained replica's link is up",
    );
    mc.run("INCR counter2");
    let replofs = offset(&mut mc);
    wait_until(
        WAIT,
        || offset(&mut c1) > replofs && offset(&mut c2) > replofs,
        "pings reach both replicas",
    );
    let partial_m = int(&mut mc, "stats", "sync_partial_ok");
    let partial_1 = int(&mut c1, "stats", "sync_partial_ok");
    ok(&mut mc, "CONFIG SET repl-ping-replica-period 100");
    assert_eq!(mc.run("CLIENT KILL TYPE replica"), ":1");
    wait_until(
        WAIT,
        || {
            link_up(&mut c1)
                && link_up(&mut c2)
                && int(&mut mc, "stats", "sync_partial_ok") == partial_m + 1
        },
        "the middle replica re-PSYNCs",
    );
    assert_eq!(
        int(&mut c1, "stats", "sync_partial_ok"),
        partial_1,
        "the chained replica was not disconnected"
    );
    wait_converged(&[&m, &r1, &r2], "after the re-PSYNC");
    mc.run("INCR counter2");
    wait_until(
        WAIT,
        || c1.run("GET counter2") == "$2" && c2.run("GET counter2") == "$2",
        "both replicas get the incr",
    );
    wait_converged(&[&m, &r1, &r2], "after the incr");
    assert_eq!(int(&mut c1, "stats", "sync_full"), 1);
}

// ---------------------------------------------------------------------------------------
// psync2-master-restart.tcl

struct Chain {
    m: TestServer,
    r: TestServer,
    sub: TestServer,
}

fn restart_chain(kinds: [Kind; 3], master_extra: &[&str]) -> Chain {
    let mut extra = vec![
        "--repl-ping-replica-period",
        "3600",
        "--repl-timeout",
        "3600",
    ];
    extra.extend_from_slice(master_extra);
    let m = node(kinds[0], &extra);
    let r = node(kinds[1], &["--repl-timeout", "3600"]);
    let sub = node(kinds[2], &["--repl-timeout", "3600"]);
    ok(&mut m.conn(), "CONFIG SET save \"3600 1\"");
    replicaof(&mut r.conn(), &m);
    replicaof(&mut sub.conn(), &r);
    wait_until(
        WAIT,
        || link_up(&mut r.conn()) && link_up(&mut sub.conn()),
        "replication chain up",
    );
    Chain { m, r, sub }
}

/// SHUTDOWN-with-save of the master (SIGTERM with save points), then the same port again;
/// waits for both links.
fn restart_master(ch: &mut Chain) {
    ok(&mut ch.r.conn(), "CONFIG RESETSTAT");
    ch.m.restart_same_port();
    let (mut rc, mut sc) = (ch.r.conn(), ch.sub.conn());
    wait_until(
        WAIT,
        || link_up(&mut rc) && link_up(&mut sc),
        "replicas sync after the master restart",
    );
}

/// Checks the restarted master's replication state against the one before the restart.
fn check_restored(ch: &mut Chain, replid: &str, off: i64, expected_histlen: Option<i64>) {
    let mut mc = ch.m.conn();
    let f = info(&mut mc, "replication");
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let num = |k: &str| get(k).parse::<i64>().unwrap_or(-99);
    assert_ne!(
        get("master_replid"),
        replid,
        "a new replid after the restart"
    );
    assert_eq!(get("master_replid2"), replid, "the old replid is replid2");
    assert_eq!(num("second_repl_offset"), off + 1);
    assert_eq!(num("repl_backlog_active"), 1);
    assert_eq!(num("repl_backlog_first_byte_offset"), off + 1);
    let histlen = num("repl_backlog_histlen");
    if let Some(h) = expected_histlen {
        assert_eq!(histlen, h);
    }
    assert_eq!(num("master_repl_offset"), off + histlen);
    // The replicas reconnect on their own schedule: wait for their partial resyncs to be
    // counted (bounded), then check that none was a full one.
    wait_converged(&[&ch.m, &ch.r, &ch.sub], "after the master restart");
    let mut rc = ch.r.conn();
    wait_until(
        WAIT,
        || {
            int(&mut mc, "stats", "sync_partial_ok") == 1
                && int(&mut rc, "stats", "sync_partial_ok") == 1
        },
        "one partial resync on the master (its replica) and on the replica (its sub-replica)",
    );
    assert_eq!(int(&mut mc, "stats", "sync_full"), 0);
    wait_converged(&[&ch.m, &ch.r, &ch.sub], "after the partial resyncs");
}

/// Waits until the master has seen the replica's ACK of its offset (so SHUTDOWN finds no
/// lagging replica and sends no GETACK) and both replicas have it.
fn wait_acked(ch: &mut Chain) -> i64 {
    let mut mc = ch.m.conn();
    let (mut rc, mut sc) = (ch.r.conn(), ch.sub.conn());
    let mut off = 0;
    wait_until(
        WAIT,
        || {
            off = offset(&mut mc);
            let f = info(&mut mc, "replication");
            f.get("slave0")
                .is_some_and(|l| l.contains(&format!(",offset={off},")))
                && offset(&mut rc) == off
                && offset(&mut sc) == off
        },
        "the replicas acknowledged the master's offset",
    );
    off
}

#[test]
fn master_restart_partial_resync_from_rdb_aux_fields() {
    master_restart_partial([Kind::Ferrodis; 3]);
}

/// The same against redis-server 7.0 as the restarting master.
#[test]
fn master_restart_partial_resync_redis_master_ferrodis_replicas() {
    master_restart_partial([Kind::Redis, Kind::Ferrodis, Kind::Ferrodis]);
}

/// A redis-server 7.0 replica continues a restarted ferrodis master, then a redis-server
/// sub-replica continues through a ferrodis replica.
#[test]
fn master_restart_partial_resync_ferrodis_master_redis_replica() {
    master_restart_partial([Kind::Ferrodis, Kind::Redis, Kind::Ferrodis]);
    master_restart_partial([Kind::Ferrodis, Kind::Ferrodis, Kind::Redis]);
}

/// psync2-master-restart.tcl's three partial-resync cases, one after the other.
fn master_restart_partial(kinds: [Kind; 3]) {
    let mut ch = restart_chain(kinds, &[]);
    // At offset 0.
    let mut mc = ch.m.conn();
    assert_eq!(offset(&mut mc), 0);
    let replid = field(&mut mc, "replication", "master_replid");
    restart_master(&mut ch);
    check_restored(&mut ch, &replid, 0, Some(0));
    // With data.
    let mut mc = ch.m.conn();
    ok(&mut mc, "CONFIG RESETSTAT");
    ok(&mut mc, "CONFIG SET save \"3600 1\"");
    for i in 0..100 {
        ok(&mut mc, &format!("SET key:{i} value:{i}"));
    }
    mc.run("SELECT 3");
    mc.run("RPUSH list a b c");
    let off = wait_acked(&mut ch);
    let replid = field(&mut mc, "replication", "master_replid");
    restart_master(&mut ch);
    check_restored(&mut ch, &replid, off, Some(0));
    // With 1024 keys that expire while the master is down: their DELs fill the new
    // backlog, and the replicas get them by partial resync.
    let mut mc = ch.m.conn();
    ok(&mut mc, "CONFIG RESETSTAT");
    ok(&mut mc, "CONFIG SET save \"3600 1\"");
    ok(&mut mc, "DEBUG SET-ACTIVE-EXPIRE 0");
    for j in 0..1024 {
        mc.run(&format!("SELECT {}", j % 16));
        ok(&mut mc, &format!("SET {j} somevalue PX 10"));
    }
    std::thread::sleep(Duration::from_millis(20)); // the keys' 10 ms TTL must pass
    let off = wait_acked(&mut ch);
    let replid = field(&mut mc, "replication", "master_replid");
    restart_master(&mut ch);
    let mut mc = ch.m.conn();
    assert!(int(&mut mc, "replication", "repl_backlog_histlen") > 0);
    assert_eq!(
        int(&mut mc, "persistence", "rdb_last_load_keys_expired"),
        1024
    );
    check_restored(&mut ch, &replid, off, None);
    let mut sc = ch.sub.conn();
    for db in 0..16 {
        sc.run(&format!("SELECT {db}"));
        let n = if db == 0 { 100 } else { (db == 3) as i64 };
        assert_eq!(
            sc.run("DBSIZE"),
            format!(":{n}"),
            "db {db}: expired keys gone"
        );
    }
}

#[test]
fn master_restart_full_resync_when_expired_dels_overflow_the_backlog() {
    let mut ch = restart_chain([Kind::Ferrodis; 3], &["--repl-backlog-size", "16384"]);
    let mut mc = ch.m.conn();
    ok(&mut mc, "DEBUG SET-ACTIVE-EXPIRE 0");
    for j in 0..2048 {
        mc.run(&format!("SELECT {}", j % 16));
        ok(&mut mc, &format!("SET {j} somevalue PX 10"));
    }
    std::thread::sleep(Duration::from_millis(20));
    let off = wait_acked(&mut ch);
    restart_master(&mut ch);
    let mut mc = ch.m.conn();
    let f = info(&mut mc, "replication");
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(-99);
    assert!(
        num("repl_backlog_first_byte_offset") > num("second_repl_offset"),
        "the DELs pushed offset {} out of the backlog: {f:?}",
        off + 1
    );
    assert_eq!(int(&mut mc, "stats", "sync_partial_ok"), 0);
    assert_eq!(int(&mut mc, "stats", "sync_full"), 1);
    assert_eq!(
        int(&mut mc, "persistence", "rdb_last_load_keys_expired"),
        2048
    );
    assert_eq!(int(&mut ch.r.conn(), "stats", "sync_full"), 1);
    wait_converged(&[&ch.m, &ch.r, &ch.sub], "after the full resync");
}

// ---------------------------------------------------------------------------------------
// replication-psync.tcl

#[derive(Clone, Copy, Debug)]
enum Break {
    /// `CLIENT KILL TYPE master` on the replica: it reconnects at once.
    Now,
    /// The replica is stopped (SIGSTOP) for `ms`, its link is killed from the master side,
    /// and the master keeps writing before it resumes (Redis: MULTI / CLIENT KILL / DEBUG
    /// SLEEP / EXEC on the replica).
    Delay(u64),
}

/// One `test_psync` case: `backlog` bytes of backlog, links broken `breaks` times under
/// load. `partial`: whether the breaks must be served by partial resyncs (else at least one
/// must fail and be a full sync).
fn test_psync(backlog: &str, brk: Break, breaks: usize, diskless: bool, load: &str, partial: bool) {
    let kinds = [Kind::Ferrodis; 2];
    test_psync_ttl(kinds, backlog, "3600", brk, breaks, diskless, load, partial)
}

#[allow(clippy::too_many_arguments)]
fn test_psync_ttl(
    kinds: [Kind; 2],
    backlog: &str,
    ttl: &str,
    brk: Break,
    breaks: usize,
    diskless: bool,
    load: &str,
    partial: bool,
) {
    let seed = seed();
    let m = node(
        kinds[0],
        &[
            "--repl-backlog-size",
            backlog,
            "--repl-backlog-ttl",
            ttl,
            "--repl-diskless-sync",
            if diskless { "yes" } else { "no" },
        ],
    );
    let r = node(kinds[1], &["--repl-diskless-load", load]);
    let (mut mc, mut rc) = (m.conn(), r.conn());
    let ctx =
        format!("{kinds:?} backlog {backlog} {brk:?} diskless {diskless} load {load} seed {seed}");
    let writer = Load::start(m.port(), seed);
    std::thread::sleep(Duration::from_millis(200));
    replicaof(&mut rc, &m);
    wait_until(WAIT, || link_up(&mut rc), &format!("{ctx}: first sync"));
    // The first PSYNC (with the replica's own history, as Redis's
    // replicationCacheMasterUsingMyself) is refused and counted in sync_partial_err.
    let err_before = int(&mut mc, "stats", "sync_partial_err");
    for _ in 0..breaks {
        std::thread::sleep(Duration::from_millis(300));
        match brk {
            Break::Now => {
                rc.run("CLIENT KILL TYPE master");
            }
            Break::Delay(ms) => {
                signal(r.pid(), "STOP");
                let killed = mc.run("CLIENT KILL TYPE replica");
                std::thread::sleep(Duration::from_millis(ms));
                signal(r.pid(), "CONT");
                assert_eq!(killed, ":1", "{ctx}");
            }
        }
        wait_until(WAIT, || link_up(&mut rc), &format!("{ctx}: link back up"));
    }
    assert!(writer.stop() > 0, "{ctx}: the writer made progress");
    wait_converged(&[&m, &r], &ctx);
    assert_ne!(digest(&mut mc), "0".repeat(40), "{ctx}");
    let ok_n = int(&mut mc, "stats", "sync_partial_ok");
    let err_n = int(&mut mc, "stats", "sync_partial_err") - err_before;
    let full = int(&mut mc, "stats", "sync_full");
    if partial {
        assert!(ok_n > 0, "{ctx}: sync_partial_ok {ok_n}");
        assert_eq!(err_n, 0, "{ctx}: sync_partial_err");
        assert_eq!(full, 1, "{ctx}: only the first sync is full");
    } else {
        assert!(err_n > 0, "{ctx}: sync_partial_err {err_n}");
        assert!(full > 1, "{ctx}: sync_full {full}");
    }
}

// The full matrix of replication-psync.tcl is {disk, diskless} x {disabled, swapdb} x five
// cases; this keeps every case and every mode at least once (12 runs would take minutes on
// a loaded CI machine). "No reconnection" is `sync_under_write_load` in repl_replica.

#[test]
fn psync_matrix_big_backlog_disk_disabled() {
    test_psync("100mb", Break::Now, 5, false, "disabled", true);
}

#[test]
fn psync_matrix_big_backlog_diskless_swapdb() {
    test_psync("100mb", Break::Now, 5, true, "swapdb", true);
}

#[test]
fn psync_matrix_tiny_backlog_diskless_disabled() {
    // 100 bytes is raised to the 16 KB minimum, as in Redis; 500 ms of load overflows it.
    test_psync("100", Break::Delay(500), 3, true, "disabled", false);
}

#[test]
fn psync_matrix_tiny_backlog_disk_swapdb() {
    test_psync("100", Break::Delay(500), 3, false, "swapdb", false);
}

#[test]
fn psync_matrix_backlog_expired_diskless_swapdb() {
    // repl-backlog-ttl 1: the master is alone for 3 s, frees its backlog and changes its
    // replid, so the replica must full-sync although the backlog was big.
    let kinds = [Kind::Ferrodis; 2];
    test_psync_ttl(
        kinds,
        "100mb",
        "1",
        Break::Delay(3000),
        2,
        true,
        "swapdb",
        false,
    );
}

/// A redis-server 7.0 replica of ferrodis: tiny backlog (full syncs) and big one (partial).
#[test]
fn psync_matrix_redis_replica_of_ferrodis() {
    let kinds = [Kind::Ferrodis, Kind::Redis];
    test_psync_ttl(
        kinds,
        "100",
        "3600",
        Break::Delay(500),
        2,
        true,
        "disabled",
        false,
    );
    test_psync_ttl(
        kinds,
        "100mb",
        "3600",
        Break::Delay(500),
        2,
        false,
        "swapdb",
        true,
    );
}

/// A ferrodis replica of redis-server 7.0, the same two cases.
#[test]
fn psync_matrix_ferrodis_replica_of_redis() {
    let kinds = [Kind::Redis, Kind::Ferrodis];
    test_psync_ttl(
        kinds,
        "100",
        "3600",
        Break::Delay(500),
        2,
        false,
        "swapdb",
        false,
    );
    test_psync_ttl(
        kinds,
        "100mb",
        "3600",
        Break::Delay(500),
        2,
        true,
        "disabled",
        true,
    );
}

#[test]
fn psync_matrix_ok_after_delay_disk_disabled() {
    test_psync("100mb", Break::Delay(1000), 3, false, "disabled", true);
}

#[test]
fn psync_matrix_ok_after_delay_diskless_swapdb() {
    test_psync("100mb", Break::Delay(1000), 3, true, "swapdb", true);
}

// ---------------------------------------------------------------------------------------
// Replica restart in the middle of a stream that is not in db 0

/// The replica restarts (SIGTERM with a save) while its master's stream is in db 5: the RDB's
/// `repl-stream-db` must put the continued stream (which carries no new SELECT) back in
/// db 5.
fn replica_restart_keeps_the_stream_db(master_kind: Kind) {
    let m = node(master_kind, &["--repl-ping-replica-period", "3600"]);
    let mport = m.port().to_string();
    let mut r = node(Kind::Ferrodis, &["--replicaof", "127.0.0.1", &mport]);
    let mut mc = m.conn();
    mc.run("SELECT 5");
    ok(&mut mc, "SET a 1");
    wait_converged(&[&m, &r], "before the restart");
    ok(&mut r.conn(), "CONFIG SET save \"3600 1\"");
    let partial = int(&mut mc, "stats", "sync_partial_ok");
    let full = int(&mut mc, "stats", "sync_full");
    r.restart_same_port();
    let mut rc = r.conn();
    wait_until(
        WAIT,
        || link_up(&mut rc),
        "the restarted replica's link is up",
    );
    // Same connection, still in db 5: the master emits no SELECT for this one.
    ok(&mut mc, "SET b 2");
    wait_converged(&[&m, &r], "after the restart");
    rc.run("SELECT 5");
    assert_eq!(rc.run("GET b"), "$2");
    assert_eq!(int(&mut mc, "stats", "sync_partial_ok"), partial + 1);
    assert_eq!(int(&mut mc, "stats", "sync_full"), full);
}

#[test]
fn replica_restart_keeps_the_stream_db_of_a_ferrodis_master() {
    replica_restart_keeps_the_stream_db(Kind::Ferrodis);
}

#[test]
fn replica_restart_keeps_the_stream_db_of_a_redis_master() {
    replica_restart_keeps_the_stream_db(Kind::Redis);
}

// ---------------------------------------------------------------------------------------
// Failover under write load

/// A replica is promoted while its master is being written to (so the promotion can land
/// between any two commands of the stream), then the old master and its other replica
/// follow it. Whatever mix of partial and full syncs that takes, every node must end with
/// the new master's dataset at its offset, and the promoted node's own sub-replica keeps a
/// partial resync (it never saw more than its upstream).
#[test]
fn failover_under_write_load_converges() {
    let seed = seed();
    let m = node(Kind::Ferrodis, &[]);
    let a = node(Kind::Ferrodis, &[]);
    let b = node(Kind::Ferrodis, &[]);
    let c = node(Kind::Ferrodis, &[]);
    let (mut mc, mut ac, mut bc, mut cc) = (m.conn(), a.conn(), b.conn(), c.conn());
    replicaof(&mut ac, &m);
    replicaof(&mut bc, &m);
    replicaof(&mut cc, &a);
    wait_until(
        WAIT,
        || link_up(&mut ac) && link_up(&mut bc) && link_up(&mut cc),
        "all links up",
    );
    let load = Load::start(m.port(), seed);
    std::thread::sleep(Duration::from_millis(700));
    ok(&mut ac, "REPLICAOF NO ONE");
    std::thread::sleep(Duration::from_millis(300));
    assert!(load.stop() > 0);
    let c_full = int(&mut ac, "stats", "sync_full");
    replicaof(&mut mc, &a);
    replicaof(&mut bc, &a);
    let load = Load::start(a.port(), seed + 1);
    std::thread::sleep(Duration::from_millis(500));
    assert!(load.stop() > 0);
    wait_converged(&[&a, &m, &b, &c], &format!("seed {seed}"));
    // The old master and b had writes a never saw: full syncs. c only ever had a's bytes.
    assert_eq!(
        int(&mut ac, "stats", "sync_full"),
        c_full + 2,
        "seed {seed}: the old master and its replica full-sync, the sub-replica does not"
    );
    assert!(int(&mut ac, "stats", "sync_partial_ok") >= 1, "seed {seed}");
}

// ---------------------------------------------------------------------------------------
// Chaos

/// Random REPLICAOF changes (chains, even cycles), promotions, links killed from either
/// side and SIGTERM restarts, in no careful order, while a writer follows whoever is the
/// current master. Full syncs may happen; divergence may not: once everybody replicates from
/// the last master, every node must have its dataset at its offset.
#[test]
fn chaos_topology_changes_converge() {
    chaos([Kind::Ferrodis; 4], &[]);
}

/// Disk-based full syncs, swapdb loading, and clients served by two I/O threads.
#[test]
fn chaos_topology_changes_converge_disk_swapdb() {
    let extra = [
        "--repl-diskless-sync",
        "no",
        "--repl-diskless-load",
        "swapdb",
        "--io-threads",
        "2",
    ];
    chaos([Kind::Ferrodis; 4], &extra);
}

/// The same with two redis-server 7.0 nodes among the four.
#[test]
fn chaos_topology_changes_converge_mixed() {
    use Kind::{Ferrodis as F, Redis as R};
    chaos([F, R, F, R], &[]);
}

fn chaos(kinds: [Kind; 4], extra: &[&str]) {
    use std::sync::atomic::AtomicU16;
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut nodes: Vec<TestServer> = kinds
        .iter()
        .map(|&k| {
            let mut args = vec!["--repl-ping-replica-period", "1"];
            args.extend_from_slice(extra);
            node(k, &args)
        })
        .collect();
    let target = Arc::new(AtomicU16::new(nodes[0].port()));
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let writer = {
        let (target, stop, writes) = (target.clone(), stop.clone(), writes.clone());
        std::thread::spawn(move || {
            let mut conn: Option<(u16, Conn)> = None;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let port = target.load(Ordering::Relaxed);
                if conn.as_ref().map(|c| c.0) != Some(port) {
                    conn = std::net::TcpStream::connect(("127.0.0.1", port))
                        .ok()
                        .map(|s| (port, Conn::from_stream(s)));
                }
                let Some((_, c)) = conn.as_mut() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                i += 1;
                // Several databases, keys that expire (their DELs come from whichever
                // master expires them) and transactions that a cut link may split.
                let is = i.to_string();
                c.send(&["SELECT", &(i % 4).to_string()]);
                c.send(&["INCR", "x"]);
                let ttl = (50 + i % 1500).to_string();
                c.send(&["SET", &format!("k:{}", i % 300), &is, "PX", &ttl]);
                c.send(&["MULTI"]);
                c.send(&["INCR", "tx"]);
                c.send(&["RPUSH", &format!("l:{}", i % 10), &is]);
                c.send(&["LTRIM", &format!("l:{}", i % 10), "0", "40"]);
                c.send(&["EXEC"]);
                let ok = (0..8).all(|_| c.try_read_frame().is_ok());
                if ok {
                    writes.fetch_add(1, Ordering::Relaxed);
                } else {
                    conn = None;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let mut master = 0usize;
    let t = Instant::now();
    let mut steps = Vec::new();
    while t.elapsed() < Duration::from_secs(8) {
        std::thread::sleep(Duration::from_millis(rng.gen_range(100..400)));
        let n = rng.gen_range(0..4);
        let step = match rng.gen_range(0..10) {
            0..=1 => {
                master = n;
                target.store(nodes[n].port(), Ordering::Relaxed);
                format!("promote {n}")
            }
            2..=5 => {
                let to = rng.gen_range(0..4);
                if to == n || n == master {
                    continue;
                }
                nodes[n]
                    .conn()
                    .run(&format!("REPLICAOF 127.0.0.1 {}", nodes[to].port()));
                format!("{n} -> {to}")
            }
            6..=7 => {
                nodes[n].conn().run("CLIENT KILL TYPE master");
                format!("kill master link of {n}")
            }
            8 => {
                nodes[n].conn().run("CLIENT KILL TYPE replica");
                format!("kill replica links of {n}")
            }
            _ => {
                if n == master {
                    continue;
                }
                // SIGTERM with a save: the node comes back from its RDB (a replica keeps
                // its master in extra.conf, a master starts again as one).
                let mut c = nodes[n].conn();
                c.run("CONFIG SET save \"3600 1\"");
                let mp = field(&mut c, "replication", "master_port");
                let conf = if mp.is_empty() {
                    String::new()
                } else {
                    format!("replicaof 127.0.0.1 {mp}\n")
                };
                drop(c);
                std::fs::write(nodes[n].dir().join("extra.conf"), conf).expect("extra.conf");
                nodes[n].restart_same_port();
                format!("restart {n}")
            }
        };
        if step.starts_with("promote") {
            ok(&mut nodes[master].conn(), "REPLICAOF NO ONE");
        }
        steps.push(step);
    }
    // Settle: everybody replicates from the last master; the writer stops.
    for (i, n) in nodes.iter().enumerate() {
        if i != master {
            n.conn()
                .run(&format!("REPLICAOF 127.0.0.1 {}", nodes[master].port()));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer thread");
    assert!(writes.load(Ordering::Relaxed) > 0);
    let refs: Vec<&TestServer> = std::iter::once(&nodes[master])
        .chain((0..4).filter(|&i| i != master).map(|i| &nodes[i]))
        .collect();
    wait_converged(&refs, &format!("seed {seed}, steps {steps:?}"));
}
