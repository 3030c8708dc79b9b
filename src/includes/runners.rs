//! The files whose plans wait for their includes ([`Runner`]s), held from the moment they
//! are folded until every file is in and [`super::check`] can follow their includes.
//!
//! There is one per file with `plan(N)` and an include, so they grow with the number of
//! files (at a million files, about 160,000 of them: some 50 MB in memory). They are held in
//! memory up to a share of the memory budget ([`RUNNERS_SHARE`]), charged to it; past that
//! they are appended to a file next to the coverage database's spill folder
//! (`.pgtap-scan-plans-<pid>-<n>` under the same parent), and the check reads them back in
//! batches of at most half that share. The file is removed when the store is dropped:
//! after the check, on an error, and when a first Ctrl-C drains the run.
//!
//! A record is a runner as the `--cache` run snapshot encodes it ([`Runner::encode`]),
//! preceded by its length (u32, little-endian); the file ends with a record count (a
//! length of `u32::MAX`, then the count as u64), so a file cut short is an error.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::Runner;
use crate::snapcodec::{Dec, Enc};

/// The runners may hold `max_memory_bytes / RUNNERS_SHARE` bytes (an estimate) before they
/// are written to disk; the check reads them back in batches of half that.
pub const RUNNERS_SHARE: u64 = 16;

/// What one allocation costs beyond its bytes (the allocator's header and rounding), in
/// the estimates.
const ALLOCATION: u64 = 16;

/// The end-of-file marker in place of a record's length.
const END: u32 = u32::MAX;

/// Where and when the runners go to disk.
#[derive(Debug, Clone)]
pub(crate) struct RunnersConfig {
    /// The folder the file is made in (the coverage database's spill parent).
    pub parent: PathBuf,
    /// Write the held runners out when they hold more than this many bytes (an estimate).
    pub threshold: u64,
}

/// The runners of a scan, in the order they were folded.
pub(crate) struct Runners {
    cfg: RunnersConfig,
    held: Vec<Runner>,
    /// The estimate of `held`'s bytes.
    bytes: u64,
    disk: Option<Disk>,
    /// Charged to the budget: `held`, then during the check a batch and the graph.
    holder: Option<pipeline::Holder>,
    /// A write that failed: nothing more is written (the rest stays in memory), and the
    /// scan reports it.
    error: Option<String>,
    /// Runners written to disk.
    spilled: u64,
    bytes_written: u64,
}

/// The file on disk: written while files arrive, then read back by the check.
struct Disk {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    records: u64,
}

impl Drop for Disk {
    fn drop(&mut self) {
        self.writer = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Default for Runners {
    fn default() -> Self {
        Runners::new(RunnersConfig {
            parent: std::env::temp_dir(),
            threshold: u64::MAX,
        })
    }
}

impl Runners {
    pub fn new(cfg: RunnersConfig) -> Runners {
        Runners {
            cfg,
            held: Vec::new(),
            bytes: 0,
            disk: None,
            holder: None,
            error: None,
            spilled: 0,
            bytes_written: 0,
        }
    }

    /// Charges what is held to `budget` from now on.
    pub fn charge_to(&mut self, budget: &Arc<pipeline::MemoryBudget>) {
        let mut holder = budget.holder();
        holder.set(self.bytes);
        self.holder = Some(holder);
    }

    fn charge(&mut self, bytes: u64) {
        if let Some(h) = &mut self.holder {
            h.set(bytes);
        }
    }

    /// Holds one more; past the threshold every held runner goes to disk.
    pub fn push(&mut self, r: Runner) {
        self.bytes += estimate(&r);
        self.held.push(r);
        if self.bytes > self.cfg.threshold && self.error.is_none() {
            self.write_held();
        }
        self.charge(self.bytes);
    }

    /// Takes out the runner of this path, if it is held in memory (one on disk cannot be
    /// taken out: `false`, and the caller folds every file afresh).
    pub fn remove(&mut self, path: &str) -> bool {
        let before = self.held.len();
        let mut freed = 0;
        self.held.retain(|r| {
            let keep = r.path != path;
            if !keep {
                freed += estimate(r);
            }
            keep
        });
        self.bytes -= freed;
        self.charge(self.bytes);
        self.held.len() + 1 == before && self.disk.is_none()
    }

    /// Forgets every runner (in memory and on disk), keeping the settings and the charge's
    /// holder: a merge of shards takes their plan verdicts from the shards instead.
    pub fn clear(&mut self) {
        self.held = Vec::new();
        self.bytes = 0;
        self.disk = None;
        self.charge(0);
    }

    /// The runners held in memory: all of them unless [`Self::spilled`].
    pub fn held(&self) -> &[Runner] {
        &self.held
    }

    /// Whether any runner went to disk.
    pub fn spilled(&self) -> bool {
        self.disk.is_some()
    }

    fn fail(&mut self, e: String) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Appends every held runner to the file (made on first use).
    fn write_held(&mut self) {
        if self.disk.is_none() {
            match Disk::create(&self.cfg.parent) {
                Ok(d) => self.disk = Some(d),
                Err(e) => return self.fail(e),
            }
        }
        let Some(disk) = &mut self.disk else {
            return;
        };
        let mut enc = Enc::default();
        let mut written = 0;
        let result = self.held.iter().try_for_each(|r| {
            enc.out.clear();
            r.encode(&mut enc);
            written += 4 + enc.out.len() as u64;
            disk.record(&enc.out)
        });
        match result {
            Ok(()) => {
                self.spilled += self.held.len() as u64;
                self.bytes_written += written;
                self.held = Vec::new();
                self.bytes = 0;
            }
            Err(e) => {
                let e = disk.error("write", &e);
                self.fail(e);
            }
        }
    }

    /// The runners in the order they were folded, in batches of at most `limit` bytes (an
    /// estimate; at least one runner a batch), each charged to the budget while it is
    /// checked, with `extra` bytes more ([`Batches::charge`]).
    pub fn batches(mut self, limit: u64) -> Batches {
        if self.disk.is_some() && self.error.is_none() {
            // What is still held goes after what is on disk, so the file alone is read.
            self.write_held();
        }
        let source = match self.disk.take() {
            Some(mut disk) if self.error.is_none() => match disk.reader() {
                Ok(r) => {
                    self.bytes_written += 12;
                    Source::Disk(r, disk)
                }
                Err(e) => {
                    self.fail(e);
                    Source::Done
                }
            },
            // A write failed: what is held is all that can be checked (the run stops
            // with the error).
            _ => Source::Memory(std::mem::take(&mut self.held).into_iter()),
        };
        self.bytes = 0;
        Batches {
            source,
            limit,
            holder: self.holder.take(),
            batch: 0,
            error: self.error.take(),
            spilled: self.spilled,
            bytes_written: self.bytes_written,
        }
    }
}

/// What [`Runners::batches`] reads from.
enum Source {
    Memory(std::vec::IntoIter<Runner>),
    Disk(RecordReader, Disk),
    Done,
}

/// The runners, batch after batch (see [`Runners::batches`]).
pub(crate) struct Batches {
    source: Source,
    limit: u64,
    holder: Option<pipeline::Holder>,
    /// The estimate of the batch handed out last.
    batch: u64,
    error: Option<String>,
    /// Runners that went to disk.
    pub spilled: u64,
    /// Bytes written to disk.
    pub bytes_written: u64,
}

impl Batches {
    /// The next batch; `None` at the end or after an error ([`Self::error`]).
    pub fn next_batch(&mut self) -> Option<Vec<Runner>> {
        let mut out = Vec::new();
        let mut bytes = 0;
        while bytes < self.limit || out.is_empty() {
            let next = match &mut self.source {
                Source::Memory(it) => it.next(),
                Source::Disk(reader, disk) => match reader.next() {
                    Ok(r) => r,
                    Err(e) => {
                        let e = disk.error("read back", &e);
                        self.source = Source::Done;
                        self.error.get_or_insert(e);
                        return None;
                    }
                },
                Source::Done => None,
            };
            let Some(r) = next else {
                self.source = Source::Done;
                break;
            };
            bytes += estimate(&r);
            out.push(r);
        }
        self.batch = bytes;
        self.charge(0);
        (!out.is_empty()).then_some(out)
    }

    /// Charges the batch handed out last and `extra` bytes more (what the check builds).
    pub fn charge(&mut self, extra: u64) {
        let bytes = self.batch + extra;
        if let Some(h) = &mut self.holder {
            h.set(bytes);
        }
    }

    /// Why the runners could not all be written or read back: the plan checks are
    /// incomplete.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// The estimated bytes a runner holds in memory.
fn estimate(r: &Runner) -> u64 {
    let includes: u64 = r
        .includes
        .iter()
        .map(|i| i.path.len() as u64 + ALLOCATION)
        .sum();
    size_of::<Runner>() as u64
        + r.path.len() as u64
        + 2 * ALLOCATION
        + (r.includes.capacity() * size_of::<crate::model::Include>()) as u64
        + includes
}

impl Disk {
    fn create(parent: &Path) -> Result<Disk, String> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let path = parent.join(format!(
            ".pgtap-scan-plans-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                format!(
                    "cannot make {}: {e} (the files whose plans wait for their includes go \
                     there when they outgrow their share of --max-memory; it is next to \
                     --output, else in $TMPDIR)",
                    path.display()
                )
            })?;
        Ok(Disk {
            path,
            writer: Some(BufWriter::with_capacity(64 << 10, file)),
            records: 0,
        })
    }

    fn error(&self, what: &str, e: &io::Error) -> String {
        format!(
            "cannot {what} the plan checks' spill file {}: {e}",
            self.path.display()
        )
    }

    fn record(&mut self, bytes: &[u8]) -> io::Result<()> {
        let w = self
            .writer
            .as_mut()
            .ok_or_else(|| io::Error::other("already closed"))?;
        let len = u32::try_from(bytes.len())
            .ok()
            .filter(|&n| n != END)
            .ok_or_else(|| io::Error::other("a record too long"))?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(bytes)?;
        self.records += 1;
        Ok(())
    }

    /// Ends the file and opens it for reading.
    fn reader(&mut self) -> Result<RecordReader, String> {
        let end = |w: Option<BufWriter<File>>, records: u64| -> io::Result<()> {
            let mut w = w.ok_or_else(|| io::Error::other("already closed"))?;
            w.write_all(&END.to_le_bytes())?;
            w.write_all(&records.to_le_bytes())?;
            w.into_inner().map_err(|e| e.into_error()).map(drop)
        };
        end(self.writer.take(), self.records).map_err(|e| self.error("write", &e))?;
        let file = File::open(&self.path).map_err(|e| self.error("read back", &e))?;
        Ok(RecordReader {
            input: BufReader::with_capacity(64 << 10, file),
            buf: Vec::new(),
            read: 0,
        })
    }
}

/// Reads the records of a closed [`Disk`] file.
struct RecordReader {
    input: BufReader<File>,
    buf: Vec<u8>,
    read: u64,
}

impl RecordReader {
    fn next(&mut self) -> io::Result<Option<Runner>> {
        let mut len = [0u8; 4];
        self.input.read_exact(&mut len).map_err(short)?;
        let len = u32::from_le_bytes(len);
        if len == END {
            let mut n = [0u8; 8];
            self.input.read_exact(&mut n).map_err(short)?;
            if u64::from_le_bytes(n) != self.read {
                return Err(damaged("the record count does not match"));
            }
            return Ok(None);
        }
        self.buf.resize(len as usize, 0);
        self.input.read_exact(&mut self.buf).map_err(short)?;
        let mut dec = Dec { b: &self.buf };
        let r = Runner::decode(&mut dec)
            .filter(|_| dec.b.is_empty())
            .ok_or_else(|| damaged("a record cannot be read"))?;
        self.read += 1;
        Ok(Some(r))
    }
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("damaged: {what}"))
}

/// An end of file where more was due: the file was cut short.
fn short(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        damaged("cut short")
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::{Runners, RunnersConfig};
    use crate::includes::Runner;
    use crate::model::Include;

    fn runner(i: u32) -> Runner {
        Runner {
            path: format!("suite/d{}/t{i:04}.sql", i % 7),
            plan_line: i % 5 + 1,
            planned: u64::from(i) * 3,
            tests: u64::from(i),
            exact: i % 4 != 0,
            includes: (0..i % 3 + 1)
                .map(|k| Include {
                    path: format!("helpers/h{k}.sql"),
                    relative: k % 2 == 0,
                    line: k + 1,
                })
                .collect(),
        }
    }

    fn store(parent: &std::path::Path, threshold: u64) -> Runners {
        let mut r = Runners::new(RunnersConfig {
            parent: parent.to_path_buf(),
            threshold,
        });
        let budget = pipeline::MemoryBudget::new(1 << 30);
        r.charge_to(&budget);
        r
    }

    fn left_in(parent: &std::path::Path) -> Vec<String> {
        std::fs::read_dir(parent)
            .expect("folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    }

    // Past their share the runners go to disk; the check gets every one back, in the order
    // they were folded, in batches of about the limit, and the file is gone afterwards.
    #[test]
    fn runners_past_their_share_come_back_from_disk_in_order_and_in_batches() {
        let parent = tempfile::tempdir().expect("temp folder");
        let mut r = store(parent.path(), 2048);
        let all: Vec<Runner> = (0..500).map(runner).collect();
        for x in &all {
            r.push(x.clone());
        }
        assert!(r.spilled());
        assert!(r.held().len() < 50, "{} held", r.held().len());
        assert_eq!(left_in(parent.path()).len(), 1);
        let mut batches = r.batches(1024);
        assert_eq!(batches.spilled, 500);
        assert!(batches.bytes_written > 500 * 20);
        let mut back = Vec::new();
        let mut n = 0;
        while let Some(b) = batches.next_batch() {
            let bytes: u64 = b.iter().map(super::estimate).sum();
            let last = super::estimate(b.last().expect("not empty"));
            assert!(bytes < 1024 + last, "a batch of {bytes} bytes");
            back.extend(b);
            n += 1;
        }
        assert_eq!(batches.error(), None);
        assert!(n > 10, "{n} batches");
        assert_eq!(back, all);
        drop(batches);
        assert_eq!(left_in(parent.path()), Vec::<String>::new());
    }

    // Under the threshold nothing is written: one batch of everything, as before.
    #[test]
    fn runners_within_their_share_stay_in_memory() {
        let parent = tempfile::tempdir().expect("temp folder");
        let mut r = store(parent.path(), 1 << 20);
        let all: Vec<Runner> = (0..100).map(runner).collect();
        for x in &all {
            r.push(x.clone());
        }
        assert!(!r.spilled());
        assert!(r.remove(&all[7].path), "held in memory: taken out");
        let mut batches = r.batches(u64::MAX);
        let b = batches.next_batch().expect("one batch");
        assert_eq!(b.len(), 99);
        assert!(batches.next_batch().is_none());
        assert_eq!(batches.spilled, 0);
        assert_eq!(left_in(parent.path()), Vec::<String>::new());
    }

    // A runner on disk cannot be taken out (a `--cache` rescan then folds every file
    // afresh); one still in memory can, and is not counted as taken out twice.
    #[test]
    fn a_runner_on_disk_cannot_be_taken_out() {
        let parent = tempfile::tempdir().expect("temp folder");
        let mut r = store(parent.path(), 512);
        for i in 0..20 {
            r.push(runner(i));
        }
        assert!(r.spilled());
        assert!(!r.remove(&runner(0).path));
        assert!(!r.remove("not/a/runner.sql"));
    }

    // A file damaged on disk (cut short, a length changed) is an error naming it, never a
    // panic and never a silently shorter list.
    #[test]
    fn a_damaged_runners_file_is_an_error_naming_it() {
        for damage in ["cut", "length"] {
            let parent = tempfile::tempdir().expect("temp folder");
            let mut r = store(parent.path(), 512);
            for i in 0..40 {
                r.push(runner(i));
            }
            let mut batches = r.batches(256);
            let name = left_in(parent.path()).pop().expect("the file");
            let path = parent.path().join(&name);
            let bytes = std::fs::read(&path).expect("read");
            let damaged = match damage {
                "cut" => bytes[..bytes.len() / 2].to_vec(),
                _ => {
                    let mut b = bytes.clone();
                    b[0] = b[0].wrapping_add(3);
                    b
                }
            };
            std::fs::write(&path, damaged).expect("write");
            let mut got = 0;
            while let Some(b) = batches.next_batch() {
                got += b.len();
            }
            let e = batches.error().expect("an error");
            assert!(got < 40, "{damage}: {got} read");
            assert!(e.contains(&name), "{damage}: {e}");
            assert!(e.contains("damaged"), "{damage}: {e}");
        }
    }
}
