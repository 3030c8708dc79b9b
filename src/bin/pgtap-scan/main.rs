//! The `pgtap-scan` binary: parse flags, run the library, print, exit with the right code.
//! Flags and `.pgtap-scan.toml` become a plan in `plan` (read by `value`, one reader per
//! setting); everything said on stderr goes through `messages`; codes are `ExitCode`s.

mod ci;
mod cli;
mod config_file;
mod diff;
mod exit_code;
mod generate;
mod history;
mod messages;
mod output;
mod plan;
mod progress;
mod projects;
mod signals;
mod stats;
mod supabase;
mod test_hook;
mod value;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;

use pgtap_scan::report::{self, RenderOptions};
use pgtap_scan::scan::{self, FileReport, Message, Observer, ScanReport, Severity};

use crate::exit_code::ExitCode;
use crate::messages::Messages;
use crate::plan::Plan;
use crate::progress::Progress;

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

/// Suites of up to this many files are read once more before the scan, with
/// `--references`, for the role-switching functions their test files define.
const ROLE_HELPER_FILES: usize = 10_000;

fn main() -> std::process::ExitCode {
    less_retained_memory();
    let mut messages = Messages::default();
    let code = match run(&mut messages) {
        Ok(code) => code,
        Err(e) => {
            messages.error(&format!("{e:#}"));
            ExitCode::Error
        }
    };
    code.into()
}

/// Passes the scan's messages on, and in a format that writes files as they are aggregated
/// (streaming NDJSON), writes them.
struct CliObserver<'a> {
    messages: &'a Messages,
    file_line: Option<report::FileLine>,
    out: &'a mut output::Output,
    write_error: Option<std::io::Error>,
}

impl Observer for CliObserver<'_> {
    fn message(&mut self, m: &Message) {
        match m.severity {
            Severity::Error => self.messages.error(&m.to_string()),
            Severity::Warning => self.messages.warning(&m.to_string()),
        }
    }

    fn file(&mut self, f: &FileReport) {
        if let (Some(write), None) = (self.file_line, &self.write_error) {
            if let Err(e) = write(f, self.out.writer()) {
                self.write_error = Some(e);
            }
        }
    }

    fn wants_files(&self) -> bool {
        self.file_line.is_some()
    }
}

/// Passes everything on, and folds every streamed file into its project's results.
struct Split<'a> {
    inner: &'a mut dyn Observer,
    splitter: scan::projects::Splitter,
}

impl Observer for Split<'_> {
    fn message(&mut self, m: &Message) {
        self.inner.message(m);
    }

    fn file(&mut self, f: &FileReport) {
        self.splitter.file(f);
        self.inner.file(f);
    }
}

fn run(messages: &mut Messages) -> anyhow::Result<ExitCode> {
    let cli = cli::Cli::parse();
    let (args, command) = match cli.command {
        Some(cli::Command::Scan(a)) => (a, plan::Command::Scan),
        Some(cli::Command::Gaps(a)) => (a, plan::Command::Gaps),
        Some(cli::Command::Merge(a)) => (a, plan::Command::Merge),
        Some(cli::Command::Completions { shell }) => {
            generate::completions(shell, &mut std::io::stdout().lock())?;
            return Ok(ExitCode::Success);
        }
        Some(cli::Command::Diff(d)) => return diff::run(&d),
        Some(cli::Command::History(h)) => return history::run(&h, messages),
        Some(cli::Command::Man) => {
            generate::man(&mut std::io::stdout().lock())?;
            return Ok(ExitCode::Success);
        }
        None => (cli.scan, plan::Command::Scan),
    };
    if args.list_functions {
        let mut out = std::io::stdout().lock();
        for f in pgtap_scan::catalog::FUNCTIONS {
            writeln!(out, "{}", f.name)?;
        }
        return Ok(ExitCode::Success);
    }
    messages.set_quiet(args.quiet);
    let mut plan = Plan::new(args, command, messages)?;
    let partial = plan.format == report::Format::Partial;
    // Without handlers a signal would kill the process mid-write; with them the run drains
    // and exits with the signal's code (see `signals`).
    let cancel = Arc::new(AtomicBool::new(false));
    signals::install(Arc::clone(&cancel)).context("installing the signal handlers")?;

    // The universe first: a bad migration path or an unreachable database should fail
    // before a long scan, not after. Reading it does not check for signals and writes
    // nothing, so a signal ends the process at once.
    signals::immediate(true);
    test_hook::pause("universe", Some(&cancel));
    // A shard's partial names its universe (the merge measures against it); a shard reads
    // it only for what changes extraction (the universe's role helpers, with references).
    let universe_digest = if partial || plan.merging {
        universe_digest(plan.universe.as_ref())
    } else {
        String::new()
    };
    let baseline = match &plan.baseline {
        Some(path) => Some(pgtap_scan::baseline::Snapshot::read(path)?),
        None => None,
    };
    let universe = match &plan.universe {
        Some(spec) if !partial || plan.scan.extract.references => {
            Some(load_universe(spec, &plan, messages)?)
        }
        _ => None,
    };
    // Each project's universe, once; one that cannot be read is said, and the run goes on
    // without that project's coverage (the exit code says the report is incomplete).
    let mut project_universes = Vec::with_capacity(plan.projects.len());
    let mut project_failed = false;
    for p in &plan.projects {
        project_universes.push(match &p.universe {
            // A shard reads a universe only for its role helpers (with references).
            Some(_) if partial && !plan.scan.extract.references => None,
            None => None,
            Some(spec) => {
                match load_universe_with(spec, &plan, &p.search_path, &p.schemas, messages) {
                    Ok(u) => Some(u),
                    Err(e) => {
                        messages.error(&format!("project {:?} ({}): {e:#}", p.name, p.origin));
                        project_failed = true;
                        None
                    }
                }
            }
        });
    }
    signals::immediate(false);
    if let Some(sig) = signals::received() {
        return Ok(interrupted(None, sig, messages));
    }
    // The config's own role helpers, before the universes' and the test files' join them.
    let declared_role_helpers = plan.scan.extract.role_helpers.clone();
    // Each project's universe's role-switching functions, under its own search path.
    let mut project_role_helpers: Vec<Vec<pgtap_scan::config::RoleHelperDecl>> =
        vec![Vec::new(); plan.projects.len()];
    if plan.scan.extract.references {
        let extract = &mut plan.scan.extract;
        for (u, _, _) in project_universes.iter().flatten() {
            for h in pgtap_scan::role_helpers_in(u, &extract.search_path) {
                if !extract.role_helpers.iter().any(|d| d.name == h.name) {
                    extract.role_helpers.push(h);
                }
            }
        }
        for ((u, p), own) in project_universes
            .iter()
            .zip(&plan.projects)
            .zip(&mut project_role_helpers)
        {
            if let Some((u, _, _)) = u {
                *own = pgtap_scan::role_helpers_in(u, &p.search_path);
            }
        }
    }
    if let (Some((u, source, _)), true) = (&universe, plan.platform && !plan.count_platform) {
        // A Supabase project: the platform's own objects are not the project's to test.
        let from_database = *source == scan::report::UniverseSource::Database;
        plan.ignore
            .patterns
            .extend(supabase::platform_patterns(u, from_database));
    }
    if let (Some((u, _, _)), true) = (&universe, plan.scan.extract.references) {
        // The universe's own role-switching functions (a suite's `tests.as_anon()`)
        // switch roles like declared ones; a declared helper of the same name wins.
        let extract = &mut plan.scan.extract;
        for h in pgtap_scan::role_helpers_in(u, &extract.search_path) {
            if !extract.role_helpers.iter().any(|d| d.name == h.name) {
                extract.role_helpers.push(h);
            }
        }
    }
    if plan.scan.extract.references && !plan.merging {
        // The role-switching functions the test files define themselves (a
        // `tests/helpers.sql`), looked for in suites small enough to read twice. Every
        // shard looks at every file, so all find the same (their partials say which).
        match pipeline::list_paths(&plan.scan.discovery, ROLE_HELPER_FILES) {
            Some(paths) => {
                let extract = &mut plan.scan.extract;
                for h in pgtap_scan::role_helpers_in_files(&paths, &extract.search_path) {
                    if !extract.role_helpers.iter().any(|d| d.name == h.name) {
                        extract.role_helpers.push(h);
                        extract.role_helpers_from_tests += 1;
                    }
                }
            }
            None => messages.info(&format!(
                "pgtap-scan: note: role-switching functions the test files define are looked \
                 for in suites of up to {ROLE_HELPER_FILES} files; declare yours with \
                 [[role-helper]] in .pgtap-scan.toml"
            )),
        }
    }
    plan.scan.project_reading =
        project_reading(&plan, &declared_role_helpers, &project_role_helpers);
    let counters = Arc::new(pipeline::Progress::default());
    let progress = (!plan.quiet && std::io::stderr().is_terminal())
        .then(|| Progress::start(Arc::clone(&counters)));
    if let Some(p) = &progress {
        messages.set_bar(p.bar().clone());
    }

    // A spilled database's objects stay on disk when the report needs none in memory:
    // JSON streams them, text does not list them (issue 15: memory bounded whatever the
    // number of objects). A universe, projects and the other formats read them in memory.
    plan.scan.objects_on_disk =
        plan.format.streams_objects() && universe.is_none() && plan.projects.is_empty();
    // With --cache, the JSON report's objects are kept rendered in the cache (a rescan
    // renders only those a changed file touched).
    plan.scan.objects_kept = plan.scan.objects_on_disk && plan.format == report::Format::Json;
    let mut out = output::Output::open(plan.output.as_deref())?;
    let mut observer = CliObserver {
        messages,
        file_line: plan.format.info().file_line,
        out: &mut out,
        write_error: None,
    };
    test_hook::pause("scan", Some(&cancel));
    if partial {
        drop(observer);
        return write_partial(
            &plan,
            &universe_digest,
            cancel,
            counters,
            progress,
            out,
            messages,
        );
    }
    // A scan, or the merge of its shards' partials, seen by `observer` (and, with
    // projects, by the splitter that attributes each file to its project).
    let run_or_merge = |observer: &mut dyn Observer| {
        if plan.merging {
            merge_partials(&plan, &universe_digest, observer)
        } else {
            Ok(scan::scan(
                &plan.scan,
                Arc::clone(&cancel),
                Arc::clone(&counters),
                observer,
            ))
        }
    };
    let report = if plan.projects.is_empty() {
        match run_or_merge(&mut observer) {
            Ok(report) => report,
            Err(e) => {
                drop(observer);
                out.discard();
                return Err(e);
            }
        }
    } else {
        let mut split = Split {
            inner: &mut observer,
            splitter: scan::projects::Splitter::new(&project_specs(&plan), &plan.scan),
        };
        let mut report = match run_or_merge(&mut split) {
            Ok(report) => report,
            Err(e) => {
                drop(split);
                drop(observer);
                out.discard();
                return Err(e);
            }
        };
        let mut splitter = split.splitter;
        for f in report.files.iter().flatten() {
            splitter.file(f);
        }
        // Said on stderr and kept in the report's messages (every format lists them).
        let crossings = splitter.crossings();
        for w in &crossings {
            messages.warning(&w.to_string());
        }
        report = report.with_messages(crossings);
        let (scans, unowned) = splitter.finish();
        let mut sections = Vec::with_capacity(scans.len());
        for ((s, p), u) in scans
            .into_iter()
            .zip(&plan.projects)
            .zip(&project_universes)
        {
            let mut section = match u {
                Some((u, source, _)) => {
                    s.into_report_against(u, *source, &p.schemas, plan.coverage_mode)
                }
                None => s.into_report(None),
            };
            if let Some(schema) = &mut section.schema {
                pgtap_scan::ignoring::apply(schema, &plan.ignore, &|f| {
                    std::fs::read_to_string(f).ok()
                });
                section.gates_failed = pgtap_scan::gate::check(&p.gates, &schema.coverage)
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                section.tested_objects = pgtap_scan::baseline::tested_keys(schema);
            } else if !p.gates.is_empty() {
                section.gates_failed = vec!["no universe to measure against".to_string()];
            }
            sections.push(section);
        }
        for (_, _, skipped) in project_universes.iter().flatten() {
            report = report.with_universe_warnings(skipped);
        }
        report.schema = scan::projects::total(&sections);
        report.projects = sections;
        report.files_outside_projects = Some(unowned.files);
        report
    };
    let write_error = observer.write_error.take();
    if let Some(p) = progress {
        p.finish();
        messages.clear_bar();
    }
    if let Some(sig) = signals::received() {
        return Ok(interrupted(Some(out), sig, messages));
    }
    if let Some(e) = &report.stats.spill_error {
        // What could not be spilled or read back is missing from the coverage.
        out.discard();
        anyhow::bail!("{e}");
    }
    if let Some(e) = write_error {
        out.discard();
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(exit_code(&report, plan.strict, messages));
        }
        return Err(anyhow::Error::new(e).context("writing the report"));
    }
    // A shard may hold none of a small tree's files: only an empty tree is "nothing found".
    let nothing_found = match plan.scan.shard {
        Some(_) => report.stats.files_discovered == 0,
        None => report.summary.files == 0,
    };
    if nothing_found && plan.merging && !plan.allow_empty {
        out.discard();
        anyhow::bail!(
            "the shards found no test file ({} discovered); a CI job pointed at the wrong \
             folder would pass: if nothing to scan is expected, pass --allow-empty",
            report.stats.files_discovered
        );
    }
    if report.summary.files == 0 && (nothing_found || report.stats.files_failed > 0) {
        if report.stats.files_failed > 0 {
            // Nothing could be read (the errors are on stderr): an empty report would only
            // look like a result.
            out.discard();
            return Ok(ExitCode::Error);
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
            .with_universe_as(u, *source, &plan.schemas, plan.coverage_mode)
            .with_universe_warnings(skipped),
        None => report,
    };
    if let Some(sig) = signals::received() {
        return Ok(interrupted(Some(out), sig, messages));
    }
    if let Some(e) = &report.stats.spill_error {
        // Objects left on disk that could not be read back for the universe.
        out.discard();
        anyhow::bail!("{e}");
    }
    if let (Some(s), true) = (&report.schema, report.projects.is_empty()) {
        if s.coverage.overall.objects == 0 {
            out.discard();
            anyhow::bail!(
                "--schemas {}: no object of the universe is in these schemas: nothing to \
                 measure coverage against",
                plan.schemas.join(",")
            );
        }
    }
    let mut report = report;
    if let (Some(s), true) = (&mut report.schema, report.projects.is_empty()) {
        pgtap_scan::ignoring::apply(s, &plan.ignore, &|f| std::fs::read_to_string(f).ok());
    }
    // `--baseline`: compared before the render, since the JSON report carries it.
    let comparison = match (&baseline, &report.schema, &plan.baseline) {
        (Some(old), Some(s), Some(file)) => {
            let new = pgtap_scan::baseline::Snapshot::from_report(s, &report.projects);
            // A monorepo's report against one taken without projects (or the reverse).
            if let Some(why) = pgtap_scan::baseline::mismatch(old, &new) {
                out.discard();
                anyhow::bail!("--baseline {}: {why}", file.display());
            }
            Some(Arc::new(pgtap_scan::baseline::Baseline {
                file: file.display().to_string(),
                comparison: pgtap_scan::baseline::compare(old, &new),
            }))
        }
        _ => None,
    };
    // `--history`: this run's line, appended once the report is written; the HTML report
    // draws it after the file's.
    let history_entry = plan.history.as_ref().map(|_| {
        pgtap_scan::history::Entry::from_report(&report, history::now(), history::commit())
    });
    let history_chart = match (&plan.history, &history_entry, plan.format) {
        (Some(path), Some(entry), report::Format::Html) => {
            let mut entries = history::read(path, messages)?;
            entries.push(entry.clone());
            Some(Arc::new(entries))
        }
        _ => None,
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
            width: (plan.output.is_none()).then(terminal_width).flatten(),
            max_bytes: ci::markdown_budget(plan.max_bytes, plan.gaps_only),
            changed_files: plan.changed_files.clone(),
            baseline: comparison.clone(),
            history: history_chart,
            root: plan.root.clone(),
        },
        &mut Cancellable {
            inner: out.writer(),
            cancel: &cancel,
            written: false,
        },
    );
    if let Some(sig) = signals::received() {
        return Ok(interrupted(Some(out), sig, messages));
    }
    match rendered {
        // A closed stdout (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(exit_code(&report, plan.strict, messages))
        }
        r => r.context("writing the report")?,
    }
    if let Some(c) = &comparison {
        match plan.format {
            report::Format::Text => {
                writeln!(out.writer())?;
                diff::text(&c.comparison, out.writer())?;
            }
            report::Format::Markdown => {
                writeln!(out.writer())?;
                diff::markdown(&c.comparison, out.writer())?;
            }
            _ => {}
        }
    }
    // CI log parsers (GitLab's `coverage:` regex) read the last line of the job log. It
    // ends the report of a format that says so (text), wherever that goes (stdout or -o
    // FILE); on stderr when stdout does not carry it (another format, or -o), so JSON and
    // XML stay parseable; and not at all on stderr under -q, which means errors only.
    let coverage_in_report = plan.format.info().coverage_line;
    let coverage_on_stdout = coverage_in_report && plan.output.is_none();
    if let (Some(line), true) = (&coverage_line, coverage_in_report) {
        let _ = writeln!(out.writer(), "{line}");
    }
    if let Some(sig) = signals::received() {
        return Ok(interrupted(Some(out), sig, messages));
    }
    out.commit()?;
    // After the report: a run whose report could not be written is not recorded.
    let history_failed = match (&plan.history, &history_entry) {
        (Some(path), Some(entry)) => match history::append(path, entry) {
            Ok(()) => false,
            Err(e) => {
                messages.error(&format!("{e:#}"));
                true
            }
        },
        _ => false,
    };
    if plan.stats {
        stats::print(&report, messages);
    }
    let mut code = exit_code(&report, plan.strict, messages);
    if let Some(s) = &report.schema {
        let short = pgtap_scan::gate::check(&plan.gates, &s.coverage);
        for f in &short {
            messages.error(&format!("coverage gate failed: {f}"));
        }
        if !short.is_empty() && code == ExitCode::Success {
            code = ExitCode::GateFailed;
        }
    }
    for p in &report.projects {
        for f in &p.gates_failed {
            messages.error(&format!("project {}: coverage gate failed: {f}", p.name));
        }
        if !p.gates_failed.is_empty() && code == ExitCode::Success {
            code = ExitCode::GateFailed;
        }
    }
    if project_failed {
        code = ExitCode::Error;
    }
    if let (Some(c), Some(kinds)) = (
        comparison.as_ref().map(|c| &c.comparison),
        &plan.fail_on_drop,
    ) {
        if let Some(k) = kinds.iter().find(|k| !c.knows_kind(k)) {
            anyhow::bail!(
                "--fail-on-drop {k}: neither the baseline nor this report has objects of kind {k:?}"
            );
        }
        let fallen = c.fallen(kinds);
        for f in &fallen {
            messages.error(&format!(
                "coverage fell versus the baseline: {} {} -> {}",
                f.kind,
                diff::side(f.before),
                diff::side(f.after)
            ));
        }
        // A monorepo's: each project against itself in the baseline.
        let fallen_in_projects = c.fallen_in_projects(kinds);
        for (project, f) in &fallen_in_projects {
            messages.error(&format!(
                "project {project}: coverage fell versus the baseline: {} {} -> {}",
                f.kind,
                diff::side(f.before),
                diff::side(f.after)
            ));
        }
        if (!fallen.is_empty() || !fallen_in_projects.is_empty()) && code == ExitCode::Success {
            code = ExitCode::GateFailed;
        }
    }
    if let (Some(line), false) = (&coverage_line, coverage_on_stdout) {
        messages.info(line);
    }
    if history_failed {
        return Ok(ExitCode::Error);
    }
    // The process ends here: freeing every object of a large report one by one (154k
    // objects on the 100k bench tree, 3% of a `--cache` rescan) only delays the exit. Only
    // the objects: the rest is dropped, a spill folder (objects on disk) removed with it.
    std::mem::forget(std::mem::take(&mut report.coverage.objects));
    if let Some(kept) = report.coverage.on_disk.take() {
        if kept.in_cache() {
            std::mem::forget(kept);
        }
    }
    Ok(code)
}

/// `--format partial`: the shard's scan, each of its files written as it is aggregated,
/// then the trailer; the file is renamed into place only when complete.
fn write_partial(
    plan: &Plan,
    universe: &str,
    cancel: Arc<AtomicBool>,
    counters: Arc<pipeline::Progress>,
    progress: Option<Progress>,
    mut out: output::Output,
    messages: &mut Messages,
) -> anyhow::Result<ExitCode> {
    use pgtap_scan::partial::Writer;

    struct PartialObserver<'m, 'w> {
        messages: &'m Messages,
        writer: Writer<&'w mut dyn Write>,
        error: Option<std::io::Error>,
    }
    impl Observer for PartialObserver<'_, '_> {
        fn message(&mut self, m: &Message) {
            match m.severity {
                Severity::Error => self.messages.error(&m.to_string()),
                Severity::Warning => self.messages.warning(&m.to_string()),
            }
        }
        fn file(&mut self, f: &FileReport) {
            if self.error.is_none() {
                if let Err(e) = self.writer.file(&f.path, &f.result) {
                    self.error = Some(e);
                }
            }
        }
    }

    let mut header = scan::partial_header(&plan.scan, universe);
    header.settings.extend(project_settings(plan));
    let shard = header.shard;
    let writer = Writer::new(out.writer(), &header).context("writing the partial")?;
    let mut observer = PartialObserver {
        messages,
        writer,
        error: None,
    };
    let (report, trailer) = scan::scan_shard(&plan.scan, cancel, counters, &mut observer);
    let PartialObserver { writer, error, .. } = observer;
    if let Some(p) = progress {
        p.finish();
        messages.clear_bar();
    }
    if let Some(sig) = signals::received() {
        return Ok(interrupted(Some(out), sig, messages));
    }
    if trailer.files_discovered == 0 && report.stats.files_failed == 0 && !plan.allow_empty {
        out.discard();
        anyhow::bail!(
            "no test files found in {} (looked for {}); a CI job pointed at the wrong folder \
             would pass: if nothing to scan is expected, pass --allow-empty",
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
    let written = match error {
        Some(e) => Err(e),
        None => writer.finish(trailer).map(drop),
    };
    if let Err(e) = written {
        out.discard();
        return Err(anyhow::Error::new(e).context("writing the partial"));
    }
    out.commit()?;
    if plan.stats {
        stats::print(&report, messages);
    }
    messages.info(&format!(
        "shard {shard}: {} of {} files; merge every shard with pgtap-scan merge",
        report.stats.files_parsed + report.stats.files_failed + report.stats.files_skipped,
        report.stats.files_discovered
    ));
    // Read errors make the merge fail too; plan mismatches and gates are the merge's.
    if report.stats.files_failed > 0 || report.stats.inputs_not_scanned > 0 {
        return Ok(ExitCode::Error);
    }
    Ok(ExitCode::Success)
}

/// `pgtap-scan merge`: the partials named (files, or folders of `*.pgtap` files) into one
/// report.
fn merge_partials(
    plan: &Plan,
    universe: &str,
    observer: &mut dyn Observer,
) -> anyhow::Result<ScanReport> {
    let mut inputs = Vec::new();
    for f in plan::partial_files(&plan.scan.discovery.roots)? {
        let file = std::fs::File::open(&f)
            .with_context(|| format!("{}: cannot open the partial", f.display()))?;
        inputs.push(scan::MergeInput {
            name: f.display().to_string(),
            input: file,
        });
    }
    let mut expect = scan::partial_settings(&plan.scan, universe);
    expect.extend(project_settings(plan));
    scan::merge(inputs, &expect, &plan.scan, observer).map_err(anyhow::Error::msg)
}

/// How each project's test files are read (issue 17): with its search path, its own
/// helpers and role helpers first, then the root config's of other names, then (role
/// helpers) its universe's and those the test files define. `declared`: the root config's
/// role helpers; `universes`: each project's universe's.
fn project_reading(
    plan: &Plan,
    declared: &[pgtap_scan::config::RoleHelperDecl],
    universes: &[Vec<pgtap_scan::config::RoleHelperDecl>],
) -> Vec<scan::ProjectReading> {
    let root = &plan.scan.extract;
    let from_tests = &root.role_helpers
        [root.role_helpers.len() - root.role_helpers_from_tests.min(root.role_helpers.len())..];
    plan.projects
        .iter()
        .zip(universes)
        .map(|(p, universe)| {
            let mut extract = root.clone();
            extract.search_path = p.search_path.clone();
            extract.helpers = p.helpers.clone();
            for h in &root.helpers {
                if !extract
                    .helpers
                    .iter()
                    .any(|d| d.name.eq_ignore_ascii_case(&h.name))
                {
                    extract.helpers.push(h.clone());
                }
            }
            extract.role_helpers = p.role_helpers.clone();
            let add = |list: &[pgtap_scan::config::RoleHelperDecl], into: &mut Vec<_>| {
                let mut added = 0;
                for h in list {
                    if !into
                        .iter()
                        .any(|d: &pgtap_scan::config::RoleHelperDecl| d.name == h.name)
                    {
                        into.push(h.clone());
                        added += 1;
                    }
                }
                added
            };
            add(declared, &mut extract.role_helpers);
            add(universe, &mut extract.role_helpers);
            extract.role_helpers_from_tests = add(from_tests, &mut extract.role_helpers);
            scan::ProjectReading {
                roots: p.tests.clone(),
                extract,
            }
        })
        .collect()
}

/// The plan's projects as the library's splitter takes them.
fn project_specs(plan: &Plan) -> Vec<scan::projects::ProjectSpec> {
    plan.projects
        .iter()
        .map(|p| scan::projects::ProjectSpec {
            name: p.name.clone(),
            roots: p.tests.clone(),
            search_path: p.search_path.clone(),
        })
        .collect()
}

/// What a shard's partial says of projects (and a merge expects): where they were looked
/// for, and which were found (see `scan::projects::projects_setting`).
fn project_settings(plan: &Plan) -> Vec<(String, String)> {
    let specs = project_specs(plan);
    let universes: Vec<String> = plan
        .projects
        .iter()
        .map(|p| universe_digest(p.universe.as_ref()))
        .collect();
    let fingerprints: Vec<scan::projects::Fingerprint<'_>> = specs
        .iter()
        .zip(&plan.projects)
        .zip(&universes)
        .map(|((spec, p), universe)| scan::projects::Fingerprint {
            spec,
            schemas: &p.schemas,
            universe,
        })
        .collect();
    let paths: Vec<String> = plan
        .project_paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    vec![
        (
            plan::PROJECT_PATHS.to_string(),
            serde_json::to_string(&paths).unwrap_or_default(),
        ),
        (
            "projects".to_string(),
            scan::projects::projects_setting(&fingerprints),
        ),
    ]
}

/// What names the universe in a partial's header: `none`, `database`, or a digest of the
/// migration files (their paths and bytes, in path order). A path that cannot be read is
/// named as such in the digest: the merge, which reads the universe, says what is wrong.
fn universe_digest(spec: Option<&pgtap_scan::config::UniverseSpec>) -> String {
    use pgtap_scan::config::UniverseSpec;
    fn collect(p: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        match std::fs::read_dir(p) {
            Ok(entries) => {
                for e in entries.flatten() {
                    let e = e.path();
                    if e.is_dir() || e.extension().is_some_and(|x| x == "sql") {
                        collect(&e, out);
                    }
                }
            }
            Err(_) => out.push(p.to_path_buf()),
        }
    }
    match spec {
        None => "none".to_string(),
        Some(UniverseSpec::Database { .. }) => "database".to_string(),
        Some(UniverseSpec::Migrations(paths)) => {
            let mut files = Vec::new();
            for p in paths {
                collect(p, &mut files);
            }
            files.sort();
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            for f in &files {
                h.update(f.display().to_string().as_bytes());
                h.update(b"\0");
                match std::fs::read(f) {
                    Ok(bytes) => {
                        h.update(&(bytes.len() as u64).to_le_bytes());
                        h.update(&bytes);
                    }
                    Err(e) => h.update(format!("unreadable {e}").as_bytes()),
                }
            }
            format!("migrations:{:016x}", h.digest())
        }
    }
}

/// A signal arrived: the partial report is dropped, the exit code is 128 + the signal.
fn interrupted(out: Option<output::Output>, sig: i32, messages: &Messages) -> ExitCode {
    if let Some(out) = out {
        out.discard();
    }
    let name = signal_hook::low_level::signal_name(sig).unwrap_or("a signal");
    messages.error(&format!("interrupted by {name}; no report written"));
    ExitCode::Interrupted(sig)
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

/// A universe as read: the objects, where from, the statements skipped.
type Loaded = (
    pgtap_scan::universe::Universe,
    scan::report::UniverseSource,
    Vec<pgtap_scan::universe::SkippedStatement>,
);

/// Reads the universe; statements the DDL reader skips are warnings.
fn load_universe(
    spec: &pgtap_scan::config::UniverseSpec,
    plan: &Plan,
    messages: &Messages,
) -> anyhow::Result<Loaded> {
    load_universe_with(
        spec,
        plan,
        &plan.scan.extract.search_path,
        &plan.schemas,
        messages,
    )
}

/// [`load_universe`] with a project's search path and schemas.
fn load_universe_with(
    spec: &pgtap_scan::config::UniverseSpec,
    plan: &Plan,
    search_path: &[String],
    schemas: &[String],
    messages: &Messages,
) -> anyhow::Result<Loaded> {
    use pgtap_scan::config::UniverseSpec;
    use pgtap_scan::scan::report::UniverseSource;
    match spec {
        UniverseSpec::Migrations(paths) => {
            let base = if plan.platform {
                supabase::platform_universe(search_path)
            } else {
                pgtap_scan::universe::Universe::new()
            };
            let (universe, skipped) =
                pgtap_scan::universe::load_migrations_over(base, paths, search_path)
                    .context("reading the schema")?;
            for s in &skipped {
                messages.warning(&format!(
                    "{}:{}: schema statement skipped: {}",
                    s.file, s.line, s.reason
                ));
            }
            Ok((universe, UniverseSource::Migrations, skipped))
        }
        UniverseSpec::Database { url, source } => {
            let defaults = pgtap_scan::universe::DatabaseOptions::default();
            let opts = pgtap_scan::universe::DatabaseOptions {
                url: url.clone(),
                schemas: schemas.to_vec(),
                search_path: search_path.to_vec(),
                url_source: source.clone(),
                trust_config_url: plan.trust_config_database_url,
                query_timeout: plan.database_timeout.unwrap_or(defaults.query_timeout),
                ..defaults
            };
            let universe =
                pgtap_scan::universe::load_database(&opts).map_err(|e| match source {
                    pgtap_scan::universe::UrlSource::Flag => anyhow::anyhow!("--database-url: {e}"),
                    pgtap_scan::universe::UrlSource::ConfigFile(p) => {
                        anyhow::anyhow!("{}: database-url: {e}", p.display())
                    }
                })?;
            if universe.is_empty() {
                anyhow::bail!(
                    "the database holds no object{}: nothing to measure coverage against",
                    if schemas.is_empty() {
                        String::new()
                    } else {
                        format!(" in --schemas {}", schemas.join(","))
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

/// A file that could not be read makes the report incomplete; a plan mismatch under
/// `--strict` is a failed gate (said here).
fn exit_code(report: &ScanReport, strict: bool, messages: &Messages) -> ExitCode {
    if report.stats.files_failed > 0 || report.stats.inputs_not_scanned > 0 {
        return ExitCode::Error;
    }
    if strict && !report.summary.plans.mismatches.is_empty() {
        messages.error(&format!(
            "{} (--strict)",
            report::count(
                report.summary.plans.mismatches.len() as u64,
                "plan mismatch",
                "plan mismatches"
            )
        ));
        return ExitCode::GateFailed;
    }
    ExitCode::Success
}
