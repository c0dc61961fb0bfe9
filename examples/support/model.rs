//! A model server for adaptive concurrency limits, and the run that offers it load in phases.
//!
//! The model: `C` workers (a fair semaphore) and a line in front of them. A request's service
//! time is `10 ms × (1 + (q / C)²)` (to the millisecond, tokio's timer resolution), `q` the
//! requests still queued when it starts: a server that queues beyond its capacity slows down for
//! everyone (memory, context switches, cache misses), so too many requests in flight lower its
//! throughput as well as raising latency. Optionally it fails a request that queued longer than
//! the unloaded service time (an overloaded server shedding), which a loss-based algorithm needs.
//!
//! Load: `load × C₀ / 10 ms` requests a second (`C₀` = 20: 0.5× is 1 a millisecond, 3× is 6),
//! evenly spaced. Phases: 0.5×, 1×, 3×, then 3× with `C` halved, then 3× with `C` restored.
//!
//! Shared by `tests/adaptive_model.rs` (paused clock) and `examples/adaptive_compare.rs` (real
//! clock, for the peers that time calls with `std::time::Instant`), included with `#[path]`.

#![allow(dead_code)] // each user takes what it needs

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering::Relaxed},
    },
    time::Duration,
};

use tokio::{sync::Semaphore, time::Instant};

pub const BASE: Duration = Duration::from_millis(10);
pub const C0: usize = 20;
/// How soon, in virtual time, the limit must be within ±20% of the capacity in a loaded phase.
pub const SETTLE: Duration = Duration::from_secs(2);

pub struct Server {
    workers: Arc<Semaphore>,
    queued: AtomicUsize,
    capacity: AtomicUsize,
    /// Requests inside: queued or being served.
    inside: AtomicUsize,
    fail_when_queued: bool,
}

#[derive(Debug)]
pub struct Overloaded;

impl std::fmt::Display for Overloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the model server is overloaded")
    }
}

impl std::error::Error for Overloaded {}

impl Server {
    pub fn new(fail_when_queued: bool) -> Arc<Self> {
        Arc::new(Self {
            workers: Arc::new(Semaphore::new(C0)),
            queued: AtomicUsize::new(0),
            capacity: AtomicUsize::new(C0),
            inside: AtomicUsize::new(0),
            fail_when_queued,
        })
    }

    /// Requests inside the server now: what a limiter in front of it admitted.
    pub fn inside(&self) -> usize {
        self.inside.load(Relaxed)
    }

    pub async fn serve(&self) -> Result<(), Overloaded> {
        struct Inside<'a>(&'a AtomicUsize);
        impl Drop for Inside<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Relaxed);
            }
        }
        self.inside.fetch_add(1, Relaxed);
        let _inside = Inside(&self.inside);
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

    pub fn set_capacity(self: &Arc<Self>, c: usize) {
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
pub struct Phase {
    pub name: &'static str,
    pub load: f64,
    pub capacity: usize,
    pub secs: u64,
}

pub const PHASES: [Phase; 5] = [
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
pub struct Measured {
    pub phase: Phase,
    /// From the phase's start until the limit last entered ±20% of `C` and stayed; `None` if
    /// it was outside at the end.
    pub settled: Option<Duration>,
    /// Successful calls over what the server could serve in the phase.
    pub goodput: f64,
    /// The 99th percentile latency of successful calls.
    pub p99: Duration,
    /// Limit samples every 10 ms: min, max over the phase's second half.
    pub limits: (usize, usize),
}

#[derive(Default)]
struct Log {
    latencies: Vec<Vec<Duration>>,
    /// Every successful call: when it ended (seconds from the start) and its latency (ms).
    done: Vec<(f64, f64)>,
}

/// What happened over time.
#[derive(Debug, Default)]
pub struct Trace {
    /// Every 10 ms: seconds from the start, the limit, the requests inside the server.
    pub points: Vec<(f64, usize, usize)>,
    /// Every successful call: when it ended, its latency in milliseconds.
    pub latencies: Vec<(f64, f64)>,
    /// Each phase's start, in seconds, and its capacity.
    pub phases: Vec<(f64, usize)>,
}

/// Runs `phases`; `call` makes one request through the limiter under test, `limit` reads its
/// current limit, if the limiter tells (otherwise the requests inside the server stand for it:
/// under overload they are what the limiter admits). Returns each phase's figures and what
/// happened over time.
pub async fn run<F, Fut>(
    phases: &[Phase],
    server: Arc<Server>,
    call: F,
    limit: impl Fn() -> Option<usize>,
) -> (Vec<Measured>, Trace)
where
    F: Fn(Arc<Server>) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let log = Arc::new(Mutex::new(Log::default()));
    let current = Arc::new(AtomicUsize::new(0));
    let mut trace = Trace::default();
    let mut measured = Vec::new();
    let t0 = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for (i, phase) in phases.iter().enumerate() {
        log.lock().unwrap().latencies.push(Vec::new());
        current.store(i, Relaxed);
        server.set_capacity(phase.capacity);
        trace
            .phases
            .push((t0.elapsed().as_secs_f64(), phase.capacity));
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
                        let latency = start.elapsed();
                        let mut log = log.lock().unwrap();
                        let end = t0.elapsed().as_secs_f64();
                        log.done.push((end, latency.as_secs_f64() * 1e3));
                        // Goodput and p99 are measured once the limit had time to settle.
                        if start >= settled_from {
                            log.latencies[i].push(latency);
                        }
                    }
                });
            }
            if ms % 10 == 0 {
                let inside = server.inside();
                let l = limit().unwrap_or(inside);
                limits.push(l);
                trace.points.push((t0.elapsed().as_secs_f64(), l, inside));
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
    let mut log = log.lock().unwrap();
    trace.latencies = std::mem::take(&mut log.done);
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

pub fn print(name: &str, measured: &[Measured]) {
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
