//! Extension methods that put a policy around a future you already have.

use std::future::Future;

use crate::{
    Timeout,
    policy::{CallFuture, Deferred, FutureOp, Lifted},
    timeout::{Timed, TimeoutCall},
};

/// Policies as methods on futures, in the spirit of `tokio_util` and `backon`.
///
/// These are thin adapters: `future.timeout(&t)` runs the same [`TimeoutCall`](crate::timeout::TimeoutCall) as
/// [`Timeout::call`], and lifts the future's error into [`Error::Inner`](crate::Error::Inner).
/// To stack several policies, compose them with [`Policy::wrap`](crate::Policy::wrap) instead,
/// which keeps the error flat.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{FutureExt, Timeout};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let timeout = Timeout::new(Duration::from_millis(10))?;
/// let slow = async {
///     tokio::time::sleep(Duration::from_secs(1)).await;
///     Ok::<_, std::io::Error>(())
/// };
/// assert!(slow.timeout(&timeout).await.unwrap_err().is_rejection());
/// # Ok(())
/// # }
/// ```
pub trait FutureExt: Future + Sized {
    /// Waits for this future at most `timeout`'s duration.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::FutureExt;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let timeout = failguard::Timeout::new(Duration::from_secs(1))?;
    /// let n = async { Ok::<_, std::io::Error>(5) }.timeout(&timeout).await?;
    /// assert_eq!(n, 5);
    /// # Ok(())
    /// # }
    /// ```
    fn timeout<T, E>(self, timeout: &Timeout) -> CallFuture<Timed<FutureOp<Lifted<Self>>, Timeout>>
    where
        Self: Future<Output = Result<T, E>>,
    {
        let op = Timed {
            op: FutureOp::made(),
            timeout: timeout.clone(),
        };
        CallFuture::from_parts(op, TimeoutCall::lent(Deferred::made(Lifted::new(self))))
    }
}

impl<F: Future> FutureExt for F {}
