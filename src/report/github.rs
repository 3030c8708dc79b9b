//! GitHub Actions workflow commands: a `::warning` annotation on the defining line of every
//! untested object, and a `::notice` on the test line of every stale assertion, so a pull
//! request shows the gaps next to the migrations that create them.
//!
//! Needs a universe (`--schema` or `--database-url`); objects from a database have no file
//! and are annotated without one.

use std::io::{self, Write};

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

pub fn render(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    let Some(s) = &report.schema else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--format github annotates untested objects: add --schema PATH or --database-url",
        ));
    };
    for g in &s.gaps {
        let title = property(&format!("Untested {}", g.kind));
        let msg = data(&super::untested_message(&g.key, g.only, s.coverage_mode));
        if s.universe_source == UniverseSource::Migrations {
            writeln!(
                w,
                "::warning file={},line={},title={title}::{msg}",
                property(&super::common::repo_relative(&g.defined_at.file)),
                g.defined_at.line.max(1)
            )?;
        } else {
            writeln!(w, "::warning title={title}::{msg}")?;
        }
    }
    for x in &s.stale {
        let Some(l) = x.locations.first() else {
            continue;
        };
        let msg = if x.only_absent {
            format!(
                "{} asserts that {} does not exist; it passes, but no such object exists in the schema at all (renamed? a typo?)",
                l.function, x.key
            )
        } else {
            format!(
                "{} tests {}, which does not exist in the schema",
                l.function, x.key
            )
        };
        writeln!(
            w,
            "::notice file={},line={},title={}::{}",
            property(&super::common::repo_relative(&l.file)),
            l.line,
            property("Stale pgTAP assertion"),
            data(&msg)
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
