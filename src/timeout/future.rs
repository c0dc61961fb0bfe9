use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::time::Sleep;

use crate::{Name, PolicyError, Rejection, error::Elapsed, events};

pin_project! {
    /// The future of a call under a [`Timeout`](super::Timeout), from either front door.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the inner future and reports nothing: cancellation is not a timeout.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        timer: Timer,
        duration: Duration,
        name: Name,
    }
}

pin_project! {
    // Armed lazily: a call that is ready on its first poll never touches the clock.
    #[project = TimerProj]
    #[derive(Debug)]
    enum Timer {
        Unarmed,
        Armed { #[pin] sleep: Sleep },
    }
}

impl<F> TimeoutFuture<F> {
    pub(crate) fn new(inner: F, duration: Duration, name: Name) -> Self {
        Self {
            inner,
            timer: Timer::Unarmed,
            duration,
            name,
        }
    }
}

impl<F, T, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: PolicyError,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(result);
        }
        if let TimerProj::Unarmed = this.timer.as_mut().project() {
            this.timer.set(Timer::Armed {
                sleep: tokio::time::sleep(*this.duration),
            });
        }
        let TimerProj::Armed { sleep } = this.timer.project() else {
            unreachable!("the timer was armed above")
        };
        ready!(sleep.poll(cx));
        events::timeout_elapsed(this.name, *this.duration);
        let elapsed = Elapsed::new(*this.duration, this.name.clone());
        Poll::Ready(Err(E::from_rejection(Rejection::Timeout(elapsed))))
    }
}
