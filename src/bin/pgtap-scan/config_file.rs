//! `.pgtap-scan.toml`: the settings a repository keeps, as TOML gives them. Values that need
//! reading (a size, a format, a gate) stay as written here and are read by the same
//! function as the flag (`value`), when `plan` puts flags over the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use pgtap_scan::config::{HelperDecl, RoleHelperDecl};

/// The name of the configuration file looked for from the current directory upwards.
pub const CONFIG_FILE_NAME: &str = ".pgtap-scan.toml";

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
    /// A SIZE as `--max-memory` takes it (`"1G"`), or a bare number of MB (`512`).
    pub max_memory: Option<Size>,
    pub streaming: Option<String>,
    pub cache: Option<PathBuf>,
    /// `--shard`: `"2/3"` or `"auto"`.
    pub shard: Option<String>,
    pub format: Option<String>,
    pub search_path: Option<Vec<String>>,
    /// Schemas pgTAP may be installed in (qualified calls elsewhere are not pgTAP's).
    pub pgtap_schemas: Option<Vec<String>>,
    pub include_commented: Option<bool>,
    /// Read behavioural references (`--references`).
    pub references: Option<bool>,
    /// What counts as tested in schema coverage: `structural`, `behavioural` or `any`
    /// (`--coverage`).
    pub coverage: Option<String>,
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
    /// Globs over object keys left out of schema coverage (`--ignore`).
    pub ignore: Option<Vec<String>>,
    /// Kinds left out of the overall percentage (`--exclude-from-overall`).
    pub exclude_from_overall: Option<Vec<String>>,
    /// An earlier JSON report to compare with (`--baseline`).
    pub baseline: Option<PathBuf>,
    /// `--fail-on-drop`: `true` (overall), `"table,overall"` or `["table", "overall"]`;
    /// applies when there is a baseline.
    pub fail_on_drop: Option<FailOnDrop>,
    /// Count a Supabase platform's own objects too (`--include-platform-schemas`).
    pub include_platform_schemas: Option<bool>,
    /// A history file to append this run's line to (`--history`).
    pub history: Option<PathBuf>,
    #[serde(default)]
    pub helper: Vec<HelperDecl>,
    #[serde(default)]
    pub role_helper: Vec<RoleHelperDecl>,
    /// A monorepo's projects (`[[project]]`), each with its tests, universe and gates.
    #[serde(default)]
    pub project: Vec<toml::Spanned<ProjectDecl>>,
    /// Whether folders with a `supabase/config.toml` or their own `.pgtap-scan.toml` under
    /// the scanned paths are projects (default true).
    pub discover_projects: Option<bool>,
    /// The file's text, for the line of a `[[project]]` entry in a message.
    #[serde(skip)]
    pub text: String,
}

/// One `[[project]]` entry: paths are relative to the config file's folder, and `tests`
/// and `migrations` relative to `path` when it is given. `path` may hold `*` in a segment
/// (`services/*/supabase`): one project per folder it matches, `*` in `name` standing for
/// what it matched.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectDecl {
    pub name: Option<String>,
    pub path: Option<String>,
    pub tests: Option<OneOrMany<PathBuf>>,
    pub migrations: Option<OneOrMany<PathBuf>>,
    pub database_url: Option<String>,
    pub search_path: Option<Vec<String>>,
    pub schemas: Option<Vec<String>>,
    pub fail_under: Option<FailUnder>,
    /// The project's own assertion helpers (`[[project.helper]]`), besides the root
    /// config's (one of the same name replaces the root's for this project).
    #[serde(default)]
    pub helper: Vec<HelperDecl>,
    /// The project's own role-switching helpers (`[[project.role-helper]]`), likewise.
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
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        match self {
            OneOrMany::One(t) => std::slice::from_mut(t).iter_mut(),
            OneOrMany::Many(v) => v.iter_mut(),
        }
    }

    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

/// `max-memory`: a number (of MB, as `--max-memory 512` and `--max-memory 1.5`) or a SIZE
/// text (`"1G"`), both read by [`crate::value::size`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Size {
    Megabytes(u64),
    /// `1.5` (MB), or a negative number, which the size reader then rejects.
    Number(f64),
    Text(String),
}

impl Size {
    /// As the flag would have it.
    pub fn as_flag(&self) -> String {
        match self {
            Size::Megabytes(mb) => mb.to_string(),
            Size::Number(n) => n.to_string(),
            Size::Text(s) => s.clone(),
        }
    }
}

/// The forms `fail-under` takes in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FailUnder {
    /// `fail-under = 80`.
    Overall(f64),
    /// `fail-under = "table=100,policy=100"`, as the flag.
    Spec(String),
    /// `[fail-under]` with `overall = 80`, `table = 100`, ... (sorted by kind).
    ByKind(BTreeMap<String, f64>),
}

/// The forms `fail-on-drop` takes in the config file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FailOnDrop {
    /// `true`: overall, as the bare flag; `false`: off.
    On(bool),
    /// `"table,overall"`, as `--fail-on-drop=table,overall`.
    Spec(String),
    /// `["table", "overall"]`.
    Kinds(Vec<String>),
}

impl FailOnDrop {
    /// The kinds as the flag would give them, or `None` when off.
    pub fn as_flag(&self) -> Option<String> {
        match self {
            FailOnDrop::On(true) => Some("overall".to_string()),
            FailOnDrop::On(false) => None,
            FailOnDrop::Spec(s) => Some(s.clone()),
            FailOnDrop::Kinds(k) => Some(k.join(",")),
        }
    }
}

/// A config file that cannot be read or parsed.
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
        let mut config: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        config.text = text;
        Ok(config)
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

    fn max_memory(toml: &str) -> Option<Size> {
        toml::from_str::<FileConfig>(toml)
            .expect("parses")
            .max_memory
    }

    #[test]
    fn fail_on_drop_takes_a_switch_a_spec_or_a_list() {
        let read = |toml: &str| {
            toml::from_str::<FileConfig>(toml)
                .expect("parses")
                .fail_on_drop
                .and_then(|f| f.as_flag())
        };
        assert_eq!(read("fail-on-drop = true").as_deref(), Some("overall"));
        assert_eq!(read("fail-on-drop = false"), None);
        assert_eq!(
            read("fail-on-drop = \"table,view\"").as_deref(),
            Some("table,view")
        );
        assert_eq!(
            read("fail-on-drop = [\"table\", \"overall\"]").as_deref(),
            Some("table,overall")
        );
    }

    #[test]
    fn max_memory_takes_what_the_flag_takes() {
        assert_eq!(max_memory("max-memory = 512"), Some(Size::Megabytes(512)));
        // A regression: a decimal number of MB was a TOML type error, `--max-memory 1.5` not.
        assert_eq!(max_memory("max-memory = 1.5"), Some(Size::Number(1.5)));
        assert_eq!(
            max_memory("max-memory = \"1G\""),
            Some(Size::Text("1G".into()))
        );
    }
}
