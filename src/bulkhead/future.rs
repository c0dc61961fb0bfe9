use std::{
    future::Future,
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::core::{Admission, BulkheadState, Waiter};
use crate::{PolicyError, Rejection, error::BulkheadFullReason, events, sync::Arc};

pin_project! {
    /// The future of a call under a [`Bulkhead`](super::Bulkhead), from either front door: takes
    /// a permit (waiting at most the bulkhead's `max_wait`), then runs the call and returns the
    /// permit the moment the call finishes.
    ///
    /// The call's future `F` is created before admission but not polled until a permit is held.
    ///
    /// # Cancel safety
    ///
    /// Dropping it at any point frees what it holds at once: a waiting place, a permit granted
    /// while it was not looking (passed on to the next waiter), or the permit of a running call.
    #[must_use = "futures do nothing unless polled"]
    pub struct BulkheadFuture<F, H>
    where
        H: Deref<Target = BulkheadState>,
    {
        #[pin]
        inner: F,
        #[pin]
        timer: Timer,
        phase: Phase,
        state: H,
    }

    impl<F, H> PinnedDrop for BulkheadFuture<F, H>
    where
        H: Deref<Target = BulkheadState>,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            match std::mem::replace(this.phase, Phase::Done) {
                Phase::Waiting(waiter) => {
                    if this.state.cancel(&waiter) {
                        this.state.release();
                    }
                }
                Phase::Running => this.state.release(),
                Phase::Start | Phase::Done => {}
            }
        }
    }
}

pin_project! {
    #[project = TimerProj]
    #[derive(Debug)]
    enum Timer {
        Unarmed,
        Armed { #[pin] sleep: Sleep },
    }
}

#[derive(Debug)]
enum Phase {
    Start,
    Waiting(Arc<Waiter>),
    Running,
    Done,
}

impl<F, H> BulkheadFuture<F, H>
where
    H: Deref<Target = BulkheadState>,
{
    pub(crate) fn new(inner: F, state: H) -> Self {
        Self {
            inner,
            timer: Timer::Unarmed,
            phase: Phase::Start,
            state,
        }
    }
}

impl<F, H, T, E> Future for BulkheadFuture<F, H>
where
    F: Future<Output = Result<T, E>>,
    H: Deref<Target = BulkheadState>,
    E: PolicyError,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.phase {
                Phase::Running => {
                    let result = ready!(this.inner.poll(cx));
                    *this.phase = Phase::Done;
                    this.state.release();
                    return Poll::Ready(result);
                }
                Phase::Start => match this.state.acquire() {
                    Admission::Admitted => *this.phase = Phase::Running,
                    Admission::Wait(waiter) => {
                        *this.phase = Phase::Waiting(waiter);
                        this.timer.set(Timer::Armed {
                            sleep: tokio::time::sleep(this.state.max_wait),
                        });
                    }
                    Admission::Rejected => {
                        *this.phase = Phase::Done;
                        return Poll::Ready(Err(reject(this.state, BulkheadFullReason::Full)));
                    }
                },
                Phase::Waiting(waiter) => {
                    if this.state.poll_granted(waiter, cx.waker()) {
                        *this.phase = Phase::Running;
                        continue;
                    }
                    let TimerProj::Armed { sleep } = this.timer.as_mut().project() else {
                        unreachable!("the timer is armed when waiting starts")
                    };
                    ready!(sleep.poll(cx));
                    if this.state.cancel(waiter) {
                        // Granted just as the wait ran out: the permit wins.
                        *this.phase = Phase::Running;
                        continue;
                    }
                    *this.phase = Phase::Done;
                    this.state.count_rejection();
                    return Poll::Ready(Err(reject(this.state, BulkheadFullReason::WaitTimedOut)));
                }
                Phase::Done => panic!("BulkheadFuture polled after completion"),
            }
        }
    }
}

#[cold]
fn reject<E: PolicyError>(state: &BulkheadState, reason: BulkheadFullReason) -> E {
    events::bulkhead_rejected(&state.name, reason, state.max_concurrent);
    E::from_rejection(Rejection::BulkheadFull(state.full(reason)))
}

impl<F, H> std::fmt::Debug for BulkheadFuture<F, H>
where
    H: Deref<Target = BulkheadState>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkheadFuture")
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}
