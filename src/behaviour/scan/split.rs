//! A unit's statements, split in one pass that also tells which are trivial (nothing in
//! them to read), so a trivial statement's tokens are walked once, not three times
//! (splitting, the trivial check, the dispatch).

use crate::lexer::{Token, TokenKind};

use super::vocab::*;
use super::Word;

/// One statement: `toks[start..end]` (without its `;`), and whether it is trivial (see
/// [`Scanner::trivial`](super::Scanner)): a `SELECT`/`PERFORM`/`RETURN NEXT` of pgTAP
/// calls running no SQL text, built-in calls and literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stmt {
    pub start: usize,
    pub end: usize,
    pub trivial: bool,
}

fn is_word(toks: &[Token], src: &[u8], j: usize, w: &[u8]) -> bool {
    toks.get(j)
        .is_some_and(|t| t.kind == TokenKind::Ident && t.text(src).eq_ignore_ascii_case(w))
}

/// Where a trivial statement's body starts (after `SELECT`, `SELECT * FROM`, `PERFORM`,
/// `RETURN NEXT`), or `None` when its head makes it no trivial statement.
fn trivial_body(toks: &[Token], src: &[u8], from: usize) -> Option<usize> {
    if is_word(toks, src, from, b"select") || is_word(toks, src, from, b"perform") {
        {
            // `SELECT * FROM check_test(...)`, `SELECT * FROM finish()`: pgTAP's
            // set-returning functions read the same way.
            if toks.get(from + 1).is_some_and(|t| t.text(src) == b"*")
                && is_word(toks, src, from + 2, b"from")
            {
                Some(from + 3)
            } else {
                Some(from + 1)
            }
        }
    } else if is_word(toks, src, from, b"return") && is_word(toks, src, from + 1, b"next") {
        Some(from + 2)
    } else {
        None
    }
}

/// Whether token `j` may stand in a trivial statement's body; `flags` are its word's
/// flags when it is an identifier (`None`: no word of the table's shape).
fn trivial_token(toks: &[Token], j: usize, flags: Option<u32>, helpers: bool) -> bool {
    match toks[j].kind {
        TokenKind::String
        | TokenKind::Number
        | TokenKind::Comma
        | TokenKind::LParen
        | TokenKind::RParen
        | TokenKind::LBracket
        | TokenKind::RBracket
        | TokenKind::Cast
        // `'a' || to_char(now(), 'yyyy')`, `1 + 2`.
        | TokenKind::Operator => true,
        TokenKind::Ident => {
            let Some(flags) = flags else {
                return false;
            };
            let kind = |k: usize| toks.get(k).map(|t| t.kind);
            if kind(j + 1) == Some(TokenKind::LParen) {
                !helpers
                    && (flags & PGTAP_PLAIN != 0
                        || (flags & BUILTIN_FUNCTION != 0 && flags & SPECIAL == 0))
            } else if j > 0 && kind(j - 1) == Some(TokenKind::Cast) {
                // `::text`: a built-in type is no reference.
                kind(j + 1) != Some(TokenKind::Dot) && flags & BUILTIN_TYPE != 0
            } else {
                flags & VALUE != 0
            }
        }
        _ => false,
    }
}

/// The statements of `toks` (code tokens: no comments) in order, each with whether it is
/// trivial. `helpers`: role helpers are known (a call may then switch roles, so no call
/// is trivial). PL/pgSQL blocks: `BEGIN`, `THEN`, `ELSE` and `LOOP` open statements of
/// their own (`BEGIN SET LOCAL ROLE a;` switches the role), unless `BEGIN` starts a
/// transaction or `THEN`/`ELSE` belong to a CASE expression or a MERGE.
pub fn split(toks: &[Token], src: &[u8], helpers: bool) -> Vec<Stmt> {
    let mut out = Vec::new();
    let n = toks.len();
    let mut depth = 0usize;
    let mut cases = 0usize;
    // `MERGE .. WHEN MATCHED THEN UPDATE`: its THEN opens no statement.
    let mut merging = false;
    let mut start = 0usize;
    // The statement from `start`: where its trivial body starts, and whether a token seen
    // so far makes it no trivial one (its head, or a token of its body).
    let head = |s: usize| match trivial_body(toks, src, s) {
        Some(b) => (b, false),
        None => (usize::MAX, true),
    };
    let (mut body, mut nontrivial) = head(0);
    let mut k = 0usize;
    while k < n {
        let t = &toks[k];
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth = depth.saturating_sub(1),
            TokenKind::Semicolon if depth == 0 => {
                if k > start {
                    out.push(Stmt {
                        start,
                        end: k,
                        trivial: !nontrivial,
                    });
                }
                start = k + 1;
                merging = false;
                (body, nontrivial) = head(start);
            }
            TokenKind::Ident => {
                let text = t.text(src);
                let check = !nontrivial && k >= body;
                // Flags only for a statement that may still be trivial.
                let flags = if check {
                    Word::new(text).map(|w| word_flags(&w))
                } else {
                    None
                };
                // The words that may open a statement are of 3 to 5 letters.
                if depth == 0
                    && (3..=5).contains(&text.len())
                    && flags.is_none_or(|f| f & SPLIT != 0)
                {
                    let mut lower = [0u8; 5];
                    for (d, c) in lower.iter_mut().zip(text) {
                        *d = c.to_ascii_lowercase();
                    }
                    let opens = match &lower[..text.len()] {
                        b"merge" => {
                            merging = true;
                            0
                        }
                        b"case" => {
                            cases += 1;
                            0
                        }
                        b"end" => {
                            cases = cases.saturating_sub(1);
                            if is_word(toks, src, k + 1, b"case") {
                                // `END CASE`: both words stay in the statement.
                                if check {
                                    nontrivial = true;
                                }
                                k += 2;
                                continue;
                            }
                            0
                        }
                        b"begin" => {
                            let transaction = toks
                                .get(k + 1)
                                .is_none_or(|t| t.kind == TokenKind::Semicolon)
                                || [
                                    &b"transaction"[..],
                                    b"work",
                                    b"isolation",
                                    b"read",
                                    b"not",
                                    b"deferrable",
                                ]
                                .iter()
                                .any(|w| is_word(toks, src, k + 1, w));
                            match (transaction, is_word(toks, src, k + 1, b"atomic")) {
                                (true, _) => 0,
                                (false, true) => 2,
                                (false, false) => 1,
                            }
                        }
                        b"then" | b"else" | b"loop" if cases == 0 && !merging => 1,
                        _ => 0,
                    };
                    if opens > 0 {
                        if k > start {
                            out.push(Stmt {
                                start,
                                end: k,
                                trivial: !nontrivial,
                            });
                        }
                        k += opens;
                        start = k;
                        (body, nontrivial) = head(start);
                        continue;
                    }
                }
                if check && !trivial_token(toks, k, flags, helpers) {
                    nontrivial = true;
                }
            }
            _ => {
                if !nontrivial && k >= body && !trivial_token(toks, k, None, helpers) {
                    nontrivial = true;
                }
            }
        }
        k += 1;
    }
    if n > start {
        out.push(Stmt {
            start,
            end: n,
            trivial: !nontrivial,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    //! The one-pass splitter against the two passes it replaced: the splitting as it was
    //! (kept here as the reference) and [`Scanner::trivial`](super::super::Scanner) on
    //! each statement, over every SQL file of the fixtures and the shared corpus.

    use super::*;
    use crate::config::{ExtractOptions, RoleHelperDecl};
    use crate::lexer::tokenize_range;

    /// The splitting before the one pass (statements only, no trivial flag).
    fn reference_statements(toks: &[Token], src: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut start = 0usize;
        let mut cases = 0usize;
        // `MERGE .. WHEN MATCHED THEN UPDATE`: its THEN opens no statement.
        let mut merging = false;
        let word = |j: usize, w: &[u8]| {
            toks.get(j)
                .is_some_and(|t| t.kind == TokenKind::Ident && t.text(src).eq_ignore_ascii_case(w))
        };
        let mut k = 0usize;
        while k <= toks.len() {
            // PL/pgSQL blocks: `BEGIN`, `THEN`, `ELSE` and `LOOP` open statements of their own
            // (`BEGIN SET LOCAL ROLE a;` switches the role), unless `BEGIN` starts a
            // transaction or `THEN`/`ELSE` belong to a CASE expression or a MERGE.
            if depth == 0 && toks.get(k).is_some_and(|t| t.kind == TokenKind::Ident) {
                let opens = if word(k, b"merge") {
                    merging = true;
                    0
                } else if word(k, b"case") {
                    cases += 1;
                    0
                } else if word(k, b"end") {
                    if word(k + 1, b"case") {
                        k += 1;
                    }
                    cases = cases.saturating_sub(1);
                    0
                } else if word(k, b"begin") {
                    let transaction = toks
                        .get(k + 1)
                        .is_none_or(|t| t.kind == TokenKind::Semicolon)
                        || [
                            &b"transaction"[..],
                            b"work",
                            b"isolation",
                            b"read",
                            b"not",
                            b"deferrable",
                        ]
                        .iter()
                        .any(|w| word(k + 1, w));
                    match (transaction, word(k + 1, b"atomic")) {
                        (true, _) => 0,
                        (false, true) => 2,
                        (false, false) => 1,
                    }
                } else if cases == 0
                    && !merging
                    && (word(k, b"then") || word(k, b"else") || word(k, b"loop"))
                {
                    1
                } else {
                    0
                };
                if opens > 0 {
                    if k > start {
                        out.push((start, k));
                    }
                    k += opens;
                    start = k;
                    continue;
                }
            }
            let end_here = match toks.get(k).map(|t| t.kind) {
                None => true,
                Some(TokenKind::LParen) => {
                    depth += 1;
                    false
                }
                Some(TokenKind::RParen) => {
                    depth = depth.saturating_sub(1);
                    false
                }
                Some(TokenKind::Semicolon) => depth == 0,
                _ => false,
            };
            if !end_here {
                k += 1;
                continue;
            }
            if k > start {
                out.push((start, k));
            }
            start = k + 1;
            depth = 0;
            merging = false;
            k += 1;
        }
        out
    }

    fn code_tokens(src: &[u8]) -> Vec<Token> {
        let mut toks = Vec::new();
        let mut diags = Vec::new();
        tokenize_range(src, 0..src.len(), 1, 1, &mut toks, &mut diags);
        toks.retain(|t| {
            !matches!(
                t.kind,
                TokenKind::LineComment | TokenKind::BlockComment | TokenKind::PsqlMeta
            )
        });
        toks
    }

    fn check(src: &[u8], opts: &ExtractOptions, what: &str) -> usize {
        let toks = code_tokens(src);
        let scanner = super::super::Scanner {
            src,
            toks: &toks,
            opts,
            body: false,
            top: true,
            declared: &[],
        };
        let got = scanner.statements();
        let want: Vec<Stmt> = reference_statements(&toks, src)
            .into_iter()
            .map(|(start, end)| Stmt {
                start,
                end,
                trivial: scanner.trivial(start, end),
            })
            .collect();
        assert_eq!(got, want, "{what}");
        got.len()
    }

    const SAMPLES: &[&str] = &[
        "select has_table('a'); select ok(true); select * from finish();",
        "SELECT plan(3); SELECT is(1, 1, 'x'); select results_eq('select 1', 'values (1)');",
        "return next is(v, 1); return next has_table('t'::name); perform ok(true)",
        "do $$ begin set local role a; perform ok(true); end $$;",
        "begin; select 1; commit; begin transaction; end;",
        "select case when a then 1 else 2 end from t; if x then y; else z; end if;",
        "merge into t using s on t.id = s.id when matched then update set a = 1;",
        "loop exit; end loop; begin atomic select 1; end",
        "select end case foo; select 'a' || to_char(now(), 'yyyy'), 1 + 2, array[1]::int[];",
        "select nextval('s'); select set_config('role', 'x', true); select x::my_type;",
        "select \"quoted\"(); select aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa(); select café();",
        "select (select 1), ((2)); ;; select; select *; select * from; return next",
        "select x::pg_catalog.text, y::text, current_user, null, true;",
    ];

    #[test]
    fn one_pass_splits_and_classifies_as_the_two_passes_did() {
        let plain = ExtractOptions::default();
        let helpers = ExtractOptions {
            role_helpers: vec![RoleHelperDecl {
                name: "as_user".into(),
                role: Some("authenticated".into()),
                arg: None,
            }],
            ..ExtractOptions::default()
        };
        for (i, s) in SAMPLES.iter().enumerate() {
            check(s.as_bytes(), &plain, &format!("sample {i}: {s}"));
            check(
                s.as_bytes(),
                &helpers,
                &format!("sample {i} with helpers: {s}"),
            );
        }
        let mut files = 0;
        let mut statements = 0;
        for (p, src) in crate::behaviour::corpus_sql_files() {
            statements += check(&src, &plain, &p.display().to_string());
            files += 1;
        }
        assert!(files > 100, "only {files} files read");
        assert!(statements > 10_000, "only {statements} statements read");
    }
}
