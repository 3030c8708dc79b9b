//! The one owner of the scan's results while files arrive: the summary's counts, the
//! messages (the first [`MAX_MESSAGES`] by place, whatever order files arrive in), the
//! plan verdicts, the coverage database, and the switch to streaming mode.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use pipeline::{Event, Progress};

use super::config::{ScanConfig, StreamingMode, STREAMING_AUTO_THRESHOLD};
use super::report::Observer;
use super::report::{FileReport, Message, PlanMismatch, Severity, Summary, MAX_MESSAGES};
use crate::coverage;
use crate::model::{FileResult, PlanDecl, ResolutionKind};

mod undo;

/// The one owner of the scan's results.
pub(super) struct Aggregator<'o> {
    observer: &'o mut dyn Observer,
    summary: Summary,
    files: Vec<FileReport>,
    streaming: bool,
    auto: bool,
    progress: Arc<Progress>,
    /// Files with `plan(N)` and includes: their plans are checked once every file is in.
    runners: crate::includes::Runners,
    coverage: coverage::Builder,
    /// The first [`MAX_MESSAGES`] by place so far; the greatest on top, to be replaced.
    messages: std::collections::BinaryHeap<ByPlace>,
    messages_omitted: u64,
    /// `summary.by_function` and `by_kind` while files arrive: hashed catalog names (a
    /// borrowed `Name` costs nothing to keep), turned into the sorted maps at the end.
    by_function: ahash::AHashMap<crate::model::Name, u64>,
    by_kind: ahash::AHashMap<crate::model::Name, u64>,
    /// For a shard's partial: the messages not tied to a file's result, which a merge
    /// cannot derive again from the files (`None`: not kept).
    outside: Option<Vec<Message>>,
    /// The messages not tied to a file's result, counted and kept only by [`Self::settle`]:
    /// until then the summary and the kept messages are the files' alone (what a run
    /// snapshot holds, see `super::snapshot`).
    later: Vec<Message>,
    /// Once a file's kept message was taken out while others were not kept: a message at or
    /// below every one not kept (see `crate::coverage`'s `undo` for the rule).
    message_floor: Option<ByPlace>,
    /// Why a file could not be taken out exactly (see [`Self::unfold`]).
    broken: Option<String>,
    /// With `--cache`: which files the state holds, for the run snapshot.
    pub(super) tracker: Option<super::snapshot::Tracker>,
    /// The parse workers fold the files' coverage ([`super::partials`]): [`Self::fold`]
    /// leaves it out and [`Self::absorb`] merges their partials.
    folded_in_workers: bool,
}

/// What the aggregator holds once every file is in: the report's parts but `stats`.
pub(super) struct Aggregated {
    pub summary: Summary,
    /// Sorted by path; `None` in streaming mode.
    pub files: Option<Vec<FileReport>>,
    pub streaming: bool,
    pub coverage: coverage::Database,
    /// What the database cost and spilled.
    pub database: coverage::DatabaseMemory,
    /// Sorted by place.
    pub messages: Vec<Message>,
    pub messages_omitted: u64,
}

/// Messages kept while files arrive: more than [`MAX_MESSAGES`], so that a `--cache` rescan
/// that takes a listed one out still knows the next (see `undo`).
const MESSAGE_RESERVE: usize = 2 * MAX_MESSAGES;

/// A message ordered by path, line, severity and text: the order reports list them in.
struct ByPlace(Message);

impl ByPlace {
    fn key(&self) -> (&Option<String>, Option<u32>, Severity, &str) {
        let m = &self.0;
        (&m.path, m.line, m.severity, &m.text)
    }
}

impl PartialEq for ByPlace {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for ByPlace {}
impl PartialOrd for ByPlace {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByPlace {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl<'o> Aggregator<'o> {
    pub(super) fn new(
        cfg: &ScanConfig,
        observer: &'o mut dyn Observer,
        progress: Arc<Progress>,
    ) -> Self {
        Aggregator {
            observer,
            summary: Summary::default(),
            files: Vec::new(),
            streaming: cfg.streaming == StreamingMode::Always,
            auto: cfg.streaming == StreamingMode::Auto,
            progress,
            runners: crate::includes::Runners::new(crate::includes::RunnersConfig {
                parent: cfg.spill_dir.clone().unwrap_or_else(std::env::temp_dir),
                threshold: cfg.max_memory_bytes / crate::includes::RUNNERS_SHARE,
            }),
            coverage: {
                let mut b = coverage::Builder::new(cfg.streaming == StreamingMode::Always);
                b.behaviour.read = cfg.extract.references;
                b.behaviour.search_path = cfg.extract.search_path.clone();
                b.spill_to(coverage::SpillConfig {
                    parent: cfg.spill_dir.clone().unwrap_or_else(std::env::temp_dir),
                    threshold: cfg.max_memory_bytes / super::config::DATABASE_SHARE,
                    keep_objects: cfg.objects_on_disk,
                });
                b
            },
            messages: std::collections::BinaryHeap::new(),
            messages_omitted: 0,
            by_function: ahash::AHashMap::default(),
            by_kind: ahash::AHashMap::default(),
            outside: None,
            later: Vec::new(),
            message_floor: None,
            broken: None,
            tracker: None,
            folded_in_workers: false,
        }
    }

    /// An empty coverage builder for a parse worker's partial, when the database can merge
    /// partials (not when files may be taken out again, as `--cache` does): from then on
    /// the files' coverage is not folded here but merged from the partials.
    pub(super) fn fold_in_workers(&mut self) -> Option<coverage::Builder> {
        if !self.coverage.mergeable() {
            return None;
        }
        self.folded_in_workers = true;
        Some(self.coverage.partial())
    }

    /// Merges a parse worker's partial (see [`Self::fold_in_workers`]).
    pub(super) fn absorb(&mut self, partial: coverage::Builder) {
        self.coverage.merge(partial);
    }

    /// Once every file is in: a coverage database that spilled writes what it still holds,
    /// so the plan checks through includes that follow get its share of the budget.
    pub(super) fn spill_database(&mut self) {
        self.coverage.spill_held();
    }

    /// Keeps reserves beyond what streaming mode lists (see `coverage::Builder::keep_reserves`).
    pub(super) fn keep_reserves(&mut self) {
        self.coverage.keep_reserves();
    }

    /// Keeps the report's objects rendered in the cache folder `dir` (see
    /// `coverage::Builder::render_kept`); whether the state changed.
    pub(super) fn render_kept(&mut self, dir: &std::path::Path) -> std::io::Result<bool> {
        self.coverage.render_kept(dir)
    }

    /// Charges the coverage database's memory, and the runners', to `budget` from now on.
    pub(super) fn charge_database_to(&mut self, budget: Arc<pipeline::MemoryBudget>) {
        self.runners.charge_to(&budget);
        self.coverage.charge_to(budget);
    }

    /// Keeps the messages not tied to a file's result from now on (see [`Self::take_outside`]).
    pub(super) fn keep_outside(&mut self) {
        self.outside = Some(Vec::new());
    }

    /// The messages kept by [`Self::keep_outside`].
    pub(super) fn take_outside(&mut self) -> Vec<Message> {
        self.outside.take().unwrap_or_default()
    }

    /// A message not tied to a file's result: discovery, a file that cannot be read, the
    /// settings. A shard's partial keeps these; the rest a merge derives from the files.
    pub(super) fn outside_message(
        &mut self,
        severity: Severity,
        path: Option<String>,
        line: Option<u32>,
        text: String,
    ) {
        let m = Message {
            severity,
            path,
            line,
            text,
        };
        if let Some(kept) = &mut self.outside {
            kept.push(m.clone());
        }
        self.observer.message(&m);
        self.later.push(m);
    }

    /// Counts and keeps the messages not tied to a file's result (see `later`).
    pub(super) fn settle(&mut self) {
        for m in std::mem::take(&mut self.later) {
            self.keep(m);
        }
    }

    pub(super) fn message(
        &mut self,
        severity: Severity,
        path: Option<String>,
        line: Option<u32>,
        text: String,
    ) {
        let m = Message {
            severity,
            path,
            line,
            text,
        };
        self.observer.message(&m);
        self.keep(m);
    }

    fn keep(&mut self, m: Message) {
        match m.severity {
            Severity::Error => self.summary.errors += 1,
            Severity::Warning => self.summary.warnings += 1,
        }
        // Kept by place, not by arrival, so the report does not depend on thread timing.
        let m = ByPlace(m);
        // With some not kept (files were taken out), only below every one not kept (the
        // floor of this run's taking out, else the greatest kept).
        let above = self.messages_omitted > 0
            && match &self.message_floor {
                Some(floor) => m > *floor,
                None => self.messages.peek().is_some_and(|g| m > *g),
            };
        if self.messages.len() < MESSAGE_RESERVE && !above {
            self.messages.push(m);
            return;
        }
        if self.messages.len() < MESSAGE_RESERVE {
            // Above the greatest kept while some are not kept: not kept either.
            self.messages_omitted += 1;
            if let Some(floor) = &mut self.message_floor {
                if m < *floor {
                    *floor = m;
                }
            }
            return;
        }
        self.messages_omitted += 1;
        let out = match self.messages.peek_mut() {
            Some(mut last) if m < *last => std::mem::replace(&mut *last, m),
            _ => m,
        };
        if let Some(floor) = &mut self.message_floor {
            if out < *floor {
                *floor = out;
            }
        }
    }

    pub(super) fn event(&mut self, event: Event<FileResult>) {
        match event {
            Event::Warning { path, message } => {
                self.outside_message(
                    Severity::Warning,
                    path.map(|p| p.display().to_string()),
                    None,
                    message,
                );
            }
            Event::Skipped { path, reason } => {
                self.outside_message(
                    Severity::Warning,
                    Some(path.display().to_string()),
                    None,
                    reason,
                );
            }
            Event::Unscanned { path, message } => {
                self.outside_message(
                    Severity::Error,
                    path.map(|p| p.display().to_string()),
                    None,
                    message,
                );
            }
            Event::File(mut outcome) => {
                let path = outcome.path.clone();
                let previous = outcome.previous.take();
                let (unchanged, hash, stamp) =
                    (outcome.unchanged, outcome.content_hash, outcome.stamp);
                let result = outcome.into_result();
                if result.is_ok() && !self.track(&path, unchanged, hash, stamp, previous) {
                    return;
                }
                match result {
                    Ok(result) => self.fold(path, result),
                    Err(e) => self.outside_message(
                        Severity::Error,
                        Some(path.display().to_string()),
                        None,
                        format!("cannot read: {e}"),
                    ),
                }
            }
        }
        if self.auto
            && !self.streaming
            && self
                .progress
                .discovered
                .load(std::sync::atomic::Ordering::Relaxed)
                > STREAMING_AUTO_THRESHOLD
        {
            self.streaming = true;
            self.coverage.set_streaming(true);
            let mut held = std::mem::take(&mut self.files);
            held.sort_unstable_by(|a, b| a.path.cmp(&b.path));
            for f in &held {
                self.observer.file(f);
            }
        }
    }

    /// Records a file with a result in the tracker (when there is one); takes a changed
    /// file's old result out. Whether the file's result is to be folded.
    fn track(
        &mut self,
        path: &std::path::Path,
        unchanged: bool,
        hash: Option<u64>,
        stamp: Option<pipeline::FileStamp>,
        previous: Option<FileResult>,
    ) -> bool {
        use super::snapshot::Met;
        let Some(mut t) = self.tracker.take() else {
            return true;
        };
        let fold = match (path.to_str(), hash) {
            (Some(key), Some(content_hash)) => {
                let now = pipeline::Folded {
                    content_hash,
                    stamp,
                };
                match t.meet(key, now, unchanged) {
                    Met::Twice => {
                        t.broken = Some(format!("{key} was met twice"));
                        t.unwritable = t.broken.clone();
                        !unchanged
                    }
                    Met::Unchanged => {
                        t.unchanged += 1;
                        false
                    }
                    Met::Changed => {
                        match previous {
                            Some(previous) => self.unfold(key, &previous),
                            None => t.broken = Some(format!("{key}: its old result is gone")),
                        }
                        true
                    }
                    Met::New => true,
                }
            }
            _ => {
                t.unwritable = Some(format!("{}: no content hash", path.display()));
                true
            }
        };
        self.tracker = Some(t);
        fold
    }

    pub(super) fn fold(&mut self, path: PathBuf, result: FileResult) {
        let shown = path.display().to_string();
        let s = &mut self.summary;
        s.files += 1;
        s.tests += result.tests;
        if result.assertions.is_empty() {
            s.files_without_assertions += 1;
        }
        for a in &result.assertions {
            s.assertions += 1;
            bump(&mut self.by_function, &a.function);
            bump(
                &mut self.by_kind,
                &crate::model::Name::Borrowed(a.kind_name()),
            );
            s.dynamic += u64::from(a.dynamic);
            s.ambiguous += u64::from(a.resolution == ResolutionKind::Ambiguous);
            s.rejected += u64::from(a.resolution == ResolutionKind::Rejected);
            s.commented += u64::from(a.commented);
        }
        if !self.folded_in_workers {
            self.coverage.add_file(&shown, &result);
        }
        for d in &result.errors {
            self.message(
                Severity::Error,
                Some(shown.clone()),
                Some(d.line),
                d.message.clone(),
            );
        }
        for d in &result.warnings {
            self.message(
                Severity::Warning,
                Some(shown.clone()),
                Some(d.line),
                d.message.clone(),
            );
        }
        let exact = crate::includes::exact_count(&result);
        if let Some(PlanDecl::Fixed { count, line }) = result.plan {
            self.summary.plans.planned += 1;
            if !result.includes.is_empty() {
                self.runners.push(crate::includes::Runner {
                    path: shown.clone(),
                    plan_line: line,
                    planned: count,
                    tests: result.tests,
                    exact,
                    includes: result.includes.clone(),
                });
            } else if exact {
                self.plan_verdict_with(
                    shown.clone(),
                    line,
                    count,
                    result.tests,
                    0,
                    &result.select_calls,
                );
            }
        }
        let report = FileReport {
            path: shown,
            plan: match result.plan {
                Some(PlanDecl::Fixed { count, .. }) => Some(count),
                _ => None,
            },
            result,
        };
        if self.streaming {
            self.observer.file(&report);
        } else {
            self.files.push(report);
        }
    }

    fn plan_verdict(
        &mut self,
        path: String,
        line: u32,
        planned: u64,
        found: u64,
        from_includes: u64,
    ) {
        self.plan_verdict_with(path, line, planned, found, from_includes, &[]);
    }

    /// A plan verdict; `calls` are the file's top-level calls of unknown functions, named
    /// when the plan is short by exactly the calls of some of them (they may emit TAP).
    fn plan_verdict_with(
        &mut self,
        path: String,
        line: u32,
        planned: u64,
        found: u64,
        from_includes: u64,
        calls: &[(String, u32)],
    ) {
        self.summary.plans.checked += 1;
        if planned == found {
            self.summary.plans.agree += 1;
            return;
        }
        let mut text = if from_includes > 0 {
            format!("plan({planned}) but {found} tests found ({} in this file, {from_includes} in included files)", found - from_includes)
        } else {
            format!("plan({planned}) but {found} tests found")
        };
        if let Some(hint) = tap_hint(planned.saturating_sub(found), calls) {
            text.push_str(&hint);
        }
        self.message(Severity::Warning, Some(path.clone()), Some(line), text);
        self.summary.plans.mismatches.push(PlanMismatch {
            path,
            line,
            planned,
            found,
            from_includes,
        });
    }

    /// Records what the include check found: a verdict per checkable plan, a warning per
    /// include that could not be followed.
    pub(super) fn record_includes(&mut self, checked: crate::includes::Outcome) {
        for w in checked.warnings {
            self.message(Severity::Warning, Some(w.path), Some(w.line), w.text);
        }
        for v in checked.verdicts {
            self.plan_verdict(v.path, v.line, v.planned, v.found, v.from_includes);
        }
    }

    /// Forgets the files whose plans wait for their includes (a merge of shards has the
    /// shards' verdicts).
    pub(super) fn forget_runners(&mut self) {
        self.runners.clear();
    }

    /// The files whose plans wait for their includes (see [`crate::includes::check`]).
    pub(super) fn take_runners(&mut self) -> crate::includes::Runners {
        std::mem::take(&mut self.runners)
    }

    /// Everything in sorted form, once every file and every include verdict is in.
    pub(super) fn finish(mut self) -> Aggregated {
        self.settle();
        let Aggregator {
            mut summary,
            files,
            streaming,
            coverage,
            messages,
            messages_omitted,
            by_function,
            by_kind,
            ..
        } = self;
        summary.by_function = by_function
            .into_iter()
            .map(|(k, n)| (k.into_owned(), n))
            .collect();
        summary.by_kind = by_kind
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect();
        let mut messages: Vec<Message> = messages
            .into_sorted_vec()
            .into_iter()
            .map(|m| m.0)
            .collect();
        // The reserve beyond what is listed counts as omitted.
        let messages_omitted =
            messages_omitted + messages.len().saturating_sub(MAX_MESSAGES) as u64;
        messages.truncate(MAX_MESSAGES);
        let (coverage, database) = coverage.finish_measured();
        let files = if streaming {
            None
        } else {
            let mut files = files;
            files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
            Some(files)
        };
        summary.plans.mismatches.sort_by(|a, b| a.path.cmp(&b.path));
        Aggregated {
            summary,
            files,
            streaming,
            coverage,
            database,
            messages,
            messages_omitted,
        }
    }
}

/// "; short by N: ... may emit TAP" when some unknown functions are called, together,
/// exactly as many times as results are missing (most likely first: names that read like
/// assertions). `None` when the plan is not short or nothing fits.
fn tap_hint(short: u64, calls: &[(String, u32)]) -> Option<String> {
    if short == 0 || calls.is_empty() {
        return None;
    }
    let mut by_name: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for (name, line) in calls {
        by_name.entry(name.as_str()).or_default().push(*line);
    }
    let mut fits: Vec<(&str, &Vec<u32>)> = by_name
        .iter()
        .filter(|(_, lines)| lines.len() as u64 == short)
        .map(|(n, l)| (*n, l))
        .collect();
    if fits.is_empty() {
        return None;
    }
    let assertive = |n: &str| {
        let n = n.rsplit('.').next().unwrap_or(n).to_ascii_lowercase();
        [
            "assert", "check", "test", "expect", "verify", "is_", "has_", "rls",
        ]
        .iter()
        .any(|w| n.contains(w))
    };
    fits.sort_by_key(|(n, _)| !assertive(n));
    let shown: Vec<String> = fits
        .iter()
        .take(5)
        .map(|(n, lines)| {
            let lines: Vec<String> = lines.iter().map(u32::to_string).collect();
            format!("{n} (line {})", lines.join(", "))
        })
        .collect();
    let first = fits[0].0;
    Some(format!(
        "; {short} short, exactly the calls of {}{}: if it emits TAP, declare it in \
         .pgtap-scan.toml as [[helper]] name = \"{first}\" (with kind and args) to count it",
        shown.join(" or "),
        if fits.len() > 5 { " or others" } else { "" }
    ))
}

/// Counts one more of `key` without allocating when the key is already there (the
/// aggregator is the one serial stage: it must not allocate per assertion).
fn bump(map: &mut ahash::AHashMap<crate::model::Name, u64>, key: &crate::model::Name) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.clone(), 1);
        }
    }
}
