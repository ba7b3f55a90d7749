//! Sorted set commands. The representation (listpack / skiplist) is in
//! `keyspace/types/zset.rs`; every range command turns its bounds into a rank range there.

use super::flags::*;
use super::hash::{pick_positions, rand_count, scan_reply, ScanOpts};
use super::keys::parse_cursor;
use super::set::{limit_opt, numkeys};
use super::typed::{del_if_empty, read, remove_if_empty, write, write_or_create};
use super::{arg_i64, bulk, err, is_kw, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::keyspace::types::{Limits, ZSet};
use crate::keyspace::{Entry, Value};
use crate::util::parse_f64;
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;
use rand::Rng;

const K1: KeySpec = KeySpec::ONE;
const TWO: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};
/// BZPOPMIN/BZPOPMAX: every argument but the name and the trailing timeout.
const BLOCK_KEYS: KeySpec = KeySpec {
    first: 1,
    last: -2,
    step: 1,
};
/// BZMPOP: after `timeout numkeys` (may over-lock the MIN|MAX/COUNT words: harmless).
const AFTER_TIMEOUT_NUMKEYS: KeySpec = KeySpec {
    first: 3,
    last: -1,
    step: 1,
};
const AFTER_NUMKEYS: KeySpec = KeySpec {
    first: 2,
    last: -1,
    step: 1,
};
const DST_AND_KEYS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 1,
};

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("zadd", -4, WRITE | DENYOOM | FAST, K1, "sorted-set", zadd),
    spec(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        K1,
        "sorted-set",
        zincrby,
    ),
    spec("zrem", -3, WRITE | FAST, K1, "sorted-set", zrem),
    spec("zcard", 2, READONLY | FAST, K1, "sorted-set", zcard),
    spec("zscore", 3, READONLY | FAST, K1, "sorted-set", zscore),
    spec("zmscore", -3, READONLY | FAST, K1, "sorted-set", zmscore),
    spec("zrank", 3, READONLY | FAST, K1, "sorted-set", zrank),
    spec("zrevrank", 3, READONLY | FAST, K1, "sorted-set", zrevrank),
    spec("zcount", 4, READONLY | FAST, K1, "sorted-set", zcount),
    spec("zlexcount", 4, READONLY | FAST, K1, "sorted-set", zlexcount),
    spec("zrange", -4, READONLY, K1, "sorted-set", zrange),
    spec(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        TWO,
        "sorted-set",
        zrangestore,
    ),
    spec("zrevrange", -4, READONLY, K1, "sorted-set", zrevrange),
    spec(
        "zrangebyscore",
        -4,
        READONLY,
        K1,
        "sorted-set",
        zrangebyscore,
    ),
    spec(
        "zrevrangebyscore",
        -4,
        READONLY,
        K1,
        "sorted-set",
        zrevrangebyscore,
    ),
    spec("zrangebylex", -4, READONLY, K1, "sorted-set", zrangebylex),
    spec(
        "zrevrangebylex",
        -4,
        READONLY,
        K1,
        "sorted-set",
        zrevrangebylex,
    ),
    spec(
        "zremrangebyrank",
        4,
        WRITE,
        K1,
        "sorted-set",
        zremrangebyrank,
    ),
    spec(
        "zremrangebyscore",
        4,
        WRITE,
        K1,
        "sorted-set",
        zremrangebyscore,
    ),
    spec("zremrangebylex", 4, WRITE, K1, "sorted-set", zremrangebylex),
    spec("zpopmin", -2, WRITE | FAST, K1, "sorted-set", zpopmin),
    spec("zpopmax", -2, WRITE | FAST, K1, "sorted-set", zpopmax),
    spec("zmpop", -4, WRITE, AFTER_NUMKEYS, "sorted-set", zmpop),
    spec(
        "bzpopmin",
        -3,
        WRITE | FAST | BLOCKING,
        BLOCK_KEYS,
        "sorted-set",
        bzpopmin,
    ),
    spec(
        "bzpopmax",
        -3,
        WRITE | FAST | BLOCKING,
        BLOCK_KEYS,
        "sorted-set",
        bzpopmax,
    ),
    spec(
        "bzmpop",
        -5,
        WRITE | BLOCKING,
        AFTER_TIMEOUT_NUMKEYS,
        "sorted-set",
        bzmpop,
    ),
    spec("zunion", -3, READONLY, AFTER_NUMKEYS, "sorted-set", zunion),
    spec("zinter", -3, READONLY, AFTER_NUMKEYS, "sorted-set", zinter),
    spec("zdiff", -3, READONLY, AFTER_NUMKEYS, "sorted-set", zdiff),
    spec(
        "zunionstore",
        -4,
        WRITE | DENYOOM,
        DST_AND_KEYS,
        "sorted-set",
        zunionstore,
    ),
    spec(
        "zinterstore",
        -4,
        WRITE | DENYOOM,
        DST_AND_KEYS,
        "sorted-set",
        zinterstore,
    ),
    spec(
        "zdiffstore",
        -4,
        WRITE | DENYOOM,
        DST_AND_KEYS,
        "sorted-set",
        zdiffstore,
    ),
    spec(
        "zintercard",
        -3,
        READONLY,
        AFTER_NUMKEYS,
        "sorted-set",
        zintercard,
    ),
    spec("zrandmember", -2, READONLY, K1, "sorted-set", zrandmember),
    spec("zscan", -3, READONLY, K1, "sorted-set", zscan),
];

const NAN_SCORE: CommandError = CommandError::new("ERR resulting score is not a number (NaN)");
const BAD_SCORE_RANGE: CommandError = CommandError::new("ERR min or max is not a float");
const BAD_LEX_RANGE: CommandError = CommandError::new("ERR min or max not valid string range item");
const NOT_POSITIVE: CommandError = CommandError::new("ERR value is out of range, must be positive");

fn limits(ctx: &Ctx) -> Limits {
    Limits::zset(&ctx.server.config.read())
}

/// Stores `pairs` at `dst` (deleting it when empty, with a `del` event when it existed);
/// returns the new cardinality. `event` is notified when something was stored.
pub(crate) fn store(ctx: &mut Ctx, dst: &[u8], pairs: Vec<(Vec<u8>, f64)>, event: &str) -> i64 {
    ctx.expire_if_needed(ctx.db(), dst);
    let existed = ctx.table(dst).remove(dst).is_some();
    if pairs.is_empty() {
        if existed {
            ctx.changed();
            ctx.notify(notify::GENERIC, "del", dst);
        }
        return 0;
    }
    let lim = limits(ctx);
    let z = ZSet::from_pairs_with(pairs, &lim);
    let n = z.len() as i64;
    ctx.table(dst)
        .set_value(dst, Value::ZSet(Box::new(z)), false);
    ctx.changed();
    ctx.notify(notify::ZSET, event, dst);
    n
}

fn score_arg(a: &[u8]) -> Result<f64, CommandError> {
    parse_f64(a).ok_or(err::NOT_FLOAT)
}

/// Member/score pairs as a reply: flat in RESP2 (`withscores`), nested pairs in RESP3.
fn pairs_reply(ctx: &Ctx, items: &[(&[u8], f64)], withscores: bool) -> Frame {
    let resp3 = ctx.client.resp3;
    let mut out = Vec::with_capacity(items.len() * if withscores { 2 } else { 1 });
    for (m, s) in items {
        if withscores && resp3 {
            out.push(Frame::Array(vec![bulk(m), Frame::Double(*s)]));
        } else {
            out.push(bulk(m));
            if withscores {
                out.push(Frame::Double(*s));
            }
        }
    }
    Frame::Array(out)
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`
pub(crate) fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        match () {
            _ if is_kw(a, "NX") => nx = true,
            _ if is_kw(a, "XX") => xx = true,
            _ if is_kw(a, "GT") => gt = true,
            _ if is_kw(a, "LT") => lt = true,
            _ if is_kw(a, "CH") => ch = true,
            _ if is_kw(a, "INCR") => incr = true,
            _ => break,
        }
        i += 1;
    }
    let rest = &args[i..];
    if rest.is_empty() || rest.len() % 2 != 0 {
        return Err(err::SYNTAX);
    }
    if nx && xx {
        return Err(CommandError::new(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(CommandError::new(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && rest.len() > 2 {
        return Err(CommandError::new(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks(2) {
        pairs.push((score_arg(&p[0])?, &p[1]));
    }
    let key = &args[1];
    if write::<ZSet>(ctx, key)?.is_none() && xx {
        return Ok(if incr { Frame::Null } else { Frame::Integer(0) });
    }
    let lim = limits(ctx);
    let z = write_or_create::<ZSet>(ctx, key)?;
    let (mut added, mut updated) = (0i64, 0i64);
    let mut incr_result = None;
    for (score, m) in pairs {
        match z.score(m) {
            Some(cur) => {
                if nx {
                    continue;
                }
                let new = if incr { cur + score } else { score };
                if new.is_nan() {
                    remove_if_empty::<ZSet>(ctx, key);
                    return Err(NAN_SCORE);
                }
                if (gt && new <= cur) || (lt && new >= cur) {
                    continue;
                }
                incr_result = Some(new);
                if new != cur {
                    z.insert(m, new, &lim);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.insert(m, score, &lim);
                incr_result = Some(score);
                added += 1;
            }
        }
    }
    remove_if_empty::<ZSet>(ctx, key);
    if added + updated > 0 {
        ctx.changed();
        ctx.notify(notify::ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
    Ok(if incr {
        incr_result.map_or(Frame::Null, Frame::Double)
    } else {
        Frame::Integer(if ch { added + updated } else { added })
    })
}

/// `ZINCRBY key increment member`
fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = score_arg(&args[2])?;
    let cur = write::<ZSet>(ctx, &args[1])?.and_then(|z| z.score(&args[3]));
    let new = cur.unwrap_or(0.0) + by;
    if new.is_nan() {
        return Err(NAN_SCORE);
    }
    // As ZADD INCR: an unchanged score is no change (no dirty, no event).
    if cur != Some(new) {
        let lim = limits(ctx);
        write_or_create::<ZSet>(ctx, &args[1])?.insert(&args[3], new, &lim);
        ctx.changed();
        ctx.notify(notify::ZSET, "zincr", &args[1]);
    }
    Ok(Frame::Double(new))
}

/// `ZREM key member [member ...]`
fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(z) = write::<ZSet>(ctx, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let mut n = 0;
    for m in &args[2..] {
        n += z.remove(m).is_some() as i64;
    }
    if n > 0 {
        ctx.changed();
        ctx.notify(notify::ZSET, "zrem", &args[1]);
        del_if_empty::<ZSet>(ctx, &args[1]);
    }
    Ok(Frame::Integer(n))
}

/// `ZCARD key`
fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read::<ZSet>(ctx, &args[1])?.map_or(0, |z| z.len()) as i64,
    ))
}

/// `ZSCORE key member`
fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(read::<ZSet>(ctx, &args[1])?
        .and_then(|z| z.score(&args[2]))
        .map_or(Frame::Null, Frame::Double))
}

/// `ZMSCORE key member [member ...]`
fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let z = read::<ZSet>(ctx, &args[1])?;
    Ok(Frame::Array(
        args[2..]
            .iter()
            .map(|m| {
                z.and_then(|z| z.score(m))
                    .map_or(Frame::Null, Frame::Double)
            })
            .collect(),
    ))
}

fn rank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult {
    let Some(z) = read::<ZSet>(ctx, &args[1])? else {
        return Ok(Frame::Null);
    };
    Ok(z.rank(&args[2]).map_or(Frame::Null, |r| {
        Frame::Integer(if rev { z.len() - 1 - r } else { r } as i64)
    }))
}

/// `ZRANK key member`
fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, false)
}

/// `ZREVRANK key member`
fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, true)
}

/// A score bound: value and exclusiveness.
#[derive(Clone, Copy)]
struct ScoreBound(f64, bool);

fn score_bound(a: &[u8]) -> Result<ScoreBound, CommandError> {
    let (ex, rest) = match a.first() {
        Some(b'(') => (true, &a[1..]),
        _ => (false, a),
    };
    let v = parse_f64(rest).ok_or(BAD_SCORE_RANGE)?;
    Ok(ScoreBound(v, ex))
}

/// A lex bound.
#[derive(Clone)]
enum LexBound {
    Min,
    Max,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

fn lex_bound(a: &[u8]) -> Result<LexBound, CommandError> {
    match a.first() {
        Some(b'-') if a.len() == 1 => Ok(LexBound::Min),
        Some(b'+') if a.len() == 1 => Ok(LexBound::Max),
        Some(b'[') => Ok(LexBound::Incl(a[1..].to_vec())),
        Some(b'(') => Ok(LexBound::Excl(a[1..].to_vec())),
        _ => Err(BAD_LEX_RANGE),
    }
}

/// Ascending rank range `lo..hi` of scores within [min, max].
fn score_ranks(z: &ZSet, min: ScoreBound, max: ScoreBound) -> (usize, usize) {
    let lo = if min.1 {
        z.count_below(|s, _| s <= min.0)
    } else {
        z.count_below(|s, _| s < min.0)
    };
    let hi = if max.1 {
        z.count_below(|s, _| s < max.0)
    } else {
        z.count_below(|s, _| s <= max.0)
    };
    (lo, hi.max(lo))
}

/// Ascending rank range of members within the lex bounds.
fn lex_ranks(z: &ZSet, min: &LexBound, max: &LexBound) -> (usize, usize) {
    let lo = match min {
        LexBound::Min => 0,
        LexBound::Max => z.len(),
        LexBound::Incl(v) => z.count_below(|_, m| m < v.as_slice()),
        LexBound::Excl(v) => z.count_below(|_, m| m <= v.as_slice()),
    };
    let hi = match max {
        LexBound::Min => 0,
        LexBound::Max => z.len(),
        LexBound::Incl(v) => z.count_below(|_, m| m <= v.as_slice()),
        LexBound::Excl(v) => z.count_below(|_, m| m < v.as_slice()),
    };
    (lo, hi.max(lo))
}

/// Redis's rank normalization for `start stop`; `None` for an empty range.
fn rank_range(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut stop = if stop < 0 { stop + len } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize + 1))
}

/// `ZCOUNT key min max`
fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (min, max) = (score_bound(&args[2])?, score_bound(&args[3])?);
    Ok(Frame::Integer(read::<ZSet>(ctx, &args[1])?.map_or(0, |z| {
        let (lo, hi) = score_ranks(z, min, max);
        hi - lo
    }) as i64))
}

/// `ZLEXCOUNT key min max`
fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (min, max) = (lex_bound(&args[2])?, lex_bound(&args[3])?);
    Ok(Frame::Integer(read::<ZSet>(ctx, &args[1])?.map_or(0, |z| {
        let (lo, hi) = lex_ranks(z, &min, &max);
        hi - lo
    }) as i64))
}

#[derive(Clone, Copy, PartialEq)]
enum By {
    Rank,
    Score,
    Lex,
}

/// Options of the ZRANGE family.
struct RangeSpec {
    by: By,
    rev: bool,
    withscores: bool,
    limit: Option<(i64, i64)>,
}

/// Parses options from `args[from..]`. `modern` accepts BYSCORE/BYLEX/REV (ZRANGE,
/// ZRANGESTORE); `store` refuses WITHSCORES.
fn parse_range_opts(
    args: &[Bytes],
    from: usize,
    mut spec: RangeSpec,
    modern: bool,
    store: bool,
) -> Result<RangeSpec, CommandError> {
    let mut i = from;
    while i < args.len() {
        let a = &args[i];
        if !store && is_kw(a, "WITHSCORES") {
            spec.withscores = true;
        } else if is_kw(a, "LIMIT") && i + 2 < args.len() {
            spec.limit = Some((arg_i64(&args[i + 1])?, arg_i64(&args[i + 2])?));
            i += 2;
        } else if modern && is_kw(a, "BYSCORE") {
            spec.by = By::Score;
        } else if modern && is_kw(a, "BYLEX") {
            spec.by = By::Lex;
        } else if modern && is_kw(a, "REV") {
            spec.rev = true;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if spec.limit.is_some() && spec.by == By::Rank {
        return Err(CommandError::new(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if spec.withscores && spec.by == By::Lex {
        return Err(CommandError::new(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    Ok(spec)
}

/// Bounds of a range, parsed before the key is looked up (as Redis does).
enum Bounds {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

fn parse_bounds(spec: &RangeSpec, a: &[u8], b: &[u8]) -> Result<Bounds, CommandError> {
    // With REV, BYSCORE/BYLEX take max first.
    let (lo, hi) = if spec.rev && spec.by != By::Rank {
        (b, a)
    } else {
        (a, b)
    };
    Ok(match spec.by {
        By::Rank => Bounds::Rank(arg_i64(a)?, arg_i64(b)?),
        By::Score => Bounds::Score(score_bound(lo)?, score_bound(hi)?),
        By::Lex => Bounds::Lex(lex_bound(lo)?, lex_bound(hi)?),
    })
}

/// The selected elements, in reply order.
fn select<'z>(z: &'z ZSet, spec: &RangeSpec, bounds: &Bounds) -> Vec<(&'z [u8], f64)> {
    let len = z.len();
    let (lo, hi) = match bounds {
        Bounds::Rank(a, b) => match rank_range(len, *a, *b) {
            None => return Vec::new(),
            Some((s, e)) if spec.rev => (len - e, len - s),
            Some(r) => r,
        },
        Bounds::Score(min, max) => score_ranks(z, *min, *max),
        Bounds::Lex(min, max) => lex_ranks(z, min, max),
    };
    let (lo, hi) = match spec.limit {
        None => (lo, hi),
        Some((off, _)) if off < 0 => return Vec::new(),
        Some((off, count)) => {
            let n = hi - lo;
            let off = (off as u64).min(n as u64) as usize;
            let take = if count < 0 {
                n - off
            } else {
                (count as u64).min((n - off) as u64) as usize
            };
            if spec.rev {
                (hi - off - take, hi - off)
            } else {
                (lo + off, lo + off + take)
            }
        }
    };
    let mut v = z.range(lo, hi);
    if spec.rev {
        v.reverse();
    }
    v
}

fn range_cmd(ctx: &mut Ctx, args: &[Bytes], spec: RangeSpec, modern: bool) -> CmdResult {
    let spec = parse_range_opts(args, 4, spec, modern, false)?;
    let bounds = parse_bounds(&spec, &args[2], &args[3])?;
    let resp3 = ctx.client.resp3;
    let Some(z) = read::<ZSet>(ctx, &args[1])? else {
        return Ok(Frame::Array(vec![]));
    };
    let items = select(z, &spec, &bounds);
    let mut out = Vec::with_capacity(items.len());
    for (m, s) in &items {
        if spec.withscores && resp3 {
            out.push(Frame::Array(vec![bulk(m), Frame::Double(*s)]));
        } else {
            out.push(bulk(m));
            if spec.withscores {
                out.push(Frame::Double(*s));
            }
        }
    }
    Ok(Frame::Array(out))
}

fn spec_of(by: By, rev: bool) -> RangeSpec {
    RangeSpec {
        by,
        rev,
        withscores: false,
        limit: None,
    }
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, spec_of(By::Rank, false), true)
}

/// `ZREVRANGE key start stop [WITHSCORES]`
fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, spec_of(By::Rank, true), false)
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, spec_of(By::Score, false), false)
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, spec_of(By::Score, true), false)
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`
fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, spec_of(By::Lex, false), false)
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_cmd(ctx, args, spec_of(By::Lex, true), false)
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`
fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let spec = parse_range_opts(args, 5, spec_of(By::Rank, false), true, true)?;
    let bounds = parse_bounds(&spec, &args[3], &args[4])?;
    let pairs: Vec<(Vec<u8>, f64)> = match read::<ZSet>(ctx, &args[2])? {
        None => Vec::new(),
        Some(z) => select(z, &spec, &bounds)
            .into_iter()
            .map(|(m, s)| (m.to_vec(), s))
            .collect(),
    };
    Ok(Frame::Integer(store(ctx, &args[1], pairs, "zrangestore")))
}

fn remrange(ctx: &mut Ctx, args: &[Bytes], by: By) -> CmdResult {
    let bounds = parse_bounds(&spec_of(by, false), &args[2], &args[3])?;
    let Some(z) = write::<ZSet>(ctx, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let (lo, hi) = match &bounds {
        Bounds::Rank(a, b) => rank_range(z.len(), *a, *b).unwrap_or((0, 0)),
        Bounds::Score(min, max) => score_ranks(z, *min, *max),
        Bounds::Lex(min, max) => lex_ranks(z, min, max),
    };
    let n = z.remove_range(lo, hi);
    if n > 0 {
        ctx.changed();
        let event = match by {
            By::Rank => "zremrangebyrank",
            By::Score => "zremrangebyscore",
            By::Lex => "zremrangebylex",
        };
        ctx.notify(notify::ZSET, event, &args[1]);
        del_if_empty::<ZSet>(ctx, &args[1]);
    }
    Ok(Frame::Integer(n as i64))
}

/// `ZREMRANGEBYRANK key start stop`
fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    remrange(ctx, args, By::Rank)
}

/// `ZREMRANGEBYSCORE key min max`
fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    remrange(ctx, args, By::Score)
}

/// `ZREMRANGEBYLEX key min max`
fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    remrange(ctx, args, By::Lex)
}

/// Pops up to `count` lowest (or highest) elements of `key`.
fn pop(
    ctx: &mut Ctx,
    key: &[u8],
    count: usize,
    max: bool,
) -> Result<Vec<(Vec<u8>, f64)>, CommandError> {
    let Some(z) = write::<ZSet>(ctx, key)? else {
        return Ok(Vec::new());
    };
    let len = z.len();
    let n = count.min(len);
    let (lo, hi) = if max { (len - n, len) } else { (0, n) };
    let mut v: Vec<(Vec<u8>, f64)> = z
        .range(lo, hi)
        .into_iter()
        .map(|(m, s)| (m.to_vec(), s))
        .collect();
    z.remove_range(lo, hi);
    if max {
        v.reverse();
    }
    if !v.is_empty() {
        ctx.changed();
        ctx.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
        del_if_empty::<ZSet>(ctx, key);
    }
    Ok(v)
}

fn zpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(err::SYNTAX);
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => {
            let c = arg_i64(a)?;
            if c < 0 {
                return Err(NOT_POSITIVE);
            }
            Some(c as usize)
        }
    };
    let v = pop(ctx, &args[1], count.unwrap_or(1), max)?;
    let refs: Vec<(&[u8], f64)> = v.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
    if count.is_none() {
        // Without COUNT the reply is flat even in RESP3.
        let mut out = Vec::new();
        for (m, s) in refs {
            out.push(bulk(m));
            out.push(Frame::Double(s));
        }
        return Ok(Frame::Array(out));
    }
    Ok(pairs_reply(ctx, &refs, true))
}

/// `ZPOPMIN key [count]`
fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, args, false)
}

/// `ZPOPMAX key [count]`
fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zpop_generic(ctx, args, true)
}

/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]` (propagated as
/// `ZPOPMIN|ZPOPMAX key count`, as Redis does)
fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zmpop_from(ctx, args, 1)
}

/// `BZPOPMIN key [key ...] timeout`
fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bzpop_generic(ctx, args, false)
}

/// `BZPOPMAX key [key ...] timeout`
fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bzpop_generic(ctx, args, true)
}

/// Serves the first non-empty key (propagated as `ZPOPMIN|ZPOPMAX key`), else blocks.
fn bzpop_generic(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult {
    let deadline = crate::blocking::parse_timeout(&args[args.len() - 1], ctx.now)?;
    let keys = &args[1..args.len() - 1];
    for k in keys {
        if read::<ZSet>(ctx, k)?.is_none() {
            continue;
        }
        let v = pop(ctx, k, 1, max)?;
        let Some((m, score)) = v.into_iter().next() else {
            continue;
        };
        ctx.propagate(vec![
            Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" }),
            k.clone(),
        ]);
        return Ok(Frame::Array(vec![bulk(k), bulk(&m), Frame::Double(score)]));
    }
    crate::blocking::block_on(ctx, keys, deadline, Frame::NullArray)
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`
fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let deadline = crate::blocking::parse_timeout(&args[1], ctx.now)?;
    let reply = zmpop_from(ctx, args, 2)?;
    if reply != Frame::NullArray {
        return Ok(reply);
    }
    let (keys, _) = numkeys(args, 2)?;
    crate::blocking::block_on(ctx, keys, deadline, Frame::NullArray)
}

/// ZMPOP's body with `numkeys` at `at`.
fn zmpop_from(ctx: &mut Ctx, args: &[Bytes], at: usize) -> CmdResult {
    let (keys, rest) = numkeys(args, at)?;
    let max = match rest.first() {
        Some(a) if is_kw(a, "MIN") => false,
        Some(a) if is_kw(a, "MAX") => true,
        _ => return Err(err::SYNTAX),
    };
    let count = match &rest[1..] {
        [] => 1,
        [c, n] if is_kw(c, "COUNT") => {
            let n = arg_i64(n)?;
            if n <= 0 {
                return Err(CommandError::new("ERR count should be greater than 0"));
            }
            n as usize
        }
        _ => return Err(err::SYNTAX),
    };
    for k in keys {
        if read::<ZSet>(ctx, k)?.is_none() {
            continue;
        }
        let v = pop(ctx, k, count, max)?;
        ctx.propagate(vec![
            Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" }),
            k.clone(),
            Bytes::from(count.to_string()),
        ]);
        let items = v
            .iter()
            .map(|(m, s)| Frame::Array(vec![bulk(m), Frame::Double(*s)]))
            .collect();
        return Ok(Frame::Array(vec![bulk(k), Frame::Array(items)]));
    }
    Ok(Frame::NullArray)
}

/// Owned (member, score) pairs.
type Pairs = Vec<(Vec<u8>, f64)>;

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// An input of ZUNION & co: a sorted set, or a plain set (scores 1).
fn input(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Pairs>, CommandError> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Ok(Some(z.iter().map(|(m, s)| (m.to_vec(), s)).collect())),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s.iter().map(|m| (m.into_owned(), 1.0)).collect())),
        Some(_) => Err(err::WRONGTYPE),
    }
}

fn aggregate(agg: Agg, a: f64, b: f64) -> f64 {
    match agg {
        Agg::Sum => {
            let r = a + b;
            if r.is_nan() {
                0.0
            } else {
                r
            }
        }
        Agg::Min => a.min(b),
        Agg::Max => a.max(b),
    }
}

/// Parses and computes ZUNION/ZINTER/ZDIFF[STORE]; `args[at]` is numkeys.
fn zsetop(
    ctx: &mut Ctx,
    args: &[Bytes],
    at: usize,
    op: SetOp,
    name: &str,
    store: bool,
) -> Result<(Pairs, bool), CommandError> {
    let n = arg_i64(&args[at])?;
    if n < 1 {
        return Err(CommandError::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let n = n as usize;
    if n > args.len() - at - 1 {
        return Err(err::SYNTAX);
    }
    let keys = &args[at + 1..at + 1 + n];
    let mut weights = vec![1.0; n];
    let mut agg = Agg::Sum;
    let mut withscores = false;
    let mut i = at + 1 + n;
    while i < args.len() {
        let a = &args[i];
        if op != SetOp::Diff && is_kw(a, "WEIGHTS") && args.len() - i > n {
            for (j, w) in weights.iter_mut().enumerate() {
                *w = parse_f64(&args[i + 1 + j])
                    .ok_or(CommandError::new("ERR weight value is not a float"))?;
            }
            i += n + 1;
        } else if op != SetOp::Diff && is_kw(a, "AGGREGATE") && i + 1 < args.len() {
            let v = &args[i + 1];
            agg = if is_kw(v, "SUM") {
                Agg::Sum
            } else if is_kw(v, "MIN") {
                Agg::Min
            } else if is_kw(v, "MAX") {
                Agg::Max
            } else {
                return Err(err::SYNTAX);
            };
            i += 2;
        } else if !store && is_kw(a, "WITHSCORES") {
            withscores = true;
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
    }
    let mut inputs = Vec::with_capacity(n);
    for k in keys {
        inputs.push(input(ctx, k)?);
    }
    let weigh = |s: f64, w: f64| {
        let r = s * w;
        if r.is_nan() {
            0.0
        } else {
            r
        }
    };
    let mut out: Vec<(Vec<u8>, f64)> = Vec::new();
    match op {
        SetOp::Union => {
            let mut idx: std::collections::HashMap<Vec<u8>, usize> = Default::default();
            for (inp, w) in inputs.iter().zip(&weights) {
                for (m, s) in inp.iter().flatten() {
                    let v = weigh(*s, *w);
                    match idx.get(m) {
                        Some(&p) => out[p].1 = aggregate(agg, out[p].1, v),
                        None => {
                            idx.insert(m.clone(), out.len());
                            out.push((m.clone(), v));
                        }
                    }
                }
            }
        }
        SetOp::Inter => {
            if inputs.iter().any(|i| i.is_none()) {
                return Ok((out, withscores));
            }
            let maps: Vec<std::collections::HashMap<&[u8], f64>> = inputs
                .iter()
                .flatten()
                .map(|v| v.iter().map(|(m, s)| (m.as_slice(), *s)).collect())
                .collect();
            if let Some(first) = inputs.first().and_then(|f| f.as_ref()) {
                'outer: for (m, s) in first {
                    let mut acc = weigh(*s, weights[0]);
                    for (j, mp) in maps.iter().enumerate().skip(1) {
                        match mp.get(m.as_slice()) {
                            Some(s2) => acc = aggregate(agg, acc, weigh(*s2, weights[j])),
                            None => continue 'outer,
                        }
                    }
                    out.push((m.clone(), acc));
                }
            }
        }
        SetOp::Diff => {
            if let Some(Some(first)) = inputs.first() {
                let others: Vec<std::collections::HashSet<&[u8]>> = inputs[1..]
                    .iter()
                    .flatten()
                    .map(|v| v.iter().map(|(m, _)| m.as_slice()).collect())
                    .collect();
                for (m, s) in first {
                    if !others.iter().any(|o| o.contains(m.as_slice())) {
                        out.push((m.clone(), *s));
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| crate::keyspace::types::zset::cmp_entry((a.1, &a.0), (b.1, &b.0)));
    Ok((out, withscores))
}

fn zsetop_reply(ctx: &mut Ctx, args: &[Bytes], op: SetOp, name: &str) -> CmdResult {
    let (v, withscores) = zsetop(ctx, args, 1, op, name, false)?;
    let refs: Vec<(&[u8], f64)> = v.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
    Ok(pairs_reply(ctx, &refs, withscores))
}

fn zsetop_store(ctx: &mut Ctx, args: &[Bytes], op: SetOp, name: &str) -> CmdResult {
    let (v, _) = zsetop(ctx, args, 2, op, name, true)?;
    Ok(Frame::Integer(store(ctx, &args[1], v, name)))
}

/// `ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zsetop_reply(ctx, args, SetOp::Union, "zunion")
}

/// `ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zsetop_reply(ctx, args, SetOp::Inter, "zinter")
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zsetop_reply(ctx, args, SetOp::Diff, "zdiff")
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]`
fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zsetop_store(ctx, args, SetOp::Union, "zunionstore")
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]`
fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zsetop_store(ctx, args, SetOp::Inter, "zinterstore")
}

/// `ZDIFFSTORE destination numkeys key [key ...]`
fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zsetop_store(ctx, args, SetOp::Diff, "zdiffstore")
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if arg_i64(&args[1])? < 1 {
        return Err(CommandError::new(
            "ERR at least 1 input key is needed for 'zintercard' command",
        ));
    }
    let (keys, rest) = numkeys(args, 1)?;
    let limit = limit_opt(rest)?;
    let mut argv = vec![Bytes::new(), Bytes::from(keys.len().to_string())];
    argv.extend(keys.iter().cloned());
    let (v, _) = zsetop(ctx, &argv, 1, SetOp::Inter, "zintercard", true)?;
    let n = if limit == 0 {
        v.len()
    } else {
        v.len().min(limit)
    };
    Ok(Frame::Integer(n as i64))
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`
fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        let Some(z) = read::<ZSet>(ctx, &args[1])? else {
            return Ok(Frame::Null);
        };
        let i = rand::thread_rng().gen_range(0..z.len().max(1));
        return Ok(z.at(i).map_or(Frame::Null, |(m, _)| bulk(m)));
    }
    let withscores = args.len() == 4;
    if args.len() > 4 || (withscores && !is_kw(&args[3], "WITHSCORES")) {
        return Err(err::SYNTAX);
    }
    let (count, dups) = rand_count(&args[2])?;
    let resp3 = ctx.client.resp3;
    let Some(z) = read::<ZSet>(ctx, &args[1])? else {
        return Ok(Frame::Array(vec![]));
    };
    let all: Vec<(&[u8], f64)> = match z {
        ZSet::Packed(_) => z.iter().collect(),
        ZSet::Sorted(_) => Vec::new(),
    };
    let mut out = Vec::new();
    for i in pick_positions(z.len(), count, dups) {
        let e = if all.is_empty() {
            z.at(i)
        } else {
            all.get(i).copied()
        };
        if let Some((m, s)) = e {
            if withscores && resp3 {
                out.push(Frame::Array(vec![bulk(m), Frame::Double(s)]));
            } else {
                out.push(bulk(m));
                if withscores {
                    out.push(Frame::Double(s));
                }
            }
        }
    }
    Ok(Frame::Array(out))
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(z) = read::<ZSet>(ctx, &args[1])? else {
        return Ok(scan_reply(0, vec![]));
    };
    let o = ScanOpts::parse(args, 3)?;
    let (next, items) = z.scan(cursor, o.count);
    let mut out = Vec::new();
    for (m, s) in items {
        if o.keep(m) {
            out.push(bulk(m));
            out.push(Frame::Bulk(Bytes::from(ferrodis_resp::fmt_double(s))));
        }
    }
    Ok(scan_reply(next, out))
}

#[cfg(test)]
mod tests {
    use crate::commands::hash::tests::Harness;

    #[test]
    fn zset_basics() {
        let mut h = Harness::new();
        assert_eq!(h.s("ZADD z 1 a 2 b 3 c"), ":3\r\n");
        assert_eq!(
            h.s("ZRANGE z 0 -1"),
            "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
        );
        assert_eq!(
            h.s("ZRANGE z +inf (1 BYSCORE REV LIMIT 0 1"),
            "*1\r\n$1\r\nc\r\n"
        );
        assert_eq!(h.s("ZADD z INCR 1.5 a"), "$3\r\n2.5\r\n");
        assert_eq!(h.s("ZRANK z a"), ":1\r\n");
        assert_eq!(
            h.s("ZREVRANGEBYSCORE z 3 2 WITHSCORES")
                .matches('$')
                .count(),
            6
        );
        assert_eq!(h.s("ZPOPMIN z"), "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
        assert_eq!(h.s("ZREMRANGEBYRANK z 0 -1"), ":2\r\n");
        assert_eq!(h.s("EXISTS z"), ":0\r\n");
        for i in 0..200 {
            h.run(&format!("ZADD big {i} m{i}"));
        }
        assert_eq!(h.s("OBJECT ENCODING big"), "$8\r\nskiplist\r\n");
        assert_eq!(h.s("ZCOUNT big 10 (20"), ":10\r\n");
        assert_eq!(h.s("ZRANGESTORE d big 0 9"), ":10\r\n");
        assert_eq!(h.s("OBJECT ENCODING d"), "$8\r\nlistpack\r\n");
    }
}
