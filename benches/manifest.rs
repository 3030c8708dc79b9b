//! Checks a tree written by `scripts/gen-corpus` against the library, file by file, and
//! times the extraction over it: `cargo bench --bench manifest -- DIR` (or with
//! `PGTAP_SCAN_TREE=DIR`). Not a criterion bench: one pass, exact counts.
//!
//! For every file of `DIR/MANIFEST.tsv`: `Extractor::extract(..).assertions.len()` must equal
//! the generator's count (extraction errors are listed, not fatal), and a plan the generator wrote must
//! be the file's `plan(N)` and, when the file has no include, its static test count. The sum
//! must equal `MANIFEST.json`'s `assertions`. Exits 1 on any difference. Without a tree it
//! prints a note and exits 0, so `cargo bench` as a whole still runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pgtap_scan::model::PlanDecl;
use pgtap_scan::Extractor;

fn tree() -> Option<PathBuf> {
    let from_args = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .find(|p| p.join("MANIFEST.tsv").is_file());
    from_args.or_else(|| std::env::var_os("PGTAP_SCAN_TREE").map(PathBuf::from))
}

fn manifest_total(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["assertions"].as_u64()
}

fn main() {
    let Some(dir) = tree() else {
        eprintln!("manifest: no tree given (cargo bench --bench manifest -- DIR); skipped");
        return;
    };
    let tsv = match std::fs::read_to_string(dir.join("MANIFEST.tsv")) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("manifest: {}: {e}", dir.join("MANIFEST.tsv").display());
            std::process::exit(1);
        }
    };
    let ex = Extractor::new(Default::default());
    let mut files = 0u64;
    let mut bytes = 0u64;
    let mut found = 0u64;
    let mut written = 0u64;
    let mut bad = 0u64;
    let mut spent = Duration::ZERO;
    let mut files_with_errors = 0u64;
    let mut error_kinds: BTreeMap<String, u64> = BTreeMap::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [path, style, _bytes, assertions, planned] = cols[..] else {
            eprintln!("manifest: bad line: {line}");
            std::process::exit(1);
        };
        let want: u64 = assertions.parse().unwrap_or(u64::MAX);
        let src = match std::fs::read(dir.join(path)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{path}: {e}");
                bad += 1;
                continue;
            }
        };
        let t = Instant::now();
        let r = ex.extract(&src);
        spent += t.elapsed();
        files += 1;
        bytes += src.len() as u64;
        written += want;
        let got = r.assertions.len() as u64;
        found += got;
        let mut problems = Vec::new();
        if got != want {
            problems.push(format!("{got} assertions found, {want} written"));
        }
        if !r.errors.is_empty() {
            files_with_errors += 1;
            for e in &r.errors {
                // Group by message without the function's own words varying the key.
                *error_kinds.entry(e.message.clone()).or_default() += 1;
                if files_with_errors <= 3 {
                    eprintln!("note: {path}:{}:{}: {}", e.line, e.column, e.message);
                }
            }
        }
        if let Ok(n) = planned.parse::<u64>() {
            match r.plan {
                Some(PlanDecl::Fixed { count, .. }) if count == n => {}
                other => problems.push(format!("plan {other:?}, generator wrote plan({n})")),
            }
            // Files with includes are checked by the scan (it follows them); here only
            // the file's own count can be compared.
            if r.includes.is_empty() && !r.tests_inexact && r.tests != n {
                problems.push(format!("{} tests counted, plan({n})", r.tests));
            }
        }
        if !problems.is_empty() {
            bad += 1;
            if bad <= 20 {
                eprintln!("{path} ({style}): {}", problems.join("; "));
            }
        }
    }
    if files_with_errors > 0 {
        // The generator writes only calls PostgreSQL accepts: these are the scanner's.
        eprintln!("note: {files_with_errors} files with extraction errors (generated calls are all valid):");
        for (m, n) in &error_kinds {
            eprintln!("note:   {n:>8}  {m}");
        }
    }
    let total = manifest_total(&dir);
    let secs = spent.as_secs_f64().max(1e-9);
    println!(
        "manifest: {files} files, {:.1} MB, {found} assertions found, {written} in MANIFEST.tsv, {} in MANIFEST.json; extraction {:.0} MB/s, {:.0} files/s on one thread",
        bytes as f64 / 1e6,
        total.map_or("none".to_string(), |t| t.to_string()),
        bytes as f64 / 1e6 / secs,
        files as f64 / secs
    );
    if bad > 0 || total != Some(found) || found != written {
        eprintln!("manifest: MISMATCH ({bad} files differ)");
        std::process::exit(1);
    }
    println!("manifest: OK");
}
