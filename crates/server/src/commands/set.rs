//! Set commands. The representation (intset / hashtable) is in `keyspace/types/set.rs`.

use super::flags::*;
use super::hash::{pick_positions, rand_count, scan_reply, ScanOpts};
use super::keys::parse_cursor;
use super::typed::{del_if_empty, read, write, write_or_create};
use super::{arg_i64, bulk, err, is_kw, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::keyspace::types::{Limits, Set};
use crate::keyspace::Value;
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;
use rand::Rng;
use std::borrow::Cow;

const K1: KeySpec = KeySpec::ONE;
const ALL: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 1,
};
const TWO: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};
/// Keys after a numkeys argument (over-approximated to every later argument).
const AFTER_NUMKEYS: KeySpec = KeySpec {
    first: 2,
    last: -1,
    step: 1,
};

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("sadd", -3, WRITE | DENYOOM | FAST, K1, "set", sadd),
    spec("srem", -3, WRITE | FAST, K1, "set", srem),
    spec("scard", 2, READONLY | FAST, K1, "set", scard),
    spec("sismember", 3, READONLY | FAST, K1, "set", sismember),
    spec("smismember", -3, READONLY | FAST, K1, "set", smismember),
    spec("smembers", 2, READONLY, K1, "set", smembers),
    spec("srandmember", -2, READONLY, K1, "set", srandmember),
    spec("spop", -2, WRITE | FAST, K1, "set", spop),
    spec("smove", 4, WRITE | FAST, TWO, "set", smove),
    spec("sinter", -2, READONLY, ALL, "set", sinter),
    spec("sintercard", -3, READONLY, AFTER_NUMKEYS, "set", sintercard),
    spec("sunion", -2, READONLY, ALL, "set", sunion),
    spec("sdiff", -2, READONLY, ALL, "set", sdiff),
    spec("sinterstore", -3, WRITE | DENYOOM, ALL, "set", sinterstore),
    spec("sunionstore", -3, WRITE | DENYOOM, ALL, "set", sunionstore),
    spec("sdiffstore", -3, WRITE | DENYOOM, ALL, "set", sdiffstore),
    spec("sscan", -3, READONLY, K1, "set", sscan),
];

fn limits(ctx: &Ctx) -> Limits {
    Limits::set(&ctx.server.config.read())
}

/// `SADD key member [member ...]`
fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lim = limits(ctx);
    let s = write_or_create::<Set>(ctx, &args[1])?;
    let mut n = 0;
    for m in &args[2..] {
        n += s.add(m, &lim) as i64;
    }
    if n > 0 {
        ctx.changed();
        ctx.notify(notify::SET, "sadd", &args[1]);
    }
    Ok(Frame::Integer(n))
}

/// `SREM key member [member ...]`
fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(s) = write::<Set>(ctx, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let mut n = 0;
    for m in &args[2..] {
        n += s.remove(m) as i64;
    }
    if n > 0 {
        ctx.changed();
        ctx.notify(notify::SET, "srem", &args[1]);
        del_if_empty::<Set>(ctx, &args[1]);
    }
    Ok(Frame::Integer(n))
}

/// `SCARD key`
fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read::<Set>(ctx, &args[1])?.map_or(0, |s| s.len()) as i64,
    ))
}

/// `SISMEMBER key member`
fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read::<Set>(ctx, &args[1])?.is_some_and(|s| s.contains(&args[2])) as i64,
    ))
}

/// `SMISMEMBER key member [member ...]`
fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let s = read::<Set>(ctx, &args[1])?;
    Ok(Frame::Array(
        args[2..]
            .iter()
            .map(|m| Frame::Integer(s.is_some_and(|s| s.contains(m)) as i64))
            .collect(),
    ))
}

fn members_frame<'a>(it: impl Iterator<Item = Cow<'a, [u8]>>) -> Frame {
    Frame::Set(it.map(|m| bulk(&m)).collect())
}

/// `SMEMBERS key` (a set in RESP3)
fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(match read::<Set>(ctx, &args[1])? {
        Some(s) => members_frame(s.iter()),
        None => Frame::Set(vec![]),
    })
}

/// `SRANDMEMBER key [count]`
fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(err::SYNTAX);
    }
    if args.len() == 2 {
        let Some(s) = read::<Set>(ctx, &args[1])? else {
            return Ok(Frame::Null);
        };
        let i = rand::thread_rng().gen_range(0..s.len().max(1));
        return Ok(s.at(i).map_or(Frame::Null, |m| bulk(&m)));
    }
    let (count, dups) = rand_count(&args[2])?;
    let Some(s) = read::<Set>(ctx, &args[1])? else {
        return Ok(Frame::Array(vec![]));
    };
    Ok(Frame::Array(
        pick_positions(s.len(), count, dups)
            .into_iter()
            .filter_map(|i| s.at(i).map(|m| bulk(&m)))
            .collect(),
    ))
}

/// `SPOP key [count]` (propagated as `SREM key popped...`, or `DEL key` when it empties the
/// set, as Redis does)
fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(err::SYNTAX);
    }
    let count = if args.len() == 3 {
        let c = arg_i64(&args[2])?;
        if c < 0 {
            return Err(CommandError::new(
                "ERR value is out of range, must be positive",
            ));
        }
        Some(c as usize)
    } else {
        None
    };
    let key = args[1].clone();
    let Some(s) = write::<Set>(ctx, &key)? else {
        return Ok(if count.is_some() {
            Frame::Set(vec![])
        } else {
            Frame::Null
        });
    };
    let n = count.unwrap_or(1);
    let popped: Vec<Vec<u8>> = pick_positions(s.len(), n, false)
        .into_iter()
        .filter_map(|i| s.at(i).map(|m| m.into_owned()))
        .collect();
    if popped.is_empty() {
        return Ok(Frame::Set(vec![]));
    }
    for m in &popped {
        s.remove(m);
    }
    let emptied = s.is_empty();
    if emptied && count.is_some() {
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
    } else {
        let mut argv = vec![Bytes::from_static(b"SREM"), key.clone()];
        argv.extend(popped.iter().map(|m| Bytes::copy_from_slice(m)));
        ctx.propagate(argv);
    }
    ctx.changed();
    ctx.notify(notify::SET, "spop", &key);
    del_if_empty::<Set>(ctx, &key);
    Ok(match count {
        None => bulk(&popped[0]),
        Some(_) => Frame::Set(popped.iter().map(|m| bulk(m)).collect()),
    })
}

/// `SMOVE source destination member`
fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (src, dst, m) = (&args[1], &args[2], &args[3]);
    // A missing source answers 0 before the destination's type is looked at (Redis).
    let Some(in_src) = read_write_check(ctx, src)?.map(|s| s.contains(m)) else {
        return Ok(Frame::Integer(0));
    };
    read_write_check(ctx, dst)?;
    if src == dst {
        return Ok(Frame::Integer(in_src as i64));
    }
    if !in_src {
        return Ok(Frame::Integer(0));
    }
    if let Some(s) = write::<Set>(ctx, src)? {
        s.remove(m);
    }
    ctx.notify(notify::SET, "srem", src);
    del_if_empty::<Set>(ctx, src);
    let lim = limits(ctx);
    let added = write_or_create::<Set>(ctx, dst)?.add(m, &lim);
    ctx.changed();
    if added {
        ctx.notify(notify::SET, "sadd", dst);
    }
    Ok(Frame::Integer(1))
}

fn read_write_check<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut Set>, CommandError> {
    write::<Set>(ctx, key)
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Computes the operation over `keys`; members in a deterministic order for intersections
/// and diffs (the first set's order), union in first-seen order.
fn set_op(
    ctx: &mut Ctx,
    keys: &[Bytes],
    op: Op,
    limit: usize,
) -> Result<Vec<Vec<u8>>, CommandError> {
    let mut sets: Vec<Option<Set>> = Vec::with_capacity(keys.len());
    for k in keys {
        sets.push(read::<Set>(ctx, k)?.cloned());
    }
    let mut out = Vec::new();
    match op {
        Op::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return Ok(out);
            }
            let mut sets: Vec<Set> = sets.into_iter().flatten().collect();
            sets.sort_by_key(|s| s.len());
            let Some((first, rest)) = sets.split_first() else {
                return Ok(out);
            };
            for m in first.iter() {
                if rest.iter().all(|s| s.contains(&m)) {
                    out.push(m.into_owned());
                    if limit != 0 && out.len() >= limit {
                        break;
                    }
                }
            }
        }
        Op::Union => {
            let mut seen = std::collections::HashSet::new();
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    if seen.insert(m.to_vec()) {
                        out.push(m.into_owned());
                    }
                }
            }
        }
        Op::Diff => {
            let Some(Some(first)) = sets.first() else {
                return Ok(out);
            };
            for m in first.iter() {
                if !sets[1..].iter().flatten().any(|s| s.contains(&m)) {
                    out.push(m.into_owned());
                }
            }
        }
    }
    Ok(out)
}

fn op_reply(ctx: &mut Ctx, keys: &[Bytes], op: Op) -> CmdResult {
    let v = set_op(ctx, keys, op, 0)?;
    Ok(Frame::Set(v.iter().map(|m| bulk(m)).collect()))
}

fn op_store(ctx: &mut Ctx, args: &[Bytes], op: Op) -> CmdResult {
    let v = set_op(ctx, &args[2..], op, 0)?;
    let dst = &args[1];
    ctx.expire_if_needed(ctx.db(), dst);
    let existed = ctx.table(dst).remove(dst).is_some();
    if v.is_empty() {
        if existed {
            ctx.changed();
            ctx.notify(notify::GENERIC, "del", dst);
        }
        return Ok(Frame::Integer(0));
    }
    let lim = limits(ctx);
    let s = Set::from_members_with(v, &lim);
    let n = s.len() as i64;
    ctx.table(dst)
        .set_value(dst, Value::Set(Box::new(s)), false);
    ctx.changed();
    let event = match op {
        Op::Inter => "sinterstore",
        Op::Union => "sunionstore",
        Op::Diff => "sdiffstore",
    };
    ctx.notify(notify::SET, event, dst);
    Ok(Frame::Integer(n))
}

/// `SINTER key [key ...]`
fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    op_reply(ctx, &args[1..], Op::Inter)
}

/// `SUNION key [key ...]`
fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    op_reply(ctx, &args[1..], Op::Union)
}

/// `SDIFF key [key ...]`
fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    op_reply(ctx, &args[1..], Op::Diff)
}

/// `SINTERSTORE destination key [key ...]`
fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    op_store(ctx, args, Op::Inter)
}

/// `SUNIONSTORE destination key [key ...]`
fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    op_store(ctx, args, Op::Union)
}

/// `SDIFFSTORE destination key [key ...]`
fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    op_store(ctx, args, Op::Diff)
}

/// Parses `numkeys key [key ...]` at `args[1]`; returns the keys and the rest.
pub(crate) fn numkeys(args: &[Bytes], at: usize) -> Result<(&[Bytes], &[Bytes]), CommandError> {
    let n = arg_i64(&args[at])?;
    if n <= 0 {
        return Err(CommandError::new("ERR numkeys should be greater than 0"));
    }
    let n = n as usize;
    if n > args.len() - at - 1 {
        return Err(CommandError::new(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok((&args[at + 1..at + 1 + n], &args[at + 1 + n..]))
}

/// Parses an optional `LIMIT limit` tail.
pub(crate) fn limit_opt(rest: &[Bytes]) -> Result<usize, CommandError> {
    let mut limit = 0;
    let mut i = 0;
    while i < rest.len() {
        if is_kw(&rest[i], "LIMIT") && i + 1 < rest.len() {
            let l = arg_i64(&rest[i + 1])?;
            if l < 0 {
                return Err(CommandError::new("ERR LIMIT can't be negative"));
            }
            limit = l as usize;
            i += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    Ok(limit)
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, rest) = numkeys(args, 1)?;
    let limit = limit_opt(rest)?;
    Ok(Frame::Integer(
        set_op(ctx, keys, Op::Inter, limit)?.len() as i64
    ))
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(s) = read::<Set>(ctx, &args[1])? else {
        return Ok(scan_reply(0, vec![]));
    };
    let o = ScanOpts::parse(args, 3)?;
    let (next, ms) = s.scan(cursor, o.count);
    Ok(scan_reply(
        next,
        ms.into_iter()
            .filter(|m| o.keep(m))
            .map(|m| bulk(&m))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::commands::hash::tests::Harness;

    #[test]
    fn set_basics() {
        let mut h = Harness::new();
        assert_eq!(h.s("SADD s 3 1 2 2"), ":3\r\n");
        assert_eq!(h.s("OBJECT ENCODING s"), "$6\r\nintset\r\n");
        assert_eq!(h.s("SMEMBERS s"), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(h.s("SADD s a"), ":1\r\n");
        assert_eq!(h.s("OBJECT ENCODING s"), "$9\r\nhashtable\r\n");
        assert_eq!(h.s("SADD t 2 a z"), ":3\r\n");
        assert_eq!(h.s("SINTERCARD 2 s t"), ":2\r\n");
        assert_eq!(h.s("SINTERSTORE d s t"), ":2\r\n");
        assert_eq!(h.s("SREM d 2 a"), ":2\r\n");
        assert_eq!(h.s("EXISTS d"), ":0\r\n");
        assert_eq!(h.s("SPOP s 10").matches('$').count(), 4);
        assert_eq!(h.s("EXISTS s"), ":0\r\n");
    }
}
