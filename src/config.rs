//! The plain configuration the library takes. The CLI turns flags and `.pgtap-scan.toml`
//! into this once; nothing downstream sees clap.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A user-declared assertion helper: a suite's own function that wraps pgTAP
/// (`tests.rls_enabled('public','accounts')`), counted as an assertion on an object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelperDecl {
    /// `tests.rls_enabled` (only calls qualified with `tests` match) or `rls_enabled`
    /// (any qualification matches).
    pub name: String,
    /// Object kind as in object keys: `table`, `column`, `function`, `policy`, ...
    pub kind: String,
    /// The role of each positional argument: `schema`, `table`, `column`, `function`,
    /// `description`, ... (the same role names as the pgTAP catalog uses); `_` to ignore one.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub aspect: Option<String>,
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
    /// Role-switching helpers besides supabase-test-helpers' (behavioural references).
    pub role_helpers: Vec<RoleHelperDecl>,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            search_path: vec!["public".to_string()],
            include_commented: false,
            helpers: Vec::new(),
            role_helpers: Vec::new(),
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
    pub max_memory: Option<u64>,
    pub streaming: Option<String>,
    pub cache: Option<PathBuf>,
    pub format: Option<String>,
    pub search_path: Option<Vec<String>>,
    pub include_commented: Option<bool>,
    pub strict: Option<bool>,
    /// Migration / schema SQL files or folders: the universe for schema coverage.
    pub schema: Option<Vec<PathBuf>>,
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
