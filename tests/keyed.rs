//! Per-key policies: isolation between keys, eviction (idle and full) that never resets a
//! policy that is protecting its dependency, one instance per key under concurrent first use,
//! and the tower door keyed by the request.
#![cfg(feature = "keyed")]

use std::{
    convert::Infallible,
    future::{pending, ready},
    sync::{Arc, Barrier, Mutex},
    time::Duration,
};

use failguard::{
    Bulkhead, CircuitBreaker, Error, RateLimiter,
    breaker::State,
    events::{Event, EventKind},
    keyed::{EvictReason, Keyed, KeyedEvent},
};
use tokio::time::advance;
use tower::{Service, ServiceBuilder, ServiceExt};

type Breakers = Keyed<String, CircuitBreaker>;

fn breaker(open: Duration) -> CircuitBreaker {
    CircuitBreaker::builder()
        .count_window(4)
        .minimum_calls(2)
        .open_duration(open)
        .build()
        .unwrap()
}

async fn fail(breakers: &Breakers, key: &str) {
    let _ = breakers.call(key, || ready(Err::<(), _>("refused"))).await;
}

async fn ok(breakers: &Breakers, key: &str) -> Result<(), Error<&'static str>> {
    breakers.call(key, || ready(Ok(()))).await
}

#[tokio::test(start_paused = true)]
async fn tripping_one_host_leaves_the_others_closed() {
    let breakers: Breakers = Keyed::builder(breaker(Duration::from_secs(30)))
        .name_each(|host: &String| format!("upstream {host}"))
        .build()
        .unwrap();
    ok(&breakers, "b").await.unwrap();
    fail(&breakers, "a").await;
    fail(&breakers, "a").await;

    let err = ok(&breakers, "a").await.unwrap_err();
    let Error::CircuitOpen(open) = err else {
        panic!("expected CircuitOpen, got {err:?}")
    };
    assert_eq!(open.name(), "upstream a");
    assert_eq!(open.retry_after(), Some(Duration::from_secs(30)));
    ok(&breakers, "b").await.unwrap();
    assert_eq!(breakers.get("b").state(), State::Closed);
    assert_eq!(breakers.get("b").snapshot().calls, 2);
    assert_eq!(breakers.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_key_is_dropped_once_idle_for_the_idle_time_and_not_before() {
    let bulkheads: Keyed<String, Bulkhead> = Keyed::builder(Bulkhead::new(4).unwrap())
        .idle(Duration::from_secs(60))
        .build()
        .unwrap();
    bulkheads.get("made-at-0");
    advance(Duration::from_secs(10)).await;
    bulkheads.get("made-at-10");

    advance(Duration::from_millis(49_999)).await; // t = 59.999 s
    assert_eq!(bulkheads.evict_idle(), 0);
    advance(Duration::from_millis(1)).await; // t = 60 s: unused for exactly 60 s
    assert_eq!(bulkheads.evict_idle(), 1);
    let keys: Vec<String> = bulkheads.entries().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["made-at-10"]);
    advance(Duration::from_secs(10)).await; // t = 70 s
    assert_eq!(bulkheads.evict_idle(), 1);
    assert!(bulkheads.is_empty());
    let snapshot = bulkheads.snapshot();
    assert_eq!((snapshot.created, snapshot.evicted_idle), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn a_use_counts_from_the_sweep_that_sees_it() {
    let bulkheads: Keyed<String, Bulkhead> = Keyed::builder(Bulkhead::new(4).unwrap())
        .idle(Duration::from_secs(60))
        .build()
        .unwrap();
    bulkheads.get("k"); // made at 0
    advance(Duration::from_secs(10)).await;
    bulkheads.get("k"); // used at 10
    advance(Duration::from_secs(5)).await;
    assert_eq!(bulkheads.evict_idle(), 0); // t = 15: sees the use, idle from 15
    advance(Duration::from_secs(59)).await;
    assert_eq!(bulkheads.evict_idle(), 0); // t = 74: 59 s since the sweep that saw it
    advance(Duration::from_secs(1)).await;
    assert_eq!(bulkheads.evict_idle(), 1); // t = 75
}

#[tokio::test(start_paused = true)]
async fn a_new_key_sweeps_at_most_every_quarter_of_the_idle_time() {
    let bulkheads: Keyed<u32, Bulkhead> = Keyed::builder(Bulkhead::new(4).unwrap())
        .idle(Duration::from_secs(40))
        .build()
        .unwrap();
    bulkheads.get(&1);
    advance(Duration::from_secs(40)).await;
    bulkheads.get(&2); // the first sweep is due at 10 s: this one runs, and drops key 1
    assert_eq!(bulkheads.len(), 1);
    assert_eq!(bulkheads.snapshot().evicted_idle, 1);

    advance(Duration::from_secs(40)).await; // key 2 now idle for 40 s
    bulkheads.get(&3); // t = 80: due (next at 50), sweeps key 2
    assert_eq!(bulkheads.len(), 1);
    advance(Duration::from_secs(40)).await; // t = 120: key 3 idle for 40 s
    bulkheads.get(&3); // an existing key: no sweep
    bulkheads.get(&4); // due (next at 90): key 3 was just used, so it stays
    assert_eq!(bulkheads.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_outlives_idle_eviction_until_its_open_duration_ends() {
    let breakers: Breakers = Keyed::builder(breaker(Duration::from_secs(120)))
        .idle(Duration::from_secs(10))
        .build()
        .unwrap();
    fail(&breakers, "down").await;
    fail(&breakers, "down").await;
    assert_eq!(breakers.get("down").state(), State::Open);
    advance(Duration::from_secs(1)).await;
    assert_eq!(breakers.evict_idle(), 0); // sees the calls: idle from t = 1 s

    advance(Duration::from_secs(10)).await; // idle for 10 s, open for 109 s more
    assert_eq!(breakers.evict_idle(), 0, "open: kept");
    advance(Duration::from_secs(108)).await; // t = 119 s
    assert_eq!(breakers.evict_idle(), 0);
    let err = ok(&breakers, "down").await.unwrap_err();
    assert!(
        matches!(err, Error::CircuitOpen(_)),
        "still open, not reset: {err:?}"
    );

    advance(Duration::from_secs(1)).await; // t = 120 s: the open duration is over
    assert_eq!(breakers.evict_idle(), 0, "used at 119 s");
    advance(Duration::from_secs(10)).await;
    assert_eq!(breakers.evict_idle(), 1);
    assert_eq!(breakers.get("down").state(), State::Closed); // a fresh one, after the open time
}

#[tokio::test(start_paused = true)]
async fn a_breaker_forced_open_by_hand_is_never_evicted() {
    let breakers: Breakers = Keyed::builder(breaker(Duration::from_secs(1)))
        .idle(Duration::from_secs(1))
        .max_keys(2)
        .build()
        .unwrap();
    breakers.get("maintenance").force_open();
    advance(Duration::from_secs(3600)).await;
    assert_eq!(breakers.evict_idle(), 0);
    for host in ["a", "b", "c", "d"] {
        ok(&breakers, host).await.unwrap();
    }
    assert_eq!(breakers.get("maintenance").state(), State::ForcedOpen);
    assert!(breakers.remove("maintenance").is_some());
}

#[tokio::test(start_paused = true)]
async fn a_full_container_evicts_only_what_is_evictable() {
    let breakers: Breakers = Keyed::builder(breaker(Duration::from_secs(30)))
        .max_keys(3)
        .build()
        .unwrap();
    fail(&breakers, "tripped").await;
    fail(&breakers, "tripped").await;
    for i in 0..50 {
        ok(&breakers, &format!("host-{i}")).await.unwrap();
        assert!(
            breakers.len() <= 4,
            "3 keys and the pinned one: {}",
            breakers.len()
        );
    }
    // Every new key evicted another, but never the open breaker.
    let err = ok(&breakers, "tripped").await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen(_)), "{err:?}");
    assert!(breakers.snapshot().evicted_full >= 46);

    // Once its open duration is over it may go like any other.
    advance(Duration::from_secs(30)).await;
    for i in 50..60 {
        ok(&breakers, &format!("host-{i}")).await.unwrap();
    }
    assert!(breakers.len() <= 3);
}

#[tokio::test(start_paused = true)]
async fn a_rate_limiter_that_is_limiting_is_not_evicted() {
    let limits: Keyed<u64, RateLimiter> = Keyed::builder(
        RateLimiter::builder()
            .per_second(1)
            .burst(1)
            .build()
            .unwrap(),
    )
    .max_keys(1)
    .idle(Duration::from_millis(1))
    .build()
    .unwrap();
    let call = |tenant: u64| limits.call(&tenant, || ready(Ok::<_, Infallible>(())));
    call(1).await.unwrap();
    assert!(matches!(call(1).await, Err(Error::RateLimited(_))));

    // Tenants 1 and 2 each owe their next permit until 1 s: neither a new key past
    // `max_keys` nor a sweep drops them, so neither can come back with a fresh burst.
    call(2).await.unwrap();
    assert_eq!(limits.len(), 2);
    advance(Duration::from_millis(500)).await;
    assert_eq!(limits.evict_idle(), 0);
    let err = call(1).await.unwrap_err();
    let Error::RateLimited(limited) = err else {
        panic!("expected RateLimited, got {err:?}")
    };
    assert_eq!(limited.retry_after(), Some(Duration::from_millis(500)));

    advance(Duration::from_millis(500)).await;
    // Their bursts are back: nothing is lost by dropping them. Tenant 2 goes now; tenant 1's
    // rejected call at 0.5 s was a use, seen by this sweep, so it goes idle's 1 ms later.
    assert_eq!(limits.evict_idle(), 1);
    advance(Duration::from_millis(1)).await;
    assert_eq!(limits.evict_idle(), 1);
    assert!(limits.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_bulkhead_with_calls_in_flight_is_not_evicted() {
    let bulkheads: Keyed<String, Bulkhead> = Keyed::builder(Bulkhead::new(1).unwrap())
        .idle(Duration::from_secs(1))
        .build()
        .unwrap();
    let busy = bulkheads.call("busy", pending::<Result<(), Infallible>>);
    let busy = tokio::spawn(busy);
    tokio::task::yield_now().await;
    assert_eq!(bulkheads.get("busy").snapshot().in_flight, 1);

    advance(Duration::from_secs(10)).await;
    assert_eq!(bulkheads.evict_idle(), 0);
    let full = bulkheads
        .call("busy", || ready(Ok::<_, Infallible>(())))
        .await;
    assert!(matches!(full, Err(Error::BulkheadFull(_))), "{full:?}");

    busy.abort();
    let _ = busy.await;
    assert_eq!(
        bulkheads.evict_idle(),
        0,
        "the rejected call at 10 s was a use"
    );
    advance(Duration::from_secs(1)).await;
    assert_eq!(bulkheads.evict_idle(), 1);
}

#[test]
fn concurrent_first_uses_of_one_key_make_one_instance() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();
    for _ in 0..20 {
        let bulkheads: Keyed<String, Bulkhead> = Keyed::with(|_: &String| {
            // Slow to make, so that the other threads arrive while it is being made.
            std::thread::sleep(Duration::from_millis(2));
            Bulkhead::new(8).unwrap()
        })
        .build()
        .unwrap();
        let barrier = Barrier::new(8);
        let handles: Vec<Bulkhead> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        let _guard = rt.enter();
                        barrier.wait();
                        bulkheads.get("shared")
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(bulkheads.snapshot().created, 1);
        // One instance: a permit taken through one handle shows in every other.
        let mut held = Box::pin(handles[0].call(pending::<Result<(), Infallible>>));
        poll_pending(&mut held);
        for handle in &handles {
            assert_eq!(handle.snapshot().in_flight, 1);
        }
        drop(held);
    }
}

/// Polls `future` once, leaving it pending.
fn poll_pending<F: std::future::Future + Unpin>(future: &mut F) {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(std::pin::Pin::new(future).poll(&mut cx).is_pending());
}

#[tokio::test(start_paused = true)]
async fn events_report_instances_made_and_keys_evicted() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let bulkheads: Keyed<u32, Bulkhead> = Keyed::builder(Bulkhead::new(1).unwrap())
        .name("tenants")
        .max_keys(2)
        .idle(Duration::from_secs(5))
        .listener({
            let seen = seen.clone();
            move |e: &Event<'_>| {
                if let EventKind::Keyed(event) = e.kind {
                    assert_eq!(e.name, "tenants");
                    assert_eq!(e.policy(), "keyed");
                    seen.lock().unwrap().push(event);
                }
            }
        })
        .build()
        .unwrap();
    for tenant in 0..3 {
        bulkheads.get(&tenant);
    }
    advance(Duration::from_secs(5)).await;
    bulkheads.evict_idle();
    let seen = seen.lock().unwrap();
    let created = seen.iter().filter(|e| **e == KeyedEvent::Created).count();
    assert_eq!(created, 3);
    assert!(seen.contains(&KeyedEvent::Evicted {
        reason: EvictReason::Full,
        keys: 1
    }));
    assert!(seen.contains(&KeyedEvent::Evicted {
        reason: EvictReason::Idle,
        keys: 2
    }));
}

#[tokio::test(start_paused = true)]
async fn one_layer_gives_a_breaker_per_host() {
    let breakers: Breakers = Keyed::builder(breaker(Duration::from_secs(30)))
        .name_each(|host: &String| host.clone())
        .build()
        .unwrap();
    let mut client = ServiceBuilder::new()
        .layer(breakers.layer(|req: &http::Request<()>| req.uri().host().unwrap_or("")))
        .service_fn(|req: http::Request<()>| async move {
            match req.uri().host() {
                Some("down.example.com") => Err(Error::Inner("connection refused")),
                _ => Ok(200u16),
            }
        });
    let get = |host: &str| {
        http::Request::get(format!("http://{host}/"))
            .body(())
            .unwrap()
    };
    for _ in 0..2 {
        let err = client
            .ready()
            .await
            .unwrap()
            .call(get("down.example.com"))
            .await;
        assert!(matches!(err, Err(Error::Inner(_))));
    }
    let err = client
        .ready()
        .await
        .unwrap()
        .call(get("down.example.com"))
        .await;
    assert!(
        matches!(&err, Err(Error::CircuitOpen(open)) if open.name() == "down.example.com"),
        "{err:?}"
    );
    let up = client
        .ready()
        .await
        .unwrap()
        .call(get("up.example.com"))
        .await;
    assert_eq!(up.unwrap(), 200);
    assert_eq!(breakers.get("down.example.com").state(), State::Open);
    assert_eq!(breakers.get("up.example.com").state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn an_owned_key_layer_limits_each_tenant_alone() {
    let limits: Keyed<u64, RateLimiter> = Keyed::builder(
        RateLimiter::builder()
            .per_second(1)
            .burst(1)
            .build()
            .unwrap(),
    )
    .build()
    .unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(limits.layer_owned(|req: &(u64, &'static str)| req.0))
        .service_fn(|req: (u64, &'static str)| ready(Ok::<_, Error<Infallible>>(req.1)));
    assert_eq!(
        svc.ready().await.unwrap().call((1, "a")).await.unwrap(),
        "a"
    );
    let err = svc.ready().await.unwrap().call((1, "b")).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(
        svc.ready().await.unwrap().call((2, "c")).await.unwrap(),
        "c"
    );
}
