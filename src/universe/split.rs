//! Statements out of a token stream, a cursor to read one, and the identifier rules the
//! cursor applies (63-byte truncation). The layer below `naming`: it imports nothing from it.

use crate::lexer::{ident_value, string_value, Token, TokenKind};

/// `NAMEDATALEN - 1`: identifiers are truncated to this many bytes.
pub const MAX_IDENT: usize = 63;

/// Truncates to at most `max` bytes on a character boundary (`pg_mbcliplen`).
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Truncates an identifier to 63 bytes like the parser does (a rule of the lexer, `scan.l`,
/// so it lives with the cursor that reads identifiers, not with the naming rules).
pub fn truncate_ident(s: &str) -> String {
    clip(s, MAX_IDENT).to_string()
}

/// Splits code tokens (comments already removed) into statements at top-level `;`.
/// psql meta-commands are statements of their own. `BEGIN ATOMIC ... END` bodies of SQL
/// functions keep their inner semicolons.
pub fn statements<'t>(src: &[u8], toks: &'t [Token]) -> Vec<&'t [Token]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut depth = 0usize;
    // > 0 inside BEGIN ATOMIC: counts BEGIN/CASE .. END nesting.
    let mut atomic = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        match t.kind {
            TokenKind::PsqlMeta => {
                if start < i {
                    out.push(&toks[start..i]);
                }
                out.push(&toks[i..=i]);
                start = i + 1;
            }
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
            TokenKind::Ident
                if atomic == 0
                    && t.is_keyword(src, "begin")
                    && toks.get(i + 1).is_some_and(|n| n.is_keyword(src, "atomic"))
                    && starts_routine(src, &toks[start..i]) =>
            {
                atomic = 1;
                i += 1;
            }
            TokenKind::Ident if atomic == 0 => {}
            TokenKind::Ident => {
                if t.is_keyword(src, "begin") || t.is_keyword(src, "case") {
                    atomic += 1;
                } else if t.is_keyword(src, "end") {
                    atomic -= 1;
                }
            }
            TokenKind::Semicolon if depth == 0 && atomic == 0 => {
                if start < i {
                    out.push(&toks[start..i]);
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < toks.len() {
        out.push(&toks[start..]);
    }
    out
}

fn starts_routine(src: &[u8], toks: &[Token]) -> bool {
    let mut c = Cursor::new(src, toks);
    c.eat("create") && {
        c.eat_seq(&["or", "replace"]);
        c.eat("function") || c.eat("procedure")
    }
}

/// Reads a statement's tokens front to back.
#[derive(Clone)]
pub struct Cursor<'a> {
    pub src: &'a [u8],
    pub toks: &'a [Token],
    pub i: usize,
}

/// A possibly schema-qualified name as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QName {
    pub schema: Option<String>,
    pub name: String,
    /// Line of the name's first token.
    pub line: u32,
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a [u8], toks: &'a [Token]) -> Self {
        Cursor { src, toks, i: 0 }
    }

    pub fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.i)
    }

    pub fn peek_at(&self, n: usize) -> Option<&'a Token> {
        self.toks.get(self.i + n)
    }

    pub fn at_end(&self) -> bool {
        self.i >= self.toks.len()
    }

    pub fn line(&self) -> u32 {
        self.peek()
            .or_else(|| self.toks.last())
            .map_or(0, |t| t.line)
    }

    pub fn is(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(self.src, kw))
    }

    pub fn is_at(&self, n: usize, kw: &str) -> bool {
        self.peek_at(n).is_some_and(|t| t.is_keyword(self.src, kw))
    }

    pub fn is_kind(&self, kind: TokenKind) -> bool {
        self.peek().is_some_and(|t| t.kind == kind)
    }

    pub fn eat(&mut self, kw: &str) -> bool {
        if self.is(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Eats a whole keyword sequence or nothing.
    pub fn eat_seq(&mut self, kws: &[&str]) -> bool {
        if kws.iter().enumerate().all(|(n, k)| self.is_at(n, k)) {
            self.i += kws.len();
            true
        } else {
            false
        }
    }

    pub fn eat_kind(&mut self, kind: TokenKind) -> bool {
        if self.is_kind(kind) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    pub fn bump(&mut self) -> Option<&'a Token> {
        let t = self.peek();
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    /// An identifier (keywords included: the caller knows where a name is expected).
    pub fn ident(&mut self) -> Option<String> {
        let t = self.peek()?;
        match t.kind {
            TokenKind::Ident | TokenKind::QuotedIdent => {
                self.i += 1;
                Some(truncate_ident(&lossy(&ident_value(self.src, t))))
            }
            _ => None,
        }
    }

    /// A string constant's value.
    pub fn string(&mut self) -> Option<String> {
        let t = self.peek()?;
        match t.kind {
            TokenKind::String | TokenKind::DollarString => {
                self.i += 1;
                Some(lossy(&string_value(self.src, t)))
            }
            _ => None,
        }
    }

    /// `name` or `schema.name` (a third part, `db.schema.name`, drops the database).
    pub fn qname(&mut self) -> Option<QName> {
        let line = self.peek()?.line;
        let mut parts = vec![self.ident()?];
        while self.is_kind(TokenKind::Dot) {
            let save = self.i;
            self.i += 1;
            match self.ident() {
                Some(p) => parts.push(p),
                None => {
                    self.i = save;
                    break;
                }
            }
        }
        let name = parts.pop()?;
        let schema = parts.pop();
        Some(QName { schema, name, line })
    }

    /// If at `(`, moves past its matching `)` and returns the tokens between.
    pub fn parens(&mut self) -> Option<&'a [Token]> {
        if !self.is_kind(TokenKind::LParen) {
            return None;
        }
        let close = matching(self.toks, self.i)?;
        let inner = &self.toks[self.i + 1..close];
        self.i = close + 1;
        Some(inner)
    }

    /// Skips one token, or a whole parenthesised group.
    pub fn skip_one(&mut self) {
        if self.parens().is_none() {
            self.i += 1;
        }
    }

    /// Moves to the next top-level token that is one of `kws` (or the end).
    pub fn skip_until(&mut self, kws: &[&str]) {
        while !self.at_end() && !kws.iter().any(|k| self.is(k)) {
            self.skip_one();
        }
    }

    pub fn rest(&self) -> &'a [Token] {
        &self.toks[self.i.min(self.toks.len())..]
    }
}

/// Index of the bracket closing the one at `open` (same kind family), if any.
pub fn matching(toks: &[Token], open: usize) -> Option<usize> {
    if !matches!(
        toks.get(open)?.kind,
        TokenKind::LParen | TokenKind::LBracket
    ) {
        return None;
    }
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits tokens at top-level commas.
pub fn split_commas(toks: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (j, t) in toks.iter().enumerate() {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
            TokenKind::Comma if depth == 0 => {
                out.push(&toks[start..j]);
                start = j + 1;
            }
            _ => {}
        }
    }
    if start < toks.len() || !out.is_empty() {
        out.push(&toks[start..]);
    }
    out
}

/// Source text of tokens, with single spaces only where two words would otherwise touch
/// (`numeric(5,2)`, `character varying`, `text[]`, `app.slug`).
pub fn text_of(src: &[u8], toks: &[Token]) -> String {
    let mut out = String::new();
    let mut prev: Option<&Token> = None;
    for t in toks {
        if let Some(p) = prev {
            let tight = matches!(
                t.kind,
                TokenKind::LParen
                    | TokenKind::RParen
                    | TokenKind::LBracket
                    | TokenKind::RBracket
                    | TokenKind::Comma
                    | TokenKind::Dot
                    | TokenKind::Cast
            ) || matches!(
                p.kind,
                TokenKind::LParen | TokenKind::LBracket | TokenKind::Dot | TokenKind::Cast
            );
            if !tight {
                out.push(' ');
            }
        }
        out.push_str(&lossy(t.text(src)));
        prev = Some(t);
    }
    out
}

pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
