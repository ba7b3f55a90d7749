//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET, CLIENT.

use super::flags::*;
use super::{
    arg_i64, bulk, err, is_kw, ok, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec,
};
use crate::client::ReplyMode;
use bytes::Bytes;
use ferrodis_resp::Frame;
use std::sync::atomic::Ordering;

const NONE: KeySpec = KeySpec::NONE;

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("ping", -1, FAST | STALE, NONE, "connection", ping),
    spec("echo", 2, FAST | LOADING | STALE, NONE, "connection", echo),
    spec(
        "quit",
        -1,
        NO_AUTH | LOADING | STALE | FAST,
        NONE,
        "connection",
        quit,
    ),
    spec(
        "select",
        2,
        LOADING | STALE | FAST,
        NONE,
        "connection",
        select,
    ),
    spec(
        "auth",
        -2,
        NO_AUTH | LOADING | STALE | FAST | NO_MONITOR,
        NONE,
        "connection",
        auth,
    ),
    spec(
        "hello",
        -1,
        NO_AUTH | LOADING | STALE | FAST | NO_MONITOR,
        NONE,
        "connection",
        hello,
    ),
    spec(
        "reset",
        1,
        NO_AUTH | LOADING | STALE | FAST,
        NONE,
        "connection",
        reset,
    ),
    spec(
        "client",
        -2,
        ADMIN | LOADING | STALE,
        NONE,
        "connection",
        client,
    ),
];

/// `PING [message]`
fn ping(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.client.subscriptions > 0 && !ctx.client.resp3 && args.len() <= 2 {
        // RESP2 subscribed mode answers in the message format.
        let msg = args.get(1).cloned().unwrap_or_default();
        return Ok(Frame::Array(vec![Frame::bulk(b"pong"), Frame::Bulk(msg)]));
    }
    match args.len() {
        1 => Ok(Frame::simple("PONG")),
        2 => Ok(Frame::Bulk(args[1].clone())),
        _ => Err(CommandError::new(
            "ERR wrong number of arguments for 'ping' command",
        )),
    }
}

/// `ECHO message`
fn echo(_ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Bulk(args[1].clone()))
}

/// `QUIT`
fn quit(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.close_after_reply = true;
    ok()
}

/// `SELECT index`
fn select(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = crate::util::parse_i64(&args[1]).ok_or(err::NOT_INT)?;
    if n < 0 || n as usize >= ctx.server.keyspace.databases() {
        return Err(err::DB_INDEX);
    }
    ctx.client.db = n as usize;
    ctx.client.handle.db.store(n as usize, Ordering::Relaxed);
    ok()
}

/// Checks a user/password pair against `requirepass` (the default user is the only user).
fn check_auth(ctx: &Ctx, user: &[u8], pass: &[u8]) -> bool {
    let required = ctx.server.requirepass.read().clone();
    if user != b"default" {
        return false;
    }
    match required {
        None => true,
        Some(p) => p.as_ref() == pass,
    }
}

const WRONGPASS: CommandError =
    CommandError::new("WRONGPASS invalid username-password pair or user is disabled.");

/// `AUTH [username] password`
fn auth(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(err::SYNTAX);
    }
    let (user, pass) = if args.len() == 3 {
        (&args[1][..], &args[2][..])
    } else {
        if ctx.server.requirepass.read().is_none() {
            return Err(CommandError::new("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
        }
        (&b"default"[..], &args[1][..])
    };
    if check_auth(ctx, user, pass) {
        ctx.client.authenticated = true;
        ctx.client.user = String::from_utf8_lossy(user).into_owned();
        ok()
    } else {
        Err(WRONGPASS)
    }
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if args.len() >= 2 {
        let v = arg_i64(&args[1]).map_err(|_| {
            CommandError::new("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&v) {
            return Err(CommandError::new("NOPROTO unsupported protocol version"));
        }
        proto = Some(v);
        i = 2;
    }
    let mut setname = None;
    let mut authed = false;
    while i < args.len() {
        let more = args.len() - i - 1;
        if is_kw(&args[i], "AUTH") && more >= 2 {
            if !check_auth(ctx, &args[i + 1], &args[i + 2]) {
                return Err(WRONGPASS);
            }
            authed = true;
            i += 3;
        } else if is_kw(&args[i], "SETNAME") && more >= 1 {
            validate_name(&args[i + 1])?;
            setname = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Err(CommandError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&args[i])
            )));
        }
    }
    if authed {
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated {
        return Err(CommandError::new("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(n) = setname {
        *ctx.client.handle.name.lock() = if n.is_empty() { None } else { Some(n) };
    }
    if let Some(p) = proto {
        ctx.client.resp3 = p == 3;
        ctx.client.handle.resp.store(p as usize, Ordering::Relaxed);
    }
    let role = if ctx.is_replica() {
        "replica"
    } else {
        "master"
    };
    Ok(Frame::Map(vec![
        (Frame::bulk(b"server"), Frame::bulk(b"redis")),
        (
            Frame::bulk(b"version"),
            Frame::bulk(crate::REDIS_VERSION.as_bytes()),
        ),
        (
            Frame::bulk(b"proto"),
            Frame::Integer(if ctx.client.resp3 { 3 } else { 2 }),
        ),
        (Frame::bulk(b"id"), Frame::Integer(ctx.client.id as i64)),
        (Frame::bulk(b"mode"), Frame::bulk(b"standalone")),
        (Frame::bulk(b"role"), Frame::bulk(role.as_bytes())),
        (Frame::bulk(b"modules"), Frame::Array(vec![])),
    ]))
}

/// `RESET`
fn reset(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    crate::multi::discard(ctx.server, ctx.client);
    crate::pubsub::unsubscribe_all(ctx.server, ctx.client);
    let c = &mut *ctx.client;
    c.db = 0;
    c.handle.db.store(0, Ordering::Relaxed);
    c.resp3 = false;
    c.handle.resp.store(2, Ordering::Relaxed);
    c.reply_mode = ReplyMode::On;
    *c.handle.name.lock() = None;
    c.handle.no_evict.store(false, Ordering::Relaxed);
    if c.monitor {
        c.monitor = false;
        ctx.server.monitors.fetch_sub(1, Ordering::Relaxed);
    }
    let nopass = ctx.server.requirepass.read().is_none();
    ctx.client.authenticated = nopass;
    ctx.client.user = "default".into();
    Ok(Frame::simple("RESET"))
}

fn validate_name(n: &[u8]) -> Result<(), CommandError> {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CommandError::new(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn client_type(flags: &str) -> &'static str {
    if flags.contains('M') {
        "master"
    } else if flags.contains('S') {
        "replica"
    } else if flags.contains('P') {
        "pubsub"
    } else {
        "normal"
    }
}

fn parse_type(a: &[u8]) -> Result<&'static str, CommandError> {
    for t in ["normal", "master", "replica", "pubsub"] {
        if is_kw(a, t) {
            return Ok(t);
        }
    }
    if is_kw(a, "slave") {
        return Ok("replica");
    }
    Err(CommandError::msg(format!(
        "ERR Unknown client type '{}'",
        String::from_utf8_lossy(a)
    )))
}

/// `CLIENT <subcommand> ...`
fn client(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    crate::util::check_subcommand(
        "client",
        args,
        &[
            ("id", 2),
            ("setname", 3),
            ("getname", 2),
            ("list", -2),
            ("info", 2),
            ("kill", -3),
            ("no-evict", 3),
            ("reply", 3),
            ("help", 2),
            ("pause", -3),
            ("unpause", 2),
            ("tracking", -3),
            ("trackinginfo", 2),
            ("getredir", 2),
            ("caching", 3),
            ("unblock", -3),
        ],
    )
    .map_err(CommandError::msg)?;
    let sub = &args[1];
    let n = args.len();
    let unknown = || {
        CommandError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(sub)
        ))
    };
    let now = crate::util::now_ms();
    if is_kw(sub, "ID") && n == 2 {
        Ok(Frame::Integer(ctx.client.id as i64))
    } else if is_kw(sub, "SETNAME") && n == 3 {
        validate_name(&args[2])?;
        *ctx.client.handle.name.lock() = if args[2].is_empty() {
            None
        } else {
            Some(args[2].clone())
        };
        ok()
    } else if is_kw(sub, "GETNAME") && n == 2 {
        Ok(ctx
            .client
            .handle
            .name
            .lock()
            .clone()
            .map_or(Frame::Null, Frame::Bulk))
    } else if is_kw(sub, "INFO") && n == 2 {
        let line = ctx.client.handle.info_line(now) + "\n";
        Ok(Frame::Verbatim(
            Bytes::from_static(b"txt"),
            Bytes::from(line),
        ))
    } else if is_kw(sub, "LIST") {
        let mut ty = None;
        let mut ids: Option<Vec<u64>> = None;
        let mut i = 2;
        while i < n {
            if is_kw(&args[i], "TYPE") && i + 1 < n {
                ty = Some(parse_type(&args[i + 1])?);
                i += 2;
            } else if is_kw(&args[i], "ID") && i + 1 < n {
                let mut v = Vec::new();
                for a in &args[i + 1..] {
                    let id = crate::util::parse_i64(a)
                        .filter(|&x| x > 0)
                        .ok_or(CommandError::new("ERR Invalid client ID"))?;
                    v.push(id as u64);
                }
                ids = Some(v);
                i = n;
            } else {
                return Err(err::SYNTAX);
            }
        }
        let mut out = String::new();
        for h in ctx.server.clients.all() {
            if let Some(t) = ty {
                if client_type(&h.flags.lock()) != t {
                    continue;
                }
            }
            if let Some(ids) = &ids {
                if !ids.contains(&h.id) {
                    continue;
                }
            }
            out.push_str(&h.info_line(now));
            out.push('\n');
        }
        Ok(Frame::Verbatim(
            Bytes::from_static(b"txt"),
            Bytes::from(out),
        ))
    } else if is_kw(sub, "UNBLOCK") && (n == 3 || n == 4) {
        let id = crate::util::parse_i64(&args[2]).ok_or(CommandError::new(
            "ERR value is not an integer or out of range",
        ))?;
        let how = match args.get(3) {
            None => crate::blocking::UNBLOCK_TIMEOUT,
            Some(a) if is_kw(a, "TIMEOUT") => crate::blocking::UNBLOCK_TIMEOUT,
            Some(a) if is_kw(a, "ERROR") => crate::blocking::UNBLOCK_ERROR,
            Some(_) => {
                return Err(CommandError::new(
                    "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                ))
            }
        };
        let done = id > 0 && ctx.server.blocking.unblock(id as u64, how);
        Ok(Frame::Integer(done as i64))
    } else if is_kw(sub, "KILL") && n >= 3 {
        client_kill(ctx, args)
    } else if is_kw(sub, "NO-EVICT") && n == 3 {
        let on = if is_kw(&args[2], "ON") {
            true
        } else if is_kw(&args[2], "OFF") {
            false
        } else {
            return Err(err::SYNTAX);
        };
        ctx.client.handle.no_evict.store(on, Ordering::Relaxed);
        ok()
    } else if is_kw(sub, "REPLY") && n == 3 {
        if is_kw(&args[2], "ON") {
            ctx.client.reply_mode = ReplyMode::On;
            ok()
        } else if is_kw(&args[2], "OFF") {
            ctx.client.reply_mode = ReplyMode::Off;
            ok()
        } else if is_kw(&args[2], "SKIP") {
            ctx.client.reply_mode = ReplyMode::Skip;
            ok()
        } else {
            Err(err::SYNTAX)
        }
    } else if is_kw(sub, "HELP") && n == 2 {
        Ok(super::help_reply(&[
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME.",
            "LIST [options ...]",
            "    Return information about client connections. Options: TYPE, ID.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "HELP",
            "    Print this help.",
        ]))
    } else {
        Err(unknown())
    }
}

/// `CLIENT KILL ip:port` or `CLIENT KILL [ID id] [TYPE t] [USER u] [ADDR a] [LADDR a] [SKIPME yes/no]`
fn client_kill(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let me = ctx.client.id;
    if args.len() == 3 {
        let addr = &args[2];
        for h in ctx.server.clients.all() {
            if h.addr.as_bytes() == addr.as_ref() {
                h.kill();
                if h.id == me {
                    ctx.client.close_after_reply = true;
                }
                return ok();
            }
        }
        return Err(CommandError::new("ERR No such client"));
    }
    let (mut id, mut ty, mut user, mut addr, mut laddr) = (None, None, None, None, None);
    let mut skipme = true;
    let mut i = 2;
    while i < args.len() {
        let Some(v) = args.get(i + 1) else {
            return Err(err::SYNTAX);
        };
        let k = &args[i];
        if is_kw(k, "ID") {
            id = Some(
                crate::util::parse_i64(v)
                    .filter(|&x| x > 0)
                    .ok_or(CommandError::new("ERR client-id should be greater than 0"))?
                    as u64,
            );
        } else if is_kw(k, "TYPE") {
            ty = Some(parse_type(v)?);
        } else if is_kw(k, "USER") {
            user = Some(v.clone());
        } else if is_kw(k, "ADDR") {
            addr = Some(v.clone());
        } else if is_kw(k, "LADDR") {
            laddr = Some(v.clone());
        } else if is_kw(k, "SKIPME") {
            skipme = if is_kw(v, "YES") {
                true
            } else if is_kw(v, "NO") {
                false
            } else {
                return Err(err::SYNTAX);
            };
        } else {
            return Err(err::SYNTAX);
        }
        i += 2;
    }
    let mut killed = 0;
    for h in ctx.server.clients.all() {
        if id.is_some_and(|x| x != h.id)
            || ty.is_some_and(|t| client_type(&h.flags.lock()) != t)
            || user.as_ref().is_some_and(|u| u.as_ref() != b"default")
            || addr
                .as_ref()
                .is_some_and(|a| a.as_ref() != h.addr.as_bytes())
            || laddr
                .as_ref()
                .is_some_and(|a| a.as_ref() != h.laddr.as_bytes())
        {
            continue;
        }
        if h.id == me {
            if skipme {
                continue;
            }
            ctx.client.close_after_reply = true;
        }
        h.kill();
        killed += 1;
    }
    Ok(Frame::Integer(killed))
}

#[allow(dead_code)]
fn unused(b: &[u8]) -> Frame {
    bulk(b)
}
