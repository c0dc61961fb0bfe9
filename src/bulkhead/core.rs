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
//!
//! The waiters form a doubly linked list threaded through a slab by index ([`WaitList`]): each
//! waiter knows its node, so a cancellation unlinks it in O(1) instead of searching for it, and
//! the list stays exact (no tombstones to skip, no `waiting` count to reconcile later).
//!
//! # The `retry_after` estimate, at no cost to the fast path
//!
//! A rejection's hint needs to know how often a permit comes free under load, but the fast
//! paths must not read the clock. So the word has one more bit, `WATCH`, in its high half:
//! a caller that is rejected or queues sets it (under the lock, in the same compare-and-swap
//! that decided), and both fast paths already take the slow path whenever the high half is not
//! zero. While it is set, every returned permit goes through the lock, where the time since the
//! previous one (or since the watch began) is a sample of the interval between free permits; the
//! release that leaves a permit free clears it, in the same atomic step. So `WATCH` is set
//! exactly while the bulkhead is saturated and someone has noticed, the uncontended path is the
//! same two compare-and-swaps as before, and the watch's stamp and average live under the lock
//! next to the waiters, with no atomic of their own.

use std::{task::Waker, time::Duration};

use tokio::time::Instant;

use crate::{
    Name,
    error::BulkheadFullReason,
    estimate::{self, Ewma, Hint},
    sync::{
        Arc, AtomicBool, AtomicU64, Mutex,
        Ordering::{AcqRel, Acquire, Relaxed, Release},
    },
};

const IN_FLIGHT: u64 = 1;
const WAITING: u64 = 1 << 32;
const HALF: u64 = WAITING - 1;
/// Saturated and watched: every release takes the slow path and is timed. The top bit, far
/// above any `waiting` count (at most `MAX_LIMIT`, 2^24).
const WATCH: u64 = 1 << 63;

fn in_flight_of(word: u64) -> usize {
    (word & HALF) as usize
}

fn waiting_of(word: u64) -> usize {
    ((word & !WATCH) >> 32) as usize
}

/// Nobody waits and nobody watches: the fast paths may go ahead (one comparison, as before).
#[inline(always)]
fn quiet(word: u64) -> bool {
    word < WAITING
}

/// The shared state of a [`Bulkhead`](super::Bulkhead); it only appears in type signatures.
#[derive(Debug)]
pub struct BulkheadState {
    pub(crate) max_concurrent: usize,
    pub(crate) max_waiting: usize,
    pub(crate) max_wait: Duration,
    pub(crate) name: Name,
    pub(crate) sinks: crate::events::Sinks,
    /// `in_flight | waiting << 32 | WATCH`.
    counts: AtomicU64,
    rejected: AtomicU64,
    waiters: Mutex<Contended>,
}

/// What only the slow paths touch, under one lock: the waiters, and the watch that times free
/// permits while the bulkhead is saturated.
#[derive(Debug, Default)]
struct Contended {
    list: WaitList,
    /// While `WATCH` is set: when a permit last came free, or when the watch began.
    since: Option<Instant>,
    /// The average interval between free permits while saturated.
    gap: Ewma,
}

impl std::ops::Deref for Contended {
    type Target = WaitList;

    fn deref(&self) -> &WaitList {
        &self.list
    }
}

impl std::ops::DerefMut for Contended {
    fn deref_mut(&mut self) -> &mut WaitList {
        &mut self.list
    }
}

/// One queued caller.
#[derive(Debug)]
pub(crate) struct Waiter {
    granted: AtomicBool,
    waker: Mutex<Option<Waker>>,
    /// Its node in the [`WaitList`], fixed for as long as it is queued.
    node: u32,
}

/// What a caller gets when it asks for a permit.
#[derive(Debug)]
pub(crate) enum Admission {
    /// A permit is held; return it with [`BulkheadState::release`].
    Admitted,
    /// Queued: poll the waiter until it is granted, or cancel it.
    Wait(Arc<Waiter>),
    /// No permit and no room (or no time) to wait; the estimated wait for one.
    Rejected(Hint),
}

/// How a waiter's wait ended when its time ran out.
#[derive(Debug)]
pub(crate) enum Expiry {
    /// It was granted a permit just in time: it holds it.
    Granted,
    /// It left the queue without a permit; the estimated wait for one.
    Rejected(Hint),
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
            sinks: crate::events::Sinks::default(),
            counts: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            waiters: Mutex::new(Contended::default()),
        }
    }

    /// Asks for a permit.
    #[inline]
    pub(crate) fn acquire(&self) -> Admission {
        let mut word = self.counts.load(Relaxed);
        // Nobody waits and a permit is free: take it without the lock.
        while quiet(word) && in_flight_of(word) < self.max_concurrent {
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
        let mut slow = self.waiters.lock().unwrap();
        let mut word = self.counts.load(Acquire);
        loop {
            let (in_flight, waiting) = (in_flight_of(word), waiting_of(word));
            // Saturated from here on (`in_flight == max_concurrent`): watch it, if nobody does.
            let watch = word | WATCH;
            let (next, verdict) = if waiting == 0 && in_flight < self.max_concurrent {
                (word + IN_FLIGHT, Verdict::Admit)
            } else if self.max_wait.is_zero() || waiting >= self.max_waiting {
                (watch, Verdict::Reject)
            } else {
                (watch + WAITING, Verdict::Queue)
            };
            // A fast-path release may change `in_flight` under us: then look again.
            if next != word {
                if let Err(actual) = self.counts.compare_exchange(word, next, AcqRel, Acquire) {
                    word = actual;
                    continue;
                }
            }
            let watch_begins = word & WATCH == 0 && next & WATCH != 0;
            return match verdict {
                Verdict::Admit => Admission::Admitted,
                Verdict::Queue => {
                    if watch_begins {
                        slow.since = Some(Instant::now());
                    }
                    Admission::Wait(slow.push_back())
                }
                Verdict::Reject => {
                    self.rejected.fetch_add(1, Relaxed);
                    // The clock is read only when a stamp or an estimate needs it.
                    let now = (watch_begins || slow.gap.get().is_some()).then(Instant::now);
                    if watch_begins {
                        slow.since = now;
                    }
                    Admission::Rejected(Hint::of(
                        now.and_then(|now| self.hint(&slow, waiting, now)),
                    ))
                }
            };
        }
    }

    /// How long a caller arriving at `now`, behind `waiting` waiters, would wait for a permit:
    /// `waiting + 1` free permits, each `max(average gap, the gap so far)` apart, at most
    /// `max_wait` when waiting is allowed. `None` before the first measured gap.
    fn hint(&self, slow: &Contended, waiting: usize, now: Instant) -> Option<Duration> {
        let average = slow.gap.get()?;
        let stalled = slow
            .since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        let cap = (!self.max_wait.is_zero()).then_some(self.max_wait);
        Some(estimate::wait(average.max(stalled), waiting, 1, cap))
    }

    /// Returns a permit, handing it to the oldest waiter if there is one.
    #[inline]
    pub(crate) fn release(&self) {
        let mut word = self.counts.load(Relaxed);
        while quiet(word) {
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
        let mut slow = self.waiters.lock().unwrap();
        // Under the lock neither `waiting` nor `WATCH` can change, so the queue, the count and
        // the watch agree.
        let watched = self.counts.load(Acquire) & WATCH;
        let now = (watched != 0).then(Instant::now);
        if let (Some(now), Some(since)) = (now, slow.since) {
            slow.gap.record(now.saturating_duration_since(since));
        }
        match slow.pop_front() {
            Some(waiter) => {
                // The permit changes hands: `in_flight` stays, one fewer waits, still saturated.
                self.counts.fetch_sub(WAITING, AcqRel);
                slow.since = now;
                waiter.granted.store(true, Release);
                let waker = waiter.waker.lock().unwrap().take();
                drop(slow);
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            None => {
                // A permit is free: no longer saturated, so the watch ends with this release.
                self.counts.fetch_sub(IN_FLIGHT + watched, AcqRel);
                slow.since = None;
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
        let mut slow = self.waiters.lock().unwrap();
        if slow.remove(waiter) {
            self.counts.fetch_sub(WAITING, AcqRel);
            false
        } else {
            // Not queued any more: only a grant, under this same lock, takes a waiter out.
            debug_assert!(waiter.granted.load(Relaxed));
            true
        }
    }

    /// `waiter`'s wait ran out: takes it out of the queue and counts the rejection, unless it
    /// was granted a permit in the meantime (then it holds that permit).
    pub(crate) fn expire(&self, waiter: &Arc<Waiter>) -> Expiry {
        let mut slow = self.waiters.lock().unwrap();
        if !slow.remove(waiter) {
            debug_assert!(waiter.granted.load(Relaxed));
            return Expiry::Granted;
        }
        let word = self.counts.fetch_sub(WAITING, AcqRel) - WAITING;
        self.rejected.fetch_add(1, Relaxed);
        let hint = match slow.gap.get() {
            Some(_) => self.hint(&slow, waiting_of(word), Instant::now()),
            None => None,
        };
        Expiry::Rejected(Hint::of(hint))
    }

    /// A bulkhead with these settings (renamed `name`, if given) and nothing in flight.
    #[cfg(feature = "keyed")]
    pub(crate) fn fresh(&self, name: Option<&Name>) -> Self {
        let name = name.unwrap_or(&self.name).clone();
        let mut state = Self::new(self.max_concurrent, self.max_waiting, self.max_wait, name);
        state.sinks = self.sinks.clone();
        state
    }

    /// No call in flight and none waiting: a fresh bulkhead would be the same.
    #[cfg(feature = "keyed")]
    pub(crate) fn at_rest(&self) -> bool {
        let word = self.counts.load(Acquire);
        in_flight_of(word) == 0 && waiting_of(word) == 0
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

    pub(crate) fn full(
        &self,
        reason: BulkheadFullReason,
        retry_after: Hint,
    ) -> crate::error::BulkheadFull {
        crate::error::BulkheadFull::new(self.name.clone(), self.max_concurrent, reason, retry_after)
    }
}

/// What the slow path of [`BulkheadState::acquire`] decided.
#[derive(Clone, Copy)]
enum Verdict {
    Admit,
    Queue,
    Reject,
}

/// The queue of waiters, oldest first: a doubly linked list whose nodes live in a slab (a `Vec`
/// reused through a free list) and link to each other by index.
///
/// Why this shape: a cancelled waiter must leave in O(1) whatever its place (a `VecDeque` needs a
/// search, O(n) per cancellation and O(n²) for a crowd giving up), FIFO order must not depend on
/// where a node happens to sit in the slab, and `waiting` must stay exact at every instant (a
/// lazily cleaned queue would hold tombstones that `max_waiting` must not count). Index links
/// keep it safe code, and the slab only allocates when the queue grows past its largest size
/// so far, never on the uncontended path, which does not touch it at all.
#[derive(Debug)]
struct WaitList {
    nodes: Vec<Node>,
    head: u32,
    tail: u32,
    /// The first vacant node; vacant nodes are chained through `next`.
    free: u32,
    /// Nodes examined to find a waiter, so a unit test can check cancellation is O(1).
    #[cfg(test)]
    examined: u64,
}

#[derive(Debug)]
struct Node {
    /// `None` while the node is vacant.
    waiter: Option<Arc<Waiter>>,
    prev: u32,
    next: u32,
}

/// No node: the end of a chain.
const NIL: u32 = u32::MAX;

impl Default for WaitList {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            #[cfg(test)]
            examined: 0,
        }
    }
}

impl WaitList {
    /// Queues a new waiter at the back.
    fn push_back(&mut self) -> Arc<Waiter> {
        let at = match self.free {
            NIL => {
                // Below `MAX_LIMIT` (2^24) waiters, so an index always fits and is never `NIL`.
                let at = u32::try_from(self.nodes.len()).expect("at most MAX_LIMIT waiters");
                self.nodes.push(Node {
                    waiter: None,
                    prev: NIL,
                    next: NIL,
                });
                at
            }
            at => {
                self.free = self.nodes[at as usize].next;
                at
            }
        };
        let waiter = Arc::new(Waiter {
            granted: AtomicBool::new(false),
            waker: Mutex::new(None),
            node: at,
        });
        self.nodes[at as usize] = Node {
            waiter: Some(waiter.clone()),
            prev: self.tail,
            next: NIL,
        };
        match self.tail {
            NIL => self.head = at,
            tail => self.nodes[tail as usize].next = at,
        }
        self.tail = at;
        waiter
    }

    /// Takes the oldest waiter out.
    fn pop_front(&mut self) -> Option<Arc<Waiter>> {
        match self.head {
            NIL => None,
            head => Some(self.unlink(head)),
        }
    }

    /// Takes `waiter` out if it is queued; `false` if it is not (it has been granted).
    fn remove(&mut self, waiter: &Arc<Waiter>) -> bool {
        #[cfg(test)]
        {
            self.examined += 1;
        }
        // A waiter leaves only through here or `pop_front`, both of which free its node, so its
        // node holds it exactly while it is queued (a reused node holds another waiter).
        let queued = self
            .nodes
            .get(waiter.node as usize)
            .and_then(|node| node.waiter.as_ref())
            .is_some_and(|w| Arc::ptr_eq(w, waiter));
        if queued {
            self.unlink(waiter.node);
        }
        queued
    }

    fn unlink(&mut self, at: u32) -> Arc<Waiter> {
        let node = &mut self.nodes[at as usize];
        let (prev, next) = (node.prev, node.next);
        let waiter = node.waiter.take().expect("a linked node holds a waiter");
        node.next = self.free;
        self.free = at;
        match prev {
            NIL => self.head = next,
            prev => self.nodes[prev as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.nodes[next as usize].prev = prev,
        }
        waiter
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
                Admission::Rejected(_) => false,
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
                        Admission::Rejected(_) => {}
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

    /// A caller turned away (which starts the watch) races the release of the only permit:
    /// whatever the interleaving, the watch ends with the saturation, so the fast paths are
    /// never left sending every call through the lock.
    #[test]
    fn loom_a_rejection_racing_a_release_never_leaves_the_watch_on() {
        loom::model(|| {
            let s = Arc::new(BulkheadState::new(1, 0, Duration::ZERO, Name::from("loom")));
            assert!(matches!(s.acquire(), Admission::Admitted));
            let releaser = {
                let s = s.clone();
                thread::spawn(move || s.release())
            };
            let admitted = matches!(s.acquire(), Admission::Admitted);
            releaser.join().unwrap();
            if admitted {
                assert_eq!(s.in_flight(), 1);
                s.release();
            }
            assert_eq!(s.in_flight(), 0);
            assert_eq!(
                s.counts.load(Relaxed) & WATCH,
                0,
                "the watch outlived the saturation"
            );
        });
    }

    fn wait(s: &BulkheadState) -> Arc<Waiter> {
        match s.acquire() {
            Admission::Wait(w) => w,
            other => panic!("expected to wait, got {other:?}"),
        }
    }

    /// The oldest waiter gives up just as the permit is returned: either it leaves first and the
    /// next waiter is granted, or it was granted and its cancellation passes the permit on. The
    /// next waiter gets the permit either way, exactly one call holds it, nobody is left queued.
    #[test]
    fn loom_cancelling_the_oldest_waiter_racing_a_release_passes_the_permit_on() {
        loom::model(|| {
            let s = state(1, 2);
            assert!(matches!(s.acquire(), Admission::Admitted));
            let (first, second) = (wait(&s), wait(&s));
            let releaser = {
                let s = s.clone();
                thread::spawn(move || s.release())
            };
            if s.cancel(&first) {
                assert!(first.granted.load(Acquire));
                s.release();
            }
            releaser.join().unwrap();
            assert!(second.granted.load(Acquire), "the permit was not passed on");
            assert_eq!(s.in_flight(), 1);
            assert_eq!(s.waiting(), 0);
        });
    }

    /// The newest waiter gives up while the oldest is granted (both ends of the list change at
    /// once, from two threads): the oldest holds the permit and the list is left empty and
    /// usable (a newcomer queues and is granted next).
    #[test]
    fn loom_cancelling_the_newest_waiter_racing_a_grant_keeps_the_list_whole() {
        loom::model(|| {
            let s = state(1, 2);
            assert!(matches!(s.acquire(), Admission::Admitted));
            let (first, second) = (wait(&s), wait(&s));
            let canceller = {
                let s = s.clone();
                thread::spawn(move || s.cancel(&second))
            };
            s.release();
            assert!(!canceller.join().unwrap(), "the newest waiter was granted");
            assert!(first.granted.load(Acquire));
            assert_eq!((s.in_flight(), s.waiting()), (1, 0));
            let third = wait(&s);
            s.release();
            assert!(third.granted.load(Acquire));
        });
    }
}

#[cfg(all(test, not(failguard_loom)))]
mod tests;
