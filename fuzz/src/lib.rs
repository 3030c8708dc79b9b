//! A mutation fuzzer for pgtap-scan's readers that runs on stable Rust (no libFuzzer).
//!
//! Four targets, each a function of arbitrary bytes that must return (no hang) without
//! panicking:
//!
//! * `lexer`   — the lexer (`pgtap_scan::__internals::tokenize`), plus token-stream invariants;
//! * `extract` — [`pgtap_scan::Extractor::extract`];
//! * `schema`  — [`pgtap_scan::universe::Universe::apply_sql`] (the migrations reader);
//! * `cache`   — the cache codec (`pgtap_scan::__internals::decode`), plus: what decodes re-encodes to the
//!   same result.
//!
//! Inputs start from seeds (the fixtures' SQL files, for `cache` the encodings of their
//! extracted results, and everything in `fuzz/corpus/<target>/`) and are mutated: bit
//! flips, interesting bytes, SQL tokens inserted (`(`, `$$`, `'`, `/*`, `\i`, `E'` ...),
//! ranges deleted or duplicated, splices of two inputs. A mutant that shows something new
//! (a new token pair, diagnostic, skipped-statement reason, ...) joins the pool. Runs are
//! deterministic given the seed. Each input runs on a worker thread under a watchdog: one
//! that takes longer than the time limit is a hang, one that panics a crash; both are
//! written to the artifacts folder.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use pgtap_scan::ExtractOptions;
use pgtap_scan::Extractor;

/// Inputs grow no larger than this (the fixtures' largest file is well under it).
pub const MAX_INPUT: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Lexer,
    Extract,
    Schema,
    Cache,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::Lexer,
        Target::Extract,
        Target::Schema,
        Target::Cache,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Lexer => "lexer",
            Target::Extract => "extract",
            Target::Schema => "schema",
            Target::Cache => "cache",
        }
    }

    pub fn from_name(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// The repository root (seeds are read relative to it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub fn corpus_dir(root: &Path, t: Target) -> PathBuf {
    root.join("fuzz/corpus").join(t.name())
}

// ---- targets ---------------------------------------------------------------------------

fn extractors() -> &'static [Extractor; 2] {
    static E: std::sync::OnceLock<[Extractor; 2]> = std::sync::OnceLock::new();
    E.get_or_init(|| {
        [
            Extractor::new(ExtractOptions::default()),
            Extractor::new(ExtractOptions {
                search_path: vec!["app".into(), "public".into()],
                include_commented: true,
                helpers: Vec::new(),
                ..ExtractOptions::default()
            }),
        ]
    })
}

/// Runs one target on one input; returns the features it showed (hashes of what the
/// output looked like) for the pool to decide whether the input is new. Panics on a
/// broken invariant.
pub fn run_target(t: Target, input: &[u8]) -> Vec<u64> {
    let mut f = Features::default();
    match t {
        Target::Lexer => {
            let lexed = pgtap_scan::__internals::tokenize(input);
            let mut prev_end = 0u32;
            let mut prev_line = 1u32;
            let lines = line_count(input);
            let mut prev_kind = None;
            for tok in &lexed.tokens {
                assert!(
                    tok.start >= prev_end && tok.start <= tok.end,
                    "token {tok:?} overlaps the previous one (ends at {prev_end})"
                );
                assert!(
                    tok.end as usize <= input.len(),
                    "token {tok:?} past the end"
                );
                assert!(
                    tok.inner_start >= tok.start
                        && tok.inner_start <= tok.inner_end
                        && tok.inner_end <= tok.end,
                    "token {tok:?}: inner span outside the token"
                );
                assert!(tok.line >= prev_line, "token {tok:?}: line went back");
                assert!(
                    tok.line as usize <= lines,
                    "token {tok:?}: past the last line"
                );
                prev_end = tok.end;
                prev_line = tok.line;
                f.add(&(prev_kind, tok.kind, tok.flavor as u8));
                prev_kind = Some(tok.kind);
            }
            for d in &lexed.diagnostics {
                f.add(&shape(&d.message));
            }
        }
        Target::Extract => {
            let which = input.len() & 1;
            let r = extractors()[which].extract(input);
            let lines = line_count(input);
            for a in &r.assertions {
                assert!(
                    a.line >= 1 && a.line as usize <= lines,
                    "assertion {} on line {} of {lines}",
                    a.function,
                    a.line
                );
                f.add(&(
                    &*a.function,
                    a.kind_name(),
                    a.resolution as u8,
                    a.object.is_some(),
                    a.dynamic,
                    a.commented,
                    std::mem::discriminant(&a.context),
                ));
            }
            for d in r.errors.iter().chain(&r.warnings) {
                f.add(&shape(&d.message));
            }
            f.add(&(
                r.plan.as_ref().map(std::mem::discriminant),
                r.finish,
                r.runs_tests,
            ));
            f.add(&("includes", r.includes.len().min(4)));
        }
        Target::Schema => {
            let mut u = pgtap_scan::universe::Universe::new();
            let skipped = u.apply_sql("fuzz.sql", input, &["public".to_string()]);
            let lines = line_count(input);
            for s in &skipped {
                assert!(
                    s.line as usize <= lines,
                    "skipped statement on line {} of {lines}: {}",
                    s.line,
                    s.reason
                );
                f.add(&shape(&s.reason));
            }
            let mut per_kind: std::collections::HashMap<&str, usize> = Default::default();
            for o in u.objects() {
                f.add(&(
                    o.kind.name(),
                    std::mem::discriminant(&o.details),
                    o.table.is_some(),
                ));
                *per_kind.entry(o.kind.name()).or_default() += 1;
            }
            for (k, n) in per_kind {
                f.add(&(k, log2(n)));
            }
        }
        Target::Cache => {
            if let Some(r) = pgtap_scan::__internals::decode(input) {
                let mut again = Vec::new();
                pgtap_scan::__internals::encode(&r, &mut again);
                let back = pgtap_scan::__internals::decode(&again);
                assert!(
                    back.as_ref() == Some(&r),
                    "a decoded result does not survive encode + decode"
                );
                f.add(&("ok", log2(r.assertions.len()), log2(r.includes.len())));
                f.add(&(r.errors.len().min(3), r.warnings.len().min(3)));
            } else {
                f.add(&("rejected", log2(input.len())));
            }
        }
    }
    f.0
}

/// Lines as the lexer counts them (a lone CR is a line break, CRLF one).
fn line_count(input: &[u8]) -> usize {
    1 + (0..input.len())
        .filter(|&i| pgtap_scan::__internals::is_line_break(input, i))
        .count()
}

/// A message reduced to its wording: the input's own text (quoted names, numbers) dropped,
/// so every new identifier is not a new feature.
pub fn shape(msg: &str) -> String {
    let mut out = String::new();
    for c in msg.chars() {
        if matches!(c, '\'' | '"' | '`' | ':' | '(' | '{') {
            break;
        }
        if c.is_ascii_alphabetic() || c == ' ' {
            out.push(c);
        }
    }
    // The first few words: enough to tell messages apart, not the names they carry
    // (`unknown relation app.x`, `column x: ...`, `unrecognised CREATE x`): a word in
    // capitals after the first is the last one kept.
    let mut words = Vec::new();
    for w in out.split_whitespace().take(4) {
        words.push(w);
        let caps = words.len() > 1 && w.bytes().all(|b| b.is_ascii_uppercase());
        if caps || w == "unknown" || w == "column" {
            break;
        }
    }
    words.join(" ")
}

fn log2(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

#[derive(Default)]
struct Features(Vec<u64>);

impl Features {
    fn add<T: Hash + ?Sized>(&mut self, v: &T) {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        v.hash(&mut h);
        self.0.push(h.finish());
    }
}

// ---- the watchdog ----------------------------------------------------------------------

/// What one run of a target came to.
#[derive(Debug)]
pub enum Outcome {
    Ok(Vec<u64>),
    Panic(String),
    Hang,
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);
const WORKER: &str = "fuzz-worker";

/// Panics on the worker thread are recorded, not printed (the report names them).
fn quiet_worker_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(WORKER) {
                if let Ok(mut last) = LAST_PANIC.lock() {
                    *last = Some(info.to_string());
                }
            } else {
                default(info);
            }
        }));
    });
}

/// A thread that runs targets; [`Worker::run`] waits at most `limit` for each.
pub struct Worker {
    tx: Sender<(Target, Vec<u8>)>,
    rx: Receiver<Outcome>,
    limit: Duration,
}

impl Worker {
    pub fn new(limit: Duration) -> Worker {
        quiet_worker_panics();
        let (tx, jobs) = channel::<(Target, Vec<u8>)>();
        let (done, rx) = channel();
        std::thread::Builder::new()
            .name(WORKER.into())
            .spawn(move || {
                for (t, input) in jobs {
                    let out = match catch_unwind(AssertUnwindSafe(|| run_target(t, &input))) {
                        Ok(f) => Outcome::Ok(f),
                        Err(_) => Outcome::Panic(
                            LAST_PANIC
                                .lock()
                                .ok()
                                .and_then(|mut l| l.take())
                                .unwrap_or_else(|| "panic".into()),
                        ),
                    };
                    if done.send(out).is_err() {
                        break;
                    }
                }
            })
            .expect("spawning the fuzz worker thread");
        Worker { tx, rx, limit }
    }

    /// Runs `input`. After a [`Outcome::Hang`] the worker is stuck: make a new one.
    pub fn run(&self, t: Target, input: &[u8]) -> Outcome {
        if self.tx.send((t, input.to_vec())).is_err() {
            return Outcome::Panic("the worker thread is gone".into());
        }
        match self.rx.recv_timeout(self.limit) {
            Ok(o) => o,
            Err(RecvTimeoutError::Timeout) => Outcome::Hang,
            Err(RecvTimeoutError::Disconnected) => Outcome::Panic("the worker thread died".into()),
        }
    }
}

// ---- seeds -----------------------------------------------------------------------------

fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            sql_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "sql") {
            out.push(p);
        }
    }
}

fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.len() <= MAX_INPUT)
        .collect()
}

/// The files of `fuzz/corpus/<target>/`, sorted by name.
pub fn corpus_files(root: &Path, t: Target) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus_dir(root, t))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// Seeds for a target: derived from the fixtures, then the corpus folder.
pub fn seeds(root: &Path, t: Target) -> Vec<Vec<u8>> {
    let fixtures = root.join("fixtures");
    let mut tests = Vec::new();
    let mut migrations = Vec::new();
    for project in ["sample", "realworld"] {
        sql_files(&fixtures.join(project).join("tests"), &mut tests);
        sql_files(&fixtures.join(project).join("migrations"), &mut migrations);
    }
    let mut out = match t {
        Target::Lexer => {
            let mut v = read_all(&tests);
            v.extend(read_all(&migrations));
            v
        }
        Target::Extract => read_all(&tests),
        Target::Schema => read_all(&migrations),
        Target::Cache => read_all(&tests)
            .iter()
            .map(|src| {
                let mut b = Vec::new();
                pgtap_scan::__internals::encode(&extractors()[0].extract(src), &mut b);
                b
            })
            .collect(),
    };
    // Each statement on its own too: in a small input a mutation lands where it matters
    // (an unclosed `(` must come after the last `)` of the input to stay unclosed).
    if t != Target::Cache {
        let mut parts = Vec::new();
        for file in &out {
            for stmt in file.split_inclusive(|&b| b == b';') {
                let stmt = stmt.trim_ascii_start();
                if stmt.len() > 8 {
                    parts.push(stmt.to_vec());
                }
            }
        }
        parts.sort();
        parts.dedup();
        out.extend(parts);
    }
    out.extend(read_all(&corpus_files(root, t)));
    out
}

// ---- mutation --------------------------------------------------------------------------

/// splitmix64: small, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Tokens and fragments the readers care about.
const DICT: &[&str] = &[
    "(",
    ")",
    "((",
    "))",
    "[",
    "]",
    ",",
    ".",
    ";",
    "::",
    "$$",
    "$a$",
    "$1",
    "'",
    "''",
    "\"",
    "E'",
    "e'\\",
    "U&'",
    "U&\"",
    "B'",
    "X'",
    "N'",
    "/*",
    "*/",
    "--",
    "\n",
    "\r",
    "\r\n",
    "\\",
    "\\i ",
    "\\ir ",
    "\\include_relative ",
    "\\set x ",
    "\\echo ",
    ":'v'",
    ":\"v\"",
    ":v",
    "\\\\",
    " ",
    "0x",
    "1_000",
    "1e",
    ".5",
    "-",
    "+",
    "*",
    "%",
    "%TYPE",
    "SELECT ",
    "FROM ",
    "JOIN ",
    "LATERAL ",
    "AS ",
    "WITH ",
    "WITH RECURSIVE ",
    "VALUES (",
    "TABLE ",
    "CREATE TABLE ",
    "CREATE TABLE t (",
    "ALTER TABLE ",
    "ALTER TABLE t ",
    "ADD ",
    "DROP ",
    "RENAME ",
    "RENAME TO ",
    "PRIMARY KEY",
    "PRIMARY KEY (",
    "UNIQUE",
    "UNIQUE (",
    "NULLS NOT DISTINCT",
    "REFERENCES ",
    "ON DELETE ",
    "SET NULL (",
    "CHECK (",
    "DEFAULT ",
    "CONSTRAINT ",
    "GENERATED ALWAYS AS IDENTITY (",
    "GENERATED ALWAYS AS (",
    "STORED",
    "INCLUDE (",
    "WITH (",
    "USING INDEX ",
    "USING INDEX TABLESPACE ",
    "EXCLUDE USING gist (",
    "LIKE ",
    "INCLUDING ALL",
    "PARTITION OF ",
    "PARTITION BY RANGE (",
    "FOR VALUES ",
    "CREATE INDEX ",
    "CREATE UNIQUE INDEX ",
    " ON ",
    "CREATE VIEW v AS ",
    "CREATE MATERIALIZED VIEW ",
    "CREATE FUNCTION f(",
    "CREATE OR REPLACE FUNCTION ",
    "CREATE PROCEDURE ",
    "RETURNS ",
    "RETURNS TABLE (",
    "RETURNS SETOF ",
    "LANGUAGE sql",
    "LANGUAGE plpgsql",
    "BEGIN ATOMIC ",
    "BEGIN ",
    "END",
    "END;",
    "CASE ",
    "DO $$",
    "DO ",
    "CREATE TRIGGER ",
    "EXECUTE FUNCTION ",
    "CREATE POLICY p ON ",
    "FOR SELECT ",
    "TO ",
    "USING (",
    "CREATE SEQUENCE ",
    "OWNED BY ",
    "CREATE TYPE ",
    "AS ENUM (",
    "CREATE DOMAIN ",
    "CREATE SCHEMA ",
    "SET search_path = ",
    "SET search_path TO app, public;",
    "COMMENT ON ",
    "GRANT ",
    "REVOKE ",
    "CREATE EXTENSION ",
    "public.",
    "app.",
    "\"Quoted\"",
    "int",
    "text[]",
    "numeric(5,2)",
    "SELECT plan(",
    "SELECT no_plan();",
    "SELECT * FROM finish();",
    "SELECT has_table(",
    "has_column(",
    "col_is_pk(",
    "is(",
    "ok(",
    "results_eq(",
    "throws_ok(",
    "policies_are(",
    "function_returns(",
    "has_function(",
    "ARRAY[",
    "runtests(",
    "check_test(",
    "PERFORM ",
    "RETURN NEXT ",
    "format(",
    "||",
    "$function$",
];

const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xff, 0xc3, 0xe2, b'\r', b'\n', b'\t', b'\'', b'"', b'$', b'(', b')', b';',
    b'\\', b'/', b'*', b'-', b'E', b'U', b'&', b':', b'_', b'0', b'9', b'.',
];

fn range(rng: &mut Rng, len: usize) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let a = rng.below(len);
    let span = if rng.chance(4) { 4096 } else { 64 };
    let max = (len - a).min(span);
    (a, a + 1 + rng.below(max))
}

/// One to a few stacked mutations of `input`; `other` is a second pool entry to splice.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], t: Target) -> Vec<u8> {
    let mut v = input.to_vec();
    let most = if rng.chance(3) { 8 } else { 3 };
    let rounds = 1 + rng.below(most);
    for _ in 0..rounds {
        let len = v.len();
        let at = if len == 0 { 0 } else { rng.below(len + 1) };
        // The cache's format is binary: SQL tokens are rarely useful there, varints are.
        let ops = if t == Target::Cache { 9 } else { 10 };
        match rng.below(ops) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let b = INTERESTING[rng.below(INTERESTING.len())];
                v.insert(at, b);
            }
            3 if len > 0 => {
                let (a, b) = range(rng, len);
                v.drain(a..b);
            }
            4 if len > 0 => {
                let (a, b) = range(rng, len);
                let chunk = v[a..b].to_vec();
                let to = rng.below(v.len() + 1);
                v.splice(to..to, chunk);
            }
            5 if !other.is_empty() => {
                // Splice: a prefix of this one, a suffix of the other.
                let cut = rng.below(other.len());
                v.truncate(at);
                v.extend_from_slice(&other[cut..]);
            }
            6 if !other.is_empty() => {
                let (a, b) = range(rng, other.len());
                v.splice(at..at, other[a..b].iter().copied());
            }
            7 if len > 0 => {
                v.truncate(rng.below(len));
            }
            8 => {
                // A varint-ish run: big counts and lengths.
                let n = 1 + rng.below(10);
                let mut bytes = vec![0xffu8; n];
                bytes.push(rng.below(0x80) as u8);
                v.splice(at..at, bytes);
            }
            9 if rng.chance(16) => {
                // Other line endings for the whole input: lone CR, or CRLF.
                let crlf = rng.chance(2);
                let mut out = Vec::with_capacity(v.len() + v.len() / 16);
                for &b in &v {
                    match b {
                        b'\n' if crlf => out.extend_from_slice(b"\r\n"),
                        b'\n' => out.push(b'\r'),
                        _ => out.push(b),
                    }
                }
                v = out;
            }
            9 => {
                let w = DICT[rng.below(DICT.len())];
                let times = if rng.chance(8) { 1 + rng.below(64) } else { 1 };
                for _ in 0..times {
                    v.splice(at..at, w.bytes());
                }
            }
            _ => {
                if len > 0 {
                    let i = rng.below(len);
                    v[i] = rng.next_u64() as u8;
                }
            }
        }
    }
    v.truncate(MAX_INPUT);
    v
}

// ---- the loop --------------------------------------------------------------------------

pub struct Options {
    pub duration: Duration,
    pub seed: u64,
    /// Per-input limit before an input counts as a hang.
    pub timeout: Duration,
    pub artifacts: PathBuf,
    /// Write inputs that showed something new here (`fuzz/corpus/<target>` to grow it).
    pub save_new: Option<PathBuf>,
    pub max_execs: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub execs: u64,
    pub seeds: usize,
    pub pool: usize,
    pub features: usize,
    pub elapsed: Duration,
    /// Crash and hang inputs, as saved.
    pub findings: Vec<(String, PathBuf)>,
}

fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

/// Writes a crash or hang input; returns where.
pub fn save(dir: &Path, kind: &str, input: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    let p = dir.join(format!("{kind}-{:016x}", hash_bytes(input)));
    if let Err(e) = std::fs::write(&p, input) {
        eprintln!("fuzz: cannot write {}: {e}", p.display());
    }
    p
}

/// Fuzzes one target for `opts.duration`. Stops at the first hang (the worker thread is
/// stuck in it); crashes are saved and fuzzing goes on.
pub fn fuzz(root: &Path, t: Target, opts: &Options) -> Report {
    let start = Instant::now();
    let mut rng = Rng::new(opts.seed ^ hash_bytes(t.name().as_bytes()));
    let mut pool = seeds(root, t);
    let mut report = Report {
        seeds: pool.len(),
        ..Report::default()
    };
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    let artifacts = opts.artifacts.join(t.name());
    let mut seen: HashSet<u64> = HashSet::new();
    let mut crashes: HashSet<String> = HashSet::new();
    let mut worker = Worker::new(opts.timeout);
    let mut check = |input: &[u8], worker: &mut Worker, report: &mut Report| -> Option<bool> {
        report.execs += 1;
        match worker.run(t, input) {
            Outcome::Ok(features) => {
                let mut new = false;
                for f in features {
                    new |= seen.insert(f);
                }
                Some(new)
            }
            Outcome::Panic(msg) => {
                // One artifact per distinct panic message (location included).
                let first_line = msg.lines().next().unwrap_or_default().to_string();
                if crashes.insert(first_line.clone()) {
                    let p = save(&artifacts, "crash", input);
                    eprintln!(
                        "fuzz {}: CRASH {first_line}\n  input: {}",
                        t.name(),
                        p.display()
                    );
                    report.findings.push((format!("crash: {first_line}"), p));
                }
                *worker = Worker::new(opts.timeout);
                Some(false)
            }
            Outcome::Hang => {
                let p = save(&artifacts, "hang", input);
                eprintln!(
                    "fuzz {}: HANG (over {:?})\n  input: {}",
                    t.name(),
                    opts.timeout,
                    p.display()
                );
                report.findings.push(("hang".into(), p));
                None
            }
        }
    };
    // The seeds themselves first.
    for s in pool.clone() {
        if check(&s, &mut worker, &mut report).is_none() {
            report.elapsed = start.elapsed();
            return report;
        }
    }
    let deadline = start + opts.duration;
    while Instant::now() < deadline && opts.max_execs.is_none_or(|m| report.execs < m) {
        let a = rng.below(pool.len());
        let b = rng.below(pool.len());
        let m = mutate(&mut rng, &pool[a], &pool[b], t);
        match check(&m, &mut worker, &mut report) {
            None => break,
            Some(true) => {
                if let Some(dir) = &opts.save_new {
                    let _ = std::fs::create_dir_all(dir);
                    let _ = std::fs::write(dir.join(format!("{:016x}", hash_bytes(&m))), &m);
                }
                if pool.len() < 8192 {
                    pool.push(m);
                } else {
                    let i = rng.below(pool.len());
                    pool[i] = m;
                }
            }
            Some(false) => {}
        }
    }
    report.pool = pool.len();
    report.features = seen.len();
    report.elapsed = start.elapsed();
    report
}
