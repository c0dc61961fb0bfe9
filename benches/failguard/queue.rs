//! Queue round trip (submit, run on a worker task, get the result back): the bare call against
//! failguard's two front doors, tower's `Buffer` and a raw tokio `mpsc` + `oneshot` round trip to
//! a worker task, all on one current-thread runtime.

use std::{
    convert::Infallible,
    fmt::Debug,
    future::ready,
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion};
use failguard::{Error, Queue};
use tokio::sync::{mpsc, oneshot};
use tower::{Service, ServiceExt, service_fn};

use crate::support::{per_call, runtime, time_async};

const BOUND: usize = 1024;

/// The operation: finishes on its first poll, so the figures are the queue's own cost.
fn op() -> std::future::Ready<Result<u64, Infallible>> {
    ready(Ok(black_box(42)))
}

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("queue");
    per_call(&mut group);

    group.bench_function(BenchmarkId::new("bare", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, op))
    });

    let queue = rt
        .block_on(async { Queue::builder().capacity(BOUND).build() })
        .unwrap();
    group.bench_function(BenchmarkId::new("failguard", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || queue.call(op)))
    });

    let mut svc = tower::Layer::layer(
        &queue.layer(),
        service_fn(|()| async { op().await.map_err(Error::Inner) }),
    );
    group.bench_function(BenchmarkId::new("failguard", "tower"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut svc))
    });

    let mut buffer =
        rt.block_on(async { tower::buffer::Buffer::new(service_fn(|()| op()), BOUND) });
    group.bench_function(BenchmarkId::new("tower", "Buffer"), |b| {
        b.iter_custom(|iters| time_service(&rt, iters, &mut buffer))
    });

    let (tx, mut rx) = mpsc::channel::<oneshot::Sender<Result<u64, Infallible>>>(BOUND);
    rt.spawn(async move {
        while let Some(reply) = rx.recv().await {
            let _ = reply.send(op().await);
        }
    });
    group.bench_function(BenchmarkId::new("tokio", "mpsc+oneshot"), |b| {
        b.iter_custom(|iters| {
            time_async(&rt, iters, || {
                let tx = &tx;
                async move {
                    let (reply, result) = oneshot::channel();
                    tx.send(reply).await.unwrap();
                    result.await.unwrap()
                }
            })
        })
    });

    group.finish();
}

/// Times `iters` sequential `ready().await` + `call().await` on `svc`, as a tower client does.
fn time_service<S>(rt: &tokio::runtime::Runtime, iters: u64, svc: &mut S) -> Duration
where
    S: Service<()>,
    S::Error: Debug,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let ready = svc.ready().await.unwrap();
            black_box(ready.call(()).await.unwrap());
        }
        start.elapsed()
    })
}
