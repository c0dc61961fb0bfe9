//! The bounded queue through its public API: every rule through both front doors (the
//! combinator and the tower layer) on tokio's paused clock, cancellation at every await point,
//! shutdown, dead workers, composition, and a stress test.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
    time::Duration,
};

use failguard::{
    BoxError, Error, Fallback, Queue, Timeout,
    error::{QueueClosed, QueueClosedReason, QueueFull, QueueTimeout},
    queue::{Overflow, QueueFuture, QueueService},
};
use tokio::time::{Instant, advance};
use tower::{Layer, Service, ServiceExt, service_fn, util::ServiceFn};

const MS: Duration = Duration::from_millis(1);

/// What a test item does when it runs.
#[derive(Clone, Default)]
struct Job {
    id: u32,
    sleep: Duration,
    panic: bool,
    log: Log,
}

/// Which items started running, in order, and which were dropped mid-run.
#[derive(Clone, Default)]
struct Log {
    started: Arc<Mutex<Vec<u32>>>,
    dropped: Arc<AtomicUsize>,
}

impl Log {
    fn started(&self) -> Vec<u32> {
        self.started.lock().unwrap().clone()
    }
}

struct DropFlag(Arc<AtomicUsize>, bool);

impl Drop for DropFlag {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn work(job: Job) -> Result<u32, io::Error> {
    job.log.started.lock().unwrap().push(job.id);
    let mut flag = DropFlag(job.log.dropped.clone(), false);
    if !job.sleep.is_zero() {
        tokio::time::sleep(job.sleep).await;
    }
    if job.panic {
        panic!("job {} panicked on purpose", job.id);
    }
    flag.1 = true;
    Ok(job.id)
}

type Boxed = Pin<Box<dyn Future<Output = Result<u32, Error<io::Error>>> + Send>>;
type Svc = QueueService<ServiceFn<fn(Job) -> Boxed>>;
type Call = QueueFuture<u32, Error<io::Error>>;

fn serve(job: Job) -> Boxed {
    Box::pin(async move { work(job).await.map_err(Error::Inner) })
}

/// The two front doors of one queue.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Door {
    Call,
    Tower,
}

const DOORS: [Door; 2] = [Door::Call, Door::Tower];

struct Doors {
    queue: Queue,
    svc: Svc,
}

impl Doors {
    fn new(queue: Queue) -> Self {
        let svc = queue.layer().layer(service_fn(serve as fn(Job) -> Boxed));
        Self { queue, svc }
    }

    /// Submits `job` through `door`; the item is queued (or shed) before this returns.
    fn submit(&mut self, door: Door, job: Job) -> Call {
        match door {
            Door::Call => self.queue.call(move || work(job)),
            Door::Tower => {
                let mut cx = Context::from_waker(Waker::noop());
                assert!(matches!(self.svc.poll_ready(&mut cx), Poll::Ready(Ok(()))));
                self.svc.call(job)
            }
        }
    }
}

fn job(id: u32, log: &Log) -> Job {
    Job {
        id,
        log: log.clone(),
        ..Job::default()
    }
}

fn slow(id: u32, ms: u64, log: &Log) -> Job {
    Job {
        sleep: Duration::from_millis(ms),
        ..job(id, log)
    }
}

/// Lets the workers take what they can without moving the clock.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// The result of a future that must already be ready.
fn now<F: Future>(f: F) -> F::Output {
    match std::pin::pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("expected a result without waiting"),
    }
}

fn full(result: Result<u32, Error<io::Error>>) -> QueueFull {
    match result {
        Err(Error::QueueFull(e)) => e,
        other => panic!("expected QueueFull, got {other:?}"),
    }
}

fn timed_out(result: Result<u32, Error<io::Error>>) -> QueueTimeout {
    match result {
        Err(Error::QueueTimeout(e)) => e,
        other => panic!("expected QueueTimeout, got {other:?}"),
    }
}

fn closed(result: Result<u32, Error<io::Error>>) -> QueueClosed {
    match result {
        Err(Error::QueueClosed(e)) => e,
        other => panic!("expected QueueClosed, got {other:?}"),
    }
}

fn queue(capacity: usize, workers: usize) -> failguard::queue::QueueBuilder {
    Queue::builder().capacity(capacity).workers(workers)
}

// ---------------------------------------------------------------------------------------------
// Configuration: one test per rule.

#[tokio::test]
async fn capacity_must_be_set() {
    let err = Queue::builder().build().unwrap_err();
    assert_eq!(err.field(), "queue.capacity");
    assert_eq!(err.rule(), "must be set");
}

#[tokio::test]
async fn capacity_has_a_ceiling() {
    let too_many = failguard::queue::MAX_CAPACITY + 1;
    let err = Queue::new(too_many).unwrap_err();
    assert_eq!(err.field(), "queue.capacity");
    assert_eq!(
        err.rule(),
        format!("must be at most 1048576 (got {too_many})")
    );
    assert!(Queue::new(failguard::queue::MAX_CAPACITY).is_ok());
}

#[tokio::test]
async fn workers_must_be_at_least_one() {
    let err = queue(1, 0).build().unwrap_err();
    assert_eq!(err.field(), "queue.workers");
    assert_eq!(err.rule(), "must be at least 1 (got 0)");
}

#[tokio::test]
async fn workers_have_a_ceiling() {
    let err = queue(1, failguard::queue::MAX_WORKERS + 1)
        .build()
        .unwrap_err();
    assert_eq!(err.field(), "queue.workers");
    assert_eq!(err.rule(), "must be at most 4096 (got 4097)");
}

#[tokio::test]
async fn max_wait_must_be_positive() {
    let err = queue(1, 1).max_wait(Duration::ZERO).build().unwrap_err();
    assert_eq!(err.field(), "queue.max_wait");
    assert_eq!(err.rule(), "must be greater than zero (got 0ns)");
}

#[tokio::test]
async fn max_wait_has_a_ceiling() {
    let err = queue(1, 1)
        .max_wait(failguard::queue::MAX_WAIT + MS)
        .build()
        .unwrap_err();
    assert_eq!(err.field(), "queue.max_wait");
    assert!(err.rule().starts_with("must be at most 365 days"), "{err}");
}

#[test]
fn build_outside_a_runtime_is_a_config_error_not_a_panic() {
    let err = Queue::new(4).unwrap_err();
    assert_eq!(err.field(), "queue.runtime");
    assert!(err.rule().contains("tokio runtime"), "{err}");
}

#[test]
fn an_explicit_runtime_works_from_outside_it() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let queue = Queue::builder()
        .capacity(4)
        .runtime(rt.handle().clone())
        .build()
        .unwrap();
    let result = rt.block_on(queue.call(|| async { Ok::<_, io::Error>(9) }));
    assert_eq!(result.unwrap(), 9);
}

// ---------------------------------------------------------------------------------------------
// Limits, order and shedding, through both doors.

#[tokio::test(start_paused = true)]
async fn workers_plus_capacity_fit_and_the_next_is_rejected_at_once() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(3, 2).build().unwrap());
        let accepted: Vec<Call> = (0..5).map(|i| q.submit(door, slow(i, 100, &log))).collect();
        // The sixth is rejected without waiting, before any worker has even started.
        let rejected = full(now(q.submit(door, job(5, &log))));
        assert_eq!(rejected.overflow(), Overflow::RejectNewest, "{door:?}");
        assert_eq!(rejected.capacity(), 3);
        settle().await;
        let snap = q.queue.snapshot();
        assert_eq!((snap.running, snap.queued), (2, 3), "{door:?}");
        assert_eq!(snap.rejected_newest, 1);
        // Still full while they run.
        full(now(q.submit(door, job(6, &log))));
        let start = Instant::now();
        for (i, call) in accepted.into_iter().enumerate() {
            assert_eq!(call.await.unwrap(), i as u32, "{door:?}");
        }
        // Two workers, five 100 ms items: three rounds.
        assert_eq!(start.elapsed(), 300 * MS, "{door:?}");
        assert_eq!(log.started(), [0, 1, 2, 3, 4], "{door:?}");
        let snap = q.queue.snapshot();
        assert_eq!((snap.running, snap.queued, snap.completed), (0, 0, 5));
    }
}

#[tokio::test(start_paused = true)]
async fn capacity_zero_is_a_hand_off() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(0, 1).build().unwrap());
        let first = q.submit(door, slow(1, 10, &log));
        full(now(q.submit(door, job(2, &log))));
        assert_eq!(first.await.unwrap(), 1);
        // The worker is free again: accepted.
        assert_eq!(q.submit(door, job(3, &log)).await.unwrap(), 3);
    }
}

/// A caller that has its result finds the worker free: sequential calls through a hand-off
/// queue never shed, even when the caller runs on another thread than the worker.
#[test]
fn a_worker_is_free_again_before_its_caller_hears_the_outcome() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let q = queue(0, 1).build().unwrap();
        let svc = q.layer().layer(service_fn(|x: u32| async move {
            tokio::task::yield_now().await;
            Ok::<_, Error<io::Error>>(x)
        }));
        for i in 0..500 {
            let out = if i % 2 == 0 {
                q.call(move || async move { Ok::<_, io::Error>(i) }).await
            } else {
                svc.clone().oneshot(i).await
            };
            assert_eq!(out.unwrap(), i);
        }
        let boom = q.call(|| async {
            if true {
                panic!("on purpose");
            }
            Ok::<_, io::Error>(0)
        });
        assert_eq!(closed(boom.await).reason(), QueueClosedReason::Panicked);
        assert_eq!(q.call(|| async { Ok::<_, io::Error>(1) }).await.unwrap(), 1);
        assert_eq!(q.snapshot().completed, 501);
    });
}

#[tokio::test(start_paused = true)]
async fn waiting_items_run_first_in_first_out() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(8, 1).build().unwrap());
        let calls: Vec<Call> = (0..8).map(|i| q.submit(door, slow(i, 5, &log))).collect();
        for call in calls {
            call.await.unwrap();
        }
        assert_eq!(log.started(), (0..8).collect::<Vec<_>>(), "{door:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn drop_oldest_fails_the_oldest_waiter_and_keeps_order() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(2, 1).overflow(Overflow::DropOldest).build().unwrap());
        let busy = q.submit(door, slow(0, 50, &log));
        settle().await;
        let b = q.submit(door, job(1, &log));
        let c = q.submit(door, job(2, &log));
        let d = q.submit(door, job(3, &log));
        // B was the oldest waiter: failed at once, and it never runs.
        let dropped = full(now(b));
        assert_eq!(dropped.overflow(), Overflow::DropOldest, "{door:?}");
        let e = q.submit(door, job(4, &log));
        full(now(c));
        assert_eq!(busy.await.unwrap(), 0);
        assert_eq!(d.await.unwrap(), 3);
        assert_eq!(e.await.unwrap(), 4);
        assert_eq!(log.started(), [0, 3, 4], "{door:?}");
        assert_eq!(q.queue.snapshot().dropped_oldest, 2);
    }
}

#[tokio::test(start_paused = true)]
async fn queue_timeout_is_exact_and_the_item_never_runs() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(4, 1).max_wait(100 * MS).build().unwrap());
        let busy = q.submit(door, slow(0, 1000, &log));
        let start = Instant::now();
        let late = q.submit(door, job(1, &log));
        let err = timed_out(late.await);
        assert_eq!(start.elapsed(), 100 * MS, "{door:?}");
        assert_eq!(err.waited(), 100 * MS);
        assert_eq!(err.max_wait(), 100 * MS);
        assert_eq!(busy.await.unwrap(), 0);
        assert_eq!(
            log.started(),
            [0],
            "{door:?}: the timed-out item must not run"
        );
        let snap = q.queue.snapshot();
        assert_eq!((snap.timed_out, snap.queued), (1, 0));
    }
}

#[tokio::test(start_paused = true)]
async fn an_item_that_waited_just_under_max_wait_runs() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(4, 1).max_wait(100 * MS).build().unwrap());
        let busy = q.submit(door, slow(0, 99, &log));
        let waiting = q.submit(door, job(1, &log));
        assert_eq!(busy.await.unwrap(), 0);
        assert_eq!(waiting.await.unwrap(), 1, "{door:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn at_exactly_max_wait_the_item_is_failed_even_if_a_worker_frees_up() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(4, 1).max_wait(100 * MS).build().unwrap());
        let busy = q.submit(door, slow(0, 100, &log));
        let waiting = q.submit(door, job(1, &log));
        assert_eq!(busy.await.unwrap(), 0);
        timed_out(waiting.await);
        assert_eq!(log.started(), [0], "{door:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_worker_fails_an_expired_item_even_if_nobody_polls_its_future() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(4, 1).max_wait(100 * MS).build().unwrap());
        let busy = q.submit(door, slow(0, 150, &log));
        let waiting = q.submit(door, job(1, &log));
        busy.await.unwrap();
        settle().await;
        assert_eq!(log.started(), [0], "{door:?}");
        assert_eq!(q.queue.snapshot().timed_out, 1);
        // The error was already sent; the waited time is what the worker saw.
        assert_eq!(timed_out(now(waiting)).waited(), 150 * MS);
    }
}

#[tokio::test(start_paused = true)]
async fn drop_oldest_never_drops_an_item_an_idle_worker_is_about_to_take() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(1, 2).overflow(Overflow::DropOldest).build().unwrap());
        // Two idle workers: A and B are theirs, C waits; nothing has run yet.
        let a = q.submit(door, slow(0, 10, &log));
        let b = q.submit(door, slow(1, 10, &log));
        let c = q.submit(door, job(2, &log));
        let d = q.submit(door, job(3, &log));
        assert_eq!(full(now(c)).overflow(), Overflow::DropOldest, "{door:?}");
        assert_eq!(a.await.unwrap(), 0);
        assert_eq!(b.await.unwrap(), 1);
        assert_eq!(d.await.unwrap(), 3);
        assert_eq!(log.started(), [0, 1, 3], "{door:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 11: the wait a `QueueFull` estimates, for a server's `Retry-After` or a retry's next try.

#[tokio::test(start_paused = true)]
async fn a_full_queue_estimates_a_newcomers_wait_from_the_service_time() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(3, 2).build().unwrap());
        let accepted: Vec<Call> = (0..5).map(|i| q.submit(door, slow(i, 100, &log))).collect();
        let err = now(q.submit(door, job(5, &log))).unwrap_err();
        assert_eq!(
            err.retry_after(),
            None,
            "{door:?}: the first shedding knows nothing"
        );
        // The workers had not taken any item yet, so all five start after it and are timed.
        for call in accepted {
            call.await.unwrap();
        }

        // Items take 100 ms: a newcomer waits for the three items ahead of it and its own turn,
        // two at a time.
        let accepted: Vec<Call> = (0..5).map(|i| q.submit(door, slow(i, 100, &log))).collect();
        let err = now(q.submit(door, job(5, &log))).unwrap_err();
        assert_eq!(err.retry_after(), Some(200 * MS), "{door:?}");
        assert_eq!(err.rejection().unwrap().retry_after(), Some(200 * MS));
        let full = full(Err(err));
        assert_eq!(full.retry_after(), Some(200 * MS));
        assert_eq!(
            full.to_string(),
            "queue is full (3 waiting slots): the new item was rejected; retry after about 200ms"
        );
        for call in accepted {
            call.await.unwrap();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_estimate_follows_the_average_service_time_and_stops_at_max_wait() {
    let log = Log::default();
    let q = queue(0, 1).max_wait(120 * MS).build().unwrap();
    let estimate_after = async |ms: u64| {
        q.call({
            let job = slow(0, ms, &log);
            || work(job)
        })
        .await
        .unwrap();
        let busy = q.call({
            let job = slow(1, 1, &log);
            || work(job)
        });
        settle().await; // the worker takes it
        let estimate = full(now(q.call({
            let job = job(2, &log);
            || work(job)
        })))
        .retry_after();
        busy.await.unwrap();
        estimate
    };
    // Until the queue first sheds, its workers read no clock: items run, nothing is known.
    assert_eq!(estimate_after(80).await, None);
    // From then on, the first item sets the average (the busy one of 1 ms had started before the
    // shedding and was not timed); each later one moves it an eighth of the way, the busy items
    // of 1 ms in between too.
    assert_eq!(estimate_after(80).await, Some(80 * MS));
    // 80 -> 1 -> 160: 80 - 79/8 = 70.125, then 70.125 + 89.875/8 = 81.36 ms, rounded up.
    assert_eq!(estimate_after(160).await, Some(82 * MS));
    // A long item pulls it past the 120 ms a waiting item may wait: the estimate stops there.
    assert_eq!(estimate_after(2_000).await, Some(120 * MS));
}

#[tokio::test(start_paused = true)]
async fn the_oldest_item_dropped_for_a_newer_one_gets_the_estimate_too() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(1, 1).overflow(Overflow::DropOldest).build().unwrap());
        let mut estimates = Vec::new();
        for round in 0..2 {
            let busy = q.submit(door, slow(3 * round, 50, &log));
            settle().await;
            let oldest = q.submit(door, slow(3 * round + 1, 50, &log));
            let newer = q.submit(door, slow(3 * round + 2, 50, &log));
            let dropped = full(now(oldest));
            assert_eq!(dropped.overflow(), Overflow::DropOldest);
            estimates.push(dropped.retry_after());
            busy.await.unwrap();
            newer.await.unwrap();
        }
        // The first shedding knows nothing; the newer item, started after it, took 50 ms. Then:
        // one item waiting ahead (the newer one), then its own turn, one worker, 50 ms each.
        assert_eq!(estimates, [None, Some(100 * MS)], "{door:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiting_item_frees_its_slot_at_once_and_never_runs() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(1, 1).build().unwrap());
        let busy = q.submit(door, slow(0, 50, &log));
        settle().await;
        let gone = q.submit(door, job(1, &log));
        full(now(q.submit(door, job(2, &log))));
        drop(gone);
        assert_eq!(q.queue.snapshot().queued, 0, "{door:?}");
        let next = q.submit(door, job(3, &log));
        assert_eq!(busy.await.unwrap(), 0);
        assert_eq!(next.await.unwrap(), 3);
        assert_eq!(log.started(), [0, 3], "{door:?}");
        assert_eq!(q.queue.snapshot().cancelled, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_running_item_is_dropped_and_the_worker_moves_on() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(1, 1).build().unwrap());
        let running = q.submit(door, slow(0, 1000, &log));
        let next = q.submit(door, job(1, &log));
        settle().await;
        assert_eq!(q.queue.snapshot().running, 1);
        drop(running);
        let start = Instant::now();
        assert_eq!(next.await.unwrap(), 1);
        assert_eq!(start.elapsed(), Duration::ZERO, "{door:?}");
        assert_eq!(log.dropped.load(Ordering::SeqCst), 1, "{door:?}");
        let snap = q.queue.snapshot();
        assert_eq!((snap.cancelled, snap.running), (1, 0));
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_fails_its_caller_and_the_queue_keeps_serving() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(4, 1).build().unwrap());
        let boom = Job {
            panic: true,
            ..slow(0, 10, &log)
        };
        let boom = q.submit(door, boom);
        let after = q.submit(door, job(1, &log));
        let err = closed(boom.await);
        assert_eq!(err.reason(), QueueClosedReason::Panicked, "{door:?}");
        assert_eq!(after.await.unwrap(), 1);
        assert_eq!(q.submit(door, job(2, &log)).await.unwrap(), 2);
        let snap = q.queue.snapshot();
        assert_eq!((snap.panicked, snap.completed, snap.running), (1, 2, 0));
        assert!(!q.queue.is_closed());
    }
}

// ---------------------------------------------------------------------------------------------
// Shutdown and dead workers.

#[tokio::test(start_paused = true)]
async fn shutdown_drains_queued_work_then_rejects() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(4, 2).build().unwrap());
        let calls: Vec<Call> = (0..6).map(|i| q.submit(door, slow(i, 10, &log))).collect();
        let start = Instant::now();
        q.queue.shutdown().await;
        assert_eq!(
            start.elapsed(),
            30 * MS,
            "{door:?}: shutdown waits for the drain"
        );
        for (i, call) in calls.into_iter().enumerate() {
            assert_eq!(now(call).unwrap(), i as u32);
        }
        let err = closed(now(q.submit(door, job(9, &log))));
        assert_eq!(err.reason(), QueueClosedReason::ShutDown);
        let snap = q.queue.snapshot();
        assert!(snap.is_closed);
        assert_eq!((snap.completed, snap.closed, snap.running), (6, 1, 0));
    }
}

#[tokio::test(start_paused = true)]
async fn close_now_fails_waiting_items_and_lets_running_ones_finish() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(4, 1).build().unwrap());
        let running = q.submit(door, slow(0, 10, &log));
        settle().await;
        let waiting = q.submit(door, job(1, &log));
        q.queue.close_now();
        assert_eq!(closed(now(waiting)).reason(), QueueClosedReason::ShutDown);
        assert_eq!(running.await.unwrap(), 0);
        q.queue.closed().await;
        assert_eq!(log.started(), [0], "{door:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn closed_waits_for_a_close() {
    let q = queue(1, 1).build().unwrap();
    let mut waiting = tokio_test::task::spawn(q.closed());
    tokio_test::assert_pending!(waiting.poll());
    q.close();
    settle().await;
    tokio_test::assert_ready!(waiting.poll());
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_closes_gracefully() {
    let log = Log::default();
    let q = queue(4, 1).build().unwrap();
    let first = q.call({
        let job = slow(0, 10, &log);
        move || work(job)
    });
    let second = q.call({
        let job = job(1, &log);
        move || work(job)
    });
    drop(q);
    assert_eq!(first.await.unwrap(), 0);
    assert_eq!(second.await.unwrap(), 1);
}

#[test]
fn workers_that_stop_with_their_runtime_fail_every_caller() {
    let workers_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let callers_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let q = Queue::builder()
        .capacity(4)
        .runtime(workers_rt.handle().clone())
        .build()
        .unwrap();
    // Start one item on the worker runtime, leave one waiting, then kill the runtime.
    let running = q.call(|| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok::<_, io::Error>(0)
    });
    let waiting = q.call(|| async { Ok::<_, io::Error>(1) });
    workers_rt.block_on(async {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(q.snapshot().running, 1);
    drop(workers_rt);
    callers_rt.block_on(async {
        let err = closed(running.await);
        assert_eq!(err.reason(), QueueClosedReason::WorkerStopped);
        assert_eq!(
            closed(waiting.await).reason(),
            QueueClosedReason::WorkerStopped
        );
        let late = q.call(|| async { Ok::<_, io::Error>(2) }).await;
        assert_eq!(closed(late).reason(), QueueClosedReason::WorkerStopped);
        q.closed().await;
    });
}

#[test]
fn a_queue_built_on_a_runtime_that_already_stopped_fails_calls_instead_of_hanging() {
    let gone = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handle = gone.handle().clone();
    drop(gone);
    let q = Queue::builder()
        .capacity(4)
        .runtime(handle)
        .build()
        .unwrap();
    let callers_rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    callers_rt.block_on(async {
        let err = closed(q.call(|| async { Ok::<_, io::Error>(1) }).await);
        assert_eq!(err.reason(), QueueClosedReason::WorkerStopped);
        q.closed().await;
    });
}

// ---------------------------------------------------------------------------------------------
// Cancellation at every await point.

/// Drops a call after `polls` polls, each followed by 10 ms of virtual time, in a queue whose
/// worker is busy for 30 ms and whose items time out after 50 ms: the drop lands while the item
/// waits, right after the worker took it, while it runs, and after it finished. Afterwards every
/// slot is free: `workers + capacity` items are accepted again.
#[tokio::test(start_paused = true)]
async fn cancellation_at_every_await_point_leaves_no_slot_held() {
    for door in DOORS {
        for polls in 0..10 {
            let log = Log::default();
            let mut q = Doors::new(queue(1, 1).max_wait(50 * MS).build().unwrap());
            let busy = q.submit(door, slow(0, 30, &log));
            let mut target = tokio_test::task::spawn(q.submit(door, slow(1, 30, &log)));
            for _ in 0..polls {
                if target.poll().is_ready() {
                    break;
                }
                advance(10 * MS).await;
                settle().await;
            }
            drop(target);
            busy.await.unwrap();
            settle().await;
            let snap = q.queue.snapshot();
            assert_eq!(
                (snap.queued, snap.running),
                (0, 0),
                "{door:?} after {polls} polls"
            );
            let again: Vec<Call> = (2..4).map(|i| q.submit(door, slow(i, 1, &log))).collect();
            for call in again {
                call.await.unwrap();
            }
            let snap = q.queue.snapshot();
            assert_eq!(
                snap.completed + snap.cancelled + snap.timed_out,
                4,
                "{door:?} after {polls} polls: every item has exactly one ending"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parity: the same scenario through both doors gives the same outcomes.

#[tokio::test(start_paused = true)]
async fn parity_between_call_and_tower() {
    async fn scenario(door: Door) -> Vec<String> {
        let log = Log::default();
        let mut q = Doors::new(
            queue(2, 1)
                .overflow(Overflow::DropOldest)
                .max_wait(40 * MS)
                .build()
                .unwrap(),
        );
        let calls: Vec<Call> = vec![
            q.submit(door, slow(0, 30, &log)),
            q.submit(door, job(1, &log)),
            q.submit(door, job(2, &log)),
            q.submit(door, slow(3, 20, &log)),
            q.submit(
                door,
                Job {
                    panic: true,
                    ..job(4, &log)
                },
            ),
        ];
        let mut out = Vec::new();
        for call in calls {
            out.push(match call.await {
                Ok(v) => format!("ok {v}"),
                Err(e) => e.to_string(),
            });
        }
        out.push(format!("{:?}", log.started()));
        out
    }
    assert_eq!(scenario(Door::Call).await, scenario(Door::Tower).await);
}

// ---------------------------------------------------------------------------------------------
// Composition, BoxError, Send.

#[tokio::test(start_paused = true)]
async fn composes_with_timeout_inside_and_fallback_outside_with_a_flat_error() {
    let q = queue(0, 1).build().unwrap();
    let inner = q.clone().wrap(Timeout::new(10 * MS).unwrap());
    let mut slow_call = tokio_test::task::spawn(inner.call(|| async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok::<_, io::Error>(1)
    }));
    // Admission is lazy: the composed call is submitted on its first poll.
    assert!(slow_call.poll().is_pending());
    // The worker is taken: the queue sheds, flat, through the composed policy.
    let shed = inner.call(|| async { Ok::<_, io::Error>(2) }).await;
    assert!(matches!(shed, Err(Error::QueueFull(_))));
    // The timeout inside the queue bounds the run.
    assert!(matches!(slow_call.await, Err(Error::Timeout(_))));

    let policy = Fallback::value(0).wrap(q.clone());
    let busy = q.call(|| async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok::<_, io::Error>(5)
    });
    assert_eq!(
        policy
            .call(|| async { Ok::<_, io::Error>(7) })
            .await
            .unwrap(),
        0
    );
    assert_eq!(busy.await.unwrap(), 5);
    assert_eq!(
        policy
            .call(|| async { Ok::<_, io::Error>(7) })
            .await
            .unwrap(),
        7
    );
}

#[tokio::test(start_paused = true)]
async fn tower_stack_with_box_error_downcasts_rejections() {
    let q = queue(0, 1).max_wait(10 * MS).build().unwrap();
    let mut svc = tower::ServiceBuilder::new()
        .layer(q.layer())
        .map_err(BoxError::from)
        .service_fn(|ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, io::Error>(ms)
        });
    let busy = svc.ready().await.unwrap().call(100);
    let err = svc.ready().await.unwrap().call(1).await.unwrap_err();
    assert!(err.downcast_ref::<QueueFull>().is_some(), "{err}");
    assert_eq!(busy.await.unwrap(), 100);
    q.close();
    let err = svc.ready().await.unwrap().call(1).await.unwrap_err();
    assert!(err.downcast_ref::<QueueClosed>().is_some(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_around_the_queue_bounds_wait_and_run_with_box_error() {
    let q = queue(0, 1).build().unwrap();
    let policy = Timeout::new(50 * MS).unwrap().wrap(q.clone());
    let mut svc = tower::ServiceBuilder::new()
        .layer(policy.layer())
        .map_err(BoxError::from)
        .service_fn(|ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, io::Error>(ms)
        });
    let busy = svc.ready().await.unwrap().call(40);
    let shed = svc.ready().await.unwrap().call(1).await.unwrap_err();
    assert!(shed.downcast_ref::<QueueFull>().is_some(), "{shed}");
    assert_eq!(busy.await.unwrap(), 40);
    let slow = svc.ready().await.unwrap().call(100).await.unwrap_err();
    assert!(
        slow.downcast_ref::<failguard::error::Elapsed>().is_some(),
        "{slow}"
    );
    // The timed-out call was cancelled on the worker, which is free again at once.
    settle().await;
    assert_eq!(q.snapshot().running, 0);
    assert_eq!(q.snapshot().cancelled, 1);

    // The same policy as a combinator, typed.
    let slow = policy
        .call(|| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, io::Error>(())
        })
        .await;
    assert!(matches!(slow, Err(Error::Timeout(_))));
}

#[tokio::test(start_paused = true)]
async fn submission_happens_when_the_call_is_made_not_when_polled() {
    for door in DOORS {
        let log = Log::default();
        let mut q = Doors::new(queue(4, 1).build().unwrap());
        let call = q.submit(door, job(7, &log));
        settle().await;
        assert_eq!(
            log.started(),
            [7],
            "{door:?}: an idle worker runs it without a poll"
        );
        assert_eq!(now(call).unwrap(), 7);
    }
}

#[tokio::test(start_paused = true)]
async fn a_tower_stack_with_timeout_and_fallback_layers_keeps_one_error() {
    let q = queue(0, 1).build().unwrap();
    let policy = Fallback::value(0u64).wrap(q.clone());
    let mut svc = tower::ServiceBuilder::new()
        .layer(policy.layer())
        .layer(Timeout::new(50 * MS).unwrap().layer())
        .map_err(Error::Inner)
        .service_fn(|ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, io::Error>(ms)
        });
    let busy = svc.ready().await.unwrap().call(40);
    assert_eq!(
        svc.ready().await.unwrap().call(1).await.unwrap(),
        0,
        "shed, fallen back"
    );
    assert_eq!(busy.await.unwrap(), 40);
    assert_eq!(
        svc.ready().await.unwrap().call(100).await.unwrap(),
        0,
        "timed out"
    );
}

#[test]
fn futures_and_services_are_send_and_clone() {
    fn send<T: Send>(_: &T) {}
    fn clone_send_sync<T: Clone + Send + Sync>() {}
    clone_send_sync::<Queue>();
    clone_send_sync::<failguard::queue::QueueLayer>();
    clone_send_sync::<Svc>();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let q = Queue::new(1).unwrap();
    send(&q.call(|| async { Ok::<_, io::Error>(()) }));
    send(&q.closed());
    send(&q.shutdown());
}

// ---------------------------------------------------------------------------------------------
// Stress.

/// Many tasks submit through both doors on a multi-threaded runtime (real time) and drop their
/// calls at random points, for each overflow policy. At the end every slot is back, no item ran
/// twice, every call ended exactly once for its caller, and every item ended exactly one way in
/// the queue's counters. Bounded: 48 tasks x 40 calls, a 20 s watchdog (it takes milliseconds).
#[test]
fn stress_random_cancellations_leave_nothing_behind() {
    for overflow in [Overflow::RejectNewest, Overflow::DropOldest] {
        stress(overflow);
    }
}

fn stress(overflow: Overflow) {
    const TASKS: u64 = 48;
    const CALLS: usize = 40;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let q = queue(16, 4)
            .overflow(overflow)
            .max_wait(MS)
            .build()
            .unwrap();
        let svc = q.layer().layer(service_fn(|yields: u32| async move {
            for _ in 0..yields {
                tokio::task::yield_now().await;
            }
            Ok::<_, Error<io::Error>>(yields)
        }));
        let outcomes = Arc::new(AtomicUsize::new(0));
        let ran_twice = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let (q, mut svc) = (q.clone(), svc.clone());
            let (outcomes, ran_twice) = (outcomes.clone(), ran_twice.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut next = move || {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng
                };
                for _ in 0..CALLS {
                    let yields = (next() % 8) as u32;
                    let nap = if next() % 8 == 0 { next() % 1500 } else { 0 };
                    let ran = Arc::new(AtomicUsize::new(0));
                    let call = if next() % 2 == 0 {
                        let ran = ran.clone();
                        q.call(move || async move {
                            if ran.fetch_add(1, Ordering::SeqCst) > 0 {
                                return Err(io::Error::other("ran twice"));
                            }
                            tokio::time::sleep(Duration::from_micros(nap)).await;
                            for _ in 0..yields {
                                tokio::task::yield_now().await;
                            }
                            Ok(yields)
                        })
                    } else {
                        svc.ready().await.unwrap().call(yields)
                    };
                    let patience = next() % 16;
                    tokio::select! {
                        result = call => {
                            if let Err(Error::Inner(_)) = result {
                                ran_twice.store(true, Ordering::SeqCst);
                            }
                            outcomes.fetch_add(1, Ordering::SeqCst);
                        }
                        _ = async {
                            for _ in 0..patience {
                                tokio::task::yield_now().await;
                            }
                        } => {
                            outcomes.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }));
        }
        let watchdog = tokio::time::timeout(Duration::from_secs(20), async {
            for task in tasks {
                task.await.unwrap();
            }
            q.shutdown().await;
        });
        watchdog
            .await
            .expect("the stress test must finish in bounded time");
        let total = (TASKS as usize * CALLS) as u64;
        assert_eq!(outcomes.load(Ordering::SeqCst) as u64, total);
        assert!(!ran_twice.load(Ordering::SeqCst));
        let s = q.snapshot();
        assert_eq!((s.queued, s.running), (0, 0), "{s:?}");
        let ended = s.completed
            + s.rejected_newest
            + s.dropped_oldest
            + s.timed_out
            + s.cancelled
            + s.closed
            + s.panicked;
        assert_eq!(ended, total, "every item ended exactly one way: {s:?}");
        assert!(s.completed > 0 && s.cancelled > 0, "{s:?}");
        assert!(
            s.rejected_newest + s.dropped_oldest > 0,
            "the queue was never full: {s:?}"
        );
    });
}
