//! Everything the binary says on stderr besides the report goes through here (ripgrep's
//! `messages.rs`): errors, warnings, the `Coverage:` line and `--stats`. One place prints,
//! so `-q` is honoured and the progress bar is suspended for every line, and every text
//! that can hold a name or a path from the files scanned is made [`printable`] (a file
//! name with a newline and `::error ...` must not become a GitHub Actions command).
//!
//! Two things print elsewhere, on purpose: the signal handler, which may only use
//! async-signal-safe calls (`write(2)` of a fixed text, see `signals`), and the test hook.

use indicatif::ProgressBar;
use pgtap_scan::report::printable;

/// Where messages go and what `-q` lets through.
#[derive(Default)]
pub struct Messages {
    /// `-q`: errors only.
    quiet: bool,
    /// The progress bar while it is drawn: lines are printed around it.
    bar: Option<ProgressBar>,
}

impl Messages {
    /// `-q`: from here on, nothing but errors (and `--stats`, which was asked for).
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// Messages suspend `bar` while they print, until [`Messages::clear_bar`].
    pub fn set_bar(&mut self, bar: ProgressBar) {
        self.bar = Some(bar);
    }

    /// The bar is gone: print directly.
    pub fn clear_bar(&mut self) {
        self.bar = None;
    }

    /// `pgtap-scan: <text>`, whatever `-q` says.
    pub fn error(&self, text: &str) {
        self.print(&format!("pgtap-scan: {}", printable(text)));
    }

    /// `pgtap-scan: warning: <text>`, unless `-q`.
    pub fn warning(&self, text: &str) {
        if !self.quiet {
            self.print(&format!("pgtap-scan: warning: {}", printable(text)));
        }
    }

    /// A line of information (the `Coverage:` line), unless `-q`.
    pub fn info(&self, line: &str) {
        if !self.quiet {
            self.print(line);
        }
    }

    /// A line `--stats` asked for: printed under `-q` too.
    pub fn stats(&self, line: &str) {
        self.print(line);
    }

    fn print(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}
