//! Permit accounting: how many calls are in flight, who waits, and who gets the next permit.
//!
//! Both counts live in one atomic word (`in_flight` in the low half, `waiting` in the high half),
//! which is what makes the fast path both lock-free and race-free:
//!
//! - uncontended, taking a permit is one compare-and-swap that succeeds only while nobody waits,
//!   and returning one is one compare-and-swap that succeeds only while nobody waits: no lock, no
//!   allocation;
//! - `waiting` only ever changes under the waiter lock, and while anyone waits every permit is
//!   taken (`waiting > 0` implies `in_flight == max_concurrent`): a returned permit is handed
//!   straight to the oldest waiter under the lock, so nobody overtakes a waiter and no permit is
//!   stranded between a release and a new waiter. There is no cross-variable ordering to get
//!   wrong; the loom models at the bottom check every interleaving.

use std::{collections::VecDeque, task::Waker, time::Duration};

use crate::{
    Name,
    error::BulkheadFullReason,
    sync::{
        Arc, AtomicBool, AtomicU64, Mutex,
        Ordering::{AcqRel, Acquire, Relaxed, Release},
    },
};

const IN_FLIGHT: u64 = 1;
const WAITING: u64 = 1 << 32;
const HALF: u64 = WAITING - 1;

fn in_flight_of(word: u64) -> usize {
    (word & HALF) as usize
}

fn waiting_of(word: u64) -> usize {
    (word >> 32) as usize
}

/// The shared state of a [`Bulkhead`](super::Bulkhead); it only appears in type signatures.
#[derive(Debug)]
pub struct BulkheadState {
    pub(crate) max_concurrent: usize,
    pub(crate) max_waiting: usize,
    pub(crate) max_wait: Duration,
    pub(crate) name: Name,
    /// `in_flight | waiting << 32`.
    counts: AtomicU64,
    rejected: AtomicU64,
    waiters: Mutex<VecDeque<Arc<Waiter>>>,
}

/// One queued caller.
#[derive(Debug, Default)]
pub(crate) struct Waiter {
    granted: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// What a caller gets when it asks for a permit.
#[derive(Debug)]
pub(crate) enum Admission {
    /// A permit is held; return it with [`BulkheadState::release`].
    Admitted,
    /// Queued: poll the waiter until it is granted, or cancel it.
    Wait(Arc<Waiter>),
    /// No permit and no room (or no time) to wait.
    Rejected,
}

impl BulkheadState {
    pub(crate) fn new(
        max_concurrent: usize,
        max_waiting: usize,
        max_wait: Duration,
        name: Name,
    ) -> Self {
        Self {
            max_concurrent,
            max_waiting,
            max_wait,
            name,
            counts: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            waiters: Mutex::new(VecDeque::new()),
        }
    }

    /// Asks for a permit.
    #[inline]
    pub(crate) fn acquire(&self) -> Admission {
        let mut word = self.counts.load(Relaxed);
        // Nobody waits and a permit is free: take it without the lock.
        while waiting_of(word) == 0 && in_flight_of(word) < self.max_concurrent {
            match self
                .counts
                .compare_exchange_weak(word, word + IN_FLIGHT, Acquire, Relaxed)
            {
                Ok(_) => return Admission::Admitted,
                Err(actual) => word = actual,
            }
        }
        self.acquire_slow()
    }

    #[cold]
    fn acquire_slow(&self) -> Admission {
        let mut waiters = self.waiters.lock().unwrap();
        let mut word = self.counts.load(Acquire);
        loop {
            let (in_flight, waiting) = (in_flight_of(word), waiting_of(word));
            let (next, admission) = if waiting == 0 && in_flight < self.max_concurrent {
                (word + IN_FLIGHT, None)
            } else if self.max_wait.is_zero() || waiting >= self.max_waiting {
                self.rejected.fetch_add(1, Relaxed);
                return Admission::Rejected;
            } else {
                (word + WAITING, Some(Arc::new(Waiter::default())))
            };
            // A fast-path release may change `in_flight` under us: then look again.
            match self.counts.compare_exchange(word, next, AcqRel, Acquire) {
                Ok(_) => {
                    return match admission {
                        None => Admission::Admitted,
                        Some(waiter) => {
                            waiters.push_back(waiter.clone());
                            Admission::Wait(waiter)
                        }
                    };
                }
                Err(actual) => word = actual,
            }
        }
    }

    /// Returns a permit, handing it to the oldest waiter if there is one.
    #[inline]
    pub(crate) fn release(&self) {
        let mut word = self.counts.load(Relaxed);
        while waiting_of(word) == 0 {
            match self
                .counts
                .compare_exchange_weak(word, word - IN_FLIGHT, Release, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
        self.release_slow();
    }

    #[cold]
    fn release_slow(&self) {
        let mut waiters = self.waiters.lock().unwrap();
        // Under the lock `waiting` cannot change, so the queue and the count agree.
        match waiters.pop_front() {
            Some(waiter) => {
                // The permit changes hands: `in_flight` stays, one fewer waits.
                self.counts.fetch_sub(WAITING, AcqRel);
                waiter.granted.store(true, Release);
                let waker = waiter.waker.lock().unwrap().take();
                drop(waiters);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            None => {
                self.counts.fetch_sub(IN_FLIGHT, AcqRel);
            }
        }
    }

    /// Whether `waiter` has been granted a permit; registers `waker` if not.
    pub(crate) fn poll_granted(&self, waiter: &Waiter, waker: &Waker) -> bool {
        if waiter.granted.load(Acquire) {
            return true;
        }
        let mut slot = waiter.waker.lock().unwrap();
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
        drop(slot);
        // A grant between the first check and storing the waker took no waker: look again.
        waiter.granted.load(Acquire)
    }

    /// Takes `waiter` out of the queue. Returns `true` if it had been granted a permit in the
    /// meantime: the caller then holds that permit and must use or release it.
    pub(crate) fn cancel(&self, waiter: &Arc<Waiter>) -> bool {
        let mut waiters = self.waiters.lock().unwrap();
        match waiters.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            Some(at) => {
                waiters.remove(at);
                self.counts.fetch_sub(WAITING, AcqRel);
                false
            }
            // Not queued any more: only a grant, under this same lock, takes a waiter out.
            None => true,
        }
    }

    /// Counts a rejection of a waiter whose wait ran out.
    pub(crate) fn count_rejection(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    pub(crate) fn in_flight(&self) -> usize {
        in_flight_of(self.counts.load(Relaxed))
    }

    pub(crate) fn waiting(&self) -> usize {
        waiting_of(self.counts.load(Relaxed))
    }

    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Relaxed)
    }

    pub(crate) fn full(&self, reason: BulkheadFullReason) -> crate::error::BulkheadFull {
        crate::error::BulkheadFull::new(self.name.clone(), self.max_concurrent, reason)
    }
}

#[cfg(all(test, failguard_loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    fn state(max_concurrent: usize, max_waiting: usize) -> Arc<BulkheadState> {
        Arc::new(BulkheadState::new(
            max_concurrent,
            max_waiting,
            Duration::from_secs(1),
            Name::from("loom"),
        ))
    }

    /// One caller holds the only permit and returns it while another starts to queue: the
    /// permit is never stranded, and never more than one call is in flight.
    #[test]
    fn loom_release_racing_a_new_waiter_never_strands_the_permit() {
        loom::model(|| {
            let s = state(1, 1);
            assert!(matches!(s.acquire(), Admission::Admitted));
            let releaser = {
                let s = s.clone();
                thread::spawn(move || s.release())
            };
            let admitted = match s.acquire() {
                Admission::Admitted => true,
                Admission::Wait(w) => {
                    releaser.join().unwrap();
                    // The release has happened: the waiter must have been granted by now.
                    assert!(w.granted.load(Acquire), "the returned permit was stranded");
                    true
                }
                Admission::Rejected => false,
            };
            assert!(admitted);
            assert_eq!(s.in_flight(), 1);
            assert_eq!(s.waiting(), 0);
        });
    }

    /// Two callers compete for one permit with room for one waiter; a waiter gives up (as a
    /// dropped future or an expired wait does): never more than one in flight, never more than
    /// one waiting, and every permit and place comes back whatever the interleaving.
    #[test]
    fn loom_permits_are_bounded_and_all_come_back() {
        loom::model(|| {
            let s = state(1, 1);
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let s = s.clone();
                    thread::spawn(move || match s.acquire() {
                        Admission::Admitted => {
                            assert!(s.in_flight() <= 1);
                            s.release();
                        }
                        Admission::Wait(w) => {
                            assert!(s.waiting() <= 1);
                            if s.cancel(&w) {
                                // Granted while giving up: the permit is ours to return.
                                assert!(s.in_flight() <= 1);
                                s.release();
                            }
                        }
                        Admission::Rejected => {}
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(s.in_flight(), 0);
            assert_eq!(s.waiting(), 0);
        });
    }
}
