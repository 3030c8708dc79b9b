//! Every report format on the sample suite (insta snapshots of the real binary's output)
//! and on the shared corpora, the coverage database's invariants, and the 10x replication
//! check: streaming memory grows with distinct objects, not with files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::util::{self, file, paths, s, small_suite, Dir};

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample")
}

/// The sample suite in one format, run from `fixtures/sample` so paths read `tests/...`.
fn sample(format: &str, extra: &[&str]) -> String {
    let dir = Dir::new("reports");
    dir.command()
        .current_dir(sample_dir())
        .args([
            "tests",
            "--no-config",
            "--color",
            "never",
            "--format",
            format,
        ])
        .args(extra)
        .expect_code(0)
        .stdout
}

#[test]
fn text_report_snapshot() {
    let out = sample("text", &[]);
    for line in out.lines() {
        assert!(
            line.chars().count() <= 100,
            "wider than 100 columns: {line}"
        );
    }
    insta::assert_snapshot!("sample_text", out);
}

#[test]
fn text_report_colours_only_when_asked() {
    assert!(!sample("text", &[]).contains('\x1b'));
    let dir = Dir::new("colour");
    let coloured = dir
        .command()
        .current_dir(sample_dir())
        .args(["tests", "--no-config", "--color", "always"])
        .expect_code(0)
        .stdout;
    assert!(coloured.contains("\x1b[1m"), "{coloured}");
    // auto: stdout is a pipe here, so no colour.
    let auto = dir
        .command()
        .current_dir(sample_dir())
        .args(["tests", "--no-config"])
        .expect_code(0)
        .stdout;
    assert!(!auto.contains('\x1b'));
}

#[test]
fn json_objects_and_statistics_snapshot() {
    let r: Value = serde_json::from_str(&sample("json", &[])).expect("json");
    insta::assert_json_snapshot!("sample_statistics", r["statistics"]);
    insta::assert_json_snapshot!("sample_objects", r["objects"]);
}

#[test]
fn markdown_report_snapshot() {
    let out = sample("markdown", &[]);
    assert!(out.starts_with("## pgTAP coverage"));
    assert_eq!(
        out.matches("<details>").count(),
        out.matches("</details>").count()
    );
    insta::assert_snapshot!("sample_markdown", out);
}

/// Splits RFC 4180 text into records (quoted fields may hold commas, quotes, newlines).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quoted field");
    assert!(
        field.is_empty() && row.is_empty(),
        "last record without CRLF"
    );
    rows
}

#[test]
fn csv_report_has_one_row_per_object_location() {
    let out = sample("csv", &[]);
    assert!(out.ends_with("\r\n"));
    let rows = parse_csv(&out);
    let r: Value = serde_json::from_str(&sample("json", &[])).expect("json");
    let locations: usize = r["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["locations"].as_array().expect("locations").len())
        .sum();
    assert_eq!(
        rows.len(),
        locations + 1,
        "a header and one row per location"
    );
    assert!(rows.iter().all(|row| row.len() == rows[0].len()));
    assert_eq!(rows[0][0], "key");
    insta::assert_snapshot!("sample_csv", out);
}

pgtest!(
    csv_quotes_names_with_commas_quotes_and_newlines,
    |dir, cmd| {
        dir.create(
            "t.sql",
            "SELECT has_table('we,ird', 'ta\"ble', 'odd names');\nSELECT has_table('plain');\n",
        );
        let out = cmd.args(["t.sql", "--format", "csv"]).expect_code(0).stdout;
        let rows = parse_csv(&out);
        assert_eq!(rows.len(), 3, "{out}");
        assert_eq!(rows[1][0], "table:\"we,ird\".\"ta\"\"ble\"");
        assert_eq!(rows[1][2], "we,ird");
        assert_eq!(rows[1][3], "ta\"ble");
        assert_eq!(rows[2][0], "table:public.plain");
    }
);

#[test]
fn junit_report_snapshot() {
    let out = sample("junit", &[]);
    let r: Value = serde_json::from_str(&sample("json", &[])).expect("json");
    let asserted = r["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["assertions"].as_u64() > Some(0) || o["absent"].as_u64() > Some(0))
        .count();
    assert_eq!(out.matches("<testcase ").count(), asserted);
    insta::assert_snapshot!("sample_junit", out);
}

#[test]
fn every_format_works_on_the_shared_corpora() {
    let Some(shared) = util::shared() else {
        return;
    };
    let corpus = shared.join("corpus");
    let dir = Dir::new("corpus-formats");
    let json = dir
        .command()
        .arg(&corpus)
        .args(["--no-config", "--format", "json"])
        .expect_code(0)
        .json();
    let objects = json["objects"].as_array().expect("objects");
    assert!(objects.len() > 500, "{}", objects.len());
    // html is checked (in Chromium too) by html.rs.
    for format in ["text", "ndjson", "csv", "markdown", "junit"] {
        let run = dir
            .command()
            .arg(&corpus)
            .args(["--no-config", "--format", format])
            .expect_code(0);
        assert!(!run.stdout.is_empty(), "{format} is empty");
        match format {
            "csv" => {
                let locations: usize = objects
                    .iter()
                    .map(|o| o["locations"].as_array().expect("locations").len())
                    .sum();
                assert_eq!(parse_csv(&run.stdout).len(), locations + 1);
            }
            "junit" => assert!(run.stdout.matches("<testcase ").count() > 500),
            "ndjson" => assert_eq!(
                run.stdout.lines().count(),
                json["files"].as_array().expect("files").len() + objects.len() + 1
            ),
            _ => {}
        }
    }
}

/// Keys with their exact counts: what must not change between modes or with replication.
fn counts(r: &Value) -> BTreeMap<String, (u64, u64, u64)> {
    r["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| {
            (
                o["key"].as_str().expect("key").to_string(),
                (
                    o["assertions"].as_u64().expect("n"),
                    o["absent"].as_u64().expect("n"),
                    o["referenced"].as_u64().expect("n"),
                ),
            )
        })
        .collect()
}

#[test]
fn streaming_keeps_the_database_exact() {
    let standard: Value =
        serde_json::from_str(&sample("json", &["--streaming", "never"])).expect("json");
    let streamed: Value =
        serde_json::from_str(&sample("json", &["--streaming", "always"])).expect("json");
    assert_eq!(counts(&standard), counts(&streamed));
    assert_eq!(standard["statistics"], streamed["statistics"]);
}

#[test]
fn library_api_answers_coverage_of() {
    use pgtap_scan::scan::ScanConfig;
    let mut cfg = ScanConfig::default();
    cfg.discovery.roots = vec![sample_dir().join("tests")];
    let report = pgtap_scan::scan::run(&cfg);
    let users = report
        .coverage_of("table:app.users")
        .expect("app.users is asserted");
    assert!(users.tested);
    assert!(users.aspects.iter().any(|a| a.name() == "existence"));
    assert!(report.coverage_of("table:app.no_such_table").is_none());
    let legacy = report
        .coverage_of("table:app.legacy_settings")
        .expect("asserted absent");
    assert!(!legacy.tested);
    assert_eq!(legacy.absent, 1);
}

/// The shared corpora copied `n` times side by side.
fn replicate(dir: &Dir, corpus: &Path, n: usize) -> PathBuf {
    let root = dir.join(format!("x{n}"));
    for i in 0..n {
        copy_tree(corpus, &root.join(format!("copy{i:02}")));
    }
    root
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let ft = e.file_type().expect("type");
        let dest = to.join(e.file_name());
        if ft.is_dir() {
            copy_tree(&e.path(), &dest);
        } else if ft.is_file() {
            std::fs::copy(e.path(), dest).expect("copy");
        }
    }
}

/// Scanning a suite replicated 10x in streaming mode gives 10x the assertions, the same
/// objects with 10x their counts, and a peak heap that does not grow with the copies
/// (compared as byte counts from the counting allocator, not as timings).
#[test]
fn replicated_ten_times_same_objects_flat_heap() {
    let Some(shared) = util::shared() else {
        return;
    };
    let corpus = shared.join("corpus");
    let dir = Dir::new("replicate");
    let scan = |root: &Path| {
        dir.command()
            .arg(root)
            .args([
                "--no-config",
                "--format",
                "json",
                "--streaming",
                "always",
                "-j",
                "2",
            ])
            .expect_code(0)
            .json()
    };
    let one = scan(&replicate(&dir, &corpus, 1));
    let ten = scan(&replicate(&dir, &corpus, 10));
    let n = |r: &Value, p: &str| r.pointer(p).and_then(Value::as_u64).expect(p);
    assert_eq!(
        n(&ten, "/summary/assertions"),
        10 * n(&one, "/summary/assertions")
    );
    assert_eq!(n(&ten, "/summary/files"), 10 * n(&one, "/summary/files"));
    let (c1, c10) = (counts(&one), counts(&ten));
    assert_eq!(
        c1.keys().collect::<Vec<_>>(),
        c10.keys().collect::<Vec<_>>(),
        "the same objects"
    );
    for (key, (a, b, c)) in &c1 {
        assert_eq!(c10[key], (10 * a, 10 * b, 10 * c), "{key}");
    }
    // What stays (the database at the end) must not grow with the copies; the peak adds
    // what is in flight at the busiest moment (results queued for the aggregator, file
    // buffers), which depends on scheduling: on a loaded machine the 1x peak ranged
    // 2.5-3.4 MB and the 10x one 3.9-4.2 MB, so the peak gets a wider margin. Growth in
    // proportion to the files would be 10x.
    let heap = |r: &Value, what: &str| n(r, &format!("/stats/{what}_heap_bytes"));
    let (end1, end10) = (heap(&one, "current"), heap(&ten, "current"));
    let (p1, p10) = (heap(&one, "peak"), heap(&ten, "peak"));
    assert!(p1 > 0 && end1 > 0, "the binary measures its heap");
    eprintln!("heap at the end: 1x {end1} bytes, 10x {end10} bytes; peak: 1x {p1}, 10x {p10}");
    assert!(
        end10 < end1 + end1 / 4,
        "the database grew with the copies: 1x {end1} bytes, 10x {end10} bytes"
    );
    assert!(
        p10 < 2 * p1,
        "peak heap grew with the copies: 1x {p1} bytes, 10x {p10} bytes"
    );
}

// ---------------------------------------------------------------------------------------
// The JSON and NDJSON reports of a small suite
// ---------------------------------------------------------------------------------------

pgtest!(json_report_content, |dir, cmd| {
    small_suite(dir);
    let r = cmd.arg("tests").json();
    assert_eq!(r["version"], 1);
    // Sorted by path; README.md and notes.txt are not test files.
    assert_eq!(
        paths(&r),
        s(&[
            "tests/01_accounts.sql",
            "tests/02_xunit.pg",
            "tests/03_runner.sql",
            "tests/helpers/two.sql"
        ])
    );

    let f = file(&r, "tests/01_accounts.sql");
    assert_eq!(f["plan"], 4);
    assert_eq!(f["errors"], json!([]));
    let a = &f["assertions"];
    assert_eq!(a.as_array().map(Vec::len), Some(4));
    assert_eq!(a[0]["function"], "has_table");
    assert_eq!(a[0]["kind"], "table");
    assert_eq!(a[0]["object"], "table:public.accounts");
    assert_eq!(a[0]["line"], 4);
    assert_eq!(a[0]["column"], 8);
    assert_eq!(a[0]["context"], "top");
    assert_eq!(a[0]["description"], "accounts table exists");
    assert_eq!(a[0]["resolution"], "exact");
    assert_eq!(a[1]["function"], "col_is_pk");
    assert_eq!(a[1]["object"], "column:public.accounts.id");
    assert_eq!(a[1]["line"], 5);
    // has_column(table, column): no description, unqualified name through the search path.
    assert_eq!(a[2]["object"], "column:public.accounts.email");
    assert_eq!(a[2]["description"], Value::Null);
    assert_eq!(a[3]["function"], "is");
    assert_eq!(a[3]["kind"], "none");
    assert_eq!(a[3]["object"], Value::Null);
    assert_eq!(a[3]["description"], "arithmetic still works");

    let x = file(&r, "tests/02_xunit.pg");
    assert_eq!(x["plan"], Value::Null);
    assert_eq!(x["assertions"][0]["context"], "body:test_billing");
    assert_eq!(x["assertions"][0]["line"], 3);
    assert_eq!(
        x["assertions"][0]["object"],
        "function:billing.charge(integer)"
    );

    let sum = &r["summary"];
    assert_eq!(sum["files"], 4);
    assert_eq!(sum["assertions"], 9);
    // runtests() runs tests; it is not an assertion.
    assert_eq!(
        sum["by_function"],
        json!({"col_is_pk": 1, "has_column": 1, "has_function": 1, "has_schema": 1,
               "has_table": 3, "is": 1, "ok": 1})
    );
    let by_function_total: u64 = sum["by_function"]
        .as_object()
        .expect("by_function")
        .values()
        .map(|v| v.as_u64().expect("count"))
        .sum();
    assert_eq!(by_function_total, sum["assertions"].as_u64().unwrap_or(0));
    assert_eq!(sum["by_kind"]["table"], 3);
    assert_eq!(sum["errors"], 0);
    assert_eq!(sum["plans"]["planned"], 2);
    assert_eq!(sum["plans"]["agree"], 2);

    let st = &r["stats"];
    let size: u64 = [
        "tests/01_accounts.sql",
        "tests/02_xunit.pg",
        "tests/03_runner.sql",
        "tests/helpers/two.sql",
    ]
    .iter()
    .map(|p| std::fs::metadata(dir.join(p)).expect("size").len())
    .sum();
    assert_eq!(st["files_discovered"], 4);
    assert_eq!(st["files_parsed"], 4);
    assert_eq!(st["files_failed"], 0);
    assert_eq!(st["bytes_read"], size);
    assert_eq!(st["batches"], 1);
    assert_eq!(st["mode"], "standard");
    assert_eq!(st["budget_bytes"], 512 * 1024 * 1024);
    let peak = st["peak_charged_bytes"].as_u64().expect("peak");
    assert!(peak > 0 && peak <= size, "{st}");
    assert_eq!(st["throttle_waits"], 0);
    assert!(st["throttle_ms"].is_u64());
    assert!(st["peak_heap_bytes"].as_u64().expect("heap") > 0);
    assert_eq!(st["heap_measured"], true);
    assert!(st["elapsed_ms"].is_u64());
    assert_eq!(st["cancelled"], false);
});

pgtest!(ndjson_one_line_per_file_then_summary, |dir, cmd| {
    small_suite(dir);
    let report = dir.command().arg("tests").json();
    let lines = cmd
        .args(["tests", "--format", "ndjson"])
        .expect_code(0)
        .ndjson();
    let files = report["files"].as_array().expect("files");
    let objects = report["objects"].as_array().expect("objects");
    assert!(!objects.is_empty());
    assert_eq!(lines.len(), files.len() + objects.len() + 1);
    // Standard mode: file lines sorted by path, the same objects as in the JSON report,
    // then one line per covered object, sorted by key.
    assert_eq!(&lines[..files.len()], &files[..]);
    assert_eq!(&lines[files.len()..lines.len() - 1], &objects[..]);
    let last = lines.last().expect("last line");
    assert_eq!(last["summary"], report["summary"]);
    assert_eq!(last["statistics"], report["statistics"]);
    assert_eq!(last["stats"]["files_parsed"], 4);
    assert!(last.get("files").is_none());
    assert!(last.get("path").is_none());

    // Streaming: the same file lines (in arrival order), the same last line.
    let streamed = dir
        .command()
        .args(["tests", "--format", "ndjson", "--streaming", "always"])
        .expect_code(0)
        .ndjson();
    assert_eq!(streamed.len(), lines.len());
    let key = |v: &Value| v.to_string();
    let a: BTreeSet<String> = lines[..files.len()].iter().map(key).collect();
    let b: BTreeSet<String> = streamed[..files.len()].iter().map(key).collect();
    assert_eq!(a, b);
    let last = streamed.last().expect("last line");
    assert_eq!(last["summary"], report["summary"]);
    assert_eq!(last["stats"]["mode"], "streaming");
});

pgtest!(file_objects_have_a_single_plan_member, |dir, cmd| {
    dir.create("t.sql", "SELECT plan(1);\nSELECT ok(true);\n");
    let run = cmd.args(["--format", "ndjson"]).expect_code(0);
    let first = run.stdout.lines().next().expect("a file line");
    let parsed = util::parse_json(first).expect("JSON");
    assert!(
        parsed.duplicates.is_empty(),
        "members repeated: {:?} in {first}",
        parsed.duplicates
    );
    // What a plain reader (last member wins) sees must be the contract's integer.
    let plain: Value = serde_json::from_str(first).expect("JSON");
    assert_eq!(plain["plan"], 1, "{first}");
});
