//! Adaptive concurrency limit: a limit on calls in flight that finds itself, from the round
//! trips and drops it measures.
//!
//! A static [`Bulkhead`](crate::Bulkhead) limit is a guess. Too high, and a slow dependency
//! queues work until latency explodes; too low, and capacity is wasted; right today, and wrong
//! after tomorrow's deploy or autoscaling. An [`AdaptiveLimit`] treats the limit as TCP treats
//! its congestion window: after each window of finished calls (by default one round trip's worth:
//! as many calls as the limit), a [`LimitAlgorithm`] moves it, up while the dependency keeps
//! pace, down when round trips stretch (a queue is forming) or calls drop. The algorithms are
//! those of Netflix's [concurrency-limits]: [`Aimd`] (loss-based), [`Vegas`] (delay-based, the
//! default) and [`Gradient2`]; implement [`LimitAlgorithm`] to plug in another.
//!
//! # What the limiter learns from
//!
//! | a call that | counts as |
//! |---|---|
//! | finished, classified a success by the shared predicate ([`Classify`]) | a round trip |
//! | finished, classified a failure | a drop (with its round trip) |
//! | finished, classified ignored | nothing |
//! | was cut off by a failguard [`Timeout`](crate::Timeout) around it whose deadline passed | a drop: the dependency was too slow for its caller |
//! | was dropped for any other reason (the caller went away, lost a `select!`) | nothing |
//! | was rejected, or gave up waiting | nothing (it never reached the dependency) |
//!
//! A failguard timeout drops the call inside it at its deadline, and the limiter sees that drop
//! for what it is. A timeout of another crate (`tokio::time::timeout`) around the limiter is an
//! ordinary cancellation; put a failguard [`Timeout`](crate::Timeout) there, or inside the
//! limiter, where its `Error::Timeout` is classified like any other error.
//!
//! The limit only grows while it is in use: a window in which fewer than half of the limit's
//! places were taken never raises it ([`Sample::in_use`]). At half load a limit stays within
//! twice the calls actually made, instead of drifting to its maximum and protecting nothing when
//! the spike comes.
//!
//! # Overload
//!
//! | situation | result |
//! |---|---|
//! | fewer calls in flight than the limit, nobody waiting | the call runs at once |
//! | the limit reached, waiting off (the default) | [`Error::ConcurrencyLimited`](crate::Error::ConcurrencyLimited) at once, with the limit and the calls in flight |
//! | the limit reached, fewer than `max_waiting` waiting | the call waits, at most `max_wait`, then is rejected the same way |
//! | a place comes free (a call finishes, or the limit rises) | it goes to the oldest waiter ([`WaitOrder::Fifo`]) or the newest ([`WaitOrder::Lifo`], which under overload serves callers who are still likely to want the answer) |
//! | the limit falls below the calls in flight | nothing is cut off; new calls wait or are rejected until the count is under the limit |
//!
//! # Partitions
//!
//! Named shares of the one limit, as Netflix's partitioned limiter has them: with
//! `.partition("live", 0.7).partition("batch", 0.3)`, live calls are guaranteed `⌊0.7 × limit⌋`
//! places and batch calls `⌊0.3 × limit⌋`; calls of no named partition belong to `"default"`,
//! guaranteed what the named shares leave (here nothing). A call is admitted while the calls in
//! flight are below the limit, or while its partition is below its guaranteed part:
//!
//! - a partition may exceed its part only while the others leave room (the limit is not
//!   reached), so batch work can use the whole limit at night;
//! - when live calls arrive and find the limit taken by borrowed batch calls, they are admitted
//!   anyway up to their part, and batch calls are turned away until the borrowed places come
//!   back: the total exceeds the limit meanwhile, by at most what was borrowed.
//!
//! Choose the partition per call with [`AdaptiveLimit::partition`] (a handle for that
//! partition's calls), or per request in tower with [`AdaptiveLayer::partition_by`].
//!
//! # Costs
//!
//! Without waiting, admission is one compare-and-swap and no lock. Each finished call reads the
//! clock (it was read once at admission too) and adds itself to the window with a few atomic
//! operations, no lock; once per window, the call that completes it runs the algorithm under a
//! lock it takes without waiting (if another call holds it, that one closes the window). With waiting on, admission and release take the
//! waiters' lock too, and a waiter that gives up is found in the line by a scan (the line is at
//! most `max_waiting` long).
//!
//! # Sharing
//!
//! `AdaptiveLimit` is a cheap handle around one shared state: every clone, every layer and every
//! service made from it share one limit.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Error, Timeout, adaptive::{AdaptiveLimit, Vegas}};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! // A deadline around the limiter: calls it cuts off teach the limiter they were too slow.
//! let limit = AdaptiveLimit::builder().algorithm(Vegas::new()).name("search").build()?;
//! let policy = Timeout::new(Duration::from_millis(200))?.wrap(limit.clone());
//!
//! match policy.call(|| async { Ok::<_, std::io::Error>("hits") }).await {
//!     Ok(hits) => assert_eq!(hits, "hits"),
//!     Err(Error::ConcurrencyLimited(limited)) => println!("shed: {limited}"),
//!     Err(other) => println!("failed: {other}"),
//! }
//! assert_eq!(limit.snapshot().limit, 20);
//! # Ok(())
//! # }
//! ```
//!
//! [concurrency-limits]: https://github.com/Netflix/concurrency-limits

mod aimd;
mod algorithm;
mod builder;
pub(crate) mod core;
mod error;
mod events;
pub(crate) mod future;
mod gradient;
#[cfg(feature = "tower")]
mod layer;
mod vegas;

use std::future::Future;

pub(crate) use self::core::AdaptiveState;
pub use aimd::Aimd;
pub use algorithm::{LimitAlgorithm, Sample};
pub use builder::{AdaptiveLimitBuilder, SampleWindow, WaitOrder};
pub use error::ConcurrencyLimited;
pub use events::AdaptiveEvent;
#[cfg(feature = "tower")]
pub(crate) use future::AdaptiveCall;
pub(crate) use future::AdaptiveLimited;
pub use gradient::Gradient2;
#[cfg(feature = "tower")]
pub use layer::{AdaptiveLayer, AdaptiveService, ChoosePartition, PartitionBy};
pub use vegas::Vegas;

use crate::{
    Classify, ErrorIsFailure, Name, Operation,
    policy::{Apply, CallFuture, OperationFn},
    sync::Arc,
};

/// A concurrency limit that moves with the round trips and drops it measures.
///
/// Named for what the user gets, a limit that adapts, and apart from tower's
/// `ConcurrencyLimit` (static) and failguard's [`Bulkhead`](crate::Bulkhead) (static, with its
/// own waiting rules). A cheap `Clone` handle: every clone and layer share one limit. `C` is the
/// shared predicate that says which outcomes are drops ([`ErrorIsFailure`] unless the builder's
/// [`classify`](AdaptiveLimitBuilder::classify) says otherwise).
///
/// # Panics
///
/// A call that waits (with `max_wait` set) arms a tokio timer, which panics outside a Tokio
/// runtime with the time driver. Every call reads `tokio::time::Instant`, which follows a paused
/// clock.
///
/// # Cancel safety
///
/// Dropping a call frees its place at once; see [its call state](crate::parts::AdaptiveCall).
///
/// # Examples
///
/// As a combinator and as a tower layer, sharing one limit:
///
/// ```
/// use failguard::{Error, adaptive::AdaptiveLimit};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let limit = AdaptiveLimit::builder().build()?;
/// assert_eq!(limit.call(|| async { Ok::<_, std::io::Error>(1) }).await?, 1);
///
/// let mut svc = ServiceBuilder::new()
///     .layer(limit.layer())
///     .map_err(Error::Inner)
///     .service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x + 1) });
/// assert_eq!(svc.ready().await?.call(1).await?, 2);
/// assert_eq!(limit.snapshot().in_flight, 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AdaptiveLimit<C = ErrorIsFailure> {
    state: Arc<AdaptiveState>,
    classify: C,
    /// The partition its calls belong to (0: the default one).
    partition: usize,
}

impl<C: Clone> Clone for AdaptiveLimit<C> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            classify: self.classify.clone(),
            partition: self.partition,
        }
    }
}

/// What an [`AdaptiveLimit`] is doing, read without a lock.
///
/// ```
/// let limit = failguard::adaptive::AdaptiveLimit::builder().build()?;
/// let s = limit.snapshot();
/// assert_eq!((s.limit, s.in_flight, s.waiting, s.rejected, s.dropped), (20, 0, 0, 0, 0));
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct AdaptiveSnapshot {
    /// The limiter's name.
    pub name: Name,
    /// The current limit.
    pub limit: usize,
    /// Calls in flight.
    pub in_flight: usize,
    /// Calls waiting for a place.
    pub waiting: usize,
    /// Calls rejected since the limiter was built.
    pub rejected: u64,
    /// Calls recorded as drops since the limiter was built.
    pub dropped: u64,
    /// Each partition's calls in flight, the default partition first (`"default"`, whatever
    /// share the named ones leave).
    pub partitions: Vec<PartitionSnapshot>,
}

/// One partition of an [`AdaptiveLimit`], in its [snapshot](AdaptiveSnapshot).
///
/// ```
/// let limit = failguard::adaptive::AdaptiveLimit::builder().partition("live", 0.7).build()?;
/// let live = &limit.snapshot().partitions[1];
/// assert_eq!((live.name.as_str(), live.share, live.in_flight), ("live", 0.7, 0));
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PartitionSnapshot {
    /// The partition's name.
    pub name: Name,
    /// Its share of the limit, 0 to 1.
    pub share: f64,
    /// Its calls in flight.
    pub in_flight: usize,
}

impl AdaptiveLimit {
    /// A builder; every knob has a default, so `AdaptiveLimit::builder().build()` works (Vegas,
    /// starting at 20, rejecting at once when the limit is reached).
    ///
    /// ```
    /// let limit = failguard::adaptive::AdaptiveLimit::builder().name("db").build()?;
    /// assert_eq!(limit.name(), "db");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> AdaptiveLimitBuilder {
        AdaptiveLimitBuilder::default()
    }
}

impl<C> AdaptiveLimit<C> {
    /// Calls `f` once it has a place under the limit, and learns from how it ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let limit = failguard::adaptive::AdaptiveLimit::builder().build()?;
    /// assert_eq!(limit.call(|| async { Ok::<_, std::io::Error>("done") }).await?, "done");
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F, Fut, T, E>(
        &self,
        f: F,
    ) -> CallFuture<AdaptiveLimited<OperationFn<F>, &AdaptiveState, C>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Classify<T, crate::Error<E>> + Clone,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// This limiter as a tower layer; the layer, its clones and its services share the limit.
    ///
    /// ```
    /// let layer = failguard::adaptive::AdaptiveLimit::builder().build()?.layer();
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> AdaptiveLayer<C>
    where
        C: Clone,
    {
        AdaptiveLayer::new(self.state.clone(), self.classify.clone(), self.partition)
    }

    crate::policy::wrap_method!("failguard::adaptive::AdaptiveLimit::builder().build()?");

    /// The limit, calls in flight, waiting, rejected and dropped, read without a lock.
    ///
    /// ```
    /// let limit = failguard::adaptive::AdaptiveLimit::builder().build()?;
    /// assert_eq!(limit.snapshot().in_flight, 0);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn snapshot(&self) -> AdaptiveSnapshot {
        AdaptiveSnapshot {
            name: self.state.name.clone(),
            limit: self.state.limit(),
            in_flight: self.state.in_flight(),
            waiting: self.state.waiting(),
            rejected: self.state.rejected(),
            dropped: self.state.dropped(),
            partitions: self
                .state
                .partitions
                .iter()
                .map(|p| PartitionSnapshot {
                    name: p.name.clone(),
                    share: p.share,
                    in_flight: p.in_flight(),
                })
                .collect(),
        }
    }

    /// The same limiter, for calls of the partition named `name`: they count against the one
    /// limit, with the partition's guaranteed part of it (see [Partitions](self#partitions)).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`](crate::ConfigError) if the builder named no such partition.
    ///
    /// ```
    /// use failguard::adaptive::AdaptiveLimit;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let limit = AdaptiveLimit::builder().partition("live", 0.7).partition("batch", 0.3).build()?;
    /// let batch = limit.partition("batch")?;
    /// batch.call(|| async { Ok::<_, std::io::Error>(()) }).await?;
    /// assert!(limit.partition("nightly").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn partition(&self, name: &str) -> Result<Self, crate::ConfigError>
    where
        C: Clone,
    {
        match self.state.partition_named(name) {
            Some(partition) => Ok(Self {
                partition,
                ..self.clone()
            }),
            None => Err(crate::ConfigError::new(
                "adaptive.partition",
                format!("no partition named `{name}`"),
            )),
        }
    }

    /// The limiter's name.
    ///
    /// ```
    /// let limit = failguard::adaptive::AdaptiveLimit::builder().build()?;
    /// assert_eq!(limit.name(), "adaptive-limit");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.state.name
    }
}

#[cfg(feature = "tower")]
impl<C: Clone> crate::policy::ToLayer for AdaptiveLimit<C> {
    type Layer = AdaptiveLayer<C>;

    fn layer(&self) -> Self::Layer {
        AdaptiveLimit::layer(self)
    }
}

crate::policy::typed_policy!(
    [C] AdaptiveLimit<C> => AdaptiveLimited<Op, &'a AdaptiveState, C>,
    where [C: Classify<T, crate::Error<E>> + Clone + Send + Sync]
);

impl<'a, Op, C> Apply<Op> for &'a AdaptiveLimit<C>
where
    Op: Operation,
    C: Classify<Op::Ok, Op::Error> + Clone,
{
    type Output = AdaptiveLimited<Op, &'a AdaptiveState, C>;

    fn apply(self, op: Op) -> Self::Output {
        AdaptiveLimited {
            op,
            state: Some(&*self.state),
            classify: self.classify.clone(),
            partition: self.partition,
        }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op, C> Apply<Op> for AdaptiveLimit<C>
where
    Op: Operation,
    C: Classify<Op::Ok, Op::Error> + Clone,
{
    type Output = AdaptiveLimited<Op, Arc<AdaptiveState>, C>;

    fn apply(self, op: Op) -> Self::Output {
        AdaptiveLimited {
            op,
            state: Some(self.state),
            classify: self.classify,
            partition: self.partition,
        }
    }
}
