//! `DROP` of every key kind, cascading to what PostgreSQL drops with it (see
//! [`super::super::Universe::remove_cascade`]).

use super::{show, Reader, R, TABLE_LIKE};
use crate::object;
use crate::universe::split::{split_commas, Cursor};
use crate::universe::Details;

impl Reader<'_, '_> {
    pub(super) fn drop(&mut self, c: &mut Cursor) -> R {
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
