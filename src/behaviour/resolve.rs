//! Holds the behavioural database against a universe: which objects the tests exercise,
//! how (the command, the role, the expected outcome), and what runs without being named —
//! the triggers a DML statement fires, the row level security policies a command under a
//! role is checked against, and the functions a trigger runs (exercised *indirectly*).
//!
//! # Rules
//! - Names resolve as PostgreSQL would: a qualified name in its schema; an unqualified one
//!   through the search path (`--search-path`, default `public`), and, when the path has
//!   none, the one schema of the universe that has that name (several: unresolved).
//! - A function call matches the overloads of that name with as many arguments; when none
//!   has, the one overload with more (defaults), or the only overload of the name.
//! - A column resolves through its relation (as written) when the reader knew it.
//! - DML on a table (insert, update, delete, truncate, merge) fires its triggers; a
//!   trigger's function is exercised indirectly.
//! - A command (select, insert, update, delete; merge counts as the last three) on a table
//!   with row level security enabled, under a known role that does not bypass it
//!   (`postgres`, `service_role`, `supabase_admin` do), is checked against the table's
//!   policies for that command (or `all`) and that role (or `public`). With no role switch
//!   the connecting user (the owner, in test set-ups) runs it: no policy applies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::db::{Database, Place, Target, Use, Uses};
use crate::model::{Command, Outcome, RefKind};
use crate::object::ObjectKind;
use crate::universe::{Details, SchemaObject, Universe};

/// Roles that bypass row level security in the platforms we know (superuser, Supabase's
/// `service_role` and admin).
pub const BYPASS_ROLES: &[&str] = &["postgres", "service_role", "supabase_admin"];

/// How an object is exercised without being named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViaKind {
    /// A trigger fired by DML on its table.
    Trigger,
    /// A policy a command under a role was checked against.
    Policy,
    /// A function run by a fired trigger (indirect).
    TriggerFunction,
    /// A function called by an exercised function's body, as read from the migrations
    /// (indirect).
    Call,
}

impl ViaKind {
    /// Indirect exercise: the object ran because something else did, and no test looks at
    /// it (listed, never counted as tested).
    pub fn indirect(self) -> bool {
        matches!(self, ViaKind::TriggerFunction | ViaKind::Call)
    }
}

/// One way an object is exercised without being named.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Via {
    /// What brought it in: a fired trigger, an applied policy, a trigger's function, a
    /// call from an exercised function.
    pub how: ViaKind,
    /// The object named by the tests that brought this one in (`table:app.todos`).
    pub from: String,
    /// The command that fired or applied it (`insert`, ...), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<&'static str>,
    /// The role it applied to (policies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A use of an object, as the JSON report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UseOut {
    /// The command (`select`, `insert`, ...); `None` for calls, sequences and types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<&'static str>,
    /// The role in effect; `None` when the test never switched.
    pub role: Option<String>,
    /// What the serving assertion expects of it.
    pub outcome: Outcome,
    /// `asserted` (inside the assertion) or `exercised` (the statements before it).
    pub attribution: &'static str,
    /// How many references make this use.
    pub count: u64,
    /// The first few by file and line.
    pub locations: Vec<PlaceOut>,
}

/// A file and line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlaceOut {
    /// The test file, as reports show paths.
    pub file: String,
    /// 1-based.
    pub line: u32,
}

impl From<&Place> for PlaceOut {
    fn from(p: &Place) -> Self {
        PlaceOut {
            file: p.file.to_string(),
            line: p.line,
        }
    }
}

/// What the tests do with one object of the universe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectBehaviour {
    /// The object's key (`table:app.todos`).
    pub key: String,
    /// Its kind.
    pub kind: ObjectKind,
    /// Named by the tests (called, read, written).
    pub direct: bool,
    /// Uses named by the tests, by command, role, outcome and attribution.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<UseOut>,
    /// Exercised without being named (fired triggers, applied policies, trigger
    /// functions), the first few.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<Via>,
}

impl ObjectBehaviour {
    /// Exercised by the tests: named, or run because a named command ran (a fired
    /// trigger, an applied policy). Indirect-only objects are not.
    pub fn exercised(&self) -> bool {
        self.direct || self.via.iter().any(|v| !v.how.indirect())
    }

    /// Only exercised indirectly (a trigger's function).
    pub fn only_indirect(&self) -> bool {
        !self.exercised() && !self.via.is_empty()
    }
}

/// What an RLS matrix cell says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    /// No test runs this command under this role.
    Untested,
    /// Tests expect it to succeed.
    Allowed,
    /// Tests expect it to fail or be filtered.
    Denied,
    /// Both expectations are tested.
    Both,
}

impl CellState {
    /// The JSON spelling (`untested`, `allowed`, `denied`, `both`).
    pub fn name(self) -> &'static str {
        match self {
            CellState::Untested => "untested",
            CellState::Allowed => "allowed",
            CellState::Denied => "denied",
            CellState::Both => "both",
        }
    }
}

/// One role × command cell of a table's RLS matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The role (a row of the matrix).
    pub role: String,
    /// `select`, `insert`, `update` or `delete` (a column).
    pub command: &'static str,
    /// What the tests say of it.
    pub state: CellState,
    /// Policies that apply to this command and role (keys).
    pub policies: Vec<String>,
    /// Uses behind the cell: allowed and denied counts, the first locations.
    pub allowed: u64,
    /// Uses expected to fail or be filtered.
    pub denied: u64,
    /// The first few locations behind the cell.
    pub locations: Vec<PlaceOut>,
}

/// The RLS matrix of one table with row level security enabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RlsTable {
    /// The table's key.
    pub table: String,
    /// `FORCE ROW LEVEL SECURITY`: policies apply to its owner too.
    pub forced: bool,
    /// Its policies (keys).
    pub policies: Vec<String>,
    /// The matrix's rows: roles its policies name or the tests use.
    pub roles: Vec<String>,
    /// Every role × command cell.
    pub cells: Vec<Cell>,
}

impl RlsTable {
    /// The cell of `role` × `command`.
    pub fn cell(&self, role: &str, command: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.role == role && c.command == command)
    }
}

/// A reference the universe holds no object for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    /// What the reference names.
    pub kind: RefKind,
    /// The name as written (`schema.name`, `relation.column`).
    pub name: String,
    /// How many references.
    pub count: u64,
    /// The first by file and line.
    pub first: PlaceOut,
}

/// Unresolved targets listed (the rest counted).
pub const MAX_UNRESOLVED: usize = 100;

/// The behavioural side of schema coverage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Behaviour {
    /// References read in the test files.
    pub references: u64,
    /// References that named an object of the universe.
    pub resolved: u64,
    /// SQL strings given to pgTAP functions that did not lex as SQL.
    pub sql_strings_unreadable: u64,
    /// By key, universe objects the tests exercise (directly, through triggers and
    /// policies, or indirectly).
    pub objects: Vec<ObjectBehaviour>,
    /// The RLS matrix of each table with row level security.
    pub rls: Vec<RlsTable>,
    /// Targets the universe does not hold (functions of extensions, platform tables), the
    /// most used first; what the tests create themselves is counted in `created_by_tests`.
    pub unresolved: Vec<Unresolved>,
    /// Unresolved targets beyond the first [`MAX_UNRESOLVED`], counted only.
    pub unresolved_omitted: u64,
    /// References to what the test files create for themselves (temporary tables and
    /// their columns, helper functions): neither resolved nor unresolved.
    pub created_by_tests: u64,
}

impl Behaviour {
    /// What the tests do with the object of `key`, if anything.
    pub fn get(&self, key: &str) -> Option<&ObjectBehaviour> {
        self.objects
            .binary_search_by(|o| o.key.as_str().cmp(key))
            .ok()
            .map(|i| &self.objects[i])
    }
}

/// Objects by schema, then name.
type Names<'u> = HashMap<&'u str, HashMap<&'u str, Vec<&'u SchemaObject>>>;

/// Universe objects by (kind group, schema, name).
struct Index<'u> {
    relations: Names<'u>,
    functions: Names<'u>,
    sequences: Names<'u>,
    types: Names<'u>,
    /// Names to the schemas that have them, per group (for unqualified names off the path).
    schemas_of: HashMap<u8, HashMap<&'u str, BTreeSet<&'u str>>>,
    /// Children by parent key: columns, triggers, policies.
    children: HashMap<&'u str, Vec<&'u SchemaObject>>,
}

const G_REL: u8 = 0;
const G_FN: u8 = 1;
const G_SEQ: u8 = 2;
const G_TYPE: u8 = 3;

impl<'u> Index<'u> {
    fn new(universe: &'u Universe) -> Self {
        let mut ix = Index {
            relations: HashMap::new(),
            functions: HashMap::new(),
            sequences: HashMap::new(),
            types: HashMap::new(),
            schemas_of: HashMap::new(),
            children: HashMap::new(),
        };
        for o in universe.objects() {
            if let Some(p) = o.parent.as_deref() {
                ix.children.entry(p).or_default().push(o);
                continue;
            }
            let Some(schema) = o.schema.as_deref() else {
                continue;
            };
            let group = match o.kind {
                ObjectKind::Table
                | ObjectKind::View
                | ObjectKind::MaterializedView
                | ObjectKind::ForeignTable => G_REL,
                ObjectKind::Function => G_FN,
                ObjectKind::Sequence => G_SEQ,
                ObjectKind::Type => G_TYPE,
                _ => continue,
            };
            let map = match group {
                G_REL => &mut ix.relations,
                G_FN => &mut ix.functions,
                G_SEQ => &mut ix.sequences,
                _ => &mut ix.types,
            };
            map.entry(schema)
                .or_default()
                .entry(o.name.as_str())
                .or_default()
                .push(o);
            ix.schemas_of
                .entry(group)
                .or_default()
                .entry(o.name.as_str())
                .or_default()
                .insert(schema);
        }
        ix
    }

    fn map(&self, group: u8) -> &Names<'u> {
        match group {
            G_REL => &self.relations,
            G_FN => &self.functions,
            G_SEQ => &self.sequences,
            _ => &self.types,
        }
    }

    /// The objects a (schema as written, name) names in a group.
    fn lookup(
        &self,
        group: u8,
        schema: Option<&str>,
        name: &str,
        path: &[String],
    ) -> &[&'u SchemaObject] {
        let map = self.map(group);
        let get = |s: &str| map.get(s).and_then(|m| m.get(name)).map(Vec::as_slice);
        if let Some(s) = schema {
            return get(s).unwrap_or(&[]);
        }
        for s in path {
            if let Some(v) = get(s) {
                return v;
            }
        }
        let Some(set) = self.schemas_of.get(&group).and_then(|m| m.get(name)) else {
            return &[];
        };
        match set.len() {
            1 => set.iter().next().and_then(|s| get(s)).unwrap_or(&[]),
            _ => &[],
        }
    }

    fn children_of(
        &self,
        key: &str,
        kind: ObjectKind,
    ) -> impl Iterator<Item = &'u SchemaObject> + '_ {
        self.children
            .get(key)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |o| o.kind == kind)
    }
}

/// The universe objects a target names.
fn resolve_target<'u>(ix: &Index<'u>, t: &Target, path: &[String]) -> Vec<&'u SchemaObject> {
    let schema = t.schema.as_deref();
    match t.kind {
        RefKind::Relation => ix.lookup(G_REL, schema, &t.name, path).to_vec(),
        RefKind::Sequence => ix.lookup(G_SEQ, schema, &t.name, path).to_vec(),
        RefKind::Type => ix.lookup(G_TYPE, schema, &t.name, path).to_vec(),
        RefKind::Function => {
            let all = ix.lookup(G_FN, schema, &t.name, path);
            let nargs = |o: &SchemaObject| match &o.details {
                Details::Function { args, .. } => args.len(),
                _ => 0,
            };
            let arity = t.arity.unwrap_or(0) as usize;
            let exact: Vec<_> = all.iter().copied().filter(|o| nargs(o) == arity).collect();
            if !exact.is_empty() {
                return exact;
            }
            let more: Vec<_> = all.iter().copied().filter(|o| nargs(o) > arity).collect();
            if more.len() == 1 {
                return more;
            }
            if all.len() == 1 {
                return all.to_vec();
            }
            Vec::new()
        }
        RefKind::Column => {
            let Some(rel) = t.relation.as_deref() else {
                return Vec::new();
            };
            let (rs, rn) = super::scan::split_qualified(rel);
            ix.lookup(G_REL, rs.as_deref(), &rn, path)
                .iter()
                .flat_map(|r| ix.children_of(&r.key, ObjectKind::Column))
                .filter(|c| c.name == *t.name)
                .collect()
        }
    }
}

/// The commands row level security checks a command under (merge: its three).
fn rls_commands(c: Command) -> &'static [&'static str] {
    match c {
        Command::Select => &["select"],
        Command::Insert => &["insert"],
        Command::Update => &["update"],
        Command::Delete => &["delete"],
        Command::Merge => &["insert", "update", "delete"],
        Command::Truncate | Command::Copy => &[],
    }
}

/// Does a trigger with these events fire on this command? Events not known (a live
/// database, yet): every DML command counts.
fn fires(c: Command, events: Option<&[String]>) -> bool {
    let fired: &[&str] = match c {
        Command::Insert => &["insert"],
        Command::Update => &["update"],
        Command::Delete => &["delete"],
        Command::Merge => &["insert", "update", "delete"],
        Command::Truncate => &["truncate"],
        Command::Select | Command::Copy => return false,
    };
    events.is_none_or(|ev| ev.iter().any(|e| fired.contains(&e.as_str())))
}

fn policy_applies(p: &SchemaObject, command: &str, role: &str) -> bool {
    match &p.details {
        Details::Policy { command: pc, roles } => {
            (pc == "all" || pc == command)
                && (roles.is_empty() || roles.iter().any(|r| r == role || r == "public"))
        }
        _ => false,
    }
}

/// The commands of an RLS matrix, in column order.
pub const MATRIX_COMMANDS: [&str; 4] = ["select", "insert", "update", "delete"];

#[derive(Default)]
struct Acc {
    uses: BTreeMap<Use, Uses>,
    via: BTreeSet<Via>,
}

/// Holds `db` against `universe`; `in_scope` limits the objects reported (the
/// `--schemas` filter).
pub fn resolve(
    db: &Database,
    universe: &Universe,
    in_scope: &dyn Fn(&SchemaObject) -> bool,
) -> Behaviour {
    let ix = Index::new(universe);
    let path = &db.search_path;
    let mut acc: BTreeMap<&str, Acc> = BTreeMap::new();
    let mut unresolved: Vec<Unresolved> = Vec::new();
    let mut resolved = 0u64;
    let mut created_by_tests = 0u64;
    // Table -> (command, role) -> (allowed, denied, locations): the RLS matrix's uses.
    type CellUses = BTreeMap<(&'static str, String), (u64, u64, Vec<Place>)>;
    let mut matrix: BTreeMap<&str, CellUses> = BTreeMap::new();
    for (t, uses) in &db.targets {
        let objects = resolve_target(&ix, t, path);
        let count: u64 = uses.values().map(|u| u.count).sum();
        if objects.is_empty() && db.created_by_tests(t) {
            created_by_tests += count;
            continue;
        }
        if objects.is_empty() {
            let first = uses
                .values()
                .filter_map(|u| u.locations.first())
                .min()
                .map(PlaceOut::from)
                .unwrap_or(PlaceOut {
                    file: String::new(),
                    line: 0,
                });
            let name = match (&t.schema, t.kind, &t.relation) {
                (_, RefKind::Column, Some(r)) => format!("{r}.{}", t.name),
                (Some(s), _, _) => format!("{s}.{}", t.name),
                _ => t.name.to_string(),
            };
            unresolved.push(Unresolved {
                kind: t.kind,
                name,
                count,
                first,
            });
            continue;
        }
        resolved += count;
        for o in &objects {
            let a = acc.entry(o.key.as_str()).or_default();
            for (u, n) in uses {
                a.uses.entry(u.clone()).or_default().merge(n);
            }
        }
        if t.kind != RefKind::Relation {
            continue;
        }
        for rel in &objects {
            for (u, n) in uses {
                let Some(cmd) = u.command else { continue };
                {
                    for trg in ix
                        .children_of(&rel.key, ObjectKind::Trigger)
                        .filter(|t| fires(cmd, universe.trigger_events(&t.key)))
                    {
                        acc.entry(trg.key.as_str()).or_default().via.insert(Via {
                            how: ViaKind::Trigger,
                            from: rel.key.clone(),
                            command: Some(super::command_name(cmd)),
                            role: None,
                        });
                        if let Details::Trigger { function: Some(f) } = &trg.details {
                            let (fs, fname) = super::scan::split_qualified(f);
                            for func in ix.lookup(G_FN, fs.as_deref(), &fname, path) {
                                acc.entry(func.key.as_str()).or_default().via.insert(Via {
                                    how: ViaKind::TriggerFunction,
                                    from: trg.key.clone(),
                                    command: None,
                                    role: None,
                                });
                            }
                        }
                    }
                }
                let rls = matches!(
                    rel.details,
                    Details::Table {
                        rls_enabled: true,
                        ..
                    }
                );
                let Some(role) = u.role.as_deref() else {
                    continue;
                };
                if !rls {
                    continue;
                }
                let bypass = BYPASS_ROLES.contains(&role);
                for &c in rls_commands(cmd) {
                    if !bypass {
                        for p in ix.children_of(&rel.key, ObjectKind::Policy) {
                            if policy_applies(p, c, role) {
                                acc.entry(p.key.as_str()).or_default().via.insert(Via {
                                    how: ViaKind::Policy,
                                    from: rel.key.clone(),
                                    command: Some(c),
                                    role: Some(role.to_string()),
                                });
                            }
                        }
                    }
                    let cell = matrix
                        .entry(rel.key.as_str())
                        .or_default()
                        .entry((c, role.to_string()))
                        .or_default();
                    match u.outcome {
                        Outcome::Allowed => cell.0 += n.count,
                        Outcome::Denied | Outcome::Raises | Outcome::Filtered => cell.1 += n.count,
                    }
                    for p in &n.locations {
                        if let Err(i) = cell.2.binary_search(p) {
                            cell.2.insert(i, p.clone());
                            cell.2.truncate(super::db::USE_LOCATIONS);
                        }
                    }
                }
            }
        }
    }
    // The call graph: functions called by exercised functions' bodies (and by trigger
    // functions), transitively, are exercised indirectly.
    let mut queue: Vec<&str> = acc
        .iter()
        .filter(|(k, a)| k.starts_with("function:") && (!a.uses.is_empty() || !a.via.is_empty()))
        .map(|(k, _)| *k)
        .collect();
    let mut seen: BTreeSet<&str> = queue.iter().copied().collect();
    while let Some(caller) = queue.pop() {
        let calls = universe
            .body_of(caller)
            .map(super::body_calls)
            .unwrap_or_default();
        for (schema, name, arity) in calls {
            let t = Target {
                kind: RefKind::Function,
                schema: schema.as_deref().map(Into::into),
                name: name.as_str().into(),
                relation: None,
                arity: Some(arity),
            };
            for callee in resolve_target(&ix, &t, path) {
                let a = acc.entry(callee.key.as_str()).or_default();
                if a.via.len() < MAX_VIA {
                    a.via.insert(Via {
                        how: ViaKind::Call,
                        from: caller.to_string(),
                        command: None,
                        role: None,
                    });
                }
                if seen.insert(callee.key.as_str()) {
                    queue.push(callee.key.as_str());
                }
            }
        }
    }
    let mut objects: Vec<ObjectBehaviour> = Vec::new();
    for (key, a) in acc {
        let Some(o) = universe.get(key) else { continue };
        if !in_scope(o) {
            continue;
        }
        let uses = a
            .uses
            .iter()
            .map(|(u, n)| UseOut {
                command: u.command.map(super::command_name),
                role: u.role.as_deref().map(str::to_string),
                outcome: u.outcome,
                attribution: if u.asserted { "asserted" } else { "exercised" },
                count: n.count,
                locations: n.locations.iter().map(PlaceOut::from).collect(),
            })
            .collect::<Vec<_>>();
        objects.push(ObjectBehaviour {
            key: key.to_string(),
            kind: o.kind,
            direct: !uses.is_empty(),
            uses,
            via: a.via.into_iter().take(MAX_VIA).collect(),
        });
    }
    let mut rls = Vec::new();
    for o in universe.objects() {
        let Details::Table {
            rls_enabled: true,
            rls_forced,
            ..
        } = &o.details
        else {
            continue;
        };
        if !in_scope(o) {
            continue;
        }
        let policies: Vec<&SchemaObject> = ix.children_of(&o.key, ObjectKind::Policy).collect();
        let used = matrix.remove(o.key.as_str()).unwrap_or_default();
        let mut roles: BTreeSet<String> = BTreeSet::new();
        for p in &policies {
            if let Details::Policy { roles: rs, .. } = &p.details {
                roles.extend(rs.iter().cloned());
            }
        }
        roles.extend(used.keys().map(|(_, r)| r.clone()));
        let mut cells = Vec::new();
        for role in &roles {
            for c in MATRIX_COMMANDS {
                let (allowed, denied, locs) =
                    used.get(&(c, role.clone())).cloned().unwrap_or_default();
                let state = match (allowed > 0, denied > 0) {
                    (false, false) => CellState::Untested,
                    (true, false) => CellState::Allowed,
                    (false, true) => CellState::Denied,
                    (true, true) => CellState::Both,
                };
                cells.push(Cell {
                    role: role.clone(),
                    command: c,
                    state,
                    policies: if BYPASS_ROLES.contains(&role.as_str()) {
                        Vec::new()
                    } else {
                        policies
                            .iter()
                            .filter(|p| policy_applies(p, c, role))
                            .map(|p| p.key.clone())
                            .collect()
                    },
                    allowed,
                    denied,
                    locations: locs.iter().map(PlaceOut::from).collect(),
                });
            }
        }
        rls.push(RlsTable {
            table: o.key.clone(),
            forced: *rls_forced,
            policies: policies.iter().map(|p| p.key.clone()).collect(),
            roles: roles.into_iter().collect(),
            cells,
        });
    }
    unresolved.sort_by(|a, b| {
        (std::cmp::Reverse(a.count), a.kind, &a.name).cmp(&(
            std::cmp::Reverse(b.count),
            b.kind,
            &b.name,
        ))
    });
    let unresolved_omitted = unresolved.len().saturating_sub(MAX_UNRESOLVED) as u64;
    unresolved.truncate(MAX_UNRESOLVED);
    Behaviour {
        references: db.references,
        resolved,
        sql_strings_unreadable: db.sql_strings_unreadable,
        objects,
        rls,
        unresolved,
        unresolved_omitted,
        created_by_tests,
    }
}

/// `via` entries kept per object.
pub const MAX_VIA: usize = 8;
