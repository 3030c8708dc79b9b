//! Report formats: one module per format, one enum to choose.

mod badge;
mod cobertura;
mod codequality;
mod common;
mod csv;
pub mod fit;
mod github;
mod html;
mod json;
mod junit;
mod lcov;
mod markdown;
mod ndjson;
mod sarif;
mod text;

use std::io::{self, Write};

use crate::scan::report::{FileReport, ScanReport};
pub use common::{count, printable};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// A terminal summary (the default).
    #[default]
    Text,
    /// The whole report as one JSON document (`schema/report.schema.json`).
    Json,
    /// One JSON line per file, per object, then a summary line.
    Ndjson,
    /// One row per object and assertion location.
    Csv,
    /// A summary for pull-request comments.
    Markdown,
    /// One self-contained HTML page.
    Html,
    /// JUnit XML: a test case per object.
    Junit,
    /// An LCOV tracefile over the migration files.
    Lcov,
    /// Cobertura XML over the migration files.
    Cobertura,
    /// GitHub Actions annotations on untested objects.
    Github,
    /// A shard's results for `pgtap-scan merge` (`crate::partial`): written by the scan
    /// itself, not by [`render`].
    Partial,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// GitLab Code Quality JSON.
    Codequality,
    /// A shields.io endpoint badge.
    Badge,
}

/// A format's name, the names it is also accepted under, what it is and what it needs.
/// The one table `--format`, `format =` in the config file, their error messages and the
/// binary's checks all read: a new format is a new row, not new branches in `main`.
pub struct FormatInfo {
    /// The name `--format` and `format =` take, and messages use.
    pub name: &'static str,
    /// The format this row describes.
    pub format: Format,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    /// Its one-line description for `--help`.
    pub help: &'static str,
    /// What the report cannot be written without.
    pub needs: Needs,
    /// `pgtap-scan gaps` lists the gaps in this format (the other formats show them in the
    /// report of a scan with a universe; [`render`] with `gaps_only` draws these).
    pub lists_gaps: bool,
    /// Writes each file as the scan aggregates it, before [`render`] writes the rest
    /// (streaming mode keeps no per-file detail to write afterwards).
    pub file_line: Option<FileLine>,
    /// The report ends with the `Coverage: N%` line CI log parsers read (GitLab's
    /// `coverage:` regex reads the last line of the job log); the caller writes it after
    /// [`render`], once it knows where the report goes.
    pub coverage_line: bool,
}

/// Writes one file of a report as the scan aggregates it (ndjson's `file_line`).
pub type FileLine = fn(&FileReport, &mut dyn Write) -> io::Result<()>;

/// What a report needs besides the scan. `why` is said when it is missing, after the
/// names of every format that needs the same for the same reason (`lcov and cobertura
/// map objects to the lines of migration files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: with a universe the report adds schema coverage, without one it does not.
    Nothing,
    /// A universe, from migrations or a live database.
    Universe {
        /// Why, said after the format names (`--format <names> <why>: add --schema ...`).
        why: &'static str,
    },
    /// A universe read from migration files: the report points at their lines.
    Migrations {
        /// Why, said after the format names (`--format lcov and cobertura <why>`).
        why: &'static str,
    },
}

/// lcov and cobertura share it, so they are named together.
const MIGRATION_LINES: Needs = Needs::Migrations {
    why: "map objects to the lines of migration files",
};

/// Every format, one row each, `text` first: the one table flags, the config file and
/// messages read.
pub const FORMATS: &[FormatInfo] = &[
    FormatInfo {
        name: "text",
        format: Format::Text,
        aliases: &[],
        help: "A terminal summary: objects per kind with bars, the most tested objects, plans.",
        needs: Needs::Nothing,
        lists_gaps: true,
        file_line: None,
        coverage_line: true,
    },
    FormatInfo {
        name: "json",
        format: Format::Json,
        aliases: &[],
        help: "The whole report (version-1 contract, schema/report.schema.json).",
        needs: Needs::Nothing,
        lists_gaps: true,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "ndjson",
        format: Format::Ndjson,
        aliases: &[],
        help: "One JSON line per file, per object, then a summary line; streams in streaming mode.",
        needs: Needs::Nothing,
        lists_gaps: false,
        file_line: Some(ndjson::file_line),
        coverage_line: false,
    },
    FormatInfo {
        name: "csv",
        format: Format::Csv,
        aliases: &[],
        help: "One row per object and assertion location (RFC 4180).",
        needs: Needs::Nothing,
        lists_gaps: true,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "markdown",
        format: Format::Markdown,
        aliases: &["md"],
        help: "A summary for pull-request comments and $GITHUB_STEP_SUMMARY.",
        needs: Needs::Nothing,
        lists_gaps: true,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "html",
        format: Format::Html,
        aliases: &[],
        help: "One self-contained page: charts, a sortable and filterable object table.",
        needs: Needs::Nothing,
        lists_gaps: false,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "junit",
        format: Format::Junit,
        aliases: &[],
        help: "JUnit XML: one test case per asserted object; with a schema, one per object of \
               the schema, untested ones failing.",
        needs: Needs::Nothing,
        lists_gaps: false,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "lcov",
        format: Format::Lcov,
        aliases: &[],
        help:
            "LCOV tracefile: objects mapped to the migration lines defining them (needs --schema).",
        needs: MIGRATION_LINES,
        lists_gaps: false,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "cobertura",
        format: Format::Cobertura,
        aliases: &[],
        help: "Cobertura XML, the same mapping, for GitLab/Jenkins/Azure coverage views.",
        needs: MIGRATION_LINES,
        lists_gaps: false,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "github",
        format: Format::Github,
        aliases: &[],
        help: "GitHub Actions annotations: a warning on the definition of each untested object.",
        needs: Needs::Universe {
            why: "annotates untested objects",
        },
        lists_gaps: true,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "partial",
        format: Format::Partial,
        aliases: &[],
        help: "A shard's results (--shard K/N) for pgtap-scan merge, which writes the report \
               (format version 1, see the README).",
        needs: Needs::Nothing,
        lists_gaps: false,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "sarif",
        format: Format::Sarif,
        aliases: &[],
        help: "SARIF 2.1.0: untested objects and stale tests as results, one rule per kind, \
               for GitHub code scanning.",
        needs: Needs::Universe {
            why: "reports untested objects",
        },
        lists_gaps: false,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "codequality",
        format: Format::Codequality,
        aliases: &["code-quality", "gitlab"],
        help: "GitLab Code Quality JSON: an issue on the definition of each untested object.",
        needs: Needs::Migrations {
            why: "points GitLab at the migration lines of untested objects",
        },
        lists_gaps: false,
        file_line: None,
        coverage_line: false,
    },
    FormatInfo {
        name: "badge",
        format: Format::Badge,
        aliases: &["shields"],
        help: "A shields.io endpoint badge: the overall schema coverage, coloured by threshold.",
        needs: Needs::Universe {
            why: "shows schema coverage",
        },
        lists_gaps: false,
        file_line: None,
        coverage_line: false,
    },
];

impl Format {
    /// Every format's name, in [`FORMATS`] order.
    pub fn names() -> Vec<&'static str> {
        FORMATS.iter().map(|f| f.name).collect()
    }

    /// A name or an alias (`md`).
    pub fn parse(s: &str) -> Option<Format> {
        FORMATS
            .iter()
            .find(|f| f.name == s || f.aliases.contains(&s))
            .map(|f| f.format)
    }

    /// The format's row of [`FORMATS`].
    pub fn info(self) -> &'static FormatInfo {
        // Every format has its row (a test checks); text's is the first.
        FORMATS
            .iter()
            .find(|f| f.format == self)
            .unwrap_or(&FORMATS[0])
    }

    /// Its name in [`FORMATS`] (what `--format` takes).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// What the report cannot be written without.
    pub fn needs(self) -> Needs {
        self.info().needs
    }

    /// Formats `pgtap-scan gaps` lists the gaps in.
    pub fn lists_gaps(self) -> bool {
        self.info().lists_gaps
    }

    /// Formats drawn from a report whose objects are still on disk
    /// ([`crate::coverage::Database::on_disk`]): JSON streams them, text does not list
    /// them. Every other format needs them loaded first
    /// ([`crate::coverage::Database::load_objects`]).
    pub fn streams_objects(self) -> bool {
        matches!(self, Format::Text | Format::Json)
    }
}

/// How a report is drawn.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Colour the text report with ANSI escapes (`--color`).
    pub color: bool,
    /// `pgtap-scan gaps`: the text report lists every gap instead of the summary.
    pub gaps_only: bool,
    /// The terminal's width, when the text report goes to one: a key and its location
    /// that would not fit are put on two lines. `None` (a file, a pipe): one line each.
    pub width: Option<usize>,
    /// `--max-bytes`: the markdown report is made to fit in this many bytes (whole table
    /// rows and collapsed sections left out, with a line saying how many); `None`: no
    /// limit.
    pub max_bytes: Option<usize>,
    /// `--changed-files` / `--since`: the GitHub annotations are limited to these files
    /// (repository-relative paths, as [`changed_path`] writes them); `None`: every file.
    pub changed_files: Option<std::sync::Arc<ChangedFiles>>,
    /// `--baseline`: the comparison the JSON report carries as `baseline`; `None`: no
    /// baseline member.
    pub baseline: Option<std::sync::Arc<crate::baseline::Baseline>>,
    /// `--history`: the history file's entries and this run's, which the HTML report
    /// draws as a trend chart; `None`: no chart.
    pub history: Option<std::sync::Arc<Vec<crate::history::Entry>>>,
    /// The repository root the CI formats' paths (lcov, cobertura, sarif, junit, github,
    /// codequality) are relative to, absolute or relative to the working directory; the
    /// CLI gives the root config's folder, so they stay repository-relative when the scan
    /// runs from a folder below it. `None`: the working directory. A path outside it is
    /// written relative to the working directory, or as the report has it.
    pub root: Option<std::path::PathBuf>,
}

/// The files a change touches, as [`changed_path`] writes them.
pub type ChangedFiles = std::collections::BTreeSet<String>;

/// A path as the changed-files list and the annotations compare it: relative to the
/// working directory when under it, without `./`, with `/` separators.
pub fn changed_path(path: &str) -> String {
    common::RepoPaths::new(None)
        .of(path.trim())
        .replace('\\', "/")
}

/// Writes the whole report. For `ndjson` in streaming mode the file lines were already
/// written as they arrived (see [`FormatInfo::file_line`]); this writes what remains.
pub fn render(
    report: &ScanReport,
    format: Format,
    opts: RenderOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    if report.coverage.on_disk.is_some() && !format.streams_objects() {
        // Never a report silently without its objects.
        return Err(io::Error::other(format!(
            "the {} report lists the coverage database's objects, which are still on disk: \
             load them first (Database::load_objects)",
            format.name()
        )));
    }
    if let (true, Some(s)) = (opts.gaps_only, &report.schema) {
        match format {
            Format::Json => return json::render_gaps(s, w),
            Format::Csv => return csv::render_gaps(s, w),
            Format::Markdown => {
                return fit::markdown(opts.max_bytes, w, |w| markdown::render_gaps(s, w))
            }
            // Text lists the gaps itself; GitHub annotations are one per gap already.
            _ => {}
        }
    }
    // CI formats' paths: from the repository root, wherever the scan ran.
    let paths = common::RepoPaths::new(opts.root.as_deref());
    match format {
        Format::Text => text::render(report, opts, w),
        Format::Json => json::render(report, opts.baseline.as_deref(), w),
        Format::Ndjson => ndjson::render(report, w),
        Format::Csv => csv::render(report, w),
        Format::Markdown => fit::markdown(opts.max_bytes, w, |w| markdown::render(report, w)),
        Format::Html => html::render(report, opts.history.as_deref().map(Vec::as_slice), w),
        Format::Junit => junit::render(report, &paths, w),
        Format::Lcov => lcov::render(report, &paths, w),
        Format::Cobertura => cobertura::render(report, &paths, w),
        Format::Github => github::render_with(report, opts.changed_files.as_deref(), &paths, w),
        Format::Sarif => sarif::render(report, &paths, w),
        Format::Codequality => codequality::render(report, &paths, w),
        Format::Badge => badge::render(report, w),
        Format::Partial => Err(io::Error::other(
            "a partial is written by a shard's scan (pgtap-scan --shard K/N --format partial), \
             not drawn from a report",
        )),
    }
}

/// How a report names the coverage mode after a percentage.
pub(crate) fn mode_phrase(m: crate::gaps::CoverageMode) -> &'static str {
    match m {
        crate::gaps::CoverageMode::Structural => "(asserted structurally)",
        crate::gaps::CoverageMode::Behavioural => "(exercised by the tests' SQL)",
        crate::gaps::CoverageMode::Any => "(asserted or exercised)",
    }
}

/// One line on the behavioural side of schema coverage.
pub(crate) fn behaviour_line(b: &crate::behaviour::resolve::Behaviour) -> String {
    let direct = b.objects.iter().filter(|o| o.direct).count();
    let via = b
        .objects
        .iter()
        .filter(|o| !o.direct && o.exercised())
        .count();
    let indirect = b.objects.iter().filter(|o| o.only_indirect()).count();
    let created = if b.created_by_tests > 0 {
        format!(", {} to what the tests create", b.created_by_tests)
    } else {
        String::new()
    };
    let mut s = format!(
        "{} in the tests' SQL, {} resolved to objects of the universe{created}; {} exercised by name, {} through triggers and policies",
        count(b.references, "reference", "references"),
        b.resolved,
        count(direct as u64, "object", "objects"),
        via
    );
    if indirect > 0 {
        s.push_str(&format!(", {indirect} only indirectly"));
    }
    if b.sql_strings_unreadable > 0 {
        s.push_str(&format!(
            "; {} not readable as SQL",
            count(b.sql_strings_unreadable, "SQL string", "SQL strings")
        ));
    }
    s
}

/// One line on what was left out on purpose (`ignore`, `--ignore`, `-- pgtap-scan:
/// ignore`, `--exclude-from-overall`), or `None` when nothing was.
pub(crate) fn ignored_line(s: &crate::gaps::SchemaCoverage) -> Option<String> {
    use crate::gaps::IgnoreSource;
    let mut parts = Vec::new();
    if !s.ignored.is_empty() {
        let by = |src: IgnoreSource| s.ignored.iter().filter(|i| i.source == src).count();
        let sources: Vec<String> = [
            (IgnoreSource::Config, "by the config's ignore"),
            (IgnoreSource::Flag, "by --ignore"),
            (IgnoreSource::Comment, "by `-- pgtap-scan: ignore` comments"),
            (IgnoreSource::Platform, "the platform's own"),
        ]
        .into_iter()
        .filter_map(|(src, what)| match by(src) {
            0 => None,
            n => Some(format!("{n} {what}")),
        })
        .collect();
        parts.push(format!(
            "{} ignored on purpose, not counted ({})",
            count(s.ignored.len() as u64, "object", "objects"),
            sources.join(", ")
        ));
    }
    let excluded = &s.coverage.excluded_from_overall;
    if !excluded.is_empty() {
        parts.push(format!(
            "the overall percentage leaves out {}",
            excluded
                .iter()
                .map(|k| k.plural())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// One line on the RLS matrices.
pub(crate) fn rls_line(tables: &[crate::behaviour::resolve::RlsTable]) -> String {
    use crate::behaviour::resolve::CellState;
    let cells: Vec<_> = tables.iter().flat_map(|t| &t.cells).collect();
    let tested = cells
        .iter()
        .filter(|c| c.state != CellState::Untested)
        .count();
    let both = cells.iter().filter(|c| c.state == CellState::Both).count();
    format!(
        "{}, {tested} of {} role × command cells tested ({both} both allowed and denied)",
        count(tables.len() as u64, "table", "tables"),
        cells.len()
    )
}

/// What a gap's tests do with it that does not count (`exercised, not asserted`), or
/// `None`.
pub(crate) fn gap_note(g: &crate::gaps::Gap) -> Option<&'static str> {
    match g.only {
        Some("exercised") => Some("exercised, not asserted"),
        Some("asserted") => Some("asserted, not exercised"),
        Some("indirect") => Some("only exercised indirectly"),
        _ => None,
    }
}

/// A gap's key, with what the tests do with it that does not count.
pub(crate) fn gap_label(g: &crate::gaps::Gap) -> String {
    match gap_note(g) {
        Some(note) => format!("{} ({note})", g.key),
        None => g.key.clone(),
    }
}

/// Why an object counts as untested, for the CI formats (GitHub annotations, JUnit
/// failures): which kind of coverage is missing under the mode. Without behavioural
/// references read (`mode` `None`), the structural wording of before.
pub(crate) fn untested_message(
    key: &str,
    only: Option<&str>,
    mode: Option<crate::gaps::CoverageMode>,
) -> String {
    use crate::gaps::CoverageMode as M;
    match (mode, only) {
        (None, _) | (Some(M::Structural), None | Some("indirect")) => {
            format!("{key} is not tested by any pgTAP assertion")
        }
        (Some(M::Structural), _) => format!(
            "{key} is exercised by the tests but not asserted by a structural pgTAP assertion"
        ),
        (Some(M::Behavioural), Some("asserted")) => {
            format!("{key} is asserted structurally, but no test exercises it")
        }
        (Some(M::Behavioural), Some("indirect")) => format!(
            "{key} is only exercised indirectly (by something the tests run), never by the tests themselves"
        ),
        (Some(M::Behavioural), _) => format!("{key} is not exercised by the tests' SQL"),
        (Some(M::Any), Some("indirect")) => format!(
            "{key} is neither asserted nor exercised by the tests (only indirectly, by something they run)"
        ),
        (Some(M::Any), _) => format!("{key} is neither asserted nor exercised by the tests"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_names_every_format_once() {
        let all = [
            Format::Text,
            Format::Json,
            Format::Ndjson,
            Format::Csv,
            Format::Markdown,
            Format::Html,
            Format::Junit,
            Format::Lcov,
            Format::Cobertura,
            Format::Github,
            Format::Partial,
            Format::Sarif,
            Format::Codequality,
            Format::Badge,
        ];
        assert_eq!(FORMATS.len(), all.len());
        for f in all {
            assert_eq!(FORMATS.iter().filter(|i| i.format == f).count(), 1, "{f:?}");
            assert_eq!(Format::parse(f.name()), Some(f));
            assert_eq!(f.info().format, f);
        }
        assert_eq!(FORMATS[0].format, Format::Text);
        assert_eq!(Format::parse("md"), Some(Format::Markdown));
        assert_eq!(Format::parse("xml"), None);
    }
}
