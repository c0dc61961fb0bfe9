//! What happens to an instance's link to the fleet, as [`Event`](crate::events::Event)s
//! report it.

use crate::Name;

/// A [`Fleet`](super::Fleet)'s event, in [`EventKind::Fleet`](crate::events::EventKind::Fleet).
/// The event's name is the instance's id, or for a quorum's events the breaker's name.
///
/// ```
/// use failguard::fleet::FleetEvent;
/// assert_ne!(FleetEvent::Degraded { timed_out: true }, FleetEvent::Rejoined);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FleetEvent {
    /// A round trip to the store failed or took longer than the bound: the instance serves on
    /// local state until the store answers again (`tracing`: `fleet.degraded`, WARN).
    Degraded {
        /// Whether it took too long (else the store refused or the connection failed).
        timed_out: bool,
    },
    /// The store answered again after failing (`tracing`: `fleet.rejoined`, INFO).
    Rejoined,
    /// At least the quorum of the fleet reports this breaker open: this instance rejects calls
    /// too (`tracing`: `fleet.quorum_opened`, WARN).
    QuorumOpened {
        /// Instances reporting.
        live: u32,
        /// Of those, open.
        open: u32,
    },
    /// Fewer than the quorum report open any more (`tracing`: `fleet.quorum_closed`, INFO).
    QuorumClosed {
        /// Instances reporting.
        live: u32,
        /// Of those, open.
        open: u32,
    },
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl FleetEvent {
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            FleetEvent::Degraded { timed_out } => tracing::event!(
                name: "fleet.degraded",
                target: "failguard",
                tracing::Level::WARN,
                policy = "fleet",
                name = name.as_str(),
                timed_out,
                "the fleet's store failed: serving on local state"
            ),
            FleetEvent::QuorumOpened { live, open } => tracing::event!(
                name: "fleet.quorum_opened",
                target: "failguard",
                tracing::Level::WARN,
                policy = "fleet",
                name = name.as_str(),
                live,
                open,
                "a quorum of the fleet reports this breaker open"
            ),
            FleetEvent::QuorumClosed { live, open } => tracing::event!(
                name: "fleet.quorum_closed",
                target: "failguard",
                tracing::Level::INFO,
                policy = "fleet",
                name = name.as_str(),
                live,
                open,
                "fewer than the quorum report this breaker open"
            ),
            FleetEvent::Rejoined => tracing::event!(
                name: "fleet.rejoined",
                target: "failguard",
                tracing::Level::INFO,
                policy = "fleet",
                name = name.as_str(),
                "the fleet's store answers again"
            ),
        }
    }
}
