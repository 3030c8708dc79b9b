//! JUnit XML: one test case per asserted object (name = key, classname = kind), one test
//! suite per kind, so CI test-report views (GitLab, Jenkins, GitHub actions that read
//! JUnit) list what the suite covers. Objects only asserted absent (`hasnt_*`) are test
//! cases too, marked in their output; objects only named on the side are left out.
//!
//! With a universe (`--schema`, `--database-url`) the test cases are the universe's
//! objects instead, and an untested object is a failure naming where it is defined.
//!
//! The shape follows the common JUnit schema (Jenkins' `junit-10.xsd`): `testsuites` >
//! `testsuite` (name, tests, failures, errors, skipped) > `testcase` (name, classname) with
//! optional `system-out`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::common::RepoPaths;
use crate::scan::report::{ObjectCoverage, Role, ScanReport, SchemaCoverage, UniverseEntry};

/// XML escaping, kept at its old path (it lives with the helpers all formats share).
pub use super::common::xml_escape as escape;

fn asserted(o: &ObjectCoverage) -> bool {
    o.assertions > 0 || o.absent > 0
}

pub fn render(report: &ScanReport, paths: &RepoPaths, w: &mut dyn Write) -> io::Result<()> {
    if let Some(s) = &report.schema {
        return render_universe(s, paths, w);
    }
    let mut kinds: BTreeMap<&str, Vec<&ObjectCoverage>> = BTreeMap::new();
    for o in report.coverage.objects.iter().filter(|o| asserted(o)) {
        kinds.entry(o.kind.as_ref()).or_default().push(o);
    }
    let total: usize = kinds.values().map(Vec::len).sum();
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="pgtap-scan" tests="{total}" failures="0" errors="0">"#
    )?;
    for (kind, objects) in &kinds {
        writeln!(
            w,
            r#"  <testsuite name="{}" tests="{}" failures="0" errors="0" skipped="0">"#,
            escape(kind),
            objects.len()
        )?;
        for o in objects {
            writeln!(
                w,
                r#"    <testcase name="{}" classname="{}">"#,
                escape(&o.key),
                escape(kind)
            )?;
            let mut out = String::new();
            if o.tested {
                out.push_str(&format!(
                    "{} assertions; aspects: {}\n",
                    o.assertions,
                    o.aspects.join(", ")
                ));
            } else {
                out.push_str(&format!(
                    "asserted absent only ({} hasnt_* assertions)\n",
                    o.absent
                ));
            }
            for l in o.locations.iter().filter(|l| l.role != Role::Reference) {
                out.push_str(&format!(
                    "{}:{}: {}{} ({})\n",
                    paths.of(&l.file),
                    l.line,
                    l.function,
                    if l.absent { " [absent]" } else { "" },
                    l.context
                ));
            }
            if o.locations_omitted > 0 {
                out.push_str(&format!(
                    "... {} more locations not kept (streaming mode)\n",
                    o.locations_omitted
                ));
            }
            writeln!(w, "      <system-out>{}</system-out>", escape(&out))?;
            writeln!(w, "    </testcase>")?;
        }
        writeln!(w, "  </testsuite>")?;
    }
    writeln!(w, "</testsuites>")
}

fn render_universe(s: &SchemaCoverage, paths: &RepoPaths, w: &mut dyn Write) -> io::Result<()> {
    let mut kinds: BTreeMap<&str, Vec<&UniverseEntry>> = BTreeMap::new();
    for e in &s.objects {
        kinds.entry(e.kind.name()).or_default().push(e);
    }
    let o = &s.coverage.overall;
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="pgtap-scan schema coverage" tests="{}" failures="{}" errors="0">"#,
        o.objects,
        o.objects - o.tested
    )?;
    for (kind, objects) in &kinds {
        let failures = objects.iter().filter(|e| !e.tested()).count();
        writeln!(
            w,
            r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="0">"#,
            escape(kind),
            objects.len()
        )?;
        for e in objects {
            let at = format!("{}:{}", paths.of(&e.defined_at.file), e.defined_at.line);
            writeln!(
                w,
                r#"    <testcase name="{}" classname="{}" file="{}" line="{}">"#,
                escape(&e.key),
                escape(kind),
                escape(&paths.of(&e.defined_at.file)),
                e.defined_at.line
            )?;
            if e.tested() {
                writeln!(
                    w,
                    "      <system-out>{}</system-out>",
                    escape(&format!(
                        "{} assertions; aspects: {}; defined at {at}",
                        e.assertions,
                        e.aspects.join(", ")
                    ))
                )?;
            } else {
                writeln!(
                    w,
                    r#"      <failure message="{}" type="untested">{}</failure>"#,
                    escape(&super::untested_message(
                        &e.key,
                        if e.exercised {
                            Some("exercised")
                        } else if e.assertions > 0 {
                            Some("asserted")
                        } else if e.indirect {
                            Some("indirect")
                        } else {
                            None
                        },
                        s.coverage_mode
                    )),
                    escape(&format!("defined at {at}"))
                )?;
            }
            writeln!(w, "    </testcase>")?;
        }
        writeln!(w, "  </testsuite>")?;
    }
    writeln!(w, "</testsuites>")
}
