//! Fitting a markdown report into a byte budget (`--max-bytes`): GitHub refuses a comment
//! over 65,536 characters and a step summary over 1 MiB, so a report that would not fit
//! is cut, never mid-row:
//!
//! 1. the tables inside collapsed `<details>` sections keep at most the same number of
//!    rows each, the largest number that fits (found by bisection), and each cut table
//!    is followed by an `… and N more rows` line;
//! 2. if that is not enough, whole `<details>` sections are left out from the last one
//!    up, with one line saying how many;
//! 3. if that is still not enough (a budget smaller than the headline tables), the report
//!    ends at the last line boundary that fits outside a table, with a line saying so.
//!
//! The budget counts bytes, which are never fewer than characters, so a report that fits
//! in N bytes fits in N characters too.

use std::io::{self, Write};

/// The smallest budget `--max-bytes` takes: the headline and the cut lines need room.
pub const MIN_BYTES: usize = 1024;

/// Renders into a buffer and writes it cut to `max` bytes (`None`: as it is).
pub fn markdown(
    max: Option<usize>,
    w: &mut dyn Write,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let Some(max) = max else {
        return render(w);
    };
    let mut buf = Vec::new();
    render(&mut buf)?;
    let text = String::from_utf8(buf).map_err(|e| io::Error::other(e.to_string()))?;
    w.write_all(fit(&text, max).as_bytes())
}

/// One line of the report and what it is.
#[derive(Clone, Copy, PartialEq)]
enum Line {
    Text,
    /// A table row after the header and delimiter rows, inside a `<details>` section:
    /// table number.
    Row(usize),
    /// `<details>` opening a section.
    Open,
    Close,
}

struct Parsed<'a> {
    lines: Vec<(&'a str, Line)>,
}

fn parse(text: &str) -> Parsed<'_> {
    let mut lines = Vec::new();
    let mut depth = 0usize;
    let mut table: Option<(usize, usize)> = None; // (number, rows seen)
    let mut tables = 0;
    for l in text.split_inclusive('\n') {
        let t = l.trim_end();
        let kind = if t.starts_with("<details") {
            depth += 1;
            Line::Open
        } else if t.starts_with("</details>") {
            depth = depth.saturating_sub(1);
            Line::Close
        } else if t.starts_with('|') {
            let (n, seen) = table.get_or_insert_with(|| {
                tables += 1;
                (tables, 0)
            });
            *seen += 1;
            if depth > 0 && *seen > 2 {
                Line::Row(*n)
            } else {
                Line::Text
            }
        } else {
            Line::Text
        };
        if !t.starts_with('|') {
            table = None;
        }
        lines.push((l, kind));
    }
    Parsed { lines }
}

/// The report with at most `keep` rows per collapsed table, the cut ones said.
fn with_rows(p: &Parsed, keep: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < p.lines.len() {
        let (l, kind) = p.lines[i];
        if let Line::Row(n) = kind {
            let rows = p.lines[i..]
                .iter()
                .take_while(|(_, k)| *k == Line::Row(n))
                .count();
            for (l, _) in &p.lines[i..i + rows.min(keep)] {
                out.push_str(l);
            }
            if rows > keep {
                out.push_str(&format!(
                    "\n… and {} more rows (cut to fit --max-bytes; the JSON report has them all).\n",
                    rows - keep
                ));
            }
            i += rows;
        } else {
            out.push_str(l);
            i += 1;
        }
    }
    out
}

/// `text` in at most `max` bytes (see the module docs).
pub fn fit(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let p = parse(text);
    let most_rows = {
        let mut most = 0;
        let mut run = 0;
        let mut last = None;
        for (_, k) in &p.lines {
            match k {
                Line::Row(n) if last == Some(*n) => run += 1,
                Line::Row(n) => {
                    run = 1;
                    last = Some(*n);
                }
                _ => last = None,
            }
            most = most.max(run);
        }
        most
    };
    // The largest number of rows per table that fits.
    let (mut lo, mut hi) = (0usize, most_rows);
    if with_rows(&p, 0).len() <= max {
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if with_rows(&p, mid).len() <= max {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return with_rows(&p, lo);
    }
    // Whole sections, from the last up.
    let cut = with_rows(&p, 0);
    let q = parse(&cut);
    let sections: Vec<(usize, usize)> = {
        let mut v = Vec::new();
        let mut open = None;
        let mut depth = 0;
        for (i, (_, k)) in q.lines.iter().enumerate() {
            match k {
                Line::Open => {
                    if depth == 0 {
                        open = Some(i);
                    }
                    depth += 1;
                }
                Line::Close => {
                    depth -= 1;
                    if depth == 0 {
                        if let Some(o) = open.take() {
                            v.push((o, i));
                        }
                    }
                }
                _ => {}
            }
        }
        v
    };
    for dropped in 1..=sections.len() {
        let first_dropped = sections.len() - dropped;
        let mut out = String::new();
        let mut skip = vec![false; q.lines.len()];
        for &(a, b) in &sections[first_dropped..] {
            for s in &mut skip[a..=b] {
                *s = true;
            }
        }
        for (i, (l, _)) in q.lines.iter().enumerate() {
            if !skip[i] {
                out.push_str(l);
            }
        }
        out.push_str(&format!(
            "\n_{dropped} collapsed {} left out to fit --max-bytes; the JSON report has everything._\n",
            if dropped == 1 { "section" } else { "sections" }
        ));
        if out.len() <= max {
            return out;
        }
    }
    // The headline itself is too long: end at a line that is outside a table.
    let note = "\n_Cut to fit --max-bytes; the JSON report has everything._\n";
    let mut out = String::new();
    let mut safe = 0;
    let mut in_table = false;
    for (l, _) in &q.lines {
        let table_line = l.starts_with('|');
        if !table_line && !in_table {
            safe = out.len();
        }
        if out.len() + l.len() + note.len() > max {
            break;
        }
        out.push_str(l);
        in_table = table_line;
        if !table_line {
            safe = out.len();
        }
    }
    out.truncate(safe);
    out.push_str(note);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rows: usize) -> String {
        let mut s = String::from("## Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n");
        for section in ["one", "two"] {
            s.push_str(&format!(
                "<details><summary>{section}</summary>\n\n| k | v |\n|---|---|\n"
            ));
            for i in 0..rows {
                s.push_str(&format!("| `{section}.{i:04}` | {i} |\n"));
            }
            s.push_str("\n</details>\n\n");
        }
        s
    }

    #[test]
    fn a_report_that_fits_is_unchanged() {
        let r = report(10);
        assert_eq!(fit(&r, r.len()), r);
    }

    #[test]
    fn rows_are_cut_whole_and_said() {
        let r = report(500);
        for max in [2_000, 5_000, 10_000, 20_000] {
            let out = fit(&r, max);
            assert!(out.len() <= max, "{max}: {}", out.len());
            // Every table line is a whole row, and the cut is said once per table.
            for l in out.lines().filter(|l| l.starts_with('|')) {
                assert!(l.ends_with('|'), "{l}");
            }
            assert_eq!(out.matches("more rows (cut to fit").count(), 2, "{max}");
            assert_eq!(
                out.matches("<details>").count(),
                out.matches("</details>").count()
            );
            // Close to the budget: one more row per table would not fit.
            assert!(out.len() + 2 * 30 > max, "{max}: {}", out.len());
        }
    }

    #[test]
    fn sections_go_when_rows_are_not_enough() {
        let r = report(5);
        let head = r.find("<details>").expect("a section");
        // Room for the headline, one empty section and the note.
        let out = fit(&r, head + 180);
        assert!(out.len() <= head + 180, "{}", out.len());
        assert!(out.contains("left out to fit --max-bytes"), "{out}");
        assert_eq!(
            out.matches("<details>").count(),
            out.matches("</details>").count()
        );
    }

    #[test]
    fn a_tiny_budget_still_ends_outside_a_table() {
        let r = report(5);
        let out = fit(&r, 40);
        assert!(out.len() <= 40 + 60, "{}", out.len());
        assert!(!out.contains('|'), "{out}");
    }
}
