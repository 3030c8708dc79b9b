//! The universe of database objects, read from migration / schema SQL files.
//!
//! Owns: the [`Universe`] (every object a migration set leaves behind, keyed exactly like
//! the scanner's assertion keys, see [`crate::object`]), the DDL reader that builds it
//! statement by statement, and [`load_migrations`] (files and folders applied in path
//! order, like migration tools do). `introspect.rs` reads the same universe from a live
//! database ([`load_database`]); `tests/it/live_db.rs` holds the two to the same keys.
//!
//! # Why our own lexer-based DDL reader
//! Three parsers were possible:
//! - `pg_query` (PostgreSQL's real grammar) is exact, but needs libclang and a C build at
//!   compile time, and it rejects psql syntax (`\set`, `:var`, `\ir`) that migration sets
//!   and test suites are full of: a file it cannot parse is lost as a whole.
//! - `sqlparser` is pure Rust, but its PostgreSQL dialect does not cover the DDL that
//!   matters here (`CREATE POLICY`, `CREATE TRIGGER ... EXECUTE FUNCTION`, `ALTER TYPE ..
//!   ADD VALUE`, `DO` bodies, `CREATE DOMAIN`, many `ALTER TABLE` forms), and it also
//!   fails per statement list, not per statement.
//! - Our lexer (`src/lexer.rs`) already understands every PostgreSQL and psql token. A
//!   DDL reader on top only has to know the *heads* of statements (names, columns,
//!   constraints, signatures) and can skip expressions and bodies by balanced parentheses.
//!   It is fast, has no build dependency, and degrades per statement: a statement it cannot
//!   read becomes a [`SkippedStatement`] with file:line and a reason, and the rest counts.
//!
//! The reader follows PostgreSQL's own naming rules where objects get names implicitly
//! (`ChooseRelationName`/`makeObjectName`: `<table>_pkey`, `<table>_<cols>_key`,
//! `<table>_<cols>_idx` with `expr`/function names for expressions and `1`, `2`, ...
//! suffixes on collisions, `<table>_<col>_seq` for serial and identity columns, 63-byte
//! truncation), and resolves unqualified names through the search path, honouring
//! `SET search_path` within a file.
//!
//! # Measured fidelity
//! Checked against PostgreSQL 15.18 by applying the same SQL and introspecting
//! `pg_catalog` (relations, attributes, `pg_index`, `pg_proc.proargtypes`, non-internal
//! triggers, policies, types, extensions, roles), objects of extensions left out:
//! - `fixtures/sample/migrations` (11 files, 37 tables): 542 keys, 0 statements skipped;
//!   equal to the database except `schema:public` and `extension:plpgsql` (present in every
//!   database) and `extension:pgtap` (installed by the test harness). Column types with
//!   their modifiers and NOT NULL flags agree for all 37 tables.
//! - a file of edge cases (default index names for expressions, duplicates and
//!   collisions, 63-byte truncation, serial/identity sequences, LIKE INCLUDING ALL,
//!   partitions, inheritance, typed tables, CREATE TABLE AS, view column names, OUT /
//!   VARIADIC / defaulted / `%TYPE` arguments, range types, renames, SET SCHEMA, drops,
//!   `set_config('search_path', ..)`): 158 keys, all equal.
//! - `pg_dump` of the sample database (4,088 lines, `COPY ... FROM stdin` data included):
//!   0 skipped, equal to the database except roles (pg_dump does not dump them).
//!
//! Speed: 1 MB of DDL (3,000 tables, 51,000 objects) in 0.25 s (release build).
//!
//! # What it does not read
//! - objects created by extensions (they belong to the extension, as in introspection);
//! - DDL in dynamic SQL (`EXECUTE 'CREATE ...'`, `format(...)`), in `DO` blocks of other
//!   languages, and in function bodies (they run when called, not when migrated);
//!   DDL written directly in a plpgsql `DO` block is applied, conditions ignored;
//! - `CREATE SCHEMA name CREATE TABLE ...` (schema elements) and `IMPORT FOREIGN SCHEMA`
//!   (skipped with a reason);
//! - view and CREATE TABLE AS columns when the query selects `*` from something unknown
//!   (a set-returning function, a subquery) or starts with a parenthesised set operation
//!   (the view is kept; the statement is reported as partly read);
//! - `DROP ... CASCADE` of dependants other than a table's own columns, indexes, triggers,
//!   policies, owned sequences and partitions (a view over a dropped table stays);
//! - aggregates, operators, casts, rules, collations, text search objects, event
//!   triggers, publications (understood and ignored: no key kind);
//! - statements that PostgreSQL would reject are not validated: the reader assumes the
//!   migrations ran.

mod connect;
mod ddl;
mod introspect;
mod naming;
mod split;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::object::{self, ObjectKind, PgClass};

pub use connect::{
    is_local_host, password_plan, HostFrom, IntrospectError, PasswordFrom, PasswordPlan, TlsUse,
    UrlSource,
};
pub use introspect::{load_database, DatabaseOptions};

/// Where an object was (last) defined.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// The file, as given or found under a given folder.
    pub file: String,
    /// The 1-based line the defining statement starts on.
    pub line: u32,
}

/// A statement that was not (fully) understood. The rest of the file still counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedStatement {
    /// The migration file.
    pub file: String,
    /// The 1-based line the statement starts on.
    pub line: u32,
    /// Why it was skipped, in words for a user.
    pub reason: String,
}

/// What is known about an object beyond its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Details {
    /// Nothing more is known (schemas, roles, extensions, ...).
    None,
    /// Tables, partitions and foreign tables.
    Table {
        /// `ENABLE ROW LEVEL SECURITY` is in effect.
        rls_enabled: bool,
        /// `FORCE ROW LEVEL SECURITY` is in effect (the owner is subject to policies too).
        rls_forced: bool,
        /// `PARTITION OF` parent (table key).
        partition_of: Option<String>,
        /// `INHERITS` parents (table keys).
        inherits: Vec<String>,
        /// The owner role, when set (`ALTER TABLE .. OWNER TO`, or the database's catalog).
        owner: Option<String>,
    },
    /// A view or materialized view.
    View {
        /// False when the columns could not be derived from the query.
        columns_known: bool,
        /// The owner role, when set.
        owner: Option<String>,
    },
    /// A column of a table or view.
    Column {
        /// 1-based, in creation order (dropped columns leave gaps like `attnum`).
        position: u32,
        /// Normalised (`integer`, `character varying(20)`); `None` for view columns.
        data_type: Option<String>,
        /// `NOT NULL` (or part of a primary key).
        not_null: bool,
        /// The `DEFAULT` expression as written.
        default: Option<String>,
        /// `GENERATED ALWAYS AS (..) STORED`.
        generated: bool,
        /// `GENERATED {ALWAYS|BY DEFAULT} AS IDENTITY`.
        identity: bool,
    },
    /// An index, stand-alone or made by a constraint.
    Index {
        /// A unique index (`UNIQUE`, or a primary key's).
        unique: bool,
        /// The index of a `PRIMARY KEY`.
        primary: bool,
        /// Created by a PRIMARY KEY / UNIQUE / EXCLUDE constraint.
        constraint: bool,
        /// The column names PostgreSQL derives from the index elements (`expr` for
        /// expressions it cannot name); these also built the default name.
        columns: Vec<String>,
    },
    /// A function or procedure.
    Function {
        /// Identity argument types, normalised (what the key shows).
        args: Vec<String>,
        /// The return type, normalised; `None` for procedures and when unknown.
        returns: Option<String>,
        /// The language (`sql`, `plpgsql`, ...), when given.
        language: Option<String>,
        /// A procedure (`CREATE PROCEDURE`), not a function.
        procedure: bool,
    },
    /// A trigger on a table or view.
    Trigger {
        /// The trigger function as written (`app.set_updated_at`).
        function: Option<String>,
    },
    /// A row level security policy.
    Policy {
        /// `all`, `select`, `insert`, `update`, `delete`.
        command: String,
        /// The roles it applies to (its `TO` list), as written.
        roles: Vec<String>,
    },
    /// A sequence.
    Sequence {
        /// Column key of `OWNED BY` (serial/identity columns, `ALTER SEQUENCE .. OWNED BY`).
        owned_by: Option<String>,
    },
    /// A type: enum, composite, range, domain, base or shell.
    Type {
        /// `enum`, `composite`, `range`, `domain`, `base`, `shell`.
        variant: String,
        /// Enum labels in order.
        labels: Vec<String>,
        /// Domain base type or composite attribute `name type`s.
        base: Option<String>,
    },
}

/// One database object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaObject {
    /// Its key (`table:app.users`), as [`crate::ObjectKey`] writes it.
    pub key: String,
    /// Its kind.
    pub kind: ObjectKind,
    /// `None` for schemas, roles and extensions.
    pub schema: Option<String>,
    /// The table (or view) a column, index, trigger or policy belongs to.
    pub table: Option<String>,
    /// Its own name (a column's name, not the table's).
    pub name: String,
    /// The key of that table / view.
    pub parent: Option<String>,
    /// Where it was (last) defined; for a live database, the database.
    pub defined_at: Location,
    /// What else is known about it, by kind.
    pub details: Details,
}

impl SchemaObject {
    /// The key this object's fields say it has.
    fn compute_key(&self) -> String {
        let schema = self.schema.as_deref().unwrap_or_default();
        match (&self.details, self.table.as_deref()) {
            (Details::Function { args, .. }, _) => {
                object::ObjectKey::function(schema, &self.name, Some(args))
            }
            (_, Some(table)) => self.kind.key(&[schema, table, &self.name]),
            _ if self.schema.is_some() => self.kind.key(&[schema, &self.name]),
            _ => self.kind.key(&[&self.name]),
        }
    }

    /// Whether its name lives in `pg_class` (one namespace per schema).
    fn is_relation(&self) -> bool {
        match self.kind.pg_class() {
            PgClass::Yes => true,
            PgClass::IfComposite => {
                matches!(&self.details, Details::Type { variant, .. } if variant == "composite")
            }
            PgClass::No => false,
        }
    }
}

/// Every object of a migration set, by key.
#[derive(Debug, Clone, Default)]
pub struct Universe {
    objects: BTreeMap<String, SchemaObject>,
    /// Index names per schema (PostgreSQL looks indexes up without their table):
    /// (schema, name) -> key, and key -> (schema, name) to undo it.
    index_names: HashMap<(String, String), String>,
    index_slots: HashMap<String, (String, String)>,
    /// Set once any table is a partition: until then nothing needs the partition walk.
    pub(super) any_partitions: bool,
    /// Tables the migrations use but never create, in schemas they never create (a
    /// platform's `auth.users`): triggers and policies on them are kept with these keys
    /// as their parents.
    external: std::collections::BTreeSet<String>,
    /// Functions' bodies (SQL and PL/pgSQL) as read from migrations, for the call graph of
    /// behavioural coverage. Not known for a live database yet.
    bodies: BTreeMap<String, Box<[u8]>>,
    /// Triggers' events (`insert`, `update`, `delete`, `truncate`) as read from
    /// migrations; absent: not known (a live database, yet).
    trigger_events: BTreeMap<String, Vec<String>>,
}

impl Universe {
    /// An empty universe; fill it with [`Universe::apply_sql`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A function's body (SQL or PL/pgSQL) as the migrations wrote it; `None` when not
    /// read.
    pub fn body_of(&self, function_key: &str) -> Option<&[u8]> {
        self.bodies.get(function_key).map(|b| &b[..])
    }

    /// The events a trigger fires on; `None` when not known.
    pub fn trigger_events(&self, trigger_key: &str) -> Option<&[String]> {
        self.trigger_events.get(trigger_key).map(Vec::as_slice)
    }

    pub(crate) fn set_body(&mut self, function_key: String, body: Option<Vec<u8>>) {
        match body {
            Some(b) => {
                self.bodies.insert(function_key, b.into_boxed_slice());
            }
            None => {
                self.bodies.remove(&function_key);
            }
        }
    }

    pub(crate) fn set_trigger_events(&mut self, trigger_key: String, events: Vec<String>) {
        self.trigger_events.insert(trigger_key, events);
    }

    /// Applies one file's statements in order. `search_path` is the path a migration
    /// session starts with (`SET search_path` in the file changes it until the file ends).
    pub fn apply_sql(
        &mut self,
        file: &str,
        src: &[u8],
        search_path: &[String],
    ) -> Vec<SkippedStatement> {
        // A byte-order mark would glue itself to the first statement's first word.
        let src = src.strip_prefix(crate::lexer::BOM).unwrap_or(src);
        ddl::apply(self, file, src, search_path)
    }

    /// The object with this key, if it exists.
    pub fn get(&self, key: &str) -> Option<&SchemaObject> {
        self.objects.get(key)
    }

    /// Keys of the tables objects hang on that the migrations never create (see
    /// `external` above), sorted.
    pub fn external_parents(&self) -> impl Iterator<Item = &str> {
        self.external.iter().map(String::as_str)
    }

    pub(super) fn add_external(&mut self, key: String) {
        self.external.insert(key);
    }

    /// Sorted by key.
    pub fn objects(&self) -> impl Iterator<Item = &SchemaObject> {
        self.objects.values()
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether there are no objects.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.objects.keys().map(String::as_str)
    }

    /// Columns of a table or view, in position order.
    pub fn columns_of(&self, parent_key: &str) -> Vec<&SchemaObject> {
        let mut cols: Vec<&SchemaObject> = self
            .children_of(parent_key, ObjectKind::Column)
            .filter(|o| o.parent.as_deref() == Some(parent_key))
            .collect();
        cols.sort_by_key(|o| match o.details {
            Details::Column { position, .. } => position,
            _ => 0,
        });
        cols
    }

    /// Tables that inherit from `key` or are its partitions, recursively (columns added,
    /// dropped or renamed on a parent change there too).
    fn descendants(&self, key: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut todo = vec![key.to_string()];
        while let Some(k) = todo.pop() {
            for o in self.tables() {
                if let Details::Table {
                    partition_of,
                    inherits,
                    ..
                } = &o.details
                {
                    let child =
                        partition_of.as_deref() == Some(k.as_str()) || inherits.contains(&k);
                    if child && !out.contains(&o.key) && o.key != key {
                        out.push(o.key.clone());
                        todo.push(o.key.clone());
                    }
                }
            }
        }
        out
    }

    /// Objects whose key starts with `prefix` (a key range: no full scan).
    fn with_prefix<'a>(&'a self, prefix: &str) -> impl Iterator<Item = &'a SchemaObject> + 'a {
        let owned = prefix.to_string();
        self.objects
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(owned.as_str()))
            .map(|(_, o)| o)
    }

    /// Children of one kind of a table/view key (`column:s.t.*` for `table:s.t`).
    fn children_of<'a>(
        &'a self,
        parent_key: &str,
        kind: ObjectKind,
    ) -> impl Iterator<Item = &'a SchemaObject> + 'a {
        let prefix = match parent_key.split_once(':') {
            Some((_, rest)) => format!("{kind}:{rest}."),
            None => format!("{kind}:\u{0}"),
        };
        self.with_prefix(&prefix)
    }

    // ---- mutation helpers for the reader ------------------------------------------------

    fn insert(&mut self, obj: SchemaObject) {
        self.put(obj);
    }

    /// The one way objects enter the map (keeps the index-name lookup in step).
    fn put(&mut self, obj: SchemaObject) {
        if obj.kind == ObjectKind::Index {
            let slot = (obj.schema.clone().unwrap_or_default(), obj.name.clone());
            self.index_names.insert(slot.clone(), obj.key.clone());
            self.index_slots.insert(obj.key.clone(), slot);
        }
        self.objects.insert(obj.key.clone(), obj);
    }

    /// The one way objects leave the map.
    fn take(&mut self, key: &str) -> Option<SchemaObject> {
        let obj = self.objects.remove(key)?;
        if let Some(slot) = self.index_slots.remove(key) {
            if self.index_names.get(&slot).map(String::as_str) == Some(key) {
                self.index_names.remove(&slot);
            }
        }
        Some(obj)
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut SchemaObject> {
        self.objects.get_mut(key)
    }

    fn contains(&self, key: &str) -> bool {
        self.objects.contains_key(key)
    }

    /// Whether `name` is taken in `schema`'s relation namespace (tables, indexes, views,
    /// sequences, composite types), as PostgreSQL's `ChooseRelationName` checks.
    fn relation_name_taken(&self, schema: &str, name: &str) -> bool {
        let direct = ObjectKind::ALL
            .iter()
            .filter(|k| k.answers_to_relation_key())
            .filter_map(|k| self.objects.get(&k.key(&[schema, name])))
            .any(SchemaObject::is_relation);
        direct || self.find_index(schema, name).is_some()
    }

    /// Finds an index by schema and name (index names are unique per schema).
    fn find_index(&self, schema: &str, name: &str) -> Option<String> {
        self.index_names
            .get(&(schema.to_string(), name.to_string()))
            .cloned()
    }

    /// Tables and foreign tables (for partition and inheritance walks).
    fn tables(&self) -> impl Iterator<Item = &SchemaObject> {
        self.with_prefix("table:")
            .chain(self.with_prefix("foreign_table:"))
    }

    /// Removes an object and everything that hangs off it (columns, indexes, triggers,
    /// policies of a table; sequences owned by its columns).
    fn remove_cascade(&mut self, key: &str) {
        let Some(obj) = self.take(key) else {
            return;
        };
        let children: Vec<String> = obj
            .kind
            .children()
            .flat_map(|k| self.children_of(key, k))
            .filter(|o| o.parent.as_deref() == Some(key))
            .map(|o| o.key.clone())
            .collect();
        let mut gone = vec![obj.key.clone()];
        for c in children {
            self.take(&c);
            gone.push(c);
        }
        // Sequences owned by a removed column (or table) go with it.
        let owned: Vec<String> = self
            .with_prefix("sequence:")
            .filter(|o| {
                matches!(&o.details, Details::Sequence { owned_by: Some(col) } if gone.contains(col))
            })
            .map(|o| o.key.clone())
            .collect();
        for s in owned {
            self.take(&s);
        }
    }

    /// Re-keys objects after their fields changed (rename, set schema): `changed` are the
    /// keys whose objects were modified in place. Children follow their parent, and
    /// cross-references (sequence ownership, partition parents) follow too.
    fn rekey(&mut self, changed: &[String]) {
        let mut renames: Vec<(String, String)> = Vec::new();
        for old in changed {
            if let Some(mut obj) = self.take(old) {
                obj.key = obj.compute_key();
                renames.push((old.clone(), obj.key.clone()));
                self.put(obj);
            }
        }
        // Children of a re-keyed relation.
        let mut child_changes: Vec<String> = Vec::new();
        for (old, new) in &renames {
            if old == new {
                continue;
            }
            let (schema, name) = match self.objects.get(new) {
                Some(o) => (o.schema.clone(), o.name.clone()),
                None => continue,
            };
            for o in self.objects.values_mut() {
                if o.parent.as_deref() == Some(old.as_str()) {
                    o.parent = Some(new.clone());
                    o.schema = schema.clone();
                    o.table = Some(name.clone());
                    child_changes.push(o.key.clone());
                }
            }
        }
        if !child_changes.is_empty() {
            for old in &child_changes {
                if let Some(mut obj) = self.take(old) {
                    obj.key = obj.compute_key();
                    renames.push((old.clone(), obj.key.clone()));
                    self.put(obj);
                }
            }
        }
        let renames: Vec<(String, String)> = renames.into_iter().filter(|(a, b)| a != b).collect();
        if renames.is_empty() {
            return;
        }
        let lookup: HashMap<&str, &str> = renames
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        for o in self.objects.values_mut() {
            match &mut o.details {
                Details::Sequence {
                    owned_by: Some(col),
                } => {
                    if let Some(new) = lookup.get(col.as_str()) {
                        *col = (*new).to_string();
                    }
                }
                Details::Table {
                    partition_of,
                    inherits,
                    ..
                } => {
                    for p in partition_of.iter_mut().chain(inherits.iter_mut()) {
                        if let Some(new) = lookup.get(p.as_str()) {
                            *p = (*new).to_string();
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// A migration file or folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    // Not a `source`: the message already says it, and anyhow would print it again.
    /// A file or folder given could not be read.
    #[error("{}: cannot read: {}", path.display(), io_message(error))]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// Why not.
        error: std::io::Error,
    },
    /// A folder with no `.sql` file in it: a typo'd or wrong folder, not an empty schema.
    #[error("{}: no .sql file in this folder: nothing to measure coverage against", path.display())]
    NoFiles {
        /// The folder.
        path: PathBuf,
    },
    /// Files were read but define no object (seed data, only DML, or unread statements).
    #[error("{}: {files} file(s) read, but they define no object: nothing to measure coverage against", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoObjects {
        /// The files and folders given.
        paths: Vec<PathBuf>,
        /// How many `.sql` files were read from them.
        files: usize,
    },
}

/// `No such file or directory (os error 2)` -> `no such file or directory`.
fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Reads migration files and folders (`.sql`, recursively) and applies them: each folder's
/// files sorted by path, the arguments in the order given. A file named explicitly is read
/// whatever its extension.
pub fn load_migrations(
    paths: &[PathBuf],
    search_path: &[String],
) -> Result<(Universe, Vec<SkippedStatement>), LoadError> {
    load_migrations_over(Universe::new(), paths, search_path)
}

/// [`load_migrations`] over a universe that holds objects already (a platform's own, which
/// the migrations use but never create); migrations that define nothing beyond them are
/// still [`LoadError::NoObjects`].
pub fn load_migrations_over(
    mut universe: Universe,
    paths: &[PathBuf],
    search_path: &[String],
) -> Result<(Universe, Vec<SkippedStatement>), LoadError> {
    let before = universe.len();
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|error| LoadError::Read {
            path: p.clone(),
            error,
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_sql(p, &mut found)?;
            if found.is_empty() {
                return Err(LoadError::NoFiles { path: p.clone() });
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    let mut skipped = Vec::new();
    let count = files.len();
    for f in files {
        let src = std::fs::read(&f).map_err(|error| LoadError::Read {
            path: f.clone(),
            error,
        })?;
        skipped.extend(universe.apply_sql(&f.display().to_string(), &src, search_path));
    }
    if universe.len() == before {
        return Err(LoadError::NoObjects {
            paths: paths.to_vec(),
            files: count,
        });
    }
    Ok((universe, skipped))
}

fn collect_sql(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let err = |error| LoadError::Read {
        path: dir.to_path_buf(),
        error,
    };
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let path = entry.path();
        let ft = entry.file_type().map_err(err)?;
        if ft.is_dir() {
            collect_sql(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("sql"))
            && (ft.is_file() || path.is_file())
        {
            out.push(path);
        }
    }
    Ok(())
}
