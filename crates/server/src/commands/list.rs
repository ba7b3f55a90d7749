//! List commands, including the blocking pops (see `blocking.rs` for how parking works).

use super::flags::*;
use super::{arg_i64, err, is_kw, ok, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::blocking;
use crate::keyspace::types::List;
use crate::keyspace::{Entry, SmallBytes, Value};
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;

const K1: KeySpec = KeySpec::ONE;
const TWO: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};
/// BLPOP/BRPOP: every argument but the name and the trailing timeout.
const BKEYS: KeySpec = KeySpec {
    first: 1,
    last: -2,
    step: 1,
};
/// LMPOP/BLMPOP have `numkeys`-counted keys, which a first/last/step spec cannot express:
/// they take every shard lock (ALL_KEYS) and mark the key they pop from themselves.
const NONE: KeySpec = KeySpec::NONE;

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("lpush", -3, WRITE | DENYOOM | FAST, K1, "list", lpush),
    spec("rpush", -3, WRITE | DENYOOM | FAST, K1, "list", rpush),
    spec("lpushx", -3, WRITE | DENYOOM | FAST, K1, "list", lpushx),
    spec("rpushx", -3, WRITE | DENYOOM | FAST, K1, "list", rpushx),
    spec("lpop", -2, WRITE | FAST, K1, "list", lpop),
    spec("rpop", -2, WRITE | FAST, K1, "list", rpop),
    spec("llen", 2, READONLY | FAST, K1, "list", llen),
    spec("lrange", 4, READONLY, K1, "list", lrange),
    spec("lindex", 3, READONLY, K1, "list", lindex),
    spec("lset", 4, WRITE | DENYOOM, K1, "list", lset),
    spec("linsert", 5, WRITE | DENYOOM, K1, "list", linsert),
    spec("lrem", 4, WRITE, K1, "list", lrem),
    spec("ltrim", 4, WRITE, K1, "list", ltrim),
    spec("lpos", -3, READONLY, K1, "list", lpos),
    spec("lmove", 5, WRITE | DENYOOM, TWO, "list", lmove),
    spec("rpoplpush", 3, WRITE | DENYOOM, TWO, "list", rpoplpush),
    spec("lmpop", -4, WRITE | ALL_KEYS, NONE, "list", lmpop),
    spec("blpop", -3, WRITE | BLOCKING, BKEYS, "list", blpop),
    spec("brpop", -3, WRITE | BLOCKING, BKEYS, "list", brpop),
    spec("blmove", 6, WRITE | DENYOOM | BLOCKING, TWO, "list", blmove),
    spec(
        "brpoplpush",
        4,
        WRITE | DENYOOM | BLOCKING,
        TWO,
        "list",
        brpoplpush,
    ),
    spec(
        "blmpop",
        -5,
        WRITE | BLOCKING | ALL_KEYS,
        NONE,
        "list",
        blmpop,
    ),
];

/// The list at `key` for reading: `Ok(None)` when missing, WRONGTYPE for other types.
fn read_list<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c List>, CommandError> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => Err(err::WRONGTYPE),
    }
}

/// The list at `key` in `db` for writing.
fn write_list_in<'c>(
    ctx: &'c mut Ctx,
    db: usize,
    key: &[u8],
) -> Result<Option<&'c mut List>, CommandError> {
    match ctx.lookup_write_in(db, key) {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => Err(err::WRONGTYPE),
    }
}

fn write_list<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut List>, CommandError> {
    let db = ctx.db();
    write_list_in(ctx, db, key)
}

/// Checks that `key` is missing or a list.
fn check_list(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CommandError> {
    Ok(write_list(ctx, key)?.is_some())
}

/// The list at `key`, created empty when missing.
fn list_or_create<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<&'c mut List, CommandError> {
    if write_list(ctx, key)?.is_none() {
        ctx.table(key).insert(Entry {
            key: SmallBytes::new(key),
            value: Value::List(Box::default()),
            expire_at: 0,
            access: crate::keyspace::access::fresh(),
        });
    }
    Ok(write_list(ctx, key)?.expect("list was just created"))
}

/// Deletes `key` if its list became empty (Redis never keeps empty aggregates).
fn del_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let empty = matches!(write_list(ctx, key), Ok(Some(l)) if l.is_empty());
    if empty {
        ctx.table(key).remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
}

fn side(left: bool) -> &'static str {
    if left {
        "LEFT"
    } else {
        "RIGHT"
    }
}

fn push_generic(ctx: &mut Ctx, args: &[Bytes], left: bool, only_existing: bool) -> CmdResult {
    let key = &args[1];
    if only_existing && !check_list(ctx, key)? {
        return Ok(Frame::Integer(0));
    }
    let l = list_or_create(ctx, key)?;
    for v in &args[2..] {
        l.push(v, left);
    }
    let n = l.len() as i64;
    ctx.dirty += (args.len() - 2) as u64;
    ctx.notify(notify::LIST, if left { "lpush" } else { "rpush" }, key);
    Ok(Frame::Integer(n))
}

/// `LPUSH key element [element ...]`
fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, false)
}
/// `RPUSH key element [element ...]`
fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, false)
}
/// `LPUSHX key element [element ...]`
fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, true)
}
/// `RPUSHX key element [element ...]`
fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, true)
}

/// Pops up to `count` elements from `key` (which must be a non-empty list), with
/// notifications and deletion of the emptied key.
fn pop_n(ctx: &mut Ctx, key: &[u8], left: bool, count: usize) -> Vec<SmallBytes> {
    let mut out = Vec::new();
    if let Ok(Some(l)) = write_list(ctx, key) {
        while out.len() < count {
            match l.pop(left) {
                Some(v) => out.push(v),
                None => break,
            }
        }
    }
    if !out.is_empty() {
        ctx.changed();
        ctx.notify(notify::LIST, if left { "lpop" } else { "rpop" }, key);
        del_if_empty(ctx, key);
    }
    out
}

fn bulks(items: Vec<SmallBytes>) -> Frame {
    Frame::Array(items.iter().map(|v| super::bulk(v)).collect())
}

fn pop_generic(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult {
    let key = &args[1];
    let count = match args.len() {
        2 => None,
        3 => {
            let c = arg_i64(&args[2])
                .ok()
                .filter(|c| *c >= 0)
                .ok_or(CommandError::new(
                    "ERR value is out of range, must be positive",
                ))?;
            Some(c as usize)
        }
        _ => return Err(err::SYNTAX),
    };
    if write_list(ctx, key)?.is_none() {
        return Ok(if count.is_some() {
            Frame::NullArray
        } else {
            Frame::Null
        });
    }
    match count {
        None => Ok(pop_n(ctx, key, left, 1)
            .pop()
            .map_or(Frame::Null, |v| super::bulk(&v))),
        Some(c) => Ok(bulks(pop_n(ctx, key, left, c))),
    }
}

/// `LPOP key [count]`
fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, true)
}
/// `RPOP key [count]`
fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, false)
}

/// `LLEN key`
fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read_list(ctx, &args[1])?.map_or(0, |l| l.len() as i64),
    ))
}

/// `LRANGE key start stop`
fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (arg_i64(&args[2])?, arg_i64(&args[3])?);
    let Some(l) = read_list(ctx, &args[1])? else {
        return Ok(Frame::Array(vec![]));
    };
    Ok(Frame::Array(match l.range(start, stop) {
        None => vec![],
        Some((s, e)) => l.items.range(s..=e).map(|v| super::bulk(v)).collect(),
    }))
}

/// `LINDEX key index`
fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Redis looks the key up (nil / WRONGTYPE) before parsing the index.
    let Some(l) = read_list(ctx, &args[1])? else {
        return Ok(Frame::Null);
    };
    let i = arg_i64(&args[2])?;
    Ok(l.get(i).map_or(Frame::Null, super::bulk))
}

/// `LSET key index element`
fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Key (no such key / WRONGTYPE) first, then the index, as Redis.
    let l = write_list(ctx, &args[1])?.ok_or(err::NO_KEY)?;
    let i = arg_i64(&args[2])?;
    let p = l
        .resolve(i)
        .ok_or(CommandError::new("ERR index out of range"))?;
    l.items[p] = SmallBytes::new(&args[3]);
    ctx.changed();
    ctx.notify(notify::LIST, "lset", &args[1]);
    ok()
}

/// `LINSERT key BEFORE|AFTER pivot element`
fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let after = if is_kw(&args[2], "AFTER") {
        true
    } else if is_kw(&args[2], "BEFORE") {
        false
    } else {
        return Err(err::SYNTAX);
    };
    let Some(l) = write_list(ctx, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let Some(p) = l.iter().position(|v| v == &args[3][..]) else {
        return Ok(Frame::Integer(-1));
    };
    l.items
        .insert(p + after as usize, SmallBytes::new(&args[4]));
    let n = l.len() as i64;
    ctx.changed();
    ctx.notify(notify::LIST, "linsert", &args[1]);
    Ok(Frame::Integer(n))
}

/// `LREM key count element`
fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let count = arg_i64(&args[2])?;
    let Some(l) = write_list(ctx, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let elem = &args[3][..];
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0usize;
    if count >= 0 {
        let mut i = 0;
        while i < l.items.len() && removed < limit {
            if l.items[i].as_slice() == elem {
                l.items.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = l.items.len();
        while i > 0 && removed < limit {
            i -= 1;
            if l.items[i].as_slice() == elem {
                l.items.remove(i);
                removed += 1;
            }
        }
    }
    if removed > 0 {
        ctx.dirty += removed as u64;
        ctx.notify(notify::LIST, "lrem", &args[1]);
        del_if_empty(ctx, &args[1]);
    }
    Ok(Frame::Integer(removed as i64))
}

/// `LTRIM key start stop`
fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (start, stop) = (arg_i64(&args[2])?, arg_i64(&args[3])?);
    let Some(l) = write_list(ctx, &args[1])? else {
        return ok();
    };
    let before = l.len();
    match l.range(start, stop) {
        None => l.items.clear(),
        Some((s, e)) => {
            l.items.truncate(e + 1);
            l.items.drain(..s);
        }
    }
    let removed = before - l.len();
    ctx.dirty += removed as u64;
    ctx.notify(notify::LIST, "ltrim", &args[1]);
    del_if_empty(ctx, &args[1]);
    ok()
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<i64>, 0i64);
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        let Some(v) = args.get(i + 1) else {
            return Err(err::SYNTAX);
        };
        if is_kw(opt, "RANK") {
            rank = arg_i64(v)?;
            if rank == 0 || rank == i64::MIN {
                return Err(CommandError::new("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
        } else if is_kw(opt, "COUNT") {
            let c = arg_i64(v)?;
            if c < 0 {
                return Err(CommandError::new("ERR COUNT can't be negative"));
            }
            count = Some(c);
        } else if is_kw(opt, "MAXLEN") {
            maxlen = arg_i64(v)?;
            if maxlen < 0 {
                return Err(CommandError::new("ERR MAXLEN can't be negative"));
            }
        } else {
            return Err(err::SYNTAX);
        }
        i += 2;
    }
    let elem = &args[2][..];
    let l = read_list(ctx, &args[1])?;
    let mut found = Vec::new();
    if let Some(l) = l {
        let want = match count {
            Some(0) => usize::MAX,
            Some(c) => c as usize,
            None => 1,
        };
        let limit = if maxlen == 0 {
            usize::MAX
        } else {
            maxlen as usize
        };
        let mut skip = rank.unsigned_abs() - 1;
        let len = l.len();
        let mut visit = |idx: usize, v: &[u8]| -> bool {
            if v == elem {
                if skip > 0 {
                    skip -= 1;
                } else {
                    found.push(idx as i64);
                    if found.len() >= want {
                        return false;
                    }
                }
            }
            true
        };
        if rank > 0 {
            for (idx, v) in l.iter().enumerate().take(limit) {
                if !visit(idx, v) {
                    break;
                }
            }
        } else {
            for (n, v) in l.iter().rev().enumerate().take(limit) {
                if !visit(len - 1 - n, v) {
                    break;
                }
            }
        }
    }
    Ok(match count {
        None => found.first().map_or(Frame::Null, |&i| Frame::Integer(i)),
        Some(_) => Frame::Array(found.into_iter().map(Frame::Integer).collect()),
    })
}

fn parse_side(a: &[u8]) -> Result<bool, CommandError> {
    if is_kw(a, "LEFT") {
        Ok(true)
    } else if is_kw(a, "RIGHT") {
        Ok(false)
    } else {
        Err(err::SYNTAX)
    }
}

/// Moves one element; `Ok(None)` when `src` is missing. Propagates as LMOVE.
fn move_generic(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> Result<Option<Frame>, CommandError> {
    if write_list(ctx, src)?.is_none() {
        return Ok(None);
    }
    check_list(ctx, dst)?;
    let Some(v) = write_list(ctx, src)?.and_then(|l| l.pop(from_left)) else {
        return Ok(None);
    };
    // Redis's order: the push is applied and notified first, then the pop (and del).
    list_or_create(ctx, dst)?.push(&v, to_left);
    ctx.changed();
    ctx.notify(notify::LIST, if to_left { "lpush" } else { "rpush" }, dst);
    ctx.notify(notify::LIST, if from_left { "lpop" } else { "rpop" }, src);
    del_if_empty(ctx, src);
    ctx.propagate(vec![
        Bytes::from_static(b"LMOVE"),
        Bytes::copy_from_slice(src),
        Bytes::copy_from_slice(dst),
        Bytes::from_static(side(from_left).as_bytes()),
        Bytes::from_static(side(to_left).as_bytes()),
    ]);
    Ok(Some(super::bulk(&v)))
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`
fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (from, to) = (parse_side(&args[3])?, parse_side(&args[4])?);
    Ok(move_generic(ctx, &args[1], &args[2], from, to)?.unwrap_or(Frame::Null))
}

/// `RPOPLPUSH source destination`
fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(move_generic(ctx, &args[1], &args[2], false, true)?.unwrap_or(Frame::Null))
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`
fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (from, to) = (parse_side(&args[3])?, parse_side(&args[4])?);
    let deadline = blocking::parse_timeout(&args[5], ctx.now)?;
    match move_generic(ctx, &args[1], &args[2], from, to)? {
        Some(f) => Ok(f),
        // Inside MULTI Redis answers a plain null here, not the timeout's null array.
        None if ctx.client.in_exec => Ok(Frame::Null),
        None => blocking::block_on(ctx, &args[1..2], deadline, Frame::NullArray),
    }
}

/// `BRPOPLPUSH source destination timeout`
fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let deadline = blocking::parse_timeout(&args[3], ctx.now)?;
    match move_generic(ctx, &args[1], &args[2], false, true)? {
        Some(f) => {
            // Redis propagates a served BRPOPLPUSH as RPOPLPUSH.
            if let Some(last) = ctx.effects.cmds.last_mut() {
                last.1 = vec![
                    Bytes::from_static(b"RPOPLPUSH"),
                    args[1].clone(),
                    args[2].clone(),
                ];
            }
            Ok(f)
        }
        None if ctx.client.in_exec => Ok(Frame::Null),
        None => blocking::block_on(ctx, &args[1..2], deadline, Frame::NullArray),
    }
}

fn bpop_generic(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult {
    let keys = &args[1..args.len() - 1];
    let deadline = blocking::parse_timeout(&args[args.len() - 1], ctx.now)?;
    for k in keys {
        if write_list(ctx, k)?.is_some() {
            if let Some(v) = pop_n(ctx, k, left, 1).pop() {
                let name: &'static [u8] = if left { b"LPOP" } else { b"RPOP" };
                ctx.propagate(vec![Bytes::from_static(name), k.clone()]);
                return Ok(Frame::Array(vec![Frame::Bulk(k.clone()), super::bulk(&v)]));
            }
        }
    }
    blocking::block_on(ctx, keys, deadline, Frame::NullArray)
}

/// `BLPOP key [key ...] timeout`
fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop_generic(ctx, args, true)
}
/// `BRPOP key [key ...] timeout`
fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop_generic(ctx, args, false)
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` from `args[at..]`.
fn mpop_args(args: &[Bytes], at: usize) -> Result<(&[Bytes], bool, usize), CommandError> {
    let numkeys = arg_i64(&args[at])
        .ok()
        .filter(|n| *n > 0)
        .ok_or(CommandError::new("ERR numkeys should be greater than 0"))?;
    let numkeys = numkeys as usize;
    if numkeys > args.len() - at - 1 {
        return Err(err::SYNTAX);
    }
    let keys = &args[at + 1..at + 1 + numkeys];
    let mut rest = at + 1 + numkeys;
    let Some(dir) = args.get(rest) else {
        return Err(err::SYNTAX);
    };
    let left = parse_side(dir)?;
    rest += 1;
    let mut count = None;
    while rest < args.len() {
        if is_kw(&args[rest], "COUNT") && count.is_none() && rest + 1 < args.len() {
            let c = arg_i64(&args[rest + 1])
                .ok()
                .filter(|c| *c > 0)
                .ok_or(CommandError::new("ERR count should be greater than 0"))?;
            count = Some(c as usize);
            rest += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    Ok((keys, left, count.unwrap_or(1)))
}

/// Pops from the first non-empty list of `keys`: `[key, [elements]]`, propagated as
/// `LPOP|RPOP key count`.
fn mpop_from(
    ctx: &mut Ctx,
    keys: &[Bytes],
    left: bool,
    count: usize,
) -> Result<Option<Frame>, CommandError> {
    for k in keys {
        if write_list(ctx, k)?.is_some() {
            let items = pop_n(ctx, k, left, count);
            if items.is_empty() {
                continue;
            }
            let name: &'static [u8] = if left { b"LPOP" } else { b"RPOP" };
            let n = itoa::Buffer::new().format(items.len()).as_bytes().to_vec();
            ctx.propagate(vec![Bytes::from_static(name), k.clone(), Bytes::from(n)]);
            ctx.key_modified(k);
            return Ok(Some(Frame::Array(vec![
                Frame::Bulk(k.clone()),
                bulks(items),
            ])));
        }
    }
    Ok(None)
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`
fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, left, count) = mpop_args(args, 1)?;
    Ok(mpop_from(ctx, keys, left, count)?.unwrap_or(Frame::NullArray))
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`
fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let deadline = blocking::parse_timeout(&args[1], ctx.now)?;
    let (keys, left, count) = mpop_args(args, 2)?;
    match mpop_from(ctx, keys, left, count)? {
        Some(f) => Ok(f),
        None => blocking::block_on(ctx, keys, deadline, Frame::NullArray),
    }
}
