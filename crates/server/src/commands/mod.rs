//! The command table and what handlers see.
//!
//! Every command is one [`CommandSpec`] row in its family file (`string.rs`, `keys.rs`, ...),
//! next to its handler. [`FAMILIES`] lists the families; `COMMAND`, `COMMAND INFO` and
//! dispatch all read the same rows. A handler is synchronous: it gets a [`Ctx`] (the shards it
//! may touch are already locked) and the arguments, and returns the reply. What it changed is
//! recorded in the context (`dirty`, propagation effects) and written to the replication log
//! by dispatch before the locks are released.

pub mod bitmap;
pub mod connection;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod keys;
pub mod list;
pub mod persist;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod typed;
pub mod zset;

use crate::client::Client;
use crate::keyspace::{Entry, Shard, Table};
use crate::Server;
use bytes::Bytes;
use ferrodis_resp::Frame;
use parking_lot::MutexGuard;
use std::borrow::Cow;

/// A command's reply, or the error text sent instead.
pub type CmdResult = Result<Frame, CommandError>;

/// A command handler.
pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

/// Command flags, as `COMMAND INFO` reports them. Each is read somewhere:
pub mod flags {
    /// May modify the keyspace: refused on read-only replicas, propagated when it changed data.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads data.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory use: refused under `maxmemory` with noeviction.
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative command.
    pub const ADMIN: u32 = 1 << 3;
    /// Allowed while a replica's data is stale (link down, `replica-serve-stale-data no`).
    pub const STALE: u32 = 1 << 4;
    /// Allowed while the dataset is loading.
    pub const LOADING: u32 = 1 << 5;
    /// O(1) or O(log N).
    pub const FAST: u32 = 1 << 6;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 7;
    /// Takes every shard lock (no fixed key positions, or touches the whole keyspace).
    pub const ALL_KEYS: u32 = 1 << 8;
    /// Not written to the replication log even when it writes (handled specially).
    pub const NO_PROPAGATE: u32 = 1 << 9;
    /// Allowed in a MULTI queue? (`no-multi` when set).
    pub const NO_MULTI: u32 = 1 << 10;
    /// Pub/Sub command.
    pub const PUBSUB: u32 = 1 << 11;
    /// Not shown in MONITOR.
    pub const NO_MONITOR: u32 = 1 << 12;
    /// May be slow (non-FAST); only informational.
    pub const BLOCKING: u32 = 1 << 13;

    /// The names COMMAND INFO prints, in order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NO_MULTI, "no_multi"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (NO_AUTH, "no_auth"),
        (FAST, "fast"),
    ];
}

/// Where a command's keys are (Redis's first/last/step convention; `last` -1 is the last
/// argument, -2 the one before).
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// First key position, 0 for none.
    pub first: i32,
    /// Last key position (negative counts from the end).
    pub last: i32,
    /// Step between keys.
    pub step: i32,
}

impl KeySpec {
    /// No keys.
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
    };
    /// One key at position 1.
    pub const ONE: KeySpec = KeySpec {
        first: 1,
        last: 1,
        step: 1,
    };

    /// Positions of keys in `args`.
    pub fn positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let first = self.first.max(0) as usize;
        let last = if self.last < 0 {
            argc as i64 + self.last as i64
        } else {
            self.last as i64
        };
        let step = self.step.max(1) as usize;
        let end = if first == 0 || last < first as i64 {
            0
        } else {
            (last as usize + 1).min(argc)
        };
        (first..end).step_by(step)
    }
}

/// One row of the command table.
pub struct CommandSpec {
    /// Lower-case name, as Redis 7.0's `fullname` (used in error messages).
    pub name: &'static str,
    /// Redis arity: N exact, -N at least N (the name counts).
    pub arity: i32,
    /// See [`flags`].
    pub flags: u32,
    /// Key positions.
    pub keys: KeySpec,
    /// The handler.
    pub handler: Handler,
    /// The Redis group (COMMAND DOCS).
    pub group: &'static str,
}

/// Builds a table row.
pub const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    group: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        handler,
        group,
    }
}

/// Every family's table.
pub const FAMILIES: &[&[CommandSpec]] = &[
    connection::COMMANDS,
    string::COMMANDS,
    keys::COMMANDS,
    server::COMMANDS,
    persist::COMMANDS,
    hash::COMMANDS,
    set::COMMANDS,
    zset::COMMANDS,
    list::COMMANDS,
    crate::multi::COMMANDS,
    crate::pubsub::COMMANDS,
    bitmap::COMMANDS,
    hll::COMMANDS,
    geo::COMMANDS,
    sort::COMMANDS,
    stream::COMMANDS,
    crate::replication::master::COMMANDS,
    crate::replication::replica::COMMANDS,
    crate::replication::admin::COMMANDS,
    scripting::COMMANDS,
];

/// A command error: the exact text after `-` in the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError(pub Cow<'static, str>);

impl CommandError {
    /// An error with static text.
    pub const fn new(s: &'static str) -> Self {
        CommandError(Cow::Borrowed(s))
    }
    /// An error with formatted text.
    pub fn msg(s: String) -> Self {
        CommandError(Cow::Owned(s))
    }
}

/// Redis's standard error texts.
pub mod err {
    use super::CommandError;
    pub const SYNTAX: CommandError = CommandError::new("ERR syntax error");
    pub const WRONGTYPE: CommandError =
        CommandError::new("WRONGTYPE Operation against a key holding the wrong kind of value");
    pub const NOT_INT: CommandError =
        CommandError::new("ERR value is not an integer or out of range");
    pub const NOT_FLOAT: CommandError = CommandError::new("ERR value is not a valid float");
    pub const NO_KEY: CommandError = CommandError::new("ERR no such key");
    pub const OVERFLOW: CommandError =
        CommandError::new("ERR increment or decrement would overflow");
    pub const DB_INDEX: CommandError = CommandError::new("ERR DB index is out of range");
    pub const INVALID_DB: CommandError = CommandError::new("ERR invalid DB index");
    pub const NOT_INT_OR_RANGE: CommandError = NOT_INT;
    pub const STRING_TOO_LONG: CommandError =
        CommandError::new("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
}

/// Effects to write to the replication log, in order, per database.
#[derive(Default)]
pub struct Effects {
    /// `(db, argv)` in apply order.
    pub cmds: Vec<(usize, Vec<Bytes>)>,
}

/// The shard locks a command holds.
pub enum Locks<'a> {
    /// No keyspace access.
    None,
    /// One shard.
    One(usize, MutexGuard<'a, Shard>),
    /// Several shards, sorted by index.
    Many(Vec<(usize, MutexGuard<'a, Shard>)>),
    /// Every shard, by index.
    All(Vec<MutexGuard<'a, Shard>>),
}

/// What a handler works with.
pub struct Ctx<'a> {
    /// The server.
    pub server: &'a Server,
    /// The calling client's state (db, auth, protocol...).
    pub client: &'a mut Client,
    /// Locked shards.
    pub locks: Locks<'a>,
    /// Changes made (feeds save points and decides propagation).
    pub dirty: u64,
    /// Replication effects recorded so far (expired-key deletions, custom forms).
    pub effects: Effects,
    /// When true, dispatch does not append the command's own argv (the handler recorded the
    /// deterministic form itself, or there is nothing to send).
    pub custom_propagation: bool,
    /// Command time in Unix ms, fixed for the whole command (as Redis's `mstime` cache).
    pub now: i64,
    /// Keyspace hits/misses recorded by lookups.
    pub hits: u64,
    /// See `hits`.
    pub misses: u64,
    /// Set by handlers whose lookups are not accesses for eviction (TYPE, EXISTS, OBJECT),
    /// Redis's `LOOKUP_NOTOUCH`.
    pub no_touch: bool,
}

impl<'a> Ctx<'a> {
    /// The client's current database.
    #[inline]
    pub fn db(&self) -> usize {
        self.client.db
    }

    /// The table holding `key` in database `db`. The shard must be locked by dispatch.
    pub fn table_in(&mut self, db: usize, key: &[u8]) -> &mut Table {
        let idx = self.server.keyspace.shard_of(key);
        let shard: &mut Shard = match &mut self.locks {
            Locks::One(i, g) if *i == idx => g,
            Locks::Many(v) => match v.binary_search_by_key(&idx, |(i, _)| *i) {
                Ok(p) => &mut v[p].1,
                Err(_) => panic!("shard {idx} not locked for key access"),
            },
            Locks::All(v) => &mut v[idx],
            _ => panic!("shard {idx} not locked for key access"),
        };
        &mut shard.dbs[db]
    }

    /// The table holding `key` in the client's database.
    #[inline]
    pub fn table(&mut self, key: &[u8]) -> &mut Table {
        let db = self.client.db;
        self.table_in(db, key)
    }

    /// All locked shards' tables for `db` (commands holding every lock: KEYS, SCAN, DBSIZE...).
    pub fn all_tables<'s>(
        &'s mut self,
        db: usize,
    ) -> impl Iterator<Item = &'s mut Table> + use<'s, 'a> {
        let v: &mut Vec<MutexGuard<'a, Shard>> = match &mut self.locks {
            Locks::All(v) => v,
            _ => panic!("command needs ALL_KEYS locks"),
        };
        v.iter_mut().map(move |s| &mut s.dbs[db])
    }

    /// All locked shards (every database).
    pub fn all_shards(&mut self) -> &mut Vec<MutexGuard<'a, Shard>> {
        match &mut self.locks {
            Locks::All(v) => v,
            _ => panic!("command needs ALL_KEYS locks"),
        }
    }

    /// Calls `f` with shard `i`: through the lock this command already holds on it (inside
    /// EXEC or a script a handler may run with some or all shards locked, and the mutexes
    /// are not reentrant), or by locking it for the call.
    pub fn with_shard<R>(&self, i: usize, f: impl FnOnce(&Shard) -> R) -> R {
        match &self.locks {
            Locks::All(v) => f(&v[i]),
            Locks::One(j, g) if *j == i => f(g),
            Locks::Many(v) => match v.binary_search_by_key(&i, |(j, _)| *j) {
                Ok(k) => f(&v[k].1),
                Err(_) => f(&self.server.keyspace.lock(i)),
            },
            _ => f(&self.server.keyspace.lock(i)),
        }
    }

    /// True when this node is a replica (it hides but never deletes expired keys).
    pub fn is_replica(&self) -> bool {
        self.server.is_replica()
    }

    /// Position of `key` in `db` if it is live. A logically expired key is deleted on a
    /// master (recording a `DEL` for the log) and reported absent; a replica only hides it.
    /// One hash probe in the common case.
    pub fn live_position(&mut self, db: usize, key: &[u8]) -> Option<usize> {
        let now = self.now;
        let touch = !self.no_touch;
        let t = self.table_in(db, key);
        let pos = t.position(key)?;
        let e = t.at_mut(pos)?;
        let exp = e.expire_at;
        if exp == 0 || exp > now {
            if touch {
                e.access = crate::keyspace::access::touched(e.access);
            }
            return Some(pos);
        }
        if self.is_replica() && !self.client.is_master {
            return None;
        }
        if self.server.admin.writes_paused() && !self.client.is_master {
            // SHUTDOWN/FAILOVER wait for replicas to reach the current offset: expired, but
            // no DEL now (Redis's expireIfNeeded does the same while clients are paused).
            return None;
        }
        if self.client.is_master {
            // Applying our master's stream: its DEL will come; keep the key meanwhile.
            return Some(pos);
        }
        self.table_in(db, key).remove(key);
        self.server
            .stats
            .expired_keys
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.notify_in(db, ferrodis_config::notify::EXPIRED, "expired", key);
        self.effects.cmds.push((
            db,
            vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)],
        ));
        None
    }

    /// Expires `key` in `db` if its time has passed (see [`Ctx::live_position`]). Returns
    /// true if the key is (logically) expired or absent... precisely: true when it was expired.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        let now = self.now;
        let expired = matches!(self.table_in(db, key).get(key), Some(e) if e.expire_at != 0 && e.expire_at <= now);
        if expired && self.client.is_master {
            // Applying our master's stream: the key is still there for its commands (the
            // master's own DEL for it must delete it), as Redis's expireIfNeeded.
            return false;
        }
        if expired {
            self.live_position(db, key);
        }
        expired
    }

    /// Looks `key` up for reading in the current db, counting a hit or miss.
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&Entry> {
        let db = self.client.db;
        match self.live_position(db, key) {
            Some(p) => {
                self.hits += 1;
                self.table_in(db, key).at(p)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Looks `key` up for writing (expired keys are removed first; no hit/miss stats).
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let db = self.client.db;
        self.lookup_write_in(db, key)
    }

    /// [`Ctx::lookup_write`] in a given database.
    pub fn lookup_write_in(&mut self, db: usize, key: &[u8]) -> Option<&mut Entry> {
        let p = self.live_position(db, key)?;
        self.table_in(db, key).at_mut(p)
    }

    /// Records a replication effect in the current db, and turns off default propagation.
    pub fn propagate(&mut self, argv: Vec<Bytes>) {
        let db = self.client.db;
        self.custom_propagation = true;
        self.effects.cmds.push((db, argv));
    }

    /// Marks one change to the dataset.
    #[inline]
    pub fn changed(&mut self) {
        self.dirty += 1;
    }

    /// Keyspace notification hook: publishes `event` about `key` (current db) when
    /// `notify-keyspace-events` enables `class` (a `ferrodis_config::notify` bit such as
    /// `notify::LIST`). One atomic load when notifications are off. See `pubsub.rs`.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        let db = self.client.db;
        crate::pubsub::notify_keyspace_event(self.server, class, event, key, db);
    }

    /// [`Ctx::notify`] for a key in database `db`.
    #[inline]
    pub fn notify_in(&mut self, db: usize, class: u32, event: &str, key: &[u8]) {
        crate::pubsub::notify_keyspace_event(self.server, class, event, key, db);
    }

    /// Tells WATCH and blocked clients that `key` (current db) changed. Dispatch does this for
    /// every key position of a write command that changed data; commands whose keys are not
    /// in their key positions (`ALL_KEYS`: LMPOP, MOVE's target db...) call it themselves.
    pub fn key_modified(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.key_modified_in(db, key);
    }

    /// [`Ctx::key_modified`] in database `db`.
    pub fn key_modified_in(&mut self, db: usize, key: &[u8]) {
        self.server.watches.touch(db, key);
        if self.server.blocking.has_waiters() {
            self.server.blocking.signal(db, key);
        }
    }
}

/// An argument cursor for option parsing.
pub struct Args<'b> {
    args: &'b [Bytes],
    pos: usize,
}

impl<'b> Args<'b> {
    /// Starts at position `pos`.
    pub fn new(args: &'b [Bytes], pos: usize) -> Self {
        Args { args, pos }
    }
    /// True when no arguments are left.
    pub fn done(&self) -> bool {
        self.pos >= self.args.len()
    }
    /// Arguments left.
    pub fn remaining(&self) -> usize {
        self.args.len().saturating_sub(self.pos)
    }
    /// The next argument.
    pub fn next_arg(&mut self) -> Option<&'b Bytes> {
        let a = self.args.get(self.pos)?;
        self.pos += 1;
        Some(a)
    }
    /// The next argument or a syntax error.
    pub fn next_or_syntax(&mut self) -> Result<&'b Bytes, CommandError> {
        self.next_arg().ok_or(err::SYNTAX)
    }
    /// Peeks at the next argument, upper-cased comparison helper.
    pub fn peek_is(&self, kw: &str) -> bool {
        self.args
            .get(self.pos)
            .is_some_and(|a| a.eq_ignore_ascii_case(kw.as_bytes()))
    }
    /// The next integer argument.
    pub fn next_i64(&mut self) -> Result<i64, CommandError> {
        let a = self.next_or_syntax()?;
        crate::util::parse_i64(a).ok_or(err::NOT_INT)
    }
}

/// Parses an integer argument.
pub fn arg_i64(a: &[u8]) -> Result<i64, CommandError> {
    crate::util::parse_i64(a).ok_or(err::NOT_INT)
}

/// Case-insensitive keyword check.
#[inline]
pub fn is_kw(a: &[u8], kw: &str) -> bool {
    a.eq_ignore_ascii_case(kw.as_bytes())
}

/// A bulk reply from a slice.
#[inline]
pub fn bulk(b: &[u8]) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(b))
}

/// A HELP subcommand's reply: one status line per entry, as Redis sends them.
pub fn help_reply(lines: &[&'static str]) -> Frame {
    Frame::Array(
        lines
            .iter()
            .map(|s| Frame::Simple(Bytes::from_static(s.as_bytes())))
            .collect(),
    )
}

/// `+OK`
pub fn ok() -> CmdResult {
    Ok(Frame::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_invariants() {
        let mut seen = HashSet::new();
        for fam in FAMILIES {
            for c in fam.iter() {
                assert!(seen.insert(c.name), "duplicate {}", c.name);
                assert_eq!(c.name, c.name.to_lowercase());
                assert_ne!(c.arity, 0, "{}", c.name);
                assert!(
                    !(c.flags & flags::WRITE != 0 && c.flags & flags::READONLY != 0),
                    "{} both write and readonly",
                    c.name
                );
                if c.keys.first > 0 && c.arity > 0 {
                    assert!(
                        c.keys.first < c.arity,
                        "{} key position beyond arity",
                        c.name
                    );
                }
            }
        }
    }
}
