//! Circuit breaker: the closed happy path and the open rejection, against the bare call and the
//! peers (recloser, failsafe, tower-resilience, seatbelt) in the same groups; then contention, one shared
//! breaker driven by many tasks on a runtime of 1 and of 2 worker threads.

use std::{
    convert::Infallible,
    future::{Future, ready},
    hint::black_box,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion};
use failguard::{CircuitBreaker, Error};
use failsafe::futures::CircuitBreaker as _;
use tower::{Layer, service_fn};

use crate::support::{per_call, runtime, time_async, time_service};

fn op() -> std::future::Ready<Result<u64, Infallible>> {
    ready(Ok(black_box(42)))
}

fn count_breaker() -> CircuitBreaker {
    CircuitBreaker::builder().count_window(100).build().unwrap()
}

fn time_breaker() -> CircuitBreaker {
    CircuitBreaker::builder()
        .time_window(Duration::from_secs(10), 10)
        .build()
        .unwrap()
}

fn recloser() -> recloser::AsyncRecloser {
    recloser::AsyncRecloser::from(recloser::Recloser::custom().closed_len(100).build())
}

fn failsafe_consecutive() -> impl failsafe::futures::CircuitBreaker + Clone + Send + Sync + 'static
{
    let backoff = failsafe::backoff::constant(Duration::from_secs(60));
    failsafe::Config::new()
        .failure_policy(failsafe::failure_policy::consecutive_failures(5, backoff))
        .build()
}

/// seatbelt's breaker (a failure ratio over a sampling window, its only kind) around an operation
/// that fails when asked to; built inside the runtime, which its tokio clock needs. A day-long
/// break keeps an opened breaker open for the whole run.
fn seatbelt_breaker(min_throughput: u32) -> impl layered::Service<bool, Out = Result<u64, ()>> {
    use layered::{Execute, Stack};
    use seatbelt::{RecoveryInfo, ResilienceContext, breaker::Breaker};

    let clock = tick::Clock::new_tokio();
    let context = ResilienceContext::new(&clock);
    let stack = (
        Breaker::layer("breaker", &context)
            .recovery_with(|out: &Result<u64, ()>, _| match out {
                Ok(_) => RecoveryInfo::never(),
                Err(()) => RecoveryInfo::retry(),
            })
            .rejected_input_error(|_, _| ())
            .min_throughput(min_throughput)
            .break_duration(Duration::from_secs(24 * 60 * 60)),
        Execute::new(|fail: bool| ready(if fail { Err(()) } else { Ok(black_box(42)) })),
    );
    stack.into_service()
}

pub fn bench(c: &mut Criterion) {
    closed(c);
    open(c);
    contention(c);
}

fn closed(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("breaker_closed");
    per_call(&mut group);

    group.bench_function(BenchmarkId::new("bare", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, op))
    });

    let breaker = count_breaker();
    group.bench_function(BenchmarkId::new("failguard", "count window"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || breaker.call(op)))
    });
    let timed = time_breaker();
    group.bench_function(BenchmarkId::new("failguard", "time window"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || timed.call(op)))
    });
    let mut svc = breaker
        .layer()
        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
    group.bench_function(BenchmarkId::new("failguard", "tower"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut svc, || ()))
    });

    let mut by_ref = breaker
        .layer_ref()
        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
    group.bench_function(BenchmarkId::new("failguard", "tower layer_ref"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut by_ref, || ()))
    });

    let reclose = recloser();
    group.bench_function(BenchmarkId::new("recloser", "count window"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || reclose.call(op())))
    });
    let consecutive = failsafe_consecutive();
    group.bench_function(BenchmarkId::new("failsafe", "consecutive failures"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || consecutive.call(op())))
    });
    let rate = failsafe::Config::new().build();
    group.bench_function(BenchmarkId::new("failsafe", "success rate"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || rate.call(op())))
    });
    let layer = tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .sliding_window_size(100)
        .build()
        .unwrap();
    let mut resilience = layer.layer(service_fn(|()| op()));
    group.bench_function(BenchmarkId::new("tower-resilience", "count window"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut resilience, || ()))
    });
    let seatbelt = rt.block_on(async { seatbelt_breaker(100) });
    group.bench_function(BenchmarkId::new("seatbelt", "time window"), |b| {
        use layered::Service as _;
        b.iter_custom(|iters| time_async(&rt, iters, || seatbelt.execute(false)))
    });

    group.finish();
}

/// Rejection while open, against its floor: the bare call plus one atomic load and one clock read.
fn open(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("breaker_open");
    per_call(&mut group);

    let word = AtomicU64::new(1);
    group.bench_function(BenchmarkId::new("bare", "call + load + clock"), |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || {
                black_box(word.load(Ordering::Acquire));
                black_box(tokio::time::Instant::now());
                op()
            })
        })
    });

    let breaker = CircuitBreaker::builder()
        .count_window(1)
        .minimum_calls(1)
        .open_duration(Duration::from_secs(24 * 60 * 60))
        .build()
        .unwrap();
    rt.block_on(breaker.call(|| ready(Err::<(), _>(()))))
        .unwrap_err();
    group.bench_function(BenchmarkId::new("failguard", "open"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || breaker.call(op)))
    });
    let mut svc = breaker
        .layer()
        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
    group.bench_function(BenchmarkId::new("failguard", "open tower"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut svc, || ()))
    });
    let mut by_ref = breaker
        .layer_ref()
        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
    group.bench_function(BenchmarkId::new("failguard", "open tower layer_ref"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut by_ref, || ()))
    });

    let reclose = recloser::AsyncRecloser::from(
        recloser::Recloser::custom()
            .closed_len(1)
            .open_wait(Duration::from_secs(24 * 60 * 60))
            .build(),
    );
    for _ in 0..2 {
        let _ = rt.block_on(reclose.call(ready(Err::<(), _>(()))));
    }
    group.bench_function(BenchmarkId::new("recloser", "open"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || reclose.call(op())))
    });

    let consecutive = failsafe_consecutive();
    for _ in 0..5 {
        let _ = rt.block_on(consecutive.call(ready(Err::<(), _>(()))));
    }
    group.bench_function(BenchmarkId::new("failsafe", "open"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || consecutive.call(op())))
    });

    let seatbelt = rt.block_on(async {
        use layered::Service as _;
        let service = seatbelt_breaker(1);
        service.execute(true).await.unwrap_err();
        service
    });
    group.bench_function(BenchmarkId::new("seatbelt", "open"), |b| {
        use layered::Service as _;
        b.iter_custom(|iters| time_async(&rt, iters, || seatbelt.execute(false)))
    });
    group.finish();
}

/// A multi-thread runtime of `workers` threads, timer on.
fn threaded(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_time()
        .build()
        .expect("a tokio runtime")
}

const TASKS: u64 = 16;

/// Splits `iters` calls over `TASKS` tasks on `rt`, each running `run(calls)`, and times them all.
/// The figure per call is the total time over the total calls: flat from 1 to 2 workers means no
/// scaling, half means perfect scaling.
fn time_tasks<R, Fut>(rt: &tokio::runtime::Runtime, iters: u64, run: R) -> Duration
where
    R: Fn(u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let per_task = iters.div_ceil(TASKS).max(1);
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS).map(|_| tokio::spawn(run(per_task))).collect();
        for task in tasks {
            task.await.expect("a bench task");
        }
        start.elapsed()
    });
    elapsed.mul_f64(iters as f64 / (per_task * TASKS) as f64)
}

/// `run` for a handle `$h` cloned once per task, calling `$call` in a loop.
macro_rules! tasks_of {
    ($h:expr, |$x:ident| $call:expr) => {{
        let handle = $h.clone();
        move |n: u64| {
            let $x = handle.clone();
            async move {
                for _ in 0..n {
                    black_box($call.await.is_ok());
                }
            }
        }
    }};
}

fn contention(c: &mut Criterion) {
    let mut group = c.benchmark_group("breaker_contention");
    per_call(&mut group);
    for workers in [1, 2] {
        let rt = threaded(workers);
        let label = format!("{workers} workers");
        group.bench_function(BenchmarkId::new("bare", &label), |b| {
            b.iter_custom(|iters| time_tasks(&rt, iters, tasks_of!((), |_x| op())))
        });
        let breaker = count_breaker();
        group.bench_function(BenchmarkId::new("failguard count window", &label), |b| {
            b.iter_custom(|iters| time_tasks(&rt, iters, tasks_of!(breaker, |b| b.call(op))))
        });
        // Every 100th call fails: the window is never clean, so every call takes its place from
        // the shared sequence (the path a degraded service's calls take).
        let mixed = count_breaker();
        group.bench_function(
            BenchmarkId::new("failguard count window 1% failures", &label),
            |b| {
                b.iter_custom(|iters| {
                    let handle = mixed.clone();
                    time_tasks(&rt, iters, move |n| {
                        let b = handle.clone();
                        async move {
                            for i in 0..n {
                                // Never the first call of a task: criterion starts with one call per task,
                                // which would fill the window with failures and open the breaker.
                                let r = if (i + 1) % 100 == 0 { Err(()) } else { Ok(i) };
                                black_box(b.call(|| ready(r)).await.is_ok());
                            }
                        }
                    })
                })
            },
        );
        let timed = time_breaker();
        group.bench_function(BenchmarkId::new("failguard time window", &label), |b| {
            b.iter_custom(|iters| time_tasks(&rt, iters, tasks_of!(timed, |b| b.call(op))))
        });
        let reclose = recloser();
        group.bench_function(BenchmarkId::new("recloser", &label), |b| {
            b.iter_custom(|iters| time_tasks(&rt, iters, tasks_of!(reclose, |r| r.call(op()))))
        });
        let consecutive = failsafe_consecutive();
        group.bench_function(BenchmarkId::new("failsafe consecutive", &label), |b| {
            b.iter_custom(|iters| time_tasks(&rt, iters, tasks_of!(consecutive, |f| f.call(op()))))
        });
    }
    group.finish();
}
