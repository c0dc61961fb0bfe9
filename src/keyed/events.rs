//! What happens to a keyed container, as [`Event`](crate::events::Event)s report it.

use crate::Name;

/// A [`Keyed`](super::Keyed) container's event, in
/// [`EventKind::Keyed`](crate::events::EventKind::Keyed). Each key's instance reports its own
/// events to its template's listeners.
///
/// ```
/// use failguard::keyed::{EvictReason, KeyedEvent};
/// let event = KeyedEvent::Evicted { reason: EvictReason::Idle, keys: 3 };
/// assert_ne!(event, KeyedEvent::Created);
/// assert_eq!(EvictReason::Full.as_str(), "full");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyedEvent {
    /// A key was used for the first time (or again after its eviction) and got an instance
    /// (`tracing`: `keyed.created`, DEBUG).
    Created,
    /// Keys were dropped (`tracing`: `keyed.evicted`, DEBUG).
    Evicted {
        /// Why.
        reason: EvictReason,
        /// How many, at once (a sweep drops many).
        keys: u64,
    },
}

/// Why a [`Keyed`](super::Keyed) container dropped keys.
///
/// ```
/// assert_eq!(failguard::keyed::EvictReason::Idle.as_str(), "idle");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EvictReason {
    /// Unused for the container's `idle` time.
    Idle,
    /// To make room for a new key, the container holding `max_keys`.
    Full,
}

impl EvictReason {
    /// Its name in events: `"idle"` or `"full"`.
    ///
    /// ```
    /// assert_eq!(failguard::keyed::EvictReason::Full.as_str(), "full");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            EvictReason::Idle => "idle",
            EvictReason::Full => "full",
        }
    }
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl KeyedEvent {
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            KeyedEvent::Created => tracing::event!(
                name: "keyed.created",
                target: "failguard",
                tracing::Level::DEBUG,
                policy = "keyed",
                name = name.as_str(),
                "a new key got its instance"
            ),
            KeyedEvent::Evicted { reason, keys } => tracing::event!(
                name: "keyed.evicted",
                target: "failguard",
                tracing::Level::DEBUG,
                policy = "keyed",
                name = name.as_str(),
                reason = reason.as_str(),
                keys,
                "keys dropped"
            ),
        }
    }
}
