//! The JSON report: version 1 of the contract in `schema/report.schema.json`.

use std::io::{self, BufWriter, Write};

use crate::scan::ScanReport;

/// serde_json writes a report in millions of small pieces. Through `dyn Write` each is a
/// virtual call; a concrete buffer here lets them inline, and the caller's writer sees
/// 64 KiB chunks.
pub(crate) const CHUNK: usize = 64 * 1024;

pub fn render(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(CHUNK, w);
    serde_json::to_writer_pretty(&mut w, report).map_err(io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()
}
