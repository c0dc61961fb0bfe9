use std::{
    borrow::Borrow,
    pin::Pin,
    task::{Context, Poll, ready},
};

use crate::timer::LazySleep;
use pin_project_lite::pin_project;

use super::{Timeout, TimeoutEvent};
use crate::{
    Operation, PolicyError, Rejection,
    error::Elapsed,
    events::EventKind,
    policy::{Applied, Outcome},
};

/// An operation with a timeout around it; made by applying a [`Timeout`] (by
/// [`Policy::call`](crate::Policy::call), [`Policy::wrap`](crate::Policy::wrap) or the tower
/// layer).
///
/// `H` is how the operation holds the timeout: borrowed by the combinator, a clone in tower.
#[derive(Debug, Clone)]
pub struct Timed<Op, H> {
    pub(crate) op: Op,
    pub(crate) timeout: H,
}

pin_project! {
    /// The state of one call under a [`Timeout`], from either front door. The clock starts at
    /// the first poll that finds the call still pending, so it covers the waits of every policy
    /// inside the timeout (a bulkhead's, a retry's) as well as the call.
    ///
    /// When the deadline passes, the call inside is dropped there and then, before the timeout
    /// answers: what it held (a permit, a connection) is given back at the deadline, and an
    /// [`AdaptiveLimit`](crate::adaptive::AdaptiveLimit) inside learns that its call was cut off
    /// for being too slow.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the call inside and reports nothing: cancellation is not a timeout.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct TimeoutCall<Inner> {
        #[pin]
        inner: Slot<Inner>,
        #[pin]
        timer: LazySleep,
    }
}

pin_project! {
    /// The call inside a timeout, until the deadline drops it.
    #[project = SlotProj]
    #[derive(Debug)]
    enum Slot<Inner> {
        Live { #[pin] call: Inner },
        CutOff,
    }
}

impl<Op, H> Applied for Timed<Op, H>
where
    Op: Operation,
    H: Borrow<Timeout>,
{
    type Inner = Op;
    type Call = TimeoutCall<Op::Call>;

    #[inline]
    fn start(&self) -> Self::Call {
        TimeoutCall {
            inner: Slot::Live {
                call: self.op.start(),
            },
            timer: LazySleep::Unarmed,
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
        let SlotProj::Live { call: inner } = this.inner.as_mut().project() else {
            panic!("a timeout call polled after its deadline answered");
        };
        if let Poll::Ready(result) = poll_inner(&mut self.op, inner, cx) {
            return Poll::Ready(result);
        }
        let timeout = self.timeout.borrow();
        // Armed lazily: a call that is ready on its first poll never touches the clock.
        this.timer.as_mut().arm_once(timeout.duration);
        ready!(this.timer.poll_fired(cx));
        crate::timer::expiring(|| this.inner.set(Slot::CutOff));
        Poll::Ready(Err(elapsed(timeout)))
    }
}

impl<Inner> TimeoutCall<Inner> {
    /// A call whose inner state the caller made.
    pub(crate) fn lent(inner: Inner) -> Self {
        Self {
            inner: Slot::Live { call: inner },
            timer: LazySleep::Unarmed,
        }
    }
}

#[cold]
fn elapsed<E: PolicyError>(timeout: &Timeout) -> E {
    let event = TimeoutEvent::Elapsed {
        after: timeout.duration,
    };
    timeout.sinks.emit(&timeout.name, EventKind::Timeout(event));
    let elapsed = Elapsed::new(timeout.duration, timeout.name.clone());
    E::from_rejection(Rejection::Timeout(elapsed))
}
