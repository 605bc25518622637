//! embassy-time's timer and clock (feature `embassy`).
//!
//! Only `core` here: this module is meant to stay as it is when the runtime goes `no_std`.

use core::time::Duration;

use embassy_time::TICK_HZ;

use super::{Clock, Instant, Timer};

/// embassy-time's `Timer` and `Instant`: for embassy's executors and any other that runs
/// where an embassy-time driver does (embassy-time's `std`, `wasm` and `mock-driver`
/// features are drivers too).
///
/// The binary picks the driver and the tick rate, as every embassy-time user does; this
/// crate enables no feature of embassy-time. Delays are rounded up to the next tick, so a
/// sleep never ends early. The clock counts from the driver's zero (boot).
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, testing, timer::Embassy};
///
/// #[retry(timer = Embassy, attempts = 3, min = "1s", jitter = "none")]
/// async fn fetch() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// // On the host, with embassy-time's `std` driver; on a chip, inside an embassy task.
/// let _instant = testing::instant_sleeps();
/// let sleeps = testing::record_sleeps();
/// assert!(futures::executor::block_on(fetch()).is_err());
/// assert_eq!(sleeps.take(), [Duration::from_secs(1), Duration::from_secs(2)]);
/// ```
///
/// It is the [`DefaultTimer`](super::DefaultTimer) when `embassy` is on and neither `smol`
/// nor `futures-timer` is.
#[cfg_attr(docsrs, doc(cfg(feature = "embassy")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct Embassy;

impl Clock for Embassy {
    fn now() -> Instant {
        // In u128: at 32 768 Hz, ticks * 10^9 / TICK_HZ would overflow u64 within 9 years.
        let ticks = embassy_time::Instant::now().as_ticks() as u128;
        let nanos = ticks * 1_000_000_000 / TICK_HZ as u128;
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl Timer for Embassy {
    type Sleep = embassy_time::Timer;

    fn sleep(duration: Duration) -> Self::Sleep {
        // `Instant + Duration` panics past the end of the clock; a retry's sleep saturates.
        embassy_time::Timer::at(embassy_time::Instant::now().saturating_add(ticks(duration)))
    }
}

/// `duration` in ticks, rounded up (embassy-time's own conversion from core's `Duration`
/// rounds through microseconds and fails on overflow).
fn ticks(duration: Duration) -> embassy_time::Duration {
    let ticks = (duration.as_nanos() * TICK_HZ as u128).div_ceil(1_000_000_000);
    embassy_time::Duration::from_ticks(u64::try_from(ticks).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Waker};

    use super::*;

    #[test]
    fn delays_round_up_to_a_whole_tick_and_saturate() {
        let tick = Duration::from_nanos(1_000_000_000 / TICK_HZ);
        assert_eq!(ticks(Duration::ZERO).as_ticks(), 0);
        assert_eq!(ticks(Duration::from_nanos(1)).as_ticks(), 1);
        assert_eq!(ticks(tick).as_ticks(), 1);
        assert_eq!(ticks(tick + Duration::from_nanos(1)).as_ticks(), 2);
        assert_eq!(ticks(Duration::MAX).as_ticks(), u64::MAX);
        // A sleep to the end of time is armed and waits, instead of panicking.
        let mut sleep = Embassy::sleep(Duration::MAX);
        assert!(Pin::new(&mut sleep).poll(&mut Context::from_waker(Waker::noop())).is_pending());
    }
}
