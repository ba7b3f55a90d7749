//! The replica side of replication: `REPLICAOF`, the link state machine, full sync, applying
//! and forwarding the master's stream, ACKs, reconnects and partial resync.
//!
//! ```text
//!  REPLICAOF host port / `replicaof` in the config
//!     │ generation += 1, spawn link_task(generation) on the main runtime
//!     v
//!  connect ──> connecting ──> handshake ──────────────> transfer ──> connected
//!  (retry 1/s)   TCP        PING, AUTH, REPLCONF x2,   $len / $EOF:  apply stream,
//!     ^                     PSYNC id off+1 | ? -1      temp file,    forward raw bytes,
//!     │                       +CONTINUE ──────────────────────────>  ACK every second
//!     └──────────── any error, timeout, CLIENT KILL TYPE master ─────────┘
//! ```
//!
//! Offsets: this node's log end (`ReplLog::offset`) *is* the master link's applied offset,
//! because every applied byte is appended there verbatim (`append_raw`) and nothing else is
//! (dispatch appends no effects for the master client, and a replica appends nothing of its
//! own). The raw bytes of a command are appended inside the critical section that applied it
//! (dispatch takes `Client::master_raw` under the shard locks), so a snapshot barrier never
//! falls between applying a command and logging it. A `MULTI` from the master keeps its bytes
//! pending until `EXEC`, which appends the whole block under the transaction's locks.
//!
//! Our history: `replids.0` and the log end. After a full sync they are the master's replid
//! and the `+FULLRESYNC` offset; `PSYNC <replid> <offset+1>` continues it (the "cached
//! master" of Redis is exactly this pair while `history` is true).

use crate::client::{set_flag, Client};
use crate::commands::flags::{ADMIN, STALE};
use crate::commands::{ok, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::Server;
use bytes::{Bytes, BytesMut};
use ferrodis_resp::{Frame, Limits, RequestParser};
use parking_lot::Mutex;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where the link is (ROLE names these `connect`, `connecting`, `handshake`, `sync`,
/// `connected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Not a replica.
    None,
    /// Waiting to (re)connect.
    Connect,
    /// TCP connect in progress.
    Connecting,
    /// PING / AUTH / REPLCONF / PSYNC.
    Handshake,
    /// Receiving the RDB payload (and loading it).
    Transfer,
    /// Streaming.
    Connected,
}

impl LinkState {
    /// The name ROLE reports.
    pub fn role_name(self) -> &'static str {
        match self {
            LinkState::None => "none",
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// Link state that INFO and ROLE read; guarded by `ReplicaState::inner`.
struct Inner {
    state: LinkState,
    /// Unix ms of the last byte read from the master (link or transfer).
    last_io_ms: i64,
    /// Unix ms when the link went down; `None` if it never was up.
    down_since_ms: Option<i64>,
    /// Transfer progress: total (-1 before the `$` line, 0 for EOF-marked), read.
    sync_total: i64,
    sync_read: i64,
    /// True when `replids.0` + the log end name a history we can ask to continue.
    history: bool,
    /// Bytes read from the master but not applied yet (`slave_read_repl_offset` - applied).
    unapplied: u64,
}

/// The replica side's state, one per server (`Server::repl_replica`).
pub struct ReplicaState {
    inner: Mutex<Inner>,
    /// Bumped by every REPLICAOF; a link task whose generation is older stops.
    generation: tokio::sync::watch::Sender<u64>,
    /// Database the master's stream is in (written into our RDBs as `repl-stream-db`).
    stream_db: AtomicUsize,
    /// The main runtime, where link tasks run (set by `start`).
    runtime: std::sync::OnceLock<tokio::runtime::Handle>,
    /// Set when the dataset loaded at start-up carried a replication id and offset.
    restored: AtomicBool,
}

impl Default for ReplicaState {
    fn default() -> Self {
        let (generation, _) = tokio::sync::watch::channel(0);
        ReplicaState {
            inner: Mutex::new(Inner {
                state: LinkState::None,
                last_io_ms: 0,
                down_since_ms: None,
                sync_total: -1,
                sync_read: 0,
                history: false,
                unapplied: 0,
            }),
            generation,
            stream_db: AtomicUsize::new(0),
            runtime: std::sync::OnceLock::new(),
            restored: AtomicBool::new(false),
        }
    }
}

impl ReplicaState {
    /// The link state.
    pub fn state(&self) -> LinkState {
        self.inner.lock().state
    }

    /// Called when a loaded RDB carried `repl-id`/`repl-offset` (and `repl-stream-db`).
    pub fn note_restored(&self, stream_db: Option<usize>) {
        self.restored.store(true, Ordering::Relaxed);
        self.stream_db
            .store(stream_db.unwrap_or(0), Ordering::Relaxed);
    }

    fn set_state(&self, s: LinkState) {
        self.inner.lock().state = s;
    }

    fn touch_io(&self) {
        self.inner.lock().last_io_ms = crate::util::now_ms();
    }
}

/// The `repl-stream-db` a snapshot taken now records (0 on a master). Read under the
/// snapshot barrier; the applier stores the new database before it logs a `SELECT`.
pub fn stream_db(server: &Server) -> usize {
    if server.is_replica() {
        server.repl_replica.stream_db.load(Ordering::Relaxed)
    } else {
        0
    }
}

/// Starts the link for a `replicaof` from the configuration. Called once by `net::run` on the
/// main runtime, after the dump file was loaded.
pub fn start(server: &Arc<Server>) {
    let st = &server.repl_replica;
    if let Ok(h) = tokio::runtime::Handle::try_current() {
        let _ = st.runtime.set(h);
    }
    if !server.is_replica() {
        return;
    }
    crate::logging::set_replica_role(true);
    {
        let mut inner = st.inner.lock();
        inner.history = st.restored.load(Ordering::Relaxed);
        inner.state = LinkState::Connect;
    }
    let target = server
        .config
        .read()
        .replicaof
        .as_ref()
        .map(|r| (r.host.clone(), r.port));
    if let Some((host, port)) = target {
        tracing::info!("Connecting to MASTER {host}:{port}");
    }
    spawn_link(server);
}

fn spawn_link(server: &Arc<Server>) {
    let st = &server.repl_replica;
    let mut gen = 0;
    st.generation.send_modify(|g| {
        *g += 1;
        gen = *g;
    });
    let s = server.clone();
    let fut = link_task(s, gen);
    match st
        .runtime
        .get()
        .cloned()
        .or_else(|| tokio::runtime::Handle::try_current().ok())
    {
        Some(h) => {
            h.spawn(fut);
        }
        None => tracing::warn!("No runtime to run the replication link on"),
    }
}

/// True while generation `gen` is the current one.
fn current(server: &Server, gen: u64) -> bool {
    *server.repl_replica.generation.borrow() == gen && server.is_replica()
}

/// Waits until generation `gen` is no longer current (REPLICAOF elsewhere or NO ONE) or the
/// server shuts down.
async fn superseded(server: &Server, gen: u64) {
    let mut rx = server.repl_replica.generation.subscribe();
    let mut shutdown = server.shutdown.subscribe();
    loop {
        if *rx.borrow_and_update() != gen || *shutdown.borrow() {
            return;
        }
        tokio::select! {
            r = rx.changed() => if r.is_err() { return },
            r = shutdown.changed() => if r.is_err() { return },
        }
    }
}

/// One master link: connects, syncs, streams; reconnects about once a second after any
/// failure, until REPLICAOF points elsewhere.
async fn link_task(server: Arc<Server>, gen: u64) {
    loop {
        if !current(&server, gen) {
            return;
        }
        let Some((host, port)) = server
            .config
            .read()
            .replicaof
            .as_ref()
            .map(|r| (r.host.clone(), r.port))
        else {
            return;
        };
        let res = tokio::select! {
            r = run_link(&server, &host, port, gen) => r,
            _ = superseded(&server, gen) => return,
        };
        link_down(&server);
        match res {
            Ok(Retry::Now) => {
                tracing::info!("Reconnecting to MASTER {host}:{port}");
                continue;
            }
            Ok(Retry::Later) => {}
            Err(e) => tracing::warn!("{e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = superseded(&server, gen) => return,
        }
        tracing::info!("Connecting to MASTER {host}:{port}");
    }
}

/// How to go on after a link ended without a hard error.
enum Retry {
    /// Reconnect at once (the master closed a healthy link).
    Now,
    /// On the next 1 s tick.
    Later,
}

fn link_down(server: &Server) {
    let st = &server.repl_replica;
    let was_up = server.master_link_up.swap(false, Ordering::AcqRel);
    let mut inner = st.inner.lock();
    if was_up {
        inner.down_since_ms = Some(crate::util::now_ms());
    }
    inner.unapplied = 0;
    if inner.state != LinkState::None {
        inner.state = LinkState::Connect;
    }
}

/// The master socket with our own read buffer (lines are read from it; what follows a line
/// stays buffered, so nothing is over-read).
struct Link {
    sock: TcpStream,
    buf: BytesMut,
    timeout: Duration,
}

impl Link {
    async fn fill(&mut self) -> Result<usize, String> {
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        match tokio::time::timeout(self.timeout, self.sock.read_buf(&mut self.buf)).await {
            Err(_) => Err("timeout".into()),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(0)) => Err("connection lost".into()),
            Ok(Ok(n)) => Ok(n),
        }
    }

    /// One reply line without its `\r\n` (a bare `\n` gives an empty line).
    async fn read_line(&mut self) -> Result<String, String> {
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                let line = self.buf.split_to(p + 1);
                let mut s = &line[..p];
                if s.last() == Some(&b'\r') {
                    s = &s[..s.len() - 1];
                }
                return Ok(String::from_utf8_lossy(s).into_owned());
            }
            if self.buf.len() > 64 * 1024 {
                return Err("line too long".into());
            }
            self.fill().await?;
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        match tokio::time::timeout(self.timeout, self.sock.write_all(bytes)).await {
            Err(_) => Err("timeout writing to the master".into()),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(())) => Ok(()),
        }
    }
}

fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn ack_bytes(offset: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    encode(
        &mut v,
        &[b"REPLCONF", b"ACK", offset.to_string().as_bytes()],
    );
    v
}

/// Connect, handshake, sync, stream. Returns when the link ends.
async fn run_link(server: &Arc<Server>, host: &str, port: u16, gen: u64) -> Result<Retry, String> {
    let st = &server.repl_replica;
    let (repl_timeout, masterauth, masteruser, announce_port, announce_ip) = {
        let c = server.config.read();
        let port = if c.replica_announce_port != 0 {
            c.replica_announce_port as usize
        } else {
            server.bound_port.load(Ordering::Relaxed)
        };
        (
            Duration::from_secs(c.repl_timeout.max(1)),
            c.masterauth.clone(),
            c.masteruser.clone(),
            port,
            c.replica_announce_ip.clone(),
        )
    };
    st.set_state(LinkState::Connecting);
    let sock = match tokio::time::timeout(repl_timeout, TcpStream::connect((host, port))).await {
        Err(_) => return Err("Timeout connecting to the MASTER...".into()),
        Ok(Err(e)) => return Err(format!("Error condition on socket for SYNC: {e}")),
        Ok(Ok(s)) => s,
    };
    let _ = sock.set_nodelay(true);
    tracing::info!("MASTER <-> REPLICA sync started");
    st.set_state(LinkState::Handshake);
    st.touch_io();
    // Handshake replies: a 5 s per-read limit as Redis's `repl_syncio_timeout` (a master
    // that waits before answering PSYNC sends a newline a second).
    let mut link = Link {
        sock,
        buf: BytesMut::with_capacity(64 * 1024),
        timeout: repl_timeout.min(Duration::from_secs(5)),
    };
    let io = |e: String| format!("Error reply to PING from master: {e}");
    link.send(b"*1\r\n$4\r\nPING\r\n").await.map_err(io)?;
    let pong = link.read_line().await.map_err(io)?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(format!("Error reply to PING from master: '{pong}'"));
    }
    tracing::info!("Master replied to PING, replication can continue...");
    let mut burst = Vec::new();
    if let Some(pass) = &masterauth {
        match &masteruser {
            Some(u) => encode(&mut burst, &[b"AUTH", u.as_bytes(), pass.as_bytes()]),
            None => encode(&mut burst, &[b"AUTH", pass.as_bytes()]),
        }
    }
    encode(
        &mut burst,
        &[
            b"REPLCONF",
            b"listening-port",
            announce_port.to_string().as_bytes(),
        ],
    );
    if let Some(ip) = &announce_ip {
        encode(&mut burst, &[b"REPLCONF", b"ip-address", ip.as_bytes()]);
    }
    encode(
        &mut burst,
        &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"],
    );
    let hs = |e: String| format!("Error in the replication handshake: {e}");
    link.send(&burst).await.map_err(hs)?;
    if masterauth.is_some() {
        let r = link.read_line().await.map_err(hs)?;
        if r.starts_with('-') {
            return Err(format!("Unable to AUTH to MASTER: {r}"));
        }
    }
    let r = link.read_line().await.map_err(hs)?;
    if r.starts_with('-') {
        tracing::info!("(Non critical) Master does not understand REPLCONF listening-port: {r}");
    }
    if announce_ip.is_some() {
        let r = link.read_line().await.map_err(hs)?;
        if r.starts_with('-') {
            tracing::info!("(Non critical) Master does not understand REPLCONF ip-address: {r}");
        }
    }
    let r = link.read_line().await.map_err(hs)?;
    if r.starts_with('-') {
        tracing::info!("(Non critical) Master does not understand REPLCONF capa: {r}");
    }
    // PSYNC.
    let history = st.inner.lock().history;
    let (psync_id, psync_off) = if history {
        let id = server.replids.lock().0.clone();
        let off = server.log.offset() + 1;
        tracing::info!("Trying a partial resynchronization (request {id}:{off}).");
        (id, off.to_string())
    } else {
        tracing::info!("Partial resynchronization not possible (no cached master)");
        ("?".to_string(), "-1".to_string())
    };
    let mut cmd = Vec::new();
    // During FAILOVER this node was the master and the target is now its master: the
    // FAILOVER argument asks the target to become a master first (Redis's syncCommand).
    let failover = crate::replication::admin::failover_in_progress(server);
    if failover {
        encode(
            &mut cmd,
            &[
                b"PSYNC",
                psync_id.as_bytes(),
                psync_off.as_bytes(),
                b"FAILOVER",
            ],
        );
    } else {
        encode(
            &mut cmd,
            &[b"PSYNC", psync_id.as_bytes(), psync_off.as_bytes()],
        );
    }
    link.send(&cmd).await.map_err(hs)?;
    let reply = loop {
        let l = match link.read_line().await {
            Ok(l) => l,
            Err(e) if e == "timeout" => {
                tracing::warn!("Master did not reply to PSYNC, will try later");
                return Ok(Retry::Later);
            }
            Err(e) => return Err(hs(e)),
        };
        st.touch_io();
        if !l.is_empty() {
            break l;
        }
    };
    let mut pre_psync = false;
    link.timeout = repl_timeout;
    if failover && !reply.starts_with("-NOMASTERLINK") && !reply.starts_with("-LOADING") {
        let accepted = reply.starts_with("+FULLRESYNC") || reply.starts_with("+CONTINUE");
        crate::replication::admin::failover_psync_reply(server, accepted);
        if !accepted {
            // The failover was aborted and this node is a master again (no SYNC fallback).
            return Ok(Retry::Later);
        }
    }
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC") {
        let mut it = rest.split_whitespace();
        let id = it.next().unwrap_or("").to_string();
        let off: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        tracing::info!("Full resync from master: {id}:{off}");
        full_sync(server, &mut link, &id, off, gen).await?;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let new_id = rest.trim();
        tracing::info!("Successful partial resynchronization with master.");
        if new_id.len() == 40 {
            let mut ids = server.replids.lock();
            if ids.0 != new_id {
                let off = server.log.offset() as i64 + 1;
                ids.1 = std::mem::replace(&mut ids.0, new_id.to_string());
                ids.2 = off;
                tracing::info!("Master replication ID changed to {new_id}");
                drop(ids);
                crate::replication::master::drop_replica_links(server);
            }
        }
        tracing::info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    } else if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
        tracing::info!("Master is currently unable to PSYNC but should be in the future: {reply}");
        return Ok(Retry::Later);
    } else {
        tracing::warn!("Unexpected reply to PSYNC from master: {reply}");
        tracing::info!("Retrying with SYNC...");
        link.send(b"SYNC\r\n").await.map_err(hs)?;
        pre_psync = true;
        let id = crate::random_hex40();
        full_sync(server, &mut link, &id, 0, gen).await?;
    }
    if !current(server, gen) {
        return Ok(Retry::Later);
    }
    stream(server, link, host, port, pre_psync, gen).await
}

/// Receives the RDB payload into a temp file, flushes the old data, loads it, and adopts the
/// master's replid and offset.
async fn full_sync(
    server: &Arc<Server>,
    link: &mut Link,
    master_id: &str,
    master_off: u64,
    gen: u64,
) -> Result<(), String> {
    let st = &server.repl_replica;
    {
        let mut inner = st.inner.lock();
        inner.state = LinkState::Transfer;
        inner.sync_total = -1;
        inner.sync_read = 0;
    }
    // The `$` line, after any keepalive newlines.
    let line = loop {
        let l = link.read_line().await.map_err(|e| {
            if e == "timeout" {
                "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.".to_string()
            } else {
                format!("I/O error reading bulk count from MASTER: {e}")
            }
        })?;
        st.touch_io();
        if !l.is_empty() {
            break l;
        }
    };
    if line.starts_with('-') {
        return Err(format!("MASTER aborted replication with an error: {line}"));
    }
    let Some(count) = line.strip_prefix('$') else {
        return Err(format!("Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"));
    };
    let (eof_mark, left): (Option<Vec<u8>>, u64) = match count.strip_prefix("EOF:") {
        Some(mark) if mark.len() == 40 => (Some(mark.as_bytes().to_vec()), 0),
        Some(_) => return Err(format!("Bad EOF mark from MASTER: '{line}'")),
        None => match count.parse::<u64>() {
            Ok(n) => (None, n),
            Err(_) => return Err(format!("Bad bulk count from MASTER: '{line}'")),
        },
    };
    {
        let mut inner = st.inner.lock();
        inner.sync_total = if eof_mark.is_some() { 0 } else { left as i64 };
    }
    let diskless_load = server.config.read().repl_diskless_load;
    // Loading straight from the socket is safe only when there is nothing to lose on failure.
    let from_socket =
        diskless_load != ferrodis_config::ReplDisklessLoad::Disabled && dataset_is_empty(server);
    let how = if from_socket { "to parser" } else { "to disk" };
    if eof_mark.is_some() {
        tracing::info!(
            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {how}"
        );
    } else {
        tracing::info!("MASTER <-> REPLICA sync: receiving {left} bytes from master {how}");
    }
    let mark = eof_mark.as_deref();
    let info = if from_socket {
        load_from_socket(server, link, mark, left, gen).await?
    } else {
        load_via_disk(server, link, mark, left, gen).await?
    };
    {
        let mut ids = server.replids.lock();
        ids.0 = if master_id.len() == 40 {
            master_id.to_string()
        } else {
            crate::random_hex40()
        };
        ids.1 = "0".repeat(40);
        ids.2 = -1;
    }
    server.log.reset_offset(master_off);
    st.stream_db
        .store(info.repl_stream_db.unwrap_or(0), Ordering::Relaxed);
    crate::replication::master::drop_replica_links(server);
    st.inner.lock().history = true;
    tracing::info!("MASTER <-> REPLICA sync: Finished with success");
    if eof_mark.is_some() {
        link.send(&ack_bytes(master_off))
            .await
            .map_err(|e| format!("I/O error sending the first ACK to MASTER: {e}"))?;
    }
    Ok(())
}

fn timeout_or_io(e: String) -> String {
    if e == "timeout" {
        "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.".to_string()
    } else {
        format!("I/O error trying to sync with MASTER: {e}")
    }
}

/// True when no database holds a key.
fn dataset_is_empty(server: &Server) -> bool {
    let all = server.keyspace.lock_all();
    all.iter().all(|g| g.dbs.iter().all(|t| t.is_empty()))
}

/// Where payload bytes go.
enum Sink {
    /// The temp file (fsynced every 8 MB).
    File(std::fs::File, usize),
    /// The loader thread (diskless load).
    Loader(tokio::sync::mpsc::Sender<Vec<u8>>),
}

impl Sink {
    async fn put(&mut self, data: &[u8]) -> Result<(), String> {
        if data.is_empty() {
            return Ok(());
        }
        match self {
            Sink::File(f, since_sync) => {
                f.write_all(data)
                    .map_err(|e| format!("Write error writing to the DB file: {e}"))?;
                *since_sync += data.len();
                if *since_sync >= 8 << 20 {
                    let _ = f.sync_data();
                    *since_sync = 0;
                }
                Ok(())
            }
            Sink::Loader(tx) => tx
                .send(data.to_vec())
                .await
                .map_err(|_| "the loader stopped reading".to_string()),
        }
    }
}

/// Moves the payload from the link (what is buffered, then reads) into `sink`: exactly
/// `left` bytes, or everything before the 40-byte EOF `mark` (the master sends nothing after
/// the mark until our first ACK, so the mark is the last thing read).
async fn pump(
    server: &Server,
    link: &mut Link,
    mark: Option<&[u8]>,
    mut left: u64,
    sink: &mut Sink,
    gen: u64,
) -> Result<(), String> {
    let st = &server.repl_replica;
    let mut held: Vec<u8> = Vec::new();
    loop {
        if !current(server, gen) {
            return Err("Replication link changed during the transfer".into());
        }
        let done = match mark {
            None => {
                let take = (left as usize).min(link.buf.len());
                let chunk = link.buf.split_to(take);
                sink.put(&chunk).await?;
                left -= take as u64;
                st.inner.lock().sync_read += take as i64;
                left == 0
            }
            Some(mark) => {
                let chunk = link.buf.split();
                st.inner.lock().sync_read += chunk.len() as i64;
                held.extend_from_slice(&chunk);
                if held.len() > 40 {
                    let n = held.len() - 40;
                    sink.put(&held[..n]).await?;
                    held.drain(..n);
                }
                held.len() == 40 && held[..] == mark[..]
            }
        };
        if done {
            return Ok(());
        }
        link.fill().await.map_err(timeout_or_io)?;
        st.touch_io();
    }
}

/// `repl-diskless-load disabled`: the payload goes to `temp-<unixtime>.<pid>.rdb`, the old
/// data is flushed, the file is loaded and then renamed over `dbfilename`.
async fn load_via_disk(
    server: &Arc<Server>,
    link: &mut Link,
    mark: Option<&[u8]>,
    left: u64,
    gen: u64,
) -> Result<crate::persistence::load::LoadInfo, String> {
    let st = &server.repl_replica;
    let dbfile = crate::persistence::dump_path(server);
    let dir = dbfile
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let tmp = dir.join(format!(
        "temp-{}.{}.rdb",
        crate::util::now_ms() / 1000,
        std::process::id()
    ));
    let file = std::fs::File::create(&tmp).map_err(|e| {
        format!("Opening the temp file needed for MASTER <-> REPLICA synchronization: {e}")
    })?;
    let cleanup = |tmp: &std::path::Path| {
        let _ = std::fs::remove_file(tmp);
    };
    let mut sink = Sink::File(file, 0);
    if let Err(e) = pump(server, link, mark, left, &mut sink, gen).await {
        cleanup(&tmp);
        return Err(e);
    }
    let Sink::File(file, _) = sink else {
        cleanup(&tmp);
        return Err("internal error: wrong sink".into());
    };
    if let Err(e) = file.sync_all() {
        cleanup(&tmp);
        return Err(format!(
            "Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {e}"
        ));
    }
    drop(file);
    tracing::info!("MASTER <-> REPLICA sync: Flushing old data");
    // From here on the old dataset is gone: its history can no longer be continued.
    st.inner.lock().history = false;
    flush_all(server);
    tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");
    server.loading.store(true, Ordering::Release);
    let s = server.clone();
    let path = tmp.clone();
    let mut load = tokio::task::spawn_blocking(move || {
        let r = crate::persistence::load::load_file(&s, &path);
        s.loading.store(false, Ordering::Release);
        r
    });
    // While loading, a newline a second tells the master we are alive.
    let res = loop {
        tokio::select! {
            r = &mut load => break r,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                let _ = link.send(b"\n").await;
            }
        }
    };
    server.loading.store(false, Ordering::Release);
    let res = match res {
        Ok(Ok(Some(info))) => Ok(info),
        Ok(Ok(None)) => Err("the temp file vanished".to_string()),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(e.to_string()),
    };
    match res {
        Ok(info) => {
            if let Err(e) = std::fs::rename(&tmp, &dbfile) {
                tracing::warn!(
                    "Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {e}",
                    dbfile.display()
                );
                cleanup(&tmp);
            }
            Ok(info)
        }
        Err(e) => {
            cleanup(&tmp);
            // Whatever was loaded is not a consistent dataset.
            flush_all(server);
            st.inner.lock().history = false;
            Err(format!(
                "Failed trying to load the MASTER synchronization DB from disk, check server logs. ({e})"
            ))
        }
    }
}

/// Reads the payload chunks a `pump` sends (diskless load); end of data when it stops.
struct ChanReader {
    rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl std::io::Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.blocking_recv() {
                Some(v) => {
                    self.cur = v;
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// `repl-diskless-load on-empty-db` (and `swapdb` on an empty dataset): the payload is parsed
/// as it arrives, by a loader thread fed through a channel. Nothing is written to disk.
async fn load_from_socket(
    server: &Arc<Server>,
    link: &mut Link,
    mark: Option<&[u8]>,
    left: u64,
    gen: u64,
) -> Result<crate::persistence::load::LoadInfo, String> {
    let st = &server.repl_replica;
    tracing::info!("MASTER <-> REPLICA sync: Flushing old data");
    // From here on the old dataset is gone: its history can no longer be continued.
    st.inner.lock().history = false;
    flush_all(server);
    tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");
    server.loading.store(true, Ordering::Release);
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let s = server.clone();
    let load = tokio::task::spawn_blocking(move || {
        let reader = ChanReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        };
        let r = crate::persistence::load::load_from(&s, std::io::BufReader::new(reader));
        s.loading.store(false, Ordering::Release);
        r
    });
    let mut sink = Sink::Loader(tx);
    let pumped = pump(server, link, mark, left, &mut sink, gen).await;
    drop(sink);
    let loaded = load.await;
    server.loading.store(false, Ordering::Release);
    let res = match (pumped, loaded) {
        (Ok(()), Ok(Ok(info))) => Ok(info),
        (Err(e), _) if e != "the loader stopped reading" => Err(e),
        (_, Ok(Err(e))) => Err(format!(
            "Failed trying to load the MASTER synchronization DB from socket, check server logs. ({e})"
        )),
        (_, Err(e)) => Err(format!(
            "Failed trying to load the MASTER synchronization DB from socket: {e}"
        )),
        (Err(e), Ok(Ok(_))) => Err(e),
    };
    if res.is_err() {
        flush_all(server);
        st.inner.lock().history = false;
    }
    res
}

/// Empties every database before a full-sync load (a running snapshot keeps its image).
fn flush_all(server: &Server) {
    server
        .persist
        .abort_generation
        .fetch_add(1, Ordering::AcqRel);
    let mut all = server.keyspace.lock_all();
    for g in all.iter_mut() {
        server.snapshots.before_touch(g);
        for t in g.dbs.iter_mut() {
            t.clear();
        }
    }
}

/// Removes the master client from the client list when the link ends or is cancelled.
struct Registered {
    server: Arc<Server>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.server.clients.unregister(self.id);
    }
}

/// The connected phase: apply and forward the stream, ACK every second.
async fn stream(
    server: &Arc<Server>,
    link: Link,
    host: &str,
    port: u16,
    pre_psync: bool,
    gen: u64,
) -> Result<Retry, String> {
    let st = &server.repl_replica;
    let Link {
        mut sock,
        buf: mut rbuf,
        timeout,
    } = link;
    let laddr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let handle = server.clients.register(format!("{host}:{port}"), laddr, -1);
    // Unregistered however this ends (also when the task is cancelled by REPLICAOF).
    let _registered = Registered {
        server: server.clone(),
        id: handle.id,
    };
    set_flag(&handle, 'M', true);
    let mut client = Client::new(handle.clone(), true);
    client.is_master = true;
    client.db = st.stream_db.load(Ordering::Relaxed);
    handle.db.store(client.db, Ordering::Relaxed);
    server.master_link_up.store(true, Ordering::Release);
    {
        let mut inner = st.inner.lock();
        inner.state = LinkState::Connected;
        inner.last_io_ms = crate::util::now_ms();
    }
    let result = stream_loop(
        server,
        &mut sock,
        &mut rbuf,
        &mut client,
        timeout,
        pre_psync,
        gen,
    )
    .await;
    // Cache the master: an open MULTI and unparsed bytes are dropped; the log end stays our
    // offset for the next PSYNC.
    client.multi = None;
    server.master_link_up.store(false, Ordering::Release);
    match &result {
        Err(e) if e.starts_with("Protocol error") => {
            st.inner.lock().history = false;
        }
        _ => tracing::info!("Caching the disconnected master state."),
    }
    result
}

async fn stream_loop(
    server: &Arc<Server>,
    sock: &mut TcpStream,
    rbuf: &mut BytesMut,
    client: &mut Client,
    timeout: Duration,
    pre_psync: bool,
    gen: u64,
) -> Result<Retry, String> {
    let st = &server.repl_replica;
    let mut parser = RequestParser::new();
    let mut raw = BytesMut::with_capacity(rbuf.capacity());
    raw.extend_from_slice(rbuf);
    let mut unit = BytesMut::new();
    let mut argv: Vec<Bytes> = Vec::with_capacity(8);
    let mut out: Vec<u8> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let handle = client.handle.clone();
    let killed = handle.kill_notify.notified();
    tokio::pin!(killed);
    // Apply what arrived together with the sync reply.
    apply(
        server,
        client,
        &mut parser,
        rbuf,
        &mut raw,
        &mut unit,
        &mut argv,
        &mut out,
        gen,
    )?;
    loop {
        if !out.is_empty() {
            send_all(sock, &out, timeout).await?;
            out.clear();
        }
        if handle.killed.load(Ordering::Acquire) {
            // CLIENT KILL TYPE master: reconnect at once, as Redis 7.0 does after any lost
            // master link (waiting a second lets the master's backlog move on).
            tracing::info!("Connection with master lost.");
            return Ok(Retry::Now);
        }
        if rbuf.capacity() - rbuf.len() < 16 * 1024 {
            rbuf.reserve(64 * 1024);
        }
        let chunk_start = rbuf.len();
        tokio::select! {
            r = sock.read_buf(rbuf) => match r {
                Ok(0) => {
                    tracing::info!("Connection with master lost.");
                    return Ok(Retry::Now);
                }
                Err(e) => {
                    tracing::info!("Connection with master lost: {e}");
                    return Ok(Retry::Now);
                }
                Ok(n) => {
                    raw.extend_from_slice(&rbuf[chunk_start..chunk_start + n]);
                    let now = crate::util::now_ms();
                    st.inner.lock().last_io_ms = now;
                    client.now_ms = now;
                    handle.last_interaction_ms.store(now, Ordering::Relaxed);
                    apply(server, client, &mut parser, rbuf, &mut raw, &mut unit, &mut argv, &mut out, gen)?;
                }
            },
            _ = tick.tick() => {
                let last = st.inner.lock().last_io_ms;
                // `repl-timeout` may change while the link is up (CONFIG SET).
                let limit = server.config.read().repl_timeout.max(1) as i64 * 1000;
                if crate::util::now_ms() - last > limit {
                    return Err("MASTER timeout: no data nor PING received...".into());
                }
                if !pre_psync {
                    out.extend_from_slice(&ack_bytes(server.log.offset()));
                }
            }
            _ = &mut killed => {
                tracing::info!("Connection with master lost.");
                return Ok(Retry::Now);
            }
        }
    }
}

async fn send_all(sock: &mut TcpStream, bytes: &[u8], timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, sock.write_all(bytes)).await {
        Err(_) => Err("Timeout writing to MASTER".into()),
        Ok(Err(e)) => Err(format!("Error writing to MASTER: {e}")),
        Ok(Ok(())) => Ok(()),
    }
}

fn is_kw(a: &[u8], kw: &str) -> bool {
    a.eq_ignore_ascii_case(kw.as_bytes())
}

/// Applies every complete command in `rbuf` (`raw` mirrors it byte for byte) and forwards the
/// applied bytes to our log. ACKs for GETACK go to `out`.
#[allow(clippy::too_many_arguments)]
fn apply(
    server: &Server,
    client: &mut Client,
    parser: &mut RequestParser,
    rbuf: &mut BytesMut,
    raw: &mut BytesMut,
    unit: &mut BytesMut,
    argv: &mut Vec<Bytes>,
    out: &mut Vec<u8>,
    gen: u64,
) -> Result<(), String> {
    let limits = Limits {
        max_bulk_len: u64::MAX,
        auth_required: false,
        from_master: true,
    };
    let mut stats = crate::dispatch::LocalStats::default();
    loop {
        if !current(server, gen) {
            return Err("Replication link changed".into());
        }
        if parser.pending() == 0 {
            if let Some(&b) = rbuf.first() {
                if b != b'*' && b != b'\n' && b != b'\r' {
                    return Err("Protocol error: Master using the inline protocol. Desync?".into());
                }
            }
        }
        let before = rbuf.len();
        let parsed = parser.parse_into(rbuf, &limits, argv);
        let consumed = before - rbuf.len();
        if consumed > 0 {
            unit.extend_from_slice(&raw.split_to(consumed));
        }
        match parsed {
            Err(e) => {
                return Err(format!(
                    "Protocol error from MASTER ({e}): closing the link"
                ))
            }
            Ok(false) => break,
            Ok(true) => {}
        }
        if argv.is_empty() {
            continue;
        }
        let in_multi = client.multi.is_some();
        if argv.len() >= 2 && is_kw(&argv[0], "replconf") && is_kw(&argv[1], "getack") {
            // Answered with the offset before this command; its own bytes count after.
            out.extend_from_slice(&ack_bytes(server.log.offset()));
            if !in_multi {
                server.log.append_raw(unit);
                unit.clear();
            }
            continue;
        }
        if is_kw(&argv[0], "select") {
            // Recorded before the SELECT is logged (see `stream_db`).
            if let Some(db) = argv
                .get(1)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| d.parse::<usize>().ok())
            {
                if db < server.keyspace.databases() && !in_multi {
                    server.repl_replica.stream_db.store(db, Ordering::Relaxed);
                }
            }
        }
        client.master_raw = Some(unit.split().freeze());
        let reply = crate::dispatch::run(server, client, argv, &mut stats);
        if let Err(e) = &reply {
            let name = String::from_utf8_lossy(&argv[0]).into_owned();
            tracing::warn!(
                "== CRITICAL == This replica is sending an error to its master: '{}' after processing the command '{}'",
                e.0,
                name
            );
            server.note_error(&e.0);
        }
        client.block = None;
        client.extra_replies.clear();
        if let Some(pending) = client.master_raw.take() {
            if client.multi.is_some() {
                // Inside MULTI: the block is forwarded at EXEC.
                unit.extend_from_slice(&pending);
            } else {
                server.log.append_raw(&pending);
            }
        }
        if client.multi.is_none() {
            server
                .repl_replica
                .stream_db
                .store(client.db, Ordering::Relaxed);
        }
    }
    let applied_pending = (unit.len() + raw.len()) as u64;
    server.repl_replica.inner.lock().unapplied = applied_pending;
    crate::stats::Stats::add(&server.stats.commands, stats.commands);
    crate::stats::Stats::add(&server.stats.hits, stats.hits);
    crate::stats::Stats::add(&server.stats.misses, stats.misses);
    Ok(())
}

/// `REPLICAOF host port` | `REPLICAOF NO ONE` (also `SLAVEOF`).
fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    let Some(server) = server.arc() else {
        return Err(CommandError::new("ERR server is shutting down"));
    };
    if crate::replication::admin::failing_over(&server) {
        return Err(CommandError::new(
            "ERR REPLICAOF not allowed while failing over.",
        ));
    }
    if ctx.client.is_master {
        return Err(CommandError::new(
            "ERR Command is not valid when client is a replica.",
        ));
    }
    let who = client_desc(ctx);
    if is_kw(&args[1], "no") && is_kw(&args[2], "one") {
        if server.is_replica() {
            promote(&server);
            tracing::info!("MASTER MODE enabled (user request from '{who}')");
        }
        return ok();
    }
    let port: i64 = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(CommandError::new(
            "ERR value is not an integer or out of range",
        ))?;
    if !(0..=65535).contains(&port) {
        return Err(CommandError::new("ERR Invalid master port"));
    }
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if server.is_replica() {
        let same = server
            .config
            .read()
            .replicaof
            .as_ref()
            .is_some_and(|r| r.host.eq_ignore_ascii_case(&host) && r.port as i64 == port);
        if same {
            tracing::info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            return Ok(Frame::Simple(Bytes::from_static(
                b"OK Already connected to specified master",
            )));
        }
    }
    set_master(&server, host.clone(), port as u16);
    tracing::info!("REPLICAOF {host}:{port} enabled (user request from '{who}')");
    ok()
}

fn client_desc(ctx: &Ctx) -> String {
    format!(
        "id={} addr={} laddr={} fd={} name={} age=0 idle=0 flags=N db={} cmd=replicaof user={}",
        ctx.client.id,
        ctx.client.handle.addr,
        ctx.client.handle.laddr,
        ctx.client.handle.fd,
        ctx.client
            .handle
            .name
            .lock()
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default(),
        ctx.client.db,
        ctx.client.user
    )
}

/// Makes this node a replica of `host:port` (from a master: our own replid and offset are
/// the history we ask the new master to continue).
pub fn set_master(server: &Arc<Server>, host: String, port: u16) {
    let st = &server.repl_replica;
    let was_master = !server.is_replica();
    {
        let mut cfg = server.config.write();
        cfg.replicaof = Some(ferrodis_config::ReplicaOf {
            host: host.clone(),
            port,
        });
    }
    server.master_link_up.store(false, Ordering::Release);
    server.replica.store(true, Ordering::Release);
    crate::logging::set_replica_role(true);
    {
        let mut inner = st.inner.lock();
        if was_master {
            tracing::info!("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
            inner.history = true;
            st.stream_db.store(0, Ordering::Relaxed);
        }
        inner.state = LinkState::Connect;
    }
    // Clients blocked on keys would otherwise wait for writes this node no longer makes.
    server
        .blocking
        .unblock_all(crate::blocking::UNBLOCK_ROLE_CHANGE);
    tracing::info!("Connecting to MASTER {host}:{port}");
    spawn_link(server);
}

/// `REPLICAOF NO ONE`: stop the link and start a new history (the old one stays valid as
/// replid2 up to our offset, so our own replicas can continue with a partial resync).
pub fn promote(server: &Server) {
    let st = &server.repl_replica;
    st.generation.send_modify(|g| *g += 1);
    server.replica.store(false, Ordering::Release);
    crate::logging::set_replica_role(false);
    server.master_link_up.store(false, Ordering::Release);
    server.config.write().replicaof = None;
    {
        let mut inner = st.inner.lock();
        inner.state = LinkState::None;
        inner.down_since_ms = None;
    }
    let off = server.log.offset() as i64;
    let (new, old) = {
        let mut ids = server.replids.lock();
        let new = crate::random_hex40();
        let old = std::mem::replace(&mut ids.0, new.clone());
        ids.1 = old.clone();
        ids.2 = off + 1;
        (new, old)
    };
    server.log.force_select();
    crate::replication::master::drop_replica_links(server);
    tracing::info!(
        "Setting secondary replication ID to {old}, valid up to offset: {}. New replication ID is {new}",
        off + 1
    );
}

/// INFO replication's `role:slave` block (Redis 7.0 field order), up to `replica_announced`.
pub fn info_block(server: &Server, cfg: &ferrodis_config::Config, out: &mut String) {
    use std::fmt::Write as _;
    let Some(r) = cfg.replicaof.as_ref() else {
        return;
    };
    let inner = server.repl_replica.inner.lock();
    let now = crate::util::now_ms();
    let up = inner.state == LinkState::Connected;
    let offset = server.log.offset();
    let (read_off, applied) = if up {
        (offset + inner.unapplied, offset)
    } else if inner.history {
        (offset, offset)
    } else {
        (1, 1)
    };
    let last_io = if up {
        (now - inner.last_io_ms).max(0) / 1000
    } else {
        -1
    };
    let _ = write!(
        out,
        "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{last_io}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{read_off}\r\nslave_repl_offset:{applied}\r\n",
        r.host,
        r.port,
        if up { "up" } else { "down" },
        (inner.state == LinkState::Transfer) as u8,
    );
    if inner.state == LinkState::Transfer {
        let total = inner.sync_total;
        let read = inner.sync_read;
        let perc = if total > 0 {
            read as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        let _ = write!(
            out,
            "master_sync_total_bytes:{total}\r\nmaster_sync_read_bytes:{read}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
            total - read,
            (now - inner.last_io_ms).max(0) / 1000,
        );
    }
    if !up {
        let since = inner
            .down_since_ms
            .map(|t| (now - t).max(0) / 1000)
            .unwrap_or(-1);
        let _ = write!(out, "master_link_down_since_seconds:{since}\r\n");
    }
    let _ = write!(
        out,
        "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
        cfg.replica_priority, cfg.replica_read_only as u8, cfg.replica_announced as u8,
    );
}

/// ROLE's reply on a replica: `["slave", host, port, state, offset]`.
pub fn role_reply(server: &Server, cfg: &ferrodis_config::Config) -> Option<Frame> {
    let r = cfg.replicaof.as_ref()?;
    let state = server.repl_replica.state();
    let state = if state == LinkState::None {
        LinkState::Connect
    } else {
        state
    };
    let offset = if state == LinkState::Connected {
        server.log.offset() as i64
    } else {
        -1
    };
    Some(Frame::Array(vec![
        Frame::bulk(b"slave"),
        Frame::Bulk(Bytes::from(r.host.clone())),
        Frame::Integer(r.port as i64),
        Frame::Bulk(Bytes::from_static(state.role_name().as_bytes())),
        Frame::Integer(offset),
    ]))
}

/// `replica-serve-stale-data no` while the link is not connected: the refusal.
pub fn masterdown_error() -> CommandError {
    CommandError::new(
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    )
}

/// REPLICAOF and SLAVEOF.
pub const COMMANDS: &[CommandSpec] = &[
    spec(
        "replicaof",
        3,
        ADMIN | STALE,
        KeySpec::NONE,
        "server",
        replicaof,
    ),
    spec(
        "slaveof",
        3,
        ADMIN | STALE,
        KeySpec::NONE,
        "server",
        replicaof,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn replica_server() -> Arc<Server> {
        let s = Server::new(ferrodis_config::Config {
            repl_backlog_size: 256 * 1024 * 1024,
            ..Default::default()
        });
        s.replica.store(true, Ordering::Relaxed);
        s
    }

    fn master_client(s: &Server, db: usize) -> Client {
        let h = s.clients.register("master:0".into(), "test:0".into(), -1);
        let mut c = Client::new(h, true);
        c.is_master = true;
        c.db = db;
        c
    }

    fn cmd(out: &mut Vec<u8>, args: &[&str]) {
        let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        encode(out, &v);
    }

    /// Feeds `bytes` to `apply` in chunks of `chunk` bytes, as reads would.
    struct Feeder {
        parser: RequestParser,
        rbuf: BytesMut,
        raw: BytesMut,
        unit: BytesMut,
        argv: Vec<Bytes>,
        out: Vec<u8>,
    }

    impl Feeder {
        fn new() -> Self {
            Feeder {
                parser: RequestParser::new(),
                rbuf: BytesMut::new(),
                raw: BytesMut::new(),
                unit: BytesMut::new(),
                argv: Vec::new(),
                out: Vec::new(),
            }
        }
        fn feed(&mut self, s: &Server, c: &mut Client, bytes: &[u8], chunk: usize) {
            for part in bytes.chunks(chunk.max(1)) {
                self.rbuf.extend_from_slice(part);
                self.raw.extend_from_slice(part);
                let r = apply(
                    s,
                    c,
                    &mut self.parser,
                    &mut self.rbuf,
                    &mut self.raw,
                    &mut self.unit,
                    &mut self.argv,
                    &mut self.out,
                    0,
                );
                assert!(r.is_ok(), "{r:?}");
            }
        }
    }

    use crate::persistence::snapshot::tests::contents;

    /// The forwarded log is exactly the applied stream, and the ACK offset stops before an
    /// open MULTI and excludes the GETACK itself.
    #[test]
    fn forwarded_bytes_and_offsets() {
        let s = replica_server();
        let mut c = master_client(&s, 0);
        let mut f = Feeder::new();
        let mut stream = Vec::new();
        cmd(&mut stream, &["SELECT", "2"]);
        cmd(&mut stream, &["SET", "a", "1"]);
        cmd(&mut stream, &["ping"]);
        let upto = stream.len();
        cmd(&mut stream, &["MULTI"]);
        cmd(&mut stream, &["INCR", "a"]);
        f.feed(&s, &mut c, &stream, 3);
        assert_eq!(s.log.offset(), upto as u64, "stops before the open MULTI");
        let mut getack = Vec::new();
        cmd(&mut getack, &["REPLCONF", "GETACK", "*"]);
        let mut exec = Vec::new();
        cmd(&mut exec, &["EXEC"]);
        f.feed(&s, &mut c, &exec, 1000);
        f.feed(&s, &mut c, &getack, 5);
        let before_getack = (stream.len() + exec.len()) as u64;
        assert_eq!(f.out, ack_bytes(before_getack));
        stream.extend_from_slice(&exec);
        stream.extend_from_slice(&getack);
        let log = s.log.lock().read_from(0).unwrap_or_default();
        assert_eq!(log, stream, "the log holds the stream byte for byte");
        assert_eq!(stream_db(&s), 2);
        assert_eq!(contents(&s), vec![(2, b"a".to_vec(), b"2".to_vec())]);
    }

    /// The snapshot invariant on a replica: a snapshot taken at O (with its repl-stream-db)
    /// plus the forwarded log after O rebuilds the live dataset, with the stream applied
    /// concurrently in small chunks (SELECTs, MULTI/EXEC, plain writes).
    #[test]
    fn replica_snapshot_plus_forwarded_log_equals_live_state() {
        let s = replica_server();
        let stop = Arc::new(AtomicBool::new(false));
        let applier = {
            let (s, stop) = (s.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut c = master_client(&s, 0);
                let mut f = Feeder::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) || n < 2000 {
                    let k = format!("k{}", (n * 7919) % 3000);
                    let mut b = Vec::new();
                    match n % 6 {
                        0 => cmd(&mut b, &["SET", &k, &format!("v{n}")]),
                        1 => cmd(&mut b, &["DEL", &k]),
                        2 => cmd(&mut b, &["APPEND", &k, "x"]),
                        3 => cmd(&mut b, &["SELECT", &(n % 4).to_string()]),
                        4 => {
                            cmd(&mut b, &["MULTI"]);
                            cmd(&mut b, &["SET", &k, "m"]);
                            cmd(&mut b, &["APPEND", &format!("o{n}"), "y"]);
                            cmd(&mut b, &["EXEC"]);
                        }
                        _ => cmd(&mut b, &["INCR", &format!("c{}", n % 10)]),
                    }
                    f.feed(&s, &mut c, &b, 1 + (n as usize % 17));
                    n += 1;
                }
            })
        };
        std::thread::sleep(Duration::from_millis(30));
        let mut rdb = Vec::new();
        let info = crate::persistence::snapshot::snapshot_to(
            &s,
            &mut rdb,
            ferrodis_rdb::WriteOptions::default(),
        );
        let Ok(info) = info else {
            panic!("snapshot failed: {info:?}")
        };
        std::thread::sleep(Duration::from_millis(30));
        stop.store(true, Ordering::Relaxed);
        assert!(applier.join().is_ok());
        let r = replica_server();
        let loaded = crate::persistence::load::load_from(&r, &rdb[..]);
        let Ok(loaded) = loaded else {
            panic!("load failed: {loaded:?}")
        };
        assert_eq!(loaded.repl_offset, Some(info.offset as i64));
        let tail = s.log.lock().read_from(info.offset).unwrap_or_default();
        let mut c = master_client(&r, loaded.repl_stream_db.unwrap_or(0));
        let mut f = Feeder::new();
        f.feed(&r, &mut c, &tail, 4096);
        assert_eq!(contents(&r), contents(&s));
    }
}
