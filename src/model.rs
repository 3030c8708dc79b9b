//! The values extraction produces for one file; serialised as the JSON report's file objects.
//!
//! Field names are part of the version-1 report contract: add, never rename.

use std::borrow::Cow;

use serde::Serialize;

use crate::object::{Aspect, ObjectKind};

/// A function name that is nearly always one of the catalog's (`has_table`): borrowed
/// from it without allocating, owned only for helpers and decoded cache entries that match
/// no catalog name.
pub type Name = Cow<'static, str>;

/// Where an assertion was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// Top-level SQL of the file.
    Top,
    /// The body of `CREATE FUNCTION/PROCEDURE <name>` (xUnit style).
    Body(String),
    /// A `DO` block.
    Do,
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Context::Top => f.write_str("top"),
            Context::Body(name) => write!(f, "body:{name}"),
            Context::Do => f.write_str("do"),
        }
    }
}

impl Serialize for Context {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How the call's arguments were resolved to one of the function's overloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionKind {
    /// PostgreSQL picks one overload.
    Exact,
    /// pgTAP decides at run time; a static rule or the search path chose the reading.
    Runtime,
    /// pgTAP decides at run time and nothing static tells which reading: see `readings`.
    Ambiguous,
    /// The argument types cannot be known statically; the most likely overload was taken.
    Undecidable,
    /// PostgreSQL would reject the call (ambiguous or no such overload).
    Rejected,
    /// A user-declared helper from the configuration.
    Helper,
}

/// One pgTAP assertion call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assertion {
    /// Lower-case function name, schema dropped (`has_table`).
    pub function: Name,
    /// Kind of the object asserted about (`table`, `column`, ...); `None` for value tests,
    /// serialised as `none`.
    #[serde(serialize_with = "kind_or_none")]
    pub kind: Option<ObjectKind>,
    /// Object key (`table:public.users`), when the call names one statically.
    pub object: Option<String>,
    /// The 1-based line the call starts on.
    pub line: u32,
    /// The 1-based column the call starts at, in characters.
    pub column: u32,
    /// Where the call sits: top level, inside a function body, a `DO` block, ...
    pub context: Context,
    /// The description argument, when it is a literal string.
    pub description: Option<String>,
    /// `existence`, `type`, `privileges`, ... from the catalog (or a helper's declaration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect: Option<Aspect>,
    /// `hasnt_*`, `col_is_null`...: the object must not exist / have the property.
    #[serde(skip_serializing_if = "is_false")]
    pub negated: bool,
    /// The object name is computed at run time (concatenation, psql variable, expression).
    #[serde(skip_serializing_if = "is_false")]
    pub dynamic: bool,
    /// Set assertions (`tables_are`, ...): every listed object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Other objects the call names (the role of a privilege test, the tables of `fk_ok`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// How the call was matched to a catalog overload (exact, ambiguous, rejected, ...).
    pub resolution: ResolutionKind,
    /// For ambiguous and run-time-decided calls: the object each reading would mean.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<String>,
    /// Found inside a comment (only with `--include-commented`).
    #[serde(skip_serializing_if = "is_false")]
    pub commented: bool,
}

impl Assertion {
    /// The name of [`Assertion::kind`] as reports write it: `none` for value tests.
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.kind)
    }
}

/// The name of an assertion's kind as reports write it: `none` for value tests.
pub fn kind_name(kind: Option<ObjectKind>) -> &'static str {
    kind.map_or("none", ObjectKind::name)
}

fn kind_or_none<S: serde::Serializer>(kind: &Option<ObjectKind>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind_name(*kind))
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A psql include (`\i`, `\ir`, `\include`, `\include_relative`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Include {
    /// The included path as written after the meta-command.
    pub path: String,
    /// `\ir` / `\include_relative`: relative to the including file; otherwise to the
    /// directory psql runs in (we take the scan root).
    pub relative: bool,
    /// The 1-based line of the meta-command.
    pub line: u32,
}

/// A problem in one file, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The 1-based line.
    pub line: u32,
    /// The 1-based column, in characters.
    pub column: u32,
    /// What is wrong, in words for a user.
    pub message: String,
}

/// The plan the file declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PlanDecl {
    /// `plan(N)`
    Fixed {
        /// The N.
        count: u64,
        /// The 1-based line of the call.
        line: u32,
    },
    /// `plan(<expression>)`: not a literal count.
    Dynamic {
        /// The 1-based line of the call.
        line: u32,
    },
    /// `no_plan()`
    NoPlan {
        /// The 1-based line of the call.
        line: u32,
    },
}

/// Everything extraction learns from one file (bytes in, this out; no I/O).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileResult {
    /// Every assertion call, in source order.
    pub assertions: Vec<Assertion>,
    /// How the file declares its plan. Serialised as `plan_declaration`: the file object's
    /// `plan` is the contract's plain N.
    #[serde(rename = "plan_declaration")]
    pub plan: Option<PlanDecl>,
    /// TAP results the top-level code emits as far as static reading can tell: one per
    /// assertion, `check_test` as the results it emits, `skip(n)` as n.
    pub tests: u64,
    /// The count in `tests` is a lower bound: something emits a number of results that is
    /// only known at run time (`runtests`, `do_tap`, `skip(:n)`, ...).
    pub tests_inexact: bool,
    /// `runtests()` / `do_tap()` run xUnit functions: the plan is computed at run time.
    pub runs_tests: bool,
    /// The file calls `finish()`.
    pub finish: bool,
    /// psql includes, in source order.
    pub includes: Vec<Include>,
    /// Problems that make the reading wrong or incomplete (unterminated strings, ...).
    pub errors: Vec<Diagnostic>,
    /// Things read but possibly read wrongly (dynamic names, cut statements, ...).
    pub warnings: Vec<Diagnostic>,
    /// What the file's SQL references (functions, relations, columns, sequences, types),
    /// with the command, the role in effect and the assertion each serves (issue 14).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// SQL given as text to a pgTAP function (`results_eq('...')`, `throws_ok($$..$$)`)
    /// that does not lex as SQL: its references are unknown.
    #[serde(skip_serializing_if = "is_zero")]
    pub sql_strings_unreadable: u64,
    /// Top-level `SELECT f(..)` calls of functions that are neither pgTAP's nor declared
    /// helpers, with their lines: when a plan is short, the ones that may emit TAP. Not in
    /// the JSON report (the plan-mismatch message names them).
    #[serde(skip)]
    pub select_calls: Vec<(String, u32)>,
    /// Objects the file creates for itself (`CREATE TEMP TABLE`, `SELECT .. INTO`, a
    /// helper function): references to them are the suite's scaffolding, not the schema's.
    /// Not in the JSON report's files (the behaviour summary counts them).
    #[serde(skip)]
    pub created: Vec<Created>,
    /// References read and counted but not kept, in [`references`](Self::references)'
    /// stead, when nothing the run reports needs more than their number (no universe to
    /// resolve them, no file listed, no cache, not a shard: see
    /// `ScanConfig::references_counted_only`). Never cached nor serialised (a run that
    /// caches keeps the references themselves).
    #[serde(skip)]
    pub references_counted: u64,
}

/// An object a test file creates (see [`FileResult::created`]); names as written, folded
/// to lower case unless quoted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Created {
    /// `Relation` (tables, views), `Function`, `Sequence` or `Type`.
    pub kind: RefKind,
    /// The schema as written; `None` when unqualified (or `pg_temp`).
    pub schema: Option<String>,
    /// The object's name.
    pub name: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a [`Reference`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    /// A function or procedure call.
    Function,
    /// A table, view, or other relation in a `FROM`, `JOIN`, or DML target.
    Relation,
    /// A column of a relation.
    Column,
    /// A sequence (`nextval('s')`, ...).
    Sequence,
    /// A type (a cast, a column definition, ...).
    Type,
}

/// The command a relation or column is used by. Columns: `select` when read (select list,
/// `WHERE`), `insert` / `update` when written (column list, `SET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// `SELECT` (and reads in other commands' `WHERE`).
    Select,
    /// `INSERT`.
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
    /// `MERGE`.
    Merge,
    /// `TRUNCATE`.
    Truncate,
    /// `COPY`.
    Copy,
}

/// How a reference relates to the assertion it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// Inside the assertion's arguments (or the SQL text it runs, or its statement).
    Asserted,
    /// In the statements between the previous assertion and this one (arrange / act).
    Exercised,
}

/// What the assertion serving a reference expects of the SQL it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Runs without error (`lives_ok`, `results_eq`, `is`, ...).
    Allowed,
    /// Refused for lack of privilege or by row level security (`throws_ok(.., '42501')`).
    Denied,
    /// Raises some other error (`throws_ok` with another or no SQLSTATE).
    Raises,
    /// Runs under a role and returns no rows (`is_empty`): filtered out by policies.
    Filtered,
}

/// One thing a test file's SQL references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// What the name names.
    pub kind: RefKind,
    /// The schema as written (`app` in `app.users`), `None` when unqualified.
    pub schema: Option<String>,
    /// The name as written, without its schema.
    pub name: String,
    /// Columns: the relation (as written, `app.users`) when it is unambiguous.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// Relations and columns: the command that uses them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Command>,
    /// Functions: the number of arguments in the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arity: Option<u32>,
    /// The 1-based line of the reference.
    pub line: u32,
    /// The role in effect (`SET ROLE`, `set_config('role', ..)`, role helpers); `None`
    /// when no switch is known (the connecting user, or unknown inside a function body).
    pub role: Option<String>,
    /// Index in the file's `assertions` of the assertion this reference serves.
    pub assertion: Option<u32>,
    /// Whether the assertion asserts the reference or the preceding code exercises it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
    /// Asserted references in SQL an assertion runs: what the assertion expects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Outcome>,
    /// The SQLSTATE a `throws_*` assertion expects, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
}
