use std::{convert::Infallible, future::ready, time::Duration};

use failguard::{Error, chaos::Chaos, hedge::Hedge};
use tower::{Layer, Service, service_fn};

use crate::{assert_no_alloc, in_runtime};

#[test]
fn chaos_call_allocates_nothing_off_or_on() {
    in_runtime(|| {
        let chaos = Chaos::builder()
            .injection_rate(1.0)
            .result(0)
            .enabled(false)
            .build()
            .unwrap();
        let out = assert_no_alloc(|| chaos.call(|| ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 1);
        // Enabled and injecting a result: a draw (this thread's generator) and no allocation.
        chaos.enable();
        let out = assert_no_alloc(|| chaos.call(|| ready(Ok::<_, Infallible>(1))));
        assert_eq!(out.unwrap(), 0);
    })
}

#[test]
fn chaos_service_allocates_nothing() {
    in_runtime(|| {
        let chaos = Chaos::builder().result(0).enabled(false).build().unwrap();
        let mut svc = chaos
            .layer()
            .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
        let out = assert_no_alloc(|| svc.call(5));
        assert_eq!(out.unwrap(), 5);
    })
}

#[test]
fn hedged_call_answered_at_once_allocates_nothing() {
    in_runtime(|| {
        let fixed = Hedge::new(Duration::from_millis(10)).unwrap();
        let out = assert_no_alloc(|| fixed.call(|| ready(Ok::<_, Infallible>(2))));
        assert_eq!(out.unwrap(), 2);
        let dynamic = Hedge::builder().percentile_delay(95.0).build().unwrap();
        let out = assert_no_alloc(|| dynamic.call(|| ready(Ok::<_, Infallible>(3))));
        assert_eq!(out.unwrap(), 3);
    })
}
