//! [`MetricsListener`]: the counters and the histogram, fed by a policy's events.

use std::{fmt, sync::OnceLock};

use ::metrics::{Counter, Histogram};

use super::series::{
    self, CALL_DURATION, CALLS, EXHAUSTED, FALLBACKS, Family, OUTCOME, Of, REASON, REJECTIONS,
    RETRIES, STATE, TRANSITIONS,
};
use crate::{
    Name, Outcome,
    adaptive::AdaptiveEvent,
    breaker::BreakerEvent,
    bulkhead::BulkheadEvent,
    events::{Event, EventKind, Listener},
    fallback::FallbackEvent,
    queue::QueueEvent,
    rate_limit::RateLimitEvent,
    retry::RetryEvent,
    throttle::ThrottleEvent,
    timeout::TimeoutEvent,
};

/// Counts a policy's events as metrics through the `metrics` facade: calls by outcome,
/// rejections by reason, breaker transitions, retries, fallbacks, and a breaker's call
/// durations. See the [module docs](super) for the table.
///
/// Give each policy its own (`MetricsListener::new()` allocates nothing until the first event;
/// a clone starts afresh too). At the policy's first event it registers the policy's series
/// with the recorder in effect then (install the recorder before the policies see traffic), and
/// from then on an event is a few comparisons and one add on a handle it holds. One listener
/// given to several policies still counts each under its own name, but registers the series of
/// every policy other than the first on each of its events.
///
/// # Costs
///
/// It asks for per-call events ([`Listener::per_call`]): its policy builds one for every call
/// (a breaker's recorded outcome, a bulkhead's admission) and the listener counts it. With
/// [`count_calls(false)`](Self::count_calls) it does not, and costs nothing per successful call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{CircuitBreaker, Retry, metrics::MetricsListener};
///
/// # fn main() -> Result<(), failguard::ConfigError> {
/// let breaker = CircuitBreaker::builder()
///     .name("search")
///     .slow_call_duration(Duration::from_millis(500)) // the breaker times calls: durations too
///     .listener(MetricsListener::new())
///     .build()?;
/// // Retries and give-ups, but nothing per call.
/// let retry = Retry::builder()
///     .name("search")
///     .listener(MetricsListener::new().count_calls(false))
///     .build()?;
/// # let _ = (breaker, retry);
/// # Ok(())
/// # }
/// ```
pub struct MetricsListener {
    count_calls: bool,
    series: OnceLock<Series>,
}

impl MetricsListener {
    /// A listener that counts everything, every call included.
    ///
    /// ```
    /// use failguard::{Bulkhead, metrics::MetricsListener};
    /// let bulkhead = Bulkhead::builder()
    ///     .max_concurrent(16)
    ///     .listener(MetricsListener::new())
    ///     .build()?;
    /// # let _ = bulkhead;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn new() -> Self {
        Self {
            count_calls: true,
            series: OnceLock::new(),
        }
    }

    /// Whether to count every call (`failguard.calls`, `failguard.call.duration`), which needs
    /// per-call events from the policy.
    ///
    /// # Default
    ///
    /// `true`.
    ///
    /// ```
    /// use failguard::{events::Listener, metrics::MetricsListener};
    /// assert!(MetricsListener::new().per_call());
    /// assert!(!MetricsListener::new().count_calls(false).per_call());
    /// ```
    pub fn count_calls(mut self, count: bool) -> Self {
        self.count_calls = count;
        self
    }
}

impl Default for MetricsListener {
    fn default() -> Self {
        Self::new()
    }
}

/// A clone counts calls as the original does and registers its own series at its first event.
impl Clone for MetricsListener {
    fn clone(&self) -> Self {
        Self::new().count_calls(self.count_calls)
    }
}

impl fmt::Debug for MetricsListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsListener")
            .field("count_calls", &self.count_calls)
            .field("registered", &self.series.get().map(|s| s.name.as_str()))
            .finish()
    }
}

impl Listener for MetricsListener {
    fn on_event(&self, event: &Event<'_>) {
        let series = self.series.get_or_init(|| Series::register(event));
        if series.is(event.policy(), event.name) {
            series.count(event);
        } else {
            // Another policy's event: its own series, registered for this one event.
            Series::register(event).count(event);
        }
    }

    fn per_call(&self) -> bool {
        self.count_calls
    }
}

/// One policy's registered series.
struct Series {
    policy: &'static str,
    name: Name,
    handles: Handles,
}

enum Handles {
    Breaker {
        /// Success, failure.
        calls: [Counter; 2],
        /// Success, failure; registered at the first timed call, so that a breaker that times
        /// nothing shows no empty histogram.
        durations: OnceLock<[Histogram; 2]>,
        rejections: Family,
        transitions: Family,
    },
    Bulkhead {
        admitted: Counter,
        rejections: Family,
    },
    Queue {
        rejections: Family,
    },
    Retry {
        retries: Family,
        exhausted: Family,
    },
    Timeout {
        elapsed: Counter,
    },
    RateLimit {
        rejected: Counter,
    },
    Adaptive {
        rejections: Family,
    },
    Throttle {
        rejected: Counter,
    },
    Fallback {
        fallbacks: Family,
    },
    /// Sent, won, refused.
    Hedge {
        hedges: Family,
    },
    /// Error, latency, result.
    Chaos {
        injections: Family,
    },
    /// Idle, full.
    #[cfg(feature = "keyed")]
    Keyed {
        evictions: Family,
    },
    #[cfg(feature = "redis")]
    Fleet {
        degraded: Counter,
    },
}

const BREAKER_STATES: [&str; 5] = ["closed", "open", "half_open", "forced_open", "disabled"];

impl Series {
    /// Whether these are the series of the policy of type `policy` named `name`. Its events
    /// carry the very strings the series were registered with, so two pointer comparisons
    /// answer; the contents only for another policy's event.
    #[inline]
    fn is(&self, policy: &'static str, name: &Name) -> bool {
        let same = |a: &str, b: &str| std::ptr::eq(a, b) || a == b;
        same(self.policy, policy) && same(self.name.as_str(), name.as_str())
    }

    fn register(event: &Event<'_>) -> Self {
        series::describe();
        let of = Of {
            policy: event.policy(),
            name: event.name,
        };
        let handles = match event.kind {
            EventKind::Breaker(_) => Handles::Breaker {
                calls: [
                    of.counter(CALLS, Some((OUTCOME, "success"))),
                    of.counter(CALLS, Some((OUTCOME, "failure"))),
                ],
                durations: OnceLock::new(),
                rejections: of.family(REJECTIONS, REASON, &["open", "half_open", "forced_open"]),
                transitions: of.family(TRANSITIONS, STATE, &BREAKER_STATES),
            },
            EventKind::Bulkhead(_) => Handles::Bulkhead {
                admitted: of.counter(CALLS, Some((OUTCOME, "admitted"))),
                rejections: of.family(REJECTIONS, REASON, &["full", "wait_timed_out"]),
            },
            EventKind::Queue(_) => Handles::Queue {
                rejections: of.family(
                    REJECTIONS,
                    REASON,
                    &[
                        "rejected_newest",
                        "dropped_oldest",
                        "timed_out",
                        "closed",
                        "panicked",
                    ],
                ),
            },
            EventKind::Retry(_) => Handles::Retry {
                retries: of.family(RETRIES, REASON, &["error", "result", "rejection"]),
                exhausted: of.family(
                    EXHAUSTED,
                    REASON,
                    &[
                        "max_attempts",
                        "max_elapsed",
                        "retry_after_beyond_cap",
                        "not_replayable",
                        "budget_exhausted",
                    ],
                ),
            },
            EventKind::Timeout(_) => Handles::Timeout {
                elapsed: of.counter(REJECTIONS, Some((REASON, "elapsed"))),
            },
            EventKind::RateLimit(_) => Handles::RateLimit {
                rejected: of.counter(REJECTIONS, Some((REASON, "rate_limited"))),
            },
            EventKind::Adaptive(_) => Handles::Adaptive {
                rejections: of.family(
                    REJECTIONS,
                    REASON,
                    &["concurrency_limited", "wait_timed_out"],
                ),
            },
            EventKind::Throttle(_) => Handles::Throttle {
                rejected: of.counter(REJECTIONS, Some((REASON, "throttled"))),
            },
            EventKind::Hedge(_) => Handles::Hedge {
                hedges: of.family(series::HEDGES, OUTCOME, &["sent", "won", "refused"]),
            },
            EventKind::Chaos(_) => Handles::Chaos {
                injections: of.family(
                    series::CHAOS_INJECTIONS,
                    REASON,
                    &["error", "latency", "result"],
                ),
            },
            #[cfg(feature = "keyed")]
            EventKind::Keyed(_) => Handles::Keyed {
                evictions: of.family(series::KEYED_EVICTIONS, REASON, &["idle", "full"]),
            },
            #[cfg(feature = "redis")]
            EventKind::Fleet(_) => Handles::Fleet {
                degraded: of.counter(series::FLEET_DEGRADED, None),
            },
            EventKind::Fallback(_) => Handles::Fallback {
                fallbacks: of.family(
                    FALLBACKS,
                    REASON,
                    &[
                        "error",
                        "timeout",
                        "circuit-breaker",
                        "bulkhead",
                        "queue",
                        "rate-limiter",
                        "adaptive-limit",
                        "adaptive-throttle",
                    ],
                ),
            },
        };
        Self {
            policy: of.policy,
            name: event.name.clone(),
            handles,
        }
    }

    fn count(&self, event: &Event<'_>) {
        let of = Of {
            policy: self.policy,
            name: &self.name,
        };
        match (&self.handles, event.kind) {
            (
                Handles::Breaker {
                    calls, durations, ..
                },
                EventKind::Breaker(BreakerEvent::Recorded { outcome, duration }),
            ) => {
                let i = match outcome {
                    Outcome::Success => 0,
                    Outcome::Failure => 1,
                    // Never reported; counts nowhere if it were.
                    Outcome::Ignored => return,
                };
                calls[i].increment(1);
                if let Some(duration) = duration {
                    let durations = durations.get_or_init(|| {
                        [
                            of.histogram(CALL_DURATION, Some((OUTCOME, "success"))),
                            of.histogram(CALL_DURATION, Some((OUTCOME, "failure"))),
                        ]
                    });
                    durations[i].record(duration.as_secs_f64());
                }
            }
            (
                Handles::Breaker { rejections, .. },
                EventKind::Breaker(BreakerEvent::Rejected { state, .. }),
            ) => rejections.increment(&of, state.as_str()),
            (
                Handles::Breaker { transitions, .. },
                EventKind::Breaker(BreakerEvent::Transition(change)),
            ) => transitions.increment(&of, change.to.as_str()),
            (Handles::Bulkhead { admitted, .. }, EventKind::Bulkhead(BulkheadEvent::Admitted)) => {
                admitted.increment(1)
            }
            (
                Handles::Bulkhead { rejections, .. },
                EventKind::Bulkhead(BulkheadEvent::Rejected { reason, .. }),
            ) => rejections.increment(&of, reason.as_str()),
            (Handles::Queue { rejections }, EventKind::Queue(QueueEvent::Shed { reason, .. })) => {
                rejections.increment(&of, reason)
            }
            (Handles::Queue { rejections }, EventKind::Queue(QueueEvent::Panicked)) => {
                rejections.at(4).increment(1)
            }
            (
                Handles::Retry { retries, .. },
                EventKind::Retry(RetryEvent::Retrying { reason, .. }),
            ) => retries.increment(&of, reason.as_str()),
            (
                Handles::Retry { exhausted, .. },
                EventKind::Retry(RetryEvent::Exhausted { reason, .. }),
            ) => exhausted.increment(&of, reason),
            (
                Handles::Retry { exhausted, .. },
                EventKind::Retry(RetryEvent::BudgetExhausted { .. }),
            ) => exhausted.at(4).increment(1),
            (Handles::Timeout { elapsed }, EventKind::Timeout(TimeoutEvent::Elapsed { .. })) => {
                elapsed.increment(1)
            }
            (
                Handles::RateLimit { rejected },
                EventKind::RateLimit(RateLimitEvent::Rejected { .. }),
            ) => rejected.increment(1),
            (
                Handles::Adaptive { rejections },
                EventKind::Adaptive(AdaptiveEvent::Rejected { waited, .. }),
            ) => rejections.at(usize::from(waited)).increment(1),
            (
                Handles::Throttle { rejected },
                EventKind::Throttle(ThrottleEvent::Throttled { .. }),
            ) => rejected.increment(1),
            (
                Handles::Fallback { fallbacks },
                EventKind::Fallback(FallbackEvent::Applied { rejection }),
            ) => fallbacks.increment(&of, rejection.unwrap_or("error")),
            #[cfg(feature = "keyed")]
            (
                Handles::Keyed { evictions },
                EventKind::Keyed(crate::keyed::KeyedEvent::Evicted { reason, keys }),
            ) => {
                let index = match reason {
                    crate::keyed::EvictReason::Full => 1,
                    _ => 0,
                };
                evictions.at(index).increment(keys);
            }
            #[cfg(feature = "redis")]
            (
                Handles::Fleet { degraded },
                EventKind::Fleet(crate::fleet::FleetEvent::Degraded { .. }),
            ) => degraded.increment(1),
            (Handles::Hedge { hedges }, EventKind::Hedge(event)) => match event {
                crate::hedge::HedgeEvent::Hedged { .. } => hedges.at(0).increment(1),
                crate::hedge::HedgeEvent::HedgeWon { .. } => hedges.at(1).increment(1),
                crate::hedge::HedgeEvent::BudgetExhausted { .. } => hedges.at(2).increment(1),
            },
            (Handles::Chaos { injections }, EventKind::Chaos(event)) => {
                injections.increment(&of, event.fault());
            }
            // An event this version counts in no metric.
            _ => {}
        }
    }
}
