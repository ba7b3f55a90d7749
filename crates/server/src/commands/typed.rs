//! Typed access to aggregate values (hash, set, sorted set): one implementation of "the value
//! at `key` as type T, `Ok(None)` when missing, WRONGTYPE otherwise", of create-on-write, and
//! of Redis's rule that an emptied aggregate is deleted.
//!
//! ```ignore
//! let s = write_or_create::<Set>(ctx, key)?;   // the set at key, created empty if missing
//! if remove_if_empty::<Set>(ctx, key) { .. }   // deleted because it became empty
//! ```

use super::{err, CommandError, Ctx};
use crate::keyspace::types::{Hash, Set, ZSet};
use crate::keyspace::{Entry, Value};
use ferrodis_config::notify;

/// A value type stored boxed in one [`Value`] variant.
pub(crate) trait Aggregate: Default {
    /// The value as `Self` when it is of this type.
    fn of(v: &Value) -> Option<&Self>;
    /// The value as `&mut Self` when it is of this type.
    fn of_mut(v: &mut Value) -> Option<&mut Self>;
    /// Wraps a value of this type.
    fn wrap(self) -> Value;
    /// True when it holds no element.
    fn empty(&self) -> bool;
}

macro_rules! aggregate {
    ($ty:ident, $variant:ident) => {
        impl Aggregate for $ty {
            fn of(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn of_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn wrap(self) -> Value {
                Value::$variant(Box::new(self))
            }
            fn empty(&self) -> bool {
                self.is_empty()
            }
        }
    };
}

aggregate!(Hash, Hash);
aggregate!(Set, Set);
aggregate!(ZSet, ZSet);

/// The `T` at `key` for reading: `Ok(None)` when missing, WRONGTYPE for another type.
pub(crate) fn read<'c, T: Aggregate>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<Option<&'c T>, CommandError> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => T::of(&e.value).map(Some).ok_or(err::WRONGTYPE),
    }
}

/// The `T` at `key` for writing: `Ok(None)` when missing, WRONGTYPE for another type.
pub(crate) fn write<'c, T: Aggregate>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<Option<&'c mut T>, CommandError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(e) => T::of_mut(&mut e.value).map(Some).ok_or(err::WRONGTYPE),
    }
}

/// The `T` at `key`, created empty when missing (the caller must then add to it, or delete
/// it with [`remove_if_empty`]).
pub(crate) fn write_or_create<'c, T: Aggregate>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<&'c mut T, CommandError> {
    if write::<T>(ctx, key)?.is_none() {
        ctx.table(key).set_value(key, T::default().wrap(), false);
    }
    match ctx.table(key).get_mut(key) {
        Some(Entry { value, .. }) => T::of_mut(value).ok_or(err::WRONGTYPE),
        None => Err(err::WRONGTYPE),
    }
}

/// Deletes `key` if it holds an empty `T`; true when it did.
pub(crate) fn remove_if_empty<T: Aggregate>(ctx: &mut Ctx, key: &[u8]) -> bool {
    let t = ctx.table(key);
    let empty = t
        .get(key)
        .and_then(|e| T::of(&e.value))
        .is_some_and(T::empty);
    if empty {
        t.remove(key);
    }
    empty
}

/// [`remove_if_empty`] plus Redis's `del` keyspace notification.
pub(crate) fn del_if_empty<T: Aggregate>(ctx: &mut Ctx, key: &[u8]) {
    if remove_if_empty::<T>(ctx, key) {
        ctx.notify(notify::GENERIC, "del", key);
    }
}
