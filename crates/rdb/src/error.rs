//! Errors of the RDB reader and of DUMP payload parsing.
//!
//! Every error carries the byte offset at which it was detected (relative to the
//! start of the RDB file, or of the DUMP payload) and says what was expected there.
//! Errors found *inside* a blob (listpack, ziplist, intset, zipmap, LZF data) report
//! the offset of the string that holds the blob, and name the position inside the
//! blob in the message, because a compressed blob has no file offsets of its own.

use std::fmt;

/// An error while reading an RDB file or a DUMP payload.
#[derive(Debug)]
pub struct RdbError {
    /// Byte offset (from the first byte of the input) where the problem was found.
    pub offset: u64,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl RdbError {
    pub(crate) fn new(offset: u64, kind: ErrorKind) -> Self {
        RdbError { offset, kind }
    }

    pub(crate) fn corrupt(offset: u64, expected: impl Into<String>) -> Self {
        RdbError::new(offset, ErrorKind::Corrupt(expected.into()))
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (title, detail) = self.kind.parts();
        write!(f, "{title} at offset {}: {detail}", self.offset)
    }
}

impl std::error::Error for RdbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// The kinds of [`RdbError`], named by how a caller reacts to them.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended early (a truncated file or connection). The string names
    /// what was being read.
    UnexpectedEof(&'static str),
    /// The underlying reader failed.
    Io(std::io::Error),
    /// The first bytes are not `REDIS` + 4 digits.
    BadMagic,
    /// The file declares a version this reader does not handle (0 or > 10).
    UnsupportedVersion(u32),
    /// The bytes are present but do not follow the format. The string says what was expected.
    Corrupt(String),
    /// An object type byte this reader does not know (e.g. 7.4's hashes with field TTLs).
    UnknownType(u8),
    /// Module data (MODULE_AUX opcode or module value types 6/7); we support no modules.
    Module(String),
    /// The CRC-64 trailer does not match the data.
    ChecksumMismatch {
        /// The checksum stored in the file.
        stored: u64,
        /// The checksum computed over the data.
        computed: u64,
    },
    /// A DUMP payload's RDB version is newer than 10 or its CRC-64 is wrong.
    /// A server replies `ERR DUMP payload version or checksum are wrong`.
    DumpVersionOrChecksum,
}

impl ErrorKind {
    fn parts(&self) -> (&'static str, String) {
        match self {
            ErrorKind::UnexpectedEof(what) => {
                ("unexpected end of RDB data", format!("expected {what}"))
            }
            ErrorKind::Io(e) => ("I/O error", e.to_string()),
            ErrorKind::BadMagic => (
                "not an RDB file",
                "expected \"REDIS\" followed by 4 version digits".into(),
            ),
            ErrorKind::UnsupportedVersion(v) => (
                "unsupported RDB version",
                format!("expected a version between 1 and 10 (Redis 7.0), found {v}"),
            ),
            ErrorKind::Corrupt(what) => ("corrupt RDB data", what.clone()),
            ErrorKind::UnknownType(t) => (
                "unknown RDB object type",
                format!("expected an object type (0-5, 9-21) or opcode, found byte {t}"),
            ),
            ErrorKind::Module(what) => ("unsupported module data", what.clone()),
            ErrorKind::ChecksumMismatch { stored, computed } => (
                "wrong RDB checksum",
                format!("expected CRC-64 {computed:#018x}, file has {stored:#018x}"),
            ),
            ErrorKind::DumpVersionOrChecksum => (
                "DUMP payload version or checksum are wrong",
                "expected RDB version <= 10 and a matching CRC-64".into(),
            ),
        }
    }
}
