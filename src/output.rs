//! Where the report goes: stdout, or a file written atomically (a temporary file in the
//! same directory, renamed over the target only when the report is complete).
//!
//! Only regular files are replaced that way. An existing device, FIFO or socket
//! (`-o /dev/null`, `-o /dev/stderr`, a named pipe) is written to directly: renaming a
//! temporary file over `/dev/null` would replace the device with a regular file, for every
//! program on the machine. A symbolic link is followed, and the file it points to is
//! replaced, not the link.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub enum Output {
    Stdout(BufWriter<io::Stdout>),
    /// Not a regular file: written in place, no rename.
    Special(BufWriter<std::fs::File>),
    File {
        tmp: BufWriter<tempfile::NamedTempFile>,
        target: PathBuf,
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
        let tmp = tempfile::Builder::new()
            .prefix(".pgtap-scan-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .with_context(|| {
                format!(
                    "{}: cannot create a file in {}",
                    path.display(),
                    dir.display()
                )
            })?;
        Ok(Output::File {
            tmp: BufWriter::new(tmp),
            target: path.to_path_buf(),
        })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::Special(w) => w,
            Output::File { tmp, .. } => tmp,
        }
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
            Output::File { tmp, target } => {
                let tmp = tmp
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("writing {}", target.display()))?;
                tmp.as_file()
                    .sync_all()
                    .with_context(|| format!("writing {}", target.display()))?;
                tmp.persist(&target)
                    .map_err(|e| e.error)
                    .with_context(|| format!("writing {}", target.display()))?;
                Ok(())
            }
        }
    }

    /// Drops a partial report: the temporary file is removed, the target left as it was.
    pub fn discard(self) {}
}
