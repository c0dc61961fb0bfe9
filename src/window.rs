//! The sliding windows of outcomes: the last N calls, or the calls of the last N seconds. The
//! circuit breaker judges its failure rates on them, and the adaptive throttle
//! ([`throttle`](crate::throttle)) counts its requests and accepts on the time window: one
//! implementation for both.
//!
//! Recording answers `Some(totals)` when the call may have changed the verdict and `None` when it
//! cannot have (a success where the window's figures stay as they were), so that a healthy
//! service's calls skip the threshold arithmetic and, in the count window, every shared write.
//!
//! Neither window ever shows a figure below zero, whatever a reset, a close or the window moving
//! on does while calls are being recorded: nothing is taken off a total before it was put on.
//!
//! The count window keeps its totals in one packed atomic word (calls, failures and slow calls,
//! 21 bits each), added to with wrapping 64-bit adds: the arithmetic is linear, so adding a packed
//! outcome adds to each field exactly as long as every field stays within its range. A window
//! that is full of plain successes stays exactly the same when one more success enters and the
//! oldest leaves, whatever the ring's position: such a call only reads the totals, writes nothing,
//! and so scales across cores. Any other call takes a place in the ring from one shared sequence,
//! adds its outcome to the totals, then swaps it into its slot and takes off the outcome it
//! replaced. An outcome is on the totals before it is in the ring and comes off only after it has
//! left (a clear too takes off only what it took out), so no field ever goes below zero; a field
//! runs ahead of the ring by at most the recorders between those two steps, which the packing's
//! headroom ([`MAX_WINDOW`] is half a field) absorbs, and readers cap it at the window's size.
//!
//! The time window, whose number of calls has no bound, counts with plain 64-bit counters that
//! only ever grow: one per kind of outcome (success or failure, fast or slow), striped per thread
//! so that cores recording at once do not fight over one cache line. A call is one `fetch_add`.
//! The window's figures are differences: the counters now, less what they were when the window's
//! oldest bucket began (a ring of those starting points, one per bucket). Nothing is ever
//! subtracted from a counter, so a figure cannot go below zero. The starting points change only
//! when the window moves forward (at most once per bucket width) or is cleared, under a short lock
//! and a sequence number; a reader that overlaps such a change reads again under the lock, so a
//! verdict never mixes two windows. Reading the figures moves nothing.
//!
//! Either way recording is O(1) and lock-free whatever N is.

use std::time::Duration;

use tokio::time::Instant;

use crate::sync::{
    AtomicU8, AtomicU64, Mutex,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
    Padded, StripedCounts,
};

/// The largest count window, the most buckets of a time window, and the largest
/// `minimum_calls` and `half_open_calls`.
///
/// The count window packs its figures into 21-bit fields; this limit leaves each field as much
/// room again for the recorders that are part way through a call.
pub const MAX_WINDOW: usize = (1 << 20) - 1;

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

    /// Which of the time window's counters the outcome goes to.
    fn kind(self) -> usize {
        (self.failure as usize) << 1 | self.slow as usize
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

    /// At most `most` calls: what a count window of `most` can hold (a packed field may run ahead
    /// by the recorders part way through a call).
    fn capped(self, most: u32) -> Self {
        let calls = self.calls.min(most);
        Self {
            calls,
            failures: self.failures.min(calls),
            slow: self.slow.min(calls),
        }
    }

    /// The figures from counts of each kind of outcome (see [`Mark::kind`]). Beyond `u32::MAX`
    /// calls every figure is scaled down alike, so the rates stay what they are.
    fn of_kinds([fast, slow, failed_fast, failed_slow]: [u64; KINDS]) -> Self {
        let calls = fast
            .saturating_add(slow)
            .saturating_add(failed_fast)
            .saturating_add(failed_slow);
        let shift = (u64::BITS - calls.leading_zeros()).saturating_sub(u32::BITS);
        let fit = |n: u64| (n >> shift) as u32;
        Self {
            calls: fit(calls),
            failures: fit(failed_fast.saturating_add(failed_slow)),
            slow: fit(slow.saturating_add(failed_slow)),
        }
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

    /// The totals at `now`, moving nothing.
    pub(crate) fn totals(&self, now: Option<Instant>) -> Totals {
        match self {
            Window::Count(w) => w.totals(),
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

    /// An empty window of the same shape, starting at `now` (a keyed container's new instance).
    #[cfg(feature = "keyed")]
    pub(crate) fn fresh(&self, now: Instant) -> Self {
        match self {
            Window::Count(w) => Window::Count(CountWindow::new(w.slots.len())),
            Window::Time(w) => Window::Time(TimeWindow::new(
                Duration::from_nanos(w.width * w.len),
                w.len as usize,
                w.minimum,
                now,
            )),
        }
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
        if slot.load(Acquire) == code {
            return None;
        }
        // On the totals before it is in the ring, so that whoever takes it out (a recorder a lap
        // ahead, a clear) takes off only what is there: the swap orders the two.
        let added = mark.packed() as u64;
        let before = self.totals.fetch_add(added, AcqRel);
        let old = slot.swap(code, AcqRel);
        let word = match Mark::delta(old) as u64 {
            0 => before.wrapping_add(added),
            removed => {
                let before = self.totals.fetch_sub(removed, AcqRel);
                if removed == added {
                    return None;
                }
                before.wrapping_sub(removed)
            }
        };
        Some(self.figures(word))
    }

    fn figures(&self, word: u64) -> Totals {
        Totals::unpack(word).capped(self.slots.len() as u32)
    }

    fn totals(&self) -> Totals {
        self.figures(self.totals.load(Acquire))
    }

    fn clear(&self) {
        for slot in self.slots.iter() {
            // Off the totals only once out of the ring, as in `place`.
            let old = slot.swap(0, AcqRel);
            if old != 0 {
                self.totals.fetch_sub(Mark::delta(old) as u64, AcqRel);
            }
        }
    }
}

/// `d` in nanoseconds, if that fits a `u64` (584 years): the arithmetic of every call, where
/// `Duration::as_nanos` would be a 128-bit number and dividing it a library call.
#[inline]
fn nanos_u64(d: Duration) -> Option<u64> {
    d.as_secs()
        .checked_mul(1_000_000_000)?
        .checked_add(u64::from(d.subsec_nanos()))
}

/// Kinds of outcome the time window counts apart: success or failure, fast or slow.
const KINDS: usize = 4;

/// The calls of the last `len * width`: fixed buckets, expired lazily when time moves past them,
/// so a call costs O(1) whatever the window.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    start: Instant,
    /// Bucket width in nanoseconds.
    width: u64,
    len: u64,
    /// The calls of each kind recorded since the window was built, striped per thread.
    counts: StripedCounts<KINDS>,
    /// Per bucket (`KINDS` counters each), the stripes' counts summed when the bucket's epoch
    /// began, or when the window was last cleared if that is later.
    marks: Box<[AtomicU64]>,
    /// The newest bucket's epoch (bucket number since `start`): every call recorded so far
    /// belongs to it or to an older one.
    head: AtomicU64,
    /// Odd while `head` and `marks` change (under `rotate`), and two more after each change.
    seq: AtomicU64,
    /// The `seq` in which the window was seen to hold at least `minimum` calls (`u64::MAX`:
    /// none). Within one `seq` the counts only grow, so a plain success can change nothing then.
    filled: AtomicU64,
    minimum: u32,
    /// Taken to move the window forward (at most once per bucket width) or clear it, and by a
    /// reader that overlapped either.
    rotate: Mutex<()>,
}

impl TimeWindow {
    pub(crate) fn new(window: Duration, buckets: usize, minimum: u32, start: Instant) -> Self {
        Self::striped(window, buckets, minimum, start, crate::sync::stripes(16))
    }

    fn striped(
        window: Duration,
        buckets: usize,
        minimum: u32,
        start: Instant,
        stripes: usize,
    ) -> Self {
        let width = (window / buckets as u32).as_nanos() as u64;
        Self {
            start,
            width,
            len: buckets as u64,
            counts: StripedCounts::new(stripes),
            marks: (0..buckets * KINDS).map(|_| AtomicU64::new(0)).collect(),
            head: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            filled: AtomicU64::new(u64::MAX),
            minimum,
            rotate: Mutex::new(()),
        }
    }

    fn epoch(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.start);
        match nanos_u64(since) {
            Some(nanos) => nanos / self.width,
            None => (since.as_nanos() / u128::from(self.width)) as u64,
        }
    }

    /// The epoch of `now`, knowing that `head` is the newest bucket begun: a call inside that
    /// bucket (nearly every call) needs a multiplication, not a division.
    #[inline]
    fn epoch_near(&self, now: Instant, head: u64) -> u64 {
        let since = now.saturating_duration_since(self.start);
        if let Some(nanos) = nanos_u64(since) {
            let begins = head.saturating_mul(self.width);
            if nanos >= begins && nanos - begins < self.width {
                return head;
            }
        }
        self.epoch(now)
    }

    #[inline]
    pub(crate) fn record(&self, mark: Mark, now: Instant) -> Option<Totals> {
        let head = self.head.load(Acquire);
        let epoch = self.epoch_near(now, head);
        if head < epoch {
            self.rotate_to(epoch);
        }
        self.counts.add(mark.kind());
        if mark == Mark::SUCCESS && self.filled.load(Acquire) == self.seq.load(Acquire) {
            // One more success in a window past its minimum lowers both rates: no verdict.
            return None;
        }
        let (totals, seq) = self.read(epoch);
        if totals.calls >= self.minimum && self.filled.load(Relaxed) != seq {
            self.filled.store(seq, Release);
        }
        Some(totals)
    }

    /// The stripes' counts summed (wrapping: only differences of them are ever used).
    fn counts(&self) -> [u64; KINDS] {
        self.counts.sum()
    }

    /// The figures of the window at `epoch` (or at `head`, if the window has moved past it),
    /// and the `seq` they belong to. Moves nothing.
    fn read(&self, epoch: u64) -> (Totals, u64) {
        let seq = self.seq.load(Acquire);
        if seq & 1 == 0 {
            let totals = self.figures(epoch);
            if self.seq.load(Acquire) == seq {
                return (totals, seq);
            }
        }
        // The window moved or was cleared while we read: read again where it cannot.
        let _guard = self.rotate.lock().unwrap();
        (self.figures(epoch), self.seq.load(Relaxed))
    }

    fn figures(&self, epoch: u64) -> Totals {
        let head = self.head.load(Acquire);
        let oldest = (epoch.max(head) + 1).saturating_sub(self.len);
        if oldest > head {
            // Every call so far belongs to a bucket that has left the window.
            return Totals::default();
        }
        let at = (oldest % self.len) as usize * KINDS;
        let marks: [u64; KINDS] = std::array::from_fn(|k| self.marks[at + k].load(Acquire));
        // Read after the marks: a mark is the counts as they were when it was written, and the
        // counts only grow, so none of these differences is negative.
        let now = self.counts();
        Totals::of_kinds(std::array::from_fn(|k| now[k].wrapping_sub(marks[k])))
    }

    /// Changes `head` or `marks` with `change`, `seq` odd meanwhile; called with `rotate` held.
    fn change(&self, change: impl FnOnce()) {
        let seq = self.seq.load(Relaxed);
        self.seq.store(seq + 1, Relaxed);
        // Every store `change` makes is a release: a reader that sees one sees `seq` odd after.
        change();
        self.seq.store(seq + 2, Release);
    }

    /// The buckets of `epochs` begin now: their marks are the counts so far.
    fn mark(&self, epochs: impl Iterator<Item = u64>) {
        let counts = self.counts();
        for e in epochs {
            let at = (e % self.len) as usize * KINDS;
            for (k, n) in counts.iter().enumerate() {
                self.marks[at + k].store(*n, Release);
            }
        }
    }

    #[cold]
    fn rotate_to(&self, epoch: u64) {
        let _guard = self.rotate.lock().unwrap();
        let head = self.head.load(Acquire);
        if head >= epoch {
            return;
        }
        // The buckets of epochs head+1 ..= epoch begin now: each at most once.
        let first = (head + 1).max((epoch + 1).saturating_sub(self.len));
        self.change(|| {
            self.mark(first..=epoch);
            self.head.store(epoch, Release);
        });
    }

    /// The figures at `now`, moving nothing.
    pub(crate) fn totals(&self, now: Instant) -> Totals {
        self.read(self.epoch(now)).0
    }

    fn clear(&self) {
        let _guard = self.rotate.lock().unwrap();
        self.change(|| self.mark(0..self.len));
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
    fn the_epoch_near_the_head_is_the_epoch_at_every_boundary() {
        let start = Instant::now();
        let w = TimeWindow::new(Duration::from_secs(3), 3, 1, start);
        let reference = |now: Instant| {
            (now.saturating_duration_since(start).as_nanos() / u128::from(w.width)) as u64
        };
        let second = 1_000_000_000;
        let instants = [
            0,
            1,
            second - 1,
            second,
            second + 1,
            2 * second,
            5 * second - 1,
        ];
        for head in 0..6 {
            for nanos in instants {
                let now = start + Duration::from_nanos(nanos);
                assert_eq!(
                    w.epoch_near(now, head),
                    reference(now),
                    "head {head}, {nanos} ns"
                );
            }
        }
        // Beyond 584 years the nanoseconds leave 64 bits: the slow path, still exact.
        let far = start + Duration::from_secs(600 * 365 * 24 * 3600);
        assert_eq!(w.epoch_near(far, 0), reference(far));
        // A clock read before the window began is its first bucket.
        assert_eq!(w.epoch_near(start - Duration::from_nanos(1), 0), 0);
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

    #[test]
    fn a_cleared_time_window_counts_only_later_calls_as_it_moves_on() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let w = TimeWindow::new(Duration::from_secs(4), 4, 1, start);
        w.record(FAIL, at(0));
        w.record(FAIL, at(1_500));
        w.clear();
        assert_eq!(w.totals(at(1_500)), Totals::default());
        // Read later without any call in between: still empty, and reading moved nothing.
        assert_eq!(w.totals(at(3_500)), Totals::default());
        assert_eq!(w.head.load(Relaxed), 1);
        w.record(OK, at(2_000));
        w.record(FAIL, at(3_000));
        assert_eq!(
            w.totals(at(3_999)),
            Totals {
                calls: 2,
                failures: 1,
                slow: 0
            }
        );
        // The bucket of 2..3 s leaves at 6 s, the one of 3..4 s at 7 s.
        assert_eq!(w.totals(at(6_000)).calls, 1);
        assert_eq!(w.totals(at(7_000)), Totals::default());
    }

    #[test]
    fn figures_beyond_u32_keep_their_rates() {
        let t = Totals::of_kinds([3 << 40, 0, 1 << 40, 0]);
        assert_eq!(t.calls, 1 << 31);
        assert_eq!(t.failures, 1 << 29);
        assert_eq!(Totals::of_kinds([u64::MAX; KINDS]).calls, u32::MAX);
        assert_eq!(
            Totals::of_kinds([5, 1, 2, 1]),
            Totals {
                calls: 9,
                failures: 3,
                slow: 2
            }
        );
    }

    #[test]
    fn a_count_window_never_shows_more_than_it_holds() {
        let w = CountWindow::new(2);
        // As if a recorder were between putting its failure on the totals and in the ring.
        w.totals.fetch_add(FAIL.packed() as u64, Relaxed);
        w.record(FAIL);
        w.record(OK);
        assert_eq!(
            w.totals(),
            Totals {
                calls: 2,
                failures: 2,
                slow: 0
            }
        );
    }
}

#[cfg(all(test, failguard_loom))]
mod loom_tests {
    use super::*;
    use crate::sync::Arc;
    use loom::thread;

    const OK: Mark = Mark::SUCCESS;
    const FAIL: Mark = Mark {
        failure: true,
        slow: false,
    };

    /// Every interleaving with at most three preemptions (as the breaker's models).
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    /// Figures a window holding at most `most` calls can show: none below zero (a wrapped
    /// counter reads as billions), none above what it can hold.
    fn in_range(t: Totals, most: u32) {
        assert!(
            t.calls <= most && t.failures <= t.calls && t.slow <= t.calls,
            "{t:?} in a window of at most {most} calls"
        );
    }

    /// A time window of one bucket of one second, on one stripe (fewer atomics keep the model
    /// small; the stripes are summed alike); `at(s)` is `s` seconds into it.
    fn time_window() -> (Arc<TimeWindow>, impl Fn(u64) -> Instant + Clone) {
        let start = Instant::now();
        let w = Arc::new(TimeWindow::striped(Duration::from_secs(1), 1, 1, start, 1));
        (w, move |s| start + Duration::from_secs(s))
    }

    /// A reset (or the breaker closing) clears the window while a call is being recorded.
    #[test]
    fn loom_a_clear_racing_a_recorder_keeps_the_time_window_in_range() {
        model(|| {
            let (w, at) = time_window();
            let recorder = {
                let (w, at) = (w.clone(), at.clone());
                thread::spawn(move || {
                    if let Some(t) = w.record(FAIL, at(0)) {
                        in_range(t, 1);
                    }
                })
            };
            w.clear();
            in_range(w.totals(at(0)), 1);
            recorder.join().unwrap();
            in_range(w.totals(at(0)), 1);
        });
    }

    /// A call recorded into the window's bucket while another call, a whole window later, moves
    /// the window on and so empties that bucket.
    #[test]
    fn loom_the_window_moving_on_under_a_recorder_keeps_the_time_window_in_range() {
        model(|| {
            let (w, at) = time_window();
            let late = {
                let (w, at) = (w.clone(), at.clone());
                thread::spawn(move || {
                    if let Some(t) = w.record(FAIL, at(0)) {
                        in_range(t, 2);
                    }
                })
            };
            let mover = {
                let (w, at) = (w.clone(), at.clone());
                thread::spawn(move || {
                    if let Some(t) = w.record(OK, at(1)) {
                        in_range(t, 2);
                    }
                })
            };
            in_range(w.totals(at(1)), 2);
            late.join().unwrap();
            mover.join().unwrap();
            // The mover's success is in the window; the late failure only if it landed after the
            // window moved (it then counts in the newest bucket).
            let t = w.totals(at(1));
            in_range(t, 2);
            assert!(t.calls >= 1 && t.calls - t.failures == 1, "{t:?}");
        });
    }

    /// The packed word as stored, without any capping: what a reader could see.
    fn raw(w: &CountWindow) -> Totals {
        Totals::unpack(w.totals.load(Acquire))
    }

    /// A ring of one slot: a failure and a success land on it a lap apart while a clear empties
    /// it. The packed totals never borrow across fields (they run ahead of the ring by at most
    /// the two recorders), and once everyone is done they equal the ring's contents.
    #[test]
    fn loom_recorders_a_lap_apart_and_a_clear_keep_the_count_window_in_range() {
        model(|| {
            let w = Arc::new(CountWindow::new(1));
            let threads: Vec<_> = [Some(FAIL), Some(OK), None]
                .into_iter()
                .map(|mark| {
                    let w = w.clone();
                    thread::spawn(move || match mark {
                        Some(mark) => {
                            w.record(mark);
                        }
                        None => w.clear(),
                    })
                })
                .collect();
            in_range(raw(&w), 3);
            for t in threads {
                t.join().unwrap();
            }
            let ring = w
                .slots
                .iter()
                .fold(0u64, |sum, s| sum + Mark::delta(s.load(Acquire)) as u64);
            assert_eq!(raw(&w), Totals::unpack(ring), "the totals equal the ring");
        });
    }
}
