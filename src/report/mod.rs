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

/// `s` safe to print on a terminal or in a CI log: control characters (C0, DEL, C1, so
/// newlines and the ESC of terminal sequences) and the bidirectional-text controls that
/// can reorder what a reader sees are written as escapes (`\n`, `\r`, `\t`, `\u{1b}`).
/// Names and paths come from the files scanned; printed raw, a file name with a newline
/// and `::error ...` would inject a GitHub Actions command into the job log, and an ESC
/// sequence would drive the terminal. Everything else, backslashes included, is kept.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod printable_tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(printable("plain/path.sql"), "plain/path.sql");
        assert_eq!(
            printable("a\n::error file=x::pwned\x1b[31m\u{202E}é\\"),
            "a\\n::error file=x::pwned\\u{1b}[31m\\u{202e}é\\"
        );
        assert_eq!(printable("\r\t\u{7f}\u{85}"), "\\r\\t\\u{7f}\\u{85}");
    }
}
