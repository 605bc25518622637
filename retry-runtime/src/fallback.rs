//! Fallbacks: what a call returns once its retries are spent (tenacity's
//! `retry_error_callback`, resilience4j's `fallbackMethod`).

use std::fmt;
use std::future::{Future, IntoFuture};
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
/// [`call`](Self::call) it, for a blocking retry).
#[must_use = "a retry does nothing until it is awaited"]
pub struct WithFallback<R, F> {
    pub(crate) call: R,
    pub(crate) fallback: F,
}

impl<R, F> WithFallback<R, F> {
    pub(crate) fn new(call: R, fallback: F) -> Self {
        WithFallback { call, fallback }
    }
}

impl<R: fmt::Debug, F> fmt::Debug for WithFallback<R, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithFallback").field("call", &self.call).finish_non_exhaustive()
    }
}

impl<R, Fb, Fut, T, X> IntoFuture for WithFallback<R, Fb>
where
    R: IntoFuture<Output = Result<T, X>>,
    R::IntoFuture: Ending,
    Fb: FnOnce(X) -> Fut,
    Fut: Future<Output = Result<T, X>>,
{
    type Output = Result<T, X>;
    type IntoFuture = FallbackFuture<R::IntoFuture, Fb, Fut>;

    fn into_future(self) -> Self::IntoFuture {
        FallbackFuture { state: State::Call { call: self.call.into_future(), fallback: Some(self.fallback) } }
    }
}

pin_project! {
    /// The future of a [`WithFallback`].
    #[must_use = "futures do nothing unless polled"]
    pub struct FallbackFuture<R, Fb, Fut> {
        #[pin]
        state: State<R, Fb, Fut>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<R, Fb, Fut> {
        Call { #[pin] call: R, fallback: Option<Fb> },
        Fallback { #[pin] fallback: Fut },
    }
}

impl<R, Fb, Fut> fmt::Debug for FallbackFuture<R, Fb, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Call { .. } => "call",
            State::Fallback { .. } => "fallback",
        };
        f.debug_struct("FallbackFuture").field("state", &state).finish()
    }
}

impl<R, Fb, Fut, T, X> Future for FallbackFuture<R, Fb, Fut>
where
    R: Ending<Output = Result<T, X>>,
    Fb: FnOnce(X) -> Fut,
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
                    this.state.set(State::Fallback { fallback: fallback(error) });
                }
                StateProj::Fallback { fallback } => return fallback.poll(cx),
            }
        }
    }
}

impl<R, Fb, Fut, T, X> Ending for FallbackFuture<R, Fb, Fut>
where
    R: Ending<Output = Result<T, X>>,
    Fb: FnOnce(X) -> Fut,
    Fut: Future<Output = Result<T, X>>,
{
    fn poll_end(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(Self::Output, bool)> {
        self.poll(cx).map(|result| (result, false))
    }
}
