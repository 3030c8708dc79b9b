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

/// Tokens no statement reads: comments and psql meta-commands. [`split`] steps over
/// them, so a unit's tokens are split as they come from the lexer, without a
/// comment-free copy.
#[inline]
pub fn skipped(k: TokenKind) -> bool {
    matches!(
        k,
        TokenKind::LineComment | TokenKind::BlockComment | TokenKind::PsqlMeta
    )
}

/// The first token at or after `j` that is not [`skipped`] (`toks.len()` when none).
#[inline]
fn code_at(toks: &[Token], mut j: usize) -> usize {
    while toks.get(j).is_some_and(|t| skipped(t.kind)) {
        j += 1;
    }
    j
}

/// The code token after `j`.
#[inline]
fn next_code(toks: &[Token], j: usize) -> usize {
    code_at(toks, j + 1)
}

fn is_word(toks: &[Token], src: &[u8], j: usize, w: &[u8]) -> bool {
    toks.get(j).is_some_and(|t| {
        t.kind == TokenKind::Ident
            && (t.end - t.start) as usize == w.len()
            && t.text(src).eq_ignore_ascii_case(w)
    })
}

/// A word of at most 8 letters as one integer, its ASCII letters folded to lower case
/// (`| 0x20`: equal to a word of letters' value exactly when the token spells it in
/// any case) and the bytes after it `0x20`. Words of other lengths give 0.
#[inline]
fn folded8(src: &[u8], t: &Token) -> u64 {
    let (start, len) = (t.start as usize, (t.end - t.start) as usize);
    if !(1..=8).contains(&len) {
        return 0;
    }
    let mut buf = [0u8; 8];
    match src.get(start..start + 8) {
        // One load, the bytes after the word masked off.
        Some(b) => {
            buf.copy_from_slice(b);
            let v = u64::from_le_bytes(buf);
            let mask = if len == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * len)) - 1
            };
            (v & mask) | 0x2020_2020_2020_2020
        }
        None => match src.get(start..start + len) {
            Some(b) => {
                buf[..len].copy_from_slice(b);
                u64::from_le_bytes(buf) | 0x2020_2020_2020_2020
            }
            None => 0,
        },
    }
}

/// [`folded8`] of a lower-case word of letters.
const fn folded8_const(w: &[u8]) -> u64 {
    let mut buf = [0x20u8; 8];
    let mut i = 0;
    while i < w.len() {
        buf[i] = w[i];
        i += 1;
    }
    u64::from_le_bytes(buf)
}

/// Where a trivial statement's body starts (after `SELECT`, `SELECT * FROM`, `PERFORM`,
/// `RETURN NEXT`), or `None` when its head makes it no trivial statement. `from` is a
/// code token (or the end).
fn trivial_body(toks: &[Token], src: &[u8], from: usize) -> Option<usize> {
    let t = toks.get(from)?;
    let len = t.end - t.start;
    // The heads are words of 6 or 7 letters: most statements are told by their length.
    if t.kind != TokenKind::Ident || !(6..=7).contains(&len) {
        return None;
    }
    let word = folded8(src, t);
    if (len == 6 && word == folded8_const(b"select"))
        || (len == 7 && word == folded8_const(b"perform"))
    {
        // `SELECT * FROM check_test(...)`, `SELECT * FROM finish()`: pgTAP's
        // set-returning functions read the same way.
        let star = next_code(toks, from);
        if toks.get(star).is_some_and(|t| t.text(src) == b"*") {
            let kw = next_code(toks, star);
            if is_word(toks, src, kw, b"from") {
                return Some(next_code(toks, kw));
            }
        }
        Some(star)
    } else if len == 6 && word == folded8_const(b"return") {
        let next = next_code(toks, from);
        is_word(toks, src, next, b"next").then(|| next_code(toks, next))
    } else {
        None
    }
}

fn kind_bit(k: TokenKind) -> u32 {
    1 << (k as u32)
}

/// The kinds of tokens other than names that may stand in a trivial statement's body
/// (as [`trivial_token`] tells; parentheses are counted apart).
const PLAIN_KINDS: u32 = (1 << TokenKind::String as u32)
    | (1 << TokenKind::Number as u32)
    | (1 << TokenKind::Comma as u32)
    | (1 << TokenKind::LBracket as u32)
    | (1 << TokenKind::RBracket as u32)
    | (1 << TokenKind::Cast as u32)
    | (1 << TokenKind::Operator as u32);

/// Whether token `j` may stand in a trivial statement's body; `flags` are its word's
/// flags when it is an identifier (`None`: no word of the table's shape); `prev` and
/// `next` the kinds of the code tokens around it.
fn trivial_token(
    toks: &[Token],
    j: usize,
    flags: Option<u32>,
    helpers: bool,
    prev: Option<TokenKind>,
    next: Option<TokenKind>,
) -> bool {
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
            if next == Some(TokenKind::LParen) {
                !helpers
                    && (flags & PGTAP_PLAIN != 0
                        || (flags & BUILTIN_FUNCTION != 0 && flags & SPECIAL == 0))
            } else if prev == Some(TokenKind::Cast) {
                // `::text`: a built-in type is no reference.
                next != Some(TokenKind::Dot) && flags & BUILTIN_TYPE != 0
            } else {
                flags & VALUE != 0
            }
        }
        _ => false,
    }
}

/// The statements of `toks` in order, each with whether it is trivial. `helpers`: role
/// helpers are known (a call may then switch roles, so no call is trivial). PL/pgSQL
/// blocks: `BEGIN`, `THEN`, `ELSE` and `LOOP` open statements of their own (`BEGIN SET
/// LOCAL ROLE a;` switches the role), unless `BEGIN` starts a transaction or
/// `THEN`/`ELSE` belong to a CASE expression or a MERGE.
///
/// Comments and psql meta-commands ([`skipped`]) are stepped over: `toks` split as they
/// are split as their code tokens alone would be, a statement starting at a code token
/// and ending (`end`, exclusive) at the code token after its last (its `;` or the word
/// opening the next one); comments may lie inside.
pub fn split(toks: &[Token], src: &[u8], helpers: bool) -> Vec<Stmt> {
    let mut out = Vec::new();
    split_into(toks, src, helpers, &mut out);
    out
}

/// [`split`] into `out` (cleared first): a reader reuses one buffer from unit to unit.
pub fn split_into(toks: &[Token], src: &[u8], helpers: bool, out: &mut Vec<Stmt>) {
    out.clear();
    let n = toks.len();
    let mut depth = 0usize;
    let mut cases = 0usize;
    // `MERGE .. WHEN MATCHED THEN UPDATE`: its THEN opens no statement.
    let mut merging = false;
    // The statement from `start`: where its trivial body starts, and whether a token seen
    // so far makes it no trivial one (its head, or a token of its body).
    let head = |s: usize| match trivial_body(toks, src, s) {
        Some(b) => (b, false),
        None => (usize::MAX, true),
    };
    let mut start = code_at(toks, 0);
    let (mut body, mut nontrivial) = head(start);
    // The kind of the code token before `k` (for `::type`).
    let mut prev: Option<TokenKind> = None;
    let mut k = start;
    while k < n {
        let t = &toks[k];
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth = depth.saturating_sub(1),
            TokenKind::LineComment | TokenKind::BlockComment | TokenKind::PsqlMeta => {
                k += 1;
                continue;
            }
            TokenKind::Semicolon if depth == 0 => {
                if k > start {
                    out.push(Stmt {
                        start,
                        end: k,
                        trivial: !nontrivial,
                    });
                }
                start = next_code(toks, k);
                merging = false;
                (body, nontrivial) = head(start);
                prev = Some(TokenKind::Semicolon);
                k = start;
                continue;
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
                    let after = next_code(toks, k);
                    let opens = match &lower[..text.len()] {
                        b"merge" => {
                            merging = true;
                            None
                        }
                        b"case" => {
                            cases += 1;
                            None
                        }
                        b"end" => {
                            cases = cases.saturating_sub(1);
                            if is_word(toks, src, after, b"case") {
                                // `END CASE`: both words stay in the statement.
                                if check {
                                    nontrivial = true;
                                }
                                prev = Some(TokenKind::Ident);
                                k = after + 1;
                                continue;
                            }
                            None
                        }
                        b"begin" => {
                            let transaction = toks
                                .get(after)
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
                                .any(|w| is_word(toks, src, after, w));
                            match (transaction, is_word(toks, src, after, b"atomic")) {
                                (true, _) => None,
                                // `BEGIN ATOMIC`: the statement starts after both.
                                (false, true) => Some(next_code(toks, after)),
                                (false, false) => Some(after),
                            }
                        }
                        b"then" | b"else" | b"loop" if cases == 0 && !merging => Some(after),
                        _ => None,
                    };
                    if let Some(next) = opens {
                        if k > start {
                            out.push(Stmt {
                                start,
                                end: k,
                                trivial: !nontrivial,
                            });
                        }
                        prev = Some(TokenKind::Ident);
                        k = next;
                        start = k;
                        (body, nontrivial) = head(start);
                        continue;
                    }
                }
                if check {
                    let next = toks.get(next_code(toks, k)).map(|t| t.kind);
                    if !trivial_token(toks, k, flags, helpers, prev, next) {
                        nontrivial = true;
                    }
                }
            }
            kind => {
                if !nontrivial && k >= body && PLAIN_KINDS & kind_bit(kind) == 0 {
                    nontrivial = true;
                }
            }
        }
        prev = Some(t.kind);
        k += 1;
    }
    if n > start {
        out.push(Stmt {
            start,
            end: n,
            trivial: !nontrivial,
        });
    }
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
            counting: false,
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

    /// A head word told by its folded integer is told as a case-insensitive comparison
    /// tells it, wherever the token lies in the source (its end too).
    #[test]
    fn folded_heads_match_as_case_insensitive_comparison_does() {
        let words: &[&[u8]] = &[
            b"select",
            b"SELECT",
            b"sElEcT",
            b"perform",
            b"PERFORM",
            b"return",
            b"Return",
            b"selec",
            b"select_",
            b"selecT1",
            b"se1ect",
            b"s\x00lect",
            b"sel\xc3\xa9t",
            b"r\x05turn",
            b"perfor",
            b"performs",
            b"{elect",
            b"SELEC\x14",
            b"s",
        ];
        let heads: &[&[u8]] = &[b"select", b"perform", b"return"];
        for w in words {
            for (before, after) in [(&b""[..], &b""[..]), (b"x ", b" (1)"), (b"", b"abcdefgh")] {
                let src = [before, w, after].concat();
                let (start, end) = (before.len() as u32, (before.len() + w.len()) as u32);
                let t = Token {
                    kind: TokenKind::Ident,
                    start,
                    end,
                    inner_start: start,
                    inner_end: end,
                    line: 1,
                    col: 1,
                    flavor: crate::lexer::StringFlavor::Standard,
                };
                for h in heads {
                    let folded =
                        t.end - t.start == h.len() as u32 && folded8(&src, &t) == folded8_const(h);
                    assert_eq!(folded, w.eq_ignore_ascii_case(h), "{w:?} {h:?}");
                }
            }
        }
    }

    /// `toks` split as lexed (comments and psql meta-commands in place), its statements
    /// given in the indices of the code tokens alone.
    fn split_as_lexed(src: &[u8], helpers: bool) -> Vec<Stmt> {
        let mut toks = Vec::new();
        let mut diags = Vec::new();
        tokenize_range(src, 0..src.len(), 1, 1, &mut toks, &mut diags);
        // The index among code tokens of each token (of the next code token for a
        // skipped one), and of the end.
        let mut code_index = Vec::with_capacity(toks.len() + 1);
        let mut c = 0;
        for t in &toks {
            code_index.push(c);
            if !skipped(t.kind) {
                c += 1;
            }
        }
        code_index.push(c);
        split(&toks, src, helpers)
            .into_iter()
            .map(|s| {
                assert!(
                    !skipped(toks[s.start].kind),
                    "a statement starts at a comment"
                );
                Stmt {
                    start: code_index[s.start],
                    end: code_index[s.end],
                    trivial: s.trivial,
                }
            })
            .collect()
    }

    /// A counting reader splits a unit as lexed, without its comment-free copy: the
    /// statements and their trivial flags are those of the copy, comments anywhere.
    #[test]
    fn splitting_as_lexed_steps_over_comments_as_the_copy_did() {
        const COMMENTED: &[&str] = &[
            "-- a\nselect has_table('a'); -- b\n/* c */ select ok(true); -- d",
            "select /* x */ * /* y */ from /* z */ finish(); select -- w\n * from t;",
            "return /* x */ next is(v, 1); return -- y\n next has_table('t'::/*z*/name);",
            "do $$ begin -- x\n set local role a; end $$; begin /* t */ transaction; end;",
            "begin -- a\n atomic select 1; end /* b */ case foo; select x:: -- c\n text;",
            "select case when a then 1 else 2 end; if x /* c */ then y; else -- z\n z; end if;",
            "\\set x 1\nselect 1; \\i other.sql\nselect has_table('a'); -- end",
            "; -- nothing\n ; /* still nothing */ ; select plan(1) -- last\n",
            "-- only a comment",
        ];
        for helpers in [false, true] {
            for s in COMMENTED.iter().chain(SAMPLES) {
                let src = s.as_bytes();
                let code = code_tokens(src);
                assert_eq!(
                    split_as_lexed(src, helpers),
                    split(&code, src, helpers),
                    "{s}"
                );
            }
        }
        let mut statements = 0;
        for (p, src) in crate::behaviour::corpus_sql_files() {
            let got = split_as_lexed(&src, false);
            assert_eq!(
                got,
                split(&code_tokens(&src), &src, false),
                "{}",
                p.display()
            );
            statements += got.len();
        }
        assert!(statements > 10_000, "only {statements} statements read");
    }

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
