//! The throttle's decision: the SRE book's rejection probability over a sliding window of
//! requests and accepts, kept in the breaker's time window (one implementation for both).

use std::time::Duration;

use tokio::time::Instant;

use crate::{
    Name,
    events::Sinks,
    retry::rng::{self, SharedRng},
    sync::{AtomicU64, Ordering::Relaxed},
    window::{Mark, TimeWindow},
};

/// The shared state of an [`AdaptiveThrottle`](super::AdaptiveThrottle); it only appears in
/// type signatures.
pub struct ThrottleState {
    pub(crate) name: Name,
    pub(crate) sinks: Sinks,
    pub(crate) k: f64,
    /// Requests are calls; the ones not accepted are its failures.
    window: TimeWindow,
    rng: Option<SharedRng>,
    throttled: AtomicU64,
}

impl std::fmt::Debug for ThrottleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottleState")
            .field("name", &self.name)
            .field("k", &self.k)
            .finish_non_exhaustive()
    }
}

/// Requests and accepts in the window now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Counts {
    pub(crate) requests: u64,
    pub(crate) accepts: u64,
}

impl Counts {
    /// `max(0, (requests − K·accepts) / (requests + 1))`.
    pub(crate) fn probability(self, k: f64) -> f64 {
        let requests = self.requests as f64;
        ((requests - k * self.accepts as f64) / (requests + 1.0)).max(0.0)
    }
}

impl ThrottleState {
    pub(crate) fn new(
        name: Name,
        sinks: Sinks,
        k: f64,
        (window, buckets): (Duration, usize),
        rng: Option<SharedRng>,
    ) -> Self {
        Self {
            name,
            sinks,
            k,
            window: TimeWindow::new(window, buckets, 0, Instant::now()),
            rng,
            throttled: AtomicU64::new(0),
        }
    }

    pub(crate) fn counts(&self, now: Instant) -> Counts {
        let totals = self.window.totals(now);
        Counts {
            requests: u64::from(totals.calls),
            accepts: u64::from(totals.calls - totals.failures),
        }
    }

    pub(crate) fn throttled(&self) -> u64 {
        self.throttled.load(Relaxed)
    }

    /// Whether a request arriving at `now` may go: `Err` with the probability it was rejected
    /// with (the rejection is counted as a request not accepted).
    #[inline]
    pub(crate) fn admit(&self, now: Instant) -> Result<(), (f64, Counts)> {
        let counts = self.counts(now);
        let p = counts.probability(self.k);
        // While the backend accepts enough, no random draw (and no lock on a shared generator).
        if p <= 0.0 || rng::draw(self.rng.as_ref()) >= p {
            return Ok(());
        }
        self.throttled.fetch_add(1, Relaxed);
        self.record(false, now);
        Err((p, counts))
    }

    /// Records a request the backend answered: accepted or not.
    pub(crate) fn record(&self, accepted: bool, now: Instant) {
        let mark = Mark {
            failure: !accepted,
            slow: false,
        };
        self.window.record(mark, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probability_is_the_sre_formula() {
        let p = |requests, accepts| Counts { requests, accepts }.probability(2.0);
        assert_eq!(p(0, 0), 0.0);
        assert_eq!(p(100, 50), 0.0); // accepts at half the requests: K = 2 lets all through
        assert_eq!(p(100, 40), 20.0 / 101.0);
        assert_eq!(p(9, 0), 0.9);
    }
}
