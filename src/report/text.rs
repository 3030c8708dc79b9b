//! The terminal report: a summary whose tables fit in 100 columns; object keys with
//! their locations are never cut (see [`located`]).

use std::io::{self, Write};

use crate::object::Aspect;
use crate::scan::report::{ScanReport, SchemaCoverage, Severity, UniverseSource};

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
    fn red(&self, s: &str) -> String {
        self.paint("31", s)
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
    #[allow(
        clippy::cast_sign_loss,
        reason = "a float cast saturates: below 0 is 0"
    )]
    let filled = ((n as f64 / max as f64) * width as f64).round() as usize;
    "█".repeat(filled.max(usize::from(n > 0)))
}

/// Cuts `s` to `width` characters, marking the cut with `…`; control characters are
/// escaped first (see [`super::printable`]): every name and path goes through here.
fn fit(s: &str, width: usize) -> String {
    let s = &*super::printable(s);
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A key and where it is, on one line: `  key<padding> file:line`. Neither is ever cut: a
/// location is what the reader needs, and a cut key names another object. When the line
/// would not fit the terminal (`width`), the location goes on the next line, indented;
/// without a terminal (a file, a pipe, a CI log) every pair stays on one line.
fn located(
    w: &mut dyn Write,
    key: &str,
    at: &str,
    key_col: usize,
    width: Option<usize>,
) -> io::Result<()> {
    let line = format!("  {key:<key_col$} {at}");
    match width {
        Some(width) if line.chars().count() > width => {
            writeln!(w, "  {key}")?;
            writeln!(w, "      {at}")
        }
        _ => writeln!(w, "{line}"),
    }
}

/// Aspect names, most used first, cut to `width`.
fn aspect_list(aspects: &std::collections::BTreeMap<Aspect, u64>, width: usize) -> String {
    let mut v: Vec<_> = aspects.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let names: Vec<&str> = v.iter().map(|(a, _)| a.name()).collect();
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

/// A percentage bar: filled share of `width` cells.
fn share_bar(percent: f64, width: usize) -> (String, String) {
    #[allow(
        clippy::cast_sign_loss,
        reason = "a float cast saturates: below 0 is 0"
    )]
    let filled = ((percent / 100.0) * width as f64).round() as usize;
    let filled = filled.min(width);
    ("█".repeat(filled), "░".repeat(width - filled))
}

/// Schema coverage: per kind, then the first gaps and the stale tests.
fn render_schema(
    s: &SchemaCoverage,
    p: &Paint,
    width: Option<usize>,
    w: &mut dyn Write,
) -> io::Result<()> {
    let source = match s.universe_source {
        UniverseSource::Migrations => "migrations",
        UniverseSource::Database => "database",
    };
    let o = &s.coverage.overall;
    writeln!(
        w,
        "{} {} of {} objects tested ({:.1}%){}, universe from {}",
        p.bold("schema coverage:"),
        o.tested,
        o.objects,
        o.percent,
        s.coverage_mode
            .map(|m| format!(" {}", super::mode_phrase(m)))
            .unwrap_or_default(),
        source
    )?;
    if let Some(b) = &s.behaviour {
        writeln!(w, "{} {}", p.bold("behaviour:"), super::behaviour_line(b))?;
    }
    writeln!(
        w,
        "{}",
        p.bold(&format!(
            "{:<18} {:>7} {:>6} {:>7}  ",
            "kind", "objects", "tested", "%"
        ))
    )?;
    let mut kinds: Vec<_> = s.coverage.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.objects.cmp(&a.1.objects).then(a.0.cmp(b.0)));
    for (kind, k) in kinds {
        let (full, empty) = share_bar(k.percent, 30);
        let pct = format!("{:>6.1}%", k.percent);
        let pct = if k.tested == k.objects {
            p.green(&pct)
        } else {
            p.yellow(&pct)
        };
        writeln!(
            w,
            "{:<18} {:>7} {:>6} {}  {}{}",
            fit(kind.name(), 18),
            k.objects,
            k.tested,
            pct,
            p.green(&full),
            p.dim(&empty)
        )?;
    }
    writeln!(w)?;
    if !s.gaps.is_empty() {
        writeln!(
            w,
            "{} {}, most important first{}",
            p.bold("gaps:"),
            super::count(s.gaps.len() as u64, "untested object", "untested objects"),
            if s.gaps.len() > 10 {
                " (pgtap-scan gaps lists them all)"
            } else {
                ""
            }
        )?;
        for g in s.gaps.iter().take(10) {
            let at = format!("{}:{}", g.defined_at.file, g.defined_at.line);
            located(w, &super::gap_label(g), &at, 58, width)?;
        }
        writeln!(w)?;
    }
    if let Some(line) = super::ignored_line(s) {
        writeln!(w, "{} {line}", p.bold("ignored:"))?;
        // The platform's own objects (Supabase's auth, storage, roles, ...) are the same in
        // every project: the line above counts them; the list shows what the project chose.
        let chosen: Vec<_> = s
            .ignored
            .iter()
            .filter(|i| i.source != crate::scan::report::IgnoreSource::Platform)
            .collect();
        for i in chosen.iter().take(10) {
            let why = match &i.pattern {
                Some(p) => p.as_str(),
                None => "comment",
            };
            let at = format!("{}:{}", i.defined_at.file, i.defined_at.line);
            located(w, &format!("{} ({why})", i.key), &at, 58, width)?;
        }
        if chosen.len() > 10 {
            writeln!(
                w,
                "  … and {} more (the JSON report lists them)",
                chosen.len() - 10
            )?;
        }
        writeln!(w)?;
    }
    if let Some(b) = &s.behaviour {
        render_rls(b, p, w)?;
    }
    render_stale(s, p, width, w, 10)
}

/// The RLS matrix: for each table with row level security, roles × commands.
fn render_rls(
    b: &crate::behaviour::resolve::Behaviour,
    p: &Paint,
    w: &mut dyn Write,
) -> io::Result<()> {
    use crate::behaviour::resolve::CellState;
    if b.rls.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "{} {}",
        p.bold("row level security:"),
        super::rls_line(&b.rls)
    )?;
    let untested: Vec<&str> = b
        .rls
        .iter()
        .filter(|t| t.cells.iter().all(|c| c.state == CellState::Untested))
        .map(|t| t.table.as_str())
        .collect();
    for t in b
        .rls
        .iter()
        .filter(|t| t.cells.iter().any(|c| c.state != CellState::Untested))
    {
        writeln!(
            w,
            "  {} ({}{})",
            t.table,
            super::count(t.policies.len() as u64, "policy", "policies"),
            if t.forced { ", forced" } else { "" }
        )?;
        if t.roles.is_empty() {
            writeln!(w, "    {}", p.dim("no role has a policy or a test"))?;
            continue;
        }
        let rw = t
            .roles
            .iter()
            .map(|r| r.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 24);
        write!(w, "    {:<rw$}", "role")?;
        for c in crate::behaviour::resolve::MATRIX_COMMANDS {
            write!(w, " {c:<9}")?;
        }
        writeln!(w)?;
        for role in &t.roles {
            write!(w, "    {:<rw$}", fit(role, rw))?;
            for c in crate::behaviour::resolve::MATRIX_COMMANDS {
                let state = t.cell(role, c).map_or("untested", |c| c.state.name());
                let shown = format!(" {:<9}", if state == "untested" { "-" } else { state });
                let shown = match state {
                    "untested" => p.dim(&shown),
                    "both" => p.green(&shown),
                    _ => shown,
                };
                write!(w, "{shown}")?;
            }
            writeln!(w)?;
        }
    }
    if !untested.is_empty() {
        let shown: Vec<&str> = untested.iter().take(5).copied().collect();
        writeln!(
            w,
            "  {} with no role × command tested: {}{}",
            super::count(untested.len() as u64, "table", "tables"),
            shown.join(", "),
            if untested.len() > shown.len() {
                format!(
                    ", ... ({} more; the JSON report has every cell)",
                    untested.len() - shown.len()
                )
            } else {
                String::new()
            }
        )?;
    }
    writeln!(w)
}

fn render_stale(
    s: &SchemaCoverage,
    p: &Paint,
    width: Option<usize>,
    w: &mut dyn Write,
    max: usize,
) -> io::Result<()> {
    if s.stale.is_empty() {
        return Ok(());
    }
    let only_absent = s.stale.iter().filter(|x| x.only_absent).count();
    writeln!(
        w,
        "{} {} in the schema ({} only through hasnt_*, which \
         pass because the object is gone: check they still mean something)",
        p.yellow("stale:"),
        super::count(
            s.stale.len() as u64,
            "asserted object does not exist",
            "asserted objects do not exist"
        ),
        only_absent
    )?;
    for x in s.stale.iter().take(max) {
        let at = x
            .locations
            .first()
            .map(|l| format!("{}:{} {}", l.file, l.line, l.function))
            .unwrap_or_default();
        located(w, &x.key, &at, 50, width)?;
    }
    if s.stale.len() > max {
        writeln!(
            w,
            "  {}",
            p.dim(&format!("... and {} more", s.stale.len() - max))
        )?;
    }
    writeln!(w)
}

/// `pgtap-scan gaps`: every untested object, grouped by kind, most important kinds first.
fn render_gaps(
    s: &SchemaCoverage,
    p: &Paint,
    width: Option<usize>,
    w: &mut dyn Write,
) -> io::Result<()> {
    let o = &s.coverage.overall;
    writeln!(
        w,
        "{} {} of {} objects untested ({:.1}% tested)",
        p.bold("pgtap-scan gaps:"),
        s.gaps.len(),
        o.objects,
        o.percent
    )?;
    let mut i = 0;
    while i < s.gaps.len() {
        let kind = &s.gaps[i].kind;
        let n = s.gaps[i..].iter().take_while(|g| &g.kind == kind).count();
        let total = s.coverage.by_kind.get(kind).map_or(0, |k| k.objects);
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            p.bold(&format!("{} ({n} of {total} untested)", kind.plural()))
        )?;
        for g in &s.gaps[i..i + n] {
            let at = format!("{}:{}", g.defined_at.file, g.defined_at.line);
            located(w, &super::gap_label(g), &at, 58, width)?;
        }
        i += n;
    }
    writeln!(w)?;
    render_stale(s, p, width, w, usize::MAX)
}

pub fn render(r: &ScanReport, opts: super::RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let p = Paint { on: opts.color };
    if let (true, Some(s)) = (opts.gaps_only, &r.schema) {
        return render_gaps(s, &p, opts.width, w);
    }
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
            fit(kind.name(), 18),
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
    let refs = &r.coverage.behaviour;
    if refs.read && r.schema.is_none() {
        // Read on request (`--references`) with nothing to hold them against: say so,
        // rather than drop them without a word.
        writeln!(
            w,
            "{} {} in the tests' SQL, not resolved: behavioural coverage needs a universe (--schema or --database-url)",
            p.bold("references:"),
            refs.references
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
            super::printable(&m.path),
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
                "{}, {} (also on stderr)",
                super::count(s.errors, "error", "errors"),
                super::count(s.warnings, "warning", "warnings")
            ))
        )?;
        // Plan mismatches are listed above; the rest here, errors first.
        let mut shown = 0;
        for sev in [Severity::Error, Severity::Warning] {
            for m in r.messages.iter().filter(|m| m.severity == sev) {
                if sev == Severity::Warning && m.text.starts_with("plan(") {
                    continue;
                }
                if shown == 10 {
                    break;
                }
                let mark = match sev {
                    Severity::Error => p.red("error"),
                    Severity::Warning => p.yellow("warning"),
                };
                // Messages start with file:line; a terminal cuts the rest, a file keeps it.
                let m = m.to_string();
                let m = match opts.width {
                    Some(width) => fit(&m, width.saturating_sub(12).max(40)),
                    None => super::printable(&m).into_owned(),
                };
                writeln!(w, "  {mark} {m}")?;
                shown += 1;
            }
        }
    }
    if let Some(schema) = &r.schema {
        writeln!(w)?;
        render_schema(schema, &p, opts.width, w)?;
    }
    if !r.projects.is_empty() {
        render_projects(r, &p, opts.width, w)?;
    }
    Ok(())
}

/// A monorepo's projects: a section each (its files, its coverage as a whole scan's), then
/// the total line.
fn render_projects(
    r: &ScanReport,
    p: &Paint,
    width: Option<usize>,
    w: &mut dyn Write,
) -> io::Result<()> {
    for pr in &r.projects {
        writeln!(w)?;
        writeln!(
            w,
            "{} {}: {}, {} in {}",
            p.bold("project"),
            p.bold(&super::printable(&pr.name)),
            super::count(pr.files, "file", "files"),
            super::count(pr.assertions, "assertion", "assertions"),
            super::printable(&pr.roots.join(", "))
        )?;
        match &pr.schema {
            Some(schema) => render_schema(schema, p, width, w)?,
            None => writeln!(w, "  no universe: coverage not measured")?,
        }
        for g in &pr.gates_failed {
            writeln!(w, "  {} {g}", p.red("gate failed:"))?;
        }
    }
    writeln!(w)?;
    let (tested, objects, percent) = r.schema.as_ref().map_or((0, 0, 100.0), |s| {
        let o = &s.coverage.overall;
        (o.tested, o.objects, o.percent)
    });
    let failing = r
        .projects
        .iter()
        .filter(|p| !p.gates_failed.is_empty())
        .count();
    writeln!(
        w,
        "{} {} of {} objects tested ({:.1}%) over {}; {} outside every project{}",
        p.bold("total:"),
        tested,
        objects,
        percent,
        super::count(r.projects.len() as u64, "project", "projects"),
        super::count(r.files_outside_projects.unwrap_or(0), "file", "files"),
        if failing > 0 {
            format!(
                "; {} failed a gate",
                super::count(failing as u64, "project", "projects")
            )
        } else {
            String::new()
        }
    )?;
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
    fn a_location_is_never_cut_and_wraps_on_a_narrow_terminal() {
        let key = "table:public.a_rather_long_table_name";
        let at = "supabase/migrations/20240414161947_backfill.sql:1234";
        let mut out = Vec::new();
        located(&mut out, key, at, 30, Some(200)).unwrap();
        let one = String::from_utf8(out).unwrap();
        assert_eq!(one, format!("  {key} {at}\n"));
        let mut out = Vec::new();
        located(&mut out, key, at, 30, Some(60)).unwrap();
        let two = String::from_utf8(out).unwrap();
        assert_eq!(two, format!("  {key}\n      {at}\n"));
        let mut out = Vec::new();
        located(&mut out, key, at, 58, None).unwrap();
        let free = String::from_utf8(out).unwrap();
        assert!(
            free.trim_end().ends_with(":1234") && free.contains(key),
            "{free}"
        );
    }

    #[test]
    fn aspect_list_says_how_many_are_left_out() {
        let m: std::collections::BTreeMap<Aspect, u64> = [
            (Aspect::Existence, 9),
            (Aspect::Constraint, 5),
            (Aspect::Privileges, 4),
            (Aspect::Set, 3),
        ]
        .into_iter()
        .collect();
        assert_eq!(aspect_list(&m, 60), "existence,constraint,privileges,set");
        let short = aspect_list(&m, 24);
        assert!(short.chars().count() <= 24, "{short}");
        assert!(short.starts_with("existence,constraint"), "{short}");
        assert!(short.ends_with(",+2"), "{short}");
    }
}
