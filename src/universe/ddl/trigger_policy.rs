//! Triggers and policies: objects named per table (`CREATE TRIGGER`, `CREATE POLICY`,
//! `ALTER TRIGGER / POLICY .. RENAME`). On a table of a schema the migrations never create
//! (a platform's `auth.users`) they are kept, with the table recorded as external.

use super::{show, Reader, R, TABLE_LIKE};
use crate::lexer::TokenKind;
use crate::object::{self, ObjectKind};
use crate::universe::split::Cursor;
use crate::universe::Details;

impl Reader<'_, '_> {
    pub(super) fn create_trigger(&mut self, c: &mut Cursor) -> R {
        let name = c.ident().ok_or("CREATE TRIGGER without a name")?;
        let line = c.toks[0].line;
        // `{BEFORE | AFTER | INSTEAD OF} event [OR event ...] ON table`.
        let mut events = Vec::new();
        while !c.at_end() && !c.is("on") {
            for e in ["insert", "update", "delete", "truncate"] {
                if c.is(e) && !events.iter().any(|x| x == e) {
                    events.push(e.to_string());
                }
            }
            c.skip_one();
        }
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
        let key = o.key.clone();
        self.u.insert(o);
        if !events.is_empty() {
            self.u.set_trigger_events(key, events);
        }
        Ok(())
    }

    pub(super) fn create_policy(&mut self, c: &mut Cursor) -> R {
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

    /// ALTER TRIGGER / POLICY name ON table RENAME TO new.
    pub(super) fn alter_child(&mut self, c: &mut Cursor, kind: &str) -> R {
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
}
