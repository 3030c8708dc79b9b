//! The plain configuration the library takes. The CLI turns flags and `.pgtap-scan.toml`
//! into this once; nothing downstream sees clap.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::object::{Aspect, ObjectKind};

/// A user-declared assertion helper: a suite's own function that wraps pgTAP
/// (`tests.rls_enabled('public','accounts')`), counted as an assertion on an object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelperDecl {
    /// `tests.rls_enabled` (only calls qualified with `tests` match) or `rls_enabled`
    /// (any qualification matches).
    pub name: String,
    /// The kind of object it asserts about, as in object keys (`table`, `column`,
    /// `function`, `policy`, ...; the catalog's words `user`, `domain`, ... work too);
    /// `none` (`None`) for a helper that tests values. Any other word is an error that
    /// lists the kinds.
    #[serde(deserialize_with = "helper_kind")]
    pub kind: Option<ObjectKind>,
    /// The role of each positional argument: `schema`, `table`, `column`, `function`,
    /// `description`, ... (the same role names as the pgTAP catalog uses); `_` to ignore one.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub aspect: Option<Aspect>,
}

/// A helper's `kind`, read as the catalog's `object_kind` is.
fn helper_kind<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ObjectKind>, D::Error> {
    let word = String::deserialize(d)?;
    ObjectKind::from_catalog_name(&word).map_err(|e| {
        serde::de::Error::custom(format!("{e}, or none for a helper that tests values"))
    })
}

/// Helpers known out of the box: supabase-test-helpers' pgTAP-compliant functions, each
/// emitting one result (`tests.rls_enabled(schema)`: every table of the schema;
/// `tests.rls_enabled(schema, table)`: that table). A declaration of the same name in the
/// config replaces them.
pub fn builtin_helpers() -> Vec<HelperDecl> {
    let decl = |kind: ObjectKind, args: &[&str]| HelperDecl {
        name: "tests.rls_enabled".into(),
        kind: Some(kind),
        args: args.iter().map(|a| a.to_string()).collect(),
        aspect: Some(Aspect::Rls),
    };
    vec![
        decl(ObjectKind::Schema, &["schema"]),
        decl(ObjectKind::Table, &["schema", "table"]),
    ]
}

impl HelperDecl {
    pub fn bare_name(&self) -> &str {
        self.name.rsplit_once('.').map_or(&self.name, |(_, n)| n)
    }
    pub fn schema(&self) -> Option<&str> {
        self.name.rsplit_once('.').map(|(s, _)| s)
    }
}

/// A suite's own function that switches the role (`[[role-helper]]` in the config), like
/// supabase-test-helpers' `tests.authenticate_as('u')` (known without being declared).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleHelperDecl {
    /// `tests.login_as` (only calls qualified with `tests` match) or `login_as` (any).
    pub name: String,
    /// The role the helper switches to, whatever its arguments.
    #[serde(default)]
    pub role: Option<String>,
    /// Or: the role is this argument (1-based), a string literal in the call.
    #[serde(default)]
    pub arg: Option<u32>,
}

impl RoleHelperDecl {
    pub fn bare_name(&self) -> &str {
        self.name.rsplit_once('.').map_or(&self.name, |(_, n)| n)
    }
    pub fn schema(&self) -> Option<&str> {
        self.name.rsplit_once('.').map(|(s, _)| s)
    }
    /// Exactly one of `role` and `arg` (>= 1) must be given.
    pub fn check(&self) -> Result<(), String> {
        match (&self.role, self.arg) {
            (Some(_), None) | (None, Some(1..)) => Ok(()),
            (None, Some(0)) => Err(format!("role-helper {}: arg counts from 1", self.name)),
            _ => Err(format!(
                "role-helper {}: give exactly one of `role` and `arg`",
                self.name
            )),
        }
    }
}

/// What extraction needs to know.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// Schemas an unqualified name resolves through; the first is used for keys.
    pub search_path: Vec<String>,
    /// Count assertions written inside comments (marked `commented`).
    pub include_commented: bool,
    pub helpers: Vec<HelperDecl>,
    /// Schemas pgTAP may be installed in: a call qualified with another schema
    /// (`rbac.has_role(..)`) is that schema's own function, not pgTAP's. Unqualified calls
    /// are always pgTAP's when the name is.
    pub pgtap_schemas: Vec<String>,
    /// Role-switching helpers besides supabase-test-helpers' (behavioural references).
    pub role_helpers: Vec<RoleHelperDecl>,
    /// Read behavioural references (relations, commands, roles, expected outcomes) into
    /// each file's result (`--references`; off by default while it costs more than the
    /// 30% the design allows).
    pub references: bool,
}

/// Where pgTAP is usually installed: `public` (its default), Supabase's `extensions`, and
/// the `tap` / `pgtap` schemas some projects create for it.
pub fn default_pgtap_schemas() -> Vec<String> {
    ["public", "extensions", "tap", "pgtap"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            search_path: vec!["public".to_string()],
            include_commented: false,
            helpers: Vec::new(),
            pgtap_schemas: default_pgtap_schemas(),
            role_helpers: Vec::new(),
            references: false,
        }
    }
}

/// The settings a `.pgtap-scan.toml` may hold; every one can also be given as a flag, and a
/// flag wins.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub paths: Option<Vec<PathBuf>>,
    pub ext: Option<Vec<String>>,
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub hidden: Option<bool>,
    pub no_ignore: Option<bool>,
    pub follow: Option<bool>,
    pub max_depth: Option<usize>,
    /// Folders psql includes may be read from besides the scanned paths.
    pub include_dirs: Option<Vec<PathBuf>>,
    /// Parse files that look binary too.
    pub binary: Option<bool>,
    pub threads: Option<usize>,
    pub batch_size: Option<usize>,
    /// A [`parse_size`] string (`"1G"`), or a bare number of MB (`512`).
    pub max_memory: Option<Size>,
    pub streaming: Option<String>,
    pub cache: Option<PathBuf>,
    pub format: Option<String>,
    pub search_path: Option<Vec<String>>,
    /// Schemas pgTAP may be installed in (qualified calls elsewhere are not pgTAP's).
    pub pgtap_schemas: Option<Vec<String>>,
    pub include_commented: Option<bool>,
    /// Read behavioural references (`--references`).
    pub references: Option<bool>,
    pub strict: Option<bool>,
    /// No test file found is not an error.
    pub allow_empty: Option<bool>,
    /// Migration / schema SQL files or folders: the universe for schema coverage.
    /// One path (`schema = "db/migrations"`) or several.
    pub schema: Option<OneOrMany<PathBuf>>,
    /// A live database as the universe (`""` means: from the PG* variables).
    pub database_url: Option<String>,
    /// Limit the universe to these schemas.
    pub schemas: Option<Vec<String>>,
    /// `fail-under = 80`, `fail-under = "table=100,policy=100"`, or a table
    /// `[fail-under]` with `overall = 80` and `table = 100` entries.
    pub fail_under: Option<FailUnder>,
    #[serde(default)]
    pub helper: Vec<HelperDecl>,
    #[serde(default)]
    pub role_helper: Vec<RoleHelperDecl>,
}

/// A setting that takes one value or a list of them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

/// The memory budget when none is given: 512 MiB.
pub const DEFAULT_MAX_MEMORY: u64 = 512 << 20;

/// `max-memory` in the config file: `512` (MB, as before) or `"1G"` like the flag.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Size {
    Megabytes(u64),
    Text(String),
}

impl Size {
    pub fn bytes(&self) -> Result<u64, String> {
        match self {
            Size::Megabytes(mb) => parse_size(&mb.to_string()),
            Size::Text(s) => parse_size(s),
        }
    }
}

/// The one SIZE syntax of `--max-memory` and `max-memory`: a number of MB (`512`), or a
/// number with a binary unit, `K`, `M` or `G`, optionally followed by `B` or `iB`
/// (`256K`, `16MB`, `512MiB`, `1.5G`). Case does not matter. Into bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
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
    Ok(bytes as u64)
}

fn not_a_size(s: &str) -> String {
    format!("{s:?} is not a size: use a number of MB (512) or a unit (256K, 16MB, 512MiB, 1.5G)")
}

/// The forms `fail-under` takes in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FailUnder {
    Overall(f64),
    Spec(String),
    ByKind(std::collections::BTreeMap<String, f64>),
}

impl FailUnder {
    /// As the flag's syntax (`80`, `table=100,...`).
    pub fn to_spec(&self) -> String {
        match self {
            FailUnder::Overall(n) => n.to_string(),
            FailUnder::Spec(s) => s.clone(),
            FailUnder::ByKind(m) => m
                .iter()
                .map(|(k, v)| {
                    if k == "overall" {
                        v.to_string()
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// Where the universe of objects for schema coverage comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UniverseSpec {
    /// Migration / schema files and folders, applied in path order.
    Migrations(Vec<PathBuf>),
    /// A live PostgreSQL; `url: None` means the PG* environment variables. `source` says
    /// who gave the URL (a password from `PGPASSWORD` does not go to a host only a config
    /// file named, unless the user opts in).
    Database {
        url: Option<String>,
        source: crate::schema::UrlSource,
    },
}

/// The name of the configuration file looked for from the current directory upwards.
pub const CONFIG_FILE_NAME: &str = ".pgtap-scan.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // Not a `source`: the message already says it, and anyhow would print it again.
    #[error("{path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
    }

    /// Walks up from `start` to find `.pgtap-scan.toml`.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            let candidate = d.join(CONFIG_FILE_NAME);
            if candidate.is_file() {
                return Some(candidate);
            }
            dir = d.parent();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_size_syntax_with_units_decimals_and_bare_megabytes() {
        assert_eq!(parse_size("512"), Ok(512 << 20));
        assert_eq!(parse_size("256K"), Ok(256 << 10));
        assert_eq!(parse_size("16m"), Ok(16 << 20));
        assert_eq!(parse_size("512MB"), Ok(512 << 20));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        assert!(parse_size("0").unwrap_err().contains("must be more than 0"));
        assert!(parse_size("lots").unwrap_err().contains("is not a size"));
        assert!(parse_size("5T").is_err());
        assert!(parse_size("1.2.3M").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert_eq!(Size::Megabytes(512).bytes(), Ok(DEFAULT_MAX_MEMORY));
        assert_eq!(Size::Text("1G".into()).bytes(), Ok(1 << 30));
    }

    // Regression: a helper declared with a kind that is none (`kind = "tabel"`) was taken
    // as is, and its assertions reported kind "tabel" on no known object; like an unknown
    // `--fail-under` kind, it is now an error that lists the kinds.
    #[test]
    fn a_helper_kind_that_is_no_kind_is_an_error_naming_the_kinds() {
        let read = |kind: &str| {
            serde_json::from_str::<HelperDecl>(&format!(
                r#"{{"name": "tests.x", "kind": "{kind}", "args": ["table"]}}"#
            ))
        };
        let e = read("tabel").unwrap_err().to_string();
        assert!(
            e.starts_with("\"tabel\" is not an object kind; kinds: schema, table, "),
            "{e}"
        );
        assert!(
            e.contains(", or none for a helper that tests values"),
            "{e}"
        );
        assert_eq!(read("table").unwrap().kind, Some(ObjectKind::Table));
        assert_eq!(read("user").unwrap().kind, Some(ObjectKind::Role));
        assert_eq!(read("none").unwrap().kind, None);
        let aspect = serde_json::from_str::<HelperDecl>(
            r#"{"name": "x", "kind": "table", "aspect": "grants"}"#,
        )
        .unwrap()
        .aspect;
        assert_eq!(aspect, Some(Aspect::Declared("grants".into())));
    }
}
