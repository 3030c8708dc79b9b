//! Where the report goes: stdout, or a file written atomically (a temporary file in the
//! same directory, renamed over the target only when the report is complete).
//!
//! The temporary file is created when the first byte of the report is written (during the
//! scan for streaming NDJSON, after it for every other format), so a run that crashes or is
//! killed before does not leave one behind; whether the folder takes a new file is still
//! checked at once, before the scan. A new report gets the mode a new file would
//! (`0666` less the umask), a replaced one keeps the mode of the file it replaces.
//!
//! Only regular files are replaced that way. An existing device, FIFO or socket
//! (`-o /dev/null`, `-o /dev/stderr`, a named pipe) is written to directly: renaming a
//! temporary file over `/dev/null` would replace the device with a regular file, for every
//! program on the machine. A symbolic link is followed, and the file it points to is
//! replaced, not the link.

use std::fs::Permissions;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::signals;

pub enum Output {
    Stdout(BufWriter<io::Stdout>),
    /// Not a regular file: written in place, no rename.
    Special(BufWriter<std::fs::File>),
    File {
        /// Created on the first write.
        tmp: Option<BufWriter<tempfile::NamedTempFile>>,
        dir: PathBuf,
        target: PathBuf,
        /// The mode of the file being replaced (None: a new file).
        keep_mode: Option<Permissions>,
    },
}

impl Output {
    pub fn open(path: Option<&Path>) -> Result<Output> {
        let Some(path) = path else {
            return Ok(Output::Stdout(BufWriter::new(io::stdout())));
        };
        if let Ok(meta) = std::fs::metadata(path) {
            if !meta.is_file() {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("{}: cannot open for writing", path.display()))?;
                return Ok(Output::Special(BufWriter::new(f)));
            }
        }
        // Replace what a symbolic link points to, not the link.
        let resolved;
        let path = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                resolved = std::fs::canonicalize(path)
                    .with_context(|| format!("{}: cannot follow the link", path.display()))?;
                resolved.as_path()
            }
            _ => path,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Read, write and execute bits only: a set-id bit is not carried to a new file.
        let keep_mode = std::fs::metadata(path)
            .ok()
            .map(|m| Permissions::from_mode(m.permissions().mode() & 0o777));
        // A folder that does not exist or takes no new file should fail now, not after a
        // long scan: create a file there and remove it at once.
        drop(temp_in(&dir, path)?);
        Ok(Output::File {
            tmp: None,
            dir,
            target: path.to_path_buf(),
            keep_mode,
        })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        self
    }

    /// Flushes and, for a file, renames it into place.
    pub fn commit(self) -> Result<()> {
        match self {
            Output::Stdout(mut w) => match w.flush() {
                // A closed pipe (`| head`) is not an error worth a message.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("writing to stdout"),
            },
            Output::Special(mut w) => w.flush().context("writing the report"),
            Output::File {
                tmp,
                dir,
                target,
                keep_mode,
            } => {
                let tmp = match tmp {
                    Some(tmp) => tmp,
                    // An empty report: the file is still written.
                    None => BufWriter::new(create(&dir, &target, keep_mode.as_ref())?),
                };
                let tmp = tmp
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("writing {}", target.display()))?;
                tmp.as_file()
                    .sync_all()
                    .with_context(|| format!("writing {}", target.display()))?;
                let persisted = tmp
                    .persist(&target)
                    .map_err(|e| e.error)
                    .with_context(|| format!("writing {}", target.display()));
                signals::track_temp(None);
                persisted.map(drop)
            }
        }
    }

    /// Drops a partial report: the temporary file is removed, the target left as it was.
    pub fn discard(self) {
        if let Output::File { tmp, .. } = self {
            drop(tmp);
            signals::track_temp(None);
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::Special(w) => w.write(buf),
            Output::File {
                tmp,
                dir,
                target,
                keep_mode,
            } => {
                let w = match tmp {
                    Some(w) => w,
                    None => {
                        let file = create(dir, target, keep_mode.as_ref())
                            .map_err(|e| io::Error::other(format!("{e:#}")))?;
                        tmp.insert(BufWriter::new(file))
                    }
                };
                w.write(buf)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::Special(w) => w.flush(),
            Output::File { tmp: Some(w), .. } => w.flush(),
            Output::File { tmp: None, .. } => Ok(()),
        }
    }
}

/// A temporary file in `dir` with the mode a new file would get (0666 less the umask).
fn temp_in(dir: &Path, target: &Path) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".pgtap-scan-")
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "{}: cannot create a file in {}",
                target.display(),
                dir.display()
            )
        })
}

/// The temporary file the report is written to, known to the signal handler so that it
/// can remove it; it takes the mode of the file it will replace, if any.
fn create(
    dir: &Path,
    target: &Path,
    keep_mode: Option<&Permissions>,
) -> Result<tempfile::NamedTempFile> {
    let tmp = temp_in(dir, target)?;
    signals::track_temp(Some(tmp.path()));
    if let Some(mode) = keep_mode {
        tmp.as_file()
            .set_permissions(mode.clone())
            .with_context(|| format!("{}: cannot set the mode", target.display()))?;
    }
    Ok(tmp)
}
