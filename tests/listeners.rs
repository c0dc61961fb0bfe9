//! The one event model: every policy reports its events to the listeners given to it, per-call
//! events go only to listeners that ask for them.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use failguard::{
    Bulkhead, CircuitBreaker, Error, Fallback, Outcome, Queue, Retry, Timeout,
    breaker::{BreakerEvent, State},
    bulkhead::{BulkheadEvent, BulkheadFullReason},
    events::{Event, EventKind, Listener},
    fallback::FallbackEvent,
    queue::QueueEvent,
    retry::{Backoff, Jitter, RetryEvent},
    timeout::TimeoutEvent,
};

const MS: Duration = Duration::from_millis(1);

/// Keeps a line per event it is given; `per_call` says whether it asks for every call's.
#[derive(Clone, Default)]
struct Recorder {
    lines: Arc<Mutex<Vec<String>>>,
    per_call: bool,
}

impl Recorder {
    fn per_call() -> Self {
        Self {
            per_call: true,
            ..Self::default()
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Listener for Recorder {
    fn on_event(&self, event: &Event<'_>) {
        let line = match event.kind {
            EventKind::Breaker(BreakerEvent::Transition(change)) => {
                format!("transition {} -> {}", change.from, change.to)
            }
            EventKind::Breaker(BreakerEvent::Rejected { state, .. }) => {
                format!("breaker rejected {state}")
            }
            EventKind::Breaker(BreakerEvent::Recorded { outcome, .. }) => {
                format!("recorded {outcome:?}")
            }
            EventKind::Bulkhead(BulkheadEvent::Admitted) => "admitted".into(),
            EventKind::Bulkhead(BulkheadEvent::Rejected { reason, .. }) => {
                format!("bulkhead rejected {}", reason.as_str())
            }
            EventKind::Timeout(TimeoutEvent::Elapsed { after }) => format!("elapsed {after:?}"),
            EventKind::Retry(RetryEvent::Retrying { attempt, .. }) => format!("retrying {attempt}"),
            EventKind::Retry(RetryEvent::Exhausted { attempts, reason }) => {
                format!("exhausted {attempts} {reason}")
            }
            EventKind::Fallback(FallbackEvent::Applied { rejection }) => {
                format!("fallback {rejection:?}")
            }
            EventKind::Queue(QueueEvent::Shed { reason, .. }) => format!("shed {reason}"),
            other => format!("{other:?}"),
        };
        self.lines
            .lock()
            .unwrap()
            .push(format!("{} {}: {line}", event.policy(), event.name));
    }

    fn per_call(&self) -> bool {
        self.per_call
    }
}

#[tokio::test(start_paused = true)]
async fn every_policy_reports_to_its_listener() {
    let seen = Recorder::default();
    let fallback = Fallback::value(0).name("fb").listener(seen.clone());
    let retry = Retry::builder()
        .max_attempts(2)
        .backoff(Backoff::constant(10 * MS).jitter(Jitter::None))
        .listener(seen.clone())
        .build()
        .unwrap();
    let timeout = Timeout::builder()
        .duration(5 * MS)
        .listener(seen.clone())
        .build()
        .unwrap();
    let policy = fallback.wrap(retry).wrap(timeout);
    let answer = policy.call(std::future::pending::<Result<i32, &str>>).await;
    assert_eq!(answer.unwrap(), 0);
    assert_eq!(
        seen.lines(),
        [
            "timeout timeout: elapsed 5ms",
            "retry retry: retrying 2",
            "timeout timeout: elapsed 5ms",
            "retry retry: exhausted 2 max_attempts",
            "fallback fb: fallback Some(\"timeout\")",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn breaker_bulkhead_and_queue_report_rejections_and_transitions() {
    let seen = Recorder::default();
    let breaker = CircuitBreaker::builder()
        .count_window(2)
        .minimum_calls(2)
        .name("db")
        .listener(seen.clone())
        .build()
        .unwrap();
    for _ in 0..3 {
        let _ = breaker.call(|| async { Err::<(), _>("down") }).await;
    }
    assert_eq!(breaker.state(), State::Open);
    breaker.force_open();
    let _ = breaker.call(|| async { Ok::<_, &str>(()) }).await;

    let bulkhead = Bulkhead::builder()
        .max_concurrent(1)
        .listener(seen.clone())
        .build()
        .unwrap();
    let busy = tokio::spawn({
        let bulkhead = bulkhead.clone();
        async move {
            bulkhead
                .call(|| async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Ok::<_, &str>(())
                })
                .await
        }
    });
    tokio::task::yield_now().await;
    assert!(matches!(
        bulkhead.call(|| async { Ok::<_, &str>(()) }).await,
        Err(Error::BulkheadFull(_))
    ));
    busy.await.unwrap().unwrap();

    let queue = Queue::builder()
        .capacity(1)
        .listener(seen.clone())
        .build()
        .unwrap();
    queue.close();
    let _ = queue.call(|| async { Ok::<_, &str>(()) }).await;

    assert_eq!(
        seen.lines(),
        [
            "circuit-breaker db: transition closed -> open",
            "circuit-breaker db: breaker rejected open",
            "circuit-breaker db: transition open -> forced_open",
            "circuit-breaker db: breaker rejected forced_open",
            "bulkhead bulkhead: bulkhead rejected full",
            "queue queue: shed closed",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn per_call_events_go_only_to_listeners_that_ask() {
    let plain = Recorder::default();
    let every = Recorder::per_call();
    let breaker = CircuitBreaker::builder()
        .classify(|r: &Result<u8, Error<&str>>| match r {
            Err(Error::Inner("not found")) => Outcome::Ignored,
            _ => Outcome::of(r),
        })
        .listener(plain.clone())
        .listener(every.clone())
        .build()
        .unwrap();
    let bulkhead = Bulkhead::builder()
        .max_concurrent(4)
        .listener(plain.clone())
        .listener(every.clone())
        .build()
        .unwrap();
    let policy = bulkhead.wrap(breaker);
    policy.call(|| async { Ok(1) }).await.unwrap();
    let _ = policy.call(|| async { Err("boom") }).await;
    let _ = policy.call(|| async { Err("not found") }).await;

    assert!(plain.lines().is_empty(), "{:?}", plain.lines());
    assert_eq!(
        every.lines(),
        [
            "bulkhead bulkhead: admitted",
            "circuit-breaker circuit-breaker: recorded Success",
            "bulkhead bulkhead: admitted",
            "circuit-breaker circuit-breaker: recorded Failure",
            "bulkhead bulkhead: admitted",
        ]
    );
}

#[test]
fn a_closure_is_a_listener_and_reasons_read_as_in_tracing() {
    let count = Arc::new(Mutex::new(0));
    let listener = {
        let count = count.clone();
        move |_: &Event<'_>| *count.lock().unwrap() += 1
    };
    let name = failguard::Name::from("x");
    let event = Event::new(
        &name,
        EventKind::Bulkhead(BulkheadEvent::Rejected {
            reason: BulkheadFullReason::WaitTimedOut,
            max_concurrent: 1,
            retry_after: None,
        }),
    );
    listener.on_event(&event);
    assert_eq!(*count.lock().unwrap(), 1);
    assert!(!listener.per_call());
    assert_eq!(event.policy(), "bulkhead");
}
