//! tokio's timer and clock (feature `tokio`): a paused test clock pauses retries too.

use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use super::std_clock::{nanos, origin as std_origin};
use super::{Clock, Instant, Timer};

/// tokio's timer and clock (`tokio::time`), so that under
/// `#[tokio::test(start_paused = true)]` every sleep, deadline and cooldown is exact and
/// instant. Outside a runtime the clock reads real time; sleeping needs a runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Clock for Tokio {
    fn now() -> Instant {
        let now = tokio::time::Instant::now();
        Instant::from_nanos(nanos(now.saturating_duration_since(origin())))
    }
}

impl Timer for Tokio {
    type Sleep = tokio::time::Sleep;

    fn sleep(duration: Duration) -> Self::Sleep {
        tokio::time::sleep(duration)
    }

    fn reset(sleep: Pin<&mut Self::Sleep>, duration: Duration) {
        // tokio re-arms a sleep in place: no new timer entry.
        sleep.reset(tokio::time::Instant::now() + duration);
    }
}

/// [`StdClock`](super::StdClock)'s origin, a day before the first reading of the real
/// clock, so that unpaused the two clocks read the same and every runtime's clock, paused
/// ones included (they start at the real time they were built), reads after it.
fn origin() -> tokio::time::Instant {
    static ORIGIN: OnceLock<tokio::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(|| tokio::time::Instant::from_std(std_origin(std::time::Instant::now())))
}
