//! Shared bench plumbing: run an async body `iters` times inside one tokio runtime, so runtime
//! entry is outside the timed loop and every contender pays the same per-call costs.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use criterion::{BenchmarkGroup, Throughput, measurement::WallTime};

/// A current-thread runtime with the timer enabled, as a client would have.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
}

/// Times `iters` sequential awaits of the future made by `make`.
pub fn time_async<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, mut make: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(make().await);
        }
        start.elapsed()
    })
}

/// Per-call figures: one element per iteration.
pub fn per_call(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.throughput(Throughput::Elements(1));
}

/// Times `iters` sequential `ready()` + `call(req)` round trips through a tower service, as a
/// tower client must drive it.
pub fn time_service<S, Req>(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    service: &mut S,
    mut request: impl FnMut() -> Req,
) -> Duration
where
    S: tower::Service<Req>,
    S::Error: std::fmt::Debug,
{
    use tower::ServiceExt;
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let ready = service.ready().await.expect("the service is ready");
            std::hint::black_box(ready.call(request()).await.ok());
        }
        start.elapsed()
    })
}
