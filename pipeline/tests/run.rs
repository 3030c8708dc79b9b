//! The whole pipeline on temp dirs, through the public API only.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, RecvTimeoutError};
use pipeline::{
    run, DiscoveryConfig, Event, FileOutcome, MemoryBudget, PipelineConfig, PipelineStats, Progress,
};

/// Generous: these runs take milliseconds; only a deadlock gets near this.
const HANG: Duration = Duration::from_secs(60);

/// Runs `f` on another thread and fails the test if it does not finish: a deadlocked
/// pipeline must fail the suite, not hang it.
fn within_deadline<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = bounded(1);
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(HANG) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => panic!("the pipeline did not finish: deadlock?"),
        Err(RecvTimeoutError::Disconnected) => panic!("the run panicked (see above)"),
    }
}

fn write(base: &Path, rel: &str, bytes: usize) -> PathBuf {
    let path = base.join(rel);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).expect("mkdir");
    }
    fs::write(&path, vec![b'x'; bytes]).expect("write");
    path
}

fn config(threads: usize, batch_size: usize, budget_bytes: u64) -> PipelineConfig {
    PipelineConfig {
        threads,
        batch_size,
        budget: MemoryBudget::new(budget_bytes),
        ..PipelineConfig::default()
    }
}

fn roots(roots: &[&Path]) -> DiscoveryConfig {
    DiscoveryConfig {
        roots: roots.iter().map(|r| r.to_path_buf()).collect(),
        ..DiscoveryConfig::default()
    }
}

#[derive(Default)]
struct Collected {
    ok: BTreeMap<PathBuf, usize>,
    err: BTreeMap<PathBuf, io::ErrorKind>,
    warnings: Vec<(Option<PathBuf>, String)>,
    duplicates: Vec<PathBuf>,
}

impl Collected {
    fn add(&mut self, event: Event<usize>) {
        match event {
            Event::File(FileOutcome {
                path,
                bytes,
                result,
                ..
            }) => {
                let seen = self.ok.contains_key(&path) || self.err.contains_key(&path);
                if seen {
                    self.duplicates.push(path.clone());
                }
                match result {
                    Ok(len) => {
                        assert_eq!(len as u64, bytes, "parse saw every byte read");
                        self.ok.insert(path, len);
                    }
                    Err(err) => {
                        self.err.insert(path, err.kind());
                    }
                }
            }
            Event::Warning { path, message } | Event::Unscanned { path, message } => {
                self.warnings.push((path, message))
            }
            Event::Skipped { path, reason } => self.warnings.push((Some(path), reason)),
        }
    }
}

/// Runs with `parse` = byte count and collects everything.
fn collect(discovery: DiscoveryConfig, config: PipelineConfig) -> (Collected, PipelineStats) {
    within_deadline(move || {
        let mut collected = Collected::default();
        let stats = run(
            &discovery,
            &config,
            |_, bytes| bytes.len(),
            |e| collected.add(e),
        );
        (collected, stats)
    })
}

#[test]
fn every_file_arrives_once_with_its_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    let mut expected = BTreeMap::new();
    for i in 0..230 {
        let size = (i * 37) % 1500;
        let path = write(base, &format!("d{}/e{}/f{i}.sql", i % 5, i % 3), size);
        expected.insert(path, size);
    }
    write(base, "skipped.txt", 10);

    let config = config(4, 7, 64 << 10);
    let progress = Arc::clone(&config.progress);
    let budget = Arc::clone(&config.budget);
    let (got, stats) = collect(roots(&[base]), config);

    assert!(got.duplicates.is_empty(), "{:?}", got.duplicates);
    assert!(got.err.is_empty() && got.warnings.is_empty());
    assert_eq!(got.ok, expected);
    let total: usize = expected.values().sum();
    assert_eq!(stats.files_discovered, 230);
    assert_eq!(stats.files_parsed, 230);
    assert_eq!(stats.files_failed, 0);
    assert_eq!(stats.bytes_read, total as u64);
    assert!(stats.batches >= 230 / 7, "{stats:?}");
    assert!(!stats.cancelled);
    assert!(stats.budget.peak_charged_bytes <= 64 << 10, "{stats:?}");
    assert_eq!(budget.charged(), 0, "every charge was released");

    assert_eq!(progress.discovered.load(Ordering::Relaxed), 230);
    assert_eq!(progress.parsed.load(Ordering::Relaxed), 230);
    assert_eq!(progress.failed.load(Ordering::Relaxed), 0);
    assert_eq!(progress.bytes.load(Ordering::Relaxed), total as u64);
    assert!(progress.discovery_done.load(Ordering::Relaxed));
}

#[test]
fn missing_or_unreadable_explicit_files_are_err_outcomes_and_the_run_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    let a = write(base, "tests/a.sql", 5);
    let b = write(base, "b.sql", 7);
    let missing = base.join("missing.sql");
    let mut discovery = roots(&[&missing, &base.join("tests"), &b]);
    // A socket stands in for fifos and devices: it must be refused, not read (reading a
    // fifo would block forever). The socket file outlives its listener.
    #[cfg(unix)]
    let not_regular = {
        let socket = base.join("sock.sql");
        drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
        discovery.roots.push(socket.clone());
        Some(socket)
    };
    #[cfg(not(unix))]
    let not_regular: Option<PathBuf> = None;
    let (got, stats) = collect(discovery, config(2, 100, 1 << 20));

    assert_eq!(got.ok.len(), 2, "{:?}", got.ok);
    assert_eq!(got.ok.get(&a), Some(&5));
    assert_eq!(got.ok.get(&b), Some(&7));
    assert_eq!(got.err.get(&missing), Some(&io::ErrorKind::NotFound));
    if let Some(socket) = not_regular {
        assert_eq!(got.err.get(&socket), Some(&io::ErrorKind::InvalidInput));
    }
    assert_eq!(stats.files_failed, got.err.len() as u64);
    assert_eq!(stats.files_parsed, 2);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[test]
fn one_thread_and_a_tiny_budget_finish_without_deadlock() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..50 {
        write(dir.path(), &format!("f{i:02}.sql"), 600);
    }
    for batch_size in [1, 100] {
        // Two 600-byte files never fit in 1 KiB together: every file waits for the last one
        // to be aggregated.
        let (got, stats) = collect(roots(&[dir.path()]), config(1, batch_size, 1024));
        assert_eq!(got.ok.len(), 50);
        assert_eq!(stats.bytes_read, 50 * 600);
        assert_eq!(stats.budget.peak_charged_bytes, 600, "one file at a time");
    }
}

#[test]
fn workers_wait_for_the_aggregator_to_release_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..10 {
        write(dir.path(), &format!("f{i}.sql"), 600);
    }
    let discovery = roots(&[dir.path()]);
    let config = config(1, 100, 1024);
    let budget = Arc::clone(&config.budget);
    let stats = within_deadline(move || {
        let mut first = true;
        run(
            &discovery,
            &config,
            |_, bytes| bytes.len(),
            |event| {
                if first {
                    first = false;
                    // Hold the first outcome until the worker is seen blocked on the budget
                    // for the second file; dropping it must let the worker go on.
                    let deadline = Instant::now() + HANG;
                    while budget.waiters() == 0 {
                        assert!(Instant::now() < deadline, "the worker never throttled");
                        thread::sleep(Duration::from_millis(1));
                    }
                }
                drop(event);
            },
        )
    });
    assert_eq!(stats.files_parsed, 10);
    assert!(stats.budget.throttle_waits >= 1, "{stats:?}");
}

#[test]
fn an_aggregator_keeping_results_via_into_result_does_not_block_the_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..20 {
        write(dir.path(), &format!("f{i}.sql"), 600);
    }
    let discovery = roots(&[dir.path()]);
    let config = config(1, 3, 1024);
    let kept = within_deadline(move || {
        let mut kept = Vec::new();
        run(
            &discovery,
            &config,
            |_, bytes| bytes.to_vec(),
            |event| {
                if let Event::File(outcome) = event {
                    kept.push(outcome.into_result().expect("readable"));
                }
            },
        );
        kept
    });
    assert_eq!(kept.len(), 20);
    assert!(kept.iter().all(|k| k.len() == 600));
}

/// A file larger than the whole budget is an error for that file (it would break the
/// bound), and the rest of the run goes on.
#[test]
fn a_file_larger_than_the_budget_is_refused_and_the_rest_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path();
    write(base, "huge.sql", 64 << 10);
    for i in 0..40 {
        write(base, &format!("s/f{i}.sql"), 100 + i * 10);
    }
    let (got, stats) = collect(roots(&[base]), config(2, 4, 1000));
    assert_eq!(got.ok.len(), 40);
    assert_eq!(
        got.err.get(&base.join("huge.sql")),
        Some(&io::ErrorKind::FileTooLarge)
    );
    assert!(stats.budget.peak_charged_bytes <= 1000, "{stats:?}");
}

#[test]
fn cancel_stops_early_and_drains() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..500 {
        write(dir.path(), &format!("d{}/f{i}.sql", i % 10), 10);
    }
    let discovery = roots(&[dir.path()]);
    let config = config(1, 10, 1 << 20);
    let cancel = Arc::clone(&config.cancel);
    let budget = Arc::clone(&config.budget);
    let (events, stats) = within_deadline(move || {
        let mut events = 0u64;
        let stats = run(
            &discovery,
            &config,
            |_, bytes| bytes.len(),
            |_| {
                events += 1;
                // What a Ctrl-C handler does.
                cancel.store(true, Ordering::Relaxed);
            },
        );
        (events, stats)
    });
    assert!(stats.cancelled);
    assert!(budget.is_cancelled(), "nobody may block after a cancel");
    assert_eq!(
        events, stats.files_parsed,
        "what was in flight was still aggregated"
    );
    // One worker can be ahead of the aggregator by at most the bounded channel (8 per
    // thread) plus the file in hand: far from all 500.
    assert!(stats.files_parsed <= 20, "{stats:?}");
}

#[test]
fn cancel_before_start_returns_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..50 {
        write(dir.path(), &format!("f{i}.sql"), 10);
    }
    let config = config(2, 10, 1 << 20);
    config.cancel.store(true, Ordering::Relaxed);
    let (got, stats) = collect(roots(&[dir.path()]), config);
    assert!(stats.cancelled);
    assert!(got.ok.is_empty() && got.err.is_empty());
    assert_eq!(stats.files_parsed, 0);
}

#[test]
fn a_panicking_parser_fails_that_file_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(dir.path(), "bad.sql", 3);
    for i in 0..10 {
        write(dir.path(), &format!("f{i}.sql"), 10);
    }
    let discovery = roots(&[dir.path()]);
    let config = config(2, 4, 1 << 20);
    let (got, stats) = within_deadline(move || {
        let mut got = Collected::default();
        let stats = run(
            &discovery,
            &config,
            |path, bytes| {
                if path.ends_with("bad.sql") {
                    panic!("boom");
                }
                bytes.len()
            },
            |e| got.add(e),
        );
        (got, stats)
    });
    assert_eq!(got.ok.len(), 10);
    assert_eq!(got.err.get(&bad), Some(&io::ErrorKind::Other));
    assert_eq!(stats.files_failed, 1);
}

#[test]
fn discovery_warnings_arrive_as_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.sql", 1);
    let discovery = DiscoveryConfig {
        exclude: vec!["[".to_owned()],
        ..roots(&[dir.path()])
    };
    let (got, _) = collect(discovery, config(1, 10, 1 << 20));
    assert_eq!(got.ok.len(), 1);
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    assert_eq!(got.warnings[0].0, None);
}

#[test]
fn many_threads_small_budget_stress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut total = 0;
    for i in 0..300 {
        let size = (i * 7919) % 3000;
        total += size;
        write(dir.path(), &format!("d{}/f{i}.pg", i % 13), size);
    }
    let config = config(8, 3, 4096);
    let progress: Arc<Progress> = Arc::clone(&config.progress);
    let (got, stats) = collect(roots(&[dir.path()]), config);
    assert_eq!(got.ok.len(), 300);
    assert_eq!(stats.bytes_read, total as u64);
    assert!(stats.budget.peak_charged_bytes <= 4096, "{stats:?}");
    assert_eq!(progress.parsed.load(Ordering::Relaxed), 300);
}

/// Big files are read whole (the parser sees exactly their bytes), and a file bigger than
/// the whole budget is an error for that file, never read: one file must fit in the budget
/// for the budget to bound memory.
#[test]
fn big_files_are_read_whole_and_one_bigger_than_the_budget_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let size = (6 << 20) + 12_345;
    // No NUL byte: that would make it a binary file, skipped.
    let mut bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8 + 1).collect();
    bytes[size - 1] = b'!';
    fs::write(dir.path().join("big.sql"), &bytes).expect("write");
    write(dir.path(), "small.sql", 10);
    let discovery = DiscoveryConfig {
        roots: vec![dir.path().to_path_buf()],
        extensions: vec!["sql".into()],
        ..DiscoveryConfig::default()
    };
    let want: u64 = bytes.iter().map(|&b| u64::from(b)).sum();
    let scan = |limit: u64| {
        let discovery = discovery.clone();
        within_deadline(move || {
            let mut sums = BTreeMap::new();
            let stats = run(
                &discovery,
                &config(2, 1, limit),
                |_, b: &[u8]| (b.len(), b.iter().map(|&x| u64::from(x)).sum::<u64>()),
                |event| {
                    if let Event::File(o) = event {
                        let name = o.path.file_name().map(|n| n.to_string_lossy().into_owned());
                        sums.insert(name, o.into_result().map_err(|e| e.to_string()));
                    }
                },
            );
            (stats, sums)
        })
    };
    let (stats, sums) = scan(8 << 20);
    assert_eq!(stats.files_parsed, 2);
    assert_eq!(sums[&Some("big.sql".to_string())], Ok((size, want)));
    assert_eq!(
        sums[&Some("small.sql".to_string())].as_ref().map(|s| s.0),
        Ok(10)
    );

    let (stats, sums) = scan(1 << 20);
    assert_eq!((stats.files_parsed, stats.files_failed), (1, 1));
    let err = sums[&Some("big.sql".to_string())]
        .clone()
        .expect_err("refused");
    assert!(err.contains("larger than the memory budget"), "{err}");
}

/// A cache whose entries verify but that the codec cannot read (a codec changed without a
/// new namespace) costs a parse, never a wrong or missing result.
#[test]
fn cached_results_the_codec_rejects_are_parsed_again() {
    use pipeline::{run_cached, BlobCache, CacheUse, Cached, Codec};
    struct Len(bool);
    impl Codec<usize> for Len {
        fn encode(&self, v: &usize, out: &mut Vec<u8>) {
            out.extend_from_slice(&(*v as u64).to_le_bytes());
        }
        fn decode(&self, b: &[u8]) -> Option<usize> {
            let ok = self.0;
            ok.then(|| b.try_into().ok().map(|a| u64::from_le_bytes(a) as usize))
                .flatten()
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("t");
    for i in 0..5 {
        write(&tree, &format!("f{i}.sql"), 100 + i);
        let f = fs::File::options()
            .write(true)
            .open(tree.join(format!("f{i}.sql")))
            .expect("open");
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
            .expect("mtime");
    }
    let discovery = DiscoveryConfig {
        roots: vec![tree.clone()],
        extensions: vec!["sql".into()],
        ..DiscoveryConfig::default()
    };
    let scan = |codec: &Len| {
        let mut cache = BlobCache::open(&dir.path().join("cache"), b"ns");
        let mut got = BTreeMap::new();
        let mut uses = Vec::new();
        let mut warnings = Vec::new();
        let stats = run_cached(
            &discovery,
            &config(2, 2, 1 << 20),
            Some(Cached {
                cache: &mut cache,
                codec,
                read_only: false,
                known: None,
            }),
            |_, b: &[u8]| b.len(),
            |event| match event {
                Event::File(o) => {
                    uses.push(o.cache);
                    let p = o.path.clone();
                    got.insert(p, o.into_result().expect("a result"));
                }
                Event::Warning { message, .. }
                | Event::Unscanned { message, .. }
                | Event::Skipped {
                    reason: message, ..
                } => warnings.push(message),
            },
        );
        (stats, got, uses, warnings)
    };
    let (_, first, uses, _) = scan(&Len(true));
    assert!(uses.iter().all(|u| *u == CacheUse::Miss));
    let (stats, again, uses, _) = scan(&Len(true));
    assert!(uses.iter().all(|u| *u == CacheUse::Hit), "{uses:?}");
    assert_eq!(stats.bytes_read, 0);
    assert_eq!(again, first);
    let (stats, broken, uses, warnings) = scan(&Len(false));
    assert_eq!(broken, first);
    assert!(uses.iter().all(|u| *u == CacheUse::Miss), "{uses:?}");
    assert_eq!(stats.cache.corrupt, 5);
    assert!(
        warnings.iter().any(|w| w.contains("failed verification")),
        "{warnings:?}"
    );
}

/// A file whose stamp (size, times, inode) is the one a caller folded is taken as unchanged
/// from its `stat` alone: its cache entry is not read (here it no longer verifies, and is
/// not found corrupt), while a file rewritten since is looked at and parsed.
#[test]
fn a_file_with_the_stamp_folded_is_unchanged_without_reading_its_cache_entry() {
    use pipeline::{run_cached, BlobCache, CacheUse, Cached, Codec, FileStamp, Folded, Known};
    struct Len;
    impl Codec<usize> for Len {
        fn encode(&self, v: &usize, out: &mut Vec<u8>) {
            out.extend_from_slice(&(*v as u64).to_le_bytes());
        }
        fn decode(&self, b: &[u8]) -> Option<usize> {
            b.try_into().ok().map(|a| u64::from_le_bytes(a) as usize)
        }
    }
    struct Held(BTreeMap<PathBuf, Folded>);
    impl Known<usize> for Held {
        fn folded(&self, path: &Path) -> Option<Folded> {
            self.0.get(path).copied()
        }
        fn placeholder(&self) -> usize {
            usize::MAX
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("t");
    for i in 0..4 {
        write(&tree, &format!("f{i}.sql"), 100 + i);
    }
    // Stamps are given out only once their times are older than the racy window (a file
    // written in the same tick as it is read could change unseen).
    thread::sleep(pipeline::cache::RACY_WINDOW + Duration::from_millis(200));
    let discovery = DiscoveryConfig {
        roots: vec![tree.clone()],
        extensions: vec!["sql".into()],
        ..DiscoveryConfig::default()
    };
    type Seen = BTreeMap<PathBuf, (CacheUse, bool, Option<u64>, Option<FileStamp>, usize)>;
    let scan = |known: Option<&Held>| {
        let mut cache = BlobCache::open(&dir.path().join("cache"), b"ns");
        let mut seen: Seen = BTreeMap::new();
        let stats = run_cached(
            &discovery,
            &config(2, 2, 1 << 20),
            Some(Cached {
                cache: &mut cache,
                codec: &Len,
                read_only: false,
                known: known.map(|k| k as &dyn Known<usize>),
            }),
            |_, b: &[u8]| b.len(),
            |event| {
                if let Event::File(o) = event {
                    let (path, cache, unchanged) = (o.path.clone(), o.cache, o.unchanged);
                    let (hash, stamp) = (o.content_hash, o.stamp);
                    let n = o.into_result().expect("a result");
                    seen.insert(path, (cache, unchanged, hash, stamp, n));
                }
            },
        );
        (stats, seen)
    };
    let (_, first) = scan(None);
    for (path, (_, _, _, stamp, _)) in &first {
        let meta = fs::metadata(path).expect("metadata");
        assert_eq!(*stamp, FileStamp::of(&meta), "{}", path.display());
        assert!(stamp.is_some(), "{}", path.display());
    }
    let held = Held(
        first
            .iter()
            .map(|(p, &(_, _, hash, stamp, _))| {
                let content_hash = hash.expect("a content hash");
                (
                    p.clone(),
                    Folded {
                        content_hash,
                        stamp,
                    },
                )
            })
            .collect(),
    );
    // Every entry's bytes altered: a lookup would find them corrupt.
    let data = fs::read_dir(dir.path().join("cache"))
        .expect("cache dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("data-"))
        })
        .expect("a data file");
    let mut bytes = fs::read(&data).expect("data");
    let at = bytes.len() - 3;
    bytes[at] ^= 0xff;
    fs::write(&data, bytes).expect("write data");
    // One file rewritten (a new inode, as an editor's save or `mv` gives).
    let changed = tree.join("f2.sql");
    fs::write(tree.join("f2.tmp"), b"select 2;").expect("write");
    fs::rename(tree.join("f2.tmp"), &changed).expect("rename");
    let (stats, again) = scan(Some(&held));
    assert_eq!(stats.cache.corrupt, 0, "{again:?}");
    for (path, &(cache, unchanged, hash, _, n)) in &again {
        if *path == changed {
            assert!(!unchanged, "{}", path.display());
            assert_eq!(n, 9);
        } else {
            assert_eq!(
                (cache, unchanged),
                (CacheUse::Hit, true),
                "{}",
                path.display()
            );
            assert_eq!(hash, Some(held.0[path].content_hash));
            assert_eq!(n, usize::MAX, "the placeholder, nothing decoded");
        }
    }
    assert_eq!(again.len(), 4);
}

/// A caller that takes the files unchanged from their stamp itself ([`Known::met_quietly`])
/// gets no event for them: they are counted as parsed cache hits, their cache entries stay
/// (a later run without the caller's state still hits them), and a file the caller says it
/// met already comes as the usual event.
#[test]
fn files_met_quietly_send_no_event_and_keep_their_cache_entries() {
    use parking_lot::Mutex;
    use pipeline::{run_cached, BlobCache, CacheUse, Cached, Codec, Folded, Known};
    struct Len;
    impl Codec<usize> for Len {
        fn encode(&self, v: &usize, out: &mut Vec<u8>) {
            out.extend_from_slice(&(*v as u64).to_le_bytes());
        }
        fn decode(&self, b: &[u8]) -> Option<usize> {
            b.try_into().ok().map(|a| u64::from_le_bytes(a) as usize)
        }
    }
    struct Held {
        folded: Vec<(PathBuf, Folded)>,
        /// Positions met quietly; `refuse`: the position said to be met already.
        met: Mutex<Vec<usize>>,
        refuse: usize,
    }
    impl Known<usize> for Held {
        fn folded(&self, path: &Path) -> Option<Folded> {
            self.folded_at(path).map(|(f, _)| f)
        }
        fn placeholder(&self) -> usize {
            usize::MAX
        }
        fn folded_at(&self, path: &Path) -> Option<(Folded, usize)> {
            let at = self.folded.iter().position(|(p, _)| p == path)?;
            Some((self.folded[at].1, at))
        }
        fn met_quietly(&self, at: usize) -> bool {
            if at == self.refuse {
                return false;
            }
            self.met.lock().push(at);
            true
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("t");
    for i in 0..5 {
        write(&tree, &format!("f{i}.sql"), 100 + i);
    }
    thread::sleep(pipeline::cache::RACY_WINDOW + Duration::from_millis(200));
    let discovery = DiscoveryConfig {
        roots: vec![tree.clone()],
        extensions: vec!["sql".into()],
        ..DiscoveryConfig::default()
    };
    type Seen = BTreeMap<PathBuf, (CacheUse, bool, Option<u64>, Option<pipeline::FileStamp>)>;
    let scan = |known: Option<&Held>| {
        let mut cache = BlobCache::open(&dir.path().join("cache"), b"ns");
        let mut seen: Seen = BTreeMap::new();
        let stats = run_cached(
            &discovery,
            &config(2, 2, 1 << 20),
            Some(Cached {
                cache: &mut cache,
                codec: &Len,
                read_only: false,
                known: known.map(|k| k as &dyn Known<usize>),
            }),
            |_, b: &[u8]| b.len(),
            |event| {
                if let Event::File(o) = event {
                    seen.insert(
                        o.path.clone(),
                        (o.cache, o.unchanged, o.content_hash, o.stamp),
                    );
                }
            },
        );
        (stats, seen)
    };
    let (_, first) = scan(None);
    assert_eq!(first.len(), 5);
    let folded: Vec<(PathBuf, Folded)> = first
        .iter()
        .map(|(p, &(_, _, hash, stamp))| {
            let content_hash = hash.expect("a content hash");
            (
                p.clone(),
                Folded {
                    content_hash,
                    stamp,
                },
            )
        })
        .collect();
    let refused = folded[3].0.clone();
    let held = Held {
        folded,
        met: Mutex::new(Vec::new()),
        refuse: 3,
    };
    let (stats, again) = scan(Some(&held));
    let mut met = held.met.lock().clone();
    met.sort_unstable();
    assert_eq!(met, [0, 1, 2, 4]);
    // Only the refused one came as an event, as an unchanged hit.
    assert_eq!(again.keys().collect::<Vec<_>>(), [&refused]);
    assert_eq!(again[&refused].0, CacheUse::Hit);
    assert!(again[&refused].1);
    assert_eq!(
        (stats.files_parsed, stats.cache.hits, stats.cache.misses),
        (5, 5, 0)
    );
    // Every entry stayed in the cache.
    let (stats, third) = scan(None);
    assert_eq!(third.len(), 5);
    assert_eq!((stats.cache.hits, stats.cache.misses), (5, 0), "{third:?}");
}
