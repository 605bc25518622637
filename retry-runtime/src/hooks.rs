//! The hooks of a retried call: how an outcome is classified (`on`, `unless`, `when`,
//! `if_ok`), the server's hint (`retry_after`), and `notify`. The attribute and the
//! builder fill the same [`HookSet`]; every hook is an `FnMut`.

use std::marker::PhantomData;
use std::time::Duration;

use crate::attempt::Attempt;

/// A predicate on an error or a value: `when`, `unless`, `if_ok`.
pub trait Predicate<A: ?Sized> {
    /// Known before any value is seen to let none pass ([`Never`]).
    const NONE_PASS: bool = false;

    /// Whether `value` passes.
    fn test(&mut self, value: &A) -> bool;
}

impl<A: ?Sized, F: FnMut(&A) -> bool> Predicate<A> for F {
    fn test(&mut self, value: &A) -> bool {
        self(value)
    }
}

/// The predicate that every value passes: the default `on` and `when`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Always;

impl<A: ?Sized> Predicate<A> for Always {
    #[inline(always)]
    fn test(&mut self, _: &A) -> bool {
        true
    }
}

/// The predicate that no value passes: the default `unless` and `if_ok`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Never;

impl<A: ?Sized> Predicate<A> for Never {
    const NONE_PASS: bool = true;

    #[inline(always)]
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
    #[inline(always)]
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

    #[inline(always)]
    fn notify(&mut self, _: &Attempt<'_, E>) {}
}

/// The hooks of one call, for values `T` and errors `E`.
///
/// `on` (the attribute's types) and `when` judge the body's errors, `unless` wins over both;
/// a timed-out attempt is judged by `unless` and `when` only, since `on` names the body's
/// errors. Without an `E` to judge (with `wrap`, a timeout is an `Elapsed`), a timeout is
/// retried unless `unless` names `Elapsed`.
pub struct HookSet<T, E, On = Always, Unless = Never, When = Always, IfOk = Never, H = NoHint, N = Silent> {
    pub(crate) on: On,
    pub(crate) unless: Unless,
    pub(crate) when: When,
    pub(crate) if_ok: IfOk,
    pub(crate) retry_after: H,
    pub(crate) notify: N,
    /// With `wrap`: whether `unless` names `Elapsed`.
    pub(crate) never_elapsed: bool,
    types: PhantomData<fn(&T, &E)>,
}

impl<T, E, On, Unless, When, IfOk, H, N> std::fmt::Debug for HookSet<T, E, On, Unless, When, IfOk, H, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookSet").finish_non_exhaustive()
    }
}

impl<T, E> HookSet<T, E> {
    /// No hooks: every error is retried, no value is.
    #[inline(always)]
    pub const fn new() -> Self {
        HookSet {
            on: Always,
            unless: Never,
            when: Always,
            if_ok: Never,
            retry_after: NoHint,
            notify: Silent,
            never_elapsed: false,
            types: PhantomData,
        }
    }
}

impl<T, E> Default for HookSet<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E, On, Unless, When, IfOk, H, N> HookSet<T, E, On, Unless, When, IfOk, H, N> {
    /// `on`: the body's errors to retry (by default all).
    #[inline(always)]
    pub fn on<F: FnMut(&E) -> bool>(self, on: F) -> HookSet<T, E, F, Unless, When, IfOk, H, N> {
        HookSet {
            on,
            unless: self.unless,
            when: self.when,
            if_ok: self.if_ok,
            retry_after: self.retry_after,
            notify: self.notify,
            never_elapsed: self.never_elapsed,
            types: PhantomData,
        }
    }

    /// `unless`: errors never to retry, timeouts included.
    #[inline(always)]
    pub fn unless<F: FnMut(&E) -> bool>(self, unless: F) -> HookSet<T, E, On, F, When, IfOk, H, N> {
        HookSet {
            on: self.on,
            unless,
            when: self.when,
            if_ok: self.if_ok,
            retry_after: self.retry_after,
            notify: self.notify,
            never_elapsed: self.never_elapsed,
            types: PhantomData,
        }
    }

    /// `when`: retry only errors for which it returns true.
    #[inline(always)]
    pub fn when<F: FnMut(&E) -> bool>(self, when: F) -> HookSet<T, E, On, Unless, F, IfOk, H, N> {
        HookSet {
            on: self.on,
            unless: self.unless,
            when,
            if_ok: self.if_ok,
            retry_after: self.retry_after,
            notify: self.notify,
            never_elapsed: self.never_elapsed,
            types: PhantomData,
        }
    }

    /// `if_ok`: retry the values for which it returns true.
    #[inline(always)]
    pub fn if_ok<F: FnMut(&T) -> bool>(self, if_ok: F) -> HookSet<T, E, On, Unless, When, F, H, N> {
        HookSet {
            on: self.on,
            unless: self.unless,
            when: self.when,
            if_ok,
            retry_after: self.retry_after,
            notify: self.notify,
            never_elapsed: self.never_elapsed,
            types: PhantomData,
        }
    }

    /// `retry_after`: a server's hint for the next sleep.
    #[inline(always)]
    pub fn retry_after<F: FnMut(&E) -> Option<Duration>>(self, hint: F) -> HookSet<T, E, On, Unless, When, IfOk, F, N> {
        HookSet {
            on: self.on,
            unless: self.unless,
            when: self.when,
            if_ok: self.if_ok,
            retry_after: hint,
            notify: self.notify,
            never_elapsed: self.never_elapsed,
            types: PhantomData,
        }
    }

    /// `notify`: called before each sleep.
    #[inline(always)]
    pub fn notify<F: FnMut(&Attempt<'_, E>)>(self, notify: F) -> HookSet<T, E, On, Unless, When, IfOk, H, F> {
        HookSet {
            on: self.on,
            unless: self.unless,
            when: self.when,
            if_ok: self.if_ok,
            retry_after: self.retry_after,
            notify,
            never_elapsed: self.never_elapsed,
            types: PhantomData,
        }
    }

    /// `when` and `retry_after` of any type, closures or not (the tower layer's and the
    /// reqwest middleware's).
    #[cfg(feature = "tower")]
    #[inline(always)]
    pub(crate) fn judged_by<W, K>(self, when: W, hint: K) -> HookSet<T, E, On, Unless, W, IfOk, K, N> {
        HookSet {
            on: self.on,
            unless: self.unless,
            when,
            if_ok: self.if_ok,
            retry_after: hint,
            notify: self.notify,
            never_elapsed: self.never_elapsed,
            types: PhantomData,
        }
    }

    /// A timeout is never retried (`unless` names `Elapsed`, or the builder's
    /// `unless_elapsed`).
    #[inline(always)]
    pub fn never_elapsed(mut self, never: bool) -> Self {
        self.never_elapsed = never;
        self
    }
}

/// What the engine asks of a call's hooks (a [`HookSet`]).
#[doc(hidden)]
pub trait Hooks<T, E> {
    /// Whether `notify` does anything.
    const NOTIFY: bool;
    /// Whether every success ends the call (no `if_ok`).
    const OK_ENDS: bool;
    /// An attempt's outcome: whether to retry it.
    fn retry(&mut self, outcome: &crate::engine::Outcome<'_, T, E>) -> bool;
    /// The server's hint in a retried error.
    fn hint(&mut self, error: &E) -> Option<Duration>;
    /// Before a sleep.
    fn notify(&mut self, attempt: &Attempt<'_, E>);
}

impl<T, E, On, Unless, When, IfOk, H, N> Hooks<T, E> for HookSet<T, E, On, Unless, When, IfOk, H, N>
where
    On: Predicate<E>,
    Unless: Predicate<E>,
    When: Predicate<E>,
    IfOk: Predicate<T>,
    H: Hint<E>,
    N: Notify<E>,
{
    const NOTIFY: bool = N::ACTIVE;
    const OK_ENDS: bool = IfOk::NONE_PASS;

    #[inline(always)]
    fn retry(&mut self, outcome: &crate::engine::Outcome<'_, T, E>) -> bool {
        use crate::engine::Outcome;
        match *outcome {
            Outcome::Ok(value) => self.if_ok.test(value),
            Outcome::Err(error) => !self.unless.test(error) && self.on.test(error) && self.when.test(error),
            Outcome::TimedOut(Some(error)) => !self.never_elapsed && !self.unless.test(error) && self.when.test(error),
            Outcome::TimedOut(None) => !self.never_elapsed,
        }
    }

    #[inline(always)]
    fn hint(&mut self, error: &E) -> Option<Duration> {
        self.retry_after.hint(error)
    }

    #[inline(always)]
    fn notify(&mut self, attempt: &Attempt<'_, E>) {
        self.notify.notify(attempt)
    }
}
