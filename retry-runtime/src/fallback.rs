//! Fallbacks: what a call returns once its retries are spent (tenacity's
//! `retry_error_callback`, resilience4j's `fallbackMethod`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

/// A retried call's future that can say how it ended.
#[doc(hidden)]
pub trait Ending: Future {
    /// The call's result, and whether it ended on a retryable failure it could not retry
    /// (attempts or hedges spent, the deadline, a guard's refusal): when a fallback applies.
    fn poll_end(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(Self::Output, bool)>;
}

/// A retried (or hedged) call with a fallback, built by
/// [`Retry::fallback`](crate::builder::Retry::fallback) or
/// [`Hedged::fallback`](crate::hedge::Hedged::fallback); `.await` it (or
/// [`call`](Self::call) it, for a blocking retry). `K` says whether the fallback returns
/// the result itself ([`Ready`]) or a future of it ([`Later`]); it is inferred.
#[must_use = "a retry does nothing until it is awaited"]
pub struct WithFallback<R, F, K = Later> {
    pub(crate) call: R,
    pub(crate) fallback: F,
    shape: PhantomData<fn() -> K>,
}

impl<R, F, K> WithFallback<R, F, K> {
    pub(crate) fn new(call: R, fallback: F) -> Self {
        WithFallback { call, fallback, shape: PhantomData }
    }
}

impl<R: fmt::Debug, F, K> fmt::Debug for WithFallback<R, F, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithFallback").field("call", &self.call).finish_non_exhaustive()
    }
}

/// What a fallback may return: the call's result `R` (a sync fallback, `K` = [`Ready`]), or
/// a future of it (an async one, `K` = [`Later`]).
#[diagnostic::on_unimplemented(
    message = "a fallback must return the call's `{R}` or a future of it, not `{Self}`",
    label = "this fallback returns `{Self}`",
    note = "the fallback gets the error that ended the retries, and what it returns is the call's result: \
            `|e| Ok(cached())` or `|e| async move {{ refetch(e).await }}`"
)]
pub trait FallbackOutput<R, K> {
    /// The result, as a future.
    type Future: Future<Output = R>;
    /// The fallback's value as a future of the result.
    fn into_result(self) -> Self::Future;
}

/// [`FallbackOutput`]'s shape of a sync fallback.
#[derive(Debug)]
pub enum Ready {}

/// [`FallbackOutput`]'s shape of an async fallback.
#[derive(Debug)]
pub enum Later {}

impl<T, E> FallbackOutput<Result<T, E>, Ready> for Result<T, E> {
    type Future = std::future::Ready<Result<T, E>>;

    #[inline(always)]
    fn into_result(self) -> Self::Future {
        std::future::ready(self)
    }
}

impl<F: Future> FallbackOutput<F::Output, Later> for F {
    type Future = F;

    #[inline(always)]
    fn into_result(self) -> F {
        self
    }
}

impl<R, Fb, K, O, T, X> IntoFuture for WithFallback<R, Fb, K>
where
    R: IntoFuture<Output = Result<T, X>>,
    R::IntoFuture: Ending,
    Fb: FnOnce(X) -> O,
    O: FallbackOutput<Result<T, X>, K>,
{
    type Output = Result<T, X>;
    type IntoFuture = FallbackFuture<R::IntoFuture, Fb, O::Future, K>;

    fn into_future(self) -> Self::IntoFuture {
        let call = self.call.into_future();
        FallbackFuture { state: State::Call { call, fallback: Some(self.fallback) }, shape: PhantomData }
    }
}

pin_project! {
    /// The future of a [`WithFallback`]; `K` is the fallback's shape, as there.
    #[must_use = "futures do nothing unless polled"]
    pub struct FallbackFuture<R, Fb, Fut, K> {
        #[pin]
        state: State<R, Fb, Fut>,
        shape: PhantomData<fn() -> K>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<R, Fb, Fut> {
        Call { #[pin] call: R, fallback: Option<Fb> },
        Fallback { #[pin] fallback: Fut },
    }
}

impl<R, Fb, Fut, K> fmt::Debug for FallbackFuture<R, Fb, Fut, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Call { .. } => "call",
            State::Fallback { .. } => "fallback",
        };
        f.debug_struct("FallbackFuture").field("state", &state).finish()
    }
}

impl<R, Fb, Fut, K, O, T, X> Future for FallbackFuture<R, Fb, Fut, K>
where
    R: Ending<Output = Result<T, X>>,
    Fb: FnOnce(X) -> O,
    O: FallbackOutput<Result<T, X>, K, Future = Fut>,
    Fut: Future<Output = Result<T, X>>,
{
    type Output = Result<T, X>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Call { call, fallback } => {
                    let (result, spent) = ready!(call.poll_end(cx));
                    let error = match result {
                        Err(error) if spent => error,
                        result => return Poll::Ready(result),
                    };
                    let Some(fallback) = fallback.take() else { unreachable!("the call ends once") };
                    this.state.set(State::Fallback { fallback: fallback(error).into_result() });
                }
                StateProj::Fallback { fallback } => return fallback.poll(cx),
            }
        }
    }
}

impl<R, Fb, Fut, K, O, T, X> Ending for FallbackFuture<R, Fb, Fut, K>
where
    R: Ending<Output = Result<T, X>>,
    Fb: FnOnce(X) -> O,
    O: FallbackOutput<Result<T, X>, K, Future = Fut>,
    Fut: Future<Output = Result<T, X>>,
{
    fn poll_end(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(Self::Output, bool)> {
        self.poll(cx).map(|result| (result, false))
    }
}
