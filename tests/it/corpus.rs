//! Extraction measured against the shared corpora and the real PostgreSQL grammar's view of
//! them (`../shared/corpus-expected`, made with libpg_query). Every assertion call must be
//! found at its line and context, and nothing else (no names from strings or comments).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pgtap_scan::catalog::{Category, FUNCTIONS};
use pgtap_scan::model::Context;
use pgtap_scan::Extractor;

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("corpus-expected").is_dir() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have ../shared beside the project"
    );
    eprintln!("note: ../shared is absent; corpus tests skipped");
    None
}

type Key = (String, u64, String);

#[derive(Default, Debug)]
struct Score {
    found: usize,
    missed: Vec<String>,
    extra: Vec<String>,
    functions: BTreeSet<String>,
}

fn score(suite: &str) -> Option<Score> {
    let root = shared()?;
    let ex = Extractor::new(Default::default());
    let mut s = Score::default();
    let expected =
        std::fs::read_to_string(root.join("corpus-expected").join(format!("{suite}.jsonl")))
            .ok()?;
    for line in expected.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).expect("corpus-expected line is JSON");
        let path = v["path"].as_str().expect("path");
        let src = std::fs::read(root.join("corpus").join(suite).join(path)).expect("corpus file");
        let r = ex.extract(&src);
        let mut want: BTreeMap<Key, usize> = BTreeMap::new();
        for a in v["assertions"].as_array().expect("assertions") {
            let k = (
                a["function"].as_str().unwrap_or_default().to_string(),
                a["line"].as_u64().unwrap_or_default(),
                a["context"].as_str().unwrap_or_default().to_string(),
            );
            *want.entry(k).or_default() += 1;
        }
        let mut got: BTreeMap<Key, usize> = BTreeMap::new();
        for a in &r.assertions {
            s.functions.insert(a.function.to_string());
            *got.entry((
                a.function.to_string(),
                u64::from(a.line),
                a.context.to_string(),
            ))
            .or_default() += 1;
        }
        for (k, n) in &want {
            let g = got.get(k).copied().unwrap_or(0);
            s.found += g.min(*n);
            if g < *n {
                s.missed.push(format!("{path}: {k:?}"));
            }
        }
        for (k, n) in &got {
            if *n > want.get(k).copied().unwrap_or(0) {
                s.extra.push(format!("{path}: {k:?}"));
            }
        }
    }
    Some(s)
}

fn assert_exact(suite: &str, expected_total: usize) {
    let Some(s) = score(suite) else { return };
    assert!(
        s.missed.is_empty(),
        "{suite}: missed {}:\n{}",
        s.missed.len(),
        s.missed.join("\n")
    );
    assert!(
        s.extra.is_empty(),
        "{suite}: extra {}:\n{}",
        s.extra.len(),
        s.extra.join("\n")
    );
    assert_eq!(s.found, expected_total, "{suite}");
}

#[test]
fn pgtap_own_suite_every_call_found_and_nothing_else() {
    assert_exact("theory__pgtap", 2633);
}

#[test]
fn pg_partman_every_call_found_and_nothing_else() {
    assert_exact("pgpartman__pg_partman", 3290);
}

#[test]
fn pgflow_every_call_found_and_nothing_else() {
    assert_exact("pgflow-dev__pgflow", 1242);
}

#[test]
fn mox_xunit_bodies_found() {
    assert_exact("magenta-aps__mox", 420);
    // Every mox assertion lives in a function body.
    let Some(root) = shared() else { return };
    let ex = Extractor::new(Default::default());
    let mut n = 0;
    for f in walk(&root.join("corpus/magenta-aps__mox")) {
        let r = ex.extract(&std::fs::read(&f).expect("read"));
        for a in &r.assertions {
            assert!(
                matches!(a.context, Context::Body(_)),
                "{}:{} {}",
                f.display(),
                a.line,
                a.function
            );
            n += 1;
        }
    }
    assert_eq!(n, 420);
}

#[test]
fn pgtap_own_suite_attributes_every_assertion_function() {
    let Some(s) = score("theory__pgtap") else {
        return;
    };
    let all: BTreeSet<String> = FUNCTIONS
        .iter()
        .filter(|f| f.category == Category::Assertion)
        .map(|f| f.name.to_string())
        .collect();
    assert_eq!(all.len(), 205);
    let missing: Vec<_> = all.difference(&s.functions).collect();
    assert!(missing.is_empty(), "never attributed: {missing:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "sql") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
