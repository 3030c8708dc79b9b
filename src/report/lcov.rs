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

use std::io::{self, Write};

use super::common::{by_file, line_hits, RepoPaths};
use crate::scan::report::ScanReport;

/// Records are lines: names and paths are written with control characters escaped
/// (see [`super::printable`]), so a newline in a quoted name cannot start a record.
pub fn render(report: &ScanReport, paths: &RepoPaths, w: &mut dyn Write) -> io::Result<()> {
    let (_, files) = by_file(report, "lcov", paths)?;
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
