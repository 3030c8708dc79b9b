//! `--fail-under` gates, from the flag and the config file: overall and per kind, exit 1
//! below a gate (or on a kind the universe has none of), exit 2 on a gate that is not one.

use crate::util::{in_fixture, two_tables_one_tested};

#[test]
fn gates_fail_and_pass_with_exit_codes() {
    // Structural coverage: the numbers these gates were written for (the default, any,
    // counts exercised objects too; see behaviour.rs).
    let base = [
        "tests",
        "--schema",
        "migrations",
        "-q",
        "--coverage",
        "structural",
    ];
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
            .contains("overall coverage 41.4% (222 of 535) is below 42%"),
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

pgtest!(
    a_per_kind_gate_on_a_kind_with_no_objects_fails,
    |dir, cmd| {
        two_tables_one_tested(dir);
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

pgtest!(an_unknown_kind_in_fail_under_is_rejected, |dir, cmd| {
    two_tables_one_tested(dir);
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
        two_tables_one_tested(dir);
        dir.create(
            ".pgtap-scan.toml",
            "schema = [\"db/migrations\"]\n[fail-under]\ntabels = 100\n",
        );
        cmd.arg("tests")
            .expect_code(2)
            .assert_stderr_contains("\"tabels\" is not a kind");
    }
);
