//! `CREATE FUNCTION` / `PROCEDURE` and `ALTER FUNCTION`: the identity argument types a
//! function's key is made of, shown like `format_type` shows them.

use super::{show, Reader, R, TABLE_LIKE};
use crate::lexer::{Token, TokenKind};
use crate::object::{self, ObjectKind};
use crate::universe::naming::type_text;
use crate::universe::split::{lossy, split_commas, text_of, Cursor, QName};
use crate::universe::Details;

impl Reader<'_, '_> {
    pub(super) fn create_function(&mut self, c: &mut Cursor, procedure: bool) -> R {
        let q = c.qname().ok_or("CREATE FUNCTION without a name")?;
        let args = c
            .parens()
            .ok_or("CREATE FUNCTION without an argument list")?;
        let types = self.signature_types(args);
        let schema = self.schema_for(&q);
        let mut returns = None;
        let mut language = None;
        let mut body: Option<Vec<u8>> = None;
        while !c.at_end() {
            if c.eat("as") {
                // `AS $$ body $$` or `AS 'body'` (C functions: `AS 'obj', 'symbol'`).
                if let Some(t) = c
                    .peek()
                    .filter(|t| matches!(t.kind, TokenKind::String | TokenKind::DollarString))
                {
                    body = Some(crate::lexer::string_value(self.src, t).into_owned());
                    c.skip_one();
                }
            } else if c.is("begin") && c.is_at(1, "atomic") {
                // A SQL-standard body: the rest of the statement.
                body = Some(text_of(self.src, c.rest()).into_bytes());
                break;
            } else if c.eat("returns") {
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
        // Bodies the call graph can read; C and other languages' are not SQL.
        let body = body.filter(|_| matches!(language.as_deref(), Some("sql" | "plpgsql") | None));
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
        let key = o.key.clone();
        self.u.insert(o);
        self.u.set_body(key, body);
        Ok(())
    }

    /// Identity argument types of a signature (`(a int, OUT b text, VARIADIC c text[])`):
    /// modes, names and defaults dropped, OUT arguments left out.
    pub(super) fn signature_types(&self, args: &[Token]) -> Vec<String> {
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
    pub(super) fn arg_type(&self, toks: &[Token]) -> String {
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

    pub(super) fn alter_function(&mut self, c: &mut Cursor) -> R {
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
    object::normalize_type(&out)
}
