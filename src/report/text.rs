//! The terminal report: a summary that fits in 100 columns.

use std::io::{self, Write};

use crate::scan::ScanReport;

struct Paint {
    on: bool,
}

impl Paint {
    fn bold(&self, s: &str) -> String {
        if self.on {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn dim(&self, s: &str) -> String {
        if self.on {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn yellow(&self, s: &str) -> String {
        if self.on {
            format!("\x1b[33m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

fn bar(n: u64, max: u64, width: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let filled = ((n as f64 / max as f64) * width as f64).round() as usize;
    "█".repeat(filled.max(usize::from(n > 0)))
}

pub fn render(r: &ScanReport, opts: super::RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let p = Paint { on: opts.color };
    let s = &r.summary;
    writeln!(
        w,
        "{} {} files, {} assertions, {} TAP results in top-level code",
        p.bold("pgtap-scan:"),
        s.files,
        s.assertions,
        s.tests
    )?;
    if s.files_without_assertions > 0 {
        writeln!(
            w,
            "  {} files without any assertion",
            s.files_without_assertions
        )?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        p.bold(&format!(
            "{:<22} {:>11}  {}",
            "assertions by kind", "assertions", ""
        ))
    )?;
    let max = s.by_kind.values().copied().max().unwrap_or(0);
    let mut kinds: Vec<_> = s.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (k, n) in kinds {
        writeln!(w, "{:<22} {:>11}  {}", k, n, bar(*n, max, 50))?;
    }
    writeln!(w)?;
    writeln!(w, "{}", p.bold("most used functions"))?;
    let mut funcs: Vec<_> = s.by_function.iter().collect();
    funcs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (f, n) in funcs.iter().take(10) {
        writeln!(w, "  {:<30} {:>8}", f, n)?;
    }
    if funcs.len() > 10 {
        writeln!(
            w,
            "  {}",
            p.dim(&format!("... and {} more functions", funcs.len() - 10))
        )?;
    }
    writeln!(w)?;
    let pl = &s.plans;
    writeln!(
        w,
        "plans: {} files with plan(N); {} checkable statically, {} agree, {} disagree",
        pl.planned,
        pl.checked,
        pl.agree,
        pl.mismatches.len()
    )?;
    for m in pl.mismatches.iter().take(20) {
        writeln!(
            w,
            "  {} {}:{}: plan({}) but {} found",
            p.yellow("!"),
            m.path,
            m.line,
            m.planned,
            m.found
        )?;
    }
    if s.dynamic + s.ambiguous + s.rejected + s.commented > 0 {
        writeln!(
            w,
            "dynamic names: {}, ambiguous: {}, rejected by PostgreSQL: {}, in comments: {}",
            s.dynamic, s.ambiguous, s.rejected, s.commented
        )?;
    }
    if s.errors + s.warnings > 0 {
        writeln!(
            w,
            "{}",
            p.yellow(&format!(
                "{} errors, {} warnings (see stderr)",
                s.errors, s.warnings
            ))
        )?;
    }
    Ok(())
}
