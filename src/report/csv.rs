//! CSV: one row per object and assertion location (RFC 4180: CRLF line ends, fields with
//! a comma, quote or line break quoted, quotes doubled). The columns are documented in the
//! README; the first row names them.
//!
//! In streaming mode an object keeps at most a few locations (see
//! [`crate::coverage::STREAMING_LOCATIONS`]); `locations_omitted` on each row says how many
//! of its locations have no row.

use std::io::{self, Write};

use crate::scan::report::{Role, ScanReport, SchemaCoverage};

pub const COLUMNS: &[&str] = &[
    "key",
    "kind",
    "schema",
    "name",
    "parent",
    "tested",
    "assertions",
    "absent",
    "referenced",
    "file",
    "line",
    "column",
    "context",
    "function",
    "role",
    "asserts_absence",
    "locations_omitted",
];

/// Writes one field, quoted when it has to be.
fn field(w: &mut dyn Write, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\r', '\n']) {
        w.write_all(b"\"")?;
        w.write_all(s.replace('"', "\"\"").as_bytes())?;
        w.write_all(b"\"")
    } else {
        w.write_all(s.as_bytes())
    }
}

fn row(w: &mut dyn Write, fields: &[&str]) -> io::Result<()> {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        field(w, f)?;
    }
    w.write_all(b"\r\n")
}

/// The columns of `pgtap-scan gaps --format csv`.
pub const GAP_COLUMNS: &[&str] = &["kind", "key", "file", "line"];

/// `pgtap-scan gaps --format csv`: one row per untested object of the universe, most
/// important kinds first.
pub fn render_gaps(s: &SchemaCoverage, w: &mut dyn Write) -> io::Result<()> {
    row(w, GAP_COLUMNS)?;
    for g in &s.gaps {
        let line = g.defined_at.line.to_string();
        row(w, &[g.kind.name(), &g.key, &g.defined_at.file, &line])?;
    }
    Ok(())
}

pub fn render(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    row(w, COLUMNS)?;
    for o in &report.coverage.objects {
        let assertions = o.assertions.to_string();
        let absent = o.absent.to_string();
        let referenced = o.referenced.to_string();
        let omitted = o.locations_omitted.to_string();
        for l in &o.locations {
            let line = l.line.to_string();
            let column = l.column.to_string();
            let role = match l.role {
                Role::Target => "target",
                Role::Member => "member",
                Role::Reference => "reference",
            };
            row(
                w,
                &[
                    &o.key,
                    o.kind.name(),
                    o.schema.as_deref().unwrap_or(""),
                    &o.name,
                    o.parent.as_deref().unwrap_or(""),
                    if o.tested { "true" } else { "false" },
                    &assertions,
                    &absent,
                    &referenced,
                    &l.file,
                    &line,
                    &column,
                    &l.context,
                    &l.function,
                    role,
                    if l.absent { "true" } else { "false" },
                    &omitted,
                ],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut out = Vec::new();
        row(&mut out, &["plain", "a,b", "say \"hi\"", "two\nlines", ""]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n"
        );
    }
}
