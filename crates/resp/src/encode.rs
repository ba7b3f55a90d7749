//! Encoding frames and commands.

use crate::Frame;
use bytes::{BufMut, BytesMut};

fn put_int(out: &mut BytesMut, n: i64) {
    let mut b = itoa::Buffer::new();
    out.put_slice(b.format(n).as_bytes());
}

fn put_header(out: &mut BytesMut, kind: u8, n: usize) {
    out.put_u8(kind);
    let mut b = itoa::Buffer::new();
    out.put_slice(b.format(n).as_bytes());
    out.put_slice(b"\r\n");
}

fn put_bulk(out: &mut BytesMut, b: &[u8]) {
    put_header(out, b'$', b.len());
    out.put_slice(b);
    out.put_slice(b"\r\n");
}

/// Writes a simple-string/error body: CR and LF would end the line early and let the text
/// inject protocol, so they become spaces (as Redis does for error replies).
fn put_line(out: &mut BytesMut, s: &[u8]) {
    if s.iter().any(|&c| c == b'\r' || c == b'\n') {
        out.extend(
            s.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
    } else {
        out.put_slice(s);
    }
    out.put_slice(b"\r\n");
}

/// Formats a double the way Redis 7.0 does in replies (`%.17g`, `inf`, `-inf`, `nan`).
pub fn fmt_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // 17 significant digits in scientific form, then apply %g's choice of style.
    let sci = format!("{:.16e}", d);
    let (mant, exp) = match sci.split_once('e') {
        Some(p) => p,
        None => return sci,
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..17).contains(&exp) {
        let decimals = (16 - exp).max(0) as usize;
        let fixed = format!("{:.*}", decimals, d);
        strip_zeros(&fixed).to_string()
    } else {
        let m = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", m, sign, exp.abs())
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

impl Frame {
    /// Appends this frame to `out` for a peer speaking RESP3 (`resp3`) or RESP2.
    pub fn encode(&self, out: &mut BytesMut, resp3: bool) {
        match self {
            Frame::Simple(s) => {
                out.put_u8(b'+');
                put_line(out, s);
            }
            Frame::Error(s) => {
                out.put_u8(b'-');
                put_line(out, s);
            }
            Frame::Integer(n) => {
                out.put_u8(b':');
                put_int(out, *n);
                out.put_slice(b"\r\n");
            }
            Frame::Bulk(b) => put_bulk(out, b),
            Frame::Null if resp3 => out.put_slice(b"_\r\n"),
            Frame::NullArray if resp3 => out.put_slice(b"_\r\n"),
            Frame::Null => out.put_slice(b"$-1\r\n"),
            Frame::NullArray => out.put_slice(b"*-1\r\n"),
            Frame::Array(items) => {
                put_header(out, b'*', items.len());
                for f in items {
                    f.encode(out, resp3);
                }
            }
            Frame::Double(d) => {
                let s = fmt_double(*d);
                if resp3 {
                    out.put_u8(b',');
                    out.put_slice(s.as_bytes());
                    out.put_slice(b"\r\n");
                } else {
                    put_bulk(out, s.as_bytes());
                }
            }
            Frame::DoubleText(s) => {
                if resp3 {
                    out.put_u8(b',');
                    out.put_slice(s);
                    out.put_slice(b"\r\n");
                } else {
                    put_bulk(out, s);
                }
            }
            Frame::Boolean(b) => {
                if resp3 {
                    out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
                } else {
                    out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" });
                }
            }
            Frame::BigNumber(n) => {
                if resp3 {
                    out.put_u8(b'(');
                    out.put_slice(n);
                    out.put_slice(b"\r\n");
                } else {
                    put_bulk(out, n);
                }
            }
            Frame::Verbatim(fmt, text) => {
                if resp3 {
                    put_header(out, b'=', text.len() + 4);
                    out.put_slice(fmt);
                    out.put_u8(b':');
                    out.put_slice(text);
                    out.put_slice(b"\r\n");
                } else {
                    put_bulk(out, text);
                }
            }
            Frame::Map(pairs) => {
                if resp3 {
                    put_header(out, b'%', pairs.len());
                } else {
                    put_header(out, b'*', pairs.len() * 2);
                }
                for (k, v) in pairs {
                    k.encode(out, resp3);
                    v.encode(out, resp3);
                }
            }
            Frame::Set(items) | Frame::Push(items) => {
                let kind = match (self, resp3) {
                    (Frame::Set(_), true) => b'~',
                    (Frame::Push(_), true) => b'>',
                    _ => b'*',
                };
                put_header(out, kind, items.len());
                for f in items {
                    f.encode(out, resp3);
                }
            }
        }
    }

    /// The frame's RESP bytes, as a convenience for tests and small callers.
    pub fn to_bytes(&self, resp3: bool) -> BytesMut {
        let mut out = BytesMut::new();
        self.encode(&mut out, resp3);
        out
    }
}

/// Appends a command as a RESP multibulk array of bulk strings.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut BytesMut) {
    put_header(out, b'*', args.len());
    for a in args {
        put_bulk(out, a.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_like_printf_g17() {
        assert_eq!(fmt_double(1.5), "1.5");
        assert_eq!(fmt_double(0.1), "0.10000000000000001");
        assert_eq!(fmt_double(3.0), "3");
        assert_eq!(fmt_double(1e20), "1e+20");
        assert_eq!(fmt_double(1.0e-5), "1.0000000000000001e-05");
        assert_eq!(fmt_double(123456789.0), "123456789");
        assert_eq!(fmt_double(f64::INFINITY), "inf");
        assert_eq!(fmt_double(-2.5), "-2.5");
        assert_eq!(fmt_double(0.0001), "0.0001");
    }

    #[test]
    fn resp2_downgrades() {
        let m = Frame::Map(vec![(Frame::bulk(b"a"), Frame::Integer(1))]);
        assert_eq!(&m.to_bytes(false)[..], b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(&m.to_bytes(true)[..], b"%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(&Frame::Null.to_bytes(false)[..], b"$-1\r\n");
        assert_eq!(&Frame::Null.to_bytes(true)[..], b"_\r\n");
    }
}
