//! Command-line flags (clap). Values a config file can give too are read by `value`;
//! `plan` puts the flags over the file into the library's plain config. Nothing else sees
//! clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use pgtap_scan::report::Format;
use pgtap_scan::scan::StreamingMode;

use crate::value;

const AFTER_HELP: &str = "\
Examples:
  pgtap-scan                               scan the current directory
  pgtap-scan tests/ --format json -o coverage.json
  pgtap-scan tests/ --schema db/migrations                 coverage of the schema
  pgtap-scan gaps tests/ --schema db/migrations            what no assertion tests
  pgtap-scan tests/ --database-url postgres://ci@localhost/app --fail-under 80,table=100
  pgtap-scan tests/ --schema db/migrations --format github   PR annotations
  pgtap-scan tests/ --cache .pgtap-cache                   nightly: re-parse changed files only
  pgtap-scan --history coverage-history.jsonl --format html -o coverage.html   nightly: record, chart
  pgtap-scan --baseline main.json --fail-on-drop           PR: exit 1 when coverage fell
  pgtap-scan tests/ --shard 2/3 --format partial -o shard-2.pgtap   one CI job of three
  pgtap-scan merge shard-*.pgtap --schema db/migrations --fail-under 80   the merging job

Exit codes: 0 ok; 1 a gate failed (coverage below --fail-under, a per-kind gate on a kind
the universe has none of, coverage fell versus --baseline under --fail-on-drop, or a plan
mismatch under --strict); 2 an error (bad flag, missing
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
    /// Merge the partials of every shard (pgtap-scan --shard K/N --format partial -o
    /// shard-K.pgtap) into the report one scan gives, with the same formats, universe,
    /// gates and exit codes. PATHS are partial files, or folders whose *.pgtap files are
    /// read; every shard 1..N must be there exactly once.
    Merge(ScanArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell
    /// (pgtap-scan completions bash > /etc/bash_completion.d/pgtap-scan).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, roff (pgtap-scan man > /usr/local/share/man/man1/pgtap-scan.1).
    Man,
    /// Compare two JSON reports with schema coverage (pgtap-scan --format json): coverage
    /// per kind before and after, objects newly untested, newly tested, added, removed, and
    /// new stale tests.
    Diff(DiffArgs),
    /// Print the coverage trend of a history file (written by pgtap-scan --history FILE):
    /// one row per run, then each kind's first and last coverage. Lines that are not
    /// history entries are skipped with a warning naming the line.
    History(HistoryArgs),
}

/// `pgtap-scan history FILE`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The history file (one JSON line per run).
    pub file: PathBuf,
    /// Output format of the trend.
    #[arg(short, long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// `pgtap-scan diff OLD.json NEW.json`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier JSON report.
    pub old: PathBuf,
    /// The later JSON report.
    pub new: PathBuf,
    /// Output format of the comparison.
    #[arg(short, long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// How `pgtap-scan diff` and `pgtap-scan history` print.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DiffFormat {
    /// Plain text.
    Text,
    /// Markdown, for a pull-request comment.
    Markdown,
    /// JSON.
    Json,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args, Default)]
pub struct ScanArgs {
    /// Files or directories to scan [default: .]. Files named here are always scanned,
    /// whatever their extension or ignore rules.
    pub paths: Vec<PathBuf>,

    /// Report format.
    #[arg(short, long, value_parser = value::format_parser(), help_heading = "Output")]
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
    /// Annotate (--format github) only objects defined in, and stale tests written in,
    /// the files FILE lists (one path a line, relative to the current directory; - is
    /// stdin).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub changed_files: Option<PathBuf>,
    /// Annotate (--format github) only files changed since REF (git diff --name-only
    /// REF...HEAD); an error outside a git repository.
    #[arg(long, value_name = "REF", help_heading = "Output")]
    pub since: Option<String>,
    /// Fit the markdown report in N bytes: collapsed rows and sections are left out whole,
    /// with a line saying how many [default: 65000, under GitHub's 65,536-character
    /// comment limit; 0: no limit; gaps: no limit].
    #[arg(long, value_name = "N", value_parser = crate::ci::max_bytes, help_heading = "Output")]
    pub max_bytes: Option<usize>,
    /// Append one JSON line for this run to FILE (created if missing, never truncated):
    /// the UTC time, the commit (CI variables, else git), coverage per kind, counts. The
    /// HTML report draws the file's trend; pgtap-scan history FILE prints it.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub history: Option<PathBuf>,
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
    #[arg(long, value_name = "SIZE", value_parser = value::size, help_heading = "Performance")]
    pub max_memory: Option<u64>,
    /// Drop per-file detail after aggregation (auto: above 1000 files). With --format ndjson,
    /// file lines are written as they are aggregated.
    #[arg(long, value_parser = value::streaming_parser(), help_heading = "Performance")]
    pub streaming: Option<StreamingMode>,
    /// Read only shard K of N (1-based) of the files, placed by a stable hash of each
    /// path, for CI jobs that split a suite (write --format partial and combine the shards
    /// with pgtap-scan merge). auto reads the CI's variables (GitLab CI_NODE_INDEX/
    /// CI_NODE_TOTAL, CircleCI, Buildkite, Semaphore, Azure Pipelines) and is an error when
    /// none is set.
    #[arg(long, value_name = "K/N|auto", help_heading = "Performance")]
    pub shard: Option<String>,
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
    /// Read behavioural references: the relations, columns, functions and commands the
    /// tests' SQL uses, the role in effect and the expected outcome (JSON
    /// files[].references). On by default with a universe (--schema, --database-url),
    /// where behavioural coverage uses them; it costs CPU (see the README).
    #[arg(long, help_heading = "Extraction", overrides_with = "no_references")]
    pub references: bool,
    /// Do not read behavioural references, even with a universe (schema coverage is then
    /// structural only).
    #[arg(long, help_heading = "Extraction", overrides_with = "references")]
    pub no_references: bool,
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
    /// What counts as tested: structural (named by a structural assertion such as
    /// has_table or col_type_is), behavioural (exercised by the tests' SQL: called, read or
    /// written, or a trigger fired and a policy applied by such a command), or any
    /// [default: any].
    #[arg(long, value_name = "MODE", value_parser = ["structural", "behavioural", "behavioral", "any"], help_heading = "Schema coverage")]
    pub coverage: Option<String>,
    /// Exit 1 when coverage is below a percentage: overall (80) or per kind
    /// (table=100,policy=100,function=90; plurals and mview, matview, ftable, func, idx
    /// work; an unknown kind is an error). A per-kind gate on a kind the universe has no
    /// object of fails: a gate never passes on missing data. Repeatable. In a monorepo,
    /// PROJECT:SPEC gates one project (billing:policy=100); a SPEC alone gates the total.
    #[arg(long, value_name = "SPEC", help_heading = "Schema coverage")]
    pub fail_under: Vec<String>,

    /// Leave objects whose key matches GLOB out of schema coverage (repeatable; with the
    /// config's ignore = [...]): index:*_pkey, schema:extensions (and what is in it),
    /// *:audit.*. Ignored objects are listed as ignored, not counted. A migration line
    /// with `-- pgtap-scan: ignore` ignores the objects it defines.
    #[arg(long, value_name = "GLOB", help_heading = "Schema coverage")]
    pub ignore: Vec<String>,
    /// Kinds counted per kind but left out of the overall percentage (and the overall
    /// --fail-under gate), comma-separated: column,index.
    #[arg(
        long,
        value_name = "KINDS",
        value_delimiter = ',',
        help_heading = "Schema coverage"
    )]
    pub exclude_from_overall: Vec<String>,

    /// Compare with PREV.json, an earlier JSON report with schema coverage: the text and
    /// markdown reports end with coverage per kind before and after and the objects newly
    /// untested, newly tested, added, removed, and new stale tests.
    #[arg(long, value_name = "PREV.json", help_heading = "Schema coverage")]
    pub baseline: Option<PathBuf>,

    /// Exit 1 when coverage fell versus --baseline: overall, or with KINDS (comma-separated
    /// kinds as in object keys, `overall` for the overall figure) those kinds. Compares the
    /// exact counts, not rounded percentages. `--fail-on-drop table tests/` and
    /// `--fail-on-drop tests/` both scan tests/ (a value that is no kinds but a path is the
    /// path).
    #[arg(
        long,
        value_name = "KINDS",
        num_args = 0..=1,
        default_missing_value = "overall",
        help_heading = "Schema coverage"
    )]
    pub fail_on_drop: Option<String>,

    /// Scan only the monorepo project NAME (repeatable): a project declared as [[project]]
    /// in .pgtap-scan.toml or found (a folder with supabase/config.toml or its own
    /// .pgtap-scan.toml). Each project is reported with its own universe and gates.
    #[arg(long, value_name = "NAME", help_heading = "Schema coverage")]
    pub project: Vec<String>,

    /// In a Supabase project (supabase/config.toml here), count the platform's own
    /// objects too: the auth, storage, extensions, ... schemas of a --database-url
    /// universe, the API and service roles. By default they are known (tests and
    /// migrations that use them resolve) but listed as ignored, not counted.
    #[arg(long, help_heading = "Schema coverage")]
    pub include_platform_schemas: bool,

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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// The README's flag table is a second list of the flags, kept by hand: every flag
    /// must have its row (the first cell names it: `-q, --quiet`, `--include GLOB` /
    /// `--exclude GLOB`).
    #[test]
    fn the_readme_flag_table_has_every_flag() {
        let readme = include_str!("../../../README.md");
        let table = readme
            .split("| flag | meaning | default |")
            .nth(1)
            .and_then(|t| t.split("\n\n").next())
            .expect("the README has a flag table");
        let first_cells: Vec<&str> = table
            .lines()
            .filter_map(|row| row.strip_prefix("| "))
            .filter_map(|row| row.split(" | ").next())
            .collect();
        let named = |long: &str| {
            first_cells.iter().any(|cell| {
                cell.match_indices(&format!("--{long}")).any(|(at, m)| {
                    !cell[at + m.len()..].starts_with(|c: char| c.is_ascii_lowercase() || c == '-')
                })
            })
        };
        for arg in super::Cli::command().get_arguments() {
            if let Some(long) = arg.get_long().filter(|l| !matches!(*l, "help" | "version")) {
                assert!(
                    named(long),
                    "--{long} has no row in the README's flag table"
                );
            }
        }
    }
}
