//! Server-side request parsing: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
//! (`GET k\n`, as telnet and redis-cli's inline mode send) commands.
//!
//! The parser keeps its position between calls, so a large command that arrives in many reads
//! is scanned once, not once per read. Argument bytes are not copied: when a whole command is
//! present its bytes are split off the read buffer, frozen, and each argument is a slice.
//!
//! ```text
//!  read buffer: | *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n | *2\r\n$3\r\nGE...
//!               '------------ one command -----------------' '-- incomplete --'
//!                 `pos` walks forward; `args` holds (start, end) of each argument
//! ```

use crate::{ProtocolError, INLINE_MAX};
use bytes::{Bytes, BytesMut};

/// Most a length header can make the parser pre-allocate.
const RESERVE_MAX: usize = 4 * 1024 * 1024;

/// Bounds the parser enforces, from the server's configuration and the client's state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len`: longest bulk argument accepted.
    pub max_bulk_len: u64,
    /// Whether the client still has to authenticate (stricter limits apply, as in Redis).
    pub auth_required: bool,
    /// Replication links from a master are exempt from `proto-max-bulk-len`.
    pub from_master: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            auth_required: false,
            from_master: false,
        }
    }
}

/// Incremental request parser; one per connection.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments still to read in the current multibulk; 0 when between commands.
    remaining: usize,
    /// Where scanning resumes, as an offset into the read buffer.
    pos: usize,
    /// `(start, end)` of each argument seen so far in the current multibulk.
    args: Vec<(usize, usize)>,
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let p = rest.iter().position(|&b| b == b'\r')?;
    // Redis looks for '\r' and requires the byte after it to exist; it treats the two
    // bytes as the terminator.
    if from + p + 1 < buf.len() {
        Some(from + p)
    } else {
        None
    }
}

fn parse_len(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as i64)?;
    }
    Some(if neg { -v } else { v })
}

impl RequestParser {
    /// A fresh parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes of the read buffer that belong to a command still being received.
    pub fn pending(&self) -> usize {
        self.pos
    }

    /// Parses the next command from the front of `buf`.
    ///
    /// * `Ok(Some(args))`: one command; its bytes are removed from `buf`.
    /// * `Ok(None)`: no complete command yet (state is kept for the next call).
    /// * `Err(e)`: the stream is not valid RESP; the caller replies
    ///   `-ERR Protocol error: {e}` and closes the connection.
    ///
    /// Empty commands (`*0`, `*-1`, blank inline lines) are skipped, as Redis does.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let mut out = Vec::new();
        Ok(self.parse_into(buf, limits, &mut out)?.then_some(out))
    }

    /// Like [`RequestParser::parse`], but puts the arguments into `out` (cleared first), so
    /// a connection can reuse one vector for every command. Returns whether a command was
    /// parsed.
    pub fn parse_into(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        out: &mut Vec<Bytes>,
    ) -> Result<bool, ProtocolError> {
        loop {
            if self.remaining == 0 {
                if buf.is_empty() {
                    return Ok(false);
                }
                if buf[0] != b'*' {
                    match self.parse_inline(buf)? {
                        Some(args) if args.is_empty() => continue,
                        Some(args) => {
                            *out = args;
                            return Ok(true);
                        }
                        None => return Ok(false),
                    }
                }
                let Some(cr) = find_crlf(buf, 1) else {
                    if buf.len() > INLINE_MAX {
                        return Err(ProtocolError::TooBigMultibulkCount);
                    }
                    return Ok(false);
                };
                let n = parse_len(&buf[1..cr]).ok_or(ProtocolError::InvalidMultibulkLength)?;
                if n > i32::MAX as i64 {
                    return Err(ProtocolError::InvalidMultibulkLength);
                }
                if n > 10 && limits.auth_required {
                    return Err(ProtocolError::UnauthenticatedMultibulkLength);
                }
                if n <= 0 {
                    let _ = buf.split_to(cr + 2);
                    continue;
                }
                self.remaining = n as usize;
                self.pos = cr + 2;
                self.args.clear();
                self.args.reserve(self.remaining.min(1024));
            }
            // Read the bulk arguments that are complete.
            while self.remaining > 0 {
                let Some(&first) = buf.get(self.pos) else {
                    return Ok(false);
                };
                if first != b'$' {
                    return Err(ProtocolError::ExpectedDollar(first as char));
                }
                let Some(cr) = find_crlf(buf, self.pos + 1) else {
                    if buf.len() - self.pos > INLINE_MAX {
                        return Err(ProtocolError::TooBigBulkCount);
                    }
                    return Ok(false);
                };
                let len =
                    parse_len(&buf[self.pos + 1..cr]).ok_or(ProtocolError::InvalidBulkLength)?;
                if len < 0 || (!limits.from_master && len as u64 > limits.max_bulk_len) {
                    return Err(ProtocolError::InvalidBulkLength);
                }
                if len > 16384 && limits.auth_required {
                    return Err(ProtocolError::UnauthenticatedBulkLength);
                }
                let start = cr + 2;
                let end = start + len as usize;
                if buf.len() < end + 2 {
                    // Make room for a big argument up front rather than doubling repeatedly,
                    // but never let a length header alone make us allocate much.
                    buf.reserve((end + 2 - buf.len()).min(RESERVE_MAX));
                    return Ok(false);
                }
                self.args.push((start, end));
                self.pos = end + 2;
                self.remaining -= 1;
            }
            let frozen = buf.split_to(self.pos).freeze();
            self.pos = 0;
            out.clear();
            out.extend(self.args.drain(..).map(|(s, e)| frozen.slice(s..e)));
            return Ok(true);
        }
    }

    fn parse_inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
            if buf.len() > INLINE_MAX {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(None);
        };
        let line = buf.split_to(nl + 1);
        let mut text = &line[..nl];
        if text.last() == Some(&b'\r') {
            text = &text[..text.len() - 1];
        }
        let args = split_args(text).ok_or(ProtocolError::UnbalancedQuotes)?;
        Ok(Some(args.into_iter().map(Bytes::from).collect()))
    }
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits an inline command line into arguments with Redis's quoting rules (`sdssplitargs`):
/// `"..."` with `\n \r \t \b \a \\ \" \xHH` escapes, `'...'` with `\'`, and a closing quote
/// must be followed by a space or the end. `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // Redis works on a C string: a NUL ends the line.
    let line = match line.iter().position(|&b| b == 0) {
        Some(p) => &line[..p],
        None => line,
    };
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex_val(line[i + 2]).is_some()
                    && hex_val(line[i + 3]).is_some()
                {
                    let h =
                        hex_val(line[i + 2]).unwrap_or(0) * 16 + hex_val(line[i + 3]).unwrap_or(0);
                    cur.push(h);
                    i += 3;
                } else if line[i] == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if line[i] == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else if in_sq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if line[i] == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode_command;
    use proptest::prelude::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(c) = p.parse(&mut buf, &Limits::default())? {
            out.push(c);
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline() {
        let got = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset \"a b\" 'c'\n\r\n*0\r\n")
            .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], vec![Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(got[1], vec![Bytes::from("PING")]);
        assert_eq!(
            got[2],
            vec![Bytes::from("set"), Bytes::from("a b"), Bytes::from("c")]
        );
    }

    #[test]
    fn errors_match_redis() {
        assert_eq!(
            parse_all(b"*x\r\n").unwrap_err().to_string(),
            "invalid multibulk length"
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n").unwrap_err().to_string(),
            "invalid bulk length"
        );
        assert_eq!(
            parse_all(b"*1\r\n+ab\r\n").unwrap_err().to_string(),
            "expected '$', got '+'"
        );
        assert_eq!(
            parse_all(b"set \"a\n").unwrap_err().to_string(),
            "unbalanced quotes in request"
        );
        let big = vec![b'a'; INLINE_MAX + 10];
        assert_eq!(
            parse_all(&big).unwrap_err().to_string(),
            "too big inline request"
        );
        let limits = Limits {
            max_bulk_len: 10,
            ..Limits::default()
        };
        let mut buf = BytesMut::from(&b"*1\r\n$11\r\n"[..]);
        assert_eq!(
            RequestParser::new().parse(&mut buf, &limits).unwrap_err(),
            ProtocolError::InvalidBulkLength
        );
    }

    #[test]
    fn split_args_rules() {
        assert_eq!(
            split_args(b"a \"\\x41\\n\" 'it\\'s'").unwrap(),
            vec![b"a".to_vec(), b"A\n".to_vec(), b"it's".to_vec()]
        );
        assert!(split_args(b"\"a\"b").is_none());
        assert!(split_args(b"'abc").is_none());
    }

    proptest! {
        #[test]
        fn any_chunking_gives_same_commands(
            cmds in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..30), 1..6), 1..6),
            cuts in proptest::collection::vec(any::<usize>(), 0..10),
        ) {
            let mut all = BytesMut::new();
            for c in &cmds { encode_command(c, &mut all); }
            let total = all.len();
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (total + 1)).collect();
            points.push(total);
            points.sort();
            let mut p = RequestParser::new();
            let mut buf = BytesMut::new();
            let mut got: Vec<Vec<Vec<u8>>> = Vec::new();
            let mut last = 0;
            for cut in points {
                buf.extend_from_slice(&all[last..cut]);
                last = cut;
                while let Some(c) = p.parse(&mut buf, &Limits::default()).unwrap() {
                    got.push(c.iter().map(|b| b.to_vec()).collect());
                }
            }
            prop_assert_eq!(got, cmds);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_all(&data);
        }
    }
}
