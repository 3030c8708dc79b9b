//! Schema coverage from the command line: the universe (`--schema`, with the errors an empty
//! or unreadable one gives), the `Coverage: NN.N%` line, stale tests, and the CI formats
//! (lcov, cobertura, junit, github) on `fixtures/realworld` and `fixtures/sample`, the XML
//! ones validated against `schema/*.xsd` with xmllint (installed by scripts/test; with
//! CI=true a missing xmllint fails the test). `gaps` and `--fail-under`: `gaps.rs`,
//! `gates.rs`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{self, in_fixture, two_tables_one_tested, Dir, BOM};

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
    assert_eq!(objects, 535, "the realworld universe (schema_fixtures.rs)");
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
    assert_eq!((fnf, fnh), (535, 280));
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
    // GitHub shows 10 warnings a step: the rest are counted in a notice (ci_budgets.rs).
    assert_eq!(warnings, 10);
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
    assert!(run.stdout.contains("### Schema coverage: 52.3%"), "{run}");
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
        assert_eq!(last["coverage"]["overall"]["tested"], 280, "{mode}");
        assert_eq!(last["gaps"].as_array().expect("gaps").len(), 255);
        assert_eq!(last["universe_source"], "migrations");
        let errors: Vec<String> = v.iter_errors(&last).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{mode}: {errors:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Reading the universe
// ---------------------------------------------------------------------------------------

pgtest!(migrations_starting_with_a_bom_are_read, |dir, cmd| {
    dir.create("mig/001.sql", format!("{BOM}CREATE TABLE a (id int);\n"))
        .create(
            "mig/002.sql",
            format!("{BOM}CREATE TABLE b (id int);\nCREATE TABLE c (id int);\n"),
        )
        .create("t.sql", "SELECT has_table('a');\n");
    let run = cmd
        .args(["t.sql", "--schema", "mig", "--format", "json"])
        .expect_code(0);
    run.assert_stderr_lacks("skipped");
    let r = run.json();
    assert_eq!(r["coverage"]["by_kind"]["table"]["objects"], 3, "{run}");
    assert_eq!(r["coverage"]["by_kind"]["table"]["tested"], 1, "{run}");
});

pgtest!(
    a_schema_folder_without_sql_is_an_error_not_100_percent,
    |dir, cmd| {
        two_tables_one_tested(dir);
        dir.create("empty/README.md", "no SQL here\n");
        let run = cmd
            .args(["tests", "--schema", "empty", "--fail-under", "80"])
            .expect_code(2);
        run.assert_stderr_contains("empty")
            .assert_stderr_contains("no .sql file");
        assert!(!run.stdout.contains("100.0%"), "{run}");
        assert!(run.stdout.is_empty(), "{run}");
    }
);

pgtest!(a_schema_that_defines_no_object_is_an_error, |dir, cmd| {
    two_tables_one_tested(dir);
    dir.create("seed/001.sql", "INSERT INTO accounts VALUES (1);\n");
    let run = cmd
        .args(["tests", "--schema", "seed", "--fail-under", "80"])
        .expect_code(2);
    run.assert_stderr_contains("seed")
        .assert_stderr_contains("no object");
});

pgtest!(a_missing_schema_path_names_the_error_once, |dir, cmd| {
    two_tables_one_tested(dir);
    let run = cmd
        .args(["tests", "--schema", "db/migratons"])
        .expect_code(2);
    run.assert_stderr_contains("db/migratons: cannot read: no such file or directory");
    assert_eq!(run.stderr.matches("o such file").count(), 1, "{run}");
});

pgtest!(
    trigger_and_policy_on_a_platform_table_stay_in_the_universe,
    |dir, cmd| {
        // A Supabase project's `CREATE TRIGGER .. ON auth.users` was skipped ("unknown
        // relation auth.users"): the trigger was missing from the migration universe while
        // the live database has it.
        dir.create(
        "mig/001.sql",
        "create table public.profiles (id uuid primary key, name text);\n\
         create function public.handle_new_user() returns trigger language plpgsql as $$ begin return new; end $$;\n\
         create trigger on_auth_user_created after insert on auth.users\n\
         \x20 for each row execute procedure public.handle_new_user();\n\
         create policy \"own files\" on storage.objects for select using (true);\n\
         create trigger t_missing after insert on missing_table for each row execute procedure public.handle_new_user();\n",
    )
    .create(
        "t/a.sql",
        "select has_trigger('auth', 'users', 'on_auth_user_created', 'trigger exists');\n",
    );
        let run = cmd.args(["t", "--schema", "mig", "--format", "json"]).run();
        assert_eq!(run.code, Some(0), "{run}");
        let report = run.json();
        let gaps: Vec<&str> = report["gaps"]
            .as_array()
            .expect("gaps")
            .iter()
            .filter_map(|g| g["key"].as_str())
            .collect();
        assert!(
            gaps.contains(&"policy:storage.objects.\"own files\""),
            "{gaps:?}"
        );
        assert_eq!(report["coverage"]["by_kind"]["trigger"]["tested"], 1);
        // An unqualified table the migrations never create is still an unknown relation, and
        // the warning is in the report as on stderr.
        let msgs = report["messages"].as_array().expect("messages");
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert_eq!(msgs[0]["line"], 6);
        assert!(msgs[0]["text"]
            .as_str()
            .expect("text")
            .contains("schema statement skipped: unknown relation missing_table"));
        assert_eq!(report["summary"]["warnings"], 1);
        // Markdown and HTML list it too.
        for format in ["markdown", "html"] {
            let out = dir
                .command()
                .args(["t", "--schema", "mig", "--format", format])
                .expect_code(0);
            assert!(
                // Markdown escapes its punctuation (`_`).
                out.stdout.contains("unknown relation missing_table")
                    || out.stdout.contains("unknown relation missing\\_table"),
                "{format}: {}",
                out.stdout
            );
        }
    }
);

pgtest!(
    a_typo_in_a_public_table_is_still_an_unknown_relation,
    |dir, cmd| {
        dir.create(
            "mig/001.sql",
            "create table public.t (id int);\ncreate policy p on public.typo using (true);\n",
        )
        .create("t/a.sql", "select has_table('t');\n");
        let report = cmd.args(["t", "--schema", "mig"]).json();
        let msgs = report["messages"].as_array().expect("messages");
        assert!(
            msgs.iter().any(|m| m["text"]
                .as_str()
                .is_some_and(|t| t.contains("unknown relation public.typo"))),
            "{msgs:?}"
        );
    }
);

pgtest!(
    quiet_drops_the_coverage_line_and_a_text_file_ends_with_it,
    |dir, cmd| {
        two_tables_one_tested(dir);
        let run = cmd
            .args(["tests", "--schema", "db/migrations", "-f", "json", "-q"])
            .expect_code(0);
        run.assert_stderr_lacks("Coverage:");
        let run = dir
            .command()
            .args(["tests", "--schema", "db/migrations", "-o", "r.txt"])
            .expect_code(0);
        let text = std::fs::read_to_string(dir.join("r.txt")).expect("report written");
        assert_eq!(text.lines().last(), Some("Coverage: 20.0%"), "{text}");
        // stdout does not carry it: the CI log still gets it on stderr.
        run.assert_stderr_contains("Coverage: 20.0%");
    }
);
