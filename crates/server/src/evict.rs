//! `maxmemory` enforcement: before a command runs (see `dispatch.rs`), if the process has
//! allocated more than `maxmemory` bytes (`alloc::allocated`), keys are evicted per
//! `maxmemory-policy` until it is back under the limit; if nothing can be evicted, commands
//! that may grow memory (DENYOOM) get the `-OOM` error.
//!
//! The policies use Redis's sampled approximations rather than exact orderings:
//! ```text
//!   each round: maxmemory-samples random keys (random shard, every db)
//!        |                                   scored: LRU idle seconds,
//!        v                                           LFU 255 - decayed counter,
//!   pool of the 16 best candidates  <----            TTL  u64::MAX - expire time
//!        | (kept between rounds and calls, so good candidates accumulate)
//!        v
//!   evict the best one that still exists (under its shard lock, DEL into the log)
//! ```
//! `*-random` policies skip the pool. `volatile-*` policies only consider keys with an expiry.
//! Every deletion happens under the key's shard lock, after the snapshot hook, and appends
//! `DEL key` to the replication log in the same critical section, as the expiry cycle does,
//! so replicas (which never evict on their own with `replica-ignore-maxmemory yes`) follow.
//!
//! What this does not do: client eviction (`maxmemory-clients`), and excluding replica output
//! buffers from the count (`mem_not_counted_for_evict` is 0).

use crate::commands::CommandError;
use crate::keyspace::{access, Entry, SHARDS};
use crate::Server;
use bytes::Bytes;
use ferrodis_config::{Config, MaxmemoryPolicy};
use parking_lot::Mutex;
use rand::Rng;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// The reply when memory is over the limit and nothing could be evicted.
pub const OOM: CommandError =
    CommandError::new("OOM command not allowed when used memory > 'maxmemory'.");

/// Candidates kept between rounds (Redis's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;
/// Longest one call spends evicting; past it the command runs anyway and the next command
/// continues (Redis's eviction time limit, "EVICT_RUNNING").
const TIME_LIMIT: Duration = Duration::from_millis(2);
/// Sampling rounds in a row that may find nothing before the keyspace is scanned to decide
/// whether anything is evictable at all.
const EMPTY_ROUNDS: usize = 8;

/// One eviction candidate.
struct Candidate {
    /// Higher is evicted first.
    score: u64,
    shard: usize,
    db: usize,
    key: Bytes,
}

/// Cached eviction settings (read on every command) and the candidate pool.
#[derive(Default)]
pub struct Evictor {
    /// `maxmemory`, 0 for no limit: the one load the hot path pays when it is unset.
    maxmemory: AtomicU64,
    /// `maxmemory-policy` as [`policy_code`].
    policy: AtomicU8,
    /// `maxmemory-samples`.
    samples: AtomicU32,
    /// `replica-ignore-maxmemory`.
    replica_ignore: AtomicBool,
    /// The candidate pool, sorted by ascending score.
    pool: Mutex<Vec<Candidate>>,
}

fn policy_code(p: MaxmemoryPolicy) -> u8 {
    match p {
        MaxmemoryPolicy::Noeviction => 0,
        MaxmemoryPolicy::VolatileLru => 1,
        MaxmemoryPolicy::VolatileLfu => 2,
        MaxmemoryPolicy::VolatileRandom => 3,
        MaxmemoryPolicy::VolatileTtl => 4,
        MaxmemoryPolicy::AllkeysLru => 5,
        MaxmemoryPolicy::AllkeysLfu => 6,
        MaxmemoryPolicy::AllkeysRandom => 7,
    }
}

/// How a policy picks victims.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Lru,
    Lfu,
    Random,
    Ttl,
}

/// (only keys with an expiry, ordering) for a policy code; `None` for noeviction.
fn decode(code: u8) -> Option<(bool, Order)> {
    Some(match code {
        1 => (true, Order::Lru),
        2 => (true, Order::Lfu),
        3 => (true, Order::Random),
        4 => (true, Order::Ttl),
        5 => (false, Order::Lru),
        6 => (false, Order::Lfu),
        7 => (false, Order::Random),
        _ => return None,
    })
}

impl Evictor {
    /// Caches the settings from the configuration (at start and after CONFIG SET).
    pub fn configure(&self, cfg: &Config) {
        let policy = cfg.maxmemory_policy;
        let code = policy_code(policy);
        if self.policy.swap(code, Ordering::Relaxed) != code {
            // Scores from another policy are meaningless.
            self.pool.lock().clear();
        }
        self.samples
            .store(cfg.maxmemory_samples.max(1), Ordering::Relaxed);
        self.replica_ignore
            .store(cfg.replica_ignore_maxmemory, Ordering::Relaxed);
        self.maxmemory.store(cfg.maxmemory, Ordering::Relaxed);
        access::configure(
            matches!(
                policy,
                MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::VolatileLfu
            ),
            cfg.lfu_log_factor,
            cfg.lfu_decay_time,
        );
    }

    /// `maxmemory` (0: no limit).
    #[inline]
    pub fn limit(&self) -> u64 {
        self.maxmemory.load(Ordering::Relaxed)
    }
}

/// Brings memory use under `limit` if it is over. `Err(OOM)` when it is over and nothing
/// could be evicted (or the policy is noeviction); the caller refuses DENYOOM commands then.
pub fn enforce(server: &Server, limit: u64) -> Result<(), CommandError> {
    if crate::alloc::allocated() as u64 <= limit {
        return Ok(());
    }
    let ev = &server.evictor;
    if server.is_replica() && ev.replica_ignore.load(Ordering::Relaxed) {
        return Ok(());
    }
    let Some((volatile, order)) = decode(ev.policy.load(Ordering::Relaxed)) else {
        return Err(OOM);
    };
    let samples = ev.samples.load(Ordering::Relaxed) as usize;
    let t0 = Instant::now();
    let mut empty_rounds = 0;
    while crate::alloc::allocated() as u64 > limit {
        if t0.elapsed() > TIME_LIMIT {
            return Ok(());
        }
        let evicted = if order == Order::Random {
            evict_random(server, volatile, samples)
        } else {
            evict_from_pool(server, volatile, order, samples)
        };
        if evicted {
            empty_rounds = 0;
            continue;
        }
        empty_rounds += 1;
        if empty_rounds >= EMPTY_ROUNDS {
            if !anything_evictable(server, volatile) {
                return Err(OOM);
            }
            empty_rounds = 0;
        }
    }
    Ok(())
}

/// True when the entry may be evicted under this policy.
#[inline]
fn eligible(e: &Entry, volatile: bool) -> bool {
    !volatile || e.expire_at != 0
}

fn score(e: &Entry, order: Order) -> u64 {
    match order {
        Order::Lru => access::idle_secs(e.access),
        Order::Lfu => 255 - access::lfu_decayed(e.access) as u64,
        Order::Ttl => u64::MAX - e.expire_at.max(0) as u64,
        Order::Random => 0,
    }
}

/// Calls `f` with up to `samples` random eligible keys as (shard, db, entry), each shard
/// locked while it is sampled.
fn sample(
    server: &Server,
    volatile: bool,
    samples: usize,
    mut f: impl FnMut(usize, usize, &Entry),
) {
    let mut rng = rand::thread_rng();
    let dbs = server.keyspace.databases();
    for _ in 0..samples {
        let shard = rng.gen_range(0..SHARDS);
        let g = server.keyspace.lock(shard);
        for db in 0..dbs {
            let t = &g.dbs[db];
            if t.is_empty() || (volatile && t.expires() == 0) {
                continue;
            }
            // With few volatile keys among many, a few probes may all miss: fine, the next
            // round samples again.
            for _ in 0..if volatile { 8 } else { 1 } {
                let pos = rng.gen_range(0..t.len());
                if let Some(e) = t.at(pos) {
                    if eligible(e, volatile) {
                        f(shard, db, e);
                        break;
                    }
                }
            }
        }
    }
}

fn evict_random(server: &Server, volatile: bool, samples: usize) -> bool {
    let mut pick = None;
    sample(server, volatile, samples, |shard, db, e| {
        if pick.is_none() {
            pick = Some((shard, db, Bytes::copy_from_slice(&e.key)));
        }
    });
    match pick {
        Some((shard, db, key)) => delete(server, shard, db, &key, volatile),
        None => false,
    }
}

fn evict_from_pool(server: &Server, volatile: bool, order: Order, samples: usize) -> bool {
    let mut pool = server.evictor.pool.lock();
    sample(server, volatile, samples, |shard, db, e| {
        let s = score(e, order);
        if pool.len() >= POOL_SIZE && pool.first().is_some_and(|c| c.score >= s) {
            return;
        }
        if pool
            .iter()
            .any(|c| c.db == db && c.key.as_ref() == e.key.as_slice())
        {
            return;
        }
        if pool.len() >= POOL_SIZE {
            pool.remove(0);
        }
        let at = pool.partition_point(|c| c.score <= s);
        pool.insert(
            at,
            Candidate {
                score: s,
                shard,
                db,
                key: Bytes::copy_from_slice(&e.key),
            },
        );
    });
    // The best candidate that still exists (it may have been deleted or evicted meanwhile).
    while let Some(c) = pool.pop() {
        if delete(server, c.shard, c.db, &c.key, volatile) {
            return true;
        }
    }
    false
}

/// Evicts `key` from `db` if it is still there (and still volatile when it must be): under
/// the shard lock, after the snapshot hook, with its `DEL` appended to the log.
fn delete(server: &Server, shard: usize, db: usize, key: &[u8], volatile: bool) -> bool {
    let mut g = server.keyspace.lock(shard);
    if !g.dbs[db].get(key).is_some_and(|e| eligible(e, volatile)) {
        return false;
    }
    server.snapshots.before_key_touch(&mut g, key);
    let removed = g.dbs[db].remove(key);
    server.log.append(
        &[(
            db,
            vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)],
        )],
        false,
    );
    drop(g);
    drop(removed);
    server.stats.evicted_keys.fetch_add(1, Ordering::Relaxed);
    true
}

/// A full pass: is there any key the policy may evict? Only run after sampling kept failing.
fn anything_evictable(server: &Server, volatile: bool) -> bool {
    (0..SHARDS).any(|i| {
        let g = server.keyspace.lock(i);
        g.dbs.iter().any(|t| {
            if volatile {
                t.expires() > 0
            } else {
                !t.is_empty()
            }
        })
    })
}
