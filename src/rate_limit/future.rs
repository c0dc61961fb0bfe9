use std::{
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tokio::time::Instant;

use crate::timer::LazySleep;

use super::{
    RateLimitEvent,
    core::{Grant, RateLimitState},
};
use crate::{
    Operation, PolicyError, Rejection,
    error::RateLimited,
    events::EventKind,
    policy::{Applied, Outcome},
};

/// An operation with a rate limiter around it; made by applying a
/// [`RateLimiter`](super::RateLimiter) (by [`Policy::call`](crate::Policy::call),
/// [`Policy::wrap`](crate::Policy::wrap), [`RateLimiter::call_weighted`](super::RateLimiter::call_weighted)
/// or the tower layer).
///
/// `H` is how the operation holds the limiter: borrowed by the combinator, an `Arc` in tower.
#[derive(Debug, Clone)]
pub struct Limited<Op, H> {
    pub(crate) op: Op,
    // `None` only in a tower call, whose one call state was made with the handle moved into it.
    pub(crate) state: Option<H>,
    pub(crate) weight: u32,
}

pin_project! {
    /// The state of one call under a [`RateLimiter`](super::RateLimiter), from either front
    /// door: on its first poll it takes its permits (or reserves them for a moment within
    /// `max_wait` and sleeps until then, or is rejected with
    /// [`RateLimited`]), then makes the call inside. Nothing inside the
    /// limiter runs before the permits are its own.
    ///
    /// # Cancel safety
    ///
    /// Dropping it while it waits gives its reserved permits back at once if no later waiter
    /// reserved after it, leaving the limiter as if the call had never come; otherwise its
    /// moment goes unused (giving it back would let a newcomer share a later waiter's moment).
    /// Nothing else is given back, and nobody is woken: waiters sleep until their own moments,
    /// which never move. Once the call has started, its permits are spent: a rate limits
    /// starts, not calls in flight.
    #[must_use = "futures do nothing unless polled"]
    pub struct RateLimitCall<Inner, H>
    where
        H: Deref<Target = RateLimitState>,
    {
        #[pin]
        inner: Inner,
        #[pin]
        timer: LazySleep,
        phase: Phase,
        weight: u32,
        state: H,
    }

    impl<Inner, H> PinnedDrop for RateLimitCall<Inner, H>
    where
        H: Deref<Target = RateLimitState>,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Phase::Waiting { tat, .. } = std::mem::replace(this.phase, Phase::Done) {
                let given_back = this.state.give_back(*this.weight, tat);
                let event = RateLimitEvent::WaitCancelled { weight: *this.weight, given_back };
                this.state.sinks.emit(&this.state.name, EventKind::RateLimit(event));
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Start,
    /// Sleeping until the reserved moment; `tat` is the TAT the reservation left.
    Waiting {
        since: Instant,
        tat: u64,
    },
    Running,
    Done,
}

impl<Op, H> Applied for Limited<Op, H>
where
    Op: Operation,
    H: Deref<Target = RateLimitState> + Clone,
{
    type Inner = Op;
    type Call = RateLimitCall<Op::Call, H>;

    #[inline]
    fn start(&self) -> Self::Call {
        RateLimitCall {
            inner: self.op.start(),
            timer: LazySleep::Unarmed,
            phase: Phase::Start,
            weight: self.weight,
            state: self
                .state
                .clone()
                .expect("an operation lent its rate limiter to its one call"),
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
        let mut this = call.project();
        loop {
            match *this.phase {
                Phase::Running => {
                    let result = ready!(poll_inner(&mut self.op, this.inner, cx));
                    *this.phase = Phase::Done;
                    return Poll::Ready(result);
                }
                Phase::Start => match this.state.acquire(*this.weight, true) {
                    Grant::Now => *this.phase = Phase::Running,
                    Grant::Wait { at, tat } => {
                        *this.phase = Phase::Waiting {
                            since: Instant::now(),
                            tat,
                        };
                        this.timer.as_mut().arm_at(at);
                    }
                    Grant::Rejected { retry_after } => {
                        *this.phase = Phase::Done;
                        return Poll::Ready(Err(reject(this.state, *this.weight, retry_after)));
                    }
                },
                Phase::Waiting { since, .. } => {
                    ready!(this.timer.as_mut().poll_fired(cx));
                    *this.phase = Phase::Running;
                    let event = RateLimitEvent::Waited {
                        weight: *this.weight,
                        waited: since.elapsed(),
                    };
                    this.state
                        .sinks
                        .emit(&this.state.name, EventKind::RateLimit(event));
                }
                Phase::Done => panic!("a rate-limited call polled after completion"),
            }
        }
    }
}

impl<Inner, H: Deref<Target = RateLimitState>> RateLimitCall<Inner, H> {
    /// A call not yet admitted, holding the limiter itself.
    #[cfg(feature = "tower")]
    pub(crate) fn lent(inner: Inner, state: H, weight: u32) -> Self {
        Self {
            inner,
            timer: LazySleep::Unarmed,
            phase: Phase::Start,
            weight,
            state,
        }
    }
}

#[cold]
fn reject<E: PolicyError>(
    state: &RateLimitState,
    weight: u32,
    retry_after: Option<std::time::Duration>,
) -> E {
    let event = RateLimitEvent::Rejected {
        weight,
        retry_after,
    };
    state.sinks.emit(&state.name, EventKind::RateLimit(event));
    E::from_rejection(Rejection::RateLimited(state.limited(weight, retry_after)))
}

impl<Inner, H> std::fmt::Debug for RateLimitCall<Inner, H>
where
    H: Deref<Target = RateLimitState>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimitCall")
            .field("phase", &self.phase)
            .field("weight", &self.weight)
            .finish_non_exhaustive()
    }
}

impl RateLimitState {
    pub(crate) fn limited(
        &self,
        weight: u32,
        retry_after: Option<std::time::Duration>,
    ) -> RateLimited {
        RateLimited::new(self.name.clone(), retry_after, weight, self.gcra.burst())
    }
}
