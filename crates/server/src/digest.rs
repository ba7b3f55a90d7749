//! `DEBUG DIGEST` / `DEBUG DIGEST-VALUE`: a SHA1-based fingerprint of the dataset that is equal
//! to the one Redis 7.0 computes for the same logical content, so tests can compare a ferrodis
//! keyspace with a real `redis-server` (or a master with its replica) in one round trip.
//!
//! The scheme works on logical content only (never on encodings):
//!
//! ```text
//! xor(d, bytes):  d ^= SHA1(bytes)            order-independent ("add" to a set)
//! mix(d, bytes):  d = SHA1(d ^ SHA1(bytes))   order-dependent (append to a sequence)
//!
//! value(d, v):  mix(d, type as u32 big-endian), then by type
//!   string      mix(d, bytes)                           (integers as decimal text)
//!   list        mix(d, element) for each, head first
//!   set         xor(d, member) for each
//!   zset        xor(d, e) with e = mix(mix(0, member), score as "%.17g")
//!   hash        xor(d, e) with e = mix(mix(0, field), value)
//!   stream      mix(d, "ms.seq") then mix(d, field), mix(d, value) per entry
//!   then xor(d, "!!expire!!") if the key has a TTL
//!
//! dataset:  for each non-empty db j in order: mix(final, j as u32 big-endian), then for each
//!           key: final ^= SHA1(value(mix(0, key), v))
//! ```
//!
//! Logically expired keys that were not deleted yet count, as they do in Redis.

use crate::keyspace::{Table, Value};
use sha1::{Digest as _, Sha1};

/// A 20-byte digest.
pub type Digest = [u8; 20];

fn sha1(b: &[u8]) -> Digest {
    Sha1::digest(b).into()
}

/// `d ^= SHA1(b)`.
fn xor(d: &mut Digest, b: &[u8]) {
    for (x, y) in d.iter_mut().zip(sha1(b)) {
        *x ^= y;
    }
}

/// `d = SHA1(d ^ SHA1(b))`.
fn mix(d: &mut Digest, b: &[u8]) {
    xor(d, b);
    *d = sha1(&d[..]);
}

/// C's `printf("%.17g", x)` (what Redis mixes for zset scores).
pub fn fmt_g17(x: f64) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    const P: i32 = 17;
    // Round to 17 significant digits first: the exponent after rounding picks the style.
    let sci = format!("{:.*e}", (P - 1) as usize, x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..P).contains(&exp) {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let s = format!("{:.*}", (P - 1 - exp) as usize, x);
        strip_zeros(&s).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Redis's type codes (`OBJ_STRING`...), which are mixed in.
fn type_code(v: &Value) -> u32 {
    match v {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    }
}

/// Mixes one value (and whether it has a TTL) into `d` (Redis's per-value digest).
pub fn mix_value(d: &mut Digest, v: &Value, has_ttl: bool) {
    mix(d, &type_code(v).to_be_bytes());
    match v {
        Value::Str(s) => mix(d, s.as_slice()),
        Value::List(l) => l.iter().for_each(|e| mix(d, e)),
        Value::Set(s) => s.iter().for_each(|m| xor(d, &m)),
        Value::ZSet(z) => {
            // A compact (listpack) zset stores scores as text, where Redis turns -0 into 0.
            let compact = z.encoding() == "listpack";
            for (m, score) in z.iter() {
                let mut e = [0u8; 20];
                mix(&mut e, m);
                let text = if compact && score == 0.0 {
                    "0".to_string()
                } else {
                    fmt_g17(score)
                };
                mix(&mut e, text.as_bytes());
                xor(d, &e);
            }
        }
        Value::Hash(h) => {
            for (f, val) in h.iter() {
                let mut e = [0u8; 20];
                mix(&mut e, f);
                mix(&mut e, val);
                xor(d, &e);
            }
        }
        Value::Stream(st) => {
            for entry in &st.entries {
                mix(d, format!("{}.{}", entry.id.ms, entry.id.seq).as_bytes());
                for (f, val) in &entry.fields {
                    mix(d, f);
                    mix(d, val);
                }
            }
        }
    }
    if has_ttl {
        xor(d, b"!!expire!!");
    }
}

/// The digest of one value, as `DEBUG DIGEST-VALUE` reports it (no key mixed in).
pub fn value_digest(v: &Value, has_ttl: bool) -> Digest {
    let mut d = [0u8; 20];
    mix_value(&mut d, v, has_ttl);
    d
}

/// Accumulates the dataset digest database by database.
#[derive(Default)]
pub struct DatasetDigest {
    final_: Digest,
}

impl DatasetDigest {
    /// Adds database `db`, whose keys are spread over `tables` (one per shard). Empty
    /// databases leave the digest unchanged.
    pub fn add_db<'t>(&mut self, db: usize, tables: impl Iterator<Item = &'t Table> + Clone) {
        if tables.clone().all(|t| t.is_empty()) {
            return;
        }
        mix(&mut self.final_, &(db as u32).to_be_bytes());
        for t in tables {
            for e in t.iter() {
                let mut d = [0u8; 20];
                mix(&mut d, e.key.as_slice());
                mix_value(&mut d, &e.value, e.expire_at != 0);
                xor(&mut self.final_, &d);
            }
        }
    }

    /// The final digest.
    pub fn finish(self) -> Digest {
        self.final_
    }
}

/// Lower-case hex, as Redis prints digests.
pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_printf() {
        for (x, s) in [
            (1e300, "1.0000000000000001e+300"),
            (0.1, "0.10000000000000001"),
            (1e-7, "9.9999999999999995e-08"),
            (100.0, "100"),
            (1e17, "1e+17"),
            (1e16, "10000000000000000"),
            (12345.678, "12345.678"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (-0.0, "-0"),
            (0.0, "0"),
            (1.5, "1.5"),
            (0.0001, "0.0001"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(fmt_g17(x), s, "{x}");
        }
    }

    #[test]
    fn string_digest_matches_redis() {
        // DEBUG DIGEST-VALUE of `SET n 12345` in Redis 7.0.
        let v = Value::str(b"12345");
        assert_eq!(
            hex(&value_digest(&v, false)),
            "e1cf90774e995ae03de66e8109dc5cb9d9c2dc83"
        );
    }
}
