//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP; later BZPOPMIN/BZPOPMAX/BZMPOP).
//!
//! ```text
//!   handler (shard locks held)            dispatch::call (writer, shard locks held)
//!     key empty -> block_on(ctx, keys,      write with dirty > 0 and waiters exist
//!                  deadline, timeout_reply)    -> Blocking::signal(db, key) for its keys
//!       registers the client's Waiter         -> notify_one() on the FIFO head waiter
//!       in each key's FIFO, returns the
//!       timeout reply; dispatch sees
//!       client.block and does not send it
//!
//!   connection task: park() awaits the Waiter's Notify / the deadline / the socket, then
//!   re-runs the same command through dispatch::call (atomically, under its shard locks).
//!   Served -> reply, leave every queue, re-signal those keys (the next waiter may be served
//!   from what is left). Not served (someone else took the element) -> block_on finds the
//!   waiter already queued and leaves it where it is, so it keeps its place.
//! ```
//! Registration happens under the shard locks of the keys and signalling under the writer's
//! shard locks, so a push can never slip between "the list is empty" and "the waiter is
//! queued". Only the head of a key's queue is woken, which makes service FIFO per key.
//!
//! Inside MULTI/EXEC (and for the replication link) [`block_on`] does not block: it returns
//! the timeout reply at once, as Redis does.
//!
//! # Adding a blocking command (e.g. BZPOPMIN)
//! 1. Table row with `BLOCKING` and the keys (`KeySpec { first: 1, last: -2, step: 1 }`).
//! 2. Handler: `let deadline = blocking::parse_timeout(&args[args.len() - 1], ctx.now)?;`
//!    try to serve from the first non-empty key (WRONGTYPE as usual) and, when served,
//!    `ctx.propagate(vec!["ZPOPMIN", key])` (the deterministic form); otherwise
//!    `return blocking::block_on(ctx, &args[1..args.len() - 1], deadline, Frame::NullArray)`.
//! 3. On a wake-up the command simply runs again. A WRONGTYPE result then means "the key
//!    now holds another type" and the client keeps waiting, as in Redis.
//! 4. Nothing else: ZADD on a waited key is a write with that key in its key positions, so
//!    dispatch signals the waiters (commands with `ALL_KEYS` must call `Ctx::key_modified`).

use crate::client::Client;
use crate::commands::{CommandError, Ctx};
use crate::dispatch::{self, LocalStats};
use crate::Server;
use bytes::{Bytes, BytesMut};
use ferrodis_resp::Frame;
use hashbrown::HashMap;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// What a handler asks for when it cannot serve now (stored on the client by [`block_on`]).
#[derive(Debug)]
pub struct BlockRequest {
    /// Absolute deadline in Unix ms; 0 waits forever.
    pub deadline: i64,
    /// The reply sent on timeout (`*-1` for BLPOP, `$-1` for BLMOVE...).
    pub timeout_reply: Frame,
}

/// One parked client. Shared between the registry and the connection task.
#[derive(Debug)]
pub struct Waiter {
    /// The client's id.
    pub client_id: u64,
    /// Woken when a waited key may be ready, or by CLIENT UNBLOCK.
    pub notify: Notify,
    /// Set by CLIENT UNBLOCK: [`UNBLOCK_TIMEOUT`] or [`UNBLOCK_ERROR`].
    pub unblock: AtomicU8,
}

/// `CLIENT UNBLOCK id TIMEOUT`.
pub const UNBLOCK_TIMEOUT: u8 = 1;
/// `CLIENT UNBLOCK id ERROR`.
pub const UNBLOCK_ERROR: u8 = 2;
/// REPLICAOF host port: every blocked client gets `-UNBLOCKED ... (master -> replica?)`.
pub const UNBLOCK_ROLE_CHANGE: u8 = 3;

/// A parked client's waiter and the `(db, key)`s it is queued on.
type ParkedClient = (Arc<Waiter>, Vec<(usize, Bytes)>);

#[derive(Default)]
struct Inner {
    /// `(db, key)` -> waiters, oldest first.
    keys: HashMap<(usize, Bytes), VecDeque<Arc<Waiter>>>,
    /// Parked clients -> their waiter and the keys they are queued on.
    clients: HashMap<u64, ParkedClient>,
}

/// The registry of blocked clients. Lock order: shard locks -> this mutex (a leaf).
#[derive(Default)]
pub struct Blocking {
    /// Number of keys with waiters: writers skip signalling when 0 (one atomic load).
    waited_keys: AtomicUsize,
    /// Number of parked clients (INFO `blocked_clients`).
    parked: AtomicUsize,
    /// Client id -> the arguments its re-runs use instead of the original command (set by
    /// [`block_on_rerun`]: XREAD's `$` must keep meaning "after the last ID when it blocked").
    reruns: Mutex<HashMap<u64, Vec<Bytes>>>,
    inner: Mutex<Inner>,
}

impl Blocking {
    /// True when some client waits on some key (the writers' fast-path check).
    #[inline]
    pub fn has_waiters(&self) -> bool {
        self.waited_keys.load(Ordering::Relaxed) > 0
    }

    /// Clients currently blocked (INFO `blocked_clients`).
    pub fn blocked_clients(&self) -> usize {
        self.parked.load(Ordering::Relaxed)
    }

    /// True while client `id` is parked after [`block_on_rerun`]: its command is running
    /// again after a wake-up (XREADGROUP then reports a destroyed group as Redis does).
    pub fn is_rerun(&self, id: u64) -> bool {
        self.reruns.lock().contains_key(&id)
    }

    /// True when client `id` is blocked.
    pub fn is_blocked(&self, id: u64) -> bool {
        self.inner.lock().clients.contains_key(&id)
    }

    /// Queues `waiter` on each key (keeping its place where it already is).
    fn register(&self, waiter: &Arc<Waiter>, db: usize, keys: &[Bytes]) {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let slot = inner
            .clients
            .entry(waiter.client_id)
            .or_insert_with(|| (waiter.clone(), Vec::new()));
        for k in keys {
            if slot.1.iter().any(|(d, kk)| *d == db && kk == k) {
                continue;
            }
            let owned = Bytes::copy_from_slice(k);
            slot.1.push((db, owned.clone()));
            let q = inner.keys.entry((db, owned)).or_default();
            if q.is_empty() {
                self.waited_keys.fetch_add(1, Ordering::Relaxed);
            }
            q.push_back(waiter.clone());
        }
    }

    /// Removes client `id` from every queue; returns the keys it waited on.
    fn unregister(&self, id: u64) -> Vec<(usize, Bytes)> {
        let mut inner = self.inner.lock();
        let Some((_, keys)) = inner.clients.remove(&id) else {
            return Vec::new();
        };
        for k in &keys {
            if let Some(q) = inner.keys.get_mut(k) {
                q.retain(|w| w.client_id != id);
                if q.is_empty() {
                    inner.keys.remove(k);
                    self.waited_keys.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
        keys
    }

    /// A write may have made `key` in `db` ready: wake the oldest waiter on it.
    pub fn signal(&self, db: usize, key: &[u8]) {
        let inner = self.inner.lock();
        // hashbrown looks up by (usize, &[u8]) only via an owned key; keys are short.
        if let Some(q) = inner.keys.get(&(db, Bytes::copy_from_slice(key))) {
            if let Some(w) = q.front() {
                w.notify.notify_one();
            }
        }
    }

    /// Wakes the head waiter of every key in `db` (None: all databases): FLUSH*/SWAPDB.
    pub fn signal_db(&self, db: Option<usize>) {
        let inner = self.inner.lock();
        for ((d, _), q) in inner.keys.iter() {
            if db.map_or(true, |x| x == *d) {
                if let Some(w) = q.front() {
                    w.notify.notify_one();
                }
            }
        }
    }

    /// Unblocks every blocked client with `how` (REPLICAOF: the role changed).
    pub fn unblock_all(&self, how: u8) {
        let inner = self.inner.lock();
        for (w, _) in inner.clients.values() {
            w.unblock.store(how, Ordering::Release);
            w.notify.notify_one();
        }
    }

    /// CLIENT UNBLOCK: returns true if client `id` was blocked.
    pub fn unblock(&self, id: u64, how: u8) -> bool {
        let inner = self.inner.lock();
        match inner.clients.get(&id) {
            Some((w, _)) => {
                w.unblock.store(how, Ordering::Release);
                w.notify.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Parses a blocking timeout in (float) seconds into an absolute deadline in ms (0 = none).
pub fn parse_timeout(arg: &[u8], now_ms: i64) -> Result<i64, CommandError> {
    let secs = crate::util::parse_f64(arg)
        .filter(|v| !v.is_nan())
        .ok_or(CommandError::new(
            "ERR timeout is not a float or out of range",
        ))?;
    let ms = (secs * 1000.0).ceil();
    // Redis converts to a long long: anything out of range comes out negative.
    if !(0.0..9.2e18).contains(&ms) {
        return Err(CommandError::new("ERR timeout is negative"));
    }
    let ms = ms as i64;
    if ms == 0 {
        return Ok(0);
    }
    ms.checked_add(now_ms)
        .ok_or(CommandError::new("ERR timeout is out of range"))
}

/// Called by a handler that cannot serve now: queues the client on `keys` (in its current
/// database) and returns `timeout_reply`. Dispatch sees the request on the client and parks
/// the connection instead of sending the reply. Inside EXEC it just returns the reply.
pub fn block_on(
    ctx: &mut Ctx,
    keys: &[Bytes],
    deadline: i64,
    timeout_reply: Frame,
) -> Result<Frame, CommandError> {
    if ctx.client.in_exec || ctx.client.is_master {
        return Ok(timeout_reply);
    }
    let waiter = ctx.client.waiter().clone();
    ctx.server.blocking.register(&waiter, ctx.client.db, keys);
    ctx.client.block = Some(BlockRequest {
        deadline,
        timeout_reply: timeout_reply.clone(),
    });
    Ok(timeout_reply)
}

/// [`block_on`], re-running `rerun_args` instead of the original command on wake-ups.
pub fn block_on_rerun(
    ctx: &mut Ctx,
    keys: &[Bytes],
    deadline: i64,
    timeout_reply: Frame,
    rerun_args: Vec<Bytes>,
) -> Result<Frame, CommandError> {
    let reply = block_on(ctx, keys, deadline, timeout_reply)?;
    if ctx.client.block.is_some() {
        ctx.server
            .blocking
            .reruns
            .lock()
            .insert(ctx.client.id, rerun_args);
    }
    Ok(reply)
}

/// Removes the client from the registry when the park ends, however it ends.
struct Parked<'s> {
    server: &'s Server,
    id: u64,
    handle: Arc<crate::client::ClientHandle>,
    served: bool,
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        let keys = self.server.blocking.unregister(self.id);
        // Re-runs while parked may have stored their arguments again.
        self.server.blocking.reruns.lock().remove(&self.id);
        self.server.blocking.parked.fetch_sub(1, Ordering::Relaxed);
        crate::client::set_flag(&self.handle, 'b', false);
        if self.served {
            // What is left may serve the next waiter.
            for (db, k) in keys {
                self.server.blocking.signal(db, &k);
            }
        }
    }
}

/// Parks the connection after `args` blocked, until it is served, times out, is unblocked
/// or the connection goes away. The reply is appended to `wbuf`. While parked the socket is
/// still read (into `rbuf`, not executed) so a disconnect is noticed. Returns false when the
/// connection must close.
#[allow(clippy::too_many_arguments)]
pub async fn park(
    server: &Arc<Server>,
    client: &mut Client,
    args: &[Bytes],
    sock: &mut TcpStream,
    rbuf: &mut BytesMut,
    wbuf: &mut BytesMut,
    stats: &mut LocalStats,
) -> bool {
    let Some(req) = client.block.take() else {
        return true;
    };
    let Some(cmd) = dispatch::lookup(&args[0]) else {
        return true;
    };
    // Left in the map while parked (so `is_rerun` holds); `Parked` removes it.
    let rerun_args = server.blocking.reruns.lock().get(&client.id).cloned();
    server.blocking.parked.fetch_add(1, Ordering::Relaxed);
    crate::client::set_flag(&client.handle, 'b', true);
    let mut guard = Parked {
        server,
        id: client.id,
        handle: client.handle.clone(),
        served: false,
    };
    let waiter = client.waiter().clone();
    let mut shutdown = server.shutdown.subscribe();
    let handle = client.handle.clone();
    let sleep_for = |deadline: i64| {
        if deadline == 0 {
            std::time::Duration::from_secs(365 * 24 * 3600)
        } else {
            std::time::Duration::from_millis((deadline - crate::util::now_ms()).max(0) as u64)
        }
    };
    loop {
        if handle.killed.load(Ordering::Acquire) {
            return false;
        }
        let timed_out = tokio::select! {
            _ = waiter.notify.notified() => false,
            _ = tokio::time::sleep(sleep_for(req.deadline)) => true,
            r = sock.read_buf(rbuf) => match r {
                Ok(0) | Err(_) => return false,
                Ok(_) => continue,
            },
            _ = handle.kill_notify.notified() => return false,
            _ = shutdown.changed() => return false,
        };
        let how = waiter.unblock.swap(0, Ordering::AcqRel);
        if timed_out || how == UNBLOCK_TIMEOUT {
            dispatch::encode_reply(client, Ok(req.timeout_reply), wbuf);
            return true;
        }
        if how == UNBLOCK_ROLE_CHANGE {
            let e = CommandError::new("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
            server.note_error(&e.0);
            dispatch::encode_reply(client, Err(e), wbuf);
            return true;
        }
        if how == UNBLOCK_ERROR {
            let e = CommandError::new("UNBLOCKED client unblocked via CLIENT UNBLOCK");
            server.note_error(&e.0);
            dispatch::encode_reply(client, Err(e), wbuf);
            return true;
        }
        let run_args = rerun_args.as_deref().unwrap_or(args);
        let reply = dispatch::call(server, client, cmd, run_args, stats);
        if client.block.take().is_some() {
            continue; // still nothing for us: keep our place
        }
        if matches!(&reply, Err(e) if e == &crate::commands::err::WRONGTYPE) {
            // The key was (re)created with another type: Redis keeps waiting for a list.
            continue;
        }
        if let Err(e) = &reply {
            server.note_error(&e.0);
        }
        guard.served = true;
        dispatch::encode_reply(client, reply, wbuf);
        return true;
    }
}
