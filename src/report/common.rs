//! Helpers every format may use, so that no format imports another: text safe for a
//! terminal or a CI log, XML escaping, paths as CI tools want them, the universe's objects
//! by migration file and line (for the formats that map coverage onto migrations), and the
//! buffer size for serde_json output.

use std::collections::BTreeMap;
use std::io;

use crate::scan::report::{ScanReport, SchemaCoverage, UniverseEntry, UniverseSource};

/// serde_json writes a report in millions of small pieces. Through `dyn Write` each is a
/// virtual call; a concrete buffer here lets them inline, and the caller's writer sees
/// 64 KiB chunks.
pub(crate) const CHUNK: usize = 64 * 1024;

/// `1 warning`, `2 warnings`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `s` safe to print on a terminal or in a CI log: control characters (C0, DEL, C1, so
/// newlines and the ESC of terminal sequences) and the bidirectional-text controls that
/// can reorder what a reader sees are written as escapes (`\n`, `\r`, `\t`, `\u{1b}`).
/// Names and paths come from the files scanned; printed raw, a file name with a newline
/// and `::error ...` would inject a GitHub Actions command into the job log, and an ESC
/// sequence would drive the terminal. Everything else, backslashes included, is kept.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Escapes text for XML 1.0 attributes and content; characters XML 1.0 cannot carry at all
/// (most C0 controls) become U+FFFD.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Paths as CI tools want them: relative to the repository root
/// ([`super::RenderOptions::root`]: the root config's folder, wherever the scan was run
/// from) when they are under it, else to the working directory (the repository root in
/// CI) when they are under that, without a leading `./`.
pub(crate) struct RepoPaths {
    /// The root, absolute and lexically normal; `None`: the working directory only.
    root: Option<std::path::PathBuf>,
    cwd: Option<std::path::PathBuf>,
}

impl RepoPaths {
    /// Paths relative to `root` (absolute, or relative to the working directory).
    pub(crate) fn new(root: Option<&std::path::Path>) -> RepoPaths {
        let cwd = std::env::current_dir().ok();
        let root = match (root, &cwd) {
            (Some(r), _) if r.is_absolute() => Some(crate::includes::normalize(r)),
            (Some(r), Some(cwd)) => Some(crate::includes::normalize(&cwd.join(r))),
            _ => None,
        };
        RepoPaths { root, cwd }
    }

    /// `path` (as the report has it: relative to the working directory, or absolute) as
    /// CI tools want it.
    pub(crate) fn of(&self, path: &str) -> String {
        let p = std::path::Path::new(path);
        if let (Some(root), Some(cwd)) = (&self.root, &self.cwd) {
            let whole = crate::includes::normalize(&cwd.join(p));
            if let Ok(rel) = whole.strip_prefix(root) {
                if !rel.as_os_str().is_empty() {
                    return rel.display().to_string();
                }
            }
        }
        if p.is_absolute() {
            if let Some(rel) = self.cwd.as_deref().and_then(|c| p.strip_prefix(c).ok()) {
                return rel.display().to_string();
            }
        }
        path.trim_start_matches("./").to_string()
    }
}

/// A stable fingerprint for a finding about an object: 32 hex digits (XXH3-128) of the
/// finding's rule and the object's key, so it survives the definition moving to another
/// line or file, and two findings about one object (untested, stale) never share one.
/// SARIF `partialFingerprints` and GitLab Code Quality `fingerprint` use it.
pub(crate) fn fingerprint(rule: &str, key: &str) -> String {
    let mut bytes = Vec::with_capacity(rule.len() + 1 + key.len());
    bytes.extend_from_slice(rule.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(key.as_bytes());
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes))
}

/// The rule id of an untested object of a kind (`untested-table`): one per kind, so a
/// CI view can filter or silence a kind.
pub(crate) fn untested_rule(kind: crate::object::ObjectKind) -> String {
    format!("untested-{}", kind.name().replace('_', "-"))
}

/// The rule id of an assertion naming an object the schema does not hold.
pub(crate) const STALE_RULE: &str = "stale-assertion";

/// What a stale assertion's finding says.
pub(crate) fn stale_message(x: &crate::gaps::Stale) -> String {
    let function = x.locations.first().map_or("an assertion", |l| &*l.function);
    if x.only_absent {
        format!(
            "{function} asserts that {} does not exist; it passes, but no such object exists in the schema at all (renamed? a typo?)",
            x.key
        )
    } else {
        format!(
            "{function} tests {}, which does not exist in the schema",
            x.key
        )
    }
}

/// Objects by migration file, then by defining line.
pub(crate) type ByFile<'a> = BTreeMap<String, BTreeMap<u32, Vec<&'a UniverseEntry>>>;

/// The universe's objects by file, then by line; errors when there is no file to map to.
pub(crate) fn by_file<'a>(
    report: &'a ScanReport,
    format: &str,
    paths: &RepoPaths,
) -> io::Result<(&'a SchemaCoverage, ByFile<'a>)> {
    let Some(s) = &report.schema else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("--format {format} maps objects to migration lines: add --schema PATH"),
        ));
    };
    if s.universe_source == UniverseSource::Database {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "--format {format} maps objects to the lines of migration files; a universe \
                 read from a database has none: use --schema PATH"
            ),
        ));
    }
    let mut files: ByFile = BTreeMap::new();
    for e in &s.objects {
        files
            .entry(paths.of(&e.defined_at.file))
            .or_default()
            .entry(e.defined_at.line.max(1))
            .or_default()
            .push(e);
    }
    Ok((s, files))
}

/// Hits of a line: the smallest assertion count of the objects defined on it.
pub(crate) fn line_hits(objects: &[&UniverseEntry]) -> u64 {
    objects.iter().map(|e| e.assertions).min().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{printable, xml_escape};

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(printable("plain/path.sql"), "plain/path.sql");
        assert_eq!(
            printable("a\n::error file=x::pwned\x1b[31m\u{202E}é\\"),
            "a\\n::error file=x::pwned\\u{1b}[31m\\u{202e}é\\"
        );
        assert_eq!(printable("\r\t\u{7f}\u{85}"), "\\r\\t\\u{7f}\\u{85}");
    }

    #[test]
    fn xml_escape_covers_markup_and_illegal_characters() {
        assert_eq!(
            xml_escape("a<b>&\"c'\u{1}\td"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}\td"
        );
    }
}
