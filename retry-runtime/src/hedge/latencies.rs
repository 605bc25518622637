//! [`Latencies`]: a hedge delay learned from a function's recent latencies.

use std::ops::DerefMut;
use std::time::Duration;

// loom's under the loom models (`hedge/loom.rs`), std's otherwise.
use crate::guard::sync::{const_fn, AtomicU64, Mutex, Ordering};

/// How many recent latencies are kept: enough for a 99.9th percentile to rest on a
/// thousand samples, small enough (8 KiB) for a `static` per function.
pub const WINDOW: usize = 1024;

/// After the warm-up, the delay is chosen again every this many samples: a selection over
/// the window costs microseconds, so it is not made on every call.
const REFRESH: usize = 16;

/// No delay chosen yet (warming up).
const NONE: u64 = u64::MAX;

/// A hedge delay learned as a percentile of a function's recent latencies.
///
/// It keeps the last [`WINDOW`] latencies of the *first* copy of each hedged call: the time
/// it took when it answered, or the time it had run when it was dropped because another
/// copy won. A dropped first copy ran at least as long as the hedge delay, so it counts,
/// correctly, as slower than the percentile; the later copies, which start late and are
/// dropped early, are not kept.
///
/// **Warm-up**: no hedge is sent until the window holds `max(20, ⌈1 / (1 - q)⌉)` samples
/// for the quantile `q` (20 for p95, 100 for p99, 1000 for p99.9), so the percentile rests
/// on at least one sample above it. Then the delay is the sample at rank `⌈q·n⌉` of the
/// `n` kept, chosen again every 16 samples.
///
/// ```
/// use std::time::Duration;
/// use steadfast::hedge::Latencies;
///
/// static P95: Latencies = Latencies::percentile(95.0);
/// for ms in 1..=100 {
///     P95.record(Duration::from_millis(ms));
/// }
/// assert_eq!(P95.delay(), Some(Duration::from_millis(95)));
/// ```
///
/// `#[retry(hedge = "p95")]` keeps one in a `static` of the function; on the builder, pass
/// one by reference to [`Retry::hedge`](crate::builder::Retry::hedge) and share it between
/// the calls that should learn together.
#[derive(Debug)]
pub struct Latencies {
    /// The quantile, in (0, 1).
    quantile: f64,
    warm_up: usize,
    /// The delay in nanoseconds, or `NONE`.
    delay: AtomicU64,
    ring: Mutex<Ring>,
}

#[derive(Debug)]
struct Ring {
    samples: Vec<u64>,
    /// The next slot to overwrite once the ring is full.
    next: usize,
    /// Samples since the delay was last chosen.
    fresh: usize,
}

impl Latencies {
    const_fn! {
        /// The `percentile`-th percentile (`95.0` for p95, `99.9` for p99.9) of the recent
        /// latencies; a value outside (0, 100), or NaN, is taken as 95.
        // `clamp` is not a const fn: clippy asks for it where this is not one (under loom).
        #[allow(clippy::manual_clamp)]
        pub fn percentile(percentile: f64) -> Self {
            // NaN fails both comparisons.
            let percentile = if percentile > 0.0 && percentile < 100.0 { percentile } else { 95.0 };
            let quantile = percentile / 100.0;
            let tail = 1.0 - quantile;
            // ⌈1 / tail⌉, in a const fn, forgiving the rounding of `1 - 0.999`.
            let needed = 1.0 / tail - 1e-6;
            let mut warm_up = needed as usize;
            if (warm_up as f64) < needed {
                warm_up += 1;
            }
            if warm_up < 20 {
                warm_up = 20;
            }
            if warm_up > WINDOW {
                warm_up = WINDOW;
            }
            Latencies {
                quantile,
                warm_up,
                delay: AtomicU64::new(NONE),
                ring: Mutex::new(Ring { samples: Vec::new(), next: 0, fresh: 0 }),
            }
        }
    }

    /// The hedge delay: `None` during the warm-up.
    pub fn delay(&self) -> Option<Duration> {
        match self.delay.load(Ordering::Relaxed) {
            NONE => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Samples needed before the first hedge.
    pub fn warm_up(&self) -> usize {
        self.warm_up
    }

    /// Samples kept (at most [`WINDOW`]).
    pub fn len(&self) -> usize {
        self.lock().samples.len()
    }

    /// Whether no sample is kept yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps one latency, the oldest making room once the window is full.
    pub fn record(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(NONE - 1).min(NONE - 1);
        let mut ring = self.lock();
        if ring.samples.len() < WINDOW {
            ring.samples.push(nanos);
        } else {
            let next = ring.next;
            ring.samples[next] = nanos;
            ring.next = (next + 1) % WINDOW;
        }
        ring.fresh += 1;
        let n = ring.samples.len();
        if n >= self.warm_up && (ring.fresh >= REFRESH || n == self.warm_up) {
            ring.fresh = 0;
            let delay = self.select(&ring.samples);
            // Stored before the lock is released: the stores follow the order of the
            // selections, so a selection over an older window never overwrites a newer one
            // (`hedge/loom.rs` checks it).
            self.delay.store(delay, Ordering::Relaxed);
        }
    }

    /// The sample at rank ⌈q·n⌉ (1-based) of `samples`.
    fn select(&self, samples: &[u64]) -> u64 {
        let n = samples.len();
        let rank = (self.quantile * n as f64).ceil() as usize;
        let index = rank.clamp(1, n) - 1;
        let mut scratch = samples.to_vec();
        *scratch.select_nth_unstable(index).1
    }

    fn lock(&self) -> impl DerefMut<Target = Ring> + '_ {
        // A panic while holding the lock leaves a valid ring: go on with it.
        self.ring.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The samples kept, oldest first while the window is not full (for the loom models,
    /// which check the delay against the order the samples landed in).
    #[cfg(all(test, loom))]
    pub(super) fn samples(&self) -> Vec<Duration> {
        self.lock().samples.iter().map(|&nanos| Duration::from_nanos(nanos)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn warm_up_per_percentile() {
        assert_eq!(Latencies::percentile(95.0).warm_up(), 20);
        assert_eq!(Latencies::percentile(50.0).warm_up(), 20);
        assert_eq!(Latencies::percentile(99.0).warm_up(), 100);
        assert_eq!(Latencies::percentile(99.9).warm_up(), 1000);
        assert_eq!(Latencies::percentile(99.99).warm_up(), WINDOW);
        assert_eq!(Latencies::percentile(f64::NAN).warm_up(), 20);
    }

    #[test]
    fn no_delay_until_warm() {
        let p = Latencies::percentile(95.0);
        for i in 1..20 {
            p.record(i * MS);
            assert_eq!(p.delay(), None, "{i} samples");
        }
        p.record(20 * MS);
        assert_eq!(p.delay(), Some(19 * MS), "rank ceil(0.95 * 20) = 19");
    }

    #[test]
    fn follows_the_recent_window() {
        let p = Latencies::percentile(50.0);
        for _ in 0..WINDOW {
            p.record(10 * MS);
        }
        assert_eq!(p.delay(), Some(10 * MS));
        // A whole window of slower calls replaces the old ones.
        for _ in 0..WINDOW {
            p.record(30 * MS);
        }
        assert_eq!(p.len(), WINDOW);
        assert_eq!(p.delay(), Some(30 * MS));
    }
}
