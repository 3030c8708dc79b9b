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

/// The file name the platform's objects are defined at (in the ignored list).
pub const PLATFORM_FILE: &str = "<supabase platform>";

/// What a Supabase project's migrations use but never create: the platform's schemas,
/// `auth.users` (its commonly used columns), `storage.buckets` and `storage.objects`,
/// `auth.uid()`, `auth.jwt()`, `auth.role()`, `auth.email()`, and the API roles. Read as
/// SQL before the migrations, so references to them resolve; left out of coverage.
const PLATFORM_SQL: &str = "\
CREATE SCHEMA auth;
CREATE SCHEMA storage;
CREATE SCHEMA extensions;
CREATE ROLE anon;
CREATE ROLE authenticated;
CREATE ROLE service_role;
CREATE TABLE auth.users (instance_id uuid, id uuid PRIMARY KEY, aud varchar(255), role varchar(255), email varchar(255), encrypted_password varchar(255), email_confirmed_at timestamptz, invited_at timestamptz, confirmation_token varchar(255), confirmation_sent_at timestamptz, recovery_token varchar(255), recovery_sent_at timestamptz, email_change varchar(255), last_sign_in_at timestamptz, raw_app_meta_data jsonb, raw_user_meta_data jsonb, is_super_admin boolean, created_at timestamptz, updated_at timestamptz, phone text, phone_confirmed_at timestamptz, confirmed_at timestamptz, banned_until timestamptz, deleted_at timestamptz, is_anonymous boolean);
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text, owner uuid, public boolean, created_at timestamptz, updated_at timestamptz, file_size_limit bigint, allowed_mime_types text[]);
CREATE TABLE storage.objects (id uuid PRIMARY KEY, bucket_id text, name text, owner uuid, owner_id text, metadata jsonb, path_tokens text[], created_at timestamptz, updated_at timestamptz, last_accessed_at timestamptz);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.role', true), '')::text $$;
CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.email', true), '')::text $$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''), nullif(current_setting('request.jwt.claims', true), ''))::jsonb $$;
";

/// Schemas of a Supabase database that belong to the platform (its services and
/// extensions), left out of a `--database-url` universe.
pub const PLATFORM_SCHEMAS: &[&str] = &[
    "auth",
    "storage",
    "extensions",
    "graphql",
    "graphql_public",
    "realtime",
    "_realtime",
    "supabase_functions",
    "supabase_migrations",
    "vault",
    "pgsodium",
    "pgsodium_masks",
    "net",
    "_analytics",
    "pgbouncer",
];

/// The platform's roles (API roles and the services' own).
pub const PLATFORM_ROLES: &[&str] = &[
    "anon",
    "authenticated",
    "service_role",
    "authenticator",
    "dashboard_user",
    "pgbouncer",
    "postgres",
    "supabase_admin",
    "supabase_auth_admin",
    "supabase_storage_admin",
    "supabase_functions_admin",
    "supabase_realtime_admin",
    "supabase_replication_admin",
    "supabase_read_only_user",
    "supabase_etl_admin",
    "pgsodium_keyholder",
    "pgsodium_keyiduser",
    "pgsodium_keymaker",
];

/// Extensions every Supabase database has installed for the platform.
pub const PLATFORM_EXTENSIONS: &[&str] = &[
    "pg_graphql",
    "supabase_vault",
    "pgsodium",
    "pg_stat_statements",
];

/// A Supabase project is here: `supabase/config.toml` in the current directory.
pub fn is_project() -> bool {
    Path::new("supabase").join("config.toml").is_file()
}

/// A universe holding the platform's objects, for the migrations to be read over.
pub fn platform_universe(search_path: &[String]) -> pgtap_scan::universe::Universe {
    let mut u = pgtap_scan::universe::Universe::new();
    let skipped = u.apply_sql(PLATFORM_FILE, PLATFORM_SQL.as_bytes(), search_path);
    debug_assert!(skipped.is_empty(), "{skipped:?}");
    u
}

/// The ignore rules that leave the platform's objects out of coverage. From migrations:
/// exactly the objects [`platform_universe`] defined (and the migrations did not define
/// again), so the project's own trigger on `auth.users` still counts. From a database:
/// every object in a platform schema, the platform's roles and extensions.
pub fn platform_patterns(
    universe: &pgtap_scan::universe::Universe,
    from_database: bool,
) -> Vec<pgtap_scan::ignoring::Pattern> {
    use pgtap_scan::ignoring::{IgnoreSource, Pattern};
    let texts: Vec<String> = if from_database {
        PLATFORM_SCHEMAS
            .iter()
            .flat_map(|s| [format!("schema:{s}"), format!("*:{s}.*")])
            .chain(PLATFORM_ROLES.iter().map(|r| format!("role:{r}")))
            .chain(PLATFORM_EXTENSIONS.iter().map(|e| format!("extension:{e}")))
            .collect()
    } else {
        universe
            .objects()
            .filter(|o| o.defined_at.file == PLATFORM_FILE)
            .map(|o| o.key.clone())
            .collect()
    };
    texts
        .iter()
        .filter_map(|t| Pattern::new(t, IgnoreSource::Platform).ok())
        .collect()
}
