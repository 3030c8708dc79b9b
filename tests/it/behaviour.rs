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

const RLS_TEST: &str = "\
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
