//! The command line itself: the default subcommand, the flags it refuses, exit codes, and
//! the errors and warnings it prints, on stderr (honouring `-q`) and in the report.

use std::collections::BTreeSet;

use crate::util::{paths, small_suite, Dir};

pgtest!(scan_subcommand_is_the_default_command, |dir, cmd| {
    small_suite(dir);
    let a = cmd.json();
    let b = dir
        .command()
        .args(["scan", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(a["summary"], b["summary"]);
    assert_eq!(paths(&a), paths(&b));
    assert_eq!(a["summary"]["files"], 4);
});

pgtest!(list_functions_prints_the_catalog, |dir, cmd| {
    let run = cmd.arg("--list-functions").expect_code(0);
    let names: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(names.len(), 228, "{run}");
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), 228, "names repeat");
    for f in [
        "has_table",
        "results_eq",
        "throws_ok",
        "col_is_pk",
        "ok",
        "is",
    ] {
        assert!(unique.contains(f), "{f} missing");
    }
    assert!(names.iter().all(|n| !n.is_empty() && !n.contains(' ')));
});

// ---------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------

pgtest!(exit_0_on_a_clean_run, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(1);\nSELECT ok(true);\n");
    let run = cmd.expect_code(0);
    assert!(run.stderr.is_empty(), "{run}");
    assert!(run.stdout.contains("1 files, 1 assertions"), "{run}");
});

pgtest!(errors_outrank_a_strict_failure, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2); SELECT ok(true);\n");
    cmd.args(["t.sql", "missing.sql", "--strict"])
        .expect_code(2);
});

pgtest!(bad_flags_exit_2, |dir, cmd| {
    let run = cmd.arg("--no-such-flag").expect_code(2);
    run.assert_stderr_contains("--no-such-flag");
    assert!(run.stdout.is_empty());
    dir.command()
        .args(["--format", "xml"])
        .expect_code(2)
        .assert_stderr_contains("xml");
    dir.command()
        .args(["--max-depth", "lots"])
        .expect_code(2)
        .assert_stderr_contains("lots");
    dir.command()
        .args(["--max-memory", "0"])
        .expect_code(2)
        .assert_stderr_contains("--max-memory <SIZE>': \"0\": must be more than 0");
});

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

pgtest!(quiet_silences_warnings_not_errors, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2); SELECT ok(true);\n");
    let run = cmd.args(["-q", ".", "gone.sql"]).expect_code(2);
    run.assert_stderr_lacks("warning")
        .assert_stderr_contains("gone.sql: cannot read");
});

pgtest!(messages_are_kept_in_the_report, |dir, cmd| {
    dir.create("a.sql", "SELECT plan(1);\nSELECT has_table('x);\n")
        .create("b.sql", "SELECT plan(2);\nSELECT has_table('y');\n");
    let r = cmd.args(["a.sql", "b.sql"]).json();
    let messages = r["messages"].as_array().expect("messages");
    let texts: Vec<String> = messages
        .iter()
        .map(|m| {
            format!(
                "{} {}:{} {}",
                m["severity"].as_str().expect("severity"),
                m["path"].as_str().expect("path"),
                m["line"],
                m["text"].as_str().expect("text")
            )
        })
        .collect();
    assert!(
        texts.iter().any(|t| t.starts_with("error a.sql:2 ")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t == "warning b.sql:1 plan(2) but 1 tests found"),
        "{texts:?}"
    );
    assert_eq!(r["messages_omitted"], 0);
    assert_eq!(
        messages.len() as u64,
        r["summary"]["errors"].as_u64().expect("n") + r["summary"]["warnings"].as_u64().expect("n")
    );
    let text = dir
        .command()
        .args(["a.sql", "b.sql", "--color", "never"])
        .run()
        .stdout;
    assert!(text.contains("  error a.sql:2: "), "{text}");
});

pgtest!(counts_of_one_are_singular, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(2);\nSELECT has_table('a');\n");
    let run = cmd.args(["t.sql", "--strict"]).expect_code(1);
    run.assert_stderr_contains("1 plan mismatch (--strict)")
        .assert_stderr_lacks("1 plan mismatches");
    assert!(run.stdout.contains("0 errors, 1 warning (also"), "{run}");
});

#[test]
fn broken_pipe_on_stdout_is_quiet() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = Dir::new("broken_pipe");
    // Far more than a pipe buffer (64 KiB) of JSON, so the writer meets the closed pipe.
    let body: String = (0..5_000)
        .map(|i| format!("SELECT has_table('public', 't{i}', 'description {i}');\n"))
        .collect();
    dir.create("big.sql", body);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("pgtap-scan"))
        .current_dir(dir.path())
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout); // like `| head -c 16`
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Broken pipe"),
        "a closed stdout is reported as an error (exit {:?}): {stderr}",
        out.status.code()
    );
    assert_ne!(out.status.code(), Some(2), "{stderr}");
}
