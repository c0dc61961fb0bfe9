//! `Lift`/`LiftLayer`: the named lift of a leaf service's error, under a stack of failguard
//! layers, behaves as `.map_err(Error::Inner)`.
#![cfg(feature = "tower")]

use std::{
    convert::Infallible,
    future::{Ready, ready},
    io,
    task::{Context, Poll},
    time::Duration,
};

use failguard::{
    Bulkhead, CircuitBreaker, Error, Lift, LiftLayer, Timeout, breaker::BreakerService,
    bulkhead::BulkheadService, parts::Lifted, timeout::TimeoutService,
};
use tokio_test::{assert_pending, assert_ready, task};
use tower::{Layer, Service, ServiceBuilder, ServiceExt, service_fn};

/// A leaf whose type can be named, failing on odd requests and (once asked) when made ready.
#[derive(Clone, Default)]
struct Backend {
    broken: bool,
}

impl Service<u32> for Backend {
    type Response = u32;
    type Error = io::Error;
    type Future = Ready<Result<u32, io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(if self.broken {
            Err(io::Error::other("broken"))
        } else {
            Ok(())
        })
    }

    fn call(&mut self, n: u32) -> Self::Future {
        ready(if n % 2 == 0 {
            Ok(n / 2)
        } else {
            Err(io::Error::new(io::ErrorKind::InvalidInput, "odd"))
        })
    }
}

/// The whole stack, by name: what a client struct would hold.
type Stack =
    BulkheadService<BreakerService<TimeoutService<Lift<Backend>>, failguard::ErrorIsFailure>>;

fn stack(bulkhead: &Bulkhead, breaker: &CircuitBreaker) -> Stack {
    ServiceBuilder::new()
        .layer(bulkhead.layer())
        .layer(breaker.layer())
        .layer(Timeout::new(Duration::from_secs(1)).unwrap().layer())
        .layer(LiftLayer)
        .service(Backend::default())
}

#[tokio::test]
async fn a_named_lifted_stack_returns_responses_and_inner_errors_flat() {
    let bulkhead = Bulkhead::new(4).unwrap();
    let breaker = CircuitBreaker::builder().build().unwrap();
    let mut svc = stack(&bulkhead, &breaker);

    assert_eq!(svc.ready().await.unwrap().call(8).await.unwrap(), 4);
    let err: Error<io::Error> = svc.ready().await.unwrap().call(3).await.unwrap_err();
    assert_eq!(
        err.into_inner().unwrap().kind(),
        io::ErrorKind::InvalidInput
    );
    assert_eq!(breaker.snapshot().calls, 2);
    assert_eq!(bulkhead.snapshot().in_flight, 0);
}

#[tokio::test]
async fn rejections_come_through_the_lifted_error() {
    let breaker = CircuitBreaker::builder().build().unwrap();
    breaker.force_open();
    let mut svc = stack(&Bulkhead::new(4).unwrap(), &breaker);
    let err = svc.ready().await.unwrap().call(8).await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen(_)), "{err:?}");
}

#[tokio::test]
async fn a_readiness_error_is_lifted_too() {
    let mut svc = LiftLayer.layer(Backend { broken: true });
    let err = svc.ready().await.err().expect("not ready");
    assert_eq!(err.into_inner().unwrap().to_string(), "broken");
}

#[tokio::test(start_paused = true)]
async fn lift_and_map_err_give_the_same_outcomes() {
    let timeout = Timeout::new(Duration::from_millis(100)).unwrap();
    let leaf = service_fn(|ms: u64| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if ms == 0 {
            Err(io::Error::other("zero"))
        } else {
            Ok(ms)
        }
    });
    let mut lifted = ServiceBuilder::new()
        .layer(timeout.layer())
        .layer(LiftLayer)
        .service(leaf);
    let mut mapped = ServiceBuilder::new()
        .layer(timeout.layer())
        .map_err(Error::Inner)
        .service(leaf);
    for ms in [0, 10, 500] {
        let a = lifted.ready().await.unwrap().call(ms).await;
        let b = mapped.ready().await.unwrap().call(ms).await;
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "request {ms}");
    }
}

#[tokio::test]
async fn the_future_is_the_named_lifted_future_and_polls_through() {
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<u32, Infallible>>();
    let mut rx = Some(rx);
    let mut svc = Lift::new(service_fn(move |()| {
        let rx = rx.take().expect("one call");
        async move { rx.await.unwrap() }
    }));
    let future = svc.call(());
    let mut future = task::spawn(future);
    assert_pending!(future.poll());
    tx.send(Ok(5)).unwrap();
    assert!(future.is_woken());
    assert_eq!(assert_ready!(future.poll()).unwrap(), 5);
}

#[test]
fn the_lift_is_named_and_send_and_zero_sized_around_a_zero_sized_leaf() {
    fn assert_send<T: Send>(_: &T) {}
    let mut svc: Lift<Backend> = Lift::new(Backend::default());
    let future: Lifted<Ready<Result<u32, io::Error>>> = svc.call(2);
    assert_send(&future);
    assert_eq!(size_of::<LiftLayer>(), 0);
    assert_eq!(size_of::<Lift<Backend>>(), size_of::<Backend>());
}

/// axum's routes and handlers cannot fail: failguard's layers take them with no lift, and the
/// error handler gets `Error<Infallible>`.
mod axum_without_a_lift {
    use std::{convert::Infallible, time::Duration};

    use axum::{
        Router,
        body::Body,
        error_handling::{HandleError, HandleErrorLayer},
        http::{Request, StatusCode},
        routing::get,
    };
    use failguard::{Bulkhead, Error, Timeout};
    use tower::{ServiceBuilder, ServiceExt, service_fn};

    async fn rejected(error: Error<Infallible>) -> StatusCode {
        match error {
            Error::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Error::BulkheadFull(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    async fn status(app: Router, path: &str) -> StatusCode {
        let request = Request::get(path).body(Body::empty()).unwrap();
        app.oneshot(request).await.unwrap().status()
    }

    #[tokio::test(start_paused = true)]
    async fn router_layer_takes_failguard_layers_as_they_are() {
        let app = Router::new()
            .route("/fast", get(|| async { "ok" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .layer(
                ServiceBuilder::new()
                    .layer(HandleErrorLayer::new(rejected))
                    .layer(Bulkhead::new(8).unwrap().layer())
                    .layer(Timeout::new(Duration::from_millis(250)).unwrap().layer()),
            );
        assert_eq!(status(app.clone(), "/fast").await, StatusCode::OK);
        assert_eq!(status(app, "/slow").await, StatusCode::GATEWAY_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn route_service_takes_a_failguard_stack_over_a_service_that_cannot_fail() {
        let svc = ServiceBuilder::new()
            .layer(Timeout::new(Duration::from_millis(250)).unwrap().layer())
            .service(service_fn(|_: Request<Body>| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<_, Infallible>("late")
            }));
        let app = Router::new().route_service("/", HandleError::new(svc, rejected));
        assert_eq!(status(app, "/").await, StatusCode::GATEWAY_TIMEOUT);
    }

    #[tokio::test]
    async fn the_explicit_lift_still_compiles_and_means_the_same() {
        let app = Router::new().route("/", get(|| async { "ok" })).layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(rejected))
                .layer(Bulkhead::new(8).unwrap().layer())
                .map_err(Error::Inner),
        );
        assert_eq!(status(app, "/").await, StatusCode::OK);
    }
}

/// Every door takes a service that cannot fail, and returns `Error<Infallible>`.
#[tokio::test(start_paused = true)]
async fn every_layer_takes_a_service_that_cannot_fail() {
    use failguard::{Fallback, Queue, Retry};

    let slow = |ms: u64| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, Infallible>(ms)
    };

    let policy = Fallback::value(0)
        .wrap(Bulkhead::new(4).unwrap())
        .wrap(Retry::new(2).unwrap())
        .wrap(CircuitBreaker::builder().build().unwrap())
        .wrap(Timeout::new(Duration::from_millis(100)).unwrap());
    let mut svc = ServiceBuilder::new().layer(policy.layer()).service_fn(slow);
    let ok: Result<u64, Error<Infallible>> = svc.ready().await.unwrap().call(10).await;
    assert_eq!(ok.unwrap(), 10);
    assert_eq!(svc.ready().await.unwrap().call(500).await.unwrap(), 0);

    let queue = Queue::builder().capacity(4).build().unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(queue.layer())
        .layer(Timeout::new(Duration::from_millis(100)).unwrap().layer())
        .service_fn(slow);
    let err: Error<Infallible> = svc.ready().await.unwrap().call(500).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");

    // A fallback service that cannot fail stands in for a primary that cannot fail.
    let replica = service_fn(|ms: u64| async move { Ok::<_, Infallible>(ms + 1000) });
    let mut svc = ServiceBuilder::new()
        .layer(failguard::Fallback::service(replica).layer())
        .layer(Timeout::new(Duration::from_millis(100)).unwrap().layer())
        .service_fn(slow);
    assert_eq!(svc.ready().await.unwrap().call(500).await.unwrap(), 1500);
}
