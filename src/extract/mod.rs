//! Extraction: one file's bytes in, a [`FileResult`] out. No I/O.
//!
//! Owns the walk over tokens: statements, the bodies of `CREATE FUNCTION` and `DO` (lexed
//! again as SQL), nesting of calls (an assertion inside another counts once, as the
//! innermost), plans and psql includes. Argument reading lives in `args`, the mapping from
//! arguments to object keys in `target`, the name search in `finder`.

pub mod args;
pub mod finder;
pub mod target;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use crate::catalog::resolve::{resolve, ArgType, Resolution};
use crate::catalog::{Category, Function};
use crate::config::ExtractOptions;
use crate::lexer::{
    ident_value, string_value, tokenize_window, LexDiagnostic, Limits, Token, TokenKind,
};
use crate::model::{Assertion, Context, Diagnostic, FileResult, Include, PlanDecl, ResolutionKind};
use crate::object::Aspect;
use args::{parse_args, Arg, Value};
use finder::{Finder, Hit};

/// Extracts assertions from files; build once per run, share across threads.
pub struct Extractor {
    finder: Finder,
    opts: ExtractOptions,
    limits: Limits,
}

/// Default token limits: a window of statements up to 256k tokens (8 MiB), and at most
/// 2M tokens (64 MiB) in the buffer, for one statement and the bodies it defines.
pub const DEFAULT_LIMITS: Limits = Limits {
    window: 1 << 18,
    cap: 1 << 21,
};

#[derive(Default)]
struct Scratch {
    tokens: Vec<Token>,
    hits: Vec<Hit>,
    diags: Vec<LexDiagnostic>,
    arg_tokens: Vec<Token>,
    /// Overload resolution by call shape: suites repeat a few shapes endlessly
    /// (`has_column` with four literals), and resolution was the largest single cost.
    resolutions: HashMap<ResolutionKey, Resolution>,
}

/// A call's shape as resolution sees it: the function and its argument types.
#[derive(PartialEq, Eq, Hash)]
struct ResolutionKey {
    function: &'static str,
    positional: Vec<ArgType>,
    named: Vec<(String, ArgType)>,
}

/// Shapes beyond this many are resolved without being remembered (a bound on memory).
const MAX_CACHED_RESOLUTIONS: usize = 4096;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A stretch of tokens read as SQL: the file itself, a function body, or a comment.
struct Unit {
    tokens: Range<usize>,
    context: Context,
    commented: bool,
    /// Cut at the token cap, inside a statement: calls left open at its end are not errors.
    cut: bool,
}

/// An open parenthesis, and the call it belongs to if it is a call's.
struct Frame {
    call: Option<OpenCall>,
    /// `assertions.len()` when the frame opened: later ones are nested inside it.
    first_assertion: usize,
    /// `tests` when the frame opened (for `check_test`, which replaces inner results).
    tests_at_open: u64,
}

#[derive(Clone, Copy)]
struct OpenCall {
    pattern: u32,
    name_tok: usize,
    lparen: usize,
    /// The user-declared helper this call is (checked before the catalog: the user said so).
    helper: Option<usize>,
}

/// What the current statement is, as far as bodies are concerned.
#[derive(Default)]
struct Statement {
    /// `CREATE FUNCTION/PROCEDURE name` or `DO`.
    routine: Option<Context>,
    language: Option<String>,
    bodies: Vec<usize>,
    /// Index (in the unit) of the statement's first code token.
    head_seen: usize,
    prev_was_as: bool,
    /// `tests` when the statement began: results counted since are this statement's.
    tests_at_start: u64,
    /// A `SELECT` with assertions whose select list aggregates: its `FROM` gives one row.
    one_row: bool,
}

/// A `CASE` expression at the top level of a file: only one of its arms runs, so its
/// assertions count once per arm, not once each.
struct CaseExpr {
    /// `frames.len()` at `CASE`: its `WHEN`, `THEN`, `ELSE`, `END` are at that depth.
    depth: usize,
    /// `tests` at `CASE`.
    tests_at_case: u64,
    /// `tests` when the current arm (after `THEN` or `ELSE`) began, if one is open.
    arm_start: Option<u64>,
    /// Results counted in the closed arms.
    arms: Vec<u64>,
    has_else: bool,
    /// An assertion in a `WHEN` condition (which may run for several arms): not countable.
    in_condition: bool,
}

impl Extractor {
    /// An extractor for `opts`, with the built-in helpers added unless `opts` declares one of
    /// the same name, and the default limits ([`DEFAULT_LIMITS`]).
    pub fn new(mut opts: ExtractOptions) -> Extractor {
        let declared = opts.helpers.len();
        for b in crate::config::builtin_helpers() {
            if !opts.helpers[..declared]
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case(&b.name))
            {
                opts.helpers.push(b);
            }
        }
        Extractor {
            finder: Finder::new(&opts.helpers),
            opts,
            limits: DEFAULT_LIMITS,
        }
    }

    /// Bounds the token buffer (32 bytes a token) of each thread that extracts: the file is
    /// lexed one window of whole statements at a time, and a statement (with the bodies it
    /// defines) longer than `limits.cap` tokens is read in parts, with a warning. Results
    /// do not depend on the window; they depend on the cap only for such statements.
    pub fn with_limits(mut self, limits: Limits) -> Extractor {
        self.limits = Limits {
            window: limits.window.max(1),
            cap: limits.cap.max(limits.window.max(1)).max(1024),
        };
        self
    }

    /// The limits in effect (as adjusted by [`Extractor::with_limits`]).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The options it extracts with (built-in helpers included).
    pub fn options(&self) -> &ExtractOptions {
        &self.opts
    }

    /// Reads one file.
    pub fn extract(&self, src: &[u8]) -> FileResult {
        self.extract_references(src, false)
    }

    /// [`extract`](Self::extract); with `count_only`, behavioural references (when the
    /// options read them) are counted into [`FileResult::references_counted`] and not
    /// kept: for runs whose reports need no more (see
    /// [`crate::scan::ScanConfig::references_counted_only`]).
    pub fn extract_references(&self, src: &[u8], count_only: bool) -> FileResult {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut scratch) => self.extract_with(src, &mut scratch, count_only),
            Err(_) => self.extract_with(src, &mut Scratch::default(), count_only),
        })
    }

    fn extract_with(&self, src: &[u8], scratch: &mut Scratch, count_only: bool) -> FileResult {
        let mut out = FileResult::default();
        if src.len() > u32::MAX as usize {
            out.errors.push(Diagnostic {
                line: 1,
                column: 1,
                message: "file larger than 4 GiB: not scanned".into(),
            });
            return out;
        }
        // Lexed straight into the reused buffer, one window of statements at a time: the
        // buffer never holds a whole big file's tokens.
        scratch.diags.clear();
        let mut lex_diags = Vec::new();
        // A UTF-8 byte-order mark (editors on Windows write one) is not SQL: lexed, it
        // would glue itself to the first word (`\u{feff}SELECT`, `\u{feff}\ir`) and shift
        // the columns of line 1. Lexing starts after it, at line 1, column 1.
        let start = if src.starts_with(BOM) { BOM.len() } else { 0 };
        let mut from = (start, 1u32, 1u32);
        // Behavioural references (issue 14): read when asked (`--references`, on by
        // default with a universe); counted only, they cost about a quarter more
        // instructions on the bench trees, kept with a universe more (benches/RESULTS.md).
        let mut behaviour = self.opts.references.then(|| {
            if count_only {
                crate::behaviour::Reader::counting(&self.opts)
            } else {
                crate::behaviour::Reader::new(&self.opts)
            }
        });
        loop {
            scratch.tokens.clear();
            let resume = tokenize_window(
                src,
                from.0..src.len(),
                from.1,
                from.2,
                &mut scratch.tokens,
                &mut lex_diags,
                self.limits,
            );
            for d in lex_diags.drain(..) {
                out.errors.push(Diagnostic {
                    line: d.line,
                    column: d.col,
                    message: d.message,
                });
            }
            let mut units = vec![Unit {
                tokens: 0..scratch.tokens.len(),
                context: Context::Top,
                commented: false,
                cut: resume.is_some_and(|r| r.forced),
            }];
            while let Some(unit) = units.pop() {
                let first_assertion = out.assertions.len();
                let mut w = Walk {
                    ex: self,
                    src,
                    scratch,
                    out: &mut out,
                    new_units: Vec::new(),
                    at_top: false,
                };
                w.unit(&unit);
                let new_units = std::mem::take(&mut w.new_units);
                units.extend(new_units.into_iter().rev());
                // Behavioural references: read from the same tokens, with the unit's
                // assertions (issue 14).
                if let Some(behaviour) = behaviour.as_mut() {
                    behaviour.unit(
                        src,
                        &scratch.tokens[unit.tokens.clone()],
                        &unit.context,
                        unit.commented,
                        &out.assertions[first_assertion..],
                    );
                }
            }
            let Some(r) = resume else { break };
            if r.forced {
                out.warnings.push(Diagnostic {
                    line: r.line,
                    column: r.col,
                    message: format!(
                        "a statement longer than {} tokens is read in parts from here on: an assertion that spans a cut may be missed",
                        self.limits.cap
                    ),
                });
            }
            from = (r.pos, r.line, r.col);
        }
        for d in scratch.diags.drain(..) {
            out.errors.push(Diagnostic {
                line: d.line,
                column: d.col,
                message: d.message,
            });
        }
        out.assertions.sort_by_key(|a| (a.line, a.column));
        if let Some(behaviour) = behaviour {
            behaviour.finish(&mut out);
        }
        out.errors.sort_by_key(|a| (a.line, a.column));
        out.errors.dedup();
        out.warnings.sort_by_key(|a| (a.line, a.column));
        if scratch.tokens.capacity() > KEEP_TOKENS.min(self.limits.cap) {
            // One huge file must not pin its token buffer for the rest of the run.
            scratch.tokens = Vec::new();
        }
        out
    }
}

pub use crate::lexer::BOM;

/// Tokens a thread's scratch buffer keeps between files (32 bytes each: 32 MiB).
const KEEP_TOKENS: usize = 1 << 20;

struct Walk<'a> {
    ex: &'a Extractor,
    src: &'a [u8],
    scratch: &'a mut Scratch,
    out: &'a mut FileResult,
    new_units: Vec<Unit>,
    /// The unit being walked is the file's top level (not a body, not a comment).
    at_top: bool,
}

fn is_comment(k: TokenKind) -> bool {
    matches!(k, TokenKind::LineComment | TokenKind::BlockComment)
}

/// Keywords after which `is (` is a function call, not the `IS` operator.
const CALL_STARTERS: &[&str] = &[
    "select", "next", "query", "perform", "return", "from", "and", "or", "not", "when", "then",
    "else", "all", "distinct", "into", "in", "on", "using", "values",
];

impl Walk<'_> {
    fn tok(&self, i: usize) -> Token {
        self.scratch.tokens[i]
    }

    /// The next non-comment token index after `i` within `end`.
    fn next_code(&self, i: usize, end: usize) -> Option<usize> {
        (i + 1..end).find(|&j| !is_comment(self.scratch.tokens[j].kind))
    }

    /// The previous non-comment token index before `i`, not before `start`.
    fn prev_code(&self, i: usize, start: usize) -> Option<usize> {
        (start..i)
            .rev()
            .find(|&j| !is_comment(self.scratch.tokens[j].kind))
    }

    fn unit(&mut self, unit: &Unit) {
        let range = unit.tokens.clone();
        let mut frames: Vec<Frame> = Vec::new();
        let mut cases: Vec<CaseExpr> = Vec::new();
        let top = unit.context == Context::Top && !unit.commented;
        self.at_top = top;
        let mut stmt = Statement {
            tests_at_start: self.out.tests,
            ..Statement::default()
        };
        let mut stmt_start = range.start;
        let mut i = range.start;
        while i < range.end {
            let t = self.tok(i);
            match t.kind {
                TokenKind::LineComment | TokenKind::BlockComment => {
                    if self.ex.opts.include_commented {
                        self.commented_units(&t, &unit.context);
                    }
                }
                TokenKind::PsqlMeta => {
                    if unit.context == Context::Top {
                        self.meta(&t);
                    }
                    // A meta-command line is no part of the SQL around it: one before a
                    // statement (`\set`, `\echo`, `\i setup.sql`) must not hide the
                    // statement's first word, and `\g`, `\gset`, `\gx`, `\gexec` send
                    // the query buffer as `;` does.
                    if frames.is_empty() {
                        if ends_query(t.text(self.src)) {
                            self.end_statement(&mut stmt, unit);
                            stmt_start = i + 1;
                        } else if self.prev_code(i, stmt_start).is_none() {
                            stmt_start = i + 1;
                        }
                    }
                }
                TokenKind::Semicolon if frames.is_empty() => {
                    self.end_statement(&mut stmt, unit);
                    if !cases.is_empty() {
                        // A CASE never closed: its count cannot be known.
                        cases.clear();
                        self.out.tests_inexact = true;
                    }
                    stmt_start = i + 1;
                }
                // `SELECT * FROM (SELECT ok(true) FROM generate_series(1, 3)) s`: a FROM
                // in a parenthesis after an assertion counted inside it is per row too.
                TokenKind::Ident
                    if top
                        && frames
                            .last()
                            .is_some_and(|f| self.out.tests > f.tests_at_open)
                        && t.is_keyword(self.src, "from") =>
                {
                    self.out.tests_inexact = true;
                }
                TokenKind::Ident if top && is_case_word(t.text(self.src)) => {
                    self.case_word(&mut cases, t.text(self.src), frames.len());
                    if frames.is_empty() {
                        self.statement_word(&mut stmt, i, stmt_start, range.end);
                    }
                }
                TokenKind::LParen => {
                    let call = self.pending_call(i, range.start);
                    frames.push(Frame {
                        call,
                        first_assertion: self.out.assertions.len(),
                        tests_at_open: self.out.tests,
                    });
                }
                TokenKind::RParen => {
                    if let Some(frame) = frames.pop() {
                        if let Some(call) = frame.call {
                            // At top level, a call inside CREATE FUNCTION / DO belongs to
                            // that routine; inside a body, to the body.
                            let ctx = match (&unit.context, &stmt.routine) {
                                (Context::Top, Some(routine)) => routine,
                                (context, _) => context,
                            };
                            self.finish_call(call, i, &frame, ctx, unit.commented);
                        }
                    }
                }
                TokenKind::Ident if frames.is_empty() => {
                    // `SELECT is(x, y) FROM generate_series(1, 3)`: one result per row,
                    // unless the select list aggregates (`is(count(*), 3) FROM t`: one
                    // row, as long as no GROUP BY or HAVING follows).
                    if top && self.out.tests > stmt.tests_at_start {
                        let from = t.is_keyword(self.src, "from")
                            && !self
                                .prev_code(i, stmt_start)
                                .is_some_and(|k| self.tok(k).is_keyword(self.src, "distinct"));
                        if from && !stmt.one_row {
                            if self.aggregates(stmt_start, i) {
                                stmt.one_row = true;
                            } else {
                                self.out.tests_inexact = true;
                            }
                        } else if stmt.one_row
                            && (t.is_keyword(self.src, "group") || t.is_keyword(self.src, "having"))
                        {
                            self.out.tests_inexact = true;
                        }
                    }
                    self.statement_word(&mut stmt, i, stmt_start, range.end);
                }
                TokenKind::DollarString if frames.is_empty() => {
                    if stmt.routine.is_some()
                        && (stmt.prev_was_as || stmt.routine == Some(Context::Do))
                    {
                        stmt.bodies.push(i);
                    }
                    stmt.prev_was_as = false;
                }
                TokenKind::String if frames.is_empty() && stmt.prev_was_as => {
                    // `LANGUAGE 'plpgsql'` is read in statement_word; a body in single quotes
                    // is not re-read (its offsets would not map back to the file).
                    stmt.prev_was_as = false;
                }
                _ => {
                    if frames.is_empty() {
                        stmt.prev_was_as = false;
                    }
                }
            }
            i += 1;
        }
        for frame in frames
            .into_iter()
            .rev()
            .filter(|_| !unit.commented && !unit.cut)
        {
            if let Some(call) = frame.call {
                let name = self.tok(call.name_tok);
                self.out.errors.push(Diagnostic {
                    line: name.line,
                    column: name.col,
                    message: format!(
                        "call to {} is never closed",
                        String::from_utf8_lossy(name.text(self.src))
                    ),
                });
            }
        }
        self.end_statement(&mut stmt, unit);
    }

    /// Tracks what statement we are in, from its words at parenthesis depth 0.
    fn statement_word(&mut self, stmt: &mut Statement, i: usize, stmt_start: usize, end: usize) {
        let t = self.tok(i);
        let src = self.src;
        let first_code = self.prev_code(i, stmt_start).is_none();
        if first_code {
            *stmt = Statement {
                head_seen: i,
                tests_at_start: self.out.tests,
                ..Statement::default()
            };
            if t.is_keyword(src, "select") && self.at_top {
                self.note_select_call(i, end);
            }
            if t.is_keyword(src, "do") {
                stmt.routine = Some(Context::Do);
                stmt.language = None;
            }
        }
        if stmt.routine.is_none()
            && (t.is_keyword(src, "function") || t.is_keyword(src, "procedure"))
        {
            // CREATE [OR REPLACE] FUNCTION name: the statement's head words.
            let head_is_create = self.tok(stmt.head_seen).is_keyword(src, "create");
            if head_is_create {
                // The name: identifiers joined by dots; the context uses the last one.
                let mut j = self.next_code(i, end);
                let mut name = None;
                while let Some(k) = j {
                    let tk = self.tok(k);
                    match tk.kind {
                        TokenKind::Ident | TokenKind::QuotedIdent => {
                            name =
                                Some(String::from_utf8_lossy(&ident_value(src, &tk)).into_owned());
                        }
                        TokenKind::Dot => {}
                        _ => break,
                    }
                    j = self.next_code(k, end);
                }
                if let Some(name) = name {
                    stmt.routine = Some(Context::Body(name));
                }
            }
        }
        if stmt.routine.is_some() && t.is_keyword(src, "language") {
            if let Some(k) = self.next_code(i, end) {
                let tk = self.tok(k);
                let lang = match tk.kind {
                    TokenKind::String => {
                        String::from_utf8_lossy(&string_value(src, &tk)).to_ascii_lowercase()
                    }
                    _ => String::from_utf8_lossy(&ident_value(src, &tk)).into_owned(),
                };
                stmt.language = Some(lang);
            }
        }
        stmt.prev_was_as = t.is_keyword(src, "as");
    }

    /// At the end of a statement, queue the bodies of SQL and PL/pgSQL routines.
    fn end_statement(&mut self, stmt: &mut Statement, unit: &Unit) {
        if let Some(ctx) = stmt.routine.take() {
            let sql_like = match stmt.language.as_deref() {
                None => true,
                Some(l) => matches!(l, "plpgsql" | "sql"),
            };
            if sql_like {
                for &b in &stmt.bodies {
                    let t = self.tok(b);
                    // Bodies nested in a body keep the outer routine's name only if unnamed.
                    let ctx = match (&ctx, &unit.context) {
                        (Context::Do, Context::Body(_)) => unit.context.clone(),
                        _ => ctx.clone(),
                    };
                    self.sub_unit(t.inner(), t, ctx, unit.commented);
                }
            }
        }
        *stmt = Statement {
            tests_at_start: self.out.tests,
            ..Statement::default()
        };
    }

    /// The `)` closing the `(` at `open`, before `to`.
    fn closing(&self, open: usize, to: usize) -> Option<usize> {
        let mut depth = 0usize;
        for j in open..to {
            match self.tok(j).kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => {
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

    /// Whether tokens `from..to` (a select list) call an aggregate outside any sub-query.
    fn aggregates(&self, from: usize, to: usize) -> bool {
        // One flag per open parenthesis: does it open a sub-query?
        let mut parens: Vec<bool> = Vec::new();
        let mut in_subquery = 0usize;
        for j in from..to {
            let t = self.tok(j);
            match t.kind {
                TokenKind::LParen => {
                    let sub = self
                        .next_code(j, to)
                        .is_some_and(|k| self.tok(k).is_keyword(self.src, "select"));
                    in_subquery += usize::from(sub);
                    parens.push(sub);
                }
                TokenKind::RParen => in_subquery -= usize::from(parens.pop() == Some(true)),
                TokenKind::Ident if in_subquery == 0 => {
                    let text = t.text(self.src);
                    let is_agg = AGGREGATES
                        .iter()
                        .any(|a| text.eq_ignore_ascii_case(a.as_bytes()));
                    let lparen = self
                        .next_code(j, to)
                        .filter(|&k| self.tok(k).kind == TokenKind::LParen);
                    // `count(*) OVER ()` is a window function: one value per row.
                    let windowed = lparen
                        .and_then(|k| self.closing(k, to))
                        .and_then(|r| self.next_code(r, to))
                        .is_some_and(|k| self.tok(k).is_keyword(self.src, "over"));
                    if is_agg && lparen.is_some() && !windowed {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }

    /// `SELECT [schema.]f(` at the start of a top-level statement, `f` neither pgTAP's nor
    /// a declared helper: remembered as a call that may emit TAP (a plan short by exactly
    /// its calls is explained by it).
    fn note_select_call(&mut self, select: usize, end: usize) {
        let Some(a) = self.next_code(select, end) else {
            return;
        };
        let mut name_tok = a;
        let mut qualified = None;
        if let Some(d) = self
            .next_code(a, end)
            .filter(|&d| self.tok(d).kind == TokenKind::Dot)
        {
            let Some(n) = self.next_code(d, end) else {
                return;
            };
            qualified = Some(a);
            name_tok = n;
        }
        let is_name =
            |k: usize| matches!(self.tok(k).kind, TokenKind::Ident | TokenKind::QuotedIdent);
        if !is_name(name_tok) || !qualified.is_none_or(is_name) {
            return;
        }
        let called = self
            .next_code(name_tok, end)
            .is_some_and(|k| self.tok(k).kind == TokenKind::LParen);
        if !called {
            return;
        }
        let bare = self.tok(name_tok).text(self.src);
        let pgtap_schema = qualified.is_none_or(|q| {
            let q = ident_value(self.src, &self.tok(q));
            self.ex
                .opts
                .pgtap_schemas
                .iter()
                .any(|s| q.eq_ignore_ascii_case(s.as_bytes()))
        });
        if let Some(p) = self.ex.finder.lookup(bare) {
            let callees = self.ex.finder.callees(p);
            if (callees.function.is_some() && pgtap_schema) || !callees.helpers.is_empty() {
                return;
            }
        }
        let mut name = String::new();
        if let Some(q) = qualified {
            name.push_str(&String::from_utf8_lossy(&ident_value(
                self.src,
                &self.tok(q),
            )));
            name.push('.');
        }
        name.push_str(&String::from_utf8_lossy(&ident_value(
            self.src,
            &self.tok(name_tok),
        )));
        if self.out.select_calls.len() < MAX_SELECT_CALLS {
            self.out.select_calls.push((name, self.tok(name_tok).line));
        }
    }

    /// `CASE`, `WHEN`, `THEN`, `ELSE`, `END` at the top level: when the CASE ends, its
    /// arms' results are replaced by one arm's (every arm alike), or the count is marked
    /// inexact (arms that differ, or an assertion in a condition).
    fn case_word(&mut self, cases: &mut Vec<CaseExpr>, word: &[u8], depth: usize) {
        let tests = self.out.tests;
        if word.eq_ignore_ascii_case(b"case") {
            cases.push(CaseExpr {
                depth,
                tests_at_case: tests,
                arm_start: None,
                arms: Vec::new(),
                has_else: false,
                in_condition: false,
            });
            return;
        }
        let Some(c) = cases.last_mut().filter(|c| c.depth == depth) else {
            return;
        };
        let close_arm = |c: &mut CaseExpr| {
            if let Some(start) = c.arm_start.take() {
                c.arms.push(tests - start);
            }
        };
        if word.eq_ignore_ascii_case(b"when") {
            close_arm(c);
        } else if word.eq_ignore_ascii_case(b"then") {
            // Results counted since the last arm closed came from a condition.
            let since = c.tests_at_case + c.arms.iter().sum::<u64>();
            c.in_condition |= tests > since;
            c.arm_start = Some(tests);
        } else if word.eq_ignore_ascii_case(b"else") {
            close_arm(c);
            c.has_else = true;
            c.arm_start = Some(tests);
        } else if word.eq_ignore_ascii_case(b"end") {
            close_arm(c);
            let Some(c) = cases.pop() else { return };
            let mut arms = c.arms;
            if !c.has_else {
                arms.push(0);
            }
            let first = arms.first().copied().unwrap_or(0);
            if c.in_condition || arms.iter().any(|&n| n != first) {
                self.out.tests_inexact = true;
            } else {
                self.out.tests = c.tests_at_case + first;
            }
        }
    }

    /// A comment is prose around code: reading it whole as SQL lets an apostrophe (`don't`)
    /// open a string that swallows the rest. Each name hit starts its own unit running to
    /// the next hit, so `ok(has_table(..))` still counts the innermost, and nothing read
    /// in a comment is reported as an error.
    fn commented_units(&mut self, t: &Token, context: &Context) {
        let inner = t.inner();
        self.scratch.hits.clear();
        self.ex
            .finder
            .find(&self.src[inner.clone()], &mut self.scratch.hits);
        let starts: Vec<usize> = self
            .scratch
            .hits
            .iter()
            .map(|h| inner.start + h.start as usize)
            .collect();
        let (mut pos, mut line, mut col) = (t.start as usize, t.line, t.col);
        for (k, &start) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(inner.end);
            (line, col) = advance(self.src, pos, start, line, col);
            pos = start;
            let before = self.scratch.diags.len();
            self.sub_unit_at(start..end, line, col, context.clone(), true);
            self.scratch.diags.truncate(before);
        }
    }

    /// Lexes `inner` (a body or a comment's text) and queues it as a unit.
    fn sub_unit(&mut self, inner: Range<usize>, t: Token, context: Context, commented: bool) {
        let (line, col) = advance(self.src, t.start as usize, inner.start, t.line, t.col);
        self.sub_unit_at(inner, line, col, context, commented);
    }

    /// Lexes `inner`, which starts at `line`:`col`, and queues it as a unit.
    fn sub_unit_at(
        &mut self,
        inner: Range<usize>,
        line: u32,
        col: u32,
        context: Context,
        commented: bool,
    ) {
        let start = self.scratch.tokens.len();
        // Each body may add up to the cap to the buffer: the cap bounds one statement's
        // body, not the sum over a window (windows end by bytes too, which bounds that).
        let limits = Limits {
            window: usize::MAX,
            cap: start.saturating_add(self.ex.limits.cap),
        };
        let stopped = tokenize_window(
            self.src,
            inner,
            line,
            col,
            &mut self.scratch.tokens,
            &mut self.scratch.diags,
            limits,
        );
        if let Some(r) = stopped {
            self.out.warnings.push(Diagnostic {
                line: r.line,
                column: r.col,
                message: format!(
                    "this body is longer than {} tokens: the rest of it is not read",
                    self.ex.limits.cap
                ),
            });
        }
        let end = self.scratch.tokens.len();
        self.new_units.push(Unit {
            tokens: start..end,
            context,
            commented,
            cut: stopped.is_some(),
        });
    }

    /// Is the token before `lparen` a pgTAP (or helper) name being called?
    fn pending_call(&self, lparen: usize, unit_start: usize) -> Option<OpenCall> {
        let name_idx = self.prev_code(lparen, unit_start)?;
        let name = self.tok(name_idx);
        if name.kind != TokenKind::Ident {
            return None;
        }
        let pattern = self.ex.finder.lookup(name.text(self.src))?;
        let src = self.src;
        // Walk back over a schema qualification.
        let mut before = self.prev_code(name_idx, unit_start);
        let mut qualifier: Option<Token> = None;
        if let Some(b) = before {
            if self.tok(b).kind == TokenKind::Dot {
                let q = self.prev_code(b, unit_start)?;
                qualifier = Some(self.tok(q));
                before = self.prev_code(q, unit_start);
            }
        }
        // A definition or a reference to the function, not a call:
        // CREATE FUNCTION ok(..), DROP FUNCTION IF EXISTS ok(..), GRANT .. ON FUNCTION ok(..).
        let mut b = before;
        while let Some(k) = b {
            let tk = self.tok(k);
            if tk.is_keyword(src, "exists") || tk.is_keyword(src, "if") {
                b = self.prev_code(k, unit_start);
                continue;
            }
            if tk.is_keyword(src, "function")
                || tk.is_keyword(src, "procedure")
                || tk.is_keyword(src, "routine")
            {
                return None;
            }
            break;
        }
        let callees = self.ex.finder.callees(pattern);
        // `x IS (..)` is the IS operator, not pgTAP's is().
        if qualifier.is_none() && name.text(src).eq_ignore_ascii_case(b"is") {
            if let Some(k) = before {
                let tk = self.tok(k);
                let operand_end = match tk.kind {
                    TokenKind::RParen
                    | TokenKind::RBracket
                    | TokenKind::Number
                    | TokenKind::String
                    | TokenKind::QuotedIdent
                    | TokenKind::DollarString
                    | TokenKind::Param
                    | TokenKind::PsqlVar => true,
                    TokenKind::Ident => !CALL_STARTERS.iter().any(|kw| tk.is_keyword(src, kw)),
                    _ => false,
                };
                if operand_end {
                    return None;
                }
            }
        }
        // A helper declared with a schema only matches calls qualified with it.
        let helper = callees.helpers.iter().copied().find(|&h| {
            match (self.ex.opts.helpers[h].schema(), qualifier) {
                (None, _) => true,
                (Some(s), Some(q)) => ident_value(src, &q).eq_ignore_ascii_case(s.as_bytes()),
                (Some(_), None) => false,
            }
        });
        // `rbac.has_role(..)`: a function of a schema pgTAP is not installed in.
        let pgtap_schema = qualifier.is_none_or(|q| {
            let q = ident_value(src, &q);
            self.ex
                .opts
                .pgtap_schemas
                .iter()
                .any(|s| q.eq_ignore_ascii_case(s.as_bytes()))
        });
        if (callees.function.is_none() || !pgtap_schema) && helper.is_none() {
            return None;
        }
        Some(OpenCall {
            pattern,
            name_tok: name_idx,
            lparen,
            helper,
        })
    }

    fn finish_call(
        &mut self,
        call: OpenCall,
        rparen: usize,
        frame: &Frame,
        ctx: &Context,
        commented: bool,
    ) {
        let src = self.src;
        self.scratch.arg_tokens.clear();
        for j in call.lparen + 1..rparen {
            let t = self.scratch.tokens[j];
            if !is_comment(t.kind) {
                self.scratch.arg_tokens.push(t);
            }
        }
        let args = parse_args(src, &self.scratch.arg_tokens);
        let name_tok = self.tok(call.name_tok);
        let counts = *ctx == Context::Top && !commented;
        let callees = self.ex.finder.callees(call.pattern);
        let nested = self.out.assertions.len() > frame.first_assertion;

        // Of the helpers declared under this name (and schema), the one taking this many
        // arguments (`tests.rls_enabled(schema)` and `(schema, table)` name other kinds).
        let helper = call.helper.map(|first| {
            let decls = &self.ex.opts.helpers;
            callees
                .helpers
                .iter()
                .copied()
                .find(|&h| {
                    decls[h].schema() == decls[first].schema() && decls[h].args.len() == args.len()
                })
                .map_or(&decls[first], |h| &decls[h])
        });
        if let Some(h) = helper {
            if nested {
                return;
            }
            let roles: Vec<&str> = h.args.iter().map(String::as_str).collect();
            let tg = target::target(h.kind, false, &roles, &args, &self.ex.opts.search_path);
            self.push_assertion(
                h.bare_name().to_ascii_lowercase().into(),
                tg,
                h.aspect.clone(),
                false,
                ResolutionKind::Helper,
                Vec::new(),
                &name_tok,
                ctx,
                commented,
                counts,
            );
            return;
        }
        let Some(f) = callees.function else { return };
        match f.category {
            Category::Control => self.control(f, &args, frame, &name_tok, ctx, commented),
            Category::Utility => {}
            Category::Assertion => {
                if nested {
                    // The inner assertion is the one that covers; this one wraps it.
                    return;
                }
                self.assertion(f, &args, &name_tok, ctx, commented, counts);
            }
        }
    }

    fn control(
        &mut self,
        f: &Function,
        args: &[Arg],
        frame: &Frame,
        name_tok: &Token,
        ctx: &Context,
        commented: bool,
    ) {
        if commented {
            return;
        }
        let top = *ctx == Context::Top;
        match f.name {
            "plan" if top && self.out.plan.is_none() => {
                self.out.plan = Some(match args.first().map(|a| &a.value) {
                    Some(Value::Number(n)) => match n.parse::<u64>() {
                        Ok(count) => PlanDecl::Fixed {
                            count,
                            line: name_tok.line,
                        },
                        Err(_) => PlanDecl::Dynamic {
                            line: name_tok.line,
                        },
                    },
                    _ => PlanDecl::Dynamic {
                        line: name_tok.line,
                    },
                });
            }
            "no_plan" if top && self.out.plan.is_none() => {
                self.out.plan = Some(PlanDecl::NoPlan {
                    line: name_tok.line,
                });
            }
            "finish" if top => self.out.finish = true,
            "runtests" | "do_tap" => {
                self.out.runs_tests = true;
                if top {
                    self.out.tests_inexact = true;
                }
            }
            "check_test" if top => {
                // check_test() deletes the result of the test it wraps and emits its own:
                // one, plus one each for a non-NULL description and diagnostics.
                let nonnull = |i: usize| args.get(i).is_some_and(|a| a.value != Value::Null);
                self.out.tests =
                    frame.tests_at_open + 1 + u64::from(nonnull(3)) + u64::from(nonnull(4));
            }
            "skip" if top => {
                let n = args.iter().find(|a| a.ty == ArgType::Integer);
                match n.map(|a| &a.value) {
                    Some(Value::Number(n)) => self.out.tests += n.parse::<u64>().unwrap_or(1),
                    _ if args.iter().any(|a| matches!(a.ty, ArgType::Unknown)) => {
                        self.out.tests += 1;
                        self.out.tests_inexact = true;
                    }
                    _ => self.out.tests += 1,
                }
            }
            _ => {}
        }
    }

    fn assertion(
        &mut self,
        f: &'static Function,
        args: &[Arg],
        name_tok: &Token,
        ctx: &Context,
        commented: bool,
        counts: bool,
    ) {
        // Named arguments are matched by the resolver; order roles as the call wrote them.
        let set = f.aspect == Some(Aspect::Set);
        let sp = &self.ex.opts.search_path;
        // When every overload that takes this many arguments gives them the same roles, the
        // overload PostgreSQL picks cannot change the target: skip resolution (is(), ok(),
        // results_eq()... are most calls, and their argument types are rarely static).
        // Decided before the argument types are copied out: most calls end here. Only for
        // arguments that fit any parameter (literals, expressions of unknown type): a typed
        // one (`'..'::uuid` against `name`) may rule every overload out, as in PostgreSQL.
        let fits_any = |a: &Arg| {
            matches!(
                a.ty,
                ArgType::UntypedLiteral | ArgType::Unknown | ArgType::Null | ArgType::BraceLiteral
            )
        };
        if args.iter().all(|a| a.name.is_none() && fits_any(a)) {
            if let Some(roles) = same_roles(f, args.len()) {
                let tg = target::target(f.object_kind, set, roles, args, sp);
                let negated = f.negated_of.is_some();
                self.push_assertion(
                    f.name.into(),
                    tg,
                    f.aspect.clone(),
                    negated,
                    ResolutionKind::Exact,
                    Vec::new(),
                    name_tok,
                    ctx,
                    commented,
                    counts,
                );
                return;
            }
        }
        let positional: Vec<ArgType> = args
            .iter()
            .filter(|a| a.name.is_none())
            .map(|a| a.ty.clone())
            .collect();
        let named: Vec<(&str, ArgType)> = args
            .iter()
            .filter_map(|a| a.name.as_deref().map(|n| (n, a.ty.clone())))
            .collect();
        let statically_typed = positional
            .iter()
            .chain(named.iter().map(|(_, t)| t))
            .all(|t| !matches!(t, ArgType::Unknown | ArgType::ArrayCtor(None)));
        let key = ResolutionKey {
            function: f.name,
            positional,
            named: named
                .iter()
                .map(|(n, t)| (n.to_string(), t.clone()))
                .collect(),
        };
        let resolved = match self.scratch.resolutions.get(&key) {
            Some(r) => r.clone(),
            None => {
                let r = resolve(f, &key.positional, &named);
                if self.scratch.resolutions.len() < MAX_CACHED_RESOLUTIONS {
                    self.scratch.resolutions.insert(key, r.clone());
                }
                r
            }
        };
        let resolution = match resolved {
            // Without static types a rejection cannot be proven: take the overloads of
            // this arity as the candidates.
            Resolution::NoMatch | Resolution::Ambiguous { .. } if !statically_typed => {
                let candidates: Vec<usize> = (0..f.overloads.len())
                    .filter(|&o| takes(&f.overloads[o], args.len()))
                    .collect();
                if candidates.is_empty() {
                    Resolution::NoMatch
                } else {
                    Resolution::Undecidable { candidates }
                }
            }
            r => r,
        };
        let rejected_kind = matches!(resolution, Resolution::NoMatch);
        let (tg, resolution, readings) = match resolution {
            Resolution::Unique { roles, .. } => (
                target::target(f.object_kind, set, &roles, args, sp),
                ResolutionKind::Exact,
                Vec::new(),
            ),
            Resolution::Undecidable { candidates } => {
                let roles: Vec<&str> = candidates
                    .first()
                    .map(|&o| f.overloads[o].arg_names.to_vec())
                    .unwrap_or_default();
                (
                    target::target(f.object_kind, set, &roles, args, sp),
                    ResolutionKind::Undecidable,
                    Vec::new(),
                )
            }
            Resolution::Runtime { readings, .. } => self.runtime(f, set, args, readings),
            // In a comment, a "call" PostgreSQL would reject is prose (`ok()` in a sentence).
            Resolution::Ambiguous { .. } | Resolution::NoMatch if commented => return,
            Resolution::Ambiguous { .. } | Resolution::NoMatch => {
                let why = if rejected_kind {
                    format!("{}() has no overload taking these {} arguments: PostgreSQL would reject the call", f.name, args.len())
                } else {
                    format!("{}() call is ambiguous between overloads: PostgreSQL would reject it (add ::name or ::text casts)", f.name)
                };
                self.out.errors.push(Diagnostic {
                    line: name_tok.line,
                    column: name_tok.col,
                    message: why,
                });
                let mut tg = target::Target {
                    kind: f.object_kind,
                    ..Default::default()
                };
                tg.description = None;
                (tg, ResolutionKind::Rejected, Vec::new())
            }
        };
        let negated = f.negated_of.is_some();
        self.push_assertion(
            f.name.into(),
            tg,
            f.aspect.clone(),
            negated,
            resolution,
            readings,
            name_tok,
            ctx,
            commented,
            counts,
        );
    }

    /// pgTAP decides at run time which reading applies. Apply its rule where the
    /// arguments decide it statically; otherwise take the reading the search path suggests
    /// and say it is ambiguous, listing every reading.
    fn runtime(
        &self,
        f: &Function,
        set: bool,
        args: &[Arg],
        readings: Vec<Vec<&'static str>>,
    ) -> (target::Target, ResolutionKind, Vec<String>) {
        let sp = &self.ex.opts.search_path;
        let targets: Vec<target::Target> = readings
            .iter()
            .map(|r| target::target(f.object_kind, set, r, args, sp))
            .collect();
        let keys: Vec<String> = targets.iter().filter_map(|t| t.object.clone()).collect();
        // throws_ok: a 5-byte second argument is an SQLSTATE. Both readings name no object.
        let distinct = {
            let mut k = keys.clone();
            k.dedup();
            k.len() > 1
        };
        if !distinct {
            let tg = targets.into_iter().next().unwrap_or_default();
            return (tg, ResolutionKind::Runtime, Vec::new());
        }
        // has_index / is_indexed: "if the first argument names an existing schema".
        let first = args.first().and_then(|a| a.value.as_str());
        let schema_reading = readings.iter().position(|r| r.first() == Some(&"schema"));
        let pick = match (first, schema_reading) {
            (Some(s), Some(i)) if sp.iter().any(|p| p == s) => i,
            (_, Some(i)) => usize::from(i == 0),
            _ => 0,
        };
        let tg = targets.into_iter().nth(pick).unwrap_or_default();
        (tg, ResolutionKind::Ambiguous, keys)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_assertion(
        &mut self,
        function: crate::model::Name,
        tg: target::Target,
        aspect: Option<Aspect>,
        negated: bool,
        resolution: ResolutionKind,
        readings: Vec<String>,
        name_tok: &Token,
        ctx: &Context,
        commented: bool,
        counts: bool,
    ) {
        if counts {
            self.out.tests += 1;
        }
        self.out.assertions.push(Assertion {
            function,
            kind: tg.kind,
            object: tg.object,
            line: name_tok.line,
            column: name_tok.col,
            context: ctx.clone(),
            description: tg.description,
            aspect,
            negated,
            dynamic: tg.dynamic,
            members: tg.members,
            references: tg.references,
            resolution,
            readings,
            commented,
        });
    }

    /// psql meta-commands: includes are recorded; the rest is ignored.
    fn meta(&mut self, t: &Token) {
        let text = String::from_utf8_lossy(t.text(self.src));
        let text = text.trim_end_matches("\\\\");
        let mut words = text.split_whitespace();
        let Some(cmd) = words.next() else { return };
        let relative = match cmd {
            "\\i" | "\\include" => false,
            "\\ir" | "\\include_relative" => true,
            _ => return,
        };
        let rest: String = text[cmd.len()..].trim().to_string();
        let path = unquote_meta_arg(&rest);
        if path.is_empty() {
            self.out.warnings.push(Diagnostic {
                line: t.line,
                column: t.col,
                message: format!("{cmd} without a file name"),
            });
            return;
        }
        self.out.includes.push(Include {
            path,
            relative,
            line: t.line,
        });
    }
}

/// Top-level calls remembered per file for the plan hint (a bound on memory).
const MAX_SELECT_CALLS: usize = 256;

/// PostgreSQL's common aggregates: a select list calling one (outside a sub-query and
/// without GROUP BY) gives exactly one row.
const AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "bool_and",
    "bool_or",
    "every",
    "array_agg",
    "string_agg",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "bit_and",
    "bit_or",
    "xmlagg",
];

/// `CASE`, `WHEN`, `THEN`, `ELSE` or `END`, cheaply (this runs for every identifier).
fn is_case_word(w: &[u8]) -> bool {
    matches!(w.len(), 3..=4)
        && matches!(w[0] | 0x20, b'c' | b'w' | b't' | b'e')
        && [&b"case"[..], b"when", b"then", b"else", b"end"]
            .iter()
            .any(|k| w.eq_ignore_ascii_case(k))
}

/// Whether a psql meta-command sends the query buffer (`\g` and its variants).
fn ends_query(meta: &[u8]) -> bool {
    let cmd = meta
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or_default();
    matches!(
        cmd,
        b"\\g" | b"\\gx" | b"\\gset" | b"\\gexec" | b"\\gdesc" | b"\\crosstabview"
    )
}

/// The line and column of `to`, given those of `from` (`from <= to`).
fn advance(src: &[u8], from: usize, to: usize, mut line: u32, mut col: u32) -> (u32, u32) {
    for i in from..to {
        if crate::lexer::is_line_break(src, i) {
            line = line.saturating_add(1);
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// Does the overload accept `n` arguments (SQL defaults and variadic included)?
fn takes(o: &crate::catalog::Overload, n: usize) -> bool {
    let max = o.arg_types.len();
    let min = o.min_args.map_or(max, usize::from);
    (min..=max).contains(&n) || (o.variadic && n >= max.saturating_sub(1))
}

/// The roles of `n` positional arguments if every overload taking `n` arguments agrees
/// on them (and there is at least one).
fn same_roles(f: &Function, n: usize) -> Option<&'static [&'static str]> {
    let mut roles: Option<&'static [&'static str]> = None;
    for o in f.overloads {
        if o.variadic || !takes(o, n) {
            if o.variadic && takes(o, n) {
                return None;
            }
            continue;
        }
        let r = &o.arg_names[..n];
        match roles {
            None => roles = Some(r),
            Some(prev) if prev == r => {}
            Some(_) => return None,
        }
    }
    roles
}

/// psql's argument quoting: 'single quoted' (with '' doubling) or a bare word.
fn unquote_meta_arg(s: &str) -> String {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    break;
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        s.split_whitespace().next().unwrap_or("").to_string()
    }
}
