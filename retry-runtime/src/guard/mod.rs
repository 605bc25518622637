//! Shared guards: a [`Throttle`] (and an [`AdaptiveThrottle`] that learns the server's
//! limits), a [`Breaker`] and a [`Budget`], and the [`Guard`] trait
//! they (and their Redis-backed siblings) implement.
//!
//! A guard is consulted around every attempt of a retried call, in the attribute's
//! `throttle`, `breaker` and `budget` keys or on the [`Retry`](crate::builder::Retry)
//! builder: it admits the attempt (at once, after a wait, or not at all), then hears how
//! the attempt went and says whether a retry may start. The retry engine does the rest:
//! it sleeps a throttle's wait on the call's own timer, keeps a breaker's probe slot while
//! the attempt runs, and gives it back if the call is dropped.
//!
//! A guard of your own is one `impl Guard` plus the kind of key it fits:
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use steadfast::guard::{Admit, Fits, Guard, Record, Verdict};
//! use steadfast::Budget;
//!
//! /// Counts the attempts that failed, and never refuses one.
//! #[derive(Default)]
//! struct FailureCounter(AtomicU32);
//!
//! impl Guard for FailureCounter {
//!     type Refusal = Infallible;
//!     type Ticket = ();
//!
//!     fn admit(&self) -> Admit<(), Infallible> {
//!         Admit::Now(())
//!     }
//!
//!     fn record(&self, _: (), verdict: Verdict) -> Record {
//!         if verdict.is_failure() {
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!         }
//!         Record::Now(true)
//!     }
//! }
//!
//! impl Fits<Budget> for FailureCounter {}
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

mod adaptive;
mod breaker;
mod budget;
#[cfg(all(test, loom))]
mod loom;
pub(crate) mod set;
pub(crate) mod sync;
mod throttle;

pub use adaptive::{AdaptiveThrottle, AdaptiveThrottles, AdaptiveTicket, Learned, Weighted};
pub use breaker::{Breaker, BreakerPermit, BreakerState};
pub use budget::Budget;
pub use throttle::Throttle;

/// A boxed future a guard answers with when the answer needs a round-trip (to Redis). It
/// owns what it needs (a guard clones the handles it shares), so that a call can keep it
/// while it waits.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A guard consulted around every attempt of a retried call.
///
/// In-process guards answer at once; a guard backed by a shared store answers with a
/// future. See the [module docs](self) for an example.
pub trait Guard {
    /// Why the guard turns an attempt away: [`Open`](crate::Open) for a breaker,
    /// [`Infallible`] for a guard that never does. The caller's error reports it through
    /// [`Report`].
    type Refusal;

    /// What the guard remembers of an attempt between its admission and its verdict (a
    /// breaker's state when it let the attempt through).
    type Ticket;

    /// Before each attempt: let it through, turn it away, or name how long to wait before
    /// asking again (the call sleeps on its own timer, and a dropped wait takes nothing).
    fn admit(&self) -> Admit<Self::Ticket, Self::Refusal>;

    /// After each attempt: how it went; whether a retry may start.
    fn record(&self, ticket: Self::Ticket, verdict: Verdict) -> Record;

    /// The call was dropped after its admission and before its verdict: while the attempt
    /// ran (`running`), or while it waited for another guard. Gives back what the ticket
    /// holds; the default does nothing.
    fn abandon(&self, ticket: Self::Ticket, running: bool) {
        let _ = (ticket, running);
    }

    /// A hedged call is about to send another copy because the earlier ones are slow (not
    /// because one failed): spend what a retry spends, and say whether it may go. A
    /// [`Budget`] takes a token and refuses while it is at or below half (gRPC A6); the
    /// default lets every hedge through.
    fn hedge(&self) -> bool {
        true
    }
}

/// A guard's answer before an attempt.
pub enum Admit<K, R> {
    /// Go ahead.
    Now(K),
    /// Not now: the call ends with this refusal.
    Refused(R),
    /// Ask again after this long (a throttle's next permit).
    Wait(Duration),
    /// The answer is on its way.
    Pending(BoxFuture<Result<K, R>>),
}

/// A guard's answer after an attempt: whether a retry may start.
pub enum Record {
    /// The answer now.
    Now(bool),
    /// The answer is on its way.
    Pending(BoxFuture<bool>),
}

impl<K, R> std::fmt::Debug for Admit<K, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Admit::Now(_) => f.write_str("Now"),
            Admit::Refused(_) => f.write_str("Refused"),
            Admit::Wait(d) => f.debug_tuple("Wait").field(d).finish(),
            Admit::Pending(_) => f.write_str("Pending"),
        }
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Record::Now(b) => f.debug_tuple("Now").field(b).finish(),
            Record::Pending(_) => f.write_str("Pending"),
        }
    }
}

/// How an attempt went, as the guards hear it.
///
/// The classification (`on`, `unless`, `when`, `if_ok`) decides: an attempt it retries is a
/// *failure* whether or not an attempt remains; an `Ok` it does not retry is a *success*;
/// an error it does not retry (a 401) is *neither*, since it says nothing about the
/// service's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    outcome: Outcome,
    timed_out: bool,
    paced: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
    Neither,
}

impl Verdict {
    pub(crate) const fn new(is_ok: bool, retried: bool, timed_out: bool, paced: bool) -> Self {
        let outcome = match (is_ok, retried) {
            (_, true) => Outcome::Failure,
            (true, false) => Outcome::Success,
            (false, false) => Outcome::Neither,
        };
        Verdict { outcome, timed_out, paced }
    }

    /// An `Ok` the classification does not retry.
    pub const fn is_success(&self) -> bool {
        matches!(self.outcome, Outcome::Success)
    }

    /// An attempt the classification retries: a retryable error, a retried timeout, an
    /// `Ok` that `if_ok` rejects.
    pub const fn is_failure(&self) -> bool {
        matches!(self.outcome, Outcome::Failure)
    }

    /// The attempt ran past its `timeout`, whether or not it is retried.
    pub const fn timed_out(&self) -> bool {
        self.timed_out
    }

    /// The server said when to come back (`retry_after` gave a hint, as with a 429 or a
    /// 503 with `Retry-After`): it is up and pacing its clients.
    pub const fn paced(&self) -> bool {
        self.paced
    }
}

/// A guard that fits where a `K` does: `Fits<Throttle>` lets a guard be named by
/// `throttle = …` and [`Retry::throttle`](crate::builder::Retry::throttle), `Fits<Breaker>`
/// by `breaker`, `Fits<Budget>` by `budget`.
#[diagnostic::on_unimplemented(
    message = "expected a `{K}` (or another guard of its kind), found `{Self}`",
    label = "not a guard of this kind",
    note = "name the guard itself, a `LazyLock` of it, or a reference or `Arc` to it; the Redis-backed ones are in `steadfast::distributed`"
)]
pub trait Fits<K>: Guard {}

/// How the caller's error type reports what the retry loop produced instead of an
/// attempt's own error: a timeout ([`Elapsed`](crate::Elapsed)) or a guard's refusal
/// ([`Open`](crate::Open), `Unavailable`).
///
/// Implemented for every `E: From<R>`, and for [`Error<X>`](crate::Error), which holds them
/// all (for error types you do not own, with `wrap`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot report a `{R}` the retry loop produced",
    label = "the error type must be able to hold a `{R}`",
    note = "for an error type you do not own (`reqwest::Error`, `io::Error`), add `wrap` (on the builder, `.wrap()` before `.timeout(…)`): the caller gets `steadfast::Error<…>`, which holds it",
    note = "for your own error type, add `impl From<{R}> for {Self}` (a variant for it)"
)]
pub trait Report<R>: Sized {
    /// The caller's error for `refusal`.
    fn report(refusal: R) -> Self;
}

impl<E> Report<Infallible> for E {
    fn report(refusal: Infallible) -> Self {
        match refusal {}
    }
}

impl<E: From<crate::Open>> Report<crate::Open> for E {
    fn report(refusal: crate::Open) -> Self {
        refusal.into()
    }
}

impl<E: From<crate::Elapsed>> Report<crate::Elapsed> for E {
    fn report(refusal: crate::Elapsed) -> Self {
        refusal.into()
    }
}

impl Guard for () {
    type Refusal = Infallible;
    type Ticket = ();

    #[inline]
    fn admit(&self) -> Admit<(), Infallible> {
        Admit::Now(())
    }

    #[inline]
    fn record(&self, _: (), _: Verdict) -> Record {
        Record::Now(true)
    }
}

impl<T: Guard + ?Sized> Guard for &T {
    type Refusal = T::Refusal;
    type Ticket = T::Ticket;

    #[inline]
    fn admit(&self) -> Admit<Self::Ticket, Self::Refusal> {
        (**self).admit()
    }

    #[inline]
    fn record(&self, ticket: Self::Ticket, verdict: Verdict) -> Record {
        (**self).record(ticket, verdict)
    }

    fn abandon(&self, ticket: Self::Ticket, running: bool) {
        (**self).abandon(ticket, running)
    }

    fn hedge(&self) -> bool {
        (**self).hedge()
    }
}

impl<T: Guard + ?Sized> Guard for Arc<T> {
    type Refusal = T::Refusal;
    type Ticket = T::Ticket;

    #[inline]
    fn admit(&self) -> Admit<Self::Ticket, Self::Refusal> {
        (**self).admit()
    }

    #[inline]
    fn record(&self, ticket: Self::Ticket, verdict: Verdict) -> Record {
        (**self).record(ticket, verdict)
    }

    fn abandon(&self, ticket: Self::Ticket, running: bool) {
        (**self).abandon(ticket, running)
    }

    fn hedge(&self) -> bool {
        (**self).hedge()
    }
}

impl<T: Guard, F: FnOnce() -> T> Guard for LazyLock<T, F> {
    type Refusal = T::Refusal;
    type Ticket = T::Ticket;

    #[inline]
    fn admit(&self) -> Admit<Self::Ticket, Self::Refusal> {
        LazyLock::force(self).admit()
    }

    #[inline]
    fn record(&self, ticket: Self::Ticket, verdict: Verdict) -> Record {
        LazyLock::force(self).record(ticket, verdict)
    }

    fn abandon(&self, ticket: Self::Ticket, running: bool) {
        LazyLock::force(self).abandon(ticket, running)
    }

    fn hedge(&self) -> bool {
        LazyLock::force(self).hedge()
    }
}

/// A guard that always answers at once: what a sync `fn` accepts (the in-process guards;
/// a Redis-backed one needs an async fn).
#[diagnostic::on_unimplemented(
    message = "`{Self}` answers asynchronously, so a sync `fn` cannot wait for it",
    label = "needs an `async fn`",
    note = "make the function `async`, or use an in-process guard (`steadfast::Throttle`, `Breaker`, `Budget`)"
)]
pub trait Immediate {}

impl Immediate for () {}
impl<T: Immediate + ?Sized> Immediate for &T {}
impl<T: Immediate + ?Sized> Immediate for Arc<T> {}
impl<T: Immediate, F: FnOnce() -> T> Immediate for LazyLock<T, F> {}

impl<K, T: Fits<K> + ?Sized> Fits<K> for &T {}
impl<K, T: Fits<K> + ?Sized> Fits<K> for Arc<T> {}
impl<K, T: Fits<K>, F: FnOnce() -> T> Fits<K> for LazyLock<T, F> {}
