//! Composition: policies that wrap operations, and policies that wrap policies.
//!
//! Each policy works on an [`Operation`], something that makes one call when asked. The user's
//! closure becomes the innermost operation ([`OperationFn`]), its error lifted once into
//! [`Error<E>`]; each policy [`Apply`]s itself around the operation inside it and yields a new
//! operation with the *same* error type, so a stack of any depth returns one flat `Error<E>`.
//!
//! Most policies call their inner operation once ([`Operation::call_once`]); a retry calls it
//! again for every attempt ([`OperationMut::call_mut`]), which is why the user's closure must be
//! `FnMut` only when a retry is in the stack.
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

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;

use crate::{Error, PolicyError};

/// One call of the operation a policy protects: made once, consuming the operation.
///
/// Implemented by the user's closure (through [`OperationFn`]) and by every policy applied around
/// an operation. You rarely name this trait: it shows up in the bounds of
/// [`Policy::call`].
pub trait Operation {
    /// The value of a successful call.
    type Ok;
    /// The error of a failed or rejected call.
    type Error: PolicyError;
    /// The call in flight.
    type Future: Future<Output = Result<Self::Ok, Self::Error>>;

    /// Makes the call.
    fn call_once(self) -> Self::Future;
}

/// An [`Operation`] that can be called again, as a retry does for each attempt.
pub trait OperationMut: Operation {
    /// Makes another call.
    fn call_mut(&mut self) -> Self::Future;
}

/// The user's closure as the innermost [`Operation`]: its `Result<T, E>` becomes
/// `Result<T, Error<E>>`.
///
/// `FnOnce` closures are operations; `FnMut` closures can also be called again
/// ([`OperationMut`]), which a retry needs.
#[derive(Debug, Clone)]
pub struct OperationFn<F>(pub F);

impl<F, Fut, T, E> Operation for OperationFn<F>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Ok = T;
    type Error = Error<E>;
    type Future = Lifted<Fut>;

    fn call_once(self) -> Self::Future {
        Lifted::new((self.0)())
    }
}

impl<F, Fut, T, E> OperationMut for OperationFn<F>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    fn call_mut(&mut self) -> Self::Future {
        Lifted::new((self.0)())
    }
}

pin_project! {
    /// A future whose error is lifted into [`Error::Inner`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future; nothing else happens.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Lifted<F> {
        #[pin]
        inner: F,
    }
}

impl<F> Lifted<F> {
    /// Lifts `inner`'s error into [`Error::Inner`].
    pub fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<F, T, E> Future for Lifted<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, Error<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.poll(cx) {
            Poll::Ready(result) => Poll::Ready(result.map_err(Error::Inner)),
            Poll::Pending => Poll::Pending,
        }
    }
}

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
pub type Call<'a, P, F> = <<&'a P as Apply<OperationFn<F>>>::Output as Operation>::Future;

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
        self.apply(OperationFn(f)).call_once()
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
    outer: O,
    inner: I,
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

impl<'a, O, I, Op> Apply<Op> for &'a Wrap<O, I>
where
    &'a I: Apply<Op>,
    &'a O: Apply<<&'a I as Apply<Op>>::Output>,
{
    type Output = <&'a O as Apply<<&'a I as Apply<Op>>::Output>>::Output;

    fn apply(self, op: Op) -> Self::Output {
        self.outer.apply(self.inner.apply(op))
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
