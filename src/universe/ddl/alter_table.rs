//! `ALTER TABLE` (and `ALTER VIEW` / `MATERIALIZED VIEW` / `FOREIGN TABLE`): renames, `SET
//! SCHEMA`, and the comma-separated actions: columns added, dropped or altered (also on
//! partitions and inheriting tables unless `ONLY`), constraints, row level security,
//! owner, partitions attached or detached.

use super::sequence::sequence_name_option;
use super::table::{is_constraint_start, TableCtx};
use super::{show, Reader, R};
use crate::lexer::{Token, TokenKind};
use crate::object;
use crate::universe::naming::type_text;
use crate::universe::split::{split_commas, text_of, Cursor};
use crate::universe::{Details, SchemaObject};

impl Reader<'_, '_> {
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
}
