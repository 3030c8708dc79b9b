//! NDJSON: one line per file (the JSON report's file object, recognised by `path`), then
//! one line per covered object (the JSON report's `objects` entry, recognised by `key`),
//! then a last line with `{"version", "summary", "stats", "statistics", "messages", ...}`
//! and, with a universe, the schema coverage members of the JSON report. In streaming mode
//! file lines are written as files are aggregated (arrival order); in standard mode they
//! come sorted by path. Object lines are always sorted by key.

use std::io::{self, Write};

use serde::Serialize;

use crate::scan::report::{
    FileReport, Message, ScanReport, SchemaCoverage, Statistics, Stats, Summary,
};

#[derive(Serialize)]
struct Last<'a> {
    version: u32,
    summary: &'a Summary,
    stats: &'a Stats,
    statistics: &'a Statistics,
    messages: &'a [Message],
    messages_omitted: u64,
    /// With a universe: `coverage`, `gaps`, `stale`, `universe_source`, ... as in JSON.
    #[serde(flatten)]
    schema: Option<&'a SchemaCoverage>,
}

pub fn file_line(f: &FileReport, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *w, f).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

pub fn render(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    // A concrete buffer so serde_json's small writes inline (see `json::CHUNK`).
    let mut buf = io::BufWriter::with_capacity(super::common::CHUNK, w);
    let w = &mut buf;
    if let Some(files) = &report.files {
        for f in files {
            serde_json::to_writer(&mut *w, f).map_err(io::Error::from)?;
            w.write_all(b"\n")?;
        }
    }
    for o in &report.coverage.objects {
        serde_json::to_writer(&mut *w, o).map_err(io::Error::from)?;
        w.write_all(b"\n")?;
    }
    serde_json::to_writer(
        &mut *w,
        &Last {
            version: report.version,
            summary: &report.summary,
            stats: &report.stats,
            statistics: &report.coverage.statistics,
            messages: &report.messages,
            messages_omitted: report.messages_omitted,
            schema: report.schema.as_ref(),
        },
    )
    .map_err(io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()
}
