//! Sequences: `CREATE SEQUENCE`, `ALTER SEQUENCE`, `OWNED BY`, and the sequences serial and
//! identity columns own.

use super::{show, Reader, TableCtx, R, TABLE_LIKE};
use crate::lexer::TokenKind;
use crate::object::{self, ObjectKind};
use crate::universe::naming::choose_relation_name;
use crate::universe::split::{Cursor, QName};
use crate::universe::Details;

impl Reader<'_, '_> {
    pub(super) fn create_sequence(&mut self, c: &mut Cursor) -> R {
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

    pub(super) fn alter_sequence(&mut self, c: &mut Cursor) -> R {
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

    /// `<table>_<col>_seq` for serial and identity columns (or the SEQUENCE NAME given).
    pub(super) fn create_owned_sequence(
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
}
