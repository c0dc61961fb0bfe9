//! The adaptive throttle through its public API, on the paused clock.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use failguard::{BoxError, Error, Timeout, error::Throttled, throttle::AdaptiveThrottle};
use tokio::time::Instant;
use tower::{ServiceBuilder, ServiceExt};

const MS: Duration = Duration::from_millis(1);

/// A backend that accepts at most `per_second` requests each second and rejects the rest.
struct Backend {
    per_second: u64,
    start: Instant,
    received: AtomicU64,
    accepted: AtomicU64,
    /// (second, accepted in it), packed as `second << 32 | count`.
    this_second: AtomicU64,
}

impl Backend {
    fn new(per_second: u64) -> Arc<Self> {
        Arc::new(Self {
            per_second,
            start: Instant::now(),
            received: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            this_second: AtomicU64::new(0),
        })
    }

    async fn serve(&self) -> Result<(), io::Error> {
        self.received.fetch_add(1, Relaxed);
        let second = self.start.elapsed().as_secs();
        let word = self.this_second.load(Relaxed);
        let count = if word >> 32 == second {
            word & 0xffff_ffff
        } else {
            0
        };
        if count >= self.per_second {
            return Err(io::Error::other("overloaded"));
        }
        self.this_second.store(second << 32 | (count + 1), Relaxed);
        self.accepted.fetch_add(1, Relaxed);
        Ok(())
    }
}

/// The SRE book's claim: with K = 2, a backend that can accept 10 requests a second, offered
/// 100, receives about 20 (K times what it accepts).
#[tokio::test(start_paused = true)]
async fn a_failing_backend_receives_about_k_times_what_it_accepts() {
    let throttle = AdaptiveThrottle::builder().seed(17).build().unwrap();
    let backend = Backend::new(10);
    let mut tick = tokio::time::interval(10 * MS);
    let mut mark = (0, 0);
    for i in 0..4 * 60 * 100 {
        tick.tick().await;
        if i == 3 * 60 * 100 {
            mark = (
                backend.received.load(Relaxed),
                backend.accepted.load(Relaxed),
            );
        }
        let backend = backend.clone();
        let _ = throttle.call(|| async move { backend.serve().await }).await;
    }
    let received = (backend.received.load(Relaxed) - mark.0) as f64 / 60.0;
    let accepted = (backend.accepted.load(Relaxed) - mark.1) as f64 / 60.0;
    println!("last minute: received {received:.1}/s, accepted {accepted:.1}/s of 100/s offered");
    assert!((9.5..=10.0).contains(&accepted), "accepted {accepted}/s");
    let ratio = received / accepted;
    assert!(
        (1.8..=2.2).contains(&ratio),
        "received {ratio:.2} times the accepts"
    );
    let snapshot = throttle.snapshot();
    assert!(snapshot.probability > 0.7, "{snapshot:?}");
}

#[tokio::test(start_paused = true)]
async fn without_failures_nothing_is_throttled() {
    let throttle = AdaptiveThrottle::builder().build().unwrap();
    for _ in 0..100 {
        throttle
            .call(|| async { Ok::<_, io::Error>(()) })
            .await
            .unwrap();
    }
    let s = throttle.snapshot();
    assert_eq!(
        (s.requests, s.accepts, s.throttled, s.probability),
        (100, 100, 0, 0.0)
    );
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_throttles_the_same_requests() {
    async fn decisions(seed: u64) -> Vec<bool> {
        let throttle = AdaptiveThrottle::builder().seed(seed).build().unwrap();
        let mut throttled = Vec::new();
        for i in 0..200 {
            let result = throttle
                .call(|| async move {
                    if i % 5 == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::other("no"))
                    }
                })
                .await;
            throttled.push(matches!(result, Err(Error::Throttled(_))));
        }
        throttled
    }
    let a = decisions(3).await;
    assert_eq!(a, decisions(3).await);
    assert!(a.iter().any(|t| *t) && a.iter().any(|t| !*t));
}

#[tokio::test(start_paused = true)]
async fn the_window_slides_and_a_recovered_backend_is_not_throttled() {
    let throttle = AdaptiveThrottle::builder()
        .window(Duration::from_secs(10), 10)
        .seed(1)
        .build()
        .unwrap();
    for _ in 0..50 {
        let _ = throttle
            .call(|| async { Err::<(), _>(io::Error::other("down")) })
            .await;
    }
    assert!(throttle.snapshot().probability > 0.9);
    tokio::time::advance(Duration::from_secs(10)).await;
    let s = throttle.snapshot();
    assert_eq!((s.requests, s.probability), (0, 0.0));
}

#[tokio::test(start_paused = true)]
async fn a_deadline_counts_as_not_accepted_and_a_cancellation_nowhere() {
    let throttle = AdaptiveThrottle::builder().build().unwrap();
    let slow = || async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok::<_, io::Error>(())
    };
    // First, while nothing is recorded (no local rejection can happen): another crate's
    // timeout is an ordinary cancellation.
    assert!(
        tokio::time::timeout(10 * MS, throttle.call(slow))
            .await
            .is_err()
    );
    assert_eq!(throttle.snapshot().requests, 0);
    let policy = Timeout::new(10 * MS).unwrap().wrap(throttle.clone());
    assert!(matches!(policy.call(slow).await, Err(Error::Timeout(_))));
    let s = throttle.snapshot();
    assert_eq!((s.requests, s.accepts), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn the_tower_door_boxes_its_rejection() {
    let throttle = AdaptiveThrottle::builder().seed(5).build().unwrap();
    let svc = ServiceBuilder::new()
        .layer(throttle.layer())
        .map_err(BoxError::from)
        .service_fn(|_: ()| async { Err::<(), _>(io::Error::other("down")) });
    let mut throttled = 0;
    for _ in 0..50 {
        let err = svc.clone().oneshot(()).await.unwrap_err();
        if let Some(t) = err.downcast_ref::<Throttled>() {
            assert_eq!(t.accepts(), 0);
            throttled += 1;
        }
    }
    assert_eq!(throttle.snapshot().throttled, throttled);
    assert!(throttled > 25, "throttled {throttled} of 50");
}

#[test]
fn bad_configuration_is_an_error() {
    let b = AdaptiveThrottle::builder;
    assert_eq!(b().k(0.9).build().unwrap_err().field(), "throttle.k");
    assert_eq!(b().k(f64::NAN).build().unwrap_err().field(), "throttle.k");
    let field = |w: Duration, n: usize| b().window(w, n).build().unwrap_err().field().to_string();
    assert_eq!(field(Duration::ZERO, 1), "throttle.window");
    assert_eq!(field(Duration::from_secs(1), 0), "throttle.window");
    assert_eq!(field(Duration::from_millis(10), 20), "throttle.window");
}
