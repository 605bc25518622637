//! [`Retry`]: every behaviour of `#[retry]`, for closures and code that cannot take an
//! attribute.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::attempt::Attempt;
use crate::backoff::Schedule;
use crate::clock::{self, Instant, Sleep, Timeout};
use crate::error::{Elapsed, Open};
use crate::guard::builder::{Gate, Guards};
use crate::guard::{AsGuard, Breaker, Budget, Throttle};
use crate::observe::{self, Log};
use crate::policy::Policy;
use crate::testing;

/// A predicate on an error or a value: `when`, `if_ok`.
pub trait Predicate<A: ?Sized> {
    /// Whether `value` should be retried.
    fn test(&mut self, value: &A) -> bool;
}

impl<A: ?Sized, F: FnMut(&A) -> bool> Predicate<A> for F {
    fn test(&mut self, value: &A) -> bool {
        self(value)
    }
}

/// The default `when`: every error is retried.
#[derive(Debug, Clone, Copy, Default)]
pub struct Always;

impl<A: ?Sized> Predicate<A> for Always {
    fn test(&mut self, _: &A) -> bool {
        true
    }
}

/// The default `if_ok`: no `Ok` value is retried.
#[derive(Debug, Clone, Copy, Default)]
pub struct Never;

impl<A: ?Sized> Predicate<A> for Never {
    fn test(&mut self, _: &A) -> bool {
        false
    }
}

/// A server's hint on how long to wait: `retry_after`.
pub trait Hint<E> {
    /// The hinted delay for `error`, if it carries one.
    fn hint(&mut self, error: &E) -> Option<Duration>;
}

impl<E, F: FnMut(&E) -> Option<Duration>> Hint<E> for F {
    fn hint(&mut self, error: &E) -> Option<Duration> {
        self(error)
    }
}

/// The default `retry_after`: no hint.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHint;

impl<E> Hint<E> for NoHint {
    fn hint(&mut self, _: &E) -> Option<Duration> {
        None
    }
}

/// A hook called before each sleep: `notify`.
pub trait Notify<E> {
    /// Whether the hook does anything (the clock is read at the start only if so).
    const ACTIVE: bool = true;

    /// Called before each sleep, never after the last attempt.
    fn notify(&mut self, attempt: &Attempt<'_, E>);
}

impl<E, F: FnMut(&Attempt<'_, E>)> Notify<E> for F {
    fn notify(&mut self, attempt: &Attempt<'_, E>) {
        self(attempt)
    }
}

/// The default `notify`: nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl<E> Notify<E> for Silent {
    const ACTIVE: bool = false;

    fn notify(&mut self, _: &Attempt<'_, E>) {}
}

/// A retried operation, built by [`Policy::retry`]; `.await` it.
///
/// ```
/// use std::time::Duration;
/// use steadfast::Policy;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut calls = 0;
/// let result: Result<u32, std::io::Error> = Policy::exponential(Duration::from_millis(10), Duration::from_secs(1))
///     .attempts(5)
///     .retry(|| {
///         calls += 1;
///         let n = calls;
///         async move { if n < 3 { Err(std::io::Error::other("busy")) } else { Ok(n) } }
///     })
///     .when(|e| e.kind() == std::io::ErrorKind::Other)
///     .await;
/// assert_eq!(result.unwrap(), 3);
/// # }
/// ```
#[must_use = "a retry does nothing until it is awaited"]
pub struct Retry<F, E, W = Always, K = Never, H = NoHint, N = Silent> {
    policy: Policy,
    op: F,
    when: W,
    if_ok: K,
    retry_after: H,
    notify: N,
    timeout: Option<Limit<E>>,
    log: Log,
    guards: Guards<E>,
}

/// A per-attempt limit and how to report it in the caller's error type.
type Limit<E> = (Duration, fn(Elapsed) -> E);

impl<F, E, W, K, H, N> std::fmt::Debug for Retry<F, E, W, K, H, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retry").field("policy", &self.policy).field("log", &self.log).finish_non_exhaustive()
    }
}

impl Policy {
    /// Retries `op`, a closure making one attempt, under this policy.
    pub fn retry<F, Fut, T, E>(self, op: F) -> Retry<F, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Retry {
            policy: self,
            op,
            when: Always,
            if_ok: Never,
            retry_after: NoHint,
            notify: Silent,
            timeout: None,
            log: Log::Warn,
            guards: Guards::new(),
        }
    }
}

impl<F, Fut, T, E, W, K, H, N> Retry<F, E, W, K, H, N>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Retries only errors for which `when` returns true (all errors by default).
    pub fn when<W2: FnMut(&E) -> bool>(self, when: W2) -> Retry<F, E, W2, K, H, N> {
        Retry {
            policy: self.policy,
            op: self.op,
            when,
            if_ok: self.if_ok,
            retry_after: self.retry_after,
            notify: self.notify,
            timeout: self.timeout,
            log: self.log,
            guards: self.guards,
        }
    }

    /// Retries an `Ok` value for which `if_ok` returns true; the last one is returned as is.
    pub fn if_ok<K2: FnMut(&T) -> bool>(self, if_ok: K2) -> Retry<F, E, W, K2, H, N> {
        Retry {
            policy: self.policy,
            op: self.op,
            when: self.when,
            if_ok,
            retry_after: self.retry_after,
            notify: self.notify,
            timeout: self.timeout,
            log: self.log,
            guards: self.guards,
        }
    }

    /// Reads a server's hint from an error: the next sleep is exactly the hint, and a hint
    /// above `max` or past the deadline ends the retries.
    pub fn retry_after<H2: FnMut(&E) -> Option<Duration>>(self, retry_after: H2) -> Retry<F, E, W, K, H2, N> {
        Retry {
            policy: self.policy,
            op: self.op,
            when: self.when,
            if_ok: self.if_ok,
            retry_after,
            notify: self.notify,
            timeout: self.timeout,
            log: self.log,
            guards: self.guards,
        }
    }

    /// Calls `notify` before each sleep (never after the last attempt).
    pub fn notify<N2: FnMut(&Attempt<'_, E>)>(self, notify: N2) -> Retry<F, E, W, K, H, N2> {
        Retry {
            policy: self.policy,
            op: self.op,
            when: self.when,
            if_ok: self.if_ok,
            retry_after: self.retry_after,
            notify,
            timeout: self.timeout,
            log: self.log,
            guards: self.guards,
        }
    }

    /// Limits each attempt to `limit`; a timed-out attempt is retried whatever `when` says,
    /// and if it is the last the caller gets `E::from(Elapsed)`.
    pub fn timeout(mut self, limit: Duration) -> Self
    where
        E: From<Elapsed>,
    {
        self.timeout = Some((limit, E::from));
        self
    }

    /// The level of the event before each sleep and on giving up ([`Log::Warn`] by default).
    pub fn log(mut self, log: Log) -> Self {
        self.log = log;
        self
    }

    /// Makes every attempt, retries included, wait for a permit of `throttle` (a `static`
    /// [`Throttle`] or a `LazyLock` of one).
    pub fn throttle<G: AsGuard<Throttle> + ?Sized>(mut self, throttle: &'static G) -> Self {
        self.guards.throttle = Some(throttle.as_guard());
        self
    }

    /// Lets each attempt through `breaker` (a `static` [`Breaker`] or a `LazyLock` of one):
    /// while it is open the call ends at once with `E::from(Open)`, and no retry starts once
    /// it has opened.
    pub fn breaker<G: AsGuard<Breaker> + ?Sized>(mut self, breaker: &'static G) -> Self
    where
        E: From<Open>,
    {
        self.guards.breaker = Some((breaker.as_guard(), E::from));
        self
    }

    /// Stops retrying while `budget` (a `static` [`Budget`] or a `LazyLock` of one) is spent.
    pub fn budget<G: AsGuard<Budget> + ?Sized>(mut self, budget: &'static G) -> Self {
        self.guards.budget = Some(budget.as_guard());
        self
    }
}

impl<F, Fut, T, E, W, K, H, N> IntoFuture for Retry<F, E, W, K, H, N>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    W: Predicate<E>,
    K: Predicate<T>,
    H: Hint<E>,
    N: Notify<E>,
{
    type Output = Result<T, E>;
    type IntoFuture = RetryFuture<F, Fut, E, W, K, H, N>;

    fn into_future(self) -> Self::IntoFuture {
        RetryFuture { retry: self, schedule: Schedule::new(), start: None, gate: Gate::default(), state: State::Idle }
    }
}

pin_project! {
    /// The future of a [`Retry`].
    #[must_use = "futures do nothing unless polled"]
    pub struct RetryFuture<F, Fut, E, W, K, H, N> {
        retry: Retry<F, E, W, K, H, N>,
        schedule: Schedule,
        start: Option<Instant>,
        gate: Gate,
        #[pin]
        state: State<Fut, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<Fut, E> {
        Idle,
        Plain { #[pin] attempt: Fut },
        Timed { #[pin] attempt: Timeout<Fut>, limit: Limit<E> },
        Sleeping { sleep: Pin<Box<Sleep>> },
    }
}

impl<F, Fut, T, E, W, K, H, N> Future for RetryFuture<F, Fut, E, W, K, H, N>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    W: Predicate<E>,
    K: Predicate<T>,
    H: Hint<E>,
    N: Notify<E>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        let mut this = self.project();
        let retry = this.retry;
        loop {
            let (result, timed_out) = match this.state.as_mut().project() {
                StateProj::Idle => {
                    if this.start.is_none() && (N::ACTIVE || retry.policy.deadline.is_some()) {
                        *this.start = Some(clock::now());
                    }
                    if let Err(error) = ready!(retry.guards.poll_admit(this.gate, cx)) {
                        return Poll::Ready(Err(error));
                    }
                    let attempt = (retry.op)();
                    match retry.timeout {
                        Some((timeout, into)) => {
                            let limit = attempt_limit(&retry.policy, Some(timeout), *this.start).unwrap_or(timeout);
                            let attempt = clock::timeout(limit, attempt);
                            this.state.set(State::Timed { attempt, limit: (limit, into) });
                        }
                        None => this.state.set(State::Plain { attempt }),
                    }
                    continue;
                }
                StateProj::Sleeping { sleep } => {
                    ready!(sleep.as_mut().poll(cx));
                    this.state.set(State::Idle);
                    continue;
                }
                StateProj::Plain { attempt } => (ready!(attempt.poll(cx)), false),
                StateProj::Timed { attempt, limit: &mut (limit, into) } => match ready!(attempt.poll(cx)) {
                    Ok(result) => (result, false),
                    Err(_) => (Err(into(Elapsed::new(limit))), true),
                },
            };
            let retryable = timed_out
                || match &result {
                    Ok(value) => retry.if_ok.test(value),
                    Err(error) => retry.when.test(error),
                };
            let retryable = retry.guards.record(this.gate, result.is_ok(), retryable);
            let attempt = this.schedule.attempt();
            let hint = match (&result, retryable) {
                (Err(error), true) => retry.retry_after.hint(error),
                _ => None,
            };
            let elapsed = this.start.map(|start| clock::now().saturating_duration_since(start));
            let delay = match retryable.then(|| this.schedule.advance(&retry.policy, hint, elapsed)) {
                Some(Some(delay)) => delay,
                Some(None) => {
                    observe::gave_up(retry.log, "retry", attempt, result.as_ref().err());
                    this.state.set(State::Idle);
                    return Poll::Ready(result);
                }
                None => {
                    this.state.set(State::Idle);
                    return Poll::Ready(result);
                }
            };
            let error = result.as_ref().err();
            retry.notify.notify(&Attempt::new(attempt, delay, error, elapsed.unwrap_or_default()));
            observe::retrying(retry.log, "retry", attempt, retry.policy.attempts, delay, error);
            drop(result);
            if delay.is_zero() {
                this.state.set(State::Idle);
            } else {
                testing::sleeping(delay);
                let mut sleep = Box::pin(clock::idle_sleep());
                clock::arm(sleep.as_mut(), delay);
                this.state.set(State::Sleeping { sleep });
            }
        }
    }
}

/// The limit of the next attempt: the `timeout`, cut to what is left of the deadline.
pub(crate) fn attempt_limit(policy: &Policy, timeout: Option<Duration>, start: Option<Instant>) -> Option<Duration> {
    let timeout = timeout?;
    let left = match (policy.deadline, start) {
        (Some(deadline), Some(start)) => deadline.saturating_sub(clock::now().saturating_duration_since(start)),
        _ => return Some(timeout),
    };
    Some(timeout.min(left))
}
