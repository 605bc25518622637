// Not public API. Used by the code `#[retry]` generates; may change in any release.
//
// Every function here exists to put a bound where rustc reports it at the user's token
// (the generated call is spanned there), or to name a type the expansion cannot spell.

use std::marker::PhantomData;
use std::time::Duration;

use crate::attempt::Attempt;
use crate::guard::set::Slot;
use crate::guard::Immediate;
use crate::timer::Clock;

pub use crate::classify::{caused_by, chain, view, Describe, Describer, ErrorChain};
pub use crate::engine::{Blocking, Call, NoStart, Outcome, Start};
pub use crate::error::{Elapsed, Error};
pub use crate::guard::set::{fits, Guards, NoGuard, Refused, SetRefusal};
pub use crate::guard::Report;
pub use crate::guard::{Breaker, Budget, Throttle};
pub use crate::hooks::HookSet;
pub use crate::observe::{emit, Callsites, ErrorField, Event, Events, Log};
pub use crate::policy::{Backoff, HintAboveMax, Jitter, Policy};
pub use crate::timer::{DefaultClock, DefaultTimer, Instant, StdClock, Timer};
pub use crate::{__retry as retry, __retry_events as events};
pub use tracing::Level;

/// The fake return of an attempt's block, typing `?` and `return` in the body before the
/// block's own value is checked (tracing-attributes does the same); behind `if false`,
/// never called. A type argument, not a local, so that the block captures nothing more.
#[inline(always)]
pub fn never<R>() -> R {
    unreachable!("the attempt's type witness is behind `if false`")
}

/// [`never`] for the body of a function under `wrap`: `Result<T, E>` for a declared
/// `Result<T, steadfast::Error<E>>`.
#[inline(always)]
pub fn never_wrapped<R: Wrapped>() -> Result<R::Ok, R::Inner> {
    unreachable!("the attempt's type witness is behind `if false`")
}

pub use tracing;

/// The one check that the function returns a `Result`, spanned at the return type.
#[diagnostic::on_unimplemented(
    message = "`#[retry]` requires the function to return `Result<_, _>`, found `{Self}`",
    label = "expected `Result<_, _>` here",
    note = "each attempt's `Err` decides whether to retry; wrap the value in `Ok(..)` and return `Result<{Self}, E>`"
)]
pub trait RetryOutput {
    /// The success type.
    type Ok;
    /// The error type.
    type Err;
    /// A failed outcome.
    fn from_err(error: Self::Err) -> Self;
    /// The value or the error, borrowed.
    fn as_result(&self) -> Result<&Self::Ok, &Self::Err>;
}

impl<T, E> RetryOutput for Result<T, E> {
    type Ok = T;
    type Err = E;

    #[inline(always)]
    fn from_err(error: E) -> Self {
        Err(error)
    }

    #[inline(always)]
    fn as_result(&self) -> Result<&T, &E> {
        self.as_ref()
    }
}

/// The return type under `wrap`: `Result<T, steadfast::Error<E>>`, whose body returns
/// `Result<T, E>`.
#[diagnostic::on_unimplemented(
    message = "`wrap` needs the function to return `Result<T, steadfast::Error<E>>`, found `{Self}`",
    label = "expected `Result<T, steadfast::Error<E>>` here",
    note = "with `wrap` the body returns `Result<T, E>` and callers get `steadfast::Error<E>`, which also holds timeouts and refusals"
)]
pub trait Wrapped {
    /// The success type.
    type Ok;
    /// The body's error type.
    type Inner;
    /// The caller's result.
    fn from_result(result: Result<Self::Ok, Error<Self::Inner>>) -> Self;
}

impl<T, E> Wrapped for Result<T, Error<E>> {
    type Ok = T;
    type Inner = E;

    #[inline(always)]
    fn from_result(result: Self) -> Self {
        result
    }
}

/// The types of a function returning `R`; its methods put each bound the expansion needs
/// where rustc reports it at the user's token.
#[inline(always)]
pub const fn sig<R: RetryOutput>() -> Sig<R::Ok, R::Err> {
    Sig(PhantomData)
}

/// The types of a function returning `R` under `wrap`.
#[inline(always)]
pub const fn wrapped_sig<R: Wrapped>() -> WrappedSig<R::Ok, R::Inner> {
    WrappedSig(PhantomData)
}

/// A function's value and error types.
#[allow(missing_debug_implementations)]
pub struct Sig<T, E>(PhantomData<fn() -> (T, E)>);

/// A function's value and body error types under `wrap`.
#[allow(missing_debug_implementations)]
pub struct WrappedSig<T, E>(PhantomData<fn() -> (T, E)>);

/// The methods both kinds of signature share.
macro_rules! common {
    ($err:ty) => {
        /// No hooks yet: the attribute's keys add them.
        #[inline(always)]
        pub const fn hooks(&self) -> HookSet<T, E> {
            HookSet::new()
        }

        /// The events, at `callsites`, errors shown by `describe`, with the user's `fields`.
        #[inline(always)]
        pub fn events<F: Fields>(
            &self,
            callsites: &'static Callsites,
            describe: Describe<E>,
            fields: F,
        ) -> impl Events<E> + use<F, T, E> {
            Sink { callsites, describe, fields }
        }

        /// What picks how an error is shown.
        #[inline(always)]
        pub const fn describer(&self) -> Describer<E> {
            Describer::new()
        }

        /// A guard's refusal as the caller's error; spanned at the guard's key.
        #[cold]
        pub fn report<X>(&self, refusal: X) -> $err
        where
            $err: Report<X>,
        {
            <$err>::report(refusal)
        }

        // The hooks as trait objects: the coercion gives a closure its parameter types and
        // is the one place a hook of the wrong shape is reported (a generic bound would be
        // reported again by every later bound on the hook's type). The calls are on the
        // retry path, except `if_ok`'s on each `Ok`.

        /// At `when`.
        #[inline(always)]
        pub fn when<'h>(&self, hook: &'h mut (dyn FnMut(&E) -> bool + 'h)) -> &'h mut (dyn FnMut(&E) -> bool + 'h) {
            hook
        }

        /// At `if_ok`.
        #[inline(always)]
        pub fn if_ok<'h>(&self, hook: &'h mut (dyn FnMut(&T) -> bool + 'h)) -> &'h mut (dyn FnMut(&T) -> bool + 'h) {
            hook
        }

        /// At `retry_after`.
        #[inline(always)]
        pub fn retry_after<'h>(
            &self,
            hook: &'h mut (dyn FnMut(&E) -> Option<Duration> + 'h),
        ) -> &'h mut (dyn FnMut(&E) -> Option<Duration> + 'h) {
            hook
        }

        /// At `notify`.
        #[inline(always)]
        pub fn notify<'h>(
            &self,
            hook: &'h mut (dyn FnMut(&Attempt<'_, E>) + 'h),
        ) -> &'h mut (dyn FnMut(&Attempt<'_, E>) + 'h) {
            hook
        }

        /// At a guard key of a sync `fn`: the guard answers at once.
        #[inline(always)]
        pub fn immediate<'g, G: Immediate + ?Sized>(&self, guard: &'g G) -> &'g G {
            guard
        }
    };
}

impl<T, E> Sig<T, E> {
    common!(E);

    // The calls that name the return type `R` are spanned at it, as `sig` is, so that a
    // return type that is not a `Result` is reported once.

    /// The outcome of an attempt that returned `result`.
    #[inline(always)]
    pub fn outcome<'a, R: RetryOutput<Ok = T, Err = E>>(&self, result: &'a R, timed_out: bool) -> Outcome<'a, T, E> {
        Outcome::of(result.as_result(), timed_out)
    }

    /// A timed-out attempt's error, `E::report(elapsed)`; spanned at the key that set the
    /// timeout.
    #[cold]
    pub fn elapsed(&self, elapsed: Elapsed) -> E
    where
        E: Report<Elapsed>,
    {
        E::report(elapsed)
    }

    /// `Err(error)` as the caller's outcome.
    #[inline]
    pub fn err<R: RetryOutput<Ok = T, Err = E>>(&self, error: E) -> R {
        R::from_err(error)
    }
}

impl<T, E> WrappedSig<T, E> {
    common!(Error<E>);

    /// The outcome of an attempt: a timeout has no body error.
    #[inline(always)]
    pub fn outcome<'a>(&self, result: &'a Result<Result<T, E>, Elapsed>) -> Outcome<'a, T, E> {
        match result {
            Ok(Ok(value)) => Outcome::Ok(value),
            Ok(Err(error)) => Outcome::Err(error),
            Err(_) => Outcome::TimedOut(None),
        }
    }

    // The calls that name the return type `R` are spanned at it, as `wrapped_sig` is, so
    // that a return type of the wrong shape is reported once.

    /// The caller's result.
    #[inline(always)]
    pub fn result<R: Wrapped<Ok = T, Inner = E>>(&self, result: Result<Result<T, E>, Elapsed>) -> R {
        R::from_result(match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Error::Inner(error)),
            Err(elapsed) => Err(Error::Elapsed(elapsed)),
        })
    }

    /// `Err(error)` as the caller's outcome.
    #[inline]
    pub fn err<R: Wrapped<Ok = T, Inner = E>>(&self, error: Error<E>) -> R {
        R::from_result(Err(error))
    }
}

/// Events of a retried function.
struct Sink<E, F> {
    callsites: &'static Callsites,
    describe: Describe<E>,
    fields: F,
}

impl<E, F: Fields> Events<E> for Sink<E, F> {
    #[inline(always)]
    fn event(&mut self, event: &Event<'_, E>) {
        let (callsites, describe) = (self.callsites, self.describe);
        self.fields.with(&mut |user| emit(callsites, event, event.error().and_then(describe), user));
    }
}

/// The values of a `fields(…)` list, made when an event is emitted.
pub trait Fields {
    /// Hands the values to `emit`.
    fn with(&mut self, emit: &mut dyn FnMut(&[Option<&dyn tracing::Value>]));
}

impl<F: FnMut(&mut dyn FnMut(&[Option<&dyn tracing::Value>]))> Fields for F {
    #[inline(always)]
    fn with(&mut self, emit: &mut dyn FnMut(&[Option<&dyn tracing::Value>])) {
        self(emit)
    }
}

/// No `fields(…)`.
#[allow(non_upper_case_globals)]
pub const no_fields: NoFields = NoFields;

/// No `fields(…)`.
#[derive(Debug, Clone, Copy)]
pub struct NoFields;

impl Fields for NoFields {
    #[inline(always)]
    fn with(&mut self, emit: &mut dyn FnMut(&[Option<&dyn tracing::Value>])) {
        emit(&[])
    }
}

/// No events (`log = "off"`).
#[derive(Debug, Clone, Copy)]
pub struct NoEvents;

impl<E> Events<E> for NoEvents {
    #[inline(always)]
    fn event(&mut self, _: &Event<'_, E>) {}
}

/// The call of the async fn `name`, on the timer `T`; spanned at the fn's `async` (or the
/// `timer` key), where a missing timer is reported.
#[inline(always)]
pub fn timed<T: Timer, B: Slot, Th: Slot, U: Slot, S: Start>(
    policy: &Policy,
    guards: Guards<B, Th, U>,
    notify: bool,
    name: &'static str,
) -> Call<T, B, Th, U, S> {
    Call::named(policy, guards, notify, name)
}

/// The call of the sync fn `name`, on the clock `C`.
#[inline(always)]
pub fn blocking<C: Clock, B: Slot, Th: Slot, U: Slot, S: Start>(
    policy: &Policy,
    guards: Guards<B, Th, U>,
    notify: bool,
    name: &'static str,
) -> Call<Blocking<C>, B, Th, U, S> {
    Call::named(policy, guards, notify, name)
}

/// With `wrap`: whether `unless = T` names a timeout.
pub fn elapsed_is<T: std::error::Error + 'static>() -> bool {
    caused_by::<T>(&Elapsed::new(Duration::ZERO))
}

/// At `policy = …`: a `Policy`, or a reference to one.
#[inline(always)]
pub fn policy<P: AsPolicy + ?Sized>(policy: &P) -> &Policy {
    policy.as_policy()
}

/// What `policy = …` accepts.
#[diagnostic::on_unimplemented(
    message = "expected a `steadfast::Policy`, found `{Self}`",
    label = "not a retry policy",
    note = "`policy = …` takes an expression of type `Policy` or `&Policy`, e.g. `policy = self.retry_policy`"
)]
pub trait AsPolicy {
    /// The policy.
    fn as_policy(&self) -> &Policy;
}

#[diagnostic::do_not_recommend]
impl AsPolicy for Policy {
    #[inline(always)]
    fn as_policy(&self) -> &Policy {
        self
    }
}

#[diagnostic::do_not_recommend]
impl<P: AsPolicy + ?Sized> AsPolicy for &P {
    #[inline(always)]
    fn as_policy(&self) -> &Policy {
        (**self).as_policy()
    }
}

#[diagnostic::do_not_recommend]
impl<P: AsPolicy + ?Sized> AsPolicy for std::sync::Arc<P> {
    #[inline(always)]
    fn as_policy(&self) -> &Policy {
        (**self).as_policy()
    }
}

#[diagnostic::do_not_recommend]
impl<P: AsPolicy, F: FnOnce() -> P> AsPolicy for std::sync::LazyLock<P, F> {
    #[inline(always)]
    fn as_policy(&self) -> &Policy {
        std::sync::LazyLock::force(self).as_policy()
    }
}

/// A `Duration` from the parts the macro computed.
#[inline(always)]
pub const fn duration(secs: u64, nanos: u32) -> Duration {
    Duration::new(secs, nanos)
}

#[cfg(any(feature = "tokio", feature = "smol", feature = "futures-timer", feature = "embassy"))]
/// A stream fn's [`RetryStream`](crate::stream::RetryStream), typed by the item its return
/// type names, so that the body's `Ok`s and `Err`s need no annotation.
pub fn retry_stream<I: RetryOutput, F, S>(
    policy: Policy,
    make: F,
) -> crate::stream::RetryStream<F, S, HookSet<I::Ok, I::Err>, Guards, DefaultTimer>
where
    F: FnMut() -> S,
    S: futures_core::Stream<Item = Result<I::Ok, I::Err>>,
{
    policy.retry_stream(make)
}

/// A hedged fn's [`Retry`](crate::builder::Retry), typed by the fn's return type `R`, so
/// that the body's `Ok`s and `Err`s need no annotation.
#[inline]
pub fn hedged<R: RetryOutput, F, Fut>(policy: Policy, op: F) -> crate::builder::Retry<F, HookSet<R::Ok, R::Err>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<R::Ok, R::Err>>,
{
    policy.retry(op)
}

/// [`hedged`] for a fn under `wrap`: the body returns `Result<T, E>`.
#[inline]
pub fn wrapped_hedged<R: Wrapped, F, Fut>(policy: Policy, op: F) -> crate::builder::Retry<F, HookSet<R::Ok, R::Inner>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<R::Ok, R::Inner>>,
{
    policy.retry(op)
}

pub use crate::hedge::Latencies;

/// A hedged call's result and whether it ended with its copies spent (a fallback applies).
pub async fn ending<C>(call: C) -> (C::Output, bool)
where
    C: std::future::IntoFuture,
    C::IntoFuture: crate::fallback::Ending,
{
    let mut call = std::pin::pin!(call.into_future());
    std::future::poll_fn(|cx| crate::fallback::Ending::poll_end(call.as_mut(), cx)).await
}

/// At `fallback = …` on an `async fn`: calls the fallback with the error that ended the
/// retries. The one place its shape is checked (and a closure given its parameter type,
/// the caller's error of `R`): it returns `R`, or a future of `R`. (An opaque future, so
/// that a fallback of the wrong shape is reported here alone, not again at the `.await`.)
#[inline(always)]
pub fn fallback<R, O, M, F>(fallback: F, error: R::Err) -> impl std::future::Future<Output = R>
where
    R: RetryOutput,
    O: FallbackOutput<R, M>,
    F: FnOnce(R::Err) -> O,
{
    fallback(error).into_result()
}

/// At `fallback = …` on a blocking fn: the fallback returns the fn's `R` itself.
#[inline(always)]
pub fn fallback_blocking<R: RetryOutput, F: FnOnce(R::Err) -> R>(fallback: F, error: R::Err) -> R {
    fallback(error)
}

pub use crate::fallback::{FallbackOutput, Later, Ready};
