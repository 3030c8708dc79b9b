//! Cobertura XML: the same mapping as [`super::lcov`] (objects onto the lines of migration
//! files that define them), for CI systems that read Cobertura (GitLab merge-request
//! coverage, Jenkins, Azure DevOps). One package per migration folder, one class per file,
//! one method per object, and a line per defining line; filenames are repository-relative.
//! The shape is checked against `schema/cobertura.xsd` in the tests.
//!
//! `timestamp` is the time of the run in milliseconds, or `SOURCE_DATE_EPOCH` (seconds)
//! when set, for reproducible output.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::common::{by_file, line_hits, xml_escape as escape, RepoPaths};
use crate::scan::report::ScanReport;

fn rate(hit: u64, total: u64) -> String {
    if total == 0 {
        "1".to_string()
    } else {
        format!("{:.4}", hit as f64 / total as f64)
    }
}

fn timestamp() -> u64 {
    if let Some(s) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return s.saturating_mul(1000);
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn render(report: &ScanReport, paths: &RepoPaths, w: &mut dyn Write) -> io::Result<()> {
    let (_, files) = by_file(report, "cobertura", paths)?;
    let mut packages: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    let (mut valid, mut covered) = (0u64, 0u64);
    for (file, lines) in &files {
        let dir = std::path::Path::new(file)
            .parent()
            .map(|p| p.display().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ".".to_string());
        packages.entry(dir).or_default().push(file);
        valid += lines.len() as u64;
        covered += lines.values().filter(|o| line_hits(o) > 0).count() as u64;
    }
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<coverage line-rate="{}" branch-rate="0" lines-covered="{covered}" lines-valid="{valid}" branches-covered="0" branches-valid="0" complexity="0" version="pgtap-scan {}" timestamp="{}">"#,
        rate(covered, valid),
        env!("CARGO_PKG_VERSION"),
        timestamp()
    )?;
    writeln!(w, "  <sources>\n    <source>.</source>\n  </sources>")?;
    writeln!(w, "  <packages>")?;
    for (dir, pfiles) in &packages {
        let (pv, pc) = pfiles.iter().fold((0u64, 0u64), |(v, c), f| {
            let lines = &files[*f];
            (
                v + lines.len() as u64,
                c + lines.values().filter(|o| line_hits(o) > 0).count() as u64,
            )
        });
        writeln!(
            w,
            r#"    <package name="{}" line-rate="{}" branch-rate="0" complexity="0">"#,
            escape(dir),
            rate(pc, pv)
        )?;
        writeln!(w, "      <classes>")?;
        for file in pfiles {
            let lines = &files[*file];
            let hit = lines.values().filter(|o| line_hits(o) > 0).count() as u64;
            let name = std::path::Path::new(file.as_str())
                .file_name()
                .map_or_else(|| (*file).clone(), |n| n.to_string_lossy().into_owned());
            writeln!(
                w,
                r#"        <class name="{}" filename="{}" line-rate="{}" branch-rate="0" complexity="0">"#,
                escape(&name),
                escape(file),
                rate(hit, lines.len() as u64)
            )?;
            writeln!(w, "          <methods>")?;
            for (line, objects) in lines {
                for e in objects {
                    writeln!(
                        w,
                        r#"            <method name="{}" signature="{}" line-rate="{}" branch-rate="0" complexity="0">"#,
                        escape(&e.key),
                        escape(e.kind.name()),
                        if e.tested() { "1" } else { "0" }
                    )?;
                    writeln!(
                        w,
                        r#"              <lines><line number="{line}" hits="{}" branch="false"/></lines>"#,
                        e.assertions
                    )?;
                    writeln!(w, "            </method>")?;
                }
            }
            writeln!(w, "          </methods>")?;
            writeln!(w, "          <lines>")?;
            for (line, objects) in lines {
                writeln!(
                    w,
                    r#"            <line number="{line}" hits="{}" branch="false"/>"#,
                    line_hits(objects)
                )?;
            }
            writeln!(w, "          </lines>")?;
            writeln!(w, "        </class>")?;
        }
        writeln!(w, "      </classes>")?;
        writeln!(w, "    </package>")?;
    }
    writeln!(w, "  </packages>")?;
    writeln!(w, "</coverage>")
}
