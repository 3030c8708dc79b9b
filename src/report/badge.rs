//! A shields.io endpoint badge (<https://shields.io/badges/endpoint-badge>): the overall
//! schema coverage as `{"schemaVersion": 1, "label": "pgTAP coverage", "message":
//! "73.4%", "color": ...}`, for `https://img.shields.io/endpoint?url=...` pointing at the
//! file wherever CI publishes it.
//!
//! The colour by threshold, as Codecov-style badges go ([`COLORS`]): `brightgreen` from
//! 90%, `green` from 80%, `yellowgreen` from 70%, `yellow` from 60%, `orange` from 50%,
//! `red` below.

use std::io::{self, Write};

use crate::scan::report::ScanReport;

/// The label on the badge's left.
pub const LABEL: &str = "pgTAP coverage";

/// (at least this percent, colour), highest first; below the last: `red`.
pub const COLORS: &[(f64, &str)] = &[
    (90.0, "brightgreen"),
    (80.0, "green"),
    (70.0, "yellowgreen"),
    (60.0, "yellow"),
    (50.0, "orange"),
];

/// The colour of a percentage.
pub fn color(percent: f64) -> &'static str {
    COLORS
        .iter()
        .find(|(min, _)| percent >= *min)
        .map_or("red", |(_, c)| c)
}

pub fn render(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    let Some(s) = &report.schema else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--format badge shows schema coverage: add --schema PATH or --database-url",
        ));
    };
    let percent = s.coverage.overall.percent;
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Endpoint {
        schema_version: u32,
        label: &'static str,
        message: String,
        color: &'static str,
    }
    let doc = Endpoint {
        schema_version: 1,
        label: LABEL,
        message: format!("{percent:.1}%"),
        color: color(percent),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::from)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::color;

    #[test]
    fn colours_change_at_the_documented_thresholds() {
        assert_eq!(color(100.0), "brightgreen");
        assert_eq!(color(90.0), "brightgreen");
        assert_eq!(color(89.9), "green");
        assert_eq!(color(80.0), "green");
        assert_eq!(color(79.9), "yellowgreen");
        assert_eq!(color(60.0), "yellow");
        assert_eq!(color(50.0), "orange");
        assert_eq!(color(49.9), "red");
        assert_eq!(color(0.0), "red");
    }
}
