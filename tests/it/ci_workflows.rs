//! The README's GitHub Actions workflow and GitLab pipeline, run: their `pgtap-scan`
//! commands (and the baseline step's git commands) are taken from the README's YAML
//! blocks and run with `bash` on `fixtures/supabase-e2e` (commit 2, on a branch whose
//! base is commit 1) with the CI variables set, as the runners would. The exit codes,
//! the files written and the gate's failure on the fixture's fall in coverage are checked.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::util::{git, supabase_e2e_state, Dir};

/// The YAML block of the README that contains `marker`.
fn readme_block(marker: &str) -> String {
    let readme = include_str!("../../README.md");
    readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .find(|b| b.contains(marker))
        .unwrap_or_else(|| panic!("no YAML block with {marker:?} in the README"))
        .to_string()
}

/// GitHub: each job's `run:` commands in order (the install step left out).
fn github_jobs() -> BTreeMap<String, Vec<String>> {
    let block = readme_block("name: pgTAP coverage\non:");
    let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut job = String::new();
    let mut in_jobs = false;
    for line in block.lines() {
        if line == "jobs:" {
            in_jobs = true;
            continue;
        }
        if in_jobs && line.len() > 2 && line.starts_with("  ") && !line.starts_with("   ") {
            job = line.trim().trim_end_matches(':').to_string();
            continue;
        }
        let t = line.trim_start().trim_start_matches("- ");
        if let Some(cmd) = t.strip_prefix("run: ") {
            if !cmd.starts_with("cargo install") {
                jobs.entry(job.clone()).or_default().push(cmd.to_string());
            }
        }
    }
    jobs
}

/// GitLab: each job's `script:` items in order.
fn gitlab_jobs() -> BTreeMap<String, Vec<String>> {
    let block = readme_block("pgtap-coverage:\n  image:");
    let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut job, mut in_script) = (String::new(), false);
    for line in block.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            job = line.trim_end_matches(':').to_string();
            in_script = false;
        } else if line.trim() == "script:" {
            in_script = true;
        } else if let (true, Some(cmd)) = (in_script, line.strip_prefix("    - ")) {
            jobs.entry(job.clone()).or_default().push(cmd.to_string());
        } else if !line.starts_with("    ") {
            in_script = false;
        }
    }
    jobs
}

struct Step {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs one command as a runner's shell step would, `pgtap-scan` on the PATH.
fn step(dir: &Dir, cmd: &str, env: &[(&str, String)]) -> Step {
    let bin = Path::new(env!("CARGO_BIN_EXE_pgtap-scan"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("bash");
    c.args(["-eo", "pipefail", "-c", cmd])
        .current_dir(dir.path())
        .env("PATH", path)
        .env(
            "GIT_CEILING_DIRECTORIES",
            dir.path().parent().unwrap_or(dir.path()),
        )
        .env_remove("NO_COLOR");
    for v in [
        "GITHUB_SHA",
        "CI_COMMIT_SHA",
        "BUILDKITE_COMMIT",
        "CIRCLE_SHA1",
        "GIT_COMMIT",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("bash runs");
    Step {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `origin/main` at commit 1, the branch's HEAD at commit 2; `None` without git.
fn repository(dir: &Dir) -> Option<String> {
    git(dir, &["init", "-q"])?;
    supabase_e2e_state(dir, 1);
    git(dir, &["add", "-A", "supabase"])?;
    git(dir, &["commit", "-q", "-m", "profiles"])?;
    git(dir, &["update-ref", "refs/remotes/origin/main", "HEAD"])?;
    supabase_e2e_state(dir, 2);
    git(dir, &["add", "-A", "supabase"])?;
    git(dir, &["commit", "-q", "-m", "notes"])?;
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn the_readme_workflows_parse_into_the_expected_steps() {
    let gh = github_jobs();
    assert_eq!(gh.keys().collect::<Vec<_>>(), ["nightly", "pr"]);
    assert_eq!(gh["pr"].len(), 5, "{:?}", gh["pr"]);
    assert_eq!(gh["nightly"].len(), 3, "{:?}", gh["nightly"]);
    let gl = gitlab_jobs();
    assert_eq!(
        gl.keys().collect::<Vec<_>>(),
        ["pgtap-coverage", "pgtap-nightly"]
    );
    assert_eq!(gl["pgtap-coverage"].len(), 2);
    assert_eq!(gl["pgtap-nightly"].len(), 4);
}

pgtest!(the_readme_github_workflow_runs, |dir, cmd| {
    let jobs = github_jobs();
    let Some(sha) = repository(dir) else {
        eprintln!("skipped: no git");
        return;
    };
    // As on GitHub's runners, RUNNER_TEMP is outside the workspace: a base checkout inside
    // it would be one more Supabase project under the scanned tree (a monorepo).
    let runner_temp = Dir::new("the_readme_github_workflow_runs_temp");
    let env = |sha: &str| {
        vec![
            ("GITHUB_ACTIONS", "true".to_string()),
            ("GITHUB_SHA", sha.to_string()),
            ("GITHUB_BASE_REF", "main".to_string()),
            ("GITHUB_WORKSPACE", dir.path().display().to_string()),
            ("RUNNER_TEMP", runner_temp.path().display().to_string()),
            (
                "GITHUB_STEP_SUMMARY",
                dir.join("summary.md").display().to_string(),
            ),
        ]
    };
    // The pull-request job: every step passes but the gates, which fail on the fall.
    let steps: Vec<Step> = jobs["pr"]
        .iter()
        .map(|c| step(dir, c, &env(&sha)))
        .collect();
    for (i, (c, s)) in jobs["pr"].iter().zip(&steps).enumerate() {
        let expect = if i + 1 == steps.len() { 1 } else { 0 };
        assert_eq!(s.code, Some(expect), "{c}\n{}\n{}", s.stdout, s.stderr);
    }
    assert!(dir.join("base.json").is_file());
    assert!(
        steps[1]
            .stdout
            .contains("::warning file=supabase/migrations/20240201000000_notes.sql"),
        "{}",
        steps[1].stdout
    );
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        summary.contains("### Coverage versus baseline"),
        "{summary}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pgtap-scan.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let gate = steps.last().unwrap();
    assert!(
        gate.stderr
            .contains("coverage fell versus the baseline: overall"),
        "{}",
        gate.stderr
    );

    // The nightly job, two nights: two history lines with their commits, the chart.
    std::fs::remove_file(dir.join("summary.md")).unwrap();
    for night in ["aaaa1111", "bbbb2222"] {
        for c in &jobs["nightly"] {
            let s = step(dir, c, &env(night));
            assert_eq!(s.code, Some(0), "{c}\n{}\n{}", s.stdout, s.stderr);
        }
    }
    let history = std::fs::read_to_string(dir.join("coverage-history.jsonl")).unwrap();
    let commits: Vec<String> = history
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["commit"].to_string())
        .collect();
    assert_eq!(commits, ["\"aaaa1111\"", "\"bbbb2222\""], "{history}");
    let html = std::fs::read_to_string(dir.join("coverage.html")).unwrap();
    assert_eq!(html.matches("<circle class=\"trend-dot\"").count(), 2);
    for f in ["coverage.json", "pgtap-badge.json"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("### Coverage history"), "{summary}");
});

pgtest!(the_readme_gitlab_pipeline_runs, |dir, cmd| {
    let jobs = gitlab_jobs();
    supabase_e2e_state(dir, 2);
    let coverage = gitlab_coverage;
    let env = |sha: &str| {
        vec![
            ("GITLAB_CI", "true".to_string()),
            ("CI_COMMIT_SHA", sha.to_string()),
        ]
    };
    // The merge-request job: Code Quality written; the gate fails at 35% < 60%.
    let mr = &jobs["pgtap-coverage"];
    let s = step(dir, &mr[0], &env("cccc3333"));
    assert_eq!(s.code, Some(0), "{}\n{}", mr[0], s.stderr);
    let cq: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("gl-code-quality.json")).unwrap())
            .unwrap();
    assert!(!cq.as_array().unwrap().is_empty());
    let s = step(dir, &mr[1], &env("cccc3333"));
    assert_eq!(s.code, Some(1), "{}\n{}", mr[1], s.stderr);
    // GitLab's coverage regex finds the figure in the log (stdout, then stderr).
    assert_eq!(
        coverage(&format!("{}{}", s.stdout, s.stderr)),
        Some("35.0".to_string())
    );
    // The nightly job, two nights.
    for night in ["dddd4444", "eeee5555"] {
        for c in &jobs["pgtap-nightly"] {
            let s = step(dir, c, &env(night));
            assert_eq!(s.code, Some(0), "{c}\n{}\n{}", s.stdout, s.stderr);
            if c == "pgtap-scan" {
                assert_eq!(
                    coverage(&s.stdout),
                    Some("35.0".to_string()),
                    "{}",
                    s.stdout
                );
            }
        }
    }
    let history = std::fs::read_to_string(dir.join("coverage-history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 2, "{history}");
    assert!(history.contains("\"commit\":\"eeee5555\""), "{history}");
    assert!(dir.join("pgtap-badge.json").is_file());
    assert!(dir.join("coverage.html").is_file());
});

/// GitLab's `coverage: '/^Coverage: (\d+\.\d+)%/'` over a job log: the last match's group.
fn gitlab_coverage(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .filter_map(|l| l.strip_prefix("Coverage: "))
        .filter_map(|rest| {
            let num: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let (a, b) = num.split_once('.')?;
            (!a.is_empty() && !b.is_empty() && rest[num.len()..].starts_with('%')).then_some(num)
        })
        .next()
}
