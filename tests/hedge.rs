//! Hedging on the paused clock: the exact send times, the winner and the dropped losers, the
//! budget, cancellation, classification, the dynamic delay, and the tower door.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU32, Ordering},
};
use std::time::Duration;

use failguard::{
    Error, FailureIf, Policy,
    events::{Event, EventKind},
    hedge::{Hedge, HedgeEvent, HedgeReason},
    retry::RetryBudget,
};
use tokio::time::{Instant, advance, sleep};
use tower::{Service, ServiceBuilder, ServiceExt};

const MS: Duration = Duration::from_millis(1);

/// What happened to each attempt: when it was sent, and when it was dropped unfinished.
#[derive(Clone, Default)]
struct Log {
    sent: Arc<Mutex<Vec<Duration>>>,
    dropped: Arc<Mutex<Vec<(u32, Duration)>>>,
}

/// Records its attempt's drop unless the attempt finished.
struct Guard {
    log: Log,
    attempt: u32,
    start: Instant,
    finished: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.finished {
            let at = self.start.elapsed();
            self.log.dropped.lock().unwrap().push((self.attempt, at));
        }
    }
}

impl Log {
    /// An operation whose attempt `n` (from 1) takes `latencies[n - 1]` and answers
    /// `results[n - 1]`.
    fn op(
        &self,
        start: Instant,
        script: Vec<(Duration, Result<u32, &'static str>)>,
    ) -> impl FnMut() -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<u32, &'static str>> + Send>,
    > + Send
    + use<> {
        let log = self.clone();
        let mut n = 0;
        move || {
            let (latency, result) = script[n];
            n += 1;
            log.sent.lock().unwrap().push(start.elapsed());
            let guard = Guard {
                log: log.clone(),
                attempt: n as u32,
                start,
                finished: false,
            };
            Box::pin(async move {
                // The whole guard moves in (not just the field set below), so its drop is
                // the attempt's.
                let mut guard = guard;
                if !latency.is_zero() {
                    sleep(latency).await;
                }
                guard.finished = true;
                result
            })
        }
    }

    fn sent(&self) -> Vec<Duration> {
        self.sent.lock().unwrap().clone()
    }

    fn dropped(&self) -> Vec<(u32, Duration)> {
        let mut d = self.dropped.lock().unwrap().clone();
        d.sort();
        d
    }
}

fn hedge(delay: Duration, max: u32) -> Hedge {
    Hedge::builder()
        .delay(delay)
        .max_hedged_attempts(max)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn hedges_go_out_at_each_delay_and_the_first_answer_wins() {
    let log = Log::default();
    let start = Instant::now();
    let h = hedge(50 * MS, 3);
    let op = log.op(
        start,
        vec![
            (1000 * MS, Ok(1)),
            (1000 * MS, Ok(2)),
            (30 * MS, Ok(3)),
            (1000 * MS, Ok(4)),
        ],
    );
    assert_eq!(h.call(op).await.unwrap(), 3);
    // Sent at 0, 50 and 100 ms; the third answers at 130, before the fourth is due (150).
    assert_eq!(log.sent(), [Duration::ZERO, 50 * MS, 100 * MS]);
    assert_eq!(start.elapsed(), 130 * MS);
    // Both losers were dropped the moment the winner answered.
    assert_eq!(log.dropped(), [(1, 130 * MS), (2, 130 * MS)]);
    let s = h.snapshot();
    assert_eq!((s.hedges, s.hedge_wins), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_fast_first_attempt_sends_no_hedge() {
    let log = Log::default();
    let start = Instant::now();
    let h = hedge(50 * MS, 2);
    let op = log.op(start, vec![(49 * MS, Ok(1))]);
    assert_eq!(h.call(op).await.unwrap(), 1);
    assert_eq!(log.sent(), [Duration::ZERO]);
    assert_eq!(h.snapshot().hedges, 0);
}

#[tokio::test(start_paused = true)]
async fn a_failure_sends_the_next_attempt_at_once_and_the_delay_runs_from_it() {
    let log = Log::default();
    let start = Instant::now();
    let h = hedge(50 * MS, 2);
    let op = log.op(
        start,
        vec![(10 * MS, Err("reset")), (1000 * MS, Ok(2)), (5 * MS, Ok(3))],
    );
    assert_eq!(h.call(op).await.unwrap(), 3);
    // The failure at 10 ms sends the second at once; the third goes 50 ms after the second.
    assert_eq!(log.sent(), [Duration::ZERO, 10 * MS, 60 * MS]);
    assert_eq!(start.elapsed(), 65 * MS);
    assert_eq!(log.dropped(), [(2, 65 * MS)]);
}

#[tokio::test(start_paused = true)]
async fn a_first_attempt_failing_on_its_first_poll_is_hedged_at_once() {
    let log = Log::default();
    let start = Instant::now();
    let h = hedge(50 * MS, 2);
    let op = log.op(
        start,
        vec![
            (Duration::ZERO, Err("refused")),
            (1000 * MS, Ok(2)),
            (5 * MS, Ok(3)),
        ],
    );
    assert_eq!(h.call(op).await.unwrap(), 3);
    // The second goes at once; the third 50 ms after it, and wins 5 ms later.
    assert_eq!(log.sent(), [Duration::ZERO, Duration::ZERO, 50 * MS]);
    assert_eq!(start.elapsed(), 55 * MS);
    assert_eq!(log.dropped(), [(2, 55 * MS)]);
}

#[tokio::test(start_paused = true)]
async fn without_hedge_on_failure_a_lone_failure_ends_the_call() {
    let log = Log::default();
    let start = Instant::now();
    let h = Hedge::builder()
        .delay(50 * MS)
        .hedge_on_failure(false)
        .build()
        .unwrap();
    let op = log.op(start, vec![(10 * MS, Err("reset")), (5 * MS, Ok(2))]);
    assert!(matches!(h.call(op).await, Err(Error::Inner("reset"))));
    assert_eq!(log.sent(), [Duration::ZERO]);
    assert_eq!(start.elapsed(), 10 * MS);
}

#[tokio::test(start_paused = true)]
async fn when_every_attempt_fails_the_last_failure_is_returned() {
    let log = Log::default();
    let start = Instant::now();
    let h = hedge(50 * MS, 1);
    let op = log.op(
        start,
        vec![(80 * MS, Err("first")), (40 * MS, Err("second"))],
    );
    // The first fails at 80 while the hedge (sent at 50) runs; it fails at 90: the last one.
    assert!(matches!(h.call(op).await, Err(Error::Inner("second"))));
    assert_eq!(start.elapsed(), 90 * MS);
}

#[tokio::test(start_paused = true)]
async fn an_error_the_predicate_does_not_call_a_failure_ends_the_call() {
    let log = Log::default();
    let start = Instant::now();
    let h = Hedge::builder()
        .delay(50 * MS)
        .max_hedged_attempts(2)
        .classify(FailureIf(|e: &Error<&str>| {
            matches!(e, Error::Inner("reset"))
        }))
        .build()
        .unwrap();
    let op = log.op(
        start,
        vec![
            (1000 * MS, Ok(1)),
            (10 * MS, Err("not found")),
            (1 * MS, Ok(3)),
        ],
    );
    assert!(matches!(h.call(op).await, Err(Error::Inner("not found"))));
    assert_eq!(log.sent(), [Duration::ZERO, 50 * MS]);
    assert_eq!(log.dropped(), [(1, 60 * MS)]);
}

#[tokio::test(start_paused = true)]
async fn an_empty_budget_stops_hedging() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let budget = RetryBudget::builder()
        .min_per_sec(0)
        .percent(50.0)
        .build()
        .unwrap();
    let h = Hedge::builder()
        .delay(20 * MS)
        .max_hedged_attempts(3)
        .budget(budget.clone())
        .listener({
            let events = events.clone();
            move |e: &Event<'_>| {
                if let EventKind::Hedge(event) = e.kind {
                    events.lock().unwrap().push(event);
                }
            }
        })
        .build()
        .unwrap();
    let attempts = AtomicU32::new(0);
    let slow = || {
        attempts.fetch_add(1, Ordering::Relaxed);
        async {
            sleep(100 * MS).await;
            Ok::<_, ()>(())
        }
    };
    // Four calls deposit 0.5 each: the budget holds one hedge after the second call, one more
    // after the fourth.
    for _ in 0..4 {
        h.call(slow).await.unwrap();
    }
    assert_eq!(attempts.load(Ordering::Relaxed), 4 + 2);
    let s = h.snapshot();
    assert_eq!((s.hedges, s.budget_exhausted), (2, 4));
    assert_eq!(budget.available(), 0);
    let events = events.lock().unwrap();
    assert_eq!(events[0], HedgeEvent::BudgetExhausted { attempts: 1 });
    assert_eq!(
        events[1],
        HedgeEvent::Hedged {
            attempt: 2,
            after: 20 * MS,
            reason: HedgeReason::Slow
        }
    );
    assert_eq!(events[2], HedgeEvent::BudgetExhausted { attempts: 2 });
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_drops_every_attempt() {
    let log = Log::default();
    let start = Instant::now();
    let h = hedge(50 * MS, 2);
    let op = log.op(start, vec![(1000 * MS, Ok(1)); 3]);
    let mut call = tokio_test::task::spawn(h.call(op));
    assert!(call.poll().is_pending());
    advance(50 * MS).await;
    assert!(call.poll().is_pending());
    advance(50 * MS).await;
    assert!(call.poll().is_pending());
    assert_eq!(log.sent(), [Duration::ZERO, 50 * MS, 100 * MS]);
    advance(20 * MS).await;
    drop(call);
    assert_eq!(log.dropped(), [(1, 120 * MS), (2, 120 * MS), (3, 120 * MS)]);
}

#[tokio::test(start_paused = true)]
async fn a_rejection_inside_the_hedge_stops_hedging() {
    let breaker = failguard::CircuitBreaker::builder().build().unwrap();
    breaker.force_open();
    let h = hedge(10 * MS, 3);
    let calls = AtomicU32::new(0);
    let policy = h.clone().wrap(breaker);
    let result = policy
        .call(|| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Ok::<_, ()>(()) }
        })
        .await;
    assert!(matches!(result, Err(Error::CircuitOpen(_))));
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    assert_eq!(h.snapshot().hedges, 0);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_attempt_is_only_slow_and_hedging_goes_on() {
    let log = Log::default();
    let start = Instant::now();
    let h = hedge(50 * MS, 1);
    let policy = h.wrap(failguard::Timeout::new(30 * MS).unwrap());
    let op = log.op(start, vec![(1000 * MS, Ok(1)), (5 * MS, Ok(2))]);
    // The first attempt times out at 30 ms: a failure, so the hedge goes at once.
    assert_eq!(policy.call(op).await.unwrap(), 2);
    assert_eq!(log.sent(), [Duration::ZERO, 30 * MS]);
}

#[tokio::test(start_paused = true)]
async fn the_dynamic_delay_follows_the_percentile_of_recent_latencies() {
    let h = Hedge::builder()
        .percentile_delay(95.0)
        .delay_floor(2 * MS)
        .delay_cap(500 * MS)
        .build()
        .unwrap();
    assert_eq!(h.snapshot().delay, 500 * MS);
    for i in 0..100u64 {
        let latency = Duration::from_millis(8 + i % 5); // 8..=12 ms, 20 each
        h.call(|| async move {
            sleep(latency).await;
            Ok::<_, ()>(())
        })
        .await
        .unwrap();
    }
    let s = h.snapshot();
    assert_eq!(s.samples, 100);
    // p95 of 8..=12 ms: within the 12 ms bucket (12 ms .. 12.29 ms).
    assert!(
        (12 * MS..=12_300 * Duration::from_micros(1)).contains(&s.delay),
        "{:?}",
        s.delay
    );

    // A slow call now hedges at about that delay (the cached value is at most 100 ms old).
    advance(100 * MS).await;
    let log = Log::default();
    let start = Instant::now();
    let op = log.op(start, vec![(1000 * MS, Ok(1)), (10 * MS, Ok(2))]);
    assert_eq!(h.call(op).await.unwrap(), 2);
    let sent = log.sent();
    assert!((12 * MS..=13 * MS).contains(&sent[1]), "{sent:?}");
    // The loser was censored: counted as at least its 22 ms, not dropped.
    assert_eq!(h.snapshot().samples, 102);
}

#[tokio::test(start_paused = true)]
async fn the_tower_door_replays_the_request_to_a_clone_of_the_service() {
    let h = hedge(10 * MS, 1);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut svc = ServiceBuilder::new()
        .layer(h.layer())
        .map_err(Error::Inner)
        .service_fn({
            let seen = seen.clone();
            move |q: String| {
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(q.clone());
                    seen.len()
                };
                async move {
                    sleep(if n == 1 { 1000 * MS } else { 5 * MS }).await;
                    Ok::<_, std::io::Error>(format!("{q} #{n}"))
                }
            }
        });
    let start = Instant::now();
    let answer = svc.ready().await.unwrap().call("q".into()).await.unwrap();
    assert_eq!(answer, "q #2");
    assert_eq!(start.elapsed(), 15 * MS);
    assert_eq!(*seen.lock().unwrap(), ["q", "q"]);

    // A request that cannot be replayed is sent once.
    struct Upload;
    let h = hedge(10 * MS, 1);
    let mut svc = ServiceBuilder::new()
        .layer(h.layer().replay(|_: &Upload| None))
        .map_err(Error::Inner)
        .service_fn(|_: Upload| async {
            sleep(100 * MS).await;
            Ok::<_, std::io::Error>("stored")
        });
    assert_eq!(
        svc.ready().await.unwrap().call(Upload).await.unwrap(),
        "stored"
    );
    assert_eq!(h.snapshot().hedges, 0);
}

/// `Hedge` is a `Policy`: held behind `impl Policy`, its call future is `Send`.
#[tokio::test(start_paused = true)]
async fn a_hedge_is_a_send_policy() {
    fn policy() -> impl Policy<u8, std::io::Error> {
        hedge(5 * MS, 1).wrap(failguard::Timeout::new(Duration::from_secs(1)).unwrap())
    }
    let p = Arc::new(policy());
    let task = tokio::spawn({
        let p = p.clone();
        async move { p.call(|| async { Ok(7) }).await }
    });
    assert_eq!(task.await.unwrap().unwrap(), 7);
}
