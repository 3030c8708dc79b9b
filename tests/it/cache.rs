//! `--cache DIR` end to end: the real binary on temp trees, run twice or more. The cache
//! must only ever save work: every report here is compared with a run without a cache.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::util::{self, Dir};

const FILES: [(&str, &str); 4] = [
    (
        "tests/01_accounts.sql",
        "SELECT plan(3);\nSELECT has_table('public', 'accounts', 'accounts table');\n\
         SELECT col_is_pk('public', 'accounts', 'id', 'keyed by id');\nSELECT has_column('accounts', 'email');\n",
    ),
    (
        "tests/02_xunit.pg",
        "CREATE FUNCTION test_billing() RETURNS SETOF TEXT LANGUAGE plpgsql AS $$\nBEGIN\n  \
         RETURN NEXT has_function('billing', 'charge', ARRAY['integer']);\nEND;\n$$;\nSELECT * FROM runtests();\n",
    ),
    (
        "tests/03_runner.sql",
        "SELECT plan(2);\nSELECT has_schema('billing');\n\\ir helpers/one.sql\n",
    ),
    (
        "tests/helpers/one.sql",
        "SELECT has_table('billing', 'invoices');\nSELECT is(1, 'unterminated);\n",
    ),
];

/// An hour ago, give or take `secs`: old enough that the cache trusts size + mtime.
fn past(secs: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(3600) + Duration::from_secs(secs)
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(t)
        .expect("set mtime");
}

fn suite(dir: &Dir) {
    for (rel, text) in FILES {
        dir.create(rel, text);
        set_mtime(&dir.join(rel), past(0));
    }
}

/// The report without `stats` (timings, cache counters) and the warning count (a cache
/// warning is one more) for comparing runs.
fn results(mut report: Value) -> Value {
    let obj = report.as_object_mut().expect("report object");
    obj.remove("stats");
    if let Some(summary) = obj.get_mut("summary").and_then(Value::as_object_mut) {
        summary.remove("warnings");
    }
    // The cache's own warnings are not results.
    if let Some(messages) = obj.get_mut("messages").and_then(Value::as_array_mut) {
        messages.retain(|m| !m["path"].as_str().is_some_and(|p| p.starts_with("cache")));
    }
    report
}

fn cached(dir: &Dir) -> (Value, util::Run) {
    let run = dir
        .command()
        .args(["tests", "--cache", "cache", "--format", "json"])
        .expect_code(0);
    (run.json(), run)
}

fn uncached(dir: &Dir) -> Value {
    results(dir.command().args(["tests"]).json())
}

fn counters(report: &Value) -> (u64, u64, u64) {
    let s = &report["stats"];
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("stats.{k} missing"));
    (n("cache_hits"), n("cache_hash_hits"), n("cache_misses"))
}

pgtest!(second_run_hits_every_file, |dir, _cmd| {
    suite(dir);
    let (first, _) = cached(dir);
    assert_eq!(counters(&first), (0, 0, 4));
    assert!(dir.join("cache/index.bin").is_file());
    let (second, run) = cached(dir);
    assert_eq!(counters(&second), (4, 0, 0));
    // Not read at all.
    assert_eq!(second["stats"]["bytes_read"], 0);
    assert_eq!(results(second), uncached(dir));
    assert!(!run.stderr.contains("cache"), "{run}");
});

pgtest!(edited_file_is_one_miss_with_the_new_result, |dir, _cmd| {
    suite(dir);
    cached(dir);
    let edited = dir.join("tests/01_accounts.sql");
    std::fs::write(
        &edited,
        "SELECT plan(2);\nSELECT has_table('users');\nSELECT hasnt_view('v');\n",
    )
    .expect("edit");
    set_mtime(&edited, past(10));
    let (report, _) = cached(dir);
    assert_eq!(counters(&report), (3, 0, 1));
    let want = uncached(dir);
    assert_eq!(results(report), want);
    assert!(want.to_string().contains("table:public.users"));
    // And the new result is what the cache now holds.
    let (again, _) = cached(dir);
    assert_eq!(counters(&again), (4, 0, 0));
    assert_eq!(results(again), want);
});

pgtest!(touched_file_is_a_hash_hit, |dir, _cmd| {
    suite(dir);
    cached(dir);
    set_mtime(&dir.join("tests/02_xunit.pg"), past(20));
    let (report, _) = cached(dir);
    assert_eq!(counters(&report), (3, 1, 0));
    assert_eq!(results(report), uncached(dir));
    // The new mtime was recorded: a plain hit next time.
    let (again, _) = cached(dir);
    assert_eq!(counters(&again), (4, 0, 0));
});

pgtest!(fresh_files_are_checked_by_content, |dir, _cmd| {
    // Files written just now: size + mtime alone are not trusted (the file could change
    // again within the mtime's granularity), so the next run hashes them.
    for (rel, text) in FILES {
        dir.create(rel, text);
    }
    cached(dir);
    let path = dir.join("tests/03_runner.sql");
    let mtime = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    // Same size, same mtime, other content: what a coarse clock lets happen.
    std::fs::write(&path, FILES[2].1.replace("billing", "billinh")).expect("edit");
    set_mtime(&path, mtime);
    let (report, _) = cached(dir);
    let (hits, hash_hits, misses) = counters(&report);
    assert_eq!((hits + hash_hits, misses), (3, 1));
    assert_eq!(results(report), uncached(dir));
});

pgtest!(corrupt_index_is_ignored_with_a_warning, |dir, _cmd| {
    suite(dir);
    cached(dir);
    let index = dir.join("cache/index.bin");
    let mut bytes = std::fs::read(&index).expect("read index");
    let n = bytes.len();
    bytes[n - 30] ^= 0xff;
    std::fs::write(&index, &bytes).expect("write");
    let (report, run) = cached(dir);
    run.assert_stderr_contains("pgtap-scan: warning: cache/index.bin: corrupt");
    assert_eq!(counters(&report), (0, 0, 4));
    assert_eq!(results(report), uncached(dir));
    // Rewritten: trusted again.
    let (again, run) = cached(dir);
    assert_eq!(counters(&again), (4, 0, 0));
    run.assert_stderr_lacks("cache");

    std::fs::write(&index, b"garbage").expect("write");
    let (report, run) = cached(dir);
    run.assert_stderr_contains("cache/index.bin: truncated or not a pgtap-scan cache index");
    assert_eq!(counters(&report), (0, 0, 4));
});

pgtest!(corrupt_or_truncated_data_is_never_trusted, |dir, _cmd| {
    suite(dir);
    cached(dir);
    let data = std::fs::read_dir(dir.join("cache"))
        .expect("ls cache")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("data-"))
        .expect("a data file");
    let good = std::fs::read(&data).expect("read data");
    // Flip a byte inside every entry's payload region: each fails its checksum.
    let mut bad = good.clone();
    for b in bad.iter_mut().skip(60).step_by(40) {
        *b ^= 0x5a;
    }
    std::fs::write(&data, &bad).expect("write");
    let (report, run) = cached(dir);
    run.assert_stderr_contains("failed verification and were ignored");
    assert_eq!(counters(&report).0, 0);
    assert_eq!(results(report), uncached(dir));

    // Cut short: the index needs bytes the file no longer has.
    cached(dir);
    let whole = std::fs::read(&data).expect("read data");
    std::fs::write(&data, &whole[..whole.len() / 2]).expect("truncate");
    let (report, run) = cached(dir);
    run.assert_stderr_contains("truncated");
    assert_eq!(counters(&report), (0, 0, 4));
    assert_eq!(results(report), uncached(dir));
});

pgtest!(cache_of_another_version_is_ignored, |dir, _cmd| {
    suite(dir);
    cached(dir);
    let index = dir.join("cache/index.bin");
    let bytes = std::fs::read(&index).expect("read index");
    let version = format!("pgtap-scan {} ", env!("CARGO_PKG_VERSION"));
    let at = bytes
        .windows(version.len())
        .position(|w| w == version.as_bytes())
        .expect("the version is in the index header");
    let mut other = bytes.clone();
    other[at + version.len() - 2] ^= 1; // 0.1.0 -> 0.1.1
    std::fs::write(&index, &other).expect("write");
    let (report, run) = cached(dir);
    run.assert_stderr_contains("written by another version of the tool or with other options");
    assert_eq!(counters(&report), (0, 0, 4));
    assert_eq!(results(report), uncached(dir));
});

pgtest!(
    other_extraction_options_do_not_reuse_results,
    |dir, _cmd| {
        suite(dir);
        cached(dir);
        let run = dir
            .command()
            .args(["tests", "--cache", "cache", "--format", "json"])
            .args(["--search-path", "app"])
            .expect_code(0);
        run.assert_stderr_contains("other options");
        let report = run.json();
        assert_eq!(counters(&report), (0, 0, 4));
        assert_eq!(
            results(report),
            results(dir.command().args(["tests", "--search-path", "app"]).json())
        );
    }
);

pgtest!(deleted_and_new_files_follow_the_tree, |dir, _cmd| {
    suite(dir);
    cached(dir);
    std::fs::remove_file(dir.join("tests/02_xunit.pg")).expect("rm");
    dir.create("tests/04_new.sql", "SELECT has_role('anon');\n");
    let (report, _) = cached(dir);
    assert_eq!(counters(&report), (3, 0, 1));
    assert_eq!(results(report), uncached(dir));
});

pgtest!(
    unwritable_cache_dir_is_a_warning_not_an_error,
    |dir, _cmd| {
        suite(dir);
        dir.create("cache", "a file where the directory should be");
        let (report, run) = cached(dir);
        run.assert_stderr_contains("pgtap-scan: warning: cache");
        run.assert_stderr_contains("cache not updated");
        assert_eq!(results(report), uncached(dir));
    }
);

/// A suite big enough that its cache data (about 24 KB) outgrows a small file-size limit.
fn sample_suite(dir: &Dir) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/tests");
    for e in std::fs::read_dir(from).expect("fixtures").flatten() {
        if e.path().is_file() {
            let rel = format!("tests/{}", e.file_name().to_string_lossy());
            dir.create(&rel, std::fs::read(e.path()).expect("read fixture"));
            set_mtime(&dir.join(&rel), past(0));
        }
    }
}

/// `pgtap-scan tests --cache cache` with writes limited to `kib` KiB per file
/// (RLIMIT_FSIZE, SIGXFSZ ignored: a write past it fails with EFBIG, as on a full disk).
fn cached_with_file_limit(dir: &Dir, kib: u64) -> util::Run {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {kib}; exec \"$0\" tests --cache cache --format json"
        ))
        .arg(env!("CARGO_BIN_EXE_pgtap-scan"))
        .current_dir(dir.path())
        .output()
        .expect("run bash");
    util::Run {
        command: format!("pgtap-scan tests --cache cache (ulimit -f {kib})"),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The cache directory's file names, sorted.
fn cache_files(dir: &Dir) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("cache"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pgtest!(
    a_failed_cache_write_leaves_no_data_file_behind,
    |dir, _cmd| {
        sample_suite(dir);
        let run = cached_with_file_limit(dir, 4);
        assert_eq!(
            run.code,
            Some(0),
            "a cache problem is only a warning\n{run}"
        );
        assert!(run.stderr.contains("cache not updated"), "{run}");
        assert_eq!(results(run.json()), uncached(dir));
        assert_eq!(cache_files(dir), Vec::<String>::new(), "{run}");
        // And the next run writes the cache as if nothing had happened.
        let (first, _) = cached(dir);
        assert_eq!(counters(&first), (0, 0, 11));
        let (second, run) = cached(dir);
        assert_eq!(counters(&second), (11, 0, 0));
        assert!(!run.stderr.contains("cache"), "{run}");
    }
);

pgtest!(
    orphan_data_files_of_a_crashed_run_are_removed_first,
    |dir, _cmd| {
        sample_suite(dir);
        // What a run killed mid-write (or an older version) leaves: data no index names.
        dir.create("cache/data-1.bin", vec![0u8; 64 * 1024]);
        dir.create("cache/data-2.tmp", vec![0u8; 64 * 1024]);
        let run = cached_with_file_limit(dir, 4);
        assert!(run.stderr.contains("cache not updated"), "{run}");
        assert_eq!(cache_files(dir), Vec::<String>::new(), "{run}");
        let (first, run) = cached(dir);
        assert_eq!(counters(&first), (0, 0, 11));
        assert_eq!(cache_files(dir), ["data-1.bin", "index.bin"], "{run}");
    }
);

pgtest!(a_failed_append_cuts_the_data_file_back, |dir, _cmd| {
    sample_suite(dir);
    cached(dir);
    let files = cache_files(dir);
    let data = dir.join("cache").join(&files[0]);
    let before = std::fs::metadata(&data).expect("data file").len();
    // Every file changes: every entry is appended again.
    for e in std::fs::read_dir(dir.join("tests"))
        .expect("tests")
        .flatten()
    {
        let mut text = std::fs::read(e.path()).expect("read");
        text.extend_from_slice(b"\n-- edited\n");
        std::fs::write(e.path(), text).expect("write");
        set_mtime(&e.path(), past(10));
    }
    let run = cached_with_file_limit(dir, before.div_ceil(1024) + 1);
    assert!(run.stderr.contains("cache not updated"), "{run}");
    assert_eq!(cache_files(dir), files);
    assert_eq!(std::fs::metadata(&data).expect("data file").len(), before);
    let (third, _) = cached(dir);
    assert_eq!(counters(&third), (0, 0, 11));
    assert_eq!(results(third), uncached(dir));
});

pgtest!(
    a_file_that_can_no_longer_be_read_is_not_served_from_the_cache,
    |dir, _cmd| {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        suite(dir);
        // Root reads a mode-000 file anyway: run as nobody then (the tree opened up for it).
        let as_root = std::fs::metadata("/proc/self").is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        });
        let mut stack = vec![dir.path().to_path_buf()];
        while let Some(p) = stack.pop() {
            let dir_like = p.is_dir();
            let mode = if dir_like { 0o777 } else { 0o666 };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
            if dir_like {
                stack.extend(
                    std::fs::read_dir(&p)
                        .expect("read_dir")
                        .flatten()
                        .map(|e| e.path()),
                );
            }
        }
        if let Some(parent) = dir.path().parent() {
            // The temp dir's parent must let nobody through too (tempfile makes it 0700).
            let mode = std::fs::metadata(parent)
                .expect("parent")
                .permissions()
                .mode();
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(mode | 0o711))
                .expect("chmod parent");
        }
        let scan = |with_cache: bool| {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pgtap-scan"));
            c.current_dir(dir.path())
                .args(["tests", "--format", "json"]);
            if with_cache {
                c.args(["--cache", "cache"]);
            }
            if as_root {
                c.uid(65534).gid(65534);
            }
            let out = c.output().expect("run pgtap-scan");
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let (code, stderr) = scan(true);
        assert_eq!(code, Some(0), "{stderr}");
        let locked = dir.join("tests/01_accounts.sql");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        let (code, stderr) = scan(false);
        assert_eq!(code, Some(2), "without the cache: {stderr}");
        let (code, stderr) = scan(true);
        assert_eq!(code, Some(2), "with the cache: {stderr}");
        assert!(stderr.contains("01_accounts.sql"), "{stderr}");
    }
);

// The run snapshot (issue 15, incremental by files): in streaming mode a rescan starts from
// the last run's aggregate, folds only what changed and takes out what went; whatever it
// cannot take out exactly makes it fold every file afresh. Every report must be the one a
// scan without the cache gives.

/// A suite whose capped lists are full: objects named in more files than streaming mode
/// lists locations for, more files without assertions than it lists, messages, plans that
/// agree and plans that do not, ambiguous calls.
fn streaming_suite(dir: &Dir, files: usize) {
    for i in 0..files {
        let text = if i % 4 == 0 {
            "SELECT 1;\n".to_string()
        } else {
            format!(
                "SELECT plan({});\nSELECT has_table('shared');\nSELECT has_column('shared', 'c{}');\n\
                 SELECT has_table('own_{i}');\nSELECT has_index('app', 'users', 'users_email_key', 'x');\n{}",
                if i % 5 == 0 { 9 } else { 4 },
                i % 3,
                if i % 7 == 0 { "SELECT is(1, 'unterminated);\n" } else { "" }
            )
        };
        let rel = format!("tests/d{}/f{i:03}.sql", i % 3);
        dir.create(&rel, text);
        set_mtime(&dir.join(&rel), past(0));
    }
}

const STREAMING: [&str; 2] = ["--streaming", "always"];

fn snapshot_rescan(dir: &Dir) -> (Value, util::Run) {
    let run = dir
        .command()
        .args(["tests", "--cache", "cache", "--stats", "--format", "json"])
        .args(STREAMING)
        .expect_code(0);
    (run.json(), run)
}

fn cold_streaming(dir: &Dir) -> Value {
    results(dir.command().args(["tests"]).args(STREAMING).json())
}

fn unchanged(report: &Value) -> u64 {
    report["stats"]["cache_unchanged"]
        .as_u64()
        .expect("stats.cache_unchanged")
}

fn append(dir: &Dir, rel: &str, text: &str, secs: u64) {
    let path = dir.join(rel);
    let mut old = std::fs::read_to_string(&path).expect("read");
    old.push_str(text);
    std::fs::write(&path, old).expect("write");
    set_mtime(&path, past(secs));
}

pgtest!(snapshot_rescan_folds_only_the_changed_files, |dir, _cmd| {
    streaming_suite(dir, 60);
    let (first, _) = snapshot_rescan(dir);
    assert_eq!(unchanged(&first), 0);
    assert!(dir.join("cache/snapshot.bin").is_file());
    let (second, run) = snapshot_rescan(dir);
    assert_eq!(unchanged(&second), 60, "{run}");
    assert_eq!(results(second), cold_streaming(dir));
    // Edits that add (an assertion, a plan that no longer agrees, an empty file that gets
    // an assertion), round after round.
    for round in 1..=3u64 {
        for i in [round as usize, 4 * round as usize, 10 + 7 * round as usize] {
            let rel = format!("tests/d{}/f{i:03}.sql", i % 3);
            append(
                dir,
                &rel,
                &format!("SELECT has_table('round_{round}');\n"),
                round * 10,
            );
        }
        let (report, run) = snapshot_rescan(dir);
        assert_eq!(unchanged(&report), 57, "round {round}: {run}");
        run.assert_stderr_lacks("afresh");
        assert_eq!(results(report), cold_streaming(dir), "round {round}");
    }
});

// Files older than the cache's racy window get their stamps kept in the snapshot: a rescan
// then takes them as unchanged from a `stat` alone. Every change still shows (a write moves
// the ctime whatever mtime is set after it), and a rescan that changed nothing leaves the
// snapshot as it was.
pgtest!(
    snapshot_rescan_from_stamps_sees_every_change_and_rewrites_only_changes,
    |dir, _cmd| {
        use std::os::unix::fs::MetadataExt;
        streaming_suite(dir, 40);
        std::thread::sleep(pipeline::cache::RACY_WINDOW + Duration::from_millis(200));
        snapshot_rescan(dir);
        let snapshot = dir.join("cache/snapshot.bin");
        let written = |p: &Path| std::fs::metadata(p).expect("snapshot").ino();
        let before = written(&snapshot);
        let (report, run) = snapshot_rescan(dir);
        assert_eq!(unchanged(&report), 40, "{run}");
        assert_eq!(results(report), cold_streaming(dir));
        assert_eq!(
            written(&snapshot),
            before,
            "nothing changed: not written again"
        );
        // Each round's snapshot against the one before it: a new one is made beside the
        // old before it replaces it, so the two never share an inode (an inode freed a
        // round earlier may be given out again).
        let mut last = before;
        for round in 1..=2u64 {
            for i in [round as usize, 8 + round as usize] {
                let rel = format!("tests/d{}/f{i:03}.sql", i % 3);
                // The mtime set back to the one the file had: only the ctime moved.
                let path = dir.join(&rel);
                let mtime = std::fs::metadata(&path).and_then(|m| m.modified());
                append(
                    dir,
                    &rel,
                    &format!("SELECT has_view('round_{round}');\n"),
                    0,
                );
                set_mtime(&path, mtime.expect("mtime"));
            }
            let gone = 21 + 3 * round as usize;
            std::fs::remove_file(dir.join(format!("tests/d{}/f{gone:03}.sql", gone % 3)))
                .expect("rm");
            dir.create(
                format!("tests/new/n{round}.sql"),
                "SELECT has_table('shared');\n",
            );
            let (report, run) = snapshot_rescan(dir);
            assert_eq!(unchanged(&report), 40 - 3, "round {round}: {run}");
            run.assert_stderr_lacks("afresh");
            assert_eq!(results(report), cold_streaming(dir), "round {round}");
            let now = written(&snapshot);
            assert_ne!(now, last, "round {round}: written");
            last = now;
        }
    }
);

// Most files of a rescan are taken as unchanged by the parse workers from their stamp,
// with no event for the aggregator. A file met twice in one run (a root inside another)
// must still be seen as such: the run folds every file afresh and reports what a scan
// without the cache does.
pgtest!(a_file_met_twice_by_its_stamp_folds_afresh, |dir, _cmd| {
    streaming_suite(dir, 20);
    std::thread::sleep(pipeline::cache::RACY_WINDOW + Duration::from_millis(200));
    snapshot_rescan(dir);
    let (report, run) = snapshot_rescan(dir);
    assert_eq!(unchanged(&report), 20, "{run}");
    let twice = |cache: bool| {
        let mut cmd = dir.command();
        cmd.args(["tests", "tests/d1/f001.sql", "--format", "json", "--stats"])
            .args(STREAMING);
        if cache {
            cmd.args(["--cache", "cache"]);
        }
        cmd.expect_code(0)
    };
    let run = twice(true);
    run.assert_stderr_contains("afresh: tests/d1/f001.sql was met twice");
    let cold = twice(false);
    assert_eq!(results(run.json()), results(cold.json()));
    assert_eq!(run.json()["summary"]["files"], 21);
});

pgtest!(
    snapshot_rescan_after_deletions_additions_and_renames,
    |dir, _cmd| {
        streaming_suite(dir, 60);
        snapshot_rescan(dir);
        let rounds: [&dyn Fn(&Dir); 6] = [
            // A file whose locations are listed goes, others' take their place.
            &|d: &Dir| std::fs::remove_file(d.join("tests/d1/f001.sql")).expect("rm"),
            &|d: &Dir| {
                d.create(
                    "tests/new/a.sql",
                    "SELECT has_table('shared');\nSELECT plan(1);\n",
                );
            },
            &|d: &Dir| {
                std::fs::rename(d.join("tests/d2/f002.sql"), d.join("tests/d2/g002.sql"))
                    .expect("mv");
            },
            // Every line moves down.
            &|d: &Dir| {
                let p = d.join("tests/d0/f003.sql");
                let old = std::fs::read_to_string(&p).expect("read");
                std::fs::write(&p, format!("SELECT has_view('v');\n{old}")).expect("write");
                set_mtime(&p, past(100));
            },
            &|d: &Dir| {
                let p = d.join("tests/d1/f004.sql");
                std::fs::write(&p, "").expect("write");
                set_mtime(&p, past(200));
            },
            &|d: &Dir| {
                for i in [5, 6, 7, 9, 11] {
                    let _ = std::fs::remove_file(d.join(format!("tests/d{}/f{i:03}.sql", i % 3)));
                }
            },
        ];
        for (n, change) in rounds.iter().enumerate() {
            change(dir);
            let (report, run) = snapshot_rescan(dir);
            assert_eq!(results(report), cold_streaming(dir), "round {n}: {run}");
            // And the snapshot it left serves the next run whole.
            let (again, run) = snapshot_rescan(dir);
            assert!(unchanged(&again) > 0, "round {n}: {run}");
            assert_eq!(results(again), cold_streaming(dir), "round {n}");
        }
    }
);

pgtest!(snapshot_of_other_settings_is_not_used, |dir, _cmd| {
    streaming_suite(dir, 30);
    dir.create(
        "tests/d0/commented.sql",
        "-- SELECT has_table('in_a_comment');\nSELECT has_table('x');\n",
    );
    snapshot_rescan(dir);
    let run = dir
        .command()
        .args([
            "tests",
            "--cache",
            "cache",
            "--include-commented",
            "--format",
            "json",
        ])
        .args(STREAMING)
        .expect_code(0);
    let report = run.json();
    assert_eq!(unchanged(&report), 0);
    let want = results(
        dir.command()
            .args(["tests", "--include-commented"])
            .args(STREAMING)
            .json(),
    );
    assert_ne!(want, cold_streaming(dir), "the setting changes the results");
    assert_eq!(results(report), want);
    // Back to the defaults: the snapshot the other run left is not theirs either.
    let (report, _) = snapshot_rescan(dir);
    assert_eq!(unchanged(&report), 0);
    assert_eq!(results(report), cold_streaming(dir));
});

pgtest!(corrupt_snapshot_is_ignored, |dir, _cmd| {
    streaming_suite(dir, 30);
    snapshot_rescan(dir);
    let path = dir.join("cache/snapshot.bin");
    let mut bytes = std::fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&path, &bytes).expect("write");
    let (report, _) = snapshot_rescan(dir);
    assert_eq!(unchanged(&report), 0);
    assert_eq!(results(report), cold_streaming(dir));
    std::fs::write(&path, &bytes[..middle]).expect("truncate");
    let (report, _) = snapshot_rescan(dir);
    assert_eq!(unchanged(&report), 0);
    assert_eq!(results(report), cold_streaming(dir));
    let (report, _) = snapshot_rescan(dir);
    assert_eq!(unchanged(&report), 30);
});

// Taking out a file whose locations are listed while more are not kept leaves a hole only
// a file not read again could fill: the rescan says so and folds every file afresh.
pgtest!(
    snapshot_that_cannot_be_undone_exactly_folds_afresh,
    |dir, _cmd| {
        for i in 0..12 {
            let rel = format!("tests/f{i:02}.sql");
            dir.create(
                &rel,
                format!("SELECT has_table('shared');\nSELECT has_table('t{i}');\n"),
            );
            set_mtime(&dir.join(&rel), past(0));
        }
        snapshot_rescan(dir);
        // One goes: the locations kept beyond those listed fill its place.
        std::fs::remove_file(dir.join("tests/f00.sql")).expect("rm");
        let (report, run) = snapshot_rescan(dir);
        run.assert_stderr_lacks("afresh");
        assert_eq!(unchanged(&report), 11);
        assert_eq!(results(report), cold_streaming(dir));
        // Five more: fewer are known than are listed.
        for i in 1..=5 {
            std::fs::remove_file(dir.join(format!("tests/f{i:02}.sql"))).expect("rm");
        }
        let (report, run) = snapshot_rescan(dir);
        run.assert_stderr_contains(
            "folded every file afresh: the locations kept of table:public.shared lost one",
        );
        assert_eq!(unchanged(&report), 0);
        let want = cold_streaming(dir);
        assert_eq!(results(report), want);
        let shared = want["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| o["key"] == "table:public.shared")
            .expect("shared");
        assert_eq!(shared["locations"][0]["file"], "tests/f06.sql");
        assert_eq!(shared["locations_omitted"], 2);
    }
);

/// The JSON report's text without its `stats` member (timings, cache counters).
fn without_stats(json: &str) -> String {
    let start = json.find("\n  \"stats\": {").expect("a stats member");
    let end = start + json[start..].find("\n  },").expect("the end of stats") + "\n  },".len();
    format!("{}{}", &json[..start], &json[end..])
}

fn cold_streaming_text(dir: &Dir) -> String {
    let run = dir
        .command()
        .args(["tests", "--stats", "--format", "json"])
        .args(STREAMING)
        .expect_code(0);
    without_stats(&run.stdout)
}

// A `--cache` JSON run keeps the report's objects rendered in the cache folder: a rescan
// renders only those a changed, added or deleted file touched and copies the others'
// text. The report must be the very bytes a cold scan writes (the copied texts are spliced
// into the report's own text).
pgtest!(
    kept_objects_give_the_cold_report_byte_for_byte,
    |dir, _cmd| {
        streaming_suite(dir, 60);
        let (_, first) = snapshot_rescan(dir);
        assert!(dir.join("cache/objects.bin").is_file(), "{first}");
        assert_eq!(without_stats(&first.stdout), cold_streaming_text(dir));
        let (_, same) = snapshot_rescan(dir);
        assert_eq!(without_stats(&same.stdout), cold_streaming_text(dir));
        for round in 1..=3u64 {
            for i in [round as usize, 4 * round as usize, 10 + 7 * round as usize] {
                let rel = format!("tests/d{}/f{i:03}.sql", i % 3);
                append(
                    dir,
                    &rel,
                    &format!(
                        "SELECT has_table('round_{round}');\nSELECT has_column('shared', 'c9');\n"
                    ),
                    round * 10,
                );
            }
            std::fs::remove_file(dir.join(format!(
                "tests/d{}/f{:03}.sql",
                (40 + round) % 3,
                40 + round
            )))
            .expect("rm");
            dir.create(
                format!("tests/new/n{round}.sql"),
                format!("SELECT has_table('new_{round}');\nSELECT has_table('shared');\n"),
            );
            let (report, run) = snapshot_rescan(dir);
            assert!(unchanged(&report) > 50, "round {round}: {run}");
            run.assert_stderr_lacks("afresh");
            assert_eq!(
                without_stats(&run.stdout),
                cold_streaming_text(dir),
                "round {round}"
            );
        }
        // A text report from the same cache, then JSON again: the texts still kept serve it.
        append(dir, "tests/d0/f003.sql", "SELECT has_view('v');\n", 50);
        dir.command()
            .args(["tests", "--cache", "cache"])
            .args(STREAMING)
            .expect_code(0);
        let (_, run) = snapshot_rescan(dir);
        assert_eq!(without_stats(&run.stdout), cold_streaming_text(dir));
    }
);

// The kept texts are checked against their hashes as the report is written: a damaged,
// cut or replaced file gives the same report (those objects rendered afresh), and the
// run after keeps sound texts again.
pgtest!(damaged_kept_objects_are_rendered_afresh, |dir, _cmd| {
    streaming_suite(dir, 40);
    snapshot_rescan(dir);
    let path = dir.join("cache/objects.bin");
    type Damage<'a> = &'a dyn Fn(&mut Vec<u8>);
    let damages: [Damage; 3] = [
        &|b: &mut Vec<u8>| {
            let middle = b.len() / 2;
            b[middle] ^= 0x01;
        },
        &|b: &mut Vec<u8>| b.truncate(b.len() / 3),
        &|b: &mut Vec<u8>| b.iter_mut().skip(8).for_each(|x| *x = b' '),
    ];
    for (n, damage) in damages.iter().enumerate() {
        let cold = cold_streaming_text(dir);
        let mut bytes = std::fs::read(&path).expect("read");
        damage(&mut bytes);
        std::fs::write(&path, &bytes).expect("write");
        let (_, run) = snapshot_rescan(dir);
        assert_eq!(without_stats(&run.stdout), cold, "damage {n}: {run}");
        // A file changed: the texts are kept again, and serve the next run.
        append(
            dir,
            "tests/d1/f001.sql",
            &format!("SELECT has_table('d{n}');\n"),
            n as u64,
        );
        let (_, run) = snapshot_rescan(dir);
        let cold = cold_streaming_text(dir);
        assert_eq!(without_stats(&run.stdout), cold, "damage {n}, after: {run}");
        let (_, run) = snapshot_rescan(dir);
        assert_eq!(without_stats(&run.stdout), cold, "damage {n}, again: {run}");
    }
});
