use std::future::ready;

use failguard::{Error, Fallback};
use tower::{Layer, Service, service_fn};

use crate::assert_no_alloc;

#[test]
fn fallback_call_allocates_nothing() {
    let fallback = Fallback::value(String::from("default"));
    let out = assert_no_alloc(|| fallback.call(|| ready(Ok::<_, ()>(String::new()))));
    assert_eq!(out.unwrap(), "");
    let policy = fallback
        .clone()
        .wrap(Fallback::value(String::from("inner")));
    let out = assert_no_alloc(|| policy.call(|| ready(Ok::<_, ()>(String::new()))));
    assert_eq!(out.unwrap(), "");
}

#[test]
fn fallback_service_allocates_nothing() {
    let mut svc = Fallback::value(0u32)
        .layer()
        .layer(service_fn(|x: u32| ready(Ok::<_, Error<()>>(x))));
    let out = assert_no_alloc(|| svc.call(9));
    assert_eq!(out.unwrap(), 9);
}
