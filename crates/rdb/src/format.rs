//! Opcode and object-type bytes. These values are stored on disk and on the wire by
//! every Redis version, so they are fixed forever (see Redis's `rdb.h`).

/// Highest RDB version this crate reads (Redis 7.0), and the version it writes.
pub const RDB_VERSION: u32 = 10;

/// Object type bytes (what follows the optional expire/idle/freq prefix of a key).
pub mod types {
    /// A string: one RDB string.
    pub const STRING: u8 = 0;
    /// A list: count + strings (Redis <= 3.0 writes it; 7.0 still loads it).
    pub const LIST: u8 = 1;
    /// A set: count + strings.
    pub const SET: u8 = 2;
    /// A sorted set with text scores (Redis <= 3.2).
    pub const ZSET: u8 = 3;
    /// A hash: count + field/value strings.
    pub const HASH: u8 = 4;
    /// A sorted set with 8-byte little-endian binary scores.
    pub const ZSET_2: u8 = 5;
    /// Module value (4.0 release candidates), cannot be skipped.
    pub const MODULE: u8 = 6;
    /// Module value with opcode-tagged data.
    pub const MODULE_2: u8 = 7;
    /// Hash as a zipmap blob (Redis <= 2.4).
    pub const HASH_ZIPMAP: u8 = 9;
    /// List as one ziplist blob (2.4 .. 3.0).
    pub const LIST_ZIPLIST: u8 = 10;
    /// Set as an intset blob.
    pub const SET_INTSET: u8 = 11;
    /// Sorted set as a ziplist of member, score (2.4 .. 6.2).
    pub const ZSET_ZIPLIST: u8 = 12;
    /// Hash as a ziplist of field, value (2.6 .. 6.2).
    pub const HASH_ZIPLIST: u8 = 13;
    /// List as a quicklist of ziplist nodes (3.2 .. 6.2).
    pub const LIST_QUICKLIST: u8 = 14;
    /// Stream, v1 metadata (5.0 .. 6.2).
    pub const STREAM_LISTPACKS: u8 = 15;
    /// Hash as a listpack (7.0).
    pub const HASH_LISTPACK: u8 = 16;
    /// Sorted set as a listpack (7.0).
    pub const ZSET_LISTPACK: u8 = 17;
    /// List as a quicklist of PLAIN/PACKED nodes (7.0).
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// Stream, v2 metadata (7.0).
    pub const STREAM_LISTPACKS_2: u8 = 19;
    /// Set as a listpack (7.2; Redis 7.0 cannot load it).
    pub const SET_LISTPACK: u8 = 20;
    /// Stream, v3 metadata with consumer active-time (7.2; Redis 7.0 cannot load it).
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Opcodes: bytes that take the place of a type byte.
pub mod opcodes {
    /// Function library source (7.0).
    pub const FUNCTION2: u8 = 245;
    /// Function, 7.0 release-candidate form.
    pub const FUNCTION_PRE_GA: u8 = 246;
    /// Module auxiliary data.
    pub const MODULE_AUX: u8 = 247;
    /// LRU idle time in seconds of the next key.
    pub const IDLE: u8 = 248;
    /// LFU counter of the next key.
    pub const FREQ: u8 = 249;
    /// Auxiliary field: two strings.
    pub const AUX: u8 = 250;
    /// Hash table size hints for the current database.
    pub const RESIZEDB: u8 = 251;
    /// Absolute expire time of the next key, 8-byte LE milliseconds.
    pub const EXPIRETIME_MS: u8 = 252;
    /// Absolute expire time of the next key, 4-byte LE seconds (old files).
    pub const EXPIRETIME: u8 = 253;
    /// Switch database.
    pub const SELECTDB: u8 = 254;
    /// End of file (followed by the CRC-64 when version >= 5).
    pub const EOF: u8 = 255;
}

/// Quicklist-2 node containers.
pub(crate) const QUICKLIST_NODE_PLAIN: u64 = 1;
pub(crate) const QUICKLIST_NODE_PACKED: u64 = 2;

/// Length-prefix forms (top two bits of the first byte, see `reader::Input::read_len_or_enc`).
pub(crate) const LEN_6BIT: u8 = 0;
pub(crate) const LEN_14BIT: u8 = 1;
pub(crate) const LEN_32BIT: u8 = 0x80;
pub(crate) const LEN_64BIT: u8 = 0x81;
pub(crate) const LEN_ENCVAL: u8 = 3;

/// Special string encodings (low 6 bits after the `11` marker).
pub(crate) const ENC_INT8: u8 = 0;
pub(crate) const ENC_INT16: u8 = 1;
pub(crate) const ENC_INT32: u8 = 2;
pub(crate) const ENC_LZF: u8 = 3;
