//! [`Table`]: one database's keys within one shard.
//!
//! ```text
//!   index (hash table of u32 positions)        entries (dense, in chunks of 64)
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
//! The index stores 4-byte positions, and entries (key, value, expiry and the access stamp
//! for eviction: 64 bytes, small keys and values inline) sit in fixed-size chunks, so a lookup
//! costs two memory accesses (index slot, entry), growth never moves or reallocates existing
//! entries, and there is no per-key allocation: about 80 bytes per small key, where Redis's
//! dictEntry + robj + sds cost about 90.

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
    /// Access stamp for eviction: LRU clock or LFU time+counter (see `access.rs`).
    pub access: u32,
}

/// Entries per chunk of [`Entries`].
const CHUNK: usize = 64;

/// A dense sequence of entries stored in chunks of [`CHUNK`]: positions are stable except for
/// the swap on removal, and growing never copies existing entries.
#[derive(Clone, Default)]
struct Entries {
    chunks: Vec<Vec<Entry>>,
    len: usize,
}

impl std::ops::Index<usize> for Entries {
    type Output = Entry;
    #[inline]
    fn index(&self, pos: usize) -> &Entry {
        &self.chunks[pos / CHUNK][pos % CHUNK]
    }
}

impl std::ops::IndexMut<usize> for Entries {
    #[inline]
    fn index_mut(&mut self, pos: usize) -> &mut Entry {
        &mut self.chunks[pos / CHUNK][pos % CHUNK]
    }
}

impl Entries {
    #[inline]
    fn len(&self) -> usize {
        self.len
    }
    fn get(&self, pos: usize) -> Option<&Entry> {
        self.chunks.get(pos / CHUNK)?.get(pos % CHUNK)
    }
    fn get_mut(&mut self, pos: usize) -> Option<&mut Entry> {
        self.chunks.get_mut(pos / CHUNK)?.get_mut(pos % CHUNK)
    }
    fn push(&mut self, e: Entry) {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(c) = self.chunks.last_mut() {
            c.push(e);
        }
        self.len += 1;
    }
    /// Removes the entry at `pos`, moving the last entry into its place.
    fn swap_remove(&mut self, pos: usize) -> Entry {
        let last_chunk = self.chunks.len() - 1;
        let mut tail = self.chunks[last_chunk]
            .pop()
            .expect("non-empty store has a last entry");
        if self.chunks[last_chunk].is_empty() {
            self.chunks.pop();
        }
        self.len -= 1;
        if pos == self.len {
            return tail;
        }
        std::mem::swap(&mut self[pos], &mut tail);
        tail
    }
    fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.chunks.iter().flatten()
    }
    fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn capacity(&self) -> usize {
        self.chunks.len() * CHUNK
    }
}

/// A database's keys within one shard. Not synchronized: the shard's lock guards it.
#[derive(Clone)]
pub struct Table {
    entries: Entries,
    index: HashTable<u32>,
    expires: usize,
    hasher: FixedState,
}

impl Table {
    pub(crate) fn new(hasher: FixedState) -> Self {
        Table {
            entries: Entries::default(),
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
        self.position(key).map(|p| &self.entries[p])
    }

    /// The entry for `key`, mutably. Callers that change `expire_at` must use
    /// [`Table::set_expire`] so the expiry count stays right.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let p = self.position(key)?;
        Some(&mut self.entries[p])
    }

    /// Entry at a position (`pos < len()`).
    pub fn at(&self, pos: usize) -> Option<&Entry> {
        self.entries.get(pos)
    }

    /// Iterates all entries.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
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
            return Some(std::mem::replace(slot, entry));
        }
        if entry.expire_at != 0 {
            self.expires += 1;
        }
        let pos = self.entries.len() as u32;
        self.entries.push(entry);
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index.insert_unique(h, pos, |&i| {
            hasher.hash_one(entries[i as usize].key.as_slice())
        });
        None
    }

    /// Sets the value of a key (keeping its expiry when `keep_ttl`), inserting it if absent.
    /// One hash probe either way.
    pub fn set_value(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        let h = self.hash(key);
        let (entries, hasher) = (&mut self.entries, &self.hasher);
        match self.index.entry(
            h,
            |&i| entries[i as usize].key.as_slice() == key,
            |&i| hasher.hash_one(entries[i as usize].key.as_slice()),
        ) {
            hashbrown::hash_table::Entry::Occupied(o) => {
                let e = &mut entries[*o.get() as usize];
                e.value = value;
                e.access = super::access::touched(e.access);
                if !keep_ttl && e.expire_at != 0 {
                    e.expire_at = 0;
                    self.expires -= 1;
                }
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(entries.len() as u32);
                entries.push(Entry {
                    key: SmallBytes::new(key),
                    value,
                    expire_at: 0,
                    access: super::access::fresh(),
                });
            }
        }
    }

    /// The entry at a position, mutably (`pos < len()`). Callers that change `expire_at` must
    /// use [`Table::set_expire`].
    pub fn at_mut(&mut self, pos: usize) -> Option<&mut Entry> {
        self.entries.get_mut(pos)
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
        if self.index.capacity() > 64 && self.entries.len() < self.index.capacity() / 4 {
            let (entries, hasher) = (&self.entries, &self.hasher);
            self.index.shrink_to(entries.len() * 2, |&i| {
                hasher.hash_one(entries[i as usize].key.as_slice())
            });
        }
        removed
    }

    /// Removes the entry at position `pos`.
    pub fn remove_at(&mut self, pos: usize) -> Option<Entry> {
        let key = self.entries.get(pos)?.key.clone();
        self.remove(&key)
    }

    /// Drops every key.
    pub fn clear(&mut self) {
        self.entries = Entries::default();
        self.index = HashTable::new();
        self.expires = 0;
    }

    /// Bytes used by the table's own structures (not counting values' heap data).
    pub fn overhead_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>() + self.index.capacity() * 5
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
            access: 0,
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
        assert_eq!(std::mem::size_of::<Entry>(), 64);
    }
}

#[cfg(test)]
mod perf_probe {
    use super::*;

    #[test]
    #[ignore]
    fn lookup_speed() {
        let mut t = Table::new(FixedState::with_seed(12345));
        let n = 100_000 / 256;
        for i in 0..n {
            t.set_value(
                format!("key:{:012}", i * 256).as_bytes(),
                Value::Str(SmallBytes::new(b"xxx")),
                false,
            );
        }
        let t0 = std::time::Instant::now();
        let mut found = 0;
        for r in 0..100 {
            for i in 0..n {
                if t.position(format!("key:{:012}", (i + r) % n * 256).as_bytes())
                    .is_some()
                {
                    found += 1;
                }
            }
        }
        let per = t0.elapsed().as_nanos() as f64 / (100.0 * n as f64);
        eprintln!("{per:.1} ns per lookup, found {found}");
    }
}
