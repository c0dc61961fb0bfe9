use std::{convert::Infallible, future::ready, time::Duration};

use failguard::{Error, FutureExt, Timeout};
use tower::{Layer, Service, service_fn};

use crate::{assert_no_alloc, in_runtime};

#[test]
fn timeout_call_allocates_nothing() {
    in_runtime(|| {
        let timeout = Timeout::new(Duration::from_secs(1)).unwrap();
        let out = assert_no_alloc(|| timeout.call(|| ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 1);
        let out = assert_no_alloc(|| ready(Ok::<_, Infallible>(2)).timeout(&timeout));
        assert_eq!(out.unwrap(), 2);
    })
}

#[test]
fn timeout_with_a_dynamic_name_allocates_nothing_per_call() {
    in_runtime(|| {
        let timeout = Timeout::builder()
            .duration(Duration::from_secs(1))
            .name(format!("host-{}", 7))
            .build()
            .unwrap();
        let out = assert_no_alloc(|| timeout.call(|| ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 1);
    })
}

#[test]
fn timeout_service_allocates_nothing() {
    in_runtime(|| {
        let timeout = Timeout::new(Duration::from_secs(1)).unwrap();
        let mut svc = timeout
            .layer()
            .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
        let out = assert_no_alloc(|| svc.call(3));
        assert_eq!(out.unwrap(), 3);
    })
}

#[test]
fn composed_timeouts_allocate_nothing() {
    in_runtime(|| {
        let policy = Timeout::new(Duration::from_secs(2))
            .unwrap()
            .wrap(Timeout::new(Duration::from_secs(1)).unwrap());
        let out = assert_no_alloc(|| policy.call(|| ready(Ok::<_, Infallible>(4))));
        assert_eq!(out.unwrap(), 4);
    })
}
