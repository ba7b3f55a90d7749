//! Zipmap: the hash encoding of Redis <= 2.4 (type 9, read only).
//!
//! ```text
//! <zmlen> (<len> key <len> <free> value <free unused bytes>)* 0xFF
//!   zmlen: 1 byte, pair count if < 254 (254 = count unknown)
//!   len:   1 byte if < 254, else 0xFE + u32 LE; a 0xFF in place of a key len ends the map
//!   free:  1 byte, unused bytes that follow the value
//! ```

/// Decode and validate a zipmap blob into field/value pairs.
/// Field/value pairs borrowed from the blob.
pub(crate) type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

pub(crate) fn parse(blob: &[u8]) -> Result<Pairs<'_>, String> {
    let Some(&zmlen) = blob.first() else {
        return Err("empty zipmap".into());
    };
    let mut pos = 1;
    let mut out = Vec::new();
    let read_len = |pos: &mut usize| -> Result<usize, String> {
        let b = *blob
            .get(*pos)
            .ok_or_else(|| format!("zipmap length at byte {pos} runs past the blob"))?;
        if b < 254 {
            *pos += 1;
            Ok(usize::from(b))
        } else if b == 254 {
            let n = blob
                .get(*pos + 1..*pos + 5)
                .ok_or_else(|| format!("zipmap length at byte {pos} runs past the blob"))?;
            *pos += 5;
            Ok(u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize)
        } else {
            Err(format!("zipmap: unexpected end marker at byte {pos}"))
        }
    };
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], String> {
        let s = blob
            .get(*pos..*pos + n)
            .ok_or_else(|| format!("zipmap data at byte {pos} runs past the blob"))?;
        *pos += n;
        Ok(s)
    };
    loop {
        match blob.get(pos) {
            None => return Err("zipmap has no 0xFF terminator".into()),
            Some(0xff) => {
                if pos != blob.len() - 1 {
                    return Err(format!(
                        "zipmap terminator at byte {pos} before the end of the blob"
                    ));
                }
                break;
            }
            Some(_) => {}
        }
        let klen = read_len(&mut pos)?;
        let key = take(&mut pos, klen)?;
        let vlen = read_len(&mut pos)?;
        let free = usize::from(take(&mut pos, 1)?[0]);
        let val = take(&mut pos, vlen)?;
        take(&mut pos, free)?;
        out.push((key, val));
    }
    if zmlen < 254 && usize::from(zmlen) != out.len() {
        return Err(format!(
            "zipmap header says {zmlen} pairs, found {}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        // {"foo": "bar", "k": "hello"} with 2 free bytes after "hello".
        let blob = b"\x02\x03foo\x03\x00bar\x01k\x05\x02helloxx\xff";
        assert_eq!(
            parse(blob).unwrap(),
            vec![(&b"foo"[..], &b"bar"[..]), (&b"k"[..], &b"hello"[..])]
        );
        for i in 0..blob.len() {
            assert!(parse(&blob[..i]).is_err());
        }
        assert!(parse(b"\x03\x03foo\x03\x00bar\xff").is_err());
    }
}
