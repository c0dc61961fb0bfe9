//! The `metrics` feature: every metric of the table in `failguard::metrics`, with its labels,
//! as a real Prometheus recorder renders it. Each test installs its own recorder for its thread
//! (a current-thread runtime), so the tests run side by side.

#![cfg(feature = "metrics")]

use std::{collections::BTreeMap, time::Duration};

use failguard::{
    Bulkhead, CircuitBreaker, Error, Fallback, Queue, Retry, Timeout,
    breaker::State,
    events::Listener,
    metrics::{Gauges, MetricsListener},
    queue::Overflow,
    retry::{Backoff, Jitter, RetryBudget},
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

const MS: Duration = Duration::from_millis(1);

fn recorder() -> (PrometheusRecorder, PrometheusHandle) {
    let recorder = PrometheusBuilder::new()
        .with_recommended_naming(true)
        .build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

/// The rendered text, parsed: one entry per series, its labels without the two every metric
/// carries (which are checked here).
#[derive(Debug)]
struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    fn of(handle: &PrometheusHandle, policy: &str, name: &str) -> Self {
        let mut series = BTreeMap::new();
        for line in handle.render().lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (key, value) = line.rsplit_once(' ').expect("a value");
            let (metric, labels) = key.split_once('{').expect("labels");
            let labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
            let prefix = [
                format!("failguard_policy_type=\"{policy}\""),
                format!("failguard_policy_name=\"{name}\""),
            ];
            if labels[..2] != prefix {
                continue;
            }
            let key = match labels.get(2) {
                Some(label) => format!("{metric} {label}"),
                None => metric.to_owned(),
            };
            series.insert(key, value.parse().expect("a number"));
        }
        Self(series)
    }

    fn get(&self, key: &str) -> f64 {
        *self
            .0
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {:#?}", self.0))
    }

    fn has(&self, metric: &str) -> bool {
        self.0.keys().any(|k| k.starts_with(metric))
    }
}

#[tokio::test(start_paused = true)]
async fn breaker_calls_rejections_transitions_and_state() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let breaker = CircuitBreaker::builder()
        .count_window(4)
        .minimum_calls(4)
        .open_duration(Duration::from_secs(1))
        .half_open_calls(1)
        .name("db")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    let gauges = Gauges::new().breaker(&breaker);

    breaker.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
    for _ in 0..3 {
        let _ = breaker.call(|| async { Err::<(), _>("down") }).await;
    }
    assert_eq!(breaker.state(), State::Open);
    let _ = breaker.call(|| async { Ok::<_, &str>(()) }).await; // rejected: open
    gauges.record();
    let s = Scrape::of(&prom, "circuit-breaker", "db");
    assert_eq!(
        s.get("failguard_calls_total failguard_outcome=\"success\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_calls_total failguard_outcome=\"failure\""),
        3.0
    );
    assert_eq!(
        s.get("failguard_rejections_total failguard_reason=\"open\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_breaker_transitions_total failguard_state=\"open\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_breaker_state failguard_state=\"open\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_breaker_state failguard_state=\"closed\""),
        0.0
    );
    assert_eq!(s.get("failguard_breaker_failure_rate"), 0.75);
    assert!(
        !s.has("failguard_call_duration"),
        "the breaker times nothing"
    );

    // The open duration runs out with no call: the breaker has not moved, but a call now would
    // be a probe, and the gauge says what the snapshot says.
    tokio::time::advance(Duration::from_secs(1)).await;
    gauges.record();
    let s = Scrape::of(&prom, "circuit-breaker", "db");
    assert_eq!(breaker.snapshot().state, State::HalfOpen);
    assert_eq!(
        s.get("failguard_breaker_state failguard_state=\"half_open\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_breaker_state failguard_state=\"open\""),
        0.0
    );
    assert_eq!(
        s.get("failguard_breaker_transitions_total failguard_state=\"half_open\""),
        0.0
    );

    // One probe in flight takes the only permit: the next call is turned away half-open.
    let probe = tokio::spawn({
        let breaker = breaker.clone();
        async move {
            breaker
                .call(|| async {
                    tokio::time::sleep(10 * MS).await;
                    Ok::<_, &str>(())
                })
                .await
        }
    });
    tokio::task::yield_now().await;
    let _ = breaker.call(|| async { Ok::<_, &str>(()) }).await;
    probe.await.unwrap().unwrap();
    breaker.force_open();
    let _ = breaker.call(|| async { Ok::<_, &str>(()) }).await;
    gauges.record();
    let s = Scrape::of(&prom, "circuit-breaker", "db");
    for (reason, n) in [("open", 1.0), ("half_open", 1.0), ("forced_open", 1.0)] {
        let key = format!("failguard_rejections_total failguard_reason=\"{reason}\"");
        assert_eq!(s.get(&key), n, "{reason}");
    }
    for (state, n) in [("half_open", 1.0), ("closed", 1.0), ("forced_open", 1.0)] {
        let key = format!("failguard_breaker_transitions_total failguard_state=\"{state}\"");
        assert_eq!(s.get(&key), n, "{state}");
    }
    assert_eq!(
        s.get("failguard_breaker_state failguard_state=\"forced_open\""),
        1.0
    );
    assert_eq!(
        breaker.snapshot().rejected,
        3,
        "the counter agrees with the snapshot"
    );
}

#[tokio::test(start_paused = true)]
async fn a_breaker_that_times_its_calls_reports_their_durations() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let breaker = CircuitBreaker::builder()
        .slow_call_duration(Duration::from_secs(1))
        .name("slow")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    for ms in [20, 40] {
        breaker
            .call(|| async move {
                tokio::time::sleep(ms * MS).await;
                Ok::<_, &str>(())
            })
            .await
            .unwrap();
    }
    let s = Scrape::of(&prom, "circuit-breaker", "slow");
    let success = "failguard_outcome=\"success\"";
    assert_eq!(
        s.get(&format!("failguard_call_duration_seconds_count {success}")),
        2.0
    );
    let sum = s.get(&format!("failguard_call_duration_seconds_sum {success}"));
    assert!((sum - 0.06).abs() < 1e-9, "{sum}");
}

#[tokio::test(start_paused = true)]
async fn bulkhead_admissions_rejections_and_gauges() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let bulkhead = Bulkhead::builder()
        .max_concurrent(1)
        .max_waiting(1)
        .max_wait(10 * MS)
        .name("api")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    let gauges = Gauges::new().bulkhead(&bulkhead);
    let busy = tokio::spawn({
        let bulkhead = bulkhead.clone();
        async move {
            bulkhead
                .call(|| async {
                    tokio::time::sleep(50 * MS).await;
                    Ok::<_, &str>(())
                })
                .await
        }
    });
    tokio::task::yield_now().await;
    let waiter = tokio::spawn({
        let bulkhead = bulkhead.clone();
        async move { bulkhead.call(|| async { Ok::<_, &str>(()) }).await }
    });
    tokio::task::yield_now().await;
    // One in flight, one waiting: a third finds no room.
    let full = bulkhead.call(|| async { Ok::<_, &str>(()) }).await;
    assert!(matches!(full, Err(Error::BulkheadFull(_))));
    gauges.record();
    let s = Scrape::of(&prom, "bulkhead", "api");
    assert_eq!(
        s.get("failguard_bulkhead_calls failguard_state=\"in_flight\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_bulkhead_calls failguard_state=\"waiting\""),
        1.0
    );
    assert_eq!(s.get("failguard_bulkhead_limit"), 1.0);

    assert!(matches!(waiter.await.unwrap(), Err(Error::BulkheadFull(_))));
    busy.await.unwrap().unwrap();
    gauges.record();
    let s = Scrape::of(&prom, "bulkhead", "api");
    assert_eq!(
        s.get("failguard_calls_total failguard_outcome=\"admitted\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_rejections_total failguard_reason=\"full\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_rejections_total failguard_reason=\"wait_timed_out\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_bulkhead_calls failguard_state=\"in_flight\""),
        0.0
    );
    assert_eq!(
        s.get("failguard_bulkhead_calls failguard_state=\"waiting\""),
        0.0
    );
    assert_eq!(bulkhead.snapshot().rejected, 2);
}

#[tokio::test(start_paused = true)]
async fn queue_sheds_by_reason_and_reports_its_depth() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let queue = Queue::builder()
        .capacity(2)
        .workers(1)
        .overflow(Overflow::DropOldest)
        .max_wait(30 * MS)
        .name("jobs")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    let gauges = Gauges::new().queue(&queue);
    let work = || async {
        tokio::time::sleep(100 * MS).await;
        Ok::<_, &str>(())
    };
    let running = queue.call(work);
    tokio::task::yield_now().await; // the worker takes it
    let first = queue.call(work);
    let second = queue.call(work);
    let third = queue.call(work); // drops `first`
    gauges.record();
    let s = Scrape::of(&prom, "queue", "jobs");
    assert_eq!(
        s.get("failguard_queue_items failguard_state=\"queued\""),
        2.0
    );
    assert_eq!(
        s.get("failguard_queue_items failguard_state=\"running\""),
        1.0
    );
    assert_eq!(s.get("failguard_queue_capacity"), 2.0);
    assert_eq!(
        queue.snapshot().queued,
        2,
        "the gauge agrees with the snapshot"
    );

    assert!(matches!(first.await, Err(Error::QueueFull(_))));
    assert!(matches!(second.await, Err(Error::QueueTimeout(_))));
    assert!(matches!(third.await, Err(Error::QueueTimeout(_))));
    running.await.unwrap();
    let panicked = queue.call(|| async {
        panic!("a bug in the work");
        #[allow(unreachable_code)]
        Ok::<_, &str>(())
    });
    assert!(matches!(panicked.await, Err(Error::QueueClosed(_))));
    queue.close();
    assert!(matches!(queue.call(work).await, Err(Error::QueueClosed(_))));
    let s = Scrape::of(&prom, "queue", "jobs");
    for (reason, n) in [
        ("rejected_newest", 0.0),
        ("dropped_oldest", 1.0),
        ("timed_out", 2.0),
        ("closed", 1.0),
        ("panicked", 1.0),
    ] {
        let key = format!("failguard_rejections_total failguard_reason=\"{reason}\"");
        assert_eq!(s.get(&key), n, "{reason}");
    }
}

#[tokio::test]
async fn gauges_do_not_keep_a_queue_open() {
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = tasks();
    let queue = Queue::new(4).unwrap();
    let gauges = Gauges::new().queue(&queue);
    assert_eq!(tasks(), before + 1, "the queue's worker");
    drop(queue);
    // The last handle is gone: the queue closes and its worker exits, though the gauges still
    // read its state.
    for _ in 0..100 {
        if tasks() == before {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(tasks(), before, "the worker exited");
    let (recorder, prom) = recorder();
    metrics::with_local_recorder(&recorder, || gauges.record());
    let s = Scrape::of(&prom, "queue", "queue");
    assert_eq!(
        s.get("failguard_queue_items failguard_state=\"queued\""),
        0.0
    );
}

#[tokio::test(start_paused = true)]
async fn retries_give_ups_fallbacks_timeouts_and_the_budget() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let budget = RetryBudget::builder()
        .min_per_sec(0)
        .percent(100.0)
        .build()
        .unwrap();
    let retry = Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(MS).jitter(Jitter::None))
        .budget(budget.clone())
        .name("api")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    let timeout = Timeout::builder()
        .duration(5 * MS)
        .name("attempt")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    let fallback = Fallback::value(0)
        .name("cached")
        .listener(MetricsListener::new());
    let gauges = Gauges::new().budget("api", &budget);
    let policy = fallback.wrap(retry).wrap(timeout);

    // The call is one request in the budget, worth one retry at 100 %: the first attempt times
    // out and is retried, the second fails and finds the budget empty.
    let mut attempt = 0;
    let answer = policy
        .call(|| {
            attempt += 1;
            let n = attempt;
            async move {
                if n == 1 {
                    std::future::pending::<()>().await;
                }
                Err::<i32, _>("refused")
            }
        })
        .await;
    assert_eq!(answer.unwrap(), 0);
    gauges.record();
    let s = Scrape::of(&prom, "retry", "api");
    assert_eq!(
        s.get("failguard_retries_total failguard_reason=\"rejection\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_retries_total failguard_reason=\"error\""),
        0.0
    );
    assert_eq!(
        s.get("failguard_retry_exhausted_total failguard_reason=\"budget_exhausted\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_retry_exhausted_total failguard_reason=\"max_attempts\""),
        0.0
    );
    let t = Scrape::of(&prom, "timeout", "attempt");
    assert_eq!(
        t.get("failguard_rejections_total failguard_reason=\"elapsed\""),
        1.0
    );
    let f = Scrape::of(&prom, "fallback", "cached");
    assert_eq!(
        f.get("failguard_fallbacks_total failguard_reason=\"error\""),
        1.0
    );
    assert_eq!(
        f.get("failguard_fallbacks_total failguard_reason=\"timeout\""),
        0.0
    );
    let b = Scrape::of(&prom, "retry-budget", "api");
    assert_eq!(b.get("failguard_retry_budget_available"), 0.0);
    assert_eq!(budget.available(), 0);

    budget.deposit();
    budget.deposit();
    gauges.record();
    let b = Scrape::of(&prom, "retry-budget", "api");
    assert_eq!(b.get("failguard_retry_budget_available"), 2.0);
    assert_eq!(budget.available(), 2);
}

#[tokio::test(start_paused = true)]
async fn count_calls_off_asks_for_no_per_call_events() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let listener = MetricsListener::new().count_calls(false);
    assert!(!listener.per_call());
    let breaker = CircuitBreaker::builder()
        .name("quiet")
        .listener(listener)
        .build()
        .unwrap();
    breaker.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
    assert!(
        prom.render().is_empty(),
        "nothing registered before an event"
    );
    breaker.force_open();
    let _ = breaker.call(|| async { Ok::<_, &str>(()) }).await;
    let s = Scrape::of(&prom, "circuit-breaker", "quiet");
    assert_eq!(
        s.get("failguard_calls_total failguard_outcome=\"success\""),
        0.0
    );
    assert_eq!(
        s.get("failguard_rejections_total failguard_reason=\"forced_open\""),
        1.0
    );
}

#[tokio::test(start_paused = true)]
async fn one_listener_shared_by_two_policies_counts_each_under_its_name() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let shared = std::sync::Arc::new(MetricsListener::new());
    struct Shared(std::sync::Arc<MetricsListener>);
    impl Listener for Shared {
        fn on_event(&self, event: &failguard::events::Event<'_>) {
            self.0.on_event(event)
        }
        fn per_call(&self) -> bool {
            self.0.per_call()
        }
    }
    let eu = CircuitBreaker::builder()
        .name("eu")
        .listener(Shared(shared.clone()))
        .build()
        .unwrap();
    let us = CircuitBreaker::builder()
        .name("us")
        .listener(Shared(shared))
        .build()
        .unwrap();
    for _ in 0..2 {
        eu.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
    }
    for _ in 0..3 {
        us.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
    }
    let success = "failguard_calls_total failguard_outcome=\"success\"";
    assert_eq!(Scrape::of(&prom, "circuit-breaker", "eu").get(success), 2.0);
    assert_eq!(Scrape::of(&prom, "circuit-breaker", "us").get(success), 3.0);

    // A clone starts afresh: its own series, for the policy it is given to.
    let first = MetricsListener::new();
    let (a, b) = (first.clone(), first);
    let a = Bulkhead::builder()
        .max_concurrent(1)
        .name("a")
        .listener(a)
        .build()
        .unwrap();
    let b = Bulkhead::builder()
        .max_concurrent(1)
        .name("b")
        .listener(b)
        .build()
        .unwrap();
    a.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
    b.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
    let admitted = "failguard_calls_total failguard_outcome=\"admitted\"";
    assert_eq!(Scrape::of(&prom, "bulkhead", "a").get(admitted), 1.0);
    assert_eq!(Scrape::of(&prom, "bulkhead", "b").get(admitted), 1.0);
}

#[tokio::test(start_paused = true)]
async fn without_a_recorder_the_listener_counts_nothing_and_costs_no_failure() {
    let breaker = CircuitBreaker::builder()
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    breaker.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    // Registered with the no-op recorder at its first event: it stays there.
    breaker.call(|| async { Ok::<_, &str>(()) }).await.unwrap();
    assert!(prom.render().is_empty());
    assert_eq!(breaker.snapshot().calls, 2);
}

#[tokio::test(start_paused = true)]
async fn a_rate_limiter_counts_its_rejections_and_a_fallback_names_it() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let limiter = failguard::RateLimiter::builder()
        .per_second(1)
        .burst(1)
        .name("tenant")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    let fallback = Fallback::value(0)
        .name("shed")
        .listener(MetricsListener::new());
    let policy = fallback.wrap(limiter);
    for _ in 0..3 {
        assert_eq!(policy.call(|| async { Ok::<_, &str>(0) }).await.unwrap(), 0);
    }
    let r = Scrape::of(&prom, "rate-limiter", "tenant");
    assert_eq!(
        r.get("failguard_rejections_total failguard_reason=\"rate_limited\""),
        2.0
    );
    let f = Scrape::of(&prom, "fallback", "shed");
    assert_eq!(
        f.get("failguard_fallbacks_total failguard_reason=\"rate-limiter\""),
        2.0
    );
}

#[tokio::test(start_paused = true)]
async fn an_adaptive_limit_and_a_throttle_count_their_rejections() {
    use failguard::{
        adaptive::{AdaptiveLimit, Vegas},
        throttle::AdaptiveThrottle,
    };
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let limit = AdaptiveLimit::builder()
        .algorithm(Vegas::new().initial_limit(1))
        .name("db")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    let fallback = Fallback::value(0)
        .name("shed")
        .listener(MetricsListener::new());
    let policy = fallback.wrap(limit.clone());
    let busy = limit.call(std::future::pending::<Result<i32, &str>>);
    tokio::pin!(busy);
    assert!(futures_poll_once(&mut busy).is_none());
    assert_eq!(policy.call(|| async { Ok::<_, &str>(1) }).await.unwrap(), 0);
    let r = Scrape::of(&prom, "adaptive-limit", "db");
    assert_eq!(
        r.get("failguard_rejections_total failguard_reason=\"concurrency_limited\""),
        1.0
    );
    let f = Scrape::of(&prom, "fallback", "shed");
    assert_eq!(
        f.get("failguard_fallbacks_total failguard_reason=\"adaptive-limit\""),
        1.0
    );

    let throttle = AdaptiveThrottle::builder()
        .seed(3)
        .name("ads")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    for _ in 0..20 {
        let _ = throttle.call(|| async { Err::<(), _>("down") }).await;
    }
    let t = Scrape::of(&prom, "adaptive-throttle", "ads");
    assert_eq!(
        t.get("failguard_rejections_total failguard_reason=\"throttled\""),
        throttle.snapshot().throttled as f64
    );
    assert!(throttle.snapshot().throttled > 0);
}

/// Polls a future once with a no-op waker.
fn futures_poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(f).poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

#[tokio::test(start_paused = true)]
async fn adaptive_limit_gauges_read_its_snapshot() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let limit = failguard::adaptive::AdaptiveLimit::builder()
        .name("search")
        .build()
        .unwrap();
    let gauges = Gauges::new().adaptive(&limit);
    let call = limit.call(std::future::pending::<Result<(), std::io::Error>>);
    let mut call = Box::pin(call);
    assert!(futures_poll(&mut call).is_pending());
    gauges.record();
    let s = Scrape::of(&prom, "adaptive-limit", "search");
    let snapshot = limit.snapshot();
    assert_eq!(s.get("failguard_adaptive_limit"), snapshot.limit as f64);
    assert_eq!(
        s.get("failguard_adaptive_calls failguard_state=\"in_flight\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_adaptive_calls failguard_state=\"waiting\""),
        0.0
    );
    drop(call);
    gauges.record();
    let s = Scrape::of(&prom, "adaptive-limit", "search");
    assert_eq!(
        s.get("failguard_adaptive_calls failguard_state=\"in_flight\""),
        0.0
    );
}

#[cfg(feature = "keyed")]
#[tokio::test(start_paused = true)]
async fn keyed_gauges_count_the_keys() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let tenants: failguard::keyed::Keyed<String, Bulkhead> =
        failguard::keyed::Keyed::builder(Bulkhead::new(2).unwrap())
            .name("tenants")
            .build()
            .unwrap();
    let gauges = Gauges::new().keyed(&tenants);
    tenants.get("a");
    tenants.get("b");
    gauges.record();
    assert_eq!(
        Scrape::of(&prom, "keyed", "tenants").get("failguard_keyed_keys"),
        2.0
    );
    tenants.remove("a");
    gauges.record();
    assert_eq!(
        Scrape::of(&prom, "keyed", "tenants").get("failguard_keyed_keys"),
        1.0
    );
}

/// Polls `future` once with a no-op waker.
fn futures_poll<F: std::future::Future + Unpin>(future: &mut F) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(future).poll(&mut cx)
}

#[tokio::test(start_paused = true)]
async fn hedges_sent_won_and_refused() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let hedge = failguard::Hedge::builder()
        .delay(10 * MS)
        .budget(
            RetryBudget::builder()
                .min_per_sec(0)
                .percent(100.0)
                .build()
                .unwrap(),
        )
        .max_hedged_attempts(2)
        .name("search")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    // Each call deposits one retry's worth. The first call's first attempt hangs: a hedge is
    // sent at 10 ms and wins. The second call's attempts all take 50 ms: its first hedge is
    // sent at 10 ms, and its second, due at 20 ms, is refused by the budget.
    let mut attempt = 0;
    let answer = hedge
        .call(|| {
            attempt += 1;
            let slow = attempt == 1;
            async move {
                if slow {
                    std::future::pending::<()>().await;
                }
                Ok::<_, std::io::Error>(attempt)
            }
        })
        .await;
    assert_eq!(answer.unwrap(), 2);
    let answer = hedge
        .call(|| async {
            tokio::time::sleep(50 * MS).await;
            Ok::<_, std::io::Error>(0)
        })
        .await;
    assert_eq!(answer.unwrap(), 0);
    let s = Scrape::of(&prom, "hedge", "search");
    assert_eq!(
        s.get("failguard_hedges_total failguard_outcome=\"sent\""),
        2.0
    );
    assert_eq!(
        s.get("failguard_hedges_total failguard_outcome=\"won\""),
        1.0
    );
    assert_eq!(
        s.get("failguard_hedges_total failguard_outcome=\"refused\""),
        1.0
    );
}

#[tokio::test(start_paused = true)]
async fn chaos_injections_by_kind() {
    let (recorder, prom) = recorder();
    let _local = metrics::set_default_local_recorder(&recorder);
    let chaos = failguard::chaos::Chaos::builder()
        .injection_rate(1.0)
        .error("injected")
        .name("drill")
        .listener(MetricsListener::new())
        .build()
        .unwrap();
    for _ in 0..3 {
        let out = chaos.call(|| async { Ok::<_, &str>(()) }).await;
        assert!(matches!(out, Err(Error::Inner("injected"))));
    }
    let s = Scrape::of(&prom, "chaos", "drill");
    assert_eq!(
        s.get("failguard_chaos_injections_total failguard_reason=\"error\""),
        3.0
    );
    assert_eq!(
        s.get("failguard_chaos_injections_total failguard_reason=\"latency\""),
        0.0
    );
}
