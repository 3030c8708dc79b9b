//! The progress bar on stderr while the scan runs: a spinner with the pipeline's live
//! counters, redrawn by a thread of its own. Messages print around it (`messages`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    stop: Arc<AtomicBool>,
    ticker: JoinHandle<()>,
}

impl Progress {
    /// Starts drawing `counters` (files parsed of found, MB read, MB/s, heap).
    pub fn start(counters: Arc<pipeline::Progress>) -> Progress {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let bar = bar.clone();
            let stop = Arc::clone(&stop);
            let start = Instant::now();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let files = counters.parsed.load(Ordering::Relaxed);
                    let found = counters.discovered.load(Ordering::Relaxed);
                    let bytes = counters.bytes.load(Ordering::Relaxed);
                    let secs = start.elapsed().as_secs_f64().max(0.001);
                    bar.set_message(format!(
                        "{files}/{found} files, {:.1} MB, {:.1} MB/s, heap {:.1} MB",
                        bytes as f64 / 1e6,
                        bytes as f64 / 1e6 / secs,
                        pipeline::alloc::current() as f64 / 1e6
                    ));
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Progress { bar, stop, ticker }
    }

    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }

    /// Stops the ticker and clears the bar from the terminal.
    pub fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.ticker.join();
        self.bar.finish_and_clear();
    }
}
