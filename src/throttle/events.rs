//! What happens to an adaptive throttle, as [`Event`](crate::events::Event)s report it.

use crate::Name;

/// An adaptive throttle's event, in [`EventKind::Throttle`](crate::events::EventKind::Throttle).
///
/// ```
/// use failguard::throttle::ThrottleEvent;
/// let event = ThrottleEvent::Throttled { probability: 0.5, requests: 10, accepts: 2 };
/// assert!(matches!(event, ThrottleEvent::Throttled { .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ThrottleEvent {
    /// A request was rejected locally (`tracing`: `throttle.rejected`, DEBUG: under a failing
    /// backend this happens to most requests).
    Throttled {
        /// The probability it was rejected with.
        probability: f64,
        /// The requests in the window.
        requests: u64,
        /// The accepted requests in the window.
        accepts: u64,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl ThrottleEvent {
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            ThrottleEvent::Throttled {
                probability,
                requests,
                accepts,
            } => tracing::event!(
                name: "throttle.rejected",
                target: "failguard",
                tracing::Level::DEBUG,
                policy = "adaptive-throttle",
                name = name.as_str(),
                probability,
                requests,
                accepts,
                "adaptive throttle rejected a request locally"
            ),
        }
    }
}
