//! What `#[retry]` generates for the `throttle`, `breaker` and `budget` keys, re-exported
//! from `__private`. Not public API.

use std::future::Future;

use super::{AsGuard, Breaker, BreakerPermit, Budget, Throttle, Verdict};
use crate::__private::RetryOutput;
use crate::error::Open;

/// `throttle = …` on an `async fn`: waits for a permit before each attempt.
pub fn throttle<G: AsGuard<Throttle> + ?Sized>(guard: &G) -> impl Future<Output = ()> + '_ {
    guard.as_guard().acquire()
}

/// `throttle = …` on a `fn`: blocks until a permit is free.
pub fn throttle_blocking<G: AsGuard<Throttle> + ?Sized>(guard: &G) {
    guard.as_guard().acquire_blocking()
}

/// `breaker = …`: lets the attempt through, or turns it away.
pub fn breaker<G: AsGuard<Breaker> + ?Sized>(guard: &G) -> Result<BreakerPermit<'_>, Open> {
    guard.as_guard().try_acquire()
}

/// The outcome of a call turned away by an open breaker: `Err(E::from(Open))`, spanned at
/// `breaker = …`.
pub fn open<R>(open: Open) -> R
where
    R: RetryOutput,
    R::Err: FromOpen,
{
    R::from_err(R::Err::from_open(open))
}

/// `From<Open>`, under a name whose error says what `breaker` needs.
#[diagnostic::on_unimplemented(
    message = "`breaker` needs `{Self}: From<tenacious::Open>` to report a call that an open breaker turned away",
    label = "`{Self}` cannot be made from `tenacious::Open`",
    note = "add `impl From<tenacious::Open> for {Self}` (e.g. an `Unavailable` variant), or remove `breaker`"
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
pub fn breaker_record<R: RetryOutput>(permit: BreakerPermit<'_>, result: &R, retry: bool) -> bool {
    permit.record(Verdict::of(result.as_result().is_ok(), retry)) && retry
}

/// After a classified attempt: reports it to the budget; whether a retry may still happen.
pub fn budget_record<G, R>(guard: &G, result: &R, retry: bool) -> bool
where
    G: AsGuard<Budget> + ?Sized,
    R: RetryOutput,
{
    guard.as_guard().record(Verdict::of(result.as_result().is_ok(), retry)) && retry
}
