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

/// `queue.shed` (WARN): a queue failed an item instead of running it. `reason` is one of
/// `"rejected_newest"`, `"dropped_oldest"`, `"timed_out"`, `"closed"`; `queued` is the number of
/// items waiting after the decision; `retry_after_ms` is the estimated wait a `QueueFull`
/// carries (the first two reasons, once an item has run).
#[inline]
pub(crate) fn queue_shed(
    name: &Name,
    reason: &'static str,
    queued: usize,
    retry_after: Option<Duration>,
) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        name: "queue.shed",
        target: "failguard",
        tracing::Level::WARN,
        policy = "queue",
        name = name.as_str(),
        reason,
        queued = queued as u64,
        retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
        "queue shed an item"
    );
}

/// `queue.panicked` (ERROR): an item's work panicked on a queue worker; its caller gets
/// `QueueClosed` and the worker keeps serving.
#[inline]
pub(crate) fn queue_panicked(name: &Name) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        name: "queue.panicked",
        target: "failguard",
        tracing::Level::ERROR,
        policy = "queue",
        name = name.as_str(),
        "queued work panicked"
    );
}

/// `bulkhead.rejected` (WARN): a bulkhead had no permit for a call. `retry_after_ms` is the
/// rejection's estimated wait, when the bulkhead has one.
#[inline]
pub(crate) fn bulkhead_rejected(
    name: &Name,
    reason: crate::error::BulkheadFullReason,
    max_concurrent: usize,
    retry_after: Option<Duration>,
) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        name: "bulkhead.rejected",
        target: "failguard",
        tracing::Level::WARN,
        policy = "bulkhead",
        name = name.as_str(),
        reason = reason.as_str(),
        max_concurrent = max_concurrent as u64,
        retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
        "bulkhead rejected a call"
    );
}

/// `breaker.transition` (WARN when opening, INFO otherwise): a circuit breaker changed state.
#[inline]
pub(crate) fn breaker_transition(change: &crate::breaker::StateChange) {
    #[cfg(feature = "tracing")]
    {
        macro_rules! transition {
            ($level:expr) => {
                tracing::event!(
                    name: "breaker.transition",
                    target: "failguard",
                    $level,
                    policy = "circuit-breaker",
                    name = change.name.as_str(),
                    from = change.from.as_str(),
                    to = change.to.as_str(),
                    failure_rate = change.failure_rate,
                    slow_call_rate = change.slow_call_rate,
                    "circuit breaker changed state"
                )
            };
        }
        use crate::breaker::State;
        if matches!(change.to, State::Open | State::ForcedOpen) {
            transition!(tracing::Level::WARN);
        } else {
            transition!(tracing::Level::INFO);
        }
    }
}

/// `breaker.rejected` (DEBUG: an open breaker rejects every call, and WARN would flood logs): a
/// circuit breaker rejected a call.
#[inline]
pub(crate) fn breaker_rejected(name: &Name, retry_after: Option<Duration>) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        name: "breaker.rejected",
        target: "failguard",
        tracing::Level::DEBUG,
        policy = "circuit-breaker",
        name = name.as_str(),
        retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
        "circuit breaker rejected a call"
    );
}

/// `retry.attempt` (INFO): a retry is about to wait `delay`, then make attempt number `attempt`.
#[inline]
pub(crate) fn retry_attempt(
    name: &Name,
    attempt: u32,
    delay: Duration,
    reason: crate::retry::RetryReason,
) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        name: "retry.attempt",
        target: "failguard",
        tracing::Level::INFO,
        policy = "retry",
        name = name.as_str(),
        attempt,
        delay_ms = delay.as_millis() as u64,
        reason = reason.as_str(),
        rejection = match reason {
            crate::retry::RetryReason::Rejection(policy) => Some(policy),
            _ => None,
        },
        "retrying"
    );
}

/// `retry.exhausted` (WARN): a retry gave up and returned the last outcome. `reason` is one of
/// `"max_attempts"`, `"max_elapsed"`, `"retry_after_beyond_cap"`, `"not_replayable"`.
#[inline]
pub(crate) fn retry_exhausted(name: &Name, attempts: u32, reason: &'static str) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        name: "retry.exhausted",
        target: "failguard",
        tracing::Level::WARN,
        policy = "retry",
        name = name.as_str(),
        attempts,
        reason,
        "retries exhausted"
    );
}

/// `retry.budget_exhausted` (WARN): the retry budget had no retry left, so the retry returned
/// the last outcome after `attempts` attempts.
#[inline]
pub(crate) fn retry_budget_exhausted(name: &Name, attempts: u32) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        name: "retry.budget_exhausted",
        target: "failguard",
        tracing::Level::WARN,
        policy = "retry",
        name = name.as_str(),
        attempts,
        "retry budget exhausted"
    );
}
