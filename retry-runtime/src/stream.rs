//! [`RetryStream`]: a stream retried until its first item, then passed through, and
//! resumed after a mid-stream failure if you say how.
//!
//! ```
//! use std::time::Duration;
//! use futures::{stream, StreamExt};
//! use steadfast::Policy;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let mut opens = 0;
//! let chunks = Policy::fixed(Duration::from_secs(1))
//!     .attempts(3)
//!     .retry_stream(|| {
//!         opens += 1;
//!         // The first open fails (a 429 before any chunk): retried, never seen.
//!         let items = if opens == 1 { vec![Err("busy")] } else { vec![Ok("Hel"), Ok("lo")] };
//!         stream::iter(items)
//!     });
//! let text: Vec<_> = chunks.collect().await;
//! assert_eq!(text, [Ok("Hel"), Ok("lo")]);
//! # }
//! ```
//!
//! The rules (gRPC's *commit*: once the response has started, it is not sent again):
//!
//! - **Before the first `Ok` item** an attempt is not committed: an `Err` item, or no item
//!   within [`first_item_timeout`](RetryStream::first_item_timeout), is classified like
//!   the error of any retried call, and if it is retried the stream is made afresh after the
//!   policy's sleep. No error of such an attempt is yielded, except the one that ends the
//!   call (not retryable, or the attempts, the deadline or a guard ended the retries),
//!   once, and the stream ends. An attempt that ends with no item at all is a success
//!   with no items.
//! - **After the first `Ok` item** the call is committed: items pass through as they come,
//!   errors included, and the stream is never made again. A gap of
//!   [`idle_timeout`](RetryStream::idle_timeout) between items yields
//!   `Err(E::from(Elapsed))` and ends the stream.
//! - **With [`resume`](RetryStream::resume)**, a committed stream's retryable error (a
//!   stall included) is not yielded: after the policy's sleep, `resume(&last_item)` makes
//!   the continuation, which has the same timeouts and may itself be resumed. Any other
//!   error, and the last one when no resume is left, is yielded and ends the stream.
//!   Resumes share the attempts and the deadline with the retries before the commit.
//! - The `deadline` stops new sleeps and resumes, and cuts the wait for the first item; it
//!   never cuts a committed stream that keeps flowing.
//! - A stream's timeouts are retried whatever `when` says (unless
//!   [`unless_elapsed`](RetryStream::unless_elapsed)): a stalled stream says nothing about
//!   the error classes `when` is written for.
//! - Guards see each attempt as on [`Policy::retry`]: admitted before it is made (or
//!   resumed), a success at its first item, a failure at an error the policy retries.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_core::stream::FusedStream;
/// The `Stream` trait (`futures_core`'s, which `futures` re-exports), for a stream fn's
/// return type.
pub use futures_core::stream::Stream;
use pin_project_lite::pin_project;

use crate::attempt::Attempt;
use crate::builder::Types;
use crate::engine::{Call, Outcome};
use crate::error::Elapsed;
use crate::guard::set::{Guards, SetRefusal, Slot};
use crate::guard::{Breaker, Budget, Fits, Report, Throttle};
use crate::hooks::{Hint, HookSet, Hooks, Notify, Predicate};
use crate::observe::{BuilderEvents, Log};
use crate::policy::Policy;
use crate::timer::Timer;

/// The type of a stream's continuation, for items `I`: named without the bounds of
/// [`Resume`], so that the type of a retried stream is known without proving them (which
/// rustc cannot always do for a higher-ranked closure, e.g. in a `Send` check).
pub trait Continuation<I> {
    /// The continuation.
    type Stream;
}

/// How a committed stream is continued after a failure: [`NoResume`], or the closure given
/// to [`RetryStream::resume`].
pub trait Resume<T, E>: Continuation<Result<T, E>> {
    /// Whether there is a way to resume at all.
    const ON: bool;
    /// Keeps what the next resume needs of `item`, the last `Ok` item yielded.
    fn keep(&self, item: &T, last: &mut Option<T>);
    /// The continuation after `last`; `None` without a resume.
    fn resume(&mut self, last: &T) -> Option<Self::Stream>;
}

/// No resume: a committed stream's errors pass through.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResume;

impl<I> Continuation<I> for NoResume {
    type Stream = Nothing<I>;
}

impl<T, E> Resume<T, E> for NoResume {
    const ON: bool = false;

    #[inline(always)]
    fn keep(&self, _: &T, _: &mut Option<T>) {}

    #[inline(always)]
    fn resume(&mut self, _: &T) -> Option<Self::Stream> {
        None
    }
}

/// The continuation of a stream that cannot be resumed: never made.
pub struct Nothing<I>(std::convert::Infallible, PhantomData<fn() -> I>);

impl<I> fmt::Debug for Nothing<I> {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {}
    }
}

impl<I> Stream for Nothing<I> {
    type Item = I;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I>> {
        match self.0 {}
    }
}

/// A resume closure `FnMut(&T) -> C`.
pub struct ResumeWith<F, C>(F, PhantomData<fn() -> C>);

impl<F, C> fmt::Debug for ResumeWith<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeWith")
    }
}

impl<I, F, C> Continuation<I> for ResumeWith<F, C> {
    type Stream = C;
}

impl<T: Clone, E, F, C> Resume<T, E> for ResumeWith<F, C>
where
    F: FnMut(&T) -> C,
    C: Stream<Item = Result<T, E>>,
{
    const ON: bool = true;

    #[inline]
    fn keep(&self, item: &T, last: &mut Option<T>) {
        match last {
            Some(last) => last.clone_from(item),
            None => *last = Some(item.clone()),
        }
    }

    fn resume(&mut self, last: &T) -> Option<C> {
        Some((self.0)(last))
    }
}

/// The guard slots of a [`Guards`] set, named by one type parameter.
pub trait GuardSet: Copy {
    /// The breaker's slot.
    type B: Slot;
    /// The throttle's slot.
    type Th: Slot;
    /// The budget's slot.
    type U: Slot;
    /// The set.
    fn set(self) -> Guards<Self::B, Self::Th, Self::U>;
}

impl<B: Slot, Th: Slot, U: Slot> GuardSet for Guards<B, Th, U> {
    type B = B;
    type Th = Th;
    type U = U;

    #[inline(always)]
    fn set(self) -> Self {
        self
    }
}

type CallOf<Tm, G> = Call<Tm, <G as GuardSet>::B, <G as GuardSet>::Th, <G as GuardSet>::U>;

pin_project! {
    /// A retried stream, built by [`Policy::retry_stream`]; poll it as a [`Stream`] of the
    /// items the made streams yield (it is not `Unpin`: `std::pin::pin!` or `Box::pin` it).
    /// The [module docs](self) have the rules.
    ///
    /// Hooks are `FnMut`, as on [`Policy::retry`]; guards are borrowed for as long as the
    /// stream lives. Events have target `steadfast` and `fn = "retry_stream"` (see
    /// [`named`](Self::named)).
    #[must_use = "a retried stream does nothing until it is polled"]
    pub struct RetryStream<F, S, H: Types, G: GuardSet, Tm: Timer, R: Continuation<Result<H::T, H::E>> = NoResume> {
        policy: Policy,
        make: F,
        hooks: H,
        guards: G,
        resume: R,
        events: BuilderEvents,
        // How a timeout becomes the stream's error; set by the timeouts that need it.
        elapsed: Option<fn(Elapsed) -> H::E>,
        first_item: Option<Duration>,
        idle: Option<Duration>,
        // Made on the first poll, when the work starts.
        call: Option<CallOf<Tm, G>>,
        // The last `Ok` item, kept for a resume.
        last: Option<H::T>,
        // The first `Ok` item of an attempt while the guards' verdict on it is on its way.
        held: Option<H::T>,
        // The current attempt has yielded an `Ok` item (its verdict is given).
        started: bool,
        // An `Ok` item has been yielded: the call is committed.
        committed: bool,
        // The first-item or idle timer, armed for `limit`.
        #[pin]
        timer: Option<Tm::Sleep>,
        armed: bool,
        limit: Duration,
        #[pin]
        state: State<S, <R as Continuation<Result<H::T, H::E>>>::Stream, H::E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, C, E> {
        // Before an attempt: the sleep, then the guards.
        Ready,
        First { #[pin] stream: S },
        Next { #[pin] stream: C },
        // An attempt failed with `error` (a timeout when `timed_out`): retry or end.
        Failed { error: Option<E>, timed_out: bool },
        // An attempt ended with no item: its verdict, then the end.
        Empty,
        Done,
    }
}

// On the default timer: with no timer feature there is none to time the items on.
#[cfg(any(feature = "tokio", feature = "smol", feature = "futures-timer", feature = "embassy"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "tokio", feature = "smol", feature = "futures-timer", feature = "embassy"))))]
impl Policy {
    /// Retries a stream until its first item, under this policy: `make` makes one attempt's
    /// stream (an open that can fail is a stream whose first item is the error). See the
    /// [`stream`](crate::stream) module for the rules.
    pub fn retry_stream<F, S, T, E>(
        self,
        make: F,
    ) -> RetryStream<F, S, HookSet<T, E>, Guards, crate::timer::DefaultTimer>
    where
        F: FnMut() -> S,
        S: Stream<Item = Result<T, E>>,
    {
        RetryStream {
            policy: self,
            make,
            hooks: HookSet::new(),
            guards: Guards::new(),
            resume: NoResume,
            events: BuilderEvents { log: Log::Warn, name: "retry_stream" },
            elapsed: None,
            first_item: None,
            idle: None,
            call: None,
            last: None,
            held: None,
            started: false,
            committed: false,
            timer: None,
            armed: false,
            limit: Duration::ZERO,
            state: State::Ready,
        }
    }
}

impl<F, S, T, E, On, Unless, When, IfOk, H, N, G, Tm, R>
    RetryStream<F, S, HookSet<T, E, On, Unless, When, IfOk, H, N>, G, Tm, R>
where
    G: GuardSet,
    Tm: Timer,
    R: Resume<T, E>,
{
    /// Retries only errors for which `when` returns true (all errors by default). A
    /// stream's timeouts are not asked: they are retried.
    pub fn when<W: FnMut(&E) -> bool>(
        self,
        when: W,
    ) -> RetryStream<F, S, HookSet<T, E, On, Unless, W, IfOk, H, N>, G, Tm, R> {
        self.remake(|hooks, guards, resume| (hooks.when(when), guards, resume))
    }

    /// Never retries errors for which `unless` returns true; it wins over
    /// [`when`](Self::when).
    pub fn unless<W: FnMut(&E) -> bool>(
        self,
        unless: W,
    ) -> RetryStream<F, S, HookSet<T, E, On, W, When, IfOk, H, N>, G, Tm, R> {
        self.remake(|hooks, guards, resume| (hooks.unless(unless), guards, resume))
    }

    /// `on` of the attribute: the errors to retry, tested before `when`.
    #[doc(hidden)]
    pub fn on<W: FnMut(&E) -> bool>(
        self,
        on: W,
    ) -> RetryStream<F, S, HookSet<T, E, W, Unless, When, IfOk, H, N>, G, Tm, R> {
        self.remake(|hooks, guards, resume| (hooks.on(on), guards, resume))
    }

    /// Never retries nor resumes after a timeout (`first_item_timeout`, `idle_timeout`).
    pub fn unless_elapsed(self) -> Self {
        self.remake(|hooks, guards, resume| (hooks.never_elapsed(true), guards, resume))
    }

    /// Reads a server's hint from an error: the next sleep is exactly the hint, and a hint
    /// above `max` or past the deadline ends the retries.
    pub fn retry_after<K: FnMut(&E) -> Option<Duration>>(
        self,
        retry_after: K,
    ) -> RetryStream<F, S, HookSet<T, E, On, Unless, When, IfOk, K, N>, G, Tm, R> {
        self.remake(|hooks, guards, resume| (hooks.retry_after(retry_after), guards, resume))
    }

    /// Calls `notify` before each sleep, before a retry or a resume (never after the last
    /// attempt).
    pub fn notify<K: FnMut(&Attempt<'_, E>)>(
        self,
        notify: K,
    ) -> RetryStream<F, S, HookSet<T, E, On, Unless, When, IfOk, H, K>, G, Tm, R> {
        self.remake(|hooks, guards, resume| (hooks.notify(notify), guards, resume))
    }

    /// Drops an attempt whose first item has not come `limit` after it was made (cut to
    /// what is left of the deadline before the commit) and retries it, as a failure with
    /// `E::from(Elapsed)`. A continuation's first item has the same limit.
    pub fn first_item_timeout(self, limit: Duration) -> Self
    where
        E: Report<Elapsed>,
    {
        let mut this = self;
        this.first_item = Some(limit);
        this.elapsed = Some(E::report);
        this
    }

    /// After the commit, a gap of `limit` between items is a failure with
    /// `E::from(Elapsed)`: resumed if it can be, else yielded, and the stream ends.
    pub fn idle_timeout(self, limit: Duration) -> Self
    where
        E: Report<Elapsed>,
    {
        let mut this = self;
        this.idle = Some(limit);
        this.elapsed = Some(E::report);
        this
    }
}

impl<F, S, H: Types, G: GuardSet, Tm: Timer> RetryStream<F, S, H, G, Tm, NoResume> {
    /// After the commit, continues from the last `Ok` item instead of yielding a retryable
    /// error: after the policy's sleep, `resume(&last)` makes the continuation (OpenAI's
    /// Responses API resumes with `starting_after = <sequence_number>`). The last item is
    /// cloned as it goes by, for this.
    pub fn resume<K, C>(self, resume: K) -> RetryStream<F, S, H, G, Tm, ResumeWith<K, C>>
    where
        K: FnMut(&H::T) -> C,
        C: Stream<Item = Result<H::T, H::E>>,
        H::T: Clone,
    {
        self.remake(|hooks, guards, _| (hooks, guards, ResumeWith(resume, PhantomData)))
    }
}

impl<F, S, H: Types, B: Slot, Th: Slot, U: Slot, Tm: Timer, R: Resume<H::T, H::E>>
    RetryStream<F, S, H, Guards<B, Th, U>, Tm, R>
{
    /// Makes every attempt and resume wait for a permit of `throttle`.
    pub fn throttle<Gd: Fits<Throttle> + ?Sized>(
        self,
        throttle: &Gd,
    ) -> RetryStream<F, S, H, Guards<B, &Gd, U>, Tm, R> {
        self.remake(|hooks, guards, resume| {
            (hooks, guards.throttle(crate::guard::set::fits::<Throttle, Gd>(throttle)), resume)
        })
    }

    /// Lets each attempt and resume through `breaker`: while it is open the stream yields
    /// `E::from(Open)` and ends.
    pub fn breaker<Gd: Fits<Breaker> + ?Sized>(self, breaker: &Gd) -> RetryStream<F, S, H, Guards<&Gd, Th, U>, Tm, R>
    where
        H::E: Report<Gd::Refusal>,
    {
        self.remake(|hooks, guards, resume| {
            (hooks, guards.breaker(crate::guard::set::fits::<Breaker, Gd>(breaker)), resume)
        })
    }

    /// Stops retrying and resuming while `budget` is spent.
    pub fn budget<Gd: Fits<Budget> + ?Sized>(self, budget: &Gd) -> RetryStream<F, S, H, Guards<B, Th, &Gd>, Tm, R>
    where
        H::E: Report<Gd::Refusal>,
    {
        self.remake(|hooks, guards, resume| {
            (hooks, guards.budget(crate::guard::set::fits::<Budget, Gd>(budget)), resume)
        })
    }
}

impl<F, S, H: Types, G: GuardSet, Tm: Timer, R: Resume<H::T, H::E>> RetryStream<F, S, H, G, Tm, R> {
    /// The level of the events ([`Log::Warn`] by default).
    pub fn log(mut self, log: Log) -> Self {
        self.events.log = log;
        self
    }

    /// The `fn` field of the events (`"retry_stream"` by default).
    pub fn named(mut self, name: &'static str) -> Self {
        self.events.name = name;
        self
    }

    /// Sleeps, times the items and reads the time on `T2` instead of the
    /// [`DefaultTimer`](crate::timer::DefaultTimer).
    pub fn timer<T2: Timer>(self) -> RetryStream<F, S, H, G, T2, R> {
        self.rebuilt(|hooks, guards, resume| (hooks, guards, resume))
    }

    /// This stream, not yet polled, with its hooks, guards and resume changed by `change`.
    fn remake<H2, G2, R2>(self, change: impl FnOnce(H, G, R) -> (H2, G2, R2)) -> RetryStream<F, S, H2, G2, Tm, R2>
    where
        H2: Types<E = H::E>,
        G2: GuardSet,
        R2: Resume<H2::T, H2::E>,
    {
        self.rebuilt(change)
    }

    fn rebuilt<H2, G2, Tm2, R2>(
        self,
        change: impl FnOnce(H, G, R) -> (H2, G2, R2),
    ) -> RetryStream<F, S, H2, G2, Tm2, R2>
    where
        H2: Types<E = H::E>,
        G2: GuardSet,
        Tm2: Timer,
        R2: Resume<H2::T, H2::E>,
    {
        let RetryStream { policy, make, hooks, guards, resume, events, elapsed, first_item, idle, .. } = self;
        let (hooks, guards, resume) = change(hooks, guards, resume);
        RetryStream {
            policy,
            make,
            hooks,
            guards,
            resume,
            events,
            elapsed,
            first_item,
            idle,
            call: None,
            last: None,
            held: None,
            started: false,
            committed: false,
            timer: None,
            armed: false,
            limit: Duration::ZERO,
            state: State::Ready,
        }
    }
}

impl<F, S, H: Types, G: GuardSet, Tm: Timer, R: Resume<H::T, H::E>> fmt::Debug for RetryStream<F, S, H, G, Tm, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryStream")
            .field("policy", &self.policy)
            .field("first_item_timeout", &self.first_item)
            .field("idle_timeout", &self.idle)
            .field("committed", &self.committed)
            .finish_non_exhaustive()
    }
}

/// The hooks as the engine sees a stream's attempt: an `Ok` (its first item) always ends
/// it, and a timeout is judged without `when` (nor `unless`, only `unless_elapsed`).
struct StreamHooks<'h, H, T>(&'h mut H, PhantomData<fn(&T)>);

impl<T, E, H: Hooks<T, E>> Hooks<(), E> for StreamHooks<'_, H, T> {
    const NOTIFY: bool = H::NOTIFY;
    const OK_ENDS: bool = true;

    #[inline]
    fn retry(&mut self, outcome: &Outcome<'_, (), E>) -> bool {
        match *outcome {
            Outcome::Ok(()) => false,
            Outcome::Err(error) => self.0.retry(&Outcome::Err(error)),
            Outcome::TimedOut(_) => self.0.retry(&Outcome::TimedOut(None)),
        }
    }

    #[inline]
    fn hint(&mut self, error: &E) -> Option<Duration> {
        self.0.hint(error)
    }

    #[inline]
    fn notify(&mut self, attempt: &Attempt<'_, E>) {
        self.0.notify(attempt)
    }
}

impl<F, S, T, E, On, Unless, When, IfOk, H, N, G, Tm, R> Stream
    for RetryStream<F, S, HookSet<T, E, On, Unless, When, IfOk, H, N>, G, Tm, R>
where
    F: FnMut() -> S,
    S: Stream<Item = Result<T, E>>,
    On: Predicate<E>,
    Unless: Predicate<E>,
    When: Predicate<E>,
    IfOk: Predicate<T>,
    H: Hint<E>,
    N: Notify<E>,
    G: GuardSet,
    Tm: Timer,
    R: Resume<T, E>,
    R::Stream: Stream<Item = Result<T, E>>,
    E: Report<SetRefusal<G::B, G::Th, G::U>> + fmt::Debug,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let policy = &*this.policy;
        let guards = *this.guards;
        let name = this.events.name;
        let call = this.call.get_or_insert_with(|| Call::named(policy, guards.set(), N::ACTIVE, name));
        let mut hooks = StreamHooks(this.hooks, PhantomData);
        loop {
            let item = match this.state.as_mut().project() {
                StateProj::Done => return Poll::Ready(None),
                StateProj::Ready => {
                    if let Err(refusal) = ready!(call.poll_ready(cx)) {
                        this.state.set(State::Done);
                        return Poll::Ready(Some(Err(E::report(refusal))));
                    }
                    *this.started = false;
                    if *this.committed {
                        let continuation = this.last.as_ref().and_then(|last| this.resume.resume(last));
                        match continuation {
                            Some(stream) => this.state.set(State::Next { stream }),
                            // Only a stream with a resume and a last item is resumed.
                            None => this.state.set(State::Done),
                        }
                    } else {
                        this.state.set(State::First { stream: (this.make)() });
                    }
                    match (*this.first_item, *this.elapsed) {
                        (Some(limit), Some(_)) => {
                            let limit = if *this.committed { limit } else { call.cut(policy, limit) };
                            arm::<Tm>(this.timer.as_mut(), this.armed, this.limit, limit);
                        }
                        _ => *this.armed = false,
                    }
                    continue;
                }
                StateProj::Failed { error, timed_out } => {
                    let outcome = match (error.as_ref(), *timed_out) {
                        (Some(error), false) => Outcome::Err(error),
                        (error, true) => Outcome::TimedOut(error),
                        (None, false) => Outcome::TimedOut(None),
                    };
                    let retry = ready!(call.poll_after(cx, policy, outcome, &mut hooks, this.events));
                    let error = error.take();
                    if retry {
                        this.state.set(State::Ready);
                        continue;
                    }
                    this.state.set(State::Done);
                    return Poll::Ready(error.map(Err));
                }
                StateProj::Empty => {
                    ready!(call.poll_after(cx, policy, Outcome::Ok(&()), &mut hooks, this.events));
                    this.state.set(State::Done);
                    return Poll::Ready(None);
                }
                StateProj::First { stream } => {
                    if this.held.is_some() {
                        None
                    } else {
                        Some(stream.poll_next(cx))
                    }
                }
                StateProj::Next { stream } => {
                    if this.held.is_some() {
                        None
                    } else {
                        Some(stream.poll_next(cx))
                    }
                }
            };
            let item = match item {
                // The guards' verdict on the attempt's first item is on its way.
                None => {
                    ready!(call.poll_after(cx, policy, Outcome::Ok(&()), &mut hooks, this.events));
                    *this.started = true;
                    *this.committed = true;
                    let item = this.held.take();
                    if let Some(item) = &item {
                        this.resume.keep(item, this.last);
                    }
                    idle::<Tm, _>(this.timer.as_mut(), this.armed, this.limit, *this.idle, *this.elapsed);
                    return Poll::Ready(item.map(Ok));
                }
                Some(item) => item,
            };
            match item {
                Poll::Ready(Some(Ok(item))) => {
                    if !*this.started {
                        // The attempt's first item: a success for the guards, and the commit.
                        if call.poll_after(cx, policy, Outcome::Ok(&()), &mut hooks, this.events).is_pending() {
                            *this.held = Some(item);
                            return Poll::Pending;
                        }
                        *this.started = true;
                        *this.committed = true;
                    }
                    this.resume.keep(&item, this.last);
                    idle::<Tm, _>(this.timer.as_mut(), this.armed, this.limit, *this.idle, *this.elapsed);
                    return Poll::Ready(Some(Ok(item)));
                }
                Poll::Ready(Some(Err(error))) => {
                    if *this.committed && !R::ON {
                        // Committed, and no way to resume: errors pass through.
                        idle::<Tm, _>(this.timer.as_mut(), this.armed, this.limit, *this.idle, *this.elapsed);
                        return Poll::Ready(Some(Err(error)));
                    }
                    this.state.set(State::Failed { error: Some(error), timed_out: false });
                }
                Poll::Ready(None) => {
                    *this.armed = false;
                    if *this.started {
                        this.state.set(State::Done);
                        return Poll::Ready(None);
                    }
                    this.state.set(State::Empty);
                }
                Poll::Pending => {
                    if !*this.armed {
                        return Poll::Pending;
                    }
                    let Some(timer) = this.timer.as_mut().as_pin_mut() else { return Poll::Pending };
                    ready!(timer.poll(cx));
                    *this.armed = false;
                    let error = this.elapsed.map(|into| into(Elapsed::new(*this.limit)));
                    if *this.committed && !R::ON {
                        // A stall with no way to resume: the stream ends.
                        this.state.set(State::Done);
                        return Poll::Ready(error.map(Err));
                    }
                    this.state.set(State::Failed { error, timed_out: true });
                }
            }
        }
    }
}

impl<F, S, T, E, On, Unless, When, IfOk, H, N, G, Tm, R> FusedStream
    for RetryStream<F, S, HookSet<T, E, On, Unless, When, IfOk, H, N>, G, Tm, R>
where
    Self: Stream,
    G: GuardSet,
    Tm: Timer,
    R: Resume<T, E>,
{
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

/// Arms the item timer for `limit`, re-arming the one sleep in place.
fn arm<Tm: Timer>(mut timer: Pin<&mut Option<Tm::Sleep>>, armed: &mut bool, at: &mut Duration, limit: Duration) {
    match timer.as_mut().as_pin_mut() {
        Some(sleep) => Tm::reset(sleep, limit),
        None => timer.set(Some(Tm::sleep(limit))),
    }
    *armed = true;
    *at = limit;
}

/// After an item of a committed stream: the idle timer, if there is one.
fn idle<Tm: Timer, X>(
    timer: Pin<&mut Option<Tm::Sleep>>,
    armed: &mut bool,
    at: &mut Duration,
    idle: Option<Duration>,
    elapsed: Option<fn(Elapsed) -> X>,
) {
    match (idle, elapsed) {
        (Some(limit), Some(_)) => arm::<Tm>(timer, armed, at, limit),
        _ => *armed = false,
    }
}
