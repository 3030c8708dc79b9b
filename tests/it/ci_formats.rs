//! The formats CI platforms read (issue 16): `sarif` validated against the OASIS SARIF
//! 2.1.0 schema (`schema/sarif-schema-2.1.0.json`, draft-04), `codequality` held to the
//! members GitLab documents as required, `badge` to the shields.io endpoint shape; each a
//! snapshot on `fixtures/realworld` with its migrations.

use std::collections::HashSet;
use std::path::Path;

use serde_json::{json, Value};

use crate::util::in_fixture;

fn realworld(format: &str) -> crate::util::Run {
    let run = in_fixture(
        "realworld",
        &["tests", "--schema", "migrations", "--format", format],
    );
    assert_eq!(run.code, Some(0), "{run}");
    run
}

fn sarif_validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/sarif-schema-2.1.0.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the SARIF schema"))
            .expect("JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    jsonschema::draft4::new(&schema).unwrap_or_else(|e| panic!("invalid schema: {e}"))
}

fn sarif_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let v = sarif_validator();
    let run = realworld("sarif");
    let doc: Value = serde_json::from_str(&run.stdout).expect("SARIF is JSON");
    let errs = sarif_errors(&v, &doc);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    // The schema can fail: a level SARIF does not define, a result without a message.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = json!("critical");
    assert!(!sarif_errors(&v, &broken).is_empty());
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .expect("a result")
        .remove("message");
    assert!(!sarif_errors(&v, &broken).is_empty());

    let run0 = &doc["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run0["results"].as_array().expect("results");
    let untested = results
        .iter()
        .filter(|r| {
            r["ruleId"]
                .as_str()
                .is_some_and(|id| id.starts_with("untested-"))
        })
        .count();
    assert_eq!(untested, 535 - 280, "one result per gap");
    let mut fingerprints = HashSet::new();
    for r in results {
        // ruleIndex points at the rule named by ruleId.
        let i = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        let fp = r["partialFingerprints"]["pgtapScanObject/v1"]
            .as_str()
            .expect("a fingerprint");
        assert!(fingerprints.insert(fp.to_string()), "duplicate {fp}");
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("a uri");
        assert!(!uri.starts_with('/') && !uri.starts_with("./"), "{uri}");
    }
    // A renamed table's hasnt_table is a stale note.
    assert!(results.iter().any(|r| r["ruleId"] == "stale-assertion"
        && r["level"] == "note"
        && r["properties"]["objectKey"] == "table:app.ticket_comments"));
    insta::assert_snapshot!("realworld_sarif", run.stdout);
}

pgtest!(
    sarif_fingerprints_survive_a_definition_moving,
    |dir, cmd| {
        dir.create("db/001.sql", "CREATE TABLE users (id int);\n")
            .create("t/a.sql", "SELECT has_schema('public');\n");
        let before = cmd
            .args(["t", "--schema", "db", "--format", "sarif"])
            .expect_code(0)
            .json();
        dir.create(
            "db/001.sql",
            "-- a comment\n\n\nCREATE TABLE users (id int);\n",
        );
        let after = dir
            .command()
            .args(["t", "--schema", "db", "--format", "sarif"])
            .expect_code(0)
            .json();
        let fp = |doc: &Value| {
            let r = &doc["runs"][0]["results"];
            let table = r
                .as_array()
                .expect("results")
                .iter()
                .find(|r| r["ruleId"] == "untested-table")
                .expect("the untested table")
                .clone();
            (
                table["partialFingerprints"].clone(),
                table["locations"][0]["physicalLocation"]["region"]["startLine"].clone(),
            )
        };
        let (fp_before, line_before) = fp(&before);
        let (fp_after, line_after) = fp(&after);
        assert_eq!((line_before, line_after), (json!(1), json!(4)));
        assert_eq!(fp_before, fp_after);
    }
);

pgtest!(sarif_without_a_universe_says_what_it_needs, |dir, cmd| {
    // Without a universe the format says what it needs.
    dir.create("t/a.sql", "SELECT has_table('users');\n");
    let run = cmd.args(["t", "--format", "sarif"]).run();
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("--format sarif");
    run.assert_stderr_contains("--schema PATH or --database-url");
});

#[test]
fn codequality_has_the_members_gitlab_requires() {
    let run = realworld("codequality");
    let issues: Vec<Value> = serde_json::from_str(&run.stdout).expect("a JSON array");
    let report: Value = serde_json::from_str(&realworld("json").stdout).expect("JSON");
    let stale = report["stale"].as_array().expect("stale").len();
    assert_eq!(issues.len(), 535 - 280 + stale, "gaps and stale tests");
    let severities = ["info", "minor", "major", "critical", "blocker"];
    let mut fingerprints = HashSet::new();
    for i in &issues {
        for member in ["description", "check_name", "fingerprint"] {
            assert!(
                i[member].as_str().is_some_and(|s| !s.is_empty()),
                "{member}: {i}"
            );
        }
        assert!(severities.contains(&i["severity"].as_str().expect("severity")));
        let path = i["location"]["path"].as_str().expect("location.path");
        assert!(!path.starts_with('/') && !path.starts_with("./"), "{path}");
        assert!(i["location"]["lines"]["begin"].as_u64().expect("begin") >= 1);
        assert!(fingerprints.insert(i["fingerprint"].as_str().expect("fp").to_string()));
    }
    insta::assert_snapshot!("realworld_codequality", run.stdout);
}

pgtest!(codequality_needs_migrations, |dir, cmd| {
    dir.create("t/a.sql", "SELECT has_table('users');\n");
    let run = cmd
        .args([
            "t",
            "--format",
            "codequality",
            "--database-url",
            "postgres://x@127.0.0.1:1/x",
        ])
        .run();
    assert_eq!(run.code, Some(2), "{run}");
    run.assert_stderr_contains("--format codequality points GitLab at the migration lines");
});

#[test]
fn badge_is_a_shields_endpoint() {
    let run = realworld("badge");
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        doc,
        json!({"schemaVersion": 1, "label": "pgTAP coverage", "message": "52.3%", "color": "orange"})
    );
    insta::assert_snapshot!("realworld_badge", run.stdout);
}

pgtest!(badge_colour_follows_coverage, |dir, cmd| {
    dir.create("db/001.sql", "CREATE TABLE a (id int);\n")
        .create(
            "t/a.sql",
            "SELECT has_table('a');\nSELECT has_column('a', 'id');\n",
        );
    let doc = cmd
        .args(["t", "--schema", "db", "--format", "badge"])
        .expect_code(0)
        .json();
    assert_eq!(
        (&doc["message"], &doc["color"]),
        (&json!("100.0%"), &json!("brightgreen"))
    );
    // An untested table: 2 of 3 objects, 66.6%, yellow (60 to 70).
    dir.create("db/002.sql", "CREATE TABLE b ();\n");
    let doc = dir
        .command()
        .args(["t", "--schema", "db", "--format", "badge"])
        .expect_code(0)
        .json();
    assert_eq!(
        (&doc["message"], &doc["color"]),
        (&json!("66.6%"), &json!("yellow"))
    );
});
