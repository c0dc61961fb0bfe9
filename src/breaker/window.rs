//! The breaker's sliding windows: the last N calls, or the calls of the last N seconds.
//!
//! Recording answers `Some(totals)` when the call may have changed the verdict and `None` when it
//! cannot have (a success where the window's figures stay as they were), so that a healthy
//! service's calls skip the threshold arithmetic and, in the count window, every shared write.
//!
//! The count window keeps its totals in one packed atomic word (calls, failures and slow calls,
//! 21 bits each), updated with one `fetch_add` of a signed delta: the arithmetic is linear, so
//! adding `(+1 call, -1 failure, ...)` as one wrapping 64-bit add gives exactly the packed result
//! as long as every field stays within its range, which the window size guarantees. A window that
//! is full of plain successes stays exactly the same when one more success enters and the oldest
//! leaves, whatever the ring's position: such a call only reads the totals, writes nothing, and so
//! scales across cores. Any other call takes a place in the ring from one shared sequence.
//!
//! The time window, whose number of calls has no bound, keeps plain 64-bit counters, striped per
//! thread (each stripe its own buckets and totals on lines of its own) so that cores recording at
//! once do not fight over one cache line; a verdict sums the stripes, which only calls that can
//! change it do. It takes a short lock only to move forward, at most once per bucket width.
//!
//! Either way recording is O(1) and lock-free whatever N is.

use std::time::Duration;

use tokio::time::Instant;

use crate::sync::{
    AtomicBool, AtomicU8, AtomicU64, Mutex,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
    Padded,
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
    const SUCCESS: Mark = Mark {
        failure: false,
        slow: false,
    };

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
// The count window's size is its cache-line padding, and a window lives once per breaker.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    /// Records `mark` at `now` (the time window's clock; the count window ignores it). Returns the
    /// window's totals after it when the call may have changed the verdict, `None` when it cannot
    /// have.
    #[inline]
    pub(crate) fn record(&self, mark: Mark, now: Option<Instant>) -> Option<Totals> {
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
    /// The packed totals of a ring full of plain successes.
    clean: u64,
    /// Read by every call, written only when the figures change.
    totals: Padded<AtomicU64>,
    /// Written by every call that is not a success into a clean window.
    next: Padded<AtomicU64>,
}

impl CountWindow {
    pub(crate) fn new(size: usize) -> Self {
        Self {
            slots: (0..size).map(|_| AtomicU8::new(0)).collect(),
            clean: size as u64,
            totals: Padded(AtomicU64::new(0)),
            next: Padded(AtomicU64::new(0)),
        }
    }

    #[inline]
    fn record(&self, mark: Mark) -> Option<Totals> {
        if mark == Mark::SUCCESS && self.totals.load(Acquire) == self.clean {
            // A success replacing a success: the ring reads the same whichever slot it takes.
            return None;
        }
        self.place(mark)
    }

    fn place(&self, mark: Mark) -> Option<Totals> {
        let at = (self.next.fetch_add(1, Relaxed) % self.slots.len() as u64) as usize;
        let slot = &self.slots[at];
        let code = mark.code();
        // Writing only what differs, with `swap`, accounts for every replaced outcome exactly
        // once, so the totals always equal the ring's contents, even if two recorders a lap apart
        // land on one slot.
        if slot.load(Acquire) == code {
            return None;
        }
        let old = slot.swap(code, AcqRel);
        let delta = mark.packed() - Mark::delta(old);
        if delta == 0 {
            return None;
        }
        let before = self.totals.fetch_add(delta as u64, AcqRel);
        Some(Totals::unpack(Totals::add(before, delta)))
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
        self.0[0].fetch_add(1, Relaxed);
        if mark.failure {
            self.0[1].fetch_add(1, Relaxed);
        }
        if mark.slow {
            self.0[2].fetch_add(1, Relaxed);
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

    fn load(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.0[i].load(Acquire))
    }
}

/// One thread stripe of a time window: its own buckets and their totals.
#[derive(Debug)]
struct Stripe {
    buckets: Box<[Counters]>,
    totals: Counters,
}

/// The calls of the last `len * width`: fixed buckets, expired lazily when time moves past them,
/// so a call costs O(1) whatever the window.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    start: Instant,
    /// Bucket width in nanoseconds.
    width: u64,
    len: u64,
    stripes: Box<[Padded<Stripe>]>,
    /// The newest bucket's epoch (bucket number since `start`); the buckets of epochs older than
    /// `head - len + 1` have been emptied.
    head: AtomicU64,
    /// The window held at least `minimum` calls when last summed, and has not moved forward since:
    /// a plain success can change nothing then.
    filled: AtomicBool,
    minimum: u32,
    /// Taken only to move the window forward, at most once per bucket width.
    rotate: Mutex<()>,
}

/// At most this many counters over all stripes: a window of many buckets gets fewer stripes.
const MAX_STRIPED_BUCKETS: usize = 16_384;

impl TimeWindow {
    pub(crate) fn new(window: Duration, buckets: usize, minimum: u32, start: Instant) -> Self {
        let mut stripes = crate::sync::stripes(16);
        while stripes > 1 && stripes * buckets > MAX_STRIPED_BUCKETS {
            stripes /= 2;
        }
        let width = (window / buckets as u32).as_nanos() as u64;
        Self {
            start,
            width,
            len: buckets as u64,
            stripes: (0..stripes)
                .map(|_| {
                    Padded(Stripe {
                        buckets: (0..buckets).map(|_| Counters::default()).collect(),
                        totals: Counters::default(),
                    })
                })
                .collect(),
            head: AtomicU64::new(0),
            filled: AtomicBool::new(false),
            minimum,
            rotate: Mutex::new(()),
        }
    }

    fn epoch(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.start).as_nanos() as u64 / self.width
    }

    /// Moves the window forward to `epoch`, emptying the buckets that leave it.
    #[inline]
    fn advance(&self, epoch: u64) {
        if self.head.load(Acquire) < epoch {
            self.rotate_to(epoch);
        }
    }

    #[cold]
    fn rotate_to(&self, epoch: u64) {
        let _guard = self.rotate.lock().unwrap();
        let head = self.head.load(Acquire);
        if head >= epoch {
            return;
        }
        let n = self.len;
        // The buckets of epochs head+1 ..= epoch are reused: each at most once.
        for e in (head + 1).max(epoch.saturating_sub(n - 1))..=epoch {
            for stripe in self.stripes.iter() {
                stripe.totals.sub(stripe.buckets[(e % n) as usize].take());
            }
        }
        // Calls left the window: the rates may have risen, so the next call is judged in full.
        self.filled.store(false, Release);
        self.head.store(epoch, Release);
    }

    #[inline]
    fn record(&self, mark: Mark, now: Instant) -> Option<Totals> {
        let epoch = self.epoch(now);
        self.advance(epoch);
        let stripe = &self.stripes[crate::sync::stripe(self.stripes.len())];
        stripe.buckets[(epoch % self.len) as usize].add(mark);
        stripe.totals.add(mark);
        if mark == Mark::SUCCESS && self.filled.load(Acquire) {
            // One more success in a window past its minimum lowers both rates: no verdict.
            return None;
        }
        let totals = self.sum();
        let filled = totals.calls >= self.minimum;
        if self.filled.load(Relaxed) != filled {
            self.filled.store(filled, Release);
        }
        Some(totals)
    }

    fn sum(&self) -> Totals {
        let [calls, failures, slow] = self.stripes.iter().fold([0u64; 3], |acc, s| {
            let c = s.totals.load();
            [acc[0] + c[0], acc[1] + c[1], acc[2] + c[2]]
        });
        let clamp = |n: u64| n.min(u32::MAX as u64) as u32;
        Totals {
            calls: clamp(calls),
            failures: clamp(failures),
            slow: clamp(slow),
        }
    }

    fn totals(&self, now: Instant) -> Totals {
        self.advance(self.epoch(now));
        self.sum()
    }

    fn clear(&self) {
        let _guard = self.rotate.lock().unwrap();
        for stripe in self.stripes.iter() {
            for bucket in stripe.buckets.iter() {
                stripe.totals.sub(bucket.take());
            }
        }
        self.filled.store(false, Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Mark = Mark::SUCCESS;
    const FAIL: Mark = Mark {
        failure: true,
        slow: false,
    };
    const SLOW_FAIL: Mark = Mark {
        failure: true,
        slow: true,
    };

    fn totals(w: &CountWindow) -> Totals {
        Totals::unpack(w.totals.load(Relaxed))
    }

    #[test]
    fn the_count_window_evicts_the_oldest() {
        let w = CountWindow::new(3);
        assert_eq!(
            w.record(FAIL),
            Some(Totals {
                calls: 1,
                failures: 1,
                slow: 0
            })
        );
        w.record(OK);
        w.record(SLOW_FAIL);
        assert_eq!(
            totals(&w),
            Totals {
                calls: 3,
                failures: 2,
                slow: 1
            }
        );
        // The first failure leaves as the fourth call enters.
        assert_eq!(
            w.record(OK),
            Some(Totals {
                calls: 3,
                failures: 1,
                slow: 1
            })
        );
        w.clear();
        assert_eq!(totals(&w), Totals::default());
    }

    #[test]
    fn a_success_into_a_clean_full_window_changes_nothing_and_takes_no_place() {
        let w = CountWindow::new(2);
        assert!(w.record(OK).is_some(), "filling changes the figures");
        assert!(w.record(OK).is_some());
        let seq = w.next.load(Relaxed);
        assert_eq!(w.record(OK), None);
        assert_eq!(w.next.load(Relaxed), seq, "no place taken in the ring");
        // A failure still enters, and leaves after exactly two more calls.
        assert_eq!(w.record(FAIL).map(|t| t.failures), Some(1));
        assert_eq!(w.record(OK), None, "a success replacing a success");
        assert_eq!(w.record(OK).map(|t| t.failures), Some(0));
        assert_eq!(
            totals(&w),
            Totals {
                calls: 2,
                failures: 0,
                slow: 0
            }
        );
    }

    #[test]
    fn the_time_window_expires_whole_buckets_lazily() {
        let start = Instant::now();
        let w = TimeWindow::new(Duration::from_secs(10), 10, 1, start);
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
    fn the_time_window_judges_successes_only_until_the_minimum_and_after_moving() {
        let start = Instant::now();
        let w = TimeWindow::new(Duration::from_secs(10), 10, 2, start);
        assert!(w.record(OK, start).is_some(), "below the minimum");
        assert_eq!(w.record(OK, start).map(|t| t.calls), Some(2), "reaches it");
        assert_eq!(w.record(OK, start), None, "past it");
        assert_eq!(w.record(FAIL, start).map(|t| t.failures), Some(1));
        // Moving forward may raise the rates: the next success is judged again.
        assert!(w.record(OK, start + Duration::from_secs(1)).is_some());
        assert_eq!(w.record(OK, start + Duration::from_secs(1)), None);
    }

    #[test]
    fn the_time_window_counts_every_thread_s_calls() {
        let start = Instant::now();
        let w = std::sync::Arc::new(TimeWindow::new(Duration::from_secs(10), 10, 1, start));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for _ in 0..1_000 {
                        w.record(if i == 0 { FAIL } else { OK }, start);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            w.totals(start),
            Totals {
                calls: 4_000,
                failures: 1_000,
                slow: 0
            }
        );
    }

    #[test]
    fn packed_deltas_never_borrow_across_fields() {
        let w = CountWindow::new(1);
        for i in 0..100 {
            let mark = if i % 2 == 0 { SLOW_FAIL } else { OK };
            w.record(mark);
            let t = totals(&w);
            assert_eq!(t.calls, 1);
            assert_eq!(
                (t.failures, t.slow),
                if i % 2 == 0 { (1, 1) } else { (0, 0) }
            );
        }
    }
}
