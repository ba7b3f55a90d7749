//! Replication: the ordered propagation log every write goes through, and (as it lands) the
//! master and replica sides of Redis's PSYNC protocol.
//!
//! ```text
//!   client write ──> dispatch ──(shard locks held)──> apply to keyspace
//!                                      └────────────> ReplLog::append  (same critical section)
//!                                                         │
//!                             replicas read from an offset ┘  (each link = a reader offset)
//! ```
//! Because a command appends its effects while it still holds the locks of the shards it
//! touched, two commands on the same key reach the log in the order they were applied.

pub mod admin;
pub mod log;
pub mod master;
pub mod replica;

pub use log::ReplLog;
