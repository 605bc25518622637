//! [`Throttle`]: a rate limit shared by a fleet, GCRA on one Redis key.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::Script;

use super::{FailMode, Redis, Unavailable, TARGET};
use crate::guard::{Admit, Fits, Guard, Record, Verdict};

static GCRA: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("throttle.lua")));

/// A rate limit shared by every process that names the same key: each
/// [`acquire`](Self::acquire) waits for a permit of one schedule kept in Redis.
///
/// The semantics are those of the in-process [`crate::Throttle`]: permits `1/n` of a second
/// (or minute) apart, up to [`burst`](Self::burst) at once after a quiet spell (GCRA). The
/// schedule is one key, `{prefix}:{name}:throttle`, holding the theoretical arrival time of
/// the next permit on the server's clock and expiring once that time has passed; one Lua
/// script checks and moves it atomically. A refused check changes nothing: the caller
/// sleeps on tokio's timer for as long as the server says, then checks again, so a
/// cancelled wait takes no permit. Rates above a million a second are taken as one permit
/// a microsecond.
///
/// ```no_run
/// use std::time::Duration;
/// use steadfast::distributed::{FailMode, Redis, Throttle, Unavailable};
///
/// #[derive(Debug)]
/// enum ApiError {
///     Busy(Unavailable),
/// }
///
/// impl From<Unavailable> for ApiError {
///     fn from(e: Unavailable) -> Self {
///         ApiError::Busy(e)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ApiError> {
/// let redis = Redis::open("redis://127.0.0.1:6379/").expect("a valid url");
/// // 600 requests a minute for the whole fleet; without Redis, no request at all.
/// let limit = Throttle::per_minute(&redis, "search", 600).burst(10).fail_mode(FailMode::Closed);
/// for query in ["a", "b"] {
///     limit.acquire().await?;
///     // search(query).await?;
/// #   let _ = query;
/// }
/// # Ok(())
/// # }
/// ```
pub struct Throttle {
    handle: Handle,
    rate: Rate,
    /// Whether `local` was given, not derived from the rate.
    local_given: bool,
}

/// What a permit needs, cheap to clone into the future of a call that waits for one.
#[derive(Clone)]
struct Handle {
    redis: Redis,
    key: Arc<str>,
    period_micros: u64,
    burst: u32,
    mode: FailMode,
    /// The stand-in while Redis is down ([`FailMode::Open`]).
    local: Arc<crate::Throttle>,
}

#[derive(Debug, Clone, Copy)]
enum Rate {
    PerSecond(u32),
    PerMinute(u32),
}

impl Rate {
    /// The emission interval in whole microseconds, the resolution of Redis's `TIME`.
    fn period_micros(self) -> u64 {
        let (span, n) = match self {
            Rate::PerSecond(n) => (1_000_000, n),
            Rate::PerMinute(n) => (60_000_000, n),
        };
        (span / u64::from(n.max(1))).max(1)
    }

    fn local(self, burst: u32) -> crate::Throttle {
        match self {
            Rate::PerSecond(n) => crate::Throttle::per_second(n),
            Rate::PerMinute(n) => crate::Throttle::per_minute(n),
        }
        .burst(burst)
    }
}

impl Throttle {
    /// `n` permits a second for every process that uses `name` (`0` is taken as 1).
    pub fn per_second(redis: &Redis, name: &str, n: u32) -> Self {
        Self::new(redis, name, Rate::PerSecond(n))
    }

    /// `n` permits a minute for every process that uses `name` (`0` is taken as 1).
    pub fn per_minute(redis: &Redis, name: &str, n: u32) -> Self {
        Self::new(redis, name, Rate::PerMinute(n))
    }

    fn new(redis: &Redis, name: &str, rate: Rate) -> Self {
        let handle = Handle {
            redis: redis.clone(),
            key: redis.key(name, "throttle").into(),
            period_micros: rate.period_micros(),
            burst: 1,
            mode: FailMode::Open,
            local: Arc::new(rate.local(1)),
        };
        Throttle { handle, rate, local_given: false }
    }

    /// Lets up to `b` permits through at once after a quiet spell (1 by default, `0` is
    /// taken as 1); the average rate does not change.
    pub fn burst(mut self, b: u32) -> Self {
        self.handle.burst = b.max(1);
        if !self.local_given {
            self.handle.local = Arc::new(self.rate.local(self.handle.burst));
        }
        self
    }

    /// What to do while Redis is unreachable ([`FailMode::Open`] by default).
    pub fn fail_mode(mut self, mode: FailMode) -> Self {
        self.handle.mode = mode;
        self
    }

    /// The in-process throttle that stands in while Redis is down ([`FailMode::Open`]); by
    /// default the same rate and burst, which lets each process go at the whole fleet's
    /// rate. A process's share (the rate divided by the number of processes) keeps the fleet
    /// near its limit instead.
    pub fn local(mut self, throttle: crate::Throttle) -> Self {
        self.handle.local = Arc::new(throttle);
        self.local_given = true;
        self
    }

    /// The Redis key that holds the schedule.
    pub fn key(&self) -> &str {
        &self.handle.key
    }

    /// Waits for a permit. Cancel-safe: a dropped wait takes no permit.
    ///
    /// Returns [`Unavailable`] only with [`FailMode::Closed`], at the latest
    /// [`Redis::timeout`] after the call that found the server down.
    pub async fn acquire(&self) -> Result<(), Unavailable> {
        self.handle.acquire().await
    }

    /// Takes a permit if one is free now.
    ///
    /// Returns [`Unavailable`] only with [`FailMode::Closed`].
    pub async fn try_acquire(&self) -> Result<bool, Unavailable> {
        self.handle.try_acquire().await
    }
}

impl Handle {
    async fn acquire(&self) -> Result<(), Unavailable> {
        let mut sleep = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
        loop {
            match self.check().await {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => {
                    sleep.as_mut().reset(tokio::time::Instant::now() + wait);
                    sleep.as_mut().await;
                }
                Err(e) => {
                    self.fall_back(e)?;
                    self.local.acquire_on::<crate::timer::Tokio>().await;
                    return Ok(());
                }
            }
        }
    }

    async fn try_acquire(&self) -> Result<bool, Unavailable> {
        match self.check().await {
            Ok(wait) => Ok(wait.is_none()),
            Err(e) => {
                self.fall_back(e)?;
                Ok(self.local.try_acquire())
            }
        }
    }

    /// Takes a permit (`None`), or says how long until the next is due.
    async fn check(&self) -> Result<Option<Duration>, Unavailable> {
        let mut gcra = GCRA.prepare_invoke();
        gcra.key(&*self.key).arg(self.period_micros).arg(self.burst);
        let wait: u64 = self.redis.eval(&self.key, &gcra).await?;
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }

    /// [`FailMode::Open`]: logs and lets the caller use the local throttle; `Closed`: the
    /// error.
    fn fall_back(&self, e: Unavailable) -> Result<(), Unavailable> {
        // One event per failed call to the server, not one per permit while it is left alone.
        if !e.is_skipped() {
            let fallback = match self.mode {
                FailMode::Open => "throttling with the local limit",
                FailMode::Closed => "refusing permits until it is back",
            };
            tracing::warn!(target: TARGET, key = %self.key, error = %e, "redis unavailable: {fallback}");
        }
        match self.mode {
            FailMode::Open => Ok(()),
            FailMode::Closed => Err(e),
        }
    }
}

/// The `throttle` key and [`Retry::throttle`](crate::builder::Retry::throttle) take it: each
/// attempt waits for a permit of the fleet's schedule (a round-trip to Redis); a refused
/// permit ends the call with `E::from(Unavailable)`.
impl Guard for Throttle {
    type Refusal = Unavailable;
    type Ticket = ();

    fn admit(&self) -> Admit<(), Unavailable> {
        let handle = self.handle.clone();
        Admit::Pending(Box::pin(async move { handle.acquire().await }))
    }

    fn record(&self, _: (), _: Verdict) -> Record {
        Record::Now(true)
    }
}

impl Fits<crate::Throttle> for Throttle {}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("key", &self.handle.key)
            .field("period", &Duration::from_micros(self.handle.period_micros))
            .field("burst", &self.handle.burst)
            .field("fail_mode", &self.handle.mode)
            .field("local", &self.handle.local)
            .finish()
    }
}
