//! [`Gauges`]: the gauges, read from the policies' snapshots.

use std::{
    fmt,
    sync::{Arc, OnceLock},
};

use ::metrics::Gauge;

use super::series::{
    self, ADAPTIVE_CALLS, ADAPTIVE_LIMIT, BREAKER_STATE, BUDGET, BUDGET_AVAILABLE, BULKHEAD_CALLS,
    BULKHEAD_LIMIT, FAILURE_RATE, Of, QUEUE_CAPACITY, QUEUE_ITEMS, STATE,
};
use crate::{
    Bulkhead, CircuitBreaker, Name, Queue,
    breaker::{BreakerSnapshot, State},
    queue::QueueSnapshot,
    retry::RetryBudget,
};

/// The policies whose state is reported as gauges: breaker state and failure rate, bulkhead calls
/// in flight and waiting, queue depth, retry budget headroom. See the [module docs](super) for
/// the table.
///
/// Add the handles once ([`breaker`](Self::breaker), [`bulkhead`](Self::bulkhead),
/// [`queue`](Self::queue), [`budget`](Self::budget)), then call [`record`](Self::record) where
/// the metrics are read: it sets every gauge from a fresh snapshot, so a scrape right after it
/// sees exactly what the snapshots say. The calls pay nothing for it. A cheap `Clone` (the
/// sources are shared), to hand to a `/metrics` handler.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{Bulkhead, CircuitBreaker, metrics::Gauges};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let breaker = CircuitBreaker::builder().name("users").build()?;
/// let bulkhead = Bulkhead::builder().max_concurrent(32).name("users").build()?;
/// let gauges = Gauges::new().breaker(&breaker).bulkhead(&bulkhead);
///
/// // With an exporter that serves its own endpoint, refresh them on a timer.
/// let refresh = tokio::spawn({
///     let gauges = gauges.clone();
///     async move {
///         let mut tick = tokio::time::interval(Duration::from_secs(5));
///         loop {
///             tick.tick().await;
///             gauges.record();
///         }
///     }
/// });
/// # refresh.abort();
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Gauges {
    sources: Vec<Arc<Source>>,
}

struct Source {
    policy: &'static str,
    name: Name,
    read: Read,
    /// Registered at the first `record`, with the recorder in effect then.
    gauges: OnceLock<Box<[Gauge]>>,
}

enum Read {
    Breaker(Box<dyn Fn() -> BreakerSnapshot + Send + Sync>),
    Bulkhead(Bulkhead),
    Queue {
        snapshot: Box<dyn Fn() -> QueueSnapshot + Send + Sync>,
        capacity: usize,
    },
    Budget(RetryBudget),
    Adaptive(Box<dyn Fn() -> crate::adaptive::AdaptiveSnapshot + Send + Sync>),
    #[cfg(feature = "keyed")]
    Keyed(Box<dyn Fn() -> usize + Send + Sync>),
}

const STATES: [State; 5] = [
    State::Closed,
    State::Open,
    State::HalfOpen,
    State::ForcedOpen,
    State::Disabled,
];

impl Gauges {
    /// No policies yet.
    ///
    /// ```
    /// failguard::metrics::Gauges::new().record(); // nothing to record
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    fn with(mut self, policy: &'static str, name: &Name, read: Read) -> Self {
        self.sources.push(Arc::new(Source {
            policy,
            name: name.clone(),
            read,
            gauges: OnceLock::new(),
        }));
        self
    }

    /// Reports `breaker`'s state (`failguard.breaker.state`) and failure rate
    /// (`failguard.breaker.failure_rate`). Keeps a clone of the handle.
    ///
    /// ```
    /// let breaker = failguard::CircuitBreaker::builder().build()?;
    /// let gauges = failguard::metrics::Gauges::new().breaker(&breaker);
    /// # let _ = gauges;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn breaker<C>(self, breaker: &CircuitBreaker<C>) -> Self
    where
        C: Clone + Send + Sync + 'static,
    {
        let name = breaker.name().clone();
        let breaker = breaker.clone();
        let read = Read::Breaker(Box::new(move || breaker.snapshot()));
        self.with("circuit-breaker", &name, read)
    }

    /// Reports `bulkhead`'s calls in flight and waiting (`failguard.bulkhead.calls`) and its limit
    /// (`failguard.bulkhead.limit`). Keeps a clone of the handle.
    ///
    /// ```
    /// let bulkhead = failguard::Bulkhead::new(8)?;
    /// let gauges = failguard::metrics::Gauges::new().bulkhead(&bulkhead);
    /// # let _ = gauges;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn bulkhead(self, bulkhead: &Bulkhead) -> Self {
        let name = bulkhead.name().clone();
        self.with("bulkhead", &name, Read::Bulkhead(bulkhead.clone()))
    }

    /// Reports `queue`'s items waiting and running (`failguard.queue.items`) and its capacity
    /// (`failguard.queue.capacity`). Holds the queue's state, not a handle: the queue still
    /// closes when its last handle is dropped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let queue = failguard::Queue::new(64)?;
    /// let gauges = failguard::metrics::Gauges::new().queue(&queue);
    /// # let _ = gauges;
    /// # Ok(())
    /// # }
    /// ```
    pub fn queue(self, queue: &Queue) -> Self {
        let read = Read::Queue {
            snapshot: Box::new(queue.snapshots()),
            capacity: queue.capacity(),
        };
        self.with("queue", queue.name(), read)
    }

    /// Reports the retries `budget` allows now (`failguard.retry.budget.available`), under
    /// `name` (a budget has no name of its own; it is shared by retries). Keeps a clone of the
    /// handle.
    ///
    /// ```
    /// let budget = failguard::retry::RetryBudget::builder().build()?;
    /// let gauges = failguard::metrics::Gauges::new().budget("api", &budget);
    /// # let _ = gauges;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn budget(self, name: impl Into<Name>, budget: &RetryBudget) -> Self {
        self.with(BUDGET, &name.into(), Read::Budget(budget.clone()))
    }

    /// Reports `limit`'s current limit (`failguard.adaptive.limit`) and its calls in flight and
    /// waiting (`failguard.adaptive.calls`). Keeps a clone of the handle.
    ///
    /// ```
    /// let limit = failguard::adaptive::AdaptiveLimit::builder().build()?;
    /// let gauges = failguard::metrics::Gauges::new().adaptive(&limit);
    /// # let _ = gauges;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn adaptive<C>(self, limit: &crate::adaptive::AdaptiveLimit<C>) -> Self
    where
        C: Clone + Send + Sync + 'static,
    {
        let name = limit.name().clone();
        let limit = limit.clone();
        let read = Read::Adaptive(Box::new(move || limit.snapshot()));
        self.with("adaptive-limit", &name, read)
    }

    /// Reports how many keys `keyed` holds (`failguard.keyed.keys`; feature `keyed`). Keeps a
    /// clone of the handle.
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let tenants: Keyed<String, _> = Keyed::builder(Bulkhead::new(4)?).name("tenants").build()?;
    /// let gauges = failguard::metrics::Gauges::new().keyed(&tenants);
    /// # let _ = gauges;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "keyed")]
    pub fn keyed<K, P>(self, keyed: &crate::keyed::Keyed<K, P>) -> Self
    where
        K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
        P: crate::keyed::KeyedPolicy,
    {
        let name = keyed.name().clone();
        let keyed = keyed.clone();
        self.with("keyed", &name, Read::Keyed(Box::new(move || keyed.len())))
    }

    /// Sets every gauge from a fresh snapshot of its policy. The first call registers the gauges
    /// with the recorder in effect.
    ///
    /// ```
    /// let bulkhead = failguard::Bulkhead::new(8)?;
    /// failguard::metrics::Gauges::new().bulkhead(&bulkhead).record();
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn record(&self) {
        for source in &self.sources {
            source.record();
        }
    }
}

impl Source {
    fn register(&self) -> Box<[Gauge]> {
        series::describe();
        let of = Of {
            policy: self.policy,
            name: &self.name,
        };
        match self.read {
            Read::Breaker(_) => STATES
                .iter()
                .map(|s| of.gauge(BREAKER_STATE, Some((STATE, s.as_str()))))
                .chain([of.gauge(FAILURE_RATE, None)])
                .collect(),
            Read::Bulkhead(_) => Box::new([
                of.gauge(BULKHEAD_CALLS, Some((STATE, "in_flight"))),
                of.gauge(BULKHEAD_CALLS, Some((STATE, "waiting"))),
                of.gauge(BULKHEAD_LIMIT, None),
            ]),
            Read::Queue { .. } => Box::new([
                of.gauge(QUEUE_ITEMS, Some((STATE, "queued"))),
                of.gauge(QUEUE_ITEMS, Some((STATE, "running"))),
                of.gauge(QUEUE_CAPACITY, None),
            ]),
            Read::Budget(_) => Box::new([of.gauge(BUDGET_AVAILABLE, None)]),
            Read::Adaptive(_) => Box::new([
                of.gauge(ADAPTIVE_LIMIT, None),
                of.gauge(ADAPTIVE_CALLS, Some((STATE, "in_flight"))),
                of.gauge(ADAPTIVE_CALLS, Some((STATE, "waiting"))),
            ]),
            #[cfg(feature = "keyed")]
            Read::Keyed(_) => Box::new([of.gauge(series::KEYED_KEYS, None)]),
        }
    }

    fn record(&self) {
        let g = self.gauges.get_or_init(|| self.register());
        match &self.read {
            Read::Breaker(snapshot) => {
                let s = snapshot();
                for (gauge, state) in g.iter().zip(STATES) {
                    gauge.set(if s.state == state { 1.0 } else { 0.0 });
                }
                g[STATES.len()].set(s.failure_rate);
            }
            Read::Bulkhead(bulkhead) => {
                let s = bulkhead.snapshot();
                g[0].set(s.in_flight as f64);
                g[1].set(s.waiting as f64);
                g[2].set(s.max_concurrent as f64);
            }
            Read::Queue { snapshot, capacity } => {
                let s = snapshot();
                g[0].set(s.queued as f64);
                g[1].set(s.running as f64);
                g[2].set(*capacity as f64);
            }
            Read::Budget(budget) => g[0].set(budget.available() as f64),
            Read::Adaptive(snapshot) => {
                let s = snapshot();
                g[0].set(s.limit as f64);
                g[1].set(s.in_flight as f64);
                g[2].set(s.waiting as f64);
            }
            #[cfg(feature = "keyed")]
            Read::Keyed(keys) => g[0].set(keys() as f64),
        }
    }
}

impl fmt::Debug for Gauges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.sources.iter().map(|s| (s.policy, s.name.as_str())))
            .finish()
    }
}
