//! Retry: call again when a call fails, with a backoff between attempts, within limits.
//!
//! A [`Retry`] runs an operation, and while the outcome asks for another attempt (see below) and
//! the limits allow, waits a [`Backoff`] delay and runs it again. When it stops, the caller gets
//! the **last outcome**: the last error, or the last result that was judged retryable.
//!
//! # Semantics
//!
//! | knob | meaning | default |
//! |---|---|---|
//! | [`max_attempts`](RetryBuilder::max_attempts) | calls in all, **the first included**: 3 = one call and two retries | 3 |
//! | [`backoff`](RetryBuilder::backoff) | the delay before each retry ([`backoff`] has the formulas and a table) | exponential from 100 ms, factor 2, cap 30 s, [`Jitter::Full`] |
//! | [`max_elapsed`](RetryBuilder::max_elapsed) | wall time of the whole operation, attempts included, from the first poll: no retry starts at or after it, and no wait is begun that would end there | none |
//! | [`retry_if`](RetryBuilder::retry_if) | which errors are retried (a closure of `&Error<E>`) | [`Transient`]: the operation's errors and passing rejections |
//! | [`retry_on_result`](RetryBuilder::retry_on_result) | which `Ok` results are retried anyway (a closure of `&T`) | none |
//! | [`classify`](RetryBuilder::classify) | instead of the two above: the outcomes a [`Classify`](crate::Classify) calls failures are retried; the same value a breaker and a fallback take | — |
//! | [`delay_hint`](RetryBuilder::delay_hint) | a delay read from the outcome (`Retry-After`), used instead of the backoff, clamped to its cap | none |
//! | [`budget`](RetryBuilder::budget) | a [`RetryBudget`] shared by many calls | none |
//! | [`rng`](RetryBuilder::rng), [`seed`](RetryBuilder::seed) | the jitter's `rand` generator (or a seeded `StdRng`), to pin delays in tests | each thread's own, [`rand::rng()`] |
//!
//! Jitter draws come from [`rand`]. By default each thread draws from its own generator
//! (`rand::rng()`), so retrying on many threads shares no state and takes no lock. A generator
//! handed to [`rng`](RetryBuilder::rng) (or made by [`seed`](RetryBuilder::seed)) is shared by
//! every clone and call of the policy behind a mutex taken only for a draw, and pins the exact
//! delays: [`Backoff::delays`] yields the sequence a retry seeded the same way sleeps.
//!
//! Inner failguard rejections are classified by [`Transient`]: a timeout is retried after the
//! backoff; an open circuit is retried no sooner than its `retry_after` (the wait is the larger
//! of the backoff and `retry_after`), and not at all when `retry_after` is unknown or beyond the
//! backoff's cap; a closed queue is not retried. A full bulkhead or queue is retried after the
//! backoff or after its `retry_after` estimate, whichever is longer, but at most the cap, and
//! never given up on because of the estimate: an open circuit's `retry_after` is a promise (it
//! rejects until then), an overloaded bulkhead's or queue's is a guess from what it has seen.
//! The rules for open circuits and closed queues hold whatever predicate or classifier is set:
//! waiting cannot help them. A delay hint, too, is clamped to the cap: **the cap is a hard cap
//! on every wait.**
//!
//! Before each retry, in this order: attempts left? the wait (backoff, hint, `retry_after`);
//! does it end before `max_elapsed`? can the request be replayed (tower)? is there budget? If
//! any answer is no, the last outcome is returned; a `retry.exhausted` or
//! `retry.budget_exhausted` event says why.
//!
//! # Attempts
//!
//! Each attempt is a fresh call through the policies inside the retry, admitted afresh (see
//! [`policy`](crate::policy)): the closure is called only for attempts they let through. Between
//! two attempts the retry always gives the scheduler a turn, even with a zero delay, so a timeout
//! around it fires and other tasks run.
//!
//! # Why the last outcome, and not a "retries exhausted" error
//!
//! The caller wrote code for the operation's errors: a 404 handler, a `Timeout` arm. Wrapping
//! the last error in a new variant would hide it behind one more layer in every `match`, make
//! the same failure look different with and without a retry in the stack (so removing a retry
//! changes error handling everywhere), and, for a retried `Ok` (a 503 response), would turn a
//! response the caller can read into an error it cannot. The last outcome is also what tower's
//! `Retry`, Polly and resilience4j return. That the retries ran out is an operational fact, so it
//! goes where operational facts go: the `retry.exhausted` event.
//!
//! # From the closure
//!
//! [`Retryable`] (re-exported as `failguard::Retryable`) puts the retry on the closure, as
//! backon does: `(|| async { .. }).retry(&policy)` is `policy.call(|| async { .. })`, and one call
//! may refine it before it is awaited with [`when`](Retrying::when) (which errors this call
//! retries) and [`notify`](Retrying::notify) (told of each error and delay before the wait).
//! Everything else stays the policy's, so the builder remains the one place for shared settings.
//!
//! # Costs
//!
//! A first attempt that succeeds costs a check of its outcome and nothing else: no allocation,
//! no lock, no clock read, no random draw. With `max_elapsed` set the start time is read once per
//! call, and with a budget the call counts itself in the budget (a clock read and one atomic).
//! Retrying costs one random draw per jittered wait (from this thread's generator, or under the
//! lock of a shared one) and a tokio timer per wait. The tower door also
//! keeps a copy of the request and a clone of the inner service for the retries (none when
//! `max_attempts` is 1 or the request cannot be replayed) and one reference count on the shared
//! policy per call.
//!
//! # Composition
//!
//! Recommended order, outermost first (see the crate docs): fallback → bulkhead/queue → overall
//! timeout → **retry** (with its budget) → circuit breaker → per-attempt timeout → the call. A
//! [`Timeout`](crate::Timeout) inside the retry bounds each attempt (a timed-out attempt is
//! retried); outside it bounds everything, waits included. A breaker inside the retry sees every
//! attempt, and its open circuit makes the retry wait for `retry_after`.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Error, Retry, Timeout, retry::{Backoff, Jitter}};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! // Up to 4 calls, each at most 1 s, 100 ms then 200 ms then 400 ms apart.
//! let policy = Retry::builder()
//!     .max_attempts(4)
//!     .backoff(Backoff::exponential(Duration::from_millis(100)).jitter(Jitter::None))
//!     .build()?
//!     .wrap(Timeout::new(Duration::from_secs(1))?);
//!
//! let mut calls = 0;
//! let start = tokio::time::Instant::now();
//! let result = policy
//!     .call(|| {
//!         calls += 1;
//!         async { Err::<(), _>("unavailable") }
//!     })
//!     .await;
//! assert!(matches!(result, Err(Error::Inner("unavailable"))));
//! assert_eq!(calls, 4);
//! assert_eq!(start.elapsed(), Duration::from_millis(700));
//! # Ok(())
//! # }
//! ```

pub mod backoff;
pub mod budget;
mod builder;
#[cfg(feature = "serde")]
mod config;
pub(crate) mod core;
pub(crate) mod event;
mod events;
pub(crate) mod future;
#[cfg(feature = "tower")]
pub(crate) mod layer;
pub(crate) mod retryable;
pub(crate) mod rng;

pub(crate) use self::core::{Decide, RetryState};
pub use self::core::{
    DelayHint, NoHint, NoResults, RetryError, RetryReason, RetryResult, Rules, Transient,
};
pub use backoff::{Backoff, Delays, Jitter};
pub use budget::{RetryBudget, RetryBudgetBuilder};
pub use builder::RetryBuilder;
#[cfg(feature = "serde")]
pub use config::{BackoffConfig, BackoffGrowth, RetryBudgetConfig, RetryConfig};
pub use event::{OnRetry, RetryAttempt, Silent};
pub use events::RetryEvent;
pub(crate) use future::{OpAttempts, Retried};
#[cfg(feature = "tower")]
pub use layer::{CloneRequest, Replay, RetryLayer, RetryService};
pub use retryable::{Retryable, Retrying};

use crate::{
    ConfigError, Name, OperationMut,
    policy::{Apply, CallFuture, OperationFn},
    sync::Arc,
};

/// Calls an operation again when it fails, with a backoff between attempts, within limits.
///
/// A cheap `Clone` handle: clones, the tower layer and every service it makes share one
/// configuration, random generator and budget. `C` is the [`Classify`](crate::Classify) that
/// picks the outcomes to retry and `H` the delay hint ([`Rules`] and [`NoHint`] unless the
/// builder sets them).
///
/// Its operation is called once per attempt, so [`call`](Self::call) takes an `FnMut` closure.
///
/// # Panics
///
/// Building a retry needs no runtime. The wait before a retry is a tokio timer, which panics
/// outside a Tokio runtime or in one built without the time driver (`enable_time` or
/// `enable_all`); a call that succeeds at the first attempt, or retries with a zero delay, uses
/// no timer.
///
/// # Cancel safety
///
/// Dropping the call's future drops the attempt in flight or the wait; no further attempt is
/// made. See [`RetryCall`](crate::parts::RetryCall).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, Retry, retry::Backoff};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// // Retry 503 responses and connection errors, not 4xx.
/// let retry = Retry::builder()
///     .max_attempts(3)
///     .backoff(Backoff::constant(Duration::from_millis(50)))
///     .retry_on_result(|status: &u16| *status == 503)
///     .build()?;
///
/// let mut statuses = [503, 503, 200].into_iter();
/// let status = retry.call(|| {
///     let status = statuses.next().unwrap();
///     async move { Ok::<_, std::io::Error>(status) }
/// });
/// assert_eq!(status.await.unwrap(), 200);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Retry<C = Rules, H = NoHint, N = Silent> {
    state: Arc<RetryState<C, H, N>>,
}

impl<C, H, N> Clone for Retry<C, H, N> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
        }
    }
}

impl Retry {
    /// A retry of at most `max_attempts` calls (the first included) with the default backoff.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `max_attempts` is 0.
    ///
    /// ```
    /// assert!(failguard::Retry::new(3).is_ok());
    /// assert!(failguard::Retry::new(0).is_err());
    /// ```
    pub fn new(max_attempts: u32) -> Result<Self, ConfigError> {
        Self::builder().max_attempts(max_attempts).build()
    }

    /// A builder; every knob has a default, so `Retry::builder().build()` works.
    ///
    /// ```
    /// let retry = failguard::Retry::builder().name("search").build()?;
    /// assert_eq!(retry.name(), "search");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> RetryBuilder {
        RetryBuilder::default()
    }
}

impl<C, H, N> Retry<C, H, N> {
    /// Calls `f`, and calls it again while the outcome asks for a retry and the limits allow.
    ///
    /// The first attempt's future is made at once; later ones after their wait.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let retry = failguard::Retry::new(5)?;
    /// let mut failures = 2;
    /// let n = retry
    ///     .call(|| {
    ///         failures -= 1;
    ///         let fail = failures >= 0;
    ///         async move { if fail { Err("flaky") } else { Ok(42) } }
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!(n, 42);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<'a, F>(&'a self, f: F) -> crate::policy::Call<'a, Self, F>
    where
        &'a Self: Apply<OperationFn<F>>,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// This retry as a tower layer, sharing its configuration, generator and budget. Requests
    /// are cloned for retries; see [`RetryLayer::replay`] for requests that cannot be.
    ///
    /// ```
    /// let layer = failguard::Retry::new(3)?.layer();
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> RetryLayer<C, H, CloneRequest, N> {
        RetryLayer::new(self)
    }

    /// This retry as a tower layer that borrows it instead of sharing it: each call's future
    /// holds a reference where [`layer`](Self::layer)'s takes a reference count (two atomic
    /// operations a call, about 10 ns on a 2-core machine). Everything else is the same.
    ///
    /// The services live no longer than the retry, so a `'static` service needs a
    /// `&'static Retry`: one in a `static`, or one built once at start-up and leaked.
    ///
    /// ```
    /// use std::sync::LazyLock;
    /// use failguard::{Error, Retry};
    /// use tower::{Service, ServiceBuilder, ServiceExt};
    ///
    /// static RETRY: LazyLock<Retry> = LazyLock::new(|| Retry::new(3).unwrap());
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let mut svc = ServiceBuilder::new()
    ///     .layer(RETRY.layer_ref())
    ///     .map_err(Error::Inner)
    ///     .service_fn(|q: &'static str| async move { Ok::<_, std::io::Error>(q.len()) });
    /// let call = svc.ready().await?.call("four");
    /// let task = tokio::spawn(call); // 'static and Send
    /// assert_eq!(task.await??, 4);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer_ref(&self) -> RetryLayer<C, H, CloneRequest, N, &RetryState<C, H, N>> {
        RetryLayer::borrowing(self)
    }

    crate::policy::wrap_method!("failguard::Retry::new(3)?");

    /// The policy's name.
    ///
    /// ```
    /// assert_eq!(failguard::Retry::new(2)?.name(), "retry");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.state.name
    }

    /// The most calls one operation gets, the first included.
    ///
    /// ```
    /// assert_eq!(failguard::Retry::new(4)?.max_attempts(), 4);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn max_attempts(&self) -> u32 {
        self.state.max_attempts
    }

    /// The backoff between attempts.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let retry = failguard::Retry::new(2)?;
    /// assert_eq!(retry.backoff().base(), Duration::from_millis(100));
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn backoff(&self) -> &Backoff {
        &self.state.backoff
    }
}

#[cfg(feature = "tower")]
impl<C, H, N> crate::policy::ToLayer for Retry<C, H, N> {
    type Layer = RetryLayer<C, H, CloneRequest, N>;

    fn layer(&self) -> Self::Layer {
        Retry::layer(self)
    }
}

crate::policy::typed_policy!(
    [C, H, N] Retry<C, H, N> => Retried<OpAttempts<Op>, &'a RetryState<C, H, N>>,
    where [RetryState<C, H, N>: Decide<T, crate::Error<E>> + Send + Sync]
);

impl<'a, Op, C, H, N> Apply<Op> for &'a Retry<C, H, N>
where
    Op: OperationMut,
    RetryState<C, H, N>: Decide<Op::Ok, Op::Error>,
{
    type Output = Retried<OpAttempts<Op>, &'a RetryState<C, H, N>>;

    fn apply(self, op: Op) -> Self::Output {
        Retried {
            attempts: OpAttempts(op),
            policy: &self.state,
        }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op, C, H, N> Apply<Op> for Retry<C, H, N>
where
    Op: OperationMut,
    RetryState<C, H, N>: Decide<Op::Ok, Op::Error>,
{
    type Output = Retried<OpAttempts<Op>, Arc<RetryState<C, H, N>>>;

    fn apply(self, op: Op) -> Self::Output {
        Retried {
            attempts: OpAttempts(op),
            policy: self.state,
        }
    }
}

/// A retry per key shares nothing but its settings: a budget of its own, if it has one.
#[cfg(feature = "keyed")]
impl<C, H, N> crate::keyed::KeyedPolicy for Retry<C, H, N>
where
    C: Clone + Send + Sync + 'static,
    H: Clone + Send + Sync + 'static,
    N: Clone + Send + Sync + 'static,
{
    fn fresh(&self, name: Option<&Name>) -> Self {
        let s = &*self.state;
        Retry {
            state: Arc::new(RetryState {
                name: name.unwrap_or(&s.name).clone(),
                max_attempts: s.max_attempts,
                max_elapsed: s.max_elapsed,
                backoff: s.backoff,
                budget: s.budget.as_ref().map(RetryBudget::fresh),
                rng: s.rng.clone(),
                on_retry: s.on_retry.clone(),
                sinks: s.sinks.clone(),
                retry_on: s.retry_on.clone(),
                hint: s.hint.clone(),
            }),
        }
    }

    fn evictable(&self) -> bool {
        self.state.budget.as_ref().is_none_or(RetryBudget::at_rest)
    }
}

/// A budget per key (a tenant's retries limited to a share of its own requests).
#[cfg(feature = "keyed")]
impl crate::keyed::KeyedPolicy for RetryBudget {
    fn fresh(&self, _: Option<&Name>) -> Self {
        RetryBudget::fresh(self)
    }

    fn evictable(&self) -> bool {
        self.at_rest()
    }
}
