//! Per-connection client state ([`Client`], owned by the connection task) and the registry
//! of live clients ([`Clients`], shared) that CLIENT LIST/KILL and INFO read.

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// Normal.
    On,
    /// No replies until CLIENT REPLY ON.
    Off,
    /// Skip the next command's reply.
    Skip,
    /// Skipping the current command's reply.
    SkipThis,
}

/// What the connection task knows about its client.
pub struct Client {
    /// CLIENT ID.
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// RESP3 after HELLO 3.
    pub resp3: bool,
    /// Authenticated (always true when no password is required).
    pub authenticated: bool,
    /// ACL user name.
    pub user: String,
    /// This is the link from our master: its writes are applied even on a read-only replica.
    pub is_master: bool,
    /// CLIENT REPLY state.
    pub reply_mode: ReplyMode,
    /// Close the connection after writing pending replies (QUIT, protocol error).
    pub close_after_reply: bool,
    /// MONITOR mode.
    pub monitor: bool,
    /// Shared, externally visible part.
    pub handle: Arc<ClientHandle>,
    /// Command time for the current batch of pipelined commands (Unix ms; 0 = read the
    /// clock per command). Like Redis's cached `mstime`, one clock read serves a batch.
    pub now_ms: i64,
    /// Open transaction (MULTI ... EXEC), see `multi.rs`.
    pub multi: Option<Box<crate::multi::MultiState>>,
    /// WATCHed keys, see `multi.rs`.
    pub watch: Option<Box<crate::multi::WatchState>>,
    /// True while EXEC runs the queued commands (blocking commands do not block).
    pub in_exec: bool,
    /// Set by a handler that must wait (see `blocking.rs`); dispatch parks the client.
    pub block: Option<crate::blocking::BlockRequest>,
    /// This client's entry in the blocked-keys registry, made on first use.
    pub waiter: Option<Arc<crate::blocking::Waiter>>,
    /// Pub/Sub state, made on first SUBSCRIBE/PSUBSCRIBE (see `pubsub.rs`).
    pub pubsub: Option<Box<crate::pubsub::ClientPubSub>>,
    /// Channels + patterns subscribed (RESP2 subscribed mode when > 0).
    pub subscriptions: usize,
    /// Replies sent before the handler's own reply (SUBSCRIBE a b answers twice).
    pub extra_replies: Vec<ferrodis_resp::Frame>,
    /// REPLCONF state and a pending replication hand-off (see `replication::master`).
    pub repl: Option<Box<crate::replication::master::ClientRepl>>,
    /// Master link only (replica side): the raw stream bytes of the command being applied,
    /// appended to the log by dispatch (or EXEC) in place of re-encoded effects, under the
    /// same locks that applied it. See `replication::replica`.
    /// Set by a SHUTDOWN that waits for replicas: the cancellation generation it waits on
    /// (`replication::admin::after_command`).
    pub admin_wait: Option<u64>,
    pub master_raw: Option<Bytes>,
    /// Replication offset just after this client's last write reached the log (Redis's
    /// `woff`): what WAIT waits for. 0 before any write.
    pub woff: u64,
    /// An EVAL handed to the script thread (`scripting`): the connection task awaits its
    /// reply (instead of dispatch sending one), leaving this I/O thread free.
    pub script_job: Option<tokio::sync::oneshot::Receiver<crate::commands::CmdResult>>,
}

impl Client {
    /// A fresh client registered under `handle`.
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Self {
        Client {
            id: handle.id,
            db: 0,
            resp3: false,
            authenticated,
            user: "default".into(),
            is_master: false,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            monitor: false,
            handle,
            now_ms: 0,
            multi: None,
            watch: None,
            in_exec: false,
            block: None,
            waiter: None,
            pubsub: None,
            subscriptions: 0,
            extra_replies: Vec::new(),
            repl: None,
            master_raw: None,
            woff: 0,
            admin_wait: None,
            script_job: None,
        }
    }

    /// The client's waiter for blocking commands.
    pub fn waiter(&mut self) -> &Arc<crate::blocking::Waiter> {
        let id = self.id;
        self.waiter.get_or_insert_with(|| {
            Arc::new(crate::blocking::Waiter {
                client_id: id,
                notify: Notify::new(),
                unblock: std::sync::atomic::AtomicU8::new(0),
            })
        })
    }
}

/// Adds or removes a CLIENT LIST flag letter (`b` blocked, `P` pubsub, `x` MULTI); the
/// string reads `N` when no flag is set.
pub fn set_flag(handle: &ClientHandle, flag: char, on: bool) {
    let mut f = handle.flags.lock();
    let mut s: String = f.chars().filter(|&c| c != flag && c != 'N').collect();
    if on {
        s.push(flag);
    }
    if s.is_empty() {
        s.push('N');
    }
    *f = s;
}

/// The part of a client that other connections can see (CLIENT LIST, CLIENT KILL).
pub struct ClientHandle {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address `ip:port`.
    pub addr: String,
    /// Local address `ip:port`.
    pub laddr: String,
    /// Socket file descriptor (for CLIENT LIST's `fd=`).
    pub fd: i64,
    /// Creation time, Unix ms.
    pub created_ms: i64,
    /// Last command time, Unix ms.
    pub last_interaction_ms: AtomicI64,
    /// CLIENT SETNAME.
    pub name: Mutex<Option<Bytes>>,
    /// Selected db.
    pub db: AtomicUsize,
    /// Last command name.
    pub last_cmd: Mutex<&'static str>,
    /// RESP version (2 or 3).
    pub resp: AtomicUsize,
    /// Flags letters for CLIENT LIST (`N` normal, `M` master, `S` replica, `O` monitor...).
    pub flags: Mutex<String>,
    /// CLIENT NO-EVICT.
    pub no_evict: AtomicBool,
    /// Set by CLIENT KILL / shutdown; the connection task closes when it sees it.
    pub killed: AtomicBool,
    /// Wakes the connection task after `killed` is set.
    pub kill_notify: Notify,
    /// Bytes in the query buffer (CLIENT LIST `qbuf=`).
    pub qbuf: AtomicU64,
    /// Commands processed.
    pub commands: AtomicU64,
    /// Channels subscribed (CLIENT LIST `sub=`).
    pub sub: AtomicUsize,
    /// Patterns subscribed (CLIENT LIST `psub=`).
    pub psub: AtomicUsize,
    /// Commands queued in MULTI, -1 outside (CLIENT LIST `multi=`).
    pub multi: AtomicI64,
}

impl ClientHandle {
    /// Asks the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        // Several tasks may wait on one connection (the command loop holds a registered
        // waiter for its whole life, a replica link adds its own): wake all of them, and
        // leave a permit for one that starts waiting later.
        self.kill_notify.notify_waiters();
        self.kill_notify.notify_one();
    }

    /// CLIENT LIST / CLIENT INFO line (without the trailing newline).
    pub fn info_line(&self, now_ms: i64) -> String {
        let name = self
            .name
            .lock()
            .as_ref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let age = (now_ms - self.created_ms).max(0) / 1000;
        let idle = (now_ms - self.last_interaction_ms.load(Ordering::Relaxed)).max(0) / 1000;
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub=0 multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            age,
            idle,
            self.flags.lock(),
            self.db.load(Ordering::Relaxed),
            self.sub.load(Ordering::Relaxed),
            self.psub.load(Ordering::Relaxed),
            self.multi.load(Ordering::Relaxed),
            self.qbuf.load(Ordering::Relaxed),
            self.last_cmd.lock(),
            self.resp.load(Ordering::Relaxed),
        )
    }
}

/// Live clients.
#[derive(Default)]
pub struct Clients {
    map: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    next_id: AtomicU64,
    count: AtomicUsize,
}

impl Clients {
    /// Registers a new client.
    pub fn register(&self, addr: String, laddr: String, fd: i64) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let now = crate::util::now_ms();
        let h = Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created_ms: now,
            last_interaction_ms: AtomicI64::new(now),
            name: Mutex::new(None),
            db: AtomicUsize::new(0),
            last_cmd: Mutex::new("NULL"),
            resp: AtomicUsize::new(2),
            flags: Mutex::new("N".into()),
            no_evict: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            kill_notify: Notify::new(),
            qbuf: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            sub: AtomicUsize::new(0),
            psub: AtomicUsize::new(0),
            multi: AtomicI64::new(-1),
        });
        self.map.lock().insert(id, h.clone());
        self.count.fetch_add(1, Ordering::Relaxed);
        h
    }

    /// Removes a client that disconnected.
    pub fn unregister(&self, id: u64) {
        if self.map.lock().remove(&id).is_some() {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Connected clients.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// A snapshot of all handles, ordered by id.
    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.map.lock().values().cloned().collect()
    }

    /// The handle with this id.
    pub fn get(&self, id: u64) -> Option<Arc<ClientHandle>> {
        self.map.lock().get(&id).cloned()
    }
}
