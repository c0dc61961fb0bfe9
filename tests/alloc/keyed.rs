use std::{convert::Infallible, future::ready};

use failguard::{CircuitBreaker, Error, RateLimiter, keyed::Keyed};
use tower::{Layer, Service, service_fn};

use crate::{assert_no_alloc, in_runtime};

#[test]
fn keyed_breaker_call_for_an_existing_key_allocates_nothing() {
    in_runtime(|| {
        let breakers: Keyed<String, _> = Keyed::builder(CircuitBreaker::builder().build().unwrap())
            .build()
            .unwrap();
        // The first call makes the key's instance (and allocates); the warm-up of
        // `assert_no_alloc` is that call, and every later one must allocate nothing.
        let out =
            assert_no_alloc(|| breakers.call("api.example.com", || ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 1);
        assert_eq!(breakers.snapshot().created, 1);
    })
}

#[test]
fn keyed_rate_limit_service_allocates_nothing() {
    in_runtime(|| {
        let limits: Keyed<String, _> = Keyed::builder(RateLimiter::per_second(1_000_000).unwrap())
            .build()
            .unwrap();
        let mut svc = limits
            .layer(|req: &(&'static str, u32)| req.0)
            .layer(service_fn(|req: (&'static str, u32)| {
                ready(Ok::<_, Error<Infallible>>(req.1))
            }));
        let out = assert_no_alloc(|| svc.call(("tenant-a", 5)));
        assert_eq!(out.unwrap(), 5);
    })
}
