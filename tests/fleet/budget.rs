//! The fleet's retry budget against a real store: retries bounded for the fleet, not for each
//! instance, and each instance alone when the store is gone.

use std::time::Duration;

use failguard::{fleet::Fleet, retry::RetryBudget};
use tokio::time::{Instant, sleep};

use crate::redis_server::RedisServer;

async fn budget(server: &RedisServer, id: &str, min_per_sec: u32, percent: f64) -> RetryBudget {
    let template = RetryBudget::builder()
        .ttl(Duration::from_secs(1))
        .min_per_sec(min_per_sec)
        .percent(percent)
        .build()
        .unwrap();
    Fleet::builder(server.url())
        .instance(id.to_string())
        .build()
        .unwrap()
        .retry_budget("storm", template)
        .sync_every(Duration::from_millis(20))
        .start()
        .await
        .unwrap()
}

/// Tries to retry for `run`, depositing `per_ms` requests a millisecond; (requests, retries).
async fn storm(budget: RetryBudget, run: Duration, per_ms: u32) -> (u64, u64) {
    let start = Instant::now();
    let (mut requests, mut retries) = (0, 0);
    while start.elapsed() < run {
        for _ in 0..per_ms {
            budget.deposit();
            requests += 1;
        }
        while budget.try_withdraw() {
            retries += 1;
        }
        sleep(Duration::from_millis(1)).await;
    }
    (requests, retries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_minimum_is_the_fleets_not_each_instances() {
    let server = RedisServer::start();
    // 10 retries a second with no request at all: for the fleet, not 10 for each of three.
    let mut tasks = Vec::new();
    for id in ["a", "b", "c"] {
        let budget = budget(&server, id, 10, 10.0).await;
        tasks.push(tokio::spawn(storm(budget, Duration::from_millis(500), 0)));
    }
    let mut retries = 0;
    for task in tasks {
        retries += task.await.unwrap().1;
    }
    // The window is 1 s, so the reserve is 10; three local budgets would have allowed 30.
    assert!(retries <= 10, "{retries} retries");
    assert!(
        retries >= 6,
        "{retries} retries: the fleet's reserve is spent, split by three"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_retries_stay_within_the_fleets_share_of_its_requests() {
    let server = RedisServer::start();
    // Instance a takes the requests; b and c only retry (they see the failures). Alone, b and
    // c could not retry at all; together the fleet retries 20% of all requests.
    let a = budget(&server, "a", 0, 20.0).await;
    let b = budget(&server, "b", 0, 20.0).await;
    let c = budget(&server, "c", 0, 20.0).await;
    let run = Duration::from_millis(600);
    let ta = tokio::spawn(storm(a, run, 2));
    let tb = tokio::spawn(storm(b, run, 0));
    let tc = tokio::spawn(storm(c, run, 0));
    let (requests, ra) = ta.await.unwrap();
    let (_, rb) = tb.await.unwrap();
    let (_, rc) = tc.await.unwrap();
    let retries = ra + rb + rc;
    eprintln!("fleet: {requests} requests, {retries} retries ({ra}, {rb}, {rc})");
    // 20% of the requests, plus the rounding of three shares.
    assert!(
        retries as f64 <= 0.2 * requests as f64 + 3.0,
        "{retries} retries for {requests} requests ({ra}, {rb}, {rc})"
    );
    assert!(
        rb > 0 && rc > 0,
        "b and c spend the fleet's credit: {rb}, {rc}"
    );
    assert!(
        retries as f64 >= 0.1 * requests as f64,
        "{retries} of {requests}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_store_gone_each_instance_has_its_local_budget() {
    let mut server = RedisServer::start();
    let a = budget(&server, "a", 10, 10.0).await;
    while a.try_withdraw() {}
    server.kill();
    // The next report fails; from then on the local budget (10 a second alone) decides.
    sleep(Duration::from_millis(100)).await;
    let mut local = 0;
    while a.try_withdraw() {
        local += 1;
        assert!(local <= 10, "no more than the local budget");
    }
    assert!(
        local > 0,
        "the local budget decides while the store is gone"
    );
    drop(server);
}
