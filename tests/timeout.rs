//! Timeout behaviour through both front doors, on tokio's paused clock (exact, no real sleeps).

use std::{
    future::{Future, pending},
    io,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use failguard::{BoxError, ConfigError, Error, FutureExt, Timeout, timeout::MAX_DURATION};
use tokio::time::{Instant, advance, sleep};
use tokio_test::{assert_pending, assert_ready, task};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

const LIMIT: Duration = Duration::from_millis(100);

fn timeout() -> Timeout {
    Timeout::builder()
        .duration(LIMIT)
        .name("db")
        .build()
        .unwrap()
}

async fn work(d: Duration) -> Result<&'static str, io::Error> {
    sleep(d).await;
    Ok("done")
}

#[tokio::test(start_paused = true)]
async fn a_call_that_finishes_in_time_returns_its_own_result() {
    let start = Instant::now();
    let out = timeout().call(|| work(Duration::from_millis(99))).await;
    assert_eq!(out.unwrap(), "done");
    assert_eq!(start.elapsed(), Duration::from_millis(99));
}

#[tokio::test(start_paused = true)]
async fn a_call_that_finishes_exactly_at_the_deadline_wins() {
    let out = timeout().call(|| work(LIMIT)).await;
    assert_eq!(out.unwrap(), "done");
}

#[tokio::test(start_paused = true)]
async fn a_slow_call_times_out_after_exactly_the_duration() {
    let start = Instant::now();
    let err = timeout()
        .call(|| work(LIMIT + Duration::from_nanos(1)))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), LIMIT);
    let Error::Timeout(elapsed) = &err else {
        panic!("expected a timeout, got {err:?}")
    };
    assert_eq!(elapsed.after(), LIMIT);
    assert_eq!(elapsed.name(), "db");
    assert!(err.is_rejection());
    assert_eq!(err.retry_after(), None);
    assert_eq!(err.to_string(), "timeout `db` elapsed after 100ms");
}

#[tokio::test(start_paused = true)]
async fn the_inner_error_is_returned_unchanged() {
    let err = timeout()
        .call(|| async { Err::<(), _>(io::Error::new(io::ErrorKind::NotFound, "gone")) })
        .await
        .unwrap_err();
    assert!(!err.is_rejection());
    assert_eq!(err.inner().unwrap().kind(), io::ErrorKind::NotFound);
    // Transparent: it reads as the inner error, and its source is the inner error's own.
    assert_eq!(err.to_string(), "gone");
    assert!(std::error::Error::source(&err).is_none());
}

#[tokio::test(start_paused = true)]
async fn the_clock_starts_at_the_first_poll_and_the_timer_is_armed_only_when_pending() {
    let t = timeout();
    let mut fut = task::spawn(t.call(pending::<Result<(), io::Error>>));
    // Created but not polled: time passing does not count.
    advance(Duration::from_secs(10)).await;
    assert_pending!(fut.poll());
    advance(LIMIT - Duration::from_millis(1)).await;
    assert_pending!(fut.poll());
    advance(Duration::from_millis(1)).await;
    assert!(
        fut.is_woken(),
        "the armed timer wakes the task at the deadline"
    );
    let err = assert_ready!(fut.poll()).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)));
}

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn watched(flag: &Arc<AtomicBool>) -> impl Future<Output = Result<(), io::Error>> + use<> {
    let guard = DropFlag(flag.clone());
    async move {
        let _guard = guard;
        pending::<()>().await;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn on_timeout_the_inner_future_is_dropped() {
    let dropped = Arc::new(AtomicBool::new(false));
    let t = timeout();
    let mut fut = task::spawn(t.call(|| watched(&dropped)));
    assert_pending!(fut.poll());
    advance(LIMIT).await;
    assert!(assert_ready!(fut.poll()).is_err());
    drop(fut);
    assert!(dropped.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_caller_future_is_cancellation_not_a_timeout() {
    let dropped = Arc::new(AtomicBool::new(false));
    let t = timeout();
    let mut fut = task::spawn(t.call(|| watched(&dropped)));
    assert_pending!(fut.poll());
    advance(LIMIT / 2).await;
    drop(fut);
    assert!(
        dropped.load(Ordering::SeqCst),
        "cancellation drops the inner future"
    );
}

#[tokio::test(start_paused = true)]
async fn the_future_extension_builds_the_same_timeout() {
    let err = work(Duration::from_secs(1))
        .timeout(&timeout())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(e) if e.after() == LIMIT));
    assert_eq!(work(LIMIT).timeout(&timeout()).await.unwrap(), "done");
}

#[tokio::test(start_paused = true)]
async fn the_layer_times_out_a_slow_service_with_a_typed_error() {
    let mut svc = ServiceBuilder::new()
        .layer(timeout().layer())
        .map_err(Error::Inner)
        .service_fn(|d: Duration| work(d));
    let start = Instant::now();
    let err = svc
        .ready()
        .await
        .unwrap()
        .call(Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), LIMIT);
    assert!(matches!(err, Error::Timeout(e) if e.name() == "db"));
    let ok = svc
        .ready()
        .await
        .unwrap()
        .call(Duration::from_millis(1))
        .await;
    assert_eq!(ok.unwrap(), "done");
}

#[tokio::test(start_paused = true)]
async fn the_layer_works_with_box_error_and_the_rejection_downcasts() {
    let mut svc = ServiceBuilder::new()
        .layer(timeout().layer())
        .map_err(BoxError::from)
        .service_fn(|d: Duration| work(d));
    let err = svc
        .ready()
        .await
        .unwrap()
        .call(Duration::from_secs(5))
        .await
        .unwrap_err();
    let elapsed = err
        .downcast_ref::<failguard::error::Elapsed>()
        .expect("an Elapsed");
    assert_eq!(elapsed.after(), LIMIT);
}

#[tokio::test(start_paused = true)]
async fn clones_of_the_layer_and_service_behave_the_same() {
    let layer = timeout().layer();
    let svc = tower::Layer::layer(
        &layer.clone(),
        service_fn(|d: Duration| async move { work(d).await.map_err(Error::Inner) }),
    );
    let mut a = svc.clone();
    let mut b = svc;
    assert!(
        a.ready()
            .await
            .unwrap()
            .call(Duration::from_secs(1))
            .await
            .is_err()
    );
    assert!(
        b.ready()
            .await
            .unwrap()
            .call(Duration::from_millis(5))
            .await
            .is_ok()
    );
}

#[test]
fn configuration_rules() {
    let missing = Timeout::builder().build().unwrap_err();
    assert_eq!(missing, ConfigError::new("timeout.duration", "must be set"));

    let zero = Timeout::new(Duration::ZERO).unwrap_err();
    assert_eq!(zero.field(), "timeout.duration");
    assert_eq!(zero.rule(), "must be greater than zero (got 0ns)");

    assert!(Timeout::new(MAX_DURATION).is_ok());
    let absurd = Timeout::new(MAX_DURATION + Duration::from_nanos(1)).unwrap_err();
    assert_eq!(absurd.field(), "timeout.duration");
    assert!(
        absurd.rule().starts_with("must be at most 365 days"),
        "{absurd}"
    );

    assert!(Timeout::new(Duration::from_nanos(1)).is_ok());
}

#[test]
fn futures_are_send_when_the_operation_is() {
    fn assert_send<T: Send>(_: &T) {}
    let t = timeout();
    let fut = t.call(|| work(LIMIT));
    assert_send(&fut);
    let fut = work(LIMIT).timeout(&t);
    assert_send(&fut);
}
