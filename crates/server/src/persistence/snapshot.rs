//! Point-in-time snapshots without fork and without a second copy of the data.
//!
//! ```text
//!   1. barrier   lock every shard, record the log offset O, publish epoch E, unlock
//!   2. worker    for shard in 0..N: lock it; if shard.epoch < E serialize it, mark E; unlock
//!   3. commands  about to touch key k in shard s with s.epoch < E: if k has no pre-image yet,
//!                record k's serialized value (or "absent") as its pre-image, then go on
//!   => the worker writes each shard as it stood at O: current entries for untouched keys,
//!      pre-images for touched ones
//! ```
//! This is copy-on-write at key granularity: extra memory is the pre-images of the keys
//! written during the save (Redis's fork copies a 4 KiB page per first write instead). The
//! rare commands that rewrite whole databases (FLUSHALL, FLUSHDB, SWAPDB) serialize the
//! untouched shards they hold into queued chunks first. Each chunk opens with SELECTDB for
//! every database it holds keys of, so chunks can be written in any order.

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
    /// The dirty counter at the barrier (changes the snapshot contains).
    pub dirty: u64,
    /// `persist.abort_generation` at the barrier.
    pub generation: u64,
}

impl Snapshots {
    /// True while a snapshot is being taken.
    #[inline]
    pub fn active(&self) -> bool {
        self.active_epoch.load(Ordering::Acquire) != 0
    }

    /// Called with the key's shard locked before a command may change `key` (in any
    /// database): records the key's pre-image if the shard is not serialized yet.
    #[inline]
    pub fn before_key_touch(&self, shard: &mut Shard, key: &[u8]) {
        let e = self.active_epoch.load(Ordering::Acquire);
        if e != 0 && shard.snapshot_epoch < e {
            record_preimages(shard, key);
        }
    }

    /// True when the active expiry cycle must leave this shard alone for now (its keys'
    /// point-in-time images are still needed).
    pub fn shard_pending(&self, shard: &Shard) -> bool {
        let e = self.active_epoch.load(Ordering::Acquire);
        e != 0 && shard.snapshot_epoch < e
    }

    /// Called with a shard's lock held before a command may rewrite it wholesale: serializes
    /// the shard for the running snapshot if it has not been yet.
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

#[cold]
fn record_preimages(shard: &mut Shard, key: &[u8]) {
    let opts = *OPTS.lock();
    for db in 0..shard.dbs.len() {
        let k = (db, Box::<[u8]>::from(key));
        if shard.preimages.contains_key(&k) {
            continue;
        }
        let img = shard.dbs[db].get(key).map(|e| {
            let mut w = Writer::body_only(Vec::new(), opts);
            match write_entry(&mut w, e) {
                Ok(()) => w.into_inner(),
                Err(err) => {
                    tracing::warn!("Snapshot: serializing a key failed: {err}");
                    Vec::new()
                }
            }
        });
        shard.preimages.insert(k, img);
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
    match crate::keyspace::access::rdb_hint(e.access) {
        crate::keyspace::access::RdbHint::None => {}
        crate::keyspace::access::RdbHint::Idle(s) => w.idle(s)?,
        crate::keyspace::access::RdbHint::Freq(f) => w.freq(f)?,
    }
    match &e.value {
        Value::Str(s) => w.write_string(key, s, exp),
        Value::List(l) => w.write_list(key, l.len(), l.iter(), exp),
        Value::Hash(h) => w.write_hash(key, h.len(), h.iter(), exp),
        Value::Set(s) => {
            // Intset members are formatted on the fly, so collect them first.
            let members: Vec<std::borrow::Cow<'_, [u8]>> = s.iter().collect();
            w.write_set(key, s.len(), members.iter().map(|m| m.as_ref()), exp)
        }
        Value::ZSet(z) => w.write_zset(key, z.len(), z.iter(), exp),
        Value::Stream(s) => w.write_stream(key, s, exp),
    }
}

/// Serializes every database's keys in one shard as an RDB body fragment, as they stood
/// at the snapshot's start: keys touched since then are written from their pre-images. The
/// pre-images are consumed.
pub fn serialize_shard(shard: &mut Shard, opts: WriteOptions) -> io::Result<Vec<u8>> {
    let pre = std::mem::take(&mut shard.preimages);
    let mut w = Writer::body_only(Vec::new(), opts);
    for (db, t) in shard.dbs.iter().enumerate() {
        let mut selected = false;
        let mut select = |w: &mut Writer<Vec<u8>>| -> io::Result<()> {
            if !selected {
                selected = true;
                w.select_db(db as u64)?;
            }
            Ok(())
        };
        for e in t.iter() {
            if !pre.is_empty() && pre.contains_key(&(db, Box::<[u8]>::from(e.key.as_slice()))) {
                continue;
            }
            select(&mut w)?;
            write_entry(&mut w, e)?;
        }
        for ((pdb, _), img) in pre.iter() {
            if *pdb == db {
                if let Some(bytes) = img {
                    if !bytes.is_empty() {
                        select(&mut w)?;
                        let mut inner = w.into_inner();
                        inner.extend_from_slice(bytes);
                        w = Writer::body_only(inner, opts);
                    }
                }
            }
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

/// The AUX fields Redis 7.0 writes, in its order.
pub fn write_aux<W: Write>(
    w: &mut Writer<W>,
    replid: &str,
    offset: u64,
    stream_db: usize,
) -> io::Result<()> {
    w.aux(b"redis-ver", crate::REDIS_VERSION.as_bytes())?;
    w.aux(b"redis-bits", b"64")?;
    w.aux(
        b"ctime",
        (crate::util::now_ms() / 1000).to_string().as_bytes(),
    )?;
    w.aux(b"used-mem", crate::info::rss_bytes().to_string().as_bytes())?;
    w.aux(b"repl-stream-db", stream_db.to_string().as_bytes())?;
    w.aux(b"repl-id", replid.as_bytes())?;
    w.aux(b"repl-offset", offset.to_string().as_bytes())?;
    w.aux(b"aof-base", b"0")
}

/// Takes a snapshot and streams it as a complete RDB file into `out`.
pub fn snapshot_to<W: Write>(
    server: &Server,
    out: W,
    opts: WriteOptions,
) -> io::Result<SnapshotInfo> {
    snapshot_to_notify(server, out, opts, || {})
}

/// [`snapshot_to`], calling `on_barrier` as soon as the point in time is fixed (BGSAVE
/// replies only then, so that, as with Redis's fork inside the command, every write
/// acknowledged before the reply is in the snapshot and none sent after it is). Stops early
/// with an `Interrupted` error when `persist.abort_generation` moves (FLUSHALL).
pub fn snapshot_to_notify<W: Write>(
    server: &Server,
    out: W,
    opts: WriteOptions,
    on_barrier: impl FnOnce(),
) -> io::Result<SnapshotInfo> {
    snapshot_to_at(server, out, opts, |_, _| on_barrier())
}

/// [`snapshot_to_notify`], telling `on_barrier` the offset and replication id the snapshot
/// is taken at (a full sync sends `+FULLRESYNC <replid> <offset>` then).
pub fn snapshot_to_at<W: Write>(
    server: &Server,
    out: W,
    opts: WriteOptions,
    on_barrier: impl FnOnce(u64, &str),
) -> io::Result<SnapshotInfo> {
    let snaps = &server.snapshots;
    let _one = snaps.running.lock();
    *OPTS.lock() = opts;
    // 1. Barrier.
    let epoch = snaps.last_epoch.fetch_add(1, Ordering::Relaxed) + 1;
    let (offset, replid, dirty, generation, stream_db) = {
        let guards = server.keyspace.lock_all();
        server.log.force_select();
        let offset = server.log.offset();
        let stream_db = crate::replication::replica::stream_db(server);
        let replid = server.replids.lock().0.clone();
        // Writers add to `dirty` before releasing their shard locks: exact at the barrier.
        let dirty = server.dirty.load(Ordering::Relaxed);
        let generation = server.persist.abort_generation.load(Ordering::Acquire);
        snaps.pending.lock().clear();
        snaps.active_epoch.store(epoch, Ordering::Release);
        drop(guards);
        (offset, replid, dirty, generation, stream_db)
    };
    on_barrier(offset, &replid);
    let aborted = || {
        if server.persist.abort_generation.load(Ordering::Acquire) != generation {
            Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "snapshot aborted (FLUSHALL)",
            ))
        } else {
            Ok(())
        }
    };
    // `rdb-key-save-delay` (tests): slept per shard after its lock is released, so clients
    // keep being served while the save crawls, as with Redis's forked child.
    let mut delay = super::delay::KeyDelay::from_config(server, "rdb-key-save-delay");
    let result = (|| {
        let mut w = Writer::new(CrcWriter { inner: out, crc: 0 }, opts)?;
        write_aux(&mut w, &replid, offset, stream_db)?;
        let mut sink = w.into_inner();
        // 2. Worker: every shard, in order, unless a writer already did it.
        for i in 0..SHARDS {
            aborted()?;
            let mut g = server.keyspace.lock(i);
            let mut keys = 0u64;
            let mine = if g.snapshot_epoch < epoch {
                if delay.is_some() {
                    keys = g.dbs.iter().map(|t| t.len() as u64).sum();
                }
                let chunk = serialize_shard(&mut g, opts);
                g.snapshot_epoch = epoch;
                Some(chunk)
            } else {
                None
            };
            drop(g);
            if let Some(d) = delay.as_mut() {
                d.keys(keys, || aborted().is_err());
            }
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
    // Whatever happened, end the epoch so writers stop serializing, and drop leftovers.
    snaps.active_epoch.store(0, Ordering::Release);
    if result.is_err() {
        for mut g in server.keyspace.lock_all() {
            g.preimages.clear();
        }
    }
    snaps.pending.lock().clear();
    result.map(|()| SnapshotInfo {
        offset,
        replid,
        dirty,
        generation,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::client::Client;
    use crate::dispatch::{self, LocalStats};
    use crate::Server;
    use bytes::{Bytes, BytesMut};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn server() -> Arc<Server> {
        Server::new(ferrodis_config::Config {
            repl_backlog_size: 256 * 1024 * 1024,
            ..Default::default()
        })
    }

    fn client(s: &Server, master: bool) -> Client {
        let h = s.clients.register("test:0".into(), "test:0".into(), -1);
        let mut c = Client::new(h, true);
        c.is_master = master;
        c
    }

    fn run(s: &Server, c: &mut Client, args: &[&str]) {
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let _ = dispatch::run(s, c, &argv, &mut LocalStats::default());
    }

    /// Every string key in every db, sorted (also used by the replica's unit tests).
    pub(crate) fn contents(s: &Server) -> Vec<(usize, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for g in s.keyspace.lock_all() {
            for (db, t) in g.dbs.iter().enumerate() {
                for e in t.iter() {
                    if let crate::keyspace::Value::Str(v) = &e.value {
                        out.push((db, e.key.to_vec(), v.to_vec()));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The property replication relies on: the snapshot taken at offset O, plus the log
    /// from O on, rebuilds exactly the live dataset, even with writers running throughout.
    #[test]
    fn snapshot_plus_log_after_offset_equals_live_state() {
        let s = server();
        let mut c = client(&s, false);
        for i in 0..5000 {
            run(&s, &mut c, &["SET", &format!("k{i}"), "init"]);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let (s, stop) = (s.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut c = client(&s, false);
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let k = format!("k{}", (n * 7919 + w * 31) % 6000);
                        match n % 4 {
                            0 => run(&s, &mut c, &["SET", &k, &format!("w{w}-{n}")]),
                            1 => run(&s, &mut c, &["DEL", &k]),
                            2 => run(&s, &mut c, &["APPEND", &k, "x"]),
                            _ => run(&s, &mut c, &["SELECT", &(n % 3).to_string()]),
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut rdb = Vec::new();
        let info = super::snapshot_to(&s, &mut rdb, ferrodis_rdb::WriteOptions::default())
            .expect("snapshot");
        std::thread::sleep(std::time::Duration::from_millis(20));
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().expect("writer");
        }
        // Rebuild: load the snapshot, then apply the log from the snapshot's offset.
        let r = server();
        crate::persistence::load::load_from(&r, &rdb[..]).expect("load");
        let tail = s
            .log
            .lock()
            .read_from(info.offset)
            .expect("log still holds the tail");
        let mut buf = BytesMut::from(&tail[..]);
        let mut parser = ferrodis_resp::RequestParser::new();
        let mut m = client(&r, true);
        while let Some(argv) = parser
            .parse(&mut buf, &ferrodis_resp::Limits::default())
            .expect("log parses")
        {
            let _ = dispatch::run(&r, &mut m, &argv, &mut LocalStats::default());
        }
        assert!(buf.is_empty());
        assert_eq!(contents(&r), contents(&s));
    }
}
