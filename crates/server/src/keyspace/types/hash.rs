//! Hash values: `listpack` (a [`Packed`] buffer of field, value, field, value...) while small,
//! `hashtable` (a [`DenseMap`]) past `hash-max-listpack-entries` / `-value`. Like Redis, a
//! hash never converts back.

use super::dense::DenseMap;
use super::packed::Packed;
use super::Limits;
use crate::keyspace::SmallBytes;

/// A borrowed (field, value) pair.
pub type FieldValue<'a> = (&'a [u8], &'a [u8]);

/// A hash.
#[derive(Debug, Clone, PartialEq)]
pub enum Hash {
    /// Field, value, field, value... in insertion order.
    Packed(Packed),
    /// Field -> value.
    /// Boxed so that a small hash (the common case) costs only the packed form's bytes.
    Table(Box<DenseMap<SmallBytes>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Packed(Packed::default())
    }
}

impl Hash {
    /// An empty (listpack) hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a hash from loaded pairs (RDB) with the default thresholds.
    pub fn from_pairs(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Hash {
        Self::from_pairs_with(pairs, &super::DEFAULT_HASH)
    }

    /// Builds a hash from loaded pairs (RDB), choosing the encoding Redis would under `lim`.
    pub fn from_pairs_with(pairs: Vec<(Vec<u8>, Vec<u8>)>, lim: &Limits) -> Hash {
        let mut h = Hash::new();
        for (f, v) in &pairs {
            h.set(f, v, lim);
        }
        h
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            Hash::Packed(p) => p.len() / 2,
            Hash::Table(t) => t.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Packed(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        match self {
            Hash::Packed(p) => p.heap_size(),
            Hash::Table(t) => {
                std::mem::size_of::<DenseMap<SmallBytes>>() + t.heap_size(|v| v.heap_size())
            }
        }
    }

    /// Finds `field` in the packed form: (field start, value start, value end).
    fn packed_find(p: &Packed, field: &[u8]) -> Option<(usize, usize, usize)> {
        let mut off = 0;
        while let Some((f, voff)) = p.element_at(off) {
            let (_, end) = p.element_at(voff)?;
            if f == field {
                return Some((off, voff, end));
            }
            off = end;
        }
        None
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Packed(p) => {
                let (_, voff, _) = Self::packed_find(p, field)?;
                p.element_at(voff).map(|(v, _)| v)
            }
            Hash::Table(t) => t.get(field).map(|v| v.as_slice()),
        }
    }

    /// True when `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    fn convert_to_table(&mut self) {
        if let Hash::Packed(p) = self {
            let mut t = DenseMap::with_capacity(p.len() / 2 + 1);
            let mut it = p.iter();
            while let (Some((_, f)), Some((_, v))) = (it.next(), it.next()) {
                t.insert(f, SmallBytes::new(v));
            }
            *self = Hash::Table(Box::new(t));
        }
    }

    /// Sets `field` to `value`; true when the field is new. Converts to `hashtable` when a
    /// field or value is longer than `lim.value` or the hash grows past `lim.entries`.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: &Limits) -> bool {
        if matches!(self, Hash::Packed(_)) && (field.len() > lim.value || value.len() > lim.value) {
            self.convert_to_table();
        }
        let new = match self {
            Hash::Packed(p) => match Self::packed_find(p, field) {
                Some((_, voff, end)) => {
                    p.replace(voff, end, value);
                    false
                }
                None => {
                    p.push(field);
                    p.push(value);
                    true
                }
            },
            Hash::Table(t) => t.insert(field, SmallBytes::new(value)).is_none(),
        };
        if new && self.len() > lim.entries {
            self.convert_to_table();
        }
        new
    }

    /// Removes `field`; true when it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Packed(p) => match Self::packed_find(p, field) {
                Some((start, _, end)) => {
                    p.remove_span(start, end, 2);
                    true
                }
                None => false,
            },
            Hash::Table(t) => t.remove(field).is_some(),
        }
    }

    /// Every (field, value), in storage order (insertion order while packed).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            Hash::Packed(p) => {
                let mut it = p.iter();
                Box::new(std::iter::from_fn(move || {
                    let (_, f) = it.next()?;
                    let (_, v) = it.next()?;
                    Some((f, v))
                }))
            }
            Hash::Table(t) => Box::new(t.iter().map(|(f, v)| (f, v.as_slice()))),
        }
    }

    /// The pair at position `i` (O(1) for `hashtable`, O(n) for `listpack`).
    pub fn at(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match self {
            Hash::Packed(_) => self.iter().nth(i),
            Hash::Table(t) => t.at(i).map(|(f, v)| (f, v.as_slice())),
        }
    }

    /// One HSCAN step: the next cursor and the pairs visited. A `listpack` hash is returned
    /// whole with cursor 0, as Redis does.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<FieldValue<'_>>) {
        match self {
            Hash::Packed(_) => (0, self.iter().collect()),
            Hash::Table(t) => {
                let (next, r) = t.scan_positions(cursor, count);
                (
                    next,
                    r.rev()
                        .filter_map(|i| t.at(i).map(|(f, v)| (f, v.as_slice())))
                        .collect(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_past_thresholds() {
        let lim = Limits {
            entries: 4,
            value: 8,
        };
        let mut h = Hash::new();
        for i in 0..4 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", &lim));
        }
        assert!(!h.set(b"f0", b"w", &lim));
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.get(b"f0"), Some(&b"w"[..]));
        assert!(h.remove(b"f1"));
        assert_eq!(h.len(), 3);
        h.set(b"a", b"b", &lim);
        h.set(b"c", b"d", &lim);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"f0"), Some(&b"w"[..]));
        let mut h2 = Hash::new();
        h2.set(b"x", b"123456789", &lim);
        assert_eq!(h2.encoding(), "hashtable");
    }
}
