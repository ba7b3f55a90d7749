//! Integration tests: one test binary (as ripgrep does), real `ferrodis-server` processes on
//! ephemeral ports (see `ferrodis-test-support`). Modules:
//! * `connection`: PING, ECHO, QUIT, SELECT, AUTH/requirepass, HELLO, RESET, CLIENT ...
//! * `string`: every string command and SET option, over TCP.
//! * `keys`: generic key commands, SCAN guarantees, MOVE/COPY/SWAPDB.
//! * `server`: INFO, COMMAND, TIME, DEBUG, MONITOR, SLOWLOG, CONFIG.
//! * `expiry`: lazy and active expiry.
//! * `maxmemory`: used_memory, eviction policies, OOM, OBJECT IDLETIME/FREQ.
//! * `protocol`: raw RESP bytes: malformed input, inline commands, pipelining, limits.
//! * `seed`: config files, pidfile, signals, SHUTDOWN, daemonize, start-up errors.
//! * `tools`: redis-py, redis-benchmark and redis-cli against ferrodis.
//! * `differential`: the same scripts against redis-server 7.0; replies must be identical.
//! * `repl_master`: the master side of replication with real redis-server replicas.
//! * `repl_replica`: the replica side against real redis-server 7.0 masters and a fake master.
//! * `replog`: the replication log replays into an identical keyspace (log order = apply order).
//! * `scripting`: Lua scripts vs redis-server 7.0, effects replication, busy scripts, redis-py.

mod connection;
mod differential;
mod expiry;
mod keys;
mod maxmemory;
mod protocol;
mod random_diff;
mod repl_chain;
mod repl_master;
mod repl_replica;
mod replog;
mod scripting;
mod seed;
mod server;
mod string;
mod tools;

use ferrodis_test_support::TestServer;

/// The server binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_ferrodis-server");

/// Starts ferrodis with extra command-line arguments.
pub fn start(args: &[&str]) -> TestServer {
    TestServer::start(BIN, args)
}
