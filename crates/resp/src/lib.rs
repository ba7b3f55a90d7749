//! RESP2/RESP3 wire format, shared by the server, the CLI, the replication link and the tools.
//!
//! * [`Frame`] is one RESP value (RESP2 and RESP3 types alike).
//! * [`RequestParser`] is the server side: it turns a read buffer into commands (`Vec<Bytes>`),
//!   multibulk or inline, incrementally and without copying argument bytes.
//! * [`decode`] is the client side: it decodes any reply frame from a buffer, `Ok(None)` when
//!   more bytes are needed.
//! * [`Frame::encode`] writes a frame for a RESP2 or RESP3 peer (RESP3-only types are
//!   downgraded for RESP2 peers the way Redis does it).
//!
//! No server code and no I/O lives here.
#![warn(missing_docs)]

mod decode;
mod encode;
mod frame;
mod request;

pub use decode::decode;
pub use encode::{encode_command, fmt_double};
pub use frame::Frame;
pub use request::{split_args, Limits, RequestParser};

/// Why a byte stream is not valid RESP. The `Display` text is what Redis puts after
/// `-ERR Protocol error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// `*<count>` is not a number or out of range.
    #[error("invalid multibulk length")]
    InvalidMultibulkLength,
    /// `$<len>` is not a number, negative, or above `proto-max-bulk-len`.
    #[error("invalid bulk length")]
    InvalidBulkLength,
    /// Inside a multibulk request something other than `$` started an argument.
    #[error("expected '$', got '{0}'")]
    ExpectedDollar(char),
    /// A client that has not authenticated sent `*N` with N above 10.
    #[error("unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// A client that has not authenticated sent `$N` with N above 16384.
    #[error("unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// No CRLF within 64 KiB after `*`.
    #[error("too big mbulk count string")]
    TooBigMultibulkCount,
    /// No CRLF within 64 KiB after `$`.
    #[error("too big bulk count string")]
    TooBigBulkCount,
    /// An inline command line longer than 64 KiB.
    #[error("too big inline request")]
    TooBigInline,
    /// An inline command with an unterminated quote.
    #[error("unbalanced quotes in request")]
    UnbalancedQuotes,
    /// A reply frame whose type byte is unknown.
    #[error("invalid frame type byte {0:#04x}")]
    InvalidType(u8),
    /// A reply frame whose body is malformed (bad integer, missing CRLF...).
    #[error("malformed {0}")]
    Malformed(&'static str),
}

/// Longest line (inline command or length header) Redis accepts without a CRLF.
pub const INLINE_MAX: usize = 64 * 1024;
