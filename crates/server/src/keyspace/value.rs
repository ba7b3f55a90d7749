//! [`Value`]: what a key holds. One variant per Redis type; each aggregate type's compact
//! encodings live inside its own type (see `types/`), so a lookup costs one match.

use super::bytes::SmallBytes;
use super::types::{Hash, List, Set, ZSet};

/// A key's value. Aggregates are boxed so the enum stays 24 bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (Redis encodings int/embstr/raw are derived from the bytes).
    Str(SmallBytes),
    /// A list.
    List(Box<List>),
    /// A hash.
    Hash(Box<Hash>),
    /// A set.
    Set(Box<Set>),
    /// A sorted set.
    ZSet(Box<ZSet>),
    /// A stream, kept as loaded from RDB (no stream commands yet; it survives save/load and
    /// full syncs unchanged).
    Stream(Box<ferrodis_rdb::Stream>),
}

impl Value {
    /// A string value copied from `b`.
    pub fn str(b: &[u8]) -> Value {
        Value::Str(SmallBytes::new(b))
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name OBJECT ENCODING reports (Redis's names, derived as Redis would choose them).
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                if s.is_raw() {
                    "raw"
                } else if s.is_inline() && s.len() <= 20 && crate::util::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// Approximate heap bytes owned by the value beyond its inline size.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.heap_size() + std::mem::size_of::<List>(),
            Value::Hash(h) => h.heap_size() + std::mem::size_of::<Hash>(),
            Value::Set(s) => s.heap_size() + std::mem::size_of::<Set>(),
            Value::ZSet(z) => z.heap_size() + std::mem::size_of::<ZSet>(),
            Value::Stream(_) => 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn value_is_24_bytes() {
        assert_eq!(std::mem::size_of::<super::Value>(), 24);
    }

    /// The boxes behind small hashes and sets stay at the packed form's size (the large
    /// forms are boxed once more), so a 5-field hash costs ~100 bytes like Redis's listpack.
    #[test]
    fn small_aggregates_box_stays_small() {
        assert!(std::mem::size_of::<super::Hash>() <= 32);
        assert!(std::mem::size_of::<super::Set>() <= 32);
    }
}
