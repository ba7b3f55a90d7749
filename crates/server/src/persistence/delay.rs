//! The test-only per-key delays Redis's test suite uses to make saves and loads slow:
//! `rdb-key-save-delay` (every snapshot: BGSAVE, SAVE, replication) and `key-load-delay`
//! (every RDB load, replica payloads included). Values are microseconds per key; a negative
//! value `-n` sleeps 1 µs for about one key in `n`, as Redis's `debugDelay`.
//!
//! Sleeps are batched (at least 1 ms at a time) so a delay of a few µs per key costs what
//! it says rather than a syscall per key.

use crate::Server;
use std::time::Duration;

/// Accumulates the delay owed for processed keys and sleeps it off.
pub struct KeyDelay {
    per_key: i64,
    /// Keys seen since the last owed microsecond (negative delays).
    carry: u64,
    owed_us: u64,
}

impl KeyDelay {
    /// The delay configured under `name`, or None when it is 0 (the normal case).
    pub fn from_config(server: &Server, name: &str) -> Option<KeyDelay> {
        let per_key: i64 = server
            .config
            .read()
            .other
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        (per_key != 0).then_some(KeyDelay {
            per_key,
            carry: 0,
            owed_us: 0,
        })
    }

    /// Accounts for `keys` more keys; sleeps once at least a millisecond is owed, in short
    /// slices, giving up the rest as soon as `stop` says so (an aborted save, a shutdown).
    pub fn keys(&mut self, keys: u64, stop: impl Fn() -> bool) {
        if self.per_key > 0 {
            self.owed_us = self
                .owed_us
                .saturating_add(keys.saturating_mul(self.per_key as u64));
        } else {
            let every = self.per_key.unsigned_abs();
            self.carry += keys;
            self.owed_us += self.carry / every;
            self.carry %= every;
        }
        if self.owed_us >= 1000 {
            const SLICE_US: u64 = 50_000;
            while self.owed_us > 0 {
                if stop() {
                    self.owed_us = 0;
                    break;
                }
                let us = self.owed_us.min(SLICE_US);
                std::thread::sleep(Duration::from_micros(us));
                self.owed_us -= us;
            }
        }
    }
}
