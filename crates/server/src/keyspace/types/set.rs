//! Set values.

use bytes::Bytes;

/// A set. (Representation owned by the set family; see commands/set.rs.)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Set {
    /// Members.
    pub members: Vec<Bytes>,
}

impl Set {
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
        "hashtable"
    }

    /// Members (for RDB and replication snapshots).
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.members.iter().map(|b| b.as_ref())
    }
    /// A set from loaded members.
    pub fn from_members(members: Vec<Vec<u8>>) -> Self {
        Set {
            members: members.into_iter().map(Bytes::from).collect(),
        }
    }
}
