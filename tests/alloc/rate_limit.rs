use std::{convert::Infallible, future::ready};

use failguard::{Error, RateLimiter, Timeout};
use tower::{Layer, Service, service_fn};

use crate::{assert_no_alloc, in_runtime};

#[test]
fn rate_limited_call_allocates_nothing() {
    in_runtime(|| {
        let limiter = RateLimiter::per_second(1_000).unwrap();
        let out = assert_no_alloc(|| limiter.call(|| ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 1);
    })
}

#[test]
fn rate_limit_service_allocates_nothing() {
    in_runtime(|| {
        let limiter = RateLimiter::per_second(1_000).unwrap();
        let mut svc = limiter
            .layer()
            .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
        let out = assert_no_alloc(|| svc.call(5));
        assert_eq!(out.unwrap(), 5);
    })
}

#[test]
fn rate_limiter_in_a_stack_allocates_nothing() {
    in_runtime(|| {
        let policy = RateLimiter::per_second(1_000)
            .unwrap()
            .wrap(Timeout::new(std::time::Duration::from_secs(1)).unwrap());
        let out = assert_no_alloc(|| policy.call(|| ready(Ok::<_, Infallible>(6))));
        assert_eq!(out.unwrap(), 6);
    })
}
