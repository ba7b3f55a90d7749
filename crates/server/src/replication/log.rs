//! [`ReplLog`]: the replication log and backlog in one byte buffer addressed by replication
//! offset.
//!
//! ```text
//!   offsets:  start                                   end (= master_repl_offset)
//!               |<------------- buf (<= capacity) ------>|
//!   bytes:      SELECT 0 | SET k v | DEL k | ...          next append goes here
//! ```
//! `end` counts every byte ever appended (plus the offset we started from); `start = end -
//! buf.len()`. A replica that asks to continue from offset `o` can be served when
//! `start <= o <= end`. Appending past `capacity` drops the oldest bytes.

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use std::collections::VecDeque;
use tokio::sync::Notify;

/// The log's state, guarded by one mutex. Lock order: taken after shard locks, never before.
pub struct LogInner {
    buf: VecDeque<u8>,
    capacity: usize,
    end: u64,
    /// Database of the last command appended; a `SELECT` is emitted when it changes.
    last_db: Option<usize>,
}

impl LogInner {
    /// `master_repl_offset`.
    pub fn end(&self) -> u64 {
        self.end
    }
    /// First offset still held.
    pub fn start(&self) -> u64 {
        self.end - self.buf.len() as u64
    }
    /// Bytes held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Configured capacity (`repl-backlog-size`).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes);
        self.end += bytes.len() as u64;
        if self.buf.len() > self.capacity {
            let excess = self.buf.len() - self.capacity;
            self.buf.drain(..excess);
        }
    }

    /// Copies the bytes from offset `from` to the end, if still held.
    pub fn read_from(&self, from: u64) -> Option<Vec<u8>> {
        if from < self.start() || from > self.end {
            return None;
        }
        let skip = (from - self.start()) as usize;
        Some(self.buf.iter().skip(skip).copied().collect())
    }
}

/// The replication log. See the module docs.
pub struct ReplLog {
    inner: Mutex<LogInner>,
    /// Woken after every append (replica feeders wait on it).
    pub appended: Notify,
}

impl ReplLog {
    /// An empty log keeping up to `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        ReplLog {
            inner: Mutex::new(LogInner {
                buf: VecDeque::new(),
                capacity: capacity.max(16 * 1024),
                end: 0,
                last_db: None,
            }),
            appended: Notify::new(),
        }
    }

    /// Locks the log for reading its state.
    pub fn lock(&self) -> parking_lot::MutexGuard<'_, LogInner> {
        self.inner.lock()
    }

    /// Appends commands in order, each prefixed by `SELECT` when its database differs from the
    /// previous command's. With `multi`, the batch is wrapped in `MULTI` ... `EXEC`.
    pub fn append(&self, cmds: &[(usize, Vec<Bytes>)], multi: bool) {
        if cmds.is_empty() {
            return;
        }
        let mut out = BytesMut::with_capacity(64);
        let mut inner = self.inner.lock();
        let mut last_db = inner.last_db;
        let select = |db: usize, out: &mut BytesMut, last_db: &mut Option<usize>| {
            if *last_db != Some(db) {
                let n = itoa::Buffer::new().format(db).as_bytes().to_vec();
                ferrodis_resp::encode_command(&[&b"SELECT"[..], &n[..]], out);
                *last_db = Some(db);
            }
        };
        if multi {
            select(cmds[0].0, &mut out, &mut last_db);
            ferrodis_resp::encode_command(&[&b"MULTI"[..]], &mut out);
        }
        for (db, argv) in cmds {
            select(*db, &mut out, &mut last_db);
            ferrodis_resp::encode_command(argv, &mut out);
        }
        if multi {
            ferrodis_resp::encode_command(&[&b"EXEC"[..]], &mut out);
        }
        inner.last_db = last_db;
        inner.push(&out);
        drop(inner);
        self.appended.notify_waiters();
    }

    /// `master_repl_offset`.
    pub fn offset(&self) -> u64 {
        self.inner.lock().end
    }

    /// Empties the log and makes `offset` the current end (after loading a dataset whose
    /// RDB records its replication offset).
    pub fn reset_offset(&self, offset: u64) {
        let mut inner = self.inner.lock();
        inner.buf.clear();
        inner.end = offset;
        inner.last_db = None;
    }

    /// Makes the next append start with a SELECT, so a reader starting at the current offset
    /// (a replica after a full sync) knows the database.
    pub fn force_select(&self) {
        self.inner.lock().last_db = None;
    }

    /// Changes the capacity (CONFIG SET repl-backlog-size).
    pub fn set_capacity(&self, capacity: usize) {
        let mut inner = self.inner.lock();
        inner.capacity = capacity.max(16 * 1024);
        if inner.buf.len() > inner.capacity {
            let excess = inner.buf.len() - inner.capacity;
            inner.buf.drain(..excess);
        }
    }
}
