//! `--history FILE` (one JSON line appended per run, `pgtap_scan::history`) and
//! `pgtap-scan history FILE`, which prints the trend as text, markdown or JSON.

use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Result};

use pgtap_scan::history::{Entry, Ratio};

use crate::cli::{DiffFormat, HistoryArgs};
use crate::exit_code::ExitCode;
use crate::messages::Messages;

/// The CI variables that name the commit a job runs on, in the order they are asked:
/// GitHub Actions, GitLab, Buildkite, CircleCI, Bitbucket, Azure Pipelines, Semaphore,
/// Drone, Travis, Jenkins (git plugin).
pub const COMMIT_VARIABLES: &[&str] = &[
    "GITHUB_SHA",
    "CI_COMMIT_SHA",
    "BUILDKITE_COMMIT",
    "CIRCLE_SHA1",
    "BITBUCKET_COMMIT",
    "BUILD_SOURCEVERSION",
    "SEMAPHORE_GIT_SHA",
    "DRONE_COMMIT_SHA",
    "TRAVIS_COMMIT",
    "GIT_COMMIT",
];

/// The commit scanned: the first CI variable set, else `git rev-parse HEAD` in a git
/// repository, else `None`.
pub fn commit() -> Option<String> {
    for v in COMMIT_VARIABLES {
        if let Some(c) = std::env::var(v).ok().filter(|c| !c.trim().is_empty()) {
            return Some(c.trim().to_string());
        }
    }
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !sha.is_empty() && sha.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(sha)
}

/// Now, in seconds since 1970 (UTC): `SOURCE_DATE_EPOCH` when set, as the HTML report's
/// date.
pub fn now() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        })
}

/// Said before the scan: a history file that cannot be appended to (a folder, no
/// permission, a missing folder) would otherwise fail after a long run.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!("--history {}: a folder, not a history file", path.display());
    }
    if path.exists() {
        if let Err(e) = std::fs::OpenOptions::new().append(true).open(path) {
            bail!(
                "--history {}: cannot append to the history file: {e}",
                path.display()
            );
        }
    } else if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            bail!(
                "--history {}: cannot create the history file in {}: no such folder",
                path.display(),
                parent.display()
            );
        }
    }
    Ok(())
}

/// The file's entries, lines that are not entries said as warnings naming file and line;
/// a missing file has none.
pub fn read(path: &Path, messages: &Messages) -> Result<Vec<Entry>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let (entries, skipped) = match pgtap_scan::history::read(path) {
        Ok(r) => r,
        Err(e) => bail!("{}: cannot read the history file: {e}", path.display()),
    };
    for s in &skipped {
        messages.warning(&format!("{}:{}: {}", path.display(), s.line, s.reason));
    }
    Ok(entries)
}

/// Appends this run's line; an error says which file.
pub fn append(path: &Path, entry: &Entry) -> Result<()> {
    pgtap_scan::history::append(path, entry).map_err(|e| {
        anyhow::anyhow!(
            "--history {}: cannot append this run's line: {e} (the file is left as it was)",
            path.display()
        )
    })
}

/// `pgtap-scan history FILE`.
pub fn run(args: &HistoryArgs, messages: &Messages) -> Result<ExitCode> {
    if !args.file.is_file() {
        bail!(
            "{}: no such history file (write one with pgtap-scan --history FILE)",
            args.file.display()
        );
    }
    let entries = read(&args.file, messages)?;
    let mut out = io::stdout().lock();
    match args.format {
        DiffFormat::Text => text(&args.file, &entries, &mut out)?,
        DiffFormat::Markdown => markdown(&entries, &mut out)?,
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &entries)?;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::Success)
}

fn side(r: Option<&Ratio>) -> String {
    match r {
        Some(r) => format!("{:.1}% ({}/{})", r.percent, r.tested, r.objects),
        None => "-".to_string(),
    }
}

fn change(before: Option<&Ratio>, after: Option<&Ratio>) -> String {
    match (before, after) {
        (Some(b), Some(a)) => {
            let d = ((a.percent - b.percent) * 10.0).round() / 10.0;
            if d > 0.0 {
                format!("+{d:.1}")
            } else if d < 0.0 {
                format!("{d:.1}")
            } else {
                "±0.0".to_string()
            }
        }
        _ => String::new(),
    }
}

fn overall(e: &Entry) -> Option<&Ratio> {
    e.coverage.as_ref().map(|c| &c.overall)
}

fn short(e: &Entry) -> String {
    e.commit
        .as_deref()
        .map_or_else(|| "-".to_string(), |c| c.chars().take(12).collect())
}

/// Each kind's coverage in the first and the last run that has it.
fn kinds(entries: &[Entry]) -> Vec<(String, Option<&Ratio>, Option<&Ratio>)> {
    let first = entries.iter().find_map(|e| e.coverage.as_ref());
    let last = entries.iter().rev().find_map(|e| e.coverage.as_ref());
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let names: std::collections::BTreeSet<&String> =
        first.by_kind.keys().chain(last.by_kind.keys()).collect();
    names
        .into_iter()
        .map(|k| (k.clone(), first.by_kind.get(k), last.by_kind.get(k)))
        .collect()
}

fn text(file: &Path, entries: &[Entry], w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "Coverage history: {} ({})",
        pgtap_scan::report::printable(&file.display().to_string()),
        pgtap_scan::report::count(entries.len() as u64, "run", "runs")
    )?;
    let mut prev: Option<&Ratio> = None;
    for e in entries {
        writeln!(
            w,
            "  {:<20}  {:<12}  {:<22} {}",
            pgtap_scan::report::printable(&e.time),
            pgtap_scan::report::printable(&short(e)),
            side(overall(e)),
            change(prev, overall(e))
        )?;
        if overall(e).is_some() {
            prev = overall(e);
        }
    }
    let kinds = kinds(entries);
    if !kinds.is_empty() {
        writeln!(w, "Per kind, first run -> last run:")?;
        for (k, a, b) in kinds {
            writeln!(
                w,
                "  {:<20} {:>20} -> {:<20} {}",
                k,
                side(a),
                side(b),
                change(a, b)
            )?;
        }
    }
    Ok(())
}

fn markdown(entries: &[Entry], w: &mut dyn Write) -> io::Result<()> {
    let cell = |s: &str| pgtap_scan::report::printable(s).replace('|', "\\|");
    writeln!(w, "### Coverage history\n")?;
    writeln!(w, "| Time (UTC) | Commit | Overall | Change |")?;
    writeln!(w, "|---|---|---:|---:|")?;
    let mut prev: Option<&Ratio> = None;
    for e in entries {
        writeln!(
            w,
            "| {} | `{}` | {} | {} |",
            cell(&e.time),
            cell(&short(e)).replace('`', "'"),
            side(overall(e)),
            change(prev, overall(e))
        )?;
        if overall(e).is_some() {
            prev = overall(e);
        }
    }
    let kinds = kinds(entries);
    if !kinds.is_empty() {
        writeln!(w, "\n| Kind | First run | Last run | Change |")?;
        writeln!(w, "|---|---:|---:|---:|")?;
        for (k, a, b) in kinds {
            writeln!(
                w,
                "| {} | {} | {} | {} |",
                cell(&k),
                side(a),
                side(b),
                change(a, b)
            )?;
        }
    }
    Ok(())
}
