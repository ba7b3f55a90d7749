//! Intset: a sorted array of integers (type 11, SET_INTSET).
//!
//! ```text
//! +----------+--------+-----------------------------+
//! | encoding | length | length x signed LE integers  |
//! |  u32 LE  | u32 LE | 2, 4 or 8 bytes each         |
//! +----------+--------+-----------------------------+
//! ```
//! Values must be strictly ascending (Redis binary-searches them).

/// Decode and validate an intset blob.
pub(crate) fn parse(blob: &[u8]) -> Result<Vec<i64>, String> {
    if blob.len() < 8 {
        return Err(format!(
            "intset of {} bytes is shorter than its 8-byte header",
            blob.len()
        ));
    }
    let enc = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let len = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if !matches!(enc, 2 | 4 | 8) {
        return Err(format!("intset encoding {enc}, expected 2, 4 or 8"));
    }
    let body = &blob[8..];
    if Some(body.len()) != len.checked_mul(enc) {
        return Err(format!(
            "intset of {len} x {enc}-byte integers, but {} data bytes",
            body.len()
        ));
    }
    let mut out: Vec<i64> = Vec::with_capacity(len);
    for c in body.chunks_exact(enc) {
        let v = match enc {
            2 => i64::from(i16::from_le_bytes([c[0], c[1]])),
            4 => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if let Some(&prev) = out.last() {
            if v <= prev {
                return Err(format!(
                    "intset element {} ({v}) is not greater than the previous ({prev})",
                    out.len()
                ));
            }
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(enc: u32, vals: &[i64]) -> Vec<u8> {
        let mut b = enc.to_le_bytes().to_vec();
        b.extend_from_slice(&(vals.len() as u32).to_le_bytes());
        for v in vals {
            b.extend_from_slice(&v.to_le_bytes()[..enc as usize]);
        }
        b
    }

    #[test]
    fn parses_and_validates() {
        assert_eq!(parse(&build(2, &[-3, 1, 300])).unwrap(), vec![-3, 1, 300]);
        assert_eq!(
            parse(&build(4, &[-70000, 70000])).unwrap(),
            vec![-70000, 70000]
        );
        assert_eq!(
            parse(&build(8, &[i64::MIN, i64::MAX])).unwrap(),
            vec![i64::MIN, i64::MAX]
        );
        assert!(parse(&build(2, &[1, 1])).is_err());
        assert!(parse(&build(3, &[1])).is_err());
        assert!(parse(&build(2, &[1, 2])[..11]).is_err());
        let mut huge = build(8, &[]);
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&huge).is_err());
    }
}
