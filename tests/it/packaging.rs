//! Getting it (issue 16): the composite GitHub Action's script (`scripts/action.sh`, run
//! here as the action runs it, with its inputs as INPUT_* variables), the completions and
//! the man page generated from the flags.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{fixture, Dir};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Action {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    summary: String,
    outputs: String,
}

fn run_action(dir: &Dir, cwd: &Path, inputs: &[(&str, &str)]) -> Action {
    let summary = dir.join("summary.md");
    let outputs = dir.join("outputs");
    std::fs::write(&summary, "# Earlier step\n").expect("summary");
    std::fs::write(&outputs, "").expect("outputs");
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/action.sh"))
        .arg("run")
        .current_dir(cwd)
        .env("PGTAP_SCAN", assert_cmd::cargo::cargo_bin("pgtap-scan"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", dir.path());
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    Action {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        summary: std::fs::read_to_string(&summary).expect("summary"),
        outputs: std::fs::read_to_string(&outputs).expect("outputs"),
    }
}

#[test]
fn the_action_script_annotates_summarises_writes_sarif_and_gates() {
    let dir = Dir::new("action");
    let sarif = dir.join("out.sarif");
    let sarif_s = sarif.display().to_string();
    let a = run_action(
        &dir,
        &fixture("realworld"),
        &[
            ("INPUT_PATHS", "tests"),
            ("INPUT_SCHEMA", "migrations"),
            ("INPUT_ARGS", "--no-config --fail-under 90"),
            ("INPUT_SARIF", "true"),
            ("INPUT_SARIF_FILE", &sarif_s),
        ],
    );
    // 52.3% is under the gate: exit 1, after everything was written.
    assert_eq!(a.code, Some(1), "{}\n{}", a.stdout, a.stderr);
    assert!(a.stderr.contains("coverage gate failed"), "{}", a.stderr);
    assert_eq!(
        a.stdout
            .lines()
            .filter(|l| l.starts_with("::warning "))
            .count(),
        10,
        "{}",
        a.stdout
    );
    // The summary is appended to what earlier steps wrote.
    assert!(
        a.summary.starts_with("# Earlier step\n## pgTAP coverage"),
        "{}",
        a.summary
    );
    assert!(a.summary.contains("### Schema coverage: 52.3%"));
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).expect("the SARIF file"))
            .expect("SARIF is JSON");
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(a.outputs, format!("sarif-file={sarif_s}\n"));
    // No temporary folder is left in RUNNER_TEMP.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("pgtap-scan."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn the_action_script_passes_an_error_on_and_writes_nothing() {
    let dir = Dir::new("action-error");
    let a = run_action(
        &dir,
        &fixture("realworld"),
        &[
            ("INPUT_PATHS", "no-such-folder"),
            ("INPUT_ARGS", "--no-config"),
        ],
    );
    assert_eq!(a.code, Some(2), "{}\n{}", a.stdout, a.stderr);
    assert_eq!(a.summary, "# Earlier step\n");
    assert_eq!(a.outputs, "");
}

#[test]
fn the_action_runs_the_script_it_ships() {
    let action = std::fs::read_to_string(repo().join("action.yml")).expect("action.yml");
    assert!(action.contains("using: composite"));
    assert_eq!(
        action
            .matches("bash \"$GITHUB_ACTION_PATH/scripts/action.sh\"")
            .count(),
        2
    );
    // Every input the script reads is passed by the action.
    let script = std::fs::read_to_string(repo().join("scripts/action.sh")).expect("script");
    for var in [
        "INPUT_PATHS",
        "INPUT_SCHEMA",
        "INPUT_ARGS",
        "INPUT_SINCE",
        "INPUT_SUMMARY",
    ] {
        assert!(
            script.contains(var) && action.contains(&format!("{var}:")),
            "{var}"
        );
    }
    for var in ["INPUT_SARIF:", "INPUT_SARIF_FILE:", "INPUT_VERSION:"] {
        assert!(action.contains(var), "{var}");
    }
}

pgtest!(completions_and_the_man_page_know_every_flag, |dir, cmd| {
    let bash = cmd.args(["completions", "bash"]).expect_code(0).stdout;
    let man = dir.command().arg("man").expect_code(0).stdout;
    assert!(man.contains(".TH pgtap-scan 1"), "{man}");
    let help = dir.command().arg("--help").expect_code(0).stdout;
    // Every long flag --help lists (the first on each option line) is in both (the man
    // page escapes dashes).
    let flags: Vec<&str> = help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("--")))
        // `--fail-on-drop[=<KINDS>]`: a flag with an optional value is the part before `[`.
        .map(|w| w.split('[').next().unwrap_or(w))
        .map(|w| w.trim_end_matches([',', '.', ')', ']', ';', '=']))
        .filter(|w| w.len() > 2)
        .collect();
    assert!(flags.contains(&"--max-bytes") && flags.contains(&"--ignore"));
    for f in flags {
        assert!(bash.contains(f), "completions lack {f}");
        assert!(
            man.contains(&f.replace('-', "\\-")),
            "the man page lacks {f}"
        );
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = dir
            .command()
            .args(["completions", shell])
            .expect_code(0)
            .stdout;
        assert!(out.contains("max-bytes"), "{shell}");
    }
    dir.command()
        .args(["completions", "tcsh"])
        .expect_code(2)
        .assert_stderr_contains("possible values");
});
