//! The latencies a dynamic hedging delay is read from: a bounded, lock-free histogram of
//! log-linear buckets of atomics, rotated over time slices, with censored observations.
//!
//! # Buckets
//!
//! Microseconds, exact below 16 µs, then 16 buckets per power of two (each at most 1/16 of its
//! lower bound wide: 6 % resolution, interpolated linearly inside a bucket) up to 2^32 µs
//! (71 minutes; longer lands in the last bucket). 464 buckets.
//!
//! # Censoring
//!
//! An attempt that completes is an *observation* of its latency. An attempt cancelled because
//! another won is *censored*: its latency is at least its elapsed time, unknown beyond. Leaving
//! censored attempts out would drop exactly the slow ones (the attempts hedging rescued),
//! biasing the percentile low; counting them as if they had completed at their cancellation
//! would do the same, less. So each bucket counts both, and the percentile is the
//! Kaplan–Meier estimate: walking the buckets upward, the share of calls still running is
//! multiplied by `1 - completed / at_risk`, where `at_risk` counts every call not yet completed
//! nor censored before the bucket (a call censored in a bucket is at risk in it). When
//! censoring leaves the tail unknown (fewer than the percentile's share are known to complete),
//! there is no estimate, and the hedge waits its cap.
//!
//! # Gaps
//!
//! When latencies form clusters (a fast path and a slow one) and the percentile falls just
//! past the end of a cluster, every delay inside the empty stretch after it hedges the same
//! calls, and the earliest serves them soonest; and whether the fast cluster holds 94.9 % or
//! 95.1 % of the calls is sampling noise, which would throw the delay from one cluster to the
//! other from one reading to the next. So the estimate notes the first bucket end by which
//! the share completed is within a tolerance of the percentile (the larger of a tenth of its
//! complement and three standard errors of the share), and when the percentile lies more
//! than twice as late as that end, the delay is that end: at most the tolerance more hedges
//! than asked for, rather than a delay many times longer for hardly fewer hedges.
//!
//! # Slices
//!
//! The window is `SLICES` slices; an observation goes to the slice of its clock reading, and a
//! slice is cleared by the first observation of its next turn (a compare-and-swap of its
//! epoch). Reads sum the slices of the window, so the estimate covers between
//! `(SLICES - 1) / SLICES` and all of the window. A few observations racing a slice's clearing
//! may be lost: this is a histogram for a percentile, not an account.

use std::time::Duration;

use tokio::time::Instant;

use crate::sync::{AtomicU64, Ordering};

/// Exact microseconds below this; 16 sub-buckets per power of two above.
const SUB: u64 = 16;
const SUB_BITS: u32 = 4;
/// The largest exponent (2^32 µs); above lands in the last bucket.
const MAX_EXP: u32 = 31;
pub(crate) const BUCKETS: usize = ((MAX_EXP - SUB_BITS + 2) as usize) * SUB as usize;
pub(crate) const SLICES: usize = 4;
/// A completed observation adds 1, a censored one 1 << 32, to a bucket's one word.
const CENSORED: u64 = 1 << 32;
/// How much later than the end of a cluster a percentile must be for the gap rule.
const GAP_RATIO: u64 = 2;

/// The bucket of `micros`.
pub(crate) fn bucket(micros: u64) -> usize {
    if micros < SUB {
        return micros as usize;
    }
    let exp = 63 - micros.leading_zeros();
    if exp > MAX_EXP {
        return BUCKETS - 1;
    }
    let sub = (micros >> (exp - SUB_BITS)) & (SUB - 1);
    ((exp - SUB_BITS + 1) as usize) * SUB as usize + sub as usize
}

/// The microseconds bucket `index` spans, `[lower, upper)`.
pub(crate) fn bounds(index: usize) -> (u64, u64) {
    let (row, sub) = ((index as u64) / SUB, (index as u64) % SUB);
    if row == 0 {
        return (sub, sub + 1);
    }
    let shift = row - 1;
    ((SUB + sub) << shift, (SUB + sub + 1) << shift)
}

struct Slice {
    /// The slice's turn plus one (0: never used).
    epoch: AtomicU64,
    counts: Box<[AtomicU64]>,
}

/// Latencies of the last `window`, completed and censored.
pub(crate) struct Histogram {
    slices: [Slice; SLICES],
    origin: Instant,
    slice_nanos: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("slice_nanos", &self.slice_nanos)
            .finish_non_exhaustive()
    }
}

/// Counts read out of the window: `(completed, censored)` per bucket. On the stack (7 KiB):
/// reading the percentile allocates nothing.
pub(crate) struct Counts(pub(crate) [(u64, u64); BUCKETS]);

impl Histogram {
    pub(crate) fn new(window: Duration, origin: Instant) -> Self {
        let slice_nanos = (window.as_nanos() / SLICES as u128).max(1) as u64;
        Self {
            slices: std::array::from_fn(|_| Slice {
                epoch: AtomicU64::new(0),
                counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            }),
            origin,
            slice_nanos,
        }
    }

    fn epoch(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.origin).as_nanos();
        (nanos / u128::from(self.slice_nanos)).min(u128::from(u64::MAX - 1)) as u64 + 1
    }

    /// Records a latency at `now`: completed, or censored (at least this long).
    pub(crate) fn record(&self, latency: Duration, censored: bool, now: Instant) {
        let epoch = self.epoch(now);
        let slice = &self.slices[(epoch % SLICES as u64) as usize];
        let mut seen = slice.epoch.load(Ordering::Acquire);
        while seen < epoch {
            match slice
                .epoch
                .compare_exchange(seen, epoch, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    // This slice's new turn: forget its old one.
                    for count in slice.counts.iter() {
                        count.store(0, Ordering::Relaxed);
                    }
                    break;
                }
                Err(actual) => seen = actual,
            }
        }
        if seen > epoch {
            return; // a stale clock reading: the slice has moved on
        }
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let add = if censored { CENSORED } else { 1 };
        slice.counts[bucket(micros)].fetch_add(add, Ordering::Relaxed);
    }

    /// The window's counts at `now`.
    pub(crate) fn counts(&self, now: Instant) -> Counts {
        let epoch = self.epoch(now);
        let mut out = [(0, 0); BUCKETS];
        for slice in &self.slices {
            let e = slice.epoch.load(Ordering::Acquire);
            if e == 0 || e > epoch || epoch - e >= SLICES as u64 {
                continue;
            }
            for (sum, count) in out.iter_mut().zip(slice.counts.iter()) {
                let word = count.load(Ordering::Relaxed);
                sum.0 += word & (CENSORED - 1);
                sum.1 += word >> 32;
            }
        }
        Counts(out)
    }
}

impl Counts {
    /// Observations in all, completed and censored.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().map(|(d, c)| d + c).sum()
    }

    /// The latency `percent` % of calls complete within (Kaplan–Meier, with the gap rule of
    /// the module docs); `None` when censoring leaves it unknown.
    pub(crate) fn percentile(&self, percent: f64) -> Option<Duration> {
        let p = percent / 100.0;
        let mut at_risk = self.total() as f64;
        // A tenth of the complement, or the sampling error of the share (three standard
        // errors of a proportion over these observations), whichever is larger.
        let tolerance = ((1.0 - p) / 10.0).max(3.0 * (p * (1.0 - p) / at_risk).sqrt());
        // The share of calls still running after the buckets walked so far.
        let mut running = 1.0;
        // The first bucket end by which the share completed is within the tolerance of `p`.
        let mut within: Option<u64> = None;
        for (index, &(done, censored)) in self.0.iter().enumerate() {
            if done > 0 {
                let after = running * (1.0 - done as f64 / at_risk);
                let (lower, upper) = bounds(index);
                if 1.0 - after >= p - 1e-12 {
                    let share =
                        ((1.0 - (1.0 - p) / running) * at_risk / done as f64).clamp(0.0, 1.0);
                    let micros = lower as f64 + share * (upper - lower) as f64;
                    return Some(match within {
                        // A gap: the percentile is more than twice as late as the end of the
                        // cluster that holds all but a tolerance of its share.
                        Some(end) if micros > (GAP_RATIO * end) as f64 => {
                            Duration::from_micros(end)
                        }
                        _ => Duration::from_nanos((micros * 1000.0) as u64),
                    });
                }
                running = after;
                if within.is_none() && 1.0 - running >= p - tolerance {
                    within = Some(upper);
                }
            }
            at_risk -= (done + censored) as f64;
        }
        None
    }
}

#[cfg(all(test, not(failguard_loom)))]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_contain_their_values() {
        let mut expected_lower = 0;
        for index in 0..BUCKETS {
            let (lower, upper) = bounds(index);
            assert_eq!(lower, expected_lower, "bucket {index}");
            assert!(upper > lower);
            assert_eq!(bucket(lower), index);
            assert_eq!(bucket(upper - 1), index);
            // At most 1/16 of the lower bound wide, above the exact range.
            if lower >= SUB {
                assert!((upper - lower) * SUB <= lower);
            }
            expected_lower = upper;
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket(10_000), bucket(9_728));
    }

    /// The textbook percentile of a sorted list (the smallest value with at least `p` of the
    /// values at or below it).
    fn naive(sorted: &[u64], percent: f64) -> u64 {
        let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.max(1) - 1]
    }

    #[test]
    fn without_censoring_the_percentile_is_the_textbook_one_within_a_bucket() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let origin = Instant::now();
        let mut rng = StdRng::seed_from_u64(9);
        for round in 0..20 {
            let h = Histogram::new(Duration::from_secs(10), origin);
            let mut values: Vec<u64> = (0..2000)
                .map(|_| (rng.random::<f64>().powi(3) * 200_000.0) as u64 + 50)
                .collect();
            for &v in &values {
                h.record(Duration::from_micros(v), false, origin);
            }
            values.sort_unstable();
            for percent in [50.0, 90.0, 95.0, 99.0] {
                let want = naive(&values, percent);
                let got = h.counts(origin).percentile(percent).unwrap().as_micros() as u64;
                let (lower, upper) = bounds(bucket(want));
                // The gap rule may answer the end of the bucket before an empty one.
                let slack = upper - lower;
                assert!(
                    got + 2 * slack >= lower && got <= upper,
                    "round {round} p{percent}: {got} for {want} in [{lower}, {upper})"
                );
            }
        }
    }

    #[test]
    fn censored_slow_calls_keep_the_percentile_from_falling() {
        let origin = Instant::now();
        let ms = Duration::from_millis;
        // 90 calls of 10 ms; 10 slow ones cancelled at 20 ms (a hedge won): at least 20 ms.
        let h = Histogram::new(Duration::from_secs(10), origin);
        for _ in 0..90 {
            h.record(ms(10), false, origin);
        }
        for _ in 0..10 {
            h.record(ms(20), true, origin);
        }
        let counts = h.counts(origin);
        // p50: among the 10 ms calls.
        assert!(counts.percentile(50.0).unwrap() <= ms(11));
        // p95: beyond what was seen (the censored calls may be far slower): unknown.
        assert_eq!(counts.percentile(95.0), None);
        // Dropping the censored calls would have claimed p95 = 10 ms.
        let dropped = Histogram::new(Duration::from_secs(10), origin);
        for _ in 0..90 {
            dropped.record(ms(10), false, origin);
        }
        assert!(dropped.counts(origin).percentile(95.0).unwrap() <= ms(11));
    }

    #[test]
    fn kaplan_meier_matches_a_hand_computed_case() {
        let origin = Instant::now();
        let h = Histogram::new(Duration::from_secs(10), origin);
        // 4 complete at 1 µs, 4 censored at 2 µs, 2 complete at 3 µs: S(1) = 0.6; at 3 µs the
        // 2 at risk both complete, S = 0. p70 lies in the 3 µs bucket: 0.6 * (1 - x) = 0.3.
        for _ in 0..4 {
            h.record(Duration::from_micros(1), false, origin);
            h.record(Duration::from_micros(2), true, origin);
        }
        for _ in 0..2 {
            h.record(Duration::from_micros(3), false, origin);
        }
        let p70 = h.counts(origin).percentile(70.0).unwrap();
        assert_eq!(p70, Duration::from_nanos(3500));
    }

    #[test]
    fn a_percentile_past_a_cluster_is_the_end_of_the_cluster() {
        let origin = Instant::now();
        let h = Histogram::new(Duration::from_secs(10), origin);
        // 949 fast calls, 51 slow: p95 is just short of the fast cluster's end.
        for _ in 0..949 {
            h.record(Duration::from_millis(10), false, origin);
        }
        for _ in 0..51 {
            h.record(Duration::from_millis(100), false, origin);
        }
        let p95 = h.counts(origin).percentile(95.0).unwrap();
        assert_eq!(p95, Duration::from_micros(bounds(bucket(10_000)).1));
        // Far short of it (90 % fast, 7 standard errors short): the slow cluster's.
        let h = Histogram::new(Duration::from_secs(10), origin);
        for _ in 0..900 {
            h.record(Duration::from_millis(10), false, origin);
        }
        for _ in 0..100 {
            h.record(Duration::from_millis(100), false, origin);
        }
        assert!(h.counts(origin).percentile(95.0).unwrap() >= Duration::from_millis(94));
    }

    #[test]
    fn concurrent_records_within_a_slice_are_all_counted() {
        let origin = Instant::now();
        let h = std::sync::Arc::new(Histogram::new(Duration::from_secs(4), origin));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        h.record(
                            Duration::from_micros(100 + (i + t) % 50),
                            i % 7 == 0,
                            origin,
                        );
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let counts = h.counts(origin);
        assert_eq!(counts.total(), 40_000);
        let censored: u64 = counts.0.iter().map(|c| c.1).sum();
        assert_eq!(censored, 4 * (10_000u64).div_ceil(7));
    }

    #[test]
    fn old_slices_leave_the_window() {
        let origin = Instant::now();
        let window = Duration::from_secs(4);
        let h = Histogram::new(window, origin);
        h.record(Duration::from_millis(5), false, origin);
        assert_eq!(h.counts(origin + Duration::from_secs(3)).total(), 1);
        assert_eq!(h.counts(origin + window).total(), 0);
        // The slot's next turn clears it before counting.
        h.record(Duration::from_millis(5), true, origin + window);
        let counts = h.counts(origin + window);
        assert_eq!(counts.total(), 1);
        assert_eq!(counts.0[bucket(5000)], (0, 1));
    }
}
