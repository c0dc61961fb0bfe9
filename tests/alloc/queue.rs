//! The queue is a hand-off between tasks, so unlike the other policies its round trip is not
//! allocation-free: it boxes the submitted work (one allocation) and makes the `oneshot` channel
//! its result comes back on (one more). This pins that figure so it cannot grow unnoticed; the
//! rest (admission, the buffer, parking and waking a worker, the caller's future) allocates
//! nothing.

use std::{convert::Infallible, future::ready};

use failguard::{Error, Queue};
use tower::{Layer, Service, service_fn};

use crate::allocations;

/// Per round trip: the boxed work and the oneshot channel.
const PER_ROUND_TRIP: usize = 2;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn queue_call_allocates_only_the_work_box_and_the_reply_channel() {
    let rt = runtime();
    let queue = rt.block_on(async { Queue::new(16) }).unwrap();
    let round_trip = || rt.block_on(queue.call(|| ready(Ok::<_, Infallible>(1))));
    for _ in 0..3 {
        round_trip().unwrap();
    }
    let (n, out) = allocations(round_trip);
    assert_eq!(out.unwrap(), 1);
    assert_eq!(
        n, PER_ROUND_TRIP,
        "a queue round trip allocated {n} time(s)"
    );
}

#[test]
fn queue_service_allocates_only_the_work_box_and_the_reply_channel() {
    let rt = runtime();
    let queue = rt.block_on(async { Queue::new(16) }).unwrap();
    let mut svc = queue
        .layer()
        .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
    let mut round_trip = || rt.block_on(svc.call(3));
    for _ in 0..3 {
        round_trip().unwrap();
    }
    let (n, out) = allocations(round_trip);
    assert_eq!(out.unwrap(), 3);
    assert_eq!(
        n, PER_ROUND_TRIP,
        "a queue service round trip allocated {n} time(s)"
    );
}
