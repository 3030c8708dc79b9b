//! Same input, same report (but `stats`): which messages, locations and empty-file paths a
//! report keeps when it cannot keep them all must not depend on the order files arrive in
//! (the thread count, the batch size, the order of the roots, the moment `--streaming auto`
//! switches on).

use serde_json::Value;

use crate::util::Dir;

/// 1400 files in two roots: a fifth without assertions (more than the 100 empty-file paths
/// a streaming report lists), the rest with a plan that disagrees (1120 warnings, more than
/// the 1000 messages kept), all naming `shared` (more than the 4 locations per object a
/// streaming report keeps).
fn tree(dir: &Dir) {
    for half in ["a", "b"] {
        for i in 0..700 {
            let body = if i % 5 == 0 {
                "SELECT 1;\n".to_string()
            } else {
                format!(
                    "SELECT plan(9);\nSELECT has_table('shared');\n\
                     SELECT has_column('shared', 'c{}');\nSELECT has_table('t{half}{i}');\n",
                    i % 7
                )
            };
            dir.create(format!("tests/{half}/f{i:04}.sql"), body);
        }
    }
}

fn without_stats(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("stats");
    }
    v
}

fn json(dir: &Dir, args: &[&str]) -> Value {
    let mut cmd = dir.command();
    cmd.args(args).args(["--format", "json", "-q"]);
    without_stats(cmd.expect_code(0).json())
}

fn assert_same(what: &str, a: &Value, b: &Value) {
    if a == b {
        return;
    }
    for (k, v) in a.as_object().expect("object") {
        assert_eq!(Some(v), b.get(k), "{what}: member {k:?} differs");
    }
    panic!("{what}: reports differ");
}

pgtest!(reports_do_not_depend_on_arrival_order, |dir, cmd| {
    tree(dir);
    let streaming = ["--streaming", "always"];
    let base = json(
        dir,
        &[&["tests/a", "tests/b", "-j", "1"][..], &streaming].concat(),
    );
    assert_eq!(base["messages"].as_array().map(Vec::len), Some(1000));
    assert_eq!(base["messages_omitted"], 120);
    let empty = &base["statistics"]["files_without_assertions"];
    assert_eq!(empty["count"], 280);
    assert_eq!(empty["paths"].as_array().map(Vec::len), Some(100));
    let shared = base["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["key"] == "table:public.shared")
        .expect("shared");
    assert_eq!(shared["locations"].as_array().map(Vec::len), Some(4));
    // 1120 as target, 1120 as the table of a column.
    assert_eq!(shared["locations_omitted"], 2240 - 4);
    // The kept ones are the first by file and line.
    assert_eq!(shared["locations"][0]["file"], "tests/a/f0001.sql");
    assert_eq!(
        empty["paths"][0], "tests/a/f0000.sql",
        "the first empty files by path"
    );

    for (what, args) in [
        ("roots reversed", vec!["tests/b", "tests/a", "-j", "1"]),
        (
            "3 threads, batches of 1",
            vec!["tests/b", "tests/a", "-j", "3", "--batch-size", "1"],
        ),
    ] {
        let other = json(dir, &[&args[..], &streaming].concat());
        assert_same(what, &base, &other);
    }
    // `--streaming auto` switches on above 1000 files, after some files were kept whole.
    let auto = json(dir, &["tests/b", "tests/a", "-j", "2", "--batch-size", "7"]);
    assert_same("streaming auto", &base, &auto);

    // Standard mode keeps every location and path, but messages are still capped.
    let standard = json(
        dir,
        &["tests/a", "tests/b", "-j", "1", "--streaming", "never"],
    );
    let reversed = json(
        dir,
        &["tests/b", "tests/a", "-j", "3", "--streaming", "never"],
    );
    assert_same("standard mode", &standard, &reversed);
    assert_eq!(standard["messages"], base["messages"]);
});

// In streaming NDJSON, file lines are written as files arrive: their order may vary, but
// not what the lines say.
pgtest!(
    streaming_ndjson_lines_do_not_depend_on_arrival_order,
    |dir, cmd| {
        tree(dir);
        let lines = |args: &[&str]| -> Vec<String> {
            let mut cmd = dir.command();
            cmd.args(args)
                .args(["--format", "ndjson", "--streaming", "always", "-q"]);
            let mut v: Vec<String> = cmd
                .expect_code(0)
                .ndjson()
                .into_iter()
                .map(|l| without_stats(l).to_string())
                .collect();
            v.sort();
            v
        };
        let a = lines(&["tests/a", "tests/b", "-j", "1"]);
        let b = lines(&["tests/b", "tests/a", "-j", "3", "--batch-size", "1"]);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y);
        }
    }
);

// The parse workers fold the files' coverage into partials the aggregator merges (handed
// over when a partial outgrows its share of the budget, and at the end); with `--cache`
// the aggregator folds every file itself. Both must give the same report, in standard and
// streaming mode, whether a partial is handed over once or after every few files.
pgtest!(
    coverage_folded_by_the_workers_equals_the_aggregators_fold,
    |dir, cmd| {
        tree(dir);
        let stats = |args: &[&str]| -> (Value, Value) {
            let mut cmd = dir.command();
            cmd.args(args).args(["--format", "json", "-q"]);
            let v = cmd.expect_code(0).json();
            (v["stats"].clone(), without_stats(v))
        };
        for mode in ["always", "never"] {
            let cache = dir.path().join(format!("cache-{mode}"));
            let cache = cache.to_str().expect("utf-8");
            let (st, folded_here) = stats(&["tests", "--streaming", mode, "--cache", cache]);
            assert_eq!(st["partials_merged"], 0, "{st}");
            let (st, one_each) = stats(&["tests", "--streaming", mode, "-j", "2"]);
            assert!(
                (1..=2).contains(&st["partials_merged"].as_u64().expect("count")),
                "{st}"
            );
            assert_same(mode, &folded_here, &one_each);
            let (st, many) = stats(&[
                "tests",
                "--streaming",
                mode,
                "-j",
                "1",
                "--batch-size",
                "1",
                "--max-memory",
                "1M",
            ]);
            assert!(st["partials_merged"].as_u64().expect("count") >= 3, "{st}");
            assert_same(mode, &folded_here, &many);
        }
    }
);
