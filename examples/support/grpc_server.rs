//! A real gRPC server on 127.0.0.1 (tonic's `Server`, HTTP/2) that serves the standard health
//! service's `Check` with answers a test or an example scripts: `SERVING`, an error status as a
//! trailers-only response (with a `grpc-retry-pushback-ms` if asked), or no answer at all.
//!
//! It is a small hand-written `tower::Service` rather than tonic-health's own server because
//! its answers are scripted; the client side is the real thing (a tonic `Channel` under
//! tonic-health's generated `HealthClient`). It records every request body it receives.
//!
//! Shared by `examples/grpc_client.rs` and `tests/grpc.rs` (included with `#[path]`).

#![allow(dead_code)] // each user takes what it needs

use std::{
    collections::VecDeque,
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;
use tonic::{Code, Status, body::Body, server::NamedService, transport::server::TcpIncoming};

/// How the server answers one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `OK`, with a `HealthCheckResponse { status: SERVING }`.
    Serving,
    /// This code as a trailers-only response, with this `grpc-retry-pushback-ms` if any.
    Status(Code, Option<&'static str>),
    /// Never answers.
    Hang,
}

impl Answer {
    /// `code` without pushback.
    pub fn code(code: Code) -> Answer {
        Answer::Status(code, None)
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    then: Option<Answer>,
    bodies: Vec<Bytes>,
}

/// The server; stops when dropped.
pub struct GrpcServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl GrpcServer {
    /// Starts a server that answers `Serving` until told otherwise.
    pub async fn start() -> std::io::Result<GrpcServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let service = Scripted {
            state: state.clone(),
        };
        let task = tokio::spawn(async move {
            let incoming = TcpIncoming::from(listener);
            let _ = tonic::transport::Server::builder()
                .serve_with_incoming(service, incoming)
                .await;
        });
        Ok(GrpcServer { addr, state, task })
    }

    /// The server's address as a URL for `tonic::transport::Endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next calls get these answers, in order; after them, the [`always`](Self::always)
    /// answer.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.lock().unwrap().script.extend(answers);
    }

    /// Every call after the scripted ones gets `answer` (`Serving` until this is called).
    pub fn always(&self, answer: Answer) {
        let mut state = self.state.lock().unwrap();
        state.script.clear();
        state.then = Some(answer);
    }

    /// How many calls reached the server.
    pub fn calls(&self) -> usize {
        self.state.lock().unwrap().bodies.len()
    }

    /// The request body of every call, in order.
    pub fn bodies(&self) -> Vec<Bytes> {
        self.state.lock().unwrap().bodies.clone()
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A gRPC message frame: uncompressed, its length, the message.
pub fn frame(message: &[u8]) -> Bytes {
    let mut framed = vec![0];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    framed.into()
}

#[derive(Clone)]
struct Scripted {
    state: Arc<Mutex<State>>,
}

impl NamedService for Scripted {
    const NAME: &'static str = "grpc.health.v1.Health";
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl tower::Service<http::Request<Body>> for Scripted {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            let body = match request.into_body().collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(status) => return Ok(status.into_http()),
            };
            let answer = {
                let mut state = state.lock().unwrap();
                state.bodies.push(body);
                let then = state.then.clone().unwrap_or(Answer::Serving);
                state.script.pop_front().unwrap_or(then)
            };
            Ok(match answer {
                Answer::Serving => serving(),
                Answer::Status(code, pushback) => {
                    let mut response: http::Response<Body> =
                        Status::new(code, "scripted").into_http();
                    if let Some(ms) = pushback {
                        response
                            .headers_mut()
                            .insert("grpc-retry-pushback-ms", ms.parse().unwrap());
                    }
                    response
                }
                Answer::Hang => std::future::pending().await,
            })
        })
    }
}

/// `OK` with `HealthCheckResponse { status: SERVING }` (field 1, varint 1), the status in the
/// trailers.
fn serving() -> http::Response<Body> {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", "0".parse().unwrap());
    let frames = Frames(VecDeque::from([
        Frame::data(frame(&[0x08, 0x01])),
        Frame::trailers(trailers),
    ]));
    http::Response::builder()
        .header("content-type", "application/grpc")
        .body(Body::new(frames))
        .unwrap()
}

/// A body of frames all at hand.
struct Frames(VecDeque<Frame<Bytes>>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
}
