//! SLOWLOG: commands slower than `slowlog-log-slower-than` microseconds.

use bytes::Bytes;
use std::collections::VecDeque;

/// One slow command.
pub struct SlowEntry {
    /// Unique, increasing id.
    pub id: u64,
    /// Unix seconds when it ran.
    pub time: i64,
    /// Duration in microseconds.
    pub micros: u64,
    /// Arguments (at most 32; long ones truncated as Redis does).
    pub args: Vec<Bytes>,
    /// Client `ip:port`.
    pub addr: String,
    /// Client name.
    pub name: String,
}

/// The slow log, newest first.
#[derive(Default)]
pub struct SlowLog {
    /// Entries, newest at the front.
    pub entries: VecDeque<SlowEntry>,
    /// Next id.
    pub next_id: u64,
}

impl SlowLog {
    /// Records a command, keeping at most `max_len` entries.
    pub fn push(
        &mut self,
        args: &[Bytes],
        micros: u64,
        addr: String,
        name: String,
        max_len: usize,
    ) {
        let mut kept: Vec<Bytes> = Vec::new();
        let limit = args.len().min(32);
        for (i, a) in args.iter().enumerate().take(limit) {
            if i == 31 && args.len() > 32 {
                kept.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    args.len() - 31
                )));
                break;
            }
            if a.len() > 128 {
                let mut v = a[..128].to_vec();
                v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                kept.push(Bytes::from(v));
            } else {
                kept.push(a.clone());
            }
        }
        self.entries.push_front(SlowEntry {
            id: self.next_id,
            time: crate::util::now_ms() / 1000,
            micros,
            args: kept,
            addr,
            name,
        });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }
}
