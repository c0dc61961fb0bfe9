//! Retry's decisions: which outcomes are retried, and whether, when and why the next attempt is
//! made. No futures here: the future asks, this answers.

use std::{fmt, time::Duration};

use tokio::time::Instant;

use super::RetryEvent;
use super::{
    backoff::{Backoff, Jitter},
    budget::RetryBudget,
    event::{Notify, RetryAttempt, Silent},
    rng::{self, SharedRng},
};
use crate::{Classify, Name, Outcome, PolicyError, Rejection, events::EventKind};

/// Decides which errors are retried: implemented by [`Transient`] (the default) and by every
/// closure `Fn(&E) -> bool`.
///
/// With a typed stack `E` is [`failguard::Error<E>`](crate::Error), so a closure sees failguard's
/// rejections too and may match on them.
///
/// ```
/// use failguard::{Error, retry::RetryError};
///
/// let only_timeouts = |e: &Error<std::io::Error>| {
///     matches!(e, Error::Timeout(_)) || e.inner().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
/// };
/// assert!(!only_timeouts.retries(&Error::Inner(std::io::Error::other("bad request"))));
/// ```
pub trait RetryError<E> {
    /// Whether `error` is worth another attempt.
    fn retries(&self, error: &E) -> bool;
}

impl<E, F: Fn(&E) -> bool> RetryError<E> for F {
    fn retries(&self, error: &E) -> bool {
        self(error)
    }
}

/// The default [`RetryError`]: retries the operation's own errors and the rejections that pass,
/// and gives up on those that do not.
///
/// The two rejections that cannot pass (an open circuit with no `retry_after`, a closed queue)
/// are never retried, whatever the predicate: waiting does not help them. The wait before
/// retrying an open circuit is never shorter than its `retry_after`, whatever the predicate.
///
/// | error | retried? |
/// |---|---|
/// | the operation's own error (`Error::Inner`) | yes, after the backoff |
/// | `Timeout` (an attempt took too long) | yes, after the backoff |
/// | `BulkheadFull`, `QueueFull` (momentary overload) | yes, after the backoff, or after their `retry_after` estimate if that is longer (at most the backoff's cap: an estimate is a hint, never a reason to give up) |
/// | `QueueTimeout` (momentary overload) | yes, after the backoff |
/// | `ConcurrencyLimited` (an adaptive limit reached: momentary overload) | yes, after the backoff |
/// | `CircuitOpen` with a `retry_after` | yes, but no sooner than `retry_after` (and not at all when that is beyond the backoff's cap: the breaker promises to reject until then) |
/// | `CircuitOpen` without one (forced open) | no: nobody knows when it will pass |
/// | `RateLimited` | yes, but no sooner than its exact `retry_after` (a promise, as an open circuit's: not at all when it is beyond the backoff's cap); not when the call's weight exceeds the burst (no `retry_after`: it can never pass) |
/// | `QueueClosed` (shut down, workers gone, or the work panicked) | no: it will not get better by trying again |
/// | `Throttled` (the client throttles itself: the backend rejects most requests) | no: a retry is one more request to a backend that is turning them away, which the throttle exists to prevent |
///
/// ```
/// use failguard::{Error, retry::{RetryError, Transient}};
/// assert!(Transient.retries(&Error::Inner("connection reset")));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transient;

impl<E: PolicyError> RetryError<E> for Transient {
    fn retries(&self, error: &E) -> bool {
        match error.rejection() {
            None => true,
            Some(rejection) => match rejection {
                Rejection::CircuitOpen(open) => open.retry_after().is_some(),
                Rejection::RateLimited(limited) => limited.retry_after().is_some(),
                Rejection::QueueClosed(_) | Rejection::Throttled(_) => false,
                Rejection::Timeout(_)
                | Rejection::BulkheadFull(_)
                | Rejection::ConcurrencyLimited(_)
                | Rejection::QueueFull(_)
                | Rejection::QueueTimeout(_) => true,
            },
        }
    }
}

/// Decides which successful results are retried anyway (an HTTP 503 that arrived as `Ok`):
/// implemented by [`NoResults`] (the default) and by every closure `Fn(&T) -> bool`.
///
/// ```
/// use failguard::retry::RetryResult;
/// let unavailable = |status: &u16| *status == 503;
/// assert!(unavailable.retries(&503));
/// ```
pub trait RetryResult<T> {
    /// Whether `value` is worth another attempt.
    fn retries(&self, value: &T) -> bool;
}

impl<T, F: Fn(&T) -> bool> RetryResult<T> for F {
    fn retries(&self, value: &T) -> bool {
        self(value)
    }
}

/// The default [`RetryResult`]: no `Ok` is retried.
///
/// ```
/// use failguard::retry::{NoResults, RetryResult};
/// assert!(!NoResults.retries(&503));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoResults;

impl<T> RetryResult<T> for NoResults {
    #[inline]
    fn retries(&self, _: &T) -> bool {
        false
    }
}

/// Retry's default rule of which outcomes are retried, in two parts: an error predicate `W`
/// ([`Transient`] unless [`retry_if`](super::RetryBuilder::retry_if) sets one) and a result
/// predicate `R` ([`NoResults`] unless
/// [`retry_on_result`](super::RetryBuilder::retry_on_result) sets one). An outcome either part
/// picks is a failure, and so retried.
///
/// A retry takes any [`Classify`] instead through
/// [`classify`](super::RetryBuilder::classify), the same value a breaker and a fallback take.
///
/// ```
/// use failguard::{Classify, Error, Outcome, retry::Rules};
///
/// let rules: Rules = Rules::default();
/// assert_eq!(rules.classify(&Err::<u16, _>(Error::Inner("reset"))), Outcome::Failure);
/// assert_eq!(rules.classify(&Ok::<u16, Error<&str>>(503)), Outcome::Success);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules<W = Transient, R = NoResults> {
    pub(crate) errors: W,
    pub(crate) results: R,
}

impl<T, E, W, R> Classify<T, E> for Rules<W, R>
where
    W: RetryError<E>,
    R: RetryResult<T>,
{
    #[inline(always)]
    fn classify(&self, outcome: &Result<T, E>) -> Outcome {
        let retried = match outcome {
            Ok(value) => self.results.retries(value),
            Err(error) => self.errors.retries(error),
        };
        if retried {
            Outcome::Failure
        } else {
            Outcome::Success
        }
    }
}

/// Reads a delay from an outcome, as a server's `Retry-After`: implemented by [`NoHint`] (the
/// default) and by every closure `Fn(&Result<T, E>) -> Option<Duration>`.
///
/// ```
/// # use std::time::Duration;
/// use failguard::retry::DelayHint;
/// let hint = |r: &Result<(u16, u64), ()>| match r {
///     Ok((429 | 503, secs)) => Some(Duration::from_secs(*secs)),
///     _ => None,
/// };
/// assert_eq!(hint.delay_hint(&Ok((503, 2))), Some(Duration::from_secs(2)));
/// ```
pub trait DelayHint<T, E> {
    /// The delay the outcome asks for, if any.
    fn delay_hint(&self, outcome: &Result<T, E>) -> Option<Duration>;
}

impl<T, E, F: Fn(&Result<T, E>) -> Option<Duration>> DelayHint<T, E> for F {
    fn delay_hint(&self, outcome: &Result<T, E>) -> Option<Duration> {
        self(outcome)
    }
}

/// The default [`DelayHint`]: no hint; the backoff decides.
///
/// ```
/// use failguard::retry::{DelayHint, NoHint};
/// assert_eq!(DelayHint::<(), ()>::delay_hint(&NoHint, &Ok(())), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoHint;

impl<T, E> DelayHint<T, E> for NoHint {
    fn delay_hint(&self, _: &Result<T, E>) -> Option<Duration> {
        None
    }
}

/// Why an attempt is retried.
///
/// ```
/// assert_eq!(failguard::retry::RetryReason::Result.as_str(), "result");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryReason {
    /// The operation's own error.
    Error,
    /// A successful result the result predicate asked to retry.
    Result,
    /// A rejection by the policy named (`"timeout"`, `"circuit-breaker"`, `"bulkhead"`,
    /// `"queue"`).
    Rejection(&'static str),
}

impl RetryReason {
    /// Why `error`, once judged retryable, is retried.
    pub(crate) fn of<E: PolicyError>(error: &E) -> RetryReason {
        match error.rejection() {
            Some(rejection) => RetryReason::Rejection(rejection.policy()),
            None => RetryReason::Error,
        }
    }

    /// The reason as it appears in `tracing` events: `"error"`, `"result"` or `"rejection"`.
    ///
    /// ```
    /// use failguard::retry::RetryReason;
    /// assert_eq!(RetryReason::Rejection("timeout").as_str(), "rejection");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::Error => "error",
            RetryReason::Result => "result",
            RetryReason::Rejection(_) => "rejection",
        }
    }
}

/// A retry policy's configuration and shared state; the futures of both front doors hold a
/// reference to it. You never use it directly.
pub struct RetryState<C, H, N = Silent> {
    pub(crate) name: Name,
    pub(crate) max_attempts: u32,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) backoff: Backoff,
    pub(crate) budget: Option<RetryBudget>,
    /// The jitter's generator: `None` draws from this thread's, shared with nothing.
    pub(crate) rng: Option<SharedRng>,
    pub(crate) on_retry: N,
    pub(crate) sinks: crate::events::Sinks,
    pub(crate) retry_on: C,
    pub(crate) hint: H,
}

impl<C, H, N> fmt::Debug for RetryState<C, H, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryState")
            .field("name", &self.name)
            .field("max_attempts", &self.max_attempts)
            .field("max_elapsed", &self.max_elapsed)
            .field("backoff", &self.backoff)
            .field("budget", &self.budget.is_some())
            .finish_non_exhaustive()
    }
}

/// What to do after an attempt that asked to be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Return the outcome.
    Stop,
    /// Wait `sleep`, then make the next attempt; `backoff` is the backoff's own delay (the
    /// `prev` of decorrelated jitter).
    Retry {
        /// How long to wait.
        sleep: Duration,
        /// The backoff's own delay.
        backoff: Duration,
    },
}

/// Retry's decisions for outcomes `Result<T, E>`; implemented by [`RetryState`] for every
/// outcome its predicates understand.
pub trait Decide<T, E> {
    /// Called on the first poll: counts the request in the budget, and returns the start time
    /// when `max_elapsed` needs one.
    fn start(&self) -> Option<Instant>;

    /// Whether the outcome asks for a retry, and why.
    fn wants(&self, outcome: &Result<T, E>) -> Option<RetryReason>;

    /// Whether the next attempt is made, after `made` attempts: checks the attempts left, the
    /// delay, `max_elapsed`, that the attempt can be prepared, and the budget, in that order.
    #[doc(hidden)]
    fn plan(
        &self,
        outcome: &Result<T, E>,
        reason: RetryReason,
        made: u32,
        prev: Option<Duration>,
        start: Option<Instant>,
        prepare: &mut dyn FnMut(bool) -> bool,
    ) -> Plan;
}

// Retry's future holds its decisions borrowed (the combinator), shared (tower) or refined for
// one call (`Retrying`); these let it ask any of them.
macro_rules! forward_decide {
    ($($holder:ty),*) => {$(
        impl<T, E, S: Decide<T, E> + ?Sized> Decide<T, E> for $holder {
            #[inline]
            fn start(&self) -> Option<Instant> {
                (**self).start()
            }

            #[inline(always)]
            fn wants(&self, outcome: &Result<T, E>) -> Option<RetryReason> {
                (**self).wants(outcome)
            }

            #[inline]
            fn plan(
                &self,
                outcome: &Result<T, E>,
                reason: RetryReason,
                made: u32,
                prev: Option<Duration>,
                start: Option<Instant>,
                prepare: &mut dyn FnMut(bool) -> bool,
            ) -> Plan {
                (**self).plan(outcome, reason, made, prev, start, prepare)
            }
        }
    )*};
}
forward_decide!(&S, crate::sync::Arc<S>);

impl<T, E, C, H, N> Decide<T, E> for RetryState<C, H, N>
where
    E: PolicyError,
    C: Classify<T, E>,
    H: DelayHint<T, E>,
    N: Notify<T, E>,
{
    #[inline]
    fn start(&self) -> Option<Instant> {
        // Out of line: the clock read and the budget's compare-and-swap would otherwise bloat
        // every poll, which costs the happy path even when neither is configured.
        if self.budget.is_none() && self.max_elapsed.is_none() {
            return None;
        }
        self.start_slow()
    }

    // Always inlined: on the happy path the classifier's answer for an `Ok` is a constant, and
    // the check folds away; everything after a failure is out of line.
    #[inline(always)]
    fn wants(&self, outcome: &Result<T, E>) -> Option<RetryReason> {
        if self.retry_on.classify(outcome) != Outcome::Failure {
            return None;
        }
        reason(outcome)
    }

    #[cold]
    #[inline(never)]
    fn plan(
        &self,
        outcome: &Result<T, E>,
        reason: RetryReason,
        made: u32,
        prev: Option<Duration>,
        start: Option<Instant>,
        prepare: &mut dyn FnMut(bool) -> bool,
    ) -> Plan {
        if made >= self.max_attempts {
            self.emit(RetryEvent::Exhausted {
                attempts: made,
                reason: "max_attempts",
            });
            return Plan::Stop;
        }
        let cap = self.backoff.cap();
        let draw = match self.backoff.jitter_mode() {
            Jitter::None => 0.0,
            _ => rng::draw(self.rng.as_ref()),
        };
        let backoff = self.backoff.delay(made - 1, prev, draw);
        let mut sleep = match self.hint.delay_hint(outcome) {
            Some(hint) => hint.min(cap),
            None => backoff,
        };
        // A rejection that says when to come back is not retried sooner, but what it says is
        // either a promise or an estimate. An open circuit promises to reject until then: if
        // that is beyond the cap, waiting would break the cap, so give up now. A full bulkhead or
        // queue only estimates its backlog from what it has seen: wait at least that, up to the
        // cap, and try; giving up on a guess would turn a brief overload into a failure.
        if let Err(error) = outcome {
            match error.rejection().map(|r| (r.retry_after(), r)) {
                Some((Some(after), Rejection::CircuitOpen(_) | Rejection::RateLimited(_))) => {
                    if after > cap {
                        self.emit(RetryEvent::Exhausted {
                            attempts: made,
                            reason: "retry_after_beyond_cap",
                        });
                        return Plan::Stop;
                    }
                    sleep = sleep.max(after);
                }
                Some((Some(estimate), _)) => sleep = sleep.max(estimate.min(cap)),
                _ => {}
            }
        }
        if let (Some(max), Some(start)) = (self.max_elapsed, start) {
            // The next attempt must start before the deadline, so its sleep must end before it.
            if start.elapsed().saturating_add(sleep) >= max {
                self.emit(RetryEvent::Exhausted {
                    attempts: made,
                    reason: "max_elapsed",
                });
                return Plan::Stop;
            }
        }
        if !prepare(made + 1 == self.max_attempts) {
            self.emit(RetryEvent::Exhausted {
                attempts: made,
                reason: "not_replayable",
            });
            return Plan::Stop;
        }
        if let Some(budget) = &self.budget {
            if !budget.try_withdraw() {
                self.emit(RetryEvent::BudgetExhausted { attempts: made });
                return Plan::Stop;
            }
        }
        let attempt = made + 1;
        self.emit(RetryEvent::Retrying {
            attempt,
            delay: sleep,
            reason,
        });
        self.on_retry.notify(&RetryAttempt {
            name: &self.name,
            attempt,
            delay: sleep,
            reason,
            outcome,
        });
        Plan::Retry { sleep, backoff }
    }
}

impl<C, H, N> RetryState<C, H, N> {
    fn emit(&self, event: RetryEvent) {
        self.sinks.emit(&self.name, EventKind::Retry(event));
    }

    #[cold]
    #[inline(never)]
    fn start_slow(&self) -> Option<Instant> {
        if let Some(budget) = &self.budget {
            budget.deposit();
        }
        self.max_elapsed.map(|_| Instant::now())
    }
}

/// Why a failed `outcome` is retried, or `None` for a rejection waiting cannot help: an open
/// circuit that does not say when it closes (forced open), or a closed queue.
#[cold]
#[inline(never)]
fn reason<T, E: PolicyError>(outcome: &Result<T, E>) -> Option<RetryReason> {
    let Err(error) = outcome else {
        return Some(RetryReason::Result);
    };
    match error.rejection() {
        None => Some(RetryReason::Error),
        Some(Rejection::QueueClosed(_)) => None,
        Some(Rejection::CircuitOpen(open)) if open.retry_after().is_none() => None,
        Some(Rejection::RateLimited(limited)) if limited.retry_after().is_none() => None,
        Some(rejection) => Some(RetryReason::Rejection(rejection.policy())),
    }
}
