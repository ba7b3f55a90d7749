//! The directive table: one row per directive redis-server 7.0 accepts.
//!
//! Each row names the directive, its aliases, its value type (which also fixes how a value
//! parses and which error text a bad value gets), its default as CONFIG GET prints it, and
//! whether CONFIG SET may change it. Rows for directives the server acts on point at a typed
//! [`Config`] field; the rest are validated the same way and stored in [`Config::other`].
//!
//! `include`, `rename-command`, `user`, `loadmodule` and `sentinel` are not rows: they are
//! file-only statements handled by the loader (`load.rs`).

use crate::model::*;
use crate::values::*;
use std::path::PathBuf;

/// Whether and how CONFIG SET may change a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// CONFIG SET may change it.
    Runtime,
    /// Startup only: "can't set immutable config".
    Immutable,
    /// Settable only when `enable-protected-configs` allows it: "can't set protected config".
    Protected,
}

/// The value type of a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes` / `no`.
    Bool,
    /// Integer within an inclusive range (strict syntax: no `+`, no leading zeros).
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// Byte count with optional unit (`k kb m mb g gb`), within an inclusive range.
    Memory {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A memory value or a percentage like `10%` (`maxmemory-clients`).
    MemoryOrPercent,
    /// One of fixed names, case-insensitive.
    Enum(&'static [&'static str]),
    /// Free text.
    String,
    /// Directive-specific syntax, described by the text.
    Special(&'static str),
}

/// Typed access to where a directive's value lives.
#[derive(Clone, Copy)]
pub(crate) enum Access {
    Bool(fn(&Config) -> bool, fn(&mut Config, bool)),
    Int(fn(&Config) -> i64, fn(&mut Config, i64)),
    Mem(fn(&Config) -> u64, fn(&mut Config, u64)),
    Enum(fn(&Config) -> &'static str, fn(&mut Config, &[u8]) -> bool),
    /// Getter, setter (may reject), and whether "" means unset (Redis's NULL string: the line
    /// is dropped by CONFIG REWRITE).
    Str(
        fn(&Config) -> String,
        fn(&mut Config, String) -> Result<(), String>,
        bool,
    ),
    /// Multi-argument or odd syntax: getter, setter, CONFIG REWRITE lines (None = no line).
    Special(
        fn(&Config) -> String,
        SpecialSet,
        fn(&Config) -> Option<Vec<String>>,
    ),
    /// Stored in `Config::other`, validated according to `Kind`.
    Other,
}

pub(crate) type SpecialSet = fn(&mut Config, &[Vec<u8>], &mut ApplyCtx) -> Result<(), String>;

/// State that lives for one load (file + stdin + options) or one CONFIG SET.
#[derive(Debug, Default)]
pub(crate) struct ApplyCtx {
    /// Reading the startup configuration (not CONFIG SET).
    pub(crate) from_file: bool,
    /// A `save` line was already seen in this load (the first one drops the defaults).
    pub(crate) save_loaded: bool,
}

/// One directive.
#[derive(Clone, Copy)]
pub struct Directive {
    /// Canonical name, lower case.
    pub name: &'static str,
    /// Other accepted names (CONFIG GET lists them too).
    pub aliases: &'static [&'static str],
    /// Value type.
    pub kind: Kind,
    /// Default, formatted as CONFIG GET shows it (`dir`: the current directory).
    pub default: &'static str,
    /// Whether CONFIG SET may change it.
    pub mutability: Mutability,
    pub(crate) access: Access,
}

impl std::fmt::Debug for Directive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directive")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Directive {
    /// True when a typed [`Config`] field holds the value (the server reads it); false when it
    /// is only validated and stored in [`Config::other`].
    pub fn is_typed(&self) -> bool {
        !matches!(self.access, Access::Other)
    }

    /// The current value, formatted as CONFIG GET shows it.
    pub fn get(&self, c: &Config) -> String {
        match self.access {
            Access::Bool(g, _) => fmt_bool(g(c)).to_string(),
            Access::Int(g, _) => g(c).to_string(),
            Access::Mem(g, _) => g(c).to_string(),
            Access::Enum(g, _) => g(c).to_string(),
            Access::Str(g, _, _) => g(c),
            Access::Special(g, _, _) => g(c),
            Access::Other => c
                .other
                .get(self.name)
                .cloned()
                .unwrap_or_else(|| self.default.to_string()),
        }
    }

    /// Parses and stores `args` (the words after the directive name). The error is Redis's
    /// reason text.
    pub(crate) fn apply(
        &self,
        c: &mut Config,
        args: &[Vec<u8>],
        ctx: &mut ApplyCtx,
    ) -> Result<(), String> {
        if let Access::Special(_, set, _) = self.access {
            return set(c, args, ctx);
        }
        let [v] = args else {
            return Err("wrong number of arguments".to_string());
        };
        let formatted = match self.kind {
            Kind::Bool => {
                let b = parse_bool(v).ok_or(ERR_NOT_BOOL)?;
                if let Access::Bool(_, set) = self.access {
                    set(c, b);
                }
                fmt_bool(b).to_string()
            }
            Kind::Int { min, max } => {
                let n = parse_strict_i64(v).ok_or(ERR_NOT_INT)?;
                if n < min || n > max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                if let Access::Int(_, set) = self.access {
                    set(c, n);
                }
                n.to_string()
            }
            Kind::Memory { min, max } => {
                let n = parse_memory(v).ok_or(ERR_NOT_MEMORY)?;
                if n < min || n > max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                if let Access::Mem(_, set) = self.access {
                    set(c, n);
                }
                n.to_string()
            }
            Kind::MemoryOrPercent => match v.strip_suffix(b"%") {
                Some(p) => match parse_strict_i64(p) {
                    Some(n) if n >= 0 => format!("{n}%"),
                    _ => return Err("argument must be a memory or percent value".to_string()),
                },
                None => parse_memory(v)
                    .ok_or("argument must be a memory or percent value")?
                    .to_string(),
            },
            Kind::Enum(names) => {
                let Some(i) = names
                    .iter()
                    .position(|n| n.as_bytes().eq_ignore_ascii_case(v))
                else {
                    return Err(format!(
                        "argument(s) must be one of the following: {}",
                        names.join(", ")
                    ));
                };
                if let Access::Enum(_, set) = self.access {
                    set(c, v);
                }
                names[i].to_string()
            }
            Kind::String | Kind::Special(_) => {
                let s = text(v);
                if let Access::Str(_, set, _) = self.access {
                    set(c, s.clone())?;
                }
                s
            }
        };
        if let Access::Other = self.access {
            if formatted == self.default {
                c.other.remove(self.name);
            } else {
                c.other.insert(self.name, formatted);
            }
        }
        Ok(())
    }

    /// The lines CONFIG REWRITE writes for the current value, and whether they must be written
    /// even when the file has no line for this directive yet ("force": the value is not the
    /// default). `None` means the directive must have no line (a NULL string, `replicaof` unset).
    pub(crate) fn rewrite_lines(&self, c: &Config) -> (Option<Vec<String>>, bool) {
        let cur = self.get(c);
        let force = cur != self.default;
        match self.access {
            Access::Special(_, _, rw) => {
                (rw(c), force || self.name == "save" || self.name == "dir")
            }
            Access::Str(_, _, null_if_empty) => {
                if null_if_empty && cur.is_empty() {
                    (None, false)
                } else {
                    (
                        Some(vec![format!("{} {}", self.name, repr(cur.as_bytes()))]),
                        force,
                    )
                }
            }
            Access::Other if self.kind == Kind::String => (
                Some(vec![format!("{} {}", self.name, repr(cur.as_bytes()))]),
                force,
            ),
            Access::Mem(g, _) => (
                Some(vec![format!("{} {}", self.name, fmt_memory_rewrite(g(c)))]),
                force,
            ),
            Access::Other if matches!(self.kind, Kind::Memory { .. }) => {
                let n = cur.parse::<u64>().map(fmt_memory_rewrite).unwrap_or(cur);
                (Some(vec![format!("{} {}", self.name, n)]), force)
            }
            _ => (Some(vec![format!("{} {}", self.name, cur)]), force),
        }
    }
}

/// Finds a directive by name or alias, case-insensitive.
pub fn lookup(name: &[u8]) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| {
        d.name.as_bytes().eq_ignore_ascii_case(name)
            || d.aliases
                .iter()
                .any(|a| a.as_bytes().eq_ignore_ascii_case(name))
    })
}

const I32: i64 = i32::MAX as i64;
const I64: i64 = i64::MAX;
const U32: i64 = u32::MAX as i64;
const M64: u64 = i64::MAX as u64;

use Mutability::{Immutable as IMM, Protected as PROT, Runtime as RT};

macro_rules! row {
    ($name:literal, [$($alias:literal),*], $kind:expr, $def:literal, $mu:expr, $access:expr) => {
        Directive { name: $name, aliases: &[$($alias),*], kind: $kind, default: $def, mutability: $mu, access: $access }
    };
}
macro_rules! bool_f {
    ($name:literal, [$($alias:literal),*], $field:ident, $def:literal, $mu:expr) => {
        row!($name, [$($alias),*], Kind::Bool, $def, $mu, Access::Bool(|c| c.$field, |c, v| c.$field = v))
    };
}
macro_rules! int_f {
    ($name:literal, [$($alias:literal),*], $field:ident: $ty:ty, $min:expr, $max:expr, $def:literal, $mu:expr) => {
        row!($name, [$($alias),*], Kind::Int { min: $min, max: $max }, $def, $mu,
            Access::Int(|c| c.$field as i64, |c, v| c.$field = v as $ty))
    };
}
macro_rules! mem_f {
    ($name:literal, [$($alias:literal),*], $field:ident, $min:expr, $max:expr, $def:literal, $mu:expr) => {
        row!($name, [$($alias),*], Kind::Memory { min: $min, max: $max }, $def, $mu,
            Access::Mem(|c| c.$field, |c, v| c.$field = v))
    };
}
macro_rules! enum_f {
    ($name:literal, $field:ident: $ty:ident, $def:literal, $mu:expr) => {
        row!(
            $name,
            [],
            Kind::Enum($ty::NAMES),
            $def,
            $mu,
            Access::Enum(
                |c| c.$field.as_str(),
                |c, v| {
                    match $ty::from_name(v) {
                        Some(x) => {
                            c.$field = x;
                            true
                        }
                        None => false,
                    }
                }
            )
        )
    };
}
macro_rules! opt_str_f {
    ($name:literal, [$($alias:literal),*], $field:ident, $mu:expr) => {
        row!($name, [$($alias),*], Kind::String, "", $mu, Access::Str(
            |c| c.$field.clone().unwrap_or_default(),
            |c, v| { c.$field = if v.is_empty() { None } else { Some(v) }; Ok(()) },
            true))
    };
}
macro_rules! other {
    ($name:literal, [$($alias:literal),*], $kind:expr, $def:literal, $mu:expr) => {
        row!($name, [$($alias),*], $kind, $def, $mu, Access::Other)
    };
}
const BOOL: Kind = Kind::Bool;
const STR: Kind = Kind::String;
const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
const fn mem(min: u64, max: u64) -> Kind {
    Kind::Memory { min, max }
}

/// Every directive, in a stable order (the order of CONFIG GET `*` and of docs/configuration.md).
pub static DIRECTIVES: &[Directive] = &[
    // --- network
    int_f!("port", [], port: u16, 0, 65535, "6379", RT),
    row!(
        "bind",
        [],
        Kind::Special("address ... (up to 16; CONFIG SET takes one space-separated string)"),
        "* -::*",
        RT,
        Access::Special(
            |c| c.bind.join(" "),
            crate::special::set_bind,
            crate::special::rewrite_bind
        )
    ),
    bool_f!("protected-mode", [], protected_mode, "yes", RT),
    int_f!("tcp-backlog", [], tcp_backlog: u32, 0, I32, "511", IMM),
    int_f!("tcp-keepalive", [], tcp_keepalive: u64, 0, I32, "300", RT),
    int_f!("timeout", [], timeout: u64, 0, I32, "0", RT),
    row!(
        "unixsocket",
        [],
        STR,
        "",
        IMM,
        Access::Str(
            |c| c
                .unixsocket
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            |c, v| {
                c.unixsocket = (!v.is_empty()).then(|| PathBuf::from(v));
                Ok(())
            },
            true
        )
    ),
    row!(
        "unixsocketperm",
        [],
        Kind::Special("octal permissions, e.g. 700"),
        "0",
        IMM,
        Access::Special(
            |c| format!("{:o}", c.unixsocketperm),
            crate::special::set_unixsocketperm,
            crate::special::rewrite_unixsocketperm
        )
    ),
    int_f!("maxclients", [], maxclients: u32, 1, U32, "10000", RT),
    mem_f!(
        "proto-max-bulk-len",
        [],
        proto_max_bulk_len,
        1 << 20,
        M64,
        "536870912",
        RT
    ),
    mem_f!(
        "client-query-buffer-limit",
        [],
        client_query_buffer_limit,
        1 << 20,
        M64,
        "1073741824",
        RT
    ),
    row!(
        "client-output-buffer-limit",
        [],
        Kind::Special(
            "<class> <hard> <soft> <soft-seconds> ..., class normal|replica|slave|pubsub"
        ),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        RT,
        Access::Special(
            crate::special::get_cobl,
            crate::special::set_cobl,
            crate::special::rewrite_cobl
        )
    ),
    int_f!("io-threads", [], io_threads: u32, 1, 128, "1", IMM),
    bool_f!("io-threads-do-reads", [], io_threads_do_reads, "no", IMM),
    other!("bind-source-addr", [], STR, "", RT),
    other!("socket-mark-id", [], int(0, U32), "0", IMM),
    // --- process
    bool_f!("daemonize", [], daemonize, "no", IMM),
    enum_f!("supervised", supervised: Supervised, "no", IMM),
    row!(
        "pidfile",
        [],
        STR,
        "",
        IMM,
        Access::Str(
            |c| c
                .pidfile
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            |c, v| {
                c.pidfile = (!v.is_empty()).then(|| PathBuf::from(v));
                Ok(())
            },
            true
        )
    ),
    row!(
        "logfile",
        [],
        STR,
        "",
        IMM,
        Access::Str(
            |c| c.logfile.clone(),
            |c, v| {
                c.logfile = v;
                Ok(())
            },
            false
        )
    ),
    enum_f!("loglevel", loglevel: LogLevel, "notice", RT),
    bool_f!("always-show-logo", [], always_show_logo, "no", IMM),
    bool_f!("set-proc-title", [], set_proc_title, "yes", IMM),
    other!(
        "proc-title-template",
        [],
        STR,
        "{title} {listen-addr} {server-mode}",
        RT
    ),
    bool_f!("crash-log-enabled", [], crash_log_enabled, "yes", RT),
    other!("crash-memcheck-enabled", [], BOOL, "yes", RT),
    bool_f!("jemalloc-bg-thread", [], jemalloc_bg_thread, "yes", RT),
    row!(
        "hz",
        [],
        int(0, I32),
        "10",
        RT,
        Access::Int(|c| i64::from(c.hz), |c, v| c.hz = v.clamp(1, 500) as u32)
    ),
    bool_f!("dynamic-hz", [], dynamic_hz, "yes", RT),
    int_f!("shutdown-timeout", [], shutdown_timeout: u64, 0, I32, "10", RT),
    row!(
        "shutdown-on-sigint",
        [],
        Kind::Special("default | one or more of save nosave now force"),
        "default",
        RT,
        Access::Special(
            |c| crate::special::get_other(c, "shutdown-on-sigint", "default"),
            crate::special::set_shutdown_on_sigint,
            |c| crate::special::rewrite_shutdown_on_sig(c, "shutdown-on-sigint")
        )
    ),
    row!(
        "shutdown-on-sigterm",
        [],
        Kind::Special("default | one or more of save nosave now force"),
        "default",
        RT,
        Access::Special(
            |c| crate::special::get_other(c, "shutdown-on-sigterm", "default"),
            crate::special::set_shutdown_on_sigterm,
            |c| crate::special::rewrite_shutdown_on_sig(c, "shutdown-on-sigterm")
        )
    ),
    enum_f!("enable-debug-command", enable_debug_command: EnableOption, "no", IMM),
    enum_f!("enable-protected-configs", enable_protected_configs: EnableOption, "no", IMM),
    other!(
        "enable-module-command",
        [],
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        IMM
    ),
    other!("disable-thp", [], BOOL, "yes", IMM),
    other!(
        "oom-score-adj",
        [],
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
        "no",
        RT
    ),
    row!(
        "oom-score-adj-values",
        [],
        Kind::Special("<replica> <master> <bgchild>, each -2000..2000"),
        "0 200 800",
        RT,
        Access::Special(
            |c| crate::special::get_other(c, "oom-score-adj-values", "0 200 800"),
            crate::special::set_oom_values,
            |c| Some(vec![format!(
                "oom-score-adj-values {}",
                crate::special::get_other(c, "oom-score-adj-values", "0 200 800")
            )])
        )
    ),
    other!("syslog-enabled", [], BOOL, "no", IMM),
    other!("syslog-ident", [], STR, "redis", IMM),
    other!(
        "syslog-facility",
        [],
        Kind::Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"
        ]),
        "local0",
        IMM
    ),
    other!("server_cpulist", [], STR, "", IMM),
    other!("bio_cpulist", [], STR, "", IMM),
    other!("aof_rewrite_cpulist", [], STR, "", IMM),
    other!("bgsave_cpulist", [], STR, "", IMM),
    other!("ignore-warnings", [], STR, "", RT),
    // --- keyspace & persistence
    int_f!("databases", [], databases: usize, 1, I32, "16", IMM),
    row!(
        "dir",
        [],
        Kind::Special("existing directory"),
        "",
        PROT,
        Access::Special(
            |c| c.dir.display().to_string(),
            crate::special::set_dir,
            |c| Some(vec![format!(
                "dir {}",
                repr(c.dir.display().to_string().as_bytes())
            )])
        )
    ),
    row!(
        "dbfilename",
        [],
        STR,
        "dump.rdb",
        PROT,
        Access::Str(
            |c| c.dbfilename.clone(),
            |c, v| {
                if v.contains('/') {
                    return Err("dbfilename can't be a path, just a filename".to_string());
                }
                c.dbfilename = v;
                Ok(())
            },
            false
        )
    ),
    row!(
        "save",
        [],
        Kind::Special("<seconds> <changes> [<seconds> <changes> ...] or \"\""),
        "3600 1 300 100 60 10000",
        RT,
        Access::Special(
            crate::special::get_save,
            crate::special::set_save,
            crate::special::rewrite_save
        )
    ),
    bool_f!("rdbcompression", [], rdbcompression, "yes", RT),
    bool_f!("rdbchecksum", [], rdbchecksum, "yes", IMM),
    bool_f!("rdb-del-sync-files", [], rdb_del_sync_files, "no", RT),
    // Test-only (Redis's DEBUG_CONFIG | HIDDEN_CONFIG): not listed by `CONFIG GET *`.
    other!("rdb-key-save-delay", [], int(i32::MIN as i64, I32), "0", RT),
    other!("key-load-delay", [], int(i32::MIN as i64, I32), "0", RT),
    other!(
        "loading-process-events-interval-bytes",
        [],
        int(1024, I32),
        "2097152",
        RT
    ),
    other!("rdb-save-incremental-fsync", [], BOOL, "yes", RT),
    bool_f!(
        "stop-writes-on-bgsave-error",
        [],
        stop_writes_on_bgsave_error,
        "yes",
        RT
    ),
    other!(
        "sanitize-dump-payload",
        [],
        Kind::Enum(&["no", "yes", "clients"]),
        "no",
        RT
    ),
    bool_f!("appendonly", [], appendonly, "no", RT),
    row!(
        "appendfilename",
        [],
        STR,
        "appendonly.aof",
        IMM,
        Access::Str(
            |c| c.appendfilename.clone(),
            |c, v| {
                if v.contains('/') {
                    return Err("appendfilename can't be a path, just a filename".to_string());
                }
                c.appendfilename = v;
                Ok(())
            },
            false
        )
    ),
    other!("appenddirname", [], STR, "appendonlydir", IMM),
    enum_f!("appendfsync", appendfsync: AppendFsync, "everysec", RT),
    other!("no-appendfsync-on-rewrite", [], BOOL, "no", RT),
    other!("auto-aof-rewrite-percentage", [], int(0, I32), "100", RT),
    other!("auto-aof-rewrite-min-size", [], mem(0, M64), "67108864", RT),
    other!("aof-load-truncated", [], BOOL, "yes", RT),
    other!("aof-use-rdb-preamble", [], BOOL, "yes", RT),
    other!("aof-rewrite-incremental-fsync", [], BOOL, "yes", RT),
    other!("aof-timestamp-enabled", [], BOOL, "no", RT),
    other!("aof-disable-auto-gc", [], BOOL, "no", RT),
    // --- security
    opt_str_f!("requirepass", [], requirepass, RT),
    int_f!("acllog-max-len", [], acllog_max_len: u64, 0, I64, "128", RT),
    other!("aclfile", [], STR, "", IMM),
    other!(
        "acl-pubsub-default",
        [],
        Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
        RT
    ),
    // --- replication
    row!(
        "replicaof",
        ["slaveof"],
        Kind::Special("<host> <port> | no one"),
        "",
        IMM,
        Access::Special(
            |c| c
                .replicaof
                .as_ref()
                .map(|r| format!("{} {}", r.host, r.port))
                .unwrap_or_default(),
            crate::special::set_replicaof,
            |c| c
                .replicaof
                .as_ref()
                .map(|r| vec![format!("replicaof {} {}", r.host, r.port)])
        )
    ),
    opt_str_f!("masterauth", [], masterauth, RT),
    opt_str_f!("masteruser", [], masteruser, RT),
    bool_f!(
        "replica-read-only",
        ["slave-read-only"],
        replica_read_only,
        "yes",
        RT
    ),
    bool_f!(
        "replica-serve-stale-data",
        ["slave-serve-stale-data"],
        replica_serve_stale_data,
        "yes",
        RT
    ),
    int_f!("replica-priority", ["slave-priority"], replica_priority: u32, 0, I32, "100", RT),
    opt_str_f!(
        "replica-announce-ip",
        ["slave-announce-ip"],
        replica_announce_ip,
        RT
    ),
    int_f!("replica-announce-port", ["slave-announce-port"], replica_announce_port: u16, 0, 65535, "0", RT),
    bool_f!("replica-announced", [], replica_announced, "yes", RT),
    bool_f!(
        "replica-lazy-flush",
        ["slave-lazy-flush"],
        replica_lazy_flush,
        "no",
        RT
    ),
    bool_f!(
        "replica-ignore-maxmemory",
        ["slave-ignore-maxmemory"],
        replica_ignore_maxmemory,
        "yes",
        RT
    ),
    other!("replica-ignore-disk-write-errors", [], BOOL, "no", RT),
    bool_f!("repl-diskless-sync", [], repl_diskless_sync, "yes", RT),
    int_f!("repl-diskless-sync-delay", [], repl_diskless_sync_delay: u64, 0, I32, "5", RT),
    int_f!("repl-diskless-sync-max-replicas", [], repl_diskless_sync_max_replicas: u64, 0, I32, "0", RT),
    enum_f!("repl-diskless-load", repl_diskless_load: ReplDisklessLoad, "disabled", RT),
    int_f!("repl-ping-replica-period", ["repl-ping-slave-period"], repl_ping_replica_period: u64, 1, I32, "10", RT),
    int_f!("repl-timeout", [], repl_timeout: u64, 1, I32, "60", RT),
    bool_f!(
        "repl-disable-tcp-nodelay",
        [],
        repl_disable_tcp_nodelay,
        "no",
        RT
    ),
    mem_f!(
        "repl-backlog-size",
        [],
        repl_backlog_size,
        1,
        M64,
        "1048576",
        RT
    ),
    int_f!("repl-backlog-ttl", [], repl_backlog_ttl: u64, 0, I64, "3600", RT),
    int_f!("min-replicas-to-write", ["min-slaves-to-write"], min_replicas_to_write: u64, 0, I32, "0", RT),
    int_f!("min-replicas-max-lag", ["min-slaves-max-lag"], min_replicas_max_lag: u64, 0, I32, "10", RT),
    other!(
        "propagation-error-behavior",
        [],
        Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
        RT
    ),
    // --- memory
    mem_f!("maxmemory", [], maxmemory, 0, u64::MAX, "0", RT),
    enum_f!("maxmemory-policy", maxmemory_policy: MaxmemoryPolicy, "noeviction", RT),
    int_f!("maxmemory-samples", [], maxmemory_samples: u32, 1, I32, "5", RT),
    other!("maxmemory-eviction-tenacity", [], int(0, 100), "10", RT),
    other!("maxmemory-clients", [], Kind::MemoryOrPercent, "0", RT),
    int_f!("lfu-log-factor", [], lfu_log_factor: u32, 0, I32, "10", RT),
    int_f!("lfu-decay-time", [], lfu_decay_time: u32, 0, I32, "1", RT),
    bool_f!(
        "lazyfree-lazy-eviction",
        [],
        lazyfree_lazy_eviction,
        "no",
        RT
    ),
    bool_f!("lazyfree-lazy-expire", [], lazyfree_lazy_expire, "no", RT),
    bool_f!(
        "lazyfree-lazy-server-del",
        [],
        lazyfree_lazy_server_del,
        "no",
        RT
    ),
    bool_f!(
        "lazyfree-lazy-user-del",
        [],
        lazyfree_lazy_user_del,
        "no",
        RT
    ),
    bool_f!(
        "lazyfree-lazy-user-flush",
        [],
        lazyfree_lazy_user_flush,
        "no",
        RT
    ),
    bool_f!("activerehashing", [], activerehashing, "yes", RT),
    int_f!("active-expire-effort", [], active_expire_effort: u32, 1, 10, "1", RT),
    other!("activedefrag", [], BOOL, "no", RT),
    other!(
        "active-defrag-ignore-bytes",
        [],
        mem(1, M64),
        "104857600",
        RT
    ),
    other!("active-defrag-threshold-lower", [], int(0, 1000), "10", RT),
    other!("active-defrag-threshold-upper", [], int(0, 1000), "100", RT),
    other!("active-defrag-cycle-min", [], int(1, 99), "1", RT),
    other!("active-defrag-cycle-max", [], int(1, 99), "25", RT),
    other!("active-defrag-max-scan-fields", [], int(1, I64), "1000", RT),
    // --- encodings
    int_f!("hash-max-listpack-entries", ["hash-max-ziplist-entries"], hash_max_listpack_entries: u64, 0, I64, "512", RT),
    mem_f!(
        "hash-max-listpack-value",
        ["hash-max-ziplist-value"],
        hash_max_listpack_value,
        0,
        M64,
        "64",
        RT
    ),
    int_f!("set-max-intset-entries", [], set_max_intset_entries: u64, 0, I64, "512", RT),
    int_f!("zset-max-listpack-entries", ["zset-max-ziplist-entries"], zset_max_listpack_entries: u64, 0, I64, "128", RT),
    mem_f!(
        "zset-max-listpack-value",
        ["zset-max-ziplist-value"],
        zset_max_listpack_value,
        0,
        M64,
        "64",
        RT
    ),
    int_f!("list-max-listpack-size", ["list-max-ziplist-size"], list_max_listpack_size: i32, i32::MIN as i64, I32, "-2", RT),
    int_f!("list-compress-depth", [], list_compress_depth: u32, 0, I32, "0", RT),
    mem_f!(
        "hll-sparse-max-bytes",
        [],
        hll_sparse_max_bytes,
        0,
        M64,
        "3000",
        RT
    ),
    other!("stream-node-max-bytes", [], mem(0, M64), "4096", RT),
    other!("stream-node-max-entries", [], int(0, I64), "100", RT),
    // --- observability
    row!(
        "notify-keyspace-events",
        [],
        Kind::Special("letters from Ag$lshzxeKEtmdn"),
        "",
        RT,
        Access::Special(
            |c| crate::special::fmt_notify(c.notify_keyspace_events),
            crate::special::set_notify,
            |c| Some(vec![format!(
                "notify-keyspace-events {}",
                repr(crate::special::fmt_notify(c.notify_keyspace_events).as_bytes())
            )])
        )
    ),
    int_f!("slowlog-log-slower-than", [], slowlog_log_slower_than: i64, -1, I64, "10000", RT),
    int_f!("slowlog-max-len", [], slowlog_max_len: u64, 0, I64, "128", RT),
    int_f!("latency-monitor-threshold", [], latency_monitor_threshold: u64, 0, I64, "0", RT),
    other!("latency-tracking", [], BOOL, "yes", RT),
    row!(
        "latency-tracking-info-percentiles",
        [],
        Kind::Special("percentiles between 0.0 and 100.0"),
        "50 99 99.9",
        RT,
        Access::Special(
            |c| crate::special::get_other(c, "latency-tracking-info-percentiles", "50 99 99.9"),
            crate::special::set_percentiles,
            |c| Some(vec![format!(
                "latency-tracking-info-percentiles {}",
                crate::special::get_other(c, "latency-tracking-info-percentiles", "50 99 99.9")
            )])
        )
    ),
    int_f!("busy-reply-threshold", ["lua-time-limit"], busy_reply_threshold: u64, 0, I64, "5000", RT),
    other!("tracking-table-max-keys", [], int(0, I64), "1000000", RT),
    // --- cluster (only `cluster-enabled no` is accepted)
    row!(
        "cluster-enabled",
        [],
        Kind::Special("no (cluster mode is not supported)"),
        "no",
        IMM,
        Access::Special(
            |c| fmt_bool(c.cluster_enabled).to_string(),
            crate::special::set_cluster_enabled,
            |_| Some(vec!["cluster-enabled no".to_string()])
        )
    ),
    other!("cluster-config-file", [], STR, "nodes.conf", IMM),
    other!("cluster-port", [], int(0, 65535), "0", IMM),
    other!("cluster-node-timeout", [], int(0, I64), "15000", RT),
    other!(
        "cluster-replica-validity-factor",
        ["cluster-slave-validity-factor"],
        int(0, I32),
        "10",
        RT
    ),
    other!("cluster-migration-barrier", [], int(0, I32), "1", RT),
    other!("cluster-allow-replica-migration", [], BOOL, "yes", RT),
    other!("cluster-require-full-coverage", [], BOOL, "yes", RT),
    other!(
        "cluster-replica-no-failover",
        ["cluster-slave-no-failover"],
        BOOL,
        "no",
        RT
    ),
    other!("cluster-allow-reads-when-down", [], BOOL, "no", RT),
    other!("cluster-allow-pubsubshard-when-down", [], BOOL, "yes", RT),
    other!("cluster-announce-ip", [], STR, "", RT),
    other!("cluster-announce-hostname", [], STR, "", RT),
    other!("cluster-announce-port", [], int(0, 65535), "0", RT),
    other!("cluster-announce-bus-port", [], int(0, 65535), "0", RT),
    other!("cluster-announce-tls-port", [], int(0, 65535), "0", RT),
    other!(
        "cluster-preferred-endpoint-type",
        [],
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
        RT
    ),
    other!("cluster-link-sendbuf-limit", [], mem(0, u64::MAX), "0", RT),
    // --- TLS (accepted and stored; ferrodis has no TLS listener)
    other!("tls-port", [], int(0, 65535), "0", RT),
    other!("tls-cert-file", [], STR, "", RT),
    other!("tls-key-file", [], STR, "", RT),
    other!("tls-key-file-pass", [], STR, "", RT),
    other!("tls-client-cert-file", [], STR, "", RT),
    other!("tls-client-key-file", [], STR, "", RT),
    other!("tls-client-key-file-pass", [], STR, "", RT),
    other!("tls-dh-params-file", [], STR, "", RT),
    other!("tls-ca-cert-file", [], STR, "", RT),
    other!("tls-ca-cert-dir", [], STR, "", RT),
    other!("tls-protocols", [], STR, "", RT),
    other!("tls-ciphers", [], STR, "", RT),
    other!("tls-ciphersuites", [], STR, "", RT),
    other!("tls-prefer-server-ciphers", [], BOOL, "no", RT),
    other!("tls-session-caching", [], BOOL, "yes", RT),
    other!("tls-session-cache-size", [], int(0, I32), "20480", RT),
    other!("tls-session-cache-timeout", [], int(0, I32), "300", RT),
    other!("tls-cluster", [], BOOL, "no", RT),
    other!("tls-replication", [], BOOL, "no", RT),
    other!(
        "tls-auth-clients",
        [],
        Kind::Enum(&["no", "yes", "optional"]),
        "yes",
        RT
    ),
];
