//! All timer and clock access. Everything reads tokio's clock, never the wall clock, so
//! deadlines behave the same under `#[tokio::test(start_paused = true)]` as in production;
//! another executor is supported by adding a module like this one.

use std::future::Future;
use std::time::Duration;

pub use tokio::time::Instant;
pub(crate) use tokio::time::{Sleep, Timeout};

/// Now, on tokio's clock.
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// A timer that has not started; armed by [`arm`].
pub(crate) fn idle_sleep() -> Sleep {
    tokio::time::sleep_until(Instant::now())
}

/// Restarts `sleep` to end `delay` from now.
pub(crate) fn arm(sleep: std::pin::Pin<&mut Sleep>, delay: Duration) {
    sleep.reset(Instant::now() + delay);
}

/// Limits `fut` to `limit`.
pub(crate) fn timeout<F: Future>(limit: Duration, fut: F) -> Timeout<F> {
    tokio::time::timeout(limit, fut)
}
