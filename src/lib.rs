//! pgtap-scan: static coverage analysis of pgTAP test suites.
//!
//! The library reads pgTAP test files without running them and says which database objects
//! they assert something about. `pipeline` (a separate crate) moves the bytes; this crate
//! knows SQL, psql and pgTAP.

pub mod cache;
pub mod catalog;
pub mod config;
pub mod extract;
pub mod lexer;
pub mod model;
pub mod object;
pub mod report;
pub mod scan;
pub mod schema;
