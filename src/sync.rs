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

/// This thread's number, from 1, never given to another thread: threads take numbers in turn,
/// so the first threads of a runtime land on distinct stripes.
#[inline]
fn thread_number() -> usize {
    // std's atomics even under loom: a per-thread number is not part of any model.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    thread_local! {
        static NUMBER: usize = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    NUMBER.with(|n| *n)
}

/// Whether a stripe's owner may count with a plain load and store. Not under loom, whose threads
/// share one OS thread's thread-locals and so would all look like the owner.
const OWNED_COUNTS: bool = !cfg!(all(test, failguard_loom));

/// `K` counters striped per thread, for counts that every core adds to at once (a time window's
/// outcomes, an open breaker's rejections) and that are only ever read as a sum.
///
/// The first thread to count on a stripe owns it: being its only writer, it adds with a plain
/// load and store, no locked instruction (which costs several nanoseconds even uncontended).
/// A thread whose stripe another owns adds to the stripe's shared half with `fetch_add`, so
/// threads beyond the stripes spread over them rather than meet on one line. Either way every
/// count is exact, and each counter only grows (wrapping at 2^64), as seen by any reader.
#[derive(Debug)]
pub(crate) struct StripedCounts<const K: usize> {
    stripes: Box<[Padded<OwnedStripe<K>>]>,
}

#[derive(Debug)]
struct OwnedStripe<const K: usize> {
    /// The number of the thread that alone writes `counts`; 0 until one claims it.
    owner: AtomicUsize,
    counts: [AtomicU64; K],
    /// For the threads on this stripe that do not own it.
    shared: [AtomicU64; K],
}

impl<const K: usize> StripedCounts<K> {
    /// Counters over `stripes` stripes (a power of two), all zero.
    pub(crate) fn new(stripes: usize) -> Self {
        debug_assert!(stripes.is_power_of_two());
        Self {
            stripes: (0..stripes)
                .map(|_| {
                    Padded(OwnedStripe {
                        owner: AtomicUsize::new(0),
                        counts: std::array::from_fn(|_| AtomicU64::new(0)),
                        shared: std::array::from_fn(|_| AtomicU64::new(0)),
                    })
                })
                .collect(),
        }
    }

    /// This thread's stripe: `Ok` with its counts if the thread owns it (claiming it if nobody
    /// has), `Err` with its shared half otherwise.
    #[inline]
    fn owned(&self) -> Result<&[AtomicU64; K], &[AtomicU64; K]> {
        let me = thread_number();
        let stripe = &self.stripes[me & (self.stripes.len() - 1)];
        if !OWNED_COUNTS {
            return Err(&stripe.shared);
        }
        let owner = stripe.owner.load(Ordering::Relaxed);
        let mine = owner == me
            || (owner == 0
                && stripe
                    .owner
                    .compare_exchange(0, me, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok());
        if mine {
            Ok(&stripe.counts)
        } else {
            Err(&stripe.shared)
        }
    }

    /// Adds one to counter `k`.
    #[inline]
    pub(crate) fn add(&self, k: usize) {
        match self.owned() {
            Ok(counts) => {
                // The only writer: nothing can come between the load and the store.
                let count = &counts[k];
                count.store(
                    count.load(Ordering::Relaxed).wrapping_add(1),
                    Ordering::Relaxed,
                );
            }
            Err(shared) => {
                shared[k].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Replaces word `k` of this thread's stripe (or of its shared half) with `change` of it,
    /// unless `change` answers `None`; `change` may run more than once (on a shared half, as in
    /// `fetch_update`). Stores are releases, so that a reader acquiring a word sees what was
    /// done before it was written.
    #[inline]
    pub(crate) fn update(&self, k: usize, change: impl Fn(u64) -> Option<u64>) {
        match self.owned() {
            Ok(words) => {
                // The only writer: the word cannot change between the load and the store.
                let word = &words[k];
                if let Some(new) = change(word.load(Ordering::Relaxed)) {
                    word.store(new, Ordering::Release);
                }
            }
            Err(shared) => {
                let _ = shared[k].fetch_update(Ordering::AcqRel, Ordering::Relaxed, change);
            }
        }
    }

    /// Word `k` of every stripe, both halves.
    pub(crate) fn each(&self, k: usize) -> impl Iterator<Item = &AtomicU64> {
        self.stripes
            .iter()
            .flat_map(move |s| [&s.counts[k], &s.shared[k]])
    }

    /// Every counter summed over the stripes (wrapping).
    pub(crate) fn sum(&self) -> [u64; K] {
        let add = |sum: [u64; K], counts: &[AtomicU64; K]| {
            std::array::from_fn(|k| sum[k].wrapping_add(counts[k].load(Ordering::Relaxed)))
        };
        self.stripes
            .iter()
            .fold([0; K], |sum, s| add(add(sum, &s.counts), &s.shared))
    }
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

#[cfg(all(test, not(failguard_loom)))]
mod tests {
    use super::*;

    /// More threads than stripes: some own a stripe and count with plain stores, the others
    /// count on the stripes' shared halves with `fetch_add`; not one count is lost either way.
    #[test]
    fn striped_counts_lose_no_count_whoever_owns_the_stripes() {
        let counts = StripedCounts::<2>::new(2);
        std::thread::scope(|s| {
            for t in 0..8 {
                let counts = &counts;
                s.spawn(move || {
                    for _ in 0..10_000 {
                        counts.add(t % 2);
                    }
                });
            }
        });
        assert_eq!(counts.sum(), [40_000, 40_000]);
        // Both stripes found an owner, and the threads past them counted on the shared halves.
        assert!(
            counts
                .stripes
                .iter()
                .all(|s| s.owner.load(Ordering::Relaxed) != 0)
        );
        let shared: u64 = counts
            .stripes
            .iter()
            .flat_map(|s| &s.shared)
            .map(|c| c.load(Ordering::Relaxed))
            .sum();
        assert!(shared > 0);
    }
}
