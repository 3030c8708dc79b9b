//! Overload resolution against the catalog's oracle fields (checked against a real
//! PostgreSQL) and against hand-picked calls.

use super::resolve::{
    normalize_type, polymorphic_type_undetermined, resolve, ArgType, Resolution,
};
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
