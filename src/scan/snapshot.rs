//! The run snapshot of `--cache DIR` (`DIR/snapshot.bin`): the aggregator's state as the
//! last run left it (summary counts, the messages kept, the coverage database before it is
//! finished) and the content hash of every file folded into it. A rescan starts from it:
//! files whose content is the one folded are neither decoded nor folded again, a changed
//! file's old result (from the cache) is taken out and its new one folded in, a deleted
//! file's is taken out. Whatever cannot be taken out exactly (see `crate::coverage`'s
//! `undo`) makes the rescan fold every file afresh, so the report is always the one a scan
//! without the cache gives.
//!
//! Layout: magic, the settings the state depends on (length-prefixed), the files (count,
//! then path and content hash each), the state, and an xxh3-64 of every byte before it.
//! Anything that does not check out is ignored (and replaced at the end of the run).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::config::ScanConfig;
use crate::model::FileResult;
use crate::snapcodec::{Dec, Enc};

const MAGIC: &[u8; 8] = b"PGTSSNP1";
const FILE: &str = "snapshot.bin";

/// A snapshot read back: its files and the encoded state.
pub(super) struct Snapshot {
    pub files: HashMap<String, u64>,
    bytes: Vec<u8>,
    state_at: usize,
}

impl Snapshot {
    /// The encoded aggregator state.
    pub fn state(&self) -> Dec<'_> {
        Dec {
            b: &self.bytes[self.state_at..self.bytes.len() - 8],
        }
    }
}

/// What the state depends on besides the files: the cache's namespace (tool, extraction
/// options) and how the aggregator folds.
pub(super) fn settings(cfg: &ScanConfig, namespace: &[u8]) -> Vec<u8> {
    let mut s = namespace.to_vec();
    s.extend_from_slice(
        format!(
            "\nsnapshot 1 reserves streaming {:?} references {} search-path {:?}",
            cfg.streaming, cfg.extract.references, cfg.extract.search_path
        )
        .as_bytes(),
    );
    s
}

/// The snapshot in `dir` made with `settings`, if there is a sound one.
pub(super) fn load(dir: &Path, settings: &[u8]) -> Option<Snapshot> {
    let bytes = std::fs::read(dir.join(FILE)).ok()?;
    let body = bytes.len().checked_sub(8)?;
    let sum = u64::from_le_bytes(bytes[body..].try_into().ok()?);
    if !bytes.starts_with(MAGIC) || xxhash_rust::xxh3::xxh3_64(&bytes[..body]) != sum {
        return None;
    }
    let mut dec = Dec {
        b: &bytes[MAGIC.len()..body],
    };
    let n = dec.len()?;
    let (theirs, rest) = dec.b.split_at(n);
    if theirs != settings {
        return None;
    }
    dec.b = rest;
    let n = dec.len()?;
    let mut files = HashMap::with_capacity(n);
    for _ in 0..n {
        let path = dec.str()?.to_string();
        let hash = u64::from_le_bytes(dec.b.get(..8)?.try_into().ok()?);
        dec.b = &dec.b[8..];
        files.insert(path, hash);
    }
    let state_at = body - dec.b.len();
    Some(Snapshot {
        files,
        bytes,
        state_at,
    })
}

/// Writes a snapshot atomically (a temporary file renamed over the old one).
pub(super) fn save(
    dir: &Path,
    settings: &[u8],
    files: &HashMap<String, (u64, bool)>,
    state: impl FnOnce(&mut Enc),
) -> std::io::Result<()> {
    let mut enc = Enc::default();
    enc.out.extend_from_slice(MAGIC);
    enc.uint(settings.len() as u64);
    enc.out.extend_from_slice(settings);
    enc.uint(files.len() as u64);
    let mut sorted: Vec<(&String, u64)> = files.iter().map(|(p, &(h, _))| (p, h)).collect();
    sorted.sort_unstable();
    for (p, h) in sorted {
        enc.str(p);
        enc.out.extend_from_slice(&h.to_le_bytes());
    }
    state(&mut enc);
    let sum = xxhash_rust::xxh3::xxh3_64(&enc.out);
    enc.out.extend_from_slice(&sum.to_le_bytes());
    let tmp = dir.join(format!("{FILE}.{}.tmp", std::process::id()));
    let written =
        std::fs::write(&tmp, &enc.out).and_then(|()| std::fs::rename(&tmp, dir.join(FILE)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Removes the snapshot (a run that could not write one: the old one is out of date).
pub(super) fn remove(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(FILE));
}

/// The files a snapshot holds folded, for the pipeline (see [`pipeline::Known`]).
pub(super) struct Known<'a>(pub &'a HashMap<String, u64>);

impl pipeline::Known<FileResult> for Known<'_> {
    fn folded(&self, path: &Path) -> Option<u64> {
        self.0.get(path.to_str()?).copied()
    }
    fn placeholder(&self) -> FileResult {
        FileResult::default()
    }
}

/// Which files the state holds while a run goes on: path -> (content hash, seen this run).
#[derive(Default)]
pub(super) struct Tracker {
    pub files: HashMap<String, (u64, bool)>,
    /// Files met whose content is the one folded (not decoded, not folded again).
    pub unchanged: u64,
    /// Why no snapshot can be written for this run.
    pub unwritable: Option<String>,
    /// Why the state started from a snapshot is not exact (every file must be folded
    /// afresh).
    pub broken: Option<String>,
}

impl Tracker {
    pub fn from(snapshot: Option<&Snapshot>) -> Tracker {
        Tracker {
            files: snapshot
                .map(|s| {
                    s.files
                        .iter()
                        .map(|(p, &h)| (p.clone(), (h, false)))
                        .collect()
                })
                .unwrap_or_default(),
            ..Tracker::default()
        }
    }

    /// Paths the state holds that this run did not meet (deleted, unreadable, skipped).
    pub fn unseen(&self) -> Vec<(PathBuf, u64)> {
        let mut v: Vec<(PathBuf, u64)> = self
            .files
            .iter()
            .filter(|(_, &(_, seen))| !seen)
            .map(|(p, &(h, _))| (PathBuf::from(p), h))
            .collect();
        v.sort_unstable();
        v
    }
}
