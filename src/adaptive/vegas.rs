//! TCP Vegas, for concurrency.

use std::time::Duration;

use super::{LimitAlgorithm, Sample};
use crate::ConfigError;

/// Delay-based: estimates the queue at the dependency from how far the round trip is above the
/// shortest one seen (`queue = limit × (1 − rtt_noload / rtt)`) and keeps it between `alpha`
/// and `beta` calls.
///
/// The algorithm of TCP Vegas, as Netflix's `VegasLimit` applies it to concurrency. With
/// `l = max(1, ⌊log10(limit)⌋)`, `alpha = 3·l` and `beta = 6·l` (the published multipliers, set
/// with [`queue_bounds`](Self::queue_bounds)):
///
/// | estimated queue | new limit |
/// |---|---|
/// | a drop in the window | `limit − l` |
/// | `≤ l` (threshold) | `limit + beta` (grow fast, nothing is queued) |
/// | `< alpha` | `limit + l` |
/// | `> beta` | `limit − l` |
/// | otherwise | unchanged |
///
/// The bounds are numbers of calls, not fractions of the limit: 3 to 6 calls queued is a small
/// queue for a dependency that takes 100 at once, and 30% to 60% over one that takes 10. For
/// small dependencies, tighter bounds (`queue_bounds(2, 4)`) keep the limit within a fifth of
/// the capacity; the model test uses those.
///
/// then `limit + smoothing × (new − limit)`. `rtt_noload` is the shortest round trip seen.
///
/// Netflix's Vegas also *probes*: every `probe_multiplier × limit` calls it takes the current
/// round trip as the new `rtt_noload`, so that a dependency that became slower for good is not
/// taken for a queue forever. Under sustained overload, though, every round trip is queued: the
/// probe takes the queue for the baseline, and the limit climbs by a queue's worth each time
/// (the model test, `tests/adaptive_model.rs`, shows it: settled 65% above capacity). failguard
/// therefore keeps the lifetime minimum by default; turn probing on with
/// [`probe_multiplier`](Self::probe_multiplier) when a dependency's unloaded latency can rise
/// for good.
///
/// | parameter | published default | failguard default |
/// |---|---|---|
/// | `initial_limit` | 20 | 20 |
/// | `smoothing` | 1.0 | 1.0 (above 0, at most 1) |
/// | `probe_multiplier` | 30 (with a random jitter of 0.5 to 1) | off (see above); when set, no jitter |
/// | alpha, beta, threshold, increase, decrease | `3·l`, `6·l`, `l`, `+l`, `−l` | the same (alpha and beta's multipliers settable) |
/// | max limit | 1000 | the limiter's `max_limit` (1000) |
///
/// ```
/// use std::time::Duration;
/// use failguard::adaptive::{LimitAlgorithm, Sample, Vegas};
///
/// let mut vegas = Vegas::new();
/// let ms = Duration::from_millis;
/// // Nothing queued: grow by beta (6 at a limit of 20).
/// assert_eq!(vegas.on_sample(Sample::new(ms(10), ms(10), 20, 20)), 26);
/// // Half the round trip is queueing: a queue of 13 calls, above beta: shrink by one.
/// assert_eq!(vegas.on_sample(Sample::new(ms(20), ms(20), 26, 26)), 25);
/// ```
#[derive(Debug, Clone)]
pub struct Vegas {
    initial_limit: usize,
    smoothing: f64,
    alpha: usize,
    beta: usize,
    probe_multiplier: Option<usize>,
    rtt_noload: Option<Duration>,
    calls_since_probe: usize,
}

impl Default for Vegas {
    fn default() -> Self {
        Self::new()
    }
}

impl Vegas {
    /// Vegas with the defaults in the table above.
    pub fn new() -> Self {
        Self {
            initial_limit: 20,
            smoothing: 1.0,
            alpha: 3,
            beta: 6,
            probe_multiplier: None,
            rtt_noload: None,
            calls_since_probe: 0,
        }
    }

    /// The limit before any call finishes. Default 20.
    ///
    /// ```
    /// use failguard::adaptive::{LimitAlgorithm, Vegas};
    /// assert_eq!(LimitAlgorithm::initial_limit(&Vegas::new().initial_limit(4)), 4);
    /// ```
    #[allow(clippy::wrong_self_convention)]
    pub fn initial_limit(mut self, limit: usize) -> Self {
        self.initial_limit = limit;
        self
    }

    /// How far each update moves toward its target, above 0 and at most 1. Default 1.0.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] outside `(0, 1]`.
    ///
    /// ```
    /// assert!(failguard::adaptive::Vegas::new().smoothing(0.0).is_err());
    /// ```
    pub fn smoothing(mut self, smoothing: f64) -> Result<Self, ConfigError> {
        if !(smoothing > 0.0 && smoothing <= 1.0) {
            return Err(ConfigError::new(
                "adaptive.vegas.smoothing",
                format!("must be above 0 and at most 1 (got {smoothing})"),
            ));
        }
        self.smoothing = smoothing;
        Ok(self)
    }

    /// The queue, in multiples of `l`, below which the limit grows (`alpha`) and above which it
    /// shrinks (`beta`). Default 3 and 6.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] unless `1 <= alpha < beta`.
    ///
    /// ```
    /// let vegas = failguard::adaptive::Vegas::new().queue_bounds(2, 4)?;
    /// # let _ = vegas;
    /// assert!(failguard::adaptive::Vegas::new().queue_bounds(4, 4).is_err());
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn queue_bounds(mut self, alpha: usize, beta: usize) -> Result<Self, ConfigError> {
        if alpha == 0 || beta <= alpha {
            return Err(ConfigError::new(
                "adaptive.vegas.queue_bounds",
                format!("must have 1 <= alpha < beta (got {alpha} and {beta})"),
            ));
        }
        (self.alpha, self.beta) = (alpha, beta);
        Ok(self)
    }

    /// Every `multiplier × limit` calls, the no-load round trip is measured afresh. Default: off
    /// (Netflix's default is 30).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if it is 0.
    ///
    /// ```
    /// assert!(failguard::adaptive::Vegas::new().probe_multiplier(0).is_err());
    /// ```
    pub fn probe_multiplier(mut self, multiplier: usize) -> Result<Self, ConfigError> {
        if multiplier == 0 {
            return Err(ConfigError::new(
                "adaptive.vegas.probe_multiplier",
                "must be at least 1",
            ));
        }
        self.probe_multiplier = Some(multiplier);
        Ok(self)
    }
}

/// `max(1, ⌊log10(limit)⌋)`: the unit every Vegas threshold is a multiple of.
fn log10(limit: usize) -> usize {
    (limit.max(1).ilog10() as usize).max(1)
}

impl LimitAlgorithm for Vegas {
    fn initial_limit(&self) -> usize {
        self.initial_limit
    }

    fn on_sample(&mut self, sample: Sample) -> usize {
        let limit = sample.limit;
        self.calls_since_probe += sample.calls;
        let noload = match self.rtt_noload {
            Some(noload)
                if self
                    .probe_multiplier
                    .is_none_or(|m| self.calls_since_probe <= m * limit) =>
            {
                noload.min(sample.min_rtt)
            }
            _ => {
                self.calls_since_probe = 0;
                sample.min_rtt
            }
        };
        self.rtt_noload = Some(noload);
        if sample.rtt.is_zero() {
            return limit;
        }
        let l = log10(limit);
        let target = if sample.drops > 0 {
            limit.saturating_sub(l)
        } else if !sample.in_use() {
            return limit;
        } else {
            let queued = limit as f64 * (1.0 - noload.as_secs_f64() / sample.rtt.as_secs_f64());
            let queued = queued.ceil().max(0.0) as usize;
            if queued <= l {
                limit + self.beta * l
            } else if queued < self.alpha * l {
                limit + l
            } else if queued > self.beta * l {
                limit.saturating_sub(l)
            } else {
                limit
            }
        };
        let moved = limit as f64 + self.smoothing * (target as f64 - limit as f64);
        moved.round() as usize
    }
}
