//! [`Policy`]: how many attempts, and how long to wait between them.

use std::time::Duration;

/// Shape of the un-jittered delay sequence `d(n)` (`n = 1` before the second attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backoff {
    /// `base * factor^(n-1)`, clamped to `[min, max]` (the default).
    Exponential,
    /// `base` every time.
    Fixed,
    /// `base + (n-1) * step`, clamped to `[min, max]`.
    Linear,
    /// `base * F(n)` with `F = 1, 1, 2, 3, 5, …`, clamped to `[min, max]`.
    Fibonacci,
    /// Retry at once: no sleep, and `min`, `max` and jitter do not apply.
    None,
}

/// How a delay is randomised. No mode ever takes a delay outside `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// Uniform in `[min, min(max, 2 * d(n))]` (the default): spreads even the first retry and
    /// keeps the average pace near `d(n)`. With `min = 0` this is AWS's "Full Jitter".
    Full,
    /// `d(n)/2 + uniform[0, d(n)/2]`, raised to `min` (AWS's "Equal Jitter"). With the default
    /// `base = min`, the first retry waits exactly `min`.
    Equal,
    /// `min(max, uniform[base, 3 * previous])`, previous starting at `base`, raised to `min`
    /// (AWS's "Decorrelated Jitter"; ignores the backoff shape).
    Decorrelated,
    /// `d(n)` exactly.
    None,
}

/// What a server's hint (`retry_after`, `Retry-After`) longer than the policy's `max` does.
///
/// A server asking for more than the caller said it would ever wait is either down for
/// long or asking the client to go away; the default ends the retries and returns the
/// error at once, so a batch can requeue the work instead of holding a task for minutes
/// (openai-python 3.3 gives up above 120 s too). Envoy instead caps a hint at its own
/// maximum ([`Clamp`](Self::Clamp)); the Anthropic SDK ignores a hint above 60 s and backs
/// off as if none had come ([`Ignore`](Self::Ignore)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HintAboveMax {
    /// End the retries with the error (reason `hint_too_long`). The default.
    #[default]
    GiveUp,
    /// Sleep `max`, then retry.
    Clamp,
    /// Ignore the hint: sleep the policy's own (jittered) backoff delay, then retry.
    Ignore,
}

/// A retry policy: attempts, backoff shape, bounds and jitter.
///
/// Every constructor and setter is a `const fn`, so a policy can live in a `const` or
/// `static`; `#[retry]` emits one per function. Out-of-range values are never an error
/// here (the attribute rejects them at compile time instead): `attempts(0)` means one
/// attempt, a `min` above `max` is lowered to `max`, and a `factor` below 1 (or NaN) is 1.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{Jitter, Policy};
///
/// const POLICY: Policy = Policy::exponential(Duration::from_secs(2), Duration::from_secs(60))
///     .attempts(5)
///     .jitter(Jitter::None);
/// let delays: Vec<u64> = POLICY.delays().map(|d| d.as_secs()).collect();
/// assert_eq!(delays, [2, 4, 8, 16]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub(crate) attempts: u32,
    pub(crate) backoff: Backoff,
    pub(crate) jitter: Jitter,
    min: Option<Duration>,
    base: Option<Duration>,
    step: Option<Duration>,
    pub(crate) max: Duration,
    factor: f64,
    pub(crate) deadline: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) hint_above_max: HintAboveMax,
}

impl Default for Policy {
    fn default() -> Self {
        Self::new()
    }
}

/// The defaults of DESIGN.md, shared with the attribute's compile-time checks.
const DEFAULT_MIN: Duration = Duration::from_millis(500);
const DEFAULT_MAX: Duration = Duration::from_secs(30);

impl Policy {
    /// The attribute's defaults: 3 attempts, exponential backoff from 500ms doubling to 30s, full jitter.
    pub const fn new() -> Self {
        Policy {
            attempts: 3,
            backoff: Backoff::Exponential,
            jitter: Jitter::Full,
            min: None,
            base: None,
            step: None,
            max: DEFAULT_MAX,
            factor: 2.0,
            deadline: None,
            timeout: None,
            hint_above_max: HintAboveMax::GiveUp,
        }
    }

    /// Exponential backoff starting at `min` and doubling up to `max`.
    pub const fn exponential(min: Duration, max: Duration) -> Self {
        Self::new().min(min).max(max)
    }

    /// The same delay before every retry, with no randomisation unless `max` is raised
    /// above it (full jitter then draws from `[delay, min(max, 2 * delay)]`).
    pub const fn fixed(delay: Duration) -> Self {
        Self::new().backoff(Backoff::Fixed).min(delay).max(delay)
    }

    /// Delays growing by `step`: `base`, `base + step`, `base + 2 * step`, … up to `max`.
    pub const fn linear(base: Duration, step: Duration, max: Duration) -> Self {
        Self::new().backoff(Backoff::Linear).min(base).step(step).max(max)
    }

    /// Delays following the Fibonacci sequence from `min`, up to `max`.
    pub const fn fibonacci(min: Duration, max: Duration) -> Self {
        Self::new().backoff(Backoff::Fibonacci).min(min).max(max)
    }

    /// Retry at once, without sleeping.
    pub const fn immediate() -> Self {
        Self::new().backoff(Backoff::None)
    }

    /// Total calls including the first (at least 1).
    pub const fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = if attempts == 0 { 1 } else { attempts };
        self
    }

    /// The shape of the delay sequence.
    pub const fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The randomisation of each delay.
    pub const fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Floor of every delay. Defaults to 500ms (lowered to `max` when that is smaller), or
    /// to zero when [`base`](Self::base) is set.
    pub const fn min(mut self, min: Duration) -> Self {
        self.min = Some(min);
        self
    }

    /// The un-jittered first delay (tenacity's `multiplier`). Defaults to `min`.
    pub const fn base(mut self, base: Duration) -> Self {
        self.base = Some(base);
        self
    }

    /// The increment of [`Backoff::Linear`]. Defaults to `base`.
    pub const fn step(mut self, step: Duration) -> Self {
        self.step = Some(step);
        self
    }

    /// Ceiling of every delay (30s by default).
    pub const fn max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// Growth of [`Backoff::Exponential`] (2 by default; values below 1 and NaN mean 1).
    pub const fn factor(mut self, factor: f64) -> Self {
        // NaN fails the comparison too.
        self.factor = if factor >= 1.0 { factor } else { 1.0 };
        self
    }

    /// Total time budget from the first call: no sleep that would end at or past it starts,
    /// and each attempt's [`timeout`](Self::timeout) is cut to what is left of it.
    pub const fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Limits each attempt of an async retry to `limit`; a timed-out attempt fails with
    /// [`Elapsed`](crate::Elapsed), converted into the caller's error.
    pub const fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// What a server's hint longer than [`max`](Self::max) does (by default it ends the
    /// retries).
    ///
    /// ```
    /// use std::time::Duration;
    /// use steadfast::{HintAboveMax, Policy};
    ///
    /// const POLICY: Policy = Policy::new().max(Duration::from_secs(60)).hint_above_max(HintAboveMax::Clamp);
    /// assert_eq!(POLICY.get_hint_above_max(), HintAboveMax::Clamp);
    /// ```
    pub const fn hint_above_max(mut self, choice: HintAboveMax) -> Self {
        self.hint_above_max = choice;
        self
    }

    /// What a hint longer than `max` does.
    pub const fn get_hint_above_max(&self) -> HintAboveMax {
        self.hint_above_max
    }

    /// The total time budget, if any.
    pub const fn get_deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The per-attempt limit, if any.
    pub const fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Total calls including the first.
    pub const fn get_attempts(&self) -> u32 {
        self.attempts
    }

    /// The shape of the delay sequence.
    pub const fn get_backoff(&self) -> Backoff {
        self.backoff
    }

    /// The randomisation of each delay.
    pub const fn get_jitter(&self) -> Jitter {
        self.jitter
    }

    /// The floor of every delay, after defaults.
    pub const fn get_min(&self) -> Duration {
        let min = match (self.min, self.base) {
            (Some(min), _) => min,
            (None, Some(_)) => Duration::ZERO,
            (None, None) => DEFAULT_MIN,
        };
        if min.as_nanos() < self.max.as_nanos() {
            min
        } else {
            self.max
        }
    }

    /// The ceiling of every delay.
    pub const fn get_max(&self) -> Duration {
        self.max
    }

    /// The un-jittered first delay, after defaults.
    pub const fn get_base(&self) -> Duration {
        match self.base {
            Some(base) => base,
            None => self.get_min(),
        }
    }

    /// The increment of linear backoff, after defaults.
    pub const fn get_step(&self) -> Duration {
        match self.step {
            Some(step) => step,
            None => self.get_base(),
        }
    }

    /// The growth factor of exponential backoff.
    pub const fn get_factor(&self) -> f64 {
        self.factor
    }
}

pub use crate::backoff::Delays;
pub use crate::duration::{parse_duration, DurationError};
