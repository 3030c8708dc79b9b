//! A keyed blob store on disk that lets a run skip files it has already parsed.
//!
//! The store knows nothing of what it keeps: a caller's [`Codec`] turns a parse result into
//! bytes and back. For each path it keeps the file's size, modification time and a content
//! hash (xxh3-64) next to the encoded result, so the worker can decide *before reading*:
//!
//! * same size and mtime: the file is not read at all (a *hit*);
//! * size or mtime changed: the file is read and hashed; the same hash means it is not
//!   parsed again (a *hash hit*, e.g. after `touch` or a fresh checkout);
//! * otherwise it is parsed (a *miss*) and the new result is stored.
//!
//! An mtime within [`RACY_WINDOW`] of the run that stored it is not trusted alone (the file
//! may have changed again within the file system's timestamp granularity, git's "racy
//! clean" problem): such entries are always checked by content hash.
//!
//! # On disk
//!
//! A directory holding `index.bin` and one `data-<generation>.bin`:
//!
//! * the data file is an append-only log of entries, each
//!   `u32 len | u64 xxh3(rest) | rest`, where `rest` is the key, size, mtime, content hash,
//!   flags, the path (checked on lookup, so a key collision can only miss) and the payload;
//! * the index is a header (magic, format, the caller's *namespace*, generation, count),
//!   records of 20 bytes (`u64 key`, `u64 offset`, `u32 len`) sorted by key, and an xxh3
//!   checksum of all of it.
//!
//! Every entry is verified when read, so a corrupt, truncated or foreign file can only
//! cause misses, never a wrong result. A run appends its new entries to the data file and
//! replaces the index atomically (temporary file + rename) after syncing the data; a crash
//! leaves the old index, whose entries are still intact. When more than half of the data
//! file is dead entries, it is compacted into the next generation.
//!
//! A new data file (a fresh cache, a compaction) is written as `data-<generation>.tmp` and
//! renamed just before the index that names it. A run that cannot finish its write (a full
//! disk) removes what it wrote or cuts the appended tail off again; data files no index
//! names (a killed run's) are removed before a fresh one is written, so they never hold on
//! to the space it needs.
//!
//! # Memory
//!
//! Only the index is held in memory: 20 bytes per file (20 MB at a million files), plus 20
//! bytes per new or changed entry and one bit per old entry while a run goes on. Entries are
//! read with positioned reads into a per-worker buffer, never mapped or loaded whole.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use xxhash_rust::xxh3::xxh3_64;

/// Turns a parse result into bytes and back. `decode` must not panic on any input; it
/// returns `None` for bytes it does not understand (the file is then parsed again).
pub trait Codec<R>: Sync {
    /// Appends the bytes of `value` to `out` (which may already hold other bytes).
    fn encode(&self, value: &R, out: &mut Vec<u8>);
    /// The value `bytes` encode, or `None` if they are not something `encode` wrote; never panics.
    fn decode(&self, bytes: &[u8]) -> Option<R>;
}

/// An mtime this close to (or after) the start of the run that stored it is checked by
/// content hash on the next run, whatever the size and mtime say.
pub const RACY_WINDOW: Duration = Duration::from_secs(2);

const INDEX_MAGIC: &[u8; 8] = b"PGTSIDX1";
const DATA_MAGIC: &[u8; 8] = b"PGTSDAT1";
const INDEX_FILE: &str = "index.bin";
const RECORD: usize = 20;
/// `u32 len` + `u64 checksum`.
const ENTRY_PREFIX: usize = 12;
/// key, size, mtime, content hash (4 x u64), flags (u8), path length (u32).
const ENTRY_FIXED: usize = 8 * 4 + 1 + 4;
const FLAG_RACY: u8 = 1;
/// The data file is compacted when it is more than twice the live entries and this big.
const COMPACT_MIN_BYTES: u64 = 1 << 20;

/// How one file was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheUse {
    /// No cache for this run.
    #[default]
    Off,
    /// Size and mtime matched: the file was neither read nor parsed.
    Hit,
    /// Size or mtime changed but the content hash matched: read, not parsed.
    HashHit,
    /// Parsed (no entry, a changed file, or an entry that failed verification).
    Miss,
}

/// Cache counters for `--stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Files served without being read: their size and mtime matched the entry ([`CacheUse::Hit`]).
    pub hits: u64,
    /// Files read and hashed but not parsed: the content hash matched ([`CacheUse::HashHit`]).
    pub hash_hits: u64,
    /// Files parsed because no usable entry matched ([`CacheUse::Miss`]).
    pub misses: u64,
    /// Entries that failed verification (checksum, path, payload) and were ignored.
    pub corrupt: u64,
    /// Entries in the index written at the end of the run (0 if none was written).
    pub entries: u64,
    /// Bytes of entries appended to the data file by this run.
    pub bytes_written: u64,
}

/// One file's identity as the cache sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub size: u64,
    /// Nanoseconds since the epoch; `None` when the platform gives no mtime.
    pub mtime_ns: Option<i64>,
}

impl Stamp {
    pub fn of(meta: &fs::Metadata) -> Stamp {
        Stamp {
            size: meta.len(),
            mtime_ns: meta.modified().ok().map(epoch_ns),
        }
    }
}

/// What a file's metadata says of its version, trusted without reading the file (the
/// fields git's index compares): size, modification and change times (a `chmod`, a new
/// link or a rename over it changes the latter), inode and device. A caller that keeps the
/// stamp of a file it read can tell later, from a `stat` alone, that the file is still the
/// one it read (see [`crate::run::Known`]). Only a stamp whose times are older than the run
/// by [`RACY_WINDOW`] is given out ([`BlobCache::settled`]): a file written in the same
/// tick as it was read could change without a new time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Status change time, nanoseconds since the epoch.
    pub ctime_ns: i64,
    /// Inode number.
    pub ino: u64,
    /// Device number.
    pub dev: u64,
}

impl FileStamp {
    /// The stamp of `meta`; `None` where the platform does not give every field.
    #[cfg(unix)]
    pub fn of(meta: &fs::Metadata) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let ns = |secs: i64, nanos: i64| secs.checked_mul(1_000_000_000)?.checked_add(nanos);
        Some(FileStamp {
            size: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec())?,
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec())?,
            ino: meta.ino(),
            dev: meta.dev(),
        })
    }

    /// The stamp of `meta`; `None` where the platform does not give every field.
    #[cfg(not(unix))]
    pub fn of(_meta: &fs::Metadata) -> Option<FileStamp> {
        None
    }
}

/// The effective user id of this process (0 where there is none): what a file's
/// readability depends on besides its stamp, so a caller trusting stamps from an earlier
/// run checks it is the same user's.
pub fn effective_uid() -> u32 {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }
    #[cfg(not(unix))]
    {
        0
    }
}

fn epoch_ns(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN + 1, |n| -n),
    }
}

/// A verified entry, borrowing the worker's buffer.
pub(crate) struct Entry<'b> {
    pub stamp: Stamp,
    pub content_hash: u64,
    pub racy: bool,
    pub payload: &'b [u8],
}

/// What a lookup found.
pub(crate) enum Lookup<'b> {
    Absent,
    Found(Entry<'b>),
    /// An entry exists but failed verification.
    Corrupt,
}

/// The read side of a cache directory, shared by the workers, plus what the writer needs.
pub struct BlobCache {
    dir: PathBuf,
    namespace: Vec<u8>,
    /// The old index's records (sorted by key), or empty.
    records: Vec<u8>,
    /// Generation of the data file the records point into.
    generation: u64,
    /// The open data file of that generation, for positioned reads.
    data: Option<File>,
    /// Problems met while opening, for the run to report as warnings.
    warnings: Vec<(PathBuf, String)>,
    started_ns: i64,
}

impl std::fmt::Debug for BlobCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobCache")
            .field("dir", &self.dir)
            .field("entries", &(self.records.len() / RECORD))
            .field("generation", &self.generation)
            .finish()
    }
}

impl BlobCache {
    /// Opens (or prepares) the cache in `dir`. Never fails: anything wrong with what is
    /// there (missing, corrupt, truncated, another namespace) makes an empty cache and a
    /// warning, reported by the run. `namespace` names everything the stored results depend
    /// on besides the file (the tool's version, its options): a cache made under another
    /// namespace is ignored and replaced.
    pub fn open(dir: &Path, namespace: &[u8]) -> BlobCache {
        let mut cache = BlobCache {
            dir: dir.to_path_buf(),
            namespace: namespace.to_vec(),
            records: Vec::new(),
            generation: 0,
            data: None,
            warnings: Vec::new(),
            started_ns: epoch_ns(SystemTime::now()),
        };
        let index_path = dir.join(INDEX_FILE);
        match fs::read(&index_path) {
            Ok(bytes) => match parse_index(&bytes, namespace) {
                Ok((generation, records)) => {
                    cache.generation = generation;
                    let data_path = cache.data_path(generation);
                    match open_data(&data_path, &records) {
                        Ok(file) => {
                            cache.records = records;
                            cache.data = Some(file);
                        }
                        Err(msg) => cache.warn(data_path, format!("{msg}; cache ignored")),
                    }
                }
                Err(msg) => cache.warn(index_path, format!("{msg}; cache ignored")),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => cache.warn(index_path, format!("cannot read: {e}; cache ignored")),
        }
        if cache.data.is_none() {
            // Whatever generation was there (if any), the new one is past it.
            cache.generation = cache.max_generation().map_or(1, |g| g.saturating_add(1));
        }
        cache
    }

    /// Entries in the index that was read.
    pub fn len(&self) -> usize {
        self.records.len() / RECORD
    }

    /// Whether the index that was read has no entries (a new or unreadable cache).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The cache directory (holding the index and the data file).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn take_warnings(&mut self) -> Vec<(PathBuf, String)> {
        std::mem::take(&mut self.warnings)
    }

    fn warn(&mut self, path: PathBuf, message: String) {
        self.warnings.push((path, message));
    }

    fn data_path(&self, generation: u64) -> PathBuf {
        self.dir.join(format!("data-{generation}.bin"))
    }

    fn max_generation(&self) -> Option<u64> {
        fs::read_dir(&self.dir)
            .ok()?
            .filter_map(|e| data_generation(&e.ok()?.file_name().to_string_lossy()))
            .max()
    }

    pub(crate) fn key(path: &Path) -> u64 {
        xxh3_64(path.as_os_str().as_encoded_bytes())
    }

    /// Is an entry stored now for a file with this stamp racy (see [`RACY_WINDOW`])?
    pub(crate) fn racy(&self, stamp: Stamp) -> bool {
        match stamp.mtime_ns {
            Some(m) => {
                m > self
                    .started_ns
                    .saturating_sub(RACY_WINDOW.as_nanos() as i64)
            }
            None => true,
        }
    }

    /// Whether `stamp`'s times are older than this run by [`RACY_WINDOW`]: a stamp that
    /// can be trusted later to name the content read now.
    pub fn settled(&self, stamp: &FileStamp) -> bool {
        let limit = self
            .started_ns
            .saturating_sub(RACY_WINDOW.as_nanos() as i64);
        stamp.mtime_ns <= limit && stamp.ctime_ns <= limit
    }

    /// The slot of `key`'s record in the index read, without reading its entry.
    pub(crate) fn slot(&self, key: u64) -> Option<usize> {
        self.find(key)
    }

    fn find(&self, key: u64) -> Option<usize> {
        let n = self.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = read_u64(&self.records, mid * RECORD)?;
            match k.cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Looks `path` up, reading its entry into `buf`. Returns the record's slot too.
    /// The result stored for `path`, whatever its stamp, with the content hash it is of:
    /// what a caller that folded an earlier run's results needs to take a file's old
    /// result out again (the file was deleted since). `None` when there is no entry, it
    /// fails verification, or `codec` cannot read it.
    pub fn stored<R>(&self, path: &Path, codec: &dyn Codec<R>) -> Option<(u64, R)> {
        let mut buf = Vec::new();
        match self.lookup(Self::key(path), path, &mut buf).0 {
            Lookup::Found(e) => {
                let hash = e.content_hash;
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| codec.decode(e.payload)))
                    .ok()
                    .flatten()
                    .map(|r| (hash, r))
            }
            _ => None,
        }
    }

    pub(crate) fn lookup<'b>(
        &self,
        key: u64,
        path: &Path,
        buf: &'b mut Vec<u8>,
    ) -> (Lookup<'b>, Option<usize>) {
        let Some(slot) = self.find(key) else {
            return (Lookup::Absent, None);
        };
        let (Some(data), Some(offset), Some(len)) = (
            self.data.as_ref(),
            read_u64(&self.records, slot * RECORD + 8),
            read_u32(&self.records, slot * RECORD + 16),
        ) else {
            return (Lookup::Corrupt, Some(slot));
        };
        buf.clear();
        buf.resize(len as usize, 0);
        if read_exact_at(data, buf, offset).is_err() {
            return (Lookup::Corrupt, Some(slot));
        }
        match verify_entry(buf, key, path) {
            Some(entry) => (Lookup::Found(entry), Some(slot)),
            None => (Lookup::Corrupt, Some(slot)),
        }
    }
}

/// Builds one entry (prefix included) into `out`.
pub(crate) fn build_entry(
    out: &mut Vec<u8>,
    key: u64,
    path: &Path,
    stamp: Stamp,
    content_hash: u64,
    racy: bool,
    payload: &[u8],
) {
    let path = path.as_os_str().as_encoded_bytes();
    out.clear();
    out.extend_from_slice(&[0; ENTRY_PREFIX]);
    out.extend_from_slice(&key.to_le_bytes());
    out.extend_from_slice(&stamp.size.to_le_bytes());
    out.extend_from_slice(&stamp.mtime_ns.unwrap_or(i64::MIN).to_le_bytes());
    out.extend_from_slice(&content_hash.to_le_bytes());
    out.push(if racy || stamp.mtime_ns.is_none() {
        FLAG_RACY
    } else {
        0
    });
    out.extend_from_slice(&(path.len() as u32).to_le_bytes());
    out.extend_from_slice(path);
    out.extend_from_slice(payload);
    let rest_len = (out.len() - ENTRY_PREFIX) as u32;
    let sum = xxh3_64(&out[ENTRY_PREFIX..]);
    out[..4].copy_from_slice(&rest_len.to_le_bytes());
    out[4..ENTRY_PREFIX].copy_from_slice(&sum.to_le_bytes());
}

fn verify_entry<'b>(buf: &'b [u8], key: u64, path: &Path) -> Option<Entry<'b>> {
    let rest_len = read_u32(buf, 0)? as usize;
    let sum = read_u64(buf, 4)?;
    let rest = buf.get(ENTRY_PREFIX..)?;
    if rest.len() != rest_len || rest.len() < ENTRY_FIXED || xxh3_64(rest) != sum {
        return None;
    }
    if read_u64(rest, 0)? != key {
        return None;
    }
    let size = read_u64(rest, 8)?;
    // Written with i64::to_le_bytes: the same eight bytes, read back as signed.
    let mtime = i64::from_le_bytes(rest.get(16..24)?.try_into().ok()?);
    let content_hash = read_u64(rest, 24)?;
    let flags = *rest.get(32)?;
    let path_len = read_u32(rest, 33)? as usize;
    let stored_path = rest.get(ENTRY_FIXED..ENTRY_FIXED.checked_add(path_len)?)?;
    if stored_path != path.as_os_str().as_encoded_bytes() {
        return None;
    }
    Some(Entry {
        stamp: Stamp {
            size,
            mtime_ns: (mtime != i64::MIN).then_some(mtime),
        },
        content_hash,
        racy: flags & FLAG_RACY != 0,
        payload: rest.get(ENTRY_FIXED + path_len..)?,
    })
}

fn parse_index(bytes: &[u8], namespace: &[u8]) -> Result<(u64, Vec<u8>), String> {
    let truncated = || "truncated or not a pgtap-scan cache index".to_string();
    if bytes.get(..8) != Some(INDEX_MAGIC.as_slice()) {
        return Err(truncated());
    }
    let ns_len = read_u32(bytes, 8).ok_or_else(truncated)? as usize;
    let ns_end = 12usize.checked_add(ns_len).ok_or_else(truncated)?;
    let ns = bytes.get(12..ns_end).ok_or_else(truncated)?;
    if ns != namespace {
        return Err(format!(
            "written by another version of the tool or with other options ({})",
            String::from_utf8_lossy(ns)
                .split('\n')
                .next()
                .unwrap_or_default()
        ));
    }
    let generation = read_u64(bytes, ns_end).ok_or_else(truncated)?;
    let count = read_u64(bytes, ns_end + 8).ok_or_else(truncated)?;
    let start = ns_end + 16;
    let body = usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(RECORD))
        .ok_or_else(truncated)?;
    let end = start.checked_add(body).ok_or_else(truncated)?;
    let sum = read_u64(bytes, end).ok_or_else(truncated)?;
    if bytes.len() != end + 8 {
        return Err(truncated());
    }
    if xxh3_64(&bytes[..end]) != sum {
        return Err("corrupt (checksum mismatch)".to_string());
    }
    let records = bytes[start..end].to_vec();
    // Sorted, no duplicates: binary search relies on it.
    let mut prev = None;
    for i in 0..count as usize {
        let k = read_u64(&records, i * RECORD);
        if k <= prev && prev.is_some() {
            return Err("corrupt (records out of order)".to_string());
        }
        prev = k;
    }
    Ok((generation, records))
}

fn open_data(path: &Path, records: &[u8]) -> Result<File, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic)
        .map_err(|_| "truncated or not a pgtap-scan cache data file".to_string())?;
    if &magic != DATA_MAGIC {
        return Err("not a pgtap-scan cache data file".to_string());
    }
    let len = file
        .metadata()
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    // Every record must lie inside the file: a shorter file was truncated.
    let end = records
        .chunks_exact(RECORD)
        .filter_map(|r| Some(read_u64(r, 8)?.saturating_add(u64::from(read_u32(r, 16)?))))
        .max()
        .unwrap_or(0);
    if end > len {
        return Err(format!("truncated ({len} bytes, the index needs {end})"));
    }
    Ok(file)
}

/// Removes the data files (and the temporary ones of runs that did not finish) in `dir`,
/// except the one of generation `keep`.
fn remove_data_files(dir: &Path, keep: Option<u64>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let generation = data_generation(&name).or_else(|| {
            name.strip_prefix("data-")?
                .strip_suffix(".tmp")?
                .parse::<u64>()
                .ok()
                .map(|_| u64::MAX) // never kept
        });
        if generation.is_some_and(|g| Some(g) != keep || name.ends_with(".tmp")) {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn data_generation(name: &str) -> Option<u64> {
    name.strip_prefix("data-")?
        .strip_suffix(".bin")?
        .parse()
        .ok()
}

fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What the aggregator thread must record for one file.
#[derive(Debug)]
pub(crate) enum Pending {
    /// The old entry in this slot stays as it is.
    Keep(usize),
    /// A new entry (prefix included) to append, under this key.
    Write { key: u64, entry: Vec<u8> },
}

/// Where a run's new entries go.
enum DataOut {
    /// A new data file, written as `data-<generation>.tmp` and renamed to its real name
    /// only when the index that needs it is written: a run that fails leaves no file.
    Fresh { w: BufWriter<File>, tmp: PathBuf },
    /// The current data file, appended to from `start`; cut back there if the run cannot
    /// write its index, so a failed write (a full disk) gives the space back.
    Append { w: BufWriter<File>, start: u64 },
}

impl DataOut {
    fn writer(&mut self) -> &mut BufWriter<File> {
        match self {
            DataOut::Fresh { w, .. } | DataOut::Append { w, .. } => w,
        }
    }

    /// Undoes what this run wrote. Best effort: it runs after an error already.
    fn abandon(self) {
        match self {
            DataOut::Fresh { w, tmp } => {
                drop(w.into_parts());
                let _ = fs::remove_file(tmp);
            }
            DataOut::Append { w, start } => {
                let (file, _) = w.into_parts();
                let _ = file.set_len(start);
            }
        }
    }
}

/// The write side, owned by the aggregator thread: appends entries, then writes the index.
pub(crate) struct CacheWriter<'c> {
    cache: &'c BlobCache,
    data: Option<(DataOut, u64)>,
    /// Records of entries appended by this run.
    new: Vec<[u8; RECORD]>,
    /// One bit per old record: still wanted.
    kept: Vec<u64>,
    error: Option<String>,
    pub stats: CacheStats,
}

impl<'c> CacheWriter<'c> {
    pub fn new(cache: &'c BlobCache) -> CacheWriter<'c> {
        CacheWriter {
            cache,
            data: None,
            new: Vec::new(),
            kept: vec![0; cache.len().div_ceil(64)],
            error: None,
            stats: CacheStats::default(),
        }
    }

    pub fn record(&mut self, pending: Pending) {
        match pending {
            Pending::Keep(slot) => {
                if let Some(word) = self.kept.get_mut(slot / 64) {
                    *word |= 1 << (slot % 64);
                }
            }
            Pending::Write { key, entry } => {
                if self.error.is_some() {
                    return;
                }
                if let Err(e) = self.append(key, &entry) {
                    self.error = Some(format!("cannot write: {e}; cache not updated"));
                }
            }
        }
    }

    /// Keeps the old records whose bits are set in `words` (64 slots a word, as
    /// [`Pending::Keep`] would one at a time).
    pub fn keep_slots(&mut self, words: impl Iterator<Item = u64>) {
        for (kept, word) in self.kept.iter_mut().zip(words) {
            *kept |= word;
        }
    }

    fn append(&mut self, key: u64, entry: &[u8]) -> io::Result<()> {
        if self.data.is_none() {
            self.data = Some(self.open_data()?);
        }
        let Some((out, pos)) = self.data.as_mut() else {
            return Err(io::ErrorKind::NotFound.into());
        };
        out.writer().write_all(entry)?;
        let mut rec = [0u8; RECORD];
        rec[..8].copy_from_slice(&key.to_le_bytes());
        rec[8..16].copy_from_slice(&pos.to_le_bytes());
        rec[16..].copy_from_slice(&(entry.len() as u32).to_le_bytes());
        *pos += entry.len() as u64;
        self.stats.bytes_written += entry.len() as u64;
        self.new.push(rec);
        Ok(())
    }

    /// The data file to append to: the current one if the old index was good, else a
    /// fresh file of the new generation.
    fn open_data(&self) -> io::Result<(DataOut, u64)> {
        let path = self.cache.data_path(self.cache.generation);
        if self.cache.data.is_some() {
            let file = OpenOptions::new().append(true).open(&path)?;
            let pos = file.metadata()?.len();
            let w = BufWriter::with_capacity(1 << 16, file);
            return Ok((DataOut::Append { w, start: pos }, pos));
        }
        fs::create_dir_all(&self.cache.dir)?;
        // No index names any data file here: whatever an earlier run left (a crash, a full
        // disk, another version's cache) is dead, and would hold on to the space this
        // write needs.
        remove_data_files(&self.cache.dir, None);
        let tmp = self
            .cache
            .dir
            .join(format!("data-{}.tmp", self.cache.generation));
        let file = File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        let out = match w.write_all(DATA_MAGIC) {
            Ok(()) => DataOut::Fresh { w, tmp },
            Err(e) => {
                DataOut::Fresh { w, tmp }.abandon();
                return Err(e);
            }
        };
        Ok((out, DATA_MAGIC.len() as u64))
    }

    /// Writes the index (unless the run was cancelled or nothing changed) and returns a
    /// warning for anything that went wrong.
    pub fn finish(mut self, cancelled: bool) -> (CacheStats, Option<(PathBuf, String)>) {
        let index_path = self.cache.dir.join(INDEX_FILE);
        if let Some(msg) = self.error.take() {
            self.abandon();
            return (self.stats, Some((self.cache.dir.clone(), msg)));
        }
        if cancelled {
            self.abandon();
            return (self.stats, None);
        }
        match self.write_index() {
            Ok(()) => (self.stats, None),
            Err(e) => {
                self.abandon();
                (
                    self.stats,
                    Some((index_path, format!("cannot write: {e}; cache not updated"))),
                )
            }
        }
    }

    /// Leaves the cache as the run found it: what this run wrote is removed or cut off.
    fn abandon(&mut self) {
        if let Some((out, _)) = self.data.take() {
            out.abandon();
        }
    }

    fn write_index(&mut self) -> io::Result<()> {
        if self.data.is_none() && self.cache.data.is_none() {
            // A fresh cache with nothing to store still gets its (empty) data file, so the
            // index never names a file that is not there.
            self.data = Some(self.open_data()?);
        }
        // Flushed and synced, but kept in `self.data` until the index is in place, so a
        // failure from here on can still undo it.
        if let Some((out, _)) = self.data.as_mut() {
            let w = out.writer();
            w.flush()?;
            w.get_ref().sync_data()?;
        }
        let old = self.cache.len();
        let kept_all = (0..old).all(|s| self.is_kept(s));
        if self.new.is_empty() && kept_all && self.cache.data.is_some() {
            self.stats.entries = old as u64;
            self.data = None; // appended nothing worth undoing
            return Ok(()); // nothing changed: the index on disk is right
        }
        let mut new_records = std::mem::take(&mut self.new);
        new_records.sort_unstable_by_key(key_of);
        // Merge the kept old records with the new ones; a new record wins on equal keys
        // (the same path discovered twice keeps one entry).
        let mut merged: Vec<[u8; RECORD]> = Vec::with_capacity(new_records.len() + old);
        let mut new = new_records.iter().peekable();
        for slot in (0..old).filter(|&s| self.is_kept(s)) {
            let Some(rec) = self
                .cache
                .records
                .get(slot * RECORD..(slot + 1) * RECORD)
                .and_then(|r| <[u8; RECORD]>::try_from(r).ok())
            else {
                continue;
            };
            while let Some(n) = new.next_if(|n| key_of(n) <= key_of(&rec)) {
                merged.push(*n);
            }
            if merged.last().map(key_of) != Some(key_of(&rec)) {
                merged.push(rec);
            }
        }
        merged.extend(new.copied());
        merged.dedup_by_key(|r| key_of(r));
        drop(new_records);

        let mut generation = self.cache.generation;
        let live: u64 = merged.iter().map(|r| u64::from(len_of(r))).sum();
        let data_len = fs::metadata(self.cache.data_path(generation))
            .map(|m| m.len())
            .unwrap_or(0);
        // A compacted file of the next generation, named only with the index below.
        let mut compacted = None;
        if data_len > COMPACT_MIN_BYTES && data_len > live.saturating_mul(2) {
            let (g, tmp) = self.compact(&mut merged)?;
            generation = g;
            compacted = Some(tmp);
        }
        let result = self.write_index_file(generation, &merged, compacted.as_deref());
        if result.is_err() {
            if let Some(tmp) = compacted {
                let _ = fs::remove_file(tmp);
            }
        }
        result
    }

    /// Writes the index for `generation`, putting the data file it names in place first.
    fn write_index_file(
        &mut self,
        generation: u64,
        merged: &[[u8; RECORD]],
        compacted: Option<&Path>,
    ) -> io::Result<()> {
        // Streamed through a hasher into the temporary file: no second copy of the index in
        // memory (20 MB at a million files).
        fs::create_dir_all(&self.cache.dir)?;
        let tmp = tempfile::Builder::new()
            .prefix(".index-")
            .suffix(".tmp")
            .tempfile_in(&self.cache.dir)?;
        let mut out = HashingWriter {
            inner: BufWriter::with_capacity(1 << 16, tmp),
            hasher: xxhash_rust::xxh3::Xxh3::new(),
        };
        out.put(INDEX_MAGIC)?;
        out.put(&(self.cache.namespace.len() as u32).to_le_bytes())?;
        out.put(&self.cache.namespace)?;
        out.put(&generation.to_le_bytes())?;
        out.put(&(merged.len() as u64).to_le_bytes())?;
        for r in merged {
            out.put(r)?;
        }
        let sum = out.hasher.digest();
        let mut w = out.inner;
        w.write_all(&sum.to_le_bytes())?;
        let tmp = w.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        // The data file the index names gets its name first: an index never names a file
        // that is not there. Should the index then fail, that file is removed again.
        let data_path = self.cache.data_path(generation);
        let named = match (compacted, self.data.as_ref()) {
            (Some(c), _) => Some(c),
            (None, Some((DataOut::Fresh { tmp, .. }, _))) => Some(tmp.as_path()),
            _ => None,
        };
        if let Some(from) = named {
            fs::rename(from, &data_path)?;
        }
        if let Err(e) = tmp.persist(self.cache.dir.join(INDEX_FILE)) {
            if named.is_some() {
                let _ = fs::remove_file(&data_path);
            }
            return Err(e.error);
        }
        // Written for good: nothing to undo any more.
        self.data = None;
        self.stats.entries = merged.len() as u64;
        // Data files of other generations are dead now (older ones, or a crashed run's).
        remove_data_files(&self.cache.dir, Some(generation));
        Ok(())
    }

    fn is_kept(&self, slot: usize) -> bool {
        self.kept
            .get(slot / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    /// Copies the live entries into the next generation's data file, rewriting offsets.
    /// Returns the generation and the temporary file it was written to (removed on error).
    fn compact(&self, merged: &mut [[u8; RECORD]]) -> io::Result<(u64, PathBuf)> {
        let generation = self.cache.generation.saturating_add(1);
        let path = self.cache.dir.join(format!("data-{generation}.tmp"));
        match self.compact_into(&path, merged) {
            Ok(()) => Ok((generation, path)),
            Err(e) => {
                let _ = fs::remove_file(&path);
                Err(e)
            }
        }
    }

    fn compact_into(&self, path: &Path, merged: &mut [[u8; RECORD]]) -> io::Result<()> {
        let src = File::open(self.cache.data_path(self.cache.generation))?;
        let mut w = BufWriter::with_capacity(1 << 16, File::create(path)?);
        w.write_all(DATA_MAGIC)?;
        let mut pos = DATA_MAGIC.len() as u64;
        let mut buf = Vec::new();
        for r in merged.iter_mut() {
            let (offset, len) = (
                u64::from_le_bytes(r[8..16].try_into().unwrap_or([0; 8])),
                len_of(r),
            );
            buf.resize(len as usize, 0);
            read_exact_at(&src, &mut buf, offset)?;
            w.write_all(&buf)?;
            r[8..16].copy_from_slice(&pos.to_le_bytes());
            pos += u64::from(len);
        }
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        Ok(())
    }
}

/// Writes and hashes what it writes (the index's checksum covers everything before it).
struct HashingWriter<W> {
    inner: W,
    hasher: xxhash_rust::xxh3::Xxh3,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.inner.write_all(bytes)
    }
}

fn key_of(r: &[u8; RECORD]) -> u64 {
    u64::from_le_bytes([r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]])
}

fn len_of(r: &[u8; RECORD]) -> u32 {
    u32::from_le_bytes([r[16], r[17], r[18], r[19]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(size: u64, m: i64) -> Stamp {
        Stamp {
            size,
            mtime_ns: Some(m),
        }
    }

    #[test]
    fn entries_round_trip_and_reject_tampering() {
        let p = Path::new("a/b.sql");
        let key = BlobCache::key(p);
        let mut e = Vec::new();
        build_entry(&mut e, key, p, stamp(10, 5), 42, false, b"payload");
        let got = verify_entry(&e, key, p).expect("valid");
        assert_eq!(got.payload, b"payload");
        assert_eq!(got.stamp, stamp(10, 5));
        assert_eq!(got.content_hash, 42);
        assert!(verify_entry(&e, key, Path::new("a/c.sql")).is_none());
        for i in 0..e.len() {
            let mut bad = e.clone();
            bad[i] ^= 0x40;
            assert!(verify_entry(&bad, key, p).is_none(), "byte {i}");
        }
        for n in 0..e.len() {
            assert!(verify_entry(&e[..n], key, p).is_none());
        }
    }

    #[test]
    fn index_parse_never_panics_on_garbage() {
        let ns = b"ns";
        for len in 0..64 {
            let junk: Vec<u8> = (0u32..len)
                .map(|i| u8::try_from(i * 37 % 251).expect("below 251"))
                .collect();
            let _ = parse_index(&junk, ns);
            let mut with_magic = INDEX_MAGIC.to_vec();
            with_magic.extend_from_slice(&junk);
            let _ = parse_index(&with_magic, ns);
        }
    }

    #[test]
    fn write_then_read_then_compact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ns = b"test-ns";
        let paths: Vec<PathBuf> = (0..50)
            .map(|i| PathBuf::from(format!("f{i}.sql")))
            .collect();
        let write_all = |cache: &BlobCache, payload: &[u8]| {
            let mut w = CacheWriter::new(cache);
            for p in &paths {
                let mut e = Vec::new();
                let key = BlobCache::key(p);
                build_entry(&mut e, key, p, stamp(1, 1), 7, false, payload);
                w.record(Pending::Write { key, entry: e });
            }
            w.finish(false)
        };
        let cache = BlobCache::open(dir.path(), ns);
        assert!(cache.is_empty());
        let big = vec![b'x'; 40_000];
        let (stats, warning) = write_all(&cache, &big);
        assert!(warning.is_none(), "{warning:?}");
        assert_eq!(stats.entries, 50);

        // Rewrite every entry twice: the data file gets mostly dead and is compacted.
        for _ in 0..2 {
            let cache = BlobCache::open(dir.path(), ns);
            assert_eq!(cache.len(), 50);
            let (_, warning) = write_all(&cache, &big);
            assert!(warning.is_none(), "{warning:?}");
        }
        let cache = BlobCache::open(dir.path(), ns);
        assert!(cache.generation > 1, "compacted into a new generation");
        let data_files = fs::read_dir(dir.path())
            .expect("ls")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| data_generation(&e.file_name().to_string_lossy()).is_some())
            })
            .count();
        assert_eq!(data_files, 1);
        let mut buf = Vec::new();
        for p in &paths {
            match cache.lookup(BlobCache::key(p), p, &mut buf).0 {
                Lookup::Found(e) => assert_eq!(e.payload, big.as_slice()),
                _ => panic!("{p:?} not found after compaction"),
            }
        }
        let other = BlobCache::open(dir.path(), b"other");
        assert!(other.is_empty());
        assert!(other.warnings[0].1.contains("another version"));
    }
}
