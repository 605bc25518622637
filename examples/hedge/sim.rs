//! The model of a copy's latency, and one run of calls under a hedging strategy.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use steadfast::hedge::Latencies;
use steadfast::Policy;

/// A model millisecond is a second of tokio's paused clock, so the timer's 1 ms tick is a
/// microsecond of the model and costs nothing: the clock jumps from timer to timer.
const SCALE: f64 = 1000.0;

/// Copies a hedged call may send (gRPC's `maxAttempts`): the original and two hedges.
pub const COPIES: u32 = 3;

/// The percentile both hedging strategies wait for, as Dean and Barroso's "after the 95th
/// percentile expected latency".
pub const PERCENTILE: f64 = 95.0;

/// Each copy's latency: lognormal with this median and sigma, or, with probability
/// `slow_fraction`, uniform in `[slow_min, slow_max]` (a hiccup: a pause, a queue, a bad
/// replica), all in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub median_ms: f64,
    pub sigma: f64,
    pub slow_fraction: f64,
    pub slow_min_ms: f64,
    pub slow_max_ms: f64,
}

impl Model {
    /// One copy's latency in milliseconds.
    pub fn draw(&self, rng: &mut StdRng, lognormal: &LogNormal<f64>) -> f64 {
        if rng.random_bool(self.slow_fraction) {
            rng.random_range(self.slow_min_ms..=self.slow_max_ms)
        } else {
            lognormal.sample(rng)
        }
    }

    pub fn lognormal(&self) -> Result<LogNormal<f64>, String> {
        LogNormal::new(self.median_ms.ln(), self.sigma).map_err(|e| format!("lognormal: {e}"))
    }

    /// The model's true `q`-th percentile, from a million draws of a seed of its own
    /// (what a `fixed` strategy tuned offline on the same service would use).
    pub fn percentile(&self, q: f64) -> Result<f64, String> {
        let lognormal = self.lognormal()?;
        let mut rng = StdRng::seed_from_u64(0x5eed);
        let mut draws: Vec<f64> = (0..1_000_000).map(|_| self.draw(&mut rng, &lognormal)).collect();
        draws.sort_by(f64::total_cmp);
        Ok(rank(&draws, q))
    }
}

/// How a run hedges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// One copy per call.
    None,
    /// A hedge after the model's true p95.
    Fixed,
    /// A hedge after the p95 the calls learn as they run (`hedge = "p95"`).
    Adaptive,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::None, Strategy::Fixed, Strategy::Adaptive];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::Fixed => "fixed",
            Strategy::Adaptive => "adaptive",
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Row {
    pub strategy: Strategy,
    pub calls: u64,
    /// Copies sent beyond one per call, per call.
    pub extra_load: f64,
    /// Every call's latency in milliseconds, sorted.
    pub latencies: Vec<f64>,
}

impl Row {
    pub fn percentile(&self, q: f64) -> f64 {
        rank(&self.latencies, q)
    }
}

/// The nearest-rank percentile of sorted values.
fn rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let i = ((q / 100.0 * n as f64).ceil() as usize).clamp(1, n);
    sorted[i - 1]
}

/// `calls` calls one after another on the paused clock, each copy's latency drawn from
/// `model` (the same seed for every strategy).
pub async fn run(strategy: Strategy, model: &Model, calls: u64, seed: u64, fixed_ms: f64) -> Result<Row, String> {
    let lognormal = model.lognormal()?;
    let rng = RefCell::new(StdRng::seed_from_u64(seed));
    let sent = Cell::new(0u64);
    let learned = Latencies::percentile(PERCENTILE);
    let fixed = Duration::from_secs_f64(fixed_ms * SCALE / 1000.0);
    let mut latencies = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        let op = || {
            sent.set(sent.get() + 1);
            let ms = model.draw(&mut rng.borrow_mut(), &lognormal);
            async move {
                tokio::time::sleep(Duration::from_secs_f64(ms * SCALE / 1000.0)).await;
                Ok::<(), std::io::Error>(())
            }
        };
        let start = tokio::time::Instant::now();
        let result = match strategy {
            Strategy::None => Policy::new().attempts(1).retry(op).await,
            Strategy::Fixed => Policy::new().attempts(COPIES).retry(op).hedge(fixed).await,
            Strategy::Adaptive => Policy::new().attempts(COPIES).retry(op).hedge(&learned).await,
        };
        result.map_err(|e| format!("a copy failed: {e}"))?;
        latencies.push(start.elapsed().as_secs_f64() * 1000.0 / SCALE);
    }
    latencies.sort_by(f64::total_cmp);
    Ok(Row { strategy, calls, extra_load: (sent.get() - calls) as f64 / calls as f64, latencies })
}
