//! The `pgtap-scan` binary: parse flags, run the library, print, exit with the right code.

mod cli;
mod output;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use pgtap_scan::report::{self, Format, RenderOptions};
use pgtap_scan::scan::{self, FileReport, Message, Observer, ScanReport, Severity};

#[global_allocator]
static GLOBAL: pipeline::alloc::CountingAlloc<mimalloc::MiMalloc> =
    pipeline::alloc::CountingAlloc(mimalloc::MiMalloc);

/// mimalloc keeps freed pages for a while before returning them (`purge_delay`: 1000 ms in
/// the bundled 3.3, 10 ms in older v3 headers). With threads freeing each other's results
/// that doubled peak RSS on small scans (112 MB vs 58-64 MB on 10k generated files, same
/// time), so pages go back at once.
/// `MIMALLOC_PURGE_DELAY` in the environment still wins (`set_default` yields to it).
///
/// libmimalloc-sys names the options of mimalloc v2; the bundled v3 numbers them anew
/// (`purge_delay` is 15 in v3's `mimalloc.h`). The option is only set when it reads as one
/// of v3's defaults, so a renumbering cannot set some other option by mistake.
fn less_retained_memory() {
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: reading and setting a plain integer option; safe at any time.
    unsafe {
        if matches!(libmimalloc_sys::mi_option_get(PURGE_DELAY), 10 | 1000) {
            libmimalloc_sys::mi_option_set_default(PURGE_DELAY, 0);
        }
    }
}

fn main() -> ExitCode {
    less_retained_memory();
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pgtap-scan: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Prints messages on stderr (around the progress bar) and, in streaming NDJSON, file lines.
struct CliObserver<'a> {
    quiet: bool,
    bar: Option<&'a ProgressBar>,
    ndjson: Option<&'a mut output::Output>,
    write_error: Option<std::io::Error>,
}

impl Observer for CliObserver<'_> {
    fn message(&mut self, m: &Message) {
        if self.quiet && m.severity == Severity::Warning {
            return;
        }
        let line = match m.severity {
            Severity::Error => format!("pgtap-scan: {m}"),
            Severity::Warning => format!("pgtap-scan: warning: {m}"),
        };
        match self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn file(&mut self, f: &FileReport) {
        if let (Some(out), None) = (self.ndjson.as_deref_mut(), &self.write_error) {
            if let Err(e) = report::ndjson::file_line(f, out.writer()) {
                self.write_error = Some(e);
            }
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = cli::Cli::parse();
    let (args, gaps_only) = match cli.command {
        Some(cli::Command::Scan(a)) => (a, false),
        Some(cli::Command::Gaps(a)) => (a, true),
        None => (cli.scan, false),
    };
    if args.list_functions {
        let mut out = std::io::stdout().lock();
        for f in pgtap_scan::catalog::FUNCTIONS {
            writeln!(out, "{}", f.name)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut plan = args.into_plan()?;
    plan.gaps_only = gaps_only;
    if gaps_only && plan.universe.is_none() {
        anyhow::bail!("gaps needs a universe: add --schema PATH (migrations) or --database-url");
    }
    match (plan.format, &plan.universe) {
        (Format::Lcov | Format::Cobertura, Some(pgtap_scan::config::UniverseSpec::Migrations(_))) => {}
        (Format::Lcov | Format::Cobertura, _) => anyhow::bail!(
            "--format lcov and cobertura map objects to the lines of migration files: add --schema PATH"
        ),
        (Format::Github, None) => anyhow::bail!(
            "--format github annotates untested objects: add --schema PATH or --database-url"
        ),
        _ => {}
    }
    // The universe first: a bad migration path or an unreachable database should fail
    // before a long scan, not after.
    let universe = match &plan.universe {
        None => None,
        Some(spec) => Some(load_universe(spec, &plan)?),
    };

    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = Arc::clone(&cancel);
        // Without a handler Ctrl-C would kill the process mid-write; with it the run drains.
        let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::SeqCst));
    }
    let progress = Arc::new(pipeline::Progress::default());
    let bar = (!plan.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let ticker_stop = Arc::new(AtomicBool::new(false));
    let ticker = bar.clone().map(|bar| {
        let progress = Arc::clone(&progress);
        let stop = Arc::clone(&ticker_stop);
        let start = std::time::Instant::now();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let files = progress.parsed.load(Ordering::Relaxed);
                let found = progress.discovered.load(Ordering::Relaxed);
                let bytes = progress.bytes.load(Ordering::Relaxed);
                let secs = start.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{files}/{found} files, {:.1} MB, {:.1} MB/s, heap {:.1} MB",
                    bytes as f64 / 1e6,
                    bytes as f64 / 1e6 / secs,
                    pipeline::alloc::current() as f64 / 1e6
                ));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    });

    let mut out = output::Output::open(plan.output.as_deref())?;
    let streaming_ndjson = plan.format == Format::Ndjson;
    let mut observer = CliObserver {
        quiet: plan.quiet,
        bar: bar.as_ref(),
        ndjson: streaming_ndjson.then_some(&mut out),
        write_error: None,
    };
    let report = scan::scan(&plan.scan, Arc::clone(&cancel), progress, &mut observer);
    let write_error = observer.write_error.take();
    ticker_stop.store(true, Ordering::Relaxed);
    if let Some(t) = ticker {
        let _ = t.join();
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if report.stats.cancelled || cancel.load(Ordering::SeqCst) {
        out.discard();
        eprintln!("pgtap-scan: interrupted; no report written");
        return Ok(ExitCode::from(130));
    }
    if let Some(e) = write_error {
        out.discard();
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(exit_code(&report, plan.strict));
        }
        return Err(anyhow::Error::new(e).context("writing the report"));
    }
    let report = match &universe {
        Some((u, source)) => report.with_universe(u, *source, &plan.schemas),
        None => report,
    };
    let coverage_line = report
        .schema
        .as_ref()
        .map(|s| format!("Coverage: {:.1}%", s.coverage.overall.percent));
    let rendered = report::render(
        &report,
        plan.format,
        RenderOptions {
            color: plan.color,
            gaps_only: plan.gaps_only,
        },
        out.writer(),
    );
    match rendered {
        // A closed stdout (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(exit_code(&report, plan.strict))
        }
        r => r.context("writing the report")?,
    }
    // CI log parsers (GitLab's `coverage:` regex) read the last line of the job log. On
    // stdout only when stdout carries the text report; otherwise on stderr, so JSON and
    // XML stay parseable.
    let coverage_on_stdout = plan.format == Format::Text && plan.output.is_none();
    if let (Some(line), true) = (&coverage_line, coverage_on_stdout) {
        let _ = writeln!(out.writer(), "{line}");
    }
    out.commit()?;
    if plan.stats {
        print_stats(&report);
    }
    let mut code = exit_code(&report, plan.strict);
    if let Some(s) = &report.schema {
        let short = pgtap_scan::gate::check(&plan.gates, &s.coverage);
        for f in &short {
            eprintln!("pgtap-scan: coverage gate failed: {f}");
        }
        if !short.is_empty() && code == ExitCode::SUCCESS {
            code = ExitCode::from(1);
        }
    }
    if let (Some(line), false) = (&coverage_line, coverage_on_stdout) {
        eprintln!("{line}");
    }
    Ok(code)
}

/// Reads the universe; statements the DDL reader skips are warnings.
fn load_universe(
    spec: &pgtap_scan::config::UniverseSpec,
    plan: &cli::Plan,
) -> anyhow::Result<(
    pgtap_scan::schema::Universe,
    pgtap_scan::gaps::UniverseSource,
)> {
    use pgtap_scan::config::UniverseSpec;
    use pgtap_scan::gaps::UniverseSource;
    match spec {
        UniverseSpec::Migrations(paths) => {
            let (universe, skipped) =
                pgtap_scan::schema::load_migrations(paths, &plan.scan.extract.search_path)
                    .context("reading the schema")?;
            if !plan.quiet {
                for s in &skipped {
                    eprintln!(
                        "pgtap-scan: warning: {}:{}: schema statement skipped: {}",
                        s.file, s.line, s.reason
                    );
                }
            }
            Ok((universe, UniverseSource::Migrations))
        }
        UniverseSpec::Database(url) => {
            let opts = pgtap_scan::schema::DatabaseOptions {
                url: url.clone(),
                schemas: plan.schemas.clone(),
                search_path: plan.scan.extract.search_path.clone(),
                ..Default::default()
            };
            let universe = pgtap_scan::schema::load_database(&opts)
                .map_err(|e| anyhow::anyhow!("--database-url: {e}"))?;
            Ok((universe, UniverseSource::Database))
        }
    }
}

fn exit_code(report: &ScanReport, strict: bool) -> ExitCode {
    if report.stats.files_failed > 0 || report.stats.inputs_not_scanned > 0 {
        return ExitCode::from(2);
    }
    if strict && !report.summary.plans.mismatches.is_empty() {
        eprintln!(
            "pgtap-scan: {} plan mismatches (--strict)",
            report.summary.plans.mismatches.len()
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn print_stats(r: &ScanReport) {
    let s = &r.stats;
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    let secs = s.elapsed_ms as f64 / 1000.0;
    eprintln!(
        "pgtap-scan stats ({} mode, {} threads, batches of {}):",
        s.mode, s.threads, s.batch_size
    );
    eprintln!(
        "  files: {} discovered, {} parsed, {} failed; {:.2} MB read in {} batches",
        s.files_discovered,
        s.files_parsed,
        s.files_failed,
        mb(s.bytes_read),
        s.batches
    );
    eprintln!(
        "  time: {:.3} s wall ({:.1} MB/s); discovery {} ms, parse {} ms (summed over threads), aggregate {} ms",
        secs,
        if secs > 0.0 { mb(s.bytes_read) / secs } else { 0.0 },
        s.discovery_ms,
        s.parse_ms,
        s.aggregate_ms
    );
    eprintln!(
        "  budget: {:.1} MB, peak charged {:.2} MB, {} throttle waits ({} ms)",
        mb(s.budget_bytes),
        mb(s.peak_charged_bytes),
        s.throttle_waits,
        s.throttle_ms
    );
    if s.cache_hits + s.cache_hash_hits + s.cache_misses > 0 {
        eprintln!(
            "  cache: {} hits (not read), {} hash hits (read, not parsed), {} misses (parsed)",
            s.cache_hits, s.cache_hash_hits, s.cache_misses
        );
    }
    if s.heap_measured {
        eprintln!(
            "  heap: initial {:.2} MB, peak {:.2} MB, current {:.2} MB (counting allocator, ±32 KiB a thread)",
            mb(s.initial_heap_bytes),
            mb(s.peak_heap_bytes),
            mb(s.current_heap_bytes)
        );
        if s.peak_heap_bytes > s.budget_bytes {
            // The budget bounds file bytes in flight; the coverage database grows with the
            // distinct objects named and is not charged to it. Say so rather than let the
            // peak look like a broken budget.
            eprintln!(
                "  note: the heap peak is above the budget, which bounds file bytes in flight only; \
                 the coverage database ({} objects) is not charged to it",
                r.coverage.statistics.objects
            );
        }
    }
}
