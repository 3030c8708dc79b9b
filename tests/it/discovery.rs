//! Which files a scan reads: extensions, ignore files, hidden files, depth, globs, explicit
//! files and several roots, symbolic links, and inputs that cannot be read or hold no test
//! files. Every test runs the real binary on a temporary tree.
//!
//! Tests run as root here, where permissions do not make a file unreadable. An unreadable
//! test file is therefore either a path that does not exist or a named pipe (a path that
//! exists but is not a regular file, which the reader rejects).

use crate::util::{paths, s};

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

// ---------------------------------------------------------------------------------------
// Inputs that cannot be read, symbolic links
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

pgtest!(missing_path_exits_2, |dir, cmd| {
    let run = cmd.arg("no/such/dir").expect_code(2);
    run.assert_stderr_contains("pgtap-scan: no/such/dir: cannot read");
});

pgtest!(a_missing_scan_path_prints_no_report, |dir, cmd| {
    let run = cmd.args(["no/such/dir", "--format", "json"]).expect_code(2);
    run.assert_stderr_contains("no/such/dir");
    assert!(run.stdout.is_empty(), "{run}");
});

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
// Roots without test files
// ---------------------------------------------------------------------------------------

pgtest!(a_scan_root_without_test_files_exits_2, |dir, cmd| {
    dir.create("wrong/README.md", "not a test\n");
    let run = cmd.arg("wrong").expect_code(2);
    run.assert_stderr_contains("no test files found")
        .assert_stderr_contains("--allow-empty");
    assert!(run.stdout.is_empty(), "{run}");
});

pgtest!(allow_empty_accepts_a_root_without_test_files, |dir, cmd| {
    dir.create_dir("wrong");
    let run = cmd.args(["wrong", "--allow-empty"]).expect_code(0);
    assert!(run.stdout.contains("0 files"), "{run}");
    dir.create(".pgtap-scan.toml", "allow-empty = true\n");
    dir.command().arg("wrong").expect_code(0);
});
