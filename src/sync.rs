//! Atomics and locks used by policy cores, swapped for loom's under `--cfg failguard_loom` so
//! the loom models next to each core explore every interleaving.
//!
//! (A custom cfg rather than `loom`: tokio reads `cfg(loom)` itself and would not build.)

#![allow(unused_imports)]

#[cfg(all(test, failguard_loom))]
pub(crate) use loom::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering},
};
#[cfg(not(all(test, failguard_loom)))]
pub(crate) use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering},
};

/// Keeps a value on cache lines of its own, so that cores writing it do not slow down cores
/// reading its neighbours (128 bytes: two lines, for the adjacent-line prefetcher).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// This thread's stripe among `stripes` (a power of two): threads take numbers in turn, so the
/// first threads of a runtime land on distinct stripes.
pub(crate) fn stripe(stripes: usize) -> usize {
    // std's atomics even under loom: a per-thread number is not part of any model.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    INDEX.with(|i| *i) & (stripes - 1)
}

/// How many stripes to give a striped counter: the machine's cores rounded up to a power of two,
/// at most `most` (itself a power of two).
pub(crate) fn stripes(most: usize) -> usize {
    debug_assert!(most.is_power_of_two());
    // Asked once: on Linux the answer reads cgroup files (a dozen system calls, tens of
    // microseconds), and a keyed container builds a breaker for every new key.
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    CORES
        .get_or_init(|| std::thread::available_parallelism().map_or(4, |n| n.get()))
        .next_power_of_two()
        .min(most)
}
