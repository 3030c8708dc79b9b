//! Command-line flags (clap) and their conversion, once, into the library's plain config.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use pgtap_scan::config::{
    ExtractOptions, FileConfig, UniverseSpec, CONFIG_FILE_NAME, DEFAULT_MAX_MEMORY,
};
use pgtap_scan::gate::{self, Gate};
use pgtap_scan::report::Format;
use pgtap_scan::scan::{ScanConfig, StreamingMode};
use pgtap_scan::schema::UrlSource;

const AFTER_HELP: &str = "\
Examples:
  pgtap-scan                               scan the current directory
  pgtap-scan tests/ --format json -o coverage.json
  pgtap-scan tests/ --schema db/migrations                 coverage of the schema
  pgtap-scan gaps tests/ --schema db/migrations            what no assertion tests
  pgtap-scan tests/ --database-url postgres://ci@localhost/app --fail-under 80,table=100
  pgtap-scan tests/ --schema db/migrations --format github   PR annotations
  pgtap-scan tests/ --cache .pgtap-cache                   nightly: re-parse changed files only

Exit codes: 0 ok; 1 a gate failed (coverage below --fail-under, a per-kind gate on a kind
the universe has none of, or a plan mismatch under --strict); 2 an error (bad flag, missing
path, a test file that could not be read, a schema or database that could not be read or
holds no object, no test file found without --allow-empty); 130, 143, 129 interrupted by
SIGINT, SIGTERM, SIGHUP (no report written).

Settings can also live in .pgtap-scan.toml (found from the current directory upwards);
a flag wins over the file.";

/// Reads pgTAP test suites without running them and reports which database objects their
/// assertions cover.
#[derive(Debug, Parser)]
#[command(name = "pgtap-scan", version, about, after_help = AFTER_HELP, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub scan: ScanArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan test files and report assertions (the default command).
    Scan(ScanArgs),
    /// List the objects of the schema that no assertion tests, most important first, with
    /// where each is defined. Needs --schema or --database-url.
    Gaps(ScanArgs),
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StreamingArg {
    Auto,
    Always,
    Never,
}

/// `--format`: the names, aliases and help of [`pgtap_scan::report::FORMATS`].
fn format_parser() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser as _};
    PossibleValuesParser::new(pgtap_scan::report::FORMATS.iter().map(|f| {
        PossibleValue::new(f.name)
            .help(f.help)
            .aliases(f.aliases.iter().copied())
    }))
    .map(|name| Format::parse(&name).unwrap_or_default())
}

#[derive(Debug, Args, Default)]
pub struct ScanArgs {
    /// Files or directories to scan [default: .]. Files named here are always scanned,
    /// whatever their extension or ignore rules.
    pub paths: Vec<PathBuf>,

    /// Report format.
    #[arg(short, long, value_parser = format_parser(), help_heading = "Output")]
    pub format: Option<Format>,
    /// Write the report to FILE (atomically: a temporary file, then a rename); - is stdout.
    #[arg(short, long, value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Print memory and pipeline statistics to stderr (JSON reports always carry them).
    #[arg(long, help_heading = "Output")]
    pub stats: bool,
    /// Print nothing on stderr but errors: no warnings, no progress bar, no Coverage line.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    /// Colour in the text report: auto means a terminal and no NO_COLOR.
    #[arg(long, value_enum, default_value = "auto", help_heading = "Output")]
    pub color: ColorChoice,
    /// Exit 1 when a file's plan(N) disagrees with the tests found.
    #[arg(long, help_heading = "Output")]
    pub strict: bool,

    /// File extension to scan (repeatable; multi-part like pg.inc works) [default: sql, pg].
    #[arg(long = "ext", value_name = "EXT", help_heading = "Discovery")]
    pub ext: Vec<String>,
    /// Only scan files matching this glob (gitignore syntax, relative to the root; repeatable).
    #[arg(long, value_name = "GLOB", help_heading = "Discovery")]
    pub include: Vec<String>,
    /// Skip files and directories matching this glob (repeatable).
    #[arg(long, value_name = "GLOB", help_heading = "Discovery")]
    pub exclude: Vec<String>,
    /// Scan hidden files and directories too.
    #[arg(long, help_heading = "Discovery")]
    pub hidden: bool,
    /// Do not honour .gitignore, .ignore and .git/info/exclude.
    #[arg(long, help_heading = "Discovery")]
    pub no_ignore: bool,
    /// Follow symbolic links (loops are detected and reported).
    #[arg(short = 'L', long, help_heading = "Discovery")]
    pub follow: bool,
    /// Descend at most N directories below each root.
    #[arg(long, value_name = "N", help_heading = "Discovery")]
    pub max_depth: Option<usize>,
    /// A folder psql includes (\i, \ir) may also be read from (repeatable). Includes are
    /// only followed to regular files inside the scanned paths and these folders; any
    /// other include is a warning and its file's plan is not checked.
    #[arg(long, value_name = "DIR", help_heading = "Discovery")]
    pub include_dir: Vec<PathBuf>,
    /// Exit 0 when the paths hold no test file. Without it, finding nothing to scan is an
    /// error (exit 2): a CI job pointed at the wrong folder must not stay green.
    #[arg(long, help_heading = "Discovery")]
    pub allow_empty: bool,
    /// Also parse files that look binary (a NUL byte in their first 8 KiB); by default
    /// they are skipped with a warning.
    #[arg(long, help_heading = "Discovery")]
    pub binary: bool,

    /// Parse threads [default: all cores].
    #[arg(short = 'j', long, value_name = "N", help_heading = "Performance")]
    pub threads: Option<usize>,
    /// Files per batch between discovery and the parse pool.
    #[arg(long, value_name = "N", help_heading = "Performance")]
    pub batch_size: Option<usize>,
    /// Memory budget for file bytes in flight: MB, or with a unit (256K, 16MB, 512MiB, 1.5G); readers
    /// wait above 80% of it [default: 512]. The coverage database, which grows with the
    /// distinct objects named, is not charged to it (--stats shows the heap).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Performance")]
    pub max_memory: Option<u64>,
    /// Drop per-file detail after aggregation (auto: above 1000 files). With --format ndjson,
    /// file lines are written as they are aggregated.
    #[arg(long, value_enum, help_heading = "Performance")]
    pub streaming: Option<StreamingArg>,
    /// Keep per-file results in DIR and skip files that have not changed since the last run
    /// (same size and mtime: not read; same content: not parsed). Created if missing; a
    /// cache from another version or other extraction options is ignored and replaced.
    #[arg(long, value_name = "DIR", help_heading = "Performance")]
    pub cache: Option<PathBuf>,

    /// Schemas unqualified names resolve through, comma-separated [default: public].
    #[arg(
        long,
        value_name = "SCHEMAS",
        value_delimiter = ',',
        help_heading = "Extraction"
    )]
    pub search_path: Vec<String>,
    /// Schemas pgTAP may be installed in, comma-separated: a call qualified with another
    /// schema (rbac.has_role(..)) is that schema's own function, not pgTAP's
    /// [default: public,extensions,tap,pgtap].
    #[arg(
        long,
        value_name = "SCHEMAS",
        value_delimiter = ',',
        help_heading = "Extraction"
    )]
    pub pgtap_schemas: Vec<String>,
    /// Also read behavioural references: the relations, columns, functions and commands the
    /// tests' SQL uses, the role in effect and the expected outcome (JSON
    /// files[].references). Experimental; about +75% CPU today.
    #[arg(long, help_heading = "Extraction")]
    pub references: bool,
    /// Also count assertions written inside comments (marked as commented).
    #[arg(long, help_heading = "Extraction")]
    pub include_commented: bool,

    /// Migration or schema SQL, a file or a folder (repeatable; applied in path order like
    /// migration tools do): the universe of objects coverage is measured against.
    #[arg(long = "schema", value_name = "PATH", help_heading = "Schema coverage")]
    pub schema: Vec<PathBuf>,
    /// Read the universe from a live PostgreSQL instead. Without a URL, the usual PGHOST,
    /// PGPORT, PGUSER, PGDATABASE and PGPASSWORD variables are used. TLS as in libpq:
    /// sslmode=disable|prefer (default)|require|verify-ca|verify-full, sslrootcert=FILE or
    /// system (system roots otherwise). A password never goes in the clear or as md5 to a
    /// non-local host over an unencrypted connection.
    #[arg(
        long,
        value_name = "URL",
        num_args = 0..=1,
        default_missing_value = "",
        help_heading = "Schema coverage"
    )]
    pub database_url: Option<String>,
    /// Send PGPASSWORD to the host the config file's database-url names. Without this (or
    /// PGTAP_SCAN_TRUST_CONFIG_DATABASE=1), a password from the environment only goes to
    /// hosts named by --database-url or PGHOST: a repository's .pgtap-scan.toml could
    /// otherwise send it anywhere. The config file cannot set this.
    #[arg(long, help_heading = "Schema coverage")]
    pub trust_config_database_url: bool,
    /// Give up on a database query that has not answered within SECS seconds (also set as
    /// the session's statement_timeout) [default: 60]. Connecting has its own 10 s bound
    /// (connect_timeout in the URL, or PGCONNECT_TIMEOUT).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Schema coverage")]
    pub database_timeout: Option<u64>,
    /// Only count objects in these PostgreSQL schemas, comma-separated (not folders:
    /// migrations go in --schema).
    #[arg(
        long,
        value_name = "SCHEMAS",
        value_delimiter = ',',
        help_heading = "Schema coverage"
    )]
    pub schemas: Vec<String>,
    /// Exit 1 when coverage is below a percentage: overall (80) or per kind
    /// (table=100,policy=100,function=90; plurals and mview, matview, ftable, func, idx
    /// work; an unknown kind is an error). A per-kind gate on a kind the universe has no
    /// object of fails: a gate never passes on missing data. Repeatable.
    #[arg(long, value_name = "SPEC", help_heading = "Schema coverage")]
    pub fail_under: Vec<String>,

    /// Read settings from FILE instead of looking for .pgtap-scan.toml.
    #[arg(long, value_name = "FILE", help_heading = "Config")]
    pub config: Option<PathBuf>,
    /// Ignore any .pgtap-scan.toml.
    #[arg(long, help_heading = "Config")]
    pub no_config: bool,
    /// List every pgTAP function the scanner knows, one per line, and exit.
    #[arg(long, help_heading = "Config")]
    pub list_functions: bool,
}

/// `--max-memory`: the same syntax as the config file's `max-memory`.
fn parse_size(s: &str) -> std::result::Result<u64, String> {
    pgtap_scan::config::parse_size(s)
}

/// `supabase/migrations`, `db\\schema.sql`, `./x`: not a PostgreSQL schema name (which
/// could hold a slash only quoted, and nobody does that).
fn looks_like_a_path(name: &str) -> bool {
    let n = name.trim();
    n.contains('/') || n.contains('\\') || n.to_ascii_lowercase().ends_with(".sql")
}

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
}

fn or<T>(flag: Option<T>, file: Option<T>, default: T) -> T {
    flag.or(file).unwrap_or(default)
}

impl ScanArgs {
    /// Flags over the config file over defaults.
    pub fn into_plan(self) -> Result<Plan> {
        let (file, file_path) = if self.no_config {
            (FileConfig::default(), None)
        } else if let Some(path) = &self.config {
            (FileConfig::load(path)?, Some(path.clone()))
        } else {
            let cwd = std::env::current_dir().context("reading the current directory")?;
            match FileConfig::discover(&cwd) {
                Some(path) => (FileConfig::load(&path)?, Some(path)),
                None => (FileConfig::default(), None),
            }
        };
        let format = match (self.format, file.format.as_deref()) {
            (Some(f), _) => f,
            (None, Some(name)) => match Format::parse(name) {
                Some(f) => f,
                None => bail!(
                    "config: format = {name:?} is not one of {}",
                    Format::names().join(", ")
                ),
            },
            (None, None) => Format::Text,
        };
        let streaming = match (self.streaming, file.streaming.as_deref()) {
            (Some(StreamingArg::Auto), _) | (None, None) | (None, Some("auto")) => {
                StreamingMode::Auto
            }
            (Some(StreamingArg::Always), _) | (None, Some("always")) => StreamingMode::Always,
            (Some(StreamingArg::Never), _) | (None, Some("never")) => StreamingMode::Never,
            (None, Some(other)) => {
                bail!("config: streaming = {other:?} is not one of auto, always, never")
            }
        };
        let file_max_memory = match &file.max_memory {
            None => None,
            Some(size) => Some(size.bytes().map_err(|e| {
                anyhow::anyhow!(
                    "{}: max-memory = {e}",
                    file_path
                        .as_deref()
                        .unwrap_or(std::path::Path::new(CONFIG_FILE_NAME))
                        .display()
                )
            })?),
        };
        let max_memory_bytes = or(self.max_memory, file_max_memory, DEFAULT_MAX_MEMORY);
        for h in &file.role_helper {
            if let Err(e) = h.check() {
                bail!("config: {e}");
            }
        }
        if max_memory_bytes == 0 {
            bail!("--max-memory must be more than 0");
        }
        let mut extensions: Vec<String> = if self.ext.is_empty() {
            file.ext
                .clone()
                .unwrap_or_else(|| vec!["sql".into(), "pg".into()])
        } else {
            self.ext
        };
        for e in &mut extensions {
            *e = e.trim_start_matches('.').to_string();
        }
        let paths = if self.paths.is_empty() {
            file.paths.clone().unwrap_or_default()
        } else {
            self.paths
        };
        let search_path = if self.search_path.is_empty() {
            file.search_path
                .clone()
                .unwrap_or_else(|| vec!["public".into()])
        } else {
            self.search_path
        };
        let threads = or(self.threads, file.threads, 0);
        let universe = match (self.schema.is_empty(), self.database_url) {
            (false, Some(_)) => bail!("--schema and --database-url: give one universe, not both"),
            (false, None) => Some(UniverseSpec::Migrations(self.schema)),
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
        let (schemas, schemas_from) = if self.schemas.is_empty() {
            (file.schemas.clone().unwrap_or_default(), "schemas =")
        } else {
            (self.schemas, "--schemas")
        };
        if !self.quiet {
            // `schemas` (PostgreSQL schemas to count) is easily taken for `schema` (the
            // migrations): a name with a slash or a .sql end is a path, not a schema.
            for s in schemas.iter().filter(|s| looks_like_a_path(s)) {
                eprintln!(
                    "pgtap-scan: warning: {schemas_from} {s:?} looks like a path; {schemas_from} \
                     names PostgreSQL schemas to count (app, billing). Migrations go in \
                     --schema / schema ="
                );
            }
        }
        let from_file = self.fail_under.is_empty();
        let specs: Vec<String> = if from_file {
            file.fail_under.iter().map(|f| f.to_spec()).collect()
        } else {
            self.fail_under
        };
        let mut gates = Vec::new();
        for spec in &specs {
            match gate::parse(spec) {
                Ok(g) => gates.extend(g),
                Err(e) if from_file => bail!(
                    "{}: fail-under: {}",
                    file_path
                        .as_deref()
                        .unwrap_or(std::path::Path::new(CONFIG_FILE_NAME))
                        .display(),
                    e.reason
                ),
                Err(e) => return Err(e.into()),
            }
        }
        if !gates.is_empty() && universe.is_none() {
            bail!("--fail-under needs a universe to measure against: add --schema PATH or --database-url");
        }
        // `-o -` is stdout, as for most tools; not a file named `-`.
        let output = self.output.filter(|p| p.as_os_str() != "-");
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
        let color = match self.color {
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
            no_ignore: self.no_ignore || file.no_ignore.unwrap_or(false),
            hidden: self.hidden || file.hidden.unwrap_or(false),
            follow: self.follow || file.follow.unwrap_or(false),
            max_depth: self.max_depth.or(file.max_depth),
            include: if self.include.is_empty() {
                file.include.clone().unwrap_or_default()
            } else {
                self.include
            },
            exclude: if self.exclude.is_empty() {
                file.exclude.clone().unwrap_or_default()
            } else {
                self.exclude
            },
            threads,
        };
        // From outside the repository only: a flag or the environment, never the file.
        let trust_config_database_url = self.trust_config_database_url
            || std::env::var("PGTAP_SCAN_TRUST_CONFIG_DATABASE")
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
        Ok(Plan {
            universe,
            schemas,
            trust_config_database_url,
            database_timeout: self.database_timeout.map(std::time::Duration::from_secs),
            gates,
            gaps_only: false,
            scan: ScanConfig {
                discovery,
                threads,
                batch_size: or(self.batch_size, file.batch_size, 100).max(1),
                max_memory_bytes,
                streaming,
                extract: ExtractOptions {
                    search_path,
                    include_commented: self.include_commented
                        || file.include_commented.unwrap_or(false),
                    helpers: file.helper,
                    pgtap_schemas: if self.pgtap_schemas.is_empty() {
                        file.pgtap_schemas
                            .clone()
                            .unwrap_or_else(pgtap_scan::config::default_pgtap_schemas)
                    } else {
                        self.pgtap_schemas
                    },
                    role_helpers: file.role_helper,
                    references: self.references || file.references.unwrap_or(false),
                },
                cache_dir: self.cache.or(file.cache),
                include_dirs: if self.include_dir.is_empty() {
                    file.include_dirs.clone().unwrap_or_default()
                } else {
                    self.include_dir
                },
                binary: self.binary || file.binary.unwrap_or(false),
            },
            format,
            output,
            stats: self.stats,
            quiet: self.quiet,
            color,
            strict: self.strict || file.strict.unwrap_or(false),
            allow_empty: self.allow_empty || file.allow_empty.unwrap_or(false),
        })
    }
}
