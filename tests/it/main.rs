//! The integration tests, in one binary so that the suite links once (as ripgrep's and
//! fd's do). One module per behaviour; most run the real `pgtap-scan` binary on temporary
//! trees and on the fixtures, some call the library (extraction, the lexer, the universe
//! reader). `util` holds what they share.

#[macro_use]
mod util;

mod baseline;
mod behaviour;
mod cache;
mod ci_budgets;
mod ci_formats;
mod ci_workflows;
mod command_line;
mod config_file;
mod corpus;
mod db_connect;
mod determinism;
mod discovery;
mod escaping;
mod extraction;
mod gaps;
mod gates;
mod history;
mod hostile;
mod html;
mod ignoring;
mod live_db;
mod memory;
mod monorepo;
mod output;
mod packaging;
mod plans;
mod report_schema;
mod reports;
mod schema_coverage;
mod schema_fixtures;
mod schema_props;
mod shard;
mod signals;
mod spill;
mod supabase;
mod supabase_e2e;
