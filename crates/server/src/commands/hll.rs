//! HyperLogLog: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//!
//! An HLL is a plain string value in Redis 7.0's exact layout, because replication and RDB
//! files carry it byte for byte: a Redis master's PFADD applied on a ferrodis replica (or the
//! other way round) must leave the same bytes, or DEBUG DIGEST and later reads diverge.
//!
//! ```text
//! header (16 bytes): "HYLL" | encoding (0 dense, 1 sparse) | 3 zero bytes |
//!                    cached cardinality, u64 little endian; bit 63 set = stale
//! dense:  16384 registers of 6 bits, packed from the least significant bit (12288 bytes)
//! sparse: run-length opcodes  00xxxxxx        ZERO  1..64 zero registers
//!                             01xxxxxx yyyyyyyy XZERO 1..16384 zero registers
//!                             1vvvvvxx        VAL   1..4 registers of value 1..32
//! ```
//!
//! An element hashes (MurmurHash64A, seed 0xadc83b19) to a register (low 14 bits) and a
//! run length (position of the first set bit in the remaining 50, plus one). A sparse HLL
//! is updated in place with the same opcode splitting and merging as Redis, and turns dense
//! when a value exceeds 32 or it would grow past `hll-sparse-max-bytes`. The estimate is
//! Ertl's improved estimator over the register histogram, as Redis 7.0 computes it.

use super::flags::*;
use super::{err, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::keyspace::{Entry, SmallBytes, Value};
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;

const K1: KeySpec = KeySpec::ONE;
/// Every argument from the first on is a key (PFCOUNT, PFMERGE).
const ALL_ARGS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 1,
};
/// PFDEBUG <subcommand> <key>.
const K2: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec(
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        K1,
        "hyperloglog",
        pfadd,
    ),
    spec("pfcount", -2, READONLY, ALL_ARGS, "hyperloglog", pfcount),
    spec(
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        ALL_ARGS,
        "hyperloglog",
        pfmerge,
    ),
    spec("pfdebug", 3, WRITE | ADMIN, K2, "hyperloglog", pfdebug),
    spec(
        "pfselftest",
        1,
        ADMIN,
        KeySpec::NONE,
        "hyperloglog",
        pfselftest,
    ),
];

const P: u32 = 14;
const REGISTERS: usize = 1 << P;
const Q: u32 = 64 - P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
const HDR: usize = 16;
const DENSE_BYTES: usize = (REGISTERS * BITS).div_ceil(8);
const DENSE_SIZE: usize = HDR + DENSE_BYTES;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

const NOT_HLL: CommandError =
    CommandError::new("WRONGTYPE Key is not a valid HyperLogLog string value.");
const INVALID: CommandError = CommandError::new("INVALIDOBJ Corrupted HLL object detected");

// ---------------------------------------------------------------------------------------
// Hashing

/// MurmurHash2, 64-bit variant, reading 8-byte blocks little endian (what Redis does on
/// every architecture).
fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate() {
            h ^= (*b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and its run length (1..=51).
fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The extra bit at Q bounds the count to Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------------------
// Dense registers

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs[byte] as u16;
    // The last register's second byte lies past the array: Redis reads its string's
    // terminating zero there.
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u16;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u16) as u8
}

fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = val as u16;
    regs[byte] &= !((REGISTER_MAX as u16) << fb) as u8;
    regs[byte] |= (v << fb) as u8;
    if let Some(b1) = regs.get_mut(byte + 1) {
        *b1 &= !((REGISTER_MAX as u16) >> (8 - fb)) as u8;
        *b1 |= (v >> (8 - fb)) as u8;
    }
}

/// Raises register `i` to `count`; true if it changed.
fn dense_raise(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_set(regs, i, count);
        true
    } else {
        false
    }
}

// ---------------------------------------------------------------------------------------
// Sparse opcodes

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    fn at(p: &[u8], i: usize) -> Option<Op> {
        let b = *p.get(i)?;
        Some(if b & 0xc0 == 0 {
            Op::Zero((b & 0x3f) as usize + 1)
        } else if b & 0x80 == 0 {
            let lo = *p.get(i + 1)? as usize;
            Op::XZero((((b & 0x3f) as usize) << 8 | lo) + 1)
        } else {
            Op::Val(((b >> 2) & 0x1f) + 1, (b & 3) as usize + 1)
        })
    }
    fn bytes(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }
    fn push(self, out: &mut Vec<u8>) {
        match self {
            Op::Zero(n) => out.push((n - 1) as u8),
            Op::XZero(n) => {
                let l = n - 1;
                out.push((l >> 8) as u8 | 0x40);
                out.push((l & 0xff) as u8);
            }
            Op::Val(v, n) => out.push(val_byte(v, n)),
        }
    }
}

/// A VAL opcode: `n` (1..=4) registers of value `v` (1..=32).
fn val_byte(v: u8, n: usize) -> u8 {
    ((v - 1) << 2 | (n - 1) as u8) | 0x80
}

/// A run of `n` zero registers as one opcode.
fn zeros(n: usize) -> Op {
    if n > ZERO_MAX_LEN {
        Op::XZero(n)
    } else {
        Op::Zero(n)
    }
}

/// Calls `f(first_register, op)` for every opcode; false when the encoding is broken
/// (truncated, or not covering exactly 16384 registers).
fn sparse_walk(body: &[u8], mut f: impl FnMut(usize, Op)) -> bool {
    let (mut i, mut reg) = (0, 0usize);
    while i < body.len() {
        let Some(op) = Op::at(body, i) else {
            return false;
        };
        if let Op::Val(..) = op {
            if reg + op.span() > REGISTERS {
                return false;
            }
        }
        f(reg, op);
        reg += op.span();
        i += op.bytes();
    }
    reg == REGISTERS
}

/// A new, empty HLL (sparse: one XZERO covering every register).
fn new_hll() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 2);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    Op::XZero(XZERO_MAX_LEN).push(&mut v);
    v
}

/// The dense form of a sparse HLL (header and cached cardinality kept), or None when the
/// sparse encoding is corrupt.
fn sparse_to_dense(hll: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; DENSE_SIZE];
    out[..HDR].copy_from_slice(&hll[..HDR]);
    out[4] = DENSE;
    let regs = &mut out[HDR..];
    let ok = sparse_walk(&hll[HDR..], |first, op| {
        if let Op::Val(v, n) = op {
            for r in first..first + n {
                dense_set(regs, r, v);
            }
        }
    });
    ok.then_some(out)
}

/// Outcome of a register update.
enum Set {
    Unchanged,
    Changed,
    Corrupt,
}

/// Raises register `index` of a sparse HLL to `count`, exactly as Redis edits the opcodes
/// (so both produce the same bytes). Promotes to dense when needed.
fn sparse_set(hll: &mut Vec<u8>, index: usize, count: u8, max_bytes: u64) -> Set {
    if count > VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    // Step 1: the opcode covering `index`, and the one before it.
    let mut p = HDR;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut found = None;
    while p < hll.len() {
        let Some(op) = Op::at(hll, p) else {
            return Set::Corrupt;
        };
        if index < first + op.span() {
            found = Some(op);
            break;
        }
        prev = Some(p);
        p += op.bytes();
        first += op.span();
    }
    let Some(op) = found else {
        return Set::Corrupt;
    };
    let span = op.span();
    // Step 2: the trivial cases, edited in place.
    match op {
        Op::Val(old, _) if old >= count => return Set::Unchanged,
        Op::Val(_, 1) | Op::Zero(1) => hll[p] = val_byte(count, 1),
        _ => {
            // Step 3: split the opcode into up to three (at most 5 bytes).
            let last = first + span - 1;
            let mut seq = Vec::with_capacity(5);
            match op {
                Op::Zero(_) | Op::XZero(_) => {
                    if index != first {
                        zeros(index - first).push(&mut seq);
                    }
                    Op::Val(count, 1).push(&mut seq);
                    if index != last {
                        zeros(last - index).push(&mut seq);
                    }
                }
                Op::Val(cur, _) => {
                    if index != first {
                        Op::Val(cur, index - first).push(&mut seq);
                    }
                    Op::Val(count, 1).push(&mut seq);
                    if index != last {
                        Op::Val(cur, last - index).push(&mut seq);
                    }
                }
            }
            let old_len = op.bytes();
            if seq.len() > old_len && (hll.len() + seq.len() - old_len) as u64 > max_bytes {
                return promote(hll, index, count);
            }
            hll.splice(p..p + old_len, seq);
        }
    }
    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from the
    // one before the change (Redis's bounded pass; the result need not be minimal).
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < hll.len() && scan > 0 {
        scan -= 1;
        match Op::at(hll, p) {
            Some(Op::XZero(_)) => {
                p += 2;
                continue;
            }
            Some(Op::Zero(_)) | None => {
                p += 1;
                continue;
            }
            Some(Op::Val(v1, l1)) => {
                if let Some(Op::Val(v2, l2)) = Op::at(hll, p + 1) {
                    if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                        hll[p + 1] = val_byte(v1, l1 + l2);
                        hll.remove(p);
                        continue;
                    }
                }
            }
        }
        p += 1;
    }
    invalidate(hll);
    Set::Changed
}

/// Sparse -> dense, then sets the register (which always changes it: the caller only
/// promotes for an update).
fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Set {
    let Some(dense) = sparse_to_dense(hll) else {
        return Set::Corrupt;
    };
    *hll = dense;
    dense_raise(&mut hll[HDR..], index, count);
    Set::Changed
}

fn invalidate(hll: &mut [u8]) {
    hll[15] |= 0x80;
}

fn cache_valid(hll: &[u8]) -> bool {
    hll[15] & 0x80 == 0
}

/// Adds one element; `Set::Changed` if a register grew.
fn add(hll: &mut Vec<u8>, ele: &[u8], max_bytes: u64) -> Set {
    let (index, count) = pat_len(ele);
    match hll[4] {
        DENSE => {
            if dense_raise(&mut hll[HDR..], index, count) {
                Set::Changed
            } else {
                Set::Unchanged
            }
        }
        SPARSE => sparse_set(hll, index, count, max_bytes),
        _ => Set::Corrupt,
    }
}

/// Folds `hll` into `max` (one byte per register); false when corrupt.
fn merge_into(max: &mut [u8; REGISTERS], hll: &[u8]) -> bool {
    if hll[4] == DENSE {
        let regs = &hll[HDR..];
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(regs, i));
        }
        true
    } else {
        sparse_walk(&hll[HDR..], |first, op| {
            if let Op::Val(v, n) = op {
                for m in &mut max[first..first + n] {
                    *m = (*m).max(v);
                }
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// Estimation (Otmar Ertl, "New cardinality estimation algorithms for HyperLogLog
// sketches", arXiv:1702.01284, as Redis 7.0 evaluates it)

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        // powf, not a multiplication: the same libm call Redis makes.
        z -= (1.0 - x).powf(2.0) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The cardinality of one HLL, or None when corrupt.
fn count(hll: &[u8]) -> Option<u64> {
    let mut histo = [0u32; 64];
    if hll[4] == DENSE {
        let regs = &hll[HDR..];
        for i in 0..REGISTERS {
            histo[dense_get(regs, i) as usize] += 1;
        }
    } else {
        let ok = sparse_walk(&hll[HDR..], |_, op| match op {
            Op::Zero(n) | Op::XZero(n) => histo[0] += n as u32,
            Op::Val(v, n) => histo[v as usize] += n as u32,
        });
        if !ok {
            return None;
        }
    }
    Some(estimate(&histo))
}

fn count_registers(max: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in max.iter() {
        histo[r as usize & 63] += 1;
    }
    estimate(&histo)
}

// ---------------------------------------------------------------------------------------
// Commands

/// Redis's validity check: a string of at least a header, with the magic, a known encoding,
/// and the exact size when dense.
fn is_hll(s: &[u8]) -> bool {
    s.len() >= HDR
        && &s[..4] == b"HYLL"
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

/// The HLL bytes at `key` (a copy), None when absent; type and format errors as Redis.
/// `write` looks the key up for writing (no hit/miss counted), as PFADD/PFMERGE/PFDEBUG do.
fn load_hll(ctx: &mut Ctx, key: &[u8], write: bool) -> Result<Option<Vec<u8>>, CommandError> {
    let entry = if write {
        ctx.lookup_write(key).map(|e| &*e)
    } else {
        ctx.lookup_read(key)
    };
    match entry {
        None => Ok(None),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) if is_hll(s.as_slice()) => Ok(Some(s.as_slice().to_vec())),
        Some(Entry {
            value: Value::Str(_),
            ..
        }) => Err(NOT_HLL),
        Some(_) => Err(err::WRONGTYPE),
    }
}

fn read_hll(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, CommandError> {
    load_hll(ctx, key, false)
}

fn write_hll(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, CommandError> {
    load_hll(ctx, key, true)
}

/// Stores `hll` as the value of `key`, keeping its TTL.
fn store(ctx: &mut Ctx, key: &[u8], hll: Vec<u8>) {
    match ctx.table(key).get_mut(key) {
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => *s = SmallBytes::raw_from_vec(hll),
        _ => ctx
            .table(key)
            .set_value(key, Value::Str(SmallBytes::raw_from_vec(hll)), false),
    }
}

fn max_bytes(ctx: &Ctx) -> u64 {
    ctx.server.config.read().hll_sparse_max_bytes
}

/// `PFADD key [element ...]`: 1 if the HLL was created or a register changed.
fn pfadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let limit = max_bytes(ctx);
    let (mut hll, mut updated) = match write_hll(ctx, key)? {
        Some(h) => (h, 0u64),
        None => (new_hll(), 1),
    };
    for ele in &args[2..] {
        match add(&mut hll, ele, limit) {
            Set::Changed => updated += 1,
            Set::Unchanged => {}
            Set::Corrupt => return Err(INVALID),
        }
    }
    if updated == 0 {
        return Ok(Frame::Integer(0));
    }
    invalidate(&mut hll);
    store(ctx, key, hll);
    ctx.dirty += updated;
    ctx.notify(notify::STRING, "pfadd", key);
    Ok(Frame::Integer(1))
}

/// `PFCOUNT key [key ...]`: one key answers from (or refreshes) its cached cardinality;
/// several keys count their union without touching them.
fn pfcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        let mut max = [0u8; REGISTERS];
        for key in &args[1..] {
            if let Some(h) = read_hll(ctx, key)? {
                if !merge_into(&mut max, &h) {
                    return Err(INVALID);
                }
            }
        }
        return Ok(Frame::Integer(count_registers(&max) as i64));
    }
    let key = &args[1];
    let Some(mut hll) = read_hll(ctx, key)? else {
        return Ok(Frame::Integer(0));
    };
    if cache_valid(&hll) {
        let mut card = [0u8; 8];
        card.copy_from_slice(&hll[8..16]);
        return Ok(Frame::Integer(u64::from_le_bytes(card) as i64));
    }
    let card = count(&hll).ok_or(INVALID)?;
    hll[8..16].copy_from_slice(&card.to_le_bytes());
    // Only the 8 cache bytes change: edit them in place (no reallocation, TTL untouched).
    if let Some(Entry {
        value: Value::Str(s),
        ..
    }) = ctx.table(key).get_mut(key)
    {
        s.make_raw();
        s.as_mut_slice()[8..16].copy_from_slice(&card.to_le_bytes());
    }
    // The value changed, so, as Redis does for this read-only command, the command itself
    // goes to the replicas and WATCHers see the key as modified.
    ctx.dirty += 1;
    ctx.key_modified(key);
    ctx.propagate(args.to_vec());
    Ok(Frame::Integer(card as i64))
}

/// `PFMERGE destkey [sourcekey ...]` (the destination is also a source).
fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut max = [0u8; REGISTERS];
    let mut use_dense = false;
    for key in &args[1..] {
        if let Some(h) = read_hll(ctx, key)? {
            use_dense |= h[4] == DENSE;
            if !merge_into(&mut max, &h) {
                return Err(INVALID);
            }
        }
    }
    let dest = &args[1];
    let limit = max_bytes(ctx);
    let mut hll = write_hll(ctx, dest)?.unwrap_or_else(new_hll);
    if use_dense && hll[4] == SPARSE {
        hll = sparse_to_dense(&hll).ok_or(INVALID)?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if hll[4] == DENSE {
            dense_raise(&mut hll[HDR..], i, m);
        } else if let Set::Corrupt = sparse_set(&mut hll, i, m, limit) {
            return Err(INVALID);
        }
    }
    invalidate(&mut hll);
    store(ctx, dest, hll);
    ctx.dirty += 1;
    ctx.notify(notify::STRING, "pfadd", dest);
    super::ok()
}

/// `PFDEBUG GETREG|DECODE|ENCODING|TODENSE key`
fn pfdebug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_string();
    let key = &args[2];
    let Some(mut hll) = write_hll(ctx, key)? else {
        return Err(CommandError::new("ERR The specified key does not exist"));
    };
    match sub.to_ascii_lowercase().as_str() {
        "getreg" => {
            if hll[4] == SPARSE {
                hll = sparse_to_dense(&hll).ok_or(INVALID)?;
                store(ctx, key, hll.clone());
                ctx.dirty += 1; // the encoding changed: propagate
            }
            let regs = &hll[HDR..];
            Ok(Frame::Array(
                (0..REGISTERS)
                    .map(|i| Frame::Integer(dense_get(regs, i) as i64))
                    .collect(),
            ))
        }
        "decode" => {
            if hll[4] != SPARSE {
                return Err(CommandError::new("ERR HLL encoding is not sparse"));
            }
            let mut parts = Vec::new();
            let mut i = HDR;
            while let Some(op) = Op::at(&hll, i) {
                parts.push(match op {
                    Op::Zero(n) => format!("z:{n}"),
                    Op::XZero(n) => format!("Z:{n}"),
                    Op::Val(v, n) => format!("v:{v},{n}"),
                });
                i += op.bytes();
            }
            Ok(Frame::Bulk(Bytes::from(parts.join(" "))))
        }
        "encoding" => Ok(Frame::Simple(Bytes::from_static(if hll[4] == DENSE {
            b"dense"
        } else {
            b"sparse"
        }))),
        "todense" => {
            if hll[4] == SPARSE {
                let dense = sparse_to_dense(&hll).ok_or(INVALID)?;
                store(ctx, key, dense);
                ctx.dirty += 1;
                Ok(Frame::Integer(1))
            } else {
                Ok(Frame::Integer(0))
            }
        }
        _ => Err(CommandError::msg(format!(
            "ERR Unknown PFDEBUG subcommand '{sub}'"
        ))),
    }
}

/// `PFSELFTEST`: register access and estimation checks of this implementation.
fn pfselftest(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    selftest().map_err(CommandError::msg)?;
    super::ok()
}

/// Dense register round trips with pseudo-random values, then sparse and dense HLLs fed the
/// same elements must agree and stay within six standard errors up to 10^6 elements.
fn selftest() -> Result<(), String> {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut regs = vec![0u8; DENSE_BYTES];
    let mut plain = vec![0u8; REGISTERS];
    for _ in 0..100 {
        for (i, p) in plain.iter_mut().enumerate() {
            *p = (next() & REGISTER_MAX as u64) as u8;
            dense_set(&mut regs, i, *p);
        }
        for (i, p) in plain.iter().enumerate() {
            let v = dense_get(&regs, i);
            if v != *p {
                return Err(format!(
                    "ERR TESTFAILED Register {i} should be {p} but is {v}"
                ));
            }
        }
    }
    let mut dense = new_hll();
    dense = sparse_to_dense(&dense).ok_or("ERR TESTFAILED empty HLL")?;
    let mut sparse = new_hll();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let seed = next();
    let mut checkpoint = 1u64;
    for j in 1..=1_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        add(&mut dense, &ele, 3000);
        add(&mut sparse, &ele, 3000);
        if j == checkpoint {
            let (a, b) = (count(&dense), count(&sparse));
            if a != b {
                return Err("ERR TESTFAILED dense/sparse disagree".into());
            }
            let est = a.unwrap_or(0) as i64;
            let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as i64;
            if j == 10 {
                maxerr = 1;
            }
            let abserr = (checkpoint as i64 - est).abs();
            if abserr > maxerr {
                return Err(format!(
                    "ERR TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
                ));
            }
            checkpoint *= 10;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hll_layout() {
        let h = new_hll();
        assert_eq!(&h[..], b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        assert_eq!(count(&h), Some(0));
    }

    #[test]
    fn dense_registers_round_trip_at_the_edges() {
        let mut regs = vec![0u8; DENSE_BYTES];
        for i in [0, 1, 2, 3, 16382, 16383] {
            dense_set(&mut regs, i, 63);
            assert_eq!(dense_get(&regs, i), 63);
            dense_set(&mut regs, i, 5);
            assert_eq!(dense_get(&regs, i), 5);
        }
        assert_eq!(dense_get(&regs, 4), 0);
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = new_hll();
        let mut d = sparse_to_dense(&new_hll()).unwrap_or_default();
        for i in 0..5000u32 {
            let e = format!("ele:{i}");
            add(&mut s, e.as_bytes(), 3000);
            add(&mut d, e.as_bytes(), 3000);
        }
        assert_eq!(s[4], DENSE, "5000 elements exceed 3000 sparse bytes");
        assert_eq!(count(&s), count(&d));
        let c = count(&d).unwrap_or(0) as f64;
        assert!((c - 5000.0).abs() / 5000.0 < 0.05, "{c}");
    }

    #[test]
    fn sparse_stays_sparse_for_small_sets_and_counts_exactly_small() {
        let mut s = new_hll();
        for i in 0..10u32 {
            add(&mut s, format!("{i}").as_bytes(), 3000);
        }
        assert_eq!(s[4], SPARSE);
        assert_eq!(count(&s), Some(10));
    }

    #[test]
    fn selftest_passes() {
        assert_eq!(selftest(), Ok(()));
    }
}
