//! The fleet's policies through both front doors: as `Policy` values in a stack, and as tower
//! layers, sharing one state.

use std::{sync::Arc, time::Duration};

use failguard::{CircuitBreaker, Error, Policy, Retry, Timeout, fleet::Fleet};
use tokio::time::{Instant, sleep};
use tower::{Service, ServiceBuilder, ServiceExt};

use crate::redis_server::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_limiter_is_a_policy_in_a_stack_and_a_tower_layer() {
    let server = RedisServer::start();
    let fleet = Fleet::builder(server.url()).instance("a").build().unwrap();
    let limiter = fleet
        .rate_limiter("doors")
        .per_second(10)
        .burst(3)
        .lease(1)
        .build()
        .unwrap();

    // In a stack held as `impl Policy`, called from a spawned task (the future is `Send`).
    fn stack(limiter: failguard::fleet::GlobalRateLimiter) -> impl Policy<u32, std::io::Error> {
        limiter.wrap(Timeout::new(Duration::from_secs(1)).unwrap())
    }
    let policy = Arc::new(stack(limiter.clone()));
    let task = tokio::spawn({
        let policy = policy.clone();
        async move { policy.call(|| async { Ok(1) }).await }
    });
    assert_eq!(task.await.unwrap().unwrap(), 1);

    // Through tower: the same lease and the same limit.
    let mut svc = ServiceBuilder::new()
        .layer(limiter.layer())
        .service_fn(|n: u32| async move { Ok::<_, Error<std::io::Error>>(n) });
    assert_eq!(svc.ready().await.unwrap().call(2).await.unwrap(), 2);
    assert_eq!(svc.ready().await.unwrap().call(3).await.unwrap(), 3);
    let err = svc.ready().await.unwrap().call(4).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(limiter.snapshot().leases, 3);

    // A retry honours the store's wait as a promise and gets the next permit.
    let retried = Retry::new(2).unwrap().wrap(limiter.clone());
    let start = Instant::now();
    retried
        .call(|| async { Ok::<_, std::io::Error>(()) })
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_breaker_rejects_through_tower_while_the_quorum_is_open() {
    let server = RedisServer::start();
    let mut instances = Vec::new();
    for id in ["a", "b", "c"] {
        let local = CircuitBreaker::builder().name("svc").build().unwrap();
        let breaker = Fleet::builder(server.url())
            .instance(id)
            .build()
            .unwrap()
            .breaker(local)
            .heartbeat(Duration::from_millis(50))
            .start()
            .await
            .unwrap();
        instances.push(breaker);
    }
    instances[0].local().force_open();
    instances[1].local().force_open();
    let c = &instances[2];
    let start = Instant::now();
    while !c.fleet_view().quorum_open {
        assert!(start.elapsed() < Duration::from_secs(2));
        sleep(Duration::from_millis(10)).await;
    }

    let called = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut svc = ServiceBuilder::new().layer(c.layer()).service_fn({
        let called = called.clone();
        move |n: u32| {
            called.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move { Ok::<_, Error<std::io::Error>>(n) }
        }
    });
    let err = svc.ready().await.unwrap().call(1).await.unwrap_err();
    assert!(
        matches!(err, Error::CircuitOpen(ref open) if open.name() == "svc"),
        "{err:?}"
    );
    assert_eq!(called.load(std::sync::atomic::Ordering::Relaxed), 0);

    // And as a policy in a stack.
    let policy = Retry::new(1).unwrap().wrap(c.clone());
    let err = policy
        .call(|| async { Ok::<_, std::io::Error>(()) })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CircuitOpen(_)), "{err:?}");
}
