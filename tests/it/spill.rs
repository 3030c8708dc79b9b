//! The coverage database under the memory budget: above its share of `--max-memory` it
//! spills sorted runs to a temporary folder (next to `--output`, else `$TMPDIR`), merges
//! them when reporting, and the reports are the same bytes as an unbounded scan's (but
//! `stats`); the folder is gone afterwards; a folder that cannot be made stops the run with
//! exit 2 naming it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{self, Dir};

/// A budget small enough that every suite below spills several runs, large enough that
/// every file of them is read (the largest corpus file is under 100 KB).
const TINY: &str = "128K";

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The report's bytes, with `stats` removed from JSON (and from ndjson's summary line).
fn without_stats(format: &str, stdout: &str) -> String {
    if format == "ndjson" {
        return stdout
            .lines()
            .map(|l| match serde_json::from_str::<Value>(l) {
                Ok(Value::Object(mut o)) if o.contains_key("stats") => {
                    o.remove("stats");
                    Value::Object(o).to_string()
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    if format != "json" {
        return stdout.to_string();
    }
    let mut v: Value = util::parse_json(stdout).expect("JSON").value;
    v.as_object_mut().expect("an object").remove("stats");
    serde_json::to_string_pretty(&v).expect("JSON")
}

/// Scans `args` unbounded and with a tiny budget in json and text, standard and streaming:
/// the same reports; the tiny one spilled at least `min_runs` runs and left nothing in
/// its temporary folder.
fn same_reports_spilled(dir: &Dir, args: &[&str], min_runs: u64) {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    for streaming in ["never", "always"] {
        for format in ["json", "text"] {
            let run = |budget: Option<&str>| {
                let mut cmd = dir.command();
                cmd.args(args)
                    .args([
                        "--format",
                        format,
                        "--streaming",
                        streaming,
                        "--color",
                        "never",
                    ])
                    .env("TMPDIR", &tmp);
                if let Some(b) = budget {
                    cmd.args(["--max-memory", b]);
                }
                cmd.expect_code(0)
            };
            let unbounded = run(None);
            let tiny = run(Some(TINY));
            assert!(
                without_stats(format, &unbounded.stdout) == without_stats(format, &tiny.stdout),
                "{args:?} --format {format} --streaming {streaming}: the spilled report differs"
            );
            if format == "json" {
                let st = &tiny.json()["stats"];
                let spilled = st["runs_spilled"].as_u64().expect("runs_spilled");
                assert!(spilled >= min_runs, "{args:?}: {st}");
                assert_eq!(st["runs_merged"], spilled, "{st}");
                assert!(st["spill_bytes_written"].as_u64() > Some(0), "{st}");
                let st = &unbounded.json()["stats"];
                assert_eq!(st["runs_spilled"], 0, "{st}");
                assert!(st["database_bytes"].as_u64() > Some(0), "{st}");
            }
            assert_eq!(dir.list("tmp"), Vec::<String>::new(), "spill folder left");
        }
    }
}

pgtest!(
    a_spilled_database_reports_the_same_bytes_on_the_fixtures,
    |dir, cmd| {
        let sample = manifest("fixtures/sample");
        let realworld = manifest("fixtures/realworld");
        let (st, sm) = (sample.join("tests"), sample.join("migrations"));
        let (rt, rm) = (realworld.join("tests"), realworld.join("migrations"));
        let s = |p: &PathBuf| p.display().to_string();
        same_reports_spilled(dir, &[&s(&st)], 2);
        same_reports_spilled(dir, &[&s(&st), "--schema", &s(&sm)], 2);
        same_reports_spilled(dir, &[&s(&rt), "--schema", &s(&rm)], 2);
    }
);

pgtest!(
    a_spilled_database_reports_the_same_bytes_on_the_corpus,
    |dir, cmd| {
        let Some(shared) = util::shared() else {
            return;
        };
        let corpus = shared.join("corpus").display().to_string();
        same_reports_spilled(dir, &[&corpus], 5);
    }
);

/// 3000 distinct objects in files of 10 KB: the database outgrows a quarter of 64 KiB.
fn many_objects(dir: &Dir) {
    for f in 0..10 {
        let body: String = (0..300)
            .map(|i| format!("SELECT has_column('t{f}_{i}', 'c');\n"))
            .collect();
        dir.create(format!("t/{f}.sql"), &body);
    }
}

pgtest!(the_spill_folder_is_next_to_the_output, |dir, cmd| {
    many_objects(dir);
    dir.create("not-a-folder", "");
    dir.create_dir("out");
    // $TMPDIR is unusable: a spill there would fail, so this one went next to the report.
    let run = cmd
        .args([
            "t",
            "--max-memory",
            "64K",
            "--format",
            "json",
            "-o",
            "out/r.json",
        ])
        .env("TMPDIR", dir.join("not-a-folder"))
        .expect_code(0);
    let report = util::parse_json(&std::fs::read_to_string(dir.join("out/r.json")).expect("r"))
        .expect("JSON")
        .value;
    assert!(report["stats"]["runs_spilled"].as_u64() > Some(0), "{run}");
    assert_eq!(dir.list("out"), ["r.json"]);
});

pgtest!(
    an_unusable_spill_folder_stops_the_run_naming_it,
    |dir, cmd| {
        many_objects(dir);
        dir.create("not-a-folder", "");
        let run = cmd
            .args(["t", "--max-memory", "64K"])
            .env("TMPDIR", dir.join("not-a-folder"))
            .expect_code(2);
        run.assert_stderr_contains("cannot make the coverage database's spill folder")
            .assert_stderr_contains(&dir.join("not-a-folder").display().to_string())
            .assert_stderr_lacks("panicked");
        assert!(!run.stdout.contains("Coverage"), "no report: {run}");
    }
);

#[test]
fn merge_spills_under_its_own_max_memory_and_gives_the_same_report() {
    // `pgtap-scan merge` built its own configuration and spilled above the default budget
    // into $TMPDIR whatever --max-memory and -o said.
    let dir = Dir::new("merge-spill");
    let tests = manifest("fixtures/realworld/tests");
    let parts: Vec<PathBuf> = (1..=2)
        .map(|k| {
            let p = dir.join(format!("s{k}.pgtap"));
            dir.command()
                .args(["--no-config", "--format", "partial", "-o"])
                .arg(&p)
                .arg(&tests)
                .args(["--shard", &format!("{k}/2")])
                .expect_code(0);
            p
        })
        .collect();
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let merge = |budget: Option<&str>, out: &str| -> Value {
        let mut cmd = dir.command();
        cmd.args(["merge", "--no-config", "--format", "json", "-o", out])
            .args(&parts)
            .env("TMPDIR", &tmp);
        if let Some(b) = budget {
            cmd.args(["--max-memory", b]);
        }
        cmd.expect_code(0);
        util::parse_json(&std::fs::read_to_string(dir.join(out)).expect("report"))
            .expect("JSON")
            .value
    };
    let mut unbounded = merge(None, "full.json");
    std::fs::create_dir_all(dir.join("out")).expect("out");
    let mut tiny = merge(Some(TINY), "out/tiny.json");
    assert_eq!(unbounded["stats"]["runs_spilled"], 0);
    assert!(
        tiny["stats"]["runs_spilled"].as_u64().unwrap_or(0) >= 1,
        "{}",
        tiny["stats"]
    );
    assert!(
        tiny["stats"]["spill_bytes_written"].as_u64().unwrap_or(0) > 0,
        "{}",
        tiny["stats"]
    );
    // Spilled next to -o, not in $TMPDIR, and cleaned up.
    assert_eq!(std::fs::read_dir(&tmp).expect("tmp").count(), 0);
    let left: Vec<_> = std::fs::read_dir(dir.join("out"))
        .expect("out")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["tiny.json"], "{left:?}");
    unbounded.as_object_mut().expect("object").remove("stats");
    tiny.as_object_mut().expect("object").remove("stats");
    assert!(unbounded == tiny, "the spilled merge's report differs");
}

// Issue 15: json and text are written with a spilled database's objects left on disk (never
// built in memory); the formats that list objects read them back into memory. Under a tiny
// budget every one of them is the same bytes as an unbounded scan's, and nothing is left
// in the temporary folder.
pgtest!(
    every_format_reports_the_same_bytes_from_a_spilled_database,
    |dir, cmd| {
        many_objects(dir);
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmp");
        for format in ["csv", "ndjson", "markdown", "junit", "html", "json", "text"] {
            let run = |budget: &str| {
                // The HTML page says when it was made, to the minute: a fixed time, or
                // two runs on either side of a minute differ (seen in CI under load).
                dir.command()
                    .args(["t", "--format", format, "--color", "never"])
                    .args(["--max-memory", budget])
                    .env("TMPDIR", &tmp)
                    .env("SOURCE_DATE_EPOCH", "1700000000")
                    .expect_code(0)
            };
            let unbounded = run("512M");
            let tiny = run("64K");
            assert!(
                without_stats(format, &unbounded.stdout) == without_stats(format, &tiny.stdout),
                "--format {format}: the spilled report differs"
            );
            if format == "json" {
                let st = &tiny.json()["stats"];
                assert!(st["runs_spilled"].as_u64() > Some(1), "{st}");
            }
            assert_eq!(dir.list("tmp"), Vec::<String>::new(), "spill folder left");
        }
    }
);

/// A suite whose plans are checked through includes, in every way a batch boundary could
/// change an answer: 400 runners sharing two helpers (one per folder and one at the root),
/// a third of them planned wrong; runners included by other runners (before and after them
/// on disk); an include cycle back to a runner; an include that is missing; a helper that
/// includes a helper.
fn plans_through_includes(dir: &Dir) {
    dir.create(
        "suite/setup.sql",
        "SELECT ok(true);\n\\ir common/deep.sql\n",
    )
    .create(
        "suite/common/deep.sql",
        "SELECT ok(true);\nSELECT ok(true);\n",
    );
    for d in 0..8 {
        dir.create(
            format!("suite/d{d}/helpers.sql"),
            "SELECT has_table('h');\n",
        );
        for f in 0..50 {
            // setup.sql gives 3, helpers.sql 1, the file itself 2 (4 with a runner
            // included); every third is planned one short.
            let mut body = String::from("\\i setup.sql\n\\ir helpers.sql\n");
            let mut planned = 3 + 1 + 2;
            if f % 10 == 3 {
                // A runner of the next folder (the last folder's: of the first), which
                // includes no runner itself: read before or after this one, in this batch
                // or another.
                body.push_str(&format!("\\ir ../d{}/t{:02}.sql\n", (d + 1) % 8, f + 1));
                planned += 3 + 1 + 2;
            }
            if f % 3 == 0 {
                planned -= 1;
            }
            body.push_str(&format!(
                "SELECT plan({planned});\nSELECT ok(true);\nSELECT has_table('t{d}_{f}');\n"
            ));
            dir.create(format!("suite/d{d}/t{f:02}.sql"), body);
        }
    }
    dir.create(
        "suite/d0/cycle.sql",
        "SELECT plan(2);\nSELECT ok(true);\n\\ir back.inc\n",
    )
    .create("suite/d0/back.inc", "SELECT ok(true);\n\\ir cycle.sql\n")
    .create(
        "suite/d1/missing.sql",
        "SELECT plan(2);\nSELECT ok(true);\n\\ir gone.sql\n",
    );
}

pgtest!(
    plan_checks_through_includes_spill_and_give_the_unbounded_verdicts,
    |dir, cmd| {
        plans_through_includes(dir);
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmp");
        for format in ["json", "text"] {
            let run = |budget: &str| {
                dir.command()
                    .args(["suite", "--format", format, "--color", "never"])
                    .args(["--max-memory", budget, "--threads", "2"])
                    .env("TMPDIR", &tmp)
                    .expect_code(0)
            };
            let unbounded = run("1G");
            // 64 KiB: the runners' share is 4 KiB (some 20 runners), the check's batches
            // half that.
            let tiny = run("64K");
            assert!(
                without_stats(format, &unbounded.stdout) == without_stats(format, &tiny.stdout),
                "--format {format}: the spilled plan checks differ\n{}\n---\n{}",
                unbounded.stdout,
                tiny.stdout
            );
            // Messages are printed as files arrive: the same lines, maybe in another order.
            let lines = |s: &str| {
                let mut l: Vec<String> = s.lines().map(str::to_string).collect();
                l.sort();
                l
            };
            assert_eq!(
                lines(&unbounded.stderr),
                lines(&tiny.stderr),
                "--format {format}"
            );
            if format == "json" {
                let st = &tiny.json()["stats"];
                assert!(st["plans_spilled"].as_u64() >= Some(390), "{st}");
                assert_eq!(unbounded.json()["stats"]["plans_spilled"], 0);
                // Not vacuous: mismatches through includes, a cycle and a missing include.
                let r = unbounded.json();
                let plans = &r["summary"]["plans"];
                assert_eq!(plans["checked"], 400, "{plans}");
                let mismatches = plans["mismatches"].as_array().expect("mismatches");
                assert_eq!(mismatches.len(), 8 * 17, "{plans}");
                assert!(mismatches
                    .iter()
                    .all(|m| m["from_includes"].as_u64() >= Some(4)));
            }
            assert!(tiny.stderr.contains("include cycle"), "{}", tiny.stderr);
            assert!(tiny.stderr.contains("gone.sql"), "{}", tiny.stderr);
            assert_eq!(dir.list("tmp"), Vec::<String>::new(), "spill file left");
        }
    }
);
