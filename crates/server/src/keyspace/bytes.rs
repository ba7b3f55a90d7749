//! [`SmallBytes`]: a byte string stored inline when short (keys and small values), on the heap
//! otherwise. 24 bytes either way, so an entry holds its key and a small value without any
//! allocation of their own.

use std::fmt;

/// Longest string kept inline.
pub const INLINE_CAP: usize = 22;

/// A compact, owned byte string.
#[derive(Clone)]
pub enum SmallBytes {
    /// Up to [`INLINE_CAP`] bytes, in place.
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    /// Anything longer.
    Heap(Box<[u8]>),
    /// A string value modified in place (APPEND, SETRANGE, SETBIT, BITOP results): Redis
    /// reports such strings as `raw` whatever their length, so the variant remembers it.
    Raw(Box<[u8]>),
}

impl SmallBytes {
    /// Copies `b` into a new value.
    pub fn new(b: &[u8]) -> Self {
        if b.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..b.len()].copy_from_slice(b);
            SmallBytes::Inline {
                len: b.len() as u8,
                buf,
            }
        } else {
            SmallBytes::Heap(b.into())
        }
    }

    /// Takes ownership of `v` (no copy when it is long).
    pub fn from_vec(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAP {
            Self::new(&v)
        } else {
            SmallBytes::Heap(v.into_boxed_slice())
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, buf } => &buf[..*len as usize],
            SmallBytes::Heap(b) | SmallBytes::Raw(b) => b,
        }
    }

    /// The bytes, mutably (in-place edits that keep the length: SETBIT, BITFIELD).
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            SmallBytes::Inline { len, buf } => &mut buf[..*len as usize],
            SmallBytes::Heap(b) | SmallBytes::Raw(b) => b,
        }
    }

    /// Grows to `n` bytes, padding with zeros (no-op when already that long).
    pub fn grow_zeroed(&mut self, n: usize) {
        if n <= self.len() {
            return;
        }
        let mut v = match std::mem::replace(self, SmallBytes::new(b"")) {
            SmallBytes::Heap(b) | SmallBytes::Raw(b) => b.into_vec(),
            inline => inline.as_slice().to_vec(),
        };
        v.resize(n, 0);
        *self = SmallBytes::Raw(v.into_boxed_slice());
    }

    /// A string value kept out of line even when short: Redis reports it as `embstr`
    /// (never `int`), as it does for INCRBYFLOAT results.
    pub fn heap_from_vec(v: Vec<u8>) -> Self {
        SmallBytes::Heap(v.into_boxed_slice())
    }

    /// A string value marked `raw` (see [`SmallBytes::Raw`]).
    pub fn raw_from_vec(v: Vec<u8>) -> Self {
        SmallBytes::Raw(v.into_boxed_slice())
    }

    /// Marks a string value as modified in place (`raw` encoding from now on).
    pub fn make_raw(&mut self) {
        if !matches!(self, SmallBytes::Raw(_)) {
            *self = SmallBytes::Raw(self.as_slice().into());
        }
    }

    /// True for strings stored inline (the only ones Redis could hold as `int`).
    pub fn is_inline(&self) -> bool {
        matches!(self, SmallBytes::Inline { .. })
    }

    /// True for [`SmallBytes::Raw`].
    pub fn is_raw(&self) -> bool {
        matches!(self, SmallBytes::Raw(_))
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            SmallBytes::Inline { len, .. } => *len as usize,
            SmallBytes::Heap(b) | SmallBytes::Raw(b) => b.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned beyond the 24 inline bytes (for MEMORY USAGE / used_memory).
    pub fn heap_size(&self) -> usize {
        match self {
            SmallBytes::Inline { .. } => 0,
            SmallBytes::Heap(b) | SmallBytes::Raw(b) => b.len(),
        }
    }
}

impl std::ops::Deref for SmallBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for SmallBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for SmallBytes {}

impl fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_roundtrip() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        for n in [0usize, 1, 22, 23, 100] {
            let v = vec![7u8; n];
            assert_eq!(SmallBytes::new(&v).as_slice(), &v[..]);
            assert_eq!(SmallBytes::from_vec(v.clone()).as_slice(), &v[..]);
        }
    }
}
