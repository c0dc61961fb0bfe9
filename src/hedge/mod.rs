//! Hedging: against the slow tail, send another attempt when the first is slow, and take
//! whichever answers first.
//!
//! A [`Hedge`] sends the first attempt; if it has not finished after the *hedging delay*, it
//! sends another, and another after each further delay, up to
//! [`max_hedged_attempts`](HedgeBuilder::max_hedged_attempts). The first acceptable outcome
//! wins, and every other attempt in flight is dropped (cancelled). A failure that arrives
//! before the delay sends the next attempt at once ([`hedge_on_failure`](HedgeBuilder::hedge_on_failure),
//! on by default, as Polly does). When every attempt failed and no more may be sent, the call
//! returns the last failure.
//!
//! # Why hedge
//!
//! A retry waits for a failure; a slow call is not one until a timeout says so, and by then
//! the caller has waited the timeout. The tail of a latency distribution is mostly bad luck (a
//! GC pause, a cold cache, a slow replica): a second attempt is unlikely to be unlucky too. In
//! *The Tail at Scale* (Dean and Barroso), hedging after the 95th percentile cut the 99.9th
//! percentile of a Bigtable read from 1,800 ms to 74 ms for 2 % more requests. The cost is
//! load: every hedge is a request, so hedges are bounded three ways, by the delay (a
//! percentile sends hedges for at most its complement of the calls), by
//! `max_hedged_attempts`, and by a [`RetryBudget`] (the same type retries use), so that hedging
//! cannot multiply an outage: when the budget is empty, calls stop hedging.
//!
//! # The delay
//!
//! | delay | builder | hedges sent after |
//! |---|---|---|
//! | fixed | [`delay(d)`](HedgeBuilder::delay) | `d` |
//! | dynamic | [`percentile_delay(95.0)`](HedgeBuilder::percentile_delay), [`delay_floor`](HedgeBuilder::delay_floor), [`delay_cap`](HedgeBuilder::delay_cap) | the `percent` **percentile, in percent** (95.0 is p95), of the attempt latencies of the last [`window`](HedgeBuilder::window), within `[floor, cap]`; the cap until [`MIN_SAMPLES`] are known |
//!
//! A dynamic delay is read from a bounded, lock-free histogram (log-linear buckets of atomics,
//! 6 % wide, rotated over four time slices of the window, so it follows a change within a
//! window and does not trail behind). The delay a call uses is read once, when its first attempt
//! is found pending, from a value recomputed at most every 100 ms.
//!
//! **Which latencies are recorded.** Every attempt is timed from its own send. One that
//! completes (whatever its outcome) is an observation. One cancelled because another won is
//! *censored*: it took at least its elapsed time, its true latency unknown. These are exactly
//! the slow attempts that hedging rescues: left out, or counted as if they had completed when
//! cancelled, they would pull the percentile down, which sends more hedges, which censors
//! more: a loop that drives the delay toward the fast path. So the percentile is the
//! Kaplan–Meier estimate, which counts a censored attempt as still running up to its
//! cancellation and unknown after; when the censored attempts leave the percentile unknown,
//! the delay is the cap. A call whose first attempt completes on its first poll is not timed
//! (it did not wait; this also keeps the clock out of the happy path), and a cancelled call
//! records nothing. When the percentile falls just past the end of a cluster of latencies, the
//! delay is the end of that cluster (see the [histogram's notes](#the-gap-rule)).
//!
//! ## The gap rule
//!
//! Latencies often come in clusters (a fast path and a slow one, with nothing between). When
//! the percentile lands in the slow cluster only because the fast one holds a hair less than
//! its share (94.9 % of calls for a p95), every delay between the clusters hedges the same
//! calls, and the earliest serves them soonest: so when the share completed by the end of the
//! fast cluster is within a tenth of the percentile's complement (94.5 % for p95), the delay is
//! the end of the fast cluster.
//!
//! # Outcomes
//!
//! The shared predicate decides ([`classify`](HedgeBuilder::classify), default
//! [`ErrorIsFailure`]): an outcome it calls a failure does not win (hedging goes on); any
//! other outcome ends the call, so an error it does not call a failure (a `404`, a bad request)
//! ends the call at once. A rejection by a policy inside the hedge (an open circuit, a full
//! bulkhead) stops further attempts, which would be rejected too; a timeout does not (a timed-out
//! attempt is only slow).
//!
//! # Composition
//!
//! Outermost first: fallback → bulkhead → overall timeout → retry (with its budget) → **hedge**
//! (sharing that budget, so retries and hedges together stay within it) → circuit breaker →
//! per-attempt timeout → the call. Inside the overall timeout, which then bounds every attempt;
//! outside the breaker, which sees each attempt and whose open circuit stops the hedging; and
//! outside a per-attempt timeout, whose expiry is a failure that sends the next attempt at
//! once. Hedge only what is safe to send twice: a read, or a write with an idempotency key.
//!
//! # Costs
//!
//! A first attempt that completes on its first poll costs a budget deposit (when there is a
//! budget) and nothing else: no clock read, no timer, no allocation. A pending one costs a
//! clock read and a timer, and a dynamic delay one atomic add per finished attempt, plus, at
//! most every 100 ms for one caller, a walk over the window's buckets (4 × 464 atomic loads,
//! no allocation). Each hedge is one allocation (its attempt's state) and a budget withdrawal.
//!
//! # Tower
//!
//! The request is replayed for each hedge: cloned by default, or by the retry's
//! [`Replay`](crate::retry::Replay) hook ([`HedgeLayer::replay`]); a request that cannot be
//! replayed is sent once, without hedges. Each hedge goes to a clone of the inner service,
//! made ready first.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{hedge::Hedge, retry::RetryBudget};
//! use tokio::time::{Instant, sleep};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let hedge = Hedge::builder()
//!     .delay(Duration::from_millis(20))
//!     .budget(RetryBudget::builder().percent(5.0).build()?)
//!     .build()?;
//! let mut latencies = [Duration::from_secs(1), Duration::from_millis(10)].into_iter();
//! let start = Instant::now();
//! let answer = hedge
//!     .call(|| {
//!         let latency = latencies.next().unwrap();
//!         async move {
//!             sleep(latency).await;
//!             Ok::<_, std::io::Error>(latency)
//!         }
//!     })
//!     .await
//!     .unwrap();
//! // The first attempt takes 1 s; the hedge, sent at 20 ms, answers at 30 ms.
//! assert_eq!(answer, Duration::from_millis(10));
//! assert_eq!(start.elapsed(), Duration::from_millis(30));
//! # Ok(())
//! # }
//! ```

mod core;
mod events;
pub(crate) mod future;
mod histogram;
#[cfg(feature = "tower")]
mod layer;

use std::time::Duration;

pub use self::core::{HedgeState, MIN_SAMPLES};
pub use events::{HedgeEvent, HedgeReason};
pub use future::{HedgeAttempts, HedgeCall, Hedged, OpHedges};
#[cfg(feature = "tower")]
pub use layer::{HedgeLayer, HedgeService, ServiceAttempt, ServiceHedges};

use crate::{
    Classify, ConfigError, ErrorIsFailure, Name, OperationMut,
    policy::{Apply, CallFuture, OperationFn},
    retry::RetryBudget,
    sync::{Arc, AtomicU64, Ordering},
};

const DEFAULT_NAME: Name = Name::from_static("hedge");
/// The most hedged attempts a call may send (beyond the first).
pub const MAX_HEDGED_ATTEMPTS: u32 = 10;
/// The longest delay, fixed or capped, accepted.
pub const MAX_DELAY: Duration = Duration::from_secs(60 * 60);

/// Sends another attempt when the first is slow, and takes the first acceptable answer. See
/// the [module docs](self).
///
/// A cheap `Clone` handle: clones, the tower layer and its services share one configuration,
/// one latency histogram, one budget and one set of counters. `C` is the
/// [`Classify`] that tells a failure (which does not win) from an acceptable outcome.
///
/// Its operation is called once per attempt, and attempts run at once, so
/// [`call`](Self::call) takes an `FnMut` closure whose futures are independent of each other.
///
/// # Panics
///
/// The hedging delay is a tokio timer, which panics outside a Tokio runtime or in one built
/// without the time driver; a call whose first attempt completes on its first poll uses none.
///
/// # Cancel safety
///
/// Dropping a call drops every attempt in flight; see [`HedgeCall`].
///
/// # Examples
///
/// A dynamic delay: the 95th percentile of recent latencies, between 5 ms and 500 ms:
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, hedge::Hedge, retry::RetryBudget};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let hedge = Hedge::builder()
///     .percentile_delay(95.0)
///     .delay_floor(Duration::from_millis(5))
///     .delay_cap(Duration::from_millis(500))
///     .max_hedged_attempts(2)
///     .budget(RetryBudget::builder().percent(5.0).min_per_sec(1).build()?)
///     .name("search")
///     .build()?;
/// let hits = hedge.call(|| async { Ok::<_, std::io::Error>(3) }).await.unwrap();
/// assert_eq!(hits, 3);
/// // Until enough latencies are known, the delay is the cap.
/// assert_eq!(hedge.snapshot().delay, Duration::from_millis(500));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Hedge<C = ErrorIsFailure> {
    state: Arc<HedgeState<C>>,
}

impl<C> Clone for Hedge<C> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
        }
    }
}

/// What a [`Hedge`] has done, read without a lock.
///
/// ```
/// let hedge = failguard::hedge::Hedge::new(std::time::Duration::from_millis(10))?;
/// let snapshot = hedge.snapshot();
/// assert_eq!((snapshot.hedges, snapshot.hedge_wins, snapshot.budget_exhausted), (0, 0, 0));
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct HedgeSnapshot {
    /// The hedge's name.
    pub name: Name,
    /// The delay a call starting now would hedge after.
    pub delay: Duration,
    /// Hedged attempts sent since the hedge was built.
    pub hedges: u64,
    /// Calls a hedged attempt won.
    pub hedge_wins: u64,
    /// Hedges refused by an empty budget.
    pub budget_exhausted: u64,
    /// Latencies in the window (completed and censored; 0 with a fixed delay).
    pub samples: u64,
}

impl Hedge {
    /// A hedge with a fixed `delay`, one hedged attempt, and no budget.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] if `delay` is above [`MAX_DELAY`].
    ///
    /// ```
    /// assert!(failguard::hedge::Hedge::new(std::time::Duration::from_millis(50)).is_ok());
    /// ```
    pub fn new(delay: Duration) -> Result<Self, ConfigError> {
        Self::builder().delay(delay).build()
    }

    /// A builder; the delay must be set ([`delay`](HedgeBuilder::delay) or
    /// [`percentile_delay`](HedgeBuilder::percentile_delay)).
    ///
    /// ```
    /// let hedge = failguard::hedge::Hedge::builder().percentile_delay(99.0).build()?;
    /// assert_eq!(hedge.name(), "hedge");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> HedgeBuilder {
        HedgeBuilder {
            delay: None,
            floor: DEFAULT_FLOOR,
            cap: DEFAULT_CAP,
            window: DEFAULT_WINDOW,
            max_hedged: 1,
            hedge_on_failure: true,
            classify: ErrorIsFailure,
            budget: None,
            name: None,
            sinks: crate::events::Sinks::default(),
        }
    }
}

impl<C> Hedge<C> {
    /// Calls `f`, and calls it again each time the hedging delay passes (or a failure comes)
    /// while no acceptable outcome has, within the limits; the first acceptable outcome wins.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let hedge = failguard::hedge::Hedge::new(std::time::Duration::from_millis(5))?;
    /// assert_eq!(hedge.call(|| async { Ok::<_, std::io::Error>(1) }).await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<'a, F>(&'a self, f: F) -> crate::policy::Call<'a, Self, F>
    where
        &'a Self: Apply<OperationFn<F>>,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// This hedge as a tower layer, sharing its histogram, budget and counters. Requests are
    /// cloned for hedges; see [`HedgeLayer::replay`] for requests that cannot be.
    ///
    /// ```
    /// let layer = failguard::hedge::Hedge::new(std::time::Duration::from_millis(5))?.layer();
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> HedgeLayer<C> {
        HedgeLayer::new(self.clone())
    }

    crate::policy::wrap_method!("failguard::hedge::Hedge::new(Duration::from_millis(50))?");

    /// The hedge's name.
    ///
    /// ```
    /// let hedge = failguard::hedge::Hedge::builder().delay(std::time::Duration::ZERO).name("db").build()?;
    /// assert_eq!(hedge.name(), "db");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.state.name
    }

    /// The delay, counters and sample count, read without a lock (a dynamic delay reads its
    /// histogram's window: a few hundred atomic loads).
    ///
    /// ```
    /// let hedge = failguard::hedge::Hedge::new(std::time::Duration::from_millis(10))?;
    /// assert_eq!(hedge.snapshot().delay, std::time::Duration::from_millis(10));
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn snapshot(&self) -> HedgeSnapshot {
        let now = tokio::time::Instant::now();
        let state = &self.state;
        let (delay, samples) = match &state.dynamic {
            None => (state.fixed, 0),
            Some(dynamic) => (dynamic.estimate(now), dynamic.samples(now)),
        };
        HedgeSnapshot {
            name: state.name.clone(),
            delay,
            hedges: state.hedges.load(Ordering::Relaxed),
            hedge_wins: state.hedge_wins.load(Ordering::Relaxed),
            budget_exhausted: state.budget_exhausted.load(Ordering::Relaxed),
            samples,
        }
    }
}

#[cfg(feature = "tower")]
impl<C> crate::policy::ToLayer for Hedge<C> {
    type Layer = HedgeLayer<C>;

    fn layer(&self) -> Self::Layer {
        Hedge::layer(self)
    }
}

crate::policy::typed_policy!(
    [C] Hedge<C> => Hedged<OpHedges<Op>, &'a HedgeState<C>>,
    where [C: Classify<T, crate::Error<E>> + Send + Sync, T: Send, E: Send]
);

impl<'a, Op, C> Apply<Op> for &'a Hedge<C>
where
    Op: OperationMut,
    C: Classify<Op::Ok, Op::Error>,
{
    type Output = Hedged<OpHedges<Op>, &'a HedgeState<C>>;

    fn apply(self, op: Op) -> Self::Output {
        Hedged {
            attempts: OpHedges(op),
            state: &self.state,
        }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op, C> Apply<Op> for Hedge<C>
where
    Op: OperationMut,
    C: Classify<Op::Ok, Op::Error>,
{
    type Output = Hedged<OpHedges<Op>, Arc<HedgeState<C>>>;

    fn apply(self, op: Op) -> Self::Output {
        Hedged {
            attempts: OpHedges(op),
            state: self.state,
        }
    }
}

const DEFAULT_FLOOR: Duration = Duration::from_millis(1);
const DEFAULT_CAP: Duration = Duration::from_secs(1);
const DEFAULT_WINDOW: Duration = Duration::from_secs(8);
/// The shortest and longest histogram windows accepted.
const WINDOWS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(600));

/// The delay the builder was given.
#[derive(Debug, Clone, Copy)]
enum DelayChoice {
    Fixed(Duration),
    Percentile(f64),
}

/// Builds a [`Hedge`].
///
/// ```
/// use std::time::Duration;
/// use failguard::{FailureIf, Error, hedge::Hedge};
///
/// // Only connection errors are worth racing; any other error ends the call.
/// let hedge = Hedge::builder()
///     .delay(Duration::from_millis(30))
///     .max_hedged_attempts(2)
///     .classify(FailureIf(|e: &Error<std::io::Error>| {
///         matches!(e, Error::Inner(io) if io.kind() == std::io::ErrorKind::ConnectionReset)
///     }))
///     .build()?;
/// # let _ = hedge;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct HedgeBuilder<C = ErrorIsFailure> {
    delay: Option<DelayChoice>,
    floor: Duration,
    cap: Duration,
    window: Duration,
    max_hedged: u32,
    hedge_on_failure: bool,
    classify: C,
    budget: Option<RetryBudget>,
    name: Option<Name>,
    sinks: crate::events::Sinks,
}

impl<C> HedgeBuilder<C> {
    /// Hedges after a fixed `delay`.
    ///
    /// # Default
    ///
    /// None: a delay must be set, by this or [`percentile_delay`](Self::percentile_delay)
    /// (the last one wins). At most [`MAX_DELAY`].
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(DelayChoice::Fixed(delay));
        self
    }

    /// Hedges after the `percent` percentile, **in percent** (`95.0` is p95), of the latencies
    /// of recent attempts, within [`delay_floor`](Self::delay_floor) and
    /// [`delay_cap`](Self::delay_cap). See the [module docs](self#the-delay).
    ///
    /// # Default
    ///
    /// None: a delay must be set. `percent` is above 0 and below 100.
    pub fn percentile_delay(mut self, percent: f64) -> Self {
        self.delay = Some(DelayChoice::Percentile(percent));
        self
    }

    /// The shortest dynamic delay.
    ///
    /// # Default
    ///
    /// 1 ms.
    pub fn delay_floor(mut self, floor: Duration) -> Self {
        self.floor = floor;
        self
    }

    /// The longest dynamic delay, and the delay while the percentile is unknown (fewer than
    /// [`MIN_SAMPLES`] latencies, or censored beyond it).
    ///
    /// # Default
    ///
    /// 1 s. At most [`MAX_DELAY`], and at least the floor.
    pub fn delay_cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// How far back the latencies of a dynamic delay go (in four slices: between three
    /// quarters of it and all of it).
    ///
    /// # Default
    ///
    /// 8 s. From 1 s to 10 minutes.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Attempts a call may send beyond the first.
    ///
    /// # Default
    ///
    /// 1. From 1 to [`MAX_HEDGED_ATTEMPTS`].
    pub fn max_hedged_attempts(mut self, n: u32) -> Self {
        self.max_hedged = n;
        self
    }

    /// Whether a failure sends the next attempt at once, rather than at the next delay. Off,
    /// a failure with nothing else in flight ends the call (hedging is for slowness; a retry
    /// is for failures).
    ///
    /// # Default
    ///
    /// `true`, as Polly.
    pub fn hedge_on_failure(mut self, on: bool) -> Self {
        self.hedge_on_failure = on;
        self
    }

    /// Draws every hedged attempt from `budget` (the retries' type; share one between a retry
    /// and a hedge to bound both together); each call counts once in it. An empty budget stops
    /// the call's hedging.
    ///
    /// # Default
    ///
    /// None: hedges are bounded only by the delay and `max_hedged_attempts`.
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Which outcomes are failures, which do not win and let hedging go on: the shared
    /// predicate ([`Classify`]) a breaker, a retry and a fallback take. Any other outcome,
    /// an error included, ends the call.
    ///
    /// # Default
    ///
    /// [`ErrorIsFailure`]: every `Err` is a failure.
    pub fn classify<C2>(self, classify: C2) -> HedgeBuilder<C2> {
        HedgeBuilder {
            delay: self.delay,
            floor: self.floor,
            cap: self.cap,
            window: self.window,
            max_hedged: self.max_hedged,
            hedge_on_failure: self.hedge_on_failure,
            classify,
            budget: self.budget,
            name: self.name,
            sinks: self.sinks,
        }
    }

    /// The name shown in events and snapshots.
    ///
    /// # Default
    ///
    /// `"hedge"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends the hedge's [`HedgeEvent`]s to `listener`, next to the `tracing` output.
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// use failguard::{events::Event, hedge::Hedge};
    /// let hedge = Hedge::builder()
    ///     .delay(std::time::Duration::from_millis(10))
    ///     .listener(|e: &Event<'_>| eprintln!("{}: {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = hedge;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(std::sync::Arc::new(listener));
        self
    }

    /// Checks the configuration and builds the hedge.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming `hedge.delay` (unset, or above [`MAX_DELAY`]),
    /// `hedge.percentile`, `hedge.delay_cap`, `hedge.window` or `hedge.max_hedged_attempts`
    /// for a value outside the range its setter documents.
    ///
    /// ```
    /// let err = failguard::hedge::Hedge::builder().build().unwrap_err();
    /// assert_eq!(err.field(), "hedge.delay");
    /// ```
    pub fn build(self) -> Result<Hedge<C>, ConfigError> {
        if !(1..=MAX_HEDGED_ATTEMPTS).contains(&self.max_hedged) {
            return Err(ConfigError::new(
                "hedge.max_hedged_attempts",
                format!("must be from 1 to 10 (got {})", self.max_hedged),
            ));
        }
        let (fixed, dynamic) = match self.delay {
            None => {
                return Err(ConfigError::new(
                    "hedge.delay",
                    "must be set: `delay(..)` or `percentile_delay(..)`",
                ));
            }
            Some(DelayChoice::Fixed(delay)) if delay > MAX_DELAY => {
                return Err(ConfigError::new(
                    "hedge.delay",
                    format!("must be at most 1 hour (got {delay:?})"),
                ));
            }
            Some(DelayChoice::Fixed(delay)) => (delay, None),
            Some(DelayChoice::Percentile(percent)) => {
                if !(percent > 0.0 && percent < 100.0) {
                    return Err(ConfigError::new(
                        "hedge.percentile",
                        format!("must be above 0 and below 100, in percent (got {percent})"),
                    ));
                }
                if self.cap > MAX_DELAY || self.cap < self.floor {
                    return Err(ConfigError::new(
                        "hedge.delay_cap",
                        format!(
                            "must be from the floor ({:?}) to 1 hour (got {:?})",
                            self.floor, self.cap
                        ),
                    ));
                }
                if !(WINDOWS.0..=WINDOWS.1).contains(&self.window) {
                    return Err(ConfigError::new(
                        "hedge.window",
                        format!("must be from 1s to 10 minutes (got {:?})", self.window),
                    ));
                }
                let dynamic = self::core::Dynamic::new(percent, self.floor, self.cap, self.window);
                (self.cap, Some(dynamic))
            }
        };
        Ok(Hedge {
            state: Arc::new(HedgeState {
                max_hedged: self.max_hedged,
                fixed,
                dynamic,
                hedge_on_failure: self.hedge_on_failure,
                classify: self.classify,
                budget: self.budget,
                name: self.name.unwrap_or(DEFAULT_NAME),
                sinks: self.sinks,
                hedges: AtomicU64::new(0),
                hedge_wins: AtomicU64::new(0),
                budget_exhausted: AtomicU64::new(0),
            }),
        })
    }
}
