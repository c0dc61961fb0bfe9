//! The limiter's state: calls in flight against a limit that moves, the callers waiting, and
//! the window of outcomes the algorithm learns from.
//!
//! Admission without waiting is lock-free: one compare-and-swap of `in_flight` against the
//! current `limit` (an atomic the learner stores). With waiting allowed, admission and release
//! take the waiters' lock, so that a released permit goes straight to a waiter and none is
//! stranded between a release and a newcomer queueing. Recording an outcome takes the learner's
//! window of outcomes is a handful of atomics each finished call adds to (no lock); the call
//! that completes a window takes the learner's lock (without waiting: if another call holds it,
//! that one closes the window) and asks the algorithm. Under concurrency a window's edges are
//! approximate (a call recorded while another closes the window may land in either), which
//! moves a mean by a fraction of one call.
//!
//! Partitions: each call belongs to one (the default one unless chosen), whose guaranteed part
//! of the limit is `⌊limit × share⌋`. A call is admitted while the calls in flight are below the
//! limit, or while its partition is below its guaranteed part (the rule of Netflix's
//! partitioned limiter): a partition borrows what the others leave, and gets its part back as
//! the borrowed calls finish, the total exceeding the limit meanwhile by at most what was
//! borrowed.

use std::{collections::VecDeque, task::Waker, time::Duration};

use super::{AdaptiveEvent, LimitAlgorithm, Sample, SampleWindow, WaitOrder};
use crate::{
    Name,
    events::{EventKind, Sinks},
    sync::{
        Arc, AtomicBool, AtomicU64, AtomicUsize, Mutex,
        Ordering::{AcqRel, Acquire, Relaxed, Release},
        Padded,
    },
};

/// The shared state of an [`AdaptiveLimit`](super::AdaptiveLimit); it only appears in type
/// signatures.
pub struct AdaptiveState {
    pub(crate) name: Name,
    pub(crate) sinks: Sinks,
    pub(crate) max_wait: Duration,
    pub(crate) max_waiting: usize,
    pub(crate) order: WaitOrder,
    pub(crate) min_limit: usize,
    pub(crate) max_limit: usize,
    pub(crate) window: SampleWindow,
    limit: AtomicUsize,
    in_flight: AtomicUsize,
    pub(crate) partitions: Box<[Partition]>,
    waiting: AtomicUsize,
    rejected: AtomicU64,
    dropped: AtomicU64,
    gathering: Padded<Gathering>,
    learner: Mutex<Box<dyn LimitAlgorithm>>,
    waiters: Mutex<VecDeque<Arc<Waiter>>>,
}

impl std::fmt::Debug for AdaptiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptiveState")
            .field("name", &self.name)
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

/// A named share of the limit.
#[derive(Debug)]
pub(crate) struct Partition {
    pub(crate) name: Name,
    pub(crate) share: f64,
    in_flight: AtomicUsize,
}

impl Partition {
    pub(crate) fn new(name: Name, share: f64) -> Self {
        Self {
            name,
            share,
            in_flight: AtomicUsize::new(0),
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Relaxed)
    }

    /// Its guaranteed part of `limit`.
    fn part(&self, limit: usize) -> usize {
        (limit as f64 * self.share) as usize
    }
}

/// The window being gathered, added to by every finished call without a lock.
#[derive(Debug)]
struct Gathering {
    calls: AtomicUsize,
    drops: AtomicUsize,
    /// Nanoseconds, saturating at `u64::MAX` (585 years).
    rtt_sum: AtomicU64,
    min_rtt: AtomicU64,
    max_in_flight: AtomicUsize,
}

impl Gathering {
    fn new() -> Self {
        Self {
            calls: AtomicUsize::new(0),
            drops: AtomicUsize::new(0),
            rtt_sum: AtomicU64::new(0),
            min_rtt: AtomicU64::new(u64::MAX),
            max_in_flight: AtomicUsize::new(0),
        }
    }
}

/// Lowers (`keep_less`) or raises an atomic to `value` if that moves it.
fn bound_u64(atomic: &AtomicU64, value: u64, keep_less: bool) {
    let mut now = atomic.load(Relaxed);
    while (keep_less && value < now) || (!keep_less && value > now) {
        match atomic.compare_exchange_weak(now, value, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => now = actual,
        }
    }
}

fn raise_usize(atomic: &AtomicUsize, value: usize) {
    let mut now = atomic.load(Relaxed);
    while value > now {
        match atomic.compare_exchange_weak(now, value, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => now = actual,
        }
    }
}

/// One queued caller.
#[derive(Debug)]
pub(crate) struct Waiter {
    granted: AtomicBool,
    partition: usize,
    /// Calls in flight when the permit was granted, this one included.
    in_flight: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

/// What a caller gets when it asks for a permit.
#[derive(Debug)]
pub(crate) enum Admission {
    /// A permit is held; the calls in flight with it, this one included.
    Admitted(usize),
    /// Queued: poll the waiter until it is granted, or cancel it.
    Wait(Arc<Waiter>),
    /// No permit and no room to wait: the limit and the calls in flight then.
    Rejected { limit: usize, in_flight: usize },
}

impl AdaptiveState {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: Name,
        sinks: Sinks,
        algorithm: Box<dyn LimitAlgorithm>,
        partitions: Box<[Partition]>,
        (min_limit, max_limit): (usize, usize),
        window: SampleWindow,
        max_waiting: usize,
        max_wait: Duration,
        order: WaitOrder,
    ) -> Self {
        let initial = algorithm.initial_limit().clamp(min_limit, max_limit);
        Self {
            name,
            sinks,
            max_wait,
            max_waiting,
            order,
            min_limit,
            max_limit,
            window,
            limit: AtomicUsize::new(initial),
            in_flight: AtomicUsize::new(0),
            partitions,
            waiting: AtomicUsize::new(0),
            rejected: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            gathering: Padded(Gathering::new()),
            learner: Mutex::new(algorithm),
            waiters: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Relaxed)
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Relaxed)
    }

    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Relaxed)
    }

    /// The index of the partition named `name`.
    pub(crate) fn partition_named(&self, name: &str) -> Option<usize> {
        self.partitions.iter().position(|p| p.name.as_str() == name)
    }

    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Relaxed)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }

    /// Takes a permit for a call of `partition` if the limit, or the partition's part of it,
    /// has room.
    fn try_take(&self, partition: usize) -> Option<usize> {
        let part = &self.partitions[partition];
        let mut n = self.in_flight.load(Relaxed);
        loop {
            let limit = self.limit.load(Acquire);
            // Two calls of a partition just under its part may both pass: the overshoot is at
            // most the calls racing, and is gone when they finish.
            if n >= limit && part.in_flight.load(Relaxed) >= part.part(limit) {
                return None;
            }
            match self
                .in_flight
                .compare_exchange_weak(n, n + 1, Acquire, Relaxed)
            {
                Ok(_) => {
                    part.in_flight.fetch_add(1, Relaxed);
                    return Some(n + 1);
                }
                Err(actual) => n = actual,
            }
        }
    }

    /// Asks for a permit for a call of `partition`.
    #[inline]
    pub(crate) fn acquire(&self, partition: usize) -> Admission {
        if self.max_waiting == 0 {
            return match self.try_take(partition) {
                Some(n) => Admission::Admitted(n),
                None => self.rejection(),
            };
        }
        let mut waiters = self.waiters.lock().unwrap();
        if waiters.is_empty() {
            if let Some(n) = self.try_take(partition) {
                return Admission::Admitted(n);
            }
        }
        if waiters.len() >= self.max_waiting {
            drop(waiters);
            return self.rejection();
        }
        let waiter = Arc::new(Waiter {
            granted: AtomicBool::new(false),
            partition,
            in_flight: AtomicUsize::new(0),
            waker: Mutex::new(None),
        });
        waiters.push_back(waiter.clone());
        self.waiting.store(waiters.len(), Relaxed);
        Admission::Wait(waiter)
    }

    /// Counts a rejection made after a wait.
    pub(crate) fn count_rejection(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    #[cold]
    fn rejection(&self) -> Admission {
        self.rejected.fetch_add(1, Relaxed);
        Admission::Rejected {
            limit: self.limit(),
            in_flight: self.in_flight(),
        }
    }

    /// Whether `waiter` holds a permit now (then: the calls in flight with it); registers the
    /// waker otherwise.
    pub(crate) fn poll_granted(&self, waiter: &Waiter, waker: &Waker) -> Option<usize> {
        if waiter.granted.load(Acquire) {
            return Some(waiter.in_flight.load(Relaxed));
        }
        let mut slot = waiter.waker.lock().unwrap();
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
        drop(slot);
        // Granted while the waker was being stored: do not sleep on it.
        waiter
            .granted
            .load(Acquire)
            .then(|| waiter.in_flight.load(Relaxed))
    }

    /// Takes `waiter` out of the line. `true` if it had been granted a permit meanwhile (which
    /// the caller now holds).
    pub(crate) fn leave(&self, waiter: &Arc<Waiter>) -> bool {
        let mut waiters = self.waiters.lock().unwrap();
        if let Some(at) = waiters.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            waiters.remove(at);
            self.waiting.store(waiters.len(), Relaxed);
            return false;
        }
        waiter.granted.load(Acquire)
    }

    /// Gives back the permit of a call of `partition` (to the next waiter, if one may have it).
    pub(crate) fn release(&self, partition: usize) {
        let part = &self.partitions[partition];
        if self.max_waiting == 0 {
            part.in_flight.fetch_sub(1, Relaxed);
            self.in_flight.fetch_sub(1, Release);
            return;
        }
        let mut waiters = self.waiters.lock().unwrap();
        part.in_flight.fetch_sub(1, Relaxed);
        self.in_flight.fetch_sub(1, AcqRel);
        self.grant(&mut waiters);
    }

    /// Hands free permits to waiters, in the configured order, under the waiters' lock: the
    /// first waiter in that order whose partition may have one, again while any may.
    fn grant(&self, waiters: &mut VecDeque<Arc<Waiter>>) {
        loop {
            let mut taken = None;
            for i in 0..waiters.len() {
                let at = match self.order {
                    WaitOrder::Fifo => i,
                    WaitOrder::Lifo => waiters.len() - 1 - i,
                };
                if let Some(n) = self.try_take(waiters[at].partition) {
                    taken = Some((at, n));
                    break;
                }
                // Without partitions, one refusal means every waiter would be refused.
                if self.partitions.len() == 1 {
                    break;
                }
            }
            let Some((at, n)) = taken else { break };
            let waiter = waiters.remove(at).expect("a waiter at an index just read");
            waiter.in_flight.store(n, Relaxed);
            waiter.granted.store(true, Release);
            if let Some(waker) = waiter.waker.lock().unwrap().take() {
                waker.wake();
            }
        }
        self.waiting.store(waiters.len(), Relaxed);
    }

    /// Records one finished call: `rtt` from admission to outcome, `in_flight` when it started,
    /// whether it was a drop. Once per window, moves the limit.
    pub(crate) fn record(&self, rtt: Duration, in_flight: usize, dropped: bool) {
        let g = &self.gathering;
        if dropped {
            self.dropped.fetch_add(1, Relaxed);
            g.drops.fetch_add(1, Relaxed);
        }
        let nanos = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX);
        let _ = g
            .rtt_sum
            .fetch_update(Relaxed, Relaxed, |sum| Some(sum.saturating_add(nanos)));
        bound_u64(&g.min_rtt, nanos, true);
        raise_usize(&g.max_in_flight, in_flight);
        let limit = self.limit();
        let size = match self.window {
            SampleWindow::RoundTrip => limit,
            SampleWindow::Calls(n) => n,
        };
        // Counted last, so that the call that completes a window finds its figures in.
        if g.calls.fetch_add(1, AcqRel) + 1 < size {
            return;
        }
        // Whoever holds the learner is closing a window already; this call's figures go into
        // the next one.
        let Ok(mut learner) = self.learner.try_lock() else {
            return;
        };
        let calls = g.calls.swap(0, AcqRel);
        if calls < size {
            // Another call closed this window just before: give the count back.
            g.calls.fetch_add(calls, AcqRel);
            return;
        }
        let sum = g.rtt_sum.swap(0, Relaxed);
        let min = g.min_rtt.swap(u64::MAX, Relaxed);
        let sample = Sample::new(
            Duration::from_nanos(sum / calls as u64),
            Duration::from_nanos(min.min(sum)),
            g.max_in_flight.swap(0, Relaxed),
            limit,
        )
        .with_drops(g.drops.swap(0, Relaxed), calls);
        let proposed = learner.on_sample(sample);
        let mut next = proposed.clamp(self.min_limit, self.max_limit);
        if next > limit {
            // Grow only while in use, and only a little past what was used: a rise is a
            // guess that the dependency could take more, tested by the next window.
            next = if sample.in_use() {
                next.min(sample.in_flight + (sample.in_flight / 10).max(1))
                    .max(limit)
            } else {
                limit
            };
        }
        if next == limit {
            return;
        }
        self.limit.store(next, Release);
        drop(learner);
        let event = AdaptiveEvent::LimitChanged {
            from: limit,
            to: next,
            rtt: sample.rtt,
            drops: sample.drops,
        };
        self.sinks.emit(&self.name, EventKind::Adaptive(event));
        if next > limit && self.max_waiting > 0 {
            let mut waiters = self.waiters.lock().unwrap();
            self.grant(&mut waiters);
        }
    }
}

#[cfg(test)]
mod tests;
