//! Stream values: the structured form, and the node listpacks that hold the entries.
//!
//! In an RDB, a stream's entries live in a radix tree of listpacks ("nodes"). Each
//! node is keyed by its *master ID* (16 bytes: ms u64 BE, seq u64 BE) and starts with
//! a master entry naming the fields most entries share:
//!
//! ```text
//! master entry: count | deleted | num_fields | field_1 .. field_N | 0
//! each entry:   flags | ms_delta | seq_delta | num_fields | f1 | v1 .. fN | vN | lp_count
//!   or, with flags & SAMEFIELDS: flags | ms_delta | seq_delta | v1 .. vN | lp_count
//! flags: bit 0 = deleted (tombstone), bit 1 = same fields as the master entry
//! deltas are relative to the master ID (64-bit wrapping; seq_delta may be negative)
//! lp_count = listpack items of the entry before lp_count:
//!   3 + N with SAMEFIELDS, else 3 + N + N + 1
//! ```
//! Every number is a listpack integer. Deleted entries are skipped when reading and
//! never written.

use crate::listpack::{self, Elem};

/// A stream ID: milliseconds and sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// Build an ID.
    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The 16-byte big-endian form used for node keys and PEL IDs.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    /// Parse the 16-byte big-endian form.
    pub fn from_be_bytes(b: [u8; 16]) -> Self {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId {
            ms: u64::from_be_bytes(ms),
            seq: u64::from_be_bytes(seq),
        }
    }
}

/// One stream entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    /// The entry's ID.
    pub id: StreamId,
    /// Field/value pairs in insertion order.
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A pending (delivered but not acknowledged) entry of a consumer group.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEntry {
    /// ID of the delivered entry.
    pub id: StreamId,
    /// Unix time in ms of the last delivery.
    pub delivery_time_ms: i64,
    /// How many times it was delivered.
    pub delivery_count: u64,
}

/// A consumer of a consumer group.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    /// Consumer name.
    pub name: Vec<u8>,
    /// Unix time in ms the consumer was last seen.
    pub seen_time_ms: i64,
    /// Unix time in ms of the last successful read (only in 7.2's type 21; `None` otherwise).
    pub active_time_ms: Option<i64>,
    /// IDs of the group PEL entries this consumer owns.
    pub pending: Vec<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerGroup {
    /// Group name.
    pub name: Vec<u8>,
    /// Last ID delivered to the group.
    pub last_id: StreamId,
    /// Logical read counter; `None` = unknown (stored as -1, or absent in type 15).
    pub entries_read: Option<u64>,
    /// Pending entries list, ascending by ID.
    pub pel: Vec<PendingEntry>,
    /// Consumers.
    pub consumers: Vec<Consumer>,
}

/// A stream value with its 7.0 metadata. Equality ignores `nodes` (a layout, not content).
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// Live entries, ascending by ID.
    pub entries: Vec<StreamEntry>,
    /// Number of live entries (what XLEN reports); should equal `entries.len()`.
    pub length: u64,
    /// Last ID ever added (may be above the last live entry).
    pub last_id: StreamId,
    /// ID of the first live entry (0-0 when empty).
    pub first_id: StreamId,
    /// Highest ID ever deleted.
    pub max_deleted_id: StreamId,
    /// Count of entries ever added.
    pub entries_added: u64,
    /// Consumer groups.
    pub groups: Vec<ConsumerGroup>,
    /// How the server lays the entries out in Redis's radix-tree nodes (approximate trimming
    /// and XINFO depend on it). Kept by the server's stream commands, never written to or read
    /// from RDB files: empty after a load, and the server rebuilds it when it is missing.
    pub nodes: Vec<StreamNode>,
}

impl PartialEq for Stream {
    fn eq(&self, o: &Self) -> bool {
        self.entries == o.entries
            && self.length == o.length
            && self.last_id == o.last_id
            && self.first_id == o.first_id
            && self.max_deleted_id == o.max_deleted_id
            && self.entries_added == o.entries_added
            && self.groups == o.groups
    }
}

/// One radix-tree node (listpack) of a stream as Redis 7.0 would hold it, by its metadata:
/// enough to decide, as Redis does, when an append opens a new node and what trimming drops.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamNode {
    /// ID of the first entry added to the node (its radix-tree key).
    pub master_id: StreamId,
    /// Field names of the master entry (the first entry's fields).
    pub master_fields: Vec<Vec<u8>>,
    /// Live entries in the node.
    pub live: u64,
    /// Entries marked deleted but still in the listpack.
    pub deleted: u64,
    /// Size of the node's listpack in bytes (`lpBytes`).
    pub bytes: u64,
    /// ID of the last entry in the node, deleted or not.
    pub last_id: StreamId,
}

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// Cursor over the elements of a node listpack.
struct Cursor<'a> {
    elems: Vec<Elem<'a>>,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn next(&mut self, what: &str) -> Result<Elem<'a>, String> {
        let e =
            self.elems.get(self.pos).copied().ok_or_else(|| {
                format!("stream node ends at element {}: expected {what}", self.pos)
            })?;
        self.pos += 1;
        Ok(e)
    }

    fn int(&mut self, what: &str) -> Result<i64, String> {
        let at = self.pos;
        self.next(what)?
            .as_int()
            .ok_or_else(|| format!("stream node element {at}: expected integer {what}"))
    }

    /// A non-negative count, bounded by the elements left (each counted item is one element).
    fn count(&mut self, what: &str) -> Result<usize, String> {
        let at = self.pos;
        let v = self.int(what)?;
        let left = self.elems.len() - self.pos;
        usize::try_from(v)
            .ok()
            .filter(|&n| n <= left)
            .ok_or_else(|| {
                format!("stream node element {at}: {what} {v} out of range ({left} elements left)")
            })
    }
}

/// Decode one node listpack whose master ID is `master`, appending its live entries; returns
/// the node's layout (counts, size, last ID including deleted entries) for [`Stream::nodes`].
pub(crate) fn decode_node(
    master: StreamId,
    blob: &[u8],
    out: &mut Vec<StreamEntry>,
) -> Result<StreamNode, String> {
    let elems = listpack::parse(blob)?;
    if elems.is_empty() {
        return Err("empty listpack inside a stream node".into());
    }
    let mut c = Cursor { elems, pos: 0 };
    let live = c.int("master entry count")?;
    let deleted = c.int("master entry deleted count")?;
    if live < 0 || deleted < 0 {
        return Err("stream node master entry has a negative entry count".into());
    }
    let nfields = c.count("master entry field count")?;
    let mut master_fields = Vec::with_capacity(nfields);
    for _ in 0..nfields {
        master_fields.push(c.next("master field name")?.to_bytes());
    }
    if c.int("master entry terminator 0")? != 0 {
        return Err("stream node master entry does not end with 0".into());
    }
    let total = live
        .checked_add(deleted)
        .ok_or("stream node entry count overflows")?;
    let mut seen_live = 0i64;
    let mut last_id = master;
    for _ in 0..total {
        let flags = c.int("entry flags")?;
        let ms_delta = c.int("entry ms delta")?;
        let seq_delta = c.int("entry seq delta")?;
        let id = StreamId {
            ms: master.ms.wrapping_add(ms_delta as u64),
            seq: master.seq.wrapping_add(seq_delta as u64),
        };
        last_id = id;
        let mut fields = Vec::new();
        let expect_lp_count = if flags & FLAG_SAMEFIELDS != 0 {
            fields.reserve(nfields);
            for f in &master_fields {
                fields.push((f.clone(), c.next("entry value")?.to_bytes()));
            }
            3 + nfields
        } else {
            let n = c.count("entry field count")?;
            fields.reserve(n);
            for _ in 0..n {
                let f = c.next("entry field")?.to_bytes();
                let v = c.next("entry value")?.to_bytes();
                fields.push((f, v));
            }
            3 + 2 * n + 1
        };
        let at = c.pos;
        let lp_count = c.int("entry lp-count")?;
        if usize::try_from(lp_count).ok() != Some(expect_lp_count) {
            return Err(format!(
                "stream node element {at}: lp-count {lp_count}, expected {expect_lp_count}"
            ));
        }
        if flags & FLAG_DELETED == 0 {
            if let Some(prev) = out.last() {
                if prev.id >= id {
                    return Err(format!("stream entry IDs not ascending at element {at}"));
                }
            }
            seen_live += 1;
            out.push(StreamEntry { id, fields });
        }
    }
    if seen_live != live {
        return Err(format!(
            "stream node master entry says {live} live entries, found {seen_live}"
        ));
    }
    if c.pos != c.elems.len() {
        return Err(format!(
            "stream node has {} trailing elements",
            c.elems.len() - c.pos
        ));
    }
    Ok(StreamNode {
        master_id: master,
        master_fields,
        live: live as u64,
        deleted: deleted as u64,
        bytes: blob.len() as u64,
        last_id,
    })
}

/// Node limits matching Redis 7.0's defaults (`stream-node-max-entries 100`,
/// `stream-node-max-bytes 4096`); nodes are loaded verbatim, so we keep them that size.
const NODE_MAX_ENTRIES: usize = 100;
const NODE_MAX_BYTES: usize = 4096;

/// Encode a stream's entries into node (master ID, listpack) pairs: along `s.nodes` when it
/// describes the entries (so a reload gets the same node boundaries; deleted entries are not
/// kept in memory, so nodes are written without their tombstones), else by size.
pub(crate) fn encode_stream_nodes(s: &Stream) -> Vec<(StreamId, Vec<u8>)> {
    let live: u64 = s.nodes.iter().map(|n| n.live).sum();
    if s.nodes.is_empty() || live != s.entries.len() as u64 {
        return encode_nodes(&s.entries);
    }
    let mut out = Vec::new();
    let mut start = 0;
    for n in &s.nodes {
        if n.live == 0 {
            continue;
        }
        let end = start + n.live as usize;
        let fields: Vec<&[u8]> = n.master_fields.iter().map(|f| f.as_slice()).collect();
        out.push((
            n.master_id,
            encode_node(n.master_id, &fields, &s.entries[start..end]),
        ));
        start = end;
    }
    out
}

/// Encode entries (ascending by ID) into node (master ID, listpack) pairs.
pub(crate) fn encode_nodes(entries: &[StreamEntry]) -> Vec<(StreamId, Vec<u8>)> {
    let mut nodes = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let master = &entries[start];
        let master_fields: Vec<&[u8]> = master.fields.iter().map(|(f, _)| f.as_slice()).collect();
        // Decide how many entries go in this node, estimating their encoded size.
        let mut end = start;
        let mut bytes = 16 + master_fields.iter().map(|f| f.len() + 3).sum::<usize>();
        while end < entries.len()
            && end - start < NODE_MAX_ENTRIES
            && (end == start || bytes < NODE_MAX_BYTES)
        {
            bytes += 12
                + entries[end]
                    .fields
                    .iter()
                    .map(|(f, v)| f.len() + v.len() + 6)
                    .sum::<usize>();
            end += 1;
        }
        nodes.push((
            master.id,
            encode_node(master.id, &master_fields, &entries[start..end]),
        ));
        start = end;
    }
    nodes
}

/// One node listpack: the master entry (`master_fields`), then `entries` as deltas from
/// `master`.
fn encode_node(master: StreamId, master_fields: &[&[u8]], entries: &[StreamEntry]) -> Vec<u8> {
    let mut lp = listpack::Builder::new();
    lp.push_int(entries.len() as i64);
    lp.push_int(0);
    lp.push_int(master_fields.len() as i64);
    for f in master_fields {
        lp.push(f);
    }
    lp.push_int(0);
    for e in entries {
        let same = e.fields.len() == master_fields.len()
            && e.fields
                .iter()
                .zip(master_fields)
                .all(|((f, _), m)| f.as_slice() == *m);
        lp.push_int(if same { FLAG_SAMEFIELDS } else { 0 });
        lp.push_int(e.id.ms.wrapping_sub(master.ms) as i64);
        lp.push_int(e.id.seq.wrapping_sub(master.seq) as i64);
        let n = e.fields.len();
        if same {
            for (_, v) in &e.fields {
                lp.push(v);
            }
            lp.push_int((3 + n) as i64);
        } else {
            lp.push_int(n as i64);
            for (f, v) in &e.fields {
                lp.push(f);
                lp.push(v);
            }
            lp.push_int((3 + 2 * n + 1) as i64);
        }
    }
    lp.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_roundtrip() {
        let mut entries = Vec::new();
        for i in 0..250u64 {
            let mut fields = vec![
                (b"name".to_vec(), format!("v{i}").into_bytes()),
                (b"n".to_vec(), i.to_string().into_bytes()),
            ];
            if i % 7 == 0 {
                fields.push((b"extra".to_vec(), vec![b'x'; (i as usize) * 3]));
            }
            if i % 11 == 0 {
                fields.reverse();
            }
            entries.push(StreamEntry {
                id: StreamId::new(1_700_000_000_000 + i / 3, i % 3),
                fields,
            });
        }
        let nodes = encode_nodes(&entries);
        assert!(nodes.len() >= 3);
        let mut out = Vec::new();
        for (id, lp) in &nodes {
            decode_node(*id, lp, &mut out).unwrap();
        }
        assert_eq!(out, entries);
    }
}
