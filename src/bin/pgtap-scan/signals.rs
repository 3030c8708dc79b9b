//! SIGINT, SIGTERM and SIGHUP: the first one asks the run to stop (the pipeline drains,
//! every later phase checks, the report writer fails its next write) and the run exits with
//! the conventional code, 128 + the signal's number (130, 143, 129), without a report. A
//! second one, or the first while the universe is read (a phase that cannot check and has
//! nothing to clean up), ends the process at once: the report's temporary file, if any, is
//! removed from inside the handler.
//!
//! signal-hook rather than ctrlc: ctrlc runs one handler for all three signals on its own
//! thread and cannot tell which arrived (so SIGTERM gave 130), nor act inside the handler
//! when the main thread is stuck; signal-hook registers an action per signal that runs in
//! the handler itself, with async-signal-safe building blocks (`_exit`).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};
use std::sync::Arc;

use crate::exit_code::ExitCode;

/// The first signal received, 0 before.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Exit from the handler itself, even on a first signal.
static IMMEDIATE: AtomicBool = AtomicBool::new(false);
/// The temporary report file, as a C string, or null. The strings are never freed (one
/// per run), so the handler cannot read freed memory.
static TEMP: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

const MESSAGE: &[u8] = b"pgtap-scan: interrupted; no report written\n";

/// Installs the handlers; `cancel` is set on the first signal.
pub fn install(cancel: Arc<AtomicBool>) -> std::io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let cancel = Arc::clone(&cancel);
        // SAFETY: the action only uses atomics, unlink(2), write(2) and _exit(2), all
        // async-signal-safe; it allocates nothing and takes no lock.
        unsafe {
            signal_hook::low_level::register(sig, move || {
                let first = RECEIVED
                    .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok();
                cancel.store(true, Ordering::SeqCst);
                if !first || IMMEDIATE.load(Ordering::SeqCst) {
                    let tmp = TEMP.load(Ordering::SeqCst);
                    if !tmp.is_null() {
                        libc::unlink(tmp);
                    }
                    // Not through `messages`: only write(2) is safe here.
                    libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
                    signal_hook::low_level::exit(i32::from(ExitCode::Interrupted(sig).code()));
                }
            })?;
        }
    }
    Ok(())
}

/// The first signal received, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// While `on`, a first signal ends the process at once (for phases that cannot check the
/// flag and have nothing to clean up).
pub fn immediate(on: bool) {
    IMMEDIATE.store(on, Ordering::SeqCst);
}

/// The temporary report file the handler removes when it ends the process (None: none).
pub fn track_temp(path: Option<&Path>) {
    let ptr = match path.and_then(|p| CString::new(p.as_os_str().as_bytes()).ok()) {
        Some(c) => c.into_raw(),
        None => std::ptr::null_mut(),
    };
    TEMP.store(ptr, Ordering::SeqCst);
}
