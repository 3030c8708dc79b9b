//! The behavioural database: every reference of the suite folded by what it names (as
//! written: schema, name, relation, arity) and how it is used (command, role, expected
//! outcome, asserted or exercised), with a count and the first few locations of each use.
//!
//! It knows nothing of the universe; [`super::resolve`] holds it against one. Folding is
//! associative and deterministic: locations are kept by (file, line), never by arrival,
//! so the same suite gives the same database whatever order files arrive in.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{Attribution, Command, FileResult, Outcome, RefKind, Reference};

/// Locations kept per use (the smallest by file and line).
pub const USE_LOCATIONS: usize = 4;

/// Folded references not yet ordered: looked up by borrowed names (see [`TargetRef`]),
/// so a target or use already seen costs no allocation.
type Pending = hashbrown::HashMap<
    Target,
    hashbrown::HashMap<Use, Uses, ahash::RandomState>,
    ahash::RandomState,
>;

/// A [`Target`] borrowed from a [`Reference`]: hashes as the `Target` it stands for (the
/// same fields in the same order; `&str` and `Box<str>` hash alike).
#[derive(Hash)]
struct TargetRef<'a> {
    kind: RefKind,
    schema: Option<&'a str>,
    name: &'a str,
    relation: Option<&'a str>,
    arity: Option<u32>,
}

impl hashbrown::Equivalent<Target> for TargetRef<'_> {
    fn equivalent(&self, t: &Target) -> bool {
        self.kind == t.kind
            && self.name == &*t.name
            && self.schema == t.schema.as_deref()
            && self.relation == t.relation.as_deref()
            && self.arity == t.arity
    }
}

impl From<&TargetRef<'_>> for Target {
    fn from(t: &TargetRef<'_>) -> Target {
        Target {
            kind: t.kind,
            schema: t.schema.map(Into::into),
            name: t.name.into(),
            relation: t.relation.map(Into::into),
            arity: t.arity,
        }
    }
}

/// A [`Use`] borrowed from a [`Reference`], hashing as the `Use` it stands for.
#[derive(Hash)]
struct UseRef<'a> {
    command: Option<Command>,
    role: Option<&'a str>,
    outcome: Outcome,
    asserted: bool,
}

impl hashbrown::Equivalent<Use> for UseRef<'_> {
    fn equivalent(&self, u: &Use) -> bool {
        self.command == u.command
            && self.outcome == u.outcome
            && self.asserted == u.asserted
            && self.role == u.role.as_deref()
    }
}

impl From<&UseRef<'_>> for Use {
    fn from(u: &UseRef<'_>) -> Use {
        Use {
            command: u.command,
            role: u.role.map(Into::into),
            outcome: u.outcome,
            asserted: u.asserted,
        }
    }
}

/// What a reference names, as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// What it names.
    pub kind: RefKind,
    /// The schema as written; `None` when unqualified.
    pub schema: Option<Box<str>>,
    /// The name, folded as PostgreSQL folds it.
    pub name: Box<str>,
    /// Columns: their relation as written (`app.users`), when known.
    pub relation: Option<Box<str>>,
    /// Functions: the number of arguments of the call.
    pub arity: Option<u32>,
}

/// How a target is used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Use {
    /// The command (relations, columns); `None` for calls, sequences and types.
    pub command: Option<Command>,
    /// The role in effect; `None` when the test never switched (the connecting user).
    pub role: Option<Box<str>>,
    /// What the serving assertion expects of it; a statement that just runs is `allowed`.
    pub outcome: Outcome,
    /// Inside an assertion's arguments (or the SQL text it runs), rather than in the
    /// statements before it.
    pub asserted: bool,
}

/// A place in a test file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    /// The test file, as reports show paths.
    pub file: Arc<str>,
    /// 1-based.
    pub line: u32,
}

/// How often a use occurs and where (the first [`USE_LOCATIONS`] by file and line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses {
    /// How many references.
    pub count: u64,
    /// The first [`USE_LOCATIONS`] by file and line.
    pub locations: Vec<Place>,
}

impl Uses {
    fn add(&mut self, place: Place) {
        self.count += 1;
        keep_first(&mut self.locations, place);
    }

    /// Merges another fold of the same use (associative: counts add, the smallest
    /// locations stay).
    pub fn merge(&mut self, other: &Uses) {
        self.count += other.count;
        for p in &other.locations {
            keep_first(&mut self.locations, p.clone());
        }
    }
}

/// Counts one use of a target (allocating only for a use not seen before).
fn add_use(
    uses: &mut hashbrown::HashMap<Use, Uses, ahash::RandomState>,
    u: &UseRef<'_>,
    place: Place,
) {
    match uses.get_mut(u) {
        Some(n) => n.add(place),
        None => {
            let mut n = Uses::default();
            n.add(place);
            uses.insert(Use::from(u), n);
        }
    }
}

fn keep_first(v: &mut Vec<Place>, p: Place) {
    match v.binary_search(&p) {
        Ok(_) => {}
        Err(i) if i < USE_LOCATIONS => {
            v.insert(i, p);
            v.truncate(USE_LOCATIONS);
        }
        Err(_) => {}
    }
}

/// The folded references of a suite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Database {
    /// Every target with its uses, in order: complete once [`settle`](Self::settle)d.
    pub targets: BTreeMap<Target, BTreeMap<Use, Uses>>,
    /// Folded since the last [`settle`](Self::settle): hashed, as a B-tree search by
    /// target and use cost more than all the rest of folding a reference (folding is
    /// associative, so moving them into `targets` later gives the same database).
    pending: Pending,
    /// References folded (each reference once).
    pub references: u64,
    /// SQL strings given to pgTAP functions that did not lex as SQL.
    pub sql_strings_unreadable: u64,
    /// Whether references were read at all (`--references`): without them, behavioural
    /// coverage is not known (rather than zero).
    pub read: bool,
    /// The search path unqualified names are resolved through.
    pub search_path: Vec<String>,
    /// What the test files create for themselves (temporary tables, helper functions):
    /// references to them are no gap in the universe.
    pub created: std::collections::BTreeSet<crate::model::Created>,
}

impl Database {
    /// Whether a target names something the tests create (a temporary table, its columns,
    /// a helper function): same name, and the same schema unless either is unqualified.
    pub fn created_by_tests(&self, t: &Target) -> bool {
        use crate::model::RefKind;
        let (kind, schema, name) = match (t.kind, t.relation.as_deref()) {
            (RefKind::Column, Some(rel)) => {
                let (s, n) = match rel.rsplit_once('.') {
                    Some((s, n)) => (Some(s), n),
                    None => (None, rel),
                };
                (RefKind::Relation, s, n)
            }
            (RefKind::Column, None) => return false,
            (k, _) => (k, t.schema.as_deref(), &*t.name),
        };
        self.created.iter().any(|c| {
            c.kind == kind
                && c.name == name
                && match (c.schema.as_deref(), schema) {
                    (Some(a), Some(b)) => a == b || b == "pg_temp",
                    _ => true,
                }
        })
    }

    /// Folds one file's references.
    pub fn add_file(&mut self, path: &str, result: &FileResult) {
        self.created.extend(result.created.iter().cloned());
        self.references += result.references_counted;
        if result.references.is_empty() {
            self.sql_strings_unreadable += result.sql_strings_unreadable;
            return;
        }
        let file: Arc<str> = path.into();
        for r in &result.references {
            self.add(&file, r);
        }
        self.sql_strings_unreadable += result.sql_strings_unreadable;
    }

    fn add(&mut self, file: &Arc<str>, r: &Reference) {
        self.references += 1;
        let target = TargetRef {
            kind: r.kind,
            schema: r.schema.as_deref(),
            name: &r.name,
            relation: r.relation.as_deref(),
            arity: r.arity,
        };
        let u = UseRef {
            command: r.command,
            role: r.role.as_deref(),
            // Exercised references carry an expectation only when the check after them
            // tells what became of their command; otherwise they ran, and were allowed to.
            outcome: r.expected.unwrap_or(Outcome::Allowed),
            asserted: r.attribution == Some(Attribution::Asserted),
        };
        let place = Place {
            file: file.clone(),
            line: r.line,
        };
        match self.pending.get_mut(&target) {
            Some(uses) => add_use(uses, &u, place),
            None => {
                let mut uses = hashbrown::HashMap::default();
                add_use(&mut uses, &u, place);
                self.pending.insert(Target::from(&target), uses);
            }
        }
    }

    /// Moves what was folded since the last call into [`targets`](Self::targets): call
    /// it once every file is added, before reading them.
    pub fn settle(&mut self) {
        if self.targets.is_empty() {
            // The usual case, settled once at the end: built in bulk.
            self.targets = self
                .pending
                .drain()
                .map(|(t, uses)| (t, uses.into_iter().collect()))
                .collect();
            return;
        }
        for (t, uses) in self.pending.drain() {
            let mine = self.targets.entry(t).or_default();
            for (u, n) in uses {
                match mine.entry(u) {
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(n);
                    }
                    std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().merge(&n),
                }
            }
        }
    }

    /// Folds another database (of other files) in, as [`add_file`](Self::add_file)
    /// would have folded its files: into the hashed pending part, so that folding many
    /// partial databases costs no B-tree work until [`settle`](Self::settle).
    pub fn absorb(&mut self, other: Database) {
        self.references += other.references;
        self.sql_strings_unreadable += other.sql_strings_unreadable;
        self.read |= other.read;
        self.created.extend(other.created);
        let theirs = other
            .pending
            .into_iter()
            .map(|(t, uses)| (t, uses.into_iter().collect::<Vec<_>>()))
            .chain(
                other
                    .targets
                    .into_iter()
                    .map(|(t, uses)| (t, uses.into_iter().collect())),
            );
        for (t, uses) in theirs {
            let mine = self.pending.entry(t).or_default();
            for (u, n) in uses {
                match mine.entry(u) {
                    hashbrown::hash_map::Entry::Vacant(v) => {
                        v.insert(n);
                    }
                    hashbrown::hash_map::Entry::Occupied(mut o) => o.get_mut().merge(&n),
                }
            }
        }
    }

    /// Merges another database (of other files) into this one: [`absorb`](Self::absorb)
    /// of a copy (complete once [`settle`](Self::settle)d, `created` included).
    pub fn merge(&mut self, other: &Database) {
        self.absorb(other.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(file: &str, line: u32) -> Place {
        Place {
            file: file.into(),
            line,
        }
    }

    #[test]
    fn uses_keep_the_first_locations_by_file_and_line_whatever_the_order() {
        let places: Vec<Place> = (0..10)
            .map(|i| place(["b.sql", "a.sql"][i % 2], (i * 7 % 10) as u32))
            .collect();
        let mut fwd = Uses::default();
        places.iter().cloned().for_each(|p| fwd.add(p));
        let mut rev = Uses::default();
        places.iter().rev().cloned().for_each(|p| rev.add(p));
        // Two halves merged give the same as one fold.
        let (mut left, mut right) = (Uses::default(), Uses::default());
        places[..5].iter().cloned().for_each(|p| left.add(p));
        places[5..].iter().cloned().for_each(|p| right.add(p));
        right.merge(&left);
        assert_eq!(fwd, rev);
        assert_eq!(fwd, right);
        assert_eq!(fwd.count, 10);
        assert_eq!(fwd.locations.len(), USE_LOCATIONS);
        assert!(fwd.locations.iter().all(|p| &*p.file == "a.sql"));
    }
}

#[cfg(test)]
mod absorb_tests {
    use super::*;

    // The parse workers' partial databases are absorbed by the aggregator's: the result
    // must be the one database fed every file gives, whichever files each partial got,
    // with what the tests create kept too.
    #[test]
    fn absorbed_partials_give_the_database_one_fold_gives() {
        let ex = crate::extract::Extractor::new(crate::config::ExtractOptions {
            references: true,
            ..crate::config::ExtractOptions::default()
        });
        let files: Vec<(String, FileResult)> = (0..60)
            .map(|i| {
                let src = format!(
                    "CREATE TEMP TABLE scratch{}(a int);\nSET ROLE authenticated;\n\
                     SELECT throws_ok($$ insert into app.t{} (c) values (1) $$, '42501');\n\
                     RESET ROLE;\nSELECT is((select count(*) from app.shared where c = {i}), 1::bigint);\n\
                     SELECT app.fn{}(1);\n",
                    i % 4,
                    i % 3,
                    i % 5
                );
                (format!("t/f{i:02}.sql"), ex.extract(src.as_bytes()))
            })
            .collect();
        let mut one = Database::default();
        for (path, result) in &files {
            one.add_file(path, result);
        }
        one.settle();
        assert!(one.references > 100, "{}", one.references);
        assert!(!one.created.is_empty());
        for parts in [1, 2, 7] {
            let mut partials: Vec<Database> = (0..parts).map(|_| Database::default()).collect();
            for (i, (path, result)) in files.iter().enumerate() {
                partials[i * 5 % parts].add_file(path, result);
            }
            // One partial settled already, the rest not: both parts are absorbed.
            partials[0].settle();
            // `merge` (by reference) too: before, it dropped what the tests create.
            let mut merged = Database::default();
            for p in &partials {
                merged.merge(p);
            }
            merged.settle();
            assert_eq!(merged, one, "{parts} partials merged");
            let mut got = Database::default();
            for p in partials.into_iter().rev() {
                got.absorb(p);
            }
            got.settle();
            assert_eq!(got, one, "{parts} partials");
        }
    }
}
