//! Lua scripting (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT), as Redis 7.0 has it.
//!
//! * **VM.** Lua 5.1 (`mlua`, vendored), one VM per thread that runs scripts (`thread_local`),
//!   set up like Redis's: base, table, string, math, `cjson`, `bit`, `cmsgpack` (see
//!   `libs.rs`; `struct` is missing); `os`,
//!   `io`, `debug`, `print`, `require`, `loadfile`, `dofile`, `setfenv`, `getfenv` removed.
//!   The globals table and every library table are read-only (proxies whose `__newindex`
//!   raises "Attempt to modify a readonly table"; reading a missing global raises "Script
//!   attempted to access nonexistent global variable").
//! * **Cache.** Bodies by SHA1 (hex, lower case) in [`Scripts`], shared by all threads; each
//!   VM compiles a body the first time it runs it. SCRIPT FLUSH clears the cache and bumps a
//!   generation so every VM is rebuilt (freeing its compiled functions) on next use.
//! * **Atomicity.** EVAL* hold every shard lock (`ALL_KEYS`): a script sees and changes the
//!   keyspace alone, like EXEC with unknown keys. `redis.call` runs handlers on the same
//!   [`Ctx`], like EXEC does for queued commands.
//! * **Propagation.** Effects, never the body (Redis 7.0): each command's deterministic form
//!   (or expired-key DELs) is collected and appended to the log under the locks, wrapped in
//!   MULTI/EXEC when there are several. Inside EXEC they join the transaction's unit.
//! * **Busy scripts.** A count hook checks the clock every 100k instructions; past
//!   `busy-reply-threshold` the script is marked busy and other connections get `-BUSY`
//!   (dispatch's [`busy_check`]); SCRIPT KILL sets a flag the hook turns into an error, unless
//!   the script already wrote (`-UNKILLABLE`).

mod cjson;
mod cmsgpack;
mod convert;
mod libs;

use crate::commands::{CmdResult, CommandError, Ctx};
use crate::dispatch;
use bytes::Bytes;
use ferrodis_resp::Frame;
use hashbrown::HashMap;
use mlua::{Function, Lua, MultiValue, Table, Value};
use parking_lot::Mutex;
use sha1::{Digest as _, Sha1};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};

/// Server-wide scripting state.
#[derive(Default)]
pub struct Scripts {
    /// Script bodies by lower-case SHA1 hex.
    bodies: Mutex<HashMap<String, Bytes>>,
    /// Sum of cached body lengths (INFO `used_memory_scripts_eval`).
    body_bytes: AtomicUsize,
    /// Bumped by SCRIPT FLUSH: VMs built for an older generation are dropped.
    generation: AtomicU64,
    /// Unix ms when the running script started, 0 when none runs.
    started_ms: AtomicI64,
    /// Flags the running script's hook reads (busy, kill).
    flags: std::sync::Arc<RunFlags>,
    /// The running script has called a write command (SCRIPT KILL answers -UNKILLABLE).
    wrote: AtomicBool,
    /// Lua memory of the last VM that ran a script (INFO `used_memory_lua`).
    lua_memory: AtomicUsize,
}

impl Scripts {
    /// Number of cached scripts.
    pub fn count(&self) -> usize {
        self.bodies.lock().len()
    }
    /// Bytes of cached script bodies.
    pub fn body_bytes(&self) -> usize {
        self.body_bytes.load(Ordering::Relaxed)
    }
    /// Lua VM memory as last measured.
    pub fn lua_memory(&self) -> usize {
        self.lua_memory.load(Ordering::Relaxed)
    }
    fn insert(&self, sha: &str, body: &Bytes) {
        let mut m = self.bodies.lock();
        if !m.contains_key(sha) {
            self.body_bytes.fetch_add(body.len(), Ordering::Relaxed);
            m.insert(sha.to_string(), body.clone());
        }
    }
    fn get(&self, sha: &str) -> Option<Bytes> {
        self.bodies.lock().get(sha).cloned()
    }
    /// SCRIPT EXISTS for one SHA1.
    pub fn exists(&self, sha: &[u8]) -> bool {
        let s = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.bodies.lock().contains_key(&s)
    }
    /// SCRIPT FLUSH.
    pub fn flush(&self) {
        self.bodies.lock().clear();
        self.body_bytes.store(0, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::Relaxed);
    }
    /// True while a script is running.
    pub fn running(&self) -> bool {
        self.started_ms.load(Ordering::Acquire) != 0
    }
}

/// State shared with the running script's instruction hook.
#[derive(Default)]
struct RunFlags {
    /// The running script passed `busy-reply-threshold`: other clients get -BUSY.
    busy: AtomicBool,
    /// SCRIPT KILL asked the running script to stop.
    kill: AtomicBool,
}

/// SHA1 of `body` as 40 lower-case hex digits.
pub fn sha1hex(body: &[u8]) -> String {
    let d: [u8; 20] = Sha1::digest(body).into();
    let mut s = String::with_capacity(40);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Commands a script may not call (Redis 7.0's `noscript` flag).
pub fn noscript(name: &str) -> bool {
    matches!(
        name,
        "auth"
            | "bgrewriteaof"
            | "bgsave"
            | "blmove"
            | "blpop"
            | "brpop"
            | "brpoplpush"
            | "bzpopmax"
            | "bzpopmin"
            | "blmpop"
            | "bzmpop"
            | "debug"
            | "discard"
            | "eval"
            | "eval_ro"
            | "evalsha"
            | "evalsha_ro"
            | "exec"
            | "failover"
            | "fcall"
            | "fcall_ro"
            | "hello"
            | "monitor"
            | "multi"
            | "psubscribe"
            | "psync"
            | "punsubscribe"
            | "quit"
            | "replconf"
            | "replicaof"
            | "reset"
            | "role"
            | "save"
            | "shutdown"
            | "slaveof"
            | "ssubscribe"
            | "subscribe"
            | "sunsubscribe"
            | "sync"
            | "unsubscribe"
            | "unwatch"
            | "wait"
            | "watch"
            | "script"
            | "client"
    )
}

/// Commands allowed while a script is busy (Redis 7.0's `allow-busy`).
fn allow_busy(name: &str, args: &[Bytes]) -> bool {
    match name {
        "auth" | "hello" | "discard" | "multi" | "quit" | "reset" | "replconf" | "unwatch"
        | "watch" => true,
        // Redis refuses a saving SHUTDOWN while a script is busy (only NOSAVE gets through).
        "shutdown" => args[1..].iter().any(|a| a.eq_ignore_ascii_case(b"nosave")),
        "script" => args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"kill")),
        _ => false,
    }
}

/// Dispatch hook, before a command runs: while another thread runs a script, wait for it
/// (as Redis's clients wait for its single thread) until it is past `busy-reply-threshold`,
/// then refuse with -BUSY. One atomic load when no script runs.
pub fn busy_check(
    server: &crate::Server,
    name: &str,
    args: &[Bytes],
    is_master: bool,
) -> Result<(), CommandError> {
    let s = &server.scripts;
    if !s.running() || allow_busy(name, args) {
        return Ok(());
    }
    // Short scripts are the rule: yield for a moment before sleeping between checks.
    let start = std::time::Instant::now();
    loop {
        if s.flags.busy.load(Ordering::Acquire) && !is_master {
            return Err(CommandError::new(
                "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
            ));
        }
        if !s.running() {
            return Ok(());
        }
        if start.elapsed() < std::time::Duration::from_micros(500) {
            std::thread::yield_now();
        } else {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Error text for SCRIPT KILL, or None when the kill was requested.
pub fn kill(server: &crate::Server) -> Result<(), CommandError> {
    let s = &server.scripts;
    if !s.running() {
        return Err(CommandError::new(
            "NOTBUSY No scripts in execution right now.",
        ));
    }
    if s.wrote.load(Ordering::Acquire) {
        return Err(CommandError::new("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."));
    }
    s.flags.kill.store(true, Ordering::Release);
    Ok(())
}

/// A thread's Lua VM.
struct Vm {
    lua: Lua,
    generation: u64,
    /// The real globals (behind the read-only `_G` proxy): KEYS and ARGV go here.
    globals: Table,
    /// The real `redis` table: `call`, `pcall` and `setresp` are set per run (scoped).
    redis: Table,
    /// Compiled scripts by SHA1.
    funcs: Table,
    /// The original `xpcall`.
    xpcall: Function,
}

thread_local! {
    static VM: RefCell<Option<Vm>> = const { RefCell::new(None) };
}

fn lua_err(e: mlua::Error) -> CommandError {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("");
    CommandError::msg(format!("ERR Lua error: {first}"))
}

/// Compiles `body` in `vm` (chunk name `@user_script`), caching it under `sha`.
fn compile(vm: &Vm, sha: &str, body: &[u8]) -> Result<Function, CommandError> {
    if let Ok(f) = vm.funcs.raw_get::<Function>(sha) {
        return Ok(f);
    }
    let (_, code) = shebang(body)?;
    let f = vm
        .lua
        .load(&*code)
        .set_name("@user_script")
        .set_mode(mlua::ChunkMode::Text)
        .into_function()
        .map_err(|e| {
            let msg = match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            };
            CommandError::msg(format!("ERR Error compiling script (new function): {msg}"))
        })?;
    vm.funcs.raw_set(sha, f.clone()).map_err(lua_err)?;
    Ok(f)
}

fn with_vm<R>(
    server: &crate::Server,
    f: impl FnOnce(&Vm) -> Result<R, CommandError>,
) -> Result<R, CommandError> {
    let gen = server.scripts.generation.load(Ordering::Relaxed);
    VM.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_some_and(|v| v.generation != gen) {
            *slot = None;
        }
        if slot.is_none() {
            *slot = Some(libs::new_vm(gen).map_err(lua_err)?);
        }
        match slot.as_ref() {
            Some(vm) => f(vm),
            None => Err(CommandError::new("ERR Lua VM unavailable")),
        }
    })
}

/// SCRIPT LOAD: compiles and caches `body`, returning its SHA1.
pub fn load(server: &crate::Server, body: &Bytes) -> Result<String, CommandError> {
    let sha = sha1hex(body);
    with_vm(server, |vm| compile(vm, &sha, body).map(|_| ()))?;
    server.scripts.insert(&sha, body);
    Ok(sha)
}

/// Flags a script declared in its `#!lua flags=...` line (Redis 7.0).
#[derive(Default, Clone, Copy)]
pub struct ScriptFlags {
    /// The script has a shebang line (no longer in EVAL compatibility mode).
    pub shebang: bool,
    /// `no-writes`.
    pub no_writes: bool,
}

/// Parses a `#!lua [flags=a,b]` first line. Returns the flags and the code Lua compiles:
/// the shebang line is blanked (its newline kept, so line numbers stay as Redis reports).
pub fn shebang(body: &[u8]) -> Result<(ScriptFlags, std::borrow::Cow<'_, [u8]>), CommandError> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), std::borrow::Cow::Borrowed(body)));
    }
    let Some(nl) = body.iter().position(|&b| b == b'\n') else {
        return Err(CommandError::new("ERR Invalid script shebang"));
    };
    let line = String::from_utf8_lossy(&body[..nl]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(CommandError::msg(format!(
            "ERR Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut flags = ScriptFlags {
        shebang: true,
        ..ScriptFlags::default()
    };
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(CommandError::msg(format!(
                "ERR Unknown lua shebang option: {part}"
            )));
        };
        for f in list.split(',').filter(|f| !f.is_empty()) {
            match f {
                "no-writes" => flags.no_writes = true,
                "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                other => {
                    return Err(CommandError::msg(format!(
                        "ERR Unexpected flag in script shebang: {other}"
                    )))
                }
            }
        }
    }
    let mut code = Vec::with_capacity(body.len() - nl);
    code.extend_from_slice(&body[nl..]);
    Ok((flags, std::borrow::Cow::Owned(code)))
}

/// What EVAL* asked for.
pub struct Call<'b> {
    /// The body (EVAL) or SHA1 (EVALSHA).
    pub script: &'b Bytes,
    /// The argument is a SHA1.
    pub by_sha: bool,
    /// EVAL_RO / EVALSHA_RO.
    pub read_only: bool,
    /// KEYS.
    pub keys: &'b [Bytes],
    /// ARGV.
    pub argv: &'b [Bytes],
}

thread_local! {
    /// True on the script thread (scripts run in place there).
    static ON_SCRIPT_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// An EVAL for the script thread.
struct Job {
    server: std::sync::Arc<crate::Server>,
    args: Vec<Bytes>,
    db: usize,
    user: String,
    handle: std::sync::Arc<crate::client::ClientHandle>,
    reply: tokio::sync::oneshot::Sender<CmdResult>,
}

/// The script thread's queue, started on first use.
fn runner() -> Option<&'static std::sync::mpsc::Sender<Job>> {
    static RUNNER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    RUNNER
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("ferrodis-script".into())
                .spawn(move || {
                    ON_SCRIPT_THREAD.with(|f| f.set(true));
                    for job in rx {
                        run_job(job);
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Runs one EVAL on the script thread, as the caller (its db, user and handle) but with a
/// client of its own, through the normal `dispatch::call` (locks, handler, propagation).
fn run_job(job: Job) {
    let mut client = crate::client::Client::new(job.handle, true);
    client.db = job.db;
    client.user = job.user;
    let reply = match dispatch::lookup(&job.args[0]) {
        Some(cmd) => {
            let mut stats = dispatch::LocalStats::default();
            let r = dispatch::call(&job.server, &mut client, cmd, &job.args, &mut stats);
            crate::stats::Stats::add(&job.server.stats.hits, stats.hits);
            crate::stats::Stats::add(&job.server.stats.misses, stats.misses);
            r
        }
        None => Err(CommandError::new("ERR unknown command")),
    };
    let _ = job.reply.send(reply);
}

/// Called by the connection task with the script thread's answer to a deferred EVAL.
pub fn finish(
    server: &crate::Server,
    client: &mut crate::client::Client,
    answer: Result<CmdResult, tokio::sync::oneshot::error::RecvError>,
    out: &mut bytes::BytesMut,
    stats: &mut dispatch::LocalStats,
) {
    let reply = answer.unwrap_or_else(|_| Err(CommandError::new("ERR the script runner stopped")));
    if let Err(e) = &reply {
        stats.errors += 1;
        server.note_error(&e.0);
    }
    if client.reply_mode != crate::client::ReplyMode::Off {
        dispatch::encode_reply(client, reply, out);
    }
}

/// Hands EVAL to the script thread when that is possible: a plain client's command, not
/// inside EXEC (which must run it under its own locks) nor our master's stream.
fn defer(ctx: &mut Ctx, args: &[Bytes]) -> bool {
    if ON_SCRIPT_THREAD.with(|f| f.get()) || ctx.client.in_exec || ctx.client.is_master {
        return false;
    }
    let (Some(server), Some(tx)) = (ctx.server.arc(), runner()) else {
        return false;
    };
    let (reply, rx) = tokio::sync::oneshot::channel();
    let job = Job {
        server,
        args: args.to_vec(),
        db: ctx.client.db,
        user: ctx.client.user.clone(),
        handle: ctx.client.handle.clone(),
        reply,
    };
    if tx.send(job).is_err() {
        return false;
    }
    ctx.client.script_job = Some(rx);
    true
}

/// EVAL* entry point: defers to the script thread (see [`defer`]) or runs in place.
pub fn eval_command(ctx: &mut Ctx, args: &[Bytes], call: Call<'_>) -> CmdResult {
    if defer(ctx, args) {
        // The reply comes from the script thread (`finish`); dispatch sends nothing now.
        return Ok(Frame::Null);
    }
    run(ctx, call)
}

/// Runs a script on `ctx` (which holds every shard lock) and returns its reply.
pub fn run(ctx: &mut Ctx, call: Call<'_>) -> CmdResult {
    let server = ctx.server;
    let (sha, body) = if call.by_sha {
        let sha = String::from_utf8_lossy(call.script).to_ascii_lowercase();
        match server.scripts.get(&sha) {
            Some(b) if sha.len() == 40 => (sha, b),
            _ => {
                return Err(CommandError::new(
                    "NOSCRIPT No matching script. Please use EVAL.",
                ))
            }
        }
    } else {
        (sha1hex(call.script), call.script.clone())
    };
    let (flags, _) = shebang(&body)?;
    if flags.shebang
        && !flags.no_writes
        && !ctx.client.is_master
        && server.is_replica()
        && server.replica_read_only.load(Ordering::Relaxed)
    {
        // A script that may write (it declared flags, without no-writes) is refused up
        // front on a read-only replica, as Redis 7.0 does for such scripts.
        return Err(CommandError::new(
            "READONLY You can't write against a read only replica.",
        ));
    }
    if flags.shebang && !flags.no_writes && call.read_only {
        return Err(CommandError::new(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    let mut call = call;
    call.read_only |= flags.no_writes;
    with_vm(server, |vm| {
        let func = compile(vm, &sha, &body)?;
        server.scripts.insert(&sha, &body);
        execute(ctx, vm, &sha, func, &call)
    })
}

/// Per-run state the `redis.call` bridge works with.
struct RunState<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    read_only: bool,
    resp3: bool,
    /// Command time for every call: the script's start, so keys do not expire mid-script
    /// (Redis 7.0's frozen script time).
    now: i64,
    dirty: u64,
    all_effects: Vec<(usize, Vec<Bytes>)>,
}

fn execute(ctx: &mut Ctx, vm: &Vm, sha: &str, func: Function, call: &Call<'_>) -> CmdResult {
    let server = ctx.server;
    let lua = &vm.lua;
    let to_table = |items: &[Bytes]| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(items.len(), 0)?;
        for (i, a) in items.iter().enumerate() {
            t.raw_set(i + 1, lua.create_string(a)?)?;
        }
        Ok(t)
    };
    vm.globals
        .raw_set("KEYS", to_table(call.keys).map_err(lua_err)?)
        .map_err(lua_err)?;
    vm.globals
        .raw_set("ARGV", to_table(call.argv).map_err(lua_err)?)
        .map_err(lua_err)?;

    // Caller state a script must not change: db (SELECT inside a script is local), protocol.
    let saved_db = ctx.client.db;
    let saved_resp3 = ctx.client.resp3;
    let saved_in_exec = ctx.client.in_exec;
    ctx.client.resp3 = false;
    ctx.client.in_exec = true;
    let pending = std::mem::take(&mut ctx.effects.cmds);
    let saved_dirty = ctx.dirty;

    let s = &server.scripts;
    s.flags.kill.store(false, Ordering::Relaxed);
    s.wrote.store(false, Ordering::Relaxed);
    s.flags.busy.store(false, Ordering::Relaxed);
    s.started_ms
        .store(crate::util::now_ms().max(1), Ordering::Release);
    let threshold = server.config.read().busy_reply_threshold as i64;
    let started = crate::util::now_ms();
    let flags = s.flags.clone();
    lua.set_hook(
        mlua::HookTriggers::new().every_nth_instruction(100_000),
        move |_lua, _dbg| {
            if flags.kill.load(Ordering::Acquire) {
                return Err(mlua::Error::runtime(
                    "ERR Script killed by user with SCRIPT KILL...",
                ));
            }
            if threshold > 0
                && crate::util::now_ms() - started >= threshold
                && !flags.busy.swap(true, Ordering::AcqRel)
            {
                tracing::warn!(
                    "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the SCRIPT KILL command.",
                    crate::util::now_ms() - started
                );
            }
            Ok(mlua::VmState::Continue)
        },
    );

    let state = RefCell::new(RunState {
        ctx,
        read_only: call.read_only,
        resp3: false,
        now: started,
        dirty: 0,
        all_effects: Vec::new(),
    });
    let result: mlua::Result<MultiValue> = lua.scope(|scope| {
        let call = scope.create_function(|lua, args: MultiValue| {
            let mut st = state.borrow_mut();
            match redis_call_inner(lua, &mut st, args) {
                Ok(v) => Ok(v),
                Err(msg) => Err(mlua::Error::runtime(format!(
                    "{CALL_MARK}{}",
                    final_error(&msg)
                ))),
            }
        })?;
        let pcall = scope.create_function(|lua, args: MultiValue| {
            let mut st = state.borrow_mut();
            Ok(match redis_call_inner(lua, &mut st, args) {
                Ok(v) => v,
                Err(msg) => err_table(lua, &msg),
            })
        })?;
        let setresp = scope.create_function(|_lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(mlua::Error::runtime(
                    "redis.setresp() requires one argument.",
                ));
            }
            let n = match args.front() {
                Some(Value::Integer(i)) => *i,
                Some(Value::Number(n)) => *n as i64,
                _ => 0,
            };
            if n != 2 && n != 3 {
                return Err(mlua::Error::runtime("RESP version must be 2 or 3."));
            }
            state.borrow_mut().resp3 = n == 3;
            Ok(())
        })?;
        vm.redis.raw_set("call", call)?;
        vm.redis.raw_set("pcall", pcall)?;
        vm.redis.raw_set("setresp", setresp)?;
        let handler = lua.create_function(error_handler)?;
        vm.xpcall.call::<MultiValue>((func, handler))
    });
    lua.remove_hook();
    for name in ["call", "pcall", "setresp"] {
        let _ = vm.redis.raw_set(name, Value::Nil);
    }
    let st = state.into_inner();
    let ctx = st.ctx;
    let dirty = st.dirty;
    let mut effects = st.all_effects;
    ctx.client.db = saved_db;
    ctx.client.resp3 = saved_resp3;
    ctx.client.in_exec = saved_in_exec;
    s.started_ms.store(0, Ordering::Release);
    s.flags.busy.store(false, Ordering::Release);
    s.flags.kill.store(false, Ordering::Release);
    server
        .scripts
        .lua_memory
        .store(lua.used_memory(), Ordering::Relaxed);
    // GC a little so big temporary tables do not linger (Redis does a step per call).
    let _ = lua.gc_step();

    // Propagate the effects: inside EXEC they join the transaction's unit; otherwise one
    // unit here, under the locks, wrapped in MULTI/EXEC when there are several.
    ctx.dirty = saved_dirty + dirty;
    let mut all = pending;
    all.append(&mut effects);
    if saved_in_exec || ctx.client.is_master || server.is_replica() {
        ctx.effects.cmds = all;
    } else if !all.is_empty() {
        server.log.append(&all, all.len() > 1);
        ctx.client.woff = server.log.offset();
    }

    let values = result.map_err(lua_err)?;
    let mut it = values.into_iter();
    let ok = matches!(it.next(), Some(Value::Boolean(true)));
    let first = it.next().unwrap_or(Value::Nil);
    if ok {
        return Ok(convert::lua_to_frame(&first, 0));
    }
    Err(script_error(&first, sha))
}

/// `EVAL` reply for a script that raised `err` (a table `{err=..., source=..., line=...}`
/// from the error handler, or anything else).
fn script_error(err: &Value, sha: &str) -> CommandError {
    if let Value::Table(t) = err {
        let msg: Option<mlua::String> = t.raw_get("err").ok();
        if let Some(msg) = msg {
            let msg = String::from_utf8_lossy(&msg.as_bytes()).replace(['\r', '\n'], " ");
            let msg = msg.strip_prefix('-').unwrap_or(&msg).to_string();
            let source: Option<mlua::String> = t.raw_get("source").ok();
            let line: Option<i64> = t.raw_get("line").ok();
            return match (source, line) {
                (Some(src), Some(line)) => CommandError::msg(format!(
                    "{msg} script: {sha}, on {}:{line}.",
                    String::from_utf8_lossy(&src.as_bytes())
                )),
                _ => CommandError::msg(msg),
            };
        }
    }
    let text = match err {
        Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        Value::Error(e) => e.to_string(),
        _ => "execution failure".to_string(),
    };
    CommandError::msg(format!(
        "ERR Error running script f_{sha}, {}",
        text.chars().take(100).collect::<String>()
    ))
}

/// xpcall message handler: turns any error into Redis's `{err, source, line}` table, with
/// the position of the innermost `user_script` frame.
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Value> {
    let t = match err {
        Value::Table(t) => t,
        other => {
            let text = match &other {
                Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                Value::Error(e) => {
                    let t = lua.create_table()?;
                    t.raw_set("err", error_text(e))?;
                    return finish_error(lua, t);
                }
                Value::Nil => "nil".to_string(),
                v => lua
                    .coerce_string(v.clone())
                    .ok()
                    .flatten()
                    .map(|s| String::from_utf8_lossy(&s.as_bytes()).into_owned())
                    .unwrap_or_else(|| v.type_name().to_string()),
            };
            let t = lua.create_table()?;
            t.raw_set("err", format!("ERR {text}"))?;
            t
        }
    };
    finish_error(lua, t)
}

/// Adds the innermost `user_script` frame's position to an error table.
fn finish_error(lua: &Lua, t: Table) -> mlua::Result<Value> {
    // Redis's handler: the raiser's frame, or its caller when the raiser is a C function.
    // Frames of our own prelude wrappers (`=redis_prelude`) are skipped as well.
    let mut level = 1;
    let mut skipped_c = false;
    while level < 64 {
        let Some(d) = lua.inspect_stack(level) else {
            break;
        };
        let src = d.source();
        let source = src.source.as_deref().unwrap_or("?").to_string();
        if (src.what == "C" && !skipped_c) || source == "=redis_prelude" {
            skipped_c |= src.what == "C";
            level += 1;
            continue;
        }
        let line = d.curr_line();
        if src.what != "C" {
            t.raw_set("source", source)?;
            t.raw_set("line", line)?;
        }
        break;
    }
    Ok(Value::Table(t))
}

/// An error with the position of the calling script line (`luaL_error`'s `user_script:N: `
/// prefix), for library functions that Redis implements in C with `luaL_error` (cjson, bit).
pub(super) fn located(lua: &Lua, msg: impl std::fmt::Display) -> mlua::Error {
    let place = lua.inspect_stack(1).and_then(|d| {
        let line = d.curr_line();
        let src = d.source();
        let short = src.short_src.as_deref().map(str::to_string);
        (line > 0).then(|| format!("{}:{line}: ", short.unwrap_or_default()))
    });
    mlua::Error::runtime(format!("{}{msg}", place.unwrap_or_default()))
}

/// Marks an error raised by `redis.call` (its text is already Redis's error string).
const CALL_MARK: char = '\u{1}';

/// The `err` text for an error a Rust function raised: `redis.call` errors as they are,
/// others (`redis.log()` argument errors, the kill hook...) with the `ERR ` code.
pub(super) fn error_text(e: &mlua::Error) -> String {
    let m = callback_message(e);
    if let Some(rest) = m.strip_prefix(CALL_MARK) {
        rest.to_string()
    } else if m.starts_with("ERR ") {
        m
    } else {
        format!("ERR {m}")
    }
}

/// The message of an error a Rust callback (hook, bridge) raised.
fn callback_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => callback_message(cause),
        mlua::Error::RuntimeError(s) => s.clone(),
        mlua::Error::WithContext { cause, .. } => callback_message(cause),
        other => other.to_string(),
    }
}

/// Redis's error-table text for a reply error (`-CODE msg` keeps its code, other text gets
/// `ERR`), trailing CRLF trimmed.
fn final_error(msg: &str) -> String {
    let msg = msg.trim_end_matches(['\r', '\n']);
    if let Some(rest) = msg.strip_prefix('-') {
        match rest.split_once(' ') {
            Some((code, m)) => format!("{code} {m}"),
            None => format!("ERR {rest}"),
        }
    } else {
        msg.to_string()
    }
}

/// `{err = msg}` in Redis's error-table form.
pub(super) fn err_table(lua: &Lua, msg: &str) -> Value {
    match lua.create_table() {
        Ok(t) => {
            let _ = t.raw_set("err", final_error(msg));
            Value::Table(t)
        }
        Err(_) => Value::Nil,
    }
}

fn redis_call_inner(
    lua: &Lua,
    st: &mut RunState<'_, '_>,
    args: MultiValue,
) -> Result<Value, String> {
    if args.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call".into());
    }
    let mut argv: Vec<Bytes> = Vec::with_capacity(args.len());
    for v in args {
        match v {
            Value::String(s) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(_) | Value::Number(_) => match lua.coerce_string(v) {
                Ok(Some(s)) => argv.push(Bytes::copy_from_slice(&s.as_bytes())),
                _ => {
                    return Err(
                        "ERR Lua redis lib command arguments must be strings or integers".into(),
                    )
                }
            },
            _ => {
                return Err(
                    "ERR Lua redis lib command arguments must be strings or integers".into(),
                )
            }
        }
    }
    let Some(cmd) = dispatch::lookup(&argv[0]) else {
        return Err("ERR Unknown Redis command called from script".into());
    };
    if (cmd.arity > 0 && argv.len() != cmd.arity as usize)
        || (cmd.arity < 0 && argv.len() < (-cmd.arity) as usize)
    {
        return Err("ERR Wrong number of args calling Redis command from script".into());
    }
    if noscript(cmd.name) {
        return Err("ERR This Redis command is not allowed from script".into());
    }
    let ctx = &mut *st.ctx;
    let server = ctx.server;
    let write = cmd.flags & crate::commands::flags::WRITE != 0;
    if write {
        if st.read_only {
            return Err("ERR Write commands are not allowed from read-only scripts.".into());
        }
        if !ctx.client.is_master
            && server.is_replica()
            && server.replica_read_only.load(Ordering::Relaxed)
        {
            return Err("READONLY You can't write against a read only replica.".into());
        }
        if !ctx.client.is_master {
            if let Err(e) = crate::replication::master::check_min_replicas(server, ctx.client) {
                return Err(e.0.into_owned());
            }
            if crate::persistence::writes_refused(server) {
                return Err("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.".into());
            }
        }
        server.scripts.wrote.store(true, Ordering::Release);
    }
    *ctx.client.handle.last_cmd.lock() = dispatch::full_name(cmd, &argv);
    if server.monitors.load(Ordering::Relaxed) > 0
        && cmd.flags & crate::commands::flags::NO_MONITOR == 0
    {
        // As Redis: `<time> [<db> lua] "cmd" "arg" ...`.
        let us = crate::util::now_us();
        let mut line = format!(
            "{}.{:06} [{} lua]",
            us / 1_000_000,
            us % 1_000_000,
            ctx.client.db
        );
        for a in &argv {
            line.push(' ');
            line.push_str(&crate::util::repr(a));
        }
        let _ = server.monitor_tx.send(Bytes::from(line));
    }
    ctx.dirty = 0;
    ctx.custom_propagation = false;
    ctx.no_touch = false;
    ctx.now = st.now;
    ctx.client.resp3 = st.resp3;
    dispatch::protect_for_snapshot(server, cmd, &argv, &mut ctx.locks);
    // INFO reads the shards through the locks the script holds (see commands::server::info).
    let reply = (cmd.handler)(ctx, &argv);
    ctx.client.resp3 = false;
    if dispatch::after_handler(ctx, cmd, &argv) {
        let db = ctx.client.db;
        ctx.effects.cmds.push((db, argv.clone()));
    }
    st.dirty += ctx.dirty;
    ctx.dirty = 0;
    st.all_effects.append(&mut ctx.effects.cmds);
    let stat = dispatch::cmd_stat(cmd);
    stat.calls.fetch_add(1, Ordering::Relaxed);
    match reply {
        Ok(f) => Ok(convert::frame_to_lua(lua, &f, st.resp3)),
        Err(e) => {
            stat.failed.fetch_add(1, Ordering::Relaxed);
            server.note_error(&e.0);
            Err(format!("-{}", e.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_parsing() {
        let (f, code) = shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").expect("valid");
        assert!(f.shebang && f.no_writes);
        assert_eq!(&*code, b"\nreturn 1");
        let (f, code) = shebang(b"return 1").expect("plain");
        assert!(!f.shebang);
        assert_eq!(&*code, b"return 1");
        assert_eq!(
            shebang(b"#!lua").err().map(|e| e.0.into_owned()),
            Some("ERR Invalid script shebang".to_string())
        );
        assert_eq!(
            shebang(b"#!lua flags=x\n").err().map(|e| e.0.into_owned()),
            Some("ERR Unexpected flag in script shebang: x".to_string())
        );
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            final_error("-ERR value is not an integer\r\n"),
            "ERR value is not an integer"
        );
        assert_eq!(final_error("-MY err"), "MY err");
        assert_eq!(final_error("-FOO"), "ERR FOO");
        assert_eq!(sha1hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn g14_like_c() {
        assert_eq!(cjson::fmt_g14(3.0), "3");
        assert_eq!(cjson::fmt_g14(0.1), "0.1");
        assert_eq!(cjson::fmt_g14(1e20), "1e+20");
        assert_eq!(cjson::fmt_g14(-0.0001), "-0.0001");
        assert_eq!(cjson::fmt_g14(123456789012345.0), "1.2345678901234e+14");
        assert_eq!(cjson::fmt_g14(1.23456789012349), "1.2345678901235");
    }
}
