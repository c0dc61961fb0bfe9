//! What happens to a bulkhead, as [`Event`](crate::events::Event)s report it.

use std::time::Duration;

use super::BulkheadFullReason;
use crate::Name;

/// A bulkhead's event, in [`EventKind::Bulkhead`](crate::events::EventKind::Bulkhead).
///
/// ```
/// use failguard::{bulkhead::{BulkheadEvent, BulkheadFullReason}};
/// let event = BulkheadEvent::Rejected {
///     reason: BulkheadFullReason::Full,
///     max_concurrent: 4,
///     retry_after: None,
/// };
/// assert!(!event.is_per_call());
/// assert!(BulkheadEvent::Admitted.is_per_call());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BulkheadEvent {
    /// A call got a permit. Per call: only for listeners that ask.
    Admitted,
    /// The bulkhead had no permit for a call (`tracing`: `bulkhead.rejected`, WARN).
    Rejected {
        /// Why: no room to wait, or the wait ran out.
        reason: BulkheadFullReason,
        /// The bulkhead's limit of calls in flight.
        max_concurrent: usize,
        /// The rejection's estimate of the wait, if it has one.
        retry_after: Option<Duration>,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl BulkheadEvent {
    /// Whether it happens to every call.
    pub fn is_per_call(self) -> bool {
        matches!(self, BulkheadEvent::Admitted)
    }

    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        if let BulkheadEvent::Rejected {
            reason,
            max_concurrent,
            retry_after,
        } = self
        {
            tracing::event!(
                name: "bulkhead.rejected",
                target: "failguard",
                tracing::Level::WARN,
                policy = "bulkhead",
                name = name.as_str(),
                reason = reason.as_str(),
                max_concurrent = max_concurrent as u64,
                retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                "bulkhead rejected a call"
            );
        }
    }
}
