//! Additive increase, multiplicative decrease.

use std::time::Duration;

use super::{LimitAlgorithm, Sample};
use crate::ConfigError;

/// Loss-based: grows the limit by one per window without a drop, and multiplies it by
/// `backoff_ratio` after a window with one. A window whose mean round trip exceeds `timeout`
/// counts as dropped too.
///
/// The algorithm of TCP Reno's congestion window, as Netflix's `AIMDLimit` applies it to
/// concurrency. It sees only drops, so it suits a client whose calls fail (or time out) when the
/// dependency is overloaded; against a dependency that only slows down, give it a `timeout` near
/// the latency you accept, or use [`Vegas`](super::Vegas).
///
/// | parameter | published default | failguard default |
/// |---|---|---|
/// | `initial_limit` | 20 | 20 |
/// | `backoff_ratio` | 0.9 | 0.9 (from 0.5 to 1, exclusive) |
/// | `timeout` | 5 s | 5 s |
/// | min, max limit | 20, 200 | the limiter's `min_limit`, `max_limit` (1, 1000) |
///
/// ```
/// use std::time::Duration;
/// use failguard::adaptive::{Aimd, LimitAlgorithm, Sample};
///
/// let mut aimd = Aimd::new().timeout(Duration::from_millis(50))?;
/// let ms = Duration::from_millis(10);
/// assert_eq!(aimd.on_sample(Sample::new(ms, ms, 20, 20)), 21);
/// assert_eq!(aimd.on_sample(Sample::new(ms, ms, 20, 20).with_drops(1, 20)), 18);
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Aimd {
    initial_limit: usize,
    backoff_ratio: f64,
    timeout: Duration,
}

impl Default for Aimd {
    fn default() -> Self {
        Self::new()
    }
}

impl Aimd {
    /// AIMD with the defaults in the table above.
    pub fn new() -> Self {
        Self {
            initial_limit: 20,
            backoff_ratio: 0.9,
            timeout: Duration::from_secs(5),
        }
    }

    /// The limit before any call finishes. Default 20.
    ///
    /// ```
    /// use failguard::adaptive::{Aimd, LimitAlgorithm};
    /// assert_eq!(LimitAlgorithm::initial_limit(&Aimd::new().initial_limit(4)), 4);
    /// ```
    #[allow(clippy::wrong_self_convention)]
    pub fn initial_limit(mut self, limit: usize) -> Self {
        self.initial_limit = limit;
        self
    }

    /// What the limit is multiplied by after a window with a drop. Default 0.9.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] unless `0.5 <= ratio < 1`.
    ///
    /// ```
    /// assert!(failguard::adaptive::Aimd::new().backoff_ratio(1.0).is_err());
    /// ```
    pub fn backoff_ratio(mut self, ratio: f64) -> Result<Self, ConfigError> {
        if !(0.5..1.0).contains(&ratio) {
            return Err(ConfigError::new(
                "adaptive.aimd.backoff_ratio",
                format!("must be from 0.5 to 1, 1 excluded (got {ratio})"),
            ));
        }
        self.backoff_ratio = ratio;
        Ok(self)
    }

    /// A window whose mean round trip is above this counts as dropped. Default 5 s.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if it is zero or above a day.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert!(failguard::adaptive::Aimd::new().timeout(Duration::ZERO).is_err());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        ConfigError::check_duration("adaptive.aimd.timeout", timeout)?;
        self.timeout = timeout;
        Ok(self)
    }
}

impl LimitAlgorithm for Aimd {
    fn initial_limit(&self) -> usize {
        self.initial_limit
    }

    fn on_sample(&mut self, sample: Sample) -> usize {
        if sample.drops > 0 || sample.rtt > self.timeout {
            // Rounded down, and always at least one less: a limit of 3 backs off to 2, not 3.
            let backed = (sample.limit as f64 * self.backoff_ratio) as usize;
            backed.min(sample.limit.saturating_sub(1))
        } else if sample.in_use() {
            sample.limit + 1
        } else {
            sample.limit
        }
    }
}
