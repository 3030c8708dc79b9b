//! `--history FILE`: one JSON line appended per run, never a rewrite; `pgtap-scan history
//! FILE` prints the trend; corrupt and foreign lines are skipped with a warning naming the
//! file and line; a file that cannot be written is an error (exit 2); the HTML report draws
//! the trend as an inline SVG chart.

use serde_json::Value;

use crate::util::{Dir, TestCommand};

/// The CI variables the commit is read from (`src/bin/pgtap-scan/history.rs`).
const COMMIT_VARIABLES: &[&str] = &[
    "GITHUB_SHA",
    "CI_COMMIT_SHA",
    "BUILDKITE_COMMIT",
    "CIRCLE_SHA1",
    "BITBUCKET_COMMIT",
    "BUILD_SOURCEVERSION",
    "SEMAPHORE_GIT_SHA",
    "DRONE_COMMIT_SHA",
    "TRAVIS_COMMIT",
    "GIT_COMMIT",
];

fn tree(dir: &Dir) {
    dir.create(
        "db/001.sql",
        "CREATE TABLE accounts (id int);\nCREATE TABLE orders (id int);\n",
    )
    .create(
        "tests/t.sql",
        "SELECT plan(1);\nSELECT has_table('accounts');\n",
    );
}

/// A scan of the tree with `--history h.jsonl` at `time` on `commit` (none: no CI
/// variable; the temp dir is no git repository).
fn scan(dir: &Dir, time: i64, commit: Option<&str>) -> TestCommand {
    let mut cmd = dir.command();
    for v in COMMIT_VARIABLES {
        cmd.env_remove(v);
    }
    if let Some(c) = commit {
        cmd.env("GITHUB_SHA", c);
    }
    cmd.env("SOURCE_DATE_EPOCH", time.to_string())
        .env("GIT_CEILING_DIRECTORIES", dir.path())
        .args(["tests", "--schema", "db", "-q", "--history", "h.jsonl"]);
    cmd
}

fn lines(dir: &Dir) -> Vec<Value> {
    std::fs::read_to_string(dir.join("h.jsonl"))
        .expect("the history file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

pgtest!(history_appends_one_line_per_run, |dir, cmd| {
    tree(dir);
    scan(dir, 1_796_176_800, Some("aaaa1111")).expect_code(0);
    let first = std::fs::read_to_string(dir.join("h.jsonl")).unwrap();
    dir.create(
        "tests/t.sql",
        "SELECT plan(2);\nSELECT has_table('accounts');\nSELECT has_table('orders');\n",
    );
    scan(dir, 1_796_263_200, None).expect_code(0);
    let text = std::fs::read_to_string(dir.join("h.jsonl")).unwrap();
    assert!(
        text.starts_with(&first),
        "the first line was kept as it was"
    );
    let l = lines(dir);
    assert_eq!(l.len(), 2, "{text}");
    assert_eq!(l[0]["pgtap_scan_history"], 1);
    assert_eq!(l[0]["time"], "2026-12-02T02:00:00Z");
    assert_eq!(l[0]["commit"], "aaaa1111");
    assert_eq!(l[0]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(l[0]["coverage"]["overall"]["objects"], 4);
    assert_eq!(l[0]["coverage"]["overall"]["tested"], 1);
    assert_eq!(l[0]["coverage"]["by_kind"]["table"]["tested"], 1);
    assert_eq!(l[0]["counts"]["files"], 1);
    assert_eq!(l[0]["counts"]["assertions"], 1);
    assert_eq!(l[0]["counts"]["gaps"], 3);
    assert_eq!(l[1]["time"], "2026-12-03T02:00:00Z");
    assert_eq!(l[1]["commit"], Value::Null, "no CI variable, no git: null");
    assert_eq!(l[1]["coverage"]["by_kind"]["table"]["tested"], 2);

    let run = dir
        .command()
        .args(["history", "h.jsonl", "--format", "json"])
        .expect_code(0);
    let entries = run.json();
    assert_eq!(entries.as_array().map(Vec::len), Some(2), "{run}");
    assert_eq!(entries[1]["coverage"], l[1]["coverage"]);
    let run = dir.command().args(["history", "h.jsonl"]).expect_code(0);
    assert!(run.stdout.contains("(2 runs)"), "{run}");
    assert!(run.stdout.contains("aaaa1111"), "{run}");
    assert!(run.stdout.contains("25.0% (1/4)"), "{run}");
    assert!(run.stdout.contains("50.0% (2/4)"), "{run}");
    assert!(run.stdout.contains("+25.0"), "{run}");
    assert!(run.stdout.contains("table"), "{run}");
    let run = dir
        .command()
        .args(["history", "h.jsonl", "--format", "markdown"])
        .expect_code(0);
    assert!(
        run.stdout
            .contains("| 2026-12-03T02:00:00Z | `-` | 50.0% (2/4) | +25.0 |"),
        "{run}"
    );
});

pgtest!(
    corrupt_and_foreign_lines_are_skipped_with_a_warning_and_kept,
    |dir, cmd| {
        tree(dir);
        scan(dir, 1_796_176_800, Some("aaaa1111")).expect_code(0);
        let good = std::fs::read_to_string(dir.join("h.jsonl")).unwrap();
        // A line cut short, a foreign JSON line, a newer version, and no final newline.
        let mixed = format!(
            "{good}{{\"pgtap_scan_history\": 1, \"time\": \"2026-\n{{\"name\": \"package\"}}\n\
         {{\"pgtap_scan_history\": 7}}\n{}",
            good.trim_end()
        );
        dir.create("h.jsonl", &mixed);
        let run = dir.command().args(["history", "h.jsonl"]).expect_code(0);
        assert!(run.stdout.contains("(2 runs)"), "{run}");
        run.assert_stderr_contains("h.jsonl:2: not JSON")
            .assert_stderr_contains("h.jsonl:3: not a pgtap-scan history entry (a foreign line)")
            .assert_stderr_contains("h.jsonl:4: a history entry of version 7");
        // Appending keeps every line, the bad ones too, and starts a line of its own.
        let run = scan(dir, 1_796_263_200, Some("bbbb2222")).expect_code(0);
        let text = std::fs::read_to_string(dir.join("h.jsonl")).unwrap();
        assert!(text.starts_with(&mixed), "{run}\n{text}");
        assert_eq!(text.lines().count(), 6, "{text}");
        let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["commit"], "bbbb2222");
        // The HTML report reads the file for its chart, skipping the bad lines: still exit 0.
        scan(dir, 1_796_349_600, Some("cccc3333"))
            .args(["--format", "html", "-o", "r.html"])
            .expect_code(0);
        let page = std::fs::read_to_string(dir.join("r.html")).unwrap();
        assert_eq!(
            page.matches("<circle class=\"trend-dot\"").count(),
            4,
            "two runs from before the bad lines, two appended"
        );
    }
);

pgtest!(
    a_history_file_that_cannot_be_written_is_an_error,
    |dir, cmd| {
        tree(dir);
        dir.create_dir("folder");
        for (path, says) in [
            ("folder", "a folder, not a history file"),
            ("missing/h.jsonl", "no such folder"),
        ] {
            let run = dir
                .command()
                .args(["tests", "--schema", "db", "--history", path])
                .expect_code(2);
            run.assert_stderr_contains(&format!("--history {path}"))
                .assert_stderr_contains(says);
            assert!(run.stdout.is_empty(), "refused before the scan: {run}");
        }
        // A write that fails after the scan (a full disk): exit 2, naming the file.
        if std::path::Path::new("/dev/full").exists() {
            let run = dir
                .command()
                .args(["tests", "--schema", "db", "--history", "/dev/full"])
                .expect_code(2);
            run.assert_stderr_contains("--history /dev/full: cannot append this run's line");
        }
        // No permission (not as root, who has every permission).
        dir.create("ro.jsonl", "");
        let ro = dir.join("ro.jsonl");
        let mut perms = std::fs::metadata(&ro).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o444);
        std::fs::set_permissions(&ro, perms).unwrap();
        if std::fs::OpenOptions::new().append(true).open(&ro).is_err() {
            let run = dir
                .command()
                .args(["tests", "--schema", "db", "--history", "ro.jsonl"])
                .expect_code(2);
            run.assert_stderr_contains("--history ro.jsonl: cannot append to the history file");
        }
        // `pgtap-scan history` on a file that is not there.
        let run = dir.command().args(["history", "nope.jsonl"]).expect_code(2);
        run.assert_stderr_contains("nope.jsonl: no such history file");
        // A shard records nothing: the merge does.
        let run = dir
            .command()
            .args([
                "tests",
                "--shard",
                "1/2",
                "--format",
                "partial",
                "--history",
                "h.jsonl",
            ])
            .expect_code(2);
        run.assert_stderr_contains("--history with --shard");
    }
);

pgtest!(
    the_html_report_draws_the_history_as_an_inline_svg_chart,
    |dir, cmd| {
        tree(dir);
        scan(dir, 1_796_176_800, Some("aaaa1111")).expect_code(0);
        dir.create(
            "tests/t.sql",
            "SELECT plan(2);\nSELECT has_table('accounts');\nSELECT has_table('orders');\n",
        );
        scan(dir, 1_796_263_200, Some("bbbb2222"))
            .args(["--format", "html", "-o", "r.html"])
            .expect_code(0);
        let page = std::fs::read_to_string(dir.join("r.html")).unwrap();
        assert!(page.contains("<svg class=\"trend\""), "a chart");
        assert_eq!(
            page.matches("<circle class=\"trend-dot\"").count(),
            2,
            "both runs"
        );
        assert!(page.contains("<polyline class=\"trend-line\""));
        assert!(page.contains("Overall schema coverage over 2 runs: 25.0% to 50.0%"));
        assert!(page.contains("<a href=\"#trend\">Trend</a>"));
        assert!(!page.contains("src=\"http"), "nothing fetched");
        assert!(!page.contains("<script src"), "no external script");
        assert_eq!(lines(dir).len(), 2, "the HTML run was recorded too");
        // Without --history, no chart.
        let run = dir
            .command()
            .args(["tests", "--schema", "db", "-q", "--format", "html"])
            .expect_code(0);
        assert!(
            !run.stdout.contains("class=\"trend"),
            "no chart without --history"
        );
    }
);
