//! GitLab Code Quality (the Code Climate subset GitLab reads, `artifacts: reports:
//! codequality:`): one issue per untested object, on the migration line that defines it,
//! and one per stale assertion, on its test line.
//!
//! Each issue has the members GitLab requires: `description`, `check_name` (the SARIF
//! rule ids: `untested-table`, ..., `stale-assertion`), `fingerprint` (stable across line
//! moves: a hash of the rule and the object's key, which GitLab uses to tell new issues
//! from fixed ones between the branch and its target), `severity` and `location.path` with
//! `location.lines.begin`. Severities: `minor` for an untested object, `major` for an
//! assertion on an object that does not exist (it fails when run), `info` for a
//! `hasnt_*` on one (it passes, perhaps by accident).

use std::io::{self, BufWriter, Write};

use serde::Serialize;

use super::common::{fingerprint, stale_message, untested_rule, RepoPaths, CHUNK, STALE_RULE};
use crate::scan::report::ScanReport;

#[derive(Serialize)]
struct Issue {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    categories: [&'static str; 1],
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
}

pub fn render(report: &ScanReport, paths: &RepoPaths, w: &mut dyn Write) -> io::Result<()> {
    let (s, _) = super::common::by_file(report, "codequality", paths)?;
    let mut issues = Vec::with_capacity(s.gaps.len() + s.stale.len());
    for g in &s.gaps {
        let rule = untested_rule(g.kind);
        issues.push(Issue {
            kind: "issue",
            description: super::untested_message(&g.key, g.only, s.coverage_mode),
            fingerprint: fingerprint(&rule, &g.key),
            check_name: rule,
            severity: "minor",
            categories: ["Bug Risk"],
            location: Location {
                path: paths.of(&g.defined_at.file),
                lines: Lines {
                    begin: g.defined_at.line.max(1),
                },
            },
        });
    }
    for x in &s.stale {
        let Some(l) = x.locations.first() else {
            continue;
        };
        issues.push(Issue {
            kind: "issue",
            description: stale_message(x),
            check_name: STALE_RULE.to_string(),
            fingerprint: fingerprint(STALE_RULE, &x.key),
            severity: if x.only_absent { "info" } else { "major" },
            categories: ["Bug Risk"],
            location: Location {
                path: paths.of(&l.file),
                lines: Lines {
                    begin: l.line.max(1),
                },
            },
        });
    }
    let mut w = BufWriter::with_capacity(CHUNK, w);
    serde_json::to_writer_pretty(&mut w, &issues).map_err(io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()
}
