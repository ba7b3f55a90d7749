//! SORT and SORT_RO: sort a list, set or sorted set, optionally by weights read from other
//! keys (`BY pattern`), returning or storing other keys' values (`GET pattern`).
//!
//! Both hold every shard lock (`ALL_KEYS`): `BY` and `GET` patterns name arbitrary keys.
//! The `STORE` destination is not a key position, so SORT signals it (WATCH, BLPOP) itself.
//! The ordering follows Redis 7.0 exactly:
//!
//! * numeric (default): by score, ties broken by comparing the elements as binary strings;
//! * `ALPHA`: by the elements (or BY values; a missing BY value sorts first), compared
//!   binary when storing, and C-string style (up to the first NUL, as `strcoll` in the C /
//!   C.UTF-8 locale) when replying;
//! * `DESC` reverses the comparison; the sort is stable, as glibc's `qsort` (a merge sort) is;
//! * `BY` a pattern without `*` (e.g. `nosort`) skips sorting: lists and sorted sets keep their
//!   order (reversed by `DESC`), sets their iteration order; with `STORE`, a set is sorted
//!   `ALPHA` anyway so that what replicas store is deterministic.

use super::flags::*;
use super::{arg_i64, bulk, err, is_kw, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::keyspace::types::List;
use crate::keyspace::{Entry, Value};
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;
use std::cmp::Ordering;

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec(
        "sort",
        -2,
        WRITE | DENYOOM | ALL_KEYS,
        KeySpec::ONE,
        "generic",
        sort,
    ),
    spec(
        "sort_ro",
        -2,
        READONLY | ALL_KEYS,
        KeySpec::ONE,
        "generic",
        sort_ro,
    ),
];

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]`
fn sort(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    sort_with(ctx, args, false)
}

/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]`
fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    sort_with(ctx, args, true)
}

#[derive(Default)]
struct Opts {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    store: Option<Bytes>,
    by: Option<Bytes>,
    dontsort: bool,
    gets: Vec<Bytes>,
}

fn parse(args: &[Bytes], readonly: bool) -> Result<Opts, CommandError> {
    let mut o = Opts::default();
    let mut j = 2;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if is_kw(a, "ASC") {
            o.desc = false;
        } else if is_kw(a, "DESC") {
            o.desc = true;
        } else if is_kw(a, "ALPHA") {
            o.alpha = true;
        } else if is_kw(a, "LIMIT") && left >= 2 {
            o.limit = Some((arg_i64(&args[j + 1])?, arg_i64(&args[j + 2])?));
            j += 2;
        } else if !readonly && is_kw(a, "STORE") && left >= 1 {
            o.store = Some(args[j + 1].clone());
            j += 1;
        } else if is_kw(a, "BY") && left >= 1 {
            let p = &args[j + 1];
            o.dontsort = !p.contains(&b'*');
            o.by = Some(p.clone());
            j += 1;
        } else if is_kw(a, "GET") && left >= 1 {
            o.gets.push(args[j + 1].clone());
            j += 1;
        } else {
            return Err(err::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// The value a `BY`/`GET` pattern names for element `elem`: `#` is the element itself,
/// the first `*` is replaced by the element, and `key->field` reads a hash field. A pattern
/// without `*`, a missing key or a key of the wrong type gives `None`.
fn lookup_pattern(ctx: &mut Ctx, pat: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pat == b"#" {
        return Some(elem.to_vec());
    }
    let star = pat.iter().position(|&c| c == b'*')?;
    let after = &pat[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&i| i + 2 < after.len());
    let (suffix, field) = match arrow {
        Some(i) => (&after[..i], Some(&after[i + 2..])),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(pat.len() + elem.len());
    key.extend_from_slice(&pat[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(suffix);
    match (ctx.lookup_read(&key).map(|e| &e.value), field) {
        (Some(Value::Str(s)), None) => Some(s.to_vec()),
        (Some(Value::Hash(h)), Some(f)) => h.get(f).map(|v| v.to_vec()),
        _ => None,
    }
}

/// `strtod` as SORT uses it: the whole text must be a number (leading blanks allowed, the
/// empty string is 0); NaN and out-of-range values are errors.
fn parse_score(b: &[u8]) -> Option<f64> {
    if b.is_empty() {
        return Some(0.0);
    }
    let t = std::str::from_utf8(b).ok()?;
    let t = t.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let v: f64 = t.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let literal_inf = lower.trim_start_matches(['+', '-']).starts_with("inf");
    if v.is_infinite() && !literal_inf {
        return None; // overflow (ERANGE)
    }
    if v == 0.0 {
        let mantissa = lower.split('e').next().unwrap_or("");
        if mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
            return None; // underflow (ERANGE)
        }
    }
    Some(v)
}

/// C-string comparison (stops at the first NUL), as `strcoll` in the C locale.
fn collate(a: &[u8], b: &[u8]) -> Ordering {
    let cut = |s: &[u8]| s.iter().position(|&c| c == 0).map_or(s.len(), |i| i);
    a[..cut(a)].cmp(&b[..cut(b)])
}

fn sort_with(ctx: &mut Ctx, args: &[Bytes], readonly: bool) -> CmdResult {
    let mut o = parse(args, readonly)?;
    let (kind, mut elems): (Kind, Vec<Vec<u8>>) = match ctx.lookup_read(&args[1]) {
        None => (Kind::List, Vec::new()),
        Some(Entry { value, .. }) => match value {
            Value::List(l) => (Kind::List, l.iter().map(<[u8]>::to_vec).collect()),
            Value::Set(s) => (Kind::Set, s.iter().map(|m| m.into_owned()).collect()),
            Value::ZSet(z) => (Kind::ZSet, z.iter().map(|(m, _)| m.to_vec()).collect()),
            _ => return Err(err::WRONGTYPE),
        },
    };
    if o.dontsort && kind == Kind::Set && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }

    // LIMIT, clamped as Redis does: an inclusive range that may be empty.
    let n = elems.len() as i64;
    let (lstart, lcount) = o.limit.unwrap_or((0, -1));
    let mut start = lstart.max(0);
    let mut end = if lcount < 0 {
        n - 1
    } else {
        start.saturating_add(lcount) - 1
    };
    if start >= n {
        start = n - 1;
        end = n - 2;
    }
    if end >= n {
        end = n - 1;
    }

    if o.dontsort {
        if o.desc && kind != Kind::Set {
            elems.reverse();
        }
    } else {
        sort_elems(ctx, &o, elems.as_mut_slice())?;
    }

    let range: &[Vec<u8>] = if start <= end && start >= 0 {
        &elems[start as usize..=end as usize]
    } else {
        &[]
    };
    let store = o.store.take();
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    for e in range {
        if o.gets.is_empty() {
            out.push(Some(e.clone()));
        }
        for g in &o.gets {
            out.push(lookup_pattern(ctx, g, e));
        }
    }
    let Some(dest) = store else {
        return Ok(Frame::Array(
            out.iter()
                .map(|v| v.as_deref().map_or(Frame::Null, bulk))
                .collect(),
        ));
    };
    let len = out.len();
    if len > 0 {
        let items = out.into_iter().map(Option::unwrap_or_default).collect();
        ctx.table(&dest)
            .set_value(&dest, Value::List(Box::new(List::from_items(items))), false);
        ctx.dirty += len as u64;
        ctx.key_modified(&dest);
        ctx.notify(notify::LIST, "sortstore", &dest);
    } else if ctx.table(&dest).remove(&dest).is_some() {
        ctx.changed();
        ctx.key_modified(&dest);
        ctx.notify(notify::GENERIC, "del", &dest);
    }
    Ok(Frame::Integer(len as i64))
}

/// Sorts `elems` by score or alphabetically (see the module comment for the exact order).
fn sort_elems(ctx: &mut Ctx, o: &Opts, elems: &mut [Vec<u8>]) -> Result<(), CommandError> {
    let storing = o.store.is_some();
    let desc = |c: Ordering| if o.desc { c.reverse() } else { c };
    if o.alpha {
        let Some(by) = &o.by else {
            elems.sort_by(|a, b| desc(if storing { a.cmp(b) } else { collate(a, b) }));
            return Ok(());
        };
        let mut keyed: Vec<(Option<Vec<u8>>, Vec<u8>)> = Vec::with_capacity(elems.len());
        for e in elems.iter_mut() {
            keyed.push((lookup_pattern(ctx, by, e), std::mem::take(e)));
        }
        keyed.sort_by(|(a, _), (b, _)| {
            desc(match (a, b) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) if storing => a.cmp(b),
                (Some(a), Some(b)) => collate(a, b),
            })
        });
        for (slot, (_, e)) in elems.iter_mut().zip(keyed) {
            *slot = e;
        }
        return Ok(());
    }
    let bad = || CommandError::new("ERR One or more scores can't be converted into double");
    let mut keyed: Vec<(f64, Vec<u8>)> = Vec::with_capacity(elems.len());
    for e in elems.iter_mut() {
        let score = match &o.by {
            None => parse_score(e).ok_or_else(bad)?,
            Some(by) => match lookup_pattern(ctx, by, e) {
                None => 0.0,
                Some(v) => parse_score(&v).ok_or_else(bad)?,
            },
        };
        keyed.push((score, std::mem::take(e)));
    }
    keyed.sort_by(|(sa, a), (sb, b)| {
        desc(
            sa.partial_cmp(sb)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.cmp(b)),
        )
    });
    for (slot, (_, e)) in elems.iter_mut().zip(keyed) {
        *slot = e;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(parse_score(b""), Some(0.0));
        assert_eq!(parse_score(b"  1.5"), Some(1.5));
        assert_eq!(parse_score(b"1.5 "), None);
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"0e5"), Some(0.0));
        assert_eq!(parse_score(b"abc"), None);
    }

    #[test]
    fn collate_stops_at_nul() {
        assert_eq!(collate(b"a\0z", b"a\0b"), Ordering::Equal);
        assert_eq!(collate(b"ab", b"b"), Ordering::Less);
    }
}
