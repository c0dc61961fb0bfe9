//! A circuit breaker that also opens when a quorum of the fleet's instances report theirs open.

use std::{
    fmt,
    future::Future,
    sync::{
        Arc, Weak,
        atomic::{AtomicU32, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use tokio::time::Instant;

use super::future::QuorumGuarded;
use super::{Fleet, FleetEvent};
use crate::{
    CircuitBreaker, Classify, ConfigError, Error,
    breaker::{BreakerState, Guarded, State},
    error::CircuitOpen,
    policy::{Apply, CallFuture, OperationFn},
};

const DAY_US: u64 = 86_400_000_000;

/// How many of the live instances must report their breaker open before every instance opens.
///
/// Whatever the rule, at least [`least`](FleetBreakerBuilder::least) instances (default 2) must
/// report open: one sick instance (its own network, its own bug) never opens the others.
///
/// ```
/// use failguard::fleet::Quorum;
/// assert_ne!(Quorum::Majority, Quorum::Count(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Quorum {
    /// More than half of the live instances.
    Majority,
    /// At least this many instances.
    Count(u32),
    /// At least this fraction of the live instances (0.0 to 1.0, rounded up).
    Fraction(f64),
}

/// A [`CircuitBreaker`] of this instance that also opens while a quorum of the fleet reports
/// theirs open: a dependency that every instance sees failing is found once, not once per
/// instance, and one instance's own trouble opens nobody else's.
///
/// # How it works
///
/// Every call goes through the local breaker, which trips on this instance's own evidence as
/// ever. A background task (the one kind failguard runs besides a queue's workers) reports the
/// local state to the store every [`heartbeat`](FleetBreakerBuilder::heartbeat) and reads the
/// fleet's view back in the same round trip: how many instances are live (reported within
/// three heartbeats) and how many report open. While at least the quorum does, calls are
/// rejected with [`Error::CircuitOpen`] whose `retry_after` is when, by the reports' own open
/// times, fewer than the quorum will be open. An instance that starts reads the fleet's view
/// before its first call ([`start`](FleetBreakerBuilder::start)).
///
/// When the store is slow or gone, the fleet's view is dropped and the local breaker alone
/// decides (see [`Fleet`]).
///
/// # Examples
///
/// ```no_run
/// use failguard::{CircuitBreaker, fleet::{Fleet, Quorum}};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let fleet = Fleet::builder("redis://127.0.0.1:6379/").instance("pod-a").build()?;
/// let breaker = fleet
///     .breaker(CircuitBreaker::builder().name("payments").build()?)
///     .quorum(Quorum::Majority)
///     .start()
///     .await?;
/// let paid = breaker.call(|| async { Ok::<_, std::io::Error>("paid") }).await?;
/// # let _ = paid;
/// # Ok(())
/// # }
/// ```
pub struct FleetBreaker<C> {
    pub(crate) inner: Arc<Inner<C>>,
}

impl<C> Clone for FleetBreaker<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

pub(crate) struct Inner<C> {
    pub(crate) local: CircuitBreaker<C>,
    fleet: Fleet,
    key: String,
    script: redis::Script,
    heartbeat: Duration,
    quorum: (i64, u64),
    least: u32,
    pub(crate) gate: Arc<Gate>,
    live: AtomicU32,
    open: AtomicU32,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl<C> Drop for Inner<C> {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
    }
}

impl<C> fmt::Debug for FleetBreaker<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetBreaker")
            .field("name", self.inner.local.name())
            .field("live", &self.inner.live.load(Relaxed))
            .field("open", &self.inner.open.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// The fleet's view of a [`FleetBreaker`], as of the last heartbeat.
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
/// # let breaker = fleet.breaker(failguard::CircuitBreaker::builder().build()?).start().await?;
/// let view = breaker.fleet_view();
/// println!("{} of {} instances report open", view.open, view.live);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetView {
    /// Instances that reported within three heartbeats, this one included.
    pub live: u32,
    /// Of those, how many report their breaker open.
    pub open: u32,
    /// Whether at least the quorum does, so this instance rejects calls.
    pub quorum_open: bool,
}

impl<C> FleetBreaker<C> {
    /// The local breaker (its snapshot, manual control).
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// # let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let breaker = fleet.breaker(failguard::CircuitBreaker::builder().build()?).start().await?;
    /// breaker.local().force_open(); // reported open at the next heartbeat
    /// # Ok(())
    /// # }
    /// ```
    pub fn local(&self) -> &CircuitBreaker<C> {
        &self.inner.local
    }

    /// The fleet's view as of the last heartbeat.
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// # let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let breaker = fleet.breaker(failguard::CircuitBreaker::builder().build()?).start().await?;
    /// assert!(breaker.fleet_view().live >= 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn fleet_view(&self) -> FleetView {
        FleetView {
            live: self.inner.live.load(Relaxed),
            open: self.inner.open.load(Relaxed),
            quorum_open: self.inner.gate.open_for().is_some(),
        }
    }

    /// Calls `f` unless a quorum of the fleet reports open, through the local breaker.
    ///
    /// # Errors
    ///
    /// [`Error::CircuitOpen`] while the fleet's quorum is open (with the fleet's `retry_after`)
    /// or the local breaker is; otherwise as the local breaker's `call`.
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// # let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let breaker = fleet.breaker(failguard::CircuitBreaker::builder().build()?).start().await?;
    /// let n = breaker.call(|| async { Ok::<_, std::io::Error>(1) }).await?;
    /// # let _ = n;
    /// # Ok(())
    /// # }
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn call<F, Fut, T, E>(
        &self,
        f: F,
    ) -> CallFuture<QuorumGuarded<Guarded<OperationFn<F>, &BreakerState, C>, &Gate>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Classify<T, Error<E>> + Clone,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }
}

/// Whether the fleet's quorum holds: what a call checks before the local breaker.
#[derive(Debug)]
pub struct Gate {
    name: crate::Name,
    base: Instant,
    /// Nanoseconds after `base` until which the fleet's quorum holds; 0: it does not.
    until: AtomicU64,
}

impl Gate {
    fn at(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.base).as_nanos() as u64
    }

    /// How long the fleet's quorum still holds, if it does: one load, and a clock read only
    /// while it does.
    #[inline]
    fn open_for(&self) -> Option<Duration> {
        let until = self.until.load(Relaxed);
        if until == 0 {
            return None;
        }
        let now = self.at(Instant::now());
        (now < until).then(|| Duration::from_nanos(until - now))
    }

    /// The rejection of a call while the quorum holds.
    #[inline]
    pub(crate) fn rejection(&self) -> Option<CircuitOpen> {
        self.open_for()
            .map(|retry_after| CircuitOpen::new(self.name.clone(), Some(retry_after)))
    }
}

impl<C: Send + Sync + 'static> Inner<C> {
    /// Reports the local state and reads the fleet's view; drops the view if the store fails.
    async fn sync(&self) {
        let snapshot = self.local.snapshot();
        let open = matches!(snapshot.state, State::Open | State::ForcedOpen);
        let open_us = match snapshot.state {
            // Until reset by hand; reported a day at a time, at every heartbeat.
            State::ForcedOpen => DAY_US,
            _ => snapshot.retry_after.map_or(0, |d| d.as_micros() as u64),
        };
        let deadline = Instant::now() + self.fleet.shared.bound;
        let ttl_us = 3 * self.heartbeat.as_micros() as u64;
        let view = self
            .fleet
            .ask(deadline, |mut conn| async move {
                self.script
                    .key(&self.key)
                    .arg(self.fleet.instance().as_str())
                    .arg(u8::from(open && open_us > 0))
                    .arg(open_us)
                    .arg(ttl_us)
                    .arg(self.quorum.0)
                    .arg(self.quorum.1)
                    .arg(self.least)
                    .invoke_async::<(u32, u32, u64)>(&mut conn)
                    .await
            })
            .await;
        let was_open = self.gate.until.load(Relaxed) != 0;
        let (live, open, wait_us) = view.unwrap_or((0, 0, 0));
        self.live.store(live, Relaxed);
        self.open.store(open, Relaxed);
        let until = match wait_us {
            0 => 0,
            wait => self
                .gate
                .at(Instant::now() + Duration::from_micros(wait.min(DAY_US)))
                .max(1),
        };
        self.gate.until.store(until, Relaxed);
        let name = self.local.name();
        match (was_open, until != 0) {
            (false, true) => self
                .fleet
                .emit_as(name, FleetEvent::QuorumOpened { live, open }),
            (true, false) => self
                .fleet
                .emit_as(name, FleetEvent::QuorumClosed { live, open }),
            _ => {}
        }
    }
}

/// Builds a [`FleetBreaker`]; made by [`Fleet::breaker`].
///
/// ```no_run
/// use std::time::Duration;
/// use failguard::{CircuitBreaker, fleet::{Fleet, Quorum}};
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let fleet = Fleet::builder("redis://127.0.0.1:6379/").build()?;
/// let breaker = fleet
///     .breaker(CircuitBreaker::builder().name("search").build()?)
///     .quorum(Quorum::Fraction(0.3))
///     .least(3)
///     .heartbeat(Duration::from_millis(500))
///     .start()
///     .await?;
/// # let _ = breaker;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FleetBreakerBuilder<C> {
    fleet: Fleet,
    local: CircuitBreaker<C>,
    quorum: Quorum,
    least: u32,
    heartbeat: Duration,
}

impl<C: Clone + Send + Sync + 'static> FleetBreakerBuilder<C> {
    pub(crate) fn new(fleet: Fleet, local: CircuitBreaker<C>) -> Self {
        Self {
            fleet,
            local,
            quorum: Quorum::Majority,
            least: 2,
            heartbeat: Duration::from_secs(1),
        }
    }

    /// How many instances must report open.
    ///
    /// # Default
    ///
    /// [`Quorum::Majority`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// use failguard::fleet::{Fleet, Quorum};
    /// let fleet = Fleet::builder("redis://127.0.0.1:1/").build()?;
    /// let err = fleet
    ///     .breaker(failguard::CircuitBreaker::builder().build()?)
    ///     .quorum(Quorum::Fraction(1.5))
    ///     .start()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.field(), "fleet.breaker.quorum");
    /// # Ok(())
    /// # }
    /// ```
    pub fn quorum(mut self, quorum: Quorum) -> Self {
        self.quorum = quorum;
        self
    }

    /// The fewest instances whose reports can open the others, whatever the quorum: at least 2,
    /// so that one instance alone never does.
    ///
    /// # Default
    ///
    /// 2.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:1/").build()?;
    /// let err = fleet
    ///     .breaker(failguard::CircuitBreaker::builder().build()?)
    ///     .least(1)
    ///     .start()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.field(), "fleet.breaker.least");
    /// # Ok(())
    /// # }
    /// ```
    pub fn least(mut self, least: u32) -> Self {
        self.least = least;
        self
    }

    /// How often the instance reports its state and reads the fleet's, from 10 ms to 1 minute.
    /// A report lives three heartbeats: an instance that stops reporting leaves the count then.
    ///
    /// # Default
    ///
    /// 1 s.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// use std::time::Duration;
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:1/").build()?;
    /// let err = fleet
    ///     .breaker(failguard::CircuitBreaker::builder().build()?)
    ///     .heartbeat(Duration::from_millis(1))
    ///     .start()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.field(), "fleet.breaker.heartbeat");
    /// # Ok(())
    /// # }
    /// ```
    pub fn heartbeat(mut self, heartbeat: Duration) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Checks the settings, reads the fleet's view (within the fleet's bound: the instance
    /// starts knowing what the fleet knows), and starts the heartbeat on the current tokio
    /// runtime. The heartbeat stops when the last handle is dropped.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `fleet.breaker.quorum` (a count of 0, a fraction outside 0.0 to
    /// 1.0), `fleet.breaker.least` (below 2) or `fleet.breaker.heartbeat` (out of range).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (the heartbeat is a task on it).
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let breaker = fleet.breaker(failguard::CircuitBreaker::builder().build()?).start().await?;
    /// # let _ = breaker;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(self) -> Result<FleetBreaker<C>, ConfigError> {
        let quorum = match self.quorum {
            Quorum::Majority => (-1, 0),
            Quorum::Count(n) if n >= 1 => (i64::from(n), 0),
            Quorum::Fraction(f) if f > 0.0 && f <= 1.0 => (0, (f * 1_000_000.0).ceil() as u64),
            other => {
                return Err(ConfigError::new(
                    "fleet.breaker.quorum",
                    format!("a count of at least 1 or a fraction from 0.0 to 1.0 (got {other:?})"),
                ));
            }
        };
        if self.least < 2 {
            return Err(ConfigError::new(
                "fleet.breaker.least",
                format!(
                    "must be at least 2: one instance must never open the others (got {})",
                    self.least
                ),
            ));
        }
        if self.heartbeat < Duration::from_millis(10) || self.heartbeat > Duration::from_secs(60) {
            return Err(ConfigError::new(
                "fleet.breaker.heartbeat",
                format!("must be from 10ms to 1 minute (got {:?})", self.heartbeat),
            ));
        }
        let key = self.fleet.key("breaker", self.local.name());
        let gate = Arc::new(Gate {
            name: self.local.name().clone(),
            base: Instant::now(),
            until: AtomicU64::new(0),
        });
        let inner = Arc::new(Inner {
            local: self.local,
            fleet: self.fleet,
            key,
            script: redis::Script::new(include_str!("report.lua")),
            heartbeat: self.heartbeat,
            quorum,
            least: self.least,
            gate,
            live: AtomicU32::new(0),
            open: AtomicU32::new(0),
            task: std::sync::Mutex::new(None),
        });
        inner.sync().await;
        let weak: Weak<Inner<C>> = Arc::downgrade(&inner);
        let heartbeat = inner.heartbeat;
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(heartbeat);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                inner.sync().await;
            }
        });
        if let Ok(mut slot) = inner.task.lock() {
            *slot = Some(task);
        }
        Ok(FleetBreaker { inner })
    }
}
