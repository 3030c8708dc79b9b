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

use crate::catalog;
use crate::config::ExtractOptions;
use std::borrow::Cow;

use crate::lexer::{ident_value, string_value, StringFlavor, Token, TokenKind};
use crate::model::{Command, RefKind};

use super::builtins::{is_builtin_function, is_builtin_type};
use super::words::{Table, Word};

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

#[derive(Debug, Clone)]
struct Rel {
    /// As written: `app.users` or `users`; `None` for a CTE, a sub-query, a function.
    written: Option<String>,
    name: String,
    alias: Option<String>,
}

#[derive(Debug, Clone)]
struct Col {
    qual: Option<String>,
    name: String,
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

/// Words that end a FROM item: never an alias.
const ALIAS_STOP: &[&str] = &[
    "and",
    "cascade",
    "continue",
    "cross",
    "default",
    "do",
    "else",
    "end",
    "except",
    "fetch",
    "for",
    "from",
    "full",
    "group",
    "having",
    "in",
    "inner",
    "intersect",
    "into",
    "is",
    "join",
    "lateral",
    "left",
    "limit",
    "loop",
    "natural",
    "not",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "overriding",
    "restart",
    "restrict",
    "returning",
    "right",
    "select",
    "set",
    "tablesample",
    "then",
    "to",
    "union",
    "using",
    "values",
    "when",
    "where",
    "window",
    "with",
];

/// Words of expressions: never a column, and `word (` is no function call.
const EXPR_WORDS: &[&str] = &[
    "all",
    "and",
    "any",
    "array",
    "asc",
    "at",
    "between",
    "both",
    "by",
    "case",
    "cast",
    "century",
    "coalesce",
    "collate",
    "cube",
    "current",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "day",
    "decade",
    "default",
    "desc",
    "distinct",
    "dow",
    "doy",
    "else",
    "end",
    "epoch",
    "escape",
    "exists",
    "extract",
    "false",
    "filter",
    "first",
    "following",
    "greatest",
    "grouping",
    "hour",
    "ilike",
    "in",
    "interval",
    "is",
    "isnull",
    "isodow",
    "isoyear",
    "julian",
    "last",
    "leading",
    "least",
    "like",
    "localtime",
    "localtimestamp",
    "matched",
    "microseconds",
    "millennium",
    "milliseconds",
    "minute",
    "month",
    "new",
    "next",
    "not",
    "notnull",
    "null",
    "nullif",
    "nulls",
    "of",
    "old",
    "or",
    "over",
    "overlay",
    "partition",
    "position",
    "preceding",
    "quarter",
    "query",
    "range",
    "return",
    "rollup",
    "row",
    "rows",
    "second",
    "session_user",
    "sets",
    "similar",
    "some",
    "strict",
    "substring",
    "symmetric",
    "then",
    "ties",
    "time",
    "timezone_hour",
    "timezone_minute",
    "trailing",
    "treat",
    "trim",
    "true",
    "unbounded",
    "unknown",
    "user",
    "week",
    "when",
    "within",
    "xmlelement",
    "xmlforest",
    "year",
    "zone",
];

/// Statement heads read no further (definitions are not exercised when written).
const SKIP_HEADS: &[&str] = &[
    "alter",
    "analyze",
    "assert",
    "checkpoint",
    "cluster",
    "comment",
    "create",
    "deallocate",
    "discard",
    "do",
    "drop",
    "grant",
    "listen",
    "load",
    "lock",
    "notify",
    "raise",
    "reindex",
    "release",
    "revoke",
    "savepoint",
    "security",
    "show",
    "unlisten",
    "vacuum",
];

/// The words `keyword` has an arm for: any other word goes straight to the name path.
const KEYWORD_ARMS: &[&str] = &[
    "as",
    "begin",
    "call",
    "conflict",
    "constraint",
    "copy",
    "cross",
    "declare",
    "delete",
    "do",
    "elsif",
    "except",
    "exception",
    "execute",
    "fetch",
    "for",
    "from",
    "full",
    "group",
    "having",
    "if",
    "inner",
    "insert",
    "intersect",
    "into",
    "join",
    "lateral",
    "left",
    "limit",
    "loop",
    "matched",
    "merge",
    "natural",
    "nothing",
    "offset",
    "on",
    "only",
    "order",
    "others",
    "outer",
    "perform",
    "returning",
    "right",
    "select",
    "set",
    "table",
    "truncate",
    "union",
    "update",
    "using",
    "values",
    "where",
    "window",
    "with",
];

const EXPR: u32 = 1;
const STOP: u32 = 2;
const SKIP: u32 = 4;
const ARM: u32 = 8;
/// [`VALUE_WORDS`].
const VALUE: u32 = 16;
/// [`SPECIAL_BUILTINS`].
const SPECIAL: u32 = 32;
/// A built-in function ([`is_builtin_function`]).
const BUILTIN_FUNCTION: u32 = 64;
/// A built-in type ([`is_builtin_type`]).
const BUILTIN_TYPE: u32 = 128;
/// A pgTAP function running no SQL text (`has_table`; not `results_eq`).
const PGTAP_PLAIN: u32 = 256;

/// Every word of the lists here, pgTAP's functions and PostgreSQL's built-in functions
/// and types, with their flags: one probe per identifier.
fn words() -> &'static Table {
    use std::sync::OnceLock;
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let lists = [
            (EXPR_WORDS, EXPR),
            (ALIAS_STOP, STOP),
            (SKIP_HEADS, SKIP),
            (KEYWORD_ARMS, ARM),
            (VALUE_WORDS, VALUE),
            (SPECIAL_BUILTINS, SPECIAL),
            (super::builtins::functions(), BUILTIN_FUNCTION),
            (super::builtins::types(), BUILTIN_TYPE),
        ];
        // As `pgtap_function` finds them (one function a name).
        let pgtap = catalog::FUNCTIONS
            .iter()
            .filter(|f| pgtap_function(f.name).is_some_and(|f| !runs_sql(f)))
            .map(|f| (f.name, PGTAP_PLAIN));
        Table::new(
            lists
                .into_iter()
                .flat_map(|(list, flag)| list.iter().map(move |w| (*w, flag)))
                .chain(pgtap),
        )
    })
}

fn word_flags(w: &Word) -> u32 {
    words().get(w)
}

/// Words that stand for a value in an expression and name nothing of the project's.
const VALUE_WORDS: &[&str] = &[
    "array",
    "current_date",
    "current_role",
    "current_time",
    "current_timestamp",
    "current_user",
    "false",
    "localtime",
    "localtimestamp",
    "null",
    "session_user",
    "true",
];

/// Built-in functions the reader takes something from (a sequence, a role switch): a
/// statement calling them is read in full.
const SPECIAL_BUILTINS: &[&str] = &["currval", "nextval", "set_config", "setval"];

/// A pgTAP function with an argument that is SQL text it runs (`results_eq`,
/// `throws_ok`, ...). `check_test` embeds an assertion's output, not SQL text.
fn runs_sql(f: &catalog::Function) -> bool {
    f.embeds_sql && f.name != "check_test"
}

/// pgTAP's functions by name, hashed (the catalog's binary search costs more per call).
fn pgtap_function(name: &str) -> Option<&'static catalog::Function> {
    use std::sync::OnceLock;
    static MAP: OnceLock<ahash::AHashMap<&'static str, &'static catalog::Function>> =
        OnceLock::new();
    MAP.get_or_init(|| catalog::FUNCTIONS.iter().map(|f| (f.name, f)).collect())
        .get(name)
        .copied()
}

/// A dotted name: its parts are the tokens `at`, `at + 2`, ... (dots between), read
/// into strings only when kept.
#[derive(Debug, Clone, Copy)]
struct Name {
    at: usize,
    parts: usize,
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

    fn name_at(&self, i: usize) -> String {
        self.toks
            .get(i)
            .map(|t| String::from_utf8_lossy(&ident_value(self.src, t)).into_owned())
            .unwrap_or_default()
    }

    /// [`name_at`](Self::name_at) borrowed from the source when it can be (a lower-case
    /// identifier): most names read are never kept.
    fn name_cow(&self, i: usize) -> Cow<'a, str> {
        let Some(t) = self.toks.get(i) else {
            return Cow::Borrowed("");
        };
        match ident_value(self.src, t) {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
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
    fn trivial(&self, from: usize, to: usize) -> bool {
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

    /// Reads one statement (`toks[from..to]`, without its `;`).
    pub fn statement(&self, from: usize, to: usize, ev: &mut Vec<Event>) {
        if self.trivial(from, to) {
            return;
        }
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
        let mut stack: Vec<Frame> = Vec::with_capacity(4);
        stack.push(Frame::default());
        let mut pending: Option<Kind> = None;
        let mut ctes: Vec<String> = Vec::new();
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
                                    name: String::new(),
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
                        name: String::new(),
                        alias: None,
                    });
                    f.expect = Expect::Alias;
                    self.call(parts, j, ev, &mut pending);
                    i = j;
                    continue;
                }
                let name = self.last(parts).into_owned();
                let is_cte = single && ctes.contains(&name);
                let written = if is_cte {
                    None
                } else {
                    let schema = self.schema_of(parts).map(Cow::into_owned);
                    ev.push(Event::Ref(
                        RawRef {
                            kind: RefKind::Relation,
                            schema: schema.clone(),
                            name: name.clone(),
                            relation: None,
                            command: Some(cmd),
                            arity: None,
                        },
                        i,
                    ));
                    Some(match schema {
                        Some(s) => format!("{s}.{name}"),
                        None => name.clone(),
                    })
                };
                f.rels.push(Rel {
                    written,
                    name,
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
                        r.alias = Some(self.part(parts, 0).into_owned());
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
                        let first = self.part(parts, 0);
                        self.column_of_target(&stack, depth - 2, &first, command, i, ev);
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
                                name: self.part(parts, 0).into_owned(),
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
                let (qual, name) = (self.schema_of(parts), self.last(parts));
                let qf = &stack[q];
                // `array_agg(x ORDER BY y)`: `y` is no column (nor anything after it).
                let ordering = stack[q + 1..].iter().any(|f| f.order_by);
                match qf.clause {
                    Clause::Set if qf.set_lhs && q == depth - 1 => {
                        // `SET c = ..`, `SET c.field = ..`, `SET c[1] = ..`: the column
                        // is the first part (PostgreSQL takes no table qualifier there).
                        let first = self.part(parts, 0);
                        self.column_of_target(&stack, q, &first, Command::Update, i, ev);
                        stack[q].set_lhs = false;
                    }
                    _ if ordering => {}
                    Clause::SelectList | Clause::Returning if self.bare_alias(i, from) => {}
                    Clause::SelectList | Clause::Where | Clause::Returning
                        if qual.is_some() || !self.body || !self.is_declared(&name) =>
                    {
                        stack[q].cols.push(Col {
                            qual: qual.map(Cow::into_owned),
                            name: name.into_owned(),
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
        name: &str,
        command: Command,
        at: usize,
        ev: &mut Vec<Event>,
    ) {
        let Some(f) = stack.get(q) else { return };
        let Some(rel) = f.target.and_then(|t| f.rels.get(t)) else {
            return;
        };
        let Some(written) = &rel.written else { return };
        ev.push(Event::Ref(
            RawRef {
                kind: RefKind::Column,
                schema: None,
                name: name.to_string(),
                relation: Some(written.clone()),
                command: Some(command),
                arity: None,
            },
            at,
        ));
    }

    /// `name [(cols)] AS [NOT] [MATERIALIZED] (`: registers the CTE name and returns the
    /// index of the body's `(`.
    fn cte_header(&self, mut i: usize, to: usize, ctes: &mut Vec<String>) -> Option<usize> {
        if self.is_kw(i, "recursive") {
            i += 1;
        }
        if !self.is_name(i) {
            return None;
        }
        let name = self.name_at(i);
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

    /// After `::` or `CAST(x AS`: a type name; a reference when it is not built in.
    fn type_name(
        &self,
        i: usize,
        to: usize,
        ev: &mut Vec<Event>,
        pending: &mut Option<Kind>,
    ) -> usize {
        if i >= to || !self.is_name(i) {
            return i;
        }
        let (parts, j, _) = self.read_name(i);
        let name = self.last(parts);
        let schema = self.schema_of(parts);
        let builtin = match &schema {
            None => is_builtin_type(&name) || self.is_multiword_type(i, &name),
            Some(s) => s == "pg_catalog",
        };
        if !builtin {
            ev.push(Event::Ref(
                RawRef {
                    kind: RefKind::Type,
                    schema: schema.map(Cow::into_owned),
                    name: name.into_owned(),
                    relation: None,
                    command: None,
                    arity: None,
                },
                i,
            ));
        }
        if self.kind(j) == Some(TokenKind::LParen) {
            *pending = Some(Kind::Ignore);
        }
        j
    }

    fn is_multiword_type(&self, _i: usize, name: &str) -> bool {
        matches!(name, "double" | "character" | "national" | "bit")
    }

    /// A call `parts(`: a function reference unless pgTAP's or built in; role helpers,
    /// `set_config('role', ..)`, sequences and SQL text given to pgTAP are events.
    fn call(&self, parts: Name, open: usize, ev: &mut Vec<Event>, pending: &mut Option<Kind>) {
        *pending = Some(Kind::Call);
        let name = self.last(parts);
        let name = &*name;
        let schema = self.schema_of(parts);
        if let Some(role) = self.role_helper(schema.as_deref(), name, open) {
            ev.push(Event::Role {
                role,
                local: true,
                helper: true,
            });
            return;
        }
        if let Some(f) = pgtap_function(name) {
            if runs_sql(f) {
                let args = self.args_of(open);
                let n_sql = if f.name.starts_with("results_")
                    || f.name.starts_with("set_")
                    || f.name.starts_with("bag_")
                {
                    2
                } else {
                    1
                };
                for &(a, b) in args.iter().take(n_sql) {
                    let lone = b == a + 1;
                    let t = self.toks[a];
                    let sql_string = matches!(t.kind, TokenKind::DollarString)
                        || (t.kind == TokenKind::String
                            && matches!(t.flavor, StringFlavor::Standard | StringFlavor::Escape));
                    if lone && sql_string {
                        ev.push(Event::SqlText(a));
                    }
                }
            }
            return;
        }
        if name.starts_with('_')
            && PGTAP_INTERNAL.binary_search(&name).is_ok()
            && schema.as_deref().is_none_or(|s| {
                self.opts
                    .pgtap_schemas
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(s))
            })
        {
            return;
        }
        let builtin = match &schema {
            None => is_builtin_function(name),
            Some(s) => s == "pg_catalog",
        };
        if builtin {
            if schema.is_none() {
                self.builtin_call(name, open, ev);
            }
            return;
        }
        let arity = self.args_of(open).len() as u32;
        ev.push(Event::Ref(
            RawRef {
                kind: RefKind::Function,
                schema: schema.map(Cow::into_owned),
                name: name.to_string(),
                relation: None,
                command: None,
                arity: Some(arity),
            },
            open - 1,
        ));
    }

    /// `nextval('s')`, `set_config('role', 'r', true)`.
    fn builtin_call(&self, name: &str, open: usize, ev: &mut Vec<Event>) {
        match name {
            "nextval" | "currval" | "setval" => {
                let args = self.args_of(open);
                let Some(seq) = args.first().and_then(|&a| self.literal(a)) else {
                    return;
                };
                let (schema, name) = split_qualified(&seq);
                if name.is_empty() {
                    return;
                }
                ev.push(Event::Ref(
                    RawRef {
                        kind: RefKind::Sequence,
                        schema,
                        name,
                        relation: None,
                        command: None,
                        arity: None,
                    },
                    open + 1,
                ));
            }
            "set_config" => {
                let args = self.args_of(open);
                if args.len() != 3 {
                    return;
                }
                if !self
                    .literal(args[0])
                    .is_some_and(|s| s.eq_ignore_ascii_case("role"))
                {
                    return;
                }
                let Some(role) = self.literal(args[1]) else {
                    return;
                };
                let local = args[2].1 == args[2].0 + 1
                    && (self.is_kw(args[2].0, "true")
                        || self
                            .literal(args[2])
                            .is_some_and(|s| s.starts_with(['t', 'T'])));
                let role = (!role.eq_ignore_ascii_case("none") && !role.is_empty()).then_some(role);
                ev.push(Event::Role {
                    role,
                    local,
                    helper: false,
                });
            }
            _ => {}
        }
    }

    /// A role helper call: supabase-test-helpers' or a declared one.
    /// `Some(role)`: it switches to `role` (`None`: back to the session's).
    #[allow(clippy::option_option)]
    fn role_helper(&self, schema: Option<&str>, name: &str, open: usize) -> Option<Option<String>> {
        for h in &self.opts.role_helpers {
            if !h.bare_name().eq_ignore_ascii_case(name) {
                continue;
            }
            if let Some(s) = h.schema() {
                if !schema.is_some_and(|q| q.eq_ignore_ascii_case(s)) {
                    continue;
                }
            }
            if let Some(r) = &h.role {
                return Some(Some(r.clone()));
            }
            let n = h.arg.unwrap_or(1).max(1) as usize;
            let args = self.args_of(open);
            return Some(args.get(n - 1).and_then(|&a| self.literal(a)));
        }
        match name {
            "authenticate_as" => Some(Some("authenticated".into())),
            "authenticate_as_service_role" => Some(Some("service_role".into())),
            "clear_authentication" => Some(Some("anon".into())),
            _ => None,
        }
    }

    /// Keywords: `Some(next index)` when `w` was one (and is consumed).
    #[allow(clippy::too_many_arguments)]
    fn keyword(
        &self,
        w: &Word,
        flags: u32,
        i: usize,
        from: usize,
        to: usize,
        stack: &mut [Frame],
        pending: &mut Option<Kind>,
        ctes: &mut Vec<String>,
        ev: &mut Vec<Event>,
    ) -> Option<usize> {
        if flags & (EXPR | STOP | SKIP | ARM) == 0 {
            if let Some(f) = stack.last_mut() {
                if f.expect == Expect::Alias && f.cmd.is_none() {
                    f.expect = Expect::None;
                }
            }
            return None;
        }
        let prev = (i > from).then(|| self.lower(i - 1)).flatten();
        let prev_is = |p: &[u8]| prev.as_deref() == Some(p);
        let prev_kind = (i > from).then(|| self.toks[i - 1].kind);
        let next_paren = self.kind(i + 1) == Some(TokenKind::LParen) && i + 1 < to;
        let f = stack.last_mut()?;
        if f.expect == Expect::Alias && flags & STOP != 0 {
            f.expect = Expect::None;
        }
        let in_query = f.cmd.is_some();
        match &**w {
            b"select" | b"perform" => {
                if !matches!(f.cmd, Some(Command::Insert | Command::Merge)) {
                    f.cmd = Some(Command::Select);
                }
                f.clause = Clause::SelectList;
                f.expect = Expect::None;
                f.in_with = false;
            }
            b"union" | b"except" | b"intersect" => {
                let cols = std::mem::take(&mut f.cols);
                let rels = std::mem::take(&mut f.rels);
                let flushed = Frame {
                    cols,
                    rels,
                    cmd: f.cmd,
                    ..Frame::default()
                };
                f.clause = Clause::None;
                f.target = None;
                // Resolve the branch on its own relations.
                let (_, outer) = stack.split_at(stack.len() - 1);
                self.close(flushed, outer, ev);
            }
            b"from" => {
                // `a IS [NOT] DISTINCT FROM b` is no FROM clause.
                if !in_query || prev_is(b"distinct") {
                    return Some(i + 1);
                }
                match f.cmd {
                    Some(Command::Delete) if f.rels.is_empty() => {
                        f.expect = Expect::Rel(Command::Delete);
                    }
                    Some(Command::Copy) => f.clause = Clause::Other,
                    _ => {
                        f.clause = Clause::From;
                        f.expect = Expect::Rel(Command::Select);
                    }
                }
            }
            b"join" => {
                if in_query {
                    f.clause = Clause::From;
                    f.expect = Expect::Rel(Command::Select);
                }
            }
            b"lateral" | b"only" => {}
            b"natural" | b"left" | b"right" | b"full" | b"inner" | b"outer" | b"cross" => {}
            b"where" => {
                if in_query {
                    f.clause = Clause::Where;
                    f.expect = Expect::None;
                }
            }
            b"on" => {
                if in_query {
                    // `JOIN .. ON cond`, `MERGE .. USING s ON cond`: read like WHERE
                    // (not `ON CONFLICT`, `DISTINCT ON (..)`).
                    f.clause = if f.clause == Clause::From && !self.is_kw(i + 1, "conflict") {
                        Clause::Where
                    } else {
                        Clause::Other
                    };
                    f.expect = Expect::None;
                }
            }
            b"using" => {
                if matches!(f.cmd, Some(Command::Delete | Command::Merge)) && !next_paren {
                    f.clause = Clause::From;
                    f.expect = Expect::Rel(Command::Select);
                } else {
                    if next_paren {
                        // `JOIN u USING (a, b)`: columns; anything else (`USING (expr)`
                        // of other statements) is not read.
                        *pending = Some(if f.clause == Clause::From && in_query {
                            Kind::UsingCols
                        } else {
                            Kind::Ignore
                        });
                    }
                    f.clause = Clause::Other;
                }
            }
            b"having" => {
                if in_query {
                    f.clause = Clause::Where;
                    f.expect = Expect::None;
                }
            }
            b"group" if prev_is(b"within") => {
                // `WITHIN GROUP (ORDER BY ..)`: the parentheses hold an ordering.
            }
            b"order" if !in_query => {
                if matches!(f.kind, Kind::Call | Kind::Paren) {
                    f.order_by = true;
                }
            }
            b"group" | b"order" | b"window" | b"limit" | b"offset" | b"fetch" => {
                if in_query {
                    f.clause = Clause::Other;
                    f.expect = Expect::None;
                }
            }
            b"for" => {
                if in_query {
                    f.clause = Clause::Other;
                    f.expect = Expect::None;
                }
            }
            b"returning" => {
                if in_query {
                    f.clause = Clause::Returning;
                    f.expect = Expect::None;
                }
            }
            b"into" => match f.cmd {
                Some(Command::Insert) if f.rels.is_empty() => {
                    f.expect = Expect::Rel(Command::Insert);
                }
                Some(Command::Merge) if f.rels.is_empty() => {
                    f.expect = Expect::Rel(Command::Merge);
                }
                Some(_) => {
                    // SELECT .. INTO variables (PL/pgSQL): not columns.
                    f.clause = Clause::Other;
                    f.expect = Expect::None;
                }
                None => {}
            },
            b"insert" => {
                if prev_is(b"then") {
                    f.merge_insert = true;
                    f.clause = Clause::Other;
                    if next_paren {
                        *pending = Some(Kind::InsertCols);
                    }
                } else {
                    f.cmd = Some(Command::Insert);
                    f.clause = Clause::None;
                    f.in_with = false;
                }
            }
            b"update" => match prev.as_deref() {
                Some(b"for" | b"key" | b"no" | b"share") => {}
                Some(b"do" | b"then") => {
                    f.clause = Clause::Set;
                }
                _ => {
                    if prev_is(b"before") || prev_is(b"after") {
                        return Some(i + 1);
                    }
                    f.cmd = Some(Command::Update);
                    f.clause = Clause::None;
                    f.expect = Expect::Rel(Command::Update);
                    f.in_with = false;
                }
            },
            b"delete" => {
                if !prev_is(b"then") {
                    f.cmd = Some(Command::Delete);
                    f.clause = Clause::None;
                    f.in_with = false;
                }
            }
            b"merge" => {
                f.cmd = Some(Command::Merge);
                f.clause = Clause::None;
                f.in_with = false;
            }
            b"set" => {
                if matches!(
                    f.cmd,
                    Some(Command::Update | Command::Insert | Command::Merge)
                ) {
                    f.clause = Clause::Set;
                    f.set_lhs = true;
                    f.expect = Expect::None;
                }
            }
            b"values" => {
                if f.cmd.is_none() {
                    f.cmd = Some(Command::Select);
                }
                f.clause = Clause::Other;
                f.expect = Expect::None;
            }
            b"table" => {
                let starts = i == from
                    || prev_kind == Some(TokenKind::LParen)
                    || matches!(
                        prev.as_deref(),
                        Some(b"union" | b"except" | b"intersect" | b"all" | b"distinct")
                    );
                if starts {
                    f.cmd = Some(Command::Select);
                    f.clause = Clause::From;
                    f.expect = Expect::Rel(Command::Select);
                }
            }
            b"truncate" => {
                f.cmd = Some(Command::Truncate);
                f.clause = Clause::Other;
                f.expect = Expect::Rel(Command::Truncate);
            }
            b"copy" => {
                if !next_paren {
                    f.cmd = Some(Command::Copy);
                    f.clause = Clause::Other;
                    f.expect = Expect::Rel(Command::Copy);
                }
            }
            b"with" => {
                let cte = self.is_kw(i + 1, "recursive")
                    || (self.is_name(i + 1)
                        && !self.is_kw(i + 1, "ordinality")
                        && !self.is_kw(i + 1, "time")
                        && !self.is_kw(i + 1, "check")
                        && !self.is_kw(i + 1, "local")
                        && !self.is_kw(i + 1, "cascaded")
                        && !self.is_kw(i + 1, "no")
                        && !self.is_kw(i + 1, "hold"));
                if cte {
                    if let Some(open) = self.cte_header(i + 1, to, ctes) {
                        f.in_with = true;
                        f.clause = Clause::None;
                        *pending = Some(Kind::Paren);
                        return Some(open);
                    }
                }
            }
            b"as" => {
                if f.expect == Expect::Alias {
                    return Some(i + 1);
                }
                if f.kind == Kind::Call || (f.kind == Kind::Paren && !in_query) {
                    // CAST(x AS type)
                    return Some(self.type_name(i + 1, to, ev, pending));
                }
                // A select-list alias: skip it.
                if self.is_name(i + 1) {
                    return Some(i + 2);
                }
            }
            b"execute" => {
                if i == from && !self.body && self.is_name(i + 1) {
                    ev.push(Event::PreparedUse(self.name_at(i + 1), i + 1));
                    return Some(i + 2);
                }
            }
            b"call" | b"do" | b"conflict" | b"constraint" | b"matched" | b"nothing" | b"begin"
            | b"declare" | b"loop" | b"if" | b"elsif" | b"exception" | b"others" => {
                if &**w == b"constraint" && self.is_name(i + 1) {
                    return Some(i + 2);
                }
                if &**w == b"conflict" && next_paren {
                    *pending = Some(Kind::Ignore);
                }
            }
            _ if flags & EXPR != 0 => {
                if next_paren {
                    *pending = Some(Kind::Paren);
                }
            }
            _ => {
                if f.expect == Expect::Alias && !in_query {
                    f.expect = Expect::None;
                }
                return None;
            }
        }
        Some(i + 1)
    }

    /// A frame ends: its columns resolve against its relations (or an enclosing frame's
    /// for a qualifier).
    fn close(&self, f: Frame, outer: &[Frame], ev: &mut Vec<Event>) {
        for c in f.cols {
            let rel = match &c.qual {
                Some(q) => f
                    .rels
                    .iter()
                    .chain(outer.iter().rev().flat_map(|o| o.rels.iter()))
                    .find(|r| match &r.alias {
                        Some(a) => a == q,
                        None => &r.name == q,
                    })
                    .map(|r| r.written.clone()),
                None => match f.rels.as_slice() {
                    [one] => Some(one.written.clone()),
                    [] => None,
                    many if many.iter().all(|r| r.written.is_some()) && !self.body => Some(None),
                    _ => None,
                },
            };
            // `Some(None)`: a column of one of several relations; `Some(Some(r))`: of r.
            let Some(relation) = rel else { continue };
            if c.qual.is_some() && relation.is_none() {
                continue; // of a CTE or a sub-query
            }
            if c.qual.is_none() && f.rels.len() == 1 && relation.is_none() {
                continue;
            }
            ev.push(Event::Ref(
                RawRef {
                    kind: RefKind::Column,
                    schema: None,
                    name: c.name,
                    relation,
                    command: Some(c.command),
                    arity: None,
                },
                c.at,
            ));
        }
    }
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

/// Variables PL/pgSQL declares itself: `FOUND`, the exception handler's and the trigger
/// function's.
const IMPLICIT_VARIABLES: &[&str] = &[
    "found",
    "sqlerrm",
    "sqlstate",
    "tg_argv",
    "tg_event",
    "tg_level",
    "tg_name",
    "tg_nargs",
    "tg_op",
    "tg_relid",
    "tg_relname",
    "tg_table_name",
    "tg_table_schema",
    "tg_tag",
    "tg_when",
];

/// The names a body declares itself, added to `out`: its `DECLARE` sections, `FOR` and
/// `FOREACH` loop variables, `INTO` targets (a variable, or the body would not run) and
/// PL/pgSQL's implicit variables. (The routine's parameters come from its header:
/// [`Event::Routine`].)
pub fn declared_names(src: &[u8], toks: &[Token], out: &mut Vec<String>) {
    let kw = |k: usize, w: &str| toks.get(k).is_some_and(|t| t.is_keyword(src, w));
    let name = |k: usize| {
        toks.get(k)
            .filter(|t| matches!(t.kind, TokenKind::Ident | TokenKind::QuotedIdent))
            .map(|t| String::from_utf8_lossy(&ident_value(src, t)).into_owned())
    };
    out.extend(IMPLICIT_VARIABLES.iter().map(|s| s.to_string()));
    // In a DECLARE section, at the start of a declaration.
    let mut decl = false;
    let mut decl_start = false;
    for (k, t) in toks.iter().enumerate() {
        if decl_start {
            decl_start = false;
            if kw(k, "begin") {
                decl = false;
            } else if let Some(n) = name(k) {
                out.push(n);
                continue;
            }
        }
        match t.kind {
            TokenKind::Semicolon => decl_start = decl,
            TokenKind::Ident => {
                let w = t.text(src);
                if w.eq_ignore_ascii_case(b"declare") {
                    decl = true;
                    decl_start = true;
                } else if w.eq_ignore_ascii_case(b"for") || w.eq_ignore_ascii_case(b"foreach") {
                    // `FOR a, b IN`, `FOREACH x [SLICE n] IN ARRAY`.
                    let mut j = k + 1;
                    let mut names = Vec::new();
                    while let Some(n) = name(j) {
                        names.push(n);
                        if toks.get(j + 1).map(|t| t.kind) == Some(TokenKind::Comma) {
                            j += 2;
                        } else {
                            j += 1;
                            break;
                        }
                    }
                    if !names.is_empty() && (kw(j, "in") || kw(j, "slice")) {
                        out.extend(names);
                    }
                } else if w.eq_ignore_ascii_case(b"into")
                    && !(k > 0 && (kw(k - 1, "insert") || kw(k - 1, "merge")))
                {
                    // `SELECT .. INTO [STRICT] a, b`, `RETURNING id INTO v`, `FETCH c
                    // INTO r`: the first part of each target (`r.f` is a field of `r`).
                    let mut j = k + 1;
                    if kw(j, "strict") {
                        j += 1;
                    }
                    while let Some(n) = name(j) {
                        out.push(n);
                        j += 1;
                        while toks.get(j).map(|t| t.kind) == Some(TokenKind::Dot) {
                            j += 2;
                        }
                        if toks.get(j).map(|t| t.kind) != Some(TokenKind::Comma) {
                            break;
                        }
                        j += 1;
                    }
                }
            }
            _ => {}
        }
    }
}

/// pgTAP's own functions outside its public API (the catalog): created by its install
/// scripts with a leading `_` (`_set`, `_get`, `_todo`, ...), called by pgTAP's own test
/// suite. Never a project's function when unqualified or qualified with a schema pgTAP
/// may be installed in. From `pgtap--*.sql` of pgTAP 0.91 to 1.2 (kept with a test).
pub const PGTAP_INTERNAL: &[&str] = &[
    "_add",
    "_agg",
    "_alike",
    "_ancestor_of",
    "_are",
    "_areni",
    "_array_to_sorted_string",
    "_assets_are",
    "_cast_exists",
    "_cdi",
    "_cexists",
    "_ckeys",
    "_cleanup",
    "_cmp_types",
    "_col_is_null",
    "_constraint",
    "_contract_on",
    "_currtest",
    "_db_privs",
    "_def_is",
    "_definer",
    "_dexists",
    "_do_ne",
    "_docomp",
    "_error_diag",
    "_expand_context",
    "_expand_on",
    "_expand_vol",
    "_ext_exists",
    "_extensions",
    "_extras",
    "_finish",
    "_fix_enum_has_labels",
    "_fkexists",
    "_fprivs_are",
    "_func_compare",
    "_funkargs",
    "_get",
    "_get_ac_privs",
    "_get_col_ns_type",
    "_get_col_privs",
    "_get_col_type",
    "_get_context",
    "_get_db_owner",
    "_get_db_privs",
    "_get_dtype",
    "_get_fdw_privs",
    "_get_func_owner",
    "_get_func_privs",
    "_get_index_owner",
    "_get_lang_privs",
    "_get_language_owner",
    "_get_latest",
    "_get_note",
    "_get_opclass_owner",
    "_get_rel_owner",
    "_get_schema_owner",
    "_get_schema_privs",
    "_get_sequence_privs",
    "_get_server_privs",
    "_get_table_privs",
    "_get_tablespace_owner",
    "_get_tablespaceprivs",
    "_get_type_owner",
    "_got_func",
    "_grolist",
    "_has_def",
    "_has_group",
    "_has_role",
    "_has_type",
    "_has_user",
    "_hasc",
    "_have_index",
    "_ident_array_to_sorted_string",
    "_ident_array_to_string",
    "_ikeys",
    "_inherited",
    "_is_indexed",
    "_is_instead",
    "_is_schema",
    "_is_super",
    "_is_trusted",
    "_is_verbose",
    "_keys",
    "_lang",
    "_missing",
    "_nosuch",
    "_op_exists",
    "_opc_exists",
    "_partof",
    "_parts",
    "_pg_sv_column_array",
    "_pg_sv_table_accessible",
    "_pg_sv_type_array",
    "_prokind",
    "_query",
    "_quote_ident_like",
    "_refine_vol",
    "_relcomp",
    "_relexists",
    "_relne",
    "_returns",
    "_rexists",
    "_rule_on",
    "_runem",
    "_runner",
    "_set",
    "_strict",
    "_table_privs",
    "_temptable",
    "_temptypes",
    "_time_trials",
    "_tlike",
    "_todo",
    "_trig",
    "_type_func",
    "_types_are",
    "_unalike",
    "_vol",
];

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
