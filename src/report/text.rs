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
    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
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

/// Cuts `s` to `width` characters, marking the cut with `…`.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Aspect names, most used first, cut to `width`.
fn aspect_list(aspects: &std::collections::BTreeMap<String, u64>, width: usize) -> String {
    let mut v: Vec<_> = aspects.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let names: Vec<&str> = v.iter().map(|(a, _)| a.as_str()).collect();
    let mut out = String::new();
    for (i, n) in names.iter().enumerate() {
        let more = names.len() - i;
        let piece = if i == 0 {
            n.to_string()
        } else {
            format!(",{n}")
        };
        let tail = format!(",+{}", more - 1);
        if out.chars().count() + piece.chars().count() + if more > 1 { tail.len() } else { 0 }
            > width
        {
            out.push_str(&format!(",+{more}"));
            return fit(out.trim_start_matches(','), width);
        }
        out.push_str(&piece);
    }
    out
}

pub fn render(r: &ScanReport, opts: super::RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let p = Paint { on: opts.color };
    let s = &r.summary;
    let st = &r.coverage.statistics;
    writeln!(
        w,
        "{} {} files, {} assertions ({} structural, {} behavioural), {} TAP results",
        p.bold("pgtap-scan:"),
        s.files,
        s.assertions,
        st.structural,
        st.behavioural,
        s.tests
    )?;
    writeln!(
        w,
        "  {} objects named: {} tested, {} only asserted absent (hasnt_*), {} only referenced",
        st.objects, st.objects_tested, st.objects_absent_only, st.objects_referenced_only
    )?;
    if st.files_without_assertions.count > 0 {
        writeln!(
            w,
            "  {} files without any assertion",
            st.files_without_assertions.count
        )?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "{}",
        p.bold(&format!(
            "{:<18} {:>6} {:>6} {:>10}  {:<30}",
            "kind", "named", "tested", "assertions", "aspects"
        ))
    )?;
    let mut kinds: Vec<_> = st.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.assertions.cmp(&a.1.assertions).then(a.0.cmp(b.0)));
    let max = kinds.iter().map(|k| k.1.assertions).max().unwrap_or(0);
    for (kind, k) in &kinds {
        let tested = format!("{:>6}", k.tested);
        let tested = if k.tested < k.objects {
            p.yellow(&tested)
        } else {
            p.green(&tested)
        };
        writeln!(
            w,
            "{:<18} {:>6} {} {:>10}  {:<30}  {}",
            fit(kind, 18),
            k.objects,
            tested,
            k.assertions,
            aspect_list(&k.aspects, 30),
            p.cyan(&bar(k.assertions, max, 22))
        )?;
    }
    let behavioural = st.behavioural;
    if behavioural > 0 {
        writeln!(
            w,
            "{} {:>6} {:>6} {:>10}  {}",
            p.dim(&format!("{:<18}", "(behaviour)")),
            "",
            "",
            behavioural,
            p.dim("values, result sets, exceptions")
        )?;
    }
    if !st.top_objects.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            p.bold(&format!(
                "{:<76} {:>10} {:>9}",
                "most tested objects", "assertions", "functions"
            ))
        )?;
        for t in &st.top_objects {
            writeln!(
                w,
                "  {:<74} {:>10} {:>9}",
                fit(&t.key, 74),
                t.assertions,
                t.functions
            )?;
        }
    }
    writeln!(w)?;
    let mut funcs: Vec<_> = s.by_function.iter().collect();
    funcs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = funcs
        .iter()
        .take(6)
        .map(|(f, n)| format!("{f} {n}"))
        .collect();
    writeln!(
        w,
        "functions: {} of {} used; most used: {}",
        st.diversity.functions_used,
        st.diversity.functions_available,
        fit(&shown.join(", "), 60)
    )?;
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
            fit(&m.path, 70),
            m.line,
            m.planned,
            m.found
        )?;
    }
    if pl.mismatches.len() > 20 {
        writeln!(
            w,
            "  {}",
            p.dim(&format!("... and {} more", pl.mismatches.len() - 20))
        )?;
    }
    if s.dynamic + s.ambiguous + s.rejected + s.commented > 0 {
        writeln!(
            w,
            "not attributed: {} dynamic names, {} ambiguous, {} rejected by PostgreSQL, {} in comments",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_on_characters() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ééé", 3), "ééé");
        assert_eq!(fit("éééé", 3), "éé…");
    }

    #[test]
    fn aspect_list_says_how_many_are_left_out() {
        let m: std::collections::BTreeMap<String, u64> = [
            ("existence", 9),
            ("constraint", 5),
            ("privileges", 4),
            ("set", 3),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
        assert_eq!(aspect_list(&m, 60), "existence,constraint,privileges,set");
        let short = aspect_list(&m, 24);
        assert!(short.chars().count() <= 24, "{short}");
        assert!(short.starts_with("existence,constraint"), "{short}");
        assert!(short.ends_with(",+2"), "{short}");
    }
}
