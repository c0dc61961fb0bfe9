//! HTTP out of the box (feature `http`): which responses are the server's fault, and how long
//! the server asked a client to wait.
//!
//! Built on the [`http`](https://docs.rs/http) crate's types, which hyper, axum, tower-http and
//! reqwest all use (`reqwest::Response::status()` is an [`http::StatusCode`] and
//! `headers()` an [`http::HeaderMap`]).
//!
//! - [`is_server_fault`]: 5xx, `429 Too Many Requests` and `408 Request Timeout` are the server's
//!   fault (or its way of saying "not now") and worth another attempt; every other status,
//!   including a 404, is an answer, not a failure.
//! - [`ServerFaults`]: that rule as one [`Classify`] value (`Err` and server-fault responses
//!   are failures) for a breaker, a retry and a fallback alike.
//! - [`retry_after`] and [`RetryAfter`]: the `Retry-After` header in both forms of RFC 9110
//!   (delay-seconds and HTTP-date), bad values ignored, as a retry's delay hint in one line.
//!
//! # Examples
//!
//! ```
//! use failguard::{CircuitBreaker, Retry, http::{RetryAfter, ServerFaults}};
//! use http::{Response, StatusCode};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let policy = Retry::builder()
//!     .classify(ServerFaults)
//!     .delay_hint(RetryAfter)
//!     .build()?
//!     .wrap(CircuitBreaker::builder().classify(ServerFaults).build()?);
//!
//! let mut answers = vec![
//!     Response::builder().status(404).body(()).unwrap(),
//!     Response::builder().status(503).header("retry-after", "2").body(()).unwrap(),
//! ];
//! let start = tokio::time::Instant::now();
//! // A 503 asking for 2 s, then a 404: the 404 is an answer, neither retried nor a failure.
//! let response = policy
//!     .call(|| {
//!         let answer = answers.pop().unwrap();
//!         async move { Ok::<_, std::io::Error>(answer) }
//!     })
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), StatusCode::NOT_FOUND);
//! assert_eq!(start.elapsed(), std::time::Duration::from_secs(2));
//! # Ok(())
//! # }
//! ```

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Response, StatusCode, header::RETRY_AFTER};

use crate::{Classify, Outcome, retry::DelayHint};

/// Whether a response with `status` is the server's fault and worth another attempt: any 5xx,
/// `429 Too Many Requests` and `408 Request Timeout`.
///
/// ```
/// use failguard::http::is_server_fault;
/// use http::StatusCode;
///
/// assert!(is_server_fault(StatusCode::SERVICE_UNAVAILABLE));
/// assert!(is_server_fault(StatusCode::TOO_MANY_REQUESTS));
/// assert!(!is_server_fault(StatusCode::NOT_FOUND));
/// assert!(!is_server_fault(StatusCode::OK));
/// ```
pub fn is_server_fault(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// The rule of [`is_server_fault`] for whole outcomes.
///
/// A [`Classify`] over `Result<http::Response<B>, E>`: an `Err` (no answer) and a server-fault
/// response are failures; every other response is a success. Hand the same value to a
/// breaker (404s never trip it), a retry (server faults and errors are retried, 404s are not)
/// and a fallback (errors fall back).
///
/// ```
/// use failguard::{Classify, Outcome, http::ServerFaults};
/// use http::Response;
///
/// let not_found = Ok::<_, std::io::Error>(Response::builder().status(404).body(()).unwrap());
/// let unavailable = Ok::<_, std::io::Error>(Response::builder().status(503).body(()).unwrap());
/// assert_eq!(ServerFaults.classify(&not_found), Outcome::Success);
/// assert_eq!(ServerFaults.classify(&unavailable), Outcome::Failure);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerFaults;

impl<B, E> Classify<Response<B>, E> for ServerFaults {
    fn classify(&self, result: &Result<Response<B>, E>) -> Outcome {
        match result {
            Ok(response) if !is_server_fault(response.status()) => Outcome::Success,
            _ => Outcome::Failure,
        }
    }
}

/// The delay a response's `Retry-After` header asks for, read now; see [`parse_retry_after`].
///
/// ```
/// use std::time::Duration;
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "120".parse().unwrap());
/// assert_eq!(failguard::http::retry_after(&headers), Some(Duration::from_secs(120)));
/// ```
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?, SystemTime::now())
}

/// Reads a `Retry-After` value (RFC 9110, section 10.2.3) as a delay from `now`.
///
/// - delay-seconds (`120`): that many seconds, `0` included.
/// - HTTP-date, in any of the three forms a recipient must accept (`Sun, 06 Nov 1994 08:49:37
///   GMT`, the obsolete `Sunday, 06-Nov-94 08:49:37 GMT` and asctime's `Sun Nov  6 08:49:37
///   1994`): the time from `now` until then. A date already past asks for no particular wait, so
///   it gives `None` and the backoff decides (a date is often only past through clock skew).
/// - Anything else (empty, negative, fractional, not ASCII, a number too large for a `u64`, a
///   malformed date): `None`, ignored.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use failguard::http::parse_retry_after;
/// use http::HeaderValue;
///
/// let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
/// let date = HeaderValue::from_static("Sun, 06 Nov 1994 08:50:07 GMT");
/// assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after(&HeaderValue::from_static("5"), now), Some(Duration::from_secs(5)));
/// assert_eq!(parse_retry_after(&HeaderValue::from_static("soon"), now), None);
/// ```
pub fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(text).ok()?;
    at.duration_since(now).ok().filter(|wait| !wait.is_zero())
}

/// The server's `Retry-After` as a retry's delay hint: reads the header of a response, and gives
/// no hint for an error. The retry clamps the hint to its backoff's cap.
///
/// To read the header from an error of your own that carries the response's headers, call
/// [`retry_after`] in a closure instead: `.delay_hint(|r: &Result<_, Error<MyError>>| ...)`.
///
/// ```
/// use failguard::{Retry, http::{RetryAfter, ServerFaults}};
///
/// let retry = Retry::builder()
///     .classify(ServerFaults)
///     .delay_hint(RetryAfter)
///     .build()?;
/// # let _ = retry;
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryAfter;

impl<B, E> DelayHint<Response<B>, E> for RetryAfter {
    fn delay_hint(&self, outcome: &Result<Response<B>, E>) -> Option<Duration> {
        retry_after(outcome.as_ref().ok()?.headers())
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    // Sun, 06 Nov 1994 08:49:37 GMT, the RFC's own example.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    fn parse(text: &'static str) -> Option<Duration> {
        parse_retry_after(&HeaderValue::from_static(text), now())
    }

    #[test]
    fn delay_seconds() {
        assert_eq!(parse("0"), Some(Duration::ZERO));
        assert_eq!(parse("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(
            parse("18446744073709551615"),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn all_three_date_forms() {
        let later = Some(Duration::from_secs(60));
        assert_eq!(parse("Sun, 06 Nov 1994 08:50:37 GMT"), later);
        assert_eq!(parse("Sunday, 06-Nov-94 08:50:37 GMT"), later);
        assert_eq!(parse("Sun Nov  6 08:50:37 1994"), later);
    }

    #[test]
    fn a_date_now_or_past_asks_for_no_wait() {
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(parse("Sun, 06 Nov 1994 08:00:00 GMT"), None);
    }

    #[test]
    fn bad_values_are_ignored() {
        for bad in [
            "",
            "-1",
            "1.5",
            "+5",
            "5s",
            "18446744073709551616",
            "tomorrow",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        let binary = HeaderValue::from_bytes(b"\xff1").unwrap();
        assert_eq!(parse_retry_after(&binary, now()), None);
    }

    #[test]
    fn server_faults() {
        for code in [500, 502, 503, 504, 599, 429, 408] {
            assert!(
                is_server_fault(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [200, 201, 204, 301, 304, 400, 401, 403, 404, 409, 422] {
            assert!(
                !is_server_fault(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    #[test]
    fn the_classifier_follows_is_server_fault_and_fails_errors() {
        let response = |code| Response::builder().status(code).body(()).unwrap();
        let err: Result<Response<()>, &str> = Err("connection refused");
        assert_eq!(ServerFaults.classify(&err), Outcome::Failure);
        for code in [200, 404, 408, 429, 500, 503] {
            let failed = ServerFaults.classify(&Ok::<_, ()>(response(code))) == Outcome::Failure;
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(failed, is_server_fault(status), "{code}");
        }
    }

    #[test]
    fn the_hint_reads_responses_only() {
        let hinted = Response::builder()
            .status(503)
            .header(RETRY_AFTER, "7")
            .body(())
            .unwrap();
        assert_eq!(
            RetryAfter.delay_hint(&Ok::<_, ()>(hinted)),
            Some(Duration::from_secs(7))
        );
        let plain = Response::builder().status(503).body(()).unwrap();
        assert_eq!(RetryAfter.delay_hint(&Ok::<_, ()>(plain)), None);
        assert_eq!(
            RetryAfter.delay_hint(&Err::<Response<()>, _>("no answer")),
            None
        );
    }
}
