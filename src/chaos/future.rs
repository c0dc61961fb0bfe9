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
        let mut this = call.project();
        loop {
            match *this.phase {
                Phase::Running => return poll_inner(&mut self.op, this.inner, cx),
                Phase::Start => {
                    // The switch first: a disabled policy draws nothing and reads no clock.
                    if !self.state.is_enabled() {
                        *this.phase = Phase::Running;
                        continue;
                    }
                    match self.state.draw() {
                        None => *this.phase = Phase::Running,
                        Some(Injection::Fail(error)) => {
                            *this.phase = Phase::Running;
                            self.state.report(ChaosEvent::InjectedError);
                            return Poll::Ready(Err(error));
                        }
                        Some(Injection::Replace(value)) => {
                            *this.phase = Phase::Running;
                            self.state.report(ChaosEvent::InjectedResult);
                            return Poll::Ready(Ok(value));
                        }
                        Some(Injection::Delay(delay)) => {
                            self.state.report(ChaosEvent::InjectedLatency { delay });
                            this.timer.as_mut().arm_once(delay);
                            *this.phase = Phase::Delaying;
                        }
                    }
                }
                Phase::Delaying => {
                    ready!(this.timer.as_mut().poll_fired(cx));
                    *this.phase = Phase::Running;
                }
            }
        }
    }
}

impl<F> ChaosState<F> {
    #[cold]
    fn report(&self, event: ChaosEvent) {
        self.sinks.emit(&self.name, EventKind::Chaos(event));
    }
}
