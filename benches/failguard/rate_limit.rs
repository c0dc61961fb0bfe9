//! Rate limiter, never limiting (a rate far above the bench's): what admission costs. The bare
//! call, failguard's two front doors and its `check()`, against governor's direct limiter
//! (`check()`), tower's `RateLimit` and tower-resilience's rate limiter; then contention, one
//! shared limiter asked from 1 and from 2 threads at once.

use std::{
    convert::Infallible,
    future::ready,
    hint::black_box,
    num::NonZeroU32,
    sync::Barrier,
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion};
use failguard::{Error, RateLimiter};
use governor::{Quota, RateLimiter as Governor};
use tower::{Layer, service_fn};

use crate::support::{per_call, runtime, time_async, time_service};

fn op() -> std::future::Ready<Result<u64, Infallible>> {
    ready(Ok(black_box(42)))
}

/// A billion a second with a burst of four billion: never limits the bench.
fn failguard() -> RateLimiter {
    RateLimiter::builder()
        .per_second(1_000_000_000)
        .burst(u32::MAX)
        .build()
        .unwrap()
}

fn governor() -> governor::DefaultDirectRateLimiter {
    Governor::direct(
        Quota::per_second(NonZeroU32::new(1_000_000_000).unwrap()).allow_burst(NonZeroU32::MAX),
    )
}

pub fn bench(c: &mut Criterion) {
    uncontended(c);
    contention(c);
}

fn uncontended(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("rate_limit");
    per_call(&mut group);

    group.bench_function(BenchmarkId::new("bare", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, op))
    });

    // The floor of any limiter driven by tokio's clock (so the paused clock drives it): one
    // clock read.
    group.bench_function(BenchmarkId::new("floor", "tokio Instant::now"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(tokio::time::Instant::now());
            }
            start.elapsed()
        })
    });

    let limiter = failguard();
    // A rate whose spacing is no whole number of nanoseconds: the unit conversion's multiply
    // and divide.
    let thirds = RateLimiter::builder()
        .rate(999_999_999, Duration::from_secs(1))
        .burst(u32::MAX)
        .build()
        .unwrap();
    group.bench_function(
        BenchmarkId::new("failguard", "check, inexact spacing"),
        |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(thirds.check().is_ok());
                }
                start.elapsed()
            })
        },
    );
    group.bench_function(BenchmarkId::new("failguard", "check"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(limiter.check().is_ok());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function(BenchmarkId::new("failguard", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || limiter.call(op)))
    });
    let mut svc = limiter
        .layer()
        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
    group.bench_function(BenchmarkId::new("failguard", "tower"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut svc, || ()))
    });

    let gov = governor();
    group.bench_function(BenchmarkId::new("governor", "direct check"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(gov.check().is_ok());
            }
            start.elapsed()
        })
    });

    let mut tower_limit = rt.block_on(async {
        tower::limit::RateLimitLayer::new(u64::MAX, Duration::from_secs(1))
            .layer(service_fn(|()| op()))
    });
    group.bench_function(BenchmarkId::new("tower", "RateLimit"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut tower_limit, || ()))
    });

    let mut resilience = rt.block_on(async {
        tower_resilience_ratelimiter::RateLimiterLayer::builder()
            .limit_for_period(usize::MAX / 2)
            .refresh_period(Duration::from_secs(1))
            .build()
            .unwrap()
            .layer(service_fn(|()| op()))
    });
    group.bench_function(BenchmarkId::new("tower-resilience", "ratelimiter"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut resilience, || ()))
    });

    group.finish();
}

/// Splits `iters` asks over `threads` threads started together, each asking `ask` in a loop;
/// the figure per call is the total time over the total calls (flat from 1 to 2 threads: no
/// scaling, but no collapse either; a shared word cannot scale).
fn time_threads(threads: u64, iters: u64, ask: &(dyn Fn() -> bool + Sync)) -> Duration {
    let per_thread = iters.div_ceil(threads).max(1);
    let barrier = Barrier::new(threads as usize + 1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..per_thread {
                    black_box(ask());
                }
                barrier.wait();
            });
        }
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        start.elapsed()
    })
    .mul_f64(iters as f64 / (per_thread * threads) as f64)
}

fn contention(c: &mut Criterion) {
    let mut group = c.benchmark_group("rate_limit_contention");
    per_call(&mut group);
    let limiter = failguard();
    let gov = governor();
    for threads in [1, 2] {
        let label = format!("{threads} threads");
        group.bench_function(BenchmarkId::new("failguard check", &label), |b| {
            b.iter_custom(|iters| time_threads(threads, iters, &|| limiter.check().is_ok()))
        });
        group.bench_function(BenchmarkId::new("governor direct check", &label), |b| {
            b.iter_custom(|iters| time_threads(threads, iters, &|| gov.check().is_ok()))
        });
    }
    group.finish();
}
