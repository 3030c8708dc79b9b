//! `CREATE TYPE` (enum, composite, range with its multirange and constructors, base,
//! shell), `CREATE DOMAIN` and `ALTER TYPE` (renames, `ADD VALUE`, `RENAME VALUE`).

use super::clause::is_column_constraint_kw;
use super::{show, Reader, R};
use crate::lexer::{Token, TokenKind};
use crate::object::{self, ObjectKind};
use crate::universe::naming::type_text;
use crate::universe::split::{split_commas, truncate_ident, Cursor, QName};
use crate::universe::Details;

impl Reader<'_, '_> {
    pub(super) fn create_type(&mut self, c: &mut Cursor) -> R {
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

    pub(super) fn create_domain(&mut self, c: &mut Cursor) -> R {
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

    pub(super) fn alter_type(&mut self, c: &mut Cursor) -> R {
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
}
