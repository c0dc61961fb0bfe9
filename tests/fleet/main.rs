//! Fleet-wide state against a real `redis-server` on 127.0.0.1 (started and stopped by each
//! test): several instances share one rate limit within its documented bound, and the instances
//! keep serving on local state while the store is gone, then re-join it. Real time, short runs.
#![cfg(feature = "redis")]

mod budget;
mod doors;
mod proxy;
mod quorum;
mod redis_server;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use failguard::{
    events::{Event, EventKind},
    fleet::{Fleet, FleetEvent, GlobalRateLimiter},
};
use proxy::SlowProxy;
use redis_server::RedisServer;
use tokio::time::{Instant, sleep};

fn limiter(
    server: &RedisServer,
    instance: &str,
    per_second: u32,
    burst: u32,
    lease: u32,
) -> GlobalRateLimiter {
    Fleet::builder(server.url())
        .instance(instance.to_string())
        .build()
        .unwrap()
        .rate_limiter("shared")
        .per_second(per_second)
        .burst(burst)
        .lease(lease)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_one_limit_within_the_documented_bound() {
    let server = RedisServer::start();
    const RATE: u32 = 200;
    const BURST: u32 = 20;
    const LEASE: u32 = 5;
    let instances: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|id| limiter(&server, id, RATE, BURST, LEASE))
        .collect();

    let start = Instant::now();
    let run = Duration::from_millis(600);
    let tasks: Vec<_> = instances
        .iter()
        .cloned()
        .map(|limiter| {
            tokio::spawn(async move {
                let mut admitted = 0u64;
                while start.elapsed() < run {
                    match limiter.acquire().await {
                        Ok(()) => admitted += 1,
                        Err(limited) => {
                            let wait = limited.retry_after().unwrap_or(Duration::from_millis(1));
                            sleep(wait.min(Duration::from_millis(5))).await;
                        }
                    }
                }
                admitted
            })
        })
        .collect();
    let mut per_instance = Vec::new();
    for task in tasks {
        per_instance.push(task.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let admitted: u64 = per_instance.iter().sum();

    // rate × t + burst + instances × lease (the module's bound).
    let bound = RATE as f64 * elapsed + BURST as f64 + 3.0 * LEASE as f64;
    eprintln!("fleet admitted {admitted} in {elapsed:.3} s ({per_instance:?}), bound {bound:.0}");
    assert!(
        (admitted as f64) <= bound,
        "{admitted} admitted in {elapsed:.3} s ({per_instance:?}); the bound is {bound:.0}"
    );
    // Alone, each would have admitted about rate × t + burst: three times as many.
    let one = RATE as f64 * elapsed + BURST as f64;
    assert!(
        admitted as f64 >= 0.6 * one,
        "{admitted} admitted in {elapsed:.3} s ({per_instance:?}): the fleet should get near {one:.0}"
    );
    for (limiter, n) in instances.iter().zip(&per_instance) {
        assert!(*n > 0, "every instance got permits: {per_instance:?}");
        assert!(limiter.snapshot().leases > 0);
        assert!(!limiter.snapshot().degraded);
    }
}

#[tokio::test]
async fn a_rejection_carries_the_wait_the_store_computed() {
    let server = RedisServer::start();
    let limiter = limiter(&server, "a", 10, 2, 1);
    limiter.acquire().await.unwrap();
    limiter.acquire().await.unwrap();
    let started = Instant::now();
    let limited = limiter.acquire().await.unwrap_err();
    let wait = limited.retry_after().unwrap();
    // The second permit moved the TAT 200 ms ahead; the third conforms 100 ms after the first.
    assert!(
        wait <= Duration::from_millis(100)
            && wait >= Duration::from_millis(100) - started.elapsed() - Duration::from_millis(50),
        "{wait:?}"
    );
    assert_eq!(limited.name(), "shared");
    sleep(wait).await;
    limiter.acquire().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_store_gone_calls_flow_on_local_state_within_the_bound_and_rejoin() {
    let mut server = RedisServer::start();
    let events = Arc::new(Mutex::new(Vec::new()));
    let bound = Duration::from_millis(50);
    let fleet = Fleet::builder(server.url())
        .instance("a")
        .bound(bound)
        .retry_every(Duration::from_millis(100))
        .listener({
            let events = events.clone();
            move |e: &Event<'_>| {
                if let EventKind::Fleet(event) = e.kind {
                    events.lock().unwrap().push(event);
                }
            }
        })
        .build()
        .unwrap();
    let limiter = fleet
        .rate_limiter("outage")
        .per_second(1_000)
        .lease(10)
        .build()
        .unwrap();

    // Healthy: leases from the store.
    for _ in 0..50 {
        limiter.acquire().await.unwrap();
        sleep(Duration::from_millis(1)).await;
    }
    let leases = limiter.snapshot().leases;
    assert!(leases >= 4, "{leases}");

    server.kill();
    let mut slowest = Duration::ZERO;
    let mut admitted = 0;
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_millis(400) {
        let started = Instant::now();
        if limiter.acquire().await.is_ok() {
            admitted += 1;
        }
        slowest = slowest.max(started.elapsed());
        sleep(Duration::from_millis(2)).await;
    }
    assert!(
        slowest <= bound + Duration::from_millis(25),
        "a call waited {slowest:?} on a dead store (bound {bound:?})"
    );
    assert!(
        admitted > 50,
        "calls kept flowing on local state: {admitted}"
    );
    assert!(fleet.is_degraded());
    assert!(limiter.snapshot().degraded);
    assert!(
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, FleetEvent::Degraded { .. })),
        "{:?}",
        events.lock().unwrap()
    );

    server.restart();
    let back = Instant::now();
    while fleet.is_degraded() {
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "the instance did not re-join in 5 s"
        );
        let _ = limiter.acquire().await;
        sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(events.lock().unwrap().last(), Some(&FleetEvent::Rejoined));
    let before = limiter.snapshot().leases;
    for _ in 0..30 {
        limiter.acquire().await.unwrap();
    }
    assert!(
        limiter.snapshot().leases > before,
        "leases come from the store again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_store_costs_no_call_more_than_the_bound() {
    let server = RedisServer::start();
    let proxy = SlowProxy::start(server.port).await;
    let bound = Duration::from_millis(30);
    let fleet = Fleet::builder(proxy.url())
        .instance("a")
        .bound(bound)
        .retry_every(Duration::from_millis(100))
        .build()
        .unwrap();
    let limiter = fleet
        .rate_limiter("slow")
        .per_second(10_000)
        .lease(5)
        .build()
        .unwrap();
    for _ in 0..20 {
        limiter.acquire().await.unwrap();
    }
    assert!(!fleet.is_degraded());

    proxy.delay(Duration::from_millis(300));
    let mut slowest = Duration::ZERO;
    let slow = Instant::now();
    while slow.elapsed() < Duration::from_millis(500) {
        let started = Instant::now();
        limiter.acquire().await.unwrap(); // the local limiter has room at this pace
        slowest = slowest.max(started.elapsed());
        sleep(Duration::from_millis(1)).await;
    }
    assert!(
        slowest <= bound + Duration::from_millis(25),
        "a call waited {slowest:?} on a slow store (bound {bound:?})"
    );
    assert!(fleet.is_degraded());

    proxy.delay(Duration::ZERO);
    let back = Instant::now();
    while fleet.is_degraded() {
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "the instance did not re-join in 5 s"
        );
        let _ = limiter.acquire().await;
        sleep(Duration::from_millis(5)).await;
    }
}

/// Milliseconds since the Unix epoch: the one clock separate processes share.
fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn separate_processes_share_one_limit_within_the_documented_bound() {
    let server = RedisServer::start();
    const RATE: u64 = 200;
    const BURST: u64 = 20;
    const LEASE: u64 = 5;
    const RUN_MS: u64 = 600;
    // Every process starts its run at the same moment, once all have started.
    let start_at = epoch_ms() + 1_500;
    let children: Vec<_> = ["p1", "p2", "p3"]
        .iter()
        .map(|id| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "one_process_of_the_fleet",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                ])
                .env("FAILGUARD_FLEET_URL", server.url())
                .env("FAILGUARD_FLEET_INSTANCE", id)
                .env("FAILGUARD_FLEET_START_AT", start_at.to_string())
                .env("FAILGUARD_FLEET_RUN_MS", RUN_MS.to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut per_process = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let admitted: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("admitted "))
            .unwrap_or_else(|| panic!("no figure in {text:?}"))
            .trim()
            .parse()
            .unwrap();
        per_process.push(admitted);
    }
    let admitted: u64 = per_process.iter().sum();
    let t = RUN_MS as f64 / 1000.0;
    let bound = RATE as f64 * t + (BURST + 3 * LEASE) as f64;
    eprintln!("3 processes admitted {admitted} in {t} s ({per_process:?}), bound {bound:.0}");
    assert!(
        admitted as f64 <= bound,
        "{admitted} ({per_process:?}) > {bound}"
    );
    assert!(
        admitted as f64 >= 0.6 * (RATE as f64 * t + BURST as f64),
        "{per_process:?}"
    );
}

/// One instance of the multi-process test, run by it as a separate process (`--ignored`).
#[test]
#[ignore = "a process of `separate_processes_share_one_limit_within_the_documented_bound`"]
fn one_process_of_the_fleet() {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by the parent test"))
    };
    let start_at: u64 = var("FAILGUARD_FLEET_START_AT").parse().unwrap();
    let run = Duration::from_millis(var("FAILGUARD_FLEET_RUN_MS").parse().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let admitted = rt.block_on(async {
        let limiter = Fleet::builder(var("FAILGUARD_FLEET_URL"))
            .instance(var("FAILGUARD_FLEET_INSTANCE"))
            .build()
            .unwrap()
            .rate_limiter("processes")
            .per_second(200)
            .burst(20)
            .lease(5)
            .build()
            .unwrap();
        sleep(Duration::from_millis(start_at.saturating_sub(epoch_ms()))).await;
        let start = Instant::now();
        let mut admitted = 0u64;
        while start.elapsed() < run {
            match limiter.acquire().await {
                Ok(()) => admitted += 1,
                Err(limited) => {
                    let wait = limited.retry_after().unwrap_or(Duration::from_millis(1));
                    sleep(wait.min(Duration::from_millis(5))).await;
                }
            }
        }
        admitted
    });
    println!("admitted {admitted}");
}
