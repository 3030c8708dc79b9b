//! `pgtap-scan diff OLD.json NEW.json`: two reports compared (`pgtap_scan::baseline`),
//! printed as text, markdown or JSON.

use std::io::{self, Write};

use pgtap_scan::baseline::{compare, Comparison, Counts, KindChange, KindStatus, Snapshot};

use crate::cli::{DiffArgs, DiffFormat};
use crate::exit_code::ExitCode;

pub fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let old = Snapshot::read(&args.old)?;
    let new = Snapshot::read(&args.new)?;
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

/// The text comparison (also the text report's baseline section).
pub fn text(c: &Comparison, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "Coverage versus baseline")?;
    for k in std::iter::once(&c.overall).chain(&c.by_kind) {
        writeln!(
            w,
            "  {:<20} {:>20} -> {:<20} {}",
            k.kind,
            side(k.before),
            side(k.after),
            points(k)
        )?;
    }
    for (title, keys) in lists(c) {
        writeln!(w, "{title}: {}", keys.len())?;
        for k in keys {
            writeln!(w, "  {k}")?;
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
