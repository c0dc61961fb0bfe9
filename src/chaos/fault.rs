//! What a chaos policy injects: an error, a delay before the call, or a result instead of it.

use std::time::Duration;

use rand::RngCore;

use crate::{BoxError, Error};

/// What one injection does to a call: returned by a [`Fault`] when the draw says inject.
#[derive(Debug)]
pub enum Injection<T, Err> {
    /// The call fails with this error; the operation inside is never called.
    Fail(Err),
    /// The call waits this long, then runs as usual.
    Delay(Duration),
    /// The call answers with this value; the operation inside is never called.
    Replace(T),
}

/// A fault a [`Chaos`](super::Chaos) policy injects into calls whose outcome is `Result<T, Err>`.
/// Implemented by [`ErrorFault`], [`LatencyFault`] and [`ResultFault`], which the builder's
/// `error*`, `latency*` and `result*` methods make; implement it for a fault of your own.
///
/// `rng` is the policy's generator (seeded with [`seed`](super::ChaosBuilder::seed)), for a
/// fault that draws (a random latency).
///
/// ```
/// use std::time::Duration;
/// use failguard::chaos::{Fault, Injection};
///
/// /// Half the injections slow the call down, the other half fail it.
/// struct Flaky;
/// impl<T> Fault<T, failguard::Error<&'static str>> for Flaky {
///     fn inject(&self, rng: &mut dyn rand::RngCore) -> Injection<T, failguard::Error<&'static str>> {
///         if rng.next_u32() % 2 == 0 {
///             Injection::Delay(Duration::from_millis(50))
///         } else {
///             Injection::Fail(failguard::Error::Inner("injected"))
///         }
///     }
/// }
/// ```
pub trait Fault<T, Err> {
    /// The injection for one call the draw picked.
    fn inject(&self, rng: &mut dyn RngCore) -> Injection<T, Err>;
}

/// A value a fault hands out: a clone of one value ([`Value`]), a closure's ([`FromFn`]), or a
/// closure's of the policy's generator ([`Drawn`]).
///
/// ```
/// use failguard::chaos::{Make, Value};
/// assert_eq!(Value(3).make(&mut rand::rng()), 3);
/// ```
pub trait Make {
    /// What it makes.
    type Output;
    /// The value for one injection.
    fn make(&self, rng: &mut dyn RngCore) -> Self::Output;
}

/// A clone of this value each time.
#[derive(Debug, Clone, Copy)]
pub struct Value<X>(pub X);

/// The closure's value each time.
#[derive(Debug, Clone, Copy)]
pub struct FromFn<F>(pub F);

/// The closure's value of the policy's generator each time (a random latency).
#[derive(Debug, Clone, Copy)]
pub struct Drawn<F>(pub F);

impl<X: Clone> Make for Value<X> {
    type Output = X;
    fn make(&self, _: &mut dyn RngCore) -> X {
        self.0.clone()
    }
}

impl<X, F: Fn() -> X> Make for FromFn<F> {
    type Output = X;
    fn make(&self, _: &mut dyn RngCore) -> X {
        (self.0)()
    }
}

impl<X, F: Fn(&mut dyn RngCore) -> X> Make for Drawn<F> {
    type Output = X;
    fn make(&self, rng: &mut dyn RngCore) -> X {
        (self.0)(rng)
    }
}

/// An error type that can carry an injected error of type `X`: [`Error<E>`](crate::Error) carries
/// the caller's own `E` (as [`Error::Inner`](crate::Error::Inner)), a [`BoxError`] any error.
///
/// ```
/// use failguard::{Error, chaos::InjectError};
/// let e: Error<&str> = InjectError::inject("refused");
/// assert!(matches!(e, Error::Inner("refused")));
/// ```
#[diagnostic::on_unimplemented(
    message = "an injected `{X}` cannot be reported as `{Self}`",
    note = "a chaos error fault makes the operation's own error: `E` for calls returning `Result<T, E>` (`failguard::Error<E>`), any error for a `BoxError` service"
)]
pub trait InjectError<X> {
    /// `error` as this error type.
    fn inject(error: X) -> Self;
}

impl<E> InjectError<E> for Error<E> {
    fn inject(error: E) -> Self {
        Error::Inner(error)
    }
}

impl<X: Into<BoxError>> InjectError<X> for BoxError {
    fn inject(error: X) -> Self {
        error.into()
    }
}

/// Fails the call with the error `M` makes; made by [`error`](super::ChaosBuilder::error) and
/// [`error_with`](super::ChaosBuilder::error_with).
#[derive(Debug, Clone, Copy)]
pub struct ErrorFault<M>(pub(crate) M);

/// Delays the call by the latency `M` makes; made by [`latency`](super::ChaosBuilder::latency)
/// and [`latency_with`](super::ChaosBuilder::latency_with).
#[derive(Debug, Clone, Copy)]
pub struct LatencyFault<M>(pub(crate) M);

/// Answers with the value `M` makes instead of calling; made by
/// [`result`](super::ChaosBuilder::result) and [`result_with`](super::ChaosBuilder::result_with).
#[derive(Debug, Clone, Copy)]
pub struct ResultFault<M>(pub(crate) M);

/// No fault chosen yet: a [`ChaosBuilder`](super::ChaosBuilder) needs one of its `error*`,
/// `latency*` or `result*` methods before the policy it builds can be used.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFault;

impl<T, Err, M> Fault<T, Err> for ErrorFault<M>
where
    M: Make,
    Err: InjectError<M::Output>,
{
    fn inject(&self, rng: &mut dyn RngCore) -> Injection<T, Err> {
        Injection::Fail(Err::inject(self.0.make(rng)))
    }
}

impl<T, Err, M: Make<Output = Duration>> Fault<T, Err> for LatencyFault<M> {
    fn inject(&self, rng: &mut dyn RngCore) -> Injection<T, Err> {
        Injection::Delay(self.0.make(rng))
    }
}

impl<T, Err, M: Make<Output = T>> Fault<T, Err> for ResultFault<M> {
    fn inject(&self, rng: &mut dyn RngCore) -> Injection<T, Err> {
        Injection::Replace(self.0.make(rng))
    }
}
