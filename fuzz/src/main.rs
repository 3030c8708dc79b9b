//! `pgtap-scan-fuzz`: see `fuzz/README.md`.
//!
//! Usage: pgtap-scan-fuzz [--seconds N] [--seed N] [--target NAME]... [--timeout-ms N]
//!                        [--artifacts DIR] [--save-new] [--max-execs N]
//! Exit status: 0 nothing found, 1 a crash or hang (saved under the artifacts folder),
//! 2 a usage error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use pgtap_scan_fuzz::{corpus_dir, fuzz, repo_root, Options, Target};

fn usage(msg: &str) -> ExitCode {
    eprintln!(
        "pgtap-scan-fuzz: {msg}\nusage: pgtap-scan-fuzz [--seconds N (per target, default 10)] \
         [--seed N] [--target lexer|extract|schema|cache]... [--timeout-ms N (default 2000)] \
         [--artifacts DIR] [--save-new] [--max-execs N]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let root = repo_root();
    let mut seconds = 10u64;
    let mut seed = None;
    let mut targets = Vec::new();
    let mut timeout_ms = 2000u64;
    let mut artifacts = root.join("fuzz/artifacts");
    let mut save_new = false;
    let mut max_execs = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let num = |v: Result<String, String>| -> Result<u64, String> {
            let v = v?;
            v.parse().map_err(|_| format!("not a number: {v}"))
        };
        let r: Result<(), String> = (|| {
            match a.as_str() {
                "--seconds" => seconds = num(value("--seconds"))?,
                "--seed" => seed = Some(num(value("--seed"))?),
                "--timeout-ms" => timeout_ms = num(value("--timeout-ms"))?,
                "--max-execs" => max_execs = Some(num(value("--max-execs"))?),
                "--artifacts" => artifacts = PathBuf::from(value("--artifacts")?),
                "--save-new" => save_new = true,
                "-h" | "--help" => return Err("help".into()),
                "--target" => {
                    let v = value("--target")?;
                    targets.push(Target::from_name(&v).ok_or(format!("no target {v}"))?);
                }
                other => return Err(format!("unknown argument {other}")),
            }
            Ok(())
        })();
        if let Err(e) = r {
            return usage(&e);
        }
    }
    if targets.is_empty() {
        targets = Target::ALL.to_vec();
    }
    // A fresh seed each run explores more; it is printed so a run can be repeated.
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let mut findings = 0;
    let mut total = Duration::ZERO;
    let mut execs = 0;
    for t in targets {
        let opts = Options {
            duration: Duration::from_secs(seconds),
            seed,
            timeout: Duration::from_millis(timeout_ms),
            artifacts: artifacts.clone(),
            save_new: save_new.then(|| corpus_dir(&root, t)),
            max_execs,
        };
        let r = fuzz(&root, t, &opts);
        println!(
            "fuzz {:<8} seed {seed}: {} execs in {:.1} s ({:.0}/s), {} seeds, pool {}, {} features, {} findings",
            t.name(),
            r.execs,
            r.elapsed.as_secs_f64(),
            r.execs as f64 / r.elapsed.as_secs_f64().max(1e-9),
            r.seeds,
            r.pool,
            r.features,
            r.findings.len(),
        );
        for (what, p) in &r.findings {
            println!("  {what}\n    saved as {}", p.display());
        }
        findings += r.findings.len();
        total += r.elapsed;
        execs += r.execs;
    }
    println!(
        "fuzz: {execs} execs in {:.1} s in all, {findings} findings",
        total.as_secs_f64()
    );
    if findings > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
