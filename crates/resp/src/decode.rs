//! Client-side decoding of reply frames (RESP2 and RESP3).
//!
//! Two passes over the buffer: [`scan`] checks that one whole frame is present and finds its
//! end without allocating; only then are the bytes split off, frozen, and turned into a
//! [`Frame`] whose bulk strings are slices of the read buffer (no copy).

use crate::{Frame, ProtocolError};
use bytes::{Bytes, BytesMut};

/// Deepest nesting accepted, so a hostile peer cannot overflow the stack.
const MAX_DEPTH: usize = 128;

/// Decodes one frame from the front of `buf`. `Ok(None)`: more bytes are needed (nothing is
/// consumed). On success the frame's bytes are removed from `buf`.
pub fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
    let end = match scan(buf, 0, 0)? {
        Some(end) => end,
        None => return Ok(None),
    };
    let bytes = buf.split_to(end).freeze();
    let (frame, _) = build(&bytes, 0);
    Ok(Some(frame))
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let mut i = 0;
    while let Some(p) = rest[i..].iter().position(|&b| b == b'\r') {
        let at = i + p;
        match rest.get(at + 1) {
            Some(b'\n') => return Some(from + at),
            Some(_) => i = at + 1,
            None => return None,
        }
    }
    None
}

fn parse_i64(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// The line starting at `pos`, and the position after its CRLF.
fn line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let e = find_crlf(buf, pos)?;
    Some((&buf[pos..e], e + 2))
}

/// Returns the end of the frame starting at `pos`, or `None` if incomplete.
fn scan(buf: &[u8], pos: usize, depth: usize) -> Result<Option<usize>, ProtocolError> {
    if depth > MAX_DEPTH {
        return Err(ProtocolError::Malformed("nesting too deep"));
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some((body, next)) = line(buf, pos + 1) else {
        return Ok(None);
    };
    match kind {
        b'+' | b'-' | b'_' | b'#' | b',' | b'(' => Ok(Some(next)),
        b':' => parse_i64(body)
            .map(|_| Some(next))
            .ok_or(ProtocolError::Malformed("integer")),
        b'$' | b'=' | b'!' => {
            let n = parse_i64(body).ok_or(ProtocolError::InvalidBulkLength)?;
            if n < 0 {
                return Ok(Some(next));
            }
            let end = next + n as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(ProtocolError::Malformed("bulk string terminator"));
            }
            Ok(Some(end + 2))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = parse_i64(body).ok_or(ProtocolError::InvalidMultibulkLength)?;
            if n < 0 {
                return Ok(Some(next));
            }
            // Every element takes at least 3 bytes, so a count beyond what the buffer could
            // hold is only ever "incomplete"; checked math keeps hostile counts harmless.
            let count = if kind == b'%' || kind == b'|' {
                n.checked_mul(2)
                    .ok_or(ProtocolError::InvalidMultibulkLength)?
            } else {
                n
            };
            let mut p = next;
            for _ in 0..count {
                match scan(buf, p, depth + 1)? {
                    Some(e) => p = e,
                    None => return Ok(None),
                }
            }
            if kind == b'|' {
                // An attribute map precedes the real reply: skip both as one unit.
                return scan(buf, p, depth + 1);
            }
            Ok(Some(p))
        }
        other => Err(ProtocolError::InvalidType(other)),
    }
}

/// Builds the frame at `pos` from bytes that [`scan`] already validated.
fn build(b: &Bytes, pos: usize) -> (Frame, usize) {
    let kind = b[pos];
    let e = find_crlf(b, pos + 1).unwrap_or(b.len());
    let body = b.slice(pos + 1..e);
    let next = e + 2;
    match kind {
        b'+' => (Frame::Simple(body), next),
        b'-' => (Frame::Error(body), next),
        b'_' => (Frame::Null, next),
        b'#' => (Frame::Boolean(&body[..] == b"t"), next),
        b',' => {
            let s = String::from_utf8_lossy(&body);
            let d = match s.as_ref() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                other => other.parse().unwrap_or(f64::NAN),
            };
            // Keep the server's text when our formatting would not reproduce it (Redis's
            // long-double "human" coordinates): redis-cli prints doubles as received.
            if crate::fmt_double(d).as_bytes() == &body[..] {
                (Frame::Double(d), next)
            } else {
                (Frame::DoubleText(body), next)
            }
        }
        b'(' => (Frame::BigNumber(body), next),
        b':' => (Frame::Integer(parse_i64(&body).unwrap_or(0)), next),
        b'$' | b'=' | b'!' => {
            let n = parse_i64(&body).unwrap_or(-1);
            if n < 0 {
                return (Frame::Null, next);
            }
            let data = b.slice(next..next + n as usize);
            let f = match kind {
                b'$' => Frame::Bulk(data),
                b'!' => Frame::Error(data),
                _ => {
                    if data.len() >= 4 && data[3] == b':' {
                        Frame::Verbatim(data.slice(0..3), data.slice(4..))
                    } else {
                        Frame::Verbatim(Bytes::from_static(b"txt"), data)
                    }
                }
            };
            (f, next + n as usize + 2)
        }
        _ => {
            let n = parse_i64(&body).unwrap_or(-1);
            if n < 0 {
                return (Frame::NullArray, next);
            }
            let mut p = next;
            if kind == b'%' || kind == b'|' {
                let mut pairs = Vec::with_capacity((n as usize).min(1024));
                for _ in 0..n {
                    let (k, p1) = build(b, p);
                    let (v, p2) = build(b, p1);
                    pairs.push((k, v));
                    p = p2;
                }
                if kind == b'|' {
                    return build(b, p);
                }
                return (Frame::Map(pairs), p);
            }
            let mut items = Vec::with_capacity((n as usize).min(1024));
            for _ in 0..n {
                let (f, p1) = build(b, p);
                items.push(f);
                p = p1;
            }
            let f = match kind {
                b'~' => Frame::Set(items),
                b'>' => Frame::Push(items),
                _ => Frame::Array(items),
            };
            (f, p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_frame() -> impl Strategy<Value = Frame> {
        let leaf = prop_oneof![
            "[a-zA-Z0-9 ]{0,12}".prop_map(|s| Frame::Simple(Bytes::from(s))),
            "ERR [a-z ]{0,12}".prop_map(|s| Frame::Error(Bytes::from(s))),
            any::<i64>().prop_map(Frame::Integer),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(|v| Frame::Bulk(Bytes::from(v))),
            Just(Frame::Null),
            any::<bool>().prop_map(Frame::Boolean),
            (-1e9f64..1e9).prop_map(|d| Frame::Double((d * 4.0).round() / 4.0)),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Array),
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Set),
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Frame::Push),
                proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Frame::Map),
            ]
        })
    }

    proptest! {
        #[test]
        fn roundtrip_resp3(f in arb_frame()) {
            let mut buf = f.to_bytes(true);
            let got = decode(&mut buf).unwrap().unwrap();
            prop_assert_eq!(got, f);
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn any_split_gives_same_frames(frames in proptest::collection::vec(arb_frame(), 1..5), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            let mut all = BytesMut::new();
            for f in &frames { f.encode(&mut all, true); }
            let total = all.len();
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (total + 1)).collect();
            points.push(total);
            points.sort();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut last = 0;
            for p in points {
                buf.extend_from_slice(&all[last..p]);
                last = p;
                while let Some(f) = decode(&mut buf).unwrap() { got.push(f); }
            }
            prop_assert_eq!(got, frames);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut buf = BytesMut::from(&data[..]);
            let _ = decode(&mut buf);
        }
    }

    #[test]
    fn partial_is_none() {
        let mut b = BytesMut::from(&b"$5\r\nhel"[..]);
        assert_eq!(decode(&mut b).unwrap(), None);
        b.extend_from_slice(b"lo\r\n");
        assert_eq!(decode(&mut b).unwrap(), Some(Frame::bulk(b"hello")));
    }
}

#[cfg(test)]
mod regressions {
    use super::*;

    #[test]
    fn huge_map_count_is_not_a_crash() {
        let mut b = BytesMut::from(&b"%9223372036854775807\r\n"[..]);
        assert!(decode(&mut b).is_err() || decode(&mut b).unwrap().is_none());
        let mut b = BytesMut::from(&b"%4611686018427387904\r\n"[..]);
        let _ = decode(&mut b);
    }

    #[test]
    fn crlf_in_errors_is_neutralized() {
        let f = Frame::error("ERR bad\r\n+OK");
        assert_eq!(&f.to_bytes(false)[..], b"-ERR bad  +OK\r\n");
    }
}
