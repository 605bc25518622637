//! [`Retry`]: every behaviour of `#[retry]`, for closures and code that cannot take an
//! attribute. It drives the same engine as the attribute, so the two cannot differ.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::Policy;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let mut calls = 0;
//! let result: Result<u32, std::io::Error> = Policy::exponential(Duration::from_millis(10), Duration::from_secs(1))
//!     .attempts(5)
//!     .retry(|| {
//!         calls += 1;
//!         let n = calls;
//!         async move { if n < 3 { Err(std::io::Error::other("busy")) } else { Ok(n) } }
//!     })
//!     .when(|e| e.kind() == std::io::ErrorKind::Other)
//!     .await;
//! assert_eq!(result.unwrap(), 3);
//! # }
//! ```

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::attempt::Attempt;
use crate::engine::{Blocking, Call, Outcome, Timed};
use crate::error::{Elapsed, Error};
use crate::fallback::{Ending, WithFallback};
use crate::guard::set::{Guards, SetRefusal, Slot};
use crate::guard::Immediate;
use crate::guard::{Breaker, Budget, Fits, Report, Throttle};
use crate::hooks::{Hint, HookSet, Hooks, Notify, Predicate};
use crate::observe::{BuilderEvents, Log};
use crate::policy::Policy;
use crate::timer::{Clock, DefaultTimer, StdClock, Timer};

pub use crate::hooks::{Always, Never, NoHint, Silent};

/// The caller's error type of a [`Retry`]: the operation's own ([`Plain`]), or
/// [`Error<E>`](crate::Error) ([`Wrapped`], after [`Retry::wrap`]).
pub trait Mode<E> {
    /// The caller's error.
    type Err;
    /// The caller's error for the operation's own.
    fn inner(error: E) -> Self::Err;
    /// The caller's error for a timeout, with `into` the operation's conversion if known.
    #[doc(hidden)]
    fn elapsed(into: Option<fn(Elapsed) -> E>, elapsed: Elapsed) -> Option<Self::Err>;
    /// Whether the caller's error can hold a timeout without a conversion.
    #[doc(hidden)]
    const HOLDS_ELAPSED: bool;
    /// How the hooks see the caller's result.
    #[doc(hidden)]
    fn outcome<T>(result: &Result<T, Self::Err>, timed_out: bool) -> Outcome<'_, T, E>;
}

/// The caller gets the operation's own error type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

/// The caller gets [`Error<E>`](crate::Error).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wrapped;

impl<E> Mode<E> for Plain {
    type Err = E;

    fn inner(error: E) -> E {
        error
    }

    const HOLDS_ELAPSED: bool = false;

    fn elapsed(into: Option<fn(Elapsed) -> E>, elapsed: Elapsed) -> Option<E> {
        into.map(|into| into(elapsed))
    }

    fn outcome<T>(result: &Result<T, E>, timed_out: bool) -> Outcome<'_, T, E> {
        Outcome::of(result.as_ref(), timed_out)
    }
}

impl<E> Mode<E> for Wrapped {
    type Err = Error<E>;

    fn inner(error: E) -> Error<E> {
        Error::Inner(error)
    }

    const HOLDS_ELAPSED: bool = true;

    fn elapsed(_: Option<fn(Elapsed) -> E>, elapsed: Elapsed) -> Option<Error<E>> {
        Some(Error::Elapsed(elapsed))
    }

    fn outcome<T>(result: &Result<T, Error<E>>, _: bool) -> Outcome<'_, T, E> {
        match result {
            Ok(value) => Outcome::Ok(value),
            Err(Error::Inner(error)) => Outcome::Err(error),
            Err(_) => Outcome::TimedOut(None),
        }
    }
}

/// A retried operation, built by [`Policy::retry`]; `.await` it.
///
/// Hooks are `FnMut`, as in the attribute. Guards are borrowed for as long as the retry
/// lives (a `static`, a field of the client, a local). Events have target `steadfast`
/// and `fn = "retry"` (see [`named`](Self::named)); their `error` field is the error's
/// `Debug` form, since the builder cannot ask for `Display` without requiring it.
#[must_use = "a retry does nothing until it is awaited"]
pub struct Retry<F, H: Types, G = Guards, Tm = DefaultTimer, M = Plain> {
    policy: Policy,
    op: F,
    hooks: H,
    guards: G,
    log: Log,
    name: &'static str,
    /// How a timed-out attempt becomes the operation's error, once the builder knows.
    elapsed: Option<fn(Elapsed) -> H::E>,
    timer: PhantomData<fn() -> (Tm, M)>,
}

/// The value and error types of a hook set.
#[doc(hidden)]
pub trait Types {
    type T;
    type E;
}

impl<T, E, On, Unless, When, IfOk, H, N> Types for HookSet<T, E, On, Unless, When, IfOk, H, N> {
    type T = T;
    type E = E;
}

impl<F, H: Types, G, Tm, M> fmt::Debug for Retry<F, H, G, Tm, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry").field("policy", &self.policy).field("log", &self.log).finish_non_exhaustive()
    }
}

impl Policy {
    /// Retries `op`, a closure making one attempt, under this policy.
    pub fn retry<F, Fut, T, E>(self, op: F) -> Retry<F, HookSet<T, E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Retry {
            policy: self,
            op,
            hooks: HookSet::new(),
            guards: Guards::new(),
            log: Log::Warn,
            name: "retry",
            elapsed: None,
            timer: PhantomData,
        }
    }

    /// Retries `op`, a closure making one blocking attempt, under this policy; [`call`](Retry::call)
    /// runs it on this thread, sleeping between attempts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{testing, Policy};
    ///
    /// let _instant = testing::instant_sleeps();
    /// let mut tries = 0;
    /// let text = Policy::fixed(Duration::from_secs(1))
    ///     .attempts(3)
    ///     .retry_blocking(|| {
    ///         tries += 1;
    ///         if tries < 3 { Err(std::io::Error::other("locked")) } else { Ok("read") }
    ///     })
    ///     .call();
    /// assert_eq!(text.unwrap(), "read");
    /// ```
    ///
    /// Its clock is std's, the clock of the thread it sleeps on. A blocking attempt cannot be
    /// interrupted, so a policy's `timeout` does not apply (bound the call with a deadline);
    /// guards must answer at once (the in-process ones).
    pub fn retry_blocking<F, T, E>(self, op: F) -> Retry<F, HookSet<T, E>, Guards, Blocking<StdClock>>
    where
        F: FnMut() -> Result<T, E>,
    {
        Retry {
            policy: self,
            op,
            hooks: HookSet::new(),
            guards: Guards::new(),
            log: Log::Warn,
            name: "retry",
            elapsed: None,
            timer: PhantomData,
        }
    }
}

impl<F, T, E, On, Unless, When, IfOk, H, N, B, Th, U, C, M>
    Retry<F, HookSet<T, E, On, Unless, When, IfOk, H, N>, Guards<B, Th, U>, Blocking<C>, M>
where
    F: FnMut() -> Result<T, E>,
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
    C: Clock,
    M: Mode<E>,
    M::Err: Report<SetRefusal<B, Th, U>>,
    E: fmt::Debug,
{
    /// Runs the retried operation on this thread.
    pub fn call(self) -> Result<T, M::Err> {
        self.call_end().0
    }

    /// Runs it; the result, and whether the retries were spent (a fallback applies).
    pub(crate) fn call_end(mut self) -> (Result<T, M::Err>, bool) {
        let mut policy = self.policy;
        policy.timeout = None;
        let mut call: Call<Blocking<C>, B, Th, U> = Call::named(&policy, self.guards, N::ACTIVE, self.name);
        let mut events = BuilderEvents { log: self.log, name: self.name };
        loop {
            if let Err(refusal) = call.ready_blocking() {
                return (Err(M::Err::report(refusal)), true);
            }
            let result = (self.op)();
            let retry = call.after_blocking(&policy, Outcome::of(result.as_ref(), false), &mut self.hooks, &mut events);
            if !retry {
                return (result.map_err(M::inner), call.gave_up());
            }
        }
    }
}

impl<F, T, E, On, Unless, When, IfOk, H, N, B, Th, U, C, M, Fb>
    WithFallback<
        Retry<F, HookSet<T, E, On, Unless, When, IfOk, H, N>, Guards<B, Th, U>, Blocking<C>, M>,
        Fb,
        crate::fallback::Ready,
    >
where
    F: FnMut() -> Result<T, E>,
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
    C: Clock,
    M: Mode<E>,
    M::Err: Report<SetRefusal<B, Th, U>>,
    E: fmt::Debug,
    Fb: FnOnce(M::Err) -> Result<T, M::Err>,
{
    /// Runs the retried operation on this thread, and the fallback if the retries are spent.
    pub fn call(self) -> Result<T, M::Err> {
        match self.call.call_end() {
            (Err(error), true) => (self.fallback)(error),
            (result, _) => result,
        }
    }
}

/// Rebuilds a `Retry` with new hooks.
macro_rules! with_hooks {
    ($self:ident, $hooks:expr) => {
        Retry {
            policy: $self.policy,
            op: $self.op,
            hooks: $hooks,
            guards: $self.guards,
            log: $self.log,
            name: $self.name,
            elapsed: None,
            timer: PhantomData,
        }
    };
}

/// The hooks, in either mode and in any order.
impl<F, T, E, On, Unless, When, IfOk, H, N, G, Tm, M> Retry<F, HookSet<T, E, On, Unless, When, IfOk, H, N>, G, Tm, M> {
    /// `on` of the attribute: the errors to retry, tested before `when`.
    #[doc(hidden)]
    pub fn on<W: FnMut(&E) -> bool>(self, on: W) -> Retry<F, HookSet<T, E, W, Unless, When, IfOk, H, N>, G, Tm, M> {
        let elapsed = self.elapsed;
        Retry { elapsed, ..with_hooks!(self, self.hooks.on(on)) }
    }

    /// Never retries a timed-out attempt (a call that must not be sent twice), whatever
    /// [`when`](Self::when) says; the timeout still counts for the breaker. What
    /// `unless = steadfast::Elapsed` is in the attribute.
    pub fn unless_elapsed(mut self) -> Self {
        self.hooks = self.hooks.never_elapsed(true);
        self
    }

    /// Retries only errors for which `when` returns true (all errors by default). A timed-out
    /// attempt's error, `E::from(Elapsed)`, is asked too; under [`wrap`](Retry::wrap) a
    /// timeout is no `E` and is retried unless [`unless_elapsed`](Self::unless_elapsed).
    pub fn when<W: FnMut(&E) -> bool>(self, when: W) -> Retry<F, HookSet<T, E, On, Unless, W, IfOk, H, N>, G, Tm, M> {
        let elapsed = self.elapsed;
        Retry { elapsed, ..with_hooks!(self, self.hooks.when(when)) }
    }

    /// Never retries errors for which `unless` returns true, timeouts included; it wins over
    /// [`when`](Self::when).
    pub fn unless<W: FnMut(&E) -> bool>(self, unless: W) -> Retry<F, HookSet<T, E, On, W, When, IfOk, H, N>, G, Tm, M> {
        let elapsed = self.elapsed;
        Retry { elapsed, ..with_hooks!(self, self.hooks.unless(unless)) }
    }

    /// Retries an `Ok` value for which `if_ok` returns true; the last one is returned as is.
    pub fn if_ok<K: FnMut(&T) -> bool>(self, if_ok: K) -> Retry<F, HookSet<T, E, On, Unless, When, K, H, N>, G, Tm, M> {
        let elapsed = self.elapsed;
        Retry { elapsed, ..with_hooks!(self, self.hooks.if_ok(if_ok)) }
    }

    /// Reads a server's hint from an error: the next sleep is exactly the hint, and a hint
    /// above `max` or past the deadline ends the retries.
    pub fn retry_after<K: FnMut(&E) -> Option<Duration>>(
        self,
        retry_after: K,
    ) -> Retry<F, HookSet<T, E, On, Unless, When, IfOk, K, N>, G, Tm, M> {
        let elapsed = self.elapsed;
        Retry { elapsed, ..with_hooks!(self, self.hooks.retry_after(retry_after)) }
    }

    /// Calls `notify` before each sleep (never after the last attempt).
    pub fn notify<K: FnMut(&Attempt<'_, E>)>(
        self,
        notify: K,
    ) -> Retry<F, HookSet<T, E, On, Unless, When, IfOk, H, K>, G, Tm, M> {
        let elapsed = self.elapsed;
        Retry { elapsed, ..with_hooks!(self, self.hooks.notify(notify)) }
    }
}

/// Timeouts of a builder whose caller gets the operation's own error type.
impl<F, T, E, On, Unless, When, IfOk, H, N, G, Tm> Retry<F, HookSet<T, E, On, Unless, When, IfOk, H, N>, G, Tm, Plain> {
    /// Limits each attempt to `limit` (cut to what is left of the deadline); a timed-out
    /// attempt fails with `E::from(Elapsed)`, which `when` and `unless` judge like any error.
    pub fn timeout(mut self, limit: Duration) -> Self
    where
        E: Report<Elapsed>,
    {
        self.policy = self.policy.timeout(limit);
        self.elapsed = Some(E::report);
        self
    }

    /// Times each attempt with the policy's own [`timeout`](Policy::timeout), for a policy
    /// built elsewhere (a config file). Without this (or [`timeout`](Self::timeout), or
    /// [`wrap`](Self::wrap)) the builder cannot tell whether `E` can hold an `Elapsed`, and
    /// a policy's timeout is not applied; a `warn` event says so.
    pub fn timed(mut self) -> Self
    where
        E: Report<Elapsed>,
    {
        self.elapsed = Some(E::report);
        self
    }

    /// Returns `Result<T, steadfast::Error<E>>`: for an error type you do not own, which
    /// cannot hold a timeout or a guard's refusal. The hooks still see `E`.
    pub fn wrap(self) -> Retry<F, HookSet<T, E, On, Unless, When, IfOk, H, N>, G, Tm, Wrapped> {
        Retry {
            policy: self.policy,
            op: self.op,
            hooks: self.hooks,
            guards: self.guards,
            log: self.log,
            name: self.name,
            elapsed: self.elapsed,
            timer: PhantomData,
        }
    }
}

/// Timeouts of a builder whose caller gets [`Error<E>`](crate::Error), which holds them.
impl<F, H: Types, G, Tm> Retry<F, H, G, Tm, Wrapped> {
    /// Limits each attempt to `limit` (cut to what is left of the deadline); the last
    /// timed-out attempt ends the call with [`Error::Elapsed`].
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.policy = self.policy.timeout(limit);
        self
    }
}

/// Rebuilds a `Retry` with its guards changed by `$change`.
macro_rules! regard {
    ($self:ident, $guards:ident => $change:expr) => {{
        let Retry { policy, op, hooks, guards: $guards, log, name, elapsed, timer } = $self;
        Retry { policy, op, hooks, guards: $change, log, name, elapsed, timer }
    }};
}

impl<F, H: Types, B, Th, U, Tm, M> Retry<F, H, Guards<B, Th, U>, Tm, M> {
    /// Makes every attempt, retries included, wait for a permit of `throttle` (a
    /// [`Throttle`], a Redis-backed one, a `LazyLock` or `Arc` of either),
    /// borrowed for as long as the retry lives.
    pub fn throttle<G: Fits<Throttle> + ?Sized>(self, throttle: &G) -> Retry<F, H, Guards<B, &G, U>, Tm, M> {
        regard!(self, guards => guards.throttle(crate::guard::set::fits::<Throttle, G>(throttle)))
    }

    /// Lets each attempt through `breaker`: while it is open the call ends at once with
    /// `Open` (converted into the caller's error), and no retry starts once it has opened.
    pub fn breaker<G: Fits<Breaker> + ?Sized>(self, breaker: &G) -> Retry<F, H, Guards<&G, Th, U>, Tm, M> {
        regard!(self, guards => guards.breaker(crate::guard::set::fits::<Breaker, G>(breaker)))
    }

    /// Stops retrying while `budget` is spent.
    pub fn budget<G: Fits<Budget> + ?Sized>(self, budget: &G) -> Retry<F, H, Guards<B, Th, &G>, Tm, M> {
        regard!(self, guards => guards.budget(crate::guard::set::fits::<Budget, G>(budget)))
    }
}

/// The parts of a [`Retry`], for the hedging driver.
pub(crate) struct Parts<F, H: Types, G> {
    pub(crate) policy: Policy,
    pub(crate) op: F,
    pub(crate) hooks: H,
    pub(crate) guards: G,
    pub(crate) log: Log,
    pub(crate) name: &'static str,
    pub(crate) elapsed: Option<fn(Elapsed) -> H::E>,
}

impl<F, H: Types, G, Tm, M> Retry<F, H, G, Tm, M> {
    pub(crate) fn into_parts(self) -> Parts<F, H, G> {
        let Retry { policy, op, hooks, guards, log, name, elapsed, .. } = self;
        Parts { policy, op, hooks, guards, log, name, elapsed }
    }

    /// Calls `fallback` with the last error once the retries are spent (the attempts, the
    /// deadline or a hint too long ended them, or a guard refused the call), and returns
    /// what it returns (tenacity's `retry_error_callback`). A success, and an error the
    /// policy does not retry, are returned as they are.
    ///
    /// For an async retry `fallback` returns a `Result` or a future of one (an `async`
    /// block); for a blocking one, a `Result`. It comes last in the chain.
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::Policy;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let answer: Result<String, std::io::Error> = Policy::fixed(Duration::from_secs(1))
    ///     .attempts(3)
    ///     .retry(|| async { Err(std::io::Error::other("model overloaded")) })
    ///     .fallback(|error| async move { Ok(format!("(cached answer; {error})")) })
    ///     .await;
    /// assert_eq!(answer.unwrap(), "(cached answer; model overloaded)");
    /// # }
    /// ```
    pub fn fallback<Fb, K>(self, fallback: Fb) -> WithFallback<Self, Fb, K> {
        WithFallback::new(self, fallback)
    }

    /// The level of the events ([`Log::Warn`] by default).
    pub fn log(mut self, log: Log) -> Self {
        self.log = log;
        self
    }

    /// The `fn` field of the events (`"retry"` by default).
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Sleeps and reads the time on `T2` instead of the [`DefaultTimer`].
    pub fn timer<T2: Timer>(self) -> Retry<F, H, G, T2, M> {
        Retry {
            policy: self.policy,
            op: self.op,
            hooks: self.hooks,
            guards: self.guards,
            log: self.log,
            name: self.name,
            elapsed: self.elapsed,
            timer: PhantomData,
        }
    }
}

/// What makes one attempt: a closure (the builder), or a service's call with a clone of
/// its request (the [`tower`](crate::tower) layer), so both run on the one future below.
#[doc(hidden)]
pub trait Operation {
    /// One attempt.
    type Attempt;
    /// Starts an attempt.
    fn attempt(&mut self) -> Self::Attempt;
}

impl<F: FnMut() -> Fut, Fut> Operation for F {
    type Attempt = Fut;

    #[inline(always)]
    fn attempt(&mut self) -> Fut {
        self()
    }
}

impl<F, T, E, On, Unless, When, IfOk, H, N, G, Tm, M> Retry<F, HookSet<T, E, On, Unless, When, IfOk, H, N>, G, Tm, M> {
    /// A retry of `op` with these hooks and guards, its caller's errors in mode `M` (the
    /// tower layer's, and so reqwest-middleware's).
    #[cfg(feature = "tower")]
    pub(crate) fn of(
        policy: Policy,
        op: F,
        hooks: HookSet<T, E, On, Unless, When, IfOk, H, N>,
        guards: G,
        log: Log,
        name: &'static str,
    ) -> Self {
        Retry { policy, op, hooks, guards, log, name, elapsed: None, timer: PhantomData }
    }
}

impl<F, Fut, T, E, On, Unless, When, IfOk, H, N, B, Th, U, Tm, M> IntoFuture
    for Retry<F, HookSet<T, E, On, Unless, When, IfOk, H, N>, Guards<B, Th, U>, Tm, M>
where
    F: Operation<Attempt = Fut>,
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
    Tm: Timer,
    M: Mode<E>,
    M::Err: Report<SetRefusal<B, Th, U>>,
    E: fmt::Debug,
{
    type Output = Result<T, M::Err>;
    type IntoFuture = RetryFuture<F, Fut, HookSet<T, E, On, Unless, When, IfOk, H, N>, B, Th, U, Tm, M>;

    fn into_future(self) -> Self::IntoFuture {
        let mut policy = self.policy;
        if policy.timeout.is_some() && self.elapsed.is_none() && !M::HOLDS_ELAPSED {
            untimed();
            policy.timeout = None;
        }
        let call = Call::named(&policy, self.guards, N::ACTIVE, self.name);
        RetryFuture {
            policy,
            op: self.op,
            hooks: self.hooks,
            events: BuilderEvents { log: self.log, name: self.name },
            elapsed: self.elapsed,
            call,
            mode: PhantomData,
            state: State::Ready,
        }
    }
}

/// A plain builder given a policy with a timeout it cannot report.
#[cold]
pub(crate) fn untimed() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            target: "steadfast",
            "a retry builder was given a policy with a timeout, but cannot tell whether its error type can hold \
             `steadfast::Elapsed`, so its attempts are not timed: call `.timed()`, `.timeout(d)` or `.wrap()`"
        )
    });
}

pin_project! {
    /// The future of a [`Retry`].
    #[must_use = "futures do nothing unless polled"]
    pub struct RetryFuture<F, Fut, H: Types, B: Slot, Th: Slot, U: Slot, Tm: Timer, M: Mode<H::E>> {
        policy: Policy,
        op: F,
        hooks: H,
        events: BuilderEvents,
        elapsed: Option<fn(Elapsed) -> H::E>,
        call: Call<Tm, B, Th, U>,
        mode: PhantomData<fn() -> M>,
        #[pin]
        state: State<Fut, Tm, Result<<H as Types>::T, M::Err>>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<Fut, Tm: Timer, O> {
        Ready,
        Running { #[pin] attempt: Timed<Fut, Tm> },
        // The caller's result, and whether the attempt timed out.
        After { result: Option<(O, bool)> },
    }
}

impl<F, Fut, H, B, Th, U, Tm, M> fmt::Debug for RetryFuture<F, Fut, H, B, Th, U, Tm, M>
where
    H: Types,
    B: Slot,
    Th: Slot,
    U: Slot,
    Tm: Timer,
    M: Mode<H::E>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryFuture").field("policy", &self.policy).field("call", &self.call).finish_non_exhaustive()
    }
}

impl<F, Fut, T, E, H, B, Th, U, Tm, M> Future for RetryFuture<F, Fut, H, B, Th, U, Tm, M>
where
    F: Operation<Attempt = Fut>,
    Fut: Future<Output = Result<T, E>>,
    H: Types<T = T, E = E> + Hooks<T, E>,
    B: Slot,
    Th: Slot,
    U: Slot,
    Tm: Timer,
    M: Mode<E>,
    M::Err: Report<SetRefusal<B, Th, U>>,
    E: fmt::Debug,
{
    type Output = Result<T, M::Err>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_end(cx).map(|(result, _)| result)
    }
}

impl<F, Fut, T, E, H, B, Th, U, Tm, M> Ending for RetryFuture<F, Fut, H, B, Th, U, Tm, M>
where
    F: Operation<Attempt = Fut>,
    Fut: Future<Output = Result<T, E>>,
    H: Types<T = T, E = E> + Hooks<T, E>,
    B: Slot,
    Th: Slot,
    U: Slot,
    Tm: Timer,
    M: Mode<E>,
    M::Err: Report<SetRefusal<B, Th, U>>,
    E: fmt::Debug,
{
    #[inline]
    fn poll_end(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(Self::Output, bool)> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Ready => {
                    if let Err(refusal) = ready!(this.call.poll_ready(cx)) {
                        return Poll::Ready((Err(M::Err::report(refusal)), true));
                    }
                    let attempt = this.call.timed(this.policy, this.op.attempt());
                    this.state.set(State::Running { attempt });
                }
                StateProj::Running { attempt } => {
                    let result = match ready!(attempt.poll(cx)) {
                        Ok(Ok(value)) => (Ok(value), false),
                        Ok(Err(error)) => (Err(M::inner(error)), false),
                        Err(elapsed) => match M::elapsed(*this.elapsed, elapsed) {
                            Some(error) => (Err(error), true),
                            None => unreachable!("a policy's timeout is dropped when the error cannot hold it"),
                        },
                    };
                    // The happy path ends here, with the finished attempt left in place (a
                    // finished future is not polled again).
                    if this.call.ends_at_once(&M::outcome(&result.0, result.1), &*this.hooks) {
                        return Poll::Ready((result.0, false));
                    }
                    this.state.set(State::After { result: Some(result) });
                }
                StateProj::After { result } => {
                    let Some((caller, timed_out)) = result.as_ref() else { return Poll::Pending };
                    let outcome = M::outcome(caller, *timed_out);
                    let retry = ready!(this.call.poll_after(cx, this.policy, outcome, this.hooks, this.events));
                    let result = result.take();
                    this.state.set(State::Ready);
                    if !retry {
                        if let Some((result, _)) = result {
                            return Poll::Ready((result, this.call.gave_up()));
                        }
                    }
                }
            }
        }
    }
}
