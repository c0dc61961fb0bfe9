//! Bulkhead: at most so many calls in flight, a bounded number waiting, each for a bounded time.
//!
//! A [`Bulkhead`] keeps one slow dependency from taking every task, connection or thread the
//! service has: calls beyond `max_concurrent` wait (at most `max_waiting` of them, each at most
//! `max_wait`) or are rejected at once with [`Error::BulkheadFull`](crate::Error::BulkheadFull),
//! which is never reported as a timeout.
//!
//! # Semantics
//!
//! | situation | result |
//! |---|---|
//! | fewer than `max_concurrent` calls in flight, nobody waiting | the call runs at once |
//! | `max_concurrent` in flight, fewer than `max_waiting` waiting, `max_wait > 0` | the call waits, first in first out |
//! | `max_concurrent` in flight and `max_waiting` waiting, or `max_wait` zero | `BulkheadFull` (`Full`) at once, on the first poll |
//! | a waiter's `max_wait` runs out (exactly at `max_wait`) | `BulkheadFull` (`WaitTimedOut`) |
//! | a permit is granted at the very instant the wait runs out | the call runs: the permit wins |
//! | a call finishes | its permit goes straight to the oldest waiter, if any |
//! | the caller drops a waiting call | its waiting place is freed at once |
//! | the caller drops a running call | its permit is freed at once |
//!
//! A newcomer never overtakes a waiter: while anyone waits, new calls queue behind them.
//!
//! A rejection carries an estimate of how long a call arriving now would wait for a permit,
//! [`BulkheadFull::retry_after`](crate::error::BulkheadFull::retry_after), timed only while the
//! bulkhead is saturated (`None` until a permit has come free under load): a server can send it
//! as `Retry-After`, and a [`Retry`](crate::Retry) waits at least that long (up to its cap).
//!
//! # When the bulkhead admits
//!
//! On the call's first poll (admission is lazy, see [`policy`](crate::policy)); nothing inside the
//! bulkhead runs until the permit is held, and a panic inside gives the permit back.
//!
//! # Costs
//!
//! Uncontended, a call costs one compare-and-swap to take a permit and one atomic decrement to
//! return it: no lock, no allocation, no clock read. Waiting takes a short lock, one allocation
//! for the waiter's place and one timer. Once a caller has been turned away or has queued, and
//! until a permit is free again, each returned permit also takes that lock and reads the clock
//! once (to time how often permits come free, for the rejections' `retry_after`); a rejection
//! reads the clock at most once.
//!
//! # Sharing
//!
//! `Bulkhead` is a cheap handle around one shared state: every clone, every layer made with
//! [`layer`](Bulkhead::layer) and every service that layer makes count against the same limits.
//! A layer applied twice (as axum does) does not fork the limits.
//!
//! # Tower
//!
//! The layer's `poll_ready` is the inner service's; the permit is taken inside the call's future,
//! with the bounded wait. So a caller is never parked in `poll_ready` by the bulkhead, and a clone
//! that is merely ready holds no permit. The inner service's `call` runs at once, but its future
//! is not polled until a permit is held.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Bulkhead, Error};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! // At most 10 queries at once; 20 more may wait up to 50 ms each.
//! let bulkhead = Bulkhead::builder()
//!     .max_concurrent(10)
//!     .max_waiting(20)
//!     .max_wait(Duration::from_millis(50))
//!     .name("db")
//!     .build()?;
//!
//! match bulkhead.call(|| async { Ok::<_, std::io::Error>("row") }).await {
//!     Ok(row) => assert_eq!(row, "row"),
//!     Err(Error::BulkheadFull(full)) => println!("shed: {full}"),
//!     Err(other) => println!("failed: {other}"),
//! }
//! assert_eq!(bulkhead.snapshot().in_flight, 0);
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

pub(crate) use self::core::BulkheadState;
#[cfg(feature = "serde")]
pub use config::BulkheadConfig;
#[cfg(feature = "tower")]
pub(crate) use future::BulkheadCall;
pub(crate) use future::Bulkheaded;
#[cfg(feature = "tower")]
pub use layer::{BulkheadLayer, BulkheadService};

pub use error::{BulkheadFull, BulkheadFullReason};
pub use events::BulkheadEvent;

use crate::{
    ConfigError, Name, Operation,
    policy::{Apply, CallFuture, OperationFn},
    sync::Arc,
};

/// The largest `max_concurrent` and `max_waiting` accepted: far beyond any real limit, and far
/// from overflowing the counters.
pub const MAX_LIMIT: usize = 1 << 24;

/// The longest `max_wait` accepted. A caller parked longer than this is a caller who left.
pub const MAX_WAIT: Duration = Duration::from_secs(60 * 60);

const DEFAULT_NAME: Name = Name::from_static("bulkhead");

/// Limits how many calls run at once, with a bounded, first-in-first-out wait.
///
/// A cheap `Clone` handle: every clone and every layer made from it share the same permits.
///
/// # Panics
///
/// Building a bulkhead needs no runtime. A call that has to wait for a permit (`max_wait` above
/// zero) arms a tokio timer, which panics outside a Tokio runtime or in one built without the
/// time driver (`enable_time` or `enable_all`); calls admitted at once, or rejected at once, use
/// no timer.
///
/// # Cancel safety
///
/// Dropping a call's future at any point frees the waiting place or permit it holds at once; see
/// [`BulkheadCall`].
///
/// # Examples
///
/// As a combinator and as a tower layer, sharing one set of permits:
///
/// ```
/// use failguard::{Bulkhead, Error};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let bulkhead = Bulkhead::new(4)?;
/// assert_eq!(bulkhead.call(|| async { Ok::<_, std::io::Error>(1) }).await?, 1);
///
/// let mut svc = ServiceBuilder::new()
///     .layer(bulkhead.layer())
///     .map_err(Error::Inner)
///     .service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x + 1) });
/// assert_eq!(svc.ready().await?.call(1).await?, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Bulkhead {
    state: Arc<BulkheadState>,
}

/// What a [`Bulkhead`] is doing, read without a lock.
///
/// ```
/// let bulkhead = failguard::Bulkhead::new(2)?;
/// let snapshot = bulkhead.snapshot();
/// assert_eq!((snapshot.in_flight, snapshot.waiting, snapshot.rejected), (0, 0, 0));
/// assert_eq!(snapshot.max_concurrent, 2);
/// # Ok::<(), failguard::ConfigError>(())
/// ```
///
/// With the `serde` feature it is `Serialize` and `Deserialize`, field for field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct BulkheadSnapshot {
    /// The bulkhead's name.
    pub name: Name,
    /// Permits held (calls running, or granted and about to run).
    pub in_flight: usize,
    /// Calls waiting for a permit.
    pub waiting: usize,
    /// Calls rejected since the bulkhead was built.
    pub rejected: u64,
    /// The limit of calls in flight.
    pub max_concurrent: usize,
}

impl Bulkhead {
    /// A bulkhead of `max_concurrent` permits that rejects at once when they are all taken.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `max_concurrent` is 0 or above [`MAX_LIMIT`].
    ///
    /// ```
    /// assert!(failguard::Bulkhead::new(8).is_ok());
    /// assert!(failguard::Bulkhead::new(0).is_err());
    /// ```
    pub fn new(max_concurrent: usize) -> Result<Self, ConfigError> {
        Self::builder().max_concurrent(max_concurrent).build()
    }

    /// A builder, to allow waiting or set a name.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let bulkhead = failguard::Bulkhead::builder()
    ///     .max_concurrent(4)
    ///     .max_waiting(8)
    ///     .max_wait(Duration::from_millis(100))
    ///     .build()?;
    /// assert_eq!(bulkhead.snapshot().max_concurrent, 4);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> BulkheadBuilder {
        BulkheadBuilder::default()
    }

    /// Calls `f` once a permit is free, holding the permit until its future finishes.
    ///
    /// The bulkhead decides when the future is first polled; the closure is called only once a
    /// permit is held.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let bulkhead = failguard::Bulkhead::new(1)?;
    /// assert_eq!(bulkhead.call(|| async { Ok::<_, std::io::Error>("done") }).await?, "done");
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F, Fut, T, E>(&self, f: F) -> CallFuture<Bulkheaded<OperationFn<F>, &BulkheadState>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// This bulkhead as a tower layer; the layer, its clones and its services share this
    /// bulkhead's permits.
    ///
    /// ```
    /// let layer = failguard::Bulkhead::new(3)?.layer();
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> BulkheadLayer {
        BulkheadLayer::new(self.clone())
    }

    /// This bulkhead as a tower layer that borrows it instead of sharing it: each call's future
    /// holds a reference where [`layer`](Self::layer)'s takes a reference count (two atomic
    /// operations a call, about 10 ns on a 2-core machine). Everything else is the same.
    ///
    /// The services live no longer than the bulkhead, so a `'static` service needs a
    /// `&'static Bulkhead`: one in a `static`, or one built once at start-up and leaked.
    ///
    /// ```
    /// use std::sync::LazyLock;
    /// use failguard::{Bulkhead, Error};
    /// use tower::{Service, ServiceBuilder, ServiceExt};
    ///
    /// static DB: LazyLock<Bulkhead> = LazyLock::new(|| Bulkhead::new(8).unwrap());
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let mut svc = ServiceBuilder::new()
    ///     .layer(DB.layer_ref())
    ///     .map_err(Error::Inner)
    ///     .service_fn(|q: &'static str| async move { Ok::<_, std::io::Error>(q.len()) });
    /// let call = svc.ready().await?.call("four");
    /// let task = tokio::spawn(call); // 'static and Send
    /// assert_eq!(task.await??, 4);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer_ref(&self) -> BulkheadLayer<&BulkheadState> {
        BulkheadLayer::borrowing(self)
    }

    crate::policy::wrap_method!("failguard::Bulkhead::builder().max_concurrent(10).build()?");

    /// In flight, waiting and rejected counts, read without a lock.
    ///
    /// ```
    /// let bulkhead = failguard::Bulkhead::new(1)?;
    /// assert_eq!(bulkhead.snapshot().waiting, 0);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn snapshot(&self) -> BulkheadSnapshot {
        BulkheadSnapshot {
            name: self.state.name.clone(),
            in_flight: self.state.in_flight(),
            waiting: self.state.waiting(),
            rejected: self.state.rejected(),
            max_concurrent: self.state.max_concurrent,
        }
    }

    /// The bulkhead's name.
    ///
    /// ```
    /// assert_eq!(failguard::Bulkhead::new(1)?.name(), "bulkhead");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.state.name
    }

    #[cfg(feature = "tower")]
    pub(crate) fn state(&self) -> &Arc<BulkheadState> {
        &self.state
    }
}

#[cfg(feature = "tower")]
impl crate::policy::ToLayer for Bulkhead {
    type Layer = BulkheadLayer;

    fn layer(&self) -> Self::Layer {
        Bulkhead::layer(self)
    }
}

crate::policy::typed_policy!([] Bulkhead => Bulkheaded<Op, &'a BulkheadState>);

impl<'a, Op: Operation> Apply<Op> for &'a Bulkhead {
    type Output = Bulkheaded<Op, &'a BulkheadState>;

    fn apply(self, op: Op) -> Self::Output {
        Bulkheaded {
            op,
            state: Some(&self.state),
        }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op: Operation> Apply<Op> for Bulkhead {
    type Output = Bulkheaded<Op, Arc<BulkheadState>>;

    fn apply(self, op: Op) -> Self::Output {
        Bulkheaded {
            op,
            state: Some(self.state),
        }
    }
}

/// Builds a [`Bulkhead`].
///
/// # Examples
///
/// ```
/// # use std::time::Duration;
/// let bulkhead = failguard::Bulkhead::builder()
///     .max_concurrent(16)
///     .max_waiting(32)
///     .max_wait(Duration::from_millis(20))
///     .name("search")
///     .build()?;
/// assert_eq!(bulkhead.name(), "search");
/// # Ok::<(), failguard::ConfigError>(())
/// ```
///
/// The builder is `Clone`, so one configuration can stamp out a bulkhead per host. Each
/// `build()` makes a new bulkhead with its own permits.
///
/// ```
/// use std::time::Duration;
/// use failguard::Bulkhead;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let template = Bulkhead::builder().max_concurrent(1);
/// let eu = template.clone().name("eu").build()?;
/// let us = template.name("us").build()?;
///
/// let busy = tokio::spawn({
///     let eu = eu.clone();
///     async move {
///         eu.call(|| async {
///             tokio::time::sleep(Duration::from_secs(1)).await;
///             Ok::<_, std::io::Error>(())
///         })
///         .await
///     }
/// });
/// tokio::task::yield_now().await; // the busy call takes eu's only permit
/// assert_eq!(eu.snapshot().in_flight, 1);
/// assert_eq!(us.snapshot().in_flight, 0);
/// assert!(us.call(|| async { Ok::<_, std::io::Error>(()) }).await.is_ok());
/// # busy.await.unwrap().unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct BulkheadBuilder {
    max_concurrent: Option<usize>,
    max_waiting: usize,
    max_wait: Duration,
    name: Option<Name>,
    sinks: crate::events::Sinks,
}

impl BulkheadBuilder {
    /// How many calls may run at once.
    ///
    /// # Default
    ///
    /// None: it must be set, from 1 to [`MAX_LIMIT`].
    pub fn max_concurrent(mut self, max_concurrent: usize) -> Self {
        self.max_concurrent = Some(max_concurrent);
        self
    }

    /// How many calls may wait for a permit at once.
    ///
    /// # Default
    ///
    /// 0: nobody waits. Set it together with [`max_wait`](Self::max_wait).
    pub fn max_waiting(mut self, max_waiting: usize) -> Self {
        self.max_waiting = max_waiting;
        self
    }

    /// How long a call may wait for a permit before it is rejected.
    ///
    /// # Default
    ///
    /// Zero: reject at once when every permit is taken. Set it together with
    /// [`max_waiting`](Self::max_waiting); at most [`MAX_WAIT`].
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The name shown in events, errors and snapshots.
    ///
    /// # Default
    ///
    /// `"bulkhead"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends the bulkhead's [`BulkheadEvent`]s (rejections, and, to a listener that asks,
    /// every admission) to `listener`, next to the `tracing` output. See
    /// [`events`](crate::events).
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// use failguard::{Bulkhead, events::Event};
    /// let bulkhead = Bulkhead::builder()
    ///     .max_concurrent(8)
    ///     .listener(|e: &Event<'_>| eprintln!("{}: {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = bulkhead;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// Checks the configuration and builds the bulkhead.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `max_concurrent` is unset, 0 or above [`MAX_LIMIT`]; if
    /// `max_waiting` is above [`MAX_LIMIT`]; if `max_wait` is above [`MAX_WAIT`]; or if only one
    /// of `max_waiting` and `max_wait` is set (callers could queue but never wait, or wait but
    /// never queue).
    pub fn build(self) -> Result<Bulkhead, ConfigError> {
        let max_concurrent = self
            .max_concurrent
            .ok_or_else(|| ConfigError::new("bulkhead.max_concurrent", "must be set"))?;
        if max_concurrent == 0 || max_concurrent > MAX_LIMIT {
            return Err(ConfigError::new(
                "bulkhead.max_concurrent",
                format!("must be from 1 to {MAX_LIMIT} (got {max_concurrent})"),
            ));
        }
        if self.max_waiting > MAX_LIMIT {
            return Err(ConfigError::new(
                "bulkhead.max_waiting",
                format!("must be at most {MAX_LIMIT} (got {})", self.max_waiting),
            ));
        }
        if self.max_wait > MAX_WAIT {
            return Err(ConfigError::new(
                "bulkhead.max_wait",
                format!("must be at most 1 hour (got {:?})", self.max_wait),
            ));
        }
        if self.max_waiting > 0 && self.max_wait.is_zero() {
            return Err(ConfigError::new(
                "bulkhead.max_wait",
                format!(
                    "must be greater than zero when max_waiting is set (got 0ns with max_waiting {})",
                    self.max_waiting
                ),
            ));
        }
        if self.max_waiting == 0 && !self.max_wait.is_zero() {
            return Err(ConfigError::new(
                "bulkhead.max_waiting",
                format!(
                    "must be at least 1 when max_wait is set (got 0 with max_wait {:?})",
                    self.max_wait
                ),
            ));
        }
        let mut state = BulkheadState::new(
            max_concurrent,
            self.max_waiting,
            self.max_wait,
            self.name.unwrap_or(DEFAULT_NAME),
        );
        state.sinks = self.sinks;
        Ok(Bulkhead {
            state: Arc::new(state),
        })
    }
}

#[cfg(feature = "keyed")]
impl crate::keyed::KeyedPolicy for Bulkhead {
    fn fresh(&self, name: Option<&Name>) -> Self {
        Self {
            state: Arc::new(self.state.fresh(name)),
        }
    }

    fn evictable(&self) -> bool {
        self.state.at_rest()
    }
}
