use std::{convert::Infallible, future::ready};

use failguard::{
    Error, Timeout,
    adaptive::{AdaptiveLimit, SampleWindow},
    throttle::AdaptiveThrottle,
};
use tower::{Layer, Service, service_fn};

use crate::{assert_no_alloc, in_runtime};

#[test]
fn adaptive_call_allocates_nothing_when_admitted_at_once() {
    in_runtime(|| {
        // A window of one call: the algorithm runs on every call, and allocates nothing either.
        let limit = AdaptiveLimit::builder()
            .sample_window(SampleWindow::Calls(1))
            .build()
            .unwrap();
        let out = assert_no_alloc(|| limit.call(|| ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 1);
    })
}

#[test]
fn adaptive_service_and_partition_allocate_nothing() {
    in_runtime(|| {
        let limit = AdaptiveLimit::builder()
            .partition("live", 0.5)
            .build()
            .unwrap();
        let mut svc = limit
            .layer()
            .partition_by(|_: &u32| "live")
            .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
        let out = assert_no_alloc(|| svc.call(5));
        assert_eq!(out.unwrap(), 5);
        let live = limit.partition("live").unwrap();
        let policy = live.wrap(Timeout::new(std::time::Duration::from_secs(1)).unwrap());
        let out = assert_no_alloc(|| policy.call(|| ready(Ok::<_, Infallible>(6))));
        assert_eq!(out.unwrap(), 6);
    })
}

#[test]
fn throttle_allocates_nothing_while_the_backend_accepts() {
    in_runtime(|| {
        let throttle = AdaptiveThrottle::builder().build().unwrap();
        let out = assert_no_alloc(|| throttle.call(|| ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 1);
        let mut svc = throttle
            .layer()
            .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
        let out = assert_no_alloc(|| svc.call(5));
        assert_eq!(out.unwrap(), 5);
    })
}
