//! futures-timer's `Delay` (feature `futures-timer`): a timer of no executor's.

use std::pin::Pin;
use std::time::Duration;

use super::{Clock, Instant, StdClock, Timer};

/// futures-timer's `Delay`, on std's clock: for executors without a timer of their own
/// (`futures::executor`, a hand-rolled one). Natively its sleeps are kept by one helper
/// thread, which the first sleep starts; in a browser, futures-timer's `wasm-bindgen`
/// feature puts them on `setTimeout`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, testing, timer::FuturesTimer};
///
/// #[retry(timer = FuturesTimer, attempts = 3, min = "1s", jitter = "none")]
/// async fn fetch() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// let _instant = testing::instant_sleeps();
/// let sleeps = testing::record_sleeps();
/// assert!(futures::executor::block_on(fetch()).is_err());
/// assert_eq!(sleeps.take(), [Duration::from_secs(1), Duration::from_secs(2)]);
/// ```
///
/// It is the [`DefaultTimer`](super::DefaultTimer) when `futures-timer` is on and `smol`
/// is not.
#[cfg_attr(docsrs, doc(cfg(feature = "futures-timer")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct FuturesTimer;

impl Clock for FuturesTimer {
    fn now() -> Instant {
        // The clock `Delay` measures on natively; the browser's on wasm32 (see `StdClock`).
        StdClock::now()
    }
}

impl Timer for FuturesTimer {
    type Sleep = futures_timer::Delay;

    fn sleep(duration: Duration) -> Self::Sleep {
        futures_timer::Delay::new(duration)
    }

    fn reset(sleep: Pin<&mut Self::Sleep>, duration: Duration) {
        // Moves the same timer node: no new allocation.
        sleep.get_mut().reset(duration);
    }
}
