//! The report model: what a scan found, as every format reads it. The types of the
//! coverage database and of schema coverage that formats read are re-exported here, so a
//! format imports the model from this one place.

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::coverage::{
    AmbiguousCall, Database, Diversity, EmptyFiles, KindStatistics, ObjectCoverage, ObjectLocation,
    Role, Statistics, TopObject, STREAMING_LOCATIONS,
};
pub use crate::gaps::{
    Coverage, CoverageMode, Gap, Ratio, SchemaCoverage, Stale, UniverseEntry, UniverseSource,
};
use crate::model::FileResult;

/// One file's result with its path: the JSON report's file object.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    /// The N of the file's `plan(N)`, or null.
    pub plan: Option<u64>,
    #[serde(flatten)]
    pub result: FileResult,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A message for stderr: `pgtap-scan: path:line: text`.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub severity: Severity,
    pub path: Option<String>,
    pub line: Option<u32>,
    pub text: String,
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => write!(f, "{p}:{l}: {}", self.text),
            (Some(p), None) => write!(f, "{p}: {}", self.text),
            _ => f.write_str(&self.text),
        }
    }
}

/// A file whose `plan(N)` does not match what static reading finds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlanMismatch {
    pub path: String,
    pub line: u32,
    pub planned: u64,
    pub found: u64,
    /// Of `found`, how many come from included files.
    pub from_includes: u64,
}

/// Plan agreement over the files with `plan(N)`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanSummary {
    /// Files with a literal `plan(N)`.
    pub planned: u64,
    /// Of those, files whose count static reading can know (straight-line code).
    pub checked: u64,
    pub agree: u64,
    pub mismatches: Vec<PlanMismatch>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Files read and parsed.
    pub files: u64,
    pub assertions: u64,
    /// TAP results the top-level code of all files emits, as far as static reading tells.
    pub tests: u64,
    pub by_function: BTreeMap<String, u64>,
    pub by_kind: BTreeMap<String, u64>,
    /// Files that could not be read plus problems found in files.
    pub errors: u64,
    pub warnings: u64,
    pub files_without_assertions: u64,
    /// Assertions whose object name is computed at run time.
    pub dynamic: u64,
    /// Assertions whose reading pgTAP decides at run time and static reading cannot.
    pub ambiguous: u64,
    /// Calls PostgreSQL would reject.
    pub rejected: u64,
    /// Assertions found in comments (only with `include_commented`).
    pub commented: u64,
    pub plans: PlanSummary,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub files_discovered: u64,
    pub files_parsed: u64,
    pub files_failed: u64,
    /// Files read but not parsed because they look binary (`--binary` parses them).
    pub files_skipped: u64,
    /// Directories (or other inputs) that could not be read, so were not scanned.
    pub inputs_not_scanned: u64,
    pub bytes_read: u64,
    pub batches: u64,
    /// `standard` or `streaming`.
    pub mode: String,
    pub threads: usize,
    pub batch_size: usize,
    pub budget_bytes: u64,
    pub peak_charged_bytes: u64,
    pub throttle_waits: u64,
    pub throttle_ms: u64,
    /// Live heap when the scan started, at its peak, and at the end, from the counting
    /// allocator (0 when the program did not install it: see `heap_measured`). Approximate:
    /// each thread counts in batches, so a figure may be off by up to
    /// `pipeline::alloc::FLUSH_BYTES` (32 KiB) per thread.
    pub initial_heap_bytes: u64,
    pub peak_heap_bytes: u64,
    pub current_heap_bytes: u64,
    pub heap_measured: bool,
    pub discovery_ms: u64,
    /// Busy time summed over the parse threads.
    pub parse_ms: u64,
    pub aggregate_ms: u64,
    pub elapsed_ms: u64,
    pub cancelled: bool,
    /// With `--cache`: files neither read nor parsed (same size and mtime), files read but
    /// not parsed (same content hash), files parsed. All 0 without a cache.
    pub cache_hits: u64,
    pub cache_hash_hits: u64,
    pub cache_misses: u64,
}

/// The result of a scan.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub version: u32,
    /// Per-file detail, sorted by path; `None` in streaming mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileReport>>,
    pub summary: Summary,
    pub stats: Stats,
    /// The coverage database: `objects` (sorted by key) and `statistics`.
    #[serde(flatten)]
    pub coverage: Database,
    /// Errors and warnings as printed on stderr (the first [`MAX_MESSAGES`] by path, line,
    /// severity and text, whatever order files arrived in; sorted), so reports can show them.
    pub messages: Vec<Message>,
    /// Messages beyond [`MAX_MESSAGES`] (counted in `summary`, not kept).
    pub messages_omitted: u64,
    /// Held against a universe of objects (`--schema`, `--database-url`): `coverage`,
    /// `gaps`, `stale`, `universe_source`. Set with [`ScanReport::with_universe`].
    #[serde(flatten)]
    pub schema: Option<SchemaCoverage>,
}

/// Messages kept in the report; the rest are counted.
pub const MAX_MESSAGES: usize = 1000;

/// The JSON report contract's version.
pub const REPORT_VERSION: u32 = 1;

impl ScanReport {
    pub fn streaming(&self) -> bool {
        self.files.is_none()
    }

    /// What the suite asserts about one object, by key (`table:public.users`); `None` when
    /// no assertion names it.
    pub fn coverage_of(&self, key: &str) -> Option<&ObjectCoverage> {
        self.coverage.get(key)
    }

    /// Holds the coverage database against a universe of objects: percentages, gaps and
    /// stale tests (see [`crate::gaps`]). `schemas`, when not empty, limits the universe
    /// to those schemas (objects outside any schema, like roles, stay).
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use pgtap_scan::scan::report::UniverseSource;
    /// use pgtap_scan::scan::{run, ScanConfig};
    /// use pgtap_scan::universe::load_migrations;
    ///
    /// let mut cfg = ScanConfig::default();
    /// cfg.discovery.roots = vec!["fixtures/sample/tests".into()];
    /// let (universe, skipped) =
    ///     load_migrations(&[PathBuf::from("fixtures/sample/migrations")], &["public".into()])
    ///         .expect("readable");
    /// assert!(skipped.is_empty());
    /// let report = run(&cfg).with_universe(&universe, UniverseSource::Migrations, &[]);
    /// let schema = report.schema.as_ref().expect("set");
    /// assert!(schema.coverage.overall.percent > 0.0);
    /// for gap in schema.gaps.iter().take(3) {
    ///     println!("untested: {} ({}:{})", gap.key, gap.defined_at.file, gap.defined_at.line);
    /// }
    /// ```
    pub fn with_universe(
        self,
        universe: &crate::universe::Universe,
        source: UniverseSource,
        schemas: &[String],
    ) -> Self {
        self.with_universe_as(universe, source, schemas, CoverageMode::default())
    }

    /// [`ScanReport::with_universe`] with what counts as tested: structural assertions,
    /// behavioural exercise (needs references read, [`crate::config::ExtractOptions`]'s
    /// `references`), or either.
    pub fn with_universe_as(
        mut self,
        universe: &crate::universe::Universe,
        source: UniverseSource,
        schemas: &[String],
        mode: CoverageMode,
    ) -> Self {
        self.schema = Some(crate::gaps::compute(
            &self.coverage,
            universe,
            source,
            schemas,
            mode,
        ));
        self
    }

    /// Adds the statements the universe reader skipped as warnings (`schema statement
    /// skipped: ...`), so every report lists and counts what stderr printed.
    pub fn with_universe_warnings(mut self, skipped: &[crate::universe::SkippedStatement]) -> Self {
        for s in skipped {
            self.summary.warnings += 1;
            self.messages.push(Message {
                severity: Severity::Warning,
                path: Some(s.file.clone()),
                line: Some(s.line),
                text: format!("schema statement skipped: {}", s.reason),
            });
        }
        self.messages.sort_by(|a, b| {
            (&a.path, a.line, a.severity, &a.text).cmp(&(&b.path, b.line, b.severity, &b.text))
        });
        if self.messages.len() > MAX_MESSAGES {
            self.messages_omitted += (self.messages.len() - MAX_MESSAGES) as u64;
            self.messages.truncate(MAX_MESSAGES);
        }
        self
    }
}

/// Receives what a scan produces as it goes (messages for stderr, files for streaming
/// output). Every method has a default that ignores it.
pub trait Observer {
    fn message(&mut self, _m: &Message) {}
    /// Called for each file in streaming mode, in arrival order.
    fn file(&mut self, _f: &FileReport) {}
}

/// Ignores everything.
pub struct NoObserver;
impl Observer for NoObserver {}
