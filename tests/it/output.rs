//! `-o`/`--output`: the report file is written whole or not at all, replaces what was
//! there (through a symbolic link, or in place for a special file), `-` is stdout, and a
//! folder that does not exist fails cleanly. Signals while it is written: `signals.rs`.

use crate::util::{self, paths, s, small_suite, Dir};

fn leftovers(dir: &Dir, rel: &str) -> Vec<String> {
    dir.list(rel)
        .into_iter()
        .filter(|n| n.starts_with(".pgtap-scan-") && n.ends_with(".tmp"))
        .collect()
}

pgtest!(output_file_is_written_whole, |dir, cmd| {
    small_suite(dir);
    dir.create_dir("out");
    let run = cmd
        .args(["tests", "--format", "json", "-o", "out/report.json"])
        .expect_code(0);
    assert!(run.stdout.is_empty(), "nothing on stdout\n{run}");
    let text = std::fs::read_to_string(dir.join("out/report.json")).expect("report");
    let from_file = util::parse_json(&text).expect("whole JSON").value;
    let from_stdout = dir.command().args(["tests"]).json();
    assert_eq!(from_file["files"], from_stdout["files"]);
    assert_eq!(from_file["summary"], from_stdout["summary"]);
    assert_eq!(dir.list("out"), s(&["report.json"]));
    assert!(leftovers(dir, "out").is_empty());
});

pgtest!(output_replaces_an_existing_file, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);").create(
        "report.ndjson",
        "old contents that are longer than the new report ".repeat(200),
    );
    cmd.args(["t.sql", "--format", "ndjson", "--output", "report.ndjson"])
        .expect_code(0);
    let text = std::fs::read_to_string(dir.join("report.ndjson")).expect("report");
    assert!(!text.contains("old contents"));
    assert_eq!(text.lines().count(), 2);
    assert!(leftovers(dir, ".").is_empty(), "{:?}", dir.list("."));
});

// Regression: `-o /dev/null` used to rename a temporary file over the device, leaving a
// regular file at /dev/null for every program on the machine. Special files are written in
// place; a FIFO stands in for the device here.
pgtest!(output_to_a_fifo_writes_in_place, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);").fifo("pipe");
    let path = dir.join("pipe");
    let (tx, rx) = std::sync::mpsc::channel();
    // The reader blocks until someone opens the FIFO for writing; a scanner that renamed a
    // file over it never would, so wait with a time limit instead of joining.
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read_to_string(path));
    });
    cmd.args(["t.sql", "--format", "ndjson", "-o", "pipe"])
        .expect_code(0);
    let text = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the report was never written into the FIFO")
        .expect("read fifo");
    assert_eq!(text.lines().count(), 2, "{text}");
    use std::os::unix::fs::FileTypeExt;
    let ft = std::fs::symlink_metadata(dir.join("pipe"))
        .expect("still there")
        .file_type();
    assert!(ft.is_fifo(), "the FIFO was replaced");
    assert!(leftovers(dir, ".").is_empty());
});

pgtest!(output_through_a_symlink_replaces_the_target, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);")
        .create("reports/real.json", "old")
        .symlink("reports/real.json", "link.json");
    cmd.args(["t.sql", "--format", "json", "-o", "link.json"])
        .expect_code(0);
    let meta = std::fs::symlink_metadata(dir.join("link.json")).expect("link");
    assert!(
        meta.file_type().is_symlink(),
        "the link itself was replaced"
    );
    let text = std::fs::read_to_string(dir.join("reports/real.json")).expect("target");
    assert!(text.contains("\"version\""), "{text}");
});

pgtest!(output_into_a_missing_directory_fails_cleanly, |dir, cmd| {
    dir.create("t.sql", "SELECT ok(true);");
    let run = cmd
        .args(["--format", "json", "-o", "no/such/dir/report.json"])
        .expect_code(2);
    run.assert_stderr_contains(
        "pgtap-scan: no/such/dir/report.json: cannot create a file in no/such/dir",
    );
    assert!(run.stdout.is_empty());
    assert!(!dir.join("no").exists());
    assert!(leftovers(dir, ".").is_empty());
});

pgtest!(
    output_into_a_missing_folder_says_so_without_temp_names,
    |dir, cmd| {
        dir.create("t.sql", "SELECT has_table('a');\n");
        let run = cmd
            .args(["t.sql", "-f", "html", "-o", "missing/dir/r.html"])
            .expect_code(2);
        run.assert_stderr_contains(
            "missing/dir/r.html: cannot create a file in missing/dir: no such folder",
        )
        .assert_stderr_lacks(".tmp");
    }
);

pgtest!(output_dash_is_stdout_not_a_file_named_dash, |dir, cmd| {
    dir.create("t.sql", "SELECT has_table('a');\n");
    let run = cmd.args(["t.sql", "-f", "json", "-o", "-"]).expect_code(0);
    assert!(run.stdout.contains("\"version\""), "{run}");
    assert!(!dir.join("-").exists(), "a file named - was written");
});

pgtest!(
    unreadable_file_still_gives_a_report_in_output_file,
    |dir, cmd| {
        dir.create("good.sql", "SELECT has_table('good');");
        let run = cmd
            .args([".", "gone.sql", "--format", "json", "-o", "report.json"])
            .expect_code(2);
        run.assert_stderr_contains("gone.sql");
        assert!(run.stdout.is_empty());
        let text = std::fs::read_to_string(dir.join("report.json")).expect("report written");
        let r = util::parse_json(&text).expect("report is JSON").value;
        assert_eq!(paths(&r), s(&["./good.sql"]));
    }
);
