//! Point-in-time snapshots without fork and without a second copy of the data.
//!
//! ```text
//!   1. barrier   lock every shard, record the log offset O, publish epoch E, unlock
//!   2. worker    for shard in 0..N: lock it; if shard.epoch < E serialize it, mark E; unlock
//!   3. writers   a command about to touch shard s with s.epoch < E serializes s first
//!                (under s's lock) and marks it E, then applies its change
//!   => every shard is serialized exactly once, as it stood at O
//! ```
//! Chunks serialized by writers are queued for the worker, which writes them out between its
//! own shards. Extra memory is those queued chunks, bounded by the shards touched during the
//! save, not a copy of the dataset. Each chunk opens with SELECTDB for every database it
//! holds keys of, so chunks can be written in any order.

use crate::keyspace::{Entry, Shard, Value, SHARDS};
use crate::Server;
use ferrodis_rdb::{WriteOptions, Writer};
use parking_lot::Mutex;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// Snapshot coordination state.
#[derive(Default)]
pub struct Snapshots {
    /// Epoch of the snapshot being taken; 0 when none.
    pub active_epoch: AtomicU64,
    last_epoch: AtomicU64,
    /// Chunks serialized by writers, waiting for the worker.
    pending: Mutex<Vec<Vec<u8>>>,
    /// Only one snapshot at a time.
    running: Mutex<()>,
}

/// What a snapshot captured.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    /// Replication offset the snapshot corresponds to.
    pub offset: u64,
    /// Replication id at that point.
    pub replid: String,
}

impl Snapshots {
    /// Called with a shard's lock held before a command may change it: serializes the shard
    /// for the running snapshot if it has not been yet.
    #[inline]
    pub fn before_touch(&self, shard: &mut Shard) {
        let e = self.active_epoch.load(Ordering::Acquire);
        if e != 0 && shard.snapshot_epoch < e {
            self.serialize_for(shard, e);
        }
    }

    #[cold]
    fn serialize_for(&self, shard: &mut Shard, epoch: u64) {
        let opts = *OPTS.lock();
        match serialize_shard(shard, opts) {
            Ok(chunk) => self.pending.lock().push(chunk),
            Err(e) => tracing::warn!("Snapshot: serializing a shard failed: {e}"),
        }
        shard.snapshot_epoch = epoch;
    }
}

/// Write options of the running snapshot (read by writers serializing on its behalf).
static OPTS: Mutex<WriteOptions> = Mutex::new(WriteOptions {
    compress: true,
    checksum: true,
});

/// Writes one key.
pub fn write_entry<W: Write>(w: &mut Writer<W>, e: &Entry) -> io::Result<()> {
    let exp = (e.expire_at != 0).then_some(e.expire_at);
    let key = e.key.as_slice();
    match &e.value {
        Value::Str(s) => w.write_string(key, s, exp),
        Value::List(l) => w.write_list(key, l.len(), l.iter(), exp),
        Value::Hash(h) => w.write_hash(key, h.len(), h.iter(), exp),
        Value::Set(s) => w.write_set(key, s.len(), s.iter(), exp),
        Value::ZSet(z) => w.write_zset(key, z.len(), z.iter(), exp),
        Value::Stream(s) => w.write_stream(key, s, exp),
    }
}

/// Serializes every database's keys in one shard as an RDB body fragment.
pub fn serialize_shard(shard: &Shard, opts: WriteOptions) -> io::Result<Vec<u8>> {
    let mut w = Writer::body_only(Vec::new(), opts);
    for (db, t) in shard.dbs.iter().enumerate() {
        if t.is_empty() {
            continue;
        }
        w.select_db(db as u64)?;
        w.resize_db(t.len() as u64, t.expires() as u64)?;
        for e in t.iter() {
            write_entry(&mut w, e)?;
        }
    }
    Ok(w.into_inner())
}

/// A writer that computes Redis's CRC-64 of everything passing through.
struct CrcWriter<W> {
    inner: W,
    crc: u64,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = ferrodis_rdb::crc64(self.crc, &buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Takes a snapshot and streams it as a complete RDB file into `out`.
pub fn snapshot_to<W: Write>(
    server: &Server,
    out: W,
    opts: WriteOptions,
) -> io::Result<SnapshotInfo> {
    let snaps = &server.snapshots;
    let _one = snaps.running.lock();
    *OPTS.lock() = opts;
    // 1. Barrier.
    let epoch = snaps.last_epoch.fetch_add(1, Ordering::Relaxed) + 1;
    let (offset, replid) = {
        let guards = server.keyspace.lock_all();
        let offset = server.log.offset();
        let replid = server.replids.lock().0.clone();
        snaps.pending.lock().clear();
        snaps.active_epoch.store(epoch, Ordering::Release);
        drop(guards);
        (offset, replid)
    };
    let result = (|| {
        let mut w = Writer::new(CrcWriter { inner: out, crc: 0 }, opts)?;
        w.aux(b"redis-ver", crate::REDIS_VERSION.as_bytes())?;
        w.aux(b"redis-bits", b"64")?;
        w.aux(
            b"ctime",
            (crate::util::now_ms() / 1000).to_string().as_bytes(),
        )?;
        w.aux(b"used-mem", crate::info::rss_bytes().to_string().as_bytes())?;
        w.aux(b"repl-stream-db", b"0")?;
        w.aux(b"repl-id", replid.as_bytes())?;
        w.aux(b"repl-offset", offset.to_string().as_bytes())?;
        w.aux(b"aof-base", b"0")?;
        let mut sink = w.into_inner();
        // 2. Worker: every shard, in order, unless a writer already did it.
        for i in 0..SHARDS {
            let mut g = server.keyspace.lock(i);
            let mine = if g.snapshot_epoch < epoch {
                let chunk = serialize_shard(&g, opts);
                g.snapshot_epoch = epoch;
                Some(chunk)
            } else {
                None
            };
            drop(g);
            if let Some(chunk) = mine {
                sink.write_all(&chunk?)?;
            }
            let queued = std::mem::take(&mut *snaps.pending.lock());
            for c in queued {
                sink.write_all(&c)?;
            }
        }
        sink.write_all(&[ferrodis_rdb::format::opcodes::EOF])?;
        let crc = if opts.checksum { sink.crc } else { 0 };
        sink.inner.write_all(&crc.to_le_bytes())?;
        sink.inner.flush()?;
        Ok(())
    })();
    // Whatever happened, end the epoch so writers stop serializing.
    snaps.active_epoch.store(0, Ordering::Release);
    snaps.pending.lock().clear();
    result.map(|()| SnapshotInfo { offset, replid })
}
