//! Persistence commands: SAVE, BGSAVE, DUMP, RESTORE.

use super::flags::*;
use super::{err, is_kw, ok, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::keyspace::{Entry, SmallBytes, Value};
use bytes::Bytes;
use ferrodis_resp::Frame;

const NONE: KeySpec = KeySpec::NONE;
const K1: KeySpec = KeySpec::ONE;

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("save", 1, ADMIN | NO_MULTI, NONE, "server", save),
    spec("bgsave", -1, ADMIN, NONE, "server", bgsave),
    spec("dump", 2, READONLY, K1, "generic", dump),
    spec("restore", -4, WRITE | DENYOOM, K1, "generic", restore),
];

/// `SAVE`
fn save(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    crate::persistence::save(ctx.server).map_err(CommandError::msg)?;
    ok()
}

/// `BGSAVE [SCHEDULE]`
fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if is_kw(&args[1], "SCHEDULE") => true,
        _ => return Err(err::SYNTAX),
    };
    let server = ctx
        .server
        .arc()
        .ok_or(CommandError::new("ERR server is shutting down"))?;
    match crate::persistence::bgsave(&server) {
        Ok(()) => Ok(Frame::simple("Background saving started")),
        Err(_) if schedule => {
            server
                .persist
                .bgsave_scheduled
                .store(true, std::sync::atomic::Ordering::Release);
            Ok(Frame::simple("Background saving scheduled"))
        }
        Err(e) => Err(CommandError::new(e)),
    }
}

/// Converts a keyspace value into the RDB crate's model.
pub(crate) fn to_rdb(v: &Value) -> ferrodis_rdb::Value {
    use ferrodis_rdb::Value as R;
    match v {
        Value::Str(s) => R::String(s.to_vec()),
        Value::List(l) => R::List(l.iter().map(<[u8]>::to_vec).collect()),
        Value::Hash(h) => R::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        Value::Set(s) => R::Set(s.iter().map(|m| m.into_owned()).collect()),
        Value::ZSet(z) => R::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
        Value::Stream(s) => R::Stream(s.clone()),
    }
}

/// `DUMP key`
fn dump(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(e) = ctx.lookup_read(&args[1]) else {
        return Ok(Frame::Null);
    };
    Ok(Frame::Bulk(Bytes::from(ferrodis_rdb::dump_payload(
        &to_rdb(&e.value),
    ))))
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`
fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None::<i64>, None::<i64>);
    let mut i = 4;
    while i < args.len() {
        let a = &args[i];
        if is_kw(a, "REPLACE") {
            replace = true;
        } else if is_kw(a, "ABSTTL") {
            absttl = true;
        } else if is_kw(a, "IDLETIME") && i + 1 < args.len() && freq.is_none() {
            let v = crate::util::parse_i64(&args[i + 1]).ok_or(err::NOT_INT)?;
            if v < 0 {
                return Err(CommandError::new(
                    "ERR Invalid IDLETIME value, must be >= 0",
                ));
            }
            idle = Some(v);
            i += 1;
        } else if is_kw(a, "FREQ") && i + 1 < args.len() && idle.is_none() {
            let v = crate::util::parse_i64(&args[i + 1]).ok_or(err::NOT_INT)?;
            if !(0..=255).contains(&v) {
                return Err(CommandError::new(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(v);
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    let ttl = crate::util::parse_i64(&args[2]).ok_or(err::NOT_INT)?;
    if ttl < 0 {
        return Err(CommandError::new("ERR Invalid TTL value, must be >= 0"));
    }
    if !replace && ctx.lookup_write(key).is_some() {
        return Err(CommandError::new("BUSYKEY Target key name already exists."));
    }
    let value = match ferrodis_rdb::parse_dump_payload(&args[3]) {
        Ok(v) => v,
        Err(e) if matches!(e.kind, ferrodis_rdb::ErrorKind::DumpVersionOrChecksum) => {
            return Err(CommandError::new(
                "ERR DUMP payload version or checksum are wrong",
            ))
        }
        Err(_) => return Err(CommandError::new("ERR Bad data format")),
    };
    let cfg = ctx.server.config.read().clone();
    let Some(value) = crate::persistence::load::convert(value, &cfg) else {
        return Err(CommandError::new("ERR Bad data format"));
    };
    let expire_at = if ttl == 0 {
        0
    } else if absttl {
        ttl
    } else {
        ttl.checked_add(ctx.now)
            .ok_or(CommandError::new("ERR Invalid TTL value, must be >= 0"))?
    };
    let replica = ctx.is_replica();
    if expire_at != 0 && expire_at <= ctx.now && !replica {
        // Already expired: only the deletion of the old key (if any) happens.
        if ctx.table(key).remove(key).is_some() {
            ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
            ctx.changed();
        } else {
            ctx.custom_propagation = true;
        }
        return ok();
    }
    ctx.table(key).remove(key);
    let access = crate::keyspace::access::from_rdb(idle.map(|v| v as u64), freq.map(|v| v as u8));
    ctx.table(key).insert(Entry {
        key: SmallBytes::new(key),
        value,
        expire_at,
        access,
    });
    if expire_at != 0 && !absttl {
        let mut argv = args.to_vec();
        argv[2] = Bytes::from(crate::util::i64_bytes(expire_at));
        argv.push(Bytes::from_static(b"ABSTTL"));
        ctx.propagate(argv);
    }
    ctx.changed();
    ok()
}
