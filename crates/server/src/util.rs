//! Small parsing and formatting helpers shared by command families.

/// Parses a Redis integer argument (`string2ll` rules: optional '-', no '+', no spaces,
/// no leading zeros, fits in i64).
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = if b[0] == b'-' {
        (true, &b[1..])
    } else {
        (false, b)
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

/// Parses a float argument the way Redis's `string2ld`/`strtold` accept it for commands
/// (no spaces, not empty, "inf"/"-inf" allowed, NaN refused).
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    if b.is_empty()
        || b.len() > 5000
        || b[0].is_ascii_whitespace()
        || b[b.len() - 1].is_ascii_whitespace()
    {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    let v = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if s.contains(|c: char| {
                !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
            }) {
                return None;
            }
            s.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Formats an i64 into bytes.
pub fn i64_bytes(v: i64) -> Vec<u8> {
    itoa::Buffer::new().format(v).as_bytes().to_vec()
}

/// Redis's glob matching (`stringmatchlen`): `*`, `?`, `[...]` with ranges and `^`, `\` escapes.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    fn eq(a: u8, b: u8, nocase: bool) -> bool {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    }
    fn m(p: &[u8], s: &[u8], nocase: bool, depth: usize) -> bool {
        if depth > 1000 {
            return false;
        }
        let (mut pi, mut si) = (0, 0);
        while pi < p.len() {
            match p[pi] {
                b'*' => {
                    while pi + 1 < p.len() && p[pi + 1] == b'*' {
                        pi += 1;
                    }
                    if pi + 1 == p.len() {
                        return true;
                    }
                    for start in si..=s.len() {
                        if m(&p[pi + 1..], &s[start..], nocase, depth + 1) {
                            return true;
                        }
                    }
                    return false;
                }
                b'?' => {
                    if si >= s.len() {
                        return false;
                    }
                    si += 1;
                }
                b'[' => {
                    if si >= s.len() {
                        return false;
                    }
                    pi += 1;
                    let not = pi < p.len() && p[pi] == b'^';
                    if not {
                        pi += 1;
                    }
                    let mut matched = false;
                    loop {
                        if pi >= p.len() {
                            pi -= 1;
                            break;
                        }
                        if p[pi] == b'\\' && pi + 2 < p.len() {
                            pi += 1;
                            if p[pi] == s[si] {
                                matched = true;
                            }
                        } else if p[pi] == b']' {
                            break;
                        } else if pi + 2 < p.len() && p[pi + 1] == b'-' {
                            let (mut a, mut b) = (p[pi], p[pi + 2]);
                            if a > b {
                                std::mem::swap(&mut a, &mut b);
                            }
                            let mut c = s[si];
                            if nocase {
                                a = a.to_ascii_lowercase();
                                b = b.to_ascii_lowercase();
                                c = c.to_ascii_lowercase();
                            }
                            pi += 2;
                            if c >= a && c <= b {
                                matched = true;
                            }
                        } else if eq(p[pi], s[si], nocase) {
                            matched = true;
                        }
                        pi += 1;
                    }
                    if not {
                        matched = !matched;
                    }
                    if !matched {
                        return false;
                    }
                    si += 1;
                }
                b'\\' if pi + 1 < p.len() => {
                    pi += 1;
                    if si >= s.len() || !eq(p[pi], s[si], nocase) {
                        return false;
                    }
                    si += 1;
                }
                c => {
                    if si >= s.len() || !eq(c, s[si], nocase) {
                        return false;
                    }
                    si += 1;
                }
            }
            pi += 1;
            if si >= s.len() {
                while pi < p.len() && p[pi] == b'*' {
                    pi += 1;
                }
                break;
            }
        }
        pi == p.len() && si == s.len()
    }
    m(pattern, s, nocase, 0)
}

/// Current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Current Unix time in microseconds.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Redis 7.0 looks subcommands up in a table before running the command: an unknown
/// subcommand gets `ERR unknown subcommand 'x'. Try CMD HELP.` and a known one with the wrong
/// argument count gets `ERR wrong number of arguments for 'cmd|sub' command`. `table` lists
/// `(subcommand, arity)` with Redis's arity convention (the command name counts).
pub fn check_subcommand(
    parent: &str,
    args: &[bytes::Bytes],
    table: &[(&str, i32)],
) -> Result<(), String> {
    let sub = &args[1];
    let Some((name, arity)) = table
        .iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(sub))
    else {
        let shown: String = String::from_utf8_lossy(sub).chars().take(128).collect();
        return Err(format!(
            "ERR unknown subcommand '{shown}'. Try {} HELP.",
            parent.to_ascii_uppercase()
        ));
    };
    let n = args.len();
    let ok = if *arity >= 0 {
        n == *arity as usize
    } else {
        n >= (-*arity) as usize
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "ERR wrong number of arguments for '{parent}|{name}' command"
        ))
    }
}

/// Quotes bytes the way Redis's `sdscatrepr` does (MONITOR, CLIENT LIST, error messages).
pub fn repr(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 2);
    s.push('"');
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"key:*", b"key:1", false));
        assert!(!glob_match(b"key:*", b"kex:1", false));
        assert!(glob_match(b"a\\*b", b"a*b", false));
        assert!(glob_match(b"*a*", b"bab", false));
    }
}
