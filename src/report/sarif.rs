//! SARIF 2.1.0 (`schema/sarif-schema-2.1.0.json`, the OASIS schema): untested objects and
//! stale assertions as results, for GitHub code scanning and other SARIF viewers.
//!
//! - One rule per object kind (`untested-table`, `untested-function`, ...) and one for
//!   stale assertions (`stale-assertion`), so a viewer can filter or silence a kind. Every
//!   kind a universe can hold has its rule, used or not, so rule indexes do not move
//!   between runs.
//! - Each result carries `partialFingerprints["pgtapScanObject/v1"]`, a hash of its rule
//!   and the object's key: moving a definition to another line or file keeps it, so code
//!   scanning keeps the alert open instead of closing one and opening another.
//! - Locations are repository-relative URIs (`%SRCROOT%`), percent-encoded; the object's
//!   key is the logical location. Objects read from a database have no file: only the
//!   logical location.

use std::io::{self, BufWriter, Write};

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};

use super::common::{fingerprint, stale_message, untested_rule, RepoPaths, CHUNK, STALE_RULE};
use crate::object::ObjectKind;
use crate::scan::report::{ScanReport, UniverseSource};

/// What a path may not carry raw in a URI reference (RFC 3986): controls, space and the
/// delimiters that would end or change the path.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The key `partialFingerprints` carries ours under; `/v1` changes if the hash does.
pub const FINGERPRINT_KEY: &str = "pgtapScanObject/v1";

/// A repository-relative path as a URI reference.
fn uri(paths: &RepoPaths, path: &str) -> String {
    utf8_percent_encode(&paths.of(path), PATH).to_string()
}

fn location(paths: &RepoPaths, file: Option<(&str, u32)>, key: &str, kind: ObjectKind) -> Value {
    let logical = json!([{ "fullyQualifiedName": key, "kind": kind.name() }]);
    match file {
        Some((file, line)) => json!({
            "physicalLocation": {
                "artifactLocation": { "uri": uri(paths, file), "uriBaseId": "%SRCROOT%" },
                "region": { "startLine": line.max(1) },
            },
            "logicalLocations": logical,
        }),
        None => json!({ "logicalLocations": logical }),
    }
}

/// The kinds with an `untested-*` rule: those a universe holds, in declaration order.
fn rule_kinds() -> impl Iterator<Item = ObjectKind> {
    ObjectKind::ALL.iter().copied().filter(|k| k.in_universe())
}

fn rules() -> Vec<Value> {
    let mut rules: Vec<Value> = rule_kinds()
        .map(|k| {
            let name: String = format!("untested {}", k.name())
                .split(['_', ' '])
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect::<String>())
                        .unwrap_or_default()
                })
                .collect();
            json!({
                "id": untested_rule(k),
                "name": name,
                "shortDescription": { "text": format!("Untested {}", k.name().replace('_', " ")) },
                "fullDescription": { "text": format!(
                    "A {} defined in the schema that no pgTAP test covers under the coverage mode.",
                    k.name().replace('_', " ")
                ) },
                "defaultConfiguration": { "level": "warning" },
                "properties": { "tags": ["pgtap", "coverage"] },
            })
        })
        .collect();
    rules.push(json!({
        "id": STALE_RULE,
        "name": "StaleAssertion",
        "shortDescription": { "text": "pgTAP assertion on an object the schema does not hold" },
        "fullDescription": { "text": "An assertion names an object that does not exist in the schema: \
            renamed, dropped, or a typo. A hasnt_* assertion on it passes, perhaps by accident." },
        "defaultConfiguration": { "level": "warning" },
        "properties": { "tags": ["pgtap", "stale"] },
    }));
    rules
}

pub fn render(report: &ScanReport, paths: &RepoPaths, w: &mut dyn Write) -> io::Result<()> {
    let Some(s) = &report.schema else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--format sarif reports untested objects: add --schema PATH or --database-url",
        ));
    };
    let index = |rule: &str| {
        rule_kinds()
            .position(|k| untested_rule(k) == rule)
            .unwrap_or_else(|| rule_kinds().count())
    };
    let migrations = s.universe_source == UniverseSource::Migrations;
    let mut results = Vec::with_capacity(s.gaps.len() + s.stale.len());
    for g in &s.gaps {
        let rule = untested_rule(g.kind);
        let file = migrations.then_some((g.defined_at.file.as_str(), g.defined_at.line));
        results.push(json!({
            "ruleId": rule,
            "ruleIndex": index(&rule),
            "level": "warning",
            "message": { "text": super::untested_message(&g.key, g.only, s.coverage_mode) },
            "locations": [location(paths, file, &g.key, g.kind)],
            "partialFingerprints": { FINGERPRINT_KEY: fingerprint(&rule, &g.key) },
            "properties": { "objectKey": g.key, "kind": g.kind.name() },
        }));
    }
    for x in &s.stale {
        let mut locations = x
            .locations
            .iter()
            .map(|l| location(paths, Some((&l.file, l.line)), &x.key, x.kind));
        let Some(first) = locations.next() else {
            continue;
        };
        let related: Vec<Value> = locations
            .enumerate()
            .map(|(i, mut l)| {
                l["id"] = json!(i + 1);
                l
            })
            .collect();
        let mut result = json!({
            "ruleId": STALE_RULE,
            "ruleIndex": rule_kinds().count(),
            "level": if x.only_absent { "note" } else { "warning" },
            "message": { "text": stale_message(x) },
            "locations": [first],
            "partialFingerprints": { FINGERPRINT_KEY: fingerprint(STALE_RULE, &x.key) },
            "properties": { "objectKey": x.key, "kind": x.kind.name(), "onlyAbsent": x.only_absent },
        });
        if !related.is_empty() {
            result["relatedLocations"] = Value::Array(related);
        }
        results.push(result);
    }
    let mut driver = json!({
        "name": "pgtap-scan",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules(),
    });
    let repository = env!("CARGO_PKG_REPOSITORY");
    if !repository.is_empty() {
        driver["informationUri"] = json!(repository);
    }
    let o = &s.coverage.overall;
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver },
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": {
                "coverage": { "objects": o.objects, "tested": o.tested, "percent": o.percent },
            },
        }],
    });
    let mut w = BufWriter::with_capacity(CHUNK, w);
    serde_json::to_writer_pretty(&mut w, &doc).map_err(io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        let paths = RepoPaths::new(None);
        assert_eq!(uri(&paths, "./db/001 init.sql"), "db/001%20init.sql");
        assert_eq!(uri(&paths, "a#b?c%d.sql"), "a%23b%3Fc%25d.sql");
        assert_eq!(uri(&paths, "é/x.sql"), "%C3%A9/x.sql");
    }

    #[test]
    fn one_rule_per_kind_and_one_for_stale() {
        let r = rules();
        assert_eq!(r.len(), rule_kinds().count() + 1);
        assert_eq!(r[1]["id"], "untested-table");
        assert_eq!(r[1]["name"], "UntestedTable");
        assert_eq!(r.last().map(|r| r["id"].clone()), Some(json!(STALE_RULE)));
    }
}
