use std::{
    ops::Deref,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::{HedgeEvent, HedgeReason, HedgeState};
use crate::{
    Classify, Operation, OperationMut, Outcome, PolicyError, Rejection, sync::Ordering,
    timer::LazySleep,
};

/// Where a hedge's attempts come from: the combinator calls the operation again, the tower
/// service replays the request to a clone of the service. You never implement it.
pub trait HedgeAttempts {
    /// The value of a successful attempt.
    type Ok;
    /// The error of a failed attempt.
    type Error: PolicyError;
    /// The state of one attempt, inert until polled.
    type Call;

    /// A new attempt: the first, or a hedge; `None` when a hedge cannot be made (a request
    /// that cannot be replayed).
    fn start(&mut self, first: bool) -> Option<Self::Call>;

    /// Drives an attempt: makes it on its first poll, then polls it.
    fn poll_attempt(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Ok, Self::Error>>;
}

/// The combinator's attempts: the operation, called again for each. Attempts in flight at once
/// are each polled with the operation lent to them in turn.
#[derive(Debug, Clone)]
pub struct OpHedges<Op>(pub(crate) Op);

impl<Op: OperationMut> HedgeAttempts for OpHedges<Op> {
    type Ok = Op::Ok;
    type Error = Op::Error;
    type Call = Op::Call;

    #[inline]
    fn start(&mut self, _first: bool) -> Option<Op::Call> {
        Some(self.0.start())
    }

    #[inline]
    fn poll_attempt(
        &mut self,
        call: Pin<&mut Op::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Op::Ok, Op::Error>> {
        self.0.poll_mut(call, cx)
    }
}

/// An operation with a hedge around it; made by applying a [`Hedge`](super::Hedge) (by
/// [`Policy::call`](crate::Policy::call), [`Policy::wrap`](crate::Policy::wrap) or the tower
/// layer).
///
/// `A` is where the attempts come from ([`OpHedges`] or, in tower,
/// [`ServiceHedges`](super::ServiceHedges)); `H` is how the operation holds the hedge: borrowed
/// by the combinator, an `Arc` in tower.
#[derive(Debug, Clone)]
pub struct Hedged<A, H> {
    pub(crate) attempts: A,
    pub(crate) state: H,
}

/// A hedged attempt in flight: boxed, since attempts come and go while the call is pinned.
struct Flight<C> {
    call: Pin<Box<C>>,
    sent: Instant,
    attempt: u32,
}

pin_project! {
    #[project = FirstProj]
    enum First<C> {
        Idle,
        Running { #[pin] call: C },
        Done,
    }
}

pin_project! {
    /// The state of one call under a [`Hedge`](super::Hedge), from either front door: the
    /// first attempt on the first poll; while no acceptable outcome has come, another attempt
    /// each time the hedging delay passes (or at once after a failure, if so configured), up
    /// to `max_hedged_attempts`, each drawn from the budget; the first acceptable outcome
    /// wins and every other attempt is dropped. When every attempt failed and no more may be
    /// sent, it returns the last failure.
    ///
    /// The first attempt lives inline (a call that needs no hedge allocates nothing); each
    /// hedge is boxed. On every wake-up the attempts in flight (at most 11) are polled in turn:
    /// the combinator's attempts are polled with the one operation lent to each (`&mut`), which
    /// a set of independent futures such as `futures`' `FuturesUnordered` cannot do.
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops every attempt in flight and the timer; nothing is recorded. A hedge
    /// already taken from the budget is not given back.
    #[project = HedgeCallProj]
    #[must_use = "futures do nothing unless polled"]
    pub struct HedgeCall<C, O> {
        #[pin]
        first: First<C>,
        first_sent: Option<Instant>,
        hedges: Vec<Flight<C>>,
        #[pin]
        timer: LazySleep,
        timer_armed: bool,
        // Attempts sent, the first included.
        sent: u32,
        last_sent: Option<Instant>,
        delay: Duration,
        // No more attempts: the budget is empty, a request cannot be replayed, or an attempt
        // was rejected by a policy inside the hedge.
        stopped: bool,
        // A failure asked for the next attempt at once.
        send_now: bool,
        last_failure: Option<O>,
    }
}

impl<C, O> std::fmt::Debug for HedgeCall<C, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HedgeCall")
            .field("sent", &self.sent)
            .field("in_flight_hedges", &self.hedges.len())
            .finish_non_exhaustive()
    }
}

impl<C, O> HedgeCall<C, O> {
    pub(crate) fn new() -> Self {
        Self {
            first: First::Idle,
            first_sent: None,
            hedges: Vec::new(),
            timer: LazySleep::Unarmed,
            timer_armed: false,
            sent: 0,
            last_sent: None,
            delay: Duration::ZERO,
            stopped: false,
            send_now: false,
            last_failure: None,
        }
    }
}

type Out<A> = Result<<A as HedgeAttempts>::Ok, <A as HedgeAttempts>::Error>;

impl<A, H, K> Hedged<A, H>
where
    A: HedgeAttempts,
    H: Deref<Target = HedgeState<K>>,
    K: Classify<A::Ok, A::Error>,
{
    /// Judges a finished attempt: `Some` ends the call with it.
    fn finished(
        &self,
        call: &mut HedgeCallProj<'_, A::Call, Out<A>>,
        outcome: Out<A>,
        attempt: u32,
        sent: Option<Instant>,
    ) -> Option<Out<A>> {
        let state = &*self.state;
        let now = (state.timed() && sent.is_some()).then(Instant::now);
        if let (Some(now), Some(sent)) = (now, sent) {
            state.record(now - sent, false, now);
        }
        if state.classify.classify(&outcome) != Outcome::Failure {
            // The winner: every other attempt is cancelled, each timed as at least this long.
            if let Some(now) = now {
                if let (FirstProj::Running { .. }, Some(sent)) =
                    (call.first.as_mut().project(), *call.first_sent)
                {
                    state.record(now - sent, true, now);
                }
                for flight in call.hedges.iter() {
                    state.record(now - flight.sent, true, now);
                }
            }
            call.first.set(First::Done);
            call.hedges.clear();
            if attempt > 1 {
                state.hedge_wins.fetch_add(1, Ordering::Relaxed);
                state.emit(HedgeEvent::HedgeWon { attempt });
            }
            return Some(outcome);
        }
        if let Err(error) = &outcome {
            // A policy inside refused (an open circuit, a full bulkhead): another attempt
            // would be refused too. A timed-out attempt is only slow: hedging goes on.
            if !matches!(error.rejection(), None | Some(Rejection::Timeout(_))) {
                *call.stopped = true;
            }
        }
        *call.send_now |= state.hedge_on_failure;
        *call.last_failure = Some(outcome);
        None
    }

    /// Sends the next attempt, if the budget and the request allow; `false` stops hedging.
    fn send(&mut self, call: &mut HedgeCallProj<'_, A::Call, Out<A>>, reason: HedgeReason) -> bool {
        let state = &*self.state;
        let Some(attempt) = self.attempts.start(false) else {
            *call.stopped = true;
            return false;
        };
        if !state.withdraw(*call.sent) {
            *call.stopped = true;
            return false;
        }
        let now = Instant::now();
        *call.sent += 1;
        call.hedges.push(Flight {
            call: Box::pin(attempt),
            sent: now,
            attempt: *call.sent,
        });
        state.hedges.fetch_add(1, Ordering::Relaxed);
        let after = call.last_sent.map_or(Duration::ZERO, |last| now - last);
        state.emit(HedgeEvent::Hedged {
            attempt: *call.sent,
            after,
            reason,
        });
        *call.last_sent = Some(now);
        *call.timer_armed = false;
        true
    }

    /// Whether another attempt may be sent.
    fn may_send(&self, call: &HedgeCallProj<'_, A::Call, Out<A>>) -> bool {
        !*call.stopped && *call.sent <= self.state.max_hedged
    }

    #[inline(always)]
    fn poll_hedged(
        &mut self,
        mut call: Pin<&mut HedgeCall<A::Call, Out<A>>>,
        cx: &mut Context<'_>,
    ) -> Poll<Out<A>> {
        let mut this = call.as_mut().project();
        if *this.sent != 0 {
            return self.poll_rest(call, cx, false);
        }
        // The first poll: the first attempt, with no clock read unless it is pending.
        self.state.deposit();
        *this.sent = 1;
        let first = self
            .attempts
            .start(true)
            .expect("the first attempt is always made");
        this.first.set(First::Running { call: first });
        if let FirstProj::Running { call: attempt } = this.first.as_mut().project() {
            if let Poll::Ready(outcome) = self.attempts.poll_attempt(attempt, cx) {
                // The happy path: answered at once, nothing else in flight, nothing timed.
                if self.state.classify.classify(&outcome) != Outcome::Failure {
                    return Poll::Ready(outcome);
                }
                return self.first_failed(call, outcome, cx);
            }
        }
        self.first_pending(call, cx)
    }

    /// The first attempt failed on its first poll.
    #[inline(never)]
    fn first_failed(
        &mut self,
        mut call: Pin<&mut HedgeCall<A::Call, Out<A>>>,
        outcome: Out<A>,
        cx: &mut Context<'_>,
    ) -> Poll<Out<A>> {
        let mut this = call.as_mut().project();
        this.first.set(First::Done);
        if let Some(outcome) = self.finished(&mut this, outcome, 1, None) {
            return Poll::Ready(outcome);
        }
        self.poll_rest(call, cx, false)
    }

    /// The first attempt is pending after its first poll: its clock starts.
    #[inline(never)]
    fn first_pending(
        &mut self,
        mut call: Pin<&mut HedgeCall<A::Call, Out<A>>>,
        cx: &mut Context<'_>,
    ) -> Poll<Out<A>> {
        let this = call.as_mut().project();
        let now = Instant::now();
        *this.first_sent = Some(now);
        *this.last_sent = Some(now);
        *this.delay = self.state.delay(now);
        self.poll_rest(call, cx, true)
    }

    /// Everything after the first attempt's first poll. `fresh`: the first attempt was polled
    /// just now, so it is not polled again before the timer is armed.
    #[inline(never)]
    fn poll_rest(
        &mut self,
        call: Pin<&mut HedgeCall<A::Call, Out<A>>>,
        cx: &mut Context<'_>,
        mut fresh: bool,
    ) -> Poll<Out<A>> {
        let mut this = call.project();
        loop {
            if let (false, FirstProj::Running { call }) = (fresh, this.first.as_mut().project()) {
                if let Poll::Ready(outcome) = self.attempts.poll_attempt(call, cx) {
                    this.first.set(First::Done);
                    let sent = *this.first_sent;
                    if let Some(outcome) = self.finished(&mut this, outcome, 1, sent) {
                        return Poll::Ready(outcome);
                    }
                }
            }
            fresh = false;
            let mut i = 0;
            while i < this.hedges.len() {
                let flight = &mut this.hedges[i];
                match self.attempts.poll_attempt(flight.call.as_mut(), cx) {
                    Poll::Pending => i += 1,
                    Poll::Ready(outcome) => {
                        let Flight { attempt, sent, .. } = this.hedges.swap_remove(i);
                        if let Some(outcome) =
                            self.finished(&mut this, outcome, attempt, Some(sent))
                        {
                            return Poll::Ready(outcome);
                        }
                    }
                }
            }
            let in_flight = matches!(*this.first, First::Running { .. }) || !this.hedges.is_empty();
            if !self.may_send(&this) {
                if in_flight {
                    return Poll::Pending;
                }
                return Poll::Ready(this.last_failure.take().expect("every attempt failed"));
            }
            if std::mem::take(this.send_now) {
                if self.send(&mut this, HedgeReason::Failure) {
                    continue;
                }
                continue; // stopped: wait for what is in flight, or return the failure
            }
            if !in_flight {
                // Every attempt failed, and failures do not send at once: nothing to race.
                return Poll::Ready(this.last_failure.take().expect("every attempt failed"));
            }
            if !*this.timer_armed {
                let last = this.last_sent.expect("an attempt was sent");
                if this.first_sent.is_none() {
                    // The first attempt finished (failed) on its first poll: time from now.
                    let now = Instant::now();
                    *this.first_sent = Some(now);
                    *this.delay = self.state.delay(now);
                }
                this.timer.as_mut().arm_at(last + *this.delay);
                *this.timer_armed = true;
            }
            if this.timer.as_mut().poll_fired(cx).is_pending() {
                return Poll::Pending;
            }
            self.send(&mut this, HedgeReason::Slow);
        }
    }
}

impl<A, H, K> Operation for Hedged<A, H>
where
    A: HedgeAttempts,
    H: Deref<Target = HedgeState<K>>,
    K: Classify<A::Ok, A::Error>,
{
    type Ok = A::Ok;
    type Error = A::Error;
    type Call = HedgeCall<A::Call, Out<A>>;

    #[inline]
    fn start(&self) -> Self::Call {
        HedgeCall::new()
    }

    #[inline]
    fn poll_once(&mut self, call: Pin<&mut Self::Call>, cx: &mut Context<'_>) -> Poll<Out<A>> {
        self.poll_hedged(call, cx)
    }
}

/// A hedge inside a retry: each outer attempt runs the hedge afresh.
impl<A, H, K> OperationMut for Hedged<A, H>
where
    A: HedgeAttempts,
    H: Deref<Target = HedgeState<K>>,
    K: Classify<A::Ok, A::Error>,
{
    #[inline]
    fn poll_mut(&mut self, call: Pin<&mut Self::Call>, cx: &mut Context<'_>) -> Poll<Out<A>> {
        self.poll_hedged(call, cx)
    }
}
