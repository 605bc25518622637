//! Hedged calls: after a delay with no answer another copy of the call is sent, and the
//! first success wins (Dean and Barroso, "The Tail at Scale"; gRPC's `hedgingPolicy`).
//!
//! ```
//! use std::time::Duration;
//! use steadfast::Policy;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let mut sent = 0;
//! let answer: Result<&str, std::io::Error> = Policy::new()
//!     .attempts(3)
//!     .retry(|| {
//!         sent += 1;
//!         // The first copy hangs; the hedge sent 300ms later answers in 10ms.
//!         let delay = if sent == 1 { Duration::from_secs(60) } else { Duration::from_millis(10) };
//!         async move {
//!             tokio::time::sleep(delay).await;
//!             Ok("answer")
//!         }
//!     })
//!     .hedge(Duration::from_millis(300))
//!     .await;
//! assert_eq!(answer.unwrap(), "answer");
//! assert_eq!(sent, 2);
//! # }
//! ```
//!
//! The rules:
//!
//! - The original is sent at once, then another copy each time the hedge delay passes with
//!   no answer, up to the policy's `attempts` copies in all (gRPC's `maxAttempts`). The
//!   policy's backoff does not apply: hedges are not retries after a sleep.
//! - The first `Ok` wins and every other copy is dropped at once. An `Ok` that `if_ok`
//!   rejects does not win; it counts as a retryable failure.
//! - A retryable error (the hooks decide, as for a retry) sends the next copy at once (after
//!   the server's `retry_after` hint, if it gave one). An error that is not retried ends the
//!   call with that error and drops the other copies. When every copy has failed the call
//!   returns the last error.
//! - Guards: each copy is admitted like an attempt (a breaker's and a throttle's permit per
//!   copy; an open breaker refuses the copy, and the call if it is the first); each hears
//!   its copy's verdict, and a dropped copy is abandoned as a cancelled attempt. A hedge
//!   sent for slowness spends the retry budget as a retry does, and none is sent while the
//!   budget is at or below half (gRPC A6, [`Guard::hedge`](crate::guard::Guard::hedge)).
//! - The deadline covers the whole call: no copy is sent at or past it, and each copy's
//!   `timeout` is cut to what is left of it.
//! - One event per copy sent after the first (`hedging` after a delay, `retrying` after a
//!   failure), and `notify` sees each.
//!
//! All the copies run inside the one future: nothing is spawned, so hedging runs on every
//! executor, and the hedge delay is slept on the call's timer.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

mod latencies;
#[cfg(all(test, loom))]
mod loom;

pub use latencies::{Latencies, WINDOW};

use crate::attempt::Attempt;
use crate::builder::{untimed, Mode, Retry, Types};
use crate::engine::{Outcome, Timed};
use crate::error::Elapsed;
use crate::fallback::{Ending, WithFallback};
use crate::guard::set::{Admission, Guards, Permit, Refused, SetRefusal, Slot};
use crate::guard::{Immediate, Report, Verdict};
use crate::hooks::{Hint, HookSet, Hooks, Notify, Predicate};
use crate::observe::{BuilderEvents, Event, Events, Kind, Reason};
use crate::policy::Policy;
use crate::timer::{Instant, Timer};

/// Where a hedged call's delay comes from: a fixed [`Duration`], or [`Latencies`] learned
/// as the calls go (by reference or in an `Arc`).
pub trait HedgeDelay {
    /// The delay before the next copy; `None` while there is none yet (a warm-up): no
    /// hedge is sent.
    fn delay(&self) -> Option<Duration>;

    /// The first copy of a call answered after `latency`, or was dropped after running that
    /// long because another copy won.
    fn observe(&self, latency: Duration) {
        let _ = latency;
    }
}

impl HedgeDelay for Duration {
    #[inline]
    fn delay(&self) -> Option<Duration> {
        Some(*self)
    }
}

impl HedgeDelay for &Latencies {
    fn delay(&self) -> Option<Duration> {
        Latencies::delay(self)
    }

    fn observe(&self, latency: Duration) {
        self.record(latency)
    }
}

impl HedgeDelay for Arc<Latencies> {
    fn delay(&self) -> Option<Duration> {
        Latencies::delay(self)
    }

    fn observe(&self, latency: Duration) {
        self.record(latency)
    }
}

/// A hedged operation, built by [`Retry::hedge`]; `.await` it. See the [module docs](self).
#[must_use = "a hedged call does nothing until it is awaited"]
pub struct Hedged<F, H: Types, G, Tm, M, D> {
    retry: Retry<F, H, G, Tm, M>,
    delay: D,
}

impl<F, H: Types, G, Tm, M, D> fmt::Debug for Hedged<F, H, G, Tm, M, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hedged").field("retry", &self.retry).finish_non_exhaustive()
    }
}

impl<F, H: Types, G, Tm, M> Retry<F, H, G, Tm, M> {
    /// Hedges the call instead of retrying it after a sleep: the original goes at once, then
    /// another copy each time `delay` passes with no answer, up to `attempts` copies; the
    /// first `Ok` wins and the others are dropped. `delay` is a [`Duration`], or a
    /// [`&Latencies`](Latencies) (or `Arc<Latencies>`) that learns it as a percentile of
    /// recent latencies. The [`hedge`](crate::hedge) module has the rules.
    ///
    /// Give the hooks and guards first; [`fallback`](Hedged::fallback), if any, last.
    pub fn hedge<D: HedgeDelay>(self, delay: D) -> Hedged<F, H, G, Tm, M, D> {
        Hedged { retry: self, delay }
    }
}

impl<F, H: Types, G, Tm, M, D> Hedged<F, H, G, Tm, M, D> {
    /// Calls `fallback` with the last error when every copy has failed, the deadline has
    /// passed or a guard refused the call; its result is the call's. See
    /// [`Retry::fallback`].
    pub fn fallback<Fb, K>(self, fallback: Fb) -> WithFallback<Self, Fb, K> {
        WithFallback::new(self, fallback)
    }
}

impl<F, Fut, T, E, On, Unless, When, IfOk, H, N, B, Th, U, Tm, M, D> IntoFuture
    for Hedged<F, HookSet<T, E, On, Unless, When, IfOk, H, N>, Guards<B, Th, U>, Tm, M, D>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    On: Predicate<E>,
    Unless: Predicate<E>,
    When: Predicate<E>,
    IfOk: Predicate<T>,
    H: Hint<E>,
    N: Notify<E>,
    B: Slot,
    Th: Slot,
    U: Slot,
    B::Guard: Immediate,
    Th::Guard: Immediate,
    U::Guard: Immediate,
    Tm: Timer,
    M: Mode<E>,
    M::Err: Report<SetRefusal<B, Th, U>>,
    E: fmt::Debug,
    D: HedgeDelay,
{
    type Output = Result<T, M::Err>;
    type IntoFuture = HedgeFuture<F, Fut, HookSet<T, E, On, Unless, When, IfOk, H, N>, B, Th, U, Tm, M, D>;

    fn into_future(self) -> Self::IntoFuture {
        let parts = self.retry.into_parts();
        let mut policy = parts.policy;
        if policy.timeout.is_some() && parts.elapsed.is_none() && !M::HOLDS_ELAPSED {
            untimed();
            policy.timeout = None;
        }
        HedgeFuture {
            policy,
            op: parts.op,
            hooks: parts.hooks,
            events: BuilderEvents { log: parts.log, name: parts.name },
            elapsed: parts.elapsed,
            guards: parts.guards,
            delay: self.delay,
            copies: Vec::new(),
            sent: 0,
            start: None,
            timer: None,
            wait: Wait::Idle,
            due: Due::Nothing,
            stopped: None,
            last: None,
            mode: PhantomData,
        }
    }
}

pin_project! {
    /// One copy in flight: its attempt and the guards' tickets for it.
    struct Copy<Fut, Tm: Timer, B: Slot, Th: Slot, U: Slot> {
        #[pin]
        attempt: Timed<Fut, Tm>,
        permit: Permit<B, Th, U>,
        started: Instant,
        // The original, whose latency a learned delay keeps.
        first: bool,
    }
}

/// What the call's one timer is armed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    Idle,
    /// The hedge delay since the last copy was sent.
    Hedge,
    /// A throttle's next permit, or a server's hint: the copy that is due goes after it.
    Then,
}

/// Whether a copy is due, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Nothing,
    /// The hedge delay passed with no answer.
    Hedge,
    /// A copy failed with an error worth retrying.
    Retry,
}

pin_project! {
    /// The future of a [`Hedged`] call.
    #[must_use = "futures do nothing unless polled"]
    pub struct HedgeFuture<F, Fut, H: Types, B: Slot, Th: Slot, U: Slot, Tm: Timer, M: Mode<H::E>, D> {
        policy: Policy,
        op: F,
        hooks: H,
        events: BuilderEvents,
        elapsed: Option<fn(Elapsed) -> H::E>,
        guards: Guards<B, Th, U>,
        delay: D,
        // Each copy sent, `None` once it has ended.
        copies: Vec<Option<Pin<Box<Copy<Fut, Tm, B, Th, U>>>>>,
        sent: u32,
        start: Option<Instant>,
        #[pin]
        timer: Option<Tm::Sleep>,
        wait: Wait,
        due: Due,
        // Why no further copy is sent.
        stopped: Option<Reason>,
        // The last failed copy's result, and whether it timed out.
        last: Option<(Result<H::T, M::Err>, bool)>,
        mode: PhantomData<fn() -> M>,
    }
}

impl<F, Fut, H, B, Th, U, Tm, M, D> fmt::Debug for HedgeFuture<F, Fut, H, B, Th, U, Tm, M, D>
where
    H: Types,
    B: Slot,
    Th: Slot,
    U: Slot,
    Tm: Timer,
    M: Mode<H::E>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HedgeFuture")
            .field("policy", &self.policy)
            .field("sent", &self.sent)
            .field("running", &self.copies.iter().filter(|c| c.is_some()).count())
            .finish_non_exhaustive()
    }
}

impl<F, Fut, T, E, H, B, Th, U, Tm, M, D> Ending for HedgeFuture<F, Fut, H, B, Th, U, Tm, M, D>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    H: Types<T = T, E = E> + Hooks<T, E>,
    B: Slot,
    Th: Slot,
    U: Slot,
    Tm: Timer,
    M: Mode<E>,
    M::Err: Report<SetRefusal<B, Th, U>>,
    E: fmt::Debug,
    D: HedgeDelay,
{
    fn poll_end(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(Self::Output, bool)> {
        let mut this = self.project();
        let policy = *this.policy;
        let start = *this.start.get_or_insert_with(Tm::now);
        loop {
            // The copies that have answered, in the order they were sent.
            for slot in this.copies.iter_mut() {
                let Some(copy) = slot.as_mut() else { continue };
                let Poll::Ready(answer) = copy.as_mut().project().attempt.poll(cx) else { continue };
                let Some(mut copy) = slot.take() else { continue };
                if copy.first {
                    this.delay.observe(Tm::now().saturating_duration_since(copy.started));
                }
                let (result, timed_out) = match answer {
                    Ok(Ok(value)) => (Ok(value), false),
                    Ok(Err(error)) => (Err(M::inner(error)), false),
                    Err(elapsed) => match M::elapsed(*this.elapsed, elapsed) {
                        Some(error) => (Err(error), true),
                        None => unreachable!("a policy's timeout is dropped when the error cannot hold it"),
                    },
                };
                let outcome = M::outcome(&result, timed_out);
                let retry = this.hooks.retry(&outcome);
                let hint = match (retry, outcome.error()) {
                    (true, Some(error)) => this.hooks.hint(error),
                    _ => None,
                };
                let verdict = Verdict::new(matches!(outcome, Outcome::Ok(_)), retry, timed_out, hint.is_some());
                // The guards answer at once (`Immediate`): nothing is left pending.
                let refused = copy.as_mut().project().permit.record(verdict, &mut None);
                if !retry {
                    if outcome.error().is_some() || matches!(outcome, Outcome::TimedOut(None)) {
                        event(
                            this.events,
                            &policy,
                            Kind::NotRetried,
                            *this.sent,
                            None,
                            Some(Reason::NotRetryable),
                            outcome.error(),
                        );
                    }
                    drop_all(this.copies, this.delay);
                    return Poll::Ready((result, false));
                }
                if !refused.is_none() {
                    this.stopped.get_or_insert(refused.reason());
                } else if this.stopped.is_none() {
                    match hint {
                        // The server said when: the next copy goes then.
                        Some(hint) => {
                            *this.due = Due::Retry;
                            arm::<Tm>(this.timer.as_mut(), this.wait, Wait::Then, hint);
                        }
                        None => *this.due = Due::Retry,
                    }
                }
                *this.last = Some((result, timed_out));
            }

            // Send a copy if one is due and nothing is waited for first.
            let first = *this.sent == 0;
            if (first || *this.due != Due::Nothing) && *this.wait != Wait::Then && this.stopped.is_none() {
                let elapsed = Tm::now().saturating_duration_since(start);
                let past_deadline = policy.deadline.is_some_and(|deadline| elapsed >= deadline);
                if *this.sent >= policy.attempts {
                    *this.stopped = Some(Reason::Exhausted);
                } else if past_deadline {
                    *this.stopped = Some(Reason::Deadline);
                } else if *this.due == Due::Hedge && !this.guards.hedge() {
                    // The budget is at or below half: no hedge, but a copy that fails may
                    // still be retried if the budget lets it.
                    *this.due = Due::Nothing;
                } else {
                    let mut permit = Permit::new(*this.guards);
                    let mut noop = Context::from_waker(std::task::Waker::noop());
                    match permit.poll_admit(&mut None, &mut noop) {
                        Poll::Ready(Admission::Admitted) => {
                            let number = *this.sent + 1;
                            if !first {
                                let (kind, error) = match *this.due {
                                    Due::Retry => (
                                        Kind::Retrying,
                                        this.last.as_ref().and_then(|(r, t)| M::outcome(r, *t).error()),
                                    ),
                                    _ => (Kind::Hedging, None),
                                };
                                let delay =
                                    if kind == Kind::Hedging { this.delay.delay() } else { None }.unwrap_or_default();
                                if H::NOTIFY {
                                    let last = this.last.as_ref();
                                    let error = if kind == Kind::Retrying {
                                        last.and_then(|(r, t)| M::outcome(r, *t).error())
                                    } else {
                                        None
                                    };
                                    this.hooks.notify(&Attempt::new(*this.sent, delay, error, elapsed));
                                }
                                event(this.events, &policy, kind, *this.sent, Some(delay), None, error);
                            }
                            let limit = policy.timeout.map(|limit| match policy.deadline {
                                Some(deadline) => limit.min(deadline.saturating_sub(elapsed)),
                                None => limit,
                            });
                            this.copies.push(Some(Box::pin(Copy {
                                attempt: Timed::new((this.op)(), limit),
                                permit,
                                started: Tm::now(),
                                first,
                            })));
                            *this.sent = number;
                            *this.due = Due::Nothing;
                            match this.delay.delay() {
                                Some(delay) if number < policy.attempts => {
                                    arm::<Tm>(this.timer.as_mut(), this.wait, Wait::Hedge, delay)
                                }
                                _ => *this.wait = Wait::Idle,
                            }
                            continue;
                        }
                        Poll::Ready(Admission::Wait(wait)) => {
                            arm::<Tm>(this.timer.as_mut(), this.wait, Wait::Then, wait);
                        }
                        Poll::Ready(Admission::Refused(refusal)) => {
                            if first {
                                return Poll::Ready((Err(M::Err::report(refusal)), true));
                            }
                            *this.stopped = Some(match refusal {
                                Refused::Breaker(_) => Reason::BreakerOpen,
                                Refused::Throttle(_) | Refused::Budget(_) => Reason::Refused,
                            });
                        }
                        // `Immediate` guards never leave an admission pending.
                        Poll::Pending => {}
                    }
                }
            }

            let running = this.copies.iter().any(Option::is_some);
            if !running && (this.stopped.is_some() || *this.wait != Wait::Then) {
                // Every copy has failed and no other will be sent.
                let reason = this.stopped.unwrap_or(Reason::Exhausted);
                let Some((result, timed_out)) = this.last.take() else {
                    unreachable!("a call ends only after a copy has answered or been refused")
                };
                event(
                    this.events,
                    &policy,
                    Kind::GaveUp,
                    *this.sent,
                    None,
                    Some(reason),
                    M::outcome(&result, timed_out).error(),
                );
                return Poll::Ready((result, true));
            }
            if *this.wait == Wait::Idle || this.stopped.is_some() {
                return Poll::Pending;
            }
            let Some(timer) = this.timer.as_mut().as_pin_mut() else { return Poll::Pending };
            if timer.poll(cx).is_pending() {
                return Poll::Pending;
            }
            if *this.wait == Wait::Hedge {
                *this.due = Due::Hedge;
            }
            *this.wait = Wait::Idle;
        }
    }
}

impl<F, Fut, T, E, H, B, Th, U, Tm, M, D> Future for HedgeFuture<F, Fut, H, B, Th, U, Tm, M, D>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    H: Types<T = T, E = E> + Hooks<T, E>,
    B: Slot,
    Th: Slot,
    U: Slot,
    Tm: Timer,
    M: Mode<E>,
    M::Err: Report<SetRefusal<B, Th, U>>,
    E: fmt::Debug,
    D: HedgeDelay,
{
    type Output = Result<T, M::Err>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_end(cx).map(|(result, _)| result)
    }
}

/// Arms the call's one timer for `wait`, `after` from now, re-arming the sleep in place.
fn arm<Tm: Timer>(mut timer: Pin<&mut Option<Tm::Sleep>>, at: &mut Wait, wait: Wait, after: Duration) {
    match timer.as_mut().as_pin_mut() {
        Some(sleep) => Tm::reset(sleep, after),
        None => timer.set(Some(Tm::sleep(after))),
    }
    *at = wait;
}

/// Drops every copy still running, at once; a dropped original's running time is kept by
/// a learned delay (it ran at least that long).
fn drop_all<Fut, Tm: Timer, B: Slot, Th: Slot, U: Slot, D: HedgeDelay>(
    copies: &mut Vec<Option<Pin<Box<Copy<Fut, Tm, B, Th, U>>>>>,
    delay: &D,
) {
    for copy in copies.drain(..).flatten() {
        if copy.first {
            delay.observe(Tm::now().saturating_duration_since(copy.started));
        }
    }
}

fn event<E>(
    events: &mut BuilderEvents,
    policy: &Policy,
    kind: Kind,
    attempt: u32,
    delay: Option<Duration>,
    reason: Option<Reason>,
    error: Option<&E>,
) where
    BuilderEvents: Events<E>,
{
    events.event(&Event { kind, attempt, max_attempts: policy.attempts, delay, reason, error });
}
