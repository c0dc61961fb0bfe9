//! What happens to a circuit breaker, as [`Event`](crate::events::Event)s report it.

use std::time::Duration;

use super::{State, StateChange};
use crate::{Name, Outcome};

/// A circuit breaker's event, in [`EventKind::Breaker`](crate::events::EventKind::Breaker).
///
/// ```
/// use failguard::{Outcome, breaker::{BreakerEvent, State}};
/// let event = BreakerEvent::Recorded { outcome: Outcome::Failure, duration: None };
/// assert!(event.is_per_call());
/// assert!(!BreakerEvent::Rejected { state: State::ForcedOpen, retry_after: None }.is_per_call());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum BreakerEvent<'a> {
    /// The breaker changed state (`tracing`: `breaker.transition`, WARN when it opens, INFO
    /// otherwise).
    Transition(&'a StateChange),
    /// The breaker rejected a call (`tracing`: `breaker.rejected`, DEBUG).
    Rejected {
        /// The state that turned the call away: [`Open`](State::Open),
        /// [`HalfOpen`](State::HalfOpen) (every probe permit taken) or
        /// [`ForcedOpen`](State::ForcedOpen).
        state: State,
        /// When to come back, as the rejection says.
        retry_after: Option<Duration>,
    },
    /// The breaker recorded how an admitted call ended. Per call: only for listeners that ask.
    Recorded {
        /// The call's outcome as the classifier judged it (never `Ignored`: those count
        /// nowhere and are not reported).
        outcome: Outcome,
        /// How long the call took, when the breaker timed it (slow-call tracking on).
        duration: Option<Duration>,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl BreakerEvent<'_> {
    /// Whether it happens to every call.
    pub fn is_per_call(self) -> bool {
        matches!(self, BreakerEvent::Recorded { .. })
    }

    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            BreakerEvent::Transition(change) => {
                macro_rules! transition {
                    ($level:expr) => {
                        tracing::event!(
                            name: "breaker.transition",
                            target: "failguard",
                            $level,
                            policy = "circuit-breaker",
                            name = name.as_str(),
                            from = change.from.as_str(),
                            to = change.to.as_str(),
                            failure_rate = change.failure_rate,
                            slow_call_rate = change.slow_call_rate,
                            "circuit breaker changed state"
                        )
                    };
                }
                if matches!(change.to, State::Open | State::ForcedOpen) {
                    transition!(tracing::Level::WARN);
                } else {
                    transition!(tracing::Level::INFO);
                }
            }
            BreakerEvent::Rejected { retry_after, .. } => tracing::event!(
                name: "breaker.rejected",
                target: "failguard",
                tracing::Level::DEBUG,
                policy = "circuit-breaker",
                name = name.as_str(),
                retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                "circuit breaker rejected a call"
            ),
            BreakerEvent::Recorded { .. } => {}
        }
    }
}
