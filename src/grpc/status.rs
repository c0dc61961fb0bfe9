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
/// | `RateLimited` | `RESOURCE_EXHAUSTED` | the code gRPC APIs answer an exceeded quota or rate with |
/// | `ConcurrencyLimited` | `RESOURCE_EXHAUSTED` | an adaptive limit of this client ran out: overload, as for a full bulkhead |
/// | `Throttled` | `RESOURCE_EXHAUSTED` | the client throttled itself because the backend rejects most requests: overload, which an immediate retry would add to |
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
        Rejection::BulkheadFull(_)
        | Rejection::QueueFull(_)
        | Rejection::QueueTimeout(_)
        | Rejection::RateLimited(_)
        | Rejection::ConcurrencyLimited(_)
        | Rejection::Throttled(_) => Code::ResourceExhausted,
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
mod tests;
