//! Circuit breaker behaviour through the public API, on tokio's paused clock.

use std::{
    future::{Future, pending},
    io,
    sync::{Arc, Mutex},
    time::Duration,
};

use failguard::{
    BoxError, CircuitBreaker, ConfigError, Error, Outcome, Retry, Timeout,
    breaker::{CircuitBreakerBuilder, MAX_WINDOW, State},
    retry::Backoff,
};
use tokio::time::{Instant, advance, sleep};
use tokio_test::{assert_pending, assert_ready, task};
use tower::{Service, ServiceBuilder, ServiceExt};

type R = Result<u32, Error<io::Error>>;

fn builder() -> CircuitBreakerBuilder {
    CircuitBreaker::builder()
        .count_window(10)
        .minimum_calls(4)
        .failure_rate(0.5)
        .open_duration(Duration::from_secs(10))
        .half_open_calls(2)
        .name("svc")
}

async fn ok(b: &CircuitBreaker) -> R {
    b.call(|| async { Ok::<_, io::Error>(1) }).await
}

async fn fail(b: &CircuitBreaker) -> R {
    b.call(|| async { Err::<u32, _>(io::Error::other("boom")) })
        .await
}

fn is_open(r: &R) -> bool {
    matches!(r, Err(Error::CircuitOpen(_)))
}

#[tokio::test(start_paused = true)]
async fn trips_exactly_at_the_threshold_once_the_minimum_is_reached() {
    let b = builder().build().unwrap();
    // Three calls, all failures: below the minimum of four, so nothing is judged.
    for _ in 0..3 {
        assert!(fail(&b).await.is_err());
    }
    assert_eq!(b.state(), State::Closed);
    // The fourth: 3 failures / 4 calls = 0.75 >= 0.5.
    assert!(ok(&b).await.is_ok());
    assert_eq!(b.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn the_threshold_is_inclusive_and_just_below_it_stays_closed() {
    let b = builder().build().unwrap();
    // 1 failure / 4 calls = 0.25 < 0.5: closed. Then 2 / 5 = 0.4: closed. Then 3 / 6 = 0.5: open.
    for r in [false, true, true, true] {
        let _ = if r { ok(&b).await } else { fail(&b).await };
    }
    assert_eq!(b.state(), State::Closed);
    fail(&b).await.unwrap_err();
    assert_eq!(b.state(), State::Closed);
    fail(&b).await.unwrap_err();
    assert_eq!(b.state(), State::Open, "exactly at the threshold trips");
}

#[tokio::test(start_paused = true)]
async fn the_count_window_really_slides() {
    let b = builder()
        .count_window(4)
        .failure_rate(0.75)
        .build()
        .unwrap();
    // F F S S: 2/4 = 0.5 < 0.75.
    fail(&b).await.unwrap_err();
    fail(&b).await.unwrap_err();
    ok(&b).await.unwrap();
    ok(&b).await.unwrap();
    assert_eq!(b.snapshot().failure_rate, 0.5);
    // Two more successes push both failures out of the window of four.
    ok(&b).await.unwrap();
    ok(&b).await.unwrap();
    assert_eq!(b.snapshot().failure_rate, 0.0);
    assert_eq!(b.snapshot().calls, 4);
    // Three failures now trip (3/4 = 0.75): the window holds only the last four.
    for _ in 0..3 {
        fail(&b).await.unwrap_err();
    }
    assert_eq!(b.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn the_minimum_is_capped_by_the_count_window_size() {
    let b = builder()
        .count_window(2)
        .minimum_calls(100)
        .build()
        .unwrap();
    fail(&b).await.unwrap_err();
    fail(&b).await.unwrap_err();
    assert_eq!(b.state(), State::Open, "min(minimum_calls, N) = 2");
}

#[tokio::test(start_paused = true)]
async fn open_rejects_without_calling_and_moves_to_half_open_exactly_at_the_deadline() {
    let b = builder().build().unwrap();
    for _ in 0..4 {
        fail(&b).await.unwrap_err();
    }
    assert_eq!(b.state(), State::Open);

    let called = Arc::new(Mutex::new(0));
    let c = called.clone();
    let r = b
        .call(move || {
            *c.lock().unwrap() += 1;
            async { Ok::<_, io::Error>(1) }
        })
        .await;
    let Err(Error::CircuitOpen(open)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(open.retry_after(), Some(Duration::from_secs(10)));
    assert_eq!(open.name(), "svc");
    assert_eq!(
        *called.lock().unwrap(),
        0,
        "an open breaker does not make the call"
    );

    advance(Duration::from_secs(10) - Duration::from_nanos(1)).await;
    let r = ok(&b).await;
    assert!(is_open(&r));
    assert_eq!(r.unwrap_err().retry_after(), Some(Duration::from_nanos(1)));

    advance(Duration::from_nanos(1)).await;
    assert_eq!(
        ok(&b).await.unwrap(),
        1,
        "at exactly opened_at + open_duration a probe goes"
    );
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.snapshot().rejected, 2);
}

async fn open_then_half_open(b: &CircuitBreaker) {
    for _ in 0..4 {
        fail(b).await.unwrap_err();
    }
    assert_eq!(b.state(), State::Open);
    advance(Duration::from_secs(10)).await;
}

#[tokio::test(start_paused = true)]
async fn half_open_admits_at_most_half_open_calls_probes_and_closes_with_a_fresh_window() {
    let b = builder()
        .half_open_calls(2)
        .minimum_calls(4)
        .build()
        .unwrap();
    open_then_half_open(&b).await;

    let gate = Arc::new(tokio::sync::Notify::new());
    let probe = |gate: Arc<tokio::sync::Notify>| async move {
        gate.notified().await;
        Ok::<_, io::Error>(7)
    };
    let mut p1 = task::spawn(b.call(|| probe(gate.clone())));
    assert_pending!(p1.poll());
    assert_eq!(b.state(), State::HalfOpen);
    let mut p2 = task::spawn(b.call(|| probe(gate.clone())));
    assert_pending!(p2.poll());
    // A third concurrent call finds no probe permit; with no `max_half_open_wait`, it is told
    // the open duration.
    let r = ok(&b).await;
    let Err(Error::CircuitOpen(open)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(open.retry_after(), Some(Duration::from_secs(10)));

    gate.notify_waiters();
    assert_eq!(assert_ready!(p1.poll()).unwrap(), 7);
    assert_eq!(b.state(), State::HalfOpen, "one result of min(4, 2) = 2");
    assert_eq!(assert_ready!(p2.poll()).unwrap(), 7);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().calls, 0, "closed with an empty window");
}

#[tokio::test(start_paused = true)]
async fn failing_probes_open_the_breaker_again() {
    let b = builder().build().unwrap();
    open_then_half_open(&b).await;
    fail(&b).await.unwrap_err();
    fail(&b).await.unwrap_err();
    assert_eq!(b.state(), State::Open);
    assert!(is_open(&ok(&b).await));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_probe_gives_its_permit_back() {
    let b = builder().half_open_calls(1).build().unwrap();
    open_then_half_open(&b).await;
    let mut probe = task::spawn(b.call(pending::<Result<u32, io::Error>>));
    assert_pending!(probe.poll());
    assert!(is_open(&ok(&b).await), "the only probe permit is taken");
    drop(probe);
    assert_eq!(
        ok(&b).await.unwrap(),
        1,
        "the dropped probe's permit came back"
    );
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn max_half_open_wait_reopens_a_breaker_whose_probes_never_report() {
    let b = builder()
        .half_open_calls(1)
        .max_half_open_wait(Duration::from_secs(3))
        .build()
        .unwrap();
    open_then_half_open(&b).await;
    let mut stuck = task::spawn(b.call(pending::<Result<u32, io::Error>>));
    assert_pending!(stuck.poll());
    advance(Duration::from_secs(3) - Duration::from_nanos(1)).await;
    assert!(is_open(&ok(&b).await));
    assert_eq!(b.state(), State::HalfOpen);
    advance(Duration::from_nanos(1)).await;
    assert!(is_open(&ok(&b).await));
    assert_eq!(
        b.state(),
        State::Open,
        "reopened at exactly max_half_open_wait"
    );
    // The stuck probe's late result does not count in the new state.
    drop(stuck);
    assert_eq!(b.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn a_result_admitted_in_an_earlier_state_does_not_count() {
    let b = builder().build().unwrap();
    let gate = Arc::new(tokio::sync::Notify::new());
    let g = gate.clone();
    let mut late = task::spawn(b.call(move || async move {
        g.notified().await;
        Err::<u32, _>(io::Error::other("late"))
    }));
    assert_pending!(late.poll());
    // Meanwhile the breaker trips and is reset by hand: a new generation.
    for _ in 0..4 {
        fail(&b).await.unwrap_err();
    }
    b.reset();
    gate.notify_waiters();
    assert!(assert_ready!(late.poll()).is_err());
    assert_eq!(
        b.snapshot().calls,
        0,
        "the late failure did not land in the fresh window"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_calls_are_strictly_longer_than_the_duration_and_trip_on_their_rate() {
    let b = builder()
        .slow_call_duration(Duration::from_millis(100))
        .slow_call_rate(0.5)
        .build()
        .unwrap();
    let take = |ms: u64| {
        let b = b.clone();
        async move {
            b.call(|| async move {
                sleep(Duration::from_millis(ms)).await;
                Ok::<_, io::Error>(1)
            })
            .await
        }
    };
    // Exactly the duration is not slow.
    for _ in 0..4 {
        take(100).await.unwrap();
    }
    assert_eq!(b.snapshot().slow_call_rate, 0.0);
    assert_eq!(b.state(), State::Closed);
    // 101 ms is slow: after 4 of them the window of 8 holds 4/8 = 0.5 slow.
    for _ in 0..3 {
        take(101).await.unwrap();
    }
    assert_eq!(b.state(), State::Closed);
    take(101).await.unwrap();
    assert_eq!(
        b.state(),
        State::Open,
        "slow successes trip the slow-call rate"
    );
}

#[tokio::test(start_paused = true)]
async fn the_time_window_forgets_calls_older_than_the_window() {
    let b = builder()
        .time_window(Duration::from_secs(10), 10)
        .minimum_calls(3)
        .build()
        .unwrap();
    fail(&b).await.unwrap_err();
    fail(&b).await.unwrap_err();
    assert_eq!(b.snapshot().calls, 2);
    // Ten seconds later both failures have left the window.
    advance(Duration::from_secs(10)).await;
    assert_eq!(b.snapshot().calls, 0);
    fail(&b).await.unwrap_err();
    assert_eq!(b.state(), State::Closed, "only one failure in the window");
    fail(&b).await.unwrap_err();
    fail(&b).await.unwrap_err();
    assert_eq!(b.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn the_open_duration_grows_with_consecutive_openings_and_resets_on_close() {
    let b = builder()
        .open_backoff(2.0, Duration::from_secs(30))
        .build()
        .unwrap();
    let retry_after = |r: R| r.unwrap_err().retry_after();
    for _ in 0..4 {
        fail(&b).await.unwrap_err();
    }
    assert_eq!(retry_after(ok(&b).await), Some(Duration::from_secs(10)));
    advance(Duration::from_secs(10)).await;
    fail(&b).await.unwrap_err();
    fail(&b).await.unwrap_err();
    assert_eq!(retry_after(ok(&b).await), Some(Duration::from_secs(20)));
    advance(Duration::from_secs(20)).await;
    fail(&b).await.unwrap_err();
    fail(&b).await.unwrap_err();
    assert_eq!(
        retry_after(ok(&b).await),
        Some(Duration::from_secs(30)),
        "capped"
    );
    advance(Duration::from_secs(30)).await;
    ok(&b).await.unwrap();
    ok(&b).await.unwrap();
    assert_eq!(b.state(), State::Closed);
    for _ in 0..4 {
        fail(&b).await.unwrap_err();
    }
    assert_eq!(
        retry_after(ok(&b).await),
        Some(Duration::from_secs(10)),
        "reset on close"
    );
}

#[tokio::test(start_paused = true)]
async fn manual_control() {
    let b = builder().build().unwrap();
    b.force_open();
    let r = ok(&b).await;
    assert!(is_open(&r));
    assert_eq!(r.unwrap_err().retry_after(), None);
    advance(Duration::from_secs(3600)).await;
    assert!(is_open(&ok(&b).await), "forced open stays open");

    b.disable();
    for _ in 0..20 {
        fail(&b).await.unwrap_err();
    }
    assert_eq!(
        b.state(),
        State::Disabled,
        "disabled records nothing and never trips"
    );
    assert_eq!(b.snapshot().calls, 0);

    b.reset();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(ok(&b).await.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn state_changes_reach_callbacks_in_order() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let b = builder()
        .on_state_change(move |c| s.lock().unwrap().push((c.from, c.to, c.failure_rate)))
        .build()
        .unwrap();
    open_then_half_open(&b).await;
    ok(&b).await.unwrap();
    ok(&b).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (State::Closed, State::Open, Some(1.0)),
            (State::Open, State::HalfOpen, None),
            (State::HalfOpen, State::Closed, Some(0.0)),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_classifier_decides_what_counts() {
    let b = CircuitBreaker::builder()
        .count_window(4)
        .minimum_calls(2)
        .classify(|r: &Result<u16, Error<u16>>| match r {
            Ok(s) if *s >= 500 => Outcome::Failure,
            Err(Error::Inner(404)) => Outcome::Success,
            Err(Error::Inner(499)) => Outcome::Ignored,
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        })
        .build()
        .unwrap();
    b.call(|| async { Err::<u16, _>(404) }).await.unwrap_err();
    b.call(|| async { Err::<u16, _>(499) }).await.unwrap_err();
    assert_eq!(b.snapshot().calls, 1, "ignored counts nowhere");
    assert_eq!(b.snapshot().failure_rate, 0.0);
    b.call(|| async { Ok::<u16, u16>(503) }).await.unwrap();
    assert_eq!(b.state(), State::Open, "an Ok judged a failure trips (1/2)");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_below_the_breaker_counts_as_a_failure() {
    let b = builder().build().unwrap();
    let policy = b
        .clone()
        .wrap(Timeout::new(Duration::from_millis(50)).unwrap());
    for _ in 0..4 {
        let r = policy
            .call(|| async {
                sleep(Duration::from_secs(1)).await;
                Ok::<_, io::Error>(1)
            })
            .await;
        assert!(matches!(r, Err(Error::Timeout(_))));
    }
    assert_eq!(b.state(), State::Open);
    assert!(matches!(
        policy.call(|| async { Ok::<_, io::Error>(1) }).await,
        Err(Error::CircuitOpen(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn cancelled_calls_count_nowhere() {
    let b = builder().build().unwrap();
    for _ in 0..10 {
        let mut c = task::spawn(b.call(pending::<Result<u32, io::Error>>));
        assert_pending!(c.poll());
    }
    assert_eq!(b.snapshot().calls, 0);
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn the_layer_shares_one_breaker_with_the_handle_and_its_clones() {
    let b = builder().build().unwrap();
    let layer = b.layer();
    let svc = ServiceBuilder::new()
        .layer(layer.clone())
        .map_err(Error::Inner)
        .service_fn(|fail: bool| async move {
            if fail {
                Err(io::Error::other("x"))
            } else {
                Ok(1u32)
            }
        });
    let mut a = svc.clone();
    let mut c = ServiceBuilder::new()
        .layer(layer)
        .map_err(Error::Inner)
        .service_fn(|_: bool| async move { Ok::<_, io::Error>(2u32) });
    for _ in 0..2 {
        a.ready().await.unwrap().call(true).await.unwrap_err();
    }
    fail(&b).await.unwrap_err();
    fail(&b).await.unwrap_err();
    assert_eq!(
        b.state(),
        State::Open,
        "failures through every door land in one window"
    );
    let r = c.ready().await.unwrap().call(false).await;
    assert!(matches!(r, Err(Error::CircuitOpen(_))));
}

#[tokio::test(start_paused = true)]
async fn the_layer_reports_a_boxed_rejection_with_retry_after() {
    let b = builder().build().unwrap();
    b.force_open();
    let mut svc = ServiceBuilder::new()
        .layer(b.layer())
        .map_err(BoxError::from)
        .service_fn(|_: ()| async { Ok::<_, io::Error>(()) });
    let err = svc.ready().await.unwrap().call(()).await.unwrap_err();
    let open = err
        .downcast_ref::<failguard::error::CircuitOpen>()
        .expect("CircuitOpen");
    assert_eq!(open.name(), "svc");
    assert!(failguard::PolicyError::rejection(&err).is_some());
}

#[tokio::test(start_paused = true)]
async fn parity_between_the_combinator_and_the_layer() {
    async fn run<F, Fut>(mut call: F) -> Vec<String>
    where
        F: FnMut(bool) -> Fut,
        Fut: Future<Output = R>,
    {
        let mut out = Vec::new();
        for step in [true, true, false, true, false, false, false] {
            let r = call(step).await;
            out.push(match r {
                Ok(_) => "ok".to_string(),
                Err(Error::CircuitOpen(o)) => format!("open {:?}", o.retry_after()),
                Err(e) => format!("err {}", e.is_rejection()),
            });
            advance(Duration::from_secs(4)).await;
        }
        out
    }
    let leaf = |fail: bool| async move {
        if fail {
            Err(io::Error::other("x"))
        } else {
            Ok(1u32)
        }
    };
    let b = builder().minimum_calls(3).build().unwrap();
    let via_call = run(|fail| {
        let b = b.clone();
        async move { b.call(|| leaf(fail)).await }
    })
    .await;
    let b = builder().minimum_calls(3).build().unwrap();
    let svc = ServiceBuilder::new()
        .layer(b.layer())
        .map_err(Error::Inner)
        .service_fn(leaf);
    let via_tower = run(|fail| {
        let mut svc = svc.clone();
        async move { svc.ready().await?.call(fail).await }
    })
    .await;
    assert_eq!(via_call, via_tower);
    assert_eq!(
        via_call,
        [
            "err false",
            "err false",
            "ok",
            "open Some(6s)",
            "open Some(2s)",
            "ok",
            "ok"
        ]
    );
}

#[test]
fn configuration_rules() {
    let field = |b: CircuitBreakerBuilder| b.build().unwrap_err().field().to_owned();
    let b = || CircuitBreaker::builder();
    assert!(b().build().is_ok(), "the defaults are valid");
    for rate in [0.0, -0.1, 1.01, f64::NAN] {
        assert_eq!(field(b().failure_rate(rate)), "breaker.failure_rate");
        assert_eq!(field(b().slow_call_rate(rate)), "breaker.slow_call_rate");
    }
    assert!(b().failure_rate(1.0).build().is_ok());
    assert_eq!(
        field(b().slow_call_duration(Duration::ZERO)),
        "breaker.slow_call_duration"
    );
    assert_eq!(field(b().minimum_calls(0)), "breaker.minimum_calls");
    assert_eq!(
        field(b().minimum_calls(MAX_WINDOW as u32 + 1)),
        "breaker.minimum_calls"
    );
    assert_eq!(field(b().half_open_calls(0)), "breaker.half_open_calls");
    assert_eq!(field(b().count_window(0)), "breaker.count_window");
    assert_eq!(
        field(b().count_window(MAX_WINDOW + 1)),
        "breaker.count_window"
    );
    assert!(b().count_window(MAX_WINDOW).build().is_ok());
    assert_eq!(
        field(b().time_window(Duration::from_secs(1), 0)),
        "breaker.time_window"
    );
    assert_eq!(
        field(b().time_window(Duration::from_millis(5), 10)),
        "breaker.time_window"
    );
    assert_eq!(
        field(b().open_duration(Duration::ZERO)),
        "breaker.open_duration"
    );
    assert_eq!(
        field(b().open_backoff(0.5, Duration::from_secs(600))),
        "breaker.open_backoff"
    );
    assert_eq!(
        field(b().open_backoff(2.0, Duration::from_secs(1))),
        "breaker.max_open_duration"
    );
    assert_eq!(
        field(b().max_half_open_wait(Duration::ZERO)),
        "breaker.max_half_open_wait"
    );
    let err = b().failure_rate(1.5).build().unwrap_err();
    assert_eq!(
        err,
        ConfigError::new(
            "breaker.failure_rate",
            "must be greater than 0.0 and at most 1.0 (got 1.5)"
        )
    );
}

#[test]
fn futures_are_send_and_the_handle_is_clone_send_sync() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_handle<T: Clone + Send + Sync + 'static>() {}
    assert_handle::<CircuitBreaker>();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _g = rt.enter();
    let b = CircuitBreaker::builder().build().unwrap();
    let fut = b.call(|| async { Ok::<_, io::Error>(()) });
    assert_send(&fut);
    let _ = Instant::now();
}

#[tokio::test(start_paused = true)]
async fn resetting_a_closed_breaker_empties_its_window_without_announcing_a_change() {
    let changes = Arc::new(Mutex::new(Vec::new()));
    let seen = changes.clone();
    let b = builder()
        .on_state_change(move |c| seen.lock().unwrap().push((c.from, c.to)))
        .build()
        .unwrap();
    fail(&b).await.unwrap_err();
    assert_eq!(b.snapshot().calls, 1);
    b.reset();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().calls, 0, "the window starts afresh");
    assert!(
        changes.lock().unwrap().is_empty(),
        "closed to closed is no change"
    );
}

type Changes = Arc<Mutex<Vec<(State, State)>>>;

/// The default breaker, recording its state changes.
fn watched(b: CircuitBreakerBuilder) -> (CircuitBreaker, Changes) {
    let changes = Changes::default();
    let seen = changes.clone();
    let b = b
        .on_state_change(move |c| seen.lock().unwrap().push((c.from, c.to)))
        .build()
        .unwrap();
    (b, changes)
}

/// Issue 10: `state()` and `snapshot()` said `Open` until a call arrived.
#[tokio::test(start_paused = true)]
async fn state_and_snapshot_read_half_open_once_the_open_duration_has_passed_before_any_call() {
    let (b, changes) = watched(builder());
    for _ in 0..4 {
        fail(&b).await.unwrap_err();
    }
    advance(Duration::from_secs(10) - Duration::from_nanos(1)).await;
    assert_eq!(b.state(), State::Open);
    let s = b.snapshot();
    assert_eq!((s.state, s.calls), (State::Open, 4));
    assert_eq!(s.retry_after, Some(Duration::from_nanos(1)));

    advance(Duration::from_nanos(1)).await;
    assert_eq!(b.state(), State::HalfOpen, "a call now would go as a probe");
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.calls, s.retry_after),
        (State::HalfOpen, 0, None)
    );
    assert_eq!(s.failure_rate, 0.0, "no probe has reported");
    assert_eq!(
        *changes.lock().unwrap(),
        [(State::Closed, State::Open)],
        "reading moved nothing"
    );

    // The first call does what the reading said.
    ok(&b).await.unwrap();
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.snapshot().calls, 1);
    assert_eq!(
        *changes.lock().unwrap(),
        [(State::Closed, State::Open), (State::Open, State::HalfOpen)]
    );
}

/// Issue 10: a half-open breaker past `max_half_open_wait` still read `HalfOpen`.
#[tokio::test(start_paused = true)]
async fn state_and_snapshot_read_open_once_max_half_open_wait_has_passed_before_any_call() {
    let (b, changes) = watched(
        builder()
            .half_open_calls(1)
            .max_half_open_wait(Duration::from_secs(3))
            .open_backoff(2.0, Duration::from_secs(60)),
    );
    open_then_half_open(&b).await;
    let mut stuck = task::spawn(b.call(pending::<Result<u32, io::Error>>));
    assert_pending!(stuck.poll());
    advance(Duration::from_secs(3) - Duration::from_nanos(1)).await;
    assert_eq!(b.state(), State::HalfOpen);

    advance(Duration::from_nanos(1)).await;
    assert_eq!(b.state(), State::Open, "a call now would reopen it");
    let s = b.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(
        s.retry_after,
        Some(Duration::from_secs(20)),
        "the next opening's duration, grown by the backoff"
    );
    assert_eq!(
        changes.lock().unwrap().last(),
        Some(&(State::Open, State::HalfOpen)),
        "reading moved nothing"
    );

    // The first call does what the reading said.
    let r = ok(&b).await;
    assert_eq!(r.unwrap_err().retry_after(), Some(Duration::from_secs(20)));
    assert_eq!(
        changes.lock().unwrap().last(),
        Some(&(State::HalfOpen, State::Open))
    );
    drop(stuck);
}

/// Issue 10: a call turned away because every probe permit is taken carried no `retry_after`.
#[tokio::test(start_paused = true)]
async fn a_half_open_rejection_carries_the_time_left_of_max_half_open_wait() {
    let b = builder()
        .half_open_calls(1)
        .max_half_open_wait(Duration::from_secs(3))
        .build()
        .unwrap();
    open_then_half_open(&b).await;
    let mut probe = task::spawn(b.call(pending::<Result<u32, io::Error>>));
    assert_pending!(probe.poll());
    assert_eq!(b.snapshot().retry_after, Some(Duration::from_secs(3)));
    advance(Duration::from_secs(1)).await;
    let r = ok(&b).await;
    assert_eq!(r.unwrap_err().retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(b.snapshot().retry_after, Some(Duration::from_secs(2)));
    drop(probe);
    assert_eq!(
        b.snapshot().retry_after,
        None,
        "with the permit back, a call now would go"
    );
}

#[tokio::test(start_paused = true)]
async fn without_max_half_open_wait_a_half_open_rejection_carries_the_latest_open_duration() {
    let b = builder()
        .half_open_calls(1)
        .open_backoff(2.0, Duration::from_secs(60))
        .build()
        .unwrap();
    open_then_half_open(&b).await;
    // The probe fails: open again, for 20 s this time.
    fail(&b).await.unwrap_err();
    advance(Duration::from_secs(20)).await;
    let mut probe = task::spawn(b.call(pending::<Result<u32, io::Error>>));
    assert_pending!(probe.poll());
    advance(Duration::from_secs(7)).await;
    let r = ok(&b).await;
    assert_eq!(r.unwrap_err().retry_after(), Some(Duration::from_secs(20)));
}

/// What the hint is for: the default retry waits for a half-open breaker instead of giving up,
/// and by then the probe has closed it.
#[tokio::test(start_paused = true)]
async fn a_retry_waits_out_a_half_open_breaker_whose_probe_is_in_flight() {
    let b = builder()
        .half_open_calls(1)
        .max_half_open_wait(Duration::from_secs(2))
        .build()
        .unwrap();
    open_then_half_open(&b).await;
    let probe = tokio::spawn({
        let b = b.clone();
        async move {
            b.call(|| async {
                sleep(Duration::from_millis(500)).await;
                Ok::<_, io::Error>(1)
            })
            .await
        }
    });
    tokio::task::yield_now().await;
    assert_eq!(b.snapshot().retry_after, Some(Duration::from_secs(2)));

    let retry = Retry::builder()
        .max_attempts(2)
        .backoff(Backoff::constant(Duration::from_millis(100)).max_delay(Duration::from_secs(5)))
        .build()
        .unwrap();
    let policy = retry.wrap(b.clone());
    let start = Instant::now();
    assert_eq!(
        policy
            .call(|| async { Ok::<_, io::Error>(2) })
            .await
            .unwrap(),
        2
    );
    assert_eq!(start.elapsed(), Duration::from_secs(2), "waited the hint");
    assert_eq!(probe.await.unwrap().unwrap(), 1);
    assert_eq!(b.state(), State::Closed);
}
