//! The plain configuration the library takes. The binary turns flags and `.pgtap-scan.toml`
//! into this once (`src/bin/pgtap-scan/`); nothing downstream sees clap or TOML.

use std::path::PathBuf;

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
    /// What the helper tests of the object (`existence`, `rls`, ...); none when unset.
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
    /// The name without its schema (`rls_enabled`).
    pub fn bare_name(&self) -> &str {
        self.name.rsplit_once('.').map_or(&self.name, |(_, n)| n)
    }
    /// The schema the name is qualified with, if any (`tests`).
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
    /// The name without its schema (`login_as`).
    pub fn bare_name(&self) -> &str {
        self.name.rsplit_once('.').map_or(&self.name, |(_, n)| n)
    }
    /// The schema the name is qualified with, if any (`tests`).
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Schemas an unqualified name resolves through; the first is used for keys.
    pub search_path: Vec<String>,
    /// Count assertions written inside comments (marked `commented`).
    pub include_commented: bool,
    /// The suite's own assertion helpers (`[[helper]]` and the built-in ones).
    pub helpers: Vec<HelperDecl>,
    /// Schemas pgTAP may be installed in: a call qualified with another schema
    /// (`rbac.has_role(..)`) is that schema's own function, not pgTAP's. Unqualified calls
    /// are always pgTAP's when the name is.
    pub pgtap_schemas: Vec<String>,
    /// Role-switching helpers besides supabase-test-helpers' (behavioural references).
    pub role_helpers: Vec<RoleHelperDecl>,
    /// How many of the last [`role_helpers`](Self::role_helpers) were found in the test
    /// files themselves ([`crate::role_helpers_in_files`]): a shard's partial names them
    /// apart, since a merge reads no test file to find them again.
    pub role_helpers_from_tests: usize,
    /// Read behavioural references (relations, commands, roles, expected outcomes) into
    /// each file's result (`--references`; the CLI turns it on by default only with a
    /// universe, where coverage uses them: it costs more than the 30% the design allows).
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
            role_helpers_from_tests: 0,
            references: false,
        }
    }
}

/// The memory budget when none is given: 512 MiB.
pub const DEFAULT_MAX_MEMORY: u64 = 512 << 20;

/// Where the universe of objects for schema coverage comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UniverseSpec {
    /// Migration / schema files and folders, applied in path order.
    Migrations(Vec<PathBuf>),
    /// A live PostgreSQL; `url: None` means the PG* environment variables. `source` says
    /// who gave the URL (a password from `PGPASSWORD` does not go to a host only a config
    /// file named, unless the user opts in).
    Database {
        /// The connection URL or `key=value` string; `None`: the PG* environment variables.
        url: Option<String>,
        /// Who gave the URL (a flag or a config file).
        source: UrlSource,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

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

/// Where the connection string came from: decides whether a password from the
/// environment may go to the host it names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UrlSource {
    /// The user's own command line (`--database-url`) or a library caller.
    #[default]
    Flag,
    /// A configuration file (usually a `.pgtap-scan.toml` found upwards, which the
    /// repository being scanned controls).
    ConfigFile(PathBuf),
}
