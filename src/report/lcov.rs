//! LCOV tracefile: schema coverage mapped onto migration files, so existing coverage
//! viewers (genhtml, Codecov, Coveralls, IDE gutters) show which definitions are tested.
//!
//! Per migration file (`SF`): every object of the universe defined in it is a function
//! record (`FN:<line>,<key>` and `FNDA:<assertions>,<key>`), and every line that defines
//! objects is a line record `DA:<line>,<hits>`, hits being the assertions of the object
//! defined there; when several objects share a line, the smallest count, so a line is hit
//! only when everything defined on it is tested.
//!
//! Needs a universe read from migrations (`--schema`): a live database has no lines.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::gaps::{SchemaCoverage, UniverseEntry, UniverseSource};
use crate::scan::ScanReport;

/// Objects by migration file, then by defining line.
pub(crate) type ByFile<'a> = BTreeMap<String, BTreeMap<u32, Vec<&'a UniverseEntry>>>;

/// The universe's objects by file, then by line; errors when there is no file to map to.
pub(crate) fn by_file<'a>(
    report: &'a ScanReport,
    format: &str,
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
            .entry(repo_relative(&e.defined_at.file))
            .or_default()
            .entry(e.defined_at.line.max(1))
            .or_default()
            .push(e);
    }
    Ok((s, files))
}

/// Paths as CI tools want them: relative to the working directory (the repository root in
/// CI) when they are under it, without a leading `./`.
pub(crate) fn repo_relative(path: &str) -> String {
    let p = std::path::Path::new(path);
    if p.is_absolute() {
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(rel) = p.strip_prefix(&cwd) {
                return rel.display().to_string();
            }
        }
    }
    path.trim_start_matches("./").to_string()
}

/// Hits of a line: the smallest assertion count of the objects defined on it.
pub(crate) fn line_hits(objects: &[&UniverseEntry]) -> u64 {
    objects.iter().map(|e| e.assertions).min().unwrap_or(0)
}

/// Records are lines: names and paths are written with control characters escaped
/// (see [`super::printable`]), so a newline in a quoted name cannot start a record.
pub fn render(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    let (_, files) = by_file(report, "lcov")?;
    for (file, lines) in &files {
        writeln!(w, "TN:pgtap-scan")?;
        writeln!(w, "SF:{}", super::printable(file))?;
        let mut fnf = 0;
        let mut fnh = 0;
        for (line, objects) in lines {
            for e in objects {
                writeln!(w, "FN:{line},{}", super::printable(&e.key))?;
            }
        }
        for objects in lines.values() {
            for e in objects {
                writeln!(w, "FNDA:{},{}", e.assertions, super::printable(&e.key))?;
                fnf += 1;
                fnh += u64::from(e.tested());
            }
        }
        writeln!(w, "FNF:{fnf}")?;
        writeln!(w, "FNH:{fnh}")?;
        let mut lh = 0;
        for (line, objects) in lines {
            let hits = line_hits(objects);
            lh += u64::from(hits > 0);
            writeln!(w, "DA:{line},{hits}")?;
        }
        writeln!(w, "LF:{}", lines.len())?;
        writeln!(w, "LH:{lh}")?;
        writeln!(w, "end_of_record")?;
    }
    Ok(())
}
