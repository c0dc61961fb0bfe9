use std::time::Duration;

use rand::RngCore;

use super::{
    Backoff, NoHint, Retry, RetryBudget, RetryState, Rules,
    backoff::Jitter,
    event::{AddCallback, OnRetry, RetryAttempt, Silent},
    rng::Source,
};
use crate::{ConfigError, Name, sync::Arc};

const DEFAULT_NAME: Name = Name::from_static("retry");
pub(crate) const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// The backoff of a retry built without one.
pub(crate) fn default_backoff() -> Backoff {
    Backoff::exponential(Duration::from_millis(100)).jitter(Jitter::Full)
}

/// Builds a [`Retry`]. Every knob has a default, listed under each method.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, Retry, retry::{Backoff, Jitter, RetryBudget, RetryAttempt}};
///
/// let budget = RetryBudget::builder().percent(10.0).build()?;
/// let retry = Retry::builder()
///     .max_attempts(5)
///     .max_elapsed(Duration::from_secs(10))
///     .backoff(
///         Backoff::exponential(Duration::from_millis(200))
///             .max_delay(Duration::from_secs(5))
///             .jitter(Jitter::Decorrelated),
///     )
///     .retry_if(|e: &Error<std::io::Error>| e.is_rejection() || e.inner().is_some())
///     .retry_on_result(|status: &u16| *status == 503)
///     .delay_hint(|r: &Result<u16, Error<std::io::Error>>| match r {
///         Ok(503) => Some(Duration::from_secs(1)),
///         _ => None,
///     })
///     .budget(budget)
///     .name("inventory")
///     // Named here only because this retry is never called, so nothing else fixes the types.
///     .on_retry(|e: &RetryAttempt<'_, u16, Error<std::io::Error>>| {
///         println!("retrying {} in {:?} after {:?}", e.name, e.delay, e.outcome)
///     })
///     .build()?;
/// # let _ = retry;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
///
/// # Cloning
///
/// A builder is `Clone` (when its predicates and hint are, as closures that capture `Clone`
/// values are), so one builder is a template for many retries: one per host, each with its own
/// name. The clones share the `on_retry` callbacks (each is an `Arc`) and the
/// [`budget`](Self::budget), if one is set, since a budget is a shared handle, and likewise a
/// generator handed to [`rng`](Self::rng); a [`seed`](Self::seed) is copied, so retries built
/// from the clones each get a generator of their own and draw the same delays.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU32, Ordering}};
/// use failguard::Retry;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let retries = Arc::new(AtomicU32::new(0));
/// let template = Retry::builder().max_attempts(2).on_retry({
///     let retries = retries.clone();
///     move |_| { retries.fetch_add(1, Ordering::Relaxed); }
/// });
/// let eu = template.clone().name("eu.example.com").build()?;
/// let us = template.name("us.example.com").build()?;
/// assert_eq!(eu.name(), "eu.example.com");
/// assert_eq!(us.name(), "us.example.com");
///
/// let _ = eu.call(|| async { Err::<(), _>("refused") }).await;
/// let _ = us.call(|| async { Err::<(), _>("refused") }).await;
/// assert_eq!(retries.load(Ordering::Relaxed), 2); // one callback, shared
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct RetryBuilder<C = Rules, H = NoHint, N = Silent> {
    max_attempts: u32,
    max_elapsed: Option<Duration>,
    backoff: Backoff,
    budget: Option<RetryBudget>,
    rng: Source,
    name: Name,
    on_retry: N,
    sinks: crate::events::Sinks,
    retry_on: C,
    hint: H,
}

impl Default for RetryBuilder {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_elapsed: None,
            backoff: default_backoff(),
            budget: None,
            rng: Source::Thread,
            name: DEFAULT_NAME,
            on_retry: Silent,
            sinks: crate::events::Sinks::default(),
            retry_on: Rules::default(),
            hint: NoHint,
        }
    }
}

impl<C, H, N> std::fmt::Debug for RetryBuilder<C, H, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryBuilder")
            .field("name", &self.name)
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl<C, H, N> RetryBuilder<C, H, N> {
    /// The most calls one operation gets, **the first call included**: 3 means one call and up
    /// to two retries; 1 means no retry at all.
    ///
    /// # Default
    ///
    /// 3. At least 1.
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// The longest the whole operation may take, attempts and waits included, counted from the
    /// first poll: a retry whose wait would end at or after it is not made. (A running attempt is
    /// not cut short; put a [`Timeout`](crate::Timeout) around the retry for that.)
    ///
    /// # Default
    ///
    /// None: only `max_attempts` (and the budget) limit the retries. Greater than zero, at most
    /// one day.
    pub fn max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = Some(max_elapsed);
        self
    }

    /// The delay before each retry.
    ///
    /// # Default
    ///
    /// `Backoff::exponential(100 ms)` (factor 2, cap 30 s) with [`Jitter::Full`].
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// A budget shared with other retries: when it is empty, a retry returns the last outcome.
    ///
    /// # Default
    ///
    /// None.
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Draws the jitter from a [`StdRng`](rand::rngs::StdRng) seeded with `seed`, so the delays
    /// are the same on every run: exactly [`Backoff::delays`] with that seed, for the first call.
    /// Shorthand for `.rng(StdRng::seed_from_u64(seed))`, except that each retry built from
    /// (a clone of) this builder gets a generator of its own, starting afresh.
    ///
    /// # Default
    ///
    /// Not seeded: each thread draws from its own generator, [`rand::rng()`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Retry, retry::{Backoff, Jitter}};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let backoff = Backoff::exponential(Duration::from_millis(100)).jitter(Jitter::Full);
    /// let retry = Retry::builder().max_attempts(2).backoff(backoff).seed(7).build()?;
    /// let start = tokio::time::Instant::now();
    /// let _ = retry.call(|| async { Err::<(), _>("refused") }).await;
    /// // tokio's timer ends a wait on a whole millisecond.
    /// let waited = backoff.delays(7).next().unwrap();
    /// assert_eq!(start.elapsed().as_millis(), waited.as_nanos().div_ceil(1_000_000));
    /// # Ok(())
    /// # }
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = Source::Seed(seed);
        self
    }

    /// Draws the jitter from `rng`, any [`rand`] generator: a seeded one pins the delays in a
    /// test, a cheaper or a deterministic one suits a simulation. Replaces [`seed`](Self::seed).
    ///
    /// The generator is shared by every clone of the retry, every call, and every retry built
    /// from a clone of this builder. Since a `rand` generator draws through `&mut`, it sits
    /// behind a [`std::sync::Mutex`], locked only for one draw before a jittered retry's wait:
    /// never on a first attempt, and never without jitter. (Poisoning is ignored: a generator
    /// stays usable for jitter.)
    ///
    /// # Default
    ///
    /// Each thread draws from its own generator, [`rand::rng()`]: no lock and no state shared
    /// between threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Retry, retry::{Backoff, Jitter}};
    /// use rand::{Rng, SeedableRng, rngs::StdRng};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let backoff = Backoff::constant(Duration::from_secs(1)).jitter(Jitter::Full);
    /// let retry = Retry::builder()
    ///     .max_attempts(2)
    ///     .backoff(backoff)
    ///     .rng(StdRng::seed_from_u64(7))
    ///     .build()?;
    /// let start = tokio::time::Instant::now();
    /// let _ = retry.call(|| async { Err::<(), _>("refused") }).await;
    /// // Full jitter waits U(0, 1 s): the generator's first f64 of the second.
    /// let draw: f64 = StdRng::seed_from_u64(7).random();
    /// let expected = Duration::from_nanos((1e9 * draw) as u64);
    /// assert_eq!(start.elapsed().as_millis(), expected.as_nanos().div_ceil(1_000_000));
    /// # Ok(())
    /// # }
    /// ```
    pub fn rng(mut self, rng: impl RngCore + Send + 'static) -> Self {
        self.rng = Source::shared(rng);
        self
    }

    /// The name shown in events and callbacks.
    ///
    /// # Default
    ///
    /// `"retry"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = name.into();
        self
    }

    /// Sends the retry's [`RetryEvent`](super::RetryEvent)s (retries, giving up, an empty
    /// budget) to `listener`, next to the `tracing` output. See [`events`](crate::events). For
    /// the outcome that caused a retry, typed, use [`on_retry`](Self::on_retry).
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// use failguard::{Retry, events::Event};
    /// let retry = Retry::builder()
    ///     .listener(|e: &Event<'_>| eprintln!("{}: {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = retry;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// Calls `callback` before each retry's wait with a [`RetryAttempt`]: the outcome that caused
    /// the retry, the attempt about to be made, the delay and the reason. Several callbacks run
    /// in the order they were added.
    ///
    /// The callback takes the outcomes of one operation type (`T`, `E`), inferred where the
    /// retry is used, so a closure needs no annotations in the common case; a retry without
    /// callbacks can be used with any operation.
    ///
    /// # Default
    ///
    /// None ([`Silent`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = failguard::Retry::builder()
    ///     .on_retry(|e| eprintln!("attempt {} in {:?}: {:?}", e.attempt, e.delay, e.error()))
    ///     .build()?;
    /// let _ = retry.call(|| async { Err::<(), _>("connection refused") }).await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn on_retry<T, E>(
        self,
        callback: impl Fn(&RetryAttempt<'_, T, E>) + Send + Sync + 'static,
    ) -> RetryBuilder<C, H, OnRetry<T, E>>
    where
        N: AddCallback<T, E>,
    {
        RetryBuilder {
            max_attempts: self.max_attempts,
            max_elapsed: self.max_elapsed,
            backoff: self.backoff,
            budget: self.budget,
            rng: self.rng,
            sinks: self.sinks,
            name: self.name,
            on_retry: self.on_retry.add(std::sync::Arc::new(callback)),
            retry_on: self.retry_on,
            hint: self.hint,
        }
    }

    /// Which outcomes are retried: those `classify` calls failures. Any [`Classify`] works, the
    /// same value a [`CircuitBreaker`](crate::CircuitBreaker) and a
    /// [`Fallback`](crate::Fallback) take, so one rule of what counts as a failure is written
    /// once (an HTTP server's fault: [`http::ServerFaults`](crate::http::ServerFaults) with the
    /// `http` feature). It replaces [`retry_if`](RetryBuilder::retry_if) and
    /// [`retry_on_result`](RetryBuilder::retry_on_result).
    ///
    /// Whatever the classifier says, an open circuit with no `retry_after` and a closed queue
    /// are not retried, and a rejection's `retry_after` (an open circuit's, a full bulkhead's or
    /// queue's) still sets the shortest wait.
    ///
    /// # Default
    ///
    /// [`Rules`]: every error except the rejections waiting cannot help ([`Transient`]), no
    /// `Ok`.
    ///
    /// ```
    /// use failguard::{Error, Outcome, Retry};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// // One rule, written once: 5xx answers and errors other than "bad request" are failures.
    /// fn server_fault(r: &Result<u16, Error<&str>>) -> Outcome {
    ///     match r {
    ///         Ok(500..) => Outcome::Failure,
    ///         Err(Error::Inner("bad request")) | Ok(_) => Outcome::Success,
    ///         Err(_) => Outcome::Failure,
    ///     }
    /// }
    /// let retry = Retry::builder().classify(server_fault).build()?;
    /// let mut answers = vec![Ok(200), Ok(503)];
    /// let status = retry.call(|| {
    ///     let answer = answers.pop().unwrap();
    ///     async move { answer }
    /// });
    /// assert_eq!(status.await.unwrap(), 200);
    /// # let breaker = failguard::CircuitBreaker::builder().classify(server_fault).build()?;
    /// # let _ = breaker;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// [`Classify`]: crate::Classify
    /// [`Transient`]: super::Transient
    pub fn classify<C2>(self, classify: C2) -> RetryBuilder<C2, H, N> {
        self.map_retry_on(|_| classify)
    }

    fn map_retry_on<C2>(self, f: impl FnOnce(C) -> C2) -> RetryBuilder<C2, H, N> {
        RetryBuilder {
            max_attempts: self.max_attempts,
            max_elapsed: self.max_elapsed,
            backoff: self.backoff,
            budget: self.budget,
            rng: self.rng,
            sinks: self.sinks,
            name: self.name,
            on_retry: self.on_retry,
            retry_on: f(self.retry_on),
            hint: self.hint,
        }
    }

    /// Reads a delay from the outcome (a `Retry-After` header): any
    /// [`DelayHint`](super::DelayHint), such as a closure
    /// `Fn(&Result<T, E>) -> Option<Duration>`. A hint replaces the backoff's delay, clamped to
    /// the backoff's cap.
    ///
    /// # Default
    ///
    /// [`NoHint`].
    pub fn delay_hint<H2>(self, delay_hint: H2) -> RetryBuilder<C, H2, N> {
        RetryBuilder {
            max_attempts: self.max_attempts,
            max_elapsed: self.max_elapsed,
            backoff: self.backoff,
            budget: self.budget,
            rng: self.rng,
            sinks: self.sinks,
            name: self.name,
            on_retry: self.on_retry,
            retry_on: self.retry_on,
            hint: delay_hint,
        }
    }

    /// Checks the configuration and builds the retry.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field: `retry.max_attempts` (0), `retry.max_elapsed` (zero
    /// or over a day), `retry.backoff.base` (zero for linear or exponential growth),
    /// `retry.backoff.max_delay` (below the base or over a day), `retry.backoff.factor` (not
    /// from 1.0 to 100.0).
    pub fn build(self) -> Result<Retry<C, H, N>, ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::new(
                "retry.max_attempts",
                "must be at least 1: it counts every call, the first included (got 0)",
            ));
        }
        if let Some(max) = self.max_elapsed {
            ConfigError::check_duration("retry.max_elapsed", max)?;
        }
        self.backoff.check()?;
        Ok(Retry {
            state: Arc::new(RetryState {
                name: self.name,
                max_attempts: self.max_attempts,
                max_elapsed: self.max_elapsed,
                backoff: self.backoff,
                budget: self.budget,
                rng: self.rng.build(),
                on_retry: self.on_retry,
                sinks: self.sinks,
                retry_on: self.retry_on,
                hint: self.hint,
            }),
        })
    }
}

impl<W, R, H, N> RetryBuilder<Rules<W, R>, H, N> {
    /// Which errors are retried: those for which `retry_if` returns `true`. It sees
    /// failguard's rejections too, as the [`failguard::Error<E>`](crate::Error) the closure
    /// takes, so the closure needs no annotation to ask about them. For a stack whose error is
    /// not `Error<E>` (a boxed tower error), or to share one rule with a breaker and a
    /// fallback, use [`classify`](Self::classify).
    ///
    /// An open circuit with no `retry_after` and a closed queue are never retried, and an open
    /// circuit is not retried before its `retry_after`.
    ///
    /// # Default
    ///
    /// [`Transient`](super::Transient): the operation's errors, timeouts, full bulkheads and
    /// queues, and open circuits that say when to come back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Error, Retry, Timeout};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// // Retry attempts that timed out, nothing else.
    /// let retry = Retry::builder().retry_if(|e| matches!(e, Error::Timeout(_))).build()?;
    /// let policy = retry.wrap(Timeout::new(Duration::from_millis(10))?);
    /// let mut calls = 0;
    /// let refused = policy
    ///     .call(|| {
    ///         calls += 1;
    ///         async { Err::<(), _>("refused") }
    ///     })
    ///     .await;
    /// assert!(refused.is_err());
    /// assert_eq!(calls, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_if<E, F>(self, retry_if: F) -> RetryBuilder<Rules<F, R>, H, N>
    where
        F: Fn(&crate::Error<E>) -> bool,
    {
        self.map_retry_on(|rules| Rules {
            errors: retry_if,
            results: rules.results,
        })
    }

    /// Which successful results are retried anyway (an HTTP 503 that arrived as `Ok`): those for
    /// which `retry_on_result` returns `true`. When the retries run out, the caller gets the
    /// last such result as `Ok`.
    ///
    /// # Default
    ///
    /// [`NoResults`](super::NoResults): no `Ok` is retried.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = failguard::Retry::builder().retry_on_result(|status| *status == 503).build()?;
    /// let mut statuses = vec![200, 503];
    /// let status = retry.call(|| {
    ///     let status = statuses.pop().unwrap();
    ///     async move { Ok::<u16, std::io::Error>(status) }
    /// });
    /// assert_eq!(status.await.unwrap(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn retry_on_result<T, F>(self, retry_on_result: F) -> RetryBuilder<Rules<W, F>, H, N>
    where
        F: Fn(&T) -> bool,
    {
        self.map_retry_on(|rules| Rules {
            errors: rules.errors,
            results: retry_on_result,
        })
    }
}
