//! [`Keyed`] as a tower layer: each request through its key's instance.

use std::{
    borrow::Borrow,
    fmt,
    hash::Hash,
    marker::PhantomData,
    task::{Context, Poll},
};

use tower_layer::Layer;
use tower_service::Service;

use super::{Keyed, KeyedPolicy};
use crate::{
    lift::{LiftError, LiftedError},
    policy::{Apply, CallFuture, Operation, ServiceOp},
};

/// A [`Keyed`] container as a tower [`Layer`]: each request goes through the instance of the
/// key its key function finds, as through that policy's own layer. Made by [`Keyed::layer`]
/// (a key borrowed from the request) or [`Keyed::layer_owned`] (a key made from it).
///
/// Every clone of the layer, every service it makes and the container it came from share one
/// map. The service's error type must implement [`PolicyError`](crate::PolicyError), or be
/// `Infallible`.
///
/// # Examples
///
/// A breaker per host, in front of an HTTP client:
///
/// ```
/// use failguard::{CircuitBreaker, Error, keyed::Keyed};
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let breakers: Keyed<String, _> = Keyed::builder(CircuitBreaker::builder().build()?)
///     .name_each(|host: &String| host.clone())
///     .build()?;
/// let mut client = ServiceBuilder::new()
///     .layer(breakers.layer(|req: &http::Request<()>| req.uri().host().unwrap_or("")))
///     .service_fn(|req: http::Request<()>| async move {
///         Ok::<_, Error<std::io::Error>>(req.uri().host().unwrap_or("").len())
///     });
/// let req = http::Request::get("http://api.example.com/users").body(())?;
/// assert_eq!(client.ready().await?.call(req).await?, 15);
/// assert_eq!(breakers.get("api.example.com").snapshot().calls, 1);
/// # Ok(())
/// # }
/// ```
pub struct KeyedLayer<K, P, F, Q: ?Sized> {
    keyed: Keyed<K, P>,
    key_of: F,
    _key: PhantomData<fn() -> Box<Q>>,
}

impl<K, P, F: Clone, Q: ?Sized> Clone for KeyedLayer<K, P, F, Q> {
    fn clone(&self) -> Self {
        Self {
            keyed: self.keyed.clone(),
            key_of: self.key_of.clone(),
            _key: PhantomData,
        }
    }
}

impl<K, P, F, Q: ?Sized> fmt::Debug for KeyedLayer<K, P, F, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedLayer")
            .field("keyed", &self.keyed)
            .finish_non_exhaustive()
    }
}

/// A key function that makes the key from the request (for [`Keyed::layer_owned`]): the key
/// type `K` itself plays the part of the borrowed key.
#[derive(Debug, Clone, Copy)]
pub struct OwnedKey<F>(F);

impl<K, P> Keyed<K, P>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    P: KeyedPolicy,
{
    /// A tower layer that sends each request through the instance of the key `key_of` finds in
    /// it, borrowed from the request (no allocation per request). Give a key to every request
    /// (`.unwrap_or("")` for a missing host, say): requests with one key share one instance.
    ///
    /// ```
    /// use failguard::{RateLimiter, keyed::Keyed};
    /// let limits: Keyed<String, _> =
    ///     Keyed::builder(RateLimiter::builder().per_second(100).build()?).build()?;
    /// let layer = limits.layer(|req: &http::Request<()>| {
    ///     req.headers().get("x-tenant").and_then(|v| v.to_str().ok()).unwrap_or("anonymous")
    /// });
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn layer<Req, Q, F>(&self, key_of: F) -> KeyedLayer<K, P, F, Q>
    where
        F: for<'r> Fn(&'r Req) -> &'r Q,
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        KeyedLayer {
            keyed: self.clone(),
            key_of,
            _key: PhantomData,
        }
    }

    /// A tower layer that sends each request through the instance of the key `key_of` makes
    /// from it: for keys that are cheap to make (numbers, addresses).
    ///
    /// ```
    /// use failguard::{Bulkhead, keyed::Keyed};
    /// let bulkheads: Keyed<u64, _> = Keyed::builder(Bulkhead::new(4)?).build()?;
    /// let layer = bulkheads.layer_owned(|req: &http::Request<()>| {
    ///     req.headers()
    ///         .get("x-tenant-id")
    ///         .and_then(|v| v.to_str().ok()?.parse().ok())
    ///         .unwrap_or(0u64)
    /// });
    /// # let _ = layer;
    /// # Ok::<(), failguard::ConfigError>(())
    /// ```
    pub fn layer_owned<Req, F>(&self, key_of: F) -> KeyedLayer<K, P, OwnedKey<F>, K>
    where
        F: Fn(&Req) -> K,
    {
        KeyedLayer {
            keyed: self.clone(),
            key_of: OwnedKey(key_of),
            _key: PhantomData,
        }
    }
}

impl<S, K, P, F: Clone, Q: ?Sized> Layer<S> for KeyedLayer<K, P, F, Q> {
    type Service = KeyedService<S, K, P, F, Q>;

    fn layer(&self, inner: S) -> Self::Service {
        KeyedService {
            inner,
            keyed: self.keyed.clone(),
            key_of: self.key_of.clone(),
            _key: PhantomData,
        }
    }
}

/// A tower [`Service`] that sends each request through its key's instance; made by
/// [`KeyedLayer`].
///
/// Readiness is the inner service's. `call` finds the key's instance (made now for a new key),
/// moves the ready inner service into the future (leaving a clone behind, which is why the
/// inner service must be `Clone`), and the instance admits the call when the future is first
/// polled, as its own layer would.
pub struct KeyedService<S, K, P, F, Q: ?Sized> {
    inner: S,
    keyed: Keyed<K, P>,
    key_of: F,
    _key: PhantomData<fn() -> Box<Q>>,
}

impl<S: Clone, K, P, F: Clone, Q: ?Sized> Clone for KeyedService<S, K, P, F, Q> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            keyed: self.keyed.clone(),
            key_of: self.key_of.clone(),
            _key: PhantomData,
        }
    }
}

impl<S: fmt::Debug, K, P, F, Q: ?Sized> fmt::Debug for KeyedService<S, K, P, F, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedService")
            .field("inner", &self.inner)
            .field("keyed", &self.keyed)
            .finish_non_exhaustive()
    }
}

impl<S, K, P, F, Q, Req> Service<Req> for KeyedService<S, K, P, F, Q>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    K: Hash + Eq + Clone + Send + Sync + 'static + Borrow<Q>,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    F: for<'r> Fn(&'r Req) -> &'r Q,
    P: KeyedPolicy + Apply<ServiceOp<S, Req>>,
    P::Output: Operation<Ok = S::Response, Error = LiftedError<S::Error>>,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<P::Output>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let policy = self.keyed.get((self.key_of)(&req));
        CallFuture::new(policy.apply(ServiceOp::take_ready(&mut self.inner, req)))
    }
}

impl<S, K, P, F, Req> Service<Req> for KeyedService<S, K, P, OwnedKey<F>, K>
where
    S: Service<Req> + Clone,
    S::Error: LiftError,
    K: Hash + Eq + Clone + Send + Sync + 'static,
    F: Fn(&Req) -> K,
    P: KeyedPolicy + Apply<ServiceOp<S, Req>>,
    P::Output: Operation<Ok = S::Response, Error = LiftedError<S::Error>>,
{
    type Response = S::Response;
    type Error = LiftedError<S::Error>;
    type Future = CallFuture<P::Output>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(LiftError::lift)
    }

    #[inline]
    fn call(&mut self, req: Req) -> Self::Future {
        let policy = self.keyed.get(&(self.key_of.0)(&req));
        CallFuture::new(policy.apply(ServiceOp::take_ready(&mut self.inner, req)))
    }
}
