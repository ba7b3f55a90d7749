//! [`DenseMap`]: the "hashtable" encoding of hashes, sets and sorted sets.
//!
//! Same layout as the keyspace's `Table`: entries in a dense `Vec`, plus a hash index of
//! 4-byte positions. Removal swaps the last entry into the hole. That gives O(1) lookups,
//! O(1) uniformly random members (SRANDMEMBER, SPOP, HRANDFIELD, ZRANDMEMBER) and a SCAN
//! cursor with Redis's guarantee: cursors walk positions from the top down, and an entry only
//! ever moves from the top (already returned) into a hole below, so every entry present for a
//! whole scan is returned at least once.

use crate::keyspace::SmallBytes;
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::fmt;
use std::hash::BuildHasher;

/// A map from byte strings to `V`, dense and position-addressable.
#[derive(Clone)]
pub struct DenseMap<V> {
    entries: Vec<(SmallBytes, V)>,
    index: HashTable<u32>,
    hasher: FixedState,
}

impl<V> DenseMap<V> {
    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        DenseMap {
            entries: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            hasher: FixedState::with_seed(rand::random()),
        }
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    fn hash(&self, k: &[u8]) -> u64 {
        self.hasher.hash_one(k)
    }

    /// Position of `k`.
    pub fn position(&self, k: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(self.hash(k), |&i| entries[i as usize].0.as_slice() == k)
            .map(|&i| i as usize)
    }

    /// The value of `k`.
    pub fn get(&self, k: &[u8]) -> Option<&V> {
        self.position(k).map(|p| &self.entries[p].1)
    }

    /// The value of `k`, mutably.
    pub fn get_mut(&mut self, k: &[u8]) -> Option<&mut V> {
        let p = self.position(k)?;
        Some(&mut self.entries[p].1)
    }

    /// Inserts or replaces; returns the old value.
    pub fn insert(&mut self, k: &[u8], v: V) -> Option<V> {
        if let Some(p) = self.position(k) {
            return Some(std::mem::replace(&mut self.entries[p].1, v));
        }
        let h = self.hash(k);
        let pos = self.entries.len() as u32;
        self.entries.push((SmallBytes::new(k), v));
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index.insert_unique(h, pos, |&i| {
            hasher.hash_one(entries[i as usize].0.as_slice())
        });
        None
    }

    /// Removes `k`, returning its value.
    pub fn remove(&mut self, k: &[u8]) -> Option<V> {
        let h = self.hash(k);
        let entries = &self.entries;
        let found = self
            .index
            .find_entry(h, |&i| entries[i as usize].0.as_slice() == k)
            .ok()?;
        let (pos, _) = found.remove();
        let pos = pos as usize;
        let last = self.entries.len() - 1;
        let (_, v) = self.entries.swap_remove(pos);
        if pos != last {
            let h = self.hash(&self.entries[pos].0);
            if let Some(slot) = self.index.find_mut(h, |&i| i as usize == last) {
                *slot = pos as u32;
            }
        }
        if self.entries.capacity() > 64 && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
            let (entries, hasher) = (&self.entries, &self.hasher);
            self.index.shrink_to(entries.len() * 2, |&i| {
                hasher.hash_one(entries[i as usize].0.as_slice())
            });
        }
        Some(v)
    }

    /// The entry at position `pos`.
    #[inline]
    pub fn at(&self, pos: usize) -> Option<(&[u8], &V)> {
        self.entries.get(pos).map(|(k, v)| (k.as_slice(), v))
    }

    /// All entries, in position order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.entries.iter().map(|(k, v)| (k.as_slice(), v))
    }

    /// One SCAN step: up to `count` entries below `cursor` (0 starts at the top). Returns the
    /// next cursor (0 when done) and the positions visited.
    pub fn scan_positions(&self, cursor: u64, count: usize) -> (u64, std::ops::Range<usize>) {
        let top = if cursor == 0 {
            self.len()
        } else {
            (cursor as usize).min(self.len())
        };
        let bottom = top.saturating_sub(count.max(1));
        (bottom as u64, bottom..top)
    }

    /// Heap bytes (entries, index and long keys).
    pub fn heap_size(&self, value_heap: impl Fn(&V) -> usize) -> usize {
        self.entries.capacity() * std::mem::size_of::<(SmallBytes, V)>()
            + self.index.capacity() * 5
            + self
                .entries
                .iter()
                .map(|(k, v)| k.heap_size() + value_heap(v))
                .sum::<usize>()
    }
}

impl<V: PartialEq> PartialEq for DenseMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<V: fmt::Debug> fmt::Debug for DenseMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, v)| (String::from_utf8_lossy(k), v)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_and_scan_guarantee() {
        let mut m = DenseMap::with_capacity(0);
        for i in 0..1000 {
            assert!(m.insert(format!("k{i}").as_bytes(), i).is_none());
        }
        for i in (0..1000).step_by(3) {
            assert_eq!(m.remove(format!("k{i}").as_bytes()), Some(i));
        }
        for i in 0..1000 {
            assert_eq!(m.get(format!("k{i}").as_bytes()).is_some(), i % 3 != 0);
        }
        // Scan while deleting what was returned: every survivor is seen.
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            let (next, r) = m.scan_positions(cursor, 7);
            let keys: Vec<Vec<u8>> = r.filter_map(|p| m.at(p).map(|(k, _)| k.to_vec())).collect();
            for k in keys {
                m.remove(&k);
                seen.insert(k);
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 666);
        assert!(m.is_empty());
    }
}
