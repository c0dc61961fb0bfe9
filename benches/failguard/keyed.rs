//! Per-key policies (feature `keyed`): the lookup of an existing key plus its policy, against
//! governor's keyed limiter (`check_key`), with 10,000 keys held and the calls spread over 64 of
//! them. Then the lookup alone, and a keyed breaker's call.
//!
//! Run: `cargo bench --features keyed --bench failguard -- keyed`.

use criterion::Criterion;

#[cfg(not(feature = "keyed"))]
pub fn bench(_: &mut Criterion) {}

#[cfg(feature = "keyed")]
pub fn bench(c: &mut Criterion) {
    imp::bench(c)
}

#[cfg(feature = "keyed")]
mod imp {
    use std::{
        convert::Infallible, future::ready, hint::black_box, num::NonZeroU32, time::Instant,
    };

    use criterion::{BenchmarkId, Criterion};
    use failguard::{CircuitBreaker, RateLimiter, keyed::Keyed};
    use governor::{Quota, RateLimiter as Governor};

    use crate::support::{per_call, runtime, time_async};

    const KEYS: usize = 10_000;
    const HOT: usize = 64;

    fn keys() -> Vec<String> {
        (0..KEYS)
            .map(|i| format!("tenant-{i}.example.com"))
            .collect()
    }

    /// Times `iters` calls of `f`, each with the next of the first `HOT` keys.
    fn time_keys(keys: &[String], iters: u64, mut f: impl FnMut(&String)) -> std::time::Duration {
        let start = Instant::now();
        for i in 0..iters as usize {
            f(&keys[(i * 7) % HOT]);
        }
        start.elapsed()
    }

    pub fn bench(c: &mut Criterion) {
        let rt = runtime();
        let _guard = rt.enter();
        let keys = keys();
        let mut group = c.benchmark_group("keyed");
        per_call(&mut group);

        group.bench_function(BenchmarkId::new("bare", "call"), |b| {
            b.iter_custom(|iters| {
                time_async(&rt, iters, || ready(Ok::<_, Infallible>(black_box(1))))
            })
        });

        let quota =
            Quota::per_second(NonZeroU32::new(1_000_000_000).unwrap()).allow_burst(NonZeroU32::MAX);
        let governor = Governor::keyed(quota);
        for key in &keys {
            let _ = governor.check_key(key);
        }
        group.bench_function(BenchmarkId::new("governor", "keyed check_key"), |b| {
            b.iter_custom(|iters| {
                time_keys(&keys, iters, |key| {
                    black_box(governor.check_key(key)).ok();
                })
            })
        });

        let limits: Keyed<String, RateLimiter> = Keyed::builder(
            RateLimiter::builder()
                .per_second(1_000_000_000)
                .burst(u32::MAX)
                .build()
                .unwrap(),
        )
        .max_keys(2 * KEYS)
        .build()
        .unwrap();
        for key in &keys {
            limits.get(key.as_str());
        }
        group.bench_function(
            BenchmarkId::new("failguard", "keyed rate limiter get + check"),
            |b| {
                b.iter_custom(|iters| {
                    time_keys(&keys, iters, |key| {
                        black_box(limits.get(key.as_str()).check()).ok();
                    })
                })
            },
        );
        group.bench_function(
            BenchmarkId::new("failguard", "keyed rate limiter call"),
            |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for i in 0..iters as usize {
                            let key = keys[(i * 7) % HOT].as_str();
                            black_box(limits.call(key, || ready(Ok::<_, Infallible>(1))).await)
                                .ok();
                        }
                        start.elapsed()
                    })
                })
            },
        );
        group.bench_function(
            BenchmarkId::new("failguard", "keyed lookup alone (get)"),
            |b| {
                b.iter_custom(|iters| {
                    time_keys(&keys, iters, |key| {
                        black_box(limits.get(key.as_str()));
                    })
                })
            },
        );

        let breakers: Keyed<String, CircuitBreaker> =
            Keyed::builder(CircuitBreaker::builder().build().unwrap())
                .max_keys(2 * KEYS)
                .build()
                .unwrap();
        for key in &keys {
            breakers.get(key.as_str());
        }
        group.bench_function(BenchmarkId::new("failguard", "keyed breaker call"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for i in 0..iters as usize {
                        let key = keys[(i * 7) % HOT].as_str();
                        black_box(breakers.call(key, || ready(Ok::<_, Infallible>(1))).await).ok();
                    }
                    start.elapsed()
                })
            })
        });
        group.finish();
    }
}
