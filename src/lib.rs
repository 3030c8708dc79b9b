//! pgtap-scan: static coverage analysis of pgTAP test suites.
//!
//! The library reads pgTAP test files without running them and says which database objects
//! they assert something about. `pipeline` (a separate crate) moves the bytes; this crate
//! knows SQL, psql and pgTAP.

pub mod behaviour;
pub mod catalog;
pub mod config;
pub mod coverage;
pub mod extract;
pub mod gaps;
pub mod gate;
pub mod ignoring;
mod includes;
pub mod lexer;
pub mod model;
pub mod object;
pub mod report;
pub mod result_codec;
pub mod scan;
pub mod universe;

/// The README's Rust examples, compiled and run as doc tests so they cannot go stale.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
