//! Fleet-wide state on Redis or Valkey (feature `redis`): limits that hold across every
//! instance of a service, with local state always in charge of the hot path.
//!
//! A service runs as many instances. A third-party API limited to 100 requests a second across
//! the fleet gets 100 × N when each instance limits alone. [`Fleet`] connects the instances
//! through one Redis (or Valkey, its protocol twin), and its policies keep the shared figures
//! there, updated atomically by server-side scripts, while each call is decided locally:
//!
//! - **[`GlobalRateLimiter`]**: the limit's GCRA state lives in Redis; an instance *leases* a
//!   batch of permits in one round trip and serves calls from the lease, so only one call in
//!   `lease` pays a round trip.
//! - **A fleet [`RetryBudget`](crate::retry::RetryBudget)** ([`Fleet::retry_budget`]):
//!   requests and retries counted per instance, reported in batches and summed per time slice
//!   in the store, so a retry storm is bounded for the fleet, not per instance.
//! - **[`FleetBreaker`]**: each instance's breaker trips on its own evidence and reports its
//!   state with a heartbeat; an instance also opens while a quorum of the live instances
//!   report open, so a dependency that every instance sees failing is found once. One sick
//!   instance never opens the others (at least two must agree).
//!
//! # Redis is never in charge of availability
//!
//! No call waits on Redis longer than the fleet's [`bound`](FleetBuilder::bound) (default
//! 50 ms). When a round trip fails or takes longer, the instance falls back to its local policy
//! (a [`RateLimiter`](crate::RateLimiter) of its own), reports [`FleetEvent::Degraded`], keeps
//! serving, and tries the store again after [`retry_every`](FleetBuilder::retry_every) (default
//! 1 s), reporting [`FleetEvent::Rejoined`] when it answers. The connection is made lazily and
//! remade by itself: an instance that starts while Redis is down serves on local state from its
//! first call.
//!
//! # Examples
//!
//! ```no_run
//! use std::time::Duration;
//! use failguard::fleet::Fleet;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let fleet = Fleet::builder("redis://127.0.0.1:6379/")
//!     .instance(std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into()))
//!     .bound(Duration::from_millis(20))
//!     .build()?;
//! // 100 a second across every instance; each leases 10 at a time.
//! let partner = fleet.rate_limiter("partner-api").per_second(100).lease(10).build()?;
//! let answer = partner.call(|| async { Ok::<_, std::io::Error>("called") }).await?;
//! # let _ = answer;
//! # Ok(())
//! # }
//! ```

mod apply;
mod breaker;
mod budget;
mod events;
mod future;
#[cfg(feature = "tower")]
mod layer;
mod rate_limit;

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::time::Instant;

pub use self::breaker::{FleetBreaker, FleetBreakerBuilder, FleetView, Gate as QuorumGate, Quorum};
pub(crate) use self::budget::BudgetShare;
pub use self::budget::FleetRetryBudgetBuilder;
pub use self::events::FleetEvent;
pub use self::future::{GlobalLimitCall, GloballyLimited, QuorumCall, QuorumGuarded};
#[cfg(feature = "tower")]
pub use self::layer::{FleetLayer, FleetService};
pub use self::rate_limit::{GlobalRateLimiter, GlobalRateLimiterBuilder};
use crate::{
    ConfigError, Name,
    events::{EventKind, Listener, Sinks},
};

const DEFAULT_BOUND: Duration = Duration::from_millis(50);
const DEFAULT_RETRY_EVERY: Duration = Duration::from_secs(1);
const DEFAULT_PREFIX: &str = "failguard";

/// This instance's link to the fleet's shared store: the connection, the instance's id, and how
/// long any call may wait on the store. A cheap `Clone` handle; every policy made from it shares
/// its connection and its view of the store's health.
///
/// See the [module docs](self) for what happens when the store is slow or gone.
///
/// # Examples
///
/// ```
/// use failguard::fleet::Fleet;
/// // Connecting is lazy: building never waits on the store.
/// let fleet = Fleet::builder("redis://127.0.0.1:1/").instance("pod-a").build()?;
/// assert_eq!(fleet.instance(), "pod-a");
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Fleet {
    shared: Arc<Shared>,
}

struct Shared {
    client: redis::Client,
    config: ConnectionManagerConfig,
    /// Made at the first round trip (it needs the runtime, which `build()` does not).
    conn: std::sync::OnceLock<ConnectionManager>,
    instance: Name,
    prefix: String,
    bound: Duration,
    retry_every: Duration,
    base: Instant,
    /// Nanoseconds after `base` until which the store is not asked (it failed last); 0: healthy.
    degraded_until: AtomicU64,
    degraded: AtomicBool,
    sinks: Sinks,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("instance", &self.shared.instance)
            .field("prefix", &self.shared.prefix)
            .field("bound", &self.shared.bound)
            .field("degraded", &self.is_degraded())
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// A builder for the store at `url` (`redis://host:port/db`, `rediss://` is not built in).
    ///
    /// ```
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// assert!(!fleet.is_degraded());
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder(url: impl Into<String>) -> FleetBuilder {
        FleetBuilder {
            url: url.into(),
            instance: None,
            prefix: DEFAULT_PREFIX.to_string(),
            bound: DEFAULT_BOUND,
            retry_every: DEFAULT_RETRY_EVERY,
            sinks: Sinks::default(),
        }
    }

    /// This instance's id, as the fleet knows it.
    ///
    /// ```
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").instance("b").build()?;
    /// assert_eq!(fleet.instance(), "b");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn instance(&self) -> &Name {
        &self.shared.instance
    }

    /// Whether the store failed its last round trip and the instance is serving on local state.
    ///
    /// ```
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// assert!(!fleet.is_degraded()); // nothing has failed yet
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn is_degraded(&self) -> bool {
        self.shared.degraded.load(Relaxed)
    }

    /// A global rate limiter named `name`: every instance that builds one of that name on the
    /// same store shares its limit.
    ///
    /// ```
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let limiter = fleet.rate_limiter("partner").per_second(50).build()?;
    /// assert_eq!(limiter.name(), "partner");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn rate_limiter(&self, name: impl Into<Name>) -> GlobalRateLimiterBuilder {
        GlobalRateLimiterBuilder::new(self.clone(), name.into())
    }

    /// A breaker for this instance, `local`, that also opens while a quorum of the fleet reports
    /// the breaker of the same name open (see [`FleetBreaker`]).
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let local = failguard::CircuitBreaker::builder().name("db").build()?;
    /// let breaker = fleet.breaker(local).start().await?;
    /// # let _ = breaker;
    /// # Ok(())
    /// # }
    /// ```
    pub fn breaker<C: Clone + Send + Sync + 'static>(
        &self,
        local: crate::CircuitBreaker<C>,
    ) -> FleetBreakerBuilder<C> {
        FleetBreakerBuilder::new(self.clone(), local)
    }

    /// A [`RetryBudget`](crate::retry::RetryBudget) kept across the fleet: `template`'s
    /// settings (percent, minimum per second, window), applied to the requests and retries of
    /// every instance that makes a budget of this `name`, so "retries at most 10% of requests"
    /// holds for the fleet rather than for each instance.
    ///
    /// Each instance counts its requests and retries locally (one atomic add a request) and
    /// reports them every [`sync_every`](FleetRetryBudgetBuilder::sync_every); the store sums
    /// them per slice of its own clock over the window and grants the instance a share of what
    /// is left, which it spends until its next report. Every grant is held against the fleet's
    /// balance until its instance reports again (then what it spent counts, and the rest goes
    /// back), so the grants never add up to more than the balance: the fleet's retries stay
    /// within its budget. A report sent again after a lost answer is not counted twice. While
    /// the store is slow or gone the local budget (the same settings, this instance alone)
    /// decides.
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// use failguard::{Retry, retry::RetryBudget};
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let budget = fleet
    ///     .retry_budget("partner-api", RetryBudget::builder().percent(10.0).build()?)
    ///     .start()
    ///     .await?;
    /// let retry = Retry::builder().max_attempts(3).budget(budget).build()?;
    /// # let _ = retry;
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_budget(
        &self,
        name: impl Into<Name>,
        template: crate::retry::RetryBudget,
    ) -> FleetRetryBudgetBuilder {
        FleetRetryBudgetBuilder::new(self.clone(), name.into(), template)
    }

    /// The store's key for `kind` of the policy `name`.
    pub(crate) fn key(&self, kind: &str, name: &Name) -> String {
        format!("{}:{kind}:{}", self.shared.prefix, name.as_str())
    }

    /// Whether the store may be asked now: healthy, or its back-off after a failure is over.
    pub(crate) fn may_ask(&self) -> bool {
        let until = self.shared.degraded_until.load(Relaxed);
        until == 0 || self.at(Instant::now()) >= until
    }

    /// Runs `f` on the connection, giving up at `deadline` (within the fleet's bound). A failure
    /// starts (or extends) the back-off; a success after failures ends it.
    pub(crate) async fn ask<T, F, Fut>(&self, deadline: Instant, f: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let conn = match self.connection() {
            Ok(conn) => conn,
            Err(_) => return self.failed(false),
        };
        let outcome = tokio::time::timeout_at(deadline, f(conn)).await;
        match outcome {
            Ok(Ok(value)) => {
                self.shared.degraded_until.store(0, Relaxed);
                if self.shared.degraded.swap(false, Relaxed) {
                    self.emit(FleetEvent::Rejoined);
                }
                Some(value)
            }
            Ok(Err(_)) => self.failed(false),
            Err(_) => self.failed(true),
        }
    }

    fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        if let Some(conn) = self.shared.conn.get() {
            return Ok(conn.clone());
        }
        let conn = ConnectionManager::new_lazy_with_config(
            self.shared.client.clone(),
            self.shared.config.clone(),
        )?;
        // Two first round trips at once make two; one is kept.
        Ok(self.shared.conn.get_or_init(|| conn).clone())
    }

    fn failed<T>(&self, timed_out: bool) -> Option<T> {
        let until = self.at(Instant::now() + self.shared.retry_every).max(1);
        self.shared.degraded_until.store(until, Relaxed);
        if !self.shared.degraded.swap(true, Relaxed) {
            self.emit(FleetEvent::Degraded { timed_out });
        }
        None
    }

    fn at(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.shared.base).as_nanos() as u64
    }

    fn emit(&self, event: FleetEvent) {
        self.emit_as(&self.shared.instance, event);
    }

    pub(crate) fn emit_as(&self, name: &Name, event: FleetEvent) {
        self.shared.sinks.emit(name, EventKind::Fleet(event));
    }
}

/// Builds a [`Fleet`]; made by [`Fleet::builder`].
///
/// ```
/// use std::time::Duration;
/// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/")
///     .instance("pod-7")
///     .prefix("myservice")
///     .bound(Duration::from_millis(10))
///     .retry_every(Duration::from_millis(500))
///     .build()?;
/// # let _ = fleet;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug)]
pub struct FleetBuilder {
    url: String,
    instance: Option<Name>,
    prefix: String,
    bound: Duration,
    retry_every: Duration,
    sinks: Sinks,
}

impl FleetBuilder {
    /// This instance's id (a host name, a pod name), in events.
    ///
    /// # Default
    ///
    /// `"instance"`.
    ///
    /// ```
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").instance("a").build()?;
    /// assert_eq!(fleet.instance(), "a");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn instance(mut self, id: impl Into<Name>) -> Self {
        self.instance = Some(id.into());
        self
    }

    /// The prefix of every key failguard writes (`{prefix}:rate:{name}`), so several services
    /// can share one store.
    ///
    /// # Default
    ///
    /// `"failguard"`.
    ///
    /// ```
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").prefix("billing").build()?;
    /// # let _ = fleet;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest any call waits on the store, from 1 ms to 10 s: past it the call goes on with
    /// local state.
    ///
    /// # Default
    ///
    /// 50 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// let err = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/")
    ///     .bound(Duration::ZERO)
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.field(), "fleet.bound");
    /// ```
    pub fn bound(mut self, bound: Duration) -> Self {
        self.bound = bound;
        self
    }

    /// After a failed round trip, how long the instance serves on local state before it asks the
    /// store again, from 1 ms to 1 hour.
    ///
    /// # Default
    ///
    /// 1 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let err = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/")
    ///     .retry_every(Duration::from_secs(7200))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err.field(), "fleet.retry_every");
    /// ```
    pub fn retry_every(mut self, every: Duration) -> Self {
        self.retry_every = every;
        self
    }

    /// Adds a listener for the fleet's [`FleetEvent`]s (degraded, rejoined).
    ///
    /// ```
    /// use failguard::events::Event;
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/")
    ///     .listener(|e: &Event<'_>| eprintln!("{} {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = fleet;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl Listener) -> Self {
        self.sinks.add(Arc::new(listener));
        self
    }

    /// Checks the settings and makes the connection handle; nothing is sent until the first
    /// call needs the store.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `fleet.url` (not a Redis URL), `fleet.bound` or
    /// `fleet.retry_every` (out of range).
    ///
    /// ```
    /// let err = failguard::fleet::Fleet::builder("http://nope").build().unwrap_err();
    /// assert_eq!(err.field(), "fleet.url");
    /// ```
    pub fn build(self) -> Result<Fleet, ConfigError> {
        if self.bound < Duration::from_millis(1) || self.bound > Duration::from_secs(10) {
            return Err(ConfigError::new(
                "fleet.bound",
                format!("must be from 1ms to 10s (got {:?})", self.bound),
            ));
        }
        if self.retry_every < Duration::from_millis(1)
            || self.retry_every > Duration::from_secs(3600)
        {
            return Err(ConfigError::new(
                "fleet.retry_every",
                format!("must be from 1ms to 1 hour (got {:?})", self.retry_every),
            ));
        }
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| ConfigError::new("fleet.url", format!("not a Redis URL: {e}")))?;
        // The manager's own timeouts match the bound, so that a dead connection is noticed and
        // remade; `ask` enforces the bound on every round trip regardless.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.bound))
            .set_response_timeout(Some(self.bound))
            .set_number_of_retries(1);
        Ok(Fleet {
            shared: Arc::new(Shared {
                client,
                config,
                conn: std::sync::OnceLock::new(),
                instance: self.instance.unwrap_or(Name::from_static("instance")),
                prefix: self.prefix,
                bound: self.bound,
                retry_every: self.retry_every,
                base: Instant::now(),
                degraded_until: AtomicU64::new(0),
                degraded: AtomicBool::new(false),
                sinks: self.sinks,
            }),
        })
    }
}
