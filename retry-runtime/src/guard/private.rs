//! What `#[retry]` generates for the `throttle`, `breaker` and `budget` keys, re-exported
//! from `__private`. Not public API.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, LazyLock};

use super::{AsGuard, Breaker, BreakerPermit, Budget, Throttle, Verdict};
use crate::__private::RetryOutput;
use crate::error::Open;

/// `throttle = …`: the throttle, whose `acquire` (or `acquire_blocking` in a `fn`) runs
/// before each attempt. Returns the guard itself, so that a wrong type is reported once.
pub fn throttle<G: AsGuard<Throttle> + ?Sized>(guard: &G) -> &Throttle {
    guard.as_guard()
}

/// `breaker = …`: lets the attempt through, or turns it away.
pub fn breaker<G: AsGuard<Breaker> + ?Sized>(guard: &G) -> Result<BreakerPermit<'_>, Open> {
    guard.as_guard().try_acquire()
}

/// The error of a call turned away by an open breaker: `E::from(Open)`, spanned at
/// `breaker = …`.
pub fn open<E: FromOpen>(open: Open) -> E {
    E::from_open(open)
}

/// The caller's outcome for a call turned away: `Err(error)`. The return type is named as
/// the first type argument, at the return type, so that one that is not a `Result` is
/// reported there once.
pub fn turned_away<R: RetryOutput<Err = E>, E>(error: E) -> R {
    R::from_err(error)
}

/// `From<Open>`, under a name whose error says what `breaker` needs.
#[diagnostic::on_unimplemented(
    message = "`breaker` needs `{Self}: From<steadfast::Open>` to report a call that an open breaker turned away",
    label = "`{Self}` cannot be made from `steadfast::Open`",
    note = "add `impl From<steadfast::Open> for {Self}` (e.g. an `Unavailable` variant), or remove `breaker`"
)]
pub trait FromOpen {
    /// The caller's error for a call turned away.
    fn from_open(open: Open) -> Self;
}

impl<E: From<Open>> FromOpen for E {
    fn from_open(open: Open) -> Self {
        open.into()
    }
}

/// After a classified attempt: reports it to the breaker; whether a retry may still
/// happen (not once the breaker is open: the next attempt would only be turned away).
pub fn breaker_record(permit: BreakerPermit<'_>, is_ok: bool, retry: bool) -> bool {
    permit.record(Verdict::of(is_ok, retry)) && retry
}

/// After a classified attempt: reports it to the budget; whether a retry may still happen.
pub fn budget_record<G: AsGuard<Budget> + ?Sized>(guard: &G, is_ok: bool, retry: bool) -> bool {
    guard.as_guard().record(Verdict::of(is_ok, retry)) && retry
}

/// A throttle the `throttle` key of an `async fn` accepts: in-process, or shared by a
/// fleet through Redis (whose permit can be refused when Redis is down and the throttle
/// fails closed).
#[diagnostic::on_unimplemented(
    message = "expected a `steadfast::Throttle`, found `{Self}`",
    label = "not a throttle",
    note = "name a `static` holding a `steadfast::Throttle`, or a `LazyLock` of one (or of a `steadfast::distributed::Throttle`)"
)]
pub trait AsyncThrottle {
    /// Why a permit can be refused: never, in process.
    type Refusal;
    /// Waits for a permit.
    fn permit(&self) -> impl Future<Output = Result<(), Self::Refusal>> + Send;
}

impl AsyncThrottle for Throttle {
    type Refusal = Infallible;

    async fn permit(&self) -> Result<(), Infallible> {
        self.acquire().await;
        Ok(())
    }
}

impl<T: AsyncThrottle + Sync + ?Sized> AsyncThrottle for &T {
    type Refusal = T::Refusal;

    fn permit(&self) -> impl Future<Output = Result<(), T::Refusal>> + Send {
        (**self).permit()
    }
}

impl<T: AsyncThrottle + Sync + Send + ?Sized> AsyncThrottle for Arc<T> {
    type Refusal = T::Refusal;

    fn permit(&self) -> impl Future<Output = Result<(), T::Refusal>> + Send {
        (**self).permit()
    }
}

impl<T: AsyncThrottle + Sync, F: FnOnce() -> T> AsyncThrottle for LazyLock<T, F> {
    type Refusal = T::Refusal;

    fn permit(&self) -> impl Future<Output = Result<(), T::Refusal>> + Send {
        LazyLock::force(self).permit()
    }
}

/// `throttle = …` in an `async fn`: the permit to wait for before each attempt.
pub fn throttle_permit<G: AsyncThrottle + ?Sized>(
    guard: &G,
) -> impl Future<Output = Result<(), G::Refusal>> + Send + '_ {
    guard.permit()
}

/// A refused permit as the caller's outcome, `Err(E::from(refusal))`; `None` when the
/// permit was given.
pub fn refused<R: RetryOutput, X: Refusal<R::Err>>(permit: Result<(), X>) -> Option<R> {
    permit.err().map(|refusal| R::from_err(refusal.into_error()))
}

/// How a refused permit becomes the caller's error.
#[diagnostic::on_unimplemented(
    message = "a `throttle` that can refuse permits needs `{E}: From<{Self}>`",
    label = "`{E}` cannot be made from `{Self}`",
    note = "add `impl From<{Self}> for {E}`, or let the throttle fail open"
)]
pub trait Refusal<E> {
    /// The caller's error.
    fn into_error(self) -> E;
}

impl<E> Refusal<E> for Infallible {
    fn into_error(self) -> E {
        match self {}
    }
}

#[cfg(feature = "redis")]
impl<E: From<crate::distributed::Unavailable>> Refusal<E> for crate::distributed::Unavailable {
    fn into_error(self) -> E {
        self.into()
    }
}

/// A budget the `budget` key of an `async fn` accepts: in-process, or shared through Redis.
#[diagnostic::on_unimplemented(
    message = "expected a `steadfast::Budget`, found `{Self}`",
    label = "not a retry budget",
    note = "name a `static` holding a `steadfast::Budget`, or a `LazyLock` of one (or of a `steadfast::distributed::Budget`)"
)]
pub trait AsyncBudget {
    /// Reports a classified attempt; whether a retry may still happen.
    fn verdict(&self, is_ok: bool, retry: bool) -> impl Future<Output = bool> + Send;
}

impl AsyncBudget for Budget {
    fn verdict(&self, is_ok: bool, retry: bool) -> impl Future<Output = bool> + Send {
        std::future::ready(budget_record(self, is_ok, retry))
    }
}

impl<T: AsyncBudget + Sync + ?Sized> AsyncBudget for &T {
    fn verdict(&self, is_ok: bool, retry: bool) -> impl Future<Output = bool> + Send {
        (**self).verdict(is_ok, retry)
    }
}

impl<T: AsyncBudget + Sync + Send + ?Sized> AsyncBudget for Arc<T> {
    fn verdict(&self, is_ok: bool, retry: bool) -> impl Future<Output = bool> + Send {
        (**self).verdict(is_ok, retry)
    }
}

impl<T: AsyncBudget + Sync, F: FnOnce() -> T> AsyncBudget for LazyLock<T, F> {
    fn verdict(&self, is_ok: bool, retry: bool) -> impl Future<Output = bool> + Send {
        LazyLock::force(self).verdict(is_ok, retry)
    }
}

/// `budget = …` in an `async fn`: reports the attempt; whether a retry may still happen.
pub fn budget_verdict<G: AsyncBudget + ?Sized>(
    guard: &G,
    is_ok: bool,
    retry: bool,
) -> impl Future<Output = bool> + Send + '_ {
    guard.verdict(is_ok, retry)
}
