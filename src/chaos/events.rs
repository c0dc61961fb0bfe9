//! What happens to a chaos policy, as [`Event`](crate::events::Event)s report it.

use std::time::Duration;

use crate::Name;

/// A chaos policy's event, in [`EventKind::Chaos`](crate::events::EventKind::Chaos).
///
/// ```
/// use std::time::Duration;
/// use failguard::chaos::ChaosEvent;
/// let event = ChaosEvent::InjectedLatency { delay: Duration::from_millis(80) };
/// assert_ne!(event, ChaosEvent::InjectedError);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChaosEvent {
    /// A call was failed with an injected error (`tracing`: `chaos.injected`, INFO,
    /// `fault = "error"`).
    InjectedError,
    /// A call was delayed (`tracing`: `chaos.injected`, INFO, `fault = "latency"`, `delay_ms`).
    InjectedLatency {
        /// How long it was held before it ran.
        delay: Duration,
    },
    /// A call was answered with an injected result, without running (`tracing`:
    /// `chaos.injected`, INFO, `fault = "result"`).
    InjectedResult,
}

impl ChaosEvent {
    /// The fault's name in `tracing`: `"error"`, `"latency"` or `"result"`.
    ///
    /// ```
    /// assert_eq!(failguard::chaos::ChaosEvent::InjectedError.fault(), "error");
    /// ```
    pub fn fault(self) -> &'static str {
        match self {
            ChaosEvent::InjectedError => "error",
            ChaosEvent::InjectedLatency { .. } => "latency",
            ChaosEvent::InjectedResult => "result",
        }
    }

    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        tracing::event!(
            name: "chaos.injected",
            target: "failguard",
            tracing::Level::INFO,
            policy = "chaos",
            name = name.as_str(),
            fault = self.fault(),
            delay_ms = match self {
                ChaosEvent::InjectedLatency { delay } => Some(delay.as_millis() as u64),
                _ => None,
            },
            "chaos injected a fault"
        );
    }
}
