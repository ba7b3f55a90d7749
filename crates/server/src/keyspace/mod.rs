//! The keyspace: every database's keys, split into shards by key hash.
//!
//! ```text
//!   Keyspace
//!     shards[0..N]   each a Mutex<Shard>
//!       Shard.dbs[0..databases]   each a Table (see table.rs)
//! ```
//! A key's shard depends only on the key's bytes, not on the database, so a command locks the
//! same shards whatever database it runs in, and a snapshot chunk (one shard) carries that
//! shard's slice of every database. Commands lock the shards of their keys in ascending index
//! order (see `dispatch.rs`), which makes multi-key commands atomic without deadlock; commands
//! with no fixed keys lock all shards.
//!
//! The lock order across the whole server is: shard locks (ascending) -> replication log.

pub mod access;
mod bytes;
mod table;
pub mod types;
mod value;

pub use self::bytes::SmallBytes;
pub use table::{Entry, Table};
pub use value::Value;

use foldhash::fast::FixedState;
use parking_lot::{Mutex, MutexGuard};
use std::hash::BuildHasher;

/// Number of shards; a power of two. Enough that two worker threads rarely meet on a lock
/// and that one shard (the unit a snapshot copies on first write) stays small.
pub const SHARDS: usize = 256;

/// Snapshot pre-images by (db, key): the key's serialized RDB record, or `None` if absent.
pub type Preimages = hashbrown::HashMap<(usize, Box<[u8]>), Option<Vec<u8>>>;

/// One shard: a slice of every database.
pub struct Shard {
    /// One table per database.
    pub dbs: Box<[Table]>,
    /// Snapshot epoch this shard was last serialized in (used by fork-less snapshots).
    pub snapshot_epoch: u64,
    /// While a snapshot is running and this shard is not serialized yet: the serialized
    /// point-in-time image of each key touched since the snapshot began (`None`: the key did
    /// not exist), by (db, key). See `persistence/snapshot.rs`.
    pub preimages: Preimages,
}

/// All databases' keys.
pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    hasher: FixedState,
    databases: usize,
}

impl Keyspace {
    /// An empty keyspace with `databases` databases.
    pub fn new(databases: usize) -> Self {
        let seed: u64 = rand::random();
        let hasher = FixedState::with_seed(seed);
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    dbs: (0..databases).map(|_| Table::new(hasher)).collect(),
                    snapshot_epoch: 0,
                    preimages: hashbrown::HashMap::new(),
                })
            })
            .collect();
        Keyspace {
            shards,
            hasher,
            databases,
        }
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.databases
    }

    /// The shard index that owns `key`. Uses hash bits that the tables themselves do not
    /// use for bucket choice (low bits) or tags (top 7 bits).
    #[inline]
    pub fn shard_of(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) >> 40) as usize & (SHARDS - 1)
    }

    /// Locks one shard.
    #[inline]
    pub fn lock(&self, idx: usize) -> MutexGuard<'_, Shard> {
        self.shards[idx].lock()
    }

    /// Locks one shard if nobody holds it (background work that must not wait behind a
    /// long Lua script holding every shard).
    #[inline]
    pub fn try_lock(&self, idx: usize) -> Option<MutexGuard<'_, Shard>> {
        self.shards[idx].try_lock()
    }

    /// Locks every shard in order.
    pub fn lock_all(&self) -> Vec<MutexGuard<'_, Shard>> {
        self.shards.iter().map(|s| s.lock()).collect()
    }
}
