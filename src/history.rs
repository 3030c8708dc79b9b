//! Coverage history for nightly jobs (`--history FILE`): one JSON line per run, appended,
//! and read back for `pgtap-scan history FILE` and the HTML report's trend chart.
//!
//! A line is one [`Entry`]: `{"pgtap_scan_history": 1, "time": ..., "commit": ...,
//! "version": ..., "coverage": ..., "counts": ...}`. Appending never rewrites the file:
//! the line is written whole with one write in append mode, after a newline when the file
//! does not end with one (a line a killed run or an editor left unfinished stays a line of
//! its own). Reading skips what is not an entry (corrupt JSON, a foreign line, a newer
//! version) and says which line and why.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scan::report::ScanReport;

/// The version of the history line this build writes and reads (`pgtap_scan_history`).
pub const HISTORY_VERSION: u32 = 1;

/// One run, one line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// [`HISTORY_VERSION`]: marks the line as a pgtap-scan history entry.
    pub pgtap_scan_history: u32,
    /// When the run was, UTC, RFC 3339 to the second (`2026-12-02T02:00:00Z`).
    pub time: String,
    /// The commit scanned (from the CI's variables or `git rev-parse HEAD`), if known.
    pub commit: Option<String>,
    /// pgtap-scan's version.
    pub version: String,
    /// Schema coverage, overall and per kind; `None` without a universe.
    pub coverage: Option<Coverage>,
    /// What the scan counted.
    pub counts: Counts,
}

/// Schema coverage in a history entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Over every kind counted in the overall figure.
    pub overall: Ratio,
    /// Per kind, by kind as in object keys.
    pub by_kind: BTreeMap<String, Ratio>,
}

/// Tested objects of a universe, and the percentage as the reports print it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    /// Universe objects.
    pub objects: u64,
    /// Of them, tested.
    pub tested: u64,
    /// Percent tested, rounded down to one decimal.
    pub percent: f64,
}

/// What a run counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Test files scanned.
    pub files: u64,
    /// Assertions found.
    pub assertions: u64,
    /// Objects the assertions name.
    pub objects_asserted: u64,
    /// Untested objects of the universe (0 without one).
    pub gaps: u64,
    /// Stale tests: asserted objects the universe does not hold (0 without one).
    pub stale: u64,
}

impl Entry {
    /// The entry for a report, made at `time` (seconds since 1970, UTC) on `commit`.
    pub fn from_report(report: &ScanReport, time: i64, commit: Option<String>) -> Entry {
        let ratio = |r: &crate::scan::report::Ratio| Ratio {
            objects: r.objects,
            tested: r.tested,
            percent: r.percent,
        };
        let schema = report.schema.as_ref();
        Entry {
            pgtap_scan_history: HISTORY_VERSION,
            time: rfc3339(time),
            commit,
            version: env!("CARGO_PKG_VERSION").to_string(),
            coverage: schema.map(|s| Coverage {
                overall: ratio(&s.coverage.overall),
                by_kind: s
                    .coverage
                    .by_kind
                    .iter()
                    .map(|(k, r)| (k.to_string(), ratio(r)))
                    .collect(),
            }),
            counts: Counts {
                files: report.summary.files,
                assertions: report.summary.assertions,
                objects_asserted: report.coverage.statistics.objects,
                gaps: schema.map_or(0, |s| s.gaps.len() as u64),
                stale: schema.map_or(0, |s| s.stale.len() as u64),
            },
        }
    }
}

/// A line of a history file that is not an entry, skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based.
    pub line: usize,
    /// Why it was skipped.
    pub reason: String,
}

/// Reads a line as an entry, or says why it is not one.
pub fn parse_line(line: &str) -> Result<Entry, String> {
    let v: Value = serde_json::from_str(line)
        .map_err(|e| format!("not JSON ({e}): a corrupt line, skipped"))?;
    match v.get("pgtap_scan_history").and_then(Value::as_u64) {
        None => return Err("not a pgtap-scan history entry (a foreign line), skipped".to_string()),
        Some(n) if n > u64::from(HISTORY_VERSION) => {
            return Err(format!(
                "a history entry of version {n}, newer than this pgtap-scan reads \
                 ({HISTORY_VERSION}), skipped"
            ))
        }
        Some(_) => {}
    }
    serde_json::from_value(v).map_err(|e| format!("a malformed history entry ({e}), skipped"))
}

/// The entries of a history text, in file order, and the lines skipped. Blank lines are
/// neither.
pub fn parse(text: &str) -> (Vec<Entry>, Vec<Skipped>) {
    let (mut entries, mut skipped) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(e) => entries.push(e),
            Err(reason) => skipped.push(Skipped {
                line: i + 1,
                reason,
            }),
        }
    }
    (entries, skipped)
}

/// Reads a history file (bytes that are not UTF-8 are read as U+FFFD, so one bad line
/// cannot hide the others).
pub fn read(path: &Path) -> io::Result<(Vec<Entry>, Vec<Skipped>)> {
    let bytes = std::fs::read(path)?;
    Ok(parse(&String::from_utf8_lossy(&bytes)))
}

/// Appends `entry` as one line, creating the file if missing. Never truncates: the line
/// goes after whatever is there, after a newline if the file does not end with one.
pub fn append(path: &Path, entry: &Entry) -> io::Result<()> {
    let mut line = serde_json::to_string(entry).map_err(io::Error::from)?;
    line.push('\n');
    let mut f = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    if f.metadata()?.len() > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::End(-1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, '\n');
        }
    }
    // One write of the whole line in append mode: it lands after the end, whole.
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

/// `(year, month, day, hour, minute, second)` of a UNIX time, UTC, in the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`).
pub fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `2026-12-02T02:00:00Z`.
pub fn rfc3339(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_176_800), "2026-12-02T02:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn lines_that_are_not_entries_are_told_apart() {
        assert!(parse_line("{\"pgtap_scan_history\": 1,")
            .unwrap_err()
            .contains("not JSON"));
        assert!(parse_line("{\"name\": \"x\"}")
            .unwrap_err()
            .contains("foreign"));
        assert!(parse_line("{\"pgtap_scan_history\": 9}")
            .unwrap_err()
            .contains("newer"));
        assert!(parse_line("{\"pgtap_scan_history\": 1}")
            .unwrap_err()
            .contains("malformed"));
    }
}
