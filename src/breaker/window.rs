//! The breaker's sliding windows: the last N calls, or the calls of the last N seconds.
//!
//! The count window keeps its totals in one packed atomic word (calls, failures and slow calls,
//! 21 bits each), updated with one `fetch_add` of a signed delta: the arithmetic is linear, so
//! adding `(+1 call, -1 failure, ...)` as one wrapping 64-bit add gives exactly the packed result
//! as long as every field stays within its range, which the window size guarantees. The time
//! window, whose number of calls has no bound, keeps plain 64-bit counters per bucket and in total.
//! Either way recording is O(1) and lock-free whatever N is; the time window takes a short lock
//! only to move forward, at most once per bucket width.

use std::time::Duration;

use tokio::time::Instant;

use crate::sync::{
    AtomicU8, AtomicU64, Mutex,
    Ordering::{AcqRel, Acquire, Relaxed},
};

/// The largest count window, and the most buckets of a time window: the count window's packed
/// totals have 21-bit fields.
pub const MAX_WINDOW: usize = (1 << 21) - 1;

const FIELD: u32 = 21;
const MASK: u64 = (1 << FIELD) - 1;

/// One recorded outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) failure: bool,
    pub(crate) slow: bool,
}

impl Mark {
    fn code(self) -> u8 {
        1 | (self.failure as u8) << 1 | (self.slow as u8) << 2
    }

    fn delta(code: u8) -> i64 {
        if code == 0 {
            return 0;
        }
        1 + (((code >> 1) & 1) as i64) * (1 << FIELD)
            + (((code >> 2) & 1) as i64) * (1 << (2 * FIELD))
    }

    pub(crate) fn packed(self) -> i64 {
        Self::delta(self.code())
    }
}

/// The figures of a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) calls: u32,
    pub(crate) failures: u32,
    pub(crate) slow: u32,
}

impl Totals {
    pub(crate) fn unpack(word: u64) -> Self {
        Self {
            calls: (word & MASK) as u32,
            failures: ((word >> FIELD) & MASK) as u32,
            slow: ((word >> (2 * FIELD)) & MASK) as u32,
        }
    }

    fn add(word: u64, delta: i64) -> u64 {
        word.wrapping_add(delta as u64)
    }
}

/// A window of either kind.
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    /// Records `mark` at `now` (the time window's clock; the count window ignores it) and
    /// returns the window's totals after it.
    #[inline]
    pub(crate) fn record(&self, mark: Mark, now: Option<Instant>) -> Totals {
        match self {
            Window::Count(w) => w.record(mark),
            Window::Time(w) => w.record(mark, now.expect("a time window is given the time")),
        }
    }

    /// The totals now.
    pub(crate) fn totals(&self, now: Option<Instant>) -> Totals {
        match self {
            Window::Count(w) => Totals::unpack(w.totals.load(Acquire)),
            Window::Time(w) => w.totals(now.expect("a time window is given the time")),
        }
    }

    /// Empties the window.
    pub(crate) fn clear(&self) {
        match self {
            Window::Count(w) => w.clear(),
            Window::Time(w) => w.clear(),
        }
    }

    pub(crate) fn needs_clock(&self) -> bool {
        matches!(self, Window::Time(_))
    }
}

/// The last `slots.len()` calls: a true ring, the oldest outcome leaving as a new one enters.
#[derive(Debug)]
pub(crate) struct CountWindow {
    slots: Box<[AtomicU8]>,
    next: AtomicU64,
    totals: AtomicU64,
}

impl CountWindow {
    pub(crate) fn new(size: usize) -> Self {
        Self {
            slots: (0..size).map(|_| AtomicU8::new(0)).collect(),
            next: AtomicU64::new(0),
            totals: AtomicU64::new(0),
        }
    }

    #[inline]
    fn record(&self, mark: Mark) -> Totals {
        let at = (self.next.fetch_add(1, Relaxed) % self.slots.len() as u64) as usize;
        // `swap` accounts for every replaced outcome exactly once, so the totals always equal
        // the ring's contents, even if two recorders land on one slot.
        let old = self.slots[at].swap(mark.code(), AcqRel);
        let delta = mark.packed() - Mark::delta(old);
        Totals::unpack(Totals::add(
            self.totals.fetch_add(delta as u64, AcqRel),
            delta,
        ))
    }

    fn clear(&self) {
        for slot in self.slots.iter() {
            let old = slot.swap(0, AcqRel);
            self.totals.fetch_sub(Mark::delta(old) as u64, AcqRel);
        }
    }
}

/// Calls, failures and slow calls as three plain counters: a time window has no bound on how many
/// calls it holds, so it does not pack them.
#[derive(Debug, Default)]
struct Counters([AtomicU64; 3]);

impl Counters {
    #[inline]
    fn add(&self, mark: Mark) {
        self.0[0].fetch_add(1, AcqRel);
        if mark.failure {
            self.0[1].fetch_add(1, AcqRel);
        }
        if mark.slow {
            self.0[2].fetch_add(1, AcqRel);
        }
    }

    fn take(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.0[i].swap(0, AcqRel))
    }

    fn sub(&self, counts: [u64; 3]) {
        for (counter, n) in self.0.iter().zip(counts) {
            counter.fetch_sub(n, AcqRel);
        }
    }

    fn totals(&self) -> Totals {
        let [calls, failures, slow] =
            [0, 1, 2].map(|i| self.0[i].load(Acquire).min(u32::MAX as u64) as u32);
        Totals {
            calls,
            failures,
            slow,
        }
    }
}

/// The calls of the last `buckets.len() * width`: fixed buckets, expired lazily when time moves
/// past them, so a call costs O(1) whatever the window.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    start: Instant,
    width: Duration,
    buckets: Box<[Counters]>,
    /// The newest bucket's epoch (bucket number since `start`); the buckets of epochs older than
    /// `head - len + 1` have been emptied.
    head: AtomicU64,
    totals: Counters,
    /// Taken only to move the window forward, at most once per bucket width.
    rotate: Mutex<()>,
}

impl TimeWindow {
    pub(crate) fn new(window: Duration, buckets: usize, start: Instant) -> Self {
        Self {
            start,
            width: window / buckets as u32,
            buckets: (0..buckets).map(|_| Counters::default()).collect(),
            head: AtomicU64::new(0),
            totals: Counters::default(),
            rotate: Mutex::new(()),
        }
    }

    fn epoch(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.start).as_nanos() / self.width.as_nanos()) as u64
    }

    /// Moves the window forward to `epoch`, emptying the buckets that leave it.
    #[inline]
    fn advance(&self, epoch: u64) {
        if self.head.load(Acquire) >= epoch {
            return;
        }
        self.rotate_to(epoch);
    }

    #[cold]
    fn rotate_to(&self, epoch: u64) {
        let _guard = self.rotate.lock().unwrap();
        let head = self.head.load(Acquire);
        if head >= epoch {
            return;
        }
        let n = self.buckets.len() as u64;
        // The buckets of epochs head+1 ..= epoch are reused: each at most once.
        for e in (head + 1).max(epoch.saturating_sub(n - 1))..=epoch {
            let old = self.buckets[(e % n) as usize].take();
            self.totals.sub(old);
        }
        self.head.store(epoch, crate::sync::Ordering::Release);
    }

    #[inline]
    fn record(&self, mark: Mark, now: Instant) -> Totals {
        let epoch = self.epoch(now);
        self.advance(epoch);
        self.buckets[(epoch % self.buckets.len() as u64) as usize].add(mark);
        self.totals.add(mark);
        self.totals.totals()
    }

    fn totals(&self, now: Instant) -> Totals {
        self.advance(self.epoch(now));
        self.totals.totals()
    }

    fn clear(&self) {
        let _guard = self.rotate.lock().unwrap();
        for bucket in self.buckets.iter() {
            let old = bucket.take();
            self.totals.sub(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Mark = Mark {
        failure: false,
        slow: false,
    };
    const FAIL: Mark = Mark {
        failure: true,
        slow: false,
    };
    const SLOW_FAIL: Mark = Mark {
        failure: true,
        slow: true,
    };

    #[test]
    fn the_count_window_evicts_the_oldest() {
        let w = CountWindow::new(3);
        assert_eq!(
            w.record(FAIL),
            Totals {
                calls: 1,
                failures: 1,
                slow: 0
            }
        );
        w.record(OK);
        w.record(SLOW_FAIL);
        assert_eq!(
            Totals::unpack(w.totals.load(Relaxed)),
            Totals {
                calls: 3,
                failures: 2,
                slow: 1
            }
        );
        // The first failure leaves as the fourth call enters.
        assert_eq!(
            w.record(OK),
            Totals {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        w.clear();
        assert_eq!(Totals::unpack(w.totals.load(Relaxed)), Totals::default());
    }

    #[test]
    fn the_time_window_expires_whole_buckets_lazily() {
        let start = Instant::now();
        let w = TimeWindow::new(Duration::from_secs(10), 10, start);
        w.record(FAIL, start);
        w.record(OK, start + Duration::from_millis(1_500));
        assert_eq!(w.totals(start + Duration::from_millis(9_999)).calls, 2);
        // At 10 s the first bucket (0..1 s) leaves; at 11 s the second.
        assert_eq!(
            w.totals(start + Duration::from_secs(10)),
            Totals {
                calls: 1,
                failures: 0,
                slow: 0
            }
        );
        assert_eq!(w.totals(start + Duration::from_secs(11)), Totals::default());
        // A long idle gap empties everything at once.
        w.record(FAIL, start + Duration::from_secs(12));
        assert_eq!(
            w.totals(start + Duration::from_secs(500)),
            Totals::default()
        );
    }

    #[test]
    fn packed_deltas_never_borrow_across_fields() {
        let w = CountWindow::new(1);
        for i in 0..100 {
            let mark = if i % 2 == 0 { SLOW_FAIL } else { OK };
            let t = w.record(mark);
            assert_eq!(t.calls, 1);
            assert_eq!(
                (t.failures, t.slow),
                if i % 2 == 0 { (1, 1) } else { (0, 0) }
            );
        }
    }
}
