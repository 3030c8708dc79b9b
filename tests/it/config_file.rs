//! `.pgtap-scan.toml`: found from the working directory upwards, `--config FILE` and
//! `--no-config`, a flag wins over it, a broken one is an error naming it, and each setting
//! takes the values its flag takes. Gates in the file: `gates.rs`.

use crate::util::{assertions, paths, s, two_tables_one_tested};

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

pgtest!(strict_is_a_config_setting_too, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2); SELECT ok(true);\n")
        .create(".pgtap-scan.toml", "strict = true\n");
    cmd.expect_code(1);
    dir.command().arg("--no-config").expect_code(0);
});

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

pgtest!(schema_in_the_config_may_be_a_single_string, |dir, cmd| {
    two_tables_one_tested(dir);
    dir.create(".pgtap-scan.toml", "schema = \"db/migrations\"\n");
    let r = cmd.arg("tests").json();
    assert_eq!(r["coverage"]["by_kind"]["table"]["objects"], 2, "{r}");
});

pgtest!(schemas_that_look_like_paths_are_warned_about, |dir, cmd| {
    two_tables_one_tested(dir);
    dir.create(
        ".pgtap-scan.toml",
        "schema = [\"db/migrations\"]\nschemas = [\"supabase/migrations\"]\n",
    );
    // Nothing of the universe is in a schema named "supabase/migrations": an error now,
    // and the warning says why.
    let run = cmd.arg("tests").expect_code(2);
    run.assert_stderr_contains("schemas = \"supabase/migrations\" looks like a path");
});

// Regression: a config found above the current folder (or named by --config) had its
// `paths` and `schema` read from the current folder: run from below the repository root,
// the scan failed ("tests: cannot read", exit 2). Its paths are relative to its folder.
pgtest!(
    a_config_found_above_reads_its_paths_from_its_own_folder,
    |dir, cmd| {
        dir.create(
            ".pgtap-scan.toml",
            "paths = [\"tests\"]\nschema = \"db\"\ninclude-dirs = [\"tests\"]\n",
        )
        .create("tests/a.sql", "SELECT has_table('app', 't', 'there');\n")
        .create(
            "db/001.sql",
            "CREATE SCHEMA app;\nCREATE TABLE app.t (a int);\n",
        )
        .create("sub/deeper/.keep", "");
        let at_root = cmd.json();
        assert_eq!(paths(&at_root), s(&["tests/a.sql"]));
        let tested = |r: &serde_json::Value| r["coverage"]["overall"]["tested"].clone();
        assert_eq!(tested(&at_root), 1, "{}", at_root["coverage"]);
        let below = dir.command().current_dir(dir.join("sub/deeper")).json();
        assert_eq!(paths(&below), s(&["../../tests/a.sql"]));
        assert_eq!(tested(&below), 1);
        assert_eq!(below["coverage"], at_root["coverage"]);
        // Named with --config from elsewhere: the same.
        let named = dir
            .command()
            .current_dir(dir.join("sub"))
            .args(["--config", "../.pgtap-scan.toml"])
            .json();
        assert_eq!(paths(&named), s(&["../tests/a.sql"]));
        assert_eq!(tested(&named), 1);
    }
);
