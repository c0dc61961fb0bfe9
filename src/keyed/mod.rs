//! Per-key policies: a breaker per host, a rate limit per tenant, a bulkhead per endpoint, in
//! one container with a bound on memory.
//!
//! A service that calls many hosts wants each host judged alone: one host failing must not open
//! the breaker of the others, one tenant's burst must not spend another's limit. [`Keyed`]
//! holds one instance of a policy per key, made on the key's first use from a template (a
//! built policy, whose settings each key's instance copies with state of its own, or a closure
//! of the key), and drops instances so that memory stays bounded:
//!
//! - **A maximum number of keys** ([`max_keys`](KeyedBuilder::max_keys), default 10,000). A
//!   new key past it evicts an old one, the least recently and frequently used first
//!   (quick_cache's CLOCK-Pro-like policy, which a scan of one-off keys does not flush).
//! - **Idle eviction** ([`idle`](KeyedBuilder::idle), default 10 minutes): a key unused for
//!   that long is dropped at the next sweep.
//! - **Never by resetting protection.** Neither eviction drops an instance that is not
//!   [`evictable`](KeyedPolicy::evictable): a breaker open before its open duration ends (or
//!   forced open by hand), a bulkhead with calls in flight, a rate limiter that is limiting. So
//!   no eviction turns a tripped breaker back into a healthy one, or hands a limited tenant a
//!   fresh burst. Such instances may hold the container above `max_keys` for as long as they
//!   stay so (an open duration, the calls in flight, the time to repay the limit).
//!
//! Looking up an existing key takes no global lock: the map is split in shards, each behind its
//! own reader-writer lock, and a lookup takes one shard's read lock (no writer waits on a
//! lookup longer than that). Concurrent first uses of one key make one instance: the others
//! wait for it. The happy path allocates nothing; a new key allocates its instance and a copy
//! of the key.
//!
//! # Sweeps and idle timing
//!
//! A lookup marks its key used (one load, and a store when the mark was clear); a sweep clears
//! the marks and drops every key unmarked for `idle` whose policy is evictable. A key is
//! therefore dropped no sooner than `idle` after its last use, and at the first sweep at least
//! `idle` after the sweep that saw that use. Sweeps run, at most every `idle / 4`, when a new
//! key arrives (the moment memory would grow), and whenever you call
//! [`evict_idle`](Keyed::evict_idle) (a health endpoint or a timer may). Nothing runs in the
//! background.
//!
//! # Through tower
//!
//! [`Keyed::layer`] takes a function of the request that gives the key (borrowed from it, so
//! no allocation: `|req: &http::Request<B>| req.uri().host().unwrap_or("")`);
//! [`Keyed::layer_owned`] one that makes it (`u64` tenant ids). Each request goes through its
//! key's instance exactly as through that policy's own layer.
//!
//! # Examples
//!
//! A breaker per host:
//!
//! ```
//! use std::time::Duration;
//! use failguard::{CircuitBreaker, Error, keyed::Keyed};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let breakers: Keyed<String, _> = Keyed::builder(
//!     CircuitBreaker::builder().minimum_calls(2).count_window(10).build()?,
//! )
//! .name_each(|host: &String| format!("upstream {host}"))
//! .max_keys(10_000)
//! .idle(Duration::from_secs(600))
//! .build()?;
//!
//! for _ in 0..2 {
//!     let _ = breakers.call("a.example.com", || async { Err::<(), _>("refused") }).await;
//! }
//! // a.example.com is open; b.example.com is not affected.
//! let a = breakers.call("a.example.com", || async { Ok::<_, &str>(()) }).await;
//! assert!(matches!(a, Err(Error::CircuitOpen(ref open)) if open.name() == "upstream a.example.com"));
//! assert!(breakers.call("b.example.com", || async { Ok::<_, &str>(()) }).await.is_ok());
//! assert_eq!(breakers.len(), 2);
//! # Ok(())
//! # }
//! ```

mod events;
#[cfg(feature = "tower")]
mod layer;
mod policy;
mod slot;

use std::{
    borrow::Borrow,
    fmt,
    hash::Hash,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use quick_cache::{
    DefaultHashBuilder, Lifecycle, UnitWeighter,
    sync::{Cache, GuardResult},
};
use tokio::time::Instant;

pub use self::events::{EvictReason, KeyedEvent};
#[cfg(feature = "tower")]
pub use self::layer::{KeyedLayer, KeyedService, OwnedKey};
pub use self::policy::KeyedPolicy;
use self::slot::Slot;
use crate::{
    ConfigError, Name,
    events::{EventKind, Listener, Sinks},
    policy::{Apply, CallFuture, OperationFn},
};

const DEFAULT_NAME: Name = Name::from_static("keyed");
const DEFAULT_MAX_KEYS: usize = 10_000;
const DEFAULT_IDLE: Duration = Duration::from_secs(600);
const MAX_KEYS: usize = 1 << 30;
const MAX_IDLE: Duration = Duration::from_secs(7 * 24 * 3600);

/// One instance of policy `P` per key `K`, made on first use and dropped when idle or when the
/// container is full, never while dropping would reset its protection (see the
/// [module docs](self)).
///
/// A cheap `Clone` handle: every clone, and every layer made from it, shares one map.
///
/// # Examples
///
/// A rate limit per tenant:
///
/// ```
/// use failguard::{Error, RateLimiter, keyed::Keyed};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let limits: Keyed<u64, RateLimiter> =
///     Keyed::builder(RateLimiter::builder().per_second(2).burst(2).build()?).build()?;
/// let call = |tenant: u64| limits.call(&tenant, || async { Ok::<_, std::io::Error>(()) });
/// assert!(call(7).await.is_ok());
/// assert!(call(7).await.is_ok());
/// assert!(matches!(call(7).await, Err(Error::RateLimited(_)))); // tenant 7 spent its burst
/// assert!(call(8).await.is_ok()); // tenant 8 has its own
/// # Ok(())
/// # }
/// ```
pub struct Keyed<K, P> {
    shared: Arc<Shared<K, P>>,
}

type Map<K, P> = Cache<K, Arc<Slot<P>>, UnitWeighter, DefaultHashBuilder, Pinning>;
type Make<K, P> = Box<dyn Fn(&K) -> P + Send + Sync>;
type NameEach<K> = Box<dyn Fn(&K) -> Name + Send + Sync>;

struct Shared<K, P> {
    map: Map<K, P>,
    make: Make<K, P>,
    name: Name,
    max_keys: usize,
    /// Nanoseconds.
    idle: u64,
    sweep_every: u64,
    base: Instant,
    /// Nanoseconds after `base`: when a new key may start the next sweep.
    next_sweep: AtomicU64,
    counts: Arc<Counts>,
    sinks: Sinks,
}

#[derive(Default)]
struct Counts {
    created: AtomicU64,
    evicted_idle: AtomicU64,
    evicted_full: AtomicU64,
}

impl<K, P> Clone for Keyed<K, P> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<K, P> fmt::Debug for Keyed<K, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyed")
            .field("name", &self.shared.name)
            .field("max_keys", &self.shared.max_keys)
            .finish_non_exhaustive()
    }
}

/// What a [`Keyed`] container holds, read without a lock.
///
/// ```
/// use failguard::{Bulkhead, keyed::Keyed};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let bulkheads: Keyed<String, _> = Keyed::builder(Bulkhead::new(4)?).build()?;
/// bulkheads.call("orders", || async { Ok::<_, std::io::Error>(()) }).await.unwrap();
/// let snapshot = bulkheads.snapshot();
/// assert_eq!((snapshot.keys, snapshot.created, snapshot.max_keys), (1, 1, 10_000));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct KeyedSnapshot {
    /// The container's name.
    pub name: Name,
    /// Keys held now.
    pub keys: usize,
    /// The bound on keys (see [`KeyedBuilder::max_keys`]).
    pub max_keys: usize,
    /// Instances made so far (one per first use of a key, or use after its eviction).
    pub created: u64,
    /// Keys dropped for being idle so far.
    pub evicted_idle: u64,
    /// Keys dropped to make room for new ones so far.
    pub evicted_full: u64,
}

impl<K, P> Keyed<K, P>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    P: KeyedPolicy,
{
    /// A builder whose instances copy `template`'s settings (each with state of its own, and
    /// the template's name unless [`name_each`](KeyedBuilder::name_each) says otherwise).
    /// The template itself is never called.
    ///
    /// ```
    /// use failguard::{CircuitBreaker, keyed::Keyed};
    /// let breakers: Keyed<String, _> =
    ///     Keyed::builder(CircuitBreaker::builder().build()?).max_keys(1_000).build()?;
    /// assert_eq!(breakers.snapshot().max_keys, 1_000);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder(template: P) -> KeyedBuilder<K, P> {
        KeyedBuilder::new(Template::Policy {
            template,
            name_each: None,
        })
    }

    /// A builder whose instances `make` makes from their key: settings that differ per key
    /// (a larger limit for some tenants). `make` runs once per new key, while other first
    /// uses of that key wait.
    ///
    /// ```
    /// use failguard::{RateLimiter, keyed::Keyed};
    ///
    /// let basic = RateLimiter::builder().per_second(10).build()?;
    /// let premium = RateLimiter::builder().per_second(100).build()?;
    /// let limits: Keyed<String, RateLimiter> = Keyed::with(move |tenant: &String| {
    ///     use failguard::keyed::KeyedPolicy;
    ///     let template = if tenant.starts_with("premium-") { &premium } else { &basic };
    ///     template.fresh(Some(&tenant.clone().into()))
    /// })
    /// .build()?;
    /// assert_eq!(limits.get("premium-acme").snapshot().burst, 100);
    /// assert_eq!(limits.get("free-joe").snapshot().burst, 10);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn with<F>(make: F) -> KeyedBuilder<K, P>
    where
        F: Fn(&K) -> P + Send + Sync + 'static,
    {
        KeyedBuilder::new(Template::Fn(Box::new(make)))
    }

    /// The instance for `key`, made now if the key is new.
    ///
    /// ```
    /// use failguard::{CircuitBreaker, keyed::Keyed};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let breakers: Keyed<String, _> = Keyed::builder(CircuitBreaker::builder().build()?).build()?;
    /// breakers.get("db-1").force_open();
    /// assert_eq!(breakers.get("db-1").state(), failguard::breaker::State::ForcedOpen);
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> P
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.slot(key).policy.clone()
    }

    /// Calls `f` through `key`'s instance (made now if the key is new), as that policy's own
    /// `call` would. The future owns what it needs: it is `'static` when `f` is.
    ///
    /// # Cancel safety
    ///
    /// As the instance's own call: dropping the future gives back whatever it holds.
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let bulkheads: Keyed<String, _> = Keyed::builder(Bulkhead::new(8)?).build()?;
    /// let rows = bulkheads.call("reports", || async { Ok::<_, std::io::Error>(3) }).await;
    /// assert_eq!(rows.unwrap(), 3);
    /// # Ok(())
    /// # }
    /// ```
    #[inline]
    pub fn call<Q, F>(&self, key: &Q, f: F) -> CallFuture<<P as Apply<OperationFn<F>>>::Output>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        P: Apply<OperationFn<F>>,
    {
        CallFuture::new(self.get(key).apply(OperationFn::new(f)))
    }

    /// Drops `key`'s instance now, whatever its state (a breaker forced open by hand, say);
    /// returns it, if there was one.
    ///
    /// ```
    /// use failguard::{CircuitBreaker, keyed::Keyed};
    /// let breakers: Keyed<String, _> = Keyed::builder(CircuitBreaker::builder().build()?).build()?;
    /// breakers.get("old-host").force_open();
    /// assert!(breakers.remove("old-host").is_some());
    /// assert_eq!(breakers.len(), 0);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<P>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shared
            .map
            .remove(key)
            .map(|(_, slot)| slot.policy.clone())
    }

    /// Every key and its instance, for a health endpoint (`snapshot()` each), in no particular
    /// order. Idle keys are listed until a sweep drops them; call
    /// [`evict_idle`](Self::evict_idle) first to list only live ones.
    ///
    /// ```
    /// use failguard::{CircuitBreaker, keyed::Keyed};
    /// let breakers: Keyed<String, _> = Keyed::builder(CircuitBreaker::builder().build()?).build()?;
    /// breakers.get("a");
    /// breakers.get("b");
    /// let mut health: Vec<(String, &str)> = breakers
    ///     .entries()
    ///     .into_iter()
    ///     .map(|(host, breaker)| (host, breaker.state().as_str()))
    ///     .collect();
    /// health.sort();
    /// assert_eq!(health, [("a".to_string(), "closed"), ("b".to_string(), "closed")]);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn entries(&self) -> Vec<(K, P)> {
        self.shared
            .map
            .iter()
            .map(|(key, slot)| (key, slot.policy.clone()))
            .collect()
    }

    /// Runs a sweep now: drops every key unused for `idle` whose instance is evictable, and
    /// returns how many it dropped. (Sweeps also run by themselves when new keys arrive.)
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let bulkheads: Keyed<String, _> =
    ///     Keyed::builder(Bulkhead::new(8)?).idle(Duration::from_secs(60)).build()?;
    /// bulkheads.get("a");
    /// tokio::time::advance(Duration::from_secs(60)).await;
    /// assert_eq!(bulkheads.evict_idle(), 1);
    /// assert!(bulkheads.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn evict_idle(&self) -> usize {
        self.shared.sweep(Instant::now())
    }

    /// How many keys it holds.
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let bulkheads: Keyed<u32, _> = Keyed::builder(Bulkhead::new(1)?).build()?;
    /// bulkheads.get(&1);
    /// assert_eq!(bulkheads.len(), 1);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.shared.map.len()
    }

    /// Whether it holds no key.
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let bulkheads: Keyed<u32, _> = Keyed::builder(Bulkhead::new(1)?).build()?;
    /// assert!(bulkheads.is_empty());
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.shared.map.is_empty()
    }

    /// Its figures, read without a lock.
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let bulkheads: Keyed<u32, _> = Keyed::builder(Bulkhead::new(1)?).name("tenants").build()?;
    /// assert_eq!(bulkheads.snapshot().name, "tenants");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn snapshot(&self) -> KeyedSnapshot {
        let counts = &self.shared.counts;
        KeyedSnapshot {
            name: self.shared.name.clone(),
            keys: self.shared.map.len(),
            max_keys: self.shared.max_keys,
            created: counts.created.load(Relaxed),
            evicted_idle: counts.evicted_idle.load(Relaxed),
            evicted_full: counts.evicted_full.load(Relaxed),
        }
    }

    /// The container's name.
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let bulkheads: Keyed<u32, _> = Keyed::builder(Bulkhead::new(1)?).build()?;
    /// assert_eq!(bulkheads.name(), "keyed");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.shared.name
    }

    #[inline]
    fn slot<Q>(&self, key: &Q) -> Arc<Slot<P>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        match self.shared.map.get_value_or_guard(key, None) {
            GuardResult::Value(slot) => {
                slot.touch();
                slot
            }
            GuardResult::Guard(guard) => {
                let (slot, now) = self.shared.create(key);
                let _ = guard.insert(slot.clone());
                slot.settle();
                self.shared.maybe_sweep(now);
                slot
            }
            // Only with a wait limit, and there is none: an instance of its own all the same.
            GuardResult::Timeout => self.shared.create(key).0,
        }
    }
}

impl<K, P> Shared<K, P>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    P: KeyedPolicy,
{
    fn at(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.base).as_nanos() as u64
    }

    #[cold]
    fn create<Q>(&self, key: &Q) -> (Arc<Slot<P>>, Instant)
    where
        Q: ToOwned<Owned = K> + ?Sized,
    {
        let policy = (self.make)(&key.to_owned());
        let now = Instant::now();
        self.counts.created.fetch_add(1, Relaxed);
        self.emit(KeyedEvent::Created);
        (Arc::new(Slot::new(policy, self.at(now))), now)
    }

    fn maybe_sweep(&self, now: Instant) {
        let at = self.at(now);
        let next = self.next_sweep.load(Relaxed);
        // One new key per interval claims the sweep.
        if at >= next
            && self
                .next_sweep
                .compare_exchange(next, at + self.sweep_every, Relaxed, Relaxed)
                .is_ok()
        {
            self.sweep(now);
        }
    }

    fn sweep(&self, now: Instant) -> usize {
        let at = self.at(now);
        let dropped = AtomicU64::new(0);
        self.map.retain(|_, slot| {
            let expired = slot.expired(at, self.idle);
            if expired {
                dropped.fetch_add(1, Relaxed);
            }
            !expired
        });
        let dropped = dropped.into_inner();
        if dropped > 0 {
            self.counts.evicted_idle.fetch_add(dropped, Relaxed);
            self.emit(KeyedEvent::Evicted {
                reason: EvictReason::Idle,
                keys: dropped,
            });
        }
        dropped as usize
    }

    fn emit(&self, event: KeyedEvent) {
        self.sinks.emit(&self.name, EventKind::Keyed(event));
    }
}

/// The map's eviction hooks: instances that are not evictable are pinned; an eviction to make
/// room is counted and reported.
#[derive(Clone)]
struct Pinning {
    sinks: Sinks,
    name: Name,
    counts: Arc<Counts>,
}

impl<K, P: KeyedPolicy> Lifecycle<K, Arc<Slot<P>>> for Pinning {
    type RequestState = ();

    #[inline]
    fn is_pinned(&self, _: &K, slot: &Arc<Slot<P>>) -> bool {
        slot.pinned()
    }

    fn on_evict(&self, _: &mut (), _: K, _: Arc<Slot<P>>) {
        self.counts.evicted_full.fetch_add(1, Relaxed);
        self.sinks.emit(
            &self.name,
            EventKind::Keyed(KeyedEvent::Evicted {
                reason: EvictReason::Full,
                keys: 1,
            }),
        );
    }
}

enum Template<K, P> {
    Policy {
        template: P,
        name_each: Option<NameEach<K>>,
    },
    Fn(Make<K, P>),
}

/// Builds a [`Keyed`] container; made by [`Keyed::builder`] or [`Keyed::with`].
///
/// ```
/// use std::time::Duration;
/// use failguard::{CircuitBreaker, keyed::Keyed};
/// let breakers: Keyed<String, _> = Keyed::builder(CircuitBreaker::builder().build()?)
///     .name("upstreams")
///     .name_each(|host: &String| format!("upstream {host}"))
///     .max_keys(5_000)
///     .idle(Duration::from_secs(300))
///     .build()?;
/// assert_eq!(breakers.get("db").name(), "upstream db");
/// # Ok::<(), failguard::ConfigError>(())
/// ```
pub struct KeyedBuilder<K, P> {
    template: Template<K, P>,
    name: Name,
    max_keys: usize,
    idle: Duration,
    sinks: Sinks,
}

impl<K, P> fmt::Debug for KeyedBuilder<K, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBuilder")
            .field("name", &self.name)
            .field("max_keys", &self.max_keys)
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

impl<K, P> KeyedBuilder<K, P>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    P: KeyedPolicy,
{
    fn new(template: Template<K, P>) -> Self {
        Self {
            template,
            name: DEFAULT_NAME,
            max_keys: DEFAULT_MAX_KEYS,
            idle: DEFAULT_IDLE,
            sinks: Sinks::default(),
        }
    }

    /// The container's name, in its events and snapshot.
    ///
    /// # Default
    ///
    /// `"keyed"`.
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let k: Keyed<u8, _> = Keyed::builder(Bulkhead::new(1)?).name("per-tenant").build()?;
    /// assert_eq!(k.name(), "per-tenant");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = name.into();
        self
    }

    /// Names each key's instance (its events, errors and snapshot) from the key. Only for a
    /// template built with [`Keyed::builder`]; a closure given to [`Keyed::with`] names its
    /// instances itself.
    ///
    /// # Default
    ///
    /// Each instance keeps the template's name.
    ///
    /// ```
    /// use failguard::{CircuitBreaker, keyed::Keyed};
    /// let k: Keyed<u16, _> = Keyed::builder(CircuitBreaker::builder().build()?)
    ///     .name_each(|port: &u16| format!("port {port}"))
    ///     .build()?;
    /// assert_eq!(k.get(&8080).name(), "port 8080");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name_each<F, N>(mut self, name: F) -> Self
    where
        F: Fn(&K) -> N + Send + Sync + 'static,
        N: Into<Name>,
    {
        if let Template::Policy { name_each, .. } = &mut self.template {
            *name_each = Some(Box::new(move |key| name(key).into()));
        }
        self
    }

    /// The most keys held at once, from 1 to 2^30. A new key past it evicts an old, evictable
    /// one; instances that are not evictable may hold the container above it for as long as
    /// they stay so. The bound is kept per shard of the map (a map of fewer than 64 keys has
    /// one shard), so a container may drop keys a little before it holds `max_keys` in all.
    ///
    /// # Default
    ///
    /// 10,000.
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let err = Keyed::<u8, _>::builder(Bulkhead::new(1)?).max_keys(0).build().unwrap_err();
    /// assert_eq!(err.field(), "keyed.max_keys");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// How long a key goes unused before a sweep drops it (if its instance is evictable), from
    /// 1 ms to 7 days. See the [module docs](self) for when sweeps run.
    ///
    /// # Default
    ///
    /// 10 minutes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let err = Keyed::<u8, _>::builder(Bulkhead::new(1)?).idle(Duration::ZERO).build().unwrap_err();
    /// assert_eq!(err.field(), "keyed.idle");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// Adds a listener for the container's [`KeyedEvent`]s (instances made, keys evicted).
    /// Each instance's own events go to the listeners of its template.
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicU32, Ordering}};
    /// use failguard::{Bulkhead, events::{Event, EventKind}, keyed::{Keyed, KeyedEvent}};
    /// let made = Arc::new(AtomicU32::new(0));
    /// let k: Keyed<u8, _> = Keyed::builder(Bulkhead::new(1)?)
    ///     .listener({
    ///         let made = made.clone();
    ///         move |e: &Event<'_>| {
    ///             if let EventKind::Keyed(KeyedEvent::Created) = e.kind {
    ///                 made.fetch_add(1, Ordering::Relaxed);
    ///             }
    ///         }
    ///     })
    ///     .build()?;
    /// k.get(&1);
    /// k.get(&1);
    /// assert_eq!(made.load(Ordering::Relaxed), 1);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl Listener) -> Self {
        self.sinks.add(Arc::new(listener));
        self
    }

    /// Checks the settings and builds the container (empty: instances are made on first use).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `keyed.max_keys` (0 or over 2^30) or `keyed.idle` (under 1 ms
    /// or over 7 days).
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let k: Keyed<String, _> = Keyed::builder(Bulkhead::new(2)?).build()?;
    /// assert!(k.is_empty());
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn build(self) -> Result<Keyed<K, P>, ConfigError> {
        if self.max_keys == 0 || self.max_keys > MAX_KEYS {
            return Err(ConfigError::new(
                "keyed.max_keys",
                format!("must be from 1 to 2^30 (got {})", self.max_keys),
            ));
        }
        if self.idle < Duration::from_millis(1) || self.idle > MAX_IDLE {
            return Err(ConfigError::new(
                "keyed.idle",
                format!("must be from 1ms to 7 days (got {:?})", self.idle),
            ));
        }
        let make: Make<K, P> = match self.template {
            Template::Fn(make) => make,
            Template::Policy {
                template,
                name_each: Some(name),
            } => Box::new(move |key| template.fresh(Some(&name(key)))),
            Template::Policy {
                template,
                name_each: None,
            } => Box::new(move |_| template.fresh(None)),
        };
        let counts = Arc::new(Counts::default());
        let pinning = Pinning {
            sinks: self.sinks.clone(),
            name: self.name.clone(),
            counts: counts.clone(),
        };
        let idle = self.idle.as_nanos() as u64;
        Ok(Keyed {
            shared: Arc::new(Shared {
                map: Cache::with(
                    self.max_keys,
                    self.max_keys as u64,
                    UnitWeighter,
                    DefaultHashBuilder::default(),
                    pinning,
                ),
                make,
                name: self.name,
                max_keys: self.max_keys,
                idle,
                sweep_every: (idle / 4).max(1),
                base: Instant::now(),
                next_sweep: AtomicU64::new((idle / 4).max(1)),
                counts,
                sinks: self.sinks,
            }),
        })
    }
}
