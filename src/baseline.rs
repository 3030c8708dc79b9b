//! Baselines: two JSON reports (`--format json` with schema coverage) compared, for
//! `pgtap-scan diff OLD.json NEW.json`.
//!
//! The comparison reads what the JSON report carries: the per-kind counts in `coverage`
//! (exact), the untested objects in `gaps`, the asserted objects in `objects` and the stale
//! tests in `stale`. A report does not list the tested objects of the universe, so an object
//! that leaves or joins the gaps is told apart as follows: one the other report's `objects`
//! lists as tested (and not stale) changed its coverage; any other was added or removed.
//! An object tested only behaviourally (`--coverage behavioural|any`) that leaves the gaps
//! is therefore reported as removed, not newly tested.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

/// Objects and tested objects of one kind (or overall) in one report: exact counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Universe objects.
    pub objects: u64,
    /// Of them, tested.
    pub tested: u64,
}

impl Counts {
    /// Percent tested, rounded down to one decimal as the reports print it (0 when empty).
    pub fn percent(self) -> f64 {
        if self.objects == 0 {
            return 0.0;
        }
        (self.tested * 1000 / self.objects) as f64 / 10.0
    }

    /// True when `self` (after) covers a smaller fraction than `before`: compares
    /// `tested/objects` exactly (cross-multiplied), never rounded percentages. A kind
    /// with no objects after has not fallen.
    pub fn fell_from(self, before: Counts) -> bool {
        if self.objects == 0 || before.objects == 0 {
            return false;
        }
        u128::from(self.tested) * u128::from(before.objects)
            < u128::from(before.tested) * u128::from(self.objects)
    }
}

/// What one report says, as far as a comparison needs it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    overall: Option<Counts>,
    by_kind: BTreeMap<String, Counts>,
    gaps: BTreeSet<String>,
    tested: BTreeSet<String>,
    stale: BTreeSet<String>,
}

/// Why a file could not be read as a report with schema coverage.
#[derive(Debug)]
pub struct BaselineError {
    /// The file, as given.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for BaselineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for BaselineError {}

fn counts(v: &Value) -> Option<Counts> {
    Some(Counts {
        objects: v.get("objects")?.as_u64()?,
        tested: v.get("tested")?.as_u64()?,
    })
}

fn keys(v: Option<&Value>) -> impl Iterator<Item = (&str, &Value)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e.get("key")?.as_str()?, e)))
}

impl Snapshot {
    /// Reads a pgtap-scan JSON report (`--format json`, version 1) with schema coverage.
    pub fn read(path: &Path) -> Result<Snapshot, BaselineError> {
        let err = |reason: String| BaselineError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            err(format!(
                "not a pgtap-scan JSON report: {e} (line {})",
                e.line()
            ))
        })?;
        Snapshot::from_json(&v).map_err(err)
    }

    /// The schema coverage of a scan just made (`--baseline`): exact, since the scan knows
    /// its tested objects.
    pub fn from_coverage(s: &crate::scan::report::SchemaCoverage) -> Snapshot {
        let ratio = |r: &crate::scan::report::Ratio| Counts {
            objects: r.objects,
            tested: r.tested,
        };
        let gaps: BTreeSet<String> = s.gaps.iter().map(|g| g.key.clone()).collect();
        Snapshot {
            overall: Some(ratio(&s.coverage.overall)),
            by_kind: s
                .coverage
                .by_kind
                .iter()
                .map(|(k, r)| (k.to_string(), ratio(r)))
                .collect(),
            tested: s
                .objects
                .iter()
                .filter(|o| !gaps.contains(&o.key))
                .map(|o| o.key.clone())
                .collect(),
            gaps,
            stale: s.stale.iter().map(|o| o.key.clone()).collect(),
        }
    }

    /// Reads a parsed JSON report; the error says what is missing.
    pub fn from_json(v: &Value) -> Result<Snapshot, String> {
        if v.get("version").and_then(Value::as_u64) != Some(1) || v.get("summary").is_none() {
            return Err("not a pgtap-scan JSON report (write one with --format json)".to_string());
        }
        let cov = v.get("coverage").ok_or_else(|| {
            "the report has no schema coverage (scan with --schema or --database-url)".to_string()
        })?;
        let bad = || "the report's coverage is malformed".to_string();
        let overall = counts(cov.get("overall").ok_or_else(bad)?).ok_or_else(bad)?;
        let mut by_kind = BTreeMap::new();
        for (kind, c) in cov
            .get("by_kind")
            .and_then(Value::as_object)
            .ok_or_else(bad)?
        {
            by_kind.insert(kind.clone(), counts(c).ok_or_else(bad)?);
        }
        let stale: BTreeSet<String> = keys(v.get("stale")).map(|(k, _)| k.to_string()).collect();
        let tested = keys(v.get("objects"))
            .filter(|(k, o)| {
                o.get("tested").and_then(Value::as_bool) == Some(true) && !stale.contains(*k)
            })
            .map(|(k, _)| k.to_string())
            .collect();
        Ok(Snapshot {
            overall: Some(overall),
            by_kind,
            gaps: keys(v.get("gaps")).map(|(k, _)| k.to_string()).collect(),
            tested,
            stale,
        })
    }
}

/// One kind's (or the overall) counts before and after; `None` where the report has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindChange {
    /// The kind as in object keys, or `overall`.
    pub kind: String,
    /// In the old report.
    pub before: Option<Counts>,
    /// In the new report.
    pub after: Option<Counts>,
    /// What happened to the kind, from the exact counts.
    pub status: KindStatus,
}

/// What happened to a kind's coverage between two reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KindStatus {
    /// Only the new report has objects of the kind.
    New,
    /// Only the old report has objects of the kind: the kind vanished, which is not a fall.
    Removed,
    /// A larger fraction is tested.
    Rose,
    /// A smaller fraction is tested (what `--fail-on-drop` fails on).
    Fell,
    /// The same fraction is tested (the counts may differ: 1/2 and 2/4).
    Same,
}

/// Objects of a kind on one side, if any.
fn present(c: Option<Counts>) -> Option<Counts> {
    c.filter(|c| c.objects > 0)
}

impl KindChange {
    /// Compares a kind's counts (a side with no objects of the kind counts as absent).
    pub fn new(kind: String, before: Option<Counts>, after: Option<Counts>) -> KindChange {
        let status = match (present(before), present(after)) {
            (None, Some(_)) => KindStatus::New,
            (_, None) => KindStatus::Removed,
            (Some(b), Some(a)) if a.fell_from(b) => KindStatus::Fell,
            (Some(b), Some(a)) if b.fell_from(a) => KindStatus::Rose,
            _ => KindStatus::Same,
        };
        KindChange {
            kind,
            before,
            after,
            status,
        }
    }

    /// The change in percentage points of the printed (rounded) percentages; `None` when
    /// either side has no objects of the kind.
    pub fn points(&self) -> Option<f64> {
        let (b, a) = (present(self.before)?, present(self.after)?);
        Some(((a.percent() - b.percent()) * 10.0).round() / 10.0)
    }

    /// True when coverage fell (exact counts, see [`Counts::fell_from`]); a kind that
    /// vanished ([`KindStatus::Removed`]) has not fallen.
    pub fn fell(&self) -> bool {
        self.status == KindStatus::Fell
    }
}

/// Two reports compared. Lists are sorted by key.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Overall coverage before and after.
    pub overall: KindChange,
    /// Per kind, by kind name; a kind either report has.
    pub by_kind: Vec<KindChange>,
    /// Objects tested before that are untested now.
    pub newly_untested: Vec<String>,
    /// Objects untested before that are tested now.
    pub newly_tested: Vec<String>,
    /// New untested objects (a new object that is tested cannot be seen: see the module docs).
    pub added: Vec<String>,
    /// Objects untested before that the new report no longer has.
    pub removed: Vec<String>,
    /// Stale tests (asserted objects the universe does not hold) new in the new report.
    pub new_stale: Vec<String>,
}

impl Comparison {
    /// Kinds (or `overall`) whose coverage fell, among `only` (all when empty).
    pub fn fallen(&self, only: &[String]) -> Vec<&KindChange> {
        std::iter::once(&self.overall)
            .chain(&self.by_kind)
            .filter(|c| c.fell())
            .filter(|c| only.is_empty() || only.contains(&c.kind))
            .collect()
    }
}

/// A scan's comparison with its `--baseline`, as the JSON report's `baseline` member
/// carries it: the baseline's file, then the [`Comparison`]'s members.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    /// The baseline report's path, as given.
    pub file: String,
    /// The comparison, old = the baseline, new = this scan.
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// Compares an old report with a new one.
pub fn compare(old: &Snapshot, new: &Snapshot) -> Comparison {
    let kinds: BTreeSet<&String> = old.by_kind.keys().chain(new.by_kind.keys()).collect();
    let by_kind = kinds
        .into_iter()
        .map(|k| {
            KindChange::new(
                k.clone(),
                old.by_kind.get(k).copied(),
                new.by_kind.get(k).copied(),
            )
        })
        .collect();
    let (mut newly_untested, mut added) = (Vec::new(), Vec::new());
    for k in new.gaps.difference(&old.gaps) {
        if old.tested.contains(k) {
            newly_untested.push(k.clone());
        } else {
            added.push(k.clone());
        }
    }
    let (mut newly_tested, mut removed) = (Vec::new(), Vec::new());
    for k in old.gaps.difference(&new.gaps) {
        if new.tested.contains(k) {
            newly_tested.push(k.clone());
        } else {
            removed.push(k.clone());
        }
    }
    Comparison {
        overall: KindChange::new("overall".to_string(), old.overall, new.overall),
        by_kind,
        newly_untested,
        newly_tested,
        added,
        removed,
        new_stale: new.stale.difference(&old.stale).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Counts, KindChange, KindStatus};

    #[test]
    fn a_kind_that_vanished_is_removed_not_a_fall() {
        let before = Some(Counts {
            objects: 4,
            tested: 3,
        });
        for after in [
            None,
            Some(Counts {
                objects: 0,
                tested: 0,
            }),
        ] {
            let c = KindChange::new("view".into(), before, after);
            assert_eq!(c.status, KindStatus::Removed);
            assert!(!c.fell());
            assert_eq!(c.points(), None);
        }
        let c = KindChange::new("view".into(), None, before);
        assert_eq!(c.status, KindStatus::New);
        let half = Counts {
            objects: 2,
            tested: 1,
        };
        let c = KindChange::new("view".into(), Some(half), before);
        assert_eq!(c.status, KindStatus::Rose);
        let c = KindChange::new("view".into(), before, Some(half));
        assert_eq!(c.status, KindStatus::Fell);
        assert!(c.fell());
    }

    #[test]
    fn a_fall_is_exact_not_rounded() {
        let before = Counts {
            objects: 3,
            tested: 2,
        };
        let after = Counts {
            objects: 3001,
            tested: 2000,
        };
        assert!(after.fell_from(before));
        assert_eq!(after.percent(), 66.6);
        assert!(!before.fell_from(before));
    }
}
