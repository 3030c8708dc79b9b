//! A whole scan: the pipeline's stages with extraction as the parse step and one
//! aggregator that owns every result, then the plan checks that need more than one file
//! (psql includes, see `crate::includes`). This is the library's entry point; the CLI only
//! builds a [`ScanConfig`] and renders the [`ScanReport`].
//!
//! One file per job:
//! - `config`: what a scan is asked to do ([`ScanConfig`]);
//! - `run`: running one ([`run`], [`scan`]) and what it tells an [`Observer`] as it goes;
//! - `aggregate`: the one owner of the results while files arrive (counts, messages, plan
//!   verdicts, the coverage database);
//! - `merge`: a shard's scan for its partial, and the merge of partials into one report;
//! - `partials`: the coverage the parse workers fold, handed to the aggregator to merge;
//! - [`projects`]: a monorepo's files attributed to projects, each project's results;
//! - [`report`]: the report model every format reads ([`ScanReport`] and its parts).

mod aggregate;
mod config;
mod merge;
mod partials;
pub mod projects;
pub mod report;
mod run;
mod snapshot;

pub use config::{
    ProjectReading, ScanConfig, StreamingMode, DATABASE_SHARE, STREAMING_AUTO_THRESHOLD,
};
pub use merge::{merge, partial_header, partial_settings, scan_shard, MergeInput};
pub use report::{
    FileReport, Message, PlanMismatch, PlanSummary, ProjectReport, ScanReport, Severity, Stats,
    Summary, MAX_MESSAGES, REPORT_VERSION,
};
pub use run::{run, scan, NoObserver, Observer, THREAD_MEMORY};
