//! How a finished call is judged: success, failure, or ignored.
//!
//! Policies that learn from outcomes (the circuit breaker's window, retry's decision) never look
//! at a `Result` directly: a [`Classify`] turns it into an [`Outcome`]. The default,
//! [`ErrorIsFailure`], calls every `Err` a failure and every `Ok` a success. A closure over
//! `&Result<T, E>` classifies anything else: an HTTP 503 that arrived as `Ok` can be a failure, a
//! `404` error can be a success (the service is healthy; the thing is just not there), and a
//! cancelled request can be ignored.
//!
//! A call whose future is dropped before it finishes is *ignored* by every policy: it returns
//! whatever permit it held and counts nowhere.

/// What a finished call means to a policy.
///
/// # Examples
///
/// ```
/// use failguard::Outcome;
///
/// assert_eq!(Outcome::of(&Ok::<_, ()>(1)), Outcome::Success);
/// assert_eq!(Outcome::of(&Err::<(), _>("boom")), Outcome::Failure);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The call worked.
    Success,
    /// The call failed: it counts against the service.
    Failure,
    /// The call says nothing about the service's health: it counts nowhere.
    Ignored,
}

impl Outcome {
    /// The default classification: `Ok` is a success, `Err` a failure.
    ///
    /// ```
    /// assert_eq!(failguard::Outcome::of(&Ok::<u8, ()>(0)), failguard::Outcome::Success);
    /// ```
    pub fn of<T, E>(result: &Result<T, E>) -> Self {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

/// Judges a finished call.
///
/// Implemented by [`ErrorIsFailure`] and by every closure `Fn(&Result<T, E>) -> Outcome`.
///
/// # Examples
///
/// ```
/// use failguard::{Classify, Error, Outcome};
///
/// // A 404 is the service answering correctly, not failing.
/// let classify = |result: &Result<u16, Error<u16>>| match result {
///     Ok(status) if *status >= 500 => Outcome::Failure,
///     Ok(_) | Err(Error::Inner(404)) => Outcome::Success,
///     Err(_) => Outcome::Failure,
/// };
/// assert_eq!(classify.classify(&Ok(503)), Outcome::Failure);
/// assert_eq!(classify.classify(&Err(Error::Inner(404))), Outcome::Success);
/// ```
pub trait Classify<T, E> {
    /// The outcome of `result`.
    fn classify(&self, result: &Result<T, E>) -> Outcome;
}

/// The default classifier: every `Err` is a failure, every `Ok` a success.
///
/// ```
/// use failguard::{Classify, ErrorIsFailure, Outcome};
/// assert_eq!(ErrorIsFailure.classify(&Err::<(), _>(1)), Outcome::Failure);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorIsFailure;

impl<T, E> Classify<T, E> for ErrorIsFailure {
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        Outcome::of(result)
    }
}

impl<T, E, F> Classify<T, E> for F
where
    F: Fn(&Result<T, E>) -> Outcome,
{
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        self(result)
    }
}

/// Errors for which a closure holds are failures; every other error, and every `Ok`, is a
/// success. The shared form of an error predicate: hand one value to a breaker's, a retry's and
/// a fallback's `classify`.
///
/// ```
/// use failguard::{Classify, Error, FailureIf, Outcome};
///
/// // A missing row is an answer, not a failure of the database.
/// let db_fault = FailureIf(|e: &Error<&str>| !matches!(e, Error::Inner("not found")));
/// assert_eq!(db_fault.classify(&Err::<(), _>(Error::Inner("not found"))), Outcome::Success);
/// assert_eq!(db_fault.classify(&Err::<(), _>(Error::Inner("pool timed out"))), Outcome::Failure);
/// assert_eq!(db_fault.classify(&Ok::<_, Error<&str>>(())), Outcome::Success);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureIf<F>(pub F);

impl<T, E, F> Classify<T, E> for FailureIf<F>
where
    F: Fn(&E) -> bool,
{
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Err(error) if (self.0)(error) => Outcome::Failure,
            _ => Outcome::Success,
        }
    }
}
