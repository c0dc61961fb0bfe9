//! Chaos: injection by rate and seed, the run-time switch, zero cost when off, both doors, and
//! the recommended stack driven through injected faults.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU32, AtomicUsize, Ordering},
};
use std::time::Duration;

use failguard::{
    BoxError, Bulkhead, CircuitBreaker, Error, Fallback, Retry, Timeout,
    breaker::State,
    chaos::{Chaos, ChaosEvent},
    events::{Event, EventKind},
    retry::{Backoff, Jitter, RetryBudget},
};
use rand::{RngCore, SeedableRng, rngs::StdRng};
use tokio::time::Instant;
use tower::{Service, ServiceBuilder, ServiceExt};

const MS: Duration = Duration::from_millis(1);

/// A generator that counts every draw made from it.
struct Counting(StdRng, Arc<AtomicUsize>);

impl RngCore for Counting {
    fn next_u32(&mut self) -> u32 {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.fill_bytes(dst)
    }
}

#[tokio::test(start_paused = true)]
async fn a_disabled_chaos_never_draws_never_waits_and_calls_through() {
    let draws = Arc::new(AtomicUsize::new(0));
    let chaos = Chaos::builder()
        .injection_rate(1.0)
        .latency(Duration::from_secs(1))
        .rng(Counting(StdRng::seed_from_u64(1), draws.clone()))
        .enabled(false)
        .build()
        .unwrap();
    let start = Instant::now();
    for i in 0..1000u32 {
        assert_eq!(
            chaos.call(|| async move { Ok::<_, ()>(i) }).await.unwrap(),
            i
        );
    }
    assert_eq!(Instant::now(), start, "the clock never moved");
    assert_eq!(draws.load(Ordering::Relaxed), 0, "no random draw");
    assert_eq!(chaos.snapshot().injected, 0);

    // Enabled, the same calls all draw and all wait.
    chaos.enable();
    chaos.call(|| async { Ok::<_, ()>(0) }).await.unwrap();
    assert!(draws.load(Ordering::Relaxed) > 0);
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn an_injected_error_or_result_never_calls_the_operation() {
    let calls = AtomicU32::new(0);
    let op = || {
        calls.fetch_add(1, Ordering::Relaxed);
        async { Ok::<_, &str>("real") }
    };
    let error = Chaos::builder()
        .injection_rate(1.0)
        .error("refused")
        .build()
        .unwrap();
    assert!(matches!(error.call(op).await, Err(Error::Inner("refused"))));
    let result = Chaos::builder()
        .injection_rate(1.0)
        .result("fake")
        .build()
        .unwrap();
    assert_eq!(result.call(op).await.unwrap(), "fake");
    assert_eq!(calls.load(Ordering::Relaxed), 0);

    let latency = Chaos::builder()
        .injection_rate(1.0)
        .latency(250 * MS)
        .build()
        .unwrap();
    let start = Instant::now();
    assert_eq!(latency.call(op).await.unwrap(), "real");
    assert_eq!(start.elapsed(), 250 * MS);
    assert_eq!(calls.load(Ordering::Relaxed), 1);

    let never = Chaos::builder()
        .injection_rate(0.0)
        .error("x")
        .build()
        .unwrap();
    assert_eq!(never.call(op).await.unwrap(), "real");
}

/// Which of 200 calls a policy built with `seed` injects.
async fn pattern(seed: u64) -> Vec<bool> {
    let chaos = Chaos::builder()
        .injection_rate(0.3)
        .error(())
        .seed(seed)
        .build()
        .unwrap();
    let mut out = Vec::new();
    for _ in 0..200 {
        out.push(chaos.call(|| async { Ok::<_, ()>(()) }).await.is_err());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_seed_pins_which_calls_are_injected_and_the_rate_holds() {
    let a = pattern(11).await;
    assert_eq!(a, pattern(11).await);
    assert_ne!(a, pattern(12).await);
    let injected = a.iter().filter(|&&x| x).count();
    assert!((40..=80).contains(&injected), "{injected} of 200 at 0.3");
}

#[tokio::test(start_paused = true)]
async fn a_random_latency_draws_from_the_seeded_generator() {
    use rand::Rng;
    let delays = || async {
        let chaos = Chaos::builder()
            .injection_rate(1.0)
            .latency_with(|rng| Duration::from_millis(rng.random_range(10..100)))
            .seed(3)
            .build()
            .unwrap();
        let mut out = Vec::new();
        for _ in 0..10 {
            let start = Instant::now();
            chaos.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
            out.push(start.elapsed());
        }
        out
    };
    let first = delays().await;
    assert_eq!(first, delays().await);
    assert!(first.iter().all(|d| (10 * MS..100 * MS).contains(d)));
    assert!(first.windows(2).any(|w| w[0] != w[1]));
}

#[tokio::test(start_paused = true)]
async fn the_switch_and_the_rate_are_shared_by_clones_and_layers_at_run_time() {
    let chaos = Chaos::builder()
        .injection_rate(1.0)
        .error_with(|| std::io::Error::other("injected"))
        .build()
        .unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(chaos.layer())
        .service_fn(|x: u32| async move { Ok::<_, BoxError>(x) });
    let err = svc.ready().await.unwrap().call(1).await.unwrap_err();
    assert_eq!(
        err.downcast_ref::<std::io::Error>().unwrap().to_string(),
        "injected"
    );

    let clone = chaos.clone();
    clone.disable();
    assert_eq!(svc.ready().await.unwrap().call(2).await.unwrap(), 2);
    clone.enable();
    clone.set_injection_rate(0.0).unwrap();
    assert_eq!(svc.ready().await.unwrap().call(3).await.unwrap(), 3);
    assert_eq!(chaos.snapshot().injected, 1);
}

#[tokio::test(start_paused = true)]
async fn every_injection_is_an_event() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let chaos = Chaos::builder()
        .injection_rate(1.0)
        .latency(5 * MS)
        .name("db-chaos")
        .listener({
            let seen = seen.clone();
            move |e: &Event<'_>| {
                if let EventKind::Chaos(event) = e.kind {
                    seen.lock()
                        .unwrap()
                        .push((e.name.to_string(), e.policy(), event));
                }
            }
        })
        .build()
        .unwrap();
    chaos.call(|| async { Ok::<_, ()>(()) }).await.unwrap();
    let want = (
        "db-chaos".to_string(),
        "chaos",
        ChaosEvent::InjectedLatency { delay: 5 * MS },
    );
    assert_eq!(*seen.lock().unwrap(), [want]);
}

/// The recommended stack (fallback → bulkhead → overall timeout → retry with budget → breaker →
/// per-attempt timeout → chaos → the call), driven through injected faults: slow calls, then an
/// outage, then recovery when the chaos is switched off.
#[tokio::test(start_paused = true)]
async fn the_recommended_stack_holds_under_injected_faults() {
    let budget = RetryBudget::builder()
        .ttl(Duration::from_secs(10))
        .min_per_sec(1)
        .percent(10.0)
        .build()
        .unwrap();
    let breaker = CircuitBreaker::builder()
        .count_window(10)
        .minimum_calls(10)
        .failure_rate(0.5)
        .open_duration(Duration::from_secs(5))
        .half_open_calls(2)
        .build()
        .unwrap();
    let slow = Chaos::builder()
        .injection_rate(1.0)
        .latency(Duration::from_secs(3))
        .enabled(false)
        .seed(5)
        .name("slow")
        .build()
        .unwrap();
    let down = Chaos::builder()
        .injection_rate(1.0)
        .error_with(|| std::io::Error::other("connection refused"))
        .enabled(false)
        .seed(6)
        .name("down")
        .build()
        .unwrap();
    let policy = Fallback::from_fn(|_: Error<std::io::Error>| "fallback")
        .wrap(Bulkhead::builder().max_concurrent(8).build().unwrap())
        .wrap(Timeout::new(Duration::from_secs(2)).unwrap())
        .wrap(
            Retry::builder()
                .max_attempts(3)
                .backoff(Backoff::constant(10 * MS).jitter(Jitter::None))
                .budget(budget.clone())
                .build()
                .unwrap(),
        )
        .wrap(breaker.clone())
        .wrap(Timeout::new(100 * MS).unwrap())
        .wrap(slow.clone())
        .wrap(down.clone());
    let reached = AtomicU32::new(0);
    let call = || {
        reached.fetch_add(1, Ordering::Relaxed);
        async { Ok::<_, std::io::Error>("real") }
    };

    // Healthy.
    assert_eq!(policy.call(call).await.unwrap(), "real");

    // Slow: each attempt is cut at 100 ms, retried 10 ms later; three attempts, then the
    // fallback answers well inside the overall 2 s.
    slow.enable();
    let start = Instant::now();
    assert_eq!(policy.call(call).await.unwrap(), "fallback");
    assert_eq!(start.elapsed(), 320 * MS);
    slow.disable();

    // Down: every attempt fails at once. The breaker opens after its window fills, and from
    // then on calls are rejected without reaching the chaos or the dependency; the budget caps
    // the retries; the caller always gets the fallback.
    down.enable();
    let before = (reached.load(Ordering::Relaxed), down.snapshot().injected);
    for _ in 0..20 {
        assert_eq!(policy.call(call).await.unwrap(), "fallback");
    }
    assert_eq!(breaker.snapshot().state, State::Open);
    let injected = down.snapshot().injected - before.1;
    assert!(
        injected <= 10,
        "{injected} attempts reached a broken dependency"
    );
    assert_eq!(
        reached.load(Ordering::Relaxed),
        before.0,
        "nothing got past the chaos"
    );
    assert!(budget.available() < 10, "the retries drew on the budget");

    // Recovery: switched off, the breaker half-opens after its open duration and closes on its
    // probes.
    down.disable();
    tokio::time::advance(Duration::from_secs(5)).await;
    for _ in 0..2 {
        assert_eq!(policy.call(call).await.unwrap(), "real");
    }
    assert_eq!(breaker.snapshot().state, State::Closed);
    assert_eq!(policy.call(call).await.unwrap(), "real");
}
