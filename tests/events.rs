//! `tracing` events: stable names and fields, nothing per successful call.

use std::{
    io,
    sync::{Arc, Mutex},
    time::Duration,
};

use failguard::{Bulkhead, CircuitBreaker, Error, Fallback, Timeout};
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{Layer, layer::Context, prelude::*};

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields(Vec<String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push(format!("{}={:?}", field.name(), value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push(format!("{}={}", field.name(), value));
    }
}

impl<S: Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(format!(
            "{} {} {} {}",
            meta.target(),
            meta.name(),
            meta.level(),
            fields.0.join(" ")
        ));
    }
}

fn record<F: std::future::Future>(fut: F) -> (F::Output, Vec<String>) {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let out = tracing::subscriber::with_default(subscriber, || rt.block_on(fut));
    let events = recorder.0.lock().unwrap().clone();
    (out, events)
}

#[test]
fn a_timeout_emits_one_event_with_stable_fields() {
    let timeout = Timeout::builder()
        .duration(Duration::from_millis(20))
        .name("db")
        .build()
        .unwrap();
    let (out, events) = record(timeout.call(|| async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok::<_, io::Error>(())
    }));
    assert!(out.is_err());
    assert_eq!(
        events,
        [
            "failguard timeout.elapsed WARN message=call timed out policy=timeout name=db after_ms=20"
        ]
    );
}

#[test]
fn a_fallback_emits_one_event_naming_the_rejection() {
    let policy = Fallback::value(0)
        .name("price")
        .wrap(Timeout::new(Duration::from_millis(5)).unwrap());
    let (out, events) = record(policy.call(|| async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok::<_, io::Error>(1)
    }));
    assert_eq!(out.unwrap(), 0);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[1],
        "failguard fallback.applied INFO message=fallback replaced a failed call policy=fallback name=price rejection=timeout"
    );
}

#[test]
fn successful_calls_emit_nothing() {
    let policy = Fallback::value(0).wrap(Timeout::new(Duration::from_millis(5)).unwrap());
    let (out, events) = record(async {
        let mut sum = 0;
        for i in 0..100 {
            sum += policy
                .call(|| async move { Ok::<_, Error<io::Error>>(i) })
                .await
                .unwrap();
        }
        sum
    });
    assert_eq!(out, 4950);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn a_breaker_emits_its_transitions_and_rejections_and_nothing_per_success() {
    let breaker = CircuitBreaker::builder()
        .count_window(2)
        .minimum_calls(2)
        .open_duration(Duration::from_secs(3))
        .name("inventory")
        .build()
        .unwrap();
    let (_, events) = record(async {
        for _ in 0..4 {
            breaker
                .call(|| async { Ok::<_, io::Error>(()) })
                .await
                .unwrap();
        }
        // [success, failure]: 1/2 >= 0.5 trips.
        let _ = breaker
            .call(|| async { Err::<(), _>(io::Error::other("down")) })
            .await;
        let rejected = breaker.call(|| async { Ok::<_, io::Error>(()) }).await;
        assert!(matches!(rejected, Err(Error::CircuitOpen(_))));
        breaker.reset();
    });
    assert_eq!(
        events,
        [
            "failguard breaker.transition WARN message=circuit breaker changed state policy=circuit-breaker name=inventory from=closed to=open failure_rate=0.5 slow_call_rate=0.0",
            "failguard breaker.rejected DEBUG message=circuit breaker rejected a call policy=circuit-breaker name=inventory retry_after_ms=3000",
            "failguard breaker.transition INFO message=circuit breaker changed state policy=circuit-breaker name=inventory from=open to=closed",
        ]
    );
}
#[test]
fn a_bulkhead_rejection_carries_its_estimate_once_it_has_one() {
    let bulkhead = Bulkhead::builder()
        .max_concurrent(1)
        .name("db")
        .build()
        .unwrap();
    let (_, events) = record(async {
        let hold = || {
            let bulkhead = bulkhead.clone();
            tokio::spawn(async move {
                bulkhead
                    .call(|| async {
                        tokio::time::sleep(Duration::from_millis(40)).await;
                        Ok::<_, io::Error>(())
                    })
                    .await
            })
        };
        for _ in 0..2 {
            let busy = hold();
            tokio::task::yield_now().await;
            let rejected = bulkhead.call(|| async { Ok::<_, io::Error>(()) }).await;
            assert!(matches!(rejected, Err(Error::BulkheadFull(_))));
            busy.await.unwrap().unwrap();
        }
    });
    assert_eq!(
        events,
        [
            "failguard bulkhead.rejected WARN message=bulkhead rejected a call policy=bulkhead name=db reason=full max_concurrent=1",
            "failguard bulkhead.rejected WARN message=bulkhead rejected a call policy=bulkhead name=db reason=full max_concurrent=1 retry_after_ms=40",
        ]
    );
}

fn constant_retry(attempts: u32) -> failguard::retry::RetryBuilder {
    failguard::Retry::builder()
        .max_attempts(attempts)
        .backoff(failguard::retry::Backoff::constant(Duration::from_millis(
            100,
        )))
        .name("api")
}

#[test]
fn each_retry_emits_an_attempt_event_and_running_out_an_exhausted_one() {
    let policy = constant_retry(3)
        .build()
        .unwrap()
        .wrap(Timeout::new(Duration::from_millis(5)).unwrap());
    let mut calls = 0;
    let (out, events) = record(policy.call(|| {
        calls += 1;
        let slow = calls == 1;
        async move {
            if slow {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err::<(), _>(io::Error::other("down"))
        }
    }));
    assert!(out.is_err());
    let retry_events: Vec<_> = events.iter().filter(|e| e.contains(" retry.")).collect();
    assert_eq!(
        retry_events,
        [
            "failguard retry.attempt INFO message=retrying policy=retry name=api attempt=2 delay_ms=100 reason=rejection rejection=timeout",
            "failguard retry.attempt INFO message=retrying policy=retry name=api attempt=3 delay_ms=100 reason=error",
            "failguard retry.exhausted WARN message=retries exhausted policy=retry name=api attempts=3 reason=max_attempts",
        ]
    );
}

#[test]
fn an_empty_budget_emits_budget_exhausted() {
    let budget = failguard::retry::RetryBudget::builder()
        .min_per_sec(0)
        .percent(0.0)
        .build()
        .unwrap();
    let retry = constant_retry(3).budget(budget).build().unwrap();
    let (out, events) = record(retry.call(|| async { Err::<(), _>("down") }));
    assert!(out.is_err());
    assert_eq!(
        events,
        [
            "failguard retry.budget_exhausted WARN message=retry budget exhausted policy=retry name=api attempts=1"
        ]
    );
}

#[test]
fn max_elapsed_names_itself_as_the_reason() {
    let retry = constant_retry(5)
        .max_elapsed(Duration::from_millis(150))
        .build()
        .unwrap();
    let (out, events) = record(retry.call(|| async { Err::<(), _>("down") }));
    assert!(out.is_err());
    assert_eq!(
        events.last().unwrap(),
        "failguard retry.exhausted WARN message=retries exhausted policy=retry name=api attempts=2 reason=max_elapsed"
    );
}

#[test]
fn a_retry_whose_first_attempt_succeeds_emits_nothing() {
    let retry = constant_retry(3).build().unwrap();
    let (out, events) = record(retry.call(|| async { Ok::<_, io::Error>(1) }));
    assert_eq!(out.unwrap(), 1);
    assert!(events.is_empty(), "{events:?}");
}
