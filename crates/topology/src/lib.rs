//! `ferrodis-topology`: brings up a master and N replicas (or a chain) on this machine, each
//! with its own directory, `redis.conf`, pidfile and log; shows their replication state; stops
//! them. The configs are plain `redis.conf`, so the same launcher runs `redis-server` too.
//!
//! * [`layout`]: the plan (which node replicates which), the files it writes, `topology.conf`.
//! * [`up`], [`status`], [`down`]: the three commands.
//! * [`client`]: a tiny blocking RESP client (PING, INFO) with timeouts.
//! * [`process`]: pidfiles, liveness, signals (through the `kill` program: no unsafe code).

pub mod client;
pub mod down;
pub mod layout;
pub mod process;
pub mod status;
pub mod up;
