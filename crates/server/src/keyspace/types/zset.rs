//! Sorted set values.

use bytes::Bytes;

/// A sorted set. (Representation owned by the zset family; see commands/zset.rs.)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZSet {
    /// (member, score) pairs.
    pub members: Vec<(Bytes, f64)>,
}

impl ZSet {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        "skiplist"
    }

    /// (member, score) pairs (for RDB and replication snapshots).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        self.members.iter().map(|(m, s)| (m.as_ref(), *s))
    }
    /// A sorted set from loaded pairs.
    pub fn from_pairs(pairs: Vec<(Vec<u8>, f64)>) -> Self {
        ZSet {
            members: pairs
                .into_iter()
                .map(|(m, s)| (Bytes::from(m), s))
                .collect(),
        }
    }
}
