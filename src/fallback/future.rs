use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;

use super::Handler;
use crate::{
    Operation,
    policy::{Applied, Outcome},
};

/// An operation with a fallback around it; made by applying a [`Fallback`](super::Fallback) (by
/// [`Policy::call`](crate::Policy::call), [`Policy::wrap`](crate::Policy::wrap) or the tower
/// layer).
///
/// `H` is the fallback as one call holds it ([`Handler`]): borrowed by the combinator, shared in
/// tower.
#[derive(Debug, Clone)]
pub struct WithFallback<Op, H> {
    pub(crate) op: Op,
    pub(crate) handler: H,
}

pin_project! {
    /// The state of one call under a [`Fallback`](super::Fallback), from either front door: the
    /// primary call, then, if it fails with an error that falls back, the fallback `G`.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops whichever of the two is in flight.
    #[must_use = "futures do nothing unless polled"]
    pub struct FallbackCall<Inner, G> {
        #[pin]
        state: State<Inner, G>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<Inner, G> {
        Primary { #[pin] inner: Inner },
        Fallback { #[pin] future: G },
    }
}

impl<Op, H> Applied for WithFallback<Op, H>
where
    Op: Operation,
    H: Handler<Op::Ok, Op::Error> + Clone,
{
    type Inner = Op;
    type Call = FallbackCall<Op::Call, H::Future>;

    #[inline]
    fn start(&self) -> Self::Call {
        FallbackCall {
            state: State::Primary {
                inner: self.op.start(),
            },
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
        let mut state = call.project().state;
        if let StateProj::Primary { inner } = state.as_mut().project() {
            let outcome = ready!(poll_inner(&mut self.op, inner, cx));
            let error = match outcome {
                Err(error) if self.handler.applies(&outcome) => error,
                Ok(_) | Err(_) => return Poll::Ready(outcome),
            };
            self.handler.report(&error);
            let future = self.handler.clone().handle(error);
            state.set(State::Fallback { future });
        }
        match state.project() {
            StateProj::Fallback { future } => future.poll(cx),
            StateProj::Primary { .. } => unreachable!("the fallback was started above"),
        }
    }
}

impl<Inner, G> FallbackCall<Inner, G> {
    /// A call whose primary state the caller made.
    #[cfg(feature = "tower")]
    pub(crate) fn lent(inner: Inner) -> Self {
        Self {
            state: State::Primary { inner },
        }
    }
}

impl<Inner, G> std::fmt::Debug for FallbackCall<Inner, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackCall").finish_non_exhaustive()
    }
}
