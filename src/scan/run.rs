//! Running a scan: the thread count and token limits the memory budget allows, the
//! pipeline with extraction as its parse step and the cache, the include check once every
//! file is in, and the [`ScanReport`] put together from what the aggregator holds.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use pipeline::{MemoryBudget, PipelineConfig, Progress};

use super::aggregate::{Aggregated, Aggregator};
use super::config::ScanConfig;
use super::report::{ScanReport, Severity, Stats, REPORT_VERSION};

pub use super::report::{NoObserver, Observer};

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
    scan_parts(cfg, cancel, progress, observer, false).0
}

/// What a shard's partial needs besides its files and the report: what a merge cannot
/// derive again from the files.
#[derive(Default)]
pub(super) struct ShardParts {
    /// Messages not tied to a file's result.
    pub outside: Vec<super::report::Message>,
    pub include_verdicts: Vec<crate::includes::Verdict>,
    pub include_warnings: Vec<crate::includes::Warning>,
    /// The digest of every discovered path (see [`crate::shard::FileListDigest`]).
    pub file_list: String,
}

/// [`scan`], and with `keep` what a shard's partial needs.
pub(super) fn scan_parts(
    cfg: &ScanConfig,
    cancel: Arc<AtomicBool>,
    progress: Arc<Progress>,
    observer: &mut dyn Observer,
    keep: bool,
) -> (ScanReport, Option<ShardParts>) {
    scan_with(cfg, cancel, progress, observer, keep, Ok(()))
}

/// Passes messages on only once the run is known to stand (a rescan from the run
/// snapshot that has to fold every file afresh starts again, and must not say twice what
/// it met).
struct Held<'a> {
    inner: &'a mut dyn Observer,
    messages: Vec<super::report::Message>,
}

impl Observer for Held<'_> {
    fn message(&mut self, m: &super::report::Message) {
        self.messages.push(m.clone());
    }
    fn file(&mut self, f: &super::report::FileReport) {
        self.inner.file(f);
    }
    fn wants_files(&self) -> bool {
        self.inner.wants_files()
    }
}

/// [`scan_parts`]; `use_snapshot`: start from the `--cache` run snapshot when there is
/// one (`Err`: why a first try from it had to fold every file afresh).
fn scan_with(
    cfg: &ScanConfig,
    cancel: Arc<AtomicBool>,
    progress: Arc<Progress>,
    observer: &mut dyn Observer,
    keep: bool,
    use_snapshot: Result<(), String>,
) -> (ScanReport, Option<ShardParts>) {
    let started = Instant::now();
    let mut snapshot_ms = 0;
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
    // Each file is read with its project's options (a monorepo's projects may declare
    // their own helpers and search path), else the scan's.
    let readers = super::projects::Readers::new(cfg, token_limits(cfg.max_memory_bytes, threads));
    // Every discovered path, for the shard's partial report (see `crate::shard`).
    let file_list = Arc::new(crate::shard::FileListDigest::default());
    let pcfg = PipelineConfig {
        threads,
        batch_size: cfg.batch_size.max(1),
        budget: Arc::clone(&budget),
        cancel: Arc::clone(&cancel),
        progress: Arc::clone(&progress),
        binary: cfg.binary,
        select: cfg.shard.map(|shard| {
            let list = Arc::clone(&file_list);
            pipeline::Select(Arc::new(move |path: &std::path::Path| {
                list.add(path);
                shard.owns(path)
            }))
        }),
    };
    // The run snapshot (`--cache`): only where the aggregator's state is all a run keeps
    // (streaming, no per-file output, no behavioural references, not a shard's partial).
    let namespace = cache_namespace(cfg);
    let snapshot_settings = super::snapshot::settings(cfg, &namespace);
    let incremental = cfg.cache_dir.is_some()
        && cfg.shard.is_none()
        && !keep
        && !cfg.extract.references
        && cfg.streaming != super::config::StreamingMode::Never
        && !observer.wants_files();
    // References only counted (`ScanConfig::references_counted_only`) where no file is
    // kept: a file held before an automatic switch to streaming is only ever reported
    // per file (`wants_files`), which turns this off.
    let counted_only = cfg.references_counted_only
        && cfg.extract.references
        && cfg.cache_dir.is_none()
        && cfg.shard.is_none()
        && !keep
        && cfg.streaming != super::config::StreamingMode::Never
        && !observer.wants_files();
    let loaded = cfg
        .cache_dir
        .as_deref()
        .filter(|_| incremental && use_snapshot.is_ok())
        .and_then(|dir| super::snapshot::load(dir, &snapshot_settings));
    let mut held = Held {
        inner: observer,
        messages: Vec::new(),
    };
    let observer: &mut dyn Observer = if loaded.is_some() {
        &mut held
    } else {
        &mut *held.inner
    };
    let mut agg = Aggregator::new(cfg, observer, Arc::clone(&progress));
    if incremental {
        agg.keep_reserves();
        agg.tracker = Some(super::snapshot::Tracker::from(loaded.as_ref()));
    }
    if let Some(snapshot) = &loaded {
        if agg.import(&mut snapshot.state()).is_none() {
            drop(agg);
            let why = Err("it could not be read".to_string());
            return scan_with(cfg, cancel, progress, held.inner, keep, why);
        }
    }
    agg.charge_database_to(Arc::clone(&budget));
    if keep {
        agg.keep_outside();
    }
    if threads < requested {
        agg.outside_message(
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
        .map(|dir| pipeline::BlobCache::open(dir, &namespace));
    let known = loaded
        .as_ref()
        .map(|snapshot| super::snapshot::Known(Arc::clone(&snapshot.files)));
    // The files' coverage folded by the parse workers (`super::partials`), where every
    // file is parsed here: a cache serves some without parsing them.
    let partials = cfg
        .cache_dir
        .is_none()
        .then(|| agg.fold_in_workers())
        .flatten()
        .map(|proto| {
            super::partials::Partials::new(
                proto,
                threads,
                cfg.max_memory_bytes / super::config::DATABASE_SHARE,
                cfg.streaming == super::config::StreamingMode::Auto,
                Arc::clone(&progress),
                Arc::clone(&budget),
            )
        });
    let mut partials_merged = 0;
    let pstats = pipeline::run_cached(
        &cfg.discovery,
        &pcfg,
        cache.as_mut().map(|cache| pipeline::Cached {
            cache,
            codec: &crate::result_codec::FileResultCodec,
            read_only: false,
            known: known
                .as_ref()
                .map(|k| k as &dyn pipeline::Known<crate::model::FileResult>),
        }),
        |path, bytes| {
            // Streaming from the first file, or since discovery passed the threshold at
            // which the aggregator switches (it does on its next event, this file's).
            let count_only = counted_only
                && (cfg.streaming == super::config::StreamingMode::Always
                    || progress
                        .discovered
                        .load(std::sync::atomic::Ordering::Relaxed)
                        > super::config::STREAMING_AUTO_THRESHOLD);
            let result = readers.for_path(path).extract_references(bytes, count_only);
            if let Some(partials) = &partials {
                partials.fold(path, &result);
            }
            result
        },
        |event| {
            agg.event(event);
            if let Some(partials) = &partials {
                for partial in partials.take_ready() {
                    agg.absorb(partial);
                    partials_merged += 1;
                }
            }
        },
    );
    if let Some(partials) = partials {
        // Charged until every one is merged into the database (charged itself).
        let (rest, _holds) = partials.into_rest();
        for partial in rest {
            agg.absorb(partial);
            partials_merged += 1;
        }
    }
    let mut cancelled = pstats.cancelled;
    let mut unchanged = 0;
    if let (Some(mut tracker), Some(cache), Some(dir)) =
        (agg.tracker.take(), cache.as_ref(), cfg.cache_dir.as_deref())
    {
        let t = Instant::now();
        tracker.take_quiet();
        if !cancelled {
            // Files the state holds that this run did not fold: deleted, unreadable now,
            // skipped. Their old results come from the cache.
            for (path, hash) in tracker.unseen() {
                let key = path.to_str().unwrap_or_default();
                match cache.stored(&path, &crate::result_codec::FileResultCodec) {
                    Some((stored, old)) if stored == hash => agg.unfold(key, &old),
                    _ => tracker.broken = Some(format!("{key}: its old result is gone")),
                }
            }
        }
        if loaded.is_some() && !cancelled {
            let exact = match &tracker.broken {
                Some(why) => Err(why.clone()),
                None if cfg.streaming == super::config::StreamingMode::Auto
                    && pstats.files_discovered <= super::config::STREAMING_AUTO_THRESHOLD =>
                {
                    Err("too few files for streaming mode".into())
                }
                None => agg.settle_undo(),
            };
            if let Err(why) = exact {
                drop(agg);
                return scan_with(cfg, cancel, progress, held.inner, keep, Err(why));
            }
            unchanged = tracker.unchanged;
        }
        let writable = !cancelled && tracker.unwritable.is_none() && agg.exportable();
        if writable && cfg.objects_kept {
            // The objects no text is kept for yet, rendered and kept with the snapshot.
            match agg.render_kept(dir) {
                Ok(changed) => tracker.changed |= changed,
                Err(e) => agg.outside_message(
                    Severity::Warning,
                    Some(dir.display().to_string()),
                    None,
                    format!("cannot keep the report's objects in the cache: {e}"),
                ),
            }
        }
        if writable && !tracker.changed {
            // The snapshot on disk holds this very state: nothing to write.
        } else if writable {
            // The last one's size and some room (a rescan changes a few percent of it).
            let size_hint = loaded.as_ref().map_or(0, |s| s.len() + s.len() / 8);
            let saved =
                super::snapshot::save(dir, &snapshot_settings, &tracker, size_hint, |enc| {
                    agg.export(enc);
                });
            if let Err(e) = saved {
                super::snapshot::remove(dir);
                agg.outside_message(
                    Severity::Warning,
                    Some(dir.display().to_string()),
                    None,
                    format!("cannot write the cache's run snapshot: {e}"),
                );
            }
        } else {
            super::snapshot::remove(dir);
        }
        snapshot_ms = t.elapsed().as_millis() as u64;
    }
    let (mut include_verdicts, mut include_warnings) = (Vec::new(), Vec::new());
    let mut plans = crate::includes::Checked::default();
    if !cancelled {
        agg.spill_database();
        let runners = agg.take_runners();
        plans = crate::includes::check(
            runners,
            crate::includes::Reader {
                extract: &|path: &std::path::Path, bytes: &[u8]| {
                    readers.for_path(path).extract(bytes)
                },
                roots: &cfg.discovery.roots,
                include_dirs: &cfg.include_dirs,
                threads,
                budget: Arc::clone(&budget),
                cancel: Arc::clone(&cancel),
                progress: Arc::clone(&progress),
                cache: cache.as_mut(),
                binary: cfg.binary,
            },
            &mut |checked| {
                if keep {
                    include_verdicts.extend(checked.verdicts.iter().cloned());
                    include_warnings.extend(checked.warnings.iter().cloned());
                }
                agg.record_includes(checked);
            },
        );
        cancelled |= plans.cancelled;
    }
    let outside = agg.take_outside();
    let Aggregated {
        summary,
        files,
        streaming,
        coverage,
        database,
        messages,
        messages_omitted,
    } = agg.finish();
    for m in std::mem::take(&mut held.messages) {
        held.inner.message(&m);
    }
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
        cache_unchanged: unchanged,
        snapshot_ms,
        snapshot_fallback: use_snapshot.err(),
        database_bytes: database.peak_bytes,
        runs_spilled: database.runs_spilled,
        runs_merged: database.runs_merged,
        partials_merged,
        spill_bytes_written: database.bytes_written + plans.bytes_written,
        plans_spilled: plans.spilled,
        spill_error: database.error.or(plans.error),
    };
    let report = ScanReport {
        version: REPORT_VERSION,
        files,
        summary,
        stats,
        coverage,
        messages,
        messages_omitted,
        schema: None,
        projects: Vec::new(),
        files_outside_projects: None,
    };
    let parts = keep.then(|| ShardParts {
        outside,
        include_verdicts,
        include_warnings,
        file_list: file_list.value(),
    });
    (report, parts)
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

/// The cache namespace: the extraction options, and whether binary-looking files are
/// parsed (a result stored under `--binary` must not be served without it).
fn cache_namespace(cfg: &ScanConfig) -> Vec<u8> {
    let mut ns = crate::result_codec::namespace(&cfg.extract);
    if cfg.binary {
        ns.extend_from_slice(b"\nbinary true");
    }
    // A project read with options of its own: a result stored for its files under other
    // options must not be served (the whole list, hashed: a thousand projects would make
    // a long namespace).
    let own: Vec<&super::config::ProjectReading> = cfg
        .project_reading
        .iter()
        .filter(|p| p.extract != cfg.extract)
        .collect();
    if !own.is_empty() {
        let digest = xxhash_rust::xxh3::xxh3_128(format!("{own:?}").as_bytes());
        ns.extend_from_slice(format!("\nprojects {digest:032x}").as_bytes());
    }
    ns
}
