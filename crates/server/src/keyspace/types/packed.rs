//! [`Packed`]: the "listpack" encoding of small hashes and sorted sets: one byte buffer of
//! elements, each a LEB128 length followed by its bytes. Lookups are linear scans (the
//! buffer is bounded by the `*-max-listpack-*` thresholds), and the whole value is a single
//! allocation with one or two bytes of overhead per element.

/// A packed sequence of byte strings.
#[derive(Clone, Default, PartialEq, Debug)]
pub struct Packed {
    buf: Vec<u8>,
    count: u32,
}

fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn encoded(e: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(e.len() + 2);
    put_len(&mut v, e.len());
    v.extend_from_slice(e);
    v
}

impl Packed {
    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes used by the buffer.
    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
    }

    /// The element starting at `off` and the offset after it.
    #[inline]
    pub fn element_at(&self, off: usize) -> Option<(&[u8], usize)> {
        let mut n = 0usize;
        let mut shift = 0;
        let mut p = off;
        loop {
            let b = *self.buf.get(p)?;
            p += 1;
            n |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let end = p + n;
        Some((self.buf.get(p..end)?, end))
    }

    /// Elements with their start offsets.
    pub fn iter(&self) -> PackedIter<'_> {
        PackedIter { p: self, off: 0 }
    }

    /// Offset one past the last element.
    pub fn end(&self) -> usize {
        self.buf.len()
    }

    /// Appends an element.
    pub fn push(&mut self, e: &[u8]) {
        self.buf.reserve_exact(e.len() + 2);
        put_len(&mut self.buf, e.len());
        self.buf.extend_from_slice(e);
        self.count += 1;
    }

    /// Inserts elements at byte offset `off` (an element boundary).
    pub fn insert_at(&mut self, off: usize, elems: &[&[u8]]) {
        let mut v = Vec::new();
        for e in elems {
            v.extend_from_slice(&encoded(e));
        }
        self.buf.splice(off..off, v);
        self.count += elems.len() as u32;
    }

    /// Replaces the element spanning `start..end` with `e`.
    pub fn replace(&mut self, start: usize, end: usize, e: &[u8]) {
        self.buf.splice(start..end, encoded(e));
    }

    /// Removes `n` elements spanning `start..end`.
    pub fn remove_span(&mut self, start: usize, end: usize, n: usize) {
        self.buf.drain(start..end);
        self.count -= n as u32;
        if self.buf.capacity() > 2 * self.buf.len() + 32 {
            self.buf.shrink_to_fit();
        }
    }
}

/// Iterator over `(start_offset, element)`.
pub struct PackedIter<'a> {
    p: &'a Packed,
    off: usize,
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = (usize, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let start = self.off;
        let (e, next) = self.p.element_at(start)?;
        self.off = next;
        Some((start, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_insert_remove() {
        let mut p = Packed::default();
        let long = vec![b'x'; 300];
        p.push(b"a");
        p.push(&long);
        p.push(b"c");
        let v: Vec<&[u8]> = p.iter().map(|(_, e)| e).collect();
        assert_eq!(v, vec![&b"a"[..], &long[..], &b"c"[..]]);
        let (o1, _) = p.iter().nth(1).unwrap();
        let (e1, end1) = p.element_at(o1).unwrap();
        assert_eq!(e1.len(), 300);
        p.remove_span(o1, end1, 1);
        p.insert_at(0, &[b"z", b""]);
        let v: Vec<&[u8]> = p.iter().map(|(_, e)| e).collect();
        assert_eq!(v, vec![&b"z"[..], &b""[..], &b"a"[..], &b"c"[..]]);
        assert_eq!(p.len(), 4);
        p.replace(0, 2, b"zz");
        assert_eq!(p.iter().next().unwrap().1, b"zz");
    }
}
