//! Every `tracing` event failguard emits, in one place so names and fields stay stable.
//!
//! Events use the target `failguard` and a dotted name (`timeout.elapsed`); their fields are part
//! of the public contract and listed in the crate docs. Nothing is emitted per successful call.
//! Without the `tracing` feature these functions compile to nothing.

#![cfg_attr(not(feature = "tracing"), allow(unused_variables, unused_imports))]

use std::time::Duration;

use crate::{Name, PolicyError, Rejection};

/// `timeout.elapsed` (WARN): a timeout abandoned a call.
#[inline]
pub(crate) fn timeout_elapsed(name: &Name, after: Duration) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        name: "timeout.elapsed",
        target: "failguard",
        tracing::Level::WARN,
        policy = "timeout",
        name = name.as_str(),
        after_ms = after.as_millis() as u64,
        "call timed out"
    );
}

/// `fallback.applied` (INFO): a fallback replaced an error.
#[inline]
pub(crate) fn fallback_applied<E: PolicyError>(name: &Name, error: &E) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        name: "fallback.applied",
        target: "failguard",
        tracing::Level::INFO,
        policy = "fallback",
        name = name.as_str(),
        rejection = error.rejection().as_ref().map(Rejection::policy),
        "fallback replaced a failed call"
    );
}
