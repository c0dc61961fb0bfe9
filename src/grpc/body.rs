//! A request body read once and sent as many times as there are attempts.

use std::{
    collections::VecDeque,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::{Status, body::Body};

/// What the collection of a request's body found.
pub(crate) enum Payload {
    /// The whole body, within the bound: every attempt sends a copy.
    Buffered {
        data: Bytes,
        trailers: Option<HeaderMap>,
    },
    /// A body that had to wait for more, or outgrew the bound: sent once, what was already read
    /// first and then the rest.
    Once(Prefixed),
}

/// Reads `body` as far as it goes without waiting, up to `max` bytes.
pub(crate) struct Collect {
    chunks: Vec<Bytes>,
    size: usize,
    trailers: Option<HeaderMap>,
}

impl Collect {
    pub(crate) fn new() -> Self {
        Self {
            chunks: Vec::new(),
            size: 0,
            trailers: None,
        }
    }

    /// Polls `body` until it ends (`Buffered`), waits, errs or passes `max` bytes (`Once`).
    pub(crate) fn poll(&mut self, body: &mut Body, max: usize, cx: &mut Context<'_>) -> Outcome {
        if body.is_end_stream() {
            return Outcome::Ended;
        }
        loop {
            match Pin::new(&mut *body).poll_frame(cx) {
                Poll::Ready(None) => return Outcome::Ended,
                Poll::Pending => return Outcome::Waits,
                Poll::Ready(Some(Err(status))) => return Outcome::Failed(status),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        self.size = self.size.saturating_add(data.len());
                        self.chunks.push(data);
                        if self.size > max {
                            return Outcome::TooLarge;
                        }
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.trailers = Some(trailers);
                        }
                    }
                },
            }
        }
    }

    /// What was read, and `rest` (the body, when it did not end), as a payload.
    pub(crate) fn finish(self, outcome: Outcome, rest: Body) -> Payload {
        match outcome {
            Outcome::Ended => Payload::Buffered {
                data: concat(self.chunks, self.size),
                trailers: self.trailers,
            },
            Outcome::Failed(status) => Payload::Once(Prefixed {
                chunks: self.chunks.into(),
                trailers: self.trailers,
                error: Some(status),
                rest: None,
            }),
            Outcome::Waits | Outcome::TooLarge => Payload::Once(Prefixed {
                chunks: self.chunks.into(),
                trailers: self.trailers,
                error: None,
                rest: Some(rest),
            }),
        }
    }
}

/// How collecting a body ended.
pub(crate) enum Outcome {
    /// The body ended: it can be replayed.
    Ended,
    /// The body has nothing ready: a stream fed as the call goes.
    Waits,
    /// The body is larger than the bound.
    TooLarge,
    /// The body failed; the attempt will fail the same way.
    Failed(Status),
}

fn concat(mut chunks: Vec<Bytes>, size: usize) -> Bytes {
    match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => {
            let mut all = BytesMut::with_capacity(size);
            for chunk in chunks {
                all.extend_from_slice(&chunk);
            }
            all.freeze()
        }
    }
}

impl Payload {
    /// The payload as tonic's body, for the channel.
    pub(crate) fn into_body(self) -> Body {
        match self {
            Payload::Buffered { data, trailers } => Body::new(Replayed {
                data: (!data.is_empty()).then_some(data),
                trailers,
            }),
            Payload::Once(Prefixed {
                chunks,
                trailers: None,
                error: None,
                rest: Some(rest),
            }) if chunks.is_empty() => rest,
            Payload::Once(prefixed) => Body::new(prefixed),
        }
    }

    /// A copy for another attempt, if this payload can be sent again.
    pub(crate) fn try_clone(&self) -> Option<Payload> {
        match self {
            Payload::Buffered { data, trailers } => Some(Payload::Buffered {
                data: data.clone(),
                trailers: trailers.clone(),
            }),
            Payload::Once(_) => None,
        }
    }

    pub(crate) fn is_replayable(&self) -> bool {
        matches!(self, Payload::Buffered { .. })
    }
}

/// One attempt's copy of a buffered body: the data, then the trailers if there were any.
struct Replayed {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl HttpBody for Replayed {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = match self.data.take() {
            Some(data) => Frame::data(data),
            None => match self.trailers.take() {
                Some(trailers) => Frame::trailers(trailers),
                None => return Poll::Ready(None),
            },
        };
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

/// A body sent once: what collecting it read, then the rest of it (or the error it failed with).
pub(crate) struct Prefixed {
    chunks: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    error: Option<Status>,
    rest: Option<Body>,
}

impl HttpBody for Prefixed {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(data) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(trailers) = self.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
        }
        if let Some(error) = self.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
            && self.trailers.is_none()
            && self.error.is_none()
            && self.rest.as_ref().is_none_or(HttpBody::is_end_stream)
    }
}

#[cfg(test)]
mod tests;
