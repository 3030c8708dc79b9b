//! The exit codes, as `--help` and the README list them (fd's `exit_codes.rs`): an enum,
//! so a code is chosen by what happened, never written as a literal.

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: the run worked and every gate passed.
    Success,
    /// 1: the run worked but a gate failed: coverage below `--fail-under`, a per-kind gate
    /// on a kind the universe has none of, coverage fell versus `--baseline` under
    /// `--fail-on-drop`, or a plan mismatch under `--strict`.
    GateFailed,
    /// 2: an error: a bad flag (clap exits with 2 itself), a missing path, a test file
    /// that could not be read, a universe that could not be read or holds no object, no
    /// test file found without `--allow-empty`. The report is missing or incomplete.
    Error,
    /// 128 + the signal's number: 130 SIGINT, 143 SIGTERM, 129 SIGHUP. No report written.
    Interrupted(i32),
}

impl ExitCode {
    /// The process's exit status. Plain arithmetic: the signal handler calls it too.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::GateFailed => 1,
            ExitCode::Error => 2,
            ExitCode::Interrupted(sig) => u8::try_from(128 + sig).unwrap_or(130),
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn the_codes_help_lists() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::GateFailed.code(), 1);
        assert_eq!(ExitCode::Error.code(), 2);
        assert_eq!(ExitCode::Interrupted(libc::SIGINT).code(), 130);
        assert_eq!(ExitCode::Interrupted(libc::SIGTERM).code(), 143);
        assert_eq!(ExitCode::Interrupted(libc::SIGHUP).code(), 129);
    }
}
