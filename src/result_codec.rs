//! The codec of `--cache DIR`: how a [`FileResult`] is encoded for the pipeline's blob
//! store (the store itself is `pipeline::cache`), and what a cache's results depend on
//! besides the file (its *namespace*).
//!
//! The encoding is our own compact binary format rather than postcard or bincode through
//! serde: the model's serde attributes serve the JSON contract (`skip_serializing_if`,
//! `Context` as one string), and a format without field names cannot read back what they
//! skip, so serde would need a second, mirrored set of types. A hand codec is one screen,
//! has no dependency, and decodes with no intermediate values: LEB128 integers, and strings
//! interned per file (a function name, kind or object key written again is a back
//! reference), which makes an entry about a third of the file it came from on generated
//! suites. `decode` checks every length and returns `None` on anything unexpected; the
//! store has already verified a checksum, so that only happens with a codec change that
//! forgot to bump [`CODEC_VERSION`].

use std::collections::HashMap;

use crate::config::ExtractOptions;
use crate::model::{
    Assertion, Attribution, Command, Context, Created, Diagnostic, FileResult, Include, Name,
    Outcome, PlanDecl, RefKind, Reference, ResolutionKind,
};
use crate::object::{Aspect, ObjectKind};

/// Bump when the encoding or the meaning of a stored result changes.
pub const CODEC_VERSION: u32 = 4;

/// Everything a stored result depends on besides the file's bytes: the tool (version,
/// codec, catalog, and the executable itself, so a rebuilt binary never trusts results of
/// an older build) and the extraction options. A cache made under another namespace is
/// ignored. The first line is what a warning shows.
pub fn namespace(opts: &ExtractOptions) -> Vec<u8> {
    let catalog = xxhash_rust::xxh3::xxh3_64(format!("{:?}", crate::catalog::FUNCTIONS).as_bytes());
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{} {mtime}", m.len())
        })
        .unwrap_or_default();
    format!(
        "pgtap-scan {} codec {CODEC_VERSION}\ncatalog {catalog:016x}\nexe {exe}\nsearch-path {:?}\ninclude-commented {}\nhelpers {:?}\npgtap-schemas {:?}\nrole-helpers {:?}\nreferences {}",
        env!("CARGO_PKG_VERSION"),
        opts.search_path,
        opts.include_commented,
        opts.helpers,
        opts.pgtap_schemas,
        opts.role_helpers,
        opts.references,
    )
    .into_bytes()
}

/// The [`pipeline::Codec`] for extraction results.
pub struct FileResultCodec;

impl pipeline::Codec<FileResult> for FileResultCodec {
    fn encode(&self, r: &FileResult, out: &mut Vec<u8>) {
        encode(r, out);
    }
    fn decode(&self, bytes: &[u8]) -> Option<FileResult> {
        decode(bytes)
    }
}

struct Enc<'a, 'o> {
    out: &'o mut Vec<u8>,
    strings: HashMap<&'a str, u32>,
}

impl<'a> Enc<'a, '_> {
    fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }
    fn flag(&mut self, b: bool) {
        self.out.push(u8::from(b));
    }
    /// 0 then the bytes for a string not seen yet in this file; otherwise 1 + its index.
    fn str(&mut self, s: &'a str) {
        match self.strings.get(s) {
            Some(&i) => self.uint(u64::from(i) + 1),
            None => {
                let i = self.strings.len() as u32;
                self.strings.insert(s, i);
                self.uint(0);
                self.uint(s.len() as u64);
                self.out.extend_from_slice(s.as_bytes());
            }
        }
    }
    fn opt<S: AsRef<str>>(&mut self, s: &'a Option<S>) {
        self.flag(s.is_some());
        if let Some(s) = s {
            self.str(s.as_ref());
        }
    }
    fn strs(&mut self, v: &'a [String]) {
        self.uint(v.len() as u64);
        for s in v {
            self.str(s);
        }
    }
    fn diags(&mut self, v: &'a [Diagnostic]) {
        self.uint(v.len() as u64);
        for d in v {
            self.uint(d.line.into());
            self.uint(d.column.into());
            self.str(&d.message);
        }
    }
}

pub fn encode(r: &FileResult, out: &mut Vec<u8>) {
    let mut e = Enc {
        out,
        strings: HashMap::new(),
    };
    e.uint(r.tests);
    e.out
        .push(u8::from(r.tests_inexact) | u8::from(r.runs_tests) << 1 | u8::from(r.finish) << 2);
    match r.plan {
        None => e.out.push(0),
        Some(PlanDecl::Fixed { count, line }) => {
            e.out.push(1);
            e.uint(count);
            e.uint(line.into());
        }
        Some(PlanDecl::Dynamic { line }) => {
            e.out.push(2);
            e.uint(line.into());
        }
        Some(PlanDecl::NoPlan { line }) => {
            e.out.push(3);
            e.uint(line.into());
        }
    }
    e.uint(r.assertions.len() as u64);
    for a in &r.assertions {
        e.str(&a.function);
        e.str(a.kind_name());
        e.opt(&a.object);
        e.uint(a.line.into());
        e.uint(a.column.into());
        match &a.context {
            Context::Top => e.out.push(0),
            Context::Do => e.out.push(1),
            Context::Body(name) => {
                e.out.push(2);
                e.str(name);
            }
        }
        e.opt(&a.description);
        e.opt(&a.aspect);
        e.out
            .push(u8::from(a.negated) | u8::from(a.dynamic) << 1 | u8::from(a.commented) << 2);
        e.out.push(match a.resolution {
            ResolutionKind::Exact => 0,
            ResolutionKind::Runtime => 1,
            ResolutionKind::Ambiguous => 2,
            ResolutionKind::Undecidable => 3,
            ResolutionKind::Rejected => 4,
            ResolutionKind::Helper => 5,
        });
        e.strs(&a.members);
        e.strs(&a.references);
        e.strs(&a.readings);
    }
    e.uint(r.includes.len() as u64);
    for i in &r.includes {
        e.str(&i.path);
        e.flag(i.relative);
        e.uint(i.line.into());
    }
    e.diags(&r.errors);
    e.diags(&r.warnings);
    e.uint(r.references.len() as u64);
    for x in &r.references {
        e.out.push(ref_kind_byte(x.kind));
        e.opt(&x.schema);
        e.str(&x.name);
        e.opt(&x.relation);
        e.out.push(match x.command {
            None => 0,
            Some(Command::Select) => 1,
            Some(Command::Insert) => 2,
            Some(Command::Update) => 3,
            Some(Command::Delete) => 4,
            Some(Command::Merge) => 5,
            Some(Command::Truncate) => 6,
            Some(Command::Copy) => 7,
        });
        // Optional numbers as n + 1, 0 for none.
        e.uint(x.arity.map_or(0, |n| u64::from(n) + 1));
        e.uint(x.line.into());
        e.opt(&x.role);
        e.uint(x.assertion.map_or(0, |n| u64::from(n) + 1));
        e.out.push(match x.attribution {
            None => 0,
            Some(Attribution::Asserted) => 1,
            Some(Attribution::Exercised) => 2,
        });
        e.out.push(match x.expected {
            None => 0,
            Some(Outcome::Allowed) => 1,
            Some(Outcome::Denied) => 2,
            Some(Outcome::Raises) => 3,
            Some(Outcome::Filtered) => 4,
        });
        e.opt(&x.sqlstate);
    }
    e.uint(r.sql_strings_unreadable);
    e.uint(r.select_calls.len() as u64);
    for (name, line) in &r.select_calls {
        e.str(name);
        e.uint(u64::from(*line));
    }
    e.uint(r.created.len() as u64);
    for c in &r.created {
        e.out.push(ref_kind_byte(c.kind));
        e.opt(&c.schema);
        e.str(&c.name);
    }
}

fn ref_kind_byte(k: RefKind) -> u8 {
    match k {
        RefKind::Function => 0,
        RefKind::Relation => 1,
        RefKind::Column => 2,
        RefKind::Sequence => 3,
        RefKind::Type => 4,
    }
}

fn ref_kind_of(b: u8) -> Option<RefKind> {
    Some(match b {
        0 => RefKind::Function,
        1 => RefKind::Relation,
        2 => RefKind::Column,
        3 => RefKind::Sequence,
        4 => RefKind::Type,
        _ => return None,
    })
}

struct Dec<'a> {
    b: &'a [u8],
    strings: Vec<&'a str>,
    /// `strings[i]` as a catalog name, once asked for: a file repeats the same few
    /// function names, each looked up in the catalog once.
    names: Vec<Option<Name>>,
}

impl<'a> Dec<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&x, rest) = self.b.split_first()?;
        self.b = rest;
        Some(x)
    }
    fn uint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let x = self.byte()?;
            n |= u64::from(x & 0x7f) << shift;
            if x & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }
    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint()?).ok()
    }
    fn flag(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    /// A count of items that each take at least one byte: never more than what is left,
    /// so a corrupt count cannot make a huge allocation.
    fn count(&mut self) -> Option<usize> {
        usize::try_from(self.uint()?)
            .ok()
            .filter(|&n| n <= self.b.len())
    }
    /// The next string and its index in `strings`.
    fn str_at(&mut self) -> Option<(usize, &'a str)> {
        let tag = usize::try_from(self.uint()?).ok()?;
        if tag > 0 {
            return self.strings.get(tag - 1).map(|s| (tag - 1, *s));
        }
        let len = usize::try_from(self.uint()?).ok()?;
        let bytes = self.b.get(..len)?;
        self.b = &self.b[len..];
        let s = std::str::from_utf8(bytes).ok()?;
        self.strings.push(s);
        Some((self.strings.len() - 1, s))
    }
    fn str(&mut self) -> Option<String> {
        self.str_at().map(|(_, s)| s.to_string())
    }
    /// A catalog name: borrowed from the catalog, not allocated, when it is one.
    fn name(&mut self) -> Option<Name> {
        let (i, s) = self.str_at()?;
        if let Some(Some(n)) = self.names.get(i) {
            return Some(n.clone());
        }
        let n = crate::catalog::name(s);
        if self.names.len() <= i {
            self.names.resize(i + 1, None);
        }
        self.names[i] = Some(n.clone());
        Some(n)
    }
    /// An assertion's kind, by name (`none`: no object).
    fn kind(&mut self) -> Option<Option<ObjectKind>> {
        let (_, s) = self.str_at()?;
        ObjectKind::from_catalog_name(s).ok()
    }
    fn opt_aspect(&mut self) -> Option<Option<Aspect>> {
        Some(if self.flag()? {
            Some(Aspect::from_name(self.str_at()?.1))
        } else {
            None
        })
    }
    fn opt(&mut self) -> Option<Option<String>> {
        Some(if self.flag()? {
            Some(self.str()?)
        } else {
            None
        })
    }
    fn strs(&mut self) -> Option<Vec<String>> {
        let n = self.count()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.str()?);
        }
        Some(v)
    }
    fn diags(&mut self) -> Option<Vec<Diagnostic>> {
        let n = self.count()?;
        (0..n)
            .map(|_| {
                Some(Diagnostic {
                    line: self.u32()?,
                    column: self.u32()?,
                    message: self.str()?,
                })
            })
            .collect()
    }
}

pub fn decode(bytes: &[u8]) -> Option<FileResult> {
    let mut d = Dec {
        b: bytes,
        strings: Vec::new(),
        names: Vec::new(),
    };
    let tests = d.uint()?;
    let flags = d.byte()?;
    let plan = match d.byte()? {
        0 => None,
        1 => Some(PlanDecl::Fixed {
            count: d.uint()?,
            line: d.u32()?,
        }),
        2 => Some(PlanDecl::Dynamic { line: d.u32()? }),
        3 => Some(PlanDecl::NoPlan { line: d.u32()? }),
        _ => return None,
    };
    let n = d.count()?;
    let mut assertions = Vec::with_capacity(n);
    for _ in 0..n {
        let function = d.name()?;
        let kind = d.kind()?;
        let object = d.opt()?;
        let line = d.u32()?;
        let column = d.u32()?;
        let context = match d.byte()? {
            0 => Context::Top,
            1 => Context::Do,
            2 => Context::Body(d.str()?),
            _ => return None,
        };
        let description = d.opt()?;
        let aspect = d.opt_aspect()?;
        let f = d.byte()?;
        let resolution = match d.byte()? {
            0 => ResolutionKind::Exact,
            1 => ResolutionKind::Runtime,
            2 => ResolutionKind::Ambiguous,
            3 => ResolutionKind::Undecidable,
            4 => ResolutionKind::Rejected,
            5 => ResolutionKind::Helper,
            _ => return None,
        };
        assertions.push(Assertion {
            function,
            kind,
            object,
            line,
            column,
            context,
            description,
            aspect,
            negated: f & 1 != 0,
            dynamic: f & 2 != 0,
            commented: f & 4 != 0,
            members: d.strs()?,
            references: d.strs()?,
            resolution,
            readings: d.strs()?,
        });
    }
    let n = d.count()?;
    let mut includes = Vec::with_capacity(n);
    for _ in 0..n {
        includes.push(Include {
            path: d.str()?,
            relative: d.flag()?,
            line: d.u32()?,
        });
    }
    let errors = d.diags()?;
    let warnings = d.diags()?;
    let n = d.count()?;
    let mut references = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = ref_kind_of(d.byte()?)?;
        let schema = d.opt()?;
        let name = d.str()?;
        let relation = d.opt()?;
        let command = match d.byte()? {
            0 => None,
            1 => Some(Command::Select),
            2 => Some(Command::Insert),
            3 => Some(Command::Update),
            4 => Some(Command::Delete),
            5 => Some(Command::Merge),
            6 => Some(Command::Truncate),
            7 => Some(Command::Copy),
            _ => return None,
        };
        let plus_one = |n: u64| -> Option<Option<u32>> {
            match n {
                0 => Some(None),
                n => u32::try_from(n - 1).ok().map(Some),
            }
        };
        let arity = plus_one(d.uint()?)?;
        let line = d.u32()?;
        let role = d.opt()?;
        let assertion = plus_one(d.uint()?)?;
        let attribution = match d.byte()? {
            0 => None,
            1 => Some(Attribution::Asserted),
            2 => Some(Attribution::Exercised),
            _ => return None,
        };
        let expected = match d.byte()? {
            0 => None,
            1 => Some(Outcome::Allowed),
            2 => Some(Outcome::Denied),
            3 => Some(Outcome::Raises),
            4 => Some(Outcome::Filtered),
            _ => return None,
        };
        let sqlstate = d.opt()?;
        references.push(Reference {
            kind,
            schema,
            name,
            relation,
            command,
            arity,
            line,
            role,
            assertion,
            attribution,
            expected,
            sqlstate,
        });
    }
    let sql_strings_unreadable = d.uint()?;
    let n = usize::try_from(d.uint()?).ok()?;
    let mut select_calls = Vec::with_capacity(n.min(d.b.len()));
    for _ in 0..n {
        let name = d.str()?;
        let line = u32::try_from(d.uint()?).ok()?;
        select_calls.push((name, line));
    }
    let n = usize::try_from(d.uint()?).ok()?;
    let mut created = Vec::with_capacity(n.min(d.b.len()));
    for _ in 0..n {
        let kind = ref_kind_of(d.byte()?)?;
        let schema = d.opt()?;
        let name = d.str()?;
        created.push(Created { kind, schema, name });
    }
    if !d.b.is_empty() {
        return None;
    }
    Some(FileResult {
        assertions,
        plan,
        tests,
        tests_inexact: flags & 1 != 0,
        runs_tests: flags & 2 != 0,
        finish: flags & 4 != 0,
        includes,
        errors,
        warnings,
        references,
        sql_strings_unreadable,
        select_calls,
        created,
        // Never cached: a run that caches keeps the references themselves.
        references_counted: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Extractor;
    use proptest::prelude::*;

    fn round_trip(src: &str) {
        let r = Extractor::new(ExtractOptions {
            references: true,
            ..ExtractOptions::default()
        })
        .extract(src.as_bytes());
        let mut out = Vec::new();
        encode(&r, &mut out);
        assert_eq!(decode(&out).as_ref(), Some(&r), "{src}");
        // Every strict prefix is rejected, never misread or a panic.
        for n in 0..out.len() {
            assert!(decode(&out[..n]).is_none());
        }
    }

    #[test]
    fn sample_suite_round_trips() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/tests");
        let mut n = 0;
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if let Ok(src) = std::fs::read_to_string(e.path()) {
                round_trip(&src);
                n += 1;
            }
        }
        assert!(n > 5);
    }

    #[test]
    fn every_field_round_trips() {
        round_trip(
            "SELECT plan(3);\n\\ir inc/x.sql\nSELECT has_index('a','b','c');\n\
             CREATE FUNCTION t() RETURNS SETOF text AS $$ BEGIN RETURN NEXT tables_are('s', ARRAY['a','b']); END $$ LANGUAGE plpgsql;\n\
             DO $$ BEGIN PERFORM hasnt_table('x' || y); END $$;\nSELECT is(1, 'unterminated);\n",
        );
        round_trip("SELECT no_plan(); SELECT table_privs_are('t', 'r', ARRAY['SELECT']); SELECT * FROM finish();");
    }

    #[test]
    fn behavioural_references_round_trip() {
        let src = "BEGIN;\nSET LOCAL ROLE authenticated;\n\
                   INSERT INTO app.t (a) VALUES (nextval('app.s'));\n\
                   SELECT throws_ok($$ update app.t set a = app.f(1)::app.mood $$, '42501');\n\
                   SELECT is_empty('select a from app.t');\nSELECT lives_ok('select ''unterminated');\n\
                   SELECT is(1, 1);\nSELECT app.g();\nROLLBACK;\n\
                   CREATE TEMP TABLE scratch AS SELECT 1 AS x;\nSELECT 1 AS y INTO TEMP kept;\n";
        let r = Extractor::new(ExtractOptions {
            references: true,
            ..ExtractOptions::default()
        })
        .extract(src.as_bytes());
        assert!(r.references.len() >= 8, "{:#?}", r.references);
        assert_eq!(r.sql_strings_unreadable, 1);
        for kind in [
            RefKind::Function,
            RefKind::Relation,
            RefKind::Column,
            RefKind::Sequence,
            RefKind::Type,
        ] {
            assert!(r.references.iter().any(|x| x.kind == kind), "{kind:?}");
        }
        assert!(r
            .references
            .iter()
            .any(|x| x.expected == Some(Outcome::Denied) && x.sqlstate.is_some()));
        assert!(r.references.iter().any(|x| x.assertion.is_none()));
        assert_eq!(r.created.len(), 2, "{:#?}", r.created);
        round_trip(src);
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }
    }
}
