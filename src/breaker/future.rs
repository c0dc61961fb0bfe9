use std::{
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::core::{Admission, BreakerState, Permit};
use crate::{
    Classify, Operation, PolicyError, Rejection,
    policy::{Applied, Outcome},
};

/// An operation with a breaker around it; made by applying a
/// [`CircuitBreaker`](super::CircuitBreaker) (by [`Policy::call`](crate::Policy::call),
/// [`Policy::wrap`](crate::Policy::wrap) or the tower layer).
///
/// `H` is how the operation holds the breaker: borrowed by the combinator, an `Arc` in tower.
#[derive(Debug, Clone)]
pub struct Guarded<Op, H, C> {
    pub(crate) op: Op,
    // `None` only in a tower call, whose one call state was made with the handle moved into it
    // (one `Arc` clone per call, not two).
    pub(crate) state: Option<H>,
    pub(crate) classify: C,
}

pin_project! {
    /// The state of one call through a [`CircuitBreaker`](super::CircuitBreaker), from either
    /// front door. The breaker decides on the first poll: if it rejects, the operation inside is
    /// never called and the call answers `CircuitOpen`; otherwise it makes the call and records
    /// the classified outcome.
    ///
    /// # Cancel safety
    ///
    /// Dropping it before the call finishes records nothing and gives back a half-open probe
    /// permit if it held one. The call owns its permit from the moment it is taken until the
    /// outcome is recorded (the classifier runs first), so a panic in the operation, an inner
    /// service or the classifier unwinds through this drop and gives the permit back too.
    #[must_use = "futures do nothing unless polled"]
    pub struct BreakerCall<Inner, H>
    where
        H: Deref<Target = BreakerState>,
    {
        #[pin]
        inner: Inner,
        state: H,
        // One plain word, read back cheaply on the happy path: `UNASKED` before the first poll,
        // the permit while the call runs, `NONE` once rejected or recorded.
        permit: Permit,
        start: Option<Instant>,
    }

    impl<Inner, H> PinnedDrop for BreakerCall<Inner, H>
    where
        H: Deref<Target = BreakerState>,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let permit = std::mem::replace(this.permit, Permit::NONE);
            if permit != Permit::NONE && permit != Permit::UNASKED {
                this.state.cancel(permit);
            }
        }
    }
}

impl<Op, H, C> Applied for Guarded<Op, H, C>
where
    Op: Operation,
    H: Deref<Target = BreakerState> + Clone,
    C: Classify<Op::Ok, Op::Error>,
{
    type Inner = Op;
    type Call = BreakerCall<Op::Call, H>;

    #[inline]
    fn start(&self) -> Self::Call {
        BreakerCall {
            inner: self.op.start(),
            state: self
                .state
                .clone()
                .expect("an operation lent its breaker to its one call"),
            permit: Permit::UNASKED,
            start: None,
        }
    }

    #[inline(always)]
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
        if *this.permit == Permit::UNASKED {
            match this.state.admit() {
                Admission::Admit(permit) => {
                    *this.permit = permit;
                    *this.start = this.state.start();
                }
                Admission::Reject { retry_after } => {
                    *this.permit = Permit::NONE;
                    return Poll::Ready(Err(reject(this.state, retry_after)));
                }
            }
        }
        let result = ready!(poll_inner(&mut self.op, this.inner, cx));
        let permit = *this.permit;
        if permit != Permit::NONE {
            // The call still owns the permit while the classifier runs: if it panics, the drop
            // gives the permit back.
            let outcome = self.classify.classify(&result);
            *this.permit = Permit::NONE;
            this.state.record(permit, *this.start, outcome);
        }
        Poll::Ready(result)
    }
}

impl<Inner, H: Deref<Target = BreakerState>> BreakerCall<Inner, H> {
    /// A call not yet asked for, holding the breaker itself.
    #[cfg(feature = "tower")]
    pub(crate) fn lent(inner: Inner, state: H) -> Self {
        Self {
            inner,
            state,
            permit: Permit::UNASKED,
            start: None,
        }
    }
}

#[cold]
fn reject<E: PolicyError>(state: &BreakerState, retry_after: Option<std::time::Duration>) -> E {
    E::from_rejection(Rejection::CircuitOpen(state.open_error(retry_after)))
}

impl<Inner, H> std::fmt::Debug for BreakerCall<Inner, H>
where
    H: Deref<Target = BreakerState>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakerCall")
            .field("state", &*self.state)
            .finish_non_exhaustive()
    }
}
