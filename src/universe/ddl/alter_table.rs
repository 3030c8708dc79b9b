//! `ALTER TABLE` (and `ALTER VIEW` / `MATERIALIZED VIEW` / `FOREIGN TABLE`): renames, `SET
//! SCHEMA`, and the comma-separated actions: columns added, dropped or altered (also on
//! partitions and inheriting tables unless `ONLY`), constraints, row level security,
//! owner, partitions attached or detached.

use super::clause::{is_constraint_start, sequence_name_option};
use super::{show, Reader, TableCtx, R};
use crate::lexer::{Token, TokenKind};
use crate::object;
use crate::universe::naming::type_text;
use crate::universe::split::{split_commas, text_of, Cursor};
use crate::universe::{Details, SchemaObject};

impl Reader<'_, '_> {
    /// `ALTER TABLE [IF EXISTS] [ONLY] name ...` on a relation of one of `kinds`.
    pub(super) fn alter_table(&mut self, c: &mut Cursor, kinds: &[&str]) -> R {
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
            return self.alter_table_rename(&key, only, c, line);
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

    /// `RENAME TO`, `RENAME CONSTRAINT` (the constraint's index) or `RENAME [COLUMN]`, on
    /// descendants too unless `ONLY`.
    fn alter_table_rename(&mut self, key: &str, only: bool, c: &mut Cursor, line: u32) -> R {
        if c.eat("to") {
            let new = c.ident().ok_or("RENAME TO without a name")?;
            return self.rename_object(key, new, line);
        }
        if c.eat("constraint") {
            let old = c.ident().ok_or("RENAME CONSTRAINT without a name")?;
            c.eat("to");
            let new = c.ident().ok_or("RENAME CONSTRAINT without a new name")?;
            let (schema, _) = self.parent_names(key);
            if let Some(ik) = self.u.find_index(&schema, &old) {
                return self.rename_object(&ik, new, line);
            }
            return Ok(());
        }
        c.eat("column");
        let old = c.ident().ok_or("RENAME COLUMN without a name")?;
        c.eat("to");
        let new = c.ident().ok_or("RENAME COLUMN without a new name")?;
        let (schema, tname) = self.parent_names(key);
        let ck = object::key("column", &[&schema, &tname, &old]);
        if !self.u.contains(&ck) {
            return Err(format!("RENAME of unknown column {old}"));
        }
        if !only {
            for d in self.u.descendants(key) {
                let (s, t) = self.parent_names(&d);
                let dk = object::key("column", &[&s, &t, &old]);
                if self.u.contains(&dk) {
                    self.rename_object(&dk, new.clone(), line)?;
                }
            }
        }
        self.rename_object(&ck, new, line)
    }

    /// One action of the comma-separated list.
    fn alter_table_action(&mut self, t: &mut TableCtx, action: &[Token]) -> R {
        let mut c = Cursor::new(self.src, action);
        let line = action[0].line;
        if c.eat("add") {
            return self.alter_add(t, &mut c);
        }
        if c.eat("drop") {
            if c.eat("constraint") {
                return self.drop_constraint(t, &mut c);
            }
            return self.drop_column(t, &mut c);
        }
        if c.eat("alter") {
            return self.alter_column(t, &mut c, line);
        }
        self.alter_table_setting(t, &mut c)
    }

    /// `ADD` a table constraint, or `ADD [COLUMN] [IF NOT EXISTS] col type ...`.
    fn alter_add(&mut self, t: &mut TableCtx, c: &mut Cursor) -> R {
        if is_constraint_start(c) {
            return self.table_constraint(t, c);
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
        let name = self.column_def(t, c, line)?;
        if !t.only {
            self.add_column_to_descendants(t, &name, line);
        }
        Ok(())
    }

    /// Partitions and inheriting tables get a column added to their parent too, with the
    /// same type, default and flags, unless they have one of that name.
    fn add_column_to_descendants(&mut self, t: &TableCtx, name: &str, line: u32) {
        let ck = object::key("column", &[&t.schema, &t.name, name]);
        let Some(SchemaObject {
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
        }) = self.u.get(&ck).cloned()
        else {
            return;
        };
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
            let dk = object::key("column", &[&dt.schema, &dt.name, name]);
            if !self.u.contains(&dk) {
                self.add_column_full(
                    &dt,
                    name,
                    data_type.clone(),
                    line,
                    not_null,
                    default.clone(),
                    generated,
                    identity,
                );
            }
        }
    }

    /// `DROP CONSTRAINT [IF EXISTS] name`: the index behind a PRIMARY KEY / UNIQUE /
    /// EXCLUDE constraint goes; other constraints have no key.
    fn drop_constraint(&mut self, t: &TableCtx, c: &mut Cursor) -> R {
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
        Ok(())
    }

    /// `DROP [COLUMN] [IF EXISTS] col`: the column (on descendants too unless `ONLY`) and
    /// the table's indexes over it.
    fn drop_column(&mut self, t: &TableCtx, c: &mut Cursor) -> R {
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
        Ok(())
    }

    /// `ALTER [COLUMN] col ...`: its type, NOT NULL, default and identity. Other forms
    /// (`SET STATISTICS`, `SET STORAGE`, ...) change nothing the universe keeps.
    fn alter_column(&mut self, t: &TableCtx, c: &mut Cursor, line: u32) -> R {
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
            self.update_details(&ck, |d| {
                if let Details::Column { data_type, .. } = d {
                    *data_type = Some(ty);
                }
            });
        } else if c.eat_seq(&["set", "not", "null"]) {
            self.update_details(&ck, |d| {
                if let Details::Column { not_null, .. } = d {
                    *not_null = true;
                }
            });
        } else if c.eat_seq(&["drop", "not", "null"]) {
            self.update_details(&ck, |d| {
                if let Details::Column { not_null, .. } = d {
                    *not_null = false;
                }
            });
        } else if c.eat_seq(&["set", "default"]) {
            let v = text_of(self.src, c.rest());
            self.update_details(&ck, |d| {
                if let Details::Column { default, .. } = d {
                    *default = Some(v);
                }
            });
        } else if c.eat_seq(&["drop", "default"]) {
            self.update_details(&ck, |d| {
                if let Details::Column { default, .. } = d {
                    *default = None;
                }
            });
        } else if c.eat_seq(&["add", "generated"]) {
            self.add_identity(t, &ck, &n, c, line);
        } else if c.eat_seq(&["drop", "identity"]) {
            self.drop_identity(&ck);
        }
        Ok(())
    }

    /// `ADD GENERATED .. AS IDENTITY [(SEQUENCE NAME x ..)]`: the column becomes an
    /// identity column (hence NOT NULL) and owns a new sequence.
    fn add_identity(&mut self, t: &TableCtx, ck: &str, col: &str, c: &mut Cursor, line: u32) {
        let opts = {
            c.skip_until(&["identity"]);
            c.eat("identity");
            c.parens()
        };
        let seq_name = opts.and_then(|o| sequence_name_option(self.src, o));
        self.update_details(ck, |d| {
            if let Details::Column {
                identity, not_null, ..
            } = d
            {
                *identity = true;
                *not_null = true;
            }
        });
        self.create_owned_sequence(t, col, line, seq_name);
    }

    /// `DROP IDENTITY`: the column is a plain one again and its sequence goes.
    fn drop_identity(&mut self, ck: &str) {
        self.update_details(ck, |d| {
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

    /// Actions on the table itself: row level security, owner, partitions attached or
    /// detached. Everything else (SET (...), ENABLE TRIGGER, CLUSTER ON, VALIDATE
    /// CONSTRAINT, REPLICA IDENTITY, INHERIT, SET TABLESPACE, ...) changes no key.
    fn alter_table_setting(&mut self, t: &TableCtx, c: &mut Cursor) -> R {
        if let Some((forced, on)) = rls_switch(c) {
            self.update_details(&t.key, |d| {
                if let Details::Table {
                    rls_enabled,
                    rls_forced,
                    ..
                } = d
                {
                    if forced {
                        *rls_forced = on;
                    } else {
                        *rls_enabled = on;
                    }
                }
            });
        } else if c.eat_seq(&["owner", "to"]) {
            let r = c.ident();
            self.update_details(&t.key, |d| match d {
                Details::Table { owner, .. } | Details::View { owner, .. } => *owner = r,
                _ => {}
            });
        } else if c.eat_seq(&["attach", "partition"]) {
            let q = c.qname().ok_or("ATTACH PARTITION without a table")?;
            let pk = self.find_rel(&q, &["table", "foreign_table"])?;
            self.update_details(&pk, |d| {
                if let Details::Table { partition_of, .. } = d {
                    *partition_of = Some(t.key.clone());
                }
            });
            self.u.any_partitions = true;
            self.inherit_partition_indexes(&t.key, &pk);
        } else if c.eat_seq(&["detach", "partition"]) {
            if let Some(q) = c.qname() {
                if let Some(pk) = self.find(&q, &["table", "foreign_table"]) {
                    self.update_details(&pk, |d| {
                        if let Details::Table { partition_of, .. } = d {
                            *partition_of = None;
                        }
                    });
                }
            }
        }
        Ok(())
    }

    fn update_details(&mut self, key: &str, f: impl FnOnce(&mut Details)) {
        if let Some(o) = self.u.get_mut(key) {
            f(&mut o.details);
        }
    }
}

/// `ENABLE`, `DISABLE`, `FORCE` or `NO FORCE` `ROW LEVEL SECURITY`: (whether it is about
/// forcing, on or off). Consumes nothing unless the whole phrase is there (`ENABLE
/// TRIGGER ..` is not ours).
fn rls_switch(c: &mut Cursor) -> Option<(bool, bool)> {
    let mut p = c.clone();
    let (forced, on) = if p.eat("enable") {
        (false, true)
    } else if p.eat("disable") {
        (false, false)
    } else if p.eat("force") {
        (true, true)
    } else if p.eat_seq(&["no", "force"]) {
        (true, false)
    } else {
        return None;
    };
    if !p.eat_seq(&["row", "level", "security"]) {
        return None;
    }
    *c = p;
    Some((forced, on))
}
