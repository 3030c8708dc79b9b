//! The DDL reader: one statement at a time, applied to a [`Universe`].
//!
//! Each handler reads the head of its statement (names, columns, constraints, signatures)
//! and skips expressions and bodies by balanced parentheses. A handler that cannot read
//! its statement returns an error string; the statement becomes a [`SkippedStatement`].

use super::naming::{
    choose_relation_name, figure_colname, index_name_addition, truncate_ident, type_text,
};
use super::split::{self, lossy, matching, split_commas, text_of, Cursor, QName};
use super::{Details, Location, SchemaObject, SkippedStatement, Universe};
use crate::lexer::{tokenize, tokenize_range, Token, TokenKind};
use crate::object::{self, ObjectKind};

type R = Result<(), String>;

/// Relation kinds a table-like name can refer to.
const TABLE_LIKE: &[&str] = &["table", "foreign_table", "view", "materialized_view"];

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

/// What a constraint asks for in the way of an index.
#[derive(Debug, Clone)]
struct PendingIndex {
    name: Option<String>,
    cols: Vec<String>,
    primary: bool,
    exclusion: bool,
    line: u32,
}

impl<'u, 's> Reader<'u, 's> {
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

    // ---- names -----------------------------------------------------------------------

    /// The schema new objects go to: the first of the search path.
    fn creation_schema(&self) -> String {
        self.path
            .iter()
            .find(|s| s.as_str() != "$user" && s.as_str() != "pg_temp")
            .cloned()
            .unwrap_or_else(|| "public".to_string())
    }

    fn schema_for(&self, q: &QName) -> String {
        q.schema.clone().unwrap_or_else(|| self.creation_schema())
    }

    fn lookup_schemas(&self, q: &QName) -> Vec<String> {
        match &q.schema {
            Some(s) => vec![s.clone()],
            None => {
                let mut v: Vec<String> = self
                    .path
                    .iter()
                    .filter(|s| s.as_str() != "$user")
                    .cloned()
                    .collect();
                if v.is_empty() {
                    v.push("public".into());
                }
                v
            }
        }
    }

    /// An existing schema-level object of one of `kinds`, through the search path.
    fn find(&self, q: &QName, kinds: &[&str]) -> Option<String> {
        for s in self.lookup_schemas(q) {
            for k in kinds {
                let key = object::key(k, &[&s, &q.name]);
                if self.u.contains(&key) {
                    return Some(key);
                }
            }
        }
        None
    }

    /// A relation of `kinds` with its schema and name; or, when its schema is one the
    /// migrations never create (a platform's `auth.users`, `storage.objects`), that table
    /// recorded as external, so a trigger or policy on it is kept instead of dropped.
    fn find_rel_or_external(
        &mut self,
        q: &QName,
        kinds: &[&str],
    ) -> Result<(String, String, String), String> {
        if let Some(key) = self.find(q, kinds) {
            let (schema, name) = self.parent_names(&key);
            return Ok((key, schema, name));
        }
        match &q.schema {
            // Schemas every database has, and those on the search path, are not a
            // platform's: `public.typo` is still an unknown relation.
            Some(s)
                if !self.u.contains(&object::key("schema", &[s]))
                    && !matches!(s.as_str(), "public" | "pg_catalog" | "information_schema")
                    && !self.path.iter().any(|p| p == s) =>
            {
                let key = object::key("table", &[s, &q.name]);
                self.u.add_external(key.clone());
                Ok((key, s.clone(), q.name.clone()))
            }
            _ => Err(format!("unknown relation {}", show(q))),
        }
    }

    fn find_rel(&self, q: &QName, kinds: &[&str]) -> Result<String, String> {
        self.find(q, kinds)
            .ok_or_else(|| format!("unknown relation {}", show(q)))
    }

    fn find_index(&self, q: &QName) -> Option<String> {
        self.lookup_schemas(q)
            .iter()
            .find_map(|s| self.u.find_index(s, &q.name))
    }

    fn functions_named(&self, q: &QName) -> Vec<String> {
        for s in self.lookup_schemas(q) {
            let prefix = format!("{}(", object::key("function", &[&s, &q.name]));
            let found: Vec<String> = self
                .u
                .with_prefix(&prefix)
                .filter(|o| o.name == q.name && o.schema.as_deref() == Some(&s))
                .map(|o| o.key.clone())
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// A function by name and (optional) signature.
    fn find_functions(&self, q: &QName, args: Option<&[Token]>) -> Vec<String> {
        match args {
            None => self.functions_named(q),
            Some(a) => {
                let types = self.signature_types(a);
                for s in self.lookup_schemas(q) {
                    let key = object::ObjectKey::function(&s, &q.name, Some(&types));
                    if self.u.contains(&key) {
                        return vec![key];
                    }
                }
                Vec::new()
            }
        }
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

    // ---- SET search_path -------------------------------------------------------------

    fn set(&mut self, c: &mut Cursor) {
        let _ = c.eat("session") || c.eat("local");
        if !c.eat("search_path") {
            return;
        }
        if !(c.eat("to") || c.eat_kind(TokenKind::Operator)) {
            return;
        }
        if c.eat("default") {
            self.path = self.base_path.clone();
            return;
        }
        let mut path = Vec::new();
        for item in split_commas(c.rest()) {
            let Some(t) = item.first() else { continue };
            match t.kind {
                TokenKind::String => path.push(lossy(&crate::lexer::string_value(self.src, t))),
                TokenKind::Ident | TokenKind::QuotedIdent => {
                    path.push(lossy(&crate::lexer::ident_value(self.src, t)))
                }
                _ => {}
            }
        }
        self.path = path;
    }

    /// `SELECT pg_catalog.set_config('search_path', '...', false)` (pg_dump's first lines).
    fn set_config(&mut self, toks: &[Token]) {
        for (j, t) in toks.iter().enumerate() {
            if !t.is_keyword(self.src, "set_config") {
                continue;
            }
            let Some(close) = toks.get(j + 1).and_then(|_| matching(toks, j + 1)) else {
                continue;
            };
            let args = split_commas(&toks[j + 2..close]);
            let val = |a: &[Token]| match a {
                [t] if t.kind == TokenKind::String => {
                    Some(lossy(&crate::lexer::string_value(self.src, t)))
                }
                _ => None,
            };
            if args.len() >= 2 && val(args[0]).as_deref() == Some("search_path") {
                if let Some(v) = val(args[1]) {
                    self.path = parse_path_list(&v);
                }
            }
        }
    }

    // ---- DO ----------------------------------------------------------------------------

    /// `DO $$ ... $$`: DDL written directly in the block (typically `CREATE ROLE` guarded by
    /// `IF NOT EXISTS`) is applied; dynamic SQL (`EXECUTE '...'`) is not.
    fn do_block(&mut self, c: &mut Cursor) -> R {
        let body = c.toks.iter().find(|t| t.kind == TokenKind::DollarString);
        let Some(body) = body else {
            if c.toks.iter().any(|t| t.kind == TokenKind::String) {
                return Ok(());
            }
            return Err("DO without a body".into());
        };
        let lang = c
            .toks
            .iter()
            .position(|t| t.is_keyword(self.src, "language"))
            .and_then(|p| c.toks.get(p + 1))
            .map(|t| lossy(t.text(self.src)).to_ascii_lowercase());
        if lang.as_deref().is_some_and(|l| l != "plpgsql") {
            return Ok(());
        }
        let mut toks = Vec::new();
        let mut diags = Vec::new();
        // The body's first byte: its line/column come from the tag on the same line.
        let (line, col) = position_of(self.src, body.inner_start as usize, body);
        tokenize_range(self.src, body.inner(), line, col, &mut toks, &mut diags);
        toks.retain(|t| !matches!(t.kind, TokenKind::LineComment | TokenKind::BlockComment));
        let starts = ["create", "alter", "drop", "comment", "grant", "revoke"];
        let mut j = 0;
        while j < toks.len() {
            let t = &toks[j];
            let at_start = j == 0
                || matches!(toks[j - 1].kind, TokenKind::Semicolon)
                || ["then", "else", "loop", "begin"]
                    .iter()
                    .any(|k| toks[j - 1].is_keyword(self.src, k));
            if at_start && starts.iter().any(|k| t.is_keyword(self.src, k)) {
                let mut depth = 0usize;
                let mut end = j;
                while end < toks.len() {
                    match toks[end].kind {
                        TokenKind::LParen | TokenKind::LBracket => depth += 1,
                        TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
                        TokenKind::Semicolon if depth == 0 => break,
                        _ => {}
                    }
                    end += 1;
                }
                let stmt = &toks[j..end];
                if let Err(reason) = self.dispatch(stmt) {
                    self.skip(t.line, reason);
                }
                j = end + 1;
                continue;
            }
            j += 1;
        }
        Ok(())
    }

    // ---- CREATE ------------------------------------------------------------------------

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

    fn create_schema(&mut self, c: &mut Cursor) -> R {
        let if_not_exists = c.eat_seq(&["if", "not", "exists"]);
        let name = if c.eat("authorization") {
            c.ident().ok_or("CREATE SCHEMA without a name")?
        } else {
            let n = c.ident().ok_or("CREATE SCHEMA without a name")?;
            if c.eat("authorization") {
                c.ident();
            }
            n
        };
        let line = c.toks[0].line;
        let key = object::key("schema", &[&name]);
        if !(if_not_exists && self.u.contains(&key)) {
            let o = self.new_object(ObjectKind::Schema, None, None, name, line, Details::None);
            self.u.insert(o);
        }
        if !c.at_end() {
            return Err("schema elements inside CREATE SCHEMA are not read".into());
        }
        Ok(())
    }

    fn create_table(&mut self, c: &mut Cursor, kind: ObjectKind) -> R {
        let if_not_exists = c.eat_seq(&["if", "not", "exists"]);
        let q = c.qname().ok_or("CREATE TABLE without a name")?;
        let schema = self.schema_for(&q);
        let key = kind.key(&[&schema, &q.name]);
        if self.u.contains(&key) {
            if if_not_exists {
                return Ok(());
            }
            self.u.remove_cascade(&key);
        }
        let table = self.new_object(
            kind,
            Some(schema.clone()),
            None,
            q.name.clone(),
            q.line,
            Details::Table {
                rls_enabled: false,
                rls_forced: false,
                partition_of: None,
                inherits: Vec::new(),
                owner: None,
            },
        );
        self.u.insert(table);
        let mut t = TableCtx {
            key: key.clone(),
            schema,
            name: q.name.clone(),
            pending: Vec::new(),
            plain: Vec::new(),
            only: false,
        };
        let mut partial: Vec<String> = Vec::new();

        if c.eat("of") {
            // Typed table: the composite type's attributes.
            let tq = c.qname().ok_or("CREATE TABLE OF without a type")?;
            let attrs = self.composite_attributes(&tq);
            match attrs {
                Some(attrs) => {
                    for (n, ty) in attrs {
                        self.add_column(&t, &n, Some(ty), q.line, false, None);
                    }
                }
                None => partial.push(format!("columns of type {} unknown", show(&tq))),
            }
        } else if c.eat_seq(&["partition", "of"]) {
            let pq = c.qname().ok_or("PARTITION OF without a parent")?;
            let parent = self.find_rel(&pq, &["table", "foreign_table"])?;
            self.copy_columns(&parent, &t, q.line);
            if let Some(o) = self.u.get_mut(&key) {
                if let Details::Table { partition_of, .. } = &mut o.details {
                    *partition_of = Some(parent.clone());
                    self.u.any_partitions = true;
                }
            }
            self.inherit_partition_indexes(&parent, &key);
        }

        let elements = c.parens();
        // INHERITS parents' columns come first.
        let mut probe = c.clone();
        probe.skip_until(&["inherits"]);
        if probe.eat("inherits") {
            if let Some(inner) = probe.parens() {
                for item in split_commas(inner) {
                    let mut ic = Cursor::new(self.src, item);
                    if let Some(pq) = ic.qname() {
                        match self.find(&pq, &["table", "foreign_table"]) {
                            Some(pk) => {
                                self.copy_columns(&pk, &t, q.line);
                                if let Some(Details::Table { inherits, .. }) =
                                    self.u.get_mut(&key).map(|o| &mut o.details)
                                {
                                    inherits.push(pk);
                                }
                            }
                            None => partial.push(format!("unknown parent table {}", show(&pq))),
                        }
                    }
                }
            }
        }
        // CREATE TABLE name [(col, ...)] [WITH (..)] [TABLESPACE x] AS query
        let mut probe = c.clone();
        probe.skip_until(&["as"]);
        if probe.eat("as") {
            let explicit: Option<Vec<String>> = elements.map(|e| {
                split_commas(e)
                    .into_iter()
                    .filter_map(|el| Cursor::new(self.src, el).ident())
                    .collect()
            });
            let derived = self.query_columns(probe.rest());
            let mut names = derived.clone().unwrap_or_default();
            if let Some(ex) = explicit {
                for (i, n) in ex.into_iter().enumerate() {
                    if i < names.len() {
                        names[i] = n;
                    } else {
                        names.push(n);
                    }
                }
            } else if derived.is_none() {
                partial.push("columns of CREATE TABLE AS not derived".into());
            }
            for n in names {
                self.add_column(&t, &n, None, q.line, false, None);
            }
        } else if let Some(elements) = elements {
            for el in split_commas(elements) {
                if el.is_empty() {
                    continue;
                }
                if let Err(e) = self.table_element(&mut t, el) {
                    partial.push(e);
                }
            }
        }
        self.create_pending_indexes(&mut t);
        if partial.is_empty() {
            Ok(())
        } else {
            Err(format!("partly read: {}", partial.join("; ")))
        }
    }

    /// One element of a CREATE TABLE list: a column, a table constraint or LIKE.
    fn table_element(&mut self, t: &mut TableCtx, el: &[Token]) -> R {
        let mut c = Cursor::new(self.src, el);
        if c.eat("like") {
            let q = c.qname().ok_or("LIKE without a table")?;
            let src_key = self.find_rel(&q, TABLE_LIKE)?;
            let mut including = Vec::new();
            while !c.at_end() {
                if c.eat("including") {
                    if let Some(w) = c.ident() {
                        including.push(w);
                    }
                } else {
                    c.i += 1;
                }
            }
            let has = |w: &str| including.iter().any(|x| x == w || x == "all");
            let line = el[0].line;
            for col in self
                .u
                .columns_of(&src_key)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
            {
                if let Details::Column {
                    data_type,
                    not_null,
                    default,
                    generated,
                    identity,
                    ..
                } = col.details
                {
                    let keep_default =
                        (has("defaults") && !generated) || (has("generated") && generated);
                    let identity = identity && has("identity");
                    self.add_column_full(
                        t,
                        &col.name,
                        data_type,
                        line,
                        not_null,
                        if keep_default { default } else { None },
                        generated && has("generated"),
                        identity,
                    );
                    if identity {
                        self.create_owned_sequence(t, &col.name, line, None);
                    }
                }
            }
            if has("indexes") {
                let idx: Vec<SchemaObject> = self
                    .u
                    .children_of(&src_key, ObjectKind::Index)
                    .filter(|o| o.parent.as_deref() == Some(src_key.as_str()))
                    .cloned()
                    .collect();
                for i in idx {
                    if let Details::Index {
                        unique,
                        primary,
                        constraint,
                        columns,
                    } = i.details
                    {
                        if constraint {
                            // Constraint indexes get their default names on the new table.
                            t.pending.push(PendingIndex {
                                name: None,
                                cols: columns,
                                primary,
                                exclusion: !unique && !primary,
                                line,
                            });
                        } else {
                            // So do plain ones: LIKE copies them unnamed.
                            t.plain.push((columns, unique, line));
                        }
                    }
                }
            }
            return Ok(());
        }
        if is_constraint_start(&c) {
            return self.table_constraint(t, &mut c);
        }
        self.column_def(t, &mut c, el[0].line).map(|_| ())
    }

    /// `name type [constraints]`, for CREATE TABLE and ALTER TABLE ADD COLUMN.
    fn column_def(
        &mut self,
        t: &mut TableCtx,
        c: &mut Cursor,
        line: u32,
    ) -> Result<String, String> {
        let name = c.ident().ok_or("column without a name")?;
        let name = truncate_ident(&name);
        // The type runs to the first constraint keyword.
        let type_start = c.i;
        while !c.at_end() && !is_column_constraint_kw(c) {
            c.skip_one();
        }
        let type_toks = &c.toks[type_start..c.i];
        let mut data_type = if type_toks.is_empty() || type_toks[0].is_keyword(self.src, "with") {
            // PARTITION OF / OF type: `col WITH OPTIONS ...` — the column exists already.
            None
        } else {
            Some(self.column_type(type_toks))
        };
        let mut serial = false;
        if let Some(ty) = &data_type {
            let base = match ty.as_str() {
                "serial" | "serial4" => Some("integer"),
                "bigserial" | "serial8" => Some("bigint"),
                "smallserial" | "serial2" => Some("smallint"),
                _ => None,
            };
            if let Some(b) = base {
                data_type = Some(b.to_string());
                serial = true;
            }
        }
        let mut not_null = serial;
        let mut default = None;
        let mut generated = false;
        let mut identity = false;
        let mut identity_seq_name: Option<QName> = None;
        let mut pending_name: Option<String> = None;
        while !c.at_end() {
            if c.eat("constraint") {
                pending_name = c.ident();
                continue;
            }
            if c.eat_seq(&["not", "null"]) {
                not_null = true;
            } else if c.eat("null") {
                not_null = false;
            } else if c.eat("default") {
                let start = c.i;
                while !c.at_end() && !is_column_constraint_kw(c) {
                    c.skip_one();
                }
                default = Some(text_of(self.src, &c.toks[start..c.i]));
            } else if c.eat_seq(&["primary", "key"]) {
                not_null = true;
                t.pending.push(PendingIndex {
                    name: pending_name.take(),
                    cols: vec![name.clone()],
                    primary: true,
                    exclusion: false,
                    line: c.toks[c.i - 1].line,
                });
                skip_index_params(c);
            } else if c.eat("unique") {
                if c.eat("nulls") {
                    c.eat("not");
                    c.eat("distinct");
                }
                t.pending.push(PendingIndex {
                    name: pending_name.take(),
                    cols: vec![name.clone()],
                    primary: false,
                    exclusion: false,
                    line: c.toks[c.i - 1].line,
                });
                skip_index_params(c);
            } else if c.eat("references") {
                skip_references(c);
                pending_name = None;
            } else if c.eat("check") {
                c.parens();
                c.eat_seq(&["no", "inherit"]);
                pending_name = None;
            } else if c.eat("generated") {
                let _ = c.eat("always") || c.eat_seq(&["by", "default"]);
                c.eat("as");
                if c.eat("identity") {
                    identity = true;
                    not_null = true;
                    if let Some(opts) = c.parens() {
                        identity_seq_name = sequence_name_option(self.src, opts);
                    }
                } else {
                    c.parens();
                    c.eat("stored");
                    c.eat("virtual");
                    generated = true;
                }
            } else if c.eat("collate") {
                c.qname();
            } else if c.eat("compression") || c.eat("storage") {
                c.ident();
            } else if c.eat("deferrable")
                || c.eat_seq(&["not", "deferrable"])
                || c.eat_seq(&["initially", "deferred"])
                || c.eat_seq(&["initially", "immediate"])
                || c.eat_seq(&["with", "options"])
            {
            } else {
                let at = c
                    .peek()
                    .map(|t| lossy(t.text(self.src)))
                    .unwrap_or_default();
                // Keep the column, report what was not understood.
                self.add_column_full(
                    t, &name, data_type, line, not_null, default, generated, identity,
                );
                return Err(format!("column {name}: unexpected `{at}`"));
            }
        }
        if data_type.is_none() {
            // `col WITH OPTIONS NOT NULL` on a partition / typed table: update in place.
            let key = object::key("column", &[&t.schema, &t.name, &name]);
            if let Some(o) = self.u.get_mut(&key) {
                if let Details::Column {
                    not_null: nn,
                    default: d,
                    ..
                } = &mut o.details
                {
                    *nn |= not_null;
                    if default.is_some() {
                        *d = default;
                    }
                }
                return Ok(name);
            }
        }
        if serial {
            let seq = self.create_owned_sequence(t, &name, line, None);
            default = Some(format!("nextval('{seq}'::regclass)"));
        }
        self.add_column_full(
            t, &name, data_type, line, not_null, default, generated, identity,
        );
        if identity {
            self.create_owned_sequence(t, &name, line, identity_seq_name);
        }
        Ok(name)
    }

    /// A column type, normalised with its modifiers (`character varying(20)`).
    fn column_type(&self, toks: &[Token]) -> String {
        type_text(self.src, toks, false)
    }

    fn table_constraint(&mut self, t: &mut TableCtx, c: &mut Cursor) -> R {
        let mut name = None;
        if c.eat("constraint") {
            name = c.ident();
        }
        let line = c.line();
        if c.eat_seq(&["primary", "key"]) {
            let cols = self.column_list(c);
            for col in &cols {
                self.set_not_null(t, col);
            }
            t.pending.push(PendingIndex {
                name,
                cols,
                primary: true,
                exclusion: false,
                line,
            });
            skip_index_params(c);
        } else if c.eat("unique") {
            if c.eat("nulls") {
                c.eat("not");
                c.eat("distinct");
            }
            if c.eat_seq(&["using", "index"]) {
                // ALTER TABLE ADD CONSTRAINT x UNIQUE USING INDEX idx: the index takes the
                // constraint's name.
                let idx = c.ident().ok_or("USING INDEX without an index")?;
                return self.adopt_index(t, &idx, name, false);
            }
            let cols = self.column_list(c);
            t.pending.push(PendingIndex {
                name,
                cols,
                primary: false,
                exclusion: false,
                line,
            });
            skip_index_params(c);
        } else if c.eat("exclude") {
            if c.eat("using") {
                c.ident();
            }
            let inner = c.parens().ok_or("EXCLUDE without elements")?;
            let cols = split_commas(inner)
                .into_iter()
                .map(|el| {
                    let upto = el
                        .iter()
                        .position(|x| x.is_keyword(self.src, "with"))
                        .unwrap_or(el.len());
                    index_element_name(self.src, &el[..upto])
                })
                .collect();
            t.pending.push(PendingIndex {
                name,
                cols,
                primary: false,
                exclusion: true,
                line,
            });
        } else if c.eat("check") || c.eat_seq(&["foreign", "key"]) || c.eat("not") {
            // No index; nothing to record.
        } else {
            return Err(format!(
                "unrecognised table constraint `{}`",
                c.peek()
                    .map(|x| lossy(x.text(self.src)))
                    .unwrap_or_default()
            ));
        }
        Ok(())
    }

    fn column_list(&self, c: &mut Cursor) -> Vec<String> {
        let Some(inner) = c.parens() else {
            return Vec::new();
        };
        split_commas(inner)
            .into_iter()
            .filter_map(|el| {
                let mut ic = Cursor::new(self.src, el);
                ic.ident()
            })
            .collect()
    }

    fn set_not_null(&mut self, t: &TableCtx, col: &str) {
        let key = object::key("column", &[&t.schema, &t.name, col]);
        if let Some(o) = self.u.get_mut(&key) {
            if let Details::Column { not_null, .. } = &mut o.details {
                *not_null = true;
            }
        }
    }

    fn next_position(&self, table_key: &str) -> u32 {
        self.u
            .columns_of(table_key)
            .last()
            .and_then(|o| match o.details {
                Details::Column { position, .. } => Some(position),
                _ => None,
            })
            .unwrap_or(0)
            + 1
    }

    fn add_column(
        &mut self,
        t: &TableCtx,
        name: &str,
        data_type: Option<String>,
        line: u32,
        not_null: bool,
        default: Option<String>,
    ) {
        self.add_column_full(t, name, data_type, line, not_null, default, false, false);
    }

    #[allow(clippy::too_many_arguments)]
    fn add_column_full(
        &mut self,
        t: &TableCtx,
        name: &str,
        data_type: Option<String>,
        line: u32,
        not_null: bool,
        default: Option<String>,
        generated: bool,
        identity: bool,
    ) {
        let position = self.next_position(&t.key);
        let o = self.new_object(
            ObjectKind::Column,
            Some(t.schema.clone()),
            Some((t.key.clone(), t.name.clone())),
            name.to_string(),
            line,
            Details::Column {
                position,
                data_type,
                not_null,
                default,
                generated,
                identity,
            },
        );
        self.u.insert(o);
    }

    /// Columns of `from` copied onto `t` (PARTITION OF, INHERITS).
    fn copy_columns(&mut self, from: &str, t: &TableCtx, line: u32) {
        let cols: Vec<SchemaObject> = self.u.columns_of(from).into_iter().cloned().collect();
        for col in cols {
            let key = object::key("column", &[&t.schema, &t.name, &col.name]);
            if self.u.contains(&key) {
                continue;
            }
            if let Details::Column {
                data_type,
                not_null,
                default,
                generated,
                identity,
                ..
            } = col.details
            {
                self.add_column_full(
                    t, &col.name, data_type, line, not_null, default, generated, identity,
                );
            }
        }
    }

    /// `<table>_<col>_seq` for serial and identity columns (or the SEQUENCE NAME given).
    fn create_owned_sequence(
        &mut self,
        t: &TableCtx,
        col: &str,
        line: u32,
        explicit: Option<QName>,
    ) -> String {
        let (schema, name) = match explicit {
            Some(q) => (q.schema.clone().unwrap_or_else(|| t.schema.clone()), q.name),
            None => {
                let u = &*self.u;
                let schema = t.schema.clone();
                let name = choose_relation_name(&t.name, Some(col), "seq", |n| {
                    u.relation_name_taken(&schema, n)
                });
                (schema, name)
            }
        };
        let col_key = object::key("column", &[&t.schema, &t.name, col]);
        let o = self.new_object(
            ObjectKind::Sequence,
            Some(schema.clone()),
            None,
            name.clone(),
            line,
            Details::Sequence {
                owned_by: Some(col_key),
            },
        );
        self.u.insert(o);
        format!(
            "{}.{}",
            object::quote_part(&schema),
            object::quote_part(&name)
        )
    }

    /// Creates the indexes that PRIMARY KEY / UNIQUE / EXCLUDE constraints asked for, the
    /// primary key first, duplicates of it dropped (PostgreSQL's `transformIndexConstraints`).
    fn create_pending_indexes(&mut self, t: &mut TableCtx) {
        let mut pending = std::mem::take(&mut t.pending);
        pending.sort_by_key(|p| !p.primary);
        let mut done: Vec<PendingIndex> = Vec::new();
        for p in pending {
            let dup = done.iter().any(|d| {
                d.cols == p.cols
                    && !p.exclusion
                    && !d.exclusion
                    && (p.name.is_none() || d.name.is_none() || p.name == d.name)
                    && (d.primary || !p.primary)
            });
            if dup {
                continue;
            }
            self.add_index(
                &t.key,
                p.name.clone(),
                p.cols.clone(),
                !p.exclusion,
                p.primary,
                true,
                p.exclusion,
                p.line,
            );
            done.push(p);
        }
        for plain in std::mem::take(&mut t.plain) {
            self.add_index(&t.key, None, plain.0, plain.1, false, false, false, plain.2);
        }
    }

    /// Adds an index on `table_key`, naming it like PostgreSQL when unnamed, and
    /// propagates it to the table's partitions. Returns its key.
    #[allow(clippy::too_many_arguments)]
    fn add_index(
        &mut self,
        table_key: &str,
        name: Option<String>,
        cols: Vec<String>,
        unique: bool,
        primary: bool,
        constraint: bool,
        exclusion: bool,
        line: u32,
    ) -> Option<String> {
        let table = self.u.get(table_key)?;
        let schema = table.schema.clone().unwrap_or_default();
        let tname = table.name.clone();
        let name = match name {
            Some(n) => n,
            None => {
                let u = &*self.u;
                let taken = |n: &str| u.relation_name_taken(&schema, n);
                if primary {
                    choose_relation_name(&tname, None, "pkey", taken)
                } else {
                    let add = index_name_addition(&cols);
                    let label = if exclusion {
                        "excl"
                    } else if constraint {
                        "key"
                    } else {
                        "idx"
                    };
                    choose_relation_name(&tname, Some(&add), label, taken)
                }
            }
        };
        let o = self.new_object(
            ObjectKind::Index,
            Some(schema),
            Some((table_key.to_string(), tname)),
            name,
            line,
            Details::Index {
                unique,
                primary,
                constraint,
                columns: cols.clone(),
            },
        );
        let key = o.key.clone();
        self.u.insert(o);
        // Indexes of a partitioned table are created on each partition too.
        if !self.u.any_partitions {
            return Some(key);
        }
        let parts: Vec<String> = self
            .u
            .tables()
            .filter(|o| {
                matches!(&o.details, Details::Table { partition_of: Some(p), .. } if p == table_key)
            })
            .map(|o| o.key.clone())
            .collect();
        for p in parts {
            self.add_index(
                &p,
                None,
                cols.clone(),
                unique,
                primary,
                constraint,
                exclusion,
                line,
            );
        }
        Some(key)
    }

    fn inherit_partition_indexes(&mut self, parent: &str, child: &str) {
        let idx: Vec<SchemaObject> = self
            .u
            .children_of(parent, ObjectKind::Index)
            .filter(|o| o.parent.as_deref() == Some(parent))
            .cloned()
            .collect();
        for i in idx {
            if let Details::Index {
                unique,
                primary,
                constraint,
                columns,
            } = i.details
            {
                let line = self.u.get(child).map_or(0, |c| c.defined_at.line);
                let exclusion = constraint && !unique;
                self.add_index(
                    child, None, columns, unique, primary, constraint, exclusion, line,
                );
            }
        }
    }

    /// `ADD CONSTRAINT name UNIQUE/PRIMARY KEY USING INDEX idx`: the index is renamed.
    fn adopt_index(&mut self, t: &TableCtx, idx: &str, name: Option<String>, primary: bool) -> R {
        let key = self
            .u
            .find_index(&t.schema, idx)
            .ok_or_else(|| format!("unknown index {idx}"))?;
        if let Some(o) = self.u.get_mut(&key) {
            if let Some(n) = name {
                o.name = n;
            }
            if let Details::Index {
                constraint,
                primary: p,
                ..
            } = &mut o.details
            {
                *constraint = true;
                *p |= primary;
            }
        }
        self.u.rekey(&[key]);
        Ok(())
    }

    fn composite_attributes(&self, q: &QName) -> Option<Vec<(String, String)>> {
        let key = self.find(q, &["type"])?;
        match &self.u.get(&key)?.details {
            Details::Type {
                variant,
                base: Some(base),
                ..
            } if variant == "composite" => Some(
                base.split(", ")
                    .filter_map(|a| a.split_once(' '))
                    .map(|(n, t)| (n.to_string(), t.to_string()))
                    .collect(),
            ),
            _ => None,
        }
    }

    fn create_index(&mut self, c: &mut Cursor, unique: bool) -> R {
        c.eat("concurrently");
        let if_not_exists = c.eat_seq(&["if", "not", "exists"]);
        let name = if c.is("on") { None } else { c.ident() };
        if !c.eat("on") {
            return Err("CREATE INDEX without ON".into());
        }
        c.eat("only");
        let q = c.qname().ok_or("CREATE INDEX without a table")?;
        let table_key = self.find_rel(&q, &["table", "materialized_view", "foreign_table"])?;
        if c.eat("using") {
            c.ident();
        }
        let inner = c.parens().ok_or("CREATE INDEX without columns")?;
        let mut cols: Vec<String> = Vec::new();
        for el in split_commas(inner) {
            let base = index_element_name(self.src, el);
            // ChooseIndexColumnNames: duplicates get 1, 2, ...
            let mut n = base.clone();
            let mut k = 0;
            while cols.contains(&n) {
                k += 1;
                n = format!("{base}{k}");
            }
            cols.push(n);
        }
        if let Some(n) = &name {
            let schema = self
                .u
                .get(&table_key)
                .and_then(|o| o.schema.clone())
                .unwrap_or_default();
            if self.u.find_index(&schema, n).is_some() {
                if if_not_exists {
                    return Ok(());
                }
                let old = self.u.find_index(&schema, n).unwrap_or_default();
                self.u.remove_cascade(&old);
            }
        }
        self.add_index(
            &table_key,
            name,
            cols,
            unique,
            false,
            false,
            false,
            c.toks[0].line,
        );
        Ok(())
    }

    fn create_view(&mut self, c: &mut Cursor, kind: ObjectKind) -> R {
        let if_not_exists = c.eat_seq(&["if", "not", "exists"]);
        let q = c.qname().ok_or("CREATE VIEW without a name")?;
        let schema = self.schema_for(&q);
        let key = kind.key(&[&schema, &q.name]);
        if self.u.contains(&key) {
            if if_not_exists {
                return Ok(());
            }
            // OR REPLACE: the new definition's columns replace the old ones; the
            // view's indexes (materialized views) and triggers stay.
            let cols: Vec<String> = self
                .u
                .objects()
                .filter(|o| {
                    o.kind == ObjectKind::Column && o.parent.as_deref() == Some(key.as_str())
                })
                .map(|o| o.key.clone())
                .collect();
            for k in cols {
                self.u.remove_cascade(&k);
            }
        }
        let explicit: Option<Vec<String>> = if c.is_kind(TokenKind::LParen) {
            Some(self.column_list(c))
        } else {
            None
        };
        // Options up to AS.
        c.skip_until(&["as"]);
        if !c.eat("as") {
            return Err("CREATE VIEW without AS".into());
        }
        let derived = self.query_columns(c.rest());
        let known = explicit.is_some() || derived.is_some();
        let o = self.new_object(
            kind,
            Some(schema.clone()),
            None,
            q.name.clone(),
            q.line,
            Details::View {
                columns_known: known,
                owner: self.u.get(&key).and_then(|o| match &o.details {
                    Details::View { owner, .. } => owner.clone(),
                    _ => None,
                }),
            },
        );
        self.u.insert(o);
        let t = TableCtx {
            key: key.clone(),
            schema,
            name: q.name.clone(),
            pending: Vec::new(),
            plain: Vec::new(),
            only: false,
        };
        let mut names = derived.clone().unwrap_or_default();
        if let Some(ex) = explicit {
            // An explicit list names the first columns; the rest keep their own names.
            for (i, n) in ex.into_iter().enumerate() {
                if i < names.len() {
                    names[i] = n;
                } else {
                    names.push(n);
                }
            }
        }
        for n in names {
            let ck = object::key("column", &[&t.schema, &t.name, &n]);
            if !self.u.contains(&ck) {
                self.add_column(&t, &n, None, q.line, false, None);
            }
        }
        if known {
            Ok(())
        } else {
            Err(format!("partly read: columns of {} not derived", show(&q)))
        }
    }

    /// The output column names of a query, when they can be known statically.
    fn query_columns(&self, mut toks: &[Token]) -> Option<Vec<String>> {
        let src = self.src;
        while toks.len() >= 2
            && toks[0].kind == TokenKind::LParen
            && matching(toks, 0).is_some_and(|m| m == toks.len() - 1)
        {
            toks = &toks[1..toks.len() - 1];
        }
        let mut c = Cursor::new(src, toks);
        let mut ctes: Vec<String> = Vec::new();
        if c.eat("with") {
            c.eat("recursive");
            loop {
                let n = c.ident()?;
                ctes.push(n);
                c.parens();
                c.eat("as");
                c.eat("not");
                c.eat("materialized");
                c.parens()?;
                if !c.eat_kind(TokenKind::Comma) {
                    break;
                }
            }
        }
        if c.eat("values") {
            let first = c.parens()?;
            let n = split_commas(first).len();
            return Some((1..=n).map(|i| format!("column{i}")).collect());
        }
        if c.eat("table") {
            let q = c.qname()?;
            let k = self.find(&q, TABLE_LIKE)?;
            return Some(
                self.u
                    .columns_of(&k)
                    .iter()
                    .map(|o| o.name.clone())
                    .collect(),
            );
        }
        if !c.eat("select") {
            return None;
        }
        if c.eat("distinct") {
            if c.eat("on") {
                c.parens();
            }
        } else {
            c.eat("all");
        }
        const END: &[&str] = &[
            "from",
            "into",
            "where",
            "group",
            "having",
            "window",
            "order",
            "limit",
            "offset",
            "fetch",
            "for",
            "union",
            "intersect",
            "except",
        ];
        let start = c.i;
        c.skip_until(END);
        let list = &toks[start..c.i];
        let from = if c.eat("from") {
            let s = c.i;
            c.skip_until(&END[2..]);
            Some(&toks[s..c.i])
        } else {
            None
        };
        let from_items = from.map(|f| self.relations_in_from(f)).unwrap_or_default();
        let mut out = Vec::new();
        for item in split_commas(list) {
            if item.is_empty() {
                return None;
            }
            let n = item.len();
            // `*` and `t.*`
            if item[n - 1].kind == TokenKind::Operator && item[n - 1].text(src) == b"*" {
                let qualifier = if n >= 3 && item[n - 2].kind == TokenKind::Dot {
                    Some(lossy(&crate::lexer::ident_value(src, &item[n - 3])))
                } else {
                    None
                };
                let mut any = false;
                for (alias, rel) in &from_items {
                    if qualifier.as_ref().is_some_and(|q| q != alias) {
                        continue;
                    }
                    let rel = rel.as_ref()?;
                    any = true;
                    out.extend(self.u.columns_of(rel).iter().map(|o| o.name.clone()));
                }
                if !any {
                    return None;
                }
                continue;
            }
            out.push(select_item_name(src, item));
        }
        Some(out)
    }

    /// FROM items as (alias, relation key if known).
    fn relations_in_from(&self, toks: &[Token]) -> Vec<(String, Option<String>)> {
        let src = self.src;
        let mut out = Vec::new();
        let mut c = Cursor::new(src, toks);
        const JOIN: &[&str] = &[
            "join", "inner", "left", "right", "full", "outer", "cross", "natural",
        ];
        loop {
            c.eat("lateral");
            c.eat("only");
            if c.is_kind(TokenKind::LParen) {
                c.parens();
                c.eat("as");
                let alias = c.ident().unwrap_or_default();
                c.parens();
                out.push((alias, None));
            } else if let Some(q) = c.qname() {
                let rel = self.find(&q, TABLE_LIKE);
                let mut alias = q.name.clone();
                if c.is_kind(TokenKind::LParen) {
                    // A function in FROM.
                    c.parens();
                    out.push((alias, None));
                } else {
                    let explicit_as = c.eat("as");
                    let is_kw = JOIN.iter().any(|k| c.is(k))
                        || ["on", "using", "where", "tablesample", "lateral"]
                            .iter()
                            .any(|k| c.is(k));
                    if explicit_as
                        || (!is_kw && c.is_kind(TokenKind::Ident))
                        || c.is_kind(TokenKind::QuotedIdent)
                    {
                        if let Some(a) = c.ident() {
                            alias = a;
                        }
                    }
                    out.push((alias, rel));
                }
            } else {
                break;
            }
            // To the next item.
            while !c.at_end() && !c.is_kind(TokenKind::Comma) && !JOIN.iter().any(|k| c.is(k)) {
                c.skip_one();
            }
            if c.at_end() {
                break;
            }
            if !c.eat_kind(TokenKind::Comma) {
                while JOIN.iter().any(|k| c.is(k)) {
                    c.i += 1;
                }
            }
        }
        out
    }

    fn create_function(&mut self, c: &mut Cursor, procedure: bool) -> R {
        let q = c.qname().ok_or("CREATE FUNCTION without a name")?;
        let args = c
            .parens()
            .ok_or("CREATE FUNCTION without an argument list")?;
        let types = self.signature_types(args);
        let schema = self.schema_for(&q);
        let mut returns = None;
        let mut language = None;
        while !c.at_end() {
            if c.eat("returns") {
                let s = c.i;
                while !c.at_end() && !is_routine_option(c) {
                    c.skip_one();
                }
                returns = Some(text_of(self.src, &c.toks[s..c.i]).to_ascii_lowercase());
            } else if c.eat("language") {
                language = c
                    .bump()
                    .map(|t| lossy(&crate::lexer::string_value(self.src, t)).to_ascii_lowercase())
                    .map(|l| l.trim_matches('\'').to_string());
            } else {
                c.skip_one();
            }
        }
        let o = self.new_object(
            ObjectKind::Function,
            Some(schema),
            None,
            q.name.clone(),
            q.line,
            Details::Function {
                args: types,
                returns,
                language,
                procedure,
            },
        );
        self.u.insert(o);
        Ok(())
    }

    /// Identity argument types of a signature (`(a int, OUT b text, VARIADIC c text[])`):
    /// modes, names and defaults dropped, OUT arguments left out.
    fn signature_types(&self, args: &[Token]) -> Vec<String> {
        let src = self.src;
        let mut out = Vec::new();
        for arg in split_commas(args) {
            if arg.is_empty() {
                continue;
            }
            // Cut the default.
            let mut depth = 0usize;
            let mut end = arg.len();
            for (j, t) in arg.iter().enumerate() {
                match t.kind {
                    TokenKind::LParen | TokenKind::LBracket => depth += 1,
                    TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
                    TokenKind::Operator if depth == 0 && t.text(src) == b"=" => {
                        end = j;
                        break;
                    }
                    TokenKind::Ident if depth == 0 && t.is_keyword(src, "default") => {
                        end = j;
                        break;
                    }
                    _ => {}
                }
            }
            let mut a = &arg[..end];
            let is_mode = |t: &Token| {
                ["in", "out", "inout", "variadic"]
                    .iter()
                    .any(|m| t.is_keyword(src, m))
            };
            let mut mode = "in".to_string();
            if a.len() >= 2 && is_mode(&a[0]) {
                mode = lossy(a[0].text(src)).to_ascii_lowercase();
                a = &a[1..];
            }
            if has_param_name(src, a) {
                a = &a[1..];
                if a.len() >= 2 && is_mode(&a[0]) {
                    mode = lossy(a[0].text(src)).to_ascii_lowercase();
                    a = &a[1..];
                }
            }
            if mode == "out" {
                continue;
            }
            out.push(self.arg_type(a));
        }
        out
    }

    /// A type as the key shows it: modifiers dropped, `%TYPE` resolved, schema shown only
    /// when the type is not visible on the base search path (like `format_type`).
    fn arg_type(&self, toks: &[Token]) -> String {
        let src = self.src;
        // `table.column%TYPE`
        if let Some(p) = toks
            .iter()
            .position(|t| t.kind == TokenKind::Operator && t.text(src) == b"%")
        {
            if toks.get(p + 1).is_some_and(|t| t.is_keyword(src, "type")) {
                let mut c = Cursor::new(src, &toks[..p]);
                let mut parts = Vec::new();
                while let Some(i) = c.ident() {
                    parts.push(i);
                    if !c.eat_kind(TokenKind::Dot) {
                        break;
                    }
                }
                if parts.len() >= 2 {
                    let col = parts.pop().unwrap_or_default();
                    let table = parts.pop().unwrap_or_default();
                    let q = QName {
                        schema: parts.pop(),
                        name: table,
                        line: 0,
                    };
                    if let Some(tk) = self.find(&q, TABLE_LIKE) {
                        let tbl = self.u.get(&tk);
                        if let Some(tbl) = tbl {
                            let ck = object::key(
                                "column",
                                &[tbl.schema.as_deref().unwrap_or_default(), &tbl.name, &col],
                            );
                            if let Some(Details::Column {
                                data_type: Some(dt),
                                ..
                            }) = self.u.get(&ck).map(|o| &o.details)
                            {
                                return strip_typmod(dt);
                            }
                        }
                    }
                }
            }
        }
        let ty = type_text(src, toks, true);
        // Qualified or not, as written; then shown the way format_type would.
        let mut c = Cursor::new(src, toks);
        let q = c.qname();
        let array_suffix = ty
            .find('[')
            .map(|i| ty[i..].to_string())
            .unwrap_or_default();
        let Some(q) = q else { return ty };
        let schema = match &q.schema {
            Some(s) => Some(s.clone()),
            None => [
                "type",
                "table",
                "view",
                "materialized_view",
                "foreign_table",
            ]
            .iter()
            .find_map(|k| self.find(&q, &[k]))
            .and_then(|k| self.u.get(&k).and_then(|o| o.schema.clone())),
        };
        match schema {
            Some(s) if s != "pg_catalog" && !self.base_path.contains(&s) && q.schema.is_none() => {
                format!(
                    "{}.{}{}",
                    object::quote_part(&s),
                    object::quote_part(&q.name),
                    array_suffix
                )
            }
            Some(s) if self.base_path.contains(&s) && q.schema.is_some() => {
                format!("{}{}", object::quote_part(&q.name), array_suffix)
            }
            _ => ty,
        }
    }

    fn create_trigger(&mut self, c: &mut Cursor) -> R {
        let name = c.ident().ok_or("CREATE TRIGGER without a name")?;
        let line = c.toks[0].line;
        c.skip_until(&["on"]);
        if !c.eat("on") {
            return Err("CREATE TRIGGER without ON".into());
        }
        let q = c.qname().ok_or("CREATE TRIGGER without a table")?;
        let (table_key, schema, tname) = self.find_rel_or_external(&q, TABLE_LIKE)?;
        let mut function = None;
        c.skip_until(&["execute"]);
        if c.eat("execute") {
            c.eat("function");
            c.eat("procedure");
            function = c.qname().map(|f| show(&f));
        }
        let o = self.new_object(
            ObjectKind::Trigger,
            Some(schema),
            Some((table_key, tname)),
            name,
            line,
            Details::Trigger { function },
        );
        self.u.insert(o);
        Ok(())
    }

    fn parent_names(&self, table_key: &str) -> (String, String) {
        self.u
            .get(table_key)
            .map(|o| (o.schema.clone().unwrap_or_default(), o.name.clone()))
            .unwrap_or_default()
    }

    fn create_policy(&mut self, c: &mut Cursor) -> R {
        let name = c.ident().ok_or("CREATE POLICY without a name")?;
        let line = c.toks[0].line;
        if !c.eat("on") {
            return Err("CREATE POLICY without ON".into());
        }
        let q = c.qname().ok_or("CREATE POLICY without a table")?;
        let (table_key, schema, tname) = self.find_rel_or_external(&q, TABLE_LIKE)?;
        let mut command = "all".to_string();
        let mut roles = Vec::new();
        while !c.at_end() {
            if c.eat("for") {
                if let Some(cmd) = c.ident() {
                    command = cmd;
                }
            } else if c.eat("to") {
                while let Some(r) = c.ident() {
                    roles.push(r);
                    if !c.eat_kind(TokenKind::Comma) {
                        break;
                    }
                }
            } else {
                c.skip_one();
            }
        }
        let o = self.new_object(
            ObjectKind::Policy,
            Some(schema),
            Some((table_key, tname)),
            name,
            line,
            Details::Policy { command, roles },
        );
        self.u.insert(o);
        Ok(())
    }

    fn create_sequence(&mut self, c: &mut Cursor) -> R {
        let if_not_exists = c.eat_seq(&["if", "not", "exists"]);
        let q = c.qname().ok_or("CREATE SEQUENCE without a name")?;
        let schema = self.schema_for(&q);
        let key = object::key("sequence", &[&schema, &q.name]);
        if if_not_exists && self.u.contains(&key) {
            return Ok(());
        }
        let owned_by = self.owned_by(c);
        let o = self.new_object(
            ObjectKind::Sequence,
            Some(schema),
            None,
            q.name.clone(),
            q.line,
            Details::Sequence { owned_by },
        );
        self.u.insert(o);
        Ok(())
    }

    /// `OWNED BY table.column` somewhere in sequence options: the column key.
    fn owned_by(&self, c: &mut Cursor) -> Option<String> {
        c.skip_until(&["owned"]);
        if !c.eat_seq(&["owned", "by"]) {
            return None;
        }
        let mut parts = Vec::new();
        while let Some(i) = c.ident() {
            parts.push(i);
            if !c.eat_kind(TokenKind::Dot) {
                break;
            }
        }
        if parts.len() < 2 {
            return None;
        }
        let col = parts.pop()?;
        let table = parts.pop()?;
        let q = QName {
            schema: parts.pop(),
            name: table,
            line: 0,
        };
        let tk = self.find(&q, TABLE_LIKE)?;
        let (s, t) = self.parent_names(&tk);
        Some(object::key("column", &[&s, &t, &col]))
    }

    fn create_type(&mut self, c: &mut Cursor) -> R {
        let q = c.qname().ok_or("CREATE TYPE without a name")?;
        let schema = self.schema_for(&q);
        let (variant, labels, base) = if c.eat("as") {
            if c.eat("enum") {
                let inner = c.parens().unwrap_or_default();
                let labels = split_commas(inner)
                    .into_iter()
                    .filter_map(|l| {
                        let mut lc = Cursor::new(self.src, l);
                        lc.string()
                    })
                    .collect();
                ("enum", labels, None)
            } else if c.eat("range") {
                let opts = c.parens().unwrap_or_default();
                self.range_companions(&q, &schema, opts);
                ("range", Vec::new(), None)
            } else if let Some(inner) = c.parens() {
                let attrs: Vec<String> = split_commas(inner)
                    .into_iter()
                    .filter(|a| !a.is_empty())
                    .filter_map(|a| {
                        let mut ac = Cursor::new(self.src, a);
                        let n = ac.ident()?;
                        let end = a
                            .iter()
                            .position(|t| t.is_keyword(self.src, "collate"))
                            .unwrap_or(a.len());
                        let ty = type_text(self.src, &a[ac.i..end], false);
                        Some(format!("{} {}", n, ty))
                    })
                    .collect();
                ("composite", Vec::new(), Some(attrs.join(", ")))
            } else {
                return Err("unrecognised CREATE TYPE ... AS".into());
            }
        } else if c.is_kind(TokenKind::LParen) {
            ("base", Vec::new(), None)
        } else if c.at_end() {
            ("shell", Vec::new(), None)
        } else {
            return Err("unrecognised CREATE TYPE".into());
        };
        let o = self.new_object(
            ObjectKind::Type,
            Some(schema),
            None,
            q.name.clone(),
            q.line,
            Details::Type {
                variant: variant.to_string(),
                labels,
                base,
            },
        );
        self.u.insert(o);
        Ok(())
    }

    /// What `CREATE TYPE r AS RANGE` creates besides `r` (PostgreSQL 14+): the multirange
    /// type (`multirange_type_name`, else `range` -> `multirange` in the name, else
    /// `r_multirange`) and the constructor functions of both.
    fn range_companions(&mut self, q: &QName, schema: &str, opts: &[Token]) {
        let mut subtype = None;
        let mut multi: Option<QName> = None;
        for opt in split_commas(opts) {
            let mut oc = Cursor::new(self.src, opt);
            let Some(k) = oc.ident() else { continue };
            oc.eat_kind(TokenKind::Operator);
            match k.as_str() {
                "subtype" => subtype = Some(self.arg_type(oc.rest())),
                "multirange_type_name" => multi = oc.qname(),
                _ => {}
            }
        }
        let Some(subtype) = subtype else { return };
        let (mschema, mname) = match multi {
            Some(m) => (m.schema.unwrap_or_else(|| schema.to_string()), m.name),
            None => {
                let n = match q.name.find("range") {
                    Some(at) => format!("{}multi{}", &q.name[..at], &q.name[at..]),
                    None => format!("{}_multirange", q.name),
                };
                (schema.to_string(), truncate_ident(&n))
            }
        };
        let line = q.line;
        let shown = |s: &str, n: &str| {
            if self.base_path.iter().any(|p| p == s) {
                object::quote_part(n).into_owned()
            } else {
                format!("{}.{}", object::quote_part(s), object::quote_part(n))
            }
        };
        let range_ty = shown(schema, &q.name);
        let fns: Vec<(String, String, Vec<String>)> = vec![
            (
                schema.to_string(),
                q.name.clone(),
                vec![subtype.clone(), subtype.clone()],
            ),
            (
                schema.to_string(),
                q.name.clone(),
                vec![subtype.clone(), subtype, "text".into()],
            ),
            (mschema.clone(), mname.clone(), vec![]),
            (mschema.clone(), mname.clone(), vec![range_ty.clone()]),
            (
                mschema.clone(),
                mname.clone(),
                vec![format!("{range_ty}[]")],
            ),
        ];
        let o = self.new_object(
            ObjectKind::Type,
            Some(mschema),
            None,
            mname,
            line,
            Details::Type {
                variant: "multirange".into(),
                labels: Vec::new(),
                base: None,
            },
        );
        self.u.insert(o);
        for (s, n, args) in fns {
            let o = self.new_object(
                ObjectKind::Function,
                Some(s),
                None,
                n,
                line,
                Details::Function {
                    args,
                    returns: None,
                    language: Some("internal".into()),
                    procedure: false,
                },
            );
            self.u.insert(o);
        }
    }

    fn create_domain(&mut self, c: &mut Cursor) -> R {
        let q = c.qname().ok_or("CREATE DOMAIN without a name")?;
        let schema = self.schema_for(&q);
        c.eat("as");
        let s = c.i;
        while !c.at_end() && !is_column_constraint_kw(c) {
            c.skip_one();
        }
        let base = type_text(self.src, &c.toks[s..c.i], false);
        let o = self.new_object(
            ObjectKind::Type,
            Some(schema),
            None,
            q.name.clone(),
            q.line,
            Details::Type {
                variant: "domain".into(),
                labels: Vec::new(),
                base: Some(base),
            },
        );
        self.u.insert(o);
        Ok(())
    }

    fn create_extension(&mut self, c: &mut Cursor) -> R {
        c.eat_seq(&["if", "not", "exists"]);
        let line = c.line();
        let name = c.ident().ok_or("CREATE EXTENSION without a name")?;
        let o = self.new_object(ObjectKind::Extension, None, None, name, line, Details::None);
        if !self.u.contains(&o.key) {
            self.u.insert(o);
        }
        Ok(())
    }

    fn create_role(&mut self, c: &mut Cursor) -> R {
        let line = c.line();
        let name = c.ident().ok_or("CREATE ROLE without a name")?;
        let o = self.new_object(ObjectKind::Role, None, None, name, line, Details::None);
        self.u.insert(o);
        Ok(())
    }

    // ---- ALTER -------------------------------------------------------------------------

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
            let old = c.ident().ok_or("ALTER ROLE without a name")?;
            if c.eat_seq(&["rename", "to"]) {
                let new = c.ident().ok_or("RENAME without a name")?;
                let key = object::key("role", &[&old]);
                if let Some(o) = self.u.get_mut(&key) {
                    o.name = new;
                    o.defined_at = Location {
                        file: self.file.to_string(),
                        line: c.toks[0].line,
                    };
                    self.u.rekey(&[key]);
                }
            }
            return Ok(());
        }
        // ALTER EXTENSION, DEFAULT PRIVILEGES, DATABASE, SYSTEM, AGGREGATE, ...: nothing
        // with a key changes.
        Ok(())
    }

    fn alter_table(&mut self, c: &mut Cursor, kinds: &[&str]) -> R {
        if c.eat_seq(&["all", "in"]) {
            return Ok(());
        }
        let if_exists = c.eat_seq(&["if", "exists"]);
        let only = c.eat("only");
        let q = c.qname().ok_or("ALTER TABLE without a name")?;
        c.eat_kind(TokenKind::Operator); // `name *`
        let Some(key) = self.find(&q, kinds) else {
            if if_exists {
                return Ok(());
            }
            return Err(format!("ALTER of unknown relation {}", show(&q)));
        };
        let line = c.toks[0].line;
        // Single-action forms.
        if c.eat("rename") {
            if c.eat("to") {
                let new = c.ident().ok_or("RENAME TO without a name")?;
                return self.rename_object(&key, new, line);
            }
            if c.eat("constraint") {
                let old = c.ident().ok_or("RENAME CONSTRAINT without a name")?;
                c.eat("to");
                let new = c.ident().ok_or("RENAME CONSTRAINT without a new name")?;
                let (schema, _) = self.parent_names(&key);
                if let Some(ik) = self.u.find_index(&schema, &old) {
                    return self.rename_object(&ik, new, line);
                }
                return Ok(());
            }
            c.eat("column");
            let old = c.ident().ok_or("RENAME COLUMN without a name")?;
            c.eat("to");
            let new = c.ident().ok_or("RENAME COLUMN without a new name")?;
            let (schema, tname) = self.parent_names(&key);
            let ck = object::key("column", &[&schema, &tname, &old]);
            if !self.u.contains(&ck) {
                return Err(format!("RENAME of unknown column {old}"));
            }
            if !only {
                for d in self.u.descendants(&key) {
                    let (s, t) = self.parent_names(&d);
                    let dk = object::key("column", &[&s, &t, &old]);
                    if self.u.contains(&dk) {
                        self.rename_object(&dk, new.clone(), line)?;
                    }
                }
            }
            return self.rename_object(&ck, new, line);
        }
        if c.eat_seq(&["set", "schema"]) {
            let s = c.ident().ok_or("SET SCHEMA without a schema")?;
            return self.set_schema(&key, s);
        }
        let (schema, tname) = self.parent_names(&key);
        let mut t = TableCtx {
            key: key.clone(),
            schema,
            name: tname,
            pending: Vec::new(),
            plain: Vec::new(),
            only,
        };
        let mut errors = Vec::new();
        for action in split_commas(c.rest()) {
            if action.is_empty() {
                continue;
            }
            if let Err(e) = self.alter_table_action(&mut t, action) {
                errors.push(e);
            }
        }
        self.create_pending_indexes(&mut t);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    fn alter_table_action(&mut self, t: &mut TableCtx, action: &[Token]) -> R {
        let mut c = Cursor::new(self.src, action);
        let line = action[0].line;
        if c.eat("add") {
            if is_constraint_start(&c) {
                return self.table_constraint(t, &mut c);
            }
            c.eat("column");
            let if_not_exists = c.eat_seq(&["if", "not", "exists"]);
            if if_not_exists {
                if let Some(n) = c.clone().ident() {
                    let ck = object::key("column", &[&t.schema, &t.name, &n]);
                    if self.u.contains(&ck) {
                        return Ok(());
                    }
                }
            }
            let line = c.line();
            let name = self.column_def(t, &mut c, line)?;
            if !t.only {
                // Partitions and inheriting tables get the column too.
                let ck = object::key("column", &[&t.schema, &t.name, &name]);
                let col = self.u.get(&ck).cloned();
                for d in self.u.descendants(&t.key) {
                    let (s, n) = self.parent_names(&d);
                    let dt = TableCtx {
                        key: d.clone(),
                        schema: s,
                        name: n,
                        pending: Vec::new(),
                        plain: Vec::new(),
                        only: false,
                    };
                    if let Some(SchemaObject {
                        details:
                            Details::Column {
                                data_type,
                                not_null,
                                default,
                                generated,
                                identity,
                                ..
                            },
                        ..
                    }) = col.clone()
                    {
                        let dk = object::key("column", &[&dt.schema, &dt.name, &name]);
                        if !self.u.contains(&dk) {
                            self.add_column_full(
                                &dt, &name, data_type, line, not_null, default, generated, identity,
                            );
                        }
                    }
                }
            }
            return Ok(());
        }
        if c.eat("drop") {
            if c.eat("constraint") {
                c.eat_seq(&["if", "exists"]);
                let n = c.ident().ok_or("DROP CONSTRAINT without a name")?;
                if let Some(ik) = self.u.find_index(&t.schema, &n) {
                    let is_constraint = matches!(
                        self.u.get(&ik).map(|o| &o.details),
                        Some(Details::Index {
                            constraint: true,
                            ..
                        })
                    );
                    if is_constraint {
                        self.u.remove_cascade(&ik);
                    }
                }
                return Ok(());
            }
            c.eat("column");
            let if_exists = c.eat_seq(&["if", "exists"]);
            let n = c.ident().ok_or("DROP COLUMN without a name")?;
            let ck = object::key("column", &[&t.schema, &t.name, &n]);
            if !self.u.contains(&ck) {
                return if if_exists {
                    Ok(())
                } else {
                    Err(format!("DROP of unknown column {n}"))
                };
            }
            self.u.remove_cascade(&ck);
            if !t.only {
                for d in self.u.descendants(&t.key) {
                    let (s, tn) = self.parent_names(&d);
                    self.u
                        .remove_cascade(&object::key("column", &[&s, &tn, &n]));
                }
            }
            // Indexes over the column go too.
            let idx: Vec<String> = self
                .u
                .objects()
                .filter(|o| {
                    o.parent.as_deref() == Some(t.key.as_str())
                        && matches!(&o.details, Details::Index { columns, .. } if columns.contains(&n))
                })
                .map(|o| o.key.clone())
                .collect();
            for k in idx {
                self.u.remove_cascade(&k);
            }
            return Ok(());
        }
        if c.eat("alter") {
            c.eat("column");
            let n = c.ident().ok_or("ALTER COLUMN without a name")?;
            let ck = object::key("column", &[&t.schema, &t.name, &n]);
            if !self.u.contains(&ck) {
                return Err(format!("ALTER of unknown column {n}"));
            }
            if c.eat_seq(&["set", "data", "type"]) || c.eat("type") {
                let s = c.i;
                c.skip_until(&["using", "collate"]);
                let ty = type_text(self.src, &c.toks[s..c.i], false);
                self.update_column(&ck, |d| {
                    if let Details::Column { data_type, .. } = d {
                        *data_type = Some(ty);
                    }
                });
            } else if c.eat_seq(&["set", "not", "null"]) {
                self.update_column(&ck, |d| {
                    if let Details::Column { not_null, .. } = d {
                        *not_null = true;
                    }
                });
            } else if c.eat_seq(&["drop", "not", "null"]) {
                self.update_column(&ck, |d| {
                    if let Details::Column { not_null, .. } = d {
                        *not_null = false;
                    }
                });
            } else if c.eat_seq(&["set", "default"]) {
                let v = text_of(self.src, c.rest());
                self.update_column(&ck, |d| {
                    if let Details::Column { default, .. } = d {
                        *default = Some(v);
                    }
                });
            } else if c.eat_seq(&["drop", "default"]) {
                self.update_column(&ck, |d| {
                    if let Details::Column { default, .. } = d {
                        *default = None;
                    }
                });
            } else if c.eat_seq(&["add", "generated"]) {
                let opts = {
                    c.skip_until(&["identity"]);
                    c.eat("identity");
                    c.parens()
                };
                let seq_name = opts.and_then(|o| sequence_name_option(self.src, o));
                self.update_column(&ck, |d| {
                    if let Details::Column {
                        identity, not_null, ..
                    } = d
                    {
                        *identity = true;
                        *not_null = true;
                    }
                });
                self.create_owned_sequence(t, &n, line, seq_name);
            } else if c.eat_seq(&["drop", "identity"]) {
                self.update_column(&ck, |d| {
                    if let Details::Column { identity, .. } = d {
                        *identity = false;
                    }
                });
                let owned: Vec<String> = self
                    .u
                    .objects()
                    .filter(|o| matches!(&o.details, Details::Sequence { owned_by: Some(x) } if *x == ck))
                    .map(|o| o.key.clone())
                    .collect();
                for k in owned {
                    self.u.remove_cascade(&k);
                }
            }
            return Ok(());
        }
        if c.eat_seq(&["enable", "row", "level", "security"]) {
            self.update_table(&t.key, |d| {
                if let Details::Table { rls_enabled, .. } = d {
                    *rls_enabled = true;
                }
            });
        } else if c.eat_seq(&["disable", "row", "level", "security"]) {
            self.update_table(&t.key, |d| {
                if let Details::Table { rls_enabled, .. } = d {
                    *rls_enabled = false;
                }
            });
        } else if c.eat_seq(&["force", "row", "level", "security"]) {
            self.update_table(&t.key, |d| {
                if let Details::Table { rls_forced, .. } = d {
                    *rls_forced = true;
                }
            });
        } else if c.eat_seq(&["no", "force", "row", "level", "security"]) {
            self.update_table(&t.key, |d| {
                if let Details::Table { rls_forced, .. } = d {
                    *rls_forced = false;
                }
            });
        } else if c.eat_seq(&["owner", "to"]) {
            let r = c.ident();
            self.update_table(&t.key, |d| match d {
                Details::Table { owner, .. } | Details::View { owner, .. } => *owner = r,
                _ => {}
            });
        } else if c.eat_seq(&["attach", "partition"]) {
            let q = c.qname().ok_or("ATTACH PARTITION without a table")?;
            let pk = self.find_rel(&q, &["table", "foreign_table"])?;
            self.update_table(&pk, |d| {
                if let Details::Table { partition_of, .. } = d {
                    *partition_of = Some(t.key.clone());
                }
            });
            self.u.any_partitions = true;
            self.inherit_partition_indexes(&t.key, &pk);
        } else if c.eat_seq(&["detach", "partition"]) {
            if let Some(q) = c.qname() {
                if let Some(pk) = self.find(&q, &["table", "foreign_table"]) {
                    self.update_table(&pk, |d| {
                        if let Details::Table { partition_of, .. } = d {
                            *partition_of = None;
                        }
                    });
                }
            }
        }
        // Everything else (SET (...), ENABLE TRIGGER, CLUSTER ON, VALIDATE CONSTRAINT,
        // REPLICA IDENTITY, INHERIT, SET TABLESPACE, ...) changes no key.
        Ok(())
    }

    fn update_column(&mut self, key: &str, f: impl FnOnce(&mut Details)) {
        if let Some(o) = self.u.get_mut(key) {
            f(&mut o.details);
        }
    }

    fn update_table(&mut self, key: &str, f: impl FnOnce(&mut Details)) {
        if let Some(o) = self.u.get_mut(key) {
            f(&mut o.details);
        }
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

    fn alter_sequence(&mut self, c: &mut Cursor) -> R {
        let if_exists = c.eat_seq(&["if", "exists"]);
        let q = c.qname().ok_or("ALTER SEQUENCE without a name")?;
        let Some(key) = self.find(&q, &["sequence"]) else {
            return if if_exists {
                Ok(())
            } else {
                Err(format!("ALTER of unknown sequence {}", show(&q)))
            };
        };
        let line = c.toks[0].line;
        if c.eat_seq(&["rename", "to"]) {
            let new = c.ident().ok_or("RENAME TO without a name")?;
            return self.rename_object(&key, new, line);
        }
        if c.eat_seq(&["set", "schema"]) {
            let s = c.ident().ok_or("SET SCHEMA without a schema")?;
            return self.set_schema(&key, s);
        }
        let mut probe = c.clone();
        if let Some(col) = self.owned_by(&mut probe) {
            if let Some(o) = self.u.get_mut(&key) {
                o.details = Details::Sequence {
                    owned_by: Some(col),
                };
            }
        } else if c.rest().windows(3).any(|w| {
            w[0].is_keyword(self.src, "owned")
                && w[1].is_keyword(self.src, "by")
                && w[2].is_keyword(self.src, "none")
        }) {
            if let Some(o) = self.u.get_mut(&key) {
                o.details = Details::Sequence { owned_by: None };
            }
        }
        Ok(())
    }

    fn alter_index(&mut self, c: &mut Cursor) -> R {
        if c.eat_seq(&["all", "in"]) {
            return Ok(());
        }
        let if_exists = c.eat_seq(&["if", "exists"]);
        let q = c.qname().ok_or("ALTER INDEX without a name")?;
        let Some(key) = self.find_index(&q) else {
            return if if_exists {
                Ok(())
            } else {
                Err(format!("ALTER of unknown index {}", show(&q)))
            };
        };
        if c.eat_seq(&["rename", "to"]) {
            let new = c.ident().ok_or("RENAME TO without a name")?;
            return self.rename_object(&key, new, c.toks[0].line);
        }
        Ok(())
    }

    fn alter_function(&mut self, c: &mut Cursor) -> R {
        let if_exists = c.eat_seq(&["if", "exists"]);
        let q = c.qname().ok_or("ALTER FUNCTION without a name")?;
        let args = c.parens();
        let keys = self.find_functions(&q, args);
        if keys.is_empty() {
            return if if_exists {
                Ok(())
            } else {
                Err(format!("ALTER of unknown function {}", show(&q)))
            };
        }
        let line = c.toks[0].line;
        if c.eat_seq(&["rename", "to"]) {
            let new = c.ident().ok_or("RENAME TO without a name")?;
            for k in keys {
                self.rename_object(&k, new.clone(), line)?;
            }
        } else if c.eat_seq(&["set", "schema"]) {
            let s = c.ident().ok_or("SET SCHEMA without a schema")?;
            for k in keys {
                if let Some(o) = self.u.get_mut(&k) {
                    o.schema = Some(s.clone());
                }
                self.u.rekey(&[k]);
            }
        }
        Ok(())
    }

    fn alter_type(&mut self, c: &mut Cursor) -> R {
        let q = c.qname().ok_or("ALTER TYPE without a name")?;
        let Some(key) = self.find(&q, &["type"]) else {
            return Err(format!("ALTER of unknown type {}", show(&q)));
        };
        let line = c.toks[0].line;
        if c.eat_seq(&["rename", "to"]) {
            let new = c.ident().ok_or("RENAME TO without a name")?;
            return self.rename_object(&key, new, line);
        }
        if c.eat_seq(&["set", "schema"]) {
            let s = c.ident().ok_or("SET SCHEMA without a schema")?;
            if let Some(o) = self.u.get_mut(&key) {
                o.schema = Some(s);
            }
            self.u.rekey(&[key]);
            return Ok(());
        }
        if c.eat_seq(&["add", "value"]) {
            c.eat_seq(&["if", "not", "exists"]);
            let label = c.string().ok_or("ADD VALUE without a label")?;
            let before = c.eat("before");
            let after = !before && c.eat("after");
            let anchor = c.string();
            if let Some(o) = self.u.get_mut(&key) {
                if let Details::Type { labels, .. } = &mut o.details {
                    if !labels.contains(&label) {
                        let at = anchor
                            .and_then(|a| labels.iter().position(|l| *l == a))
                            .map(|p| if after { p + 1 } else { p });
                        match at {
                            Some(p) if before || after => labels.insert(p, label),
                            _ => labels.push(label),
                        }
                    }
                }
            }
            return Ok(());
        }
        if c.eat_seq(&["rename", "value"]) {
            let old = c.string().ok_or("RENAME VALUE without a label")?;
            c.eat("to");
            let new = c.string().ok_or("RENAME VALUE without a new label")?;
            if let Some(o) = self.u.get_mut(&key) {
                if let Details::Type { labels, .. } = &mut o.details {
                    for l in labels.iter_mut() {
                        if *l == old {
                            *l = new.clone();
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// ALTER TRIGGER / POLICY name ON table RENAME TO new.
    fn alter_child(&mut self, c: &mut Cursor, kind: &str) -> R {
        let name = c.ident().ok_or("ALTER without a name")?;
        if !c.eat("on") {
            return Err(format!("ALTER {} without ON", kind.to_uppercase()));
        }
        let q = c.qname().ok_or("ALTER without a table")?;
        let tk = self.find_rel(&q, TABLE_LIKE)?;
        let (s, t) = self.parent_names(&tk);
        let key = object::key(kind, &[&s, &t, &name]);
        if !self.u.contains(&key) {
            return Err(format!("ALTER of unknown {kind} {name}"));
        }
        if c.eat_seq(&["rename", "to"]) {
            let new = c.ident().ok_or("RENAME TO without a name")?;
            return self.rename_object(&key, new, c.toks[0].line);
        }
        Ok(())
    }

    fn alter_schema(&mut self, c: &mut Cursor) -> R {
        let old = c.ident().ok_or("ALTER SCHEMA without a name")?;
        if !c.eat_seq(&["rename", "to"]) {
            return Ok(());
        }
        let new = c.ident().ok_or("RENAME TO without a name")?;
        let key = object::key("schema", &[&old]);
        if let Some(o) = self.u.get_mut(&key) {
            o.name = new.clone();
            o.defined_at = Location {
                file: self.file.to_string(),
                line: c.toks[0].line,
            };
        }
        let mut changed = vec![key];
        let inside: Vec<String> = self
            .u
            .objects()
            .filter(|o| o.schema.as_deref() == Some(old.as_str()))
            .map(|o| o.key.clone())
            .collect();
        for k in &inside {
            if let Some(o) = self.u.get_mut(k) {
                o.schema = Some(new.clone());
            }
        }
        // Parents first, so children are re-keyed with their parent.
        let (parents, children): (Vec<String>, Vec<String>) = inside
            .into_iter()
            .partition(|k| self.u.get(k).is_some_and(|o| o.parent.is_none()));
        changed.extend(parents);
        self.u.rekey(&changed);
        // Children whose parent was not re-keyed through the parent pass (none expected).
        let left: Vec<String> = children
            .into_iter()
            .filter(|k| self.u.contains(k))
            .collect();
        self.u.rekey(&left);
        Ok(())
    }

    // ---- DROP --------------------------------------------------------------------------

    fn drop(&mut self, c: &mut Cursor) -> R {
        let kind = if c.eat("table") {
            "table"
        } else if c.eat_seq(&["foreign", "table"]) {
            "foreign_table"
        } else if c.eat("view") {
            "view"
        } else if c.eat_seq(&["materialized", "view"]) {
            "materialized_view"
        } else if c.eat("index") {
            c.eat("concurrently");
            "index"
        } else if c.eat("sequence") {
            "sequence"
        } else if c.eat("function") || c.eat("procedure") || c.eat("routine") {
            "function"
        } else if c.eat("trigger") {
            "trigger"
        } else if c.eat("policy") {
            "policy"
        } else if c.eat("type") || c.eat("domain") {
            "type"
        } else if c.eat("schema") {
            "schema"
        } else if c.eat("extension") {
            "extension"
        } else if c.eat("role") || c.eat("user") || c.eat("group") {
            if c.is("mapping") {
                return Ok(());
            }
            "role"
        } else {
            // DROP OWNED, RULE, AGGREGATE, OPERATOR, CAST, ...: no key kind.
            return Ok(());
        };
        let if_exists = c.eat_seq(&["if", "exists"]);
        let mut rest = c.rest();
        while let Some(last) = rest.last() {
            if last.is_keyword(self.src, "cascade") || last.is_keyword(self.src, "restrict") {
                rest = &rest[..rest.len() - 1];
            } else {
                break;
            }
        }
        let mut unknown = Vec::new();
        if kind == "trigger" || kind == "policy" {
            let mut ic = Cursor::new(self.src, rest);
            let name = ic.ident().ok_or("DROP without a name")?;
            if !ic.eat("on") {
                return Err(format!("DROP {} without ON", kind.to_uppercase()));
            }
            let q = ic.qname().ok_or("DROP without a table")?;
            let key = self.find(&q, TABLE_LIKE).map(|tk| {
                let (s, t) = self.parent_names(&tk);
                object::key(kind, &[&s, &t, &name])
            });
            match key {
                Some(k) if self.u.contains(&k) => self.u.remove_cascade(&k),
                _ => unknown.push(name),
            }
        } else {
            for item in split_commas(rest) {
                let mut ic = Cursor::new(self.src, item);
                let Some(q) = ic.qname() else { continue };
                let keys: Vec<String> = match kind {
                    "function" => self.find_functions(&q, ic.parens()),
                    "index" => self.find_index(&q).into_iter().collect(),
                    "schema" | "extension" | "role" => {
                        let k = object::key(kind, &[&q.name]);
                        if self.u.contains(&k) {
                            vec![k]
                        } else {
                            vec![]
                        }
                    }
                    _ => self.find(&q, &[kind]).into_iter().collect(),
                };
                if keys.is_empty() {
                    unknown.push(show(&q));
                }
                for k in keys {
                    self.drop_key(&k, kind, &q.name);
                }
            }
        }
        if unknown.is_empty() || if_exists {
            Ok(())
        } else {
            Err(format!("DROP of unknown {kind} {}", unknown.join(", ")))
        }
    }

    fn drop_key(&mut self, key: &str, kind: &str, name: &str) {
        match kind {
            "schema" => {
                let inside: Vec<String> = self
                    .u
                    .objects()
                    .filter(|o| o.schema.as_deref() == Some(name))
                    .map(|o| o.key.clone())
                    .collect();
                for k in inside {
                    self.u.remove_cascade(&k);
                }
                self.u.remove_cascade(key);
            }
            "table" | "foreign_table" => {
                let parts: Vec<String> = self
                    .u
                    .objects()
                    .filter(|o| matches!(&o.details, Details::Table { partition_of: Some(p), .. } if p == key))
                    .map(|o| o.key.clone())
                    .collect();
                for p in parts {
                    self.u.remove_cascade(&p);
                }
                self.u.remove_cascade(key);
            }
            _ => self.u.remove_cascade(key),
        }
    }
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

fn show(q: &QName) -> String {
    match &q.schema {
        Some(s) => format!("{}.{}", object::quote_part(s), object::quote_part(&q.name)),
        None => object::quote_part(&q.name).into_owned(),
    }
}

fn parse_path_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
                s[1..s.len() - 1].replace("\"\"", "\"")
            } else {
                s.to_ascii_lowercase()
            }
        })
        .collect()
}

fn strip_typmod(t: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for ch in t.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    crate::object::normalize_type(&out)
}

/// Whether a table element / ADD starts a table constraint.
fn is_constraint_start(c: &Cursor) -> bool {
    [
        "constraint",
        "primary",
        "unique",
        "check",
        "foreign",
        "exclude",
    ]
    .iter()
    .any(|k| c.is(k))
}

/// Keywords that end a column's type (or a DEFAULT expression).
fn is_column_constraint_kw(c: &Cursor) -> bool {
    const KW: &[&str] = &[
        "constraint",
        "null",
        "default",
        "primary",
        "unique",
        "references",
        "check",
        "generated",
        "collate",
        "compression",
        "storage",
        "deferrable",
        "initially",
    ];
    if c.is("not") {
        return c.is_at(1, "null") || c.is_at(1, "deferrable");
    }
    // `WITH OPTIONS` of typed tables and partitions (a type never contains WITH but
    // `timestamp with time zone` does: only `with options` counts).
    if c.is("with") {
        return c.is_at(1, "options");
    }
    KW.iter().any(|k| c.is(k))
}

fn is_routine_option(c: &Cursor) -> bool {
    const KW: &[&str] = &[
        "language",
        "as",
        "immutable",
        "stable",
        "volatile",
        "strict",
        "called",
        "security",
        "external",
        "set",
        "cost",
        "rows",
        "support",
        "parallel",
        "leakproof",
        "window",
        "transform",
        "begin",
        "return",
    ];
    if c.is("not") {
        return c.is_at(1, "leakproof");
    }
    KW.iter().any(|k| c.is(k))
}

/// After PRIMARY KEY / UNIQUE: `INCLUDE (..)`, `WITH (..)`, `USING INDEX TABLESPACE x`.
/// Every pass of the loop consumes a token or stops.
fn skip_index_params(c: &mut Cursor) {
    loop {
        if c.eat("include") || c.eat("with") {
            c.parens();
        } else if c.eat_seq(&["using", "index", "tablespace"]) {
            c.ident();
        } else if c.parens().is_none() {
            // Not a parameter, or an unclosed `(`: nothing more to skip (and no progress
            // to make, so stop rather than loop).
            break;
        }
    }
}

/// After REFERENCES: the table, its columns, MATCH, ON DELETE/UPDATE actions.
fn skip_references(c: &mut Cursor) {
    c.qname();
    c.parens();
    loop {
        if c.eat("match") {
            c.ident();
        } else if c.eat("on") {
            c.eat("delete");
            c.eat("update");
            if c.eat("cascade") || c.eat("restrict") || c.eat_seq(&["no", "action"]) {
            } else if c.eat("set") {
                c.eat("null");
                c.eat("default");
                c.parens();
            }
        } else {
            break;
        }
    }
}

/// `SEQUENCE NAME x` inside identity options.
fn sequence_name_option(src: &[u8], opts: &[Token]) -> Option<QName> {
    let mut c = Cursor::new(src, opts);
    while !c.at_end() {
        if c.eat_seq(&["sequence", "name"]) {
            return c.qname();
        }
        c.skip_one();
    }
    None
}

/// The column name an index element contributes to the index's default name.
fn index_element_name(src: &[u8], el: &[Token]) -> String {
    let Some(first) = el.first() else {
        return "expr".into();
    };
    if first.kind == TokenKind::LParen {
        let close = matching(el, 0).unwrap_or(el.len());
        let inner = el.get(1..close).unwrap_or_default();
        return figure_colname(src, inner).unwrap_or_else(|| "expr".into());
    }
    // A function call: `lower(name)`, `schema.f(x)`.
    let mut j = 0;
    while j + 2 < el.len()
        && matches!(el[j].kind, TokenKind::Ident | TokenKind::QuotedIdent)
        && el[j + 1].kind == TokenKind::Dot
    {
        j += 2;
    }
    if el.get(j + 1).is_some_and(|t| t.kind == TokenKind::LParen) {
        if let Some(close) = matching(el, j + 1) {
            return figure_colname(src, &el[..=close]).unwrap_or_else(|| "expr".into());
        }
    }
    lossy(&crate::lexer::ident_value(src, first))
}

/// The output name of one select-list item.
fn select_item_name(src: &[u8], item: &[Token]) -> String {
    let n = item.len();
    let last = &item[n - 1];
    let is_name = matches!(last.kind, TokenKind::Ident | TokenKind::QuotedIdent);
    if n >= 2 && is_name && item[n - 2].is_keyword(src, "as") {
        return lossy(&crate::lexer::ident_value(src, last));
    }
    // A bare alias: `expr alias`.
    if n >= 2 && is_name {
        // Keywords after which an expression goes on (so what follows is no alias)...
        const NEEDS_OPERAND: &[&str] = &[
            "and",
            "or",
            "not",
            "is",
            "in",
            "like",
            "ilike",
            "similar",
            "between",
            "from",
            "distinct",
            "then",
            "else",
            "when",
            "case",
            "collate",
            "at",
            "zone",
            "time",
            "precision",
            "varying",
            "as",
            "by",
            "symmetric",
            "escape",
            "any",
            "all",
            "some",
            "operator",
        ];
        // ...and words that end an expression themselves.
        const ENDS_EXPR: &[&str] = &[
            "end",
            "null",
            "true",
            "false",
            "unknown",
            "asc",
            "desc",
            "zone",
            "precision",
            "varying",
        ];
        let prev = &item[n - 2];
        let prev_ok = matches!(
            prev.kind,
            TokenKind::Ident
                | TokenKind::QuotedIdent
                | TokenKind::RParen
                | TokenKind::RBracket
                | TokenKind::String
                | TokenKind::Number
        ) && !NEEDS_OPERAND.iter().any(|k| prev.is_keyword(src, k));
        let last_ok = last.kind == TokenKind::QuotedIdent
            || !ENDS_EXPR.iter().any(|k| last.is_keyword(src, k));
        // `a.b` is a reference, `x::text` a cast: neither has an alias at its end.
        if prev_ok && last_ok && !is_type_tail(src, item) {
            return lossy(&crate::lexer::ident_value(src, last));
        }
    }
    figure_colname(src, item).unwrap_or_else(|| "?column?".into())
}

/// Whether the item ends in a cast's multi-word type (`x::double precision`), whose last
/// word is not an alias.
fn is_type_tail(src: &[u8], item: &[Token]) -> bool {
    let n = item.len();
    n >= 3 && item[n - 3].kind == TokenKind::Cast && {
        let w = lossy(item[n - 2].text(src)).to_ascii_lowercase();
        matches!(w.as_str(), "double" | "character" | "bit" | "char")
    }
}

/// Whether an argument's first token is its name (`p_x int`) rather than the start of a
/// type (`double precision`, `timestamp with time zone`, `int[]`).
fn has_param_name(src: &[u8], a: &[Token]) -> bool {
    if a.len() < 2 {
        return false;
    }
    if !matches!(a[0].kind, TokenKind::Ident | TokenKind::QuotedIdent) {
        return false;
    }
    if !matches!(a[1].kind, TokenKind::Ident | TokenKind::QuotedIdent) {
        return false;
    }
    if a[0].kind == TokenKind::QuotedIdent {
        return true;
    }
    let w0 = lossy(a[0].text(src)).to_ascii_lowercase();
    let w1 = lossy(a[1].text(src)).to_ascii_lowercase();
    let multiword = matches!(
        (w0.as_str(), w1.as_str()),
        ("double", "precision")
            | (
                "character" | "char" | "national" | "nchar",
                "varying" | "character" | "char"
            )
            | ("bit", "varying")
            | ("timestamp" | "time", "with" | "without")
            | (
                "interval",
                "year" | "month" | "day" | "hour" | "minute" | "second"
            )
    );
    !multiword
}

/// Line and column of byte `at`, counting from a token whose start position is known.
fn position_of(src: &[u8], at: usize, tok: &Token) -> (u32, u32) {
    let start = tok.start as usize;
    let mut line = tok.line;
    let mut col = tok.col;
    let span = if src.get(start..at).is_some() {
        start..at
    } else {
        0..0
    };
    for i in span {
        if crate::lexer::is_line_break(src, i) {
            line = line.saturating_add(1);
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}
