//! Lifting the leaf's error into `Error::Inner`: the unlifted leaf against the three ways to
//! write the lift, alone and under a bulkhead (where an indirect call also stops the stack from
//! inlining around it). `map_err(Error::Inner)` passes a function item (as a closure would be);
//! `Error::Inner as fn(_) -> _` is the nameable function pointer; `LiftLayer` is the nameable
//! `Lift<S>`, which should cost what the function item costs.

use std::{future::ready, hint::black_box, io};

use criterion::{BenchmarkId, Criterion};
use failguard::{Bulkhead, Error, LiftLayer};
use tower::{Service, ServiceBuilder, service_fn};

use crate::support::{per_call, runtime, time_service};

/// The leaf: answers on its first poll with its own error type.
fn leaf() -> impl Service<(), Response = u64, Error = io::Error, Future: Send> + Clone {
    service_fn(|()| ready(Ok::<_, io::Error>(black_box(42))))
}

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("lift");
    per_call(&mut group);

    let mut bare = leaf();
    group.bench_function(BenchmarkId::new("unlifted", "leaf"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut bare, || ()))
    });

    let mut item = ServiceBuilder::new().map_err(Error::Inner).service(leaf());
    group.bench_function(BenchmarkId::new("map_err fn item", "leaf"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut item, || ()))
    });

    let mut pointer = ServiceBuilder::new()
        .map_err(Error::Inner as fn(_) -> _)
        .service(leaf());
    group.bench_function(BenchmarkId::new("map_err fn pointer", "leaf"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut pointer, || ()))
    });

    let mut lift = ServiceBuilder::new().layer(LiftLayer).service(leaf());
    group.bench_function(BenchmarkId::new("LiftLayer", "leaf"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut lift, || ()))
    });

    let bulkhead = Bulkhead::new(64).unwrap();
    let mut item = ServiceBuilder::new()
        .layer(bulkhead.layer())
        .map_err(Error::Inner)
        .service(leaf());
    group.bench_function(BenchmarkId::new("map_err fn item", "under bulkhead"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut item, || ()))
    });

    let mut pointer = ServiceBuilder::new()
        .layer(bulkhead.layer())
        .map_err(Error::Inner as fn(_) -> _)
        .service(leaf());
    group.bench_function(
        BenchmarkId::new("map_err fn pointer", "under bulkhead"),
        |b| b.iter_custom(|iters| time_service(&rt, iters, &mut pointer, || ())),
    );

    let mut lift = ServiceBuilder::new()
        .layer(bulkhead.layer())
        .layer(LiftLayer)
        .service(leaf());
    group.bench_function(BenchmarkId::new("LiftLayer", "under bulkhead"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut lift, || ()))
    });

    group.finish();
}
