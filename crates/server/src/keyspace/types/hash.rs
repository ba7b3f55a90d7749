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

    /// Field/value pairs (for RDB and replication snapshots).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.pairs.iter().map(|(f, v)| (f.as_ref(), v.as_ref()))
    }
    /// A hash from loaded pairs.
    pub fn from_pairs(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        Hash {
            pairs: pairs
                .into_iter()
                .map(|(f, v)| (Bytes::from(f), Bytes::from(v)))
                .collect(),
        }
    }
}
