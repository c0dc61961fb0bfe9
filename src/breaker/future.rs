use std::{
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::core::{Admission, BreakerState, Permit};
use crate::{
    Classify, Operation, PolicyError, Rejection,
    policy::{Applied, Outcome},
};

/// An operation with a breaker around it; made by applying a
/// [`CircuitBreaker`](super::CircuitBreaker) (by [`Policy::call`](crate::Policy::call),
/// [`Policy::wrap`](crate::Policy::wrap) or the tower layer).
///
/// `H` is how the operation holds the breaker: borrowed by the combinator, an `Arc` in tower.
#[derive(Debug, Clone)]
pub struct Guarded<Op, H, C> {
    pub(crate) op: Op,
    pub(crate) state: H,
    pub(crate) classify: C,
}

pin_project! {
    /// The state of one call through a [`CircuitBreaker`](super::CircuitBreaker), from either
    /// front door. The breaker decides on the first poll: if it rejects, the operation inside is
    /// never called and the call answers `CircuitOpen`; otherwise it makes the call and records
    /// the classified outcome.
    ///
    /// # Cancel safety
    ///
    /// Dropping it before the call finishes records nothing and gives back a half-open probe
    /// permit if it held one. The permit is owned by a guard from the moment it is taken until
    /// the outcome is recorded, so a panic in the operation, an inner service or the classifier
    /// gives it back too.
    #[must_use = "futures do nothing unless polled"]
    pub struct BreakerCall<Inner, H>
    where
        H: Deref<Target = BreakerState>,
    {
        #[pin]
        inner: Inner,
        stage: Stage<H>,
    }
}

enum Stage<H: Deref<Target = BreakerState>> {
    Start,
    Admitted {
        permit: PermitGuard<H>,
        start: Option<Instant>,
    },
    Done,
}

/// A taken permit, given back on drop unless its outcome was recorded.
struct PermitGuard<H: Deref<Target = BreakerState>> {
    state: H,
    permit: Permit,
}

impl<H: Deref<Target = BreakerState>> Drop for PermitGuard<H> {
    fn drop(&mut self) {
        let permit = std::mem::replace(&mut self.permit, Permit::NONE);
        if permit != Permit::NONE {
            self.state.cancel(permit);
        }
    }
}

impl<Op, H, C> Applied for Guarded<Op, H, C>
where
    Op: Operation,
    H: Deref<Target = BreakerState> + Clone,
    C: Classify<Op::Ok, Op::Error>,
{
    type Inner = Op;
    type Call = BreakerCall<Op::Call, H>;

    #[inline]
    fn start(&self) -> Self::Call {
        BreakerCall {
            inner: self.op.start(),
            stage: Stage::Start,
        }
    }

    #[inline]
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
        if let Stage::Start = this.stage {
            match self.state.admit() {
                Admission::Admit(permit) => {
                    *this.stage = Stage::Admitted {
                        start: self.state.start(),
                        permit: PermitGuard {
                            state: self.state.clone(),
                            permit,
                        },
                    }
                }
                Admission::Reject { retry_after } => {
                    *this.stage = Stage::Done;
                    let open = self.state.open_error(retry_after);
                    return Poll::Ready(Err(Op::Error::from_rejection(Rejection::CircuitOpen(
                        open,
                    ))));
                }
            }
        }
        let result = ready!(poll_inner(&mut self.op, this.inner, cx));
        match std::mem::replace(this.stage, Stage::Done) {
            Stage::Admitted { mut permit, start } => {
                // The guard still holds the permit while the classifier runs.
                let outcome = self.classify.classify(&result);
                let taken = std::mem::replace(&mut permit.permit, Permit::NONE);
                self.state.record(taken, start, outcome);
            }
            Stage::Start | Stage::Done => panic!("a breaker call polled after completion"),
        }
        Poll::Ready(result)
    }
}

impl<Inner, H> std::fmt::Debug for BreakerCall<Inner, H>
where
    H: Deref<Target = BreakerState>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stage = match self.stage {
            Stage::Start => "start",
            Stage::Admitted { .. } => "admitted",
            Stage::Done => "done",
        };
        f.debug_struct("BreakerCall")
            .field("stage", &stage)
            .finish_non_exhaustive()
    }
}
