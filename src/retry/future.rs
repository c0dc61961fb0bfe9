use std::{
    future::Future,
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::core::{Decide, Plan, RetryReason};
use crate::{OperationMut, PolicyError};

/// Where a retry's attempts come from: the combinator calls the operation again, the tower
/// service replays the request. You never implement it.
pub trait Attempts {
    /// The value of a successful attempt.
    type Ok;
    /// The error of a failed attempt.
    type Error: PolicyError;
    /// One attempt in flight.
    type Future: Future<Output = Result<Self::Ok, Self::Error>>;

    /// Gets the next attempt ready (a replayed request); `false` if it cannot be made. `last`
    /// says no attempt will follow it, so a stored request may be moved instead of copied.
    fn prepare(&mut self, last: bool) -> bool;

    /// Makes the prepared attempt once its target is ready. An error here (a tower service that
    /// failed in `poll_ready`) ends the retry with that error.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Self::Future, Self::Error>>;
}

/// The combinator's attempts: the operation, called again for each.
#[derive(Debug)]
pub struct OpAttempts<Op>(pub(crate) Op);

impl<Op: OperationMut> Attempts for OpAttempts<Op> {
    type Ok = Op::Ok;
    type Error = Op::Error;
    type Future = Op::Future;

    #[inline]
    fn prepare(&mut self, _last: bool) -> bool {
        true
    }

    #[inline]
    fn poll_next(&mut self, _: &mut Context<'_>) -> Poll<Result<Self::Future, Self::Error>> {
        Poll::Ready(Ok(self.0.call_mut()))
    }
}

pin_project! {
    /// The future of a call under a [`Retry`](super::Retry), from either front door: runs the
    /// first attempt and, while an outcome asks for it and the policy allows, waits and makes
    /// another.
    ///
    /// When the retries run out (attempts, `max_elapsed`, the budget, a request that cannot be
    /// replayed), it returns the last attempt's own outcome.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the attempt in flight or the wait between attempts; no further attempt
    /// is made and nothing is reported. A retry already taken from the budget is not given back
    /// (it was spent when the wait began).
    #[must_use = "futures do nothing unless polled"]
    pub struct RetryFuture<A, P>
    where
        A: Attempts,
    {
        #[pin]
        state: State<A::Future>,
        attempts: A,
        policy: P,
        // Attempts made; 0 until the first poll.
        made: u32,
        prev: Option<Duration>,
        start: Option<Instant>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] attempt: F },
        Sleeping { #[pin] sleep: Sleep },
        Next,
    }
}

impl<A: Attempts, P> RetryFuture<A, P> {
    /// A retry whose first attempt is `first`; later ones come from `attempts`.
    pub(crate) fn new(first: A::Future, attempts: A, policy: P) -> Self {
        Self {
            state: State::Running { attempt: first },
            attempts,
            policy,
            made: 0,
            prev: None,
            start: None,
        }
    }
}

impl<A, P> RetryFuture<A, P>
where
    A: Attempts,
    P: Deref,
    P::Target: Decide<A::Ok, A::Error>,
{
    /// After an outcome that asks for a retry: plans the next attempt, returning the outcome
    /// back if there is none. Out of line, like everything past the first attempt, so that the
    /// happy path inlined into the caller stays a few instructions.
    #[inline(never)]
    fn schedule(
        self: Pin<&mut Self>,
        outcome: Result<A::Ok, A::Error>,
        reason: RetryReason,
    ) -> Option<Result<A::Ok, A::Error>> {
        let mut this = self.project();
        let attempts = &mut *this.attempts;
        let plan = this.policy.plan(
            &outcome,
            reason,
            *this.made,
            *this.prev,
            *this.start,
            &mut |last| attempts.prepare(last),
        );
        match plan {
            Plan::Stop => Some(outcome),
            Plan::Retry { sleep, backoff } => {
                *this.prev = Some(backoff);
                if sleep.is_zero() {
                    this.state.set(State::Next);
                } else {
                    this.state.set(State::Sleeping {
                        sleep: tokio::time::sleep(sleep),
                    });
                }
                None
            }
        }
    }

    /// Polls whatever state the retry is in, after the first attempt's first poll.
    #[inline(never)]
    fn poll_retrying(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<A::Ok, A::Error>> {
        loop {
            let mut this = self.as_mut().project();
            match this.state.as_mut().project() {
                StateProj::Running { attempt } => {
                    let outcome = ready!(attempt.poll(cx));
                    let Some(reason) = this.policy.wants(&outcome) else {
                        return Poll::Ready(outcome);
                    };
                    if let Some(outcome) = self.as_mut().schedule(outcome, reason) {
                        return Poll::Ready(outcome);
                    }
                }
                StateProj::Sleeping { sleep } => {
                    ready!(sleep.poll(cx));
                    this.state.set(State::Next);
                }
                StateProj::Next => {
                    let attempt = match ready!(this.attempts.poll_next(cx)) {
                        Ok(attempt) => attempt,
                        Err(error) => return Poll::Ready(Err(error)),
                    };
                    *this.made += 1;
                    this.state.set(State::Running { attempt });
                }
            }
        }
    }
}

impl<A, P> Future for RetryFuture<A, P>
where
    A: Attempts,
    P: Deref,
    P::Target: Decide<A::Ok, A::Error>,
{
    type Output = Result<A::Ok, A::Error>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.as_mut().project();
        if *this.made == 0 {
            *this.made = 1;
            *this.start = this.policy.start();
            // The happy path: the first attempt, ready on its first poll, needs no retry.
            if let StateProj::Running { attempt } = this.state.project() {
                let outcome = ready!(attempt.poll(cx));
                match this.policy.wants(&outcome) {
                    None => return Poll::Ready(outcome),
                    Some(reason) => {
                        if let Some(outcome) = self.as_mut().schedule(outcome, reason) {
                            return Poll::Ready(outcome);
                        }
                    }
                }
            }
        }
        self.poll_retrying(cx)
    }
}

impl<A: Attempts, P> std::fmt::Debug for RetryFuture<A, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryFuture")
            .field("attempts_made", &self.made)
            .finish_non_exhaustive()
    }
}
