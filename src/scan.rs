//! A whole scan: the pipeline's stages with extraction as the parse step and one
//! aggregator that owns every result, then the plan checks that need more than one file
//! (psql includes). This is the library's entry point; the CLI only builds a
//! [`ScanConfig`] and renders the [`ScanReport`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use pipeline::{DiscoveryConfig, Event, MemoryBudget, PipelineConfig, Progress};
use serde::Serialize;

use crate::config::ExtractOptions;
use crate::coverage::{self, ObjectCoverage};
use crate::extract::Extractor;
use crate::model::{Context, FileResult, PlanDecl, ResolutionKind};

/// When per-file detail is dropped after aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamingMode {
    /// Streaming above [`STREAMING_AUTO_THRESHOLD`] discovered files.
    #[default]
    Auto,
    Always,
    Never,
}

/// `--streaming auto` turns streaming on above this many discovered files.
pub const STREAMING_AUTO_THRESHOLD: u64 = 1000;

/// Everything a scan needs to know.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub discovery: DiscoveryConfig,
    /// Parse threads; 0 means one per core.
    pub threads: usize,
    pub batch_size: usize,
    pub max_memory_bytes: u64,
    pub streaming: StreamingMode,
    pub extract: ExtractOptions,
    /// `--cache DIR`: keep per-file results there and skip unchanged files.
    pub cache_dir: Option<PathBuf>,
    /// Folders besides the scan roots that psql includes may be read from (`--include-dir`).
    pub include_dirs: Vec<PathBuf>,
    /// Parse files that look binary too (`--binary`); by default they are skipped.
    pub binary: bool,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            discovery: DiscoveryConfig::default(),
            threads: 0,
            batch_size: 100,
            max_memory_bytes: crate::config::DEFAULT_MAX_MEMORY,
            streaming: StreamingMode::Auto,
            extract: ExtractOptions::default(),
            cache_dir: None,
            include_dirs: Vec::new(),
            binary: false,
        }
    }
}

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
    pub coverage: coverage::Database,
    /// Errors and warnings as printed on stderr (the first [`MAX_MESSAGES`] by path, line,
    /// severity and text, whatever order files arrived in; sorted), so reports can show them.
    pub messages: Vec<Message>,
    /// Messages beyond [`MAX_MESSAGES`] (counted in `summary`, not kept).
    pub messages_omitted: u64,
    /// Held against a universe of objects (`--schema`, `--database-url`): `coverage`,
    /// `gaps`, `stale`, `universe_source`. Set with [`ScanReport::with_universe`].
    #[serde(flatten)]
    pub schema: Option<crate::gaps::SchemaCoverage>,
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
    /// use pgtap_scan::gaps::UniverseSource;
    /// use pgtap_scan::scan::{run, ScanConfig};
    /// use pgtap_scan::schema::load_migrations;
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
        mut self,
        universe: &crate::schema::Universe,
        source: crate::gaps::UniverseSource,
        schemas: &[String],
    ) -> Self {
        self.schema = Some(crate::gaps::compute(
            &self.coverage,
            universe,
            source,
            schemas,
        ));
        self
    }

    /// Adds the statements the universe reader skipped as warnings (`schema statement
    /// skipped: ...`), so every report lists and counts what stderr printed.
    pub fn with_universe_warnings(mut self, skipped: &[crate::schema::SkippedStatement]) -> Self {
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

/// Runs a scan with no way to cancel it, no progress reporting and messages dropped: the
/// simple entry point for library use (errors and warnings are still counted in the
/// summary). See [`scan`] for the rest.
///
/// ```
/// use pgtap_scan::object::Aspect;
/// use pgtap_scan::scan::{run, ScanConfig};
///
/// let mut cfg = ScanConfig::default();
/// cfg.discovery.roots = vec!["fixtures/sample/tests".into()];
/// let report = run(&cfg);
/// assert!(report.summary.assertions > 0);
/// let users = report.coverage_of("table:app.users").expect("asserted");
/// assert!(users.tested && users.aspects.contains(&Aspect::Existence));
/// ```
pub fn run(cfg: &ScanConfig) -> ScanReport {
    scan(
        cfg,
        Arc::new(AtomicBool::new(false)),
        Arc::new(Progress::default()),
        &mut NoObserver,
    )
}

/// Runs a scan. `cancel` stops it early (the report then has `stats.cancelled`).
pub fn scan(
    cfg: &ScanConfig,
    cancel: Arc<AtomicBool>,
    progress: Arc<Progress>,
    observer: &mut dyn Observer,
) -> ScanReport {
    let started = Instant::now();
    let initial_heap = pipeline::alloc::current();
    pipeline::alloc::reset_peak();
    let budget = MemoryBudget::new(cfg.max_memory_bytes);
    let requested = if cfg.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        cfg.threads
    };
    // Each parse thread costs memory of its own (stack, allocator pages, buffers): about
    // 3 MiB measured at -j 64. One per core is the baseline; beyond that, half the budget
    // at most goes to threads.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_threads = usize::try_from(cfg.max_memory_bytes / 2 / THREAD_MEMORY)
        .unwrap_or(usize::MAX)
        .max(cores);
    let threads = requested.min(max_threads);
    let extractor = Extractor::new(cfg.extract.clone())
        .with_limits(token_limits(cfg.max_memory_bytes, threads));
    let pcfg = PipelineConfig {
        threads,
        batch_size: cfg.batch_size.max(1),
        budget: Arc::clone(&budget),
        cancel: Arc::clone(&cancel),
        progress: Arc::clone(&progress),
        binary: cfg.binary,
    };
    let mut agg = Aggregator::new(cfg, observer, Arc::clone(&progress));
    if threads < requested {
        agg.message(
            Severity::Warning,
            None,
            None,
            format!(
                "{requested} parse threads lowered to {threads}: past one per core, each needs \
                 about {} MiB of the {} MiB memory budget (raise --max-memory for more)",
                THREAD_MEMORY >> 20,
                cfg.max_memory_bytes >> 20
            ),
        );
    }
    let mut cache = cfg
        .cache_dir
        .as_deref()
        .map(|dir| pipeline::BlobCache::open(dir, &cache_namespace(cfg)));
    let pstats = pipeline::run_cached(
        &cfg.discovery,
        &pcfg,
        cache.as_mut().map(|cache| pipeline::Cached {
            cache,
            codec: &crate::cache::FileResultCodec,
            read_only: false,
        }),
        |_path, bytes| extractor.extract(bytes),
        |event| agg.event(event),
    );
    let mut cancelled = pstats.cancelled;
    if !cancelled {
        let runners = std::mem::take(&mut agg.runners);
        let checked = crate::includes::check(
            runners,
            crate::includes::Reader {
                extractor: &extractor,
                roots: &cfg.discovery.roots,
                include_dirs: &cfg.include_dirs,
                threads,
                budget: Arc::clone(&budget),
                cancel: Arc::clone(&cancel),
                progress: Arc::clone(&progress),
                cache: cache.as_mut(),
                binary: cfg.binary,
            },
        );
        cancelled |= checked.cancelled;
        agg.record_includes(checked);
    }
    let Aggregator {
        mut summary,
        files,
        streaming,
        coverage,
        messages,
        messages_omitted,
        by_function,
        by_kind,
        ..
    } = agg;
    summary.by_function = by_function
        .into_iter()
        .map(|(k, n)| (k.into_owned(), n))
        .collect();
    summary.by_kind = by_kind
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    let messages: Vec<Message> = messages
        .into_sorted_vec()
        .into_iter()
        .map(|m| m.0)
        .collect();
    let coverage = coverage.finish();
    let files = if streaming {
        None
    } else {
        let mut files = files;
        files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        Some(files)
    };
    summary.plans.mismatches.sort_by(|a, b| a.path.cmp(&b.path));
    let heap_measured = pipeline::alloc::peak() > 0;
    let stats = Stats {
        files_discovered: pstats.files_discovered,
        files_parsed: pstats.files_parsed,
        files_failed: pstats.files_failed,
        files_skipped: pstats.files_skipped,
        inputs_not_scanned: pstats.inputs_not_scanned,
        bytes_read: pstats.bytes_read,
        batches: pstats.batches,
        mode: if streaming { "streaming" } else { "standard" }.to_string(),
        threads,
        batch_size: pcfg.batch_size,
        budget_bytes: pstats.budget.limit_bytes,
        peak_charged_bytes: pstats.budget.peak_charged_bytes,
        throttle_waits: pstats.budget.throttle_waits,
        throttle_ms: pstats.budget.throttle_time.as_millis() as u64,
        initial_heap_bytes: initial_heap,
        peak_heap_bytes: pipeline::alloc::peak(),
        current_heap_bytes: pipeline::alloc::current(),
        heap_measured,
        discovery_ms: pstats.discovery_time.as_millis() as u64,
        parse_ms: pstats.parse_time.as_millis() as u64,
        aggregate_ms: pstats.aggregate_time.as_millis() as u64,
        elapsed_ms: started.elapsed().as_millis() as u64,
        cancelled,
        cache_hits: pstats.cache.hits,
        cache_hash_hits: pstats.cache.hash_hits,
        cache_misses: pstats.cache.misses,
    };
    ScanReport {
        version: REPORT_VERSION,
        files,
        summary,
        stats,
        coverage,
        messages,
        messages_omitted,
        schema: None,
    }
}

/// The one owner of the scan's results.
struct Aggregator<'o> {
    observer: &'o mut dyn Observer,
    summary: Summary,
    files: Vec<FileReport>,
    streaming: bool,
    auto: bool,
    progress: Arc<Progress>,
    /// Files with `plan(N)` and includes: their plans are checked once every file is in.
    runners: Vec<crate::includes::Runner>,
    coverage: coverage::Builder,
    /// The first [`MAX_MESSAGES`] by place so far; the greatest on top, to be replaced.
    messages: std::collections::BinaryHeap<ByPlace>,
    messages_omitted: u64,
    /// `summary.by_function` and `by_kind` while files arrive: hashed catalog names (a
    /// borrowed `Name` costs nothing to keep), turned into the sorted maps at the end.
    by_function: ahash::AHashMap<crate::model::Name, u64>,
    by_kind: ahash::AHashMap<&'static str, u64>,
}

/// A message ordered by path, line, severity and text: the order reports list them in.
struct ByPlace(Message);

impl ByPlace {
    fn key(&self) -> (&Option<String>, Option<u32>, Severity, &str) {
        let m = &self.0;
        (&m.path, m.line, m.severity, &m.text)
    }
}

impl PartialEq for ByPlace {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for ByPlace {}
impl PartialOrd for ByPlace {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByPlace {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// Can static reading know how many results this file's own code emits?
pub(crate) fn exact_count(r: &FileResult) -> bool {
    !r.tests_inexact
        && !r.runs_tests
        && r.assertions
            .iter()
            .all(|a| a.context == Context::Top || a.commented)
}

impl<'o> Aggregator<'o> {
    fn new(cfg: &ScanConfig, observer: &'o mut dyn Observer, progress: Arc<Progress>) -> Self {
        Aggregator {
            observer,
            summary: Summary::default(),
            files: Vec::new(),
            streaming: cfg.streaming == StreamingMode::Always,
            auto: cfg.streaming == StreamingMode::Auto,
            progress,
            runners: Vec::new(),
            coverage: coverage::Builder::new(cfg.streaming == StreamingMode::Always),
            messages: std::collections::BinaryHeap::new(),
            messages_omitted: 0,
            by_function: ahash::AHashMap::default(),
            by_kind: ahash::AHashMap::default(),
        }
    }

    fn message(
        &mut self,
        severity: Severity,
        path: Option<String>,
        line: Option<u32>,
        text: String,
    ) {
        match severity {
            Severity::Error => self.summary.errors += 1,
            Severity::Warning => self.summary.warnings += 1,
        }
        let m = Message {
            severity,
            path,
            line,
            text,
        };
        self.observer.message(&m);
        // Kept by place, not by arrival, so the report does not depend on thread timing.
        let m = ByPlace(m);
        if self.messages.len() < MAX_MESSAGES {
            self.messages.push(m);
            return;
        }
        self.messages_omitted += 1;
        if let Some(mut last) = self.messages.peek_mut() {
            if m < *last {
                *last = m;
            }
        }
    }

    fn event(&mut self, event: Event<FileResult>) {
        match event {
            Event::Warning { path, message } => {
                self.message(
                    Severity::Warning,
                    path.map(|p| p.display().to_string()),
                    None,
                    message,
                );
            }
            Event::Skipped { path, reason } => {
                self.message(
                    Severity::Warning,
                    Some(path.display().to_string()),
                    None,
                    reason,
                );
            }
            Event::Unscanned { path, message } => {
                self.message(
                    Severity::Error,
                    path.map(|p| p.display().to_string()),
                    None,
                    message,
                );
            }
            Event::File(outcome) => {
                let path = outcome.path.clone();
                match outcome.into_result() {
                    Ok(result) => self.fold(path, result),
                    Err(e) => self.message(
                        Severity::Error,
                        Some(path.display().to_string()),
                        None,
                        format!("cannot read: {e}"),
                    ),
                }
            }
        }
        if self.auto
            && !self.streaming
            && self
                .progress
                .discovered
                .load(std::sync::atomic::Ordering::Relaxed)
                > STREAMING_AUTO_THRESHOLD
        {
            self.streaming = true;
            self.coverage.set_streaming(true);
            let mut held = std::mem::take(&mut self.files);
            held.sort_unstable_by(|a, b| a.path.cmp(&b.path));
            for f in &held {
                self.observer.file(f);
            }
        }
    }

    fn fold(&mut self, path: PathBuf, result: FileResult) {
        let shown = path.display().to_string();
        let s = &mut self.summary;
        s.files += 1;
        s.tests += result.tests;
        if result.assertions.is_empty() {
            s.files_without_assertions += 1;
        }
        for a in &result.assertions {
            s.assertions += 1;
            bump(&mut self.by_function, &a.function);
            *self.by_kind.entry(a.kind_name()).or_default() += 1;
            s.dynamic += u64::from(a.dynamic);
            s.ambiguous += u64::from(a.resolution == ResolutionKind::Ambiguous);
            s.rejected += u64::from(a.resolution == ResolutionKind::Rejected);
            s.commented += u64::from(a.commented);
        }
        self.coverage.add_file(&shown, &result);
        for d in &result.errors {
            self.message(
                Severity::Error,
                Some(shown.clone()),
                Some(d.line),
                d.message.clone(),
            );
        }
        for d in &result.warnings {
            self.message(
                Severity::Warning,
                Some(shown.clone()),
                Some(d.line),
                d.message.clone(),
            );
        }
        let exact = exact_count(&result);
        if let Some(PlanDecl::Fixed { count, line }) = result.plan {
            self.summary.plans.planned += 1;
            if !result.includes.is_empty() {
                self.runners.push(crate::includes::Runner {
                    path: shown.clone(),
                    plan_line: line,
                    planned: count,
                    tests: result.tests,
                    exact,
                    includes: result.includes.clone(),
                });
            } else if exact {
                self.plan_verdict_with(
                    shown.clone(),
                    line,
                    count,
                    result.tests,
                    0,
                    &result.select_calls,
                );
            }
        }
        let report = FileReport {
            path: shown,
            plan: match result.plan {
                Some(PlanDecl::Fixed { count, .. }) => Some(count),
                _ => None,
            },
            result,
        };
        if self.streaming {
            self.observer.file(&report);
        } else {
            self.files.push(report);
        }
    }

    fn plan_verdict(
        &mut self,
        path: String,
        line: u32,
        planned: u64,
        found: u64,
        from_includes: u64,
    ) {
        self.plan_verdict_with(path, line, planned, found, from_includes, &[]);
    }

    /// A plan verdict; `calls` are the file's top-level calls of unknown functions, named
    /// when the plan is short by exactly the calls of some of them (they may emit TAP).
    fn plan_verdict_with(
        &mut self,
        path: String,
        line: u32,
        planned: u64,
        found: u64,
        from_includes: u64,
        calls: &[(String, u32)],
    ) {
        self.summary.plans.checked += 1;
        if planned == found {
            self.summary.plans.agree += 1;
            return;
        }
        let mut text = if from_includes > 0 {
            format!("plan({planned}) but {found} tests found ({} in this file, {from_includes} in included files)", found - from_includes)
        } else {
            format!("plan({planned}) but {found} tests found")
        };
        if let Some(hint) = tap_hint(planned.saturating_sub(found), calls) {
            text.push_str(&hint);
        }
        self.message(Severity::Warning, Some(path.clone()), Some(line), text);
        self.summary.plans.mismatches.push(PlanMismatch {
            path,
            line,
            planned,
            found,
            from_includes,
        });
    }

    /// Records what the include check found: a verdict per checkable plan, a warning per
    /// include that could not be followed.
    fn record_includes(&mut self, checked: crate::includes::Outcome) {
        for w in checked.warnings {
            self.message(Severity::Warning, Some(w.path), Some(w.line), w.text);
        }
        for v in checked.verdicts {
            self.plan_verdict(v.path, v.line, v.planned, v.found, v.from_includes);
        }
    }
}

/// The memory a parse thread is counted for when the budget limits `-j`.
pub const THREAD_MEMORY: u64 = 4 << 20;

/// Each parse thread's token buffer gets at most a quarter of the budget's share of that
/// thread (32 bytes a token), between 64k and 2M tokens (2 and 64 MiB): the budget bounds
/// file bytes in flight, and this bounds what parsing them adds, at any `-j`.
pub(crate) fn token_limits(budget: u64, threads: usize) -> crate::lexer::Limits {
    let per_thread = budget / 4 / (threads.max(1) as u64);
    let cap = (per_thread / 32).clamp(1 << 16, crate::extract::DEFAULT_LIMITS.cap as u64) as usize;
    crate::lexer::Limits {
        window: (cap / 8).max(1),
        cap,
    }
}

/// "; short by N: ... may emit TAP" when some unknown functions are called, together,
/// exactly as many times as results are missing (most likely first: names that read like
/// assertions). `None` when the plan is not short or nothing fits.
fn tap_hint(short: u64, calls: &[(String, u32)]) -> Option<String> {
    if short == 0 || calls.is_empty() {
        return None;
    }
    let mut by_name: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (name, line) in calls {
        by_name.entry(name.as_str()).or_default().push(*line);
    }
    let mut fits: Vec<(&str, &Vec<u32>)> = by_name
        .iter()
        .filter(|(_, lines)| lines.len() as u64 == short)
        .map(|(n, l)| (*n, l))
        .collect();
    if fits.is_empty() {
        return None;
    }
    let assertive = |n: &str| {
        let n = n.rsplit('.').next().unwrap_or(n).to_ascii_lowercase();
        [
            "assert", "check", "test", "expect", "verify", "is_", "has_", "rls",
        ]
        .iter()
        .any(|w| n.contains(w))
    };
    fits.sort_by_key(|(n, _)| !assertive(n));
    let shown: Vec<String> = fits
        .iter()
        .take(5)
        .map(|(n, lines)| {
            let lines: Vec<String> = lines.iter().map(u32::to_string).collect();
            format!("{n} (line {})", lines.join(", "))
        })
        .collect();
    let first = fits[0].0;
    Some(format!(
        "; {short} short, exactly the calls of {}{}: if it emits TAP, declare it in \
         .pgtap-scan.toml as [[helper]] name = \"{first}\" (with kind and args) to count it",
        shown.join(" or "),
        if fits.len() > 5 { " or others" } else { "" }
    ))
}

/// The cache namespace: the extraction options, and whether binary-looking files are
/// parsed (a result stored under `--binary` must not be served without it).
fn cache_namespace(cfg: &ScanConfig) -> Vec<u8> {
    let mut ns = crate::cache::namespace(&cfg.extract);
    if cfg.binary {
        ns.extend_from_slice(b"\nbinary true");
    }
    ns
}

/// Counts one more of `key` without allocating when the key is already there (the
/// aggregator is the one serial stage: it must not allocate per assertion).
fn bump(map: &mut ahash::AHashMap<crate::model::Name, u64>, key: &crate::model::Name) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.clone(), 1);
        }
    }
}
