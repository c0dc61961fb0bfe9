//! Circuit breaker: stop calling a dependency that is failing, and find out when it recovers.
//!
//! ```text
//!            failure or slow-call rate >= threshold
//!            (with at least `minimum_calls` in the window)
//!   +--------+ ------------------------------------> +------+
//!   | Closed |                                      | Open | -- rejects with CircuitOpen
//!   +--------+ <--+                                 +------+    { retry_after }
//!        ^        |                                    |
//!        |        | probes below the thresholds        | first call at or after
//!        |        |                                    | opened_at + open_duration
//!        |   +-----------+ <---------------------------+
//!        +---| Half-open | -- at most `half_open_calls` probes in flight
//!            +-----------+ --> Open again when the probes are at or above a threshold,
//!                              or when `max_half_open_wait` passes without a verdict
//! ```
//!
//! `force_open`, `disable` and `reset` move the breaker by hand to `ForcedOpen` (rejects until
//! reset), `Disabled` (every call flows, nothing is recorded) or a fresh `Closed`.
//!
//! # When the breaker decides
//!
//! On the call's first poll, not when its future is built (admission is lazy, see
//! [`policy`](crate::policy)): a call that waited in a bulkhead or queue outside the breaker meets
//! the breaker as it is when the call starts, and if the breaker turns it away, nothing inside it
//! runs. A probe permit is held by the call until its outcome is recorded, and a panic in the
//! call or the classifier gives it back.
//!
//! # Boundary conventions
//!
//! | rule | convention |
//! |---|---|
//! | failure rate trips | `failures / calls >= failure_rate` (inclusive) |
//! | slow-call rate trips | `slow / calls >= slow_call_rate` (inclusive), only if `slow_call_duration` is set |
//! | a call is slow | its duration is strictly greater than `slow_call_duration` |
//! | the window is judged | once it holds at least `minimum_calls` calls; a count window of N holds at most N, so its effective minimum is `min(minimum_calls, N)` |
//! | open → half-open | the first call at or after `opened_at + open_duration` (lazy: no timer, no task) |
//! | `state()` and `snapshot()` | the state a call arriving now would find: half-open from `opened_at + open_duration`, open again from `max_half_open_wait`, before any call has moved the breaker; reading moves nothing |
//! | `retry_after` when half-open and every probe permit is taken | the time left of `max_half_open_wait` (by then the probes have decided, or the breaker reopens); without it, the latest open duration (nothing bounds the probes; it is the breaker's own pace between rounds) |
//! | half-open verdict | after `min(minimum_calls, half_open_calls)` probe results, by the same thresholds |
//! | half-open → closed | with an empty window |
//! | open duration | `open_duration * open_backoff^k` for the k-th consecutive opening (k from 0), capped at `max_open_duration`; back to `open_duration` once closed |
//! | ignored outcomes, cancelled calls | count nowhere; a half-open probe's permit is given back |
//! | a result from an earlier state | does not count (each state change starts a new generation) |
//!
//! # Costs
//!
//! Closed, admission is one atomic load. Recording into a count window that is full of plain
//! successes (a healthy service) is one more load and nothing else: the ring reads the same
//! whichever slot a success would replace, so such a call writes nothing shared and scales across
//! cores. Any other call into a count window takes its place from one shared sequence (one
//! `fetch_add`) and, if the outcome there differs, adds its own to the packed totals, swaps it in
//! and takes the replaced one off (in that order, so that no figure ever dips below zero). No
//! lock, no allocation, and no clock read unless slow calls are tracked.
//!
//! The time window reads the clock and adds one to a counter striped per thread (each stripe on
//! cache lines of its own), so cores recording at once do not fight over one line; it sums the
//! stripes only for a call that can change the verdict (a failure, a slow call, a window below its
//! minimum or just moved forward), and takes a short lock only to move forward, at most once per
//! bucket width. Its counters only grow (the window's figures are differences), so a reset or the
//! window moving on while calls are recorded never shows a figure out of range. Open, rejecting is
//! one atomic load, one clock read and one striped counter.
//!
//! The README's benchmark tables give the figures against recloser, failsafe and
//! tower-resilience, closed, open and under contention.
//!
//! # Sharing
//!
//! `CircuitBreaker` is a cheap handle around one shared state: every clone, every layer made
//! with [`layer`](CircuitBreaker::layer), every service that layer makes, and every application of
//! the layer share one breaker.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{CircuitBreaker, Error, breaker::State};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let breaker = CircuitBreaker::builder()
//!     .count_window(10)
//!     .minimum_calls(4)
//!     .failure_rate(0.5)
//!     .open_duration(Duration::from_secs(5))
//!     .name("inventory")
//!     .build()?;
//!
//! for _ in 0..4 {
//!     let _ = breaker.call(|| async { Err::<(), _>("connection refused") }).await;
//! }
//! assert_eq!(breaker.state(), State::Open);
//! match breaker.call(|| async { Ok::<_, &str>(()) }).await {
//!     Err(Error::CircuitOpen(open)) => assert_eq!(open.retry_after(), Some(Duration::from_secs(5))),
//!     other => panic!("{other:?}"),
//! }
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "serde")]
mod config;
pub(crate) mod core;
mod error;
mod events;
pub(crate) mod future;
#[cfg(feature = "tower")]
mod layer;

use std::{future::Future, sync::Arc as StdArc, time::Duration};

use tokio::time::Instant;

#[cfg(feature = "serde")]
pub use self::config::BreakerConfig;
pub(crate) use self::core::BreakerState;
pub use self::core::{State, StateChange};
pub use crate::window::MAX_WINDOW;
pub use error::CircuitOpen;
pub use events::BreakerEvent;
#[cfg(feature = "tower")]
pub(crate) use future::BreakerCall;
pub(crate) use future::Guarded;
#[cfg(feature = "tower")]
pub use layer::{BreakerLayer, BreakerService};

use self::core::Config;
use crate::window::{CountWindow, TimeWindow, Window};
use crate::{
    Classify, ConfigError, ErrorIsFailure, Name, Operation,
    policy::{Apply, CallFuture, OperationFn},
    sync::Arc,
};

const DEFAULT_NAME: Name = Name::from_static("circuit-breaker");

/// Stops calling a failing dependency and probes for its recovery.
///
/// A cheap `Clone` handle around one shared breaker. `C` classifies outcomes
/// ([`ErrorIsFailure`] unless the builder's [`classify`](CircuitBreakerBuilder::classify) says
/// otherwise); it is cloned for every call, so keep it cheap to clone.
///
/// # Panics
///
/// Never, for lack of a runtime: a breaker reads `tokio::time::Instant`, which works anywhere
/// (and follows the paused clock in tests), and arms no timer.
///
/// # Cancel safety
///
/// A call dropped before it finishes counts nowhere and gives back a half-open probe permit; see
/// [`BreakerCall`].
///
/// # Examples
///
/// ```
/// use failguard::{CircuitBreaker, Error, Outcome};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// // A 404 says the service is healthy: do not count it as a failure.
/// let breaker = CircuitBreaker::builder()
///     .classify(|r: &Result<u16, Error<u16>>| match r {
///         Err(Error::Inner(404)) | Ok(_) => Outcome::Success,
///         Err(_) => Outcome::Failure,
///     })
///     .build()?;
/// let status = breaker.call(|| async { Err::<u16, _>(404) }).await;
/// assert!(status.is_err());
/// assert_eq!(breaker.snapshot().failure_rate, 0.0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct CircuitBreaker<C = ErrorIsFailure> {
    state: Arc<BreakerState>,
    classify: C,
}

impl<C: Clone> Clone for CircuitBreaker<C> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            classify: self.classify.clone(),
        }
    }
}

/// What a [`CircuitBreaker`] is doing, read without a lock: what a call arriving now would find.
///
/// ```
/// let breaker = failguard::CircuitBreaker::builder().build()?;
/// let s = breaker.snapshot();
/// assert_eq!(s.state, failguard::breaker::State::Closed);
/// assert_eq!((s.calls, s.rejected), (0, 0));
/// # Ok::<(), failguard::ConfigError>(())
/// ```
///
/// With the `serde` feature it is `Serialize` and `Deserialize`: the state as its event name,
/// `retry_after` as a duration with its unit (see `failguard::config`).
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let breaker = failguard::CircuitBreaker::builder().name("users").build()?;
/// breaker.force_open();
/// assert_eq!(
///     serde_json::to_string(&breaker.snapshot()).unwrap(),
///     r#"{"name":"users","state":"forced_open","failure_rate":0.0,"slow_call_rate":0.0,"calls":0,"rejected":0,"retry_after":null}"#,
/// );
/// # }
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct BreakerSnapshot {
    /// The breaker's name.
    pub name: Name,
    /// The state a call arriving now would find (see [`CircuitBreaker::state`]).
    pub state: State,
    /// Failures over calls in the window, or among the probes when half-open (none yet when the
    /// open duration has just run out), 0.0 to 1.0.
    pub failure_rate: f64,
    /// Slow calls over calls, likewise.
    pub slow_call_rate: f64,
    /// Calls in the window, or probe results so far when half-open.
    pub calls: u32,
    /// Calls rejected since the breaker was built.
    pub rejected: u64,
    /// The `retry_after` a call turned away now would carry: while open, the time until the
    /// first probe may go; while half-open with every probe permit taken, the half-open hint
    /// (see the module's boundary conventions). `None` when a call now would go through, or when
    /// forced open.
    #[cfg_attr(
        feature = "serde",
        serde(default, with = "crate::config::duration::option")
    )]
    pub retry_after: Option<Duration>,
}

impl CircuitBreaker {
    /// A builder; every knob has a default, so `CircuitBreaker::builder().build()` works.
    ///
    /// ```
    /// let breaker = failguard::CircuitBreaker::builder().name("search").build()?;
    /// assert_eq!(breaker.name(), "search");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn builder() -> CircuitBreakerBuilder {
        CircuitBreakerBuilder::default()
    }
}

impl<C> CircuitBreaker<C> {
    /// Calls `f` if the breaker lets the call through, and records how it ended.
    ///
    /// When the breaker rejects, `f` is not called and the future answers
    /// [`Error::CircuitOpen`](crate::Error::CircuitOpen).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let breaker = failguard::CircuitBreaker::builder().build()?;
    /// assert_eq!(breaker.call(|| async { Ok::<_, std::io::Error>(7) }).await?, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<F, Fut, T, E>(&self, f: F) -> CallFuture<Guarded<OperationFn<F>, &BreakerState, C>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: Classify<T, crate::Error<E>> + Clone,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// This breaker as a tower layer; the layer, its clones, its services and every application
    /// of it share this one breaker.
    ///
    /// ```
    /// let layer = failguard::CircuitBreaker::builder().build()?.layer();
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> BreakerLayer<C>
    where
        C: Clone,
    {
        BreakerLayer::new(self.clone())
    }

    /// This breaker as a tower layer that borrows it instead of sharing it: each call's future
    /// holds a reference where [`layer`](Self::layer)'s takes a reference count (two atomic
    /// operations a call, about 10 ns on a 2-core machine). Everything else is the same.
    ///
    /// The services live no longer than the breaker, so a `'static` service needs a
    /// `&'static CircuitBreaker`: one in a `static`, or one built once at start-up and leaked.
    ///
    /// ```
    /// use std::sync::LazyLock;
    /// use failguard::{CircuitBreaker, Error};
    /// use tower::{Service, ServiceBuilder, ServiceExt};
    ///
    /// static USERS: LazyLock<CircuitBreaker> =
    ///     LazyLock::new(|| CircuitBreaker::builder().name("users").build().unwrap());
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let mut svc = ServiceBuilder::new()
    ///     .layer(USERS.layer_ref())
    ///     .map_err(Error::Inner)
    ///     .service_fn(|id: u64| async move { Ok::<_, std::io::Error>(id * 2) });
    /// let call = svc.ready().await?.call(21);
    /// let task = tokio::spawn(call); // 'static and Send
    /// assert_eq!(task.await??, 42);
    /// assert_eq!(USERS.snapshot().calls, 1);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer_ref(&self) -> BreakerLayer<C, &BreakerState>
    where
        C: Clone,
    {
        BreakerLayer::borrowing(self)
    }

    crate::policy::wrap_method!("failguard::CircuitBreaker::builder().build()?");

    /// The state a call arriving now would find.
    ///
    /// The breaker moves lazily: no timer, no task; the first call after a deadline moves it.
    /// Reading does not wait for that call: an open breaker whose open duration has passed reads
    /// as [`HalfOpen`](State::HalfOpen), and a half-open one past its
    /// [`max_half_open_wait`](CircuitBreakerBuilder::max_half_open_wait) as
    /// [`Open`](State::Open), so a health check reads the truth between calls. Reading moves
    /// nothing, and costs one atomic load when closed, plus a load and a clock read when open or
    /// half-open.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{CircuitBreaker, breaker::State};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let breaker = CircuitBreaker::builder()
    ///     .count_window(1)
    ///     .minimum_calls(1)
    ///     .open_duration(Duration::from_secs(5))
    ///     .build()?;
    /// assert_eq!(breaker.state(), State::Closed);
    /// let _ = breaker.call(|| async { Err::<(), _>("connection refused") }).await;
    /// assert_eq!(breaker.state(), State::Open);
    ///
    /// tokio::time::advance(Duration::from_secs(5)).await;
    /// // No call since, but one arriving now would go through as a probe.
    /// assert_eq!(breaker.state(), State::HalfOpen);
    /// # Ok(())
    /// # }
    /// ```
    pub fn state(&self) -> State {
        self.state.current()
    }

    /// State, rates, calls in the window, rejections and `retry_after`, read without a lock and
    /// without moving anything: the state is the one a call arriving now would find, as
    /// [`state`](Self::state) reports it, and the figures go with that state.
    ///
    /// ```
    /// let breaker = failguard::CircuitBreaker::builder().build()?;
    /// assert_eq!(breaker.snapshot().failure_rate, 0.0);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn snapshot(&self) -> BreakerSnapshot {
        let view = self.state.view();
        let totals = view.totals;
        let rate = |n: u32| {
            if totals.calls == 0 {
                0.0
            } else {
                n as f64 / totals.calls as f64
            }
        };
        BreakerSnapshot {
            name: self.state.cfg.name.clone(),
            state: view.state,
            failure_rate: rate(totals.failures),
            slow_call_rate: rate(totals.slow),
            calls: totals.calls,
            rejected: self.state.rejected(),
            retry_after: view.retry_after,
        }
    }

    /// Opens the breaker by hand: it rejects every call (with no `retry_after`) until
    /// [`reset`](Self::reset) or [`disable`](Self::disable).
    ///
    /// ```
    /// let breaker = failguard::CircuitBreaker::builder().build()?;
    /// breaker.force_open();
    /// assert_eq!(breaker.state(), failguard::breaker::State::ForcedOpen);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn force_open(&self) {
        self.state.force(State::ForcedOpen);
    }

    /// Disables the breaker: every call flows and nothing is recorded, until
    /// [`reset`](Self::reset).
    ///
    /// ```
    /// let breaker = failguard::CircuitBreaker::builder().build()?;
    /// breaker.disable();
    /// assert_eq!(breaker.state(), failguard::breaker::State::Disabled);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn disable(&self) {
        self.state.force(State::Disabled);
    }

    /// Closes the breaker with an empty window and the open duration back at its start.
    ///
    /// ```
    /// let breaker = failguard::CircuitBreaker::builder().build()?;
    /// breaker.force_open();
    /// breaker.reset();
    /// assert_eq!(breaker.state(), failguard::breaker::State::Closed);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn reset(&self) {
        self.state.force(State::Closed);
    }

    /// The breaker's name.
    ///
    /// ```
    /// assert_eq!(failguard::CircuitBreaker::builder().build()?.name(), "circuit-breaker");
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.state.cfg.name
    }
}

#[cfg(feature = "tower")]
impl<C: Clone> crate::policy::ToLayer for CircuitBreaker<C> {
    type Layer = BreakerLayer<C>;

    fn layer(&self) -> Self::Layer {
        CircuitBreaker::layer(self)
    }
}

crate::policy::typed_policy!(
    [C] CircuitBreaker<C> => Guarded<Op, &'a BreakerState, C>,
    where [C: Classify<T, crate::Error<E>> + Clone + Send + Sync]
);

impl<'a, Op, C> Apply<Op> for &'a CircuitBreaker<C>
where
    Op: Operation,
    C: Classify<Op::Ok, Op::Error> + Clone,
{
    type Output = Guarded<Op, &'a BreakerState, C>;

    fn apply(self, op: Op) -> Self::Output {
        Guarded {
            op,
            state: Some(&*self.state),
            classify: self.classify.clone(),
        }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<Op, C> Apply<Op> for CircuitBreaker<C>
where
    Op: Operation,
    C: Classify<Op::Ok, Op::Error> + Clone,
{
    type Output = Guarded<Op, Arc<BreakerState>, C>;

    fn apply(self, op: Op) -> Self::Output {
        Guarded {
            op,
            state: Some(self.state),
            classify: self.classify,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum WindowKind {
    Count(usize),
    Time { window: Duration, buckets: usize },
}

/// Builds a [`CircuitBreaker`]. Every knob has a default (listed under each method), chosen as
/// resilience4j's where it has one.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let breaker = failguard::CircuitBreaker::builder()
///     .time_window(Duration::from_secs(30), 30)
///     .minimum_calls(20)
///     .failure_rate(0.25)
///     .slow_call_duration(Duration::from_millis(500))
///     .slow_call_rate(0.5)
///     .open_duration(Duration::from_secs(10))
///     .open_backoff(2.0, Duration::from_secs(120))
///     .half_open_calls(5)
///     .max_half_open_wait(Duration::from_secs(30))
///     .name("checkout")
///     .on_state_change(|change| println!("{} went {} -> {}", change.name, change.from, change.to))
///     .build()?;
/// # let _ = breaker;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
///
/// The builder is `Clone`, so one configuration can stamp out a breaker per host. Each
/// `build()` makes a new breaker with its own state; state-change callbacks are shared, not
/// copied.
///
/// ```
/// use std::time::Duration;
/// use failguard::{CircuitBreaker, breaker::State};
///
/// let template = CircuitBreaker::builder()
///     .count_window(20)
///     .open_duration(Duration::from_secs(5))
///     .on_state_change(|change| println!("{} is now {}", change.name, change.to));
///
/// let eu = template.clone().name("eu.example.com").build()?;
/// let us = template.name("us.example.com").build()?;
/// eu.force_open();
/// assert_eq!(eu.state(), State::ForcedOpen);
/// assert_eq!(us.state(), State::Closed);
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct CircuitBreakerBuilder<C = ErrorIsFailure> {
    window: WindowKind,
    failure_rate: f64,
    slow_call_rate: f64,
    slow_call_duration: Option<Duration>,
    minimum_calls: u32,
    open_duration: Duration,
    open_backoff: f64,
    max_open_duration: Option<Duration>,
    half_open_calls: u32,
    max_half_open_wait: Option<Duration>,
    name: Name,
    // Shared callbacks (`Arc<dyn Fn>`): cloning a builder does not copy them.
    listeners: Vec<self::core::Listener>,
    sinks: crate::events::Sinks,
    classify: C,
}

impl Default for CircuitBreakerBuilder {
    fn default() -> Self {
        Self {
            window: WindowKind::Count(100),
            failure_rate: 0.5,
            slow_call_rate: 1.0,
            slow_call_duration: None,
            minimum_calls: 100,
            open_duration: Duration::from_secs(60),
            open_backoff: 1.0,
            max_open_duration: None,
            half_open_calls: 10,
            max_half_open_wait: None,
            name: DEFAULT_NAME,
            listeners: Vec::new(),
            sinks: crate::events::Sinks::default(),
            classify: ErrorIsFailure,
        }
    }
}

impl<C> std::fmt::Debug for CircuitBreakerBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreakerBuilder")
            .field("name", &self.name)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl<C> CircuitBreakerBuilder<C> {
    /// Judge the last `calls` calls (a true ring: the oldest leaves as a new one enters).
    ///
    /// # Default
    ///
    /// A count window of 100 calls. From 1 to [`MAX_WINDOW`].
    pub fn count_window(mut self, calls: usize) -> Self {
        self.window = WindowKind::Count(calls);
        self
    }

    /// Judge the calls of the last `window`, kept in `buckets` buckets of `window / buckets`
    /// each (a bucket leaves the window whole).
    ///
    /// # Default
    ///
    /// A count window (see [`count_window`](Self::count_window)). `buckets` from 1 to
    /// [`MAX_WINDOW`]; each bucket at least 1 ms wide.
    pub fn time_window(mut self, window: Duration, buckets: usize) -> Self {
        self.window = WindowKind::Time { window, buckets };
        self
    }

    /// Trip when failures / calls is at least this, from 0.0 (exclusive) to 1.0.
    ///
    /// # Default
    ///
    /// 0.5.
    pub fn failure_rate(mut self, rate: f64) -> Self {
        self.failure_rate = rate;
        self
    }

    /// Count a call as slow when it takes strictly longer than this; turns slow-call tracking on.
    ///
    /// # Default
    ///
    /// Off: no call is slow, and a count-window breaker reads no clock.
    pub fn slow_call_duration(mut self, duration: Duration) -> Self {
        self.slow_call_duration = Some(duration);
        self
    }

    /// Trip when slow calls / calls is at least this, from 0.0 (exclusive) to 1.0.
    ///
    /// # Default
    ///
    /// 1.0 (only when slow-call tracking is on).
    pub fn slow_call_rate(mut self, rate: f64) -> Self {
        self.slow_call_rate = rate;
        self
    }

    /// Judge the window only once it holds at least this many calls. Independent of the window
    /// size; a count window of N uses `min(minimum_calls, N)`.
    ///
    /// # Default
    ///
    /// 100. From 1 to [`MAX_WINDOW`].
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.minimum_calls = calls;
        self
    }

    /// How long the breaker stays open before letting probes through.
    ///
    /// # Default
    ///
    /// 60 s. Greater than zero, at most one day.
    pub fn open_duration(mut self, duration: Duration) -> Self {
        self.open_duration = duration;
        self
    }

    /// Grow the open duration with consecutive openings: the k-th consecutive opening (from 0)
    /// stays open `open_duration * multiplier^k`, at most `max`. Reset when the breaker closes.
    ///
    /// # Default
    ///
    /// No growth (multiplier 1.0). The multiplier from 1.0 to 100.0; `max` at least
    /// `open_duration` and at most one day.
    pub fn open_backoff(mut self, multiplier: f64, max: Duration) -> Self {
        self.open_backoff = multiplier;
        self.max_open_duration = Some(max);
        self
    }

    /// How many probes may be in flight in the half-open state.
    ///
    /// # Default
    ///
    /// 10. From 1 to [`MAX_WINDOW`].
    pub fn half_open_calls(mut self, calls: u32) -> Self {
        self.half_open_calls = calls;
        self
    }

    /// Reopen a half-open breaker whose probes have not reported within this time.
    ///
    /// # Default
    ///
    /// None: wait for the probes as long as they take. Greater than zero, at most one day.
    pub fn max_half_open_wait(mut self, wait: Duration) -> Self {
        self.max_half_open_wait = Some(wait);
        self
    }

    /// The name shown in events, errors and snapshots.
    ///
    /// # Default
    ///
    /// `"circuit-breaker"`.
    pub fn name(mut self, name: impl Into<Name>) -> Self {
        self.name = name.into();
        self
    }

    /// Calls `callback` on every change of state (after it happened, outside any lock).
    ///
    /// # Default
    ///
    /// None.
    pub fn on_state_change(
        mut self,
        callback: impl Fn(&StateChange) + Send + Sync + 'static,
    ) -> Self {
        self.listeners.push(StdArc::new(callback));
        self
    }

    /// Sends the breaker's [`BreakerEvent`]s (transitions, rejections, and, to a listener that
    /// asks, every recorded outcome) to `listener`, next to the `tracing` output. See
    /// [`events`](crate::events).
    ///
    /// # Default
    ///
    /// None.
    ///
    /// ```
    /// use failguard::{CircuitBreaker, events::{Event, EventKind}};
    /// let breaker = CircuitBreaker::builder()
    ///     .listener(|e: &Event<'_>| println!("{}: {:?}", e.name, e.kind))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn listener(mut self, listener: impl crate::events::Listener) -> Self {
        self.sinks.add(StdArc::new(listener));
        self
    }

    /// How outcomes are judged: any [`Classify`], e.g. a closure over `&Result<T, E>`.
    ///
    /// # Default
    ///
    /// [`ErrorIsFailure`]: every `Err` (including a timeout below the breaker) is a failure.
    pub fn classify<C2>(self, classify: C2) -> CircuitBreakerBuilder<C2> {
        CircuitBreakerBuilder {
            window: self.window,
            failure_rate: self.failure_rate,
            slow_call_rate: self.slow_call_rate,
            slow_call_duration: self.slow_call_duration,
            minimum_calls: self.minimum_calls,
            open_duration: self.open_duration,
            open_backoff: self.open_backoff,
            max_open_duration: self.max_open_duration,
            half_open_calls: self.half_open_calls,
            max_half_open_wait: self.max_half_open_wait,
            name: self.name,
            listeners: self.listeners,
            sinks: self.sinks,
            classify,
        }
    }

    /// Checks the configuration and builds the breaker.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the field for any value outside the range its setter documents.
    pub fn build(self) -> Result<CircuitBreaker<C>, ConfigError> {
        const DAY: Duration = Duration::from_secs(24 * 60 * 60);
        let rate_ok = |r: f64| r > 0.0 && r <= 1.0;
        if !rate_ok(self.failure_rate) {
            return Err(ConfigError::new(
                "breaker.failure_rate",
                format!(
                    "must be greater than 0.0 and at most 1.0 (got {})",
                    self.failure_rate
                ),
            ));
        }
        if !rate_ok(self.slow_call_rate) {
            return Err(ConfigError::new(
                "breaker.slow_call_rate",
                format!(
                    "must be greater than 0.0 and at most 1.0 (got {})",
                    self.slow_call_rate
                ),
            ));
        }
        if let Some(d) = self.slow_call_duration {
            ConfigError::check_duration("breaker.slow_call_duration", d)?;
        }
        let limit = MAX_WINDOW as u32;
        if self.minimum_calls == 0 || self.minimum_calls > limit {
            return Err(ConfigError::new(
                "breaker.minimum_calls",
                format!("must be from 1 to {limit} (got {})", self.minimum_calls),
            ));
        }
        if self.half_open_calls == 0 || self.half_open_calls > limit {
            return Err(ConfigError::new(
                "breaker.half_open_calls",
                format!("must be from 1 to {limit} (got {})", self.half_open_calls),
            ));
        }
        ConfigError::check_duration("breaker.open_duration", self.open_duration)?;
        if !(1.0..=100.0).contains(&self.open_backoff) {
            return Err(ConfigError::new(
                "breaker.open_backoff",
                format!(
                    "the multiplier must be from 1.0 to 100.0 (got {})",
                    self.open_backoff
                ),
            ));
        }
        // `open_backoff(multiplier, max)` sets both; a configuration file may give one only.
        if self.open_backoff > 1.0 && self.max_open_duration.is_none() {
            return Err(ConfigError::new(
                "breaker.max_open_duration",
                format!(
                    "must be set when open_backoff is above 1.0 (got open_backoff {}): the open duration grows up to it",
                    self.open_backoff
                ),
            ));
        }
        let max_open_duration = self.max_open_duration.unwrap_or(self.open_duration);
        if max_open_duration < self.open_duration || max_open_duration > DAY {
            return Err(ConfigError::new(
                "breaker.max_open_duration",
                format!(
                    "must be at least open_duration ({:?}) and at most one day (got {max_open_duration:?})",
                    self.open_duration
                ),
            ));
        }
        if let Some(wait) = self.max_half_open_wait {
            ConfigError::check_duration("breaker.max_half_open_wait", wait)?;
        }
        let now = Instant::now();
        let window = match self.window {
            WindowKind::Count(n) if n == 0 || n > MAX_WINDOW => {
                return Err(ConfigError::new(
                    "breaker.count_window",
                    format!("must be from 1 to {MAX_WINDOW} calls (got {n})"),
                ));
            }
            WindowKind::Count(n) => Window::Count(CountWindow::new(n)),
            WindowKind::Time { buckets, .. } if buckets == 0 || buckets > MAX_WINDOW => {
                return Err(ConfigError::new(
                    "breaker.time_window",
                    format!("buckets must be from 1 to {MAX_WINDOW} (got {buckets})"),
                ));
            }
            WindowKind::Time { window, buckets }
                if (window / buckets as u32) < Duration::from_millis(1) || window > DAY =>
            {
                return Err(ConfigError::new(
                    "breaker.time_window",
                    format!(
                        "each bucket must be at least 1ms wide and the window at most one day (got {window:?} in {buckets} buckets)"
                    ),
                ));
            }
            WindowKind::Time { window, buckets } => {
                Window::Time(TimeWindow::new(window, buckets, self.minimum_calls, now))
            }
        };
        // A count window of N never holds more than N calls.
        let window_minimum = match self.window {
            WindowKind::Count(n) => self.minimum_calls.min(n as u32),
            WindowKind::Time { .. } => self.minimum_calls,
        };
        let cfg = Config {
            name: self.name,
            failure_rate: self.failure_rate,
            slow_call_rate: self.slow_call_rate,
            slow_call_duration: self.slow_call_duration,
            minimum_calls: self.minimum_calls,
            window_minimum,
            open_duration: self.open_duration,
            open_backoff: self.open_backoff,
            max_open_duration,
            half_open_calls: self.half_open_calls,
            max_half_open_wait: self.max_half_open_wait,
            listeners: self.listeners,
            sinks: self.sinks,
        };
        Ok(CircuitBreaker {
            state: Arc::new(BreakerState::new(cfg, window, now)),
            classify: self.classify,
        })
    }
}

#[cfg(feature = "keyed")]
impl<C> crate::keyed::KeyedPolicy for CircuitBreaker<C>
where
    C: Clone + Send + Sync + 'static,
{
    fn fresh(&self, name: Option<&Name>) -> Self {
        Self {
            state: Arc::new(self.state.fresh(name)),
            classify: self.classify.clone(),
        }
    }

    fn evictable(&self) -> bool {
        self.state.at_rest()
    }
}
