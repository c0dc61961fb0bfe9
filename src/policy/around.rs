//! How a policy goes around what is inside it in a [`Wrap`], and how a queue comes to own it.

use super::{Apply, Operation, Wrap};

impl<'a, O, I, Op> Apply<Op> for &'a Wrap<O, I>
where
    O: Around<'a, &'a I, Op> + 'a,
    I: 'a,
{
    type Output = O::Output;

    fn apply(self, op: Op) -> Self::Output {
        self.outer.around(&self.inner, op)
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<O, I, Op> Apply<Op> for Wrap<O, I>
where
    I: Apply<Op>,
    O: Apply<I::Output>,
{
    type Output = O::Output;

    fn apply(self, op: Op) -> Self::Output {
        self.outer.apply(self.inner.apply(op))
    }
}

/// How a policy goes around what is inside it in a [`Wrap`]: `In` is that, lent for the call
/// (`&'a I`, or a [`Chain`] of policies when wraps are chained, `a.wrap(b).wrap(c)`).
///
/// Most policies borrow what is inside them (`outer(inner(op))`, nothing cloned). A
/// [`Queue`](crate::Queue) runs the call later, on a worker, so it takes a clone of the policies
/// inside it (cheap handles sharing their state) and the operation it runs owns them:
/// `queue.wrap(breaker).wrap(timeout)` works with handles that do not outlive the call. You
/// implement it only for a policy of your own, as `self.apply(inner.apply(op))`.
pub trait Around<'a, In, Op> {
    /// The operation with this policy and what is inside it around `op`.
    type Output: Operation;

    /// Puts `self` around `inner` around `op`.
    fn around(&'a self, inner: In, op: Op) -> Self::Output;
}

/// Policies lent in a chain: `P` around `In`. Made by [`Wrap`] for the policy around it; you do
/// not make one.
#[derive(Debug)]
pub struct Chain<'a, P, In>(&'a P, In);

impl<'a, P, In, Op> Apply<Op> for Chain<'a, P, In>
where
    P: Around<'a, In, Op>,
{
    type Output = P::Output;

    #[inline]
    fn apply(self, op: Op) -> Self::Output {
        self.0.around(self.1, op)
    }
}

/// Policies lent for a call, made owned (by cloning the handles) for a call that outlives the
/// loan: what a [`Queue`](crate::Queue) does with the policies inside it.
pub trait ToOwnedPolicy {
    /// The owned policies.
    type Owned;

    /// Clones the policies.
    fn to_owned_policy(&self) -> Self::Owned;
}

impl<P: Clone> ToOwnedPolicy for &P {
    type Owned = P;

    fn to_owned_policy(&self) -> P {
        (*self).clone()
    }
}

impl<P: Clone, In: ToOwnedPolicy> ToOwnedPolicy for Chain<'_, P, In> {
    type Owned = Wrap<P, In::Owned>;

    fn to_owned_policy(&self) -> Self::Owned {
        Wrap {
            outer: self.0.clone(),
            inner: self.1.to_owned_policy(),
        }
    }
}

/// The policies that borrow what is inside them.
macro_rules! borrowing_around {
    ($([$($generics:tt)*] $policy:ty),* $(,)?) => {$(
        impl<'a, $($generics)* In, Op> Around<'a, In, Op> for $policy
        where
            Self: 'a,
            In: Apply<Op>,
            &'a $policy: Apply<In::Output>,
        {
            type Output = <&'a $policy as Apply<In::Output>>::Output;

            #[inline]
            fn around(&'a self, inner: In, op: Op) -> Self::Output {
                self.apply(inner.apply(op))
            }
        }
    )*};
}

borrowing_around!(
    [] crate::Timeout,
    [] crate::Bulkhead,
    [] crate::RateLimiter,
    [C,] crate::CircuitBreaker<C>,
    [C,] crate::adaptive::AdaptiveLimit<C>,
    [C,] crate::throttle::AdaptiveThrottle<C>,
    [C, H, N,] crate::Retry<C, H, N>,
    [A, W,] crate::Fallback<A, W>,
    [F,] crate::chaos::Chaos<F>,
    [C,] crate::hedge::Hedge<C>,
    [P,] Option<P>,
);

#[cfg(feature = "redis")]
borrowing_around!(
    [] crate::fleet::GlobalRateLimiter,
    [C,] crate::fleet::FleetBreaker<C>,
);

/// A chain: the outer policy goes around the inner one and what is inside the chain.
impl<'a, O, I, In, Op> Around<'a, In, Op> for Wrap<O, I>
where
    Self: 'a,
    O: Around<'a, Chain<'a, I, In>, Op>,
{
    type Output = O::Output;

    #[inline]
    fn around(&'a self, inner: In, op: Op) -> Self::Output {
        self.outer.around(Chain(&self.inner, inner), op)
    }
}

/// A queue owns what it runs: the policies inside it are cloned into the queued operation.
impl<'a, In, Op> Around<'a, In, Op> for crate::Queue
where
    In: ToOwnedPolicy,
    In::Owned: Apply<Op>,
    &'a crate::Queue: Apply<<In::Owned as Apply<Op>>::Output>,
{
    type Output = <&'a crate::Queue as Apply<<In::Owned as Apply<Op>>::Output>>::Output;

    #[inline]
    fn around(&'a self, inner: In, op: Op) -> Self::Output {
        self.apply(inner.to_owned_policy().apply(op))
    }
}
