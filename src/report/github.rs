//! GitHub Actions workflow commands: a `::warning` annotation on the defining line of every
//! untested object, and a `::notice` on the test line of every stale assertion, so a pull
//! request shows the gaps next to the migrations that create them.
//!
//! Needs a universe (`--schema` or `--database-url`); objects from a database have no file
//! and are annotated without one.
//!
//! GitHub shows 10 annotations of each level per step and 50 per job, and drops the rest
//! silently: the format writes at most [`MAX_WARNINGS`] warnings, the most important
//! objects first, then one notice saying how many more there are and where to read them.
//! `--changed-files` / `--since` keep the annotations to the files a change touches.

use std::io::{self, Write};

use super::{count, ChangedFiles};
use crate::scan::report::{ScanReport, UniverseSource};

/// Escapes the message part of a workflow command as the runner reads it back (`%`, CR
/// and LF as `%25`, `%0D`, `%0A`), then any other control character as text (an ESC
/// sequence would still reach the log viewer).
fn data(s: &str) -> String {
    let s = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    super::printable(&s).into_owned()
}

/// Escapes a property value (`file=...`, `title=...`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Warnings GitHub shows per step (and per level): it drops the rest without a word. 50
/// annotations per job in all.
pub const MAX_WARNINGS: usize = 10;

/// Notices GitHub shows per step. Two are kept for the "N more" notice and the coverage
/// notice, so stale tests get the rest.
pub const MAX_NOTICES: usize = 10;

/// At most [`MAX_WARNINGS`] warnings, the most important untested objects first (the
/// order of the gaps), and at most `MAX_NOTICES - 2` stale-test notices; then, when any
/// were left out, one notice saying how many and where to read them, and the coverage
/// notice. With `changed`, only objects defined in and stale tests written in those files
/// are annotated.
pub fn render_with(
    report: &ScanReport,
    changed: Option<&ChangedFiles>,
    paths: &super::common::RepoPaths,
    w: &mut dyn Write,
) -> io::Result<()> {
    let Some(s) = &report.schema else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--format github annotates untested objects: add --schema PATH or --database-url",
        ));
    };
    let migrations = s.universe_source == UniverseSource::Migrations;
    // The changed files are relative to the working directory; the report's paths are
    // made relative to the root here, so both sides are (a scan run below the root config's
    // folder compared the two forms and annotated nothing).
    let changed: Option<ChangedFiles> =
        changed.map(|c| c.iter().map(|p| paths.of(p).replace('\\', "/")).collect());
    // Objects read from a database have no file: no change touches them.
    let touched = |file: &str| {
        changed
            .as_ref()
            .is_none_or(|c| c.contains(&paths.of(file.trim()).replace('\\', "/")))
    };
    let (mut gaps_out, mut gaps_untouched) = (0u64, 0u64);
    let mut warnings = 0;
    for g in &s.gaps {
        if !(touched(&g.defined_at.file) && (migrations || changed.is_none())) {
            gaps_untouched += 1;
            continue;
        }
        if warnings == MAX_WARNINGS {
            gaps_out += 1;
            continue;
        }
        warnings += 1;
        let title = property(&format!("Untested {}", g.kind));
        let msg = data(&super::untested_message(&g.key, g.only, s.coverage_mode));
        if migrations {
            writeln!(
                w,
                "::warning file={},line={},title={title}::{msg}",
                property(&paths.of(&g.defined_at.file)),
                g.defined_at.line.max(1)
            )?;
        } else {
            writeln!(w, "::warning title={title}::{msg}")?;
        }
    }
    let (mut stale_out, mut stale_untouched) = (0u64, 0u64);
    let mut notices = 0;
    for x in &s.stale {
        let Some(l) = x.locations.first() else {
            continue;
        };
        if !touched(&l.file) {
            stale_untouched += 1;
            continue;
        }
        if notices == MAX_NOTICES - 2 {
            stale_out += 1;
            continue;
        }
        notices += 1;
        writeln!(
            w,
            "::notice file={},line={},title={}::{}",
            property(&paths.of(&l.file)),
            l.line,
            property("Stale pgTAP assertion"),
            data(&super::common::stale_message(x))
        )?;
    }
    if gaps_out + gaps_untouched + stale_out + stale_untouched > 0 {
        let mut parts = Vec::new();
        if gaps_out > 0 {
            parts.push(format!(
                "{} over GitHub's {MAX_WARNINGS} warnings per step",
                count(gaps_out, "more untested object", "more untested objects")
            ));
        }
        if stale_out > 0 {
            parts.push(format!(
                "{} over its {MAX_NOTICES} notices",
                count(stale_out, "more stale test", "more stale tests")
            ));
        }
        if gaps_untouched + stale_untouched > 0 {
            parts.push(format!(
                "{} and {} in files this change does not touch",
                count(gaps_untouched, "untested object", "untested objects"),
                count(stale_untouched, "stale test", "stale tests")
            ));
        }
        writeln!(
            w,
            "::notice title={}::Not annotated: {}. `pgtap-scan gaps` lists every untested \
             object; the JSON report (--format json) has every gap and stale test.",
            property("More pgTAP coverage gaps"),
            data(&parts.join("; "))
        )?;
    }
    let o = &s.coverage.overall;
    writeln!(
        w,
        "::notice title={}::{} of {} objects tested ({:.1}%)",
        property("pgTAP schema coverage"),
        o.tested,
        o.objects,
        o.percent
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escapes() {
        assert_eq!(data("50%\nnext"), "50%25%0Anext");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(
            property("x\n::error file=y::z\x1b[2J"),
            "x%0A%3A%3Aerror file=y%3A%3Az\\u{1b}[2J"
        );
    }
}
