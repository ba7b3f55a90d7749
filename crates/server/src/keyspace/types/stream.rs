//! Stream operations on [`ferrodis_rdb::Stream`], the structured stream value that RDB load
//! and save already use: entries ascending by ID in one vector, consumer groups with their
//! pending entries lists (PEL). The command layer (`commands/stream.rs`) parses arguments and
//! builds replies; this file keeps the value's invariants:
//!
//! ```text
//! entries ascending by ID, length == entries.len()
//! first_id    = first live entry (0-0 when empty)        last_id = highest ID ever added
//! entries_added counts every XADD; max_deleted_id is the highest ID removed by XDEL
//! group.pel ascending by ID; each PEL ID appears in exactly one consumer's `pending`
//! groups and consumers sorted by name (Redis keeps them in radix trees, so replies list
//! them in byte order)
//! ```
//!
//! Redis stores entries in radix-tree nodes of up to `stream-node-max-entries` entries; this
//! vector has no nodes, which only shows in approximate (`~`) trimming and in XINFO's
//! `radix-tree-*` counters (see docs/architecture.md, "Streams").

use ferrodis_rdb::{Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId};

/// The largest ID (`+`, and the "exhausted" check of XADD).
pub const MAX_ID: StreamId = StreamId {
    ms: u64::MAX,
    seq: u64::MAX,
};

/// `ms-seq` text.
pub fn id_text(id: StreamId) -> String {
    format!("{}-{}", id.ms, id.seq)
}

/// The next ID (Redis's `streamIncrID`); `None` past `MAX_ID`.
pub fn incr(id: StreamId) -> Option<StreamId> {
    if id.seq == u64::MAX {
        if id.ms == u64::MAX {
            return None;
        }
        return Some(StreamId::new(id.ms + 1, 0));
    }
    Some(StreamId::new(id.ms, id.seq + 1))
}

/// The previous ID (Redis's `streamDecrID`); `None` below 0-0.
pub fn decr(id: StreamId) -> Option<StreamId> {
    if id.seq == 0 {
        if id.ms == 0 {
            return None;
        }
        return Some(StreamId::new(id.ms - 1, u64::MAX));
    }
    Some(StreamId::new(id.ms, id.seq - 1))
}

/// Position of `id` (Ok) or where it would go (Err).
pub fn find(s: &Stream, id: StreamId) -> Result<usize, usize> {
    s.entries.binary_search_by(|e| e.id.cmp(&id))
}

/// True when an entry with `id` is live.
pub fn exists(s: &Stream, id: StreamId) -> bool {
    find(s, id).is_ok()
}

/// Appends an entry whose ID the caller checked to be above `last_id`.
pub fn append(s: &mut Stream, id: StreamId, fields: Vec<(Vec<u8>, Vec<u8>)>) {
    if s.entries.is_empty() {
        s.first_id = id;
    }
    s.entries.push(StreamEntry { id, fields });
    s.length = s.entries.len() as u64;
    s.entries_added += 1;
    s.last_id = id;
}

/// Refreshes `length` and `first_id` after entries were removed.
fn removed(s: &mut Stream) {
    s.length = s.entries.len() as u64;
    s.first_id = s.entries.first().map_or(StreamId::default(), |e| e.id);
}

/// Deletes entry `id` (XDEL); true when it existed. Updates `max_deleted_id` like Redis.
pub fn delete(s: &mut Stream, id: StreamId) -> bool {
    match find(s, id) {
        Ok(p) => {
            s.entries.remove(p);
            if id > s.max_deleted_id {
                s.max_deleted_id = id;
            }
            removed(s);
            true
        }
        Err(_) => false,
    }
}

/// A trimming threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Remove entries below this ID.
    MinId(StreamId),
}

/// Removes entries per `trim`, at most `limit` of them when `limit > 0`; returns how many.
/// Trimming does not move `max_deleted_id` (Redis only does that for XDEL).
pub fn trim(s: &mut Stream, trim: Trim, limit: u64) -> u64 {
    let mut n = match trim {
        Trim::MaxLen(max) => (s.entries.len() as u64).saturating_sub(max),
        Trim::MinId(min) => s.entries.partition_point(|e| e.id < min) as u64,
    };
    if limit > 0 {
        n = n.min(limit);
    }
    if n > 0 {
        s.entries.drain(..n as usize);
        removed(s);
    }
    n
}

/// Entries with `start <= id <= end`, ascending (or descending with `rev`), at most `count`
/// (0 = all).
pub fn range(
    s: &Stream,
    start: StreamId,
    end: StreamId,
    count: usize,
    rev: bool,
) -> Vec<&StreamEntry> {
    if start > end {
        return Vec::new();
    }
    let lo = s.entries.partition_point(|e| e.id < start);
    let hi = s.entries.partition_point(|e| e.id <= end);
    let slice = &s.entries[lo..hi];
    let take = if count == 0 { slice.len() } else { count };
    if rev {
        slice.iter().rev().take(take).collect()
    } else {
        slice.iter().take(take).collect()
    }
}

/// Redis's `streamRangeHasTombstones`: may an XDEL-made gap lie in `[start, end]`?
pub fn range_has_tombstones(s: &Stream, start: StreamId, end: StreamId) -> bool {
    if s.length == 0 || s.max_deleted_id == StreamId::default() {
        return false;
    }
    if s.first_id > s.max_deleted_id {
        return false;
    }
    start <= s.max_deleted_id && s.max_deleted_id <= end
}

/// Redis's `streamEstimateDistanceFromFirstEverEntry`: the logical read counter of `id`, or
/// `None` when it cannot be known.
pub fn estimate_distance(s: &Stream, id: StreamId) -> Option<u64> {
    if s.entries_added == 0 {
        return Some(0);
    }
    if s.length == 0 && id <= s.last_id {
        return Some(s.entries_added);
    }
    match id.cmp(&s.last_id) {
        std::cmp::Ordering::Equal => return Some(s.entries_added),
        std::cmp::Ordering::Greater => return None,
        std::cmp::Ordering::Less => {}
    }
    if s.max_deleted_id == StreamId::default() || s.max_deleted_id < s.first_id {
        match id.cmp(&s.first_id) {
            std::cmp::Ordering::Less => return Some(s.entries_added - s.length),
            std::cmp::Ordering::Equal => return Some(s.entries_added - s.length + 1),
            std::cmp::Ordering::Greater => {}
        }
    }
    None
}

/// A group's lag (XINFO), or `None` when unknown.
pub fn lag(s: &Stream, g: &ConsumerGroup) -> Option<u64> {
    if s.entries_added == 0 {
        return Some(0);
    }
    if let Some(read) = g.entries_read {
        if !range_has_tombstones(s, g.last_id, MAX_ID) {
            return Some(s.entries_added.saturating_sub(read));
        }
    }
    estimate_distance(s, g.last_id).map(|read| s.entries_added.saturating_sub(read))
}

/// Index of group `name`.
pub fn group_index(s: &Stream, name: &[u8]) -> Option<usize> {
    s.groups
        .binary_search_by(|g| g.name.as_slice().cmp(name))
        .ok()
}

/// Adds a group; false when the name exists.
pub fn create_group(s: &mut Stream, name: &[u8], last_id: StreamId, read: Option<u64>) -> bool {
    match s.groups.binary_search_by(|g| g.name.as_slice().cmp(name)) {
        Ok(_) => false,
        Err(p) => {
            s.groups.insert(
                p,
                ConsumerGroup {
                    name: name.to_vec(),
                    last_id,
                    entries_read: read,
                    pel: Vec::new(),
                    consumers: Vec::new(),
                },
            );
            true
        }
    }
}

/// Index of consumer `name` in `g`.
pub fn consumer_index(g: &ConsumerGroup, name: &[u8]) -> Option<usize> {
    g.consumers
        .binary_search_by(|c| c.name.as_slice().cmp(name))
        .ok()
}

/// Index of consumer `name`, created (seen now) when missing; the bool says it was created.
pub fn consumer_or_create(g: &mut ConsumerGroup, name: &[u8], now: i64) -> (usize, bool) {
    match g
        .consumers
        .binary_search_by(|c| c.name.as_slice().cmp(name))
    {
        Ok(p) => (p, false),
        Err(p) => {
            g.consumers.insert(
                p,
                Consumer {
                    name: name.to_vec(),
                    seen_time_ms: now,
                    active_time_ms: None,
                    pending: Vec::new(),
                },
            );
            (p, true)
        }
    }
}

/// Position of `id` in the group PEL.
pub fn pel_find(g: &ConsumerGroup, id: StreamId) -> Result<usize, usize> {
    g.pel.binary_search_by(|p| p.id.cmp(&id))
}

/// The consumer owning PEL entry `id`.
pub fn owner(g: &ConsumerGroup, id: StreamId) -> Option<usize> {
    g.consumers
        .iter()
        .position(|c| c.pending.binary_search(&id).is_ok())
}

fn insert_sorted(v: &mut Vec<StreamId>, id: StreamId) {
    if let Err(p) = v.binary_search(&id) {
        v.insert(p, id);
    }
}

fn remove_sorted(v: &mut Vec<StreamId>, id: StreamId) {
    if let Ok(p) = v.binary_search(&id) {
        v.remove(p);
    }
}

/// Removes PEL entry `id` from the group and its owner; true when it was pending.
pub fn ack(g: &mut ConsumerGroup, id: StreamId) -> bool {
    match pel_find(g, id) {
        Ok(p) => {
            g.pel.remove(p);
            if let Some(c) = owner(g, id) {
                remove_sorted(&mut g.consumers[c].pending, id);
            }
            true
        }
        Err(_) => false,
    }
}

/// Makes consumer `c` own PEL entry `id` with the given delivery data, creating the entry
/// when missing and moving it from its previous owner.
pub fn assign(g: &mut ConsumerGroup, id: StreamId, c: usize, time: i64, count: u64) {
    match pel_find(g, id) {
        Ok(p) => {
            g.pel[p].delivery_time_ms = time;
            g.pel[p].delivery_count = count;
            if let Some(old) = owner(g, id) {
                if old == c {
                    return;
                }
                remove_sorted(&mut g.consumers[old].pending, id);
            }
        }
        Err(p) => g.pel.insert(
            p,
            PendingEntry {
                id,
                delivery_time_ms: time,
                delivery_count: count,
            },
        ),
    }
    insert_sorted(&mut g.consumers[c].pending, id);
}

/// Deletes consumer `c` and its pending entries; returns how many it had.
pub fn delete_consumer(g: &mut ConsumerGroup, c: usize) -> usize {
    let gone = g.consumers.remove(c);
    for id in &gone.pending {
        if let Ok(p) = pel_find(g, *id) {
            g.pel.remove(p);
        }
    }
    gone.pending.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(ids: &[(u64, u64)]) -> Stream {
        let mut s = Stream::default();
        for &(ms, seq) in ids {
            append(
                &mut s,
                StreamId::new(ms, seq),
                vec![(b"f".to_vec(), b"v".to_vec())],
            );
        }
        s
    }

    #[test]
    fn trim_and_delete_keep_metadata() {
        let mut s = st(&[(1, 0), (2, 0), (3, 0), (4, 0)]);
        assert!(delete(&mut s, StreamId::new(2, 0)));
        assert_eq!(s.max_deleted_id, StreamId::new(2, 0));
        assert_eq!(trim(&mut s, Trim::MaxLen(1), 0), 2);
        assert_eq!(s.first_id, StreamId::new(4, 0));
        assert_eq!(s.length, 1);
        assert_eq!(s.entries_added, 4);
        assert_eq!(trim(&mut s, Trim::MinId(StreamId::new(9, 0)), 0), 1);
        assert_eq!(s.first_id, StreamId::default());
        assert_eq!(s.last_id, StreamId::new(4, 0));
    }

    #[test]
    fn pel_ownership_moves() {
        let mut s = st(&[(1, 0), (2, 0)]);
        assert!(create_group(&mut s, b"g", StreamId::default(), None));
        let g = &mut s.groups[0];
        let (a, _) = consumer_or_create(g, b"a", 1);
        assign(g, StreamId::new(1, 0), a, 5, 1);
        let (b, created) = consumer_or_create(g, b"b", 1);
        assert!(created);
        assign(g, StreamId::new(1, 0), b, 6, 2);
        assert!(g.consumers[0].pending.is_empty());
        assert_eq!(g.consumers[1].pending, vec![StreamId::new(1, 0)]);
        assert!(ack(g, StreamId::new(1, 0)));
        assert!(g.pel.is_empty() && g.consumers[1].pending.is_empty());
    }

    #[test]
    fn incr_decr_edges() {
        assert_eq!(incr(MAX_ID), None);
        assert_eq!(decr(StreamId::default()), None);
        assert_eq!(incr(StreamId::new(1, u64::MAX)), Some(StreamId::new(2, 0)));
        assert_eq!(decr(StreamId::new(2, 0)), Some(StreamId::new(1, u64::MAX)));
    }
}
