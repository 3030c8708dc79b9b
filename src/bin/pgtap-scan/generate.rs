//! `pgtap-scan completions SHELL` and `pgtap-scan man`: generated from the clap definition
//! `--help` reads, so they list every flag and subcommand there is.

use std::io::{self, Write};

use clap::CommandFactory as _;

use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell, w: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "pgtap-scan", &mut buf);
    write_or_closed(w, &buf)
}

pub fn man(w: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf)?;
    write_or_closed(w, &buf)
}

/// A closed pipe (`| head`) is the reader's choice.
fn write_or_closed(w: &mut dyn Write, buf: &[u8]) -> io::Result<()> {
    match w.write_all(buf).and_then(|()| w.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
