//! [`Table`]: one database's keys within one shard.
//!
//! ```text
//!   index (hash table of u32 positions)        entries (dense Vec<Box<Entry>>)
//!   +----+----+----+----+----+                 +-----+-----+-----+-----+
//!   |    | 2  |    | 0  | 1  |  ------------>  | e0  | e1  | e2  | ... |
//!   +----+----+----+----+----+                 +-----+-----+-----+-----+
//! ```
//! Entries live in a dense vector, so a uniformly random key (RANDOMKEY, eviction sampling,
//! active expiry) is one index away, and cursors are plain positions. Removal swaps the last
//! entry into the hole. SCAN walks positions from the top down, which is what makes its
//! guarantee hold: an entry only ever moves from the top (already visited) into a hole below,
//! and new entries are appended above the cursor.
//!
//! The index stores 4-byte positions and each entry is one allocation holding key, value and
//! expiry: about 70 bytes per small key, where Redis's dictEntry + robj + sds cost about 90.

use super::bytes::SmallBytes;
use super::value::Value;
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// One key with its value and expiry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key.
    pub key: SmallBytes,
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds; 0 means none.
    pub expire_at: i64,
}

/// A database's keys within one shard. Not synchronized: the shard's lock guards it.
#[derive(Clone)]
pub struct Table {
    entries: Vec<Box<Entry>>,
    index: HashTable<u32>,
    expires: usize,
    hasher: FixedState,
}

impl Table {
    pub(crate) fn new(hasher: FixedState) -> Self {
        Table {
            entries: Vec::new(),
            index: HashTable::new(),
            expires: 0,
            hasher,
        }
    }

    /// Number of keys (including logically expired ones not yet removed).
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of keys that carry an expiry.
    pub fn expires(&self) -> usize {
        self.expires
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Position of `key`, if present.
    #[inline]
    pub fn position(&self, key: &[u8]) -> Option<usize> {
        let h = self.hash(key);
        let entries = &self.entries;
        self.index
            .find(h, |&i| entries[i as usize].key.as_slice() == key)
            .map(|&i| i as usize)
    }

    /// The entry for `key`.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.position(key).map(|p| &*self.entries[p])
    }

    /// The entry for `key`, mutably. Callers that change `expire_at` must use
    /// [`Table::set_expire`] so the expiry count stays right.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let p = self.position(key)?;
        Some(&mut *self.entries[p])
    }

    /// Entry at a position (`pos < len()`).
    pub fn at(&self, pos: usize) -> Option<&Entry> {
        self.entries.get(pos).map(|b| &**b)
    }

    /// Iterates all entries.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().map(|b| &**b)
    }

    /// Inserts or replaces; returns the previous entry for the key.
    pub fn insert(&mut self, entry: Entry) -> Option<Entry> {
        let h = self.hash(&entry.key);
        let entries = &self.entries;
        if let Some(&i) = self.index.find(h, |&i| {
            entries[i as usize].key.as_slice() == entry.key.as_slice()
        }) {
            let slot = &mut self.entries[i as usize];
            self.expires =
                self.expires + (entry.expire_at != 0) as usize - (slot.expire_at != 0) as usize;
            return Some(std::mem::replace(&mut **slot, entry));
        }
        if entry.expire_at != 0 {
            self.expires += 1;
        }
        let pos = self.entries.len() as u32;
        self.entries.push(Box::new(entry));
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index.insert_unique(h, pos, |&i| {
            hasher.hash_one(entries[i as usize].key.as_slice())
        });
        None
    }

    /// Sets the value of a key (keeping its expiry when `keep_ttl`), inserting it if absent.
    pub fn set_value(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        if let Some(e) = self.get_mut(key) {
            e.value = value;
            if !keep_ttl && e.expire_at != 0 {
                e.expire_at = 0;
                self.expires -= 1;
            }
            return;
        }
        self.insert(Entry {
            key: SmallBytes::new(key),
            value,
            expire_at: 0,
        });
    }

    /// Sets or clears (`at == 0`) the expiry of an existing key. Returns false if absent.
    pub fn set_expire(&mut self, key: &[u8], at: i64) -> bool {
        let Some(p) = self.position(key) else {
            return false;
        };
        let e = &mut self.entries[p];
        self.expires = self.expires + (at != 0) as usize - (e.expire_at != 0) as usize;
        e.expire_at = at;
        true
    }

    /// Removes `key`, returning its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let h = self.hash(key);
        let entries = &self.entries;
        let found = self
            .index
            .find_entry(h, |&i| entries[i as usize].key.as_slice() == key)
            .ok()?;
        let (pos, _) = found.remove();
        Some(self.remove_at_unindexed(pos as usize))
    }

    /// Removes the entry at `pos` (already taken out of the index) by swapping the last
    /// entry into its place and repointing the last entry's index slot.
    fn remove_at_unindexed(&mut self, pos: usize) -> Entry {
        let last = self.entries.len() - 1;
        let removed = self.entries.swap_remove(pos);
        if pos != last {
            let h = self.hash(&self.entries[pos].key);
            if let Some(slot) = self.index.find_mut(h, |&i| i as usize == last) {
                *slot = pos as u32;
            }
        }
        if removed.expire_at != 0 {
            self.expires -= 1;
        }
        if self.entries.capacity() > 64 && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
            self.index.shrink_to(self.entries.len() * 2, |&i| {
                self.hasher
                    .hash_one(self.entries[i as usize].key.as_slice())
            });
        }
        *removed
    }

    /// Removes the entry at position `pos`.
    pub fn remove_at(&mut self, pos: usize) -> Option<Entry> {
        let key = self.entries.get(pos)?.key.clone();
        self.remove(&key)
    }

    /// Drops every key.
    pub fn clear(&mut self) {
        self.entries = Vec::new();
        self.index = HashTable::new();
        self.expires = 0;
    }

    /// Bytes used by the table's own structures (not counting values' heap data).
    pub fn overhead_bytes(&self) -> usize {
        self.entries.capacity() * 8
            + self.entries.len() * std::mem::size_of::<Entry>()
            + self.index.capacity() * 5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(k: &str) -> Entry {
        Entry {
            key: SmallBytes::new(k.as_bytes()),
            value: Value::Str(SmallBytes::new(b"v")),
            expire_at: 0,
        }
    }

    #[test]
    fn insert_remove_keeps_index_consistent() {
        let mut t = Table::new(FixedState::with_seed(1));
        for i in 0..1000 {
            assert!(t.insert(e(&format!("k{i}"))).is_none());
        }
        for i in (0..1000).step_by(3) {
            assert!(t.remove(format!("k{i}").as_bytes()).is_some());
        }
        for i in 0..1000 {
            assert_eq!(
                t.get(format!("k{i}").as_bytes()).is_some(),
                i % 3 != 0,
                "k{i}"
            );
        }
        assert_eq!(t.len(), 666);
        assert_eq!(std::mem::size_of::<Entry>(), 56);
    }
}
