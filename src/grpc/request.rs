//! A gRPC call as the policies see it, and how a retry replays it.

use std::fmt;

use bytes::Bytes;
use tonic::body::Body;

use super::body::Payload;
use crate::retry::{CloneRequest, Replay};

/// A gRPC call as the policies inside a [`GrpcLayer`](super::GrpcLayer) see it: the request's
/// head, and its body read once, kept for replay when it could be.
///
/// ```
/// use failguard::grpc::GrpcRequest;
///
/// let request = GrpcRequest::buffered(
///     http::Request::builder().uri("/grpc.health.v1.Health/Check").body(()).unwrap(),
///     bytes::Bytes::from_static(b"\0\0\0\0\0"),
/// );
/// assert!(request.is_replayable());
/// assert_eq!(request.try_clone().unwrap().uri().path(), "/grpc.health.v1.Health/Check");
/// ```
pub struct GrpcRequest {
    pub(crate) head: http::request::Parts,
    pub(crate) payload: Payload,
}

impl fmt::Debug for GrpcRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcRequest")
            .field("method", &self.head.method)
            .field("uri", &self.head.uri)
            .field("headers", &self.head.headers)
            .field("replayable", &self.is_replayable())
            .finish_non_exhaustive()
    }
}

impl GrpcRequest {
    /// A request whose whole body is `body`: replayable.
    ///
    /// ```
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), bytes::Bytes::new());
    /// assert!(request.is_replayable());
    /// ```
    pub fn buffered(head: http::Request<()>, body: Bytes) -> Self {
        Self {
            head: head.into_parts().0,
            payload: Payload::Buffered {
                data: body,
                trailers: None,
            },
        }
    }

    /// Whether another attempt can send this request again (its body was kept).
    ///
    /// ```
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), bytes::Bytes::new());
    /// assert!(request.is_replayable());
    /// ```
    pub fn is_replayable(&self) -> bool {
        self.payload.is_replayable()
    }

    /// A copy for another attempt (the body's bytes are shared), or `None` when the body is sent
    /// once. What the retry layer's [`Replay`] calls.
    ///
    /// ```
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), "hi".into());
    /// assert!(request.try_clone().is_some());
    /// ```
    pub fn try_clone(&self) -> Option<Self> {
        Some(Self {
            head: self.head.clone(),
            payload: self.payload.try_clone()?,
        })
    }

    /// The request's URI; its path names the method (`/package.Service/Method`).
    ///
    /// ```
    /// let head = http::Request::builder().uri("/pkg.Svc/Call").body(()).unwrap();
    /// let request = failguard::grpc::GrpcRequest::buffered(head, bytes::Bytes::new());
    /// assert_eq!(request.uri().path(), "/pkg.Svc/Call");
    /// ```
    pub fn uri(&self) -> &http::Uri {
        &self.head.uri
    }

    /// The request's headers (gRPC metadata).
    ///
    /// ```
    /// let head = http::Request::builder().header("x-tenant", "7").body(()).unwrap();
    /// let request = failguard::grpc::GrpcRequest::buffered(head, bytes::Bytes::new());
    /// assert_eq!(request.headers()["x-tenant"], "7");
    /// ```
    pub fn headers(&self) -> &http::HeaderMap {
        &self.head.headers
    }

    /// The request's extensions (tonic puts the `GrpcMethod` there).
    ///
    /// ```
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), bytes::Bytes::new());
    /// assert!(request.extensions().is_empty());
    /// ```
    pub fn extensions(&self) -> &http::Extensions {
        &self.head.extensions
    }

    /// The request as tonic's channel takes it.
    ///
    /// ```
    /// use http_body::Body as _;
    ///
    /// let request = failguard::grpc::GrpcRequest::buffered(http::Request::new(()), "hi".into());
    /// let http = request.into_http();
    /// assert_eq!(http.body().size_hint().exact(), Some(2));
    /// ```
    pub fn into_http(self) -> http::Request<Body> {
        http::Request::from_parts(self.head, self.payload.into_body())
    }
}

/// The retry layer's default replays a [`GrpcRequest`] whose body was kept, and sends any other
/// once: no `replay` hook to write.
impl Replay<GrpcRequest> for CloneRequest {
    fn replay(&self, request: &GrpcRequest) -> Option<GrpcRequest> {
        request.try_clone()
    }
}
