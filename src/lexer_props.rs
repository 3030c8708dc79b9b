//! Properties of the lexer that hold for any input: no panics, tokens in order and in bounds,
//! only whitespace between them, positions that agree with a naive recount, and
//! `tokenize_range` agreeing with `tokenize`. Also: the real-world corpus lexes cleanly.

use std::path::{Path, PathBuf};

use crate::lexer::{ident_value, string_value, tokenize, tokenize_range, Token, TokenKind};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Line starts, found independently of the lexer, to check token positions against.
struct Lines(Vec<usize>);

impl Lines {
    /// A line ends at LF and at a lone CR (one not followed by LF).
    fn new(src: &[u8]) -> Self {
        let nl = src
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && src.get(i + 1) != Some(&b'\n')));
        Lines(std::iter::once(0).chain(nl.map(|(i, _)| i + 1)).collect())
    }

    /// 1-based line and byte column of `offset`.
    fn pos(&self, offset: usize) -> (u32, u32) {
        let line = self.0.partition_point(|&start| start <= offset);
        (line as u32, (offset - self.0[line - 1]) as u32 + 1)
    }
}

/// The structural invariants of `tokens`, lexed from `src[range]`.
fn check_tokens(src: &[u8], range: std::ops::Range<usize>, tokens: &[Token]) {
    let lines = Lines::new(src);
    let mut prev = range.start;
    for tok in tokens {
        let (s, e) = (tok.start as usize, tok.end as usize);
        assert!(s >= prev, "overlap or out of order at {s}: {tok:?}");
        assert!(s < e, "empty token {tok:?}");
        assert!(e <= range.end, "token past the end: {tok:?}");
        assert!(
            src[prev..s].iter().all(|&b| is_ws(b)),
            "non-whitespace gap {:?} before {tok:?}",
            &src[prev..s]
        );
        let (is_, ie) = (tok.inner_start as usize, tok.inner_end as usize);
        assert!(
            s <= is_ && is_ <= ie && ie <= e,
            "inner outside span: {tok:?}"
        );
        assert_eq!((tok.line, tok.col), lines.pos(s), "position of {tok:?}");
        match tok.kind {
            TokenKind::Other
            | TokenKind::LParen
            | TokenKind::RParen
            | TokenKind::LBracket
            | TokenKind::RBracket
            | TokenKind::Comma
            | TokenKind::Semicolon
            | TokenKind::Dot
            | TokenKind::Colon => assert_eq!(e - s, 1, "{tok:?}"),
            TokenKind::Cast => assert_eq!(&src[s..e], b"::"),
            _ => {}
        }
        // Decoding never panics, whatever the token.
        let _ = string_value(src, tok);
        let _ = ident_value(src, tok);
        prev = e;
    }
    assert!(
        src[prev..range.end].iter().all(|&b| is_ws(b)),
        "non-whitespace after the last token"
    );
}

fn check(src: &[u8]) {
    let lexed = tokenize(src);
    check_tokens(src, 0..src.len(), &lexed.tokens);
    // An unterminated construct runs to the end of input, so there is at most one, last.
    assert!(lexed.diagnostics.len() <= 1, "{:?}", lexed.diagnostics);
    if let Some(d) = lexed.diagnostics.first() {
        let last = lexed.tokens.last().expect("a diagnostic without a token");
        assert_eq!(last.end as usize, src.len());
        assert_eq!((d.line, d.col), (last.line, last.col));
    }

    // The whole input through tokenize_range is the same as tokenize.
    let (mut toks, mut diags) = (Vec::new(), Vec::new());
    tokenize_range(src, 0..src.len(), 1, 1, &mut toks, &mut diags);
    assert_eq!(toks, lexed.tokens);
    assert_eq!(diags, lexed.diagnostics);

    // A sub-range between clean boundaries (input edges or whitespace) gives the same tokens.
    let n = lexed.tokens.len();
    for i in 0..n.min(8) {
        let first = lexed.tokens[i];
        let s = first.start as usize;
        if s > 0 && !is_ws(src[s - 1]) {
            continue;
        }
        for j in (i..n).rev().take(4) {
            let e = lexed.tokens[j].end as usize;
            if e < src.len() && !is_ws(src[e]) {
                continue;
            }
            let (mut toks, mut diags) = (Vec::new(), Vec::new());
            tokenize_range(src, s..e, first.line, first.col, &mut toks, &mut diags);
            assert_eq!(&toks[..], &lexed.tokens[i..=j], "range {s}..{e}");
        }
    }
}

/// tokenize_range on an arbitrary sub-range: invariants hold, with absolute positions.
fn check_any_range(src: &[u8], a: usize, b: usize) {
    let (a, b) = (a.min(b).min(src.len()), b.max(a).min(src.len()));
    let (line, col) = Lines::new(src).pos(a);
    let (mut toks, mut diags) = (Vec::new(), Vec::new());
    tokenize_range(src, a..b, line, col, &mut toks, &mut diags);
    check_tokens(src, a..b, &toks);
    assert!(diags.len() <= 1);
}

/// Fragments that hit the lexer's tricky paths.
const FRAGMENTS: &[&str] = &[
    "'",
    "''",
    "E'",
    "e'",
    "N'",
    "B'",
    "X'",
    "U&'",
    "U&\"",
    "u&",
    "\"",
    "\"\"",
    "$",
    "$$",
    "$a$",
    "$b$",
    "$1",
    "$_x",
    ":",
    "::",
    ":=",
    ":v",
    ":'v'",
    ":\"v\"",
    ":'",
    "=>",
    "=",
    "-",
    "+",
    "*",
    "/",
    "<",
    ">",
    "@",
    "!",
    "~",
    "|",
    "?",
    "%",
    "^",
    "&",
    "`",
    "#",
    "--",
    "/*",
    "*/",
    "\\",
    "\\\\",
    "\\i x.sql",
    "\\gset",
    "\\echo '",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "x",
    "e",
    "u",
    "SELECT",
    "has_table",
    "1",
    "0x1F",
    "0b",
    "1e",
    "1.5",
    ".",
    "..",
    "_",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    "{",
    "\u{e9}",
    "\u{0}",
    "\\u00e9",
    "\\x41",
    "\\+000061",
    "\\D83D",
];

fn sqlish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..48)
        .prop_map(|parts| parts.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes(src in prop::collection::vec(any::<u8>(), 0..400)) {
        check(&src);
    }

    #[test]
    fn sqlish_text(src in sqlish()) {
        check(&src);
    }

    #[test]
    fn sqlish_sub_ranges(src in sqlish(), a in 0usize..200, b in 0usize..200) {
        check_any_range(&src, a, b);
    }

    #[test]
    fn arbitrary_sub_ranges(src in prop::collection::vec(any::<u8>(), 0..200), a in 0usize..200, b in 0usize..200) {
        check_any_range(&src, a, b);
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

#[test]
fn corpus_lexes_without_diagnostics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !root.is_dir() {
        eprintln!("note: {} not found; corpus test skipped", root.display());
        return;
    }
    let mut files = Vec::new();
    files_under(&root, &mut files);
    files.sort();
    let mut failures = Vec::new();
    let (mut bodies, mut body_diags) = (0usize, Vec::new());
    for path in &files {
        let Ok(src) = std::fs::read(path) else {
            continue;
        };
        let lexed = tokenize(&src);
        let lines = Lines::new(&src);
        check_tokens(&src, 0..src.len(), &lexed.tokens);
        for d in &lexed.diagnostics {
            failures.push(format!(
                "{}:{}:{}: {}",
                path.display(),
                d.line,
                d.col,
                d.message
            ));
        }
        // Dollar bodies are lexed again as SQL by the extraction: they must lex too (or be
        // reported, for bodies in other languages).
        for tok in lexed
            .tokens
            .iter()
            .filter(|t| t.kind == TokenKind::DollarString)
        {
            let (line, col) = lines.pos(tok.inner_start as usize);
            let (mut toks, mut diags) = (Vec::new(), Vec::new());
            tokenize_range(&src, tok.inner(), line, col, &mut toks, &mut diags);
            check_tokens(&src, tok.inner(), &toks);
            bodies += 1;
            for d in diags {
                body_diags.push(format!(
                    "{}:{}:{}: {}",
                    path.display(),
                    d.line,
                    d.col,
                    d.message
                ));
            }
        }
    }
    eprintln!(
        "lexed {} corpus files, {bodies} dollar bodies; {} diagnostics inside bodies",
        files.len(),
        body_diags.len()
    );
    for d in &body_diags {
        eprintln!("  body: {d}");
    }
    assert!(
        failures.is_empty(),
        "unexpected diagnostics:\n{}",
        failures.join("\n")
    );
}
