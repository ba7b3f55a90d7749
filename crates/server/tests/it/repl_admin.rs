//! Topology administration: SHUTDOWN / SIGTERM waiting for lagging replicas, FAILOVER, and
//! `repl-backlog-ttl`. Each scenario runs with ferrodis and, where the point is equality,
//! the same steps against redis-server 7.0 (replies compared exactly, log lines by their
//! fixed text). Lagging replicas are made with SIGSTOP/SIGCONT; every wait is bounded.

use crate::BIN;
use ferrodis_test_support::{info_fields, show, signal, text, wait_until, Conn, TestServer};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Ferrodis,
    Redis,
}

fn node(kind: Kind, extra: &[&str]) -> TestServer {
    let mut args = vec!["--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    match kind {
        Kind::Ferrodis => TestServer::start(BIN, &args),
        Kind::Redis => TestServer::redis(&args),
    }
}

fn replica_of(kind: Kind, m: &TestServer, extra: &[&str]) -> TestServer {
    let port = m.port().to_string();
    let mut args = vec!["--replicaof", "127.0.0.1", &port];
    args.extend_from_slice(extra);
    node(kind, &args)
}

fn info(c: &mut Conn, section: &str) -> HashMap<String, String> {
    info_fields(&c.cmd(&["INFO", section]))
}

fn field(c: &mut Conn, section: &str, name: &str) -> String {
    info(c, section).get(name).cloned().unwrap_or_default()
}

/// Waits until `m` lists every replica online and each replica applied `m`'s offset.
fn wait_synced(m: &TestServer, replicas: &[&TestServer]) {
    let mut mc = m.conn();
    wait_until(
        LONG,
        || {
            let f = info(&mut mc, "replication");
            let online = (0..replicas.len())
                .filter(|i| {
                    f.get(&format!("slave{i}"))
                        .is_some_and(|l| l.contains("state=online"))
                })
                .count();
            let off = f.get("master_repl_offset").cloned();
            online == replicas.len()
                && replicas.iter().all(|r| {
                    let rf = info(&mut r.conn(), "replication");
                    rf.get("master_link_status").map(String::as_str) == Some("up")
                        && rf.get("master_repl_offset") == off.as_ref()
                })
        },
        "every replica is online with the master's offset",
    );
}

fn wait_log(s: &TestServer, needle: &str) {
    wait_until(
        LONG,
        || s.log().contains(needle),
        &format!("the log contains {needle:?}"),
    );
}

/// A lagging replica: SIGSTOPped until dropped (SIGCONT), so a failing test never leaves a
/// stopped process behind a SIGKILL-less path.
struct Stopped(u32);

impl Stopped {
    fn new(r: &TestServer) -> Stopped {
        signal(r.pid(), "STOP");
        Stopped(r.pid())
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-CONT")
            .arg(self.0.to_string())
            .status();
    }
}

// ---------------------------------------------------------------------------------------
// SHUTDOWN

/// What a SHUTDOWN that had to give up on a stopped replica looks like: it waits (writes
/// held, reads served, `shutdown_in_milliseconds` counting down), then logs the lagging
/// replica and exits 0.
fn shutdown_times_out_on_lagging_replica(kind: Kind) {
    let mut m = node(kind, &["--shutdown-timeout", "2"]);
    let r = replica_of(Kind::Redis, &m, &[]);
    wait_synced(&m, &[&r]);
    let stopped = Stopped::new(&r);
    let mut c = m.conn();
    assert_eq!(show(&c.cmd(&["SET", "k", "v"])), "+OK");
    let t0 = Instant::now();
    let mut sd = m.conn();
    sd.send(&["SHUTDOWN"]);
    wait_log(&m, "Waiting for replicas before shutting down.");
    let ms: i64 = field(&mut c, "server", "shutdown_in_milliseconds")
        .parse()
        .unwrap_or(-1);
    assert!((0..=2000).contains(&ms), "shutdown_in_milliseconds:{ms}");
    // Writes are held, reads are served.
    let mut w = m.conn();
    w.send(&["SET", "held", "1"]);
    assert!(
        w.silent_for(Duration::from_millis(300)),
        "a write ran during the wait"
    );
    assert_eq!(show(&c.cmd(&["GET", "k"])), "$v");
    let st = m.wait_exit(Duration::from_secs(30));
    assert_eq!(st.code(), Some(0));
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t0.elapsed()
    );
    assert!(sd.closed_within(Duration::from_secs(5)));
    let log = m.log();
    let lag_line = log
        .lines()
        .find(|l| l.contains("Lagging replica"))
        .unwrap_or_else(|| panic!("no lagging replica line:\n{log}"));
    let who = format!("# Lagging replica 127.0.0.1:{} reported offset ", r.port());
    assert!(lag_line.contains(&who), "{lag_line}");
    assert!(lag_line.contains(" behind master, lag="), "{lag_line}");
    assert!(lag_line.ends_with(", state=online."), "{lag_line}");
    assert!(
        log.contains("* 0 of 1 replicas are in sync when shutting down."),
        "{log}"
    );
    drop(stopped);
}

#[test]
fn repl_admin_shutdown_times_out_on_lagging_replica() {
    shutdown_times_out_on_lagging_replica(Kind::Ferrodis);
}

#[test]
fn repl_admin_shutdown_times_out_on_lagging_replica_redis() {
    shutdown_times_out_on_lagging_replica(Kind::Redis);
}

/// A SHUTDOWN waiting for a stopped replica finishes as soon as the replica resumes and
/// acknowledges: the write made before SHUTDOWN reached it.
#[test]
fn repl_admin_shutdown_waits_until_replica_catches_up() {
    let mut m = node(Kind::Ferrodis, &["--shutdown-timeout", "60"]);
    let r = replica_of(Kind::Redis, &m, &[]);
    wait_synced(&m, &[&r]);
    let stopped = Stopped::new(&r);
    let mut c = m.conn();
    for i in 0..100 {
        c.cmd(&["SET", &format!("k{i}"), &i.to_string()]);
    }
    let mut sd = m.conn();
    sd.send(&["SHUTDOWN", "NOSAVE"]);
    wait_log(&m, "Waiting for replicas before shutting down.");
    assert!(sd.silent_for(Duration::from_millis(300)));
    let t0 = Instant::now();
    drop(stopped);
    let st = m.wait_exit(Duration::from_secs(30));
    assert_eq!(st.code(), Some(0));
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    let log = m.log();
    assert!(
        log.contains("* 1 of 1 replicas are in sync when shutting down."),
        "{log}"
    );
    assert!(!log.contains("Lagging replica"), "{log}");
    assert_eq!(show(&r.conn().cmd(&["GET", "k99"])), "$99");
}

/// Replies of SHUTDOWN's argument errors and of ABORT, and what the blocked callers get,
/// compared with redis-server.
fn shutdown_abort_transcript(kind: Kind) -> Vec<String> {
    let m = node(kind, &["--shutdown-timeout", "30"]);
    let r = replica_of(Kind::Redis, &m, &[]);
    wait_synced(&m, &[&r]);
    let mut c = m.conn();
    let mut out = Vec::new();
    for cmd in [
        &["SHUTDOWN", "ABORT"][..],
        &["SHUTDOWN", "ABORT", "NOW"],
        &["SHUTDOWN", "SAVE", "NOSAVE"],
        &["SHUTDOWN", "bogus"],
        &["CONFIG", "SET", "shutdown-on-sigterm", "nosave now force"],
        &["CONFIG", "GET", "shutdown-on-sigterm"],
        &["CONFIG", "SET", "shutdown-on-sigterm", "default now"],
        &["CONFIG", "GET", "shutdown-on-sigterm"],
        &["CONFIG", "SET", "shutdown-on-sigterm", "save nosave"],
        &["CONFIG", "SET", "shutdown-on-sigterm", "later"],
        &["CONFIG", "SET", "shutdown-on-sigterm", "default"],
        &["CONFIG", "GET", "shutdown-on-sigint"],
    ] {
        out.push(show(&c.cmd(cmd)));
    }
    let stopped = Stopped::new(&r);
    c.cmd(&["SET", "k", "v"]);
    let mut sd1 = m.conn();
    sd1.send(&["SHUTDOWN"]);
    wait_log(&m, "Waiting for replicas before shutting down.");
    let mut sd2 = m.conn();
    sd2.send(&["SHUTDOWN", "SAVE"]);
    let mut w = m.conn();
    w.send(&["INCR", "n"]);
    assert!(w.silent_for(Duration::from_millis(300)));
    out.push(format!(
        "has shutdown_in_milliseconds: {}",
        info(&mut c, "server").contains_key("shutdown_in_milliseconds")
    ));
    // The two SHUTDOWN callers and the held INCR are blocked clients.
    let clients = info(&mut c, "clients");
    out.push(format!(
        "connected {} blocked {}",
        clients["connected_clients"], clients["blocked_clients"]
    ));
    out.push(show(&c.cmd(&["SHUTDOWN", "ABORT"])));
    out.push(show(&sd1.read_reply("the first SHUTDOWN's error")));
    out.push(show(&sd2.read_reply("the second SHUTDOWN's error")));
    out.push(show(&w.read_reply("the held INCR")));
    out.push(show(&c.cmd(&["SHUTDOWN", "ABORT"])));
    out.push(format!(
        "has shutdown_in_milliseconds: {}",
        info(&mut c, "server").contains_key("shutdown_in_milliseconds")
    ));
    wait_log(&m, "Shutdown manually aborted.");
    drop(stopped);
    out
}

#[test]
fn repl_admin_shutdown_abort_matches_redis() {
    let ours = shutdown_abort_transcript(Kind::Ferrodis);
    let theirs = shutdown_abort_transcript(Kind::Redis);
    assert_eq!(ours, theirs);
    assert_eq!(ours[0], "-ERR No shutdown in progress.");
    assert_eq!(ours[13], "connected 4 blocked 3");
    assert_eq!(ours[14], "+OK");
    assert_eq!(ours[15], "-ERR Errors trying to SHUTDOWN. Check logs.");
}

/// NOW skips the wait; `shutdown-timeout 0` too.
#[test]
fn repl_admin_shutdown_now_does_not_wait() {
    for (args, cmd) in [
        (&["--shutdown-timeout", "30"][..], &["SHUTDOWN", "NOW"][..]),
        (&["--shutdown-timeout", "0"][..], &["SHUTDOWN"][..]),
    ] {
        let mut m = node(Kind::Ferrodis, args);
        let r = replica_of(Kind::Redis, &m, &[]);
        wait_synced(&m, &[&r]);
        let stopped = Stopped::new(&r);
        m.conn().cmd(&["SET", "k", "v"]);
        let t0 = Instant::now();
        m.conn().send(cmd);
        assert_eq!(m.wait_exit(Duration::from_secs(30)).code(), Some(0));
        assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
        let log = m.log();
        assert!(!log.contains("Waiting for replicas"), "{log}");
        assert!(log.contains("Lagging replica"), "{log}");
        drop(stopped);
    }
}

/// SIGTERM waits like SHUTDOWN; `shutdown-on-sigterm now` does not; SHUTDOWN ABORT cancels a
/// signalled wait and the server keeps serving.
#[test]
fn repl_admin_sigterm_waits_for_replicas() {
    let mut m = node(Kind::Ferrodis, &["--shutdown-timeout", "30"]);
    let r = replica_of(Kind::Redis, &m, &[]);
    wait_synced(&m, &[&r]);
    let stopped = Stopped::new(&r);
    let mut c = m.conn();
    c.cmd(&["SET", "k", "v"]);
    signal(m.pid(), "TERM");
    wait_log(&m, "Waiting for replicas before shutting down.");
    assert!(m.log().contains("Received SIGTERM scheduling shutdown..."));
    assert_eq!(show(&c.cmd(&["SHUTDOWN", "ABORT"])), "+OK");
    assert_eq!(show(&c.cmd(&["SET", "k2", "v2"])), "+OK");
    assert_eq!(
        show(&c.cmd(&["CONFIG", "SET", "shutdown-on-sigterm", "now"])),
        "+OK"
    );
    let t0 = Instant::now();
    signal(m.pid(), "TERM");
    assert_eq!(m.wait_exit(Duration::from_secs(30)).code(), Some(0));
    assert!(t0.elapsed() < Duration::from_secs(10));
    let log = m.log();
    assert_eq!(
        log.matches("Waiting for replicas before shutting down.")
            .count(),
        1
    );
    assert!(
        log.contains("0 of 1 replicas are in sync when shutting down."),
        "{log}"
    );
    drop(stopped);
}

// ---------------------------------------------------------------------------------------
// FAILOVER

/// FAILOVER's argument and state errors, and an aborted wait, compared with redis-server.
fn failover_errors_transcript(kind: Kind) -> Vec<String> {
    let m = node(kind, &[]);
    let mut c = m.conn();
    let mut out = Vec::new();
    let run = |out: &mut Vec<String>, c: &mut Conn, cmd: &[&str]| out.push(show(&c.cmd(cmd)));
    run(&mut out, &mut c, &["FAILOVER"]);
    run(&mut out, &mut c, &["FAILOVER", "ABORT"]);
    run(&mut out, &mut c, &["FAILOVER", "TIMEOUT", "0"]);
    run(&mut out, &mut c, &["FAILOVER", "TIMEOUT", "-1"]);
    run(&mut out, &mut c, &["FAILOVER", "TIMEOUT", "x"]);
    run(&mut out, &mut c, &["FAILOVER", "TO", "127.0.0.1", "port"]);
    run(&mut out, &mut c, &["FAILOVER", "TO", "127.0.0.1"]);
    run(&mut out, &mut c, &["FAILOVER", "ABORT", "NOW"]);
    run(&mut out, &mut c, &["FAILOVER", "FORCE", "FORCE"]);
    let r = replica_of(kind, &m, &[]);
    wait_synced(&m, &[&r]);
    let rport = r.port().to_string();
    run(&mut out, &mut c, &["FAILOVER", "TO", "127.0.0.1", "1"]);
    run(&mut out, &mut c, &["FAILOVER", "FORCE", "TIMEOUT", "100"]);
    run(
        &mut out,
        &mut c,
        &["FAILOVER", "TO", "127.0.0.1", &rport, "FORCE"],
    );
    run(&mut out, &mut r.conn(), &["FAILOVER"]);
    run(
        &mut out,
        &mut r.conn(),
        &[
            "PSYNC",
            "0123456789012345678901234567890123456789",
            "1",
            "FAILOVER",
        ],
    );
    // A wait that cannot finish: the replica is stopped.
    let stopped = Stopped::new(&r);
    c.cmd(&["SET", "k", "v"]);
    run(&mut out, &mut c, &["FAILOVER", "TIMEOUT", "60000"]);
    out.push(field(&mut c, "replication", "master_failover_state"));
    run(&mut out, &mut c, &["FAILOVER"]);
    run(&mut out, &mut c, &["REPLICAOF", "127.0.0.1", "1"]);
    let mut w = m.conn();
    w.send(&["SET", "held", "1"]);
    assert!(w.silent_for(Duration::from_millis(300)));
    run(&mut out, &mut c, &["FAILOVER", "ABORT"]);
    out.push(show(&w.read_reply("the held SET")));
    out.push(field(&mut c, "replication", "master_failover_state"));
    run(&mut out, &mut c, &["FAILOVER", "ABORT"]);
    wait_log(
        &m,
        "FAILOVER to any replica aborted: Failover manually aborted",
    );
    drop(stopped);
    out
}

#[test]
fn repl_admin_failover_errors_match_redis() {
    let ours = failover_errors_transcript(Kind::Ferrodis);
    let theirs = failover_errors_transcript(Kind::Redis);
    assert_eq!(ours, theirs);
    assert_eq!(ours[0], "-ERR FAILOVER requires connected replicas.");
    assert_eq!(
        ours[9],
        "-ERR FAILOVER target HOST and PORT is not a replica."
    );
    assert_eq!(
        ours[12],
        "-ERR FAILOVER is not valid when server is a replica."
    );
    assert_eq!(ours[13], "-ERR PSYNC FAILOVER replid must match my replid.");
    assert_eq!(ours[15], "waiting-for-sync");
    assert_eq!(ours[16], "-ERR FAILOVER already in progress.");
    assert_eq!(ours[17], "-ERR REPLICAOF not allowed while failing over.");
}

/// FAILOVER TO the replica under writes: roles swap, the new master accepts the old one by
/// partial resync, the dataset is equal, and new writes flow the other way.
fn failover_swaps_roles(master: Kind, replica: Kind) {
    let m = node(master, &[]);
    let r = replica_of(replica, &m, &[]);
    wait_synced(&m, &[&r]);
    let mut mc = m.conn();
    for i in 0..200 {
        mc.cmd(&["RPUSH", "list", &i.to_string()]);
    }
    let full_before: u64 = field(&mut r.conn(), "stats", "sync_full")
        .parse()
        .unwrap_or(0);
    let partial_before: u64 = field(&mut r.conn(), "stats", "sync_partial_ok")
        .parse()
        .unwrap_or(0);
    let rport = r.port().to_string();
    assert_eq!(
        show(&mc.cmd(&["FAILOVER", "TO", "127.0.0.1", &rport])),
        "+OK",
        "{master:?} -> {replica:?}"
    );
    wait_until(
        LONG,
        || field(&mut mc, "replication", "master_failover_state") == "no-failover",
        "the failover finishes",
    );
    let mut rc = r.conn();
    assert_eq!(field(&mut rc, "replication", "role"), "master");
    assert_eq!(field(&mut mc, "replication", "role"), "slave");
    assert_eq!(
        field(&mut mc, "replication", "master_port"),
        r.port().to_string()
    );
    wait_synced(&r, &[&m]);
    assert_eq!(
        field(&mut rc, "stats", "sync_partial_ok")
            .parse::<u64>()
            .unwrap_or(0),
        partial_before + 1
    );
    assert_eq!(
        field(&mut rc, "stats", "sync_full")
            .parse::<u64>()
            .unwrap_or(0),
        full_before
    );
    assert_eq!(
        text(&mc.cmd(&["DEBUG", "DIGEST"])),
        text(&rc.cmd(&["DEBUG", "DIGEST"]))
    );
    assert_eq!(show(&rc.cmd(&["SET", "after", "1"])), "+OK");
    assert!(show(&mc.cmd(&["SET", "x", "1"])).starts_with("-READONLY"));
    wait_synced(&r, &[&m]);
    assert_eq!(show(&mc.cmd(&["GET", "after"])), "$1");
    let (old, new) = (m.log(), r.log());
    let expect = format!(
        "Failover target 127.0.0.1:{} is synced, failing over.",
        r.port()
    );
    assert!(old.contains(&expect), "{old}");
    assert!(
        new.contains("MASTER MODE enabled (failover request from '"),
        "{new}"
    );
}

#[test]
fn repl_admin_failover_ferrodis_to_ferrodis() {
    failover_swaps_roles(Kind::Ferrodis, Kind::Ferrodis);
}

#[test]
fn repl_admin_failover_ferrodis_to_redis() {
    failover_swaps_roles(Kind::Ferrodis, Kind::Redis);
}

#[test]
fn repl_admin_failover_redis_to_ferrodis() {
    failover_swaps_roles(Kind::Redis, Kind::Ferrodis);
}

/// A TIMEOUT without FORCE gives up ("Replica never caught up before timeout") and writes
/// resume on the master; with FORCE the switch happens anyway and completes once the target
/// answers.
#[test]
fn repl_admin_failover_timeout_and_force() {
    let m = node(Kind::Ferrodis, &[]);
    let r = replica_of(Kind::Ferrodis, &m, &[]);
    wait_synced(&m, &[&r]);
    let mut mc = m.conn();
    let stopped = Stopped::new(&r);
    mc.cmd(&["SET", "k", "v"]);
    assert_eq!(show(&mc.cmd(&["FAILOVER", "TIMEOUT", "500"])), "+OK");
    let mut w = m.conn();
    w.send(&["SET", "held", "1"]);
    assert_eq!(show(&w.read_reply("the held SET")), "+OK");
    wait_log(
        &m,
        "FAILOVER to any replica aborted: Replica never caught up before timeout",
    );
    // The line is logged just before the state is cleared.
    wait_until(
        LONG,
        || field(&mut mc, "replication", "master_failover_state") == "no-failover",
        "the timed-out failover is cleared",
    );
    assert_eq!(field(&mut mc, "replication", "role"), "master");

    let rport = r.port().to_string();
    assert_eq!(
        show(&mc.cmd(&[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &rport,
            "TIMEOUT",
            "300",
            "FORCE"
        ])),
        "+OK"
    );
    let forced = format!(
        "FAILOVER to 127.0.0.1:{} time out exceeded, failing over.",
        r.port()
    );
    wait_log(&m, &forced);
    wait_until(
        LONG,
        || field(&mut mc, "replication", "master_failover_state") == "failover-in-progress",
        "the forced failover starts",
    );
    drop(stopped);
    wait_until(
        LONG,
        || field(&mut mc, "replication", "master_failover_state") == "no-failover",
        "the forced failover finishes",
    );
    let mut rc = r.conn();
    assert_eq!(field(&mut rc, "replication", "role"), "master");
    wait_synced(&r, &[&m]);
    // FORCE may drop what the target had not received (as in Redis); both sides agree.
    assert_eq!(
        text(&mc.cmd(&["DEBUG", "DIGEST"])),
        text(&rc.cmd(&["DEBUG", "DIGEST"]))
    );
}

// ---------------------------------------------------------------------------------------
// repl-backlog-ttl

/// A master whose replicas are gone frees its backlog after the TTL (new replid, backlog
/// inactive, log line as Redis), so a replica restarted from its own RDB (which names the
/// old history) gets a full sync instead of the partial one it asks for.
fn backlog_ttl(kind: Kind) {
    let m = node(kind, &["--repl-backlog-ttl", "1"]);
    let mut r = replica_of(Kind::Redis, &m, &[]);
    wait_synced(&m, &[&r]);
    let mut mc = m.conn();
    mc.cmd(&["SET", "k", "v"]);
    wait_synced(&m, &[&r]);
    let replid = field(&mut mc, "replication", "master_replid");
    assert_eq!(field(&mut mc, "replication", "repl_backlog_active"), "1");
    let full_before: u64 = field(&mut mc, "stats", "sync_full").parse().unwrap_or(0);
    r.conn().send(&["SHUTDOWN", "SAVE"]);
    assert_eq!(r.wait_exit(LONG).code(), Some(0));
    wait_log(
        &m,
        "Replication backlog freed after 1 seconds without connected replicas.",
    );
    assert_eq!(field(&mut mc, "replication", "repl_backlog_active"), "0");
    assert_ne!(field(&mut mc, "replication", "master_replid"), replid);
    r.restart_same_port();
    wait_synced(&m, &[&r]);
    assert_eq!(
        field(&mut mc, "stats", "sync_full")
            .parse::<u64>()
            .unwrap_or(0),
        full_before + 1
    );
    assert!(
        m.log().contains("Partial resynchronization not accepted"),
        "{}",
        m.log()
    );
    assert_eq!(show(&r.conn().cmd(&["GET", "k"])), "$v");
}

#[test]
fn repl_admin_backlog_ttl_frees_backlog() {
    backlog_ttl(Kind::Ferrodis);
}

#[test]
fn repl_admin_backlog_ttl_frees_backlog_redis() {
    backlog_ttl(Kind::Redis);
}

// ---------------------------------------------------------------------------------------
// Test-only configs: rdb-key-save-delay, key-load-delay, loading-process-events-interval-bytes

fn debug_config_transcript(kind: Kind) -> Vec<String> {
    let m = node(kind, &[]);
    let mut c = m.conn();
    let mut out = Vec::new();
    for cmd in [
        &["CONFIG", "GET", "rdb-key-save-delay"][..],
        &["CONFIG", "GET", "key-load-delay"],
        &["CONFIG", "GET", "loading-process-events-interval-bytes"],
        &["CONFIG", "SET", "rdb-key-save-delay", "-5"],
        &["CONFIG", "GET", "rdb-key-save-delay"],
        &["CONFIG", "SET", "key-load-delay", "abc"],
        &[
            "CONFIG",
            "SET",
            "loading-process-events-interval-bytes",
            "100",
        ],
        &[
            "CONFIG",
            "SET",
            "loading-process-events-interval-bytes",
            "4096",
        ],
        &["CONFIG", "GET", "*-delay"],
        &["CONFIG", "SET", "rdb-key-save-delay", "0"],
    ] {
        out.push(show(&c.cmd(cmd)));
    }
    let all = ferrodis_test_support::strings(&c.cmd(&["CONFIG", "GET", "*"]));
    out.push(format!(
        "listed by CONFIG GET *: {}",
        all.iter()
            .any(|n| n.contains("key-save-delay") || n.contains("loading-process"))
    ));
    out
}

#[test]
fn repl_admin_debug_configs_match_redis() {
    assert_eq!(
        debug_config_transcript(Kind::Ferrodis),
        debug_config_transcript(Kind::Redis)
    );
}

/// `rdb-key-save-delay` makes BGSAVE (and a replication snapshot) crawl while clients are
/// served; `key-load-delay` makes a start-up load crawl (`-LOADING` meanwhile).
#[test]
fn repl_admin_save_and_load_delays() {
    let mut m = node(Kind::Ferrodis, &[]);
    let mut c = m.conn();
    assert_eq!(show(&c.cmd(&["DEBUG", "POPULATE", "2000"])), "+OK");
    // 2000 keys x 1 ms = 2 s.
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "1000"]);
    let t0 = Instant::now();
    assert_eq!(show(&c.cmd(&["BGSAVE"])), "+Background saving started");
    assert_eq!(field(&mut c, "persistence", "rdb_bgsave_in_progress"), "1");
    let p0 = Instant::now();
    assert_eq!(show(&c.cmd(&["SET", "during", "1"])), "+OK");
    assert!(
        p0.elapsed() < Duration::from_millis(500),
        "{:?}",
        p0.elapsed()
    );
    wait_until(
        LONG,
        || field(&mut c, "persistence", "rdb_bgsave_in_progress") == "0",
        "the delayed BGSAVE ends",
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(field(&mut c, "persistence", "rdb_last_bgsave_status"), "ok");

    // A replica's full sync goes through the same delayed snapshot.
    let t1 = Instant::now();
    let r = replica_of(Kind::Redis, &m, &[]);
    wait_synced(&m, &[&r]);
    assert!(
        t1.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t1.elapsed()
    );
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    assert_eq!(show(&c.cmd(&["SAVE"])), "+OK");
    drop(r);

    // Restart loading the 2001 keys at 1 ms each.
    m.stop();
    let dump = m.dir().join("dump.rdb");
    assert!(dump.exists());
    let dir = m.dir().display().to_string();
    let l = TestServer::builder(BIN)
        .args(&["--dir", &dir, "--key-load-delay", "1000"])
        .start();
    // (The test harness waits for PONG, i.e. until the load is over.)
    let log = l.log();
    let secs: f64 = log
        .lines()
        .find_map(|l| l.split("DB loaded from disk: ").nth(1))
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no load time in the log:\n{log}"));
    assert!(secs >= 1.5, "load took {secs} s");
    let mut lc = l.conn();
    assert_eq!(show(&lc.cmd(&["GET", "during"])), "$1");
    assert_eq!(show(&lc.cmd(&["DBSIZE"])), ":2001");
}

/// While FAILOVER holds writes, keys that expire are hidden but not deleted (no DEL moves
/// the offset the replicas must reach), as Redis; the DEL comes once writes resume.
fn paused_expiry(kind: Kind) -> Vec<String> {
    let m = node(kind, &[]);
    let r = replica_of(Kind::Redis, &m, &[]);
    wait_synced(&m, &[&r]);
    let mut c = m.conn();
    let mut out = vec![show(&c.cmd(&["SET", "k", "v", "PX", "300"]))];
    wait_synced(&m, &[&r]);
    let stopped = Stopped::new(&r);
    out.push(show(&c.cmd(&["FAILOVER", "TIMEOUT", "60000"])));
    let off = field(&mut c, "replication", "master_repl_offset");
    // Bounded wait for the key's time to pass (GET hides it once expired).
    wait_until(
        LONG,
        || show(&c.cmd(&["GET", "k"])) == "nil",
        "k expires while writes are paused",
    );
    // Give the active expiry cycle (100 ms) a few chances to (wrongly) delete it.
    assert!(c.silent_for(Duration::from_millis(300)));
    out.push(show(&c.cmd(&["GET", "k"])));
    out.push(show(&c.cmd(&["EXISTS", "k"])));
    out.push(format!(
        "offset unchanged: {}",
        field(&mut c, "replication", "master_repl_offset") == off
    ));
    out.push(show(&c.cmd(&["FAILOVER", "ABORT"])));
    drop(stopped);
    wait_synced(&m, &[&r]);
    wait_until(
        LONG,
        || show(&r.conn().cmd(&["EXISTS", "k"])) == ":0",
        "the replica gets the DEL",
    );
    out
}

#[test]
fn repl_admin_paused_master_does_not_expire() {
    let ours = paused_expiry(Kind::Ferrodis);
    assert_eq!(ours, paused_expiry(Kind::Redis));
    assert_eq!(ours[4], "offset unchanged: true");
}

/// DEBUG REPLICATE sends a command to replicas without running it on the master.
#[test]
fn repl_admin_debug_replicate() {
    for kind in [Kind::Ferrodis, Kind::Redis] {
        let m = node(kind, &[]);
        let r = replica_of(Kind::Redis, &m, &[]);
        wait_synced(&m, &[&r]);
        let mut c = m.conn();
        assert_eq!(
            show(&c.cmd(&["DEBUG", "REPLICATE", "SET", "k", "from-debug"])),
            "+OK"
        );
        assert_eq!(
            show(&c.cmd(&["DEBUG", "REPLICATE"])),
            "-ERR unknown subcommand or wrong number of arguments for 'REPLICATE'. Try DEBUG HELP."
        );
        wait_synced(&m, &[&r]);
        assert_eq!(
            show(&r.conn().cmd(&["GET", "k"])),
            "$from-debug",
            "{kind:?}"
        );
        assert_eq!(show(&c.cmd(&["GET", "k"])), "nil", "{kind:?}");
    }
}

/// SIGTERM during a (slow) start-up load stops the server promptly with Redis's line.
#[test]
fn repl_admin_sigterm_during_loading() {
    let mut m = node(Kind::Ferrodis, &[]);
    let mut c = m.conn();
    c.cmd(&["DEBUG", "POPULATE", "3000"]);
    assert_eq!(show(&c.cmd(&["SAVE"])), "+OK");
    m.stop();
    // Not a TestServer: it waits for PONG, i.e. for the end of the load.
    let port = ferrodis_test_support::free_port();
    let log = m.dir().join("loading.log");
    let out = std::fs::File::create(&log).expect("log file");
    let mut child = std::process::Command::new(BIN)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(m.dir())
        .args(["--key-load-delay", "10000"])
        .stdout(out)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ferrodis");
    wait_until(
        LONG,
        || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok_and(|s| {
                let mut k = Conn::from_stream(s);
                show(&k.cmd(&["GET", "x"])).starts_with("-LOADING")
            })
        },
        "the server answers -LOADING",
    );
    let t0 = Instant::now();
    signal(child.id(), "TERM");
    let st = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("still loading after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(st.code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("Received shutdown signal during loading, scheduling shutdown."),
        "{text}"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}

/// Redis's unit/shutdown.tcl: a failing final save (a directory named like the dump) keeps
/// the server running after SIGINT and SHUTDOWN; NOSAVE still exits; SHUTDOWN ABORT cancels
/// a signalled shutdown held by DEBUG PAUSE-CRON.
fn save_failure_transcript(kind: Kind) -> Vec<String> {
    let mut m = node(kind, &["--save", "900 1"]);
    let mut c = m.conn();
    let mut out = Vec::new();
    out.push(show(&c.cmd(&["DEBUG", "PAUSE-CRON", "1"])));
    signal(m.pid(), "TERM");
    wait_log(&m, "Received SIGTERM scheduling shutdown...");
    out.push(show(&c.cmd(&["SHUTDOWN", "ABORT"])));
    out.push(show(&c.cmd(&["DEBUG", "PAUSE-CRON", "0"])));
    out.push(show(&c.cmd(&["PING"])));
    for i in 0..20 {
        c.cmd(&["SET", &i.to_string(), &i.to_string()]);
    }
    let dump = m.dir().join("dump.rdb");
    let _ = std::fs::remove_file(&dump);
    std::fs::create_dir_all(&dump).expect("mkdir dump.rdb");
    signal(m.pid(), "INT");
    wait_log(&m, "Error trying to save the DB, can't exit.");
    out.push(show(&c.cmd(&["PING"])));
    out.push(show(&c.cmd(&["SHUTDOWN"])));
    out.push(show(&c.cmd(&["PING"])));
    c.send(&["SHUTDOWN", "NOSAVE"]);
    out.push(format!(
        "closed: {}",
        c.closed_within(Duration::from_secs(20))
    ));
    out.push(format!("exit: {:?}", m.wait_exit(LONG).code()));
    let log = m.log();
    for line in [
        "Shutdown manually aborted.",
        "Errors trying to shut down the server. Check the logs for more information.",
        "Received SIGINT scheduling shutdown...",
    ] {
        out.push(format!("{line} {}", log.contains(line)));
    }
    out
}

#[test]
fn repl_admin_shutdown_save_failure_matches_redis() {
    let ours = save_failure_transcript(Kind::Ferrodis);
    assert_eq!(ours, save_failure_transcript(Kind::Redis));
    assert_eq!(ours[5], "-ERR Errors trying to SHUTDOWN. Check logs.");
}

/// SHUTDOWN during a (slow) BGSAVE stops that save ("There is a child saving an .rdb.
/// Killing it!") and writes its own final snapshot.
fn shutdown_kills_bgsave(kind: Kind) {
    let mut m = node(kind, &["--save", "900 1"]);
    let mut c = m.conn();
    for i in 0..50 {
        c.cmd(&["SET", &format!("k{i}"), "v"]);
    }
    // One second per key: this BGSAVE would take nearly a minute.
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "1000000"]);
    assert_eq!(show(&c.cmd(&["BGSAVE"])), "+Background saving started");
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    let t0 = Instant::now();
    c.send(&["SHUTDOWN"]);
    assert_eq!(m.wait_exit(LONG).code(), Some(0), "{kind:?}");
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    let log = m.log();
    assert!(
        log.contains("# There is a child saving an .rdb. Killing it!"),
        "{log}"
    );
    assert!(log.contains("DB saved on disk"), "{log}");
    // The final snapshot has every key.
    let r = TestServer::builder(BIN)
        .args(&["--dir", &m.dir().display().to_string()])
        .start();
    assert_eq!(show(&r.conn().cmd(&["DBSIZE"])), ":50");
}

#[test]
fn repl_admin_shutdown_kills_running_bgsave() {
    shutdown_kills_bgsave(Kind::Ferrodis);
    shutdown_kills_bgsave(Kind::Redis);
}

/// With `requirepass`, SHUTDOWN (even ABORT or a bad argument) and FAILOVER need AUTH.
#[test]
fn repl_admin_shutdown_requires_auth_as_redis() {
    let transcript = |kind: Kind| {
        let s = node(kind, &["--requirepass", "pw"]);
        let mut c = s.conn();
        let mut out: Vec<String> = [
            &["SHUTDOWN", "ABORT"][..],
            &["SHUTDOWN", "foo"],
            &["SHUTDOWN", "NOSAVE"],
            &["FAILOVER"],
        ]
        .iter()
        .map(|cmd| show(&c.cmd(cmd)))
        .collect();
        out.push(show(&c.cmd(&["AUTH", "pw"])));
        out.push(show(&c.cmd(&["SHUTDOWN", "ABORT"])));
        out
    };
    let ours = transcript(Kind::Ferrodis);
    assert_eq!(ours, transcript(Kind::Redis));
    assert_eq!(ours[0], "-NOAUTH Authentication required.");
}
