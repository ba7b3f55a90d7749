//! Redis RDB files (version 10, Redis 7.0): a streaming reader and writer, CRC-64,
//! and DUMP/RESTORE payloads. No server code lives here.
//!
//! * [`Reader`] reads items ([`Item`]) one at a time from any `Read`. It accepts every
//!   encoding Redis 7.0 and older write (RDB versions 1 to 10): all string forms
//!   (INT8/16/32, LZF), plain types, zipmap, ziplist, intset, listpack, quicklist 1
//!   and 2, and streams with consumer groups. Every blob is validated, so hostile input
//!   produces an [`RdbError`] naming the byte offset and what was expected, never a
//!   panic or an outsized allocation.
//! * [`Writer`] writes the plain encodings Redis re-packs on load (see `writer.rs`),
//!   borrowing the data through iterators so a server need not clone its dataset.
//! * [`dump_payload`] / [`parse_dump_payload`]: the `DUMP`/`RESTORE` format.
//! * [`crc64`]: Redis's CRC-64 (Jones).
//!
//! Module map: `format` (opcode and type constants), `reader`, `writer`, `stream`
//! (stream types and node listpacks), `listpack`, `ziplist`, `intset`, `zipmap`,
//! `lzf`, `crc64`, `error`. The byte layouts are described at the top of each.

mod crc64;
mod error;
pub mod format;
mod intset;
mod listpack;
mod lzf;
mod reader;
mod stream;
mod writer;
mod ziplist;
mod zipmap;

pub use crate::crc64::crc64;
pub use crate::error::{ErrorKind, RdbError};
pub use crate::reader::{read_all, Reader};
pub use crate::stream::{
    Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId, StreamNode,
};
pub use crate::writer::{WriteOptions, Writer};

/// A key's value, decoded from whatever encoding the file used.
///
/// Integers stored in compact encodings (intsets, listpack/ziplist integers,
/// INT-encoded strings) come back as their decimal text, as Redis returns them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    String(Vec<u8>),
    /// A list, head first.
    List(Vec<Vec<u8>>),
    /// A set's members (in file order).
    Set(Vec<Vec<u8>>),
    /// A hash's field/value pairs (in file order).
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// A sorted set's member/score pairs (in file order). Type 3 files may carry NaN
    /// scores, which Redis refuses to load.
    ZSet(Vec<(Vec<u8>, f64)>),
    /// A stream.
    Stream(Box<Stream>),
}

/// One key.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: Vec<u8>,
    /// The value. Collections may be empty (Redis skips such keys when loading).
    pub value: Value,
    /// Absolute expire time, unix milliseconds (EXPIRETIME seconds are converted).
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (IDLE opcode).
    pub idle: Option<u64>,
    /// LFU counter (FREQ opcode).
    pub freq: Option<u8>,
}

/// One item of an RDB file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An AUX field (`redis-ver`, `repl-id`, ...). Unknown keys should be ignored.
    Aux {
        /// Field name.
        key: Vec<u8>,
        /// Field value (integers as decimal text).
        value: Vec<u8>,
    },
    /// Following keys belong to this database.
    SelectDb(u64),
    /// Size hints for the current database.
    ResizeDb {
        /// Number of keys.
        db_size: u64,
        /// Number of keys with an expire.
        expires_size: u64,
    },
    /// A key.
    Entry(Entry),
    /// A function library's source (`#!lua name=...`).
    Function(Vec<u8>),
    /// End of file; the checksum has been verified.
    End,
}

/// The RDB version written in DUMP payloads.
const DUMP_VERSION: u16 = 10;

/// Serialize a value as Redis `DUMP` does:
///
/// ```text
/// type byte | object body | RDB version u16 LE (10) | CRC-64 LE of all preceding bytes
/// ```
pub fn dump_payload(value: &Value) -> Vec<u8> {
    let mut enc = writer::Enc::new(Vec::new(), true).allow_nan();
    // A Vec sink never fails, a Value's lengths match its iterators, and NaN is allowed.
    enc.typed_value(value)
        .expect("encoding a Value into a Vec cannot fail");
    let mut out = enc.into_inner();
    out.extend_from_slice(&DUMP_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Parse a `DUMP` payload (as `RESTORE` receives it). A version above 10 or a wrong
/// CRC-64 gives [`ErrorKind::DumpVersionOrChecksum`] (the server replies
/// `ERR DUMP payload version or checksum are wrong`); other problems give the usual
/// errors, with offsets relative to the start of the payload.
pub fn parse_dump_payload(payload: &[u8]) -> Result<Value, RdbError> {
    if payload.len() < 10 {
        return Err(RdbError::new(0, ErrorKind::DumpVersionOrChecksum));
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&footer[2..]);
    if version > DUMP_VERSION
        || crc64(0, &payload[..payload.len() - 8]) != u64::from_le_bytes(stored)
    {
        return Err(RdbError::new(
            body.len() as u64,
            ErrorKind::DumpVersionOrChecksum,
        ));
    }
    let mut input = reader::Input::new(body);
    let ty = input.u8("the object type byte")?;
    if !matches!(ty, 0..=7 | 9..=21) {
        return Err(RdbError::new(0, ErrorKind::UnknownType(ty)));
    }
    let value = input.read_object(ty, 0)?;
    if input.offset() != body.len() as u64 {
        return Err(RdbError::corrupt(
            input.offset(),
            "end of the DUMP object (trailing bytes found)",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_dump_roundtrip() {
        let mut s = Stream::default();
        s.entries.push(StreamEntry {
            id: StreamId::new(5, 0),
            fields: vec![(b"a".to_vec(), b"b".to_vec())],
        });
        s.length = 1;
        s.groups.push(ConsumerGroup {
            name: b"g".to_vec(),
            last_id: StreamId::new(5, 0),
            entries_read: Some(1),
            pel: vec![PendingEntry {
                id: StreamId::new(5, 0),
                delivery_time_ms: 77,
                delivery_count: 2,
            }],
            consumers: vec![Consumer {
                name: b"c".to_vec(),
                seen_time_ms: 9,
                active_time_ms: None,
                pending: vec![StreamId::new(5, 0)],
            }],
        });
        let v = Value::Stream(Box::new(s));
        let p = dump_payload(&v);
        assert_eq!(parse_dump_payload(&p).unwrap(), v);
    }
}
