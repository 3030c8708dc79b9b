//! Signals and the report file (`-o`): every phase of a run can be interrupted by SIGINT,
//! SIGTERM or SIGHUP, which exit with 130, 143 and 129 and leave no report and no temporary
//! file; the temporary file only exists while the report is written; a report's mode follows
//! the umask, or the mode of the file it replaces.
//!
//! The runs stop at a known point with the binary's test hook
//! (`PGTAP_SCAN_TEST_PAUSE_BEFORE=<phase>`, see `src/bin/pgtap-scan/test_hook.rs`) instead of racing a timer.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crate::util::Dir;

/// Enough files that the JSON report is a few hundred kilobytes: the render pause stops
/// after the first write, with most of the report still to come.
fn big_suite(dir: &Dir) {
    for i in 0..200 {
        let mut body = String::from("SELECT plan(20);\n");
        for j in 0..20 {
            body.push_str(&format!("SELECT has_table('s{i}', 't{j}');\n"));
        }
        dir.create(format!("tests/t{i:03}.sql"), body);
    }
}

/// A running `pgtap-scan` whose stderr is read line by line on a thread.
struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Vec<String>,
}

fn spawn(dir: &Dir, args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("pgtap-scan"));
    cmd.current_dir(dir.path())
        .args(args)
        .env_remove("PGTAP_SCAN_TEST_PAUSE_BEFORE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start pgtap-scan");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running {
        child,
        lines,
        stderr: Vec::new(),
    }
}

impl Running {
    /// Waits (at most a minute) for a stderr line containing `needle`.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stderr.push(line);
                    if found {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = self.child.kill();
        panic!(
            "never saw {needle:?} on stderr:\n{}",
            self.stderr.join("\n")
        );
    }

    fn signal(&self, sig: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) on our own child's pid.
        let r = unsafe { libc::kill(pid, sig) };
        assert_eq!(r, 0, "kill failed");
    }

    /// Waits (at most `limit`) for the exit; returns the exit code (None when killed by a
    /// signal) and the time it took.
    fn exit(mut self, limit: Duration) -> (Option<i32>, Duration, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                    self.stderr.push(line);
                }
                return (status.code(), start.elapsed(), self.stderr.join("\n"));
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "still running {limit:?} after the signal:\n{}",
                    self.stderr.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn temp_files(dir: &Dir, rel: &str) -> Vec<String> {
    dir.list(rel)
        .into_iter()
        .filter(|n| n.starts_with(".pgtap-scan-"))
        .collect()
}

/// Sends `sig` while the report is being written to `-o out/report.json`, which holds an
/// older report: the run exits with `code`, the older report is untouched and no temporary
/// file is left.
fn interrupted_while_writing(sig: i32, code: i32) {
    let owned = Dir::new("interrupted_while_writing");
    let dir = &owned;
    big_suite(dir);
    dir.create("out/report.json", "older report");
    let mut run = spawn(
        dir,
        &["tests", "--format", "json", "-o", "out/report.json"],
        &[("PGTAP_SCAN_TEST_PAUSE_BEFORE", "render")],
    );
    run.wait_for("test hook: paused before render");
    run.signal(sig);
    let (got, _, stderr) = run.exit(Duration::from_secs(30));
    assert_eq!(got, Some(code), "exit code after signal {sig}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("out/report.json")).expect("older report"),
        "older report",
        "the report was replaced although the run was interrupted"
    );
    assert_eq!(temp_files(dir, "out"), Vec::<String>::new());
}

#[test]
fn sigint_while_the_report_is_written_exits_130_without_a_report() {
    interrupted_while_writing(libc::SIGINT, 130);
}

#[test]
fn sigterm_while_the_report_is_written_exits_143_without_a_report() {
    interrupted_while_writing(libc::SIGTERM, 143);
}

#[test]
fn sighup_while_the_report_is_written_exits_129_without_a_report() {
    interrupted_while_writing(libc::SIGHUP, 129);
}

// Streaming NDJSON writes file lines during the scan, so its temporary file exists before
// the render: an interruption must still remove it.
pgtest!(
    an_interrupted_streaming_ndjson_report_leaves_no_temporary_file,
    |dir, cmd| {
        big_suite(dir);
        let mut run = spawn(
            dir,
            &[
                "tests",
                "--format",
                "ndjson",
                "--streaming",
                "always",
                "-o",
                "report.ndjson",
            ],
            &[("PGTAP_SCAN_TEST_PAUSE_BEFORE", "render")],
        );
        run.wait_for("test hook: paused before render");
        assert_eq!(temp_files(dir, ".").len(), 1, "{:?}", dir.list("."));
        run.signal(libc::SIGINT);
        let (got, _, stderr) = run.exit(Duration::from_secs(30));
        assert_eq!(got, Some(130), "{stderr}");
        assert!(!dir.join("report.ndjson").exists());
        assert_eq!(temp_files(dir, "."), Vec::<String>::new());
    }
);

pgtest!(
    a_signal_while_the_universe_is_read_exits_at_once,
    |dir, cmd| {
        big_suite(dir);
        dir.create(
            "migrations/001.sql",
            "CREATE SCHEMA s0; CREATE TABLE s0.t0 (id int);\n",
        );
        let mut run = spawn(
            dir,
            &[
                "tests",
                "--schema",
                "migrations",
                "--format",
                "json",
                "-o",
                "report.json",
            ],
            &[("PGTAP_SCAN_TEST_PAUSE_BEFORE", "universe")],
        );
        run.wait_for("test hook: paused before universe");
        run.signal(libc::SIGTERM);
        let (got, _, stderr) = run.exit(Duration::from_secs(30));
        assert_eq!(got, Some(143), "{stderr}");
        assert!(!dir.join("report.json").exists());
        assert_eq!(temp_files(dir, "."), Vec::<String>::new());
    }
);

// A phase that does not notice the first signal (a slow database, a stuck write) must
// still end on the second, at once, and clean up.
pgtest!(a_second_signal_ends_a_stuck_run_at_once, |dir, cmd| {
    big_suite(dir);
    let mut run = spawn(
        dir,
        &["tests", "--format", "json", "-o", "report.json"],
        &[
            ("PGTAP_SCAN_TEST_PAUSE_BEFORE", "render"),
            ("PGTAP_SCAN_TEST_PAUSE_IGNORES_SIGNALS", "1"),
            ("PGTAP_SCAN_TEST_PAUSE_MS", "60000"),
        ],
    );
    run.wait_for("test hook: paused before render");
    run.signal(libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    run.signal(libc::SIGINT);
    let (got, took, stderr) = run.exit(Duration::from_secs(20));
    assert_eq!(got, Some(130), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!dir.join("report.json").exists());
    assert_eq!(temp_files(dir, "."), Vec::<String>::new());
});

// Regression: the temporary file was created before the scan, so a run that crashed or was
// killed during the scan left it behind. It now exists only while the report is written.
pgtest!(no_temporary_file_exists_while_scanning, |dir, cmd| {
    big_suite(dir);
    dir.create_dir("out");
    let mut run = spawn(
        dir,
        &["tests", "--format", "json", "-o", "out/report.json"],
        &[("PGTAP_SCAN_TEST_PAUSE_BEFORE", "scan")],
    );
    run.wait_for("test hook: paused before scan");
    let during = temp_files(dir, "out");
    run.signal(libc::SIGTERM);
    let (got, _, stderr) = run.exit(Duration::from_secs(30));
    assert_eq!(
        during,
        Vec::<String>::new(),
        "a temporary file during the scan"
    );
    assert_eq!(got, Some(143), "{stderr}");
    assert_eq!(dir.list("out"), Vec::<String>::new());
});

// An unwritable folder is still refused before the scan, not after it.
pgtest!(
    an_output_folder_that_does_not_exist_fails_before_the_scan,
    |dir, cmd| {
        dir.create("t.sql", "SELECT ok(true);");
        let run = cmd
            .args(["t.sql", "--format", "json", "-o", "missing/report.json"])
            .env("PGTAP_SCAN_TEST_PAUSE_BEFORE", "scan")
            .env("PGTAP_SCAN_TEST_PAUSE_MS", "60000")
            .expect_code(2);
        run.assert_stderr_contains("missing/report.json")
            .assert_stderr_lacks("paused before scan");
    }
);

/// Runs `pgtap-scan ARGS` under `umask`; returns the exit code.
fn run_with_umask(dir: &Dir, umask: &str, args: &[&str]) -> Option<i32> {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(assert_cmd::cargo::cargo_bin("pgtap-scan"))
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run sh");
    status.code()
}

fn mode(dir: &Dir, rel: &str) -> u32 {
    std::fs::metadata(dir.join(rel))
        .expect("report written")
        .permissions()
        .mode()
        & 0o7777
}

// Regression: reports were always 0600 (the temporary file's mode), unreadable for the CI
// user that uploads them.
pgtest!(a_new_report_follows_the_umask, |dir, cmd| {
    dir.create("t.sql", "SELECT has_table('t');");
    for (umask, want) in [("022", 0o644), ("027", 0o640), ("002", 0o664)] {
        let name = format!("report-{umask}.json");
        let code = run_with_umask(dir, umask, &["t.sql", "--format", "json", "-o", &name]);
        assert_eq!(code, Some(0));
        assert_eq!(mode(dir, &name), want, "umask {umask}");
    }
});

pgtest!(an_existing_report_keeps_its_mode, |dir, cmd| {
    dir.create("t.sql", "SELECT has_table('t');");
    for (umask, existing) in [("077", 0o644), ("022", 0o640), ("022", 0o664)] {
        let name = format!("report-{existing:o}.json");
        dir.create(&name, "old");
        std::fs::set_permissions(dir.join(&name), std::fs::Permissions::from_mode(existing))
            .expect("chmod");
        let code = run_with_umask(dir, umask, &["t.sql", "--format", "json", "-o", &name]);
        assert_eq!(code, Some(0));
        assert_eq!(mode(dir, &name), existing, "umask {umask}");
        let text = std::fs::read_to_string(dir.join(&name)).expect("report");
        assert!(text.starts_with('{'), "replaced: {text}");
    }
});

// The coverage database's spill folder must not outlive an interrupted scan: the first
// signal drains the run, and the folder goes with the database. The signal is sent once
// the folder exists (polled, not timed), while files are still being read.
#[test]
fn a_signal_while_the_database_is_spilled_leaves_no_spill_folder() {
    let owned = Dir::new("spill_signal");
    let dir = &owned;
    for i in 0..4000 {
        let body: String = (0..20)
            .map(|j| format!("SELECT has_column('s{i}', 't{j}', 'c');\n"))
            .collect();
        dir.create(format!("tests/t{i:04}.sql"), body);
    }
    dir.create_dir("tmp");
    let tmp = dir.join("tmp").display().to_string();
    let running = spawn(
        dir,
        &[
            "tests",
            "--max-memory",
            "128K",
            "-j",
            "1",
            "--format",
            "json",
        ],
        &[("TMPDIR", tmp.as_str())],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while dir.list("tmp").is_empty() {
        assert!(Instant::now() < deadline, "no spill folder appeared");
        std::thread::sleep(Duration::from_millis(1));
    }
    running.signal(libc::SIGINT);
    let (code, _, stderr) = running.exit(Duration::from_secs(60));
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(dir.list("tmp"), Vec::<String>::new(), "{stderr}");
}
