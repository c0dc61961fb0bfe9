//! What happens to a timeout, as [`Event`](crate::events::Event)s report it.

use std::time::Duration;

use crate::Name;

/// A timeout's event, in [`EventKind::Timeout`](crate::events::EventKind::Timeout).
///
/// ```
/// use std::time::Duration;
/// use failguard::timeout::TimeoutEvent;
/// let event = TimeoutEvent::Elapsed { after: Duration::from_millis(250) };
/// assert!(matches!(event, TimeoutEvent::Elapsed { .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutEvent {
    /// The timeout abandoned a call after `after` (`tracing`: `timeout.elapsed`, WARN).
    Elapsed {
        /// The configured duration.
        after: Duration,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl TimeoutEvent {
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            TimeoutEvent::Elapsed { after } => tracing::event!(
                name: "timeout.elapsed",
                target: "failguard",
                tracing::Level::WARN,
                policy = "timeout",
                name = name.as_str(),
                after_ms = after.as_millis() as u64,
                "call timed out"
            ),
        }
    }
}
