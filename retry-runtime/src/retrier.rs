//! The state a retried call keeps between attempts.

use std::pin::Pin;
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::backoff::Schedule;
use crate::clock::{self, Instant, Sleep};
use crate::policy::Policy;
use crate::testing;

pin_project! {
    struct Retrying {
        schedule: Schedule,
        // Created on the first sleep and re-armed after, so a call allocates at most once.
        #[pin]
        sleep: Option<Sleep>,
    }
}

/// The state of an `async` retried call.
///
/// One pointer on the happy path: the schedule and the timer are boxed on the first
/// failure, so a call that succeeds at once allocates nothing, reads no clock and draws no
/// random number, and its future grows by 8 bytes.
#[derive(Default)]
pub struct AsyncRetrier {
    retrying: Option<Pin<Box<Retrying>>>,
}

impl std::fmt::Debug for AsyncRetrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRetrier").field("attempt", &self.attempt()).finish()
    }
}

impl AsyncRetrier {
    /// A call about to make its first attempt.
    pub const fn new() -> Self {
        AsyncRetrier { retrying: None }
    }

    /// Attempts made so far.
    pub fn attempt(&self) -> u32 {
        self.retrying.as_ref().map_or(1, |r| r.schedule.attempt())
    }

    /// After a retryable failure: the delay before the next attempt, or `None` when the
    /// policy has no attempt left or the deadline would pass (see [`Schedule::advance`]).
    /// `start` is the first call's start, read only when a deadline or a hook needs it.
    #[cold]
    pub fn next_delay(&mut self, policy: &Policy, hint: Option<Duration>, start: Option<Instant>) -> Option<Duration> {
        if self.attempt() >= policy.attempts {
            return None;
        }
        let retrying =
            self.retrying.get_or_insert_with(|| Box::pin(Retrying { schedule: Schedule::new(), sleep: None }));
        retrying.as_mut().project().schedule.advance(policy, hint, elapsed(policy, start))
    }

    /// The sleep before the next attempt, or `None` when there is nothing to wait for.
    pub fn sleep(&mut self, delay: Duration) -> Option<Pin<&mut Sleep>> {
        if delay.is_zero() {
            return None;
        }
        testing::sleeping(delay);
        let mut slot = self.retrying.as_mut()?.as_mut().project().sleep;
        if slot.is_none() {
            slot.set(Some(clock::idle_sleep()));
        }
        let mut sleep = slot.as_pin_mut()?;
        clock::arm(sleep.as_mut(), delay);
        Some(sleep)
    }
}

/// The state of a blocking retried call: the schedule, on the stack.
#[derive(Debug, Default)]
pub struct BlockingRetrier {
    schedule: Schedule,
}

impl BlockingRetrier {
    /// A call about to make its first attempt.
    pub const fn new() -> Self {
        BlockingRetrier { schedule: Schedule::new() }
    }

    /// Attempts made so far.
    pub fn attempt(&self) -> u32 {
        self.schedule.attempt()
    }

    /// After a retryable failure: the delay before the next attempt, or `None`.
    #[cold]
    pub fn next_delay(&mut self, policy: &Policy, hint: Option<Duration>, start: Option<Instant>) -> Option<Duration> {
        self.schedule.advance(policy, hint, elapsed(policy, start))
    }

    /// Blocks the thread for `delay`.
    pub fn sleep(&mut self, delay: Duration) {
        if !delay.is_zero() {
            testing::sleeping(delay);
            std::thread::sleep(delay);
        }
    }
}

/// Time since `start`, read only when the policy has a deadline to check it against.
fn elapsed(policy: &Policy, start: Option<Instant>) -> Option<Duration> {
    policy.deadline?;
    Some(clock::now().saturating_duration_since(start?))
}
