//! The global allocator: mimalloc, plus a count of the bytes the process has allocated, which
//! INFO reports as `used_memory` and `maxmemory` is enforced against (see `evict.rs`).
//!
//! Counting must be cheap: every allocation adjusts a per-thread delta (a plain `Cell`, no
//! atomic), and only when that delta passes +/-[`FLUSH`] is it folded into the global
//! counter. So [`allocated`] lags the truth by at most `FLUSH` bytes per thread, which is
//! noise next to any useful `maxmemory`. The count is of requested sizes (`Layout::size`),
//! not of mimalloc's size classes; the difference shows up in `mem_fragmentation_ratio`.
//!
//! A thread that exits takes its unflushed delta (< `FLUSH`) with it: flushing it would need a
//! thread-local destructor, which allocates on registration, and the allocator must never
//! allocate. The drift is bounded by `FLUSH` per exited thread.

#![allow(unsafe_code)]

use mimalloc::MiMalloc;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// Per-thread deltas are folded into the global count past this many bytes either way.
const FLUSH: isize = 64 * 1024;

/// Bytes allocated and not yet freed, as of the last flush of every thread's delta. Signed:
/// memory allocated on one thread and freed on another can make a transient sum negative.
static ALLOCATED: AtomicIsize = AtomicIsize::new(0);
/// Highest value [`ALLOCATED`] reached at a flush.
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `const` initialisation and a type without `Drop`: no lazy-init state and no destructor
    // registration, so touching it never allocates (it is used from inside the allocator).
    static DELTA: Cell<isize> = const { Cell::new(0) };
}

/// The counting allocator; install it with `#[global_allocator]`.
pub struct Counting;

#[inline]
fn note(bytes: isize) {
    let flushed = DELTA.try_with(|d| {
        let v = d.get() + bytes;
        if (-FLUSH..=FLUSH).contains(&v) {
            d.set(v);
        } else {
            d.set(0);
            flush(v);
        }
    });
    if flushed.is_err() {
        // The thread-local is gone (thread teardown): count directly.
        flush(bytes);
    }
}

#[inline]
fn flush(v: isize) {
    let now = ALLOCATED.fetch_add(v, Ordering::Relaxed) + v;
    if v > 0 && now > 0 {
        PEAK.fetch_max(now as usize, Ordering::Relaxed);
    }
}

/// Bytes currently allocated by the process (within `FLUSH` per thread).
#[inline]
pub fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed).max(0) as usize
}

/// The highest [`allocated`] value seen.
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed).max(allocated())
}

// SAFETY: every method forwards its arguments unchanged to `MiMalloc`, which implements
// `GlobalAlloc` soundly, and returns MiMalloc's result unchanged; so every contract of
// `GlobalAlloc` (alignment, size, null on failure, realloc semantics) is MiMalloc's. The only
// other work is arithmetic on a thread-local `Cell<isize>` (const-initialised, no destructor,
// so it never allocates or re-enters the allocator) and on global atomics, none of which can
// unwind, allocate, or touch the memory being managed.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours; the caller upholds it.
        let p = unsafe { MiMalloc.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours; the caller upholds it.
        let p = unsafe { MiMalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator (i.e. by MiMalloc) with `layout`.
        unsafe { MiMalloc.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` came from this allocator (MiMalloc); the caller upholds
        // the size rules.
        let p = unsafe { MiMalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_are_readable() {
        // The test binary uses the system allocator, so only the accessors are exercised.
        assert!(super::peak() >= super::allocated());
    }
}
