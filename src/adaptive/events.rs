//! What happens to an adaptive limit, as [`Event`](crate::events::Event)s report it.

use std::time::Duration;

use crate::Name;

/// An adaptive limit's event, in [`EventKind::Adaptive`](crate::events::EventKind::Adaptive).
///
/// ```
/// use failguard::adaptive::AdaptiveEvent;
/// let event = AdaptiveEvent::Rejected { limit: 20, in_flight: 20, waited: false };
/// assert!(!event.is_per_call());
/// assert!(AdaptiveEvent::Admitted.is_per_call());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdaptiveEvent {
    /// A call got a place. Per call: only for listeners that ask.
    Admitted,
    /// The limit had no room for a call (`tracing`: `adaptive.rejected`, WARN).
    Rejected {
        /// The limit then.
        limit: usize,
        /// The calls in flight then.
        in_flight: usize,
        /// Whether the call had waited its whole `max_wait`.
        waited: bool,
    },
    /// The algorithm moved the limit, after a window of calls (`tracing`:
    /// `adaptive.limit_changed`, DEBUG).
    LimitChanged {
        /// The limit before.
        from: usize,
        /// The limit now.
        to: usize,
        /// The window's mean round trip.
        rtt: Duration,
        /// The window's drops.
        drops: usize,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl AdaptiveEvent {
    /// Whether it happens to every call.
    pub fn is_per_call(self) -> bool {
        matches!(self, AdaptiveEvent::Admitted)
    }

    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            AdaptiveEvent::Admitted => {}
            AdaptiveEvent::Rejected {
                limit,
                in_flight,
                waited,
            } => tracing::event!(
                name: "adaptive.rejected",
                target: "failguard",
                tracing::Level::WARN,
                policy = "adaptive-limit",
                name = name.as_str(),
                limit = limit as u64,
                in_flight = in_flight as u64,
                waited,
                "adaptive limit rejected a call"
            ),
            AdaptiveEvent::LimitChanged {
                from,
                to,
                rtt,
                drops,
            } => tracing::event!(
                name: "adaptive.limit_changed",
                target: "failguard",
                tracing::Level::DEBUG,
                policy = "adaptive-limit",
                name = name.as_str(),
                from = from as u64,
                to = to as u64,
                rtt_us = rtt.as_micros() as u64,
                drops = drops as u64,
                "adaptive limit moved"
            ),
        }
    }
}
