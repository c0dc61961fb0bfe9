use std::{convert::Infallible, future::ready};

use failguard::{Bulkhead, Error, Timeout};
use tower::{Layer, Service, service_fn};

use crate::{assert_no_alloc, in_runtime};

#[test]
fn bulkhead_call_allocates_nothing_when_uncontended() {
    let bulkhead = Bulkhead::new(4).unwrap();
    let out = assert_no_alloc(|| bulkhead.call(|| ready(Ok::<_, Infallible>(1))));
    assert_eq!(out.unwrap(), 1);
    assert_eq!(bulkhead.snapshot().in_flight, 0);
}

#[test]
fn bulkhead_service_allocates_nothing_when_uncontended() {
    let bulkhead = Bulkhead::new(4).unwrap();
    let mut svc = bulkhead
        .layer()
        .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
    let out = assert_no_alloc(|| svc.call(5));
    assert_eq!(out.unwrap(), 5);
}

#[test]
fn bulkhead_in_a_stack_allocates_nothing() {
    in_runtime(|| {
        let policy = Bulkhead::new(4)
            .unwrap()
            .wrap(Timeout::new(std::time::Duration::from_secs(1)).unwrap());
        let out = assert_no_alloc(|| policy.call(|| ready(Ok::<_, Infallible>(6))));
        assert_eq!(out.unwrap(), 6);
    })
}
