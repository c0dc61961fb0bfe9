//! Timeout, when the call finishes in time: the bare call against failguard's two front doors,
//! tower's `Timeout`, tokio's `time::timeout` and seatbelt's timeout.

use std::{convert::Infallible, future::ready, hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion};
use failguard::{Error, Timeout};
use tower::{Service, ServiceExt, service_fn};

use crate::support::{per_call, runtime, time_async};

const LIMIT: Duration = Duration::from_secs(1);

/// The operation: finishes on its first poll, as a cached or local answer does.
fn op() -> std::future::Ready<Result<u64, Infallible>> {
    ready(Ok(black_box(42)))
}

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("timeout");
    per_call(&mut group);

    group.bench_function(BenchmarkId::new("bare", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, op))
    });

    let timeout = Timeout::new(LIMIT).unwrap();
    group.bench_function(BenchmarkId::new("failguard", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || timeout.call(op)))
    });

    let mut svc = tower::Layer::layer(
        &timeout.layer(),
        service_fn(|()| async { op().await.map_err(Error::Inner) }),
    );
    rt.block_on(async { svc.ready().await.map(|_| ()) })
        .unwrap();
    group.bench_function(BenchmarkId::new("failguard", "tower"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || svc.call(())))
    });

    let mut tower_svc = tower::timeout::Timeout::new(service_fn(|()| op()), LIMIT);
    rt.block_on(async { tower_svc.ready().await.map(|_| ()) })
        .unwrap();
    group.bench_function(BenchmarkId::new("tower", "Timeout"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || tower_svc.call(())))
    });

    group.bench_function(BenchmarkId::new("tokio", "time::timeout"), |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || {
                // The runtime context must be entered to create the timer.
                tokio::time::timeout(LIMIT, op())
            })
        })
    });

    let seatbelt_svc = rt.block_on(async { seatbelt_timeout() });
    group.bench_function(BenchmarkId::new("seatbelt", "timeout"), |b| {
        use layered::Service as _;
        b.iter_custom(|iters| time_async(&rt, iters, || seatbelt_svc.execute(())))
    });

    group.finish();
}

fn seatbelt_timeout() -> impl layered::Service<(), Out = Result<u64, Infallible>> {
    use layered::{Execute, Stack};
    use seatbelt::{ResilienceContext, timeout::Timeout};

    let clock = tick::Clock::new_tokio();
    let context = ResilienceContext::new(&clock);
    let stack = (
        Timeout::layer("timeout", &context)
            .timeout_output(|_| Ok(0))
            .timeout(LIMIT),
        Execute::new(|()| op()),
    );
    stack.into_service()
}
