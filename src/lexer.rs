//! A PostgreSQL + psql tokenizer over raw bytes (zero-copy: tokens are spans into the input).
//!
//! Owns: token kinds, spans with line/column, string-literal decoding, and lexical
//! diagnostics (unterminated constructs). Knows nothing of pgTAP.
//!
//! Whitespace is not emitted: every byte of the input belongs to exactly one token or is
//! ASCII whitespace between tokens, and tokens come in input order.

use std::borrow::Cow;
use std::ops::Range;

/// What a token is. Keywords are `Ident`s: the parser compares them case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Unquoted identifier or keyword (`select`, `has_table`, bytes >= 0x80 included).
    Ident,
    /// `"quoted ""identifier"""`; also `U&"..."`.
    QuotedIdent,
    /// A quoted string constant: `'..'`, `E'..'`, `U&'..'`, `N'..'`, `B'..'`, `X'..'`.
    /// Adjacent constants separated by a newline are separate tokens (the parser joins them).
    String,
    /// `$$..$$` or `$tag$..$tag$`; [`Token::inner`] is the body between the delimiters.
    DollarString,
    /// `42`, `3.14`, `1e10`, `0x1F`, `1_000`.
    Number,
    /// `$1` positional parameter.
    Param,
    /// An operator: any run of `+ - * / < > = ~ ! @ # % ^ & | \` ?` (PostgreSQL's rules for
    /// where an operator ends, e.g. `=>` named-argument arrow, `:=`).
    Operator,
    /// `::`
    Cast,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Semicolon,
    Dot,
    /// A lone `:` (array slices) that is not a psql variable nor `::`.
    Colon,
    /// psql variable: `:name`, `:'name'`, `:"name"`.
    PsqlVar,
    /// A psql meta-command: from the backslash to the end of the line (or to a `\\`
    /// separator), e.g. `\i setup.sql`, `\set ON_ERROR_STOP 1`, `\if :x`.
    PsqlMeta,
    /// `-- ...` to end of line (newline not included).
    LineComment,
    /// `/* ... */`, nested.
    BlockComment,
    /// Any other byte (e.g. a stray control character); one byte long.
    Other,
}

/// A token: a span of the input with its position. `line` and `col` are 1-based; `col`
/// counts bytes from the start of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: u32,
    pub end: u32,
    /// For `String`: the span between the quotes (after any prefix).
    /// For `DollarString`: the body between the tags. For `QuotedIdent`: between the quotes.
    /// For comments: the text after `--` / between `/*` and `*/`. Otherwise equal to the span.
    pub inner_start: u32,
    pub inner_end: u32,
    pub line: u32,
    pub col: u32,
    /// `String` only: the prefix that decides escapes.
    pub flavor: StringFlavor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StringFlavor {
    #[default]
    Standard,
    /// `E'..'`: backslash escapes.
    Escape,
    /// `U&'..'`
    Unicode,
    /// `B'..'`
    Bit,
    /// `X'..'`
    Hex,
    /// `N'..'`
    National,
}

/// A lexical problem, e.g. an unterminated string. Lexing always continues to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexDiagnostic {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl Token {
    pub fn span(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
    pub fn inner(&self) -> Range<usize> {
        self.inner_start as usize..self.inner_end as usize
    }
    pub fn text<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        &src[self.span()]
    }
    /// ASCII case-insensitive comparison of an `Ident` with a keyword.
    pub fn is_keyword(&self, src: &[u8], kw: &str) -> bool {
        self.kind == TokenKind::Ident && self.text(src).eq_ignore_ascii_case(kw.as_bytes())
    }
}

// ---- interim stubs (replaced by the lexer work) ----
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub diagnostics: Vec<LexDiagnostic>,
}
pub fn tokenize(_src: &[u8]) -> Lexed {
    unimplemented!()
}
pub fn tokenize_range(
    _src: &[u8],
    _range: Range<usize>,
    _line: u32,
    _col: u32,
    _tokens: &mut Vec<Token>,
    _diags: &mut Vec<LexDiagnostic>,
) {
    unimplemented!()
}
pub fn string_value<'a>(_src: &'a [u8], _tok: &Token) -> Cow<'a, [u8]> {
    unimplemented!()
}
pub fn ident_value<'a>(_src: &'a [u8], _tok: &Token) -> Cow<'a, [u8]> {
    unimplemented!()
}
