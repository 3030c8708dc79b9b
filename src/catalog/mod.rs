//! The pgTAP function catalog, generated from `../shared/pgtap-catalog.json`
//! (see `generated.rs` and the test that keeps it equal to the JSON), and overload
//! resolution over it (`resolve`).

#[cfg(test)]
mod gen_test;
mod generated;
pub(crate) mod resolve;
#[cfg(test)]
mod resolve_tests;
#[cfg(test)]
mod tests;

pub use generated::FUNCTIONS;

use crate::object::{Aspect, ObjectKind};

/// One public pgTAP function with all its overloads.
#[derive(Debug)]
pub struct Function {
    /// Lower-case name, e.g. `has_table`.
    pub name: &'static str,
    /// The kind of object the function asserts about (the catalog's `object_kind`, its
    /// finer words read as key kinds: `user` is a role, `domain` a type); `None` for value
    /// tests, control and utility functions (`none`, `control`, `utility`).
    pub object_kind: Option<ObjectKind>,
    /// For a negated assertion (`hasnt_table`), the positive one (`has_table`).
    pub negated_of: Option<&'static str>,
    /// Assertion (emits a TAP result), control (plans, `finish`) or utility.
    pub category: Category,
    /// `existence`, `type`, `privileges`, ... (`None` for control and utility functions).
    pub aspect: Option<Aspect>,
    /// Other kinds of object an argument may name (`schema`, `role`, `table`, ...).
    pub also_references: &'static [ObjectKind],
    /// Arguments hold SQL text that pgTAP runs (`results_eq`, `throws_ok`, `lives_ok`, ...).
    pub embeds_sql: bool,
    /// pgTAP's documentation describes it (3 functions are only in its source).
    pub documented: bool,
    /// The documented call shapes, as lists of argument roles (one per way of calling,
    /// including shapes reached through SQL defaults).
    pub signatures: &'static [&'static [&'static str]],
    /// Where `signatures` were taken from: `doc` (pgTAP's documentation) or `source`.
    pub signatures_from: &'static str,
    /// Call shapes the SQL source accepts but the documentation does not show.
    pub undocumented_signatures: &'static [&'static [&'static str]],
    /// Its SQL-level signatures, as pgTAP declares them.
    pub overloads: &'static [Overload],
}

/// What a function is for, from the catalog's `category`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Emits TAP results (`ok`, `has_table`, `results_eq`, ...).
    Assertion,
    /// Controls the run: plans, `finish`, `skip`, `diag`, ...
    Control,
    /// A helper for writing tests (`add_result`, `findfuncs`, ...).
    Utility,
}

/// One SQL-level signature.
#[derive(Debug)]
pub struct Overload {
    /// SQL types as the catalog spells them: `name`, `text`, `name[]`, `anyelement`, ...
    pub arg_types: &'static [&'static str],
    /// Role of each argument: `schema`, `table`, `column`, `description`, ...
    pub arg_names: &'static [&'static str],
    /// Fewer arguments than `arg_types.len()` may be given (SQL defaults).
    pub min_args: Option<u8>,
    /// The last parameter is `VARIADIC`.
    pub variadic: bool,
    /// SQL parameter names for named notation (`table_name => ..`), when they differ from
    /// `arg_names` or exist at all.
    pub sql_param_names: &'static [&'static str],
    /// The meaning PostgreSQL gives a call of this arity written with bare quoted literals.
    pub untyped_literal_call_resolves_to: Resolves,
    /// The meaning of a call with `'{..}'` brace literals where this overload has arrays.
    pub brace_array_literal_call_resolves_to: Resolves,
    /// Even with `::name` casts on the names, PostgreSQL resolves to this reading.
    pub even_with_name_casts_resolves_to: Resolves,
    /// pgTAP decides at run time what the arguments mean (`has_index`, `is_indexed`, `throws_ok`).
    pub resolved_at_runtime: bool,
    /// For `resolved_at_runtime` overloads: the rule pgTAP applies, in words.
    pub runtime_rule: Option<&'static str>,
    /// Other readings of the arguments that the run-time rule may choose.
    pub alternative_arg_names: &'static [&'static [&'static str]],
    /// The SQL return type (`text`, `setof text`, ...).
    pub returns: &'static str,
}

/// An oracle field of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolves {
    /// The field is absent: the call means this overload.
    NotGiven,
    /// PostgreSQL rejects the call as ambiguous.
    Ambiguous,
    /// The call means another overload, whose `arg_names` are these.
    To(&'static [&'static str]),
}

/// Looks a function up by its lower-case name.
pub fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .map(|i| &FUNCTIONS[i])
}

/// `s` as a [`Name`](crate::model::Name): borrowed from the catalog when it is one of its
/// function names, so results built from the catalog or decoded from a cache allocate
/// nothing for them; owned otherwise.
pub fn name(s: &str) -> crate::model::Name {
    use std::borrow::Cow;
    match lookup(s) {
        Some(f) => Cow::Borrowed(f.name),
        None => Cow::Owned(s.to_owned()),
    }
}
