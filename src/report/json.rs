//! The JSON report: version 1 of the contract in `schema/report.schema.json`.

use std::io::{self, BufWriter, Write};

use super::common::CHUNK;
use crate::scan::report::{Coverage, Gap, ScanReport, SchemaCoverage, UniverseSource};

/// The report; with a baseline (`--baseline`), its comparison as the last member,
/// `baseline`.
pub fn render(
    report: &ScanReport,
    baseline: Option<&crate::baseline::Baseline>,
    w: &mut dyn Write,
) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct WithBaseline<'a> {
        #[serde(flatten)]
        report: &'a ScanReport,
        baseline: &'a crate::baseline::Baseline,
    }
    let mut w = BufWriter::with_capacity(CHUNK, w);
    // Generic, not `&mut dyn Write`: serde_json writes token by token, and through a
    // vtable the buffer's fast path is not inlined (+44% instructions for the report of
    // the 2k bench tree, 187M -> 269M).
    fn write<W: Write>(
        report: &ScanReport,
        baseline: Option<&crate::baseline::Baseline>,
        w: W,
    ) -> serde_json::Result<()> {
        match baseline {
            None => serde_json::to_writer_pretty(w, report),
            Some(baseline) => serde_json::to_writer_pretty(w, &WithBaseline { report, baseline }),
        }
    }
    match &report.coverage.on_disk {
        Some(kept) if kept.in_cache() => {
            // The objects' text is kept in the `--cache` folder (see
            // `ScanConfig::objects_kept`): the report around an empty `objects` array,
            // the array copied in.
            let mut shell = report.clone();
            shell.coverage.on_disk = None;
            let mut around = Vec::new();
            write(&shell, baseline, &mut around).map_err(io::Error::from)?;
            // A JSON string holds no raw newline: this is the report's own member.
            let marker: &[u8] = b"\n  \"objects\": []";
            let Some(at) = around.windows(marker.len()).position(|m| m == marker) else {
                return Err(io::Error::other("the JSON report has no objects member"));
            };
            let at = at + marker.len() - 2;
            w.write_all(&around[..at])?;
            kept.write_kept_json(&mut w).unwrap_or(Ok(()))?;
            w.write_all(&around[at + 2..])?;
        }
        _ => write(report, baseline, &mut w).map_err(io::Error::from)?,
    }
    w.write_all(b"\n")?;
    w.flush()
}

/// `pgtap-scan gaps --format json` (`schema/gaps.schema.json`): the untested objects of
/// the universe with where each is defined, and the counts they come from.
pub fn render_gaps(s: &SchemaCoverage, w: &mut dyn Write) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Gaps<'a> {
        version: u32,
        universe_source: UniverseSource,
        /// Untested objects, per kind and in all.
        untested: u64,
        coverage: &'a Coverage,
        gaps: &'a [Gap],
    }
    let mut w = BufWriter::with_capacity(CHUNK, w);
    let doc = Gaps {
        version: 1,
        universe_source: s.universe_source,
        untested: s.gaps.len() as u64,
        coverage: &s.coverage,
        gaps: &s.gaps,
    };
    serde_json::to_writer_pretty(&mut w, &doc).map_err(io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()
}
