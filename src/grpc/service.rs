//! The top of a `GrpcLayer`: what the generated client calls.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use pin_project_lite::pin_project;
use tonic::{Status, body::Body};
use tower_service::Service;

use super::{GrpcRequest, IntoStatus, body::Collect};
use crate::BoxError;

/// The top of a [`GrpcLayer`](super::GrpcLayer), what the generated client calls: reads each
/// request's body once, calls the failguard stack with a [`GrpcRequest`], and turns its errors
/// into `tonic::Status`.
///
/// Readiness is the stack's, its error made a `Status` too (a generated client reports a
/// readiness error as `UNKNOWN`, "Service was not ready", whatever its code; failguard's
/// policies never reject there: they decide when the call's future is first polled, so every
/// rejection reaches the caller with its own code). `call` moves the ready stack into the
/// future (a clone stays behind), which reads the body when first polled and then calls it.
#[derive(Debug, Clone)]
pub struct GrpcService<S> {
    inner: S,
    max_buffer: usize,
}

impl<S> GrpcService<S> {
    pub(crate) fn new(inner: S, max_buffer: usize) -> Self {
        Self { inner, max_buffer }
    }
}

impl<S, B> Service<http::Request<B>> for GrpcService<S>
where
    S: Service<GrpcRequest> + Clone,
    S::Error: IntoStatus,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = Status;
    type Future = GrpcFuture<S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.inner.poll_ready(cx).map_err(IntoStatus::into_status)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let fresh = self.inner.clone();
        let (head, body) = request.into_parts();
        GrpcFuture {
            state: State::Collecting {
                call: Some((
                    std::mem::replace(&mut self.inner, fresh),
                    head,
                    Body::new(body),
                )),
                max_buffer: self.max_buffer,
            },
        }
    }
}

pin_project! {
    /// The future of [`GrpcService`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the call: the stack's future, or the request not yet sent.
    #[must_use = "futures do nothing unless polled"]
    pub struct GrpcFuture<S: Service<GrpcRequest>> {
        #[pin]
        state: State<S>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S: Service<GrpcRequest>> {
        // Until the first poll: the ready stack and the request. The body is read in that one
        // poll (a body that has nothing ready is not waited for), so this state never lasts
        // beyond it.
        Collecting {
            call: Option<(S, http::request::Parts, Body)>,
            max_buffer: usize,
        },
        Calling {
            #[pin]
            future: S::Future,
        },
    }
}

impl<S> fmt::Debug for GrpcFuture<S>
where
    S: Service<GrpcRequest>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Collecting { .. } => "collecting",
            State::Calling { .. } => "calling",
        };
        f.debug_struct("GrpcFuture").field("state", &state).finish()
    }
}

impl<S> Future for GrpcFuture<S>
where
    S: Service<GrpcRequest>,
    S::Error: IntoStatus,
{
    type Output = Result<S::Response, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Collecting { call, max_buffer } => {
                    let Some((mut service, head, mut body)) = call.take() else {
                        unreachable!("a collecting call holds its service and request");
                    };
                    let mut collect = Collect::new();
                    let outcome = collect.poll(&mut body, *max_buffer, cx);
                    let payload = collect.finish(outcome, body);
                    let future = service.call(GrpcRequest { head, payload });
                    this.state.set(State::Calling { future });
                }
                StateProj::Calling { future } => {
                    let result = ready!(future.poll(cx));
                    return Poll::Ready(result.map_err(IntoStatus::into_status));
                }
            }
        }
    }
}
