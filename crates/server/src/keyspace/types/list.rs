//! List values.

use bytes::Bytes;
use std::collections::VecDeque;

/// A list. (Representation owned by the list family; see commands/list.rs.)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct List {
    /// Elements, head first.
    pub items: VecDeque<Bytes>,
}

impl List {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Elements head first (for RDB and replication snapshots).
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.items.iter().map(|b| b.as_ref())
    }
    /// A list from loaded elements.
    pub fn from_items(items: Vec<Vec<u8>>) -> Self {
        List {
            items: items.into_iter().map(Bytes::from).collect(),
        }
    }
}
