//! ferrodis-server as a library; `main.rs` is a thin wrapper around [`run`].
//!
//! A tour, in the order a command travels:
//! * `net` accepts connections; each connection task reads what is available, parses every
//!   complete command with `ferrodis_resp::RequestParser`, runs them, and writes all replies
//!   with one write.
//! * `dispatch` checks (arity, auth, read-only replica, loading), locks the command's shards,
//!   calls the handler, and appends its effects to the replication log under those locks.
//! * `commands/<family>.rs` hold the command table rows and handlers.
//! * `scripting` runs Lua scripts (EVAL*) on a handler's context, like EXEC.
//! * `keyspace` holds the data: shards of tables of entries.
//! * `replication` holds the ordered propagation log (and the PSYNC sides as they land).
//! * `expire` runs the active expiry cycle; `evict` enforces `maxmemory` against the
//!   allocation count kept by `alloc` (the global allocator); `info` renders INFO.
//!
//! Configuration comes from the `ferrodis-config` crate (redis.conf format).

pub mod alloc;
pub mod blocking;
pub mod client;
pub mod commands;
pub mod digest;
pub mod dispatch;
pub mod evict;
pub mod expire;
pub mod info;
pub mod keyspace;
pub mod ldouble;
pub mod logging;
pub mod multi;
pub mod net;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod slowlog;
pub mod stats;
pub mod util;

use bytes::Bytes;
use client::{Client, Clients};
use ferrodis_config::Config;
use keyspace::Keyspace;
use parking_lot::{Mutex, RwLock};
use replication::ReplLog;
use stats::Stats;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub use net::run;

/// Work before serving.
pub fn startup(server: &Arc<Server>) -> Result<(), String> {
    tracing::info!("Server initialized");
    let _ = server;
    Ok(())
}

/// Loads the dump file at start-up (clients get -LOADING meanwhile). An unreadable or
/// corrupt file is an error: the server must not start with a partial dataset, and the file
/// is left as it is.
pub async fn load_at_startup(server: &Arc<Server>) -> Result<(), String> {
    let path = persistence::dump_path(server);
    if !path.exists() {
        return Ok(());
    }
    server.loading.store(true, Ordering::Release);
    let s = server.clone();
    let t0 = Instant::now();
    let res =
        tokio::task::spawn_blocking(move || persistence::load::load_file_at_startup(&s, &path))
            .await
            .map_err(|e| format!("loading task failed: {e}"))?;
    server.loading.store(false, Ordering::Release);
    match res {
        Ok(Some(info)) => {
            tracing::info!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                info.keys,
                info.expired
            );
            tracing::info!(
                "DB loaded from disk: {:.3} seconds",
                t0.elapsed().as_secs_f64()
            );
            if let (Some(id), Some(off)) = (info.replid, info.repl_offset) {
                if server.is_replica() {
                    server.restore_repl_state(&id, off);
                    if id.len() == 40 && off >= 0 {
                        server.repl_replica.note_restored(info.repl_stream_db);
                    }
                } else {
                    server.restore_master_repl_state(&id, off);
                }
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(format!(
            "Short read or corrupt RDB loading DB ({e}). Unrecoverable error, aborting now."
        )),
    }
}

/// Version string reported as `redis_version` (clients gate features on it).
pub const REDIS_VERSION: &str = "7.0.15";
/// ferrodis's own version.
pub const FERRODIS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything the server shares between connections. Each field says what guards it.
pub struct Server {
    /// Configuration; CONFIG SET takes the write lock (rare), commands read.
    pub config: RwLock<Config>,
    /// The data. See `keyspace` for its locking.
    pub keyspace: Keyspace,
    /// The replication log. Appended to under shard locks.
    pub log: ReplLog,
    /// Live clients.
    pub clients: Clients,
    /// INFO counters (atomics).
    pub stats: Stats,
    /// Error counts by prefix for INFO errorstats.
    pub errors: Mutex<HashMap<String, u64>>,
    /// Changes since the last save (`rdb_changes_since_last_save`).
    pub dirty: AtomicU64,
    /// Unix seconds of the last successful save.
    pub lastsave: AtomicI64,
    /// True while loading a dataset (commands get -LOADING).
    pub loading: AtomicBool,
    /// True when configured as a replica (`replicaof`).
    pub replica: AtomicBool,
    /// `replica-read-only`, cached for the write path.
    pub replica_read_only: AtomicBool,
    /// True while this replica's link to its master is up (state `connected`). Set by
    /// `replication::replica`; the master side refuses PSYNC from sub-replicas while false.
    pub master_link_up: AtomicBool,
    /// Bumped to disconnect every replica of this node (our own full sync from a new master,
    /// a replication id change). Replica links compare it with the value they started with.
    pub replica_epoch: AtomicU64,
    /// Replica side of replication: link state for INFO/ROLE (`replication::replica`).
    pub repl_replica: replication::replica::ReplicaState,
    /// `requirepass`, cached for new connections and AUTH.
    pub requirepass: RwLock<Option<Bytes>>,
    /// Number of MONITOR clients.
    pub monitors: AtomicUsize,
    /// Feed for MONITOR clients.
    pub monitor_tx: tokio::sync::broadcast::Sender<Bytes>,
    /// SLOWLOG entries.
    pub slowlog: Mutex<slowlog::SlowLog>,
    /// Set when the server should shut down; the listener and connections watch it.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// 40-hex run id.
    pub run_id: String,
    /// Process start.
    pub started: Instant,
    /// TCP port actually bound (after port 0 is resolved).
    pub bound_port: AtomicUsize,
    /// Path of the config file, for CONFIG REWRITE and INFO.
    pub config_file: Option<std::path::PathBuf>,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: AtomicBool,
    /// Replication ids: (replid, replid2, second_repl_offset).
    pub replids: Mutex<(String, String, i64)>,
    /// Worker runtimes that serve connections (set once at start-up by main; empty or unset:
    /// connections run on the runtime that accepted them).
    pub workers: std::sync::OnceLock<Vec<tokio::runtime::Handle>>,
    /// Round-robin cursor over `workers`.
    pub next_worker: AtomicUsize,
    /// Weak self-reference, so handlers holding `&Server` can start background work.
    pub me: std::sync::Weak<Server>,
    /// Fork-less snapshot coordination.
    pub snapshots: persistence::Snapshots,
    /// Save/load state for INFO persistence and save points.
    pub persist: persistence::PersistState,
    /// Clients parked in blocking commands, by key (see `blocking`).
    pub blocking: blocking::Blocking,
    /// WATCHed keys (see `multi`).
    pub watches: multi::Watches,
    /// Pub/Sub subscriptions and keyspace notification flags (see `pubsub`).
    pub pubsub: pubsub::PubSub,
    /// `maxmemory` settings and eviction state (atomics and its own small lock).
    pub evictor: evict::Evictor,
    /// `alloc::allocated()` when the server was created (`used_memory_startup`).
    pub startup_memory: usize,
    /// Master side of replication: replica links, full-sync coordination, sync stats.
    pub repl_master: replication::master::Master,
    /// SHUTDOWN waiting for replicas, FAILOVER, the write pause, backlog TTL.
    pub admin: replication::admin::Admin,
    /// Lua script cache and the running script's state (see `scripting`).
    pub scripts: scripting::Scripts,
}

/// A random 40-hex id (run ids, replication ids).
pub fn random_hex40() -> String {
    (0..40)
        .map(|_| char::from_digit(rand::random::<u32>() % 16, 16).unwrap_or('0'))
        .collect()
}

impl Server {
    /// A server with this configuration and an empty keyspace.
    pub fn new(config: Config) -> Arc<Server> {
        let (monitor_tx, _) = tokio::sync::broadcast::channel(4096);
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let run_id = random_hex40();
        let requirepass = config.requirepass.clone().map(Bytes::from);
        let notify_flags = config.notify_keyspace_events;
        let evictor = evict::Evictor::default();
        evictor.configure(&config);
        Arc::new_cyclic(|me| Server {
            me: me.clone(),
            workers: std::sync::OnceLock::new(),
            next_worker: AtomicUsize::new(0),
            keyspace: Keyspace::new(config.databases),
            log: ReplLog::new(config.repl_backlog_size as usize),
            clients: Clients::default(),
            stats: Stats::default(),
            errors: Mutex::new(HashMap::new()),
            dirty: AtomicU64::new(0),
            lastsave: AtomicI64::new(util::now_ms() / 1000),
            loading: AtomicBool::new(false),
            replica: AtomicBool::new(config.replicaof.is_some()),
            replica_read_only: AtomicBool::new(config.replica_read_only),
            master_link_up: AtomicBool::new(false),
            replica_epoch: AtomicU64::new(0),
            repl_replica: Default::default(),
            requirepass: RwLock::new(requirepass),
            monitors: AtomicUsize::new(0),
            monitor_tx,
            slowlog: Mutex::new(slowlog::SlowLog::default()),
            shutdown,
            run_id,
            started: Instant::now(),
            bound_port: AtomicUsize::new(config.port as usize),
            config_file: config.config_file.clone(),
            config: RwLock::new(config),
            active_expire: AtomicBool::new(true),
            replids: Mutex::new((random_hex40(), "0".repeat(40), -1)),
            snapshots: persistence::Snapshots::default(),
            persist: persistence::PersistState {
                last_bgsave_ok: AtomicBool::new(true),
                last_bgsave_secs: AtomicI64::new(-1),
                ..Default::default()
            },
            blocking: blocking::Blocking::default(),
            watches: multi::Watches::default(),
            pubsub: pubsub::PubSub::new(notify_flags),
            evictor,
            startup_memory: alloc::allocated(),
            repl_master: Default::default(),
            admin: Default::default(),
            scripts: Default::default(),
        })
    }

    /// An owning handle to this server (for background work started from handlers).
    pub fn arc(&self) -> Option<Arc<Server>> {
        self.me.upgrade()
    }

    /// True when this node replicates from a master.
    #[inline]
    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Relaxed)
    }

    /// Counts an error reply by its prefix (INFO errorstats).
    pub fn note_error(&self, msg: &str) {
        let prefix = msg.split(' ').next().unwrap_or("ERR").to_string();
        *self.errors.lock().entry(prefix).or_insert(0) += 1;
        Stats::add(&self.stats.error_replies, 1);
    }

    /// Sends a command line to MONITOR clients, formatted as Redis does:
    /// `1700000000.123456 [0 127.0.0.1:50000] "set" "k" "v"`.
    pub fn feed_monitors(&self, client: &Client, args: &[Bytes]) {
        let us = util::now_us();
        let mut line = format!(
            "{}.{:06} [{} {}]",
            us / 1_000_000,
            us % 1_000_000,
            client.db,
            client.handle.addr
        );
        for a in args {
            line.push(' ');
            line.push_str(&util::repr(a));
        }
        let _ = self.monitor_tx.send(Bytes::from(line));
    }

    /// Adopts the replication id and offset recorded in a loaded RDB, so a restarted node
    /// can continue a partial resync.
    pub fn restore_repl_state(&self, replid: &str, offset: i64) {
        if replid.len() == 40 && offset >= 0 {
            self.replids.lock().0 = replid.to_string();
            self.log.reset_offset(offset as u64);
        }
    }

    /// A master restarted from an RDB with replication info (Redis 7.0, PR #8015): it keeps
    /// its new replid, the saved one becomes replid2 (valid up to `offset + 1`), and the log,
    /// which holds the DELs of keys that expired while it was down, is rebased onto the
    /// saved offset. Its replicas then continue by partial resync (unless the DELs overflowed
    /// the backlog).
    pub fn restore_master_repl_state(&self, replid: &str, offset: i64) {
        if replid.len() == 40 && offset >= 0 {
            let mut ids = self.replids.lock();
            ids.1 = replid.to_string();
            ids.2 = offset + 1;
            self.log.rebase(offset as u64);
        }
    }

    /// DEBUG CHANGE-REPL-ID: a new replication history id.
    pub fn change_replid(&self) {
        let mut ids = self.replids.lock();
        ids.0 = random_hex40();
        ids.1 = "0".repeat(40);
        ids.2 = -1;
    }

    /// Applies side effects of CONFIG SET on cached values.
    pub fn apply_config_changes(&self, changed: &[&str]) {
        if changed
            .iter()
            .any(|n| n.starts_with("min-replicas") || n.starts_with("min-slaves"))
        {
            replication::master::refresh_good_replicas(self);
        }
        let cfg = self.config.read();
        for name in changed {
            match *name {
                "requirepass" => {
                    *self.requirepass.write() = cfg.requirepass.clone().map(Bytes::from);
                }
                "replica-read-only" => {
                    self.replica_read_only
                        .store(cfg.replica_read_only, Ordering::Relaxed);
                }
                "repl-backlog-size" => self.log.set_capacity(cfg.repl_backlog_size as usize),
                "notify-keyspace-events" => self
                    .pubsub
                    .notify_flags
                    .store(cfg.notify_keyspace_events, Ordering::Relaxed),
                "maxmemory"
                | "maxmemory-policy"
                | "maxmemory-samples"
                | "lfu-log-factor"
                | "lfu-decay-time"
                | "replica-ignore-maxmemory"
                | "slave-ignore-maxmemory" => self.evictor.configure(&cfg),
                _ => {}
            }
        }
    }

    /// Called by FLUSHALL: with save points configured the (now empty) dataset is saved so
    /// the dump does not resurrect flushed keys, as Redis does.
    /// Returns true when the empty dataset was saved.
    pub fn flushall_done(&self) -> bool {
        // Every shard is locked (and empty) here: a snapshot cannot run (it would wait for
        // the locks), so the empty dump is written directly.
        if self.config.read().save.is_empty() {
            return false;
        }
        match persistence::save_empty_after_flushall(self) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("Error saving the DB after FLUSHALL: {e}");
                false
            }
        }
    }

    /// Starts shutting down: listeners stop, connections close.
    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}
