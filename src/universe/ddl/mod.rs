//! The DDL reader: one statement at a time, applied to a [`Universe`].
//!
//! Each handler reads the head of its statement (names, columns, constraints, signatures)
//! and skips expressions and bodies by balanced parentheses. A handler that cannot read
//! its statement returns an error string; the statement becomes a [`SkippedStatement`].
//!
//! This file owns the [`Reader`] (the universe being built, the file, the search path in
//! effect) and the dispatch from a statement's first words to its handler. The handlers
//! are methods of the same `Reader`, one file per statement family:
//! - [`resolve`]: which object a name means (search path, kinds), where new ones go;
//! - [`session`]: `SET search_path`, `set_config(..)`, `DO` blocks;
//! - [`table`]: `CREATE TABLE` with columns and constraints; [`alter_table`]: `ALTER
//!   TABLE`, one action at a time;
//! - [`index`], [`view`], [`function`], [`sequence`], [`type_`] (types and domains),
//!   [`trigger_policy`] (objects named per table), [`database`] (schemas, extensions,
//!   roles): `CREATE` and `ALTER` of each;
//! - [`drop`]: `DROP` of every kind, with what it cascades to;
//! - [`clause`]: clause readers several families share (no `Reader` state).
//!
//! The families import only this file and [`clause`], never each other: what they share
//! (the [`Reader`], [`TableCtx`], [`PendingIndex`]) is here. They do call each other's
//! methods on the one `Reader` (a table's constraints make indexes, a serial column makes a
//! sequence).

mod alter_table;
mod clause;
mod database;
mod drop;
mod function;
mod index;
mod resolve;
mod sequence;
mod session;
mod table;
mod trigger_policy;
mod type_;
mod view;

use super::split::{self, lossy, Cursor, QName};
use super::{Details, Location, SchemaObject, SkippedStatement, Universe};
use crate::lexer::{tokenize, Token, TokenKind};
use crate::object::{self, ObjectKind};

type R = Result<(), String>;

/// Relation kinds a table-like name can refer to.
const TABLE_LIKE: &[&str] = &["table", "foreign_table", "view", "materialized_view"];

/// Applies one file's SQL to `u`, starting from `search_path`; returns the statements
/// not (fully) read.
pub fn apply(
    u: &mut Universe,
    file: &str,
    src: &[u8],
    search_path: &[String],
) -> Vec<SkippedStatement> {
    let lexed = tokenize(src);
    let mut r = Reader {
        u,
        file,
        src,
        path: search_path.to_vec(),
        base_path: search_path.to_vec(),
        skipped: Vec::new(),
        in_copy: false,
    };
    for d in &lexed.diagnostics {
        r.skipped.push(SkippedStatement {
            file: file.to_string(),
            line: d.line,
            reason: format!("lexical error: {}", d.message),
        });
    }
    let toks: Vec<Token> = lexed
        .tokens
        .into_iter()
        .filter(|t| !matches!(t.kind, TokenKind::LineComment | TokenKind::BlockComment))
        .collect();
    for stmt in split::statements(src, &toks) {
        r.statement(stmt);
    }
    r.skipped
}

/// The state of one file's reading; each statement family adds its methods in its own
/// file.
struct Reader<'u, 's> {
    u: &'u mut Universe,
    file: &'s str,
    src: &'s [u8],
    /// The current search path (`SET search_path` changes it).
    path: Vec<String>,
    /// The path the file started with: the session that reads the keys later.
    base_path: Vec<String>,
    skipped: Vec<SkippedStatement>,
    /// Between `COPY ... FROM stdin` and `\.`.
    in_copy: bool,
}

/// Per-statement state while a table is being created or altered.
struct TableCtx {
    key: String,
    schema: String,
    name: String,
    pending: Vec<PendingIndex>,
    /// Plain (non-constraint) indexes copied by LIKE ... INCLUDING INDEXES: (cols, unique, line).
    plain: Vec<(Vec<String>, bool, u32)>,
    /// `ALTER TABLE ONLY`: column changes stay off partitions and children.
    only: bool,
}

/// What a constraint asks for in the way of an index.
#[derive(Debug, Clone)]
struct PendingIndex {
    name: Option<String>,
    cols: Vec<String>,
    primary: bool,
    exclusion: bool,
    line: u32,
}

impl Reader<'_, '_> {
    fn statement(&mut self, toks: &[Token]) {
        let Some(first) = toks.first() else { return };
        if first.kind == TokenKind::PsqlMeta {
            if self.in_copy && first.text(self.src).starts_with(b"\\.") {
                self.in_copy = false;
            }
            return;
        }
        if self.in_copy {
            return;
        }
        let line = first.line;
        if let Err(reason) = self.dispatch(toks) {
            self.skip(line, reason);
        }
    }

    fn skip(&mut self, line: u32, reason: String) {
        self.skipped.push(SkippedStatement {
            file: self.file.to_string(),
            line,
            reason,
        });
    }

    fn loc(&self, line: u32) -> Location {
        Location {
            file: self.file.to_string(),
            line,
        }
    }

    fn dispatch(&mut self, toks: &[Token]) -> R {
        let mut c = Cursor::new(self.src, toks);
        let first = &toks[0];
        if !matches!(first.kind, TokenKind::Ident) {
            if first.kind == TokenKind::LParen {
                // `(SELECT ...)`, `(VALUES ...)`
                return Ok(());
            }
            return Err(format!(
                "unrecognised statement starting with `{}`",
                lossy(first.text(self.src))
            ));
        }
        let word = lossy(first.text(self.src)).to_ascii_lowercase();
        c.i = 1;
        match word.as_str() {
            "create" => self.create(&mut c),
            "alter" => self.alter(&mut c),
            "drop" => self.drop(&mut c),
            "set" => {
                self.set(&mut c);
                Ok(())
            }
            "reset" => {
                if c.eat("search_path") || c.eat("all") {
                    self.path = self.base_path.clone();
                }
                Ok(())
            }
            "select" => {
                self.set_config(toks);
                Ok(())
            }
            "do" => self.do_block(&mut c),
            "copy" => {
                let from_stdin = toks.windows(2).any(|w| {
                    w[0].is_keyword(self.src, "from") && w[1].is_keyword(self.src, "stdin")
                });
                if from_stdin {
                    self.in_copy = true;
                }
                Ok(())
            }
            "import" => {
                Err("IMPORT FOREIGN SCHEMA: the foreign tables it creates are unknown".into())
            }
            "insert" | "update" | "delete" | "merge" | "with" | "values" | "table" | "begin"
            | "start" | "commit" | "end" | "rollback" | "abort" | "savepoint" | "release"
            | "prepare" | "execute" | "deallocate" | "show" | "analyze" | "analyse" | "vacuum"
            | "refresh" | "truncate" | "lock" | "notify" | "listen" | "unlisten" | "discard"
            | "call" | "explain" | "declare" | "fetch" | "close" | "move" | "checkpoint"
            | "reindex" | "cluster" | "load" | "grant" | "revoke" | "comment" | "security"
            | "reassign" => Ok(()),
            _ => Err(format!("unrecognised statement `{word}`")),
        }
    }

    fn create(&mut self, c: &mut Cursor) -> R {
        c.eat_seq(&["or", "replace"]);
        let mut temp = false;
        loop {
            if c.eat("temp") || c.eat("temporary") {
                temp = true;
            } else if c.eat("unlogged") || c.eat("global") || c.eat("local") {
            } else {
                break;
            }
        }
        if temp {
            // Session objects: never part of the schema.
            return Ok(());
        }
        if c.eat("schema") {
            return self.create_schema(c);
        }
        if c.eat("table") {
            return self.create_table(c, ObjectKind::Table);
        }
        if c.eat_seq(&["foreign", "table"]) {
            return self.create_table(c, ObjectKind::ForeignTable);
        }
        if c.is("unique") || c.is("index") {
            let unique = c.eat("unique");
            c.eat("index");
            return self.create_index(c, unique);
        }
        if c.eat("view") {
            return self.create_view(c, ObjectKind::View);
        }
        if c.eat_seq(&["recursive", "view"]) {
            return self.create_view(c, ObjectKind::View);
        }
        if c.eat_seq(&["materialized", "view"]) {
            return self.create_view(c, ObjectKind::MaterializedView);
        }
        if c.eat("function") {
            return self.create_function(c, false);
        }
        if c.eat("procedure") {
            return self.create_function(c, true);
        }
        if c.eat("trigger") || c.eat_seq(&["constraint", "trigger"]) {
            return self.create_trigger(c);
        }
        if c.eat("policy") {
            return self.create_policy(c);
        }
        if c.eat("sequence") {
            return self.create_sequence(c);
        }
        if c.eat("type") {
            return self.create_type(c);
        }
        if c.eat("domain") {
            return self.create_domain(c);
        }
        if c.eat("extension") {
            return self.create_extension(c);
        }
        if c.eat("role") || c.eat("user") || c.eat("group") {
            if c.is("mapping") {
                return Ok(());
            }
            return self.create_role(c);
        }
        // Understood, but not objects with a key kind.
        const OTHERS: &[&str] = &[
            "aggregate",
            "rule",
            "operator",
            "cast",
            "collation",
            "conversion",
            "text",
            "event",
            "server",
            "foreign",
            "publication",
            "subscription",
            "language",
            "trusted",
            "procedural",
            "access",
            "statistics",
            "transform",
            "tablespace",
            "database",
            "default",
        ];
        if OTHERS.iter().any(|k| c.is(k)) {
            return Ok(());
        }
        Err(format!(
            "unrecognised CREATE {}",
            c.peek()
                .map(|t| lossy(t.text(self.src)))
                .unwrap_or_default()
        ))
    }

    fn alter(&mut self, c: &mut Cursor) -> R {
        if c.eat("table") {
            return self.alter_table(
                c,
                &[
                    "table",
                    "foreign_table",
                    "view",
                    "materialized_view",
                    "sequence",
                ],
            );
        }
        if c.eat_seq(&["foreign", "table"]) {
            return self.alter_table(c, &["foreign_table"]);
        }
        if c.eat("view") {
            return self.alter_table(c, &["view"]);
        }
        if c.eat_seq(&["materialized", "view"]) {
            return self.alter_table(c, &["materialized_view"]);
        }
        if c.eat("sequence") {
            return self.alter_sequence(c);
        }
        if c.eat("index") {
            return self.alter_index(c);
        }
        if c.eat("function") || c.eat("procedure") || c.eat("routine") {
            return self.alter_function(c);
        }
        if c.eat("type") || c.eat("domain") {
            return self.alter_type(c);
        }
        if c.eat("trigger") || c.eat("policy") {
            let kind = if c.toks[c.i - 1].is_keyword(self.src, "trigger") {
                "trigger"
            } else {
                "policy"
            };
            return self.alter_child(c, kind);
        }
        if c.eat("schema") {
            return self.alter_schema(c);
        }
        if c.eat("role") || c.eat("user") || c.eat("group") {
            return self.alter_role(c);
        }
        // ALTER EXTENSION, DEFAULT PRIVILEGES, DATABASE, SYSTEM, AGGREGATE, ...: nothing
        // with a key changes.
        Ok(())
    }

    fn new_object(
        &self,
        kind: ObjectKind,
        schema: Option<String>,
        table: Option<(String, String)>,
        name: String,
        line: u32,
        details: Details,
    ) -> SchemaObject {
        let (parent, table) = match table {
            Some((pkey, tname)) => (Some(pkey), Some(tname)),
            None => (None, None),
        };
        let mut o = SchemaObject {
            key: String::new(),
            kind,
            schema,
            table,
            name,
            parent,
            defined_at: self.loc(line),
            details,
        };
        o.key = o.compute_key();
        o
    }

    /// Renames an object in place; children and references follow.
    fn rename_object(&mut self, key: &str, new: String, line: u32) -> R {
        let loc = self.loc(line);
        let o = self
            .u
            .get_mut(key)
            .ok_or_else(|| format!("unknown object {key}"))?;
        o.name = new;
        o.defined_at = loc;
        self.u.rekey(&[key.to_string()]);
        Ok(())
    }

    /// Moves a relation (and its owned sequences) to another schema.
    fn set_schema(&mut self, key: &str, schema: String) -> R {
        let mut changed = vec![key.to_string()];
        let col_prefix_parent = key.to_string();
        let owned: Vec<String> = self
            .u
            .objects()
            .filter(|o| {
                matches!(&o.details, Details::Sequence { owned_by: Some(col) }
                    if self.u.get(col).and_then(|c| c.parent.as_deref()) == Some(col_prefix_parent.as_str()))
            })
            .map(|o| o.key.clone())
            .collect();
        changed.extend(owned);
        for k in &changed {
            if let Some(o) = self.u.get_mut(k) {
                o.schema = Some(schema.clone());
            }
        }
        self.u.rekey(&changed);
        Ok(())
    }
}

fn show(q: &QName) -> String {
    match &q.schema {
        Some(s) => format!("{}.{}", object::quote_part(s), object::quote_part(&q.name)),
        None => object::quote_part(&q.name).into_owned(),
    }
}
