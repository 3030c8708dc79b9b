//! Focused tests of extraction, one group per item of the extraction issue.

use pgtap_scan::config::{ExtractOptions, HelperDecl};
use pgtap_scan::extract::Extractor;
use pgtap_scan::model::{Assertion, Context, FileResult, PlanDecl, ResolutionKind};
use proptest::prelude::*;

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

// 3. Finder: code tokens only, followed by `(`, case-insensitive, schema-qualified.
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

// 4. Call parser: typed values, named notation, nesting.
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

// 5. Overload resolution as PostgreSQL does it.
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

// 6. Where assertions live.
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

// 7. Targets.
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

// 8. Plans.
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

// 9. User-declared helpers.
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

// 10. Commented assertions.
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

// 1. Lexical problems are reported with a line, never a panic.
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
