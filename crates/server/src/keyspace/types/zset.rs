//! Sorted set values: `listpack` (a [`Packed`] buffer of member, score, member, score... kept
//! in (score, member) order; scores as 8 raw bytes) while small, `skiplist` past
//! `zset-max-listpack-entries` / `-value`.
//!
//! The large form is a [`Sorted`]: an order-statistics "chunked sorted list" (runs of at most
//! [`CHUNK`] `(score, member)` pairs; rank = sizes of the chunks before + a binary search)
//! plus a [`DenseMap`] member -> score. Every command is expressed as rank ranges: score
//! and lex bounds become ranks through [`ZSet::count_below`], then [`ZSet::range`] /
//! [`ZSet::remove_range`] work on ranks.

use super::dense::DenseMap;
use super::packed::Packed;
use super::Limits;
use crate::keyspace::SmallBytes;
use std::cmp::Ordering;

/// Largest run in the skiplist form before it is split.
pub const CHUNK: usize = 512;

/// Redis's order: by score, then by member bytes.
#[inline]
pub fn cmp_entry(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.1.cmp(b.1))
}

/// A sorted set.
#[derive(Debug, Clone, PartialEq)]
pub enum ZSet {
    /// member, score(8 bytes LE), ... in order.
    Packed(Packed),
    /// The large form.
    Sorted(Box<Sorted>),
}

/// The `skiplist` encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Sorted {
    chunks: Vec<Vec<(f64, SmallBytes)>>,
    map: DenseMap<f64>,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Packed(Packed::default())
    }
}

fn score_of(b: &[u8]) -> f64 {
    let mut a = [0u8; 8];
    if b.len() == 8 {
        a.copy_from_slice(b);
    }
    f64::from_le_bytes(a)
}

/// One element of the packed form, with its byte span.
struct PEntry<'a> {
    start: usize,
    end: usize,
    member: &'a [u8],
    score: f64,
}

fn packed_entries(p: &Packed) -> Vec<PEntry<'_>> {
    let mut out = Vec::with_capacity(p.len() / 2);
    let mut off = 0;
    while let Some((m, soff)) = p.element_at(off) {
        let Some((s, end)) = p.element_at(soff) else {
            break;
        };
        out.push(PEntry {
            start: off,
            end,
            member: m,
            score: score_of(s),
        });
        off = end;
    }
    out
}

impl Sorted {
    fn new() -> Self {
        Sorted {
            chunks: Vec::new(),
            map: DenseMap::with_capacity(0),
        }
    }

    /// Rank of the first element for which `below` is false (`below` must be monotone).
    fn partition(&self, below: impl Fn(f64, &[u8]) -> bool) -> usize {
        let ci = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|(s, m)| below(*s, m.as_slice())));
        let before: usize = self.chunks[..ci].iter().map(|c| c.len()).sum();
        match self.chunks.get(ci) {
            Some(c) => before + c.partition_point(|(s, m)| below(*s, m.as_slice())),
            None => before,
        }
    }

    fn insert_ordered(&mut self, score: f64, member: &[u8]) {
        let key = (score, member);
        if self.chunks.is_empty() {
            self.chunks.push(Vec::with_capacity(8));
        }
        let mut ci = self.chunks.partition_point(|c| {
            c.last()
                .is_some_and(|(s, m)| cmp_entry((*s, m), key) == Ordering::Less)
        });
        if ci == self.chunks.len() {
            ci -= 1;
        }
        let c = &mut self.chunks[ci];
        let pos = c.partition_point(|(s, m)| cmp_entry((*s, m), key) == Ordering::Less);
        c.insert(pos, (score, SmallBytes::new(member)));
        if c.len() >= CHUNK {
            let tail = c.split_off(CHUNK / 2);
            self.chunks.insert(ci + 1, tail);
        }
    }

    fn remove_ordered(&mut self, score: f64, member: &[u8]) {
        let key = (score, member);
        let ci = self.chunks.partition_point(|c| {
            c.last()
                .is_some_and(|(s, m)| cmp_entry((*s, m), key) == Ordering::Less)
        });
        if let Some(c) = self.chunks.get_mut(ci) {
            let pos = c.partition_point(|(s, m)| cmp_entry((*s, m), key) == Ordering::Less);
            if c.get(pos).is_some_and(|(_, m)| m.as_slice() == member) {
                c.remove(pos);
                if c.is_empty() {
                    self.chunks.remove(ci);
                }
            }
        }
    }
}

impl ZSet {
    /// An empty (listpack) sorted set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sorted set of `pairs` (distinct members), in the encoding Redis would choose for a
    /// set of this size: used by RDB load and by ZUNIONSTORE/ZRANGESTORE-style results.
    pub fn from_pairs_with(pairs: Vec<(Vec<u8>, f64)>, lim: &Limits) -> ZSet {
        let packed = pairs.len() <= lim.entries && pairs.iter().all(|(m, _)| m.len() <= lim.value);
        let mut z = if packed {
            ZSet::new()
        } else {
            ZSet::Sorted(Box::new(Sorted::new()))
        };
        let mut pairs = pairs;
        pairs.sort_by(|a, b| cmp_entry((a.1, &a.0), (b.1, &b.0)));
        match &mut z {
            ZSet::Packed(p) => {
                for (m, s) in &pairs {
                    p.push(m);
                    p.push(&s.to_le_bytes());
                }
            }
            ZSet::Sorted(s) => {
                for (m, sc) in &pairs {
                    if s.map.insert(m, *sc).is_none() {
                        s.insert_ordered(*sc, m);
                    }
                }
            }
        }
        z
    }

    /// [`ZSet::from_pairs_with`] with the default thresholds (RDB load).
    pub fn from_pairs(pairs: Vec<(Vec<u8>, f64)>) -> ZSet {
        Self::from_pairs_with(pairs, &super::DEFAULT_ZSET)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            ZSet::Packed(p) => p.len() / 2,
            ZSet::Sorted(s) => s.map.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Packed(_) => "listpack",
            ZSet::Sorted(_) => "skiplist",
        }
    }

    /// Heap bytes owned.
    pub fn heap_size(&self) -> usize {
        match self {
            ZSet::Packed(p) => p.heap_size(),
            ZSet::Sorted(s) => {
                s.map.heap_size(|_| 0)
                    + s.chunks
                        .iter()
                        .map(|c| {
                            c.capacity() * 32 + c.iter().map(|(_, m)| m.heap_size()).sum::<usize>()
                        })
                        .sum::<usize>()
            }
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Packed(p) => packed_entries(p)
                .into_iter()
                .find(|e| e.member == member)
                .map(|e| e.score),
            ZSet::Sorted(s) => s.map.get(member).copied(),
        }
    }

    /// Ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            ZSet::Packed(p) => packed_entries(p).iter().position(|e| e.member == member),
            ZSet::Sorted(s) => {
                let sc = *s.map.get(member)?;
                Some(s.partition(|x, m| cmp_entry((x, m), (sc, member)) == Ordering::Less))
            }
        }
    }

    /// Number of leading elements for which `below(score, member)` holds; `below` must be
    /// monotone in the set's order (e.g. "score < min").
    pub fn count_below(&self, below: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Packed(p) => packed_entries(p).partition_point(|e| below(e.score, e.member)),
            ZSet::Sorted(s) => s.partition(below),
        }
    }

    fn convert_to_sorted(&mut self) {
        if let ZSet::Packed(p) = self {
            let mut s = Sorted::new();
            for e in packed_entries(p) {
                s.map.insert(e.member, e.score);
                s.insert_ordered(e.score, e.member);
            }
            *self = ZSet::Sorted(Box::new(s));
        }
    }

    /// Sets `member`'s score; returns the old score (None when the member is new). Converts
    /// to `skiplist` past the thresholds.
    pub fn insert(&mut self, member: &[u8], score: f64, lim: &Limits) -> Option<f64> {
        if let ZSet::Packed(p) = self {
            let entries = packed_entries(p);
            let old = entries.iter().find(|e| e.member == member);
            let old_score = old.map(|e| e.score);
            if old.is_none() && (entries.len() + 1 > lim.entries || member.len() > lim.value) {
                drop(entries);
                self.convert_to_sorted();
                return self.insert(member, score, lim);
            }
            if let Some(o) = old {
                if o.score == score {
                    return old_score;
                }
                let (start, end) = (o.start, o.end);
                drop(entries);
                p.remove_span(start, end, 2);
            } else {
                drop(entries);
            }
            let entries = packed_entries(p);
            let pos = entries
                .iter()
                .find(|e| cmp_entry((e.score, e.member), (score, member)) == Ordering::Greater)
                .map_or(p.end(), |e| e.start);
            drop(entries);
            p.insert_at(pos, &[member, &score.to_le_bytes()]);
            return old_score;
        }
        let ZSet::Sorted(s) = self else {
            return None;
        };
        match s.map.get(member).copied() {
            Some(old) => {
                if old != score {
                    s.remove_ordered(old, member);
                    s.insert_ordered(score, member);
                    s.map.insert(member, score);
                }
                Some(old)
            }
            None => {
                s.map.insert(member, score);
                s.insert_ordered(score, member);
                None
            }
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Packed(p) => {
                let e = packed_entries(p).into_iter().find(|e| e.member == member)?;
                let (start, end, score) = (e.start, e.end, e.score);
                p.remove_span(start, end, 2);
                Some(score)
            }
            ZSet::Sorted(s) => {
                let score = s.map.remove(member)?;
                s.remove_ordered(score, member);
                Some(score)
            }
        }
    }

    /// Elements with ascending ranks in `start..end` (clamped).
    pub fn range(&self, start: usize, end: usize) -> Vec<(&[u8], f64)> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        match self {
            ZSet::Packed(p) => packed_entries(p)[start..end]
                .iter()
                .map(|e| (e.member, e.score))
                .collect(),
            ZSet::Sorted(s) => {
                let mut out = Vec::with_capacity(end - start);
                let mut base = 0;
                for c in &s.chunks {
                    let (lo, hi) = (base, base + c.len());
                    base = hi;
                    if hi <= start {
                        continue;
                    }
                    if lo >= end {
                        break;
                    }
                    let a = start.saturating_sub(lo);
                    let b = (end - lo).min(c.len());
                    out.extend(c[a..b].iter().map(|(sc, m)| (m.as_slice(), *sc)));
                }
                out
            }
        }
    }

    /// Removes ranks `start..end` (clamped); returns how many were removed.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match self {
            ZSet::Packed(p) => {
                let entries = packed_entries(p);
                let (a, b) = (entries[start].start, entries[end - 1].end);
                drop(entries);
                p.remove_span(a, b, 2 * (end - start));
            }
            ZSet::Sorted(s) => {
                let mut base = 0;
                let mut ci = 0;
                while ci < s.chunks.len() {
                    let len = s.chunks[ci].len();
                    let (lo, hi) = (base, base + len);
                    base = hi;
                    if hi <= start {
                        ci += 1;
                        continue;
                    }
                    if lo >= end {
                        break;
                    }
                    let a = start.saturating_sub(lo);
                    let b = (end - lo).min(len);
                    for (_, m) in s.chunks[ci].drain(a..b) {
                        s.map.remove(&m);
                    }
                    if s.chunks[ci].is_empty() {
                        s.chunks.remove(ci);
                    } else {
                        ci += 1;
                    }
                }
            }
        }
        end - start
    }

    /// Every (member, score) in ascending order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match self {
            ZSet::Packed(p) => {
                let mut it = p.iter();
                Box::new(std::iter::from_fn(move || {
                    let (_, m) = it.next()?;
                    let (_, s) = it.next()?;
                    Some((m, score_of(s)))
                }))
            }
            ZSet::Sorted(s) => Box::new(
                s.chunks
                    .iter()
                    .flat_map(|c| c.iter().map(|(sc, m)| (m.as_slice(), *sc))),
            ),
        }
    }

    /// A member by storage position (uniform over members; O(1) for `skiplist`).
    pub fn at(&self, i: usize) -> Option<(&[u8], f64)> {
        match self {
            ZSet::Packed(_) => self.iter().nth(i),
            ZSet::Sorted(s) => s.map.at(i).map(|(m, sc)| (m, *sc)),
        }
    }

    /// One ZSCAN step (a listpack set is returned whole with cursor 0, as Redis does).
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(&[u8], f64)>) {
        match self {
            ZSet::Packed(_) => (0, self.iter().collect()),
            ZSet::Sorted(s) => {
                let (next, r) = s.map.scan_positions(cursor, count);
                (
                    next,
                    r.rev()
                        .filter_map(|i| s.map.at(i).map(|(m, sc)| (m, *sc)))
                        .collect(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(z: &ZSet, lim: &Limits) {
        let v: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        let mut sorted = v.clone();
        sorted.sort_by(|a, b| cmp_entry((a.1, &a.0), (b.1, &b.0)));
        assert_eq!(v, sorted);
        assert_eq!(v.len(), z.len());
        for (i, (m, s)) in v.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.score(m), Some(*s));
        }
        let _ = lim;
    }

    #[test]
    fn both_encodings_agree() {
        for lim in [
            Limits {
                entries: 128,
                value: 64,
            },
            Limits {
                entries: 0,
                value: 0,
            },
        ] {
            let mut z = ZSet::new();
            for i in 0..3000u64 {
                let m = format!("m{}", (i * 7919) % 1000);
                let s = ((i * 31) % 97) as f64;
                z.insert(m.as_bytes(), s, &lim);
            }
            assert_eq!(z.len(), 1000);
            check(&z, &lim);
            for i in (0..1000).step_by(3) {
                assert!(z.remove(format!("m{i}").as_bytes()).is_some());
            }
            check(&z, &lim);
            let n = z.len();
            let below = z.count_below(|s, _| s < 50.0);
            assert!(z.range(0, below).iter().all(|(_, s)| *s < 50.0));
            assert!(z.range(below, n).iter().all(|(_, s)| *s >= 50.0));
            assert_eq!(z.remove_range(10, 20), 10);
            assert_eq!(z.len(), n - 10);
            check(&z, &lim);
        }
    }
}
