//! Per-key access metadata for eviction: the `access` field of every [`super::Entry`].
//!
//! ```text
//!   LRU policies (and noeviction):  [ 8 bits unused | 24-bit clock, seconds ]
//!   LFU policies:                   [ 8 bits unused | 16-bit minutes | 8-bit log counter ]
//! ```
//! Which layout a key holds depends on `maxmemory-policy` when it was last touched, as in
//! Redis; after switching policy the old stamps read as noise until keys are touched again.
//!
//! The mode and the LFU parameters are process-wide atomics (one server per process), so
//! `Table` can stamp new keys without a handle on the configuration, and the clock is a coarse
//! atomic refreshed every 100 ms by `evict::cron`: a touch is one or two relaxed loads, never
//! a clock read.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Largest 24-bit LRU clock value.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Counter of a new key under LFU, so it is not evicted before it has a chance to be used.
pub const LFU_INIT_VAL: u32 = 5;

static CLOCK_SECS: AtomicU32 = AtomicU32::new(0);
static LFU: AtomicBool = AtomicBool::new(false);
static LRU_POLICY: AtomicBool = AtomicBool::new(false);
static LFU_LOG_FACTOR: AtomicU32 = AtomicU32::new(10);
static LFU_DECAY_TIME: AtomicU32 = AtomicU32::new(1);

/// Sets the mode and LFU parameters (from the configuration, at start and on CONFIG SET).
/// `lru` says an LRU policy is selected (snapshots then record idle times, as Redis does).
pub fn configure(lfu: bool, lru: bool, log_factor: u32, decay_minutes: u32) {
    LFU.store(lfu, Ordering::Relaxed);
    LRU_POLICY.store(lru, Ordering::Relaxed);
    LFU_LOG_FACTOR.store(log_factor, Ordering::Relaxed);
    LFU_DECAY_TIME.store(decay_minutes, Ordering::Relaxed);
}

/// True when an LFU policy is selected.
#[inline]
pub fn lfu_mode() -> bool {
    LFU.load(Ordering::Relaxed)
}

fn unix_secs() -> u32 {
    (crate::util::now_ms() / 1000) as u32
}

/// Refreshes the coarse clock.
pub fn tick() {
    CLOCK_SECS.store(unix_secs(), Ordering::Relaxed);
}

/// What a snapshot records before a key with this stamp, as Redis 7.0 does: the idle time
/// under an LRU policy, the counter under an LFU policy, nothing otherwise.
pub enum RdbHint {
    /// No hint (noeviction, random and TTL policies).
    None,
    /// IDLE opcode, seconds.
    Idle(u64),
    /// FREQ opcode, the decayed counter.
    Freq(u8),
}

/// The RDB hint for a stamp under the current policy.
pub fn rdb_hint(stamp: u32) -> RdbHint {
    if lfu_mode() {
        RdbHint::Freq(lfu_decayed(stamp) as u8)
    } else if LRU_POLICY.load(Ordering::Relaxed) {
        RdbHint::Idle(idle_secs(stamp))
    } else {
        RdbHint::None
    }
}

/// Unix seconds as of the last tick (read directly before the first tick).
#[inline]
fn now_secs() -> u32 {
    match CLOCK_SECS.load(Ordering::Relaxed) {
        0 => unix_secs(),
        s => s,
    }
}

/// The 24-bit LRU clock (Redis's `lru_clock` in INFO).
#[inline]
pub fn lru_clock() -> u32 {
    now_secs() & LRU_CLOCK_MAX
}

#[inline]
fn now_minutes() -> u32 {
    (now_secs() / 60) & 0xFFFF
}

/// The stamp of a key created now.
#[inline]
pub fn fresh() -> u32 {
    if lfu_mode() {
        (now_minutes() << 8) | LFU_INIT_VAL
    } else {
        lru_clock()
    }
}

/// The stamp after an access.
#[inline]
pub fn touched(stamp: u32) -> u32 {
    if !lfu_mode() {
        return lru_clock();
    }
    let counter = log_incr(lfu_decayed(stamp));
    (now_minutes() << 8) | counter
}

/// Seconds since the last access of an LRU stamp.
pub fn idle_secs(stamp: u32) -> u64 {
    let now = lru_clock();
    let lru = stamp & LRU_CLOCK_MAX;
    if now >= lru {
        (now - lru) as u64
    } else {
        (LRU_CLOCK_MAX - lru + now) as u64
    }
}

/// An LRU stamp for a key idle `secs` seconds (RESTORE IDLETIME, RDB IDLE).
pub fn with_idle(secs: u64) -> u32 {
    let secs = (secs % (LRU_CLOCK_MAX as u64 + 1)) as u32;
    lru_clock().wrapping_sub(secs) & LRU_CLOCK_MAX
}

/// An LFU stamp with this counter, last decayed now (RESTORE FREQ, RDB FREQ).
pub fn with_freq(counter: u8) -> u32 {
    (now_minutes() << 8) | counter as u32
}

/// The stamp of a key restored with an RDB IDLE or FREQ hint (RESTORE IDLETIME/FREQ, RDB
/// load): the hint that matches the current policy is used, the other ignored.
pub fn from_rdb(idle: Option<u64>, freq: Option<u8>) -> u32 {
    match (lfu_mode(), idle, freq) {
        (true, _, Some(f)) => with_freq(f),
        (false, Some(i), _) => with_idle(i),
        _ => fresh(),
    }
}

/// The LFU counter after decay: one step per `lfu-decay-time` minutes since the stamp's
/// time (not stored back; the next touch stores it).
pub fn lfu_decayed(stamp: u32) -> u32 {
    let counter = stamp & 0xFF;
    let then = (stamp >> 8) & 0xFFFF;
    let now = now_minutes();
    let elapsed = if now >= then {
        now - then
    } else {
        0xFFFF - then + now
    };
    match LFU_DECAY_TIME.load(Ordering::Relaxed) {
        0 => counter,
        d => counter.saturating_sub(elapsed / d),
    }
}

/// Increments a logarithmic counter: the higher it is, the less likely an access bumps it.
fn log_incr(counter: u32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * LFU_LOG_FACTOR.load(Ordering::Relaxed) as f64 + 1.0);
    if rand::random::<f64>() < p {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_idle_roundtrip() {
        let s = with_idle(100);
        let idle = idle_secs(s);
        assert!((100..=101).contains(&idle), "{idle}");
        assert!(idle_secs(fresh()) <= 1 || lfu_mode());
    }

    #[test]
    fn log_counter_grows_slowly() {
        let mut c = LFU_INIT_VAL;
        for _ in 0..1000 {
            c = log_incr(c);
        }
        assert!(c > LFU_INIT_VAL && c < 40, "{c}");
        assert_eq!(log_incr(255), 255);
    }
}
