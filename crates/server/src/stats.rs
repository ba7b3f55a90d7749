//! Server-wide counters for INFO. Connections fold their own counts in once per batch of
//! commands, so the hot path does not bounce these cache lines between cores per command.

use std::sync::atomic::{AtomicU64, Ordering};

/// INFO stats counters.
#[derive(Default)]
pub struct Stats {
    /// total_connections_received
    pub connections: AtomicU64,
    /// total_commands_processed
    pub commands: AtomicU64,
    /// keyspace_hits
    pub hits: AtomicU64,
    /// keyspace_misses
    pub misses: AtomicU64,
    /// expired_keys
    pub expired_keys: AtomicU64,
    /// evicted_keys
    pub evicted_keys: AtomicU64,
    /// rejected_connections
    pub rejected_connections: AtomicU64,
    /// total_net_input_bytes
    pub net_input_bytes: AtomicU64,
    /// total_net_output_bytes
    pub net_output_bytes: AtomicU64,
    /// total_error_replies
    pub error_replies: AtomicU64,
}

impl Stats {
    /// Adds `n` to a counter.
    #[inline]
    pub fn add(c: &AtomicU64, n: u64) {
        if n != 0 {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Reads a counter.
    #[inline]
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for c in [
            &self.connections,
            &self.commands,
            &self.hits,
            &self.misses,
            &self.expired_keys,
            &self.evicted_keys,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}
