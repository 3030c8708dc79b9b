//! Partial aggregates folded in the parse workers (issue 15): each worker folds the files
//! it parses into a coverage builder of its own, so the aggregator merges partials
//! (one hash lookup per object a partial names) instead of folding every assertion (one
//! per object an assertion names), and stops being the serial bottleneck as cores grow.
//!
//! A worker's partial is charged to the memory budget as it grows and handed to the
//! aggregator once it holds more than its share ([`Partials::limit`]) or when the run
//! ends; the aggregator merges what is handed over at its next event, and the database it
//! merges into is charged (and spills) as before. A partial handed over is no longer
//! charged: like a file's result on its way to the aggregator it is transient, and bounded
//! by the files in flight (the aggregator drains the partials after each file it takes).
//! The merged database does not depend on which worker folded which file nor on the merge
//! order (see `crate::coverage`'s `merge`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use pipeline::{Holder, MemoryBudget, Progress};

use super::config::STREAMING_AUTO_THRESHOLD;
use crate::coverage::Builder;
use crate::model::FileResult;

/// Charges are moved when a partial grew or shrank by this much (a lock each time).
const HOLD_STEP: u64 = 256 << 10;

struct Slot {
    builder: Option<Builder>,
    hold: Holder,
}

/// The parse workers' partial aggregates and the ones handed over.
pub(super) struct Partials {
    /// One per parse thread (by rayon's thread index).
    slots: Vec<Mutex<Slot>>,
    ready: Mutex<Vec<Builder>>,
    any_ready: AtomicBool,
    /// An empty builder in the aggregator's mode and settings, to start partials from.
    proto: Builder,
    limit: u64,
    /// `--streaming auto`: a partial switches once discovery has passed the threshold.
    auto: bool,
    progress: Arc<Progress>,
}

impl Partials {
    /// `proto`: an empty builder like the aggregator's (`Builder::partial`); the partials
    /// together may hold half the database's share of the budget.
    pub(super) fn new(
        proto: Builder,
        threads: usize,
        database_share: u64,
        auto: bool,
        progress: Arc<Progress>,
        budget: Arc<MemoryBudget>,
    ) -> Partials {
        let threads = threads.max(1);
        Partials {
            slots: (0..threads)
                .map(|_| {
                    Mutex::new(Slot {
                        builder: None,
                        hold: budget.holder(),
                    })
                })
                .collect(),
            ready: Mutex::new(Vec::new()),
            any_ready: AtomicBool::new(false),
            proto,
            limit: Self::limit(database_share, threads),
            auto,
            progress,
        }
    }

    /// Bytes a worker's partial may hold before it is handed over.
    fn limit(database_share: u64, threads: usize) -> u64 {
        database_share / 2 / threads as u64
    }

    /// Folds one file's result into the calling worker's partial (`path` as discovered,
    /// shown as the aggregator shows it).
    pub(super) fn fold(&self, path: &Path, result: &FileResult) {
        let i = pipeline::worker_index().unwrap_or(0) % self.slots.len();
        let mut slot = lock(&self.slots[i]);
        let slot = &mut *slot;
        let b = slot.builder.get_or_insert_with(|| self.proto.partial());
        if self.auto
            && !b.is_streaming()
            && self.progress.discovered.load(Relaxed) > STREAMING_AUTO_THRESHOLD
        {
            b.set_streaming(true);
        }
        b.add_file(&path.display().to_string(), result);
        let bytes = b.bytes();
        if bytes > self.limit {
            if let Some(full) = slot.builder.take() {
                slot.hold.set(0);
                lock(&self.ready).push(full);
                self.any_ready.store(true, Relaxed);
            }
        } else if bytes.abs_diff(slot.hold.bytes()) >= HOLD_STEP {
            slot.hold.set(bytes);
        }
    }

    /// The partials handed over since the last call.
    pub(super) fn take_ready(&self) -> Vec<Builder> {
        if !self.any_ready.swap(false, Relaxed) {
            return Vec::new();
        }
        std::mem::take(&mut *lock(&self.ready))
    }

    /// Every partial left, once the workers are done, with the charges of those still
    /// in a worker's hands (released when dropped).
    pub(super) fn into_rest(self) -> (Vec<Builder>, Vec<Holder>) {
        let mut rest = self.ready.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut holds = Vec::new();
        for slot in self.slots {
            let Slot { builder, hold } = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            rest.extend(builder.filter(|b| !b.is_empty()));
            holds.push(hold);
        }
        (rest, holds)
    }
}

/// A lock that a panic elsewhere does not poison for good (a parser's panic is caught per
/// file; what the partial held stays valid, as each fold is one call).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
