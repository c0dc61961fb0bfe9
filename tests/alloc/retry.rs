use std::{
    convert::Infallible,
    future::{IntoFuture, ready},
    time::Duration,
};

use failguard::{
    Error, Retry, Retryable, Timeout,
    retry::{Backoff, Jitter, RetryBudget},
};
use tower::{Layer, Service, service_fn};

use crate::{assert_no_alloc, in_runtime};

#[test]
fn a_first_success_allocates_nothing() {
    in_runtime(|| {
        let retry = Retry::new(3).unwrap();
        let out = assert_no_alloc(|| retry.call(|| ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 1);
        let out = assert_no_alloc(|| {
            (|| ready(Ok::<_, Infallible>(2)))
                .retry(&retry)
                .into_future()
        });
        assert_eq!(out.unwrap(), 2);
        let out = assert_no_alloc(|| {
            (|| ready(Ok::<_, Infallible>(3)))
                .retry(&retry)
                .when(|e| e.is_rejection())
                .notify(|_, _| {})
                .into_future()
        });
        assert_eq!(out.unwrap(), 3);
        // With a budget, max_elapsed, predicates, a hint and a callback too.
        let retry = Retry::builder()
            .max_attempts(5)
            .max_elapsed(Duration::from_secs(10))
            .backoff(Backoff::exponential(Duration::from_millis(10)).jitter(Jitter::Decorrelated))
            .budget(RetryBudget::builder().build().unwrap())
            // A shared generator is locked only to draw, and a first success draws nothing.
            .seed(7)
            .name(format!("dynamic-{}", 1))
            .on_retry(|_| {})
            .retry_if(|e: &Error<Infallible>| e.is_rejection())
            .retry_on_result(|n: &u32| *n == 503)
            .delay_hint(|_: &Result<u32, Error<Infallible>>| None)
            .build()
            .unwrap();
        let out = assert_no_alloc(|| retry.call(|| ready(Ok::<u32, Infallible>(200))));
        assert_eq!(out.unwrap(), 200);
    })
}

#[test]
fn a_first_success_through_the_service_and_a_stack_allocates_nothing() {
    in_runtime(|| {
        let retry = Retry::new(3).unwrap();
        let mut svc = retry
            .layer()
            .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
        assert_eq!(assert_no_alloc(|| svc.call(3)).unwrap(), 3);
        let policy = Timeout::new(Duration::from_secs(5))
            .unwrap()
            .wrap(retry)
            .wrap(Timeout::new(Duration::from_secs(1)).unwrap());
        let out = assert_no_alloc(|| policy.call(|| ready(Ok::<_, Infallible>(4))));
        assert_eq!(out.unwrap(), 4);
    })
}
