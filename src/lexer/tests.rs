//! Unit tests of the lexer: token kinds, spans, lines, strings, and what never panics.

use super::TokenKind::*;
use super::*;

type S = std::string::String;

fn toks(src: &str) -> Vec<(TokenKind, S)> {
    let lexed = tokenize(src.as_bytes());
    assert!(lexed.diagnostics.is_empty(), "{:?}", lexed.diagnostics);
    lexed
        .tokens
        .iter()
        .map(|t| {
            let text = S::from_utf8_lossy(t.text(src.as_bytes())).into_owned();
            (t.kind, text)
        })
        .collect()
}

fn kinds(src: &str) -> Vec<TokenKind> {
    toks(src).into_iter().map(|(k, _)| k).collect()
}

fn t(kind: TokenKind, s: &str) -> (TokenKind, S) {
    (kind, s.to_string())
}

fn one(src: &str) -> Token {
    let lexed = tokenize(src.as_bytes());
    assert_eq!(lexed.tokens.len(), 1, "{:?}", lexed.tokens);
    lexed.tokens[0]
}

fn inner(src: &str, tok: &Token) -> S {
    S::from_utf8_lossy(&src.as_bytes()[tok.inner()]).into_owned()
}

fn value(src: &str) -> Vec<u8> {
    string_value(src.as_bytes(), &one(src)).into_owned()
}

#[test]
fn simple_select() {
    assert_eq!(
        toks("SELECT has_table('public', 'users');"),
        vec![
            t(Ident, "SELECT"),
            t(Ident, "has_table"),
            t(LParen, "("),
            t(String, "'public'"),
            t(Comma, ","),
            t(String, "'users'"),
            t(RParen, ")"),
            t(Semicolon, ";"),
        ]
    );
}

#[test]
fn empty_and_whitespace_only() {
    assert!(tokenize(b"").tokens.is_empty());
    assert!(tokenize(b" \t\r\n\x0b\x0c\n").tokens.is_empty());
}

#[test]
fn line_comment() {
    let src = "a -- hello\nb";
    assert_eq!(
        toks(src),
        vec![t(Ident, "a"), t(LineComment, "-- hello"), t(Ident, "b")]
    );
    let c = tokenize(src.as_bytes()).tokens[1];
    assert_eq!(inner(src, &c), " hello");
    // At end of input, no newline.
    assert_eq!(toks("--x"), vec![t(LineComment, "--x")]);
}

#[test]
fn block_comments_nest() {
    let src = "/* a /* b */ c */ x";
    assert_eq!(
        toks(src),
        vec![t(BlockComment, "/* a /* b */ c */"), t(Ident, "x")]
    );
    let c = tokenize(src.as_bytes()).tokens[0];
    assert_eq!(inner(src, &c), " a /* b */ c ");
    assert_eq!(toks("/**/"), vec![t(BlockComment, "/**/")]);
    assert_eq!(toks("/***/"), vec![t(BlockComment, "/***/")]);
    // `/*/` inside a comment opens a nested one, as in PostgreSQL.
    let lexed = tokenize(b"/* /*/ */");
    assert_eq!(lexed.diagnostics.len(), 1);
    // Comment markers inside strings are not comments.
    assert_eq!(
        kinds("'--' '/*' \"/*\" $$--$$"),
        vec![String, String, QuotedIdent, DollarString]
    );
}

#[test]
fn standard_strings() {
    let src = "'it''s'";
    let tok = one(src);
    assert_eq!(tok.kind, String);
    assert_eq!(tok.flavor, StringFlavor::Standard);
    assert_eq!(inner(src, &tok), "it''s");
    assert_eq!(value(src), b"it's");
    // Standard-conforming: a backslash is an ordinary character and does not escape.
    assert_eq!(toks(r"'a\' b"), vec![t(String, r"'a\'"), t(Ident, "b")]);
    assert_eq!(value(r"'a\nb'"), br"a\nb");
    assert!(matches!(
        string_value(b"'plain'", &one("'plain'")),
        Cow::Borrowed(b"plain")
    ));
    assert_eq!(value("''"), b"");
    assert_eq!(value("''''"), b"'");
}

#[test]
fn strings_are_not_joined() {
    assert_eq!(toks("'a'\n'b'"), vec![t(String, "'a'"), t(String, "'b'")]);
}

#[test]
fn escape_strings() {
    assert_eq!(toks(r"E'\''"), vec![t(String, r"E'\''")]);
    let tok = one(r"e'a\'b'");
    assert_eq!(tok.flavor, StringFlavor::Escape);
    assert_eq!(value(r"E'\''"), b"'");
    assert_eq!(value(r"E'a''b'"), b"a'b");
    assert_eq!(value(r"E'\n\t\\\b\f\r'"), b"\n\t\\\x08\x0c\r");
    assert_eq!(value(r"E'\101\x41\x4A\7'"), b"AAJ\x07");
    assert_eq!(value(r"E'\xZ'"), b"xZ");
    assert_eq!(value(r"E'\q'"), b"q");
    assert_eq!(value(r"E'\u00e9\U0001F600'"), "é😀".as_bytes());
    assert_eq!(value(r"E'\uD83D\uDE00'"), "😀".as_bytes());
    // Malformed: kept raw, never a panic.
    assert_eq!(value(r"E'\u12'"), br"\u12");
    assert_eq!(value(r"E'\uD83Dx'"), br"\uD83Dx");
    assert_eq!(value(r"E'\U0011FFFF'"), br"\U0011FFFF");
    assert_eq!(value(r"E'\u0000'"), br"\u0000");
    assert_eq!(value("E'no escapes'"), b"no escapes");
    // A backslash before the closing quote escapes it: unterminated.
    let lexed = tokenize(br"E'abc\'");
    assert_eq!(lexed.diagnostics.len(), 1);
}

#[test]
fn prefixed_strings() {
    for (src, flavor) in [
        ("N'x'", StringFlavor::National),
        ("n'x'", StringFlavor::National),
        ("B'101'", StringFlavor::Bit),
        ("b'101'", StringFlavor::Bit),
        ("X'1F'", StringFlavor::Hex),
        ("x'1F'", StringFlavor::Hex),
        ("U&'x'", StringFlavor::Unicode),
        ("u&'x'", StringFlavor::Unicode),
    ] {
        let tok = one(src);
        assert_eq!((tok.kind, tok.flavor), (String, flavor), "{src}");
        assert_eq!(tok.end as usize, src.len());
    }
    // An identifier merely ending in e/n/b/x/u is not a prefix.
    assert_eq!(toks("the'x'"), vec![t(Ident, "the"), t(String, "'x'")]);
    assert_eq!(
        toks("U&x"),
        vec![t(Ident, "U"), t(Operator, "&"), t(Ident, "x")]
    );
}

#[test]
fn unicode_strings() {
    assert_eq!(value(r"U&'d\0061t\+000061'"), b"data");
    assert_eq!(value(r"U&'\00e9'"), "é".as_bytes());
    assert_eq!(value(r"U&'\D83D\DE00'"), "😀".as_bytes());
    assert_eq!(value(r"U&'a\\b'"), br"a\b");
    assert_eq!(value(r"U&'it''s'"), b"it's");
    assert_eq!(value(r"U&'\12'"), br"\12");
    assert_eq!(value(r"U&'\'"), br"\");
    assert_eq!(value(r"U&'\+1'"), br"\+1");
}

#[test]
fn quoted_identifiers() {
    let src = r#""My ""Table""""#;
    let tok = one(src);
    assert_eq!(tok.kind, QuotedIdent);
    assert_eq!(ident_value(src.as_bytes(), &tok).as_ref(), br#"My "Table""#);
    let src = r#"U&"d\0061t\+000061""#;
    let tok = one(src);
    assert_eq!(tok.kind, QuotedIdent);
    assert_eq!(ident_value(src.as_bytes(), &tok).as_ref(), b"data");
    let src = r#""plain""#;
    assert!(matches!(
        ident_value(src.as_bytes(), &one(src)),
        Cow::Borrowed(b"plain")
    ));
}

#[test]
fn identifiers_fold_ascii_only() {
    let src = "Has_Table";
    assert_eq!(
        ident_value(src.as_bytes(), &one(src)).as_ref(),
        b"has_table"
    );
    let src = "ÉtÉ";
    assert_eq!(
        ident_value(src.as_bytes(), &one(src)).as_ref(),
        "ÉtÉ".as_bytes()
    );
    let src = "lower_1$x";
    assert!(matches!(
        ident_value(src.as_bytes(), &one(src)),
        Cow::Borrowed(_)
    ));
    assert_eq!(toks("a$b$"), vec![t(Ident, "a$b$")]);
    assert_eq!(toks("_x9 é"), vec![t(Ident, "_x9"), t(Ident, "é")]);
}

#[test]
fn dollar_quotes() {
    let src = "$$ it's -- not a comment $$";
    let tok = one(src);
    assert_eq!(tok.kind, DollarString);
    assert_eq!(inner(src, &tok), " it's -- not a comment ");
    let src = "$a$ $b$ $a$";
    let tok = one(src);
    assert_eq!(inner(src, &tok), " $b$ ");
    let src = "$fn$BEGIN RETURN NEXT ok(true); END$fn$;";
    assert_eq!(kinds(src), vec![DollarString, Semicolon]);
    // A closing candidate that shares the tag's prefix.
    let src = "$ab$ $a$ $abc$ $ab$";
    assert_eq!(inner(src, &one(src)), " $a$ $abc$ ");
    // `$$` right after a shorter mismatch: `$a$$$`
    let src = "$$a$$";
    assert_eq!(inner(src, &one(src)), "a");
    assert_eq!(string_value(src.as_bytes(), &one(src)).as_ref(), b"a");
    // Tags can't start with a digit: `$1` is a parameter.
    assert_eq!(toks("$1 $23"), vec![t(Param, "$1"), t(Param, "$23")]);
    assert_eq!(toks("$ x"), vec![t(Other, "$"), t(Ident, "x")]);
    assert_eq!(
        toks("$x y"),
        vec![t(Other, "$"), t(Ident, "x"), t(Ident, "y")]
    );
}

#[test]
fn numbers() {
    for n in [
        "42",
        "3.14",
        ".5",
        "5.",
        "1e10",
        "1.5E-3",
        "2e+7",
        "0x1F",
        "0X_ff",
        "0o17",
        "0b1010",
        "1_000",
        "1_000.000_1",
        ".5e3",
    ] {
        assert_eq!(toks(n), vec![t(Number, n)], "{n}");
    }
    assert_eq!(
        toks("1..10"),
        vec![t(Number, "1"), t(Dot, "."), t(Dot, "."), t(Number, "10")]
    );
    assert_eq!(toks("1e"), vec![t(Number, "1"), t(Ident, "e")]);
    assert_eq!(toks("1_"), vec![t(Number, "1"), t(Ident, "_")]);
    assert_eq!(toks("0x"), vec![t(Number, "0"), t(Ident, "x")]);
    assert_eq!(toks("a.b"), vec![t(Ident, "a"), t(Dot, "."), t(Ident, "b")]);
    assert_eq!(
        toks("tap.has_table("),
        vec![
            t(Ident, "tap"),
            t(Dot, "."),
            t(Ident, "has_table"),
            t(LParen, "(")
        ]
    );
}

#[test]
fn operators() {
    assert_eq!(
        toks("=-1"),
        vec![t(Operator, "="), t(Operator, "-"), t(Number, "1")]
    );
    assert_eq!(
        toks("a<>b"),
        vec![t(Ident, "a"), t(Operator, "<>"), t(Ident, "b")]
    );
    assert_eq!(
        toks("x => 1"),
        vec![t(Ident, "x"), t(Operator, "=>"), t(Number, "1")]
    );
    assert_eq!(
        toks("x := 1"),
        vec![t(Ident, "x"), t(Operator, ":="), t(Number, "1")]
    );
    assert_eq!(toks("@-"), vec![t(Operator, "@-")]);
    assert_eq!(toks("*--c"), vec![t(Operator, "*"), t(LineComment, "--c")]);
    assert_eq!(
        toks("+/*c*/"),
        vec![t(Operator, "+"), t(BlockComment, "/*c*/")]
    );
    assert_eq!(
        toks("<=+-+"),
        vec![
            t(Operator, "<="),
            t(Operator, "+"),
            t(Operator, "-"),
            t(Operator, "+")
        ]
    );
    assert_eq!(toks("||"), vec![t(Operator, "||")]);
    assert_eq!(toks("?|"), vec![t(Operator, "?|")]);
    assert_eq!(
        toks("SELECT * FROM t"),
        vec![
            t(Ident, "SELECT"),
            t(Operator, "*"),
            t(Ident, "FROM"),
            t(Ident, "t")
        ]
    );
}

#[test]
fn long_plus_run_is_linear() {
    let src = "+".repeat(200_000);
    let lexed = tokenize(src.as_bytes());
    assert_eq!(lexed.tokens.len(), 200_000);
}

#[test]
fn casts_colons_and_psql_vars() {
    assert_eq!(
        toks("x::int"),
        vec![t(Ident, "x"), t(Cast, "::"), t(Ident, "int")]
    );
    assert_eq!(
        toks("'a'::name[]"),
        vec![
            t(String, "'a'"),
            t(Cast, "::"),
            t(Ident, "name"),
            t(LBracket, "["),
            t(RBracket, "]")
        ]
    );
    assert_eq!(
        toks("arr[1:2]"),
        vec![
            t(Ident, "arr"),
            t(LBracket, "["),
            t(Number, "1"),
            t(Colon, ":"),
            t(Number, "2"),
            t(RBracket, "]")
        ]
    );
    let src = "SELECT :v, :'v', :\"v_1\"";
    assert_eq!(
        toks(src),
        vec![
            t(Ident, "SELECT"),
            t(PsqlVar, ":v"),
            t(Comma, ","),
            t(PsqlVar, ":'v'"),
            t(Comma, ","),
            t(PsqlVar, ":\"v_1\"")
        ]
    );
    let lexed = tokenize(src.as_bytes());
    let names: Vec<_> = lexed
        .tokens
        .iter()
        .filter(|t| t.kind == PsqlVar)
        .map(|t| inner(src, t))
        .collect();
    assert_eq!(names, ["v", "v", "v_1"]);
    // Not a variable: an empty or unclosed quoted name.
    assert_eq!(toks(":''"), vec![t(Colon, ":"), t(String, "''")]);
    assert_eq!(toks_unchecked(":'x"), vec![t(Colon, ":"), t(String, "'x")]);
    assert_eq!(toks(": x"), vec![t(Colon, ":"), t(Ident, "x")]);
    // Inside strings and comments a `:name` is text.
    assert_eq!(
        kinds("':v' -- :v\n/* :v */"),
        vec![String, LineComment, BlockComment]
    );
}

fn toks_unchecked(src: &str) -> Vec<(TokenKind, S)> {
    tokenize(src.as_bytes())
        .tokens
        .iter()
        .map(|t| {
            (
                t.kind,
                S::from_utf8_lossy(t.text(src.as_bytes())).into_owned(),
            )
        })
        .collect()
}

#[test]
fn psql_meta_commands() {
    let src = "\\set ON_ERROR_STOP 1\n\\i setup.sql\n\\ir ../x.sql\nSELECT 1;";
    assert_eq!(
        toks(src),
        vec![
            t(PsqlMeta, "\\set ON_ERROR_STOP 1"),
            t(PsqlMeta, "\\i setup.sql"),
            t(PsqlMeta, "\\ir ../x.sql"),
            t(Ident, "SELECT"),
            t(Number, "1"),
            t(Semicolon, ";")
        ]
    );
    assert_eq!(
        toks("\\if :flag\nSELECT 1;\n\\endif"),
        vec![
            t(PsqlMeta, "\\if :flag"),
            t(Ident, "SELECT"),
            t(Number, "1"),
            t(Semicolon, ";"),
            t(PsqlMeta, "\\endif")
        ]
    );
    assert_eq!(
        toks("SELECT 1 AS n \\gset\n\\echo :n"),
        vec![
            t(Ident, "SELECT"),
            t(Number, "1"),
            t(Ident, "AS"),
            t(Ident, "n"),
            t(PsqlMeta, "\\gset"),
            t(PsqlMeta, "\\echo :n")
        ]
    );
    // `\\` ends the command; SQL may follow on the same line.
    assert_eq!(
        toks("\\x \\\\ SELECT 1;"),
        vec![
            t(PsqlMeta, "\\x \\\\"),
            t(Ident, "SELECT"),
            t(Number, "1"),
            t(Semicolon, ";")
        ]
    );
    // ... but not inside a quoted argument.
    assert_eq!(
        toks("\\echo 'a \\\\ b' c\nx"),
        vec![t(PsqlMeta, "\\echo 'a \\\\ b' c"), t(Ident, "x")]
    );
    // An unclosed quote in an argument ends with the line.
    assert_eq!(
        toks("\\echo it's\nx"),
        vec![t(PsqlMeta, "\\echo it's"), t(Ident, "x")]
    );
    for cmd in [
        "\\t",
        "\\x",
        "\\pset format unaligned",
        "\\unset x",
        "\\q",
        "\\",
    ] {
        assert_eq!(toks(cmd), vec![t(PsqlMeta, cmd)]);
    }
    // A backslash inside a string or dollar body is not a meta-command.
    assert_eq!(kinds("'\\i x' $$\\i x$$"), vec![String, DollarString]);
}

#[test]
fn crlf_line_endings() {
    let src = "\\i a.sql\r\n-- c\r\nSELECT 'x\r\ny',\r\n  z;\r\n";
    let lexed = tokenize(src.as_bytes());
    assert!(lexed.diagnostics.is_empty());
    let got: Vec<_> = lexed
        .tokens
        .iter()
        .map(|t| {
            (
                t.kind,
                std::str::from_utf8(t.text(src.as_bytes())).unwrap(),
                t.line,
                t.col,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (PsqlMeta, "\\i a.sql", 1, 1),
            (LineComment, "-- c", 2, 1),
            (Ident, "SELECT", 3, 1),
            (String, "'x\r\ny'", 3, 8),
            (Comma, ",", 4, 3),
            (Ident, "z", 5, 3),
            (Semicolon, ";", 5, 4),
        ]
    );
}

#[test]
fn lone_cr_ends_comments_and_meta_commands_and_counts_as_a_line() {
    let src = "\\set x 1\r-- c\rSELECT 'x\ry',\r  z; /* a\r\r b */ w\r\n v";
    let lexed = tokenize(src.as_bytes());
    assert!(lexed.diagnostics.is_empty());
    let got: Vec<_> = lexed
        .tokens
        .iter()
        .map(|t| {
            (
                t.kind,
                std::str::from_utf8(t.text(src.as_bytes())).unwrap(),
                t.line,
                t.col,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (PsqlMeta, "\\set x 1", 1, 1),
            (LineComment, "-- c", 2, 1),
            (Ident, "SELECT", 3, 1),
            (String, "'x\ry'", 3, 8),
            (Comma, ",", 4, 3),
            (Ident, "z", 5, 3),
            (Semicolon, ";", 5, 4),
            (BlockComment, "/* a\r\r b */", 5, 6),
            (Ident, "w", 7, 7),
            (Ident, "v", 8, 2),
        ]
    );
    assert!(is_line_break(b"a\rb", 1));
    assert!(!is_line_break(b"a\r\nb", 1));
    assert!(is_line_break(b"a\r\nb", 2));
}

#[test]
fn line_and_col() {
    let src = "a\n  /* x\n y */ b $$\n\n$$ c\n\t\"q\nq\" d";
    let lexed = tokenize(src.as_bytes());
    let got: Vec<_> = lexed
        .tokens
        .iter()
        .map(|t| (t.kind, t.line, t.col))
        .collect();
    assert_eq!(
        got,
        vec![
            (Ident, 1, 1),
            (BlockComment, 2, 3),
            (Ident, 3, 7),
            (DollarString, 3, 9),
            (Ident, 5, 4),
            (QuotedIdent, 6, 2),
            (Ident, 7, 4),
        ]
    );
}

#[test]
fn unterminated_constructs_report_where_they_start() {
    let cases: [(&str, TokenKind, &str, u32, u32); 9] = [
        ("x\n  'abc\n\n", String, "unterminated quoted string", 2, 3),
        ("x\n  E'ab\\'", String, "unterminated quoted string", 2, 3),
        (
            "\n\n\"abc",
            QuotedIdent,
            "unterminated quoted identifier",
            3,
            1,
        ),
        (
            "a /* b /* c */\n",
            BlockComment,
            "unterminated /* comment",
            1,
            3,
        ),
        (
            "\nSELECT $f$ body $g$\n",
            DollarString,
            "unterminated dollar-quoted string",
            2,
            8,
        ),
        (
            "$$",
            DollarString,
            "unterminated dollar-quoted string",
            1,
            1,
        ),
        ("B'01", String, "unterminated bit string literal", 1, 1),
        (
            "X'01",
            String,
            "unterminated hexadecimal string literal",
            1,
            1,
        ),
        ("U&\"x", QuotedIdent, "unterminated quoted identifier", 1, 1),
    ];
    for (src, kind, msg, line, col) in cases {
        let lexed = tokenize(src.as_bytes());
        assert_eq!(lexed.diagnostics.len(), 1, "{src:?}");
        let d = &lexed.diagnostics[0];
        assert_eq!(
            (d.message.as_str(), d.line, d.col),
            (msg, line, col),
            "{src:?}"
        );
        let last = lexed.tokens.last().copied().unwrap();
        assert_eq!(last.kind, kind, "{src:?}");
        assert_eq!(last.end as usize, src.len(), "{src:?}");
        assert_eq!(last.inner_end as usize, src.len(), "{src:?}");
        assert_eq!((last.line, last.col), (line, col), "{src:?}");
    }
    // Values of unterminated constructs don't panic either.
    for src in ["E'\\", "U&'\\", "U&'\\+", "'a''", "E'\\u"] {
        let lexed = tokenize(src.as_bytes());
        for tok in &lexed.tokens {
            let _ = string_value(src.as_bytes(), tok);
            let _ = ident_value(src.as_bytes(), tok);
        }
    }
}

#[test]
fn invalid_utf8_is_fine() {
    let src = b"SELECT '\xff\xfe' \xc3 \x80abc \x00";
    let lexed = tokenize(src);
    assert!(lexed.diagnostics.is_empty());
    let k: Vec<_> = lexed.tokens.iter().map(|t| t.kind).collect();
    assert_eq!(k, vec![Ident, String, Ident, Ident, Other]);
}

#[test]
fn other_bytes() {
    assert_eq!(
        toks("{ } \x00"),
        vec![t(Other, "{"), t(Other, "}"), t(Other, "\0")]
    );
}

#[test]
fn tokenize_range_offsets_and_positions() {
    let src = "CREATE FUNCTION f() RETURNS SETOF TEXT AS $$\nBEGIN\n  RETURN NEXT ok(true);\nEND;\n$$ LANGUAGE plpgsql;";
    let lexed = tokenize(src.as_bytes());
    let body = lexed
        .tokens
        .iter()
        .find(|t| t.kind == DollarString)
        .copied()
        .unwrap();
    let (line, col) = (body.line, body.col + 2);
    let mut tokens = Vec::new();
    let mut diags = Vec::new();
    tokenize_range(
        src.as_bytes(),
        body.inner(),
        line,
        col,
        &mut tokens,
        &mut diags,
    );
    assert!(diags.is_empty());
    let got: Vec<_> = tokens
        .iter()
        .map(|t| {
            (
                std::str::from_utf8(t.text(src.as_bytes())).unwrap(),
                t.line,
                t.col,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("BEGIN", 2, 1),
            ("RETURN", 3, 3),
            ("NEXT", 3, 10),
            ("ok", 3, 15),
            ("(", 3, 17),
            ("true", 3, 18),
            (")", 3, 22),
            (";", 3, 23),
            ("END", 4, 1),
            (";", 4, 4),
        ]
    );
    // On the range's first line, columns continue from `col`.
    let mut tokens = Vec::new();
    tokenize_range(b"xx $$ab cd$$", 5..10, 1, 6, &mut tokens, &mut diags);
    let got: Vec<_> = tokens.iter().map(|t| (t.start, t.col)).collect();
    assert_eq!(got, vec![(5, 6), (8, 9)]);
    // Out-of-bounds or inverted ranges don't panic.
    tokenize_range(b"abc", 2..99, 1, 3, &mut tokens, &mut diags);
    #[allow(clippy::reversed_empty_ranges)]
    tokenize_range(b"abc", 3..1, 1, 4, &mut tokens, &mut diags);
    // A construct left open at the end of the range is unterminated there.
    let mut diags = Vec::new();
    tokenize_range(b"'ab' 'cd'", 0..7, 1, 1, &mut tokens, &mut diags);
    assert_eq!(diags.len(), 1);
}
