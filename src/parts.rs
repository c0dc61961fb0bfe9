//! The parts a stack is made of: the operation and call-state types each policy builds, and the
//! traits that join them.
//!
//! You meet these in compiler messages and in a stack's full type, and you implement the traits
//! to write a policy of your own; you do not need them to use failguard. Holding a stack as
//! [`impl Policy<T, E>`](crate::Policy) names none of them.
//!
//! - **Operations**: an [`Operation`] is what a policy protects; [`OperationFn`] is your
//!   closure, [`FutureOp`] a future already made, [`ServiceOp`] a tower service and one request.
//!   Each policy [`Apply`]s itself around one and gives another: [`Guarded`] (a breaker),
//!   [`Bulkheaded`], [`AdaptiveLimited`], [`Throttling`], [`Timed`], [`WithFallback`], [`Retried`], [`Queued`].
//! - **Call states**: [`CallFuture`] drives one call of an operation; each policy's part of it is
//!   its call state ([`BreakerCall`], [`BulkheadCall`], [`AdaptiveCall`], [`ThrottleCall`], [`TimeoutCall`], [`FallbackCall`],
//!   [`RetryCall`]), inert until polled, which is what makes admission lazy (see
//!   [`policy`](crate::policy)).
//! - **Writing a policy**: implement [`Applied`] for your operation type (its one
//!   `poll_with`), [`Apply`] for a reference to your policy, [`Around`] for chains, and
//!   [`Policy`](crate::Policy) to be held as `impl Policy<T, E>`.
//!
//! ```
//! use std::time::Duration;
//! use failguard::{Timeout, parts::{CallFuture, Timed, OperationFn}};
//!
//! // A stack's call future by its full type, as a struct field might need it.
//! type TimedCall<'a, F> = CallFuture<Timed<OperationFn<F>, &'a Timeout>>;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), failguard::ConfigError> {
//! let timeout = Timeout::new(Duration::from_secs(1))?;
//! let call: TimedCall<'_, _> = timeout.call(|| async { Ok::<_, std::io::Error>(3) });
//! assert_eq!(call.await.unwrap(), 3);
//! # Ok(())
//! # }
//! ```

pub use crate::adaptive::core::AdaptiveState;
pub use crate::adaptive::future::{AdaptiveCall, AdaptiveLimited};
pub use crate::breaker::core::BreakerState;
pub use crate::breaker::future::{BreakerCall, Guarded};
pub use crate::bulkhead::core::BulkheadState;
pub use crate::bulkhead::future::{BulkheadCall, Bulkheaded};
#[cfg(feature = "tower")]
pub use crate::fallback::layer::{ServiceAction, ServiceHandler};
pub use crate::fallback::{
    action::{Action, Handler},
    future::{FallbackCall, WithFallback},
};
#[cfg(feature = "tower")]
pub use crate::policy::operation::{ServiceOp, ToLayer};
pub use crate::policy::{
    around::{Around, Chain, ToOwnedPolicy},
    boxed::DynPolicy,
    operation::{
        Applied, Apply, Call, CallFuture, Deferred, FutureOp, Lifted, Operation, OperationFn,
        OperationMut, Outcome, SendOperation,
    },
    optional::{Optional, OptionalCall},
};
pub use crate::queue::apply::Queued;
pub use crate::rate_limit::{
    core::RateLimitState,
    future::{Limited, RateLimitCall},
};
#[cfg(feature = "tower")]
pub use crate::retry::layer::ServiceAttempts;
pub use crate::retry::{
    core::{Decide, RetryState},
    event::{AddCallback, Notify},
    future::{Attempts, OpAttempts, Retried, RetryCall},
    retryable::{CallNotify, CallWhen, PerCall},
};
pub use crate::throttle::core::ThrottleState;
pub use crate::throttle::future::{ThrottleCall, Throttling};
pub use crate::timeout::future::{Timed, TimeoutCall};
