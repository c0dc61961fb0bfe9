//! Three instances of a service sharing state through Redis: one rate limit for the fleet (not
//! one per instance), and a breaker quorum (a dependency every instance sees failing opens
//! everywhere; one instance's own trouble opens nobody else's).
//!
//! Run it with `cargo run --features redis --example fleet`. It starts its own `redis-server`
//! (Debian: `apt-get install redis-server`) on a free loopback port and finishes in about a
//! second.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use failguard::{
    CircuitBreaker, Error,
    fleet::{Fleet, FleetBreaker, GlobalRateLimiter},
};
use tokio::time::{Instant, sleep};

/// A throwaway redis-server on a free port, killed on drop.
struct Store(Child, u16);

impl Store {
    fn start() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e} (install it: apt-get install redis-server)"))?;
        let store = Store(child, port);
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(5) {
                return Err("redis-server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(store)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Instance {
    limiter: GlobalRateLimiter,
    breaker: FleetBreaker<failguard::ErrorIsFailure>,
}

async fn instance(
    url: &str,
    id: &str,
) -> Result<Instance, Box<dyn std::error::Error + Send + Sync>> {
    let fleet = Fleet::builder(url).instance(id.to_string()).build()?;
    let limiter = fleet
        .rate_limiter("partner-api")
        .per_second(100)
        .burst(10)
        .lease(5)
        .build()?;
    let local = CircuitBreaker::builder()
        .name("inventory")
        .count_window(10)
        .minimum_calls(3)
        .open_duration(Duration::from_secs(30))
        .build()?;
    let breaker = fleet
        .breaker(local)
        .heartbeat(Duration::from_millis(50))
        .start()
        .await?;
    Ok(Instance { limiter, breaker })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = Store::start()?;
    let url = format!("redis://127.0.0.1:{}/", store.1);
    let mut fleet = Vec::new();
    for id in ["a", "b", "c"] {
        fleet.push(instance(&url, id).await?);
    }

    // One limit for the fleet: 100 a second (bursts of 10) across all three instances.
    let run = Duration::from_millis(500);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for instance in &fleet {
        let limiter = instance.limiter.clone();
        tasks.push(tokio::spawn(async move {
            let mut admitted = 0;
            while start.elapsed() < run {
                match limiter.call(|| async { Ok::<_, std::io::Error>(()) }).await {
                    Ok(()) => admitted += 1,
                    Err(_) => sleep(Duration::from_millis(2)).await,
                }
            }
            admitted
        }));
    }
    let mut admitted = Vec::new();
    for task in tasks {
        admitted.push(task.await?);
    }
    let total: u32 = admitted.iter().sum();
    println!(
        "global limit, 100/s for the fleet: {total} calls in {:.1} s across 3 instances {admitted:?}",
        run.as_secs_f64()
    );
    println!(
        "  (each alone would have let through about {} in that time)",
        100 / 2 + 10
    );

    // Instance a's own network fails: its breaker opens; b and c carry on.
    for _ in 0..3 {
        let _ = fleet[0]
            .breaker
            .call(|| async { Err::<(), _>("a's network is down") })
            .await;
    }
    sleep(Duration::from_millis(200)).await;
    let view = fleet[2].breaker.fleet_view();
    println!(
        "\none instance open: c sees {} of {} open, quorum open: {}",
        view.open, view.live, view.quorum_open
    );
    assert!(!view.quorum_open);

    // The dependency fails for b too: two of three is a majority, and c opens without a call.
    for _ in 0..3 {
        let _ = fleet[1]
            .breaker
            .call(|| async { Err::<(), _>("inventory is down") })
            .await;
    }
    sleep(Duration::from_millis(200)).await;
    let view = fleet[2].breaker.fleet_view();
    let c = fleet[2].breaker.call(|| async { Ok::<_, &str>(()) }).await;
    println!(
        "two instances open: c sees {} of {} open, quorum open: {}; c's call: {}",
        view.open,
        view.live,
        view.quorum_open,
        match c {
            Err(Error::CircuitOpen(open)) => format!("not made ({open})"),
            other => format!("{other:?}"),
        }
    );
    assert!(view.quorum_open);
    drop(store);
    Ok(())
}
