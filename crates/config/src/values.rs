//! Value parsers and formatters with redis-server 7.0's exact acceptance rules.
//!
//! Redis uses three different number parsers for configuration and they accept different
//! inputs, so each has its own function here:
//! * [`parse_strict_i64`] (`string2ll`): no sign `+`, no spaces, no leading zeros, no `-0`.
//! * [`parse_memory`] (`memtoull`): digits plus an optional unit (`b k kb m mb g gb`, any
//!   case); an empty number means 0 and overflow saturates, as in Redis.
//! * [`parse_c_long`] (`strtol`): leading blanks and a sign allowed; used by `save` and
//!   `replicaof`.

/// Reason text Redis prints when an integer does not parse.
pub(crate) const ERR_NOT_INT: &str = "argument couldn't be parsed into an integer";
/// Reason text for a memory value that does not parse.
pub(crate) const ERR_NOT_MEMORY: &str = "argument must be a memory value";
/// Reason text for a bool that is neither yes nor no.
pub(crate) const ERR_NOT_BOOL: &str = "argument must be 'yes' or 'no'";

/// Parses like Redis's `string2ll`: an optional `-`, then digits without leading zeros.
pub fn parse_strict_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    if neg && digits == b"0" {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

/// Parses like Redis's `memtoull`: `<digits><unit>` where unit is one of `b k kb m mb g gb`
/// (case-insensitive). `k` is 1000 and `kb` 1024. Overflow of the digits saturates and the
/// unit multiplication wraps, both as in Redis. `None` for anything else (including `-`).
pub fn parse_memory(s: &[u8]) -> Option<u64> {
    let split = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let unit = unit.to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    Some(v.wrapping_mul(mul))
}

/// Parses like C `strtol(s, &end, 10)` followed by `*end == '\0'`: leading blanks, an optional
/// sign, digits (saturating). An empty string is 0; a string of only blanks or a sign fails.
pub fn parse_c_long(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        let d = i64::from(s[i] - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
        i += 1;
    }
    if i == start {
        // No digits: strtol leaves `end` at the very beginning of the input.
        return if s.is_empty() { Some(0) } else { None };
    }
    (i == s.len()).then_some(v)
}

/// `yes`/`no`, case-insensitive.
pub fn parse_bool(s: &[u8]) -> Option<bool> {
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

/// `yes` or `no`.
pub fn fmt_bool(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Formats bytes the way CONFIG REWRITE does: the largest of `gb`, `mb`, `kb` that divides
/// exactly, else plain bytes.
pub fn fmt_memory_rewrite(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    const GB: u64 = 1024 * MB;
    match bytes {
        0 => "0".to_string(),
        b if b % GB == 0 => format!("{}gb", b / GB),
        b if b % MB == 0 => format!("{}mb", b / MB),
        b if b % KB == 0 => format!("{}kb", b / KB),
        b => b.to_string(),
    }
}

/// Quotes a string like Redis's `sdscatrepr`: `"..."` with `\\ \" \n \r \t \a \b` escapes and
/// `\xHH` for other non-printable bytes.
pub fn repr(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(char::from(c)),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

/// Bytes to a `String`, replacing invalid UTF-8 (configuration values are text).
pub(crate) fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_strict_i64(b"0"), Some(0));
        assert_eq!(parse_strict_i64(b"-5"), Some(-5));
        assert_eq!(parse_strict_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_strict_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"+5",
            b" 5",
            b"5 ",
            b"0x10",
            b"08",
            b"-0",
            b"1e3",
            b"-",
            b"9223372036854775808",
        ] {
            assert_eq!(
                parse_strict_i64(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory(b"1k"), Some(1000));
        assert_eq!(parse_memory(b"1K"), Some(1000));
        assert_eq!(parse_memory(b"1kb"), Some(1024));
        assert_eq!(parse_memory(b"1KB"), Some(1024));
        assert_eq!(parse_memory(b"1kB"), Some(1024));
        assert_eq!(parse_memory(b"2m"), Some(2_000_000));
        assert_eq!(parse_memory(b"2mb"), Some(2 * 1024 * 1024));
        assert_eq!(parse_memory(b"1g"), Some(1_000_000_000));
        assert_eq!(parse_memory(b"1GB"), Some(1 << 30));
        assert_eq!(parse_memory(b"7b"), Some(7));
        assert_eq!(parse_memory(b"08"), Some(8));
        assert_eq!(parse_memory(b""), Some(0));
        assert_eq!(parse_memory(b"99999999999999999999"), Some(u64::MAX));
        assert_eq!(
            parse_memory(b"18446744073709551615k"),
            Some(18446744073709550616)
        );
        for bad in [
            &b"-1"[..],
            b" 1",
            b"1 ",
            b"1.5k",
            b"0x10",
            b"+5",
            b"1kbb",
            b"10q",
        ] {
            assert_eq!(
                parse_memory(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn c_long() {
        assert_eq!(parse_c_long(b" 5"), Some(5));
        assert_eq!(parse_c_long(b"+5"), Some(5));
        assert_eq!(parse_c_long(b"-0"), Some(0));
        assert_eq!(parse_c_long(b""), Some(0));
        assert_eq!(parse_c_long(b" "), None);
        assert_eq!(parse_c_long(b"5 "), None);
        assert_eq!(parse_c_long(b"abc"), None);
    }

    #[test]
    fn rewrite_memory_and_repr() {
        assert_eq!(fmt_memory_rewrite(0), "0");
        assert_eq!(fmt_memory_rewrite(3 << 30), "3gb");
        assert_eq!(fmt_memory_rewrite(1 << 20), "1mb");
        assert_eq!(fmt_memory_rewrite(1048577), "1048577");
        assert_eq!(fmt_memory_rewrite(2048), "2kb");
        assert_eq!(repr(b"a b\"c"), r#""a b\"c""#);
        assert_eq!(repr(b"\x01\n"), r#""\x01\n""#);
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool(b"YES"), Some(true));
        assert_eq!(parse_bool(b"no"), Some(false));
        assert_eq!(parse_bool(b"1"), None);
    }
}
