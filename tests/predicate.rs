//! One rule of what counts as a failure, written once and handed to a breaker, a retry and a
//! fallback; and closures passed to the builders that infer their argument types.

use std::{cell::Cell, time::Duration};

use failguard::{
    CircuitBreaker, Error, FailureIf, Fallback, Outcome, Queue, Retry, Timeout,
    retry::{Backoff, Jitter},
};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

fn quick_retry() -> failguard::retry::RetryBuilder {
    Retry::builder()
        .max_attempts(3)
        .backoff(Backoff::constant(10 * MS).jitter(Jitter::None))
}

#[tokio::test(start_paused = true)]
async fn fallback_when_infers_the_error_and_sees_rejections() {
    // No annotation: the closure takes `&Error<E>`.
    let policy = Fallback::value(0)
        .when(|e| e.is_rejection())
        .wrap(Timeout::new(10 * MS).unwrap());
    assert!(matches!(
        policy.call(|| async { Err::<i32, _>("bad input") }).await,
        Err(Error::Inner("bad input"))
    ));
    let slow = policy.call(std::future::pending::<Result<i32, &str>>);
    assert_eq!(slow.await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn retry_if_and_retry_on_result_infer_their_arguments() {
    let retry = quick_retry()
        .retry_if(|e| matches!(e, Error::Timeout(_)))
        .retry_on_result(|status| *status == 503)
        .build()
        .unwrap();
    let policy = retry.wrap(Timeout::new(5 * MS).unwrap());

    let calls = Cell::new(0);
    let refused = policy
        .call(|| {
            calls.set(calls.get() + 1);
            async { Err::<u16, _>("refused") }
        })
        .await;
    assert!(matches!(refused, Err(Error::Inner("refused"))));
    assert_eq!(
        calls.get(),
        1,
        "an inner error is not a timeout: not retried"
    );

    calls.set(0);
    let statuses = [503, 503, 200];
    let status = policy
        .call(|| {
            let status = statuses[calls.get()];
            calls.set(calls.get() + 1);
            async move { Ok::<u16, &str>(status) }
        })
        .await;
    assert_eq!(status.unwrap(), 200);
    assert_eq!(calls.get(), 3, "503 is retried");

    calls.set(0);
    let timed_out = policy
        .call(|| {
            calls.set(calls.get() + 1);
            std::future::pending::<Result<u16, &str>>()
        })
        .await;
    assert!(matches!(timed_out, Err(Error::Timeout(_))));
    assert_eq!(calls.get(), 3, "timeouts are retried");
}

/// "Not found" is an answer; anything else is the database's fault.
fn db_fault() -> FailureIf<fn(&Error<&'static str>) -> bool> {
    FailureIf(|e| !matches!(e, Error::Inner("not found")))
}

#[tokio::test(start_paused = true)]
async fn one_predicate_value_serves_breaker_retry_and_fallback() {
    let rule = db_fault();
    let breaker = CircuitBreaker::builder()
        .count_window(4)
        .minimum_calls(1)
        .classify(rule)
        .build()
        .unwrap();
    let retry = quick_retry().classify(rule).build().unwrap();
    let fallback = Fallback::value("cached").classify(rule);
    let policy = fallback.wrap(retry).wrap(breaker.clone());

    let calls = Cell::new(0);
    let call = |answer: &'static str| {
        calls.set(0);
        let calls = &calls;
        policy.call(move || {
            calls.set(calls.get() + 1);
            async move { Err::<&str, _>(answer) }
        })
    };

    // Not a failure: not retried, not counted against the breaker, not hidden by the fallback.
    assert!(matches!(
        call("not found").await,
        Err(Error::Inner("not found"))
    ));
    assert_eq!(calls.get(), 1);
    let snapshot = breaker.snapshot();
    assert_eq!((snapshot.calls, snapshot.failure_rate), (1, 0.0));

    // A failure: retried, counted, then answered by the fallback. The breaker opens after the
    // first failed attempt (50% of 2 calls), so the retries are rejected by it.
    assert_eq!(call("connection reset").await.unwrap(), "cached");
    assert_eq!(calls.get(), 1);
    assert_eq!(breaker.snapshot().failure_rate, 0.5);
}

#[tokio::test(start_paused = true)]
async fn a_classifier_fn_is_shared_too_and_results_can_be_failures() {
    fn server_fault(r: &Result<u16, Error<&'static str>>) -> Outcome {
        match r {
            Ok(500..) | Err(_) => Outcome::Failure,
            Ok(_) => Outcome::Success,
        }
    }
    let breaker = CircuitBreaker::builder()
        .minimum_calls(10)
        .classify(server_fault)
        .build()
        .unwrap();
    let retry = quick_retry().classify(server_fault).build().unwrap();
    // A fallback replaces errors only: a 503 answered as `Ok` passes through it.
    let policy = Fallback::value(200)
        .classify(server_fault)
        .wrap(retry)
        .wrap(breaker.clone());
    let answer = policy.call(|| async { Ok(503) }).await;
    assert_eq!(answer.unwrap(), 503);
    let snapshot = breaker.snapshot();
    assert_eq!((snapshot.calls, snapshot.failure_rate), (3, 1.0));
    assert_eq!(policy.call(|| async { Ok(404) }).await.unwrap(), 404);
    assert_eq!(breaker.snapshot().calls, 4);
}

#[tokio::test(start_paused = true)]
async fn rejections_waiting_cannot_help_are_never_retried_whatever_the_predicate() {
    let breaker = CircuitBreaker::builder().build().unwrap();
    breaker.force_open();
    let retry_all = quick_retry()
        .retry_if(|_: &Error<&str>| true)
        .build()
        .unwrap();
    let start = Instant::now();
    let forced = retry_all
        .wrap(breaker)
        .call(|| async { Ok::<_, &str>(()) })
        .await;
    assert!(matches!(forced, Err(Error::CircuitOpen(_))));
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "no wait for a breaker forced open"
    );

    let queue = Queue::builder().capacity(1).build().unwrap();
    queue.close();
    let classify_all = quick_retry()
        .classify(|_: &Result<(), Error<&str>>| Outcome::Failure)
        .build()
        .unwrap();
    let closed = classify_all.wrap(queue).call(|| async { Ok(()) }).await;
    assert!(matches!(closed, Err(Error::QueueClosed(_))));
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "no wait for a closed queue"
    );
}
