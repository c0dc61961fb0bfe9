//! The core's decisions, driven by hand: no runtime, no worker tasks; fake items record what
//! happened to them and counting wakers stand in for parked workers.

use std::{
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use super::{BoxTask, Config, Overflow, RunEnd, Shared, Task};
use crate::{Name, Rejection, error::QueueClosedReason};

#[derive(Default)]
struct Probe {
    label: u32,
    abandoned: bool,
    verdict: Arc<Mutex<Vec<(u32, Rejection)>>>,
}

impl Task for Probe {
    fn is_abandoned(&self) -> bool {
        self.abandoned
    }

    fn reject(self: Pin<&mut Self>, rejection: Rejection) {
        self.verdict.lock().unwrap().push((self.label, rejection));
    }

    fn poll_run(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        completed: &mut dyn FnMut(),
    ) -> Poll<RunEnd> {
        completed();
        Poll::Ready(RunEnd::Completed)
    }
}

#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn shared(capacity: usize, workers: usize, overflow: Overflow) -> Shared {
    Shared::new(Config {
        name: Name::from_static("test"),
        sinks: crate::events::Sinks::default(),
        capacity,
        workers,
        overflow,
        max_wait: None,
    })
}

type Verdicts = Arc<Mutex<Vec<(u32, Rejection)>>>;

fn probe(label: u32, verdict: &Verdicts) -> BoxTask {
    Box::pin(Probe {
        label,
        verdict: verdict.clone(),
        ..Probe::default()
    })
}

fn pop(shared: &Shared, worker: usize, waker: &Waker) -> Poll<Option<u32>> {
    let mut cx = Context::from_waker(waker);
    shared
        .poll_pop(worker, &mut cx)
        .map(|e| e.map(|e| e.id as u32))
}

#[test]
fn admits_workers_plus_capacity_then_rejects_the_newest() {
    let verdicts = Verdicts::default();
    let q = shared(2, 3, Overflow::RejectNewest);
    for label in 0..5 {
        assert!(
            q.submit(probe(label, &verdicts), None).is_some(),
            "item {label}"
        );
    }
    assert!(q.submit(probe(5, &verdicts), None).is_none());
    let verdicts = verdicts.lock().unwrap();
    assert_eq!(verdicts.len(), 1);
    assert!(
        matches!(&verdicts[0], (5, Rejection::QueueFull(f)) if f.overflow() == Overflow::RejectNewest)
    );
    assert_eq!(q.counters.rejected_newest.load(Ordering::Relaxed), 1);
}

#[test]
fn a_running_item_gives_its_worker_slot_back_only_when_finished() {
    let verdicts = Verdicts::default();
    let q = shared(1, 1, Overflow::RejectNewest);
    let waker = Waker::noop();
    q.submit(probe(0, &verdicts), None).unwrap();
    assert_eq!(pop(&q, 0, waker), Poll::Ready(Some(0)));
    // One running, one waiting slot.
    q.submit(probe(1, &verdicts), None).unwrap();
    assert!(q.submit(probe(2, &verdicts), None).is_none());
    q.finish();
    q.submit(probe(3, &verdicts), None).unwrap();
    assert!(q.submit(probe(4, &verdicts), None).is_none());
}

#[test]
fn drop_oldest_evicts_the_first_item_past_those_idle_workers_will_take() {
    let verdicts = Verdicts::default();
    let q = shared(2, 1, Overflow::DropOldest);
    for label in 0..3 {
        q.submit(probe(label, &verdicts), None).unwrap();
    }
    // Item 0 belongs to the idle worker; 1 is the oldest waiting.
    q.submit(probe(3, &verdicts), None).unwrap();
    q.submit(probe(4, &verdicts), None).unwrap();
    let labels: Vec<u32> = verdicts.lock().unwrap().iter().map(|(l, _)| *l).collect();
    assert_eq!(labels, [1, 2]);
    let waker = Waker::noop();
    let order: Vec<_> = (0..3).map(|_| pop(&q, 0, waker)).collect();
    assert_eq!(
        order,
        [
            Poll::Ready(Some(0)),
            Poll::Ready(Some(3)),
            Poll::Ready(Some(4))
        ]
    );
}

#[test]
fn drop_oldest_with_nothing_waiting_rejects_the_newcomer() {
    let verdicts = Verdicts::default();
    let q = shared(0, 1, Overflow::DropOldest);
    q.submit(probe(0, &verdicts), None).unwrap();
    assert_eq!(pop(&q, 0, Waker::noop()), Poll::Ready(Some(0)));
    assert!(q.submit(probe(1, &verdicts), None).is_none());
    let verdicts = verdicts.lock().unwrap();
    assert!(
        matches!(&verdicts[..], [(1, Rejection::QueueFull(f))] if f.overflow() == Overflow::RejectNewest)
    );
}

#[test]
fn remove_finds_any_waiting_item_by_ticket() {
    let verdicts = Verdicts::default();
    let q = shared(8, 1, Overflow::RejectNewest);
    let ids: Vec<u64> = (0..6)
        .map(|l| q.submit(probe(l, &verdicts), None).unwrap())
        .collect();
    assert!(q.remove(ids[3]).is_some());
    assert!(q.remove(ids[3]).is_none());
    assert!(q.remove(ids[0]).is_some());
    assert!(q.remove(ids[5]).is_some());
    assert_eq!(q.queued.load(Ordering::Relaxed), 3);
    let waker = Waker::noop();
    let left: Vec<_> = (0..3).map(|_| pop(&q, 0, waker)).collect();
    assert_eq!(
        left,
        [
            Poll::Ready(Some(1)),
            Poll::Ready(Some(2)),
            Poll::Ready(Some(4))
        ]
    );
}

#[test]
fn a_submit_wakes_one_parked_worker_and_a_pop_wakes_the_next_if_more_wait() {
    let verdicts = Verdicts::default();
    let q = shared(4, 2, Overflow::RejectNewest);
    let a = Arc::new(CountingWaker::default());
    let b = Arc::new(CountingWaker::default());
    let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
    assert_eq!(pop(&q, 0, &wa), Poll::Pending);
    assert_eq!(pop(&q, 1, &wb), Poll::Pending);
    // Polled again while parked: still parked once.
    assert_eq!(pop(&q, 1, &wb), Poll::Pending);
    q.submit(probe(0, &verdicts), None).unwrap();
    q.submit(probe(1, &verdicts), None).unwrap();
    assert_eq!(a.0.load(Ordering::SeqCst) + b.0.load(Ordering::SeqCst), 2);
    q.submit(probe(2, &verdicts), None).unwrap();
    assert_eq!(
        a.0.load(Ordering::SeqCst) + b.0.load(Ordering::SeqCst),
        2,
        "nobody left parked"
    );
    assert_eq!(pop(&q, 0, &wa), Poll::Ready(Some(0)));
}

#[test]
fn closing_wakes_every_parked_worker_and_they_drain_then_stop() {
    let verdicts = Verdicts::default();
    let q = shared(4, 2, Overflow::RejectNewest);
    let a = Arc::new(CountingWaker::default());
    let wa = Waker::from(a.clone());
    assert_eq!(pop(&q, 0, &wa), Poll::Pending);
    q.close(false);
    assert_eq!(a.0.load(Ordering::SeqCst), 1);
    assert_eq!(pop(&q, 0, &wa), Poll::Ready(None));
    assert!(q.submit(probe(0, &verdicts), None).is_none());
    let verdicts = verdicts.lock().unwrap();
    assert!(
        matches!(&verdicts[..], [(0, Rejection::QueueClosed(c))] if c.reason() == QueueClosedReason::ShutDown)
    );
}

#[test]
fn close_now_fails_every_waiting_item() {
    let verdicts = Verdicts::default();
    let q = shared(4, 1, Overflow::RejectNewest);
    for label in 0..3 {
        q.submit(probe(label, &verdicts), None).unwrap();
    }
    q.close(true);
    assert_eq!(verdicts.lock().unwrap().len(), 3);
    assert_eq!(q.queued.load(Ordering::Relaxed), 0);
    assert_eq!(q.counters.closed.load(Ordering::Relaxed), 3);
}

#[test]
fn the_last_worker_to_exit_fails_what_is_left() {
    let verdicts = Verdicts::default();
    let q = shared(4, 2, Overflow::RejectNewest);
    q.submit(probe(0, &verdicts), None).unwrap();
    q.worker_exited();
    assert!(
        verdicts.lock().unwrap().is_empty(),
        "one worker is still alive"
    );
    q.worker_exited();
    let verdicts = verdicts.lock().unwrap();
    assert!(
        matches!(&verdicts[..], [(0, Rejection::QueueClosed(c))] if c.reason() == QueueClosedReason::WorkerStopped)
    );
}

#[test]
fn an_abandoned_item_is_skipped_at_dequeue_and_frees_its_worker() {
    let q = shared(4, 1, Overflow::RejectNewest);
    let gone = Box::pin(Probe {
        abandoned: true,
        ..Probe::default()
    });
    q.submit(gone, None).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Some(entry)) = q.poll_pop(0, &mut cx) else {
        panic!("the item should be there")
    };
    assert_eq!(q.running.load(Ordering::Relaxed), 1);
    assert!(q.admit(entry).is_none());
    assert_eq!(q.running.load(Ordering::Relaxed), 0);
    assert_eq!(q.counters.cancelled.load(Ordering::Relaxed), 1);
}

#[test]
fn an_item_that_waited_max_wait_is_failed_at_dequeue() {
    let verdicts = Verdicts::default();
    let q = Shared::new(Config {
        max_wait: Some(std::time::Duration::from_millis(5)),
        ..shared(4, 1, Overflow::RejectNewest).config
    });
    let long_ago = tokio::time::Instant::now() - std::time::Duration::from_millis(5);
    q.submit(probe(0, &verdicts), Some(long_ago)).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Some(entry)) = q.poll_pop(0, &mut cx) else {
        panic!("the item should be there")
    };
    assert!(q.admit(entry).is_none());
    let verdicts = verdicts.lock().unwrap();
    assert!(
        matches!(&verdicts[..], [(0, Rejection::QueueTimeout(t))] if t.waited() >= t.max_wait())
    );
    assert_eq!(q.running.load(Ordering::Relaxed), 0);
}
