use std::{
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;

use super::{ChaosEvent, ChaosState, Fault, Injection};
use crate::{
    Operation,
    events::EventKind,
    policy::{Applied, Outcome},
    timer::LazySleep,
};

/// An operation with a chaos policy around it; made by applying a [`Chaos`](super::Chaos) (by
/// [`Policy::call`](crate::Policy::call), [`Policy::wrap`](crate::Policy::wrap) or the tower
/// layer).
///
/// `H` is how the operation holds the policy: borrowed by the combinator, an `Arc` in tower.
#[derive(Debug, Clone)]
pub struct Injected<Op, H> {
    pub(crate) op: Op,
    pub(crate) state: H,
}

pin_project! {
    /// The state of one call under a [`Chaos`](super::Chaos) policy, from either front door.
    /// On its first poll, if the policy is enabled, it draws whether to inject: an error or a
    /// result ends the call there (the operation inside is never called), a latency sleeps
    /// first and then makes the call. A disabled policy makes the call at once: one atomic
    /// load, no draw, no clock read.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the injected sleep or the call inside; nothing else is held.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct ChaosCall<Inner> {
        #[pin]
        inner: Inner,
        #[pin]
        timer: LazySleep,
        phase: Phase,
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Start,
    Delaying,
    Running,
}

impl<Inner> ChaosCall<Inner> {
    pub(crate) fn new(inner: Inner) -> Self {
        Self {
            inner,
            timer: LazySleep::Unarmed,
            phase: Phase::Start,
        }
    }
}

impl<Op, H, F> Applied for Injected<Op, H>
where
    Op: Operation,
    H: Deref<Target = ChaosState<F>>,
    F: Fault<Op::Ok, Op::Error>,
{
    type Inner = Op;
    type Call = ChaosCall<Op::Call>;

    #[inline]
    fn start(&self) -> Self::Call {
        ChaosCall::new(self.op.start())
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
        let this = call.project();
        match *this.phase {
            Phase::Running => {}
            // The switch first: a disabled policy draws nothing and reads no clock.
            Phase::Start if !self.state.is_enabled() => *this.phase = Phase::Running,
            _ => {
                if let Some(injected) = ready!(inject(&self.state, this.phase, this.timer, cx)) {
                    return Poll::Ready(injected);
                }
            }
        }
        poll_inner(&mut self.op, this.inner, cx)
    }
}

/// An enabled policy's first poll (the draw and the fault), and an injected latency's wait:
/// `Some` is the call's injected outcome, `None` lets the call run. Out of line, so that the
/// disabled path inlined into the caller stays one load and a branch.
#[inline(never)]
fn inject<F, T, Err>(
    state: &ChaosState<F>,
    phase: &mut Phase,
    mut timer: Pin<&mut LazySleep>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<T, Err>>>
where
    F: Fault<T, Err>,
{
    if let Phase::Start = *phase {
        match state.draw() {
            None => *phase = Phase::Running,
            Some(Injection::Fail(error)) => {
                *phase = Phase::Running;
                state.report(ChaosEvent::InjectedError);
                return Poll::Ready(Some(Err(error)));
            }
            Some(Injection::Replace(value)) => {
                *phase = Phase::Running;
                state.report(ChaosEvent::InjectedResult);
                return Poll::Ready(Some(Ok(value)));
            }
            Some(Injection::Delay(delay)) => {
                state.report(ChaosEvent::InjectedLatency { delay });
                timer.as_mut().arm_once(delay);
                *phase = Phase::Delaying;
            }
        }
    }
    if let Phase::Delaying = *phase {
        ready!(timer.poll_fired(cx));
        *phase = Phase::Running;
    }
    Poll::Ready(None)
}

impl<F> ChaosState<F> {
    #[cold]
    fn report(&self, event: ChaosEvent) {
        self.sinks.emit(&self.name, EventKind::Chaos(event));
    }
}
