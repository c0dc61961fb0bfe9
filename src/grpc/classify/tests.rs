//! The classifiers and the pushback against every code, both outcome shapes and bad values.

use super::*;
use crate::Rejection;

type Answered = Result<http::Response<()>, Error<std::io::Error>>;

const ALL: [Code; 17] = [
    Code::Ok,
    Code::Cancelled,
    Code::Unknown,
    Code::InvalidArgument,
    Code::DeadlineExceeded,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::ResourceExhausted,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
    Code::Unimplemented,
    Code::Internal,
    Code::Unavailable,
    Code::DataLoss,
    Code::Unauthenticated,
];

fn answer(code: Code, pushback: Option<&str>) -> Answered {
    let mut response = http::Response::builder().header("grpc-status", (code as i32).to_string());
    if let Some(ms) = pushback {
        response = response.header(PUSHBACK_HEADER, ms);
    }
    Ok(response.body(()).unwrap())
}

fn timed_out() -> Answered {
    let elapsed = crate::Timeout::new(Duration::from_secs(1))
        .unwrap()
        .elapsed();
    Err(Error::Timeout(elapsed))
}

#[test]
fn the_code_is_read_from_grpc_status_then_from_the_http_status() {
    for code in ALL {
        assert_eq!(answer(code, None).code(), code);
    }
    let http = |status: u16| -> Answered {
        Ok(http::Response::builder().status(status).body(()).unwrap())
    };
    for (status, code) in [
        (200, Code::Ok),
        (400, Code::Internal),
        (401, Code::Unauthenticated),
        (403, Code::PermissionDenied),
        (404, Code::Unimplemented),
        (429, Code::Unavailable),
        (502, Code::Unavailable),
        (503, Code::Unavailable),
        (504, Code::Unavailable),
        (500, Code::Unknown),
        (301, Code::Unknown),
    ] {
        assert_eq!(http(status).code(), code, "{status}");
    }
    // A grpc-status wins over the HTTP status; a malformed one is UNKNOWN, as tonic reads it.
    let both: Answered = Ok(http::Response::builder()
        .status(503)
        .header("grpc-status", "5")
        .body(())
        .unwrap());
    assert_eq!(both.code(), Code::NotFound);
    assert_eq!(answer_raw("99").code(), Code::Unknown);
}

fn answer_raw(status: &str) -> Answered {
    Ok(http::Response::builder()
        .header("grpc-status", status)
        .body(())
        .unwrap())
}

#[test]
fn errors_are_unavailable_and_rejections_have_their_code() {
    let transport: Answered = Err(Error::Inner(std::io::Error::other("reset")));
    assert_eq!(transport.code(), Code::Unavailable);
    assert!(!transport.is_rejection());
    assert_eq!(timed_out().code(), Code::DeadlineExceeded);
    assert!(timed_out().is_rejection());
    // The boxed flavour reads the same.
    let boxed: Result<http::Response<()>, crate::BoxError> =
        Err(crate::BoxError::from_rejection(Rejection::Timeout(
            crate::Timeout::new(Duration::from_secs(1))
                .unwrap()
                .elapsed(),
        )));
    assert_eq!(boxed.code(), Code::DeadlineExceeded);
    assert!(boxed.is_rejection());
}

#[test]
fn the_server_faults_are_failures_and_caller_errors_are_ignored() {
    let faults = [
        Code::Unavailable,
        Code::Internal,
        Code::Unknown,
        Code::DataLoss,
        Code::DeadlineExceeded,
        Code::ResourceExhausted,
    ];
    for code in ALL {
        let expected = if code == Code::Ok {
            Outcome::Success
        } else if faults.contains(&code) {
            Outcome::Failure
        } else {
            Outcome::Ignored
        };
        assert_eq!(
            ServerFaults.classify(&answer(code, None)),
            expected,
            "{code:?}"
        );
    }
    assert_eq!(ServerFaults.classify(&timed_out()), Outcome::Failure);
    let transport: Answered = Err(Error::Inner(std::io::Error::other("reset")));
    assert_eq!(ServerFaults.classify(&transport), Outcome::Failure);
}

#[test]
fn transient_retries_unavailable_own_timeouts_and_exhaustion_with_pushback() {
    for code in ALL {
        let retried = |pushback| Transient.classify(&answer(code, pushback)) == Outcome::Failure;
        assert_eq!(retried(None), code == Code::Unavailable, "{code:?}");
        assert_eq!(
            retried(Some("10")),
            matches!(code, Code::Unavailable | Code::ResourceExhausted),
            "{code:?} with pushback"
        );
        assert!(!retried(Some("-1")), "{code:?} with a negative pushback");
        assert!(!retried(Some("ten")), "{code:?} with a bad pushback");
    }
    assert_eq!(
        Transient.classify(&answer(Code::Ok, None)),
        Outcome::Success
    );
    // Our own per-attempt timeout is retried, the server's DEADLINE_EXCEEDED is not.
    assert_eq!(Transient.classify(&timed_out()), Outcome::Failure);
    let transport: Answered = Err(Error::Inner(std::io::Error::other("reset")));
    assert_eq!(Transient.classify(&transport), Outcome::Failure);
}

#[test]
fn pushback_values() {
    let ms = |n| Pushback::After(Duration::from_millis(n));
    assert_eq!(Pushback::parse(b"0"), ms(0));
    assert_eq!(Pushback::parse(b"1500"), ms(1500));
    assert_eq!(Pushback::parse(b" 7 "), ms(7));
    assert_eq!(Pushback::parse(b"99999999999999999999999"), ms(u64::MAX));
    for bad in [&b""[..], b"-1", b"-0", b"+5", b"1.5", b"5ms", b"\xff"] {
        assert_eq!(Pushback::parse(bad), Pushback::DoNotRetry, "{bad:?}");
    }
    assert_eq!(
        RetryPushback.delay_hint(&answer(Code::Unavailable, Some("25"))),
        Some(Duration::from_millis(25))
    );
    assert_eq!(
        RetryPushback.delay_hint(&answer(Code::Unavailable, Some("-1"))),
        None
    );
    assert_eq!(
        RetryPushback.delay_hint(&answer(Code::Unavailable, None)),
        None
    );
    assert_eq!(RetryPushback.delay_hint(&timed_out()), None);
}

#[test]
fn the_generated_clients_status_is_read_too() {
    type Called = Result<tonic::Response<()>, Error<Status>>;
    let mut status = Status::unavailable("down");
    status
        .metadata_mut()
        .insert(PUSHBACK_HEADER, "40".parse().unwrap());
    let unavailable: Called = Err(Error::Inner(status));
    assert_eq!(unavailable.code(), Code::Unavailable);
    assert_eq!(
        unavailable.pushback(),
        Some(Pushback::After(Duration::from_millis(40)))
    );
    assert!(!unavailable.is_rejection());
    assert_eq!(Transient.classify(&unavailable), Outcome::Failure);
    let invalid: Called = Err(Error::Inner(Status::invalid_argument("no")));
    assert_eq!(ServerFaults.classify(&invalid), Outcome::Ignored);
    let ok: Called = Ok(tonic::Response::new(()));
    assert_eq!(ServerFaults.classify(&ok), Outcome::Success);
    let elapsed = crate::Timeout::new(Duration::from_secs(1))
        .unwrap()
        .elapsed();
    let timed_out: Called = Err(Error::Timeout(elapsed));
    assert_eq!(timed_out.code(), Code::DeadlineExceeded);
    assert_eq!(Transient.classify(&timed_out), Outcome::Failure);
}
