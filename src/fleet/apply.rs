//! The fleet's policies as policies: `Apply` (what `call`, `wrap` and a queue use), and
//! `Policy<T, E>`.

use std::sync::Arc;

use super::{
    FleetBreaker, GlobalRateLimiter, breaker::Gate, future::GloballyLimited, future::QuorumGuarded,
};
use crate::{
    Classify, Operation,
    breaker::{BreakerState, Guarded},
    policy::Apply,
};

impl<'a, Op: Operation> Apply<Op> for &'a GlobalRateLimiter {
    type Output = GloballyLimited<Op, &'a GlobalRateLimiter>;

    fn apply(self, op: Op) -> Self::Output {
        GloballyLimited { op, limiter: self }
    }
}

/// Owned, for an operation that must outlive the borrow (tower, a queue's workers).
impl<Op: Operation> Apply<Op> for GlobalRateLimiter {
    type Output = GloballyLimited<Op, GlobalRateLimiter>;

    fn apply(self, op: Op) -> Self::Output {
        GloballyLimited { op, limiter: self }
    }
}

crate::policy::typed_policy!([] GlobalRateLimiter => GloballyLimited<Op, &'a GlobalRateLimiter>);

impl<'a, Op, C> Apply<Op> for &'a FleetBreaker<C>
where
    Op: Operation,
    C: Classify<Op::Ok, Op::Error> + Clone,
{
    type Output = QuorumGuarded<Guarded<Op, &'a BreakerState, C>, &'a Gate>;

    fn apply(self, op: Op) -> Self::Output {
        QuorumGuarded {
            inner: (&self.inner.local).apply(op),
            gate: &*self.inner.gate,
        }
    }
}

/// Owned, for an operation that must outlive the borrow (tower, a queue's workers).
impl<Op, C> Apply<Op> for FleetBreaker<C>
where
    Op: Operation,
    C: Classify<Op::Ok, Op::Error> + Clone,
{
    type Output = QuorumGuarded<Guarded<Op, Arc<BreakerState>, C>, Arc<Gate>>;

    fn apply(self, op: Op) -> Self::Output {
        QuorumGuarded {
            inner: self.inner.local.clone().apply(op),
            gate: self.inner.gate.clone(),
        }
    }
}

crate::policy::typed_policy!(
    [C] FleetBreaker<C> => QuorumGuarded<Guarded<Op, &'a BreakerState, C>, &'a Gate>,
    where [C: Classify<T, crate::Error<E>> + Clone + Send + Sync + 'static]
);
