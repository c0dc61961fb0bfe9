//! The happy path of every policy makes zero heap allocations, through both front doors.
//!
//! A counting global allocator counts allocations made by the current thread; each check polls a
//! call that finishes at once with a no-op waker, so nothing but the policy runs between the two
//! readings.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

mod adaptive;
mod breaker;
mod bulkhead;
mod chaos;
#[cfg(feature = "serde")]
mod config;
mod fallback;
#[cfg(feature = "keyed")]
mod keyed;
mod queue;
mod rate_limit;
mod retry;
mod timeout;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to the system allocator unchanged; counting touches only a
// const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations `f` makes on this thread.
pub fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    let after = ALLOCATIONS.with(Cell::get);
    (after - before, out)
}

/// Polls `future` once with a no-op waker and returns its output; panics if it is pending.
pub fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the happy path should finish on its first poll"),
    }
}

/// Runs `f` inside a current-thread runtime with the timer enabled (policies that may arm a timer
/// need one), without a task: the futures are polled by hand.
pub fn in_runtime<R>(f: impl FnOnce() -> R) -> R {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let _guard = rt.enter();
    f()
}

/// Asserts that building and polling the future made by `make` allocates nothing, after one
/// warm-up call (first use of a thread-local or a lazily initialised global may allocate once).
pub fn assert_no_alloc<F: Future>(mut make: impl FnMut() -> F) -> F::Output {
    poll_once(make());
    let (n, out) = allocations(|| poll_once(make()));
    assert_eq!(n, 0, "the happy path allocated {n} time(s)");
    out
}
