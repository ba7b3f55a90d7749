//! HyperLogLog against redis-server 7.0: the same commands must give the same replies and
//! leave the same bytes (an HLL is a string that replication and RDB files carry verbatim),
//! and HLLs must replicate in both directions.

use crate::differential::run_script;
use crate::BIN;
use ferrodis_test_support::{repl, TestServer};
use std::fmt::Write as _;
use std::time::Duration;

/// A seeded mix of PFADD (small and large batches, so sparse HLLs grow, merge opcodes and
/// turn dense), PFCOUNT (cache refresh, unions), PFMERGE and PFDEBUG, with every key's bytes
/// compared after each step.
fn random_script(seed: u64, steps: usize) -> String {
    let mut x = seed | 1;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut s = String::new();
    for _ in 0..steps {
        let k = next(4);
        match next(20) {
            0..=12 => {
                let n = [1, 1, 2, 7, 40, 300][next(6) as usize];
                let range = [10, 1000, 1_000_000][next(3) as usize];
                let _ = write!(s, "PFADD h{k}");
                for _ in 0..n {
                    let _ = write!(s, " e{}", next(range));
                }
                s.push('\n');
            }
            13..=15 => {
                let _ = writeln!(s, "PFCOUNT h{k}");
                let _ = writeln!(s, "PFCOUNT h{k} h{}", next(4));
            }
            16..=17 => {
                let _ = writeln!(s, "PFMERGE h{k} h{} h{}", next(4), next(4));
            }
            _ => {
                let sub = ["ENCODING", "DECODE", "TODENSE"][next(3) as usize];
                let _ = writeln!(s, "PFDEBUG {sub} h{k}");
            }
        }
        let _ = writeln!(s, "GET h{k}");
    }
    s
}

#[test]
fn random_hll_commands_leave_identical_bytes() {
    run_script("hll_random_1", &random_script(0x9e37_79b9, 600));
    run_script("hll_random_2", &random_script(0x5151_2024, 600));
}

#[test]
fn hll_errors_and_edge_cases() {
    run_script(
        "hll_edges",
        r#"
        PFADD new
        PFADD new
        GET new
        PFCOUNT new
        PFCOUNT missing
        PFCOUNT missing1 missing2
        PFADD h a b c d e f g
        PFCOUNT h
        GET h
        PFDEBUG DECODE h
        PFDEBUG ENCODING h
        PFDEBUG GETREG missing
        PFDEBUG NOPE h
        PFDEBUG GETREG h extra
        PFDEBUG TODENSE h
        PFDEBUG TODENSE h
        PFDEBUG DECODE h
        PFDEBUG ENCODING h
        PFCOUNT h
        GET h
        SET s hello
        PFADD s a
        PFCOUNT s
        PFCOUNT h s
        PFMERGE h s
        PFMERGE s2 h
        GET s2
        LPUSH l x
        PFADD l a
        PFCOUNT l
        PFMERGE l h
        SET bad "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f"
        PFCOUNT bad
        PFADD bad x
        PFCOUNT h bad
        SET short "HYLL\x00"
        PFCOUNT short
        SET dense "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00x"
        PFCOUNT dense
        PFADD
        PFCOUNT
        PFMERGE
        PFSELFTEST
        SET ttl x
        DEL ttl
        PFADD ttl a
        EXPIRE ttl 100
        PFADD ttl b c
        TTL ttl
        PFCOUNT ttl
        TTL ttl
        OBJECT ENCODING ttl
        MULTI
        PFADD tx a b
        PFCOUNT tx
        EXEC
        "#,
    );
}

/// Writes HLLs on `master` (sparse, dense, merged, cache refreshed by PFCOUNT) and waits
/// until `replica` has the same offset and digest; then compares every HLL's bytes.
fn hlls_replicate(master: &TestServer, replica: &TestServer) {
    let mut m = master.conn();
    let mut r = replica.conn();
    repl::wait_link_up(replica, Duration::from_secs(60));
    for i in 0..200 {
        m.cmd(&["PFADD", "small", &format!("e{i}")]);
    }
    let big: Vec<String> = (0..5000).map(|i| format!("x{i}")).collect();
    let mut args = vec!["PFADD".to_string(), "big".into()];
    args.extend(big);
    m.cmd(&args);
    assert_eq!(m.run("PFCOUNT small"), ":200");
    m.run("PFMERGE merged small big");
    m.run("PFCOUNT merged");
    m.run("PFDEBUG TODENSE small");
    m.run("PFCOUNT small big");
    repl::wait_in_sync(master, &[replica], Duration::from_secs(60));
    for k in ["small", "big", "merged"] {
        assert_eq!(
            m.cmd(&["GET", k]).to_text(),
            r.cmd(&["GET", k]).to_text(),
            "bytes of {k}"
        );
        assert_eq!(
            m.cmd(&["PFCOUNT", k]).to_text(),
            r.cmd(&["PFCOUNT", k]).to_text()
        );
    }
}

#[test]
fn hll_replicates_from_redis_to_ferrodis() {
    let master = TestServer::redis(&["--repl-diskless-sync-delay", "0"]);
    let port = master.port().to_string();
    let replica = TestServer::start(BIN, &["--replicaof", "127.0.0.1", &port]);
    hlls_replicate(&master, &replica);
}

#[test]
fn hll_replicates_from_ferrodis_to_redis() {
    let master = TestServer::start(BIN, &["--repl-diskless-sync-delay", "0"]);
    let port = master.port().to_string();
    let replica = TestServer::redis(&["--replicaof", "127.0.0.1", &port]);
    hlls_replicate(&master, &replica);
}
