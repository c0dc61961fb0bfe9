//! The builder of an [`AdaptiveLimit`], and the knobs it takes.

use std::time::Duration;

use super::{AdaptiveLimit, AdaptiveState, LimitAlgorithm, Vegas, core::Partition};
use crate::{ConfigError, ErrorIsFailure, Name, events::Sinks, sync::Arc};

/// The largest `max_limit` and `max_waiting` accepted.
const MAX: usize = 1 << 24;
/// The longest `max_wait` accepted.
const MAX_WAIT: Duration = Duration::from_secs(60 * 60);
const DEFAULT_NAME: Name = Name::from_static("adaptive-limit");

/// Which waiter gets a place that comes free.
///
/// ```
/// assert_eq!(failguard::adaptive::WaitOrder::default(), failguard::adaptive::WaitOrder::Fifo);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitOrder {
    /// The oldest: first come, first served.
    #[default]
    Fifo,
    /// The newest. Under overload the oldest waiters are the likeliest to have been given up on
    /// by their own callers; serving the freshest first answers the callers who still listen.
    Lifo,
}

/// How many finished calls make one window, the unit the algorithm learns from.
///
/// ```
/// use failguard::adaptive::SampleWindow;
/// assert_eq!(SampleWindow::default(), SampleWindow::RoundTrip);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SampleWindow {
    /// As many calls as the current limit: about one round trip of a saturated limit, so the
    /// limit moves about once per round trip, as TCP's congestion window does. One call's round
    /// trip is noise; a window's mean is a measurement.
    #[default]
    RoundTrip,
    /// A fixed number of calls (1: every call, as Netflix's simple limiter samples).
    Calls(usize),
}

/// Builds an [`AdaptiveLimit`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::adaptive::{AdaptiveLimit, Aimd, WaitOrder};
///
/// let limit = AdaptiveLimit::builder()
///     .algorithm(Aimd::new().initial_limit(10).timeout(Duration::from_millis(250))?)
///     .min_limit(2)
///     .max_limit(200)
///     .max_waiting(50)
///     .max_wait(Duration::from_millis(20))
///     .wait_order(WaitOrder::Lifo)
///     .name("payments")
///     .build()?;
/// assert_eq!(limit.snapshot().limit, 10);
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[must_use = "a builder does nothing until `build()` is called"]
pub struct AdaptiveLimitBuilder<C = ErrorIsFailure> {
    algorithm: Box<dyn LimitAlgorithm>,
    min_limit: usize,
    max_limit: usize,
    window: SampleWindow,
    max_waiting: usize,
    max_wait: Duration,
    order: WaitOrder,
    name: Option<Name>,
    sinks: Sinks,
    partitions: Vec<(Name, f64)>,
    classify: C,
}

impl Default for AdaptiveLimitBuilder {
    fn default() -> Self {
        Self {
            algorithm: Box::new(Vegas::new()),
            min_limit: 1,
            max_limit: 1000,
            window: SampleWindow::RoundTrip,
            max_waiting: 0,
            max_wait: Duration::ZERO,
            order: WaitOrder::Fifo,
            name: None,
            sinks: Sinks::default(),
            partitions: Vec::new(),
            classify: ErrorIsFailure,
        }
    }
}

impl<C> std::fmt::Debug for AdaptiveLimitBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptiveLimitBuilder")
            .field("min_limit", &self.min_limit)
            .field("max_limit", &self.max_limit)
            .field("window", &self.window)
            .field("max_waiting", &self.max_waiting)
            .field("max_wait", &self.max_wait)
            .field("order", &self.order)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<C> AdaptiveLimitBuilder<C> {
    /// How the limit moves: [`Vegas`], [`Aimd`](super::Aimd), [`Gradient2`](super::Gradient2)
    /// or your own [`LimitAlgorithm`]. Its `initial_limit` is the limit before any call finishes.
    ///
    /// # Default
    ///
    /// [`Vegas::new()`]: starts at 20.
    pub fn algorithm(mut self, algorithm: impl LimitAlgorithm) -> Self {
        self.algorithm = Box::new(algorithm);
        self
    }

    /// The lowest the limit may go.
    ///
    /// # Default
    ///
    /// One call. Netflix's limits default to 20, which leaves a limiter unable to protect a
    /// dependency that can take fewer.
    pub fn min_limit(mut self, min: usize) -> Self {
        self.min_limit = min;
        self
    }

    /// The highest the limit may go.
    ///
    /// # Default
    ///
    /// 1000.
    pub fn max_limit(mut self, max: usize) -> Self {
        self.max_limit = max;
        self
    }

    /// How many finished calls the algorithm learns from at a time.
    ///
    /// # Default
    ///
    /// [`SampleWindow::RoundTrip`].
    pub fn sample_window(mut self, window: SampleWindow) -> Self {
        self.window = window;
        self
    }

    /// How many calls may wait for a place at once.
    ///
    /// # Default
    ///
    /// 0: reject at once. Set it together with [`max_wait`](Self::max_wait).
    pub fn max_waiting(mut self, max_waiting: usize) -> Self {
        self.max_waiting = max_waiting;
        self
    }

    /// How long a call may wait for a place.
    ///
    /// # Default
    ///
    /// Zero. Set it together with [`max_waiting`](Self::max_waiting); at most one hour.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Which waiter gets a place that comes free.
    ///
    /// # Default
    ///
    /// [`WaitOrder::Fifo`].
    pub fn wait_order(mut self, order: WaitOrder) -> Self {
        self.order = order;
        self
    }

    /// A partition named `name`, guaranteed `share` of the limit (see
    /// [Partitions](super#partitions)); call it again for each partition.
    ///
    /// # Default
    ///
    /// None: every call belongs to `"default"`, which has the whole limit.
    pub fn partition(mut self, name: impl Into<Name>, share: f64) -> Self {
        self.partitions.push((name.into(), share));
        self
    }

    /// The name shown in events, errors and snapshots.
    ///
    /// # Default
    ///
    /// `"adaptive-limit"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends the limiter's [`AdaptiveEvent`](super::AdaptiveEvent)s to `listener`, next to the
    /// `tracing` output.
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// use failguard::{adaptive::AdaptiveLimit, events::Event};
    /// let limit = AdaptiveLimit::builder()
    ///     .listener(|e: &Event<'_>| eprintln!("{}: {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = limit;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// Which outcomes are drops: the shared predicate, any [`Classify`](crate::Classify).
    /// Failures are drops; ignored outcomes count nowhere.
    ///
    /// # Default
    ///
    /// [`ErrorIsFailure`]: every `Err`, rejections of policies inside included, is a drop.
    ///
    /// ```
    /// use failguard::{Error, FailureIf, adaptive::AdaptiveLimit};
    /// // A missing row is an answer, not a sign of overload.
    /// let limit = AdaptiveLimit::builder()
    ///     .classify(FailureIf(|e: &Error<&str>| !matches!(e, Error::Inner("not found"))))
    ///     .build()?;
    /// # let _ = limit;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn classify<C2>(self, classify: C2) -> AdaptiveLimitBuilder<C2> {
        AdaptiveLimitBuilder {
            algorithm: self.algorithm,
            min_limit: self.min_limit,
            max_limit: self.max_limit,
            window: self.window,
            max_waiting: self.max_waiting,
            max_wait: self.max_wait,
            order: self.order,
            name: self.name,
            sinks: self.sinks,
            partitions: self.partitions,
            classify,
        }
    }

    /// Checks the configuration and builds the limiter.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `min_limit` is 0, `max_limit` is below it or above 2^24, the
    /// algorithm's initial limit is outside them, a window of 0 calls, `max_waiting` above
    /// 2^24, `max_wait` above an hour, only one of `max_waiting` and `max_wait` set, or a
    /// partition's share not in `(0, 1]`, named twice (`"default"` included), or shares that add
    /// up to more than 1.
    ///
    /// ```
    /// let err = failguard::adaptive::AdaptiveLimit::builder().min_limit(30).build().unwrap_err();
    /// assert_eq!(err.field(), "adaptive.initial_limit");
    /// ```
    pub fn build(self) -> Result<AdaptiveLimit<C>, ConfigError> {
        let fail = |field: &'static str, rule: String| Err(ConfigError::new(field, rule));
        if self.min_limit == 0 {
            return fail("adaptive.min_limit", "must be at least 1 (got 0)".into());
        }
        if self.max_limit < self.min_limit || self.max_limit > MAX {
            return fail(
                "adaptive.max_limit",
                format!(
                    "must be from min_limit ({}) to {MAX} (got {})",
                    self.min_limit, self.max_limit
                ),
            );
        }
        let initial = self.algorithm.initial_limit();
        if !(self.min_limit..=self.max_limit).contains(&initial) {
            return fail(
                "adaptive.initial_limit",
                format!(
                    "must be from min_limit ({}) to max_limit ({}) (got {initial})",
                    self.min_limit, self.max_limit
                ),
            );
        }
        if self.window == SampleWindow::Calls(0) {
            return fail("adaptive.sample_window", "must be at least 1 call".into());
        }
        if self.max_waiting > MAX {
            return fail(
                "adaptive.max_waiting",
                format!("must be at most {MAX} (got {})", self.max_waiting),
            );
        }
        if self.max_wait > MAX_WAIT {
            return fail(
                "adaptive.max_wait",
                format!("must be at most 1 hour (got {:?})", self.max_wait),
            );
        }
        if (self.max_waiting == 0) != self.max_wait.is_zero() {
            return fail(
                "adaptive.max_wait",
                format!(
                    "max_waiting and max_wait must be set together (got {} and {:?})",
                    self.max_waiting, self.max_wait
                ),
            );
        }
        let mut rest = 1.0;
        let mut partitions = vec![Partition::new(Name::from_static("default"), 0.0)];
        for (name, share) in self.partitions {
            if !(share > 0.0 && share <= 1.0) {
                return fail(
                    "adaptive.partition",
                    format!("`{name}`'s share must be above 0 and at most 1 (got {share})"),
                );
            }
            if partitions.iter().any(|p| p.name == name) {
                return fail("adaptive.partition", format!("`{name}` is named twice"));
            }
            rest -= share;
            partitions.push(Partition::new(name, share));
        }
        if rest < -1e-9 {
            return fail(
                "adaptive.partition",
                format!("the shares add up to more than 1 (by {:.3})", -rest),
            );
        }
        partitions[0].share = rest.max(0.0);
        let state = AdaptiveState::new(
            self.name.unwrap_or(DEFAULT_NAME),
            self.sinks,
            self.algorithm,
            partitions.into(),
            (self.min_limit, self.max_limit),
            self.window,
            self.max_waiting,
            self.max_wait,
            self.order,
        );
        Ok(AdaptiveLimit {
            state: Arc::new(state),
            classify: self.classify,
            partition: 0,
        })
    }
}
