//! Objects left out of schema coverage on purpose (issue 16): by glob over object keys
//! (`ignore = ["index:*_pkey", "schema:extensions"]` in the config file, `--ignore GLOB`),
//! or by a `-- pgtap-scan: ignore` comment on the line of a migration that defines them;
//! and kinds left out of the overall percentage (`--exclude-from-overall column,index`).
//!
//! Ignored objects are never silently dropped: they leave the percentages, the gaps and
//! the per-object lists, and are listed in [`SchemaCoverage::ignored`] with why.
//!
//! # Patterns
//! A pattern is matched against the whole key (`kind:schema.table.name`, see
//! [`crate::object`]): `*` is any run of characters (dots included), `?` one character,
//! everything else itself, case-sensitive as keys are. The kind before the first `:`
//! must be a kind or `*`. A pattern matching a schema (`schema:extensions`) ignores the
//! objects in that schema too.

use std::collections::{BTreeMap, HashMap};

use crate::gaps::{percent, Ratio, SchemaCoverage};
pub use crate::gaps::{IgnoreSource, Ignored};
use crate::object::ObjectKind;

/// The comment that ignores the objects defined on its line.
pub const COMMENT: &str = "pgtap-scan: ignore";

/// A checked pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The glob as written.
    pub text: String,
    /// Where it was written.
    pub source: IgnoreSource,
}

impl Pattern {
    /// Checks the kind part: `kind:...` with a known kind or `*`.
    pub fn new(text: &str, source: IgnoreSource) -> Result<Pattern, String> {
        let Some((kind, rest)) = text.split_once(':') else {
            return Err(format!(
                "{text:?} is not a key pattern: it starts with a kind and a colon \
                 (index:*_pkey, schema:extensions, *:audit.*)"
            ));
        };
        if rest.is_empty() {
            return Err(format!("{text:?}: nothing after the kind"));
        }
        if kind != "*" && !kind.contains(['*', '?']) && kind.parse::<ObjectKind>().is_err() {
            return Err(format!(
                "{text:?}: {kind:?} is not an object kind ({})",
                ObjectKind::ALL
                    .iter()
                    .filter(|k| k.in_universe())
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(Pattern {
            text: text.to_string(),
            source,
        })
    }

    /// Whether the glob matches the whole key.
    pub fn matches(&self, key: &str) -> bool {
        glob(self.text.as_bytes(), key.as_bytes())
    }
}

/// `*` and `?` over bytes (a `?` meets one byte: keys are ASCII but for quoted names).
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// What to leave out.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    /// Globs over keys, config and flags.
    pub patterns: Vec<Pattern>,
    /// Read `-- pgtap-scan: ignore` comments on the defining lines of migrations.
    pub comments: bool,
    /// Kinds counted per kind but not in the overall percentage.
    pub exclude_from_overall: Vec<ObjectKind>,
}

impl IgnoreRules {
    /// No rule at all: [`apply`] changes nothing.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && !self.comments && self.exclude_from_overall.is_empty()
    }
}

/// Whether a migration line carries the ignore comment: `--` then `pgtap-scan:` and
/// `ignore`, spaces free (`--pgtap-scan:ignore` too).
pub fn line_ignores(line: &str) -> bool {
    let mut rest = line;
    while let Some(at) = rest.find("--") {
        let after = rest[at + 2..].trim_start();
        if let Some(r) = after.strip_prefix("pgtap-scan:") {
            if r.trim_start().starts_with("ignore") {
                return true;
            }
        }
        rest = &rest[at + 2..];
    }
    false
}

/// Applies the rules to a computed schema coverage: ignored objects leave `objects`,
/// `gaps` and the counts and are listed in `ignored`; the overall ratio leaves out
/// `exclude_from_overall`. `read` gives a migration file's text (for the comments);
/// a file it cannot give is skipped (the universe reader has read it already).
pub fn apply(s: &mut SchemaCoverage, rules: &IgnoreRules, read: &dyn Fn(&str) -> Option<String>) {
    if rules.is_empty() {
        return;
    }
    let mut lines_of: HashMap<String, Option<Vec<bool>>> = HashMap::new();
    let comments = rules.comments && s.universe_source == crate::gaps::UniverseSource::Migrations;
    // Schemas a pattern ignores, with the pattern: their objects go too.
    let mut ignored_schemas: HashMap<String, &Pattern> = HashMap::new();
    // (Not a platform pattern: a platform's schema holds the project's own objects too,
    // a trigger on `auth.users`; its patterns name what they leave out.)
    for e in &s.objects {
        if e.kind == ObjectKind::Schema {
            if let Some(p) = rules
                .patterns
                .iter()
                .filter(|p| p.source != IgnoreSource::Platform)
                .find(|p| p.matches(&e.key))
            {
                ignored_schemas.insert(e.key["schema:".len()..].to_string(), p);
            }
        }
    }
    let mut kept = Vec::with_capacity(s.objects.len());
    for e in std::mem::take(&mut s.objects) {
        let by_pattern = rules
            .patterns
            .iter()
            .find(|p| p.matches(&e.key))
            .or_else(|| {
                crate::object::ObjectKey::parse(&e.key)
                    .ok()
                    .and_then(|k| k.schema)
                    .and_then(|schema| ignored_schemas.get(&schema).copied())
            });
        let by_comment = comments && !e.defined_at.file.is_empty() && {
            let lines = lines_of
                .entry(e.defined_at.file.clone())
                .or_insert_with(|| {
                    read(&e.defined_at.file).map(|t| t.lines().map(line_ignores).collect())
                });
            lines.as_ref().is_some_and(|l| {
                (e.defined_at.line as usize)
                    .checked_sub(1)
                    .and_then(|i| l.get(i))
                    .copied()
                    .unwrap_or(false)
            })
        };
        let (source, pattern) = match (by_pattern, by_comment) {
            // A platform pattern is the object's own key: nothing to add.
            (Some(p), _) if p.source == IgnoreSource::Platform => (p.source.clone(), None),
            (Some(p), _) => (p.source.clone(), Some(p.text.clone())),
            (None, true) => (IgnoreSource::Comment, None),
            (None, false) => {
                kept.push(e);
                continue;
            }
        };
        s.ignored.push(Ignored {
            key: e.key.clone(),
            kind: e.kind,
            defined_at: e.defined_at.clone(),
            source,
            pattern,
            tested: e.tested(),
        });
    }
    s.objects = kept;
    let gone: std::collections::HashSet<&str> = s.ignored.iter().map(|i| i.key.as_str()).collect();
    s.gaps.retain(|g| !gone.contains(g.key.as_str()));
    s.ignored.sort_by(|a, b| {
        (a.kind.importance(), a.kind, &a.key).cmp(&(b.kind.importance(), b.kind, &b.key))
    });
    // The counts again, from what is left.
    let mut by_kind: BTreeMap<ObjectKind, Ratio> = BTreeMap::new();
    let mut overall = Ratio::default();
    for e in &s.objects {
        let r = by_kind.entry(e.kind).or_default();
        r.objects += 1;
        r.tested += u64::from(e.tested());
        if !rules.exclude_from_overall.contains(&e.kind) {
            overall.objects += 1;
            overall.tested += u64::from(e.tested());
        }
    }
    for r in by_kind.values_mut() {
        r.percent = percent(r.tested, r.objects);
    }
    overall.percent = percent(overall.tested, overall.objects);
    s.coverage.overall = overall;
    s.coverage.by_kind = by_kind;
    s.coverage.excluded_from_overall = rules.exclude_from_overall.clone();
    s.coverage.excluded_from_overall.sort();
    s.coverage.excluded_from_overall.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_cross_dots_and_anchor_both_ends() {
        let p = |t: &str| Pattern::new(t, IgnoreSource::Flag).expect("a pattern");
        assert!(p("index:*_pkey").matches("index:app.users.users_pkey"));
        assert!(!p("index:*_pkey").matches("index:app.users.users_pkey_old"));
        assert!(p("schema:extensions").matches("schema:extensions"));
        assert!(!p("schema:extensions").matches("schema:extensions2"));
        assert!(p("*:audit.*").matches("table:audit.log"));
        assert!(p("column:app.users.?d").matches("column:app.users.id"));
        assert!(!p("table:*").matches("view:app.v"));
    }

    #[test]
    fn a_pattern_names_a_kind() {
        assert!(Pattern::new("users", IgnoreSource::Config).is_err());
        let e = Pattern::new("tabel:x", IgnoreSource::Config).expect_err("unknown kind");
        assert!(e.contains("\"tabel\" is not an object kind"), "{e}");
        assert!(Pattern::new("*:x", IgnoreSource::Config).is_ok());
        assert!(Pattern::new("table:", IgnoreSource::Config).is_err());
    }

    #[test]
    fn the_comment_is_found_after_sql_on_the_line() {
        assert!(line_ignores("CREATE TABLE t (); -- pgtap-scan: ignore"));
        assert!(line_ignores("  id int, --pgtap-scan:ignore (legacy)"));
        assert!(line_ignores("x -- note -- pgtap-scan: ignore"));
        assert!(!line_ignores("CREATE TABLE t (); -- pgtap-scan: keep"));
        assert!(!line_ignores("CREATE TABLE t ();"));
    }
}
