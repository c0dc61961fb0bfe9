//! Retry's decisions: which outcomes are retried, and whether, when and why the next attempt is
//! made. No futures here: the future asks, this answers.

use std::{fmt, sync::Arc, time::Duration};

use tokio::time::Instant;

use super::{
    backoff::{Backoff, Jitter},
    budget::RetryBudget,
    rng::{GAMMA, mix, unit},
};
use crate::{Name, PolicyError, Rejection, events, sync::AtomicU64, sync::Ordering};

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
/// | error | retried? |
/// |---|---|
/// | the operation's own error (`Error::Inner`) | yes, after the backoff |
/// | `Timeout` (an attempt took too long) | yes, after the backoff |
/// | `BulkheadFull`, `QueueFull`, `QueueTimeout` (momentary overload) | yes, after the backoff |
/// | `CircuitOpen` with a `retry_after` | yes, but no sooner than `retry_after` (and not at all when that is beyond the backoff's cap) |
/// | `CircuitOpen` without one (forced open) | no: nobody knows when it will pass |
/// | `QueueClosed` (shut down, workers gone, or the work panicked) | no: it will not get better by trying again |
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
                Rejection::QueueClosed(_) => false,
                Rejection::Timeout(_)
                | Rejection::BulkheadFull(_)
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

/// What an `on_retry` callback is told before each retry's wait: the outcome that caused the
/// retry, the attempt about to be made, the delay and the reason.
///
/// `T` and `E` are the outcome's types as the retry sees them: with [`Retry::call`](crate::Retry::call)
/// `E` is [`failguard::Error<E>`](crate::Error), so the callback sees failguard's rejections too.
/// A closure needs no annotations when the retry is then used with an operation in the same
/// function; to store or return the retry, name them (`|e: &RetryEvent<'_, u16, Error<MyError>>|`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let retry = failguard::Retry::builder()
///     .on_retry(|e| println!("{}: attempt {} in {:?} after {:?}", e.name, e.attempt, e.delay, e.outcome()))
///     .build()?;
/// let _ = retry.call(|| async { Err::<(), _>("connection refused") }).await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryEvent<'a, T, E> {
    /// The retry policy's name.
    pub name: &'a Name,
    /// The number of the attempt about to be made (2 for the first retry).
    pub attempt: u32,
    /// How long the retry waits before making it.
    pub delay: Duration,
    /// Why the previous attempt is retried.
    pub reason: RetryReason,
    /// The previous attempt's outcome: the error, or the result the result predicate retried.
    pub outcome: &'a Result<T, E>,
}

// By hand: the event only borrows, so it is `Copy` whatever `T` and `E` are.
impl<T, E> Clone for RetryEvent<'_, T, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, E> Copy for RetryEvent<'_, T, E> {}

impl<'a, T, E> RetryEvent<'a, T, E> {
    /// The previous attempt's outcome.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = failguard::Retry::builder()
    ///     .on_retry(|e| assert!(e.outcome().is_err()))
    ///     .build()?;
    /// let _ = retry.call(|| async { Err::<(), _>("flaky") }).await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn outcome(&self) -> &'a Result<T, E> {
        self.outcome
    }

    /// The previous attempt's error, or `None` when a successful result was retried.
    ///
    /// ```
    /// use failguard::Error;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = failguard::Retry::builder()
    ///     .on_retry(|e| assert!(matches!(e.error(), Some(Error::Inner("flaky")))))
    ///     .build()?;
    /// let _ = retry.call(|| async { Err::<(), _>("flaky") }).await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn error(&self) -> Option<&'a E> {
        self.outcome.as_ref().err()
    }

    /// The previous attempt's successful result, when the result predicate retried it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = failguard::Retry::builder()
    ///     .retry_on_result(|status: &u16| *status == 503)
    ///     .on_retry(|e| assert_eq!(e.value(), Some(&503)))
    ///     .build()?;
    /// let mut statuses = [503, 200].into_iter();
    /// let status = retry
    ///     .call(|| {
    ///         let status = statuses.next().unwrap();
    ///         async move { Ok::<_, std::io::Error>(status) }
    ///     })
    ///     .await;
    /// assert_eq!(status.unwrap(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn value(&self) -> Option<&'a T> {
        self.outcome.as_ref().ok()
    }
}

/// What a retry does before each retry's wait, besides its `tracing` event: implemented by
/// [`Silent`] (no `on_retry` callback, the default) and [`OnRetry`] (the callbacks the builder
/// was given). You never implement it.
pub trait Notify<T, E> {
    /// Tells the callbacks about the retry.
    fn notify(&self, event: &RetryEvent<'_, T, E>);
}

/// The default [`Notify`]: no callback, so the retry can be used with any operation.
///
/// ```
/// let retry: failguard::Retry = failguard::Retry::builder().build()?;
/// # let _ = retry;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Silent;

impl<T, E> Notify<T, E> for Silent {
    #[inline]
    fn notify(&self, _: &RetryEvent<'_, T, E>) {}
}

/// The `on_retry` callbacks of a retry whose outcomes are `Result<T, E>`, called in the order
/// they were added. Shared (an `Arc` each), so cloning a builder or a retry clones no closure.
///
/// ```
/// use failguard::{Error, Retry, retry::{NoHint, NoResults, OnRetry, RetryEvent, Transient}};
///
/// // Named, to keep the retry in a struct: the callback's types say which outcomes it takes.
/// let retry: Retry<Transient, NoResults, NoHint, OnRetry<u16, Error<std::io::Error>>> =
///     Retry::builder()
///         .on_retry(|e: &RetryEvent<'_, u16, Error<std::io::Error>>| println!("{:?}", e.error()))
///         .build()?;
/// # let _ = retry;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
pub struct OnRetry<T, E> {
    callbacks: Vec<Callback<T, E>>,
}

// std's `Arc` even under loom: the callbacks are configuration, not shared state to model.
type Callback<T, E> = Arc<dyn Fn(&RetryEvent<'_, T, E>) + Send + Sync>;

impl<T, E> OnRetry<T, E> {
    pub(crate) fn push(mut self, callback: Callback<T, E>) -> Self {
        self.callbacks.push(callback);
        self
    }
}

// By hand: the callbacks are shared, so cloning needs nothing of `T` or `E`.
impl<T, E> Clone for OnRetry<T, E> {
    fn clone(&self) -> Self {
        Self {
            callbacks: self.callbacks.clone(),
        }
    }
}

impl<T, E> fmt::Debug for OnRetry<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnRetry")
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl<T, E> Notify<T, E> for OnRetry<T, E> {
    fn notify(&self, event: &RetryEvent<'_, T, E>) {
        for callback in &self.callbacks {
            callback(event);
        }
    }
}

/// What the builder's callbacks become when one more is added: [`Silent`] starts a list for
/// any outcome types, [`OnRetry`] extends its own (so every callback takes the same outcome).
/// You never implement it.
pub trait AddCallback<T, E> {
    /// This and `callback`, in that order.
    #[doc(hidden)]
    fn add(self, callback: Arc<dyn Fn(&RetryEvent<'_, T, E>) + Send + Sync>) -> OnRetry<T, E>;
}

impl<T, E> AddCallback<T, E> for Silent {
    fn add(self, callback: Callback<T, E>) -> OnRetry<T, E> {
        OnRetry {
            callbacks: Vec::new(),
        }
        .push(callback)
    }
}

impl<T, E> AddCallback<T, E> for OnRetry<T, E> {
    fn add(self, callback: Callback<T, E>) -> OnRetry<T, E> {
        self.push(callback)
    }
}

/// A retry policy's configuration and shared state; the futures of both front doors hold a
/// reference to it. You never use it directly.
pub struct RetryState<W, R, H, N = Silent> {
    pub(crate) name: Name,
    pub(crate) max_attempts: u32,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) backoff: Backoff,
    pub(crate) budget: Option<RetryBudget>,
    /// SplitMix64's state, advanced with one atomic add per draw: lock-free and seedable.
    pub(crate) rng: AtomicU64,
    pub(crate) on_retry: N,
    pub(crate) retry_error: W,
    pub(crate) retry_result: R,
    pub(crate) hint: H,
}

impl<W, R, H, N> fmt::Debug for RetryState<W, R, H, N> {
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

impl<T, E, W, R, H, N> Decide<T, E> for RetryState<W, R, H, N>
where
    E: PolicyError,
    W: RetryError<E>,
    R: RetryResult<T>,
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

    #[inline]
    fn wants(&self, outcome: &Result<T, E>) -> Option<RetryReason> {
        match outcome {
            Ok(value) => self
                .retry_result
                .retries(value)
                .then_some(RetryReason::Result),
            Err(error) => self.wants_error(error),
        }
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
            events::retry_exhausted(&self.name, made, "max_attempts");
            return Plan::Stop;
        }
        let cap = self.backoff.cap();
        let draw = match self.backoff.jitter_mode() {
            Jitter::None => 0.0,
            _ => self.draw(),
        };
        let backoff = self.backoff.delay(made - 1, prev, draw);
        let mut sleep = match self.hint.delay_hint(outcome) {
            Some(hint) => hint.min(cap),
            None => backoff,
        };
        // A rejection that says when to come back (an open circuit) is not retried sooner; if
        // that is beyond the cap, waiting would break the cap, so give up now.
        if let Err(error) = outcome {
            if let Some(after) = error.rejection().and_then(|r| r.retry_after()) {
                if after > cap {
                    events::retry_exhausted(&self.name, made, "retry_after_beyond_cap");
                    return Plan::Stop;
                }
                sleep = sleep.max(after);
            }
        }
        if let (Some(max), Some(start)) = (self.max_elapsed, start) {
            // The next attempt must start before the deadline, so its sleep must end before it.
            if start.elapsed().saturating_add(sleep) >= max {
                events::retry_exhausted(&self.name, made, "max_elapsed");
                return Plan::Stop;
            }
        }
        if !prepare(made + 1 == self.max_attempts) {
            events::retry_exhausted(&self.name, made, "not_replayable");
            return Plan::Stop;
        }
        if let Some(budget) = &self.budget {
            if !budget.try_withdraw() {
                events::retry_budget_exhausted(&self.name, made);
                return Plan::Stop;
            }
        }
        let attempt = made + 1;
        events::retry_attempt(&self.name, attempt, sleep, reason);
        self.on_retry.notify(&RetryEvent {
            name: &self.name,
            attempt,
            delay: sleep,
            reason,
            outcome,
        });
        Plan::Retry { sleep, backoff }
    }
}

impl<W, R, H, N> RetryState<W, R, H, N> {
    #[cold]
    #[inline(never)]
    fn start_slow(&self) -> Option<Instant> {
        if let Some(budget) = &self.budget {
            budget.deposit();
        }
        self.max_elapsed.map(|_| Instant::now())
    }

    fn wants_error<E>(&self, error: &E) -> Option<RetryReason>
    where
        E: PolicyError,
        W: RetryError<E>,
    {
        if !self.retry_error.retries(error) {
            return None;
        }
        Some(match error.rejection() {
            Some(rejection) => RetryReason::Rejection(rejection.policy()),
            None => RetryReason::Error,
        })
    }

    /// One uniform draw from `[0, 1)` from the shared generator.
    fn draw(&self) -> f64 {
        let state = self
            .rng
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        unit(mix(state))
    }
}
