//! Composition: policies that wrap operations, and policies that wrap policies.
//!
//! Each policy works on an [`Operation`], something that makes one call when asked. The user's
//! closure becomes the innermost operation ([`OperationFn`]), its error lifted once into
//! [`Error<E>`](crate::Error); each policy [`Apply`]s itself around the operation inside it and yields a new
//! operation with the *same* error type, so a stack of any depth returns one flat `Error<E>`.
//!
//! Most policies make one call of their inner operation ([`Operation::poll_once`]); a retry
//! makes one for every attempt
//! ([`OperationMut::poll_mut`](crate::parts::OperationMut::poll_mut)), which is why the user's
//! closure must be `FnMut` only when a retry is in the stack. The types a stack is made of are
//! in [`parts`](crate::parts).
//!
//! # Holding a stack
//!
//! - **Without naming it**, as [`impl Policy<T, E>`](Policy): return it from a function, store
//!   it in a struct generic over `P: Policy<T, E>`, take it in generic code, share it across
//!   tasks. `call` needs no other bound and its future is `Send`. Nothing is boxed and nothing
//!   allocates per call. ([`Policy`] has the example.)
//! - **By its own type**, in a struct or a `static`: `Wrap<Wrap<Retry, CircuitBreaker>, Timeout>`
//!   and so on. Also nothing boxed; this is the way for a stack with a [`Queue`](crate::Queue)
//!   in it, and for closures that are `FnOnce` or futures that are not `Send`.
//! - **Behind one type**, [`BoxPolicy<T, E>`](BoxPolicy), for a stack chosen at run time (from
//!   configuration); a few allocations per call.
//! - **To read a policy's figures** (a breaker's [`snapshot`](crate::CircuitBreaker::snapshot)),
//!   keep a clone of its handle before wrapping it: handles share their state, so the clone sees
//!   every call made through the stack. ([`Wrap::outer`] and [`Wrap::inner`] reach into a stack
//!   held by its type, but a kept clone is simpler and works behind `impl Policy` too.)
//!
//! ```
//! use std::time::Duration;
//! use failguard::{CircuitBreaker, Timeout};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let breaker = CircuitBreaker::builder().name("users").build()?;
//! let policy = breaker.clone().wrap(Timeout::new(Duration::from_secs(1))?);
//! policy.call(|| async { Ok::<_, std::io::Error>(()) }).await.unwrap();
//! assert_eq!(breaker.snapshot().calls, 1); // the kept clone sees the stack's calls
//! # Ok(())
//! # }
//! ```
//!
//! # Admission is lazy
//!
//! A policy decides when its call is first polled, not when the future is built, and it makes
//! the call inside it (calls the operation inside it, or the inner tower service) only once it
//! has admitted the call. A call waiting in an outer bulkhead or queue is not yet known to the
//! policies inside it: an inner breaker judges it when it actually starts, so nothing reaches a
//! dependency through a breaker that opened while the call waited, a call the breaker rejects
//! never takes a place in a bulkhead inside it, and a slow-call clock starts when the call runs.
//! Under a retry each attempt is admitted afresh, and the closure is called only for attempts
//! that were let through. resilience4j and Polly behave the same way.
//!
//! What each tower layer's readiness means:
//!
//! | layer | `poll_ready` | `call` | the future's first poll |
//! |---|---|---|---|
//! | circuit breaker, bulkhead | the inner service's | moves the ready inner service into the future (a clone stays behind) | admits (or waits), then calls the inner service |
//! | retry | the inner service's | the same | makes the first attempt; later attempts wait for readiness again |
//! | timeout, fallback | the inner service's | calls the inner service (nothing to admit) | starts the clock if still pending |
//! | queue | always ready (the queue sheds instead) | submits on a worker | waits for the outcome |
//!
//! # Every permit is a guard
//!
//! A permit (a breaker's probe slot, a bulkhead's slot) is owned, from the moment it is taken
//! until its outcome is recorded, by a value whose `Drop` gives it back. A panic in the user's
//! closure, an inner service's `call` or future, or a classifier unwinds through that value and
//! returns the permit: a half-open breaker never stays stuck on a probe that panicked.
//!
//! # A queue owns what it runs
//!
//! A [`Queue`](crate::Queue) runs its calls on worker tasks, so what it runs must be `'static`.
//! `queue.wrap(inner)` clones the policies in `inner` (cheap handles sharing their state) into
//! each queued operation, so the stack can be used from [`call`](Wrap::call) with borrowed
//! handles, in any shape of chain (`queue.wrap(a).wrap(b)`, `queue.wrap(a.wrap(b))`,
//! `fallback.wrap(queue).wrap(a)`).
//!
//! [`Wrap`] puts one policy around another and is itself a policy: usable with
//! [`call`](Wrap::call), around another policy, and, with the `tower` feature, as one tower layer
//! ([`Wrap::layer`]).
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Error, Fallback, Timeout};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! // Outermost first: a fallback around an overall timeout around a per-attempt timeout.
//! let policy = Fallback::value("cached")
//!     .wrap(Timeout::new(Duration::from_secs(2))?)
//!     .wrap(Timeout::new(Duration::from_millis(500))?);
//!
//! let fast = policy.call(|| async { Ok::<_, std::io::Error>("fresh") }).await;
//! assert_eq!(fast.unwrap(), "fresh");
//!
//! let slow = policy
//!     .call(|| async {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         Ok::<_, std::io::Error>("fresh")
//!     })
//!     .await;
//! assert_eq!(slow.unwrap(), "cached");
//! # Ok(())
//! # }
//! ```

/// Implements [`Policy<T, E>`](crate::Policy) for a policy whose borrowed [`Apply`] output is
/// `$around` (naming `'a` and `Op`), under the bounds in `where [..]`.
macro_rules! typed_policy {
    ([$($generics:tt)*] $policy:ty => $around:ty $(, where [$($bounds:tt)*])?) => {
        impl<T, E, $($generics)*> crate::Policy<T, E> for $policy
        $(where $($bounds)*)?
        {
            type Around<'a, Op>
                = $around
            where
                Self: 'a,
                Op: crate::policy::SendOperation<T, E> + 'a;

            #[inline]
            fn around<'a, Op>(&'a self, op: Op) -> Self::Around<'a, Op>
            where
                Op: crate::policy::SendOperation<T, E> + 'a,
            {
                crate::policy::Apply::apply(self, op)
            }
        }
    };
}
pub(crate) use typed_policy;

/// Puts a policy's inherent `wrap` in its `impl` block; `$make` builds the policy in the
/// example.
macro_rules! wrap_method {
    ($make:literal) => {
        #[doc = concat!(
            "Puts this policy around `inner`: calls go through `self` first, then `inner`. Chains\n",
            "read outermost first: `a.wrap(b).wrap(c)` runs `a(b(c(op)))`. The result, a\n",
            "[`Wrap`](crate::Wrap), is itself a policy: call it, wrap it, or use it as one tower layer.\n",
            "\n",
            "```\n",
            "# use std::time::Duration;\n",
            "# #[tokio::main(flavor = \"current_thread\")]\n",
            "# async fn main() -> Result<(), failguard::ConfigError> {\n",
            "let policy = ", $make, "\n",
            "    .wrap(failguard::Timeout::new(Duration::from_secs(1))?);\n",
            "let value = policy.call(|| async { Ok::<_, std::io::Error>(7) }).await.unwrap();\n",
            "assert_eq!(value, 7);\n",
            "# Ok(())\n",
            "# }\n",
            "```",
        )]
        pub fn wrap<Inner>(self, inner: Inner) -> crate::Wrap<Self, Inner> {
            crate::Wrap { outer: self, inner }
        }
    };
}
pub(crate) use wrap_method;

use std::future::Future;

pub(crate) mod around;
pub(crate) mod boxed;
pub(crate) mod operation;
pub(crate) mod optional;
#[cfg(feature = "tower")]
mod optional_layer;

pub use boxed::{BoxFuture, BoxPolicy};
#[cfg(feature = "tower")]
pub(crate) use operation::ServiceOp;
#[cfg(feature = "tower")]
pub(crate) use operation::ToLayer;
pub(crate) use operation::{
    Applied, Apply, Call, CallFuture, Deferred, FutureOp, Lifted, Operation, OperationFn, Outcome,
    SendOperation,
};
#[cfg(feature = "tower")]
pub use optional_layer::{OptionalFuture, OptionalLayer, OptionalService};

/// A policy (or a stack of them) that calls operations whose futures give `Result<T, E>`:
/// what to write to hold a policy without naming its type.
///
/// Return one as `impl Policy<T, E>`, store one in a struct as `P: Policy<T, E>`, take one in
/// generic code, and call it with [`call`](Policy::call): no other bound is needed. A policy is
/// `Send + Sync` and the call's future is `Send`, so both can cross tasks. Every failguard policy but
/// [`Queue`](crate::Queue), and every [`Wrap`] of them, implements it for every `T` and `E`
/// its predicates and classifiers understand. (A queue runs its operations on its workers, so
/// it takes only `'static` ones; hold a stack with a queue by its own type.)
///
/// Each policy also has an inherent `call`, which is what you get when you hold the policy by
/// its type: it takes `FnOnce` closures where no retry is in the stack, and futures that are not
/// `Send`.
///
/// # Examples
///
/// Returned as `impl Policy`, stored in a struct, called from generic code and from spawned
/// tasks:
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use failguard::{CircuitBreaker, ConfigError, Policy, Retry, Timeout};
///
/// fn policy() -> Result<impl Policy<u32, std::io::Error>, ConfigError> {
///     Ok(Retry::new(3)?
///         .wrap(CircuitBreaker::builder().name("users").build()?)
///         .wrap(Timeout::new(Duration::from_secs(1))?))
/// }
///
/// struct Client<P> {
///     policy: P,
/// }
///
/// impl<P: Policy<u32, std::io::Error>> Client<P> {
///     async fn user_count(&self) -> Result<u32, failguard::Error<std::io::Error>> {
///         self.policy.call(|| async { Ok(42) }).await
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Arc::new(Client { policy: policy()? });
/// let task = tokio::spawn({
///     let client = client.clone();
///     async move { client.user_count().await }
/// });
/// assert_eq!(task.await??, 42);
/// # Ok(())
/// # }
/// ```
///
/// A stack is a `Policy<T, E>` only for the `T` and `E` its classifiers take; the compiler says
/// which one does not fit:
///
/// ```compile_fail,E0631
/// use failguard::{CircuitBreaker, Error, Outcome, Policy};
///
/// fn statuses(r: &Result<u16, Error<std::io::Error>>) -> Outcome {
///     Outcome::of(r)
/// }
/// // A classifier of `u16` statuses cannot judge `String` bodies.
/// fn policy() -> impl Policy<String, std::io::Error> {
///     CircuitBreaker::builder().classify(statuses).build().unwrap()
/// }
/// ```
///
/// A queue is not a `Policy<T, E>`:
///
/// ```compile_fail,E0277
/// fn hold<P: failguard::Policy<u8, std::io::Error>>(_: P) {}
/// hold(failguard::Queue::new(8).unwrap());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a policy for operations that return `Result<{T}, {E}>`",
    label = "not a policy for `Result<{T}, {E}>`",
    note = "a classifier, predicate, fallback or delay hint in the stack may be written for other types than `{T}` and `{E}`",
    note = "a stack holding a `Queue` is not a `Policy<T, E>` (a queue runs only `'static` operations): hold it by its own type"
)]
pub trait Policy<T, E>: Send + Sync {
    /// The operation `Op` with this policy around it.
    type Around<'a, Op>: SendOperation<T, E> + 'a
    where
        Self: 'a,
        Op: SendOperation<T, E> + 'a;

    /// Puts this policy around `op`. You call it only to write a policy of your own.
    fn around<'a, Op>(&'a self, op: Op) -> Self::Around<'a, Op>
    where
        Op: SendOperation<T, E> + 'a;

    /// Calls `f` through the policy: the closure makes the operation's future (again for each
    /// attempt, if a retry is in the stack), and its `Result<T, E>` comes back as
    /// `Result<T, Error<E>>`.
    ///
    /// ```
    /// use failguard::Policy;
    ///
    /// async fn fetch(policy: &impl Policy<String, std::io::Error>) -> Option<String> {
    ///     policy.call(|| async { Ok("body".to_string()) }).await.ok()
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let timeout = failguard::Timeout::new(std::time::Duration::from_secs(1))?;
    /// assert_eq!(fetch(&timeout).await.as_deref(), Some("body"));
    /// # Ok(())
    /// # }
    /// ```
    fn call<'a, F, Fut>(&'a self, f: F) -> CallFuture<Self::Around<'a, OperationFn<F>>>
    where
        F: FnMut() -> Fut + Send + 'a,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        CallFuture::new(self.around(OperationFn::new(f)))
    }

    /// Puts this policy around `inner`: calls go through `self` first, then `inner`. Chains read
    /// outermost first: `a.wrap(b).wrap(c)` runs `a(b(c(op)))`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failguard::{Policy, Timeout};
    ///
    /// fn with_deadline(
    ///     policy: impl Policy<u8, std::io::Error>,
    /// ) -> Result<impl Policy<u8, std::io::Error>, failguard::ConfigError> {
    ///     Ok(Timeout::new(Duration::from_secs(2))?.wrap(policy))
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let policy = with_deadline(failguard::Retry::new(2)?)?;
    /// assert_eq!(policy.call(|| async { Ok(1) }).await.unwrap(), 1);
    /// # Ok(())
    /// # }
    /// ```
    fn wrap<I>(self, inner: I) -> Wrap<Self, I>
    where
        Self: Sized,
        I: Policy<T, E>,
    {
        Wrap { outer: self, inner }
    }
}

impl<T, E, O, I> Policy<T, E> for Wrap<O, I>
where
    O: Policy<T, E>,
    I: Policy<T, E>,
{
    type Around<'a, Op>
        = O::Around<'a, I::Around<'a, Op>>
    where
        Self: 'a,
        Op: SendOperation<T, E> + 'a;

    #[inline]
    fn around<'a, Op>(&'a self, op: Op) -> Self::Around<'a, Op>
    where
        Op: SendOperation<T, E> + 'a,
    {
        self.outer.around(self.inner.around(op))
    }
}

/// One policy around another, itself a policy. Made by `wrap` (every policy has it).
///
/// Cloning it clones both policies, which share their state with the originals.
#[derive(Debug, Clone)]
pub struct Wrap<O, I> {
    pub(crate) outer: O,
    pub(crate) inner: I,
}

impl<O, I> Wrap<O, I> {
    /// The outer policy.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::{Retry, Timeout};
    /// let policy = Retry::new(3)?.wrap(Timeout::new(Duration::from_secs(1))?);
    /// assert_eq!(policy.outer().max_attempts(), 3);
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn outer(&self) -> &O {
        &self.outer
    }

    /// The inner policy.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::{Retry, Timeout};
    /// let policy = Retry::new(3)?.wrap(Timeout::new(Duration::from_secs(1))?);
    /// assert_eq!(policy.inner().duration(), Duration::from_secs(1));
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn inner(&self) -> &I {
        &self.inner
    }

    /// Calls `f` through both policies: the outer one first. The closure may be `FnOnce`
    /// unless a retry is in the stack, which calls it again for every attempt.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::{Fallback, Timeout};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), failguard::ConfigError> {
    /// let policy = Fallback::value(0).wrap(Timeout::new(Duration::from_millis(100))?);
    /// let slow = policy.call(|| std::future::pending::<Result<i32, std::io::Error>>());
    /// assert_eq!(slow.await.unwrap(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn call<'a, F>(&'a self, f: F) -> Call<'a, Self, F>
    where
        &'a Self: Apply<OperationFn<F>>,
    {
        CallFuture::new(self.apply(OperationFn::new(f)))
    }

    /// The stack as one tower layer: `outer` around `inner` around the service. It shares the
    /// policies' state with them.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use failguard::{Error, Fallback, Timeout};
    /// use tower::{Service, ServiceBuilder, ServiceExt};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let policy = Fallback::value(0).wrap(Timeout::new(Duration::from_millis(100))?);
    /// let mut svc = ServiceBuilder::new()
    ///     .layer(policy.layer())
    ///     .map_err(Error::Inner)
    ///     .service_fn(|_: ()| std::future::pending::<Result<i32, std::io::Error>>());
    /// assert_eq!(svc.ready().await?.call(()).await?, 0);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tower")]
    pub fn layer(&self) -> WrapLayer<O::Layer, I::Layer>
    where
        O: ToLayer,
        I: ToLayer,
    {
        WrapLayer {
            outer: self.outer.layer(),
            inner: self.inner.layer(),
        }
    }

    crate::policy::wrap_method!(
        "failguard::Retry::new(2)?.wrap(failguard::Timeout::new(Duration::from_secs(5))?)"
    );
}

#[cfg(feature = "tower")]
impl<O: ToLayer, I: ToLayer> ToLayer for Wrap<O, I> {
    type Layer = WrapLayer<O::Layer, I::Layer>;

    fn layer(&self) -> Self::Layer {
        Wrap::layer(self)
    }
}

/// The tower layer of a [`Wrap`]: `outer` around `inner` around the service.
#[cfg(feature = "tower")]
#[derive(Debug, Clone)]
pub struct WrapLayer<O, I> {
    outer: O,
    inner: I,
}

#[cfg(feature = "tower")]
impl<S, O, I> tower_layer::Layer<S> for WrapLayer<O, I>
where
    I: tower_layer::Layer<S>,
    O: tower_layer::Layer<I::Service>,
{
    type Service = O::Service;

    fn layer(&self, service: S) -> Self::Service {
        self.outer.layer(self.inner.layer(service))
    }
}
