//! Streaming RDB reader.
//!
//! [`Reader`] pulls one [`Item`] at a time from any [`std::io::Read`] and never reads
//! past the CRC-64 trailer, so it can consume an RDB embedded in a replication stream
//! (the bytes after it stay in the source). It does no buffering of its own: wrap a
//! file or socket in a [`std::io::BufReader`].
//!
//! Memory safety against hostile input: every length read from the file is only
//! trusted as far as the bytes really present. Strings are read in bounded chunks,
//! collection capacities are capped, and LZF output sizes are bounded by what the
//! compressed bytes could possibly produce.
//!
//! Object decoding (shared with DUMP payloads) lives in [`Input::read_object`].

use std::io::{self, Read};

use crate::error::{ErrorKind, RdbError};
use crate::format::{opcodes, types, *};
use crate::listpack::{self, Elem};
use crate::stream::{self, Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId};
use crate::{crc64, intset, lzf, ziplist, zipmap, Entry, Item, Value};

/// Preallocation cap for collections whose count comes from the input.
const MAX_PREALLOC: usize = 1024;
/// Strings are read in chunks of this size, so a huge declared length costs memory
/// only as real bytes arrive.
const READ_CHUNK: usize = 64 * 1024;

fn cap(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).min(MAX_PREALLOC)
}

/// A byte source that counts the offset and keeps the running CRC-64.
pub(crate) struct Input<R> {
    r: R,
    offset: u64,
    crc: u64,
}

/// A length prefix: either a length or a special string encoding (`11xxxxxx`).
enum Len {
    Len(u64),
    Enc(u8),
}

impl<R: Read> Input<R> {
    pub(crate) fn new(r: R) -> Self {
        Input {
            r,
            offset: 0,
            crc: 0,
        }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    fn fill(&mut self, buf: &mut [u8], what: &'static str) -> Result<(), RdbError> {
        let mut done = 0;
        while done < buf.len() {
            match self.r.read(&mut buf[done..]) {
                Ok(0) => {
                    return Err(RdbError::new(
                        self.offset + done as u64,
                        ErrorKind::UnexpectedEof(what),
                    ))
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RdbError::new(self.offset + done as u64, ErrorKind::Io(e))),
            }
        }
        self.crc = crc64(self.crc, buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.fill(&mut b, what)?;
        Ok(b)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, RdbError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Exactly `n` bytes, allocated as they arrive.
    fn bytes(&mut self, n: u64, what: &'static str) -> Result<Vec<u8>, RdbError> {
        let n = usize::try_from(n).map_err(|_| {
            RdbError::corrupt(self.offset, format!("{what} of {n} bytes is too long"))
        })?;
        let mut v = Vec::with_capacity(n.min(READ_CHUNK));
        while v.len() < n {
            let start = v.len();
            let step = (n - start).min(READ_CHUNK);
            v.resize(start + step, 0);
            self.fill(&mut v[start..], what)?;
        }
        Ok(v)
    }

    fn len_or_enc(&mut self, what: &'static str) -> Result<Len, RdbError> {
        let at = self.offset;
        let b = self.u8(what)?;
        Ok(match b >> 6 {
            LEN_6BIT => Len::Len(u64::from(b & 0x3f)),
            LEN_14BIT => Len::Len((u64::from(b & 0x3f) << 8) | u64::from(self.u8(what)?)),
            LEN_ENCVAL => Len::Enc(b & 0x3f),
            _ => match b {
                LEN_32BIT => Len::Len(u64::from(u32::from_be_bytes(self.array(what)?))),
                LEN_64BIT => Len::Len(u64::from_be_bytes(self.array(what)?)),
                _ => {
                    return Err(RdbError::corrupt(
                        at,
                        format!("{what}: invalid length prefix byte {b:#04x}"),
                    ))
                }
            },
        })
    }

    /// A length (count, db number, ID part...).
    pub(crate) fn len(&mut self, what: &'static str) -> Result<u64, RdbError> {
        let at = self.offset;
        match self.len_or_enc(what)? {
            Len::Len(n) => Ok(n),
            Len::Enc(e) => Err(RdbError::corrupt(
                at,
                format!("{what}: expected a length, found string encoding {e}"),
            )),
        }
    }

    /// A string in any form: raw, INT8/16/32 (as decimal text) or LZF.
    pub(crate) fn string(&mut self, what: &'static str) -> Result<Vec<u8>, RdbError> {
        let at = self.offset;
        match self.len_or_enc(what)? {
            Len::Len(n) => self.bytes(n, what),
            Len::Enc(ENC_INT8) => Ok((self.array::<1>(what)?[0] as i8).to_string().into_bytes()),
            Len::Enc(ENC_INT16) => Ok(i16::from_le_bytes(self.array(what)?)
                .to_string()
                .into_bytes()),
            Len::Enc(ENC_INT32) => Ok(i32::from_le_bytes(self.array(what)?)
                .to_string()
                .into_bytes()),
            Len::Enc(ENC_LZF) => {
                let clen = self.len(what)?;
                let ulen = self.len(what)?;
                // A compressed byte yields at most MAX_EXPANSION output bytes; anything
                // larger is a lie we must not allocate for.
                if ulen > clen.saturating_mul(lzf::MAX_EXPANSION) || clen == 0 {
                    return Err(RdbError::corrupt(
                        at,
                        format!("{what}: LZF string of {clen} compressed bytes cannot hold {ulen} bytes"),
                    ));
                }
                let data = self.bytes(clen, what)?;
                let len = usize::try_from(ulen).map_err(|_| {
                    RdbError::corrupt(at, format!("{what}: LZF length {ulen} too large"))
                })?;
                lzf::decompress(&data, len)
                    .map_err(|e| RdbError::corrupt(at, format!("{what}: {e}")))
            }
            Len::Enc(e) => Err(RdbError::corrupt(
                at,
                format!("{what}: invalid string encoding {e}"),
            )),
        }
    }

    fn f64_le(&mut self, what: &'static str) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    fn i64_le(&mut self, what: &'static str) -> Result<i64, RdbError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// Legacy text double (type 3): length byte (253 NaN, 254 +inf, 255 -inf) then ASCII.
    fn text_double(&mut self, what: &'static str) -> Result<f64, RdbError> {
        let at = self.offset;
        let n = self.u8(what)?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let b = self.bytes(u64::from(n), what)?;
                listpack::parse_f64(&b)
                    .ok_or_else(|| RdbError::corrupt(at, format!("{what}: not a number")))
            }
        }
    }

    fn stream_id(&mut self, what: &'static str) -> Result<StreamId, RdbError> {
        Ok(StreamId {
            ms: self.len(what)?,
            seq: self.len(what)?,
        })
    }

    fn raw_stream_id(&mut self, what: &'static str) -> Result<StreamId, RdbError> {
        Ok(StreamId::from_be_bytes(self.array(what)?))
    }

    /// Decode the object of type `ty` (its type byte has already been read at `type_at`).
    pub(crate) fn read_object(&mut self, ty: u8, type_at: u64) -> Result<Value, RdbError> {
        match ty {
            types::STRING => Ok(Value::String(self.string("string value")?)),
            types::LIST | types::SET => {
                let n = self.len("collection length")?;
                let mut v = Vec::with_capacity(cap(n));
                for _ in 0..n {
                    v.push(self.string("collection element")?);
                }
                Ok(if ty == types::LIST {
                    Value::List(v)
                } else {
                    Value::Set(v)
                })
            }
            types::ZSET | types::ZSET_2 => {
                let n = self.len("zset length")?;
                let mut v = Vec::with_capacity(cap(n));
                for _ in 0..n {
                    let m = self.string("zset member")?;
                    let s = if ty == types::ZSET {
                        self.text_double("zset score")?
                    } else {
                        self.f64_le("zset score")?
                    };
                    v.push((m, s));
                }
                Ok(Value::ZSet(v))
            }
            types::HASH => {
                let n = self.len("hash length")?;
                let mut v = Vec::with_capacity(cap(n));
                for _ in 0..n {
                    let f = self.string("hash field")?;
                    v.push((f, self.string("hash value")?));
                }
                Ok(Value::Hash(v))
            }
            types::MODULE | types::MODULE_2 => Err(RdbError::new(
                type_at,
                ErrorKind::Module(format!(
                    "module value (type {ty}); no modules are supported"
                )),
            )),
            types::HASH_ZIPMAP => {
                let (at, blob) = self.blob("hash zipmap")?;
                let pairs = zipmap::parse(&blob).map_err(|e| RdbError::corrupt(at, e))?;
                Ok(Value::Hash(
                    pairs
                        .into_iter()
                        .map(|(f, v)| (f.to_vec(), v.to_vec()))
                        .collect(),
                ))
            }
            types::LIST_ZIPLIST => {
                let (at, blob) = self.blob("list ziplist")?;
                let elems = ziplist::parse(&blob).map_err(|e| RdbError::corrupt(at, e))?;
                Ok(Value::List(elems.into_iter().map(Elem::to_bytes).collect()))
            }
            types::SET_INTSET => {
                let (at, blob) = self.blob("set intset")?;
                let ints = intset::parse(&blob).map_err(|e| RdbError::corrupt(at, e))?;
                Ok(Value::Set(
                    ints.into_iter()
                        .map(|i| i.to_string().into_bytes())
                        .collect(),
                ))
            }
            types::SET_LISTPACK => {
                let (at, blob) = self.blob("set listpack")?;
                let elems = listpack::parse(&blob).map_err(|e| RdbError::corrupt(at, e))?;
                Ok(Value::Set(elems.into_iter().map(Elem::to_bytes).collect()))
            }
            types::ZSET_ZIPLIST | types::ZSET_LISTPACK => {
                let (at, elems) = self.packed(ty == types::ZSET_LISTPACK, "zset")?;
                let pairs = pairs(&elems).ok_or_else(|| {
                    RdbError::corrupt(at, "zset blob: expected an even element count")
                })?;
                let mut v = Vec::with_capacity(pairs.len());
                for (m, s) in pairs {
                    let score = s.as_f64().ok_or_else(|| {
                        RdbError::corrupt(at, "zset blob: expected a numeric score")
                    })?;
                    v.push((m.to_bytes(), score));
                }
                Ok(Value::ZSet(v))
            }
            types::HASH_ZIPLIST | types::HASH_LISTPACK => {
                let (at, elems) = self.packed(ty == types::HASH_LISTPACK, "hash")?;
                let pairs = pairs(&elems).ok_or_else(|| {
                    RdbError::corrupt(at, "hash blob: expected an even element count")
                })?;
                Ok(Value::Hash(
                    pairs
                        .into_iter()
                        .map(|(f, v)| (f.to_bytes(), v.to_bytes()))
                        .collect(),
                ))
            }
            types::LIST_QUICKLIST | types::LIST_QUICKLIST_2 => {
                self.quicklist(ty == types::LIST_QUICKLIST_2)
            }
            types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 | types::STREAM_LISTPACKS_3 => {
                let version = match ty {
                    types::STREAM_LISTPACKS => 1,
                    types::STREAM_LISTPACKS_2 => 2,
                    _ => 3,
                };
                Ok(Value::Stream(Box::new(self.stream(version)?)))
            }
            _ => Err(RdbError::new(type_at, ErrorKind::UnknownType(ty))),
        }
    }

    /// A string holding a blob, with the offset where it started (for error reports).
    fn blob(&mut self, what: &'static str) -> Result<(u64, Vec<u8>), RdbError> {
        let at = self.offset;
        Ok((at, self.string(what)?))
    }

    /// Read a listpack or ziplist blob and decode it into owned elements.
    fn packed(
        &mut self,
        is_listpack: bool,
        what: &'static str,
    ) -> Result<(u64, Vec<OwnedElem>), RdbError> {
        let (at, blob) = self.blob(if is_listpack {
            "listpack blob"
        } else {
            "ziplist blob"
        })?;
        let parsed = if is_listpack {
            listpack::parse(&blob)
        } else {
            ziplist::parse(&blob)
        };
        let elems = parsed.map_err(|e| RdbError::corrupt(at, format!("{what}: {e}")))?;
        Ok((at, elems.into_iter().map(OwnedElem::from).collect()))
    }

    fn quicklist(&mut self, v2: bool) -> Result<Value, RdbError> {
        let nodes = self.len("quicklist node count")?;
        let mut items = Vec::new();
        for _ in 0..nodes {
            let container = if v2 {
                let at = self.offset;
                let c = self.len("quicklist node container")?;
                if c != QUICKLIST_NODE_PLAIN && c != QUICKLIST_NODE_PACKED {
                    return Err(RdbError::corrupt(
                        at,
                        format!("quicklist node container 1 or 2, found {c}"),
                    ));
                }
                c
            } else {
                QUICKLIST_NODE_PACKED
            };
            let (at, blob) = self.blob("quicklist node")?;
            if container == QUICKLIST_NODE_PLAIN {
                items.push(blob);
                continue;
            }
            let parsed = if v2 {
                listpack::parse(&blob)
            } else {
                ziplist::parse(&blob)
            };
            let elems =
                parsed.map_err(|e| RdbError::corrupt(at, format!("quicklist node: {e}")))?;
            items.extend(elems.into_iter().map(Elem::to_bytes));
        }
        Ok(Value::List(items))
    }

    /// Stream value; `version` 1 = type 15, 2 = type 19, 3 = type 21.
    fn stream(&mut self, version: u8) -> Result<Stream, RdbError> {
        let nodes = self.len("stream node count")?;
        let mut entries: Vec<StreamEntry> = Vec::new();
        let mut layout = Vec::new();
        let mut last_master: Option<StreamId> = None;
        for _ in 0..nodes {
            let (at, key) = self.blob("stream node key")?;
            let key: [u8; 16] = key.try_into().map_err(|k: Vec<u8>| {
                RdbError::corrupt(
                    at,
                    format!("stream node key of 16 bytes, found {}", k.len()),
                )
            })?;
            let master = StreamId::from_be_bytes(key);
            if last_master.is_some_and(|m| m >= master) {
                return Err(RdbError::corrupt(at, "stream node keys in ascending order"));
            }
            last_master = Some(master);
            let (at, lp) = self.blob("stream node listpack")?;
            layout.push(
                stream::decode_node(master, &lp, &mut entries)
                    .map_err(|e| RdbError::corrupt(at, e))?,
            );
        }
        let at = self.offset;
        let length = self.len("stream length")?;
        if length > 0 && nodes == 0 {
            return Err(RdbError::corrupt(
                at,
                format!("stream of length {length} has no nodes"),
            ));
        }
        let last_id = self.stream_id("stream last ID")?;
        let (first_id, max_deleted_id, entries_added) = if version >= 2 {
            (
                self.stream_id("stream first ID")?,
                self.stream_id("stream max deleted ID")?,
                self.len("stream entries added")?,
            )
        } else {
            (
                entries.first().map(|e| e.id).unwrap_or_default(),
                StreamId::default(),
                length,
            )
        };
        let ngroups = self.len("stream consumer group count")?;
        let mut groups = Vec::with_capacity(cap(ngroups));
        for _ in 0..ngroups {
            let name = self.string("consumer group name")?;
            let last_id = self.stream_id("consumer group last ID")?;
            let entries_read = if version >= 2 {
                Some(self.len("consumer group entries read")?).filter(|&n| n != u64::MAX)
            } else {
                None
            };
            let npel = self.len("group PEL size")?;
            let mut pel = Vec::with_capacity(cap(npel));
            for _ in 0..npel {
                let id = self.raw_stream_id("group PEL entry ID")?;
                let delivery_time_ms = self.i64_le("PEL delivery time")?;
                let delivery_count = self.len("PEL delivery count")?;
                pel.push(PendingEntry {
                    id,
                    delivery_time_ms,
                    delivery_count,
                });
            }
            let pel_ids: std::collections::HashSet<StreamId> = pel.iter().map(|p| p.id).collect();
            let ncons = self.len("consumer count")?;
            let mut consumers = Vec::with_capacity(cap(ncons));
            for _ in 0..ncons {
                let name = self.string("consumer name")?;
                let seen_time_ms = self.i64_le("consumer seen time")?;
                let active_time_ms = if version >= 3 {
                    Some(self.i64_le("consumer active time")?)
                } else {
                    None
                };
                let n = self.len("consumer PEL size")?;
                let mut pending = Vec::with_capacity(cap(n));
                for _ in 0..n {
                    let at = self.offset;
                    let id = self.raw_stream_id("consumer PEL entry ID")?;
                    if !pel_ids.contains(&id) {
                        return Err(RdbError::corrupt(
                            at,
                            "consumer PEL ID that is present in the group PEL (not found)",
                        ));
                    }
                    pending.push(id);
                }
                consumers.push(Consumer {
                    name,
                    seen_time_ms,
                    active_time_ms,
                    pending,
                });
            }
            groups.push(ConsumerGroup {
                name,
                last_id,
                entries_read,
                pel,
                consumers,
            });
        }
        Ok(Stream {
            entries,
            length,
            last_id,
            first_id,
            max_deleted_id,
            entries_added,
            groups,
            nodes: layout,
        })
    }
}

/// An owned listpack/ziplist element.
#[derive(Debug, Clone)]
pub(crate) enum OwnedElem {
    Int(i64),
    Str(Vec<u8>),
}

impl From<Elem<'_>> for OwnedElem {
    fn from(e: Elem<'_>) -> Self {
        match e {
            Elem::Int(i) => OwnedElem::Int(i),
            Elem::Str(s) => OwnedElem::Str(s.to_vec()),
        }
    }
}

impl OwnedElem {
    fn as_elem(&self) -> Elem<'_> {
        match self {
            OwnedElem::Int(i) => Elem::Int(*i),
            OwnedElem::Str(s) => Elem::Str(s),
        }
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.as_elem().to_bytes()
    }
    fn as_f64(&self) -> Option<f64> {
        self.as_elem().as_f64()
    }
}

fn pairs(elems: &[OwnedElem]) -> Option<Vec<(&OwnedElem, &OwnedElem)>> {
    if elems.len() & 1 == 1 {
        return None;
    }
    Some(elems.chunks_exact(2).map(|c| (&c[0], &c[1])).collect())
}

/// Reads an RDB file item by item.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ferrodis_rdb::{Item, Reader};
/// let file = std::io::BufReader::new(std::fs::File::open("dump.rdb")?);
/// let mut rdb = Reader::new(file)?;
/// loop {
///     match rdb.next_item()? {
///         Item::Entry(e) => println!("{:?}", e.key),
///         Item::End => break,
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Reader<R: Read> {
    input: Input<R>,
    version: u32,
    done: bool,
    last_type: Option<u8>,
}

impl<R: Read> Reader<R> {
    /// Read and check the 9-byte header `REDIS` + 4 digits (versions 1..=10).
    pub fn new(r: R) -> Result<Self, RdbError> {
        let mut input = Input::new(r);
        let magic: [u8; 9] = input.array("the 9-byte header \"REDIS00NN\"")?;
        if &magic[..5] != b"REDIS" || !magic[5..].iter().all(u8::is_ascii_digit) {
            return Err(RdbError::new(0, ErrorKind::BadMagic));
        }
        let version = magic[5..]
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
        if version == 0 || version > RDB_VERSION {
            return Err(RdbError::new(5, ErrorKind::UnsupportedVersion(version)));
        }
        Ok(Reader {
            input,
            version,
            done: false,
            last_type: None,
        })
    }

    /// The RDB version from the header.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The object type byte of the last [`Item::Entry`] returned (e.g. 16 for a hash
    /// listpack), for diagnostics and tests.
    pub fn last_object_type(&self) -> Option<u8> {
        self.last_type
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// The next item. After [`Item::End`] the CRC-64 trailer (version >= 5) has been
    /// read and, unless it is all zeros ("checksum disabled"), verified. Calling again
    /// after the end returns `End` again without reading.
    pub fn next_item(&mut self) -> Result<Item, RdbError> {
        if self.done {
            return Ok(Item::End);
        }
        let mut expire_ms = None;
        let mut idle = None;
        let mut freq = None;
        loop {
            let at = self.input.offset();
            let op = self.input.u8("an opcode or object type")?;
            match op {
                opcodes::EOF => {
                    if self.version >= 5 {
                        let computed = self.input.crc;
                        let stored =
                            u64::from_le_bytes(self.input.array("the 8-byte CRC-64 trailer")?);
                        if stored != 0 && stored != computed {
                            return Err(RdbError::new(
                                at + 1,
                                ErrorKind::ChecksumMismatch { stored, computed },
                            ));
                        }
                    }
                    self.done = true;
                    return Ok(Item::End);
                }
                opcodes::SELECTDB => return Ok(Item::SelectDb(self.input.len("database number")?)),
                opcodes::RESIZEDB => {
                    let db_size = self.input.len("RESIZEDB database size")?;
                    let expires_size = self.input.len("RESIZEDB expires size")?;
                    return Ok(Item::ResizeDb {
                        db_size,
                        expires_size,
                    });
                }
                opcodes::AUX => {
                    let key = self.input.string("AUX field name")?;
                    let value = self.input.string("AUX field value")?;
                    return Ok(Item::Aux { key, value });
                }
                opcodes::FUNCTION2 => {
                    return Ok(Item::Function(
                        self.input.string("function library source")?,
                    ))
                }
                opcodes::FUNCTION_PRE_GA => {
                    // 7.0-rc form: name, engine, has-description flag, [description], code.
                    let name = self.input.string("function name")?;
                    let engine = self.input.string("function engine")?;
                    if self.input.len("function description flag")? != 0 {
                        self.input.string("function description")?;
                    }
                    let code = self.input.string("function code")?;
                    let mut src = b"#!".to_vec();
                    src.extend_from_slice(&engine);
                    src.extend_from_slice(b" name=");
                    src.extend_from_slice(&name);
                    src.push(b'\n');
                    src.extend_from_slice(&code);
                    return Ok(Item::Function(src));
                }
                opcodes::MODULE_AUX => {
                    return Err(RdbError::new(
                        at,
                        ErrorKind::Module(
                            "MODULE_AUX data (opcode 247); no modules are supported".into(),
                        ),
                    ))
                }
                opcodes::EXPIRETIME_MS => {
                    expire_ms = Some(self.input.i64_le("8-byte expire time in ms")?)
                }
                opcodes::EXPIRETIME => {
                    let secs =
                        i32::from_le_bytes(self.input.array("4-byte expire time in seconds")?);
                    expire_ms = Some(i64::from(secs) * 1000);
                }
                opcodes::IDLE => idle = Some(self.input.len("LRU idle time")?),
                opcodes::FREQ => freq = Some(self.input.u8("LFU frequency byte")?),
                ty => {
                    if !matches!(ty, 0..=7 | 9..=21) {
                        return Err(RdbError::new(at, ErrorKind::UnknownType(ty)));
                    }
                    let key = self.input.string("key")?;
                    let value = self.input.read_object(ty, at)?;
                    self.last_type = Some(ty);
                    return Ok(Item::Entry(Entry {
                        key,
                        value,
                        expire_ms,
                        idle,
                        freq,
                    }));
                }
            }
        }
    }

    /// Give back the underlying reader (positioned right after the last item read).
    pub fn into_inner(self) -> R {
        self.input.r
    }
}

/// Read a whole in-memory RDB file into items (the last one is [`Item::End`]).
/// Meant for tools and fuzz targets.
pub fn read_all(data: &[u8]) -> Result<Vec<Item>, RdbError> {
    let mut r = Reader::new(data)?;
    let mut items = Vec::new();
    loop {
        let item = r.next_item()?;
        let end = matches!(item, Item::End);
        items.push(item);
        if end {
            return Ok(items);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Legacy encodings Redis 7.0 no longer writes, built by hand.
    use super::*;
    use crate::listpack::Builder;
    use crate::ziplist::tests::build as ziplist;

    /// RDB string with a length prefix < 64 bytes or a 32-bit length.
    fn st(out: &mut Vec<u8>, s: &[u8]) {
        if s.len() < 64 {
            out.push(s.len() as u8);
        } else {
            out.push(0x80);
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        }
        out.extend_from_slice(s);
    }

    fn file(version: u32, body: &[u8]) -> Vec<u8> {
        let mut f = format!("REDIS{version:04}").into_bytes();
        f.extend_from_slice(body);
        f.push(0xff);
        if version >= 5 {
            let crc = crc64(0, &f);
            f.extend_from_slice(&crc.to_le_bytes());
        }
        f
    }

    fn only_entry(f: &[u8]) -> Entry {
        let items = read_all(f).unwrap();
        let mut entries = items.into_iter().filter_map(|i| {
            if let Item::Entry(e) = i {
                Some(e)
            } else {
                None
            }
        });
        let e = entries.next().expect("one entry");
        assert!(entries.next().is_none());
        e
    }

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn plain_list_and_text_zset_in_version_4_without_crc() {
        let mut body = vec![0xfd];
        body.extend_from_slice(&1_700_000_000i32.to_le_bytes());
        body.push(types::LIST);
        st(&mut body, b"l");
        body.push(2);
        st(&mut body, b"a");
        body.extend_from_slice(&[0xc0, 0xfb]); // INT8 -5
        let f = file(4, &body);
        let e = only_entry(&f);
        assert_eq!(e.value, Value::List(vec![v("a"), v("-5")]));
        assert_eq!(e.expire_ms, Some(1_700_000_000_000));

        let mut body = vec![types::ZSET];
        st(&mut body, b"z");
        body.push(4);
        for (m, score) in [
            (&b"a"[..], &b"1.5"[..]),
            (b"b", b"\xfe"),
            (b"c", b"\xff"),
            (b"d", b"\xfd"),
        ] {
            st(&mut body, m);
            if score.len() == 1 && score[0] >= 253 {
                body.push(score[0]);
            } else {
                body.push(score.len() as u8);
                body.extend_from_slice(score);
            }
        }
        let Value::ZSet(z) = only_entry(&file(3, &body)).value else {
            panic!()
        };
        assert_eq!(z[0], (v("a"), 1.5));
        assert_eq!(z[1], (v("b"), f64::INFINITY));
        assert_eq!(z[2], (v("c"), f64::NEG_INFINITY));
        assert!(z[3].1.is_nan());
    }

    #[test]
    fn zipmap_and_ziplists() {
        let mut body = vec![types::HASH_ZIPMAP];
        st(&mut body, b"h");
        st(&mut body, b"\x01\x03foo\x03\x01barX\xff");
        assert_eq!(
            only_entry(&file(3, &body)).value,
            Value::Hash(vec![(v("foo"), v("bar"))])
        );

        let zl = ziplist(&[Elem::Str(b"x"), Elem::Int(7), Elem::Int(-300)]);
        let mut body = vec![types::LIST_ZIPLIST];
        st(&mut body, b"l");
        st(&mut body, &zl);
        assert_eq!(
            only_entry(&file(6, &body)).value,
            Value::List(vec![v("x"), v("7"), v("-300")])
        );

        let zl = ziplist(&[
            Elem::Str(b"m"),
            Elem::Str(b"2.5"),
            Elem::Str(b"n"),
            Elem::Int(3),
        ]);
        let mut body = vec![types::ZSET_ZIPLIST];
        st(&mut body, b"z");
        st(&mut body, &zl);
        assert_eq!(
            only_entry(&file(9, &body)).value,
            Value::ZSet(vec![(v("m"), 2.5), (v("n"), 3.0)])
        );

        let zl = ziplist(&[
            Elem::Str(b"f"),
            Elem::Int(1),
            Elem::Str(b"g"),
            Elem::Str(b"h"),
        ]);
        let mut body = vec![types::HASH_ZIPLIST];
        st(&mut body, b"h");
        st(&mut body, &zl);
        assert_eq!(
            only_entry(&file(9, &body)).value,
            Value::Hash(vec![(v("f"), v("1")), (v("g"), v("h"))])
        );
        // Odd element count is refused.
        let zl = ziplist(&[Elem::Str(b"f")]);
        let mut body = vec![types::HASH_ZIPLIST];
        st(&mut body, b"h");
        st(&mut body, &zl);
        assert!(read_all(&file(9, &body)).is_err());

        let mut body = vec![types::LIST_QUICKLIST];
        st(&mut body, b"q");
        body.push(2);
        st(&mut body, &ziplist(&[Elem::Str(b"a"), Elem::Str(b"b")]));
        st(&mut body, &ziplist(&[Elem::Int(1)]));
        assert_eq!(
            only_entry(&file(8, &body)).value,
            Value::List(vec![v("a"), v("b"), v("1")])
        );
    }

    #[test]
    fn set_listpack_quicklist2_plain_and_function_pre_ga() {
        let mut lp = Builder::new();
        lp.push(b"a");
        lp.push(b"12");
        let mut body = vec![types::SET_LISTPACK];
        st(&mut body, b"s");
        st(&mut body, &lp.finish());
        assert_eq!(
            only_entry(&file(10, &body)).value,
            Value::Set(vec![v("a"), v("12")])
        );

        let mut lp = Builder::new();
        lp.push(b"x");
        let mut body = vec![types::LIST_QUICKLIST_2];
        st(&mut body, b"l");
        body.push(2);
        body.push(QUICKLIST_NODE_PLAIN as u8);
        st(&mut body, &[b'p'; 100]);
        body.push(QUICKLIST_NODE_PACKED as u8);
        st(&mut body, &lp.finish());
        assert_eq!(
            only_entry(&file(10, &body)).value,
            Value::List(vec![vec![b'p'; 100], v("x")])
        );
        body[4] = 3; // container 3 is invalid
        let err = read_all(&file(10, &body)).unwrap_err();
        assert!(err.to_string().contains("container"), "{err}");

        let mut body = vec![opcodes::FUNCTION_PRE_GA];
        st(&mut body, b"lib");
        st(&mut body, b"LUA");
        body.push(1);
        st(&mut body, b"desc");
        st(&mut body, b"return 1");
        let items = read_all(&file(10, &body)).unwrap();
        assert_eq!(items[0], Item::Function(v("#!LUA name=lib\nreturn 1")));
    }

    /// A type-15 stream (v1 metadata) and a type-21 one (v3 consumers) built from the
    /// node encoder.
    #[test]
    fn stream_v1_and_v3() {
        let entries = vec![
            StreamEntry {
                id: StreamId::new(10, 1),
                fields: vec![(v("a"), v("1"))],
            },
            StreamEntry {
                id: StreamId::new(12, 0),
                fields: vec![(v("b"), v("x"))],
            },
        ];
        let nodes = stream::encode_nodes(&entries);
        let mut body = vec![types::STREAM_LISTPACKS];
        st(&mut body, b"s");
        body.push(nodes.len() as u8);
        for (id, lp) in &nodes {
            st(&mut body, &id.to_be_bytes());
            st(&mut body, lp);
        }
        body.extend_from_slice(&[2, 12, 0]); // length, last id
        body.extend_from_slice(&[1]); // one group
        st(&mut body, b"g");
        body.extend_from_slice(&[12, 0, 1]); // last id, PEL size
        body.extend_from_slice(&StreamId::new(10, 1).to_be_bytes());
        body.extend_from_slice(&5i64.to_le_bytes());
        body.push(1);
        body.push(1);
        st(&mut body, b"c");
        body.extend_from_slice(&6i64.to_le_bytes());
        body.push(1);
        body.extend_from_slice(&StreamId::new(10, 1).to_be_bytes());
        let Value::Stream(s) = only_entry(&file(9, &body)).value else {
            panic!()
        };
        assert_eq!(s.entries, entries);
        assert_eq!(
            (s.length, s.entries_added, s.first_id),
            (2, 2, StreamId::new(10, 1))
        );
        assert_eq!(s.groups[0].entries_read, None);
        assert_eq!(s.groups[0].consumers[0].pending, vec![StreamId::new(10, 1)]);
        assert_eq!(s.groups[0].consumers[0].active_time_ms, None);

        // Consumer PEL naming an ID absent from the group PEL.
        let mut bad = body.clone();
        let n = bad.len();
        bad[n - 1] = 9;
        assert!(read_all(&file(9, &bad)).is_err());

        // Type 21: v2 metadata plus consumer active time.
        let mut body3 = vec![types::STREAM_LISTPACKS_3];
        st(&mut body3, b"s");
        body3.push(nodes.len() as u8);
        for (id, lp) in &nodes {
            st(&mut body3, &id.to_be_bytes());
            st(&mut body3, lp);
        }
        body3.extend_from_slice(&[2, 12, 0, 10, 1, 0, 0, 3]); // length, last, first, max deleted, added
        body3.push(1);
        st(&mut body3, b"g");
        body3.extend_from_slice(&[12, 0, 2, 0, 1]); // last id, entries read, PEL size 0, 1 consumer
        st(&mut body3, b"c");
        body3.extend_from_slice(&6i64.to_le_bytes());
        body3.extend_from_slice(&7i64.to_le_bytes());
        body3.push(0);
        let Value::Stream(s) = only_entry(&file(10, &body3)).value else {
            panic!()
        };
        assert_eq!(s.entries_added, 3);
        assert_eq!(s.groups[0].entries_read, Some(2));
        assert_eq!(s.groups[0].consumers[0].active_time_ms, Some(7));
    }
}
