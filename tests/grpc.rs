//! `failguard::grpc` with a real tonic `Channel` and tonic-health's generated `HealthClient`
//! against a real tonic server on 127.0.0.1 (HTTP/2) whose answers are scripted. Real time,
//! short durations, loops bounded in count and time.
#![cfg(feature = "grpc")]

#[path = "../examples/support/grpc_server.rs"]
mod grpc_server;

use std::{
    error::Error as _,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::Bytes;
use failguard::{
    Bulkhead, CircuitBreaker, Error, Queue, Retry, Timeout,
    breaker::State,
    error::{BulkheadFull, CircuitOpen, Elapsed, QueueFull},
    grpc::{GrpcLayer, RetryPushback, ServerFaults, Transient},
    retry::Backoff,
};
use grpc_server::{Answer, GrpcServer, frame};
use http_body::Frame;
use tonic::{
    Code,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

fn request() -> HealthCheckRequest {
    HealthCheckRequest {
        service: "failguard".into(),
    }
}

/// `request()` as it travels: a gRPC frame of field 1, length 9, "failguard".
fn request_bytes() -> Bytes {
    let mut message = vec![0x0a, 9];
    message.extend_from_slice(b"failguard");
    frame(&message)
}

async fn channel(server: &GrpcServer) -> Channel {
    Endpoint::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A retry of gRPC's transient failures after the server's pushback, with a short backoff.
fn retry(max_attempts: u32) -> Retry<Transient, RetryPushback> {
    Retry::builder()
        .max_attempts(max_attempts)
        .backoff(Backoff::constant(Duration::from_millis(1)).max_delay(Duration::from_secs(1)))
        .classify(Transient)
        .delay_hint(RetryPushback)
        .build()
        .unwrap()
}

fn breaker() -> CircuitBreaker<ServerFaults> {
    CircuitBreaker::builder()
        .count_window(10)
        .minimum_calls(10)
        .failure_rate(0.5)
        .open_duration(Duration::from_secs(30))
        .classify(ServerFaults)
        .build()
        .unwrap()
}

#[tokio::test]
async fn unavailable_twice_then_ok_succeeds_on_the_third_attempt_after_the_pushback() {
    let server = GrpcServer::start().await.unwrap();
    let pushback = Answer::Status(Code::Unavailable, Some("150"));
    server.script([pushback.clone(), pushback]);
    let breaker = breaker();
    let policy = retry(3).wrap(breaker.clone());
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(policy.layer()))
        .map_err(Error::Inner)
        .service(channel(&server).await);
    let mut client = HealthClient::new(stack);

    let start = Instant::now();
    let response = client.check(request()).await.unwrap();
    let took = start.elapsed();

    assert_eq!(response.into_inner().status, 1); // SERVING
    assert_eq!(server.calls(), 3);
    // Each attempt sent the same request, replayed from one buffered body.
    assert_eq!(server.bodies(), vec![request_bytes(); 3]);
    // Two pushbacks of 150 ms, not the 1 ms backoff.
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // The breaker saw two failures and a success.
    assert_eq!(breaker.snapshot().calls, 3);
}

#[tokio::test]
async fn invalid_argument_is_not_retried_nor_counted_by_the_breaker() {
    let server = GrpcServer::start().await.unwrap();
    server.always(Answer::code(Code::InvalidArgument));
    let breaker = breaker();
    let policy = retry(3).wrap(breaker.clone());
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(policy.layer()))
        .map_err(Error::Inner)
        .service(channel(&server).await);
    let mut client = HealthClient::new(stack);

    for _ in 0..12 {
        let status = client.check(request()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "scripted");
    }
    assert_eq!(server.calls(), 12); // once each
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.calls, 0, "{snapshot:?}");
    assert_eq!(snapshot.state, State::Closed);
}

#[tokio::test]
async fn a_hanging_server_is_cut_per_attempt_retried_and_reads_deadline_exceeded() {
    let server = GrpcServer::start().await.unwrap();
    server.always(Answer::Hang);
    let breaker = breaker();
    let policy = retry(3)
        .wrap(breaker.clone())
        .wrap(Timeout::new(Duration::from_millis(200)).unwrap());
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(policy.layer()))
        .map_err(Error::Inner)
        .service(channel(&server).await);
    let mut client = HealthClient::new(stack);

    let start = Instant::now();
    let status = client.check(request()).await.unwrap_err();
    let took = start.elapsed();

    assert_eq!(status.code(), Code::DeadlineExceeded);
    let elapsed = status.source().unwrap().downcast_ref::<Elapsed>().unwrap();
    assert_eq!(elapsed.after(), Duration::from_millis(200));
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(server.calls(), 3);
    assert_eq!(breaker.snapshot().calls, 3); // three timeouts, three failures
}

#[tokio::test]
async fn ten_unavailables_open_the_breaker_and_the_server_sees_no_more_calls() {
    let server = GrpcServer::start().await.unwrap();
    server.always(Answer::code(Code::Unavailable));
    let breaker = breaker();
    let policy = retry(3)
        .wrap(breaker.clone())
        .wrap(Timeout::new(Duration::from_secs(2)).unwrap());
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(policy.layer()))
        .map_err(Error::Inner)
        .service(channel(&server).await);
    let mut client = HealthClient::new(stack);

    // Three calls of three attempts, and the tenth attempt opens the breaker.
    for _ in 0..3 {
        let status = client.check(request()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.source().is_none_or(|s| !s.is::<CircuitOpen>()));
    }
    assert_eq!(breaker.state(), State::Closed);
    let status = client.check(request()).await.unwrap_err();
    assert_eq!(server.calls(), 10);
    assert_eq!(breaker.state(), State::Open);
    // Its third attempt met the open breaker, whose 30 s is past the retry's cap: given up.
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.source().unwrap().is::<CircuitOpen>());

    for _ in 0..5 {
        let status = client.check(request()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        let open = status.source().unwrap().downcast_ref::<CircuitOpen>();
        assert!(open.unwrap().retry_after().is_some());
    }
    assert_eq!(
        server.calls(),
        10,
        "no call reaches the server while it is open"
    );
}

#[tokio::test]
async fn a_full_bulkhead_reads_resource_exhausted() {
    let server = GrpcServer::start().await.unwrap();
    server.script([Answer::Hang]);
    let policy = Bulkhead::new(1)
        .unwrap()
        .wrap(Timeout::new(Duration::from_secs(2)).unwrap());
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(policy.layer()))
        .map_err(Error::Inner)
        .service(channel(&server).await);
    let client = HealthClient::new(stack);

    let busy = tokio::spawn({
        let mut client = client.clone();
        async move { client.check(request()).await }
    });
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.calls() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.calls(), 1);

    let status = client.clone().check(request()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    let full = status.source().unwrap().downcast_ref::<BulkheadFull>();
    assert_eq!(full.unwrap().max_concurrent(), 1);
    assert_eq!(server.calls(), 1);
    // The hanging call ends at its timeout, and the bulkhead has room again.
    let hung = busy.await.unwrap().unwrap_err();
    assert_eq!(hung.code(), Code::DeadlineExceeded);
    assert_eq!(
        client
            .clone()
            .check(request())
            .await
            .unwrap()
            .into_inner()
            .status,
        1
    );
}

#[tokio::test]
async fn a_full_queue_reads_resource_exhausted() {
    let server = GrpcServer::start().await.unwrap();
    server.script([Answer::Hang]);
    let queue = Queue::builder().workers(1).capacity(0).build().unwrap();
    let policy = queue.wrap(Timeout::new(Duration::from_secs(2)).unwrap());
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(policy.layer()))
        .map_err(Error::Inner)
        .service(channel(&server).await);
    let client = HealthClient::new(stack);

    let busy = tokio::spawn({
        let mut client = client.clone();
        async move { client.check(request()).await }
    });
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.calls() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.calls(), 1);

    let status = client.clone().check(request()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.source().unwrap().is::<QueueFull>());
    assert_eq!(server.calls(), 1);
    assert_eq!(
        busy.await.unwrap().unwrap_err().code(),
        Code::DeadlineExceeded
    );
}

#[tokio::test]
async fn a_transport_error_is_unavailable_and_retried() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let channel = Endpoint::from_shared(url).unwrap().connect_lazy();
    let breaker = breaker();
    let policy = retry(3).wrap(breaker.clone());
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(policy.layer()))
        .map_err(Error::Inner)
        .service(channel);
    let mut client = HealthClient::new(stack);

    let status = client.check(request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.calls, 3, "three attempts: {snapshot:?}");
    assert_eq!(snapshot.failure_rate, 1.0);
}

#[tokio::test]
async fn a_negative_pushback_is_not_retried() {
    let server = GrpcServer::start().await.unwrap();
    server.script([Answer::Status(Code::Unavailable, Some("-1"))]);
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(retry(3).layer()))
        .map_err(Error::Inner)
        .service(channel(&server).await);
    let mut client = HealthClient::new(stack);

    let status = client.check(request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn a_body_over_the_bound_is_sent_once_and_whole() {
    let server = GrpcServer::start().await.unwrap();
    server.script([Answer::code(Code::Unavailable)]);
    let stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(retry(3).layer()).max_buffer(4))
        .map_err(Error::Inner)
        .service(channel(&server).await);
    let mut client = HealthClient::new(stack);

    let status = client.check(request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(server.calls(), 1);
    assert_eq!(server.bodies(), vec![request_bytes()]);
}

/// A request body fed as a stream: the first part at once, the rest only after a wait.
struct Streamed {
    first: Option<Bytes>,
    rest: Option<tokio::sync::oneshot::Receiver<Bytes>>,
}

impl http_body::Body for Streamed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        let Some(rest) = self.rest.as_mut() else {
            return Poll::Ready(None);
        };
        let bytes = std::task::ready!(Pin::new(rest).poll(cx));
        self.rest = None;
        Poll::Ready(bytes.ok().map(|b| Ok(Frame::data(b))))
    }
}

#[tokio::test]
async fn a_streaming_body_is_sent_once_and_whole() {
    let server = GrpcServer::start().await.unwrap();
    server.script([Answer::code(Code::Unavailable)]);
    let mut stack = ServiceBuilder::new()
        .layer(GrpcLayer::new(retry(3).layer()))
        .map_err(Error::Inner)
        .service(channel(&server).await);

    let whole = request_bytes();
    let (send, rest) = tokio::sync::oneshot::channel();
    let body = Streamed {
        first: Some(whole.slice(..3)),
        rest: Some(rest),
    };
    let later = whole.slice(3..);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = send.send(later);
    });
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("{}/grpc.health.v1.Health/Check", server.url()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(body)
        .unwrap();
    let response = ServiceExt::<http::Request<Streamed>>::ready(&mut stack)
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap();

    // The server's UNAVAILABLE is the answer: the stream could not be replayed.
    assert_eq!(response.headers()["grpc-status"], "14");
    assert_eq!(server.calls(), 1);
    assert_eq!(server.bodies(), vec![whole]);
}

#[tokio::test]
async fn the_combinator_reads_the_generated_clients_status() {
    let server = GrpcServer::start().await.unwrap();
    let pushback = Answer::Status(Code::Unavailable, Some("50"));
    server.script([
        pushback.clone(),
        pushback,
        Answer::Serving,
        Answer::code(Code::NotFound),
    ]);
    let breaker = breaker();
    let policy = retry(3).wrap(breaker.clone());
    let client = HealthClient::new(channel(&server).await);
    let check = || {
        let mut client = client.clone();
        async move { client.check(request()).await }
    };

    let start = Instant::now();
    let response = policy.call(check).await.unwrap();
    assert_eq!(response.into_inner().status, 1);
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(server.calls(), 3);

    // NOT_FOUND: not retried, ignored by the breaker, and `?` makes it a `Status` again.
    async fn checked(
        policy: &impl failguard::Policy<
            tonic::Response<tonic_health::pb::HealthCheckResponse>,
            tonic::Status,
        >,
        client: &HealthClient<Channel>,
    ) -> Result<(), tonic::Status> {
        let client = client.clone();
        policy
            .call(move || {
                let mut client = client.clone();
                async move { client.check(request()).await }
            })
            .await?;
        Ok(())
    }
    let status = checked(&policy, &client).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(server.calls(), 4);
    assert_eq!(breaker.snapshot().calls, 3);
}

/// A channel that cannot take calls: its `poll_ready` fails.
#[derive(Clone)]
struct Closed;

impl Service<http::Request<tonic::body::Body>> for Closed {
    type Response = http::Response<tonic::body::Body>;
    type Error = Error<tonic::Status>;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Err(Error::Inner(tonic::Status::unavailable("closed"))))
    }

    fn call(&mut self, _: http::Request<tonic::body::Body>) -> Self::Future {
        unreachable!("never ready")
    }
}

#[tokio::test]
async fn a_readiness_error_is_a_status_too() {
    let mut stack = GrpcLayer::new(tower::layer::util::Identity::new()).layer(Closed);
    let ready = ServiceExt::<http::Request<tonic::body::Body>>::ready(&mut stack).await;
    let status = ready.err().unwrap();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "closed");
}
