//! The master side of replication: `REPLCONF`, `PSYNC`/`SYNC`, full and partial resync,
//! feeding replicas from the log, keepalive pings, ACKs, `WAIT` and `min-replicas-*`.
//!
//! ```text
//!   PSYNC/SYNC (dispatch)          the connection leaves the command loop (net.rs hook) and
//!     partial ok -> pin log at off becomes a replica link: serve_replica()
//!     else       -> full            reader:   REPLCONF ACK / "\n" -> ack offset and time
//!                                   watchdog: CLIENT KILL, replica_epoch, repl-timeout
//!                                   writer:   full sync (below), then the log from offset O
//!
//!   full sync: the link queues itself in `Master::queue`; the coordinator task starts one
//!   snapshot (a std thread) for every replica waiting then:
//!     disk:     RDB to a temp file in `dir`; `+FULLRESYNC` at the barrier; `$len` + file when
//!               done; replicas arriving while it runs attach (their pin holds O)
//!     diskless: RDB chunks fanned out to each link through bounded channels;
//!               `$EOF:<mark>` + chunks + mark; the stream starts at the first REPLCONF ACK
//! ```
//! A link is only a reader offset into the log; its pin (`ReplLog::pin`) keeps the bytes it
//! still needs, up to the `client-output-buffer-limit replica` hard limit.

use crate::client::{Client, ClientHandle};
use crate::commands::KeySpec;
use crate::commands::{err, flags::*, is_kw, spec, CmdResult, CommandError, CommandSpec, Ctx};
use crate::Server;
use bytes::{Bytes, BytesMut};
use ferrodis_resp::{Frame, Limits, RequestParser};
use parking_lot::Mutex;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch, Notify};

/// Replica link states, as INFO names them.
pub const STATE_WAIT_BGSAVE: u8 = 0;
/// Receiving the RDB.
pub const STATE_SEND_BULK: u8 = 1;
/// Streaming.
pub const STATE_ONLINE: u8 = 2;

/// The 37 bytes of `REPLCONF GETACK *`.
const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";
/// The keepalive `ping` (lower case, 14 bytes).
const PING: &[u8] = b"*1\r\n$4\r\nping\r\n";
/// Most bytes copied out of the log per write.
const FEED_CHUNK: usize = 256 * 1024;
/// RDB bytes per chunk sent to a diskless link.
const RDB_CHUNK: usize = 64 * 1024;

/// The command rows of this module (listed in `commands::FAMILIES`).
pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "replconf",
        -1,
        ADMIN | NO_MULTI | LOADING | STALE,
        KeySpec::NONE,
        "server",
        replconf,
    ),
    spec(
        "psync",
        -3,
        ADMIN | NO_MULTI,
        KeySpec::NONE,
        "server",
        psync,
    ),
    spec("sync", 1, ADMIN | NO_MULTI, KeySpec::NONE, "server", psync),
    spec("wait", 3, 0, KeySpec::NONE, "generic", wait),
];

/// Per-connection replication state (REPLCONF values) and a pending hand-off to the
/// connection task (see [`after_command`]).
#[derive(Default)]
pub struct ClientRepl {
    /// `REPLCONF listening-port`.
    pub listening_port: u16,
    /// `REPLCONF ip-address`.
    pub ip: Option<String>,
    /// `REPLCONF capa eof`.
    pub capa_eof: bool,
    /// `REPLCONF capa psync2`.
    pub capa_psync2: bool,
    /// `REPLCONF rdb-only 1`.
    pub rdb_only: bool,
    /// `REPLCONF rdb-filter-only`.
    pub rdb_filter: Option<Bytes>,
    /// What the connection task must do after this command.
    pub action: Option<Action>,
}

/// Work the connection task does after the command (the handler cannot await).
pub enum Action {
    /// No reply (REPLCONF ACK / GETACK).
    NoReply,
    /// Full resynchronization; `legacy` for SYNC.
    Full {
        /// Legacy SYNC: no `+FULLRESYNC`, no ACKs expected, never timed out.
        legacy: bool,
    },
    /// Partial resynchronization from `from` (already pinned).
    Continue {
        /// First offset to send.
        from: u64,
        /// `+CONTINUE <replid>` (capa psync2) or plain `+CONTINUE`.
        replid: Option<String>,
    },
    /// WAIT: block until `num` replicas acknowledged `offset`, or `deadline` (Unix ms; 0 =
    /// never).
    Wait {
        /// Replicas wanted.
        num: usize,
        /// Offset to be acknowledged.
        offset: u64,
        /// Deadline in Unix ms, 0 = none.
        deadline: i64,
    },
}

/// One replica link, as INFO, ROLE, WAIT and min-replicas see it.
pub struct ReplicaInfo {
    /// Client id (also its log pin id).
    pub id: u64,
    /// Announced or peer IP.
    pub ip: String,
    /// `listening-port` (0 if never sent).
    pub port: u16,
    /// `STATE_*`.
    pub state: AtomicU8,
    /// Highest `REPLCONF ACK` offset.
    pub ack_off: AtomicU64,
    /// Unix ms of the last ACK (or `\n`).
    pub ack_time_ms: AtomicI64,
    /// Unix ms of the last write progress (diskless transfer timeout).
    last_write_ms: AtomicI64,
    /// Legacy SYNC link.
    pub legacy: bool,
    /// Receiving a diskless RDB (timed out when its writes stall for `repl-timeout`).
    diskless: AtomicBool,
    /// Fed from the log (the output-buffer limits apply).
    streaming: AtomicBool,
    /// Log offset sent so far while streaming.
    sent_off: AtomicU64,
    /// Bytes written to this link (folded into `repl_output_bytes` when it ends).
    out_bytes: AtomicU64,
    /// First ACK received (the diskless stream starts then).
    acked: AtomicBool,
    first_ack: Notify,
    /// The client's shared handle (CLIENT KILL).
    pub handle: Arc<ClientHandle>,
}

/// Master-side replication state shared by all links (`Server::repl_master`).
#[derive(Default)]
pub struct Master {
    replicas: Mutex<Vec<Arc<ReplicaInfo>>>,
    queue: Mutex<SyncQueue>,
    kick: Notify,
    coordinator: AtomicBool,
    /// INFO stats `sync_full`.
    pub sync_full: AtomicU64,
    /// INFO stats `sync_partial_ok`.
    pub sync_partial_ok: AtomicU64,
    /// INFO stats `sync_partial_err`.
    pub sync_partial_err: AtomicU64,
    /// INFO stats `total_net_repl_output_bytes`.
    pub repl_output_bytes: AtomicU64,
    /// Woken on every ACK (WAIT).
    acks: Notify,
    good: AtomicUsize,
    /// Writes refused by `min-replicas-to-write` (read on the write path).
    pub refuse_writes: AtomicBool,
    job_seq: AtomicU64,
}

#[derive(Default)]
struct SyncQueue {
    waiting: Vec<Waiting>,
    /// A disk snapshot past its barrier: later replicas may attach.
    disk_job: Option<Arc<DiskJob>>,
    running: bool,
}

struct Waiting {
    id: u64,
    eof: bool,
    since: Instant,
    tx: oneshot::Sender<Assignment>,
}

enum Assignment {
    Disk(Arc<DiskJob>),
    Diskless {
        offset: u64,
        replid: String,
        mark: Arc<str>,
        rx: mpsc::Receiver<Bytes>,
    },
}

struct DiskJob {
    offset: u64,
    replid: String,
    done: watch::Sender<JobState>,
}

#[derive(Clone)]
enum JobState {
    Running,
    Done(Arc<TempRdb>),
    Failed,
}

/// The RDB file of a disk-based sync; removed when the last link is done with it.
struct TempRdb {
    path: PathBuf,
    file: std::fs::File,
    len: u64,
}

impl Drop for TempRdb {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Master {
    /// Appends a ping or GETACK (outside the stream's SELECT bookkeeping).
    fn append_internal(&self, server: &Server, bytes: &[u8]) {
        server.log.append_unselected(bytes);
    }

    /// CONFIG RESETSTAT: the replication counters of INFO stats start again from 0.
    pub fn reset_stats(&self) {
        for c in [
            &self.sync_full,
            &self.sync_partial_ok,
            &self.sync_partial_err,
            &self.repl_output_bytes,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        for r in self.replicas.lock().iter() {
            r.out_bytes.store(0, Ordering::Relaxed);
        }
    }

    /// Number of replica links (`connected_slaves`).
    pub fn count(&self) -> usize {
        self.replicas.lock().len()
    }

    /// `total_net_repl_output_bytes`: bytes written to replica links, live ones included.
    pub fn output_bytes(&self) -> u64 {
        let live: u64 = self
            .replicas
            .lock()
            .iter()
            .map(|r| r.out_bytes.load(Ordering::Relaxed))
            .sum();
        self.repl_output_bytes.load(Ordering::Relaxed) + live
    }

    /// Number of good replicas (`min_slaves_good_slaves`).
    pub fn good_replicas(&self) -> usize {
        self.good.load(Ordering::Relaxed)
    }

    fn online_acked(&self, offset: u64) -> usize {
        self.replicas
            .lock()
            .iter()
            .filter(|r| {
                r.state.load(Ordering::Acquire) == STATE_ONLINE
                    && r.ack_off.load(Ordering::Acquire) >= offset
            })
            .count()
    }
}

/// Recounts good replicas and whether writes must be refused (min-replicas-*). Called at
/// 1 Hz, when a link goes online or away, and on CONFIG SET.
pub fn refresh_good_replicas(server: &Server) {
    let (to_write, max_lag) = {
        let c = server.config.read();
        (c.min_replicas_to_write, c.min_replicas_max_lag)
    };
    let m = &server.repl_master;
    let now = crate::util::now_ms();
    let good = m
        .replicas
        .lock()
        .iter()
        .filter(|r| {
            r.state.load(Ordering::Acquire) == STATE_ONLINE
                && (now - r.ack_time_ms.load(Ordering::Relaxed)) / 1000 <= max_lag as i64
        })
        .count();
    m.good.store(good, Ordering::Relaxed);
    let refuse = to_write > 0 && max_lag > 0 && (good as u64) < to_write;
    m.refuse_writes.store(refuse, Ordering::Relaxed);
}

/// The `-NOREPLICAS` check for a write command (dispatch).
#[inline]
pub fn check_min_replicas(server: &Server, client: &Client) -> Result<(), CommandError> {
    if server.repl_master.refuse_writes.load(Ordering::Relaxed)
        && !client.is_master
        && !server.is_replica()
    {
        return Err(CommandError::new(
            "NOREPLICAS Not enough good replicas to write.",
        ));
    }
    Ok(())
}

/// INFO replication, master part: `connected_slaves`, `min_slaves_good_slaves` and one
/// `slave<i>` line per link.
pub fn info_lines(server: &Server, out: &mut String) {
    use std::fmt::Write as _;
    let (to_write, max_lag) = {
        let c = server.config.read();
        (c.min_replicas_to_write, c.min_replicas_max_lag)
    };
    let reps = server.repl_master.replicas.lock().clone();
    let _ = write!(out, "connected_slaves:{}\r\n", reps.len());
    if to_write > 0 && max_lag > 0 {
        let _ = write!(
            out,
            "min_slaves_good_slaves:{}\r\n",
            server.repl_master.good_replicas()
        );
    }
    let now = crate::util::now_ms();
    for (i, r) in reps.iter().enumerate() {
        let state = r.state.load(Ordering::Acquire);
        let name = match state {
            STATE_WAIT_BGSAVE => "wait_bgsave",
            STATE_SEND_BULK => "send_bulk",
            _ => "online",
        };
        let lag = if state == STATE_ONLINE {
            (now - r.ack_time_ms.load(Ordering::Relaxed)).max(0) / 1000
        } else {
            0
        };
        let _ = write!(
            out,
            "slave{i}:ip={},port={},state={name},offset={},lag={lag}\r\n",
            r.ip,
            r.port,
            r.ack_off.load(Ordering::Acquire),
        );
    }
}

/// ROLE on a master: `["master", offset, [[ip, port, ackoff], ...]]` (online links only).
pub fn role_reply(server: &Server) -> Frame {
    let reps: Vec<Frame> = server
        .repl_master
        .replicas
        .lock()
        .iter()
        .filter(|r| r.state.load(Ordering::Acquire) == STATE_ONLINE)
        .map(|r| {
            Frame::Array(vec![
                Frame::Bulk(Bytes::from(r.ip.clone())),
                Frame::Bulk(Bytes::from(r.port.to_string())),
                Frame::Bulk(Bytes::from(r.ack_off.load(Ordering::Acquire).to_string())),
            ])
        })
        .collect();
    Frame::Array(vec![
        Frame::bulk(b"master"),
        Frame::Integer(server.log.offset() as i64),
        Frame::Array(reps),
    ])
}

/// Background duties at 1 Hz: good-replica count, keepalive pings every
/// `repl-ping-replica-period` when this node is a master with replicas.
pub async fn cron(server: Arc<Server>) {
    let mut shutdown = server.shutdown.subscribe();
    let mut last_ping = Instant::now();
    // Since when this node is a master without replicas (repl-backlog-ttl), and whether
    // its backlog was freed since (ferrodis keeps logging writes without a backlog, so the
    // log fills again; it is freed once per lonely period, not every second).
    let mut alone_since = Instant::now();
    let mut freed = false;
    loop {
        refresh_good_replicas(&server);
        if server.is_replica() || server.repl_master.count() > 0 {
            alone_since = Instant::now();
            freed = false;
        } else if !freed {
            freed = expire_backlog(&server, alone_since);
        }
        let period = server.config.read().repl_ping_replica_period.max(1);
        if last_ping.elapsed() >= Duration::from_secs(period) {
            last_ping = Instant::now();
            if !server.is_replica()
                && server.repl_master.count() > 0
                && !crate::replication::admin::suppress_ping(&server)
            {
                server.repl_master.append_internal(&server, PING);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// `repl-backlog-ttl`: a master that has had no replica for longer than that frees its
/// backlog, and takes a new replid and no replid2 (Redis: its offset no longer moves
/// without a backlog, so the old id must never be continued). A replica that comes back
/// then needs a full sync.
/// True once freed.
fn expire_backlog(server: &Server, alone_since: Instant) -> bool {
    let ttl = server.config.read().repl_backlog_ttl;
    if ttl == 0 || alone_since.elapsed() <= Duration::from_secs(ttl) {
        return false;
    }
    if !server.log.lock().active() || !server.log.free_backlog() {
        return false;
    }
    server.change_replid();
    tracing::info!("Replication backlog freed after {ttl} seconds without connected replicas.");
    true
}

// ---------------------------------------------------------------------------------------
// Commands

fn repl_state(client: &mut Client) -> &mut ClientRepl {
    client.repl.get_or_insert_with(Default::default)
}

/// Marks the command as answered later (or never) by the connection task: dispatch sends
/// nothing while `client.block` is set, and [`after_command`] clears it.
fn defer(ctx: &mut Ctx, action: Action) -> CmdResult {
    repl_state(ctx.client).action = Some(action);
    ctx.client.block = Some(crate::blocking::BlockRequest {
        deadline: 0,
        timeout_reply: Frame::Null,
    });
    Ok(Frame::Null)
}

/// `REPLCONF <option> <value> [<option> <value> ...]`
fn replconf(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(err::SYNTAX);
    }
    let mut i = 1;
    while i + 1 < args.len() {
        let (opt, val) = (&args[i], &args[i + 1]);
        if is_kw(opt, "listening-port") {
            let port = crate::util::parse_i64(val).ok_or(err::NOT_INT)?;
            repl_state(ctx.client).listening_port = port.clamp(0, 65535) as u16;
        } else if is_kw(opt, "ip-address") {
            if val.len() >= 46 {
                return Err(CommandError::msg(format!(
                    "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    val.len()
                )));
            }
            repl_state(ctx.client).ip = Some(String::from_utf8_lossy(val).into_owned());
        } else if is_kw(opt, "capa") {
            if is_kw(val, "eof") {
                repl_state(ctx.client).capa_eof = true;
            } else if is_kw(val, "psync2") {
                repl_state(ctx.client).capa_psync2 = true;
            }
        } else if is_kw(opt, "ack") || is_kw(opt, "getack") {
            // An ACK from a client that is not (yet) a replica, or a GETACK sent to a
            // master: no reply, nothing to do. From our own master's stream (or inside
            // EXEC) nothing is deferred: the replica side answers GETACK itself (see
            // `is_getack`) and discards replies.
            if ctx.client.is_master || ctx.client.in_exec {
                return Ok(Frame::Null);
            }
            return defer(ctx, Action::NoReply);
        } else if is_kw(opt, "rdb-only") {
            let v = crate::util::parse_i64(val).ok_or(err::NOT_INT)?;
            if v != 0 && v != 1 {
                return Err(err::NOT_INT);
            }
            repl_state(ctx.client).rdb_only = v == 1;
        } else if is_kw(opt, "rdb-filter-only") {
            repl_state(ctx.client).rdb_filter = Some(val.clone());
        } else {
            return Err(CommandError::msg(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            )));
        }
        i += 2;
    }
    Ok(Frame::ok())
}

/// True for `REPLCONF GETACK ...` (the replica side answers it with `REPLCONF ACK <off>`).
pub fn is_getack(args: &[Bytes]) -> bool {
    args.len() >= 2 && is_kw(&args[0], "replconf") && is_kw(&args[1], "getack")
}

/// `PSYNC replid offset` and legacy `SYNC`.
fn psync(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    crate::replication::admin::before_psync(ctx, args)?;
    let server = ctx.server;
    if server.is_replica() && !server.master_link_up.load(Ordering::Acquire) {
        return Err(CommandError::new(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    let legacy = is_kw(&args[0], "sync");
    if legacy {
        tracing::info!(
            "Replica {} asks for synchronization",
            replica_name(ctx.client)
        );
        return defer(ctx, Action::Full { legacy: true });
    }
    let off = crate::util::parse_i64(&args[2]).ok_or(err::NOT_INT)?;
    let id = String::from_utf8_lossy(&args[1]).into_owned();
    tracing::info!(
        "Replica {} asks for synchronization",
        replica_name(ctx.client)
    );
    let (replid, replid2, second) = server.replids.lock().clone();
    let id_ok = id == replid || (id == replid2 && off <= second);
    if id_ok && off >= 1 && server.log.pin(ctx.client.id, (off - 1) as u64) {
        server
            .repl_master
            .sync_partial_ok
            .fetch_add(1, Ordering::Relaxed);
        let psync2 = repl_state(ctx.client).capa_psync2;
        tracing::info!(
            "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
            replica_name(ctx.client),
            server.log.offset().saturating_sub((off - 1) as u64),
            off
        );
        return defer(
            ctx,
            Action::Continue {
                from: (off - 1) as u64,
                replid: psync2.then_some(replid),
            },
        );
    }
    if id != "?" {
        server
            .repl_master
            .sync_partial_err
            .fetch_add(1, Ordering::Relaxed);
        if !id_ok {
            tracing::info!(
                "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{id}', my replication IDs are '{replid}' and '{replid2}')"
            );
        } else {
            tracing::info!(
                "Unable to partial resync with replica {} for lack of backlog (Replica request was: {off}).",
                replica_name(ctx.client)
            );
        }
    } else {
        tracing::info!(
            "Full resync requested by replica {}",
            replica_name(ctx.client)
        );
    }
    defer(ctx, Action::Full { legacy: false })
}

/// `WAIT numreplicas timeout`
fn wait(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    if server.is_replica() {
        return Err(CommandError::new("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let num = crate::util::parse_i64(&args[1]).ok_or(err::NOT_INT)?;
    let timeout = crate::util::parse_i64(&args[2]).ok_or(CommandError::new(
        "ERR timeout is not an integer or out of range",
    ))?;
    if timeout < 0 {
        return Err(CommandError::new("ERR timeout is negative"));
    }
    // As Redis: the offset just after this client's own last write (0 if it never wrote),
    // not the log's end, which may hold other clients' later writes and keepalive pings.
    let offset = ctx.client.woff;
    let acked = server.repl_master.online_acked(offset);
    if ctx.client.multi.is_some() || ctx.client.in_exec || acked as i64 >= num {
        return Ok(Frame::Integer(acked as i64));
    }
    let deadline = if timeout == 0 {
        0
    } else {
        crate::util::now_ms().saturating_add(timeout)
    };
    defer(
        ctx,
        Action::Wait {
            num: num.max(0) as usize,
            offset,
            deadline,
        },
    )
}

fn replica_name(client: &Client) -> String {
    let port = client.repl.as_ref().map(|r| r.listening_port).unwrap_or(0);
    let ip = client
        .handle
        .addr
        .rsplit_once(':')
        .map(|(ip, _)| ip.to_string())
        .unwrap_or_default();
    format!("{ip}:{port}")
}

// ---------------------------------------------------------------------------------------
// The connection task's side

/// Called by the connection loop after a command left an [`Action`]. Returns false when the
/// connection must close (it became a replica link and that link ended).
pub async fn after_command(
    server: &Arc<Server>,
    client: &mut Client,
    sock: &mut TcpStream,
    rbuf: &mut BytesMut,
    wbuf: &mut BytesMut,
) -> bool {
    client.block = None;
    let Some(action) = client.repl.as_mut().and_then(|r| r.action.take()) else {
        return true;
    };
    match action {
        Action::NoReply => true,
        Action::Wait {
            num,
            offset,
            deadline,
        } => {
            if !wbuf.is_empty() {
                if sock.write_all(wbuf).await.is_err() {
                    return false;
                }
                wbuf.clear();
            }
            match wait_acks(server, client, sock, rbuf, num, offset, deadline).await {
                Some(n) => {
                    crate::dispatch::encode_reply(client, Ok(Frame::Integer(n as i64)), wbuf);
                    true
                }
                None => false,
            }
        }
        Action::Full { .. } | Action::Continue { .. } => {
            if !wbuf.is_empty() {
                if sock.write_all(wbuf).await.is_err() {
                    server.log.unpin(client.id);
                    return false;
                }
                wbuf.clear();
            }
            let rest = std::mem::take(rbuf);
            serve_replica(server, client, sock, rest, action).await;
            false
        }
    }
}

/// WAIT's blocking part: the number of replicas that acknowledged `offset`, or None when
/// the client went away.
async fn wait_acks(
    server: &Arc<Server>,
    client: &mut Client,
    sock: &mut TcpStream,
    rbuf: &mut BytesMut,
    num: usize,
    offset: u64,
    deadline: i64,
) -> Option<usize> {
    let m = &server.repl_master;
    // While SHUTDOWN/FAILOVER hold writes no GETACK is sent (it would move the offset they
    // wait for), as Redis; the replicas' once-a-second ACKs still arrive.
    if !server.admin.writes_paused() {
        m.append_internal(server, GETACK);
    }
    let handle = client.handle.clone();
    crate::client::set_flag(&handle, 'b', true);
    let mut shutdown = server.shutdown.subscribe();
    let result = loop {
        let notified = m.acks.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let n = m.online_acked(offset);
        if n >= num {
            break Some(n);
        }
        let left = if deadline == 0 {
            Duration::from_secs(3600)
        } else {
            let ms = deadline - crate::util::now_ms();
            if ms <= 0 {
                break Some(n);
            }
            Duration::from_millis(ms as u64)
        };
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(left.min(Duration::from_secs(1))) => {}
            r = sock.read_buf(rbuf) => match r {
                Ok(0) | Err(_) => break None,
                Ok(_) => {}
            },
            _ = handle.kill_notify.notified() => break None,
            _ = shutdown.changed() => break None,
        }
        if handle.killed.load(Ordering::Acquire) {
            break None;
        }
    };
    crate::client::set_flag(&handle, 'b', false);
    result
}

/// Drops every replica link now: our replication history changed (promotion, a full sync
/// from a new master, a new replid from ours), so sub-replicas must PSYNC again.
pub fn drop_replica_links(server: &Server) {
    server.replica_epoch.fetch_add(1, Ordering::AcqRel);
    for r in server.repl_master.replicas.lock().iter() {
        r.handle.kill_notify.notify_waiters();
    }
}

/// Removes the link from the registry and the log when it ends, however it ends.
struct LinkGuard<'a> {
    server: &'a Server,
    info: Arc<ReplicaInfo>,
}

impl Drop for LinkGuard<'_> {
    fn drop(&mut self) {
        let m = &self.server.repl_master;
        m.repl_output_bytes.fetch_add(
            self.info.out_bytes.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        m.replicas.lock().retain(|r| r.id != self.info.id);
        m.queue.lock().waiting.retain(|w| w.id != self.info.id);
        self.server.log.unpin(self.info.id);
        refresh_good_replicas(self.server);
        m.acks.notify_waiters();
    }
}

/// Why a link ended (logged).
enum End {
    Closed,
    Quiet,
    Error(String),
    Reply(Bytes),
}

/// Serves one replica link until it ends.
async fn serve_replica(
    server: &Arc<Server>,
    client: &mut Client,
    sock: &mut TcpStream,
    rbuf: BytesMut,
    action: Action,
) {
    let repl = client.repl.take().unwrap_or_default();
    let peer_ip = client
        .handle
        .addr
        .rsplit_once(':')
        .map(|(ip, _)| ip.to_string())
        .unwrap_or_default();
    let legacy = matches!(action, Action::Full { legacy: true });
    let now = crate::util::now_ms();
    let info = Arc::new(ReplicaInfo {
        id: client.id,
        ip: repl.ip.clone().unwrap_or(peer_ip),
        port: repl.listening_port,
        state: AtomicU8::new(STATE_WAIT_BGSAVE),
        ack_off: AtomicU64::new(0),
        ack_time_ms: AtomicI64::new(now),
        last_write_ms: AtomicI64::new(now),
        legacy,
        diskless: AtomicBool::new(false),
        streaming: AtomicBool::new(false),
        sent_off: AtomicU64::new(0),
        out_bytes: AtomicU64::new(0),
        acked: AtomicBool::new(false),
        first_ack: Notify::new(),
        handle: client.handle.clone(),
    });
    crate::client::set_flag(&client.handle, 'S', true);
    {
        let hard = server.config.read().client_output_buffer_limit.replica.hard;
        server.log.set_pin_limit(hard as usize);
    }
    server.repl_master.replicas.lock().push(info.clone());
    let _guard = LinkGuard {
        server,
        info: info.clone(),
    };
    let epoch = server.replica_epoch.load(Ordering::Acquire);
    let name = format!("{}:{}", info.ip, info.port);
    let (mut rd, mut wr) = sock.split();
    let end = tokio::select! {
        e = link_reader(server, &info, &mut rd, rbuf) => e,
        e = link_writer(server, &info, &mut wr, action, &repl, epoch) => e,
        e = link_watchdog(server, &info, epoch) => e,
    };
    match end {
        End::Closed => tracing::info!("Connection with replica {name} lost."),
        End::Quiet => {}
        End::Error(msg) => tracing::warn!("{msg}"),
        End::Reply(bytes) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), sock.write_all(&bytes)).await;
        }
    }
    let _ = sock.shutdown().await;
}

/// Reads what the replica sends: `REPLCONF ACK <off>` and `\n` keepalives.
async fn link_reader(
    server: &Server,
    info: &ReplicaInfo,
    rd: &mut tokio::net::tcp::ReadHalf<'_>,
    mut rbuf: BytesMut,
) -> End {
    let mut parser = RequestParser::new();
    let mut args: Vec<Bytes> = Vec::new();
    let limits = Limits::default();
    loop {
        loop {
            match parser.parse_into(&mut rbuf, &limits, &mut args) {
                Ok(true) => {
                    info.ack_time_ms
                        .store(crate::util::now_ms(), Ordering::Relaxed);
                    if args.is_empty() {
                        continue;
                    }
                    if let Some(end) = replica_command(server, info, &args) {
                        return end;
                    }
                }
                Ok(false) => break,
                Err(e) => {
                    return End::Error(format!(
                        "Protocol error ({e}) from replica {}",
                        info.handle.addr
                    ))
                }
            }
        }
        args.clear();
        if rbuf.capacity() - rbuf.len() < 1024 {
            rbuf.reserve(4096);
        }
        match rd.read_buf(&mut rbuf).await {
            Ok(0) | Err(_) => return End::Closed,
            Ok(n) => {
                // A bare newline from a loading replica refreshes its liveness too.
                if n > 0 {
                    info.ack_time_ms
                        .store(crate::util::now_ms(), Ordering::Relaxed);
                }
            }
        }
    }
}

/// A command from a replica link. `None` keeps the link.
fn replica_command(server: &Server, info: &ReplicaInfo, args: &[Bytes]) -> Option<End> {
    if is_kw(&args[0], "replconf") {
        if args.len() >= 3 && is_kw(&args[1], "ack") {
            if let Some(off) = crate::util::parse_i64(&args[2]) {
                let off = off.max(0) as u64;
                info.ack_off.fetch_max(off, Ordering::AcqRel);
                info.ack_time_ms
                    .store(crate::util::now_ms(), Ordering::Relaxed);
                if !info.acked.swap(true, Ordering::AcqRel) {
                    info.first_ack.notify_one();
                }
                server.repl_master.acks.notify_waiters();
            }
        }
        return None;
    }
    let cmd = crate::dispatch::lookup(&args[0]);
    let name = cmd
        .map(|c| c.name.to_string())
        .unwrap_or_else(|| String::from_utf8_lossy(&args[0]).to_lowercase());
    if cmd.is_some_and(|c| c.flags & (WRITE | READONLY) != 0) {
        tracing::warn!(
            "Replica generated a reply to command '{name}', disconnecting it: {}",
            info.handle.addr
        );
        return Some(End::Reply(Bytes::from_static(
            b"-ERR Replica can't interact with the keyspace\r\n",
        )));
    }
    if name == "ping" {
        return None;
    }
    Some(End::Error(format!(
        "Replica generated a reply to command '{name}', disconnecting it: {}",
        info.handle.addr
    )))
}

/// CLIENT KILL, a replica-epoch bump (our own upstream changed), shutdown and timeouts.
async fn link_watchdog(server: &Server, info: &ReplicaInfo, epoch: u64) -> End {
    let mut shutdown = server.shutdown.subscribe();
    let mut soft_since: Option<Instant> = None;
    let overflow = || {
        End::Error(format!(
            "Client id={} addr={} flags=S scheduled to be closed ASAP for overcoming of output buffer limits.",
            info.id, info.handle.addr
        ))
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = info.handle.kill_notify.notified() => return End::Quiet,
            _ = shutdown.changed() => return End::Quiet,
        }
        if info.handle.killed.load(Ordering::Acquire) || *shutdown.borrow() {
            return End::Quiet;
        }
        if server.replica_epoch.load(Ordering::Acquire) != epoch {
            return End::Quiet;
        }
        // Output-buffer limits: the hard one drops the log pin (see `ReplLog::pin`); the
        // soft one is `soft` bytes of lag for `soft_seconds`.
        if server.log.pin_dropped(info.id) {
            return overflow();
        }
        let (timeout_ms, lim) = {
            let c = server.config.read();
            (
                c.repl_timeout.max(1) as i64 * 1000,
                c.client_output_buffer_limit.replica,
            )
        };
        if info.streaming.load(Ordering::Acquire) {
            let lag = server
                .log
                .offset()
                .saturating_sub(info.sent_off.load(Ordering::Acquire));
            if lim.soft > 0 && lag > lim.soft {
                let since = *soft_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_secs(lim.soft_seconds) {
                    return overflow();
                }
            } else {
                soft_since = None;
            }
        }
        let now = crate::util::now_ms();
        let state = info.state.load(Ordering::Acquire);
        let streaming = state == STATE_ONLINE && !info.legacy;
        if streaming && now - info.ack_time_ms.load(Ordering::Relaxed) > timeout_ms {
            return End::Error(format!(
                "Disconnecting timedout replica (streaming sync): {}:{}",
                info.ip, info.port
            ));
        }
        let diskless = info.diskless.load(Ordering::Acquire);
        if diskless && now - info.last_write_ms.load(Ordering::Relaxed) > timeout_ms {
            return End::Error(format!(
                "Disconnecting timedout replica (full sync): {}:{}",
                info.ip, info.port
            ));
        }
    }
}

async fn write(wr: &mut tokio::net::tcp::WriteHalf<'_>, info: &ReplicaInfo, b: &[u8]) -> bool {
    if wr.write_all(b).await.is_err() {
        return false;
    }
    info.out_bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
    info.last_write_ms
        .store(crate::util::now_ms(), Ordering::Relaxed);
    true
}

/// Sends the sync payload (if any) and then the log.
async fn link_writer(
    server: &Arc<Server>,
    info: &ReplicaInfo,
    wr: &mut tokio::net::tcp::WriteHalf<'_>,
    action: Action,
    repl: &ClientRepl,
    epoch: u64,
) -> End {
    let from = match action {
        Action::Continue { from, replid } => {
            let line = match replid {
                Some(id) => format!("+CONTINUE {id}\r\n"),
                None => "+CONTINUE\r\n".to_string(),
            };
            if !write(wr, info, line.as_bytes()).await {
                return End::Closed;
            }
            from
        }
        Action::Full { legacy } => match full_sync(server, info, wr, legacy, repl).await {
            Ok(Some(from)) => from,
            Ok(None) => return End::Quiet,
            Err(e) => return e,
        },
        _ => return End::Quiet,
    };
    info.state.store(STATE_ONLINE, Ordering::Release);
    info.ack_time_ms
        .store(crate::util::now_ms(), Ordering::Relaxed);
    refresh_good_replicas(server);
    stream_log(server, info, wr, from, epoch).await
}

/// Full resynchronization. `Ok(Some(offset))`: stream from there; `Ok(None)`: done (rdb-only).
async fn full_sync(
    server: &Arc<Server>,
    info: &ReplicaInfo,
    wr: &mut tokio::net::tcp::WriteHalf<'_>,
    legacy: bool,
    repl: &ClientRepl,
) -> Result<Option<u64>, End> {
    let eof = repl.capa_eof && !legacy;
    if repl.rdb_filter.is_some() {
        return filtered_sync(server, info, wr, legacy, eof, repl).await;
    }
    let (tx, mut rx) = oneshot::channel();
    {
        let mut q = server.repl_master.queue.lock();
        q.waiting.push(Waiting {
            id: info.id,
            eof,
            since: Instant::now(),
            tx,
        });
    }
    ensure_coordinator(server);
    server.repl_master.kick.notify_one();
    // Keepalive newlines while waiting for a snapshot to start.
    let assignment = loop {
        tokio::select! {
            a = &mut rx => match a {
                Ok(a) => break a,
                Err(_) => return Err(End::Error(format!(
                    "Can't start a snapshot for replica {}:{}", info.ip, info.port))),
            },
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                if !write(wr, info, b"\n").await {
                    return Err(End::Closed);
                }
            }
        }
    };
    server.repl_master.sync_full.fetch_add(1, Ordering::Relaxed);
    match assignment {
        Assignment::Disk(job) => {
            if !legacy {
                let line = format!("+FULLRESYNC {} {}\r\n", job.replid, job.offset);
                if !write(wr, info, line.as_bytes()).await {
                    return Err(End::Closed);
                }
            }
            let mut done = job.done.subscribe();
            let file = loop {
                let state = done.borrow_and_update().clone();
                match state {
                    JobState::Done(f) => break f,
                    JobState::Failed => {
                        return Err(End::Error(
                            "Snapshot for replication failed, closing the replica link".into(),
                        ))
                    }
                    JobState::Running => {}
                }
                tokio::select! {
                    r = done.changed() => if r.is_err() {
                        return Err(End::Error("Snapshot for replication ended".into()));
                    },
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {
                        if !write(wr, info, b"\n").await {
                            return Err(End::Closed);
                        }
                    }
                }
            };
            info.state.store(STATE_SEND_BULK, Ordering::Release);
            info.last_write_ms
                .store(crate::util::now_ms(), Ordering::Relaxed);
            let head = format!("${}\r\n", file.len);
            if !write(wr, info, head.as_bytes()).await {
                return Err(End::Closed);
            }
            let mut pos = 0u64;
            while pos < file.len {
                let f = file.clone();
                let at = pos;
                let chunk = tokio::task::spawn_blocking(move || read_chunk(&f, at)).await;
                let chunk = match chunk {
                    Ok(Ok(c)) if !c.is_empty() => c,
                    _ => return Err(End::Error("Reading the replication RDB file failed".into())),
                };
                if !write(wr, info, &chunk).await {
                    return Err(End::Closed);
                }
                pos += chunk.len() as u64;
            }
            drop(file);
            tracing::info!(
                "Synchronization with replica {}:{} succeeded",
                info.ip,
                info.port
            );
            if repl.rdb_only {
                return Ok(None);
            }
            Ok(Some(job.offset))
        }
        Assignment::Diskless {
            offset,
            replid,
            mark,
            mut rx,
        } => {
            // Redis shows a diskless replica as `wait_bgsave` while the RDB streams.
            info.diskless.store(true, Ordering::Release);
            let head = format!("+FULLRESYNC {replid} {offset}\r\n$EOF:{mark}\r\n");
            if !write(wr, info, head.as_bytes()).await {
                return Err(End::Closed);
            }
            loop {
                match rx.recv().await {
                    Some(c) if c.is_empty() => break,
                    Some(c) => {
                        if !write(wr, info, &c).await {
                            return Err(End::Closed);
                        }
                    }
                    None => {
                        return Err(End::Error(
                            "Diskless snapshot for replication failed, closing the replica link"
                                .into(),
                        ))
                    }
                }
            }
            if !write(wr, info, mark.as_bytes()).await {
                return Err(End::Closed);
            }
            tracing::info!(
                "Streamed RDB transfer with replica {}:{} succeeded (socket). Waiting for REPLCONF ACK from replica to enable streaming",
                info.ip,
                info.port
            );
            if repl.rdb_only {
                return Ok(None);
            }
            // No stream bytes until the first ACK: the replica finds the end of the RDB by
            // the mark being the last bytes read.
            info.diskless.store(false, Ordering::Release);
            info.ack_time_ms
                .store(crate::util::now_ms(), Ordering::Relaxed);
            info.state.store(STATE_ONLINE, Ordering::Release);
            while !info.acked.load(Ordering::Acquire) {
                let n = info.first_ack.notified();
                tokio::pin!(n);
                n.as_mut().enable();
                if info.acked.load(Ordering::Acquire) {
                    break;
                }
                n.await;
            }
            tracing::info!(
                "Synchronization with replica {}:{} succeeded",
                info.ip,
                info.port
            );
            Ok(Some(offset))
        }
    }
}

/// `REPLCONF rdb-filter-only`: the only filter Redis 7.0 knows is `functions`, and ferrodis
/// has no functions, so the replica gets an RDB without keys (plus the stream, unless
/// `rdb-only`), built on the spot at the current offset.
async fn filtered_sync(
    server: &Arc<Server>,
    info: &ReplicaInfo,
    wr: &mut tokio::net::tcp::WriteHalf<'_>,
    legacy: bool,
    eof: bool,
    repl: &ClientRepl,
) -> Result<Option<u64>, End> {
    let (offset, replid) = loop {
        let replid = server.replids.lock().0.clone();
        // The RDB says the stream starts in db 0: make the next command carry a SELECT.
        let off = server.log.force_select_offset();
        if server.log.pin(info.id, off) {
            break (off, replid);
        }
    };
    server.repl_master.sync_full.fetch_add(1, Ordering::Relaxed);
    let rdb = (|| {
        let mut w = ferrodis_rdb::Writer::new(Vec::new(), write_options(server))?;
        crate::persistence::snapshot::write_aux(
            &mut w,
            &replid,
            offset,
            crate::replication::replica::stream_db(server),
        )?;
        w.finish()
    })()
    .map_err(|e| End::Error(format!("Building the filtered RDB failed: {e}")))?;
    let mut out = Vec::with_capacity(rdb.len() + 160);
    if !legacy {
        out.extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
    }
    let mark = crate::random_hex40();
    if eof {
        out.extend_from_slice(format!("$EOF:{mark}\r\n").as_bytes());
        out.extend_from_slice(&rdb);
        out.extend_from_slice(mark.as_bytes());
    } else {
        out.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
        out.extend_from_slice(&rdb);
    }
    info.state.store(STATE_SEND_BULK, Ordering::Release);
    if !write(wr, info, &out).await {
        return Err(End::Closed);
    }
    if repl.rdb_only {
        return Ok(None);
    }
    if eof {
        info.ack_time_ms
            .store(crate::util::now_ms(), Ordering::Relaxed);
        info.state.store(STATE_ONLINE, Ordering::Release);
        while !info.acked.load(Ordering::Acquire) {
            let n = info.first_ack.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if info.acked.load(Ordering::Acquire) {
                break;
            }
            n.await;
        }
    }
    Ok(Some(offset))
}

#[cfg(unix)]
fn read_chunk(f: &TempRdb, at: u64) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let n = (f.len - at).min(1 << 20) as usize;
    let mut v = vec![0u8; n];
    f.file.read_exact_at(&mut v, at)?;
    Ok(v)
}

#[cfg(not(unix))]
fn read_chunk(f: &TempRdb, at: u64) -> io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(&f.path)?;
    file.seek(SeekFrom::Start(at))?;
    let n = (f.len - at).min(1 << 20) as usize;
    let mut v = vec![0u8; n];
    file.read_exact(&mut v)?;
    Ok(v)
}

/// Feeds the log from `from` on, forever (until the socket or the log drops us).
async fn stream_log(
    server: &Server,
    info: &ReplicaInfo,
    wr: &mut tokio::net::tcp::WriteHalf<'_>,
    from: u64,
    epoch: u64,
) -> End {
    struct Reader<'a>(&'a Server);
    impl Drop for Reader<'_> {
        fn drop(&mut self) {
            self.0.log.readers.fetch_sub(1, Ordering::Relaxed);
        }
    }
    server.log.readers.fetch_add(1, Ordering::Relaxed);
    let _reader = Reader(server);
    let mut sent = from;
    let mut buf = Vec::with_capacity(FEED_CHUNK);
    info.sent_off.store(sent, Ordering::Release);
    info.streaming.store(true, Ordering::Release);
    loop {
        let notified = server.log.appended.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !server.log.pin(info.id, sent) {
            return End::Error(format!(
                "Client id={} addr={} flags=S scheduled to be closed ASAP for overcoming of output buffer limits.",
                info.id, info.handle.addr
            ));
        }
        {
            let inner = server.log.lock();
            if !inner.read_into(sent, FEED_CHUNK, &mut buf) {
                return End::Error(format!(
                    "Replica {}:{} fell out of the replication log",
                    info.ip, info.port
                ));
            }
        }
        // Bytes read after an epoch bump may belong to a new history (REPLICAOF NO ONE, a
        // full sync from a new master): they must not reach a link of the old one. The bump
        // happens before any such append, so checking after the read is enough.
        if server.replica_epoch.load(Ordering::Acquire) != epoch {
            return End::Quiet;
        }
        if !buf.is_empty() {
            if !write(wr, info, &buf).await {
                return End::Closed;
            }
            sent += buf.len() as u64;
            info.sent_off.store(sent, Ordering::Release);
            if buf.capacity() > 4 * FEED_CHUNK {
                buf = Vec::with_capacity(FEED_CHUNK);
            }
            continue;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Snapshot coordination

fn ensure_coordinator(server: &Arc<Server>) {
    if server.repl_master.coordinator.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(coordinator(server.clone()));
}

/// Starts one snapshot for every replica waiting, honouring `repl-diskless-sync-delay` and
/// `-max-replicas`, and attaches late replicas to a running disk snapshot.
async fn coordinator(server: Arc<Server>) {
    let mut shutdown = server.shutdown.subscribe();
    let m = &server.repl_master;
    loop {
        tokio::select! {
            _ = m.kick.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = shutdown.changed() => return,
        }
        let (diskless, delay, max_replicas) = {
            let c = server.config.read();
            (
                c.repl_diskless_sync,
                c.repl_diskless_sync_delay,
                c.repl_diskless_sync_max_replicas,
            )
        };
        let mut q = m.queue.lock();
        q.waiting.retain(|w| !w.tx.is_closed());
        if let Some(job) = q.disk_job.clone() {
            // Attach to the running disk snapshot when the log still holds its offset.
            let mut i = 0;
            while i < q.waiting.len() {
                if server.log.pin(q.waiting[i].id, job.offset) {
                    let w = q.waiting.swap_remove(i);
                    tracing::info!("Waiting for end of BGSAVE for SYNC");
                    if w.tx.send(Assignment::Disk(job.clone())).is_err() {
                        server.log.unpin(w.id);
                    }
                } else {
                    i += 1;
                }
            }
        }
        if q.running || q.waiting.is_empty() {
            continue;
        }
        let disk = !diskless || q.waiting.iter().any(|w| !w.eof);
        if !disk && delay > 0 {
            let oldest = q.waiting.iter().map(|w| w.since).min();
            let waited = oldest.map(|t| t.elapsed()).unwrap_or_default();
            let enough = max_replicas > 0 && q.waiting.len() as u64 >= max_replicas;
            if waited < Duration::from_secs(delay) && !enough {
                continue;
            }
        }
        let batch = std::mem::take(&mut q.waiting);
        q.running = true;
        drop(q);
        // Keep the log from here on for every replica of the batch (the snapshot's offset
        // will be at or after this).
        let now_off = server.log.offset();
        for w in &batch {
            server.log.pin(w.id, now_off);
        }
        let seq = m.job_seq.fetch_add(1, Ordering::Relaxed);
        let ids: Vec<u64> = batch.iter().map(|w| w.id).collect();
        let s = server.clone();
        let spawned = std::thread::Builder::new()
            .name("repl-snapshot".into())
            .spawn(move || {
                if disk {
                    disk_job(&s, batch, seq);
                } else {
                    diskless_job(&s, batch);
                }
                let mut q = s.repl_master.queue.lock();
                q.running = false;
                q.disk_job = None;
                drop(q);
                // Links that went away before their pin could be handed over.
                let live = s.repl_master.replicas.lock().clone();
                for id in ids {
                    if !live.iter().any(|r| r.id == id) {
                        s.log.unpin(id);
                    }
                }
                s.repl_master.kick.notify_one();
            });
        if let Err(e) = spawned {
            tracing::warn!("Can't start the replication snapshot thread: {e}");
            m.queue.lock().running = false;
        }
    }
}

fn write_options(server: &Server) -> ferrodis_rdb::WriteOptions {
    let c = server.config.read();
    ferrodis_rdb::WriteOptions {
        compress: c.rdbcompression,
        checksum: c.rdbchecksum,
    }
}

/// A disk-target snapshot: the RDB goes to a temporary file in `dir`.
fn disk_job(server: &Arc<Server>, batch: Vec<Waiting>, seq: u64) {
    tracing::info!(
        "Starting BGSAVE for SYNC with target: disk ({} replicas)",
        batch.len()
    );
    let dir = server.config.read().dir.clone();
    let path = dir.join(format!("temp-repl-{}-{seq}.rdb", std::process::id()));
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path);
    let file = match opened {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("BGSAVE for replication failed: {e}");
            return;
        }
    };
    let mut job_slot: Option<Arc<DiskJob>> = None;
    let opts = write_options(server);
    let res = crate::persistence::snapshot::snapshot_to_at(
        server,
        io::BufWriter::with_capacity(256 * 1024, &file),
        opts,
        |offset, replid| {
            let (done, _) = watch::channel(JobState::Running);
            let job = Arc::new(DiskJob {
                offset,
                replid: replid.to_string(),
                done,
            });
            for w in batch {
                server.log.pin(w.id, offset);
                if w.tx.send(Assignment::Disk(job.clone())).is_err() {
                    server.log.unpin(w.id);
                }
            }
            server.repl_master.queue.lock().disk_job = Some(job.clone());
            server.repl_master.kick.notify_one();
            job_slot = Some(job);
        },
    );
    let len = file.metadata().map(|m| m.len());
    let Some(job) = job_slot else {
        let _ = std::fs::remove_file(&path);
        tracing::warn!("BGSAVE for replication failed before it started");
        return;
    };
    server.repl_master.queue.lock().disk_job = None;
    match (res, len) {
        (Ok(_), Ok(len)) => {
            tracing::info!("Background RDB transfer terminated with success");
            let rdb = Arc::new(TempRdb { path, file, len });
            job.done.send_replace(JobState::Done(rdb));
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("BGSAVE for replication failed: {e}");
            job.done.send_replace(JobState::Failed);
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Fans RDB bytes out to the diskless links of one snapshot, `RDB_CHUNK` at a time. A link
/// that went away is dropped; with none left the snapshot stops.
struct Fanout {
    targets: Vec<mpsc::Sender<Bytes>>,
    buf: Vec<u8>,
}

impl Fanout {
    fn send(&mut self, chunk: Bytes) -> io::Result<()> {
        self.targets
            .retain(|t| t.blocking_send(chunk.clone()).is_ok());
        if self.targets.is_empty() {
            tracing::info!("Diskless rdb transfer, last replica dropped, killing fork child.");
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "every replica of the diskless transfer went away",
            ));
        }
        Ok(())
    }
}

impl Write for Fanout {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= RDB_CHUNK {
            let chunk = Bytes::from(std::mem::replace(
                &mut self.buf,
                Vec::with_capacity(RDB_CHUNK + 1024),
            ));
            self.send(chunk)?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = Bytes::from(std::mem::take(&mut self.buf));
            self.send(chunk)?;
        }
        Ok(())
    }
}

/// A diskless snapshot: the RDB goes straight to the links of `batch`.
fn diskless_job(server: &Arc<Server>, batch: Vec<Waiting>) {
    tracing::info!(
        "Starting BGSAVE for SYNC with target: replicas sockets ({} replicas)",
        batch.len()
    );
    let mark: Arc<str> = Arc::from(crate::random_hex40());
    let mut targets = Vec::new();
    let mut pending = Vec::new();
    for w in batch {
        let (tx, rx) = mpsc::channel(8);
        targets.push(tx);
        pending.push((w, rx));
    }
    let fan = Fanout {
        targets,
        buf: Vec::with_capacity(RDB_CHUNK + 1024),
    };
    let mut fan_slot = None;
    let opts = write_options(server);
    // The writer is moved into the snapshot; keep a way to send the end marker: the
    // snapshot returns only after flushing, so the final empty chunk is sent through a
    // clone of the senders taken before.
    let senders: Vec<mpsc::Sender<Bytes>> = fan.targets.clone();
    let res = crate::persistence::snapshot::snapshot_to_at(server, fan, opts, |offset, replid| {
        for (w, rx) in pending.drain(..) {
            server.log.pin(w.id, offset);
            let sent = w.tx.send(Assignment::Diskless {
                offset,
                replid: replid.to_string(),
                mark: mark.clone(),
                rx,
            });
            if sent.is_err() {
                server.log.unpin(w.id);
            }
        }
        fan_slot = Some(());
    });
    match res {
        Ok(_) => {
            for s in &senders {
                let _ = s.blocking_send(Bytes::new());
            }
            tracing::info!("Diskless rdb transfer, done reading from pipe");
        }
        Err(e) => {
            tracing::warn!("Diskless BGSAVE for replication failed: {e}");
        }
    }
    drop(senders);
    let _ = fan_slot;
}

// ---------------------------------------------------------------------------------------
// Hooks for `replication::admin` (SHUTDOWN waiting for replicas, FAILOVER, backlog TTL).

impl Master {
    /// A snapshot of the replica links (Redis's `server.slaves`), in registration order.
    pub fn links(&self) -> Vec<Arc<ReplicaInfo>> {
        self.replicas.lock().clone()
    }

    /// Appends a `REPLCONF GETACK *` so every replica reports its offset soon (SHUTDOWN's
    /// wait uses it; like a ping it does not count as data WAIT waits for).
    pub fn send_getack(&self, server: &Server) {
        self.append_internal(server, GETACK);
    }
}

/// The state name Redis's `replstateToString` gives a link (INFO, shutdown log lines).
pub fn state_name(state: u8) -> &'static str {
    match state {
        STATE_WAIT_BGSAVE => "wait_bgsave",
        STATE_SEND_BULK => "send_bulk",
        _ => "online",
    }
}
