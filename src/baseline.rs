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
//!
//! A monorepo's reports (issue 17) are compared project by project: each project's
//! coverage, gaps and stale tests against its own in the baseline, a project only one side
//! has as added or removed. The total compares the counts only (an object key may be in
//! two projects' universes, so its lists are the projects'). A report with projects and one
//! without are not compared ([`mismatch`]).

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
    /// A monorepo's projects, in the report's order, each with its coverage (`None`: the
    /// project has no universe); `None` for a report without projects.
    projects: Option<Vec<(String, Option<Snapshot>)>>,
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
            tested: tested_keys(s).into_iter().collect(),
            gaps,
            stale: s.stale.iter().map(|o| o.key.clone()).collect(),
            projects: None,
        }
    }

    /// A scan just made, with its projects if it has any (the total as
    /// [`Snapshot::from_coverage`], each project against its own universe).
    pub fn from_report(
        total: &crate::scan::report::SchemaCoverage,
        projects: &[crate::scan::report::ProjectReport],
    ) -> Snapshot {
        let mut s = Snapshot::from_coverage(total);
        if !projects.is_empty() {
            s.projects = Some(
                projects
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            p.schema.as_ref().map(Snapshot::from_coverage),
                        )
                    })
                    .collect(),
            );
        }
        s
    }

    /// How many projects the report has (`None`: a report without projects).
    pub fn projects(&self) -> Option<usize> {
        self.projects.as_ref().map(Vec::len)
    }

    /// Reads a parsed JSON report; the error says what is missing.
    pub fn from_json(v: &Value) -> Result<Snapshot, String> {
        if v.get("version").and_then(Value::as_u64) != Some(1) || v.get("summary").is_none() {
            return Err("not a pgtap-scan JSON report (write one with --format json)".to_string());
        }
        if v.get("coverage").is_none() {
            return Err(
                "the report has no schema coverage (scan with --schema or --database-url)"
                    .to_string(),
            );
        }
        let mut snapshot = Snapshot::from_schema_json(v)?;
        if let Some(projects) = v.get("projects") {
            let bad = || "the report's projects are malformed".to_string();
            let mut list = Vec::new();
            for p in projects.as_array().ok_or_else(bad)? {
                let name = p.get("name").and_then(Value::as_str).ok_or_else(bad)?;
                let schema = match p.get("schema") {
                    None | Some(Value::Null) => None,
                    Some(s) => {
                        let mut snap = Snapshot::from_schema_json(s)
                            .map_err(|e| format!("project {name:?}: {e}"))?;
                        // A project's tested objects are its own list (`objects` above is
                        // the whole report's).
                        snap.tested = p
                            .get("tested_objects")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .filter(|k| !snap.stale.contains(*k))
                            .map(str::to_string)
                            .collect();
                        Some(snap)
                    }
                };
                list.push((name.to_string(), schema));
            }
            snapshot.projects = Some(list);
        }
        Ok(snapshot)
    }

    /// The schema coverage members (`coverage`, `gaps`, `objects`, `stale`) of a report,
    /// or of one project's `schema`.
    fn from_schema_json(v: &Value) -> Result<Snapshot, String> {
        let bad = || "the report's coverage is malformed".to_string();
        let cov = v.get("coverage").ok_or_else(bad)?;
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
            projects: None,
        })
    }
}

/// The keys of the universe's tested objects (those not in the gaps), sorted.
pub fn tested_keys(s: &crate::scan::report::SchemaCoverage) -> Vec<String> {
    let gaps: BTreeSet<&str> = s.gaps.iter().map(|g| g.key.as_str()).collect();
    let tested: BTreeSet<&str> = s
        .objects
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| !gaps.contains(k))
        .collect();
    tested.into_iter().map(str::to_string).collect()
}

/// Why a report with projects and one without cannot be compared; `None` when they can.
pub fn mismatch(old: &Snapshot, new: &Snapshot) -> Option<String> {
    let count = |n: usize| {
        if n == 1 {
            "1 project".to_string()
        } else {
            format!("{n} projects")
        }
    };
    match (old.projects(), new.projects()) {
        (None, Some(n)) => Some(format!(
            "the baseline was taken without projects and this report has {}: one universe's \
             coverage against the projects' sum is not a comparison; take a new baseline \
             with the same config (the report of the base branch scanned with its projects)",
            count(n)
        )),
        (Some(n), None) => Some(format!(
            "the baseline has {} and this report has none: the projects' sum against one \
             universe's coverage is not a comparison; scan with the config the baseline was \
             taken with, or take a new baseline",
            count(n)
        )),
        _ => None,
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
    /// A monorepo's projects, each compared with itself in the baseline (the new report's
    /// order, then the projects it no longer has); with projects the lists above are
    /// empty (each project's are its own). Absent without projects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<ProjectChange>,
}

/// One project of a monorepo compared with itself in the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectChange {
    /// The project's name.
    pub name: String,
    /// Added, removed, compared, or not measured.
    pub status: ProjectStatus,
    /// Its comparison: for an added (removed) project only its counts after (before).
    /// None when it is not measured.
    #[serde(flatten)]
    pub comparison: Option<Comparison>,
}

/// What happened to a project since the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectStatus {
    /// Only this report has it.
    Added,
    /// Only the baseline has it.
    Removed,
    /// Both have it, with coverage: compared.
    Compared,
    /// Both have it, but one side (or both) measured no coverage (no universe).
    Unmeasured,
}

impl ProjectChange {
    /// Compared, with nothing changed: the same counts' fractions and no list entry.
    pub fn unchanged(&self) -> bool {
        self.status == ProjectStatus::Compared
            && self.comparison.as_ref().is_some_and(|c| {
                std::iter::once(&c.overall)
                    .chain(&c.by_kind)
                    .all(|k| k.status == KindStatus::Same)
                    && c.lists_empty()
            })
    }
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

    /// Per project: the kinds (or `overall`) whose coverage fell, among `only` (all when
    /// empty). A project added or removed has not fallen.
    pub fn fallen_in_projects(&self, only: &[String]) -> Vec<(&str, &KindChange)> {
        self.projects
            .iter()
            .filter(|p| p.status == ProjectStatus::Compared)
            .filter_map(|p| Some((p.name.as_str(), p.comparison.as_ref()?)))
            .flat_map(|(name, c)| c.fallen(only).into_iter().map(move |k| (name, k)))
            .collect()
    }

    /// Whether `kind` (or `overall`) is one this comparison or a project's names.
    pub fn knows_kind(&self, kind: &str) -> bool {
        kind == "overall"
            || self.by_kind.iter().any(|b| b.kind == kind)
            || self
                .projects
                .iter()
                .filter_map(|p| p.comparison.as_ref())
                .any(|c| c.knows_kind(kind))
    }

    /// No object in any list.
    pub fn lists_empty(&self) -> bool {
        self.newly_untested.is_empty()
            && self.newly_tested.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.new_stale.is_empty()
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

impl Comparison {
    /// Empties the lists of objects that moved, keeping the counts: a total over projects
    /// (whose keys would mix) and a project added or removed (all of whose objects moved).
    fn clear_lists(&mut self) {
        for list in [
            &mut self.newly_untested,
            &mut self.newly_tested,
            &mut self.added,
            &mut self.removed,
            &mut self.new_stale,
        ] {
            list.clear();
        }
    }
}

/// Compares an old report with a new one; a monorepo's project by project (see
/// [`mismatch`] for reports that cannot be compared: with projects on one side only, the
/// totals alone are compared).
pub fn compare(old: &Snapshot, new: &Snapshot) -> Comparison {
    let mut c = compare_one(old, new);
    let (Some(before), Some(after)) = (&old.projects, &new.projects) else {
        return c;
    };
    // The total's lists would mix the projects' keys: each project has its own.
    c.clear_lists();
    let counts_only = |s: &Snapshot, added: bool| {
        let empty = Snapshot::default();
        let (o, n) = if added { (&empty, s) } else { (s, &empty) };
        let mut c = compare_one(o, n);
        c.clear_lists();
        c
    };
    for (name, now) in after {
        let then = before.iter().find(|(n, _)| n == name).map(|(_, s)| s);
        c.projects.push(match then {
            None => ProjectChange {
                name: name.clone(),
                status: ProjectStatus::Added,
                comparison: now.as_ref().map(|s| counts_only(s, true)),
            },
            Some(Some(then)) if now.is_some() => ProjectChange {
                name: name.clone(),
                status: ProjectStatus::Compared,
                comparison: now.as_ref().map(|now| compare_one(then, now)),
            },
            Some(_) => ProjectChange {
                name: name.clone(),
                status: ProjectStatus::Unmeasured,
                comparison: None,
            },
        });
    }
    for (name, then) in before {
        if !after.iter().any(|(n, _)| n == name) {
            c.projects.push(ProjectChange {
                name: name.clone(),
                status: ProjectStatus::Removed,
                comparison: then.as_ref().map(|s| counts_only(s, false)),
            });
        }
    }
    c
}

/// Compares one report's (or project's) coverage with another's.
fn compare_one(old: &Snapshot, new: &Snapshot) -> Comparison {
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
        projects: Vec::new(),
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
