//! Rate limiter behaviour through both front doors, on tokio's paused clock.

use std::{
    io,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use failguard::{
    BoxError, ConfigError, Error, RateLimiter, Retry,
    error::RateLimited,
    events::{Event, EventKind},
    rate_limit::{MAX_PERIOD, MAX_WAIT, RateLimitEvent},
    retry::Backoff,
};
use proptest::prelude::*;
use tokio::time::{Instant, advance};
use tokio_test::{assert_pending, assert_ready, task};
use tower::{Service, ServiceBuilder, ServiceExt};

const MS: Duration = Duration::from_millis(1);

async fn ok() -> Result<(), io::Error> {
    Ok(())
}

fn limited(result: Result<(), Error<io::Error>>) -> RateLimited {
    match result {
        Err(Error::RateLimited(limited)) => limited,
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A greedy caller that comes back exactly at each `retry_after` gets exactly
    /// `floor(t · count / period) + burst` calls through in the first `t`, for any rate and any
    /// `t`: on the paused clock, through the public API.
    #[test]
    fn exactly_rate_times_t_plus_burst_pass(
        count in 1u32..20,
        period_ms in 1u64..2_000,
        burst in 1u32..8,
        t_ms in 0u64..20_000,
    ) {
        runtime().block_on(async {
            let period = Duration::from_millis(period_ms);
            let limiter = RateLimiter::builder().rate(count, period).burst(burst).build().unwrap();
            let start = Instant::now();
            let end = start + Duration::from_millis(t_ms);
            let mut passed = 0u64;
            loop {
                match limiter.check() {
                    Ok(()) => passed += 1,
                    Err(limited) => {
                        let next = Instant::now() + limited.retry_after().unwrap();
                        if next > end {
                            break;
                        }
                        advance(next - Instant::now()).await;
                    }
                }
            }
            let t_ns = u128::from(t_ms) * 1_000_000;
            let expected = (t_ns * u128::from(count) / period.as_nanos()) as u64 + u64::from(burst);
            prop_assert_eq!(passed, expected);
            Ok(())
        })?;
    }

    /// Arbitrary callers at arbitrary moments: in every window between two admissions, no
    /// more than the rate's share of it plus the burst got through (the window counted to
    /// within the limiter's clock unit, under a nanosecond).
    #[test]
    fn no_window_holds_more_than_its_share_plus_the_burst(
        count in 1u32..20,
        period_ms in 1u64..2_000,
        burst in 1u32..5,
        gaps in proptest::collection::vec(0u64..300_000_000, 1..120),
    ) {
        runtime().block_on(async {
            let period = Duration::from_millis(period_ms);
            let limiter = RateLimiter::builder().rate(count, period).burst(burst).build().unwrap();
            let start = Instant::now();
            let mut admitted = Vec::new();
            for gap in gaps {
                advance(Duration::from_nanos(gap)).await;
                if limiter.check().is_ok() {
                    admitted.push((Instant::now() - start).as_nanos());
                }
            }
            for (i, a) in admitted.iter().enumerate() {
                for (j, b) in admitted.iter().enumerate().skip(i) {
                    let share = (b - a + 1) * u128::from(count) / period.as_nanos();
                    prop_assert!((j - i + 1) as u128 <= share + u128::from(burst));
                }
            }
            Ok(())
        })?;
    }
}

/// Many threads hammer one limiter at frozen instants of the paused clock: exactly the burst
/// gets through at first, then exactly the rate's share of each advance.
#[test]
fn under_concurrency_exactly_the_rate_passes() {
    let rt = runtime();
    let limiter = rt.block_on(async {
        RateLimiter::builder()
            .per_second(1000)
            .burst(50)
            .build()
            .unwrap()
    });
    let hammer = |limiter: &RateLimiter| {
        let passed = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..4 {
                let passed = passed.clone();
                let handle = rt.handle().clone();
                s.spawn(move || {
                    let _guard = handle.enter();
                    for _ in 0..500 {
                        if limiter.check().is_ok() {
                            passed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        passed.load(Ordering::Relaxed)
    };
    assert_eq!(hammer(&limiter), 50);
    for (ms, expected) in [(1, 1), (7, 7), (10, 10), (1000, 50)] {
        rt.block_on(advance(Duration::from_millis(ms)));
        assert_eq!(hammer(&limiter), expected, "after {ms} ms");
    }
}

#[tokio::test(start_paused = true)]
async fn rejects_at_once_with_the_exact_moment_a_permit_is_free() {
    let limiter = RateLimiter::builder()
        .rate(3, Duration::from_secs(1))
        .burst(2)
        .name("api")
        .build()
        .unwrap();
    limiter.call(ok).await.unwrap();
    limiter.call(ok).await.unwrap();
    let calls = AtomicUsize::new(0);
    let err = limiter
        .call(|| {
            calls.fetch_add(1, Ordering::Relaxed);
            ok()
        })
        .await;
    assert_eq!(
        calls.load(Ordering::Relaxed),
        0,
        "a rejected call is not made"
    );
    let limited = limited(err);
    // A third of a second, rounded up to the nanosecond.
    assert_eq!(
        limited.retry_after(),
        Some(Duration::from_nanos(333_333_334))
    );
    assert_eq!(limited.name(), "api");
    assert_eq!(limited.weight(), 1);
    advance(Duration::from_nanos(333_333_333)).await;
    assert!(limiter.check().is_err(), "a nanosecond early");
    advance(Duration::from_nanos(1)).await;
    assert!(limiter.check().is_ok(), "on the dot");
    assert_eq!(limiter.snapshot().rejected, 2);
}

#[tokio::test(start_paused = true)]
async fn admission_is_lazy() {
    let limiter = RateLimiter::builder().per_second(1).build().unwrap();
    let first = limiter.call(ok);
    let second = limiter.call(ok);
    assert_eq!(
        limiter.snapshot().available,
        1,
        "nothing taken before the first poll"
    );
    assert!(second.await.is_ok());
    assert!(matches!(first.await, Err(Error::RateLimited(_))));
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_order_at_their_moments() {
    let limiter = RateLimiter::builder()
        .per(Duration::from_secs(1))
        .max_wait(Duration::from_secs(3))
        .build()
        .unwrap();
    let start = Instant::now();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..4 {
        let (limiter, order) = (limiter.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            limiter
                .call(|| async {
                    order.lock().unwrap().push((i, start.elapsed()));
                    Ok::<_, io::Error>(())
                })
                .await
        }));
        tokio::task::yield_now().await;
    }
    // A fifth would wait 4 s, beyond max_wait: rejected at once, with the exact wait.
    let late = limited(limiter.call(ok).await);
    assert_eq!(late.retry_after(), Some(Duration::from_secs(4)));
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let secs = |s| Duration::from_secs(s);
    assert_eq!(
        *order.lock().unwrap(),
        [(0, secs(0)), (1, secs(1)), (2, secs(2)), (3, secs(3))]
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_gives_back_its_reservation_and_nothing_else() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let limiter = RateLimiter::builder()
        .per(Duration::from_secs(1))
        .max_wait(Duration::from_secs(5))
        .listener({
            let events = events.clone();
            move |e: &Event<'_>| {
                if let EventKind::RateLimit(e) = e.kind {
                    events.lock().unwrap().push(e);
                }
            }
        })
        .build()
        .unwrap();
    limiter.check().unwrap();
    let mut a = task::spawn(limiter.call(ok)); // reserves the moment 1 s
    let mut b = task::spawn(limiter.call(ok)); // reserves 2 s
    assert_pending!(a.poll());
    assert_pending!(b.poll());
    // The last in line gives its moment back: the next caller gets it, as if b never came.
    drop(b);
    let mut c = task::spawn(limiter.call(ok));
    assert_pending!(c.poll());
    // A waiter with others behind it cannot: its moment would be shared with c's. It goes
    // unused, and nobody is woken.
    drop(a);
    assert!(!c.is_woken(), "nobody is woken by a dropped waiter");
    assert_eq!(limiter.snapshot().available, 0);
    let d = limiter.check().unwrap_err();
    assert_eq!(
        d.retry_after(),
        Some(Duration::from_secs(3)),
        "nothing more was given back"
    );
    advance(Duration::from_secs(1)).await;
    assert!(!c.is_woken());
    assert_pending!(c.poll());
    advance(Duration::from_secs(1)).await;
    assert!(c.is_woken());
    assert_ready!(c.poll()).unwrap();
    let events = events.lock().unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, RateLimitEvent::WaitCancelled { .. }))
            .collect::<Vec<_>>(),
        [
            &RateLimitEvent::WaitCancelled {
                weight: 1,
                given_back: true
            },
            &RateLimitEvent::WaitCancelled {
                weight: 1,
                given_back: false
            },
        ]
    );
    assert!(events.contains(&RateLimitEvent::Waited {
        weight: 1,
        waited: Duration::from_secs(2)
    }));
}

#[tokio::test(start_paused = true)]
async fn weighted_calls_take_their_weight() {
    let limiter = RateLimiter::builder().per_second(10).build().unwrap();
    limiter.call_weighted(7, ok).await.unwrap();
    assert_eq!(limiter.snapshot().available, 3);
    let limited = limited(limiter.call_weighted(5, ok).await);
    assert_eq!(limited.retry_after(), Some(Duration::from_millis(200)));
    assert_eq!(limited.weight(), 5);
    let never = limited_never(limiter.check_n(11));
    assert_eq!(
        never.to_string(),
        "rate limiter is exhausted; a call of 11 permits exceeds its burst of 10"
    );
    advance(200 * MS).await;
    limiter.check_n(5).unwrap();
}

fn limited_never(result: Result<(), RateLimited>) -> RateLimited {
    let limited = result.unwrap_err();
    assert_eq!(limited.retry_after(), None);
    limited
}

#[tokio::test(start_paused = true)]
async fn the_layer_shares_one_rate_across_clones_and_never_parks_in_poll_ready() {
    let limiter = RateLimiter::builder()
        .per_second(1)
        .burst(2)
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(limiter.layer())
        .map_err(Error::Inner)
        .service_fn(|x: u32| async move { Ok::<_, io::Error>(x) });
    let mut a = svc.clone();
    let mut b = svc;
    // Readiness takes nothing.
    for _ in 0..5 {
        std::future::poll_fn(|cx| a.poll_ready(cx)).await.unwrap();
    }
    assert_eq!(limiter.snapshot().available, 2);
    assert_eq!(a.ready().await.unwrap().call(1).await.unwrap(), 1);
    assert_eq!(b.ready().await.unwrap().call(2).await.unwrap(), 2);
    // Both clones drew from one rate: the third call is rejected, though each clone made one.
    let err = b.ready().await.unwrap().call(3).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)));
    limiter.check().unwrap_err();
}

#[tokio::test(start_paused = true)]
async fn the_layer_reports_a_boxed_rejection() {
    let limiter = RateLimiter::builder().per_second(1).build().unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(limiter.layer())
        .map_err(BoxError::from)
        .service_fn(|x: u32| async move { Ok::<_, io::Error>(x) });
    svc.ready().await.unwrap().call(1).await.unwrap();
    let err = svc.ready().await.unwrap().call(2).await.unwrap_err();
    let limited = err.downcast_ref::<RateLimited>().expect("a RateLimited");
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(1)));
    assert!(failguard::PolicyError::rejection(&err).is_some());
}

/// The retry waits exactly the limiter's `retry_after` (a promise), no sooner, and gives up
/// when that is beyond its cap.
#[tokio::test(start_paused = true)]
async fn a_retry_waits_out_the_exact_retry_after() {
    let limiter = RateLimiter::builder()
        .per(Duration::from_secs(2))
        .build()
        .unwrap();
    let retry = Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(MS).max_delay(Duration::from_secs(10)))
        .build()
        .unwrap();
    let policy = retry.wrap(limiter.clone());
    let start = Instant::now();
    policy.call(ok).await.unwrap();
    policy.call(ok).await.unwrap();
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(2),
        "waited exactly retry_after"
    );

    let capped = Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(MS).max_delay(Duration::from_secs(1)))
        .build()
        .unwrap()
        .wrap(limiter);
    let start = Instant::now();
    let err = capped.call(ok).await;
    assert!(matches!(err, Err(Error::RateLimited(_))));
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "beyond the cap: gave up at once"
    );
}

#[tokio::test(start_paused = true)]
async fn parity_between_the_combinator_and_the_layer() {
    async fn run_combinator() -> Vec<bool> {
        let l = RateLimiter::builder()
            .per_second(2)
            .burst(1)
            .build()
            .unwrap();
        let mut out = Vec::new();
        for _ in 0..6 {
            out.push(l.call(ok).await.is_ok());
            advance(200 * MS).await;
        }
        out
    }
    async fn run_layer() -> Vec<bool> {
        let l = RateLimiter::builder()
            .per_second(2)
            .burst(1)
            .build()
            .unwrap();
        let mut svc = ServiceBuilder::new()
            .layer(l.layer())
            .map_err(Error::Inner)
            .service_fn(|()| ok());
        let mut out = Vec::new();
        for _ in 0..6 {
            out.push(svc.ready().await.unwrap().call(()).await.is_ok());
            advance(200 * MS).await;
        }
        out
    }
    let a = run_combinator().await;
    assert_eq!(a, [true, false, false, true, false, false]);
    assert_eq!(a, run_layer().await);
}

#[test]
fn configuration_rules() {
    let field = |r: Result<RateLimiter, ConfigError>| r.unwrap_err().field().to_owned();
    let b = RateLimiter::builder;
    assert_eq!(field(b().build()), "rate_limit.rate");
    assert_eq!(field(b().per_second(0).build()), "rate_limit.rate");
    assert_eq!(field(b().per(Duration::ZERO).build()), "rate_limit.rate");
    assert_eq!(
        field(b().per(MAX_PERIOD + Duration::from_nanos(1)).build()),
        "rate_limit.rate"
    );
    assert_eq!(
        field(b().rate(2, Duration::from_nanos(1)).build()),
        "rate_limit.rate"
    );
    assert_eq!(
        field(b().per_second(1).burst(0).build()),
        "rate_limit.burst"
    );
    assert_eq!(
        field(b().per(MAX_PERIOD).burst(u32::MAX).build()),
        "rate_limit.burst"
    );
    assert_eq!(
        field(b().per_second(1).max_wait(MAX_WAIT + MS).build()),
        "rate_limit.max_wait"
    );
    let rt = runtime();
    let _guard = rt.enter();
    assert!(b().per(MAX_PERIOD).max_wait(MAX_WAIT).build().is_ok());
    assert!(
        b().per_second(1_000_000_000)
            .burst(u32::MAX)
            .build()
            .is_ok()
    );
}

#[test]
fn futures_are_send_and_the_handle_is_clone_send_sync() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_handle<T: Clone + Send + Sync + 'static>() {}
    assert_handle::<RateLimiter>();
    let rt = runtime();
    let _guard = rt.enter();
    let limiter = RateLimiter::per_second(1).unwrap();
    assert_send(&limiter.call(ok));
}
