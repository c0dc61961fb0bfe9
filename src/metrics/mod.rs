//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`): counters
//! and a histogram fed by the [event model](crate::events), gauges read from the policies'
//! snapshots. Any exporter of the facade serves them: Prometheus
//! (`metrics-exporter-prometheus`), OpenTelemetry, StatsD, ...
//!
//! Two parts, because a metric is either something that *happened* or something that *is*:
//!
//! - [`MetricsListener`] counts what happens. It is a [`Listener`](crate::events::Listener):
//!   give one to each policy's builder with `.listener(MetricsListener::new())`. It registers
//!   its series with the recorder at the policy's first event, then counts with no lookup and no
//!   allocation (one atomic add in a typical recorder). It asks for per-call events (calls by
//!   outcome, call durations), which cost that policy a little per call; a listener built with
//!   [`count_calls(false)`](MetricsListener::count_calls) counts only rejections, transitions,
//!   retries and fallbacks, and costs nothing per successful call.
//! - [`Gauges`] reads what is. It holds the handles you give it (a breaker, a bulkhead, a queue,
//!   a retry budget) and, on [`record`](Gauges::record), sets every gauge from their snapshots:
//!   call it where the exporter renders (a `/metrics` handler), or on a timer. A gauge read from
//!   a snapshot is exactly what the snapshot says at that moment, including what events cannot
//!   know (a breaker whose open duration has run out reads half-open before any call moves it, a
//!   budget's allowance slides with time), and it costs the calls nothing at all.
//!
//! Without a recorder installed every handle is the facade's no-op. A policy with no
//! `MetricsListener` is not touched by this feature in any way.
//!
//! # Why a listener, and not metrics inside every policy
//!
//! The feature could have made every policy report to `metrics` by itself. It does not, because
//! Cargo features are unified across a build: one crate anywhere in the dependency tree turning
//! `metrics` on would have turned per-call events on for every policy of every crate in the
//! process, with no way to turn them off, and a policy pays for per-call events even when no
//! recorder is installed (the facade cannot tell cheaply whether one is). As a listener, the
//! feature only adds types: you choose which policies to measure and whether to count their
//! every call, and each listener keeps its own registered handles, so counting never builds a
//! key (the facade's `counter!` with a policy's name as a label allocates on every use).
//!
//! The [`metrics`](https://docs.rs/metrics) facade rather than OpenTelemetry's own API: it is a
//! small crate with a stable API (OpenTelemetry's Rust API still breaks every few releases), a
//! no-op until a recorder is installed, and it has exporters for Prometheus, OpenTelemetry and
//! StatsD, so an OpenTelemetry user loses nothing. Names and labels follow OpenTelemetry's
//! semantic conventions.
//!
//! # The metrics
//!
//! Names and labels follow the style of OpenTelemetry's semantic conventions: a `failguard.`
//! namespace, dot-separated lowercase words, the unit in the metadata (UCUM: `s`, `1`, and
//! `{call}`-style annotations for counts) rather than in the name, enumerations as labels.
//! Prometheus has no dots: `metrics-exporter-prometheus` turns them into underscores, and with
//! `with_recommended_naming(true)` adds `_total` to counters and `_seconds` to the duration, as
//! the last column shows. Every metric carries two labels, which the table does not repeat:
//!
//! - `failguard.policy.type`: `circuit-breaker`, `bulkhead`, `queue`, `retry`, `timeout`,
//!   `fallback` (as in `tracing` events and errors), or `retry-budget`;
//! - `failguard.policy.name`: the policy's name (a budget's, the one given to [`Gauges::budget`]).
//!
//! | metric | type | unit | labels | what | source | Prometheus |
//! |---|---|---|---|---|---|---|
//! | `failguard.calls` | counter | `{call}` | `failguard.outcome`: `success`, `failure` (breaker, as its classifier judged; like the window, it counts neither ignored calls nor results from before a state change), `admitted` (bulkhead) | calls a policy let through | per-call events | `failguard_calls_total` |
//! | `failguard.call.duration` | histogram | `s` | `failguard.outcome`: `success`, `failure` | how long a breaker's calls took, when it times them (slow-call tracking on) | per-call events | `failguard_call_duration_seconds` |
//! | `failguard.rejections` | counter | `{call}` | `failguard.reason`: breaker `open`, `half_open` (every probe permit taken), `forced_open`; bulkhead `full`, `wait_timed_out`; queue `rejected_newest`, `dropped_oldest`, `timed_out`, `closed`, `panicked`; timeout `elapsed`; rate limiter `rate_limited`; adaptive limit `concurrency_limited`, `wait_timed_out`; adaptive throttle `throttled` | calls a policy turned away or abandoned, each answered with a rejection ([`Error::is_rejection`](crate::Error::is_rejection)) | events | `failguard_rejections_total` |
//! | `failguard.breaker.transitions` | counter | `{transition}` | `failguard.state`: the state entered (`closed`, `open`, `half_open`, `forced_open`, `disabled`) | breaker state changes | events | `failguard_breaker_transitions_total` |
//! | `failguard.retries` | counter | `{retry}` | `failguard.reason`: `error`, `result`, `rejection` | retries granted (attempts after the first) | events | `failguard_retries_total` |
//! | `failguard.retry.exhausted` | counter | `{call}` | `failguard.reason`: `max_attempts`, `max_elapsed`, `retry_after_beyond_cap`, `not_replayable`, `budget_exhausted` | calls a retry gave up on, returning the last outcome | events | `failguard_retry_exhausted_total` |
//! | `failguard.fallbacks` | counter | `{call}` | `failguard.reason`: `error` (the operation's own), or the rejecting policy's type (`timeout`, `circuit-breaker`, `bulkhead`, `queue`, `adaptive-limit`, `adaptive-throttle`) | errors a fallback replaced | events | `failguard_fallbacks_total` |
//! | `failguard.keyed.evictions` | counter | `{key}` | `failguard.reason`: `idle`, `full` | keys a [`Keyed`](crate::keyed::Keyed) container dropped (feature `keyed`) | events | `failguard_keyed_evictions_total` |
//! | `failguard.fleet.degraded` | counter | `{event}` | | times the instance lost the fleet's store and went on with local state (feature `redis`; `failguard.policy.name` is the instance) | events | `failguard_fleet_degraded_total` |
//! | `failguard.breaker.state` | gauge | `1` | `failguard.state`: one series per state | 1 for the state a call arriving now would find ([`CircuitBreaker::state`](crate::CircuitBreaker::state)), 0 for the others | snapshot | `failguard_breaker_state` |
//! | `failguard.breaker.failure_rate` | gauge | `1` | | failures over calls in the window (among the probes when half-open), 0.0 to 1.0 | snapshot | `failguard_breaker_failure_rate` |
//! | `failguard.bulkhead.calls` | gauge | `{call}` | `failguard.state`: `in_flight`, `waiting` | calls holding a permit, and waiting for one | snapshot | `failguard_bulkhead_calls` |
//! | `failguard.bulkhead.limit` | gauge | `{call}` | | `max_concurrent` | snapshot | `failguard_bulkhead_limit` |
//! | `failguard.queue.items` | gauge | `{item}` | `failguard.state`: `queued` (the queue's depth), `running` | items waiting, and running on a worker | snapshot | `failguard_queue_items` |
//! | `failguard.queue.capacity` | gauge | `{item}` | | waiting slots | snapshot | `failguard_queue_capacity` |
//! | `failguard.retry.budget.available` | gauge | `{retry}` | | retries the budget allows now ([`RetryBudget::available`](crate::retry::RetryBudget::available)) | snapshot | `failguard_retry_budget_available` |
//! | `failguard.hedges` | counter | `{attempt}` | `failguard.outcome`: `sent` (a hedged attempt), `won` (a hedged attempt answered first), `refused` (a hedge the budget refused) | what a [`Hedge`](crate::Hedge) did beyond the first attempt | events | `failguard_hedges_total` |
//! | `failguard.chaos.injections` | counter | `{call}` | `failguard.reason`: `error`, `latency`, `result` | faults a [`Chaos`](crate::chaos::Chaos) policy injected | events | `failguard_chaos_injections_total` |
//! | `failguard.adaptive.limit` | gauge | `{call}` | | an [`AdaptiveLimit`](crate::adaptive::AdaptiveLimit)'s current limit | snapshot | `failguard_adaptive_limit` |
//! | `failguard.adaptive.calls` | gauge | `{call}` | `failguard.state`: `in_flight`, `waiting` | calls holding a place under the adaptive limit, and waiting for one | snapshot | `failguard_adaptive_calls` |
//! | `failguard.keyed.keys` | gauge | `{key}` | | keys a [`Keyed`](crate::keyed::Keyed) container holds (feature `keyed`) | snapshot | `failguard_keyed_keys` |
//!
//! A policy's counters appear at its first event, when its listener registers them (all of
//! them at once, at zero); a timeout that never elapsed has none yet. They count from then on,
//! and a policy's snapshot counters from its `build()`, so the two agree: the listener is given
//! to the builder. A gauge appears at the first [`Gauges::record`].
//!
//! # Examples
//!
//! Serving them with `metrics-exporter-prometheus`; `examples/metrics.rs` does the same over HTTP
//! through an outage.
//!
//! ```
//! use failguard::{Bulkhead, CircuitBreaker, Error, metrics::{Gauges, MetricsListener}};
//! use metrics_exporter_prometheus::PrometheusBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let recorder = PrometheusBuilder::new().with_recommended_naming(true).build_recorder();
//! let prometheus = recorder.handle();
//! // An application installs it once: `metrics::set_global_recorder(recorder)`. Here, for this
//! // thread only:
//! let _local = metrics::set_default_local_recorder(&recorder);
//!
//! let breaker = CircuitBreaker::builder()
//!     .name("inventory")
//!     .listener(MetricsListener::new())
//!     .build()?;
//! let bulkhead = Bulkhead::builder()
//!     .max_concurrent(8)
//!     .name("inventory")
//!     .listener(MetricsListener::new())
//!     .build()?;
//! let gauges = Gauges::new().breaker(&breaker).bulkhead(&bulkhead);
//!
//! let policy = bulkhead.wrap(breaker.clone());
//! policy.call(|| async { Ok::<_, std::io::Error>(()) }).await.unwrap();
//! breaker.force_open();
//! let rejected = policy.call(|| async { Ok::<_, std::io::Error>(()) }).await;
//! assert!(matches!(rejected, Err(Error::CircuitOpen(_))));
//!
//! // In the `/metrics` handler: the gauges from the snapshots, then the text.
//! gauges.record();
//! let text = prometheus.render();
//! let has = |line: &str| text.lines().any(|l| l == line);
//! assert!(has(r#"failguard_calls_total{failguard_policy_type="circuit-breaker",failguard_policy_name="inventory",failguard_outcome="success"} 1"#));
//! assert!(has(r#"failguard_rejections_total{failguard_policy_type="circuit-breaker",failguard_policy_name="inventory",failguard_reason="forced_open"} 1"#));
//! assert!(has(r#"failguard_breaker_state{failguard_policy_type="circuit-breaker",failguard_policy_name="inventory",failguard_state="forced_open"} 1"#));
//! assert!(has(r#"failguard_bulkhead_calls{failguard_policy_type="bulkhead",failguard_policy_name="inventory",failguard_state="in_flight"} 0"#));
//! # Ok(())
//! # }
//! ```

mod gauges;
mod listener;
mod series;

pub use gauges::Gauges;
pub use listener::MetricsListener;
