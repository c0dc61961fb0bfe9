//! Bulkhead, uncontended (then 64 tasks on 2 workers against 1 task): the bare call against failguard's two front doors and tower's
//! `ConcurrencyLimit`. Tower services are driven as tower requires, `ready()` then `call()` for
//! every request (`ConcurrencyLimit` takes its permit in `poll_ready`).

use std::{
    convert::Infallible,
    future::{Future, ready},
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion};
use failguard::{Bulkhead, Error};
use tower::{Layer, service_fn};

use crate::support::{per_call, runtime, time_async, time_service};

fn op() -> std::future::Ready<Result<u64, Infallible>> {
    ready(Ok(black_box(42)))
}

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("bulkhead");
    per_call(&mut group);

    group.bench_function(BenchmarkId::new("bare", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, op))
    });

    let bulkhead = Bulkhead::new(64).unwrap();
    group.bench_function(BenchmarkId::new("failguard", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || bulkhead.call(op)))
    });

    let mut svc = bulkhead
        .layer()
        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
    group.bench_function(BenchmarkId::new("failguard", "tower"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut svc, || ()))
    });

    let mut by_ref = bulkhead
        .layer_ref()
        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
    group.bench_function(BenchmarkId::new("failguard", "tower layer_ref"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut by_ref, || ()))
    });

    let mut limit = tower::limit::ConcurrencyLimitLayer::new(64).layer(service_fn(|()| op()));
    group.bench_function(BenchmarkId::new("tower", "ConcurrencyLimit"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut limit, || ()))
    });

    group.finish();
    contention(c);
}

/// Splits `iters` calls over `tasks` tasks on a runtime of 2 workers and times them all: the
/// figure per call is the total time over the total calls, so 64 tasks against 1 task shows what
/// two cores sharing one bulkhead's permits cost.
fn time_tasks<R, Fut>(rt: &tokio::runtime::Runtime, iters: u64, tasks: u64, run: R) -> Duration
where
    R: Fn(u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let per_task = iters.div_ceil(tasks).max(1);
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks).map(|_| tokio::spawn(run(per_task))).collect();
        for handle in handles {
            handle.await.expect("a bench task");
        }
        start.elapsed()
    });
    elapsed.mul_f64(iters as f64 / (per_task * tasks) as f64)
}

fn contention(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let mut group = c.benchmark_group("bulkhead_contention");
    per_call(&mut group);
    let bulkhead = Bulkhead::new(64).unwrap();
    for tasks in [1, 64] {
        let label = format!("{tasks} tasks, 2 workers");
        group.bench_function(BenchmarkId::new("failguard call", &label), |b| {
            b.iter_custom(|iters| {
                time_tasks(&rt, iters, tasks, |n| {
                    let bulkhead = bulkhead.clone();
                    async move {
                        for _ in 0..n {
                            black_box(bulkhead.call(op).await.is_ok());
                        }
                    }
                })
            })
        });
        group.bench_function(BenchmarkId::new("failguard tower", &label), |b| {
            b.iter_custom(|iters| {
                time_tasks(&rt, iters, tasks, |n| {
                    let mut svc = bulkhead
                        .layer()
                        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
                    async move {
                        use tower::{Service, ServiceExt};
                        for _ in 0..n {
                            let ready = svc.ready().await.expect("ready");
                            black_box(ready.call(()).await.is_ok());
                        }
                    }
                })
            })
        });
    }
    group.finish();
}
