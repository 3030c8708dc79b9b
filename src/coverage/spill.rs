//! Spilling the coverage database: its entries written as runs sorted by key to a temporary
//! folder when it holds more than its share of the memory budget, and merged k-way when
//! the database is finished.
//!
//! The folder (`.pgtap-scan-spill-<pid>-<n>` under [`SpillConfig::parent`]) is made at the
//! first spill and removed with everything in it when the [`Spiller`] is dropped: after the
//! merge, on an error, and when a first Ctrl-C drains the run (a second one ends the
//! process at once and may leave it behind).
//!
//! A run is a sequence of records, each an entry under its key: counts, aspect and function
//! ids (the interners live the whole run, so ids mean the same in every run), and the kept
//! locations with their file's path written out (the builder forgets its paths at each
//! spill). All integers little-endian; a string is its u32 length then its bytes:
//!
//! ```text
//! 'R' key positive:u64 absent:u64 referenced:u64 omitted:u64 first_file:u64 multi_file:u8
//!     n:u32 (aspect:u32 count:u64)*n  n:u32 (function:u32 count:u64)*n
//!     n:u32 (file line:u32 column:u32 context:u32 function:u32 role:u8 absent:u8)*n
//! 'E' records:u64                       the end, so a run cut short is an error
//! ```
//!
//! Merging adds counts, unions aspect and function counts, and keeps locations by place
//! (in streaming mode the first [`super::STREAMING_LOCATIONS`] by file, line and column,
//! the rest counted as omitted), so the result does not depend on where the spills fell.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{DatabaseMemory, Entry, Loc, Places, Role};

/// Runs merged at once; more are first merged in groups into longer runs, so a merge never
/// opens more files than this.
const FAN_IN: usize = 64;

/// A hold on the budget is updated when it moves by at least this much (or after a spill),
/// so the single aggregator does not take the budget's lock for every file.
const HOLD_STEP: u64 = 64 << 10;

/// Where and when to spill.
#[derive(Debug, Clone)]
pub(crate) struct SpillConfig {
    /// The folder the spill folder is made in.
    pub parent: PathBuf,
    /// Spill when the builder holds more than this many bytes after a file.
    pub threshold: u64,
    /// After a spill, leave the report's objects on disk ([`super::ObjectsOnDisk`]).
    pub keep_objects: bool,
}

/// One entry as a run holds it: the entry, its locations' files as paths.
#[derive(Debug, Default, Clone)]
pub(crate) struct Rec {
    pub positive: u64,
    pub absent: u64,
    pub referenced: u64,
    pub aspects: Vec<(u32, u64)>,
    pub functions: Vec<(u32, u64)>,
    pub first_file: u64,
    pub multi_file: bool,
    pub locations: Vec<(Arc<str>, Loc)>,
    pub omitted: u64,
}

impl Rec {
    /// An in-memory entry, its files' paths shared with `files`.
    pub fn from_entry(e: Entry, files: &[Arc<str>]) -> Rec {
        Rec {
            positive: e.positive,
            absent: e.absent,
            referenced: e.referenced,
            aspects: e.aspects,
            functions: e.functions,
            first_file: e.first_file,
            multi_file: e.multi_file,
            locations: e
                .locations
                .into_iter()
                .map(|l| (Arc::clone(&files[l.file as usize]), l))
                .collect(),
            omitted: e.omitted,
        }
    }

    /// Folds in the same key's record from another run (other files).
    fn absorb(&mut self, other: Rec) {
        // A file's assertions are all in one run: records from two runs are two files.
        self.multi_file |= other.multi_file || other.first_file != self.first_file;
        self.positive += other.positive;
        self.absent += other.absent;
        self.referenced += other.referenced;
        self.omitted += other.omitted;
        for (list, more) in [
            (&mut self.aspects, other.aspects),
            (&mut self.functions, other.functions),
        ] {
            for (id, n) in more {
                match list.iter_mut().find(|(i, _)| *i == id) {
                    Some((_, c)) => *c += n,
                    None => list.push((id, n)),
                }
            }
        }
        self.locations.extend(other.locations);
    }

    /// Keeps the first `cap` locations by place (streaming mode).
    fn cut(&mut self, names: &Names) {
        let Some(cap) = names.cap else {
            return;
        };
        if self.locations.len() > cap {
            let p = names.places;
            self.locations
                .sort_by(|(fa, a), (fb, b)| p.of(a, Some(fa)).cmp(&p.of(b, Some(fb))));
            self.omitted += (self.locations.len() - cap) as u64;
            self.locations.truncate(cap);
        }
    }
}

/// What a merge needs of the builder: names for places, the sizes ids are checked against,
/// and streaming's cap.
pub(crate) struct Names<'a> {
    pub places: &'a Places<'a>,
    pub aspects: usize,
    pub cap: Option<usize>,
    /// Every path read back from a run, once: the locations of a file share one allocation,
    /// as they do in memory (an allocation per location cost 15 MB at 100k files). `None`
    /// when each record is dropped once handled (the report's objects left on disk): the set
    /// would only grow with every path the report names.
    pub paths: Option<std::cell::RefCell<ahash::AHashSet<Arc<str>>>>,
}

/// The spill folder; removed with what is in it when dropped.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A run on disk.
struct Run {
    path: PathBuf,
}

/// Spills a builder's entries and merges them back.
pub(crate) struct Spiller {
    cfg: SpillConfig,
    budget: Option<Arc<pipeline::MemoryBudget>>,
    held: u64,
    folder: Option<Folder>,
    runs: Vec<Run>,
    next: u64,
    memory: DatabaseMemory,
}

impl Drop for Spiller {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.hold(0);
        }
    }
}

impl Spiller {
    pub fn new(cfg: SpillConfig) -> Spiller {
        Spiller {
            cfg,
            budget: None,
            held: 0,
            folder: None,
            runs: Vec::new(),
            next: 0,
            memory: DatabaseMemory::default(),
        }
    }

    pub fn charge_to(&mut self, budget: Arc<pipeline::MemoryBudget>) {
        self.budget = Some(budget);
        self.held = 0;
    }

    /// Whether a builder holding `bytes` should spill (never again after a failure: what
    /// cannot be written stays in memory, and the failure is reported).
    pub fn wants(&self, bytes: u64) -> bool {
        bytes > self.cfg.threshold && self.memory.error.is_none()
    }

    /// Whether the report's objects are to stay on disk after a spill.
    pub fn keeps_objects(&self) -> bool {
        self.cfg.keep_objects
    }

    /// Whether any run was written.
    pub fn spilled(&self) -> bool {
        !self.runs.is_empty()
    }

    /// Charges `bytes` to the budget, replacing the previous charge.
    pub fn hold(&mut self, bytes: u64) {
        if let Some(b) = &self.budget {
            if bytes.abs_diff(self.held) >= HOLD_STEP || bytes < self.held && bytes == 0 {
                b.hold(bytes);
                self.held = bytes;
            }
        }
    }

    fn fail(&mut self, e: String) {
        if self.memory.error.is_none() {
            self.memory.error = Some(e);
        }
    }

    /// Whether runs can be written: the folder is made on first use (a failure is kept).
    pub fn ready(&mut self) -> bool {
        match self.folder() {
            Ok(_) => true,
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    /// The folder, made on first use.
    fn folder(&mut self) -> Result<PathBuf, String> {
        if let Some(f) = &self.folder {
            return Ok(f.0.clone());
        }
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            ".pgtap-scan-spill-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let path = self.cfg.parent.join(name);
        std::fs::create_dir(&path).map_err(|e| {
            format!(
                "cannot make the coverage database's spill folder {}: {e} (it spills there \
                 when it outgrows its share of --max-memory; the folder is next to --output, \
                 else in $TMPDIR)",
                path.display()
            )
        })?;
        self.folder = Some(Folder(path.clone()));
        Ok(path)
    }

    fn new_run_path(&mut self) -> Result<PathBuf, String> {
        let dir = self.folder()?;
        self.next += 1;
        Ok(dir.join(format!("run-{:06}", self.next)))
    }

    /// Writes one run (records sorted by key).
    pub fn write_run(
        &mut self,
        records: impl Iterator<Item = (Box<str>, Entry)>,
        files: &[Arc<str>],
    ) {
        let result = self.new_run_path().and_then(|path| {
            let mut w = RunWriter::create(&path)?;
            for (key, e) in records {
                w.write(&key, &Rec::from_entry(e, files))
                    .map_err(|e| w.error(e))?;
            }
            let written = w.finish()?;
            Ok((path, written))
        });
        match result {
            Ok((path, written)) => {
                self.memory.runs_spilled += 1;
                self.memory.bytes_written += written;
                self.runs.push(Run { path });
            }
            Err(e) => self.fail(e),
        }
    }

    /// Merges every run with what is still in memory (`in_memory`, sorted by key) and hands
    /// each key's merged record to `sink`, in key order. With `keep`, every merged record is
    /// also written to one more run, the report's objects on disk, returned with the folder
    /// that holds it (`None` after an error). Returns the memory figures.
    pub fn finish(
        mut self,
        in_memory: impl Iterator<Item = (Box<str>, Rec)>,
        names: &Names,
        sink: &mut dyn FnMut(Box<str>, Rec),
        mut memory: DatabaseMemory,
        keep: bool,
    ) -> (DatabaseMemory, Option<Kept>) {
        if let Some(b) = &self.budget {
            b.hold(0);
        }
        // Groups of FAN_IN runs into longer runs until one merge can read them all.
        while self.runs.len() > FAN_IN && self.memory.error.is_none() {
            let group: Vec<Run> = self.runs.drain(..FAN_IN).collect();
            let merged = self.new_run_path().and_then(|path| {
                let mut w = RunWriter::create(&path)?;
                let mut sources = open_all(&group, names)?;
                let mut err = None;
                merge(&mut sources, names, &mut |key, rec| {
                    if err.is_none() {
                        if let Err(e) = w.write(&key, &rec) {
                            err = Some(w.error(e));
                        }
                    }
                })?;
                if let Some(e) = err {
                    return Err(e);
                }
                let written = w.finish()?;
                Ok((path, written))
            });
            self.memory.runs_merged += group.len() as u64;
            for r in &group {
                let _ = std::fs::remove_file(&r.path);
            }
            match merged {
                Ok((path, written)) => {
                    self.memory.runs_spilled += 1;
                    self.memory.bytes_written += written;
                    self.runs.push(Run { path });
                }
                Err(e) => self.fail(e),
            }
        }
        let mut kept = None;
        if keep && self.memory.error.is_none() {
            match self
                .new_run_path()
                .and_then(|path| Ok((RunWriter::create(&path)?, path)))
            {
                Ok(w) => kept = Some(w),
                Err(e) => self.fail(e),
            }
        }
        let mut sources: Vec<Box<dyn Source + '_>> = Vec::new();
        match open_all(&self.runs, names) {
            Ok(s) => sources.extend(s),
            Err(e) => self.fail(e),
        }
        self.memory.runs_merged += sources.len() as u64;
        sources.push(Box::new(Memory(in_memory)));
        let mut records = 0u64;
        let mut write_err = None;
        let merged = merge(&mut sources, names, &mut |key, rec| {
            if let Some((w, _)) = &mut kept {
                if write_err.is_none() {
                    if let Err(e) = w.write(&key, &rec) {
                        write_err = Some(w.error(e));
                    }
                }
            }
            records += 1;
            sink(key, rec);
        });
        if let Err(e) = merged {
            self.fail(e);
        }
        drop(sources);
        // The runs are read: only the objects' run (if kept) stays until the report goes.
        for r in self.runs.drain(..) {
            let _ = std::fs::remove_file(&r.path);
        }
        if let Some(e) = write_err {
            self.fail(e);
        }
        let kept = match kept {
            Some((w, path)) if self.memory.error.is_none() => match w.finish() {
                Ok(written) => {
                    self.memory.bytes_written += written;
                    self.folder.take().map(|folder| Kept {
                        _folder: folder,
                        path,
                        records,
                    })
                }
                Err(e) => {
                    self.fail(e);
                    None
                }
            },
            _ => None,
        };
        memory.runs_spilled = self.memory.runs_spilled;
        memory.runs_merged = self.memory.runs_merged;
        memory.bytes_written = self.memory.bytes_written;
        memory.error = self.memory.error.take();
        (memory, kept)
    }
}

/// The report's objects left on disk: one run of the merged records, in key order, in the
/// spill folder, which goes (with the run) when this is dropped.
pub(crate) struct Kept {
    _folder: Folder,
    path: PathBuf,
    /// Records in the run.
    pub records: u64,
}

impl Kept {
    /// Reads the run back, each record handed to `f` in key order. A run damaged since it
    /// was written is an error naming it.
    pub fn for_each(&self, names: &Names, f: &mut dyn FnMut(Box<str>, Rec)) -> Result<(), String> {
        let mut r = RunReader::open(&self.path, names)?;
        let mut n = 0u64;
        while let Some((key, rec)) = r.next_rec()? {
            n += 1;
            f(key, rec);
        }
        if n != self.records {
            return Err(r.corrupt(&format!("it holds {n} records, not {}", self.records)));
        }
        Ok(())
    }
}

fn open_all<'a>(runs: &[Run], names: &'a Names<'a>) -> Result<Vec<Box<dyn Source + 'a>>, String> {
    runs.iter()
        .map(|r| RunReader::open(&r.path, names).map(|r| Box::new(r) as Box<dyn Source + 'a>))
        .collect()
}

/// A stream of records sorted by key.
trait Source {
    fn next_rec(&mut self) -> Result<Option<(Box<str>, Rec)>, String>;
}

struct Memory<I>(I);

impl<I: Iterator<Item = (Box<str>, Rec)>> Source for Memory<I> {
    fn next_rec(&mut self) -> Result<Option<(Box<str>, Rec)>, String> {
        Ok(self.0.next())
    }
}

/// The k-way merge: records of the same key folded together (in source order, though the
/// result does not depend on it), each key handed to `sink` once, in key order.
fn merge(
    sources: &mut [Box<dyn Source + '_>],
    names: &Names,
    sink: &mut dyn FnMut(Box<str>, Rec),
) -> Result<(), String> {
    use std::cmp::Reverse;
    let mut heads: Vec<Option<Rec>> = Vec::with_capacity(sources.len());
    let mut heap = std::collections::BinaryHeap::new();
    for (i, s) in sources.iter_mut().enumerate() {
        match s.next_rec()? {
            Some((k, r)) => {
                heap.push(Reverse((k, i)));
                heads.push(Some(r));
            }
            None => heads.push(None),
        }
    }
    while let Some(Reverse((key, i))) = heap.pop() {
        let mut rec = heads[i].take().unwrap_or_default();
        refill(sources, &mut heads, &mut heap, i, &key)?;
        while let Some(Reverse((k, j))) = heap.peek() {
            if *k != key {
                break;
            }
            let j = *j;
            heap.pop();
            rec.absorb(heads[j].take().unwrap_or_default());
            refill(sources, &mut heads, &mut heap, j, &key)?;
        }
        rec.cut(names);
        sink(key, rec);
    }
    Ok(())
}

fn refill(
    sources: &mut [Box<dyn Source + '_>],
    heads: &mut [Option<Rec>],
    heap: &mut std::collections::BinaryHeap<std::cmp::Reverse<(Box<str>, usize)>>,
    i: usize,
    after: &str,
) -> Result<(), String> {
    if let Some((k, r)) = sources[i].next_rec()? {
        if *k <= *after {
            return Err(format!(
                "a spilled run is out of order at {k:?} (after {after:?})"
            ));
        }
        heap.push(std::cmp::Reverse((k, i)));
        heads[i] = Some(r);
    }
    Ok(())
}

struct RunWriter {
    path: PathBuf,
    w: BufWriter<File>,
    records: u64,
    written: u64,
}

impl RunWriter {
    fn create(path: &Path) -> Result<RunWriter, String> {
        let f = File::create(path).map_err(|e| write_error(path, &e))?;
        Ok(RunWriter {
            path: path.to_path_buf(),
            w: BufWriter::with_capacity(64 << 10, f),
            records: 0,
            written: 0,
        })
    }

    fn error(&self, e: io::Error) -> String {
        write_error(&self.path, &e)
    }

    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.written += b.len() as u64;
        self.w.write_all(b)
    }

    fn u32(&mut self, n: u32) -> io::Result<()> {
        self.bytes(&n.to_le_bytes())
    }

    fn u64(&mut self, n: u64) -> io::Result<()> {
        self.bytes(&n.to_le_bytes())
    }

    fn str(&mut self, s: &str) -> io::Result<()> {
        self.u32(u32::try_from(s.len()).unwrap_or(u32::MAX))?;
        self.bytes(s.as_bytes())
    }

    fn len(&mut self, n: usize) -> io::Result<()> {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn write(&mut self, key: &str, r: &Rec) -> io::Result<()> {
        self.bytes(b"R")?;
        self.str(key)?;
        for n in [r.positive, r.absent, r.referenced, r.omitted, r.first_file] {
            self.u64(n)?;
        }
        self.bytes(&[u8::from(r.multi_file)])?;
        for list in [&r.aspects, &r.functions] {
            self.len(list.len())?;
            for &(id, n) in list {
                self.u32(id)?;
                self.u64(n)?;
            }
        }
        self.len(r.locations.len())?;
        for (file, l) in &r.locations {
            self.str(file)?;
            for n in [l.line, l.column, l.context, l.function] {
                self.u32(n)?;
            }
            let role = match l.role {
                Role::Target => 0,
                Role::Member => 1,
                Role::Reference => 2,
            };
            self.bytes(&[role, u8::from(l.absent)])?;
        }
        self.records += 1;
        Ok(())
    }

    /// Ends the run; the bytes written.
    fn finish(mut self) -> Result<u64, String> {
        let records = self.records;
        let ended = self
            .bytes(b"E")
            .and_then(|()| self.u64(records))
            .and_then(|()| self.w.flush());
        ended.map_err(|e| self.error(e))?;
        Ok(self.written)
    }
}

fn write_error(path: &Path, e: &io::Error) -> String {
    format!(
        "cannot write the coverage database's spill run {}: {e}",
        path.display()
    )
}

struct RunReader<'a> {
    path: PathBuf,
    r: BufReader<File>,
    names: &'a Names<'a>,
    records: u64,
    ended: bool,
}

/// Longer strings than this in a run mean it is corrupt (paths and keys are far shorter).
const MAX_STRING: u32 = 1 << 24;

impl<'a> RunReader<'a> {
    fn open(path: &Path, names: &'a Names<'a>) -> Result<RunReader<'a>, String> {
        let f = File::open(path).map_err(|e| {
            format!(
                "cannot read the coverage database's spill run {}: {e}",
                path.display()
            )
        })?;
        Ok(RunReader {
            path: path.to_path_buf(),
            r: BufReader::with_capacity(64 << 10, f),
            names,
            records: 0,
            ended: false,
        })
    }

    fn corrupt(&self, what: &str) -> String {
        format!(
            "the coverage database's spill run {} is corrupt: {what}",
            self.path.display()
        )
    }

    fn io(&self, e: &io::Error) -> String {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            self.corrupt("cut short")
        } else {
            format!(
                "cannot read the coverage database's spill run {}: {e}",
                self.path.display()
            )
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut b = [0u8; N];
        match self.r.read_exact(&mut b) {
            Ok(()) => Ok(b),
            Err(e) => Err(self.io(&e)),
        }
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()?;
        if n > MAX_STRING {
            return Err(self.corrupt("a string longer than any key or path"));
        }
        let mut b = vec![0u8; n as usize];
        if let Err(e) = self.r.read_exact(&mut b) {
            return Err(self.io(&e));
        }
        String::from_utf8(b).map_err(|_| self.corrupt("a string that is not UTF-8"))
    }

    fn ids(&mut self, below: usize, what: &str) -> Result<Vec<(u32, u64)>, String> {
        let n = self.u32()?;
        let mut v = Vec::with_capacity((n as usize).min(64));
        for _ in 0..n {
            let id = self.u32()?;
            if id as usize >= below {
                return Err(self.corrupt(&format!("an unknown {what} id {id}")));
            }
            v.push((id, self.u64()?));
        }
        Ok(v)
    }
}

impl Source for RunReader<'_> {
    fn next_rec(&mut self) -> Result<Option<(Box<str>, Rec)>, String> {
        if self.ended {
            return Ok(None);
        }
        match self.u8()? {
            b'E' => {
                let n = self.u64()?;
                if n != self.records {
                    return Err(self.corrupt(&format!(
                        "it ends after {} records but says {n}",
                        self.records
                    )));
                }
                self.ended = true;
                return Ok(None);
            }
            b'R' => {}
            other => return Err(self.corrupt(&format!("an unknown record tag {other}"))),
        }
        let key = self.string()?;
        let mut r = Rec {
            positive: self.u64()?,
            absent: self.u64()?,
            referenced: self.u64()?,
            omitted: self.u64()?,
            first_file: self.u64()?,
            ..Rec::default()
        };
        r.multi_file = self.u8()? != 0;
        let names = self.names;
        r.aspects = self.ids(names.aspects, "aspect")?;
        r.functions = self.ids(names.places.functions.names.len(), "function")?;
        let n = self.u32()?;
        let bodies = names.places.bodies.names.len();
        for _ in 0..n {
            let file = self.string()?;
            let file: Arc<str> = match &names.paths {
                None => file.into(),
                Some(paths) => {
                    let mut paths = paths.borrow_mut();
                    match paths.get(file.as_str()) {
                        Some(p) => Arc::clone(p),
                        None => {
                            let p: Arc<str> = file.into();
                            paths.insert(Arc::clone(&p));
                            p
                        }
                    }
                }
            };
            let (line, column, context, function) =
                (self.u32()?, self.u32()?, self.u32()?, self.u32()?);
            if function as usize >= names.places.functions.names.len() {
                return Err(self.corrupt(&format!("an unknown function id {function}")));
            }
            if context >= super::CONTEXT_BODY && (context - super::CONTEXT_BODY) as usize >= bodies
            {
                return Err(self.corrupt(&format!("an unknown context id {context}")));
            }
            let role = match self.u8()? {
                0 => Role::Target,
                1 => Role::Member,
                2 => Role::Reference,
                other => return Err(self.corrupt(&format!("an unknown role {other}"))),
            };
            let absent = self.u8()? != 0;
            r.locations.push((
                file,
                Loc {
                    file: 0,
                    line,
                    column,
                    context,
                    function,
                    role,
                    absent,
                },
            ));
        }
        self.records += 1;
        Ok(Some((key.into_boxed_str(), r)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Builder, SpillConfig};

    fn spilled_builder(parent: &std::path::Path) -> Builder {
        // Three files of one object each, a run per file.
        let ex = crate::extract::Extractor::new(crate::config::ExtractOptions::default());
        let mut b = Builder::new(false);
        b.spill_to(SpillConfig {
            parent: parent.to_path_buf(),
            threshold: 0,
            keep_objects: false,
        });
        for i in 0..3 {
            let r = ex.extract(format!("SELECT has_table('t{i}');\n").as_bytes());
            b.add_file(&format!("t/f{i}.sql"), &r);
        }
        b
    }

    // A run damaged on disk (cut short, or bytes changed) is an error naming the run, never
    // a panic and never a silently smaller result.
    #[test]
    fn a_damaged_run_is_an_error_naming_it() {
        let parent =
            std::env::temp_dir().join(format!("pgtap-scan-spill-damaged-{}", std::process::id()));
        std::fs::create_dir_all(&parent).expect("temp folder");
        for damage in ["cut", "tag", "id"] {
            let b = spilled_builder(&parent);
            let spill = b.spill.as_ref().expect("spilling");
            assert_eq!(spill.runs.len(), 3);
            let run = spill.runs[1].path.clone();
            let mut bytes = std::fs::read(&run).expect("run written");
            match damage {
                "cut" => bytes.truncate(bytes.len() - 3),
                "tag" => bytes[0] = b'X',
                // The function id of the one function: 1 + key + 5 counts + flag + aspects.
                _ => {
                    let at = bytes.len() - 9 - 8 - 4 - 12 - 4;
                    bytes[at] = 0xff;
                }
            }
            std::fs::write(&run, &bytes).expect("damaged");
            let (_, memory) = b.finish_measured();
            let e = memory.error.expect("an error");
            assert!(e.contains(&run.display().to_string()), "{damage}: {e}");
            assert!(e.contains("corrupt"), "{damage}: {e}");
        }
        let left: Vec<_> = std::fs::read_dir(&parent).expect("listed").collect();
        assert!(left.is_empty(), "spill folders left behind: {left:?}");
        let _ = std::fs::remove_dir(&parent);
    }

    // Issue 15: the report's objects left on disk, damaged before they are read back, are
    // an error naming the run, from a load and from the JSON streamed from them; never a
    // report with fewer objects.
    #[test]
    fn damaged_objects_on_disk_are_an_error_naming_the_run() {
        let parent =
            std::env::temp_dir().join(format!("pgtap-scan-kept-damaged-{}", std::process::id()));
        std::fs::create_dir_all(&parent).expect("temp folder");
        for damage in ["cut", "short"] {
            let mut b = spilled_builder(&parent);
            if let Some(s) = &mut b.spill {
                s.cfg.keep_objects = true;
            }
            let (mut db, memory) = b.finish_measured();
            assert_eq!(memory.error, None);
            let super::super::Held::Run(d) = &*db.on_disk.as_ref().expect("on disk").0 else {
                panic!("a spill run");
            };
            let run = d.file.path.clone();
            let mut bytes = std::fs::read(&run).expect("run written");
            match damage {
                "cut" => bytes.truncate(bytes.len() - 3),
                // A whole run of two of the three records (they are the same length).
                _ => {
                    let record = (bytes.len() - 9) / 3;
                    bytes.truncate(2 * record);
                    bytes.push(b'E');
                    bytes.extend(2u64.to_le_bytes());
                }
            }
            std::fs::write(&run, &bytes).expect("damaged");
            let e = serde_json::to_string(&db).expect_err("an error");
            assert!(
                e.to_string().contains(&run.display().to_string()),
                "{damage}: {e}"
            );
            let e = db.load_objects().expect_err("an error");
            assert!(e.contains(&run.display().to_string()), "{damage}: {e}");
            assert!(e.contains("corrupt"), "{damage}: {e}");
            assert!(db.on_disk.is_some(), "left on disk after a failed load");
        }
        let left: Vec<_> = std::fs::read_dir(&parent).expect("listed").collect();
        assert!(left.is_empty(), "spill folders left behind: {left:?}");
        let _ = std::fs::remove_dir(&parent);
    }

    // A folder that cannot be made is an error naming it; the entries stay in memory, so
    // the scan still finishes.
    #[test]
    fn an_unusable_spill_folder_is_an_error_naming_it() {
        let file = std::env::temp_dir().join(format!(
            "pgtap-scan-spill-not-a-folder-{}",
            std::process::id()
        ));
        std::fs::write(&file, b"").expect("a file");
        let b = spilled_builder(&file);
        let (db, memory) = b.finish_measured();
        let e = memory.error.expect("an error");
        assert!(e.contains(&file.display().to_string()), "{e}");
        assert!(e.contains("spill folder"), "{e}");
        assert_eq!(db.objects.len(), 3);
        let _ = std::fs::remove_file(&file);
    }
}
