//! Flags over `.pgtap-scan.toml` over defaults, once, into the library's plain config
//! ([`ScanConfig`]) and what the binary itself needs (the universe to read, gates, where
//! the report goes). A value both can give is read by the same function (`value`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use pgtap_scan::config::{ExtractOptions, UniverseSpec, DEFAULT_MAX_MEMORY};
use pgtap_scan::gate::Gate;
use pgtap_scan::report::{Format, Needs, FORMATS};
use pgtap_scan::scan::report::CoverageMode;
use pgtap_scan::scan::{ScanConfig, StreamingMode};
use pgtap_scan::universe::UrlSource;

use crate::cli::{ColorChoice, ScanArgs};
use crate::config_file::{FileConfig, CONFIG_FILE_NAME};
use crate::messages::Messages;
use crate::value;

/// What `main` needs to run a scan.
pub struct Plan {
    pub scan: ScanConfig,
    pub universe: Option<UniverseSpec>,
    pub schemas: Vec<String>,
    /// `--trust-config-database-url` or `PGTAP_SCAN_TRUST_CONFIG_DATABASE=1`.
    pub trust_config_database_url: bool,
    /// `--database-timeout`.
    pub database_timeout: Option<std::time::Duration>,
    pub gates: Vec<Gate>,
    /// `--coverage`: what counts as tested.
    pub coverage_mode: CoverageMode,
    /// `pgtap-scan gaps`: the text report lists the gaps.
    pub gaps_only: bool,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub stats: bool,
    pub quiet: bool,
    pub color: bool,
    pub strict: bool,
    /// `--allow-empty`: no test file found is not an error.
    pub allow_empty: bool,
    /// `--changed-files` / `--since`: the files GitHub annotations are limited to.
    pub changed_files: Option<std::sync::Arc<pgtap_scan::report::ChangedFiles>>,
    /// `--max-bytes`, as given (see `ci::markdown_budget`).
    pub max_bytes: Option<usize>,
    /// `ignore`, `--ignore`, `-- pgtap-scan: ignore`, `--exclude-from-overall`.
    pub ignore: pgtap_scan::ignoring::IgnoreRules,
    /// `pgtap-scan merge`: the paths are the shards' partials.
    pub merging: bool,
    /// `--baseline`: the earlier report to compare with.
    pub baseline: Option<PathBuf>,
    /// `--fail-on-drop`: the kinds (or `overall`) whose fall fails the run.
    pub fail_on_drop: Option<Vec<String>>,
    /// A monorepo's projects (issue 17), narrowed by `--project`; empty for one project.
    pub projects: Vec<crate::projects::Project>,
    /// Where projects were looked for (the paths on the command line; a merge: the
    /// shards'), as a shard's partial records them.
    pub project_paths: Vec<PathBuf>,
    /// `--history`: the file this run's line is appended to.
    pub history: Option<PathBuf>,
    /// A Supabase project (`supabase/config.toml` here): the platform's objects are
    /// known.
    pub platform: bool,
    /// `--include-platform-schemas`: ... and counted (by default they are left out).
    pub count_platform: bool,
    /// The repository root the CI formats' paths are relative to: the config file's
    /// folder (absolute), so they are the same wherever below it the scan runs; `None`
    /// without a config file (the current folder).
    pub root: Option<PathBuf>,
}

/// What the command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Scan,
    Gaps,
    Merge,
}

/// `supabase/migrations`, `db\\schema.sql`, `./x`: not a PostgreSQL schema name (which
/// could hold a slash only quoted, and nobody does that).
fn looks_like_a_path(name: &str) -> bool {
    let n = name.trim();
    n.contains('/') || n.contains('\\') || n.to_ascii_lowercase().ends_with(".sql")
}

fn or<T>(flag: Option<T>, file: Option<T>, default: T) -> T {
    flag.or(file).unwrap_or(default)
}

/// `a`, `a and b`, `a, b or c`.
fn list(items: &[&str], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

impl Plan {
    /// Flags over the config file over defaults, for `command`.
    pub fn new(args: ScanArgs, command: Command, messages: &Messages) -> Result<Plan> {
        let (changed_files, since, max_bytes) = (
            args.changed_files.clone(),
            args.since.clone(),
            args.max_bytes,
        );
        let mut plan = merge(args, command, messages)?;
        plan.gaps_only = command == Command::Gaps;
        plan.max_bytes = max_bytes;
        plan.changed_files = crate::ci::changed_files(
            changed_files.as_deref(),
            since.as_deref(),
            plan.format,
            messages,
        )?
        .map(std::sync::Arc::new);
        plan.check_format()?;
        Ok(plan)
    }

    /// What the format needs (a universe, migrations), asked of the format.
    fn check_format(&self) -> Result<()> {
        let name = self.format.name();
        // With projects, what every project's universe allows (a database one does not
        // give migration lines).
        let projects = self.projects.iter().filter_map(|p| p.universe.as_ref());
        let universe = self.universe.as_ref().or_else(|| {
            projects
                .clone()
                .find(|u| matches!(u, UniverseSpec::Database { .. }))
                .or(projects.clone().next())
        });
        if self.gaps_only && universe.is_none() {
            bail!("gaps needs a universe: add --schema PATH (migrations) or --database-url");
        }
        if self.gaps_only && !self.format.lists_gaps() {
            let listing: Vec<&str> = FORMATS
                .iter()
                .filter(|f| f.lists_gaps)
                .map(|f| f.name)
                .collect();
            bail!(
                "gaps --format {name}: gaps are listed as {}; the {name} report of a scan with \
                 a universe (pgtap-scan --format {name} --schema ...) shows them already",
                list(&listing, "or")
            );
        }
        let needs = self.format.needs();
        // Every format that needs the same for the same reason is named.
        let alike: Vec<&str> = FORMATS
            .iter()
            .filter(|f| f.needs == needs)
            .map(|f| f.name)
            .collect();
        match (needs, universe) {
            (Needs::Nothing, _)
            | (Needs::Universe { .. }, Some(_))
            | (Needs::Migrations { .. }, Some(UniverseSpec::Migrations(_))) => Ok(()),
            (Needs::Universe { why }, None) => bail!(
                "--format {} {why}: add --schema PATH or --database-url",
                list(&alike, "and")
            ),
            (Needs::Migrations { why }, _) => {
                bail!("--format {} {why}: add --schema PATH", list(&alike, "and"))
            }
        }
    }
}

/// The config file `--config` names, the one found from the current directory upwards, or
/// none (`--no-config`); with its path. Its paths (`paths`, `schema`, `include-dirs`,
/// `cache`, `baseline`, `history`) are relative to its folder: they come back relative to
/// the current one ([`config_base`]).
fn config_file(args: &ScanArgs) -> Result<(FileConfig, Option<PathBuf>)> {
    if args.no_config {
        return Ok((FileConfig::default(), None));
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let path = match &args.config {
        Some(path) => path.clone(),
        None => match FileConfig::discover(&cwd) {
            Some(path) => path,
            None => return Ok((FileConfig::default(), None)),
        },
    };
    let mut file = FileConfig::load(&path)?;
    let base = config_base(Some(&path), &cwd);
    let join = |p: &mut PathBuf| *p = crate::projects::join(&base, p);
    file.paths.iter_mut().flatten().for_each(join);
    file.include_dirs.iter_mut().flatten().for_each(join);
    file.cache.iter_mut().for_each(join);
    file.baseline.iter_mut().for_each(join);
    file.history.iter_mut().for_each(join);
    if let Some(schema) = &mut file.schema {
        schema.iter_mut().for_each(join);
    }
    Ok((file, Some(path)))
}

/// The config file's folder as seen from `cwd`: empty when it is `cwd`, `..`s when the
/// file was found above it (a scan run from below the repository root is the same scan,
/// its paths shown from here), the folder below it, else the folder itself.
fn config_base(file_path: Option<&Path>, cwd: &Path) -> PathBuf {
    match file_path.and_then(Path::parent) {
        None => PathBuf::new(),
        Some(p) if p.as_os_str().is_empty() || p == cwd => PathBuf::new(),
        Some(p) => match (p.strip_prefix(cwd), cwd.strip_prefix(p)) {
            (Ok(below), _) => below.to_path_buf(),
            (_, Ok(above)) => above.components().map(|_| "..").collect(),
            _ => p.to_path_buf(),
        },
    }
}

/// The projects of a monorepo scan and the paths to scan for them: every project's test
/// roots, and the paths given that are no project's ancestor (their files belong to no
/// project). No projects (and `paths` as given) for a scan of one project.
#[allow(clippy::too_many_arguments)]
fn monorepo(
    discover_in: &[PathBuf],
    only: &[String],
    fail_under: &[String],
    paths: Vec<PathBuf>,
    universe: &Option<UniverseSpec>,
    file: &FileConfig,
    file_path: Option<&Path>,
    file_name: &str,
    search_path: &[String],
    command: Command,
    messages: &Messages,
) -> Result<(Vec<PathBuf>, Vec<crate::projects::Project>)> {
    if universe.is_some() {
        if !file.project.is_empty() {
            bail!(
                "{file_name}: a universe for the whole scan (schema, database-url, --schema or \
                 --database-url) and [[project]] entries: each project names its own; drop \
                 the whole scan's"
            );
        }
        if !only.is_empty() {
            bail!("--project with --schema or --database-url: a project names its own universe");
        }
        return Ok((paths, Vec::new()));
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    // Paths in the config are relative to its folder; kept relative to the current one
    // (the config's own `paths` were rebased when it was read, see `config_file`).
    let base = config_base(file_path, &cwd);
    let mut projects =
        crate::projects::resolve(file, file_name, &base, discover_in, search_path, messages)?;
    // A lone Supabase project in the current folder is the plain Supabase default.
    if file.project.is_empty()
        && projects.iter().all(|p| {
            p.folder
                .components()
                .all(|c| matches!(c, std::path::Component::CurDir))
        })
    {
        projects.clear();
    }
    if projects.is_empty() {
        if !only.is_empty() {
            bail!(
                "--project {}: this scan has no projects (declare them as [[project]] in \
                 .pgtap-scan.toml, or scan a folder holding supabase/config.toml projects)",
                only.join(", ")
            );
        }
        return Ok((paths, projects));
    }
    // The first 20 names: a monorepo of a thousand projects would fill the screen.
    let names = |ps: &[crate::projects::Project]| {
        let shown: Vec<&str> = ps.iter().take(20).map(|p| p.name.as_str()).collect();
        match ps.len().saturating_sub(shown.len()) {
            0 => shown.join(", "),
            more => format!("{} and {more} more", shown.join(", ")),
        }
    };
    for n in only {
        if !projects.iter().any(|p| &p.name == n) {
            bail!(
                "--project {n}: no such project; the projects: {}",
                names(&projects)
            );
        }
    }
    // `--fail-under NAME:SPEC` replaces the project's own gates.
    let mut flagged: Vec<&str> = Vec::new();
    for spec in fail_under {
        let Some((name, rest)) = crate::projects::project_gate(spec) else {
            continue;
        };
        let Some(p) = projects.iter_mut().find(|p| p.name == name) else {
            bail!(
                "--fail-under {spec}: no project named {name:?}; the projects: {}",
                names(&projects)
            );
        };
        let gates = value::gates(rest)?;
        if !flagged.contains(&name) {
            p.gates.clear();
            flagged.push(name);
        }
        p.gates.extend(gates);
    }
    if !only.is_empty() {
        projects.retain(|p| only.contains(&p.name));
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    for p in &projects {
        if p.universe.is_none() {
            messages.warning(&format!(
                "{}: project {:?} has no migrations or database-url: its files are counted, \
                 its coverage is not measured",
                p.origin, p.name
            ));
        }
        // A merge reads the partials, not the tests (the shards said what was missing).
        if command == Command::Merge {
            continue;
        }
        for t in &p.tests {
            if t.exists() {
                roots.push(t.clone());
            } else {
                messages.warning(&format!(
                    "{}: project {:?}: {} does not exist",
                    p.origin,
                    p.name,
                    t.display()
                ));
            }
        }
    }
    if command == Command::Merge {
        return Ok((paths, projects));
    }
    if roots.is_empty() {
        bail!(
            "no project has a tests folder ({}): nothing to scan",
            names(&projects)
        );
    }
    // A path given that holds projects was where to look for them; one that holds none is
    // scanned too, its files no project's.
    if only.is_empty() {
        let under = |p: &Path, q: &Path| {
            let (p, q) = (normalized(p), normalized(q));
            q.starts_with(&p)
        };
        for path in paths {
            if !projects.iter().any(|p| under(&path, &p.folder)) && !roots.contains(&path) {
                roots.push(path);
            }
        }
    }
    Ok((roots, projects))
}

/// The partials `paths` names: files, or the `*.pgtap` files of folders (in name order).
pub fn partial_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("{}: cannot read the folder", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "pgtap") && p.is_file())
                .collect();
            if found.is_empty() {
                bail!("{}: no *.pgtap partial in this folder", path.display());
            }
            found.sort();
            inputs.extend(found);
        } else {
            inputs.push(path.clone());
        }
    }
    Ok(inputs)
}

/// The paths the shards looked for projects in (their command line's), as the first
/// partial records them (`project-paths`); none when it cannot be read (the merge then
/// says what is wrong with it) or does not say.
fn recorded_project_paths(partials: &[PathBuf]) -> Vec<PathBuf> {
    let Some(first) = partial_files(partials)
        .ok()
        .and_then(|f| f.into_iter().next())
    else {
        return Vec::new();
    };
    let Ok(file) = std::fs::File::open(first) else {
        return Vec::new();
    };
    let Ok((_, header)) = pgtap_scan::partial::Reader::open(std::io::BufReader::new(file)) else {
        return Vec::new();
    };
    header
        .setting(PROJECT_PATHS)
        .and_then(|v| serde_json::from_str::<Vec<PathBuf>>(v).ok())
        .unwrap_or_default()
}

/// The partial's setting naming the paths the shard looked for projects in.
pub const PROJECT_PATHS: &str = "project-paths";

fn normalized(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// `table`, `table,overall`: what `--fail-on-drop` takes (kinds as in object keys, and
/// `overall`).
fn is_drop_kinds(value: &str) -> bool {
    value
        .split(',')
        .map(str::trim)
        .all(|k| k == "overall" || pgtap_scan::object::ObjectKind::from_name(k).is_some())
}

fn merge(mut args: ScanArgs, command: Command, messages: &Messages) -> Result<Plan> {
    // `--fail-on-drop` takes its kinds optionally: in `--fail-on-drop tests/`, what clap
    // took for the kinds is the path to scan. A value that reads as kinds stays kinds,
    // even with a folder of that name here.
    if let Some(value) = args.fail_on_drop.take() {
        if !is_drop_kinds(&value) && Path::new(&value).exists() {
            args.paths.insert(0, PathBuf::from(value));
            args.fail_on_drop = Some("overall".to_string());
        } else {
            args.fail_on_drop = Some(value);
        }
    }
    let merging = command == Command::Merge;
    if merging {
        if args.paths.is_empty() {
            bail!(
                "merge needs the shards' partials: pgtap-scan merge shard-*.pgtap (files, or \
                 folders holding *.pgtap files)"
            );
        }
        if args.shard.is_some() {
            bail!("--shard is for each shard's scan; merge reads every shard's partial");
        }
        if args.format == Some(Format::Partial) {
            bail!("merge --format partial: merge writes the report of the whole suite; pick another format");
        }
        if args.cache.is_some() {
            bail!("--cache is for the shards' scans; merge reads no test file");
        }
    }
    let flag_gates = !args.fail_under.is_empty();
    let (file, file_path) = config_file(&args)?;
    let file_name = file_path
        .as_deref()
        .unwrap_or(Path::new(CONFIG_FILE_NAME))
        .display()
        .to_string();
    let format = match (args.format, file.format.as_deref()) {
        (Some(f), _) => f,
        // The config's format is the report's: a merge writes it, its shards a partial.
        (None, Some(name)) if merging && value::format(name) == Some(Format::Partial) => {
            Format::Text
        }
        (None, Some(name)) => match value::format(name) {
            Some(f) => f,
            None => bail!(
                "config: format = {name:?} is not one of {}",
                Format::names().join(", ")
            ),
        },
        (None, None) => Format::Text,
    };
    let streaming = match (args.streaming, file.streaming.as_deref()) {
        (Some(mode), _) => mode,
        (None, Some(name)) => match value::streaming(name) {
            Some(mode) => mode,
            None => bail!(
                "config: streaming = {name:?} is not one of {}",
                value::streaming_names()
            ),
        },
        (None, None) => StreamingMode::Auto,
    };
    let file_max_memory = match &file.max_memory {
        None => None,
        Some(size) => Some(
            value::size(&size.as_flag())
                .map_err(|e| anyhow::anyhow!("{file_name}: max-memory = {e}"))?,
        ),
    };
    // `value::size` is at least 1 byte.
    let max_memory_bytes = or(args.max_memory, file_max_memory, DEFAULT_MAX_MEMORY);
    for h in &file.role_helper {
        if let Err(e) = h.check() {
            bail!("config: {e}");
        }
    }
    let mut extensions: Vec<String> = if args.ext.is_empty() {
        file.ext
            .clone()
            .unwrap_or_else(|| vec!["sql".into(), "pg".into()])
    } else {
        args.ext
    };
    for e in &mut extensions {
        *e = e.trim_start_matches('.').to_string();
    }
    // Projects are looked for in the paths given on the command line, else from `.`; a
    // merge looks where its shards did (their partials say).
    let discover_in = if merging {
        recorded_project_paths(&args.paths)
    } else {
        args.paths.clone()
    };
    let paths = if args.paths.is_empty() {
        file.paths.clone().unwrap_or_default()
    } else {
        args.paths
    };
    let search_path = if args.search_path.is_empty() {
        file.search_path
            .clone()
            .unwrap_or_else(|| vec!["public".into()])
    } else {
        args.search_path.clone()
    };
    let threads = or(args.threads, file.threads, 0);
    let shard = match (
        args.shard.as_deref(),
        file.shard.as_deref().filter(|_| !merging),
    ) {
        (Some(spec), _) => Some(
            value::shard(spec, |k| std::env::var(k).ok())
                .map_err(|e| anyhow::anyhow!("--shard {e}"))?,
        ),
        (None, Some(spec)) => Some(
            value::shard(spec, |k| std::env::var(k).ok())
                .map_err(|e| anyhow::anyhow!("{file_name}: shard = {e}"))?,
        ),
        (None, None) => None,
    };
    let universe = match (args.schema.is_empty(), args.database_url) {
        (false, Some(_)) => bail!("--schema and --database-url: give one universe, not both"),
        (false, None) => Some(UniverseSpec::Migrations(args.schema)),
        (true, Some(url)) => Some(UniverseSpec::Database {
            url: (!url.is_empty()).then_some(url),
            source: UrlSource::Flag,
        }),
        (true, None) => match (file.schema.clone(), file.database_url.clone()) {
            (Some(_), Some(_)) => {
                bail!("config: schema and database-url: give one universe, not both")
            }
            (Some(paths), None) => Some(UniverseSpec::Migrations(paths.into_vec())),
            (None, Some(url)) => Some(UniverseSpec::Database {
                url: (!url.is_empty()).then_some(url),
                source: UrlSource::ConfigFile(
                    file_path
                        .clone()
                        .unwrap_or_else(|| PathBuf::from(CONFIG_FILE_NAME)),
                ),
            }),
            (None, None) => None,
        },
    };
    let project_paths = discover_in.clone();
    let (paths, projects) = monorepo(
        &discover_in,
        &args.project,
        &args.fail_under,
        paths,
        &universe,
        &file,
        file_path.as_deref(),
        &file_name,
        &search_path,
        command,
        messages,
    )?;
    if !projects.is_empty() {
        if let (true, Some(spec)) = (
            shard.is_some() || format == Format::Partial,
            args.fail_under
                .iter()
                .find(|s| crate::projects::project_gate(s).is_some()),
        ) {
            bail!(
                "--fail-under {spec} with --shard: a shard holds part of the suite, and a \
                 gate never passes on missing data; gate the merged report (pgtap-scan merge \
                 ... --fail-under {spec})"
            );
        }
    }
    // Run with nothing said in a Supabase project: its tests against its migrations.
    let (paths, universe) = if projects.is_empty() {
        crate::supabase::defaults(paths, universe, messages)?
    } else {
        (paths, universe)
    };
    let has_universe = universe.is_some() || projects.iter().any(|p| p.universe.is_some());
    let (schemas, schemas_from) = if args.schemas.is_empty() {
        (file.schemas.clone().unwrap_or_default(), "schemas =")
    } else {
        (args.schemas, "--schemas")
    };
    // `schemas` (PostgreSQL schemas to count) is easily taken for `schema` (the
    // migrations): a name with a slash or a .sql end is a path, not a schema.
    for s in schemas.iter().filter(|s| looks_like_a_path(s)) {
        messages.warning(&format!(
            "{schemas_from} {s:?} looks like a path; {schemas_from} names PostgreSQL schemas \
             to count (app, billing). Migrations go in --schema / schema ="
        ));
    }
    let coverage_mode = match args.coverage.as_deref().or(file.coverage.as_deref()) {
        None => CoverageMode::default(),
        Some(m) => CoverageMode::parse(m).with_context(|| {
            format!(
                "{file_name}: coverage = {m:?}: expected one of {}",
                CoverageMode::NAMES.join(", ")
            )
        })?,
    };
    let references = if args.no_references {
        false
    } else {
        args.references
            || file
                .references
                .unwrap_or(has_universe && coverage_mode != CoverageMode::Structural)
    };
    if !references && has_universe && coverage_mode == CoverageMode::Behavioural {
        bail!(
            "--coverage behavioural needs the behavioural references: drop --no-references \
             (or references = false in the config file)"
        );
    }
    let gates = if args.fail_under.is_empty() {
        match &file.fail_under {
            None => Vec::new(),
            Some(f) => value::file_gates(f)
                .map_err(|reason| anyhow::anyhow!("{file_name}: fail-under: {reason}"))?,
        }
    } else {
        let mut gates = Vec::new();
        for spec in &args.fail_under {
            if let Some((name, _)) = crate::projects::project_gate(spec) {
                if projects.is_empty() {
                    bail!(
                        "--fail-under {spec}: gates project {name:?}, but this scan has no \
                         projects (declare them as [[project]] in .pgtap-scan.toml)"
                    );
                }
                continue;
            }
            gates.extend(value::gates(spec)?);
        }
        gates
    };
    if !gates.is_empty() && !has_universe && format != Format::Partial {
        bail!(
            "--fail-under needs a universe to measure against: add --schema PATH or --database-url"
        );
    }
    // Gates belong to the merge: a shard holds part of the suite.
    let mut gates = gates;
    if format == Format::Partial && !flag_gates {
        gates.clear();
    }
    if (shard.is_some() || format == Format::Partial) && !gates.is_empty() {
        bail!(
            "--fail-under with --shard: a shard holds part of the suite, and a gate never \
             passes on missing data; gate the merged report (pgtap-scan merge ... --fail-under)"
        );
    }
    let ignore = crate::ci::ignore_rules(
        &args.ignore,
        &args.exclude_from_overall,
        file.ignore.as_deref().unwrap_or_default(),
        file.exclude_from_overall.as_deref().unwrap_or_default(),
        &file_name,
    )?;
    // A shard's partial is compared by the merge, as it is gated there.
    let file_baseline = file.baseline.clone().filter(|_| format != Format::Partial);
    if args.fail_on_drop.is_some() && args.baseline.is_none() && file_baseline.is_none() {
        bail!("--fail-on-drop needs --baseline PREV.json: the report to compare with");
    }
    let baseline = args.baseline.or(file_baseline);
    if baseline.is_some() && !has_universe {
        bail!(
            "--baseline needs a universe to compare coverage: add --schema PATH or --database-url"
        );
    }
    // The config's fail-on-drop applies when there is a baseline to compare with.
    let fail_on_drop = args
        .fail_on_drop
        .or_else(|| file.fail_on_drop.as_ref().and_then(|f| f.as_flag()))
        .filter(|_| baseline.is_some());
    // A shard's partial holds part of the suite: the merge records the run.
    let history = match (args.history, file.history.clone()) {
        (Some(_), _) if format == Format::Partial || shard.is_some() => bail!(
            "--history with --shard: a shard holds part of the suite; record the merged \
             report (pgtap-scan merge ... --history FILE)"
        ),
        (None, Some(_)) if format == Format::Partial || shard.is_some() => None,
        (flag, file) => flag.or(file),
    };
    if let Some(h) = &history {
        crate::history::check_writable(h)?;
    }
    // `-o -` is stdout, as for most tools; not a file named `-`.
    let output = args.output.filter(|p| p.as_os_str() != "-");
    if let Some(out) = &output {
        // Said before a long scan, and without the temporary file's name.
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                bail!(
                    "{}: cannot create a file in {}: no such folder",
                    out.display(),
                    parent.display()
                );
            }
        }
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::IsTerminal::is_terminal(&std::io::stdout())
                && output.is_none()
        }
    };
    let discovery = pipeline::DiscoveryConfig {
        roots: paths,
        extensions,
        no_ignore: args.no_ignore || file.no_ignore.unwrap_or(false),
        hidden: args.hidden || file.hidden.unwrap_or(false),
        follow: args.follow || file.follow.unwrap_or(false),
        max_depth: args.max_depth.or(file.max_depth),
        include: if args.include.is_empty() {
            file.include.clone().unwrap_or_default()
        } else {
            args.include
        },
        exclude: if args.exclude.is_empty() {
            file.exclude.clone().unwrap_or_default()
        } else {
            args.exclude
        },
        threads,
    };
    let root = match (
        file_path.as_deref().and_then(Path::parent),
        std::env::current_dir(),
    ) {
        (Some(d), _) if d.is_absolute() => Some(d.to_path_buf()),
        (Some(d), Ok(cwd)) => Some(cwd.join(d)),
        _ => None,
    };
    // A monorepo's platform objects are the repository root's Supabase project's (its
    // config's folder), wherever below it the scan runs.
    let platform = match (&root, projects.is_empty()) {
        (Some(r), false) => r.join("supabase").join("config.toml").is_file(),
        _ => crate::supabase::is_project(),
    };
    // From outside the repository only: a flag or the environment, never the file.
    let trust_config_database_url = args.trust_config_database_url
        || std::env::var("PGTAP_SCAN_TRUST_CONFIG_DATABASE")
            .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
    Ok(Plan {
        universe,
        schemas,
        trust_config_database_url,
        database_timeout: args.database_timeout.map(std::time::Duration::from_secs),
        gates,
        coverage_mode,
        gaps_only: false,
        scan: ScanConfig {
            discovery,
            threads,
            batch_size: or(args.batch_size, file.batch_size, 100).max(1),
            max_memory_bytes,
            streaming,
            extract: ExtractOptions {
                search_path,
                include_commented: args.include_commented
                    || file.include_commented.unwrap_or(false),
                helpers: file.helper,
                pgtap_schemas: if args.pgtap_schemas.is_empty() {
                    file.pgtap_schemas
                        .clone()
                        .unwrap_or_else(pgtap_scan::config::default_pgtap_schemas)
                } else {
                    args.pgtap_schemas
                },
                role_helpers: file.role_helper,
                role_helpers_from_tests: 0,
                references,
            },
            cache_dir: args.cache.or(file.cache),
            include_dirs: if args.include_dir.is_empty() {
                file.include_dirs.clone().unwrap_or_default()
            } else {
                args.include_dir
            },
            binary: args.binary || file.binary.unwrap_or(false),
            shard,
            // Next to the report (a disk the user chose for output), else $TMPDIR.
            spill_dir: output.as_deref().map(|o| match o.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            }),
            // Set once the outputs are known (see `streams_objects`).
            objects_on_disk: false,
            objects_kept: false,
            // Without a universe the reports say how many references there are, no more.
            references_counted_only: references && !has_universe,
            // Set once the projects' universes are read (their role helpers).
            project_reading: Vec::new(),
        },
        format,
        output,
        stats: args.stats,
        quiet: args.quiet,
        color,
        strict: args.strict || file.strict.unwrap_or(false),
        allow_empty: args.allow_empty || file.allow_empty.unwrap_or(false),
        merging,
        changed_files: None,
        max_bytes: None,
        ignore,
        baseline,
        history,
        projects,
        project_paths,
        platform,
        count_platform: args.include_platform_schemas
            || file.include_platform_schemas.unwrap_or(false),
        root,
        fail_on_drop: fail_on_drop.map(|k| {
            k.split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(list(&["github"], "and"), "github");
        assert_eq!(list(&["lcov", "cobertura"], "and"), "lcov and cobertura");
        assert_eq!(list(&["a", "b", "c"], "or"), "a, b or c");
    }

    /// Every setting of the config file is a flag too (`FileConfig` and `ScanArgs` are
    /// two lists of the same settings; this keeps them from drifting apart).
    #[test]
    fn every_config_file_key_is_a_flag() {
        let cmd = crate::cli::Cli::command();
        let flags: Vec<String> = cmd
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_string))
            .chain(std::iter::once("paths".to_string()))
            .collect();
        // The file's names for settings whose flag is spelled otherwise.
        let file_only = [
            ("include-dirs", "include-dir"),
            ("helper", ""),
            ("role-helper", ""),
            ("discover-projects", ""),
        ];
        // TOML rejects an unknown key and lists the known ones.
        let known = match toml::from_str::<FileConfig>("not-a-setting = 1") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("an unknown key is accepted"),
        };
        let keys = known
            .split("expected one of ")
            .nth(1)
            .expect("the known keys")
            .split(", ")
            .map(|k| k.trim().trim_matches('`').to_string());
        for key in keys {
            let flag = file_only
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(key.as_str(), |(_, f)| f);
            if flag.is_empty() {
                continue;
            }
            assert!(
                flags.iter().any(|f| f == flag),
                "config key {key} has no flag"
            );
        }
    }
}
