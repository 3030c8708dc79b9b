//! Monorepos (issue 17): one scan over many projects. Each file the scan reads is
//! attributed to the innermost project whose test roots hold it ([`Splitter`]), folded into
//! that project's own results (the same aggregation as the whole scan's, without per-file
//! detail), and held against that project's universe; the whole report's schema coverage
//! is then the sum of the projects' ([`total`]), so every format reads a total as it
//! reads one project.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::aggregate::Aggregator;
use super::config::{ScanConfig, StreamingMode};
use super::report::{
    Coverage, Database, FileReport, Message, NoObserver, ProjectReport, Ratio, SchemaCoverage,
    Severity,
};

/// A project as the scan sees it: a name and the folders (or files) its tests are in.
#[derive(Debug, Clone)]
pub struct ProjectSpec {
    /// Unique among the scan's projects.
    pub name: String,
    /// Test roots, as the scan's discovery roots name them (joined paths compare by
    /// component).
    pub roots: Vec<PathBuf>,
    /// The search path unqualified names resolve in for this project's references.
    pub search_path: Vec<String>,
}

/// One project's results while files arrive.
pub struct ProjectScan {
    /// The project's name.
    pub name: String,
    /// Its test roots, `/`-separated.
    pub roots: Vec<String>,
    /// Files read, assertions found, TAP results counted, errors and warnings.
    pub summary: super::report::Summary,
    /// What its files assert, per object (locations trimmed as in a streaming scan).
    pub coverage: Database,
}

/// Which project owns a path: the innermost whose test roots hold it. One hash lookup per
/// folder above the path (not one compare per root), so a scan of many projects pays no
/// more per file than a scan of one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Owners {
    /// Each root (by component, `.` as the empty path) and its project; the first project
    /// to name a root keeps it.
    roots: std::collections::HashMap<PathBuf, usize>,
}

impl Owners {
    /// Owners of `roots`: (project index, its test roots).
    pub(crate) fn new<'a>(roots: impl IntoIterator<Item = (usize, &'a [PathBuf])>) -> Owners {
        let mut map = std::collections::HashMap::new();
        for (i, rs) in roots {
            for r in rs {
                map.entry(normal(r)).or_insert(i);
            }
        }
        Owners { roots: map }
    }

    /// The project owning `path`, by index.
    pub(crate) fn of(&self, path: &Path) -> Option<usize> {
        if self.roots.is_empty() {
            return None;
        }
        let p = normal(path);
        p.ancestors().find_map(|a| self.roots.get(a).copied())
    }
}

/// The extractors of a scan: one for the files of no project (the scan's own options) and
/// one per distinct set of project options ([`ScanConfig::project_reading`]); each file
/// is read by its owning project's.
pub(crate) struct Readers {
    owners: Owners,
    /// `[0]`: the scan's own; then one per distinct set of options.
    extractors: Vec<crate::extract::Extractor>,
    /// Each project's extractor, by the index [`Owners`] gives.
    of_project: Vec<usize>,
}

impl Readers {
    /// Extractors for `cfg`, each with `limits`.
    pub(crate) fn new(cfg: &ScanConfig, limits: crate::lexer::Limits) -> Readers {
        let make = |o: &crate::config::ExtractOptions| {
            crate::extract::Extractor::new(o.clone()).with_limits(limits)
        };
        let mut extractors = vec![make(&cfg.extract)];
        let mut distinct: Vec<&crate::config::ExtractOptions> = vec![&cfg.extract];
        let mut of_project = Vec::with_capacity(cfg.project_reading.len());
        for p in &cfg.project_reading {
            let i = match distinct.iter().position(|o| **o == p.extract) {
                Some(i) => i,
                None => {
                    distinct.push(&p.extract);
                    extractors.push(make(&p.extract));
                    distinct.len() - 1
                }
            };
            of_project.push(i);
        }
        let owners = Owners::new(
            cfg.project_reading
                .iter()
                .enumerate()
                .filter(|(i, _)| of_project[*i] != 0)
                .map(|(i, p)| (i, p.roots.as_slice())),
        );
        Readers {
            owners,
            extractors,
            of_project,
        }
    }

    /// The extractor for the file at `path`.
    pub(crate) fn for_path(&self, path: &Path) -> &crate::extract::Extractor {
        let i = self.owners.of(path).map_or(0, |p| self.of_project[p]);
        &self.extractors[i]
    }
}

/// Attributes files to projects and folds each into its project's results.
pub struct Splitter {
    owners: Owners,
    /// Each project's test roots, `/`-separated, sorted (for its report section).
    own_roots: Vec<Vec<String>>,
    names: Vec<String>,
    aggregators: Vec<Aggregator<'static>>,
    /// Files under no project's roots.
    unowned: u64,
    /// Includes that reach into another project's tests, as warnings.
    crossings: Vec<Message>,
}

/// The files of no project: how many, and the first few paths.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Unowned {
    /// Files read that no project's test roots hold.
    pub files: u64,
}

impl Splitter {
    /// A splitter for `projects`; `cfg` is the whole scan's (references, streaming).
    pub fn new(projects: &[ProjectSpec], cfg: &ScanConfig) -> Splitter {
        let owners = Owners::new(
            projects
                .iter()
                .enumerate()
                .map(|(i, p)| (i, p.roots.as_slice())),
        );
        // Without the projects' reading options: each aggregator would copy every
        // project's (a thousand projects: a million copies).
        let base = ScanConfig {
            project_reading: Vec::new(),
            ..cfg.clone()
        };
        let aggregators = projects
            .iter()
            .map(|p| {
                let mut pcfg = base.clone();
                // No per-file detail per project: the whole report keeps it (or streams it).
                pcfg.streaming = StreamingMode::Always;
                pcfg.extract.search_path = p.search_path.clone();
                // A zero-sized observer: leaking it allocates nothing.
                let observer: &'static mut NoObserver = Box::leak(Box::new(NoObserver));
                Aggregator::new(&pcfg, observer, Arc::new(pipeline::Progress::default()))
            })
            .collect();
        let own_roots = projects
            .iter()
            .map(|p| {
                let mut own: Vec<String> = p.roots.iter().map(|r| slashed(&normal(r))).collect();
                own.sort();
                own
            })
            .collect();
        Splitter {
            owners,
            own_roots,
            names: projects.iter().map(|p| p.name.clone()).collect(),
            aggregators,
            unowned: 0,
            crossings: Vec::new(),
        }
    }

    /// The project that owns `path` (the innermost whose roots hold it), by name.
    pub fn owner(&self, path: &str) -> Option<&str> {
        self.index(path).map(|i| self.names[i].as_str())
    }

    fn index(&self, path: &str) -> Option<usize> {
        self.owners.of(Path::new(path))
    }

    /// Folds one file into its project's results (or counts it as no project's). An
    /// include of the file that reaches into another project's tests is a warning (see
    /// [`Splitter::crossings`]).
    pub fn file(&mut self, f: &FileReport) {
        match self.index(&f.path) {
            Some(i) => {
                self.cross_check(i, f);
                self.aggregators[i].fold(PathBuf::from(&f.path), f.result.clone())
            }
            None => self.unowned += 1,
        }
    }

    /// Includes stay inside their project: one whose file is under another project's test
    /// roots is said (the included file's assertions are its own project's, as each file's
    /// are, never the including one's). An include of a file of no project (a shared
    /// helper) is fine.
    fn cross_check(&mut self, own: usize, f: &FileReport) {
        let result = &f.result;
        let dir = Path::new(&f.path).parent().unwrap_or(Path::new(""));
        for inc in &result.includes {
            let target = if inc.relative {
                crate::includes::normalize(&dir.join(&inc.path))
            } else {
                // psql's `\i` is relative to where psql runs: the including file's folder
                // or one above it, else the current folder (as the plan check reads it).
                dir.ancestors()
                    .map(|a| crate::includes::normalize(&a.join(&inc.path)))
                    .find(|c| c.is_file())
                    .unwrap_or_else(|| crate::includes::normalize(Path::new(&inc.path)))
            };
            let Some(other) = self.index(&target.display().to_string()) else {
                continue;
            };
            if other != own {
                self.crossings.push(Message {
                    severity: Severity::Warning,
                    path: Some(f.path.clone()),
                    line: Some(inc.line),
                    text: format!(
                        "the include of {} reaches into project {}'s tests: includes stay \
                         inside their project, so its assertions count for {}, not {} (the \
                         plan check still counts them, as psql runs them)",
                        inc.path, self.names[other], self.names[other], self.names[own]
                    ),
                });
            }
        }
    }

    /// The includes seen so far that reach into another project's tests, as warnings
    /// naming the including file and line (for the report's messages:
    /// [`super::ScanReport::with_messages`]); taken (each is said once).
    pub fn crossings(&mut self) -> Vec<Message> {
        let mut c = std::mem::take(&mut self.crossings);
        c.sort_by(|a, b| (&a.path, a.line, &a.text).cmp(&(&b.path, b.line, &b.text)));
        c
    }

    /// Every project's results, in the order given, and the files of no project.
    pub fn finish(self) -> (Vec<ProjectScan>, Unowned) {
        let Splitter {
            names,
            aggregators,
            unowned,
            own_roots,
            owners: _,
            crossings: _,
        } = self;
        let scans = names
            .into_iter()
            .zip(aggregators)
            .zip(own_roots)
            .map(|((name, agg), roots)| {
                let done = agg.finish();
                ProjectScan {
                    name,
                    roots,
                    summary: done.summary,
                    coverage: done.coverage,
                }
            })
            .collect();
        (scans, Unowned { files: unowned })
    }
}

/// `./a/b` and `a/b/` as `a/b`: discovery joins roots as given, so compare by component.
fn normal(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

fn slashed(p: &Path) -> String {
    let s = p.display().to_string().replace('\\', "/");
    if s.is_empty() {
        ".".to_string()
    } else {
        s
    }
}

impl ProjectScan {
    /// The project's report section; `schema` is its coverage against its universe, if it
    /// has one.
    pub fn into_report(self, schema: Option<SchemaCoverage>) -> ProjectReport {
        ProjectReport {
            name: self.name,
            roots: self.roots,
            files: self.summary.files,
            assertions: self.summary.assertions,
            tests: self.summary.tests,
            errors: self.summary.errors,
            warnings: self.summary.warnings,
            schema,
            gates_failed: Vec::new(),
            tested_objects: Vec::new(),
        }
    }
}

impl ProjectScan {
    /// The project's report section, held against its universe (as
    /// [`super::ScanReport::with_universe_as`] holds a whole scan).
    pub fn into_report_against(
        self,
        universe: &crate::universe::Universe,
        source: super::report::UniverseSource,
        schemas: &[String],
        mode: super::report::CoverageMode,
    ) -> ProjectReport {
        let schema = crate::gaps::compute(&self.coverage, universe, source, schemas, mode);
        self.into_report(Some(schema))
    }
}

/// The whole scan's schema coverage as the sum of its projects': objects, gaps, stale tests
/// and the universe's entries side by side (keys may repeat across projects: each has its
/// own universe), ratios summed per kind. The behavioural matrix stays per project.
pub fn total(projects: &[ProjectReport]) -> Option<SchemaCoverage> {
    let mut with: Vec<&SchemaCoverage> =
        projects.iter().filter_map(|p| p.schema.as_ref()).collect();
    let first = with.first()?;
    let mut total = SchemaCoverage {
        universe_source: first.universe_source,
        coverage: Coverage::default(),
        gaps: Vec::new(),
        stale: Vec::new(),
        ambiguous_decided: 0,
        ambiguous_undecided: 0,
        objects: Vec::new(),
        coverage_mode: first.coverage_mode,
        behaviour: None,
        ignored: Vec::new(),
    };
    let mut overall = (0u64, 0u64);
    let mut by_kind: std::collections::BTreeMap<_, (u64, u64)> = Default::default();
    for s in with.drain(..) {
        overall.0 += s.coverage.overall.tested;
        overall.1 += s.coverage.overall.objects;
        for (k, r) in &s.coverage.by_kind {
            let e = by_kind.entry(*k).or_default();
            e.0 += r.tested;
            e.1 += r.objects;
        }
        for k in &s.coverage.excluded_from_overall {
            if !total.coverage.excluded_from_overall.contains(k) {
                total.coverage.excluded_from_overall.push(*k);
            }
        }
        total.gaps.extend(s.gaps.iter().cloned());
        total.stale.extend(s.stale.iter().cloned());
        total.objects.extend(s.objects.iter().cloned());
        total.ignored.extend(s.ignored.iter().cloned());
        total.ambiguous_decided += s.ambiguous_decided;
        total.ambiguous_undecided += s.ambiguous_undecided;
    }
    let ratio = |(tested, objects): (u64, u64)| Ratio {
        objects,
        tested,
        percent: crate::gaps::percent(tested, objects),
    };
    total.coverage.overall = ratio(overall);
    total.coverage.by_kind = by_kind.into_iter().map(|(k, v)| (k, ratio(v))).collect();
    total.coverage.excluded_from_overall.sort();
    // Most important first across projects too, as one scan ranks its gaps (a key two
    // projects share stays in project order: the sort is stable).
    total.gaps.sort_by(|a, b| {
        (a.kind.importance(), a.kind, &a.key).cmp(&(b.kind.importance(), b.kind, &b.key))
    });
    Some(total)
}

/// What identifies a project in a shard's partial: its spec, the PostgreSQL schemas it
/// counts, and what names its universe (as the partial's `universe` setting does).
pub struct Fingerprint<'a> {
    /// Its name, test roots and search path.
    pub spec: &'a ProjectSpec,
    /// `schemas`: the PostgreSQL schemas counted.
    pub schemas: &'a [String],
    /// `none`, `database`, or a digest of its migrations.
    pub universe: &'a str,
}

/// The `projects` setting of a shard's partial (issue 17): each project's name and a digest
/// of what attributes files to it and measures it (its test roots, search path, schemas
/// and universe), in the scan's order; `none` for a scan without projects. A merge
/// resolves the projects again (from the same config and the paths the partial records)
/// and refuses partials whose setting differs from its own.
pub fn projects_setting(projects: &[Fingerprint<'_>]) -> String {
    if projects.is_empty() {
        return "none".to_string();
    }
    let list: Vec<(&str, String)> = projects
        .iter()
        .map(|p| {
            let roots: Vec<String> = p.spec.roots.iter().map(|r| slashed(&normal(r))).collect();
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            for part in [
                serde_json::to_string(&roots),
                serde_json::to_string(&p.spec.search_path),
                serde_json::to_string(p.schemas),
            ] {
                h.update(part.unwrap_or_default().as_bytes());
                h.update(b"\0");
            }
            h.update(p.universe.as_bytes());
            (p.spec.name.as_str(), format!("{:016x}", h.digest()))
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_default()
}

/// How two `projects` settings differ, in words (`a` and `b` say whose they are): the
/// projects only one names, those both name that differ (the first few of each), or the
/// order.
pub fn projects_difference(a: (&str, &str), b: (&str, &str)) -> String {
    fn parse(s: &str) -> Vec<(String, String)> {
        if s == "none" {
            Vec::new()
        } else {
            serde_json::from_str(s).unwrap_or_default()
        }
    }
    fn few(names: Vec<&str>) -> String {
        let shown: Vec<&str> = names.iter().take(5).copied().collect();
        match names.len() - shown.len() {
            0 => shown.join(", "),
            more => format!("{} and {more} more", shown.join(", ")),
        }
    }
    fn only<'a>(x: &'a [(String, String)], y: &[(String, String)]) -> Vec<&'a str> {
        x.iter()
            .filter(|(n, _)| !y.iter().any(|(m, _)| m == n))
            .map(|(n, _)| n.as_str())
            .collect()
    }
    let ((who_a, a), (who_b, b)) = ((a.0, parse(a.1)), (b.0, parse(b.1)));
    match (a.is_empty(), b.is_empty()) {
        (true, false) => return format!("{who_a}: no projects; {who_b}: {}", b.len()),
        (false, true) => return format!("{who_a}: {}; {who_b}: no projects", a.len()),
        _ => {}
    }
    let mut said = Vec::new();
    let (in_a, in_b) = (only(&a, &b), only(&b, &a));
    if !in_a.is_empty() {
        said.push(format!("{who_a} only: {}", few(in_a)));
    }
    if !in_b.is_empty() {
        said.push(format!("{who_b} only: {}", few(in_b)));
    }
    let changed: Vec<&str> = a
        .iter()
        .filter(|(n, d)| b.iter().any(|(m, e)| m == n && e != d))
        .map(|(n, _)| n.as_str())
        .collect();
    if !changed.is_empty() {
        said.push(format!(
            "{} differ in test roots, search path, schemas or migrations",
            few(changed)
        ));
    }
    if said.is_empty() {
        said.push("the same projects in another order".to_string());
    }
    said.join("; ")
}
