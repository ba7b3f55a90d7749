//! The [`Frame`] type: one RESP2/RESP3 value.

use bytes::Bytes;

/// One RESP value. RESP3-only variants are downgraded by [`Frame::encode`] for RESP2 peers.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`
    Simple(Bytes),
    /// `-ERR message` (the bytes after `-`).
    Error(Bytes),
    /// `:42`
    Integer(i64),
    /// `$3\r\nfoo`
    Bulk(Bytes),
    /// The null reply: `$-1` in RESP2 (`*-1` is [`Frame::NullArray`]), `_` in RESP3.
    Null,
    /// The RESP2 null array `*-1` (RESP3: `_`).
    NullArray,
    /// `*N` followed by N frames.
    Array(Vec<Frame>),
    /// RESP3 `,1.5`; RESP2 sends it as a bulk string.
    Double(f64),
    /// A double already formatted by the server (Redis's "human" long double text for
    /// coordinates): RESP3 `,<text>`, RESP2 a bulk string of the same text.
    DoubleText(Bytes),
    /// RESP3 `#t`; RESP2 sends `:1`/`:0`.
    Boolean(bool),
    /// RESP3 `(12345...`; RESP2 sends a bulk string.
    BigNumber(Bytes),
    /// RESP3 `=len\r\ntxt:...`; RESP2 sends the text as a bulk string.
    Verbatim(Bytes, Bytes),
    /// RESP3 `%N` map; RESP2 sends a flat array of 2N frames.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~N` set; RESP2 sends an array.
    Set(Vec<Frame>),
    /// RESP3 `>N` push; RESP2 sends an array.
    Push(Vec<Frame>),
}

impl Frame {
    /// `+OK`
    pub fn ok() -> Frame {
        Frame::Simple(Bytes::from_static(b"OK"))
    }

    /// A simple string from static text.
    pub fn simple(s: &'static str) -> Frame {
        Frame::Simple(Bytes::from_static(s.as_bytes()))
    }

    /// An error reply; `msg` is the whole text after `-`, e.g. `ERR syntax error`.
    pub fn error(msg: impl Into<String>) -> Frame {
        Frame::Error(Bytes::from(msg.into()))
    }

    /// A bulk string copied from a slice.
    pub fn bulk(b: &[u8]) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(b))
    }

    /// An array of bulk strings.
    pub fn bulks<I, B>(items: I) -> Frame
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        Frame::Array(items.into_iter().map(|b| Frame::Bulk(b.into())).collect())
    }

    /// True for `-...` replies.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// The bytes of a simple string, bulk string, error or verbatim string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(b) | Frame::Error(b) | Frame::Bulk(b) | Frame::BigNumber(b) => Some(b),
            Frame::Verbatim(_, b) => Some(b),
            _ => None,
        }
    }

    /// The frame as text, lossily, for messages and tests.
    pub fn to_text(&self) -> String {
        match self.as_bytes() {
            Some(b) => String::from_utf8_lossy(b).into_owned(),
            None => format!("{self:?}"),
        }
    }
}
