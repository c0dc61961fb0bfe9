//! One rate limit for the whole fleet, served from leased permits.

use std::{
    fmt,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use tokio::{sync::Mutex, time::Instant};

use super::{Fleet, future::GloballyLimited};
use crate::{
    ConfigError, Name, RateLimiter,
    error::RateLimited,
    policy::{Apply, CallFuture, OperationFn},
};

/// The largest rate the store's clock can space (it counts microseconds).
const MAX_PER_SECOND: u64 = 1_000_000;

/// A rate limit shared by every instance of a [`Fleet`]: the generic cell rate algorithm's state
/// lives in the store, and each instance leases permits from it in batches.
///
/// # How it decides
///
/// A call takes a permit from this instance's lease: one atomic operation, no round trip. When
/// the lease is spent, one call asks the store for `lease` more (one server-side script, which
/// grants as many as the limit allows now, on the store's clock), while the others that need a
/// permit wait for that answer, never longer than the fleet's bound. When the store has none,
/// the call is rejected with [`RateLimited`] and the exact time until the next permit.
///
/// # The bound
///
/// Permits are counted by the store when they are leased, and an instance may spend the last of
/// a lease later than that. In any window of length `t`, the fleet admits at most
/// `rate × t + burst + instances × lease` calls: what the store granted in the window, plus what
/// each instance held when it began. A larger lease means fewer round trips and a looser bound.
///
/// # When the store is slow or gone
///
/// A call that would wait on the store longer than the fleet's bound goes on with the local
/// limiter ([`local`](GlobalRateLimiterBuilder::local)) instead, as does every call until the
/// store answers again (see [`Fleet`]); the lease held is spent first.
///
/// # Examples
///
/// ```no_run
/// use failguard::{Error, fleet::Fleet};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let fleet = Fleet::builder("redis://127.0.0.1:6379/").instance("pod-a").build()?;
/// let partner = fleet.rate_limiter("partner-api").per_second(100).burst(20).lease(5).build()?;
/// match partner.call(|| async { Ok::<_, std::io::Error>(()) }).await {
///     Err(Error::RateLimited(limited)) => println!("fleet over its limit; {:?}", limited.retry_after()),
///     other => other?,
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct GlobalRateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    fleet: Fleet,
    name: Name,
    key: String,
    script: redis::Script,
    interval_us: u64,
    burst: u32,
    lease: u32,
    /// Permits left in this instance's lease.
    remaining: AtomicU64,
    /// Held by the call that asks the store for a new lease.
    refill: Mutex<()>,
    local: RateLimiter,
    rejected: AtomicU64,
    leases: AtomicU64,
}

impl fmt::Debug for GlobalRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalRateLimiter")
            .field("name", &self.inner.name)
            .field("burst", &self.inner.burst)
            .field("lease", &self.inner.lease)
            .finish_non_exhaustive()
    }
}

/// What a [`GlobalRateLimiter`] holds, read without a lock or a round trip.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:1/").build()?;
/// let limiter = fleet.rate_limiter("partner").per_second(10).build()?;
/// let snapshot = limiter.snapshot();
/// assert_eq!((snapshot.leased, snapshot.leases, snapshot.degraded), (0, 0, false));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GlobalRateLimitSnapshot {
    /// The limiter's name (its key in the store).
    pub name: Name,
    /// Permits left in this instance's lease.
    pub leased: u64,
    /// Leases this instance has taken from the store.
    pub leases: u64,
    /// Calls rejected on this instance, by the store or by the local limiter.
    pub rejected: u64,
    /// Whether the instance is serving on its local limiter (the store failed).
    pub degraded: bool,
}

impl GlobalRateLimiter {
    /// Takes a permit: from this instance's lease, or a new lease from the store, or (while the
    /// store is slow or gone) the local limiter. Never waits longer than the fleet's bound.
    ///
    /// # Errors
    ///
    /// [`RateLimited`] when the fleet (or, degraded, this instance) has no permit now.
    ///
    /// # Cancel safety
    ///
    /// Dropping it while it waits for a lease loses no permit: a lease that arrives is kept for
    /// the next call.
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let limiter = fleet.rate_limiter("exports").per_second(5).build()?;
    /// if limiter.acquire().await.is_ok() {
    ///     // start the export
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn acquire(&self) -> Result<(), RateLimited> {
        if self.take() {
            return Ok(());
        }
        self.acquire_slow().await
    }

    /// Calls `f` if a permit is free (see [`acquire`](Self::acquire)).
    ///
    /// # Errors
    ///
    /// [`Error::RateLimited`](crate::Error::RateLimited) without calling `f`, or `f`'s own error as [`Error::Inner`](crate::Error::Inner).
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let limiter = fleet.rate_limiter("partner").per_second(100).build()?;
    /// let n = limiter.call(|| async { Ok::<_, std::io::Error>(1) }).await?;
    /// # let _ = n;
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F, Fut, T, E>(
        &self,
        f: F,
    ) -> CallFuture<GloballyLimited<OperationFn<F>, &GlobalRateLimiter>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    crate::policy::wrap_method!(
        "failguard::fleet::Fleet::builder(\"redis://127.0.0.1:6379/\").build()?.rate_limiter(\"a\").per_second(10).build()?"
    );

    /// Its figures on this instance.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:1/").build()?;
    /// let limiter = fleet.rate_limiter("partner").per_second(10).build()?;
    /// assert_eq!(limiter.snapshot().name, "partner");
    /// # Ok(())
    /// # }
    /// ```
    pub fn snapshot(&self) -> GlobalRateLimitSnapshot {
        GlobalRateLimitSnapshot {
            name: self.inner.name.clone(),
            leased: self.inner.remaining.load(Relaxed),
            leases: self.inner.leases.load(Relaxed),
            rejected: self.inner.rejected.load(Relaxed),
            degraded: self.inner.fleet.is_degraded(),
        }
    }

    /// The limiter's name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:1/").build()?;
    /// assert_eq!(fleet.rate_limiter("a").per_second(1).build()?.name(), "a");
    /// # Ok(())
    /// # }
    /// ```
    pub fn name(&self) -> &Name {
        &self.inner.name
    }

    #[inline]
    pub(crate) fn take(&self) -> bool {
        self.inner
            .remaining
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    #[cold]
    pub(crate) async fn acquire_slow(&self) -> Result<(), RateLimited> {
        let inner = &*self.inner;
        let deadline = Instant::now() + inner.fleet.shared.bound;
        if !inner.fleet.may_ask() {
            return self.local();
        }
        // One call asks for the next lease; the others wait for it, within the bound.
        let Ok(_refill) = tokio::time::timeout_at(deadline, inner.refill.lock()).await else {
            return self.local();
        };
        if self.take() {
            return Ok(());
        }
        if !inner.fleet.may_ask() {
            return self.local();
        }
        let asked = inner
            .fleet
            .ask(deadline, |mut conn| async move {
                inner
                    .script
                    .key(&inner.key)
                    .arg(inner.interval_us)
                    .arg(inner.burst)
                    .arg(inner.lease)
                    .invoke_async::<(u64, u64)>(&mut conn)
                    .await
            })
            .await;
        match asked {
            Some((granted, _)) if granted > 0 => {
                inner.leases.fetch_add(1, Relaxed);
                inner.remaining.fetch_add(granted - 1, Relaxed);
                Ok(())
            }
            Some((_, wait_us)) => {
                inner.rejected.fetch_add(1, Relaxed);
                Err(RateLimited::new(
                    inner.name.clone(),
                    Some(Duration::from_micros(wait_us)),
                    1,
                    inner.burst,
                ))
            }
            None => self.local(),
        }
    }

    fn local(&self) -> Result<(), RateLimited> {
        self.inner.local.check().inspect_err(|_| {
            self.inner.rejected.fetch_add(1, Relaxed);
        })
    }
}

/// Builds a [`GlobalRateLimiter`]; made by [`Fleet::rate_limiter`].
///
/// ```
/// use std::time::Duration;
/// use failguard::RateLimiter;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
/// let limiter = fleet
///     .rate_limiter("partner")
///     .rate(6_000, Duration::from_secs(60))
///     .burst(50)
///     .lease(10)
///     // While the store is gone, each of the (about 4) instances takes its share.
///     .local(RateLimiter::builder().rate(1_500, Duration::from_secs(60)).burst(12).build()?)
///     .build()?;
/// # let _ = limiter;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct GlobalRateLimiterBuilder {
    fleet: Fleet,
    name: Name,
    rate: Option<(u32, Duration)>,
    burst: Option<u32>,
    lease: Option<u32>,
    local: Option<RateLimiter>,
}

impl GlobalRateLimiterBuilder {
    pub(crate) fn new(fleet: Fleet, name: Name) -> Self {
        Self {
            fleet,
            name,
            rate: None,
            burst: None,
            lease: None,
            local: None,
        }
    }

    /// `count` calls a second across the fleet.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let limiter = fleet.rate_limiter("a").per_second(100).build()?;
    /// # let _ = limiter;
    /// # Ok(())
    /// # }
    /// ```
    pub fn per_second(self, count: u32) -> Self {
        self.rate(count, Duration::from_secs(1))
    }

    /// `count` calls per `period` across the fleet: at most a million a second (the store's
    /// clock counts microseconds), at least one a day.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let err = fleet.rate_limiter("a").rate(1, Duration::ZERO).build().unwrap_err();
    /// assert_eq!(err.field(), "fleet.rate_limit.rate");
    /// # Ok(())
    /// # }
    /// ```
    pub fn rate(mut self, count: u32, period: Duration) -> Self {
        self.rate = Some((count, period));
        self
    }

    /// How many calls may go at once when the fleet's limit has been idle.
    ///
    /// # Default
    ///
    /// The rate's `count`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let err = fleet.rate_limiter("a").per_second(10).burst(0).build().unwrap_err();
    /// assert_eq!(err.field(), "fleet.rate_limit.burst");
    /// # Ok(())
    /// # }
    /// ```
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// How many permits an instance leases in one round trip, from 1 to the burst. See the
    /// [bound](GlobalRateLimiter#the-bound) it sets.
    ///
    /// # Default
    ///
    /// A tenth of the burst, at least 1.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let err = fleet.rate_limiter("a").per_second(10).lease(11).build().unwrap_err();
    /// assert_eq!(err.field(), "fleet.rate_limit.lease");
    /// # Ok(())
    /// # }
    /// ```
    pub fn lease(mut self, lease: u32) -> Self {
        self.lease = Some(lease);
        self
    }

    /// The limiter this instance uses alone while the store is slow or gone.
    ///
    /// # Default
    ///
    /// A [`RateLimiter`] with the global rate and burst: each instance alone at the fleet's
    /// rate, so while the store is gone the fleet may admit up to `instances ×` the limit. Give
    /// each instance its share when that matters.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let limiter = fleet
    ///     .rate_limiter("a")
    ///     .per_second(100)
    ///     .local(failguard::RateLimiter::per_second(25)?)
    ///     .build()?;
    /// # let _ = limiter;
    /// # Ok(())
    /// # }
    /// ```
    pub fn local(mut self, local: RateLimiter) -> Self {
        self.local = Some(local);
        self
    }

    /// Checks the settings and builds the limiter; nothing is sent to the store yet.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `fleet.rate_limit.rate` (missing, zero, faster than a million a
    /// second or slower than one a day), `fleet.rate_limit.burst` (zero) or
    /// `fleet.rate_limit.lease` (zero or above the burst).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let fleet = failguard::fleet::Fleet::builder("redis://127.0.0.1:6379/").build()?;
    /// let err = fleet.rate_limiter("a").build().unwrap_err();
    /// assert_eq!(err.field(), "fleet.rate_limit.rate");
    /// # Ok(())
    /// # }
    /// ```
    pub fn build(self) -> Result<GlobalRateLimiter, ConfigError> {
        let (count, period) = self
            .rate
            .ok_or_else(|| ConfigError::new("fleet.rate_limit.rate", "must be set"))?;
        let period_us = period.as_micros();
        if count == 0 || period_us == 0 || period > Duration::from_secs(86_400 * 365) {
            return Err(ConfigError::new(
                "fleet.rate_limit.rate",
                format!(
                    "must be at least 1 call per period of 1µs to 365 days (got {count} per {period:?})"
                ),
            ));
        }
        let interval_us = period_us / u128::from(count);
        if interval_us == 0 || interval_us > 86_400_000_000 {
            return Err(ConfigError::new(
                "fleet.rate_limit.rate",
                format!(
                    "must be from one a day to {MAX_PER_SECOND} a second (got {count} per {period:?})"
                ),
            ));
        }
        let burst = self.burst.unwrap_or(count);
        if burst == 0 {
            return Err(ConfigError::new(
                "fleet.rate_limit.burst",
                "must be at least 1 (got 0)",
            ));
        }
        let lease = self.lease.unwrap_or((burst / 10).max(1));
        if lease == 0 || lease > burst {
            return Err(ConfigError::new(
                "fleet.rate_limit.lease",
                format!("must be from 1 to the burst, {burst} (got {lease})"),
            ));
        }
        let local = match self.local {
            Some(local) => local,
            None => RateLimiter::builder()
                .rate(count, period)
                .burst(burst)
                .name(self.name.clone())
                .build()?,
        };
        let key = self.fleet.key("rate", &self.name);
        Ok(GlobalRateLimiter {
            inner: Arc::new(Inner {
                fleet: self.fleet,
                name: self.name,
                key,
                script: redis::Script::new(include_str!("lease.lua")),
                interval_us: interval_us as u64,
                burst,
                lease,
                remaining: AtomicU64::new(0),
                refill: Mutex::new(()),
                local,
                rejected: AtomicU64::new(0),
                leases: AtomicU64::new(0),
            }),
        })
    }
}
