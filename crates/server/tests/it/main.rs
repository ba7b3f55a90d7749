//! Integration tests: one test binary (as ripgrep does), real `ferrodis-server` processes on
//! ephemeral ports (see `ferrodis-test-support`). Modules:
//! * `connection`: PING, ECHO, QUIT, SELECT, AUTH/requirepass, HELLO, RESET, CLIENT ...
//! * `string`: every string command and SET option, over TCP.
//! * `keys`: generic key commands, SCAN guarantees, MOVE/COPY/SWAPDB.
//! * `server`: INFO, COMMAND, TIME, DEBUG, MONITOR, SLOWLOG, CONFIG.
//! * `expiry`: lazy and active expiry.
//! * `geo`: geospatial replies, scores and result order vs redis-server 7.0, replicated both ways.
//! * `hll`: HyperLogLog replies and bytes vs redis-server 7.0, replicated both ways.
//! * `streams`: stream commands and consumer groups vs redis-server 7.0, blocking XREAD,
//!   replicated both ways.
//! * `maxmemory`: used_memory, eviction policies, OOM, OBJECT IDLETIME/FREQ.
//! * `protocol`: raw RESP bytes: malformed input, inline commands, pipelining, limits.
//! * `seed`: config files, pidfile, signals, SHUTDOWN, daemonize, start-up errors.
//! * `tools`: redis-py, redis-benchmark and redis-cli against ferrodis.
//! * `differential`: the same scripts against redis-server 7.0; replies must be identical.
//! * `repl_chain`: chains and mixed topologies of ferrodis and redis-server 7.0 nodes.
//! * `repl_master`: the master side of replication with real redis-server replicas.
//! * `repl_replica`: the replica side against real redis-server 7.0 masters and a fake master.
//! * `repl_psync2`: Redis's psync2 / psync2-reg / psync2-pingoff / psync2-master-restart /
//!   replication-psync scenarios (failovers, chains, restarts, links cut under load).
//! * `repl_admin`: SHUTDOWN/SIGTERM waiting for replicas, FAILOVER, repl-backlog-ttl.
//! * `replog`: the replication log replays into an identical keyspace (log order = apply order).
//! * `scripting`: Lua scripts vs redis-server 7.0, effects replication, busy scripts, redis-py.

mod connection;
mod differential;
mod expiry;
mod geo;
mod hll;
mod keys;
mod maxmemory;
mod protocol;
mod random_diff;
mod repl_admin;
mod repl_chain;
mod repl_master;
mod repl_psync2;
mod repl_replica;
mod replog;
mod scripting;
mod seed;
mod server;
mod streams;
mod string;
mod tools;

use ferrodis_test_support::TestServer;

/// The server binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_ferrodis-server");

/// Starts ferrodis with extra command-line arguments.
pub fn start(args: &[&str]) -> TestServer {
    TestServer::start(BIN, args)
}
