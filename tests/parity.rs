//! The same scenario through `.call()` and through the tower layer gives the same outcome, at
//! the same virtual time.

use std::{io, time::Duration};

use failguard::{Error, Fallback, Timeout};
use tokio::time::{Instant, sleep};
use tower::{Service, ServiceBuilder, ServiceExt};

#[derive(Clone, Copy, Debug)]
enum Behaviour {
    Fast,
    AtDeadline,
    Slow,
    Fails,
}

const ALL: [Behaviour; 4] = [
    Behaviour::Fast,
    Behaviour::AtDeadline,
    Behaviour::Slow,
    Behaviour::Fails,
];

async fn backend(b: Behaviour) -> Result<&'static str, io::Error> {
    match b {
        Behaviour::Fast => Ok("fast"),
        Behaviour::AtDeadline => {
            sleep(Duration::from_millis(100)).await;
            Ok("at deadline")
        }
        Behaviour::Slow => {
            sleep(Duration::from_secs(1)).await;
            Ok("slow")
        }
        Behaviour::Fails => Err(io::Error::other("boom")),
    }
}

/// A comparable summary of an outcome: the value or the kind of error, and the time it took.
fn summary(result: Result<&'static str, Error<io::Error>>, took: Duration) -> String {
    let outcome = match result {
        Ok(v) => format!("ok {v}"),
        Err(Error::Inner(e)) => format!("inner {e}"),
        Err(Error::Timeout(t)) => format!("timeout {:?} {}", t.after(), t.name()),
        Err(other) => format!("other {other}"),
    };
    format!("{outcome} after {took:?}")
}

/// Runs every behaviour through `policy.call` and through `policy.layer()`, and returns both
/// lists of summaries.
macro_rules! both_doors {
    ($policy:expr) => {{
        let policy = $policy;
        let mut via_call = Vec::new();
        let mut via_tower = Vec::new();
        let mut svc = ServiceBuilder::new()
            .layer(policy.layer())
            .map_err(Error::Inner)
            .service_fn(backend);
        for b in ALL {
            let start = Instant::now();
            let r = policy.call(|| backend(b)).await;
            via_call.push(summary(r, start.elapsed()));
            let start = Instant::now();
            let r = svc.ready().await.unwrap().call(b).await;
            via_tower.push(summary(r, start.elapsed()));
        }
        (via_call, via_tower)
    }};
}

#[tokio::test(start_paused = true)]
async fn timeout_parity() {
    let (call, tower) = both_doors!(Timeout::new(Duration::from_millis(100)).unwrap());
    assert_eq!(call, tower);
    assert_eq!(
        call,
        [
            "ok fast after 0ns",
            "ok at deadline after 100ms",
            "timeout 100ms timeout after 100ms",
            "inner boom after 0ns",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn fallback_parity() {
    let (call, tower) = both_doors!(Fallback::value("fallback"));
    assert_eq!(call, tower);
    assert_eq!(
        call,
        [
            "ok fast after 0ns",
            "ok at deadline after 100ms",
            "ok slow after 1s",
            "ok fallback after 0ns"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn composed_parity() {
    let (call, tower) = both_doors!(
        Fallback::from_fn(|e: Error<io::Error>| if e.is_rejection() {
            "rejected"
        } else {
            "failed"
        })
        .wrap(Timeout::new(Duration::from_millis(50)).unwrap())
    );
    assert_eq!(call, tower);
    assert_eq!(
        call,
        [
            "ok fast after 0ns",
            "ok rejected after 50ms",
            "ok rejected after 50ms",
            "ok failed after 0ns"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn retry_parity() {
    let retry = failguard::Retry::builder()
        .max_attempts(3)
        .backoff(failguard::retry::Backoff::constant(Duration::from_millis(
            100,
        )))
        .build()
        .unwrap();
    let (call, tower) = both_doors!(retry.wrap(Timeout::new(Duration::from_millis(150)).unwrap()));
    assert_eq!(call, tower);
    assert_eq!(
        call,
        [
            "ok fast after 0ns",
            "ok at deadline after 100ms",
            // Three attempts of 150 ms, two waits of 100 ms; the last outcome is returned.
            "timeout 150ms timeout after 650ms",
            "inner boom after 200ms"
        ]
    );
}

/// A `'static` future that is `Send`, as `tokio::spawn` and hyper need.
fn spawnable<F: std::future::Future + Send + 'static>(f: F) -> F {
    f
}

/// `layer_ref()` borrows the policy instead of counting a reference per call: the same state,
/// the same outcomes, and with a `&'static` policy the futures are `'static` and `Send`.
#[tokio::test(start_paused = true)]
async fn borrowed_layers_share_the_policy_and_behave_as_the_shared_ones() {
    use failguard::{Bulkhead, CircuitBreaker, Retry};
    use std::sync::atomic::{AtomicU32, Ordering};

    let breaker: &'static CircuitBreaker = Box::leak(Box::new(
        CircuitBreaker::builder()
            .count_window(2)
            .minimum_calls(2)
            .open_duration(Duration::from_secs(10))
            .build()
            .unwrap(),
    ));
    let mut by_ref =
        ServiceBuilder::new()
            .layer(breaker.layer_ref())
            .service_fn(|fail: bool| async move {
                if fail {
                    Err(Error::Inner(io::Error::other("down")))
                } else {
                    Ok("up")
                }
            });
    let mut shared = ServiceBuilder::new()
        .layer(breaker.layer())
        .service_fn(|_: bool| async { Ok::<_, Error<io::Error>>("up") });
    let first = by_ref.ready().await.unwrap().call(true);
    assert!(spawnable(first).await.is_err());
    assert!(by_ref.ready().await.unwrap().call(true).await.is_err());
    // Both doors see the one breaker, now open.
    let open = shared.ready().await.unwrap().call(false).await.unwrap_err();
    assert!(matches!(open, Error::CircuitOpen(_)));
    assert_eq!(breaker.snapshot().calls, 2);

    let bulkhead: &'static Bulkhead = Box::leak(Box::new(Bulkhead::new(1).unwrap()));
    let mut held = ServiceBuilder::new()
        .layer(bulkhead.layer_ref())
        .service_fn(|()| async {
            sleep(Duration::from_secs(1)).await;
            Ok::<_, Error<io::Error>>(())
        });
    let running = tokio::spawn(spawnable(held.ready().await.unwrap().call(())));
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.snapshot().in_flight, 1);
    let full = held.ready().await.unwrap().call(()).await.unwrap_err();
    assert!(matches!(full, Error::BulkheadFull(_)));
    running.await.unwrap().unwrap();
    assert_eq!(bulkhead.snapshot().in_flight, 0);

    let retry: &'static Retry = Box::leak(Box::new(Retry::new(3).unwrap()));
    let calls: &'static AtomicU32 = Box::leak(Box::new(AtomicU32::new(0)));
    let mut flaky =
        ServiceBuilder::new()
            .layer(retry.layer_ref())
            .service_fn(move |()| async move {
                match calls.fetch_add(1, Ordering::Relaxed) {
                    0 | 1 => Err(Error::Inner(io::Error::other("flaky"))),
                    _ => Ok("third time"),
                }
            });
    let call = spawnable(flaky.ready().await.unwrap().call(()));
    assert_eq!(call.await.unwrap(), "third time");
    assert_eq!(calls.load(Ordering::Relaxed), 3);
}

#[tokio::test(start_paused = true)]
async fn hedge_parity() {
    let hedge = failguard::Hedge::builder()
        .delay(Duration::from_millis(30))
        .max_hedged_attempts(2)
        .build()
        .unwrap();
    let (call, tower) = both_doors!(hedge.clone());
    assert_eq!(call, tower);
    assert_eq!(
        call,
        [
            "ok fast after 0ns",
            // Hedges at 30 and 60 ms take 100 ms too: the first attempt wins.
            "ok at deadline after 100ms",
            "ok slow after 1s",
            // Each failure sends the next attempt at once; the last failure is returned.
            "inner boom after 0ns"
        ]
    );
    // Both doors sent the same hedges: two per slow behaviour, two for the failures.
    assert_eq!(hedge.snapshot().hedges, 2 * (2 + 2 + 2));
}

#[tokio::test(start_paused = true)]
async fn chaos_parity() {
    let chaos = failguard::chaos::Chaos::builder()
        .injection_rate(1.0)
        .latency(Duration::from_millis(20))
        .build()
        .unwrap();
    let (call, tower) = both_doors!(
        Timeout::new(Duration::from_millis(110))
            .unwrap()
            .wrap(chaos.clone())
    );
    assert_eq!(call, tower);
    assert_eq!(
        call,
        [
            "ok fast after 20ms",
            "timeout 110ms timeout after 110ms",
            "timeout 110ms timeout after 110ms",
            "inner boom after 20ms"
        ]
    );
    assert_eq!(chaos.snapshot().injected, 8);
}
