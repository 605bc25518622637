//! What `#[retry]` generates for the `throttle`, `breaker` and `budget` keys, re-exported
//! from `__private`. Not public API.

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
pub fn breaker_record(permit: BreakerPermit<'_>, is_ok: bool, retry: bool) -> bool {
    permit.record(Verdict::of(is_ok, retry)) && retry
}

/// After a classified attempt: reports it to the budget; whether a retry may still happen.
pub fn budget_record<G: AsGuard<Budget> + ?Sized>(guard: &G, is_ok: bool, retry: bool) -> bool {
    guard.as_guard().record(Verdict::of(is_ok, retry)) && retry
}
