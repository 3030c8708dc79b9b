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

// `#[inline]`: called with constant keywords in the extractor's and the reader's hot
// loops, where inlined they compare as constants; left to the code-generation units,
// whether they were inlined changed with unrelated edits (+36M instructions on the 2k
// bench tree, with or without references, when `is_keyword` was not).
impl Token {
    #[inline]
    pub fn span(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
    #[inline]
    pub fn inner(&self) -> Range<usize> {
        self.inner_start as usize..self.inner_end as usize
    }
    #[inline]
    pub fn text<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        &src[self.span()]
    }
    /// ASCII case-insensitive comparison of an `Ident` with a keyword.
    #[inline]
    pub fn is_keyword(&self, src: &[u8], kw: &str) -> bool {
        self.kind == TokenKind::Ident && self.text(src).eq_ignore_ascii_case(kw.as_bytes())
    }
}

/// The UTF-8 byte-order mark (editors on Windows write one). It is not SQL: lexed, it
/// would glue itself to the first word, so readers start after it.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The output of [`tokenize`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub diagnostics: Vec<LexDiagnostic>,
}

/// Tokenizes a whole file.
///
/// Offsets are `u32`: an input longer than `u32::MAX` bytes is lexed up to that length and
/// a diagnostic says so (no test file is that large; this keeps `Token` at 32 bytes).
pub fn tokenize(src: &[u8]) -> Lexed {
    let mut out = Lexed {
        // The corpus averages a token per 11 bytes: one regrowth at most for typical files,
        // without reserving much for files that are mostly one big dollar body.
        tokens: Vec::with_capacity(src.len() / 8 + 16),
        diagnostics: Vec::new(),
    };
    tokenize_range(
        src,
        0..src.len(),
        1,
        1,
        &mut out.tokens,
        &mut out.diagnostics,
    );
    out
}

/// Tokenizes `src[range]` (e.g. the body of a dollar-quoted function), appending to the given
/// vectors. Offsets in the tokens are absolute (into `src`); `line`/`col` are the position of
/// `range.start`. Nothing before `range.start` or after `range.end` is looked at, so a
/// construct still open at `range.end` is reported as unterminated.
pub fn tokenize_range(
    src: &[u8],
    range: Range<usize>,
    line: u32,
    col: u32,
    tokens: &mut Vec<Token>,
    diags: &mut Vec<LexDiagnostic>,
) {
    let limits = Limits {
        window: usize::MAX,
        cap: usize::MAX,
    };
    tokenize_window(src, range, line, col, tokens, diags, limits);
}

/// Where the lexer's window reader (`tokenize_window`) stops: at most this many tokens in
/// the vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Stop after the first `;` outside parentheses once the vector holds this many tokens.
    pub window: usize,
    /// Stop here whatever the position (a statement longer than any window).
    pub cap: usize,
}

/// Where lexing stopped, to go on from there with the same line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub pos: usize,
    pub line: u32,
    pub col: u32,
    /// Stopped at [`Limits::cap`], inside a statement, not after a `;`.
    pub forced: bool,
}

/// [`tokenize_range`] that stops early at `limits`, so a file can be read one window of
/// statements at a time and the token buffer stays bounded whatever the file's size.
/// Returns `None` when it reached the end of `range`.
pub fn tokenize_window(
    src: &[u8],
    range: Range<usize>,
    line: u32,
    col: u32,
    tokens: &mut Vec<Token>,
    diags: &mut Vec<LexDiagnostic>,
    limits: Limits,
) -> Option<Resume> {
    let mut end = range.end.min(src.len());
    if end > MAX_LEN {
        diags.push(LexDiagnostic {
            line,
            col,
            message: format!("input longer than {MAX_LEN} bytes; the rest is not lexed"),
        });
        end = MAX_LEN;
    }
    let start = range.start.min(end);
    let mut lx = Lexer {
        src: &src[..end],
        pos: start,
        line,
        line_start: start,
        col_base: col,
        tokens,
        diags,
        depth: 0,
        limits,
        begin: start,
    };
    let forced = lx.run();
    (lx.pos < end).then(|| Resume {
        pos: lx.pos,
        line: lx.line,
        col: lx.col_of(lx.pos),
        forced,
    })
}

const MAX_LEN: usize = u32::MAX as usize;

// Byte classes, one table lookup per byte in the hot loops.
const C_WS: u8 = 1; // ASCII whitespace PostgreSQL skips: space \t \n \r \f \v
const C_IDENT_START: u8 = 2; // [A-Za-z_\x80-\xff]
const C_IDENT_CONT: u8 = 4; // [A-Za-z0-9_$\x80-\xff]
const C_DIGIT: u8 = 8; // [0-9]
const C_OP: u8 = 16; // ~ ! @ # ^ & | ` ? + - * / % < > =
const C_VAR: u8 = 32; // psql variable_char: [A-Za-z0-9_\x80-\xff]
const C_OP_SPECIAL: u8 = 64; // ~ ! @ # ^ & | ` ? %: keep a trailing + or - in an operator
const C_TAG: u8 = 128; // dollar-quote tag char: [A-Za-z0-9_\x80-\xff]

static CLASS: [u8; 256] = build_classes();

const fn build_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        let mut k = 0u8;
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            k |= C_WS;
        }
        let alpha = c.is_ascii_alphabetic() || c == b'_' || c >= 0x80;
        if alpha {
            k |= C_IDENT_START | C_IDENT_CONT | C_VAR | C_TAG;
        }
        if c.is_ascii_digit() {
            k |= C_DIGIT | C_IDENT_CONT | C_VAR | C_TAG;
        }
        if c == b'$' {
            k |= C_IDENT_CONT;
        }
        if matches!(
            c,
            b'~' | b'!'
                | b'@'
                | b'#'
                | b'^'
                | b'&'
                | b'|'
                | b'`'
                | b'?'
                | b'+'
                | b'-'
                | b'*'
                | b'/'
                | b'%'
                | b'<'
                | b'>'
                | b'='
        ) {
            k |= C_OP;
        }
        if matches!(
            c,
            b'~' | b'!' | b'@' | b'#' | b'^' | b'&' | b'|' | b'`' | b'?' | b'%'
        ) {
            k |= C_OP_SPECIAL;
        }
        t[b] = k;
        b += 1;
    }
    t
}

#[inline(always)]
fn is(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

struct Lexer<'a, 'o> {
    /// The input, cut at the end of the range being lexed (offsets stay absolute).
    src: &'a [u8],
    pos: usize,
    line: u32,
    /// Offset of the first byte of the current line (or of the range, on its first line).
    line_start: usize,
    /// Column of `line_start`: the caller's column on the range's first line, then 1.
    col_base: u32,
    tokens: &'o mut Vec<Token>,
    diags: &'o mut Vec<LexDiagnostic>,
    /// Parentheses open, for stopping at a window's end only between statements.
    depth: u32,
    limits: Limits,
    /// Where this window began.
    begin: usize,
}

impl Lexer<'_, '_> {
    #[inline(always)]
    fn at(&self, i: usize) -> u8 {
        // 0 is never a byte the lexer looks ahead for, so it doubles as "end of input".
        self.src.get(i).copied().unwrap_or(0)
    }

    #[inline(always)]
    fn col_of(&self, i: usize) -> u32 {
        (i - self.line_start) as u32 + self.col_base
    }

    #[inline(always)]
    fn push_full(
        &mut self,
        kind: TokenKind,
        start: usize,
        end: usize,
        inner: (usize, usize),
        flavor: StringFlavor,
    ) {
        self.tokens.push(Token {
            kind,
            start: start as u32,
            end: end as u32,
            inner_start: inner.0 as u32,
            inner_end: inner.1 as u32,
            line: self.line,
            col: self.col_of(start),
            flavor,
        });
    }

    #[inline(always)]
    fn push(&mut self, kind: TokenKind, start: usize, end: usize) {
        self.push_full(kind, start, end, (start, end), StringFlavor::Standard);
    }

    /// Accounts for the newlines inside a token that spans `start..end`; call after pushing it.
    #[inline]
    fn skip_lines(&mut self, start: usize, end: usize) {
        let span = &self.src[start..end];
        // Most strings are short and on one line: a plain loop beats setting up SIMD there.
        let short = span.len() < 64;
        // A CR (rare) takes the slow path; a short span is checked in the same pass.
        let last = if short {
            let mut last = None;
            for (k, &b) in span.iter().enumerate().rev() {
                if b == b'\r' {
                    return self.skip_lines_cr(start, end);
                }
                if b == b'\n' && last.is_none() {
                    last = Some(k);
                }
            }
            last
        } else {
            if memchr::memchr(b'\r', span).is_some() {
                return self.skip_lines_cr(start, end);
            }
            memchr::memrchr(b'\n', span)
        };
        if let Some(last) = last {
            let before = &span[..last];
            let n = if short {
                before.iter().filter(|&&b| b == b'\n').count()
            } else {
                memchr::memchr_iter(b'\n', before).count()
            } + 1;
            self.line = self.line.saturating_add(n as u32);
            self.line_start = start + last + 1;
            self.col_base = 1;
        }
    }

    /// [`Self::skip_lines`] for a span with a CR: a lone CR is a line break too, CRLF one.
    #[cold]
    fn skip_lines_cr(&mut self, start: usize, end: usize) {
        let mut n = 0u32;
        let mut last = None;
        for p in start..end {
            if is_line_break(self.src, p) {
                n = n.saturating_add(1);
                last = Some(p);
            }
        }
        if let Some(last) = last {
            self.line = self.line.saturating_add(n);
            self.line_start = last + 1;
            self.col_base = 1;
        }
    }

    fn unterminated(&mut self, start: usize, what: &str) {
        let diag = LexDiagnostic {
            line: self.line,
            col: self.col_of(start),
            message: format!("unterminated {what}"),
        };
        self.diags.push(diag);
    }

    /// Lexes to the end of the input or to a limit; `true` if it stopped at the cap.
    fn run(&mut self) -> bool {
        let len = self.src.len();
        while self.pos < len {
            if self.tokens.len() >= self.limits.cap {
                return true;
            }
            let b = self.src[self.pos];
            let start = self.pos;
            match b {
                b'\n' => {
                    self.pos += 1;
                    self.line = self.line.saturating_add(1);
                    self.line_start = self.pos;
                    self.col_base = 1;
                }
                b' ' | b'\t' | 0x0b | 0x0c => {
                    // Indentation comes in runs: skip it without going back to the dispatch.
                    let mut p = start + 1;
                    while p < len && matches!(self.src[p], b' ' | b'\t' | 0x0b | 0x0c) {
                        p += 1;
                    }
                    self.pos = p;
                }
                b'\r' => {
                    // A lone CR ends a line (old Mac files; PostgreSQL's `newline` is
                    // [\n\r]); CRLF is one line break, counted at its LF.
                    self.pos += 1;
                    if self.at(self.pos) != b'\n' {
                        self.line = self.line.saturating_add(1);
                        self.line_start = self.pos;
                        self.col_base = 1;
                    }
                }
                b'-' if self.at(start + 1) == b'-' => self.line_comment(start),
                b'/' if self.at(start + 1) == b'*' => self.block_comment(start),
                b'\'' => self.string(start, start, StringFlavor::Standard),
                b'"' => self.quoted_ident(start, start),
                b'$' => self.dollar(start),
                b':' => self.colon(start),
                b'\\' => self.meta(start),
                b'(' => {
                    self.depth = self.depth.saturating_add(1);
                    self.single(TokenKind::LParen, start);
                }
                b')' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.single(TokenKind::RParen, start);
                }
                b'[' => self.single(TokenKind::LBracket, start),
                b']' => self.single(TokenKind::RBracket, start),
                b',' => self.single(TokenKind::Comma, start),
                b';' => {
                    self.single(TokenKind::Semicolon, start);
                    // A window also ends by bytes (8 a token): a few top-level tokens can
                    // carry huge bodies (`DO $$ .. $$;`), lexed later into the same buffer.
                    if self.depth == 0
                        && (self.tokens.len() >= self.limits.window
                            || self.pos - self.begin >= self.limits.window.saturating_mul(8))
                    {
                        return false;
                    }
                }
                b'.' => match self.at(start + 1) {
                    // `..` (PL/pgSQL ranges) binds first, as in PostgreSQL: `1..10`.
                    b'.' => {
                        self.single(TokenKind::Dot, start);
                        self.single(TokenKind::Dot, start + 1);
                    }
                    b'0'..=b'9' => self.number(start),
                    _ => self.single(TokenKind::Dot, start),
                },
                b'0'..=b'9' => self.number(start),
                _ if is(b, C_IDENT_START) => self.ident_or_prefixed(start),
                _ if is(b, C_OP) => self.operator(start),
                _ => self.single(TokenKind::Other, start),
            }
        }
        false
    }

    #[inline(always)]
    fn single(&mut self, kind: TokenKind, start: usize) {
        self.push(kind, start, start + 1);
        self.pos = start + 1;
    }

    /// The end of a line-ending construct: before the `\n`, and before any `\r`s preceding
    /// it, so CRLF files give the same token texts as LF files.
    fn trim_cr(&self, from: usize, mut end: usize) -> usize {
        while end > from && self.src[end - 1] == b'\r' {
            end -= 1;
        }
        end
    }

    fn line_comment(&mut self, start: usize) {
        let body = start + 2;
        // `--{non_newline}*` in PostgreSQL's scan.l: a CR ends the comment as an LF does.
        let eol =
            memchr::memchr2(b'\n', b'\r', &self.src[body..]).map_or(self.src.len(), |k| body + k);
        let end = self.trim_cr(body, eol);
        self.push_full(
            TokenKind::LineComment,
            start,
            end,
            (body, end),
            StringFlavor::Standard,
        );
        self.pos = eol;
    }

    fn block_comment(&mut self, start: usize) {
        let src = self.src;
        let mut depth = 1usize;
        let mut p = start + 2;
        let mut close = None;
        while let Some(k) = memchr::memchr2(b'*', b'/', &src[p..]) {
            let i = p + k;
            let next = self.at(i + 1);
            if src[i] == b'*' && next == b'/' {
                depth -= 1;
                p = i + 2;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            } else if src[i] == b'/' && next == b'*' {
                depth += 1;
                p = i + 2;
            } else {
                p = i + 1;
            }
        }
        self.delimited(
            TokenKind::BlockComment,
            start,
            start + 2,
            close,
            2,
            StringFlavor::Standard,
            "/* comment",
        );
    }

    /// Emits a delimited token (comment, string, quoted identifier, dollar body) from
    /// `start`, whose body starts at `body` and whose closing delimiter of `close_len`
    /// bytes starts at `close`. Unclosed, it runs to the end of the input and is reported
    /// as an unterminated `what` at its start.
    #[allow(clippy::too_many_arguments)]
    fn delimited(
        &mut self,
        kind: TokenKind,
        start: usize,
        body: usize,
        close: Option<usize>,
        close_len: usize,
        flavor: StringFlavor,
        what: &str,
    ) {
        let len = self.src.len();
        let (end, inner_end) = close.map_or((len, len), |i| (i + close_len, i));
        self.push_full(kind, start, end, (body, inner_end), flavor);
        if close.is_none() {
            self.unterminated(start, what);
        }
        self.skip_lines(start, end);
        self.pos = end;
    }

    /// A string constant whose opening quote is at `quote` (after any prefix at `start`).
    fn string(&mut self, start: usize, quote: usize, flavor: StringFlavor) {
        let src = self.src;
        let body = quote + 1;
        let mut p = body;
        let close = match flavor {
            // B'..' and X'..' have no quote doubling in PostgreSQL: the first quote ends them.
            StringFlavor::Bit | StringFlavor::Hex => {
                memchr::memchr(b'\'', &src[p..]).map(|k| p + k)
            }
            StringFlavor::Escape => loop {
                match memchr::memchr2(b'\'', b'\\', &src[p..]) {
                    None => break None,
                    Some(k) => {
                        let i = p + k;
                        if src[i] == b'\\' || self.at(i + 1) == b'\'' {
                            p = (i + 2).min(src.len());
                        } else {
                            break Some(i);
                        }
                    }
                }
            },
            _ => close_doubled(src, p, b'\''),
        };
        let what = match flavor {
            StringFlavor::Bit => "bit string literal",
            StringFlavor::Hex => "hexadecimal string literal",
            _ => "quoted string",
        };
        self.delimited(TokenKind::String, start, body, close, 1, flavor, what);
    }

    /// A `"quoted identifier"` whose opening quote is at `quote` (`U&` prefix at `start`).
    fn quoted_ident(&mut self, start: usize, quote: usize) {
        let src = self.src;
        let body = quote + 1;
        let close = close_doubled(src, body, b'"');
        self.delimited(
            TokenKind::QuotedIdent,
            start,
            body,
            close,
            1,
            StringFlavor::Standard,
            "quoted identifier",
        );
    }

    /// `$1`, `$$..$$`, `$tag$..$tag$`, or a lone `$`.
    fn dollar(&mut self, start: usize) {
        let src = self.src;
        let next = self.at(start + 1);
        if next.is_ascii_digit() {
            let mut p = start + 2;
            while is(self.at(p), C_DIGIT) {
                p += 1;
            }
            self.push(TokenKind::Param, start, p);
            self.pos = p;
            return;
        }
        let mut p = start + 1;
        if is(next, C_IDENT_START) {
            while is(self.at(p), C_TAG) {
                p += 1;
            }
        }
        if self.at(p) != b'$' {
            // Not a delimiter (`$` then something else): PostgreSQL returns the `$` alone.
            self.single(TokenKind::Other, start);
            return;
        }
        let delim = &src[start..=p];
        let body = p + 1;
        let mut q = body;
        let mut close = None;
        // Each `$` is tried once and the comparison stops at the first byte that is not the
        // tag's, which is never a later `$` (tags contain none): linear overall.
        while let Some(k) = memchr::memchr(b'$', &src[q..]) {
            let i = q + k;
            if src[i..].starts_with(delim) {
                close = Some(i);
                break;
            }
            q = i + 1;
        }
        self.delimited(
            TokenKind::DollarString,
            start,
            body,
            close,
            delim.len(),
            StringFlavor::Standard,
            "dollar-quoted string",
        );
    }

    /// `::`, `:=`, psql `:var` / `:'var'` / `:"var"`, or a lone `:`.
    fn colon(&mut self, start: usize) {
        let next = self.at(start + 1);
        match next {
            b':' => {
                self.push(TokenKind::Cast, start, start + 2);
                self.pos = start + 2;
            }
            b'=' => {
                self.push(TokenKind::Operator, start, start + 2);
                self.pos = start + 2;
            }
            b'\'' | b'"' => {
                let mut p = start + 2;
                while is(self.at(p), C_VAR) {
                    p += 1;
                }
                if p > start + 2 && self.at(p) == next {
                    self.push_full(
                        TokenKind::PsqlVar,
                        start,
                        p + 1,
                        (start + 2, p),
                        StringFlavor::Standard,
                    );
                    self.pos = p + 1;
                } else {
                    self.single(TokenKind::Colon, start);
                }
            }
            // psql allows a leading digit too, but `arr[1:2]` is far more common in tests
            // than a variable named `2`.
            _ if is(next, C_VAR) && !next.is_ascii_digit() => {
                let mut p = start + 2;
                while is(self.at(p), C_VAR) {
                    p += 1;
                }
                self.push_full(
                    TokenKind::PsqlVar,
                    start,
                    p,
                    (start + 1, p),
                    StringFlavor::Standard,
                );
                self.pos = p;
            }
            _ => self.single(TokenKind::Colon, start),
        }
    }

    /// A psql meta-command: the backslash, the command name, then arguments up to the end of
    /// the line or a `\\` separator (included). Quoted arguments (`'..'`, `".."`, `` `..` ``)
    /// may contain `\\` without ending the command, as in psql; none spans lines.
    fn meta(&mut self, start: usize) {
        let src = self.src;
        let len = src.len();
        let mut p = start + 1;
        // Command name: up to whitespace or a backslash.
        while p < len && !is(src[p], C_WS) && src[p] != b'\\' {
            p += 1;
        }
        let (end, next) = loop {
            if p >= len {
                break (self.trim_cr(start, len), len);
            }
            match src[p] {
                b'\n' | b'\r' => break (self.trim_cr(start, p), p),
                b'\\' if self.at(p + 1) == b'\\' => break (p + 2, p + 2),
                q @ (b'\'' | b'"' | b'`') => {
                    p += 1;
                    while p < len && !matches!(src[p], b'\n' | b'\r') {
                        let c = src[p];
                        if q == b'\'' && c == b'\\' && !matches!(self.at(p + 1), b'\n' | b'\r') {
                            p = (p + 2).min(len);
                        } else if c == q && self.at(p + 1) == q && q != b'`' {
                            p += 2;
                        } else if c == q {
                            p += 1;
                            break;
                        } else {
                            p += 1;
                        }
                    }
                }
                _ => p += 1,
            }
        };
        self.push(TokenKind::PsqlMeta, start, end);
        self.pos = next;
    }

    /// Integers, decimals (`1.5`, `.5`, `5.`), exponents, `0x`/`0o`/`0b`, `_` separators.
    fn number(&mut self, start: usize) {
        let mut p = start;
        let radix_digit: Option<fn(u8) -> bool> = if self.at(start) == b'0' {
            match self.at(start + 1) {
                b'x' | b'X' => Some(|c: u8| c.is_ascii_hexdigit()),
                b'o' | b'O' => Some(|c: u8| matches!(c, b'0'..=b'7')),
                b'b' | b'B' => Some(|c: u8| matches!(c, b'0' | b'1')),
                _ => None,
            }
        } else {
            None
        };
        if let Some(ok) = radix_digit {
            let q = self.digits(start + 2, ok, true);
            if q > start + 2 {
                self.push(TokenKind::Number, start, q);
                self.pos = q;
                return;
            }
            // `0x` with no digit: PostgreSQL rejects it; we give `0` then an identifier.
        }
        if self.at(p) != b'.' {
            p = self.digits(p, |c| c.is_ascii_digit(), false);
        }
        // A fraction, unless this is `1..10` (a range in PL/pgSQL `FOR`).
        if self.at(p) == b'.' && self.at(p + 1) != b'.' {
            p = self.digits(p + 1, |c| c.is_ascii_digit(), false);
        }
        if matches!(self.at(p), b'e' | b'E') {
            let mut q = p + 1;
            if matches!(self.at(q), b'+' | b'-') {
                q += 1;
            }
            if self.at(q).is_ascii_digit() {
                p = self.digits(q, |c| c.is_ascii_digit(), false);
            }
        }
        self.push(TokenKind::Number, start, p);
        self.pos = p;
    }

    /// Digits accepted by `ok`, with single `_` separators before a digit (not leading
    /// unless `lead_us`, as after `0x`). Returns the end.
    #[inline]
    fn digits(&self, from: usize, ok: fn(u8) -> bool, lead_us: bool) -> usize {
        let mut p = from;
        loop {
            let c = self.at(p);
            if ok(c) {
                p += 1;
            } else if c == b'_' && (p > from || lead_us) && ok(self.at(p + 1)) {
                p += 2;
            } else {
                return p;
            }
        }
    }

    /// An identifier, or a string/identifier with a prefix: `E'`, `N'`, `B'`, `X'`, `U&'`, `U&"`.
    fn ident_or_prefixed(&mut self, start: usize) {
        let next = self.at(start + 1);
        match self.src[start] | 0x20 {
            b'e' if next == b'\'' => return self.string(start, start + 1, StringFlavor::Escape),
            b'n' if next == b'\'' => return self.string(start, start + 1, StringFlavor::National),
            b'b' if next == b'\'' => return self.string(start, start + 1, StringFlavor::Bit),
            b'x' if next == b'\'' => return self.string(start, start + 1, StringFlavor::Hex),
            b'u' if next == b'&' => match self.at(start + 2) {
                b'\'' => return self.string(start, start + 2, StringFlavor::Unicode),
                b'"' => return self.quoted_ident(start, start + 2),
                _ => {}
            },
            _ => {}
        }
        let src = self.src;
        let mut p = start + 1;
        while p < src.len() && is(src[p], C_IDENT_CONT) {
            p += 1;
        }
        self.push(TokenKind::Ident, start, p);
        self.pos = p;
    }

    /// An operator, with PostgreSQL's rules: the longest run of operator characters, cut
    /// before an embedded `--` or `/*`; a trailing `+`/`-` is dropped from a multi-character
    /// operator unless it contains one of `~ ! @ # ^ & | \` ? %` (so `=-1` is `=`, `-`, `1`).
    fn operator(&mut self, start: usize) {
        let src = self.src;
        let len = src.len();
        let mut p = start + 1;
        while p < len && is(src[p], C_OP) {
            if (src[p] == b'-' && self.at(p + 1) == b'-')
                || (src[p] == b'/' && self.at(p + 1) == b'*')
            {
                break;
            }
            p += 1;
        }
        let run_end = p;
        let mut n = run_end - start;
        if n > 1 && matches!(src[run_end - 1], b'+' | b'-') {
            let keeps = src[start..run_end - 1].iter().any(|&c| is(c, C_OP_SPECIAL));
            if !keeps {
                while n > 1 && matches!(src[start + n - 1], b'+' | b'-') {
                    n -= 1;
                }
            }
        }
        self.push(TokenKind::Operator, start, start + n);
        // PostgreSQL rescans the dropped `+`/`-`s; each comes out as a one-character operator
        // (the rest of the run has no special character), so emit them directly: rescanning
        // would be quadratic on a long run of `+`.
        for i in start + n..run_end {
            self.push(TokenKind::Operator, i, i + 1);
        }
        self.pos = run_end;
    }
}

/// The value of a `String` token: `''` -> `'`; for `E'..'` the backslash escapes
/// (`\b \f \n \r \t`, `\ooo`, `\xhh`, `\uXXXX`, `\UXXXXXXXX`, any other `\c` -> `c`); for
/// `U&'..'` the `\XXXX` and `\+XXXXXX` escapes with the default escape character (`UESCAPE`
/// is not applied). Unicode escapes become UTF-8, surrogate pairs included.
///
/// Borrowed when nothing needs decoding. A malformed escape (a lone surrogate, too few hex
/// digits, a code point out of range or zero) is kept as its raw bytes: PostgreSQL would
/// reject the literal, and a scanner only needs the text back.
/// For any other kind of token, returns [`Token::inner`] unchanged (for a `DollarString`,
/// its body).
pub fn string_value<'a>(src: &'a [u8], tok: &Token) -> Cow<'a, [u8]> {
    let inner = src.get(tok.inner()).unwrap_or_default();
    if tok.kind != TokenKind::String {
        return Cow::Borrowed(inner);
    }
    match tok.flavor {
        StringFlavor::Escape => decode_escape_string(inner),
        StringFlavor::Unicode => decode_unicode_escapes(inner, b'\''),
        _ => undouble(inner, b'\''),
    }
}

/// The value of an identifier: an unquoted `Ident` is ASCII-lowercased (PostgreSQL folds ASCII
/// only); a `QuotedIdent` is its content with `""` -> `"` (and, for `U&".."`, its Unicode
/// escapes decoded). Names are not truncated to NAMEDATALEN. Any other token: its text.
pub fn ident_value<'a>(src: &'a [u8], tok: &Token) -> Cow<'a, [u8]> {
    match tok.kind {
        TokenKind::Ident => {
            let text = src.get(tok.span()).unwrap_or_default();
            if text.iter().any(u8::is_ascii_uppercase) {
                Cow::Owned(text.to_ascii_lowercase())
            } else {
                Cow::Borrowed(text)
            }
        }
        TokenKind::QuotedIdent => {
            let inner = src.get(tok.inner()).unwrap_or_default();
            if tok.inner_start > tok.start + 1 {
                decode_unicode_escapes(inner, b'"')
            } else {
                undouble(inner, b'"')
            }
        }
        _ => Cow::Borrowed(src.get(tok.span()).unwrap_or_default()),
    }
}

/// `qq` -> `q`.
fn undouble(s: &[u8], q: u8) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(q, s) else {
        return Cow::Borrowed(s);
    };
    let mut out = Vec::with_capacity(s.len());
    let mut i = first;
    out.extend_from_slice(&s[..i]);
    while i < s.len() {
        match memchr::memchr(q, &s[i..]) {
            None => {
                out.extend_from_slice(&s[i..]);
                break;
            }
            Some(k) => {
                out.extend_from_slice(&s[i..i + k + 1]);
                i += k + 1;
                if s.get(i) == Some(&q) {
                    i += 1;
                }
            }
        }
    }
    Cow::Owned(out)
}

fn hex_value(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |acc, &c| {
        let d = (c as char).to_digit(16)?;
        Some(acc << 4 | d)
    })
}

/// `n` hex digits at `s[at..]`, if all there.
fn hex_at(s: &[u8], at: usize, n: usize) -> Option<u32> {
    s.get(at..at + n).and_then(hex_value)
}

/// Appends the UTF-8 of `cp` if it is a valid, non-zero scalar value.
fn push_char(out: &mut Vec<u8>, cp: u32) -> bool {
    match char::from_u32(cp) {
        Some(c) if cp != 0 => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            true
        }
        _ => false,
    }
}

fn is_high_surrogate(cp: u32) -> bool {
    (0xD800..0xDC00).contains(&cp)
}

fn is_low_surrogate(cp: u32) -> bool {
    (0xDC00..0xE000).contains(&cp)
}

fn combine_surrogates(hi: u32, lo: u32) -> u32 {
    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
}

/// The content of an `E'..'` constant.
fn decode_escape_string(s: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr2(b'\\', b'\'', s) else {
        return Cow::Borrowed(s);
    };
    let mut out = Vec::with_capacity(s.len());
    out.extend_from_slice(&s[..first]);
    let mut i = first;
    while i < s.len() {
        let c = s[i];
        if c == b'\'' {
            out.push(b'\'');
            i += if s.get(i + 1) == Some(&b'\'') { 2 } else { 1 };
            continue;
        }
        if c != b'\\' {
            let k = memchr::memchr2(b'\\', b'\'', &s[i..]).map_or(s.len(), |k| i + k);
            out.extend_from_slice(&s[i..k]);
            i = k;
            continue;
        }
        let Some(&e) = s.get(i + 1) else {
            out.push(b'\\');
            break;
        };
        match e {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0'..=b'7' => {
                let mut v = 0u32;
                let mut j = i + 1;
                while j < s.len() && j < i + 4 && matches!(s[j], b'0'..=b'7') {
                    v = v * 8 + u32::from(s[j] - b'0');
                    j += 1;
                }
                // PostgreSQL keeps the low byte of `\400`..`\777`.
                out.push(v as u8);
                i = j;
                continue;
            }
            b'x' => {
                let mut j = i + 2;
                let mut v = 0u32;
                while j < s.len() && j < i + 4 && s[j].is_ascii_hexdigit() {
                    v = v * 16 + (s[j] as char).to_digit(16).unwrap_or(0);
                    j += 1;
                }
                if j == i + 2 {
                    out.push(b'x'); // `\x` without digits is just `x`
                } else {
                    out.push(v as u8);
                }
                i = j;
                continue;
            }
            b'u' | b'U' => {
                let n = if e == b'u' { 4 } else { 8 };
                let end = decode_one_unicode(s, i + 2, n, &mut out, |s, at| {
                    // A low surrogate as `\uXXXX` or `\UXXXXXXXX`.
                    match s.get(at..at + 2) {
                        Some(b"\\u") => hex_at(s, at + 2, 4).map(|v| (v, 6)),
                        Some(b"\\U") => hex_at(s, at + 2, 8).map(|v| (v, 10)),
                        _ => None,
                    }
                });
                match end {
                    Some(end) => i = end,
                    None => {
                        out.extend_from_slice(&s[i..i + 2]);
                        i += 2;
                    }
                }
                continue;
            }
            other => out.push(other),
        }
        i += 2;
    }
    Cow::Owned(out)
}

/// Decodes `n` hex digits at `s[at..]` as a code point, then a low surrogate right after if
/// the value is a high one (found by `low`, which returns the value and its length).
/// Returns the end of what was used, or `None` (nothing written) when malformed.
fn decode_one_unicode(
    s: &[u8],
    at: usize,
    n: usize,
    out: &mut Vec<u8>,
    low: impl Fn(&[u8], usize) -> Option<(u32, usize)>,
) -> Option<usize> {
    let cp = hex_at(s, at, n)?;
    let mut end = at + n;
    let cp = if is_high_surrogate(cp) {
        let (lo, lo_len) = low(s, end)?;
        if !is_low_surrogate(lo) {
            return None;
        }
        end += lo_len;
        combine_surrogates(cp, lo)
    } else {
        cp
    };
    push_char(out, cp).then_some(end)
}

/// The content of `U&'..'` (quote `'`) or `U&".."` (quote `"`): `\XXXX`, `\+XXXXXX`, `\\`,
/// and quote doubling.
fn decode_unicode_escapes(s: &[u8], q: u8) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr2(b'\\', q, s) else {
        return Cow::Borrowed(s);
    };
    let mut out = Vec::with_capacity(s.len());
    out.extend_from_slice(&s[..first]);
    let mut i = first;
    let low = |s: &[u8], at: usize| match s.get(at..at + 2) {
        Some([b'\\', b'+']) => hex_at(s, at + 2, 6).map(|v| (v, 8)),
        Some([b'\\', _]) => hex_at(s, at + 1, 4).map(|v| (v, 5)),
        _ => None,
    };
    while i < s.len() {
        let c = s[i];
        if c == q {
            out.push(q);
            i += if s.get(i + 1) == Some(&q) { 2 } else { 1 };
            continue;
        }
        if c != b'\\' {
            let k = memchr::memchr2(b'\\', q, &s[i..]).map_or(s.len(), |k| i + k);
            out.extend_from_slice(&s[i..k]);
            i = k;
            continue;
        }
        match s.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'+') => match decode_one_unicode(s, i + 2, 6, &mut out, low) {
                Some(end) => i = end,
                None => {
                    out.push(b'\\');
                    i += 1;
                }
            },
            Some(_) => match decode_one_unicode(s, i + 1, 4, &mut out, low) {
                Some(end) => i = end,
                None => {
                    out.push(b'\\');
                    i += 1;
                }
            },
            None => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// Does a line end at `src[i]`? At an LF, and at a CR that does not start a CRLF (a lone
/// CR, as in old Mac files: an editor shows a new line, and PostgreSQL's lexer ends a `--`
/// comment there). The lexer counts lines this way; so must anything that counts them
/// again from a token's position.
#[inline]
pub fn is_line_break(src: &[u8], i: usize) -> bool {
    match src.get(i) {
        Some(b'\n') => true,
        Some(b'\r') => src.get(i + 1) != Some(&b'\n'),
        _ => false,
    }
}

/// The closing `quote` at or after `from`, where a doubled quote (`''`, `""`) stands for
/// the character itself; `None` if the input ends first.
fn close_doubled(src: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut p = from;
    loop {
        let i = p + memchr::memchr(quote, src.get(p..)?)?;
        if src.get(i + 1) == Some(&quote) {
            p = i + 2;
        } else {
            return Some(i);
        }
    }
}

#[cfg(test)]
mod tests;
