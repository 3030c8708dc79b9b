//! The JSON report: version 1 of the contract in `schema/report.schema.json`.

use std::io::{self, Write};

use crate::scan::ScanReport;

pub fn render(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
