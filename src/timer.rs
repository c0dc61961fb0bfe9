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
