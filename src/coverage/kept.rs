//! The report's objects kept rendered in the `--cache` folder (`DIR/objects.bin`), so that a
//! rescan renders only the objects a changed, added or deleted file touched and copies the
//! rest as bytes (issue 15: most of a rescan was finishing and writing objects no file
//! changed).
//!
//! Each entry of the database remembers where its object's JSON text is ([`Frag`]: offset,
//! length and xxh3-64 of the text), and the run snapshot keeps that with the entry. Adding
//! or taking out a file forgets it for every entry the file touches; before the snapshot
//! is written, [`super::Builder::render_kept`] renders the objects of the entries that have
//! none and appends them to the file. The JSON report is then the kept texts in key order,
//! read in long runs (the texts of neighbouring keys are mostly neighbours in the file).
//!
//! Layout: magic, the file's id (made when the file is), then the texts (`\n    {...}`, an
//! object as the report's `objects` array holds it), appended. A text whose hash does not
//! check out (a damaged file, another file under the same name) is rendered afresh from
//! the entry, so the report never depends on the file being sound. Once more than half the
//! file is texts no entry points to, it is written afresh.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::spill::Rec;
use super::{Converter, Entry, ObjectCoverage};

const MAGIC: &[u8; 8] = b"PGTSOBJ1";
const FILE: &str = "objects.bin";
const HEAD: u64 = 16;
/// Each object's text starts a line indented as the report's `objects` array has it.
const INDENT: &[u8] = b"\n    ";
/// Texts read from the file at a time when the report is written.
const READ_AT_ONCE: u64 = 4 << 20;

/// Where an entry's object's JSON text is in the kept file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frag {
    pub at: u64,
    pub len: u32,
    pub hash: u64,
}

/// The kept file the entries' [`Frag`]s point into: its id and how long it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KeptFile {
    pub id: u64,
    pub len: u64,
}

/// Removes the kept objects in `dir`.
pub(crate) fn remove(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(FILE));
}

/// The report's object of an entry.
pub(super) fn object(
    convert: &Converter,
    key: &str,
    e: &Entry,
    files: &[Arc<str>],
) -> Option<ObjectCoverage> {
    convert.object(key.into(), Rec::from_entry(e.clone(), files), None)
}

/// Appends `o`'s JSON text, as the report's `objects` array holds it, to `out`.
fn render_into(o: &ObjectCoverage, scratch: &mut Vec<u8>, out: &mut Vec<u8>) -> io::Result<()> {
    scratch.clear();
    serde_json::to_writer_pretty(&mut *scratch, o).map_err(io::Error::from)?;
    out.extend_from_slice(INDENT);
    // A JSON text has no raw newline inside its strings: every one starts a line.
    for (i, line) in scratch.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(INDENT);
        }
        out.extend_from_slice(line);
    }
    Ok(())
}

/// Fills `buf` from `offset` of `f`: one positioned read, no seek before it (a report
/// copies thousands of runs).
#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, offset)
}

#[cfg(not(unix))]
fn read_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    let mut f = f;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

fn hash(b: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(b)
}

/// The kept file in `dir` if its id is `id`, open for reading and writing, and its length.
fn open(dir: &Path, id: u64) -> Option<(File, u64)> {
    let mut f = File::options()
        .read(true)
        .write(true)
        .open(dir.join(FILE))
        .ok()?;
    let mut head = [0u8; HEAD as usize];
    f.read_exact(&mut head).ok()?;
    (head[..8] == *MAGIC && u64::from_le_bytes(head[8..].try_into().ok()?) == id).then_some(())?;
    let len = f.metadata().ok()?.len();
    Some((f, len))
}

/// A new, empty kept file in `dir` (written beside and renamed into place) with a new id.
fn create(dir: &Path) -> io::Result<(File, u64)> {
    let seed = format!(
        "{} {:?} {:?}",
        std::process::id(),
        std::time::SystemTime::now(),
        std::thread::current().id()
    );
    let id = hash(seed.as_bytes());
    let tmp: PathBuf = dir.join(format!("{FILE}.{}.tmp", std::process::id()));
    let made = (|| {
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(&id.to_le_bytes())?;
        std::fs::rename(&tmp, dir.join(FILE))?;
        Ok(f)
    })();
    if made.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    made.map(|f| (f, id))
}

/// What [`render`] did.
pub(super) struct Rendered {
    /// The file the entries point into now.
    pub file: KeptFile,
    /// Objects rendered (the rest were kept).
    pub objects: u64,
}

/// Renders the objects of the entries without a text (`None` in their [`Frag`]), appends
/// them to the kept file `file` names (a new file when there is none, it is another, or
/// more than half of it is texts no entry points to: then every object is rendered), and
/// points the entries at them.
pub(super) fn render(
    dir: &Path,
    file: Option<KeptFile>,
    objects: &super::HashMap<Box<str>, u32>,
    entries: &mut [Entry],
    files: &[Arc<str>],
    convert: &Converter,
) -> io::Result<Rendered> {
    let live: u64 = objects
        .values()
        .filter_map(|&i| entries[i as usize].kept.map(|f| u64::from(f.len)))
        .sum();
    let opened = file
        .filter(|f| f.len <= (2 * live).max(HEAD + (1 << 20)))
        .and_then(|f| {
            open(dir, f.id)
                .filter(|(_, len)| *len >= f.len)
                .map(|o| (o, f.id))
        });
    let fresh = opened.is_none();
    let ((mut f, mut len), id) = match opened {
        Some(o) => o,
        None => {
            let (f, id) = create(dir)?;
            ((f, HEAD), id)
        }
    };
    // In key order: texts of neighbouring keys are neighbours in the file, read in one go.
    let mut todo: Vec<(&str, u32)> = objects
        .iter()
        .filter(|(_, &i)| fresh || entries[i as usize].kept.is_none())
        .map(|(k, &i)| (&**k, i))
        .collect();
    todo.sort_unstable_by(|a, b| a.0.cmp(b.0));
    f.seek(SeekFrom::Start(len))?;
    let mut w = io::BufWriter::with_capacity(1 << 20, f);
    let (mut scratch, mut text) = (Vec::new(), Vec::new());
    let mut rendered = 0;
    for (key, i) in todo {
        let e = &mut entries[i as usize];
        e.kept = None;
        let Some(o) = object(convert, key, e, files) else {
            continue;
        };
        text.clear();
        render_into(&o, &mut scratch, &mut text)?;
        w.write_all(&text)?;
        e.kept = Some(Frag {
            at: len,
            len: u32::try_from(text.len()).map_err(|_| io::Error::other("an object over 4 GiB"))?,
            hash: hash(&text),
        });
        len += text.len() as u64;
        rendered += 1;
    }
    w.flush()?;
    Ok(Rendered {
        file: KeptFile { id, len },
        objects: rendered,
    })
}

/// The report's objects of a `--cache` run (see [`super::ObjectsOnDisk`]): the entries,
/// converted only when asked for, and their JSON texts in the kept file.
pub(crate) struct KeptObjects {
    /// The objects' keys, sorted, and their entries' positions in `entries`.
    pub keys: Vec<(Box<str>, u32)>,
    /// Each has a text or its object is rendered when written.
    pub entries: Vec<Entry>,
    /// The paths of the entries' locations, by id.
    pub files: Vec<Arc<str>>,
    pub convert: Converter,
    /// The kept file, when it is the one the entries point into.
    pub file: Option<File>,
}

impl KeptObjects {
    /// The kept file in `dir` the entries point into (`None`: every object is rendered
    /// when the report is written).
    pub fn open(dir: &Path, file: KeptFile) -> Option<File> {
        open(dir, file.id)
            .filter(|(_, len)| *len >= file.len)
            .map(|(f, _)| f)
    }

    /// Every object, converted, in key order.
    pub fn for_each(&self, f: &mut dyn FnMut(ObjectCoverage)) {
        for (key, i) in &self.keys {
            let e = &self.entries[*i as usize];
            if let Some(o) = object(&self.convert, key, e, &self.files) {
                f(o);
            }
        }
    }

    /// Writes the JSON report's `objects` array (as its pretty printer would, at the top
    /// level of the report): the kept texts, read in runs of neighbours, and the objects
    /// whose text is missing or does not check out rendered.
    pub fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(b"[")?;
        let mut first = true;
        let (mut scratch, mut text, mut buf) = (Vec::new(), Vec::new(), Vec::new());
        let f = self.file.as_ref();
        let file_len = match &f {
            Some(f) => f.metadata().map_or(0, |m| m.len()),
            None => 0,
        };
        let mut i = 0;
        while i < self.keys.len() {
            // The run of entries whose texts follow each other in the file.
            let mut j = i;
            let mut end = None;
            while let Some((_, at)) = self.keys.get(j) {
                let Some(frag) = self.entries[*at as usize].kept else {
                    break;
                };
                match end {
                    None => end = Some((frag.at, frag.at + u64::from(frag.len))),
                    Some((start, stop)) if frag.at == stop && stop - start < READ_AT_ONCE => {
                        end = Some((start, stop + u64::from(frag.len)));
                    }
                    Some(_) => break,
                }
                j += 1;
            }
            let read = match (end, f) {
                // Never past the file's end: nothing is allocated for a length the file
                // cannot hold (the snapshot that says it is checksummed, not trusted).
                (Some((start, stop)), Some(f)) if stop <= file_len => (|| {
                    buf.resize(usize::try_from(stop - start).map_err(io::Error::other)?, 0);
                    read_at(f, &mut buf, start)
                })()
                .is_ok(),
                _ => false,
            };
            let run = &self.keys[i..j.max(i + 1)];
            let mut at = 0usize;
            for (key, e) in run {
                let e = &self.entries[*e as usize];
                let kept = match (e.kept, read) {
                    (Some(frag), true) => {
                        let t = &buf[at..at + frag.len as usize];
                        at += frag.len as usize;
                        (hash(t) == frag.hash).then_some(t)
                    }
                    _ => None,
                };
                let t = match kept {
                    Some(t) => t,
                    None => {
                        let Some(o) = object(&self.convert, key, e, &self.files) else {
                            continue;
                        };
                        text.clear();
                        render_into(&o, &mut scratch, &mut text)?;
                        &text[..]
                    }
                };
                if !first {
                    w.write_all(b",")?;
                }
                first = false;
                w.write_all(t)?;
            }
            i = j.max(i + 1);
        }
        w.write_all(if first { b"]" } else { b"\n  ]" })
    }
}
