//! The metrics example's setup, scraped over HTTP: the outage scenario of `tests/outage.rs` runs
//! with a `MetricsListener` on every policy while `/metrics` is served by
//! `metrics-exporter-prometheus`'s recorder on 127.0.0.1 (`examples/support/metrics_server.rs`,
//! as `examples/metrics.rs` serves it), and a real HTTP client scrapes it during the run and
//! after. After the run every figure must agree exactly with the policies' own snapshots and
//! with what the scenario recorded through its callbacks.
//!
//! Its own test binary: it installs the process's global recorder. Real time on loopback: about
//! 3 s of load (at most 4.5 s), scrapes every 100 ms, every loop bounded in count and time.

#![cfg(feature = "metrics")]

#[path = "../examples/support/faulty_server.rs"]
mod faulty_server;
#[path = "../examples/support/metrics_server.rs"]
mod metrics_server;
#[path = "../examples/support/outage.rs"]
mod outage;
#[path = "../examples/support/timeline.rs"]
mod timeline;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use failguard::{breaker::State, bulkhead::BulkheadSnapshot};
use metrics_exporter_prometheus::PrometheusBuilder;
use metrics_server::{MetricsServer, Scrape};
use outage::{Handles, Load, MAX_CONCURRENT, MAX_WAITING, Report};
use timeline::End;
use tokio::time::Instant;

const STATES: [State; 5] = [
    State::Closed,
    State::Open,
    State::HalfOpen,
    State::ForcedOpen,
    State::Disabled,
];
const BREAKER: (&str, &str) = ("failguard_policy_type", "circuit-breaker");
const BULKHEAD: (&str, &str) = ("failguard_policy_type", "bulkhead");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_over_http_agrees_with_the_policies_snapshots() {
    let prometheus = PrometheusBuilder::new()
        .with_recommended_naming(true)
        .install_recorder()
        .expect("the only recorder of this test binary");
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), prometheus)
        .await
        .expect("the metrics server");
    let url = server.url();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();

    let load = Load::default();
    let kept = Arc::new(Mutex::new(None));
    let scenario = tokio::spawn(outage::run_with(load, server.setup(kept.clone())));

    // During the run: what must hold at any instant, and counters that never go back.
    let deadline = Instant::now() + load.hard_stop + Duration::from_secs(2);
    let mut scrapes = Vec::new();
    while !scenario.is_finished() && Instant::now() < deadline && scrapes.len() < 100 {
        let s = Scrape::get(&client, &url).await.expect("a scrape");
        at_any_instant(&s);
        scrapes.push(s);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report = scenario.await.unwrap().expect("the run");
    assert!(
        scrapes.len() >= 5,
        "{} scrapes during the run",
        scrapes.len()
    );
    for pair in scrapes.windows(2) {
        let (before, after) = (pair[0].counters(), pair[1].counters());
        for (series, value) in &before {
            let later = after.get(series).copied().unwrap_or(f64::NAN);
            assert!(later >= *value, "{series} went from {value} to {later}");
        }
    }
    let saw_open = scrapes.iter().any(|s| {
        s.sum(
            "failguard_breaker_state",
            &[BREAKER, ("failguard_state", "open")],
        ) == Some(1.0)
    });
    assert!(saw_open, "a scrape during the outage saw the breaker open");

    // After the run: exactly what the snapshots say. A breaker's state and a budget move with
    // time, so the scrape must fall between two equal readings of them.
    let handles = kept.lock().unwrap().clone().expect("the handles");
    let mut agreed = false;
    for _ in 0..20 {
        let before = Readings::of(&handles);
        let s = Scrape::get(&client, &url).await.expect("a scrape");
        if Readings::of(&handles) == before {
            agrees_with_snapshots(&s, &before, &report);
            agreed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(agreed, "the policies kept moving for 20 scrapes");
}

/// What the snapshots say, without what changes by the nanosecond (an open breaker's
/// `retry_after`).
#[derive(Debug, Clone, PartialEq)]
struct Readings {
    state: State,
    failure_rate: f64,
    breaker_rejected: u64,
    bulkhead: BulkheadSnapshot,
    budget: u64,
}

impl Readings {
    fn of(h: &Handles) -> Self {
        let breaker = h.breaker.snapshot();
        Self {
            state: breaker.state,
            failure_rate: breaker.failure_rate,
            breaker_rejected: breaker.rejected,
            bulkhead: h.bulkhead.snapshot(),
            budget: h.budget.available(),
        }
    }
}

fn at_any_instant(s: &Scrape) {
    let states: f64 = STATES
        .iter()
        .map(|st| {
            let labels = [BREAKER, ("failguard_state", st.as_str())];
            s.sum("failguard_breaker_state", &labels).unwrap_or(0.0)
        })
        .sum();
    // Before the stack is built the gauges have no source yet.
    if s.sum("failguard_breaker_state", &[BREAKER]).is_none() {
        return;
    }
    assert_eq!(states, 1.0, "exactly one state at a time");
    let in_flight = s.sum(
        "failguard_bulkhead_calls",
        &[("failguard_state", "in_flight")],
    );
    let waiting = s.sum(
        "failguard_bulkhead_calls",
        &[("failguard_state", "waiting")],
    );
    assert!(in_flight.unwrap() <= MAX_CONCURRENT as f64);
    assert!(waiting.unwrap() <= MAX_WAITING as f64);
    assert!(s.sum("failguard_retry_budget_available", &[]).unwrap() >= 0.0);
}

fn agrees_with_snapshots(s: &Scrape, r: &Readings, report: &Report) {
    let n = |metric: &str, labels: &[(&str, &str)]| s.sum(metric, labels).unwrap_or(0.0);

    // Gauges: the snapshots, exactly.
    for state in STATES {
        let labels = [BREAKER, ("failguard_state", state.as_str())];
        let expected = if state == r.state { 1.0 } else { 0.0 };
        assert_eq!(n("failguard_breaker_state", &labels), expected, "{state}");
    }
    assert_eq!(
        n("failguard_breaker_failure_rate", &[BREAKER]),
        r.failure_rate
    );
    let bulkhead_calls = |state| n("failguard_bulkhead_calls", &[("failguard_state", state)]);
    assert_eq!(bulkhead_calls("in_flight"), r.bulkhead.in_flight as f64);
    assert_eq!(bulkhead_calls("waiting"), r.bulkhead.waiting as f64);
    assert_eq!(
        n("failguard_bulkhead_limit", &[BULKHEAD]),
        r.bulkhead.max_concurrent as f64
    );
    assert_eq!(n("failguard_retry_budget_available", &[]), r.budget as f64);

    // Counters: the snapshots' own counters, exactly.
    let breaker_rejected = n("failguard_rejections_total", &[BREAKER]);
    assert_eq!(breaker_rejected, r.breaker_rejected as f64);
    assert!(
        breaker_rejected > 0.0,
        "the breaker rejected calls in the outage"
    );
    let bulkhead_rejected = n("failguard_rejections_total", &[BULKHEAD]);
    assert_eq!(bulkhead_rejected, r.bulkhead.rejected as f64);

    // ... and what the scenario saw: every request meets the bulkhead once.
    let admitted = n(
        "failguard_calls_total",
        &[BULKHEAD, ("failguard_outcome", "admitted")],
    );
    assert_eq!(admitted + bulkhead_rejected, report.started as f64);
    assert_eq!(
        n("failguard_retries_total", &[]),
        report.retries.len() as f64
    );
    assert_eq!(
        n("failguard_fallbacks_total", &[]),
        report.count(End::Fallback) as f64
    );
    for state in STATES {
        let labels = [BREAKER, ("failguard_state", state.as_str())];
        let seen = report.transitions.iter().filter(|t| t.to == state).count();
        assert_eq!(
            n("failguard_breaker_transitions_total", &labels),
            seen as f64,
            "transitions to {state}"
        );
    }
    // Every attempt that reached the client passed the breaker, which recorded its outcome
    // unless the breaker changed state while it ran (each change orphans at most the calls then
    // in flight, which the bulkhead bounds).
    let recorded = n("failguard_calls_total", &[BREAKER]);
    let orphans = (report.transitions.len() * MAX_CONCURRENT) as f64;
    assert!(recorded <= report.attempts as f64, "{recorded} recorded");
    assert!(
        recorded >= report.attempts as f64 - orphans,
        "{recorded} recorded of {} attempts",
        report.attempts
    );
}
