//! The builder of an [`AdaptiveThrottle`].

use std::time::Duration;

use super::{AdaptiveThrottle, ThrottleState};
use crate::{ConfigError, ErrorIsFailure, Name, retry::rng::Source, sync::Arc};

const DEFAULT_NAME: Name = Name::from_static("adaptive-throttle");

/// Builds an [`AdaptiveThrottle`].
///
/// ```
/// use std::time::Duration;
/// let throttle = failguard::throttle::AdaptiveThrottle::builder()
///     .k(1.5)
///     .window(Duration::from_secs(60), 60)
///     .seed(42)
///     .name("ads")
///     .build()?;
/// assert_eq!(throttle.name(), "ads");
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct AdaptiveThrottleBuilder<C = ErrorIsFailure> {
    k: f64,
    window: Duration,
    buckets: usize,
    rng: Source,
    name: Option<Name>,
    sinks: crate::events::Sinks,
    classify: C,
}

impl Default for AdaptiveThrottleBuilder {
    fn default() -> Self {
        Self {
            k: 2.0,
            window: Duration::from_secs(120),
            buckets: 120,
            rng: Source::Thread,
            name: None,
            sinks: crate::events::Sinks::default(),
            classify: ErrorIsFailure,
        }
    }
}

impl<C> AdaptiveThrottleBuilder<C> {
    /// The multiplier `K`: requests are throttled once they exceed `K` times the accepts.
    ///
    /// # Default
    ///
    /// 2.0, the SRE book's. At least 1.
    pub fn k(mut self, k: f64) -> Self {
        self.k = k;
        self
    }

    /// The sliding window the requests and accepts are counted over, in `buckets` buckets
    /// (expired a bucket at a time).
    ///
    /// # Default
    ///
    /// 2 minutes in 120 buckets of a second.
    pub fn window(mut self, window: Duration, buckets: usize) -> Self {
        (self.window, self.buckets) = (window, buckets);
        self
    }

    /// Draws from a `StdRng` seeded with `seed`, shared by every clone: the same requests and
    /// answers give the same local rejections.
    ///
    /// # Default
    ///
    /// Each thread's `rand::rng()`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = Source::Seed(seed);
        self
    }

    /// The name shown in events, errors and snapshots.
    ///
    /// # Default
    ///
    /// `"adaptive-throttle"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends the throttle's [`ThrottleEvent`](super::ThrottleEvent)s to `listener`, next to the `tracing` output.
    ///
    /// # Default
    ///
    /// None.
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// Which answers the backend accepted: the shared predicate, any [`Classify`](crate::Classify). Successes
    /// are accepts; failures are not; ignored answers count nowhere.
    ///
    /// # Default
    ///
    /// [`ErrorIsFailure`].
    ///
    /// ```
    /// use failguard::{Error, Outcome, throttle::AdaptiveThrottle};
    /// // A 429 or 503 is the backend rejecting; anything else it answered was accepted.
    /// let throttle = AdaptiveThrottle::builder()
    ///     .classify(|r: &Result<u16, Error<std::io::Error>>| match r {
    ///         Ok(429 | 503) | Err(_) => Outcome::Failure,
    ///         Ok(_) => Outcome::Success,
    ///     })
    ///     .build()?;
    /// # let _ = throttle;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn classify<C2>(self, classify: C2) -> AdaptiveThrottleBuilder<C2> {
        AdaptiveThrottleBuilder {
            k: self.k,
            window: self.window,
            buckets: self.buckets,
            rng: self.rng,
            name: self.name,
            sinks: self.sinks,
            classify,
        }
    }

    /// Checks the configuration and builds the throttle.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `k` is below 1 (or not a number), the window is zero or above a
    /// day, or the buckets are 0, more than [`MAX_WINDOW`](crate::breaker::MAX_WINDOW) or
    /// narrower than a millisecond.
    ///
    /// ```
    /// let err = failguard::throttle::AdaptiveThrottle::builder().k(0.5).build().unwrap_err();
    /// assert_eq!(err.field(), "throttle.k");
    /// ```
    pub fn build(self) -> Result<AdaptiveThrottle<C>, ConfigError> {
        if !(self.k >= 1.0 && self.k.is_finite()) {
            return Err(ConfigError::new(
                "throttle.k",
                format!("must be at least 1 (got {})", self.k),
            ));
        }
        ConfigError::check_duration("throttle.window", self.window)?;
        let max = crate::breaker::MAX_WINDOW;
        if self.buckets == 0
            || self.buckets > max
            || self.window / (self.buckets as u32) < Duration::from_millis(1)
        {
            return Err(ConfigError::new(
                "throttle.window",
                format!(
                    "buckets must be from 1 to {max}, each at least 1 ms wide (got {} over {:?})",
                    self.buckets, self.window
                ),
            ));
        }
        let state = ThrottleState::new(
            self.name.unwrap_or(DEFAULT_NAME),
            self.sinks,
            self.k,
            (self.window, self.buckets),
            self.rng.build(),
        );
        Ok(AdaptiveThrottle {
            state: Arc::new(state),
            classify: self.classify,
        })
    }
}
