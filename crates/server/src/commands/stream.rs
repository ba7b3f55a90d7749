//! Stream commands (XADD, XRANGE, XREAD, consumer groups, XINFO ...) with Redis 7.0's
//! replies, errors and propagation. The value operations are in `keyspace/types/stream.rs`.
//!
//! Propagation follows Redis so that replicas (ferrodis or redis-server) end identical:
//!
//! ```text
//! XADD k * f v                 -> XADD k <generated id> f v
//! XADD/XTRIM ... MAXLEN ~ n    -> ... MAXLEN = <length after trim>   (MINID ~: = <first id>)
//! XREADGROUP (each new entry)  -> XCLAIM k g c 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID l
//! XREADGROUP NOACK             -> XGROUP CREATECONSUMER (when created), XGROUP SETID .. ENTRIESREAD
//! XCLAIM / XAUTOCLAIM          -> the same XCLAIM form per claimed (or dropped) entry
//! XREAD, XPENDING, XINFO       -> nothing
//! ```
//!
//! XREAD and XREADGROUP name their keys after `STREAMS`, which a first/last/step key spec
//! cannot express: they take every shard lock (ALL_KEYS).

use super::flags::*;
use super::{arg_i64, err, is_kw, ok, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::blocking;
use crate::keyspace::types::stream::{self as st, NodeLimits, Trim, MAX_ID};
use crate::keyspace::Value;
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_rdb::{Stream, StreamEntry, StreamId};
use ferrodis_resp::Frame;

const K1: KeySpec = KeySpec::ONE;
/// XGROUP/XINFO subcommands: the key follows the subcommand.
const K2: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};
const NONE: KeySpec = KeySpec::NONE;

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("xadd", -5, WRITE | DENYOOM | FAST, K1, "stream", xadd),
    spec("xlen", 2, READONLY | FAST, K1, "stream", xlen),
    spec("xrange", -4, READONLY, K1, "stream", xrange),
    spec("xrevrange", -4, READONLY, K1, "stream", xrevrange),
    spec("xdel", -3, WRITE | FAST, K1, "stream", xdel),
    spec("xtrim", -4, WRITE, K1, "stream", xtrim),
    spec("xsetid", -3, WRITE | DENYOOM | FAST, K1, "stream", xsetid),
    spec(
        "xread",
        -4,
        READONLY | BLOCKING | ALL_KEYS,
        NONE,
        "stream",
        xread,
    ),
    spec(
        "xreadgroup",
        -7,
        WRITE | BLOCKING | ALL_KEYS,
        NONE,
        "stream",
        xreadgroup,
    ),
    spec("xgroup", -2, WRITE, K2, "stream", xgroup),
    spec("xack", -4, WRITE | FAST, K1, "stream", xack),
    spec("xpending", -3, READONLY, K1, "stream", xpending),
    spec("xclaim", -6, WRITE | FAST, K1, "stream", xclaim),
    spec("xautoclaim", -6, WRITE | FAST, K1, "stream", xautoclaim),
    spec("xinfo", -2, READONLY, K2, "stream", xinfo),
];

const INVALID_ID: CommandError =
    CommandError::new("ERR Invalid stream ID specified as stream command argument");

// ---------------------------------------------------------------------------------------
// IDs

/// Redis's `string2ull`: a strict integer, or else whatever `strtoull` accepts whole
/// (leading spaces, a sign; a `-` wraps), without overflow.
fn parse_u64(b: &[u8]) -> Option<u64> {
    if let Some(v) = crate::util::parse_i64(b) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    if i == b.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &b[i..] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Redis's `streamGenericParseIDOrReply`: `ms[-seq]`, `-` and `+` unless `strict`, and
/// `ms-*` when `seq_star` (then the bool is false: sequence to be generated).
fn parse_id_full(
    a: &[u8],
    missing_seq: u64,
    strict: bool,
    seq_star: bool,
) -> Result<(StreamId, bool), CommandError> {
    if a.len() > 127 {
        return Err(INVALID_ID);
    }
    if a == b"-" || a == b"+" {
        if strict {
            return Err(INVALID_ID);
        }
        return Ok((
            if a == b"-" {
                StreamId::default()
            } else {
                MAX_ID
            },
            true,
        ));
    }
    let (ms_part, seq_part) = match a.iter().position(|&c| c == b'-') {
        Some(p) => (&a[..p], Some(&a[p + 1..])),
        None => (a, None),
    };
    let ms = parse_u64(ms_part).ok_or(INVALID_ID)?;
    match seq_part {
        Some(b"*") if seq_star => Ok((StreamId::new(ms, 0), false)),
        Some(s) => Ok((StreamId::new(ms, parse_u64(s).ok_or(INVALID_ID)?), true)),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

/// A strict ID (no `-`/`+`), missing sequence 0.
fn parse_strict(a: &[u8]) -> Result<StreamId, CommandError> {
    parse_id_full(a, 0, true, false).map(|r| r.0)
}

/// An interval bound: `(id` exclusive (strict), else an ID or `-`/`+`. Exclusive bounds are
/// moved one step inward, with Redis's errors when that is impossible.
fn parse_bound(a: &[u8], missing_seq: u64, start: bool) -> Result<StreamId, CommandError> {
    if a.len() > 1 && a[0] == b'(' {
        let id = parse_id_full(&a[1..], missing_seq, true, false)?.0;
        let moved = if start { st::incr(id) } else { st::decr(id) };
        return moved.ok_or(CommandError::new(if start {
            "ERR invalid start ID for the interval"
        } else {
            "ERR invalid end ID for the interval"
        }));
    }
    Ok(parse_id_full(a, missing_seq, false, false)?.0)
}

fn id_bulk(id: StreamId) -> Frame {
    Frame::Bulk(Bytes::from(st::id_text(id)))
}

fn id_arg(id: StreamId) -> Bytes {
    Bytes::from(st::id_text(id))
}

fn int_arg(v: u64) -> Bytes {
    Bytes::from(v.to_string())
}

/// `[id, [field, value, ...]]`
fn entry_frame(e: &StreamEntry) -> Frame {
    let mut fv = Vec::with_capacity(e.fields.len() * 2);
    for (f, v) in &e.fields {
        fv.push(Frame::Bulk(Bytes::copy_from_slice(f)));
        fv.push(Frame::Bulk(Bytes::copy_from_slice(v)));
    }
    Frame::Array(vec![id_bulk(e.id), Frame::Array(fv)])
}

fn entries_frame(v: &[&StreamEntry]) -> Frame {
    Frame::Array(v.iter().map(|e| entry_frame(e)).collect())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---------------------------------------------------------------------------------------
// Lookups

fn read_stream<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c Stream>, CommandError> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Stream(s) => Ok(Some(s)),
            _ => Err(err::WRONGTYPE),
        },
    }
}

fn write_stream<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut Stream>, CommandError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Stream(s) => Ok(Some(s)),
            _ => Err(err::WRONGTYPE),
        },
    }
}

/// The stream at `key` for writing, created empty when missing.
fn create_stream<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<&'c mut Stream, CommandError> {
    if write_stream(ctx, key)?.is_none() {
        ctx.table(key)
            .set_value(key, Value::Stream(Box::default()), false);
    }
    write_stream(ctx, key)?.ok_or(err::WRONGTYPE)
}

/// `stream-node-max-bytes` / `stream-node-max-entries` from the configuration.
fn node_limits(ctx: &Ctx) -> NodeLimits {
    let cfg = ctx.server.config.read();
    let get = |name: &[u8], default: u64| {
        cfg.get(name)
            .first()
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    NodeLimits {
        max_bytes: get(b"stream-node-max-bytes", 4096),
        max_entries: get(b"stream-node-max-entries", 100),
    }
}

/// Records `n` changes Redis 7.0 makes without `signalModifiedKey` (consumer-group metadata:
/// XACK, XCLAIM, XAUTOCLAIM, XGROUP other than a MKSTREAM creation; and XSETID): they count
/// for save points and are propagated as `effects`, but WATCH on the key is not flagged. Dispatch
/// flags WATCHers only for commands that report `ctx.dirty`, so this bypasses it.
fn unsignalled_change(ctx: &mut Ctx, n: u64, effects: Vec<Vec<Bytes>>) {
    ctx.server
        .dirty
        .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    let db = ctx.db();
    ctx.effects
        .cmds
        .extend(effects.into_iter().map(|e| (db, e)));
    ctx.custom_propagation = true;
}

fn nogroup_key_group(key: &[u8], group: &[u8]) -> CommandError {
    CommandError::msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        text(key),
        text(group)
    ))
}

fn nogroup_for_key(group: &[u8], key: &[u8]) -> CommandError {
    CommandError::msg(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        text(group),
        text(key)
    ))
}

// ---------------------------------------------------------------------------------------
// XADD / XTRIM

/// The parsed `[NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT n]] id` part.
#[derive(Default)]
struct AddTrim {
    trim: Option<Trim>,
    approx: bool,
    limit: u64,
    /// Position of the threshold argument (rewritten for propagation after `~`).
    threshold_at: usize,
    no_mkstream: bool,
    /// Explicit ID and whether its sequence was given (`ms-*` leaves it to be generated).
    id: Option<(StreamId, bool)>,
}

/// Redis's `streamParseAddOrTrimArgsOrReply`; returns the options and the position where
/// parsing stopped (the ID of XADD).
fn parse_add_trim(ctx: &Ctx, args: &[Bytes], xadd: bool) -> Result<(AddTrim, usize), CommandError> {
    let mut p = AddTrim::default();
    let mut limit: i64 = 0;
    let mut limit_given = false;
    let argc = args.len();
    let mut i = 2;
    while i < argc {
        let more = argc - 1 - i;
        let opt = &args[i][..];
        if xadd && opt == b"*" {
            break;
        } else if (is_kw(opt, "MAXLEN") || is_kw(opt, "MINID")) && more > 0 {
            if p.trim.is_some() {
                return Err(CommandError::new(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            p.approx = false;
            let next = &args[i + 1][..];
            if more >= 2 && next == b"~" {
                p.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let thr = &args[i + 1];
            if is_kw(opt, "MAXLEN") {
                let n = arg_i64(thr)?;
                if n < 0 {
                    return Err(CommandError::new("ERR The MAXLEN argument must be >= 0."));
                }
                p.trim = Some(Trim::MaxLen(n as u64));
            } else {
                p.trim = Some(Trim::MinId(parse_strict(thr)?));
            }
            i += 1;
            p.threshold_at = i;
        } else if is_kw(opt, "LIMIT") && more > 0 {
            limit = arg_i64(&args[i + 1])?;
            if limit < 0 {
                return Err(CommandError::new("ERR The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && is_kw(opt, "NOMKSTREAM") {
            p.no_mkstream = true;
        } else if xadd {
            p.id = Some(parse_id_full(opt, 0, true, true)?);
            break;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if limit != 0 && p.trim.is_none() {
        return Err(CommandError::new(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && p.trim.is_none() {
        return Err(CommandError::new(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if ctx.client.is_master {
        // The master already rewrote `~` into an exact threshold: never cut it short.
        p.limit = 0;
    } else if limit_given {
        if !p.approx {
            return Err(CommandError::new(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
        p.limit = limit as u64;
    } else if p.approx {
        let per_node = ctx
            .server
            .config
            .read()
            .get(b"stream-node-max-entries")
            .first()
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .unwrap_or(100);
        let l = per_node.saturating_mul(100);
        p.limit = if l <= 0 || l > 10000 { 10000 } else { l as u64 };
    }
    Ok((p, i))
}

/// After an approximate trim, the arguments replicas get: `=` and the effective threshold
/// (Redis's `streamRewriteApproxSpecifier` + `streamRewriteTrimArgument`).
fn rewrite_trim(argv: &mut [Bytes], p: &AddTrim, s: &Stream) {
    argv[p.threshold_at - 1] = Bytes::from_static(b"=");
    argv[p.threshold_at] = match p.trim {
        Some(Trim::MaxLen(_)) => int_arg(s.length),
        _ => id_arg(st::first_with_tombstones(s)),
    };
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...`
fn xadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (p, i) = parse_add_trim(ctx, args, true)?;
    let field_pos = i + 1;
    if args.len() < field_pos + 2 || (args.len() - field_pos) % 2 == 1 {
        return Err(CommandError::new(
            "ERR wrong number of arguments for 'xadd' command",
        ));
    }
    if let Some((id, true)) = p.id {
        if id == StreamId::default() {
            return Err(CommandError::new(
                "ERR The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let key = &args[1];
    let now = ctx.now.max(0) as u64;
    let lim = node_limits(ctx);
    let s = if p.no_mkstream {
        match write_stream(ctx, key)? {
            Some(s) => s,
            None => return Ok(Frame::Null),
        }
    } else {
        create_stream(ctx, key)?
    };
    if s.last_id == MAX_ID {
        return Err(CommandError::new(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let too_small = CommandError::new(
        "ERR The ID specified in XADD is equal or smaller than the target stream top item",
    );
    let id = match p.id {
        Some((id, true)) => id,
        Some((id, false)) if id.ms == s.last_id.ms => {
            if s.last_id.seq == u64::MAX {
                return Err(too_small);
            }
            StreamId::new(id.ms, s.last_id.seq + 1)
        }
        Some((id, false)) => id,
        None if now > s.last_id.ms => StreamId::new(now, 0),
        None => st::incr(s.last_id).unwrap_or(MAX_ID),
    };
    if id <= s.last_id {
        return Err(too_small);
    }
    let fields = args[field_pos..]
        .chunks(2)
        .map(|fv| (fv[0].to_vec(), fv[1].to_vec()))
        .collect();
    st::append(s, id, fields, lim);
    let mut trimmed = 0;
    let mut rewritten: Option<Vec<Bytes>> = None;
    if let Some(t) = p.trim {
        trimmed = st::trim(s, t, p.approx, p.limit, lim);
        if p.approx {
            let mut argv = args.to_vec();
            rewrite_trim(&mut argv, &p, s);
            rewritten = Some(argv);
        }
    }
    if !matches!(p.id, Some((_, true))) {
        rewritten.get_or_insert_with(|| args.to_vec())[i] = id_arg(id);
    }
    ctx.changed();
    ctx.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    if let Some(argv) = rewritten {
        ctx.propagate(argv);
    }
    Ok(id_bulk(id))
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`
fn xtrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if write_stream(ctx, key)?.is_none() {
        return Ok(Frame::Integer(0));
    }
    let (p, _) = parse_add_trim(ctx, args, false)?;
    let lim = node_limits(ctx);
    let Some(s) = write_stream(ctx, key)? else {
        return Ok(Frame::Integer(0));
    };
    let t = p.trim.ok_or(err::SYNTAX)?;
    let n = st::trim(s, t, p.approx, p.limit, lim);
    if n > 0 {
        if p.approx {
            let mut argv = args.to_vec();
            rewrite_trim(&mut argv, &p, s);
            ctx.propagate(argv);
        }
        ctx.dirty += n;
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    Ok(Frame::Integer(n as i64))
}

/// `XLEN key`
fn xlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read_stream(ctx, &args[1])?.map_or(0, |s| s.length as i64),
    ))
}

/// `XDEL key id [id ...]`
fn xdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if write_stream(ctx, key)?.is_none() {
        return Ok(Frame::Integer(0));
    }
    // All IDs are checked first: the command runs entirely or not at all.
    let ids = args[2..]
        .iter()
        .map(|a| parse_strict(a))
        .collect::<Result<Vec<_>, _>>()?;
    let lim = node_limits(ctx);
    let Some(s) = write_stream(ctx, key)? else {
        return Ok(Frame::Integer(0));
    };
    let deleted = ids.into_iter().filter(|id| st::delete(s, *id, lim)).count();
    if deleted > 0 {
        ctx.dirty += deleted as u64;
        ctx.notify(notify::STREAM, "xdel", key);
    }
    Ok(Frame::Integer(deleted as i64))
}

fn range_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let start = parse_bound(start_arg, 0, true)?;
    let end = parse_bound(end_arg, u64::MAX, false)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if is_kw(&args[j], "COUNT") && j + 1 < args.len() {
            count = arg_i64(&args[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    let Some(s) = read_stream(ctx, &args[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    if count == 0 {
        // Redis answers COUNT 0 (or a negative COUNT) with a null array.
        return Ok(Frame::NullArray);
    }
    let n = if count < 0 { 0 } else { count as usize };
    Ok(entries_frame(&st::range(s, start, end, n, rev)))
}

/// `XRANGE key start end [COUNT count]`
fn xrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, false)
}

/// `XREVRANGE key end start [COUNT count]`
fn xrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, true)
}

/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`
fn xsetid(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let id = parse_strict(&args[2])?;
    let mut entries_added: Option<u64> = None;
    let mut max_xdel = StreamId::default();
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is_kw(&args[i], "ENTRIESADDED") && more > 0 {
            let n = arg_i64(&args[i + 1])?;
            if n < 0 {
                return Err(CommandError::new("ERR entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if is_kw(&args[i], "MAXDELETEDID") && more > 0 {
            max_xdel = parse_strict(&args[i + 1])?;
            if id < max_xdel {
                return Err(CommandError::new("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"));
            }
        } else {
            return Err(err::SYNTAX);
        }
        i += 2;
    }
    let key = &args[1];
    let s = write_stream(ctx, key)?.ok_or(err::NO_KEY)?;
    if let Some(last) = s.entries.last() {
        if id < last.id {
            return Err(CommandError::new(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| s.length > n) {
            return Err(CommandError::new("ERR The entries_added specified in XSETID is smaller than the target stream length"));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if max_xdel != StreamId::default() {
        s.max_deleted_id = max_xdel;
    }
    unsignalled_change(ctx, 1, vec![args.to_vec()]);
    ctx.notify(notify::STREAM, "xsetid", key);
    ok()
}

// ---------------------------------------------------------------------------------------
// XREAD / XREADGROUP

/// `XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]`
fn xread(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    read_generic(ctx, args, false)
}

/// `XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key
/// [key ...] id [id ...]`
fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Its effects are the XCLAIM / XGROUP forms recorded below, never the command itself.
    ctx.custom_propagation = true;
    read_generic(ctx, args, true)
}

/// BLOCK's argument: Redis's `getTimeoutFromObjectOrReply` in milliseconds, as an absolute
/// deadline (0 = forever).
fn parse_block(a: &[u8], now: i64) -> Result<i64, CommandError> {
    let ms = crate::util::parse_i64(a).ok_or(CommandError::new(
        "ERR timeout is not an integer or out of range",
    ))?;
    if ms < 0 {
        return Err(CommandError::new("ERR timeout is negative"));
    }
    if ms == 0 {
        return Ok(0);
    }
    ms.checked_add(now)
        .ok_or(CommandError::new("ERR timeout is out of range"))
}

/// What the consumer-group part of a read needs.
struct GroupRead<'a> {
    group: &'a Bytes,
    consumer: &'a Bytes,
    noack: bool,
}

fn read_generic(ctx: &mut Ctx, args: &[Bytes], grouped: bool) -> CmdResult {
    let argc = args.len();
    let mut deadline: Option<i64> = None;
    let mut block_arg: Option<&Bytes> = None;
    let mut count: i64 = 0;
    let mut streams_arg = 0;
    let mut nstreams = 0;
    let mut group: Option<(&Bytes, &Bytes)> = None;
    let mut noack = false;
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        let o = &args[i];
        if is_kw(o, "BLOCK") && more > 0 {
            i += 1;
            deadline = Some(parse_block(&args[i], ctx.now)?);
            block_arg = Some(&args[i]);
        } else if is_kw(o, "COUNT") && more > 0 {
            i += 1;
            count = arg_i64(&args[i])?.max(0);
        } else if is_kw(o, "STREAMS") && more > 0 {
            streams_arg = i + 1;
            nstreams = argc - streams_arg;
            if nstreams % 2 != 0 {
                // Redis 7.0 names XREAD and `$` for XREADGROUP too.
                return Err(CommandError::new(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            nstreams /= 2;
            break;
        } else if is_kw(o, "GROUP") && more >= 2 {
            if !grouped {
                return Err(CommandError::new(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((&args[i + 1], &args[i + 2]));
            i += 2;
        } else if is_kw(o, "NOACK") {
            if !grouped {
                return Err(CommandError::new(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if streams_arg == 0 {
        return Err(err::SYNTAX);
    }
    if grouped && group.is_none() {
        return Err(CommandError::new("ERR Missing GROUP option for XREADGROUP"));
    }
    let keys = &args[streams_arg..streams_arg + nstreams];
    let rerun = grouped && ctx.server.blocking.is_rerun(ctx.client.id);
    let id_args = &args[streams_arg + nstreams..];
    let mut ids = Vec::with_capacity(nstreams);
    for (key, id_arg) in keys.iter().zip(id_args) {
        let s = read_stream(ctx, key)?;
        if let Some((g, _)) = group {
            if rerun && s.is_none() {
                // Woken while the key is gone: keep waiting, as Redis does.
                ids.push(MAX_ID);
                continue;
            }
            if rerun && !s.is_some_and(|s| st::group_index(s, g).is_some()) {
                return Err(CommandError::new(
                    "NOGROUP the consumer group this client was blocked on no longer exists",
                ));
            }
            if !s.is_some_and(|s| st::group_index(s, g).is_some()) {
                return Err(CommandError::msg(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    text(key),
                    text(g)
                )));
            }
        }
        if &id_arg[..] == b"$" {
            if grouped {
                return Err(CommandError::new("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."));
            }
            ids.push(s.map_or(StreamId::default(), |s| s.last_id));
        } else if &id_arg[..] == b">" {
            if !grouped {
                return Err(CommandError::new("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."));
            }
            ids.push(MAX_ID);
        } else {
            ids.push(parse_strict(id_arg)?);
        }
    }

    let gr = group.map(|(g, c)| GroupRead {
        group: g,
        consumer: c,
        noack,
    });
    let mut served: Vec<(Frame, Frame)> = Vec::new();
    for (key, &gt) in keys.iter().zip(&ids) {
        if let Some(gr) = &gr {
            if let Some(reply) = serve_group(ctx, key, gt, count as usize, gr) {
                served.push((Frame::Bulk(key.clone()), reply));
            }
            continue;
        }
        let Some(s) = read_stream(ctx, key)? else {
            continue;
        };
        if s.entries.last().is_some_and(|e| e.id > gt) {
            let start = st::incr(gt).unwrap_or_default();
            let list = st::range(s, start, MAX_ID, count as usize, false);
            served.push((Frame::Bulk(key.clone()), entries_frame(&list)));
        }
    }
    if !served.is_empty() {
        return Ok(if ctx.client.resp3 {
            Frame::Map(served)
        } else {
            Frame::Array(
                served
                    .into_iter()
                    .map(|(k, v)| Frame::Array(vec![k, v]))
                    .collect(),
            )
        });
    }
    let (Some(deadline), Some(block_arg)) = (deadline, block_arg) else {
        return Ok(Frame::NullArray);
    };
    // Re-runs after a wake-up use these arguments: `$` resolved to the IDs it meant now, and
    // Redis's COUNT of 1000 for a blocked read without one.
    let mut rerun: Vec<Bytes> = vec![args[0].clone()];
    if let Some((g, c)) = group {
        rerun.extend([Bytes::from_static(b"GROUP"), g.clone(), c.clone()]);
        if noack {
            rerun.push(Bytes::from_static(b"NOACK"));
        }
    }
    let count = if count > 0 { count } else { 1000 };
    rerun.extend([
        Bytes::from_static(b"COUNT"),
        int_arg(count as u64),
        Bytes::from_static(b"BLOCK"),
        block_arg.clone(),
        Bytes::from_static(b"STREAMS"),
    ]);
    rerun.extend(keys.iter().cloned());
    if grouped {
        rerun.extend(id_args.iter().cloned());
    } else {
        rerun.extend(ids.iter().map(|id| id_arg(*id)));
    }
    blocking::block_on_rerun(ctx, keys, deadline, Frame::NullArray, rerun)
}

/// One key of XREADGROUP: `None` when there is nothing to serve now (and `>` was asked).
fn serve_group(
    ctx: &mut Ctx,
    key: &Bytes,
    gt: StreamId,
    count: usize,
    gr: &GroupRead,
) -> Option<Frame> {
    let now = ctx.now;
    let db = ctx.db();
    let server = ctx.server;
    let s = write_stream(ctx, key).ok()??;
    let gi = st::group_index(s, gr.group)?;
    let history = gt != MAX_ID;
    let mut start = gt;
    if !history {
        let last_live = s.entries.last()?.id;
        if last_live <= s.groups[gi].last_id {
            return None;
        }
        start = s.groups[gi].last_id;
    }
    let start = st::incr(start).unwrap_or_default();
    let (ci, created) = st::consumer_or_create(&mut s.groups[gi], gr.consumer, now);
    s.groups[gi].consumers[ci].seen_time_ms = now;
    if created {
        crate::pubsub::notify_keyspace_event(
            server,
            notify::STREAM,
            "xgroup-createconsumer",
            key,
            db,
        );
    }
    let mut effects: Vec<Vec<Bytes>> = Vec::new();
    if created && gr.noack {
        effects.push(vec![
            Bytes::from_static(b"XGROUP"),
            Bytes::from_static(b"CREATECONSUMER"),
            key.clone(),
            gr.group.clone(),
            gr.consumer.clone(),
        ]);
    }
    let reply = if history {
        // The consumer's own pending entries from `start` on; deleted entries come back as
        // `[id, nil]`.
        let g = &mut s.groups[gi];
        let ids: Vec<StreamId> = g.consumers[ci]
            .pending
            .iter()
            .copied()
            .filter(|id| *id >= start)
            .take(if count == 0 { usize::MAX } else { count })
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match st::find(s, id) {
                Ok(p) => {
                    out.push(entry_frame(&s.entries[p]));
                    let g = &mut s.groups[gi];
                    if let Ok(pp) = st::pel_find(g, id) {
                        g.pel[pp].delivery_time_ms = now;
                        g.pel[pp].delivery_count += 1;
                    }
                }
                Err(_) => out.push(Frame::Array(vec![id_bulk(id), Frame::NullArray])),
            }
        }
        Frame::Array(out)
    } else {
        let ids: Vec<StreamId> = st::range(s, start, MAX_ID, count, false)
            .iter()
            .map(|e| e.id)
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        let mut propagate_last_id = false;
        for id in ids {
            if id > s.groups[gi].last_id {
                // A valid counter with no tombstone ahead just counts on; otherwise Redis
                // re-estimates it from the stream's metadata.
                let read = match s.groups[gi].entries_read {
                    Some(n) if !st::range_has_tombstones(s, id, MAX_ID) => Some(n + 1),
                    _ if s.entries_added > 0 => st::estimate_distance(s, id),
                    other => other,
                };
                let g = &mut s.groups[gi];
                g.entries_read = read;
                g.last_id = id;
                if gr.noack {
                    propagate_last_id = true;
                }
            }
            if let Ok(p) = st::find(s, id) {
                out.push(entry_frame(&s.entries[p]));
            }
            if !gr.noack {
                let g = &mut s.groups[gi];
                st::assign(g, id, ci, now, 1);
                effects.push(xclaim_effect(
                    key,
                    gr.group,
                    gr.consumer,
                    &id_arg(id),
                    now,
                    1,
                    g.last_id,
                ));
            }
        }
        if propagate_last_id {
            effects.push(setid_effect(key, gr.group, &s.groups[gi]));
        }
        Frame::Array(out)
    };
    for e in effects {
        ctx.effects.cmds.push((db, e));
    }
    ctx.changed();
    Some(reply)
}

/// One claimed entry in an XCLAIM/XAUTOCLAIM reply: its ID (JUSTID), the entry, or nil when
/// it was deleted meanwhile.
fn claimed_reply(s: &Stream, id: StreamId, justid: bool) -> Frame {
    if justid {
        return id_bulk(id);
    }
    match st::find(s, id) {
        Ok(p) => entry_frame(&s.entries[p]),
        Err(_) => Frame::Null,
    }
}

/// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID LASTID l`: the form
/// Redis propagates for any change to one PEL entry.
fn xclaim_effect(
    key: &Bytes,
    group: &Bytes,
    consumer: &[u8],
    id: &Bytes,
    time: i64,
    count: u64,
    last_id: StreamId,
) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XCLAIM"),
        key.clone(),
        group.clone(),
        Bytes::copy_from_slice(consumer),
        Bytes::from_static(b"0"),
        id.clone(),
        Bytes::from_static(b"TIME"),
        Bytes::from(time.to_string()),
        Bytes::from_static(b"RETRYCOUNT"),
        int_arg(count),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        id_arg(last_id),
    ]
}

/// `XGROUP SETID key group last-id ENTRIESREAD n`
fn setid_effect(key: &Bytes, group: &Bytes, g: &ferrodis_rdb::ConsumerGroup) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        key.clone(),
        group.clone(),
        id_arg(g.last_id),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(g.entries_read.map_or(-1, |n| n as i64).to_string()),
    ]
}

// ---------------------------------------------------------------------------------------
// XGROUP

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

fn subcommand_syntax(args: &[Bytes], parent: &str) -> CommandError {
    CommandError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {parent} HELP.",
        String::from_utf8_lossy(&args[1])
            .chars()
            .take(128)
            .collect::<String>()
    ))
}

fn parse_entries_read(a: &[u8]) -> Result<Option<u64>, CommandError> {
    let n = arg_i64(a)?;
    if n < 0 && n != -1 {
        return Err(CommandError::new(
            "ERR value for ENTRIESREAD must be positive or -1",
        ));
    }
    Ok(u64::try_from(n).ok())
}

/// `XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP ...`
fn xgroup(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    crate::util::check_subcommand(
        "xgroup",
        args,
        &[
            ("create", -5),
            ("setid", -5),
            ("destroy", 4),
            ("createconsumer", 5),
            ("delconsumer", 5),
            ("help", 2),
        ],
    )
    .map_err(CommandError::msg)?;
    let sub = &args[1];
    if is_kw(sub, "HELP") {
        return Ok(super::help_reply(XGROUP_HELP));
    }
    let mut mkstream = false;
    let mut entries_read: Option<u64> = None;
    if is_kw(sub, "CREATE") {
        let mut i = 5;
        while i < args.len() {
            if is_kw(&args[i], "MKSTREAM") {
                mkstream = true;
                i += 1;
            } else if is_kw(&args[i], "ENTRIESREAD") && i + 1 < args.len() {
                entries_read = parse_entries_read(&args[i + 1])?;
                i += 2;
            } else {
                return Err(subcommand_syntax(args, "XGROUP"));
            }
        }
    } else if is_kw(sub, "SETID") {
        if args.len() == 7 {
            if !is_kw(&args[5], "ENTRIESREAD") {
                return Err(subcommand_syntax(args, "XGROUP"));
            }
            entries_read = parse_entries_read(&args[6])?;
        } else if args.len() != 5 {
            return Err(subcommand_syntax(args, "XGROUP"));
        }
    }
    let key = &args[2];
    let gname = &args[3];
    let exists = write_stream(ctx, key)?.is_some();
    let mut has_group = false;
    if !mkstream {
        let Some(s) = write_stream(ctx, key)? else {
            return Err(CommandError::new("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."));
        };
        has_group = st::group_index(s, gname).is_some();
        if !has_group
            && (is_kw(sub, "SETID") || is_kw(sub, "CREATECONSUMER") || is_kw(sub, "DELCONSUMER"))
        {
            return Err(nogroup_for_key(gname, key));
        }
    }
    let now = ctx.now;
    if is_kw(sub, "CREATE") && args.len() <= 8 {
        let id = if &args[4][..] == b"$" {
            write_stream(ctx, key)?.map_or(StreamId::default(), |s| s.last_id)
        } else {
            parse_strict(&args[4])?
        };
        if !exists {
            // MKSTREAM: a new key, which Redis signals as modified.
            create_stream(ctx, key)?;
            ctx.changed();
        }
        let s = create_stream(ctx, key)?;
        if st::create_group(s, gname, id, entries_read) {
            if exists {
                unsignalled_change(ctx, 1, vec![args.to_vec()]);
            } else {
                ctx.changed();
            }
            ctx.notify(notify::STREAM, "xgroup-create", key);
            ok()
        } else {
            Err(CommandError::new(
                "BUSYGROUP Consumer Group name already exists",
            ))
        }
    } else if is_kw(sub, "SETID") && (args.len() == 5 || args.len() == 7) {
        let s = write_stream(ctx, key)?.ok_or(err::NO_KEY)?;
        let id = if &args[4][..] == b"$" {
            s.last_id
        } else {
            parse_id_full(&args[4], 0, false, false)?.0
        };
        let gi = st::group_index(s, gname).ok_or_else(|| nogroup_for_key(gname, key))?;
        s.groups[gi].last_id = id;
        s.groups[gi].entries_read = entries_read;
        unsignalled_change(ctx, 1, vec![args.to_vec()]);
        ctx.notify(notify::STREAM, "xgroup-setid", key);
        ok()
    } else if is_kw(sub, "DESTROY") && args.len() == 4 {
        if !has_group {
            return Ok(Frame::Integer(0));
        }
        let s = write_stream(ctx, key)?.ok_or(err::NO_KEY)?;
        if let Some(gi) = st::group_index(s, gname) {
            s.groups.remove(gi);
        }
        unsignalled_change(ctx, 1, vec![args.to_vec()]);
        // Clients blocked in XREADGROUP on this group must learn it is gone.
        if ctx.server.blocking.has_waiters() {
            ctx.server.blocking.signal(ctx.db(), key);
        }
        ctx.notify(notify::STREAM, "xgroup-destroy", key);
        Ok(Frame::Integer(1))
    } else if is_kw(sub, "CREATECONSUMER") && args.len() == 5 {
        let s = write_stream(ctx, key)?.ok_or(err::NO_KEY)?;
        let gi = st::group_index(s, gname).ok_or_else(|| nogroup_for_key(gname, key))?;
        let (_, created) = st::consumer_or_create(&mut s.groups[gi], &args[4], now);
        if created {
            unsignalled_change(ctx, 1, vec![args.to_vec()]);
            ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        }
        Ok(Frame::Integer(created as i64))
    } else if is_kw(sub, "DELCONSUMER") && args.len() == 5 {
        let s = write_stream(ctx, key)?.ok_or(err::NO_KEY)?;
        let gi = st::group_index(s, gname).ok_or_else(|| nogroup_for_key(gname, key))?;
        let g = &mut s.groups[gi];
        let pending = match st::consumer_index(g, &args[4]) {
            Some(ci) => st::delete_consumer(g, ci),
            None => 0,
        };
        unsignalled_change(ctx, 1, vec![args.to_vec()]);
        ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
        Ok(Frame::Integer(pending as i64))
    } else {
        Err(subcommand_syntax(args, "XGROUP"))
    }
}

// ---------------------------------------------------------------------------------------
// XACK / XPENDING / XCLAIM / XAUTOCLAIM

/// `XACK key group id [id ...]`
fn xack(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let found = match write_stream(ctx, &args[1])? {
        Some(s) => st::group_index(s, &args[2]).is_some(),
        None => false,
    };
    if !found {
        return Ok(Frame::Integer(0));
    }
    let ids = args[3..]
        .iter()
        .map(|a| parse_strict(a))
        .collect::<Result<Vec<_>, _>>()?;
    let s = write_stream(ctx, &args[1])?.ok_or(err::NO_KEY)?;
    let gi = st::group_index(s, &args[2]).ok_or(err::NO_KEY)?;
    let acked = ids
        .into_iter()
        .filter(|id| st::ack(&mut s.groups[gi], *id))
        .count();
    if acked > 0 {
        unsignalled_change(ctx, acked as u64, vec![args.to_vec()]);
    }
    Ok(Frame::Integer(acked as i64))
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
fn xpending(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let argc = args.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(err::SYNTAX);
    }
    let mut range: Option<(StreamId, StreamId, i64, Option<&Bytes>, i64)> = None;
    if argc >= 6 {
        let mut si = 3;
        let mut minidle = 0;
        if is_kw(&args[3], "IDLE") {
            minidle = arg_i64(&args[4])?;
            if argc < 8 {
                return Err(err::SYNTAX);
            }
            si += 2;
        }
        let count = arg_i64(&args[si + 2])?.max(0);
        let start = parse_bound(&args[si], 0, true)?;
        let end = parse_bound(&args[si + 1], u64::MAX, false)?;
        range = Some((start, end, count, args.get(si + 3), minidle));
    }
    let key = &args[1];
    let gname = &args[2];
    let now = ctx.now;
    let s = read_stream(ctx, key)?.ok_or_else(|| nogroup_key_group(key, gname))?;
    let g = &s.groups[st::group_index(s, gname).ok_or_else(|| nogroup_key_group(key, gname))?];
    let Some((start, end, mut count, consumer, minidle)) = range else {
        if g.pel.is_empty() {
            return Ok(Frame::Array(vec![
                Frame::Integer(0),
                Frame::Null,
                Frame::Null,
                Frame::NullArray,
            ]));
        }
        let per_consumer = g
            .consumers
            .iter()
            .filter(|c| !c.pending.is_empty())
            .map(|c| {
                Frame::Array(vec![
                    Frame::Bulk(Bytes::copy_from_slice(&c.name)),
                    Frame::Bulk(Bytes::from(c.pending.len().to_string())),
                ])
            })
            .collect();
        return Ok(Frame::Array(vec![
            Frame::Integer(g.pel.len() as i64),
            id_bulk(g.pel[0].id),
            id_bulk(g.pel[g.pel.len() - 1].id),
            Frame::Array(per_consumer),
        ]));
    };
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match st::consumer_index(g, name) {
            Some(ci) => g.consumers[ci].pending.clone(),
            None => return Ok(Frame::Array(Vec::new())),
        },
        None => g.pel.iter().map(|p| p.id).collect(),
    };
    let mut out = Vec::new();
    for id in ids.into_iter().filter(|id| *id >= start) {
        if count == 0 || id > end {
            break;
        }
        let Ok(p) = st::pel_find(g, id) else { continue };
        let pe = &g.pel[p];
        if minidle != 0 && now - pe.delivery_time_ms < minidle {
            continue;
        }
        count -= 1;
        let owner = st::owner(g, id).map_or(Frame::Null, |c| {
            Frame::Bulk(Bytes::copy_from_slice(&g.consumers[c].name))
        });
        out.push(Frame::Array(vec![
            id_bulk(id),
            owner,
            Frame::Integer((now - pe.delivery_time_ms).max(0)),
            Frame::Integer(pe.delivery_count as i64),
        ]));
    }
    Ok(Frame::Array(out))
}

fn claim_int(a: &[u8], what: &str) -> Result<i64, CommandError> {
    crate::util::parse_i64(a).ok_or_else(|| CommandError::msg(format!("ERR {what}")))
}

/// Gives PEL entry `id` (known to exist in the stream) to consumer `name` the way XCLAIM and
/// XAUTOCLAIM do; returns the consumer index and the entry's new delivery count.
fn claim_one(
    g: &mut ferrodis_rdb::ConsumerGroup,
    name: &[u8],
    id: StreamId,
    time: i64,
    count: Option<u64>,
    now: i64,
) -> (usize, u64, bool) {
    let (ci, created) = st::consumer_or_create(g, name, now);
    g.consumers[ci].seen_time_ms = now;
    let old = st::pel_find(g, id)
        .ok()
        .map_or(0, |p| g.pel[p].delivery_count);
    let n = count.unwrap_or(old);
    st::assign(g, id, ci, time, n);
    (ci, n, created)
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]`
fn xclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let gname = &args[2];
    {
        let s = read_stream(ctx, key)?.ok_or_else(|| nogroup_key_group(key, gname))?;
        st::group_index(s, gname).ok_or_else(|| nogroup_key_group(key, gname))?;
    }
    let minidle = claim_int(&args[4], "Invalid min-idle-time argument for XCLAIM")?.max(0);
    let mut j = 5;
    let mut ids = Vec::new();
    while j < args.len() {
        match parse_strict(&args[j]) {
            Ok(id) => ids.push((id, &args[j])),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now;
    let mut force = false;
    let mut justid = false;
    let mut delivery: Option<i64> = None;
    let mut retry: Option<i64> = None;
    let mut last_id = StreamId::default();
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j];
        if is_kw(opt, "FORCE") {
            force = true;
        } else if is_kw(opt, "JUSTID") {
            justid = true;
        } else if is_kw(opt, "IDLE") && more > 0 {
            j += 1;
            let idle = claim_int(&args[j], "Invalid IDLE option argument for XCLAIM")?;
            delivery = Some(now.wrapping_sub(idle));
        } else if is_kw(opt, "TIME") && more > 0 {
            j += 1;
            delivery = Some(claim_int(
                &args[j],
                "Invalid TIME option argument for XCLAIM",
            )?);
        } else if is_kw(opt, "RETRYCOUNT") && more > 0 {
            j += 1;
            retry = Some(claim_int(
                &args[j],
                "Invalid RETRYCOUNT option argument for XCLAIM",
            )?);
        } else if is_kw(opt, "LASTID") && more > 0 {
            j += 1;
            last_id = parse_strict(&args[j])?;
        } else {
            return Err(CommandError::msg(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                text(opt)
            )));
        }
        j += 1;
    }
    // A bogus time (negative, or in the future) becomes now rather than an error.
    let time = match delivery {
        Some(t) if (0..=now).contains(&t) => t,
        _ => now,
    };
    let s = write_stream(ctx, key)?.ok_or_else(|| nogroup_key_group(key, gname))?;
    let gi = st::group_index(s, gname).ok_or_else(|| nogroup_key_group(key, gname))?;
    let mut propagate_last_id = false;
    if last_id > s.groups[gi].last_id {
        s.groups[gi].last_id = last_id;
        propagate_last_id = true;
    }
    let mut effects = Vec::new();
    let mut out = Vec::new();
    let mut dirty = 0u64;
    let mut created_consumer = false;
    for (id, raw) in ids {
        let pel_pos = st::pel_find(&s.groups[gi], id).ok();
        if !st::exists(s, id) {
            // The entry is gone: drop it from the PEL too (and tell replicas).
            if let Some(p) = pel_pos {
                let g = &mut s.groups[gi];
                let pe = g.pel[p].clone();
                let owner = st::owner(g, id).map(|c| g.consumers[c].name.clone());
                effects.push(xclaim_effect(
                    key,
                    gname,
                    &owner.unwrap_or_default(),
                    raw,
                    pe.delivery_time_ms,
                    pe.delivery_count,
                    g.last_id,
                ));
                propagate_last_id = false;
                dirty += 1;
                st::ack(g, id);
            }
            continue;
        }
        let g = &mut s.groups[gi];
        let forced_new = pel_pos.is_none();
        if forced_new && !force {
            continue;
        }
        if !forced_new && minidle > 0 {
            let p = pel_pos.unwrap_or_default();
            if now - g.pel[p].delivery_time_ms < minidle {
                continue;
            }
        }
        // A NACK created by FORCE starts at one delivery, as Redis's `streamCreateNACK`.
        let old_count = pel_pos.map_or(1, |p| g.pel[p].delivery_count);
        let count = match retry {
            Some(r) if r >= 0 => r as u64,
            _ if justid => old_count,
            _ => old_count + 1,
        };
        let (ci, n, created) = claim_one(g, &args[3], id, time, Some(count), now);
        created_consumer |= created;
        let name = g.consumers[ci].name.clone();
        let gl = g.last_id;
        out.push(claimed_reply(s, id, justid));
        effects.push(xclaim_effect(key, gname, &name, raw, time, n, gl));
        propagate_last_id = false;
        dirty += 1;
    }
    if propagate_last_id {
        effects.push(setid_effect(key, gname, &s.groups[gi]));
        dirty += 1;
    }
    if created_consumer {
        dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    unsignalled_change(ctx, dirty, effects);
    Ok(Frame::Array(out))
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`
fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let gname = &args[2];
    let minidle = claim_int(&args[4], "Invalid min-idle-time argument for XAUTOCLAIM")?.max(0);
    let start = parse_bound(&args[5], 0, true)?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is_kw(&args[j], "COUNT") && more > 0 {
            // Redis bounds COUNT so that count * 10 attempts cannot overflow.
            let max = i64::MAX / 16;
            count = crate::util::parse_i64(&args[j + 1])
                .filter(|n| (1..=max).contains(n))
                .ok_or(CommandError::new("ERR COUNT must be > 0"))?;
            j += 1;
        } else if is_kw(&args[j], "JUSTID") {
            justid = true;
        } else {
            return Err(err::SYNTAX);
        }
        j += 1;
    }
    let now = ctx.now;
    let s = read_stream(ctx, key)?.ok_or_else(|| nogroup_key_group(key, gname))?;
    st::group_index(s, gname).ok_or_else(|| nogroup_key_group(key, gname))?;
    let s = write_stream(ctx, key)?.ok_or(err::NO_KEY)?;
    let gi = st::group_index(s, gname).ok_or(err::NO_KEY)?;
    let mut attempts = count.saturating_mul(10);
    let mut out = Vec::new();
    let mut deleted = Vec::new();
    let mut effects = Vec::new();
    let mut dirty = 0u64;
    let mut created_consumer = false;
    let mut cursor = start;
    let mut last_seen: Option<StreamId> = None;
    loop {
        if attempts == 0 || count == 0 {
            break;
        }
        attempts -= 1;
        let g = &s.groups[gi];
        let p = g.pel.partition_point(|pe| pe.id < cursor);
        let Some(pe) = g.pel.get(p).cloned() else {
            break;
        };
        let id = pe.id;
        last_seen = Some(id);
        cursor = st::incr(id).unwrap_or(MAX_ID);
        if !st::exists(s, id) {
            let g = &mut s.groups[gi];
            let owner = st::owner(g, id).map(|c| g.consumers[c].name.clone());
            effects.push(xclaim_effect(
                key,
                gname,
                &owner.unwrap_or_default(),
                &id_arg(id),
                pe.delivery_time_ms,
                pe.delivery_count,
                g.last_id,
            ));
            dirty += 1;
            st::ack(g, id);
            deleted.push(id_bulk(id));
            count -= 1;
            continue;
        }
        if minidle > 0 && now - pe.delivery_time_ms < minidle {
            continue;
        }
        let n = if justid {
            pe.delivery_count
        } else {
            pe.delivery_count + 1
        };
        let g = &mut s.groups[gi];
        let (ci, n, created) = claim_one(g, &args[3], id, now, Some(n), now);
        created_consumer |= created;
        let name = g.consumers[ci].name.clone();
        let gl = g.last_id;
        out.push(claimed_reply(s, id, justid));
        count -= 1;
        effects.push(xclaim_effect(key, gname, &name, &id_arg(id), now, n, gl));
        dirty += 1;
    }
    // The cursor is the first pending ID after the last one examined (0-0 at the end).
    let after = match last_seen {
        Some(id) => st::incr(id),
        None => Some(start),
    };
    let g = &s.groups[gi];
    let next = after
        .and_then(|a| g.pel.get(g.pel.partition_point(|pe| pe.id < a)))
        .map_or(StreamId::default(), |pe| pe.id);
    if created_consumer {
        dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
    }
    unsignalled_change(ctx, dirty, effects);
    Ok(Frame::Array(vec![
        id_bulk(next),
        Frame::Array(out),
        Frame::Array(deleted),
    ]))
}

// ---------------------------------------------------------------------------------------
// XINFO

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn field(name: &'static str) -> Frame {
    Frame::Bulk(Bytes::from_static(name.as_bytes()))
}

fn opt_int(v: Option<u64>) -> Frame {
    v.map_or(Frame::Null, |n| Frame::Integer(n as i64))
}

/// `XINFO STREAM key [FULL [COUNT count]] | GROUPS key | CONSUMERS key group | HELP`
fn xinfo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    crate::util::check_subcommand(
        "xinfo",
        args,
        &[("consumers", 4), ("groups", 3), ("stream", -3), ("help", 2)],
    )
    .map_err(CommandError::msg)?;
    let sub = &args[1];
    if is_kw(sub, "HELP") {
        return Ok(super::help_reply(XINFO_HELP));
    }
    let now = ctx.now;
    let key = &args[2];
    let lim = node_limits(ctx);
    let s = read_stream(ctx, key)?.ok_or(err::NO_KEY)?;
    if is_kw(sub, "CONSUMERS") {
        let g = &s.groups
            [st::group_index(s, &args[3]).ok_or_else(|| nogroup_for_key(&args[3], key))?];
        return Ok(Frame::Array(
            g.consumers
                .iter()
                .map(|c| {
                    Frame::Map(vec![
                        (field("name"), Frame::Bulk(Bytes::copy_from_slice(&c.name))),
                        (field("pending"), Frame::Integer(c.pending.len() as i64)),
                        (field("idle"), Frame::Integer((now - c.seen_time_ms).max(0))),
                    ])
                })
                .collect(),
        ));
    }
    if is_kw(sub, "GROUPS") {
        return Ok(Frame::Array(
            s.groups
                .iter()
                .map(|g| {
                    Frame::Map(vec![
                        (field("name"), Frame::Bulk(Bytes::copy_from_slice(&g.name))),
                        (field("consumers"), Frame::Integer(g.consumers.len() as i64)),
                        (field("pending"), Frame::Integer(g.pel.len() as i64)),
                        (field("last-delivered-id"), id_bulk(g.last_id)),
                        (field("entries-read"), opt_int(g.entries_read)),
                        (field("lag"), opt_int(st::lag(s, g))),
                    ])
                })
                .collect(),
        ));
    }
    // STREAM
    let opts = &args[3..];
    let mut full = false;
    let mut count: i64 = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !is_kw(&opts[0], "FULL") {
            return Err(subcommand_syntax(args, "XINFO"));
        }
        full = true;
        if opts.len() == 3 {
            if !is_kw(&opts[1], "COUNT") {
                return Err(subcommand_syntax(args, "XINFO"));
            }
            count = arg_i64(&opts[2])?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let (keys, nodes) = radix_estimate(s, lim);
    let mut m = vec![
        (field("length"), Frame::Integer(s.length as i64)),
        (field("radix-tree-keys"), Frame::Integer(keys)),
        (field("radix-tree-nodes"), Frame::Integer(nodes)),
        (field("last-generated-id"), id_bulk(s.last_id)),
        (field("max-deleted-entry-id"), id_bulk(s.max_deleted_id)),
        (
            field("entries-added"),
            Frame::Integer(s.entries_added as i64),
        ),
        (field("recorded-first-entry-id"), id_bulk(s.first_id)),
    ];
    if !full {
        m.push((field("groups"), Frame::Integer(s.groups.len() as i64)));
        m.push((
            field("first-entry"),
            s.entries.first().map_or(Frame::Null, entry_frame),
        ));
        m.push((
            field("last-entry"),
            s.entries.last().map_or(Frame::Null, entry_frame),
        ));
        return Ok(Frame::Map(m));
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    m.push((
        field("entries"),
        Frame::Array(s.entries.iter().take(limit).map(entry_frame).collect()),
    ));
    let groups = s
        .groups
        .iter()
        .map(|g| {
            let pel = g
                .pel
                .iter()
                .take(limit)
                .map(|pe| {
                    let owner = st::owner(g, pe.id).map_or(Frame::Null, |c| {
                        Frame::Bulk(Bytes::copy_from_slice(&g.consumers[c].name))
                    });
                    Frame::Array(vec![
                        id_bulk(pe.id),
                        owner,
                        Frame::Integer(pe.delivery_time_ms),
                        Frame::Integer(pe.delivery_count as i64),
                    ])
                })
                .collect();
            let consumers = g
                .consumers
                .iter()
                .map(|c| {
                    let pending = c
                        .pending
                        .iter()
                        .take(limit)
                        .map(|id| {
                            let (t, n) = st::pel_find(g, *id).ok().map_or((0, 0), |p| {
                                (g.pel[p].delivery_time_ms, g.pel[p].delivery_count)
                            });
                            Frame::Array(vec![
                                id_bulk(*id),
                                Frame::Integer(t),
                                Frame::Integer(n as i64),
                            ])
                        })
                        .collect();
                    Frame::Map(vec![
                        (field("name"), Frame::Bulk(Bytes::copy_from_slice(&c.name))),
                        (field("seen-time"), Frame::Integer(c.seen_time_ms)),
                        (field("pel-count"), Frame::Integer(c.pending.len() as i64)),
                        (field("pending"), Frame::Array(pending)),
                    ])
                })
                .collect();
            Frame::Map(vec![
                (field("name"), Frame::Bulk(Bytes::copy_from_slice(&g.name))),
                (field("last-delivered-id"), id_bulk(g.last_id)),
                (field("entries-read"), opt_int(g.entries_read)),
                (field("lag"), opt_int(st::lag(s, g))),
                (field("pel-count"), Frame::Integer(g.pel.len() as i64)),
                (field("pending"), Frame::Array(pel)),
                (field("consumers"), Frame::Array(consumers)),
            ])
        })
        .collect();
    m.push((field("groups"), Frame::Array(groups)));
    Ok(Frame::Map(m))
}

/// XINFO's `radix-tree-keys` / `radix-tree-nodes`.
fn radix_estimate(s: &Stream, lim: NodeLimits) -> (i64, i64) {
    let (keys, nodes) = st::radix_counts(s, lim);
    (keys as i64, nodes as i64)
}
