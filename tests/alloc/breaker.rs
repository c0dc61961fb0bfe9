use std::{convert::Infallible, future::ready, time::Duration};

use failguard::{CircuitBreaker, Error, Timeout};
use tower::{Layer, Service, service_fn};

use crate::{assert_no_alloc, in_runtime};

#[test]
fn breaker_call_allocates_nothing_when_closed() {
    in_runtime(|| {
        let breaker = CircuitBreaker::builder().build().unwrap();
        let out = assert_no_alloc(|| breaker.call(|| ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 1);
        // With a time window and slow-call tracking too.
        let breaker = CircuitBreaker::builder()
            .time_window(Duration::from_secs(10), 10)
            .slow_call_duration(Duration::from_secs(1))
            .build()
            .unwrap();
        let out = assert_no_alloc(|| breaker.call(|| ready(Ok::<_, Infallible>(2))));
        assert_eq!(out.unwrap(), 2);
    })
}

#[test]
fn breaker_service_and_stack_allocate_nothing_when_closed() {
    in_runtime(|| {
        let breaker = CircuitBreaker::builder().build().unwrap();
        let mut svc = breaker
            .layer()
            .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
        assert_eq!(assert_no_alloc(|| svc.call(3)).unwrap(), 3);
        let policy = breaker.wrap(Timeout::new(Duration::from_secs(1)).unwrap());
        assert_eq!(
            assert_no_alloc(|| policy.call(|| ready(Ok::<_, Infallible>(4)))).unwrap(),
            4
        );
    })
}
