//! Replays every seed and every saved input of `fuzz/corpus/<target>/` through its target:
//! each input the fuzzer ever found stays a regression test. A hang (over 10 s, which is
//! generous for a debug build) or a panic fails.

use std::time::Duration;

use pgtap_scan_fuzz::{corpus_files, repo_root, seeds, Outcome, Target, Worker};

fn replay(t: Target) {
    let root = repo_root();
    let inputs = seeds(&root, t);
    assert!(
        !corpus_files(&root, t).is_empty(),
        "fuzz/corpus/{} is empty",
        t.name()
    );
    let mut failures = Vec::new();
    let mut worker = Worker::new(Duration::from_secs(10));
    for (n, input) in inputs.iter().enumerate() {
        match worker.run(t, input) {
            Outcome::Ok(_) => {}
            Outcome::Panic(msg) => {
                failures.push(format!("input {n}: panic: {msg}"));
                worker = Worker::new(Duration::from_secs(10));
            }
            Outcome::Hang => {
                failures.push(format!(
                    "input {n}: hang: {:?}",
                    String::from_utf8_lossy(&input[..input.len().min(200)])
                ));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}: {failures:#?}", t.name());
}

#[test]
fn lexer_corpus_replays() {
    replay(Target::Lexer);
}

#[test]
fn extract_corpus_replays() {
    replay(Target::Extract);
}

#[test]
fn schema_corpus_replays() {
    replay(Target::Schema);
}

#[test]
fn cache_corpus_replays() {
    replay(Target::Cache);
}

/// The fuzzer itself: a few hundred mutants per target, deterministic.
#[test]
fn a_short_fuzz_run_finds_nothing() {
    let root = repo_root();
    let dir = tempfile_dir();
    for t in Target::ALL {
        let r = pgtap_scan_fuzz::fuzz(
            &root,
            t,
            &pgtap_scan_fuzz::Options {
                duration: Duration::from_secs(30),
                seed: 11,
                timeout: Duration::from_secs(10),
                artifacts: dir.clone(),
                save_new: None,
                max_execs: Some(2000),
            },
        );
        assert!(r.findings.is_empty(), "{}: {:?}", t.name(), r.findings);
        assert!(
            r.execs >= 2000.min(r.seeds as u64),
            "{}: {} execs",
            t.name(),
            r.execs
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pgtap-scan-fuzz-test-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}
