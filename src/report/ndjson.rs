//! NDJSON: one line per file (the JSON report's file object), then a last line with
//! `{"summary": ..., "stats": ...}`. In streaming mode file lines are written as files are
//! aggregated (arrival order); in standard mode they come sorted by path.

use std::io::{self, Write};

use serde::Serialize;

use crate::scan::{FileReport, ScanReport, Stats, Summary};

#[derive(Serialize)]
struct Last<'a> {
    version: u32,
    summary: &'a Summary,
    stats: &'a Stats,
}

pub fn file_line(f: &FileReport, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *w, f).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

pub fn render(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    if let Some(files) = &report.files {
        for f in files {
            file_line(f, w)?;
        }
    }
    serde_json::to_writer(
        &mut *w,
        &Last {
            version: report.version,
            summary: &report.summary,
            stats: &report.stats,
        },
    )
    .map_err(io::Error::other)?;
    w.write_all(b"\n")
}
