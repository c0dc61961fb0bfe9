//! What happens to a hedge, as [`Event`](crate::events::Event)s report it.

use std::time::Duration;

use crate::Name;

/// Why a hedged attempt was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HedgeReason {
    /// The attempts in flight took longer than the hedging delay.
    Slow,
    /// An attempt failed (with an outcome the classifier calls a failure) before the delay.
    Failure,
}

impl HedgeReason {
    /// `"slow"` or `"failure"`, as in `tracing`.
    ///
    /// ```
    /// assert_eq!(failguard::hedge::HedgeReason::Slow.as_str(), "slow");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            HedgeReason::Slow => "slow",
            HedgeReason::Failure => "failure",
        }
    }
}

/// A hedge's event, in [`EventKind::Hedge`](crate::events::EventKind::Hedge).
///
/// ```
/// use std::time::Duration;
/// use failguard::hedge::{HedgeEvent, HedgeReason};
/// let event = HedgeEvent::Hedged {
///     attempt: 2,
///     after: Duration::from_millis(12),
///     reason: HedgeReason::Slow,
/// };
/// assert_ne!(event, HedgeEvent::BudgetExhausted { attempts: 1 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HedgeEvent {
    /// A hedged attempt was sent (`tracing`: `hedge.sent`, DEBUG).
    Hedged {
        /// Its number: 2 for the first hedge.
        attempt: u32,
        /// How long after the previous attempt was sent.
        after: Duration,
        /// Why.
        reason: HedgeReason,
    },
    /// A hedged attempt won the race (`tracing`: `hedge.won`, DEBUG).
    HedgeWon {
        /// Its number: 2 for the first hedge.
        attempt: u32,
    },
    /// A hedge was due but the budget was empty: the call stops hedging (`tracing`:
    /// `hedge.budget_exhausted`, WARN).
    BudgetExhausted {
        /// Attempts sent so far.
        attempts: u32,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl HedgeEvent {
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            HedgeEvent::Hedged {
                attempt,
                after,
                reason,
            } => tracing::event!(
                name: "hedge.sent",
                target: "failguard",
                tracing::Level::DEBUG,
                policy = "hedge",
                name = name.as_str(),
                attempt,
                after_ms = after.as_millis() as u64,
                reason = reason.as_str(),
                "sent a hedged attempt"
            ),
            HedgeEvent::HedgeWon { attempt } => tracing::event!(
                name: "hedge.won",
                target: "failguard",
                tracing::Level::DEBUG,
                policy = "hedge",
                name = name.as_str(),
                attempt,
                "a hedged attempt won"
            ),
            HedgeEvent::BudgetExhausted { attempts } => tracing::event!(
                name: "hedge.budget_exhausted",
                target: "failguard",
                tracing::Level::WARN,
                policy = "hedge",
                name = name.as_str(),
                attempts,
                "hedging stopped: the budget is empty"
            ),
        }
    }
}
