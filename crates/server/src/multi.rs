//! Transactions: MULTI/EXEC/DISCARD state per client, and WATCH.
//!
//! * Queueing happens in `dispatch::run`: while `client.multi` is set, every command but
//!   EXEC/DISCARD/MULTI/WATCH/QUIT/RESET is checked (lookup, arity, auth) and queued; a
//!   failed check flags the transaction so EXEC answers EXECABORT.
//! * EXEC ([`exec_queued`]) locks the union of the queued commands' shards once (all shards
//!   when one is `ALL_KEYS`), runs every handler in order under those locks, and appends all
//!   effects to the replication log as one unit (wrapped in MULTI/EXEC when there are
//!   several) before releasing them. Blocking commands do not block inside EXEC.
//! * WATCH: a registry `key -> [(db, dirty flag)]`. Writers call [`Watches::touch`] for the
//!   keys they modified; that is one atomic load when nobody watches anything. FLUSHDB,
//!   FLUSHALL and SWAPDB flag watchers of keys that exist in the affected databases. Expiry
//!   needs no hook: WATCH records the key's expiry time and EXEC aborts if a key that was
//!   alive at WATCH time has expired since (Redis 7.0's `isWatchedKeyExpired`).

use crate::client::Client;
use crate::commands::{flags, CmdResult, CommandError, Ctx, Effects, Locks};
use crate::dispatch::{self, LocalStats};
use crate::Server;
use bytes::Bytes;
use ferrodis_resp::Frame;
use hashbrown::HashMap;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A client's open transaction.
#[derive(Default)]
pub struct MultiState {
    /// Queued argvs.
    pub cmds: Vec<Vec<Bytes>>,
    /// A command failed its checks while queueing: EXEC answers EXECABORT.
    pub error: bool,
}

/// A client's watched keys.
pub struct WatchState {
    /// Set by writers of any watched key.
    pub dirty: Arc<AtomicBool>,
    /// `(db, key, expire_at at WATCH time, 0 if none or missing)`.
    pub keys: Vec<(usize, Bytes, i64)>,
}

/// One watcher of a key: its database and the client's dirty flag.
type Watcher = (usize, Arc<AtomicBool>);

/// The server-wide WATCH registry. Lock order: shard locks -> this mutex (a leaf).
#[derive(Default)]
pub struct Watches {
    active: AtomicUsize,
    map: Mutex<HashMap<Bytes, Vec<Watcher>>>,
}

impl Watches {
    /// Flags the watchers of `key` in `db`. One atomic load when nothing is watched.
    #[inline]
    pub fn touch(&self, db: usize, key: &[u8]) {
        if self.active.load(Ordering::Relaxed) == 0 {
            return;
        }
        if let Some(v) = self.map.lock().get(key) {
            for (d, f) in v {
                if *d == db {
                    f.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Flags watchers of keys in `dbs` for which `exists(db, key)` holds (FLUSH*, SWAPDB).
    pub fn touch_dbs(&self, dbs: &[usize], mut exists: impl FnMut(usize, &[u8]) -> bool) {
        if self.active.load(Ordering::Relaxed) == 0 {
            return;
        }
        for (k, v) in self.map.lock().iter() {
            for (d, f) in v {
                if dbs.contains(d) && exists(*d, k) {
                    f.store(true, Ordering::Release);
                }
            }
        }
    }

    fn add(&self, db: usize, key: Bytes, flag: &Arc<AtomicBool>) {
        self.map
            .lock()
            .entry(key)
            .or_default()
            .push((db, flag.clone()));
        self.active.fetch_add(1, Ordering::Relaxed);
    }

    fn remove(&self, db: usize, key: &[u8], flag: &Arc<AtomicBool>) {
        let mut m = self.map.lock();
        if let Some(v) = m.get_mut(key) {
            if let Some(p) = v.iter().position(|(d, f)| *d == db && Arc::ptr_eq(f, flag)) {
                v.swap_remove(p);
                self.active.fetch_sub(1, Ordering::Relaxed);
            }
            if v.is_empty() {
                m.remove(key);
            }
        }
    }
}

/// Commands that run (instead of being queued) inside MULTI.
pub fn runs_inside_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// Queues `args` in the client's transaction and answers `+QUEUED`.
pub fn queue(client: &mut Client, args: &[Bytes]) -> CmdResult {
    if let Some(m) = client.multi.as_mut() {
        m.cmds.push(args.to_vec());
        client
            .handle
            .multi
            .store(m.cmds.len() as i64, Ordering::Relaxed);
    }
    Ok(Frame::simple("QUEUED"))
}

/// Flags the open transaction (if any) as failed: EXEC will answer EXECABORT.
#[inline]
pub fn flag_error(client: &mut Client) {
    if let Some(m) = client.multi.as_mut() {
        m.error = true;
    }
}

/// Forgets every watched key of `client` (UNWATCH, EXEC, DISCARD, RESET, disconnect).
pub fn unwatch(server: &Server, client: &mut Client) {
    if let Some(w) = client.watch.take() {
        for (db, k, _) in &w.keys {
            server.watches.remove(*db, k, &w.dirty);
        }
    }
}

/// Ends a transaction without running it (DISCARD, RESET, disconnect).
pub fn discard(server: &Server, client: &mut Client) {
    client.multi = None;
    client.handle.multi.store(-1, Ordering::Relaxed);
    crate::client::set_flag(&client.handle, 'x', false);
    unwatch(server, client);
}

/// `MULTI`
pub fn multi(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CommandError::new("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Box::default());
    ctx.client.handle.multi.store(0, Ordering::Relaxed);
    crate::client::set_flag(&ctx.client.handle, 'x', true);
    Ok(Frame::ok())
}

/// `DISCARD`
pub fn discard_cmd(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CommandError::new("ERR DISCARD without MULTI"));
    }
    discard(ctx.server, ctx.client);
    Ok(Frame::ok())
}

/// `WATCH key [key ...]`
pub fn watch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CommandError::new("ERR WATCH inside MULTI is not allowed"));
    }
    for k in &args[1..] {
        let db = ctx.client.db;
        if ctx
            .client
            .watch
            .as_ref()
            .is_some_and(|w| w.keys.iter().any(|(d, kk, _)| *d == db && kk == k))
        {
            continue;
        }
        // The key's expiry now (a key already expired counts as missing).
        let now = ctx.now;
        let exp = match ctx.table(k).get(k) {
            Some(e) if e.expire_at != 0 && e.expire_at > now => e.expire_at,
            _ => 0,
        };
        let owned = Bytes::copy_from_slice(k);
        let w = ctx.client.watch.get_or_insert_with(|| {
            Box::new(WatchState {
                dirty: Arc::new(AtomicBool::new(false)),
                keys: Vec::new(),
            })
        });
        w.keys.push((db, owned.clone(), exp));
        let flag = w.dirty.clone();
        ctx.server.watches.add(db, owned, &flag);
    }
    Ok(Frame::ok())
}

/// `UNWATCH`
pub fn unwatch_cmd(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    unwatch(ctx.server, ctx.client);
    Ok(Frame::ok())
}

/// True when a watched key was modified, or expired since WATCH.
fn watch_broken(client: &Client) -> bool {
    let Some(w) = client.watch.as_ref() else {
        return false;
    };
    if w.dirty.load(Ordering::Acquire) {
        return true;
    }
    let now = crate::util::now_ms();
    w.keys.iter().any(|(_, _, exp)| *exp != 0 && *exp <= now)
}

/// `EXEC`
pub fn exec(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let Some(m) = ctx.client.multi.take() else {
        return Err(CommandError::new("ERR EXEC without MULTI"));
    };
    let server = ctx.server;
    let broken = watch_broken(ctx.client);
    discard(server, ctx.client);
    if m.error {
        return Err(CommandError::new(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if broken {
        return Ok(Frame::NullArray);
    }
    let mut stats = LocalStats::default();
    let replies = exec_queued(server, ctx.client, &m.cmds, &mut stats);
    ctx.hits += stats.hits;
    ctx.misses += stats.misses;
    Ok(Frame::Array(replies))
}

/// Runs queued commands atomically (see the module comment). Returns one reply per command.
pub fn exec_queued(
    server: &Server,
    client: &mut Client,
    cmds: &[Vec<Bytes>],
    stats: &mut LocalStats,
) -> Vec<Frame> {
    let ks = &server.keyspace;
    let specs: Vec<_> = cmds
        .iter()
        .map(|a| dispatch::lookup(&a[0]).expect("queued commands were looked up"))
        .collect();
    let locks = if specs.iter().any(|c| c.flags & flags::ALL_KEYS != 0) {
        Locks::All(ks.lock_all())
    } else {
        let mut idx: Vec<usize> = specs
            .iter()
            .zip(cmds)
            .flat_map(|(c, a)| c.keys.positions(a.len()).map(|p| ks.shard_of(&a[p])))
            .collect();
        idx.sort_unstable();
        idx.dedup();
        match idx.len() {
            0 => Locks::None,
            1 => Locks::One(idx[0], ks.lock(idx[0])),
            _ => Locks::Many(idx.into_iter().map(|i| (i, ks.lock(i))).collect()),
        }
    };
    client.in_exec = true;
    // One context for the whole transaction: it owns the locks until the end.
    let mut ctx = Ctx {
        server,
        client,
        locks,
        dirty: 0,
        effects: Effects::default(),
        custom_propagation: false,
        now: 0,
        hits: 0,
        misses: 0,
        no_touch: false,
    };
    let mut replies = Vec::with_capacity(cmds.len());
    let mut dirty = 0;
    let mut all = Vec::new();
    for (cmd, args) in specs.into_iter().zip(cmds) {
        stats.commands += 1;
        *ctx.client.handle.last_cmd.lock() = dispatch::full_name(cmd, args);
        ctx.dirty = 0;
        ctx.custom_propagation = false;
        ctx.no_touch = false;
        ctx.now = crate::util::now_ms();
        dispatch::protect_for_snapshot(server, cmd, args, &mut ctx.locks);
        let reply = (cmd.handler)(&mut ctx, args);
        if dispatch::after_handler(&mut ctx, cmd, args) {
            let db = ctx.client.db;
            ctx.effects.cmds.push((db, args.to_vec()));
        }
        dirty += ctx.dirty;
        all.append(&mut ctx.effects.cmds);
        replies.push(match reply {
            Ok(f) => f,
            Err(e) => {
                server.note_error(&e.0);
                Frame::Error(match e.0 {
                    std::borrow::Cow::Borrowed(s) => Bytes::from_static(s.as_bytes()),
                    std::borrow::Cow::Owned(s) => Bytes::from(s),
                })
            }
        });
    }
    stats.hits += ctx.hits;
    stats.misses += ctx.misses;
    ctx.client.in_exec = false;
    ctx.client.block = None;
    if dirty > 0 {
        server.dirty.fetch_add(dirty, Ordering::Relaxed);
    }
    // Still holding every lock the transaction needed: one unit in the log.
    if ctx.client.is_master || server.is_replica() {
        // Replica side: the master's MULTI..EXEC bytes, verbatim (replication::replica).
        if let Some(raw) = ctx.client.master_raw.take() {
            server.log.append_raw(&raw);
        }
    } else if !all.is_empty() {
        server.log.append(&all, all.len() > 1);
        ctx.client.woff = server.log.offset();
    }
    drop(ctx);
    replies
}

use crate::commands::flags::*;
use crate::commands::{spec, CommandSpec, KeySpec};

const WATCH_KEYS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 1,
};

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec(
        "multi",
        1,
        NO_MULTI | LOADING | STALE | FAST,
        KeySpec::NONE,
        "transactions",
        multi,
    ),
    spec(
        "exec",
        1,
        NO_MULTI | LOADING | STALE,
        KeySpec::NONE,
        "transactions",
        exec,
    ),
    spec(
        "discard",
        1,
        NO_MULTI | LOADING | STALE | FAST,
        KeySpec::NONE,
        "transactions",
        discard_cmd,
    ),
    spec(
        "watch",
        -2,
        NO_MULTI | LOADING | STALE | FAST,
        WATCH_KEYS,
        "transactions",
        watch,
    ),
    spec(
        "unwatch",
        1,
        NO_MULTI | LOADING | STALE | FAST,
        KeySpec::NONE,
        "transactions",
        unwatch_cmd,
    ),
];
