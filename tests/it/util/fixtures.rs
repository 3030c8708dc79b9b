//! Trees and runs that several test modules share: a small realistic suite, a migration
//! set with its suite, the fixtures run in place, and ways to read a report's plans.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Dir, Run};

/// A UTF-8 byte-order mark, which some editors write at the start of a file.
pub const BOM: &str = "\u{feff}";

/// A small realistic suite: a plain file with a plan, an xUnit file, a runner with a
/// `\ir` include and a helper file, plus files discovery must not take.
pub fn small_suite(dir: &Dir) {
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

/// A migration set (`db/migrations`) and a suite (`tests`): two tables, one tested.
pub fn two_tables_one_tested(dir: &Dir) {
    dir.create(
        "db/migrations/001_accounts.sql",
        "CREATE TABLE accounts (id int PRIMARY KEY);\n",
    )
    .create(
        "db/migrations/002_orders.sql",
        "CREATE TABLE orders (id int);\n",
    )
    .create(
        "tests/accounts.sql",
        "SELECT plan(1);\nSELECT has_table('accounts');\n",
    );
}

/// `fixtures/NAME` of the project.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// `pgtap-scan ARGS` run inside `fixtures/NAME` (usually `tests --schema migrations`),
/// without a config file, colours or a changing date.
pub fn in_fixture(name: &str, args: &[&str]) -> Run {
    let dir = Dir::new("schema-coverage");
    dir.command()
        .current_dir(fixture(name))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(args)
        .args(["--no-config", "--color", "never"])
        .run()
}

/// Owned strings, to compare with [`super::paths`].
pub fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// `summary.plans` of a JSON report: planned, checked, agreeing, and mismatched files.
pub fn plan_counts(report: &Value) -> (u64, u64, u64, u64) {
    let p = &report["summary"]["plans"];
    (
        p["planned"].as_u64().expect("planned"),
        p["checked"].as_u64().expect("checked"),
        p["agree"].as_u64().expect("agree"),
        p["mismatches"].as_array().map_or(0, |m| m.len() as u64),
    )
}

/// Copies the tree `from` into `to` (folders made as needed).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("the fixture").flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Makes `dir`'s work tree commit `n` of `fixtures/supabase-e2e` (its `supabase/`
/// replaced whole).
pub fn supabase_e2e_state(dir: &Dir, n: u32) {
    let _ = std::fs::remove_dir_all(dir.join("supabase"));
    copy_tree(
        &fixture("supabase-e2e").join(format!("commit-{n}")),
        dir.path(),
    );
}

/// `git ARGS` in `dir` with a fixed identity, no signing, `main` as the first branch and
/// no repository above `dir`: its stdout trimmed, or `None` when git is missing or fails.
pub fn git(dir: &Dir, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=ci", "-c", "user.email=ci@example.invalid"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir.path())
        .env(
            "GIT_CEILING_DIRECTORIES",
            dir.path().parent().unwrap_or(dir.path()),
        )
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
