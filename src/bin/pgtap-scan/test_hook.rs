//! A hook for the integration tests only, so they can send a signal at a known point of a
//! run instead of racing it: `PGTAP_SCAN_TEST_PAUSE_BEFORE=<phase>` stops the run at
//! `<phase>` (`universe`: before the universe is read; `scan`: before the scan, after the
//! output is opened; `render`: once the report has started to be written), prints
//! `pgtap-scan: test hook: paused before <phase>` on stderr, and waits until a signal has
//! been received or `PGTAP_SCAN_TEST_PAUSE_MS` (default 20000) milliseconds have passed.
//! With `PGTAP_SCAN_TEST_PAUSE_IGNORES_SIGNALS=1` it waits the whole time (a stuck phase).
//! Unset, it costs one environment lookup per phase.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub fn pause(phase: &str, signalled: Option<&AtomicBool>) {
    if std::env::var_os("PGTAP_SCAN_TEST_PAUSE_BEFORE").is_none_or(|p| p != phase) {
        return;
    }
    let ms = std::env::var("PGTAP_SCAN_TEST_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let stuck = std::env::var_os("PGTAP_SCAN_TEST_PAUSE_IGNORES_SIGNALS").is_some_and(|v| v == "1");
    eprintln!("pgtap-scan: test hook: paused before {phase}");
    let until = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < until {
        if !stuck && signalled.is_some_and(|s| s.load(Ordering::SeqCst)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
