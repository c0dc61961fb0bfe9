//! The arithmetic behind the `retry_after` estimates of overload rejections
//! ([`BulkheadFull`](crate::error::BulkheadFull), [`QueueFull`](crate::error::QueueFull)): a
//! moving average of observed durations, and how a per-item duration becomes a wait.
//!
//! An estimate is a hint, not a promise (an open circuit's `retry_after` is a promise: the
//! breaker rejects until then). Both policies estimate the same thing: how long a caller
//! arriving now, at the back of the line, would wait for its turn. That is the time for
//! `ahead + 1` turns (the callers already waiting, then this one), `lanes` turns at a time,
//! each taking the observed `per` turn.

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Duration,
};

/// No sample yet.
const NONE: u64 = u64::MAX;

/// A sample in nanoseconds, kept below [`NONE`] (584 years: no real wait saturates it).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos())
        .unwrap_or(NONE - 1)
        .min(NONE - 1)
}

/// The average after `sample`, weighting it 1/8: the smoothing TCP gives its round-trip time
/// (RFC 6298), which follows a shift in a few dozen samples and shrugs off one outlier.
fn blend(average: u64, sample: u64) -> u64 {
    match average {
        NONE => sample,
        _ if sample >= average => average + (sample - average) / 8,
        _ => average - (average - sample) / 8,
    }
}

/// An exponentially weighted moving average of durations, for state already behind a lock.
#[derive(Debug)]
pub(crate) struct Ewma(u64);

impl Default for Ewma {
    fn default() -> Self {
        Self(NONE)
    }
}

impl Ewma {
    pub(crate) fn record(&mut self, sample: Duration) {
        self.0 = blend(self.0, nanos(sample));
    }

    /// The average, or `None` before the first sample.
    pub(crate) fn get(&self) -> Option<Duration> {
        (self.0 != NONE).then(|| Duration::from_nanos(self.0))
    }
}

/// The same average in one atomic, for writers that hold no lock. Relaxed: the value informs an
/// estimate and orders nothing; concurrent writers each blend their sample in (a
/// compare-and-swap loop), none is lost.
#[derive(Debug)]
pub(crate) struct AtomicEwma(AtomicU64);

impl Default for AtomicEwma {
    fn default() -> Self {
        Self(AtomicU64::new(NONE))
    }
}

impl AtomicEwma {
    pub(crate) fn record(&self, sample: Duration) {
        let sample = nanos(sample);
        let _ = self
            .0
            .fetch_update(Relaxed, Relaxed, |average| Some(blend(average, sample)));
    }

    /// The average, or `None` before the first sample.
    pub(crate) fn get(&self) -> Option<Duration> {
        match self.0.load(Relaxed) {
            NONE => None,
            average => Some(Duration::from_nanos(average)),
        }
    }
}

/// An estimated wait in one word: nanoseconds, 0 for none (an estimate is never zero).
///
/// Why not `Option<Duration>` (two words): it rides in [`Error`](crate::Error) and in the
/// bulkhead's admission verdict, and one word keeps both as small as they were without it. An
/// `Error<E>` of 64 bytes instead of 56 costs every call through any policy a wider copy of its
/// result, and an admission verdict returned through memory instead of two registers costs the
/// uncontended bulkhead a store and a load; with one word, neither happens.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Hint(u64);

impl Hint {
    pub(crate) const NONE: Hint = Hint(0);

    pub(crate) fn of(wait: Option<Duration>) -> Hint {
        match wait {
            Some(wait) => Hint(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX).max(1)),
            None => Hint::NONE,
        }
    }

    pub(crate) fn get(self) -> Option<Duration> {
        (self.0 != 0).then(|| Duration::from_nanos(self.0))
    }
}

impl std::fmt::Debug for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// How long `ahead + 1` turns take, `lanes` at a time, each taking `per`; at most `cap` (after
/// `cap` the line the caller saw has gone: every caller in it was served or gave up).
///
/// Rounded up to a whole millisecond, so never zero: tokio's timers tick in milliseconds, an
/// HTTP `Retry-After` counts whole seconds, and a hint of "retry at once" would only invite the
/// stampede it is meant to spread out.
pub(crate) fn wait(per: Duration, ahead: usize, lanes: usize, cap: Option<Duration>) -> Duration {
    const MS: u128 = 1_000_000;
    let turns = ahead as u128 + 1;
    let lanes = lanes.max(1) as u128;
    let total = per.as_nanos().saturating_mul(turns).div_ceil(lanes);
    let ms = total.div_ceil(MS).max(1);
    let rounded = Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
    match cap {
        Some(cap) => rounded.min(cap),
        None => rounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_first_sample_is_the_average_and_later_ones_weigh_an_eighth() {
        let mut ewma = Ewma::default();
        assert_eq!(ewma.get(), None);
        ewma.record(80 * MS);
        assert_eq!(ewma.get(), Some(80 * MS));
        ewma.record(160 * MS);
        assert_eq!(ewma.get(), Some(90 * MS));
        ewma.record(10 * MS);
        assert_eq!(ewma.get(), Some(80 * MS));
        // A zero sample is a sample, not "none".
        let mut zero = Ewma::default();
        zero.record(Duration::ZERO);
        assert_eq!(zero.get(), Some(Duration::ZERO));
    }

    #[test]
    fn the_atomic_average_agrees_with_the_plain_one() {
        let (mut plain, atomic) = (Ewma::default(), AtomicEwma::default());
        assert_eq!(atomic.get(), None);
        for ms in [5, 500, 50, 0, 7, 7, 7, 1_000_000] {
            plain.record(ms * MS);
            atomic.record(ms * MS);
            assert_eq!(plain.get(), atomic.get());
        }
        // A sample beyond u64 nanoseconds saturates instead of reading as "none".
        atomic.record(Duration::MAX);
        assert!(atomic.get().is_some());
    }

    #[test]
    fn a_hint_is_one_word_that_reads_as_the_wait_it_holds() {
        assert_eq!(std::mem::size_of::<Hint>(), 8);
        assert_eq!(Hint::of(None).get(), None);
        assert_eq!(Hint::of(Some(250 * MS)).get(), Some(250 * MS));
        assert_eq!(format!("{:?}", Hint::of(Some(250 * MS))), "Some(250ms)");
        // Beyond u64 nanoseconds it saturates, and it never turns a wait into "none".
        assert!(Hint::of(Some(Duration::MAX)).get().is_some());
        assert_eq!(
            Hint::of(Some(Duration::ZERO)).get(),
            Some(Duration::from_nanos(1))
        );
    }

    #[test]
    fn the_wait_is_turns_over_lanes_rounded_up_to_a_millisecond_and_capped() {
        // Three ahead plus this one, two at a time, 100 ms each.
        assert_eq!(wait(100 * MS, 3, 2, None), 200 * MS);
        assert_eq!(wait(100 * MS, 0, 1, None), 100 * MS);
        // Rounded up, never zero.
        assert_eq!(wait(Duration::from_micros(1_001), 0, 1, None), 2 * MS);
        assert_eq!(wait(Duration::ZERO, 10, 1, None), MS);
        // The cap wins, even over the rounding.
        assert_eq!(wait(100 * MS, 9, 1, Some(250 * MS)), 250 * MS);
        assert_eq!(
            wait(
                Duration::from_micros(10),
                0,
                1,
                Some(Duration::from_micros(500))
            ),
            Duration::from_micros(500)
        );
        // No overflow at the extremes.
        assert!(wait(Duration::MAX, usize::MAX, 1, None) > Duration::from_secs(1 << 40));
    }
}
