//! Hash values.

use bytes::Bytes;

/// A hash. (Representation owned by the hash family; see commands/hash.rs.)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hash {
    /// Field/value pairs.
    pub pairs: Vec<(Bytes, Bytes)>,
}

impl Hash {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
}
