//! Report formats: one module per format, one enum to choose.

pub mod cobertura;
pub mod csv;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod lcov;
pub mod markdown;
pub mod ndjson;
pub mod text;

use std::io::{self, Write};

use crate::scan::ScanReport;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Ndjson,
    Csv,
    Markdown,
    Html,
    Junit,
    Lcov,
    Cobertura,
    Github,
}

impl Format {
    pub const NAMES: &'static [&'static str] =
        &["text", "json", "ndjson", "csv", "markdown", "html", "junit"];

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "ndjson" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            "markdown" | "md" => Some(Format::Markdown),
            "html" => Some(Format::Html),
            "junit" => Some(Format::Junit),
            "lcov" => Some(Format::Lcov),
            "cobertura" => Some(Format::Cobertura),
            "github" => Some(Format::Github),
            _ => None,
        }
    }
}

/// How a report is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    pub color: bool,
    /// `pgtap-scan gaps`: the text report lists every gap instead of the summary.
    pub gaps_only: bool,
}

/// Writes the whole report. For `ndjson` in streaming mode the file lines were already
/// written as they arrived (see [`ndjson::Stream`]); this writes what remains.
pub fn render(
    report: &ScanReport,
    format: Format,
    opts: RenderOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, opts, w),
        Format::Json => json::render(report, w),
        Format::Ndjson => ndjson::render(report, w),
        Format::Csv => csv::render(report, w),
        Format::Markdown => markdown::render(report, w),
        Format::Html => html::render(report, w),
        Format::Junit => junit::render(report, w),
        Format::Lcov => lcov::render(report, w),
        Format::Cobertura => cobertura::render(report, w),
        Format::Github => github::render(report, w),
    }
}
