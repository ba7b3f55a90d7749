//! ferrodis-config: the configuration of `ferrodis-server`, a drop-in for redis-server 7.0's.
//!
//! What lives here:
//! * [`Config`]: typed fields for everything the server reads, with redis-server 7.0's
//!   defaults (`Config::default()`), plus validated storage for directives that are accepted
//!   for compatibility only ([`Config::other`]).
//! * [`DIRECTIVES`]: the directive table (names, aliases, types, defaults, mutability).
//! * Loading: redis.conf text ([`Config::from_file`], [`Config::load_str`]) and the
//!   redis-server command line ([`Config::from_args`]); errors are [`ConfigError`] whose
//!   `Display` is redis-server's "FATAL CONFIG FILE ERROR" block.
//! * Runtime: [`Config::get`] (CONFIG GET), [`Config::set`] (CONFIG SET, atomic),
//!   [`Config::rewrite`] (CONFIG REWRITE).
//!
//! What does not: acting on values (binding sockets, `chdir`, checking that renamed commands
//! exist, warning about `appendonly yes`) is the server's job. See docs/configuration.md for
//! the full directive list.

mod error;
mod glob;
mod load;
mod model;
mod rewrite;
mod runtime;
mod special;
mod table;
mod values;

pub use error::{ConfigError, Source};
pub use glob::glob_match;
pub use load::{Invocation, USAGE};
pub use model::{
    notify, AppendFsync, BufferLimit, ClientOutputBufferLimits, Config, EnableOption, LogLevel,
    MaxmemoryPolicy, ReplDisklessLoad, ReplicaOf, SavePoint, Supervised,
};
pub use special::{fmt_notify, parse_notify};
pub use table::{lookup, Directive, Kind, Mutability, DIRECTIVES};
pub use values::{parse_memory, parse_strict_i64};

#[cfg(test)]
mod tests;
