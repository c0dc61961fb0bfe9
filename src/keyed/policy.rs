//! What a [`Keyed`](super::Keyed) container needs of the policy it holds per key.

use crate::{Fallback, Name, Timeout, Wrap};

/// A policy a [`Keyed`](super::Keyed) container can hold, one instance per key: it can make a
/// new instance of itself with the same settings and state of its own, and it says when
/// dropping an instance would lose nothing that protects the dependency.
///
/// Implemented by every failguard policy with per-key meaning: [`CircuitBreaker`],
/// [`Bulkhead`], [`RateLimiter`], [`RetryBudget`](crate::retry::RetryBudget),
/// [`Retry`](crate::Retry), [`Timeout`], [`Fallback`], `Option<P>` and [`Wrap`] of them (a
/// whole stack per key). Implement it for a policy of your own.
///
/// | policy | a fresh instance | evictable when |
/// |---|---|---|
/// | [`CircuitBreaker`] | closed, empty window | closed; or its open duration is over and no probe is in flight. Never while open before then, nor forced open or disabled by hand |
/// | [`Bulkhead`] | nothing in flight | no call in flight or waiting |
/// | [`RateLimiter`] | its whole burst free | its whole burst is free (a limiter that is limiting is never dropped, so dropping it cannot hand out a new burst) |
/// | [`RetryBudget`](crate::retry::RetryBudget) | nothing deposited or withdrawn | it holds at least its reserve (a budget its retries have spent is kept, so dropping it cannot hand out new retries) |
/// | [`Retry`](crate::Retry) | its settings, and a fresh budget if it has one | its budget, if any, is evictable |
/// | [`Timeout`], [`Fallback`] | a clone (no state) | always |
/// | [`Wrap`] | both fresh | both evictable |
///
/// [`CircuitBreaker`]: crate::CircuitBreaker
/// [`Bulkhead`]: crate::Bulkhead
/// [`RateLimiter`]: crate::RateLimiter
///
/// # Examples
///
/// ```
/// use failguard::{CircuitBreaker, Name, keyed::KeyedPolicy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let template = CircuitBreaker::builder().name("users").build()?;
/// template.force_open();
/// let eu = template.fresh(Some(&Name::from("users@eu")));
/// assert_eq!(eu.name(), "users@eu");
/// assert_eq!(eu.state(), failguard::breaker::State::Closed); // settings copied, state not
/// assert!(eu.evictable());
/// assert!(!template.evictable()); // forced open by hand: kept
/// # Ok(())
/// # }
/// ```
pub trait KeyedPolicy: Clone + Send + Sync + 'static {
    /// A new instance with this one's settings and state of its own, renamed `name` when one
    /// is given (each stateful policy of a stack gets it).
    fn fresh(&self, name: Option<&Name>) -> Self;

    /// Whether this instance may be dropped now, to be replaced by a [`fresh`](Self::fresh)
    /// one if its key comes back, without letting through anything it would stop.
    fn evictable(&self) -> bool;
}

impl KeyedPolicy for Timeout {
    fn fresh(&self, _: Option<&Name>) -> Self {
        self.clone()
    }

    fn evictable(&self) -> bool {
        true
    }
}

impl<A, W> KeyedPolicy for Fallback<A, W>
where
    Fallback<A, W>: Clone + Send + Sync + 'static,
{
    fn fresh(&self, _: Option<&Name>) -> Self {
        self.clone()
    }

    fn evictable(&self) -> bool {
        true
    }
}

impl<O: KeyedPolicy, I: KeyedPolicy> KeyedPolicy for Wrap<O, I> {
    fn fresh(&self, name: Option<&Name>) -> Self {
        Wrap {
            outer: self.outer.fresh(name),
            inner: self.inner.fresh(name),
        }
    }

    fn evictable(&self) -> bool {
        self.outer.evictable() && self.inner.evictable()
    }
}

impl<P: KeyedPolicy> KeyedPolicy for Option<P> {
    fn fresh(&self, name: Option<&Name>) -> Self {
        self.as_ref().map(|p| p.fresh(name))
    }

    fn evictable(&self) -> bool {
        self.as_ref().is_none_or(P::evictable)
    }
}
