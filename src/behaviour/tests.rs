//! Unit tests of the behavioural reader, through extraction (the way it is fed).

use crate::config::{ExtractOptions, RoleHelperDecl};
use crate::extract::Extractor;
use crate::model::{Attribution, Command, FileResult, Outcome, RefKind, Reference};

/// Options with behavioural references on (they are off by default).
fn refs_on() -> ExtractOptions {
    ExtractOptions {
        references: true,
        ..ExtractOptions::default()
    }
}

fn run(src: &str) -> FileResult {
    Extractor::new(refs_on()).extract(src.as_bytes())
}

/// `kind schema.name` (`relation.command`), `column rel.name:command`, one per reference.
fn show(r: &Reference) -> String {
    let q = |s: &Option<String>, n: &str| match s {
        Some(s) => format!("{s}.{n}"),
        None => n.to_string(),
    };
    let cmd = r.command.map(super::command_name).unwrap_or("-");
    match r.kind {
        RefKind::Function => format!(
            "function {}/{}",
            q(&r.schema, &r.name),
            r.arity.unwrap_or(0)
        ),
        RefKind::Relation => format!("relation {} {cmd}", q(&r.schema, &r.name)),
        RefKind::Column => format!(
            "column {}.{} {cmd}",
            r.relation.as_deref().unwrap_or("?"),
            r.name
        ),
        RefKind::Sequence => format!("sequence {}", q(&r.schema, &r.name)),
        RefKind::Type => format!("type {}", q(&r.schema, &r.name)),
    }
}

fn shown(r: &FileResult) -> Vec<String> {
    r.references.iter().map(show).collect()
}

fn has(r: &FileResult, what: &str) -> bool {
    shown(r).iter().any(|s| s == what)
}

fn find<'a>(r: &'a FileResult, what: &str) -> &'a Reference {
    r.references
        .iter()
        .find(|x| show(x) == what)
        .unwrap_or_else(|| panic!("{what} not in {:#?}", shown(r)))
}

#[test]
fn dml_with_joins_aliases_and_columns() {
    let r = run("insert into app.todos (title, owner) values ('a', 1);\n\
         update app.todos t set done = true from app.users u where u.id = t.owner;\n\
         delete from app.todos using app.users u where u.id = app.todos.owner;\n\
         select t.title, u.name from app.todos t join app.users as u on u.id = t.owner where t.done;\n\
         select ok(true);\n");
    for want in [
        "relation app.todos insert",
        "column app.todos.title insert",
        "column app.todos.owner insert",
        "relation app.todos update",
        "column app.todos.done update",
        "relation app.users select",
        "column app.users.id select",
        "column app.todos.owner select",
        "relation app.todos delete",
        "relation app.todos select",
        "column app.todos.title select",
        "column app.users.name select",
        "column app.todos.done select",
    ] {
        assert!(has(&r, want), "{want} missing from {:#?}", shown(&r));
    }
    // Keywords and aliases are never references.
    for s in shown(&r) {
        for bad in [" t ", ".t.", " u ", "true", "values", "using", " on"] {
            assert!(!s.contains(bad), "{s}");
        }
    }
    assert!(r
        .references
        .iter()
        .all(|x| x.attribution == Some(Attribution::Exercised) && x.assertion == Some(0)));
}

#[test]
fn ctes_table_merge_truncate_copy() {
    let r = run("with recent as (select id from app.events where at > now()), n as materialized (select 1)\n\
         select count(*) from recent join app.users on true;\n\
         table app.audit;\n\
         merge into app.stock s using app.deliveries d on s.item = d.item\n\
           when matched then update set qty = s.qty + d.qty\n\
           when not matched then insert (item, qty) values (d.item, d.qty);\n\
         truncate table app.a, only app.b restart identity;\n\
         copy app.c (x, y) from stdin;\n");
    for want in [
        "relation app.events select",
        "column app.events.id select",
        "relation app.users select",
        "relation app.audit select",
        "relation app.stock merge",
        "relation app.deliveries select",
        "column app.stock.qty update",
        "column app.stock.item insert",
        "column app.stock.qty insert",
        "relation app.a truncate",
        "relation app.b truncate",
        "relation app.c copy",
    ] {
        assert!(has(&r, want), "{want} missing from {:#?}", shown(&r));
    }
    // CTE names are not relations; now() and count() are built in.
    assert!(
        !shown(&r).iter().any(|s| s.contains("recent")
            || s.contains(" n ")
            || s.contains("now")
            || s.contains("count")),
        "{:#?}",
        shown(&r)
    );
}

#[test]
fn functions_sequences_and_types() {
    let r = run("select is(app.total(1, 2), 3);\n\
         select ok(nextval('app.order_seq') > 0);\n\
         select is('happy'::app.mood, 'happy'::app.mood);\n\
         select is(cast('x' as app.tag)::text, 'x'::text);\n\
         select ok(jsonb_build_object('a', 1) is not null);\n\
         call app.refresh();\n");
    for want in [
        "function app.total/2",
        "sequence app.order_seq",
        "type app.mood",
        "type app.tag",
        "function app.refresh/0",
    ] {
        assert!(has(&r, want), "{want} missing from {:#?}", shown(&r));
    }
    assert!(!shown(&r).iter().any(|s| s.contains("jsonb_build_object")
        || s.contains(" text")
        || s.contains("nextval")
        || s.contains(" is")
        || s.contains(" ok")));
    let total = find(&r, "function app.total/2");
    assert_eq!(total.attribution, Some(Attribution::Asserted));
    assert_eq!(total.expected, Some(Outcome::Allowed));
    assert_eq!(total.assertion, Some(0));
}

#[test]
fn sql_strings_keep_file_lines() {
    let src = "select plan(3);\n\
        select results_eq(\n\
          $$ select id\n\
             from app.items $$,\n\
          $$ values (1) $$\n\
        );\n\
        select throws_ok(\n\
          E'insert into app.items (id)\\n values (1)',\n\
          '23505'\n\
        );\n\
        select lives_ok('update app.items\n\
          set name = ''it''''s''\n\
          where id = 1');\n";
    let r = run(src);
    assert_eq!(find(&r, "relation app.items select").line, 4);
    assert_eq!(find(&r, "column app.items.id select").line, 3);
    // An E'' string: the escape \n is no line of the file.
    let ins = find(&r, "relation app.items insert");
    assert_eq!(ins.line, 8);
    assert_eq!(ins.expected, Some(Outcome::Raises));
    assert_eq!(ins.sqlstate.as_deref(), Some("23505"));
    assert_eq!(ins.assertion, Some(1));
    // A plain string with '' escapes over three lines.
    assert_eq!(find(&r, "relation app.items update").line, 11);
    assert_eq!(find(&r, "column app.items.name update").line, 12);
    assert_eq!(find(&r, "column app.items.id select").line, 3);
    let upd = find(&r, "relation app.items update");
    assert_eq!(upd.expected, Some(Outcome::Allowed));
    assert_eq!(upd.attribution, Some(Attribution::Asserted));
    assert_eq!(r.sql_strings_unreadable, 0);
}

#[test]
fn prepared_statements_are_read_where_used() {
    let r = run("prepare mine as select title from app.todos;\n\
         set role authenticated;\n\
         select results_eq('mine', $$ values ('a') $$);\n\
         execute mine;\n\
         select ok(true);\n");
    let uses: Vec<&Reference> = r
        .references
        .iter()
        .filter(|x| show(x) == "relation app.todos select")
        .collect();
    assert_eq!(uses.len(), 2, "{:#?}", r.references);
    assert!(uses.iter().all(|x| x.line == 1));
    assert!(uses
        .iter()
        .all(|x| x.role.as_deref() == Some("authenticated")));
    assert_eq!(uses[0].attribution, Some(Attribution::Asserted));
    assert_eq!(uses[0].assertion, Some(0));
    assert_eq!(uses[1].attribution, Some(Attribution::Exercised));
    assert_eq!(uses[1].assertion, Some(1));
}

#[test]
fn the_query_of_create_table_as_is_read() {
    let r = run("create temporary table before as\n\
         select msg_id from pgmq.q_archive where read_ct > 1;\n\
         create unlogged table if not exists s.copy (a, b) with (fillfactor = 70) as\n\
         table app.todos with no data;\n\
         create materialized view s.mv as select title from app.notes with data;\n\
         create view s.v as select body from app.hidden;\n\
         create table s.plain (a int, b text);\n\
         prepare p as select 1 from app.prepared;\n\
         create table s.from_p as execute p;\n\
         select ok(true);\n");
    for want in [
        "relation pgmq.q_archive select",
        "column pgmq.q_archive.msg_id select",
        "column pgmq.q_archive.read_ct select",
        "relation app.todos select",
        "relation app.notes select",
        "column app.notes.title select",
        "relation app.prepared select",
    ] {
        assert!(has(&r, want), "{want} not in {:#?}", shown(&r));
    }
    assert_eq!(find(&r, "relation pgmq.q_archive select").line, 2);
    // A view's query runs where the view is used; the new relations are no references.
    for not in [
        "relation app.hidden select",
        "relation before select",
        "relation s.copy select",
        "relation s.mv select",
        "relation s.plain select",
    ] {
        assert!(!has(&r, not), "{not} in {:#?}", shown(&r));
    }
}

#[test]
fn set_local_role_ends_with_the_transaction() {
    let r = run("begin;\n\
         set local role authenticated;\n\
         select is((select count(*) from app.a), 1::bigint);\n\
         rollback;\n\
         select is((select count(*) from app.b), 1::bigint);\n\
         start transaction;\n\
         set role anon;\n\
         select is((select count(*) from app.c), 1::bigint);\n\
         rollback;\n\
         select is((select count(*) from app.d), 1::bigint);\n\
         set role admin;\n\
         begin;\n\
         select set_config('role', 'editor', true);\n\
         select is((select count(*) from app.e), 1::bigint);\n\
         commit;\n\
         select is((select count(*) from app.f), 1::bigint);\n\
         set session authorization bob;\n\
         select is((select count(*) from app.g), 1::bigint);\n\
         reset session authorization;\n\
         select is((select count(*) from app.h), 1::bigint);\n");
    let role = |t: &str| find(&r, &format!("relation app.{t} select")).role.clone();
    assert_eq!(role("a").as_deref(), Some("authenticated"));
    assert_eq!(role("b"), None, "SET LOCAL ends at ROLLBACK");
    assert_eq!(role("c").as_deref(), Some("anon"));
    assert_eq!(
        role("d"),
        None,
        "a SET inside a rolled back transaction is undone"
    );
    assert_eq!(role("e").as_deref(), Some("editor"));
    assert_eq!(
        role("f").as_deref(),
        Some("admin"),
        "set_config(.., true) is local"
    );
    assert_eq!(role("g").as_deref(), Some("bob"));
    assert_eq!(role("h"), None);
}

#[test]
fn set_local_outside_a_transaction_changes_nothing() {
    let r = run("set local role x;\nselect is((select 1 from app.a), 1);\n");
    assert_eq!(find(&r, "relation app.a select").role, None);
}

#[test]
fn supabase_helpers_switch_roles() {
    let r = run("begin;\n\
         select tests.authenticate_as('alice');\n\
         select is((select count(*) from app.a), 1::bigint);\n\
         select tests.clear_authentication();\n\
         select is_empty($$ select * from app.b $$);\n\
         select tests.authenticate_as_service_role();\n\
         select isnt_empty($$ select * from app.c $$);\n\
         rollback;\n");
    assert_eq!(
        find(&r, "relation app.a select").role.as_deref(),
        Some("authenticated")
    );
    let b = find(&r, "relation app.b select");
    assert_eq!(b.role.as_deref(), Some("anon"));
    assert_eq!(b.expected, Some(Outcome::Filtered));
    let c = find(&r, "relation app.c select");
    assert_eq!(c.role.as_deref(), Some("service_role"));
    assert_eq!(c.expected, Some(Outcome::Allowed));
    assert!(!shown(&r).iter().any(|s| s.contains("authenticate")));
}

#[test]
fn declared_role_helpers_switch_roles() {
    let opts = ExtractOptions {
        role_helpers: vec![
            RoleHelperDecl {
                name: "tests.login_as".into(),
                role: None,
                arg: Some(2),
            },
            RoleHelperDecl {
                name: "as_admin".into(),
                role: Some("admin".into()),
                arg: None,
            },
        ],
        ..refs_on()
    };
    let r = Extractor::new(opts).extract(
        b"select tests.login_as('u1', 'editor');\n\
          select is((select 1 from app.a), 1);\n\
          select login_as('u1', 'other');\n\
          select is((select 1 from app.b), 1);\n\
          select util.as_admin();\n\
          select is((select 1 from app.c), 1);\n",
    );
    assert_eq!(
        find(&r, "relation app.a select").role.as_deref(),
        Some("editor")
    );
    // Declared with a schema: an unqualified call is another function.
    assert_eq!(
        find(&r, "relation app.b select").role.as_deref(),
        Some("editor")
    );
    assert!(has(&r, "function login_as/2"));
    assert_eq!(
        find(&r, "relation app.c select").role.as_deref(),
        Some("admin")
    );
}

#[test]
fn throws_with_42501_is_denied_and_messages_count_too() {
    let r = run("set role anon;\n\
         select throws_ok($$ insert into app.a (x) values (1) $$, '42501');\n\
         select throws_like($$ delete from app.b $$, '%row-level security%');\n\
         select throws_ok($$ update app.c set x = 1 $$);\n");
    let a = find(&r, "relation app.a insert");
    assert_eq!(
        (a.expected, a.sqlstate.as_deref()),
        (Some(Outcome::Denied), Some("42501"))
    );
    assert_eq!(a.role.as_deref(), Some("anon"));
    assert_eq!(
        find(&r, "relation app.b delete").expected,
        Some(Outcome::Denied)
    );
    assert_eq!(
        find(&r, "relation app.c update").expected,
        Some(Outcome::Raises)
    );
}

#[test]
fn asserted_and_exercised_attribution() {
    let r = run("select plan(2);\n\
         insert into app.a (x) values (1);\n\
         select app.touch(1);\n\
         select is((select x from app.a), 1);\n\
         update app.b set y = 2;\n\
         select ok(true);\n\
         delete from app.c;\n");
    let ins = find(&r, "relation app.a insert");
    assert_eq!(
        (ins.attribution, ins.assertion),
        (Some(Attribution::Exercised), Some(0))
    );
    assert_eq!(find(&r, "function app.touch/1").assertion, Some(0));
    let sel = find(&r, "relation app.a select");
    assert_eq!(
        (sel.attribution, sel.assertion, sel.expected),
        (Some(Attribution::Asserted), Some(0), Some(Outcome::Allowed))
    );
    assert_eq!(find(&r, "relation app.b update").assertion, Some(1));
    let del = find(&r, "relation app.c delete");
    assert_eq!((del.attribution, del.assertion), (None, None));
}

#[test]
fn bodies_and_do_blocks_are_read_with_their_own_assertions() {
    let r = run(
        "create function test_x(p_x int) returns setof text language plpgsql as $$\n\
         declare n int;\n\
         begin\n\
           insert into app.a (x) values (1);\n\
           select count(*) into n from app.a where x = p_x;\n\
           return next is(n, 1);\n\
         end $$;\n\
         do $$ begin perform app.f(1, 2); perform ok(true); end $$;\n",
    );
    let ins = find(&r, "relation app.a insert");
    assert_eq!(ins.line, 4);
    assert_eq!(ins.attribution, Some(Attribution::Exercised));
    assert_eq!(ins.role, None);
    assert!(has(&r, "column app.a.x insert"));
    // In a body an unqualified name is a column unless the body declares it (`n`, the
    // parameter `p_x`).
    assert!(has(&r, "column app.a.x select"), "{:#?}", shown(&r));
    assert!(!shown(&r)
        .iter()
        .any(|s| s.contains("p_x") || s.contains(" n")));
    assert_eq!(find(&r, "function app.f/2").line, 8);
    assert_eq!(
        find(&r, "function app.f/2").attribution,
        Some(Attribution::Exercised)
    );
}

#[test]
fn a_string_that_is_not_sql_is_counted_not_fatal() {
    let r = run("select lives_ok('42 is not sql');\n\
         select throws_ok('select ''unterminated');\n\
         select results_eq('select 1 from app.a', 'select 1');\n");
    assert_eq!(r.sql_strings_unreadable, 2);
    assert!(has(&r, "relation app.a select"));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn hostile_nesting_stays_bounded() {
    let deep = format!("select ok({}1{});", "(".repeat(5000), ")".repeat(5000));
    let r = run(&deep);
    assert!(r.references.is_empty());
    let junk = ") ) select from from join , as as :: ( ( insert into ( update set ;";
    let _ = run(junk);
}

#[test]
fn commented_code_has_no_references() {
    let r = run("-- select * from app.secret;\n/* update app.x set y = 1; */\nselect ok(true);\n");
    assert!(r.references.is_empty(), "{:#?}", shown(&r));
}

#[test]
fn update_command_names_are_json_spellings() {
    assert_eq!(super::command_name(Command::Truncate), "truncate");
}

#[test]
fn keywords_and_aliases_are_never_references() {
    let r = run(
        "select is((select count(*) n from app.a where x is distinct from y), 1::bigint);\n\
         select ok(exists(select extract(epoch from created) total, b.v from app.b b));\n",
    );
    let all = shown(&r);
    for bad in [
        "relation y",
        "relation app.b.y",
        "column app.a.n",
        "column app.b.total",
        "column app.b.epoch",
    ] {
        assert!(!all.iter().any(|s| s.starts_with(bad)), "{bad} in {all:#?}");
    }
    assert!(has(&r, "column app.a.x select"));
    assert!(has(&r, "column app.a.y select"));
    assert!(has(&r, "column app.b.created select"));
    assert!(has(&r, "column app.b.v select"));
}

#[test]
fn statements_skipped_as_trivial_still_hide_nothing() {
    // Shapes close to the trivial ones, each with one reference.
    let r = run("select has_table('a'::name, 'b'::text);\n\
         select is('x'::app.mood, 'x');\n\
         select ok(app.f(1));\n\
         select lives_ok('select 1 from app.t');\n");
    assert!(has(&r, "type app.mood"), "{:#?}", shown(&r));
    assert!(has(&r, "function app.f/1"));
    assert!(has(&r, "relation app.t select"));
    assert_eq!(r.references.len(), 3, "{:#?}", shown(&r));
    let body = run(
        "create function t() returns setof text language plpgsql as $$ begin\n\
         return next is(app.g(), 1);\nreturn next has_table('x'::name);\nend $$;\n",
    );
    assert_eq!(shown(&body), vec!["function app.g/0".to_string()]);
}

#[test]
fn an_unknown_prepared_name_is_not_unreadable_sql() {
    let r = run("select set_eq('anames', 'expect', 'same');\n");
    assert_eq!(r.sql_strings_unreadable, 0);
    assert!(r.references.is_empty());
}

#[test]
fn references_do_not_depend_on_the_lexing_window() {
    use crate::lexer::Limits;
    let src = b"prepare q as select 1 from app.p;\n\
        do $$ begin perform app.in_do(1); end $$; select app.after_do();\n\
        select ok(true);\nexecute q;\nset role r;\nselect is((select 1 from app.t), 1);\n";
    let whole = Extractor::new(refs_on()).extract(src);
    let tiny = Extractor::new(refs_on())
        .with_limits(Limits {
            window: 1,
            cap: usize::MAX,
        })
        .extract(src);
    assert_eq!(whole.references, tiny.references);
    assert_eq!(
        shown(&whole),
        vec![
            "relation app.p select",
            "function app.in_do/1",
            "function app.after_do/0",
            "relation app.t select",
        ]
    );
}

#[test]
fn statements_of_literals_and_built_ins_are_skipped_but_role_switches_and_sequences_are_not() {
    // The skip that keeps the reader cheap on structural suites must not skip what
    // built-ins carry: a role switch, a sequence.
    let r = run("select * from check_test(ok(true, 'x'), true, 'ok');\n\
         select has_table('p', 't_' || to_char(current_timestamp + '1 day'::interval, 'yyyy'));\n\
         select set_config('role', 'anon', false);\n\
         select is(nextval('app.ids'), 1::bigint);\n\
         select is((select count(*) from app.todos), 0::bigint);\n");
    assert_eq!(
        shown(&r),
        ["sequence app.ids", "relation app.todos select"],
        "{:#?}",
        r.references
    );
    assert_eq!(
        find(&r, "relation app.todos select").role.as_deref(),
        Some("anon")
    );
}

#[test]
fn unqualified_columns_in_bodies_unless_the_body_declares_the_name() {
    // FINDINGS.md 1: in a body an unqualified name of a one-relation query is a column
    // unless declared: DECLARE, parameters (also RETURNS TABLE), FOR variables, INTO
    // targets, PL/pgSQL's own.
    let r = run(
        "create function test_y(p_id int, out o_n int) returns setof text language plpgsql as $$\n\
         declare\n\
           v int;\n\
           w text := 'x';\n\
         begin\n\
           update s.t set a = v where b = v and c = p_id;\n\
           select d into v_into from s.u where e = w and f = o_n;\n\
           for r in select g from s.v where h = found loop end loop;\n\
           return next is((select i from s.w where j = r and k = v_into), 1);\n\
           return next ok(exists(select 1 from s.x, s.y where l = 1));\n\
         end $$;\n\
         do $$ declare q int; begin delete from s.z where m = q; end $$;\n\
         create function test_z() returns table (n_out int) language sql as $$\n\
           select n from s.q where n_out = 1 $$;\n",
    );
    for want in [
        "column s.t.a update",
        "column s.t.b select",
        "column s.t.c select",
        "column s.u.d select",
        "column s.u.e select",
        "column s.u.f select",
        "column s.v.g select",
        "column s.v.h select",
        "column s.w.i select",
        "column s.w.j select",
        "column s.w.k select",
        "column s.z.m select",
        "column s.q.n select",
    ] {
        assert!(has(&r, want), "{want} missing from {:#?}", shown(&r));
    }
    let all = shown(&r);
    // The column name of each column reference.
    let column_names: Vec<&str> = all
        .iter()
        .filter(|s| s.starts_with("column "))
        .filter_map(|s| s.split(' ').nth(1)?.rsplit('.').next())
        .collect();
    for declared in [
        "v", "w", "p_id", "o_n", "v_into", "r", "found", "q", "n_out",
    ] {
        assert!(
            !column_names.contains(&declared),
            "{declared} is declared: {all:#?}"
        );
    }
    // Several relations: still ambiguous in a body.
    assert!(!column_names.contains(&"l"), "{all:#?}");
}

#[test]
fn a_do_block_in_a_function_body_has_none_of_its_parameters() {
    let r = run(
        "create function test_p(a int) returns setof text language plpgsql as $$ begin\n\
         return next is((select b from s.t where c = a), 1);\n\
         do $i$ begin perform 1 from s.u where a = 1; end $i$;\n\
         end $$;\n",
    );
    assert!(has(&r, "column s.t.b select"), "{:#?}", shown(&r));
    assert!(has(&r, "column s.t.c select"));
    assert!(!has(&r, "column s.t.a select"));
    assert!(has(&r, "column s.u.a select"), "{:#?}", shown(&r));
}

#[test]
fn fields_of_composite_values_are_no_columns() {
    // `(c).f` and `(t.c).f` name the column `c` only.
    let r = run(
        "select is((select (x.c).f from s.t x where (d).g = 1 and upper((x.e).h) = 'y'), 1);\n",
    );
    let cols: Vec<String> = shown(&r)
        .into_iter()
        .filter(|s| s.starts_with("column"))
        .collect();
    assert_eq!(
        cols,
        [
            "column s.t.c select",
            "column s.t.d select",
            "column s.t.e select"
        ],
        "{:#?}",
        shown(&r)
    );
}

#[test]
fn join_on_using_and_having_are_read_like_where() {
    // FINDINGS.md 2.
    let r = run(
        "select is((select count(*) from s.a x join s.b y on x.k = y.k left join s.c using (u, v) \
         group by x.g having max(y.h) > 1), 1::bigint);\n\
         select is((select count(*) from s.d having count(i) > 0), 1::bigint);\n\
         insert into s.e (k) select k from s.f on conflict (k) do update set w = 1;\n\
         merge into s.g t using s.h o on t.id = o.id when matched then delete;\n\
         select is((select distinct on (z) y from s.i order by z), 1);\n",
    );
    for want in [
        "column s.a.k select",
        "column s.b.k select",
        "column ?.u select",
        "column ?.v select",
        "column s.b.h select",
        "column s.d.i select",
        "column s.g.id select",
        "column s.h.id select",
    ] {
        assert!(has(&r, want), "{want} missing from {:#?}", shown(&r));
    }
    let all = shown(&r);
    // Not columns: GROUP BY, ON CONFLICT targets, DISTINCT ON.
    assert!(!all.iter().any(|s| s.ends_with(".g select")), "{all:#?}");
    assert_eq!(
        all.iter().filter(|s| s.contains(".k ")).count(),
        4,
        "ON CONFLICT (k) is no column: {all:#?}"
    );
    assert!(!all.iter().any(|s| s.contains(".z ")), "{all:#?}");
}

#[test]
fn pgtap_internal_functions_are_not_references() {
    // FINDINGS.md 3: `_set`, `_get`, ... are pgTAP's, outside its public catalog.
    let r = run("select _set('x', 1);\n\
         select is(_get('x'), 1);\n\
         select is(tap._todo(), null);\n\
         select is(app._get('x'), 1);\n\
         select is(_my_helper(), 1);\n");
    assert_eq!(
        shown(&r),
        ["function app._get/1", "function _my_helper/0"],
        "{:#?}",
        r.references
    );
}

#[test]
fn pgtap_internal_function_list_covers_the_install_script() {
    // pgTAP's source in the shared corpus when it is there, else an installed pgTAP.
    let mut sources: Vec<std::path::PathBuf> =
        vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/theory__pgtap/sql/pgtap.sql.in")];
    if let Ok(dirs) = std::fs::read_dir("/usr/share/postgresql") {
        for d in dirs.flatten() {
            sources.push(d.path().join("extension/pgtap.sql"));
        }
    }
    let list = super::scan::PGTAP_INTERNAL;
    assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted");
    assert!(list.iter().all(|n| n.starts_with('_')));
    assert!(list
        .iter()
        .all(|n| crate::catalog::FUNCTIONS.iter().all(|f| f.name != *n)));
    for path in sources.iter().filter(|p| p.is_file()) {
        let text = std::fs::read_to_string(path)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mut missing = Vec::new();
        for line in text.lines() {
            let Some(rest) = line
                .trim_start()
                .strip_prefix("create or replace function ")
                .or_else(|| line.trim_start().strip_prefix("create function "))
            else {
                continue;
            };
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.starts_with('_') && list.binary_search(&name.as_str()).is_err() {
                missing.push(name);
            }
        }
        assert!(missing.is_empty(), "{}: {missing:?}", path.display());
    }
}

#[test]
fn order_by_inside_an_aggregate_is_no_column() {
    // FINDINGS.md 4: `array_agg(x ORDER BY y)`: `x` is a column, the ordering is not.
    let r = run(
        "select is((select array_agg(a order by b) from s.t), null);\n\
         select is((select string_agg(c, ',' order by lower(d)) from s.u), null);\n\
         select is((select percentile_cont(0.5) within group (order by e), f from s.v), null);\n\
         select is((select row_number() over (order by g), h from s.w), null);\n",
    );
    assert_eq!(
        shown(&r)
            .into_iter()
            .filter(|s| s.starts_with("column"))
            .collect::<Vec<_>>(),
        [
            "column s.t.a select",
            "column s.u.c select",
            "column s.v.f select",
            "column s.w.h select",
        ],
        "{:#?}",
        shown(&r)
    );
}

#[test]
fn set_targets_with_fields_and_lists_are_columns() {
    // FINDINGS.md 5: `SET c.f = ..` writes the column `c`; `SET (a, b) = ..` both.
    let r = run(
        "update s.t set c.f = 1, (a, b) = (1, 2), d[1] = 3, (e) = row(4) where g = 1;\n\
         insert into s.u (k) values (1) on conflict (k) do update set (l, m) = (1, 2);\n",
    );
    for want in [
        "column s.t.c update",
        "column s.t.a update",
        "column s.t.b update",
        "column s.t.d update",
        "column s.t.e update",
        "column s.t.g select",
        "column s.u.l update",
        "column s.u.m update",
    ] {
        assert!(has(&r, want), "{want} missing from {:#?}", shown(&r));
    }
    assert!(
        !shown(&r).iter().any(|s| s.contains(".f ")),
        "{:#?}",
        shown(&r)
    );
}

#[test]
fn counting_zero_rows_under_a_role_is_filtered() {
    let r = run("begin;\nset local role authenticated;\n\
         select is((select count(*)::int from app.a), 0, 'sees none');\n\
         with d as (delete from app.b where id = 1 returning id)\n\
         select is(count(*)::int, 0, 'deletes none') from d;\n\
         select is((select count(*) from app.c), 2::bigint, 'sees two');\n\
         rollback;\n\
         select is((select count(*)::int from app.e), 0, 'no role: just a value');\n");
    assert_eq!(
        find(&r, "relation app.a select").expected,
        Some(Outcome::Filtered)
    );
    assert_eq!(
        find(&r, "relation app.b delete").expected,
        Some(Outcome::Filtered)
    );
    assert_eq!(
        find(&r, "relation app.c select").expected,
        Some(Outcome::Allowed)
    );
    assert_eq!(
        find(&r, "relation app.e select").expected,
        Some(Outcome::Allowed)
    );
}

#[test]
fn a_write_checked_afterwards_takes_the_checks_outcome() {
    let r = run("begin;\nset local role authenticated;\n\
         update app.a set subject = 'changed by a viewer';\n\
         select is_empty($$select 1 from app.a where subject = 'changed by a viewer'$$, 'not changed');\n\
         update app.b set subject = 'new subject' where id = 7;\n\
         select isnt_empty('select 1 from app.b where subject = ''new subject''', 'changed');\n\
         delete from app.c where id = 'c-0001';\n\
         select is_empty($$select 1 from app.c where id = 'c-0001'$$, 'gone');\n\
         delete from app.d where id = 'd-0001';\n\
         select is((select count(*)::int from app.d where id = 'd-0001'), 1, 'still there');\n\
         update app.e set status = 'closed' where id = 1;\n\
         select is_empty($$select 1 from app.e where status = 'open'$$, 'no overlap: says nothing');\n\
         rollback;\n\
         update app.f set subject = 'no role';\n\
         select is_empty($$select 1 from app.f where subject = 'no role'$$);\n");
    let w = |k: &str| {
        r.references
            .iter()
            .find(|x| show(x) == k && x.attribution == Some(Attribution::Exercised))
            .unwrap_or_else(|| panic!("no exercised {k}"))
            .expected
    };
    assert_eq!(w("relation app.a update"), Some(Outcome::Filtered));
    assert_eq!(w("relation app.b update"), Some(Outcome::Allowed));
    assert_eq!(w("relation app.c delete"), Some(Outcome::Allowed));
    assert_eq!(w("relation app.d delete"), Some(Outcome::Filtered));
    assert_eq!(w("relation app.e update"), None);
    assert_eq!(w("relation app.f update"), None);
}

#[test]
fn role_switches_opening_a_plpgsql_block_are_read() {
    let r = run("begin;\ndo $$\nbegin set local role a;\n\
         perform ok((select count(*) from app.t1) = 0);\n\
         if true then set local role b;\n\
         perform ok((select count(*) from app.t2) = 0);\nend if;\nend $$;\nrollback;\n");
    assert_eq!(
        find(&r, "relation app.t1 select").role.as_deref(),
        Some("a")
    );
    assert_eq!(
        find(&r, "relation app.t2 select").role.as_deref(),
        Some("b")
    );
}

#[test]
fn case_expressions_and_atomic_bodies_stay_whole() {
    let r = run(
        "select is((select case when x then 1 else 2 end from app.t1), 1);\n\
         select is(case when true then (select count(*) from app.t2) else 0 end, 1::bigint);\n\
         create function f() returns int language sql begin atomic select 1 from app.t3; end;\n\
         begin transaction;\nselect ok((select true from app.t4));\ncommit;\n",
    );
    for t in ["t1", "t2", "t3", "t4"] {
        assert!(
            has(&r, &format!("relation app.{t} select")),
            "{t}: {:#?}",
            shown(&r)
        );
    }
}

#[test]
fn objects_the_test_creates_are_recorded() {
    let r = run("create temp table scratch (a int);\n\
         create or replace function tests.helper() returns int language sql as $$ select 1 $$;\n\
         create table if not exists pg_temp.\"Kept\" as select 1;\n\
         select run_id into temporary run_ids from app.runs;\n\
         with f as (select 1 as id) select id into temporary from_cte from f;\n\
         with f as (select 1) insert into app.log select * from f;\n\
         create view v as select 1;\n\
         do $$ declare n int; begin select count(*) into n from app.t; end $$;\n\
         select is((select count(*) from run_ids), 1::bigint);\n");
    let got: Vec<String> = r
        .created
        .iter()
        .map(|c| format!("{:?} {:?} {}", c.kind, c.schema, c.name))
        .collect();
    assert_eq!(
        got,
        [
            "Function Some(\"tests\") helper",
            "Relation None Kept",
            "Relation None from_cte",
            "Relation None run_ids",
            "Relation None scratch",
            "Relation None v",
        ],
        "a body's SELECT .. INTO a variable creates nothing"
    );
}

#[test]
fn columns_named_like_call_keywords_are_columns() {
    let r = run(
        "select is((select position from app.queue where id = 1), 2);\n\
         update app.queue set position = 3, trim = 'x';\n\
         select is((select position('a' in name) from app.items), 1);\n",
    );
    for want in [
        "column app.queue.position select",
        "column app.queue.position update",
        "column app.queue.trim update",
        "column app.items.name select",
    ] {
        assert!(has(&r, want), "{want} missing from {:#?}", shown(&r));
    }
    assert!(
        !has(&r, "column app.items.position select"),
        "{:#?}",
        shown(&r)
    );
}

/// A reader that only counts (a run whose reports need no more than the number) counts
/// exactly the references the full reader keeps, and leaves the rest of the result alone:
/// over every SQL file of the fixtures and the shared corpus.
#[test]
fn counting_reader_counts_what_the_full_reader_keeps() {
    let ex = Extractor::new(refs_on());
    let (mut files, mut total) = (0usize, 0u64);
    for (p, src) in super::corpus_sql_files() {
        let mut full = ex.extract(&src);
        let mut counted = ex.extract_references(&src, true);
        assert_eq!(
            counted.references_counted,
            full.references.len() as u64,
            "{}",
            p.display()
        );
        assert!(counted.references.is_empty() && counted.created.is_empty());
        total += counted.references_counted;
        // Everything else is the same result.
        full.references.clear();
        full.created.clear();
        counted.references_counted = 0;
        assert_eq!(counted, full, "{}", p.display());
        files += 1;
    }
    assert!(files > 100, "only {files} files read");
    assert!(total > 1_000, "only {total} references counted");
}

/// The test files' role helpers are looked for in files that spell both a role switch
/// and a routine, in lower or upper case, found by one pass over each file; a file with
/// only one of them is not read as migrations.
#[test]
fn role_helper_files_need_a_switch_and_a_routine_in_either_case() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let lower = write(
        "lower.sql",
        "create function tests.as_anon() returns void language plpgsql as $$\n\
         begin perform set_config('role', 'anon', true); end $$;\n",
    );
    let upper = write(
        "upper.sql",
        "CREATE PROCEDURE TESTS.AS_EDITOR() LANGUAGE PLPGSQL AS $$\n\
         BEGIN SET LOCAL ROLE editor; END $$;\n",
    );
    // A role switch and no routine; a routine and no role switch.
    let switch_only = write("switch.sql", "SET ROLE anon;\nselect 1;\n");
    let routine_only = write(
        "routine.sql",
        "create function tests.nothing() returns void language sql as $$ select 1 $$;\n",
    );
    let names = |paths: &[std::path::PathBuf]| -> Vec<(String, Option<String>)> {
        super::role_helpers_in_files(paths, &["tests".to_string()])
            .into_iter()
            .map(|h| (h.name, h.role))
            .collect()
    };
    assert_eq!(
        names(&[lower.clone(), upper.clone(), switch_only, routine_only]),
        [
            ("as_anon".to_string(), Some("anon".to_string())),
            ("as_editor".to_string(), Some("editor".to_string())),
        ]
    );
    assert_eq!(names(&[upper]).len(), 1);
    assert_eq!(names(&[lower]).len(), 1);
}

/// SQL given as a quoted string with nothing to decode is read in place: the same text
/// and the same file lines as decoding it gives.
#[test]
fn sql_text_without_escapes_reads_in_place_as_decoded() {
    use crate::lexer::{tokenize_range, StringFlavor, Token, TokenKind};
    let src: &[u8] = b"select is_empty('select *\n  from t\n where a = 1', 'x');\n\
        select results_eq(E'select 1\n from u', $$values (1)$$);\n\
        select lives_ok('insert into t values (''it''''s'')'), throws_ok(E'a\\nb');";
    let mut toks = Vec::new();
    tokenize_range(src, 0..src.len(), 1, 1, &mut toks, &mut Vec::new());
    let (mut in_place, mut decoded) = (0, 0);
    for tok in toks.iter().filter(|t| t.kind == TokenKind::String) {
        let text = super::SqlText::new(src, tok).unwrap();
        let escapes = tok.flavor == StringFlavor::Escape;
        let (buf, map) = super::decode(src, tok, escapes);
        let reference = super::SqlText {
            src,
            tok: *tok,
            decoded: Some((buf, map)),
        };
        assert_eq!(text.buf(), reference.buf());
        if text.decoded.is_none() {
            in_place += 1;
            for at in 0..=text.buf().len() as u32 {
                let t = Token {
                    start: at,
                    end: at,
                    ..*tok
                };
                assert_eq!(text.line_of(&t), reference.line_of(&t), "offset {at}");
            }
        } else {
            decoded += 1;
        }
    }
    assert_eq!((in_place, decoded), (3, 2));
}

/// `decode` copying the runs between quotes and backslashes whole gives the value and
/// the offsets the byte-at-a-time decoding gave, for every string of the corpus and
/// strings made of the characters that matter, in either flavour.
#[test]
fn decoding_runs_whole_gives_the_bytes_and_offsets_byte_by_byte_did() {
    use crate::lexer::{tokenize_range, Token, TokenKind};
    // The decoding before, one byte at a time (kept as the reference).
    fn reference(src: &[u8], tok: &Token, escapes: bool) -> (Vec<u8>, Vec<u32>) {
        let inner = tok.inner();
        let s = src.get(inner.clone()).unwrap_or_default();
        let base = inner.start as u32;
        let (mut out, mut map) = (Vec::new(), Vec::new());
        let mut i = 0usize;
        while i < s.len() {
            let at = base + i as u32;
            match s[i] {
                b'\'' if s.get(i + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    i += 2;
                }
                b'\\' if escapes && i + 1 < s.len() => {
                    let c = match s[i + 1] {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'b' => 8,
                        b'f' => 12,
                        c => c,
                    };
                    out.push(c);
                    i += 2;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
            map.resize(out.len(), at);
        }
        (out, map)
    }
    let check = |src: &[u8], tok: &Token| {
        for escapes in [false, true] {
            assert_eq!(
                super::decode(src, tok, escapes),
                reference(src, tok, escapes),
                "{:?} escapes {escapes}",
                String::from_utf8_lossy(src)
            );
        }
    };
    // Every string of up to 5 bytes over `a'\n` (inner spans need not lex).
    let alphabet = [b'a', b'\'', b'\\', b'n'];
    let mut made = 0;
    for len in 0..=5u32 {
        for code in 0..4usize.pow(len) {
            let mut s = vec![b'x', b'\''];
            let mut c = code;
            for _ in 0..len {
                s.push(alphabet[c % 4]);
                c /= 4;
            }
            s.push(b'\'');
            let tok = Token {
                kind: TokenKind::String,
                start: 1,
                end: len + 3,
                inner_start: 2,
                inner_end: len + 2,
                line: 1,
                col: 2,
                flavor: crate::lexer::StringFlavor::Standard,
            };
            check(&s, &tok);
            made += 1;
        }
    }
    assert!(made > 1000);
    let mut strings = 0;
    for (_, src) in super::corpus_sql_files() {
        let mut toks = Vec::new();
        tokenize_range(&src, 0..src.len(), 1, 1, &mut toks, &mut Vec::new());
        for tok in toks.iter().filter(|t| t.kind == TokenKind::String) {
            check(&src, tok);
            strings += 1;
        }
    }
    assert!(strings > 10_000, "only {strings} strings");
}
