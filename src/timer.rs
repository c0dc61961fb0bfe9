//! A tokio sleep made only when a call first needs one, shared by the policies that wait:
//! a call ready on its first poll (a timeout's happy path, an admitted bulkhead or rate-limiter
//! call) never touches the timer wheel.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

pin_project! {
    #[project = LazySleepProj]
    #[derive(Debug)]
    pub(crate) enum LazySleep {
        Unarmed,
        Armed { #[pin] sleep: Sleep },
    }
}

impl LazySleep {
    /// Arms the timer to fire after `duration`, unless it is armed already.
    #[inline]
    pub(crate) fn arm_once(mut self: Pin<&mut Self>, duration: Duration) {
        if let LazySleepProj::Unarmed = self.as_mut().project() {
            self.set(LazySleep::Armed {
                sleep: tokio::time::sleep(duration),
            });
        }
    }

    /// Arms the timer to fire at `deadline`.
    #[inline]
    pub(crate) fn arm_at(mut self: Pin<&mut Self>, deadline: Instant) {
        self.set(LazySleep::Armed {
            sleep: tokio::time::sleep_until(deadline),
        });
    }

    /// Polls the armed timer.
    ///
    /// # Panics
    ///
    /// If the timer was never armed: a call polls it only in the phase that armed it.
    #[inline]
    pub(crate) fn poll_fired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.project() {
            LazySleepProj::Armed { sleep } => sleep.poll(cx),
            LazySleepProj::Unarmed => unreachable!("a timer polled before it was armed"),
        }
    }
}

thread_local! {
    /// Set while a failguard timeout drops the call it cut off.
    static EXPIRING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `drop_call` (which drops a call whose deadline passed) so that the policies inside it
/// can tell, from their own `Drop`, that they are being cut off by a timeout rather than
/// cancelled by their caller: an adaptive limit counts the first as a drop, the second nowhere.
pub(crate) fn expiring<R>(drop_call: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            EXPIRING.with(|e| e.set(self.0));
        }
    }
    // Restored on the way out, panics included, so nested timeouts compose.
    let _reset = Reset(EXPIRING.with(|e| e.replace(true)));
    drop_call()
}

/// Whether the call being dropped now is being cut off by a timeout (see [`expiring`]).
pub(crate) fn is_expiring() -> bool {
    EXPIRING.with(|e| e.get())
}
