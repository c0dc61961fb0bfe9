use std::{
    ops::Deref,
    pin::Pin,
    task::{Context, Poll, ready},
};

use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::{ThrottleEvent, Throttled, core::ThrottleState};
use crate::{
    Classify, Operation, Outcome as Judged, PolicyError, Rejection,
    events::EventKind,
    policy::{Applied, Outcome},
};

/// An operation with an adaptive throttle around it; made by applying an
/// [`AdaptiveThrottle`](super::AdaptiveThrottle) (by [`Policy::call`](crate::Policy::call),
/// [`Policy::wrap`](crate::Policy::wrap) or the tower layer).
#[derive(Debug, Clone)]
pub struct Throttling<Op, H, C> {
    pub(crate) op: Op,
    // `None` only in a tower call, whose one call state was made with the handle moved into it.
    pub(crate) state: Option<H>,
    pub(crate) classify: C,
}

pin_project! {
    /// The state of one call under an [`AdaptiveThrottle`](super::AdaptiveThrottle), from either
    /// front door: on its first poll the throttle lets the request go or rejects it locally;
    /// once it is answered, the classified outcome says whether the backend accepted it.
    ///
    /// # Cancel safety
    ///
    /// It holds nothing that needs giving back. Dropped while the request is out, it records
    /// nothing, unless a failguard [`Timeout`](crate::Timeout) around it cut it off at its
    /// deadline: then the request counts as not accepted.
    #[must_use = "futures do nothing unless polled"]
    pub struct ThrottleCall<Inner, H>
    where
        H: Deref<Target = ThrottleState>,
    {
        #[pin]
        inner: Inner,
        running: bool,
        state: H,
    }

    impl<Inner, H> PinnedDrop for ThrottleCall<Inner, H>
    where
        H: Deref<Target = ThrottleState>,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if *this.running && crate::timer::is_expiring() {
                this.state.record(false, Instant::now());
            }
        }
    }
}

impl<Op, H, C> Applied for Throttling<Op, H, C>
where
    Op: Operation,
    H: Deref<Target = ThrottleState> + Clone,
    C: Classify<Op::Ok, Op::Error>,
{
    type Inner = Op;
    type Call = ThrottleCall<Op::Call, H>;

    #[inline]
    fn start(&self) -> Self::Call {
        ThrottleCall {
            inner: self.op.start(),
            running: false,
            state: self
                .state
                .clone()
                .expect("an operation lent its throttle to its one call"),
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
        let this = call.project();
        if !*this.running {
            if let Err((probability, counts)) = this.state.admit(Instant::now()) {
                return Poll::Ready(Err(reject(this.state, probability, counts)));
            }
            *this.running = true;
        }
        let result = ready!(poll_inner(&mut self.op, this.inner, cx));
        *this.running = false;
        match self.classify.classify(&result) {
            Judged::Success => this.state.record(true, Instant::now()),
            Judged::Failure => this.state.record(false, Instant::now()),
            Judged::Ignored => {}
        }
        Poll::Ready(result)
    }
}

impl<Inner, H: Deref<Target = ThrottleState>> ThrottleCall<Inner, H> {
    /// A call not yet admitted, holding the throttle itself.
    #[cfg(feature = "tower")]
    pub(crate) fn lent(inner: Inner, state: H) -> Self {
        Self {
            inner,
            running: false,
            state,
        }
    }
}

#[cold]
fn reject<E: PolicyError>(
    state: &ThrottleState,
    probability: f64,
    counts: super::core::Counts,
) -> E {
    let event = ThrottleEvent::Throttled {
        probability,
        requests: counts.requests,
        accepts: counts.accepts,
    };
    state.sinks.emit(&state.name, EventKind::Throttle(event));
    E::from_rejection(Rejection::Throttled(Throttled::new(
        state.name.clone(),
        probability,
        counts.requests,
        counts.accepts,
    )))
}

impl<Inner, H> std::fmt::Debug for ThrottleCall<Inner, H>
where
    H: Deref<Target = ThrottleState>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrottleCall")
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}
