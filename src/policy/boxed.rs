//! A stack of policies with its type erased, for stacks chosen at run time.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use super::Policy;
use crate::Error;

/// A boxed, `Send` future, as [`BoxPolicy::call`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The operation a [`BoxPolicy`] hands to the stack inside it: the caller's closure, boxed.
type DynOp<'a, T, E> = Box<dyn FnMut() -> BoxFuture<'a, Result<T, E>> + Send + 'a>;

/// Any stack of policies that can call an operation with `Ok = T` and `Err = E`, as a trait
/// object; what a [`BoxPolicy`] holds. Implemented for every [`Policy<T, E>`](Policy); you do
/// not implement it.
pub trait DynPolicy<T, E>: Send + Sync {
    /// Calls the boxed operation through the stack.
    fn call_dyn<'a>(&'a self, op: DynOp<'a, T, E>) -> BoxFuture<'a, Result<T, Error<E>>>
    where
        T: 'a,
        E: 'a;
}

impl<P, T, E> DynPolicy<T, E> for P
where
    P: Policy<T, E>,
{
    fn call_dyn<'a>(&'a self, op: DynOp<'a, T, E>) -> BoxFuture<'a, Result<T, Error<E>>>
    where
        T: 'a,
        E: 'a,
    {
        Box::pin(Policy::call(self, op))
    }
}

/// A stack of policies behind one type, `BoxPolicy<T, E>`: for a stack chosen at run time (from
/// configuration), or stored where naming its full type would be a chore.
///
/// It calls operations whose future gives `Result<T, E>`, and answers `Result<T, Error<E>>`,
/// like the stack inside it. Cloning it is cheap and shares the stack (and so the breaker's
/// window, the bulkhead's permits). The price of erasing the type is a few allocations per call
/// (the closure, each attempt's future and the call itself are boxed); a stack held by its own
/// type, or as `impl Policy<T, E>` in generic code, allocates nothing.
///
/// It holds any [`Policy<T, E>`](Policy): every stack but one with a [`Queue`](crate::Queue)
/// in it, which runs only `'static` operations.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use failguard::{CircuitBreaker, Retry, Timeout, policy::BoxPolicy};
///
/// struct Client {
///     policy: BoxPolicy<u32, std::io::Error>,
/// }
///
/// fn policy(retries: bool) -> Result<BoxPolicy<u32, std::io::Error>, failguard::ConfigError> {
///     let breaker = CircuitBreaker::builder().build()?;
///     let timeout = Timeout::new(Duration::from_secs(1))?;
///     Ok(if retries {
///         BoxPolicy::new(Retry::new(3)?.wrap(breaker).wrap(timeout))
///     } else {
///         BoxPolicy::new(breaker.wrap(timeout))
///     })
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), failguard::ConfigError> {
/// let client = Client { policy: policy(true)? };
/// let mut failures = 1;
/// let n = client
///     .policy
///     .call(|| {
///         failures -= 1;
///         let fail = failures >= 0;
///         async move { if fail { Err(std::io::Error::other("flaky")) } else { Ok(7) } }
///     })
///     .await
///     .unwrap();
/// assert_eq!(n, 7);
/// # Ok(())
/// # }
/// ```
pub struct BoxPolicy<T, E> {
    inner: Arc<dyn DynPolicy<T, E>>,
}

impl<T, E> BoxPolicy<T, E> {
    /// Erases the type of `policy`, a single policy or a stack.
    pub fn new<P>(policy: P) -> Self
    where
        P: DynPolicy<T, E> + 'static,
    {
        Self {
            inner: Arc::new(policy),
        }
    }

    /// Calls `f` through the stack: the closure makes the operation's future (again for each
    /// attempt, if a retry is in the stack), and its `Result<T, E>` comes back as
    /// `Result<T, Error<E>>`.
    pub fn call<'a, F, Fut>(&'a self, mut f: F) -> BoxFuture<'a, Result<T, Error<E>>>
    where
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, E>> + Send + 'a,
    {
        self.inner.call_dyn(Box::new(move || Box::pin(f())))
    }
}

impl<T, E> Clone for BoxPolicy<T, E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T, E> fmt::Debug for BoxPolicy<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxPolicy").finish_non_exhaustive()
    }
}
