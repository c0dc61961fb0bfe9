//! Bulkhead, uncontended: the bare call against failguard's two front doors and tower's
//! `ConcurrencyLimit`. Tower services are driven as tower requires, `ready()` then `call()` for
//! every request (`ConcurrencyLimit` takes its permit in `poll_ready`).

use std::{convert::Infallible, future::ready, hint::black_box};

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

    let mut limit = tower::limit::ConcurrencyLimitLayer::new(64).layer(service_fn(|()| op()));
    group.bench_function(BenchmarkId::new("tower", "ConcurrencyLimit"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut limit, || ()))
    });

    group.finish();
}
