//! Set values: `intset` (a sorted `Vec<i64>`) while every member is an integer and there are at
//! most `set-max-intset-entries` of them, `hashtable` (a [`DenseMap`]) otherwise. Redis 7.0
//! has no listpack sets, and a set never converts back.

use super::dense::DenseMap;
use super::Limits;
use crate::util::parse_i64;
use std::borrow::Cow;

/// A set.
#[derive(Debug, Clone, PartialEq)]
pub enum Set {
    /// Sorted integers.
    Ints(Vec<i64>),
    /// Any members.
    /// Boxed so that a small set of integers costs only the vector's bytes.
    Table(Box<DenseMap<()>>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(Vec::new())
    }
}

fn int_bytes(i: i64) -> Cow<'static, [u8]> {
    Cow::Owned(itoa::Buffer::new().format(i).as_bytes().to_vec())
}

impl Set {
    /// An empty (intset) set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a set from loaded members (RDB) with the default threshold.
    pub fn from_members(members: Vec<Vec<u8>>) -> Set {
        Self::from_members_with(members, &super::DEFAULT_SET)
    }

    /// Builds a set from members, choosing the encoding Redis would under `lim`.
    pub fn from_members_with(members: Vec<Vec<u8>>, lim: &Limits) -> Set {
        let mut s = Set::new();
        for m in &members {
            s.add(m, lim);
        }
        s
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            Set::Ints(v) => v.len(),
            Set::Table(t) => t.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        match self {
            Set::Ints(v) => v.capacity() * 8,
            Set::Table(t) => std::mem::size_of::<DenseMap<()>>() + t.heap_size(|_| 0),
        }
    }

    /// True when `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Ints(v) => parse_i64(m).is_some_and(|i| v.binary_search(&i).is_ok()),
            Set::Table(t) => t.position(m).is_some(),
        }
    }

    fn convert_to_table(&mut self) {
        if let Set::Ints(v) = self {
            let mut t = DenseMap::with_capacity(v.len() + 1);
            for i in v.iter() {
                t.insert(itoa::Buffer::new().format(*i).as_bytes(), ());
            }
            *self = Set::Table(Box::new(t));
        }
    }

    /// Adds `m`; true when it is new.
    pub fn add(&mut self, m: &[u8], lim: &Limits) -> bool {
        if let Set::Ints(v) = self {
            match parse_i64(m) {
                Some(i) => {
                    return match v.binary_search(&i) {
                        Ok(_) => false,
                        Err(p) => {
                            v.insert(p, i);
                            if v.len() > lim.entries {
                                self.convert_to_table();
                            }
                            true
                        }
                    }
                }
                None => self.convert_to_table(),
            }
        }
        match self {
            Set::Table(t) => t.insert(m, ()).is_none(),
            Set::Ints(_) => false,
        }
    }

    /// Removes `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Ints(v) => match parse_i64(m).map(|i| v.binary_search(&i)) {
                Some(Ok(p)) => {
                    v.remove(p);
                    true
                }
                _ => false,
            },
            Set::Table(t) => t.remove(m).is_some(),
        }
    }

    /// The member at position `i` (ascending for intsets).
    pub fn at(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        match self {
            Set::Ints(v) => v.get(i).map(|&n| int_bytes(n)),
            Set::Table(t) => t.at(i).map(|(k, _)| Cow::Borrowed(k)),
        }
    }

    /// Every member (ascending for intsets, storage order otherwise).
    pub fn iter(&self) -> Box<dyn Iterator<Item = Cow<'_, [u8]>> + '_> {
        match self {
            Set::Ints(v) => Box::new(v.iter().map(|&n| int_bytes(n))),
            Set::Table(t) => Box::new(t.iter().map(|(k, _)| Cow::Borrowed(k))),
        }
    }

    /// One SSCAN step (an intset is returned whole with cursor 0, as Redis does).
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Cow<'_, [u8]>>) {
        match self {
            Set::Ints(_) => (0, self.iter().collect()),
            Set::Table(t) => {
                let (next, r) = t.scan_positions(cursor, count);
                (
                    next,
                    r.rev()
                        .filter_map(|i| t.at(i).map(|(k, _)| Cow::Borrowed(k)))
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
    fn intset_then_hashtable() {
        let lim = Limits {
            entries: 3,
            value: 0,
        };
        let mut s = Set::new();
        assert!(s.add(b"3", &lim));
        assert!(s.add(b"-1", &lim));
        assert!(!s.add(b"3", &lim));
        assert!(s.add(b"03", &lim));
        assert_eq!(s.encoding(), "hashtable");
        let mut s = Set::new();
        for m in ["5", "1", "3"] {
            s.add(m.as_bytes(), &lim);
        }
        assert_eq!(s.encoding(), "intset");
        let v: Vec<Vec<u8>> = s.iter().map(|c| c.into_owned()).collect();
        assert_eq!(v, vec![b"1".to_vec(), b"3".to_vec(), b"5".to_vec()]);
        s.add(b"7", &lim);
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"1") && s.contains(b"7") && !s.contains(b"2"));
        assert!(s.remove(b"1"));
        assert_eq!(s.len(), 3);
    }
}
