//! `CREATE TABLE` (also `FOREIGN TABLE`, `PARTITION OF`, `OF type`, `INHERITS`, `AS`):
//! columns with their types, defaults and identity/serial sequences, `LIKE`, and table
//! constraints, whose indexes are made in [`super::index`].

use super::clause::{
    index_element_name, is_column_constraint_kw, is_constraint_start, sequence_name_option,
};
use super::{show, PendingIndex, Reader, TableCtx, R, TABLE_LIKE};
use crate::lexer::Token;
use crate::object::{self, ObjectKind};
use crate::universe::naming::type_text;
use crate::universe::split::{lossy, split_commas, text_of, truncate_ident, Cursor, QName};
use crate::universe::{Details, SchemaObject};

impl Reader<'_, '_> {
    pub(super) fn create_table(&mut self, c: &mut Cursor, kind: ObjectKind) -> R {
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
    pub(super) fn column_def(
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

    pub(super) fn table_constraint(&mut self, t: &mut TableCtx, c: &mut Cursor) -> R {
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

    pub(super) fn column_list(&self, c: &mut Cursor) -> Vec<String> {
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

    pub(super) fn add_column(
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
    pub(super) fn add_column_full(
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
