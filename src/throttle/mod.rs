//! Client-side adaptive throttling: reject locally, with a probability that rises as the
//! backend accepts less of what it is sent.
//!
//! When a backend is overloaded, rejecting requests still costs it: every request it turns away
//! was read, parsed and answered. The Google SRE book ("Handling Overload", *Client-side
//! throttling*) has each client keep, over a sliding window (2 minutes there), how many
//! requests it attempted and how many the backend accepted, and reject a new request locally
//! with probability
//!
//! ```text
//! max(0, (requests − K × accepts) / (requests + 1))
//! ```
//!
//! While the backend accepts at least one request in `K`, nothing is throttled. When it accepts
//! less, the client sends about `K` times what is accepted and rejects the rest itself, at no
//! cost to the backend: with `K = 2` a backend that can accept 10 requests a second receives
//! about 20, however many the clients want to send. A lower `K` is more aggressive (less
//! wasted work on the backend, a slower reaction when it recovers); the book uses 2.
//!
//! | a request that | counts as |
//! |---|---|
//! | was answered, classified a success by the shared predicate ([`Classify`]) | a request, accepted |
//! | was answered, classified a failure | a request, not accepted |
//! | was answered, classified ignored | nothing |
//! | was rejected locally by the throttle | a request, not accepted (as the book counts it) |
//! | was cut off by a failguard [`Timeout`](crate::Timeout) around it at its deadline | a request, not accepted |
//! | was cancelled otherwise | nothing |
//!
//! The window is the circuit breaker's time window ([`CircuitBreaker`](crate::CircuitBreaker)'s
//! `time_window`): buckets expired lazily, lock-free, O(1) per request. Random draws go through
//! `rand`, seedable ([`seed`](AdaptiveThrottleBuilder::seed)); none is made while the backend
//! accepts enough.
//!
//! # Examples
//!
//! ```
//! use failguard::{Error, throttle::AdaptiveThrottle};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let throttle = AdaptiveThrottle::builder().k(2.0).name("search").build()?;
//! match throttle.call(|| async { Ok::<_, std::io::Error>("hits") }).await {
//!     Ok(hits) => assert_eq!(hits, "hits"),
//!     Err(Error::Throttled(throttled)) => println!("not sent: {throttled}"),
//!     Err(other) => println!("failed: {other}"),
//! }
//! assert_eq!(throttle.snapshot().probability, 0.0);
//! # Ok(())
//! # }
//! ```

mod builder;
pub(crate) mod core;
mod error;
mod events;
pub(crate) mod future;
#[cfg(feature = "tower")]
mod layer;

use std::future::Future;

use tokio::time::Instant;

pub(crate) use self::core::ThrottleState;
pub use builder::AdaptiveThrottleBuilder;
pub use error::Throttled;
pub use events::ThrottleEvent;
#[cfg(feature = "tower")]
pub(crate) use future::ThrottleCall;
pub(crate) use future::Throttling;
#[cfg(feature = "tower")]
pub use layer::{ThrottleLayer, ThrottleService};

use crate::{
    Classify, ErrorIsFailure, Name, Operation,
    policy::{Apply, CallFuture, OperationFn},
    sync::Arc,
};

/// Rejects requests locally as the backend accepts less of them (the SRE book's client-side
/// throttling).
///
/// A cheap `Clone` handle: every clone and layer share one window. `C` is the shared predicate
/// that says which answers were accepted.
///
/// # Cancel safety
///
/// Dropping a call holds nothing back; see [its call state](crate::parts::ThrottleCall).
///
/// # Examples
///
/// As a combinator and as a tower layer, sharing one window:
///
/// ```
/// use failguard::{Error, throttle::AdaptiveThrottle};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let throttle = AdaptiveThrottle::builder().build()?;
/// assert_eq!(throttle.call(|| async { Ok::<_, std::io::Error>(1) }).await?, 1);
///
/// let mut svc = ServiceBuilder::new()
///     .layer(throttle.layer())
///     .map_err(Error::Inner)
///     .service_fn(|x: u32| async move { Ok::<_, std::io::Error>(x + 1) });
/// assert_eq!(svc.ready().await?.call(1).await?, 2);
/// assert_eq!(throttle.snapshot().requests, 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AdaptiveThrottle<C = ErrorIsFailure> {
    state: Arc<ThrottleState>,
    classify: C,
}

impl<C: Clone> Clone for AdaptiveThrottle<C> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            classify: self.classify.clone(),
        }
    }
}

/// What an [`AdaptiveThrottle`] sees now, read without a lock.
///
/// ```
/// let throttle = failguard::throttle::AdaptiveThrottle::builder().build()?;
/// let s = throttle.snapshot();
/// assert_eq!((s.requests, s.accepts, s.throttled, s.probability), (0, 0, 0, 0.0));
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ThrottleSnapshot {
    /// The throttle's name.
    pub name: Name,
    /// Requests in the window, locally rejected ones included.
    pub requests: u64,
    /// Requests the backend accepted in the window.
    pub accepts: u64,
    /// The probability a request now is rejected locally.
    pub probability: f64,
    /// Requests rejected locally since the throttle was built.
    pub throttled: u64,
}

impl AdaptiveThrottle {
    /// A builder; every knob has a default (`K` = 2, a window of 2 minutes).
    ///
    /// ```
    /// let throttle = failguard::throttle::AdaptiveThrottle::builder().name("db").build()?;
    /// assert_eq!(throttle.name(), "db");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> AdaptiveThrottleBuilder {
        AdaptiveThrottleBuilder::default()
    }
}

impl<C> AdaptiveThrottle<C> {
    /// Calls `f` unless the throttle rejects the request locally, and records whether the
    /// backend accepted it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let throttle = failguard::throttle::AdaptiveThrottle::builder().build()?;
    /// assert_eq!(throttle.call(|| async { Ok::<_, std::io::Error>("done") }).await?, "done");
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F, Fut, T, E>(
        &self,
        f: F,
    ) -> CallFuture<Throttling<OperationFn<F>, &ThrottleState, C>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Classify<T, crate::Error<E>> + Clone,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// This throttle as a tower layer; the layer, its clones and its services share the window.
    ///
    /// ```
    /// let layer = failguard::throttle::AdaptiveThrottle::builder().build()?.layer();
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> ThrottleLayer<C>
    where
        C: Clone,
    {
        ThrottleLayer::new(self.state.clone(), self.classify.clone())
    }

    crate::policy::wrap_method!("failguard::throttle::AdaptiveThrottle::builder().build()?");

    /// Requests, accepts and the rejection probability now, read without a lock.
    ///
    /// ```
    /// let throttle = failguard::throttle::AdaptiveThrottle::builder().build()?;
    /// assert_eq!(throttle.snapshot().throttled, 0);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn snapshot(&self) -> ThrottleSnapshot {
        let counts = self.state.counts(Instant::now());
        ThrottleSnapshot {
            name: self.state.name.clone(),
            requests: counts.requests,
            accepts: counts.accepts,
            probability: counts.probability(self.state.k),
            throttled: self.state.throttled(),
        }
    }

    /// The throttle's name.
    ///
    /// ```
    /// let throttle = failguard::throttle::AdaptiveThrottle::builder().build()?;
    /// assert_eq!(throttle.name(), "adaptive-throttle");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.state.name
    }
}

#[cfg(feature = "tower")]
impl<C: Clone> crate::policy::ToLayer for AdaptiveThrottle<C> {
    type Layer = ThrottleLayer<C>;

    fn layer(&self) -> Self::Layer {
        AdaptiveThrottle::layer(self)
    }
}

crate::policy::typed_policy!(
    [C] AdaptiveThrottle<C> => Throttling<Op, &'a ThrottleState, C>,
    where [C: Classify<T, crate::Error<E>> + Clone + Send + Sync]
);

impl<'a, Op, C> Apply<Op> for &'a AdaptiveThrottle<C>
where
    Op: Operation,
    C: Classify<Op::Ok, Op::Error> + Clone,
{
    type Output = Throttling<Op, &'a ThrottleState, C>;

    fn apply(self, op: Op) -> Self::Output {
        Throttling {
            op,
            state: Some(&*self.state),
            classify: self.classify.clone(),
        }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op, C> Apply<Op> for AdaptiveThrottle<C>
where
    Op: Operation,
    C: Classify<Op::Ok, Op::Error> + Clone,
{
    type Output = Throttling<Op, Arc<ThrottleState>, C>;

    fn apply(self, op: Op) -> Self::Output {
        Throttling {
            op,
            state: Some(self.state),
            classify: self.classify,
        }
    }
}
