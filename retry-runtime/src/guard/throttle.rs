//! [`Throttle`]: a rate limit shared by every call site that names it (GCRA, on tokio's
//! clock).

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::ops::Add;
use std::sync::OnceLock;
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use super::{Admit, Fits, Guard, Immediate, Record, Verdict};
use crate::timer::{DefaultClock, Instant};

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, OnClock<C>, NoOpMiddleware<Tick>>;

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
pub struct Throttle<C: crate::timer::Clock = DefaultClock> {
    /// The emission interval: one permit per `period`, at least 1ns.
    period: Duration,
    burst: NonZeroU32,
    // governor's limiter reads the clock when it is built, so it cannot be built in a
    // `const`; the first permit builds it.
    limiter: OnceLock<Limiter<C>>,
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
}

impl<C: crate::timer::Clock> Throttle<C> {
    /// The same throttle, on the clock `C` instead of the [`DefaultClock`].
    pub const fn clock<D: crate::timer::Clock>(self) -> Throttle<D> {
        let throttle = Throttle { period: self.period, burst: self.burst, limiter: OnceLock::new() };
        // `self`'s limiter is never built before this (it is built on the first permit), but
        // a `const fn` may not run its destructor.
        std::mem::forget(self);
        throttle
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

    /// Waits for a permit on the [`DefaultTimer`](crate::timer::DefaultTimer).
    /// Cancel-safe: a dropped wait takes no permit.
    pub async fn acquire(&self)
    where
        // Higher-ranked, so that without a timer feature the bound fails where `acquire` is
        // called, with the timer's message, not here.
        for<'a> crate::timer::DefaultTimer: crate::timer::Timer,
    {
        self.acquire_on::<crate::timer::DefaultTimer>().await
    }

    /// Waits for a permit, sleeping on the timer `T`.
    pub async fn acquire_on<T: crate::timer::Timer>(&self) {
        while let Err(wait) = self.wait() {
            T::sleep(wait).await;
        }
    }

    /// Blocks the thread until a permit is free: the wait of a synchronous `fn`.
    ///
    /// Reads the throttle's clock but sleeps with `std::thread::sleep`, so a paused test
    /// clock would never let it through: test blocking code with real, short rates.
    pub fn acquire_blocking(&self) {
        while let Err(wait) = self.wait() {
            std::thread::sleep(wait);
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

    /// Takes a permit, or says how long until the next one is due.
    fn wait(&self) -> Result<(), Duration> {
        self.check().map_err(|at| at.saturating_duration_since(<C as crate::timer::Clock>::now()))
    }

    fn limiter(&self) -> &Limiter<C> {
        self.limiter.get_or_init(|| {
            // `every` keeps the period above zero, so `with_period` cannot refuse it.
            let quota = Quota::with_period(self.period).unwrap_or(Quota::per_second(NonZeroU32::MAX));
            RateLimiter::direct_with_clock(quota.allow_burst(self.burst), OnClock(PhantomData))
        })
    }
}

impl<C: crate::timer::Clock> Guard for Throttle<C> {
    type Refusal = Infallible;
    type Ticket = ();

    /// A permit now, or the wait until the next one: the call sleeps it on its own timer
    /// and asks again, so a dropped wait takes no permit.
    #[inline]
    fn admit(&self) -> Admit<(), Infallible> {
        match self.wait() {
            Ok(()) => Admit::Now(()),
            Err(wait) => Admit::Wait(wait),
        }
    }

    #[inline]
    fn record(&self, _: (), _: Verdict) -> Record {
        Record::Now(true)
    }
}

impl<C: crate::timer::Clock> Fits<Throttle> for Throttle<C> {}
impl<C: crate::timer::Clock> Immediate for Throttle<C> {}

const fn at_least_one(n: u32) -> u32 {
    if n == 0 {
        1
    } else {
        n
    }
}

impl<C: crate::timer::Clock> fmt::Debug for Throttle<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle").field("period", &self.period).field("burst", &self.burst).finish()
    }
}

/// governor's clock, read from the throttle's.
struct OnClock<C>(PhantomData<fn() -> C>);

impl<C> Clone for OnClock<C> {
    fn clone(&self) -> Self {
        OnClock(PhantomData)
    }
}

impl<C: crate::timer::Clock> Clock for OnClock<C> {
    type Instant = Tick;

    fn now(&self) -> Tick {
        Tick(C::now())
    }
}

/// An instant of the throttle's clock, as governor's `Reference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Tick(Instant);

impl Add<Nanos> for Tick {
    type Output = Tick;

    fn add(self, nanos: Nanos) -> Tick {
        Tick(self.0.saturating_add(nanos.into()))
    }
}

impl Reference for Tick {
    fn duration_since(&self, earlier: Self) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }

    fn saturating_sub(&self, nanos: Nanos) -> Self {
        let nanos: Duration = nanos.into();
        Tick(Instant::from_nanos(self.0.as_nanos().saturating_sub(u64::try_from(nanos.as_nanos()).unwrap_or(u64::MAX))))
    }
}
