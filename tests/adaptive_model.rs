//! The adaptive limit against a model server, on the paused clock.
//!
//! The model: `C` workers (a fair semaphore) and a line in front of them. A request's service
//! time is `10 ms × (1 + (q / C)²)` (to the millisecond), `q` the requests still queued when it
//! starts: a server that
//! queues beyond its capacity slows down for everyone (memory, context switches, cache misses),
//! so too many requests in flight lower its throughput as well as raising latency. Optionally
//! it fails a request that had to queue (an overloaded server shedding), which a loss-based
//! algorithm needs to see.
//!
//! Load: `load × C₀ / 10 ms` requests a second (`C₀` = 20: 0.5× is 1 a millisecond, 3× is 6),
//! evenly spaced. Phases: 0.5×, 1×, 3×, then 3× with `C` halved, then 3× with `C` restored.
//!
//! Goals (issue 17), asserted below: the limit settles within ±20% of `C` within
//! [`SETTLE`] (2 s) of virtual time in every phase of 1× or more, and so follows the change of
//! `C`; at 3×, once settled (from [`SETTLE`] after the phase's start to its end), goodput ≥ 90%
//! of capacity and p99 of successful calls ≤ 2× the unloaded 10 ms; a static limit twice too
//! high (a [`Bulkhead`] of 40) misses both. At 0.5× the limit stays at most twice the capacity.

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering::Relaxed},
    },
    time::Duration,
};

use failguard::{
    Bulkhead,
    adaptive::{AdaptiveLimit, Aimd, Gradient2, Vegas},
};
use tokio::{sync::Semaphore, time::Instant};

const BASE: Duration = Duration::from_millis(10);
const C0: usize = 20;
/// How soon, in virtual time, the limit must be within ±20% of the capacity in a loaded phase.
const SETTLE: Duration = Duration::from_secs(2);

struct Server {
    workers: Arc<Semaphore>,
    queued: AtomicUsize,
    capacity: AtomicUsize,
    fail_when_queued: bool,
}

#[derive(Debug)]
struct Overloaded;

impl Server {
    fn new(fail_when_queued: bool) -> Arc<Self> {
        Arc::new(Self {
            workers: Arc::new(Semaphore::new(C0)),
            queued: AtomicUsize::new(0),
            capacity: AtomicUsize::new(C0),
            fail_when_queued,
        })
    }

    async fn serve(&self) -> Result<(), Overloaded> {
        self.queued.fetch_add(1, Relaxed);
        let waited = Instant::now();
        let _worker = self.workers.acquire().await.unwrap();
        let behind = self.queued.fetch_sub(1, Relaxed) - 1;
        if self.fail_when_queued && waited.elapsed() > BASE {
            return Err(Overloaded);
        }
        let c = self.capacity.load(Relaxed) as f64;
        let over = behind as f64 / c;
        // Whole milliseconds, tokio's timer resolution: 10.01 ms would sleep 11.
        let ms = (BASE.as_secs_f64() * 1e3 * (1.0 + over * over)).round();
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
        Ok(())
    }

    fn set_capacity(self: &Arc<Self>, c: usize) {
        let now = self.capacity.swap(c, Relaxed);
        if c > now {
            self.workers.add_permits(c - now);
        } else if c < now {
            let workers = self.workers.clone();
            let n = (now - c) as u32;
            tokio::spawn(async move { workers.acquire_many(n).await.unwrap().forget() });
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Phase {
    name: &'static str,
    load: f64,
    capacity: usize,
    secs: u64,
}

const PHASES: [Phase; 5] = [
    Phase {
        name: "0.5x",
        load: 0.5,
        capacity: C0,
        secs: 4,
    },
    Phase {
        name: "1x",
        load: 1.0,
        capacity: C0,
        secs: 4,
    },
    Phase {
        name: "3x",
        load: 3.0,
        capacity: C0,
        secs: 6,
    },
    Phase {
        name: "3x, C halved",
        load: 3.0,
        capacity: C0 / 2,
        secs: 6,
    },
    Phase {
        name: "3x, C restored",
        load: 3.0,
        capacity: C0,
        secs: 6,
    },
];

#[derive(Debug, Clone)]
struct Measured {
    phase: Phase,
    /// From the phase's start until the limit last entered ±20% of `C` and stayed; `None` if
    /// it was outside at the end.
    settled: Option<Duration>,
    /// Successful calls over what the server could serve in the phase.
    goodput: f64,
    /// The 99th percentile latency of successful calls.
    p99: Duration,
    /// Limit samples every 10 ms: min, max over the phase's second half.
    limits: (usize, usize),
}

#[derive(Default)]
struct Log {
    latencies: Vec<Vec<Duration>>,
}

/// Runs the phases; `call` makes one request through the limiter under test, `limit` reads its
/// current limit. Returns each phase's figures and the limit/p99 trace (every 10 ms).
async fn run<F, Fut>(
    server: Arc<Server>,
    call: F,
    limit: impl Fn() -> usize,
) -> (Vec<Measured>, Vec<(f64, usize)>)
where
    F: Fn(Arc<Server>) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let log = Arc::new(Mutex::new(Log::default()));
    let current = Arc::new(AtomicUsize::new(0));
    let mut trace = Vec::new();
    let mut measured = Vec::new();
    let t0 = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for (i, phase) in PHASES.iter().enumerate() {
        log.lock().unwrap().latencies.push(Vec::new());
        current.store(i, Relaxed);
        server.set_capacity(phase.capacity);
        let per_ms = phase.load * C0 as f64 * 1e-3 / BASE.as_secs_f64();
        let mut owed = 0.0;
        let mut limits = Vec::new();
        let settled_from = Instant::now() + SETTLE;
        for ms in 0..phase.secs * 1000 {
            tick.tick().await;
            owed += per_ms;
            while owed >= 1.0 {
                owed -= 1.0;
                let (log, current) = (log.clone(), current.clone());
                let request = call(server.clone());
                tokio::spawn(async move {
                    let start = Instant::now();
                    if request.await {
                        let i = current.load(Relaxed);
                        // Goodput and p99 are measured once the limit had time to settle.
                        if start >= settled_from {
                            log.lock().unwrap().latencies[i].push(start.elapsed());
                        }
                    }
                });
            }
            if ms % 10 == 0 {
                let l = limit();
                limits.push(l);
                trace.push((t0.elapsed().as_secs_f64(), l));
            }
        }
        let c = phase.capacity as f64;
        let inside = |l: usize| (l as f64 - c).abs() <= 0.2 * c;
        let settled = match limits.iter().rposition(|&l| !inside(l)) {
            None => Some(Duration::ZERO),
            Some(last) if last + 1 < limits.len() => {
                Some(Duration::from_millis(10 * (last as u64 + 1)))
            }
            Some(_) => None,
        };
        let half = &limits[limits.len() / 2..];
        measured.push(Measured {
            phase: *phase,
            settled,
            goodput: 0.0,
            p99: Duration::ZERO,
            limits: (*half.iter().min().unwrap(), *half.iter().max().unwrap()),
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // let the last calls finish
    let log = log.lock().unwrap();
    for (m, latencies) in measured.iter_mut().zip(&log.latencies) {
        let mut sorted = latencies.clone();
        sorted.sort();
        let secs = m.phase.secs as f64 - SETTLE.as_secs_f64();
        let capacity = secs * m.phase.capacity as f64 / BASE.as_secs_f64();
        m.goodput = sorted.len() as f64 / capacity;
        m.p99 = sorted
            .get(sorted.len() * 99 / 100)
            .copied()
            .unwrap_or_default();
    }
    (measured, trace)
}

fn print(name: &str, measured: &[Measured]) {
    for m in measured {
        println!(
            "{name:>10} {:>15}: settled {:>8} goodput {:>5.1}% p99 {:>6.1} ms limit {:?}",
            m.phase.name,
            m.settled
                .map_or("never".to_string(), |d| format!("{:.2}s", d.as_secs_f64())),
            m.goodput * 100.0,
            m.p99.as_secs_f64() * 1e3,
            m.limits,
        );
    }
}

/// The goals, for one algorithm's run.
fn assert_goals(name: &str, measured: &[Measured]) {
    for m in measured.iter().filter(|m| m.phase.load >= 1.0) {
        let settled = m
            .settled
            .unwrap_or_else(|| panic!("{name} {}: never settled", m.phase.name));
        assert!(
            settled <= SETTLE,
            "{name} {}: settled after {settled:?}",
            m.phase.name
        );
    }
    for m in measured.iter().filter(|m| m.phase.load >= 3.0) {
        assert!(
            m.goodput >= 0.9,
            "{name} {}: goodput {:.3}",
            m.phase.name,
            m.goodput
        );
        assert!(
            m.p99 <= 2 * BASE,
            "{name} {}: p99 {:?}",
            m.phase.name,
            m.p99
        );
    }
    // At half load the limit stays within twice what is used (it only grows while in use).
    let light = &measured[0];
    assert!(
        light.limits.1 <= 2 * C0,
        "{name}: at 0.5x the limit drifted to {:?}",
        light.limits
    );
}

async fn adaptive(limit: AdaptiveLimit, server: Arc<Server>) -> Vec<Measured> {
    let probe = limit.clone();
    let (measured, _) = run(
        server,
        move |server| {
            let limit = limit.clone();
            async move {
                limit
                    .call(|| async move { server.serve().await })
                    .await
                    .is_ok()
            }
        },
        move || probe.snapshot().limit,
    )
    .await;
    measured
}

#[tokio::test(start_paused = true)]
async fn vegas_settles_near_capacity_and_follows_it() {
    // Starting 4x too low. Tighter queue bounds than the published 3 and 6 calls: 6 calls is 60% over a capacity of 10.
    let vegas = Vegas::new().initial_limit(5).queue_bounds(2, 4).unwrap();
    let limit = AdaptiveLimit::builder().algorithm(vegas).build().unwrap();
    let measured = adaptive(limit, Server::new(false)).await;
    print("vegas", &measured);
    assert_goals("vegas", &measured);
}

#[tokio::test(start_paused = true)]
async fn aimd_settles_near_capacity_and_follows_it() {
    // Starting 4x too low; a window whose mean round trip is 10% over the unloaded one is a drop.
    let aimd = Aimd::new()
        .initial_limit(5)
        .timeout(BASE.mul_f64(1.1))
        .unwrap();
    let limit = AdaptiveLimit::builder().algorithm(aimd).build().unwrap();
    let measured = adaptive(limit, Server::new(true)).await;
    print("aimd", &measured);
    assert_goals("aimd", &measured);
}

/// Gradient2 as published drifts above the capacity under sustained overload (its reference is
/// a long-term average, which the queue becomes part of), as its docs say; it still does better
/// than the static limit.
#[tokio::test(start_paused = true)]
async fn gradient2_as_published_drifts_up_under_sustained_overload() {
    let limit = AdaptiveLimit::builder()
        .algorithm(Gradient2::new().initial_limit(5))
        .build()
        .unwrap();
    let measured = adaptive(limit, Server::new(false)).await;
    print("gradient2", &measured);
    let overload = &measured[2];
    assert!(
        overload.limits.1 > C0 * 6 / 5,
        "limits {:?}",
        overload.limits
    );
    assert!(overload.limits.1 < 2 * C0, "limits {:?}", overload.limits);
    assert!(overload.goodput > 0.6, "goodput {:.3}", overload.goodput);
}

#[tokio::test(start_paused = true)]
async fn a_static_limit_twice_too_high_misses_both_goals() {
    let bulkhead = Bulkhead::new(2 * C0).unwrap();
    let (measured, _) = run(
        Server::new(false),
        move |server| {
            let bulkhead = bulkhead.clone();
            async move {
                bulkhead
                    .call(|| async move { server.serve().await })
                    .await
                    .is_ok()
            }
        },
        || 2 * C0,
    )
    .await;
    print("static 40", &measured);
    let overload = &measured[2];
    assert!(overload.goodput < 0.9, "goodput {:.3}", overload.goodput);
    assert!(overload.p99 > 2 * BASE, "p99 {:?}", overload.p99);
}
