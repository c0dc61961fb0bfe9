use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::core::{Decide, Plan, RetryReason};
use crate::{Operation, OperationMut, PolicyError};

/// Where a retry's attempts come from: the combinator calls the operation again, the tower
/// service replays the request. You never implement it.
pub trait Attempts {
    /// The value of a successful attempt.
    type Ok;
    /// The error of a failed attempt.
    type Error: PolicyError;
    /// The state of one attempt, inert until polled.
    type Call;

    /// A new attempt, not yet made.
    fn start(&self) -> Self::Call;

    /// Gets the next attempt ready (a replayed request); `false` if it cannot be made. `last`
    /// says no attempt will follow it, so a stored request may be moved instead of copied.
    fn prepare(&mut self, last: bool) -> bool;

    /// Drives an attempt: makes it on the first poll (once its target is ready), then polls it.
    /// An error while getting ready (a tower service that failed in `poll_ready`) is the
    /// attempt's outcome.
    fn poll_attempt(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Ok, Self::Error>>;
}

/// The combinator's attempts: the operation, called again for each.
#[derive(Debug, Clone)]
pub struct OpAttempts<Op>(pub(crate) Op);

impl<Op: OperationMut> Attempts for OpAttempts<Op> {
    type Ok = Op::Ok;
    type Error = Op::Error;
    type Call = Op::Call;

    #[inline]
    fn start(&self) -> Self::Call {
        self.0.start()
    }

    #[inline]
    fn prepare(&mut self, _last: bool) -> bool {
        true
    }

    #[inline]
    fn poll_attempt(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Op::Ok, Op::Error>> {
        self.0.poll_mut(call, cx)
    }
}

/// An operation with a retry around it; made by applying a [`Retry`](super::Retry) (by
/// [`Policy::call`](crate::Policy::call), [`Policy::wrap`](crate::Policy::wrap) or the tower
/// layer).
///
/// `A` is where the attempts come from ([`OpAttempts`] or, in tower,
/// [`ServiceAttempts`](crate::parts::ServiceAttempts)); `P` is how the operation holds the retry's
/// configuration: borrowed by the combinator, an `Arc` in tower, with per-call refinements by
/// [`Retrying`](super::Retrying).
#[derive(Debug, Clone)]
pub struct Retried<A, P> {
    pub(crate) attempts: A,
    pub(crate) policy: P,
}

pin_project! {
    /// The state of one call under a [`Retry`](super::Retry), from either front door: makes
    /// the first attempt on the first poll and, while an outcome asks for it and the policy
    /// allows, waits and makes another. Between two attempts it always gives the scheduler a
    /// turn (a zero delay yields once), so a timeout around it and other tasks keep running.
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
    pub struct RetryCall<C> {
        #[pin]
        state: State<C>,
        // Attempts made; 0 until the first poll.
        made: u32,
        prev: Option<Duration>,
        start: Option<Instant>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<C> {
        Running { #[pin] attempt: C },
        Sleeping { #[pin] sleep: Sleep },
        Yielding,
        Next,
    }
}

impl<A, P> Retried<A, P>
where
    A: Attempts,
    P: Decide<A::Ok, A::Error>,
{
    /// After an outcome that asks for a retry: plans the next attempt, returning the outcome
    /// back if there is none. Out of line, like everything past the first attempt, so that the
    /// happy path inlined into the caller stays a few instructions.
    #[inline(never)]
    fn schedule(
        &mut self,
        call: Pin<&mut RetryCall<A::Call>>,
        outcome: Result<A::Ok, A::Error>,
        reason: RetryReason,
    ) -> Option<Result<A::Ok, A::Error>> {
        let mut this = call.project();
        let attempts = &mut self.attempts;
        let plan = self.policy.plan(
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
                    this.state.set(State::Yielding);
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
        &mut self,
        mut call: Pin<&mut RetryCall<A::Call>>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<A::Ok, A::Error>> {
        loop {
            let mut this = call.as_mut().project();
            match this.state.as_mut().project() {
                StateProj::Running { attempt } => {
                    let outcome = ready!(self.attempts.poll_attempt(attempt, cx));
                    let Some(reason) = self.policy.wants(&outcome) else {
                        return Poll::Ready(outcome);
                    };
                    if let Some(outcome) = self.schedule(call.as_mut(), outcome, reason) {
                        return Poll::Ready(outcome);
                    }
                }
                StateProj::Sleeping { sleep } => {
                    ready!(sleep.poll(cx));
                    this.state.set(State::Next);
                }
                StateProj::Yielding => {
                    // A zero delay still gives the scheduler a turn: without it a retry of an
                    // operation that fails at once would loop inside one poll, starving the
                    // timers (a timeout around it) and every other task on the thread.
                    this.state.set(State::Next);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                StateProj::Next => {
                    *this.made += 1;
                    let attempt = self.attempts.start();
                    this.state.set(State::Running { attempt });
                }
            }
        }
    }

    #[inline(always)]
    fn poll_retry(
        &mut self,
        mut call: Pin<&mut RetryCall<A::Call>>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<A::Ok, A::Error>> {
        let this = call.as_mut().project();
        if *this.made == 0 {
            *this.made = 1;
            *this.start = self.policy.start();
            // The happy path: the first attempt, ready on its first poll, needs no retry.
            if let StateProj::Running { attempt } = this.state.project() {
                let outcome = ready!(self.attempts.poll_attempt(attempt, cx));
                match self.policy.wants(&outcome) {
                    None => return Poll::Ready(outcome),
                    Some(reason) => {
                        if let Some(outcome) = self.schedule(call.as_mut(), outcome, reason) {
                            return Poll::Ready(outcome);
                        }
                    }
                }
            }
        }
        self.poll_retrying(call, cx)
    }
}

impl<A, P> Operation for Retried<A, P>
where
    A: Attempts,
    P: Decide<A::Ok, A::Error>,
{
    type Ok = A::Ok;
    type Error = A::Error;
    type Call = RetryCall<A::Call>;

    #[inline]
    fn start(&self) -> Self::Call {
        RetryCall {
            state: State::Running {
                attempt: self.attempts.start(),
            },
            made: 0,
            prev: None,
            start: None,
        }
    }

    #[inline]
    fn poll_once(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<A::Ok, A::Error>> {
        self.poll_retry(call, cx)
    }
}

/// A retry inside another retry: each outer attempt runs the inner retry afresh.
impl<A, P> OperationMut for Retried<A, P>
where
    A: Attempts,
    P: Decide<A::Ok, A::Error>,
{
    #[inline]
    fn poll_mut(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<A::Ok, A::Error>> {
        self.poll_retry(call, cx)
    }
}

impl<C> std::fmt::Debug for RetryCall<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryCall")
            .field("attempts_made", &self.made)
            .finish_non_exhaustive()
    }
}
