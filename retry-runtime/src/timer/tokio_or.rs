//! The default timer when tokio and another timer feature are both on: tokio's inside a
//! tokio runtime, the other's everywhere else.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Clock, Instant, Timer, Tokio};

/// [`Tokio`] when called inside a tokio runtime, `F` outside one: the
/// [`DefaultTimer`](super::DefaultTimer) when `tokio` and one of `smol`, `futures-timer` or
/// `embassy` are on together.
///
/// Features unify across a dependency graph, so a binary on smol can get `tokio` from a
/// crate it does not control, and a tokio service can get `smol` the same way. A fixed
/// choice would then either panic outside a tokio runtime or ignore tokio's paused test
/// clock; asking the runtime at each sleep does neither. The clock follows the same rule,
/// and both read real time from one origin, so a guard used from both sides sees one clock
/// (a paused tokio clock is the exception, as it is meant to be).
pub struct TokioOr<F>(PhantomData<fn() -> F>);

impl<F> std::fmt::Debug for TokioOr<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokioOr<{}>", std::any::type_name::<F>())
    }
}

fn in_tokio() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

impl<F: Clock> Clock for TokioOr<F> {
    fn now() -> Instant {
        if in_tokio() {
            Tokio::now()
        } else {
            F::now()
        }
    }
}

impl<F: Timer> Timer for TokioOr<F> {
    type Sleep = TokioOrSleep<F::Sleep>;

    fn sleep(duration: Duration) -> Self::Sleep {
        if in_tokio() {
            TokioOrSleep { on: On::Tokio { sleep: Tokio::sleep(duration) } }
        } else {
            TokioOrSleep { on: On::Other { sleep: F::sleep(duration) } }
        }
    }

    fn reset(mut sleep: Pin<&mut Self::Sleep>, duration: Duration) {
        // Re-armed in place on the timer it was made on, if the caller is still there.
        match (sleep.as_mut().project().on.project(), in_tokio()) {
            (Projection::Tokio { sleep }, true) => Tokio::reset(sleep, duration),
            (Projection::Other { sleep }, false) => F::reset(sleep, duration),
            _ => sleep.set(Self::sleep(duration)),
        }
    }
}

pin_project_lite::pin_project! {
    /// A sleep on [`TokioOr`]: on tokio's timer or on `F`'s, whichever the caller was on.
    #[must_use = "a sleep does nothing unless awaited"]
    pub struct TokioOrSleep<S> {
        #[pin]
        on: On<S>,
    }
}

pin_project_lite::pin_project! {
    #[project = Projection]
    enum On<S> {
        Tokio { #[pin] sleep: tokio::time::Sleep },
        Other { #[pin] sleep: S },
    }
}

impl<S> std::fmt::Debug for TokioOrSleep<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.on {
            On::Tokio { .. } => "TokioOrSleep(tokio)",
            On::Other { .. } => "TokioOrSleep(other)",
        })
    }
}

impl<S: Future<Output = ()>> Future for TokioOrSleep<S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.project().on.project() {
            Projection::Tokio { sleep } => sleep.poll(cx),
            Projection::Other { sleep } => sleep.poll(cx),
        }
    }
}
