//! The typed [`Config`] and the small value types its fields use.
//!
//! `Config::default()` is redis-server 7.0's built-in configuration (what it runs with when
//! started without a file). A unit test in `table.rs` checks every default here against the
//! directive table's `default` column, so the two cannot drift apart.

use std::collections::BTreeMap;
use std::path::PathBuf;

macro_rules! config_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $var:ident => $text:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var,)+ }
        impl $name {
            /// Accepted names, in the order Redis lists them in its error message.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            const ALL: &'static [$name] = &[$($name::$var),+];
            /// The name CONFIG GET shows.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $text,)+ }
            }
            /// Case-insensitive lookup by name.
            pub fn from_name(s: &[u8]) -> Option<Self> {
                Self::NAMES.iter().position(|n| n.as_bytes().eq_ignore_ascii_case(s)).map(|i| Self::ALL[i])
            }
        }
    };
}

config_enum! {
    /// `loglevel`.
    pub enum LogLevel { Debug => "debug", Verbose => "verbose", Notice => "notice", Warning => "warning", }
}
config_enum! {
    /// `supervised`.
    pub enum Supervised { Upstart => "upstart", Systemd => "systemd", Auto => "auto", No => "no", }
}
config_enum! {
    /// `repl-diskless-load`.
    pub enum ReplDisklessLoad { Disabled => "disabled", OnEmptyDb => "on-empty-db", Swapdb => "swapdb", }
}
config_enum! {
    /// `appendfsync`.
    pub enum AppendFsync { Everysec => "everysec", Always => "always", No => "no", }
}
config_enum! {
    /// `maxmemory-policy`.
    pub enum MaxmemoryPolicy {
        VolatileLru => "volatile-lru",
        VolatileLfu => "volatile-lfu",
        VolatileRandom => "volatile-random",
        VolatileTtl => "volatile-ttl",
        AllkeysLru => "allkeys-lru",
        AllkeysLfu => "allkeys-lfu",
        AllkeysRandom => "allkeys-random",
        Noeviction => "noeviction",
    }
}
config_enum! {
    /// `enable-debug-command`, `enable-protected-configs`: `local` means only from
    /// loopback or unix-socket clients.
    pub enum EnableOption { No => "no", Yes => "yes", Local => "local", }
}

/// One `save <seconds> <changes>` point: snapshot when at least `changes` writes happened in
/// the last `seconds` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavePoint {
    /// Seconds, at least 1.
    pub seconds: u64,
    /// Number of changes, may be 0.
    pub changes: u64,
}

/// `replicaof <host> <port>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaOf {
    /// Master host name or address.
    pub host: String,
    /// Master port (0..=65535).
    pub port: u16,
}

/// One class of `client-output-buffer-limit`. All zero means "no limit".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferLimit {
    /// Disconnect as soon as the output buffer reaches this many bytes (0 = off).
    pub hard: u64,
    /// Disconnect when the buffer stays above this many bytes ...
    pub soft: u64,
    /// ... for this many seconds.
    pub soft_seconds: u64,
}

/// `client-output-buffer-limit` for the three client classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOutputBufferLimits {
    /// Ordinary clients.
    pub normal: BufferLimit,
    /// Replica links (Redis names this class `slave` in CONFIG GET; `replica` is accepted).
    pub replica: BufferLimit,
    /// Pub/Sub subscribers.
    pub pubsub: BufferLimit,
}

impl Default for ClientOutputBufferLimits {
    fn default() -> Self {
        ClientOutputBufferLimits {
            normal: BufferLimit::default(),
            replica: BufferLimit {
                hard: 256 << 20,
                soft: 64 << 20,
                soft_seconds: 60,
            },
            pubsub: BufferLimit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_seconds: 60,
            },
        }
    }
}

/// Bits of `notify-keyspace-events` (the letters of Redis's `Ag$lshzxeKEtmdn`).
pub mod notify {
    /// `K`: `__keyspace@<db>__` channel.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: `__keyevent@<db>__` channel.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: expired events.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: evicted events.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: key-miss events (not part of `A`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module key type events.
    pub const MODULE: u32 = 1 << 12;
    /// `n`: new key events (not part of `A`).
    pub const NEW: u32 = 1 << 13;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// The server configuration: one public field per directive the server reads.
///
/// Directives that ferrodis accepts for compatibility but does not act on are validated like
/// Redis does and kept, already formatted as CONFIG GET shows them, in [`Config::other`].
/// Field names are the directive names with `-` replaced by `_`; aliases (`slaveof`,
/// `slave-read-only`, `hash-max-ziplist-entries`, `lua-time-limit`, ...) set the canonical field.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    // --- network
    /// `port` (0 = do not listen on TCP).
    pub port: u16,
    /// `bind`: addresses to listen on. `*` = all IPv4, `::*` = all IPv6, a leading `-` marks an
    /// address that may be unavailable. Empty = do not listen on TCP.
    pub bind: Vec<String>,
    /// `protected-mode`.
    pub protected_mode: bool,
    /// `tcp-backlog`.
    pub tcp_backlog: u32,
    /// `tcp-keepalive` in seconds (0 = off).
    pub tcp_keepalive: u64,
    /// `timeout`: close idle clients after this many seconds (0 = never).
    pub timeout: u64,
    /// `unixsocket`.
    pub unixsocket: Option<PathBuf>,
    /// `unixsocketperm` (octal in the file).
    pub unixsocketperm: u32,
    /// `maxclients`.
    pub maxclients: u32,
    /// `proto-max-bulk-len` in bytes.
    pub proto_max_bulk_len: u64,
    /// `client-query-buffer-limit` in bytes.
    pub client_query_buffer_limit: u64,
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog longer than this becomes dense.
    pub hll_sparse_max_bytes: u64,
    /// `client-output-buffer-limit`.
    pub client_output_buffer_limit: ClientOutputBufferLimits,
    /// `io-threads`.
    pub io_threads: u32,
    /// `io-threads-do-reads`.
    pub io_threads_do_reads: bool,

    // --- process
    /// `daemonize`.
    pub daemonize: bool,
    /// `supervised`.
    pub supervised: Supervised,
    /// `pidfile`.
    pub pidfile: Option<PathBuf>,
    /// `logfile` (empty = standard output).
    pub logfile: String,
    /// `loglevel`.
    pub loglevel: LogLevel,
    /// `always-show-logo`.
    pub always_show_logo: bool,
    /// `set-proc-title`.
    pub set_proc_title: bool,
    /// `crash-log-enabled`.
    pub crash_log_enabled: bool,
    /// `jemalloc-bg-thread`.
    pub jemalloc_bg_thread: bool,
    /// `hz`, clamped to 1..=500 like Redis.
    pub hz: u32,
    /// `dynamic-hz`.
    pub dynamic_hz: bool,
    /// `shutdown-timeout` in seconds.
    pub shutdown_timeout: u64,
    /// `enable-debug-command` (Redis 7.0 default `no`: DEBUG is refused).
    pub enable_debug_command: EnableOption,
    /// `enable-protected-configs` (governs CONFIG SET of `dir` and `dbfilename`).
    pub enable_protected_configs: EnableOption,

    // --- keyspace & persistence
    /// `databases`.
    pub databases: usize,
    /// `dir`: the working directory, absolute. The server should `chdir` to it.
    pub dir: PathBuf,
    /// `dbfilename` (a base name, never a path).
    pub dbfilename: String,
    /// `save` points; empty = no automatic snapshots.
    pub save: Vec<SavePoint>,
    /// `rdbcompression`.
    pub rdbcompression: bool,
    /// `rdbchecksum`.
    pub rdbchecksum: bool,
    /// `rdb-del-sync-files`.
    pub rdb_del_sync_files: bool,
    /// `stop-writes-on-bgsave-error`.
    pub stop_writes_on_bgsave_error: bool,
    /// `appendonly` (ferrodis has no AOF: `yes` is accepted, the server warns).
    pub appendonly: bool,
    /// `appendfilename`.
    pub appendfilename: String,
    /// `appendfsync`.
    pub appendfsync: AppendFsync,

    // --- security
    /// `requirepass` (None = no password).
    pub requirepass: Option<String>,
    /// `rename-command old new` lines, in order (`new` empty = command disabled). The server
    /// must check that `old` exists, as Redis does ("No such command in rename-command").
    pub rename_commands: Vec<(String, String)>,
    /// `user ...` lines (ACL rules), each as its arguments.
    pub users: Vec<Vec<String>>,
    /// `acllog-max-len`.
    pub acllog_max_len: u64,

    // --- replication
    /// `replicaof` / `slaveof` (None = this is a master).
    pub replicaof: Option<ReplicaOf>,
    /// `masterauth`.
    pub masterauth: Option<String>,
    /// `masteruser`.
    pub masteruser: Option<String>,
    /// `replica-read-only`.
    pub replica_read_only: bool,
    /// `replica-serve-stale-data`.
    pub replica_serve_stale_data: bool,
    /// `replica-priority`.
    pub replica_priority: u32,
    /// `replica-announce-ip`.
    pub replica_announce_ip: Option<String>,
    /// `replica-announce-port` (0 = the real port).
    pub replica_announce_port: u16,
    /// `replica-announced`.
    pub replica_announced: bool,
    /// `replica-lazy-flush`.
    pub replica_lazy_flush: bool,
    /// `replica-ignore-maxmemory`.
    pub replica_ignore_maxmemory: bool,
    /// `repl-diskless-sync`.
    pub repl_diskless_sync: bool,
    /// `repl-diskless-sync-delay` in seconds.
    pub repl_diskless_sync_delay: u64,
    /// `repl-diskless-sync-max-replicas` (0 = no limit).
    pub repl_diskless_sync_max_replicas: u64,
    /// `repl-diskless-load`.
    pub repl_diskless_load: ReplDisklessLoad,
    /// `repl-ping-replica-period` in seconds.
    pub repl_ping_replica_period: u64,
    /// `repl-timeout` in seconds.
    pub repl_timeout: u64,
    /// `repl-disable-tcp-nodelay`.
    pub repl_disable_tcp_nodelay: bool,
    /// `repl-backlog-size` in bytes.
    pub repl_backlog_size: u64,
    /// `repl-backlog-ttl` in seconds (0 = never free).
    pub repl_backlog_ttl: u64,
    /// `min-replicas-to-write`.
    pub min_replicas_to_write: u64,
    /// `min-replicas-max-lag` in seconds.
    pub min_replicas_max_lag: u64,

    // --- memory
    /// `maxmemory` in bytes (0 = no limit).
    pub maxmemory: u64,
    /// `maxmemory-policy`.
    pub maxmemory_policy: MaxmemoryPolicy,
    /// `maxmemory-samples`.
    pub maxmemory_samples: u32,
    /// `lfu-log-factor`.
    pub lfu_log_factor: u32,
    /// `lfu-decay-time` in minutes.
    pub lfu_decay_time: u32,
    /// `lazyfree-lazy-eviction`.
    pub lazyfree_lazy_eviction: bool,
    /// `lazyfree-lazy-expire`.
    pub lazyfree_lazy_expire: bool,
    /// `lazyfree-lazy-server-del`.
    pub lazyfree_lazy_server_del: bool,
    /// `lazyfree-lazy-user-del`.
    pub lazyfree_lazy_user_del: bool,
    /// `lazyfree-lazy-user-flush`.
    pub lazyfree_lazy_user_flush: bool,
    /// `activerehashing`.
    pub activerehashing: bool,
    /// `active-expire-effort` (1..=10).
    pub active_expire_effort: u32,

    // --- encodings
    /// `hash-max-listpack-entries`.
    pub hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value` in bytes.
    pub hash_max_listpack_value: u64,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: u64,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value` in bytes.
    pub zset_max_listpack_value: u64,
    /// `list-max-listpack-size` (negative = size class -1..-5).
    pub list_max_listpack_size: i32,
    /// `list-compress-depth`.
    pub list_compress_depth: u32,

    // --- observability
    /// `notify-keyspace-events` as [`notify`] bits (0 = off).
    pub notify_keyspace_events: u32,
    /// `slowlog-log-slower-than` in microseconds (-1 = off, 0 = log everything).
    pub slowlog_log_slower_than: i64,
    /// `slowlog-max-len`.
    pub slowlog_max_len: u64,
    /// `latency-monitor-threshold` in milliseconds (0 = off).
    pub latency_monitor_threshold: u64,
    /// `busy-reply-threshold` / `lua-time-limit` in milliseconds.
    pub busy_reply_threshold: u64,

    // --- cluster
    /// `cluster-enabled` (always false: only `no` is accepted).
    pub cluster_enabled: bool,

    /// Directives accepted for compatibility and not acted on, by canonical name, holding the
    /// value as CONFIG GET shows it. Only directives that differ from their default are present.
    pub other: BTreeMap<&'static str, String>,
    /// The configuration file this was loaded from (absolute), for CONFIG REWRITE.
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["*".to_string(), "-::*".to_string()],
            protected_mode: true,
            tcp_backlog: 511,
            tcp_keepalive: 300,
            timeout: 0,
            unixsocket: None,
            unixsocketperm: 0,
            maxclients: 10000,
            proto_max_bulk_len: 512 << 20,
            client_query_buffer_limit: 1 << 30,
            hll_sparse_max_bytes: 3000,
            client_output_buffer_limit: ClientOutputBufferLimits::default(),
            io_threads: 1,
            io_threads_do_reads: false,
            daemonize: false,
            supervised: Supervised::No,
            pidfile: None,
            logfile: String::new(),
            loglevel: LogLevel::Notice,
            always_show_logo: false,
            set_proc_title: true,
            crash_log_enabled: true,
            jemalloc_bg_thread: true,
            hz: 10,
            dynamic_hz: true,
            shutdown_timeout: 10,
            enable_debug_command: EnableOption::No,
            enable_protected_configs: EnableOption::No,
            databases: 16,
            dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
            dbfilename: "dump.rdb".to_string(),
            save: vec![
                SavePoint {
                    seconds: 3600,
                    changes: 1,
                },
                SavePoint {
                    seconds: 300,
                    changes: 100,
                },
                SavePoint {
                    seconds: 60,
                    changes: 10000,
                },
            ],
            rdbcompression: true,
            rdbchecksum: true,
            rdb_del_sync_files: false,
            stop_writes_on_bgsave_error: true,
            appendonly: false,
            appendfilename: "appendonly.aof".to_string(),
            appendfsync: AppendFsync::Everysec,
            requirepass: None,
            rename_commands: Vec::new(),
            users: Vec::new(),
            acllog_max_len: 128,
            replicaof: None,
            masterauth: None,
            masteruser: None,
            replica_read_only: true,
            replica_serve_stale_data: true,
            replica_priority: 100,
            replica_announce_ip: None,
            replica_announce_port: 0,
            replica_announced: true,
            replica_lazy_flush: false,
            replica_ignore_maxmemory: true,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            repl_diskless_load: ReplDisklessLoad::Disabled,
            repl_ping_replica_period: 10,
            repl_timeout: 60,
            repl_disable_tcp_nodelay: false,
            repl_backlog_size: 1 << 20,
            repl_backlog_ttl: 3600,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::Noeviction,
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            activerehashing: true,
            active_expire_effort: 1,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            notify_keyspace_events: 0,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            busy_reply_threshold: 5000,
            cluster_enabled: false,
            other: BTreeMap::new(),
            config_file: None,
        }
    }
}
