//! Collecting a body: kept whole, over the bound, waiting, failing; and what each copy sends.

use std::{sync::Arc, task::Wake};

use super::*;

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Frames to hand out, `None` standing for a `Pending`.
struct Script(VecDeque<Option<Result<Frame<Bytes>, Status>>>);

impl HttpBody for Script {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        match self.0.pop_front() {
            Some(Some(frame)) => Poll::Ready(Some(frame)),
            Some(None) => Poll::Pending,
            None => Poll::Ready(None),
        }
    }
}

fn data(s: &'static str) -> Option<Result<Frame<Bytes>, Status>> {
    Some(Ok(Frame::data(Bytes::from_static(s.as_bytes()))))
}

fn trailers() -> HeaderMap {
    let mut trailers = HeaderMap::new();
    trailers.insert("x-end", "1".parse().unwrap());
    trailers
}

fn collect(frames: Vec<Option<Result<Frame<Bytes>, Status>>>, max: usize) -> Payload {
    let waker = Arc::new(Noop).into();
    let mut cx = Context::from_waker(&waker);
    let mut body = Body::new(Script(frames.into()));
    let mut collect = Collect::new();
    let outcome = collect.poll(&mut body, max, &mut cx);
    collect.finish(outcome, body)
}

/// Every frame of `body`, `Err` for an error; panics on `Pending`.
fn drain(mut body: Body) -> Vec<Result<Frame<Bytes>, Status>> {
    let waker = Arc::new(Noop).into();
    let mut cx = Context::from_waker(&waker);
    let mut frames = Vec::new();
    loop {
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(frame)) => frames.push(frame),
            Poll::Ready(None) => return frames,
            Poll::Pending => panic!("the body waits"),
        }
    }
}

fn bytes_of(frames: &[Result<Frame<Bytes>, Status>]) -> Vec<u8> {
    frames
        .iter()
        .filter_map(|f| f.as_ref().ok()?.data_ref().cloned())
        .flat_map(|b| b.to_vec())
        .collect()
}

#[test]
fn a_body_at_hand_is_kept_whole_and_every_copy_sends_it() {
    let trailer = Some(Ok(Frame::trailers(trailers())));
    let payload = collect(vec![data("hel"), data("lo"), trailer], 5);
    assert!(payload.is_replayable());
    let copy = payload.try_clone().unwrap();
    for body in [payload.into_body(), copy.into_body()] {
        let frames = drain(body);
        assert_eq!(bytes_of(&frames), b"hello");
        let last = frames.last().unwrap().as_ref().unwrap();
        assert_eq!(last.trailers_ref().unwrap()["x-end"], "1");
    }
}

#[test]
fn an_empty_body_is_kept() {
    let payload = collect(vec![], 0);
    assert!(payload.is_replayable());
    let body = payload.into_body();
    assert!(body.is_end_stream());
}

#[test]
fn a_body_over_the_bound_is_sent_once_with_what_was_read_first() {
    let payload = collect(vec![data("hel"), data("lo"), data("!")], 4);
    assert!(!payload.is_replayable());
    assert!(payload.try_clone().is_none());
    assert_eq!(bytes_of(&drain(payload.into_body())), b"hello!");
}

#[test]
fn a_body_that_waits_is_sent_once_and_whole() {
    // Nothing read yet: the body goes as it came.
    let payload = collect(vec![None, data("late")], 1024);
    assert!(!payload.is_replayable());
    assert_eq!(bytes_of(&drain(payload.into_body())), b"late");
    // Some read: it goes first, then the rest.
    let payload = collect(vec![data("ear"), None, data("ly")], 1024);
    assert!(!payload.is_replayable());
    assert_eq!(bytes_of(&drain(payload.into_body())), b"early");
}

#[test]
fn a_body_that_fails_is_sent_once_and_fails_the_same_way() {
    let payload = collect(
        vec![data("par"), Some(Err(Status::cancelled("gone")))],
        1024,
    );
    assert!(!payload.is_replayable());
    let frames = drain(payload.into_body());
    assert_eq!(bytes_of(&frames), b"par");
    assert_eq!(
        frames.last().unwrap().as_ref().unwrap_err().code(),
        tonic::Code::Cancelled
    );
}
