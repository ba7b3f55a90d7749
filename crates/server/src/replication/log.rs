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

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// The log's state, guarded by one mutex. Lock order: taken after shard locks, never before.
///
/// The bytes live in a ring of `capacity` bytes, allocated as it fills:
/// ```text
///   buf: [ ....newest | oldest.... ]      head = index of the oldest byte held
/// ```
pub struct LogInner {
    buf: Vec<u8>,
    head: usize,
    len: usize,
    capacity: usize,
    end: u64,
    /// Database of the last command appended; a `SELECT` is emitted when it changes.
    last_db: Option<usize>,
    /// Reused encoding buffer, so appends do not allocate.
    scratch: Vec<u8>,
}

impl LogInner {
    /// `master_repl_offset`.
    pub fn end(&self) -> u64 {
        self.end
    }
    /// First offset still held.
    pub fn start(&self) -> u64 {
        self.end - self.len as u64
    }
    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Configured capacity (`repl-backlog-size`).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn push(&mut self, mut bytes: &[u8]) {
        self.end += bytes.len() as u64;
        if bytes.len() >= self.capacity {
            // Only the newest `capacity` bytes can be kept.
            bytes = &bytes[bytes.len() - self.capacity..];
            self.buf.clear();
            self.buf.extend_from_slice(bytes);
            self.head = 0;
            self.len = bytes.len();
            return;
        }
        // Growing phase: the ring has not wrapped yet, so it is a plain vector.
        if self.head == 0 && self.buf.len() == self.len && self.len + bytes.len() <= self.capacity {
            self.buf.extend_from_slice(bytes);
            self.len += bytes.len();
            return;
        }
        if self.buf.len() < self.capacity {
            // Reaching full size now: lay the ring out at its final size (oldest first).
            let mut full = Vec::with_capacity(self.capacity);
            let (a, b) = self.segments(0);
            full.extend_from_slice(a);
            full.extend_from_slice(b);
            full.resize(self.capacity, 0);
            self.buf = full;
            self.head = 0;
        }
        let cap = self.capacity;
        let mut tail = (self.head + self.len) % cap;
        let first = bytes.len().min(cap - tail);
        self.buf[tail..tail + first].copy_from_slice(&bytes[..first]);
        self.buf[..bytes.len() - first].copy_from_slice(&bytes[first..]);
        tail = (tail + bytes.len()) % cap;
        let new_len = self.len + bytes.len();
        if new_len > cap {
            self.len = cap;
            self.head = tail;
        } else {
            self.len = new_len;
        }
    }

    /// The held bytes from `skip` bytes after the oldest, as up to two slices.
    fn segments(&self, skip: usize) -> (&[u8], &[u8]) {
        if skip >= self.len {
            return (&[], &[]);
        }
        let cap = self.buf.len().max(1);
        let start = (self.head + skip) % cap;
        let n = self.len - skip;
        if start + n <= self.buf.len() {
            (&self.buf[start..start + n], &[])
        } else {
            let first = self.buf.len() - start;
            (&self.buf[start..], &self.buf[..n - first])
        }
    }

    /// Copies the bytes from offset `from` to the end, if still held.
    pub fn read_from(&self, from: u64) -> Option<Vec<u8>> {
        if from < self.start() || from > self.end {
            return None;
        }
        let (a, b) = self.segments((from - self.start()) as usize);
        let mut v = Vec::with_capacity(a.len() + b.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        Some(v)
    }

    fn clear(&mut self) {
        self.buf = Vec::new();
        self.head = 0;
        self.len = 0;
    }
}

/// Appends a RESP multibulk to `out` without allocating.
fn encode_argv<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    let mut num = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(num.format(argv.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(num.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// The replication log. See the module docs.
pub struct ReplLog {
    inner: Mutex<LogInner>,
    /// Woken after every append while `readers > 0` (replica feeders wait on it).
    pub appended: Notify,
    /// Number of tasks waiting on `appended`.
    pub readers: std::sync::atomic::AtomicUsize,
}

/// Emits `SELECT db` into `out` when `db` differs from the last one.
fn select(db: usize, out: &mut Vec<u8>, last_db: &mut Option<usize>) {
    if *last_db != Some(db) {
        let mut num = itoa::Buffer::new();
        encode_argv(out, &[&b"SELECT"[..], num.format(db).as_bytes()]);
        *last_db = Some(db);
    }
}

impl ReplLog {
    /// An empty log keeping up to `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        ReplLog {
            inner: Mutex::new(LogInner {
                buf: Vec::new(),
                head: 0,
                len: 0,
                capacity: capacity.max(16 * 1024),
                end: 0,
                last_db: None,
                scratch: Vec::new(),
            }),
            appended: Notify::new(),
            readers: std::sync::atomic::AtomicUsize::new(0),
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
        let mut inner = self.inner.lock();
        let mut out = std::mem::take(&mut inner.scratch);
        out.clear();
        let mut last_db = inner.last_db;
        if multi {
            select(cmds[0].0, &mut out, &mut last_db);
            encode_argv(&mut out, &[&b"MULTI"[..]]);
        }
        for (db, argv) in cmds {
            select(*db, &mut out, &mut last_db);
            encode_argv(&mut out, argv);
        }
        if multi {
            encode_argv(&mut out, &[&b"EXEC"[..]]);
        }
        inner.last_db = last_db;
        inner.push(&out);
        inner.scratch = out;
        drop(inner);
        self.wake_readers();
    }

    /// Appends `effects` and then, if given, one more command borrowed from the caller (the
    /// common case: a write propagated as its own argv, with nothing copied).
    pub fn append_parts(&self, effects: &[(usize, Vec<Bytes>)], own: Option<(usize, &[Bytes])>) {
        let mut inner = self.inner.lock();
        let mut out = std::mem::take(&mut inner.scratch);
        out.clear();
        let mut last_db = inner.last_db;
        for (db, argv) in effects {
            select(*db, &mut out, &mut last_db);
            encode_argv(&mut out, argv);
        }
        if let Some((db, argv)) = own {
            select(db, &mut out, &mut last_db);
            encode_argv(&mut out, argv);
        }
        inner.last_db = last_db;
        inner.push(&out);
        if out.capacity() > 64 * 1024 {
            out = Vec::new();
        }
        inner.scratch = out;
        drop(inner);
        self.wake_readers();
    }

    /// Appends bytes exactly as received from our own master (a replica forwards its master's
    /// stream byte for byte, so the whole chain shares one offset space). The next command this
    /// node generates itself (after a promotion) starts with a `SELECT`.
    pub fn append_raw(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut inner = self.inner.lock();
        inner.push(bytes);
        inner.last_db = None;
        drop(inner);
        self.wake_readers();
    }

    /// Wakes log readers (replica feeders), if any.
    #[inline]
    fn wake_readers(&self) {
        if self.readers.load(std::sync::atomic::Ordering::Relaxed) > 0 {
            self.appended.notify_waiters();
        }
    }

    /// `master_repl_offset`.
    pub fn offset(&self) -> u64 {
        self.inner.lock().end
    }

    /// Empties the log and makes `offset` the current end (after loading a dataset whose
    /// RDB records its replication offset).
    pub fn reset_offset(&self, offset: u64) {
        let mut inner = self.inner.lock();
        inner.clear();
        inner.end = offset;
        inner.last_db = None;
    }

    /// Makes the next append start with a SELECT, so a reader starting at the current offset
    /// (a replica after a full sync) knows the database.
    pub fn force_select(&self) {
        self.inner.lock().last_db = None;
    }

    /// Changes the capacity (CONFIG SET repl-backlog-size), keeping the newest bytes.
    pub fn set_capacity(&self, capacity: usize) {
        let mut inner = self.inner.lock();
        let capacity = capacity.max(16 * 1024);
        let keep = inner.len.min(capacity);
        let (a, b) = inner.segments(inner.len - keep);
        let mut v = Vec::with_capacity(keep);
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        inner.buf = v;
        inner.head = 0;
        inner.len = keep;
        inner.capacity = capacity;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_bytes_at_their_offsets() {
        let log = ReplLog::new(16 * 1024);
        let mut all = Vec::new();
        for i in 0..5000u32 {
            let argv = vec![
                Bytes::from_static(b"SET"),
                Bytes::from(format!("k{i}")),
                Bytes::from(vec![b'v'; (i % 50) as usize]),
            ];
            log.append(&[(0, argv)], false);
        }
        // Rebuild what was written by re-encoding independently.
        let mut last = None;
        for i in 0..5000u32 {
            let argv = vec![
                Bytes::from_static(b"SET"),
                Bytes::from(format!("k{i}")),
                Bytes::from(vec![b'v'; (i % 50) as usize]),
            ];
            select(0, &mut all, &mut last);
            encode_argv(&mut all, &argv);
        }
        let inner = log.lock();
        assert_eq!(inner.end(), all.len() as u64);
        assert_eq!(inner.len(), 16 * 1024);
        let got = inner.read_from(inner.start()).unwrap();
        assert_eq!(&got[..], &all[all.len() - 16 * 1024..]);
        let mid = inner.start() + 1000;
        assert_eq!(&inner.read_from(mid).unwrap()[..], &all[mid as usize..]);
        assert!(inner.read_from(inner.start() - 1).is_none());
    }
}
