//! The report model: what a scan found, as every format reads it. The types of the
//! coverage database and of schema coverage that formats read are re-exported here, so a
//! format imports the model from this one place.

use std::collections::BTreeMap;

use serde::Serialize;

/// Behavioural coverage as reports show it (`SchemaCoverage::behaviour`) and the folded
/// references behind it (`Coverage::behaviour`).
pub use crate::behaviour::db::{Database as BehaviourDatabase, Place, Target, Use, Uses};
pub use crate::behaviour::resolve::{
    Behaviour, Cell, CellState, ObjectBehaviour, PlaceOut, RlsTable, Unresolved, UseOut, Via,
    ViaKind,
};
pub use crate::coverage::{
    AmbiguousCall, Database, Diversity, EmptyFiles, KindStatistics, ObjectCoverage, ObjectLocation,
    ObjectsOnDisk, Role, Statistics, TopObject, MAX_AMBIGUOUS, STREAMING_EMPTY_FILES,
    STREAMING_LOCATIONS, TOP_OBJECTS,
};
pub use crate::gaps::{
    Coverage, CoverageMode, Gap, IgnoreSource, Ignored, Ratio, SchemaCoverage, Stale,
    UniverseEntry, UniverseSource,
};
use crate::model::FileResult;

/// One file's result with its path: the JSON report's file object.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The path as discovered (a root joined with the path below it), `/`-separated.
    pub path: String,
    /// The N of the file's `plan(N)`, or null.
    pub plan: Option<u64>,
    /// What extraction found in the file (flattened into the file object in JSON).
    #[serde(flatten)]
    pub result: FileResult,
}

/// How bad a [`Message`] is: an error counts toward the exit code, a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something was not scanned or is wrong (an unreadable file, a call PostgreSQL rejects).
    Error,
    /// Something was read but may be read wrongly (a skipped statement, a dynamic name).
    Warning,
}

/// A message for stderr: `pgtap-scan: path:line: text`.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// Error or warning.
    pub severity: Severity,
    /// The file it is about, if any (as discovered).
    pub path: Option<String>,
    /// The 1-based line in that file, if known.
    pub line: Option<u32>,
    /// What happened, in words for a user (no path or line prefix).
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
    /// The file, as discovered.
    pub path: String,
    /// The 1-based line of its `plan(N)` call.
    pub line: u32,
    /// The N of `plan(N)`.
    pub planned: u64,
    /// The TAP results static reading counts (assertions, plus included files').
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
    /// Of the checked files, those whose plan equals the count.
    pub agree: u64,
    /// The checked files whose plan differs, sorted by path.
    pub mismatches: Vec<PlanMismatch>,
}

/// Totals over the whole scan: the JSON report's `summary`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Files read and parsed.
    pub files: u64,
    /// Assertion calls found (each call once, whatever it covers).
    pub assertions: u64,
    /// TAP results the top-level code of all files emits, as far as static reading tells.
    pub tests: u64,
    /// Assertions per pgTAP function name (or helper name).
    pub by_function: BTreeMap<String, u64>,
    /// Assertions per object kind name (`table`, `function`, ...; `none` for no object).
    pub by_kind: BTreeMap<String, u64>,
    /// Files that could not be read plus problems found in files.
    pub errors: u64,
    /// Problems that may make the reading incomplete (see [`Severity::Warning`]).
    pub warnings: u64,
    /// Files read and parsed in which no assertion was found.
    pub files_without_assertions: u64,
    /// Assertions whose object name is computed at run time.
    pub dynamic: u64,
    /// Assertions whose reading pgTAP decides at run time and static reading cannot.
    pub ambiguous: u64,
    /// Calls PostgreSQL would reject.
    pub rejected: u64,
    /// Assertions found in comments (only with `include_commented`).
    pub commented: u64,
    /// Agreement of literal `plan(N)` with the counted assertions.
    pub plans: PlanSummary,
}

/// How the scan ran (times, memory, cache): the JSON report's `stats`; differs from run to
/// run, so it is left out of comparisons.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Paths discovery handed to the parse stage.
    pub files_discovered: u64,
    /// Files read (or served from the cache) and parsed.
    pub files_parsed: u64,
    /// Files that could not be read (missing, unreadable, too large, not a regular file).
    pub files_failed: u64,
    /// Files read but not parsed because they look binary (`--binary` parses them).
    pub files_skipped: u64,
    /// Directories (or other inputs) that could not be read, so were not scanned.
    pub inputs_not_scanned: u64,
    /// Bytes read from disk (0 for files served by the cache without reading).
    pub bytes_read: u64,
    /// Batches of paths discovery sent to the parse pool.
    pub batches: u64,
    /// `standard` or `streaming`.
    pub mode: String,
    /// Parse threads used.
    pub threads: usize,
    /// Paths per batch.
    pub batch_size: usize,
    /// The memory budget (`--max-memory`), in bytes.
    pub budget_bytes: u64,
    /// The most file bytes in flight at once, charged to the budget.
    pub peak_charged_bytes: u64,
    /// How many times a stage waited for room in the budget.
    pub throttle_waits: u64,
    /// Time spent waiting for room, summed over waiters, in milliseconds.
    pub throttle_ms: u64,
    /// Live heap when the scan started, at its peak, and at the end, from the counting
    /// allocator (0 when the program did not install it: see `heap_measured`). Approximate:
    /// each thread counts in batches, so a figure may be off by up to
    /// `pipeline::alloc::FLUSH_BYTES` (32 KiB) per thread.
    pub initial_heap_bytes: u64,
    /// The most live heap bytes during the scan (see `initial_heap_bytes`).
    pub peak_heap_bytes: u64,
    /// Live heap bytes when the scan ended (see `initial_heap_bytes`).
    pub current_heap_bytes: u64,
    /// Whether the counting allocator was installed, so the heap figures mean something.
    pub heap_measured: bool,
    /// Wall time of discovery, including waits for room, in milliseconds.
    pub discovery_ms: u64,
    /// Busy time summed over the parse threads.
    pub parse_ms: u64,
    /// Time spent folding results into the coverage database, in milliseconds.
    pub aggregate_ms: u64,
    /// Wall time of the whole scan, in milliseconds.
    pub elapsed_ms: u64,
    /// Whether the scan was cut short (Ctrl-C): the report covers what was read before.
    pub cancelled: bool,
    /// With `--cache`: files neither read nor parsed (same size and mtime), files read but
    /// not parsed (same content hash), files parsed. All 0 without a cache.
    pub cache_hits: u64,
    /// With `--cache`: files read but not parsed (see `cache_hits`).
    pub cache_hash_hits: u64,
    /// With `--cache`: files parsed (see `cache_hits`).
    pub cache_misses: u64,
    /// The most bytes the coverage database held in memory at once while files arrived:
    /// an estimate from its tables' capacities (keys, counts, kept locations and paths;
    /// not the allocator's overhead, the behavioural references, or the report's objects
    /// built at the end). Charged to the budget; above a quarter of it
    /// ([`super::DATABASE_SHARE`]) the database spills.
    pub database_bytes: u64,
    /// Sorted runs the database wrote to its spill folder (0: it never spilled).
    pub runs_spilled: u64,
    /// Runs read back by the merges of the spilled runs.
    pub runs_merged: u64,
    /// Partial databases the parse workers folded and the aggregator merged (0 when the
    /// aggregator folds every file itself, as it does with `--cache`).
    pub partials_merged: u64,
    /// Bytes written to the spill folder: the runs, their merges, and the report's objects
    /// when they are left on disk ([`super::ScanConfig::objects_on_disk`]); and the files
    /// whose plans wait for their includes, written next to it (`plans_spilled`).
    pub spill_bytes_written: u64,
    /// Files with `plan(N)` and includes written to disk until the plan checks through
    /// includes, when they held more than a sixteenth of the budget
    /// ([`crate::includes::RUNNERS_SHARE`]); 0 when they stayed in memory.
    pub plans_spilled: u64,
    /// A spill that failed (its folder or a run could not be written or read back): the
    /// coverage is incomplete. The binary stops with exit code 2.
    #[serde(skip)]
    pub spill_error: Option<String>,
    /// Files a `--cache` rescan took from its run snapshot as they were: neither decoded
    /// nor folded again (0 when the snapshot was not used).
    pub cache_unchanged: u64,
    /// Time spent on the run snapshot: taking deleted files out, checking, writing it.
    pub snapshot_ms: u64,
    /// Why a `--cache` rescan could not start from its run snapshot and folded every file
    /// afresh (`--stats` says it).
    #[serde(skip)]
    pub snapshot_fallback: Option<String>,
}

/// The result of a scan.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// The report contract's version, [`REPORT_VERSION`].
    pub version: u32,
    /// Per-file detail, sorted by path; `None` in streaming mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileReport>>,
    /// Totals over the scan.
    pub summary: Summary,
    /// How the scan ran; differs from run to run.
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
    /// A monorepo's projects (issue 17), each with its own results and universe; empty for
    /// a scan of one project (and then not in JSON). With projects, `schema` is their total.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<ProjectReport>,
    /// With projects: the files read that belong to no project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_outside_projects: Option<u64>,
}

/// One project of a monorepo scan: its files' counts and its coverage against its own
/// universe. The JSON report's `projects[]`.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectReport {
    /// The project's name (unique in the scan).
    pub name: String,
    /// Its test roots, `/`-separated, as the scan named them.
    pub roots: Vec<String>,
    /// Files of the project read and parsed.
    pub files: u64,
    /// Assertion calls in them.
    pub assertions: u64,
    /// TAP results their top-level code emits, as far as static reading tells.
    pub tests: u64,
    /// Errors found in its files.
    pub errors: u64,
    /// Warnings about its files.
    pub warnings: u64,
    /// Held against the project's universe (its `coverage`, `gaps`, ...); `None` when the
    /// project has none (or it could not be read). Not flattened: a project's coverage is
    /// under its own `schema` key.
    pub schema: Option<SchemaCoverage>,
    /// The project's gates that fell short, as messages (`policy coverage 50.0% < 100`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gates_failed: Vec<String>,
    /// The keys of its universe's tested objects, sorted: what a later scan's `--baseline`
    /// compares the project with (the whole report's `objects` mixes every project's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tested_objects: Vec<String>,
}

/// Messages kept in the report; the rest are counted.
pub const MAX_MESSAGES: usize = 1000;

/// The JSON report contract's version.
pub const REPORT_VERSION: u32 = 1;

impl ScanReport {
    /// Whether this is a streaming report (no per-file detail kept: `files` is `None`).
    pub fn streaming(&self) -> bool {
        self.files.is_none()
    }

    /// What the suite asserts about one object, by key (`table:public.users`); `None` when
    /// no assertion names it. With the objects on disk ([`Database::on_disk`]), load them
    /// first ([`Database::load_objects`]).
    pub fn coverage_of(&self, key: &str) -> Option<&ObjectCoverage> {
        self.coverage.get(key)
    }

    /// Holds the coverage database against a universe of objects: percentages, gaps and
    /// stale tests. `schemas`, when not empty, limits the universe
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
        // Held against the universe object by object: objects left on disk are loaded (a
        // run that cannot be read back stops the run as a failed spill does).
        if let Err(e) = self.coverage.load_objects() {
            self.stats.spill_error.get_or_insert(e);
        }
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
    pub fn with_universe_warnings(self, skipped: &[crate::universe::SkippedStatement]) -> Self {
        self.with_messages(skipped.iter().map(|s| Message {
            severity: Severity::Warning,
            path: Some(s.file.clone()),
            line: Some(s.line),
            text: format!("schema statement skipped: {}", s.reason),
        }))
    }

    /// Adds messages met after the scan (a monorepo's include that reaches into another
    /// project's tests, say), counted in the summary and kept in the report's order with
    /// its bound ([`MAX_MESSAGES`]), as the scan's own are.
    pub fn with_messages(mut self, more: impl IntoIterator<Item = Message>) -> Self {
        for m in more {
            match m.severity {
                Severity::Error => self.summary.errors += 1,
                Severity::Warning => self.summary.warnings += 1,
            }
            self.messages.push(m);
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
    /// A message, as the scan meets it (stderr gets it at once; the report keeps it sorted).
    fn message(&mut self, _m: &Message) {}
    /// Called for each file in streaming mode, in arrival order.
    fn file(&mut self, _f: &FileReport) {}
    /// Whether [`Observer::file`] must see every file: a `--cache` rescan that starts from
    /// the run snapshot does not fold unchanged files again, so it is used only when not.
    fn wants_files(&self) -> bool {
        true
    }
}

/// Ignores everything.
pub struct NoObserver;
impl Observer for NoObserver {
    fn wants_files(&self) -> bool {
        false
    }
}
