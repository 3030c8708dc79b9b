//! Markdown: a summary fit for a pull-request comment or a CI job summary (GitHub's
//! `$GITHUB_STEP_SUMMARY`): headline numbers, a table per kind, the most tested objects,
//! plan mismatches, then the objects of each kind in collapsed `<details>` blocks.
//!
//! GitHub caps comments at 65,536 characters and step summaries at 1 MiB, so the object
//! lists are cut at [`MAX_ROWS_PER_KIND`] rows with a line saying how many were left out.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::scan::report::{ObjectCoverage, ScanReport, SchemaCoverage, Severity, UniverseSource};

/// Object rows per kind in the collapsed details.
pub const MAX_ROWS_PER_KIND: usize = 100;

/// Makes text safe inside a table cell: no pipes, no line breaks, no HTML, no control
/// characters.
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '`' => out.push('\''),
            c => out.push(c),
        }
    }
    // ESC and the other control characters as text (see `report::printable`).
    super::printable(&out).into_owned()
}

fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        "–".to_string()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / d as f64)
    }
}

pub fn render(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    let st = &report.coverage.statistics;
    writeln!(w, "## pgTAP coverage (pgtap-scan)")?;
    writeln!(w)?;
    writeln!(
        w,
        "**{}** assertions in **{}** files name **{}** database objects; **{}** are tested \
         positively, {} only asserted absent (`hasnt_*`), {} only referenced.",
        s.assertions,
        s.files,
        st.objects,
        st.objects_tested,
        st.objects_absent_only,
        st.objects_referenced_only
    )?;
    writeln!(w)?;
    writeln!(w, "| | |")?;
    writeln!(w, "|---|---:|")?;
    writeln!(w, "| Structural assertions | {} |", st.structural)?;
    writeln!(
        w,
        "| Behavioural assertions (values, results, exceptions) | {} |",
        st.behavioural
    )?;
    writeln!(
        w,
        "| Not attributed (dynamic names, ambiguous, rejected) | {} |",
        st.unattributed
    )?;
    writeln!(
        w,
        "| Plans checked / agreeing | {} / {} |",
        s.plans.checked, s.plans.agree
    )?;
    writeln!(
        w,
        "| Files without assertions | {} |",
        st.files_without_assertions.count
    )?;
    writeln!(
        w,
        "| Assertion functions used | {} of {} |",
        st.diversity.functions_used, st.diversity.functions_available
    )?;
    writeln!(w)?;

    if let Some(schema) = &report.schema {
        render_schema(schema, w)?;
    }

    writeln!(w, "### By kind")?;
    writeln!(w)?;
    writeln!(
        w,
        "| Kind | Objects named | Tested (of named) | Assertions | Absent | Aspects |"
    )?;
    writeln!(w, "|---|---:|---:|---:|---:|---|")?;
    let mut kinds: Vec<_> = st.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.assertions.cmp(&a.1.assertions).then(a.0.cmp(b.0)));
    for (kind, k) in &kinds {
        let aspects: Vec<String> = k.aspects.iter().map(|(a, n)| format!("{a} {n}")).collect();
        writeln!(
            w,
            "| {} | {} | {} ({}) | {} | {} | {} |",
            cell(kind.name()),
            k.objects,
            k.tested,
            pct(k.tested, k.objects),
            k.assertions,
            k.absent,
            cell(&aspects.join(", "))
        )?;
    }
    writeln!(w)?;

    if !st.top_objects.is_empty() {
        writeln!(w, "### Most tested objects")?;
        writeln!(w)?;
        writeln!(w, "| Object | Assertions | Functions |")?;
        writeln!(w, "|---|---:|---:|")?;
        for t in &st.top_objects {
            writeln!(
                w,
                "| `{}` | {} | {} |",
                cell(&t.key),
                t.assertions,
                t.functions
            )?;
        }
        writeln!(w)?;
    }

    if !s.plans.mismatches.is_empty() {
        writeln!(w, "### Plan mismatches")?;
        writeln!(w)?;
        writeln!(w, "| File | Line | Planned | Found |")?;
        writeln!(w, "|---|---:|---:|---:|")?;
        for m in &s.plans.mismatches {
            writeln!(
                w,
                "| {} | {} | {} | {} |",
                cell(&m.path),
                m.line,
                m.planned,
                m.found
            )?;
        }
        writeln!(w)?;
    }

    let mut by_kind: BTreeMap<&str, Vec<&ObjectCoverage>> = BTreeMap::new();
    for o in &report.coverage.objects {
        by_kind.entry(o.kind.as_ref()).or_default().push(o);
    }
    if !by_kind.is_empty() {
        writeln!(w, "### Objects")?;
        writeln!(w)?;
    }
    for (kind, objects) in &by_kind {
        writeln!(
            w,
            "<details><summary>{} ({} objects)</summary>",
            cell(kind),
            objects.len()
        )?;
        writeln!(w)?;
        writeln!(
            w,
            "| Object | Assertions | Absent | Aspects | First location |"
        )?;
        writeln!(w, "|---|---:|---:|---|---|")?;
        for o in objects.iter().take(MAX_ROWS_PER_KIND) {
            let first = o
                .locations
                .first()
                .map(|l| format!("{}:{}", l.file, l.line))
                .unwrap_or_default();
            writeln!(
                w,
                "| `{}` | {} | {} | {} | {} |",
                cell(&o.key),
                o.assertions,
                o.absent,
                cell(&o.aspects.join(", ")),
                cell(&first)
            )?;
        }
        if objects.len() > MAX_ROWS_PER_KIND {
            writeln!(
                w,
                "\n… and {} more (see the JSON or CSV report for all).",
                objects.len() - MAX_ROWS_PER_KIND
            )?;
        }
        writeln!(w)?;
        writeln!(w, "</details>")?;
        writeln!(w)?;
    }
    if s.errors + s.warnings > 0 {
        writeln!(
            w,
            "> {} and {} were printed on the scan's stderr.",
            super::count(s.errors, "error", "errors"),
            super::count(s.warnings, "warning", "warnings")
        )?;
        writeln!(w)?;
        writeln!(w, "<details><summary>Errors and warnings</summary>")?;
        writeln!(w)?;
        for m in report.messages.iter().take(MAX_MESSAGES) {
            let place = match (&m.path, m.line) {
                (Some(p), Some(l)) => format!("`{}:{l}` ", cell(p)),
                (Some(p), None) => format!("`{}` ", cell(p)),
                _ => String::new(),
            };
            let tag = match m.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            writeln!(w, "- {tag}: {place}{}", inert(&cell(&m.text)))?;
        }
        let more =
            (s.errors + s.warnings).saturating_sub(MAX_MESSAGES.min(report.messages.len()) as u64);
        if more > 0 {
            writeln!(w, "- … and {more} more (see the JSON report or stderr).")?;
        }
        writeln!(w)?;
        writeln!(w, "</details>")?;
    }
    if !report.projects.is_empty() {
        render_projects(report, w)?;
    }
    Ok(())
}

/// A monorepo's projects: one table row each and the total, then each project's schema
/// coverage in a fold.
fn render_projects(report: &ScanReport, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w)?;
    writeln!(w, "### Projects")?;
    writeln!(w)?;
    writeln!(
        w,
        "| Project | Files | Assertions | Objects | Tested | Coverage | Gates |"
    )?;
    writeln!(w, "|---|---:|---:|---:|---:|---:|---|")?;
    for p in &report.projects {
        let (objects, tested, percent) = match &p.schema {
            Some(s) => {
                let o = &s.coverage.overall;
                (
                    o.objects.to_string(),
                    o.tested.to_string(),
                    format!("{:.1}%", o.percent),
                )
            }
            None => ("–".into(), "–".into(), "no universe".into()),
        };
        let gates = if p.gates_failed.is_empty() {
            "ok".to_string()
        } else {
            format!("**failed**: {}", cell(&p.gates_failed.join("; ")))
        };
        writeln!(
            w,
            "| `{}` | {} | {} | {objects} | {tested} | {percent} | {gates} |",
            cell(&p.name),
            p.files,
            p.assertions
        )?;
    }
    if let Some(s) = &report.schema {
        let o = &s.coverage.overall;
        writeln!(
            w,
            "| **Total** | {} | {} | {} | {} | **{:.1}%** | |",
            report.projects.iter().map(|p| p.files).sum::<u64>(),
            report.projects.iter().map(|p| p.assertions).sum::<u64>(),
            o.objects,
            o.tested,
            o.percent
        )?;
    }
    writeln!(w)?;
    if let Some(n) = report.files_outside_projects.filter(|n| *n > 0) {
        writeln!(
            w,
            "{} outside every project.",
            super::count(n, "file", "files")
        )?;
        writeln!(w)?;
    }
    for p in &report.projects {
        if let Some(s) = &p.schema {
            writeln!(
                w,
                "<details><summary>Project <code>{}</code>: {:.1}%</summary>",
                cell(&p.name),
                s.coverage.overall.percent
            )?;
            writeln!(w)?;
            render_schema(s, w)?;
            writeln!(w)?;
            writeln!(w, "</details>")?;
            writeln!(w)?;
        }
    }
    Ok(())
}

/// Markdown text that renders as written: a message quotes names from the repository,
/// and `![x](https://..)` in one must not become an image or a link in a PR comment.
fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '[' | ']' | '(' | ')' | '!' | '*' | '_' | '<' | '>' | '#' | '~' | '\\'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Messages listed in the markdown report (it must stay under a PR comment's size).
const MAX_MESSAGES: usize = 20;

/// Gaps listed in the summary before the rest is collapsed.
pub const MAX_GAPS: usize = 50;

fn render_schema(s: &SchemaCoverage, w: &mut dyn Write) -> io::Result<()> {
    let o = &s.coverage.overall;
    let source = match s.universe_source {
        UniverseSource::Migrations => "migrations",
        UniverseSource::Database => "a live database",
    };
    writeln!(w, "### Schema coverage: {:.1}%", o.percent)?;
    writeln!(w)?;
    writeln!(
        w,
        "**{}** of **{}** objects in the schema (read from {source}) are tested{}; {} are not.",
        o.tested,
        o.objects,
        s.coverage_mode
            .map(|m| format!(" {}", super::mode_phrase(m)))
            .unwrap_or_default(),
        s.gaps.len()
    )?;
    writeln!(w)?;
    if let Some(b) = &s.behaviour {
        writeln!(w, "Behaviour: {}.", cell(&super::behaviour_line(b)))?;
        writeln!(w)?;
    }
    writeln!(w, "| Kind | Objects | Tested | Coverage |")?;
    writeln!(w, "|---|---:|---:|---:|")?;
    let mut kinds: Vec<_> = s.coverage.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.objects.cmp(&a.1.objects).then(a.0.cmp(b.0)));
    for (kind, k) in kinds {
        writeln!(
            w,
            "| {} | {} | {} | {:.1}% |",
            cell(kind.name()),
            k.objects,
            k.tested,
            k.percent
        )?;
    }
    writeln!(w)?;
    if !s.gaps.is_empty() {
        writeln!(
            w,
            "<details><summary>Untested objects ({}), most important first</summary>",
            s.gaps.len()
        )?;
        writeln!(w)?;
        writeln!(w, "| Object | Defined at |")?;
        writeln!(w, "|---|---|")?;
        for g in s.gaps.iter().take(MAX_GAPS) {
            writeln!(
                w,
                "| `{}`{} | {}:{} |",
                cell(&g.key),
                gap_note(g),
                cell(&g.defined_at.file),
                g.defined_at.line
            )?;
        }
        if s.gaps.len() > MAX_GAPS {
            writeln!(
                w,
                "\n… and {} more (`pgtap-scan gaps` lists them all).",
                s.gaps.len() - MAX_GAPS
            )?;
        }
        writeln!(w)?;
        writeln!(w, "</details>")?;
        writeln!(w)?;
    }
    if let Some(line) = super::ignored_line(s) {
        writeln!(w, "<details><summary>{}</summary>", cell(&line))?;
        writeln!(w)?;
        if !s.ignored.is_empty() {
            writeln!(w, "| Object | Why | Tested | Defined at |")?;
            writeln!(w, "|---|---|---|---|")?;
            for i in s.ignored.iter().take(MAX_GAPS) {
                writeln!(
                    w,
                    "| `{}` | {} | {} | {}:{} |",
                    cell(&i.key),
                    match (&i.pattern, &i.source) {
                        (Some(p), _) => format!("`{}`", cell(p)),
                        (None, crate::scan::report::IgnoreSource::Platform) =>
                            "the platform's own".to_string(),
                        (None, _) => "`-- pgtap-scan: ignore`".to_string(),
                    },
                    if i.tested { "yes" } else { "no" },
                    cell(&i.defined_at.file),
                    i.defined_at.line
                )?;
            }
            if s.ignored.len() > MAX_GAPS {
                writeln!(
                    w,
                    "\n… and {} more (the JSON report lists them).",
                    s.ignored.len() - MAX_GAPS
                )?;
            }
            writeln!(w)?;
        }
        writeln!(w, "</details>")?;
        writeln!(w)?;
    }
    if let Some(b) = &s.behaviour {
        render_rls(b, w)?;
    }
    if !s.stale.is_empty() {
        writeln!(
            w,
            "> {} assertions name objects that do not exist in the schema ({} only through \
             `hasnt_*`, which pass because the object is gone).",
            s.stale.len(),
            s.stale.iter().filter(|x| x.only_absent).count()
        )?;
        writeln!(w)?;
    }
    Ok(())
}

/// `pgtap-scan gaps --format markdown`: every untested object, a table per kind (not cut:
/// the list is the point).
pub fn render_gaps(s: &SchemaCoverage, w: &mut dyn Write) -> io::Result<()> {
    let o = &s.coverage.overall;
    writeln!(
        w,
        "## pgtap-scan gaps: {} of {} objects untested ({:.1}% tested)",
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
        writeln!(w, "### {} ({n} of {total} untested)", kind.plural())?;
        writeln!(w)?;
        writeln!(w, "| object | defined at |")?;
        writeln!(w, "|---|---|")?;
        for g in &s.gaps[i..i + n] {
            writeln!(
                w,
                "| `{}`{} | {}:{} |",
                cell(&g.key),
                gap_note(g),
                cell(&g.defined_at.file),
                g.defined_at.line
            )?;
        }
        i += n;
    }
    Ok(())
}

/// What a gap's tests do that does not count, after its key.
fn gap_note(g: &crate::gaps::Gap) -> &'static str {
    match g.only {
        Some("exercised") => " (exercised, not asserted)",
        Some("asserted") => " (asserted, not exercised)",
        Some("indirect") => " (only exercised indirectly)",
        _ => "",
    }
}

/// RLS matrices listed in the summary (tables with a tested cell first).
const MAX_RLS_TABLES: usize = 30;

/// The RLS matrix: a row per table and role, a column per command.
fn render_rls(b: &crate::behaviour::resolve::Behaviour, w: &mut dyn Write) -> io::Result<()> {
    use crate::behaviour::resolve::{CellState, MATRIX_COMMANDS};
    if b.rls.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "<details><summary>Row level security: {}</summary>",
        cell(&super::rls_line(&b.rls))
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "Each cell: what the tests expect of that command under that role (✅ allowed, ⛔ denied, ✅⛔ both, blank: untested)."
    )?;
    writeln!(w)?;
    writeln!(w, "| Table | Role | select | insert | update | delete |")?;
    writeln!(w, "|---|---|:-:|:-:|:-:|:-:|")?;
    let mut tables: Vec<_> = b.rls.iter().collect();
    tables.sort_by_key(|t| t.cells.iter().all(|c| c.state == CellState::Untested));
    for t in tables.iter().take(MAX_RLS_TABLES) {
        for role in &t.roles {
            write!(w, "| `{}` | {} |", cell(&t.table), cell(role))?;
            for c in MATRIX_COMMANDS {
                let mark = match t.cell(role, c).map(|c| c.state) {
                    Some(CellState::Allowed) => "✅",
                    Some(CellState::Denied) => "⛔",
                    Some(CellState::Both) => "✅⛔",
                    _ => "",
                };
                write!(w, " {mark} |")?;
            }
            writeln!(w)?;
        }
    }
    if tables.len() > MAX_RLS_TABLES {
        writeln!(
            w,
            "\n… and {} more tables (the JSON report has every cell).",
            tables.len() - MAX_RLS_TABLES
        )?;
    }
    writeln!(w)?;
    writeln!(w, "</details>")?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<d>`"), "a\\|b c&lt;d&gt;'");
        assert_eq!(cell("x\x1b[2J"), "x\\u{1b}[2J");
    }
}
