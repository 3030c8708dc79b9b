//! The stages and the channels between them.
//!
//! ```text
//! discovery thread --Vec<PathBuf> batches--> rayon pool (read + parse) --Event--> caller
//! ```
//!
//! Both channels are bounded, and every byte read is charged to the [`MemoryBudget`] until
//! the caller drops the [`FileOutcome`], so a fast stage can never run ahead of a slow one
//! by more than the budget. Liveness rests on one rule: the caller's thread always drains
//! the last channel, so charges are always released and every wait ends.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, RecvTimeoutError, Sender};
use parking_lot::Mutex;
use rayon::prelude::*;

use crate::budget::{BudgetStats, Charge, MemoryBudget};
use crate::cache::{
    build_entry, BlobCache, CacheStats, CacheUse, CacheWriter, Codec, FileStamp, Lookup, Pending,
    Stamp,
};
use crate::discover::{discover, DiscoveryConfig, Sink};

/// How often an idle aggregator looks at the cancel flag. The flag is set from a signal
/// handler, which cannot wake a condition variable, so somebody has to look.
const CANCEL_POLL: Duration = Duration::from_millis(50);

/// A worker's read buffer is kept for the next file unless it grew beyond this, so one huge
/// file does not pin its size in memory for the rest of the run.
const KEEP_BUFFER: usize = 4 << 20;

/// How many leading bytes binary detection looks at for a NUL byte (as ripgrep does).
pub const BINARY_PROBE: usize = 8 << 10;

/// How to run the stages. `Default` gives all cores, batches of 100, a 512 MiB budget.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Parse threads; 0 means one per available core.
    pub threads: usize,
    /// Paths per discovery batch; 0 is taken as 1.
    pub batch_size: usize,
    /// Shared so the CLI can read its stats; a budget cancelled by one run stays cancelled,
    /// so give each run a fresh one.
    pub budget: Arc<MemoryBudget>,
    /// Set it (e.g. from a Ctrl-C handler) to stop the run early.
    pub cancel: Arc<AtomicBool>,
    /// Live counters for a progress display; updated as the stages go.
    pub progress: Arc<Progress>,
    /// Parse files that look binary (a NUL byte in the first [`BINARY_PROBE`] bytes) too;
    /// by default they are skipped with an [`Event::Skipped`].
    pub binary: bool,
    /// Which discovered files this run reads (`None`: all). Every file is still counted as
    /// discovered; the others are never opened (sharding: each shard walks the whole tree
    /// and keeps its share).
    pub select: Option<Select>,
}

/// Which parse thread the caller is, from 0 to `PipelineConfig::threads` (exclusive), when
/// called from a `parse` callback; `None` elsewhere. For state a caller keeps per parse
/// thread (partial results folded where they are parsed).
pub fn worker_index() -> Option<usize> {
    rayon::current_thread_index()
}

/// A test on a discovered path, called on the discovery threads before the file is read.
#[derive(Clone)]
pub struct Select(pub Arc<dyn Fn(&Path) -> bool + Send + Sync>);

impl fmt::Debug for Select {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Select(..)")
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            threads: 0,
            batch_size: 100,
            budget: MemoryBudget::new(512 << 20),
            cancel: Arc::new(AtomicBool::new(false)),
            progress: Arc::new(Progress::default()),
            binary: false,
            select: None,
        }
    }
}

/// Live counters, readable from any thread while a run goes on (relaxed loads are fine).
#[derive(Debug, Default)]
pub struct Progress {
    /// Paths handed from discovery to the workers.
    pub discovered: AtomicU64,
    /// Files read and parsed.
    pub parsed: AtomicU64,
    /// Files that could not be read.
    pub failed: AtomicU64,
    /// Bytes read.
    pub bytes: AtomicU64,
    /// Set once discovery has walked every root (or was cancelled): `discovered` is final.
    pub discovery_done: AtomicBool,
}

/// What the caller's `aggregate` receives.
#[derive(Debug)]
pub enum Event<R> {
    /// A file was read (or served from the cache) and parsed, or could not be read.
    File(FileOutcome<R>),
    /// A non-fatal discovery problem: broken symlink (with follow), symlink loop, bad
    /// glob, unreadable ignore file...
    Warning {
        /// The path the problem is about, when there is one.
        path: Option<PathBuf>,
        /// What went wrong, in words for a user (the walker's error text).
        message: String,
    },
    /// A file that was read but deliberately not parsed (it looks binary), and why.
    Skipped {
        /// The file, as discovered.
        path: PathBuf,
        /// Why it was not parsed, in words for a user.
        reason: String,
    },
    /// Part of the input was not scanned: a directory that cannot be read (permissions, a
    /// path longer than the system allows, removed while being walked). An error, like a
    /// file that cannot be read; counted in [`PipelineStats::inputs_not_scanned`].
    Unscanned {
        /// The directory or input not scanned, when known.
        path: Option<PathBuf>,
        /// Why it was not scanned, in words for a user (the error text).
        message: String,
    },
}

/// One file's result. Its bytes stay charged to the budget until this is dropped (or
/// [`FileOutcome::into_result`] is called), so the caller must not keep outcomes around:
/// keep what it needs from `result` and let the outcome go.
#[derive(Debug)]
pub struct FileOutcome<R> {
    /// As discovered: the root joined with the relative path, as fd and ripgrep print it.
    pub path: PathBuf,
    /// Bytes read (0 if the file could not be read).
    pub bytes: u64,
    /// `Err`: the file could not be read (missing, unreadable, not a regular file), or the
    /// parser panicked on it (`ErrorKind::Other`).
    pub result: Result<R, io::Error>,
    /// How the cache served this file ([`CacheUse::Off`] without one).
    pub cache: CacheUse,
    /// The content is the one [`Known::folded`] names: `result` is only
    /// [`Known::placeholder`], nothing was decoded or parsed.
    pub unchanged: bool,
    /// The content hash of the file's bytes, when the cache knows it (always with a cache).
    pub content_hash: Option<u64>,
    /// A file [`Known::folded`] names in another version: that version's result, from the
    /// cache's old entry when it is of the content folded (`None` if it is not there).
    pub previous: Option<R>,
    /// The file's stamp, when it names the content `content_hash` is of and is old enough
    /// to be trusted later ([`BlobCache::settled`]): what a caller gives back in
    /// [`Folded::stamp`] next run.
    pub stamp: Option<FileStamp>,
    charge: Option<Charge>,
    /// What the cache must record for this file; taken by the run loop.
    pending: Option<Pending>,
}

impl<R> FileOutcome<R> {
    /// Takes the result and releases the budget charge at once.
    pub fn into_result(self) -> Result<R, io::Error> {
        drop(self.charge);
        self.result
    }
}

/// What happened, for `--stats`.
#[derive(Debug, Clone, Default)]
pub struct PipelineStats {
    /// Paths discovery handed to the workers.
    pub files_discovered: u64,
    /// Files whose result is `Ok`: parsed, or served from the cache without parsing.
    pub files_parsed: u64,
    /// Files whose result is `Err`: unreadable, not a regular file, or the parser panicked.
    pub files_failed: u64,
    /// Files read but not parsed because they look binary ([`Event::Skipped`]).
    pub files_skipped: u64,
    /// [`Event::Unscanned`] events: directories (or other inputs) that were not scanned.
    pub inputs_not_scanned: u64,
    /// Bytes read from disk (0 for a file served by a cache hit without reading).
    pub bytes_read: u64,
    /// Batches of paths discovery sent to the pool (each at most `PipelineConfig::batch_size`).
    pub batches: u64,
    /// The memory budget's limit, peak and waits at the end of the run.
    pub budget: BudgetStats,
    /// Wall time of the discovery stage, including time it waited for room.
    pub discovery_time: Duration,
    /// Busy time (read + parse) summed over workers, so it can exceed `elapsed`.
    pub parse_time: Duration,
    /// Time spent inside the `aggregate` callback.
    pub aggregate_time: Duration,
    /// Wall time of the whole run, from the call to its return.
    pub elapsed: Duration,
    /// Whether the run stopped early because `PipelineConfig::cancel` was set.
    pub cancelled: bool,
    /// All zero without a cache.
    pub cache: CacheStats,
}

/// Runs discovery on its own thread and parsing on a rayon pool of `config.threads`, and
/// calls `aggregate` on the calling thread for every event, in arrival order (which varies
/// from run to run: sort before printing).
///
/// `parse(path, bytes)` runs on the pool. Returns when everything discovered has been
/// aggregated, or, after `config.cancel` is set, once what was in flight has drained.
///
/// Two rules keep this deadlock-free. `aggregate` must let each [`FileOutcome`] go (or call
/// [`FileOutcome::into_result`]) rather than store it, since stored outcomes keep their
/// bytes charged. And `parse` should not use rayon itself: while waiting for its own
/// subtasks its thread may pick up another file and block on the budget while still
/// holding this file's charge.
pub fn run<R, P, A>(
    discovery: &DiscoveryConfig,
    config: &PipelineConfig,
    parse: P,
    aggregate: A,
) -> PipelineStats
where
    R: Send,
    P: Fn(&Path, &[u8]) -> R + Sync + Send,
    A: FnMut(Event<R>),
{
    run_cached(discovery, config, None, parse, aggregate)
}

/// A cache for [`run_cached`]: where results are kept and how they become bytes.
pub struct Cached<'a, R> {
    /// Where entries are read from and (unless `read_only`) written to.
    pub cache: &'a mut BlobCache,
    /// How a result becomes the bytes of an entry and back.
    pub codec: &'a dyn Codec<R>,
    /// Serve hits but write nothing (a second run over some files after the main one: its
    /// writer would replace the index with only its own files).
    pub read_only: bool,
    /// What the caller already holds folded from an earlier run (see [`Known`]): files
    /// whose content is what it folded are not decoded ([`FileOutcome::unchanged`]), and a
    /// changed file comes with its old result ([`FileOutcome::previous`]).
    pub known: Option<&'a dyn Known<R>>,
}

/// The files a caller already holds folded, by the content hash of what it folded (an
/// incremental rescan: it keeps an aggregate of the last run and applies differences).
pub trait Known<R>: Sync {
    /// The version of `path` the caller folded, if it folded one.
    fn folded(&self, path: &Path) -> Option<Folded>;
    /// What an unchanged file's [`FileOutcome::result`] holds (it is not decoded): a
    /// cheap placeholder the caller recognises by [`FileOutcome::unchanged`].
    fn placeholder(&self) -> R;
    /// [`Known::folded`], with where the caller holds it (for [`Known::met_quietly`]).
    fn folded_at(&self, path: &Path) -> Option<(Folded, usize)> {
        self.folded(path).map(|f| (f, usize::MAX))
    }
    /// A file found unchanged from its stamp alone (the version folded at `at`, see
    /// [`Known::folded_at`]): whether the caller took note of it itself, so that it needs
    /// no event (most files of a rescan; the run then counts it as a cache hit without
    /// handing anything over). `false` (the default) sends the usual
    /// [`FileOutcome::unchanged`] event; a caller also says `false` for a file met a
    /// second time in one run, so that the event tells it.
    fn met_quietly(&self, at: usize) -> bool {
        let _ = at;
        false
    }
}

/// The version of a file a caller folded (see [`Known`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Folded {
    /// The content hash of what it folded.
    pub content_hash: u64,
    /// That content's [`FileOutcome::stamp`], when there was one: a file whose metadata
    /// gives the same stamp is taken as unchanged from a `stat` alone (not looked up in
    /// the cache, not opened), as git's index and cargo's fingerprints do.
    pub stamp: Option<FileStamp>,
}

/// [`run`], with results kept in (and served from) `cache`: a file whose size and mtime
/// have not changed is neither read nor parsed, one whose content hash has not changed is
/// not parsed (see [`crate::cache`]). Problems with the cache are reported as
/// [`Event::Warning`]s naming the cache file; they never stop the run. The cache's index
/// is written when the run ends, unless it was cancelled.
pub fn run_cached<R, P, A>(
    discovery: &DiscoveryConfig,
    config: &PipelineConfig,
    cached: Option<Cached<'_, R>>,
    parse: P,
    mut aggregate: A,
) -> PipelineStats
where
    R: Send,
    P: Fn(&Path, &[u8]) -> R + Sync + Send,
    A: FnMut(Event<R>),
{
    let started = Instant::now();
    let cached = cached.map(|c| {
        for (path, message) in c.cache.take_warnings() {
            aggregate(Event::Warning {
                path: Some(path),
                message,
            });
        }
        (&*c.cache, c.codec, c.read_only, c.known)
    });
    let mut writer = cached
        .filter(|&(_, _, read_only, _)| !read_only)
        .map(|(cache, _, _, _)| CacheWriter::new(cache));
    let known = cached.and_then(|(_, _, _, known)| known);
    let cached = cached.map(|(cache, codec, _, _)| (cache, codec));
    let threads = match config.threads {
        0 => thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let budget = &config.budget;
    let cancel = &*config.cancel;
    let progress = &*config.progress;

    let (batch_tx, batch_rx) = bounded::<Vec<PathBuf>>(threads * 2);
    let (event_tx, event_rx) = bounded::<Event<R>>(threads * 8);

    let batches = AtomicU64::new(0);
    let discovered = AtomicU64::new(0);
    let discovery_nanos = AtomicU64::new(0);
    let parse_nanos = AtomicU64::new(0);
    let corrupt = AtomicU64::new(0);
    let quiet = Quiet {
        slots: match (known, cached) {
            (Some(_), Some((cache, _))) => (0..cache.len().div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            _ => Vec::new(),
        },
        files: AtomicU64::new(0),
    };
    let mut stats = PipelineStats::default();

    // A few explicit files (a single file given on the command line, the files a round of
    // include checks reads) are read on this thread: no walker, no pool, no channels.
    // Globs (which do not apply to explicit files) go through the walker, which reports
    // a bad one.
    let inline = !discovery.roots.is_empty()
        && discovery.roots.len() <= INLINE_FILES
        && discovery.include.is_empty()
        && discovery.exclude.is_empty()
        && discovery
            .roots
            .iter()
            .all(|r| std::fs::metadata(r).map_or(true, |m| !m.is_dir()));
    // One set of buffers per pool thread.
    let new_worker = |threads: usize| Worker {
        parse: &parse,
        budget,
        cancel,
        progress,
        parse_nanos: &parse_nanos,
        corrupt: &corrupt,
        binary: config.binary,
        keep_buffer: keep_buffer(budget, threads),
        buffers: (0..threads)
            .map(|_| Mutex::new(Buffers::default()))
            .collect(),
        cache: cached,
        known,
        quiet: &quiet,
    };
    if inline {
        let worker = new_worker(1);
        let t = Instant::now();
        for path in &discovery.roots {
            if cancel.load(Relaxed) {
                break;
            }
            discovered.fetch_add(1, Relaxed);
            progress.discovered.fetch_add(1, Relaxed);
            if config.select.as_ref().is_some_and(|s| !(s.0)(path)) {
                continue;
            }
            if let Some(event) = worker.process(path.clone()) {
                account(&mut stats, writer.as_mut(), &mut aggregate, event);
            }
        }
        batches.fetch_add(1, Relaxed);
        progress.discovery_done.store(true, Relaxed);
        discovery_nanos.store(nanos(t.elapsed()), Relaxed);
    } else {
        thread::scope(|s| {
            // If `aggregate` panics, nobody drains any more: release every waiter so the
            // scope can join the other stages and let the panic through.
            let _unwind_guard = CancelOnUnwind(budget);

            // For reporting a stage that could not even start; dropped once both have.
            let startup_tx = event_tx.clone();
            let sink = RunSink {
                batch_tx,
                event_tx: event_tx.clone(),
                budget,
                cancel,
                progress,
                batches: &batches,
                discovered: &discovered,
                select: config.select.as_ref(),
            };
            let batch_size = config.batch_size;
            let discovery_nanos = &discovery_nanos;
            let discovery_thread = thread::Builder::new()
                .name("pipeline-discovery".into())
                .spawn_scoped(s, move || {
                    let t = Instant::now();
                    discover(discovery, batch_size, &sink);
                    drop(sink); // closes the batch channel: the workers finish
                    progress.discovery_done.store(true, Relaxed);
                    discovery_nanos.store(nanos(t.elapsed()), Relaxed);
                });
            if let Err(err) = discovery_thread {
                // The closure and the senders it owned are gone, so the workers will stop.
                progress.discovery_done.store(true, Relaxed);
                let _ = startup_tx.send(Event::Warning {
                    path: None,
                    message: format!("could not start the discovery thread: {err}"),
                });
            }

            let worker = new_worker(threads);
            let worker_tx = event_tx;
            let workers_thread = thread::Builder::new()
                .name("pipeline-workers".into())
                .spawn_scoped(s, move || {
                    let send = |event: Option<Event<R>>| {
                        if let Some(event) = event {
                            // Fails only if the aggregator is gone (it panicked): drop it.
                            let _ = worker_tx.send(event);
                        }
                    };
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .thread_name(|i| format!("pipeline-parse-{i}"))
                        .build();
                    match pool {
                        Ok(pool) => pool.install(|| {
                            batch_rx.into_iter().par_bridge().for_each(|batch| {
                                batch
                                    .into_par_iter()
                                    .for_each(|path| send(worker.process(path)));
                            });
                        }),
                        Err(err) => {
                            let _ = worker_tx.send(Event::Warning {
                                path: None,
                                message: format!(
                                "could not start {threads} parse threads ({err}); parsing on one"
                            ),
                            });
                            for path in batch_rx.into_iter().flatten() {
                                send(worker.process(path));
                            }
                        }
                    }
                });
            if let Err(err) = workers_thread {
                // The batch receiver went with the closure: discovery stops at its next send.
                let _ = startup_tx.send(Event::Warning {
                    path: None,
                    message: format!("could not start the parse stage: {err}"),
                });
            }
            drop(startup_tx);

            let mut cancel_seen = false;
            loop {
                if !cancel_seen && cancel.load(Relaxed) {
                    cancel_seen = true;
                    budget.cancel();
                }
                let event = match event_rx.recv_timeout(CANCEL_POLL) {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                account(&mut stats, writer.as_mut(), &mut aggregate, event);
            }
        });
    }

    stats.cache.corrupt = corrupt.into_inner();
    let quiet_files = quiet.files.into_inner();
    stats.files_parsed += quiet_files;
    stats.cache.hits += quiet_files;
    if let Some(w) = writer.as_mut() {
        w.keep_slots(quiet.slots.iter().map(|w| w.load(Relaxed)));
    }
    if let Some(w) = writer {
        let t = Instant::now();
        let (cache_stats, warning) = w.finish(cancel.load(Relaxed));
        stats.cache.entries = cache_stats.entries;
        stats.cache.bytes_written = cache_stats.bytes_written;
        if stats.cache.corrupt > 0 {
            if let Some((cache, _)) = cached {
                aggregate(Event::Warning {
                    path: Some(cache.dir().to_path_buf()),
                    message: format!(
                        "{} cache entries failed verification and were ignored (those files were parsed again)",
                        stats.cache.corrupt
                    ),
                });
            }
        }
        if let Some((path, message)) = warning {
            aggregate(Event::Warning {
                path: Some(path),
                message,
            });
        }
        stats.aggregate_time += t.elapsed();
    }
    stats.files_discovered = discovered.into_inner();
    stats.batches = batches.into_inner();
    stats.budget = budget.stats();
    stats.discovery_time = Duration::from_nanos(discovery_nanos.into_inner());
    stats.parse_time = Duration::from_nanos(parse_nanos.into_inner());
    stats.elapsed = started.elapsed();
    stats.cancelled = cancel.load(Relaxed);
    stats
}

/// What a thread's three reusable buffers may keep between files: an eighth of the
/// budget's share per thread each, and never more than [`KEEP_BUFFER`].
fn keep_buffer(budget: &MemoryBudget, threads: usize) -> usize {
    let share = budget.limit() / 8 / threads.max(1) as u64;
    usize::try_from(share)
        .unwrap_or(usize::MAX)
        .min(KEEP_BUFFER)
}

/// At most this many explicit files are read on the caller's thread (see [`run_cached`]).
const INLINE_FILES: usize = 8;

/// Counts an event in the run's stats, records its cache entry, and hands it on.
fn account<R, A: FnMut(Event<R>)>(
    stats: &mut PipelineStats,
    writer: Option<&mut CacheWriter<'_>>,
    aggregate: &mut A,
    mut event: Event<R>,
) {
    match &event {
        Event::Skipped { .. } => stats.files_skipped += 1,
        Event::Unscanned { .. } => stats.inputs_not_scanned += 1,
        _ => {}
    }
    if let Event::File(outcome) = &mut event {
        match outcome.result {
            Ok(_) => stats.files_parsed += 1,
            Err(_) => stats.files_failed += 1,
        }
        stats.bytes_read += outcome.bytes;
        match outcome.cache {
            CacheUse::Off => {}
            CacheUse::Hit => stats.cache.hits += 1,
            CacheUse::HashHit => stats.cache.hash_hits += 1,
            CacheUse::Miss => stats.cache.misses += 1,
        }
        if let (Some(w), Some(p)) = (writer, outcome.pending.take()) {
            w.record(p);
        }
    }
    let t = Instant::now();
    aggregate(event);
    stats.aggregate_time += t.elapsed();
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

struct CancelOnUnwind<'a>(&'a MemoryBudget);

impl Drop for CancelOnUnwind<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.cancel();
        }
    }
}

/// Discovery's view of the pipeline: batches go to the workers once the budget has room.
struct RunSink<'a, R> {
    batch_tx: Sender<Vec<PathBuf>>,
    event_tx: Sender<Event<R>>,
    budget: &'a MemoryBudget,
    cancel: &'a AtomicBool,
    progress: &'a Progress,
    batches: &'a AtomicU64,
    discovered: &'a AtomicU64,
    select: Option<&'a Select>,
}

impl<R: Send> Sink for RunSink<'_, R> {
    fn batch(&self, mut paths: Vec<PathBuf>) -> bool {
        if !self.budget.wait_for_room() || self.stopped() {
            return false;
        }
        let n = paths.len() as u64;
        if let Some(select) = self.select {
            paths.retain(|p| (select.0)(p));
        }
        if !paths.is_empty() {
            if self.batch_tx.send(paths).is_err() {
                return false;
            }
            self.batches.fetch_add(1, Relaxed);
        }
        self.discovered.fetch_add(n, Relaxed);
        self.progress.discovered.fetch_add(n, Relaxed);
        true
    }

    fn warning(&self, path: Option<PathBuf>, message: String) -> bool {
        self.event_tx.send(Event::Warning { path, message }).is_ok()
    }

    fn unscanned(&self, path: Option<PathBuf>, message: String) -> bool {
        self.event_tx
            .send(Event::Unscanned { path, message })
            .is_ok()
    }

    fn stopped(&self) -> bool {
        self.cancel.load(Relaxed)
    }
}

struct Worker<'a, R, P> {
    parse: &'a P,
    budget: &'a Arc<MemoryBudget>,
    cancel: &'a AtomicBool,
    progress: &'a Progress,
    parse_nanos: &'a AtomicU64,
    corrupt: &'a AtomicU64,
    binary: bool,
    /// Buffers bigger than this are freed after a file: [`KEEP_BUFFER`], or less when the
    /// budget's share per thread is smaller (so `-j 64` cannot keep 64 big buffers).
    keep_buffer: usize,
    /// One set of buffers per pool thread, reused across files.
    buffers: Vec<Mutex<Buffers>>,
    cache: Option<(&'a BlobCache, &'a dyn Codec<R>)>,
    known: Option<&'a dyn Known<R>>,
    /// Files met quietly ([`Known::met_quietly`]): their cache slots (one bit each, still
    /// wanted) and their number.
    quiet: &'a Quiet,
}

/// What the workers record of the files [`Known::met_quietly`] took: no event carries them.
struct Quiet {
    /// One bit per slot of the cache's index: the entry stays.
    slots: Vec<AtomicU64>,
    files: AtomicU64,
}

/// A worker's reusable buffers: the file's bytes, a cache entry read, a payload encoded.
#[derive(Default)]
struct Buffers {
    file: Vec<u8>,
    entry: Vec<u8>,
    payload: Vec<u8>,
}

/// What became of a file's bytes.
enum Parsed<R> {
    Done(Done<R>),
    /// Read but not parsed, and why (it looks binary).
    Skipped(String),
}

/// A file read (or served from the cache) and parsed.
struct Done<R> {
    value: R,
    bytes: u64,
    cache: CacheUse,
    pending: Option<Pending>,
    unchanged: bool,
    content_hash: Option<u64>,
    previous: Option<R>,
    stamp: Option<FileStamp>,
}

impl<R, P> Worker<'_, R, P>
where
    P: Fn(&Path, &[u8]) -> R,
{
    /// Reads and parses one file. `None`: the run was cancelled, the file is skipped.
    fn process(&self, path: PathBuf) -> Option<Event<R>> {
        if self.cancel.load(Relaxed) {
            return None;
        }
        let failed = |path: PathBuf, err: io::Error| {
            self.progress.failed.fetch_add(1, Relaxed);
            Some(Event::File(FileOutcome {
                path,
                bytes: 0,
                result: Err(err),
                cache: CacheUse::Off,
                unchanged: false,
                content_hash: None,
                previous: None,
                stamp: None,
                charge: None,
                pending: None,
            }))
        };
        // The size comes from metadata so the budget is charged *before* the bytes exist.
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(err) => return failed(path, err),
        };
        if !meta.is_file() {
            // Never open a fifo or device: reading it could block forever.
            let what = if meta.is_dir() {
                "is a directory"
            } else {
                "not a regular file"
            };
            return failed(path, io::Error::new(io::ErrorKind::InvalidInput, what));
        }
        if meta.len() > self.budget.limit() {
            // One file must fit in the budget: that is what makes the budget a bound.
            let err = io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!(
                    "{} bytes: larger than the memory budget ({} bytes); not read",
                    meta.len(),
                    self.budget.limit()
                ),
            );
            return failed(path, err);
        }
        if self.met_quietly(&path, &meta) {
            self.progress.parsed.fetch_add(1, Relaxed);
            return None;
        }
        let charge = self.budget.acquire(meta.len())?;

        let t = Instant::now();
        let result = self.with_buffers(|bufs| self.read_and_parse(&path, &meta, bufs));
        self.parse_nanos.fetch_add(nanos(t.elapsed()), Relaxed);

        match result {
            Ok(Parsed::Done(done)) => {
                self.progress.parsed.fetch_add(1, Relaxed);
                self.progress.bytes.fetch_add(done.bytes, Relaxed);
                Some(Event::File(FileOutcome {
                    path,
                    bytes: done.bytes,
                    result: Ok(done.value),
                    cache: done.cache,
                    unchanged: done.unchanged,
                    content_hash: done.content_hash,
                    previous: done.previous,
                    stamp: done.stamp,
                    charge: Some(charge),
                    pending: done.pending,
                }))
            }
            Ok(Parsed::Skipped(reason)) => Some(Event::Skipped { path, reason }),
            Err(err) => failed(path, err),
        }
    }

    /// A file the caller folded in this very version, as its stamp says (the first check
    /// of [`Worker::read_and_parse`]), which the caller takes without an event
    /// ([`Known::met_quietly`]): its cache entry stays, nothing else is done.
    fn met_quietly(&self, path: &Path, meta: &std::fs::Metadata) -> bool {
        let (Some(known), Some((cache, _))) = (self.known, self.cache) else {
            return false;
        };
        let Some((folded, at)) = known.folded_at(path) else {
            return false;
        };
        let Some(now) = FileStamp::of(meta).filter(|s| cache.settled(s)) else {
            return false;
        };
        if folded.stamp != Some(now) {
            return false;
        }
        let Some(slot) = cache.slot(BlobCache::key(path)) else {
            return false;
        };
        let Some(word) = self.quiet.slots.get(slot / 64) else {
            return false;
        };
        if !known.met_quietly(at) {
            return false;
        }
        word.fetch_or(1 << (slot % 64), Relaxed);
        self.quiet.files.fetch_add(1, Relaxed);
        true
    }

    fn read_and_parse(
        &self,
        path: &Path,
        meta: &std::fs::Metadata,
        bufs: &mut Buffers,
    ) -> io::Result<Parsed<R>> {
        let Buffers {
            file: buf,
            entry,
            payload,
        } = bufs;
        let Some((cache, codec)) = self.cache else {
            let buf = load(path, meta.len(), buf)?;
            if let Some(reason) = self.binary_reason(buf) {
                return Ok(Parsed::Skipped(reason));
            }
            let value = guarded(|| (self.parse)(path, buf))?;
            return Ok(Parsed::Done(Done {
                value,
                bytes: buf.len() as u64,
                cache: CacheUse::Off,
                pending: None,
                unchanged: false,
                content_hash: None,
                previous: None,
                stamp: None,
            }));
        };
        let stamp = Stamp::of(meta);
        let key = BlobCache::key(path);
        let known = self.known.and_then(|k| k.folded(path));
        let folded = known.map(|f| f.content_hash);
        // The file's full stamp, when old enough to be trusted (now and by a later run).
        let settled = FileStamp::of(meta).filter(|s| cache.settled(s));
        if let (Some(known), Some(now)) = (known, settled) {
            // The caller folded this very version, as its stamp says: no lookup, no open
            // (a `chmod` changes the stamp's ctime, so a file made unreadable is looked at
            // below and fails as it would without the cache). Only while the cache still
            // has an entry for it, which a later change needs to take the old result out.
            if known.stamp == Some(now) {
                if let Some(slot) = cache.slot(key) {
                    return Ok(Parsed::Done(Done {
                        value: self.known.map(|k| k.placeholder()).expect("known"),
                        bytes: 0,
                        cache: CacheUse::Hit,
                        pending: Some(Pending::Keep(slot)),
                        unchanged: true,
                        content_hash: Some(known.content_hash),
                        previous: None,
                        stamp: Some(now),
                    }));
                }
            }
        }
        let (found, slot) = cache.lookup(key, path, entry);
        // An entry whose stamp no longer matches: its content hash and payload.
        let mut stale = None;
        match found {
            Lookup::Found(e) if e.stamp == stamp && !e.racy && folded == Some(e.content_hash) => {
                // The caller holds this very content folded: nothing to decode.
                open_nonblocking(path)?;
                return Ok(Parsed::Done(Done {
                    value: self.known.map(|k| k.placeholder()).expect("known"),
                    bytes: 0,
                    cache: CacheUse::Hit,
                    pending: slot.map(Pending::Keep),
                    unchanged: true,
                    content_hash: Some(e.content_hash),
                    previous: None,
                    stamp: settled,
                }));
            }
            Lookup::Found(e) if e.stamp == stamp && !e.racy => match decode(codec, e.payload) {
                Some(value) => {
                    // Served only while the file can still be read: a run without the
                    // cache would fail on it (permissions taken away), so this one must.
                    open_nonblocking(path)?;
                    // Folded in another version (the caller's aggregate is older than
                    // this entry): no old result to give.
                    return Ok(Parsed::Done(Done {
                        value,
                        bytes: 0,
                        cache: CacheUse::Hit,
                        pending: slot.map(Pending::Keep),
                        unchanged: false,
                        content_hash: Some(e.content_hash),
                        previous: None,
                        stamp: settled,
                    }));
                }
                // Verified bytes the codec cannot read (a codec change that kept its
                // version): parse the file, and store the entry afresh.
                None => {
                    self.corrupt.fetch_add(1, Relaxed);
                }
            },
            Lookup::Found(e) => stale = Some((e.stamp.size, e.content_hash, e.payload)),
            Lookup::Corrupt => {
                self.corrupt.fetch_add(1, Relaxed);
            }
            Lookup::Absent => {}
        }
        let buf = load(path, meta.len(), buf)?;
        if let Some(reason) = self.binary_reason(buf) {
            return Ok(Parsed::Skipped(reason));
        }
        let content_hash = xxhash_rust::xxh3::xxh3_64(buf);
        // What was read, not what metadata said a moment earlier.
        let stamp = Stamp {
            size: buf.len() as u64,
            ..stamp
        };
        let racy = cache.racy(stamp);
        let bytes = buf.len() as u64;
        let settled = settled.filter(|s| s.size == bytes);
        let mut new_entry = Vec::new();
        let same_content =
            |&(size, hash, _): &(u64, u64, &[u8])| size == stamp.size && hash == content_hash;
        // The result of the version the caller folded, when the old entry is of it.
        let previous = |stale: Option<(u64, u64, &[u8])>| {
            let folded = folded?;
            let (_, hash, payload) = stale.filter(|&(_, hash, _)| hash == folded)?;
            debug_assert_eq!(hash, folded);
            decode(codec, payload)
        };
        if folded == Some(content_hash) && stale.is_some_and(|s| same_content(&s)) {
            if let Some((_, _, old_payload)) = stale {
                build_entry(
                    &mut new_entry,
                    key,
                    path,
                    stamp,
                    content_hash,
                    racy,
                    old_payload,
                );
                return Ok(Parsed::Done(Done {
                    value: self.known.map(|k| k.placeholder()).expect("known"),
                    bytes,
                    cache: CacheUse::HashHit,
                    pending: Some(Pending::Write {
                        key,
                        entry: new_entry,
                    }),
                    unchanged: true,
                    content_hash: Some(content_hash),
                    previous: None,
                    stamp: settled,
                }));
            }
        }
        if let Some((_, _, old_payload)) = stale.filter(same_content) {
            // Same content under a new stamp: the stored result stands, unless the codec
            // cannot read it (then the file is parsed below and stored afresh).
            if let Some(value) = decode(codec, old_payload) {
                build_entry(
                    &mut new_entry,
                    key,
                    path,
                    stamp,
                    content_hash,
                    racy,
                    old_payload,
                );
                return Ok(Parsed::Done(Done {
                    value,
                    bytes,
                    cache: CacheUse::HashHit,
                    pending: Some(Pending::Write {
                        key,
                        entry: new_entry,
                    }),
                    unchanged: false,
                    content_hash: Some(content_hash),
                    previous: previous(stale),
                    stamp: settled,
                }));
            }
            self.corrupt.fetch_add(1, Relaxed);
        }
        let previous = previous(stale);
        let value = guarded(|| {
            let value = (self.parse)(path, buf);
            payload.clear();
            codec.encode(&value, payload);
            value
        })?;
        build_entry(
            &mut new_entry,
            key,
            path,
            stamp,
            content_hash,
            racy,
            payload,
        );
        if payload.capacity() > self.keep_buffer {
            *payload = Vec::new();
        }
        Ok(Parsed::Done(Done {
            value,
            bytes,
            cache: CacheUse::Miss,
            pending: Some(Pending::Write {
                key,
                entry: new_entry,
            }),
            // The same content as folded, though the cache had lost its entry.
            unchanged: folded == Some(content_hash),
            content_hash: Some(content_hash),
            previous,
            stamp: settled,
        }))
    }

    /// Why a file's bytes are not parsed: a NUL byte near the start (what ripgrep takes
    /// for a binary file). SQL has no use for NUL, and such files (dumps, images named
    /// `.sql`) would make the lexer emit a token per byte.
    fn binary_reason(&self, bytes: &[u8]) -> Option<String> {
        if self.binary {
            return None;
        }
        let probe = &bytes[..bytes.len().min(BINARY_PROBE)];
        memchr_nul(probe).map(|at| {
            format!("binary file (a NUL byte at offset {at}): skipped; --binary scans it anyway")
        })
    }

    /// Runs `f` with this pool thread's buffers, or fresh ones if they are busy (the parser
    /// used rayon itself and this thread stole another file meanwhile).
    fn with_buffers<T>(&self, f: impl FnOnce(&mut Buffers) -> T) -> T {
        let slot = rayon::current_thread_index().unwrap_or(0);
        match self.buffers.get(slot).and_then(|b| b.try_lock()) {
            Some(mut bufs) => {
                let out = f(&mut bufs);
                if bufs.file.capacity() > self.keep_buffer {
                    bufs.file = Vec::new();
                }
                if bufs.entry.capacity() > self.keep_buffer {
                    bufs.entry = Vec::new();
                }
                out
            }
            None => f(&mut Buffers::default()),
        }
    }
}

/// Runs the caller's code so that a panic becomes this file's error, not the run's end.
fn guarded<T>(f: impl FnOnce() -> T) -> io::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        io::Error::other(format!(
            "internal error: the parser panicked: {}",
            panic_message(&*panic)
        ))
    })
}

/// Decodes a cached result in the worker, so decoding runs in parallel (the aggregator
/// only folds). `None`: the codec cannot read the bytes, or panicked on them.
fn decode<R>(codec: &dyn Codec<R>, payload: &[u8]) -> Option<R> {
    guarded(|| codec.decode(payload)).ok().flatten()
}

/// Reads a file into `buf` (which is cleared first) and returns its bytes.
///
/// Files are read, never memory-mapped: a mapped file truncated by another process while
/// it is parsed kills the whole run with SIGBUS, while a read file is a consistent copy.
/// The file is opened without blocking (a FIFO put in its place after the metadata was
/// taken cannot hang the worker) and at most `size + 1` bytes are read, so a device or a
/// file that grows cannot fill memory; a size other than `size` is an error for this file.
fn load<'b>(path: &Path, size: u64, buf: &'b mut Vec<u8>) -> io::Result<&'b [u8]> {
    buf.clear();
    let file = open_nonblocking(path)?;
    let hint = usize::try_from(size).unwrap_or(usize::MAX);
    buf.try_reserve(hint.saturating_add(1))
        .map_err(|err| io::Error::new(io::ErrorKind::OutOfMemory, err))?;
    // Through `Read for Take<File>`, not `File::read_to_end`: the latter asks the file for
    // its size and position first (an fstat and an lseek per file), which the caller
    // already knows.
    Read::read_to_end(&mut file.take(size.saturating_add(1)), buf)?;
    let read = buf.len() as u64;
    if read != size {
        let how = if read > size {
            format!("grew while it was read (more than the {size} bytes expected)")
        } else {
            format!("shrank while it was read ({read} of the {size} bytes expected)")
        };
        return Err(io::Error::other(format!("{how}; not scanned")));
    }
    Ok(buf)
}

/// Opens a file for reading without blocking: a FIFO put where a file was (after its
/// metadata was taken) cannot hang the worker.
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// The offset of the first NUL byte.
fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

impl fmt::Display for PipelineStats {
    /// A compact one-screen summary; the CLI may well print its own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "files: {} discovered, {} parsed, {} failed, {} inputs not scanned; {} bytes in {} batches",
            self.files_discovered,
            self.files_parsed,
            self.files_failed,
            self.inputs_not_scanned,
            self.bytes_read,
            self.batches
        )?;
        writeln!(
            f,
            "budget: {} bytes, peak {} charged, {} waits ({:?})",
            self.budget.limit_bytes,
            self.budget.peak_charged_bytes,
            self.budget.throttle_waits,
            self.budget.throttle_time
        )?;
        write!(
            f,
            "time: discovery {:?}, parse {:?} (summed), aggregate {:?}, total {:?}{}",
            self.discovery_time,
            self.parse_time,
            self.aggregate_time,
            self.elapsed,
            if self.cancelled { " (cancelled)" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::load;

    #[test]
    fn load_reports_a_file_that_changed_size_instead_of_reading_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.sql");
        std::fs::write(&path, b"select 1;").expect("write");
        let mut buf = Vec::new();
        assert_eq!(load(&path, 9, &mut buf).expect("same size"), b"select 1;");
        let shrank = load(&path, 20, &mut buf).expect_err("shrank");
        assert!(
            shrank
                .to_string()
                .contains("shrank while it was read (9 of the 20"),
            "{shrank}"
        );
        let grew = load(&path, 4, &mut buf).expect_err("grew");
        assert!(
            grew.to_string().contains("grew while it was read"),
            "{grew}"
        );
        // Never more than one byte past the expected size is read (a device, a growing file).
        assert!(buf.len() <= 5, "{}", buf.len());
    }

    #[cfg(unix)]
    #[test]
    fn load_of_a_fifo_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pipe.sql");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(status.success());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = tx.send(
                load(&path, 10, &mut buf)
                    .map(|b| b.len())
                    .map_err(|e| e.to_string()),
            );
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("load returned");
        assert!(got.is_err(), "{got:?}");
    }
}
