//! Call arguments as typed values: what a static reader can know about each argument
//! expression (its SQL type for overload resolution, and its value when it is a constant).

use crate::catalog::resolve::ArgType;
use crate::lexer::{ident_value, string_value, StringFlavor, Token, TokenKind};

/// The value of an argument, when it is known without running anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Array(Vec<Value>),
    Number(String),
    Bool(bool),
    Null,
    /// Computed at run time (psql variable, concatenation, sub-query, any expression).
    Dynamic,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of `ARRAY[...]` or of a `'{a,b}'` literal; `None` if not static.
    pub fn as_list(&self) -> Option<Vec<String>> {
        match self {
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Value::Str(s) => parse_array_literal(s),
            _ => None,
        }
    }
}

/// One argument of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// Named notation: `table_name => 'users'`.
    pub name: Option<String>,
    pub ty: ArgType,
    pub value: Value,
}

/// Splits the tokens between a call's parentheses at top-level commas and reads each
/// argument. Comments must already be filtered out. Works without recursion.
pub fn parse_args(src: &[u8], toks: &[Token]) -> Vec<Arg> {
    split_args(src, toks, 0)
}

fn split_args(src: &[u8], toks: &[Token], depth: usize) -> Vec<Arg> {
    if toks.is_empty() {
        return Vec::new();
    }
    // Sized once: growing by pushes was the largest single source of allocations.
    let mut args = Vec::with_capacity(top_level_commas(toks) + 1);
    let mut brackets = 0usize;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => brackets += 1,
            TokenKind::RParen | TokenKind::RBracket => brackets = brackets.saturating_sub(1),
            TokenKind::Comma if brackets == 0 => {
                args.push(parse_arg(src, &toks[start..i], depth));
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(parse_arg(src, &toks[start..], depth));
    args
}

fn top_level_commas(toks: &[Token]) -> usize {
    let mut brackets = 0usize;
    let mut commas = 0;
    for t in toks {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => brackets += 1,
            TokenKind::RParen | TokenKind::RBracket => brackets = brackets.saturating_sub(1),
            TokenKind::Comma if brackets == 0 => commas += 1,
            _ => {}
        }
    }
    commas
}

fn parse_arg(src: &[u8], toks: &[Token], depth: usize) -> Arg {
    if toks.len() >= 3
        && matches!(toks[0].kind, TokenKind::Ident | TokenKind::QuotedIdent)
        && toks[1].kind == TokenKind::Operator
        && matches!(toks[1].text(src), b"=>" | b":=")
    {
        let name = String::from_utf8_lossy(&ident_value(src, &toks[0])).into_owned();
        let (ty, value) = classify_depth(src, &toks[2..], depth);
        return Arg {
            name: Some(name),
            ty,
            value,
        };
    }
    let (ty, value) = classify_depth(src, toks, depth);
    Arg {
        name: None,
        ty,
        value,
    }
}

/// Index of the token closing the bracket opened at `open`, within `toks`.
fn matching(toks: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Bytes as text, invalid UTF-8 replaced. Valid input (nearly all of it) takes the fast,
/// vectorised check instead of `from_utf8_lossy`'s chunk-by-chunk walk.
fn lossy(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// [`lossy`] for a value that may already be owned: valid UTF-8 is not copied again.
fn lossy_cow(b: std::borrow::Cow<'_, [u8]>) -> String {
    match b {
        std::borrow::Cow::Borrowed(b) => lossy(b),
        std::borrow::Cow::Owned(v) => match String::from_utf8(v) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        },
    }
}

/// Reads one expression. Loops (never recurses on input) except into ARRAY elements,
/// whose depth is bounded by a fixed limit.
#[cfg(test)]
pub fn classify(src: &[u8], toks: &[Token]) -> (ArgType, Value) {
    classify_depth(src, toks, 0)
}

const MAX_ARRAY_DEPTH: usize = 8;

/// Deeper nesting than this (casts of casts, parentheses, arrays) is read as an opaque
/// expression: input must not be able to exhaust the stack or make reading quadratic.
const MAX_NESTING: usize = 32;

fn classify_depth(src: &[u8], mut toks: &[Token], depth: usize) -> (ArgType, Value) {
    if depth > MAX_NESTING {
        return (ArgType::Unknown, Value::Dynamic);
    }
    // Strip redundant outer parentheses: `('x')`.
    let mut stripped = 0;
    while toks.len() >= 2
        && toks[0].kind == TokenKind::LParen
        && matching(toks, 0) == Some(toks.len() - 1)
    {
        toks = &toks[1..toks.len() - 1];
        stripped += 1;
        if stripped > MAX_NESTING {
            return (ArgType::Unknown, Value::Dynamic);
        }
    }
    // A trailing `COLLATE name` changes the collation, not the type or the value.
    while let Some(at) = trailing_collate(src, toks) {
        toks = &toks[..at];
    }
    if toks.is_empty() {
        return (ArgType::Unknown, Value::Dynamic);
    }
    // A sub-query's type is its select list's, which this reader does not follow.
    if toks[0].is_keyword(src, "select")
        || toks[0].is_keyword(src, "with")
        || toks[0].is_keyword(src, "values")
        || toks[0].is_keyword(src, "table")
    {
        return (ArgType::Unknown, Value::Dynamic);
    }
    // A trailing top-level cast decides the type: `expr::type`.
    if let Some((cast_at, ty)) = trailing_cast(src, toks) {
        let (_, value) = classify_depth(src, &toks[..cast_at], depth + 1);
        let ty = crate::object::normalize_type(&ty);
        let value = match value {
            // `'{a,b}'::name[]` is an array value.
            Value::Str(s) if ty.ends_with("[]") => match parse_array_literal(&s) {
                Some(items) => Value::Array(items.into_iter().map(Value::Str).collect()),
                None => Value::Str(s),
            },
            v => v,
        };
        return (ArgType::Typed(ty), value);
    }
    // CAST(expr AS type)
    if toks.len() >= 4
        && toks[0].is_keyword(src, "cast")
        && toks[1].kind == TokenKind::LParen
        && matching(toks, 1) == Some(toks.len() - 1)
    {
        let inner = &toks[2..toks.len() - 1];
        let mut d = 0usize;
        for (i, t) in inner.iter().enumerate() {
            match t.kind {
                TokenKind::LParen | TokenKind::LBracket => d += 1,
                TokenKind::RParen | TokenKind::RBracket => d = d.saturating_sub(1),
                _ if d == 0 && t.is_keyword(src, "as") => {
                    let (_, value) = classify_depth(src, &inner[..i], depth + 1);
                    let ty = crate::object::normalize_type(&type_text(src, &inner[i + 1..]));
                    return (ArgType::Typed(ty), value);
                }
                _ => {}
            }
        }
    }
    // One string constant, or several joined across newlines.
    if toks.iter().all(|t| t.kind == TokenKind::String) {
        let value = match toks {
            [t] => lossy_cow(string_value(src, t)),
            _ => {
                let mut value = Vec::new();
                for t in toks {
                    value.extend_from_slice(&string_value(src, t));
                }
                lossy(&value)
            }
        };
        return match toks[0].flavor {
            StringFlavor::Bit | StringFlavor::Hex => {
                (ArgType::Typed("bit".into()), Value::Str(value))
            }
            _ if value.trim_start().starts_with('{') => (ArgType::BraceLiteral, Value::Str(value)),
            _ => (ArgType::UntypedLiteral, Value::Str(value)),
        };
    }
    if toks.len() == 1 {
        let t = &toks[0];
        match t.kind {
            TokenKind::DollarString => {
                return (ArgType::UntypedLiteral, Value::Str(lossy(&src[t.inner()])));
            }
            TokenKind::Number => {
                let text = lossy(t.text(src));
                let numeric = text.contains(['.', 'e', 'E']) && !text.starts_with("0x");
                let ty = if numeric {
                    ArgType::Numeric
                } else {
                    ArgType::Integer
                };
                return (ty, Value::Number(text));
            }
            TokenKind::Ident => {
                let text = t.text(src);
                if text.eq_ignore_ascii_case(b"true") {
                    return (ArgType::Boolean, Value::Bool(true));
                }
                if text.eq_ignore_ascii_case(b"false") {
                    return (ArgType::Boolean, Value::Bool(false));
                }
                if text.eq_ignore_ascii_case(b"null") {
                    return (ArgType::Null, Value::Null);
                }
                if text.eq_ignore_ascii_case(b"current_user")
                    || text.eq_ignore_ascii_case(b"session_user")
                    || text.eq_ignore_ascii_case(b"current_role")
                    || text.eq_ignore_ascii_case(b"current_schema")
                {
                    return (ArgType::Typed("name".into()), Value::Dynamic);
                }
            }
            TokenKind::PsqlVar => {
                // `:'v'` is substituted as a quoted literal, `:v` as raw text.
                let text = t.text(src);
                let ty = if text.starts_with(b":'") {
                    ArgType::UntypedLiteral
                } else {
                    ArgType::Unknown
                };
                return (ty, Value::Dynamic);
            }
            _ => {}
        }
    }
    // Negative numbers.
    if toks.len() == 2
        && toks[0].kind == TokenKind::Operator
        && toks[0].text(src) == b"-"
        && toks[1].kind == TokenKind::Number
    {
        let (ty, v) = classify_depth(src, &toks[1..], depth + 1);
        if let Value::Number(n) = v {
            return (ty, Value::Number(format!("-{n}")));
        }
    }
    // Integer arithmetic on constants: `plan(18 * 3)`.
    if toks.len() >= 3 {
        if let Some(n) = const_int(src, toks) {
            return (ArgType::Integer, Value::Number(n.to_string()));
        }
    }
    // ARRAY[...]
    if toks.len() >= 3
        && toks[0].is_keyword(src, "array")
        && toks[1].kind == TokenKind::LBracket
        && matching(toks, 1) == Some(toks.len() - 1)
    {
        if depth >= MAX_ARRAY_DEPTH {
            return (ArgType::ArrayCtor(None), Value::Dynamic);
        }
        let inner = &toks[2..toks.len() - 1];
        let elems = if inner.is_empty() {
            Vec::new()
        } else {
            split_args(src, inner, depth + 1)
        };
        let mut elem_ty: Option<Option<String>> = None;
        let mut values = Vec::with_capacity(elems.len());
        for e in &elems {
            let t = match &e.ty {
                ArgType::UntypedLiteral | ArgType::BraceLiteral => Some("text".to_string()),
                ArgType::Typed(t) => Some(t.clone()),
                ArgType::Integer => Some("integer".to_string()),
                _ => None,
            };
            elem_ty = Some(match elem_ty {
                None => t,
                Some(prev) if prev == t => prev,
                Some(_) => None,
            });
            values.push(e.value.clone());
        }
        let value = if values.iter().all(|v| !matches!(v, Value::Dynamic)) {
            Value::Array(values)
        } else {
            Value::Dynamic
        };
        return (ArgType::ArrayCtor(elem_ty.flatten()), value);
    }
    if toks[0].is_keyword(src, "array") {
        return (ArgType::ArrayCtor(None), Value::Dynamic);
    }
    // Concatenation or format() gives text computed at run time.
    let mut d = 0usize;
    for t in toks {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => d += 1,
            TokenKind::RParen | TokenKind::RBracket => d = d.saturating_sub(1),
            TokenKind::Operator if d == 0 && t.text(src) == b"||" => {
                return (ArgType::Typed("text".into()), Value::Dynamic)
            }
            _ => {}
        }
    }
    // A few builtins whose result type matters for resolution.
    if toks.len() >= 3
        && toks[0].kind == TokenKind::Ident
        && toks[1].kind == TokenKind::LParen
        && matching(toks, 1) == Some(toks.len() - 1)
    {
        let f = toks[0].text(src).to_ascii_lowercase();
        let ty = match f.as_slice() {
            b"format" | b"concat" | b"quote_ident" | b"quote_literal" | b"lower" | b"upper"
            | b"replace" | b"substr" | b"substring" | b"trim" | b"md5" => Some("text"),
            b"current_schema" => Some("name"),
            _ => None,
        };
        if let Some(ty) = ty {
            return (ArgType::Typed(ty.into()), Value::Dynamic);
        }
    }
    (ArgType::Unknown, Value::Dynamic)
}

/// Evaluates `+ - * / %` and parentheses over integer literals, as PostgreSQL does for
/// `integer` (`/` truncates), without recursion (shunting-yard). `None` for anything else,
/// an overflow or a division by zero.
fn const_int(src: &[u8], toks: &[Token]) -> Option<i64> {
    fn prec(op: u8) -> u8 {
        if op == b'+' || op == b'-' {
            1
        } else {
            2
        }
    }
    fn apply(vals: &mut Vec<i64>, op: u8) -> Option<()> {
        let b = vals.pop()?;
        let a = vals.pop()?;
        vals.push(match op {
            b'+' => a.checked_add(b)?,
            b'-' => a.checked_sub(b)?,
            b'*' => a.checked_mul(b)?,
            b'/' => a.checked_div(b)?,
            b'%' => a.checked_rem(b)?,
            _ => return None,
        });
        Some(())
    }
    let mut vals: Vec<i64> = Vec::new();
    // Operators and `(` (as b'(').
    let mut ops: Vec<u8> = Vec::new();
    let mut expect_operand = true;
    let mut negate = false;
    for t in toks {
        match t.kind {
            TokenKind::Number if expect_operand => {
                let text = std::str::from_utf8(t.text(src)).ok()?;
                let n: i64 = text.parse().ok()?;
                vals.push(if negate { n.checked_neg()? } else { n });
                negate = false;
                expect_operand = false;
            }
            TokenKind::Operator if expect_operand && t.text(src) == b"-" && !negate => {
                negate = true;
            }
            TokenKind::LParen if expect_operand && !negate => ops.push(b'('),
            TokenKind::RParen if !expect_operand => loop {
                match ops.pop()? {
                    b'(' => break,
                    op => apply(&mut vals, op)?,
                }
            },
            TokenKind::Operator if !expect_operand => {
                let &[op] = t.text(src) else { return None };
                if !matches!(op, b'+' | b'-' | b'*' | b'/' | b'%') {
                    return None;
                }
                while let Some(&top) = ops.last() {
                    if top == b'(' || prec(top) < prec(op) {
                        break;
                    }
                    ops.pop();
                    apply(&mut vals, top)?;
                }
                ops.push(op);
                expect_operand = true;
            }
            _ => return None,
        }
    }
    if expect_operand {
        return None;
    }
    while let Some(op) = ops.pop() {
        if op == b'(' {
            return None;
        }
        apply(&mut vals, op)?;
    }
    (vals.len() == 1).then(|| vals[0])
}

/// The position of a trailing `COLLATE name` (`"C"`, `pg_catalog."default"`) at depth 0.
fn trailing_collate(src: &[u8], toks: &[Token]) -> Option<usize> {
    let at = toks.iter().rposition(|t| t.is_keyword(src, "collate"))?;
    let name = &toks[at + 1..];
    let is_name = !name.is_empty()
        && name.iter().all(|t| {
            matches!(
                t.kind,
                TokenKind::Ident | TokenKind::QuotedIdent | TokenKind::Dot
            )
        });
    (at > 0 && is_name).then_some(at)
}

/// Words that are operators in an expression: a cast after one applies to its right
/// operand only.
const KEYWORD_OPERATORS: &[&str] = &[
    "and", "or", "not", "is", "in", "like", "ilike", "similar", "between", "overlaps", "at",
    "isnull", "notnull",
];

/// Finds a trailing `:: type` at depth 0 and returns the cast position and type text.
fn trailing_cast(src: &[u8], toks: &[Token]) -> Option<(usize, String)> {
    let mut d = 0usize;
    let mut last = None;
    // An operator at depth 0 before the cast (`a = b::date`) makes the cast apply to its
    // right operand only: the expression's type is the operator's. A leading sign is not
    // such an operator (`-1::int`).
    let mut operator_before = false;
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => d += 1,
            TokenKind::RParen | TokenKind::RBracket => d = d.saturating_sub(1),
            TokenKind::Cast if d == 0 => last = Some(i),
            // An operator after the cast means the cast is not the outermost operation.
            TokenKind::Operator if d == 0 => {
                last = None;
                operator_before |= i > 0;
            }
            // Keyword operators: `'a' LIKE 'b'::text`, `1 BETWEEN 0 AND 2::int`.
            TokenKind::Ident
                if d == 0 && i > 0 && KEYWORD_OPERATORS.iter().any(|w| t.is_keyword(src, w)) =>
            {
                last = None;
                operator_before = true;
            }
            _ => {}
        }
    }
    let at = last?;
    if operator_before {
        return None;
    }
    if at == 0 || at + 1 >= toks.len() {
        return None;
    }
    let ty = &toks[at + 1..];
    // `x::int FROM t LIMIT 1`: clause keywords are no part of a type name.
    const CLAUSE_WORDS: &[&str] = &[
        "from",
        "where",
        "limit",
        "offset",
        "and",
        "or",
        "not",
        "is",
        "in",
        "like",
        "ilike",
        "between",
        "order",
        "group",
        "having",
        "as",
        "union",
        "except",
        "intersect",
        "then",
        "else",
        "end",
        "when",
        "case",
        "select",
        "collate",
        "fetch",
        "for",
        "using",
        "on",
        "join",
        "returning",
        "into",
    ];
    if ty
        .iter()
        .any(|t| CLAUSE_WORDS.iter().any(|w| t.is_keyword(src, w)))
    {
        return None;
    }
    let is_type = ty.iter().all(|t| {
        matches!(
            t.kind,
            TokenKind::Ident
                | TokenKind::QuotedIdent
                | TokenKind::Dot
                | TokenKind::LBracket
                | TokenKind::RBracket
                | TokenKind::LParen
                | TokenKind::RParen
                | TokenKind::Number
                | TokenKind::Comma
        )
    });
    is_type.then(|| (at, type_text(src, ty)))
}

fn type_text(src: &[u8], toks: &[Token]) -> String {
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        let piece = match t.kind {
            TokenKind::QuotedIdent => lossy(&ident_value(src, t)),
            _ => lossy(t.text(src)),
        };
        let glue = i > 0 && t.kind == TokenKind::Ident && toks[i - 1].kind == TokenKind::Ident;
        if glue {
            out.push(' ');
        }
        out.push_str(&piece);
    }
    out
}

/// Parses a PostgreSQL array literal `{a,"b c",NULL}` (one dimension; nested braces are
/// kept as text). `None` if it is not an array literal.
pub fn parse_array_literal(s: &str) -> Option<Vec<String>> {
    let s = s.trim();
    let body = s.strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if body.trim().is_empty() {
        return Some(items);
    }
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if !quoted && c.is_whitespace() && (was_quoted || cur.is_empty()) => {}
            ',' if !quoted => {
                items.push(finish_item(&cur, was_quoted));
                cur.clear();
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    items.push(finish_item(&cur, was_quoted));
    Some(items)
}

fn finish_item(cur: &str, was_quoted: bool) -> String {
    if was_quoted {
        cur.to_string()
    } else {
        cur.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_integer_arithmetic_is_evaluated() {
        let eval = |sql: &str| {
            let lexed = crate::lexer::tokenize(sql.as_bytes());
            classify(sql.as_bytes(), &lexed.tokens)
        };
        assert_eq!(eval("18*3"), (ArgType::Integer, Value::Number("54".into())));
        assert_eq!(
            eval("2 + 3 * 4"),
            (ArgType::Integer, Value::Number("14".into()))
        );
        assert_eq!(
            eval("(2 + 3) * 4"),
            (ArgType::Integer, Value::Number("20".into()))
        );
        assert_eq!(
            eval("10 - 2 - 3"),
            (ArgType::Integer, Value::Number("5".into()))
        );
        assert_eq!(eval("7 / 2"), (ArgType::Integer, Value::Number("3".into())));
        assert_eq!(
            eval("-3 * 2"),
            (ArgType::Integer, Value::Number("-6".into()))
        );
        assert_eq!(eval("1 / 0").1, Value::Dynamic);
        assert_eq!(eval("9223372036854775807 + 1").1, Value::Dynamic);
        assert_eq!(eval("2 * x").1, Value::Dynamic);
        assert_eq!(eval("(1 + 2").1, Value::Dynamic);
        assert_eq!(eval("1.5 * 2").1, Value::Dynamic);
    }

    #[test]
    fn collate_does_not_change_an_arguments_type() {
        let eval = |sql: &str| {
            let lexed = crate::lexer::tokenize(sql.as_bytes());
            classify(sql.as_bytes(), &lexed.tokens).0
        };
        assert_eq!(
            eval("ARRAY['a']::text[] COLLATE \"C\""),
            ArgType::Typed("text[]".into())
        );
        assert_eq!(
            eval("'x'::text COLLATE pg_catalog.\"default\""),
            ArgType::Typed("text".into())
        );
    }

    #[test]
    fn array_literals() {
        assert_eq!(
            parse_array_literal("{a,b}"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            parse_array_literal(" { a , \"b c\" } "),
            Some(vec!["a".into(), "b c".into()])
        );
        assert_eq!(parse_array_literal("{}"), Some(vec![]));
        assert_eq!(
            parse_array_literal("{\"x\\\"y\"}"),
            Some(vec!["x\"y".into()])
        );
        assert_eq!(parse_array_literal("abc"), None);
    }
}
