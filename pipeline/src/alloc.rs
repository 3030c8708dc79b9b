//! A counting global allocator, so `--stats` can report the real heap peak rather than the
//! budget's estimate.
//!
//! Install it in the binary (a library cannot choose the allocator):
//!
//! ```
//! use pipeline::alloc::{self, CountingAlloc};
//! use std::alloc::System;
//!
//! #[global_allocator]
//! static ALLOC: CountingAlloc = CountingAlloc(System);
//!
//! fn main() {
//!     let block = vec![1u8; 1 << 20];
//!     assert!(alloc::current() >= 1 << 20);
//!     drop(block);
//!     assert!(alloc::peak() >= 1 << 20);
//! }
//! ```
//!
//! Without that line every function here returns 0.
//!
//! # Accuracy
//! Each thread keeps its own running balance and adds it to the shared counter only when
//! it passes [`FLUSH_BYTES`] either way. Updating one shared atomic on every allocation made
//! the counter itself the hottest code of a scan (two cores fighting over one cache line on
//! every `malloc`); batched, it costs a thread-local add. The price: `current` and `peak`
//! may each be off by up to [`FLUSH_BYTES`] per live thread, and a thread that exits leaves
//! its last unflushed balance (less than [`FLUSH_BYTES`]) behind. A block of at least
//! [`FLUSH_BYTES`] flushes at once, so big buffers show in `current` and `peak` at once.
//! Counters use relaxed atomics: they are statistics, not synchronisation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

static CURRENT: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

/// A thread's unflushed balance is added to the shared counter once it reaches this many
/// bytes either way.
pub const FLUSH_BYTES: i64 = 32 * 1024;

thread_local! {
    // `const` and without a destructor: usable inside the allocator without allocating
    // or registering anything.
    static LOCAL: Cell<i64> = const { Cell::new(0) };
}

/// Wraps an allocator ([`System`] by default) and counts live heap bytes (requested
/// sizes, not the allocator's rounding) and their peak.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc<A = System>(pub A);

#[inline]
fn changed(delta: i64) {
    // `try_with`: during thread teardown the slot may be gone; count directly then.
    let flush = LOCAL
        .try_with(|local| {
            let balance = local.get() + delta;
            if balance.abs() < FLUSH_BYTES && delta.abs() < FLUSH_BYTES {
                local.set(balance);
                0
            } else {
                local.set(0);
                balance
            }
        })
        .unwrap_or(delta);
    if flush != 0 {
        let now = CURRENT.fetch_add(flush, Relaxed) + flush;
        // Load first: most flushes do not set a new peak, and a plain load is far cheaper
        // than a contended read-modify-write.
        // Negative (frees counted before their allocations) sets no peak.
        if let Ok(now) = u64::try_from(now) {
            if now > PEAK.load(Relaxed) {
                PEAK.fetch_max(now, Relaxed);
            }
        }
    }
}

#[inline]
fn grew(bytes: usize) {
    // A Layout's size is at most isize::MAX, so this never saturates.
    changed(i64::try_from(bytes).unwrap_or(i64::MAX));
}

#[inline]
fn shrank(bytes: usize) {
    changed(-i64::try_from(bytes).unwrap_or(i64::MAX));
}

// SAFETY: every call is forwarded unchanged to the inner allocator, which upholds the GlobalAlloc
// contract; the counting only touches atomics and never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { self.0.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { self.0.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { self.0.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let new = unsafe { self.0.realloc(ptr, layout, new_size) };
        // On failure the old block is untouched and still counted.
        if !new.is_null() {
            let old_size = layout.size();
            if new_size >= old_size {
                grew(new_size - old_size);
            } else {
                shrank(old_size - new_size);
            }
        }
        new
    }
}

/// Live heap bytes now (0 if [`CountingAlloc`] is not the global allocator).
pub fn current() -> u64 {
    u64::try_from(CURRENT.load(Relaxed)).unwrap_or(0)
}

/// The most live heap bytes since start or the last [`reset_peak`].
pub fn peak() -> u64 {
    PEAK.load(Relaxed)
}

/// Starts a new peak measurement from the current live size (e.g. per pipeline stage).
pub fn reset_peak() {
    PEAK.store(current(), Relaxed);
}
