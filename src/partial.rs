//! The partial format (`--format partial`, version [`PARTIAL_VERSION`]): what one shard of a
//! scan found, for `pgtap-scan merge` to combine into the report one scan would give.
//!
//! Layout (documented for users in the README, "Sharding across CI jobs"):
//!
//! ```text
//! pgtap-scan partial 1\n          magic line with the format version
//! tool 0.1.0\n                    the pgtap-scan version that wrote it
//! shard 2/3\n
//! setting <name> <value>\n        each setting that changes results (catalog digest,
//! ...                             search path, helpers, options, universe digest)
//! setting+ <name> <more>\n         a long value goes on over lines of at most 64 KiB
//!                                 (a monorepo's `projects` grows with its projects)
//! \n                              end of the header
//! F <u32 LE length> <record>      one per file of the shard: its path, then its result
//! ...                             in the `--cache` codec (`crate::result_codec`)
//! T <u32 LE length> <JSON>        the trailer: the digest of the whole file list, counts,
//!                                 the messages not tied to a file's result, the verdicts
//!                                 of plans checked through includes
//! <u32 LE length again>           so the trailer can be read from the end first
//! <u64 LE xxh3 of every byte before>
//! ```
//!
//! Every length is checked; a file cut short, with a bad checksum or an unknown record is
//! an error naming the file, never a partial result.

use std::io::{self, BufRead, Read, Write};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::model::FileResult;
use crate::shard::Shard;

/// Bump when the layout or the meaning of a record changes.
pub const PARTIAL_VERSION: u32 = 1;

const MAGIC: &str = "pgtap-scan partial";

/// What a partial starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The partial format's version ([`PARTIAL_VERSION`] when written).
    pub version: u32,
    /// The pgtap-scan version that wrote it.
    pub tool: String,
    /// Which shard of how many wrote it.
    pub shard: Shard,
    /// (name, value) of every setting that changes results, in a fixed order.
    pub settings: Vec<(String, String)>,
}

impl Header {
    /// The value of one setting.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A message as a partial keeps it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PartialMessage {
    /// An error (true) or a warning.
    pub error: bool,
    /// The file it is about, as reports show paths; `None` for the run as a whole.
    pub path: Option<String>,
    /// Its 1-based line, when it has one.
    pub line: Option<u32>,
    /// The message as the scan printed it.
    pub text: String,
}

/// A plan checked through its includes (see `crate::includes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialVerdict {
    /// The file with the plan.
    pub path: String,
    /// The 1-based line of its `plan(N)`.
    pub line: u32,
    /// N.
    pub planned: u64,
    /// TAP results found statically, includes counted.
    pub found: u64,
    /// Of `found`, those from included files.
    pub from_includes: u64,
}

/// A problem with one include, at the including line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialWarning {
    /// The including file.
    pub path: String,
    /// The 1-based line of the include.
    pub line: u32,
    /// What is wrong with it.
    pub text: String,
}

/// What a partial ends with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    /// The digest of every discovered path (all shards', see `crate::shard`).
    pub file_list: String,
    /// Files discovered by the walk (every shard's).
    pub files_discovered: u64,
    /// File records written.
    pub files: u64,
    /// Files this shard parsed (cache hits included).
    pub files_parsed: u64,
    /// Files this shard could not read.
    pub files_failed: u64,
    /// Files skipped (too large, binary, ...).
    pub files_skipped: u64,
    /// Paths given that were not scanned.
    pub inputs_not_scanned: u64,
    /// Bytes this shard read.
    pub bytes_read: u64,
    /// The shard's scan was interrupted: its partial is not complete.
    pub cancelled: bool,
    /// Messages not tied to a file's result (discovery, unreadable files, settings).
    pub messages: Vec<PartialMessage>,
    /// Plans checked through includes, which a merge cannot redo from the records alone.
    pub include_verdicts: Vec<PartialVerdict>,
    /// Problems with includes, at the including line.
    pub include_warnings: Vec<PartialWarning>,
}

/// Writes a partial: the header at once, then file records, then the trailer.
pub struct Writer<W: Write> {
    w: W,
    hash: Xxh3,
    buf: Vec<u8>,
    files: u64,
}

/// The longest value a `setting` (or `setting+`) header line carries: a longer one goes
/// on over `setting+` lines, so a header line stays far below what a reader accepts
/// ([`MAX_LINE`]) whatever the value's length.
const SETTING_CHUNK: usize = 64 << 10;

impl<W: Write> Writer<W> {
    /// Starts a partial on `w`: writes the header at once.
    pub fn new(w: W, header: &Header) -> io::Result<Writer<W>> {
        Self::with_chunk(w, header, SETTING_CHUNK)
    }

    fn with_chunk(mut w: W, header: &Header, chunk: usize) -> io::Result<Writer<W>> {
        let mut text = format!(
            "{MAGIC} {}\ntool {}\nshard {}\n",
            header.version, header.tool, header.shard
        );
        for (name, value) in &header.settings {
            debug_assert!(!name.contains([' ', '\n']) && !value.contains('\n'));
            let mut tag = "setting";
            let mut rest = value.as_str();
            loop {
                // Cut at a character boundary (at least one character a line).
                let mut cut = rest.len().min(chunk.max(4));
                while !rest.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.push_str(&format!("{tag} {name} {}\n", &rest[..cut]));
                rest = &rest[cut..];
                if rest.is_empty() {
                    break;
                }
                tag = "setting+";
            }
        }
        text.push('\n');
        let mut hash = Xxh3::new();
        hash.update(text.as_bytes());
        w.write_all(text.as_bytes())?;
        Ok(Writer {
            w,
            hash,
            buf: Vec::new(),
            files: 0,
        })
    }

    fn record(&mut self, tag: u8) -> io::Result<()> {
        let len = u32::try_from(self.buf.len())
            .map_err(|_| io::Error::other("a record of more than 4 GiB"))?;
        let mut head = [0u8; 5];
        head[0] = tag;
        head[1..].copy_from_slice(&len.to_le_bytes());
        self.hash.update(&head);
        self.hash.update(&self.buf);
        self.w.write_all(&head)?;
        self.w.write_all(&self.buf)
    }

    /// One file of the shard: its path as reports show it and its result.
    pub fn file(&mut self, path: &str, result: &FileResult) -> io::Result<()> {
        self.buf.clear();
        uint(&mut self.buf, path.len() as u64);
        self.buf.extend_from_slice(path.as_bytes());
        crate::result_codec::encode(result, &mut self.buf);
        self.files += 1;
        self.record(b'F')
    }

    /// The trailer (its `files` is set here) and the checksum; returns the writer.
    pub fn finish(mut self, mut trailer: Trailer) -> io::Result<W> {
        trailer.files = self.files;
        self.buf = serde_json::to_vec(&trailer).map_err(io::Error::other)?;
        self.record(b'T')?;
        let len = (self.buf.len() as u32).to_le_bytes();
        self.hash.update(&len);
        self.w.write_all(&len)?;
        let sum = self.hash.digest();
        self.w.write_all(&sum.to_le_bytes())?;
        self.w.flush()?;
        Ok(self.w)
    }
}

fn uint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn read_uint(b: &mut &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        n |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

/// Reads a partial record by record, checking everything (errors are plain sentences the
/// caller prefixes with the file's name).
pub struct Reader<R: BufRead> {
    r: R,
    hash: Xxh3,
    buf: Vec<u8>,
    trailer: Option<Trailer>,
    files: u64,
}

/// The longest header line accepted (writers cut values at [`SETTING_CHUNK`]).
const MAX_LINE: u64 = 1 << 20;

impl<R: BufRead> Reader<R> {
    /// Reads and checks the header.
    pub fn open(mut r: R) -> Result<(Reader<R>, Header), String> {
        let mut hash = Xxh3::new();
        let mut line = |what: &str| -> Result<String, String> {
            let mut bytes = Vec::new();
            (&mut r)
                .take(MAX_LINE)
                .read_until(b'\n', &mut bytes)
                .map_err(|e| format!("cannot read: {e}"))?;
            hash.update(&bytes);
            if what == "the magic line" && !bytes.starts_with(MAGIC.as_bytes()) {
                return Err(format!(
                    "not a pgtap-scan partial (it does not start with {MAGIC:?}; shards write \
                     one with --format partial)"
                ));
            }
            if bytes.last() != Some(&b'\n') {
                return Err(format!("truncated in the header (expected {what})"));
            }
            bytes.pop();
            String::from_utf8(bytes).map_err(|_| format!("corrupt header (in {what})"))
        };
        let first = line("the magic line")?;
        let Some(version) = first.strip_prefix(MAGIC).map(str::trim) else {
            return Err(format!(
                "not a pgtap-scan partial (it does not start with {MAGIC:?}; shards write \
                 one with --format partial)"
            ));
        };
        let version: u32 = version
            .parse()
            .map_err(|_| format!("corrupt header: {first:?}"))?;
        if version != PARTIAL_VERSION {
            return Err(format!(
                "partial format version {version}; this pgtap-scan reads version \
                 {PARTIAL_VERSION}: make every shard and the merge with the same pgtap-scan"
            ));
        }
        let tool = line("the tool version")?;
        let tool = tool
            .strip_prefix("tool ")
            .ok_or_else(|| format!("corrupt header: {tool:?} (expected the tool version)"))?
            .to_string();
        let shard = line("the shard")?;
        let shard = shard
            .strip_prefix("shard ")
            .ok_or_else(|| format!("corrupt header: {shard:?} (expected the shard)"))
            .and_then(|s| Shard::parse(s).map_err(|e| format!("corrupt header: shard {e}")))?;
        let mut settings: Vec<(String, String)> = Vec::new();
        loop {
            let l = line("a setting or the end of the header")?;
            if l.is_empty() {
                break;
            }
            if let Some((name, more)) = l.strip_prefix("setting+ ").and_then(|s| s.split_once(' '))
            {
                // The rest of the setting on the line before.
                match settings.last_mut() {
                    Some((last, value)) if last == name => value.push_str(more),
                    _ => return Err(format!("corrupt header: {l:?} continues no setting")),
                }
                continue;
            }
            let Some((name, value)) = l.strip_prefix("setting ").and_then(|s| s.split_once(' '))
            else {
                return Err(format!("corrupt header: {l:?}"));
            };
            settings.push((name.to_string(), value.to_string()));
        }
        let header = Header {
            version,
            tool,
            shard,
            settings,
        };
        Ok((
            Reader {
                r,
                hash,
                buf: Vec::new(),
                trailer: None,
                files: 0,
            },
            header,
        ))
    }

    fn exact(&mut self, n: usize, what: &str) -> Result<(), String> {
        self.buf.clear();
        let got = (&mut self.r)
            .take(n as u64)
            .read_to_end(&mut self.buf)
            .map_err(|e| format!("cannot read: {e}"))?;
        if got < n {
            // A file cut short and a length field altered to run past the end read the
            // same here: say both (the checksum that would tell them apart comes last).
            return Err(format!(
                "truncated or corrupt after {} file records (in {what}): the file ends inside \
                 it (the shard's run did not finish writing it, or a length was altered)",
                self.files
            ));
        }
        Ok(())
    }

    /// The next file record, or `None` once the trailer (checked) has been read.
    pub fn next_file(&mut self) -> Result<Option<(String, FileResult)>, String> {
        if self.trailer.is_some() {
            return Ok(None);
        }
        self.exact(5, "a record's head")?;
        let tag = self.buf[0];
        let len = u32::from_le_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
        self.hash.update(&self.buf);
        match tag {
            b'F' => {
                self.exact(len as usize, "a file record")?;
                self.hash.update(&self.buf);
                let corrupt = || "corrupt file record".to_string();
                let mut b: &[u8] = &self.buf;
                let n = read_uint(&mut b).ok_or_else(corrupt)? as usize;
                if n > b.len() {
                    return Err(corrupt());
                }
                let path = std::str::from_utf8(&b[..n])
                    .map_err(|_| corrupt())?
                    .to_string();
                let result = crate::result_codec::decode(&b[n..]).ok_or_else(corrupt)?;
                self.files += 1;
                Ok(Some((path, result)))
            }
            b'T' => {
                self.exact(len as usize, "the trailer")?;
                self.hash.update(&self.buf);
                let trailer: Trailer = serde_json::from_slice(&self.buf)
                    .map_err(|e| format!("corrupt trailer: {e}"))?;
                self.exact(4, "the trailer's length")?;
                self.hash.update(&self.buf);
                if self.buf[..4] != len.to_le_bytes() {
                    return Err("corrupt: the trailer's two lengths differ".into());
                }
                self.exact(8, "the checksum")?;
                let sum = u64::from_le_bytes(self.buf[..8].try_into().unwrap_or([0; 8]));
                if sum != self.hash.digest() {
                    return Err("corrupt: the checksum does not match the content".into());
                }
                if trailer.files != self.files {
                    return Err(format!(
                        "corrupt: the trailer counts {} files, the file holds {}",
                        trailer.files, self.files
                    ));
                }
                let mut rest = [0u8; 1];
                if self
                    .r
                    .read(&mut rest)
                    .map_err(|e| format!("cannot read: {e}"))?
                    != 0
                {
                    return Err("corrupt: bytes after the end".into());
                }
                self.trailer = Some(trailer);
                Ok(None)
            }
            other => Err(format!(
                "corrupt: unknown record {:?} after {} file records",
                char::from(other),
                self.files
            )),
        }
    }

    /// The trailer, once [`Reader::next_file`] has returned `None`.
    pub fn trailer(&self) -> Option<&Trailer> {
        self.trailer.as_ref()
    }
}

/// The trailer alone, read from the end (the checksum is verified by the full read
/// later): what a merge needs to know before it reads the files.
pub fn peek_trailer<R: Read + io::Seek>(r: &mut R) -> Result<Trailer, String> {
    let io = |e: io::Error| format!("cannot read: {e}");
    let mut magic = Vec::new();
    r.by_ref()
        .take(MAGIC.len() as u64)
        .read_to_end(&mut magic)
        .map_err(io)?;
    if magic != MAGIC.as_bytes() {
        return Err(format!(
            "not a pgtap-scan partial (it does not start with {MAGIC:?}; shards write one \
             with --format partial)"
        ));
    }
    let end = r.seek(io::SeekFrom::End(0)).map_err(io)?;
    let truncated = || {
        "truncated: no trailer at the end (the shard's run did not finish writing it)".to_string()
    };
    if end < 12 {
        return Err(truncated());
    }
    r.seek(io::SeekFrom::End(-12)).map_err(io)?;
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(io)?;
    let len = u64::from(u32::from_le_bytes(len));
    if len + 12 + 5 > end {
        return Err(truncated());
    }
    // `len` < 2^32 (read from four bytes): no wrap.
    r.seek(io::SeekFrom::End(
        -12 - i64::try_from(len).map_err(|_| truncated())?,
    ))
    .map_err(io)?;
    let mut json = vec![0u8; len as usize];
    r.read_exact(&mut json).map_err(io)?;
    let trailer = serde_json::from_slice(&json).map_err(|_| truncated())?;
    r.seek(io::SeekFrom::Start(0)).map_err(io)?;
    Ok(trailer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let ex = crate::extract::Extractor::new(crate::config::ExtractOptions::default());
        let header = Header {
            version: PARTIAL_VERSION,
            tool: "0.0.0".into(),
            shard: Shard { index: 2, count: 3 },
            settings: vec![("search-path".into(), "[\"public\"]".into())],
        };
        let mut w = Writer::new(Vec::new(), &header).expect("write");
        w.file("t/a.sql", &ex.extract(b"SELECT has_table('a');\n"))
            .expect("write");
        w.file(
            "t/b.sql",
            &ex.extract(b"SELECT plan(1);\nSELECT ok(true);\n"),
        )
        .expect("write");
        w.finish(Trailer {
            file_list: "3:0:0".into(),
            ..Trailer::default()
        })
        .expect("write")
    }

    fn read_all(bytes: &[u8]) -> Result<(Header, Vec<String>, Trailer), String> {
        let (mut r, header) = Reader::open(bytes)?;
        let mut paths = Vec::new();
        while let Some((p, _)) = r.next_file()? {
            paths.push(p);
        }
        Ok((header, paths, r.trailer().cloned().expect("read")))
    }

    #[test]
    fn a_partial_round_trips() {
        let (header, paths, trailer) = read_all(&sample()).expect("reads");
        assert_eq!(header.shard, Shard { index: 2, count: 3 });
        assert_eq!(header.setting("search-path"), Some("[\"public\"]"));
        assert_eq!(paths, ["t/a.sql", "t/b.sql"]);
        assert_eq!(trailer.files, 2);
        assert_eq!(trailer.file_list, "3:0:0");
        let peeked = peek_trailer(&mut io::Cursor::new(sample())).expect("peeks");
        assert_eq!(peeked.file_list, "3:0:0");
    }

    fn header_with(settings: Vec<(String, String)>) -> Header {
        Header {
            version: PARTIAL_VERSION,
            tool: "0.0.0".into(),
            shard: Shard { index: 1, count: 1 },
            settings,
        }
    }

    fn round_trip(header: &Header, chunk: usize) -> Result<Header, String> {
        let w = Writer::with_chunk(Vec::new(), header, chunk).expect("write");
        let bytes = w.finish(Trailer::default()).expect("write");
        read_all(&bytes).map(|(h, _, _)| h)
    }

    // A value longer than a header line may be (a `projects` setting of ~25,000 projects
    // passed the 1 MiB a line is read to) was written whole and the partial could not be
    // read back: it goes on over `setting+` lines now.
    #[test]
    fn a_setting_longer_than_a_header_line_round_trips() {
        let projects: Vec<(String, String)> = (0..40_000)
            .map(|i| {
                (
                    format!("services/project-{i:05}"),
                    format!("{:016x}", i * 7919),
                )
            })
            .collect();
        let long = serde_json::to_string(&projects).expect("json");
        assert!(long.len() as u64 > MAX_LINE, "{}", long.len());
        let header = header_with(vec![
            ("search-path".into(), "[\"public\"]".into()),
            ("projects".into(), long.clone()),
            ("universe".into(), "none".into()),
        ]);
        let read = round_trip(&header, SETTING_CHUNK).expect("reads");
        assert_eq!(read, header);
        // At a forced small chunk, with characters of several bytes cut at boundaries.
        let header = header_with(vec![
            ("a".into(), "é".repeat(20) + "xyz"),
            ("b".into(), String::new()),
            ("c".into(), "0123456789".into()),
        ]);
        assert_eq!(round_trip(&header, 5).expect("reads"), header);
        // A continuation of nothing, or of another setting, is corrupt.
        for text in ["setting+ a x\n", "setting a x\nsetting+ b y\n"] {
            let partial = format!("{MAGIC} {PARTIAL_VERSION}\ntool 0\nshard 1/1\n{text}\n");
            let err = Reader::open(partial.as_bytes()).err().expect("corrupt");
            assert!(err.contains("continues no setting"), "{err}");
        }
    }

    // Every cut and every flipped byte is an error, never a shorter result.
    #[test]
    fn a_truncated_or_corrupt_partial_is_an_error() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            assert!(read_all(&bytes[..cut]).is_err(), "cut at {cut} read");
        }
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0x41;
            assert!(read_all(&b).is_err(), "flip at {at} read");
        }
        let err = read_all(&bytes[..bytes.len() - 3]).expect_err("cut");
        assert!(err.contains("truncated"), "{err}");
        let err = read_all(b"{\"version\": 1}").expect_err("json");
        assert!(err.contains("not a pgtap-scan partial"), "{err}");
    }
}
