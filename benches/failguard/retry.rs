//! Retry, when the first attempt succeeds (the path every call takes while the dependency is
//! healthy): the bare call against failguard's two front doors, tower's `Retry`, backon and
//! seatbelt.

use std::{convert::Infallible, future::ready, hint::black_box};

use criterion::{BenchmarkId, Criterion};
use failguard::{Error, Retry, retry::RetryBudget};
use tower::{Service, ServiceExt, service_fn};

use crate::support::{per_call, runtime, time_async};

/// The operation: finishes on its first poll, as a cached or local answer does.
fn op() -> std::future::Ready<Result<u64, Infallible>> {
    ready(Ok(black_box(42)))
}

/// tower's retry policy, as its docs write one: retry errors up to `self.0` more times.
#[derive(Clone)]
struct Attempts(usize);

impl<Req: Clone, Res, E> tower::retry::Policy<Req, Res, E> for Attempts {
    type Future = std::future::Ready<()>;

    fn retry(&mut self, _: &mut Req, result: &mut Result<Res, E>) -> Option<Self::Future> {
        match result {
            Err(_) if self.0 > 0 => {
                self.0 -= 1;
                Some(ready(()))
            }
            _ => None,
        }
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        Some(req.clone())
    }
}

/// tower's retry policy with its `TpsBudget`, as tower's budget docs write one: a success
/// deposits, a failure withdraws to retry.
#[derive(Clone)]
struct Budgeted(std::sync::Arc<tower::retry::budget::TpsBudget>);

impl<Req: Clone, Res, E> tower::retry::Policy<Req, Res, E> for Budgeted {
    type Future = std::future::Ready<()>;

    fn retry(&mut self, _: &mut Req, result: &mut Result<Res, E>) -> Option<Self::Future> {
        use tower::retry::budget::Budget;
        match result {
            Ok(_) => {
                self.0.deposit();
                None
            }
            Err(_) => self.0.withdraw().then(|| ready(())),
        }
    }

    fn clone_request(&mut self, req: &Req) -> Option<Req> {
        Some(req.clone())
    }
}

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("retry");
    per_call(&mut group);

    group.bench_function(BenchmarkId::new("bare", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, op))
    });

    let retry = Retry::new(3).unwrap();
    group.bench_function(BenchmarkId::new("failguard", "call"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || retry.call(op)))
    });

    // With a budget, each call also counts itself in it (a clock read and one store to its
    // thread's stripe).
    let budgeted = Retry::builder()
        .budget(RetryBudget::builder().build().unwrap())
        .build()
        .unwrap();
    group.bench_function(BenchmarkId::new("failguard", "call+budget"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || budgeted.call(op)))
    });

    let mut svc = tower::Layer::layer(
        &retry.layer(),
        service_fn(|()| async { op().await.map_err(Error::Inner) }),
    );
    rt.block_on(async { svc.ready().await.map(|_| ()) })
        .unwrap();
    group.bench_function(BenchmarkId::new("failguard", "tower"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || svc.call(())))
    });

    // The same layer borrowing the retry (`layer_ref`): no reference count per call.
    let mut by_ref = tower::Layer::layer(
        &retry.layer_ref(),
        service_fn(|()| async { op().await.map_err(Error::Inner) }),
    );
    group.bench_function(BenchmarkId::new("failguard", "tower layer_ref"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || by_ref.call(())))
    });

    let mut tower_svc = tower::retry::Retry::new(Attempts(2), service_fn(|()| op()));
    rt.block_on(async { tower_svc.ready().await.map(|_| ()) })
        .unwrap();
    group.bench_function(BenchmarkId::new("tower", "Retry"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || tower_svc.call(())))
    });

    // Finagle's defaults, as `RetryBudget::builder()` has them: 10 s, 10/s, 20 %.
    let tps = tower::retry::budget::TpsBudget::new(std::time::Duration::from_secs(10), 10, 0.2);
    let mut tower_budgeted =
        tower::retry::Retry::new(Budgeted(std::sync::Arc::new(tps)), service_fn(|()| op()));
    rt.block_on(async { tower_budgeted.ready().await.map(|_| ()) })
        .unwrap();
    group.bench_function(BenchmarkId::new("tower", "Retry+TpsBudget"), |b| {
        b.iter_custom(|iters| time_async(&rt, iters, || tower_budgeted.call(())))
    });

    group.bench_function(BenchmarkId::new("backon", "retry"), |b| {
        use backon::Retryable;
        b.iter_custom(|iters| {
            time_async(&rt, iters, || {
                op.retry(backon::ExponentialBuilder::default().with_max_times(2))
            })
        })
    });

    let seatbelt_svc = rt.block_on(async { seatbelt_retry() });
    group.bench_function(BenchmarkId::new("seatbelt", "retry"), |b| {
        use layered::Service as _;
        b.iter_custom(|iters| time_async(&rt, iters, || seatbelt_svc.execute(())))
    });

    group.finish();
}

/// seatbelt's retry, two retries of an error, as its docs write one (it clones the input for
/// each attempt); built inside the runtime, which its tokio clock needs.
fn seatbelt_retry() -> impl layered::Service<(), Out = Result<u64, Infallible>> {
    use layered::{Execute, Stack};
    use seatbelt::{RecoveryInfo, ResilienceContext, retry::Retry};

    let clock = tick::Clock::new_tokio();
    let context = ResilienceContext::new(&clock);
    let stack = (
        Retry::layer("retry", &context)
            .clone_input()
            .recovery_with(|out: &Result<u64, Infallible>, _| match out {
                Ok(_) => RecoveryInfo::never(),
                Err(_) => RecoveryInfo::retry(),
            })
            .max_retry_attempts(2),
        Execute::new(|()| op()),
    );
    stack.into_service()
}
