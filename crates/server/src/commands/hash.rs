//! Hash commands. The representation (listpack / hashtable) is in `keyspace/types/hash.rs`.

use super::flags::*;
use super::keys::parse_cursor;
use super::typed::{read, write, write_or_create};
use super::{arg_i64, bulk, err, is_kw, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::keyspace::types::{Hash, Limits};
use crate::ldouble;
use crate::util::{glob_match, parse_i64};
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;
use rand::Rng;

const K1: KeySpec = KeySpec::ONE;

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("hset", -4, WRITE | DENYOOM | FAST, K1, "hash", hset),
    spec("hmset", -4, WRITE | DENYOOM | FAST, K1, "hash", hmset),
    spec("hsetnx", 4, WRITE | DENYOOM | FAST, K1, "hash", hsetnx),
    spec("hget", 3, READONLY | FAST, K1, "hash", hget),
    spec("hmget", -3, READONLY | FAST, K1, "hash", hmget),
    spec("hdel", -3, WRITE | FAST, K1, "hash", hdel),
    spec("hlen", 2, READONLY | FAST, K1, "hash", hlen),
    spec("hstrlen", 3, READONLY | FAST, K1, "hash", hstrlen),
    spec("hexists", 3, READONLY | FAST, K1, "hash", hexists),
    spec("hkeys", 2, READONLY, K1, "hash", hkeys),
    spec("hvals", 2, READONLY, K1, "hash", hvals),
    spec("hgetall", 2, READONLY, K1, "hash", hgetall),
    spec("hincrby", 4, WRITE | DENYOOM | FAST, K1, "hash", hincrby),
    spec(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        K1,
        "hash",
        hincrbyfloat,
    ),
    spec("hrandfield", -2, READONLY, K1, "hash", hrandfield),
    spec("hscan", -3, READONLY, K1, "hash", hscan),
];

fn limits(ctx: &Ctx) -> Limits {
    Limits::hash(&ctx.server.config.read())
}

fn hset_generic(ctx: &mut Ctx, args: &[Bytes], name: &str) -> Result<i64, CommandError> {
    if args.len() % 2 != 0 {
        return Err(CommandError::msg(format!(
            "ERR wrong number of arguments for '{name}' command"
        )));
    }
    let lim = limits(ctx);
    let h = write_or_create::<Hash>(ctx, &args[1])?;
    let mut added = 0;
    for fv in args[2..].chunks(2) {
        added += h.set(&fv[0], &fv[1], &lim) as i64;
    }
    ctx.changed();
    ctx.notify(notify::HASH, "hset", &args[1]);
    Ok(added)
}

/// `HSET key field value [field value ...]`
fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    hset_generic(ctx, args, "hset").map(Frame::Integer)
}

/// `HMSET key field value [field value ...]`
fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    hset_generic(ctx, args, "hmset").map(|_| Frame::ok())
}

/// `HSETNX key field value`
fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if write::<Hash>(ctx, &args[1])?.is_some_and(|h| h.contains(&args[2])) {
        return Ok(Frame::Integer(0));
    }
    let lim = limits(ctx);
    write_or_create::<Hash>(ctx, &args[1])?.set(&args[2], &args[3], &lim);
    ctx.changed();
    ctx.notify(notify::HASH, "hset", &args[1]);
    Ok(Frame::Integer(1))
}

/// `HGET key field`
fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(read::<Hash>(ctx, &args[1])?
        .and_then(|h| h.get(&args[2]))
        .map_or(Frame::Null, bulk))
}

/// `HMGET key field [field ...]`
fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let h = read::<Hash>(ctx, &args[1])?;
    Ok(Frame::Array(
        args[2..]
            .iter()
            .map(|f| h.and_then(|h| h.get(f)).map_or(Frame::Null, bulk))
            .collect(),
    ))
}

/// `HDEL key field [field ...]`
fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(h) = write::<Hash>(ctx, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let mut n = 0;
    for f in &args[2..] {
        n += h.remove(f) as i64;
    }
    let empty = h.is_empty();
    if empty {
        ctx.table(&args[1]).remove(&args[1]);
    }
    if n > 0 {
        ctx.changed();
        ctx.notify(notify::HASH, "hdel", &args[1]);
        if empty {
            ctx.notify(notify::GENERIC, "del", &args[1]);
        }
    }
    Ok(Frame::Integer(n))
}

/// `HLEN key`
fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read::<Hash>(ctx, &args[1])?.map_or(0, |h| h.len()) as i64,
    ))
}

/// `HSTRLEN key field`
fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read::<Hash>(ctx, &args[1])?
            .and_then(|h| h.get(&args[2]))
            .map_or(0, |v| v.len()) as i64,
    ))
}

/// `HEXISTS key field`
fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read::<Hash>(ctx, &args[1])?.is_some_and(|h| h.contains(&args[2])) as i64,
    ))
}

/// `HKEYS key`
fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Array(
        read::<Hash>(ctx, &args[1])?
            .map_or_else(Vec::new, |h| h.iter().map(|(f, _)| bulk(f)).collect()),
    ))
}

/// `HVALS key`
fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Array(
        read::<Hash>(ctx, &args[1])?
            .map_or_else(Vec::new, |h| h.iter().map(|(_, v)| bulk(v)).collect()),
    ))
}

/// `HGETALL key` (a map in RESP3)
fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Map(
        read::<Hash>(ctx, &args[1])?.map_or_else(Vec::new, |h| {
            h.iter().map(|(f, v)| (bulk(f), bulk(v))).collect()
        }),
    ))
}

/// `HINCRBY key field increment`
fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = arg_i64(&args[3])?;
    let cur = match write::<Hash>(ctx, &args[1])?.and_then(|h| h.get(&args[2])) {
        None => 0,
        Some(v) => parse_i64(v).ok_or(CommandError::new("ERR hash value is not an integer"))?,
    };
    let new = cur.checked_add(by).ok_or(err::OVERFLOW)?;
    let lim = limits(ctx);
    write_or_create::<Hash>(ctx, &args[1])?.set(
        &args[2],
        itoa::Buffer::new().format(new).as_bytes(),
        &lim,
    );
    ctx.changed();
    ctx.notify(notify::HASH, "hincrby", &args[1]);
    Ok(Frame::Integer(new))
}

/// `HINCRBYFLOAT key field increment` (propagated as `HSET key field result`). Computed in
/// emulated x87 `long double`, as Redis does on x86-64 (see [`crate::ldouble`]).
fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let by = ldouble::parse_hash_increment(&args[3]).map_err(CommandError::new)?;
    let cur = write::<Hash>(ctx, &args[1])?.and_then(|h| h.get(&args[2]));
    let s = ldouble::hincr_by_float(cur, by).map_err(CommandError::new)?;
    let lim = limits(ctx);
    write_or_create::<Hash>(ctx, &args[1])?.set(&args[2], s.as_bytes(), &lim);
    ctx.propagate(vec![
        Bytes::from_static(b"HSET"),
        args[1].clone(),
        args[2].clone(),
        Bytes::from(s.clone()),
    ]);
    ctx.changed();
    ctx.notify(notify::HASH, "hincrbyfloat", &args[1]);
    Ok(Frame::Bulk(Bytes::from(s)))
}

/// Parses a random-count argument as Redis 7.0 does (`-LONG_MAX..=LONG_MAX`).
pub(crate) fn rand_count(a: &[u8]) -> Result<(usize, bool), CommandError> {
    let l = arg_i64(a)?;
    if l == i64::MIN {
        return Err(CommandError::new("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    Ok((l.unsigned_abs() as usize, l < 0))
}

/// Picks `count` positions out of `len`: with repeats when `dups`, otherwise distinct
/// positions (all of them, in storage order, when `count >= len`).
pub(crate) fn pick_positions(len: usize, count: usize, dups: bool) -> Vec<usize> {
    let mut rng = rand::thread_rng();
    if len == 0 || count == 0 {
        return Vec::new();
    }
    if dups {
        return (0..count).map(|_| rng.gen_range(0..len)).collect();
    }
    if count >= len {
        return (0..len).collect();
    }
    rand::seq::index::sample(&mut rng, len, count).into_vec()
}

/// `HRANDFIELD key [count [WITHVALUES]]`
fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let resp3 = ctx.client.resp3;
    if args.len() == 2 {
        let Some(h) = read::<Hash>(ctx, &args[1])? else {
            return Ok(Frame::Null);
        };
        let i = rand::thread_rng().gen_range(0..h.len().max(1));
        return Ok(h.at(i).map_or(Frame::Null, |(f, _)| bulk(f)));
    }
    let withvalues = args.len() == 4;
    if args.len() > 4 || (withvalues && !is_kw(&args[3], "WITHVALUES")) {
        return Err(err::SYNTAX);
    }
    let (count, dups) = rand_count(&args[2])?;
    let Some(h) = read::<Hash>(ctx, &args[1])? else {
        return Ok(Frame::Array(vec![]));
    };
    let pairs: Vec<(&[u8], &[u8])> = match h {
        Hash::Packed(_) => h.iter().collect(),
        Hash::Table(_) => Vec::new(),
    };
    let get = |i: usize| -> Option<(&[u8], &[u8])> {
        if pairs.is_empty() {
            h.at(i)
        } else {
            pairs.get(i).copied()
        }
    };
    let mut out = Vec::new();
    for i in pick_positions(h.len(), count, dups) {
        if let Some((f, v)) = get(i) {
            if withvalues && resp3 {
                out.push(Frame::Array(vec![bulk(f), bulk(v)]));
            } else {
                out.push(bulk(f));
                if withvalues {
                    out.push(bulk(v));
                }
            }
        }
    }
    Ok(Frame::Array(out))
}

/// Parsed `[MATCH pattern] [COUNT count]` of the *SCAN commands.
pub(crate) struct ScanOpts {
    /// MATCH pattern.
    pub pattern: Option<Bytes>,
    /// COUNT.
    pub count: usize,
}

impl ScanOpts {
    /// Parses options starting at `args[from]`.
    pub fn parse(args: &[Bytes], from: usize) -> Result<ScanOpts, CommandError> {
        let mut o = ScanOpts {
            pattern: None,
            count: 10,
        };
        let mut i = from;
        while i < args.len() {
            let v = args.get(i + 1).ok_or(err::SYNTAX)?;
            if is_kw(&args[i], "MATCH") {
                o.pattern = Some(v.clone());
            } else if is_kw(&args[i], "COUNT") {
                let c = arg_i64(v)?;
                if c < 1 {
                    return Err(err::SYNTAX);
                }
                o.count = c as usize;
            } else {
                return Err(err::SYNTAX);
            }
            i += 2;
        }
        Ok(o)
    }

    /// True when `s` passes MATCH.
    pub fn keep(&self, s: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .map_or(true, |p| p.as_ref() == b"*" || glob_match(p, s, false))
    }
}

/// The `[cursor, [items]]` reply.
pub(crate) fn scan_reply(next: u64, items: Vec<Frame>) -> Frame {
    Frame::Array(vec![
        Frame::Bulk(Bytes::from(next.to_string())),
        Frame::Array(items),
    ])
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[2])?;
    let Some(h) = read::<Hash>(ctx, &args[1])? else {
        return Ok(scan_reply(0, vec![]));
    };
    let o = ScanOpts::parse(args, 3)?;
    let (next, pairs) = h.scan(cursor, o.count);
    let mut out = Vec::new();
    for (f, v) in pairs {
        if o.keep(f) {
            out.push(bulk(f));
            out.push(bulk(v));
        }
    }
    Ok(scan_reply(next, out))
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::client::Client;
    use crate::dispatch::{run, LocalStats};
    use crate::Server;
    use bytes::Bytes;
    use ferrodis_resp::Frame;
    use std::sync::Arc;

    /// A server and a client for running commands without sockets.
    pub struct Harness {
        pub server: Arc<Server>,
        pub client: Client,
    }

    impl Harness {
        pub fn new() -> Self {
            let server = Server::new(ferrodis_config::Config::default());
            let handle = server.clients.register("t".into(), "t".into(), -1);
            Harness {
                client: Client::new(handle, true),
                server,
            }
        }

        /// Runs a command; the reply's text, or "ERR..." text.
        pub fn run(&mut self, cmd: &str) -> Frame {
            let args: Vec<Bytes> = cmd
                .split_whitespace()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect();
            match run(
                &self.server,
                &mut self.client,
                &args,
                &mut LocalStats::default(),
            ) {
                Ok(f) => f,
                Err(e) => Frame::Error(Bytes::from(e.0.into_owned())),
            }
        }

        /// Runs and renders RESP2 bytes as a string.
        pub fn s(&mut self, cmd: &str) -> String {
            String::from_utf8_lossy(&self.run(cmd).to_bytes(false)).into_owned()
        }
    }

    #[test]
    fn hash_basics() {
        let mut h = Harness::new();
        assert_eq!(h.s("HSET h a 1 b 2"), ":2\r\n");
        assert_eq!(h.s("HSET h a 3"), ":0\r\n");
        assert_eq!(h.s("HGET h a"), "$1\r\n3\r\n");
        assert_eq!(h.s("HINCRBY h a 5"), ":8\r\n");
        assert_eq!(h.s("HINCRBYFLOAT h a 0.5"), "$3\r\n8.5\r\n");
        assert_eq!(
            h.s("HINCRBY h a 1"),
            "-ERR hash value is not an integer\r\n"
        );
        assert_eq!(
            h.s("HSET h a"),
            "-ERR wrong number of arguments for 'hset' command\r\n"
        );
        assert_eq!(h.s("OBJECT ENCODING h"), "$8\r\nlistpack\r\n");
        assert_eq!(h.s("HDEL h a b c"), ":2\r\n");
        assert_eq!(h.s("EXISTS h"), ":0\r\n");
        h.run("SET s x");
        assert!(h.s("HGET s a").starts_with("-WRONGTYPE"));
        for i in 0..600 {
            h.run(&format!("HSET big f{i} v"));
        }
        assert_eq!(h.s("OBJECT ENCODING big"), "$9\r\nhashtable\r\n");
        assert_eq!(h.s("HLEN big"), ":600\r\n");
    }
}
