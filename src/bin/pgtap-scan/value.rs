//! One reader per setting that a flag and `.pgtap-scan.toml` both give: clap's value
//! parsers and `plan`'s reading of the file call the same function here, so `--max-memory
//! 1.5` and `max-memory = 1.5`, `--streaming always` and `streaming = "always"`, `--format
//! md` and `format = "md"`, `--fail-under table=100` and `[fail-under] table = 100` cannot
//! mean different things. Only the wording of an error says where the value came from.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use pgtap_scan::gate::{self, Gate};
use pgtap_scan::report::{Format, FORMATS};
use pgtap_scan::scan::StreamingMode;

use crate::config_file::FailUnder;

/// `--format` and `format =`: a name or an alias of [`FORMATS`].
pub fn format(name: &str) -> Option<Format> {
    Format::parse(name)
}

/// `--format` for clap: the names, aliases and help of [`FORMATS`].
pub fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(FORMATS.iter().map(|f| {
        PossibleValue::new(f.name)
            .help(f.help)
            .aliases(f.aliases.iter().copied())
    }))
    .map(|name| format(&name).unwrap_or_default())
}

/// `--streaming` and `streaming =`.
const STREAMING: &[(&str, StreamingMode)] = &[
    ("auto", StreamingMode::Auto),
    ("always", StreamingMode::Always),
    ("never", StreamingMode::Never),
];

pub fn streaming(name: &str) -> Option<StreamingMode> {
    STREAMING.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

/// The names `streaming` takes, for error messages: `auto, always, never`.
pub fn streaming_names() -> String {
    STREAMING
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--streaming` for clap.
pub fn streaming_parser() -> impl TypedValueParser<Value = StreamingMode> {
    PossibleValuesParser::new(STREAMING.iter().map(|(n, _)| PossibleValue::new(*n)))
        .map(|name| streaming(&name).unwrap_or_default())
}

/// `--max-memory` and `max-memory =`: a number of MB (`512`), or a number with a binary
/// unit, `K`, `M` or `G`, optionally followed by `B` or `iB` (`256K`, `16MB`, `512MiB`,
/// `1.5G`). Case does not matter. Into bytes, at least 1.
pub fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" => 20,
        "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(not_a_size(s)),
    };
    let n: f64 = number.parse().map_err(|_| not_a_size(s))?;
    let bytes = (n * (1u64 << shift) as f64).floor();
    if bytes.is_nan() || bytes < 1.0 {
        return Err(format!("{s:?}: must be more than 0"));
    }
    if bytes >= u64::MAX as f64 {
        return Err(format!("{s:?}: must fit in 64 bits"));
    }
    #[allow(
        clippy::cast_sign_loss,
        reason = "checked above: at least 1, below 2^64"
    )]
    Ok(bytes as u64)
}

fn not_a_size(s: &str) -> String {
    format!("{s:?} is not a size: use a number of MB (512) or a unit (256K, 16MB, 512MiB, 1.5G)")
}

/// `--fail-under SPEC` and `fail-under = "SPEC"`.
pub fn gates(spec: &str) -> Result<Vec<Gate>, gate::GateError> {
    gate::parse(spec)
}

/// `fail-under =` in any of its forms; an error is the reason alone (the caller says
/// which file). A number is read as the flag reads one (`80` and `"80"` are one gate);
/// in the `[fail-under]` table `overall` is the overall gate and every other key a kind,
/// as the flag's `kind=N` reads it.
pub fn file_gates(f: &FailUnder) -> Result<Vec<Gate>, String> {
    match f {
        FailUnder::Overall(n) => gate::from_parts([(None, n.to_string().as_str())]),
        FailUnder::Spec(s) => gate::parse(s).map_err(|e| e.reason),
        FailUnder::ByKind(m) => {
            let values: Vec<(&str, String)> =
                m.iter().map(|(k, v)| (k.as_str(), v.to_string())).collect();
            gate::from_parts(
                values
                    .iter()
                    .map(|(k, v)| ((*k != "overall").then_some(*k), v.as_str())),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_size_syntax_with_units_decimals_and_bare_megabytes() {
        const DEFAULT: u64 = pgtap_scan::config::DEFAULT_MAX_MEMORY;
        assert_eq!(size("512"), Ok(512 << 20));
        assert_eq!(size("256K"), Ok(256 << 10));
        assert_eq!(size("16m"), Ok(16 << 20));
        assert_eq!(size("512MB"), Ok(512 << 20));
        assert_eq!(size("512MiB"), Ok(512 << 20));
        assert_eq!(size("1.5G"), Ok(3 << 29));
        assert_eq!(size("1 GiB"), Ok(1 << 30));
        assert!(size("0").unwrap_err().contains("must be more than 0"));
        assert!(size("lots").unwrap_err().contains("is not a size"));
        assert!(size("5T").is_err());
        assert!(size("1.2.3M").is_err());
        assert!(size("99999999999999999999G").is_err());
        use crate::config_file::Size;
        assert_eq!(size(&Size::Megabytes(512).as_flag()), Ok(DEFAULT));
        assert_eq!(size(&Size::Number(1.5).as_flag()), Ok(3 << 19));
        assert_eq!(size(&Size::Text("1G".into()).as_flag()), Ok(1 << 30));
        assert!(size(&Size::Number(-5.0).as_flag()).is_err());
    }

    #[test]
    fn streaming_names_and_modes() {
        assert_eq!(streaming("always"), Some(StreamingMode::Always));
        assert_eq!(streaming("Always"), None);
        assert_eq!(streaming_names(), "auto, always, never");
    }

    #[test]
    fn the_fail_under_table_reads_each_entry_as_the_flag_reads_kind_n() {
        let table = |entries: &[(&str, f64)]| {
            FailUnder::ByKind(entries.iter().map(|(k, v)| (k.to_string(), *v)).collect())
        };
        let flag = gates("tables=100,80").unwrap();
        let mut from_file = file_gates(&table(&[("overall", 80.0), ("tables", 100.0)])).unwrap();
        from_file.sort_by_key(|a| a.kind);
        let mut flag_sorted = flag.clone();
        flag_sorted.sort_by_key(|a| a.kind);
        assert_eq!(from_file, flag_sorted);
        assert_eq!(
            file_gates(&FailUnder::Overall(80.0)).unwrap(),
            gates("80").unwrap()
        );
        // A key is one kind: no commas or `=` smuggling in more gates.
        assert!(file_gates(&table(&[("table=5,function", 5.0)]))
            .unwrap_err()
            .contains("is not a kind"));
        assert!(file_gates(&table(&[("table,x", 5.0)]))
            .unwrap_err()
            .contains("\"table,x\" is not a kind"));
        assert!(file_gates(&table(&[]))
            .unwrap_err()
            .contains("give a percentage"));
        assert!(file_gates(&FailUnder::Overall(500.0))
            .unwrap_err()
            .contains("500 is not between 0 and 100"));
    }
}
