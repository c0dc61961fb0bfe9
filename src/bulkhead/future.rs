use std::{
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use crate::timer::LazySleep;
use pin_project_lite::pin_project;

use super::{
    BulkheadEvent,
    core::{Admission, BulkheadState, Expiry, Waiter},
};
use crate::{
    Operation, PolicyError, Rejection,
    error::BulkheadFullReason,
    estimate::Hint,
    events::EventKind,
    policy::{Applied, Outcome},
    sync::Arc,
};

/// An operation with a bulkhead around it; made by applying a [`Bulkhead`](super::Bulkhead) (by
/// [`Policy::call`](crate::Policy::call), [`Policy::wrap`](crate::Policy::wrap) or the tower
/// layer).
///
/// `H` is how the operation holds the bulkhead: borrowed by the combinator, an `Arc` in tower.
#[derive(Debug, Clone)]
pub struct Bulkheaded<Op, H> {
    pub(crate) op: Op,
    // `None` only in a tower call, whose one call state was made with the handle moved into it
    // (one `Arc` clone per call, not two).
    pub(crate) state: Option<H>,
}

pin_project! {
    /// The state of one call under a [`Bulkhead`](super::Bulkhead), from either front door: on
    /// its first poll it takes a permit (waiting at most the bulkhead's `max_wait`), then makes
    /// the call inside and returns the permit the moment the call finishes. Nothing inside the
    /// bulkhead (no closure, no inner service, no inner policy) runs before the permit is held.
    ///
    /// # Cancel safety
    ///
    /// Dropping it at any point frees what it holds at once: a waiting place, a permit granted
    /// while it was not looking (passed on to the next waiter), or the permit of a running call.
    /// A panic in the call unwinds through the same drop, so it gives the permit back too.
    #[must_use = "futures do nothing unless polled"]
    pub struct BulkheadCall<Inner, H>
    where
        H: Deref<Target = BulkheadState>,
    {
        #[pin]
        inner: Inner,
        #[pin]
        timer: LazySleep,
        phase: Phase,
        state: H,
    }

    impl<Inner, H> PinnedDrop for BulkheadCall<Inner, H>
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

#[derive(Debug)]
enum Phase {
    Start,
    Waiting(Arc<Waiter>),
    Running,
    Done,
}

impl<Op, H> Applied for Bulkheaded<Op, H>
where
    Op: Operation,
    H: Deref<Target = BulkheadState> + Clone,
{
    type Inner = Op;
    type Call = BulkheadCall<Op::Call, H>;

    #[inline]
    fn start(&self) -> Self::Call {
        BulkheadCall {
            inner: self.op.start(),
            timer: LazySleep::Unarmed,
            phase: Phase::Start,
            state: self
                .state
                .clone()
                .expect("an operation lent its bulkhead to its one call"),
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
            match this.phase {
                Phase::Running => {
                    let result = ready!(poll_inner(&mut self.op, this.inner, cx));
                    *this.phase = Phase::Done;
                    this.state.release();
                    return Poll::Ready(result);
                }
                Phase::Start => match this.state.acquire() {
                    Admission::Admitted => {
                        *this.phase = Phase::Running;
                        admitted(this.state);
                    }
                    Admission::Wait(waiter) => {
                        *this.phase = Phase::Waiting(waiter);
                        this.timer.as_mut().arm_once(this.state.max_wait);
                    }
                    Admission::Rejected(hint) => {
                        *this.phase = Phase::Done;
                        let reason = BulkheadFullReason::Full;
                        return Poll::Ready(Err(reject(this.state, reason, hint)));
                    }
                },
                Phase::Waiting(waiter) => {
                    if this.state.poll_granted(waiter, cx.waker()) {
                        *this.phase = Phase::Running;
                        admitted(this.state);
                        continue;
                    }
                    ready!(this.timer.as_mut().poll_fired(cx));
                    match this.state.expire(waiter) {
                        // Granted just as the wait ran out: the permit wins.
                        Expiry::Granted => {
                            *this.phase = Phase::Running;
                            admitted(this.state);
                            continue;
                        }
                        Expiry::Rejected(hint) => {
                            *this.phase = Phase::Done;
                            let reason = BulkheadFullReason::WaitTimedOut;
                            return Poll::Ready(Err(reject(this.state, reason, hint)));
                        }
                    }
                }
                Phase::Done => panic!("a bulkhead call polled after completion"),
            }
        }
    }
}

impl<Inner, H: Deref<Target = BulkheadState>> BulkheadCall<Inner, H> {
    /// A call not yet admitted, holding the bulkhead itself.
    #[cfg(feature = "tower")]
    pub(crate) fn lent(inner: Inner, state: H) -> Self {
        Self {
            inner,
            timer: LazySleep::Unarmed,
            phase: Phase::Start,
            state,
        }
    }
}

/// Reports a call admitted, to listeners that want every call.
#[inline(always)]
fn admitted(state: &BulkheadState) {
    if state.sinks.per_call() {
        state
            .sinks
            .emit(&state.name, EventKind::Bulkhead(BulkheadEvent::Admitted));
    }
}

#[cold]
fn reject<E: PolicyError>(state: &BulkheadState, reason: BulkheadFullReason, hint: Hint) -> E {
    let event = BulkheadEvent::Rejected {
        reason,
        max_concurrent: state.max_concurrent,
        retry_after: hint.get(),
    };
    state.sinks.emit(&state.name, EventKind::Bulkhead(event));
    E::from_rejection(Rejection::BulkheadFull(state.full(reason, hint)))
}

impl<Inner, H> std::fmt::Debug for BulkheadCall<Inner, H>
where
    H: Deref<Target = BulkheadState>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkheadCall")
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}
