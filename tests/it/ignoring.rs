//! Leaving objects out on purpose (issue 16): `ignore = [...]` in the config file,
//! `--ignore GLOB`, a `-- pgtap-scan: ignore` comment on a defining line, and
//! `--exclude-from-overall KINDS`. Ignored objects are listed as ignored (JSON, text,
//! markdown), never counted and never silently dropped.

use std::path::Path;

use serde_json::Value;

use crate::util::Dir;

fn tree(dir: &Dir) {
    dir.create(
        "db/001.sql",
        "\
CREATE SCHEMA extensions;
CREATE TABLE extensions.thing (id int);
CREATE TABLE users (
  id int PRIMARY KEY,
  legacy text
);
CREATE TABLE old_stuff (); -- pgtap-scan: ignore
CREATE TABLE kept (
  a int,
  b int -- pgtap-scan: ignore (generated)
);
",
    )
    .create(
        "t/a.sql",
        "SELECT has_table('users');\nSELECT has_column('users', 'id');\nSELECT has_table('kept');\nSELECT has_column('kept', 'a');\n",
    )
    .create(
        ".pgtap-scan.toml",
        "ignore = [\"index:*_pkey\", \"schema:extensions\"]\n",
    );
}

fn validate(report: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    let v = jsonschema::draft202012::new(&schema).expect("a valid schema");
    let errs: Vec<String> = v
        .iter_errors(report)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect();
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

pgtest!(ignored_objects_are_listed_not_counted, |dir, cmd| {
    tree(dir);
    let r = cmd
        .args([
            "t",
            "--schema",
            "db",
            "--ignore",
            "column:public.users.legacy",
        ])
        .json();
    validate(&r);
    let ignored: Vec<(&str, &str)> = r["ignored"]
        .as_array()
        .expect("ignored")
        .iter()
        .map(|i| {
            (
                i["key"].as_str().expect("key"),
                i["source"].as_str().expect("source"),
            )
        })
        .collect();
    assert_eq!(
        ignored,
        [
            ("schema:extensions", "config"),
            ("table:extensions.thing", "config"),
            ("table:public.old_stuff", "comment"),
            ("index:public.users.users_pkey", "config"),
            ("column:extensions.thing.id", "config"),
            ("column:public.kept.b", "comment"),
            ("column:public.users.legacy", "flag"),
        ]
    );
    // What is left: users, users.id, kept, kept.a: all tested.
    assert_eq!(r["coverage"]["overall"]["objects"], 4);
    assert_eq!(r["coverage"]["overall"]["percent"], 100.0);
    assert_eq!(r["gaps"].as_array().expect("gaps").len(), 0);
    assert!(r["coverage"]["by_kind"].get("schema").is_none());
    // The gate sees the same numbers.
    dir.command()
        .args([
            "t",
            "--schema",
            "db",
            "--ignore",
            "column:public.users.legacy",
        ])
        .args(["--fail-under", "100", "-q"])
        .expect_code(0);
    // Without the rules, the same tree is not fully tested.
    let r = dir
        .command()
        .args(["t", "--schema", "db", "--no-config"])
        .json();
    assert!(r["coverage"]["overall"]["percent"].as_f64().expect("pct") < 100.0);
    assert!(
        r.get("ignored").is_some(),
        "comments count without a config"
    );
});

pgtest!(ignored_objects_show_in_text_and_markdown, |dir, cmd| {
    tree(dir);
    let run = cmd
        .args(["t", "--schema", "db", "--color", "never"])
        .expect_code(0);
    assert!(
        run.stdout.contains(
            "ignored: 6 objects ignored on purpose, not counted (4 by the config's ignore, 2 by `-- pgtap-scan: ignore` comments)"
        ),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("index:public.users.users_pkey (index:*_pkey)"),
        "{run}"
    );
    let run = dir
        .command()
        .args(["t", "--schema", "db", "--format", "markdown"])
        .expect_code(0);
    assert!(
        run.stdout
            .contains("<details><summary>6 objects ignored on purpose"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("| `table:public.old_stuff` | `-- pgtap-scan: ignore` | no | db/001.sql:7 |"),
        "{run}"
    );
});

pgtest!(kinds_can_leave_the_overall_percentage, |dir, cmd| {
    dir.create("db/001.sql", "CREATE TABLE a (x int, y int, z int);\n")
        .create("t/a.sql", "SELECT has_table('a');\n");
    let r = cmd
        .args([
            "t",
            "--schema",
            "db",
            "--no-config",
            "--exclude-from-overall",
            "columns",
        ])
        .json();
    validate(&r);
    assert_eq!(r["coverage"]["overall"]["objects"], 1);
    assert_eq!(r["coverage"]["overall"]["percent"], 100.0);
    assert_eq!(r["coverage"]["by_kind"]["column"]["objects"], 3);
    assert_eq!(
        r["coverage"]["excluded_from_overall"],
        serde_json::json!(["column"])
    );
    // Columns are still gaps, listed; the overall gate passes, a column gate does not.
    assert_eq!(r["gaps"].as_array().expect("gaps").len(), 3);
    dir.command()
        .args([
            "t",
            "--schema",
            "db",
            "--no-config",
            "--exclude-from-overall",
            "column",
        ])
        .args(["--fail-under", "100", "-q"])
        .expect_code(0);
    dir.command()
        .args([
            "t",
            "--schema",
            "db",
            "--no-config",
            "--exclude-from-overall",
            "column",
        ])
        .args(["--fail-under", "column=100", "-q"])
        .expect_code(1);
    // The config file says the same.
    dir.create(".pgtap-scan.toml", "exclude-from-overall = [\"column\"]\n");
    let r = dir.command().args(["t", "--schema", "db"]).json();
    assert_eq!(r["coverage"]["overall"]["percent"], 100.0);
});

pgtest!(a_bad_ignore_pattern_names_where_it_is, |dir, cmd| {
    tree(dir);
    dir.create(".pgtap-scan.toml", "ignore = [\"tabel:*\"]\n");
    let run = cmd.args(["t", "--schema", "db"]).expect_code(2);
    run.assert_stderr_contains(
        ".pgtap-scan.toml: ignore = \"tabel:*\": \"tabel\" is not an object kind",
    );
    let run = dir
        .command()
        .args(["t", "--schema", "db", "--no-config", "--ignore", "users"])
        .expect_code(2);
    run.assert_stderr_contains("--ignore \"users\" is not a key pattern");
    let run = dir
        .command()
        .args([
            "t",
            "--schema",
            "db",
            "--no-config",
            "--exclude-from-overall",
            "colums",
        ])
        .expect_code(2);
    run.assert_stderr_contains("--exclude-from-overall: \"colums\" is not an object kind");
});
