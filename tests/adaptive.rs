//! The adaptive limit's behaviour through its public API, on the paused clock.

use std::{
    io,
    sync::{Arc, Mutex},
    time::Duration,
};

use failguard::{
    BoxError, Error, Outcome, Timeout,
    adaptive::{
        AdaptiveEvent, AdaptiveLimit, Aimd, LimitAlgorithm, Sample, SampleWindow, WaitOrder,
    },
    error::ConcurrencyLimited,
    events::{Event, EventKind, Listener},
};
use tower::{Service, ServiceBuilder, ServiceExt};

const MS: Duration = Duration::from_millis(1);

/// An algorithm that records what it is told and answers a fixed limit.
#[derive(Clone)]
struct Spy {
    limit: usize,
    seen: Arc<Mutex<Vec<Sample>>>,
}

impl LimitAlgorithm for Spy {
    fn initial_limit(&self) -> usize {
        self.limit
    }
    fn on_sample(&mut self, sample: Sample) -> usize {
        self.seen.lock().unwrap().push(sample);
        self.limit
    }
}

fn spy(limit: usize) -> (Spy, Arc<Mutex<Vec<Sample>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    (
        Spy {
            limit,
            seen: seen.clone(),
        },
        seen,
    )
}

fn limited(limit: usize) -> AdaptiveLimit {
    let (spy, _) = spy(limit);
    AdaptiveLimit::builder().algorithm(spy).build().unwrap()
}

async fn sleep_ok(d: Duration) -> Result<(), io::Error> {
    tokio::time::sleep(d).await;
    Ok(())
}

fn rejection(result: Result<(), Error<io::Error>>) -> ConcurrencyLimited {
    match result {
        Err(Error::ConcurrencyLimited(limited)) => limited,
        other => panic!("expected ConcurrencyLimited, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn rejects_at_once_with_the_limit_and_the_calls_in_flight() {
    let limit = limited(2);
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let limit = limit.clone();
            tokio::spawn(async move { limit.call(|| sleep_ok(100 * MS)).await })
        })
        .collect();
    tokio::task::yield_now().await;
    let turned_away = rejection(limit.call(|| sleep_ok(MS)).await);
    assert_eq!((turned_away.limit(), turned_away.in_flight()), (2, 2));
    assert!(!turned_away.waited());
    assert_eq!(limit.snapshot().rejected, 1);
    for call in busy {
        call.await.unwrap().unwrap();
    }
    assert_eq!(limit.snapshot().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_first_in_first_out() {
    served_in_order(WaitOrder::Fifo, [1, 2]).await;
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_last_in_first_out() {
    served_in_order(WaitOrder::Lifo, [2, 1]).await;
}

async fn served_in_order(order: WaitOrder, expected: [u32; 2]) {
    let (spy, _) = spy(1);
    let limit = AdaptiveLimit::builder()
        .algorithm(spy)
        .max_waiting(2)
        .max_wait(Duration::from_secs(1))
        .wait_order(order)
        .build()
        .unwrap();
    let served = Arc::new(Mutex::new(Vec::new()));
    let first = tokio::spawn({
        let limit = limit.clone();
        async move { limit.call(|| sleep_ok(10 * MS)).await }
    });
    tokio::task::yield_now().await;
    let mut waiters = Vec::new();
    for id in 1..=2u32 {
        let (limit, served) = (limit.clone(), served.clone());
        waiters.push(tokio::spawn(async move {
            limit
                .call(|| async move {
                    served.lock().unwrap().push(id);
                    Ok::<_, io::Error>(())
                })
                .await
        }));
        tokio::task::yield_now().await;
    }
    assert_eq!(limit.snapshot().waiting, 2);
    first.await.unwrap().unwrap();
    for waiter in waiters {
        waiter.await.unwrap().unwrap();
    }
    assert_eq!(*served.lock().unwrap(), expected);
}

#[tokio::test(start_paused = true)]
async fn a_wait_that_runs_out_is_rejected_as_waited() {
    let (spy, _) = spy(1);
    let limit = AdaptiveLimit::builder()
        .algorithm(spy)
        .max_waiting(1)
        .max_wait(20 * MS)
        .build()
        .unwrap();
    let busy = tokio::spawn({
        let limit = limit.clone();
        async move { limit.call(|| sleep_ok(Duration::from_secs(1))).await }
    });
    tokio::task::yield_now().await;
    let start = tokio::time::Instant::now();
    let turned_away = rejection(limit.call(|| sleep_ok(MS)).await);
    assert!(turned_away.waited());
    assert_eq!(start.elapsed(), 20 * MS);
    assert_eq!(limit.snapshot().waiting, 0);
    busy.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_call_cut_off_by_a_failguard_timeout_is_a_drop() {
    let (spy, seen) = spy(4);
    let limit = AdaptiveLimit::builder()
        .algorithm(spy)
        .sample_window(SampleWindow::Calls(1))
        .build()
        .unwrap();
    let policy = Timeout::new(50 * MS).unwrap().wrap(limit.clone());
    let result = policy.call(|| sleep_ok(Duration::from_secs(1))).await;
    assert!(matches!(result, Err(Error::Timeout(_))));
    // A drop, with its round trip up to the deadline.
    let s = limit.snapshot();
    assert_eq!((s.dropped, s.in_flight), (1, 0));
    let sample = seen.lock().unwrap()[0];
    assert_eq!((sample.drops, sample.rtt), (1, 50 * MS));
}

#[tokio::test(start_paused = true)]
async fn a_call_its_caller_cancels_counts_nowhere() {
    let (spy, seen) = spy(4);
    let limit = AdaptiveLimit::builder()
        .algorithm(spy)
        .sample_window(SampleWindow::Calls(1))
        .build()
        .unwrap();
    let call = limit.call(|| sleep_ok(Duration::from_secs(1)));
    // Another crate's timeout: an ordinary cancellation.
    assert!(tokio::time::timeout(50 * MS, call).await.is_err());
    let s = limit.snapshot();
    assert_eq!((s.dropped, s.in_flight), (0, 0));
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_shared_predicate_decides_what_is_a_drop() {
    let (spy, seen) = spy(4);
    let limit = AdaptiveLimit::builder()
        .algorithm(spy)
        .sample_window(SampleWindow::Calls(1))
        .classify(|r: &Result<u16, Error<u16>>| match r {
            Ok(503) | Err(_) => Outcome::Failure,
            Ok(499) => Outcome::Ignored,
            Ok(_) => Outcome::Success,
        })
        .build()
        .unwrap();
    for status in [200, 503, 499, 404] {
        let _ = limit.call(|| async move { Ok::<u16, u16>(status) }).await;
    }
    let drops: Vec<_> = seen.lock().unwrap().iter().map(|s| s.drops).collect();
    assert_eq!(drops, [0, 1, 0]); // 499 is ignored: no sample
    assert_eq!(limit.snapshot().dropped, 1);
}

#[tokio::test(start_paused = true)]
async fn a_window_is_a_round_trip_of_calls_by_default() {
    let (spy, seen) = spy(3);
    let limit = AdaptiveLimit::builder().algorithm(spy).build().unwrap();
    for ms in [10, 20, 30, 40] {
        limit.call(|| sleep_ok(ms * MS)).await.unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].calls, seen[0].rtt, seen[0].min_rtt),
        (3, 20 * MS, 10 * MS)
    );
    assert_eq!((seen[0].in_flight, seen[0].limit), (1, 3));
}

#[derive(Default)]
struct Changes(Mutex<Vec<(usize, usize)>>, Mutex<u32>);

impl Listener for Changes {
    fn on_event(&self, event: &Event<'_>) {
        match event.kind {
            EventKind::Adaptive(AdaptiveEvent::LimitChanged { from, to, .. }) => {
                self.0.lock().unwrap().push((from, to))
            }
            EventKind::Adaptive(AdaptiveEvent::Rejected { .. }) => *self.1.lock().unwrap() += 1,
            _ => {}
        }
    }
}

struct Shared(Arc<Changes>);

impl Listener for Shared {
    fn on_event(&self, event: &Event<'_>) {
        self.0.on_event(event)
    }
}

#[tokio::test(start_paused = true)]
async fn drops_move_the_limit_and_say_so() {
    let changes = Arc::new(Changes::default());
    let limit = AdaptiveLimit::builder()
        .algorithm(Aimd::new().initial_limit(10))
        .sample_window(SampleWindow::Calls(1))
        .listener(Shared(changes.clone()))
        .build()
        .unwrap();
    let failing = || async { Err::<(), _>(io::Error::other("overloaded")) };
    assert!(limit.call(failing).await.is_err());
    assert_eq!(limit.snapshot().limit, 9);
    assert_eq!(*changes.0.lock().unwrap(), [(10, 9)]);
    // A limit not in use never grows, however well calls go.
    for _ in 0..5 {
        limit.call(|| sleep_ok(MS)).await.unwrap();
    }
    assert_eq!(limit.snapshot().limit, 9);
}

#[tokio::test(start_paused = true)]
async fn the_tower_door_shares_the_limit_and_boxes_its_rejection() {
    let limit = limited(1);
    let mut svc = ServiceBuilder::new()
        .layer(limit.layer())
        .map_err(BoxError::from)
        .service_fn(|d: Duration| sleep_ok(d));
    let busy = tokio::spawn({
        let limit = limit.clone();
        async move { limit.call(|| sleep_ok(100 * MS)).await }
    });
    tokio::task::yield_now().await;
    let err = svc.ready().await.unwrap().call(MS).await.unwrap_err();
    let turned_away = err
        .downcast_ref::<ConcurrencyLimited>()
        .expect("a ConcurrencyLimited");
    assert_eq!(turned_away.in_flight(), 1);
    busy.await.unwrap().unwrap();
    svc.ready().await.unwrap().call(MS).await.unwrap();
    assert_eq!(limit.snapshot().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn a_tower_timeout_around_the_layer_is_a_drop_too() {
    let (spy, _) = spy(2);
    let limit = AdaptiveLimit::builder()
        .algorithm(spy)
        .sample_window(SampleWindow::Calls(1))
        .build()
        .unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(Timeout::new(10 * MS).unwrap().layer())
        .layer(limit.layer())
        .map_err(Error::Inner)
        .service_fn(|d: Duration| sleep_ok(d));
    let result = svc
        .ready()
        .await
        .unwrap()
        .call(Duration::from_secs(1))
        .await;
    assert!(matches!(result, Err(Error::Timeout(_))));
    assert_eq!(limit.snapshot().dropped, 1);
}

#[test]
fn bad_configuration_is_an_error() {
    let field =
        |b: failguard::adaptive::AdaptiveLimitBuilder| b.build().unwrap_err().field().to_string();
    assert_eq!(
        field(AdaptiveLimit::builder().min_limit(0)),
        "adaptive.min_limit"
    );
    assert_eq!(
        field(AdaptiveLimit::builder().max_limit(10)),
        "adaptive.initial_limit"
    );
    assert_eq!(
        field(AdaptiveLimit::builder().min_limit(5).max_limit(4)),
        "adaptive.max_limit"
    );
    assert_eq!(
        field(AdaptiveLimit::builder().max_waiting(3)),
        "adaptive.max_wait"
    );
    assert_eq!(
        field(AdaptiveLimit::builder().sample_window(SampleWindow::Calls(0))),
        "adaptive.sample_window"
    );
}

fn in_flight(limit: &AdaptiveLimit) -> Vec<usize> {
    limit
        .snapshot()
        .partitions
        .iter()
        .map(|p| p.in_flight)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_partition_borrows_what_the_others_leave_and_gives_it_back() {
    let (spy, _) = spy(10);
    let limit = AdaptiveLimit::builder()
        .algorithm(spy)
        .partition("live", 0.7)
        .partition("batch", 0.3)
        .build()
        .unwrap();
    let (live, batch) = (
        limit.partition("live").unwrap(),
        limit.partition("batch").unwrap(),
    );
    let spawn = |p: &AdaptiveLimit, d: Duration| {
        let p = p.clone();
        tokio::spawn(async move { p.call(|| sleep_ok(d)).await })
    };
    // Live is idle: batch borrows the whole limit, not just its 3.
    let borrowed: Vec<_> = (0..10).map(|_| spawn(&batch, 100 * MS)).collect();
    tokio::task::yield_now().await;
    assert_eq!(in_flight(&limit), [0, 0, 10]);
    assert!(rejection(batch.call(|| sleep_ok(MS)).await).in_flight() == 10);
    // Live arrives: admitted up to its part of 7 although the limit is taken.
    let live_calls: Vec<_> = (0..8).map(|_| spawn(&live, 200 * MS)).collect();
    tokio::task::yield_now().await;
    assert_eq!(in_flight(&limit), [0, 7, 10]);
    for call in borrowed {
        call.await.unwrap().unwrap();
    }
    // One live call beyond its part of 7 was turned away.
    let mut results = Vec::new();
    for call in live_calls {
        results.push(call.await.unwrap().is_ok());
    }
    assert_eq!(results.iter().filter(|ok| **ok).count(), 7);
    // Live is done: batch may borrow beyond its part again.
    let back: Vec<_> = (0..4).map(|_| spawn(&batch, 100 * MS)).collect();
    tokio::task::yield_now().await;
    assert_eq!(in_flight(&limit), [0, 0, 4]);
    for call in back {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn the_tower_door_picks_each_requests_partition() {
    let (spy, _) = spy(10);
    let limit = AdaptiveLimit::builder()
        .algorithm(spy)
        .partition("live", 0.5)
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(limit.layer().partition_by(
            |d: &Duration| {
                if *d > 50 * MS { "live" } else { "other" }
            },
        ))
        .map_err(Error::Inner)
        .service_fn(|d: Duration| sleep_ok(d));
    let slow = tokio::spawn(svc.clone().oneshot(100 * MS));
    let fast = tokio::spawn(svc.oneshot(20 * MS));
    tokio::task::yield_now().await;
    // "other" is not a partition: the default one.
    assert_eq!(in_flight(&limit), [1, 1]);
    slow.await.unwrap().unwrap();
    fast.await.unwrap().unwrap();
}

#[test]
fn partitions_are_checked() {
    let field = |b: failguard::adaptive::AdaptiveLimitBuilder| b.build().unwrap_err().to_string();
    assert_eq!(
        field(
            AdaptiveLimit::builder()
                .partition("a", 0.7)
                .partition("b", 0.5)
        ),
        "invalid adaptive.partition: the shares add up to more than 1 (by 0.200)"
    );
    assert_eq!(
        field(AdaptiveLimit::builder().partition("default", 0.5)),
        "invalid adaptive.partition: `default` is named twice"
    );
    assert!(
        AdaptiveLimit::builder()
            .partition("a", 0.0)
            .build()
            .is_err()
    );
}

/// Calls finishing on several threads at once: every call lands in exactly one window (the
/// windows are gathered with atomics, and closed by whoever completes one).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn windows_gathered_from_many_threads_lose_no_call() {
    let (spy, seen) = spy(1000);
    let limit = AdaptiveLimit::builder()
        .algorithm(spy)
        .sample_window(SampleWindow::Calls(10))
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let limit = limit.clone();
            tokio::spawn(async move {
                for _ in 0..1000 {
                    limit
                        .call(|| async { Ok::<_, io::Error>(()) })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let windows = seen.lock().unwrap();
    let gathered: usize = windows.iter().map(|s| s.calls).sum();
    assert!(windows.iter().all(|s| s.calls >= 10));
    // What is not in a closed window is in the one being gathered: fewer than a window per
    // thread that found the learner busy.
    assert!(
        gathered <= 8000 && gathered > 8000 - 10 * 8,
        "gathered {gathered}"
    );
}
