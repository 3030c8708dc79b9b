#![warn(missing_docs)]
//! pgtap-scan: static coverage analysis of pgTAP test suites.
//!
//! The library reads pgTAP test files without running them and says which database objects
//! they assert something about. `pipeline` (a separate crate) moves the bytes; this crate
//! knows SQL, psql and pgTAP.

// The public API: what a program needs to run a scan and use its report. Each module here
// is one topic; the crate root re-exports the entry points and the types most callers name.
pub mod baseline;
pub mod catalog;
pub mod config;
pub mod gate;
pub mod history;
pub mod ignoring;
pub mod model;
pub mod object;
pub mod partial;
pub mod report;
pub mod scan;
pub mod shard;
pub mod universe;

// Internals: how a scan is done. Their public types that the report model carries are
// re-exported from `scan::report` (coverage, gaps).
mod behaviour;
mod coverage;
mod extract;
mod gaps;
mod includes;
// The lexer and the cache codec are reached from outside only through `__internals` (the
// fuzzer, the benches), which is not API: no docs required there.
#[allow(missing_docs)]
mod lexer;
#[allow(missing_docs)]
mod result_codec;
mod snapcodec;

#[cfg(test)]
mod lexer_props;

pub use behaviour::{role_helpers_in, role_helpers_in_files};
pub use config::{ExtractOptions, UniverseSpec};
pub use extract::{Extractor, DEFAULT_LIMITS};
pub use lexer::Limits;
pub use object::{Aspect, ObjectKey, ObjectKind};
pub use report::{render, Format, RenderOptions};
pub use scan::{run, scan, NoObserver, Observer, ScanConfig, ScanReport, StreamingMode};
pub use universe::{load_database, load_migrations, DatabaseOptions, Universe};

/// Internal entry points for the fuzzer (`fuzz/`) and the benchmarks (`benches/`): the
/// lexer and the result cache's codec on their own. Not part of the API: no stability, no
/// documentation beyond this line, and nothing a program reading reports needs.
#[doc(hidden)]
pub mod __internals {
    pub use crate::lexer::{is_line_break, tokenize, Lexed, Token, TokenKind};
    pub use crate::result_codec::{decode, encode};
}

/// The README's Rust examples, compiled and run as doc tests so they cannot go stale.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
