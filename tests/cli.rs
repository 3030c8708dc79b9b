//! The `pgtap-scan` binary end to end: discovery options, errors and warnings, exit codes,
//! `--output`, the JSON/NDJSON reports, the memory budget, the config file and extraction
//! seen through the command line. Every test runs the real binary on a temporary tree.
//!
//! Tests run as root here, where permissions do not make a file unreadable. An unreadable
//! test file is therefore either a path that does not exist or a named pipe (a path that
//! exists but is not a regular file, which the reader rejects).

#[macro_use]
mod util;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use util::{assertions, file, paths, Dir};

/// A small realistic suite: a plain file with a plan, an xUnit file, a runner with a
/// `\ir` include and a helper file, plus files discovery must not take.
fn suite(dir: &Dir) {
    dir.create(
        "tests/01_accounts.sql",
        "\
BEGIN;
SELECT plan(4);

SELECT has_table('public', 'accounts', 'accounts table exists');
SELECT col_is_pk('public', 'accounts', 'id', 'accounts are keyed by id');
SELECT has_column('accounts', 'email');
SELECT is(1 + 1, 2, 'arithmetic still works');

SELECT * FROM finish();
ROLLBACK;
",
    )
    .create(
        "tests/02_xunit.pg",
        "\
CREATE OR REPLACE FUNCTION test_billing() RETURNS SETOF TEXT LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEXT has_function('billing', 'charge', ARRAY['integer']);
  RETURN NEXT ok(true, 'charge works');
END;
$$;
SELECT * FROM runtests();
",
    )
    .create(
        "tests/03_runner.sql",
        "\
SELECT plan(3);
SELECT has_schema('billing');
\\ir helpers/two.sql
SELECT * FROM finish();
",
    )
    .create(
        "tests/helpers/two.sql",
        "SELECT has_table('billing', 'invoices');\nSELECT has_table('billing', 'payments');\n",
    )
    .create("tests/README.md", "not a test\n")
    .create("tests/notes.txt", "SELECT has_table('nope');\n");
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------

pgtest!(default_extensions_are_sql_and_pg, |dir, cmd| {
    dir.create("a.sql", "SELECT ok(true);")
        .create("b.pg", "SELECT ok(true);")
        .create("c.pg.inc", "SELECT ok(true);")
        .create("d.txt", "SELECT ok(true);")
        .create("e.SQL", "SELECT ok(true);")
        .create("f.sqlx", "SELECT ok(true);")
        .create("sub/g.sql", "SELECT ok(true);");
    let r = cmd.arg(".").json();
    assert_eq!(paths(&r), s(&["./a.sql", "./b.pg", "./sub/g.sql"]));
});

pgtest!(multi_part_extension_pg_inc, |dir, cmd| {
    dir.create("a.sql", "SELECT ok(true);")
        .create("b.pg", "SELECT ok(true);")
        .create("c.pg.inc", "SELECT ok(true);")
        .create("d.inc", "SELECT ok(true);")
        .create("sub/e.pg.inc", "SELECT ok(true);");
    let r = cmd.args(["--ext", "pg.inc"]).json();
    assert_eq!(paths(&r), s(&["c.pg.inc", "sub/e.pg.inc"]));

    // Repeatable, and a leading dot is allowed.
    let r = dir
        .command()
        .args(["--ext", "sql", "--ext", ".pg.inc"])
        .json();
    assert_eq!(paths(&r), s(&["a.sql", "c.pg.inc", "sub/e.pg.inc"]));
});

pgtest!(gitignore_honoured_without_a_git_dir, |dir, cmd| {
    dir.create(".gitignore", "ignored.sql\nbuild/\n")
        .create(".ignore", "also_ignored.sql\n")
        .create("kept.sql", "SELECT ok(true);")
        .create("ignored.sql", "SELECT ok(true);")
        .create("also_ignored.sql", "SELECT ok(true);")
        .create("build/gen.sql", "SELECT ok(true);")
        .create("sub/.gitignore", "*.pg\n")
        .create("sub/x.pg", "SELECT ok(true);")
        .create("sub/y.sql", "SELECT ok(true);");
    assert_eq!(paths(&cmd.json()), s(&["kept.sql", "sub/y.sql"]));

    let r = dir.command().arg("--no-ignore").json();
    assert_eq!(
        paths(&r),
        s(&[
            "also_ignored.sql",
            "build/gen.sql",
            "ignored.sql",
            "kept.sql",
            "sub/x.pg",
            "sub/y.sql"
        ])
    );
});

pgtest!(git_info_exclude_honoured_in_a_repository, |dir, cmd| {
    dir.create(".git/info/exclude", "excluded.sql\n")
        .create(".git/HEAD", "ref: refs/heads/main\n")
        .create("kept.sql", "SELECT ok(true);")
        .create("excluded.sql", "SELECT ok(true);");
    assert_eq!(paths(&cmd.json()), s(&["kept.sql"]));
    let r = dir.command().arg("--no-ignore").json();
    assert_eq!(paths(&r), s(&["excluded.sql", "kept.sql"]));
});

pgtest!(hidden_files_skipped_unless_hidden, |dir, cmd| {
    dir.create("visible.sql", "SELECT ok(true);")
        .create(".hidden.sql", "SELECT ok(true);")
        .create(".private/t.sql", "SELECT ok(true);");
    assert_eq!(paths(&cmd.json()), s(&["visible.sql"]));
    let r = dir.command().arg("--hidden").json();
    assert_eq!(
        paths(&r),
        s(&[".hidden.sql", ".private/t.sql", "visible.sql"])
    );
});

pgtest!(max_depth_limits_descent, |dir, cmd| {
    dir.create("top.sql", "SELECT ok(true);")
        .create("one/a.sql", "SELECT ok(true);")
        .create("one/two/b.sql", "SELECT ok(true);")
        .create("one/two/three/c.sql", "SELECT ok(true);");
    let depth = |n: &str| paths(&dir.command().args(["--max-depth", n]).json());
    assert_eq!(depth("1"), s(&["top.sql"]));
    assert_eq!(depth("2"), s(&["one/a.sql", "top.sql"]));
    assert_eq!(depth("3"), s(&["one/a.sql", "one/two/b.sql", "top.sql"]));
    assert_eq!(paths(&cmd.json()).len(), 4);
});

pgtest!(include_and_exclude_globs_are_repeatable, |dir, cmd| {
    dir.create("unit/a.sql", "SELECT ok(true);")
        .create("unit/a_skip.sql", "SELECT ok(true);")
        .create("integration/b.sql", "SELECT ok(true);")
        .create("vendor/c.sql", "SELECT ok(true);")
        .create("d.pg", "SELECT ok(true);")
        .create("e.sql", "SELECT ok(true);");
    let r = cmd.args(["--include", "unit/", "--include", "*.pg"]).json();
    assert_eq!(paths(&r), s(&["d.pg", "unit/a.sql", "unit/a_skip.sql"]));

    let r = dir
        .command()
        .args(["--exclude", "vendor/", "--exclude", "*_skip.sql"])
        .json();
    assert_eq!(
        paths(&r),
        s(&["d.pg", "e.sql", "integration/b.sql", "unit/a.sql"])
    );

    // Include narrows, exclude then drops, and neither widens the extension filter.
    let r = dir
        .command()
        .args(["--include", "unit/", "--exclude", "*_skip.sql"])
        .json();
    assert_eq!(paths(&r), s(&["unit/a.sql"]));
});

pgtest!(explicit_files_are_always_scanned, |dir, cmd| {
    dir.create(".gitignore", "ignored.sql\n")
        .create("ignored.sql", "SELECT has_table('i');")
        .create("notes.txt", "SELECT has_table('n');")
        .create(".hidden.sql", "SELECT has_table('h');")
        .create("excluded.sql", "SELECT has_table('e');")
        .create("other.sql", "SELECT has_table('o');");
    let r = cmd
        .args([
            "ignored.sql",
            "notes.txt",
            ".hidden.sql",
            "excluded.sql",
            "--ext",
            "pg",
            "--exclude",
            "excluded.sql",
            "--max-depth",
            "0",
        ])
        .json();
    assert_eq!(
        paths(&r),
        s(&[".hidden.sql", "excluded.sql", "ignored.sql", "notes.txt"])
    );
    assert_eq!(r["summary"]["by_function"]["has_table"], 4);
});

pgtest!(several_roots, |dir, cmd| {
    dir.create("a/one.sql", "SELECT ok(true);")
        .create("b/nested/two.pg", "SELECT ok(true);")
        .create("c.sql", "SELECT ok(true);")
        .create("other/three.sql", "SELECT ok(true);");
    let r = cmd.args(["a", "b", "c.sql"]).json();
    assert_eq!(paths(&r), s(&["a/one.sql", "b/nested/two.pg", "c.sql"]));
    assert_eq!(r["stats"]["files_discovered"], 3);
});

pgtest!(default_root_is_the_current_directory, |dir, cmd| {
    dir.create("x.sql", "SELECT ok(true);")
        .create("sub/y.sql", "SELECT ok(true);")
        .create("sub/deeper/z.pg", "SELECT ok(true);");
    // No `./` prefix, as ripgrep prints paths for an implicit root.
    assert_eq!(
        paths(&cmd.json()),
        s(&["sub/deeper/z.pg", "sub/y.sql", "x.sql"])
    );
    let r = dir.command().current_dir(dir.join("sub")).json();
    assert_eq!(paths(&r), s(&["deeper/z.pg", "y.sql"]));
});

pgtest!(directory_named_like_a_test_file_is_walked, |dir, cmd| {
    // Given explicitly, a directory called `x.sql` is a root to walk, not a file to read.
    dir.create("x.sql/inner.sql", "SELECT ok(true);")
        .create("x.sql/skip.txt", "SELECT ok(true);");
    let r = cmd.arg("x.sql").json();
    assert_eq!(paths(&r), s(&["x.sql/inner.sql"]));
    assert_eq!(r["stats"]["files_failed"], 0);
});

pgtest!(scan_subcommand_is_the_default_command, |dir, cmd| {
    suite(dir);
    let a = cmd.json();
    let b = dir
        .command()
        .args(["scan", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(a["summary"], b["summary"]);
    assert_eq!(paths(&a), paths(&b));
    assert_eq!(a["summary"]["files"], 4);
});

// ---------------------------------------------------------------------------------------
// Unreadable files, symlinks
// ---------------------------------------------------------------------------------------

pgtest!(
    missing_test_file_is_an_error_and_the_rest_is_reported,
    |dir, cmd| {
        dir.create("tests/good.sql", "SELECT has_table('good');")
            .create("tests/also.pg", "SELECT has_table('also');");
        let run = cmd
            .args(["tests", "nope.sql", "--format", "json"])
            .expect_code(2);
        run.assert_stderr_contains("pgtap-scan: nope.sql: cannot read:");
        let r = run.json();
        assert_eq!(paths(&r), s(&["tests/also.pg", "tests/good.sql"]));
        assert_eq!(r["summary"]["errors"], 1);
        assert_eq!(r["summary"]["assertions"], 2);
        assert_eq!(r["stats"]["files_failed"], 1);
        assert_eq!(r["stats"]["files_parsed"], 2);
    }
);

pgtest!(
    non_regular_test_file_is_an_error_and_the_rest_is_reported,
    |dir, cmd| {
        // A named pipe: it exists, but reading it would block; the reader must refuse it.
        dir.create("good.sql", "SELECT has_table('good');")
            .fifo("pipe.sql");
        let run = cmd
            .args(["good.sql", "pipe.sql", "--format", "json"])
            .expect_code(2);
        run.assert_stderr_contains("pgtap-scan: pipe.sql: cannot read: not a regular file");
        let r = run.json();
        assert_eq!(paths(&r), s(&["good.sql"]));
        assert_eq!(r["stats"]["files_failed"], 1);

        // Met during a walk, a pipe is not a test file at all: skipped, no error.
        let r = dir.command().json();
        assert_eq!(paths(&r), s(&["good.sql"]));
        assert_eq!(r["stats"]["files_failed"], 0);
    }
);

pgtest!(
    unreadable_file_still_gives_a_report_in_output_file,
    |dir, cmd| {
        dir.create("good.sql", "SELECT has_table('good');");
        let run = cmd
            .args([".", "gone.sql", "--format", "json", "-o", "report.json"])
            .expect_code(2);
        run.assert_stderr_contains("gone.sql");
        assert!(run.stdout.is_empty());
        let text = std::fs::read_to_string(dir.join("report.json")).expect("report written");
        let r = util::parse_json(&text).expect("report is JSON").value;
        assert_eq!(paths(&r), s(&["./good.sql"]));
    }
);

pgtest!(broken_symlink_with_follow_is_a_warning, |dir, cmd| {
    dir.create("real.sql", "SELECT has_table('real');")
        .symlink("missing.sql", "broken.sql");
    let run = cmd.args(["--follow", "--format", "json"]).expect_code(0);
    run.assert_stderr_contains("pgtap-scan: warning: ")
        .assert_stderr_contains("broken.sql: broken symbolic link");
    let r = run.json();
    assert_eq!(paths(&r), s(&["real.sql"]));
    assert_eq!(r["summary"]["warnings"], 1);
    assert_eq!(r["summary"]["errors"], 0);

    // Not following links, a symlink is not a test file: nothing to say.
    let run = dir.command().args(["--format", "json"]).expect_code(0);
    run.assert_stderr_lacks("broken.sql");
    assert_eq!(paths(&run.json()), s(&["real.sql"]));
});

pgtest!(symlink_loop_with_follow_is_a_warning, |dir, cmd| {
    dir.create("suite/a.sql", "SELECT has_table('a');")
        .create("suite/sub/b.sql", "SELECT has_table('b');")
        .symlink("..", "suite/sub/up");
    let run = cmd.args(["suite", "-L", "--format", "json"]).expect_code(0);
    run.assert_stderr_contains("pgtap-scan: warning: ")
        .assert_stderr_contains("symbolic link loop");
    let r = run.json();
    // Each file once: the loop was not followed round again.
    assert_eq!(paths(&r), s(&["suite/a.sql", "suite/sub/b.sql"]));
    assert_eq!(r["summary"]["assertions"], 2);
});

pgtest!(symlinks_followed_only_with_follow, |dir, cmd| {
    dir.create("outside/linked.sql", "SELECT has_table('linked');")
        .create("suite/own.sql", "SELECT has_table('own');")
        .symlink("../outside/linked.sql", "suite/link.sql")
        .symlink("../outside", "suite/linkdir");
    assert_eq!(paths(&cmd.arg("suite").json()), s(&["suite/own.sql"]));
    let r = dir.command().args(["suite", "--follow"]).json();
    assert_eq!(
        paths(&r),
        s(&[
            "suite/link.sql",
            "suite/linkdir/linked.sql",
            "suite/own.sql"
        ])
    );
});

// ---------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------

pgtest!(exit_0_on_a_clean_run, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(1);\nSELECT ok(true);\n");
    let run = cmd.expect_code(0);
    assert!(run.stderr.is_empty(), "{run}");
    assert!(run.stdout.contains("1 files, 1 assertions"), "{run}");
});

pgtest!(plan_mismatch_is_a_warning_without_strict, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2); SELECT ok(true);\n");
    let run = cmd.args(["--format", "json"]).expect_code(0);
    run.assert_stderr_contains("pgtap-scan: warning: t.sql:1: plan(2) but 1 tests found");
    let r = run.json();
    assert_eq!(
        r["summary"]["plans"]["mismatches"],
        json!([{"path": "t.sql", "line": 1, "planned": 2, "found": 1, "from_includes": 0}])
    );
});

pgtest!(strict_plan_mismatch_exits_1, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2); SELECT ok(true);\n")
        .create("fine.sql", "SELECT plan(1); SELECT ok(true);\n");
    let run = cmd.arg("--strict").expect_code(1);
    run.assert_stderr_contains("t.sql:1: plan(2) but 1 tests found")
        .assert_stderr_contains("1 plan mismatch (--strict)");
    // The report is still written.
    assert!(run.stdout.contains("2 files"), "{run}");

    // With the plan right, --strict is happy.
    dir.create("t.sql", "SELECT plan(1); SELECT ok(true);\n");
    dir.command().arg("--strict").expect_code(0);
});

pgtest!(strict_is_a_config_setting_too, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2); SELECT ok(true);\n")
        .create(".pgtap-scan.toml", "strict = true\n");
    cmd.expect_code(1);
    dir.command().arg("--no-config").expect_code(0);
});

pgtest!(errors_outrank_a_strict_failure, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2); SELECT ok(true);\n");
    cmd.args(["t.sql", "missing.sql", "--strict"])
        .expect_code(2);
});

pgtest!(bad_flags_exit_2, |dir, cmd| {
    let run = cmd.arg("--no-such-flag").expect_code(2);
    run.assert_stderr_contains("--no-such-flag");
    assert!(run.stdout.is_empty());
    dir.command()
        .args(["--format", "xml"])
        .expect_code(2)
        .assert_stderr_contains("xml");
    dir.command()
        .args(["--max-depth", "lots"])
        .expect_code(2)
        .assert_stderr_contains("lots");
    dir.command()
        .args(["--max-memory", "0"])
        .expect_code(2)
        .assert_stderr_contains("--max-memory <SIZE>': \"0\": must be more than 0");
});

pgtest!(missing_path_exits_2, |dir, cmd| {
    let run = cmd.arg("no/such/dir").expect_code(2);
    run.assert_stderr_contains("pgtap-scan: no/such/dir: cannot read");
});

pgtest!(quiet_silences_warnings_not_errors, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2); SELECT ok(true);\n");
    let run = cmd.args(["-q", ".", "gone.sql"]).expect_code(2);
    run.assert_stderr_lacks("warning")
        .assert_stderr_contains("gone.sql: cannot read");
});

// ---------------------------------------------------------------------------------------
// --output
// ---------------------------------------------------------------------------------------

fn leftovers(dir: &Dir, rel: &str) -> Vec<String> {
    dir.list(rel)
        .into_iter()
        .filter(|n| n.starts_with(".pgtap-scan-") && n.ends_with(".tmp"))
        .collect()
}

pgtest!(output_file_is_written_whole, |dir, cmd| {
    suite(dir);
    dir.create_dir("out");
    let run = cmd
        .args(["tests", "--format", "json", "-o", "out/report.json"])
        .expect_code(0);
    assert!(run.stdout.is_empty(), "nothing on stdout\n{run}");
    let text = std::fs::read_to_string(dir.join("out/report.json")).expect("report");
    let from_file = util::parse_json(&text).expect("whole JSON").value;
    let from_stdout = dir.command().args(["tests"]).json();
    assert_eq!(from_file["files"], from_stdout["files"]);
    assert_eq!(from_file["summary"], from_stdout["summary"]);
    assert_eq!(dir.list("out"), s(&["report.json"]));
    assert!(leftovers(dir, "out").is_empty());
});

pgtest!(output_replaces_an_existing_file, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);").create(
        "report.ndjson",
        "old contents that are longer than the new report ".repeat(200),
    );
    cmd.args(["t.sql", "--format", "ndjson", "--output", "report.ndjson"])
        .expect_code(0);
    let text = std::fs::read_to_string(dir.join("report.ndjson")).expect("report");
    assert!(!text.contains("old contents"));
    assert_eq!(text.lines().count(), 2);
    assert!(leftovers(dir, ".").is_empty(), "{:?}", dir.list("."));
});

// Regression: `-o /dev/null` used to rename a temporary file over the device, leaving a
// regular file at /dev/null for every program on the machine. Special files are written in
// place; a FIFO stands in for the device here.
pgtest!(output_to_a_fifo_writes_in_place, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);").fifo("pipe");
    let path = dir.join("pipe");
    let (tx, rx) = std::sync::mpsc::channel();
    // The reader blocks until someone opens the FIFO for writing; a scanner that renamed a
    // file over it never would, so wait with a time limit instead of joining.
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read_to_string(path));
    });
    cmd.args(["t.sql", "--format", "ndjson", "-o", "pipe"])
        .expect_code(0);
    let text = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the report was never written into the FIFO")
        .expect("read fifo");
    assert_eq!(text.lines().count(), 2, "{text}");
    use std::os::unix::fs::FileTypeExt;
    let ft = std::fs::symlink_metadata(dir.join("pipe"))
        .expect("still there")
        .file_type();
    assert!(ft.is_fifo(), "the FIFO was replaced");
    assert!(leftovers(dir, ".").is_empty());
});

pgtest!(output_through_a_symlink_replaces_the_target, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);")
        .create("reports/real.json", "old")
        .symlink("reports/real.json", "link.json");
    cmd.args(["t.sql", "--format", "json", "-o", "link.json"])
        .expect_code(0);
    let meta = std::fs::symlink_metadata(dir.join("link.json")).expect("link");
    assert!(
        meta.file_type().is_symlink(),
        "the link itself was replaced"
    );
    let text = std::fs::read_to_string(dir.join("reports/real.json")).expect("target");
    assert!(text.contains("\"version\""), "{text}");
});

pgtest!(output_into_a_missing_directory_fails_cleanly, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);");
    let run = cmd
        .args(["--format", "json", "-o", "no/such/dir/report.json"])
        .expect_code(2);
    run.assert_stderr_contains(
        "pgtap-scan: no/such/dir/report.json: cannot create a file in no/such/dir",
    );
    assert!(run.stdout.is_empty());
    assert!(!dir.join("no").exists());
    assert!(leftovers(dir, ".").is_empty());
});

// ---------------------------------------------------------------------------------------
// Report content
// ---------------------------------------------------------------------------------------

pgtest!(json_report_content, |dir, cmd| {
    suite(dir);
    let r = cmd.arg("tests").json();
    assert_eq!(r["version"], 1);
    // Sorted by path; README.md and notes.txt are not test files.
    assert_eq!(
        paths(&r),
        s(&[
            "tests/01_accounts.sql",
            "tests/02_xunit.pg",
            "tests/03_runner.sql",
            "tests/helpers/two.sql"
        ])
    );

    let f = file(&r, "tests/01_accounts.sql");
    assert_eq!(f["plan"], 4);
    assert_eq!(f["errors"], json!([]));
    let a = &f["assertions"];
    assert_eq!(a.as_array().map(Vec::len), Some(4));
    assert_eq!(a[0]["function"], "has_table");
    assert_eq!(a[0]["kind"], "table");
    assert_eq!(a[0]["object"], "table:public.accounts");
    assert_eq!(a[0]["line"], 4);
    assert_eq!(a[0]["column"], 8);
    assert_eq!(a[0]["context"], "top");
    assert_eq!(a[0]["description"], "accounts table exists");
    assert_eq!(a[0]["resolution"], "exact");
    assert_eq!(a[1]["function"], "col_is_pk");
    assert_eq!(a[1]["object"], "column:public.accounts.id");
    assert_eq!(a[1]["line"], 5);
    // has_column(table, column): no description, unqualified name through the search path.
    assert_eq!(a[2]["object"], "column:public.accounts.email");
    assert_eq!(a[2]["description"], Value::Null);
    assert_eq!(a[3]["function"], "is");
    assert_eq!(a[3]["kind"], "none");
    assert_eq!(a[3]["object"], Value::Null);
    assert_eq!(a[3]["description"], "arithmetic still works");

    let x = file(&r, "tests/02_xunit.pg");
    assert_eq!(x["plan"], Value::Null);
    assert_eq!(x["assertions"][0]["context"], "body:test_billing");
    assert_eq!(x["assertions"][0]["line"], 3);
    assert_eq!(
        x["assertions"][0]["object"],
        "function:billing.charge(integer)"
    );

    let sum = &r["summary"];
    assert_eq!(sum["files"], 4);
    assert_eq!(sum["assertions"], 9);
    // runtests() runs tests; it is not an assertion.
    assert_eq!(
        sum["by_function"],
        json!({"col_is_pk": 1, "has_column": 1, "has_function": 1, "has_schema": 1,
               "has_table": 3, "is": 1, "ok": 1})
    );
    let by_function_total: u64 = sum["by_function"]
        .as_object()
        .expect("by_function")
        .values()
        .map(|v| v.as_u64().expect("count"))
        .sum();
    assert_eq!(by_function_total, sum["assertions"].as_u64().unwrap_or(0));
    assert_eq!(sum["by_kind"]["table"], 3);
    assert_eq!(sum["errors"], 0);
    assert_eq!(sum["plans"]["planned"], 2);
    assert_eq!(sum["plans"]["agree"], 2);

    let st = &r["stats"];
    let size: u64 = [
        "tests/01_accounts.sql",
        "tests/02_xunit.pg",
        "tests/03_runner.sql",
        "tests/helpers/two.sql",
    ]
    .iter()
    .map(|p| std::fs::metadata(dir.join(p)).expect("size").len())
    .sum();
    assert_eq!(st["files_discovered"], 4);
    assert_eq!(st["files_parsed"], 4);
    assert_eq!(st["files_failed"], 0);
    assert_eq!(st["bytes_read"], size);
    assert_eq!(st["batches"], 1);
    assert_eq!(st["mode"], "standard");
    assert_eq!(st["budget_bytes"], 512 * 1024 * 1024);
    let peak = st["peak_charged_bytes"].as_u64().expect("peak");
    assert!(peak > 0 && peak <= size, "{st}");
    assert_eq!(st["throttle_waits"], 0);
    assert!(st["throttle_ms"].is_u64());
    assert!(st["peak_heap_bytes"].as_u64().expect("heap") > 0);
    assert_eq!(st["heap_measured"], true);
    assert!(st["elapsed_ms"].is_u64());
    assert_eq!(st["cancelled"], false);
});

pgtest!(
    streaming_always_gives_the_same_summary_without_files,
    |dir, cmd| {
        suite(dir);
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

pgtest!(ndjson_one_line_per_file_then_summary, |dir, cmd| {
    suite(dir);
    let report = dir.command().arg("tests").json();
    let lines = cmd
        .args(["tests", "--format", "ndjson"])
        .expect_code(0)
        .ndjson();
    let files = report["files"].as_array().expect("files");
    let objects = report["objects"].as_array().expect("objects");
    assert!(!objects.is_empty());
    assert_eq!(lines.len(), files.len() + objects.len() + 1);
    // Standard mode: file lines sorted by path, the same objects as in the JSON report,
    // then one line per covered object, sorted by key.
    assert_eq!(&lines[..files.len()], &files[..]);
    assert_eq!(&lines[files.len()..lines.len() - 1], &objects[..]);
    let last = lines.last().expect("last line");
    assert_eq!(last["summary"], report["summary"]);
    assert_eq!(last["statistics"], report["statistics"]);
    assert_eq!(last["stats"]["files_parsed"], 4);
    assert!(last.get("files").is_none());
    assert!(last.get("path").is_none());

    // Streaming: the same file lines (in arrival order), the same last line.
    let streamed = dir
        .command()
        .args(["tests", "--format", "ndjson", "--streaming", "always"])
        .expect_code(0)
        .ndjson();
    assert_eq!(streamed.len(), lines.len());
    let key = |v: &Value| v.to_string();
    let a: BTreeSet<String> = lines[..files.len()].iter().map(key).collect();
    let b: BTreeSet<String> = streamed[..files.len()].iter().map(key).collect();
    assert_eq!(a, b);
    let last = streamed.last().expect("last line");
    assert_eq!(last["summary"], report["summary"]);
    assert_eq!(last["stats"]["mode"], "streaming");
});

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

pgtest!(
    stats_say_the_database_is_not_charged_to_the_budget,
    |dir, cmd| {
        // Enough distinct objects that the heap passes a 64 KiB budget, which charges only
        // file bytes in flight (a few KB here).
        let body: String = (0..400)
            .map(|i| format!("SELECT has_column('t{i}', 'c{i}');\n"))
            .collect();
        dir.create("t.sql", &body);
        let run = cmd.args(["--stats", "--max-memory", "64K"]).expect_code(0);
        run.assert_stderr_contains("peak charged")
            .assert_stderr_contains("the coverage database (800 objects) is not charged to it");
        let run = dir.command().args(["--stats"]).expect_code(0);
        run.assert_stderr_lacks("not charged to it");
    }
);

pgtest!(search_path_qualifies_unqualified_names, |dir, cmd| {
    dir.create("t.sql", "SELECT has_table('accounts');\n");
    let r = cmd.args(["--search-path", "app,public"]).json();
    assert_eq!(assertions(&r)[0]["object"], "table:app.accounts");
});

// ---------------------------------------------------------------------------------------
// The shared corpora (issue 2's done-when)
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

// ---------------------------------------------------------------------------------------
// Config file
// ---------------------------------------------------------------------------------------

const CONFIG: &str = r#"ext = ["pg"]

[[helper]]
name = "tests.rls_enabled"
kind = "table"
args = ["schema", "table"]
aspect = "rls"
"#;

pgtest!(config_file_sets_extensions_and_helpers, |dir, cmd| {
    dir.create(".pgtap-scan.toml", CONFIG)
        .create(
            "t/rls.pg",
            "SELECT tests.rls_enabled('public','accounts');\n",
        )
        .create("t/plain.sql", "SELECT has_table('plain');\n");
    let r = cmd.json();
    assert_eq!(paths(&r), s(&["t/rls.pg"]));
    let a = &assertions(&r)[0];
    assert_eq!(a["function"], "rls_enabled");
    assert_eq!(a["kind"], "table");
    assert_eq!(a["object"], "table:public.accounts");
    assert_eq!(a["aspect"], "rls");
    assert_eq!(a["resolution"], "helper");
    assert_eq!(r["summary"]["assertions"], 1);

    // Found from a subdirectory too (walking up).
    let r = dir.command().current_dir(dir.join("t")).json();
    assert_eq!(paths(&r), s(&["rls.pg"]));
    assert_eq!(assertions(&r)[0]["object"], "table:public.accounts");
});

pgtest!(a_flag_wins_over_the_config_file, |dir, cmd| {
    dir.create(".pgtap-scan.toml", CONFIG)
        .create("rls.pg", "SELECT tests.rls_enabled('public','accounts');\n")
        .create("plain.sql", "SELECT has_table('plain');\n");
    let r = cmd.args(["--ext", "sql"]).json();
    assert_eq!(paths(&r), s(&["plain.sql"]));

    // A helper declared in the file still applies when a flag overrides another setting.
    dir.create("both.sql", "SELECT tests.rls_enabled('public','t');\n");
    let r = dir.command().args(["--ext", "sql"]).json();
    assert_eq!(r["summary"]["by_function"]["rls_enabled"], 1);

    // --no-config: defaults. tests.rls_enabled is supabase-test-helpers' and known out of
    // the box; an undeclared helper is an unknown function.
    dir.create("other.pg", "SELECT tests.tenant_isolated('public','t');\n");
    let r = dir.command().arg("--no-config").json();
    assert_eq!(
        paths(&r),
        s(&["both.sql", "other.pg", "plain.sql", "rls.pg"])
    );
    assert_eq!(r["summary"]["by_function"]["rls_enabled"], 2);
    assert!(r["summary"]["by_function"].get("tenant_isolated").is_none());

    // --config FILE instead of the one found.
    std::fs::remove_file(dir.join("other.pg")).expect("remove");
    dir.create("other.toml", "ext = [\"sql\"]\n");
    let r = dir.command().args(["--config", "other.toml"]).json();
    assert_eq!(paths(&r), s(&["both.sql", "plain.sql"]));
});

pgtest!(broken_config_exits_2_naming_the_file, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);")
        .create(".pgtap-scan.toml", "ext = [\n");
    let run = cmd.expect_code(2);
    run.assert_stderr_contains(".pgtap-scan.toml: TOML parse error");
    assert!(run.stdout.is_empty());

    dir.create(".pgtap-scan.toml", "no_such_setting = 1\n");
    dir.command()
        .expect_code(2)
        .assert_stderr_contains(".pgtap-scan.toml")
        .assert_stderr_contains("no_such_setting");

    dir.create(".pgtap-scan.toml", "streaming = \"sometimes\"\n");
    dir.command()
        .expect_code(2)
        .assert_stderr_contains("sometimes");

    dir.command()
        .args(["--config", "absent.toml"])
        .expect_code(2)
        .assert_stderr_contains("absent.toml");

    // --no-config skips the broken file.
    dir.create(".pgtap-scan.toml", "ext = [\n");
    dir.command().arg("--no-config").expect_code(0);
});

pgtest!(
    missing_config_file_message_names_the_error_once,
    |dir, cmd| {
        let run = cmd.args(["--config", "absent.toml"]).expect_code(2);
        assert_eq!(
            run.stderr.matches("No such file or directory").count(),
            1,
            "the OS error is printed twice\n{run}"
        );
    }
);

// ---------------------------------------------------------------------------------------
// Extraction through the binary
// ---------------------------------------------------------------------------------------

pgtest!(
    include_commented_counts_commented_calls_marked,
    |dir, cmd| {
        dir.create(
            "t.sql",
            "SELECT plan(1);\n-- SELECT has_table('x');\nSELECT ok(true);\n",
        );
        let r = cmd.json();
        assert_eq!(r["summary"]["assertions"], 1);
        assert!(r["summary"]["by_function"].get("has_table").is_none());
        assert_eq!(r["summary"]["commented"], 0);
        assert!(assertions(&r).iter().all(|a| a.get("commented").is_none()));

        let r = dir.command().arg("--include-commented").json();
        assert_eq!(r["summary"]["assertions"], 2);
        assert_eq!(r["summary"]["commented"], 1);
        let a = assertions(&r);
        let commented: Vec<&Value> = a.iter().filter(|a| a["commented"] == true).collect();
        assert_eq!(commented.len(), 1);
        assert_eq!(commented[0]["function"], "has_table");
        assert_eq!(commented[0]["object"], "table:public.x");
        assert_eq!(commented[0]["line"], 2);
        // A commented call does not count towards the plan.
        assert_eq!(r["summary"]["plans"]["agree"], 1);
    }
);

pgtest!(include_commented_tolerates_prose_in_comments, |dir, cmd| {
    dir.create(
        "t.sql",
        "SELECT plan(1);\n\
             -- ok() is what we use below; don't forget: SELECT has_table('x');\n\
             SELECT ok(true);\n",
    );
    let run = cmd
        .args(["--include-commented", "--format", "json"])
        .expect_code(0);
    assert!(run.stderr.is_empty(), "no messages about prose\n{run}");
    let r = run.json();
    assert_eq!(r["summary"]["errors"], 0);
    assert_eq!(r["summary"]["commented"], 1, "{}", r["summary"]);
    assert_eq!(r["summary"]["by_function"]["has_table"], 1);
});

pgtest!(list_functions_prints_the_catalog, |dir, cmd| {
    let run = cmd.arg("--list-functions").expect_code(0);
    let names: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(names.len(), 228, "{run}");
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), 228, "names repeat");
    for f in [
        "has_table",
        "results_eq",
        "throws_ok",
        "col_is_pk",
        "ok",
        "is",
    ] {
        assert!(unique.contains(f), "{f} missing");
    }
    assert!(names.iter().all(|n| !n.is_empty() && !n.contains(' ')));
});

pgtest!(
    function_names_in_descriptions_are_not_counted,
    |dir, cmd| {
        dir.create(
            "t.sql",
            "SELECT plan(2);\n\
         SELECT ok(true, 'has_table(''y'') and col_is_pk(x) are only words here');\n\
         SELECT is(1, 1, E'throws_ok(\\'boom\\') is mentioned too');\n",
        );
        let r = cmd.json();
        assert_eq!(r["summary"]["by_function"], json!({"ok": 1, "is": 1}));
        assert_eq!(r["summary"]["plans"]["agree"], 1);
        assert_eq!(
            assertions(&r)[0]["description"],
            "has_table('y') and col_is_pk(x) are only words here"
        );
    }
);

pgtest!(
    sql_strings_given_to_results_eq_are_not_counted,
    |dir, cmd| {
        dir.create(
        "t.sql",
        "SELECT plan(2);\n\
         SELECT results_eq('SELECT has_table(''z'')', $$SELECT has_column('a', 'b')$$, 'results match');\n\
         SELECT set_eq('q', ARRAY['ok(true)'], 'set');\n",
    );
        let r = cmd.json();
        assert_eq!(
            r["summary"]["by_function"],
            json!({"results_eq": 1, "set_eq": 1}),
            "{}",
            r["summary"]
        );
    }
);

pgtest!(xunit_body_assertions_have_a_body_context, |dir, cmd| {
    dir.create(
        "x.sql",
        "\
CREATE OR REPLACE FUNCTION test_accounts() RETURNS SETOF TEXT LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEXT has_table('public', 'accounts', 'accounts exists');
  RETURN NEXT col_is_pk('public', 'accounts', 'id', 'pk');
END;
$$;
CREATE FUNCTION tests.test_more() RETURNS SETOF TEXT AS $body$
  SELECT has_view('v');
$body$ LANGUAGE sql;
DO $$ BEGIN PERFORM ok(true); END $$;
SELECT * FROM runtests();
",
    );
    let r = cmd.json();
    let a = assertions(&r);
    let ctx: Vec<(&str, &str, u64)> = a
        .iter()
        .map(|a| {
            (
                a["function"].as_str().unwrap_or_default(),
                a["context"].as_str().unwrap_or_default(),
                a["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        ctx,
        vec![
            ("has_table", "body:test_accounts", 3),
            ("col_is_pk", "body:test_accounts", 4),
            // The context names the function without its schema.
            ("has_view", "body:test_more", 8),
            ("ok", "do", 10),
        ]
    );
    assert_eq!(a[0]["object"], "table:public.accounts");
});

fn include_suite(dir: &Dir, planned: u32) {
    dir.create(
        "suite/runner.sql",
        format!(
            "SELECT plan({planned});\nSELECT has_table('runner_t');\n\\ir inc/two.sql\nSELECT * FROM finish();\n"
        ),
    )
    .create(
        "suite/inc/two.sql",
        "SELECT has_table('inc_a');\nSELECT has_table('inc_b');\n",
    );
}

pgtest!(included_files_count_towards_the_runner_plan, |dir, cmd| {
    include_suite(dir, 3);
    let run = cmd
        .args(["suite/runner.sql", "--format", "json", "--strict"])
        .expect_code(0);
    run.assert_stderr_lacks("plan(");
    let r = run.json();
    assert_eq!(r["summary"]["plans"]["checked"], 1);
    assert_eq!(r["summary"]["plans"]["agree"], 1);
    // Only the runner was scanned; its own assertion is the only one reported.
    assert_eq!(r["summary"]["assertions"], 1);
});

pgtest!(include_plan_mismatch_names_both_numbers, |dir, cmd| {
    include_suite(dir, 4);
    let run = cmd
        .args(["suite/runner.sql", "--format", "json"])
        .expect_code(0);
    run.assert_stderr_contains(
        "pgtap-scan: warning: suite/runner.sql:1: plan(4) but 3 tests found (1 in this file, 2 in included files)",
    );
    let r = run.json();
    assert_eq!(
        r["summary"]["plans"]["mismatches"],
        json!([{"path": "suite/runner.sql", "line": 1, "planned": 4, "found": 3, "from_includes": 2}])
    );
    dir.command()
        .args(["suite/runner.sql", "--strict"])
        .expect_code(1);
});

pgtest!(missing_include_is_a_warning_not_a_verdict, |dir, cmd| {
    dir.create(
        "runner.sql",
        "SELECT plan(2);\nSELECT ok(true);\n\\ir gone.sql\n",
    );
    let run = cmd.args(["--format", "json", "--strict"]).expect_code(0);
    run.assert_stderr_contains("runner.sql:3: included file")
        .assert_stderr_contains("gone.sql");
    let r = run.json();
    assert_eq!(r["summary"]["plans"]["checked"], 0);
});

// ---------------------------------------------------------------------------------------
// Known bugs (ignored until fixed in src/)
// ---------------------------------------------------------------------------------------

pgtest!(file_objects_have_a_single_plan_member, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(1);\nSELECT ok(true);\n");
    let run = cmd.args(["--format", "ndjson"]).expect_code(0);
    let first = run.stdout.lines().next().expect("a file line");
    let parsed = util::parse_json(first).expect("JSON");
    assert!(
        parsed.duplicates.is_empty(),
        "members repeated: {:?} in {first}",
        parsed.duplicates
    );
    // What a plain reader (last member wins) sees must be the contract's integer.
    let plain: Value = serde_json::from_str(first).expect("JSON");
    assert_eq!(plain["plan"], 1, "{first}");
});

#[test]

fn broken_pipe_on_stdout_is_quiet() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = Dir::new("broken_pipe");
    // Far more than a pipe buffer (64 KiB) of JSON, so the writer meets the closed pipe.
    let body: String = (0..5_000)
        .map(|i| format!("SELECT has_table('public', 't{i}', 'description {i}');\n"))
        .collect();
    dir.create("big.sql", body);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("pgtap-scan"))
        .current_dir(dir.path())
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout); // like `| head -c 16`
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Broken pipe"),
        "a closed stdout is reported as an error (exit {:?}): {stderr}",
        out.status.code()
    );
    assert_ne!(out.status.code(), Some(2), "{stderr}");
}

pgtest!(messages_are_kept_in_the_report, |dir, cmd| {
    dir.create("a.sql", "SELECT plan(1);\nSELECT has_table('x);\n")
        .create("b.sql", "SELECT plan(2);\nSELECT has_table('y');\n");
    let r = cmd.args(["a.sql", "b.sql"]).json();
    let messages = r["messages"].as_array().expect("messages");
    let texts: Vec<String> = messages
        .iter()
        .map(|m| {
            format!(
                "{} {}:{} {}",
                m["severity"].as_str().expect("severity"),
                m["path"].as_str().expect("path"),
                m["line"],
                m["text"].as_str().expect("text")
            )
        })
        .collect();
    assert!(
        texts.iter().any(|t| t.starts_with("error a.sql:2 ")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t == "warning b.sql:1 plan(2) but 1 tests found"),
        "{texts:?}"
    );
    assert_eq!(r["messages_omitted"], 0);
    assert_eq!(
        messages.len() as u64,
        r["summary"]["errors"].as_u64().expect("n") + r["summary"]["warnings"].as_u64().expect("n")
    );
    let text = dir
        .command()
        .args(["a.sql", "b.sql", "--color", "never"])
        .run()
        .stdout;
    assert!(text.contains("  error a.sql:2: "), "{text}");
});

/// Copies `from` into `to` with every LF replaced by `eol`.
fn copy_with_line_endings(from: &std::path::Path, to: &std::path::Path, eol: &[u8]) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_with_line_endings(&p, &dest, eol);
        } else {
            let src = std::fs::read(&p).expect("read");
            let mut out = Vec::with_capacity(src.len());
            for &b in &src {
                if b == b'\n' {
                    out.extend_from_slice(eol);
                } else {
                    out.push(b);
                }
            }
            std::fs::write(&dest, out).expect("write");
        }
    }
}

/// Each assertion as `file:line:column function object`, plus the includes and the message
/// counts: what must not depend on the line endings.
fn located_assertions(r: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for f in r["files"].as_array().expect("files") {
        let path = f["path"].as_str().expect("path");
        let name = path.rsplit_once("tests/").map_or(path, |(_, n)| n);
        for a in f["assertions"].as_array().expect("assertions") {
            out.push(format!(
                "{name}:{}:{} {} {}",
                a["line"], a["column"], a["function"], a["object"]
            ));
        }
        for i in f["includes"].as_array().expect("includes") {
            out.push(format!("{name} includes {}", i["path"]));
        }
        out.push(format!(
            "{name}: {} errors, {} warnings, plan {}",
            f["errors"].as_array().map_or(0, Vec::len),
            f["warnings"].as_array().map_or(0, Vec::len),
            f["plan"]
        ));
    }
    out.sort();
    out
}

pgtest!(
    lone_cr_line_endings_find_every_assertion_on_its_line,
    |dir, cmd| {
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/tests");
        copy_with_line_endings(&sample, &dir.join("cr/tests"), b"\r");
        copy_with_line_endings(&sample, &dir.join("crlf/tests"), b"\r\n");
        let lf = dir.command().arg(&sample).json();
        let cr = dir.command().arg("cr/tests").json();
        let crlf = dir.command().arg("crlf/tests").json();
        assert_eq!(lf["summary"]["assertions"], 316);
        assert_eq!(cr["summary"]["assertions"], 316);
        let expected = located_assertions(&lf);
        assert_eq!(located_assertions(&cr), expected);
        assert_eq!(located_assertions(&crlf), expected);
    }
);

pgtest!(
    a_directory_past_path_max_is_an_error_not_a_warning,
    |dir, cmd| {
        dir.create("tree/a.sql", "SELECT has_table('a');\n");
        // 22 levels of 200-byte names: over PATH_MAX (4096), so even root cannot open the
        // deepest directories by path. Made with relative mkdir + cd, which has no such limit.
        let made = std::process::Command::new("bash")
            .arg("-c")
            .arg(
                "cd tree && n=$(printf 'd%.0s' $(seq 1 200)) && \
             for i in $(seq 1 22); do mkdir \"$n\" && cd \"$n\" || exit 1; done && \
             echo \"SELECT has_table('deep');\" > deep.sql",
            )
            .current_dir(dir.path())
            .status()
            .expect("bash");
        assert!(made.success());
        let run = cmd.args(["tree", "-q", "--format", "json"]).expect_code(2);
        let r = run.json();
        assert_eq!(r["stats"]["inputs_not_scanned"], 1);
        assert_eq!(r["summary"]["errors"], 1);
        assert_eq!(r["summary"]["assertions"], 1, "tree/a.sql is still scanned");
        // -q hides warnings, never this.
        run.assert_stderr_contains("not scanned");
    }
);
