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
//! Redis stores entries in radix-tree nodes (listpacks) and approximate trimming (`~`) only
//! drops whole nodes, so `Stream::nodes` mirrors that layout by metadata: per node its master
//! ID and fields, live and deleted counts, listpack size in bytes and last ID. Appends open a
//! node exactly when Redis's `streamAppendItem` would (size computed with listpack's
//! encodings), and XDEL and trimming update the counts as `t_stream.c` does:
//!
//! ```text
//! node bytes = 7 (header + end) + master entry (count, deleted, #fields, fields.., 0)
//!            + per entry: flags, ms-delta, seq-delta, [#fields, fields..], values.., lp-count
//! element size = encoding (int: 1/2/3/4/5/9 bytes by range; string: 1/2/5-byte header
//!                + length; strings that parse as int64 are stored as ints) + backlen (1..5)
//! ```
//!
//! A stream loaded from an RDB file has no layout; it is rebuilt from the live entries
//! (`ensure_nodes`), without the tombstones Redis would still carry.

use ferrodis_rdb::{
    Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId, StreamNode,
};

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

/// `stream-node-max-bytes` / `stream-node-max-entries`.
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    /// Largest listpack in bytes (0 = Redis's 1 GB cap).
    pub max_bytes: u64,
    /// Most entries (live + deleted) per node, 0 = no limit.
    pub max_entries: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// Redis's `STREAM_LISTPACK_MAX_SIZE`.
const LISTPACK_MAX_SIZE: u64 = 1 << 30;

/// Encoded size of a listpack integer.
fn int_enc(v: i64) -> u64 {
    match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    }
}

/// Encoded size of a listpack string element (stored as an integer when it is one).
fn str_enc(b: &[u8]) -> u64 {
    if let Some(v) = crate::util::parse_i64(b) {
        return int_enc(v);
    }
    let l = b.len() as u64;
    if l < 64 {
        1 + l
    } else if l < 4096 {
        2 + l
    } else {
        5 + l
    }
}

/// An element's total size: encoding plus its back-length.
fn elem(enc: u64) -> u64 {
    enc + match enc {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

fn int_elem(v: i64) -> u64 {
    elem(int_enc(v))
}

/// Size change of replacing integer `a` with `b` in a listpack.
fn replace_delta(a: u64, b: u64) -> i64 {
    int_elem(b as i64) as i64 - int_elem(a as i64) as i64
}

fn add_bytes(n: &mut StreamNode, delta: i64) {
    n.bytes = (n.bytes as i64 + delta).max(0) as u64;
}

/// Bytes one entry adds to a node with master `master`.
fn entry_bytes(id: StreamId, master: StreamId, fields: &[(Vec<u8>, Vec<u8>)], same: bool) -> u64 {
    let nf = fields.len() as u64;
    let mut b = int_elem(if same { 2 } else { 0 });
    b += int_elem(id.ms.wrapping_sub(master.ms) as i64);
    b += int_elem(id.seq.wrapping_sub(master.seq) as i64);
    if !same {
        b += int_elem(nf as i64);
        b += fields.iter().map(|(f, _)| elem(str_enc(f))).sum::<u64>();
    }
    b += fields.iter().map(|(_, v)| elem(str_enc(v))).sum::<u64>();
    let lp_count = if same { nf + 3 } else { 2 * nf + 4 };
    b + int_elem(lp_count as i64)
}

/// Adds entry `id` to the layout (Redis's `streamAppendItem` node choice).
fn node_append(
    nodes: &mut Vec<StreamNode>,
    id: StreamId,
    fields: &[(Vec<u8>, Vec<u8>)],
    lim: NodeLimits,
) {
    let max_bytes = if lim.max_bytes == 0 || lim.max_bytes > LISTPACK_MAX_SIZE {
        LISTPACK_MAX_SIZE
    } else {
        lim.max_bytes
    };
    let value_bytes: u64 = fields.iter().map(|(f, v)| (f.len() + v.len()) as u64).sum();
    let fits = nodes.last().is_some_and(|t| {
        t.bytes + value_bytes < max_bytes
            && (lim.max_entries == 0 || t.live + t.deleted < lim.max_entries)
    });
    if let (true, Some(t)) = (fits, nodes.last_mut()) {
        let same = t.master_fields.len() == fields.len()
            && t.master_fields.iter().zip(fields).all(|(m, (f, _))| m == f);
        let delta = replace_delta(t.live, t.live + 1);
        add_bytes(t, delta);
        t.bytes += entry_bytes(id, t.master_id, fields, same);
        t.live += 1;
        t.last_id = id;
        return;
    }
    let master = 7
        + int_elem(1)
        + int_elem(0)
        + int_elem(fields.len() as i64)
        + fields.iter().map(|(f, _)| elem(str_enc(f))).sum::<u64>()
        + int_elem(0);
    nodes.push(StreamNode {
        master_id: id,
        master_fields: fields.iter().map(|(f, _)| f.clone()).collect(),
        live: 1,
        deleted: 0,
        bytes: master + entry_bytes(id, id, fields, true),
        last_id: id,
    });
}

/// Makes sure `s.nodes` describes `s.entries`: every path that creates a stream value (the
/// commands, RDB and DUMP loads) sets up or maintains the layout, so only a stream that has
/// entries but no nodes needs one, rebuilt from its live entries. (A full consistency check
/// would cost a pass over the nodes on every XADD.)
pub fn ensure_nodes(s: &mut Stream, lim: NodeLimits) {
    debug_assert!(
        s.nodes.is_empty() || s.nodes.iter().map(|n| n.live).sum::<u64>() == s.entries.len() as u64,
        "stream node layout out of step with the entries"
    );
    if !s.nodes.is_empty() || s.entries.is_empty() {
        return;
    }
    s.nodes.clear();
    for e in &s.entries {
        node_append(&mut s.nodes, e.id, &e.fields, lim);
    }
}

/// Appends an entry whose ID the caller checked to be above `last_id`.
pub fn append(s: &mut Stream, id: StreamId, fields: Vec<(Vec<u8>, Vec<u8>)>, lim: NodeLimits) {
    ensure_nodes(s, lim);
    node_append(&mut s.nodes, id, &fields, lim);
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

/// Marks `k` live entries of node `n` deleted (the counters Redis rewrites in place).
fn mark_deleted(n: &mut StreamNode, k: u64) {
    let d = replace_delta(n.live, n.live - k) + replace_delta(n.deleted, n.deleted + k);
    add_bytes(n, d);
    n.live -= k;
    n.deleted += k;
}

/// Deletes entry `id` (XDEL); true when it existed. Updates `max_deleted_id` like Redis.
pub fn delete(s: &mut Stream, id: StreamId, lim: NodeLimits) -> bool {
    ensure_nodes(s, lim);
    match find(s, id) {
        Ok(p) => {
            s.entries.remove(p);
            let ni = s.nodes.partition_point(|n| n.master_id <= id);
            if ni > 0 {
                if s.nodes[ni - 1].live <= 1 {
                    s.nodes.remove(ni - 1);
                } else {
                    mark_deleted(&mut s.nodes[ni - 1], 1);
                }
            }
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

/// Redis's `streamTrim`: drops whole nodes from the head while the threshold allows (at most
/// `limit` entries when `limit > 0`), then, unless `approx`, deletes inside the first node
/// that must stay. Returns how many entries went. Trimming does not move `max_deleted_id`
/// (Redis only does that for XDEL).
pub fn trim(s: &mut Stream, trim: Trim, approx: bool, limit: u64, lim: NodeLimits) -> u64 {
    ensure_nodes(s, lim);
    let mut deleted = 0u64;
    while let Some(node) = s.nodes.first() {
        if let Trim::MaxLen(max) = trim {
            if s.length <= max {
                break;
            }
        }
        let entries = node.live;
        if limit > 0 && deleted + entries > limit {
            break;
        }
        let remove_node = match trim {
            Trim::MaxLen(max) => s.length - entries >= max,
            Trim::MinId(min) => node.last_id < min,
        };
        if remove_node {
            s.entries.drain(..entries as usize);
            s.length -= entries;
            deleted += entries;
            s.nodes.remove(0);
            continue;
        }
        if approx {
            break;
        }
        let k = match trim {
            Trim::MaxLen(max) => s.length - max,
            Trim::MinId(min) => {
                s.entries[..entries as usize].partition_point(|e| e.id < min) as u64
            }
        };
        if k > 0 {
            s.entries.drain(..k as usize);
            s.length -= k;
            deleted += k;
            mark_deleted(&mut s.nodes[0], k);
        }
        break;
    }
    removed(s);
    deleted
}

/// The first entry Redis would find without skipping tombstones (the threshold an
/// approximate MINID trim is propagated with), or the largest ID when there is none.
pub fn first_with_tombstones(s: &Stream) -> StreamId {
    s.nodes.first().map_or(MAX_ID, |n| n.master_id)
}

/// The node keys (master IDs) of the layout, rebuilt on the side when it is stale.
fn node_keys(s: &Stream, lim: NodeLimits) -> Vec<[u8; 16]> {
    let live: u64 = s.nodes.iter().map(|n| n.live).sum();
    if live == s.entries.len() as u64 {
        return s.nodes.iter().map(|n| n.master_id.to_be_bytes()).collect();
    }
    let mut nodes = Vec::new();
    for e in &s.entries {
        node_append(&mut nodes, e.id, &e.fields, lim);
    }
    nodes.iter().map(|n| n.master_id.to_be_bytes()).collect()
}

/// XINFO's `radix-tree-keys` and `radix-tree-nodes`: the node count, and how many nodes a
/// compressed radix tree (Redis's rax) needs for those 16-byte keys: a compressed node per
/// run of shared bytes, a branching node where keys diverge, one node per key, and the
/// root alone for an empty tree.
pub fn radix_counts(s: &Stream, lim: NodeLimits) -> (usize, usize) {
    fn count(keys: &[[u8; 16]], depth: usize) -> usize {
        if depth == 16 {
            return 1;
        }
        let first = &keys[0];
        let last = &keys[keys.len() - 1];
        let mut common = 0;
        while depth + common < 16 && first[depth + common] == last[depth + common] {
            common += 1;
        }
        if common > 0 {
            return 1 + count(keys, depth + common);
        }
        let mut n = 1;
        let mut start = 0;
        while start < keys.len() {
            let b = keys[start][depth];
            let end = start + keys[start..].partition_point(|k| k[depth] == b);
            n += count(&keys[start..end], depth + 1);
            start = end;
        }
        n
    }
    let keys = node_keys(s, lim);
    if keys.is_empty() {
        return (0, 1);
    }
    (keys.len(), count(&keys, 0))
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
                NodeLimits::default(),
            );
        }
        s
    }

    #[test]
    fn trim_and_delete_keep_metadata() {
        let mut s = st(&[(1, 0), (2, 0), (3, 0), (4, 0)]);
        let lim = NodeLimits::default();
        assert!(delete(&mut s, StreamId::new(2, 0), lim));
        assert_eq!(s.max_deleted_id, StreamId::new(2, 0));
        assert_eq!(trim(&mut s, Trim::MaxLen(1), false, 0, lim), 2);
        assert_eq!(s.first_id, StreamId::new(4, 0));
        assert_eq!(s.length, 1);
        assert_eq!(s.entries_added, 4);
        assert_eq!(
            trim(&mut s, Trim::MinId(StreamId::new(9, 0)), false, 0, lim),
            1
        );
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
    fn node_layout_follows_redis_limits() {
        // 100 entries per node by default: the 101st opens a second node, and approximate
        // trimming only drops whole nodes.
        let ids: Vec<(u64, u64)> = (1..=250).map(|i| (i, 0)).collect();
        let mut s = st(&ids);
        assert_eq!(s.nodes.len(), 3);
        assert_eq!(s.nodes[1].master_id, StreamId::new(101, 0));
        let lim = NodeLimits::default();
        assert_eq!(trim(&mut s, Trim::MaxLen(180), true, 0, lim), 0);
        assert_eq!(trim(&mut s, Trim::MaxLen(120), true, 0, lim), 100);
        assert_eq!(s.nodes.len(), 2);
        // The empty listpack (7 bytes) + master entry (1, 0, 1, "f", 0) + one entry of
        // "f" "v" with the master's fields (flags, 0, 0, "v", lp-count 4).
        let one = st(&[(5, 0)]);
        assert_eq!(
            one.nodes[0].bytes,
            7 + (2 + 2 + 2 + 3 + 2) + (2 + 2 + 2 + 3 + 2)
        );
    }

    #[test]
    fn incr_decr_edges() {
        assert_eq!(incr(MAX_ID), None);
        assert_eq!(decr(StreamId::default()), None);
        assert_eq!(incr(StreamId::new(1, u64::MAX)), Some(StreamId::new(2, 0)));
        assert_eq!(decr(StreamId::new(2, 0)), Some(StreamId::new(1, u64::MAX)));
    }
}
