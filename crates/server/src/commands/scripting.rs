//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT. The engine is in
//! `crate::scripting`.

use super::flags::*;
use super::{arg_i64, is_kw, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::scripting::{self, Call};
use bytes::Bytes;
use ferrodis_resp::Frame;

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("eval", -3, ALL_KEYS, KeySpec::NONE, "scripting", eval),
    spec("evalsha", -3, ALL_KEYS, KeySpec::NONE, "scripting", evalsha),
    spec(
        "eval_ro",
        -3,
        READONLY | ALL_KEYS,
        KeySpec::NONE,
        "scripting",
        eval_ro,
    ),
    spec(
        "evalsha_ro",
        -3,
        READONLY | ALL_KEYS,
        KeySpec::NONE,
        "scripting",
        evalsha_ro,
    ),
    spec("script", -2, 0, KeySpec::NONE, "scripting", script),
];

fn eval_generic(ctx: &mut Ctx, args: &[Bytes], by_sha: bool, read_only: bool) -> CmdResult {
    let numkeys = arg_i64(&args[2])?;
    if numkeys > (args.len() - 3) as i64 {
        return Err(CommandError::new(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CommandError::new("ERR Number of keys can't be negative"));
    }
    let n = numkeys as usize;
    scripting::eval_command(
        ctx,
        args,
        Call {
            script: &args[1],
            by_sha,
            read_only,
            keys: &args[3..3 + n],
            argv: &args[3 + n..],
        },
    )
}

/// `EVAL script numkeys [key ...] [arg ...]`
fn eval(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

/// `EVALSHA sha1 numkeys [key ...] [arg ...]`
fn evalsha(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

/// `EVAL_RO script numkeys [key ...] [arg ...]`
fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

/// `EVALSHA_RO sha1 numkeys [key ...] [arg ...]`
fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

fn wrong_args(sub: &str) -> CommandError {
    CommandError::msg(format!(
        "ERR wrong number of arguments for 'script|{sub}' command"
    ))
}

/// `SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP ...`
fn script(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let n = args.len();
    if is_kw(sub, "help") && n == 2 {
        return Ok(super::help_reply(SCRIPT_HELP));
    }
    if is_kw(sub, "load") {
        if n != 3 {
            return Err(wrong_args("load"));
        }
        let sha = scripting::load(ctx.server, &args[2])?;
        return Ok(Frame::Bulk(Bytes::from(sha)));
    }
    if is_kw(sub, "exists") {
        if n < 3 {
            return Err(wrong_args("exists"));
        }
        let s = &ctx.server.scripts;
        return Ok(Frame::Array(
            args[2..]
                .iter()
                .map(|a| Frame::Integer(s.exists(a) as i64))
                .collect(),
        ));
    }
    if is_kw(sub, "flush") {
        if n > 3 {
            return Err(wrong_args("flush"));
        }
        if n == 3 && !is_kw(&args[2], "sync") && !is_kw(&args[2], "async") {
            return Err(CommandError::new(
                "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
            ));
        }
        ctx.server.scripts.flush();
        return super::ok();
    }
    if is_kw(sub, "kill") {
        if n != 2 {
            return Err(wrong_args("kill"));
        }
        scripting::kill(ctx.server)?;
        return super::ok();
    }
    if is_kw(sub, "debug") {
        if n != 3 {
            return Err(wrong_args("debug"));
        }
        if is_kw(&args[2], "no") {
            return super::ok();
        }
        return Err(CommandError::new(
            "ERR SCRIPT DEBUG is not supported by this server",
        ));
    }
    Err(CommandError::msg(format!(
        "ERR unknown subcommand '{}'. Try SCRIPT HELP.",
        String::from_utf8_lossy(sub)
    )))
}
