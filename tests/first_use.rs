//! What real suites and first-time users hit (issue 12): input that was lost without a
//! word, gates that passed on missing data, and messages that misled. Every test runs the
//! real binary on a small temporary tree shaped like the case that was reported.

#[macro_use]
mod util;

use serde_json::Value;
use util::Dir;

const BOM: &str = "\u{feff}";

/// A migration set and a suite: two tables, one tested.
fn project(dir: &Dir) {
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

// ---------------------------------------------------------------------------------------
// 1. Byte-order marks
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
    test_files_and_includes_starting_with_a_bom_keep_honest_columns,
    |dir, cmd| {
        dir.create(
            "tests/t.sql",
            format!("{BOM}SELECT plan(2);\nSELECT has_table('a');\n\\ir inc.sql\n"),
        )
        .create("tests/inc.sql", format!("{BOM}SELECT has_table('b');\n"))
        .create("tests/r.sql", format!("{BOM}\\ir inc.sql\n"));
        let r = cmd.arg("tests").json();
        let inc = util::file(&r, "tests/inc.sql");
        // `SELECT has_table`: the call is at column 8 of line 1, BOM or not.
        assert_eq!(inc["assertions"][0]["line"], 1, "{inc}");
        assert_eq!(inc["assertions"][0]["column"], 8, "{inc}");
        let t = util::file(&r, "tests/t.sql");
        assert_eq!(t["plan"], 2, "{t}");
        let runner = util::file(&r, "tests/r.sql");
        assert_eq!(runner["includes"][0]["path"], "inc.sql", "{runner}");
        assert_eq!(r["summary"]["warnings"], 0, "{r}");
    }
);

// ---------------------------------------------------------------------------------------
// 2. An empty universe
// ---------------------------------------------------------------------------------------

pgtest!(
    a_schema_folder_without_sql_is_an_error_not_100_percent,
    |dir, cmd| {
        project(dir);
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
    project(dir);
    dir.create("seed/001.sql", "INSERT INTO accounts VALUES (1);\n");
    let run = cmd
        .args(["tests", "--schema", "seed", "--fail-under", "80"])
        .expect_code(2);
    run.assert_stderr_contains("seed")
        .assert_stderr_contains("no object");
});

pgtest!(
    a_per_kind_gate_on_a_kind_with_no_objects_fails,
    |dir, cmd| {
        project(dir);
        let run = cmd
            .args([
                "tests",
                "--schema",
                "db/migrations",
                "--fail-under",
                "policy=100",
            ])
            .expect_code(1);
        run.assert_stderr_contains("policy=100: the universe has no policies");
        // A kind that has objects still passes or fails on its share.
        dir.command()
            .args([
                "tests",
                "--schema",
                "db/migrations",
                "--fail-under",
                "table=50",
            ])
            .expect_code(0);
    }
);

// ---------------------------------------------------------------------------------------
// 3. A scan root without test files
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

pgtest!(a_missing_scan_path_prints_no_report, |dir, cmd| {
    let run = cmd.args(["no/such/dir", "--format", "json"]).expect_code(2);
    run.assert_stderr_contains("no/such/dir");
    assert!(run.stdout.is_empty(), "{run}");
});

// ---------------------------------------------------------------------------------------
// 4. Unknown kinds in gates
// ---------------------------------------------------------------------------------------

pgtest!(an_unknown_kind_in_fail_under_is_rejected, |dir, cmd| {
    project(dir);
    for spec in ["policie=100", "tabels=100", "foo=100"] {
        let run = dir
            .command()
            .args(["tests", "--schema", "db/migrations", "--fail-under", spec])
            .expect_code(2);
        run.assert_stderr_contains("not a kind")
            .assert_stderr_contains("table, ");
    }
    // Plurals and aliases are accepted.
    cmd.args([
        "tests",
        "--schema",
        "db/migrations",
        "--fail-under",
        "tables=50,indexes=0,Columns=0",
    ])
    .expect_code(0);
    dir.command()
        .args([
            "tests",
            "--schema",
            "db/migrations",
            "--fail-under",
            "mviews=0",
        ])
        .expect_code(1)
        .assert_stderr_contains("the universe has no materialized_views");
});

pgtest!(
    an_unknown_kind_in_the_config_fail_under_is_rejected,
    |dir, cmd| {
        project(dir);
        dir.create(
            ".pgtap-scan.toml",
            "schema = [\"db/migrations\"]\n[fail-under]\ntabels = 100\n",
        );
        cmd.arg("tests")
            .expect_code(2)
            .assert_stderr_contains("\"tabels\" is not a kind");
    }
);

#[allow(dead_code)]
fn json_of(run: &util::Run) -> Value {
    run.json()
}

// ---------------------------------------------------------------------------------------
// 7. `gaps` in every format
// ---------------------------------------------------------------------------------------

fn gaps_schema() -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/gaps.schema.json");
    let text = std::fs::read_to_string(&path).expect("schema/gaps.schema.json");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("invalid schema: {e}"))
}

pgtest!(
    gaps_json_lists_the_gaps_and_matches_its_schema,
    |dir, cmd| {
        project(dir);
        let run = cmd
            .args(["gaps", "tests", "--schema", "db/migrations", "-f", "json"])
            .expect_code(0);
        let r = run.json();
        let errors: Vec<String> = gaps_schema()
            .iter_errors(&r)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{run}");
        assert!(
            r.get("files").is_none(),
            "the scan report, not the gaps\n{run}"
        );
        assert_eq!(r["untested"], 4, "{run}");
        let first = &r["gaps"][0];
        assert_eq!(first["kind"], "table");
        assert_eq!(first["key"], "table:public.orders");
        assert_eq!(first["defined_at"]["file"], "db/migrations/002_orders.sql");
        assert_eq!(first["defined_at"]["line"], 1);
        // The schema must be able to fail.
        let mut bad = r.clone();
        bad["gaps"][0]["defined_at"]["line"] = Value::from("one");
        assert!(!gaps_schema().is_valid(&bad));
    }
);

pgtest!(gaps_csv_has_one_row_per_gap, |dir, cmd| {
    project(dir);
    let run = cmd
        .args(["gaps", "tests", "--schema", "db/migrations", "-f", "csv"])
        .expect_code(0);
    let rows: Vec<&str> = run.stdout.split_terminator("\r\n").collect();
    assert_eq!(rows[0], "kind,key,file,line", "{run}");
    assert_eq!(rows.len(), 5, "header and 4 gaps\n{run}");
    assert!(
        rows.contains(&"table,table:public.orders,db/migrations/002_orders.sql,1"),
        "{run}"
    );
});

pgtest!(gaps_markdown_lists_the_gaps, |dir, cmd| {
    project(dir);
    let run = cmd
        .args(["gaps", "tests", "--schema", "db/migrations", "-f", "md"])
        .expect_code(0);
    assert!(run.stdout.starts_with("## pgtap-scan gaps: 4 of"), "{run}");
    assert!(
        run.stdout
            .contains("| `table:public.orders` | db/migrations/002_orders.sql:1 |"),
        "{run}"
    );
});

pgtest!(
    gaps_in_a_format_that_cannot_list_them_is_refused,
    |dir, cmd| {
        project(dir);
        let run = cmd
            .args(["gaps", "tests", "--schema", "db/migrations", "-f", "html"])
            .expect_code(2);
        run.assert_stderr_contains("gaps --format html");
        assert!(run.stdout.is_empty(), "{run}");
    }
);

// ---------------------------------------------------------------------------------------
// Small things
// ---------------------------------------------------------------------------------------

pgtest!(
    format_names_are_the_same_for_the_flag_and_the_config,
    |dir, cmd| {
        dir.create("t.sql", "SELECT has_table('a');\n");
        let run = cmd.args(["t.sql", "--format", "md"]).expect_code(0);
        assert!(run.stdout.starts_with("## pgTAP coverage"), "{run}");
        dir.create(".pgtap-scan.toml", "format = \"xml\"\n");
        let run = dir.command().arg("t.sql").expect_code(2);
        run.assert_stderr_contains(
            "text, json, ndjson, csv, markdown, html, junit, lcov, cobertura, github",
        );
    }
);

pgtest!(a_missing_schema_path_names_the_error_once, |dir, cmd| {
    project(dir);
    let run = cmd
        .args(["tests", "--schema", "db/migratons"])
        .expect_code(2);
    run.assert_stderr_contains("db/migratons: cannot read: no such file or directory");
    assert_eq!(run.stderr.matches("o such file").count(), 1, "{run}");
});

// ---------------------------------------------------------------------------------------
// 8. Text output width
// ---------------------------------------------------------------------------------------

pgtest!(gaps_text_never_cuts_a_location_or_a_key, |dir, cmd| {
    let file = "supabase/migrations/20240414161947_backfill_user_profiles_and_settings.sql";
    let table = "user_notification_preferences_by_channel_and_workspace";
    dir.create(
        file,
        format!("-- backfill\n\nCREATE TABLE {table} (id int);\n"),
    )
    .create("tests/t.sql", "SELECT has_table('nothing_here');\n");
    for sub in [&["gaps"][..], &[][..]] {
        let run = dir
            .command()
            .args(sub)
            .args(["tests", "--schema", "supabase/migrations"])
            .expect_code(0);
        let line = run
            .stdout
            .lines()
            .find(|l| l.contains(&format!("table:public.{table}")))
            .unwrap_or_else(|| panic!("the key is whole\n{run}"));
        assert!(line.ends_with(&format!("{file}:3")), "{line}\n{run}");
        assert!(!run.stdout.contains('…'), "{run}");
    }
    let _ = cmd;
});

pgtest!(
    max_memory_takes_one_size_syntax_in_the_flag_and_the_config,
    |dir, cmd| {
        dir.create("t.sql", "SELECT has_table('a');\n");
        for size in ["512MB", "512MiB", "1.5G", "64m"] {
            dir.command()
                .args(["t.sql", "--max-memory", size])
                .expect_code(0);
        }
        for (value, bytes) in [
            ("\"1G\"", 1u64 << 30),
            ("\"1.5G\"", 3 << 29),
            ("64", 64 << 20),
        ] {
            dir.create(".pgtap-scan.toml", format!("max-memory = {value}\n"));
            let r = dir.command().arg("t.sql").json();
            assert_eq!(r["stats"]["budget_bytes"], bytes, "max-memory = {value}");
        }
        dir.create(".pgtap-scan.toml", "max-memory = \"lots\"\n");
        cmd.arg("t.sql")
            .expect_code(2)
            .assert_stderr_contains("max-memory = \"lots\" is not a size");
    }
);

pgtest!(output_dash_is_stdout_not_a_file_named_dash, |dir, cmd| {
    dir.create("t.sql", "SELECT has_table('a');\n");
    let run = cmd.args(["t.sql", "-f", "json", "-o", "-"]).expect_code(0);
    assert!(run.stdout.contains("\"version\""), "{run}");
    assert!(!dir.join("-").exists(), "a file named - was written");
});

pgtest!(
    output_into_a_missing_folder_says_so_without_temp_names,
    |dir, cmd| {
        dir.create("t.sql", "SELECT has_table('a');\n");
        let run = cmd
            .args(["t.sql", "-f", "html", "-o", "missing/dir/r.html"])
            .expect_code(2);
        run.assert_stderr_contains(
            "missing/dir/r.html: cannot create a file in missing/dir: no such folder",
        )
        .assert_stderr_lacks(".tmp");
    }
);

pgtest!(schema_in_the_config_may_be_a_single_string, |dir, cmd| {
    project(dir);
    dir.create(".pgtap-scan.toml", "schema = \"db/migrations\"\n");
    let r = cmd.arg("tests").json();
    assert_eq!(r["coverage"]["by_kind"]["table"]["objects"], 2, "{r}");
});

pgtest!(schemas_that_look_like_paths_are_warned_about, |dir, cmd| {
    project(dir);
    dir.create(
        ".pgtap-scan.toml",
        "schema = [\"db/migrations\"]\nschemas = [\"supabase/migrations\"]\n",
    );
    // Nothing of the universe is in a schema named "supabase/migrations": an error now,
    // and the warning says why.
    let run = cmd.arg("tests").expect_code(2);
    run.assert_stderr_contains("schemas = \"supabase/migrations\" looks like a path");
});

pgtest!(
    quiet_drops_the_coverage_line_and_a_text_file_ends_with_it,
    |dir, cmd| {
        project(dir);
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

pgtest!(counts_of_one_are_singular, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2);\nSELECT has_table('a');\n");
    let run = cmd.args(["t.sql", "--strict"]).expect_code(1);
    run.assert_stderr_contains("1 plan mismatch (--strict)")
        .assert_stderr_lacks("1 plan mismatches");
    assert!(run.stdout.contains("0 errors, 1 warning (also"), "{run}");
});

pgtest!(the_html_header_has_a_date_and_no_jargon, |dir, cmd| {
    dir.create("t.sql", "SELECT has_table('a');\n");
    let run = cmd
        .args(["t.sql", "-f", "html"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .expect_code(0);
    assert!(
        run.stdout.contains("<time>2023-11-14 22:13 UTC</time>"),
        "date"
    );
    assert!(!run.stdout.contains("standard mode"), "jargon");
});
