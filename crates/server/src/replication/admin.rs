//! Operations that coordinate the whole replication topology: SHUTDOWN (and SIGTERM/SIGINT)
//! waiting for lagging replicas, coordinated FAILOVER, the write pause both use, and the
//! replication backlog's time to live. Redis 7.0 semantics (`prepareForShutdown`,
//! `finishShutdown`, `failoverCommand`, `updateFailoverStatus` in server.c/replication.c).
//!
//! ```text
//!  SHUTDOWN / signal ──> prepare: replicas lagging and no NOW? ──yes──> pause writes, GETACK,
//!                          │ no                                       "Waiting for replicas"
//!                          v                                                 │ cron (100 ms):
//!                        finish: log lagging replicas, final save, exit  <───┘ all acked or
//!                          │ save failed (no FORCE): resume, waiting           deadline
//!                          v SHUTDOWN callers get "-ERR Errors trying to SHUTDOWN"
//!
//!  FAILOVER ──> pause writes, waiting-for-sync ── cron: target acked the master offset ──>
//!     failover-in-progress: REPLICAOF target, PSYNC <replid> <off> FAILOVER (replica.rs)
//!     ──> +CONTINUE/+FULLRESYNC: done, writes resume (now -READONLY)  | other: abort, master
//! ```
//!
//! A paused writer is held by its connection task before dispatch ([`postpone`] +
//! [`wait_unpaused`]): one atomic load per command while nothing is paused.

use crate::client::Client;
use crate::commands::KeySpec;
use crate::commands::{err, flags::*, is_kw, ok, spec, CmdResult, CommandError, CommandSpec, Ctx};
use crate::Server;
use bytes::{Bytes, BytesMut};
use ferrodis_resp::Frame;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Commands of this module.
pub static COMMANDS: &[CommandSpec] = &[spec(
    "failover",
    -1,
    ADMIN | STALE,
    KeySpec::NONE,
    "server",
    failover,
)];

/// SHUTDOWN flags (Redis's `SHUTDOWN_*`).
pub const SHUTDOWN_SAVE: u8 = 1;
/// Never save.
pub const SHUTDOWN_NOSAVE: u8 = 2;
/// Do not wait for lagging replicas.
pub const SHUTDOWN_NOW: u8 = 4;
/// Exit even if the final save fails.
pub const SHUTDOWN_FORCE: u8 = 8;

/// Write-pause reasons (bits of `Admin::paused`).
const PAUSE_SHUTDOWN: u8 = 1;
const PAUSE_FAILOVER: u8 = 2;

/// `master_failover_state` values.
const NO_FAILOVER: u8 = 0;
const FAILOVER_WAIT_FOR_SYNC: u8 = 1;
const FAILOVER_IN_PROGRESS: u8 = 2;

/// Signals the handler in `main.rs` reports.
pub const SIG_TERM: u8 = 1;
/// SIGINT.
pub const SIG_INT: u8 = 2;

/// State shared by SHUTDOWN, FAILOVER and the write pause (`Server::admin`).
#[derive(Default)]
pub struct Admin {
    /// Write-pause reasons; 0 = writes run.
    paused: AtomicU8,
    /// Woken when the last pause reason is lifted.
    unpaused: Notify,
    /// Bumped each time an initiated shutdown is cancelled (aborted, or the final save
    /// failed): the SHUTDOWN callers blocked on it get their error then.
    cancel_gen: AtomicU64,
    cancelled: Notify,
    /// SHUTDOWN callers blocked on the wait and writers held by the pause: Redis 7.0.15's
    /// INFO `blocked_clients` counts both (BLOCKED_SHUTDOWN, BLOCKED_POSTPONE).
    blocked: AtomicUsize,
    /// A signal asked for a shutdown the cron has not started yet (Redis's `shutdown_asap`).
    shutdown_asap: AtomicBool,
    last_signal: AtomicU8,
    /// `master_failover_state`, readable without the lock.
    failover_state: AtomicU8,
    /// DEBUG PAUSE-CRON: the admin cron (signalled shutdowns, shutdown deadline, failover,
    /// backlog TTL) does nothing while set.
    cron_paused: AtomicBool,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Unix ms when waiting for replicas ends; 0 = no shutdown initiated.
    shutdown_deadline_ms: i64,
    shutdown_flags: u8,
    /// The failover target once known (given, or the first replica found in sync).
    target: Option<(String, u16)>,
    /// Unix ms when a FAILOVER with TIMEOUT gives up (or forces); 0 = none.
    failover_end_ms: i64,
    force: bool,
}

impl Admin {
    /// True while writes are paused (shutdown wait or failover). One relaxed load.
    #[inline]
    pub fn writes_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed) != 0
    }

    fn pause(&self, reason: u8) {
        self.paused.fetch_or(reason, Ordering::AcqRel);
    }

    fn unpause(&self, reason: u8) {
        let before = self.paused.fetch_and(!reason, Ordering::AcqRel);
        if before & !reason == 0 {
            self.unpaused.notify_waiters();
        }
    }

    /// True once SHUTDOWN (or a signal) started waiting for replicas.
    pub fn shutdown_initiated(&self) -> bool {
        self.inner.lock().shutdown_deadline_ms != 0
    }

    /// Called by the signal handler: the cron starts the shutdown (Redis does this in
    /// `serverCron`, never inside the handler). Returns false when a second SIGINT arrives
    /// while one is pending: the caller exits at once, as Redis's "You insist" rule.
    pub fn signal(&self, sig: u8) -> bool {
        if sig == SIG_INT && self.shutdown_asap.load(Ordering::Acquire) {
            return false;
        }
        self.last_signal.store(sig, Ordering::Relaxed);
        self.shutdown_asap.store(true, Ordering::Release);
        true
    }
}

// ---------------------------------------------------------------------------------------
// Write pause

/// True when the connection must hold this command until writes resume: a write (or a
/// PUBLISH, or an EXEC with queued writes) from an ordinary client. Commands queued inside
/// MULTI are not held; their EXEC is.
pub fn postpone(client: &Client, args: &[Bytes]) -> bool {
    if client.is_master {
        return false;
    }
    let Some(cmd) = crate::dispatch::lookup(&args[0]) else {
        return false;
    };
    if cmd.name == "exec" {
        return client.multi.as_ref().is_some_and(|m| {
            m.cmds.iter().any(|c| {
                crate::dispatch::lookup(&c[0]).is_some_and(|q| may_replicate(q.flags, q.name))
            })
        });
    }
    if client.multi.is_some() || !may_replicate(cmd.flags, cmd.name) {
        return false;
    }
    // CLIENT LIST shows the held command, as Redis does for a postponed client.
    *client.handle.last_cmd.lock() = crate::dispatch::full_name(cmd, args);
    true
}

/// Redis's `CMD_WRITE | CMD_MAY_REPLICATE` for the commands ferrodis has.
fn may_replicate(flags: u32, name: &str) -> bool {
    flags & WRITE != 0 || matches!(name, "publish" | "spublish")
}

/// Holds the connection until writes resume (what is already in `wbuf` is sent first, so
/// pipelined replies before the paused command arrive). Returns false when the client or
/// the server goes away meanwhile.
pub async fn wait_unpaused(
    server: &Server,
    client: &mut Client,
    sock: &mut TcpStream,
    wbuf: &mut BytesMut,
) -> bool {
    if !wbuf.is_empty() {
        if sock.write_all(wbuf).await.is_err() {
            return false;
        }
        wbuf.clear();
    }
    park(server, &client.handle, &server.admin.unpaused, || {
        !server.admin.writes_paused()
    })
    .await
}

// ---------------------------------------------------------------------------------------
// SHUTDOWN

/// What the SHUTDOWN handler tells the connection task.
pub enum Prep {
    /// Exit now (the reply is never sent).
    Exit,
    /// Waiting for replicas: block the caller until the process exits or the shutdown is
    /// cancelled (then `-ERR Errors trying to SHUTDOWN. Check logs.`).
    Waiting,
    /// The final save failed.
    Failed,
}

const SHUTDOWN_FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`, called by the SHUTDOWN handler.
pub fn shutdown_command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut flags = 0u8;
    let mut abort = false;
    for a in &args[1..] {
        if is_kw(a, "nosave") {
            flags |= SHUTDOWN_NOSAVE;
        } else if is_kw(a, "save") {
            flags |= SHUTDOWN_SAVE;
        } else if is_kw(a, "now") {
            flags |= SHUTDOWN_NOW;
        } else if is_kw(a, "force") {
            flags |= SHUTDOWN_FORCE;
        } else if is_kw(a, "abort") {
            abort = true;
        } else {
            return Err(err::SYNTAX);
        }
    }
    if (abort && flags != 0) || (flags & SHUTDOWN_NOSAVE != 0 && flags & SHUTDOWN_SAVE != 0) {
        return Err(err::SYNTAX);
    }
    if abort {
        return match abort_shutdown(ctx.server) {
            true => ok(),
            false => Err(CommandError::new("ERR No shutdown in progress.")),
        };
    }
    // Remember which cancellation this caller waits for before anything can cancel it.
    let gen = ctx.server.admin.cancel_gen.load(Ordering::Acquire);
    match prepare_for_shutdown(ctx.server, flags) {
        Prep::Exit => {
            ctx.client.close_after_reply = true;
            ctx.client.reply_mode = crate::client::ReplyMode::Off;
            ok()
        }
        Prep::Failed => Err(CommandError::new(SHUTDOWN_FAILED)),
        Prep::Waiting => {
            ctx.client.admin_wait = Some(gen);
            // dispatch sends no reply while `block` is set; the connection task clears it.
            ctx.client.block = Some(crate::blocking::BlockRequest {
                deadline: 0,
                timeout_reply: Frame::Null,
            });
            Ok(Frame::Null)
        }
    }
}

/// The connection task's side of a SHUTDOWN that waits: hold the caller until the shutdown
/// is cancelled (reply `-ERR`) or the server exits. Returns false when the connection ends.
pub async fn after_command(
    server: &Server,
    client: &mut Client,
    sock: &mut TcpStream,
    wbuf: &mut BytesMut,
) -> bool {
    let Some(gen) = client.admin_wait.take() else {
        return true;
    };
    client.block = None;
    if !wbuf.is_empty() {
        if sock.write_all(wbuf).await.is_err() {
            return false;
        }
        wbuf.clear();
    }
    let admin = &server.admin;
    let cancelled = park(server, &client.handle, &admin.cancelled, || {
        admin.cancel_gen.load(Ordering::Acquire) != gen
    })
    .await;
    if !cancelled {
        return false;
    }
    server.note_error(SHUTDOWN_FAILED);
    crate::dispatch::encode_reply(client, Err(CommandError::new(SHUTDOWN_FAILED)), wbuf);
    true
}

/// Redis's `prepareForShutdown`.
pub fn prepare_for_shutdown(server: &Server, mut flags: u8) -> Prep {
    let admin = &server.admin;
    if admin.shutdown_initiated() {
        // Another SHUTDOWN is already waiting: this caller waits for the same outcome.
        return Prep::Waiting;
    }
    if server.loading.load(Ordering::Acquire) {
        // Never overwrite the dump with a half-loaded dataset.
        flags = (flags & !SHUTDOWN_SAVE) | SHUTDOWN_NOSAVE;
    }
    tracing::warn!("User requested shutdown...");
    let timeout = server.config.read().shutdown_timeout;
    if flags & SHUTDOWN_NOW == 0 && timeout != 0 && !replicas_in_sync(server) {
        {
            let mut inner = admin.inner.lock();
            inner.shutdown_deadline_ms =
                crate::util::now_ms().saturating_add((timeout as i64).saturating_mul(1000));
            inner.shutdown_flags = flags;
        }
        // While writes are paused (a failover) no GETACK is sent, as in Redis: it would move
        // the offset the failover is waiting for.
        if !admin.writes_paused() {
            server.repl_master.send_getack(server);
        }
        admin.pause(PAUSE_SHUTDOWN);
        tracing::info!("Waiting for replicas before shutting down.");
        return Prep::Waiting;
    }
    admin.inner.lock().shutdown_flags = flags;
    if finish_shutdown(server) {
        Prep::Exit
    } else {
        Prep::Failed
    }
}

/// Redis's `isReadyToShutdown`: every replica acknowledged the whole stream.
fn replicas_in_sync(server: &Server) -> bool {
    let end = server.log.offset();
    server
        .repl_master
        .links()
        .iter()
        .all(|r| r.ack_off.load(Ordering::Acquire) == end)
}

/// Redis's `finishShutdown`: report lagging replicas, save if asked, and stop the server.
/// Returns false (and cancels the shutdown) when the final save failed without FORCE.
fn finish_shutdown(server: &Server) -> bool {
    let flags = server.admin.inner.lock().shutdown_flags;
    let links = server.repl_master.links();
    let end = server.log.offset();
    let now = crate::util::now_ms();
    let mut lagging = 0;
    for r in &links {
        let ack = r.ack_off.load(Ordering::Acquire);
        if ack != end {
            lagging += 1;
            let state = r.state.load(Ordering::Acquire);
            let lag = if state == crate::replication::master::STATE_ONLINE {
                (now - r.ack_time_ms.load(Ordering::Relaxed)).max(0) / 1000
            } else {
                0
            };
            tracing::warn!(
                "Lagging replica {}:{} reported offset {} behind master, lag={lag}, state={}.",
                r.ip,
                r.port,
                end as i64 - ack as i64,
                crate::replication::master::state_name(state)
            );
        }
    }
    if !links.is_empty() {
        tracing::info!(
            "{} of {} replicas are in sync when shutting down.",
            links.len() - lagging,
            links.len()
        );
    }
    if server.persist.bgsave_in_progress.load(Ordering::Acquire) {
        // Redis kills its RDB child here; a running snapshot stops at its next check.
        tracing::warn!("There is a child saving an .rdb. Killing it!");
        server
            .persist
            .abort_generation
            .fetch_add(1, Ordering::AcqRel);
        // Let it stop and remove its temp file before ours is written (bounded: it checks
        // the abort between shards and between 50 ms slices of any test delay).
        let t0 = std::time::Instant::now();
        while server.persist.bgsave_in_progress.load(Ordering::Acquire)
            && t0.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let save_points = !server.config.read().save.is_empty();
    if (save_points && flags & SHUTDOWN_NOSAVE == 0) || flags & SHUTDOWN_SAVE != 0 {
        tracing::info!("Saving the final RDB snapshot before exiting.");
        let path = crate::persistence::dump_path(server);
        match crate::persistence::save_to_file(server, &path) {
            Ok(()) => tracing::info!("DB saved on disk"),
            // The cause first, then Redis's exact lines (its tests match them).
            Err(e) if flags & SHUTDOWN_FORCE != 0 => {
                tracing::warn!("Failed saving the DB: {e}");
                tracing::warn!("Error trying to save the DB. Exit anyway.");
            }
            Err(e) => {
                tracing::warn!("Failed saving the DB: {e}");
                tracing::warn!("Error trying to save the DB, can't exit.");
                tracing::warn!(
                    "Errors trying to shut down the server. Check the logs for more information."
                );
                cancel_shutdown(server);
                return false;
            }
        }
    }
    server.request_shutdown();
    true
}

/// Redis's `cancelShutdown`: forget the shutdown, answer blocked SHUTDOWN callers, resume
/// writes.
fn cancel_shutdown(server: &Server) {
    let admin = &server.admin;
    admin.shutdown_asap.store(false, Ordering::Release);
    {
        let mut inner = admin.inner.lock();
        inner.shutdown_deadline_ms = 0;
        inner.shutdown_flags = 0;
    }
    admin.cancel_gen.fetch_add(1, Ordering::AcqRel);
    admin.cancelled.notify_waiters();
    admin.unpause(PAUSE_SHUTDOWN);
}

/// Redis's `abortShutdown` (SHUTDOWN ABORT): false when nothing was in progress.
fn abort_shutdown(server: &Server) -> bool {
    let admin = &server.admin;
    if admin.shutdown_initiated() {
        cancel_shutdown(server);
    } else if !admin.shutdown_asap.swap(false, Ordering::AcqRel) {
        return false;
    }
    tracing::info!("Shutdown manually aborted.");
    true
}

/// SHUTDOWN callers waiting for replicas and writers held by the pause (part of INFO
/// `blocked_clients`).
pub fn blocked_clients(server: &Server) -> usize {
    server.admin.blocked.load(Ordering::Relaxed)
}

/// INFO server's `shutdown_in_milliseconds:<ms>` line while waiting for replicas.
pub fn info_shutdown_line(server: &Server) -> String {
    let deadline = server.admin.inner.lock().shutdown_deadline_ms;
    if deadline == 0 {
        return String::new();
    }
    format!(
        "shutdown_in_milliseconds:{}\r\n",
        (deadline - crate::util::now_ms()).max(0)
    )
}

/// The flags `shutdown-on-sigterm` / `shutdown-on-sigint` configure.
fn signal_flags(server: &Server, sig: u8) -> u8 {
    let name = if sig == SIG_INT {
        "shutdown-on-sigint"
    } else {
        "shutdown-on-sigterm"
    };
    let value = server.config.read().other.get(name).cloned();
    let mut flags = 0;
    for w in value.as_deref().unwrap_or("default").split(' ') {
        flags |= match w {
            "save" => SHUTDOWN_SAVE,
            "nosave" => SHUTDOWN_NOSAVE,
            "now" => SHUTDOWN_NOW,
            "force" => SHUTDOWN_FORCE,
            _ => 0,
        };
    }
    flags
}

// ---------------------------------------------------------------------------------------
// Cron (Redis runs these checks in serverCron / beforeSleep, at hz 10)

/// Every 100 ms: start a signalled shutdown, finish a waiting one, advance a failover,
/// apply `repl-backlog-ttl`. Runs from start-up (a signal during loading must work).
pub async fn cron(server: Arc<Server>) {
    let mut shutdown = server.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        tick(&server);
    }
}

fn tick(server: &Arc<Server>) {
    let admin = &server.admin;
    if admin.cron_paused.load(Ordering::Relaxed) {
        return;
    }
    if admin.shutdown_asap.load(Ordering::Acquire) && !admin.shutdown_initiated() {
        let sig = admin.last_signal.load(Ordering::Relaxed);
        let flags = signal_flags(server, sig);
        // On success the server is stopping; a failed save already logged and cancelled.
        let _ = prepare_for_shutdown(server, flags);
    } else if admin.shutdown_initiated() {
        let deadline = admin.inner.lock().shutdown_deadline_ms;
        if crate::util::now_ms() >= deadline || replicas_in_sync(server) {
            finish_shutdown(server);
        }
    }
    if *server.shutdown.borrow() {
        return;
    }
    update_failover(server);
}

// ---------------------------------------------------------------------------------------
// FAILOVER

/// `master_failover_state` for INFO.
pub fn failover_state_name(server: &Server) -> &'static str {
    match server.admin.failover_state.load(Ordering::Acquire) {
        FAILOVER_WAIT_FOR_SYNC => "waiting-for-sync",
        FAILOVER_IN_PROGRESS => "failover-in-progress",
        _ => "no-failover",
    }
}

/// True while a FAILOVER runs (REPLICAOF is refused, PSYNC gets `-NOMASTERLINK`).
pub fn failing_over(server: &Server) -> bool {
    server.admin.failover_state.load(Ordering::Acquire) != NO_FAILOVER
}

/// True once the target is chosen and this node is connecting to it: the replica side
/// adds `FAILOVER` to its PSYNC.
pub fn failover_in_progress(server: &Server) -> bool {
    server.admin.failover_state.load(Ordering::Acquire) == FAILOVER_IN_PROGRESS
}

/// Redis skips the keepalive ping while a FAILOVER with a TIMEOUT holds writes paused: the
/// ping would move the offset the target must reach.
pub fn suppress_ping(server: &Server) -> bool {
    server.admin.inner.lock().failover_end_ms != 0 && server.admin.writes_paused()
}

/// Finds a replica link by the address FAILOVER names (`REPLCONF ip-address`, else the peer
/// IP, and the listening port), as Redis's `findReplica`.
fn find_replica(
    server: &Server,
    host: &str,
    port: u16,
) -> Option<Arc<crate::replication::master::ReplicaInfo>> {
    server
        .repl_master
        .links()
        .into_iter()
        .find(|r| r.ip.eq_ignore_ascii_case(host) && r.port == port)
}

/// `FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]`
fn failover(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    if args.len() == 2 && is_kw(&args[1], "abort") {
        if !failing_over(server) {
            return Err(CommandError::new("ERR No failover in progress."));
        }
        abort_failover(server, "Failover manually aborted");
        return ok();
    }
    let mut timeout_ms: i64 = 0;
    let mut force = false;
    let mut target: Option<(String, i64)> = None;
    let mut j = 1;
    while j < args.len() {
        let a = &args[j];
        if is_kw(a, "timeout") && j + 1 < args.len() && timeout_ms == 0 {
            timeout_ms = crate::util::parse_i64(&args[j + 1]).ok_or(err::NOT_INT)?;
            if timeout_ms <= 0 {
                return Err(CommandError::new(
                    "ERR FAILOVER timeout must be greater than 0",
                ));
            }
            j += 2;
        } else if is_kw(a, "to") && j + 2 < args.len() && target.is_none() {
            let port = crate::util::parse_i64(&args[j + 2]).ok_or(err::NOT_INT)?;
            target = Some((String::from_utf8_lossy(&args[j + 1]).into_owned(), port));
            j += 3;
        } else if is_kw(a, "force") && !force {
            force = true;
            j += 1;
        } else {
            return Err(err::SYNTAX);
        }
    }
    if failing_over(server) {
        return Err(CommandError::new("ERR FAILOVER already in progress."));
    }
    if server.is_replica() {
        return Err(CommandError::new(
            "ERR FAILOVER is not valid when server is a replica.",
        ));
    }
    if server.repl_master.count() == 0 {
        return Err(CommandError::new(
            "ERR FAILOVER requires connected replicas.",
        ));
    }
    if force && (timeout_ms == 0 || target.is_none()) {
        return Err(CommandError::new(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        ));
    }
    let admin = &server.admin;
    let mut inner = admin.inner.lock();
    inner.target = None;
    if let Some((host, port)) = &target {
        let found = u16::try_from(*port)
            .ok()
            .and_then(|p| find_replica(server, host, p));
        let Some(r) = found else {
            return Err(CommandError::new(
                "ERR FAILOVER target HOST and PORT is not a replica.",
            ));
        };
        if r.state.load(Ordering::Acquire) != crate::replication::master::STATE_ONLINE {
            return Err(CommandError::new(
                "ERR FAILOVER target replica is not online.",
            ));
        }
        inner.target = Some((host.clone(), r.port));
        tracing::info!("FAILOVER requested to {host}:{port}.");
    } else {
        tracing::info!("FAILOVER requested to any replica.");
    }
    inner.failover_end_ms = if timeout_ms != 0 {
        crate::util::now_ms().saturating_add(timeout_ms)
    } else {
        0
    };
    inner.force = force;
    admin
        .failover_state
        .store(FAILOVER_WAIT_FOR_SYNC, Ordering::Release);
    drop(inner);
    admin.pause(PAUSE_FAILOVER);
    ok()
}

/// Redis's `updateFailoverStatus`: time out (or force) a waiting failover, or start it once
/// the target (or any replica, without TO) acknowledged the whole stream.
fn update_failover(server: &Arc<Server>) {
    let admin = &server.admin;
    if admin.failover_state.load(Ordering::Acquire) != FAILOVER_WAIT_FOR_SYNC {
        return;
    }
    let (end_ms, force, target) = {
        let inner = admin.inner.lock();
        (inner.failover_end_ms, inner.force, inner.target.clone())
    };
    if end_ms != 0 && end_ms <= crate::util::now_ms() {
        if force {
            if let Some((host, port)) = target {
                tracing::info!("FAILOVER to {host}:{port} time out exceeded, failing over.");
                start_failover(server, host, port);
            }
        } else {
            abort_failover(server, "Replica never caught up before timeout");
        }
        return;
    }
    let end = server.log.offset();
    let synced = match &target {
        Some((host, port)) => find_replica(server, host, *port)
            .filter(|r| r.ack_off.load(Ordering::Acquire) == end)
            .map(|_| (host.clone(), *port)),
        None => server
            .repl_master
            .links()
            .into_iter()
            .find(|r| r.ack_off.load(Ordering::Acquire) == end)
            .map(|r| (r.ip.clone(), r.port)),
    };
    if let Some((host, port)) = synced {
        tracing::info!("Failover target {host}:{port} is synced, failing over.");
        start_failover(server, host, port);
    }
}

fn start_failover(server: &Arc<Server>, host: String, port: u16) {
    let admin = &server.admin;
    admin.inner.lock().target = Some((host.clone(), port));
    admin
        .failover_state
        .store(FAILOVER_IN_PROGRESS, Ordering::Release);
    // Become a replica of the target; our own replid and offset are the history its PSYNC
    // (with FAILOVER) asks the target to continue.
    crate::replication::replica::set_master(server, host, port);
}

/// Redis's `abortFailover`: log why, return to being a master if we already switched.
fn abort_failover(server: &Server, why: &str) {
    let admin = &server.admin;
    let state = admin.failover_state.load(Ordering::Acquire);
    if state == NO_FAILOVER {
        return;
    }
    match admin.inner.lock().target.clone() {
        Some((host, port)) => tracing::info!("FAILOVER to {host}:{port} aborted: {why}"),
        None => tracing::info!("FAILOVER to any replica aborted: {why}"),
    }
    if state == FAILOVER_IN_PROGRESS {
        crate::replication::replica::promote(server);
    }
    clear_failover(server);
}

fn clear_failover(server: &Server) {
    let admin = &server.admin;
    {
        let mut inner = admin.inner.lock();
        inner.failover_end_ms = 0;
        inner.force = false;
        inner.target = None;
    }
    admin.failover_state.store(NO_FAILOVER, Ordering::Release);
    admin.unpause(PAUSE_FAILOVER);
}

/// The replica side read its PSYNC reply during a failover: `accepted` (`+CONTINUE` or
/// `+FULLRESYNC`) ends the failover; anything else (but the transient `-NOMASTERLINK` /
/// `-LOADING`, which retry) aborts it and makes this node a master again.
pub fn failover_psync_reply(server: &Server, accepted: bool) {
    if !failover_in_progress(server) {
        return;
    }
    if accepted {
        clear_failover(server);
    } else {
        abort_failover(server, "Failover target rejected psync request");
    }
}

/// PSYNC's first checks on the node being asked (Redis's `syncCommand`): `PSYNC <replid>
/// <offset> FAILOVER` with our replid makes us a master, and nobody may sync with a node
/// that is failing over.
pub fn before_psync(ctx: &mut Ctx, args: &[Bytes]) -> Result<(), CommandError> {
    let server = ctx.server;
    if args.len() > 3 && is_kw(&args[0], "psync") && is_kw(&args[3], "failover") {
        let mine = server.replids.lock().0.clone();
        if args[1].eq_ignore_ascii_case(mine.as_bytes()) {
            if server.is_replica() {
                crate::replication::replica::promote(server);
            }
            tracing::info!(
                "MASTER MODE enabled (failover request from '{}')",
                ctx.client.handle.info_line(crate::util::now_ms())
            );
        } else {
            return Err(CommandError::new(
                "ERR PSYNC FAILOVER replid must match my replid.",
            ));
        }
    }
    if failing_over(server) {
        return Err(CommandError::new(
            "NOMASTERLINK Can't SYNC while failing over",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// DEBUG REPLICATE, DEBUG PAUSE-CRON

/// `DEBUG PAUSE-CRON 0|1` (Redis's tests use it to hold a signalled shutdown in place).
pub fn pause_cron(server: &Server, on: bool) {
    server.admin.cron_paused.store(on, Ordering::Relaxed);
}

/// `DEBUG REPLICATE <arg> ...`: puts the arguments into the replication stream as one
/// command, without a SELECT and without running it here (Redis's tests use it to make
/// replicas diverge or see unknown commands). A replica propagates nothing of its own.
pub fn debug_replicate(server: &Server, argv: &[Bytes]) {
    if server.is_replica() {
        return;
    }
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    server.log.append_unselected(&out);
}

// ---------------------------------------------------------------------------------------
// repl-backlog-ttl is enforced by `master::cron` (`expire_backlog`).

/// Parks a client (flag `b`, counted in `blocked_clients`) until `done()` holds, re-checked
/// whenever `notify` fires and at least every 200 ms so no lost wake-up holds it forever.
/// False when the client is killed or the server shuts down first.
async fn park(
    server: &Server,
    handle: &Arc<crate::client::ClientHandle>,
    notify: &tokio::sync::Notify,
    done: impl Fn() -> bool,
) -> bool {
    crate::client::set_flag(handle, 'b', true);
    let mut shutdown = server.shutdown.subscribe();
    server.admin.blocked.fetch_add(1, Ordering::Relaxed);
    let result = loop {
        let woken = notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if done() {
            break true;
        }
        if handle.killed.load(Ordering::Acquire) || *shutdown.borrow() {
            break false;
        }
        tokio::select! {
            _ = &mut woken => {}
            _ = handle.kill_notify.notified() => break false,
            _ = shutdown.changed() => break false,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    };
    crate::client::set_flag(handle, 'b', false);
    server.admin.blocked.fetch_sub(1, Ordering::Relaxed);
    result
}
