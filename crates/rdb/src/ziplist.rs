//! Ziplist: the packed array of Redis 2.6 to 6.2 (read only; types 10, 12, 13, 14).
//!
//! ```text
//! +---------+--------+--------+---------+-----+------+
//! | zlbytes | zltail | zllen  | entry 1 | ... | 0xFF |
//! | u32 LE  | u32 LE | u16 LE |         |     |      |
//! +---------+--------+--------+---------+-----+------+
//! entry = prevlen, encoding, data
//!   prevlen: 1 byte if < 254, else 0xFE + u32 LE (size of the previous entry)
//!   00pppppp              string, len <= 63
//!   01pppppp qqqqqqqq     string, 14-bit length, BIG-endian
//!   0x80 + u32 BE         string, 32-bit length
//!   0xC0 int16, 0xD0 int32, 0xE0 int64, 0xF0 int24, 0xFE int8 (little-endian)
//!   0xF1..0xFD            immediate 0..12 (low nibble - 1)
//! ```
//! zltail is the offset of the last entry; zllen saturates at 65535.

use crate::listpack::Elem;

const HEADER: usize = 10;

/// Decode and validate a ziplist blob (sizes, prevlens, zltail, zllen).
pub(crate) fn parse(blob: &[u8]) -> Result<Vec<Elem<'_>>, String> {
    if blob.len() < HEADER + 1 {
        return Err(format!(
            "ziplist of {} bytes is shorter than the 11-byte minimum",
            blob.len()
        ));
    }
    let zlbytes = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let zltail = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    let zllen = u16::from_le_bytes([blob[8], blob[9]]);
    if zlbytes != blob.len() {
        return Err(format!(
            "ziplist header says {zlbytes} bytes, blob has {}",
            blob.len()
        ));
    }
    let mut out = Vec::with_capacity(usize::from(zllen).min(blob.len() / 2));
    let mut pos = HEADER;
    let mut prev_size = 0usize;
    let mut last = HEADER;
    loop {
        let Some(&b) = blob.get(pos) else {
            return Err("ziplist has no 0xFF terminator".into());
        };
        if b == 0xff {
            if pos != blob.len() - 1 {
                return Err(format!(
                    "ziplist terminator at byte {pos} before the end of the blob"
                ));
            }
            break;
        }
        let start = pos;
        let get = |from: usize, n: usize| -> Result<&[u8], String> {
            blob.get(from..from + n)
                .ok_or_else(|| format!("ziplist entry at byte {start} runs past the blob"))
        };
        let prevlen = if b < 254 {
            pos += 1;
            usize::from(b)
        } else {
            // b == 254 (0xFF at an entry start was the terminator, handled above).
            let p = get(pos + 1, 4)?;
            pos += 5;
            u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize
        };
        if prevlen != prev_size {
            return Err(format!("ziplist entry at byte {start}: prevlen {prevlen}, previous entry has {prev_size} bytes"));
        }
        let e = get(pos, 1)?[0];
        let (elem, size) = match e >> 6 {
            0 => {
                let len = usize::from(e & 0x3f);
                (Elem::Str(get(pos + 1, len)?), 1 + len)
            }
            1 => {
                let n = get(pos, 2)?;
                let len = (usize::from(e & 0x3f) << 8) | usize::from(n[1]);
                (Elem::Str(get(pos + 2, len)?), 2 + len)
            }
            2 if e == 0x80 => {
                let n = get(pos + 1, 4)?;
                let len = u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize;
                (Elem::Str(get(pos + 5, len)?), 5 + len)
            }
            _ => match e {
                0xc0 => {
                    let n = get(pos + 1, 2)?;
                    (Elem::Int(i64::from(i16::from_le_bytes([n[0], n[1]]))), 3)
                }
                0xd0 => {
                    let n = get(pos + 1, 4)?;
                    (
                        Elem::Int(i64::from(i32::from_le_bytes([n[0], n[1], n[2], n[3]]))),
                        5,
                    )
                }
                0xe0 => {
                    let n = get(pos + 1, 8)?;
                    let mut w = [0u8; 8];
                    w.copy_from_slice(n);
                    (Elem::Int(i64::from_le_bytes(w)), 9)
                }
                0xf0 => {
                    let n = get(pos + 1, 3)?;
                    (
                        Elem::Int(i64::from(i32::from_le_bytes([0, n[0], n[1], n[2]]) >> 8)),
                        4,
                    )
                }
                0xfe => {
                    let n = get(pos + 1, 1)?;
                    (Elem::Int(i64::from(n[0] as i8)), 2)
                }
                0xf1..=0xfd => (Elem::Int(i64::from(e & 0x0f) - 1), 1),
                _ => {
                    return Err(format!(
                        "ziplist entry at byte {start}: invalid encoding byte {e:#04x}"
                    ))
                }
            },
        };
        pos += size;
        prev_size = pos - start;
        last = start;
        out.push(elem);
    }
    if zltail != last {
        return Err(format!(
            "ziplist zltail {zltail} does not point at the last entry ({last})"
        ));
    }
    if zllen != u16::MAX && usize::from(zllen) != out.len() {
        return Err(format!(
            "ziplist header says {zllen} entries, found {}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Build a ziplist the way Redis 6 would (for tests only).
    pub(crate) fn build(items: &[Elem<'_>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut last = HEADER;
        for it in items {
            let start = body.len();
            last = HEADER + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(254);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match *it {
                Elem::Int(v) if (0..=12).contains(&v) => body.push(0xf1 + v as u8),
                Elem::Int(v) if i8::try_from(v).is_ok() => {
                    body.push(0xfe);
                    body.push(v as i8 as u8);
                }
                Elem::Int(v) if i16::try_from(v).is_ok() => {
                    body.push(0xc0);
                    body.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Elem::Int(v) if (-8_388_608..8_388_608).contains(&v) => {
                    body.push(0xf0);
                    body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                Elem::Int(v) if i32::try_from(v).is_ok() => {
                    body.push(0xd0);
                    body.extend_from_slice(&(v as i32).to_le_bytes());
                }
                Elem::Int(v) => {
                    body.push(0xe0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
                Elem::Str(s) if s.len() < 64 => {
                    body.push(s.len() as u8);
                    body.extend_from_slice(s);
                }
                Elem::Str(s) if s.len() < 16384 => {
                    body.push(0x40 | (s.len() >> 8) as u8);
                    body.push(s.len() as u8);
                    body.extend_from_slice(s);
                }
                Elem::Str(s) => {
                    body.push(0x80);
                    body.extend_from_slice(&(s.len() as u32).to_be_bytes());
                    body.extend_from_slice(s);
                }
            }
            prev = body.len() - start;
        }
        let total = HEADER + body.len() + 1;
        let mut out = Vec::new();
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(last as u32).to_le_bytes());
        out.extend_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xff);
        out
    }

    #[test]
    fn roundtrip() {
        let long = vec![b'z'; 300];
        let big = vec![b'q'; 20000];
        let items = [
            Elem::Int(0),
            Elem::Int(12),
            Elem::Int(-5),
            Elem::Int(1000),
            Elem::Int(-1_000_000),
            Elem::Int(1 << 40),
            Elem::Int(100_000),
            Elem::Str(b"abc"),
            Elem::Str(&long),
            Elem::Str(&big),
            Elem::Str(b""),
        ];
        let blob = build(&items);
        assert_eq!(parse(&blob).unwrap(), items.to_vec());
        assert_eq!(parse(&build(&[])).unwrap(), vec![]);
        for i in 0..blob.len().min(400) {
            let mut c = blob.clone();
            c[i] ^= 0x41;
            let _ = parse(&c);
            let _ = parse(&blob[..i]);
        }
    }
}
