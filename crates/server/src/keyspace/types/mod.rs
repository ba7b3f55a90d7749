//! The aggregate types' in-memory representations, one file each. Each type keeps a compact
//! packed form while small and converts to a hash table / ordered structure past the
//! `*-max-listpack-*` / `set-max-intset-entries` thresholds (see [`Limits`]).
//!
//! * [`packed::Packed`]: listpack-like byte buffer (small hashes and sorted sets).
//! * [`dense::DenseMap`]: dense vector + hash index (large hashes, sets, sorted-set members).
//! * sets of integers: a sorted `Vec<i64>` (intset).

pub mod dense;
pub mod hash;
pub mod list;
pub mod packed;
pub mod set;
pub mod stream;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use zset::ZSet;

/// Conversion thresholds of one type, read from the configuration when a command writes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most elements kept in the compact encoding (`*-max-listpack-entries`,
    /// `set-max-intset-entries`).
    pub entries: usize,
    /// Longest element kept in the compact encoding (`*-max-listpack-value`; unused by sets).
    pub value: usize,
}

/// Redis's default thresholds (used where no configuration is at hand).
pub const DEFAULT_HASH: Limits = Limits {
    entries: 512,
    value: 64,
};
/// Default `set-max-intset-entries`.
pub const DEFAULT_SET: Limits = Limits {
    entries: 512,
    value: 0,
};
/// Default `zset-max-listpack-*`.
pub const DEFAULT_ZSET: Limits = Limits {
    entries: 128,
    value: 64,
};

impl Limits {
    /// `hash-max-listpack-*` from a configuration.
    pub fn hash(c: &ferrodis_config::Config) -> Limits {
        Limits {
            entries: c.hash_max_listpack_entries as usize,
            value: c.hash_max_listpack_value as usize,
        }
    }
    /// `set-max-intset-entries` from a configuration.
    pub fn set(c: &ferrodis_config::Config) -> Limits {
        Limits {
            entries: c.set_max_intset_entries as usize,
            value: 0,
        }
    }
    /// `zset-max-listpack-*` from a configuration.
    pub fn zset(c: &ferrodis_config::Config) -> Limits {
        Limits {
            entries: c.zset_max_listpack_entries as usize,
            value: c.zset_max_listpack_value as usize,
        }
    }
}
