//! Objects of the database rather than of a schema: schemas (`CREATE` / `ALTER SCHEMA`,
//! whose rename re-keys everything inside), extensions and roles.

use super::{Reader, R};
use crate::object::{self, ObjectKind};
use crate::universe::split::Cursor;
use crate::universe::{Details, Location};

impl Reader<'_, '_> {
    pub(super) fn create_schema(&mut self, c: &mut Cursor) -> R {
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

    pub(super) fn alter_schema(&mut self, c: &mut Cursor) -> R {
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

    pub(super) fn create_extension(&mut self, c: &mut Cursor) -> R {
        c.eat_seq(&["if", "not", "exists"]);
        let line = c.line();
        let name = c.ident().ok_or("CREATE EXTENSION without a name")?;
        let o = self.new_object(ObjectKind::Extension, None, None, name, line, Details::None);
        if !self.u.contains(&o.key) {
            self.u.insert(o);
        }
        Ok(())
    }

    pub(super) fn create_role(&mut self, c: &mut Cursor) -> R {
        let line = c.line();
        let name = c.ident().ok_or("CREATE ROLE without a name")?;
        let o = self.new_object(ObjectKind::Role, None, None, name, line, Details::None);
        self.u.insert(o);
        Ok(())
    }

    /// `ALTER ROLE / USER / GROUP name RENAME TO new`; other forms change no key.
    pub(super) fn alter_role(&mut self, c: &mut Cursor) -> R {
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
        Ok(())
    }
}
