#![warn(missing_docs)]
//! A generic staged file pipeline, with no knowledge of what the files contain.
//!
//! ```text
//! discovery (ignore::WalkParallel) --bounded--> parse pool (rayon) --bounded--> aggregator (caller's thread)
//!               \_________________________ MemoryBudget (shared counter) ________________________/
//! ```
//!
//! The caller supplies a `parse` function (bytes in, a value out) that runs on the worker
//! pool, and an `aggregate` function that runs on the calling thread and receives every
//! [`Event`] in arrival order. The bytes of a file are charged to the [`MemoryBudget`] when
//! it is read and released when its [`FileOutcome`] is dropped by the aggregator, so the
//! budget bounds everything in flight between the stages. This is the backpressure, the
//! batching and the streaming mode in one mechanism.
//!
//! ```
//! use pipeline::{run, DiscoveryConfig, Event, PipelineConfig};
//!
//! let discovery = DiscoveryConfig {
//!     roots: vec!["src".into()],
//!     extensions: vec!["rs".into()],
//!     ..DiscoveryConfig::default()
//! };
//! let mut lines = 0;
//! let stats = run(
//!     &discovery,
//!     &PipelineConfig::default(),
//!     |_path, bytes| bytes.iter().filter(|&&b| b == b'\n').count(),
//!     |event| match event {
//!         // Take what is needed and let the outcome go: that releases its budget charge.
//!         Event::File(outcome) => lines += outcome.into_result().unwrap_or(0),
//!         Event::Warning { path, message } => eprintln!("{path:?}: warning: {message}"),
//!         Event::Unscanned { path, message } => eprintln!("{path:?}: error: {message}"),
//!         Event::Skipped { path, reason } => eprintln!("{}: {reason}", path.display()),
//!     },
//! );
//! assert!(stats.files_parsed >= 4 && lines > 0);
//! ```

pub mod alloc;
pub mod budget;
pub mod cache;
pub mod discover;
pub mod run;

pub use budget::{BudgetStats, Charge, Holder, MemoryBudget};
pub use cache::{effective_uid, BlobCache, CacheStats, CacheUse, Codec, FileStamp};
pub use discover::{list_paths, DiscoveryConfig};
pub use run::{
    run, run_cached, worker_index, Cached, Event, FileOutcome, Folded, Known, PipelineConfig,
    PipelineStats, Progress, Select,
};
