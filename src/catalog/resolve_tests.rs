//! Overload resolution against the catalog's oracle fields (checked against a real
//! PostgreSQL) and against hand-picked calls.

use super::resolve::{normalize_type, polymorphic_type_undetermined, resolve, ArgType, Resolution};
use super::{lookup, Function, Overload, Resolves, FUNCTIONS};

/// How an oracle call is written.
#[derive(Clone, Copy, Debug)]
enum Style {
    /// `f('a', 'b', ...)`
    BareLiterals,
    /// `f('a', '{b,c}', ...)`: brace literals where the overload takes arrays.
    BraceArrays,
    /// `f('a'::name, 'b'::name, 'c')`: casts where the overload takes `name`.
    NameCasts,
}

/// The call an oracle field describes. A polymorphic position gets a typed value
/// (`ARRAY[1, 2]` for `anyarray`, `1` for `anyelement`): the oracle for
/// `results_eq(refcursor, anyarray)` says a bare-literal call reaches `(text, anyarray)`,
/// which only a real array at that position can do.
fn oracle_call(o: &Overload, style: Style) -> Vec<ArgType> {
    o.arg_types
        .iter()
        .map(|t| match normalize_type(t).as_str() {
            "anyarray" => ArgType::ArrayCtor(Some("integer".into())),
            "anyelement" => ArgType::Integer,
            "name" if matches!(style, Style::NameCasts) => ArgType::Typed("name".into()),
            t if t.ends_with("[]") && matches!(style, Style::BraceArrays) => ArgType::BraceLiteral,
            _ => ArgType::UntypedLiteral,
        })
        .collect()
}

/// The call written with arguments of exactly the declared types (a concrete type for a
/// polymorphic one; two elements for a VARIADIC array).
fn exact_call(o: &Overload) -> Vec<ArgType> {
    let concrete = |t: &str| match normalize_type(t).as_str() {
        "anyelement" => "integer".to_string(),
        "anyarray" => "integer[]".to_string(),
        other => other.to_string(),
    };
    let mut args: Vec<ArgType> = o
        .arg_types
        .iter()
        .map(|t| ArgType::Typed(concrete(t)))
        .collect();
    if o.variadic {
        let last = concrete(o.arg_types.last().expect("variadic without arguments"));
        let elem = last.strip_suffix("[]").unwrap_or("integer").to_string();
        args.pop();
        args.push(ArgType::Typed(elem.clone()));
        args.push(ArgType::Typed(elem));
    }
    args
}

fn describe(f: &Function, i: usize) -> String {
    format!("{}({})", f.name, f.overloads[i].arg_types.join(","))
}

fn check_oracle(f: &Function, i: usize, style: Style, oracle: Resolves) -> Result<(), String> {
    let call = oracle_call(&f.overloads[i], style);
    let got = resolve(f, &call, &[]);
    let ok = match (oracle, &got) {
        (Resolves::NotGiven, _) => return Ok(()),
        (Resolves::Ambiguous, Resolution::Ambiguous { .. }) => true,
        (Resolves::Ambiguous, _) => false,
        (Resolves::To(names), r) => r
            .overload()
            .is_some_and(|k| f.overloads[k].arg_names == names),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} {style:?} {call:?}: oracle {oracle:?}, got {got:?}",
            describe(f, i)
        ))
    }
}

#[test]
fn every_oracle_field_is_reproduced() {
    let mut checked = [0usize; 3];
    let mut failures = Vec::new();
    for f in FUNCTIONS {
        for (i, o) in f.overloads.iter().enumerate() {
            let fields = [
                (Style::BareLiterals, o.untyped_literal_call_resolves_to),
                (Style::BraceArrays, o.brace_array_literal_call_resolves_to),
                (Style::NameCasts, o.even_with_name_casts_resolves_to),
            ];
            for (k, (style, oracle)) in fields.into_iter().enumerate() {
                if oracle == Resolves::NotGiven {
                    continue;
                }
                checked[k] += 1;
                if let Err(e) = check_oracle(f, i, style, oracle) {
                    failures.push(e);
                }
            }
        }
    }
    let total: usize = checked.iter().sum();
    eprintln!(
        "oracle cases: {} untyped, {} brace, {} name-cast; {} of {total} reproduced",
        checked[0],
        checked[1],
        checked[2],
        total - failures.len()
    );
    assert_eq!(checked, [109, 142, 16], "oracle field counts changed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_overload_is_reached_by_exactly_typed_arguments() {
    let mut without_oracle = (0usize, 0usize);
    let mut with_oracle = (0usize, 0usize);
    let mut failures = Vec::new();
    for f in FUNCTIONS {
        for (i, o) in f.overloads.iter().enumerate() {
            let has_oracle = [
                o.untyped_literal_call_resolves_to,
                o.brace_array_literal_call_resolves_to,
                o.even_with_name_casts_resolves_to,
            ]
            .iter()
            .any(|r| *r != Resolves::NotGiven);
            let call = exact_call(o);
            let got = resolve(f, &call, &[]);
            let ok = match &got {
                Resolution::Unique { overload, roles } => {
                    *overload == i && !o.resolved_at_runtime && roles.len() == call.len()
                }
                Resolution::Runtime {
                    overload, readings, ..
                } => *overload == i && o.resolved_at_runtime && readings[0] == o.arg_names,
                _ => false,
            };
            let tally = if has_oracle {
                &mut with_oracle
            } else {
                &mut without_oracle
            };
            tally.0 += 1;
            if ok {
                tally.1 += 1;
            } else {
                failures.push(format!("{} {call:?}: got {got:?}", describe(f, i)));
            }
        }
    }
    eprintln!(
        "exactly typed calls: {}/{} overloads without an oracle field, {}/{} with one",
        without_oracle.1, without_oracle.0, with_oracle.1, with_oracle.0
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn f(name: &str) -> &'static Function {
    lookup(name).unwrap_or_else(|| panic!("{name} is not in the catalog"))
}

fn lit() -> ArgType {
    ArgType::UntypedLiteral
}

fn typed(t: &str) -> ArgType {
    ArgType::Typed(t.into())
}

fn unique(r: &Resolution) -> (usize, Vec<&'static str>) {
    match r {
        Resolution::Unique { overload, roles } => (*overload, roles.clone()),
        other => panic!("expected Unique, got {other:?}"),
    }
}

fn overload_of(func: &Function, types: &[&str]) -> usize {
    func.overloads
        .iter()
        .position(|o| o.arg_types == types)
        .unwrap_or_else(|| panic!("{} has no overload {types:?}", func.name))
}

#[test]
fn bare_literals_prefer_text_and_casts_reach_name() {
    let has_table = f("has_table");
    let (o, roles) = unique(&resolve(has_table, &[lit(), lit()], &[]));
    assert_eq!(o, overload_of(has_table, &["name", "text"]));
    assert_eq!(roles, ["table", "description"]);

    let (o, roles) = unique(&resolve(has_table, &[typed("name"), typed("NAME")], &[]));
    assert_eq!(o, overload_of(has_table, &["name", "name"]));
    assert_eq!(roles, ["schema", "table"]);

    // One cast is enough: 'a'::name, 'b' has one exact match on either overload, and the
    // unknown argument then prefers text.
    let (_, roles) = unique(&resolve(has_table, &[typed("name"), lit()], &[]));
    assert_eq!(roles, ["table", "description"]);
    let (_, roles) = unique(&resolve(has_table, &[lit(), typed("name")], &[]));
    assert_eq!(roles, ["schema", "table"]);

    let (_, roles) = unique(&resolve(has_table, &[lit(), lit(), lit()], &[]));
    assert_eq!(roles, ["schema", "table", "description"]);
    // text || text is text: still (name, text).
    let (_, roles) = unique(&resolve(has_table, &[typed("text"), typed("text")], &[]));
    assert_eq!(roles, ["table", "description"]);
}

#[test]
fn array_constructors_reach_array_overloads_and_brace_literals_do_not() {
    let col_is_pk = f("col_is_pk");
    let array = ArgType::ArrayCtor(Some("text".into()));
    let (o, roles) = unique(&resolve(col_is_pk, &[lit(), array.clone()], &[]));
    assert_eq!(o, overload_of(col_is_pk, &["name", "name[]"]));
    assert_eq!(roles, ["table", "columns"]);

    let (o, roles) = unique(&resolve(col_is_pk, &[lit(), ArgType::BraceLiteral], &[]));
    assert_eq!(o, overload_of(col_is_pk, &["name", "name"]));
    assert_eq!(roles, ["table", "column"]);

    let (o, _) = unique(&resolve(col_is_pk, &[lit(), typed("name[]")], &[]));
    assert_eq!(o, overload_of(col_is_pk, &["name", "name[]"]));

    // ARRAY[...] of unknown element type is still an array.
    let (o, _) = unique(&resolve(col_is_pk, &[lit(), ArgType::ArrayCtor(None)], &[]));
    assert_eq!(o, overload_of(col_is_pk, &["name", "name[]"]));

    // can('schema', ARRAY[..]) as in pgTAP's documentation.
    let can = f("can");
    let (_, roles) = unique(&resolve(can, &[lit(), array], &[]));
    assert_eq!(roles, ["schema", "functions"]);
    assert_eq!(
        resolve(can, &[lit(), ArgType::BraceLiteral], &[]),
        Resolution::Ambiguous {
            candidates: vec![
                overload_of(can, &["name", "name[]"]),
                overload_of(can, &["name[]", "text"])
            ]
        }
    );
}

#[test]
fn runtime_decided_overloads_list_every_reading() {
    let throws_ok = f("throws_ok");
    match resolve(throws_ok, &[lit(), lit()], &[]) {
        Resolution::Runtime {
            overload,
            readings,
            rule,
        } => {
            assert_eq!(overload, overload_of(throws_ok, &["text", "text"]));
            assert_eq!(readings, [["sql", "errcode"], ["sql", "errmsg"]]);
            assert!(rule.contains("5 bytes"));
        }
        other => panic!("expected Runtime, got {other:?}"),
    }
    // An integer error code is not decided at run time.
    let (o, _) = unique(&resolve(throws_ok, &[lit(), ArgType::Integer], &[]));
    assert_eq!(o, overload_of(throws_ok, &["text", "integer"]));
    // Four bare literals: char(5) (string category) beats integer.
    let (o, roles) = unique(&resolve(throws_ok, &[lit(), lit(), lit(), lit()], &[]));
    assert_eq!(
        o,
        overload_of(throws_ok, &["text", "char(5)", "text", "text"])
    );
    assert_eq!(roles, ["sql", "errcode", "ermsg", "description"]);

    let has_index = f("has_index");
    match resolve(has_index, &[lit(), lit(), lit(), lit()], &[]) {
        Resolution::Runtime { readings, .. } => assert_eq!(
            readings,
            [
                ["table", "index", "column", "description"],
                ["schema", "table", "index", "description"]
            ]
        ),
        other => panic!("expected Runtime, got {other:?}"),
    }
}

#[test]
fn defaults_and_named_notation() {
    let col_not_null = f("col_not_null");
    let (o, roles) = unique(&resolve(col_not_null, &[lit(), lit()], &[]));
    assert_eq!(o, 1);
    assert_eq!(roles, ["table", "column"]);
    // Three bare literals: (name, name, text) beats (name, name, name [, text default]).
    let (o, roles) = unique(&resolve(col_not_null, &[lit(), lit(), lit()], &[]));
    assert_eq!(o, 1);
    assert_eq!(roles, ["table", "column", "description"]);
    let (o, roles) = unique(&resolve(
        col_not_null,
        &[typed("name"), typed("name"), typed("name")],
        &[],
    ));
    assert_eq!(o, 0);
    assert_eq!(roles, ["schema", "table", "column"]);

    // Named notation, in any order, roles in call order.
    let (o, roles) = unique(&resolve(
        col_not_null,
        &[],
        &[("column_name", lit()), ("table_name", lit())],
    ));
    assert_eq!(o, 1);
    assert_eq!(roles, ["column", "table"]);
    let (o, roles) = unique(&resolve(
        col_not_null,
        &[lit()],
        &[("table_name", lit()), ("column_name", lit())],
    ));
    assert_eq!(o, 0);
    assert_eq!(roles, ["schema", "table", "column"]);
    // A name matching a positional argument, an unknown name, a repeated name.
    assert_eq!(
        resolve(col_not_null, &[lit()], &[("schema_name", lit())]),
        Resolution::NoMatch
    );
    assert_eq!(
        resolve(col_not_null, &[], &[("nope", lit())]),
        Resolution::NoMatch
    );
    assert_eq!(
        resolve(
            col_not_null,
            &[],
            &[("table_name", lit()), ("table_name", lit())]
        ),
        Resolution::NoMatch
    );

    // finish() uses its default; finish(exception_on_failure => true) names it.
    let finish = f("finish");
    assert_eq!(unique(&resolve(finish, &[], &[])), (0, vec![]));
    assert_eq!(
        unique(&resolve(
            finish,
            &[],
            &[("exception_on_failure", ArgType::Boolean)]
        ))
        .1,
        ["exception_on_failure"]
    );

    // todo(why text, how_many int) and todo(how_many int, why text): named notation makes
    // both the same (text, integer) call, which PostgreSQL rejects as not unique.
    let todo = f("todo");
    assert_eq!(
        resolve(todo, &[], &[("why", lit()), ("how_many", ArgType::Integer)]),
        Resolution::Ambiguous {
            candidates: vec![0, 1]
        }
    );
    assert_eq!(unique(&resolve(todo, &[lit(), ArgType::Integer], &[])).0, 0);
    assert_eq!(unique(&resolve(todo, &[ArgType::Integer, lit()], &[])).0, 1);
    // Parameter names fall back to the catalog's roles when the SQL declares none.
    let (o, roles) = unique(&resolve(f("has_table"), &[], &[("table", lit())]));
    assert_eq!(o, 3);
    assert_eq!(roles, ["table"]);
}

#[test]
fn variadic_and_polymorphic() {
    let diag = f("diag");
    let (o, roles) = unique(&resolve(diag, &[lit()], &[]));
    assert_eq!(o, overload_of(diag, &["text"]));
    assert_eq!(roles, ["lines"]);
    let (o, _) = unique(&resolve(diag, &[ArgType::Integer], &[]));
    assert_eq!(o, overload_of(diag, &["anyelement"]));
    let (o, roles) = unique(&resolve(diag, &[lit(), lit(), lit()], &[]));
    assert_eq!(o, overload_of(diag, &["text[]"]));
    assert_eq!(roles, ["lines...", "lines...", "lines..."]);
    let (o, _) = unique(&resolve(diag, &[ArgType::Integer, ArgType::Integer], &[]));
    assert_eq!(o, overload_of(diag, &["anyarray"]));
    // An array argument is one element, not the variadic array.
    let (o, _) = unique(&resolve(diag, &[typed("text[]")], &[]));
    assert_eq!(o, overload_of(diag, &["anyelement"]));
    // Named notation never reaches a VARIADIC parameter.
    assert_eq!(
        unique(&resolve(diag, &[], &[("msg", lit())])).0,
        overload_of(diag, &["text"])
    );

    // is(): anyelement arguments must agree.
    let is = f("is");
    assert_eq!(
        resolve(is, &[ArgType::Integer, lit()], &[]).overload(),
        Some(1)
    );
    assert_eq!(
        resolve(is, &[ArgType::Integer, typed("text")], &[]),
        Resolution::NoMatch
    );
    // is('a', 'b') resolves, then PostgreSQL cannot type the polymorphic arguments.
    let args = [lit(), lit()];
    let (o, _) = unique(&resolve(is, &args, &[]));
    assert!(polymorphic_type_undetermined(is, o, &args, &[]));
    assert!(!polymorphic_type_undetermined(
        is,
        o,
        &[typed("text"), lit()],
        &[]
    ));
    assert!(!polymorphic_type_undetermined(
        f("has_table"),
        0,
        &[lit(), lit(), lit()],
        &[]
    ));

    // set_eq(sql, ARRAY[..]) reaches anyarray, set_eq(sql, 'sql') does not.
    let set_eq = f("set_eq");
    let (o, roles) = unique(&resolve(
        set_eq,
        &[lit(), ArgType::ArrayCtor(Some("integer".into()))],
        &[],
    ));
    assert_eq!(o, overload_of(set_eq, &["text", "anyarray"]));
    assert_eq!(roles[1], "array");
    assert_eq!(
        unique(&resolve(set_eq, &[lit(), lit()], &[])).0,
        overload_of(set_eq, &["text", "text"])
    );

    // collect_tap('{a,b}'): one line, through the VARIADIC text[] overload.
    let collect_tap = f("collect_tap");
    assert_eq!(
        unique(&resolve(collect_tap, &[ArgType::BraceLiteral], &[])).0,
        overload_of(collect_tap, &["text[]"])
    );
    assert_eq!(
        unique(&resolve(collect_tap, &[typed("character varying[]")], &[])).0,
        overload_of(collect_tap, &["varchar[]"])
    );
}

#[test]
fn numbers_booleans_and_nulls() {
    // plan('3') works: an unknown literal coerces to integer.
    assert_eq!(unique(&resolve(f("plan"), &[lit()], &[])).0, 0);
    assert_eq!(unique(&resolve(f("plan"), &[ArgType::Integer], &[])).0, 0);
    assert_eq!(
        resolve(f("plan"), &[ArgType::Numeric], &[]),
        Resolution::NoMatch
    );
    // performs_ok(sql, 500): integer -> numeric is implicit.
    assert_eq!(
        unique(&resolve(f("performs_ok"), &[lit(), ArgType::Integer], &[])).1,
        ["sql", "milliseconds"]
    );
    // ok(NULL) and ok(true, 'desc').
    assert_eq!(unique(&resolve(f("ok"), &[ArgType::Null], &[])).0, 1);
    assert_eq!(
        unique(&resolve(f("ok"), &[ArgType::Boolean, lit()], &[])).1,
        ["boolean", "description"]
    );
    // is_ancestor_of(t, t, 1): integer depth.
    let is_ancestor_of = f("is_ancestor_of");
    assert_eq!(
        unique(&resolve(
            is_ancestor_of,
            &[lit(), lit(), ArgType::Integer],
            &[]
        ))
        .1,
        ["ancestor_table", "descendent_table", "depth"]
    );
    // has_table() and has_table(true) do not exist.
    assert_eq!(resolve(f("has_table"), &[], &[]), Resolution::NoMatch);
    assert_eq!(
        resolve(f("has_table"), &[ArgType::Boolean], &[]),
        Resolution::NoMatch
    );
}

#[test]
fn unknown_argument_types() {
    let has_table = f("has_table");
    // Only one overload takes one argument.
    assert_eq!(
        unique(&resolve(has_table, &[ArgType::Unknown], &[])).1,
        ["table"]
    );
    // (name, name) or (name, text) depending on the second argument's type.
    assert_eq!(
        resolve(has_table, &[lit(), ArgType::Unknown], &[]),
        Resolution::Undecidable {
            candidates: vec![1, 2]
        }
    );
    // Three arguments: one overload whatever they are.
    assert_eq!(
        unique(&resolve(
            has_table,
            &[ArgType::Unknown, ArgType::Unknown, ArgType::Unknown],
            &[]
        ))
        .0,
        0
    );
    // results_eq(cursor_or_sql, ...) with unknown types: several overloads.
    match resolve(f("results_eq"), &[ArgType::Unknown, ArgType::Unknown], &[]) {
        Resolution::Undecidable { candidates } => assert!(candidates.len() > 2),
        other => panic!("expected Undecidable, got {other:?}"),
    }
    // Many unknown arguments: candidates by arity.
    let fk_ok = f("fk_ok");
    match resolve(fk_ok, &vec![ArgType::Unknown; 7], &[]) {
        Resolution::Unique { overload, .. } => {
            assert_eq!(fk_ok.overloads[overload].arg_types.len(), 7)
        }
        Resolution::Undecidable { candidates } => {
            assert!(candidates
                .iter()
                .all(|&c| fk_ok.overloads[c].arg_types.len() == 7))
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn type_names_are_normalized() {
    for (spelled, canonical) in [
        ("NAME", "name"),
        ("int", "integer"),
        ("INT4", "integer"),
        ("int8", "bigint"),
        ("bool", "boolean"),
        ("character varying(20)", "varchar"),
        ("varchar[]", "varchar[]"),
        ("char(5)", "bpchar"),
        ("character", "bpchar"),
        ("\"char\"", "char"),
        ("pg_catalog.text", "text"),
        ("text []", "text[]"),
        ("name[][]", "name[]"),
        ("integer[3]", "integer[]"),
        ("text ARRAY", "text[]"),
        ("_text", "text[]"),
        ("_my_type", "_my_type"),
        ("numeric(10, 2)", "numeric"),
        ("double precision", "float8"),
        ("timestamp(3) with time zone", "timestamptz"),
        ("timestamp without time zone", "timestamp"),
        ("public.mood", "public.mood"),
        ("regtype", "regtype"),
    ] {
        assert_eq!(normalize_type(spelled), canonical, "{spelled}");
    }
}

#[test]
fn an_argument_without_an_implicit_cast_rules_the_overload_out() {
    // rbac.has_role(uuid, text) in a Supabase app is not pgTAP's has_role(name, text):
    // uuid has no implicit cast to name.
    let f = lookup("has_role").expect("has_role");
    let r = resolve(
        f,
        &[ArgType::Typed("uuid".into()), ArgType::UntypedLiteral],
        &[],
    );
    assert_eq!(r, Resolution::NoMatch, "{r:?}");
}
