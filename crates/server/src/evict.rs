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
#[cfg(test)]
use crate::stats::Stats;
use crate::Server;
use bytes::Bytes;
use ferrodis_config::{Config, MaxmemoryPolicy};
use parking_lot::Mutex;
use rand::Rng;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
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
            matches!(
                policy,
                MaxmemoryPolicy::AllkeysLru | MaxmemoryPolicy::VolatileLru
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
    enforce_with(server, limit, TIME_LIMIT, || {
        crate::alloc::allocated() as u64
    })
}

/// [`enforce`] against any measure of use (unit tests count keys instead of bytes).
fn enforce_with(
    server: &Server,
    limit: u64,
    budget: Duration,
    used: impl Fn() -> u64,
) -> Result<(), CommandError> {
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
    while used() > limit {
        if t0.elapsed() > budget {
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

/// Background tick every 100 ms until shutdown: refreshes the access clock and continues
/// eviction a command stopped at [`TIME_LIMIT`], so memory comes down even when no client
/// sends commands (Redis keeps evicting from a timer too).
pub async fn cron(server: Arc<Server>) {
    let mut shutdown = server.shutdown.subscribe();
    loop {
        access::tick();
        let limit = server.evictor.limit();
        // No evictions while writes are paused (the dataset must stay still while SHUTDOWN or
        // FAILOVER waits for replicas), as Redis's isSafeToPerformEvictions.
        if limit != 0 && !server.loading.load(Ordering::Relaxed) && !server.admin.writes_paused() {
            // Nothing to refuse here; an OOM is reported to the next DENYOOM command.
            let _ = enforce(&server, limit);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = shutdown.changed() => return,
        }
    }
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
    // A replica (replica-ignore-maxmemory no) evicts but never logs: its log is its master's.
    if !server.is_replica() {
        server.log.append(
            &[(
                db,
                vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)],
            )],
            false,
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{SmallBytes, Value};

    /// Generous: debug builds are slow and the machine is shared.
    const T: Duration = Duration::from_secs(10);

    fn server(policy: MaxmemoryPolicy) -> Arc<Server> {
        Server::new(Config {
            maxmemory: 1,
            maxmemory_policy: policy,
            ..Config::default()
        })
    }

    fn put(s: &Server, key: &str, expire_at: i64, idle: u64) {
        let ks = &s.keyspace;
        ks.lock(ks.shard_of(key.as_bytes())).dbs[0].insert(Entry {
            key: SmallBytes::new(key.as_bytes()),
            value: Value::Str(SmallBytes::new(b"v")),
            expire_at,
            access: access::with_idle(idle),
        });
    }

    fn keys(s: &Server) -> Vec<String> {
        (0..SHARDS)
            .flat_map(|i| {
                let g = s.keyspace.lock(i);
                g.dbs[0]
                    .iter()
                    .map(|e| String::from_utf8_lossy(e.key.as_slice()).into_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn count(s: &Server) -> u64 {
        keys(s).len() as u64
    }

    #[test]
    fn volatile_ttl_takes_nearest_expiry_and_spares_persistent_keys() {
        let s = server(MaxmemoryPolicy::VolatileTtl);
        let far = i64::MAX / 2;
        for i in 0..200 {
            put(&s, &format!("p{i}"), 0, 0);
            put(&s, &format!("v{i}"), far + i, 0);
        }
        let log_before = s.log.lock().end();
        enforce_with(&s, 300, T, || count(&s)).expect("volatile keys can be evicted");
        let left = keys(&s);
        assert_eq!(left.len(), 300);
        assert!((0..200).all(|i| left.contains(&format!("p{i}"))));
        // Sampled, not exact: the survivors lean strongly to the farthest expiries.
        let late = (150..200)
            .filter(|i| left.contains(&format!("v{i}")))
            .count();
        let early = (0..50).filter(|i| left.contains(&format!("v{i}"))).count();
        assert!(late > early + 15, "late {late} early {early}");
        assert_eq!(Stats::get(&s.stats.evicted_keys), 100);
        assert!(
            s.log.lock().end() > log_before,
            "evictions are propagated as DEL"
        );
        // Only persistent keys left: nothing to evict.
        assert_eq!(enforce_with(&s, 100, T, || count(&s)), Err(OOM));
        assert_eq!(count(&s), 200);
    }

    #[test]
    fn allkeys_lru_takes_idle_keys_first() {
        let s = server(MaxmemoryPolicy::AllkeysLru);
        for i in 0..300 {
            put(&s, &format!("k{i}"), 0, if i < 150 { 1000 } else { 0 });
        }
        enforce_with(&s, 150, T, || count(&s)).expect("keys can be evicted");
        let left = keys(&s);
        let recent = left
            .iter()
            .filter(|k| k[1..].parse::<usize>().is_ok_and(|i| i >= 150))
            .count();
        // Sampling is approximate (the last idle keys are hard to find); random choice
        // would keep about 75.
        assert!(recent >= 100, "recently used keys survive: {recent} of 150");
    }

    #[test]
    fn noeviction_refuses() {
        let s = server(MaxmemoryPolicy::Noeviction);
        put(&s, "k", 0, 0);
        assert_eq!(enforce_with(&s, 0, T, || count(&s)), Err(OOM));
        assert_eq!(count(&s), 1);
    }
}
