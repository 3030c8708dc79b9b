//! The platforms' budgets (issue 16): GitHub shows 10 annotations of each level per step
//! and drops the rest silently, so `--format github` writes at most 10 warnings, most
//! important first, and one notice saying how many more; `--changed-files` / `--since`
//! keep them to the files a change touches. The markdown report fits `--max-bytes`
//! (65,000 by default) without cutting a table row. Each at its limit.

use std::process::Command;

use crate::util::{in_fixture, Dir};

fn warnings(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.starts_with("::warning "))
        .collect()
}

fn notices(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("::notice ")).collect()
}

/// `n` untested tables, one migration file each, and a test of something else.
fn untested_tables(dir: &Dir, n: usize) {
    for i in 0..n {
        dir.create(
            format!("db/{i:03}.sql"),
            format!("CREATE TABLE t{i:03} ();\n"),
        );
    }
    dir.create("t/a.sql", "SELECT has_schema('public');\n");
}

#[test]
fn github_writes_ten_warnings_most_important_first_then_says_how_many_more() {
    let run = in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", "github"],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let w = warnings(&run.stdout);
    assert_eq!(w.len(), 10, "{run}");
    // The realworld gaps open with its one untested table, then functions.
    assert!(w[0].contains("title=Untested table::"), "{}", w[0]);
    assert!(w[1..].iter().all(|l| !l.contains("Untested column")));
    let n = notices(&run.stdout);
    assert!(n.len() <= 10, "{run}");
    let more = n
        .iter()
        .find(|l| l.contains("title=More pgTAP coverage gaps"))
        .expect("the notice saying how many more");
    assert!(
        more.contains("245 more untested objects over GitHub's 10 warnings per step"),
        "{more}"
    );
    assert!(more.contains("`pgtap-scan gaps` lists every untested object"));
    assert!(n
        .last()
        .expect("a notice")
        .contains("280 of 535 objects tested"));
}

pgtest!(
    github_ten_untested_objects_need_no_more_notice,
    |dir, cmd| {
        untested_tables(dir, 10);
        let run = cmd
            .args(["t", "--schema", "db", "--format", "github"])
            .expect_code(0);
        assert_eq!(warnings(&run.stdout).len(), 10);
        assert!(!run.stdout.contains("More pgTAP coverage gaps"), "{run}");
    }
);

pgtest!(
    github_eleven_untested_objects_leave_one_to_the_notice,
    |dir, cmd| {
        untested_tables(dir, 11);
        let run = cmd
            .args(["t", "--schema", "db", "--format", "github"])
            .expect_code(0);
        assert_eq!(warnings(&run.stdout).len(), 10);
        assert!(
            run.stdout.contains(
                "Not annotated: 1 more untested object over GitHub's 10 warnings per step."
            ),
            "{run}"
        );
    }
);

pgtest!(github_stale_notices_keep_two_for_the_summary, |dir, cmd| {
    dir.create("db/001.sql", "CREATE TABLE a ();\n");
    let tests: String = (0..12)
        .map(|i| format!("SELECT has_table('gone{i:02}');\n"))
        .collect();
    dir.create("t/a.sql", format!("SELECT has_table('a');\n{tests}"));
    let run = cmd
        .args(["t", "--schema", "db", "--format", "github"])
        .expect_code(0);
    let n = notices(&run.stdout);
    assert_eq!(n.len(), 10, "{run}");
    assert_eq!(n.iter().filter(|l| l.contains("Stale pgTAP")).count(), 8);
    assert!(
        run.stdout
            .contains("4 more stale tests over its 10 notices"),
        "{run}"
    );
});

pgtest!(changed_files_limit_the_annotations, |dir, cmd| {
    untested_tables(dir, 30);
    dir.create("changed.txt", "./db/007.sql\n\ndb/012.sql\nREADME.md\n");
    let run = cmd
        .args(["t", "--schema", "db", "--format", "github"])
        .args(["--changed-files", "changed.txt"])
        .expect_code(0);
    let w = warnings(&run.stdout);
    assert_eq!(w.len(), 2, "{run}");
    assert!(w[0].contains("file=db/007.sql") && w[1].contains("file=db/012.sql"));
    assert!(
        run.stdout
            .contains("28 untested objects and 0 stale tests in files this change does not touch"),
        "{run}"
    );
    // The same list on stdin.
    let run = dir
        .command()
        .args([
            "t",
            "--schema",
            "db",
            "--format",
            "github",
            "--changed-files",
            "-",
        ])
        .stdin("db/007.sql\n")
        .expect_code(0);
    assert_eq!(warnings(&run.stdout).len(), 1, "{run}");
    // A list that cannot be read is an error before the scan.
    let run = dir
        .command()
        .args([
            "t",
            "--schema",
            "db",
            "--format",
            "github",
            "--changed-files",
            "nope.txt",
        ])
        .expect_code(2);
    run.assert_stderr_contains("--changed-files nope.txt");
});

fn git(dir: &Dir, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir.path())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// A repository of what `dir` holds on `main`, and a branch `feature` off it that adds
/// `db/100.sql` (table `added`).
fn branch_adding_a_table(dir: &Dir) {
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "base"]);
    git(dir, &["checkout", "-qb", "feature"]);
    dir.create("db/100.sql", "CREATE TABLE added ();\n");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "a new table"]);
}

pgtest!(since_annotates_what_the_branch_changed, |dir, cmd| {
    untested_tables(dir, 3);
    branch_adding_a_table(dir);
    let run = cmd
        .args([
            "t", "--schema", "db", "--format", "github", "--since", "main",
        ])
        .expect_code(0);
    let w = warnings(&run.stdout);
    assert_eq!(w.len(), 1, "{run}");
    assert!(w[0].contains("file=db/100.sql") && w[0].contains("table:public.added"));
    // From a folder below the root, paths stay relative to where the scan runs.
    dir.create("sub/db/1.sql", "CREATE TABLE deep ();\n")
        .create("sub/t/a.sql", "SELECT has_schema('public');\n");
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "sub"]);
    let run = dir
        .command()
        .current_dir(dir.join("sub"))
        .args([
            "t", "--schema", "db", "--format", "github", "--since", "main",
        ])
        .expect_code(0);
    assert_eq!(warnings(&run.stdout).len(), 1, "{run}");
    assert!(run.stdout.contains("file=db/1.sql"), "{run}");
    // An unknown revision is an error naming it.
    let run = dir
        .command()
        .args([
            "t",
            "--schema",
            "db",
            "--format",
            "github",
            "--since",
            "no-such-ref",
        ])
        .expect_code(2);
    run.assert_stderr_contains("--since no-such-ref");
});

pgtest!(
    since_sees_changes_above_a_scan_run_below_the_root_config,
    |dir, _cmd| {
        untested_tables(dir, 3);
        dir.create(".pgtap-scan.toml", "paths = [\"t\"]\nschema = \"db\"\n")
            .create("ci/README", "where the job runs\n");
        branch_adding_a_table(dir);
        // The config is found upwards and its paths read from its folder; the change is
        // above the working directory, and the annotation's path is from the root.
        let run = dir
            .command()
            .current_dir(dir.join("ci"))
            .args(["--format", "github", "--since", "main"])
            .expect_code(0);
        let w = warnings(&run.stdout);
        assert_eq!(w.len(), 1, "{run}");
        assert!(
            w[0].contains("file=db/100.sql") && w[0].contains("table:public.added"),
            "{run}"
        );
        // The same change as a --changed-files list, relative to the working directory.
        dir.create("ci/changed.txt", "../db/100.sql\n");
        let run = dir
            .command()
            .current_dir(dir.join("ci"))
            .args(["--format", "github", "--changed-files", "changed.txt"])
            .expect_code(0);
        assert_eq!(warnings(&run.stdout).len(), 1, "{run}");
    }
);

pgtest!(
    since_outside_a_git_repository_is_a_clear_error,
    |dir, cmd| {
        untested_tables(dir, 1);
        let run = cmd
            .args([
                "t", "--schema", "db", "--format", "github", "--since", "main",
            ])
            .env(
                "GIT_CEILING_DIRECTORIES",
                dir.path().parent().expect("a parent"),
            )
            .expect_code(2);
        run.assert_stderr_contains("--since main: not inside a git repository");
        assert_eq!(run.stdout, "", "{run}");
    }
);

pgtest!(
    changed_files_with_another_format_is_a_warning,
    |dir, cmd| {
        untested_tables(dir, 1);
        dir.create("changed.txt", "db/000.sql\n");
        let run = cmd
            .args([
                "t",
                "--schema",
                "db",
                "--format",
                "json",
                "--changed-files",
                "changed.txt",
            ])
            .expect_code(0);
        run.assert_stderr_contains("limit the annotations of --format github; the json report");
    }
);

/// Every line of a markdown table is a whole row.
fn whole_rows(md: &str) {
    for l in md.lines().filter(|l| l.starts_with('|')) {
        assert!(l.ends_with('|'), "a cut row: {l}");
    }
}

#[test]
fn markdown_fits_max_bytes_without_cutting_a_row() {
    let full = in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", "markdown"],
    );
    assert_eq!(full.code, Some(0), "{full}");
    let len = full.stdout.len();
    assert!(len < 65_000, "under the default: {len}");
    // At the limit: exactly its size leaves it whole; one byte less cuts it.
    let at = |max: usize| {
        let run = in_fixture(
            "realworld",
            &[
                "tests",
                "--schema",
                "migrations",
                "--format",
                "markdown",
                "--max-bytes",
                &max.to_string(),
            ],
        );
        assert_eq!(run.code, Some(0), "{run}");
        run.stdout
    };
    assert_eq!(at(len), full.stdout);
    let cut = at(len - 1);
    assert!(cut.len() < len, "{}", cut.len());
    assert!(cut.contains("more rows (cut to fit --max-bytes"));
    whole_rows(&cut);
    for max in [4_000, 8_000, 20_000] {
        let out = at(max);
        assert!(out.len() <= max, "{max}: {}", out.len());
        whole_rows(&out);
        assert_eq!(
            out.matches("<details>").count(),
            out.matches("</details>").count()
        );
    }
}

pgtest!(
    markdown_keeps_under_the_comment_limit_by_default,
    |dir, cmd| {
        // Enough kinds of objects with long names that the collapsed lists (100 rows a kind)
        // pass 65,000 bytes.
        let name = |i: usize| format!("a_rather_long_name_for_an_object_of_this_schema_{i:05}");
        let tables: String = (0..200)
            .map(|i| {
                let n = name(i);
                format!(
                    "CREATE TABLE t_{n} (id serial PRIMARY KEY, value_of_the_row text);\n\
                 CREATE VIEW v_{n} AS SELECT 1 AS one;\n\
                 CREATE TYPE ty_{n} AS (x int);\n\
                 CREATE FUNCTION f_{n}() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
                )
            })
            .collect();
        let tests: String = (0..200)
            .step_by(2)
            .map(|i| {
                let n = name(i);
                format!(
                    "SELECT has_table('t_{n}');\nSELECT has_column('t_{n}', 'id');\n\
                 SELECT has_view('v_{n}');\nSELECT has_type('ty_{n}');\n\
                 SELECT has_function('f_{n}');\nSELECT has_sequence('t_{n}_id_seq');\n\
                 SELECT has_index('t_{n}', 't_{n}_pkey');\n"
                )
            })
            .collect();
        dir.create("db/001.sql", tables).create("t/a.sql", tests);
        let run = cmd
            .args(["t", "--schema", "db", "--format", "markdown"])
            .expect_code(0);
        assert!(run.stdout.len() <= 65_000, "{}", run.stdout.len());
        assert!(
            run.stdout.len() > 60_000,
            "uses the room: {}",
            run.stdout.len()
        );
        whole_rows(&run.stdout);
        // 0 lifts the limit; the step summary's 1 MiB is a number away.
        let run = dir
            .command()
            .args([
                "t",
                "--schema",
                "db",
                "--format",
                "markdown",
                "--max-bytes",
                "0",
            ])
            .expect_code(0);
        assert!(run.stdout.len() > 65_000, "{}", run.stdout.len());
    }
);

pgtest!(max_bytes_below_the_minimum_is_refused, |dir, cmd| {
    untested_tables(dir, 1);
    let run = cmd
        .args([
            "t",
            "--schema",
            "db",
            "--format",
            "markdown",
            "--max-bytes",
            "100",
        ])
        .expect_code(2);
    run.assert_stderr_contains("at least 1024");
});
