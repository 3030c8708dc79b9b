//! Schema coverage from the command line: `--schema`, `gaps`, `--fail-under` gates (flags
//! and config), the `Coverage: NN.N%` line, stale tests, and the CI formats (lcov,
//! cobertura, junit, github) on `fixtures/realworld` and `fixtures/sample`, the XML ones
//! validated against `schema/*.xsd` with xmllint (installed by scripts/test; with CI=true
//! a missing xmllint fails the test).

#[macro_use]
mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use util::Dir;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// `pgtap-scan [ARGS] tests --schema migrations` run inside a fixture.
fn in_fixture(name: &str, args: &[&str]) -> util::Run {
    let dir = Dir::new("schema-coverage");
    dir.command()
        .current_dir(fixture(name))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(args)
        .args(["--no-config", "--color", "never"])
        .run()
}

fn json(run: &util::Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"))
}

#[test]
fn realworld_coverage_numbers_add_up() {
    let run = in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", "json"],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let r = json(&run);
    assert_eq!(r["universe_source"], "migrations");
    let overall = &r["coverage"]["overall"];
    let (objects, tested) = (
        overall["objects"].as_u64().expect("objects"),
        overall["tested"].as_u64().expect("tested"),
    );
    assert_eq!(
        objects, 533,
        "the realworld universe (tests/schema_fixtures.rs)"
    );
    assert_eq!(
        r["gaps"].as_array().expect("gaps").len() as u64,
        objects - tested
    );
    let by_kind = r["coverage"]["by_kind"].as_object().expect("by_kind");
    let sum: u64 = by_kind
        .values()
        .map(|k| k["objects"].as_u64().expect("n"))
        .sum();
    assert_eq!(sum, objects);
    assert_eq!(by_kind["table"]["objects"], 36);
    // The five ambiguous has_index calls are decided by the schema.
    assert_eq!(r["ambiguous_decided"], 5);
    assert_eq!(r["ambiguous_undecided"], 0);
    // Gaps: most important kinds first.
    let kinds: Vec<&str> = r["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| g["kind"].as_str().expect("kind"))
        .collect();
    let first_column = kinds.iter().position(|k| *k == "column").expect("a column");
    assert!(kinds[..first_column].contains(&"table"));
    assert!(!kinds[first_column..].contains(&"table"));
    // A dropped column's hasnt_column is stale, marked as passing only through absence.
    let stale = r["stale"].as_array().expect("stale");
    let dropped = stale
        .iter()
        .find(|s| s["key"] == "table:app.ticket_comments")
        .expect("the renamed table's hasnt_table");
    assert_eq!(dropped["only_absent"], true);
}

#[test]
fn gaps_subcommand_lists_every_gap() {
    let run = in_fixture("realworld", &["gaps", "tests", "--schema", "migrations"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.stdout.lines().last(), Some("Coverage: 41.6%"));
    insta::assert_snapshot!("realworld_gaps", run.stdout);
}

#[test]
fn text_report_ends_with_the_coverage_line() {
    let run = in_fixture("sample", &["tests", "--schema", "migrations"]);
    assert_eq!(run.code, Some(0), "{run}");
    let last = run.stdout.lines().last().expect("a line");
    assert!(
        last.starts_with("Coverage: ") && last.ends_with('%'),
        "{last}"
    );
    // With a machine format on stdout the line goes to stderr.
    let run = in_fixture(
        "sample",
        &["tests", "--schema", "migrations", "--format", "json"],
    );
    json(&run);
    assert!(
        run.stderr.lines().any(|l| l.starts_with("Coverage: ")),
        "{run}"
    );
}

#[test]
fn gates_fail_and_pass_with_exit_codes() {
    let base = ["tests", "--schema", "migrations", "-q"];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        in_fixture("realworld", &args)
    };
    let ok = run(&["--fail-under", "40"]);
    assert_eq!(ok.code, Some(0), "{ok}");
    let below = run(&["--fail-under", "42"]);
    assert_eq!(below.code, Some(1), "{below}");
    assert!(
        below
            .stderr
            .contains("overall coverage 41.6% (222 of 533) is below 42%"),
        "{below}"
    );
    let kinds = run(&["--fail-under", "tables=97,views=100,policy=30"]);
    assert_eq!(kinds.code, Some(0), "{kinds}");
    let kinds = run(&["--fail-under", "tables=100,policies=100"]);
    assert_eq!(kinds.code, Some(1), "{kinds}");
    assert!(kinds
        .stderr
        .contains("table coverage 97.2% (35 of 36) is below 100%"));
    assert!(kinds.stderr.contains("policy coverage"));
    let bad = run(&["--fail-under", "table=lots"]);
    assert_eq!(bad.code, Some(2), "{bad}");
    assert!(bad.stderr.contains("is not a percentage"), "{bad}");
}

pgtest!(gates_from_the_config_file, |dir, cmd| {
    dir.create(
        "db/001.sql",
        "CREATE TABLE users (id int PRIMARY KEY, email text);\nCREATE TABLE orders (id int);\n",
    )
    .create(
        "t/a.sql",
        "SELECT plan(2);\nSELECT has_table('users');\nSELECT has_column('users', 'email');\n",
    )
    .create(
        ".pgtap-scan.toml",
        "paths = [\"t\"]\nschema = [\"db\"]\n[fail-under]\noverall = 10\ntables = 100\n",
    );
    let run = cmd.run();
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("table coverage 50.0% (1 of 2) is below 100%"),
        "{run}"
    );
    assert!(!run.stderr.contains("overall coverage"), "{run}");
    // A flag wins over the file.
    let run = dir.command().args(["--fail-under", "20"]).run();
    assert_eq!(run.code, Some(0), "{run}");
    // users, users.id, users.email, users_pkey, orders, orders.id: 2 tested of 6.
    assert_eq!(run.stdout.lines().last(), Some("Coverage: 33.3%"), "{run}");
});

pgtest!(stale_tests_and_renamed_objects, |dir, cmd| {
    dir.create(
        "db/001.sql",
        "CREATE TABLE users (id int, name text);\nALTER TABLE users RENAME COLUMN name TO full_name;\n",
    )
    .create(
        "t/a.sql",
        "SELECT has_column('users', 'name');\nSELECT hasnt_column('users', 'nick');\nSELECT has_column('users', 'full_name');\n",
    );
    let r = cmd
        .args(["t", "--schema", "db", "--format", "json"])
        .expect_code(0)
        .json();
    let stale: Vec<(&str, bool)> = r["stale"]
        .as_array()
        .expect("stale")
        .iter()
        .map(|s| {
            (
                s["key"].as_str().expect("key"),
                s["only_absent"].as_bool().expect("bool"),
            )
        })
        .collect();
    assert_eq!(
        stale,
        [
            ("column:public.users.name", false),
            ("column:public.users.nick", true)
        ]
    );
    assert_eq!(r["coverage"]["by_kind"]["column"]["tested"], 1);
});

pgtest!(universe_errors_are_clear, |dir, cmd| {
    dir.create("t/a.sql", "SELECT has_table('users');\n");
    let run = cmd.args(["t", "--fail-under", "50"]).run();
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr.contains("--fail-under needs a universe"),
        "{run}"
    );
    let run = dir.command().args(["t", "--format", "lcov"]).run();
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("add --schema PATH"), "{run}");
    let run = dir.command().args(["gaps", "t"]).run();
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("gaps needs a universe"), "{run}");
    let run = dir.command().args(["t", "--schema", "nope"]).run();
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("nope"), "{run}");
    let run = dir
        .command()
        .args([
            "t",
            "--schema",
            "t",
            "--database-url",
            "postgres://x@127.0.0.1:1/x",
        ])
        .run();
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("not both"), "{run}");
    let run = dir
        .command()
        .args(["t", "--database-url", "postgres://x@127.0.0.1:1/x"])
        .run();
    assert_eq!(run.code, Some(2), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run}");
});

#[test]
fn lcov_maps_objects_to_migration_lines() {
    let run = in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", "lcov"],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let out = &run.stdout;
    let records = out.matches("end_of_record").count();
    assert_eq!(records, out.matches("SF:").count());
    let fnf: u64 = out
        .lines()
        .filter_map(|l| l.strip_prefix("FNF:"))
        .map(|n| n.parse::<u64>().expect("FNF"))
        .sum();
    let fnh: u64 = out
        .lines()
        .filter_map(|l| l.strip_prefix("FNH:"))
        .map(|n| n.parse::<u64>().expect("FNH"))
        .sum();
    assert_eq!((fnf, fnh), (533, 222));
    assert!(out.lines().all(|l| !l.starts_with("DA:0,")));
    insta::assert_snapshot!("realworld_lcov", out);
}

#[test]
fn github_annotations_for_gaps_and_stale_tests() {
    let run = in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", "github"],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let warnings = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::warning file="))
        .count();
    assert_eq!(warnings, 533 - 222);
    insta::assert_snapshot!("realworld_github", run.stdout);
}

/// Validates with xmllint against a schema of `schema/`; `None` when xmllint is missing
/// outside CI.
fn xmllint(xml: &str, xsd: &str) -> Option<Result<(), String>> {
    let Ok(probe) = Command::new("xmllint").arg("--version").output() else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true" && v != "1"),
            "CI=true and xmllint is missing (scripts/test installs libxml2-utils)"
        );
        eprintln!("schema_coverage: xmllint not installed, XML not validated");
        return None;
    };
    let _ = probe;
    let dir = Dir::new("xmllint");
    dir.create("report.xml", xml);
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(xsd);
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(dir.join("report.xml"))
        .output()
        .expect("xmllint runs");
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

#[test]
fn xml_formats_validate_against_their_schemas() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "realworld",
            &["--schema", "migrations", "--format", "cobertura"],
            "cobertura.xsd",
        ),
        (
            "realworld",
            &["--schema", "migrations", "--format", "junit"],
            "junit.xsd",
        ),
        (
            "sample",
            &["--schema", "migrations", "--format", "cobertura"],
            "cobertura.xsd",
        ),
        ("sample", &["--format", "junit"], "junit.xsd"),
    ];
    for (fx, args, xsd) in cases {
        let mut all = vec!["tests"];
        all.extend_from_slice(args);
        let run = in_fixture(fx, &all);
        assert_eq!(run.code, Some(0), "{run}");
        if let Some(r) = xmllint(&run.stdout, xsd) {
            r.unwrap_or_else(|e| panic!("{fx} {args:?} does not validate:\n{e}"));
        }
    }
    // The schemas can fail: a negative hit count and a test case without a name.
    let run = in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", "cobertura"],
    );
    let broken = run.stdout.replacen("hits=\"0\"", "hits=\"-1\"", 1);
    if let Some(r) = xmllint(&broken, "cobertura.xsd") {
        assert!(r.is_err(), "cobertura.xsd accepts a negative hit count");
    }
    let run = in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", "junit"],
    );
    let broken = run
        .stdout
        .replacen("<testcase name=", "<testcase title=", 1);
    if let Some(r) = xmllint(&broken, "junit.xsd") {
        assert!(r.is_err(), "junit.xsd accepts a test case without a name");
    }
    insta::assert_snapshot!("realworld_cobertura", run_cobertura());
    insta::assert_snapshot!("realworld_junit_universe", run.stdout);
}

fn run_cobertura() -> String {
    in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", "cobertura"],
    )
    .stdout
}

#[test]
fn universe_report_matches_the_json_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json"),
        )
        .expect("schema"),
    )
    .expect("json");
    let v = jsonschema::draft202012::new(&schema).expect("valid schema");
    for fx in ["sample", "realworld"] {
        for mode in ["never", "always"] {
            let r = json(&in_fixture(
                fx,
                &[
                    "tests",
                    "--schema",
                    "migrations",
                    "--format",
                    "json",
                    "--streaming",
                    mode,
                ],
            ));
            let errors: Vec<String> = v
                .iter_errors(&r)
                .map(|e| format!("{}: {e}", e.instance_path))
                .collect();
            assert!(errors.is_empty(), "{fx} ({mode}):\n{}", errors.join("\n"));
        }
    }
    // Part of the schema-coverage members without the rest is rejected.
    let mut r = json(&in_fixture(
        "sample",
        &["tests", "--schema", "migrations", "--format", "json"],
    ));
    r.as_object_mut().expect("object").remove("gaps");
    assert!(!v.is_valid(&r));
}

#[test]
fn markdown_summary_leads_with_schema_coverage() {
    let run = in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", "markdown"],
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("### Schema coverage: 41.6%"), "{run}");
    assert_eq!(
        run.stdout.matches("<details>").count(),
        run.stdout.matches("</details>").count()
    );
    insta::assert_snapshot!("realworld_markdown", run.stdout);
}

#[test]
fn ndjson_last_line_carries_the_schema_coverage() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json"),
        )
        .expect("schema"),
    )
    .expect("json");
    let last_schema = serde_json::json!({
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "$ref": "#/$defs/ndjsonLast",
    });
    let v = jsonschema::draft202012::new(&last_schema).expect("valid schema");
    for mode in ["never", "always"] {
        let run = in_fixture(
            "realworld",
            &[
                "tests",
                "--schema",
                "migrations",
                "--format",
                "ndjson",
                "--streaming",
                mode,
            ],
        );
        assert_eq!(run.code, Some(0), "{run}");
        let last: Value =
            serde_json::from_str(run.stdout.lines().last().expect("a line")).expect("json line");
        assert_eq!(last["coverage"]["overall"]["tested"], 222, "{mode}");
        assert_eq!(last["gaps"].as_array().expect("gaps").len(), 311);
        assert_eq!(last["universe_source"], "migrations");
        let errors: Vec<String> = v.iter_errors(&last).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{mode}: {errors:?}");
    }
}
