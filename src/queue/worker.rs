//! The worker tasks, and the type-erased item they run.
//!
//! Each worker is one tokio task that takes an item, runs it to the end, and takes the next:
//! `workers` tasks give `workers` concurrent executions. A panic in an item's work is caught at
//! the poll that raised it: that item's caller gets `QueueClosed(Panicked)` and the worker keeps
//! serving. A worker dropped by its runtime (runtime shutdown) drops the item it was running
//! (whose caller then gets `QueueClosed(WorkerStopped)`), and the last worker to go fails every
//! item still waiting, so no caller ever waits for a worker that no longer exists.

use std::{
    future::{Future, poll_fn},
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::{Arc, atomic::Ordering},
    task::{Context, Poll},
};

use pin_project_lite::pin_project;
use tokio::{runtime::Handle, sync::oneshot, time::Instant};

use super::core::{BoxTask, RunEnd, Shared, Task};
use crate::{
    PolicyError, Rejection,
    error::{QueueClosed, QueueClosedReason},
};

pin_project! {
    /// A submitted future and the channel its result goes back on.
    pub(crate) struct Work<F, T, Er> {
        #[pin]
        future: F,
        reply: Option<oneshot::Sender<Result<T, Er>>>,
    }
}

impl<F, T, Er> Work<F, T, Er> {
    pub(crate) fn new(future: F, reply: oneshot::Sender<Result<T, Er>>) -> Self {
        Self {
            future,
            reply: Some(reply),
        }
    }
}

impl<F, T, Er> Task for Work<F, T, Er>
where
    F: Future<Output = Result<T, Er>> + Send,
    T: Send,
    Er: PolicyError + Send,
{
    fn is_abandoned(&self) -> bool {
        self.reply.as_ref().is_none_or(oneshot::Sender::is_closed)
    }

    fn reject(self: Pin<&mut Self>, rejection: Rejection) {
        if let Some(reply) = self.project().reply.take() {
            // An error means the caller went away: nobody to tell.
            let _ = reply.send(Err(Er::from_rejection(rejection)));
        }
    }

    fn poll_run(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        completed: &mut dyn FnMut(),
    ) -> Poll<RunEnd> {
        let this = self.project();
        let Some(reply) = this.reply.as_mut() else {
            return Poll::Ready(RunEnd::Cancelled);
        };
        let Poll::Ready(result) = this.future.poll(cx) else {
            // The caller dropping its future cancels the work, as dropping any future would:
            // watch for it while the work is pending.
            return match reply.poll_closed(cx) {
                Poll::Ready(()) => Poll::Ready(RunEnd::Cancelled),
                Poll::Pending => Poll::Pending,
            };
        };
        completed();
        if let Some(reply) = this.reply.take() {
            // If the caller just went away, the result comes back and is dropped here; its
            // `Drop` must not turn a completed item into a panicked one.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(reply.send(result))));
        }
        Poll::Ready(RunEnd::Completed)
    }
}

/// Counts a worker out when its task ends, however it ends (including never being polled).
struct WorkerGuard(Arc<Shared>);

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        self.0.worker_exited();
    }
}

/// The item a worker took, counted out exactly once: before its caller hears the outcome (so a
/// caller that submits again at once finds the worker free), or when the worker is dropped
/// mid-run. Counting a timed item out also records how long it held the worker, whatever ended
/// it (a result, a panic, its caller leaving): that is the time the items behind it waited.
struct Running<'a> {
    shared: &'a Shared,
    started: Option<Instant>,
    armed: bool,
}

impl Running<'_> {
    fn release(&mut self) {
        if std::mem::take(&mut self.armed) {
            if let Some(started) = self.started {
                self.shared.served(started);
            }
            self.shared.finish();
        }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// Spawns the queue's workers on `runtime`.
pub(crate) fn spawn(shared: &Arc<Shared>, runtime: &Handle) {
    for worker in 0..shared.config.workers {
        let guard = WorkerGuard(shared.clone());
        runtime.spawn(run(guard, worker));
    }
}

async fn run(guard: WorkerGuard, worker: usize) {
    let shared = &*guard.0;
    while let Some(mut task) = shared.next(worker).await {
        let mut running = Running {
            shared,
            started: shared.start_timer(),
            armed: true,
        };
        let mut completed = || {
            shared.counters.completed.fetch_add(1, Ordering::Relaxed);
            running.release();
        };
        let end = poll_fn(|cx| poll_caught(task.as_mut(), cx, &mut completed)).await;
        match end {
            Ok(RunEnd::Completed) => {}
            Ok(RunEnd::Cancelled) => {
                shared.counters.cancelled.fetch_add(1, Ordering::Relaxed);
            }
            Err(()) => {
                shared.counters.panicked.fetch_add(1, Ordering::Relaxed);
                super::events::panicked(&shared.config);
                running.release();
                let closed =
                    QueueClosed::new(shared.config.name.clone(), QueueClosedReason::Panicked);
                task.as_mut().reject(Rejection::QueueClosed(closed));
            }
        }
        // The work's own `Drop` may panic too (after a panic, most likely): keep the worker.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(task)));
        drop(running);
    }
}

fn poll_caught(
    task: Pin<&mut (dyn Task + '_)>,
    cx: &mut Context<'_>,
    completed: &mut dyn FnMut(),
) -> Poll<Result<RunEnd, ()>> {
    match catch_unwind(AssertUnwindSafe(|| task.poll_run(cx, completed))) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(end)) => Poll::Ready(Ok(end)),
        Err(payload) => {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            Poll::Ready(Err(()))
        }
    }
}

/// Boxes `work` as a queue item.
pub(crate) fn task<F, T, Er>(future: F, reply: oneshot::Sender<Result<T, Er>>) -> BoxTask
where
    F: Future<Output = Result<T, Er>> + Send + 'static,
    T: Send + 'static,
    Er: PolicyError + Send + 'static,
{
    Box::pin(Work::new(future, reply))
}
