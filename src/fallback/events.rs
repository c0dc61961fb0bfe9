//! What happens to a fallback, as [`Event`](crate::events::Event)s report it.

use crate::Name;

/// A fallback's event, in [`EventKind::Fallback`](crate::events::EventKind::Fallback).
///
/// ```
/// use failguard::fallback::FallbackEvent;
/// let event = FallbackEvent::Applied { rejection: Some("timeout") };
/// assert!(matches!(event, FallbackEvent::Applied { .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FallbackEvent {
    /// The fallback replaced an error (`tracing`: `fallback.applied`, INFO).
    Applied {
        /// The policy whose rejection it replaced (`"timeout"`, ...), or `None` for the
        /// operation's own error.
        rejection: Option<&'static str>,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl FallbackEvent {
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            FallbackEvent::Applied { rejection } => tracing::event!(
                name: "fallback.applied",
                target: "failguard",
                tracing::Level::INFO,
                policy = "fallback",
                name = name.as_str(),
                rejection,
                "fallback replaced a failed call"
            ),
        }
    }
}
