//! The bounded buffer and its shedding decisions: admission (capacity, overflow policy), the
//! maximum queueing time, skipping items whose caller went away, and closing.
//!
//! One short lock guards the buffer (a `VecDeque` ordered by ticket id, so a caller can remove
//! its own item in O(log n) lookup when it gives up). It is never held across an await, and no
//! user code (a future's `Drop`, a send) ever runs under it: entries leave the lock first.
//!
//! Idle workers park their wakers under the same lock, so a submit hands its item to an idle
//! worker with one lock and one wake, and a worker that finds the buffer empty parks in the same
//! critical section that found it empty (no lost wakeup). std's lock and atomics are used
//! directly, not the loom shim: the queue runs on tokio tasks, so it is checked by the stress test
//! in `tests/queue.rs` instead of a loom model.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
    time::Duration,
};

use crate::{
    Name, Rejection,
    error::{QueueClosed, QueueClosedReason, QueueFull, QueueTimeout},
    estimate::{self, AtomicEwma},
};
use tokio::{sync::Notify, time::Instant};

/// What a full queue sheds.
///
/// ```
/// use failguard::queue::Overflow;
/// assert_eq!(Overflow::default(), Overflow::RejectNewest);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Overflow {
    /// The new item fails at once; the waiting items keep their places. Good when the oldest
    /// requests are as valuable as the new ones (first come, first served).
    #[default]
    RejectNewest,
    /// The oldest waiting item fails and the new one takes a slot. Good when fresh work matters
    /// more than stale work (the oldest caller is the likeliest to have given up).
    DropOldest,
}

impl Overflow {
    pub(crate) fn verdict(self) -> &'static str {
        match self {
            Overflow::RejectNewest => "the new item was rejected",
            Overflow::DropOldest => "the oldest waiting item was dropped for a newer one",
        }
    }
}

/// How a task's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunEnd {
    /// The work finished and its result was sent to the caller.
    Completed,
    /// The caller went away while the work ran: the work was abandoned at an await point.
    Cancelled,
}

/// One submitted item, type-erased: the caller's work plus the channel back to the caller.
pub(crate) trait Task: Send {
    /// Whether the caller went away (its future was dropped).
    fn is_abandoned(&self) -> bool;
    /// Fails the item without running (more of) it: the caller receives `rejection`.
    fn reject(self: Pin<&mut Self>, rejection: Rejection);
    /// Runs the work; ready when it is done or when the caller went away. `completed` is called
    /// once, when the work has finished, just before its result is sent to the caller.
    fn poll_run(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        completed: &mut dyn FnMut(),
    ) -> Poll<RunEnd>;
}

pub(crate) type BoxTask = Pin<Box<dyn Task>>;

/// The queue's configuration, fixed at `build()`.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) name: Name,
    pub(crate) sinks: crate::events::Sinks,
    pub(crate) capacity: usize,
    pub(crate) workers: usize,
    pub(crate) overflow: Overflow,
    pub(crate) max_wait: Option<Duration>,
}

struct Entry {
    id: u64,
    enqueued_at: Option<Instant>,
    task: BoxTask,
}

struct State {
    items: VecDeque<Entry>,
    next_id: u64,
    closed: Option<QueueClosedReason>,
    /// Parked workers: (worker index, waker). A worker is in it at most once (`parked`).
    idle: Vec<(usize, Waker)>,
    parked: Vec<bool>,
}

impl State {
    /// Takes one parked worker's waker, to wake after the lock is released.
    fn unpark_one(&mut self) -> Option<Waker> {
        let (worker, waker) = self.idle.pop()?;
        self.parked[worker] = false;
        Some(waker)
    }
}

/// Monotonic counters for `snapshot()`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) completed: AtomicU64,
    pub(crate) rejected_newest: AtomicU64,
    pub(crate) dropped_oldest: AtomicU64,
    pub(crate) timed_out: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) closed: AtomicU64,
    pub(crate) panicked: AtomicU64,
}

/// Everything the handles, the callers' futures and the workers share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    state: Mutex<State>,
    /// `closed()` waits here for the last worker to exit.
    done: Notify,
    pub(crate) live_workers: AtomicUsize,
    pub(crate) running: AtomicUsize,
    pub(crate) queued: AtomicUsize,
    /// Mirrors `State::closed.is_some()` for lock-free reads.
    pub(crate) closed_flag: AtomicBool,
    pub(crate) counters: Counters,
    /// How long an item holds its worker, on average: written by the workers as each timed item
    /// ends, read only to estimate a `QueueFull`'s `retry_after`.
    service: AtomicEwma,
    /// Whether the workers time their items: off until the queue first sheds. A queue that has
    /// never been full has no use for the estimate, so its workers read no clock for it (the
    /// hand-off stays as cheap as it was); once set it stays set, because a worker cannot tell
    /// cheaply when an overload has ended (in a hand-off queue every item starts on an idle
    /// worker, overloaded or not).
    timing: AtomicBool,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Shared {
    pub(crate) fn new(config: Config) -> Self {
        let reserve = config.capacity.saturating_add(config.workers).min(1024);
        let workers = config.workers;
        Self {
            live_workers: AtomicUsize::new(config.workers),
            config,
            state: Mutex::new(State {
                items: VecDeque::with_capacity(reserve),
                next_id: 0,
                closed: None,
                idle: Vec::with_capacity(workers),
                parked: vec![false; workers],
            }),
            done: Notify::new(),
            running: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            closed_flag: AtomicBool::new(false),
            counters: Counters::default(),
            service: AtomicEwma::default(),
            timing: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics under this lock; recover anyway rather than poison every caller.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A `QueueFull` for the item `overflow` sheds, with the wait a newcomer would face; from
    /// now on the workers time their items.
    fn full(&self, overflow: Overflow) -> QueueFull {
        if !self.timing.load(Ordering::Relaxed) {
            self.timing.store(true, Ordering::Relaxed);
        }
        QueueFull::new(
            self.config.name.clone(),
            self.config.capacity,
            overflow,
            self.expected_wait(),
        )
    }

    /// About how long a newcomer to this full queue would wait for a worker: the `capacity`
    /// items waiting ahead of it and then itself, `workers` at a time, each holding its worker
    /// for the average service time; at most `max_wait`. `None` until a timed item has finished.
    ///
    /// A full queue always has exactly `capacity` items really waiting (those an idle worker is
    /// about to take do not count), so the estimate needs no count read at all: one relaxed
    /// load, on the shedding path only.
    fn expected_wait(&self) -> Option<Duration> {
        let service = self.service.get()?;
        let config = &self.config;
        Some(estimate::wait(
            service,
            config.capacity,
            config.workers,
            config.max_wait,
        ))
    }

    /// When a worker starts an item: now, if the queue times its items (it has shed), so that
    /// [`served`](Self::served) can take its service time; otherwise no clock read at all.
    #[inline]
    pub(crate) fn start_timer(&self) -> Option<Instant> {
        self.timing.load(Ordering::Relaxed).then(Instant::now)
    }

    /// A worker is done with an item it started at `started`: one more sample of the service
    /// time.
    #[cold]
    pub(crate) fn served(&self, started: Instant) {
        self.service.record(started.elapsed());
    }

    fn closed_error(&self, reason: QueueClosedReason) -> Rejection {
        Rejection::QueueClosed(QueueClosed::new(self.config.name.clone(), reason))
    }

    /// Admits `task` or sheds something. Returns the item's ticket id if it was queued; a shed
    /// newcomer has already been failed (its caller reads the error from its channel).
    ///
    /// An item is admitted while `queued < capacity + idle workers`: items about to be taken by
    /// an idle worker do not use a waiting slot, so `workers + capacity` items fit at once.
    pub(crate) fn submit(&self, mut task: BoxTask, enqueued_at: Option<Instant>) -> Option<u64> {
        let mut state = self.lock();
        if let Some(reason) = state.closed {
            drop(state);
            bump(&self.counters.closed);
            super::events::shed(
                &self.config,
                "closed",
                self.queued.load(Ordering::Relaxed),
                None,
            );
            task.as_mut().reject(self.closed_error(reason));
            return None;
        }
        let idle = self
            .config
            .workers
            .saturating_sub(self.running.load(Ordering::Acquire));
        let len = state.items.len();
        let id = state.next_id;
        if len < self.config.capacity.saturating_add(idle) {
            state.next_id += 1;
            state.items.push_back(Entry {
                id,
                enqueued_at,
                task,
            });
            self.queued.store(len + 1, Ordering::Relaxed);
            let worker = state.unpark_one();
            drop(state);
            if let Some(worker) = worker {
                worker.wake();
            }
            return Some(id);
        }
        // Full. With drop-oldest, the oldest item that is really waiting (not one an idle worker
        // is about to take) makes room; with nothing to drop, the newcomer is rejected.
        let victim = idle.min(len);
        if self.config.overflow == Overflow::DropOldest && victim < len {
            let evicted = state.items.remove(victim);
            state.next_id += 1;
            state.items.push_back(Entry {
                id,
                enqueued_at,
                task,
            });
            drop(state);
            bump(&self.counters.dropped_oldest);
            let full = self.full(Overflow::DropOldest);
            super::events::shed(&self.config, "dropped_oldest", len, full.retry_after());
            if let Some(mut evicted) = evicted {
                evicted.task.as_mut().reject(Rejection::QueueFull(full));
            }
            return Some(id);
        }
        drop(state);
        bump(&self.counters.rejected_newest);
        let full = self.full(Overflow::RejectNewest);
        super::events::shed(&self.config, "rejected_newest", len, full.retry_after());
        task.as_mut().reject(Rejection::QueueFull(full));
        None
    }

    /// Takes the item `id` out of the buffer if it is still waiting (its caller gave up on it).
    /// The caller drops the returned task outside the lock.
    pub(crate) fn remove(&self, id: u64) -> Option<BoxTask> {
        let mut state = self.lock();
        let index = state.items.binary_search_by_key(&id, |e| e.id).ok()?;
        let entry = state.items.remove(index)?;
        self.queued.store(state.items.len(), Ordering::Relaxed);
        Some(entry.task)
    }

    /// The caller's future gave up on a waiting item (dropped before its result).
    pub(crate) fn cancel(&self, id: u64) {
        if let Some(task) = self.remove(id) {
            bump(&self.counters.cancelled);
            drop(task);
        }
    }

    /// The caller's timer fired: fail the item if it is still waiting. Returns the error to
    /// report, or `None` if a worker already took the item (the caller keeps waiting for it).
    pub(crate) fn expire(&self, id: u64, enqueued_at: Instant) -> Option<QueueTimeout> {
        let task = self.remove(id)?;
        drop(task);
        Some(self.timed_out(enqueued_at))
    }

    fn timed_out(&self, enqueued_at: Instant) -> QueueTimeout {
        bump(&self.counters.timed_out);
        super::events::shed(
            &self.config,
            "timed_out",
            self.queued.load(Ordering::Relaxed),
            None,
        );
        let max_wait = self.config.max_wait.unwrap_or_default();
        QueueTimeout::new(self.config.name.clone(), enqueued_at.elapsed(), max_wait)
    }

    /// The next item to run, for worker number `worker`; `None` once the queue is closed and
    /// empty. The item counts as running from the moment it leaves the buffer. Items whose caller
    /// went away are skipped, and items that waited their whole maximum queueing time are failed.
    pub(crate) async fn next(&self, worker: usize) -> Option<BoxTask> {
        loop {
            let entry = std::future::poll_fn(|cx| self.poll_pop(worker, cx)).await?;
            if let Some(task) = self.admit(entry) {
                return Some(task);
            }
        }
    }

    fn poll_pop(&self, worker: usize, cx: &mut Context<'_>) -> Poll<Option<Entry>> {
        let mut state = self.lock();
        match state.items.pop_front() {
            Some(entry) => {
                self.running.fetch_add(1, Ordering::AcqRel);
                let left = state.items.len();
                self.queued.store(left, Ordering::Relaxed);
                // Another parked worker may take the next one.
                let other = if left > 0 { state.unpark_one() } else { None };
                drop(state);
                if let Some(other) = other {
                    other.wake();
                }
                Poll::Ready(Some(entry))
            }
            None if state.closed.is_some() => Poll::Ready(None),
            None => {
                // Park, in the critical section that found the buffer empty: a submit or a close
                // after this sees the waker.
                if state.parked[worker] {
                    if let Some(slot) = state.idle.iter_mut().find(|(w, _)| *w == worker) {
                        slot.1.clone_from(cx.waker());
                    }
                } else {
                    state.parked[worker] = true;
                    state.idle.push((worker, cx.waker().clone()));
                }
                Poll::Pending
            }
        }
    }

    /// Decides whether a dequeued item runs: not if its caller went away, not if it waited its
    /// whole maximum queueing time.
    fn admit(&self, mut entry: Entry) -> Option<BoxTask> {
        if entry.task.is_abandoned() {
            self.finish();
            bump(&self.counters.cancelled);
            return None;
        }
        if let (Some(at), Some(max)) = (entry.enqueued_at, self.config.max_wait) {
            if at.elapsed() >= max {
                self.finish();
                let timeout = self.timed_out(at);
                entry.task.as_mut().reject(Rejection::QueueTimeout(timeout));
                return None;
            }
        }
        Some(entry.task)
    }

    /// A worker is done with the item it took.
    ///
    /// Lock-free: a worker calls it before its caller hears the outcome, so a submit that follows
    /// (ordered after it by the reply channel) finds the worker free.
    pub(crate) fn finish(&self) {
        self.running.fetch_sub(1, Ordering::AcqRel);
    }

    /// Stops accepting items. With `fail_queued`, every waiting item is failed with
    /// `QueueClosed(ShutDown)` now; without, the workers run them first.
    pub(crate) fn close(&self, fail_queued: bool) {
        let drained: Vec<Entry> = {
            let mut state = self.lock();
            if state.closed.is_none() {
                state.closed = Some(QueueClosedReason::ShutDown);
                self.closed_flag.store(true, Ordering::Release);
            }
            if fail_queued {
                self.queued.store(0, Ordering::Relaxed);
                state.items.drain(..).collect()
            } else {
                Vec::new()
            }
        };
        self.fail_all(drained, QueueClosedReason::ShutDown);
        self.wake_all_parked();
    }

    fn wake_all_parked(&self) {
        let parked: Vec<(usize, Waker)> = {
            let mut state = self.lock();
            state.parked.iter_mut().for_each(|p| *p = false);
            state.idle.drain(..).collect()
        };
        for (_, waker) in parked {
            waker.wake();
        }
    }

    fn fail_all(&self, drained: Vec<Entry>, reason: QueueClosedReason) {
        for mut entry in drained {
            bump(&self.counters.closed);
            super::events::shed(&self.config, "closed", 0, None);
            entry.task.as_mut().reject(self.closed_error(reason));
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed_flag.load(Ordering::Acquire)
    }

    /// A worker exited (normally, or because its runtime dropped it). The last one to go fails
    /// whatever is still waiting, so no caller waits for a worker that will never come.
    pub(crate) fn worker_exited(&self) {
        if self.live_workers.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let drained: Vec<Entry> = {
            let mut state = self.lock();
            if state.closed.is_none() {
                state.closed = Some(QueueClosedReason::WorkerStopped);
                self.closed_flag.store(true, Ordering::Release);
            }
            self.queued.store(0, Ordering::Relaxed);
            state.items.drain(..).collect()
        };
        self.fail_all(drained, QueueClosedReason::WorkerStopped);
        self.done.notify_waiters();
    }

    /// Resolves once every worker has exited.
    pub(crate) async fn all_workers_exited(&self) {
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.live_workers.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests;
