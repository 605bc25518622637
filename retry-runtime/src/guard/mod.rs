//! Shared guards: [`Throttle`], [`Breaker`] and [`Budget`]. Each lives in a `static` (a
//! `const fn` builds it) shared by every function that names it, in the attribute's
//! `throttle`, `breaker` and `budget` keys, on the [`Retry`](crate::Retry) builder, or on
//! its own around any code.

use std::sync::{Arc, LazyLock};

mod breaker;
mod budget;
pub(crate) mod builder;
#[cfg(all(test, loom))]
mod loom;
pub(crate) mod private;
mod sync;
mod throttle;

pub use breaker::{Breaker, BreakerPermit, BreakerState};
pub use budget::Budget;
pub use throttle::Throttle;

/// A path the `throttle`, `breaker` and `budget` keys accept: the guard itself, a
/// `LazyLock` of it (for a guard built at run time), or a reference or `Arc` to either.
#[diagnostic::on_unimplemented(
    message = "expected a `{G}`, found `{Self}`",
    label = "not a `{G}`",
    note = "name a `static` holding the guard, e.g. `static LIMIT: {G} = …;`, or a `LazyLock<{G}>` for one built at run time"
)]
pub trait AsGuard<G> {
    /// The guard.
    fn as_guard(&self) -> &G;
}

impl AsGuard<Throttle> for Throttle {
    #[inline]
    fn as_guard(&self) -> &Throttle {
        self
    }
}

impl AsGuard<Breaker> for Breaker {
    #[inline]
    fn as_guard(&self) -> &Breaker {
        self
    }
}

impl AsGuard<Budget> for Budget {
    #[inline]
    fn as_guard(&self) -> &Budget {
        self
    }
}

impl<G, F: FnOnce() -> G> AsGuard<G> for LazyLock<G, F> {
    fn as_guard(&self) -> &G {
        LazyLock::force(self)
    }
}

impl<G, T: AsGuard<G> + ?Sized> AsGuard<G> for &T {
    fn as_guard(&self) -> &G {
        (**self).as_guard()
    }
}

impl<G, T: AsGuard<G> + ?Sized> AsGuard<G> for Arc<T> {
    fn as_guard(&self) -> &G {
        (**self).as_guard()
    }
}

/// What an attempt says about the service, for the breaker and the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// An `Ok` that is not retried.
    Success,
    /// Anything the classification retries: a retryable error, a timeout, an `Ok` that
    /// `if_ok` rejects.
    Failure,
    /// An error that is not retried: it says nothing about the service's health.
    Neither,
}

impl Verdict {
    pub(crate) fn of(is_ok: bool, retry: bool) -> Verdict {
        match (is_ok, retry) {
            (_, true) => Verdict::Failure,
            (true, false) => Verdict::Success,
            (false, false) => Verdict::Neither,
        }
    }
}

impl BreakerPermit<'_> {
    /// Reports `verdict`; whether the breaker still lets calls through after it.
    pub(crate) fn record(self, verdict: Verdict) -> bool {
        let breaker = self.breaker();
        match verdict {
            Verdict::Success => self.success(),
            Verdict::Failure => self.failure(),
            Verdict::Neither => drop(self),
        }
        !breaker.is_open()
    }
}

impl Budget {
    /// Reports `verdict`; whether a retry may start after it.
    pub(crate) fn record(&self, verdict: Verdict) -> bool {
        match verdict {
            Verdict::Success => {
                self.record_success();
                true
            }
            Verdict::Failure => self.record_failure(),
            Verdict::Neither => true,
        }
    }
}
