//! The adaptive throttle's arithmetic, on plain numbers (nanoseconds of the throttle's
//! clock): the mirror of the server's buckets that headers keep, and the cubic rate that
//! 429s alone teach. No clock, no lock: the throttle passes `now` in.

use std::time::Duration;

/// The AWS adaptive limiter's multiplicative decrease: a throttle leaves 70% of the rate.
pub(crate) const BETA: f64 = 0.7;
/// The floor, in requests a second: one a minute. (The AWS limiter's is 0.5 a second,
/// above the 3 to 20 requests a minute of the AI APIs' lowest tiers: it would never slow
/// down enough.)
pub(crate) const MIN_RATE: f64 = 1.0 / 60.0;
/// The AWS limiter's smoothing of the measured send rate, and its bucket (half a second).
const SMOOTH: f64 = 0.8;
const MEASURE_BUCKET: u64 = 500_000_000;
/// Seconds the cubic takes at least to climb back to the rate of the last throttle. The AWS
/// limiter's `SCALE_CONSTANT` (0.4) is in requests/s³, so at a few requests a second it
/// is back within a second and a half and probes the limit again at once; relative to the
/// rate instead, the climb has the same shape at 2 requests a second as at 2000.
pub(crate) const CUBIC_PLATEAU: f64 = 12.0;
/// ... and at least this many requests' worth of time at the last throttle's rate: each
/// probe above the limit costs a 429 or a few, so at tens of requests a minute a probe
/// every 12 s would make one request in ten a 429.
pub(crate) const PLATEAU_REQUESTS: f64 = 80.0;
/// The window a limit with no reset is assumed to count over (the AI APIs' are a minute).
const DEFAULT_WINDOW: f64 = 60.0;

const NANOS: f64 = 1e9;

fn secs(nanos: u64) -> f64 {
    nanos as f64 / NANOS
}

fn nanos(secs: f64) -> u64 {
    // `as` saturates, and maps NaN to 0.
    (secs * NANOS).round() as u64
}

/// What one response's headers said about one limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Report {
    pub(crate) limit: Option<u64>,
    pub(crate) remaining: Option<u64>,
    pub(crate) reset: Option<Duration>,
}

/// The client's copy of one of the server's buckets (requests or tokens): how much it
/// holds, as of when, and how fast it refills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Mirror {
    /// Whether a response has said anything about this limit.
    pub(crate) known: bool,
    pub(crate) limit: f64,
    pub(crate) level: f64,
    pub(crate) at: u64,
    /// Units a second.
    pub(crate) rate: f64,
}

impl Mirror {
    pub(crate) const UNKNOWN: Mirror = Mirror { known: false, limit: 0.0, level: 0.0, at: 0, rate: 0.0 };

    /// The level at `now`: refilled since the last reading, never above the limit.
    pub(crate) fn level_at(&self, now: u64) -> f64 {
        (self.level + self.rate * secs(now.saturating_sub(self.at))).min(self.limit)
    }

    /// How long until `need` units are there; zero if they are now. A need above the
    /// limit waits for a full bucket, never for ever.
    pub(crate) fn wait(&self, now: u64, need: f64) -> u64 {
        let need = need.min(self.limit);
        let short = need - self.level_at(now);
        // Below a nanosecond's refill is rounding, not a shortage.
        if short <= self.rate / NANOS {
            0
        } else if self.rate > 0.0 {
            nanos(short / self.rate).max(1)
        } else {
            nanos(1.0)
        }
    }

    /// Takes `need` units at `now` (after [`wait`](Self::wait) said zero).
    pub(crate) fn take(&mut self, now: u64, need: f64) {
        self.level = self.level_at(now) - need;
        self.at = now;
    }

    /// Gives back `units` taken for an estimate the usage came under (or takes the excess).
    pub(crate) fn settle(&mut self, now: u64, units: f64) {
        if self.known {
            self.level = (self.level_at(now) + units).min(self.limit);
            self.at = now;
        }
    }

    /// A response said `report`, at `now`, while `unseen` units were on their way that the
    /// server may not have counted yet.
    ///
    /// The refill rate is what the server will have given back by the reset: `(limit -
    /// remaining) / reset` (OpenAI's and Anthropic's buckets refill continuously; for a
    /// fixed window it spreads what is left over what is left of it). A full bucket says
    /// nothing of the rate: the last one stands, or `limit` a minute.
    pub(crate) fn learn(&mut self, report: Report, now: u64, unseen: f64) {
        let Some(remaining) = report.remaining else { return };
        let remaining = remaining as f64;
        let limit = report.limit.map_or(if self.known { self.limit.max(remaining) } else { remaining }, |l| l as f64);
        let limit = limit.max(remaining).max(1.0);
        let reset = report.reset.map(|d| d.as_secs_f64());
        self.rate = match reset {
            Some(reset) if reset > 0.0 && limit > remaining => (limit - remaining) / reset,
            _ if self.known && self.rate > 0.0 => self.rate,
            _ => limit / DEFAULT_WINDOW,
        };
        self.known = true;
        self.limit = limit;
        self.level = remaining - unseen;
        self.at = now;
    }
}

/// The rate 429s alone teach (no headers): multiplicative decrease on a throttled attempt,
/// cubic recovery on success, after the AWS SDKs' adaptive limiter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cubic {
    /// Off until the first throttle: until then nothing is paced.
    pub(crate) enabled: bool,
    /// Requests a second.
    pub(crate) rate: f64,
    last_max: f64,
    last_throttle: u64,
    /// Bumped by every decrease; an attempt admitted before it cannot cause another, so a
    /// burst of 429s from attempts already on their way cuts the rate once.
    pub(crate) epoch: u64,
    /// When the next request may start (a theoretical arrival time).
    next: u64,
    measured: f64,
    bucket_start: u64,
    bucket_count: u32,
}

impl Cubic {
    pub(crate) const NEW: Cubic = Cubic {
        enabled: false,
        rate: 0.0,
        last_max: 0.0,
        last_throttle: 0,
        epoch: 0,
        next: 0,
        measured: 0.0,
        bucket_start: 0,
        bucket_count: 0,
    };

    /// How long until the next request may start.
    pub(crate) fn wait(&self, now: u64) -> u64 {
        if self.enabled {
            self.next.saturating_sub(now)
        } else {
            0
        }
    }

    /// A request starts at `now`.
    pub(crate) fn take(&mut self, now: u64) {
        if self.enabled {
            self.next = self.next.max(now).saturating_add(nanos(1.0 / self.rate));
        }
        if now.saturating_sub(self.bucket_start) >= MEASURE_BUCKET {
            let current = f64::from(self.bucket_count) / secs(now - self.bucket_start);
            self.measured =
                if self.measured == 0.0 { current } else { SMOOTH * current + (1.0 - SMOOTH) * self.measured };
            self.bucket_start = now;
            self.bucket_count = 0;
        }
        self.bucket_count += 1;
    }

    /// The send rate, smoothed; before the first half-second is over, what it has been
    /// so far.
    pub(crate) fn measured(&self, now: u64) -> f64 {
        if self.measured > 0.0 {
            self.measured
        } else {
            let elapsed = secs(now.saturating_sub(self.bucket_start)).max(secs(MEASURE_BUCKET));
            f64::from(self.bucket_count) / elapsed
        }
    }

    /// An attempt admitted in `epoch` was throttled at `now`.
    pub(crate) fn throttled(&mut self, now: u64, epoch: u64) {
        if epoch != self.epoch {
            return;
        }
        let measured = self.measured(now);
        let last = if self.enabled { measured.min(self.rate) } else { measured };
        self.last_max = last.max(MIN_RATE);
        self.rate = (self.last_max * BETA).max(MIN_RATE);
        self.last_throttle = now;
        self.enabled = true;
        self.epoch += 1;
        // The requests already admitted went at the old rate: the new spacing starts now.
        self.next = now.saturating_add(nanos(1.0 / self.rate));
    }

    /// An attempt succeeded at `now`: the rate climbs back along the cubic, back at the
    /// last throttle's after [`plateau`](Self::plateau) seconds, then probing above it; never past
    /// twice the rate actually sent.
    pub(crate) fn succeeded(&mut self, now: u64) {
        if !self.enabled {
            return;
        }
        let cubic = self.at(secs(now.saturating_sub(self.last_throttle)));
        self.rate = cubic.min(2.0 * self.measured(now)).max(MIN_RATE);
    }

    /// Seconds from a throttle until the cubic is back at its rate.
    pub(crate) fn plateau(&self) -> f64 {
        CUBIC_PLATEAU.max(PLATEAU_REQUESTS / self.last_max)
    }

    /// The cubic's rate `secs` after the last throttle: `last_max · (1 + (1 - BETA)·(secs/P -
    /// 1)³)`, which is `BETA · last_max` at the throttle and `last_max` after the plateau `P`.
    pub(crate) fn at(&self, secs: f64) -> f64 {
        let t = secs / self.plateau() - 1.0;
        self.last_max * (1.0 + (1.0 - BETA) * t * t * t)
    }
}
