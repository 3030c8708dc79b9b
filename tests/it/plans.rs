//! The plan check: `plan(N)` against the TAP results static reading finds, in the file and
//! through its psql includes; which plans can be checked at all (constant expressions,
//! per-row assertions, CASE arms); what a mismatch says, and what `--strict` does with it.
//! Includes a hostile repository points elsewhere: `hostile.rs`.

use serde_json::json;

use crate::util::{plan_counts, Dir};

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

pgtest!(constant_expression_plan_is_checked, |dir, cmd| {
    let mut body = String::from("SELECT plan(18 * 3);\n");
    body.push_str(&"SELECT ok(true);\n".repeat(54));
    dir.create("t/a.sql", body);
    let mut short = String::from("SELECT plan((2 + 1) * 2);\n");
    short.push_str(&"SELECT ok(true);\n".repeat(5));
    dir.create("t/b.sql", short);
    let report = cmd.args(["t"]).json();
    assert_eq!(
        plan_counts(&report),
        (2, 2, 1, 1),
        "{:#}",
        report["summary"]["plans"]
    );
    assert_eq!(report["summary"]["plans"]["mismatches"][0]["planned"], 6);
});

pgtest!(
    per_row_assertions_make_the_plan_not_checkable,
    |dir, cmd| {
        // One result per row: the count is not known statically, and the plans are right.
        dir.create(
            "t/a.sql",
            "SELECT plan(3);\nSELECT is(x, x) FROM generate_series(1, 3) AS x;\n",
        )
        .create(
            "t/b.sql",
            "SELECT plan(2);\n\
         SELECT results_eq(format('SELECT %L', t), ARRAY[t]) FROM unnest(ARRAY['a', 'b']) AS t;\n",
        )
        .create(
            // FROM inside an argument is not per row.
            "t/c.sql",
            "SELECT plan(1);\nSELECT is((SELECT count(*) FROM t), 0::bigint);\n",
        )
        .create(
            // An aggregate select list gives one row...
            "t/d.sql",
            "SELECT plan(1);\nSELECT is(count(*)::int, 3, 'three') FROM audit.events WHERE x = 1;\n",
        )
        .create(
            // ...unless it is grouped, or the aggregate is inside a sub-query.
            "t/e.sql",
            "SELECT plan(1);\nSELECT is(count(*)::int, 3) FROM audit.events GROUP BY kind;\n",
        )
        .create(
            "t/f.sql",
            "SELECT plan(1);\nSELECT is((SELECT max(x) FROM u), y) FROM t;\n",
        );
        let report = cmd.args(["t"]).json();
        assert_eq!(
            plan_counts(&report),
            (6, 2, 2, 0),
            "{:#}",
            report["summary"]["plans"]
        );
    }
);

pgtest!(case_arms_count_once, |dir, cmd| {
    dir.create(
        "t/a.sql",
        "SELECT plan(2);\n\
         SELECT CASE WHEN now() > '2000-01-01' THEN pass('late') ELSE is(1, 1, 'early') END;\n\
         SELECT ok(true);\n",
    )
    .create(
        // Arms that emit different counts: not checkable.
        "t/b.sql",
        "SELECT plan(2);\n\
         SELECT CASE WHEN true THEN pass('a') || pass('b') ELSE 'x' END;\n",
    );
    let report = cmd.args(["t"]).json();
    assert_eq!(
        plan_counts(&report),
        (2, 1, 1, 0),
        "{:#}",
        report["summary"]["plans"]
    );
});

pgtest!(
    like_casts_window_aggregates_and_is_distinct_from_keep_plans_right,
    |dir, cmd| {
        // Keyword operators before a cast (`'a' LIKE 'b'::text`) made ok() "rejected"; a window
        // aggregate, or assertions in a FROM sub-query, were taken for one row; `IS DISTINCT
        // FROM` was taken for a FROM clause.
        dir.create(
            "t/a.sql",
            "SELECT plan(3);\n\
         SELECT ok('a' LIKE 'b'::text);\n\
         SELECT ok(1 BETWEEN 0 AND 2::int);\n\
         SELECT ok(true) WHERE 1 IS DISTINCT FROM 2;\n",
        )
        .create(
            "t/b.sql",
            "SELECT plan(1);\nSELECT is(count(*) OVER (), 3::bigint) FROM generate_series(1, 3);\n",
        )
        .create(
            "t/c.sql",
            "SELECT plan(1);\nSELECT * FROM (SELECT ok(true) FROM generate_series(1, 3)) s;\n",
        );
        let report = cmd.args(["t"]).json();
        assert_eq!(report["summary"]["errors"], 0, "{:#}", report["messages"]);
        assert_eq!(
            plan_counts(&report),
            (3, 1, 1, 0),
            "{:#}",
            report["summary"]["plans"]
        );
    }
);

pgtest!(
    a_plan_short_by_a_helpers_calls_names_the_helper,
    |dir, cmd| {
        // pgflow's assert_retry_delay() emits a result: plan(4) with 3 found was a bare
        // mismatch. The message now names the calls that explain it and how to declare them.
        dir.create(
            "t/a.sql",
            "SELECT plan(3);\n\
         SELECT app.setup();\n\
         SELECT app.setup();\n\
         SELECT ok(true);\n\
         SELECT tests_x.assert_retry_delay('q', 2);\n\
         SELECT ok(true);\n",
        );
        let run = cmd.args(["t", "--format", "json"]).run();
        let report = run.json();
        let text = report["messages"][0]["text"].as_str().expect("a message");
        assert!(
        text.starts_with("plan(3) but 2 tests found; 1 short, exactly the calls of tests_x.assert_retry_delay (line 5)"),
        "{text}"
    );
        assert!(
            text.contains("[[helper]] name = \"tests_x.assert_retry_delay\""),
            "{text}"
        );
        assert!(
            !text.contains("app.setup"),
            "called twice, not once: {text}"
        );
        // Declared, it counts and the plan agrees.
        dir.create(
            ".pgtap-scan.toml",
            "[[helper]]\nname = \"tests_x.assert_retry_delay\"\nkind = \"none\"\n",
        );
        let report = dir.command().args(["t"]).json();
        assert_eq!(
            plan_counts(&report),
            (1, 1, 1, 0),
            "{:#}",
            report["messages"]
        );
    }
);

// ---------------------------------------------------------------------------------------
// Includes
// ---------------------------------------------------------------------------------------

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
