//! `Option<P>` as a policy: a layer that may be left out, chosen at run time, without boxing.
//!
//! `Some(policy)` goes around the operation as `policy` would; `None` hands the operation
//! through untouched. The stack's type is the same either way, so a stack read from a file (see
//! `config::StackConfig` with the `serde` feature) is one type whichever sections the file has.
//! A layer left out costs one branch per poll of the call (which variant this call is), and
//! the call's state is as large as the policy's would be; nothing is allocated, boxed or locked.
//! In tower, `Option<P>`'s layer is an `OptionalLayer`, whose service is the policy's or the
//! inner one (the same cost: one branch per poll).

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use pin_project_lite::pin_project;

use super::{Apply, Operation, SendOperation};
use crate::parts::OperationMut;

/// An operation with an optional policy around it: made by applying an `Option<P>`
/// ([`Policy::call`](crate::Policy::call) or [`wrap`](crate::Wrap::wrap)).
#[derive(Debug, Clone)]
pub enum Optional<A, Op> {
    /// The policy is there: `A` is the operation with it around.
    On(A),
    /// The policy is left out: the operation as it is.
    Off(Op),
}

pin_project! {
    /// The state of one call through an `Option<P>`: the policy's call state, or the operation's
    /// own.
    ///
    /// # Cancel safety
    ///
    /// As the policy's call state when the policy is there; as the operation's otherwise.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct OptionalCall<A, B> {
        #[pin]
        state: CallState<A, B>,
    }
}

pin_project! {
    #[project = CallStateProj]
    #[derive(Debug)]
    enum CallState<A, B> {
        On { #[pin] call: A },
        Off { #[pin] call: B },
    }
}

impl<A, Op> Operation for Optional<A, Op>
where
    A: Operation,
    Op: Operation<Ok = A::Ok, Error = A::Error>,
{
    type Ok = A::Ok;
    type Error = A::Error;
    type Call = OptionalCall<A::Call, Op::Call>;

    #[inline]
    fn start(&self) -> Self::Call {
        let state = match self {
            Optional::On(a) => CallState::On { call: a.start() },
            Optional::Off(op) => CallState::Off { call: op.start() },
        };
        OptionalCall { state }
    }

    #[inline(always)]
    fn poll_once(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Ok, Self::Error>> {
        match (self, call.project().state.project()) {
            (Optional::On(a), CallStateProj::On { call }) => a.poll_once(call, cx),
            (Optional::Off(op), CallStateProj::Off { call }) => op.poll_once(call, cx),
            _ => unreachable!("a call state is started by its own operation"),
        }
    }
}

impl<A, Op> OperationMut for Optional<A, Op>
where
    A: OperationMut,
    Op: OperationMut<Ok = A::Ok, Error = A::Error>,
{
    #[inline(always)]
    fn poll_mut(
        &mut self,
        call: Pin<&mut Self::Call>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Ok, Self::Error>> {
        match (self, call.project().state.project()) {
            (Optional::On(a), CallStateProj::On { call }) => a.poll_mut(call, cx),
            (Optional::Off(op), CallStateProj::Off { call }) => op.poll_mut(call, cx),
            _ => unreachable!("a call state is started by its own operation"),
        }
    }
}

/// A policy that may be left out: `Some(policy)` applies it, `None` passes the call through.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Policy, Retry, Timeout};
///
/// fn policy(retries: Option<u32>) -> Result<impl Policy<u8, std::io::Error>, failguard::ConfigError> {
///     let retry = retries.map(Retry::new).transpose()?;
///     Ok(Timeout::new(Duration::from_secs(5))?.wrap(retry))
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let with = policy(Some(3))?;
/// let without = policy(None)?; // the same type
/// assert_eq!(with.call(|| async { Ok(1) }).await.unwrap(), 1);
/// assert_eq!(without.call(|| async { Ok(2) }).await.unwrap(), 2);
/// # Ok(())
/// # }
/// ```
impl<T, E, P> crate::Policy<T, E> for Option<P>
where
    P: crate::Policy<T, E>,
{
    type Around<'a, Op>
        = Optional<P::Around<'a, Op>, Op>
    where
        Self: 'a,
        Op: SendOperation<T, E> + 'a;

    #[inline]
    fn around<'a, Op>(&'a self, op: Op) -> Self::Around<'a, Op>
    where
        Op: SendOperation<T, E> + 'a,
    {
        match self {
            Some(policy) => Optional::On(policy.around(op)),
            None => Optional::Off(op),
        }
    }
}

impl<'a, P, Op> Apply<Op> for &'a Option<P>
where
    Op: Operation,
    &'a P: Apply<Op, Output: Operation<Ok = Op::Ok, Error = Op::Error>>,
{
    type Output = Optional<<&'a P as Apply<Op>>::Output, Op>;

    #[inline]
    fn apply(self, op: Op) -> Self::Output {
        match self {
            Some(policy) => Optional::On(policy.apply(op)),
            None => Optional::Off(op),
        }
    }
}

/// Owned, for an operation that must outlive the borrow (one a queue runs on its workers).
impl<P, Op> Apply<Op> for Option<P>
where
    Op: Operation,
    P: Apply<Op, Output: Operation<Ok = Op::Ok, Error = Op::Error>>,
{
    type Output = Optional<P::Output, Op>;

    #[inline]
    fn apply(self, op: Op) -> Self::Output {
        match self {
            Some(policy) => Optional::On(policy.apply(op)),
            None => Optional::Off(op),
        }
    }
}
