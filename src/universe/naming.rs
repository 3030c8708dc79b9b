//! PostgreSQL's rules for names it makes up, and type spelling for keys.

use super::split::{clip, lossy, matching, text_of, MAX_IDENT};
use crate::lexer::{ident_value, Token, TokenKind};

/// `makeObjectName(name1, name2, label)`: `name1_name2_label`, shortening the longer of
/// name1/name2 until the whole fits in 63 bytes.
pub fn make_object_name(name1: &str, name2: Option<&str>, label: &str) -> String {
    let label_over = if label.is_empty() { 0 } else { label.len() + 1 };
    let sep2 = if name2.is_some() { 1 } else { 0 };
    let avail = MAX_IDENT.saturating_sub(label_over + sep2);
    let mut n1 = name1.len();
    let mut n2 = name2.map_or(0, str::len);
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let mut out = clip(name1, n1).to_string();
    if let Some(name2) = name2 {
        out.push('_');
        out.push_str(clip(name2, n2));
    }
    if !label.is_empty() {
        out.push('_');
        out.push_str(label);
    }
    out
}

/// `ChooseRelationName`: `make_object_name`, then `label1`, `label2`, ... until `taken`
/// says the name is free.
pub fn choose_relation_name(
    name1: &str,
    name2: Option<&str>,
    label: &str,
    taken: impl Fn(&str) -> bool,
) -> String {
    let mut candidate = make_object_name(name1, name2, label);
    let mut pass = 0u32;
    while taken(&candidate) && pass < 10_000 {
        pass += 1;
        candidate = make_object_name(name1, name2, &format!("{label}{pass}"));
    }
    candidate
}

/// `ChooseIndexNameAddition`: column names joined by `_`, stopping once 63 bytes are
/// reached.
pub fn index_name_addition(cols: &[String]) -> String {
    let mut out = String::new();
    for c in cols {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(c);
        if out.len() >= MAX_IDENT {
            break;
        }
    }
    out
}

/// The column name PostgreSQL gives an expression (`FigureColnameInternal`): a column
/// reference's last name, a function's name, `case`, a cast's argument or else its type.
/// `None` when it has no idea (`?column?` in a select list, `expr` in an index).
pub fn figure_colname(src: &[u8], mut toks: &[Token]) -> Option<String> {
    // Redundant parentheses.
    while toks.len() >= 2
        && toks[0].kind == TokenKind::LParen
        && matching(toks, 0) == Some(toks.len() - 1)
    {
        toks = &toks[1..toks.len() - 1];
    }
    let first = toks.first()?;
    // A trailing top-level cast: `expr::type`.
    if let Some(at) = last_top_level(toks, TokenKind::Cast) {
        if at > 0 {
            return figure_colname(src, &toks[..at])
                .or_else(|| Some(cast_type_name(src, &toks[at + 1..])));
        }
    }
    if first.is_keyword(src, "case") {
        return Some("case".into());
    }
    if first.is_keyword(src, "array") {
        return Some("array".into());
    }
    if first.is_keyword(src, "exists") {
        return Some("exists".into());
    }
    // CAST(x AS t)
    if first.is_keyword(src, "cast") && toks.get(1).is_some_and(|t| t.kind == TokenKind::LParen) {
        if let Some(close) = matching(toks, 1) {
            if close == toks.len() - 1 {
                let inner = &toks[2..close];
                if let Some(as_at) = inner.iter().position(|t| t.is_keyword(src, "as")) {
                    return figure_colname(src, &inner[..as_at])
                        .or_else(|| Some(cast_type_name(src, &inner[as_at + 1..])));
                }
            }
        }
    }
    // name(.name)* [ (args) ] — a column reference or a function call.
    let mut i = 0;
    let mut last = None;
    loop {
        let t = toks.get(i)?;
        if !matches!(t.kind, TokenKind::Ident | TokenKind::QuotedIdent) {
            break;
        }
        last = Some(lossy(&ident_value(src, t)));
        i += 1;
        if toks.get(i).is_some_and(|t| t.kind == TokenKind::Dot) {
            i += 1;
            if toks.get(i).is_some_and(|t| t.kind == TokenKind::Operator) {
                // `t.*`
                return None;
            }
            continue;
        }
        break;
    }
    let last = last?;
    if i == toks.len() {
        return Some(last);
    }
    if toks[i].kind == TokenKind::LParen {
        let close = matching(toks, i)?;
        let rest = &toks[close + 1..];
        // `f(x)`, `f(x) FILTER (...)`, `f(x) OVER (...)`, `f(x) WITHIN GROUP (...)`.
        let trailing_ok = rest.is_empty()
            || rest[0].is_keyword(src, "filter")
            || rest[0].is_keyword(src, "over")
            || rest[0].is_keyword(src, "within");
        if trailing_ok && !has_top_level_operator(rest) {
            return Some(last);
        }
    }
    None
}

fn has_top_level_operator(toks: &[Token]) -> bool {
    let mut depth = 0usize;
    for t in toks {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
            TokenKind::Operator if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

fn last_top_level(toks: &[Token], kind: TokenKind) -> Option<usize> {
    let mut depth = 0usize;
    let mut found = None;
    for (j, t) in toks.iter().enumerate() {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
            k if k == kind && depth == 0 => found = Some(j),
            _ => {}
        }
    }
    found
}

/// The column name a cast gives: the type's last name, with SQL-standard spellings
/// turned into PostgreSQL's internal ones (`integer` -> `int4`).
fn cast_type_name(src: &[u8], toks: &[Token]) -> String {
    let words: Vec<String> = toks
        .iter()
        .take_while(|t| {
            matches!(
                t.kind,
                TokenKind::Ident | TokenKind::QuotedIdent | TokenKind::Dot
            )
        })
        .filter(|t| t.kind != TokenKind::Dot)
        .map(|t| lossy(&ident_value(src, t)))
        .collect();
    let first = words.first().map(String::as_str).unwrap_or("?column?");
    let name = match first {
        "int" | "integer" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "real" => "float4",
        "float" => "float8",
        "double" => "float8",
        "boolean" => "bool",
        "decimal" => "numeric",
        "character" | "char" | "nchar" | "national" => {
            if words.iter().any(|w| w == "varying") {
                "varchar"
            } else {
                "bpchar"
            }
        }
        "timestamp" | "time" => {
            if words.iter().any(|w| w == "with") {
                if first == "timestamp" {
                    "timestamptz"
                } else {
                    "timetz"
                }
            } else {
                first
            }
        }
        _ => words.last().map(String::as_str).unwrap_or(first),
    };
    name.to_string()
}

/// Spelling of a type written in a signature or column definition, normalised with
/// [`crate::object::normalize_type`]. `strip_typmod` drops `(n)` / `(p,s)` modifiers, as
/// function identities do; array bounds become `[]`.
pub fn type_text(src: &[u8], toks: &[Token], strip_typmod: bool) -> String {
    let mut kept: Vec<Token> = Vec::with_capacity(toks.len());
    let mut typmod: Option<String> = None;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        match t.kind {
            TokenKind::LParen => {
                let close = matching(toks, i).unwrap_or(toks.len() - 1);
                if !strip_typmod && typmod.is_none() {
                    let inner = toks.get(i + 1..close).unwrap_or_default();
                    typmod = Some(format!("({})", text_of(src, inner).replace(' ', "")));
                }
                i = close + 1;
                continue;
            }
            TokenKind::LBracket => {
                // `[3]` -> `[]`
                let close = matching(toks, i).unwrap_or(toks.len() - 1);
                kept.push(t);
                if let Some(c) = toks.get(close) {
                    if c.kind == TokenKind::RBracket {
                        kept.push(*c);
                    }
                }
                i = close + 1;
                continue;
            }
            _ => kept.push(t),
        }
        i += 1;
    }
    let mut words = Vec::new();
    for t in &kept {
        // Identifiers fold to lower case, quoted ones keep theirs.
        let w = match t.kind {
            TokenKind::Ident | TokenKind::QuotedIdent => {
                let v = lossy(&ident_value(src, t));
                crate::object::quote_part(&v).into_owned()
            }
            _ => lossy(t.text(src)),
        };
        words.push((t.kind, w));
    }
    let mut out = String::new();
    let mut prev: Option<TokenKind> = None;
    for (kind, w) in words {
        if let Some(p) = prev {
            let tight = matches!(
                kind,
                TokenKind::LParen
                    | TokenKind::RParen
                    | TokenKind::LBracket
                    | TokenKind::RBracket
                    | TokenKind::Comma
                    | TokenKind::Dot
            ) || matches!(p, TokenKind::LParen | TokenKind::LBracket | TokenKind::Dot);
            if !tight {
                out.push(' ');
            }
        }
        out.push_str(&w);
        prev = Some(kind);
    }
    let base = crate::object::normalize_type(&out);
    match typmod {
        None => base,
        // `timestamp(3) with time zone`: the modifier follows the first word.
        Some(m) if base.starts_with("timestamp ") || base.starts_with("time ") => {
            match base.split_once(' ') {
                Some((a, b)) => format!("{a}{m} {b}"),
                None => base,
            }
        }
        Some(m) => match base.find('[') {
            Some(at) => format!("{}{m}{}", &base[..at], &base[at..]),
            None => format!("{base}{m}"),
        },
    }
}
