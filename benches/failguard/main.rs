//! failguard's benchmarks: one criterion group per policy, each with the bare call and the
//! peers in the same group, so every figure reads as a ratio against a baseline measured in the
//! same run on the same (shared, noisy) machine.
//!
//! Run: `cargo bench --bench failguard` (one group: `cargo bench --bench failguard -- timeout`;
//! the `metrics` group needs `--features metrics`, the `keyed` group `--features keyed`).

use criterion::{criterion_group, criterion_main};

mod adaptive;
mod breaker;
mod bulkhead;
mod chaos;
mod keyed;
mod lift;
mod metrics;
mod queue;
mod rate_limit;
mod retry;
mod support;
mod timeout;

criterion_group!(
    benches,
    adaptive::bench,
    breaker::bench,
    bulkhead::bench,
    chaos::bench,
    keyed::bench,
    lift::bench,
    timeout::bench,
    queue::bench,
    rate_limit::bench,
    retry::bench,
    metrics::bench
);
criterion_main!(benches);
