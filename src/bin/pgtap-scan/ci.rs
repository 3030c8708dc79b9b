//! What the CI platforms limit, as flags: the files a change touches (`--changed-files`,
//! `--since`) for the GitHub annotations, and the markdown byte budget (`--max-bytes`).

use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context as _, Result};

use pgtap_scan::ignoring::{IgnoreRules, IgnoreSource, Pattern};
use pgtap_scan::report::{changed_path, fit, ChangedFiles, Format};

/// GitHub refuses a comment body over 65,536 characters. 65,000 bytes leaves 536 for what
/// a workflow puts around the report (a marker comment to find and update its own
/// comment, a title, a link to the run); bytes are never fewer than characters.
pub const DEFAULT_MAX_BYTES: usize = 65_000;

/// `--max-bytes N`: at least [`fit::MIN_BYTES`], or 0 for no limit.
pub fn max_bytes(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .replace(['_', ','], "")
        .parse()
        .map_err(|_| format!("{s:?} is not a number of bytes"))?;
    if n != 0 && n < fit::MIN_BYTES {
        return Err(format!(
            "{n} is too small: at least {} (or 0 for no limit)",
            fit::MIN_BYTES
        ));
    }
    Ok(n)
}

/// The markdown budget: `--max-bytes` (0: none), else [`DEFAULT_MAX_BYTES`] for the
/// summary report and none for `gaps`, whose list is the point.
pub fn markdown_budget(flag: Option<usize>, gaps_only: bool) -> Option<usize> {
    match flag {
        Some(0) => None,
        Some(n) => Some(n),
        None if gaps_only => None,
        None => Some(DEFAULT_MAX_BYTES),
    }
}

/// The files `--changed-files` lists (one path a line; `-` is stdin) and `--since REF`
/// touches, or `None` when neither was given.
pub fn changed_files(
    list: Option<&Path>,
    since: Option<&str>,
    format: Format,
    messages: &crate::messages::Messages,
) -> Result<Option<ChangedFiles>> {
    if list.is_none() && since.is_none() {
        return Ok(None);
    }
    if format != Format::Github {
        messages.warning(&format!(
            "--changed-files and --since limit the annotations of --format github; the {} \
             report is not limited",
            format.name()
        ));
    }
    let mut files = ChangedFiles::new();
    if let Some(path) = list {
        let text = if path.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("--changed-files -: reading stdin")?;
            s
        } else {
            std::fs::read_to_string(path)
                .with_context(|| format!("--changed-files {}", path.display()))?
        };
        files.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(changed_path),
        );
    }
    if let Some(since) = since {
        files.extend(git_diff(since)?);
    }
    Ok(Some(files))
}

/// `git diff --name-only REF...HEAD`: what the branch changed since it left REF, each
/// path relative to the current directory as the `--changed-files` list writes them
/// (`../` for files above it: a scan run below the repository's root still sees changes
/// to the migrations or tests it reads from there).
fn git_diff(since: &str) -> Result<Vec<String>> {
    if since.starts_with('-') {
        bail!("--since {since:?}: a git revision, not an option");
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .with_context(|| format!("--since {since}: running git"))
    };
    let inside = git(&["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() {
        bail!(
            "--since {since}: not inside a git repository ({}); use --changed-files FILE instead",
            String::from_utf8_lossy(&inside.stderr).trim()
        );
    }
    // Where the current directory is under the work tree's top ("sub/dir/", or empty).
    let prefix = git(&["rev-parse", "--show-prefix"])?;
    let prefix = String::from_utf8_lossy(&prefix.stdout)
        .trim_end()
        .to_string();
    let range = format!("{since}...HEAD");
    let out = git(&["diff", "--name-only", "-z", &range, "--"])?;
    if !out.status.success() {
        bail!(
            "--since {since}: git diff {range} failed: {} (in a shallow clone, fetch the base: \
             actions/checkout with fetch-depth: 0)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| changed_path(&from_top(&prefix, &String::from_utf8_lossy(p))))
        .collect())
}

/// `path` (relative to the work tree's top, as `git diff` writes it) relative to the
/// folder `prefix` names (as `git rev-parse --show-prefix` writes it: "sub/dir/").
fn from_top(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        return path.to_string();
    }
    if let Some(below) = path.strip_prefix(prefix) {
        return below.to_string();
    }
    let up = prefix.split('/').filter(|s| !s.is_empty()).count();
    format!("{}{path}", "../".repeat(up))
}

/// The ignore rules from the flags and the config file (both count: a repository keeps
/// its list, a run adds to it); a bad pattern or kind is an error naming where it is.
pub fn ignore_rules(
    flag_globs: &[String],
    flag_kinds: &[String],
    file_globs: &[String],
    file_kinds: &[String],
    file_name: &str,
) -> Result<IgnoreRules> {
    let mut patterns = Vec::new();
    for g in file_globs {
        patterns.push(
            Pattern::new(g, IgnoreSource::Config)
                .map_err(|e| anyhow::anyhow!("{file_name}: ignore = {e}"))?,
        );
    }
    for g in flag_globs {
        patterns.push(
            Pattern::new(g, IgnoreSource::Flag).map_err(|e| anyhow::anyhow!("--ignore {e}"))?,
        );
    }
    let mut exclude_from_overall = Vec::new();
    let kinds = file_kinds
        .iter()
        .map(|k| (k, format!("{file_name}: exclude-from-overall")))
        .chain(
            flag_kinds
                .iter()
                .map(|k| (k, "--exclude-from-overall".to_string())),
        );
    for (k, from) in kinds {
        match pgtap_scan::gate::kind(k.trim()) {
            Some(kind) => exclude_from_overall.push(kind),
            None => bail!(
                "{from}: {k:?} is not an object kind (table, view, function, column, index, ...)"
            ),
        }
    }
    Ok(IgnoreRules {
        patterns,
        comments: true,
        exclude_from_overall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_paths_from_the_top_are_made_relative_to_the_current_folder() {
        assert_eq!(from_top("", "db/1.sql"), "db/1.sql");
        assert_eq!(from_top("sub/", "sub/t/a.sql"), "t/a.sql");
        assert_eq!(from_top("sub/", "db/1.sql"), "../db/1.sql");
        assert_eq!(from_top("sub/", "subway/x.sql"), "../subway/x.sql");
        assert_eq!(from_top("a/b/", "a/c.sql"), "../../a/c.sql");
    }

    #[test]
    fn max_bytes_reads_numbers_and_refuses_tiny_budgets() {
        assert_eq!(max_bytes("65000"), Ok(65_000));
        assert_eq!(max_bytes("1_000_000"), Ok(1_000_000));
        assert_eq!(max_bytes("0"), Ok(0));
        assert!(max_bytes("10").is_err());
        assert!(max_bytes("lots").is_err());
    }

    #[test]
    fn the_summary_has_a_default_budget_and_gaps_none() {
        assert_eq!(markdown_budget(None, false), Some(DEFAULT_MAX_BYTES));
        assert_eq!(markdown_budget(None, true), None);
        assert_eq!(markdown_budget(Some(0), false), None);
        assert_eq!(markdown_budget(Some(2048), true), Some(2048));
    }
}
