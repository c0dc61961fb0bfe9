//! Composition: policies that wrap operations, and policies that wrap policies.
//!
//! Each policy works on an [`Operation`], something that makes one call when asked. The user's
//! closure becomes the innermost operation ([`OperationFn`]), its error lifted once into
//! [`Error<E>`](crate::Error); each policy [`Apply`]s itself around the operation inside it and yields a new
//! operation with the *same* error type, so a stack of any depth returns one flat `Error<E>`.
//!
//! Most policies make one call of their inner operation ([`Operation::poll_once`]); a retry makes
//! one for every attempt ([`OperationMut::poll_mut`]), which is why the user's closure must be
//! `FnMut` only when a retry is in the stack.
//!
//! # Holding a stack
//!
//! - **By its own type**, in a struct or a `static`: `Wrap<Wrap<Retry, CircuitBreaker>, Timeout>`
//!   and so on. Nothing is boxed and nothing allocates per call.
//! - **Behind one type**, [`BoxPolicy<T, E>`](BoxPolicy), for a stack chosen at run time (from
//!   configuration) or stored where its full type is a chore; a few allocations per call.
//! - **To read a policy's figures** (a breaker's [`snapshot`](crate::CircuitBreaker::snapshot)),
//!   keep a clone of its handle before wrapping it: handles share their state, so the clone sees
//!   every call made through the stack.
//!
//! ```
//! use std::time::Duration;
//! use failguard::{CircuitBreaker, Policy, Timeout};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let breaker = CircuitBreaker::builder().name("users").build()?;
//! let policy = breaker.clone().wrap(Timeout::new(Duration::from_secs(1))?);
//! policy.call(|| async { Ok::<_, std::io::Error>(()) }).await.unwrap();
//! assert_eq!(breaker.snapshot().calls, 1); // the kept clone sees the stack's calls
//! # Ok(())
//! # }
//! ```
//!
//! # Admission is lazy
//!
//! A policy decides when its call is first polled, not when the future is built, and it makes
//! the call inside it (calls the operation inside it, or the inner tower service) only once it
//! has admitted the call. A call waiting in an outer bulkhead or queue is not yet known to the
//! policies inside it: an inner breaker judges it when it actually starts, so nothing reaches a
//! dependency through a breaker that opened while the call waited, a call the breaker rejects
//! never takes a place in a bulkhead inside it, and a slow-call clock starts when the call runs.
//! Under a retry each attempt is admitted afresh, and the closure is called only for attempts
//! that were let through. resilience4j and Polly behave the same way.
//!
//! What each tower layer's readiness means:
//!
//! | layer | `poll_ready` | `call` | the future's first poll |
//! |---|---|---|---|
//! | circuit breaker, bulkhead | the inner service's | moves the ready inner service into the future (a clone stays behind) | admits (or waits), then calls the inner service |
//! | retry | the inner service's | the same | makes the first attempt; later attempts wait for readiness again |
//! | timeout, fallback | the inner service's | calls the inner service (nothing to admit) | starts the clock if still pending |
//! | queue | always ready (the queue sheds instead) | submits on a worker | waits for the outcome |
//!
//! # Every permit is a guard
//!
//! A permit (a breaker's probe slot, a bulkhead's slot) is owned, from the moment it is taken
//! until its outcome is recorded, by a value whose `Drop` gives it back. A panic in the user's
//! closure, an inner service's `call` or future, or a classifier unwinds through that value and
//! returns the permit: a half-open breaker never stays stuck on a probe that panicked.
//!
//! # A queue owns what it runs
//!
//! A [`Queue`](crate::Queue) runs its calls on worker tasks, so what it runs must be `'static`.
//! `queue.wrap(inner)` clones the policies in `inner` (cheap handles sharing their state) into
//! each queued operation, so the stack can be used from [`call`](Policy::call) with borrowed
//! handles, in any shape of chain (`queue.wrap(a).wrap(b)`, `queue.wrap(a.wrap(b))`,
//! `fallback.wrap(queue).wrap(a)`).
//!
//! [`Wrap`] puts one policy around another and is itself a [`Policy`]: usable with
//! [`call`](Policy::call) and, with the `tower` feature, as one tower layer.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Error, Fallback, Policy, Timeout};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! // Outermost first: a fallback around an overall timeout around a per-attempt timeout.
//! let policy = Fallback::value("cached")
//!     .wrap(Timeout::new(Duration::from_secs(2))?)
//!     .wrap(Timeout::new(Duration::from_millis(500))?);
//!
//! let fast = policy.call(|| async { Ok::<_, std::io::Error>("fresh") }).await;
//! assert_eq!(fast.unwrap(), "fresh");
//!
//! let slow = policy
//!     .call(|| async {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         Ok::<_, std::io::Error>("fresh")
//!     })
//!     .await;
//! assert_eq!(slow.unwrap(), "cached");
//! # Ok(())
//! # }
//! ```

mod around;
mod boxed;
mod operation;

pub use around::{Around, Chain, ToOwnedPolicy};
pub use boxed::{BoxFuture, BoxPolicy, CallBoxed, DynPolicy};
#[cfg(feature = "tower")]
pub use operation::ServiceOp;
pub use operation::{
    Applied, CallFuture, Deferred, FutureOp, Lifted, Operation, OperationFn, OperationMut, Outcome,
};

/// Puts a policy around an operation, giving a new operation.
///
/// Implemented for `&P` by every policy `P`, so the operations it makes may borrow the policy
/// instead of cloning its state for every call. This is tower's `Layer` for operations; you only
/// implement it to write a policy of your own.
pub trait Apply<Op> {
    /// The operation with the policy around it.
    type Output: Operation;

    /// Wraps `op`.
    fn apply(self, op: Op) -> Self::Output;
}

/// The future of [`Policy::call`] for policy `P` and closure `F`.
pub type Call<'a, P, F> = CallFuture<<&'a P as Apply<OperationFn<F>>>::Output>;

/// A resilience policy: call an operation through it, wrap another policy in it, or use it as a
/// tower layer.
///
/// Every failguard policy ([`Timeout`](crate::Timeout), [`Fallback`](crate::Fallback), ...) and
/// every composition of them ([`Wrap`]) implements it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{Policy, Timeout};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = Timeout::new(Duration::from_secs(5))?.wrap(Timeout::new(Duration::from_secs(1))?);
/// let value = policy.call(|| async { Ok::<_, std::io::Error>(7) }).await?;
/// assert_eq!(value, 7);
/// # Ok(())
/// # }
/// ```
pub trait Policy {
    /// The tower layer of this policy.
    #[cfg(feature = "tower")]
    type Layer;

    /// This policy as a tower layer. The layer shares the policy's state (a breaker's window, a
    /// bulkhead's permits) with the policy and with every clone of the layer and its services.
    #[cfg(feature = "tower")]
    fn layer(&self) -> Self::Layer;

    /// Calls `f` through the policy: the closure makes the operation's future, and its
    /// `Result<T, E>` comes back as `Result<T, Error<E>>`.
    ///
    /// The closure may be `FnOnce` unless a retry is in the stack, which calls it again for every
    /// attempt.
    fn call<'a, F>(&'a self, f: F) -> Call<'a, Self, F>
    where
        &'a Self: Apply<OperationFn<F>>,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// Puts this policy around `inner`: calls go through `self` first, then `inner`.
    ///
    /// Chains read outermost first: `a.wrap(b).wrap(c)` runs `a(b(c(op)))`.
    fn wrap<I>(self, inner: I) -> Wrap<Self, I>
    where
        Self: Sized,
        I: Policy,
    {
        Wrap { outer: self, inner }
    }
}

/// One policy around another, itself a [`Policy`]. Made by [`Policy::wrap`].
///
/// Cloning it clones both policies, which share their state with the originals.
#[derive(Debug, Clone)]
pub struct Wrap<O, I> {
    pub(crate) outer: O,
    pub(crate) inner: I,
}

impl<O, I> Wrap<O, I> {
    /// The outer policy.
    pub fn outer(&self) -> &O {
        &self.outer
    }

    /// The inner policy.
    pub fn inner(&self) -> &I {
        &self.inner
    }
}

impl<O: Policy, I: Policy> Policy for Wrap<O, I> {
    #[cfg(feature = "tower")]
    type Layer = WrapLayer<O::Layer, I::Layer>;

    #[cfg(feature = "tower")]
    fn layer(&self) -> Self::Layer {
        WrapLayer {
            outer: self.outer.layer(),
            inner: self.inner.layer(),
        }
    }
}

/// The tower layer of a [`Wrap`]: `outer` around `inner` around the service.
#[cfg(feature = "tower")]
#[derive(Debug, Clone)]
pub struct WrapLayer<O, I> {
    outer: O,
    inner: I,
}

#[cfg(feature = "tower")]
impl<S, O, I> tower_layer::Layer<S> for WrapLayer<O, I>
where
    I: tower_layer::Layer<S>,
    O: tower_layer::Layer<I::Service>,
{
    type Service = O::Service;

    fn layer(&self, service: S) -> Self::Service {
        self.outer.layer(self.inner.layer(service))
    }
}
