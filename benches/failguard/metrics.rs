//! The `metrics` feature on the happy path: a count-window breaker and a bulkhead without a
//! listener, with a `MetricsListener` whose series went to no recorder (the facade's no-op),
//! with one counting into a real Prometheus recorder, and with one that counts no calls
//! (`count_calls(false)`), against the bare call, in one group.
//!
//! Run: `cargo bench --features metrics --bench failguard -- metrics`.

use criterion::Criterion;

#[cfg(not(feature = "metrics"))]
pub fn bench(_: &mut Criterion) {}

#[cfg(feature = "metrics")]
pub fn bench(c: &mut Criterion) {
    use std::{convert::Infallible, future::ready, hint::black_box};

    use criterion::BenchmarkId;
    use failguard::{
        Bulkhead, CircuitBreaker,
        metrics::{Gauges, MetricsListener},
    };
    use metrics_exporter_prometheus::PrometheusBuilder;

    use crate::support::{per_call, runtime, time_async};

    fn op() -> std::future::Ready<Result<u64, Infallible>> {
        ready(Ok(black_box(42)))
    }

    let rt = runtime();
    let recorder = PrometheusBuilder::new()
        .with_recommended_naming(true)
        .build_recorder();
    let prometheus = recorder.handle();
    // A listener registers its series at its policy's first event, with the recorder in effect
    // then: one call with the Prometheus recorder set for this thread, or with none.
    let with_recorder = |first: &dyn Fn()| metrics::with_local_recorder(&recorder, first);
    let without = |first: &dyn Fn()| first();

    let mut group = c.benchmark_group("metrics");
    per_call(&mut group);
    group.bench_function(BenchmarkId::new("bare", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, op))
    });

    let breakers = [
        ("no listener", None, &without as &dyn Fn(&dyn Fn())),
        (
            "listener, no recorder",
            Some(MetricsListener::new()),
            &without,
        ),
        (
            "listener, prometheus",
            Some(MetricsListener::new()),
            &with_recorder,
        ),
        (
            "count_calls(false), prometheus",
            Some(MetricsListener::new().count_calls(false)),
            &with_recorder,
        ),
    ];
    let mut gauges = Gauges::new();
    for (label, listener, register) in breakers {
        let mut builder = CircuitBreaker::builder().count_window(100).name("bench");
        if let Some(listener) = listener {
            builder = builder.listener(listener);
        }
        let breaker = builder.build().unwrap();
        register(&|| {
            rt.block_on(breaker.call(op)).unwrap();
        });
        gauges = gauges.breaker(&breaker);
        group.bench_function(BenchmarkId::new("breaker count window", label), |b| {
            b.iter_custom(|iters| time_async(&rt, iters, || breaker.call(op)))
        });
    }

    let bulkheads = [
        ("no listener", None, &without as &dyn Fn(&dyn Fn())),
        (
            "listener, no recorder",
            Some(MetricsListener::new()),
            &without,
        ),
        (
            "listener, prometheus",
            Some(MetricsListener::new()),
            &with_recorder,
        ),
        (
            "count_calls(false), prometheus",
            Some(MetricsListener::new().count_calls(false)),
            &with_recorder,
        ),
    ];
    for (label, listener, register) in bulkheads {
        let mut builder = Bulkhead::builder().max_concurrent(64).name("bench");
        if let Some(listener) = listener {
            builder = builder.listener(listener);
        }
        let bulkhead = builder.build().unwrap();
        register(&|| {
            rt.block_on(bulkhead.call(op)).unwrap();
        });
        gauges = gauges.bulkhead(&bulkhead);
        group.bench_function(BenchmarkId::new("bulkhead", label), |b| {
            b.iter_custom(|iters| time_async(&rt, iters, || bulkhead.call(op)))
        });
    }

    // What a scrape costs the application (not the calls): every gauge from a snapshot.
    metrics::with_local_recorder(&recorder, || gauges.record());
    group.bench_function(BenchmarkId::new("gauges", "record (8 policies)"), |b| {
        b.iter(|| gauges.record())
    });
    group.finish();

    // The listeners did count into the recorder: the figures are real.
    let text = prometheus.render();
    assert!(text.contains("failguard_calls_total"), "{text}");
}
