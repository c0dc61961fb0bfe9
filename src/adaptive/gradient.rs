//! Gradient2: the ratio of a long-term to a short-term round trip.

use super::{LimitAlgorithm, Sample};
use crate::ConfigError;

/// Delay-based, without a minimum: compares the window's mean round trip (short term) with an
/// exponential average of them over `long_window` windows (long term), and scales the limit by
/// their ratio.
///
/// Netflix's `Gradient2Limit`, which its authors recommend for servers:
///
/// ```text
/// gradient = clamp(tolerance × long_rtt / short_rtt, 0.5, 1.0)
/// target   = limit × gradient + queue_size
/// limit    = limit × (1 − smoothing) + target × smoothing
/// ```
///
/// When the long average is more than twice the short one (the load went away), the long one is
/// brought down by 5% per window, so it recovers from a past queue instead of tolerating it for
/// ever. The limit does not grow while it was not in use.
///
/// | parameter | published default | failguard default |
/// |---|---|---|
/// | `initial_limit` | 20 | 20 |
/// | `smoothing` | 0.2 | 0.2 (above 0, at most 1) |
/// | `tolerance` (`rttTolerance`) | 1.5 | 1.5 (at least 1) |
/// | `queue_size` | 4 | 4 |
/// | `long_window` | 600 | 600 (windows) |
/// | min, max limit | 20, 200 | the limiter's `min_limit`, `max_limit` (1, 1000) |
///
/// Because its reference is an average rather than a minimum, a queue that lasts longer than
/// the long window becomes its new normal: under sustained overload it drifts up. The model
/// test (`tests/adaptive_model.rs`) shows it; prefer [`Vegas`](super::Vegas) there.
///
/// ```
/// use std::time::Duration;
/// use failguard::adaptive::{Gradient2, LimitAlgorithm, Sample};
///
/// let mut gradient = Gradient2::new();
/// let ms = Duration::from_millis;
/// // Steady round trips: gradient 1, the limit grows by smoothing × queue_size a window.
/// let mut limit = 20;
/// for _ in 0..10 {
///     limit = gradient.on_sample(Sample::new(ms(10), ms(10), limit, limit));
/// }
/// assert_eq!(limit, 28);
/// // Round trips ten times longer: gradient 0.5, the limit comes down.
/// assert_eq!(gradient.on_sample(Sample::new(ms(100), ms(100), 28, 28)), 26);
/// ```
#[derive(Debug, Clone)]
pub struct Gradient2 {
    initial_limit: usize,
    smoothing: f64,
    tolerance: f64,
    queue_size: f64,
    long_window: usize,
    long_rtt: Option<f64>,
    windows: usize,
    estimate: f64,
}

impl Default for Gradient2 {
    fn default() -> Self {
        Self::new()
    }
}

impl Gradient2 {
    /// Gradient2 with the defaults in the table above.
    pub fn new() -> Self {
        Self {
            initial_limit: 20,
            smoothing: 0.2,
            tolerance: 1.5,
            queue_size: 4.0,
            long_window: 600,
            long_rtt: None,
            windows: 0,
            estimate: 20.0,
        }
    }

    /// The limit before any call finishes. Default 20.
    ///
    /// ```
    /// use failguard::adaptive::{Gradient2, LimitAlgorithm};
    /// assert_eq!(LimitAlgorithm::initial_limit(&Gradient2::new().initial_limit(4)), 4);
    /// ```
    #[allow(clippy::wrong_self_convention)]
    pub fn initial_limit(mut self, limit: usize) -> Self {
        self.initial_limit = limit;
        self.estimate = limit as f64;
        self
    }

    /// How far each update moves toward its target, above 0 and at most 1. Default 0.2.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] outside `(0, 1]`.
    ///
    /// ```
    /// assert!(failguard::adaptive::Gradient2::new().smoothing(1.5).is_err());
    /// ```
    pub fn smoothing(mut self, smoothing: f64) -> Result<Self, ConfigError> {
        if !(smoothing > 0.0 && smoothing <= 1.0) {
            return Err(ConfigError::new(
                "adaptive.gradient2.smoothing",
                format!("must be above 0 and at most 1 (got {smoothing})"),
            ));
        }
        self.smoothing = smoothing;
        Ok(self)
    }

    /// How much longer than the long-term average a round trip may be before the limit comes
    /// down. Default 1.5.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] below 1 (or not a number).
    ///
    /// ```
    /// assert!(failguard::adaptive::Gradient2::new().tolerance(0.9).is_err());
    /// ```
    pub fn tolerance(mut self, tolerance: f64) -> Result<Self, ConfigError> {
        if !(tolerance >= 1.0 && tolerance.is_finite()) {
            return Err(ConfigError::new(
                "adaptive.gradient2.tolerance",
                format!("must be at least 1 (got {tolerance})"),
            ));
        }
        self.tolerance = tolerance;
        Ok(self)
    }

    /// The queue allowed on top of the scaled limit. Default 4.
    ///
    /// ```
    /// let gradient = failguard::adaptive::Gradient2::new().queue_size(2);
    /// # let _ = gradient;
    /// ```
    pub fn queue_size(mut self, queue_size: usize) -> Self {
        self.queue_size = queue_size as f64;
        self
    }

    /// How many windows the long-term average spans. Default 600.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if it is 0.
    ///
    /// ```
    /// assert!(failguard::adaptive::Gradient2::new().long_window(0).is_err());
    /// ```
    pub fn long_window(mut self, windows: usize) -> Result<Self, ConfigError> {
        if windows == 0 {
            return Err(ConfigError::new(
                "adaptive.gradient2.long_window",
                "must be at least 1",
            ));
        }
        self.long_window = windows;
        Ok(self)
    }
}

impl LimitAlgorithm for Gradient2 {
    fn initial_limit(&self) -> usize {
        self.initial_limit
    }

    fn on_sample(&mut self, sample: Sample) -> usize {
        // The limiter clamped or refused the last answer: start from the limit it kept.
        if self.estimate.round() as usize != sample.limit {
            self.estimate = sample.limit as f64;
        }
        let short = sample.rtt.as_secs_f64();
        if short <= 0.0 {
            return sample.limit;
        }
        // The exponential average warms up as a plain mean over its first windows.
        self.windows = (self.windows + 1).min(self.long_window);
        let weight = 1.0 / self.windows as f64;
        let mut long = match self.long_rtt {
            None => short,
            Some(long) => long + (short - long) * weight,
        };
        if long / short > 2.0 {
            long *= 0.95;
        }
        self.long_rtt = Some(long);
        if !sample.in_use() {
            return sample.limit;
        }
        let gradient = (self.tolerance * long / short).clamp(0.5, 1.0);
        let target = self.estimate * gradient + self.queue_size;
        self.estimate = (self.estimate * (1.0 - self.smoothing) + target * self.smoothing).max(1.0);
        self.estimate.round() as usize
    }
}
