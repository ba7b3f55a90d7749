//! Reply formatting, byte for byte as redis-cli 7.0 prints replies.
//!
//! Three styles, chosen by [`OutputMode`]:
//! * standard (a terminal, or `--no-raw`): `"quoted"` strings, `(integer) 1`, `(nil)`,
//!   numbered and indented aggregates;
//! * raw (`--raw`, or stdout is not a terminal): payloads as they are, one aggregate item per
//!   line (the delimiter is `-d`), and one reply per line (`-D`);
//! * CSV (`--csv`, and the command stream of `--replica`).
//!
//! No I/O lives here: every function appends to a `Vec<u8>`.

use ferrodis_resp::{fmt_double, Frame};

/// How replies are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Human-readable, as on a terminal.
    Standard,
    /// Payloads only.
    Raw,
    /// Comma-separated quoted values.
    Csv,
}

/// Appends `bytes` quoted the way Redis's `sdscatrepr` does: `"..."` with `\n \r \t \a \b`,
/// `\"`, `\\`, and `\xHH` for every other byte outside printable ASCII.
pub fn repr(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in bytes {
        match c {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(c);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// Status and error lines are C strings in redis-cli: a NUL ends them.
fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(p) => &b[..p],
        None => b,
    }
}

/// Formats a whole reply in `mode`. `mb_delim` separates aggregate items in raw mode and
/// `cmd_delim` ends a raw reply (`-d` and `-D`, both `\n` by default).
pub fn reply(frame: &Frame, mode: OutputMode, mb_delim: &[u8], cmd_delim: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match mode {
        OutputMode::Standard => tty(frame, "", &mut out),
        OutputMode::Raw => {
            raw(frame, mb_delim, &mut out);
            out.extend_from_slice(cmd_delim);
        }
        OutputMode::Csv => {
            csv(frame, &mut out);
            out.push(b'\n');
        }
    }
    out
}

/// The standard (terminal) form. `prefix` is the indentation of nested items; the caller has
/// already printed the index of the first line.
pub fn tty(frame: &Frame, prefix: &str, out: &mut Vec<u8>) {
    match frame {
        Frame::Error(e) => {
            out.extend_from_slice(b"(error) ");
            out.extend_from_slice(c_str(e));
            out.push(b'\n');
        }
        Frame::Simple(s) => {
            out.extend_from_slice(c_str(s));
            out.push(b'\n');
        }
        Frame::Integer(n) => out.extend_from_slice(format!("(integer) {n}\n").as_bytes()),
        Frame::Double(d) => {
            out.extend_from_slice(format!("(double) {}\n", fmt_double(*d)).as_bytes())
        }
        Frame::DoubleText(t) => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(t);
            out.push(b'\n');
        }
        Frame::BigNumber(b) => {
            out.extend_from_slice(b"(big number) ");
            out.extend_from_slice(b);
            out.push(b'\n');
        }
        Frame::Bulk(b) => {
            repr(b, out);
            out.push(b'\n');
        }
        // Verbatim strings are meant to be read as they are.
        Frame::Verbatim(_, text) => {
            out.extend_from_slice(text);
            out.push(b'\n');
        }
        Frame::Null | Frame::NullArray => out.extend_from_slice(b"(nil)\n"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)\n" } else { b"(false)\n" }),
        Frame::Array(items) => tty_list(items, ')', "(empty array)\n", prefix, out),
        Frame::Set(items) => tty_list(items, '~', "(empty set)\n", prefix, out),
        Frame::Push(items) => tty_list(items, ')', "(empty push)\n", prefix, out),
        Frame::Map(pairs) => {
            if pairs.is_empty() {
                out.extend_from_slice(b"(empty hash)\n");
                return;
            }
            let width = digits(pairs.len());
            let child = child_prefix(prefix, width);
            for (i, (k, v)) in pairs.iter().enumerate() {
                index_label(if i == 0 { "" } else { prefix }, i + 1, width, '#', out);
                tty(k, &child, out);
                // The key's line ends where the value starts.
                if out.last() == Some(&b'\n') {
                    out.pop();
                }
                out.extend_from_slice(b" => ");
                // A value that takes several lines starts on its own line, indented like
                // the key; a one-line value stays on the key's line.
                let mut value = Vec::new();
                tty(v, &child, &mut value);
                let body = value.strip_suffix(b"\n").unwrap_or(&value);
                if body.contains(&b'\n') {
                    out.push(b'\n');
                    out.extend_from_slice(child.as_bytes());
                }
                out.extend_from_slice(&value);
            }
        }
    }
}

fn tty_list(items: &[Frame], sep: char, empty: &str, prefix: &str, out: &mut Vec<u8>) {
    if items.is_empty() {
        out.extend_from_slice(empty.as_bytes());
        return;
    }
    let width = digits(items.len());
    let child = child_prefix(prefix, width);
    for (i, item) in items.iter().enumerate() {
        index_label(if i == 0 { "" } else { prefix }, i + 1, width, sep, out);
        tty(item, &child, out);
    }
}

/// Number of decimal digits of the largest index: indexes are right-aligned to it.
fn digits(mut n: usize) -> usize {
    let mut d = 0;
    loop {
        d += 1;
        n /= 10;
        if n == 0 {
            return d;
        }
    }
}

/// Nested items are indented past `"<index><sep> "`.
fn child_prefix(prefix: &str, width: usize) -> String {
    format!("{prefix}{}", " ".repeat(width + 2))
}

fn index_label(prefix: &str, idx: usize, width: usize, sep: char, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("{prefix}{idx:>width$}{sep} ").as_bytes());
}

/// The raw form: payloads only, aggregate items separated by `mb_delim`.
pub fn raw(frame: &Frame, mb_delim: &[u8], out: &mut Vec<u8>) {
    match frame {
        Frame::Null | Frame::NullArray => {}
        Frame::Error(e) => {
            out.extend_from_slice(e);
            out.push(b'\n');
        }
        Frame::Simple(b) | Frame::Bulk(b) | Frame::Verbatim(_, b) | Frame::BigNumber(b) => {
            out.extend_from_slice(b)
        }
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Frame::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Frame::Double(d) => out.extend_from_slice(fmt_double(*d).as_bytes()),
        Frame::DoubleText(t) => out.extend_from_slice(t),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(mb_delim);
                }
                raw(item, mb_delim, out);
            }
        }
        Frame::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(mb_delim);
                }
                raw(k, mb_delim, out);
                out.push(b' ');
                raw(v, mb_delim, out);
            }
        }
    }
}

/// The CSV form: strings quoted as [`repr`] does, aggregates flattened with commas.
pub fn csv(frame: &Frame, out: &mut Vec<u8>) {
    match frame {
        Frame::Error(e) => {
            out.extend_from_slice(b"ERROR,");
            repr(c_str(e), out);
        }
        Frame::Simple(b) | Frame::Bulk(b) | Frame::Verbatim(_, b) => repr(b, out),
        Frame::BigNumber(b) => out.extend_from_slice(b),
        Frame::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Frame::Double(d) => out.extend_from_slice(fmt_double(*d).as_bytes()),
        Frame::DoubleText(t) => out.extend_from_slice(t),
        Frame::Null | Frame::NullArray => out.extend_from_slice(b"NULL"),
        Frame::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv(item, out);
            }
        }
        Frame::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                csv(k, out);
                out.push(b',');
                csv(v, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn bulk(s: &str) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn std_text(f: &Frame) -> String {
        String::from_utf8(reply(f, OutputMode::Standard, b"\n", b"\n")).unwrap()
    }

    #[test]
    fn repr_escapes() {
        let mut out = Vec::new();
        repr(b"a\r\n\x00\x01\x7f\xff\"\\\t\x07\x08 ~", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""a\r\n\x00\x01\x7f\xff\"\\\t\a\b ~""#
        );
    }

    #[test]
    fn scalars() {
        assert_eq!(std_text(&Frame::Integer(-3)), "(integer) -3\n");
        assert_eq!(std_text(&Frame::Null), "(nil)\n");
        assert_eq!(std_text(&Frame::error("ERR x")), "(error) ERR x\n");
        assert_eq!(std_text(&Frame::Double(1.5)), "(double) 1.5\n");
        assert_eq!(std_text(&Frame::Boolean(false)), "(false)\n");
    }

    #[test]
    fn nested_arrays_align_indexes() {
        let mut items: Vec<Frame> = (0..10).map(|i| bulk(&i.to_string())).collect();
        items[1] = Frame::Array(vec![Frame::Integer(1), Frame::Array(vec![])]);
        let text = std_text(&Frame::Array(items));
        assert!(
            text.starts_with(" 1) \"0\"\n 2) 1) (integer) 1\n    2) (empty array)\n 3) \"2\"\n")
        );
        assert!(text.ends_with("10) \"9\"\n"));
    }

    #[test]
    fn maps() {
        let m = Frame::Map(vec![
            (bulk("a"), Frame::Array(vec![bulk("x"), bulk("y")])),
            (bulk("b"), Frame::Integer(2)),
        ]);
        assert_eq!(
            std_text(&m),
            "1# \"a\" => \n   1) \"x\"\n   2) \"y\"\n2# \"b\" => (integer) 2\n"
        );
        let raw_text = reply(&m, OutputMode::Raw, b"\n", b"\n");
        assert_eq!(raw_text, b"a x\ny\nb 2\n");
        assert_eq!(
            reply(&m, OutputMode::Csv, b"\n", b"\n"),
            b"\"a\",\"x\",\"y\",\"b\",2\n"
        );
    }

    #[test]
    fn raw_errors_and_nil() {
        assert_eq!(
            reply(&Frame::error("ERR x"), OutputMode::Raw, b"\n", b"\n"),
            b"ERR x\n\n"
        );
        assert_eq!(reply(&Frame::Null, OutputMode::Raw, b"\n", b"\n"), b"\n");
    }
}
