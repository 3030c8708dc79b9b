//! Monorepos (issue 17): the projects of a scan, declared in the root config's
//! `[[project]]` entries (a `path` may hold `*`) and discovered under the scanned paths
//! (a folder with a `supabase/config.toml` or its own `.pgtap-scan.toml`), unless the root
//! config says `discover-projects = false`. A declared project wins over a discovered one
//! in the same folder.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use pgtap_scan::config::{HelperDecl, RoleHelperDecl, UniverseSpec};
use pgtap_scan::gate::Gate;
use pgtap_scan::universe::UrlSource;

use crate::config_file::{FileConfig, ProjectDecl, CONFIG_FILE_NAME};
use crate::messages::Messages;

/// One project of the scan.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    /// Its folder (what a discovered project was found as; a declared one's `path`, or
    /// the config's folder).
    pub folder: PathBuf,
    /// Its test roots.
    pub tests: Vec<PathBuf>,
    pub universe: Option<UniverseSpec>,
    pub search_path: Vec<String>,
    pub schemas: Vec<String>,
    pub gates: Vec<Gate>,
    /// Its own assertion helpers (`[[project.helper]]`, or `[[helper]]` in its own
    /// `.pgtap-scan.toml`): its files are read with these and the root config's.
    pub helpers: Vec<HelperDecl>,
    /// Its own role-switching helpers, likewise.
    pub role_helpers: Vec<RoleHelperDecl>,
    /// Where it was declared or found, for messages (`.pgtap-scan.toml:12`).
    pub origin: String,
}

/// How deep under a scanned path discovery looks for project folders.
const DISCOVERY_DEPTH: usize = 4;

/// The projects `file` declares and discovery finds under `roots` (`.` when none).
/// `base` is the config file's folder, as paths in it are relative to it.
pub fn resolve(
    file: &FileConfig,
    file_name: &str,
    base: &Path,
    roots: &[PathBuf],
    search_path: &[String],
    messages: &Messages,
) -> Result<Vec<Project>> {
    let mut projects: Vec<Project> = Vec::new();
    for entry in &file.project {
        let line = line_of(&file.text, entry.span().start);
        let origin = format!("{file_name}:{line}");
        declared(
            entry.get_ref(),
            &origin,
            base,
            search_path,
            &mut projects,
            messages,
        )?;
    }
    if file.discover_projects.unwrap_or(true) {
        let config_dir = base.to_path_buf();
        let mut found = Vec::new();
        // From the config's folder when it was found above the current one (a run from
        // below the repository root finds the same projects), else from here.
        let default_root = [if above(base) {
            base.to_path_buf()
        } else {
            PathBuf::from(".")
        }];
        let roots = if roots.is_empty() {
            &default_root[..]
        } else {
            roots
        };
        for r in roots {
            if r.is_dir() {
                walk(r, 0, &config_dir, &mut found);
            }
        }
        found.sort();
        found.dedup();
        for (dir, kind) in found {
            let key = normal(&dir);
            if projects.iter().any(|p| normal(&p.folder) == key) {
                continue;
            }
            let mut p = match kind {
                Marker::Supabase => supabase_project(&dir, search_path, messages)?,
                Marker::Config => config_project(&dir, search_path, messages)?,
            };
            p.name = name_of(base, &dir);
            if projects.iter().any(|q| {
                q.tests
                    .iter()
                    .any(|t| p.tests.iter().any(|u| normal(t) == normal(u)))
            }) {
                continue;
            }
            projects.push(p);
        }
    }
    // Two projects of one name would make one report section of two.
    for (i, p) in projects.iter().enumerate() {
        if let Some(q) = projects[..i].iter().find(|q| q.name == p.name) {
            bail!(
                "{}: a second project named {:?} (the first: {}); give each project its own name",
                p.origin,
                p.name,
                q.origin
            );
        }
    }
    Ok(projects)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

/// One `[[project]]` entry: one project, or one per folder its `path` glob matches.
fn declared(
    d: &ProjectDecl,
    origin: &str,
    base: &Path,
    search_path: &[String],
    out: &mut Vec<Project>,
    messages: &Messages,
) -> Result<()> {
    let folders: Vec<(PathBuf, Option<String>)> = match &d.path {
        None => vec![(base.to_path_buf(), None)],
        Some(p) if p.contains('*') => {
            let matches = glob(base, p);
            if matches.is_empty() {
                messages.warning(&format!(
                    "{origin}: [[project]] path = {p:?} matches no folder"
                ));
            }
            matches.into_iter().map(|(f, m)| (f, Some(m))).collect()
        }
        Some(p) => {
            let f = join(base, Path::new(p));
            if !f.is_dir() {
                messages.warning(&format!(
                    "{origin}: [[project]] path = {p:?}: no such folder"
                ));
            }
            vec![(f, None)]
        }
    };
    if d.name.is_none() && d.path.is_none() {
        bail!("{origin}: [[project]] needs a name (or a path to name it by)");
    }
    if d.migrations.is_some() && d.database_url.is_some() {
        bail!("{origin}: [[project]] migrations and database-url: give one universe, not both");
    }
    let gates = match &d.fail_under {
        None => Vec::new(),
        Some(f) => crate::value::file_gates(f)
            .map_err(|reason| anyhow::anyhow!("{origin}: [[project]] fail-under: {reason}"))?,
    };
    for h in &d.role_helper {
        h.check()
            .map_err(|e| anyhow::anyhow!("{origin}: [[project]] {e}"))?;
    }
    for (folder, matched) in folders {
        let name = match (&d.name, &matched) {
            (Some(n), Some(m)) => n.replace('*', m),
            (Some(n), None) => n.clone(),
            (None, _) => name_of(base, &folder),
        };
        let supabase = folder.join("supabase").join("config.toml").is_file();
        let in_folder = folder.join("config.toml").is_file() && folder.ends_with("supabase");
        let (default_tests, default_schema) = if supabase {
            crate::supabase::layout(&folder, messages)?
        } else if in_folder {
            let parent = folder.parent().unwrap_or(Path::new("")).to_path_buf();
            crate::supabase::layout(&parent, messages)?
        } else {
            let m = folder.join("migrations");
            (
                folder.join("tests"),
                if m.is_dir() { vec![m] } else { Vec::new() },
            )
        };
        let tests = match &d.tests {
            Some(t) => t
                .clone()
                .into_vec()
                .iter()
                .map(|t| join(&folder, t))
                .collect(),
            None => vec![default_tests],
        };
        let universe = match (&d.migrations, &d.database_url) {
            (Some(m), _) => Some(UniverseSpec::Migrations(
                m.clone()
                    .into_vec()
                    .iter()
                    .map(|m| join(&folder, m))
                    .collect(),
            )),
            (None, Some(url)) => Some(UniverseSpec::Database {
                url: (!url.is_empty()).then(|| url.clone()),
                source: UrlSource::ConfigFile(PathBuf::from(origin)),
            }),
            (None, None) => {
                (!default_schema.is_empty()).then_some(UniverseSpec::Migrations(default_schema))
            }
        };
        out.push(Project {
            name,
            folder,
            tests,
            universe,
            search_path: d
                .search_path
                .clone()
                .unwrap_or_else(|| search_path.to_vec()),
            schemas: d.schemas.clone().unwrap_or_default(),
            gates: gates.clone(),
            helpers: d.helper.clone(),
            role_helpers: d.role_helper.clone(),
            origin: origin.to_string(),
        });
    }
    Ok(())
}

/// A path in a config, relative to `base` (`.` or empty: as written).
pub fn join(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() || base.as_os_str().is_empty() || base == Path::new(".") {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// A folder as a project name and in messages: `/`-separated, no leading `./`.
fn shown(p: &Path) -> String {
    let s = normal(p).display().to_string().replace('\\', "/");
    if s.is_empty() {
        std::env::current_dir()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| ".".to_string())
    } else {
        s
    }
}

/// `base` is the config's folder seen from below it (`..`, `../..`).
fn above(base: &Path) -> bool {
    base.components().next().is_some()
        && base
            .components()
            .all(|c| matches!(c, std::path::Component::ParentDir))
}

/// A project's name from its folder: the folder as seen from the config's (`base`), so a
/// run from below the repository root names projects as a run from it does.
fn name_of(base: &Path, folder: &Path) -> String {
    if !above(base) {
        return shown(folder);
    }
    let (Ok(b), Ok(f)) = (std::fs::canonicalize(base), std::fs::canonicalize(folder)) else {
        return shown(folder);
    };
    match f.strip_prefix(&b) {
        Ok(rest) if rest.as_os_str().is_empty() => f
            .file_name()
            .map_or_else(|| shown(folder), |n| n.to_string_lossy().into_owned()),
        Ok(rest) => shown(rest),
        Err(_) => shown(folder),
    }
}

fn normal(p: &Path) -> PathBuf {
    p.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The folders `pattern` (`/`-separated, `*` within a segment) matches under `base`, with
/// what the first `*` matched; in name order.
fn glob(base: &Path, pattern: &str) -> Vec<(PathBuf, String)> {
    let mut current: Vec<(PathBuf, Option<String>)> = vec![(base.to_path_buf(), None)];
    for seg in pattern.split('/').filter(|s| !s.is_empty() && *s != ".") {
        let mut next = Vec::new();
        for (dir, matched) in current {
            if !seg.contains('*') {
                let d = join(&dir, Path::new(seg));
                if d.is_dir() {
                    next.push((d, matched));
                }
                continue;
            }
            let (before, after) = seg.split_once('*').unwrap_or((seg, ""));
            let read = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &dir
            };
            let Ok(entries) = std::fs::read_dir(read) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    !n.starts_with('.')
                        && n.len() >= before.len() + after.len()
                        && n.starts_with(before)
                        && n.ends_with(after)
                })
                .collect();
            names.sort();
            for n in names {
                let m = n[before.len()..n.len() - after.len()].to_string();
                next.push((join(&dir, Path::new(&n)), matched.clone().or(Some(m))));
            }
        }
        current = next;
    }
    current
        .into_iter()
        .map(|(d, m)| (d, m.unwrap_or_default()))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Marker {
    Supabase,
    Config,
}

/// Project folders under `dir`: a `supabase/config.toml` or an own `.pgtap-scan.toml`
/// (not the root config's, in `config_dir`). Hidden folders, `node_modules` and `target`
/// are not entered.
fn walk(dir: &Path, depth: usize, config_dir: &Path, out: &mut Vec<(PathBuf, Marker)>) {
    if dir.join("supabase").join("config.toml").is_file() {
        out.push((dir.to_path_buf(), Marker::Supabase));
    } else if dir.join(CONFIG_FILE_NAME).is_file() && !same_dir(dir, config_dir) && depth > 0 {
        out.push((dir.to_path_buf(), Marker::Config));
    }
    if depth >= DISCOVERY_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            !n.starts_with('.') && n != "node_modules" && n != "target" && n != "supabase"
        })
        .map(|e| e.path())
        .collect();
    subs.sort();
    for s in subs {
        let s = s.strip_prefix("./").map(Path::to_path_buf).unwrap_or(s);
        walk(&s, depth + 1, config_dir, out);
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn supabase_project(dir: &Path, search_path: &[String], messages: &Messages) -> Result<Project> {
    let (tests, schema) = crate::supabase::layout(dir, messages)?;
    Ok(Project {
        name: shown(dir),
        folder: dir.to_path_buf(),
        tests: vec![tests],
        universe: (!schema.is_empty()).then_some(UniverseSpec::Migrations(schema)),
        search_path: search_path.to_vec(),
        schemas: Vec::new(),
        gates: Vec::new(),
        helpers: Vec::new(),
        role_helpers: Vec::new(),
        origin: format!("{} (found)", dir.join("supabase/config.toml").display()),
    })
}

/// A folder with its own `.pgtap-scan.toml`: its `paths` (default `tests`), `schema` or
/// `database-url`, `search-path`, `schemas`, `fail-under`, `[[helper]]` and
/// `[[role-helper]]`, relative to it.
fn config_project(dir: &Path, search_path: &[String], _messages: &Messages) -> Result<Project> {
    let path = dir.join(CONFIG_FILE_NAME);
    let file = FileConfig::load(&path)?;
    let origin = path.display().to_string();
    let tests = match &file.paths {
        Some(p) => p.iter().map(|t| join(dir, t)).collect(),
        None => vec![join(dir, Path::new("tests"))],
    };
    if file.schema.is_some() && file.database_url.is_some() {
        bail!("{origin}: schema and database-url: give one universe, not both");
    }
    let universe = match (&file.schema, &file.database_url) {
        (Some(s), _) => Some(UniverseSpec::Migrations(
            s.clone().into_vec().iter().map(|m| join(dir, m)).collect(),
        )),
        (None, Some(url)) => Some(UniverseSpec::Database {
            url: (!url.is_empty()).then(|| url.clone()),
            source: UrlSource::ConfigFile(path.clone()),
        }),
        (None, None) => {
            let m = dir.join("migrations");
            m.is_dir().then(|| UniverseSpec::Migrations(vec![m]))
        }
    };
    let gates = match &file.fail_under {
        None => Vec::new(),
        Some(f) => crate::value::file_gates(f)
            .map_err(|reason| anyhow::anyhow!("{origin}: fail-under: {reason}"))?,
    };
    for h in &file.role_helper {
        h.check().map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
    }
    Ok(Project {
        name: shown(dir),
        folder: dir.to_path_buf(),
        tests,
        universe,
        search_path: file.search_path.unwrap_or_else(|| search_path.to_vec()),
        schemas: file.schemas.unwrap_or_default(),
        gates,
        helpers: file.helper,
        role_helpers: file.role_helper,
        origin,
    })
}

/// `--fail-under billing:policy=100`: the project's name and its spec; `None` for a spec
/// of the whole scan (`80`, `table=100`).
pub fn project_gate(spec: &str) -> Option<(&str, &str)> {
    let (name, rest) = spec.split_once(':')?;
    (!name.contains('=') && !name.trim().is_empty()).then_some((name.trim(), rest))
}
