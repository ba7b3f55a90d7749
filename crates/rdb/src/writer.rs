//! RDB writer: version 10 files that Redis 7.0 and `redis-check-rdb` accept.
//!
//! Only the plain encodings are written, and Redis re-packs them on load to its own
//! configuration:
//!
//! | value  | type byte                 | body                                         |
//! |--------|---------------------------|----------------------------------------------|
//! | string | 0 STRING                  | string                                       |
//! | list   | 1 LIST                    | count, strings                               |
//! | set    | 2 SET                     | count, strings                               |
//! | hash   | 4 HASH                    | count, (field, value) strings                |
//! | zset   | 5 ZSET_2                  | count, (member string, f64 LE)               |
//! | stream | 19 STREAM_LISTPACKS_2     | nodes (see `stream.rs`), metadata, groups    |
//!
//! Strings use the INT8/16/32 forms when they are canonical 32-bit integers, and LZF
//! when [`WriteOptions::compress`] is set, they are longer than 20 bytes and LZF saves
//! at least 4 bytes (the rules Redis applies). The type-1 list was chosen over
//! QUICKLIST_2 because 7.0 re-packs it with its own `list-max-listpack-size`, whereas
//! quicklist nodes would be loaded verbatim whatever their size.
//!
//! Errors: an `io::Error` of kind `InvalidInput` means the caller passed inconsistent
//! data (an iterator shorter or longer than the declared length, a NaN score); the
//! output is unusable after any error.

use std::io::{self, Write};

use crate::format::{opcodes, types, *};
use crate::listpack::parse_canonical_i64;
use crate::stream::{self, Stream, StreamId};
use crate::{crc64, lzf, Entry, Value};

/// Options of [`Writer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// LZF-compress strings longer than 20 bytes when it saves space (`rdbcompression`).
    pub compress: bool,
    /// Write the real CRC-64 trailer; when false, eight zero bytes (`rdbchecksum no`).
    pub checksum: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compress: true,
            checksum: true,
        }
    }
}

/// Low-level encoder shared by [`Writer`] and DUMP payloads: counts bytes and keeps
/// the running CRC-64 of everything written.
pub(crate) struct Enc<W> {
    w: W,
    crc: u64,
    written: u64,
    compress: bool,
    /// Refuse NaN scores (RDB files); DUMP payloads write them and let RESTORE refuse.
    refuse_nan: bool,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl<W: Write> Enc<W> {
    pub(crate) fn new(w: W, compress: bool) -> Self {
        Enc {
            w,
            crc: 0,
            written: 0,
            compress,
            refuse_nan: true,
        }
    }

    pub(crate) fn allow_nan(mut self) -> Self {
        self.refuse_nan = false;
        self
    }

    pub(crate) fn into_inner(self) -> W {
        self.w
    }

    fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.crc = crc64(self.crc, b);
        self.written += b.len() as u64;
        Ok(())
    }

    /// Length prefix in the smallest form: 6-bit, 14-bit, 32-bit BE or 64-bit BE.
    fn len(&mut self, n: u64) -> io::Result<()> {
        if n < 1 << 6 {
            self.raw(&[(LEN_6BIT << 6) | n as u8])
        } else if n < 1 << 14 {
            self.raw(&[(LEN_14BIT << 6) | (n >> 8) as u8, (n & 0xff) as u8])
        } else if let Ok(n32) = u32::try_from(n) {
            self.raw(&[LEN_32BIT])?;
            self.raw(&n32.to_be_bytes())
        } else {
            self.raw(&[LEN_64BIT])?;
            self.raw(&n.to_be_bytes())
        }
    }

    /// A string: INT-encoded if it is a canonical 32-bit integer, else LZF if enabled
    /// and worthwhile, else raw.
    fn string(&mut self, s: &[u8]) -> io::Result<()> {
        const SPECIAL: u8 = LEN_ENCVAL << 6;
        if s.len() <= 11 {
            if let Some(v) = parse_canonical_i64(s) {
                if let Ok(x) = i8::try_from(v) {
                    return self.raw(&[SPECIAL | ENC_INT8, x as u8]);
                } else if let Ok(x) = i16::try_from(v) {
                    self.raw(&[SPECIAL | ENC_INT16])?;
                    return self.raw(&x.to_le_bytes());
                } else if let Ok(x) = i32::try_from(v) {
                    self.raw(&[SPECIAL | ENC_INT32])?;
                    return self.raw(&x.to_le_bytes());
                }
            }
        }
        if self.compress && s.len() > 20 {
            if let Some(z) = lzf::compress(s) {
                self.raw(&[SPECIAL | ENC_LZF])?;
                self.len(z.len() as u64)?;
                self.len(s.len() as u64)?;
                return self.raw(&z);
            }
        }
        self.len(s.len() as u64)?;
        self.raw(s)
    }

    fn id(&mut self, id: StreamId) -> io::Result<()> {
        self.len(id.ms)?;
        self.len(id.seq)
    }

    fn strings<'a>(
        &mut self,
        what: &str,
        len: usize,
        items: impl IntoIterator<Item = &'a [u8]>,
    ) -> io::Result<()> {
        self.len(len as u64)?;
        let mut n = 0usize;
        for it in items {
            n += 1;
            if n > len {
                break;
            }
            self.string(it)?;
        }
        check_count(what, len, n)
    }

    fn pairs<'a>(
        &mut self,
        len: usize,
        items: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> io::Result<()> {
        self.len(len as u64)?;
        let mut n = 0usize;
        for (f, v) in items {
            n += 1;
            if n > len {
                break;
            }
            self.string(f)?;
            self.string(v)?;
        }
        check_count("hash", len, n)
    }

    fn zset<'a>(
        &mut self,
        len: usize,
        items: impl IntoIterator<Item = (&'a [u8], f64)>,
    ) -> io::Result<()> {
        self.len(len as u64)?;
        let mut n = 0usize;
        for (m, score) in items {
            n += 1;
            if n > len {
                break;
            }
            if score.is_nan() && self.refuse_nan {
                return Err(invalid(
                    "zset score is NaN (Redis refuses to load it)".into(),
                ));
            }
            self.string(m)?;
            self.raw(&score.to_le_bytes())?;
        }
        check_count("zset", len, n)
    }

    fn stream(&mut self, s: &Stream) -> io::Result<()> {
        let nodes = stream::encode_stream_nodes(s);
        self.len(nodes.len() as u64)?;
        for (master, lp) in &nodes {
            self.string(&master.to_be_bytes())?;
            self.string(lp)?;
        }
        self.len(s.length)?;
        self.id(s.last_id)?;
        self.id(s.first_id)?;
        self.id(s.max_deleted_id)?;
        self.len(s.entries_added)?;
        self.len(s.groups.len() as u64)?;
        for g in &s.groups {
            self.string(&g.name)?;
            self.id(g.last_id)?;
            self.len(g.entries_read.unwrap_or(u64::MAX))?;
            // Group PEL: raw 16-byte IDs (not RDB strings), 8-byte LE ms, length.
            self.len(g.pel.len() as u64)?;
            for p in &g.pel {
                self.raw(&p.id.to_be_bytes())?;
                self.raw(&p.delivery_time_ms.to_le_bytes())?;
                self.len(p.delivery_count)?;
            }
            self.len(g.consumers.len() as u64)?;
            for c in &g.consumers {
                self.string(&c.name)?;
                self.raw(&c.seen_time_ms.to_le_bytes())?;
                self.len(c.pending.len() as u64)?;
                for id in &c.pending {
                    self.raw(&id.to_be_bytes())?;
                }
            }
        }
        Ok(())
    }

    /// Type byte + body of a value (the DUMP layout, and an RDB entry minus the key).
    pub(crate) fn typed_value(&mut self, v: &Value) -> io::Result<()> {
        self.raw(&[value_type(v)])?;
        self.value_body(v)
    }

    fn value_body(&mut self, v: &Value) -> io::Result<()> {
        match v {
            Value::String(s) => self.string(s),
            Value::List(l) => self.strings("list", l.len(), l.iter().map(Vec::as_slice)),
            Value::Set(l) => self.strings("set", l.len(), l.iter().map(Vec::as_slice)),
            Value::Hash(h) => {
                self.pairs(h.len(), h.iter().map(|(f, v)| (f.as_slice(), v.as_slice())))
            }
            Value::ZSet(z) => self.zset(z.len(), z.iter().map(|(m, s)| (m.as_slice(), *s))),
            Value::Stream(s) => self.stream(s),
        }
    }

    pub(crate) fn crc(&self) -> u64 {
        self.crc
    }
}

fn check_count(what: &str, len: usize, n: usize) -> io::Result<()> {
    if n != len {
        return Err(invalid(format!(
            "{what} declared {len} items but the iterator yielded {}",
            if n > len {
                "more".to_string()
            } else {
                n.to_string()
            }
        )));
    }
    Ok(())
}

/// The type byte the writer uses for a value.
pub(crate) fn value_type(v: &Value) -> u8 {
    match v {
        Value::String(_) => types::STRING,
        Value::List(_) => types::LIST,
        Value::Set(_) => types::SET,
        Value::Hash(_) => types::HASH,
        Value::ZSet(_) => types::ZSET_2,
        Value::Stream(_) => types::STREAM_LISTPACKS_2,
    }
}

/// Writes an RDB version 10 file to any [`Write`] (a file, a socket, a buffer).
///
/// Sequence: [`Writer::new`], then any number of [`aux`](Writer::aux),
/// [`function`](Writer::function), and per database [`select_db`](Writer::select_db),
/// optional [`resize_db`](Writer::resize_db) and its keys, then [`finish`](Writer::finish).
/// Write calls are small; wrap unbuffered sinks in a [`std::io::BufWriter`].
///
/// Redis 7.0 panics on a duplicate key within a database, exits on a database
/// number >= its `databases` setting, and skips empty collections: the caller
/// must not write those.
pub struct Writer<W: Write> {
    enc: Enc<W>,
    opts: WriteOptions,
}

impl<W: Write> Writer<W> {
    /// Start a file: writes the header `REDIS0010`.
    pub fn new(w: W, opts: WriteOptions) -> io::Result<Self> {
        let mut enc = Enc::new(w, opts.compress);
        enc.raw(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        Ok(Writer { enc, opts })
    }

    /// A writer for a piece of a file's body (no header; end it with
    /// [`into_inner`](Writer::into_inner), not `finish`). Used to serialize parts of a
    /// dataset independently (e.g. one shard at a time) and concatenate them after a header
    /// and before the EOF trailer, which the caller writes and checksums itself.
    pub fn body_only(w: W, opts: WriteOptions) -> Self {
        Writer {
            enc: Enc::new(w, opts.compress),
            opts,
        }
    }

    /// The sink, without writing the EOF trailer (see [`body_only`](Writer::body_only)).
    pub fn into_inner(self) -> W {
        self.enc.into_inner()
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.enc.written
    }

    /// An AUX field (`redis-ver`, `repl-id`, ...).
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.enc.raw(&[opcodes::AUX])?;
        self.enc.string(key)?;
        self.enc.string(value)
    }

    /// Switch to database `db`.
    pub fn select_db(&mut self, db: u64) -> io::Result<()> {
        self.enc.raw(&[opcodes::SELECTDB])?;
        self.enc.len(db)
    }

    /// Size hints for the current database (optional).
    pub fn resize_db(&mut self, db_size: u64, expires: u64) -> io::Result<()> {
        self.enc.raw(&[opcodes::RESIZEDB])?;
        self.enc.len(db_size)?;
        self.enc.len(expires)
    }

    /// A function library (FUNCTION2): its full source, starting `#!lua name=...`.
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.enc.raw(&[opcodes::FUNCTION2])?;
        self.enc.string(code)
    }

    /// LRU idle time (seconds) of the next key. Call before the key's write call.
    pub fn idle(&mut self, seconds: u64) -> io::Result<()> {
        self.enc.raw(&[opcodes::IDLE])?;
        self.enc.len(seconds)
    }

    /// LFU counter of the next key. Call before the key's write call.
    pub fn freq(&mut self, counter: u8) -> io::Result<()> {
        self.enc.raw(&[opcodes::FREQ, counter])
    }

    /// The start of a key: `[EXPIRETIME_MS ms] type key`. The value body must follow;
    /// the `write_*` methods call this for you, so it is only needed to emit a type
    /// this writer has no method for.
    pub fn entry_header(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        rdb_type: u8,
    ) -> io::Result<()> {
        if let Some(ms) = expire_ms {
            self.enc.raw(&[opcodes::EXPIRETIME_MS])?;
            self.enc.raw(&ms.to_le_bytes())?;
        }
        self.enc.raw(&[rdb_type])?;
        self.enc.string(key)
    }

    /// A string key.
    pub fn write_string(
        &mut self,
        key: &[u8],
        value: &[u8],
        expire_ms: Option<i64>,
    ) -> io::Result<()> {
        self.entry_header(key, expire_ms, types::STRING)?;
        self.enc.string(value)
    }

    /// A list key with `len` elements, head first. `items` must yield exactly `len`.
    pub fn write_list<'a, I>(
        &mut self,
        key: &[u8],
        len: usize,
        items: I,
        expire_ms: Option<i64>,
    ) -> io::Result<()>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        self.entry_header(key, expire_ms, types::LIST)?;
        self.enc.strings("list", len, items)
    }

    /// A set key with `len` members. `items` must yield exactly `len` distinct members.
    pub fn write_set<'a, I>(
        &mut self,
        key: &[u8],
        len: usize,
        items: I,
        expire_ms: Option<i64>,
    ) -> io::Result<()>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        self.entry_header(key, expire_ms, types::SET)?;
        self.enc.strings("set", len, items)
    }

    /// A hash key with `len` distinct fields.
    pub fn write_hash<'a, I>(
        &mut self,
        key: &[u8],
        len: usize,
        items: I,
        expire_ms: Option<i64>,
    ) -> io::Result<()>
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        self.entry_header(key, expire_ms, types::HASH)?;
        self.enc.pairs(len, items)
    }

    /// A sorted set key with `len` distinct members (ZSET_2, binary scores). Any order
    /// loads correctly; Redis itself writes highest score first, which makes each
    /// skiplist insert land at the head. NaN scores are refused.
    pub fn write_zset<'a, I>(
        &mut self,
        key: &[u8],
        len: usize,
        items: I,
        expire_ms: Option<i64>,
    ) -> io::Result<()>
    where
        I: IntoIterator<Item = (&'a [u8], f64)>,
    {
        self.entry_header(key, expire_ms, types::ZSET_2)?;
        self.enc.zset(len, items)
    }

    /// A stream key (STREAM_LISTPACKS_2). Entries must ascend by ID; `length` should
    /// equal `entries.len()`; every group PEL entry should be owned by one consumer.
    pub fn write_stream(
        &mut self,
        key: &[u8],
        stream: &Stream,
        expire_ms: Option<i64>,
    ) -> io::Result<()> {
        self.entry_header(key, expire_ms, types::STREAM_LISTPACKS_2)?;
        self.enc.stream(stream)
    }

    /// Any value (convenience over the `write_*` methods).
    pub fn write_value(
        &mut self,
        key: &[u8],
        value: &Value,
        expire_ms: Option<i64>,
    ) -> io::Result<()> {
        self.entry_header(key, expire_ms, value_type(value))?;
        self.enc.value_body(value)
    }

    /// A whole [`Entry`], including its IDLE/FREQ prefixes.
    pub fn write_entry(&mut self, entry: &Entry) -> io::Result<()> {
        if let Some(s) = entry.idle {
            self.idle(s)?;
        }
        if let Some(f) = entry.freq {
            self.freq(f)?;
        }
        self.write_value(&entry.key, &entry.value, entry.expire_ms)
    }

    /// End the file: EOF opcode and CRC-64 (zeros when checksums are off). Flushes
    /// and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.enc.raw(&[opcodes::EOF])?;
        let crc = if self.opts.checksum {
            self.enc.crc()
        } else {
            0
        };
        self.enc.raw(&crc.to_le_bytes())?;
        let mut w = self.enc.into_inner();
        w.flush()?;
        Ok(w)
    }
}
