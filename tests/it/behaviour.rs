//! Behavioural references in the JSON report (issue 14, first slice): the real binary on
//! small trees of our own.

use serde_json::Value;

/// Every reference of the report's only file.
fn refs(report: &Value) -> Vec<Value> {
    let files = report["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "{report:#}");
    files[0]
        .get("references")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The first reference of `kind` named `name` (and using `command`, when given).
fn find<'a>(refs: &'a [Value], kind: &str, name: &str, command: Option<&str>) -> &'a Value {
    refs.iter()
        .find(|r| {
            r["kind"] == kind && r["name"] == name && command.is_none_or(|c| r["command"] == c)
        })
        .unwrap_or_else(|| panic!("no {kind} {name} {command:?} in {refs:#?}"))
}

pub(crate) const RLS_TEST: &str = "\
BEGIN;
SELECT plan(4);
INSERT INTO app.todos (title, owner) VALUES ('mine', tests.get_supabase_uid('alice'));
SELECT tests.authenticate_as('alice');
SELECT results_eq(
  $$ SELECT title FROM app.todos $$,
  $$ VALUES ('mine') $$,
  'alice sees her todo'
);
SELECT throws_ok(
  'INSERT INTO app.todos (title, owner)
   VALUES (''theirs'', app.other_user())',
  '42501',
  'new row violates row-level security policy for table \"todos\"'
);
SELECT tests.clear_authentication();
SELECT is_empty($$ SELECT * FROM app.todos $$, 'anon sees nothing');
SET LOCAL ROLE service_role;
SELECT lives_ok(E'DELETE FROM app.todos\\nWHERE title = ''mine''');
SELECT * FROM finish();
ROLLBACK;
SELECT app.after_rollback();
";

pgtest!(rls_test_references_roles_and_outcomes, |dir, cmd| {
    dir.create("t/rls.sql", RLS_TEST);
    let report = cmd.arg("--references").json();
    let refs = refs(&report);

    // Arrange: the insert before the first assertion is exercised by it, as the
    // connecting user.
    let setup = find(&refs, "relation", "todos", Some("insert"));
    assert_eq!(setup["line"], 3);
    assert_eq!(setup["schema"], "app");
    assert_eq!(setup["role"], Value::Null);
    assert_eq!(setup["attribution"], "exercised");
    assert_eq!(setup["assertion"], 0);
    // Helper functions of the suite are references; pgTAP's and built-ins are not.
    let uid = find(&refs, "function", "get_supabase_uid", None);
    assert_eq!(
        (uid["schema"].as_str(), uid["arity"].as_u64()),
        (Some("tests"), Some(1))
    );
    for r in &refs {
        let n = r["name"].as_str().unwrap_or_default();
        assert!(
            ![
                "results_eq",
                "throws_ok",
                "plan",
                "finish",
                "authenticate_as",
                "now"
            ]
            .contains(&n),
            "{r}"
        );
    }

    // results_eq's dollar-quoted SQL: read at its line, under alice's role, allowed.
    let sel = refs
        .iter()
        .find(|r| r["kind"] == "relation" && r["command"] == "select" && r["line"] == 6)
        .expect("the select of results_eq");
    assert_eq!(sel["role"], "authenticated");
    assert_eq!(sel["attribution"], "asserted");
    assert_eq!(sel["expected"], "allowed");
    assert_eq!(sel["assertion"], 0);
    let title = refs
        .iter()
        .find(|r| r["kind"] == "column" && r["name"] == "title" && r["line"] == 6)
        .expect("column title");
    assert_eq!(title["relation"], "app.todos");

    // throws_ok with 42501: denied; the plain string's second line is the file's line 12.
    let denied = refs
        .iter()
        .find(|r| r["kind"] == "relation" && r["command"] == "insert" && r["line"] == 11)
        .expect("the insert of throws_ok");
    assert_eq!(denied["expected"], "denied");
    assert_eq!(denied["sqlstate"], "42501");
    assert_eq!(denied["role"], "authenticated");
    assert_eq!(denied["assertion"], 1);
    let other = find(&refs, "function", "other_user", None);
    assert_eq!(other["line"], 12);
    assert_eq!(other["expected"], "denied");

    // is_empty under anon: filtered.
    let anon = refs
        .iter()
        .find(|r| r["kind"] == "relation" && r["line"] == 17)
        .expect("is_empty's select");
    assert_eq!(anon["role"], "anon");
    assert_eq!(anon["expected"], "filtered");
    assert_eq!(anon["assertion"], 2);

    // E'' string: \n is an escape, not a line of the file.
    let del = find(&refs, "relation", "todos", Some("delete"));
    assert_eq!(del["line"], 19);
    assert_eq!(del["role"], "service_role");
    assert_eq!(del["expected"], "allowed");

    // After ROLLBACK the LOCAL role is gone, and no assertion follows.
    let after = find(&refs, "function", "after_rollback", None);
    assert_eq!(after["role"], Value::Null);
    assert_eq!(after["assertion"], Value::Null);
    assert!(after.get("attribution").is_none());
    assert!(report["files"][0].get("sql_strings_unreadable").is_none());
});

pgtest!(declared_role_helper_from_the_config, |dir, cmd| {
    dir.create(
        ".pgtap-scan.toml",
        "[[role-helper]]\nname = \"tests.login_as\"\narg = 1\n\n\
         [[role-helper]]\nname = \"become_admin\"\nrole = \"admin\"\n",
    )
    .create(
        "t/a.sql",
        "BEGIN;\nSELECT tests.login_as('editor');\n\
         SELECT lives_ok($$ UPDATE app.posts SET body = 'x' $$);\n\
         SELECT become_admin();\n\
         SELECT lives_ok($$ DELETE FROM app.posts $$);\nROLLBACK;\n",
    );
    let refs = refs(&cmd.arg("--references").json());
    assert_eq!(
        find(&refs, "relation", "posts", Some("update"))["role"],
        "editor"
    );
    assert_eq!(
        find(&refs, "column", "body", Some("update"))["relation"],
        "app.posts"
    );
    assert_eq!(
        find(&refs, "relation", "posts", Some("delete"))["role"],
        "admin"
    );
    assert!(!refs
        .iter()
        .any(|r| r["name"] == "login_as" || r["name"] == "become_admin"));
});

pgtest!(role_helper_needs_exactly_one_of_role_and_arg, |dir, cmd| {
    dir.create(
        ".pgtap-scan.toml",
        "[[role-helper]]\nname = \"x\"\nrole = \"a\"\narg = 1\n",
    )
    .create("t/a.sql", "SELECT ok(true);\n");
    let run = cmd.run();
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr
            .contains("role-helper x: give exactly one of `role` and `arg`"),
        "{run}"
    );
});

pgtest!(
    unreadable_sql_string_is_counted_and_the_scan_goes_on,
    |dir, cmd| {
        dir.create(
            "t/a.sql",
            "SELECT plan(2);\nSELECT lives_ok('this is not SQL');\n\
         SELECT results_eq('SELECT n FROM app.nums', ARRAY[1]);\n",
        );
        let report = cmd.arg("--references").json();
        assert_eq!(report["files"][0]["sql_strings_unreadable"], 1);
        assert_eq!(report["summary"]["assertions"], 2);
        let n = find(&refs(&report), "column", "n", Some("select")).clone();
        assert_eq!(n["relation"], "app.nums");
        assert_eq!(n["assertion"], 1);
    }
);

pgtest!(prepared_statement_given_by_name, |dir, cmd| {
    dir.create(
        "t/a.sql",
        "PREPARE mine AS SELECT id FROM app.things WHERE owner = current_user;\n\
         SET ROLE alice;\n\
         SELECT results_eq('mine', ARRAY[1], 'by name');\n\
         EXECUTE mine;\n\
         SELECT pass('done');\n",
    );
    let refs = refs(&cmd.arg("--references").json());
    let uses: Vec<&Value> = refs
        .iter()
        .filter(|r| r["kind"] == "relation" && r["name"] == "things")
        .collect();
    assert_eq!(uses.len(), 2, "{refs:#?}");
    assert!(uses.iter().all(|r| r["line"] == 1 && r["role"] == "alice"));
    assert_eq!(
        (
            uses[0]["attribution"].as_str(),
            uses[0]["assertion"].as_u64()
        ),
        (Some("asserted"), Some(0))
    );
    assert_eq!(
        (
            uses[1]["attribution"].as_str(),
            uses[1]["assertion"].as_u64()
        ),
        (Some("exercised"), Some(1))
    );
    // `current_user` is a keyword, not a column.
    assert!(!refs.iter().any(|r| r["name"] == "current_user"));
});

pgtest!(cache_keeps_references, |dir, cmd| {
    dir.create("t/rls.sql", RLS_TEST);
    let cache = dir.join("cache");
    let first = cmd.arg("--references").arg("--cache").arg(&cache).json();
    let second = dir
        .command()
        .arg("--references")
        .arg("--cache")
        .arg(&cache)
        .json();
    assert_eq!(first["files"], second["files"]);
    assert!(!refs(&second).is_empty());
});

pub(crate) const RLS_MIGRATION: &str = "\
CREATE SCHEMA app;
CREATE TABLE app.todos (id serial PRIMARY KEY, title text, owner uuid);
ALTER TABLE app.todos ENABLE ROW LEVEL SECURITY;
CREATE POLICY todos_select ON app.todos FOR SELECT TO authenticated USING (true);
CREATE POLICY todos_insert ON app.todos FOR INSERT TO authenticated WITH CHECK (owner = auth.uid());
CREATE POLICY todos_admin ON app.todos FOR ALL TO admin USING (true);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER todos_touch BEFORE INSERT ON app.todos FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE FUNCTION app.other_user() RETURNS uuid LANGUAGE sql AS $$ SELECT NULL::uuid $$;
CREATE FUNCTION app.unused() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION app.on_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER todos_on_update BEFORE UPDATE OF title ON app.todos FOR EACH ROW EXECUTE FUNCTION app.on_update();
CREATE FUNCTION app.inner_step(n int) RETURNS int LANGUAGE sql AS $$ SELECT n + 1 $$;
CREATE FUNCTION app.outer_step() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RETURN app.inner_step(1);
END $$;
";

/// The universe object `key` in the report's `behaviour.objects`.
fn exercised<'a>(report: &'a Value, key: &str) -> Option<&'a Value> {
    report["behaviour"]["objects"]
        .as_array()
        .expect("behaviour.objects")
        .iter()
        .find(|o| o["key"] == key)
}

pgtest!(
    rls_matrix_triggers_and_coverage_modes_from_a_universe,
    |dir, cmd| {
        dir.create("t/rls.sql", RLS_TEST);
        dir.create("db/001.sql", RLS_MIGRATION);
        // With a universe, references are read without being asked for.
        let report = cmd.args(["t", "--schema", "db"]).json();
        assert_eq!(report["coverage_mode"], "any");

        // Named objects, with how they are used.
        let todos = exercised(&report, "table:app.todos").expect("todos exercised");
        assert_eq!(todos["direct"], true);
        let denied = todos["uses"]
            .as_array()
            .expect("uses")
            .iter()
            .find(|u| u["command"] == "insert" && u["outcome"] == "denied")
            .expect("the denied insert");
        assert_eq!(denied["role"], "authenticated");
        assert_eq!(denied["attribution"], "asserted");
        assert!(exercised(&report, "function:app.other_user()").is_some());

        // An insert fires the table's trigger; its function runs indirectly, which is
        // listed and not counted.
        let trigger = exercised(&report, "trigger:app.todos.todos_touch").expect("fired");
        assert_eq!(trigger["via"][0]["how"], "trigger");
        let touch = exercised(&report, "function:app.touch()").expect("run by the trigger");
        assert_eq!(touch["direct"], false);
        assert_eq!(touch["via"][0]["how"], "trigger_function");
        let gaps = report["gaps"].as_array().expect("gaps");
        let gap = |key: &str| gaps.iter().find(|g| g["key"] == key);
        assert_eq!(
            gap("function:app.touch()").expect("a gap")["only"],
            "indirect"
        );
        assert!(gap("function:app.unused()")
            .expect("a gap")
            .get("only")
            .is_none());
        assert!(gap("trigger:app.todos.todos_touch").is_none());
        // A trigger fires on its events only: no test updates the table.
        assert!(exercised(&report, "trigger:app.todos.todos_on_update").is_none());
        assert!(gap("trigger:app.todos.todos_on_update").is_some());

        // Policies: those of the role the tests switch to are exercised, the admin's
        // (tested for no role) are not.
        assert!(exercised(&report, "policy:app.todos.todos_select").is_some());
        assert!(exercised(&report, "policy:app.todos.todos_insert").is_some());
        assert!(exercised(&report, "policy:app.todos.todos_admin").is_none());
        assert!(gap("policy:app.todos.todos_admin").is_some());

        // The RLS matrix: authenticated's select allowed, insert denied; admin untested.
        let rls = &report["behaviour"]["rls"][0];
        assert_eq!(rls["table"], "table:app.todos");
        let cell = |role: &str, command: &str| {
            rls["cells"]
                .as_array()
                .expect("cells")
                .iter()
                .find(|c| c["role"] == role && c["command"] == command)
                .cloned()
                .unwrap_or_else(|| panic!("no cell {role} {command} in {rls:#}"))
        };
        assert_eq!(cell("authenticated", "select")["state"], "allowed");
        assert_eq!(cell("authenticated", "insert")["state"], "denied");
        assert_eq!(
            cell("authenticated", "insert")["policies"],
            serde_json::json!(["policy:app.todos.todos_insert"])
        );
        assert_eq!(cell("authenticated", "delete")["state"], "untested");
        for command in ["select", "insert", "update", "delete"] {
            assert_eq!(cell("admin", command)["state"], "untested");
        }
        assert_eq!(
            cell("admin", "delete")["policies"],
            serde_json::json!(["policy:app.todos.todos_admin"])
        );
    }
);

pgtest!(
    a_function_called_only_by_an_exercised_function_is_exercised_indirectly,
    |dir, cmd| {
        dir.create(
            "t/calls.sql",
            "SELECT plan(1);\nSELECT is(app.outer_step(), 2, 'outer');\nSELECT * FROM finish();\n",
        );
        dir.create("db/001.sql", RLS_MIGRATION);
        let report = cmd.args(["t", "--schema", "db"]).json();
        let outer = exercised(&report, "function:app.outer_step()").expect("called");
        assert_eq!(outer["direct"], true);
        let inner = exercised(&report, "function:app.inner_step(integer)").expect("reached");
        assert_eq!(inner["direct"], false);
        assert_eq!(inner["via"][0]["how"], "call");
        assert_eq!(inner["via"][0]["from"], "function:app.outer_step()");
        let gap = report["gaps"]
            .as_array()
            .expect("gaps")
            .iter()
            .find(|g| g["key"] == "function:app.inner_step(integer)")
            .cloned()
            .expect("indirect is still a gap");
        assert_eq!(gap["only"], "indirect");
    }
);

pgtest!(coverage_modes_count_one_side_or_either, |dir, cmd| {
    dir.create("t/rls.sql", RLS_TEST);
    dir.create("db/001.sql", RLS_MIGRATION);
    let tested = |mode: &str| {
        let report = dir
            .command()
            .args(["t", "--schema", "db", "--coverage", mode])
            .json();
        report["coverage"]["by_kind"]["table"]["tested"].as_u64()
    };
    // The suite asserts nothing structurally: the table counts only when exercise does.
    assert_eq!(tested("structural"), Some(0));
    assert_eq!(tested("behavioural"), Some(1));
    assert_eq!(tested("any"), Some(1));
    // Behavioural coverage without references is refused, not reported as zero.
    let run = cmd
        .args([
            "t",
            "--schema",
            "db",
            "--coverage",
            "behavioural",
            "--no-references",
        ])
        .expect_code(2);
    assert!(
        run.stderr.contains("needs the behavioural references"),
        "{run}"
    );
    // Without a universe, no references unless asked for.
    let plain = dir.command().args(["t"]).json();
    assert!(plain["files"][0].get("references").is_none(), "{plain:#}");
});

pgtest!(
    role_helpers_defined_in_the_universe_switch_roles,
    |dir, cmd| {
        dir.create(
            "db/0001.sql",
            "CREATE SCHEMA app; CREATE SCHEMA tests;\n\
         CREATE TABLE app.posts (id int, body text);\n\
         CREATE FUNCTION tests.as_anon() RETURNS void LANGUAGE plpgsql AS $$\n\
         BEGIN PERFORM set_config('role', 'anon', true); END $$;\n\
         CREATE FUNCTION public.login_as(r text) RETURNS void LANGUAGE sql AS\n\
         $$ SELECT set_config('role', $1, true) $$;\n\
         CREATE FUNCTION tests.two_roles() RETURNS void LANGUAGE plpgsql AS $$\n\
         BEGIN SET LOCAL ROLE a; SET LOCAL ROLE b; END $$;\n",
        )
        .create(
            "t/a.sql",
            "BEGIN;\nSELECT tests.as_anon();\n\
         SELECT is_empty($$ SELECT * FROM app.posts $$);\n\
         SELECT login_as('editor');\n\
         SELECT lives_ok($$ UPDATE app.posts SET body = 'x' $$);\n\
         SELECT tests.two_roles();\n\
         SELECT lives_ok($$ DELETE FROM app.posts $$);\nROLLBACK;\n",
        );
        let report = cmd.args(["t", "--schema", "db"]).json();
        let refs = refs(&report);
        let anon = find(&refs, "relation", "posts", Some("select"));
        assert_eq!(anon["role"], "anon");
        assert_eq!(anon["expected"], "filtered");
        assert_eq!(
            find(&refs, "relation", "posts", Some("update"))["role"],
            "editor"
        );
        // Two roles in one body: no helper; the role stays the editor's.
        assert_eq!(
            find(&refs, "relation", "posts", Some("delete"))["role"],
            "editor"
        );
        assert!(refs.iter().any(|r| r["name"] == "two_roles"));
        assert!(!refs
            .iter()
            .any(|r| r["name"] == "as_anon" || r["name"] == "login_as"));
    }
);

pgtest!(
    references_without_a_universe_are_counted_in_the_text_report,
    |dir, cmd| {
        // `--references` with no universe: the references are read but nothing resolves them.
        // The text report says how many and what is missing, instead of saying nothing.
        dir.create("t/rls.sql", RLS_TEST);
        let run = cmd
            .arg("--references")
            .arg("--color")
            .arg("never")
            .expect_code(0);
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with("references: "))
            .unwrap_or_else(|| panic!("no references line\n{run}"));
        assert!(
            line.contains("in the tests' SQL, not resolved") && line.contains("--schema"),
            "{line}"
        );
        let n: u64 = line["references: ".len()..]
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        assert!(n >= 8, "{line}");

        // Streaming (the workers count the references and keep none): the same number.
        let streamed = dir
            .command()
            .arg(dir.join("t"))
            .args(["--references", "--color", "never", "--streaming", "always"])
            .expect_code(0);
        assert!(streamed.stdout.contains(line), "{line}\n{streamed}");

        // Without `--references` there is nothing to say.
        let plain = dir.command().arg(dir.join("t")).expect_code(0);
        assert!(!plain.stdout.contains("references:"), "{plain}");
    }
);

/// A role-switching function the suite defines in a test file of its own (not in the
/// migrations), and a test that calls it.
const HELPERS_IN_TESTS: &str = "\
CREATE SCHEMA IF NOT EXISTS tests;
CREATE OR REPLACE FUNCTION tests.as_anon() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('role', 'anon', true);
END
$$;
CREATE OR REPLACE FUNCTION tests.login(who text) RETURNS void LANGUAGE sql AS $$
    SELECT set_config('role', $1, true);
$$;
";

const CALLS_THE_HELPERS: &str = "\
BEGIN;
SELECT plan(2);
SELECT tests.authenticate_as('alice');
SELECT results_eq('SELECT title FROM app.todos', $$VALUES ('mine')$$, 'alice reads');
SELECT tests.as_anon();
SELECT throws_ok('SELECT * FROM app.notes', '42501', 'anon cannot read');
SELECT tests.login('editor');
SELECT lives_ok('DELETE FROM app.drafts');
SELECT * FROM finish();
ROLLBACK;
";

pgtest!(
    role_helpers_defined_in_test_files_switch_the_role,
    |dir, cmd| {
        // Before, `tests.as_anon()` was an unknown call: the denied read that follows was
        // counted for `authenticated` (the role of the helper before it).
        dir.create("tests/helpers/roles.sql", HELPERS_IN_TESTS);
        dir.create("tests/t.sql", CALLS_THE_HELPERS);
        let report = cmd
            .arg("tests/t.sql")
            .arg("tests/helpers")
            .arg("--references")
            .json();
        let files = report["files"].as_array().expect("files");
        let t = files
            .iter()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with("t.sql")))
            .expect("t.sql");
        let refs = t["references"].as_array().expect("references").clone();
        assert_eq!(
            find(&refs, "relation", "todos", None)["role"],
            "authenticated"
        );
        let notes = find(&refs, "relation", "notes", None);
        assert_eq!(notes["role"], "anon", "{notes:#}");
        assert_eq!(notes["expected"], "denied", "{notes:#}");
        assert_eq!(find(&refs, "relation", "drafts", None)["role"], "editor");

        // A shard walks every file, so it finds them too (and its partial names them apart
        // from the declared ones: the merge, which reads no test file, cannot).
        let shard = dir
            .command()
            .args([
                "tests/t.sql",
                "tests/helpers",
                "--references",
                "--shard",
                "1/1",
            ])
            .json();
        let t = &shard["files"].as_array().expect("files")[1];
        let refs = t["references"].as_array().expect("references").clone();
        assert_eq!(find(&refs, "relation", "notes", None)["role"], "anon");
    }
);

pgtest!(a_huge_test_file_is_not_read_for_role_helpers, |dir, cmd| {
    // The look for role helpers read every test file whole, whatever its size, outside
    // the memory budget: files over 8 MiB are now passed over (the scan reads them under
    // the budget). Padded past the limit, the helper file no longer defines the helpers.
    let padding = format!("-- {}\n", "x".repeat(9 << 20));
    dir.create(
        "tests/helpers/roles.sql",
        format!("{padding}{HELPERS_IN_TESTS}"),
    );
    dir.create("tests/t.sql", CALLS_THE_HELPERS);
    let report = cmd
        .arg("tests/t.sql")
        .arg("tests/helpers")
        .args(["--references", "--max-memory", "64M"])
        .json();
    let t = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with("t.sql")))
        .expect("t.sql")
        .clone();
    let refs = t["references"].as_array().expect("references").clone();
    assert_eq!(
        find(&refs, "relation", "notes", None)["role"],
        "authenticated"
    );
});
