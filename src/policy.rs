//! Composition: policies that wrap operations, and policies that wrap policies.
//!
//! Each policy works on an [`Operation`], something that makes one call when asked. The user's
//! closure becomes the innermost operation ([`OperationFn`]), its error lifted once into
//! [`Error<E>`]; each policy [`Apply`]s itself around the operation inside it and yields a new
//! operation with the *same* error type, so a stack of any depth returns one flat `Error<E>`.
//!
//! Most policies make one call of their inner operation ([`Operation::poll_once`]); a retry makes
//! one for every attempt ([`OperationMut::poll_mut`]), which is why the user's closure must be
//! `FnMut` only when a retry is in the stack.
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

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;

use crate::{Error, PolicyError};

/// Something a policy protects: it makes one call when its policies have admitted it.
///
/// A call is two values: the operation (the user's closure, with each policy around it) and the
/// call's state ([`Operation::Call`]), which [`start`](Operation::start) makes inert and each
/// poll drives, with the operation lent to it. That split is what makes admission lazy: a
/// policy's state decides on its first poll (a breaker's permit, a bulkhead's wait) and only
/// then asks the operation inside it to make its call, so nothing runs (not even the user's
/// closure) until every policy around it has said yes.
///
/// You rarely name this trait: it shows up in the bounds of [`Policy::call`], and you implement
/// it only to write a policy of your own.
pub trait Operation {
    /// The value of a successful call.
    type Ok;
    /// The error of a failed or rejected call.
    type Error: PolicyError;
    /// The state of one call. Inert until polled; dropping it cancels the call and gives back
    /// whatever it holds.
    type Call;

    /// A new call, not yet started. Nothing happens until it is polled.
    fn start(&self) -> Self::Call;

    /// Drives `call`, a value from [`start`](Operation::start), to its outcome. An operation
    /// that can run only once (a `FnOnce` closure) is spent by it: drive one call per operation
    /// this way.
    fn poll_once(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Ok, Self::Error>>;
}

/// An [`Operation`] that can make call after call, as a retry does for each attempt.
pub trait OperationMut: Operation {
    /// Drives `call` like [`poll_once`](Operation::poll_once), leaving the operation able to
    /// start another call.
    fn poll_mut(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Ok, Self::Error>>;
}

/// The user's closure as the innermost [`Operation`]: its `Result<T, E>` becomes
/// `Result<T, Error<E>>`.
///
/// The closure is called when the call's state is first polled, after every policy around it
/// has admitted the call. `FnOnce` closures are operations; `FnMut` closures can also be called
/// again ([`OperationMut`]), which a retry needs.
#[derive(Debug, Clone)]
pub struct OperationFn<F>(Option<F>);

impl<F> OperationFn<F> {
    /// The closure `f` as an operation.
    pub fn new(f: F) -> Self {
        Self(Some(f))
    }
}

pin_project! {
    /// The state of one call of an [`OperationFn`] (or of a tower service): not yet made, then
    /// the call's future.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Deferred<Fut> {
        #[pin]
        state: DeferredState<Fut>,
    }
}

pin_project! {
    #[project = DeferredProj]
    #[derive(Debug)]
    enum DeferredState<Fut> {
        Idle,
        Running { #[pin] future: Fut },
    }
}

impl<Fut> Deferred<Fut> {
    /// A call not made yet.
    pub(crate) const IDLE: Self = Self {
        state: DeferredState::Idle,
    };
}

impl<Fut: Future> Deferred<Fut> {
    /// Whether the call is still to be made.
    #[cfg(feature = "tower")]
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.state, DeferredState::Idle)
    }

    /// Makes the call with `make` on the first poll, then polls its future.
    #[inline]
    pub(crate) fn poll_with(
        self: Pin<&mut Self>,
        make: impl FnOnce() -> Fut,
        cx: &mut Context<'_>,
    ) -> Poll<Fut::Output> {
        let mut state = self.project().state;
        if let DeferredProj::Idle = state.as_mut().project() {
            state.set(DeferredState::Running { future: make() });
        }
        match state.project() {
            DeferredProj::Running { future } => future.poll(cx),
            DeferredProj::Idle => unreachable!("the call was made above"),
        }
    }
}

#[inline]
fn lift<T, E>(poll: Poll<Result<T, E>>) -> Poll<Result<T, Error<E>>> {
    match poll {
        Poll::Ready(result) => Poll::Ready(result.map_err(Error::Inner)),
        Poll::Pending => Poll::Pending,
    }
}

impl<F, Fut, T, E> Operation for OperationFn<F>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Ok = T;
    type Error = Error<E>;
    type Call = Deferred<Fut>;

    #[inline]
    fn start(&self) -> Self::Call {
        Deferred::IDLE
    }

    #[inline]
    fn poll_once(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, Error<E>>> {
        let f = &mut self.0;
        lift(call.poll_with(|| spent(f.take())(), cx))
    }
}

impl<F, Fut, T, E> OperationMut for OperationFn<F>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    #[inline]
    fn poll_mut(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, Error<E>>> {
        let f = &mut self.0;
        lift(call.poll_with(|| spent(f.as_mut())(), cx))
    }
}

#[inline]
fn spent<F>(f: Option<F>) -> F {
    match f {
        Some(f) => f,
        None => panic!("an operation driven with `poll_once` makes one call only"),
    }
}

/// A future already made, as an [`Operation`] that makes one call: polling it.
///
/// For futures that are the call themselves ([`FutureExt`](crate::FutureExt), and the tower doors
/// of the policies that admit every call, whose inner service is called in `call`).
#[derive(Debug)]
pub struct FutureOp<F>(Option<F>);

impl<F> FutureOp<F> {
    /// `future` as an operation.
    pub fn new(future: F) -> Self {
        Self(Some(future))
    }
}

impl<F, T, E> Operation for FutureOp<F>
where
    F: Future<Output = Result<T, E>>,
    E: PolicyError,
{
    type Ok = T;
    type Error = E;
    type Call = Deferred<F>;

    #[inline]
    fn start(&self) -> Self::Call {
        Deferred::IDLE
    }

    #[inline]
    fn poll_once(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, E>> {
        let future = &mut self.0;
        call.poll_with(|| spent(future.take()), cx)
    }
}

/// A tower service and one request, as the innermost [`Operation`] of a failguard tower layer.
///
/// The service is a clone that `poll_ready` has already readied (the layer swaps it out of
/// itself, leaving a fresh clone behind), so the call can be made later, once every failguard
/// policy around it has admitted it, without asking for readiness again.
#[cfg(feature = "tower")]
#[derive(Debug)]
pub struct ServiceOp<S, Req> {
    service: S,
    request: Option<Req>,
}

#[cfg(feature = "tower")]
impl<S, Req> ServiceOp<S, Req> {
    /// Takes the ready service out of `slot`, leaving a clone (not yet ready) in its place, and
    /// pairs it with `request`.
    #[inline]
    pub(crate) fn take_ready(slot: &mut S, request: Req) -> Self
    where
        S: Clone,
    {
        let fresh = slot.clone();
        Self {
            service: std::mem::replace(slot, fresh),
            request: Some(request),
        }
    }
}

#[cfg(feature = "tower")]
impl<S, Req> Operation for ServiceOp<S, Req>
where
    S: tower_service::Service<Req>,
    S::Error: PolicyError,
{
    type Ok = S::Response;
    type Error = S::Error;
    type Call = Deferred<S::Future>;

    #[inline]
    fn start(&self) -> Self::Call {
        Deferred::IDLE
    }

    #[inline]
    fn poll_once(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<S::Response, S::Error>> {
        let Self { service, request } = self;
        call.poll_with(|| service.call(spent(request.take())), cx)
    }
}

pin_project! {
    /// The future of [`Policy::call`]: an operation and the state of its one call.
    ///
    /// # Cancel safety
    ///
    /// Dropping it cancels the call: each policy gives back what it holds (a probe permit, a
    /// bulkhead slot, a queued item) and records nothing.
    #[must_use = "futures do nothing unless polled"]
    pub struct CallFuture<Op>
    where
        Op: Operation,
    {
        op: Op,
        #[pin]
        call: Op::Call,
    }
}

impl<Op: Operation> CallFuture<Op> {
    /// The one call of `op`, not yet started.
    pub fn new(op: Op) -> Self {
        Self {
            call: op.start(),
            op,
        }
    }
}

impl<Op: Operation> Future for CallFuture<Op> {
    type Output = Result<Op::Ok, Op::Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        this.op.poll_once(this.call, cx)
    }
}

impl<Op: Operation> std::fmt::Debug for CallFuture<Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallFuture").finish_non_exhaustive()
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
    O: Around<'a, &'a I, Op> + 'a,
    I: 'a,
{
    type Output = O::Output;

    fn apply(self, op: Op) -> Self::Output {
        self.outer.around(&self.inner, op)
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<O, I, Op> Apply<Op> for Wrap<O, I>
where
    I: Apply<Op>,
    O: Apply<I::Output>,
{
    type Output = O::Output;

    fn apply(self, op: Op) -> Self::Output {
        self.outer.apply(self.inner.apply(op))
    }
}

/// How a policy goes around what is inside it in a [`Wrap`]: `In` is that, lent for the call
/// (`&'a I`, or a [`Chain`] of policies when wraps are chained, `a.wrap(b).wrap(c)`).
///
/// Most policies borrow what is inside them (`outer(inner(op))`, nothing cloned). A
/// [`Queue`](crate::Queue) runs the call later, on a worker, so it takes a clone of the policies
/// inside it (cheap handles sharing their state) and the operation it runs owns them:
/// `queue.wrap(breaker).wrap(timeout)` works with handles that do not outlive the call. You
/// implement it only for a policy of your own, as `self.apply(inner.apply(op))`.
pub trait Around<'a, In, Op> {
    /// The operation with this policy and what is inside it around `op`.
    type Output: Operation;

    /// Puts `self` around `inner` around `op`.
    fn around(&'a self, inner: In, op: Op) -> Self::Output;
}

/// Policies lent in a chain: `P` around `In`. Made by [`Wrap`] for the policy around it; you do
/// not make one.
#[derive(Debug)]
pub struct Chain<'a, P, In>(&'a P, In);

impl<'a, P, In, Op> Apply<Op> for Chain<'a, P, In>
where
    P: Around<'a, In, Op>,
{
    type Output = P::Output;

    #[inline]
    fn apply(self, op: Op) -> Self::Output {
        self.0.around(self.1, op)
    }
}

/// Policies lent for a call, made owned (by cloning the handles) for a call that outlives the
/// loan: what a [`Queue`](crate::Queue) does with the policies inside it.
pub trait ToOwnedPolicy {
    /// The owned policies.
    type Owned;

    /// Clones the policies.
    fn to_owned_policy(&self) -> Self::Owned;
}

impl<P: Clone> ToOwnedPolicy for &P {
    type Owned = P;

    fn to_owned_policy(&self) -> P {
        (*self).clone()
    }
}

impl<P: Clone, In: ToOwnedPolicy> ToOwnedPolicy for Chain<'_, P, In> {
    type Owned = Wrap<P, In::Owned>;

    fn to_owned_policy(&self) -> Self::Owned {
        Wrap {
            outer: self.0.clone(),
            inner: self.1.to_owned_policy(),
        }
    }
}

/// The policies that borrow what is inside them.
macro_rules! borrowing_around {
    ($([$($generics:tt)*] $policy:ty),* $(,)?) => {$(
        impl<'a, $($generics)* In, Op> Around<'a, In, Op> for $policy
        where
            Self: 'a,
            In: Apply<Op>,
            &'a $policy: Apply<In::Output>,
        {
            type Output = <&'a $policy as Apply<In::Output>>::Output;

            #[inline]
            fn around(&'a self, inner: In, op: Op) -> Self::Output {
                self.apply(inner.apply(op))
            }
        }
    )*};
}

borrowing_around!(
    [] crate::Timeout,
    [] crate::Bulkhead,
    [C,] crate::CircuitBreaker<C>,
    [W, R, H,] crate::Retry<W, R, H>,
    [A, W,] crate::Fallback<A, W>,
);

/// A chain: the outer policy goes around the inner one and what is inside the chain.
impl<'a, O, I, In, Op> Around<'a, In, Op> for Wrap<O, I>
where
    Self: 'a,
    O: Around<'a, Chain<'a, I, In>, Op>,
{
    type Output = O::Output;

    #[inline]
    fn around(&'a self, inner: In, op: Op) -> Self::Output {
        self.outer.around(Chain(&self.inner, inner), op)
    }
}

/// A queue owns what it runs: the policies inside it are cloned into the queued operation.
impl<'a, In, Op> Around<'a, In, Op> for crate::Queue
where
    In: ToOwnedPolicy,
    In::Owned: Apply<Op>,
    &'a crate::Queue: Apply<<In::Owned as Apply<Op>>::Output>,
{
    type Output = <&'a crate::Queue as Apply<<In::Owned as Apply<Op>>::Output>>::Output;

    #[inline]
    fn around(&'a self, inner: In, op: Op) -> Self::Output {
        self.apply(inner.to_owned_policy().apply(op))
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
