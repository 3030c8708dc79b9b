//! The run snapshot of `--cache DIR` (`DIR/snapshot.bin`): the aggregator's state as the
//! last run left it (summary counts, the messages kept, the coverage database before it is
//! finished) and the content hash of every file folded into it. A rescan starts from it:
//! files whose content is the one folded are neither decoded nor folded again, a changed
//! file's old result (from the cache) is taken out and its new one folded in, a deleted
//! file's is taken out. Whatever cannot be taken out exactly (see `crate::coverage`'s
//! `undo`) makes the rescan fold every file afresh, so the report is always the one a scan
//! without the cache gives.
//!
//! Each file is kept with the stamp it had when read (size, times, inode, see
//! [`pipeline::FileStamp`]): a rescan takes a file whose `stat` gives the same stamp as
//! unchanged without looking it up in the cache or opening it.
//!
//! Layout: magic, the settings the state depends on (length-prefixed), the files (count,
//! then path, content hash and stamp each, sorted by path), the state, and an xxh3-64 of
//! every byte before it. Anything that does not check out is ignored (and replaced at the
//! end of the run).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use pipeline::{FileStamp, Folded};

use super::config::ScanConfig;
use crate::model::FileResult;
use crate::snapcodec::{Dec, Enc};

const MAGIC: &[u8; 8] = b"PGTSSNP2";
const FILE: &str = "snapshot.bin";

/// The files a snapshot holds folded, sorted by path: one copy of the paths, found by
/// their hash (shared by the workers, which ask whether a file is unchanged, and the
/// aggregator's [`Tracker`]).
#[derive(Default)]
pub(super) struct Files {
    paths: Vec<Box<str>>,
    folded: Vec<Folded>,
    /// xxh3-64 of a path -> its position.
    index: ahash::AHashMap<u64, u32>,
    /// One bit per file: met this run (by the workers, quietly, or by the aggregator).
    met: Vec<AtomicU64>,
}

impl Files {
    /// The position of `path`, if the snapshot holds it.
    fn position(&self, path: &str) -> Option<usize> {
        let &i = self
            .index
            .get(&xxhash_rust::xxh3::xxh3_64(path.as_bytes()))?;
        let i = i as usize;
        (*self.paths[i] == *path).then_some(i)
    }

    /// Marks file `i` met; whether it was met before in this run.
    fn meet(&self, i: usize) -> bool {
        let bit = 1u64 << (i % 64);
        self.met[i / 64].fetch_or(bit, Relaxed) & bit != 0
    }

    fn was_met(&self, i: usize) -> bool {
        self.met[i / 64].load(Relaxed) & (1 << (i % 64)) != 0
    }
}

/// A snapshot read back: its files and the encoded state.
pub(super) struct Snapshot {
    pub files: Arc<Files>,
    bytes: Vec<u8>,
    state_at: usize,
}

impl Snapshot {
    /// The size of the snapshot file read.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The encoded aggregator state.
    pub fn state(&self) -> Dec<'_> {
        Dec {
            b: &self.bytes[self.state_at..self.bytes.len() - 8],
        }
    }
}

/// What the state depends on besides the files: the cache's namespace (tool, extraction
/// options), how the aggregator folds, and the user (the stamps kept say a file was
/// readable by this user).
pub(super) fn settings(cfg: &ScanConfig, namespace: &[u8]) -> Vec<u8> {
    let mut s = namespace.to_vec();
    s.extend_from_slice(
        format!(
            "\nsnapshot 3 reserves streaming {:?} references {} search-path {:?} uid {}",
            cfg.streaming,
            cfg.extract.references,
            cfg.extract.search_path,
            pipeline::effective_uid()
        )
        .as_bytes(),
    );
    s
}

fn put_file(enc: &mut Enc, path: &str, f: &Folded) {
    enc.str(path);
    enc.out.extend_from_slice(&f.content_hash.to_le_bytes());
    enc.flag(f.stamp.is_some());
    if let Some(s) = &f.stamp {
        enc.uint(s.size);
        enc.out.extend_from_slice(&s.mtime_ns.to_le_bytes());
        enc.out.extend_from_slice(&s.ctime_ns.to_le_bytes());
        enc.uint(s.ino);
        enc.uint(s.dev);
    }
}

fn get_8(dec: &mut Dec<'_>) -> Option<[u8; 8]> {
    let v = dec.b.get(..8)?.try_into().ok()?;
    dec.b = &dec.b[8..];
    Some(v)
}

fn get_file<'a>(dec: &mut Dec<'a>) -> Option<(&'a str, Folded)> {
    let path = dec.str()?;
    let content_hash = u64::from_le_bytes(get_8(dec)?);
    let stamp = if dec.flag()? {
        Some(FileStamp {
            size: dec.uint()?,
            mtime_ns: i64::from_le_bytes(get_8(dec)?),
            ctime_ns: i64::from_le_bytes(get_8(dec)?),
            ino: dec.uint()?,
            dev: dec.uint()?,
        })
    } else {
        None
    };
    Some((
        path,
        Folded {
            content_hash,
            stamp,
        },
    ))
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
    let mut files = Files {
        paths: Vec::with_capacity(n),
        folded: Vec::with_capacity(n),
        index: ahash::AHashMap::with_capacity(n),
        met: (0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
    };
    for i in 0..n {
        let (path, folded) = get_file(&mut dec)?;
        // Sorted and distinct, and no two paths of one hash (then the snapshot is not used).
        if files.paths.last().is_some_and(|last| **last >= *path) {
            return None;
        }
        let key = xxhash_rust::xxh3::xxh3_64(path.as_bytes());
        if files.index.insert(key, u32::try_from(i).ok()?).is_some() {
            return None;
        }
        files.paths.push(path.into());
        files.folded.push(folded);
    }
    let state_at = body - dec.b.len();
    Some(Snapshot {
        files: Arc::new(files),
        bytes,
        state_at,
    })
}

/// Writes a snapshot atomically (a temporary file renamed over the old one).
/// `size_hint`: about how many bytes it takes (the last one's size: one allocation, not
/// a vector doubled up to a snapshot of tens of MB).
pub(super) fn save(
    dir: &Path,
    settings: &[u8],
    tracker: &Tracker,
    size_hint: usize,
    state: impl FnOnce(&mut Enc),
) -> std::io::Result<()> {
    let mut enc = Enc {
        out: Vec::with_capacity(size_hint),
    };
    enc.out.extend_from_slice(MAGIC);
    enc.uint(settings.len() as u64);
    enc.out.extend_from_slice(settings);
    tracker.write_files(&mut enc);
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

/// Removes the snapshot (a run that could not write one: the old one is out of date), and
/// the objects kept with it.
pub(super) fn remove(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(FILE));
    crate::coverage::remove_kept(dir);
}

/// The files a snapshot holds folded, for the pipeline (see [`pipeline::Known`]).
pub(super) struct Known(pub Arc<Files>);

impl pipeline::Known<FileResult> for Known {
    fn folded(&self, path: &Path) -> Option<Folded> {
        let i = self.0.position(path.to_str()?)?;
        Some(self.0.folded[i])
    }
    fn placeholder(&self) -> FileResult {
        FileResult::default()
    }
    fn folded_at(&self, path: &Path) -> Option<(Folded, usize)> {
        let i = self.0.position(path.to_str()?)?;
        Some((self.0.folded[i], i))
    }
    /// Taken without an event unless met before (then the event tells the aggregator it
    /// was met twice); [`Tracker::take_quiet`] counts them.
    fn met_quietly(&self, at: usize) -> bool {
        at < self.0.paths.len() && !self.0.meet(at)
    }
}

/// Which files the state holds while a run goes on: the snapshot's (each seen this run or
/// not, its version updated when it changed) and the files new in this run.
#[derive(Default)]
pub(super) struct Tracker {
    base: Arc<Files>,
    /// Per file of `base`: its version now, and whether this run met it.
    now: Vec<(Folded, bool)>,
    /// Files this run met that `base` does not hold.
    added: ahash::AHashMap<Box<str>, Folded>,
    /// Whether anything differs from the snapshot loaded (no snapshot: always).
    pub changed: bool,
    /// Files met whose content is the one folded (not decoded, not folded again).
    pub unchanged: u64,
    /// Why no snapshot can be written for this run.
    pub unwritable: Option<String>,
    /// Why the state started from a snapshot is not exact (every file must be folded
    /// afresh).
    pub broken: Option<String>,
}

/// What [`Tracker::meet`] found.
pub(super) enum Met {
    /// The version folded: nothing to do.
    Unchanged,
    /// Another version than folded: take the old result out, fold the new one.
    Changed,
    /// Not held before: fold it.
    New,
    /// Met twice in one run.
    Twice,
}

impl Tracker {
    pub fn from(snapshot: Option<&Snapshot>) -> Tracker {
        match snapshot {
            Some(s) => Tracker {
                now: s.files.folded.iter().map(|&f| (f, false)).collect(),
                base: Arc::clone(&s.files),
                ..Tracker::default()
            },
            None => Tracker {
                changed: true,
                ..Tracker::default()
            },
        }
    }

    /// Records that this run met `path` in version `now` (`unchanged`: the pipeline found
    /// it the version folded).
    pub fn meet(&mut self, path: &str, now: Folded, unchanged: bool) -> Met {
        if let Some(i) = self.base.position(path) {
            let (held, seen) = &mut self.now[i];
            // Also met if the workers took it quietly (`Known::met_quietly`).
            if self.base.meet(i) || *seen {
                return Met::Twice;
            }
            *seen = true;
            if *held != now {
                self.changed = true;
                *held = now;
            }
            return if unchanged {
                Met::Unchanged
            } else {
                Met::Changed
            };
        }
        self.changed = true;
        match self.added.insert(path.into(), now) {
            Some(_) => Met::Twice,
            None => Met::New,
        }
    }

    /// Counts the files the workers took quietly as unchanged (see `Known::met_quietly`):
    /// call once the pipeline is done, before [`Tracker::unseen`].
    pub fn take_quiet(&mut self) {
        for (i, (_, seen)) in self.now.iter_mut().enumerate() {
            if !*seen && self.base.was_met(i) {
                *seen = true;
                self.unchanged += 1;
            }
        }
    }

    /// Paths the state holds that this run did not meet (deleted, unreadable, skipped),
    /// sorted, with the content hash folded. They leave the state.
    pub fn unseen(&mut self) -> Vec<(PathBuf, u64)> {
        let v: Vec<(PathBuf, u64)> = self
            .now
            .iter()
            .zip(self.base.paths.iter())
            .filter(|((_, seen), _)| !seen)
            .map(|((f, _), p)| (PathBuf::from(&**p), f.content_hash))
            .collect();
        self.changed |= !v.is_empty();
        v
    }

    /// Writes the files held (met this run), sorted by path.
    fn write_files(&self, enc: &mut Enc) {
        let met = self.now.iter().filter(|(_, seen)| *seen).count();
        enc.uint((met + self.added.len()) as u64);
        let mut added: Vec<(&str, &Folded)> = self.added.iter().map(|(p, f)| (&**p, f)).collect();
        added.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut added = added.into_iter().peekable();
        for (path, (f, seen)) in self.base.paths.iter().zip(&self.now) {
            while let Some((p, f)) = added.next_if(|(p, _)| *p < &**path) {
                put_file(enc, p, f);
            }
            if *seen {
                put_file(enc, path, f);
            }
        }
        for (p, f) in added {
            put_file(enc, p, f);
        }
    }
}
