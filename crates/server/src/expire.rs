//! Active expiry: a background cycle that finds and deletes keys whose time has passed, so
//! keys nobody reads again do not stay in memory. (Lazy expiry on access lives in
//! `Ctx::expire_if_needed`.)
//!
//! Like Redis's cycle it samples keys with an expiry and keeps going while many of the sampled
//! keys were expired, within a time budget per tick. Deletions are appended to the replication
//! log as `DEL` under the shard lock, exactly like a client's DEL. Replicas never expire keys
//! on their own: they wait for the master's DEL.

use crate::keyspace::SHARDS;
use crate::Server;
use bytes::Bytes;
use rand::Rng;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keys sampled per table per round.
const SAMPLE: usize = 20;
/// Time budget per tick (the tick runs 10 times a second: 25 ms is 25% of one core at most).
const BUDGET: Duration = Duration::from_millis(25);

/// Runs until shutdown.
pub async fn active_expire_loop(server: Arc<Server>) {
    let mut shutdown = server.shutdown.subscribe();
    let mut next_shard = 0usize;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = shutdown.changed() => return,
        }
        if server.is_replica()
            || server.loading.load(Ordering::Relaxed)
            || !server.active_expire.load(Ordering::Relaxed)
            // Writes are paused (SHUTDOWN or FAILOVER waiting for replicas): expiring now
            // would move the offset the replicas must reach, as Redis avoids too.
            || server.admin.writes_paused()
        {
            continue;
        }
        next_shard = expire_cycle(&server, next_shard, BUDGET);
    }
}

/// One cycle over shards starting at `start`; returns where the next cycle starts.
pub fn expire_cycle(server: &Server, start: usize, budget: Duration) -> usize {
    let t0 = Instant::now();
    let mut rng = rand::thread_rng();
    let dbs = server.keyspace.databases();
    let mut shard = start;
    for _ in 0..SHARDS {
        // A shard held by someone else (a long script holds them all) is skipped this
        // cycle: the main thread also accepts connections and must not wait.
        let Some(mut guard) = server.keyspace.try_lock(shard) else {
            shard = (shard + 1) % SHARDS;
            continue;
        };
        let now = crate::util::now_ms();
        if guard.dbs.iter().all(|t| t.expires() == 0) || server.snapshots.shard_pending(&guard) {
            drop(guard);
            shard = (shard + 1) % SHARDS;
            continue;
        }
        for db in 0..dbs {
            loop {
                let table = &mut guard.dbs[db];
                if table.expires() == 0 {
                    break;
                }
                // Sample random positions; count those with a TTL and those expired.
                let mut expired: Vec<Vec<u8>> = Vec::new();
                let mut with_ttl = 0;
                let tries = SAMPLE * 4;
                for _ in 0..tries {
                    if with_ttl >= SAMPLE || table.is_empty() {
                        break;
                    }
                    let pos = rng.gen_range(0..table.len());
                    if let Some(e) = table.at(pos) {
                        if e.expire_at != 0 {
                            with_ttl += 1;
                            if e.expire_at <= now {
                                expired.push(e.key.to_vec());
                            }
                        }
                    }
                }
                expired.sort();
                expired.dedup();
                let mut effects = Vec::with_capacity(expired.len());
                for k in &expired {
                    if table.remove(k).is_some() {
                        crate::pubsub::notify_keyspace_event(
                            server,
                            ferrodis_config::notify::EXPIRED,
                            "expired",
                            k,
                            db,
                        );
                        effects
                            .push((db, vec![Bytes::from_static(b"DEL"), Bytes::from(k.clone())]));
                    }
                }
                if !effects.is_empty() {
                    server
                        .stats
                        .expired_keys
                        .fetch_add(effects.len() as u64, Ordering::Relaxed);
                    server.log.append(&effects, false);
                }
                // Keep going on this table while more than 10% of sampled TTL keys expired.
                if with_ttl == 0 || expired.len() * 10 <= with_ttl || t0.elapsed() > budget {
                    break;
                }
            }
        }
        drop(guard);
        shard = (shard + 1) % SHARDS;
        if t0.elapsed() > budget {
            break;
        }
    }
    shard
}
