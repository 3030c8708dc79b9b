//! Baselines: `pgtap-scan diff OLD.json NEW.json` on the reports of two migration trees,
//! one commit apart: a table added, one removed, one losing its test, one gaining it, a
//! kind that vanishes, a stale test that appears; and files that are not reports.

use serde_json::Value;

use crate::util::Dir;

/// Two commits' worth of migrations and tests, each scanned to `old.json` and `new.json`.
fn two_reports() -> Dir {
    let dir = Dir::new("baseline");
    dir.create(
        "old/db/001.sql",
        "CREATE TABLE accounts (id int);\nCREATE TABLE orders (id int);\n\
         CREATE TABLE sessions (id int);\nCREATE TABLE invoices (id int);\n\
         CREATE VIEW v_orders AS SELECT 1 AS one;\n",
    )
    .create(
        "old/tests/t.sql",
        "SELECT plan(3);\nSELECT has_table('accounts');\nSELECT has_table('orders');\n\
         SELECT has_view('v_orders');\n",
    )
    .create(
        "new/db/001.sql",
        "CREATE TABLE accounts (id int);\nCREATE TABLE orders (id int);\n\
         CREATE TABLE invoices (id int);\nCREATE TABLE payments (id int);\n\
         CREATE SEQUENCE counter;\n",
    )
    .create(
        "new/tests/t.sql",
        "SELECT plan(3);\nSELECT has_table('accounts');\nSELECT has_table('invoices');\n\
         SELECT has_table('ghosts');\n",
    );
    for side in ["old", "new"] {
        dir.command()
            .args([
                &format!("{side}/tests"),
                "--schema",
                &format!("{side}/db"),
                "-q",
                "--format",
                "json",
                "-o",
                &format!("{side}.json"),
            ])
            .expect_code(0);
    }
    dir
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a key"))
        .collect()
}

#[test]
fn diff_lists_every_change_between_two_reports() {
    let dir = two_reports();
    let run = dir
        .command()
        .args(["diff", "old.json", "new.json", "--format", "json"])
        .expect_code(0);
    let c = run.json();
    assert_eq!(
        strings(&c["newly_untested"]),
        ["table:public.orders"],
        "{run}"
    );
    assert_eq!(
        strings(&c["newly_tested"]),
        ["table:public.invoices"],
        "{run}"
    );
    assert_eq!(
        strings(&c["added"]),
        [
            "column:public.payments.id",
            "sequence:public.counter",
            "table:public.payments"
        ],
        "{run}"
    );
    assert_eq!(
        strings(&c["removed"]),
        [
            "column:public.sessions.id",
            "column:public.v_orders.one",
            "table:public.sessions"
        ],
        "{run}"
    );
    assert_eq!(strings(&c["new_stale"]), ["table:public.ghosts"], "{run}");
    assert_eq!(c["overall"]["before"]["objects"], 10, "{run}");
    assert_eq!(c["overall"]["before"]["tested"], 3, "{run}");
    assert_eq!(c["overall"]["after"]["objects"], 9, "{run}");
    assert_eq!(c["overall"]["after"]["tested"], 2, "{run}");
    let view = c["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "view")
        .expect("the vanished kind is still listed");
    assert_eq!(view["after"], Value::Null, "{run}");

    let text = dir
        .command()
        .args(["diff", "old.json", "new.json"])
        .expect_code(0);
    insta::assert_snapshot!("baseline_diff_text", text.stdout);
    let md = dir
        .command()
        .args(["diff", "old.json", "new.json", "--format", "markdown"])
        .expect_code(0);
    insta::assert_snapshot!("baseline_diff_markdown", md.stdout);
}

#[test]
fn diff_refuses_files_that_are_not_reports_with_schema_coverage() {
    let dir = two_reports();
    dir.create("corrupt.json", "{\"version\": 1, \"summary\": {")
        .create("other.json", "{\"name\": \"package\"}");
    dir.command()
        .args(["tests", "--format", "json", "-o", "nocov.json", "-q"])
        .current_dir(dir.join("old"))
        .expect_code(0);
    for (file, why) in [
        ("corrupt.json", "not a pgtap-scan JSON report"),
        ("other.json", "not a pgtap-scan JSON report"),
        ("old/nocov.json", "has no schema coverage"),
        ("missing.json", "cannot read"),
    ] {
        let run = dir
            .command()
            .args(["diff", file, "new.json"])
            .expect_code(2);
        run.assert_stderr_contains(file).assert_stderr_contains(why);
        let run = dir
            .command()
            .args(["diff", "old.json", file])
            .expect_code(2);
        run.assert_stderr_contains(file);
    }
}

#[test]
fn a_scan_with_baseline_ends_its_text_and_markdown_reports_with_the_comparison() {
    let dir = two_reports();
    for format in ["text", "markdown"] {
        let diff = dir
            .command()
            .args(["diff", "old.json", "new.json", "--format", format])
            .expect_code(0);
        let scan = dir
            .command()
            .args([
                "new/tests",
                "--schema",
                "new/db",
                "-q",
                "--baseline",
                "old.json",
                "--format",
                format,
            ])
            .expect_code(0);
        assert!(scan.stdout.contains(&diff.stdout), "{scan}\n{diff}");
    }
    let run = dir
        .command()
        .args(["new/tests", "--baseline", "old.json"])
        .expect_code(2);
    run.assert_stderr_contains("--baseline needs a universe");
    dir.create("corrupt.json", "{\"version\": 1,");
    let run = dir
        .command()
        .args([
            "new/tests",
            "--schema",
            "new/db",
            "--baseline",
            "corrupt.json",
        ])
        .expect_code(2);
    run.assert_stderr_contains("corrupt.json: not a pgtap-scan JSON report");
}

// `--fail-on-drop table new/tests` took `table` for a path to scan (the kinds had to be
// attached: `--fail-on-drop=table`), so the run failed on a folder `table` that does not
// exist. The kinds may follow with a space now, and a path right after the bare flag is
// still the path.
#[test]
fn fail_on_drop_takes_its_kinds_after_a_space_and_leaves_a_path_alone() {
    let dir = two_reports();
    let scan = |extra: &[&str]| {
        let mut args = vec!["--schema", "new/db", "-q", "--baseline", "old.json"];
        args.extend_from_slice(extra);
        dir.command().args(args).run()
    };
    // Overall fell (3/10 -> 2/9), tables did not (2/4 -> 2/4).
    let run = scan(&["--fail-on-drop", "overall", "new/tests"]);
    assert_eq!(run.code, Some(1), "{run}");
    run.assert_stderr_contains("coverage fell versus the baseline: overall");
    let run = scan(&["--fail-on-drop", "table", "new/tests"]);
    assert_eq!(run.code, Some(0), "{run}");
    let run = scan(&["--fail-on-drop", "table,overall", "new/tests"]);
    assert_eq!(run.code, Some(1), "{run}");
    // The bare flag before the path: the path is scanned, overall is checked.
    let run = scan(&["--fail-on-drop", "new/tests"]);
    assert_eq!(run.code, Some(1), "{run}");
    run.assert_stderr_contains("coverage fell versus the baseline: overall");
    // A misspelt kind that is no path is still said as a kind.
    let run = scan(&["--fail-on-drop", "tabel", "new/tests"]);
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("--fail-on-drop tabel");
}

#[test]
fn fail_on_drop_exits_1_when_coverage_fell_versus_the_baseline() {
    let dir = two_reports();
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "new/tests",
            "--schema",
            "new/db",
            "-q",
            "--baseline",
            "old.json",
        ];
        args.extend_from_slice(extra);
        dir.command().args(args).run()
    };
    // Overall 3/10 -> 2/9 fell; tables 2/4 -> 2/4 did not; views vanished (not a fall).
    let run = scan(&["--fail-on-drop"]);
    assert_eq!(run.code, Some(1), "{run}");
    run.assert_stderr_contains(
        "coverage fell versus the baseline: overall 30.0% (3/10) -> 22.2% (2/9)",
    );
    let run = scan(&["--fail-on-drop=table,view"]);
    assert_eq!(run.code, Some(0), "{run}");
    let run = scan(&["--fail-on-drop=table,overall"]);
    assert_eq!(run.code, Some(1), "{run}");
    run.assert_stderr_lacks("baseline: table");
    let run = scan(&["--fail-on-drop=tabel"]);
    assert_eq!(run.code, Some(2), "{run}");
    // The same tree against its own report: nothing fell.
    let run = dir
        .command()
        .args([
            "old/tests",
            "--schema",
            "old/db",
            "-q",
            "--baseline",
            "old.json",
            "--fail-on-drop",
        ])
        .run();
    assert_eq!(run.code, Some(0), "{run}");
    let run = dir
        .command()
        .args(["new/tests", "--schema", "new/db", "--fail-on-drop"])
        .run();
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("--fail-on-drop needs --baseline");
}

#[test]
fn the_json_report_carries_the_comparison_with_its_baseline() {
    let dir = two_reports();
    let diff = dir
        .command()
        .args(["diff", "old.json", "new.json", "--format", "json"])
        .expect_code(0)
        .json();
    let run = dir
        .command()
        .args([
            "new/tests",
            "--schema",
            "new/db",
            "-q",
            "--baseline",
            "old.json",
            "--format",
            "json",
        ])
        .expect_code(0);
    let r = run.json();
    let b = &r["baseline"];
    assert_eq!(b["file"], "old.json", "{run}");
    for member in [
        "overall",
        "by_kind",
        "newly_untested",
        "newly_tested",
        "added",
        "removed",
        "new_stale",
    ] {
        assert_eq!(b[member], diff[member], "{member}");
    }
    // Without --baseline, no member.
    let plain = dir
        .command()
        .args(["new/tests", "--schema", "new/db", "-q", "--format", "json"])
        .expect_code(0)
        .json();
    assert!(plain.get("baseline").is_none());
}

#[test]
fn a_kind_that_vanished_is_removed_not_a_fall() {
    let dir = two_reports();
    let run = dir
        .command()
        .args(["diff", "old.json", "new.json", "--format", "json"])
        .expect_code(0);
    let c = run.json();
    let kind = |k: &str| {
        c["by_kind"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == k)
            .cloned()
            .unwrap_or_else(|| panic!("no {k} in {run}"))
    };
    assert_eq!(kind("view")["status"], "removed", "{run}");
    assert_eq!(kind("sequence")["status"], "new", "{run}");
    assert_eq!(kind("table")["status"], "same", "{run}");
    assert_eq!(c["overall"]["status"], "fell", "{run}");
    let text = dir
        .command()
        .args(["diff", "old.json", "new.json"])
        .expect_code(0);
    let view = text
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("view "))
        .expect("a view line");
    assert!(view.ends_with("removed"), "{view}");
    // Gating on the vanished kind alone passes: it did not fall.
    let run = dir
        .command()
        .args([
            "new/tests",
            "--schema",
            "new/db",
            "-q",
            "--baseline",
            "old.json",
            "--fail-on-drop=view",
        ])
        .run();
    assert_eq!(run.code, Some(0), "{run}");
}

#[test]
fn baseline_and_fail_on_drop_are_config_keys() {
    let dir = two_reports();
    let scan = |config: &str| {
        dir.create("new.toml", config);
        dir.command()
            .args([
                "new/tests",
                "--schema",
                "new/db",
                "-q",
                "--config",
                "new.toml",
                "--format",
                "json",
            ])
            .run()
    };
    let run = scan("baseline = \"old.json\"\nfail-on-drop = true\n");
    assert_eq!(run.code, Some(1), "{run}");
    run.assert_stderr_contains("coverage fell versus the baseline: overall");
    assert_eq!(run.json()["baseline"]["file"], "old.json", "{run}");
    let run = scan("baseline = \"old.json\"\nfail-on-drop = [\"table\", \"view\"]\n");
    assert_eq!(run.code, Some(0), "{run}");
    let run = scan("baseline = \"old.json\"\nfail-on-drop = \"table,overall\"\n");
    assert_eq!(run.code, Some(1), "{run}");
    let run = scan("baseline = \"old.json\"\n");
    assert_eq!(run.code, Some(0), "{run}");
    // The config's fail-on-drop waits for a baseline: a run without one is not refused.
    let run = scan("fail-on-drop = true\n");
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.json().get("baseline").is_none());
    // ... which the flag gives.
    let run = dir
        .command()
        .args([
            "new/tests",
            "--schema",
            "new/db",
            "-q",
            "--config",
            "new.toml",
            "--baseline",
            "old.json",
        ])
        .run();
    assert_eq!(run.code, Some(1), "{run}");
    // A flag wins over the file.
    dir.create("new.toml", "baseline = \"missing.json\"\n");
    let run = dir
        .command()
        .args([
            "new/tests",
            "--schema",
            "new/db",
            "-q",
            "--config",
            "new.toml",
            "--baseline",
            "old.json",
        ])
        .run();
    assert_eq!(run.code, Some(0), "{run}");
    let run = scan("baseline = \"missing.json\"\n");
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("missing.json: cannot read");
}
