//! Helpers for the integration tests, after ripgrep's `tests/util.rs`: a [`Dir`] is a
//! temporary tree to scan, a [`TestCommand`] runs the real `pgtap-scan` binary in it, and a
//! [`Run`] is what came back (exit code, stdout, stderr) with ways to read the reports.
//!
//! Reports are parsed with [`parse_json`], which keeps the *first* of two members with the
//! same name and records the duplicate instead of silently keeping the last one as
//! `serde_json` does: the report contract must not depend on which of two keys a reader
//! keeps, and a test says so (see `report_schema.rs`).

mod fixtures;

pub use fixtures::*;

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// One test per case, with a fresh tree and a command that runs in it.
macro_rules! pgtest {
    ($(#[$attr:meta])* $name:ident, |$dir:ident, $cmd:ident| $body:block) => {
        #[test]
        $(#[$attr])*
        fn $name() {
            let owned = $crate::util::Dir::new(stringify!($name));
            let $dir = &owned;
            #[allow(unused_mut, unused_variables)]
            let mut $cmd = $dir.command();
            $body
        }
    };
}

/// A temporary directory tree, removed when dropped.
pub struct Dir {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Dir {
    pub fn new(name: &str) -> Dir {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("pgtap-scan-test-{name}-"))
            .tempdir()
            .expect("temporary directory");
        // The binary looks for .pgtap-scan.toml from its working directory upwards; one
        // lying around above the temp dir would change every result in confusing ways.
        let stray = tmp
            .path()
            .ancestors()
            .skip(1)
            .map(|d| d.join(".pgtap-scan.toml"))
            .find(|p| p.exists());
        assert!(
            stray.is_none(),
            "a stray {stray:?} would be read by every test; remove it"
        );
        let root = tmp.path().to_path_buf();
        Dir { _tmp: tmp, root }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes `contents` to `rel`, creating parent directories.
    pub fn create(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> &Dir {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        std::fs::write(&path, contents).expect("write test file");
        self
    }

    pub fn create_dir(&self, rel: impl AsRef<Path>) -> &Dir {
        std::fs::create_dir_all(self.join(rel)).expect("create directory");
        self
    }

    /// `link` (relative to the root) pointing at `target` (taken literally).
    pub fn symlink(&self, target: impl AsRef<Path>, link: impl AsRef<Path>) -> &Dir {
        let link = self.join(link);
        if let Some(parent) = link.parent() {
            std::fs::create_dir_all(parent).expect("create parent directories");
        }
        std::os::unix::fs::symlink(target, link).expect("create symlink");
        self
    }

    /// A named pipe: a path that exists but is not a regular file.
    pub fn fifo(&self, rel: impl AsRef<Path>) -> &Dir {
        let status = std::process::Command::new("mkfifo")
            .arg(self.join(rel))
            .status()
            .expect("run mkfifo");
        assert!(status.success(), "mkfifo failed");
        self
    }

    /// Names of the entries directly in `rel`, sorted.
    pub fn list(&self, rel: impl AsRef<Path>) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.join(rel))
            .expect("read directory")
            .map(|e| {
                e.expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// `pgtap-scan` with this tree as its working directory.
    pub fn command(&self) -> TestCommand {
        let mut cmd = assert_cmd::Command::cargo_bin("pgtap-scan").expect("the binary is built");
        cmd.current_dir(&self.root).env_remove("NO_COLOR");
        TestCommand {
            cmd,
            args: Vec::new(),
        }
    }
}

/// A command line to run; arguments accumulate.
pub struct TestCommand {
    cmd: assert_cmd::Command,
    args: Vec<String>,
}

impl TestCommand {
    pub fn arg(&mut self, arg: impl AsRef<std::ffi::OsStr>) -> &mut TestCommand {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    pub fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut TestCommand {
        self.cmd.env(key, value);
        self
    }

    /// Kills the run after `d` (a hang then shows as exit code `None`).
    pub fn timeout(&mut self, d: std::time::Duration) -> &mut TestCommand {
        self.cmd.timeout(d);
        self
    }

    /// What the run reads on stdin.
    pub fn stdin(&mut self, data: impl Into<Vec<u8>>) -> &mut TestCommand {
        self.cmd.write_stdin(data);
        self
    }

    pub fn env_remove(&mut self, key: &str) -> &mut TestCommand {
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut TestCommand {
        self.cmd.current_dir(dir);
        self
    }

    /// Runs it, whatever the exit code.
    pub fn run(&mut self) -> Run {
        let out = self.cmd.output().expect("run pgtap-scan");
        Run {
            command: format!("pgtap-scan {}", self.args.join(" ")),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs it and insists on exit code `code`.
    pub fn expect_code(&mut self, code: i32) -> Run {
        let run = self.run();
        assert_eq!(run.code, Some(code), "wrong exit code\n{run}");
        run
    }

    /// Runs it with `--format json`, insists on exit 0, and returns the report.
    pub fn json(&mut self) -> Value {
        self.args(["--format", "json"]).expect_code(0).json()
    }
}

/// What a run gave back.
pub struct Run {
    pub command: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "command: {}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// stdout as one JSON document.
    pub fn json(&self) -> Value {
        parse_json(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{self}"))
            .value
    }

    /// stdout as NDJSON: one document per line.
    pub fn ndjson(&self) -> Vec<Value> {
        assert!(
            self.stdout.ends_with('\n'),
            "NDJSON ends with a newline\n{self}"
        );
        self.stdout
            .lines()
            .map(|l| {
                parse_json(l)
                    .unwrap_or_else(|e| panic!("line {l:?} is not JSON: {e}\n{self}"))
                    .value
            })
            .collect()
    }

    pub fn assert_stderr_contains(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr should contain {needle:?}\n{self}"
        );
        self
    }

    pub fn assert_stderr_lacks(&self, needle: &str) -> &Run {
        assert!(
            !self.stderr.contains(needle),
            "stderr should not contain {needle:?}\n{self}"
        );
        self
    }
}

/// The `path` of every file object of a JSON report, in report order.
pub fn paths(report: &Value) -> Vec<String> {
    report["files"]
        .as_array()
        .unwrap_or_else(|| panic!("report has no files array: {report}"))
        .iter()
        .map(|f| f["path"].as_str().expect("file path").to_string())
        .collect()
}

/// Every assertion of a JSON report, flattened.
pub fn assertions(report: &Value) -> Vec<Value> {
    report["files"]
        .as_array()
        .expect("files array")
        .iter()
        .flat_map(|f| f["assertions"].as_array().expect("assertions").clone())
        .collect()
}

/// The file object for `path`.
pub fn file<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["files"]
        .as_array()
        .expect("files array")
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no file {path} in {:?}", paths(report)))
}

/// `../shared` beside the project, if present. Absent is a skip with a note, except in CI.
pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("corpus").is_dir() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have ../shared/corpus beside the project"
    );
    eprintln!("note: ../shared/corpus is absent; corpus test skipped");
    None
}

/// A parsed JSON document and the JSON-pointer paths of members that repeat a name
/// already seen in the same object (the first one is kept).
pub struct Parsed {
    pub value: Value,
    pub duplicates: Vec<String>,
}

pub fn parse_json(text: &str) -> Result<Parsed, serde_json::Error> {
    let duplicates = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Seed {
        duplicates: &duplicates,
        pointer: String::new(),
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(Parsed {
        value,
        duplicates: duplicates.into_inner(),
    })
}

struct Seed<'a> {
    duplicates: &'a RefCell<Vec<String>>,
    pointer: String,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Seed {
            duplicates: self.duplicates,
            pointer: format!("{}/{}", self.pointer, out.len()),
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let pointer = format!("{}/{}", self.pointer, key);
            let v = map.next_value_seed(Seed {
                duplicates: self.duplicates,
                pointer: pointer.clone(),
            })?;
            if out.contains_key(&key) {
                self.duplicates.borrow_mut().push(pointer);
            } else {
                out.insert(key, v);
            }
        }
        Ok(Value::Object(out))
    }
}
