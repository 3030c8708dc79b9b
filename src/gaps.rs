//! Schema coverage: the coverage database held against a universe of objects (read from
//! migrations or a live database), giving percentages per kind, the **gaps** (objects
//! nothing tests) and the **stale** objects (tests naming objects that do not exist).
//!
//! # Matching rules
//! - An object is tested when an assertion positively targets or lists its key (see
//!   [`crate::coverage`]); `hasnt_*` and side references do not test it.
//! - A function asserted without argument types (`has_function('app', 'f')`) covers every
//!   overload of that name.
//! - A `relation:` key (`has_relation`, `relation_owner_is`, ...) covers whichever table,
//!   view, materialized view, sequence, foreign table or composite type has that name, and a
//!   `table:` key covers a view, materialized view or foreign table of that name (pgTAP's
//!   table privilege and owner checks accept them).
//! - A call pgTAP decides at run time (`has_index('app', 'users', 'users_email_key')`)
//!   counts for the one reading whose object exists; when none or several exist it stays
//!   unattributed (`ambiguous_undecided`).
//! - Stale: objects named by an assertion (positively or as `hasnt_*`) whose kind the
//!   universe describes but whose key it does not hold (after the two rules above). A
//!   `hasnt_*` on an object that is absent passes; it is listed (`only_absent`) because a
//!   renamed object makes such a test pass by accident. Kinds the universe cannot know
//!   (languages, operators, casts, tablespaces, ...) are never stale.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::coverage::{Database, ObjectCoverage, ObjectLocation};
use crate::object::{Aspect, ObjectKey, ObjectKind};
use crate::universe::{Location, SchemaObject, Universe};

/// Objects every PostgreSQL database has, which migrations never create: never stale.
const ALWAYS_THERE: &[&str] = &["schema:public", "extension:plpgsql"];

/// Where the universe came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UniverseSource {
    /// Read from migration files (`--schema`).
    Migrations,
    /// Read from a live database's catalog (`--database-url`).
    Database,
}

/// Objects in the universe, tested, and their share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Ratio {
    /// Objects in the universe (of the kind, or all).
    pub objects: u64,
    /// Of those, the ones tested under the coverage mode.
    pub tested: u64,
    /// 0..=100, one decimal; 100 when there are no objects.
    pub percent: f64,
}

impl Ratio {
    fn add(&mut self, tested: bool) {
        self.objects += 1;
        self.tested += u64::from(tested);
    }
    fn finish(&mut self) {
        self.percent = percent(self.tested, self.objects);
    }
}

/// One decimal, as printed.
pub fn percent(tested: u64, objects: u64) -> f64 {
    if objects == 0 {
        100.0
    } else {
        (tested as f64 * 1000.0 / objects as f64).floor() / 10.0
    }
}

/// The JSON report's `coverage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// Every object of the universe.
    pub overall: Ratio,
    /// Per object kind that the universe holds.
    pub by_kind: BTreeMap<ObjectKind, Ratio>,
    /// Kinds counted in `by_kind` but left out of `overall` (`--exclude-from-overall`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded_from_overall: Vec<ObjectKind>,
}

/// What counts as tested (`--coverage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageMode {
    /// Named by a structural assertion (`has_table`, `col_type_is`, ...).
    Structural,
    /// Exercised by the tests' SQL (called, read, written; fired triggers, applied
    /// policies).
    Behavioural,
    /// Either (the default).
    #[default]
    Any,
}

impl CoverageMode {
    /// The names [`CoverageMode::parse`] takes (its spelling `behavioral` aside), for messages.
    pub const NAMES: &'static [&'static str] = &["structural", "behavioural", "any"];

    /// The mode a name means (`structural`, `behavioural` or `behavioral`, `any`).
    pub fn parse(s: &str) -> Option<CoverageMode> {
        match s {
            "structural" => Some(CoverageMode::Structural),
            "behavioural" | "behavioral" => Some(CoverageMode::Behavioural),
            "any" => Some(CoverageMode::Any),
            _ => None,
        }
    }

    /// The name, as `--coverage` takes it and the JSON report writes it.
    pub fn name(self) -> &'static str {
        match self {
            CoverageMode::Structural => "structural",
            CoverageMode::Behavioural => "behavioural",
            CoverageMode::Any => "any",
        }
    }
}

/// An untested object of the universe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Its key.
    pub key: String,
    /// Its kind.
    pub kind: ObjectKind,
    /// Where the migrations (last) define it.
    pub defined_at: Location,
    /// What the tests do with it that does not count under the coverage mode:
    /// `exercised` (run by the tests, not asserted structurally: `--coverage structural`),
    /// `asserted` (asserted, not exercised: `--coverage behavioural`), `indirect` (only run
    /// by something the tests run, such as a trigger's function). Absent: nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<&'static str>,
}

/// Where an ignore rule comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreSource {
    /// `ignore = [...]` in the config file.
    Config,
    /// `--ignore GLOB`.
    Flag,
    /// A `-- pgtap-scan: ignore` comment on the defining line.
    Comment,
    /// The platform's own object (a Supabase project's `auth.users`, `anon` role, ...):
    /// not the project's to test.
    Platform,
}

/// An object of the universe left out of coverage, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ignored {
    /// The object's key.
    pub key: String,
    /// Its kind.
    pub kind: ObjectKind,
    /// Where the universe defines it.
    pub defined_at: Location,
    /// Which rule left it out.
    pub source: IgnoreSource,
    /// The pattern that matched (not for comments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Tested all the same (ignoring it changes no verdict but the count).
    pub tested: bool,
}

/// An asserted object the universe does not hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stale {
    /// The key as the assertions name it.
    pub key: String,
    /// Its kind.
    pub kind: ObjectKind,
    /// Only `hasnt_*` assertions name it: they pass, perhaps by accident.
    pub only_absent: bool,
    /// Where it is asserted.
    pub locations: Vec<ObjectLocation>,
}

/// Schema coverage: flattened into the JSON report (`coverage`, `gaps`, `stale`,
/// `universe_source`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaCoverage {
    /// Migrations or a live database.
    pub universe_source: UniverseSource,
    /// Tested objects overall and per kind.
    pub coverage: Coverage,
    /// Most important first (see the module docs), then by key.
    pub gaps: Vec<Gap>,
    /// Asserted objects the universe does not hold, by key.
    pub stale: Vec<Stale>,
    /// Ambiguous calls (`has_index`, ...) the schema decided (one reading exists) and
    /// could not decide.
    pub ambiguous_decided: u64,
    /// See `ambiguous_decided`.
    pub ambiguous_undecided: u64,
    /// Per universe object: tested aspects, for reports that list the universe.
    #[serde(skip)]
    pub objects: Vec<UniverseEntry>,
    /// What counts as tested; in the JSON report when behavioural references were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_mode: Option<CoverageMode>,
    /// Behavioural coverage: what the tests exercise, how, and the RLS matrix; `None` when
    /// references were not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behaviour: Option<crate::behaviour::resolve::Behaviour>,
    /// Objects left out on purpose ([`crate::ignoring`]), most important first: not in
    /// `objects`, `gaps` or the counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<Ignored>,
}

/// A universe object with what the suite tests of it.
#[derive(Debug, Clone, PartialEq)]
pub struct UniverseEntry {
    /// Its key.
    pub key: String,
    /// Its kind.
    pub kind: ObjectKind,
    /// Where it is (last) defined.
    pub defined_at: Location,
    /// Positive assertions (through its own key, a bare function name or a relation key).
    pub assertions: u64,
    /// The aspects its positive assertions test (`existence`, `type`, ...), sorted.
    pub aspects: Vec<Aspect>,
    /// Exercised by the tests' SQL (named, or a fired trigger, an applied policy).
    pub exercised: bool,
    /// Only run by something the tests run (a trigger's function).
    pub indirect: bool,
    /// Tested under the coverage mode.
    pub counted: bool,
}

impl UniverseEntry {
    /// Tested under the report's coverage mode.
    pub fn tested(&self) -> bool {
        self.counted
    }
}

/// `function:s.f(args)` -> `function:s.f`.
fn function_base(kind: ObjectKind, key: &str) -> Option<&str> {
    if kind != ObjectKind::Function {
        return None;
    }
    match crate::object::split_args(key) {
        (base, args) if !args.is_empty() => Some(base),
        _ => None,
    }
}

/// `table:s.t` -> `relation:s.t` for kinds a relation key may stand for.
fn relation_key(o: &SchemaObject) -> Option<String> {
    o.kind
        .answers_to_relation_key()
        .then(|| ObjectKey::with_kind(&o.key, ObjectKind::Relation))
}

/// `view:s.v` -> `table:s.v`: privilege and ownership assertions on tables
/// (`table_privs_are`, `table_owner_is`, ...) accept views, materialized views and foreign
/// tables too, and their keys say `table:`.
fn table_key_for_view(o: &SchemaObject) -> Option<String> {
    o.kind
        .answers_to_table_key()
        .then(|| ObjectKey::with_kind(&o.key, ObjectKind::Table))
}

/// Holds the database against the universe.
/// `schemas`, when not empty, limits the universe to objects in those schemas (and the
/// schemas themselves); objects outside schemas (roles, extensions) stay.
pub fn compute(
    db: &Database,
    universe: &Universe,
    source: UniverseSource,
    schemas: &[String],
    mode: CoverageMode,
) -> SchemaCoverage {
    let mut used: HashSet<&str> = HashSet::new();
    let mut entries = Vec::with_capacity(universe.len());
    let mut coverage = Coverage::default();
    let in_scope = |o: &SchemaObject| {
        schemas.is_empty()
            || match (&o.schema, o.kind) {
                (Some(s), _) => schemas.contains(s),
                (None, ObjectKind::Schema) => schemas.contains(&o.name),
                (None, _) => true,
            }
    };
    let behaviour = db
        .behaviour
        .read
        .then(|| crate::behaviour::resolve::resolve(&db.behaviour, universe, &in_scope));
    // Without references read, nothing is known to be exercised: `any` is structural.
    let mode = if behaviour.is_some() {
        mode
    } else {
        CoverageMode::Structural
    };
    // Ambiguous calls the schema decides: exactly one reading exists.
    let mut decided: std::collections::HashMap<&str, (u64, Vec<&Aspect>)> =
        std::collections::HashMap::new();
    let mut undecided = 0u64;
    for call in &db.ambiguous {
        let mut existing = call.readings.iter().filter(|r| universe.get(r).is_some());
        match (existing.next(), existing.next()) {
            (Some(only), None) => {
                let e = decided.entry(only.as_str()).or_default();
                e.0 += 1;
                if let Some(a) = &call.aspect {
                    e.1.push(a);
                }
            }
            _ => undecided += 1,
        }
    }
    for o in universe.objects().filter(|o| in_scope(o)) {
        let mut assertions = 0;
        let mut aspects: Vec<Aspect> = Vec::new();
        if let Some((n, a)) = decided.get(o.key.as_str()) {
            assertions += n;
            for a in a {
                if !aspects.contains(a) {
                    aspects.push((*a).clone());
                }
            }
        }
        let mut take = |c: &ObjectCoverage| {
            assertions += c.assertions;
            for a in &c.aspects {
                if !aspects.contains(a) {
                    aspects.push(a.clone());
                }
            }
        };
        if let Some(c) = db.get(&o.key) {
            take(c);
            used.insert(c.key.as_str());
        }
        if let Some(base) = function_base(o.kind, &o.key) {
            if let Some(c) = db.get(base) {
                take(c);
                used.insert(c.key.as_str());
            }
        }
        if let Some(rel) = relation_key(o) {
            if let Some(c) = db.get(&rel) {
                take(c);
                used.insert(c.key.as_str());
            }
        }
        if let Some(t) = table_key_for_view(o) {
            if let Some(c) = db.get(&t) {
                take(c);
                used.insert(c.key.as_str());
            }
        }
        aspects.sort();
        let b = behaviour.as_ref().and_then(|b| b.get(&o.key));
        let exercised = b.is_some_and(|b| b.exercised());
        let indirect = b.is_some_and(|b| b.only_indirect());
        let tested = match mode {
            CoverageMode::Structural => assertions > 0,
            CoverageMode::Behavioural => exercised,
            CoverageMode::Any => assertions > 0 || exercised,
        };
        coverage.overall.add(tested);
        coverage.by_kind.entry(o.kind).or_default().add(tested);
        entries.push(UniverseEntry {
            key: o.key.clone(),
            kind: o.kind,
            defined_at: o.defined_at.clone(),
            assertions,
            aspects,
            exercised,
            indirect,
            counted: tested,
        });
    }
    coverage.overall.finish();
    for r in coverage.by_kind.values_mut() {
        r.finish();
    }
    let mut gaps: Vec<Gap> = entries
        .iter()
        .filter(|e| !e.tested())
        .map(|e| Gap {
            key: e.key.clone(),
            kind: e.kind,
            defined_at: e.defined_at.clone(),
            only: if e.exercised {
                Some("exercised")
            } else if e.assertions > 0 {
                Some("asserted")
            } else if e.indirect {
                Some("indirect")
            } else {
                None
            },
        })
        .collect();
    gaps.sort_by(|a, b| {
        (a.kind.importance(), a.kind, &a.key).cmp(&(b.kind.importance(), b.kind, &b.key))
    });
    let stale = db
        .objects
        .iter()
        .filter(|c| c.assertions + c.absent > 0)
        .filter(|c| c.kind.in_universe())
        .filter(|c| !used.contains(c.key.as_str()) && universe.get(&c.key).is_none())
        .filter(|c| !function_name_exists(universe, c))
        .filter(|c| !ALWAYS_THERE.contains(&c.key.as_str()))
        .map(|c| Stale {
            key: c.key.clone(),
            kind: c.kind,
            only_absent: c.assertions == 0,
            locations: c
                .locations
                .iter()
                .filter(|l| l.role != crate::coverage::Role::Reference)
                .cloned()
                .collect(),
        })
        .collect();
    SchemaCoverage {
        universe_source: source,
        coverage,
        gaps,
        stale,
        ambiguous_decided: decided.values().map(|(n, _)| n).sum(),
        ambiguous_undecided: undecided,
        objects: entries,
        coverage_mode: behaviour.is_some().then_some(mode),
        behaviour,
        ignored: Vec::new(),
    }
}

/// A bare function key (`function:s.f`) names an existing function when any overload of
/// that name exists.
fn function_name_exists(universe: &Universe, c: &ObjectCoverage) -> bool {
    let key = c.key.as_str();
    if c.kind != ObjectKind::Function || key.ends_with(')') {
        return false;
    }
    let prefix = format!("{key}(");
    universe
        .keys()
        .skip_while(|k| *k < prefix.as_str())
        .take_while(|k| k.starts_with(&prefix))
        .next()
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_down_to_one_decimal() {
        assert_eq!(percent(2, 3), 66.6);
        assert_eq!(percent(1, 1), 100.0);
        assert_eq!(percent(0, 0), 100.0);
        assert_eq!(percent(999, 1000), 99.9);
    }

    #[test]
    fn function_base_strips_arguments_outside_quotes() {
        assert_eq!(
            function_base(ObjectKind::Function, "function:app.f(integer)"),
            Some("function:app.f")
        );
        assert_eq!(
            function_base(ObjectKind::Function, "function:app.\"f(x\"(text)"),
            Some("function:app.\"f(x\"")
        );
        assert_eq!(function_base(ObjectKind::Function, "function:app.f"), None);
        assert_eq!(function_base(ObjectKind::Table, "table:app.f(x)"), None);
    }
}
