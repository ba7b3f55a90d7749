//! List values.
//!
//! A list is a ring buffer ([`VecDeque`]) of [`SmallBytes`]: elements up to 22 bytes live
//! inline in the 24-byte slot (no allocation of their own), longer ones own an exact-size
//! heap copy. Elements are always copied out of the request, so a stored list never pins a
//! connection's read buffer. Push/pop at both ends are O(1); LINDEX/LSET are O(1) too (Redis
//! walks its quicklist for those).
//!
//! OBJECT ENCODING: Redis 7.0 always reports `quicklist` for lists (the `listpack` encoding
//! for small lists only arrived in 7.2), so that is what [`List::encoding`] says.

use crate::keyspace::SmallBytes;
use std::collections::VecDeque;

/// A list, head first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct List {
    /// Elements, head first.
    pub items: VecDeque<SmallBytes>,
}

impl List {
    /// An empty list.
    pub fn new() -> Self {
        List::default()
    }
    /// A list holding copies of `items`, in order (RDB loading, tests).
    pub fn from_slices<'a, I: IntoIterator<Item = &'a [u8]>>(items: I) -> Self {
        List {
            items: items.into_iter().map(SmallBytes::new).collect(),
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// OBJECT ENCODING name (see the module comment).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }
    /// A list from loaded elements (RDB).
    pub fn from_items(items: Vec<Vec<u8>>) -> Self {
        List {
            items: items.into_iter().map(SmallBytes::from_vec).collect(),
        }
    }
    /// Iterates the elements head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|b| b.as_slice())
    }
    /// Pushes a copy of `v` at the head (`left`) or the tail.
    pub fn push(&mut self, v: &[u8], left: bool) {
        if left {
            self.items.push_front(SmallBytes::new(v));
        } else {
            self.items.push_back(SmallBytes::new(v));
        }
    }
    /// Pops from the head (`left`) or the tail.
    pub fn pop(&mut self, left: bool) -> Option<SmallBytes> {
        if left {
            self.items.pop_front()
        } else {
            self.items.pop_back()
        }
    }
    /// The element at `index` (negative counts from the tail).
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        self.resolve(index).map(|i| self.items[i].as_slice())
    }
    /// `index` (negative from the tail) as a position, if in range.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let len = self.items.len() as i64;
        let i = if index < 0 { len + index } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }
    /// Redis range normalization: `start..=stop` (negative from the tail) clamped to the
    /// list, or `None` when the range is empty.
    pub fn range(&self, start: i64, stop: i64) -> Option<(usize, usize)> {
        let len = self.items.len() as i64;
        let mut s = if start < 0 { len + start } else { start };
        let mut e = if stop < 0 { len + stop } else { stop };
        if s < 0 {
            s = 0;
        }
        if s > e || s >= len {
            return None;
        }
        if e >= len {
            e = len - 1;
        }
        Some((s as usize, e as usize))
    }
    /// Approximate heap bytes (MEMORY USAGE, used_memory).
    pub fn heap_size(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<SmallBytes>()
            + self.items.iter().map(SmallBytes::heap_size).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pop_range() {
        let mut l = List::new();
        for v in ["b", "c"] {
            l.push(v.as_bytes(), false);
        }
        l.push(b"a", true);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"b", b"c"]);
        assert_eq!(l.get(-1), Some(&b"c"[..]));
        assert_eq!(l.get(3), None);
        assert_eq!(l.range(0, -1), Some((0, 2)));
        assert_eq!(l.range(-100, 1), Some((0, 1)));
        assert_eq!(l.range(2, 1), None);
        assert_eq!(l.range(5, 10), None);
        assert_eq!(l.pop(false).as_deref(), Some(&b"c"[..]));
        assert_eq!(l.pop(true).as_deref(), Some(&b"a"[..]));
    }
}
