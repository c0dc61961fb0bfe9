//! The breaker quorum against a real store: enough instances seeing a dependency fail open it
//! everywhere, one failing instance opens nobody else, a new instance knows at once, and a
//! gone store leaves each instance to its own breaker.

use std::time::Duration;

use failguard::{
    CircuitBreaker, Error, ErrorIsFailure,
    fleet::{Fleet, FleetBreaker},
};
use tokio::time::{Instant, sleep};

use crate::redis_server::RedisServer;

const HEARTBEAT: Duration = Duration::from_millis(50);

async fn instance(server: &RedisServer, id: &str) -> FleetBreaker<ErrorIsFailure> {
    let local = CircuitBreaker::builder()
        .name("db")
        .count_window(4)
        .minimum_calls(2)
        .open_duration(Duration::from_secs(10))
        .build()
        .unwrap();
    Fleet::builder(server.url())
        .instance(id.to_string())
        .retry_every(Duration::from_millis(50))
        .build()
        .unwrap()
        .breaker(local)
        .heartbeat(HEARTBEAT)
        .start()
        .await
        .unwrap()
}

async fn trip(breaker: &FleetBreaker<ErrorIsFailure>) {
    for _ in 0..2 {
        let _ = breaker.call(|| async { Err::<(), _>("down") }).await;
    }
    assert!(breaker.local().snapshot().retry_after.is_some(), "tripped");
}

async fn ok(breaker: &FleetBreaker<ErrorIsFailure>) -> Result<(), Error<&'static str>> {
    breaker.call(|| async { Ok(()) }).await
}

/// Waits (at most 2 s) until `done` holds.
async fn eventually(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(2), "not within 2 s");
        sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_of_failing_instances_opens_every_instance() {
    let server = RedisServer::start();
    let a = instance(&server, "a").await;
    let b = instance(&server, "b").await;
    let c = instance(&server, "c").await;
    trip(&a).await;
    trip(&b).await;
    eventually(|| c.fleet_view().quorum_open).await;
    assert_eq!((c.fleet_view().live, c.fleet_view().open), (3, 2));

    let err = ok(&c).await.unwrap_err();
    let Error::CircuitOpen(open) = err else {
        panic!("expected CircuitOpen, got {err:?}")
    };
    assert_eq!(open.name(), "db");
    // The quorum holds until a's or b's open time ends: about 10 s from now.
    let retry_after = open.retry_after().unwrap();
    assert!(
        retry_after > Duration::from_secs(9) && retry_after <= Duration::from_secs(10),
        "{retry_after:?}"
    );
    assert_eq!(c.local().snapshot().calls, 0, "c's own breaker saw nothing");

    // One of them closes again: fewer than the quorum, and c calls through.
    a.local().reset();
    eventually(|| !c.fleet_view().quorum_open).await;
    ok(&c).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_instance_opens_nobody_else() {
    let server = RedisServer::start();
    let a = instance(&server, "a").await;
    let b = instance(&server, "b").await;
    let c = instance(&server, "c").await;
    trip(&a).await;
    eventually(|| b.fleet_view().open == 1 && c.fleet_view().open == 1).await;
    sleep(HEARTBEAT * 3).await;
    assert!(!b.fleet_view().quorum_open);
    ok(&b).await.unwrap();
    ok(&c).await.unwrap();
    assert!(
        matches!(ok(&a).await, Err(Error::CircuitOpen(_))),
        "a's own breaker is open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_knows_the_fleet_before_its_first_call() {
    let server = RedisServer::start();
    let a = instance(&server, "a").await;
    let b = instance(&server, "b").await;
    trip(&a).await;
    trip(&b).await;
    eventually(|| a.fleet_view().quorum_open).await;

    let d = instance(&server, "d").await;
    assert!(d.fleet_view().quorum_open, "{:?}", d.fleet_view());
    assert!(matches!(ok(&d).await, Err(Error::CircuitOpen(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_store_gone_each_instance_goes_by_its_own_breaker() {
    let mut server = RedisServer::start();
    let a = instance(&server, "a").await;
    let b = instance(&server, "b").await;
    let c = instance(&server, "c").await;
    trip(&a).await;
    trip(&b).await;
    eventually(|| c.fleet_view().quorum_open).await;

    server.kill();
    eventually(|| !c.fleet_view().quorum_open).await;
    ok(&c).await.unwrap();
    assert!(
        matches!(ok(&a).await, Err(Error::CircuitOpen(_))),
        "a's own breaker stays open"
    );

    // The store returns (empty): the instances report again and the quorum is found again.
    server.restart();
    eventually(|| c.fleet_view().quorum_open).await;
}
