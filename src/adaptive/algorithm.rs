//! The limit algorithm: what an [`AdaptiveLimit`](super::AdaptiveLimit) asks after each window
//! of finished calls, and the three published ones it ships with.
//!
//! The algorithms are those of Netflix's [concurrency-limits] (its README and the javadoc of
//! `AIMDLimit`, `VegasLimit` and `Gradient2Limit`), written from their descriptions. Each type's
//! documentation lists its parameters, the published default, and where failguard's default
//! differs and why.
//!
//! [concurrency-limits]: https://github.com/Netflix/concurrency-limits

use std::time::Duration;

/// What the calls of one window told the limiter: the input of a [`LimitAlgorithm`].
///
/// A window is one round trip's worth of finished calls by default (as many calls as the limit
/// allowed in flight; see [`SampleWindow`](super::SampleWindow)), so an algorithm moves the
/// limit about once per round trip, as TCP moves its congestion window.
///
/// ```
/// use std::time::Duration;
/// use failguard::adaptive::Sample;
///
/// let sample = Sample::new(Duration::from_millis(12), Duration::from_millis(10), 18, 20)
///     .with_drops(1, 20);
/// assert_eq!(sample.drops, 1);
/// assert!(sample.in_use());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Sample {
    /// The mean round-trip time of the window's calls (admission to outcome), drops included.
    pub rtt: Duration,
    /// The shortest round-trip time in the window.
    pub min_rtt: Duration,
    /// The most calls that were in flight when one of the window's calls started (itself
    /// included).
    pub in_flight: usize,
    /// The limit while the window was gathered.
    pub limit: usize,
    /// How many of the window's calls were drops: failures by the shared predicate
    /// ([`Classify`](crate::Classify)), or calls cut off by a failguard
    /// [`Timeout`](crate::Timeout) whose deadline passed.
    pub drops: usize,
    /// How many calls the window holds.
    pub calls: usize,
}

impl Sample {
    /// A window of one call, without drops: `rtt` on average, `min_rtt` at best, `in_flight` at
    /// most, under `limit`. Use [`with_drops`](Self::with_drops) for more calls or for drops.
    pub fn new(rtt: Duration, min_rtt: Duration, in_flight: usize, limit: usize) -> Self {
        Self {
            rtt,
            min_rtt,
            in_flight,
            limit,
            drops: 0,
            calls: 1,
        }
    }

    /// The same sample with `drops` drops among `calls` calls.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let ms = Duration::from_millis(10);
    /// let sample = failguard::adaptive::Sample::new(ms, ms, 4, 4).with_drops(0, 4);
    /// assert_eq!(sample.calls, 4);
    /// ```
    pub fn with_drops(mut self, drops: usize, calls: usize) -> Self {
        self.drops = drops;
        self.calls = calls.max(drops).max(1);
        self
    }

    /// Whether the limit was actually in use: at some point in the window, the calls in flight
    /// came within a tenth of it (within one call, for limits under 20). The limiter never lets
    /// an algorithm raise a limit that was not in use, so a limit cannot drift up while the load
    /// is light (or merely steady below it) and then fail to protect anything when the spike
    /// comes.
    ///
    /// Netflix's algorithms each apply a looser form of this rule (half the limit in flight);
    /// with it, a load steady at the dependency's capacity lets the limit creep to twice that
    /// capacity, since nothing queues until it is exceeded.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let ms = Duration::from_millis(10);
    /// assert!(!failguard::adaptive::Sample::new(ms, ms, 17, 20).in_use());
    /// assert!(failguard::adaptive::Sample::new(ms, ms, 18, 20).in_use());
    /// assert!(failguard::adaptive::Sample::new(ms, ms, 4, 5).in_use());
    /// ```
    pub fn in_use(&self) -> bool {
        self.in_flight + (self.limit / 10).max(1) >= self.limit
    }
}

/// How an [`AdaptiveLimit`](super::AdaptiveLimit) moves its limit: given what a window of calls
/// measured, the new limit.
///
/// Implement it to plug in an algorithm of your own; [`Aimd`](super::Aimd),
/// [`Vegas`](super::Vegas) and [`Gradient2`](super::Gradient2) are the published ones. The
/// limiter calls it under a short lock, once per window, with the windows in order; it clamps
/// the answer to its `min_limit..=max_limit`, refuses any rise while the limit was not
/// [in use](Sample::in_use), and lets a rise go at most a tenth (at least one call) past the
/// most calls the window had in flight.
///
/// # Examples
///
/// A limit that halves on any drop and otherwise grows by one:
///
/// ```
/// use failguard::adaptive::{AdaptiveLimit, LimitAlgorithm, Sample};
///
/// struct Halving;
///
/// impl LimitAlgorithm for Halving {
///     fn initial_limit(&self) -> usize {
///         8
///     }
///     fn on_sample(&mut self, sample: Sample) -> usize {
///         if sample.drops > 0 { sample.limit / 2 } else { sample.limit + 1 }
///     }
/// }
///
/// let limit = AdaptiveLimit::builder().algorithm(Halving).build()?;
/// assert_eq!(limit.snapshot().limit, 8);
/// # Ok::<(), failguard::ConfigError>(())
/// ```
pub trait LimitAlgorithm: Send + 'static {
    /// The limit before any call has finished.
    fn initial_limit(&self) -> usize;

    /// The new limit, after a window of calls described by `sample`.
    fn on_sample(&mut self, sample: Sample) -> usize;
}

impl LimitAlgorithm for Box<dyn LimitAlgorithm> {
    fn initial_limit(&self) -> usize {
        (**self).initial_limit()
    }

    fn on_sample(&mut self, sample: Sample) -> usize {
        (**self).on_sample(sample)
    }
}
