//! [`Throttle`]: a rate limit shared by every call site that names it (GCRA, on tokio's
//! clock).

use std::fmt;
use std::num::NonZeroU32;
use std::ops::Add;
use std::sync::OnceLock;
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::clock::{self, Instant};

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Tick>>;

/// A rate limit shared by every call site that names it: each attempt, retries included,
/// waits for a permit.
///
/// Permits are spaced evenly, `1/n` of a second (or minute) apart; [`burst`](Self::burst)
/// lets up to `b` through at once after a quiet spell, never more than `n` per period on
/// average (the generic cell rate algorithm, by the `governor` crate). Time is tokio's
/// clock, so a test under `#[tokio::test(start_paused = true)]` sees exact spacing; waits
/// are tokio timers, never a spin.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, Throttle};
///
/// // The API allows 2 requests a second; every function that names the throttle shares it.
/// static API_LIMIT: Throttle = Throttle::per_second(2);
///
/// #[retry(attempts = 3, throttle = API_LIMIT)]
/// async fn fetch(id: u32) -> Result<u32, std::io::Error> {
///     Ok(id)
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// for id in 0..3 {
///     fetch(id).await.unwrap();
/// }
/// // Permits at 0s, 0.5s and 1s.
/// assert_eq!(start.elapsed(), Duration::from_secs(1));
/// # }
/// ```
///
/// On its own, without the attribute, e.g. in front of each item of a stream:
///
/// ```
/// use steadfast::Throttle;
///
/// static SENDS: Throttle = Throttle::per_minute(600).burst(10);
///
/// # async fn send(_: &str) {}
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// for message in ["a", "b", "c"] {
///     SENDS.acquire().await;
///     send(message).await;
/// }
/// # }
/// ```
///
/// A rate known only at run time goes in a `LazyLock`, which the `throttle` key accepts too:
///
/// ```
/// use std::sync::LazyLock;
/// use steadfast::{retry, Throttle};
///
/// static LIMIT: LazyLock<Throttle> = LazyLock::new(|| {
///     let per_second = std::env::var("RATE").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
///     Throttle::per_second(per_second)
/// });
///
/// #[retry(throttle = LIMIT)]
/// async fn ping() -> Result<(), std::io::Error> {
///     Ok(())
/// }
/// ```
pub struct Throttle {
    /// The emission interval: one permit per `period`, at least 1ns.
    period: Duration,
    burst: NonZeroU32,
    // governor's limiter reads the clock when it is built, so it cannot be built in a
    // `const`; the first permit builds it.
    limiter: OnceLock<Limiter>,
}

impl Throttle {
    /// `n` permits a second, evenly spaced (`0` is taken as 1).
    pub const fn per_second(n: u32) -> Self {
        Self::every(Duration::from_nanos(1_000_000_000 / at_least_one(n) as u64))
    }

    /// `n` permits a minute, evenly spaced (`0` is taken as 1).
    pub const fn per_minute(n: u32) -> Self {
        Self::every(Duration::from_nanos(60_000_000_000 / at_least_one(n) as u64))
    }

    const fn every(period: Duration) -> Self {
        // Rates above 10^9 a second round to one permit a nanosecond.
        let period = if period.is_zero() { Duration::from_nanos(1) } else { period };
        Throttle { period, burst: NonZeroU32::MIN, limiter: OnceLock::new() }
    }

    /// Lets up to `b` permits through at once after a quiet spell (1 by default, `0` is
    /// taken as 1); the average rate does not change.
    pub const fn burst(mut self, b: u32) -> Self {
        self.burst = match NonZeroU32::new(b) {
            Some(b) => b,
            None => NonZeroU32::MIN,
        };
        self
    }

    /// Waits for a permit on tokio's timer. Cancel-safe: a dropped wait takes no permit.
    pub async fn acquire(&self) {
        while let Err(at) = self.check() {
            let mut sleep = std::pin::pin!(clock::idle_sleep());
            sleep.as_mut().reset(at);
            sleep.await;
        }
    }

    /// Blocks the thread until a permit is free: the wait of a synchronous `fn`.
    ///
    /// Reads tokio's clock (the real clock outside a runtime) but sleeps with
    /// `std::thread::sleep`, so a paused test clock would never let it through: test
    /// blocking code with real, short rates.
    pub fn acquire_blocking(&self) {
        while let Err(at) = self.check() {
            std::thread::sleep(at.saturating_duration_since(clock::now()));
        }
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> bool {
        self.check().is_ok()
    }

    /// Takes a permit, or says when the next one is due.
    pub(crate) fn check(&self) -> Result<(), Instant> {
        self.limiter().check().map_err(|not_until| not_until.earliest_possible().0)
    }

    fn limiter(&self) -> &Limiter {
        self.limiter.get_or_init(|| {
            // `every` keeps the period above zero, so `with_period` cannot refuse it.
            let quota = Quota::with_period(self.period).unwrap_or(Quota::per_second(NonZeroU32::MAX));
            RateLimiter::direct_with_clock(quota.allow_burst(self.burst), TokioClock)
        })
    }
}

const fn at_least_one(n: u32) -> u32 {
    if n == 0 {
        1
    } else {
        n
    }
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle").field("period", &self.period).field("burst", &self.burst).finish()
    }
}

/// governor's clock, read from tokio's.
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

impl Clock for TokioClock {
    type Instant = Tick;

    fn now(&self) -> Tick {
        Tick(clock::now())
    }
}

/// An instant of tokio's clock, as governor's `Reference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Tick(Instant);

impl Add<Nanos> for Tick {
    type Output = Tick;

    fn add(self, nanos: Nanos) -> Tick {
        // governor keeps at most ~584 years of nanoseconds; no real instant overflows here.
        Tick(self.0.checked_add(nanos.into()).unwrap_or(self.0))
    }
}

impl Reference for Tick {
    fn duration_since(&self, earlier: Self) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }

    fn saturating_sub(&self, nanos: Nanos) -> Self {
        Tick(self.0.checked_sub(nanos.into()).unwrap_or(self.0))
    }
}
