//! A counting global allocator, so `--stats` can report the real heap peak rather than the
//! budget's estimate.
//!
//! Install it in the binary (a library cannot choose the allocator):
//!
//! ```
//! use pipeline::alloc::{self, CountingAlloc};
//!
//! #[global_allocator]
//! static ALLOC: CountingAlloc = CountingAlloc;
//!
//! fn main() {
//!     let block = vec![1u8; 1 << 20];
//!     assert!(alloc::current() >= 1 << 20);
//!     drop(block);
//!     assert!(alloc::peak() >= 1 << 20);
//! }
//! ```
//!
//! Without that line every function here returns 0. Counters use relaxed atomics: they are
//! statistics, not synchronisation, and a free always happens after its own allocation, so
//! the live count cannot underflow.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

static CURRENT: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

/// Wraps [`System`] and counts live heap bytes (requested sizes, not the allocator's
/// rounding) and their peak.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

#[inline]
fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes as u64, Relaxed) + bytes as u64;
    // Load first: most allocations do not set a new peak, and a plain load is far cheaper
    // than a contended read-modify-write.
    if now > PEAK.load(Relaxed) {
        PEAK.fetch_max(now, Relaxed);
    }
}

#[inline]
fn shrank(bytes: usize) {
    CURRENT.fetch_sub(bytes as u64, Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the GlobalAlloc
// contract; the counting only touches atomics and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
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
    CURRENT.load(Relaxed)
}

/// The most live heap bytes since start or the last [`reset_peak`].
pub fn peak() -> u64 {
    PEAK.load(Relaxed)
}

/// Starts a new peak measurement from the current live size (e.g. per pipeline stage).
pub fn reset_peak() {
    PEAK.store(CURRENT.load(Relaxed), Relaxed);
}
