//! The retry loop, written once.
//!
//! A [`Call`] is the state of one retried call and the steps around each of its attempts,
//! in this order:
//!
//! 1. [`poll_ready`](Call::poll_ready): the backoff sleep chosen after the last attempt,
//!    then the guards' admission (breaker, throttle, budget; a throttle's wait is slept on
//!    the call's own timer);
//! 2. the attempt itself, run by the driver, under [`Call::limit`];
//! 3. [`poll_after`](Call::poll_after): classification (the hooks), the guards' verdicts,
//!    the server's hint, the next delay (or why there is none), `notify` and the event,
//!    and the sleep armed for step 1.
//!
//! Drivers only alternate the steps: the code `#[retry]` generates (the attempt is the
//! function's body, a non-`move` async block, so `&mut` arguments are re-borrowed), the
//! [`Retry`](crate::builder::Retry) builder's future, and the blocking loop of a sync `fn`.
//! The [`RetryStream`](crate::stream::RetryStream) takes the same steps around each
//! attempt's first item; only the attempt differs.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::attempt::Attempt;
use crate::backoff::Schedule;
use crate::guard::set::{Admission, Guards, NoGuard, Pending, Permit, Refusals, SetRefusal, Slot};
use crate::guard::{Immediate, Verdict};
use crate::hooks::Hooks;
use crate::observe::{Event, Events, Kind, Meter, Reason};
use crate::policy::Policy;
use crate::testing;
use crate::timer::{Instant, Timer};

/// How an attempt ended, as the hooks see it.
#[doc(hidden)]
#[derive(Debug)]
pub enum Outcome<'a, T, E> {
    /// An `Ok` value.
    Ok(&'a T),
    /// The body's error.
    Err(&'a E),
    /// The attempt ran past its limit; `E::from(Elapsed)`, or nothing with `wrap`.
    TimedOut(Option<&'a E>),
}

impl<T, E> Clone for Outcome<'_, T, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, E> Copy for Outcome<'_, T, E> {}

impl<'a, T, E> Outcome<'a, T, E> {
    /// The outcome of an attempt that returned `result`.
    #[inline(always)]
    pub fn of(result: Result<&'a T, &'a E>, timed_out: bool) -> Self {
        match (result, timed_out) {
            (Ok(value), _) => Outcome::Ok(value),
            (Err(error), false) => Outcome::Err(error),
            (Err(error), true) => Outcome::TimedOut(Some(error)),
        }
    }

    pub(crate) fn error(&self) -> Option<&'a E> {
        match *self {
            Outcome::Err(error) | Outcome::TimedOut(Some(error)) => Some(error),
            Outcome::Ok(_) | Outcome::TimedOut(None) => None,
        }
    }
}

/// The state of one retried call.
///
/// On the happy path (the first attempt succeeds) it is two words and touches nothing: no
/// clock read unless a deadline or `notify` needs the start, no allocation, no random
/// draw. The schedule, the timer and any answer still on its way from a guard are boxed on
/// the first failure.
#[doc(hidden)]
pub struct Call<T: Timer, B: Slot, Th: Slot, U: Slot, S: Start = Option<Instant>> {
    permit: Permit<B, Th, U>,
    start: S,
    slow: SlowBox<T, B, Th, U>,
    // Empty without the `metrics` feature.
    meter: Meter,
}

/// The slow state, dropped by a test inline and the drop itself out of line: a call that
/// ends on its first attempt drops it with one compare and branch (the box's own drop
/// glue, inlined or not, would put a call or the whole `Slow` teardown in every retried
/// function's poll, or make the generated code forget the call behind a drop flag).
struct SlowBox<T: Timer, B: Slot, Th: Slot, U: Slot>(std::mem::ManuallyDrop<Option<Pin<Box<Slow<T, B, Th, U>>>>>);

impl<T: Timer, B: Slot, Th: Slot, U: Slot> SlowBox<T, B, Th, U> {
    const NONE: Self = SlowBox(std::mem::ManuallyDrop::new(None));
}

impl<T: Timer, B: Slot, Th: Slot, U: Slot> std::ops::Deref for SlowBox<T, B, Th, U> {
    type Target = Option<Pin<Box<Slow<T, B, Th, U>>>>;

    #[inline(always)]
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T: Timer, B: Slot, Th: Slot, U: Slot> std::ops::DerefMut for SlowBox<T, B, Th, U> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<T: Timer, B: Slot, Th: Slot, U: Slot> Drop for SlowBox<T, B, Th, U> {
    #[inline(always)]
    fn drop(&mut self) {
        #[cold]
        #[inline(never)]
        fn drop_slow<S>(slow: &mut Option<S>) {
            *slow = None;
        }
        if self.0.is_some() {
            drop_slow(&mut self.0);
        }
    }
}

/// When the first attempt started, kept only by a call that needs it (a deadline, a
/// `notify` hook): `#[retry]` knows at compile time whether its literal policy does.
#[doc(hidden)]
pub trait Start: Copy {
    /// The start of a call, read now if `needed`.
    fn read<C: crate::timer::Clock>(needed: bool) -> Self;
    /// The start, if it was read.
    fn get(self) -> Option<Instant>;
}

impl Start for Option<Instant> {
    #[inline(always)]
    fn read<C: crate::timer::Clock>(needed: bool) -> Self {
        needed.then(C::now)
    }

    #[inline(always)]
    fn get(self) -> Option<Instant> {
        self
    }
}

/// No start: the call has no deadline and no `notify`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct NoStart;

impl Start for NoStart {
    #[inline(always)]
    fn read<C: crate::timer::Clock>(_: bool) -> Self {
        NoStart
    }

    #[inline(always)]
    fn get(self) -> Option<Instant> {
        None
    }
}

pin_project! {
    struct Slow<T: Timer, B: Slot, Th: Slot, U: Slot> {
        schedule: Schedule,
        // Created on the first sleep and re-armed after, so a call allocates one timer.
        #[pin]
        sleep: Option<T::Sleep>,
        // A sleep is armed and not yet over.
        sleeping: bool,
        // Sleeps `testing::instant_sleeps` skipped: the deadline still counts them.
        skipped: Duration,
        pending: Option<Box<Pending<B, Th, U>>>,
        // Between a verdict left pending and its answer: what the attempt decided.
        deciding: Option<Decision>,
        // The retries stopped on a retryable failure (attempts, deadline, hint, a guard).
        gave_up: bool,
    }
}

/// What an attempt decided before its guards' verdicts were all in.
#[derive(Debug, Clone, Copy)]
struct Decision {
    retry: bool,
    hint: Option<Duration>,
    refused: Refusals,
}

impl<T: Timer, B: Slot, Th: Slot, U: Slot, St: Start> std::fmt::Debug for Call<T, B, Th, U, St> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").field("attempt", &self.attempt()).finish_non_exhaustive()
    }
}

impl<T: Timer, B: Slot, Th: Slot, U: Slot, St: Start> Call<T, B, Th, U, St> {
    /// A call about to make its first attempt; the clock is read only if `policy` has a
    /// deadline or `needs_start` (a `notify` hook) says so.
    #[inline(always)]
    pub fn new(policy: &Policy, guards: Guards<B, Th, U>, needs_start: bool) -> Self {
        Self::named(policy, guards, needs_start, "retry")
    }

    /// [`new`](Self::new) for the function `name`, the `fn` label of its metrics.
    #[inline(always)]
    pub fn named(policy: &Policy, guards: Guards<B, Th, U>, needs_start: bool, name: &'static str) -> Self {
        let start = St::read::<T>(needs_start || policy.deadline.is_some());
        Call { permit: Permit::new(guards), start, slow: SlowBox::NONE, meter: Meter::call(name) }
    }

    /// Attempts made so far (1 during the first).
    pub fn attempt(&self) -> u32 {
        self.slow.as_ref().map_or(1, |slow| slow.schedule.attempt())
    }

    /// Whether the call ended on a retryable failure it could not retry (the attempts or
    /// the deadline spent, a hint too long, a guard's refusal): when a fallback applies.
    pub fn gave_up(&self) -> bool {
        self.slow.as_ref().is_some_and(|slow| slow.gave_up)
    }

    /// Time since the first attempt started, the sleeps `testing::instant_sleeps` skipped
    /// included; `None` unless the start was read.
    fn elapsed(&self) -> Option<Duration> {
        let start = self.start.get()?;
        let skipped = self.slow.as_ref().map_or(Duration::ZERO, |slow| slow.skipped);
        Some(T::now().saturating_duration_since(start).saturating_add(skipped))
    }

    fn slow(&mut self) -> Pin<&mut Slow<T, B, Th, U>> {
        self.slow
            .get_or_insert_with(|| {
                Box::pin(Slow {
                    schedule: Schedule::new(),
                    sleep: None,
                    sleeping: false,
                    skipped: Duration::ZERO,
                    pending: None,
                    deciding: None,
                    gave_up: false,
                })
            })
            .as_mut()
    }

    /// Arms the call's timer to end `delay` from now.
    fn arm(&mut self, delay: Duration) {
        let mut slow = self.slow().project();
        match slow.sleep.as_mut().as_pin_mut() {
            Some(sleep) => T::reset(sleep, delay),
            None => slow.sleep.set(Some(T::sleep(delay))),
        }
        *slow.sleeping = true;
    }

    /// Step 1: the sleep chosen after the last attempt, then the guards' admission.
    #[inline]
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SetRefusal<B, Th, U>>> {
        loop {
            if let Some(slow) = self.slow.as_mut() {
                let slow = slow.as_mut().project();
                if *slow.sleeping {
                    if let Some(sleep) = slow.sleep.as_pin_mut() {
                        ready!(sleep.poll(cx));
                    }
                    *slow.sleeping = false;
                }
            }
            // Answers a guard leaves pending need a home; a call without one has no box yet.
            let mut fresh = None;
            let pending = match self.slow.as_mut() {
                Some(slow) => slow.as_mut().project().pending,
                None => &mut fresh,
            };
            let admission = self.permit.poll_admit(pending, cx);
            if fresh.is_some() {
                *self.slow().project().pending = fresh;
            }
            match ready!(admission) {
                Admission::Admitted => return Poll::Ready(Ok(())),
                Admission::Refused(refusal) => {
                    self.meter.gave_up(refusal.reason());
                    return Poll::Ready(Err(refusal));
                }
                // A throttle's wait is not a retry sleep: neither recorded nor skipped.
                Admission::Wait(wait) => {
                    self.meter.throttled(wait);
                    self.arm(wait)
                }
            }
        }
    }

    /// Step 1 as a future.
    pub fn ready(&mut self) -> impl Future<Output = Result<(), SetRefusal<B, Th, U>>> + '_ {
        std::future::poll_fn(move |cx| self.poll_ready(cx))
    }

    /// The limit of the next attempt: the policy's `timeout`, cut to what is left of the
    /// deadline; `None` when there is no timeout.
    #[inline]
    pub fn limit(&self, policy: &Policy) -> Option<Duration> {
        Some(self.cut(policy, policy.timeout?))
    }

    /// `limit` cut to what is left of the policy's deadline.
    #[inline]
    pub(crate) fn cut(&self, policy: &Policy, limit: Duration) -> Duration {
        match (policy.deadline, self.elapsed()) {
            (Some(deadline), Some(elapsed)) => limit.min(deadline.saturating_sub(elapsed)),
            _ => limit,
        }
    }

    /// Step 2's time limit: `attempt` under [`limit`](Self::limit).
    #[inline]
    pub fn timed<F: Future>(&self, policy: &Policy, attempt: F) -> Timed<F, T> {
        let limit = self.limit(policy);
        Timed { attempt, sleep: limit.map(T::sleep), limit: limit.unwrap_or_default() }
    }

    /// Step 3: after an attempt that ended with `outcome`, whether to retry; a retry's sleep
    /// is armed for the next [`poll_ready`](Self::poll_ready).
    ///
    /// Poll it again with the same outcome while it is pending (a guard's verdict on its
    /// way): the hooks are asked once.
    #[inline(always)]
    pub fn poll_after<V, E, H, S>(
        &mut self,
        cx: &mut Context<'_>,
        policy: &Policy,
        outcome: Outcome<'_, V, E>,
        hooks: &mut H,
        events: &mut S,
    ) -> Poll<bool>
    where
        H: Hooks<V, E>,
        S: Events<E>,
    {
        self.step(Some(cx), policy, outcome, hooks, events)
    }

    /// Whether `outcome` ends the call before the hooks, the guards or an event are asked:
    /// a success, with no guard and no `if_ok`. The attribute asks this before it builds
    /// what step 3 needs, so that the happy path builds none of it. Step 3 would only count
    /// the attempt for such a success, first or not (no guard hears it, no event tells
    /// it), so the slow state is not looked at: it is dropped with the call.
    #[inline(always)]
    pub fn ends_at_once<V, E, H: Hooks<V, E>>(&self, outcome: &Outcome<'_, V, E>, _: &H) -> bool {
        let ends = H::OK_ENDS && Permit::<B, Th, U>::UNGUARDED && matches!(outcome, Outcome::Ok(_));
        if ends {
            self.meter.attempt();
        }
        ends
    }

    /// Step 3 with the task's context, or none for a driver that cannot wait (a noop one
    /// is made off the happy path, where it costs nothing).
    #[inline(always)]
    fn step<V, E, H, S>(
        &mut self,
        cx: Option<&mut Context<'_>>,
        policy: &Policy,
        outcome: Outcome<'_, V, E>,
        hooks: &mut H,
        events: &mut S,
    ) -> Poll<bool>
    where
        H: Hooks<V, E>,
        S: Events<E>,
    {
        if self.slow.is_none() {
            // The first attempt: nothing is pending yet. An unguarded success ends the call
            // here, so the happy path is a hook, a branch and the return.
            self.meter.attempt();
            let retry = hooks.retry(&outcome);
            if !retry && Permit::<B, Th, U>::UNGUARDED && matches!(outcome, Outcome::Ok(_)) {
                return Poll::Ready(false);
            }
            return self.judge(cx, policy, outcome, retry, hooks, events);
        }
        self.poll_after_retry(cx, policy, outcome, hooks, events)
    }

    /// [`poll_after`](Self::poll_after) once an attempt has been retried, or a verdict is
    /// pending.
    fn poll_after_retry<V, E, H, S>(
        &mut self,
        cx: Option<&mut Context<'_>>,
        policy: &Policy,
        outcome: Outcome<'_, V, E>,
        hooks: &mut H,
        events: &mut S,
    ) -> Poll<bool>
    where
        H: Hooks<V, E>,
        S: Events<E>,
    {
        let decision = match self.slow.as_mut().and_then(|slow| slow.as_mut().project().deciding.take()) {
            Some(mut decision) => {
                let pending = self.slow().project().pending;
                match Permit::<B, Th, U>::poll_recorded(pending, cx) {
                    Poll::Ready(refused) => decision.refused.add(refused),
                    Poll::Pending => {
                        *self.slow().project().deciding = Some(decision);
                        return Poll::Pending;
                    }
                }
                decision
            }
            None => {
                self.meter.attempt();
                let retry = hooks.retry(&outcome);
                return self.judge(cx, policy, outcome, retry, hooks, events);
            }
        };
        Poll::Ready(self.decide(policy, outcome, decision, hooks, events))
    }

    /// Step 3 once the hooks have said whether to `retry`: the guards' verdicts, then the
    /// decision.
    fn judge<V, E, H, S>(
        &mut self,
        cx: Option<&mut Context<'_>>,
        policy: &Policy,
        outcome: Outcome<'_, V, E>,
        retry: bool,
        hooks: &mut H,
        events: &mut S,
    ) -> Poll<bool>
    where
        H: Hooks<V, E>,
        S: Events<E>,
    {
        let hint = match (retry, outcome) {
            (true, Outcome::Err(error) | Outcome::TimedOut(Some(error))) => hooks.hint(error),
            _ => None,
        };
        let is_ok = matches!(outcome, Outcome::Ok(_));
        let timed_out = matches!(outcome, Outcome::TimedOut(_));
        let verdict = Verdict::new(is_ok, retry, timed_out, hint.is_some());
        let mut fresh = None;
        let pending = match self.slow.as_mut() {
            Some(slow) => slow.as_mut().project().pending,
            None => &mut fresh,
        };
        let refused = self.permit.record(verdict, pending);
        if fresh.is_some() {
            *self.slow().project().pending = fresh;
        }
        let mut decision = Decision { retry, hint, refused };
        if self.slow.as_ref().is_some_and(|slow| Permit::<B, Th, U>::recording(&slow.pending)) {
            let pending = self.slow().project().pending;
            match Permit::<B, Th, U>::poll_recorded(pending, cx) {
                Poll::Ready(refused) => decision.refused.add(refused),
                Poll::Pending => {
                    *self.slow().project().deciding = Some(decision);
                    return Poll::Pending;
                }
            }
        }
        Poll::Ready(self.decide(policy, outcome, decision, hooks, events))
    }

    /// Step 3 for a driver that awaits nothing it need not: whether to retry, or `None`
    /// while a guard's verdict is on its way; then await [`verdicts`](Self::verdicts) and
    /// ask again with the same outcome (the hooks are asked once).
    ///
    /// So the state a driver keeps across its await is the call alone, not the outcome and
    /// the hooks: the generated future stays small.
    #[inline]
    pub fn after_now<V, E, H, S>(
        &mut self,
        policy: &Policy,
        outcome: Outcome<'_, V, E>,
        hooks: &mut H,
        events: &mut S,
    ) -> Option<bool>
    where
        H: Hooks<V, E>,
        S: Events<E>,
    {
        match self.step(None, policy, outcome, hooks, events) {
            Poll::Ready(retry) => Some(retry),
            Poll::Pending => None,
        }
    }

    /// Waits until the verdicts [`after_now`](Self::after_now) left pending are in.
    pub fn verdicts(&mut self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| match self.slow.as_mut() {
            Some(slow) => Permit::<B, Th, U>::poll_verdicts(slow.as_mut().project().pending, cx),
            None => Poll::Ready(()),
        })
    }

    /// The end of step 3: the next delay or why there is none; `notify`, the event, and the
    /// sleep.
    #[inline(always)]
    fn decide<V, E, H, S>(
        &mut self,
        policy: &Policy,
        outcome: Outcome<'_, V, E>,
        decision: Decision,
        hooks: &mut H,
        events: &mut S,
    ) -> bool
    where
        H: Hooks<V, E>,
        S: Events<E>,
    {
        if !decision.retry {
            if let Outcome::Err(_) | Outcome::TimedOut(_) = outcome {
                self.stop(policy, Kind::NotRetried, Reason::NotRetryable, outcome.error(), events);
            }
            return false;
        }
        self.retry(policy, outcome, decision, hooks, events)
    }

    #[cold]
    fn retry<V, E, H, S>(
        &mut self,
        policy: &Policy,
        outcome: Outcome<'_, V, E>,
        decision: Decision,
        hooks: &mut H,
        events: &mut S,
    ) -> bool
    where
        H: Hooks<V, E>,
        S: Events<E>,
    {
        let error = outcome.error();
        if !decision.refused.is_none() {
            *self.slow().project().gave_up = true;
            self.stop(policy, Kind::GaveUp, decision.refused.reason(), error, events);
            return false;
        }
        let attempt = self.attempt();
        let elapsed = self.elapsed();
        let deadline_elapsed = policy.deadline.and(elapsed);
        let delay = match self.slow().project().schedule.advance(policy, decision.hint, deadline_elapsed) {
            Ok(delay) => delay,
            Err(reason) => {
                *self.slow().project().gave_up = true;
                self.stop(policy, Kind::GaveUp, reason, error, events);
                return false;
            }
        };
        self.meter.retry(delay);
        if H::NOTIFY {
            hooks.notify(&Attempt::new(attempt, delay, error, elapsed.unwrap_or_default()));
        }
        events.event(&Event {
            kind: Kind::Retrying,
            attempt,
            max_attempts: policy.attempts,
            delay: Some(delay),
            reason: None,
            error,
        });
        if !delay.is_zero() {
            testing::sleeping(delay);
            if testing::skips_sleeps() {
                let slow = self.slow().project();
                *slow.skipped = slow.skipped.saturating_add(delay);
            } else {
                self.arm(delay);
            }
        }
        true
    }

    #[cold]
    fn stop<E, S: Events<E>>(&self, policy: &Policy, kind: Kind, reason: Reason, error: Option<&E>, events: &mut S) {
        self.meter.gave_up(reason);
        events.event(&Event {
            kind,
            attempt: self.attempt(),
            max_attempts: policy.attempts,
            delay: None,
            reason: Some(reason),
            error,
        });
    }
}

/// The steps of a call without guards: step 1 is only the sleep, and no verdict is ever
/// on its way after an attempt.
impl<T: Timer, St: Start> Call<T, NoGuard, NoGuard, NoGuard, St> {
    /// Step 3: whether to retry.
    #[inline(never)]
    pub fn after<V, E, H, S>(
        &mut self,
        policy: &Policy,
        outcome: Outcome<'_, V, E>,
        hooks: &mut H,
        events: &mut S,
    ) -> bool
    where
        H: Hooks<V, E>,
        S: Events<E>,
    {
        self.after_now(policy, outcome, hooks, events).unwrap_or(false)
    }

    /// The sleep chosen after the last attempt, if any.
    #[inline]
    pub fn pause(&mut self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| match self.poll_ready(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(()),
            Poll::Ready(Err(refused)) => match refused {},
            Poll::Pending => Poll::Pending,
        })
    }
}

/// The steps of a sync `fn`: sleeps block the thread, and only guards that answer at once
/// (in-process ones) are accepted, so no step ever waits on a future.
impl<C: crate::timer::Clock, B: Slot, Th: Slot, U: Slot, St: Start> Call<Blocking<C>, B, Th, U, St>
where
    B::Guard: Immediate,
    Th::Guard: Immediate,
    U::Guard: Immediate,
{
    /// Step 1: the sleep (on the thread), then the guards.
    #[inline]
    pub fn ready_blocking(&mut self) -> Result<(), SetRefusal<B, Th, U>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            let delay = self.slow.as_mut().and_then(|slow| {
                let slow = slow.as_mut().project();
                std::mem::take(slow.sleeping).then(|| slow.schedule.previous())
            });
            if let Some(delay) = delay {
                std::thread::sleep(delay);
            }
            match self.permit.poll_admit(&mut None, &mut cx) {
                Poll::Ready(Admission::Admitted) | Poll::Pending => return Ok(()),
                Poll::Ready(Admission::Refused(refusal)) => {
                    self.meter.gave_up(refusal.reason());
                    return Err(refusal);
                }
                Poll::Ready(Admission::Wait(wait)) => {
                    self.meter.throttled(wait);
                    std::thread::sleep(wait)
                }
            }
        }
    }

    /// Step 1 without guards: the sleep, if any.
    #[inline]
    pub fn pause_blocking(&mut self)
    where
        B: Slot<Guard = ()>,
        Th: Slot<Guard = ()>,
        U: Slot<Guard = ()>,
    {
        let _ = self.ready_blocking();
    }

    /// Step 3: whether to retry.
    #[inline]
    pub fn after_blocking<V, E, H, S>(
        &mut self,
        policy: &Policy,
        outcome: Outcome<'_, V, E>,
        hooks: &mut H,
        events: &mut S,
    ) -> bool
    where
        H: Hooks<V, E>,
        S: Events<E>,
    {
        matches!(self.step(None, policy, outcome, hooks, events), Poll::Ready(true))
    }
}

/// The timer of a sync `fn`: its clock, with sleeps that block the thread (taken by
/// [`Call::ready_blocking`], never awaited).
#[doc(hidden)]
#[derive(Debug)]
pub struct Blocking<C>(std::marker::PhantomData<C>);

impl<C: crate::timer::Clock> crate::timer::Clock for Blocking<C> {
    fn now() -> Instant {
        C::now()
    }
}

impl<C: crate::timer::Clock> Timer for Blocking<C> {
    type Sleep = std::future::Ready<()>;

    fn sleep(_: Duration) -> Self::Sleep {
        std::future::ready(())
    }
}

pin_project! {
    /// An attempt under a time limit: `Err(Elapsed)` once the limit passes first.
    #[doc(hidden)]
    pub struct Timed<F, T: Timer> {
        #[pin]
        attempt: F,
        #[pin]
        sleep: Option<T::Sleep>,
        limit: Duration,
    }
}

impl<F, T: Timer> Timed<F, T> {
    /// `attempt` under `limit` (none: untimed), for a driver without a [`Call`] (hedging).
    pub(crate) fn new(attempt: F, limit: Option<Duration>) -> Self {
        Timed { attempt, sleep: limit.map(T::sleep), limit: limit.unwrap_or_default() }
    }
}

impl<F: Future, T: Timer> Future for Timed<F, T> {
    type Output = Result<F::Output, crate::Elapsed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.attempt.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match this.sleep.as_pin_mut() {
            Some(sleep) => sleep.poll(cx).map(|()| Err(crate::Elapsed::new(*this.limit))),
            None => Poll::Pending,
        }
    }
}
