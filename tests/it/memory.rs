//! The memory budget and streaming mode: a scan completes within any budget, waits when two
//! files do not fit, keeps the same summary whatever the budget or mode; streaming drops
//! per-file detail (always, or above 1000 files) but nothing of the summary; `--stats`
//! says what was charged.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::{self, paths, small_suite, Dir};

pgtest!(tiny_budget_and_batches_of_one_still_complete, |dir, cmd| {
    for i in 0..300 {
        dir.create(
            format!("t/{:02}/{i:03}.sql", i % 7),
            format!("SELECT plan(1);\nSELECT has_table('t{i}');\n"),
        );
    }
    let r = cmd
        .args(["t", "--max-memory", "1", "--batch-size", "1", "-j", "2"])
        .json();
    let st = &r["stats"];
    assert_eq!(st["files_parsed"], 300);
    assert_eq!(st["batches"], 300);
    assert_eq!(st["budget_bytes"], 1024 * 1024);
    assert!(
        st["peak_charged_bytes"].as_u64() <= st["budget_bytes"].as_u64(),
        "{st}"
    );
    assert_eq!(r["summary"]["assertions"], 300);
    assert_eq!(r["summary"]["plans"]["agree"], 300);
});

pgtest!(budget_throttles_when_two_files_do_not_fit, |dir, cmd| {
    // Eight files of ~630 KB against a 1 MB budget: two never fit together, so a reader
    // that picks up a file while another is in flight must wait. (With two parse threads
    // and batches of one, the second reader starts long before the first file is parsed
    // and folded; zero waits would mean the readers were serialised.)
    let line = |i: usize| format!("SELECT has_table('public', 'tbl_{i}', 'description {i}');\n");
    let body: String = (0..12_000).map(line).collect();
    assert!(body.len() > 600_000 && body.len() < 800_000);
    for i in 0..8 {
        dir.create(format!("big/{i}.sql"), &body);
    }
    let r = cmd
        .args(["big", "--max-memory", "1", "--batch-size", "1", "-j", "2"])
        .json();
    let st = &r["stats"];
    assert_eq!(st["files_parsed"], 8);
    let peak = st["peak_charged_bytes"].as_u64().expect("peak");
    assert_eq!(
        peak,
        body.len() as u64,
        "one file in flight at a time: {st}"
    );
    assert!(peak <= st["budget_bytes"].as_u64().expect("budget"));
    assert!(st["throttle_waits"].as_u64().expect("waits") > 0, "{st}");
    assert_eq!(r["summary"]["assertions"], 8 * 12_000);
});

pgtest!(stats_flag_prints_to_stderr, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);");
    let run = cmd.args(["--stats", "--max-memory", "16"]).expect_code(0);
    run.assert_stderr_contains("pgtap-scan stats (standard mode")
        .assert_stderr_contains("files: 1 discovered, 1 parsed, 0 failed")
        .assert_stderr_contains("budget: 16.0 MB");
    assert!(!run.stdout.contains("pgtap-scan stats"), "{run}");
    let run = dir.command().expect_code(0);
    run.assert_stderr_lacks("pgtap-scan stats");
});

pgtest!(stats_tell_the_database_memory_and_its_spills, |dir, cmd| {
    // Enough distinct objects that the database passes a quarter of a 64 KiB budget
    // and spills. The text report leaves the objects on disk; what is not charged is the
    // plan checks through includes. A format that lists the objects builds them at the
    // end, and they are not charged.
    let body: String = (0..400)
        .map(|i| format!("SELECT has_column('t{i}', 'c{i}');\n"))
        .collect();
    dir.create("t.sql", &body);
    dir.create("u.sql", body.replace("'c", "'d"));
    let run = cmd.args(["--stats", "--max-memory", "64K"]).expect_code(0);
    run.assert_stderr_contains("peak charged")
        .assert_stderr_contains("coverage database: peak ")
        .assert_stderr_contains("(estimate, charged to the budget); 2 runs spilled, 2 merged")
        .assert_stderr_contains("the plan checks through includes")
        .assert_stderr_lacks("objects, built at the end");
    let run = dir
        .command()
        .args(["--stats", "--max-memory", "64K", "--format", "csv"])
        .expect_code(0);
    run.assert_stderr_contains("the report's 1200 objects, built at the end, are not charged");
    let run = dir.command().args(["--stats"]).expect_code(0);
    run.assert_stderr_contains("0 runs spilled, 0 merged, 0.00 MB written to temp")
        .assert_stderr_lacks("not charged");
});

pgtest!(
    streaming_always_gives_the_same_summary_without_files,
    |dir, cmd| {
        small_suite(dir);
        let standard = cmd.args(["tests", "--streaming", "never"]).json();
        let streaming = dir
            .command()
            .args(["tests", "--streaming", "always"])
            .json();
        assert!(streaming.get("files").is_none(), "{streaming}");
        assert_eq!(streaming["summary"], standard["summary"]);
        assert_eq!(streaming["stats"]["mode"], "streaming");
        assert_eq!(standard["stats"]["mode"], "standard");
        assert_eq!(streaming["version"], 1);
    }
);

pgtest!(streaming_auto_turns_on_above_1000_files, |dir, cmd| {
    for i in 0..1001 {
        dir.create(format!("t/{i:04}.sql"), "SELECT ok(true);\n");
    }
    let r = cmd.arg("t").json();
    assert_eq!(r["stats"]["mode"], "streaming");
    assert!(r.get("files").is_none());
    assert_eq!(r["summary"]["assertions"], 1001);

    // NDJSON keeps every file line, including those held before the switch.
    let lines = dir
        .command()
        .args(["t", "--format", "ndjson"])
        .expect_code(0)
        .ndjson();
    // 1001 file lines, no object line (`ok` names no object), the last line.
    assert_eq!(lines.len(), 1002);
    let unique: BTreeSet<&str> = lines[..1001]
        .iter()
        .map(|l| l["path"].as_str().expect("path"))
        .collect();
    assert_eq!(unique.len(), 1001);

    std::fs::remove_file(dir.join("t/1000.sql")).expect("remove");
    let r = dir.command().arg("t").json();
    assert_eq!(r["stats"]["mode"], "standard");
    assert_eq!(paths(&r).len(), 1000);
});

// ---------------------------------------------------------------------------------------
// The shared corpora
// ---------------------------------------------------------------------------------------

fn corpus_run(args: &[&str]) -> Option<(Value, util::Run)> {
    let shared = util::shared()?;
    let dir = Dir::new("corpus");
    let run = dir
        .command()
        .arg(shared.join("corpus"))
        .args(["--format", "json"])
        .args(args)
        .expect_code(0);
    Some((run.json(), run))
}

#[test]
fn corpus_scan_within_a_16_mb_budget() {
    let Some((r, run)) = corpus_run(&["--max-memory", "16", "--stats"]) else {
        return;
    };
    run.assert_stderr_contains("pgtap-scan stats");
    let st = &r["stats"];
    assert_eq!(st["budget_bytes"], 16 * 1024 * 1024);
    assert!(
        st["peak_charged_bytes"].as_u64() <= st["budget_bytes"].as_u64(),
        "{st}"
    );
    assert!(st["files_parsed"].as_u64().expect("files") > 400, "{st}");
    assert_eq!(st["files_parsed"], st["files_discovered"]);
    assert_eq!(st["files_failed"], 0);
    assert_eq!(r["summary"]["errors"], 0);
}

#[test]
fn corpus_summary_is_the_same_whatever_the_budget_or_mode() {
    let Some((base, _)) = corpus_run(&["--max-memory", "16"]) else {
        return;
    };
    // The smallest budget the flag allows, one file per batch, two readers. The corpus'
    // largest file is under 100 KB, so the 80% mark (~840 KB) is never reached and
    // throttling does not engage here (see budget_throttles_when_two_files_do_not_fit).
    let (small, _) =
        corpus_run(&["--max-memory", "1", "--batch-size", "1", "-j", "2"]).expect("corpus present");
    let st = &small["stats"];
    assert!(
        st["peak_charged_bytes"].as_u64() <= st["budget_bytes"].as_u64(),
        "{st}"
    );
    // On one core a 1 MiB budget holds one parse thread: -j 2 is lowered, with a warning.
    let lowered = u64::from(st["threads"] != 2);
    let mut small_summary = small["summary"].clone();
    let mut base_summary = base["summary"].clone();
    let (w_small, w_base) = (
        small_summary["warnings"].take().as_u64(),
        base_summary["warnings"].take().as_u64(),
    );
    assert_eq!(w_small, w_base.map(|w| w + lowered));
    assert_eq!(small_summary, base_summary);
    assert_eq!(small["files"], base["files"]);

    let (streaming, _) =
        corpus_run(&["--max-memory", "16", "--streaming", "always"]).expect("corpus present");
    assert!(streaming.get("files").is_none());
    assert_eq!(streaming["stats"]["mode"], "streaming");
    assert_eq!(streaming["summary"], base["summary"]);
}
