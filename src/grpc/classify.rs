//! What a gRPC outcome means: its status code wherever it appears, the server's retry
//! pushback, and the two classifiers built on them.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use tonic::{Code, Status};

use super::rejection_code;
use crate::{Classify, Error, Outcome, PolicyError, retry::DelayHint};

/// The header (or trailer, or `Status` metadata) in which a gRPC server asks a client to wait
/// before retrying, in milliseconds; see [`Pushback`].
pub const PUSHBACK_HEADER: &str = "grpc-retry-pushback-ms";

/// What a server's `grpc-retry-pushback-ms` says, per gRPC's retry design (proposal A6).
///
/// ```
/// use std::time::Duration;
/// use failguard::grpc::Pushback;
///
/// assert_eq!(Pushback::parse(b"250"), Pushback::After(Duration::from_millis(250)));
/// assert_eq!(Pushback::parse(b"-1"), Pushback::DoNotRetry);
/// assert_eq!(Pushback::parse(b"soon"), Pushback::DoNotRetry);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pushback {
    /// Retry after exactly this long (a non-negative whole number of milliseconds).
    After(Duration),
    /// Do not retry at all: the value was negative or could not be read, which the design
    /// defines as the server asking the client not to retry.
    DoNotRetry,
}

impl Pushback {
    /// Reads a `grpc-retry-pushback-ms` value: ASCII digits (surrounding spaces allowed) are a
    /// delay; anything else, a negative number included, is [`Pushback::DoNotRetry`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::grpc::Pushback;
    /// assert_eq!(Pushback::parse(b" 0 "), Pushback::After(Duration::ZERO));
    /// assert_eq!(Pushback::parse(b""), Pushback::DoNotRetry);
    /// ```
    pub fn parse(value: &[u8]) -> Pushback {
        let text = value.trim_ascii();
        if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
            return Pushback::DoNotRetry;
        }
        // All digits: only a number too large for a u64 fails, and that much pushback is
        // "never" in practice; the retry clamps any hint to its cap anyway.
        let millis = std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        Pushback::After(Duration::from_millis(millis))
    }

    fn of_headers(headers: &HeaderMap) -> Option<Pushback> {
        headers
            .get(PUSHBACK_HEADER)
            .map(|v| Pushback::parse(v.as_bytes()))
    }
}

/// An outcome with a gRPC status code: what [`ServerFaults`], [`Transient`] and
/// [`RetryPushback`] read, and what a classifier of your own can read too.
///
/// Implemented for the two shapes a gRPC call's outcome takes in failguard:
///
/// - **tower**, between a tonic `Channel` and a generated client:
///   `Result<http::Response<B>, E>`. A response carrying `grpc-status` in its headers (a
///   trailers-only response, which is how servers answer an error to a unary call) has that
///   code; a response without it has the code gRPC maps its HTTP status to (`200`: `OK`, whose
///   real status follows in the trailers; `429`, `502`, `503`, `504`: `UNAVAILABLE`; ...). An
///   error is a failguard rejection (see [`rejection_code`](super::rejection_code)) or the
///   channel's own error, a transport failure (no connection, connection lost), which is
///   `UNAVAILABLE` as tonic itself reports a connection failure.
/// - **the combinator**, around a generated client's call:
///   `Result<tonic::Response<T>, failguard::Error<tonic::Status>>`, the status's own code.
///
/// A status that arrives in the trailers after a response message is not seen: the policies
/// judge a call when its response headers arrive. A server answers an error to a unary call
/// with a trailers-only response, so what unary calls fail with is seen.
///
/// ```
/// use failguard::grpc::GrpcOutcome;
/// use tonic::Code;
///
/// let unavailable = http::Response::builder().header("grpc-status", "14").body(()).unwrap();
/// let outcome: Result<_, failguard::Error<std::io::Error>> = Ok(unavailable);
/// assert_eq!(outcome.code(), Code::Unavailable);
/// ```
pub trait GrpcOutcome {
    /// The outcome's status code.
    fn code(&self) -> Code;

    /// The server's `grpc-retry-pushback-ms`, if it sent one.
    fn pushback(&self) -> Option<Pushback>;

    /// Whether a failguard policy rejected the call (the code is then the rejection's).
    fn is_rejection(&self) -> bool;
}

/// The code gRPC gives a response without `grpc-status` in its headers, from its HTTP status
/// (gRPC's "HTTP to gRPC Status Code Mapping").
fn code_of_http(status: StatusCode) -> Code {
    match status {
        StatusCode::OK => Code::Ok,
        StatusCode::BAD_REQUEST => Code::Internal,
        StatusCode::UNAUTHORIZED => Code::Unauthenticated,
        StatusCode::FORBIDDEN => Code::PermissionDenied,
        StatusCode::NOT_FOUND => Code::Unimplemented,
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::BAD_GATEWAY
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => Code::Unavailable,
        _ => Code::Unknown,
    }
}

impl<B, E: PolicyError> GrpcOutcome for Result<http::Response<B>, E> {
    fn code(&self) -> Code {
        match self {
            Ok(response) => match response.headers().get(Status::GRPC_STATUS) {
                Some(code) => Code::from_bytes(code.as_bytes()),
                None => code_of_http(response.status()),
            },
            Err(error) => error
                .rejection()
                .map_or(Code::Unavailable, |r| rejection_code(&r)),
        }
    }

    fn pushback(&self) -> Option<Pushback> {
        Pushback::of_headers(self.as_ref().ok()?.headers())
    }

    fn is_rejection(&self) -> bool {
        self.as_ref().is_err_and(|e| e.rejection().is_some())
    }
}

impl<T> GrpcOutcome for Result<tonic::Response<T>, Error<Status>> {
    fn code(&self) -> Code {
        match self {
            Ok(_) => Code::Ok,
            Err(Error::Inner(status)) => status.code(),
            Err(error) => error
                .rejection()
                .map_or(Code::Unknown, |r| rejection_code(&r)),
        }
    }

    fn pushback(&self) -> Option<Pushback> {
        match self {
            Err(Error::Inner(status)) => status
                .metadata()
                .get(PUSHBACK_HEADER)
                .map(|v| Pushback::parse(v.as_bytes())),
            _ => None,
        }
    }

    fn is_rejection(&self) -> bool {
        self.as_ref().is_err_and(Error::is_rejection)
    }
}

/// The server's faults, for a breaker and a fallback: a [`Classify`] over any
/// [`GrpcOutcome`].
///
/// | code | outcome | why |
/// |---|---|---|
/// | `OK` | success | |
/// | `UNAVAILABLE`, `INTERNAL`, `UNKNOWN`, `DATA_LOSS` | failure | the server (or the way to it) is failing |
/// | `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED` | failure | it is too slow or overloaded |
/// | every other code (`INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`, `PERMISSION_DENIED`, `UNAUTHENTICATED`, `FAILED_PRECONDITION`, `OUT_OF_RANGE`, `ABORTED`, `UNIMPLEMENTED`, `CANCELLED`) | ignored | the caller's request, not the server's health: counted by no breaker, not a failure for a fallback |
///
/// A transport error is `UNAVAILABLE`, a per-attempt timeout `DEADLINE_EXCEEDED`: both failures.
/// Hand a retry [`Transient`] instead: a breaker counts `INTERNAL`, but another attempt is not
/// safe to make on it.
///
/// ```
/// use failguard::{Classify, Outcome, grpc::ServerFaults};
///
/// let answer = |code: &str| {
///     let response = http::Response::builder().header("grpc-status", code).body(()).unwrap();
///     Ok::<_, failguard::Error<std::io::Error>>(response)
/// };
/// assert_eq!(ServerFaults.classify(&answer("0")), Outcome::Success);
/// assert_eq!(ServerFaults.classify(&answer("14")), Outcome::Failure); // UNAVAILABLE
/// assert_eq!(ServerFaults.classify(&answer("3")), Outcome::Ignored); // INVALID_ARGUMENT
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerFaults;

impl ServerFaults {
    /// Whether `code` is one of the server's faults.
    ///
    /// ```
    /// use failguard::grpc::ServerFaults;
    /// assert!(ServerFaults::is_fault(tonic::Code::Internal));
    /// assert!(!ServerFaults::is_fault(tonic::Code::NotFound));
    /// ```
    pub fn is_fault(code: Code) -> bool {
        matches!(
            code,
            Code::Unavailable
                | Code::Internal
                | Code::Unknown
                | Code::DataLoss
                | Code::DeadlineExceeded
                | Code::ResourceExhausted
        )
    }
}

impl<T, E> Classify<T, E> for ServerFaults
where
    Result<T, E>: GrpcOutcome,
{
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result.code() {
            Code::Ok => Outcome::Success,
            code if ServerFaults::is_fault(code) => Outcome::Failure,
            _ => Outcome::Ignored,
        }
    }
}

/// What another attempt may fix, for a retry: a [`Classify`] over any [`GrpcOutcome`], after
/// gRPC's retry design.
///
/// | outcome | retried? |
/// |---|---|
/// | `UNAVAILABLE` (from the server, a transport error, an HTTP 502/503/504/429) | yes |
/// | `DEADLINE_EXCEEDED` from a failguard [`Timeout`](crate::Timeout) inside the retry (one attempt took too long) | yes |
/// | `DEADLINE_EXCEEDED` from the server (the deadline the client sent has passed) | no: the next attempt has even less time |
/// | `RESOURCE_EXHAUSTED` with a pushback from the server | yes, after the pushback |
/// | `RESOURCE_EXHAUSTED` without one (a quota, a message too large, a full bulkhead) | no: it will not pass by itself soon |
/// | any code with a negative or unreadable pushback | no: the server asked not to retry |
/// | every other code | no: `INTERNAL` or `UNKNOWN` may have done part of the work; the rest are answers |
///
/// An open circuit is `UNAVAILABLE`, and the retry waits for its `retry_after` as usual.
/// Hand [`RetryPushback`] to the same retry as its delay hint so that a pushback sets the
/// delay. Retrying is safe only for idempotent methods, or when the server has not started on
/// the request (`UNAVAILABLE` usually says so): put the retry around those calls only.
///
/// ```
/// use failguard::{Classify, Outcome, grpc::Transient};
///
/// let answer = |code: &str, pushback: Option<&str>| {
///     let mut response = http::Response::builder().header("grpc-status", code);
///     if let Some(ms) = pushback {
///         response = response.header("grpc-retry-pushback-ms", ms);
///     }
///     Ok::<_, failguard::Error<std::io::Error>>(response.body(()).unwrap())
/// };
/// assert_eq!(Transient.classify(&answer("14", None)), Outcome::Failure); // retried
/// assert_eq!(Transient.classify(&answer("14", Some("-1"))), Outcome::Ignored); // asked not to
/// assert_eq!(Transient.classify(&answer("8", Some("100"))), Outcome::Failure); // exhausted, pushback
/// assert_eq!(Transient.classify(&answer("8", None)), Outcome::Ignored);
/// assert_eq!(Transient.classify(&answer("13", None)), Outcome::Ignored); // INTERNAL
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transient;

impl<T, E> Classify<T, E> for Transient
where
    Result<T, E>: GrpcOutcome,
{
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        let pushback = result.pushback();
        let retried = match result.code() {
            Code::Ok => return Outcome::Success,
            _ if pushback == Some(Pushback::DoNotRetry) => false,
            Code::Unavailable => true,
            Code::DeadlineExceeded => result.is_rejection(),
            Code::ResourceExhausted => matches!(pushback, Some(Pushback::After(_))),
            _ => false,
        };
        if retried {
            Outcome::Failure
        } else {
            Outcome::Ignored
        }
    }
}

/// The server's `grpc-retry-pushback-ms` as a retry's delay hint: the next attempt waits
/// exactly that long instead of the backoff (clamped to the backoff's cap, as every hint). A
/// negative or unreadable pushback gives no hint; [`Transient`] does not retry it at all.
///
/// ```
/// use failguard::{Retry, grpc::{RetryPushback, Transient}};
///
/// let retry = Retry::builder().classify(Transient).delay_hint(RetryPushback).build()?;
/// # let _ = retry;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryPushback;

impl<T, E> DelayHint<T, E> for RetryPushback
where
    Result<T, E>: GrpcOutcome,
{
    fn delay_hint(&self, outcome: &Result<T, E>) -> Option<Duration> {
        match outcome.pushback()? {
            Pushback::After(delay) => Some(delay),
            Pushback::DoNotRetry => None,
        }
    }
}

#[cfg(test)]
mod tests;
