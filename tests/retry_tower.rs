//! Retry as a tower layer: requests are replayed (cloned by default), a request that cannot be
//! replayed is sent once, and the inner service is made ready before each retry.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use failguard::{Error, Retry, retry::Backoff};
use tokio::time::Instant;
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

const MS: Duration = Duration::from_millis(1);

fn retry(attempts: u32) -> Retry {
    Retry::builder()
        .max_attempts(attempts)
        .backoff(Backoff::constant(100 * MS))
        .build()
        .unwrap()
}

/// A request that counts its clones.
#[derive(Debug)]
struct Counted(Arc<AtomicU32>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, Ordering::SeqCst);
        Counted(self.0.clone())
    }
}

fn always_failing<Req>()
-> impl Service<Req, Response = (), Error = Error<io::Error>, Future: Send> + Clone {
    service_fn(|_: Req| async { Err::<(), _>(Error::Inner(io::Error::other("down"))) })
}

#[tokio::test(start_paused = true)]
async fn each_retry_gets_a_copy_and_the_last_takes_the_stored_one() {
    let clones = Arc::new(AtomicU32::new(0));
    let mut svc = retry(3).layer().layer_fn(always_failing::<Counted>());
    let start = Instant::now();
    let _ = svc
        .ready()
        .await
        .unwrap()
        .call(Counted(clones.clone()))
        .await;
    // One copy kept at the call, one replayed for attempt 2; attempt 3 moves the kept copy.
    assert_eq!(clones.load(Ordering::SeqCst), 2);
    assert_eq!(start.elapsed(), 200 * MS);

    // No retry possible: no copy at all.
    let clones = Arc::new(AtomicU32::new(0));
    let mut svc = retry(1).layer().layer_fn(always_failing::<Counted>());
    let _ = svc
        .ready()
        .await
        .unwrap()
        .call(Counted(clones.clone()))
        .await;
    assert_eq!(clones.load(Ordering::SeqCst), 0);
}

/// Not `Clone`.
struct Upload(u32);

#[tokio::test(start_paused = true)]
async fn a_request_that_cannot_be_replayed_is_sent_once() {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let mut svc = ServiceBuilder::new()
        .layer(retry(3).layer().replay(|_: &Upload| None))
        .service(service_fn(move |_: Upload| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(Error::Inner(io::Error::other("down"))) }
        }));
    let start = Instant::now();
    let err = svc
        .ready()
        .await
        .unwrap()
        .call(Upload(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Inner(_)));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_replay_hook_makes_a_non_clone_request_retryable() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut svc = ServiceBuilder::new()
        .layer(retry(3).layer().replay(|u: &Upload| Some(Upload(u.0 + 1))))
        .service(service_fn(move |u: Upload| {
            log.lock().unwrap().push(u.0);
            async { Err::<(), _>(Error::Inner(io::Error::other("down"))) }
        }));
    let _ = svc.ready().await.unwrap().call(Upload(1)).await;
    // The stored copy (2) is replayed as 3 for attempt 2, then sent itself as the last attempt.
    assert_eq!(*seen.lock().unwrap(), [1, 3, 2]);
}

/// A service that is ready only every other poll, and counts its calls.
#[derive(Clone)]
struct Reluctant {
    polls: Arc<AtomicU32>,
    calls: Arc<AtomicU32>,
}

impl Service<()> for Reluctant {
    type Response = ();
    type Error = Error<io::Error>;
    type Future = std::future::Ready<Result<(), Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.polls.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, _: ()) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Err(Error::Inner(io::Error::other("down"))))
    }
}

#[tokio::test(start_paused = true)]
async fn the_service_is_made_ready_before_every_retry() {
    let inner = Reluctant {
        polls: Arc::new(AtomicU32::new(0)),
        calls: Arc::new(AtomicU32::new(0)),
    };
    let mut svc = retry(3).layer().layer_fn(inner.clone());
    let _ = svc.ready().await.unwrap().call(()).await;
    assert_eq!(inner.calls.load(Ordering::SeqCst), 3);
    // Two polls (pending, ready) before each of the three calls.
    assert_eq!(inner.polls.load(Ordering::SeqCst), 6);
}

/// `retry.layer().layer_fn(svc)`: apply the layer to a service without a `ServiceBuilder`.
trait LayerFn<S> {
    type Service;
    fn layer_fn(self, service: S) -> Self::Service;
}

impl<L: tower::Layer<S>, S> LayerFn<S> for L {
    type Service = L::Service;
    fn layer_fn(self, service: S) -> L::Service {
        self.layer(service)
    }
}

/// Ready for its first call only; after that `poll_ready` fails.
#[derive(Clone)]
struct Breaks(Arc<AtomicU32>);

impl Service<()> for Breaks {
    type Response = ();
    type Error = Error<io::Error>;
    type Future = std::future::Ready<Result<(), Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.0.load(Ordering::SeqCst) == 0 {
            Poll::Ready(Ok(()))
        } else {
            Poll::Ready(Err(Error::Inner(io::Error::other("broken"))))
        }
    }

    fn call(&mut self, _: ()) -> Self::Future {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Err(Error::Inner(io::Error::other("down"))))
    }
}

#[tokio::test(start_paused = true)]
async fn a_readiness_error_before_a_retry_ends_the_call_with_it() {
    let calls = Arc::new(AtomicU32::new(0));
    let mut svc = retry(3).layer().layer_fn(Breaks(calls.clone()));
    let start = Instant::now();
    let err = svc.ready().await.unwrap().call(()).await.unwrap_err();
    assert_eq!(err.into_inner().unwrap().to_string(), "broken");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(start.elapsed(), 100 * MS); // found broken after the first wait
}
