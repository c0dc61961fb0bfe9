//! One event model: what happens to each policy, as typed values that every sink consumes.
//!
//! A policy reports what happens to it (a rejection and why, a breaker's transition, a retry
//! and what caused it, a shed, a fallback taking over) as an [`Event`]: its name and an
//! [`EventKind`], one variant per policy, whose value is that policy's own event type
//! ([`BreakerEvent`], [`RetryEvent`],
//! ...). Each event goes to every sink through one path: the `tracing` output (with the
//! `tracing` feature; the event names and fields in the crate docs), and the [`Listener`]s given
//! to the policy's builder (`listener(..)` on every builder, and on [`Fallback`](crate::Fallback)).
//!
//! Nothing is reported per successful call unless a sink asks for it: events of every call
//! ([`Event::is_per_call`], such as a breaker recording an outcome) go only to listeners whose
//! [`per_call`](Listener::per_call) says yes, and a policy with no such listener does not build
//! them (one test of a flag it already has in cache).
//!
//! # Examples
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use failguard::{CircuitBreaker, events::{Event, EventKind}, breaker::BreakerEvent};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let breaker = CircuitBreaker::builder()
//!     .listener({
//!         let seen = seen.clone();
//!         move |event: &Event<'_>| {
//!             if let EventKind::Breaker(BreakerEvent::Rejected { .. }) = event.kind {
//!                 seen.lock().unwrap().push(event.name.to_string());
//!             }
//!         }
//!     })
//!     .name("users")
//!     .build()?;
//! breaker.force_open();
//! let _ = breaker.call(|| async { Ok::<_, std::io::Error>(()) }).await;
//! assert_eq!(*seen.lock().unwrap(), ["users"]);
//! # Ok(())
//! # }
//! ```

use std::{fmt, sync::Arc};

use crate::{
    Name, adaptive::AdaptiveEvent, breaker::BreakerEvent, bulkhead::BulkheadEvent,
    chaos::ChaosEvent, fallback::FallbackEvent, hedge::HedgeEvent, queue::QueueEvent,
    rate_limit::RateLimitEvent, retry::RetryEvent, throttle::ThrottleEvent, timeout::TimeoutEvent,
};

/// Something that happened to a policy: the policy's name and what happened.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Event<'a> {
    /// The name of the policy it happened to.
    pub name: &'a Name,
    /// What happened, in the policy's own terms.
    pub kind: EventKind<'a>,
}

/// What happened, one variant per policy (each policy's event type lives in its module).
///
/// ```
/// use failguard::{Name, events::{Event, EventKind}, timeout::TimeoutEvent};
/// let name = Name::from("search");
/// let event = Event::new(&name, EventKind::Timeout(TimeoutEvent::Elapsed {
///     after: std::time::Duration::from_millis(250),
/// }));
/// assert_eq!(event.policy(), "timeout");
/// assert!(!event.is_per_call());
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum EventKind<'a> {
    /// An adaptive limit's event.
    Adaptive(AdaptiveEvent),
    /// A circuit breaker's event.
    Breaker(BreakerEvent<'a>),
    /// A bulkhead's event.
    Bulkhead(BulkheadEvent),
    /// A chaos policy's event (a fault it injected).
    Chaos(ChaosEvent),
    /// A fallback's event.
    Fallback(FallbackEvent),
    /// A hedge's event.
    Hedge(HedgeEvent),
    /// A queue's event.
    Queue(QueueEvent),
    /// A keyed container's event (feature `keyed`).
    #[cfg(feature = "keyed")]
    Keyed(crate::keyed::KeyedEvent),
    /// An instance's link to the fleet's store (feature `redis`).
    #[cfg(feature = "redis")]
    Fleet(crate::fleet::FleetEvent),
    /// A rate limiter's event.
    RateLimit(RateLimitEvent),
    /// A retry's event.
    Retry(RetryEvent),
    /// A timeout's event.
    Timeout(TimeoutEvent),
    /// An adaptive throttle's event.
    Throttle(ThrottleEvent),
}

impl<'a> Event<'a> {
    /// An event of the policy named `name`.
    pub fn new(name: &'a Name, kind: EventKind<'a>) -> Self {
        Self { name, kind }
    }

    /// The kind of policy it happened to, as in `tracing` events and errors: `"circuit-breaker"`,
    /// `"bulkhead"`, `"chaos"`, `"fallback"`, `"hedge"`, `"queue"`, `"keyed"`, `"rate-limiter"`, `"retry"`,
    /// `"timeout"`, `"adaptive-limit"` or `"adaptive-throttle"`.
    pub fn policy(&self) -> &'static str {
        match self.kind {
            EventKind::Adaptive(_) => "adaptive-limit",
            EventKind::Breaker(_) => "circuit-breaker",
            EventKind::Bulkhead(_) => "bulkhead",
            EventKind::Chaos(_) => "chaos",
            EventKind::Fallback(_) => "fallback",
            EventKind::Hedge(_) => "hedge",
            EventKind::Queue(_) => "queue",
            #[cfg(feature = "keyed")]
            EventKind::Keyed(_) => "keyed",
            #[cfg(feature = "redis")]
            EventKind::Fleet(_) => "fleet",
            EventKind::RateLimit(_) => "rate-limiter",
            EventKind::Retry(_) => "retry",
            EventKind::Timeout(_) => "timeout",
            EventKind::Throttle(_) => "adaptive-throttle",
        }
    }

    /// Whether it happens to every call (a breaker recording an outcome, a bulkhead admitting a
    /// call): such events go only to listeners that [ask for them](Listener::per_call).
    pub fn is_per_call(&self) -> bool {
        match self.kind {
            EventKind::Breaker(e) => e.is_per_call(),
            EventKind::Bulkhead(e) => e.is_per_call(),
            EventKind::Adaptive(e) => e.is_per_call(),
            _ => false,
        }
    }

    /// Writes the event to `tracing` under the target `failguard`, with its stable name and
    /// fields; per-call events are not written.
    fn trace(&self) {
        match self.kind {
            EventKind::Adaptive(e) => e.trace(self.name),
            EventKind::Breaker(e) => e.trace(self.name),
            EventKind::Bulkhead(e) => e.trace(self.name),
            EventKind::Chaos(e) => e.trace(self.name),
            EventKind::Fallback(e) => e.trace(self.name),
            EventKind::Hedge(e) => e.trace(self.name),
            EventKind::Queue(e) => e.trace(self.name),
            #[cfg(feature = "keyed")]
            EventKind::Keyed(e) => e.trace(self.name),
            #[cfg(feature = "redis")]
            EventKind::Fleet(e) => e.trace(self.name),
            EventKind::RateLimit(e) => e.trace(self.name),
            EventKind::Retry(e) => e.trace(self.name),
            EventKind::Timeout(e) => e.trace(self.name),
            EventKind::Throttle(e) => e.trace(self.name),
        }
    }
}

/// A sink for a policy's [`Event`]s, given to its builder with `listener(..)`. Every closure
/// `Fn(&Event<'_>)` is one; it is called on the task where the event happens, so it must be
/// quick (count, enqueue, log).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use failguard::events::{Event, Listener};
///
/// /// Counts every call a breaker records, which only a per-call listener sees.
/// struct Calls(AtomicU64);
///
/// impl Listener for Calls {
///     fn on_event(&self, event: &Event<'_>) {
///         if event.is_per_call() {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
///     fn per_call(&self) -> bool {
///         true
///     }
/// }
/// # let _ = Calls(AtomicU64::new(0));
/// ```
pub trait Listener: Send + Sync + 'static {
    /// Called for each event.
    fn on_event(&self, event: &Event<'_>);

    /// Whether to receive the events of every call too ([`Event::is_per_call`]). These cost the
    /// policy a little per call while a listener wants them, nothing otherwise.
    ///
    /// # Default
    ///
    /// `false`.
    fn per_call(&self) -> bool {
        false
    }
}

impl<F> Listener for F
where
    F: Fn(&Event<'_>) + Send + Sync + 'static,
{
    fn on_event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// The listeners of one policy, and whether any wants per-call events. Cloning it (a policy
/// value such as a timeout is cloned with its layers) takes one reference count at most.
#[derive(Clone, Default)]
pub(crate) struct Sinks {
    listeners: Option<Arc<[Arc<dyn Listener>]>>,
    per_call: bool,
}

impl Sinks {
    /// Adds `listener`.
    pub(crate) fn add(&mut self, listener: Arc<dyn Listener>) {
        self.per_call |= listener.per_call();
        let mut listeners = self
            .listeners
            .as_deref()
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        listeners.push(listener);
        self.listeners = Some(listeners.into());
    }

    /// Whether some listener wants per-call events: the policy builds them only then.
    #[inline(always)]
    pub(crate) fn per_call(&self) -> bool {
        self.per_call
    }

    /// Sends `kind`, an event of the policy named `name`, to every sink that wants it.
    ///
    /// With no listener and no `tracing` subscriber taking any event, this is two loads: the
    /// event is not even built (an open breaker rejects every call, and each rejection is an
    /// event).
    #[inline]
    pub(crate) fn emit(&self, name: &Name, kind: EventKind<'_>) {
        if self.listeners.is_none() && !tracing_listens() {
            return;
        }
        self.deliver(name, kind);
    }

    fn deliver(&self, name: &Name, kind: EventKind<'_>) {
        let event = Event { name, kind };
        let per_call = event.is_per_call();
        if !per_call {
            event.trace();
        }
        for listener in self.listeners.iter().flat_map(|l| l.iter()) {
            if !per_call || listener.per_call() {
                listener.on_event(&event);
            }
        }
    }
}

/// Whether a `tracing` subscriber may take some event: tracing's own global level hint, one
/// relaxed load (`OFF` while no subscriber, global or scoped, is registered).
#[inline(always)]
fn tracing_listens() -> bool {
    #[cfg(feature = "tracing")]
    {
        tracing::level_filters::LevelFilter::current() != tracing::level_filters::LevelFilter::OFF
    }
    #[cfg(not(feature = "tracing"))]
    {
        false
    }
}

impl fmt::Debug for Sinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sinks")
            .field("listeners", &self.listeners.as_ref().map_or(0, |l| l.len()))
            .field("per_call", &self.per_call)
            .finish()
    }
}
