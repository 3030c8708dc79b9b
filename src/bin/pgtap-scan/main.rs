//! The `pgtap-scan` binary: parse flags, run the library, print, exit with the right code.

mod cli;
mod output;
mod signals;
mod test_hook;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use pgtap_scan::report::{self, printable, Format, RenderOptions};
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
            eprintln!("pgtap-scan: {}", printable(&format!("{e:#}")));
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
        // Paths and texts come from the files scanned: escaped, one line each.
        let text = printable(&m.to_string()).into_owned();
        let line = match m.severity {
            Severity::Error => format!("pgtap-scan: {text}"),
            Severity::Warning => format!("pgtap-scan: warning: {text}"),
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
    if gaps_only && !plan.format.lists_gaps() {
        anyhow::bail!(
            "gaps --format {0}: gaps are listed as text, json, csv, markdown or github; the {0} \
             report of a scan with a universe (pgtap-scan --format {0} --schema ...) shows \
             them already",
            plan.format.name()
        );
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
    // Without handlers a signal would kill the process mid-write; with them the run drains
    // and exits with the signal's code (see `signals`).
    let cancel = Arc::new(AtomicBool::new(false));
    signals::install(Arc::clone(&cancel)).context("installing the signal handlers")?;

    // The universe first: a bad migration path or an unreachable database should fail
    // before a long scan, not after. Reading it does not check for signals and writes
    // nothing, so a signal ends the process at once.
    signals::immediate(true);
    test_hook::pause("universe", Some(&cancel));
    let universe = match &plan.universe {
        None => None,
        Some(spec) => Some(load_universe(spec, &plan)?),
    };
    signals::immediate(false);
    if let Some(sig) = signals::received() {
        return Ok(interrupted(None, sig));
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
    test_hook::pause("scan", Some(&cancel));
    let report = scan::scan(&plan.scan, Arc::clone(&cancel), progress, &mut observer);
    let write_error = observer.write_error.take();
    ticker_stop.store(true, Ordering::Relaxed);
    if let Some(t) = ticker {
        let _ = t.join();
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(sig) = signals::received() {
        return Ok(interrupted(Some(out), sig));
    }
    if let Some(e) = write_error {
        out.discard();
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(exit_code(&report, plan.strict));
        }
        return Err(anyhow::Error::new(e).context("writing the report"));
    }
    if report.summary.files == 0 {
        if report.stats.files_failed > 0 {
            // Nothing could be read (the errors are on stderr): an empty report would only
            // look like a result.
            out.discard();
            return Ok(ExitCode::from(2));
        }
        if !plan.allow_empty {
            out.discard();
            anyhow::bail!(
                "no test files found in {} (looked for {}); a CI job pointed at the wrong \
                 folder would pass: if nothing to scan is expected, pass --allow-empty",
                describe_roots(&plan.scan.discovery.roots),
                plan.scan
                    .discovery
                    .extensions
                    .iter()
                    .map(|e| format!("*.{e}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let report = match &universe {
        Some((u, source, skipped)) => report
            .with_universe(u, *source, &plan.schemas)
            .with_universe_warnings(skipped),
        None => report,
    };
    if let Some(sig) = signals::received() {
        return Ok(interrupted(Some(out), sig));
    }
    if let Some(s) = &report.schema {
        if s.coverage.overall.objects == 0 {
            out.discard();
            anyhow::bail!(
                "--schemas {}: no object of the universe is in these schemas: nothing to \
                 measure coverage against",
                plan.schemas.join(",")
            );
        }
    }
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
            width: (plan.output.is_none()).then(terminal_width).flatten(),
        },
        &mut Cancellable {
            inner: out.writer(),
            cancel: &cancel,
            written: false,
        },
    );
    if let Some(sig) = signals::received() {
        return Ok(interrupted(Some(out), sig));
    }
    match rendered {
        // A closed stdout (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(exit_code(&report, plan.strict))
        }
        r => r.context("writing the report")?,
    }
    // CI log parsers (GitLab's `coverage:` regex) read the last line of the job log. It
    // ends the text report, wherever that goes (stdout or -o FILE); on stderr when stdout
    // does not carry it (another format, or -o), so JSON and XML stay parseable; and not
    // at all on stderr under -q, which means errors only.
    let coverage_in_report = plan.format == Format::Text;
    let coverage_on_stdout = coverage_in_report && plan.output.is_none();
    if let (Some(line), true) = (&coverage_line, coverage_in_report) {
        let _ = writeln!(out.writer(), "{line}");
    }
    if let Some(sig) = signals::received() {
        return Ok(interrupted(Some(out), sig));
    }
    out.commit()?;
    if plan.stats {
        print_stats(&report);
    }
    let mut code = exit_code(&report, plan.strict);
    if let Some(s) = &report.schema {
        let short = pgtap_scan::gate::check(&plan.gates, &s.coverage);
        for f in &short {
            eprintln!(
                "pgtap-scan: coverage gate failed: {}",
                printable(&f.to_string())
            );
        }
        if !short.is_empty() && code == ExitCode::SUCCESS {
            code = ExitCode::from(1);
        }
    }
    if let (Some(line), false, false) = (&coverage_line, coverage_on_stdout, plan.quiet) {
        eprintln!("{line}");
    }
    Ok(code)
}

/// A signal arrived: the partial report is dropped, the exit code is 128 + the signal.
fn interrupted(out: Option<output::Output>, sig: i32) -> ExitCode {
    if let Some(out) = out {
        out.discard();
    }
    let name = signal_hook::low_level::signal_name(sig).unwrap_or("a signal");
    eprintln!("pgtap-scan: interrupted by {name}; no report written");
    ExitCode::from(signals::exit_code(sig))
}

/// The report writer while a signal can arrive: once one has, every write fails, so a
/// long render (a big JSON or HTML report) stops at its next write instead of finishing.
/// (Not `ErrorKind::Interrupted`: `write_all` retries those forever.)
struct Cancellable<'a> {
    inner: &'a mut dyn Write,
    cancel: &'a AtomicBool,
    written: bool,
}

impl Write for Cancellable<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("interrupted by a signal"));
        }
        let n = self.inner.write(buf)?;
        if !self.written {
            self.written = true;
            test_hook::pause("render", Some(self.cancel));
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("interrupted by a signal"));
        }
        self.inner.flush()
    }
}

/// Reads the universe; statements the DDL reader skips are warnings.
fn load_universe(
    spec: &pgtap_scan::config::UniverseSpec,
    plan: &cli::Plan,
) -> anyhow::Result<(
    pgtap_scan::schema::Universe,
    pgtap_scan::gaps::UniverseSource,
    Vec<pgtap_scan::schema::SkippedStatement>,
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
                        printable(&s.file),
                        s.line,
                        printable(&s.reason)
                    );
                }
            }
            Ok((universe, UniverseSource::Migrations, skipped))
        }
        UniverseSpec::Database { url, source } => {
            let defaults = pgtap_scan::schema::DatabaseOptions::default();
            let opts = pgtap_scan::schema::DatabaseOptions {
                url: url.clone(),
                schemas: plan.schemas.clone(),
                search_path: plan.scan.extract.search_path.clone(),
                url_source: source.clone(),
                trust_config_url: plan.trust_config_database_url,
                query_timeout: plan.database_timeout.unwrap_or(defaults.query_timeout),
                ..defaults
            };
            let universe = pgtap_scan::schema::load_database(&opts).map_err(|e| match source {
                pgtap_scan::schema::UrlSource::Flag => anyhow::anyhow!("--database-url: {e}"),
                pgtap_scan::schema::UrlSource::ConfigFile(p) => {
                    anyhow::anyhow!("{}: database-url: {e}", p.display())
                }
            })?;
            if universe.is_empty() {
                anyhow::bail!(
                    "the database holds no object{}: nothing to measure coverage against",
                    if plan.schemas.is_empty() {
                        String::new()
                    } else {
                        format!(" in --schemas {}", plan.schemas.join(","))
                    }
                );
            }
            Ok((universe, UniverseSource::Database, Vec::new()))
        }
    }
}

/// The width of the terminal stdout is, if it is one: `COLUMNS` when set (the user's
/// word), else what the terminal says.
fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
}

/// `tests, more` or `.` for the roots a scan was given.
fn describe_roots(roots: &[std::path::PathBuf]) -> String {
    if roots.is_empty() {
        return ".".to_string();
    }
    roots
        .iter()
        .map(|r| r.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn exit_code(report: &ScanReport, strict: bool) -> ExitCode {
    if report.stats.files_failed > 0 || report.stats.inputs_not_scanned > 0 {
        return ExitCode::from(2);
    }
    if strict && !report.summary.plans.mismatches.is_empty() {
        eprintln!(
            "pgtap-scan: {} (--strict)",
            report::count(
                report.summary.plans.mismatches.len() as u64,
                "plan mismatch",
                "plan mismatches"
            )
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
    if s.files_skipped + s.inputs_not_scanned > 0 {
        eprintln!(
            "  not scanned: {} binary files skipped (--binary reads them), {} inputs that could not be read",
            s.files_skipped, s.inputs_not_scanned
        );
    }
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
