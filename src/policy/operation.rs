//! Operations: what a policy protects, and the state of one call of it.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;

use crate::{
    Error, PolicyError,
    lift::{LiftError, LiftedError},
};

/// Something a policy protects: it makes one call when its policies have admitted it.
///
/// A call is two values: the operation (the user's closure, with each policy around it) and the
/// call's state ([`Operation::Call`]), which [`start`](Operation::start) makes inert and each
/// poll drives, with the operation lent to it. That split is what makes admission lazy: a
/// policy's state decides on its first poll (a breaker's permit, a bulkhead's wait) and only
/// then asks the operation inside it to make its call, so nothing runs (not even the user's
/// closure) until every policy around it has said yes.
///
/// You rarely name this trait: it shows up in the bounds of [`Policy::call`](super::Policy::call), and you implement
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

/// A policy applied to an inner operation: the one piece each policy writes, from which
/// [`Operation`] and (when the inner operation can call again) [`OperationMut`] follow.
///
/// `poll_with` is the policy's logic, written once; it reaches the call inside through
/// `poll_inner`, which is the inner operation's `poll_once` or `poll_mut`.
pub trait Applied {
    /// The operation inside the policy.
    type Inner: Operation;
    /// The state of one call under the policy.
    type Call;

    /// A new call, not yet started.
    fn start(&self) -> Self::Call;

    /// Drives `call`, making the inner call through `poll_inner` once the policy admits it.
    fn poll_with<P>(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
        poll_inner: P,
    ) -> Poll<Outcome<Self::Inner>>
    where
        P: FnOnce(
            &mut Self::Inner,
            Pin<&mut <Self::Inner as Operation>::Call>,
            &mut Context<'_>,
        ) -> Poll<Outcome<Self::Inner>>;
}

/// The outcome of one call of `Op`.
pub type Outcome<Op> = Result<<Op as Operation>::Ok, <Op as Operation>::Error>;

impl<A: Applied> Operation for A {
    type Ok = <A::Inner as Operation>::Ok;
    type Error = <A::Inner as Operation>::Error;
    type Call = A::Call;

    #[inline]
    fn start(&self) -> Self::Call {
        Applied::start(self)
    }

    #[inline(always)]
    fn poll_once(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Outcome<A::Inner>> {
        self.poll_with(call, cx, <A::Inner as Operation>::poll_once)
    }
}

impl<A> OperationMut for A
where
    A: Applied,
    A::Inner: OperationMut,
{
    #[inline(always)]
    fn poll_mut(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Outcome<A::Inner>> {
        self.poll_with(call, cx, <A::Inner as OperationMut>::poll_mut)
    }
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

    /// A call already made: its future, placed in the call state from the start so it is not
    /// moved on the first poll.
    pub(crate) fn made(future: Fut) -> Self {
        Self {
            state: DeferredState::Running { future },
        }
    }
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
/// of the policies that admit every call, whose inner service is called in `call`). The future's
/// error is the operation's, through [`LiftError`]: unchanged when it is a [`PolicyError`],
/// `Error<Infallible>` when the future cannot fail.
#[derive(Debug)]
pub struct FutureOp<F>(Option<F>);

impl<F> FutureOp<F> {
    /// `future` as an operation.
    pub fn new(future: F) -> Self {
        Self(Some(future))
    }

    /// An operation whose future is already in its call state ([`Deferred::made`]).
    pub(crate) fn made() -> Self {
        Self(None)
    }
}

impl<F, T, E> Operation for FutureOp<F>
where
    F: Future<Output = Result<T, E>>,
    E: LiftError,
{
    type Ok = T;
    type Error = LiftedError<E>;
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
    ) -> Poll<Result<T, LiftedError<E>>> {
        let future = &mut self.0;
        call.poll_with(|| spent(future.take()), cx)
            .map_err(LiftError::lift)
    }
}

/// A tower service and one request, as the innermost [`Operation`] of a failguard tower layer.
///
/// Its error is the service's, through [`LiftError`]: unchanged when it is a [`PolicyError`],
/// `Error<Infallible>` when the service cannot fail.
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
    S::Error: LiftError,
{
    type Ok = S::Response;
    type Error = LiftedError<S::Error>;
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
    ) -> Poll<Result<S::Response, LiftedError<S::Error>>> {
        let Self { service, request } = self;
        call.poll_with(|| service.call(spent(request.take())), cx)
            .map_err(LiftError::lift)
    }
}

pin_project! {
    /// The future of [`Policy::call`](super::Policy::call): an operation and the state of its one call.
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

    /// The one call of `op`, whose state the caller made (a tower door moving its handle into
    /// the call rather than cloning it twice, or a future placed in its call state).
    pub(crate) fn from_parts(op: Op, call: Op::Call) -> Self {
        Self { op, call }
    }
}

impl<Op: Operation> Future for CallFuture<Op> {
    type Output = Result<Op::Ok, Op::Error>;

    // Always: the caller's loop should see the whole happy path. Out of line, the large
    // `Poll<Result<T, Error<E>>>` goes through memory, and reading it back stalls.
    #[inline(always)]
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

/// The future of a policy's inherent `call` for policy `P` and closure `F`
/// ([`Wrap::call`](crate::Wrap::call), [`Retry::call`](crate::Retry::call)).
pub type Call<'a, P, F> = CallFuture<<&'a P as Apply<OperationFn<F>>>::Output>;

/// An [`OperationMut`] with `Ok = T` and `Error = Error<E>` that is `Send` and whose calls
/// are `Send`: what [`Policy`](crate::Policy) puts its policies around. Implemented for every such operation.
pub trait SendOperation<T, E>: OperationMut<Ok = T, Error = Error<E>, Call: Send> + Send {}

impl<Op, T, E> SendOperation<T, E> for Op where
    Op: OperationMut<Ok = T, Error = Error<E>, Call: Send> + Send
{
}

/// A policy's tower face: what [`Wrap::layer`](crate::Wrap::layer) builds its layer from. Every failguard policy
/// implements it with its inherent `layer()`; you implement it only for a policy of your own.
///
/// ```
/// use failguard::parts::ToLayer;
///
/// fn layer_of<P: ToLayer>(policy: &P) -> P::Layer {
///     policy.layer()
/// }
/// let layer = layer_of(&failguard::Timeout::new(std::time::Duration::from_secs(1))?);
/// # let _ = layer;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[cfg(feature = "tower")]
pub trait ToLayer {
    /// The tower layer of this policy.
    type Layer;

    /// This policy as a tower layer. The layer shares the policy's state (a breaker's window, a
    /// bulkhead's permits) with the policy and with every clone of the layer and its services.
    fn layer(&self) -> Self::Layer;
}
