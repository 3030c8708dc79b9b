//! Statements that change how later ones are read rather than creating objects:
//! `SET search_path`, `set_config('search_path', ..)` (pg_dump's first lines), and `DO`
//! blocks, whose directly written DDL is applied.

use super::{Reader, R};
use crate::lexer::{tokenize_range, Token, TokenKind};
use crate::universe::split::{lossy, matching, split_commas, Cursor};

impl Reader<'_, '_> {
    pub(super) fn set(&mut self, c: &mut Cursor) {
        let _ = c.eat("session") || c.eat("local");
        if !c.eat("search_path") {
            return;
        }
        if !(c.eat("to") || c.eat_kind(TokenKind::Operator)) {
            return;
        }
        if c.eat("default") {
            self.path = self.base_path.clone();
            return;
        }
        let mut path = Vec::new();
        for item in split_commas(c.rest()) {
            let Some(t) = item.first() else { continue };
            match t.kind {
                TokenKind::String => path.push(lossy(&crate::lexer::string_value(self.src, t))),
                TokenKind::Ident | TokenKind::QuotedIdent => {
                    path.push(lossy(&crate::lexer::ident_value(self.src, t)))
                }
                _ => {}
            }
        }
        self.path = path;
    }

    /// `SELECT pg_catalog.set_config('search_path', '...', false)` (pg_dump's first lines).
    pub(super) fn set_config(&mut self, toks: &[Token]) {
        for (j, t) in toks.iter().enumerate() {
            if !t.is_keyword(self.src, "set_config") {
                continue;
            }
            let Some(close) = toks.get(j + 1).and_then(|_| matching(toks, j + 1)) else {
                continue;
            };
            let args = split_commas(&toks[j + 2..close]);
            let val = |a: &[Token]| match a {
                [t] if t.kind == TokenKind::String => {
                    Some(lossy(&crate::lexer::string_value(self.src, t)))
                }
                _ => None,
            };
            if args.len() >= 2 && val(args[0]).as_deref() == Some("search_path") {
                if let Some(v) = val(args[1]) {
                    self.path = parse_path_list(&v);
                }
            }
        }
    }

    /// `DO $$ ... $$`: DDL written directly in the block (typically `CREATE ROLE` guarded by
    /// `IF NOT EXISTS`) is applied; dynamic SQL (`EXECUTE '...'`) is not.
    pub(super) fn do_block(&mut self, c: &mut Cursor) -> R {
        let body = c.toks.iter().find(|t| t.kind == TokenKind::DollarString);
        let Some(body) = body else {
            if c.toks.iter().any(|t| t.kind == TokenKind::String) {
                return Ok(());
            }
            return Err("DO without a body".into());
        };
        let lang = c
            .toks
            .iter()
            .position(|t| t.is_keyword(self.src, "language"))
            .and_then(|p| c.toks.get(p + 1))
            .map(|t| lossy(t.text(self.src)).to_ascii_lowercase());
        if lang.as_deref().is_some_and(|l| l != "plpgsql") {
            return Ok(());
        }
        let mut toks = Vec::new();
        let mut diags = Vec::new();
        // The body's first byte: its line/column come from the tag on the same line.
        let (line, col) = position_of(self.src, body.inner_start as usize, body);
        tokenize_range(self.src, body.inner(), line, col, &mut toks, &mut diags);
        toks.retain(|t| !matches!(t.kind, TokenKind::LineComment | TokenKind::BlockComment));
        let starts = ["create", "alter", "drop", "comment", "grant", "revoke"];
        let mut j = 0;
        while j < toks.len() {
            let t = &toks[j];
            let at_start = j == 0
                || matches!(toks[j - 1].kind, TokenKind::Semicolon)
                || ["then", "else", "loop", "begin"]
                    .iter()
                    .any(|k| toks[j - 1].is_keyword(self.src, k));
            if at_start && starts.iter().any(|k| t.is_keyword(self.src, k)) {
                let mut depth = 0usize;
                let mut end = j;
                while end < toks.len() {
                    match toks[end].kind {
                        TokenKind::LParen | TokenKind::LBracket => depth += 1,
                        TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
                        TokenKind::Semicolon if depth == 0 => break,
                        _ => {}
                    }
                    end += 1;
                }
                let stmt = &toks[j..end];
                if let Err(reason) = self.dispatch(stmt) {
                    self.skip(t.line, reason);
                }
                j = end + 1;
                continue;
            }
            j += 1;
        }
        Ok(())
    }
}

fn parse_path_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
                s[1..s.len() - 1].replace("\"\"", "\"")
            } else {
                s.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Line and column of byte `at`, counting from a token whose start position is known.
fn position_of(src: &[u8], at: usize, tok: &Token) -> (u32, u32) {
    let start = tok.start as usize;
    let mut line = tok.line;
    let mut col = tok.col;
    let span = if src.get(start..at).is_some() {
        start..at
    } else {
        0..0
    };
    for i in span {
        if crate::lexer::is_line_break(src, i) {
            line = line.saturating_add(1);
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}
