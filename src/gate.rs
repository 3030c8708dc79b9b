//! Coverage gates: `--fail-under 80` (overall) and `--fail-under table=100,policy=100`
//! (per kind), from flags or `.pgtap-scan.toml`, checked against [`crate::gaps::Coverage`].

use std::fmt;

use crate::gaps::Coverage;
use crate::object::ObjectKind;

/// One threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// `None`: overall. Always a kind a universe holds ([`ObjectKind::in_universe`]).
    pub kind: Option<ObjectKind>,
    /// Minimum percent, 0..=100.
    pub min: f64,
}

/// A spec that is not `N` or `kind=N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--fail-under {spec:?}: {reason}")]
pub struct GateError {
    /// The spec as given.
    pub spec: String,
    /// What is wrong with it, in words for a user.
    pub reason: String,
}

/// A kind a gate may name, as users write it (`tables`, `materialized-views`, `mviews`):
/// one a universe holds.
pub fn kind(name: &str) -> Option<ObjectKind> {
    ObjectKind::from_user_name(name).filter(|k| k.in_universe())
}

/// Parses one spec: `80`, `80%`, `table=100`, `tables=100`, several joined by commas.
pub fn parse(spec: &str) -> Result<Vec<Gate>, GateError> {
    let parts = spec
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (Some(k), v),
            None => (None, part),
        });
    from_parts(parts).map_err(|reason| GateError {
        spec: spec.to_string(),
        reason,
    })
}

/// The gates of `(kind, percentage)` pairs as users write them (`tables`, `80%`; no kind:
/// overall): the one reading of a threshold, for the parts of a spec and for the entries
/// of the config file's `[fail-under]` table alike. An error is the reason alone.
pub fn from_parts<'a>(
    parts: impl IntoIterator<Item = (Option<&'a str>, &'a str)>,
) -> Result<Vec<Gate>, String> {
    let mut out = Vec::new();
    for (k, value) in parts {
        let kind = match k {
            None => None,
            Some(k) => match kind(k) {
                Some(known) => Some(known),
                None => {
                    let kinds: Vec<&str> = ObjectKind::universe().map(ObjectKind::name).collect();
                    return Err(format!(
                        "{:?} is not a kind; kinds: {} (plurals work, and mview for \
                         materialized_view)",
                        k.trim(),
                        kinds.join(", ")
                    ));
                }
            },
        };
        let value = value.trim().trim_end_matches('%');
        let min: f64 = value
            .parse()
            .map_err(|_| format!("{value:?} is not a percentage"))?;
        if !(0.0..=100.0).contains(&min) {
            return Err(format!("{min} is not between 0 and 100"));
        }
        out.push(Gate { kind, min });
    }
    if out.is_empty() {
        return Err("give a percentage (80) or kind=percentage".into());
    }
    Ok(out)
}

/// A gate that was not met.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    /// The gate.
    pub gate: Gate,
    /// The percent reached (one decimal, as printed).
    pub percent: f64,
    /// Objects tested (of the kind, or all).
    pub tested: u64,
    /// Objects in the universe (of the kind, or all).
    pub objects: u64,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.objects == 0 {
            // A gate never passes on missing data: nothing of the kind is not 100% of it.
            return match &self.gate.kind {
                Some(k) => write!(
                    f,
                    "{k}={}: the universe has no {}",
                    self.gate.min,
                    k.plural()
                ),
                None => write!(f, "{}: the universe has no object", self.gate.min),
            };
        }
        let what = match &self.gate.kind {
            Some(k) => format!("{k} coverage"),
            None => "overall coverage".to_string(),
        };
        write!(
            f,
            "{what} {:.1}% ({} of {}) is below {}%",
            self.percent, self.tested, self.objects, self.gate.min
        )
    }
}

/// Every gate not met. A gate on a kind the universe has no object of fails (whatever its
/// threshold, 0 included): a gate never passes on missing data, and a gate naming a kind
/// the schema does not have is more likely a wrong schema than a finished job.
pub fn check(gates: &[Gate], coverage: &Coverage) -> Vec<Shortfall> {
    gates
        .iter()
        .filter_map(|g| {
            let r = match &g.kind {
                None => coverage.overall,
                Some(k) => coverage.by_kind.get(k).copied().unwrap_or_default(),
            };
            let percent = if r.objects == 0 { 0.0 } else { r.percent };
            (r.objects == 0 || percent < g.min).then(|| Shortfall {
                gate: g.clone(),
                percent,
                tested: r.tested,
                objects: r.objects,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaps::Ratio;

    #[test]
    fn specs_parse_with_plurals_and_percent_signs() {
        assert_eq!(
            parse("80").unwrap(),
            vec![Gate {
                kind: None,
                min: 80.0
            }]
        );
        let g =
            parse("tables=100, policies=100%,function=90,indexes=50,materialized-views=1").unwrap();
        let kinds: Vec<&str> = g
            .iter()
            .filter_map(|g| g.kind.map(ObjectKind::name))
            .collect();
        assert_eq!(
            kinds,
            ["table", "policy", "function", "index", "materialized_view"]
        );
        assert_eq!(g[2].min, 90.0);
        assert!(parse("table=abc").is_err());
        assert!(parse("120").is_err());
        assert!(parse("").is_err());
        assert!(parse("ta ble=3").is_err());
        assert!(parse("tabels=3").is_err());
        assert!(parse("policie=3").is_err());
        assert_eq!(
            parse("mviews=1").unwrap()[0].kind,
            Some(ObjectKind::MaterializedView)
        );
        for (word, k) in [
            ("schemas", ObjectKind::Schema),
            ("Columns", ObjectKind::Column),
            ("types", ObjectKind::Type),
            ("roles", ObjectKind::Role),
            ("triggers", ObjectKind::Trigger),
            ("sequences", ObjectKind::Sequence),
            ("extensions", ObjectKind::Extension),
            ("views", ObjectKind::View),
        ] {
            assert_eq!(kind(word), Some(k), "{word}");
        }
        // Kinds a universe never holds are no gate's.
        assert_eq!(kind("languages"), None);
        assert!(parse("casts=1").is_err());
    }

    // An unknown kind is an error that names every kind a gate may name (it always was;
    // typed kinds keep the list in step with what a universe holds).
    #[test]
    fn an_unknown_kind_is_an_error_naming_the_valid_kinds() {
        let e = parse("80,tabels=100").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--fail-under \"80,tabels=100\": \"tabels\" is not a kind; kinds: schema, table, \
             foreign_table, view, materialized_view, column, index, sequence, function, \
             trigger, policy, type, extension, role (plurals work, and mview for \
             materialized_view)"
        );
    }

    #[test]
    fn check_names_each_shortfall() {
        let mut c = Coverage {
            overall: Ratio {
                objects: 10,
                tested: 7,
                percent: 70.0,
            },
            ..Coverage::default()
        };
        c.by_kind.insert(
            ObjectKind::Table,
            Ratio {
                objects: 4,
                tested: 4,
                percent: 100.0,
            },
        );
        let gates = parse("80,table=100,policy=100").unwrap();
        let short = check(&gates, &c);
        assert_eq!(short.len(), 2, "{short:?}");
        assert_eq!(
            short[0].to_string(),
            "overall coverage 70.0% (7 of 10) is below 80%"
        );
        assert_eq!(
            short[1].to_string(),
            "policy=100: the universe has no policies"
        );
    }
}
