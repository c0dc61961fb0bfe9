//! What happens to an instance's link to the fleet, as [`Event`](crate::events::Event)s
//! report it.

use crate::Name;

/// A [`Fleet`](super::Fleet)'s event, in [`EventKind::Fleet`](crate::events::EventKind::Fleet);
/// the event's name is the instance's id.
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
