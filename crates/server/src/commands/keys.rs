//! Generic key commands (DEL, EXPIRE, SCAN, RENAME, ...) and database-wide ones (DBSIZE,
//! FLUSHDB, FLUSHALL, SWAPDB).

use super::flags::*;
use super::{arg_i64, err, is_kw, ok, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::keyspace::{Entry, SHARDS};
use crate::util::glob_match;
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;
use rand::Rng;

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
const NONE: KeySpec = KeySpec::NONE;

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("del", -2, WRITE, ALL, "generic", del),
    spec("unlink", -2, WRITE | FAST, ALL, "generic", del),
    spec("exists", -2, READONLY | FAST, ALL, "generic", exists),
    spec("touch", -2, READONLY | FAST, ALL, "generic", exists),
    spec("type", 2, READONLY | FAST, K1, "generic", type_),
    spec("expire", -3, WRITE | FAST, K1, "generic", expire),
    spec("pexpire", -3, WRITE | FAST, K1, "generic", pexpire),
    spec("expireat", -3, WRITE | FAST, K1, "generic", expireat),
    spec("pexpireat", -3, WRITE | FAST, K1, "generic", pexpireat),
    spec("ttl", 2, READONLY | FAST, K1, "generic", ttl),
    spec("pttl", 2, READONLY | FAST, K1, "generic", pttl),
    spec("expiretime", 2, READONLY | FAST, K1, "generic", expiretime),
    spec(
        "pexpiretime",
        2,
        READONLY | FAST,
        K1,
        "generic",
        pexpiretime,
    ),
    spec("persist", 2, WRITE | FAST, K1, "generic", persist),
    spec("keys", 2, READONLY | ALL_KEYS, NONE, "generic", keys),
    spec("scan", -2, READONLY | ALL_KEYS, NONE, "generic", scan),
    spec(
        "randomkey",
        1,
        READONLY | ALL_KEYS,
        NONE,
        "generic",
        randomkey,
    ),
    spec("rename", 3, WRITE, TWO, "generic", rename),
    spec("renamenx", 3, WRITE | FAST, TWO, "generic", renamenx),
    spec("move", 3, WRITE | FAST, K1, "generic", move_),
    spec("copy", -3, WRITE | DENYOOM, TWO, "generic", copy),
    spec(
        "dbsize",
        1,
        READONLY | FAST | ALL_KEYS,
        NONE,
        "server",
        dbsize,
    ),
    spec("flushdb", -1, WRITE | ALL_KEYS, NONE, "server", flushdb),
    spec("flushall", -1, WRITE | ALL_KEYS, NONE, "server", flushall),
    spec("swapdb", 3, WRITE | FAST | ALL_KEYS, NONE, "server", swapdb),
    spec(
        "object",
        -2,
        READONLY,
        KeySpec {
            first: 2,
            last: 2,
            step: 1,
        },
        "generic",
        object,
    ),
];

/// `DEL key [key ...]` / `UNLINK`
fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &args[1..] {
        let db = ctx.db();
        // As Redis's delGenericCommand: expire first (a master deletes and propagates the
        // expired key, which then does not count), then delete whatever is still there. On
        // a replica the key stays until its master's DEL, and that DEL must remove it
        // however expired it is (a master restarted from an RDB sends DELs for keys that
        // expired while it was down).
        ctx.expire_if_needed(db, k);
        if ctx.table(k).remove(k).is_some() {
            n += 1;
            ctx.changed();
            ctx.notify(notify::GENERIC, "del", k);
        }
    }
    Ok(Frame::Integer(n))
}

/// `EXISTS key [key ...]` / `TOUCH`
fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // EXISTS does not count as an access for eviction; TOUCH exists to be one.
    ctx.no_touch = !is_kw(&args[0], "TOUCH");
    let mut n = 0;
    for k in &args[1..] {
        if ctx.lookup_read(k).is_some() {
            n += 1;
        }
    }
    Ok(Frame::Integer(n))
}

/// `TYPE key`
fn type_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.no_touch = true;
    let t = ctx
        .lookup_read(&args[1])
        .map_or("none", |e| e.value.type_name());
    Ok(Frame::simple(t))
}

/// Shared by EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: `cmd key n [NX|XX|GT|LT]`.
fn expire_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    seconds: bool,
    relative: bool,
    name: &str,
) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &args[3..] {
        if is_kw(a, "NX") {
            nx = true;
        } else if is_kw(a, "XX") {
            xx = true;
        } else if is_kw(a, "GT") {
            gt = true;
        } else if is_kw(a, "LT") {
            lt = true;
        } else {
            return Err(CommandError::msg(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(a)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CommandError::new(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CommandError::new(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let v = arg_i64(&args[2])?;
    let invalid = || CommandError::msg(format!("ERR invalid expire time in '{name}' command"));
    let mut when = v;
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&v) {
            return Err(invalid());
        }
        when = v * 1000;
    }
    if relative {
        when = when.checked_add(ctx.now).ok_or_else(invalid)?;
    }
    let key = &args[1];
    let Some(e) = ctx.lookup_write(key) else {
        return Ok(Frame::Integer(0));
    };
    let cur = e.expire_at;
    if nx && cur != 0 || xx && cur == 0 {
        return Ok(Frame::Integer(0));
    }
    if gt && (cur == 0 || when <= cur) {
        return Ok(Frame::Integer(0));
    }
    if lt && cur != 0 && when >= cur {
        return Ok(Frame::Integer(0));
    }
    if when <= ctx.now && !ctx.client.is_master && !ctx.is_replica() {
        ctx.table(key).remove(key);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        ctx.changed();
        ctx.notify(notify::GENERIC, "del", key);
        return Ok(Frame::Integer(1));
    }
    ctx.table(key).set_expire(key, when);
    let mut argv = vec![
        Bytes::from_static(b"PEXPIREAT"),
        key.clone(),
        Bytes::from(crate::util::i64_bytes(when)),
    ];
    argv.extend(args[3..].iter().cloned());
    ctx.propagate(argv);
    ctx.changed();
    ctx.notify(notify::GENERIC, "expire", key);
    Ok(Frame::Integer(1))
}

/// `EXPIRE key seconds [NX|XX|GT|LT]`
fn expire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, true, "expire")
}
/// `PEXPIRE key ms [NX|XX|GT|LT]`
fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, true, "pexpire")
}
/// `EXPIREAT key unix-seconds [NX|XX|GT|LT]`
fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, false, "expireat")
}
/// `PEXPIREAT key unix-ms [NX|XX|GT|LT]`
fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, false, "pexpireat")
}

fn ttl_generic(ctx: &mut Ctx, key: &[u8], ms: bool, abs: bool) -> CmdResult {
    let now = ctx.now;
    let Some(e) = ctx.lookup_read(key) else {
        return Ok(Frame::Integer(-2));
    };
    if e.expire_at == 0 {
        return Ok(Frame::Integer(-1));
    }
    let t = if abs {
        e.expire_at
    } else {
        (e.expire_at - now).max(0)
    };
    Ok(Frame::Integer(if ms { t } else { (t + 500) / 1000 }))
}

/// `TTL key`
fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &args[1], false, false)
}
/// `PTTL key`
fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &args[1], true, false)
}
/// `EXPIRETIME key`
fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &args[1], false, true)
}
/// `PEXPIRETIME key`
fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &args[1], true, true)
}

/// `PERSIST key`
fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    match ctx.lookup_write(key) {
        Some(e) if e.expire_at != 0 => {
            ctx.table(key).set_expire(key, 0);
            ctx.changed();
            ctx.notify(notify::GENERIC, "persist", key);
            Ok(Frame::Integer(1))
        }
        _ => Ok(Frame::Integer(0)),
    }
}

/// Deletes logically expired keys among `keys` (master only) and returns the live ones.
fn drop_expired(ctx: &mut Ctx, keys: Vec<Bytes>) -> Vec<Bytes> {
    let db = ctx.db();
    keys.into_iter()
        .filter(|k| !ctx.expire_if_needed(db, k))
        .collect()
}

/// `KEYS pattern`
fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let pat = &args[1];
    let all = pat.as_ref() == b"*";
    let db = ctx.db();
    let mut found = Vec::new();
    for t in ctx.all_tables(db) {
        for e in t.iter() {
            if all || glob_match(pat, &e.key, false) {
                found.push(Bytes::copy_from_slice(&e.key));
            }
        }
    }
    let live = drop_expired(ctx, found);
    Ok(Frame::Array(live.into_iter().map(Frame::Bulk).collect()))
}

/// Parses a SCAN-family cursor.
pub fn parse_cursor(a: &[u8]) -> Result<u64, CommandError> {
    std::str::from_utf8(a)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(CommandError::new("ERR invalid cursor"))
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
///
/// The cursor is `(positions_left + 1) << 8 | shard`: shards are walked in order and each
/// shard's entries from the top position down (see `keyspace/table.rs` for why that keeps
/// SCAN's guarantee). Cursor 0 starts and ends an iteration.
fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[1])?;
    let mut pattern: Option<Bytes> = None;
    let mut count: i64 = 10;
    let mut type_filter: Option<Bytes> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let v = args.get(i + 1).ok_or(err::SYNTAX)?;
        if is_kw(a, "MATCH") {
            pattern = Some(v.clone());
        } else if is_kw(a, "COUNT") {
            count = arg_i64(v)?;
            if count < 1 {
                return Err(err::SYNTAX);
            }
        } else if is_kw(a, "TYPE") {
            type_filter = Some(v.clone());
        } else {
            return Err(err::SYNTAX);
        }
        i += 2;
    }
    let db = ctx.db();
    let shards = ctx.all_shards();
    let mut shard = (cursor & 0xff) as usize;
    let mut left: usize = if cursor == 0 {
        shards[0].dbs[db].len()
    } else {
        (cursor >> 8).saturating_sub(1) as usize
    };
    let mut found = Vec::new();
    let mut visited = 0i64;
    let next_cursor;
    loop {
        let t = &shards[shard].dbs[db];
        left = left.min(t.len());
        while left > 0 && visited < count {
            left -= 1;
            visited += 1;
            if let Some(e) = t.at(left) {
                let keep = pattern
                    .as_ref()
                    .map_or(true, |p| glob_match(p, &e.key, false))
                    && type_filter.as_ref().map_or(true, |ty| {
                        ty.eq_ignore_ascii_case(e.value.type_name().as_bytes())
                    });
                if keep {
                    found.push(Bytes::copy_from_slice(&e.key));
                }
            }
        }
        if left == 0 {
            shard += 1;
            if shard >= SHARDS {
                next_cursor = 0u64;
                break;
            }
            left = shards[shard].dbs[db].len();
        }
        if visited >= count {
            next_cursor = ((left as u64 + 1) << 8) | shard as u64;
            break;
        }
    }
    let live = drop_expired(ctx, found);
    Ok(Frame::Array(vec![
        Frame::Bulk(Bytes::from(next_cursor.to_string())),
        Frame::Array(live.into_iter().map(Frame::Bulk).collect()),
    ]))
}

/// `RANDOMKEY`
fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let db = ctx.db();
    let mut rng = rand::thread_rng();
    for _ in 0..100 {
        let total: usize = ctx.all_tables(db).map(|t| t.len()).sum();
        if total == 0 {
            return Ok(Frame::Null);
        }
        // Uniform over all keys: pick an index, then find its shard.
        let mut n = rng.gen_range(0..total);
        let mut key = None;
        for t in ctx.all_tables(db) {
            if n < t.len() {
                key = t.at(n).map(|e| Bytes::copy_from_slice(&e.key));
                break;
            }
            n -= t.len();
        }
        let Some(k) = key else { continue };
        if ctx.expire_if_needed(db, &k) && !ctx.is_replica() {
            continue;
        }
        return Ok(Frame::Bulk(k));
    }
    Ok(Frame::Null)
}

fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    if ctx.lookup_write(src).is_none() {
        return Err(err::NO_KEY);
    }
    if src == dst {
        return if nx { Ok(Frame::Integer(0)) } else { ok() };
    }
    if nx && ctx.lookup_write(dst).is_some() {
        return Ok(Frame::Integer(0));
    }
    let Some(mut e) = ctx.table(src).remove(src) else {
        return Err(err::NO_KEY);
    };
    ctx.table(dst).remove(dst);
    e.key = crate::keyspace::SmallBytes::new(dst);
    ctx.table(dst).insert(e);
    ctx.changed();
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    if nx {
        Ok(Frame::Integer(1))
    } else {
        ok()
    }
}

/// `RENAME key newkey`
fn rename(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, false)
}
/// `RENAMENX key newkey`
fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, true)
}

fn db_arg(ctx: &Ctx, a: &[u8]) -> Result<usize, CommandError> {
    let n = arg_i64(a)?;
    if n < 0 || n as usize >= ctx.server.keyspace.databases() {
        return Err(err::DB_INDEX);
    }
    Ok(n as usize)
}

/// `MOVE key db`
fn move_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let dst = db_arg(ctx, &args[2])?;
    let src = ctx.db();
    if src == dst {
        return Err(CommandError::new(
            "ERR source and destination objects are the same",
        ));
    }
    if ctx.lookup_write(key).is_none() {
        return Ok(Frame::Integer(0));
    }
    if ctx.lookup_write_in(dst, key).is_some() {
        return Ok(Frame::Integer(0));
    }
    let Some(e) = ctx.table(key).remove(key) else {
        return Ok(Frame::Integer(0));
    };
    ctx.table_in(dst, key).insert(e);
    ctx.changed();
    ctx.notify(notify::GENERIC, "move_from", key);
    ctx.notify_in(dst, notify::GENERIC, "move_to", key);
    ctx.key_modified_in(dst, key);
    Ok(Frame::Integer(1))
}

/// `COPY source destination [DB db] [REPLACE]`
fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let mut dst_db = ctx.db();
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is_kw(&args[i], "REPLACE") {
            replace = true;
        } else if is_kw(&args[i], "DB") && i + 1 < args.len() {
            dst_db = db_arg(ctx, &args[i + 1])?;
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if src == dst && dst_db == ctx.db() {
        return Err(CommandError::new(
            "ERR source and destination objects are the same",
        ));
    }
    let Some(e) = ctx.lookup_write(src).map(|e| e.clone()) else {
        return Ok(Frame::Integer(0));
    };
    if ctx.lookup_write_in(dst_db, dst).is_some() {
        if !replace {
            return Ok(Frame::Integer(0));
        }
        ctx.table_in(dst_db, dst).remove(dst);
    }
    let copy = Entry {
        key: crate::keyspace::SmallBytes::new(dst),
        value: e.value,
        expire_at: e.expire_at,
        access: crate::keyspace::access::fresh(),
    };
    ctx.table_in(dst_db, dst).insert(copy);
    ctx.changed();
    ctx.notify_in(dst_db, notify::GENERIC, "copy_to", dst);
    ctx.key_modified_in(dst_db, dst);
    Ok(Frame::Integer(1))
}

/// `DBSIZE`
fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let db = ctx.db();
    Ok(Frame::Integer(
        ctx.all_tables(db).map(|t| t.len() as i64).sum(),
    ))
}

fn flush_mode(args: &[Bytes]) -> Result<(), CommandError> {
    match args.len() {
        1 => Ok(()),
        2 if is_kw(&args[1], "ASYNC") || is_kw(&args[1], "SYNC") => Ok(()),
        _ => Err(err::SYNTAX),
    }
}

/// FLUSHDB/FLUSHALL/SWAPDB: flags WATCHers of keys that exist (and are not expired) in
/// `dbs` (all shards are locked).
fn touch_flushed(ctx: &mut Ctx, dbs: &[usize]) {
    let now = ctx.now;
    let server = ctx.server;
    let shards = ctx.all_shards();
    server.watches.touch_dbs(dbs, |db, key| {
        let s = &shards[server.keyspace.shard_of(key)];
        s.dbs[db]
            .get(key)
            .is_some_and(|e| e.expire_at == 0 || e.expire_at > now)
    });
}

/// `FLUSHDB [ASYNC|SYNC]`
fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    let db = ctx.db();
    touch_flushed(ctx, &[db]);
    let mut n = 0;
    for t in ctx.all_tables(db) {
        n += t.len() as u64;
        t.clear();
    }
    ctx.dirty += n.max(1);
    ok()
}

/// `FLUSHALL [ASYNC|SYNC]`
fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    let all: Vec<usize> = (0..ctx.server.keyspace.databases()).collect();
    touch_flushed(ctx, &all);
    let mut n = 0;
    for s in ctx.all_shards().iter_mut() {
        for t in s.dbs.iter_mut() {
            n += t.len() as u64;
            t.clear();
        }
    }
    // Redis 7.0: dirty grows by the keys removed (an empty FLUSHALL adds nothing but is
    // still propagated); with save points the empty dataset is saved and the counter is 0.
    ctx.propagate(args.to_vec());
    if ctx.server.flushall_done() {
        ctx.server
            .dirty
            .store(0, std::sync::atomic::Ordering::Relaxed);
        ctx.dirty = 0;
    } else {
        ctx.dirty += n;
    }
    ok()
}

/// `SWAPDB index1 index2`
fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let a =
        crate::util::parse_i64(&args[1]).ok_or(CommandError::new("ERR invalid first DB index"))?;
    let b =
        crate::util::parse_i64(&args[2]).ok_or(CommandError::new("ERR invalid second DB index"))?;
    let n = ctx.server.keyspace.databases() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(err::DB_INDEX);
    }
    if a != b {
        touch_flushed(ctx, &[a as usize, b as usize]);
        for s in ctx.all_shards().iter_mut() {
            s.dbs.swap(a as usize, b as usize);
        }
        // Keys that now hold lists may serve blocked clients.
        ctx.server.blocking.signal_db(Some(a as usize));
        ctx.server.blocking.signal_db(Some(b as usize));
    }
    ctx.changed();
    ok()
}

/// True for string values Redis would store as one of its shared integers (0..9999).
fn shared_integer(v: &crate::keyspace::Value) -> bool {
    match v {
        crate::keyspace::Value::Str(s) if v.encoding() == "int" => {
            crate::util::parse_i64(s.as_slice()).is_some_and(|n| (0..10_000).contains(&n))
        }
        _ => false,
    }
}

/// `OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP key`
fn object(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    if is_kw(sub, "HELP") {
        return Ok(super::help_reply(&[
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        ]));
    }
    if args.len() != 3 {
        return Err(CommandError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try OBJECT HELP.",
            String::from_utf8_lossy(sub)
        )));
    }
    ctx.no_touch = true;
    let Some(e) = ctx.lookup_read(&args[2]) else {
        return Ok(Frame::Null);
    };
    use crate::keyspace::access;
    if is_kw(sub, "ENCODING") {
        Ok(Frame::Bulk(Bytes::from_static(
            e.value.encoding().as_bytes(),
        )))
    } else if is_kw(sub, "REFCOUNT") {
        let shared = shared_integer(&e.value);
        let cfg = ctx.server.config.read();
        use ferrodis_config::MaxmemoryPolicy as P;
        let lru_or_lfu = matches!(
            cfg.maxmemory_policy,
            P::VolatileLru | P::VolatileLfu | P::AllkeysLru | P::AllkeysLfu
        );
        let sharing = cfg.maxmemory == 0 || !lru_or_lfu;
        // Redis keeps 0..9999 as shared objects (refcount INT_MAX) unless an LRU/LFU policy
        // with a memory limit needs per-key access data.
        Ok(Frame::Integer(if shared && sharing {
            2147483647
        } else {
            1
        }))
    } else if is_kw(sub, "IDLETIME") {
        if access::lfu_mode() {
            return Err(CommandError::new("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        Ok(Frame::Integer(access::idle_secs(e.access) as i64))
    } else if is_kw(sub, "FREQ") {
        if !access::lfu_mode() {
            return Err(CommandError::new("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        Ok(Frame::Integer(access::lfu_decayed(e.access) as i64))
    } else {
        Err(CommandError::msg(format!(
            "ERR unknown subcommand '{}'. Try OBJECT HELP.",
            String::from_utf8_lossy(sub)
        )))
    }
}
