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
