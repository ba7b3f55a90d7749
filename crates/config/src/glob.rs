//! Redis's glob matcher (`stringmatchlen`), used by CONFIG GET.
//!
//! `*` any run, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` (reversed ranges allowed) and `\x` for
//! a literal `x`. An unterminated `[` matches up to the end of the pattern, as in Redis.

/// Whether `s` matches `pattern`; `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    // Iteration budget guards against exponential patterns like `*a*a*a*a*b`.
    let mut budget: u32 = 1_000_000;
    matches(pattern, s, nocase, &mut budget)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn matches(mut p: &[u8], mut s: &[u8], nocase: bool, budget: &mut u32) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    while let Some(&pc) = p.first() {
        match pc {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if matches(&p[1..], &s[i..], nocase, budget) {
                        return true;
                    }
                    if *budget == 0 {
                        return false;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
            }
            b'[' => {
                let Some(&c) = s.first() else { return false };
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut hit = false;
                loop {
                    match p {
                        [] => break,
                        [b']', ..] => break,
                        [b'\\', esc, ..] => {
                            if eq(*esc, c, nocase) {
                                hit = true;
                            }
                            p = &p[2..];
                        }
                        [lo, b'-', hi, ..] => {
                            let (mut a, mut b, mut x) = (*lo, *hi, c);
                            if a > b {
                                std::mem::swap(&mut a, &mut b);
                            }
                            if nocase {
                                a = a.to_ascii_lowercase();
                                b = b.to_ascii_lowercase();
                                x = x.to_ascii_lowercase();
                            }
                            if x >= a && x <= b {
                                hit = true;
                            }
                            p = &p[3..];
                        }
                        [one, ..] => {
                            if eq(*one, c, nocase) {
                                hit = true;
                            }
                            p = &p[1..];
                        }
                    }
                }
                if hit == not {
                    return false;
                }
                s = &s[1..];
                if p.is_empty() {
                    // Unterminated class: Redis stops at the end of the pattern.
                    return s.is_empty();
                }
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                match s.first() {
                    Some(&c) if eq(p[0], c, nocase) => s = &s[1..],
                    _ => return false,
                }
            }
            _ => match s.first() {
                Some(&c) if eq(pc, c, nocase) => s = &s[1..],
                _ => return false,
            },
        }
        p = &p[1..];
    }
    s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn basics() {
        assert!(glob_match(b"*", b"port", false));
        assert!(glob_match(b"p?rt", b"port", false));
        assert!(glob_match(b"*[ab]ind*", b"bind-source-addr", false));
        assert!(glob_match(b"[^a]ort", b"port", false));
        assert!(!glob_match(b"[^p]ort", b"port", false));
        assert!(glob_match(b"[a-z]ort", b"port", false));
        assert!(glob_match(b"[z-a]ort", b"port", false));
        assert!(glob_match(b"PORT", b"port", true));
        assert!(!glob_match(b"PORT", b"port", false));
        assert!(glob_match(b"po\\rt", b"port", false));
        assert!(glob_match(b"a\\*", b"a*", false));
        assert!(!glob_match(b"a\\*", b"ab", false));
        assert!(glob_match(b"slave*", b"slave-read-only", false));
        assert!(!glob_match(b"port?", b"port", false));
        assert!(glob_match(
            b"*a*a*a*a*a*a*a*a*a*a*a*b",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            false
        ));
    }
}
