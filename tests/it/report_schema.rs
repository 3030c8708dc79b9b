//! The JSON report against its schema (`schema/report.schema.json`): real output of the
//! binary on the sample suite, on a temp tree that exercises every optional member, in
//! standard and streaming mode, as JSON and as NDJSON lines; and the schema itself must
//! reject a report whose fields were renamed or retyped, or these tests could not fail.

use std::path::Path;

use jsonschema::Validator;
use serde_json::{json, Value};

use crate::util::{self, Dir};

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
    let text = std::fs::read_to_string(&path).expect("schema/report.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// A validator for the whole report, or for one of its `$defs` (`file`, `ndjsonLast`, ...).
fn validator(def: Option<&str>) -> Validator {
    let mut schema = schema();
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "draft 2020-12"
    );
    if let Some(def) = def {
        assert!(schema["$defs"].get(def).is_some(), "no $defs/{def}");
        schema = json!({
            "$schema": schema["$schema"],
            "$defs": schema["$defs"],
            "$ref": format!("#/$defs/{def}"),
        });
    }
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("invalid schema: {e}"))
}

fn errors(v: &Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

fn assert_valid(v: &Validator, instance: &Value, what: &str) {
    let errs = errors(v, instance);
    assert!(
        errs.is_empty(),
        "{what} does not match the schema:\n{}",
        errs.join("\n")
    );
}

/// A tree with every optional member of an assertion, diagnostics, includes, a plan
/// mismatch and a helper declared in the config file.
fn rich_tree(dir: &Dir) {
    dir.create(
        ".pgtap-scan.toml",
        r#"
[[helper]]
name = "tests.tenant_isolated"
kind = "table"
args = ["schema", "table"]
"#,
    )
    .create(
        "t/a.sql",
        "\
BEGIN;
SELECT plan(12);
SELECT tables_are('public', ARRAY['users', 'accounts']);
SELECT hasnt_table('legacy');
SELECT has_index('users', 'users_email_idx');
SELECT has_index( 'public', 'sometab', 'idx_baz', 'whatever' );
SELECT has_table('p_' || :'suffix');
SELECT table_privs_are('public', 'users', 'anon', ARRAY['SELECT']);
-- SELECT has_view('v');
SELECT tests.tenant_isolated('public', 'users');
SELECT fk_ok('public', 'orders', 'user_id', 'public', 'users', 'id');
DO $$ BEGIN PERFORM ok(true); END $$;
SELECT ok();
\\ir inc.sql
\\i
SELECT * FROM finish();
ROLLBACK;
",
    )
    .create("t/inc.sql", "SELECT pass('included');\n")
    .create(
        "t/xunit.pg",
        "CREATE FUNCTION test_x() RETURNS SETOF TEXT AS $$\n\
         SELECT has_schema('app', 'app schema');\n$$ LANGUAGE sql;\n\
         SELECT * FROM runtests();\n",
    )
    .create(
        "t/broken.sql",
        "SELECT plan(no_plan);\nSELECT ok(true, 'unterminated);\n",
    )
    .create("t/empty.sql", "")
    .create("t/mismatch.sql", "SELECT plan(3);\nSELECT ok(true);\n")
    .create(
        "t/behave.sql",
        "BEGIN;\nSET LOCAL ROLE authenticated;\n\
         INSERT INTO app.t (a) VALUES (nextval('app.s'));\n\
         SELECT throws_ok($$ update app.t set a = app.f(1)::app.mood $$, '42501');\n\
         SELECT lives_ok('not sql at all');\nDELETE FROM app.t;\nROLLBACK;\n",
    );
}

/// Runs the binary and returns its report, whatever the exit code (rich_tree has a
/// rejected call and a broken file: messages, but exit 0).
fn report(dir: &Dir, args: &[&str]) -> util::Run {
    dir.command()
        .args(["--include-commented", "--references"])
        .args(args)
        .expect_code(0)
}

/// The optional members rich_tree is meant to exercise really are in the report, so the
/// schema is tested on them and not only on the required ones.
fn assert_exercises_optional_members(report: &Value) {
    let all = util::assertions(report);
    for key in [
        "aspect",
        "negated",
        "dynamic",
        "members",
        "references",
        "readings",
        "commented",
    ] {
        assert!(
            all.iter().any(|a| a.get(key).is_some()),
            "no assertion with {key}"
        );
    }
    assert!(all.iter().any(|a| a.get("aspect").is_none()));
    let contexts: Vec<&str> = all.iter().filter_map(|a| a["context"].as_str()).collect();
    for c in ["top", "do", "body:test_x"] {
        assert!(contexts.contains(&c), "no {c} context in {contexts:?}");
    }
    let resolutions: Vec<&str> = all
        .iter()
        .filter_map(|a| a["resolution"].as_str())
        .collect();
    for r in ["exact", "ambiguous", "rejected", "helper"] {
        assert!(resolutions.contains(&r), "no {r} resolution");
    }
    let files = report["files"].as_array().expect("files");
    assert!(files
        .iter()
        .any(|f| !f["errors"].as_array().expect("errors").is_empty()));
    assert!(files
        .iter()
        .any(|f| !f["warnings"].as_array().expect("warnings").is_empty()));
    assert!(files
        .iter()
        .any(|f| !f["includes"].as_array().expect("includes").is_empty()));
    let refs: Vec<&Value> = files
        .iter()
        .filter_map(|f| f.get("references").and_then(Value::as_array))
        .flatten()
        .collect();
    for key in [
        "relation",
        "command",
        "arity",
        "attribution",
        "expected",
        "sqlstate",
    ] {
        assert!(
            refs.iter().any(|r| r.get(key).is_some()),
            "no reference with {key}"
        );
    }
    for kind in ["function", "relation", "column", "sequence", "type"] {
        assert!(
            refs.iter().any(|r| r["kind"] == kind),
            "no {kind} reference"
        );
    }
    assert!(refs.iter().any(|r| r["assertion"].is_null()));
    assert!(files
        .iter()
        .any(|f| f.get("sql_strings_unreadable").is_some_and(|n| n == 1)));
    assert!(files.iter().any(|f| f["plan"].is_u64()));
    assert!(files.iter().any(|f| f["plan"].is_null()));
    assert!(!report["summary"]["plans"]["mismatches"]
        .as_array()
        .expect("mismatches")
        .is_empty());
}

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    // Building a validator checks the schema against the draft's meta-schema ...
    assert!(
        jsonschema::draft202012::new(&json!({"type": 5})).is_err(),
        "meta-schema check is off"
    );
    // ... so these are the real checks.
    validator(None);
    for def in [
        "file",
        "assertion",
        "summary",
        "stats",
        "ndjsonLast",
        "coverageObject",
        "statistics",
    ] {
        validator(Some(def));
    }
}

#[test]
fn sample_report_matches_the_schema() {
    let dir = Dir::new("sample");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample");
    let run = dir
        .command()
        .arg(&sample)
        .args(["--no-config", "--format", "json"])
        .expect_code(0);
    let r = run.json();
    assert!(util::paths(&r).len() > 10);
    assert_valid(&validator(None), &r, "fixtures/sample");

    let run = dir
        .command()
        .arg(&sample)
        .args(["--no-config", "--format", "json", "--streaming", "always"])
        .expect_code(0);
    let streamed = run.json();
    assert!(streamed.get("files").is_none());
    assert_valid(&validator(None), &streamed, "fixtures/sample, streaming");
}

pgtest!(temp_tree_report_matches_the_schema, |dir, cmd| {
    rich_tree(dir);
    let r = report(dir, &["--format", "json"]).json();
    assert_exercises_optional_members(&r);
    assert_valid(&validator(None), &r, "rich tree");

    let streamed = report(dir, &["--format", "json", "--streaming", "always"]).json();
    assert_eq!(streamed["stats"]["mode"], "streaming");
    assert_eq!(streamed["summary"], r["summary"]);
    assert_valid(&validator(None), &streamed, "rich tree, streaming");
});

pgtest!(ndjson_lines_match_their_subschemas, |dir, cmd| {
    rich_tree(dir);
    let file = validator(Some("file"));
    let object = validator(Some("coverageObject"));
    let last = validator(Some("ndjsonLast"));
    for streaming in ["never", "always"] {
        let lines = report(dir, &["--format", "ndjson", "--streaming", streaming]).ndjson();
        let (tail, rest) = lines.split_last().expect("lines");
        let (files, objects) = rest.split_at(7);
        assert!(
            objects.len() > 5,
            "seven files, the objects, the summary line"
        );
        for (i, l) in files.iter().enumerate() {
            assert_valid(&file, l, &format!("ndjson line {} ({streaming})", i + 1));
            // Each kind of line matches its own subschema only.
            assert!(!last.is_valid(l));
            assert!(!object.is_valid(l));
        }
        for (i, l) in objects.iter().enumerate() {
            assert_valid(
                &object,
                l,
                &format!("ndjson object line {} ({streaming})", i + 1),
            );
            assert!(!file.is_valid(l));
            assert!(!last.is_valid(l));
        }
        assert_valid(&last, tail, &format!("ndjson last line ({streaming})"));
        assert!(!file.is_valid(tail));
        assert!(!object.is_valid(tail));
    }
});

#[test]
fn corpus_report_matches_the_schema() {
    let Some(shared) = util::shared() else {
        return;
    };
    let dir = Dir::new("corpus_schema");
    let r = dir
        .command()
        .arg(shared.join("corpus"))
        .args(["--format", "json"])
        .expect_code(0)
        .json();
    assert_valid(&validator(None), &r, "../shared/corpus");
}

/// A small valid report to break in the tests below.
fn valid_report() -> Value {
    let dir = Dir::new("valid_report");
    rich_tree(&dir);
    let r = report(&dir, &["--format", "json"]).json();
    assert_valid(&validator(None), &r, "rich tree");
    r
}

/// A way to break a valid report.
type Breaker = Box<dyn Fn(&mut Value)>;

fn rename(obj: &mut Value, from: &str, to: &str) {
    let map = obj.as_object_mut().expect("an object");
    let v = map.remove(from).unwrap_or_else(|| panic!("no {from}"));
    map.insert(to.to_string(), v);
}

#[test]
fn schema_rejects_renamed_fields() {
    let v = validator(None);
    let good = valid_report();

    let cases: Vec<(&str, Breaker)> = vec![
        (
            "top-level files",
            Box::new(|r| rename(r, "files", "file_list")),
        ),
        (
            "summary.by_function",
            Box::new(|r| rename(&mut r["summary"], "by_function", "by_func")),
        ),
        (
            "stats.peak_charged_bytes",
            Box::new(|r| rename(&mut r["stats"], "peak_charged_bytes", "peak_bytes")),
        ),
        (
            "file path",
            Box::new(|r| rename(&mut r["files"][0], "path", "file")),
        ),
        (
            "assertion function",
            Box::new(|r| rename(&mut r["files"][0]["assertions"][0], "function", "func")),
        ),
        (
            "assertion object",
            Box::new(|r| rename(&mut r["files"][0]["assertions"][0], "object", "target")),
        ),
        (
            "object key",
            Box::new(|r| rename(&mut r["objects"][0], "key", "id")),
        ),
        (
            "location role",
            Box::new(|r| rename(&mut r["objects"][0]["locations"][0], "role", "via")),
        ),
        (
            "statistics.objects_tested",
            Box::new(|r| rename(&mut r["statistics"], "objects_tested", "tested")),
        ),
        (
            "plan mismatch",
            Box::new(|r| {
                rename(
                    &mut r["summary"]["plans"]["mismatches"][0],
                    "found",
                    "actual",
                )
            }),
        ),
    ];
    for (what, break_it) in cases {
        let mut r = good.clone();
        break_it(&mut r);
        assert!(
            !v.is_valid(&r),
            "a report with {what} renamed passes the schema"
        );
    }
}

#[test]
fn schema_rejects_wrong_types_and_values() {
    let v = validator(None);
    let good = valid_report();
    let cases: Vec<(&str, Breaker)> = vec![
        ("version 2", Box::new(|r| r["version"] = json!(2))),
        (
            "location role",
            Box::new(|r| r["objects"][0]["locations"][0]["role"] = json!("covered")),
        ),
        (
            "tested as a string",
            Box::new(|r| r["objects"][0]["tested"] = json!("yes")),
        ),
        ("mode", Box::new(|r| r["stats"]["mode"] = json!("fast"))),
        (
            "context",
            Box::new(|r| r["files"][0]["assertions"][0]["context"] = json!("elsewhere")),
        ),
        (
            "empty body context",
            Box::new(|r| r["files"][0]["assertions"][0]["context"] = json!("body:")),
        ),
        (
            "resolution",
            Box::new(|r| r["files"][0]["assertions"][0]["resolution"] = json!("guessed")),
        ),
        (
            "object key without a kind",
            Box::new(|r| r["files"][0]["assertions"][0]["object"] = json!("public.users")),
        ),
        (
            "negative count",
            Box::new(|r| r["summary"]["assertions"] = json!(-1)),
        ),
        (
            "line 0",
            Box::new(|r| r["files"][0]["assertions"][0]["line"] = json!(0)),
        ),
        // The shape a reader keeping the last of two `plan` members sees today.
        (
            "plan as an object",
            Box::new(|r| r["files"][0]["plan"] = json!({"kind": "fixed", "count": 12, "line": 2})),
        ),
        (
            "negated false",
            Box::new(|r| r["files"][0]["assertions"][0]["negated"] = json!(false)),
        ),
        (
            "an undocumented field",
            Box::new(|r| r["stats"]["speed"] = json!(1)),
        ),
        (
            "no summary",
            Box::new(|r| {
                r.as_object_mut().expect("object").remove("summary");
            }),
        ),
    ];
    for (what, break_it) in cases {
        let mut r = good.clone();
        break_it(&mut r);
        assert!(
            !v.is_valid(&r),
            "a report with a bad {what} passes the schema"
        );
    }
}

#[test]

fn report_read_by_a_plain_json_reader_matches_the_schema() {
    let dir = Dir::new("plain_reader");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample");
    let run = dir
        .command()
        .arg(&sample)
        .args(["--no-config", "--format", "json"])
        .expect_code(0);
    let parsed = util::parse_json(&run.stdout).expect("JSON");
    assert!(
        parsed.duplicates.is_empty(),
        "repeated members: {:?}",
        &parsed.duplicates[..parsed.duplicates.len().min(5)]
    );
    let plain: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_valid(&validator(None), &plain, "fixtures/sample read last-wins");
}

pgtest!(a_report_with_a_baseline_matches_the_schema, |dir, cmd| {
    dir.create(
        "db/001.sql",
        "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nCREATE VIEW v AS SELECT 1 AS one;\n",
    )
    .create(
        "tests/t.sql",
        "SELECT has_table('a');\nSELECT has_view('v');\n",
    )
    .create(
        "tests2/t.sql",
        "SELECT has_table('b');\nSELECT has_table('gone');\n",
    );
    dir.command()
        .args([
            "tests", "--schema", "db", "-q", "--format", "json", "-o", "old.json",
        ])
        .expect_code(0);
    let r = dir
        .command()
        .args([
            "tests2",
            "--schema",
            "db",
            "-q",
            "--format",
            "json",
            "--baseline",
            "old.json",
        ])
        .expect_code(0)
        .json();
    let b = &r["baseline"];
    assert!(!b["newly_untested"].as_array().expect("a list").is_empty());
    assert!(!b["newly_tested"].as_array().expect("a list").is_empty());
    assert!(!b["new_stale"].as_array().expect("a list").is_empty());
    assert_valid(&validator(None), &r, "a report with --baseline");
    let mut renamed = r.clone();
    rename(&mut renamed["baseline"], "newly_tested", "newlyTested");
    assert!(!validator(None).is_valid(&renamed));
});
