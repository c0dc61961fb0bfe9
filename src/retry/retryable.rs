//! `(|| async { .. }).retry(&policy)`: a retry started from the closure, refined for one call.

use std::{future::IntoFuture, time::Duration};

use tokio::time::Instant;

use super::{
    OpAttempts, Retried, Retry, RetryState,
    core::{Decide, Plan, RetryReason},
};
use crate::{Error, PolicyError, policy::CallFuture, policy::OperationFn};

/// A closure, retried: `(|| async { .. }).retry(&policy)` is `policy.call(|| async { .. })`,
/// with two refinements for this call only: [`when`](Retrying::when) (which errors are retried)
/// and [`notify`](Retrying::notify) (told before each retry's wait).
///
/// The policy keeps everything else: attempts, backoff, `max_elapsed`, budget, hints, its own
/// `on_retry` callbacks and events. Use the builder for what every call shares, and these for
/// what one call site knows.
///
/// ```
/// use std::time::Duration;
/// use failguard::{Error, Retry, Retryable};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let retry = Retry::new(3)?;
/// let mut attempts = 0;
/// let n = (|| {
///     attempts += 1;
///     let n = attempts;
///     async move { if n < 3 { Err("not yet") } else { Ok(n) } }
/// })
/// .retry(&retry)
/// .when(|e| matches!(e, Error::Inner("not yet")))
/// .notify(|e, delay| eprintln!("{e:?}, retrying in {delay:?}"))
/// .await
/// .unwrap();
/// assert_eq!(n, 3);
/// # Ok(())
/// # }
/// ```
pub trait Retryable<Fut>: FnMut() -> Fut + Sized {
    /// This closure under `policy`: await it, or refine it first with
    /// [`when`](Retrying::when) and [`notify`](Retrying::notify).
    ///
    /// ```
    /// use failguard::{Retry, Retryable};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = Retry::new(2)?;
    /// let out = (|| async { Ok::<_, std::io::Error>(7) }).retry(&retry).await;
    /// assert_eq!(out.unwrap(), 7);
    /// # Ok(())
    /// # }
    /// ```
    fn retry<C, H, N>(self, policy: &Retry<C, H, N>) -> Retrying<Self, &RetryState<C, H, N>> {
        Retrying {
            f: self,
            policy: &policy.state,
            when: (),
            notify: (),
        }
    }
}

impl<F: FnMut() -> Fut, Fut> Retryable<Fut> for F {}

/// A closure about to be retried, made by [`Retryable::retry`]: refine it with
/// [`when`](Self::when) and [`notify`](Self::notify), then `.await` it (it is
/// [`IntoFuture`]). Nothing runs until it is awaited.
///
/// `P` holds the policy; `Wh` and `No` are the refinements (`()` when not given).
///
/// # Cancel safety
///
/// As [`Retry::call`]: dropping the future drops the attempt in flight or the wait; no further
/// attempt is made.
///
/// ```
/// use failguard::{Retry, Retryable};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let retry = Retry::new(2)?;
/// let call = (|| async { Ok::<_, std::io::Error>("done") }).retry(&retry);
/// assert_eq!(call.await.unwrap(), "done");
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug, Clone)]
pub struct Retrying<F, P, Wh = (), No = ()> {
    f: F,
    policy: P,
    when: Wh,
    notify: No,
}

impl<F, Fut, T, E, P, Wh, No> Retrying<F, P, Wh, No>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Retries the errors for which `when` returns `true`, instead of the policy's
    /// [`retry_if`](super::RetryBuilder::retry_if), for this call. It sees the error as the
    /// retry does, a [`failguard::Error<E>`](crate::Error), so it can tell the operation's errors
    /// from failguard's rejections. Successful results are still judged by the policy's
    /// [`retry_on_result`](super::RetryBuilder::retry_on_result); an open circuit is still not
    /// retried sooner than its `retry_after`.
    ///
    /// ```
    /// use std::io::{Error as IoError, ErrorKind};
    /// use failguard::{Error, Retry, Retryable};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = Retry::new(5)?;
    /// let mut calls = 0;
    /// let result = (|| {
    ///     calls += 1;
    ///     async { Err::<(), _>(IoError::from(ErrorKind::PermissionDenied)) }
    /// })
    /// .retry(&retry)
    /// .when(|e| e.inner().is_some_and(|io| io.kind() != ErrorKind::PermissionDenied))
    /// .await;
    /// assert!(matches!(result, Err(Error::Inner(_))));
    /// assert_eq!(calls, 1); // not worth a retry
    /// # Ok(())
    /// # }
    /// ```
    pub fn when<Wh2>(self, when: Wh2) -> Retrying<F, P, Wh2, No>
    where
        Wh2: Fn(&Error<E>) -> bool,
    {
        Retrying {
            f: self.f,
            policy: self.policy,
            when,
            notify: self.notify,
        }
    }

    /// Calls `notify` with the error and the delay before each retry's wait, after the policy's
    /// own `on_retry` callbacks; a successful result retried by the policy's
    /// [`retry_on_result`](super::RetryBuilder::retry_on_result) is not reported here (an
    /// `on_retry` callback sees it).
    ///
    /// ```
    /// use std::{cell::RefCell, time::Duration};
    /// use failguard::{Retry, Retryable, retry::{Backoff, Jitter}};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let retry = Retry::builder()
    ///     .max_attempts(3)
    ///     .backoff(Backoff::exponential(Duration::from_millis(10)).jitter(Jitter::None))
    ///     .build()?;
    /// let waits = RefCell::new(Vec::new());
    /// let _ = (|| async { Err::<(), _>("unavailable") })
    ///     .retry(&retry)
    ///     .notify(|_, delay| waits.borrow_mut().push(delay))
    ///     .await;
    /// assert_eq!(*waits.borrow(), [Duration::from_millis(10), Duration::from_millis(20)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn notify<No2>(self, notify: No2) -> Retrying<F, P, Wh, No2>
    where
        No2: Fn(&Error<E>, Duration),
    {
        Retrying {
            f: self.f,
            policy: self.policy,
            when: self.when,
            notify,
        }
    }
}

impl<'a, F, Fut, T, E, C, H, N, Wh, No> IntoFuture for Retrying<F, &'a RetryState<C, H, N>, Wh, No>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    RetryState<C, H, N>: Decide<T, Error<E>>,
    Wh: CallWhen<Error<E>>,
    No: CallNotify<Error<E>>,
{
    type Output = Result<T, Error<E>>;
    type IntoFuture =
        CallFuture<Retried<OpAttempts<OperationFn<F>>, PerCall<&'a RetryState<C, H, N>, Wh, No>>>;

    #[inline]
    fn into_future(self) -> Self::IntoFuture {
        CallFuture::new(Retried {
            attempts: OpAttempts(OperationFn::new(self.f)),
            policy: PerCall {
                policy: self.policy,
                when: self.when,
                notify: self.notify,
            },
        })
    }
}

/// A retry's decisions with one call's refinements ([`Retrying::when`], [`Retrying::notify`]);
/// the policy of the future a [`Retrying`] becomes. You never use it directly.
///
/// ```
/// use std::future::IntoFuture;
/// use failguard::{Retry, Retryable, parts::{CallFuture, OpAttempts, PerCall, Retried}};
/// # let retry = Retry::new(2)?;
/// // The future, named: a call whose policy is the retry with this call's refinements.
/// let _future: CallFuture<Retried<OpAttempts<_>, PerCall<_, _, ()>>> =
///     (|| async { Ok::<_, std::io::Error>(1) }).retry(&retry).when(|_| true).into_future();
/// # Ok::<(), failguard::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PerCall<P, Wh, No> {
    policy: P,
    when: Wh,
    notify: No,
}

/// Which errors one call retries, overriding the policy: `()` keeps the policy's predicate, a
/// closure `Fn(&E) -> bool` replaces it. Used by [`Retrying::when`]; you never implement it.
///
/// ```
/// use failguard::parts::CallWhen;
/// fn refines<W: CallWhen<&'static str>>(_: W) {}
/// refines(());
/// refines(|e: &&str| e.starts_with("5"));
/// ```
pub trait CallWhen<E> {
    /// `Some(retried?)`, or `None` to ask the policy.
    #[doc(hidden)]
    fn retries(&self, error: &E) -> Option<bool>;
}

impl<E> CallWhen<E> for () {
    #[inline]
    fn retries(&self, _: &E) -> Option<bool> {
        None
    }
}

impl<E, F: Fn(&E) -> bool> CallWhen<E> for F {
    #[inline]
    fn retries(&self, error: &E) -> Option<bool> {
        Some(self(error))
    }
}

/// Who one call tells before each retry's wait: `()` nobody, a closure `Fn(&E, Duration)` that
/// closure. Used by [`Retrying::notify`]; you never implement it.
///
/// ```
/// use std::time::Duration;
/// use failguard::parts::CallNotify;
/// fn refines<N: CallNotify<&'static str>>(_: N) {}
/// refines(());
/// refines(|e: &&str, delay: Duration| eprintln!("{e} in {delay:?}"));
/// ```
pub trait CallNotify<E> {
    /// Tells of a retry of `error` after `delay`.
    #[doc(hidden)]
    fn notify(&self, error: &E, delay: Duration);
}

impl<E> CallNotify<E> for () {
    #[inline]
    fn notify(&self, _: &E, _: Duration) {}
}

impl<E, F: Fn(&E, Duration)> CallNotify<E> for F {
    #[inline]
    fn notify(&self, error: &E, delay: Duration) {
        self(error, delay)
    }
}

impl<T, E, P, Wh, No> Decide<T, E> for PerCall<P, Wh, No>
where
    E: PolicyError,
    P: Decide<T, E>,
    Wh: CallWhen<E>,
    No: CallNotify<E>,
{
    #[inline]
    fn start(&self) -> Option<Instant> {
        self.policy.start()
    }

    #[inline]
    fn wants(&self, outcome: &Result<T, E>) -> Option<RetryReason> {
        if let Err(error) = outcome {
            if let Some(retried) = self.when.retries(error) {
                return retried.then(|| RetryReason::of(error));
            }
        }
        self.policy.wants(outcome)
    }

    fn plan(
        &self,
        outcome: &Result<T, E>,
        reason: RetryReason,
        made: u32,
        prev: Option<Duration>,
        start: Option<Instant>,
        prepare: &mut dyn FnMut(bool) -> bool,
    ) -> Plan {
        let plan = self
            .policy
            .plan(outcome, reason, made, prev, start, prepare);
        if let (Plan::Retry { sleep, .. }, Err(error)) = (plan, outcome) {
            self.notify.notify(error, sleep);
        }
        plan
    }
}
