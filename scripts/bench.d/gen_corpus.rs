//! gen-corpus: a deterministic generator of realistic pgTAP suites, for scripts/bench.
//!
//! One file, no dependencies, built with `rustc -O` by `scripts/gen-corpus` (so it needs no
//! change to the workspace). Every file is made from a random stream seeded by (seed, file
//! index) alone, so the tree is byte-identical for a seed whatever the thread count.
//! Only integer arithmetic feeds the output (no libm), so it is identical across machines.
//!
//! The styles and their sizes come from the shared corpora (`../shared/corpus`):
//!   flow      pgflow: short plain scripts, `begin; select plan(n); ... select finish(); rollback;`
//!   partman   pg_partman: long plain scripts, DDL, dynamic names (`'t_p'||to_char(..)`)
//!   xunit     mox: `CREATE FUNCTION test.test_x() RETURNS SETOF TEXT ... RETURN NEXT is(..)`
//!   checktest pgTAP's own tests: `\i setup.sql`, `check_test(has_table(..), true, ..)`
//!   schema    application structure tests: has_table, has_column, col_type_is, fk_ok, privileges
//! plus a `setup.sql` at the root (included with `\i` by checktest files) and a `helpers.sql`
//! in every fourth directory (included with `\ir` by some scripts there, and counted in
//! their plans).
//!
//! The count written to MANIFEST.json follows the scanner's rules: one per assertion call in
//! code (top level, function bodies, DO blocks), the innermost when calls nest; calls in
//! comments and strings do not count; check_test, plan, finish, diag, skip, todo are not
//! assertions (the assertion inside check_test is). Every file also gets a correct
//! `plan(n)` when the scanner can check it (n = the TAP results its top level emits).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

const VERSION: &str = "gen-corpus 1";
const FILES_PER_DIR: u64 = 100;
const DIR_FANOUT: u64 = 32;

// ---------------------------------------------------------------------------------------
// Random numbers: splitmix64, integer only.

#[derive(Clone)]
struct Rng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

impl Rng {
    fn for_item(seed: u64, salt: u64, i: u64) -> Rng {
        Rng(mix(seed ^ mix(salt.wrapping_mul(0x9e3779b97f4a7c15) ^ mix(i.wrapping_add(1)))))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        mix(self.0)
    }
    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// True with probability pct/100.
    fn pct(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// A size from a 21-point quantile table (0%, 5%, ..., 100%), interpolated.
    fn quantile(&mut self, q: &[u64; 21]) -> u64 {
        let k = self.below(20) as usize;
        let f = self.below(1000);
        q[k] + (q[k + 1] - q[k]) * f / 1000
    }
}

// ---------------------------------------------------------------------------------------
// Styles and sizes.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Flow,
    Partman,
    Xunit,
    CheckTest,
    Schema,
    Helper,
    Setup,
}

const STYLES: [Style; 7] = [
    Style::Flow,
    Style::Partman,
    Style::Xunit,
    Style::CheckTest,
    Style::Schema,
    Style::Helper,
    Style::Setup,
];

impl Style {
    fn name(self) -> &'static str {
        match self {
            Style::Flow => "flow",
            Style::Partman => "partman",
            Style::Xunit => "xunit",
            Style::CheckTest => "checktest",
            Style::Schema => "schema",
            Style::Helper => "helper",
            Style::Setup => "setup",
        }
    }
}

/// File sizes of the shared corpora, 5% quantiles (bytes).
const SIZES_PGFLOW: [u64; 21] = [
    274, 645, 836, 1023, 1169, 1316, 1423, 1640, 1767, 1974, 2114, 2239, 2395, 2505, 2648, 2795,
    2976, 3219, 3422, 4080, 12668,
];
const SIZES_PARTMAN: [u64; 21] = [
    540, 1065, 2024, 2370, 3382, 3621, 4292, 4566, 5438, 6281, 7444, 9166, 10325, 16527, 21265,
    22403, 24055, 47814, 61558, 70334, 95005,
];
const SIZES_MOX: [u64; 21] = [
    1309, 2698, 3227, 6984, 8552, 9041, 9398, 10763, 12788, 12954, 13087, 14806, 16458, 17602,
    17830, 18862, 19931, 33838, 36142, 41477, 73767,
];
const SIZES_PGTAP: [u64; 21] = [
    45, 195, 267, 1771, 1793, 2109, 2420, 2905, 4544, 5070, 5365, 8073, 9492, 10963, 13849,
    17999, 21224, 43117, 54150, 65413, 90138,
];

/// Style of an ordinary test file: the corpora's mix (pgflow 277, partman 50, pgTAP 42,
/// mox 35 files), with a tenth given to application schema tests.
fn pick_style(r: &mut Rng) -> Style {
    match r.below(100) {
        0..=57 => Style::Flow,
        58..=69 => Style::Partman,
        70..=78 => Style::Xunit,
        79..=89 => Style::CheckTest,
        _ => Style::Schema,
    }
}

fn target_size(style: Style, r: &mut Rng) -> u64 {
    match style {
        Style::Flow => r.quantile(&SIZES_PGFLOW),
        Style::Partman => r.quantile(&SIZES_PARTMAN),
        Style::Xunit => r.quantile(&SIZES_MOX),
        Style::CheckTest => r.quantile(&SIZES_PGTAP),
        Style::Schema => r.quantile(&SIZES_PGFLOW) * 3 / 2,
        Style::Helper => r.range(600, 2500),
        Style::Setup => 0,
    }
}

// ---------------------------------------------------------------------------------------
// Vocabulary.

const SCHEMAS: &[&str] = &[
    "public", "app", "billing", "auth", "inventory", "audit", "pgflow", "partman_test", "crm",
    "reporting",
];
const TABLES: &[&str] = &[
    "users", "accounts", "orders", "order_items", "invoices", "runs", "steps", "step_states",
    "step_tasks", "events", "sessions", "products", "payments", "flows", "workers", "deps",
    "audit_log", "customers", "shipments", "subscriptions", "refunds", "tenants", "api_keys",
    "facet", "klasse", "bruger", "itsystem", "organisation",
];
const COLUMNS: &[&str] = &[
    "id", "name", "email", "created_at", "updated_at", "status", "flow_slug", "step_slug",
    "amount", "user_id", "account_id", "payload", "attempts_count", "run_id", "tenant_id",
    "deleted_at", "note", "brugervendtnoegle", "virkning", "price_cents", "currency",
];
const TYPES: &[&str] = &[
    "integer", "text", "bigint", "timestamp with time zone", "jsonb", "uuid", "boolean",
    "numeric(10,2)", "character varying(255)", "smallint",
];
const FUNCS: &[&str] = &[
    "start_flow", "complete_task", "fail_task", "add_step", "create_flow", "read_and_start",
    "ensure_worker", "prune_runs", "calculate_retry_delay", "set_vt_batch", "create_parent",
    "run_maintenance", "as_create_or_import_facet", "as_search_itsystem", "archive_order",
    "apply_refund", "current_tenant",
];
const ROLES: &[&str] = &["anon", "authenticated", "service_role", "app_user", "app_readonly"];
const SLUGS: &[&str] = &[
    "sequential", "sequential_other", "two_roots", "map_flow", "with_retry", "fan_out",
    "diamond", "single_step", "conditional",
];
const STEPS: &[&str] = &["first", "second", "last", "root_a", "root_b", "merge", "map", "check"];
/// Description words; some are pgTAP function names (they must not count).
const DESC_WORDS: &[&str] = &[
    "should", "exist", "be", "created", "returned", "after", "the", "first", "run", "task",
    "is", "ok", "has_table", "results_eq", "col_is_pk", "throws_ok", "when", "retry", "step",
    "flow", "complete", "empty", "not", "null", "with", "its", "default", "fail", "pass",
    "matches", "skip", "todo", "diag", "plan", "finish", "tilstand", "ændret", "søgning",
];
/// `-- TEST:` titles (pgflow), some naming pgTAP calls.
const TITLES: &[&str] = &[
    "Run should be created",
    "remaining_steps should be equal to number of steps",
    "is() on the task count after complete_task",
    "results_eq: step states for all steps",
    "No steps from other flows should be created",
    "throws_ok when the flow does not exist",
    "Retry delay grows exponentially",
];
const PRIVS: &[&str] = &["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"];
/// Comment lines; many mention pgTAP calls (they must not count).
const COMMENTS: &[&str] = &[
    "-- TEST: Run should be created",
    "-- SETUP: Start a flow run",
    "-- has_table() is checked first so the rest of the file makes sense",
    "-- NOTE: results_eq('SELECT 1', ARRAY[1]) would be simpler but hides ordering",
    "-- TODO: use is(count, 3) once the fixture is stable",
    "--SELECT * FROM runtests('test'::name);",
    "-- select ok(false, 'disabled until the retry logic lands');",
    "-- Other tests: check_test(has_column(..)) lives in coltap.sql",
    "-- ########## TIME DAILY TESTS ##########",
    "-- Søgning på tilstand: virkning skal være ændret",
    "-- ensure workers are pruned (prune_runs does not call throws_ok)",
    "/* col_type_is('users', 'id', 'integer') fails on 9.6: see issue 42 */",
    "/*\n * Block comment with a call: SELECT has_index('app', 'users', 'users_pkey', 'id');\n * and another: SELECT fk_ok('orders', 'user_id', 'users', 'id');\n */",
];

// ---------------------------------------------------------------------------------------
// Output of one file.

struct Out {
    buf: String,
    /// Assertion calls written (the scanner's count).
    assertions: u64,
    /// TAP results the top level emits (for plan(n)).
    tests: u64,
}

impl Out {
    fn new() -> Out {
        Out {
            buf: String::with_capacity(1 << 17),
            assertions: 0,
            tests: 0,
        }
    }
    fn clear(&mut self) {
        self.buf.clear();
        self.assertions = 0;
        self.tests = 0;
    }
    fn line(&mut self, s: &str) {
        self.buf.push_str(s);
        self.buf.push('\n');
    }
    /// One top-level assertion statement (counted once, one TAP result).
    fn top(&mut self, call: &str) {
        self.buf.push_str("SELECT ");
        self.buf.push_str(call);
        self.buf.push_str(";\n");
        self.assertions += 1;
        self.tests += 1;
    }
}

fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn desc(r: &mut Rng) -> String {
    let n = r.range(3, 9);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(r.pick(DESC_WORDS));
    }
    if r.pct(10) {
        s.push_str(" (it's fine)");
    }
    q(&s)
}

/// A schema-qualified or bare table, for descriptions.
fn ident(r: &mut Rng, list: &[&str]) -> String {
    let base = r.pick(list);
    if r.pct(30) {
        format!("{}_{}", base, r.below(40))
    } else {
        base.to_string()
    }
}

/// A pgTAP assertion call about database structure or values: (call text).
/// Always exactly one assertion (no nesting).
fn assertion_call(r: &mut Rng) -> String {
    let s = r.pick(SCHEMAS);
    let t = ident(r, TABLES);
    let c = r.pick(COLUMNS);
    let d = desc(r);
    // A schema qualification of the pgTAP function itself, sometimes.
    let tap = if r.pct(4) { "tap." } else { "" };
    match r.below(30) {
        0 => format!("{tap}has_table({}, {}, {d})", q(s), q(&t)),
        1 => format!("{tap}has_table({})", q(&t)),
        2 => format!("{tap}hasnt_table({}, {}, {d})", q(s), q(&format!("{t}_old"))),
        3 => format!("{tap}has_column({}, {}, {}, {d})", q(s), q(&t), q(c)),
        4 => format!("{tap}col_type_is({}, {}, {}, {}, {d})", q(s), q(&t), q(c), q(r.pick(TYPES))),
        5 => format!("{tap}col_not_null({}, {}, {}, {d})", q(s), q(&t), q(c)),
        6 => format!("{tap}col_is_pk({}, {}, {}, {d})", q(s), q(&t), q("id")),
        7 => format!(
            "{tap}fk_ok({}, {}, {}, {}, {}, {})",
            q(s),
            q(&t),
            q(c),
            q(s),
            q(r.pick(TABLES)),
            q("id")
        ),
        8 => format!(
            "{tap}has_function({}, {}, ARRAY[{}, {}], {d})",
            q(s),
            q(r.pick(FUNCS)),
            q("text"),
            q("jsonb")
        ),
        9 => format!(
            "{tap}table_privs_are({}, {}, {}, ARRAY[{}, {}], {d})",
            q(s),
            q(&t),
            q(r.pick(ROLES)),
            q(r.pick(PRIVS)),
            q(r.pick(PRIVS))
        ),
        10 => format!(
            "is(\n  (select count(*)::int from {s}.{t} where {c} is not null),\n  {}::int,\n  {d}\n)",
            r.below(20)
        ),
        11 => format!("ok(\n  exists(select 1 from {s}.{t} where {c} = {}),\n  {d}\n)", r.below(1000)),
        12 => format!(
            "results_eq(\n  $$ SELECT {c}, status FROM {s}.{t} ORDER BY {c} $$,\n  $$ VALUES ({}, 'started'), ({}, 'completed') $$,\n  {d}\n)",
            r.below(100),
            r.below(100)
        ),
        13 => format!(
            "results_eq(\n  'SELECT count(*)::int FROM {s}.{t}',\n  ARRAY[{}],\n  {d}\n)",
            r.below(500)
        ),
        14 => format!(
            "set_eq(\n  $$ SELECT step_slug FROM {s}.step_states WHERE flow_slug = '{}' $$,\n  array[{}, {}]::text [],\n  {d}\n)",
            r.pick(SLUGS),
            q(r.pick(STEPS)),
            q(r.pick(STEPS))
        ),
        15 => format!("is_empty(\n  $$ SELECT * FROM {s}.{t} WHERE {c} IS NULL $$,\n  {d}\n)"),
        16 => format!("isnt_empty('SELECT * FROM ONLY {s}.{t}', {d})"),
        17 => format!(
            "throws_ok(\n  $$ SELECT {s}.{}('{}', '{{}}'::jsonb) $$,\n  'P0001',\n  'Flow not found',\n  {d}\n)",
            r.pick(FUNCS),
            r.pick(SLUGS)
        ),
        // The SQL under test mentions pgTAP names inside a string: one assertion only.
        18 => format!("lives_ok(\n  $$ SELECT has_table('{t}'), ok(true) $$,\n  {d}\n)"),
        19 => format!("isnt((select status from {s}.{t} limit 1), 'failed', {d})"),
        20 => format!("matches((select {c}::text from {s}.{t} limit 1), '^[a-z_]+$', {d})"),
        21 => format!("cmp_ok((select count(*) from {s}.{t})::int, '>', 0, {d})"),
        22 => format!(
            "policy_cmd_is({}, {}, {}, 'select', {d})",
            q(s),
            q(&t),
            q(&format!("{t}_tenant_isolation"))
        ),
        23 => format!(
            "has_trigger({}, {}, {}, {d})",
            q(s),
            q(&t),
            q(&format!("{t}_set_updated_at"))
        ),
        24 => format!("has_schema({}, {d})", q(s)),
        25 => format!("has_index({}, {}, {}, {}, {d})", q(s), q(&t), q(&format!("{t}_{c}_idx")), q(c)),
        26 => format!("col_default_is({}, {}, {}, 'now()', {d})", q(s), q(&t), q("created_at")),
        27 => format!("pass({d})"),
        28 => format!(
            "bag_eq(\n  E'SELECT attname\n    FROM pg_catalog.pg_attribute a\n    JOIN pg_catalog.pg_class c ON a.attrelid = c.oid\n    WHERE c.relname = ''{t}''\n      AND NOT attisdropped AND attnum > 0',\n  ARRAY[{}, {}, {}]::TEXT[],\n  {d}\n)",
            q("id"),
            q(c),
            q("created_at")
        ),
        _ => format!(
            "row_eq($$ SELECT {c}, status FROM {s}.{t} WHERE id = {} $$, ROW({}, 'done')::{s}.{t}_row, {d})",
            r.below(99),
            r.below(99)
        ),
    }
}

fn comment(r: &mut Rng, out: &mut Out) {
    out.line(r.pick(COMMENTS));
}

// ---------------------------------------------------------------------------------------
// Styles.

/// pgflow: `begin; select plan(n); select pgflow_tests.reset_db(); ...`
fn flow(r: &mut Rng, size: u64, helper: Option<(&str, u64)>, out: &mut Out, body: &mut Out) {
    body.clear();
    let slug = r.pick(SLUGS);
    body.line(&format!("select pgflow_tests.reset_db();\nselect pgflow_tests.setup_flow({});", q(slug)));
    if let Some((inc, tests)) = helper {
        body.line(&format!("\\ir {inc}"));
        body.tests += tests;
    }
    body.line("");
    body.line(&format!(
        "-- SETUP: Start a flow run\nselect pgflow.start_flow({}, '{{\"hello\": {}}}'::jsonb);\n",
        q(slug),
        r.below(100)
    ));
    while (body.buf.len() as u64) < size.saturating_sub(120) || body.assertions == 0 {
        match r.below(10) {
            0 => {
                body.line(&format!(
                    "select pgflow.complete_task(\n  (select run_id from pgflow.runs limit 1),\n  {},\n  {},\n  '{{\"result\": \"ok\"}}'::jsonb\n);",
                    q(r.pick(STEPS)),
                    r.below(4)
                ));
            }
            1 => comment(r, body),
            2 if r.pct(30) => {
                // not an assertion: diag and a skip
                body.line(&format!("select diag('has_table skipped on ' || {});", q(slug)));
            }
            _ => {
                body.line(&format!("-- TEST: {}", r.pick(TITLES)));
                let call = assertion_call(r);
                body.top(&call);
            }
        }
        body.line("");
    }
    out.clear();
    out.line("begin;");
    out.line(&format!("select plan({});", body.tests));
    out.buf.push_str(&body.buf);
    out.line("select finish();\nrollback;");
    out.assertions = body.assertions;
    out.tests = body.tests;
}

/// pg_partman: long scripts with DDL and dynamic child-table names.
fn partman(r: &mut Rng, size: u64, helper: Option<(&str, u64)>, out: &mut Out, body: &mut Out) {
    body.clear();
    let t = format!("{}_taptest_table", r.pick(&["time", "id", "id_time", "native"]));
    body.line("CREATE SCHEMA partman_test;\nCREATE ROLE partman_basic;\n");
    body.line(&format!(
        "CREATE TABLE partman_test.{t}\n    (col1 int\n        , col2 text default 'stuff'\n        , col3 timestamptz NOT NULL DEFAULT now())\n    PARTITION BY RANGE (col3);\nGRANT SELECT,INSERT,UPDATE ON partman_test.{t} TO partman_basic;\n"
    ));
    body.line(&format!("SELECT create_parent('partman_test.{t}', 'col3', '1 day', p_premake := 2);"));
    if let Some((inc, tests)) = helper {
        body.line(&format!("\\ir {inc}"));
        body.tests += tests;
    }
    body.line(&format!(
        "SELECT is_partitioned('partman_test', '{t}', 'Check that {t} is natively partitioned');"
    ));
    body.assertions += 1;
    body.tests += 1;
    let mut day = 0;
    while (body.buf.len() as u64) < size.saturating_sub(150) {
        match r.below(12) {
            0 => body.line(&format!(
                "INSERT INTO partman_test.{t} (col1, col3) VALUES (generate_series({},{}), CURRENT_TIMESTAMP + '{} days'::interval);",
                r.below(10),
                10 + r.below(100),
                r.below(9)
            )),
            1 => body.line("SELECT run_maintenance();"),
            2 => body.line(&format!(
                "CALL partman.partition_data_proc('partman_test.{t}', p_wait := 0);\nVACUUM ANALYZE partman_test.{t};"
            )),
            3 => comment(r, body),
            4 => {
                body.top(&format!(
                    "results_eq('SELECT count(*)::int FROM partman_test.{t}_p'||to_char(CURRENT_TIMESTAMP+''{day} days''::interval, ''YYYYMMDD''), ARRAY[{}], 'Check count from {t}_p'||to_char(CURRENT_TIMESTAMP+'{day} days'::interval, 'YYYYMMDD'))",
                    r.below(50)
                ));
            }
            5 => body.top(&format!(
                "is_empty('SELECT * FROM ONLY partman_test.{t}', 'Check that parent table has had data moved to partition')"
            )),
            6 => body.top(&format!(
                "hasnt_table('partman_test', '{t}_p'||to_char(CURRENT_TIMESTAMP-'{} days'::interval, 'YYYYMMDD'), 'Check {t}_p'||to_char(CURRENT_TIMESTAMP-'{} days'::interval, 'YYYYMMDD')||' does not exist')",
                day + 5,
                day + 5
            )),
            7 => body.top(&format!(
                "table_privs_are('partman_test', '{t}_p'||to_char(CURRENT_TIMESTAMP+'{day} days'::interval, 'YYYYMMDD'), 'partman_basic', ARRAY['SELECT','INSERT','UPDATE'], 'Check partman_basic privileges of {t}_p'||to_char(CURRENT_TIMESTAMP+'{day} days'::interval, 'YYYYMMDD'))"
            )),
            8 => body.top(&format!(
                "col_is_pk('partman_test', '{t}_p'||to_char(CURRENT_TIMESTAMP+'{day} days'::interval, 'YYYYMMDD'), ARRAY['col1'], 'Check for primary key in {t}_p'||to_char(CURRENT_TIMESTAMP+'{day} days'::interval, 'YYYYMMDD'))"
            )),
            _ => {
                body.top(&format!(
                    "has_table('partman_test', '{t}_p'||to_char(CURRENT_TIMESTAMP+'{day} days'::interval, 'YYYYMMDD'), 'Check {t}_p'||to_char(CURRENT_TIMESTAMP+'{day} days'::interval, 'YYYYMMDD')||' exists')"
                ));
                day += 1;
            }
        }
    }
    out.clear();
    out.line("-- ########## PARTMAN TESTS ##########\n-- Other tests:\n    -- Privilege inheritance\n    -- check that maintenance catches up if tables are missing\n");
    out.line("\\set ON_ERROR_ROLLBACK 1\n\\set ON_ERROR_STOP true\n\nBEGIN;\nSELECT set_config('search_path','partman, public',false);\n");
    out.line(&format!("SELECT plan({});", body.tests));
    out.buf.push_str(&body.buf);
    out.line("\nSELECT * FROM finish();\nROLLBACK;");
    out.assertions = body.assertions;
    out.tests = body.tests;
}

/// An xUnit body statement (`RETURN NEXT <assertion>;`), or filler. Returns assertions.
fn xunit_stmt(r: &mut Rng, out: &mut Out, vars: &[String]) {
    let v = &vars[r.below(vars.len() as u64) as usize];
    match r.below(14) {
        0 | 1 => out.line(&format!(
            "{v} := ROW (\n\t'[2015-05-{:02}, infinity)' :: TSTZRANGE,\n          uuid_generate_v4(),\n          'Bruger',\n          'NoteEx{}'\n          ) :: Virkning\n;\n",
            r.range(10, 28),
            r.below(20)
        )),
        2 => out.line(&format!(
            "{v} := as_search_itsystem(\n\tnull,\n\tnull,\n\tARRAY['{}']::text[]\n);\n",
            r.pick(STEPS)
        )),
        // A pgTAP name in dynamic SQL: a string, not a call.
        3 => out.line(&format!(
            "EXECUTE format($q$ SELECT has_table(%L, %L) $q$, 'test', {});",
            q(r.pick(TABLES))
        )),
        4 => out.line("-------------------------------------------------------------"),
        5 => out.line(&format!("\t--RETURN NEXT ok(false, 'disabled: {}');", r.pick(DESC_WORDS))),
        6 => out.line("IF pg_version_num() >= 100000 THEN\n\tPERFORM 1;\nEND IF;"),
        7 => {
            // Nested: the innermost assertion counts, the outer one wraps it.
            out.line(&format!(
                "RETURN NEXT matches(\n\thas_table('test', {}),\n\t'^ok',\n\t'has_table emits ok'\n);",
                q(r.pick(TABLES))
            ));
            out.assertions += 1;
        }
        8 => {
            out.line(&format!(
                "RETURN NEXT ok({v} @> ARRAY[{}]::uuid[] and array_length({v},1)=1, 'wildcard search on a single konfigurationreference');",
                q("f7109356-e87e-4b10-ad5d-36de6e3ee09f")
            ));
            out.assertions += 1;
        }
        9 => {
            out.line(&format!(
                "RETURN NEXT is(\n{v},\nARRAY[new_uuid]::uuid[],\n'simple search on a single {}'\n);",
                r.pick(TABLES)
            ));
            out.assertions += 1;
        }
        _ => {
            // The body is quoted with $$: the call's own dollar quotes must differ.
            let call = assertion_call(r).replace("$$", "$q$");
            out.line(&format!("RETURN NEXT {call};"));
            out.assertions += 1;
        }
    }
    out.line("");
}

/// mox: license header and `CREATE FUNCTION test.test_*() RETURNS SETOF TEXT` bodies.
fn xunit(r: &mut Rng, size: u64, out: &mut Out) {
    out.clear();
    out.line("-- Copyright (C) 2015 Magenta ApS, https://magenta.dk.\n-- Contact: info@magenta.dk.\n--\n-- This Source Code Form is subject to the terms of the Mozilla Public\n-- License, v. 2.0. If a copy of the MPL was not distributed with this\n-- file, You can obtain one at http://mozilla.org/MPL/2.0/.\n");
    out.line("--SELECT * FROM runtests('test'::name);");
    let nfun = 1 + r.below(3);
    let per = size / nfun;
    for f in 0..nfun {
        let name = format!("test_{}_{}", r.pick(FUNCS), f);
        let start = out.buf.len() as u64;
        match r.below(10) {
            // An SQL-language body: each SELECT is one assertion.
            0 => {
                let t = r.pick(TABLES);
                out.line(&format!(
                    "CREATE FUNCTION test.{name}() RETURNS SETOF TEXT AS $$\n    SELECT has_table('test', {}, 'has_table: {t}')\n    UNION ALL\n    SELECT col_is_pk('test', {}, 'id', 'col_is_pk on {t}.id')\n    UNION ALL\n    SELECT {};\n$$ LANGUAGE sql;\n",
                    q(t),
                    q(t),
                    assertion_call(r).replace("$$", "$q$")
                ));
                out.assertions += 3;
            }
            // A body in another language is not read: its pgTAP names do not count.
            1 => {
                out.line(&format!(
                    "CREATE FUNCTION test.{name}_py() RETURNS text LANGUAGE plpython3u AS $py$\n    return \"SELECT has_table('x'); SELECT ok(true)\"\n$py$;\n"
                ));
                continue;
            }
            _ => {
                out.line(&format!(
                    "CREATE OR REPLACE FUNCTION test.{name}()\nRETURNS SETOF TEXT LANGUAGE plpgsql AS \n$$\nDECLARE \n\tnew_uuid uuid;"
                ));
                let nv = 2 + r.below(5);
                let mut vars = Vec::new();
                for k in 0..nv {
                    let v = format!("{}{}", r.pick(&["virk", "search_result", "actual_", "expected_result"]), k);
                    out.line(&format!("\t{v} {};", r.pick(&["Virkning", "uuid[]", "FacetRegistreringType", "text"])));
                    vars.push(v);
                }
                out.line("BEGIN\n");
                let mut n = 0;
                while (out.buf.len() as u64) < start + per.saturating_sub(40) || n == 0 {
                    let before = out.assertions;
                    xunit_stmt(r, out, &vars);
                    n += out.assertions - before;
                }
                out.line("END;\n$$;\n");
            }
        }
    }
    if r.pct(10) {
        // A DO block: its assertions count too.
        out.line("DO $$\nBEGIN\n    PERFORM ok(true, 'DO blocks are read');\n    -- PERFORM fail('not this one');\nEND\n$$;\n");
        out.assertions += 1;
    }
    if r.pct(25) {
        out.line("SELECT * FROM runtests('test'::name);");
    }
}

/// pgTAP's own tests: `check_test(<assertion>, ...)`, block comments, a setup include.
fn checktest(r: &mut Rng, size: u64, out: &mut Out, body: &mut Out) {
    body.clear();
    body.line("-- This will be rolled back. :-)\nSET client_min_messages = warning;");
    let nt = 1 + r.below(3);
    for _ in 0..nt {
        let t = ident(r, TABLES);
        body.line(&format!(
            "CREATE TABLE public.{t}(\n    id      INT NOT NULL PRIMARY KEY,\n    name    TEXT DEFAULT '',\n    numb    NUMERIC(10, 2),\n    \"myInt\" NUMERIC(8)\n);"
        ));
    }
    body.line("RESET client_min_messages;\n");
    while (body.buf.len() as u64) < size.saturating_sub(80) || body.tests == 0 {
        match r.below(8) {
            0 => {
                let f = r.pick(&["has_table", "has_column", "col_is_pk", "has_index", "is"]);
                body.line(&format!(
                    "/****************************************************************************/\n-- Test {f}()."
                ));
            }
            1 => {
                // A value assertion, not wrapped.
                let call = assertion_call(r);
                body.top(&call);
            }
            2 if r.pct(30) => {
                body.line("SELECT * FROM todo('not implemented yet', 1);");
                let call = assertion_call(r);
                body.top(&call);
            }
            3 if r.pct(20) => {
                body.line(&format!("SELECT skip('no partitions before 10', {});", 2));
                body.tests += 2;
            }
            _ => {
                // check_test(<assertion>, ok, name, description, diag): 1 + non-null(desc)
                // + non-null(diag) results, and it replaces the inner one.
                let t = ident(r, TABLES);
                let (inner, what) = match r.below(5) {
                    0 => (format!("has_table( {} )", q(&t)), format!("Table {t} should exist")),
                    1 => (
                        format!("has_column( {}, {}, {} )", q(&t), q("id"), q("id column of has_column")),
                        "id column of has_column".to_string(),
                    ),
                    2 => (
                        format!("col_is_pk( 'public', {}, 'id', 'public.{t}.id should be pk' )", q(&t)),
                        format!("public.{t}.id should be pk"),
                    ),
                    3 => (
                        format!("ok( true, 'ok(true) passes' )"),
                        "ok(true) passes".to_string(),
                    ),
                    _ => (
                        format!("is( 1, 1, 'is(1, 1) should pass' )"),
                        "is(1, 1) should pass".to_string(),
                    ),
                };
                let pass = r.pct(70);
                let nargs = r.range(3, 5);
                let mut args = format!(
                    "    {inner},\n    {},\n    {}",
                    if pass { "true" } else { "false" },
                    q(&format!("{}(non-existent {t})", inner.split('(').next().unwrap_or("x")))
                );
                let mut emitted = 1;
                if nargs >= 4 {
                    args.push_str(&format!(",\n    {}", q(&what)));
                    emitted += 1;
                }
                if nargs >= 5 {
                    if r.pct(20) {
                        args.push_str(",\n    NULL");
                    } else {
                        args.push_str(",\n    ''");
                        emitted += 1;
                    }
                }
                body.line(&format!("SELECT * FROM check_test(\n{args}\n);\n"));
                body.assertions += 1;
                body.tests += emitted;
            }
        }
    }
    out.clear();
    out.line("\\unset ECHO\n\\i setup.sql\n-- \\i sql/pgtap.sql\n");
    out.line(&format!("SELECT plan({});\n--SELECT * FROM no_plan();\n", body.tests));
    out.buf.push_str(&body.buf);
    out.line("/****************************************************************************/\n-- Finish the tests and clean up.\nSELECT * FROM finish();\nROLLBACK;");
    out.assertions = body.assertions;
    out.tests = body.tests;
}

/// Application schema tests: per table, a block of structure assertions.
fn schema(r: &mut Rng, size: u64, helper: Option<(&str, u64)>, out: &mut Out, body: &mut Out) {
    body.clear();
    if let Some((inc, tests)) = helper {
        body.line(&format!("\\ir {inc}\n"));
        body.tests += tests;
    }
    while (body.buf.len() as u64) < size.saturating_sub(60) || body.assertions == 0 {
        let s = r.pick(SCHEMAS);
        let t = ident(r, TABLES);
        body.line(&format!("-- {s}.{t}: has_table, columns and keys"));
        body.top(&format!("has_table({}, {}, 'has_table: {s}.{t} should exist')", q(s), q(&t)));
        let ncol = r.range(1, 5);
        for _ in 0..ncol {
            let c = r.pick(COLUMNS);
            body.top(&format!("has_column({}, {}, {}, 'Column {t}.{c} should exist')", q(s), q(&t), q(c)));
            body.top(&format!(
                "col_type_is({}, {}, {}, {}, 'Column {t}.{c} should be type {}')",
                q(s),
                q(&t),
                q(c),
                q(r.pick(TYPES)),
                r.pick(TYPES)
            ));
        }
        if r.pct(50) {
            body.top(&format!("col_is_pk({}, {}, 'id', 'col_is_pk({t}.id)')", q(s), q(&t)));
        }
        if r.pct(30) {
            body.top(&format!(
                "table_privs_are({}, {}, {}, ARRAY[{}], 'anon can only {} {t}')",
                q(s),
                q(&t),
                q(r.pick(ROLES)),
                q("SELECT"),
                "SELECT"
            ));
        }
        if r.pct(30) {
            body.top(&format!(
                "policies_are({}, {}, ARRAY[{}, {}])",
                q(s),
                q(&t),
                q(&format!("{t}_select")),
                q(&format!("{t}_insert"))
            ));
        }
        if r.pct(15) {
            // The same call, spelled in upper case and with a space before the parenthesis.
            body.top(&format!("HAS_PK ({}, {}, 'has_pk {t}')", q(s), q(&t)));
        }
        body.line("");
    }
    out.clear();
    out.line("BEGIN;");
    out.line(&format!("SELECT plan( {} );\n", body.tests));
    out.buf.push_str(&body.buf);
    out.line("SELECT * FROM finish();\nROLLBACK;");
    out.assertions = body.assertions;
    out.tests = body.tests;
}

/// The per-directory `helpers.sql`: top-level assertions and no plan.
fn helper(seed: u64, dir: u64, out: &mut Out) {
    let mut r = Rng::for_item(seed, 2, dir);
    let size = target_size(Style::Helper, &mut r);
    out.clear();
    out.line("-- Shared checks for this directory; included with \\ir by the tests here.");
    out.line("-- Do not call plan() or finish() in this file.\n");
    while (out.buf.len() as u64) < size || out.assertions == 0 {
        let call = assertion_call(&mut r);
        out.top(&call);
    }
}

fn setup(out: &mut Out) {
    out.clear();
    out.line("\\set ECHO none\n\\set QUIET 1\n-- Turn off echo and keep things quiet.\n\\pset format unaligned\n\\pset tuples_only true\n\\pset pager off\n\n-- Revert all changes on failure.\n\\set ON_ERROR_ROLLBACK 1\n\\set ON_ERROR_STOP true\n\nBEGIN;\nCREATE EXTENSION IF NOT EXISTS pgtap;\n-- plan() is called by each test after including this file.");
}

// ---------------------------------------------------------------------------------------
// Layout.

const LEVEL_NAMES: &[&str] = &["suite", "module", "tests", "cases", "part"];

/// Directory of leaf `d` (of `ndirs`), relative to the root.
fn dir_path(d: u64, ndirs: u64) -> String {
    if ndirs <= 1 {
        return "tests".to_string();
    }
    let mut depth = 1;
    let mut cap = DIR_FANOUT;
    while cap < ndirs {
        cap *= DIR_FANOUT;
        depth += 1;
    }
    let mut digits = Vec::new();
    let mut x = d;
    for _ in 0..depth {
        digits.push(x % DIR_FANOUT);
        x /= DIR_FANOUT;
    }
    digits.reverse();
    let mut p = String::new();
    for (lvl, dg) in digits.iter().enumerate() {
        if lvl > 0 {
            p.push('/');
        }
        let name = LEVEL_NAMES[lvl.min(LEVEL_NAMES.len() - 1)];
        let _ = write!(p, "{name}_{dg:02}");
    }
    p
}

fn has_helper(d: u64, files_in_dir: u64) -> bool {
    d % 4 == 1 && files_in_dir >= 3
}

struct FileInfo {
    bytes: u64,
    assertions: u64,
    tests: Option<u64>,
    style: Style,
}

/// Makes file `i`: (relative path, content in `out`, info).
fn make_file(seed: u64, n: u64, i: u64, out: &mut Out, body: &mut Out) -> (String, FileInfo) {
    let ndirs = n.div_ceil(FILES_PER_DIR);
    if i == 0 {
        setup(out);
        return (
            "setup.sql".to_string(),
            FileInfo { bytes: out.buf.len() as u64, assertions: 0, tests: None, style: Style::Setup },
        );
    }
    let d = i / FILES_PER_DIR;
    let slot = i % FILES_PER_DIR;
    let files_in_dir = (n - d * FILES_PER_DIR).min(FILES_PER_DIR);
    let dir = dir_path(d, ndirs);
    if slot == 1 && has_helper(d, files_in_dir) {
        helper(seed, d, out);
        return (
            format!("{dir}/helpers.sql"),
            FileInfo { bytes: out.buf.len() as u64, assertions: out.assertions, tests: None, style: Style::Helper },
        );
    }
    let mut r = Rng::for_item(seed, 1, i);
    let style = pick_style(&mut r);
    let size = target_size(style, &mut r);
    let helper_tests = if has_helper(d, files_in_dir) && r.pct(30) {
        helper(seed, d, body);
        Some(("helpers.sql", body.tests))
    } else {
        None
    };
    let ext = if r.pct(5) { "pg" } else { "sql" };
    let (stem, planned) = match style {
        Style::Flow => {
            flow(&mut r, size, helper_tests, out, body);
            (format!("{}_{}", r.pick(&["creates", "completes", "fails", "retries", "starts", "prunes", "handles"]), r.pick(TABLES)), true)
        }
        Style::Partman => {
            partman(&mut r, size, helper_tests, out, body);
            (format!("test-{}-{}", r.pick(&["time", "id", "native"]), r.pick(&["daily", "weekly", "10", "gap-fill", "subpart"])), true)
        }
        Style::Xunit => {
            xunit(&mut r, size, out);
            (format!("test_as_{}", r.pick(FUNCS)), false)
        }
        Style::CheckTest => {
            checktest(&mut r, size, out, body);
            (format!("{}tap", r.pick(&["has", "col", "fk", "pk", "func", "priv", "trigger", "index", "enum", "view"])), true)
        }
        _ => {
            schema(&mut r, size, helper_tests, out, body);
            (format!("schema_{}", r.pick(TABLES)), true)
        }
    };
    let suffix = if style == Style::Flow { ".test" } else { "" };
    let path = format!("{dir}/{stem}_{slot:02}{suffix}.{ext}");
    let info = FileInfo {
        bytes: out.buf.len() as u64,
        assertions: out.assertions,
        tests: if planned { Some(out.tests) } else { None },
        style,
    };
    (path, info)
}

// ---------------------------------------------------------------------------------------

fn die(msg: &str) -> ! {
    eprintln!("gen-corpus: {msg}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pos = Vec::new();
    let mut seed: u64 = 42;
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => seed = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| die("--seed needs a number")),
            "--threads" => threads = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| die("--threads needs a number")),
            "-h" | "--help" => {
                println!("usage: gen-corpus N DIR [--seed S] [--threads T]");
                return;
            }
            s if s.starts_with("--") => die(&format!("unknown option {s}")),
            _ => pos.push(a.clone()),
        }
    }
    if pos.len() != 2 {
        die("usage: gen-corpus N DIR [--seed S] [--threads T]");
    }
    let n: u64 = pos[0].replace('_', "").parse().unwrap_or_else(|_| die("N must be a number"));
    if !(1..=10_000_000).contains(&n) {
        die("N must be between 1 and 10000000");
    }
    let root = PathBuf::from(&pos[1]);
    if root.exists() && std::fs::read_dir(&root).map_or(true, |mut d| d.next().is_some()) {
        die(&format!("{} exists and is not empty", root.display()));
    }
    let started = std::time::Instant::now();
    // Directories first (one thread), then files by whole directories.
    let ndirs = n.div_ceil(FILES_PER_DIR);
    std::fs::create_dir_all(&root).unwrap_or_else(|e| die(&format!("{}: {e}", root.display())));
    for d in 0..ndirs {
        let p = root.join(dir_path(d, ndirs));
        std::fs::create_dir_all(&p).unwrap_or_else(|e| die(&format!("{}: {e}", p.display())));
    }
    let threads = threads.clamp(1, 64) as u64;
    let results: Vec<Vec<(String, FileInfo)>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let root = &root;
                sc.spawn(move || {
                    let mut out = Out::new();
                    let mut body = Out::new();
                    let mut infos = Vec::new();
                    let mut d = t;
                    while d < ndirs {
                        let lo = d * FILES_PER_DIR;
                        let hi = (lo + FILES_PER_DIR).min(n);
                        for i in lo..hi {
                            let (rel, info) = make_file(seed, n, i, &mut out, &mut body);
                            write_file(&root.join(&rel), out.buf.as_bytes());
                            infos.push((rel, info));
                        }
                        d += threads;
                    }
                    infos
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| die("a worker panicked"))).collect()
    });
    // Back into file order.
    let mut all: Vec<(String, FileInfo)> = Vec::with_capacity(n as usize);
    let mut iters: Vec<_> = results.into_iter().map(|v| v.into_iter()).collect();
    for d in 0..ndirs {
        let t = (d % threads) as usize;
        let cnt = (n - d * FILES_PER_DIR).min(FILES_PER_DIR);
        for _ in 0..cnt {
            all.push(iters[t].next().unwrap_or_else(|| die("lost a file")));
        }
    }
    write_manifest(&root, seed, n, ndirs, &all);
    let secs = started.elapsed().as_secs_f64();
    let bytes: u64 = all.iter().map(|(_, f)| f.bytes).sum();
    let assertions: u64 = all.iter().map(|(_, f)| f.assertions).sum();
    eprintln!(
        "gen-corpus: {n} files, {} dirs, {:.1} MB, {assertions} assertions in {secs:.1} s ({:.0} files/s)",
        ndirs,
        bytes as f64 / 1e6,
        n as f64 / secs.max(1e-9)
    );
}

fn write_file(p: &Path, data: &[u8]) {
    std::fs::write(p, data).unwrap_or_else(|e| die(&format!("{}: {e}", p.display())));
}

fn write_manifest(root: &Path, seed: u64, n: u64, ndirs: u64, all: &[(String, FileInfo)]) {
    let mut tsv = std::io::BufWriter::new(
        std::fs::File::create(root.join("MANIFEST.tsv")).unwrap_or_else(|e| die(&format!("MANIFEST.tsv: {e}"))),
    );
    let _ = writeln!(tsv, "path\tstyle\tbytes\tassertions\tplanned");
    let mut per: Vec<(u64, u64, u64)> = vec![(0, 0, 0); STYLES.len()];
    for (p, f) in all {
        let planned = f.tests.map_or("-".to_string(), |t| t.to_string());
        let _ = writeln!(tsv, "{p}\t{}\t{}\t{}\t{planned}", f.style.name(), f.bytes, f.assertions);
        let k = STYLES.iter().position(|s| *s == f.style).unwrap_or(0);
        per[k].0 += 1;
        per[k].1 += f.bytes;
        per[k].2 += f.assertions;
    }
    tsv.flush().unwrap_or_else(|e| die(&format!("MANIFEST.tsv: {e}")));
    let bytes: u64 = all.iter().map(|(_, f)| f.bytes).sum();
    let assertions: u64 = all.iter().map(|(_, f)| f.assertions).sum();
    let pg = all.iter().filter(|(p, _)| p.ends_with(".pg")).count();
    let mut j = String::new();
    let _ = writeln!(j, "{{");
    let _ = writeln!(j, "  \"generator\": \"{VERSION}\",");
    let _ = writeln!(j, "  \"seed\": {seed},");
    let _ = writeln!(j, "  \"files\": {n},");
    let _ = writeln!(j, "  \"files_pg\": {pg},");
    let _ = writeln!(j, "  \"dirs\": {ndirs},");
    let _ = writeln!(j, "  \"bytes\": {bytes},");
    let _ = writeln!(j, "  \"assertions\": {assertions},");
    let _ = writeln!(j, "  \"per_file\": \"MANIFEST.tsv\",");
    let _ = writeln!(j, "  \"styles\": {{");
    let styles: Vec<String> = STYLES
        .iter()
        .zip(&per)
        .filter(|(_, c)| c.0 > 0)
        .map(|(s, c)| format!("    \"{}\": {{ \"files\": {}, \"bytes\": {}, \"assertions\": {} }}", s.name(), c.0, c.1, c.2))
        .collect();
    let _ = writeln!(j, "{}", styles.join(",\n"));
    let _ = writeln!(j, "  }}");
    let _ = writeln!(j, "}}");
    std::fs::write(root.join("MANIFEST.json"), j).unwrap_or_else(|e| die(&format!("MANIFEST.json: {e}")));
}
