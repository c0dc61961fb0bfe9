//! failguard's rejections as the `tonic::Status` a gRPC caller switches on.

use std::sync::Arc;

use tonic::{Code, Status};

use crate::{BoxError, Error, PolicyError, Rejection, error::QueueClosedReason};

/// The gRPC status code a caller sees for a failguard rejection.
///
/// | rejection | code | why |
/// |---|---|---|
/// | `CircuitOpen` | `UNAVAILABLE` | the service is failing and is not being called for now; a later call may succeed, which is what `UNAVAILABLE` tells a caller ("transient, retry with a backoff") |
/// | `Timeout` | `DEADLINE_EXCEEDED` | the deadline expired before the call completed |
/// | `BulkheadFull`, `QueueFull`, `QueueTimeout` | `RESOURCE_EXHAUSTED` | a limit of this client ran out, as gRPC reports its own flow-control and message-size limits: it names overload, which a caller should not meet with an immediate retry, where `UNAVAILABLE` invites one |
/// | `QueueClosed` (shut down, workers stopped) | `UNAVAILABLE` | the client cannot make calls now |
/// | `QueueClosed` (the work panicked) | `INTERNAL` | an invariant broke |
///
/// A rate limiter's rejection, when failguard has one, will be `RESOURCE_EXHAUSTED` too, the code
/// gRPC APIs answer an exceeded quota or rate with.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Rejection, grpc::rejection_code};
///
/// let elapsed = failguard::Timeout::new(Duration::from_secs(1))?.elapsed();
/// assert_eq!(rejection_code(&Rejection::Timeout(elapsed)), tonic::Code::DeadlineExceeded);
/// # Ok::<(), failguard::ConfigError>(())
/// ```
pub fn rejection_code(rejection: &Rejection) -> Code {
    match rejection {
        Rejection::CircuitOpen(_) => Code::Unavailable,
        Rejection::Timeout(_) => Code::DeadlineExceeded,
        Rejection::BulkheadFull(_) | Rejection::QueueFull(_) | Rejection::QueueTimeout(_) => {
            Code::ResourceExhausted
        }
        Rejection::QueueClosed(closed) => match closed.reason() {
            QueueClosedReason::Panicked => Code::Internal,
            QueueClosedReason::ShutDown | QueueClosedReason::WorkerStopped => Code::Unavailable,
        },
    }
}

/// A `Status` for a rejection: its code, its message, and the rejection itself (the leaf type,
/// `CircuitOpen`, `Elapsed`, ...) as the status's `source()`.
fn rejected(rejection: Rejection, source: Option<BoxError>) -> Status {
    let mut status = Status::new(rejection_code(&rejection), rejection.to_string());
    let source = source.unwrap_or_else(|| BoxError::from_rejection(rejection));
    status.set_source(Arc::from(source));
    status
}

/// An error that becomes the `tonic::Status` a gRPC caller sees: failguard's rejections with the
/// code [`rejection_code`] gives them, any other error as tonic would report it.
///
/// Implemented for the two error types a failguard tower stack has: [`Error<E>`] and
/// [`BoxError`]. [`GrpcLayer`](super::GrpcLayer) applies it to what its stack returns, so the
/// generated client's caller reads `status.code()`; the rejection stays reachable as the
/// status's `source()`, downcast to `failguard::error::CircuitOpen`, `Elapsed`, and so on. The
/// operation's own error is handed to `tonic::Status::from_error`, as tonic does with a
/// channel's error. `Error<E>` also converts with `?` or `Status::from`.
///
/// ```
/// use std::error::Error as _;
/// use failguard::{CircuitBreaker, error::CircuitOpen, grpc::IntoStatus};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let breaker = CircuitBreaker::builder().build()?;
/// breaker.force_open();
/// let err = breaker.call(|| async { Ok::<_, tonic::Status>(()) }).await.unwrap_err();
/// let status = err.into_status();
/// assert_eq!(status.code(), tonic::Code::Unavailable);
/// assert!(status.source().unwrap().is::<CircuitOpen>());
/// # Ok(())
/// # }
/// ```
pub trait IntoStatus {
    /// The `Status` for this error.
    fn into_status(self) -> Status;
}

impl<E: Into<BoxError>> IntoStatus for Error<E> {
    fn into_status(self) -> Status {
        match self.rejection() {
            Some(rejection) => rejected(rejection, None),
            None => match self.into_inner() {
                Some(inner) => Status::from_error(inner.into()),
                None => unreachable!("an error that is not a rejection is the inner error"),
            },
        }
    }
}

impl IntoStatus for BoxError {
    fn into_status(self) -> Status {
        match PolicyError::rejection(&self) {
            Some(rejection) => rejected(rejection, Some(self)),
            None => Status::from_error(self),
        }
    }
}

/// A failguard error as the `Status` a tonic handler or client returns, so `?` converts it; see
/// [`IntoStatus`].
///
/// ```
/// use std::time::Duration;
/// use failguard::Timeout;
///
/// async fn check(timeout: &Timeout) -> Result<(), tonic::Status> {
///     timeout.call(|| std::future::pending::<Result<(), tonic::Status>>()).await?;
///     Ok(())
/// }
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let status = check(&Timeout::new(Duration::from_millis(10))?).await.unwrap_err();
/// assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
/// # Ok(())
/// # }
/// ```
impl<E: Into<BoxError>> From<Error<E>> for Status {
    fn from(error: Error<E>) -> Status {
        error.into_status()
    }
}

#[cfg(test)]
mod tests {
    use std::{error::Error as _, time::Duration};

    use super::*;
    use crate::{
        Name,
        error::{
            BulkheadFull, BulkheadFullReason, CircuitOpen, Elapsed, QueueClosed, QueueFull,
            QueueTimeout,
        },
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
                Rejection::BulkheadFull(BulkheadFull::new(name(), 4, BulkheadFullReason::Full)),
                Code::ResourceExhausted,
            ),
            (
                Rejection::BulkheadFull(BulkheadFull::new(
                    name(),
                    4,
                    BulkheadFullReason::WaitTimedOut,
                )),
                Code::ResourceExhausted,
            ),
            (
                Rejection::QueueFull(QueueFull::new(name(), 8, Overflow::DropOldest)),
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
}
