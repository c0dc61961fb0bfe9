//! One key's entry: its policy instance and what the sweeps know of its use.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use super::KeyedPolicy;

/// A key's policy and its idle clock. Uses set `touched` (a load, and a store only when it
/// was clear: no cache-line traffic per call once set); a sweep clears it and moves `since` up
/// to the sweep's time, so a key is idle from at most one sweep after its last use, never from
/// before it.
#[derive(Debug)]
pub(crate) struct Slot<P> {
    pub(crate) policy: P,
    /// Set from its making until it is in the map: a new key's instance is not evictable
    /// before its first call (evicted while being inserted, every call would get a fresh one).
    young: AtomicBool,
    touched: AtomicBool,
    /// Nanoseconds after the container's base: the latest moment the key is known unused since.
    since: AtomicU64,
}

impl<P> Slot<P> {
    pub(crate) fn new(policy: P, at: u64) -> Self {
        Self {
            policy,
            young: AtomicBool::new(true),
            touched: AtomicBool::new(false),
            since: AtomicU64::new(at),
        }
    }

    /// Now in the map: evictable like any other.
    pub(crate) fn settle(&self) {
        self.young.store(false, Relaxed);
    }

    #[inline(always)]
    pub(crate) fn touch(&self) {
        if !self.touched.load(Relaxed) {
            self.touched.store(true, Relaxed);
        }
    }
}

impl<P: KeyedPolicy> Slot<P> {
    /// Whether eviction must pass it by.
    pub(crate) fn pinned(&self) -> bool {
        self.young.load(Relaxed) || !self.policy.evictable()
    }

    /// At sweep time `at`: whether the key has been unused for `idle` nanoseconds and its
    /// policy is at rest, so it may go.
    pub(crate) fn expired(&self, at: u64, idle: u64) -> bool {
        if self.touched.swap(false, Relaxed) {
            self.since.store(at, Relaxed);
            return false;
        }
        at.saturating_sub(self.since.load(Relaxed)) >= idle && !self.pinned()
    }
}
