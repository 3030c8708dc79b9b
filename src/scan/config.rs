//! What a scan is asked to do: plain data the CLI (or a library user) fills in.

use std::path::PathBuf;

use pipeline::DiscoveryConfig;

use crate::config::ExtractOptions;

/// When per-file detail is dropped after aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamingMode {
    /// Streaming above [`STREAMING_AUTO_THRESHOLD`] discovered files.
    #[default]
    Auto,
    /// Always streaming, whatever the number of files.
    Always,
    /// Never streaming: every file's detail is kept.
    Never,
}

/// `--streaming auto` turns streaming on above this many discovered files.
pub const STREAMING_AUTO_THRESHOLD: u64 = 1000;

/// Everything a scan needs to know.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// What to read: roots, extensions, ignore rules, globs.
    pub discovery: DiscoveryConfig,
    /// Parse threads; 0 means one per core.
    pub threads: usize,
    /// Paths discovery hands to the parse pool at a time.
    pub batch_size: usize,
    /// The memory budget (`--max-memory`): file bytes in flight at once, in bytes.
    pub max_memory_bytes: u64,
    /// When per-file detail is dropped (`--streaming`).
    pub streaming: StreamingMode,
    /// How assertions are read (search path, helpers, references, ...).
    pub extract: ExtractOptions,
    /// `--cache DIR`: keep per-file results there and skip unchanged files.
    pub cache_dir: Option<PathBuf>,
    /// Folders besides the scan roots that psql includes may be read from (`--include-dir`).
    pub include_dirs: Vec<PathBuf>,
    /// Parse files that look binary too (`--binary`); by default they are skipped.
    pub binary: bool,
    /// `--shard k/n`: read only this shard's files (every file is still discovered).
    pub shard: Option<crate::shard::Shard>,
    /// Where the coverage database spills sorted runs when it outgrows its share of the
    /// budget ([`DATABASE_SHARE`]): a temporary folder is made in this folder and removed
    /// when the scan ends. `None`: the system's temporary folder (`$TMPDIR`).
    pub spill_dir: Option<PathBuf>,
    /// When the coverage database spilled, leave the report's objects on disk (in the
    /// spill folder, until the report is dropped) instead of building them in memory, so
    /// the memory stays bounded whatever the number of objects: the JSON report streams
    /// them, the text report does not list them, and [`crate::coverage::Database::load_objects`]
    /// brings them into memory for anything else (a universe, the formats that list
    /// objects). Off by default: the report holds them in `coverage.objects`.
    pub objects_on_disk: bool,
    /// With `--cache` (where the run snapshot is used: see [`ScanConfig::cache_dir`]), the
    /// report's objects are kept in the cache folder as the JSON report writes them, and a
    /// rescan renders only the objects a changed, added or deleted file touched (the rest
    /// are copied as bytes). The report's objects are then not in `coverage.objects`: as
    /// with [`ScanConfig::objects_on_disk`], the JSON report copies them, the text report
    /// does not list them, and [`crate::coverage::Database::load_objects`] builds them for
    /// anything else. Off by default (the CLI sets it for `--format json` without a
    /// universe or projects).
    pub objects_kept: bool,
    /// No universe will resolve the behavioural references (none was given), so nothing
    /// the run reports needs more than their number. Where the scan keeps no file either
    /// (streaming mode, no per-file output, no `--cache`, not a shard), the parse workers
    /// count them and keep none ([`crate::model::FileResult::references_counted`]): no
    /// reference is built, sent to the aggregator or folded. Off by default.
    pub references_counted_only: bool,
    /// Monorepos (issue 17): how each project's test files are read. A file under a
    /// project's test roots (the innermost project holding it, as
    /// [`super::projects::Splitter`] attributes files) is read with that project's options
    /// (its search path, helpers and role helpers); every other file with
    /// [`extract`](Self::extract). Empty (the default): every file with `extract`. A
    /// project read as `extract` reads need not be listed.
    pub project_reading: Vec<ProjectReading>,
}

/// How one monorepo project's test files are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectReading {
    /// The project's test roots, as discovery names them (compared by component).
    pub roots: Vec<PathBuf>,
    /// What its files are read with.
    pub extract: ExtractOptions,
}

/// The coverage database may hold `max_memory_bytes / DATABASE_SHARE` bytes (an estimate)
/// before it spills sorted runs to disk; what it holds is charged to the budget, so the
/// file bytes in flight get the rest.
pub const DATABASE_SHARE: u64 = 4;

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
            shard: None,
            spill_dir: None,
            objects_on_disk: false,
            objects_kept: false,
            references_counted_only: false,
            project_reading: Vec::new(),
        }
    }
}
