//! Dispatch: from an argv to a reply. The one place where the checks every command shares
//! live (lookup, arity, authentication, loading, maxmemory, read-only replica), in Redis's
//! `processCommand` order; then the shard locks are taken, the handler runs, and its effects
//! are appended to the replication log before the locks are released.

use crate::client::{Client, ReplyMode};
use crate::commands::{flags, CommandError, CommandSpec, Ctx, Effects, Locks, FAMILIES};
use crate::Server;
use bytes::{Bytes, BytesMut};
use ferrodis_resp::Frame;
use hashbrown::HashMap;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

/// Longest command name we look up (longer names are unknown anyway).
const MAX_NAME: usize = 32;

/// A command row with its INFO commandstats counters.
type Row = (&'static CommandSpec, &'static CmdStat);

fn table() -> &'static HashMap<&'static [u8], Row> {
    static TABLE: OnceLock<HashMap<&'static [u8], Row>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = HashMap::new();
        for fam in FAMILIES {
            for c in fam.iter() {
                m.insert(c.name.as_bytes(), (c, cmd_stat(c)));
            }
        }
        m
    })
}

/// Every command row, for COMMAND.
pub fn all_commands() -> impl Iterator<Item = &'static CommandSpec> {
    FAMILIES.iter().flat_map(|f| f.iter())
}

/// Finds a command by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    lookup_row(name).map(|(c, _)| c)
}

/// Finds a command and its counters by name, case-insensitively.
fn lookup_row(name: &[u8]) -> Option<Row> {
    if name.len() > MAX_NAME {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table().get(&lower[..]).copied()
}

/// Per-batch counters a connection folds into the global stats once per read.
#[derive(Default)]
pub struct LocalStats {
    /// Commands run.
    pub commands: u64,
    /// Keyspace hits.
    pub hits: u64,
    /// Keyspace misses.
    pub misses: u64,
    /// Error replies.
    pub errors: u64,
}

fn unknown_command(args: &[Bytes]) -> CommandError {
    let name = String::from_utf8_lossy(&args[0]);
    let name: String = name.chars().take(128).collect();
    let mut rest = String::new();
    for a in &args[1..] {
        let room = 128usize.saturating_sub(rest.len());
        let s = String::from_utf8_lossy(a);
        let s: String = s.chars().take(room).collect();
        rest.push_str(&format!("'{s}' "));
        if rest.len() >= 128 {
            break;
        }
    }
    CommandError::msg(format!(
        "ERR unknown command '{name}', with args beginning with: {rest}"
    ))
}

/// Runs one command and appends its reply (if any) to `out`.
pub fn execute(
    server: &Server,
    client: &mut Client,
    args: &[Bytes],
    out: &mut BytesMut,
    stats: &mut LocalStats,
) {
    // CLIENT REPLY: `Skip` is set by CLIENT REPLY SKIP (whose own reply is suppressed) and
    // becomes `SkipThis`, which suppresses the next command's reply.
    let skipping = client.reply_mode == ReplyMode::SkipThis;
    if skipping {
        client.reply_mode = ReplyMode::On;
    }
    let reply = run(server, client, args, stats);
    if client.block.is_some() || client.script_job.is_some() {
        // Parked: the connection task waits and sends the reply later (blocking.rs).
        return;
    }
    if let Err(ref e) = reply {
        stats.errors += 1;
        server.note_error(&e.0);
    }
    if !client.extra_replies.is_empty() {
        // Commands with several replies (SUBSCRIBE a b): all but the last.
        for f in std::mem::take(&mut client.extra_replies) {
            if !skipping && !matches!(client.reply_mode, ReplyMode::Off) {
                f.encode(out, client.resp3);
            }
        }
    }
    let suppress = match client.reply_mode {
        ReplyMode::Off => true,
        ReplyMode::Skip => {
            client.reply_mode = ReplyMode::SkipThis;
            true
        }
        ReplyMode::On | ReplyMode::SkipThis => skipping,
    };
    if suppress {
        return;
    }
    encode_reply(client, reply, out);
}

/// Appends a reply to `out` in the client's protocol.
pub fn encode_reply(client: &Client, reply: Result<Frame, CommandError>, out: &mut BytesMut) {
    match reply {
        Ok(f) => f.encode(out, client.resp3),
        Err(e) => {
            out.extend_from_slice(b"-");
            out.extend_from_slice(e.0.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Runs one command: checks, locks, handler, propagation. Returns the reply.
pub fn run(
    server: &Server,
    client: &mut Client,
    args: &[Bytes],
    stats: &mut LocalStats,
) -> Result<Frame, CommandError> {
    let Some((cmd, stat)) = lookup_row(&args[0]) else {
        crate::multi::flag_error(client);
        return Err(unknown_command(args));
    };
    stats.commands += 1;
    if let Err(e) = precheck(server, client, cmd, args) {
        stat.rejected.fetch_add(1, Ordering::Relaxed);
        return Err(e);
    }
    if client.multi.is_some() && !crate::multi::runs_inside_multi(cmd.name) {
        return crate::multi::queue(client, args);
    }
    *client.handle.last_cmd.lock() = full_name(cmd, args);
    if server.monitors.load(Ordering::Relaxed) > 0 && cmd.flags & flags::NO_MONITOR == 0 {
        server.feed_monitors(client, args);
    }
    let t0 = clock().raw();
    let reply = call(server, client, cmd, args, stats);
    let us = clock().delta(t0, clock().raw()).as_micros() as u64;
    stat.calls.fetch_add(1, Ordering::Relaxed);
    stat.usec.fetch_add(us, Ordering::Relaxed);
    if reply.is_err() {
        stat.failed.fetch_add(1, Ordering::Relaxed);
    }
    reply
}

/// The checks every command passes before it runs (Redis's processCommand order).
fn precheck(
    server: &Server,
    client: &mut Client,
    cmd: &'static CommandSpec,
    args: &[Bytes],
) -> Result<(), CommandError> {
    if (cmd.arity > 0 && args.len() != cmd.arity as usize)
        || (cmd.arity < 0 && args.len() < (-cmd.arity) as usize)
    {
        crate::multi::flag_error(client);
        return Err(CommandError::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            cmd.name
        )));
    }
    if !client.authenticated && cmd.flags & flags::NO_AUTH == 0 {
        crate::multi::flag_error(client);
        return Err(CommandError::new("NOAUTH Authentication required."));
    }
    if client.subscriptions > 0 && !client.resp3 && !crate::pubsub::allowed_when_subscribed(cmd) {
        return Err(CommandError::msg(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            cmd.name
        )));
    }
    if client.multi.is_some() && matches!(cmd.name, "psync" | "sync") {
        crate::multi::flag_error(client);
        return Err(CommandError::new(
            "ERR Command not allowed inside a transaction",
        ));
    }
    crate::scripting::busy_check(server, cmd.name, args, client.is_master)?;
    if server.loading.load(Ordering::Acquire) && cmd.flags & flags::LOADING == 0 {
        return Err(CommandError::new(
            "LOADING Redis is loading the dataset in memory",
        ));
    }
    // maxmemory: with no limit this is one relaxed load. Over the limit, every command first
    // tries to evict (as Redis does); only commands that may grow memory are refused.
    let maxmemory = server.evictor.limit();
    if maxmemory != 0 && !client.is_master && !server.admin.writes_paused() {
        if let Err(e) = crate::evict::enforce(server, maxmemory) {
            if let Some(reply) = oom_reject(server, client, cmd, e) {
                return Err(reply);
            }
        }
    }
    if server.is_replica()
        && !client.is_master
        && cmd.flags & flags::STALE == 0
        && !server.master_link_up.load(Ordering::Acquire)
        && !server.config.read().replica_serve_stale_data
    {
        return Err(crate::replication::replica::masterdown_error());
    }
    if cmd.flags & flags::WRITE != 0
        && !client.is_master
        && server.is_replica()
        && server.replica_read_only.load(Ordering::Relaxed)
    {
        return Err(CommandError::new(
            "READONLY You can't write against a read only replica.",
        ));
    }
    if cmd.flags & flags::WRITE != 0 {
        crate::replication::master::check_min_replicas(server, client)?;
    }
    if cmd.flags & flags::WRITE != 0
        && !client.is_master
        && crate::persistence::writes_refused(server)
    {
        return Err(CommandError::new("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."));
    }
    Ok(())
}

/// The reply for `cmd` when memory is over `maxmemory` and nothing could be evicted, or
/// `None` when it may run anyway. As Redis: DENYOOM commands are refused; inside MULTI every
/// command but EXEC/DISCARD/QUIT/RESET is (queuing costs memory too) and the transaction is
/// flagged; EXEC is refused, and the transaction dropped, when it queued a DENYOOM command.
fn oom_reject(
    server: &Server,
    client: &mut Client,
    cmd: &CommandSpec,
    oom: CommandError,
) -> Option<CommandError> {
    let in_multi = client.multi.is_some();
    if cmd.name == "exec" {
        let denyoom_queued = client.multi.as_ref().is_some_and(|m| {
            m.cmds
                .iter()
                .any(|a| lookup(&a[0]).is_some_and(|c| c.flags & flags::DENYOOM != 0))
        });
        if !denyoom_queued {
            return None;
        }
        crate::multi::discard(server, client);
        return Some(CommandError::msg(format!(
            "EXECABORT Transaction discarded because of: {}",
            oom.0
        )));
    }
    let exempt = matches!(cmd.name, "discard" | "quit" | "reset");
    if cmd.flags & flags::DENYOOM != 0 || (in_multi && !exempt) {
        crate::multi::flag_error(client);
        return Some(oom);
    }
    None
}

/// Locks the command's shards, runs the handler and propagates. Also used by EXEC and by the
/// replica's stream applier.
pub fn call(
    server: &Server,
    client: &mut Client,
    cmd: &'static CommandSpec,
    args: &[Bytes],
    stats: &mut LocalStats,
) -> Result<Frame, CommandError> {
    let ks = &server.keyspace;
    let locks = if cmd.flags & flags::ALL_KEYS != 0 {
        Locks::All(ks.lock_all())
    } else {
        let mut idx: smallvec_like::Idx = smallvec_like::Idx::new();
        for p in cmd.keys.positions(args.len()) {
            idx.push(ks.shard_of(&args[p]));
        }
        match idx.len() {
            0 => Locks::None,
            1 => Locks::One(idx.get(0), ks.lock(idx.get(0))),
            _ => {
                let mut v = idx.into_sorted_unique();
                if v.len() == 1 {
                    let i = v.remove(0);
                    Locks::One(i, ks.lock(i))
                } else {
                    Locks::Many(v.into_iter().map(|i| (i, ks.lock(i))).collect())
                }
            }
        }
    };
    let mut locks = locks;
    protect_for_snapshot(server, cmd, args, &mut locks);
    let now = if client.now_ms != 0 {
        client.now_ms
    } else {
        crate::util::now_ms()
    };
    let mut ctx = Ctx {
        server,
        client,
        locks,
        dirty: 0,
        effects: Effects::default(),
        custom_propagation: false,
        now,
        hits: 0,
        misses: 0,
        no_touch: false,
    };
    let reply = (cmd.handler)(&mut ctx, args);
    stats.hits += ctx.hits;
    stats.misses += ctx.misses;
    let verbatim = after_handler(&mut ctx, cmd, args);
    if ctx.dirty > 0 {
        server.dirty.fetch_add(ctx.dirty, Ordering::Relaxed);
    }
    if ctx.client.is_master || server.is_replica() {
        // Replica side: forward the master's bytes verbatim, still under the locks (after
        // MULTI they wait for EXEC); a replica never logs effects of its own
        // (replication::replica).
        if ctx.client.multi.is_none() {
            if let Some(raw) = ctx.client.master_raw.take() {
                server.log.append_raw(&raw);
            }
        }
    } else if verbatim || !ctx.effects.cmds.is_empty() {
        // Still holding the shard locks: log order = apply order for these keys.
        let own = verbatim.then_some((ctx.client.db, args));
        ctx.client.woff = server.log.append_parts(&ctx.effects.cmds, own);
    }
    drop(ctx);
    reply
}

/// After a handler ran (shard locks still held): records the command's own argv for
/// propagation, and for a write that changed data, flags WATCHers of its keys and wakes
/// clients blocked on them. Both are one atomic load when unused. Commands whose keys are
/// not in their key positions (`ALL_KEYS`) call `Ctx::key_modified` themselves.
///
/// Returns true when the command's argv itself must follow `ctx.effects` into the log (the
/// caller appends it, so the common case copies nothing).
pub fn after_handler(ctx: &mut Ctx, cmd: &'static CommandSpec, args: &[Bytes]) -> bool {
    if ctx.dirty == 0 || cmd.flags & flags::WRITE == 0 {
        return false;
    }
    let db = ctx.client.db;
    let verbatim = !ctx.custom_propagation && cmd.flags & flags::NO_PROPAGATE == 0;
    let server = ctx.server;
    let blocked = server.blocking.has_waiters();
    for p in cmd.keys.positions(args.len()) {
        server.watches.touch(db, &args[p]);
        if blocked {
            server.blocking.signal(db, &args[p]);
        }
    }
    verbatim
}

/// A tiny inline vector of shard indices, so single- and double-key commands do not allocate.
mod smallvec_like {
    pub struct Idx {
        inline: [usize; 4],
        len: usize,
        heap: Vec<usize>,
    }
    impl Idx {
        pub fn new() -> Self {
            Idx {
                inline: [0; 4],
                len: 0,
                heap: Vec::new(),
            }
        }
        pub fn push(&mut self, i: usize) {
            if self.len < 4 {
                self.inline[self.len] = i;
            } else {
                if self.heap.is_empty() {
                    self.heap.extend_from_slice(&self.inline);
                }
                self.heap.push(i);
            }
            self.len += 1;
        }
        pub fn len(&self) -> usize {
            self.len
        }
        pub fn get(&self, i: usize) -> usize {
            if self.len <= 4 {
                self.inline[i]
            } else {
                self.heap[i]
            }
        }
        pub fn into_sorted_unique(self) -> Vec<usize> {
            let mut v = if self.len <= 4 {
                self.inline[..self.len].to_vec()
            } else {
                self.heap
            };
            v.sort_unstable();
            v.dedup();
            v
        }
    }
}

/// A snapshot in progress keeps the point-in-time image of every key `cmd` may touch before
/// it runs (see persistence/snapshot.rs). Called with the command's locks held, by dispatch
/// and by EXEC for each queued command.
pub fn protect_for_snapshot(
    server: &Server,
    cmd: &CommandSpec,
    args: &[Bytes],
    locks: &mut Locks<'_>,
) {
    if !server.snapshots.active() {
        return;
    }
    let ks = &server.keyspace;
    match locks {
        Locks::None => {}
        Locks::One(_, g) => {
            for p in cmd.keys.positions(args.len()) {
                server.snapshots.before_key_touch(g, &args[p]);
            }
        }
        Locks::Many(v) => {
            for p in cmd.keys.positions(args.len()) {
                let idx = ks.shard_of(&args[p]);
                if let Ok(i) = v.binary_search_by_key(&idx, |(i, _)| *i) {
                    server.snapshots.before_key_touch(&mut v[i].1, &args[p]);
                }
            }
        }
        Locks::All(v) => {
            if cmd.flags & flags::WRITE != 0 {
                v.iter_mut().for_each(|g| server.snapshots.before_touch(g));
            } else {
                // Key-addressed reads holding every lock (e.g. inside EXEC) may still
                // lazily expire their keys.
                for p in cmd.keys.positions(args.len()) {
                    let idx = ks.shard_of(&args[p]);
                    server.snapshots.before_key_touch(&mut v[idx], &args[p]);
                }
            }
        }
    }
}

/// Per-command counters for INFO commandstats.
#[derive(Default)]
pub struct CmdStat {
    /// Completed calls.
    pub calls: std::sync::atomic::AtomicU64,
    /// Total microseconds spent in the handler (with locking).
    pub usec: std::sync::atomic::AtomicU64,
    /// Refused before running (arity, auth, read-only replica...).
    pub rejected: std::sync::atomic::AtomicU64,
    /// Ran and replied with an error.
    pub failed: std::sync::atomic::AtomicU64,
}

fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

fn stats_table() -> &'static HashMap<&'static str, CmdStat> {
    static STATS: OnceLock<HashMap<&'static str, CmdStat>> = OnceLock::new();
    STATS.get_or_init(|| {
        all_commands()
            .map(|c| (c.name, CmdStat::default()))
            .collect()
    })
}

/// The counters of `cmd`.
pub fn cmd_stat(cmd: &CommandSpec) -> &'static CmdStat {
    static NONE: OnceLock<CmdStat> = OnceLock::new();
    stats_table()
        .get(cmd.name)
        .unwrap_or_else(|| NONE.get_or_init(CmdStat::default))
}

/// `(name, calls, usec, rejected, failed)` for every command called at least once, sorted.
pub fn command_stats() -> Vec<(&'static str, u64, u64, u64, u64)> {
    let mut v: Vec<_> = stats_table()
        .iter()
        .map(|(n, s)| {
            (
                *n,
                s.calls.load(Ordering::Relaxed),
                s.usec.load(Ordering::Relaxed),
                s.rejected.load(Ordering::Relaxed),
                s.failed.load(Ordering::Relaxed),
            )
        })
        .filter(|t| t.1 + t.3 + t.4 > 0)
        .collect();
    v.sort();
    v
}

/// CONFIG RESETSTAT.
pub fn reset_command_stats() {
    for s in stats_table().values() {
        s.calls.store(0, Ordering::Relaxed);
        s.usec.store(0, Ordering::Relaxed);
        s.rejected.store(0, Ordering::Relaxed);
        s.failed.store(0, Ordering::Relaxed);
    }
}

/// Container commands and their subcommands, as Redis 7.0 names them (`client|list`).
const SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "client",
        &[
            "client|caching",
            "client|getname",
            "client|getredir",
            "client|help",
            "client|id",
            "client|info",
            "client|kill",
            "client|list",
            "client|no-evict",
            "client|pause",
            "client|reply",
            "client|setname",
            "client|tracking",
            "client|trackinginfo",
            "client|unblock",
            "client|unpause",
        ],
    ),
    (
        "config",
        &[
            "config|get",
            "config|help",
            "config|resetstat",
            "config|rewrite",
            "config|set",
        ],
    ),
    (
        "command",
        &[
            "command|count",
            "command|docs",
            "command|getkeys",
            "command|getkeysandflags",
            "command|help",
            "command|info",
            "command|list",
        ],
    ),
    (
        "object",
        &[
            "object|encoding",
            "object|freq",
            "object|help",
            "object|idletime",
            "object|refcount",
        ],
    ),
    (
        "slowlog",
        &[
            "slowlog|get",
            "slowlog|help",
            "slowlog|len",
            "slowlog|reset",
        ],
    ),
    (
        "memory",
        &[
            "memory|doctor",
            "memory|help",
            "memory|malloc-stats",
            "memory|purge",
            "memory|stats",
            "memory|usage",
        ],
    ),
    (
        "latency",
        &[
            "latency|doctor",
            "latency|graph",
            "latency|help",
            "latency|histogram",
            "latency|history",
            "latency|latest",
            "latency|reset",
        ],
    ),
    (
        "pubsub",
        &[
            "pubsub|channels",
            "pubsub|help",
            "pubsub|numpat",
            "pubsub|numsub",
            "pubsub|shardchannels",
            "pubsub|shardnumsub",
        ],
    ),
];

/// The name CLIENT LIST's `cmd=` shows: `parent|sub` for container commands.
pub fn full_name(cmd: &'static CommandSpec, args: &[Bytes]) -> &'static str {
    let Some(sub) = args.get(1) else {
        return cmd.name;
    };
    for (parent, subs) in SUBCOMMANDS {
        if *parent == cmd.name {
            for full in subs.iter() {
                if full.as_bytes()[parent.len() + 1..].eq_ignore_ascii_case(sub) {
                    return full;
                }
            }
            break;
        }
    }
    cmd.name
}
