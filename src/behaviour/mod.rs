//! Behavioural references (issue 14, first slice): what a test file's SQL references —
//! functions, relations with the command, columns, sequences, types — with the role in
//! effect, the assertion each serves (asserted inside its arguments, exercised by the
//! statements before it) and what that assertion expects (allowed, denied, ...).
//!
//! Fed by extraction one unit at a time (the file's top level in windows, then each
//! function or `DO` body), with the assertions extraction found in that unit; the result
//! is data on [`FileResult`]. Coverage does not use it yet.

mod builtins;
pub mod db;
pub mod resolve;
pub mod scan;
mod words;

use std::collections::HashMap;

use crate::config::ExtractOptions;
use crate::lexer::{tokenize_range, StringFlavor, Token, TokenKind};
use crate::model::{
    Assertion, Attribution, Command, Context, Created, FileResult, Outcome, RefKind, Reference,
};
use scan::{Event, RawRef, Scanner};

/// The role helpers a universe defines: functions whose body switches the role to one
/// constant (`SET [LOCAL] ROLE anon`, `set_config('role', 'anon', true)`), or to their
/// `$n` argument (`set_config('role', $1, true)`), as a suite's `tests.as_anon()` does.
/// Calls to them switch the role in test files as a declared `[[role-helper]]` would;
/// the binary adds them to the ones declared (a declared one of the same name wins).
/// A helper in a schema of `search_path` matches calls qualified or not; elsewhere, only
/// calls qualified with its schema.
pub fn role_helpers_in(
    universe: &crate::universe::Universe,
    search_path: &[String],
) -> Vec<crate::config::RoleHelperDecl> {
    let opts = ExtractOptions::default();
    let mut out = Vec::new();
    let mut toks = Vec::new();
    let mut diags = Vec::new();
    let mut events = Vec::new();
    for o in universe.objects() {
        if o.kind != crate::object::ObjectKind::Function {
            continue;
        }
        let Some(body) = universe.body_of(&o.key) else {
            continue;
        };
        code_tokens(body, &mut toks, &mut diags);
        let scanner = Scanner {
            src: body,
            toks: &toks,
            opts: &opts,
            body: true,
            top: false,
            declared: &[],
            counting: false,
        };
        let mut roles: Vec<Option<String>> = Vec::new();
        for st in scanner.statements().into_iter().filter(|s| !s.trivial) {
            events.clear();
            scanner.read(st.start, st.end, &mut events);
            roles.extend(events.drain(..).filter_map(|e| match e {
                Event::Role { role, .. } => Some(role),
                _ => None,
            }));
        }
        let (role, arg) = match roles.as_slice() {
            [Some(r)] => (Some(r.clone()), None),
            [] => match role_param(body, &toks) {
                Some(n) => (None, Some(n)),
                None => continue,
            },
            _ => continue,
        };
        let Some(schema) = o.schema.as_deref() else {
            continue;
        };
        let on_path = search_path.iter().any(|p| p.eq_ignore_ascii_case(schema));
        out.push(crate::config::RoleHelperDecl {
            name: if on_path {
                o.name.clone()
            } else {
                format!("{schema}.{}", o.name)
            },
            role,
            arg,
        });
    }
    // Overloads that disagree are no helper.
    without_clashes(out)
}

/// Helpers sorted by name, with every name that is declared differently more than once
/// dropped (the same declaration twice is kept once).
fn without_clashes(
    mut all: Vec<crate::config::RoleHelperDecl>,
) -> Vec<crate::config::RoleHelperDecl> {
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let mut keep: Vec<crate::config::RoleHelperDecl> = Vec::with_capacity(all.len());
    let mut clash = false;
    for h in all {
        match keep.last() {
            Some(prev) if prev.name == h.name => clash |= *prev != h,
            _ => {
                if clash {
                    keep.pop();
                }
                clash = false;
                keep.push(h);
            }
        }
    }
    if clash {
        keep.pop();
    }
    keep
}

/// Files larger than this (8 MiB) are not looked at for role helpers
/// ([`role_helpers_in_files`]).
pub const HELPER_FILE_MAX_BYTES: u64 = 8 << 20;

/// The role helpers the test files themselves define: a suite's `tests/helpers.sql` with
/// `CREATE FUNCTION tests.as_anon() .. set_config('role', 'anon', true)`, which the
/// migrations (and so [`role_helpers_in`]) never see. `paths` are read as migrations
/// would be, each on its own, and only those that spell a role switch (`set_config`,
/// `SET [LOCAL] ROLE`, in lower or upper case) and a function or procedure, up to
/// [`HELPER_FILE_MAX_BYTES`] each; one that cannot be read or holds no such function gives none (the scan
/// itself reports unreadable files). Overloads or files that disagree on a name give no
/// helper of that name.
pub fn role_helpers_in_files(
    paths: &[std::path::PathBuf],
    search_path: &[String],
) -> Vec<crate::config::RoleHelperDecl> {
    // Case-sensitive substrings of the usual spellings. Looked for in one pass over a
    // file by a SIMD searcher of all eight at once (aho-corasick's packed Teddy); each
    // found by memchr's `memmem` where that searcher is not available (four passes over a
    // file without the words: 1.5 instructions a byte, 2% of a scan of the 2k bench
    // tree). An automaton over all of them, case-insensitive or not, cost 8 to 12
    // instructions a byte.
    const SWITCHES: [&str; 4] = ["_config", "_CONFIG", " role", " ROLE"];
    const ROUTINES: [&str; 4] = ["unction", "UNCTION", "rocedure", "ROCEDURE"];
    let packed = aho_corasick::packed::Config::new()
        .builder()
        .extend(SWITCHES.iter().chain(&ROUTINES))
        .build();
    let finders = |words: &[&'static str]| -> Vec<memchr::memmem::Finder<'static>> {
        words
            .iter()
            .map(|w| memchr::memmem::Finder::new(w.as_bytes()))
            .collect()
    };
    let switches = finders(&SWITCHES);
    let routines = finders(&ROUTINES);
    let any = |fs: &[memchr::memmem::Finder<'_>], b: &[u8]| fs.iter().any(|f| f.find(b).is_some());
    // Whether `b` spells both a role switch and a routine.
    let both = |b: &[u8]| match &packed {
        Some(p) => {
            let (mut switch, mut routine) = (false, false);
            for m in p.find_iter(b) {
                if m.pattern().as_usize() < SWITCHES.len() {
                    switch = true;
                } else {
                    routine = true;
                }
                if switch && routine {
                    return true;
                }
            }
            false
        }
        None => any(&switches, b) && any(&routines, b),
    };
    let mut found: Vec<crate::config::RoleHelperDecl> = Vec::new();
    for path in paths {
        // A helper file is small; a huge test file is not read twice (the scan reads it
        // under the memory budget).
        if std::fs::metadata(path).map_or(true, |m| m.len() > HELPER_FILE_MAX_BYTES) {
            continue;
        }
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        if !both(&bytes) {
            continue;
        }
        let Ok((universe, _skipped)) =
            crate::universe::load_migrations(std::slice::from_ref(path), search_path)
        else {
            continue;
        };
        found.extend(role_helpers_in(&universe, search_path));
    }
    // Files that disagree about a name: no helper of that name.
    without_clashes(found)
}

/// A routine body's tokens without comments and psql meta-commands, into `toks`
/// (cleared first, like `diags`).
fn code_tokens(body: &[u8], toks: &mut Vec<Token>, diags: &mut Vec<crate::lexer::LexDiagnostic>) {
    toks.clear();
    diags.clear();
    tokenize_range(body, 0..body.len(), 1, 1, toks, diags);
    toks.retain(|t| {
        !matches!(
            t.kind,
            TokenKind::LineComment | TokenKind::BlockComment | TokenKind::PsqlMeta
        )
    });
}

/// `set_config('role', $n, ..)` in a body: the argument the role comes from.
fn role_param(src: &[u8], toks: &[Token]) -> Option<u32> {
    toks.windows(5).find_map(|w| {
        let call = w[0].kind == TokenKind::Ident
            && w[0].text(src).eq_ignore_ascii_case(b"set_config")
            && w[1].kind == TokenKind::LParen
            && w[2].kind == TokenKind::String
            && crate::lexer::string_value(src, &w[2]).eq_ignore_ascii_case(b"role")
            && w[3].kind == TokenKind::Comma
            && w[4].kind == TokenKind::Param;
        if !call {
            return None;
        }
        std::str::from_utf8(&w[4].text(src)[1..]).ok()?.parse().ok()
    })
}

/// A call in a function body: (schema as written, name, number of arguments).
pub type BodyCall = (Option<String>, String, u32);

/// The functions a routine body calls (schema as written, name, number of arguments):
/// read like the bodies of test functions, PL/pgSQL or SQL. pgTAP's and PostgreSQL's own
/// functions are left out.
pub fn body_calls(body: &[u8]) -> Vec<BodyCall> {
    let opts = ExtractOptions::default();
    let mut toks = Vec::new();
    code_tokens(body, &mut toks, &mut Vec::new());
    let mut declared = Vec::new();
    scan::declared_names(body, &toks, &mut declared);
    declared.sort_unstable();
    declared.dedup();
    let scanner = Scanner {
        src: body,
        toks: &toks,
        opts: &opts,
        body: true,
        top: false,
        declared: &declared,
        counting: false,
    };
    let mut out: Vec<BodyCall> = Vec::new();
    let mut events = Vec::new();
    for st in scanner.statements().into_iter().filter(|s| !s.trivial) {
        events.clear();
        scanner.read(st.start, st.end, &mut events);
        for ev in events.drain(..) {
            if let Event::Ref(r, _) = ev {
                if r.kind == RefKind::Function {
                    let call = (r.schema, r.name, r.arity.unwrap_or(0));
                    if !out.contains(&call) {
                        out.push(call);
                    }
                }
            }
        }
    }
    out
}

/// Code tokens after a statement's end that a counting reader copies with it
/// ([`Reader::count_top`]).
const STATEMENT_LOOKAHEAD: usize = 8;

thread_local! {
    /// A unit's code tokens (comments left out), reused from unit to unit.
    static CODE: std::cell::RefCell<Vec<Token>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The role state of a unit: the session's role, a `LOCAL` one until the transaction
/// ends, and the session role to go back to on `ROLLBACK`.
#[derive(Debug, Clone, Default)]
struct Roles {
    session: Option<String>,
    #[allow(clippy::option_option)]
    local: Option<Option<String>>,
    in_tx: bool,
    #[allow(clippy::option_option)]
    saved: Option<Option<String>>,
}

impl Roles {
    fn current(&self) -> Option<&str> {
        match &self.local {
            Some(l) => l.as_deref(),
            None => self.session.as_deref(),
        }
    }

    fn set(&mut self, role: Option<String>, local: bool, helper: bool) {
        if local || helper {
            if self.in_tx {
                self.local = Some(role);
            } else if helper {
                // A helper called outside a transaction: nothing would end it early.
                self.session = role;
            }
            // SET LOCAL outside a transaction has no effect (PostgreSQL warns).
        } else {
            self.session = role;
            self.local = None;
        }
    }

    fn begin(&mut self) {
        if !self.in_tx {
            self.in_tx = true;
            self.saved = Some(self.session.clone());
        }
    }

    fn end(&mut self, commit: bool) {
        if self.in_tx {
            if let (false, Some(s)) = (commit, self.saved.take()) {
                self.session = s;
            }
            self.in_tx = false;
            self.local = None;
            self.saved = None;
        }
    }
}

/// A prepared statement's references, with their file lines.
#[derive(Debug, Clone)]
struct Prepared {
    refs: Vec<(RawRef, u32)>,
}

/// One assertion of the unit being read: its call's token span and what it expects.
struct Span {
    start: usize,
    end: usize,
    key: (u32, u32),
    expected: Option<Outcome>,
    sqlstate: Option<String>,
    /// Whether the assertion checks that rows are absent or present.
    check: RowCheck,
    /// The furthest `end` of this span and those before it.
    reach: usize,
}

/// What an assertion says of the rows it looks at: `is_empty` and `is(count(..), 0)`
/// expect none, `isnt_empty` and `is(count(..), N)` with N > 0 some.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowCheck {
    None,
    Empty,
    NonEmpty,
}

/// Where a reference goes.
#[derive(Clone)]
struct Serve {
    /// Where the reference is used (its token, or the string or name that runs it): with
    /// the line, the order of references whatever order units are read in.
    site: (u32, u32),
    key: Option<(u32, u32)>,
    attribution: Option<Attribution>,
    expected: Option<Outcome>,
    sqlstate: Option<String>,
}

/// Reads one file's references, unit by unit.
pub struct Reader<'o> {
    opts: &'o ExtractOptions,
    top_roles: Roles,
    prepared: HashMap<String, Prepared>,
    refs: Vec<Reference>,
    /// The assertion (line, column) each reference serves, resolved to an index at the end.
    keys: Vec<Option<(u32, u32)>>,
    /// (line, use site) of each reference: the order they are reported in.
    order: Vec<(u32, (u32, u32))>,
    /// Top-level references after the last assertion so far: the next window's first
    /// assertion may serve them.
    pending_top: Vec<usize>,
    unreadable: u64,
    /// The bodies of routines and `DO` blocks seen so far: their text's byte range and
    /// the names their headers declare (read before the body's own unit).
    bodies: Vec<(u32, u32, Vec<String>)>,
    /// A body unit's declared names, reused from unit to unit.
    declared: Vec<String>,
    /// Objects the file creates (`CREATE TEMP TABLE`, `SELECT .. INTO`, functions).
    created: Vec<Created>,
    /// Count the references, keep none ([`Reader::counting`]).
    count_only: bool,
    counted: u64,
    /// The tokens of SQL given as text, reused from string to string.
    sql_tokens: Vec<Token>,
    /// A unit's statements, and those of SQL given as text (read while a unit's are):
    /// buffers reused from unit to unit.
    stmts: Vec<scan::Stmt>,
    sql_stmts: Vec<scan::Stmt>,
}

impl<'o> Reader<'o> {
    pub fn new(opts: &'o ExtractOptions) -> Reader<'o> {
        Reader {
            opts,
            top_roles: Roles::default(),
            prepared: HashMap::new(),
            refs: Vec::new(),
            keys: Vec::new(),
            order: Vec::new(),
            pending_top: Vec::new(),
            unreadable: 0,
            bodies: Vec::new(),
            declared: Vec::new(),
            created: Vec::new(),
            count_only: false,
            counted: 0,
            sql_tokens: Vec::new(),
            stmts: Vec::new(),
            sql_stmts: Vec::new(),
        }
    }

    /// A reader that counts the references and keeps none (nor what the file creates):
    /// for a run whose reports need no more than their number
    /// ([`FileResult::references_counted`]). The count is the one [`Reader::new`] keeps.
    pub fn counting(opts: &'o ExtractOptions) -> Reader<'o> {
        Reader {
            count_only: true,
            ..Reader::new(opts)
        }
    }

    /// Reads a unit's tokens (`tokens` are the unit's, offsets into `src`), given the
    /// assertions extraction found in it.
    pub fn unit(
        &mut self,
        src: &[u8],
        tokens: &[Token],
        context: &Context,
        commented: bool,
        assertions: &[Assertion],
    ) {
        if commented {
            return;
        }
        CODE.with(|code| match code.try_borrow_mut() {
            Ok(mut code) => self.unit_with(src, tokens, context, assertions, &mut code),
            Err(_) => self.unit_with(src, tokens, context, assertions, &mut Vec::new()),
        });
    }

    fn unit_with(
        &mut self,
        src: &[u8],
        tokens: &[Token],
        context: &Context,
        assertions: &[Assertion],
        buf: &mut Vec<Token>,
    ) {
        if self.count_only && *context == Context::Top {
            self.count_top(src, tokens, buf);
            return;
        }
        let skipped = |t: &Token| scan::skipped(t.kind);
        // Copied without comments only when the unit has some (most windows of generated
        // or terse suites have none and are read in place).
        buf.clear();
        let code: &[Token] = if tokens.iter().any(skipped) {
            // Copied in runs between comments (comments are few, code tokens many).
            for run in tokens.split(skipped) {
                buf.extend_from_slice(run);
            }
            buf
        } else {
            tokens
        };
        let top = *context == Context::Top;
        let mut roles = if top {
            std::mem::take(&mut self.top_roles)
        } else {
            Roles {
                in_tx: true,
                ..Roles::default()
            }
        };
        // A body's variables: what its header and its own text declare.
        let mut declared = std::mem::take(&mut self.declared);
        declared.clear();
        if !top {
            if let Some(first) = code.first() {
                // The innermost body holding the unit (a DO block inside a function has
                // none of the function's parameters).
                if let Some((_, _, params)) = self
                    .bodies
                    .iter()
                    .filter(|(s, e, _)| *s <= first.start && first.start < *e)
                    .max_by_key(|(s, _, _)| *s)
                {
                    declared.extend(params.iter().cloned());
                }
            }
            scan::declared_names(src, code, &mut declared);
            declared.sort_unstable();
            declared.dedup();
        }
        let scanner = Scanner {
            src,
            toks: code,
            opts: self.opts,
            body: !top,
            top,
            declared: &declared,
            counting: self.count_only,
        };
        // Which assertion a reference serves is of no use to a count.
        let spans = if self.count_only {
            Vec::new()
        } else {
            spans(&scanner, assertions)
        };
        if top {
            if let Some(first) = spans.first() {
                for r in std::mem::take(&mut self.pending_top) {
                    self.keys[r] = Some(first.key);
                    self.refs[r].attribution = Some(Attribution::Exercised);
                }
            }
        }
        let mut events = Vec::new();
        // Spans are sorted by start and statements come in order: one cursor finds each
        // statement's first assertion (a search from the start made a unit quadratic).
        let mut next_span = 0;
        let mut stmts = std::mem::take(&mut self.stmts);
        scanner.statements_into(&mut stmts);
        for &st in &stmts {
            if st.trivial {
                // Nothing to read, nothing created (`SELECT has_table('a', 'b')`).
                continue;
            }
            let (start, k) = (st.start, st.end);
            if !self.count_only {
                creates(src, &code[start..k], top, &mut self.created);
            }
            events.clear();
            scanner.read(start, k, &mut events);
            while spans.get(next_span).is_some_and(|s| s.start < start) {
                next_span += 1;
            }
            let stmt_span = spans.get(next_span).filter(|s| s.start < k);
            for ev in events.drain(..) {
                self.event(ev, &scanner, src, &spans, stmt_span, &mut roles, top);
            }
        }
        self.stmts = stmts;
        if top {
            self.top_roles = roles;
        }
        self.declared = declared;
        if buf.capacity() > 1 << 16 {
            // A huge unit must not pin its copy for the rest of the thread's files.
            *buf = Vec::new();
        }
    }

    /// A top-level unit read by a counting reader: split as lexed, comments stepped over
    /// ([`scan::split`]), and only the statements that are not trivial copied without
    /// their comments to be read (most tokens are in trivial ones: the unit is not
    /// copied whole). Counts what [`unit_with`](Self::unit_with)'s full reading keeps:
    /// the same statements are read from the same code tokens.
    fn count_top(&mut self, src: &[u8], tokens: &[Token], buf: &mut Vec<Token>) {
        let mut roles = std::mem::take(&mut self.top_roles);
        let helpers = !self.opts.role_helpers.is_empty();
        let mut events = Vec::new();
        let mut stmts = std::mem::take(&mut self.stmts);
        scan::split_into(tokens, src, helpers, &mut stmts);
        for &st in &stmts {
            if st.trivial {
                continue;
            }
            // The statement's code tokens, then the token ending it and a few after it:
            // the reader looks a token or two past a statement's end, as it does in the
            // whole unit's copy. Read in place when no comment lies among them (the
            // copy would be those very tokens).
            let window = &tokens[st.start..(st.end + STATEMENT_LOOKAHEAD).min(tokens.len())];
            let (toks, len): (&[Token], usize) = if window.iter().any(|t| scan::skipped(t.kind)) {
                buf.clear();
                for run in tokens[st.start..st.end].split(|t| scan::skipped(t.kind)) {
                    buf.extend_from_slice(run);
                }
                let len = buf.len();
                buf.extend(
                    tokens[st.end..]
                        .iter()
                        .filter(|t| !scan::skipped(t.kind))
                        .take(STATEMENT_LOOKAHEAD),
                );
                (buf, len)
            } else {
                (window, st.end - st.start)
            };
            let scanner = Scanner {
                src,
                toks,
                opts: self.opts,
                body: false,
                top: true,
                declared: &[],
                counting: true,
            };
            events.clear();
            scanner.read(0, len, &mut events);
            for ev in events.drain(..) {
                self.event(ev, &scanner, src, &[], None, &mut roles, true);
            }
        }
        self.stmts = stmts;
        self.top_roles = roles;
        if buf.capacity() > 1 << 16 {
            *buf = Vec::new();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        ev: Event,
        scanner: &Scanner,
        src: &[u8],
        spans: &[Span],
        stmt_span: Option<&Span>,
        roles: &mut Roles,
        top: bool,
    ) {
        match ev {
            Event::Ref(_, _) if self.count_only => self.counted += 1,
            Event::Ref(raw, at) => {
                let line = scanner.toks[at].line;
                let mut serve = serve(spans, stmt_span, at, &scanner.toks[at], roles.current());
                if serve.attribution == Some(Attribution::Exercised) && roles.current().is_some() {
                    serve.expected = checked_effect(scanner, src, spans, &serve, &raw, at);
                }
                self.push(raw, line, roles.current(), serve, top);
            }
            Event::Role {
                role,
                local,
                helper,
            } => roles.set(role, local, helper),
            Event::Begin => roles.begin(),
            Event::End(commit) => roles.end(commit),
            Event::Prepare(name, refs) => {
                let refs = refs
                    .into_iter()
                    .map(|(r, at)| (r, scanner.toks[at].line))
                    .collect();
                self.prepared.insert(name, Prepared { refs });
            }
            Event::PreparedUse(name, at) => {
                let serve = serve(spans, stmt_span, at, &scanner.toks[at], roles.current());
                self.prepared_use(&name, roles.current(), serve, top);
            }
            Event::SqlText(at) => {
                let serve = serve(spans, stmt_span, at, &scanner.toks[at], roles.current());
                let tok = scanner.toks[at];
                self.sql_text(src, &tok, roles, serve, top);
            }
            Event::Routine { body, params } => {
                let t = scanner.toks[body];
                self.bodies.push((t.inner_start, t.inner_end, params));
            }
        }
    }

    fn push(&mut self, raw: RawRef, line: u32, role: Option<&str>, serve: Serve, top: bool) {
        if self.count_only {
            self.counted += 1;
            return;
        }
        let asserted = serve.attribution == Some(Attribution::Asserted);
        if top && serve.key.is_none() {
            self.pending_top.push(self.refs.len());
        }
        self.keys.push(serve.key);
        self.order.push((line, serve.site));
        self.refs.push(Reference {
            kind: raw.kind,
            schema: raw.schema,
            name: raw.name,
            relation: raw.relation,
            command: raw.command,
            arity: raw.arity,
            line,
            role: role.map(str::to_string),
            assertion: None,
            attribution: serve.attribution,
            // Exercised references carry one only when the check after them tells
            // (`checked_effect`).
            expected: serve.expected,
            sqlstate: if asserted { serve.sqlstate } else { None },
        });
    }

    fn prepared_use(&mut self, name: &str, role: Option<&str>, serve: Serve, top: bool) {
        let Some(p) = self.prepared.get(name) else {
            return;
        };
        for (raw, line) in p.refs.clone() {
            self.push(raw, line, role, serve.clone(), top);
        }
    }

    /// SQL given as a string to a pgTAP function: a prepared statement's name, or SQL read
    /// with the file's line numbers.
    fn sql_text(&mut self, src: &[u8], tok: &Token, roles: &Roles, serve: Serve, top: bool) {
        let Some(text) = SqlText::new(src, tok) else {
            self.unreadable += 1;
            return;
        };
        let value = text.buf();
        let trimmed = value.trim_ascii();
        // pgTAP runs `EXECUTE <text>` when the text has no white space (or is quoted).
        if !trimmed.is_empty()
            && (trimmed.starts_with(b"\"") || !trimmed.iter().any(u8::is_ascii_whitespace))
        {
            let name_end = trimmed
                .iter()
                .position(|&b| b == b'(')
                .unwrap_or(trimmed.len());
            let name = String::from_utf8_lossy(&trimmed[..name_end]);
            let (_, name) = scan::split_qualified(&name);
            // A statement prepared where this reader does not see it (another file, a
            // DO block, dynamic SQL): a name all the same, not unreadable SQL.
            self.prepared_use(&name, roles.current(), serve, top);
            return;
        }
        // The token buffer is the reader's, reused from string to string.
        let mut toks = std::mem::take(&mut self.sql_tokens);
        toks.clear();
        let mut diags = Vec::new();
        tokenize_range(value, 0..value.len(), 1, 1, &mut toks, &mut diags);
        toks.retain(|t| !matches!(t.kind, TokenKind::LineComment | TokenKind::BlockComment));
        let readable = diags.is_empty()
            && toks.first().is_some_and(|t| {
                t.kind == TokenKind::LParen
                    || (t.kind == TokenKind::Ident
                        && words::Word::new(t.text(value))
                            .is_some_and(|w| STATEMENT_STARTS.binary_search(&&*w).is_ok()))
            });
        if !readable {
            self.unreadable += 1;
            self.sql_tokens = toks;
            return;
        }
        let scanner = Scanner {
            src: value,
            toks: &toks,
            opts: self.opts,
            body: false,
            top: false,
            declared: &[],
            counting: self.count_only,
        };
        let mut roles = roles.clone();
        let mut events = Vec::new();
        let mut stmts = std::mem::take(&mut self.sql_stmts);
        scanner.statements_into(&mut stmts);
        for st in stmts.iter().filter(|s| !s.trivial) {
            {
                events.clear();
                scanner.read(st.start, st.end, &mut events);
                for ev in events.drain(..) {
                    match ev {
                        Event::Ref(raw, at) => {
                            let line = text.line_of(&toks[at]);
                            let mut serve = serve.clone();
                            filtered(&mut serve, roles.current());
                            self.push(raw, line, roles.current(), serve, top);
                        }
                        Event::Role {
                            role,
                            local,
                            helper,
                        } => roles.set(role, local, helper),
                        Event::PreparedUse(name, _) => {
                            self.prepared_use(&name, roles.current(), serve.clone(), top)
                        }
                        _ => {}
                    }
                }
            }
        }
        if toks.capacity() <= 1 << 16 {
            self.sql_tokens = toks;
        }
        self.sql_stmts = stmts;
    }

    /// Resolves each reference's assertion to its index in the (sorted) assertions and
    /// stores the references on the result.
    pub fn finish(mut self, out: &mut FileResult) {
        if self.count_only {
            out.references_counted = self.counted;
            out.sql_strings_unreadable = self.unreadable;
            return;
        }
        // In file order: bodies are read after the window of statements that defines
        // them, and the window size must not change the result.
        let mut idx: Vec<usize> = (0..self.refs.len()).collect();
        idx.sort_by_key(|&i| self.order[i]);
        let mut slots: Vec<Option<Reference>> = self.refs.into_iter().map(Some).collect();
        let mut refs: Vec<Reference> = Vec::with_capacity(slots.len());
        let mut keys = Vec::with_capacity(slots.len());
        for i in idx {
            if let Some(r) = slots[i].take() {
                refs.push(r);
                keys.push(self.keys[i]);
            }
        }
        for (r, key) in refs.iter_mut().zip(keys) {
            r.assertion = key.and_then(|k| {
                let i = out.assertions.partition_point(|a| (a.line, a.column) < k);
                out.assertions
                    .get(i)
                    .filter(|a| (a.line, a.column) == k)
                    .map(|_| i as u32)
            });
            if r.assertion.is_none() {
                r.attribution = None;
                r.expected = None;
                r.sqlstate = None;
            }
        }
        out.references = refs;
        out.sql_strings_unreadable = self.unreadable;
        self.created.sort_unstable();
        self.created.dedup();
        out.created = std::mem::take(&mut self.created);
    }
}

/// What a statement creates for the test itself: `CREATE [OR REPLACE] [TEMP|UNLOGGED]
/// TABLE|VIEW|MATERIALIZED VIEW|FUNCTION|PROCEDURE|SEQUENCE|TYPE [IF NOT EXISTS] name`,
/// and `[WITH ..] SELECT .. INTO [TEMP] [TABLE] name` (at the top level; in a body `INTO` a
/// variable is no table unless `TEMP` or `TABLE` says so).
fn creates(src: &[u8], st: &[Token], top: bool, out: &mut Vec<Created>) {
    let word = |j: usize, w: &[u8]| {
        st.get(j)
            .is_some_and(|t| t.kind == TokenKind::Ident && t.text(src).eq_ignore_ascii_case(w))
    };
    let mut j;
    let kind;
    if word(0, b"create") {
        j = 1;
        if word(j, b"or") && word(j + 1, b"replace") {
            j += 2;
        }
        if word(j, b"global") || word(j, b"local") {
            j += 1;
        }
        if word(j, b"temp") || word(j, b"temporary") || word(j, b"unlogged") {
            j += 1;
        }
        if word(j, b"materialized") {
            j += 1;
        }
        kind = if word(j, b"table") || word(j, b"view") {
            RefKind::Relation
        } else if word(j, b"function") || word(j, b"procedure") {
            RefKind::Function
        } else if word(j, b"sequence") {
            RefKind::Sequence
        } else if word(j, b"type") {
            RefKind::Type
        } else {
            return;
        };
        j += 1;
        if word(j, b"if") && word(j + 1, b"not") && word(j + 2, b"exists") {
            j += 3;
        }
    } else if word(0, b"select") || word(0, b"with") {
        let mut depth = 0usize;
        let Some(into) = st.iter().position(|t| {
            match t.kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
            depth == 0 && t.kind == TokenKind::Ident && t.text(src).eq_ignore_ascii_case(b"into")
        }) else {
            return;
        };
        if into == 0 || word(into - 1, b"insert") || word(into - 1, b"merge") {
            return;
        }
        j = into + 1;
        let mut marked = false;
        if word(j, b"temp") || word(j, b"temporary") || word(j, b"unlogged") {
            j += 1;
            marked = true;
        }
        if word(j, b"table") {
            j += 1;
            marked = true;
        }
        if !top && !marked {
            return;
        }
        kind = RefKind::Relation;
    } else {
        return;
    }
    let part = |j: usize| {
        st.get(j)
            .filter(|t| matches!(t.kind, TokenKind::Ident | TokenKind::QuotedIdent))
            .map(|t| String::from_utf8_lossy(&crate::lexer::ident_value(src, t)).into_owned())
    };
    let Some(first) = part(j) else {
        return;
    };
    let (schema, name) = match (st.get(j + 1).map(|t| t.kind), part(j + 2)) {
        (Some(TokenKind::Dot), Some(second)) => (Some(first), second),
        _ => (None, first),
    };
    let schema = schema.filter(|s| !s.eq_ignore_ascii_case("pg_temp"));
    out.push(Created { kind, schema, name });
}

/// The words a statement pgTAP can run begins with: text starting otherwise is not SQL.
const STATEMENT_STARTS: &[&[u8]] = &[
    b"alter",
    b"analyze",
    b"begin",
    b"call",
    b"comment",
    b"commit",
    b"copy",
    b"create",
    b"deallocate",
    b"declare",
    b"delete",
    b"discard",
    b"do",
    b"drop",
    b"end",
    b"execute",
    b"explain",
    b"fetch",
    b"grant",
    b"import",
    b"insert",
    b"listen",
    b"lock",
    b"merge",
    b"move",
    b"notify",
    b"prepare",
    b"refresh",
    b"reindex",
    b"release",
    b"reset",
    b"revoke",
    b"rollback",
    b"savepoint",
    b"security",
    b"select",
    b"set",
    b"show",
    b"start",
    b"table",
    b"truncate",
    b"update",
    b"vacuum",
    b"values",
    b"with",
];

/// `is_empty` under a role: the rows are expected to be filtered out.
fn filtered(serve: &mut Serve, role: Option<&str>) {
    if serve.expected == Some(Outcome::Filtered) && role.is_none() {
        serve.expected = Some(Outcome::Allowed);
    }
}

/// What the check after an `UPDATE` or `DELETE` run under a role says of it. The check
/// must look at what the command wrote: one of the command's string literals (its `SET`
/// values, its `WHERE` keys) appears in the assertion. Then, for an `UPDATE`, rows with
/// the new values absent mean it was filtered and present mean it was allowed; for a
/// `DELETE`, the rows absent mean allowed and present mean filtered. Anything else says
/// nothing (`None`: the command ran, which is all that is known).
fn checked_effect(
    scanner: &Scanner,
    src: &[u8],
    spans: &[Span],
    serve: &Serve,
    raw: &RawRef,
    at: usize,
) -> Option<Outcome> {
    if raw.kind != RefKind::Relation {
        return None;
    }
    let update = match raw.command? {
        Command::Update => true,
        Command::Delete => false,
        _ => return None,
    };
    let span = spans.iter().find(|s| Some(s.key) == serve.key)?;
    if span.check == RowCheck::None {
        return None;
    }
    let toks = scanner.toks;
    let (a, b) = (
        toks.get(span.start)?,
        toks.get(span.end.min(toks.len() - 1))?,
    );
    let checked = src.get(a.start as usize..b.end as usize)?;
    let mut depth = 0usize;
    let mut written = false;
    for t in &toks[at..] {
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth = depth.saturating_sub(1),
            TokenKind::Semicolon if depth == 0 => break,
            TokenKind::String => {
                let v = crate::lexer::string_value(src, t);
                if v.len() >= 3 && checked.windows(v.len()).any(|w| w == &v[..]) {
                    written = true;
                    break;
                }
            }
            _ => {}
        }
    }
    if !written {
        return None;
    }
    let absent = span.check == RowCheck::Empty;
    Some(if update == absent {
        Outcome::Filtered
    } else {
        Outcome::Allowed
    })
}

/// The assertion a reference at token `at` serves.
fn serve(
    spans: &[Span],
    stmt_span: Option<&Span>,
    at: usize,
    site: &Token,
    role: Option<&str>,
) -> Serve {
    let site = (site.line, site.col);
    let asserted = |s: &Span| {
        let mut sv = Serve {
            site,
            key: Some(s.key),
            attribution: Some(Attribution::Asserted),
            expected: s.expected,
            sqlstate: s.sqlstate.clone(),
        };
        if s.check == RowCheck::Empty && role.is_some() {
            sv.expected = Some(Outcome::Filtered);
        }
        sv
    };
    // The first span (by start) holding `at`: among those starting at or before it, the
    // first reaching it (binary searches: a unit may hold thousands of assertions).
    let started = spans.partition_point(|s| s.start <= at);
    let first_reaching = spans[..started].partition_point(|s| s.reach < at);
    if let Some(s) = spans[..started].get(first_reaching) {
        return asserted(s);
    }
    if let Some(s) = stmt_span {
        return asserted(s);
    }
    match spans.get(started) {
        Some(s) => Serve {
            site,
            key: Some(s.key),
            attribution: Some(Attribution::Exercised),
            expected: None,
            sqlstate: None,
        },
        None => Serve {
            site,
            key: None,
            attribution: None,
            expected: None,
            sqlstate: None,
        },
    }
}

/// The unit's assertions as token spans, in token order.
fn spans(scanner: &Scanner, assertions: &[Assertion]) -> Vec<Span> {
    let toks = scanner.toks;
    let mut out: Vec<Span> = assertions
        .iter()
        .filter(|a| !a.commented)
        .filter_map(|a| {
            let key = (a.line, a.column);
            let i = toks.partition_point(|t| (t.line, t.col) < key);
            let t = toks.get(i).filter(|t| (t.line, t.col) == key)?;
            let _ = t;
            let open = i + 1;
            if toks.get(open).map(|t| t.kind) != Some(TokenKind::LParen) {
                return None;
            }
            let end = scanner.close_of(open);
            let args = if a.function.starts_with("throws_") || a.function == "is" {
                scanner.args_of(open)
            } else {
                Vec::new()
            };
            let (expected, sqlstate) = expectation(scanner, &a.function, &args);
            let check = match &*a.function {
                "is_empty" => RowCheck::Empty,
                "isnt_empty" => RowCheck::NonEmpty,
                "is" => count_check(scanner, &args),
                _ => RowCheck::None,
            };
            Some(Span {
                start: i,
                end,
                key,
                expected,
                sqlstate,
                check,
                reach: 0,
            })
        })
        .collect();
    out.sort_by_key(|s| s.start);
    let mut reach = 0;
    for s in &mut out {
        reach = reach.max(s.end);
        s.reach = reach;
    }
    out
}

/// `is(count(..), 0)` expects no rows, `is(count(..), 3)` some: the first argument counts
/// (`count(` anywhere in it) and the second is a whole number, cast or not.
fn count_check(scanner: &Scanner, args: &[(usize, usize)]) -> RowCheck {
    let (Some(&(g0, g1)), Some(&(w0, w1))) = (args.first(), args.get(1)) else {
        return RowCheck::None;
    };
    let toks = scanner.toks;
    let counts = (g0..g1).any(|j| {
        toks[j].kind == TokenKind::Ident
            && toks[j].text(scanner.src).eq_ignore_ascii_case(b"count")
            && toks.get(j + 1).map(|t| t.kind) == Some(TokenKind::LParen)
    });
    // The wanted value: one number, optionally `::int` (or any one-word cast).
    let lone = w1 == w0 + 1
        || (w1 == w0 + 3
            && toks[w0 + 1].kind == TokenKind::Cast
            && toks[w0 + 2].kind == TokenKind::Ident);
    if !counts || !lone || toks[w0].kind != TokenKind::Number {
        return RowCheck::None;
    }
    let text = toks[w0].text(scanner.src);
    if !text.iter().all(u8::is_ascii_digit) {
        return RowCheck::None;
    }
    if text.iter().all(|&b| b == b'0') {
        RowCheck::Empty
    } else {
        RowCheck::NonEmpty
    }
}

/// What an assertion expects of the SQL it runs or the values it compares.
fn expectation(
    scanner: &Scanner,
    function: &str,
    args: &[(usize, usize)],
) -> (Option<Outcome>, Option<String>) {
    let lit = |k: usize| -> Option<String> {
        let &(a, b) = args.get(k)?;
        let t = scanner.toks.get(a)?;
        (b == a + 1 && t.kind == TokenKind::String).then(|| {
            String::from_utf8_lossy(&crate::lexer::string_value(scanner.src, t)).into_owned()
        })
    };
    if function.starts_with("throws_") {
        let state = lit(1).filter(|s| {
            s.len() == 5
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        });
        let message = if state.is_some() { lit(2) } else { lit(1) };
        let privilege = state.as_deref() == Some("42501")
            || message.is_some_and(|m| {
                let m = m.to_ascii_lowercase();
                m.contains("permission denied") || m.contains("row-level security")
            });
        let outcome = if privilege {
            Outcome::Denied
        } else {
            Outcome::Raises
        };
        return (Some(outcome), state);
    }
    let allowed = matches!(
        function,
        "lives_ok"
            | "results_eq"
            | "results_ne"
            | "set_eq"
            | "set_ne"
            | "set_has"
            | "set_hasnt"
            | "bag_eq"
            | "bag_ne"
            | "bag_has"
            | "bag_hasnt"
            | "row_eq"
            | "is"
            | "isnt"
            | "ok"
            | "cmp_ok"
            | "matches"
            | "imatches"
            | "doesnt_match"
            | "doesnt_imatch"
            | "alike"
            | "ialike"
            | "unalike"
            | "unialike"
            | "is_empty"
            | "isnt_empty"
            | "performs_ok"
            | "performs_within"
            | "is_distinct_from"
            | "isnt_distinct_from"
    );
    (allowed.then_some(Outcome::Allowed), None)
}

/// The text of a string token as SQL, and where each of its bytes is in the file.
struct SqlText<'s> {
    src: &'s [u8],
    tok: Token,
    /// Decoded text of a quoted string; `None` for a dollar-quoted body or a string with
    /// no escape (read in place).
    decoded: Option<(Vec<u8>, Vec<u32>)>,
}

impl<'s> SqlText<'s> {
    fn new(src: &'s [u8], tok: &Token) -> Option<SqlText<'s>> {
        // A quoted string with nothing to decode (no doubled quote, no backslash escape:
        // most SQL given as text) is read in place, as a dollar-quoted body is.
        let inner = src.get(tok.inner()).unwrap_or_default();
        let decoded = match (tok.kind, tok.flavor) {
            (TokenKind::DollarString, _) => None,
            (TokenKind::String, StringFlavor::Standard)
                if memchr::memchr(b'\'', inner).is_none() =>
            {
                None
            }
            (TokenKind::String, StringFlavor::Escape)
                if memchr::memchr2(b'\'', b'\\', inner).is_none() =>
            {
                None
            }
            (TokenKind::String, StringFlavor::Standard) => Some(decode(src, tok, false)),
            (TokenKind::String, StringFlavor::Escape) => Some(decode(src, tok, true)),
            _ => return None,
        };
        Some(SqlText {
            src,
            tok: *tok,
            decoded,
        })
    }

    fn buf(&self) -> &[u8] {
        match &self.decoded {
            Some((b, _)) => b,
            None => self.src.get(self.tok.inner()).unwrap_or_default(),
        }
    }

    /// The file line of a token of [`buf`](Self::buf).
    fn line_of(&self, t: &Token) -> u32 {
        let off = match &self.decoded {
            Some((_, map)) => map
                .get(t.start as usize)
                .copied()
                .unwrap_or(self.tok.inner_end),
            None => self.tok.inner_start + t.start,
        } as usize;
        let from = self.tok.start as usize;
        let to = off.clamp(from, self.src.len());
        self.tok.line + memchr::memchr_iter(b'\n', &self.src[from..to]).count() as u32
    }
}

/// A quoted string's value with, for each byte, its offset in the file.
fn decode(src: &[u8], tok: &Token, escapes: bool) -> (Vec<u8>, Vec<u32>) {
    let inner = tok.inner();
    let s = src.get(inner.clone()).unwrap_or_default();
    let base = inner.start as u32;
    let mut out = Vec::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len());
    let mut i = 0usize;
    while i < s.len() {
        // The bytes up to the next quote (or backslash) are themselves: copied whole.
        let rest = &s[i..];
        let run = if escapes {
            memchr::memchr2(b'\'', b'\\', rest)
        } else {
            memchr::memchr(b'\'', rest)
        }
        .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..run]);
        map.extend((i..i + run).map(|j| base + j as u32));
        i += run;
        if i >= s.len() {
            break;
        }
        let at = base + i as u32;
        match s[i] {
            b'\'' if s.get(i + 1) == Some(&b'\'') => {
                out.push(b'\'');
                i += 2;
            }
            b'\\' if escapes && i + 1 < s.len() => {
                let c = match s[i + 1] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'b' => 8,
                    b'f' => 12,
                    c => c,
                };
                out.push(c);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
        map.resize(out.len(), at);
    }
    (out, map)
}

/// The command names as the JSON spells them (for tests and messages).
pub fn command_name(c: Command) -> &'static str {
    match c {
        Command::Select => "select",
        Command::Insert => "insert",
        Command::Update => "update",
        Command::Delete => "delete",
        Command::Merge => "merge",
        Command::Truncate => "truncate",
        Command::Copy => "copy",
    }
}

#[cfg(test)]
mod tests;

/// Every SQL file (`.sql`, `.pg`) of `fixtures/` and `../shared/corpus` (when there), as
/// (path, bytes): what the reader's whole-corpus tests run over.
#[cfg(test)]
pub(crate) fn corpus_sql_files() -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for root in ["fixtures", "../shared/corpus"] {
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(root)];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|e| e == "sql" || e == "pg") {
                    if let Ok(src) = std::fs::read(&p) {
                        out.push((p, src));
                    }
                }
            }
        }
    }
    out
}
