//! What happens to a rate limiter, as [`Event`](crate::events::Event)s report it.

use std::time::Duration;

use crate::Name;

/// A rate limiter's event, in [`EventKind::RateLimit`](crate::events::EventKind::RateLimit).
///
/// ```
/// use std::time::Duration;
/// use failguard::rate_limit::RateLimitEvent;
/// let event = RateLimitEvent::Rejected { weight: 1, retry_after: Some(Duration::from_secs(1)) };
/// assert_ne!(event, RateLimitEvent::Waited { weight: 1, waited: Duration::from_secs(1) });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitEvent {
    /// No permit now, nor within `max_wait` (`tracing`: `rate_limit.rejected`, WARN).
    Rejected {
        /// The permits the call asked for.
        weight: u32,
        /// When a call of this weight would pass; `None` if it exceeds the burst.
        retry_after: Option<Duration>,
    },
    /// A call waited for its permits and got them (`tracing`: `rate_limit.waited`, DEBUG).
    Waited {
        /// The permits the call took.
        weight: u32,
        /// How long it waited.
        waited: Duration,
    },
    /// A waiting call was dropped before its permits' moment
    /// (`tracing`: `rate_limit.wait_cancelled`, DEBUG).
    WaitCancelled {
        /// The permits it had reserved.
        weight: u32,
        /// Whether they were given back: only when no later waiter reserved after it.
        given_back: bool,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl RateLimitEvent {
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            RateLimitEvent::Rejected {
                weight,
                retry_after,
            } => tracing::event!(
                name: "rate_limit.rejected",
                target: "failguard",
                tracing::Level::WARN,
                policy = "rate-limiter",
                name = name.as_str(),
                weight,
                retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                "rate limiter rejected a call"
            ),
            RateLimitEvent::Waited { weight, waited } => tracing::event!(
                name: "rate_limit.waited",
                target: "failguard",
                tracing::Level::DEBUG,
                policy = "rate-limiter",
                name = name.as_str(),
                weight,
                waited_ms = waited.as_millis() as u64,
                "rate limiter admitted a call after a wait"
            ),
            RateLimitEvent::WaitCancelled { weight, given_back } => tracing::event!(
                name: "rate_limit.wait_cancelled",
                target: "failguard",
                tracing::Level::DEBUG,
                policy = "rate-limiter",
                name = name.as_str(),
                weight,
                given_back,
                "a waiting call was dropped before its moment"
            ),
        }
    }
}
