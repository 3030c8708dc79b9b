//! End to end, as a CI job runs it: `fixtures/supabase-e2e` holds two commits of a
//! Supabase project (`commit-1/`, `commit-2/`: a notes table added with one test, the
//! profiles test losing two assertions). Each state is committed to a git repository in a
//! temporary folder (when git is there) and scanned with no paths, as the nightly job
//! does: commit 1 with `--history`, writing the JSON report that is commit 2's baseline;
//! commit 2 with `--baseline`, `--history` and `--fail-on-drop`. The gates exit as the
//! README's exit-code table says, and the history file holds both runs with their
//! commits.

use serde_json::Value;

use crate::util::{git, supabase_e2e_state, Dir, TestCommand};

/// The CI variables the commit is read from; unset, so the commit comes from git.
const COMMIT_VARIABLES: &[&str] = &[
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

/// Commits the work tree; the new HEAD, or `None` without git.
fn commit(dir: &Dir, message: &str) -> Option<String> {
    git(dir, &["add", "-A", "supabase"])?;
    git(dir, &["commit", "-q", "-m", message])?;
    git(dir, &["rev-parse", "HEAD"])
}

/// The nightly job's command: no paths (the Supabase defaults), the history file.
fn job(dir: &Dir) -> TestCommand {
    let mut cmd = dir.command();
    for v in COMMIT_VARIABLES {
        cmd.env_remove(v);
    }
    cmd.env(
        "GIT_CEILING_DIRECTORIES",
        dir.path().parent().unwrap_or(dir.path()),
    )
    .args(["--no-config", "--history", "coverage-history.jsonl"]);
    cmd
}

pgtest!(
    supabase_two_commits_history_baseline_and_gates,
    |dir, cmd| {
        let has_git = git(dir, &["init", "-q"]).is_some();

        // Commit 1: the nightly run records itself and keeps its JSON report.
        supabase_e2e_state(dir, 1);
        let sha1 = if has_git {
            commit(dir, "profiles")
        } else {
            None
        };
        let run = job(dir)
            .args(["--format", "json", "-o", "base.json"])
            .env("SOURCE_DATE_EPOCH", "1796176800")
            .expect_code(0);
        run.assert_stderr_contains(
            "a Supabase project: scanning supabase/tests against supabase/migrations",
        )
        .assert_stderr_contains("Coverage: 70.0%");
        let base: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("base.json")).unwrap()).unwrap();
        assert_eq!(
            base["coverage"]["overall"]["tested"], 7,
            "{}",
            base["coverage"]
        );
        assert_eq!(
            base["coverage"]["overall"]["objects"], 10,
            "{}",
            base["coverage"]
        );
        // The platform's table the test asserts is known, not stale, not counted.
        assert_eq!(base["stale"], Value::Array(Vec::new()));

        // Commit 2: compared with commit 1's report. Overall coverage fell (7/10 -> 7/20)...
        supabase_e2e_state(dir, 2);
        let sha2 = if has_git { commit(dir, "notes") } else { None };
        let gate = |extra: &[&str]| {
            job(dir)
                .args(["--baseline", "base.json", "-q"])
                .args(extra)
                .env("SOURCE_DATE_EPOCH", "1796263200")
                .run()
        };
        let run = gate(&["--fail-on-drop", "--format", "markdown", "-o", "pr.md"]);
        assert_eq!(
            run.code,
            Some(1),
            "a fall under --fail-on-drop exits 1\n{run}"
        );
        run.assert_stderr_contains(
            "coverage fell versus the baseline: overall 70.0% (7/10) -> 35.0% (7/20)",
        );
        let md = std::fs::read_to_string(dir.join("pr.md")).unwrap();
        assert!(md.contains("### Coverage versus baseline"), "{md}");
        assert!(md.contains("**Newly untested: 2**"), "{md}");
        assert!(md.contains("- `column:public.profiles.username`"), "{md}");
        // ... while tables, triggers and functions did not fall (tables 1/1 -> 2/2): gating
        // on them passes.
        let run = gate(&[
            "--fail-on-drop=table,trigger,function",
            "--format",
            "json",
            "-o",
            "head.json",
        ]);
        assert_eq!(run.code, Some(0), "{run}");
        let head: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("head.json")).unwrap()).unwrap();
        let b = &head["baseline"];
        assert_eq!(b["file"], "base.json");
        assert_eq!(b["overall"]["status"], "fell");
        let newly_untested: Vec<&str> = b["newly_untested"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            newly_untested,
            [
                "column:public.profiles.id",
                "column:public.profiles.username"
            ],
            "{b}"
        );
        assert!(b["added"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "policy:public.notes.\"owners read their notes\""));
        // Without --fail-on-drop the fall is reported, not a failure.
        let run = gate(&[]);
        assert_eq!(run.code, Some(0), "{run}");
        assert!(run.stdout.contains("Coverage versus baseline"), "{run}");

        // Four runs recorded (the first and the three gates), in order, never rewritten.
        let history = std::fs::read_to_string(dir.join("coverage-history.jsonl")).unwrap();
        let lines: Vec<Value> = history
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 4, "{history}");
        assert_eq!(lines[0]["time"], "2026-12-02T02:00:00Z");
        assert_eq!(lines[0]["coverage"]["overall"]["percent"], 70.0);
        assert_eq!(lines[3]["time"], "2026-12-03T02:00:00Z");
        assert_eq!(lines[3]["coverage"]["overall"]["percent"], 35.0);
        if has_git {
            assert!(sha1.is_some() && sha2.is_some() && sha1 != sha2);
            assert_eq!(
                lines[0]["commit"].as_str(),
                sha1.as_deref(),
                "from git rev-parse HEAD"
            );
            assert_eq!(lines[3]["commit"].as_str(), sha2.as_deref());
        } else {
            assert_eq!(lines[0]["commit"], Value::Null);
        }
        // The trend: two distinct states, the fall in points.
        let run = dir
            .command()
            .args(["history", "coverage-history.jsonl"])
            .expect_code(0);
        assert!(run.stdout.contains("(4 runs)"), "{run}");
        assert!(run.stdout.contains("70.0% (7/10)"), "{run}");
        assert!(run.stdout.contains("35.0% (7/20)"), "{run}");
        assert!(run.stdout.contains("-35.0"), "{run}");
    }
);
