//! The fleet's policies around an operation: the state of one call, shared by both front doors.

use std::{
    borrow::Borrow,
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;

use super::{GlobalRateLimiter, breaker::Gate};
use crate::{
    Operation, PolicyError, Rejection,
    error::RateLimited,
    policy::{Applied, Outcome},
};

/// An operation with a [`GlobalRateLimiter`] around it; `L` holds the limiter (borrowed by the
/// combinator, owned in tower).
#[derive(Debug, Clone)]
pub struct GloballyLimited<Op, L> {
    pub(crate) op: Op,
    pub(crate) limiter: L,
}

type Lease = Pin<Box<dyn Future<Output = Result<(), RateLimited>> + Send>>;

pin_project! {
    /// The state of one call under a [`GlobalRateLimiter`]: on its first poll it takes a permit
    /// from the lease (no allocation, no round trip), or asks the store for a new lease (a boxed
    /// future, once per `lease` calls, never waiting past the fleet's bound), then makes the
    /// call inside.
    ///
    /// # Cancel safety
    ///
    /// Dropping it while it waits for a lease loses no permit: a lease that arrives is kept for
    /// the next call.
    #[must_use = "futures do nothing unless polled"]
    pub struct GlobalLimitCall<Inner> {
        #[pin]
        inner: Inner,
        lease: Option<Lease>,
        phase: Phase,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Leasing,
    Running,
    Done,
}

impl<Inner> fmt::Debug for GlobalLimitCall<Inner> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalLimitCall")
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl<Op, L> Applied for GloballyLimited<Op, L>
where
    Op: Operation,
    L: Borrow<GlobalRateLimiter>,
{
    type Inner = Op;
    type Call = GlobalLimitCall<Op::Call>;

    #[inline]
    fn start(&self) -> Self::Call {
        GlobalLimitCall {
            inner: self.op.start(),
            lease: None,
            phase: Phase::Start,
        }
    }

    fn poll_with<P>(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
        poll_inner: P,
    ) -> Poll<Outcome<Op>>
    where
        P: FnOnce(&mut Op, Pin<&mut Op::Call>, &mut Context<'_>) -> Poll<Outcome<Op>>,
    {
        let this = call.project();
        loop {
            match *this.phase {
                Phase::Running => {
                    let result = ready!(poll_inner(&mut self.op, this.inner, cx));
                    *this.phase = Phase::Done;
                    return Poll::Ready(result);
                }
                Phase::Start => {
                    let limiter = self.limiter.borrow();
                    if limiter.take() {
                        *this.phase = Phase::Running;
                    } else {
                        let limiter = limiter.clone();
                        *this.lease = Some(Box::pin(async move { limiter.acquire_slow().await }));
                        *this.phase = Phase::Leasing;
                    }
                }
                Phase::Leasing => {
                    let lease = this.lease.as_mut().expect("leasing holds its future");
                    let granted = ready!(lease.as_mut().poll(cx));
                    *this.lease = None;
                    match granted {
                        Ok(()) => *this.phase = Phase::Running,
                        Err(limited) => {
                            *this.phase = Phase::Done;
                            let rejection = Rejection::RateLimited(limited);
                            return Poll::Ready(Err(PolicyError::from_rejection(rejection)));
                        }
                    }
                }
                Phase::Done => panic!("a globally limited call polled after completion"),
            }
        }
    }
}

/// An operation with a [`FleetBreaker`](super::FleetBreaker) around it: the fleet's quorum is
/// checked first, then `Inner` (the local breaker around the operation) decides as ever.
#[derive(Debug, Clone)]
pub struct QuorumGuarded<Inner, G> {
    pub(crate) inner: Inner,
    pub(crate) gate: G,
}

pin_project! {
    /// The state of one call under a [`FleetBreaker`](super::FleetBreaker): on its first poll it is rejected with
    /// `CircuitOpen` if a quorum of the fleet reports open (one atomic load, and a clock read
    /// only then); otherwise the local breaker's own call proceeds.
    ///
    /// # Cancel safety
    ///
    /// As the local breaker's call.
    #[must_use = "futures do nothing unless polled"]
    pub struct QuorumCall<Inner> {
        #[pin]
        inner: Inner,
        checked: bool,
    }
}

impl<Inner> fmt::Debug for QuorumCall<Inner> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuorumCall")
            .field("checked", &self.checked)
            .finish_non_exhaustive()
    }
}

impl<Inner, G> Applied for QuorumGuarded<Inner, G>
where
    Inner: Operation,
    G: Borrow<Gate>,
{
    type Inner = Inner;
    type Call = QuorumCall<Inner::Call>;

    #[inline]
    fn start(&self) -> Self::Call {
        QuorumCall {
            inner: self.inner.start(),
            checked: false,
        }
    }

    #[inline]
    fn poll_with<P>(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
        poll_inner: P,
    ) -> Poll<Outcome<Inner>>
    where
        P: FnOnce(&mut Inner, Pin<&mut Inner::Call>, &mut Context<'_>) -> Poll<Outcome<Inner>>,
    {
        let this = call.project();
        if !*this.checked {
            *this.checked = true;
            if let Some(open) = self.gate.borrow().rejection() {
                return Poll::Ready(Err(PolicyError::from_rejection(Rejection::CircuitOpen(
                    open,
                ))));
            }
        }
        poll_inner(&mut self.inner, this.inner, cx)
    }
}
