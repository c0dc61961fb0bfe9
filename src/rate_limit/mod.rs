//! Rate limiter: at most so many calls per period, with a bounded burst, by the generic cell
//! rate algorithm (GCRA) on one atomic word.
//!
//! A [`RateLimiter`] spaces calls to a rate: `n` per second, or one per period, with up to
//! `burst` at once after a quiet spell. A call beyond the rate is rejected at once with
//! [`Error::RateLimited`](crate::Error::RateLimited), whose
//! [`retry_after`](crate::error::RateLimited::retry_after) is the exact time until a permit is
//! free, or (with `max_wait`) waits for its permits when they come within that long.
//!
//! # Why GCRA
//!
//! A token bucket needs a refill task or two fields updated together; the GCRA keeps one
//! number, the *theoretical arrival time* (TAT): when the limiter would be idle again if no
//! other call came. A call of `n` permits at `now` passes when
//! `max(TAT, now) + n·T - now <= burst·T` (with `T = period / count`), and moves the TAT to
//! `max(TAT, now) + n·T`: one compare-and-swap, no lock, no allocation, no background task.
//!
//! # Exact arithmetic
//!
//! `T` is rarely a whole number of nanoseconds (a third of a second is not), and rounding it
//! drifts: one extra call every few hundred million at 3 a second, sooner at higher rates. So
//! the limiter counts time in units chosen so that `T` is a whole number of them: with
//! `period / count` reduced to `p / q` ns, `T` is `m = ceil(p / q)` units, a unit is `T / m`
//! (between half a nanosecond and one), and a clock reading of `t` ns is
//! `floor(t · q · m / p)` units, computed in 128 bits. Every permit moves the TAT by exactly
//! `m`: nothing accumulates, so permit `i` of 3 a second from a quiet start is free at exactly
//! `ceil(i / 3)` seconds to the nanosecond, for the 3,000,000th as for the first, and a greedy
//! caller gets exactly `floor(rate · t) + burst` calls in the first `t`. The one rounding is
//! of each clock reading, down to a unit (under a nanosecond), and does not accumulate; it
//! means a window of `t` starting at an arbitrary instant holds at most
//! `floor(rate · (t + 1 ns)) + burst` calls.
//!
//! No overflow at any accepted rate: the period is at most [`MAX_PERIOD`] and the burst spans
//! at most 2^62 units, so every product fits 128 bits, and the unit count fits 64 bits for
//! 292 years of uptime (after which it saturates, rather than wrapping).
//!
//! # Semantics
//!
//! | situation | result |
//! |---|---|
//! | a permit is free now (fewer than `burst` taken in the last `burst·T`) | the call runs at once |
//! | none free, `max_wait` zero (the default) | `RateLimited` at once, on the first poll, with `retry_after` the exact time until one is |
//! | none free, but one will be within `max_wait` | the call reserves it and sleeps until that moment, then runs |
//! | none free within `max_wait` | `RateLimited` at once (no reservation) |
//! | a waiting call is dropped | its reservation is given back at once if it was the last in line; otherwise its moment goes unused |
//! | a call asks for more permits than `burst` ([`call_weighted`](RateLimiter::call_weighted)) | `RateLimited` with no `retry_after`: it can never pass |
//! | the limiter is idle | up to `burst` permits at once; the rest spaced by `T` |
//!
//! The boundaries: permit `i` (from a quiet start, burst 1) is free at `i·T` exactly, rounded up
//! to the next nanosecond, and a call one nanosecond before that is rejected with a
//! `retry_after` of 1 ns.
//!
//! # Waiting, and its order
//!
//! A waiting call reserves its permits when it is first polled and sleeps until its moment:
//! waiters are served in the order they arrived (each one's moment is fixed when it reserves,
//! and later reservations come after it, so a newcomer never overtakes a waiter), and a
//! waiter is never woken by another: moments never move. A waiter dropped before its moment
//! gives its permits back when no waiter reserved after it (the last in line), leaving the
//! limiter exactly as if it had never come. A waiter dropped with others behind it cannot:
//! its moment would go to the next newcomer, who would then share a later waiter's moment
//! (two calls where the rate allows one), so that moment goes unused instead: a limiter
//! errs on the side of the rate. A waiter whose moment has come has spent its permits, like
//! any call that started: the limiter limits starts, not calls in flight.
//!
//! # When the limiter admits
//!
//! On the call's first poll (admission is lazy, see [`policy`](crate::policy)); nothing inside
//! the limiter runs until the permit is held. A call that waits in an outer bulkhead is not
//! counted by a limiter inside it until it gets there.
//!
//! # Costs
//!
//! A call costs one clock read (`tokio::time::Instant::now`, so the paused clock drives it),
//! a few integer operations and one compare-and-swap (retried only when another call won the
//! word in between): no lock, no allocation. A wait adds one timer.
//!
//! # Sharing
//!
//! `RateLimiter` is a cheap handle around one shared state: every clone, every layer made with
//! [`layer`](RateLimiter::layer) and every service that layer makes draw from the same rate. A
//! layer applied twice (as axum does) does not fork the rate.
//!
//! # Tower
//!
//! Readiness is the inner service's; the permit is taken in the call's future on its first
//! poll (see [`RateLimitService`]). tower's own `RateLimit` parks callers in `poll_ready` and
//! keeps its count per clone; this one does neither.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Error, RateLimiter};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! // 10 calls a second, up to 5 at once.
//! let limiter = RateLimiter::builder().per_second(10).burst(5).name("geo").build()?;
//! let lookup = || async { Ok::<_, std::io::Error>("here") };
//!
//! for _ in 0..5 {
//!     assert_eq!(limiter.call(lookup).await.unwrap(), "here");
//! }
//! match limiter.call(lookup).await {
//!     Err(Error::RateLimited(limited)) => {
//!         assert_eq!(limited.retry_after(), Some(Duration::from_millis(100)));
//!     }
//!     other => panic!("expected a rejection, got {other:?}"),
//! }
//! tokio::time::advance(Duration::from_millis(100)).await;
//! assert!(limiter.call(lookup).await.is_ok());
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "serde")]
mod config;
pub(crate) mod core;
mod error;
mod events;
pub(crate) mod future;
#[cfg(feature = "tower")]
mod layer;

use std::{future::Future, time::Duration};

pub(crate) use self::core::RateLimitState;
use self::core::{Gcra, GcraError, Grant};
#[cfg(feature = "serde")]
pub use config::RateLimitConfig;
pub(crate) use future::Limited;
#[cfg(feature = "tower")]
pub(crate) use future::RateLimitCall;
#[cfg(feature = "tower")]
pub use layer::{RateLimitLayer, RateLimitService};

pub use error::RateLimited;
pub use events::RateLimitEvent;

use crate::{
    ConfigError, Name, Operation,
    policy::{Apply, CallFuture, OperationFn},
    sync::Arc,
};

/// The longest `max_wait` accepted.
pub const MAX_WAIT: Duration = Duration::from_secs(60 * 60);

/// The longest period accepted (a rate of one a year).
pub const MAX_PERIOD: Duration = self::core::MAX_PERIOD;

const DEFAULT_NAME: Name = Name::from_static("rate-limiter");

/// Limits how often calls start: a rate, a burst, and an optional bounded wait.
///
/// A cheap `Clone` handle: every clone and every layer made from it share one rate.
///
/// # Panics
///
/// Building a limiter needs no runtime, but it reads `tokio::time::Instant::now()` (its time
/// base), as every call does. A call that waits (`max_wait` above zero) arms a tokio timer,
/// which panics outside a Tokio runtime or in one built without the time driver.
///
/// # Cancel safety
///
/// Dropping a waiting call gives its reserved permits back at once when it is the last in line,
/// and otherwise leaves its moment unused; see [`parts::RateLimitCall`](crate::parts::RateLimitCall).
///
/// # Examples
///
/// As a combinator and as a tower layer, sharing one rate:
///
/// ```
/// use failguard::{Error, RateLimiter};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let limiter = RateLimiter::builder().per_second(1).burst(2).build()?;
/// assert_eq!(limiter.call(|| async { Ok::<_, std::io::Error>(1) }).await?, 1);
///
/// let mut svc = ServiceBuilder::new()
///     .layer(limiter.layer())
///     .map_err(Error::Inner)
///     .service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x + 1) });
/// assert_eq!(svc.ready().await?.call(1).await?, 2);
/// // The burst of two is spent, by both doors together.
/// assert!(matches!(svc.ready().await?.call(1).await, Err(Error::RateLimited(_))));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimiter {
    state: Arc<RateLimitState>,
}

/// What a [`RateLimiter`] is doing, read without a lock (and one clock read).
///
/// ```
/// let limiter = failguard::RateLimiter::per_second(5)?;
/// let snapshot = limiter.snapshot();
/// assert_eq!((snapshot.available, snapshot.burst, snapshot.rejected), (5, 5, 0));
/// # Ok::<(), failguard::ConfigError>(())
/// ```
///
/// With the `serde` feature it is `Serialize` and `Deserialize`, field for field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RateLimitSnapshot {
    /// The limiter's name.
    pub name: Name,
    /// Permits a call could take now (waiters' reservations already taken out).
    pub available: u32,
    /// The most permits that can be taken at once.
    pub burst: u32,
    /// Calls (and checks) rejected since the limiter was built.
    pub rejected: u64,
}

impl RateLimiter {
    /// A limiter of `n` calls a second, `n` at once after a quiet second, rejecting at once
    /// beyond that.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `n` is 0 or above a billion.
    ///
    /// ```
    /// assert!(failguard::RateLimiter::per_second(100).is_ok());
    /// assert!(failguard::RateLimiter::per_second(0).is_err());
    /// ```
    pub fn per_second(n: u32) -> Result<Self, ConfigError> {
        Self::builder().per_second(n).build()
    }

    /// A builder, to set the rate, the burst, a wait or a name.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let limiter = failguard::RateLimiter::builder()
    ///     .per(Duration::from_millis(250))
    ///     .burst(4)
    ///     .max_wait(Duration::from_millis(500))
    ///     .build()?;
    /// assert_eq!(limiter.snapshot().burst, 4);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> RateLimiterBuilder {
        RateLimiterBuilder::default()
    }

    /// Calls `f` once a permit is its own (at once, or after a wait within `max_wait`).
    ///
    /// The limiter decides when the future is first polled; the closure is called only once the
    /// permit is held.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let limiter = failguard::RateLimiter::per_second(10)?;
    /// assert_eq!(limiter.call(|| async { Ok::<_, std::io::Error>("done") }).await?, "done");
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F, Fut, T, E>(&self, f: F) -> CallFuture<Limited<OperationFn<F>, &RateLimitState>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_weighted(1, f)
    }

    /// Calls `f` once `weight` permits are its own: a call that costs more than one (a batch
    /// of `weight` items, a request of `weight` kilobytes). A weight above the burst can never
    /// pass and is rejected with no `retry_after`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Error, RateLimiter};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let limiter = RateLimiter::builder().per_second(100).build()?; // burst 100
    /// let batch = || async { Ok::<_, std::io::Error>(()) };
    /// assert!(limiter.call_weighted(60, batch).await.is_ok());
    /// let Err(Error::RateLimited(limited)) = limiter.call_weighted(60, batch).await else {
    ///     panic!()
    /// };
    /// // 20 more permits are needed: 200 ms at 100 a second.
    /// assert_eq!(limited.retry_after(), Some(Duration::from_millis(200)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn call_weighted<F, Fut, T, E>(
        &self,
        weight: u32,
        f: F,
    ) -> CallFuture<Limited<OperationFn<F>, &RateLimitState>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        CallFuture::new(Limited {
            op: OperationFn::new(f),
            state: Some(&self.state),
            weight,
        })
    }

    /// Takes a permit if one is free now, without waiting and without a call: for a caller
    /// that only wants to ask (a loop that sheds its own work, a guard in front of something
    /// that is not a future). Never waits, whatever `max_wait`.
    ///
    /// # Errors
    ///
    /// [`RateLimited`], with the exact `retry_after`, when no permit is free.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let limiter = failguard::RateLimiter::builder().per_second(1).build()?;
    /// assert!(limiter.check().is_ok());
    /// let limited = limiter.check().unwrap_err();
    /// assert_eq!(limited.retry_after(), Some(std::time::Duration::from_secs(1)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn check(&self) -> Result<(), RateLimited> {
        self.check_n(1)
    }

    /// Takes `weight` permits if they are free now; see [`check`](Self::check) and
    /// [`call_weighted`](Self::call_weighted).
    ///
    /// # Errors
    ///
    /// [`RateLimited`] when they are not free now (with no `retry_after` when `weight` is above
    /// the burst).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let limiter = failguard::RateLimiter::builder().per_second(10).build()?;
    /// assert!(limiter.check_n(10).is_ok());
    /// assert!(limiter.check_n(11).unwrap_err().retry_after().is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn check_n(&self, weight: u32) -> Result<(), RateLimited> {
        match self.state.acquire(weight, false) {
            Grant::Now => Ok(()),
            Grant::Rejected { retry_after } => Err(self.state.limited(weight, retry_after)),
            Grant::Wait { .. } => unreachable!("a check never reserves"),
        }
    }

    /// This limiter as a tower layer; the layer, its clones and its services share this
    /// limiter's rate.
    ///
    /// ```
    /// let layer = failguard::RateLimiter::per_second(50)?.layer();
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> RateLimitLayer {
        RateLimitLayer::new(self.clone())
    }

    crate::policy::wrap_method!("failguard::RateLimiter::builder().per_second(10).build()?");

    /// Permits free now, burst and rejections, read without a lock.
    ///
    /// ```
    /// let limiter = failguard::RateLimiter::per_second(3)?;
    /// limiter.check().unwrap();
    /// assert_eq!(limiter.snapshot().available, 2);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn snapshot(&self) -> RateLimitSnapshot {
        RateLimitSnapshot {
            name: self.state.name.clone(),
            available: self.state.available(),
            burst: self.state.gcra.burst(),
            rejected: self.state.rejected(),
        }
    }

    /// The limiter's name.
    ///
    /// ```
    /// assert_eq!(failguard::RateLimiter::per_second(1)?.name(), "rate-limiter");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.state.name
    }

    #[cfg(feature = "tower")]
    pub(crate) fn state(&self) -> &Arc<RateLimitState> {
        &self.state
    }
}

#[cfg(feature = "tower")]
impl crate::policy::ToLayer for RateLimiter {
    type Layer = RateLimitLayer;

    fn layer(&self) -> Self::Layer {
        RateLimiter::layer(self)
    }
}

impl<T, E> crate::Policy<T, E> for RateLimiter {
    type Around<'a, Op>
        = Limited<Op, &'a RateLimitState>
    where
        Self: 'a,
        Op: crate::policy::SendOperation<T, E> + 'a;

    #[inline]
    fn around<'a, Op>(&'a self, op: Op) -> Self::Around<'a, Op>
    where
        Op: crate::policy::SendOperation<T, E> + 'a,
    {
        self.apply(op)
    }
}

impl<'a, Op: Operation> Apply<Op> for &'a RateLimiter {
    type Output = Limited<Op, &'a RateLimitState>;

    fn apply(self, op: Op) -> Self::Output {
        Limited {
            op,
            state: Some(&self.state),
            weight: 1,
        }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op: Operation> Apply<Op> for RateLimiter {
    type Output = Limited<Op, Arc<RateLimitState>>;

    fn apply(self, op: Op) -> Self::Output {
        Limited {
            op,
            state: Some(self.state),
            weight: 1,
        }
    }
}

/// Builds a [`RateLimiter`].
///
/// # Examples
///
/// ```
/// # use std::time::Duration;
/// // 600 a minute, 20 at once, callers waiting up to 50 ms for a permit.
/// let limiter = failguard::RateLimiter::builder()
///     .rate(600, Duration::from_secs(60))
///     .burst(20)
///     .max_wait(Duration::from_millis(50))
///     .name("search")
///     .build()?;
/// assert_eq!(limiter.name(), "search");
/// # Ok::<(), failguard::ConfigError>(())
/// ```
///
/// The builder is `Clone`; each `build()` makes a new limiter with its own rate (a limit per
/// tenant, say).
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct RateLimiterBuilder {
    rate: Option<(u64, Duration)>,
    burst: Option<u32>,
    max_wait: Duration,
    name: Option<Name>,
    sinks: crate::events::Sinks,
}

impl RateLimiterBuilder {
    /// `n` calls a second.
    ///
    /// # Default
    ///
    /// None: a rate must be set, by this, [`per`](Self::per) or [`rate`](Self::rate).
    pub fn per_second(self, n: u32) -> Self {
        self.rate(n, Duration::from_secs(1))
    }

    /// One call per `period` (`per(Duration::from_millis(100))` is ten a second).
    ///
    /// # Default
    ///
    /// None: a rate must be set.
    pub fn per(self, period: Duration) -> Self {
        self.rate(1, period)
    }

    /// `count` calls per `period`, exactly (`rate(3, 1s)` spaces them a third of a second apart,
    /// with no rounding). The last of `per_second`, `per` and `rate` wins.
    ///
    /// # Default
    ///
    /// None: a rate must be set, with `count` from 1, `period` from 1 ns to [`MAX_PERIOD`], and
    /// at most one call per nanosecond.
    pub fn rate(mut self, count: u32, period: Duration) -> Self {
        self.rate = Some((u64::from(count), period));
        self
    }

    /// How many permits may be taken at once after a quiet spell (the GCRA's tolerance, in
    /// permits): `burst(1)` spaces every call by the period exactly.
    ///
    /// # Default
    ///
    /// The rate's `count`: a whole period's permits at once (`per_second(100)` allows 100 at
    /// once; `per(period)` allows 1).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// How long a call may wait for its permits. A call whose permits come within `max_wait`
    /// reserves them and sleeps until then; one whose permits come later is rejected at once.
    ///
    /// # Default
    ///
    /// Zero: reject at once. At most [`MAX_WAIT`].
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The name shown in events, errors and snapshots.
    ///
    /// # Default
    ///
    /// `"rate-limiter"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends the limiter's [`RateLimitEvent`]s (rejections, and the outcome of every wait) to
    /// `listener`, next to the `tracing` output. See [`events`](crate::events).
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// use failguard::{RateLimiter, events::Event};
    /// let limiter = RateLimiter::builder()
    ///     .per_second(8)
    ///     .listener(|e: &Event<'_>| eprintln!("{}: {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = limiter;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// Checks the configuration and builds the limiter. Its time base is
    /// `tokio::time::Instant::now()` at this call.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if no rate is set; if its count is 0, its period is zero or above
    /// [`MAX_PERIOD`], or it is faster than one call a nanosecond; if the burst is 0 or spans
    /// more than 73 years (`burst · period / count`); or if `max_wait` is above
    /// [`MAX_WAIT`].
    ///
    /// ```
    /// let err = failguard::RateLimiter::builder().per_second(10).burst(0).build().unwrap_err();
    /// assert_eq!(err.field(), "rate_limit.burst");
    /// ```
    pub fn build(self) -> Result<RateLimiter, ConfigError> {
        let (count, period) = self
            .rate
            .ok_or_else(|| ConfigError::new("rate_limit.rate", "must be set"))?;
        let burst = self.burst.unwrap_or(count.min(u64::from(u32::MAX)) as u32);
        let gcra = Gcra::new(count, period, burst).map_err(|e| match e {
            GcraError::Count => ConfigError::new("rate_limit.rate", "count must be at least 1"),
            GcraError::Period => ConfigError::new(
                "rate_limit.rate",
                format!("period must be greater than zero and at most 365 days (got {period:?})"),
            ),
            GcraError::TooFast => ConfigError::new(
                "rate_limit.rate",
                format!("must be at most one call a nanosecond (got {count} per {period:?})"),
            ),
            GcraError::Burst if burst == 0 => {
                ConfigError::new("rate_limit.burst", "must be at least 1 (got 0)")
            }
            GcraError::Burst => ConfigError::new(
                "rate_limit.burst",
                format!(
                    "must span at most 73 years at the rate (got {burst} per {period:?} / {count})"
                ),
            ),
        })?;
        if self.max_wait > MAX_WAIT {
            return Err(ConfigError::new(
                "rate_limit.max_wait",
                format!("must be at most 1 hour (got {:?})", self.max_wait),
            ));
        }
        let mut state = RateLimitState::new(gcra, self.max_wait, self.name.unwrap_or(DEFAULT_NAME));
        state.sinks = self.sinks;
        Ok(RateLimiter {
            state: Arc::new(state),
        })
    }
}

#[cfg(feature = "keyed")]
impl crate::keyed::KeyedPolicy for RateLimiter {
    fn fresh(&self, name: Option<&Name>) -> Self {
        Self {
            state: Arc::new(self.state.fresh(name)),
        }
    }

    fn evictable(&self) -> bool {
        self.state.at_rest()
    }
}
