//! Shapes real public suites use that static reading got wrong (issue 12): assertions lost
//! behind psql meta-commands, calls wrongly rejected, plans wrongly reported. Each test is
//! named after what it guards and failed before its fix.

#[macro_use]
mod util;

use serde_json::Value;

fn plans(report: &Value) -> (u64, u64, u64, u64) {
    let p = &report["summary"]["plans"];
    (
        p["planned"].as_u64().expect("planned"),
        p["checked"].as_u64().expect("checked"),
        p["agree"].as_u64().expect("agree"),
        p["mismatches"].as_array().map_or(0, |m| m.len() as u64),
    )
}

fn functions_and_lines(report: &Value) -> Vec<(String, u64)> {
    util::assertions(report)
        .iter()
        .map(|a| {
            (
                a["function"].as_str().expect("function").to_string(),
                a["line"].as_u64().expect("line"),
            )
        })
        .collect()
}

pgtest!(
    psql_meta_line_before_create_function_or_do_keeps_its_assertions,
    |dir, cmd| {
        // The usual start of an xUnit file (a sqitch project): a meta-command line directly
        // before CREATE FUNCTION or DO hid the statement's first word, and every assertion in
        // the body was dropped without a word.
        dir.create(
        "t/a.sql",
        "\\set schema '\\'public\\''\n\
         CREATE FUNCTION test_x() RETURNS SETOF TEXT LANGUAGE plpgsql AS $$\n\
         BEGIN\n\
         \x20 RETURN NEXT has_index('public', 't', 'i', 'c', 'd');\n\
         END;\n\
         $$;\n\
         \\echo hi\n\
         DO $$ BEGIN PERFORM ok(true); END $$;\n\
         SELECT 1 AS one \\gset\n\
         DO $$ BEGIN PERFORM ok(true); END $$;\n\
         \\i setup.sql\n\
         CREATE FUNCTION test_y() RETURNS SETOF TEXT LANGUAGE sql AS $$ SELECT has_table('t') $$;\n",
    );
        let report = cmd.args(["t"]).json();
        assert_eq!(
            functions_and_lines(&report),
            vec![
                ("has_index".into(), 4),
                ("ok".into(), 8),
                ("ok".into(), 10),
                ("has_table".into(), 12)
            ]
        );
    }
);

pgtest!(collate_clause_does_not_make_a_call_rejected, |dir, cmd| {
    dir.create(
        "t/a.sql",
        "SELECT results_eq('SELECT x FROM t', ARRAY['a', 'b']::text[] COLLATE \"C\", 'sorted');\n\
         SELECT results_eq('SELECT x FROM t', ARRAY['a']::text[] COLLATE pg_catalog.\"default\");\n",
    );
    let report = cmd.args(["t"]).json();
    assert_eq!(report["summary"]["rejected"], 0, "{report:#}");
    assert_eq!(report["summary"]["errors"], 0);
    for a in util::assertions(&report) {
        assert_eq!(a["resolution"], "exact", "{a}");
    }
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
        plans(&report),
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
            plans(&report),
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
        plans(&report),
        (2, 1, 1, 0),
        "{:#}",
        report["summary"]["plans"]
    );
});

pgtest!(
    qualified_call_in_a_schema_without_pgtap_is_not_pgtap,
    |dir, cmd| {
        // A Supabase app's own rbac.has_role(uuid, text) was counted as pgTAP's has_role: the
        // real ok() around it was lost and a role named after a UUID got coverage.
        dir.create(
        "t/a.sql",
        "SELECT ok(rbac.has_role('6d4a7b1e-0000-4000-8000-000000000001'::uuid, 'admin'), 'is admin');\n\
         SELECT tap.has_table('users');\n\
         SELECT extensions.has_table('accounts');\n",
    );
        let report = cmd.args(["t"]).json();
        assert_eq!(
            functions_and_lines(&report),
            vec![
                ("ok".into(), 1),
                ("has_table".into(), 2),
                ("has_table".into(), 3)
            ]
        );
        let keys: Vec<&str> = report["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .filter_map(|o| o["key"].as_str())
            .collect();
        assert!(keys.iter().all(|k| !k.starts_with("role:")), "{keys:?}");
        // Naming the schema makes its calls pgTAP's again.
        let report = dir
            .command()
            .args(["t", "--pgtap-schemas", "rbac,tap"])
            .json();
        let fns = functions_and_lines(&report);
        assert_eq!(fns[0], ("has_role".into(), 1), "{fns:?}");
        assert_eq!(fns.len(), 2, "extensions is no longer listed: {fns:?}");
    }
);

pgtest!(
    typed_argument_without_an_implicit_cast_rules_the_overload_out,
    |dir, cmd| {
        // uuid has no implicit cast to name: pgTAP's has_role(name, text) cannot take it, so
        // the call names no role (it was "exact" on role:"6d4a...").
        dir.create(
            "t/a.sql",
            "SELECT has_role('6d4a7b1e-0000-4000-8000-000000000001'::uuid, 'admin');\n",
        );
        let run = cmd.args(["t", "--format", "json"]).run();
        let report = run.json();
        let a = &util::assertions(&report)[0];
        assert_eq!(a["resolution"], "rejected", "{a}");
        assert!(a["object"].is_null(), "{a}");
    }
);

pgtest!(
    casts_inside_sub_queries_and_comparisons_do_not_type_the_argument,
    |dir, cmd| {
        // `(SELECT x::int FROM t LIMIT 1)` is not of type "int from t limit 1", and
        // `d = '2015-06-01'::date` is a boolean, not a date.
        dir.create(
            "t/a.sql",
            "SELECT is((SELECT remaining::INT FROM runs LIMIT 1), 3::INT, 'three');\n\
         SELECT ok(d = '2015-06-01'::date, 'cast test');\n\
         SELECT ok((SELECT count(*) FROM t) > 2::bigint);\n",
        );
        let report = cmd.args(["t"]).json();
        assert_eq!(report["summary"]["errors"], 0, "{:#}", report["messages"]);
        assert_eq!(report["summary"]["rejected"], 0);
    }
);

pgtest!(
    supabase_test_helpers_rls_enabled_counts_out_of_the_box,
    |dir, cmd| {
        // supabase-test-helpers' tests.rls_enabled() emits one result: a plan counting it was
        // reported as disagreeing, and the tables it checks were untested.
        dir.create(
            "t/a.sql",
            "BEGIN;\nSELECT plan(3);\n\
         SELECT tests.rls_enabled('public');\n\
         SELECT tests.rls_enabled('public', 'accounts');\n\
         SELECT has_table('accounts');\n\
         SELECT * FROM finish();\nROLLBACK;\n",
        );
        let report = cmd.args(["t"]).json();
        assert_eq!(
            plans(&report),
            (1, 1, 1, 0),
            "{:#}",
            report["summary"]["plans"]
        );
        let objects: Vec<(String, String)> = util::assertions(&report)
            .iter()
            .map(|a| {
                (
                    a["object"].as_str().unwrap_or("").to_string(),
                    a["aspect"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            objects,
            vec![
                ("schema:public".into(), "rls".into()),
                ("table:public.accounts".into(), "rls".into()),
                ("table:public.accounts".into(), "existence".into())
            ]
        );
    }
);

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

pgtest!(review_findings_on_plans_and_casts, |dir, cmd| {
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
        plans(&report),
        (3, 1, 1, 0),
        "{:#}",
        report["summary"]["plans"]
    );
});

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
    markdown_messages_cannot_inject_links_or_images,
    |dir, cmd| {
        dir.create(
        "mig/001.sql",
        "create table public.t (id int);\ncreate policy p on \"![a](https://evil.example/x.png)\" using (true);\n",
    )
    .create("t/a.sql", "select has_table('t');\n");
        let out = cmd
            .args(["t", "--schema", "mig", "--format", "markdown"])
            .expect_code(0);
        assert!(!out.stdout.contains("![a](https://"), "{}", out.stdout);
        assert!(
            out.stdout.contains("\\!\\[a\\]\\(https://"),
            "{}",
            out.stdout
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
        assert_eq!(plans(&report), (1, 1, 1, 0), "{:#}", report["messages"]);
    }
);
