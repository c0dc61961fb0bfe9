//! What happens to a retry, as [`Event`](crate::events::Event)s report it.

use std::time::Duration;

use super::RetryReason;
use crate::Name;

/// A retry's event, in [`EventKind::Retry`](crate::events::EventKind::Retry). (The typed
/// `on_retry` callback gets a [`RetryAttempt`](super::RetryAttempt) with the outcome itself.)
///
/// ```
/// use failguard::retry::RetryEvent;
/// let event = RetryEvent::Exhausted { attempts: 3, reason: "max_attempts" };
/// assert!(matches!(event, RetryEvent::Exhausted { attempts: 3, .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryEvent {
    /// The retry will wait `delay`, then make attempt number `attempt` (2 for the first retry)
    /// (`tracing`: `retry.attempt`, INFO).
    Retrying {
        /// The attempt about to be made.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
        /// Why: the operation's error, a result, or a policy's rejection.
        reason: RetryReason,
    },
    /// The retry gave up and returned the last outcome (`tracing`: `retry.exhausted`, WARN).
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// `"max_attempts"`, `"max_elapsed"`, `"retry_after_beyond_cap"` or `"not_replayable"`.
        reason: &'static str,
    },
    /// The retry budget had no retry left (`tracing`: `retry.budget_exhausted`, WARN).
    BudgetExhausted {
        /// Attempts made.
        attempts: u32,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl RetryEvent {
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            RetryEvent::Retrying {
                attempt,
                delay,
                reason,
            } => tracing::event!(
                name: "retry.attempt",
                target: "failguard",
                tracing::Level::INFO,
                policy = "retry",
                name = name.as_str(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                reason = reason.as_str(),
                rejection = match reason {
                    RetryReason::Rejection(policy) => Some(policy),
                    _ => None,
                },
                "retrying"
            ),
            RetryEvent::Exhausted { attempts, reason } => tracing::event!(
                name: "retry.exhausted",
                target: "failguard",
                tracing::Level::WARN,
                policy = "retry",
                name = name.as_str(),
                attempts,
                reason,
                "retries exhausted"
            ),
            RetryEvent::BudgetExhausted { attempts } => tracing::event!(
                name: "retry.budget_exhausted",
                target: "failguard",
                tracing::Level::WARN,
                policy = "retry",
                name = name.as_str(),
                attempts,
                "retry budget exhausted"
            ),
        }
    }
}
