//! A generic staged file pipeline, with no knowledge of what the files contain.
//!
//! ```text
//! discovery (ignore::WalkParallel) --bounded--> parse pool (rayon) --bounded--> aggregator (caller's thread)
//!               \________________________ MemoryBudget (atomic, shared) ________________________/
//! ```
//!
//! The caller supplies a `parse` function (bytes in, a value out) that runs on the worker
//! pool, and an `aggregate` function that runs on the calling thread and receives every
//! [`Event`] in arrival order. The bytes of a file are charged to the [`MemoryBudget`] when
//! it is read and released when its [`FileOutcome`] is dropped by the aggregator, so the
//! budget bounds everything in flight between the stages. This is the backpressure, the
//! batching and the streaming mode in one mechanism.

pub mod alloc;
pub mod budget;
pub mod discover;
pub mod run;
