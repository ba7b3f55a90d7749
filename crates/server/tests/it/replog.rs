//! The replication log's order equals apply order per key: many threads run writes on a few
//! shared keys of one in-process `Server`, then the log bytes are replayed into a fresh
//! `Server` through the master link path (`is_master` client), and both keyspaces must be
//! identical (keys, values and absolute expiry times, in every database).

use bytes::{Bytes, BytesMut};
use ferrodis_config::Config;
use ferrodis_resp::{Limits, RequestParser};
use ferrodis_server::client::Client;
use ferrodis_server::dispatch::{self, LocalStats};
use ferrodis_server::keyspace::{Value, SHARDS};
use ferrodis_server::Server;
use rand::Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn new_server(replica: bool) -> Arc<Server> {
    let s = Server::new(Config {
        repl_backlog_size: 512 * 1024 * 1024,
        ..Default::default()
    });
    s.replica.store(replica, Ordering::Relaxed);
    s
}

fn client(server: &Server, is_master: bool) -> Client {
    let h = server
        .clients
        .register("127.0.0.1:1".into(), "127.0.0.1:2".into(), -1);
    let mut c = Client::new(h, true);
    c.is_master = is_master;
    c
}

fn exec(server: &Server, c: &mut Client, args: &[String]) {
    let argv: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.clone())).collect();
    let _ = dispatch::run(server, c, &argv, &mut LocalStats::default());
}

/// Every live key (no expiry, or one more than 10 s away) as (db, key, value, expire_at).
fn dump(server: &Server) -> Vec<(usize, Vec<u8>, Value, i64)> {
    let horizon = ferrodis_server::util::now_ms() + 10_000;
    let mut out = Vec::new();
    for shard in 0..SHARDS {
        let g = server.keyspace.lock(shard);
        for (db, table) in g.dbs.iter().enumerate() {
            for e in table.iter() {
                if e.expire_at == 0 || e.expire_at > horizon {
                    out.push((db, e.key.to_vec(), e.value.clone(), e.expire_at));
                }
            }
        }
    }
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out
}

fn random_command(rng: &mut impl Rng, t: usize, i: usize) -> Vec<String> {
    let keys = ["k0", "k1", "k2", "k3", "{k}4", "k5"];
    let k = keys[rng.gen_range(0..keys.len())].to_string();
    let k2 = keys[rng.gen_range(0..keys.len())].to_string();
    let v = format!("v{t}-{i}");
    let s = |x: &[&str]| x.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    match rng.gen_range(0..26) {
        0 => s(&["SELECT", &rng.gen_range(0..3).to_string()]),
        1 | 2 => s(&["INCR", &k]),
        3 => s(&["INCRBY", &k, "7"]),
        4 => s(&["APPEND", &k, "x"]),
        5 | 6 => s(&["SET", &k, &rng.gen_range(0..1000).to_string()]),
        7 => s(&["SET", &k, &v, "EX", "1000"]),
        8 => s(&["SET", &k, &v, "KEEPTTL"]),
        9 => s(&["DEL", &k]),
        10 => s(&["EXPIRE", &k, &rng.gen_range(100..2000).to_string(), "GT"]),
        11 => s(&["PEXPIRE", &k, "500000"]),
        12 => s(&["PERSIST", &k]),
        13 => s(&["INCRBYFLOAT", &k, "1.5"]),
        14 => s(&["GETDEL", &k]),
        15 => s(&["GETEX", &k, "EX", "700"]),
        16 => s(&["SETRANGE", &k, "2", "zz"]),
        17 => s(&["RENAME", &k, &k2]),
        18 => s(&["MSET", &k, &v, &k2, &v]),
        19 => s(&["COPY", &k, &k2, "REPLACE"]),
        20 => s(&["MOVE", &k, &rng.gen_range(0..3).to_string()]),
        21 => s(&["MSETNX", &k, "1", &k2, "2"]),
        22 => s(&["SET", &format!("tmp:{t}:{i}"), "v", "PX", "2"]),
        23 => s(&["GET", &format!("tmp:{t}:{}", i.saturating_sub(3))]),
        24 => s(&["SETEX", &k, "900", &v]),
        _ => {
            if rng.gen_range(0..200) == 0 {
                s(&["FLUSHDB"])
            } else {
                s(&["DECR", &k])
            }
        }
    }
}

#[test]
fn log_replay_reproduces_the_keyspace() {
    let a = new_server(false);
    let stop = Arc::new(AtomicBool::new(false));
    let expirer = {
        let a = a.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut next = 0;
            while !stop.load(Ordering::Relaxed) {
                next = ferrodis_server::expire::expire_cycle(
                    &a,
                    next,
                    std::time::Duration::from_millis(5),
                );
                std::thread::yield_now();
            }
        })
    };
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let a = a.clone();
            std::thread::spawn(move || {
                let mut rng = rand::thread_rng();
                let mut c = client(&a, false);
                for i in 0..3000 {
                    let cmd = random_command(&mut rng, t, i);
                    exec(&a, &mut c, &cmd);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer thread");
    }
    stop.store(true, Ordering::Relaxed);
    expirer.join().expect("expiry thread");

    let log = {
        let l = a.log.lock();
        assert_eq!(
            l.start(),
            0,
            "the log must still hold everything (backlog too small)"
        );
        l.read_from(0).expect("log bytes")
    };
    assert!(
        log.len() > 10_000,
        "the writers produced a log ({} bytes)",
        log.len()
    );

    let b = new_server(false);
    let mut mc = client(&b, true);
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(&log[..]);
    let limits = Limits {
        max_bulk_len: 512 * 1024 * 1024,
        auth_required: false,
        from_master: true,
    };
    let mut replayed = 0;
    while let Some(args) = parser
        .parse(&mut buf, &limits)
        .expect("the log is valid RESP")
    {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
        assert!(
            !["EXPIRE", "PEXPIRE", "SETEX", "GETEX", "INCRBYFLOAT"].contains(&name.as_str()),
            "relative or non-deterministic command in the log: {args:?}"
        );
        let r = dispatch::run(&b, &mut mc, &args, &mut LocalStats::default());
        assert!(
            r.is_ok() || name != "SELECT",
            "replay of {args:?} failed: {r:?}"
        );
        replayed += 1;
    }
    assert!(buf.is_empty(), "the log ends with a complete command");
    let (da, db) = (dump(&a), dump(&b));
    assert!(!da.is_empty(), "the workload leaves keys behind");
    if da != db {
        let only_a: Vec<_> = da.iter().filter(|e| !db.contains(e)).take(5).collect();
        let only_b: Vec<_> = db.iter().filter(|e| !da.contains(e)).take(5).collect();
        panic!(
            "replaying {replayed} logged commands gave a different keyspace\n  only in the master: {only_a:?}\n  only in the replay: {only_b:?}"
        );
    }
}

/// A replica applying its master's stream must not expire keys on its own, even when the
/// stream's command touches a key whose time has passed: the master decides (it sends DEL).
/// Redis: `expireIfNeeded` returns "not expired" for the master client on a replica.
#[test]
fn replica_does_not_expire_keys_from_the_master_stream() {
    let b = new_server(true);
    let mut mc = client(&b, true);
    let at = ferrodis_server::util::now_ms() + 30;
    let at_s = at.to_string();
    let run = |c: &mut Client, cmd: &[&str]| {
        let argv: Vec<Bytes> = cmd.iter().map(|a| Bytes::from(a.to_string())).collect();
        let _ = dispatch::run(&b, c, &argv, &mut LocalStats::default());
    };
    run(&mut mc, &["SET", "k", "5", "PXAT", &at_s]);
    ferrodis_test_support::wait_until(
        std::time::Duration::from_secs(5),
        || ferrodis_server::util::now_ms() > at + 5,
        "the key's time passes",
    );
    // The master had INCRed before its expiry; its stream arrives late.
    run(&mut mc, &["INCR", "k"]);
    let all = {
        let g = b.keyspace.lock(b.keyspace.shard_of(b"k"));
        g.dbs[0].get(b"k").map(|e| (e.value.clone(), e.expire_at))
    };
    let (v, got_at) = all.expect("k still exists on the replica");
    assert_eq!(v, Value::str(b"6"), "INCR applied to the master's value");
    assert_eq!(got_at, at, "the TTL is kept");
}
