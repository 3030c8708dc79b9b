//! `pgtap-scan diff OLD.json NEW.json`: two reports compared (`pgtap_scan::baseline`),
//! printed as text, markdown or JSON.

use std::io::{self, Write};

use pgtap_scan::baseline::{
    compare, mismatch, Comparison, Counts, KindChange, KindStatus, ProjectChange, ProjectStatus,
    Snapshot,
};

use crate::cli::{DiffArgs, DiffFormat};
use crate::exit_code::ExitCode;

pub fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let old = Snapshot::read(&args.old)?;
    let new = Snapshot::read(&args.new)?;
    if let Some(why) = mismatch(&old, &new) {
        anyhow::bail!(
            "{} and {}: {}",
            args.old.display(),
            args.new.display(),
            why.replace("the baseline", "the first")
                .replace("this report", "the second")
        );
    }
    let c = compare(&old, &new);
    let mut out = io::stdout().lock();
    match args.format {
        DiffFormat::Text => text(&c, &mut out)?,
        DiffFormat::Markdown => markdown(&c, &mut out)?,
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &c)?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::Success)
}

pub fn side(c: Option<Counts>) -> String {
    match c {
        Some(c) => format!("{:.1}% ({}/{})", c.percent(), c.tested, c.objects),
        None => "-".to_string(),
    }
}

fn points(k: &KindChange) -> String {
    match k.points() {
        Some(p) if p > 0.0 => format!("+{p:.1}"),
        Some(p) if p < 0.0 => format!("{p:.1}"),
        Some(_) => "±0.0".to_string(),
        None if k.status == KindStatus::New => "new kind".to_string(),
        None => "removed".to_string(),
    }
}

fn lists(c: &Comparison) -> [(&'static str, &[String]); 5] {
    [
        ("Newly untested", &c.newly_untested),
        ("Newly tested", &c.newly_tested),
        ("Added, untested", &c.added),
        ("Removed", &c.removed),
        ("New stale tests", &c.new_stale),
    ]
}

/// One kind's (or the overall) line of the text comparison: before, after, the change.
fn kind_line(k: &KindChange, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "  {:<20} {:>20} -> {:<20} {}",
        k.kind,
        side(k.before),
        side(k.after),
        points(k)
    )
}

/// The text comparison (also the text report's baseline section).
pub fn text(c: &Comparison, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "Coverage versus baseline")?;
    for k in std::iter::once(&c.overall).chain(&c.by_kind) {
        kind_line(k, w)?;
    }
    if !c.projects.is_empty() {
        return projects_text(c, w);
    }
    for (title, keys) in lists(c) {
        writeln!(w, "{title}: {}", keys.len())?;
        for k in keys {
            writeln!(w, "  {k}")?;
        }
    }
    Ok(())
}

/// How many projects were added, removed, compared (and of those unchanged).
fn project_counts(c: &Comparison) -> String {
    let n = |s: ProjectStatus| c.projects.iter().filter(|p| p.status == s).count();
    let unchanged = c.projects.iter().filter(|p| p.unchanged()).count();
    let mut said = format!(
        "{} compared ({unchanged} unchanged), {} added, {} removed",
        n(ProjectStatus::Compared),
        n(ProjectStatus::Added),
        n(ProjectStatus::Removed)
    );
    let unmeasured = n(ProjectStatus::Unmeasured);
    if unmeasured > 0 {
        said.push_str(&format!(", {unmeasured} without coverage to compare"));
    }
    said
}

/// A project's one-line verdict (its overall before and after and what happened), and
/// whether its details follow.
fn project_line(p: &ProjectChange) -> (String, bool) {
    let overall = p.comparison.as_ref().map(|c| &c.overall);
    match (p.status, overall) {
        (ProjectStatus::Added, Some(o)) => (
            format!("added since the baseline, {}", side(o.after)),
            false,
        ),
        (ProjectStatus::Added, None) => ("added since the baseline, not measured".into(), false),
        (ProjectStatus::Removed, Some(o)) => (
            format!("removed since the baseline (was {})", side(o.before)),
            false,
        ),
        (ProjectStatus::Removed, None) => ("removed since the baseline".into(), false),
        (ProjectStatus::Unmeasured, _) | (_, None) => (
            "no coverage to compare (no universe on one side)".into(),
            false,
        ),
        (ProjectStatus::Compared, Some(o)) if p.unchanged() => {
            (format!("unchanged, {}", side(o.after)), false)
        }
        (ProjectStatus::Compared, Some(o)) => (
            format!("{} -> {} {}", side(o.before), side(o.after), points(o)),
            true,
        ),
    }
}

/// Every project: a line each, and under a changed one the kinds that changed and the
/// objects that moved.
fn projects_text(c: &Comparison, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "Projects versus baseline: {}", project_counts(c))?;
    for p in &c.projects {
        let (line, details) = project_line(p);
        writeln!(w, "Project {}: {line}", p.name)?;
        let Some(pc) = p.comparison.as_ref().filter(|_| details) else {
            continue;
        };
        for k in pc.by_kind.iter().filter(|k| k.status != KindStatus::Same) {
            kind_line(k, w)?;
        }
        for (title, keys) in lists(pc).into_iter().filter(|(_, k)| !k.is_empty()) {
            writeln!(w, "  {title}: {}", keys.len())?;
            for k in keys {
                writeln!(w, "    {k}")?;
            }
        }
    }
    Ok(())
}

/// The projects as a table, then the objects that moved in each changed project.
fn projects_markdown(c: &Comparison, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "\n#### Projects versus baseline\n")?;
    writeln!(w, "{}\n", project_counts(c))?;
    writeln!(w, "| Project | Before | After | Change |")?;
    writeln!(w, "|---|---:|---:|---:|")?;
    for p in &c.projects {
        let o = p.comparison.as_ref().map(|c| &c.overall);
        let (before, after) = o.map_or(("-".into(), "-".into()), |o| {
            (side(o.before), side(o.after))
        });
        let change = match p.status {
            ProjectStatus::Added => "added".to_string(),
            ProjectStatus::Removed => "removed".to_string(),
            ProjectStatus::Unmeasured => "not measured".to_string(),
            ProjectStatus::Compared => o.map_or_else(String::new, points),
        };
        writeln!(w, "| {} | {before} | {after} | {change} |", p.name)?;
    }
    for p in c.projects.iter().filter(|p| project_line(p).1) {
        let Some(pc) = &p.comparison else { continue };
        for (title, keys) in lists(pc).into_iter().filter(|(_, k)| !k.is_empty()) {
            writeln!(w, "\n**{}: {title}: {}**\n", p.name, keys.len())?;
            for k in keys {
                writeln!(w, "- `{k}`")?;
            }
        }
    }
    Ok(())
}

/// The markdown comparison (also the markdown report's baseline section).
pub fn markdown(c: &Comparison, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "### Coverage versus baseline\n")?;
    writeln!(w, "| Kind | Before | After | Change |")?;
    writeln!(w, "|---|---:|---:|---:|")?;
    for k in std::iter::once(&c.overall).chain(&c.by_kind) {
        writeln!(
            w,
            "| {} | {} | {} | {} |",
            k.kind,
            side(k.before),
            side(k.after),
            points(k)
        )?;
    }
    if !c.projects.is_empty() {
        return projects_markdown(c, w);
    }
    for (title, keys) in lists(c) {
        writeln!(w, "\n**{title}: {}**", keys.len())?;
        if !keys.is_empty() {
            writeln!(w)?;
        }
        for k in keys {
            writeln!(w, "- `{k}`")?;
        }
    }
    Ok(())
}
