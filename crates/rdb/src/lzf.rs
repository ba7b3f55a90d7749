//! LZF, the compression Redis applies to strings longer than 20 bytes.
//!
//! A compressed stream is a sequence of tokens, each starting with a control byte `c`:
//!
//! ```text
//! c < 32 : literal run     [c] [c+1 bytes copied verbatim]
//! c >= 32: back-reference  [c] ([extra len] if c>>5 == 7) [offset low byte]
//!          len  = (c >> 5) + extra + 2            (3 ..= 264 bytes)
//!          dist = ((c & 0x1f) << 8) + low + 1     (1 ..= 8192 bytes back)
//! ```
//! A back-reference copies byte by byte, so it may overlap the bytes it produces
//! (that is how runs of one byte are encoded).

/// Largest output one input byte can produce (a 3-byte back-reference copying 264 bytes).
pub(crate) const MAX_EXPANSION: u64 = 88;

/// Decompress `input`, which must produce exactly `out_len` bytes.
/// On failure returns the position in `input` and what was wrong.
pub(crate) fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let c = usize::from(input[i]);
        let at = i;
        i += 1;
        if c < 32 {
            let run = c + 1;
            let lit = input.get(i..i + run).ok_or_else(|| {
                format!("LZF literal run of {run} bytes at byte {at} runs past the compressed data")
            })?;
            if out.len() + run > out_len {
                return Err(format!(
                    "LZF output exceeds the declared length {out_len} at byte {at}"
                ));
            }
            out.extend_from_slice(lit);
            i += run;
        } else {
            let mut len = c >> 5;
            if len == 7 {
                len +=
                    usize::from(*input.get(i).ok_or_else(|| {
                        format!("LZF back-reference length byte after byte {at}")
                    })?);
                i += 1;
            }
            let low = usize::from(
                *input
                    .get(i)
                    .ok_or_else(|| format!("LZF back-reference offset byte after byte {at}"))?,
            );
            i += 1;
            let dist = ((c & 0x1f) << 8) + low + 1;
            let len = len + 2;
            if dist > out.len() {
                return Err(format!(
                    "LZF back-reference at byte {at} points before the start of the output"
                ));
            }
            if out.len() + len > out_len {
                return Err(format!(
                    "LZF output exceeds the declared length {out_len} at byte {at}"
                ));
            }
            let start = out.len() - dist;
            if dist >= len {
                out.extend_from_within(start..start + len);
            } else if dist == 1 {
                let b = out[start];
                out.resize(out.len() + len, b);
            } else {
                // Overlapping: the copy reads bytes it has just produced.
                for k in 0..len {
                    let b = out[start + k];
                    out.push(b);
                }
            }
        }
    }
    if out.len() != out_len {
        return Err(format!(
            "LZF data decompressed to {} bytes, expected {out_len}",
            out.len()
        ));
    }
    Ok(out)
}

/// Compress `input`; returns `None` unless the result is at least 4 bytes shorter
/// (the rule Redis applies before storing a string compressed).
pub(crate) fn compress(input: &[u8]) -> Option<Vec<u8>> {
    const MAX_DIST: usize = 8192;
    const MAX_LEN: usize = 264;
    let n = input.len();
    if n < 4 || n >= u32::MAX as usize {
        return None;
    }
    let limit = n - 4;
    let mut out = Vec::with_capacity(n);
    // Position + 1 of the last occurrence of each 3-byte hash (0 = none). Sized to the
    // input (at most 2^14 entries): zeroing a fixed 128 KiB table for every short value was
    // a third of SAVE's time.
    let hash_bits: u32 = (usize::BITS - n.leading_zeros()).clamp(8, 14);
    let mut table = vec![0u32; 1 << hash_bits];
    let hash = |p: usize| -> usize {
        let v =
            (u32::from(input[p]) << 16) | (u32::from(input[p + 1]) << 8) | u32::from(input[p + 2]);
        (v.wrapping_mul(2_654_435_761) >> (32 - hash_bits)) as usize
    };
    let mut lit_start = 0;
    let mut i = 0;
    let flush = |out: &mut Vec<u8>, from: usize, to: usize| {
        for chunk in input[from..to].chunks(32) {
            out.push((chunk.len() - 1) as u8);
            out.extend_from_slice(chunk);
        }
    };
    while i + 2 < n {
        let h = hash(i);
        let cand = table[h] as usize;
        table[h] = (i + 1) as u32;
        if cand > 0 {
            let c = cand - 1;
            let dist = i - c;
            if dist <= MAX_DIST && input[c..c + 3] == input[i..i + 3] {
                let mut len = 3;
                while i + len < n && len < MAX_LEN && input[c + len] == input[i + len] {
                    len += 1;
                }
                flush(&mut out, lit_start, i);
                let off = dist - 1;
                let l = len - 2;
                if l < 7 {
                    out.push(((l << 5) | (off >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (off >> 8)) as u8);
                    out.push((l - 7) as u8);
                }
                out.push((off & 0xff) as u8);
                // Like liblzf's VERY_FAST mode: hash only the match's last two positions.
                for p in (i + len).saturating_sub(2).max(i + 1)..(i + len).min(n.saturating_sub(2))
                {
                    table[hash(p)] = (p + 1) as u32;
                }
                i += len;
                lit_start = i;
                if out.len() > limit {
                    return None;
                }
                continue;
            }
        }
        i += 1;
    }
    flush(&mut out, lit_start, n);
    (out.len() <= limit).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let cases: Vec<Vec<u8>> = vec![
            vec![b'a'; 1000],
            b"hello hello hello hello hello hello world".to_vec(),
            (0..5000u32).map(|i| (i % 7) as u8).collect(),
            (0..20000u32)
                .map(|i| ((i * i) % 13) as u8 + (i / 3000) as u8)
                .collect(),
        ];
        for c in cases {
            let z = compress(&c).expect("compressible");
            assert!(z.len() + 4 <= c.len());
            assert_eq!(decompress(&z, c.len()).unwrap(), c);
        }
        assert!(compress(b"abcdefghijklmnopqrstuvwxyz").is_none());
    }

    #[test]
    fn rejects_bad_input() {
        assert!(decompress(&[5, b'a'], 6).is_err());
        assert!(decompress(&[0x20, 0x05], 3).is_err());
        assert!(decompress(&[0, b'a', 0xe0], 300).is_err());
        assert!(decompress(&[0, b'a'], 2).is_err());
        assert!(decompress(&[1, b'a', b'b'], 1).is_err());
    }
}
