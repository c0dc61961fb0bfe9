//! What a fallback does, and how one call uses it.

use std::{
    future::{Future, Ready, ready},
    sync::Arc,
};

use super::{Fallback, FromAsync, FromFn, Value};
use crate::{Classify, Outcome, PolicyError};

/// What a fallback does with an error: implemented by [`Value`], [`FromFn`] and [`FromAsync`].
pub trait Action<T, E> {
    /// The fallback in flight.
    type Future: Future<Output = Result<T, E>>;

    /// Starts the fallback for `error`.
    fn run(&self, error: E) -> Self::Future;
}

impl<T: Clone, E> Action<T, E> for Value<T> {
    type Future = Ready<Result<T, E>>;

    fn run(&self, _error: E) -> Self::Future {
        ready(Ok(self.0.clone()))
    }
}

impl<T, E, F> Action<T, E> for FromFn<F>
where
    F: Fn(E) -> T,
{
    type Future = Ready<Result<T, E>>;

    fn run(&self, error: E) -> Self::Future {
        ready(Ok((self.0)(error)))
    }
}

impl<T, E, F, Fut> Action<T, E> for FromAsync<F>
where
    F: Fn(E) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Future = Fut;

    fn run(&self, error: E) -> Self::Future {
        (self.0)(error)
    }
}

/// A fallback ready to be used by one call: decides whether an error falls back and starts the
/// fallback. Implemented for a [`Fallback`], references to it and `Arc`s of it, and (tower) for
/// [`ServiceHandler`](crate::parts::ServiceHandler); you do not implement it.
pub trait Handler<T, E> {
    /// The fallback in flight.
    type Future: Future<Output = Result<T, E>>;

    /// Whether `outcome`, an `Err`, falls back.
    fn applies(&self, outcome: &Result<T, E>) -> bool;

    /// Reports that the fallback replaced `error` to the fallback's sinks.
    fn report(&self, error: &E);

    /// Starts the fallback for `error`.
    fn handle(self, error: E) -> Self::Future;
}

// The same handler for every way a call holds the fallback: `&Fallback` (the combinator borrows
// it), `Arc<Fallback>` (a tower service shares it) and `Fallback` (a queue's worker owns a copy).
macro_rules! fallback_handler {
    ($($holder:ty),*) => {$(
        impl<T, E, A, W> Handler<T, E> for $holder
        where
            E: PolicyError,
            A: Action<T, E>,
            W: Classify<T, E>,
        {
            type Future = A::Future;

            #[inline]
            fn applies(&self, outcome: &Result<T, E>) -> bool {
                self.when.classify(outcome) == Outcome::Failure
            }

            fn report(&self, error: &E) {
                self.report_applied(error);
            }

            fn handle(self, error: E) -> Self::Future {
                self.action.run(error)
            }
        }
    )*};
}
fallback_handler!(&Fallback<A, W>, Arc<Fallback<A, W>>, Fallback<A, W>);
