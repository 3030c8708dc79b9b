//! `CREATE VIEW` / `MATERIALIZED VIEW`, and the output columns of a query (also for
//! `CREATE TABLE AS`) when they can be known statically.

use super::{show, Reader, TableCtx, R, TABLE_LIKE};
use crate::lexer::{Token, TokenKind};
use crate::object::{self, ObjectKind};
use crate::universe::naming::figure_colname;
use crate::universe::split::{lossy, matching, split_commas, Cursor};
use crate::universe::Details;

impl Reader<'_, '_> {
    pub(super) fn create_view(&mut self, c: &mut Cursor, kind: ObjectKind) -> R {
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
    pub(super) fn query_columns(&self, mut toks: &[Token]) -> Option<Vec<String>> {
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
