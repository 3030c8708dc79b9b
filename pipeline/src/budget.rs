//! The shared memory budget: how many bytes of file content (and whatever the parser made
//! of them) may be in flight between the stages at once.
//!
//! It is a byte counter behind a `parking_lot` mutex with a condition variable, so waiters
//! sleep instead of spinning. Bytes are charged with [`MemoryBudget::acquire`] and released
//! when the returned [`Charge`] is dropped. Two rules keep it both bounded and live:
//!
//! * new work waits while 80% or more of the limit is charged (the headroom lets work that
//!   has already started finish without overshooting), or while it would not fit;
//! * nothing ever waits when nothing is charged, so one item larger than the whole budget
//!   still goes through, alone, instead of deadlocking.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// A snapshot of a budget's counters, for `--stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetStats {
    /// The limit the budget was made with, in bytes of file content.
    pub limit_bytes: u64,
    /// The most bytes ever charged at once.
    pub peak_charged_bytes: u64,
    /// How many acquire / wait_for_room calls had to wait at least once.
    pub throttle_waits: u64,
    /// Total time spent waiting, summed over all waiters.
    pub throttle_time: Duration,
}

#[derive(Debug, Default)]
struct State {
    charged: u64,
    peak: u64,
    waits: u64,
    wait_time: Duration,
    /// Threads blocked in a wait right now.
    waiting: usize,
    cancelled: bool,
    /// Of `charged`, the bytes long-lived owners hold ([`MemoryBudget::hold`] and every
    /// [`Holder`]).
    held: u64,
    /// Of `held`, the bytes set by [`MemoryBudget::hold`].
    held_default: u64,
}

/// A memory budget shared by every stage; always used as `Arc<MemoryBudget>`.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    /// 80% of `limit`: at or above this, new work waits.
    high_water: u64,
    state: Mutex<State>,
    room: Condvar,
}

impl MemoryBudget {
    /// A budget of `limit_bytes`. A limit of 0 lets exactly one item through at a time.
    pub fn new(limit_bytes: u64) -> Arc<MemoryBudget> {
        // u128 so that a limit near u64::MAX cannot overflow; the result is <= limit.
        let high_water = (u128::from(limit_bytes) * 4 / 5) as u64;
        Arc::new(MemoryBudget {
            limit: limit_bytes,
            high_water,
            state: Mutex::new(State::default()),
            room: Condvar::new(),
        })
    }

    /// The limit in bytes, as given to [`MemoryBudget::new`].
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes charged right now.
    pub fn charged(&self) -> u64 {
        self.state.lock().charged
    }

    /// Threads blocked in [`acquire`](Self::acquire) or
    /// [`wait_for_room`](Self::wait_for_room) right now: "throttled" for a progress display,
    /// and a way for tests to see a wait without guessing at timing.
    pub fn waiters(&self) -> usize {
        self.state.lock().waiting
    }

    /// Whether [`cancel`](Self::cancel) has been called; once true it stays true.
    pub fn is_cancelled(&self) -> bool {
        self.state.lock().cancelled
    }

    /// Charges `bytes`, first waiting while 80% of the limit is charged or while `bytes`
    /// would not fit; never waits when nothing is charged. The bytes are released when the
    /// returned guard is dropped.
    ///
    /// Returns `None` once the budget is cancelled (before or during the wait): a cancelled
    /// run should start no new work.
    pub fn acquire(self: &Arc<Self>, bytes: u64) -> Option<Charge> {
        let mut state = self.state.lock();
        // What is held is not released by finishing work: waiting for it would never end,
        // so only bytes charged by work in flight make new work wait.
        let must_wait = |s: &State| {
            !s.cancelled
                && s.charged > s.held
                && (s.charged >= self.high_water || s.charged.saturating_add(bytes) > self.limit)
        };
        if must_wait(&state) {
            let started = Instant::now();
            state.waiting += 1;
            while must_wait(&state) {
                self.room.wait(&mut state);
            }
            state.waiting -= 1;
            state.waits += 1;
            state.wait_time += started.elapsed();
        }
        if state.cancelled {
            return None;
        }
        state.charged = state.charged.saturating_add(bytes);
        state.peak = state.peak.max(state.charged);
        Some(Charge {
            budget: Arc::clone(self),
            bytes,
        })
    }

    /// Waits while 80% or more of the limit is charged (and something is charged at all).
    /// Discovery calls this before handing over each batch, so it stops producing work
    /// while the later stages are full. Returns `false` if the budget was cancelled.
    pub fn wait_for_room(&self) -> bool {
        let mut state = self.state.lock();
        let must_wait =
            |s: &State| !s.cancelled && s.charged > s.held && s.charged >= self.high_water;
        if must_wait(&state) {
            let started = Instant::now();
            state.waiting += 1;
            while must_wait(&state) {
                self.room.wait(&mut state);
            }
            state.waiting -= 1;
            state.waits += 1;
            state.wait_time += started.elapsed();
        }
        !state.cancelled
    }

    /// Sets the bytes a long-lived owner holds (the coverage database): they count toward
    /// the charge and its peak, so work in flight gets less room, but never make anything
    /// wait on their own (only bytes charged by work in flight do), and this never waits:
    /// the owner keeps its own share by spilling. Replaces the previous hold (other owners
    /// hold theirs through a [`Holder`]).
    pub fn hold(&self, bytes: u64) {
        let before = {
            let mut state = self.state.lock();
            std::mem::replace(&mut state.held_default, bytes)
        };
        self.rehold(before, bytes);
    }

    /// A hold of its own for one more long-lived owner (the plan checks waiting for every
    /// file): held as [`MemoryBudget::hold`] is, beside it; released when dropped.
    pub fn holder(self: &Arc<Self>) -> Holder {
        Holder {
            budget: Arc::clone(self),
            bytes: 0,
        }
    }

    /// Replaces `before` held bytes with `after`.
    fn rehold(&self, before: u64, after: u64) {
        {
            let mut state = self.state.lock();
            state.held = state.held.saturating_sub(before).saturating_add(after);
            state.charged = state.charged.saturating_sub(before).saturating_add(after);
            state.peak = state.peak.max(state.charged);
        }
        if after < before {
            self.room.notify_all();
        }
    }

    /// Wakes every waiter and makes every later wait return at once. Irreversible: this is
    /// for shutting a run down (Ctrl-C), not for pausing it.
    pub fn cancel(&self) {
        self.state.lock().cancelled = true;
        self.room.notify_all();
    }

    /// A snapshot of the counters (the peak and the waits so far), for `--stats`.
    pub fn stats(&self) -> BudgetStats {
        let state = self.state.lock();
        BudgetStats {
            limit_bytes: self.limit,
            peak_charged_bytes: state.peak,
            throttle_waits: state.waits,
            throttle_time: state.wait_time,
        }
    }

    fn release(&self, bytes: u64) {
        {
            let mut state = self.state.lock();
            state.charged = state.charged.saturating_sub(bytes);
        }
        // Waiters wait for different amounts, so all of them must re-check.
        self.room.notify_all();
    }
}

/// Bytes charged to a [`MemoryBudget`]; dropping it releases them and wakes waiters.
#[derive(Debug)]
#[must_use = "dropping a Charge releases it at once"]
pub struct Charge {
    budget: Arc<MemoryBudget>,
    bytes: u64,
}

impl Charge {
    /// The bytes this guard holds charged (what was passed to [`MemoryBudget::acquire`]).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.release(self.bytes);
    }
}

/// Bytes one long-lived owner holds ([`MemoryBudget::holder`]): they count as
/// [`MemoryBudget::hold`]'s do, beside them; dropping it releases them.
#[derive(Debug)]
pub struct Holder {
    budget: Arc<MemoryBudget>,
    bytes: u64,
}

impl Holder {
    /// Holds `bytes` from now on, replacing what this holder held; never waits.
    pub fn set(&mut self, bytes: u64) {
        if bytes != self.bytes {
            self.budget.rehold(self.bytes, bytes);
            self.bytes = bytes;
        }
    }

    /// The bytes held now.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::{bounded, Receiver};
    use std::thread;

    // Bytes held by the coverage database count toward the peak, shrink the room of work
    // in flight, and never make work wait on their own (waiting for them would hang).
    #[test]
    fn held_bytes_count_but_never_block_alone() {
        let budget = MemoryBudget::new(100);
        budget.hold(90);
        assert_eq!(budget.charged(), 90);
        let alone = budget.acquire(50).expect("granted");
        assert_eq!(budget.charged(), 140);
        assert_eq!(budget.stats().peak_charged_bytes, 140);
        drop(alone);
        budget.hold(30);
        assert_eq!(budget.charged(), 30);
        let a = budget.acquire(40).expect("granted");
        // 70 charged: 20 more fit, 40 more would not; the hold going down makes room.
        let pending = acquire_on_thread(&budget, 40);
        assert_blocked(&budget, 1, &[&pending]);
        budget.hold(0);
        assert!(pending.recv_timeout(HANG).expect("woken").is_some());
        drop(a);
    }

    // Two long-lived owners (the coverage database's hold and the held plan checks'
    // holder) add up; neither replaces the other's bytes, and dropping a holder gives its
    // bytes back.
    #[test]
    fn holders_add_to_the_hold_and_release_on_drop() {
        let budget = MemoryBudget::new(100);
        budget.hold(30);
        let mut plans = budget.holder();
        plans.set(20);
        assert_eq!(budget.charged(), 50);
        budget.hold(10);
        assert_eq!(budget.charged(), 30, "the hold replaced only its own bytes");
        plans.set(5);
        assert_eq!(budget.charged(), 15);
        plans.set(60);
        assert_eq!(budget.stats().peak_charged_bytes, 70);
        // Held bytes alone never block work in flight.
        let alone = budget.acquire(50).expect("granted");
        drop(alone);
        drop(plans);
        assert_eq!(budget.charged(), 10);
        budget.hold(0);
        assert_eq!(budget.charged(), 0);
    }

    /// Long enough that a missing wake-up is caught, short enough not to hang the suite.
    const HANG: Duration = Duration::from_secs(10);

    /// Starts `acquire(bytes)` on another thread; the receiver yields the charge once granted.
    fn acquire_on_thread(budget: &Arc<MemoryBudget>, bytes: u64) -> Receiver<Option<Charge>> {
        let (tx, rx) = bounded(1);
        let budget = Arc::clone(budget);
        thread::spawn(move || {
            let _ = tx.send(budget.acquire(bytes));
        });
        rx
    }

    /// Waits until `n` threads are blocked in the budget (a positive signal, not a guess
    /// from elapsed time), then checks that none of `pending` has completed.
    fn assert_blocked<T>(budget: &MemoryBudget, n: usize, pending: &[&Receiver<T>]) {
        let deadline = Instant::now() + HANG;
        while budget.waiters() < n {
            assert!(
                Instant::now() < deadline,
                "expected {n} waiters, have {}",
                budget.waiters()
            );
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(budget.waiters(), n);
        for rx in pending {
            assert!(rx.is_empty(), "a blocked call completed");
        }
    }

    #[test]
    fn acquire_below_high_water_does_not_block() {
        let budget = MemoryBudget::new(1000);
        let a = budget.acquire(300).expect("not cancelled");
        let b = budget.acquire(400).expect("not cancelled");
        assert_eq!(budget.charged(), 700);
        assert_eq!(a.bytes() + b.bytes(), 700);
        assert_eq!(budget.stats().throttle_waits, 0);
    }

    #[test]
    fn throttles_at_80_percent_and_release_wakes() {
        let budget = MemoryBudget::new(1000);
        let held = budget.acquire(800).expect("not cancelled");
        // 800 of 1000 is exactly the high-water mark: even a 1-byte item must wait.
        let rx = acquire_on_thread(&budget, 1);
        assert_blocked(&budget, 1, &[&rx]);
        drop(held);
        let charge = rx.recv_timeout(HANG).expect("release must wake the waiter");
        assert_eq!(charge.map(|c| c.bytes()), Some(1));
        assert_eq!(budget.stats().throttle_waits, 1);
        assert_eq!(budget.waiters(), 0);
    }

    #[test]
    fn below_80_percent_does_not_throttle_small_items() {
        let budget = MemoryBudget::new(1000);
        let _held = budget.acquire(799).expect("not cancelled");
        let rx = acquire_on_thread(&budget, 1);
        let charge = rx.recv_timeout(HANG).expect("799 < 800 must not throttle");
        assert!(charge.is_some());
        assert_eq!(budget.stats().throttle_waits, 0);
    }

    #[test]
    fn waits_when_item_would_not_fit() {
        let budget = MemoryBudget::new(1000);
        let held = budget.acquire(500).expect("not cancelled");
        let rx = acquire_on_thread(&budget, 600);
        assert_blocked(&budget, 1, &[&rx]);
        drop(held);
        assert!(rx.recv_timeout(HANG).expect("woken").is_some());
    }

    #[test]
    fn oversized_item_passes_alone() {
        let budget = MemoryBudget::new(100);
        let big = budget.acquire(10_000).expect("nothing charged: must pass");
        assert_eq!(budget.charged(), 10_000);
        // ... but while it is held nothing else gets in.
        let rx = acquire_on_thread(&budget, 1);
        assert_blocked(&budget, 1, &[&rx]);
        drop(big);
        assert!(rx.recv_timeout(HANG).expect("woken").is_some());
        // And an oversized item waits for the budget to empty, then passes.
        let small = budget.acquire(10).expect("not cancelled");
        let rx = acquire_on_thread(&budget, 10_000);
        assert_blocked(&budget, 1, &[&rx]);
        drop(small);
        assert!(rx.recv_timeout(HANG).expect("woken").is_some());
    }

    #[test]
    fn peak_never_exceeds_limit_for_items_within_limit() {
        let budget = MemoryBudget::new(1000);
        let sizes = [1u64, 999, 500, 250, 800, 1000, 7, 333];
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let budget = Arc::clone(&budget);
                thread::spawn(move || {
                    for i in 0..200 {
                        let bytes = sizes[(t + i) % sizes.len()];
                        let charge = budget.acquire(bytes).expect("not cancelled");
                        assert!(budget.charged() <= budget.limit());
                        thread::yield_now();
                        drop(charge);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("worker panicked");
        }
        let stats = budget.stats();
        assert!(stats.peak_charged_bytes <= 1000, "{stats:?}");
        assert!(
            stats.peak_charged_bytes >= 1000 - 1,
            "peak is tracked: {stats:?}"
        );
        assert_eq!(budget.charged(), 0);
    }

    #[test]
    fn cancel_wakes_waiters_and_later_waits_return_at_once() {
        let budget = MemoryBudget::new(100);
        let _held = budget.acquire(100).expect("not cancelled");
        let acquirer = acquire_on_thread(&budget, 10);
        let (tx, room) = bounded(1);
        {
            let budget = Arc::clone(&budget);
            thread::spawn(move || {
                let _ = tx.send(budget.wait_for_room());
            });
        }
        assert_blocked(&budget, 2, &[&acquirer]);
        assert!(room.is_empty());
        budget.cancel();
        assert!(acquirer.recv_timeout(HANG).expect("woken").is_none());
        assert!(!room.recv_timeout(HANG).expect("woken"));
        // Later calls do not block even though 100% is still charged.
        assert!(budget.acquire(10).is_none());
        assert!(!budget.wait_for_room());
        assert!(budget.is_cancelled());
    }

    #[test]
    fn wait_for_room_blocks_at_high_water_only() {
        let budget = MemoryBudget::new(1000);
        assert!(budget.wait_for_room(), "empty budget has room");
        let held = budget.acquire(900).expect("not cancelled");
        let (tx, rx) = bounded(1);
        {
            let budget = Arc::clone(&budget);
            thread::spawn(move || {
                let _ = tx.send(budget.wait_for_room());
            });
        }
        assert_blocked(&budget, 1, &[&rx]);
        drop(held);
        assert!(rx.recv_timeout(HANG).expect("woken"));
        assert_eq!(budget.stats().throttle_waits, 1);
    }

    #[test]
    fn stats_count_waits_and_time() {
        let budget = MemoryBudget::new(10);
        let held = budget.acquire(10).expect("not cancelled");
        let rxs: Vec<_> = (0..3).map(|_| acquire_on_thread(&budget, 1)).collect();
        assert_blocked(&budget, 3, &rxs.iter().collect::<Vec<_>>());
        drop(held);
        for rx in rxs {
            drop(rx.recv_timeout(HANG).expect("woken"));
        }
        let stats = budget.stats();
        assert_eq!(stats.throttle_waits, 3);
        assert!(stats.throttle_time > Duration::ZERO);
        assert_eq!(stats.limit_bytes, 10);
        assert_eq!(stats.peak_charged_bytes, 10);
    }

    #[test]
    fn zero_limit_lets_one_item_at_a_time() {
        let budget = MemoryBudget::new(0);
        let one = budget.acquire(5).expect("nothing charged");
        let rx = acquire_on_thread(&budget, 0);
        assert_blocked(&budget, 1, &[&rx]);
        drop(one);
        assert!(rx.recv_timeout(HANG).expect("woken").is_some());
    }
}
