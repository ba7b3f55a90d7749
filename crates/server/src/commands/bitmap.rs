//! Bitmap commands: bit-level access to string values (SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD, BITFIELD_RO). Bits are numbered from the most significant bit of the
//! first byte, as in Redis:
//!
//! ```text
//! byte:    0                 1
//! bit:     0 1 2 3 4 5 6 7   8 9 ...
//! ```
//!
//! Writes grow the string with zero bytes; reads past the end see zeros.

use super::flags::*;
use super::string::get_str;
use super::{arg_i64, err, is_kw, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::keyspace::{Entry, SmallBytes, Value};
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;

const K1: KeySpec = KeySpec::ONE;
/// BITOP's destination and sources.
const BITOP_KEYS: KeySpec = KeySpec {
    first: 2,
    last: -1,
    step: 1,
};

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec("setbit", 4, WRITE | DENYOOM, K1, "bitmap", setbit),
    spec("getbit", 3, READONLY | FAST, K1, "bitmap", getbit),
    spec("bitcount", -2, READONLY, K1, "bitmap", bitcount),
    spec("bitpos", -3, READONLY, K1, "bitmap", bitpos),
    spec("bitop", -4, WRITE | DENYOOM, BITOP_KEYS, "bitmap", bitop),
    spec("bitfield", -2, WRITE | DENYOOM, K1, "bitmap", bitfield),
    spec(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        K1,
        "bitmap",
        bitfield_ro,
    ),
];

const BAD_OFFSET: CommandError =
    CommandError::new("ERR bit offset is not an integer or out of range");
const BAD_BIT: CommandError = CommandError::new("ERR bit is not an integer or out of range");
const BAD_TYPE: CommandError = CommandError::new(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);

fn max_len(ctx: &Ctx) -> u64 {
    ctx.server.config.read().proto_max_bulk_len
}

/// Parses a bit offset. With `field_bits`, the `#N` form means `N * field_bits` (BITFIELD).
/// The byte holding the offset must be below `proto-max-bulk-len`.
fn parse_offset(a: &[u8], field_bits: Option<u32>, limit: u64) -> Result<u64, CommandError> {
    let (hash, digits) = match (a.first(), field_bits) {
        (Some(b'#'), Some(_)) => (true, &a[1..]),
        _ => (false, a),
    };
    let mut off = crate::util::parse_i64(digits).ok_or(BAD_OFFSET)?;
    if hash {
        off = off
            .checked_mul(field_bits.unwrap_or(1) as i64)
            .ok_or(BAD_OFFSET)?;
    }
    if off < 0 || (off as u64 >> 3) >= limit {
        return Err(BAD_OFFSET);
    }
    Ok(off as u64)
}

/// The string at `key` for writing, grown (with zeros) to at least `min_len` bytes, created
/// when missing. Returns the bytes and whether the key was created or grown.
fn str_for_write<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
    min_len: usize,
) -> Result<(&'c mut [u8], bool), CommandError> {
    let grown = match ctx.lookup_write(key) {
        None => {
            let v = Value::Str(SmallBytes::raw_from_vec(vec![0; min_len]));
            ctx.table(key).set_value(key, v, false);
            true
        }
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => {
            let before = s.len();
            s.grow_zeroed(min_len);
            s.make_raw();
            s.len() != before
        }
        Some(_) => return Err(err::WRONGTYPE),
    };
    match ctx.table(key).get_mut(key) {
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Ok((s.as_mut_slice(), grown)),
        _ => Err(err::WRONGTYPE),
    }
}

/// The bit at `off` (0 past the end).
fn get_bit(p: &[u8], off: u64) -> u8 {
    usize::try_from(off >> 3)
        .ok()
        .and_then(|i| p.get(i))
        .map_or(0, |b| (b >> (7 - (off & 7))) & 1)
}

/// `SETBIT key offset value` (replies the previous bit)
fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let off = parse_offset(&args[2], None, max_len(ctx))?;
    let on = match crate::util::parse_i64(&args[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return Err(BAD_BIT),
    };
    let byte = (off >> 3) as usize;
    let (p, grown) = str_for_write(ctx, &args[1], byte + 1)?;
    let shift = 7 - (off & 7) as u8;
    let old = (p[byte] >> shift) & 1;
    p[byte] = (p[byte] & !(1 << shift)) | (on << shift);
    // As Redis 7.0: a change only when the key was created or grown, or the bit flipped.
    if grown || old != on {
        ctx.changed();
        ctx.notify(notify::STRING, "setbit", &args[1]);
    }
    Ok(Frame::Integer(old as i64))
}

/// `GETBIT key offset`
fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let off = parse_offset(&args[2], None, max_len(ctx))?;
    let bit = get_str(ctx, &args[1])?.map_or(0, |p| get_bit(p, off));
    Ok(Frame::Integer(bit as i64))
}

/// A `start end [BYTE|BIT]` range resolved to an inclusive bit range, or `None` when empty.
/// Negative indexes count from the end; out-of-range ends are clamped, as Redis does.
fn bit_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<(u64, u64)> {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let norm = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, mut end) = (norm(start), norm(end));
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if in_bits {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    })
}

/// The byte at `i` with only the bits inside `lo..=hi` (absolute bit numbers) kept.
fn masked_byte(p: &[u8], i: usize, lo: u64, hi: u64) -> u8 {
    let first = i as u64 * 8;
    let mut m: u8 = 0xff;
    if lo > first {
        m &= 0xff >> (lo - first);
    }
    if hi < first + 7 {
        m &= 0xff << (first + 7 - hi);
    }
    p[i] & m
}

/// Set bits in `lo..=hi` (both inside `p`).
fn count_bits(p: &[u8], lo: u64, hi: u64) -> u64 {
    let (a, b) = ((lo >> 3) as usize, (hi >> 3) as usize);
    if a == b {
        return masked_byte(p, a, lo, hi).count_ones() as u64;
    }
    let mid: u64 = p[a + 1..b].iter().map(|x| x.count_ones() as u64).sum();
    mid + masked_byte(p, a, lo, hi).count_ones() as u64
        + masked_byte(p, b, lo, hi).count_ones() as u64
}

/// `BITCOUNT key [start end [BYTE|BIT]]`
fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Like Redis 7.0, the key is looked up before the range is parsed.
    let Some(p) = get_str(ctx, &args[1])? else {
        return Ok(Frame::Integer(0));
    };
    let range = match args.len() {
        2 => bit_range(p.len(), 0, -1, false),
        4 | 5 => {
            let start = arg_i64(&args[2])?;
            let end = arg_i64(&args[3])?;
            let in_bits = match args.get(4) {
                None => false,
                Some(u) if is_kw(u, "BIT") => true,
                Some(u) if is_kw(u, "BYTE") => false,
                Some(_) => return Err(err::SYNTAX),
            };
            bit_range(p.len(), start, end, in_bits)
        }
        _ => return Err(err::SYNTAX),
    };
    Ok(Frame::Integer(
        range.map_or(0, |(lo, hi)| count_bits(p, lo, hi)) as i64,
    ))
}

/// First bit equal to `bit` in `lo..=hi` (inside `p`).
fn find_bit(p: &[u8], bit: u8, lo: u64, hi: u64) -> Option<u64> {
    let (a, b) = ((lo >> 3) as usize, (hi >> 3) as usize);
    (a..=b).find_map(|i| {
        let x = if bit == 1 { p[i] } else { !p[i] };
        let first = i as u64 * 8;
        let mut m: u8 = 0xff;
        if lo > first {
            m &= 0xff >> (lo - first);
        }
        if hi < first + 7 {
            m &= 0xff << (first + 7 - hi);
        }
        let x = x & m;
        (x != 0).then(|| first + x.leading_zeros() as u64)
    })
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`
fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let bit = match arg_i64(&args[2])? {
        b @ (0 | 1) => b as u8,
        _ => return Err(CommandError::new("ERR The bit argument must be 1 or 0.")),
    };
    // A missing key is an endless run of zeros.
    let Some(p) = get_str(ctx, &args[1])? else {
        return Ok(Frame::Integer(if bit == 1 { -1 } else { 0 }));
    };
    if args.len() > 6 {
        return Err(err::SYNTAX);
    }
    let start = match args.get(3) {
        Some(a) => arg_i64(a)?,
        None => 0,
    };
    let in_bits = match args.get(5) {
        None => false,
        Some(u) if is_kw(u, "BIT") => true,
        Some(u) if is_kw(u, "BYTE") => false,
        Some(_) => return Err(err::SYNTAX),
    };
    let end_given = args.len() >= 5;
    let end = match args.get(4) {
        Some(a) => arg_i64(a)?,
        None => -1,
    };
    let Some((lo, hi)) = bit_range(p.len(), start, end, in_bits) else {
        return Ok(Frame::Integer(-1));
    };
    Ok(Frame::Integer(match find_bit(p, bit, lo, hi) {
        Some(pos) => pos as i64,
        // Without an explicit end, the string continues with zeros past its last byte.
        None if bit == 0 && !end_given => (hi + 1) as i64,
        None => -1,
    }))
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]` (replies the stored length)
fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    #[derive(PartialEq, Clone, Copy)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = match &args[1] {
        o if is_kw(o, "AND") => Op::And,
        o if is_kw(o, "OR") => Op::Or,
        o if is_kw(o, "XOR") => Op::Xor,
        o if is_kw(o, "NOT") => Op::Not,
        _ => return Err(err::SYNTAX),
    };
    if op == Op::Not && args.len() != 4 {
        return Err(CommandError::new(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let mut srcs: Vec<Vec<u8>> = Vec::with_capacity(args.len() - 3);
    for k in &args[3..] {
        srcs.push(get_str(ctx, k)?.map(|s| s.to_vec()).unwrap_or_default());
    }
    let len = srcs.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = vec![0u8; len];
    if let Some((first, rest)) = srcs.split_first() {
        out[..first.len()].copy_from_slice(first);
        match op {
            Op::Not => out.iter_mut().for_each(|b| *b = !*b),
            Op::And => {
                for s in rest {
                    for (i, b) in out.iter_mut().enumerate() {
                        *b &= s.get(i).copied().unwrap_or(0);
                    }
                }
            }
            Op::Or | Op::Xor => {
                for s in rest {
                    for (b, x) in out.iter_mut().zip(s) {
                        if op == Op::Or {
                            *b |= x;
                        } else {
                            *b ^= x;
                        }
                    }
                }
            }
        }
    }
    let dest = &args[2];
    if len == 0 {
        if ctx.table(dest).remove(dest).is_some() {
            ctx.notify(notify::GENERIC, "del", dest);
        }
    } else {
        ctx.table(dest)
            .set_value(dest, Value::Str(SmallBytes::raw_from_vec(out)), false);
        ctx.notify(notify::STRING, "set", dest);
    }
    ctx.changed();
    Ok(Frame::Integer(len as i64))
}

/// What BITFIELD does when a value does not fit the field.
#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One parsed BITFIELD operation.
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// Parses `i<1..=64>` or `u<1..=63>`.
fn parse_field_type(a: &[u8]) -> Result<(bool, u32), CommandError> {
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BAD_TYPE),
    };
    let bits = crate::util::parse_i64(&a[1..]).ok_or(BAD_TYPE)?;
    let max = if signed { 64 } else { 63 };
    if !(1..=max).contains(&bits) {
        return Err(BAD_TYPE);
    }
    Ok((signed, bits as u32))
}

/// Reads a `bits`-wide field at `off` (zeros past the end).
fn read_field(p: &[u8], off: u64, bits: u32, signed: bool) -> i128 {
    let mut v: u64 = 0;
    for i in 0..bits as u64 {
        v = (v << 1) | get_bit(p, off + i) as u64;
    }
    let v = v as i128;
    if signed && (v >> (bits - 1)) & 1 == 1 {
        v - (1i128 << bits)
    } else {
        v
    }
}

/// Writes the low `bits` bits of `v` at `off` (the string is long enough).
fn write_field(p: &mut [u8], off: u64, bits: u32, v: i128) {
    for i in 0..bits as u64 {
        let bit = ((v >> (bits as u64 - 1 - i)) & 1) as u8;
        let pos = off + i;
        let byte = (pos >> 3) as usize;
        let shift = 7 - (pos & 7) as u8;
        if let Some(b) = p.get_mut(byte) {
            *b = (*b & !(1 << shift)) | (bit << shift);
        }
    }
}

/// Fits `v` into the field's range with the overflow policy; `None` for FAIL on overflow.
fn fit(v: i128, signed: bool, bits: u32, ow: Overflow) -> Option<i128> {
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    if (min..=max).contains(&v) {
        return Some(v);
    }
    match ow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if v > max { max } else { min }),
        Overflow::Wrap => {
            let m = v.rem_euclid(1i128 << bits);
            Some(if signed && m > max {
                m - (1i128 << bits)
            } else {
                m
            })
        }
    }
}

/// `BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
/// [OVERFLOW WRAP|SAT|FAIL] ...`
fn bitfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bitfield_with(ctx, args, false)
}

/// `BITFIELD_RO key [GET type offset ...]`
fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bitfield_with(ctx, args, true)
}

fn bitfield_with(ctx: &mut Ctx, args: &[Bytes], readonly: bool) -> CmdResult {
    let limit = max_len(ctx);
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 2;
    while i < args.len() {
        let sub = &args[i];
        let left = args.len() - i - 1;
        if is_kw(sub, "OVERFLOW") && left >= 1 {
            let o = &args[i + 1];
            overflow = if is_kw(o, "WRAP") {
                Overflow::Wrap
            } else if is_kw(o, "SAT") {
                Overflow::Sat
            } else if is_kw(o, "FAIL") {
                Overflow::Fail
            } else {
                return Err(CommandError::new("ERR Invalid OVERFLOW type specified"));
            };
            i += 2;
            continue;
        }
        let (is_get, need) = if is_kw(sub, "GET") {
            (true, 2)
        } else if is_kw(sub, "SET") || is_kw(sub, "INCRBY") {
            (false, 3)
        } else {
            return Err(err::SYNTAX);
        };
        if left < need {
            return Err(err::SYNTAX);
        }
        let (signed, bits) = parse_field_type(&args[i + 1])?;
        let offset = parse_offset(&args[i + 2], Some(bits), limit)?;
        let op = if is_get {
            FieldOp::Get
        } else {
            let v = arg_i64(&args[i + 3])?;
            if is_kw(sub, "SET") {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
        i += need + 1;
    }
    let writes = fields.iter().any(|f| f.op != FieldOp::Get);
    if readonly && writes {
        return Err(CommandError::new(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    if !writes {
        let p = get_str(ctx, &args[1])?.unwrap_or_default();
        return Ok(Frame::Array(
            fields
                .iter()
                .map(|f| Frame::Integer(read_field(p, f.offset, f.bits, f.signed) as i64))
                .collect(),
        ));
    }
    let highest = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + f.bits as u64 - 1)
        .max()
        .unwrap_or(0);
    let (p, grown) = str_for_write(ctx, &args[1], (highest >> 3) as usize + 1)?;
    let mut changes = 0u64;
    let mut out = Vec::with_capacity(fields.len());
    for f in &fields {
        let old = read_field(p, f.offset, f.bits, f.signed);
        let reply = match f.op {
            FieldOp::Get => Frame::Integer(old as i64),
            FieldOp::Set(v) => match fit(v as i128, f.signed, f.bits, f.overflow) {
                Some(nv) => {
                    write_field(p, f.offset, f.bits, nv);
                    changes += (grown || nv != old) as u64;
                    Frame::Integer(old as i64)
                }
                None => Frame::Null,
            },
            FieldOp::IncrBy(by) => match fit(old + by as i128, f.signed, f.bits, f.overflow) {
                Some(nv) => {
                    write_field(p, f.offset, f.bits, nv);
                    changes += (grown || nv != old) as u64;
                    Frame::Integer(nv as i64)
                }
                None => Frame::Null,
            },
        };
        out.push(reply);
    }
    // As Redis 7.0: a write counts when the key was created or grown, or the field's value
    // changed; notified once.
    if changes > 0 {
        ctx.dirty += changes;
        ctx.notify(notify::STRING, "setbit", &args[1]);
    }
    Ok(Frame::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_policies() {
        assert_eq!(fit(256, false, 8, Overflow::Wrap), Some(0));
        assert_eq!(fit(-1, false, 8, Overflow::Wrap), Some(255));
        assert_eq!(fit(128, true, 8, Overflow::Wrap), Some(-128));
        assert_eq!(fit(300, false, 8, Overflow::Sat), Some(255));
        assert_eq!(fit(-300, true, 8, Overflow::Sat), Some(-128));
        assert_eq!(fit(256, false, 8, Overflow::Fail), None);
        assert_eq!(
            fit(i64::MAX as i128 + 1, true, 64, Overflow::Wrap),
            Some(i64::MIN as i128)
        );
    }

    #[test]
    fn fields_roundtrip() {
        let mut p = vec![0u8; 4];
        write_field(&mut p, 3, 12, -5i128.rem_euclid(1 << 12));
        assert_eq!(read_field(&p, 3, 12, true), -5);
        assert_eq!(find_bit(&p, 1, 0, 31), Some(3));
        assert_eq!(count_bits(&p, 0, 31), 11);
    }
}
