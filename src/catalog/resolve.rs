//! Which overload of a pgTAP function PostgreSQL picks for a call, from what a static
//! reader knows about the arguments.
//!
//! This follows PostgreSQL's own algorithm (`FuncnameGetCandidates` in `namespace.c`,
//! `func_get_detail` / `func_match_argtypes` / `func_select_candidate` in `parse_func.c`,
//! `can_coerce_type` and `check_generic_type_consistency` in `parse_coerce.c`) restricted to
//! the types pgTAP's signatures use:
//!
//! 1. candidates by arity: SQL defaults (`min_args`), `VARIADIC` expansion, named notation;
//!    two candidates with the same effective argument list are one (the non-variadic wins)
//!    or, if neither is preferable, an ambiguity;
//! 2. an exact match on every argument type wins;
//! 3. otherwise keep the candidates every argument can be implicitly coerced to (a bare
//!    quoted literal is of type `unknown` and coerces to anything, polymorphic parameters
//!    accept anything consistent) and, if several remain, narrow them by most exact
//!    matches, then most preferred types (`text` in the string category), then by the
//!    category of the `unknown` arguments (string wins, then preferred type), then by
//!    assuming unknown arguments have the one known type.
//!
//! Arguments whose type a static reader cannot know (`ArgType::Unknown`) are tried with
//! every type the function's signatures could make a difference for; when the answers
//! disagree the call is `Undecidable`.

use super::{Function, Overload};

/// What a static reader can know about one argument expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ArgType {
    /// A bare quoted literal `'x'` (PostgreSQL type `unknown`); also psql `:'var'`.
    UntypedLiteral,
    /// A bare quoted literal whose text starts with `{` (still of type `unknown` to
    /// PostgreSQL, so it does not reach array overloads the way `ARRAY[..]` does).
    BraceLiteral,
    /// `ARRAY[...]`: the element type if known (`text` when the elements are bare literals,
    /// `name` when they are cast `::name`), `None` if unknown.
    ArrayCtor(Option<String>),
    /// An explicitly or evidently typed expression: `'x'::name`, `CAST(x AS text)`,
    /// `'a' || 'b'` (text). Any spelling PostgreSQL accepts; see [`normalize_type`].
    Typed(String),
    /// An integer literal such as `3` (`integer`).
    Integer,
    /// A numeric literal such as `1.5` (`numeric`).
    Numeric,
    /// `true` / `false`.
    Boolean,
    /// `NULL` (of type `unknown`, like a bare literal).
    Null,
    /// Any other expression, whose type a static reader cannot know.
    Unknown,
}

/// The outcome of resolving one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// PostgreSQL picks exactly this overload; `roles[i]` is the role (arg_name) of the i-th
    /// argument of the call (positional arguments first, then named ones in call order).
    Unique {
        overload: usize,
        roles: Vec<&'static str>,
    },
    /// pgTAP itself decides at run time (the overload has `resolved_at_runtime`): all
    /// readings, first the overload's own `arg_names`, each in call order.
    Runtime {
        overload: usize,
        readings: Vec<Vec<&'static str>>,
        rule: &'static str,
    },
    /// PostgreSQL would reject the call as ambiguous ("function ... is not unique").
    Ambiguous { candidates: Vec<usize> },
    /// Static types are not enough to know which overload PostgreSQL will pick.
    Undecidable { candidates: Vec<usize> },
    /// No overload accepts these arguments ("function ... does not exist").
    NoMatch,
}

impl Resolution {
    /// The overload the call means, when PostgreSQL picks exactly one.
    pub fn overload(&self) -> Option<usize> {
        match self {
            Resolution::Unique { overload, .. } | Resolution::Runtime { overload, .. } => {
                Some(*overload)
            }
            _ => None,
        }
    }
}

/// Resolves a call of `f` with `positional` arguments followed by `named` ones
/// (`name => value`; names as PostgreSQL sees them, i.e. unquoted names folded to lower case).
pub fn resolve(f: &Function, positional: &[ArgType], named: &[(&str, ArgType)]) -> Resolution {
    let names: Vec<&str> = named.iter().map(|(n, _)| *n).collect();
    // PostgreSQL: "argument name ... used more than once".
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Resolution::NoMatch;
        }
    }
    let args: Vec<&ArgType> = positional
        .iter()
        .chain(named.iter().map(|(_, a)| a))
        .collect();

    // Each argument's possible PostgreSQL types: one unless the reader cannot know it.
    let domains: Vec<Vec<String>> = args.iter().map(|a| domain(f, a)).collect();
    let combinations = domains
        .iter()
        .try_fold(1usize, |acc, d| acc.checked_mul(d.len()))
        .unwrap_or(usize::MAX);
    if combinations == 1 {
        let types: Vec<String> = domains.into_iter().map(|mut d| d.remove(0)).collect();
        return resolve_typed(f, positional.len(), &names, &types);
    }
    if combinations > MAX_COMBINATIONS {
        let mut candidates: Vec<usize> = candidates(f, positional.len(), &names, args.len())
            .iter()
            .map(|c| c.overload)
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        return if candidates.is_empty() {
            Resolution::NoMatch
        } else {
            Resolution::Undecidable { candidates }
        };
    }

    // Try every combination; a call that would fail under some typing is assumed not to be
    // typed that way (the test suite runs), so only the accepted outcomes count.
    let mut accepted: Vec<Resolution> = Vec::new();
    let mut ambiguous: Vec<usize> = Vec::new();
    let mut index = vec![0usize; domains.len()];
    loop {
        let types: Vec<String> = index
            .iter()
            .zip(&domains)
            .map(|(&i, d)| d[i].clone())
            .collect();
        match resolve_typed(f, positional.len(), &names, &types) {
            Resolution::Ambiguous { candidates } => ambiguous.extend(candidates),
            Resolution::NoMatch => {}
            r => {
                if !accepted.contains(&r) {
                    accepted.push(r);
                }
            }
        }
        // Next combination (odometer).
        let mut pos = 0;
        loop {
            if pos == index.len() {
                return merge(accepted, ambiguous);
            }
            index[pos] += 1;
            if index[pos] < domains[pos].len() {
                break;
            }
            index[pos] = 0;
            pos += 1;
        }
    }
}

/// More combinations of possible argument types than this are not tried one by one.
const MAX_COMBINATIONS: usize = 4096;

fn merge(accepted: Vec<Resolution>, mut ambiguous: Vec<usize>) -> Resolution {
    let mut overloads: Vec<usize> = accepted.iter().filter_map(Resolution::overload).collect();
    overloads.sort_unstable();
    overloads.dedup();
    match overloads.len() {
        0 if ambiguous.is_empty() => Resolution::NoMatch,
        0 => {
            ambiguous.sort_unstable();
            ambiguous.dedup();
            Resolution::Ambiguous {
                candidates: ambiguous,
            }
        }
        // Same overload, hence same roles, under every typing that works.
        1 => accepted.into_iter().next().unwrap_or(Resolution::NoMatch),
        _ => Resolution::Undecidable {
            candidates: overloads,
        },
    }
}

/// True when PostgreSQL, having picked `overload`, still rejects the call because every
/// argument given to a polymorphic parameter (`anyelement`, `anyarray`) is an untyped
/// literal or NULL ("could not determine polymorphic type because input has type unknown"),
/// e.g. `is('a', 'b')`. Resolution itself succeeds on such calls, as in PostgreSQL.
#[cfg(test)]
pub fn polymorphic_type_undetermined(
    f: &Function,
    overload: usize,
    positional: &[ArgType],
    named: &[(&str, ArgType)],
) -> bool {
    let Some(o) = f.overloads.get(overload) else {
        return false;
    };
    let names: Vec<&str> = named.iter().map(|(n, _)| *n).collect();
    let args: Vec<&ArgType> = positional
        .iter()
        .chain(named.iter().map(|(_, a)| a))
        .collect();
    let Some(c) = candidate(o, overload, positional.len(), &names, args.len()) else {
        return false;
    };
    let mut any_polymorphic = false;
    for (i, a) in args.iter().enumerate() {
        if is_polymorphic(&c.args[i]) {
            any_polymorphic = true;
            if !matches!(
                a,
                ArgType::UntypedLiteral | ArgType::BraceLiteral | ArgType::Null
            ) {
                return false;
            }
        }
    }
    any_polymorphic
}

/// The PostgreSQL types an argument may have.
fn domain(f: &Function, a: &ArgType) -> Vec<String> {
    match a {
        ArgType::UntypedLiteral | ArgType::BraceLiteral | ArgType::Null => vec![UNKNOWN.into()],
        ArgType::ArrayCtor(Some(elem)) => {
            let elem = normalize_type(elem);
            if elem == UNKNOWN {
                vec!["text[]".into()]
            } else if elem.ends_with("[]") {
                vec![elem]
            } else {
                vec![format!("{elem}[]")]
            }
        }
        ArgType::Typed(t) => vec![normalize_type(t)],
        ArgType::Integer => vec!["integer".into()],
        ArgType::Numeric => vec!["numeric".into()],
        ArgType::Boolean => vec!["boolean".into()],
        ArgType::ArrayCtor(None) => representative_types(f, true),
        ArgType::Unknown => representative_types(f, false),
    }
}

/// One type for each way an argument of unknown type could steer resolution of `f`: each
/// type its signatures declare (a concrete type standing in for a polymorphic one) and a
/// few the signatures do not mention.
fn representative_types(f: &Function, arrays_only: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |t: String| {
        if (!arrays_only || t.ends_with("[]")) && !out.contains(&t) {
            out.push(t);
        }
    };
    for o in f.overloads {
        for (i, t) in o.arg_types.iter().enumerate() {
            let t = normalize_type(t);
            if o.variadic && i + 1 == o.arg_types.len() {
                if let Some(elem) = element_type(&t) {
                    add(concrete(elem));
                }
            }
            add(concrete(&t));
        }
    }
    for extra in ["integer", "integer[]", "jsonb"] {
        add(extra.to_string());
    }
    out
}

/// A concrete type a polymorphic parameter accepts.
fn concrete(t: &str) -> String {
    match t {
        "anyelement" | "anynonarray" => "integer".into(),
        "anyarray" => "integer[]".into(),
        _ => t.into(),
    }
}

const UNKNOWN: &str = "unknown";

/// One candidate of `FuncnameGetCandidates`.
#[derive(Debug, Clone)]
struct Candidate {
    overload: usize,
    /// Parameter types in call order, `max(pronargs, nargs)` long (variadic expanded).
    args: Vec<String>,
    /// Call position (then defaulted parameters) to parameter index, for named notation.
    argnumbers: Option<Vec<usize>>,
    nvargs: usize,
    /// Other overloads with the same effective argument list, when neither is preferable.
    ambiguous_with: Vec<usize>,
}

/// Candidates of the right arity, duplicates merged the way PostgreSQL does.
fn candidates(f: &Function, npositional: usize, names: &[&str], nargs: usize) -> Vec<Candidate> {
    let mut result: Vec<Candidate> = Vec::new();
    for (idx, o) in f.overloads.iter().enumerate() {
        let Some(new) = candidate(o, idx, npositional, names, nargs) else {
            continue;
        };
        let dup = result
            .iter()
            .position(|prev| prev.args[..nargs] == new.args[..nargs]);
        match dup {
            None => result.push(new),
            Some(p) => {
                let prev = &mut result[p];
                if new.nvargs > 0 && prev.nvargs == 0 {
                    // Keep the non-variadic one.
                } else if new.nvargs == 0 && prev.nvargs > 0 {
                    // Replace the variadic one (PostgreSQL drops it, ambiguity mark and all).
                    *prev = new;
                } else {
                    prev.ambiguous_with.push(new.overload);
                }
            }
        }
    }
    result
}

/// `o` as a candidate for a call of `nargs` arguments, the last `names.len()` of them named.
fn candidate(
    o: &Overload,
    overload: usize,
    npositional: usize,
    names: &[&str],
    nargs: usize,
) -> Option<Candidate> {
    let pronargs = o.arg_types.len();
    let min = o.min_args.map_or(pronargs, usize::from);
    let ndefaults = pronargs - min.min(pronargs);
    let mut argnumbers = None;
    let mut variadic = false;
    if names.is_empty() {
        if o.variadic && pronargs <= nargs {
            variadic = true;
        }
        let use_defaults = pronargs > nargs;
        if use_defaults && nargs + ndefaults < pronargs {
            return None;
        }
        if pronargs != nargs && !variadic && !use_defaults {
            return None;
        }
    } else {
        // Named notation cannot reach a VARIADIC parameter without the VARIADIC keyword.
        if o.variadic {
            return None;
        }
        if pronargs > nargs {
            if nargs + ndefaults < pronargs {
                return None;
            }
        } else if pronargs != nargs {
            return None;
        }
        let params: &[&str] = if o.sql_param_names.is_empty() {
            o.arg_names
        } else {
            o.sql_param_names
        };
        let mut given = vec![false; pronargs];
        let mut numbers: Vec<usize> = (0..npositional).collect();
        for g in given.iter_mut().take(npositional) {
            *g = true;
        }
        for name in names {
            let pp = params.iter().position(|p| p == name)?;
            if given[pp] {
                return None;
            }
            given[pp] = true;
            numbers.push(pp);
        }
        let first_default = pronargs - ndefaults;
        for (pp, &g) in given.iter().enumerate().skip(npositional) {
            if !g {
                if pp < first_default {
                    return None;
                }
                numbers.push(pp);
            }
        }
        argnumbers = Some(numbers);
    }

    let effective = pronargs.max(nargs);
    let types: Vec<String> = o.arg_types.iter().map(|t| catalog_type(t)).collect();
    let mut args: Vec<String> = match &argnumbers {
        Some(numbers) => numbers.iter().map(|&p| types[p].clone()).collect(),
        None => types.clone(),
    };
    let mut nvargs = 0;
    if variadic {
        let elem = types
            .last()
            .and_then(|t| element_type(t))
            .unwrap_or(UNKNOWN)
            .to_string();
        args.truncate(pronargs - 1);
        args.resize(effective, elem);
        nvargs = effective - pronargs + 1;
    }
    Some(Candidate {
        overload,
        args,
        argnumbers,
        nvargs,
        ambiguous_with: Vec::new(),
    })
}

/// `func_get_detail` for fully known argument types (`unknown` for untyped literals).
fn resolve_typed(f: &Function, npositional: usize, names: &[&str], types: &[String]) -> Resolution {
    let nargs = types.len();
    let raw = candidates(f, npositional, names, nargs);
    let exact = raw.iter().find(|c| c.args[..nargs] == *types);
    let best: &Candidate = match exact {
        Some(c) => c,
        None => {
            let matching: Vec<&Candidate> = raw
                .iter()
                .filter(|c| can_coerce(types, &c.args[..nargs]))
                .collect();
            match matching.len() {
                0 => return Resolution::NoMatch,
                1 => matching[0],
                _ => match select_candidate(types, &matching) {
                    Some(c) => c,
                    None => {
                        let mut candidates: Vec<usize> = matching
                            .iter()
                            .flat_map(|c| {
                                std::iter::once(c.overload).chain(c.ambiguous_with.iter().copied())
                            })
                            .collect();
                        candidates.sort_unstable();
                        candidates.dedup();
                        return Resolution::Ambiguous { candidates };
                    }
                },
            }
        }
    };
    if !best.ambiguous_with.is_empty() {
        let mut candidates = best.ambiguous_with.clone();
        candidates.push(best.overload);
        candidates.sort_unstable();
        candidates.dedup();
        return Resolution::Ambiguous { candidates };
    }
    let o = &f.overloads[best.overload];
    let roles = |reading: &'static [&'static str]| -> Vec<&'static str> {
        (0..nargs)
            .map(|i| {
                let p = best.argnumbers.as_ref().map_or(i, |n| n[i]);
                reading[p.min(reading.len().saturating_sub(1))]
            })
            .collect()
    };
    if o.resolved_at_runtime {
        let mut readings = vec![roles(o.arg_names)];
        readings.extend(o.alternative_arg_names.iter().map(|r| roles(r)));
        Resolution::Runtime {
            overload: best.overload,
            readings,
            rule: o.runtime_rule.unwrap_or(""),
        }
    } else {
        Resolution::Unique {
            overload: best.overload,
            roles: roles(o.arg_names),
        }
    }
}

/// `can_coerce_type(..., COERCION_IMPLICIT)`.
fn can_coerce(inputs: &[String], targets: &[String]) -> bool {
    let mut generic = false;
    for (input, target) in inputs.iter().zip(targets) {
        if input == target || target == "any" {
            continue;
        }
        if is_polymorphic(target) {
            generic = true;
            continue;
        }
        if input == UNKNOWN || implicit_cast(input, target) {
            continue;
        }
        return false;
    }
    !generic || generic_types_consistent(inputs, targets)
}

/// `check_generic_type_consistency`: all `anyelement` inputs of one type, all `anyarray`
/// inputs of one array type whose element is that type. `unknown` inputs do not count.
fn generic_types_consistent(inputs: &[String], targets: &[String]) -> bool {
    let mut elem: Option<&str> = None;
    let mut array: Option<&str> = None;
    for (input, target) in inputs.iter().zip(targets) {
        if input == UNKNOWN {
            continue;
        }
        let slot = match target.as_str() {
            "anyelement" | "anynonarray" => &mut elem,
            "anyarray" => &mut array,
            _ => continue,
        };
        match slot {
            Some(t) if *t != input => return false,
            _ => *slot = Some(input),
        }
        if target == "anynonarray" && input.ends_with("[]") {
            return false;
        }
    }
    if let Some(array) = array {
        match element_type(array) {
            None => return false,
            Some(e) => {
                if elem.is_some_and(|t| t != e) {
                    return false;
                }
            }
        }
    }
    true
}

/// `func_select_candidate`: narrows several coercible candidates to one, or `None` when
/// PostgreSQL calls the call ambiguous.
fn select_candidate<'a>(inputs: &[String], candidates: &[&'a Candidate]) -> Option<&'a Candidate> {
    let nargs = inputs.len();
    let known = |i: usize| inputs[i] != UNKNOWN;
    let nunknowns = (0..nargs).filter(|&i| !known(i)).count();

    // Most exact matches on known arguments.
    let mut current: Vec<&Candidate> = keep_best(candidates, |c| {
        (0..nargs)
            .filter(|&i| known(i) && c.args[i] == inputs[i])
            .count()
    });
    if current.len() == 1 {
        return Some(current[0]);
    }

    // Most exact-or-preferred types, the preferred type being of the input's category.
    let slot_category: Vec<char> = inputs.iter().map(|t| type_category(t).0).collect();
    current = keep_best(&current, |c| {
        (0..nargs)
            .filter(|&i| {
                known(i)
                    && (c.args[i] == inputs[i] || is_preferred_in(slot_category[i], &c.args[i]))
            })
            .count()
    });
    if current.len() == 1 {
        return Some(current[0]);
    }
    if nunknowns == 0 {
        return None;
    }

    // Give each unknown argument a category: string if any candidate takes a string there,
    // else the one all candidates agree on.
    let mut slots: Vec<Option<(char, bool)>> = vec![None; nargs];
    let mut resolved = true;
    for i in (0..nargs).filter(|&i| !known(i)) {
        let mut category: Option<char> = None;
        let mut preferred = false;
        let mut conflict = false;
        for c in &current {
            let (cat, pref) = type_category(&c.args[i]);
            match category {
                None => {
                    category = Some(cat);
                    preferred = pref;
                }
                Some(k) if k == cat => preferred |= pref,
                Some(_) if cat == 'S' => {
                    category = Some(cat);
                    preferred = pref;
                }
                Some(_) => conflict = true,
            }
        }
        if conflict && category != Some('S') {
            resolved = false;
            break;
        }
        slots[i] = category.map(|k| (k, preferred));
    }
    if resolved {
        let kept: Vec<&Candidate> = current
            .iter()
            .copied()
            .filter(|c| {
                (0..nargs).all(|i| match slots[i] {
                    None => true,
                    Some((cat, has_preferred)) => {
                        let (k, pref) = type_category(&c.args[i]);
                        k == cat && (!has_preferred || pref)
                    }
                })
            })
            .collect();
        if !kept.is_empty() {
            current = kept;
        }
        if current.len() == 1 {
            return Some(current[0]);
        }
    }

    // Last gasp: if all known arguments have one type, assume the unknown ones have it too.
    if nunknowns < nargs {
        let mut known_types = inputs.iter().filter(|t| *t != UNKNOWN);
        let first = known_types.next()?;
        if known_types.all(|t| t == first) {
            let assumed: Vec<String> = vec![first.clone(); nargs];
            let mut fitting = current
                .iter()
                .copied()
                .filter(|c| can_coerce(&assumed, &c.args[..nargs]));
            if let (Some(c), None) = (fitting.next(), fitting.next()) {
                return Some(c);
            }
        }
    }
    None
}

fn keep_best<'a>(
    candidates: &[&'a Candidate],
    score: impl Fn(&Candidate) -> usize,
) -> Vec<&'a Candidate> {
    let scores: Vec<usize> = candidates.iter().map(|c| score(c)).collect();
    let best = scores.iter().copied().max().unwrap_or(0);
    candidates
        .iter()
        .zip(scores)
        .filter(|(_, s)| *s == best)
        .map(|(c, _)| *c)
        .collect()
}

fn is_polymorphic(t: &str) -> bool {
    matches!(t, "anyelement" | "anyarray" | "anynonarray")
}

/// The element type of an array type, `anyelement` for `anyarray`.
fn element_type(t: &str) -> Option<&str> {
    if t == "anyarray" {
        Some("anyelement")
    } else {
        t.strip_suffix("[]")
    }
}

/// `typcategory` and `typispreferred` from `pg_type`.
fn type_category(t: &str) -> (char, bool) {
    if t.ends_with("[]") {
        return ('A', false);
    }
    match t {
        "text" => ('S', true),
        "name" | "varchar" | "bpchar" => ('S', false),
        "boolean" => ('B', true),
        "float8" | "oid" => ('N', true),
        "smallint" | "integer" | "bigint" | "numeric" | "float4" | "money" | "regtype"
        | "regclass" | "regproc" | "regprocedure" | "regoper" | "regoperator" | "regnamespace"
        | "regrole" | "regconfig" | "regdictionary" | "regcollation" => ('N', false),
        "timestamptz" => ('D', true),
        "date" | "timestamp" | "time" | "timetz" => ('D', false),
        "interval" => ('T', true),
        "inet" => ('I', true),
        "cidr" => ('I', false),
        "bit" | "varbit" => ('V', false),
        "anyelement" | "anyarray" | "anynonarray" | "any" | "record" => ('P', false),
        "unknown" => ('X', false),
        "char" => ('Z', false),
        // refcursor, json, jsonb, uuid, bytea, xml and any type the reader cannot place.
        _ => ('U', false),
    }
}

/// `IsPreferredType(category, type)`.
fn is_preferred_in(category: char, t: &str) -> bool {
    let (k, preferred) = type_category(t);
    preferred && k == category
}

/// Whether `pg_cast` (or array coercion over it) casts `from` to `to` implicitly.
fn implicit_cast(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    if let (Some(f), Some(t)) = (from.strip_suffix("[]"), to.strip_suffix("[]")) {
        // find_coercion_pathway: arrays coerce when their elements do.
        return implicit_cast(f, t);
    }
    const REG: &[&str] = &[
        "regclass",
        "regtype",
        "regproc",
        "regprocedure",
        "regoper",
        "regoperator",
        "regnamespace",
        "regrole",
        "regconfig",
        "regdictionary",
        "regcollation",
    ];
    match from {
        "name" => matches!(to, "text"),
        "text" | "varchar" => matches!(to, "text" | "name" | "bpchar" | "varchar" | "regclass"),
        "bpchar" => matches!(to, "text" | "name" | "varchar"),
        "char" => matches!(to, "text"),
        "smallint" | "integer" | "bigint" => {
            let wider: &[&str] = match from {
                "smallint" => &["integer", "bigint", "numeric", "float4", "float8"],
                "integer" => &["bigint", "numeric", "float4", "float8"],
                _ => &["numeric", "float4", "float8"],
            };
            wider.contains(&to) || to == "oid" || REG.contains(&to)
        }
        "numeric" => matches!(to, "float4" | "float8"),
        "float4" => to == "float8",
        "oid" => REG.contains(&to),
        _ if REG.contains(&from) => to == "oid",
        "date" => matches!(to, "timestamp" | "timestamptz"),
        "timestamp" => to == "timestamptz",
        "time" => matches!(to, "timetz" | "interval"),
        "bit" => to == "varbit",
        "cidr" => to == "inet",
        _ => false,
    }
}

/// A type name as `pg_type` knows it, lower-case: `INT` -> `integer`, `character
/// varying(20)` -> `varchar`, `char(5)` -> `bpchar`, `pg_catalog.text` -> `text`,
/// `_text`/`text ARRAY` -> `text[]`; unknown names are kept (lower-cased, unquoted).
/// `normalize_type` of a catalog type name, computed once per distinct name (the catalog's
/// types are a small fixed set and resolution runs for most calls of a scan).
fn catalog_type(t: &'static str) -> String {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static CACHE: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        let mut m = HashMap::new();
        for f in super::FUNCTIONS {
            for o in f.overloads {
                for t in o.arg_types {
                    m.entry(*t).or_insert_with(|| normalize_type(t));
                }
            }
        }
        m
    });
    cache.get(t).cloned().unwrap_or_else(|| normalize_type(t))
}

pub fn normalize_type(t: &str) -> String {
    let mut s: String = t.trim().to_ascii_lowercase();
    let mut dims = 0;
    loop {
        let trimmed = s.trim_end();
        if let Some(rest) = trimmed.strip_suffix(']') {
            // `[]` or `[3]`
            match rest.rfind('[') {
                Some(open) => {
                    s = rest[..open].to_string();
                    dims += 1;
                }
                None => break,
            }
        } else if let Some(rest) = trimmed.strip_suffix(" array") {
            s = rest.to_string();
            dims += 1;
        } else {
            s = trimmed.to_string();
            break;
        }
    }
    // Type modifiers: `varchar(20)`, `numeric(10, 2)`, `timestamp(3) with time zone`.
    while let (Some(open), Some(close)) = (s.find('('), s.find(')')) {
        if close < open {
            break;
        }
        s.replace_range(open..=close, " ");
    }
    let mut s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.starts_with('"') && s.ends_with('"') && s.len() >= 2 && s != "\"char\"" {
        s = s[1..s.len() - 1].to_string();
    }
    if let Some(rest) = s.strip_prefix("pg_catalog.") {
        s = rest.to_string();
    }
    if dims == 0 {
        // Internal array type names: `_text`, `_int4`.
        if let Some(elem) = s.strip_prefix('_').and_then(builtin_type) {
            s = elem.to_string();
            dims = 1;
        }
    }
    let base = builtin_type(&s).unwrap_or(&s);
    let mut out = base.to_string();
    if dims > 0 {
        out.push_str("[]");
    }
    out
}

/// The canonical name of a built-in type spelled `s` (already lower-case, no typmod).
fn builtin_type(s: &str) -> Option<&'static str> {
    Some(match s {
        "int" | "int4" | "integer" | "serial" | "serial4" => "integer",
        "int8" | "bigint" | "bigserial" | "serial8" => "bigint",
        "int2" | "smallint" | "smallserial" | "serial2" => "smallint",
        "bool" | "boolean" => "boolean",
        "varchar" | "character varying" | "char varying" => "varchar",
        "char" | "character" | "bpchar" | "nchar" | "national character" => "bpchar",
        "\"char\"" => "char",
        "float8" | "double precision" | "float" => "float8",
        "float4" | "real" => "float4",
        "decimal" | "numeric" => "numeric",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "timetz" | "time with time zone" => "timetz",
        "time" | "time without time zone" => "time",
        "bit varying" | "varbit" => "varbit",
        "text" => "text",
        "name" => "name",
        "oid" => "oid",
        "date" => "date",
        "interval" => "interval",
        "json" => "json",
        "jsonb" => "jsonb",
        "uuid" => "uuid",
        "bytea" => "bytea",
        "refcursor" => "refcursor",
        "regclass" => "regclass",
        "regtype" => "regtype",
        "regproc" => "regproc",
        "regprocedure" => "regprocedure",
        "inet" => "inet",
        "cidr" => "cidr",
        "money" => "money",
        "xml" => "xml",
        "bit" => "bit",
        _ => return None,
    })
}
