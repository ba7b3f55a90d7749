//! Directives with their own syntax: `save`, `bind`, `replicaof`, `client-output-buffer-limit`,
//! `notify-keyspace-events`, `dir`, `unixsocketperm`, `oom-score-adj-values`,
//! `latency-tracking-info-percentiles`, `cluster-enabled`.
//!
//! Each setter receives the words after the directive name (from a file line, or a CONFIG SET
//! value split on single spaces) and returns Redis's reason text on error.

use crate::model::{notify, BufferLimit, Config, ReplicaOf, SavePoint};
use crate::table::ApplyCtx;
use crate::values::*;
use std::path::{Path, PathBuf};

type SetResult = Result<(), String>;

fn one(args: &[Vec<u8>]) -> Result<&[u8], String> {
    match args {
        [v] => Ok(v),
        _ => Err("wrong number of arguments".to_string()),
    }
}

/// A stored-only value (kept in `Config::other`) or its default.
pub(crate) fn get_other(c: &Config, name: &str, default: &str) -> String {
    c.other
        .get(name)
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn put_other(c: &mut Config, name: &'static str, default: &str, value: String) {
    if value == default {
        c.other.remove(name);
    } else {
        c.other.insert(name, value);
    }
}

// --- save

pub(crate) fn get_save(c: &Config) -> String {
    let parts: Vec<String> = c
        .save
        .iter()
        .map(|p| format!("{} {}", p.seconds, p.changes))
        .collect();
    parts.join(" ")
}

pub(crate) fn set_save(c: &mut Config, args: &[Vec<u8>], ctx: &mut ApplyCtx) -> SetResult {
    // `save ""` is "no save points" (and resets whatever earlier lines set).
    let args: &[Vec<u8>] = if args.len() == 1 && args[0].is_empty() {
        c.save.clear();
        &[]
    } else {
        args
    };
    const BAD: &str = "Invalid save parameters";
    if args.len() % 2 != 0 {
        return Err(BAD.to_string());
    }
    let mut points = Vec::with_capacity(args.len() / 2);
    for pair in args.chunks(2) {
        let seconds = parse_c_long(&pair[0]).filter(|&s| s >= 1).ok_or(BAD)?;
        let changes = parse_c_long(&pair[1]).filter(|&n| n >= 0).ok_or(BAD)?;
        points.push(SavePoint {
            seconds: seconds as u64,
            changes: changes as u64,
        });
    }
    // In a file the first `save` line replaces the built-in points and later lines add to it;
    // CONFIG SET always replaces.
    if !ctx.from_file || !ctx.save_loaded {
        c.save.clear();
        ctx.save_loaded = true;
    }
    c.save.extend(points);
    Ok(())
}

pub(crate) fn rewrite_save(c: &Config) -> Option<Vec<String>> {
    if c.save.is_empty() {
        return Some(vec!["save \"\"".to_string()]);
    }
    Some(
        c.save
            .iter()
            .map(|p| format!("save {} {}", p.seconds, p.changes))
            .collect(),
    )
}

// --- bind

pub(crate) fn set_bind(c: &mut Config, args: &[Vec<u8>], _: &mut ApplyCtx) -> SetResult {
    let args = if args.len() == 1 && args[0].is_empty() {
        &[][..]
    } else {
        args
    };
    if args.len() > 16 {
        return Err("Too many bind addresses specified.".to_string());
    }
    c.bind = args.iter().map(|a| text(a)).collect();
    Ok(())
}

pub(crate) fn rewrite_bind(c: &Config) -> Option<Vec<String>> {
    if c.bind.is_empty() {
        Some(vec!["bind \"\"".to_string()])
    } else {
        Some(vec![format!("bind {}", c.bind.join(" "))])
    }
}

// --- unixsocketperm

pub(crate) fn set_unixsocketperm(c: &mut Config, args: &[Vec<u8>], _: &mut ApplyCtx) -> SetResult {
    let v = one(args)?;
    let s = std::str::from_utf8(v)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b)));
    let n = s
        .and_then(|s| u32::from_str_radix(s, 8).ok())
        .ok_or("argument couldn't be parsed as an octal number")?;
    if n > 0o777 {
        return Err("argument must be between 0 and 777 inclusive".to_string());
    }
    c.unixsocketperm = n;
    Ok(())
}

pub(crate) fn rewrite_unixsocketperm(c: &Config) -> Option<Vec<String>> {
    Some(vec![format!("unixsocketperm {:o}", c.unixsocketperm)])
}

// --- client-output-buffer-limit

const COBL_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

fn cobl_class(c: &Config, i: usize) -> BufferLimit {
    let l = &c.client_output_buffer_limit;
    [l.normal, l.replica, l.pubsub][i]
}

pub(crate) fn get_cobl(c: &Config) -> String {
    let parts: Vec<String> = (0..3)
        .map(|i| {
            let b = cobl_class(c, i);
            format!(
                "{} {} {} {}",
                COBL_CLASSES[i], b.hard, b.soft, b.soft_seconds
            )
        })
        .collect();
    parts.join(" ")
}

pub(crate) fn set_cobl(c: &mut Config, args: &[Vec<u8>], _: &mut ApplyCtx) -> SetResult {
    if args.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".to_string());
    }
    let mut updates = Vec::new();
    for group in args.chunks(4) {
        let class = group[0].to_ascii_lowercase();
        let idx = match class.as_slice() {
            b"normal" => 0,
            b"slave" | b"replica" => 1,
            b"pubsub" => 2,
            _ => {
                return Err(
                    "Invalid client class specified in buffer limit configuration.".to_string(),
                )
            }
        };
        let bad = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = parse_memory(&group[1]).ok_or(bad)?;
        let soft = parse_memory(&group[2]).ok_or(bad)?;
        let secs = parse_c_long(&group[3]).filter(|&s| s >= 0).ok_or(bad)?;
        updates.push((
            idx,
            BufferLimit {
                hard,
                soft,
                soft_seconds: secs as u64,
            },
        ));
    }
    let l = &mut c.client_output_buffer_limit;
    for (idx, b) in updates {
        *[&mut l.normal, &mut l.replica, &mut l.pubsub][idx] = b;
    }
    Ok(())
}

pub(crate) fn rewrite_cobl(c: &Config) -> Option<Vec<String>> {
    let defaults = Config::default();
    let lines = (0..3)
        .filter(|&i| cobl_class(c, i) != cobl_class(&defaults, i))
        .map(|i| {
            let b = cobl_class(c, i);
            format!(
                "client-output-buffer-limit {} {} {} {}",
                COBL_CLASSES[i],
                fmt_memory_rewrite(b.hard),
                fmt_memory_rewrite(b.soft),
                b.soft_seconds
            )
        })
        .collect();
    Some(lines)
}

// --- notify-keyspace-events

const NOTIFY_LETTERS: [(u8, u32); 11] = [
    (b'g', notify::GENERIC),
    (b'$', notify::STRING),
    (b'l', notify::LIST),
    (b's', notify::SET),
    (b'h', notify::HASH),
    (b'z', notify::ZSET),
    (b'x', notify::EXPIRED),
    (b'e', notify::EVICTED),
    (b't', notify::STREAM),
    (b'd', notify::MODULE),
    (b'n', notify::NEW),
];

/// Parses Redis's event-class letters (`Ag$lshzxeKEtmdn`) into [`notify`] bits.
pub fn parse_notify(s: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &ch in s {
        flags |= match ch {
            b'A' => notify::ALL,
            b'K' => notify::KEYSPACE,
            b'E' => notify::KEYEVENT,
            b'm' => notify::KEY_MISS,
            _ => NOTIFY_LETTERS.iter().find(|(l, _)| *l == ch)?.1,
        };
    }
    Some(flags)
}

/// Formats [`notify`] bits as CONFIG GET does: `A` when all of `g$lshzxetd` are set (and then,
/// like Redis 7.0, without `n`), else the single letters; then `K`, `E`, `m`.
pub fn fmt_notify(flags: u32) -> String {
    let mut out = String::new();
    if flags & notify::ALL == notify::ALL {
        out.push('A');
    } else {
        for (l, bit) in NOTIFY_LETTERS {
            if flags & bit != 0 {
                out.push(char::from(l));
            }
        }
    }
    for (l, bit) in [
        ('K', notify::KEYSPACE),
        ('E', notify::KEYEVENT),
        ('m', notify::KEY_MISS),
    ] {
        if flags & bit != 0 {
            out.push(l);
        }
    }
    out
}

pub(crate) fn set_notify(c: &mut Config, args: &[Vec<u8>], _: &mut ApplyCtx) -> SetResult {
    let v = one(args)?;
    c.notify_keyspace_events =
        parse_notify(v).ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
    Ok(())
}

// --- dir

/// The OS error text without Rust's " (os error N)" suffix, like C's `strerror`.
pub(crate) fn os_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

pub(crate) fn set_dir(c: &mut Config, args: &[Vec<u8>], _: &mut ApplyCtx) -> SetResult {
    let v = one(args)?;
    let p = PathBuf::from(text(v));
    // Redis chdir()s at once, so a relative `dir` is relative to the previous one.
    let joined = if p.is_absolute() { p } else { c.dir.join(p) };
    let abs = std::fs::canonicalize(&joined).map_err(|e| os_reason(&e))?;
    if !Path::is_dir(&abs) {
        return Err("Not a directory".to_string());
    }
    c.dir = abs;
    Ok(())
}

// --- replicaof

pub(crate) fn set_replicaof(c: &mut Config, args: &[Vec<u8>], _: &mut ApplyCtx) -> SetResult {
    let [host, port] = args else {
        return Err("wrong number of arguments".to_string());
    };
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        c.replicaof = None;
        return Ok(());
    }
    let port = parse_c_long(port)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or("Invalid master port")?;
    c.replicaof = Some(ReplicaOf {
        host: text(host),
        port,
    });
    Ok(())
}

// --- oom-score-adj-values

pub(crate) fn set_oom_values(c: &mut Config, args: &[Vec<u8>], _: &mut ApplyCtx) -> SetResult {
    if args.len() != 3 {
        return Err("wrong number of arguments".to_string());
    }
    let mut vals = Vec::with_capacity(3);
    for a in args {
        match parse_c_long(a) {
            Some(v) if (-2000..=2000).contains(&v) => vals.push(v.to_string()),
            _ => {
                return Err(
                    "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                        .to_string(),
                )
            }
        }
    }
    put_other(c, "oom-score-adj-values", "0 200 800", vals.join(" "));
    Ok(())
}

// --- latency-tracking-info-percentiles

pub(crate) fn set_percentiles(c: &mut Config, args: &[Vec<u8>], _: &mut ApplyCtx) -> SetResult {
    let args = if args.len() == 1 && args[0].is_empty() {
        &[][..]
    } else {
        args
    };
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        let v: f64 = std::str::from_utf8(a)
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|v: &f64| !v.is_nan())
            .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&v) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .to_string(),
            );
        }
        vals.push(format!("{v}"));
    }
    put_other(
        c,
        "latency-tracking-info-percentiles",
        "50 99 99.9",
        vals.join(" "),
    );
    Ok(())
}

// --- cluster-enabled

pub(crate) fn set_cluster_enabled(
    _c: &mut Config,
    args: &[Vec<u8>],
    _: &mut ApplyCtx,
) -> SetResult {
    match parse_bool(one(args)?) {
        Some(false) => Ok(()),
        Some(true) => Err("cluster mode is not supported by ferrodis".to_string()),
        None => Err(ERR_NOT_BOOL.to_string()),
    }
}

// --- shutdown-on-sigint / shutdown-on-sigterm

/// The flag words in Redis's enum order (`default` is no flag at all).
const SHUTDOWN_SIG_FLAGS: &[&str] = &["save", "nosave", "now", "force"];

/// Parses `default` or any of `save nosave now force` (Redis's multi-argument flags enum):
/// the canonical form lists the flags in table order, `default` when none is set.
fn parse_shutdown_on_sig(args: &[Vec<u8>]) -> Result<String, String> {
    let bad = || "argument(s) must be one of the following: default, save, nosave, now, force";
    if args.is_empty() {
        return Err(bad().to_string());
    }
    let mut set = [false; 4];
    for a in args {
        let w = String::from_utf8_lossy(a).to_ascii_lowercase();
        if w == "default" {
            continue;
        }
        let i = SHUTDOWN_SIG_FLAGS
            .iter()
            .position(|f| *f == w)
            .ok_or_else(|| bad().to_string())?;
        set[i] = true;
    }
    if set[0] && set[1] {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".to_string());
    }
    let words: Vec<&str> = SHUTDOWN_SIG_FLAGS
        .iter()
        .zip(set)
        .filter_map(|(f, on)| on.then_some(*f))
        .collect();
    Ok(if words.is_empty() {
        "default".to_string()
    } else {
        words.join(" ")
    })
}

pub(crate) fn set_shutdown_on_sigint(
    c: &mut Config,
    args: &[Vec<u8>],
    _: &mut ApplyCtx,
) -> SetResult {
    let v = parse_shutdown_on_sig(args)?;
    put_other(c, "shutdown-on-sigint", "default", v);
    Ok(())
}

pub(crate) fn set_shutdown_on_sigterm(
    c: &mut Config,
    args: &[Vec<u8>],
    _: &mut ApplyCtx,
) -> SetResult {
    let v = parse_shutdown_on_sig(args)?;
    put_other(c, "shutdown-on-sigterm", "default", v);
    Ok(())
}

pub(crate) fn rewrite_shutdown_on_sig(c: &Config, name: &str) -> Option<Vec<String>> {
    Some(vec![format!("{name} {}", get_other(c, name, "default"))])
}
