//! Chaos and hedging on the happy path: a disabled chaos policy (one atomic load: the cost of
//! leaving it in a build), an enabled one that draws and never injects (rate 0), and a hedge
//! whose first attempt is ready at once (no clock read, no timer), each against the bare call.

use std::{convert::Infallible, future::ready, hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion};
use failguard::{Error, chaos::Chaos, hedge::Hedge};
use tower::{Layer, service_fn};

use crate::support::{per_call, runtime, time_async, time_service};

fn op() -> std::future::Ready<Result<u64, Infallible>> {
    ready(Ok(black_box(42)))
}

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("chaos");
    per_call(&mut group);

    group.bench_function(BenchmarkId::new("bare", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, op))
    });

    let disabled = Chaos::builder()
        .injection_rate(1.0)
        .result(0u64)
        .enabled(false)
        .build()
        .unwrap();
    group.bench_function(
        BenchmarkId::new("failguard", "Chaos::call, disabled"),
        |b| b.iter_custom(|iters| time_async(&rt, iters, || disabled.call(op))),
    );
    let mut svc = disabled
        .layer()
        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
    group.bench_function(BenchmarkId::new("failguard", "ChaosLayer, disabled"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut svc, || ()))
    });
    let drawing = Chaos::builder()
        .injection_rate(0.0)
        .result(0u64)
        .build()
        .unwrap();
    group.bench_function(
        BenchmarkId::new("failguard", "Chaos::call, enabled, rate 0"),
        |b| b.iter_custom(|iters| time_async(&rt, iters, || drawing.call(op))),
    );

    let fixed = Hedge::new(Duration::from_millis(10)).unwrap();
    group.bench_function(BenchmarkId::new("failguard", "Hedge::call, fixed"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || fixed.call(op)))
    });
    let dynamic = Hedge::builder().percentile_delay(95.0).build().unwrap();
    group.bench_function(BenchmarkId::new("failguard", "Hedge::call, p95"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || dynamic.call(op)))
    });
    group.finish();
}
