//! # failguard
//!
//! Composable resilience policies for async Rust: keep a service standing when the things it
//! calls fail. Each policy is one core with two front doors: a futures combinator
//! (`policy.call(|| async { .. }).await`) and a tower [`Layer`](tower_layer::Layer). Both build
//! the same named future, so they behave the same, allocate nothing on the happy path, and are
//! `Send` whenever your operation is.
//!
//! | policy | what it does | error when it rejects |
//! |---|---|---|
//! | [`Timeout`] | abandons a call that takes too long | [`Error::Timeout`] |
//! | [`Fallback`] | answers with a value, a closure or another service when a call fails | — |
//! | [`CircuitBreaker`] | stops calling a failing dependency (count or time window, failure and slow-call rates), probes for its recovery with a bounded number of calls | [`Error::CircuitOpen`] |
//! | [`Retry`] | calls again after a failure, with an exact, capped backoff, within attempts, elapsed time and a shared [`RetryBudget`](retry::RetryBudget) | — (the last outcome) |
//! | [`Bulkhead`] | at most N calls in flight, a bounded first-in-first-out wait, no lock or allocation when uncontended | [`Error::BulkheadFull`] |
//! | [`AdaptiveLimit`](adaptive::AdaptiveLimit) | at most *limit* calls in flight, the limit moved by measured round trips and drops (AIMD, Vegas, Gradient2 or your own), rejecting at once or after a bounded FIFO/LIFO wait | [`Error::ConcurrencyLimited`] |
//! | [`AdaptiveThrottle`](throttle::AdaptiveThrottle) | rejects requests locally as the backend accepts fewer of them (the SRE book's client-side throttling: `max(0, (requests − K·accepts) / (requests + 1))` over a sliding window) | [`Error::Throttled`] |
//! | [`RateLimiter`] | at most N calls per period with a bounded burst (exact GCRA on one atomic word), rejecting with the exact `retry_after` or waiting up to `max_wait` | [`Error::RateLimited`] |
//! | [`Hedge`] | sends another attempt when the first is slow (after a fixed delay or a percentile of recent latencies), takes the first acceptable answer, within a [`RetryBudget`](retry::RetryBudget) | — (the last failure) |
//! | [`Chaos`](chaos::Chaos) | **a testing tool**: injects errors, latency or results into a share of calls, switchable at run time, free when off | — (the injected error) |
//! | [`Keyed`](keyed::Keyed) (feature `keyed`) | one instance of any policy above per key (a breaker per host, a limit per tenant), made on first use, bounded in keys and dropped when idle, never by resetting a tripped breaker | the instance's |
//! | [`Queue`] | runs work on a few workers behind a bounded queue that sheds overload (a hand-off between tasks: two allocations per call) | [`Error::QueueFull`], [`Error::QueueTimeout`], [`Error::QueueClosed`] |
//!
//! # Quick start
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Error, Fallback, Timeout};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! // One policy, as a combinator.
//! let timeout = Timeout::new(Duration::from_millis(300))?;
//! let body = timeout.call(|| async { Ok::<_, std::io::Error>("hello") }).await;
//! assert_eq!(body.unwrap(), "hello");
//!
//! // A stack, outermost first: fall back to a default when the call is slow or fails.
//! let policy = Fallback::value("default").wrap(timeout);
//! let slow = policy
//!     .call(|| async {
//!         tokio::time::sleep(Duration::from_secs(2)).await;
//!         Ok::<_, std::io::Error>("late")
//!     })
//!     .await;
//! assert_eq!(slow.unwrap(), "default");
//! # Ok(())
//! # }
//! ```
//!
//! The same stack as one tower layer. The innermost service's error is lifted once with
//! `map_err(Error::Inner)`; every failguard layer above keeps that one flat error type:
//!
//! ```
//! # use std::time::Duration;
//! use failguard::{Error, Fallback, Timeout};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let policy = Fallback::value("default").wrap(Timeout::new(Duration::from_millis(300))?);
//! let mut svc = ServiceBuilder::new()
//!     .layer(policy.layer())
//!     .map_err(Error::Inner)
//!     .service_fn(|_: ()| async {
//!         tokio::time::sleep(Duration::from_secs(2)).await;
//!         Ok::<_, std::io::Error>("late")
//!     });
//! assert_eq!(svc.ready().await?.call(()).await?, "default");
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//!
//! Every call ends in [`Error<E>`]: [`Error::Inner`] holds your operation's error unchanged, every
//! other variant is a rejection by a policy ([`Error::Timeout`], ...), carrying what you need to
//! react. Stacks never nest errors. Tower layers keep the service's error type, which must
//! implement [`PolicyError`]: [`Error<E>`] (typed) or [`BoxError`] (boxed, downcast to the
//! rejection types in [`error`]). A service that cannot fail (`Infallible`, as an axum route)
//! needs no lift: the layers over it return `Error<Infallible>` (see [`lift`]). Bad
//! configuration is a [`ConfigError`] from `build()`, never a panic.
//!
//! # Composition order
//!
//! Every policy's `wrap` puts it around another ([`Wrap`]); chains read outermost first. The recommended
//! order, and why:
//!
//! 1. **fallback**: outermost, so it also answers for every rejection below it;
//! 2. **bulkhead / queue / rate limiter**: limit concurrency and rate before spending anything
//!    else on a call;
//! 3. **overall timeout**: bounds the whole operation, retries and their waits included;
//! 4. **retry** (with a budget): re-runs everything below it;
//! 5. **circuit breaker**: sees every attempt, so each failed attempt counts;
//! 6. **per-attempt timeout**: a hung attempt is a failure the breaker sees and the retry retries;
//! 7. the call.
//!
//! # Holding a policy
//!
//! Return a stack as `impl Policy<T, E>` (for operations whose futures give `Result<T, E>`),
//! store it in a struct generic over `P: Policy<T, E>`, share it across tasks: [`Policy`] is all
//! the bound a caller needs. [`BoxPolicy`](policy::BoxPolicy) erases a stack chosen at run time.
//! Keep a clone of a handle (a breaker) to read its snapshot: clones share their state. The
//! types a stack is made of, which you meet in compiler messages and need only to spell a full
//! type or write a policy of your own, are in [`parts`].
//!
//! # Outcomes
//!
//! Policies that learn from calls judge each one a success, a failure or ignored; see
//! [`Outcome`] and [`Classify`]. A dropped (cancelled) call is always ignored. One [`Classify`]
//! value (a `fn(&Result<T, E>) -> Outcome`, [`FailureIf`] over errors,
//! `http::ServerFaults` or `grpc::ServerFaults`) is handed to a breaker, a retry and a fallback alike through their
//! `classify`, so what counts as a failure is written once.
//!
//! # Observability
//!
//! Every policy reports what happens to it through one [event model](events): typed
//! [`Event`](events::Event)s that go to the `tracing` output and to the
//! [`Listener`](events::Listener)s given to its builder (`.listener(..)`, on every policy).
//! Nothing is reported per successful call unless a listener asks for it. With the `metrics`
//! feature, [`MetricsListener`](crate::metrics::MetricsListener) is such a listener, counting
//! events through the `metrics` facade, and [`Gauges`](crate::metrics::Gauges) reports the
//! policies' snapshots as gauges.
//!
//! With the `tracing` feature, failguard emits events under the target `failguard`. Names and
//! fields are stable; nothing is emitted per successful call.
//!
//! | event | level | fields |
//! |---|---|---|
//! | `timeout.elapsed` | WARN | `policy = "timeout"`, `name`, `after_ms` |
//! | `fallback.applied` | INFO | `policy = "fallback"`, `name`, `rejection` (the rejecting policy, if any) |
//! | `bulkhead.rejected` | WARN | `policy = "bulkhead"`, `name`, `reason` (`full`, `wait_timed_out`), `max_concurrent`, `retry_after_ms` (the estimated wait, when there is one) |
//! | `queue.shed` | WARN | `policy = "queue"`, `name`, `reason` (`rejected_newest`, `dropped_oldest`, `timed_out`, `closed`), `queued`, `retry_after_ms` (the estimated wait of a full queue, when there is one) |
//! | `adaptive.rejected` | WARN | `policy = "adaptive-limit"`, `name`, `limit`, `in_flight`, `waited` |
//! | `adaptive.limit_changed` | DEBUG | `policy = "adaptive-limit"`, `name`, `from`, `to`, `rtt_us` (the window's mean round trip), `drops` |
//! | `throttle.rejected` | DEBUG | `policy = "adaptive-throttle"`, `name`, `probability`, `requests`, `accepts` |
//! | `rate_limit.rejected` | WARN | `policy = "rate-limiter"`, `name`, `weight`, `retry_after_ms` (none when the weight exceeds the burst) |
//! | `rate_limit.waited` | DEBUG | `policy = "rate-limiter"`, `name`, `weight`, `waited_ms` |
//! | `rate_limit.wait_cancelled` | DEBUG | `policy = "rate-limiter"`, `name`, `weight`, `given_back` |
//! | `keyed.created` | DEBUG | `policy = "keyed"`, `name` |
//! | `keyed.evicted` | DEBUG | `policy = "keyed"`, `name`, `reason` (`idle`, `full`), `keys` (how many) |
//! | `fleet.degraded` | WARN | `policy = "fleet"`, `name` (the instance), `timed_out` |
//! | `fleet.rejoined` | INFO | `policy = "fleet"`, `name` (the instance) |
//! | `fleet.quorum_opened` | WARN | `policy = "fleet"`, `name` (the breaker), `live`, `open` |
//! | `fleet.quorum_closed` | INFO | `policy = "fleet"`, `name` (the breaker), `live`, `open` |
//! | `queue.panicked` | ERROR | `policy = "queue"`, `name` |
//! | `breaker.transition` | WARN to open or forced open, INFO otherwise | `policy = "circuit-breaker"`, `name`, `from`, `to` (`closed`, `open`, `half_open`, `forced_open`, `disabled`), `failure_rate`, `slow_call_rate` (when a window decided it) |
//! | `breaker.rejected` | DEBUG | `policy = "circuit-breaker"`, `name`, `retry_after_ms` |
//! | `retry.attempt` | INFO | `policy = "retry"`, `name`, `attempt` (the attempt about to be made, 2 for the first retry), `delay_ms`, `reason` (`error`, `result`, `rejection`), `rejection` (the rejecting policy, if any) |
//! | `retry.exhausted` | WARN | `policy = "retry"`, `name`, `attempts` (made), `reason` (`max_attempts`, `max_elapsed`, `retry_after_beyond_cap`, `not_replayable`) |
//! | `retry.budget_exhausted` | WARN | `policy = "retry"`, `name`, `attempts` (made) |
//! | `hedge.sent` | DEBUG | `policy = "hedge"`, `name`, `attempt` (2 for the first hedge), `after_ms` (since the previous attempt), `reason` (`slow`, `failure`) |
//! | `hedge.won` | DEBUG | `policy = "hedge"`, `name`, `attempt` |
//! | `hedge.budget_exhausted` | WARN | `policy = "hedge"`, `name`, `attempts` (sent) |
//! | `chaos.injected` | INFO | `policy = "chaos"`, `name`, `fault` (`error`, `latency`, `result`), `delay_ms` (a latency's) |
//!
//! # Feature flags
//!
//! | Name | Description | Default? |
//! |---|---|---|
//! | `tower` | tower `Layer`/`Service` adapters for every policy | yes |
//! | `tracing` | `tracing` events under the `failguard` target | yes |
//! | `http` | `failguard::http`: server-fault classifiers and `Retry-After` parsing on the `http` crate's types | no |
//! | `grpc` | `failguard::grpc`: gRPC status classifiers, `grpc-retry-pushback-ms`, and `GrpcLayer` between a tonic `Channel` and a generated client (implies `http` and `tower`) | no |
//! | `serde` | `failguard::config`: every policy's settings and a whole stack read from TOML, YAML or JSON (durations as `"250ms"`), and `Serialize` for every snapshot | no |
//! | `keyed` | [`failguard::keyed`](crate::keyed): per-key policies in a bounded map (on `quick_cache`) | no |
//! | `redis` | [`failguard::fleet`](crate::fleet): fleet-wide state on Redis or Valkey, local state in charge of every call (a global rate limit served from leased permits, a breaker quorum) | no |
//! | `metrics` | [`failguard::metrics`](crate::metrics): counters, a histogram and gauges through the `metrics` facade (Prometheus, OpenTelemetry, StatsD exporters), every metric in [one table](crate::metrics#the-metrics) | no |
//!
//! tokio (its `time` feature) is always required: every policy reads time through
//! `tokio::time`, so `#[tokio::test(start_paused = true)]` drives every policy exactly.
//!
//! # Minimum supported Rust version
//!
//! Rust 1.85.

#![deny(missing_docs)]
#![warn(rust_2018_idioms)]
#![forbid(unsafe_code)]
// docs.rs labels feature-gated items; `doc_auto_cfg` was merged into `doc_cfg`
// (rust-lang/rust#138907), which now adds the labels by itself.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adaptive;
pub mod breaker;
pub mod bulkhead;
pub mod chaos;
#[cfg(feature = "serde")]
pub mod config;
pub mod error;
mod estimate;
pub mod events;
mod ext;
pub mod fallback;
#[cfg(feature = "redis")]
pub mod fleet;
#[cfg(feature = "grpc")]
pub mod grpc;
pub mod hedge;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "keyed")]
pub mod keyed;
pub mod lift;
#[cfg(feature = "metrics")]
pub mod metrics;
mod name;
mod outcome;
pub mod parts;
pub mod policy;
pub mod queue;
pub mod rate_limit;
pub mod retry;
#[allow(dead_code)]
mod sync;
pub mod throttle;
pub mod timeout;
mod timer;
mod window;

pub use breaker::CircuitBreaker;
pub use bulkhead::Bulkhead;
pub use error::{BoxError, ConfigError, Error, PolicyError, Rejection};
pub use ext::FutureExt;
pub use fallback::Fallback;
pub use hedge::Hedge;
#[cfg(feature = "tower")]
pub use lift::{Lift, LiftLayer};
pub use name::Name;
pub use outcome::{Classify, ErrorIsFailure, FailureIf, Outcome};
pub(crate) use parts::{Operation, OperationMut};
pub use policy::{Policy, Wrap};
pub use queue::Queue;
pub use rate_limit::RateLimiter;
pub use retry::{Retry, Retryable};
pub use timeout::Timeout;

/// The `rand` failguard's retries draw jitter from, so that a generator handed to
/// [`RetryBuilder::rng`](retry::RetryBuilder::rng) is of the matching version.
pub use rand;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
