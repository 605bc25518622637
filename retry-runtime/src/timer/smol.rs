//! async-io's timer (feature `smol`): smol's, and async-std's, which runs on async-io too.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{Clock, Instant, StdClock, Timer};

/// async-io's timer, the one smol and async-std sleep on, on std's clock (the one async-io
/// measures its timers on). The reactor drives it from any thread, so a retry on it needs
/// no particular executor: `smol::block_on`, a smol `Executor`, `async_std::task` all do.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, testing, timer::Smol};
///
/// #[retry(timer = Smol, attempts = 3, min = "1s", jitter = "none")]
/// async fn fetch() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// let _instant = testing::instant_sleeps();
/// let sleeps = testing::record_sleeps();
/// assert!(async_io::block_on(fetch()).is_err());
/// assert_eq!(sleeps.take(), [Duration::from_secs(1), Duration::from_secs(2)]);
/// ```
///
/// It is the [`DefaultTimer`](super::DefaultTimer) whenever the `smol` feature is on.
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Smol;

impl Clock for Smol {
    fn now() -> Instant {
        StdClock::now()
    }
}

impl Timer for Smol {
    type Sleep = SmolSleep;

    fn sleep(duration: Duration) -> SmolSleep {
        SmolSleep(async_io::Timer::after(duration))
    }

    fn reset(sleep: Pin<&mut SmolSleep>, duration: Duration) {
        // Re-arms the same reactor entry.
        sleep.get_mut().0.set_after(duration);
    }
}

/// A sleep on [`Smol`]: async-io's `Timer`, which yields the instant it fired, as a future
/// of `()`.
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
#[derive(Debug)]
#[must_use = "a sleep does nothing unless awaited"]
pub struct SmolSleep(async_io::Timer);

impl Future for SmolSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}
