//! The clause reader: one statement's code tokens in, events out (references, role
//! switches, transaction boundaries, SQL text handed to pgTAP, prepared statements).
//!
//! Not a parser: a loop over tokens with one frame per open parenthesis, each knowing the
//! command and clause it is in and the relations it has seen. Precision over recall: a
//! name is a relation only right after `FROM`/`JOIN`/`INTO`/`UPDATE`/..., a column only in
//! a select list, `WHERE`, `JOIN .. ON`, `HAVING`, `RETURNING`, `JOIN .. USING (..)`, an
//! `INSERT` column list or on the left of `SET`, and a keyword is never a reference.
//! Inside a body (a routine's or a `DO` block's) an unqualified name the body declares
//! (a variable, a parameter) is never a column.

use crate::config::ExtractOptions;
use std::borrow::Cow;

use crate::lexer::{ident_value, string_value, Token, TokenKind};
use crate::model::{Command, RefKind};

use super::builtins::{is_builtin_function, is_builtin_type};
use super::words::Word;

mod calls;
mod declared;
mod keyword;
mod split;
mod vocab;

pub use declared::{declared_names, PGTAP_INTERNAL};
pub use split::{skipped, split, split_into, Stmt};
use vocab::*;

/// A reference before it gets its line, role and assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRef {
    pub kind: RefKind,
    pub schema: Option<String>,
    pub name: String,
    pub relation: Option<String>,
    pub command: Option<Command>,
    pub arity: Option<u32>,
}

/// What the reader found, at a token index of the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Ref(RawRef, usize),
    /// A role switch: `None` back to the session's own role. `local` ends with the
    /// transaction; `helper` switches as the transaction allows (LOCAL inside one).
    Role {
        role: Option<String>,
        local: bool,
        helper: bool,
    },
    Begin,
    /// `COMMIT` (true) or `ROLLBACK` (false).
    End(bool),
    /// A string argument holding SQL that a pgTAP function runs.
    SqlText(usize),
    /// `EXECUTE name` or a prepared statement's name given to a pgTAP function.
    PreparedUse(String, usize),
    /// `PREPARE name AS ...`: its references, by token index.
    Prepare(String, Vec<(RawRef, usize)>),
    /// `CREATE FUNCTION f(p int) ... AS $$..$$`, `DO $$..$$`: the body's string token
    /// and the names the routine's header declares (parameters, `RETURNS TABLE`
    /// columns), variables inside the body when it is read as a unit of its own.
    Routine {
        body: usize,
        params: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Paren,
    Call,
    /// Column lists of aliases and CTEs, type modifiers: nothing inside is read.
    Ignore,
    /// `INSERT INTO t (a, b)`: columns of the target.
    InsertCols,
    /// `UPDATE t SET (a, b) = ..`: columns of the target, written.
    SetCols,
    /// `JOIN u USING (a, b)`: columns of both sides (of no one relation).
    UsingCols,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Clause {
    #[default]
    None,
    SelectList,
    From,
    Where,
    Returning,
    Set,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Expect {
    #[default]
    None,
    Rel(Command),
    Alias,
}

/// A relation of a query. Its names are token indices, read into strings only when a
/// reference keeps them ([`Scanner::written`], [`Scanner::name_at`]) and compared in
/// place ([`Scanner::same_name`]): most are never kept.
#[derive(Debug, Clone)]
struct Rel {
    /// As written (`app.users` or `users`); `None` for a CTE, a sub-query, a function.
    written: Option<Name>,
    /// The token of its name; `None` for a sub-query or a function (no name).
    name: Option<usize>,
    /// The token of its alias.
    alias: Option<usize>,
}

/// A column of a query: the tokens of its qualifier and its name.
#[derive(Debug, Clone)]
struct Col {
    qual: Option<usize>,
    name: usize,
    command: Command,
    at: usize,
}

#[derive(Debug, Default)]
struct Frame {
    kind: Kind,
    cmd: Option<Command>,
    clause: Clause,
    expect: Expect,
    rels: Vec<Rel>,
    cols: Vec<Col>,
    /// Index in `rels` of the DML target.
    target: Option<usize>,
    set_lhs: bool,
    /// A sub-query in a FROM list: an alias follows it.
    from_item: bool,
    /// Inside `WITH a AS (..), b AS (..)`: a comma starts the next CTE.
    in_with: bool,
    /// `MERGE .. THEN INSERT (cols)`.
    merge_insert: bool,
    /// An `ORDER BY` inside a call or parentheses (`array_agg(x ORDER BY y)`, `WITHIN
    /// GROUP (ORDER BY y)`, `OVER (ORDER BY y)`): names from there on are no columns.
    order_by: bool,
}

/// A dotted name: its parts are the tokens `at`, `at + 2`, ... (dots between), read
/// into strings only when kept.
#[derive(Debug, Clone, Copy)]
struct Name {
    at: usize,
    parts: usize,
}

impl Name {
    /// The token of the last part.
    fn last_at(self) -> usize {
        self.at + 2 * (self.parts - 1)
    }
}

/// Reads statements of one unit.
pub struct Scanner<'a> {
    pub src: &'a [u8],
    pub toks: &'a [Token],
    pub opts: &'a ExtractOptions,
    /// Inside a routine body or a `DO` block: an unqualified name is a column only when it
    /// is none of [`declared`](Self::declared) and its query has one relation.
    pub body: bool,
    /// In a body: the names it declares (sorted; [`declared_names`]): variables and
    /// parameters, never columns.
    pub declared: &'a [String],
    /// Transaction statements count (the top level of a file; not `BEGIN` of a block).
    pub top: bool,
    /// The reader only counts references ([`Reader::counting`](super::Reader::counting)):
    /// their [`RawRef`]s carry no strings (no schema, empty names) and no arity.
    pub counting: bool,
}

impl<'a> Scanner<'a> {
    fn lower(&self, i: usize) -> Option<Word> {
        let t = self.toks.get(i)?;
        if t.kind != TokenKind::Ident {
            return None;
        }
        Word::new(t.text(self.src))
    }

    fn is_kw(&self, i: usize, kw: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.is_keyword(self.src, kw))
    }

    fn kind(&self, i: usize) -> Option<TokenKind> {
        self.toks.get(i).map(|t| t.kind)
    }

    fn is_name(&self, i: usize) -> bool {
        matches!(
            self.kind(i),
            Some(TokenKind::Ident | TokenKind::QuotedIdent)
        )
    }

    /// A name the body declares (a variable or parameter).
    fn is_declared(&self, name: &str) -> bool {
        self.declared
            .binary_search_by(|d| d.as_str().cmp(name))
            .is_ok()
    }

    /// A string a reference carries: made only when references are kept.
    fn kept(&self, make: impl FnOnce() -> String) -> String {
        if self.counting {
            String::new()
        } else {
            make()
        }
    }

    fn name_at(&self, i: usize) -> String {
        self.name_cow(i).into_owned()
    }

    /// [`name_at`](Self::name_at) borrowed from the source when it can be (a lower-case
    /// identifier): most names read are never kept.
    fn name_cow(&self, i: usize) -> Cow<'a, str> {
        let Some(t) = self.toks.get(i) else {
            return Cow::Borrowed("");
        };
        // `from_utf8` first: it checks ASCII words at a time, where the lossy form walks
        // every byte (names are nearly always valid, most of them ASCII).
        match ident_value(self.src, t) {
            Cow::Borrowed(b) => match std::str::from_utf8(b) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => String::from_utf8_lossy(b),
            },
            Cow::Owned(v) => Cow::Owned(match String::from_utf8(v) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }),
        }
    }

    /// Whether the names of tokens `a` and `b` are the same name (as [`name_cow`](Self::name_cow)
    /// reads them), without making either when both are plain ASCII words.
    fn same_name(&self, a: usize, b: usize) -> bool {
        if let (Some(x), Some(y)) = (self.toks.get(a), self.toks.get(b)) {
            if x.kind == TokenKind::Ident && y.kind == TokenKind::Ident {
                let (p, q) = (x.text(self.src), y.text(self.src));
                if p.is_ascii() && q.is_ascii() {
                    return p.eq_ignore_ascii_case(q);
                }
            }
        }
        self.name_cow(a) == self.name_cow(b)
    }

    /// A relation's name as written (`app.users`, `users`: its last two parts).
    fn written(&self, name: Name) -> String {
        let last = self.last(name);
        match self.schema_of(name) {
            Some(s) => format!("{s}.{last}"),
            None => last.into_owned(),
        }
    }

    /// Part `k` of a dotted name.
    fn part(&self, name: Name, k: usize) -> Cow<'a, str> {
        self.name_cow(name.at + 2 * k)
    }

    /// The last part of a dotted name.
    fn last(&self, name: Name) -> Cow<'a, str> {
        self.part(name, name.parts - 1)
    }

    /// The part before the last, when there is one (`app` in `app.users`).
    fn schema_of(&self, name: Name) -> Option<Cow<'a, str>> {
        (name.parts >= 2).then(|| self.part(name, name.parts - 2))
    }

    /// A dotted name from `i`: its parts, the index after it, and whether it ends in `.*`.
    fn read_name(&self, i: usize) -> (Name, usize, bool) {
        let mut name = Name { at: i, parts: 1 };
        let mut j = i + 1;
        while self.kind(j) == Some(TokenKind::Dot) {
            if self.is_name(j + 1) {
                name.parts += 1;
                j += 2;
            } else if self.kind(j + 1) == Some(TokenKind::Operator)
                && self.toks[j + 1].text(self.src) == b"*"
            {
                return (name, j + 2, true);
            } else {
                break;
            }
        }
        (name, j, false)
    }

    /// The index of the `)` closing the `(` at `open` (or the end).
    pub fn close_of(&self, open: usize) -> usize {
        let mut depth = 0usize;
        for j in open..self.toks.len() {
            match self.toks[j].kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return j;
                    }
                }
                _ => {}
            }
        }
        self.toks.len()
    }

    /// The argument token ranges of the call whose `(` is at `open`.
    pub fn args_of(&self, open: usize) -> Vec<(usize, usize)> {
        let close = self.close_of(open);
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut start = open + 1;
        for j in open + 1..close {
            match self.toks[j].kind {
                TokenKind::LParen | TokenKind::LBracket => depth += 1,
                TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
                TokenKind::Comma if depth == 0 => {
                    out.push((start, j));
                    start = j + 1;
                }
                _ => {}
            }
        }
        if close > open + 1 {
            out.push((start, close.min(self.toks.len())));
        }
        out
    }

    /// The value of an argument that is one string literal.
    fn literal(&self, arg: (usize, usize)) -> Option<String> {
        let t = self.toks.get(arg.0)?;
        let lone = arg.1 == arg.0 + 1
            || (arg.1 > arg.0 + 1 && self.kind(arg.0 + 1) == Some(TokenKind::Cast));
        (lone && matches!(t.kind, TokenKind::String | TokenKind::DollarString))
            .then(|| String::from_utf8_lossy(&string_value(self.src, t)).into_owned())
    }

    /// `SELECT has_table('a', 'b', ARRAY['x'], true);`: a statement that only calls pgTAP
    /// functions running no SQL text, on literals. Most statements of structural suites
    /// are; they are skipped without reading (nothing in them is a reference).
    ///
    /// [`split`] tells the same in its one pass; this statement-at-a-time form is kept as
    /// the reference its test checks it against.
    #[cfg(test)]
    pub(super) fn trivial(&self, from: usize, to: usize) -> bool {
        let body_start = if self.is_kw(from, "select") || self.is_kw(from, "perform") {
            // `SELECT * FROM check_test(...)`, `SELECT * FROM finish()`: pgTAP's
            // set-returning functions read the same way.
            if self
                .toks
                .get(from + 1)
                .is_some_and(|t| t.text(self.src) == b"*")
                && self.is_kw(from + 2, "from")
            {
                from + 3
            } else {
                from + 1
            }
        } else if self.is_kw(from, "return") && self.is_kw(from + 1, "next") {
            from + 2
        } else {
            return false;
        };
        (body_start..to).all(|j| match self.toks[j].kind {
            TokenKind::String
            | TokenKind::Number
            | TokenKind::Comma
            | TokenKind::LParen
            | TokenKind::RParen
            | TokenKind::LBracket
            | TokenKind::RBracket
            | TokenKind::Cast => true,
            TokenKind::Ident => {
                let Some(w) = self.lower(j) else {
                    return false;
                };
                let flags = word_flags(&w);
                if self.kind(j + 1) == Some(TokenKind::LParen) {
                    self.opts.role_helpers.is_empty()
                        && (flags & PGTAP_PLAIN != 0
                            || (flags & BUILTIN_FUNCTION != 0 && flags & SPECIAL == 0))
                } else if self.kind(j - 1) == Some(TokenKind::Cast) {
                    // `::text`: a built-in type is no reference.
                    self.kind(j + 1) != Some(TokenKind::Dot) && flags & BUILTIN_TYPE != 0
                } else {
                    flags & VALUE != 0
                }
            }
            // `'a' || to_char(now(), 'yyyy')`, `1 + 2`.
            TokenKind::Operator => true,
            _ => false,
        })
    }

    /// The statements of the scanner's tokens, each with whether it is trivial (one pass;
    /// see [`split`]).
    pub fn statements(&self) -> Vec<Stmt> {
        split(self.toks, self.src, !self.opts.role_helpers.is_empty())
    }

    /// [`statements`](Self::statements) into `out` (cleared first).
    pub fn statements_into(&self, out: &mut Vec<Stmt>) {
        split_into(self.toks, self.src, !self.opts.role_helpers.is_empty(), out);
    }

    /// Reads one statement (`toks[from..to]`, without its `;`) that [`split`] did not
    /// find trivial.
    pub fn read(&self, from: usize, to: usize, ev: &mut Vec<Event>) {
        let Some(head) = self.lower(from) else {
            self.query(from, to, ev);
            return;
        };
        match &*head {
            b"begin" | b"start" if self.top => ev.push(Event::Begin),
            b"commit" | b"end" if self.top => ev.push(Event::End(true)),
            b"abort" if self.top => ev.push(Event::End(false)),
            b"rollback" if self.top => {
                // ROLLBACK TO SAVEPOINT stays in the transaction; ROLLBACK PREPARED is
                // another one's.
                if !(self.is_kw(from + 1, "to") || self.is_kw(from + 1, "prepared")) {
                    ev.push(Event::End(false));
                }
            }
            b"set" | b"reset" => self.set_role(from, to, &*head == b"reset", ev),
            b"prepare" if self.top => {
                let name = self.name_at(from + 1);
                if let Some(as_at) = (from + 2..to).find(|&j| self.is_kw(j, "as")) {
                    let mut inner = Vec::new();
                    self.query(as_at + 1, to, &mut inner);
                    let refs = inner
                        .into_iter()
                        .filter_map(|e| match e {
                            Event::Ref(r, at) => Some((r, at)),
                            _ => None,
                        })
                        .collect();
                    ev.push(Event::Prepare(name, refs));
                }
            }
            b"execute" if self.is_name(from + 1) && !self.body => {
                ev.push(Event::PreparedUse(self.name_at(from + 1), from + 1));
                self.query(from + 2, to, ev);
            }
            b"create" | b"do" => self.routine(from, to, &*head == b"do", ev),
            _ if word_flags(&head) & SKIP != 0 => {}
            _ => self.query(from, to, ev),
        }
    }

    /// `CREATE [GLOBAL|LOCAL] [TEMP|TEMPORARY|UNLOGGED] TABLE .. AS query` and `CREATE
    /// MATERIALIZED VIEW .. AS query` (`toks[from..to]`): the query runs when the statement
    /// does, so it is read as one (the new relation's name is DDL, no reference). Not
    /// `CREATE VIEW .. AS`: a view's query runs where the view is used.
    fn create_as(&self, from: usize, to: usize, ev: &mut Vec<Event>) {
        let mut j = from + 1;
        while ["global", "local", "temp", "temporary", "unlogged"]
            .iter()
            .any(|w| self.is_kw(j, w))
        {
            j += 1;
        }
        if self.is_kw(j, "materialized") && self.is_kw(j + 1, "view") {
            j += 2;
        } else if self.is_kw(j, "table") {
            j += 1;
        } else {
            return;
        }
        let mut depth = 0usize;
        while j < to {
            match self.toks[j].kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => depth = depth.saturating_sub(1),
                _ if depth == 0 && self.is_kw(j, "as") => {
                    // `.. WITH [NO] DATA` ends the statement, not the query.
                    let mut end = to;
                    if end >= j + 3 && self.is_kw(end - 1, "data") {
                        if self.is_kw(end - 2, "with") {
                            end -= 2;
                        } else if self.is_kw(end - 2, "no") && self.is_kw(end - 3, "with") {
                            end -= 3;
                        }
                    }
                    if self.is_kw(j + 1, "execute") && self.is_name(j + 2) && !self.body {
                        ev.push(Event::PreparedUse(self.name_at(j + 2), j + 2));
                    } else {
                        self.query(j + 1, end, ev);
                    }
                    return;
                }
                _ => {}
            }
            j += 1;
        }
    }

    /// `CREATE [OR REPLACE] FUNCTION|PROCEDURE name (params) .. AS $$body$$`, `DO
    /// $$body$$`: the body and the names the header declares in it (the body is read as
    /// a unit of its own, where they are variables).
    fn routine(&self, from: usize, to: usize, is_do: bool, ev: &mut Vec<Event>) {
        let mut params = Vec::new();
        let mut j = from + 1;
        if !is_do {
            if self.is_kw(j, "or") && self.is_kw(j + 1, "replace") {
                j += 2;
            }
            if !(self.is_kw(j, "function") || self.is_kw(j, "procedure")) || !self.is_name(j + 1) {
                self.create_as(from, to, ev);
                return;
            }
            j += 2;
            while self.kind(j) == Some(TokenKind::Dot) && self.is_name(j + 1) {
                j += 2;
            }
            if j >= to || self.kind(j) != Some(TokenKind::LParen) {
                return;
            }
            for (a, b) in self.args_of(j) {
                self.param_name(a, b, &mut params);
            }
            j = self.close_of(j) + 1;
        }
        let mut depth = 0usize;
        while j < to {
            match self.toks[j].kind {
                TokenKind::LParen => {
                    // `RETURNS TABLE (n int, ..)`: its columns are variables of the body.
                    if depth == 0 && !is_do && self.is_kw(j - 1, "table") {
                        for (a, b) in self.args_of(j) {
                            self.param_name(a, b, &mut params);
                        }
                    }
                    depth += 1;
                }
                TokenKind::RParen => depth = depth.saturating_sub(1),
                TokenKind::DollarString if depth == 0 && (is_do || self.is_kw(j - 1, "as")) => {
                    ev.push(Event::Routine { body: j, params });
                    return;
                }
                _ => {}
            }
            j += 1;
        }
    }

    /// A parameter `[IN|OUT|INOUT|VARIADIC] [name] type [DEFAULT ..]`: its name, when it
    /// has one (a name followed by a type's first word; `double precision` gives
    /// `double`, which only hides a column of that name).
    fn param_name(&self, a: usize, b: usize, out: &mut Vec<String>) {
        let mut k = a;
        while k < b
            && ["in", "out", "inout", "variadic"]
                .iter()
                .any(|m| self.is_kw(k, m))
            && self.is_name(k + 1)
        {
            k += 1;
        }
        if k + 1 < b && self.is_name(k) && self.is_name(k + 1) {
            out.push(self.name_at(k));
        }
    }

    /// `SET [SESSION|LOCAL] ROLE x`, `SET SESSION AUTHORIZATION x`, `RESET ROLE`, ...
    fn set_role(&self, from: usize, to: usize, reset: bool, ev: &mut Vec<Event>) {
        let mut j = from + 1;
        let mut local = false;
        if self.is_kw(j, "local") {
            local = true;
            j += 1;
        } else if self.is_kw(j, "session") && !self.is_kw(j + 1, "authorization") {
            j += 1;
        }
        let what = if self.is_kw(j, "role") {
            j += 1;
            true
        } else if self.is_kw(j, "session") && self.is_kw(j + 1, "authorization") {
            j += 2;
            true
        } else {
            reset && self.is_kw(j, "all")
        };
        if !what || j > to {
            return;
        }
        if reset {
            ev.push(Event::Role {
                role: None,
                local: false,
                helper: false,
            });
            return;
        }
        if self.is_kw(j, "to") || self.toks.get(j).is_some_and(|t| t.text(self.src) == b"=") {
            j += 1;
        }
        let Some(t) = self.toks.get(j).filter(|_| j < to) else {
            return;
        };
        let role = match t.kind {
            TokenKind::Ident
                if t.is_keyword(self.src, "none") || t.is_keyword(self.src, "default") =>
            {
                None
            }
            TokenKind::Ident | TokenKind::QuotedIdent => Some(self.name_at(j)),
            TokenKind::String => {
                Some(String::from_utf8_lossy(&string_value(self.src, t)).into_owned())
            }
            _ => return,
        };
        ev.push(Event::Role {
            role,
            local,
            helper: false,
        });
    }

    /// The query reader proper.
    pub fn query(&self, from: usize, to: usize, ev: &mut Vec<Event>) {
        // The frame stack's buffer is the thread's, reused from statement to statement
        // (a nested query, `PREPARE .. AS`, gets one of its own).
        let mut stack: Vec<Frame> = FRAMES.take();
        stack.clear();
        stack.push(Frame::default());
        let mut pending: Option<Kind> = None;
        // The CTEs' names (their tokens).
        let mut ctes: Vec<usize> = Vec::new();
        let mut i = from;
        while i < to {
            let t = self.toks[i];
            match t.kind {
                TokenKind::LParen => {
                    let kind = pending.take().unwrap_or_default();
                    let parent_ignores = stack.last().is_some_and(|f| f.kind == Kind::Ignore);
                    let mut f = Frame {
                        kind: if parent_ignores { Kind::Ignore } else { kind },
                        ..Frame::default()
                    };
                    if let Some(p) = stack.last_mut() {
                        if kind == Kind::Paren && matches!(p.expect, Expect::Rel(_)) {
                            f.from_item = true;
                            p.expect = Expect::None;
                        }
                        // `SET (a, b) = ..`: the targets.
                        if kind == Kind::Paren
                            && p.clause == Clause::Set
                            && p.set_lhs
                            && p.cmd.is_some()
                            && p.expect == Expect::None
                        {
                            f.kind = Kind::SetCols;
                        }
                    }
                    // Frames are bounded by the statement's parentheses; stop nesting at
                    // a depth no real query reaches (a hostile file stays linear).
                    if stack.len() < 256 {
                        stack.push(f);
                    }
                    i += 1;
                    continue;
                }
                TokenKind::RParen => {
                    if stack.len() > 1 {
                        let f = stack.pop().unwrap_or_default();
                        let from_item = f.from_item;
                        if f.kind == Kind::SetCols {
                            if let Some(p) = stack.last_mut() {
                                p.set_lhs = false;
                            }
                        }
                        self.close(f, &stack, ev);
                        if from_item {
                            if let Some(p) = stack.last_mut() {
                                p.rels.push(Rel {
                                    written: None,
                                    name: None,
                                    alias: None,
                                });
                                p.expect = Expect::Alias;
                            }
                        }
                    }
                    i += 1;
                    continue;
                }
                TokenKind::Comma => {
                    if let Some(f) = stack.last_mut() {
                        if f.in_with && f.clause == Clause::None {
                            if let Some(open) = self.cte_header(i + 1, to, &mut ctes) {
                                pending = Some(Kind::Paren);
                                i = open;
                                continue;
                            }
                        }
                        match f.clause {
                            Clause::From => f.expect = Expect::Rel(Command::Select),
                            Clause::Set => {
                                f.set_lhs = true;
                                f.expect = Expect::None;
                            }
                            _ => {
                                if f.cmd == Some(Command::Truncate) {
                                    f.expect = Expect::Rel(Command::Truncate);
                                } else {
                                    f.expect = Expect::None;
                                }
                            }
                        }
                    }
                    i += 1;
                    continue;
                }
                TokenKind::Cast => {
                    i = self.type_name(i + 1, to, ev, &mut pending);
                    continue;
                }
                TokenKind::Ident | TokenKind::QuotedIdent => {}
                _ => {
                    if let Some(f) = stack.last_mut() {
                        if f.expect == Expect::Alias {
                            f.expect = Expect::None;
                        }
                    }
                    i += 1;
                    continue;
                }
            }
            if stack.last().is_some_and(|f| f.kind == Kind::Ignore) {
                i += 1;
                continue;
            }
            // Looked up once: a keyword, or pgTAP's call.
            let word = self.lower(i);
            let flags = word.as_ref().map_or(0, word_flags);
            // A keyword?
            if let Some(w) = word
                .as_ref()
                .filter(|_| self.kind(i + 1) != Some(TokenKind::Dot))
            {
                if let Some(next) = self.keyword(
                    w,
                    flags,
                    i,
                    from,
                    to,
                    &mut stack,
                    &mut pending,
                    &mut ctes,
                    ev,
                ) {
                    i = next;
                    continue;
                }
            }
            // The common call, `has_table(`: pgTAP's, running no SQL text. No allocation.
            if word.is_some()
                && flags & PGTAP_PLAIN != 0
                && self.kind(i + 1) == Some(TokenKind::LParen)
                && i + 1 < to
                && stack.last().is_some_and(|f| f.expect == Expect::None)
                && self.opts.role_helpers.is_empty()
            {
                pending = Some(Kind::Call);
                i += 1;
                continue;
            }
            // A lone name outside any query, not called nor qualified (a PL/pgSQL
            // variable in `RETURN NEXT is(v, 1)`): nothing to read, no allocation.
            if !matches!(
                self.kind(i + 1),
                Some(TokenKind::Dot | TokenKind::LParen | TokenKind::String)
            ) && stack
                .last()
                .is_some_and(|f| f.expect == Expect::None && f.kind != Kind::InsertCols)
                && query_frame(&stack).is_none()
            {
                i += 1;
                continue;
            }
            let (parts, j, star) = self.read_name(i);
            let single = parts.parts == 1;
            let next_kind = self.kind(j).filter(|_| j < to);
            let depth = stack.len();
            let Some(f) = stack.last_mut() else { break };
            if let Expect::Rel(cmd) = f.expect {
                if star {
                    i = j;
                    continue;
                }
                if next_kind == Some(TokenKind::LParen) && cmd == Command::Select {
                    // A set-returning function in FROM: a call, then an alias.
                    f.rels.push(Rel {
                        written: None,
                        name: None,
                        alias: None,
                    });
                    f.expect = Expect::Alias;
                    self.call(parts, j, ev, &mut pending);
                    i = j;
                    continue;
                }
                let name = parts.last_at();
                let is_cte = single && ctes.iter().any(|&c| self.same_name(c, name));
                let written = if is_cte {
                    None
                } else {
                    ev.push(Event::Ref(
                        RawRef {
                            kind: RefKind::Relation,
                            schema: if self.counting {
                                None
                            } else {
                                self.schema_of(parts).map(Cow::into_owned)
                            },
                            name: self.kept(|| self.name_at(name)),
                            relation: None,
                            command: Some(cmd),
                            arity: None,
                        },
                        i,
                    ));
                    Some(parts)
                };
                f.rels.push(Rel {
                    written,
                    name: Some(name),
                    alias: None,
                });
                if matches!(
                    cmd,
                    Command::Insert | Command::Update | Command::Delete | Command::Merge
                ) && f.target.is_none()
                {
                    f.target = Some(f.rels.len() - 1);
                }
                f.expect = if cmd == Command::Truncate {
                    Expect::None
                } else {
                    Expect::Alias
                };
                if next_kind == Some(TokenKind::LParen) {
                    pending = Some(Kind::Ignore);
                }
                if cmd == Command::Insert && next_kind == Some(TokenKind::LParen) {
                    pending = Some(Kind::InsertCols);
                }
                if cmd == Command::Copy && next_kind == Some(TokenKind::LParen) {
                    pending = Some(Kind::Ignore);
                }
                i = j;
                continue;
            }
            if f.expect == Expect::Alias {
                f.expect = Expect::None;
                if single {
                    if let Some(r) = f.rels.last_mut() {
                        r.alias = Some(parts.at);
                    }
                    if next_kind == Some(TokenKind::LParen) {
                        pending = Some(Kind::Ignore);
                    }
                    i = j;
                    continue;
                }
            }
            if next_kind == Some(TokenKind::LParen) {
                self.call(parts, j, ev, &mut pending);
                i = j;
                continue;
            }
            if star
                || next_kind == Some(TokenKind::String)
                || (i > from && self.kind(i - 1) == Some(TokenKind::Dot))
            {
                // `t.*`, a typed literal (`date '2020-01-01'`), or a field of a composite
                // value (`(r).f`, `(t.c).f`: the column is `c`).
                i = j;
                continue;
            }
            // A column?
            match f.kind {
                Kind::InsertCols | Kind::SetCols => {
                    let command = if f.kind == Kind::InsertCols {
                        Command::Insert
                    } else {
                        Command::Update
                    };
                    // `SET (c.f, ..)`: the column `c` (the first part is always one).
                    if single || command == Command::Update {
                        self.column_of_target(&stack, depth - 2, parts.at, command, i, ev);
                    }
                    i = j;
                    continue;
                }
                Kind::UsingCols => {
                    if single {
                        // A column of both sides of the join: of no one relation.
                        ev.push(Event::Ref(
                            RawRef {
                                kind: RefKind::Column,
                                schema: None,
                                name: self.kept(|| self.part(parts, 0).into_owned()),
                                relation: None,
                                command: Some(Command::Select),
                                arity: None,
                            },
                            i,
                        ));
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            if let Some(q) = query_frame(&stack) {
                let qual = (parts.parts >= 2).then(|| parts.at + 2 * (parts.parts - 2));
                let name = parts.last_at();
                let qf = &stack[q];
                // `array_agg(x ORDER BY y)`: `y` is no column (nor anything after it).
                let ordering = stack[q + 1..].iter().any(|f| f.order_by);
                match qf.clause {
                    Clause::Set if qf.set_lhs && q == depth - 1 => {
                        // `SET c = ..`, `SET c.field = ..`, `SET c[1] = ..`: the column
                        // is the first part (PostgreSQL takes no table qualifier there).
                        self.column_of_target(&stack, q, parts.at, Command::Update, i, ev);
                        stack[q].set_lhs = false;
                    }
                    _ if ordering => {}
                    Clause::SelectList | Clause::Returning if self.bare_alias(i, from) => {}
                    Clause::SelectList | Clause::Where | Clause::Returning
                        if qual.is_some()
                            || !self.body
                            || !self.is_declared(&self.name_cow(name)) =>
                    {
                        stack[q].cols.push(Col {
                            qual,
                            name,
                            command: Command::Select,
                            at: i,
                        });
                    }
                    _ => {}
                }
            }
            i = j;
        }
        while let Some(f) = stack.pop() {
            self.close(f, &stack, ev);
        }
        FRAMES.set(stack);
    }

    /// In a select list, a name right after an expression is its alias without `AS`
    /// (`count(*) n`, `x total`).
    fn bare_alias(&self, i: usize, from: usize) -> bool {
        if i <= from {
            return false;
        }
        let p = self.toks[i - 1];
        match p.kind {
            TokenKind::RParen
            | TokenKind::RBracket
            | TokenKind::Number
            | TokenKind::String
            | TokenKind::DollarString
            | TokenKind::QuotedIdent => true,
            TokenKind::Ident => match Word::new(p.text(self.src)) {
                // No word of the lists is longer or not ASCII.
                None => true,
                Some(w) => {
                    !(word_flags(&w) & EXPR != 0
                        || matches!(
                            &*w,
                            b"select"
                                | b"perform"
                                | b"returning"
                                | b"where"
                                | b"from"
                                | b"by"
                                | b"on"
                        ))
                }
            },
            _ => false,
        }
    }

    /// A column written through the DML target of frame `q` (`INSERT (a)`, `SET a =`).
    fn column_of_target(
        &self,
        stack: &[Frame],
        q: usize,
        name: usize,
        command: Command,
        at: usize,
        ev: &mut Vec<Event>,
    ) {
        let Some(f) = stack.get(q) else { return };
        let Some(rel) = f.target.and_then(|t| f.rels.get(t)) else {
            return;
        };
        let Some(written) = rel.written else { return };
        ev.push(Event::Ref(
            RawRef {
                kind: RefKind::Column,
                schema: None,
                name: self.kept(|| self.name_at(name)),
                relation: Some(self.kept(|| self.written(written))),
                command: Some(command),
                arity: None,
            },
            at,
        ));
    }

    /// `name [(cols)] AS [NOT] [MATERIALIZED] (`: registers the CTE name and returns the
    /// index of the body's `(`.
    fn cte_header(&self, mut i: usize, to: usize, ctes: &mut Vec<usize>) -> Option<usize> {
        if self.is_kw(i, "recursive") {
            i += 1;
        }
        if !self.is_name(i) {
            return None;
        }
        let name = i;
        let mut j = i + 1;
        if self.kind(j) == Some(TokenKind::LParen) {
            j = self.close_of(j) + 1;
        }
        if !self.is_kw(j, "as") {
            return None;
        }
        j += 1;
        if self.is_kw(j, "not") {
            j += 1;
        }
        if self.is_kw(j, "materialized") {
            j += 1;
        }
        (j < to && self.kind(j) == Some(TokenKind::LParen)).then(|| {
            ctes.push(name);
            j
        })
    }
}

thread_local! {
    /// [`Scanner::query`]'s frame stack, kept empty between statements.
    static FRAMES: std::cell::Cell<Vec<Frame>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The frame whose clause a name is in: the innermost query frame, through calls and
/// plain parentheses.
fn query_frame(stack: &[Frame]) -> Option<usize> {
    for (k, f) in stack.iter().enumerate().rev() {
        if f.cmd.is_some() {
            return Some(k);
        }
        if f.kind == Kind::Ignore || f.kind == Kind::InsertCols {
            return None;
        }
    }
    None
}

/// `'app.seq'`, `'"App".seq'`: schema and name as PostgreSQL reads a regclass string.
pub fn split_qualified(s: &str) -> (Option<String>, String) {
    let mut parts = crate::object::split_dotted(s.trim(), true);
    let name = parts.pop().unwrap_or_default();
    (parts.pop(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_are_sorted_for_binary_search() {
        for list in [ALIAS_STOP, EXPR_WORDS, SKIP_HEADS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
    }

    /// `call`'s fast path takes a built-in function by its word flag for one the reader
    /// takes nothing from: that needs no built-in to be pgTAP's, a role helper of
    /// supabase-test-helpers or one of pgTAP's internal names, and the flags to agree
    /// with the lists they come from.
    #[test]
    fn word_flags_agree_with_the_lists_calls_are_read_by() {
        use super::super::builtins::{functions, types};
        for name in functions() {
            assert!(
                pgtap_function(name).is_none(),
                "{name} is pgTAP's and built in"
            );
            assert!(
                !matches!(
                    *name,
                    "authenticate_as" | "authenticate_as_service_role" | "clear_authentication"
                ),
                "{name}"
            );
            // A name with capitals (`RI_FKey_cascade_del`) is never matched by a
            // folded identifier, by the table or by `is_builtin_function`.
            if let Some(w) = Word::new(name.as_bytes()).filter(|w| **w == *name.as_bytes()) {
                assert!(word_flags(&w) & BUILTIN_FUNCTION != 0, "{name}");
                assert!(is_builtin_function(name));
            }
        }
        for name in types() {
            if let Some(w) = Word::new(name.as_bytes()).filter(|w| **w == *name.as_bytes()) {
                assert!(word_flags(&w) & BUILTIN_TYPE != 0, "{name}");
            }
        }
        for f in crate::catalog::FUNCTIONS {
            let Some(w) = Word::new(f.name.as_bytes()) else {
                continue;
            };
            let flags = word_flags(&w);
            assert_eq!(flags & BUILTIN_FUNCTION, 0, "{}", f.name);
            if flags & PGTAP_PLAIN != 0 {
                assert!(pgtap_function(f.name).is_some_and(|f| !runs_sql(f)));
            }
            if flags & PGTAP_SQL != 0 {
                assert!(pgtap_function(f.name).is_some_and(runs_sql));
            }
            // `call` looks a name the table holds up only when it has a pgTAP flag.
            if *w == *f.name.as_bytes() {
                assert!(flags & (PGTAP_PLAIN | PGTAP_SQL) != 0, "{}", f.name);
            }
        }
        for name in ["nextval", "currval", "setval", "set_config"] {
            let w = Word::new(name.as_bytes()).unwrap();
            assert!(word_flags(&w) & SPECIAL != 0, "{name}");
        }
    }

    /// A counting scanner reads the same references at the same tokens as a full one,
    /// with no strings made for them (a sequence's name comes from its string).
    #[test]
    fn counting_scanner_reads_the_same_references_without_their_strings() {
        let src: &[u8] = b"select a.b, c from app.t x join u using (k) where x.d = 1;\n\
            insert into app.t (a, b) select f(1, 2), nextval('app.s'), '1'::app.ty from v;\n\
            update w set e = 1, (f, g) = (2, 3) returning e;\n\
            select results_eq('select 1', 'values (1)'); delete from app.t where z > 0;";
        let mut toks = Vec::new();
        crate::lexer::tokenize_range(src, 0..src.len(), 1, 1, &mut toks, &mut Vec::new());
        let opts = ExtractOptions::default();
        let events = |counting: bool| {
            let scanner = Scanner {
                src,
                toks: &toks,
                opts: &opts,
                body: false,
                top: true,
                declared: &[],
                counting,
            };
            let mut ev = Vec::new();
            for st in scanner.statements().into_iter().filter(|s| !s.trivial) {
                scanner.read(st.start, st.end, &mut ev);
            }
            ev
        };
        let strip = |ev: &[Event]| -> Vec<Event> {
            ev.iter()
                .cloned()
                .map(|e| match e {
                    Event::Ref(r, at) if r.kind != RefKind::Sequence => Event::Ref(
                        RawRef {
                            schema: None,
                            name: String::new(),
                            relation: r.relation.map(|_| String::new()),
                            arity: None,
                            ..r
                        },
                        at,
                    ),
                    e => e,
                })
                .collect()
        };
        let (full, counted) = (events(false), events(true));
        let refs = |ev: &[Event]| ev.iter().filter(|e| matches!(e, Event::Ref(..))).count();
        assert!(refs(&full) >= 12, "{full:?}");
        assert!(full
            .iter()
            .any(|e| matches!(e, Event::Ref(r, _) if r.kind == RefKind::Sequence)));
        assert_eq!(strip(&counted), strip(&full));
        // Relations, functions and types: no string made (a column's name read in a
        // query is made to be resolved, then moved into its reference).
        for e in &counted {
            if let Event::Ref(r, _) = e {
                if matches!(
                    r.kind,
                    RefKind::Relation | RefKind::Function | RefKind::Type
                ) {
                    assert!(r.name.is_empty() && r.schema.is_none() && r.arity.is_none());
                }
                assert!(r.relation.as_ref().is_none_or(String::is_empty));
            }
        }
    }

    #[test]
    fn qualified_strings_split_as_regclass_does() {
        assert_eq!(
            split_qualified("App.Seq"),
            (Some("app".into()), "seq".into())
        );
        assert_eq!(
            split_qualified("\"My.Schema\".\"S\"\"q\""),
            (Some("My.Schema".into()), "S\"q".into())
        );
        assert_eq!(split_qualified("s"), (None, "s".into()));
    }
}
