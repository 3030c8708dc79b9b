//! Extraction: which calls are pgTAP assertions, what they name and where they live. First
//! through the library (`Extractor`), by stage: the finder, the call parser, overload
//! resolution, contexts, targets, plans, declared helpers, commented calls, lexical
//! problems; then through the real binary, on the shapes real suites use.

use pgtap_scan::config::{ExtractOptions, HelperDecl};
use pgtap_scan::model::{Assertion, Context, FileResult, PlanDecl, ResolutionKind};
use pgtap_scan::Extractor;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::util::{self, assertions, plan_counts, BOM};

fn run(sql: &str) -> FileResult {
    Extractor::new(ExtractOptions::default()).extract(sql.as_bytes())
}

fn run_with(sql: &str, opts: ExtractOptions) -> FileResult {
    Extractor::new(opts).extract(sql.as_bytes())
}

fn functions(r: &FileResult) -> Vec<&str> {
    r.assertions.iter().map(|a| a.function.as_ref()).collect()
}

fn only(r: &FileResult) -> &Assertion {
    assert_eq!(r.assertions.len(), 1, "{:#?}", r.assertions);
    &r.assertions[0]
}

// The finder: code tokens only, followed by `(`, case-insensitive, schema-qualified.
#[test]
fn finder_ignores_comments_strings_and_bare_names() {
    let r = run("-- SELECT has_table('a');\n/* has_view('v') */\nSELECT 'has_table(x)', has_table AS col;\n");
    assert!(r.assertions.is_empty(), "{:#?}", r.assertions);
}

#[test]
fn finder_is_case_insensitive_and_accepts_a_schema() {
    let r = run("SELECT HAS_TABLE('users');\nSELECT tap.has_view('v');\n");
    assert_eq!(functions(&r), ["has_table", "has_view"]);
    assert_eq!(r.assertions[1].object.as_deref(), Some("view:public.v"));
}

#[test]
fn definitions_and_references_of_pgtap_names_are_not_calls() {
    let r = run("CREATE FUNCTION ok(boolean) RETURNS text AS $$ SELECT 'x' $$ LANGUAGE sql;\nDROP FUNCTION IF EXISTS has_table(name);\nGRANT EXECUTE ON FUNCTION is(anyelement, anyelement) TO x;\n");
    assert!(r.assertions.is_empty(), "{:#?}", r.assertions);
}

#[test]
fn the_is_operator_is_not_pgtaps_is() {
    let r = run("SELECT x IS (true) FROM t;\nSELECT is(1, 1);\nSELECT a, is(2, 2) FROM t;\n");
    assert_eq!(functions(&r), ["is", "is"]);
    assert_eq!(r.assertions[0].line, 2);
}

// The call parser: typed values, named notation, nesting.
#[test]
fn named_notation_reaches_the_right_roles() {
    let r = run("SELECT col_not_null(schema_name => 'app', table_name => 'users', column_name => 'email', description => 'd');\n");
    let a = only(&r);
    assert_eq!(a.object.as_deref(), Some("column:app.users.email"));
    assert_eq!(a.description.as_deref(), Some("d"));
}

#[test]
fn deep_nesting_does_not_exhaust_the_stack() {
    let depth = 50_000;
    let sql = format!("SELECT ok({}true{});", "(".repeat(depth), ")".repeat(depth));
    let r = run(&sql);
    assert_eq!(functions(&r), ["ok"]);
    let casts = format!("SELECT has_table('t'{});", "::text".repeat(depth));
    assert_eq!(functions(&run(&casts)), ["has_table"]);
    let nested_casts = format!(
        "SELECT has_table({}'t'{});",
        "CAST(".repeat(2000),
        " AS text)".repeat(2000)
    );
    assert_eq!(functions(&run(&nested_casts)), ["has_table"]);
}

// Overload resolution as PostgreSQL does it.
#[test]
fn untyped_literals_prefer_text_and_name_casts_pick_name() {
    let a = run("SELECT has_table('s', 't');").assertions.remove(0);
    assert_eq!(a.object.as_deref(), Some("table:public.s"));
    assert_eq!(a.description.as_deref(), Some("t"));
    let b = run("SELECT has_table('s'::name, 't'::name);")
        .assertions
        .remove(0);
    assert_eq!(b.object.as_deref(), Some("table:s.t"));
    assert_eq!(b.description, None);
}

#[test]
fn array_constructor_reaches_array_overloads() {
    let r = run("SELECT has_function('app', 'add', ARRAY['integer', 'int'], 'd');\n");
    assert_eq!(
        only(&r).object.as_deref(),
        Some("function:app.add(integer,integer)")
    );
}

#[test]
fn run_time_decided_calls_are_marked_with_every_reading() {
    // Bare literals: PostgreSQL picks (name, name, text), the third is a description.
    let r = run("SELECT has_index('users', 'users_email_idx', 'email');\n");
    assert_eq!(only(&r).resolution, ResolutionKind::Exact);
    assert_eq!(only(&r).description.as_deref(), Some("email"));
    // Three names: pgTAP looks at run time whether the first names a schema.
    let r = run("SELECT has_index('users'::name, 'users_email_idx'::name, 'email'::name);\n");
    let a = only(&r);
    assert_eq!(a.resolution, ResolutionKind::Ambiguous);
    assert_eq!(a.readings.len(), 2, "{:#?}", a);
    assert_eq!(
        a.object.as_deref(),
        Some("index:public.users.users_email_idx")
    );
    // The first argument is a schema on the search path: the schema reading.
    let r = run("SELECT has_index('public'::name, 'users'::name, 'users_email_idx'::name);\n");
    assert_eq!(
        only(&r).object.as_deref(),
        Some("index:public.users.users_email_idx")
    );
}

#[test]
fn calls_postgres_would_reject_are_reported() {
    let r = run("SELECT has_table('a'::name, 'b'::name, 'c'::name, 'd'::name, 'e'::name);\n");
    let a = only(&r);
    assert_eq!(a.resolution, ResolutionKind::Rejected);
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0].message.contains("PostgreSQL would reject"),
        "{:?}",
        r.errors
    );
}

// Where assertions live.
#[test]
fn every_statement_form_counts() {
    let r = run("SELECT has_table('a'::name, 'b'::name);\nSELECT * FROM has_view('v');\nSELECT has_column('t', c, 'd') FROM cols;\nSELECT ok(true) UNION ALL SELECT ok(false);\n");
    assert_eq!(
        functions(&r),
        ["has_table", "has_view", "has_column", "ok", "ok"]
    );
}

#[test]
fn nested_assertions_count_once_as_the_innermost() {
    let r = run("SELECT ok(has_table('x'));\nSELECT * FROM check_test(has_view('v'), true, 'name', 'desc', '');\n");
    assert_eq!(functions(&r), ["has_table", "has_view"]);
    // check_test emits its own results: one, plus description and diagnostics.
    assert_eq!(r.tests, 1 + 3);
}

#[test]
fn xunit_bodies_and_do_blocks_record_their_context() {
    let sql = "CREATE OR REPLACE FUNCTION tests.test_users() RETURNS SETOF TEXT LANGUAGE plpgsql AS $body$\nBEGIN\n  RETURN NEXT has_table('users');\n  RETURN QUERY SELECT has_column('users', 'id');\n  PERFORM ok(true);\nEND;\n$body$;\nDO $$ BEGIN PERFORM has_schema('app'); END $$;\nSELECT * FROM runtests('tests'::name);\n";
    let r = run(sql);
    let ctx: Vec<String> = r.assertions.iter().map(|a| a.context.to_string()).collect();
    assert_eq!(
        ctx,
        [
            "body:test_users",
            "body:test_users",
            "body:test_users",
            "do"
        ]
    );
    assert_eq!(r.assertions[0].line, 3);
    assert!(r.runs_tests);
}

#[test]
fn bodies_in_other_languages_are_not_read() {
    let r = run(
        "CREATE FUNCTION f() RETURNS text AS $$ return has_table('x') $$ LANGUAGE plpython3u;\n",
    );
    assert!(r.assertions.is_empty());
}

#[test]
fn descriptions_and_sql_strings_are_not_calls() {
    let r = run("SELECT results_eq('SELECT has_table(1)', $$VALUES (has_view('v'))$$, 'has_table should work');\nSELECT lives_ok('SELECT ok(true)');\n");
    assert_eq!(functions(&r), ["results_eq", "lives_ok"]);
}

// Targets.
#[test]
fn dynamic_names_are_counted_without_an_object() {
    let r = run(
        "SELECT has_table('app', 'p_' || suffix, 'd');\nSELECT has_table(:'schema', 'users');\n",
    );
    assert!(
        r.assertions.iter().all(|a| a.dynamic && a.object.is_none()),
        "{:#?}",
        r.assertions
    );
}

#[test]
fn set_assertions_list_their_members() {
    let r = run("SELECT tables_are('app', ARRAY['users', 'orders'], 'd');\n");
    let a = only(&r);
    assert_eq!(a.object.as_deref(), Some("schema:app"));
    assert_eq!(a.members, ["table:app.users", "table:app.orders"]);
}

#[test]
fn search_path_qualifies_unqualified_names() {
    let opts = ExtractOptions {
        search_path: vec!["app".into()],
        ..Default::default()
    };
    let r = run_with("SELECT has_table('users');", opts);
    assert_eq!(only(&r).object.as_deref(), Some("table:app.users"));
}

// Plans.
#[test]
fn plans_and_tests() {
    let r = run("\\set ON_ERROR_STOP 1\nSELECT plan(3);\nSELECT ok(true);\nSELECT skip('later', 2);\nSELECT * FROM finish();\n");
    assert_eq!(r.plan, Some(PlanDecl::Fixed { count: 3, line: 2 }));
    assert_eq!(r.tests, 3);
    assert!(r.finish);
    assert_eq!(
        run("SELECT * FROM no_plan();").plan,
        Some(PlanDecl::NoPlan { line: 1 })
    );
    assert!(matches!(
        run("SELECT plan(:n);").plan,
        Some(PlanDecl::Dynamic { .. })
    ));
}

#[test]
fn includes_are_recorded() {
    let r =
        run("\\i test/setup.sql\n\\ir 'helpers/a b.sql'\n\\include_relative x.sql\n\\echo hi\n");
    let inc: Vec<(&str, bool)> = r
        .includes
        .iter()
        .map(|i| (i.path.as_str(), i.relative))
        .collect();
    assert_eq!(
        inc,
        [
            ("test/setup.sql", false),
            ("helpers/a b.sql", true),
            ("x.sql", true)
        ]
    );
}

// User-declared helpers.
#[test]
fn declared_helpers_count_as_assertions() {
    let opts = ExtractOptions {
        helpers: vec![HelperDecl {
            name: "tests.rls_enabled".into(),
            kind: Some(pgtap_scan::object::ObjectKind::Table),
            args: vec!["schema".into(), "table".into()],
            aspect: Some(pgtap_scan::object::Aspect::Rls),
        }],
        ..Default::default()
    };
    let r = run_with(
        "SELECT tests.rls_enabled('public', 'accounts');\nSELECT other.rls_enabled('x', 'y');\n",
        opts,
    );
    let a = only(&r);
    assert_eq!(a.object.as_deref(), Some("table:public.accounts"));
    assert_eq!(a.resolution, ResolutionKind::Helper);
    assert_eq!(a.aspect.as_ref().map(|a| a.name()), Some("rls"));
}

// Commented assertions.
#[test]
fn commented_assertions_only_with_the_option() {
    let sql = "-- SELECT has_table('users');\nSELECT ok(true);\n";
    assert_eq!(functions(&run(sql)), ["ok"]);
    let opts = ExtractOptions {
        include_commented: true,
        ..Default::default()
    };
    let r = run_with(sql, opts);
    assert_eq!(functions(&r), ["has_table", "ok"]);
    assert!(r.assertions[0].commented);
    assert_eq!(r.assertions[0].context, Context::Top);
    assert_eq!(
        r.tests, 1,
        "commented assertions are not counted against the plan"
    );
}

// Lexical problems are reported with a line, never a panic.
#[test]
fn unterminated_constructs_are_reported_with_their_line() {
    let r = run("SELECT ok(true);\nSELECT has_table('oops);\n");
    assert!(
        r.errors
            .iter()
            .any(|e| e.line == 2 && e.message.contains("unterminated")),
        "{:?}",
        r.errors
    );
}

/// One extractor for all property cases: building the name automaton is the costly part.
fn commented_extractor() -> &'static Extractor {
    static EX: std::sync::OnceLock<Extractor> = std::sync::OnceLock::new();
    EX.get_or_init(|| {
        Extractor::new(ExtractOptions {
            include_commented: true,
            ..Default::default()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn extraction_never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = commented_extractor().extract(&bytes);
    }

    #[test]
    fn extraction_never_panics_on_sqlish_input(parts in proptest::collection::vec(prop::sample::select(vec![
        "SELECT ", "has_table", "(", ")", "'a'", "'{x,y}'", "::name", ",", ";", "$$", "$t$", "ARRAY[", "]",
        "CREATE FUNCTION f() AS ", "DO ", "check_test", "ok", "is", " => ", "--", "/*", "*/", "\n", "\\i x.sql\n",
        ":'v'", "||", "NULL", "42", "plan", "skip", "CAST(", " AS text)", "LANGUAGE plpgsql ",
    ]), 0..64)) {
        let src: String = parts.concat();
        let r = commented_extractor().extract(src.as_bytes());
        for a in &r.assertions {
            prop_assert!(a.line >= 1);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Through the binary
// ---------------------------------------------------------------------------------------

pgtest!(search_path_flag_qualifies_unqualified_names, |dir, cmd| {
    dir.create("t.sql", "SELECT has_table('accounts');\n");
    let r = cmd.args(["--search-path", "app,public"]).json();
    assert_eq!(assertions(&r)[0]["object"], "table:app.accounts");
});

pgtest!(
    include_commented_counts_commented_calls_marked,
    |dir, cmd| {
        dir.create(
            "t.sql",
            "SELECT plan(1);\n-- SELECT has_table('x');\nSELECT ok(true);\n",
        );
        let r = cmd.json();
        assert_eq!(r["summary"]["assertions"], 1);
        assert!(r["summary"]["by_function"].get("has_table").is_none());
        assert_eq!(r["summary"]["commented"], 0);
        assert!(assertions(&r).iter().all(|a| a.get("commented").is_none()));

        let r = dir.command().arg("--include-commented").json();
        assert_eq!(r["summary"]["assertions"], 2);
        assert_eq!(r["summary"]["commented"], 1);
        let a = assertions(&r);
        let commented: Vec<&Value> = a.iter().filter(|a| a["commented"] == true).collect();
        assert_eq!(commented.len(), 1);
        assert_eq!(commented[0]["function"], "has_table");
        assert_eq!(commented[0]["object"], "table:public.x");
        assert_eq!(commented[0]["line"], 2);
        // A commented call does not count towards the plan.
        assert_eq!(r["summary"]["plans"]["agree"], 1);
    }
);

pgtest!(include_commented_tolerates_prose_in_comments, |dir, cmd| {
    dir.create(
        "t.sql",
        "SELECT plan(1);\n\
             -- ok() is what we use below; don't forget: SELECT has_table('x');\n\
             SELECT ok(true);\n",
    );
    let run = cmd
        .args(["--include-commented", "--format", "json"])
        .expect_code(0);
    assert!(run.stderr.is_empty(), "no messages about prose\n{run}");
    let r = run.json();
    assert_eq!(r["summary"]["errors"], 0);
    assert_eq!(r["summary"]["commented"], 1, "{}", r["summary"]);
    assert_eq!(r["summary"]["by_function"]["has_table"], 1);
});

pgtest!(
    function_names_in_descriptions_are_not_counted,
    |dir, cmd| {
        dir.create(
            "t.sql",
            "SELECT plan(2);\n\
         SELECT ok(true, 'has_table(''y'') and col_is_pk(x) are only words here');\n\
         SELECT is(1, 1, E'throws_ok(\\'boom\\') is mentioned too');\n",
        );
        let r = cmd.json();
        assert_eq!(r["summary"]["by_function"], json!({"ok": 1, "is": 1}));
        assert_eq!(r["summary"]["plans"]["agree"], 1);
        assert_eq!(
            assertions(&r)[0]["description"],
            "has_table('y') and col_is_pk(x) are only words here"
        );
    }
);

pgtest!(
    sql_strings_given_to_results_eq_are_not_counted,
    |dir, cmd| {
        dir.create(
        "t.sql",
        "SELECT plan(2);\n\
         SELECT results_eq('SELECT has_table(''z'')', $$SELECT has_column('a', 'b')$$, 'results match');\n\
         SELECT set_eq('q', ARRAY['ok(true)'], 'set');\n",
    );
        let r = cmd.json();
        assert_eq!(
            r["summary"]["by_function"],
            json!({"results_eq": 1, "set_eq": 1}),
            "{}",
            r["summary"]
        );
    }
);

pgtest!(xunit_body_assertions_have_a_body_context, |dir, cmd| {
    dir.create(
        "x.sql",
        "\
CREATE OR REPLACE FUNCTION test_accounts() RETURNS SETOF TEXT LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEXT has_table('public', 'accounts', 'accounts exists');
  RETURN NEXT col_is_pk('public', 'accounts', 'id', 'pk');
END;
$$;
CREATE FUNCTION tests.test_more() RETURNS SETOF TEXT AS $body$
  SELECT has_view('v');
$body$ LANGUAGE sql;
DO $$ BEGIN PERFORM ok(true); END $$;
SELECT * FROM runtests();
",
    );
    let r = cmd.json();
    let a = assertions(&r);
    let ctx: Vec<(&str, &str, u64)> = a
        .iter()
        .map(|a| {
            (
                a["function"].as_str().unwrap_or_default(),
                a["context"].as_str().unwrap_or_default(),
                a["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        ctx,
        vec![
            ("has_table", "body:test_accounts", 3),
            ("col_is_pk", "body:test_accounts", 4),
            // The context names the function without its schema.
            ("has_view", "body:test_more", 8),
            ("ok", "do", 10),
        ]
    );
    assert_eq!(a[0]["object"], "table:public.accounts");
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

/// Copies `from` into `to` with every LF replaced by `eol`.
fn copy_with_line_endings(from: &std::path::Path, to: &std::path::Path, eol: &[u8]) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_with_line_endings(&p, &dest, eol);
        } else {
            let src = std::fs::read(&p).expect("read");
            let mut out = Vec::with_capacity(src.len());
            for &b in &src {
                if b == b'\n' {
                    out.extend_from_slice(eol);
                } else {
                    out.push(b);
                }
            }
            std::fs::write(&dest, out).expect("write");
        }
    }
}

/// Each assertion as `file:line:column function object`, plus the includes and the message
/// counts: what must not depend on the line endings.
fn located_assertions(r: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for f in r["files"].as_array().expect("files") {
        let path = f["path"].as_str().expect("path");
        let name = path.rsplit_once("tests/").map_or(path, |(_, n)| n);
        for a in f["assertions"].as_array().expect("assertions") {
            out.push(format!(
                "{name}:{}:{} {} {}",
                a["line"], a["column"], a["function"], a["object"]
            ));
        }
        for i in f["includes"].as_array().expect("includes") {
            out.push(format!("{name} includes {}", i["path"]));
        }
        out.push(format!(
            "{name}: {} errors, {} warnings, plan {}",
            f["errors"].as_array().map_or(0, Vec::len),
            f["warnings"].as_array().map_or(0, Vec::len),
            f["plan"]
        ));
    }
    out.sort();
    out
}

pgtest!(
    lone_cr_line_endings_find_every_assertion_on_its_line,
    |dir, cmd| {
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/tests");
        copy_with_line_endings(&sample, &dir.join("cr/tests"), b"\r");
        copy_with_line_endings(&sample, &dir.join("crlf/tests"), b"\r\n");
        let lf = dir.command().arg(&sample).json();
        let cr = dir.command().arg("cr/tests").json();
        let crlf = dir.command().arg("crlf/tests").json();
        assert_eq!(lf["summary"]["assertions"], 316);
        assert_eq!(cr["summary"]["assertions"], 316);
        let expected = located_assertions(&lf);
        assert_eq!(located_assertions(&cr), expected);
        assert_eq!(located_assertions(&crlf), expected);
    }
);

// ---------------------------------------------------------------------------------------
// Shapes real suites use that static reading got wrong
// ---------------------------------------------------------------------------------------

fn functions_and_lines(report: &Value) -> Vec<(String, u64)> {
    assertions(report)
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
    for a in assertions(&report) {
        assert_eq!(a["resolution"], "exact", "{a}");
    }
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
        let a = &assertions(&report)[0];
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
            plan_counts(&report),
            (1, 1, 1, 0),
            "{:#}",
            report["summary"]["plans"]
        );
        let objects: Vec<(String, String)> = assertions(&report)
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
