use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;

use super::Handler;
use crate::{PolicyError, events};

pin_project! {
    /// The future of a call under a [`Fallback`](super::Fallback), from either front door: the
    /// primary call `F`, then, if it fails with an error that falls back, the fallback `G`
    /// started by the handler `H`.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops whichever of the two futures is in flight.
    #[must_use = "futures do nothing unless polled"]
    pub struct FallbackFuture<F, H, G> {
        #[pin]
        state: State<F, H, G>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, H, G> {
        Primary { #[pin] future: F, handler: Option<H> },
        Fallback { #[pin] future: G },
    }
}

impl<F, H, G> FallbackFuture<F, H, G> {
    pub(crate) fn new(future: F, handler: H) -> Self {
        Self {
            state: State::Primary {
                future,
                handler: Some(handler),
            },
        }
    }
}

impl<F, H, G, T, E> Future for FallbackFuture<F, H, G>
where
    F: Future<Output = Result<T, E>>,
    H: Handler<T, E, Future = G>,
    G: Future<Output = Result<T, E>>,
    E: PolicyError,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        if let StateProj::Primary { future, handler } = state.as_mut().project() {
            let error = match ready!(future.poll(cx)) {
                Ok(value) => return Poll::Ready(Ok(value)),
                Err(error) => error,
            };
            let handler = handler
                .take()
                .expect("FallbackFuture polled after completion");
            if !handler.applies(&error) {
                return Poll::Ready(Err(error));
            }
            events::fallback_applied(handler.name(), &error);
            let future = handler.handle(error);
            state.set(State::Fallback { future });
        }
        match state.project() {
            StateProj::Fallback { future } => future.poll(cx),
            StateProj::Primary { .. } => unreachable!("the fallback was started above"),
        }
    }
}

impl<F, H, G> std::fmt::Debug for FallbackFuture<F, H, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackFuture").finish_non_exhaustive()
    }
}
