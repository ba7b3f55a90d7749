//! The aggregate types' in-memory representations, one file each. Each type keeps a compact
//! packed form while small and converts to a hash table / ordered structure past the
//! `*-max-listpack-*` / `set-max-intset-entries` thresholds.

pub mod hash;
pub mod list;
pub mod set;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use zset::ZSet;
