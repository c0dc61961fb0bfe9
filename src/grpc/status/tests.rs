//! Every rejection's code, message and source, in both error flavours.

use std::{error::Error as _, time::Duration};

use super::*;
use crate::{
    Name,
    error::{
        BulkheadFull, BulkheadFullReason, CircuitOpen, Elapsed, QueueClosed, QueueFull,
        QueueTimeout,
    },
    estimate::Hint,
    queue::Overflow,
};

fn every_rejection() -> Vec<(Rejection, Code)> {
    let name = || Name::from("svc");
    vec![
        (
            Rejection::CircuitOpen(CircuitOpen::new(name(), Some(Duration::from_secs(3)))),
            Code::Unavailable,
        ),
        (
            Rejection::CircuitOpen(CircuitOpen::new(name(), None)),
            Code::Unavailable,
        ),
        (
            Rejection::Timeout(Elapsed::new(Duration::from_millis(5), name())),
            Code::DeadlineExceeded,
        ),
        (
            Rejection::BulkheadFull(BulkheadFull::new(
                name(),
                4,
                BulkheadFullReason::Full,
                Hint::NONE,
            )),
            Code::ResourceExhausted,
        ),
        (
            Rejection::BulkheadFull(BulkheadFull::new(
                name(),
                4,
                BulkheadFullReason::WaitTimedOut,
                Hint::NONE,
            )),
            Code::ResourceExhausted,
        ),
        (
            Rejection::QueueFull(QueueFull::new(name(), 8, Overflow::DropOldest, None)),
            Code::ResourceExhausted,
        ),
        (
            Rejection::QueueTimeout(QueueTimeout::new(
                name(),
                Duration::from_millis(9),
                Duration::from_millis(9),
            )),
            Code::ResourceExhausted,
        ),
        (
            Rejection::QueueClosed(QueueClosed::new(name(), QueueClosedReason::ShutDown)),
            Code::Unavailable,
        ),
        (
            Rejection::QueueClosed(QueueClosed::new(name(), QueueClosedReason::WorkerStopped)),
            Code::Unavailable,
        ),
        (
            Rejection::QueueClosed(QueueClosed::new(name(), QueueClosedReason::Panicked)),
            Code::Internal,
        ),
    ]
}

#[test]
fn every_rejection_has_its_code_message_and_source_in_both_flavours() {
    for (rejection, code) in every_rejection() {
        assert_eq!(rejection_code(&rejection), code, "{rejection:?}");
        let message = rejection.to_string();

        let typed = Error::<std::io::Error>::from(rejection.clone()).into_status();
        assert_eq!(typed.code(), code);
        assert_eq!(typed.message(), message);
        let source = typed.source().expect("the rejection is the source");
        assert_eq!(source.to_string(), message);

        let boxed = BoxError::from_rejection(rejection.clone()).into_status();
        assert_eq!(boxed.code(), code);
        assert_eq!(boxed.message(), message);
        assert_eq!(boxed.source().unwrap().to_string(), message);
    }
}

#[test]
fn the_source_downcasts_to_the_rejections_own_type() {
    let open = Rejection::CircuitOpen(CircuitOpen::new(Name::from("db"), None));
    let typed = Error::<std::io::Error>::from(open.clone()).into_status();
    assert_eq!(
        typed
            .source()
            .unwrap()
            .downcast_ref::<CircuitOpen>()
            .unwrap()
            .name(),
        "db"
    );
    let boxed = BoxError::from_rejection(open).into_status();
    assert!(boxed.source().unwrap().is::<CircuitOpen>());
}

#[test]
fn the_operations_own_error_is_reported_as_tonic_would() {
    let inner = Error::Inner(Status::not_found("no such row")).into_status();
    assert_eq!(inner.code(), Code::NotFound);
    assert_eq!(inner.message(), "no such row");
    let other = Error::Inner(std::io::Error::other("boom")).into_status();
    assert_eq!(other.code(), Code::Unknown);
    let boxed = BoxError::from(Status::aborted("conflict")).into_status();
    assert_eq!(boxed.code(), Code::Aborted);
    let converted: Status = Error::<std::io::Error>::from(Rejection::Timeout(Elapsed::new(
        Duration::from_secs(1),
        Name::from("t"),
    )))
    .into();
    assert_eq!(converted.code(), Code::DeadlineExceeded);
}
