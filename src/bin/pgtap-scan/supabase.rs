//! Supabase out of the box (issue 16): run with no paths and no universe in a Supabase
//! project (a `supabase/config.toml` in the current directory), pgtap-scan scans
//! `supabase/tests` (where `supabase test db` looks) against `supabase/migrations`, plus
//! the declarative schema files `[db.migrations] schema_paths` names (paths relative to
//! `supabase/`, a `*` allowed in the file name: `./schemas/*.sql`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::Deserialize;

use pgtap_scan::config::UniverseSpec;

use crate::messages::Messages;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    db: Db,
}

#[derive(Debug, Default, Deserialize)]
struct Db {
    #[serde(default)]
    migrations: Migrations,
}

#[derive(Debug, Default, Deserialize)]
struct Migrations {
    #[serde(default)]
    schema_paths: Vec<String>,
}

/// `paths` and `universe` as given, or, when neither was and a Supabase project is here,
/// its tests and migrations (said on stderr).
pub fn defaults(
    paths: Vec<PathBuf>,
    universe: Option<UniverseSpec>,
    messages: &Messages,
) -> Result<(Vec<PathBuf>, Option<UniverseSpec>)> {
    let root = Path::new("supabase");
    let config = root.join("config.toml");
    if !paths.is_empty() || universe.is_some() || !config.is_file() {
        return Ok((paths, universe));
    }
    let (tests, schema) = layout(Path::new(""), messages)?;
    let said: Vec<String> = schema.iter().map(|p| p.display().to_string()).collect();
    messages.info(&format!(
        "{}: a Supabase project: scanning {} against {}",
        config.display(),
        tests.display(),
        if said.is_empty() {
            "no migrations (none found)".to_string()
        } else {
            said.join(", ")
        }
    ));
    let universe = (!schema.is_empty()).then_some(UniverseSpec::Migrations(schema));
    Ok((vec![tests], universe))
}

/// The Supabase project in `dir` (`""` for the current directory): its `supabase/tests`
/// and its universe (the `schema_paths` files, then `supabase/migrations` when it exists).
pub fn layout(dir: &Path, messages: &Messages) -> Result<(PathBuf, Vec<PathBuf>)> {
    let root = dir.join("supabase");
    let config = root.join("config.toml");
    let text = std::fs::read_to_string(&config).with_context(|| format!("{}", config.display()))?;
    // Only [db.migrations] is read; the rest of the file is Supabase's business.
    let parsed: Config = toml::from_str(&text).unwrap_or_else(|e| {
        messages.warning(&format!(
            "{}: not read as TOML ({}); schema_paths ignored",
            config.display(),
            e.to_string().lines().next().unwrap_or_default()
        ));
        Config::default()
    });
    let tests = root.join("tests");
    let mut schema = Vec::new();
    for p in &parsed.db.migrations.schema_paths {
        schema.extend(expand(&root, p, messages));
    }
    let migrations = root.join("migrations");
    if migrations.is_dir() {
        schema.push(migrations);
    }
    Ok((tests, schema))
}

/// A `schema_paths` entry, relative to `supabase/`: a path, or a folder and a file name
/// with `*` (`./schemas/*.sql`), its matches in name order (as Supabase applies them).
fn expand(root: &Path, entry: &str, messages: &Messages) -> Vec<PathBuf> {
    let path = root.join(entry.trim_start_matches("./"));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains('*') {
        return vec![path];
    }
    let dir = path.parent().unwrap_or(root);
    let (before, after) = name.split_once('*').unwrap_or((&name, ""));
    let Ok(entries) = std::fs::read_dir(dir) else {
        messages.warning(&format!(
            "supabase/config.toml: schema_paths {entry:?}: {} cannot be read",
            dir.display()
        ));
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.len() >= before.len() + after.len() && n.starts_with(before) && n.ends_with(after)
            })
        })
        .collect();
    found.sort();
    found
}
