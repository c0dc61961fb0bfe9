use std::{
    future::Future,
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::core::{Admission, BreakerState, Permit};
use crate::{Classify, PolicyError, Rejection};

pin_project! {
    /// The future of a call through a [`CircuitBreaker`](super::CircuitBreaker), from either
    /// front door. The breaker decides when the call is made: if it rejects, the operation is
    /// never called and the future answers `CircuitOpen` on its first poll; otherwise it runs the
    /// call and records the classified outcome.
    ///
    /// # Cancel safety
    ///
    /// Dropping it before the call finishes records nothing and gives back a half-open probe
    /// permit if it held one.
    #[must_use = "futures do nothing unless polled"]
    pub struct BreakerFuture<F, H, C>
    where
        H: Deref<Target = BreakerState>,
    {
        #[pin]
        inner: Inner<F>,
        state: H,
        classify: C,
        permit: Permit,
        start: Option<Instant>,
    }

    impl<F, H, C> PinnedDrop for BreakerFuture<F, H, C>
    where
        H: Deref<Target = BreakerState>,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let permit = std::mem::replace(this.permit, Permit::NONE);
            if permit != Permit::NONE {
                this.state.cancel(permit);
            }
        }
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner<F> {
        Call { #[pin] future: F },
        Rejected { retry_after: Option<Duration> },
    }
}

impl<F, H, C> BreakerFuture<F, H, C>
where
    H: Deref<Target = BreakerState>,
{
    /// Asks the breaker; makes the call with `make` only if it is admitted.
    #[inline]
    pub(crate) fn new(state: H, classify: C, make: impl FnOnce() -> F) -> Self {
        match state.admit() {
            Admission::Admit(permit) => Self {
                start: state.start(),
                inner: Inner::Call { future: make() },
                state,
                classify,
                permit,
            },
            Admission::Reject { retry_after } => Self {
                inner: Inner::Rejected { retry_after },
                state,
                classify,
                permit: Permit::NONE,
                start: None,
            },
        }
    }
}

impl<F, H, C, T, E> Future for BreakerFuture<F, H, C>
where
    F: Future<Output = Result<T, E>>,
    H: Deref<Target = BreakerState>,
    C: Classify<T, E>,
    E: PolicyError,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.project() {
            InnerProj::Call { future } => {
                let result = ready!(future.poll(cx));
                let permit = std::mem::replace(this.permit, Permit::NONE);
                if permit != Permit::NONE {
                    let outcome = this.classify.classify(&result);
                    this.state.record(permit, *this.start, outcome);
                }
                Poll::Ready(result)
            }
            InnerProj::Rejected { retry_after } => {
                let open = this.state.open_error(*retry_after);
                Poll::Ready(Err(E::from_rejection(Rejection::CircuitOpen(open))))
            }
        }
    }
}

impl<F, H, C> std::fmt::Debug for BreakerFuture<F, H, C>
where
    H: Deref<Target = BreakerState>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreakerFuture")
            .field("state", &*self.state)
            .finish_non_exhaustive()
    }
}
