//! `--shard k/n` end to end: the real binary on a temp tree and on the realworld fixture.
//! The shards of a run must partition its files (disjoint, complete), place a file by its
//! own path only (adding files moves no other), and refuse what is not a shard.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::Dir;

fn files(report: &Value) -> BTreeSet<String> {
    report["files"]
        .as_array()
        .expect("files listed")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_string())
        .collect()
}

fn tree(dir: &Dir, n: usize) {
    for i in 0..n {
        dir.create(
            format!("tests/d{}/t{i:03}.sql", i % 5),
            format!("SELECT has_table('t{i}');\n"),
        );
    }
}

#[test]
fn shards_partition_the_files_and_each_walks_the_whole_tree() {
    let dir = Dir::new("shard-partition");
    tree(&dir, 60);
    let all = files(&dir.command().args(["--no-config", "tests"]).json());
    assert_eq!(all.len(), 60);
    for n in 1..=4u32 {
        let mut union = BTreeSet::new();
        for k in 1..=n {
            let report = dir
                .command()
                .args(["--no-config", "tests", "--shard", &format!("{k}/{n}")])
                .json();
            assert_eq!(
                report["stats"]["files_discovered"], 60,
                "every shard walks all"
            );
            let mine = files(&report);
            assert!(union.is_disjoint(&mine), "shard {k}/{n} overlaps another");
            union.extend(mine);
        }
        assert_eq!(union, all, "the shards of {n} miss files");
    }
}

#[test]
fn adding_files_moves_no_other_file_between_shards() {
    let dir = Dir::new("shard-stable");
    tree(&dir, 30);
    let before = files(
        &dir.command()
            .args(["--no-config", "tests", "--shard", "2/3"])
            .json(),
    );
    for i in 100..130 {
        dir.create(format!("tests/new/n{i}.sql"), "SELECT has_table('x');\n");
    }
    let after = files(
        &dir.command()
            .args(["--no-config", "tests", "--shard", "2/3"])
            .json(),
    );
    let old_after: BTreeSet<String> = after
        .into_iter()
        .filter(|p| !p.starts_with("tests/new/"))
        .collect();
    assert_eq!(before, old_after);
}

#[test]
fn a_shard_without_files_of_a_non_empty_tree_is_not_an_error() {
    let dir = Dir::new("shard-empty-share");
    dir.create("tests/only.sql", "SELECT has_table('t');\n");
    for k in 1..=8 {
        let run = dir
            .command()
            .args(["--no-config", "tests", "-q", "--shard", &format!("{k}/8")])
            .run();
        assert_eq!(run.code, Some(0), "{run}");
    }
    // An empty tree still is.
    let empty = Dir::new("shard-empty-tree");
    empty.create_dir("tests");
    let run = empty
        .command()
        .args(["--no-config", "tests", "--shard", "1/2"])
        .expect_code(2);
    assert!(run.stderr.contains("no test files found"), "{run}");
}

#[test]
fn bad_shard_specs_are_clear_errors() {
    let dir = Dir::new("shard-bad");
    tree(&dir, 3);
    for (spec, says) in [
        ("0/3", "numbered from 1"),
        ("4/3", "does not exist"),
        ("1/0", "at least 1"),
        ("3", "is not k/n"),
        ("x/3", "not a whole number"),
    ] {
        let run = dir
            .command()
            .args(["--no-config", "tests", "--shard", spec])
            .expect_code(2);
        assert!(
            run.stderr.contains("--shard") && run.stderr.contains(says),
            "{run}"
        );
    }
    dir.create(".pgtap-scan.toml", "shard = \"5/2\"\n");
    let run = dir.command().arg("tests").expect_code(2);
    assert!(
        run.stderr.contains(".pgtap-scan.toml: shard = ") && run.stderr.contains("does not exist"),
        "{run}"
    );
}

#[test]
fn shard_auto_reads_the_ci_variables_and_never_falls_back_to_a_full_scan() {
    let dir = Dir::new("shard-auto");
    tree(&dir, 40);
    let explicit = |spec: &str| {
        files(
            &dir.command()
                .args(["--no-config", "tests", "--shard", spec])
                .json(),
        )
    };
    let auto = |vars: &[(&str, &str)]| {
        let mut cmd = dir.command();
        for (name, _, _, _) in pgtap_scan::shard::CI_VARIABLES {
            cmd.env_remove(name);
        }
        for (_, total, _, _) in pgtap_scan::shard::CI_VARIABLES {
            cmd.env_remove(total);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.args(["--no-config", "tests", "--shard", "auto"]);
        cmd
    };
    // GitLab is 1-based, CircleCI and Buildkite 0-based.
    let gitlab = files(&auto(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")]).json());
    assert_eq!(gitlab, explicit("2/3"));
    let circle = files(&auto(&[("CIRCLE_NODE_INDEX", "1"), ("CIRCLE_NODE_TOTAL", "3")]).json());
    assert_eq!(circle, explicit("2/3"));
    let buildkite = files(
        &auto(&[
            ("BUILDKITE_PARALLEL_JOB", "0"),
            ("BUILDKITE_PARALLEL_JOB_COUNT", "2"),
        ])
        .json(),
    );
    assert_eq!(buildkite, explicit("1/2"));
    let run = auto(&[]).expect_code(2);
    assert!(
        run.stderr.contains("no CI shard variables are set"),
        "{run}"
    );
    assert!(run.stdout.is_empty(), "a report was written: {run}");
}

#[test]
fn a_gate_on_a_shard_is_refused() {
    let dir = Dir::new("shard-gate");
    tree(&dir, 3);
    dir.create("db/schema.sql", "CREATE TABLE t0 (id int);\n");
    let run = dir
        .command()
        .args([
            "--no-config",
            "tests",
            "--shard",
            "1/2",
            "--schema",
            "db",
            "--fail-under",
            "50",
        ])
        .expect_code(2);
    assert!(run.stderr.contains("--fail-under with --shard"), "{run}");
}
