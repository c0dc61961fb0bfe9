//! failguard in an outage, with real parts: a real HTTP client (reqwest) behind the composed
//! policy of `examples/http_client.rs` (fallback → bulkhead → retry with budget → circuit
//! breaker → per-attempt timeout), at least 10,000 requests from 32 paced callers against a real,
//! scripted, faulty HTTP server on 127.0.0.1 (`examples/support/`): healthy with a blip of 503s,
//! then 500s, connection resets, 503s with `Retry-After`, and healthy again.
//!
//! Real time on loopback: the run takes about 3 s (at most 4.5 s of load). Every bound below has
//! a margin for a loaded 2-core machine; none depends on exact timings.

#[path = "../examples/support/faulty_server.rs"]
mod faulty_server;
#[path = "../examples/support/outage.rs"]
mod outage;
#[path = "../examples/support/timeline.rs"]
mod timeline;

use std::time::Duration;

use failguard::breaker::State;
use outage::{
    BREAKER_WINDOW, BUDGET_MIN_PER_SEC, BUDGET_PERCENT, BUDGET_TTL, END, HALF_OPEN_CALLS, Load,
    MAX_CONCURRENT, OPEN_DURATION, OUTAGE, RECOVERY, Report, Transition,
};
use timeline::End;

const MS: Duration = Duration::from_millis(1);
/// Slack for a loaded machine (scheduling, the breaker's bucket granularity).
const SLACK: Duration = Duration::from_millis(150);
/// The server's clock starts a little before the load's: allow for it in lower bounds.
const EARLY: Duration = Duration::from_millis(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_and_its_recovery_through_the_whole_stack() {
    let load = Load::default();
    let report = outage::run(load).await.expect("the run");
    let summary = summary(&report);

    no_request_is_lost(&report, load, &summary);
    the_breaker_opens_within_its_window(&report, &summary);
    no_request_reaches_the_server_while_open_except_probes(&report, &summary);
    the_breaker_rejects_fast_while_open(&report, &summary);
    the_breaker_closes_after_recovery(&report, &summary);
    retries_honour_retry_after(&report, &summary);
    the_budget_caps_retries(&report, &summary);
}

/// What the assertions print when they fail.
fn summary(report: &Report) -> String {
    let transitions: Vec<String> = report
        .transitions
        .iter()
        .map(|t| {
            format!(
                "{:?} {}->{} (server {})",
                t.at, t.from, t.to, t.server_requests
            )
        })
        .collect();
    format!(
        "\n{}\nrequests {}, retries {}, attempts {}, server {:?}\ntransitions {transitions:#?}",
        report.timeline(Duration::from_millis(100)).table(),
        report.records.len(),
        report.retries.len(),
        report.attempts,
        report.server,
    )
}

fn no_request_is_lost(report: &Report, load: Load, summary: &str) {
    let n = report.records.len() as u64;
    assert!(n >= load.min_requests, "{n} requests{summary}");
    assert_eq!(
        report.started, n,
        "every request started ends once{summary}"
    );
    assert!(report.elapsed < load.hard_stop + SLACK, "{summary}");

    let success = report.count(End::Success);
    let fallback = report.count(End::Fallback);
    let open = report.count(End::Rejected("circuit-open"));
    let full = report.count(End::Rejected("bulkhead-full"));
    assert_eq!(
        report.count(End::Failed),
        0,
        "every failure is answered by the fallback or is a typed rejection{summary}"
    );
    assert_eq!(
        success + fallback + open + full,
        n,
        "no other kind of ending{summary}"
    );
    // Each kind of ending agrees with an independent count.
    assert_eq!(
        report.breaker.rejected, open,
        "every breaker rejection ends its request as circuit-open (the retry does not retry it)"
    );
    assert_eq!(report.bulkhead.rejected, full, "bulkhead rejections");
    assert!(
        success <= report.server.ok,
        "every success is a 200 the server sent: {success} > {}",
        report.server.ok
    );
    assert!(
        report.server.requests <= report.attempts,
        "the server saw no request the client did not send"
    );
    // Something happened in every part of the outage.
    assert!(success > 0 && fallback > 0 && open > 0, "{summary}");
    assert!(
        report.server.failed > 0 && report.server.reset > 0 && report.server.overloaded > 0,
        "{:?}",
        report.server
    );
    // No calls in flight are left behind.
    assert_eq!(report.bulkhead.in_flight, 0);
    assert_eq!(report.bulkhead.waiting, 0);
}

fn first_open(report: &Report) -> &Transition {
    report
        .transitions
        .iter()
        .find(|t| t.to == State::Open)
        .expect("the breaker opened")
}

fn the_breaker_opens_within_its_window(report: &Report, summary: &str) {
    let first = first_open(report);
    assert_eq!(first.from, State::Closed);
    // A window full of failures trips it; the blip of 503s before the outage did not.
    assert!(
        first.at + EARLY >= OUTAGE,
        "opened at {:?}, before the outage{summary}",
        first.at
    );
    assert!(
        first.at <= OUTAGE + BREAKER_WINDOW + SLACK,
        "opened at {:?}, more than a window ({BREAKER_WINDOW:?}) after the outage at {OUTAGE:?}{summary}",
        first.at
    );
}

fn no_request_reaches_the_server_while_open_except_probes(report: &Report, summary: &str) {
    let t = &report.transitions;
    let mut opens = 0;
    for (i, change) in t.iter().enumerate() {
        let Some(next) = t.get(i + 1) else {
            continue;
        };
        let reached = next.server_requests - change.server_requests;
        let bound = match (change.from, change.to) {
            // Open from closed: only attempts admitted before it opened can still arrive: those in
            // flight (the bulkhead holds at most MAX_CONCURRENT) and, on a loaded machine, a few
            // abandoned by the per-attempt timeout whose request the server had not read yet.
            (State::Closed, State::Open) => 2 * MAX_CONCURRENT as u64,
            // Open again after probes: every probe reported before it reopened; a probe that timed
            // out on the client may still arrive late.
            (State::HalfOpen, State::Open) => u64::from(HALF_OPEN_CALLS),
            // Half-open: the probes only.
            (_, State::HalfOpen) => u64::from(HALF_OPEN_CALLS),
            _ => continue,
        };
        if change.to == State::Open {
            opens += 1;
            assert!(
                next.at >= change.at + OPEN_DURATION - MS,
                "open for {:?}, less than the open duration",
                next.at - change.at
            );
        }
        assert!(
            reached <= bound,
            "{reached} requests reached the server from {:?} ({}) to {:?} ({}), more than {bound}{summary}",
            change.at,
            change.to,
            next.at,
            next.to
        );
    }
    // Open through most of a 1.4 s outage with a 200 ms open duration: several rounds of probes.
    assert!(opens >= 3, "opened {opens} times{summary}");
}

fn the_breaker_rejects_fast_while_open(report: &Report, summary: &str) {
    let mut rejected: Vec<Duration> = report
        .records
        .iter()
        .filter(|r| r.end == End::Rejected("circuit-open"))
        .map(|r| r.took)
        .collect();
    assert!(
        rejected.len() >= 1_000,
        "{} rejections while open{summary}",
        rejected.len()
    );
    rejected.sort_unstable();
    let p99 = rejected[rejected.len() * 99 / 100];
    // A rejection never waits for the server: far below the 100 ms per-attempt timeout.
    assert!(p99 < 10 * MS, "p99 of rejections {p99:?}");
}

fn the_breaker_closes_after_recovery(report: &Report, summary: &str) {
    let first = first_open(report).at;
    let closes: Vec<&Transition> = report
        .transitions
        .iter()
        .filter(|t| t.at > first && t.to == State::Closed)
        .collect();
    assert_eq!(closes.len(), 1, "closed once, after the recovery{summary}");
    let close = closes[0];
    assert_eq!(close.from, State::HalfOpen);
    assert!(
        close.at + EARLY >= RECOVERY,
        "closed at {:?} before the server recovered{summary}",
        close.at
    );
    assert!(
        close.at <= RECOVERY + OPEN_DURATION + 2 * SLACK,
        "closed at {:?}, long after the recovery at {RECOVERY:?}{summary}",
        close.at
    );
    assert_eq!(report.breaker.state, State::Closed);
    // Once closed, requests succeed again.
    let after: Vec<_> = report
        .records
        .iter()
        .filter(|r| r.start >= close.at + 50 * MS)
        .collect();
    let ok = after.iter().filter(|r| r.end == End::Success).count();
    assert!(
        after.len() >= 100 && ok * 100 >= after.len() * 95,
        "{ok} of {} requests after closing succeeded{summary}",
        after.len()
    );
    assert!(report.elapsed + EARLY >= END);
}

fn retries_honour_retry_after(report: &Report, summary: &str) {
    // The blip of 503s before the outage gives retries that reach the server; during the outage's
    // 503 phase the breaker rejects most of them.
    assert!(
        !report.hint_waits.is_empty(),
        "no retry followed a 503 with Retry-After{summary}"
    );
    for w in &report.hint_waits {
        assert!(
            w.waited >= w.hint,
            "retried {:?} after a 503 asking for {:?}",
            w.waited,
            w.hint
        );
    }
}

fn the_budget_caps_retries(report: &Report, summary: &str) {
    let percent = BUDGET_PERCENT / 100.0;
    let reserve = f64::from(BUDGET_MIN_PER_SEC) * BUDGET_TTL.as_secs_f64();

    // Within the budget's first window nothing has expired yet, so at every retry the retries so
    // far are at most `percent` of the requests so far plus the reserve. This covers the outage's
    // start, where (before the breaker opens) every request fails and would otherwise be retried
    // twice.
    let mut starts: Vec<Duration> = report.records.iter().map(|r| r.start).collect();
    starts.sort_unstable();
    let mut retries = report.retries.clone();
    retries.sort_unstable();
    let early: Vec<Duration> = retries.into_iter().filter(|r| *r < BUDGET_TTL).collect();
    for (i, at) in early.iter().enumerate() {
        let requests = starts.partition_point(|s| s <= at) as f64;
        assert!(
            (i + 1) as f64 <= percent * requests + reserve,
            "{} retries by {at:?} with {requests} requests{summary}",
            i + 1
        );
    }
    let during_outage = early.iter().filter(|r| **r >= OUTAGE).count();
    assert!(
        during_outage > 0,
        "the failing server was retried, within the budget{summary}"
    );

    // Overall: the server saw at most requests × (1 + percent) + the reserve of every window.
    let windows = (report.elapsed.as_secs_f64() / BUDGET_TTL.as_secs_f64()).ceil() + 1.0;
    let requests = (report.records.len() as u64 - report.bulkhead.rejected) as f64;
    let cap = requests * (1.0 + percent) + reserve * windows;
    assert!(
        report.server.requests as f64 <= cap,
        "{} attempts reached the server, more than {cap}{summary}",
        report.server.requests
    );
    assert!(
        report.retries.len() as f64 <= requests * percent + reserve * windows,
        "{} retries{summary}",
        report.retries.len()
    );
}
