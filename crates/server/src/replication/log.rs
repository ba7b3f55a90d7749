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
    /// Replica feeders' next offsets `(id, offset)`: bytes from there on are kept beyond
    /// `capacity` (up to `pin_limit`).
    pins: Vec<(u64, u64)>,
    /// Ids whose pins were dropped for exceeding `pin_limit`.
    dropped_pins: Vec<u64>,
    /// Most bytes a pin may hold (`client-output-buffer-limit replica` hard limit; 0 = none).
    pin_limit: usize,
    /// Redis's "a backlog exists": set once a replica link has read from the log, on a
    /// replica, and on a master restored from an RDB's replication info (INFO reports
    /// `repl_backlog_active:1` and a first byte offset even while the log is empty).
    active: bool,
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
    /// `repl_backlog_active` (see the field).
    pub fn active(&self) -> bool {
        self.active || self.len > 0
    }

    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        let new_end = self.end + n as u64;
        // Oldest offset to keep: the backlog's `capacity` bytes, or further back while a
        // replica still needs them (see `pin`).
        let mut keep_from = new_end.saturating_sub(self.capacity as u64);
        if !self.pins.is_empty() {
            keep_from = self.apply_pins(new_end, keep_from);
        }
        let start = self.start();
        let keep_from = keep_from.max(start);
        self.end = new_end;
        let hold = (new_end - keep_from) as usize;
        if hold <= n {
            // The new bytes alone are all we keep.
            self.buf.clear();
            self.buf.extend_from_slice(&bytes[n - hold..]);
            self.head = 0;
            self.len = hold;
            return;
        }
        let drop_front = (keep_from - start) as usize;
        if drop_front > 0 {
            self.head = (self.head + drop_front) % self.buf.len().max(1);
            self.len -= drop_front;
        }
        // Linear layout with room to grow (the ring has not wrapped): a plain vector.
        if self.head == 0 && self.buf.len() == self.len {
            self.buf.extend_from_slice(bytes);
            self.len += n;
            return;
        }
        if self.buf.len() < self.len + n {
            // Too small (a lagging replica pins old bytes): lay the ring out again, bigger.
            let need = self.len + n;
            let size = if need <= self.capacity {
                self.capacity
            } else {
                need.max(self.buf.len() * 2)
            };
            self.relayout(size);
        }
        let ring = self.buf.len();
        let tail = (self.head + self.len) % ring;
        let first = n.min(ring - tail);
        self.buf[tail..tail + first].copy_from_slice(&bytes[..first]);
        self.buf[..n - first].copy_from_slice(&bytes[first..]);
        self.len += n;
    }

    /// Copies the held bytes, oldest first, into a buffer of `size` bytes (`size >= len`).
    fn relayout(&mut self, size: usize) {
        let mut v = Vec::with_capacity(size);
        let (a, b) = self.segments(0);
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        v.resize(size.max(v.len()), 0);
        self.buf = v;
        self.head = 0;
    }

    /// Lowers `keep_from` to the oldest pinned offset, after dropping the pins that would
    /// hold more than the hard limit (their readers learn it from `pin_dropped`).
    #[cold]
    fn apply_pins(&mut self, new_end: u64, keep_from: u64) -> u64 {
        let limit = if self.pin_limit == 0 {
            u64::MAX
        } else {
            self.pin_limit.max(self.capacity) as u64
        };
        let mut oldest = keep_from;
        let mut i = 0;
        while i < self.pins.len() {
            let (id, off) = self.pins[i];
            if new_end.saturating_sub(off) > limit {
                self.pins.swap_remove(i);
                self.dropped_pins.push(id);
                continue;
            }
            oldest = oldest.min(off);
            i += 1;
        }
        oldest
    }

    /// Shrinks a ring that grew for lagging replicas back to `capacity` once nobody needs
    /// the extra bytes.
    fn maybe_shrink(&mut self) {
        if self.buf.len() <= self.capacity.saturating_mul(2) {
            return;
        }
        let keep_from = self.end.saturating_sub(self.capacity as u64);
        if self.pins.iter().any(|&(_, off)| off < keep_from) {
            return;
        }
        let skip = (keep_from.max(self.start()) - self.start()) as usize;
        self.head = (self.head + skip) % self.buf.len().max(1);
        self.len -= skip;
        self.relayout(self.capacity);
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

    /// Copies up to `max` bytes from offset `from` into `out` (cleared first). False when
    /// `from` is not held.
    pub fn read_into(&self, from: u64, max: usize, out: &mut Vec<u8>) -> bool {
        out.clear();
        if from < self.start() || from > self.end {
            return false;
        }
        let (a, b) = self.segments((from - self.start()) as usize);
        let a_n = a.len().min(max);
        out.extend_from_slice(&a[..a_n]);
        let b_n = b.len().min(max - a_n);
        out.extend_from_slice(&b[..b_n]);
        true
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
                pins: Vec::new(),
                dropped_pins: Vec::new(),
                pin_limit: 0,
                active: false,
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
    /// Returns the log's end offset right after these bytes (what WAIT waits for).
    pub fn append_parts(
        &self,
        effects: &[(usize, Vec<Bytes>)],
        own: Option<(usize, &[Bytes])>,
    ) -> u64 {
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
        let end = inner.end;
        drop(inner);
        self.wake_readers();
        end
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
        inner.active = true;
        drop(inner);
        self.wake_readers();
    }

    /// Appends stream bytes this node generates that must not change the stream's selected
    /// database (keepalive `ping`, `REPLCONF GETACK`).
    /// Returns the offsets before and after them.
    pub fn append_unselected(&self, bytes: &[u8]) -> (u64, u64) {
        let mut inner = self.inner.lock();
        let before = inner.end;
        inner.push(bytes);
        let after = inner.end;
        drop(inner);
        self.wake_readers();
        (before, after)
    }

    /// Keeps the bytes from `offset` on for reader `id` (a replica link), replacing its
    /// previous pin. False when `offset` is no longer held or the pin was dropped for
    /// exceeding the hard limit.
    pub fn pin(&self, id: u64, offset: u64) -> bool {
        let mut inner = self.inner.lock();
        if let Some(i) = inner.dropped_pins.iter().position(|&d| d == id) {
            inner.dropped_pins.swap_remove(i);
            inner.pins.retain(|&(p, _)| p != id);
            return false;
        }
        if offset < inner.start() || offset > inner.end {
            inner.pins.retain(|&(p, _)| p != id);
            return false;
        }
        inner.active = true;
        match inner.pins.iter_mut().find(|(p, _)| *p == id) {
            Some(p) => p.1 = offset,
            None => inner.pins.push((id, offset)),
        }
        inner.maybe_shrink();
        true
    }

    /// True when reader `id`'s pin was dropped for exceeding the hard limit.
    pub fn pin_dropped(&self, id: u64) -> bool {
        self.inner.lock().dropped_pins.contains(&id)
    }

    /// Removes reader `id`'s pin.
    pub fn unpin(&self, id: u64) {
        let mut inner = self.inner.lock();
        inner.pins.retain(|&(p, _)| p != id);
        inner.dropped_pins.retain(|&p| p != id);
        inner.maybe_shrink();
    }

    /// Sets the most bytes one pin may hold (0 = no limit).
    pub fn set_pin_limit(&self, bytes: usize) {
        self.inner.lock().pin_limit = bytes;
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
        inner.active = true;
    }

    /// `repl-backlog-ttl` expired on a master without replicas: drops the held bytes (the
    /// offset stays) and reports no backlog, as Redis's freeReplicationBacklog. Refused
    /// (false) while a reader still pins bytes (a PSYNC being accepted right now).
    pub fn free_backlog(&self) -> bool {
        let mut inner = self.inner.lock();
        if !inner.pins.is_empty() {
            return false;
        }
        inner.clear();
        inner.active = false;
        true
    }

    /// Moves the held bytes `delta` offsets later: a master restarted from an RDB continues
    /// the saved history's offsets after the bytes it logged while loading (the DELs of keys
    /// that expired while it was down). Only used before any replica reads the log.
    pub fn rebase(&self, delta: u64) {
        let mut inner = self.inner.lock();
        debug_assert!(inner.pins.is_empty());
        inner.end += delta;
        inner.active = true;
    }

    /// Makes the next append start with a SELECT, so a reader starting at the current offset
    /// (a replica after a full sync) knows the database.
    pub fn force_select(&self) {
        self.inner.lock().last_db = None;
    }

    /// [`force_select`](Self::force_select) and the current end, atomically: a reader
    /// starting there sees a `SELECT` before the next command.
    pub fn force_select_offset(&self) -> u64 {
        let mut inner = self.inner.lock();
        inner.last_db = None;
        inner.end
    }

    /// Changes the capacity (CONFIG SET repl-backlog-size), keeping the newest bytes.
    pub fn set_capacity(&self, capacity: usize) {
        let mut inner = self.inner.lock();
        let capacity = capacity.max(16 * 1024);
        let pinned = inner
            .pins
            .iter()
            .map(|&(_, off)| (inner.end - off.min(inner.end)) as usize)
            .max()
            .unwrap_or(0);
        let keep = inner.len.min(capacity.max(pinned));
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

    /// Random appends, pins, unpins and capacity changes against a model holding every byte
    /// ever appended: whatever the log holds must be exactly the model's bytes at the same
    /// offsets, the newest `capacity` bytes are always held, and so is every live pin.
    #[test]
    fn random_operations_match_a_model() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..20 {
            let log = ReplLog::new(16 * 1024);
            log.set_pin_limit(if round % 2 == 0 { 0 } else { 100 * 1024 });
            let mut model: Vec<u8> = Vec::new();
            let mut pins: Vec<(u64, u64)> = Vec::new();
            let mut capacity = 16 * 1024usize;
            // The least the log must hold: the newest `capacity` bytes, but bytes dropped
            // before a capacity increase do not come back.
            let mut must_hold = 0usize;
            for step in 0..2000u32 {
                match rng.gen_range(0..100) {
                    0..=79 => {
                        let n = if rng.gen_range(0..50) == 0 {
                            rng.gen_range(1..40_000)
                        } else {
                            rng.gen_range(1..300)
                        };
                        let bytes: Vec<u8> = (0..n).map(|i| (step as usize + i) as u8).collect();
                        log.append_unselected(&bytes);
                        model.extend_from_slice(&bytes);
                        must_hold = (must_hold + n).min(capacity);
                    }
                    80..=89 => {
                        let id = rng.gen_range(0..4u64);
                        let inner = log.lock();
                        let (start, end) = (inner.start(), inner.end());
                        drop(inner);
                        let off = rng.gen_range(start..=end);
                        if log.pin(id, off) {
                            pins.retain(|p| p.0 != id);
                            pins.push((id, off));
                        } else {
                            pins.retain(|p| p.0 != id);
                        }
                    }
                    90..=95 => {
                        let id = rng.gen_range(0..4u64);
                        log.unpin(id);
                        pins.retain(|p| p.0 != id);
                    }
                    _ => {
                        capacity = rng.gen_range(16 * 1024..64 * 1024);
                        log.set_capacity(capacity);
                        must_hold = must_hold.min(capacity);
                    }
                }
                // Pins dropped for the limit are noticed by their readers.
                pins.retain(|&(id, _)| !log.pin_dropped(id));
                let inner = log.lock();
                assert_eq!(inner.end(), model.len() as u64);
                let start = inner.start();
                let held = inner.read_from(start).unwrap();
                assert_eq!(
                    &held[..],
                    &model[start as usize..],
                    "round {round} step {step}"
                );
                assert!(
                    inner.len() >= must_hold,
                    "round {round} step {step}: {} bytes held, {must_hold} expected",
                    inner.len()
                );
                for &(_, off) in &pins {
                    assert!(off >= start, "pinned offset {off} dropped (start {start})");
                }
            }
        }
    }

    #[test]
    fn pins_keep_bytes_beyond_capacity_up_to_the_limit() {
        let log = ReplLog::new(16 * 1024);
        log.set_pin_limit(64 * 1024);
        let chunk = vec![b'x'; 1000];
        log.append_unselected(&chunk);
        assert!(log.pin(7, 500));
        for _ in 0..40 {
            log.append_unselected(&chunk);
        }
        {
            let inner = log.lock();
            assert_eq!(inner.start(), 500);
            assert_eq!(inner.read_from(500).map(|v| v.len()), Some(40_500));
        }
        // Releasing the pin lets the ring go back to its capacity.
        for _ in 0..20 {
            log.append_unselected(&chunk);
        }
        assert!(log.pin(7, log.offset()));
        log.append_unselected(&chunk);
        assert_eq!(log.lock().len(), 16 * 1024);
        // A pin left behind past the limit is dropped.
        for _ in 0..100 {
            log.append_unselected(&chunk);
        }
        assert!(!log.pin(7, log.offset()));
        assert!(log.pin(7, log.offset()));
        log.unpin(7);
    }
}
