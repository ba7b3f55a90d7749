//! String commands.

use super::flags::*;
use super::{
    arg_i64, bulk, err, is_kw, ok, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec,
};
use crate::keyspace::{Entry, SmallBytes, Value};
use crate::ldouble;
use crate::util::parse_i64;
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;

const K1: KeySpec = KeySpec::ONE;
const ALL: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 1,
};
const PAIRS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 2,
};
const TWO: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("get", 2, READONLY | FAST, K1, "string", get),
    spec("set", -3, WRITE | DENYOOM, K1, "string", set),
    spec("setnx", 3, WRITE | DENYOOM | FAST, K1, "string", setnx),
    spec("setex", 4, WRITE | DENYOOM, K1, "string", setex),
    spec("psetex", 4, WRITE | DENYOOM, K1, "string", psetex),
    spec("mget", -2, READONLY | FAST, ALL, "string", mget),
    spec("mset", -3, WRITE | DENYOOM, PAIRS, "string", mset),
    spec("msetnx", -3, WRITE | DENYOOM, PAIRS, "string", msetnx),
    spec("getset", 3, WRITE | DENYOOM | FAST, K1, "string", getset),
    spec("getdel", 2, WRITE | FAST, K1, "string", getdel),
    spec("getex", -2, WRITE | FAST, K1, "string", getex),
    spec("append", 3, WRITE | DENYOOM | FAST, K1, "string", append),
    spec("strlen", 2, READONLY | FAST, K1, "string", strlen),
    spec("incr", 2, WRITE | DENYOOM | FAST, K1, "string", incr),
    spec("decr", 2, WRITE | DENYOOM | FAST, K1, "string", decr),
    spec("incrby", 3, WRITE | DENYOOM | FAST, K1, "string", incrby),
    spec("decrby", 3, WRITE | DENYOOM | FAST, K1, "string", decrby),
    spec(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        K1,
        "string",
        incrbyfloat,
    ),
    spec("getrange", 4, READONLY, K1, "string", getrange),
    spec("substr", 4, READONLY, K1, "string", getrange),
    spec("setrange", 4, WRITE | DENYOOM, K1, "string", setrange),
    spec("lcs", -3, READONLY, TWO, "string", lcs),
];

/// Reads a string value: `Ok(None)` when missing, WRONGTYPE for other types.
pub(crate) fn get_str<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c [u8]>, CommandError> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Ok(Some(s.as_slice())),
        #[allow(unreachable_patterns)]
        Some(_) => Err(err::WRONGTYPE),
    }
}

fn max_len(ctx: &Ctx) -> u64 {
    ctx.server.config.read().proto_max_bulk_len
}

/// `GET key`
fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(match get_str(ctx, &args[1])? {
        Some(s) => bulk(s),
        None => Frame::Null,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Cond {
    None,
    Nx,
    Xx,
}

/// Parsed expiry option of SET/GETEX.
#[derive(Clone, Copy, PartialEq)]
enum Expiry {
    None,
    KeepTtl,
    Persist,
    /// Absolute Unix ms.
    At(i64),
}

/// Turns `EX|PX|EXAT|PXAT <n>` into absolute ms, with Redis's checks.
fn expiry_at(ctx: &Ctx, unit: &[u8], n: &[u8], cmd: &str) -> Result<i64, CommandError> {
    let v = parse_i64(n).ok_or(err::NOT_INT)?;
    let invalid = || CommandError::msg(format!("ERR invalid expire time in '{cmd}' command"));
    if v <= 0 {
        return Err(invalid());
    }
    let seconds = is_kw(unit, "EX") || is_kw(unit, "EXAT");
    let ms = if seconds {
        v.checked_mul(1000).ok_or_else(invalid)?
    } else {
        v
    };
    let relative = is_kw(unit, "EX") || is_kw(unit, "PX");
    if relative {
        ms.checked_add(ctx.now).ok_or_else(invalid)
    } else {
        Ok(ms)
    }
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms|KEEPTTL]`
fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut cond = Cond::None;
    let mut get_old = false;
    let mut keepttl = false;
    // Like Redis, a repeated expiry option of the same kind is allowed and the last one wins;
    // only that last value is validated.
    let mut expiry: Option<(&Bytes, &Bytes)> = None;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let next = args.get(i + 1);
        if is_kw(a, "NX") && cond != Cond::Xx {
            cond = Cond::Nx;
        } else if is_kw(a, "XX") && cond != Cond::Nx {
            cond = Cond::Xx;
        } else if is_kw(a, "GET") {
            get_old = true;
        } else if is_kw(a, "KEEPTTL") && expiry.is_none() {
            keepttl = true;
        } else if (is_kw(a, "EX") || is_kw(a, "PX") || is_kw(a, "EXAT") || is_kw(a, "PXAT"))
            && !keepttl
            && expiry.map_or(true, |(k, _)| k.eq_ignore_ascii_case(a))
        {
            let Some(n) = next else {
                return Err(err::SYNTAX);
            };
            expiry = Some((a, n));
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    let exp = match expiry {
        Some((kw, n)) => Expiry::At(expiry_at(ctx, kw, n, "set")?),
        None if keepttl => Expiry::KeepTtl,
        None => Expiry::None,
    };
    set_generic(ctx, &args[1], &args[2], cond, exp, get_old, args)
}

fn set_generic(
    ctx: &mut Ctx,
    key: &Bytes,
    val: &Bytes,
    cond: Cond,
    exp: Expiry,
    get_old: bool,
    args: &[Bytes],
) -> CmdResult {
    let old: Option<Option<Vec<u8>>> = if get_old {
        Some(get_str(ctx, key)?.map(|s| s.to_vec()))
    } else {
        None
    };
    // Plain SET overwrites whatever is there (a logically expired key included), so it
    // needs no existence check: one hash probe in total.
    let exists = match &old {
        Some(o) => o.is_some(),
        None if cond == Cond::None && exp != Expiry::KeepTtl => false,
        None => ctx.lookup_write(key).is_some(),
    };
    if (cond == Cond::Nx && exists) || (cond == Cond::Xx && !exists) {
        return Ok(match old {
            Some(Some(v)) => bulk(&v),
            _ => Frame::Null,
        });
    }
    let t = ctx.table(key);
    t.set_value(
        key,
        Value::Str(SmallBytes::new(val)),
        exp == Expiry::KeepTtl,
    );
    if let Expiry::At(at) = exp {
        t.set_expire(key, at);
        let at_s = Bytes::from(crate::util::i64_bytes(at));
        ctx.propagate(vec![
            Bytes::from_static(b"SET"),
            key.clone(),
            val.clone(),
            Bytes::from_static(b"PXAT"),
            at_s,
        ]);
    } else if get_old {
        let argv: Vec<Bytes> = args.iter().filter(|a| !is_kw(a, "GET")).cloned().collect();
        ctx.propagate(argv);
    }
    ctx.changed();
    ctx.notify(notify::STRING, "set", key);
    if let Expiry::At(_) = exp {
        ctx.notify(notify::GENERIC, "expire", key);
    }
    Ok(match old {
        Some(Some(v)) => bulk(&v),
        Some(None) => Frame::Null,
        None => Frame::ok(),
    })
}

/// `SETNX key value`
fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.lookup_write(&args[1]).is_some() {
        return Ok(Frame::Integer(0));
    }
    set_generic(ctx, &args[1], &args[2], Cond::Nx, Expiry::None, false, args)?;
    Ok(Frame::Integer(1))
}

fn setex_generic(ctx: &mut Ctx, args: &[Bytes], unit: &str, name: &str) -> CmdResult {
    let at = expiry_at(ctx, unit.as_bytes(), &args[2], name)?;
    set_generic(
        ctx,
        &args[1],
        &args[3],
        Cond::None,
        Expiry::At(at),
        false,
        args,
    )
}

/// `SETEX key seconds value`
fn setex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    setex_generic(ctx, args, "EX", "setex")
}

/// `PSETEX key ms value`
fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    setex_generic(ctx, args, "PX", "psetex")
}

/// `MGET key [key ...]` (non-strings read as nil)
fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity(args.len() - 1);
    for k in &args[1..] {
        out.push(match get_str(ctx, k) {
            Ok(Some(s)) => bulk(s),
            _ => Frame::Null,
        });
    }
    Ok(Frame::Array(out))
}

/// `MSET key value [key value ...]`
fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(CommandError::new(
            "ERR wrong number of arguments for 'mset' command",
        ));
    }
    for kv in args[1..].chunks(2) {
        ctx.expire_if_needed(ctx.db(), &kv[0]);
        ctx.table(&kv[0])
            .set_value(&kv[0], Value::str(&kv[1]), false);
        ctx.changed();
        ctx.notify(notify::STRING, "set", &kv[0]);
    }
    ok()
}

/// `MSETNX key value [key value ...]`
fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 0 {
        return Err(CommandError::new(
            "ERR wrong number of arguments for 'msetnx' command",
        ));
    }
    for kv in args[1..].chunks(2) {
        if ctx.lookup_write(&kv[0]).is_some() {
            return Ok(Frame::Integer(0));
        }
    }
    for kv in args[1..].chunks(2) {
        ctx.table(&kv[0])
            .set_value(&kv[0], Value::str(&kv[1]), false);
        ctx.changed();
        ctx.notify(notify::STRING, "set", &kv[0]);
    }
    Ok(Frame::Integer(1))
}

/// `GETSET key value`
fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let old = get_str(ctx, &args[1])?.map(|s| s.to_vec());
    ctx.table(&args[1])
        .set_value(&args[1], Value::str(&args[2]), false);
    ctx.changed();
    ctx.notify(notify::STRING, "set", &args[1]);
    Ok(old.map_or(Frame::Null, |v| bulk(&v)))
}

/// `GETDEL key`
fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(old) = get_str(ctx, &args[1])?.map(|s| s.to_vec()) else {
        return Ok(Frame::Null);
    };
    ctx.table(&args[1]).remove(&args[1]);
    ctx.propagate(vec![Bytes::from_static(b"DEL"), args[1].clone()]);
    ctx.changed();
    ctx.notify(notify::GENERIC, "del", &args[1]);
    Ok(bulk(&old))
}

/// `GETEX key [EX s|PX ms|EXAT ts|PXAT ms|PERSIST]`
fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut exp = Expiry::None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is_kw(a, "PERSIST") && exp == Expiry::None {
            exp = Expiry::Persist;
        } else if (is_kw(a, "EX") || is_kw(a, "PX") || is_kw(a, "EXAT") || is_kw(a, "PXAT"))
            && exp == Expiry::None
            && i + 1 < args.len()
        {
            exp = Expiry::At(expiry_at(ctx, a, &args[i + 1], "getex")?);
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    let key = &args[1];
    let Some(val) = get_str(ctx, key)?.map(|s| s.to_vec()) else {
        return Ok(Frame::Null);
    };
    match exp {
        Expiry::At(at) if at <= ctx.now && !ctx.client.is_master => {
            ctx.table(key).remove(key);
            ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
            ctx.changed();
        }
        Expiry::At(at) => {
            ctx.table(key).set_expire(key, at);
            ctx.propagate(vec![
                Bytes::from_static(b"PEXPIREAT"),
                key.clone(),
                Bytes::from(crate::util::i64_bytes(at)),
            ]);
            ctx.changed();
        }
        Expiry::Persist => {
            let had = ctx.table(key).get(key).is_some_and(|e| e.expire_at != 0);
            if had {
                ctx.table(key).set_expire(key, 0);
                ctx.propagate(vec![Bytes::from_static(b"PERSIST"), key.clone()]);
                ctx.changed();
            }
        }
        _ => {}
    }
    Ok(bulk(&val))
}

/// `APPEND key value`
fn append(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let limit = max_len(ctx);
    let cur = get_str_write(ctx, &args[1])?;
    let new_len = cur.as_ref().map_or(0, |c| c.len()) + args[2].len();
    if new_len as u64 > limit {
        return Err(err::STRING_TOO_LONG);
    }
    // Appending to a new key stores the argument as SET would (so "10" is int-encoded);
    // appending to an existing string makes it `raw`, as in Redis.
    let value = match cur {
        None => SmallBytes::new(&args[2]),
        Some(mut v) => {
            v.extend_from_slice(&args[2]);
            SmallBytes::raw_from_vec(v)
        }
    };
    ctx.table(&args[1])
        .set_value(&args[1], Value::Str(value), true);
    ctx.changed();
    ctx.notify(notify::STRING, "append", &args[1]);
    Ok(Frame::Integer(new_len as i64))
}

/// The string at `key` for a write (expired keys removed), copied out.
fn get_str_write(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, CommandError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Ok(Some(s.to_vec())),
        #[allow(unreachable_patterns)]
        Some(_) => Err(err::WRONGTYPE),
    }
}

/// `STRLEN key`
fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        get_str(ctx, &args[1])?.map_or(0, |s| s.len() as i64),
    ))
}

fn incr_generic(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let cur = match ctx.lookup_write(key) {
        None => 0,
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => parse_i64(s).ok_or(err::NOT_INT)?,
        #[allow(unreachable_patterns)]
        Some(_) => return Err(err::WRONGTYPE),
    };
    let new = cur.checked_add(by).ok_or(err::OVERFLOW)?;
    let mut buf = itoa::Buffer::new();
    ctx.table(key)
        .set_value(key, Value::str(buf.format(new).as_bytes()), true);
    ctx.changed();
    ctx.notify(notify::STRING, "incrby", key);
    Ok(Frame::Integer(new))
}

/// `INCR key`
fn incr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    incr_generic(ctx, &args[1], 1)
}

/// `DECR key`
fn decr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    incr_generic(ctx, &args[1], -1)
}

/// `INCRBY key increment`
fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = arg_i64(&args[2])?;
    incr_generic(ctx, &args[1], by)
}

/// `DECRBY key decrement`
fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = arg_i64(&args[2])?;
    if by == i64::MIN {
        return Err(CommandError::new("ERR decrement would overflow"));
    }
    incr_generic(ctx, &args[1], -by)
}

/// `INCRBYFLOAT key increment` (propagated as `SET key value KEEPTTL`). Computed in emulated
/// x87 `long double`, as Redis does on x86-64 (see [`crate::ldouble`]).
fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cur = match ctx.lookup_write(&args[1]) {
        None => None,
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Some(s),
        #[allow(unreachable_patterns)]
        Some(_) => return Err(err::WRONGTYPE),
    };
    let s = ldouble::incr_by_float(cur.map(|v| &v[..]), &args[2]).map_err(CommandError::new)?;
    ctx.table(&args[1]).set_value(
        &args[1],
        Value::Str(SmallBytes::heap_from_vec(s.as_bytes().to_vec())),
        true,
    );
    ctx.propagate(vec![
        Bytes::from_static(b"SET"),
        args[1].clone(),
        Bytes::from(s.clone()),
        Bytes::from_static(b"KEEPTTL"),
    ]);
    ctx.changed();
    ctx.notify(notify::STRING, "incrbyfloat", &args[1]);
    Ok(Frame::Bulk(Bytes::from(s)))
}

/// Redis's GETRANGE index normalization; `None` for an empty result.
pub fn range_of(len: i64, mut start: i64, mut end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if len == 0 || start > end {
        return None;
    }
    Some((start as usize, end as usize))
}

/// `GETRANGE key start end` (and `SUBSTR`)
fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = arg_i64(&args[2])?;
    let end = arg_i64(&args[3])?;
    let Some(s) = get_str(ctx, &args[1])? else {
        return Ok(Frame::Bulk(Bytes::new()));
    };
    Ok(match range_of(s.len() as i64, start, end) {
        Some((a, b)) => bulk(&s[a..=b]),
        None => Frame::Bulk(Bytes::new()),
    })
}

/// `SETRANGE key offset value`
fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let offset = arg_i64(&args[2])?;
    if offset < 0 {
        return Err(CommandError::new("ERR offset is out of range"));
    }
    let limit = max_len(ctx);
    let val = &args[3];
    let cur = get_str_write(ctx, &args[1])?;
    let cur_len = cur.as_ref().map_or(0, |c| c.len());
    if val.is_empty() {
        return Ok(Frame::Integer(cur_len as i64));
    }
    if offset as u64 + val.len() as u64 > limit {
        return Err(err::STRING_TOO_LONG);
    }
    let mut v = cur.unwrap_or_default();
    let end = offset as usize + val.len();
    if v.len() < end {
        v.resize(end, 0);
    }
    v[offset as usize..end].copy_from_slice(val);
    let n = v.len();
    ctx.table(&args[1])
        .set_value(&args[1], Value::Str(SmallBytes::raw_from_vec(v)), true);
    ctx.changed();
    ctx.notify(notify::STRING, "setrange", &args[1]);
    Ok(Frame::Integer(n as i64))
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]`
fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut want_len, mut want_idx, mut with_len) = (false, false, false);
    let mut min_len: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        if is_kw(a, "IDX") {
            want_idx = true;
        } else if is_kw(a, "LEN") {
            want_len = true;
        } else if is_kw(a, "WITHMATCHLEN") {
            with_len = true;
        } else if is_kw(a, "MINMATCHLEN") && i + 1 < args.len() {
            min_len = arg_i64(&args[i + 1])?.max(0);
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    let wrong = CommandError::new("ERR The specified keys must contain string values");
    let a = get_str(ctx, &args[1])
        .map_err(|_| wrong.clone())?
        .map(|s| s.to_vec())
        .unwrap_or_default();
    let b = get_str(ctx, &args[2])
        .map_err(|_| wrong)?
        .map(|s| s.to_vec())
        .unwrap_or_default();
    if want_len && want_idx {
        return Err(CommandError::new(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (n, m) = (a.len(), b.len());
    if (n + 1).saturating_mul(m + 1) > 512 * 1024 * 1024 / 4 {
        return Err(CommandError::new(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // dp[i][j] = LCS length of a[..i], b[..j]
    let w = m + 1;
    let mut dp = vec![0u32; (n + 1) * w];
    for i in 1..=n {
        for j in 1..=m {
            dp[i * w + j] = if a[i - 1] == b[j - 1] {
                dp[(i - 1) * w + j - 1] + 1
            } else {
                dp[(i - 1) * w + j].max(dp[i * w + j - 1])
            };
        }
    }
    let total = dp[n * w + m] as i64;
    if want_len {
        return Ok(Frame::Integer(total));
    }
    // Walk back from the end collecting the LCS and, for IDX, the matching ranges.
    let mut res = vec![0u8; total as usize];
    let mut idx = total as usize;
    let (mut i, mut j) = (n, m);
    let mut matches: Vec<Frame> = Vec::new();
    let mut range: Option<(usize, usize, usize, usize)> = None; // a_start, a_end, b_start, b_end
    let flush = |r: Option<(usize, usize, usize, usize)>, matches: &mut Vec<Frame>| {
        if let Some((as_, ae, bs, be)) = r {
            let len = (ae - as_ + 1) as i64;
            if len >= min_len {
                let mut item = vec![
                    Frame::Array(vec![Frame::Integer(as_ as i64), Frame::Integer(ae as i64)]),
                    Frame::Array(vec![Frame::Integer(bs as i64), Frame::Integer(be as i64)]),
                ];
                if with_len {
                    item.push(Frame::Integer(len));
                }
                matches.push(Frame::Array(item));
            }
        }
    };
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            idx -= 1;
            res[idx] = a[i - 1];
            let (ai, bi) = (i - 1, j - 1);
            range = match range {
                Some((as_, ae, bs, be)) if as_ == ai + 1 && bs == bi + 1 => Some((ai, ae, bi, be)),
                other => {
                    if want_idx {
                        flush(other, &mut matches);
                    }
                    Some((ai, ai, bi, bi))
                }
            };
            i -= 1;
            j -= 1;
        } else if dp[(i - 1) * w + j] > dp[i * w + j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    if want_idx {
        flush(range, &mut matches);
        return Ok(Frame::Map(vec![
            (Frame::bulk(b"matches"), Frame::Array(matches)),
            (Frame::bulk(b"len"), Frame::Integer(total)),
        ]));
    }
    Ok(Frame::Bulk(Bytes::from(res)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(range_of(5, 0, -1), Some((0, 4)));
        assert_eq!(range_of(5, -3, -1), Some((2, 4)));
        assert_eq!(range_of(5, 3, 1), None);
        assert_eq!(range_of(5, -1, -5), None);
        assert_eq!(range_of(0, 0, -1), None);
        assert_eq!(range_of(5, 0, 100), Some((0, 4)));
    }
}
