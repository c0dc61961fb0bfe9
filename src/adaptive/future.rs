use std::{
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::{
    AdaptiveEvent,
    core::{AdaptiveState, Admission, Waiter},
};
use crate::{
    Classify, Operation, Outcome as Judged, PolicyError, Rejection,
    events::EventKind,
    policy::{Applied, Outcome},
    sync::Arc,
    timer::LazySleep,
};

/// An operation with an adaptive limit around it; made by applying an
/// [`AdaptiveLimit`](super::AdaptiveLimit) (by [`Policy::call`](crate::Policy::call),
/// [`Policy::wrap`](crate::Policy::wrap) or the tower layer).
///
/// `H` is how the operation holds the limiter: borrowed by the combinator, an `Arc` in tower.
#[derive(Debug, Clone)]
pub struct AdaptiveLimited<Op, H, C> {
    pub(crate) op: Op,
    // `None` only in a tower call, whose one call state was made with the handle moved into it.
    pub(crate) state: Option<H>,
    pub(crate) classify: C,
    /// The partition the call belongs to (0: the default one).
    pub(crate) partition: usize,
}

pin_project! {
    /// The state of one call under an [`AdaptiveLimit`](super::AdaptiveLimit), from either
    /// front door: on its first poll it takes a place under the current limit (waiting at most
    /// `max_wait`, if waiting is on), makes the call inside, and reports its round trip and
    /// classified outcome when it finishes.
    ///
    /// # Cancel safety
    ///
    /// Dropping it at any point frees what it holds at once: a waiting place, or the place of a
    /// running call. A running call dropped by a failguard [`Timeout`](crate::Timeout) whose
    /// deadline passed is recorded as a drop (the dependency was too slow); dropped for any
    /// other reason it counts nowhere. A panic in the call unwinds through the same drop.
    #[must_use = "futures do nothing unless polled"]
    pub struct AdaptiveCall<Inner, H>
    where
        H: Deref<Target = AdaptiveState>,
    {
        #[pin]
        inner: Inner,
        #[pin]
        timer: LazySleep,
        phase: Phase,
        partition: usize,
        state: H,
    }

    impl<Inner, H> PinnedDrop for AdaptiveCall<Inner, H>
    where
        H: Deref<Target = AdaptiveState>,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            match std::mem::replace(this.phase, Phase::Done) {
                Phase::Waiting(waiter) => {
                    if this.state.leave(&waiter) {
                        this.state.release(*this.partition);
                    }
                }
                Phase::Running { start, in_flight } => {
                    this.state.release(*this.partition);
                    if crate::timer::is_expiring() {
                        this.state.record(start.elapsed(), in_flight, true);
                    }
                }
                Phase::Start | Phase::Done => {}
            }
        }
    }
}

#[derive(Debug)]
enum Phase {
    Start,
    Waiting(Arc<Waiter>),
    Running { start: Instant, in_flight: usize },
    Done,
}

impl<Op, H, C> Applied for AdaptiveLimited<Op, H, C>
where
    Op: Operation,
    H: Deref<Target = AdaptiveState> + Clone,
    C: Classify<Op::Ok, Op::Error>,
{
    type Inner = Op;
    type Call = AdaptiveCall<Op::Call, H>;

    #[inline]
    fn start(&self) -> Self::Call {
        AdaptiveCall {
            inner: self.op.start(),
            timer: LazySleep::Unarmed,
            phase: Phase::Start,
            partition: self.partition,
            state: self
                .state
                .clone()
                .expect("an operation lent its limiter to its one call"),
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
                Phase::Running { start, in_flight } => {
                    let (start, in_flight) = (*start, *in_flight);
                    let result = ready!(poll_inner(&mut self.op, this.inner, cx));
                    // The call still owns its place while the classifier runs: a panic there
                    // gives it back through the drop.
                    let judged = self.classify.classify(&result);
                    *this.phase = Phase::Done;
                    this.state.release(*this.partition);
                    match judged {
                        Judged::Success => this.state.record(start.elapsed(), in_flight, false),
                        Judged::Failure => this.state.record(start.elapsed(), in_flight, true),
                        Judged::Ignored => {}
                    }
                    return Poll::Ready(result);
                }
                Phase::Start => match this.state.acquire(*this.partition) {
                    Admission::Admitted(in_flight) => run(this.phase, this.state, in_flight),
                    Admission::Wait(waiter) => {
                        *this.phase = Phase::Waiting(waiter);
                        this.timer.as_mut().arm_once(this.state.max_wait);
                    }
                    Admission::Rejected { limit, in_flight } => {
                        *this.phase = Phase::Done;
                        return Poll::Ready(Err(reject(this.state, limit, in_flight, false)));
                    }
                },
                Phase::Waiting(waiter) => {
                    if let Some(in_flight) = this.state.poll_granted(waiter, cx.waker()) {
                        run(this.phase, this.state, in_flight);
                        continue;
                    }
                    ready!(this.timer.as_mut().poll_fired(cx));
                    let waiter = waiter.clone();
                    if this.state.leave(&waiter) {
                        // Granted just as the wait ran out: the permit wins.
                        let in_flight = this.state.poll_granted(&waiter, cx.waker());
                        run(this.phase, this.state, in_flight.unwrap_or(1));
                        continue;
                    }
                    *this.phase = Phase::Done;
                    let (limit, in_flight) = (this.state.limit(), this.state.in_flight());
                    this.state.count_rejection();
                    return Poll::Ready(Err(reject(this.state, limit, in_flight, true)));
                }
                Phase::Done => panic!("an adaptive limit call polled after completion"),
            }
        }
    }
}

impl<Inner, H: Deref<Target = AdaptiveState>> AdaptiveCall<Inner, H> {
    /// A call not yet admitted, holding the limiter itself.
    #[cfg(feature = "tower")]
    pub(crate) fn lent(inner: Inner, state: H, partition: usize) -> Self {
        Self {
            inner,
            timer: LazySleep::Unarmed,
            phase: Phase::Start,
            partition,
            state,
        }
    }
}

/// Starts the clock of an admitted call, and reports it to listeners that want every call.
#[inline(always)]
fn run(phase: &mut Phase, state: &AdaptiveState, in_flight: usize) {
    *phase = Phase::Running {
        start: Instant::now(),
        in_flight,
    };
    if state.sinks.per_call() {
        state
            .sinks
            .emit(&state.name, EventKind::Adaptive(AdaptiveEvent::Admitted));
    }
}

#[cold]
fn reject<E: PolicyError>(
    state: &AdaptiveState,
    limit: usize,
    in_flight: usize,
    waited: bool,
) -> E {
    let event = AdaptiveEvent::Rejected {
        limit,
        in_flight,
        waited,
    };
    state.sinks.emit(&state.name, EventKind::Adaptive(event));
    E::from_rejection(Rejection::ConcurrencyLimited(
        super::ConcurrencyLimited::new(state.name.clone(), limit, in_flight, waited),
    ))
}

impl<Inner, H> std::fmt::Debug for AdaptiveCall<Inner, H>
where
    H: Deref<Target = AdaptiveState>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptiveCall")
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}
