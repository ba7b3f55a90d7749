//! Listpack: the packed array Redis 7.0 uses for small hashes, zsets, list nodes and
//! stream nodes (and 7.2 for small sets).
//!
//! ```text
//! +-------------+--------------+---------+---------+-----+------+
//! | total_bytes | num_elements | entry 1 | entry 2 | ... | 0xFF |
//! |   u32 LE    |    u16 LE    |         |         |     |      |
//! +-------------+--------------+---------+---------+-----+------+
//! entry = encoding+data, then backlen (size of encoding+data, 1..5 bytes)
//!
//! first byte  kind                       encoding+data size
//! 0xxxxxxx    uint 0..127                1
//! 10xxxxxx    string, len 0..63          1 + len
//! 110xxxxx    int13 (two's complement)   2      (high 5 bits in the first byte)
//! 1110xxxx    string, len < 4096         2 + len (high 4 bits in the first byte)
//! 0xF0        string, u32 LE len         5 + len
//! 0xF1/F2/F3/F4  int16/int24/int32/int64 LE   3/4/5/9
//! ```
//! backlen is written big-end first: the leftmost byte has bit 7 clear, every byte to
//! its right has bit 7 set; each contributes 7 bits. Its width follows strict `<`
//! boundaries (127 -> 1 byte, 16382 -> 2, 16383 -> 3 ...), which we both check and copy.
//! num_elements saturates at 65535 ("count by walking").

/// One element of a listpack, ziplist, intset or zipmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// The element as Redis would return it to a client: integers as decimal text.
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        match self {
            Elem::Int(i) => i.to_string().into_bytes(),
            Elem::Str(s) => s.to_vec(),
        }
    }

    /// The element as an integer (strings are accepted when they are canonical integers).
    pub(crate) fn as_int(self) -> Option<i64> {
        match self {
            Elem::Int(i) => Some(i),
            Elem::Str(s) => parse_canonical_i64(s),
        }
    }

    /// The element as a zset score.
    pub(crate) fn as_f64(self) -> Option<f64> {
        match self {
            Elem::Int(i) => Some(i as f64),
            Elem::Str(s) => parse_f64(s),
        }
    }
}

/// Parse a score written as text (`%.17g`, `inf`, `-inf`, `nan`).
pub(crate) fn parse_f64(s: &[u8]) -> Option<f64> {
    std::str::from_utf8(s).ok()?.trim().parse::<f64>().ok()
}

/// Redis's strict string-to-int64 rule (`string2ll` / `lpStringToInt64`): optional `-`,
/// no leading zeros, no `+`, no spaces, not `-0`, fits in i64, shorter than 21 bytes.
pub(crate) fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

const HEADER: usize = 6;
const END: u8 = 0xff;

/// Decode and validate a listpack blob. Errors name the byte position inside the blob.
pub(crate) fn parse(blob: &[u8]) -> Result<Vec<Elem<'_>>, String> {
    if blob.len() < HEADER + 1 {
        return Err(format!(
            "listpack of {} bytes is shorter than the 7-byte minimum",
            blob.len()
        ));
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err(format!(
            "listpack header says {total} bytes, blob has {}",
            blob.len()
        ));
    }
    let declared = u16::from_le_bytes([blob[4], blob[5]]);
    let mut out = Vec::with_capacity(usize::from(declared).min(blob.len() / 2));
    let mut pos = HEADER;
    loop {
        let Some(&b) = blob.get(pos) else {
            return Err("listpack has no 0xFF terminator".into());
        };
        if b == END {
            if pos != blob.len() - 1 {
                return Err(format!(
                    "listpack terminator at byte {pos} before the end of the blob"
                ));
            }
            break;
        }
        let (elem, size) = decode_entry(blob, pos)?;
        let mut expect = [0u8; 5];
        let w = encode_backlen(size as u64, &mut expect);
        let back = blob
            .get(pos + size..pos + size + w)
            .ok_or_else(|| format!("listpack entry at byte {pos}: backlen runs past the blob"))?;
        if back != &expect[..w] {
            return Err(format!(
                "listpack entry at byte {pos}: backlen does not encode entry size {size}"
            ));
        }
        out.push(elem);
        pos += size + w;
    }
    if declared != u16::MAX && usize::from(declared) != out.len() {
        return Err(format!(
            "listpack header says {declared} elements, found {}",
            out.len()
        ));
    }
    Ok(out)
}

/// Decode the entry starting at `pos`; returns it and the size of encoding+data.
fn decode_entry(blob: &[u8], pos: usize) -> Result<(Elem<'_>, usize), String> {
    let at = |n: usize| -> Result<&[u8], String> {
        blob.get(pos..pos + n)
            .ok_or_else(|| format!("listpack entry at byte {pos} runs past the blob"))
    };
    let b = blob[pos];
    let str_entry = |hdr: usize, len: usize| -> Result<(Elem<'_>, usize), String> {
        let e = at(hdr + len)?;
        Ok((Elem::Str(&e[hdr..]), hdr + len))
    };
    match b {
        0x00..=0x7f => Ok((Elem::Int(i64::from(b)), 1)),
        0x80..=0xbf => str_entry(1, usize::from(b & 0x3f)),
        0xc0..=0xdf => {
            let e = at(2)?;
            let raw = (i64::from(b & 0x1f) << 8) | i64::from(e[1]);
            Ok((Elem::Int(if raw >= 4096 { raw - 8192 } else { raw }), 2))
        }
        0xe0..=0xef => {
            let e = at(2)?;
            str_entry(2, (usize::from(b & 0x0f) << 8) | usize::from(e[1]))
        }
        0xf0 => {
            let e = at(5)?;
            let len = u32::from_le_bytes([e[1], e[2], e[3], e[4]]) as usize;
            str_entry(5, len)
        }
        0xf1 => {
            let e = at(3)?;
            Ok((Elem::Int(i64::from(i16::from_le_bytes([e[1], e[2]]))), 3))
        }
        0xf2 => {
            let e = at(4)?;
            // Sign-extend 24 bits by placing them in the top of an i32.
            let v = i32::from_le_bytes([0, e[1], e[2], e[3]]) >> 8;
            Ok((Elem::Int(i64::from(v)), 4))
        }
        0xf3 => {
            let e = at(5)?;
            Ok((
                Elem::Int(i64::from(i32::from_le_bytes([e[1], e[2], e[3], e[4]]))),
                5,
            ))
        }
        0xf4 => {
            let e = at(9)?;
            let mut w = [0u8; 8];
            w.copy_from_slice(&e[1..9]);
            Ok((Elem::Int(i64::from_le_bytes(w)), 9))
        }
        _ => Err(format!(
            "listpack entry at byte {pos}: invalid encoding byte {b:#04x}"
        )),
    }
}

/// Write the backlen of an entry whose encoding+data is `l` bytes; returns its width.
fn encode_backlen(l: u64, buf: &mut [u8; 5]) -> usize {
    if l <= 127 {
        buf[0] = l as u8;
        1
    } else if l < 16383 {
        buf[0] = (l >> 7) as u8;
        buf[1] = (l & 127) as u8 | 128;
        2
    } else if l < 2_097_151 {
        buf[0] = (l >> 14) as u8;
        buf[1] = ((l >> 7) & 127) as u8 | 128;
        buf[2] = (l & 127) as u8 | 128;
        3
    } else if l < 268_435_455 {
        buf[0] = (l >> 21) as u8;
        buf[1] = ((l >> 14) & 127) as u8 | 128;
        buf[2] = ((l >> 7) & 127) as u8 | 128;
        buf[3] = (l & 127) as u8 | 128;
        4
    } else {
        buf[0] = (l >> 28) as u8;
        buf[1] = ((l >> 21) & 127) as u8 | 128;
        buf[2] = ((l >> 14) & 127) as u8 | 128;
        buf[3] = ((l >> 7) & 127) as u8 | 128;
        buf[4] = (l & 127) as u8 | 128;
        5
    }
}

/// Builds a canonical listpack (byte-exact with what Redis's `lpAppend` produces).
#[derive(Debug, Default)]
pub(crate) struct Builder {
    body: Vec<u8>,
    count: usize,
}

impl Builder {
    pub(crate) fn new() -> Self {
        Builder {
            body: Vec::new(),
            count: 0,
        }
    }

    /// Bytes the finished listpack would have.
    pub(crate) fn bytes(&self) -> usize {
        HEADER + self.body.len() + 1
    }

    /// Append an integer using the smallest integer encoding.
    pub(crate) fn push_int(&mut self, v: i64) {
        let start = self.body.len();
        if (0..=127).contains(&v) {
            self.body.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1fff;
            self.body.push(0xc0 | (u >> 8) as u8);
            self.body.push((u & 0xff) as u8);
        } else if let Ok(x) = i16::try_from(v) {
            self.body.push(0xf1);
            self.body.extend_from_slice(&x.to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            self.body.push(0xf2);
            self.body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(x) = i32::try_from(v) {
            self.body.push(0xf3);
            self.body.extend_from_slice(&x.to_le_bytes());
        } else {
            self.body.push(0xf4);
            self.body.extend_from_slice(&v.to_le_bytes());
        }
        self.finish_entry(start);
    }

    /// Append a string; canonical integers are stored as integers, as Redis does.
    pub(crate) fn push(&mut self, s: &[u8]) {
        if let Some(v) = parse_canonical_i64(s) {
            return self.push_int(v);
        }
        let start = self.body.len();
        let len = s.len();
        if len < 64 {
            self.body.push(0x80 | len as u8);
        } else if len < 4096 {
            self.body.push(0xe0 | (len >> 8) as u8);
            self.body.push((len & 0xff) as u8);
        } else {
            self.body.push(0xf0);
            self.body.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.body.extend_from_slice(s);
        self.finish_entry(start);
    }

    fn finish_entry(&mut self, start: usize) {
        let mut buf = [0u8; 5];
        let w = encode_backlen((self.body.len() - start) as u64, &mut buf);
        self.body.extend_from_slice(&buf[..w]);
        self.count += 1;
    }

    /// The complete listpack blob.
    pub(crate) fn finish(self) -> Vec<u8> {
        let total = self.bytes();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(self.count.min(65535) as u16).to_le_bytes());
        out.extend_from_slice(&self.body);
        out.push(END);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_all_encodings() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let ints = [
            0i64,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            -4097,
            32767,
            -32768,
            8_388_607,
            -8_388_608,
            1 << 31,
            i64::MIN,
            i64::MAX,
        ];
        let mut b = Builder::new();
        for i in ints {
            b.push_int(i);
        }
        b.push(b"hello");
        b.push(&mid);
        b.push(&long);
        b.push(b"-0");
        b.push(b"007");
        b.push(b"12");
        let blob = b.finish();
        let elems = parse(&blob).unwrap();
        let mut expect: Vec<Elem<'_>> = ints.iter().map(|&i| Elem::Int(i)).collect();
        expect.extend([
            Elem::Str(b"hello"),
            Elem::Str(&mid),
            Elem::Str(&long),
            Elem::Str(b"-0"),
            Elem::Str(b"007"),
            Elem::Int(12),
        ]);
        assert_eq!(elems, expect);
    }

    #[test]
    fn backlen_boundaries() {
        let mut buf = [0u8; 5];
        assert_eq!(encode_backlen(127, &mut buf), 1);
        assert_eq!(encode_backlen(128, &mut buf), 2);
        assert_eq!(encode_backlen(16382, &mut buf), 2);
        assert_eq!(encode_backlen(16383, &mut buf), 3);
        // A 16383-byte entry: 5-byte header + 16378 bytes.
        let s = vec![b'a'; 16378];
        let mut b = Builder::new();
        b.push(&s);
        let blob = b.finish();
        assert_eq!(parse(&blob).unwrap(), vec![Elem::Str(&s)]);
        assert_eq!(blob.len(), 6 + 16383 + 3 + 1);
    }

    #[test]
    fn canonical_ints() {
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_canonical_i64(b"9223372036854775808"), None);
        for bad in [&b""[..], b"-", b"-0", b"01", b"+1", b" 1", b"1a"] {
            assert_eq!(parse_canonical_i64(bad), None);
        }
    }

    #[test]
    fn rejects_corruption() {
        let mut b = Builder::new();
        b.push(b"abc");
        b.push_int(1000);
        let blob = b.finish();
        for i in 0..blob.len() {
            for x in [0u8, 0xff, 0x80, 0x01] {
                let mut c = blob.clone();
                c[i] ^= x;
                let _ = parse(&c);
            }
            let _ = parse(&blob[..i]);
        }
        let mut c = blob.clone();
        c[4] = 3;
        assert!(parse(&c).is_err());
    }
}
