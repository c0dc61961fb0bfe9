//! What happens to a queue, as [`Event`](crate::events::Event)s report it.

use std::time::Duration;

use crate::Name;

/// A queue's event, in [`EventKind::Queue`](crate::events::EventKind::Queue).
///
/// ```
/// use failguard::queue::QueueEvent;
/// let event = QueueEvent::Shed { reason: "rejected_newest", queued: 8, retry_after: None };
/// assert!(matches!(event, QueueEvent::Shed { queued: 8, .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueEvent {
    /// The queue failed an item instead of running it (`tracing`: `queue.shed`, WARN).
    Shed {
        /// `"rejected_newest"`, `"dropped_oldest"`, `"timed_out"` or `"closed"`.
        reason: &'static str,
        /// Items waiting after the decision.
        queued: usize,
        /// The rejection's estimate of the wait, if it has one.
        retry_after: Option<Duration>,
    },
    /// An item's work panicked on a worker; its caller gets `QueueClosed` and the worker keeps
    /// serving (`tracing`: `queue.panicked`, ERROR).
    Panicked,
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
impl QueueEvent {
    pub(crate) fn trace(self, name: &Name) {
        #[cfg(feature = "tracing")]
        match self {
            QueueEvent::Shed {
                reason,
                queued,
                retry_after,
            } => tracing::event!(
                name: "queue.shed",
                target: "failguard",
                tracing::Level::WARN,
                policy = "queue",
                name = name.as_str(),
                reason,
                queued = queued as u64,
                retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                "queue shed an item"
            ),
            QueueEvent::Panicked => tracing::event!(
                name: "queue.panicked",
                target: "failguard",
                tracing::Level::ERROR,
                policy = "queue",
                name = name.as_str(),
                "queued work panicked"
            ),
        }
    }
}

/// Reports a shed item.
pub(crate) fn shed(
    config: &super::core::Config,
    reason: &'static str,
    queued: usize,
    retry_after: Option<Duration>,
) {
    let event = QueueEvent::Shed {
        reason,
        queued,
        retry_after,
    };
    config
        .sinks
        .emit(&config.name, crate::events::EventKind::Queue(event));
}

/// Reports work that panicked.
pub(crate) fn panicked(config: &super::core::Config) {
    config.sinks.emit(
        &config.name,
        crate::events::EventKind::Queue(QueueEvent::Panicked),
    );
}
