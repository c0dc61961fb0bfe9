//! Adaptive concurrency limit and adaptive throttle, uncontended: the bare call against
//! failguard's two front doors, failguard's static `Bulkhead` and tower's `ConcurrencyLimit`
//! (static limits: the floor an adaptive one adds its clock reads and window to), and the peers'
//! adaptive limiters, tower-resilience's and tower-acc's. Tower services are driven as tower
//! requires, `ready()` then `call()` for every request.

use std::{
    convert::Infallible,
    future::{Ready, ready},
    hint::black_box,
};

use criterion::{BenchmarkId, Criterion};
use failguard::{Bulkhead, Error, adaptive::AdaptiveLimit, throttle::AdaptiveThrottle};
use tower::{Layer, service_fn};

use crate::support::{per_call, runtime, time_async, time_service};

fn op() -> Ready<Result<u64, Infallible>> {
    ready(Ok(black_box(42)))
}

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("adaptive");
    per_call(&mut group);

    group.bench_function(BenchmarkId::new("bare", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, op))
    });

    // Built inside the runtime: the throttle's window starts at tokio's `Instant::now()`.
    let (limit, throttle) = rt.block_on(async {
        (
            AdaptiveLimit::builder().build().unwrap(),
            AdaptiveThrottle::builder().build().unwrap(),
        )
    });
    group.bench_function(BenchmarkId::new("failguard AdaptiveLimit", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || limit.call(op)))
    });
    let mut svc = limit
        .layer()
        .layer(service_fn(|()| async { op().await.map_err(Error::Inner) }));
    group.bench_function(BenchmarkId::new("failguard AdaptiveLimit", "tower"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut svc, || ()))
    });
    group.bench_function(
        BenchmarkId::new("failguard AdaptiveThrottle", "call"),
        |b| b.iter_custom(|iters| time_async(&rt, iters, || throttle.call(op))),
    );

    let bulkhead = Bulkhead::new(1000).unwrap();
    group.bench_function(
        BenchmarkId::new("failguard Bulkhead (static)", "call"),
        |b| b.iter_custom(|iters| time_async(&rt, iters, || bulkhead.call(op))),
    );
    let mut limit = tower::limit::ConcurrencyLimitLayer::new(1000).layer(service_fn(|()| op()));
    group.bench_function(
        BenchmarkId::new("tower ConcurrencyLimit (static)", "tower"),
        |b| b.iter_custom(|iters| time_service(&rt, iters, &mut limit, || ())),
    );

    let vegas = tower_resilience_adaptive::Vegas::builder().build().unwrap();
    let mut resilience =
        tower_resilience_adaptive::AdaptiveLimiterLayer::new(vegas).layer(service_fn(|()| op()));
    group.bench_function(BenchmarkId::new("tower-resilience Vegas", "tower"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut resilience, || ()))
    });
    let vegas = tower_acc::Vegas::builder().build();
    let mut acc = tower_acc::ConcurrencyLimitLayer::new(vegas).layer(service_fn(|()| op()));
    group.bench_function(BenchmarkId::new("tower-acc Vegas", "tower"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut acc, || ()))
    });

    group.finish();
}
