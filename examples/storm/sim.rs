//! The simulation behind `examples/storm`: Marc Brooker's optimistic-concurrency model from
//! "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015), with every backoff delay
//! taken from `steadfast::Policy::delay_with`, the function the `#[retry]` loop uses.
//!
//! Kept free of I/O so that `tests/storm.rs` can include it and check it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use steadfast::{Jitter, Policy};

/// Brooker's `base` and `cap`.
pub const BASE: Duration = Duration::from_millis(5);
pub const CAP: Duration = Duration::from_millis(2000);

/// Every network hop takes |Normal(10 ms, 2 ms)| (the blog's "variance of 4ms" is sd 2).
const HOP_MEAN_MS: f64 = 10.0;
const HOP_SD_MS: f64 = 2.0;

/// The seed of every published figure; each run derives its own stream from it.
pub const SEED: u64 = 2015;

/// The five strategies of the blog, in the order of our CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    None,
    Exponential,
    Full,
    Equal,
    Decorrelated,
}

impl Algorithm {
    pub const ALL: [Algorithm; 5] =
        [Algorithm::None, Algorithm::Exponential, Algorithm::Full, Algorithm::Equal, Algorithm::Decorrelated];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::None => "none",
            Algorithm::Exponential => "exponential",
            Algorithm::Full => "full",
            Algorithm::Equal => "equal",
            Algorithm::Decorrelated => "decorrelated",
        }
    }

    /// The crate's policy that reproduces the blog's formula for this strategy.
    ///
    /// Two numbering differences need care. Brooker's retry `n` (from 1) uses
    /// `min(cap, base * 2^n)`, so his first backoff is `2 * base`; ours uses
    /// `base * 2^(n-1)`, so the exponential and equal policies take `base = 2 * 5ms`.
    /// Our full jitter draws from `[min, 2 * d(n)]` (centred on `d(n)`), while his draws
    /// from `[0, min(cap, base * 2^n)]`: with `min = 0` and `base = 5ms` the windows are
    /// the same. Decorrelated jitter ignores `n` in both and takes `base = 5ms` as is.
    /// `min` is zero throughout, as the blog has no floor. Clients in the model retry until
    /// they succeed, hence the unbounded attempt count.
    pub fn policy(self) -> Policy {
        let brooker = |base: Duration, jitter: Jitter| {
            Policy::new().base(base).min(Duration::ZERO).max(CAP).jitter(jitter).attempts(u32::MAX)
        };
        match self {
            Algorithm::None => Policy::immediate().attempts(u32::MAX),
            Algorithm::Exponential => brooker(2 * BASE, Jitter::None),
            Algorithm::Full => brooker(BASE, Jitter::Full),
            Algorithm::Equal => brooker(2 * BASE, Jitter::Equal),
            Algorithm::Decorrelated => brooker(BASE, Jitter::Decorrelated),
        }
    }
}

/// Network latency: |Normal(mean, sd)| through the Box-Muller transform (no extra dependency),
/// keeping the second value of each pair for the next hop.
pub struct Net {
    spare: Option<f64>,
}

impl Net {
    pub fn new() -> Self {
        Net { spare: None }
    }

    /// One hop, in whole nanoseconds.
    pub fn hop(&mut self, rng: &mut StdRng) -> u64 {
        let z = self.standard_normal(rng);
        ((HOP_MEAN_MS + HOP_SD_MS * z).abs() * 1e6).round() as u64
    }

    fn standard_normal(&mut self, rng: &mut StdRng) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        // 1 - [0, 1) is (0, 1], so the logarithm is finite.
        let radius = (-2.0 * (1.0 - rng.random::<f64>()).ln()).sqrt();
        let angle = std::f64::consts::TAU * rng.random::<f64>();
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

/// A time-ordered queue of events; the sequence number keeps ties in insertion order, so
/// a run depends only on its seed.
pub struct Queue<E> {
    heap: BinaryHeap<Reverse<(u64, u64, E)>>,
    seq: u64,
    now: u64,
}

impl<E: Ord> Queue<E> {
    pub fn new() -> Self {
        Queue { heap: BinaryHeap::new(), seq: 0, now: 0 }
    }

    pub fn push(&mut self, at: u64, event: E) {
        self.heap.push(Reverse((at, self.seq, event)));
        self.seq += 1;
    }

    /// The next event and its time; time never runs backwards.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        let Reverse((at, _, event)) = self.heap.pop()?;
        assert!(at >= self.now, "time ran backwards");
        self.now = at;
        Some((at, event))
    }
}

impl<E: Ord> Default for Queue<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// The messages of the OCC model, each at the moment it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Occ {
    /// A client's read reaches the row.
    Read { client: usize },
    /// The row's version reaches the client.
    ReadReply { client: usize, version: u64 },
    /// A client's conditional write reaches the row.
    Write { client: usize, version: u64 },
    /// The write's outcome reaches the client.
    WriteReply { client: usize, ok: bool },
}

/// What one client remembers between messages.
#[derive(Clone, Copy, Default)]
struct Client {
    /// Failed writes so far: the retry number of the next backoff.
    failures: u32,
    /// The last backoff, which decorrelated jitter grows from.
    previous: Duration,
}

/// The outcome of one simulated run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Write calls that reached the row, successful or not ("work").
    pub calls: u64,
    /// When the last client learned its write succeeded, in nanoseconds ("time").
    pub makespan: u64,
    /// Clients whose write succeeded.
    pub finished: usize,
}

/// One run: `clients` clients start at t = 0 and each updates the row once.
pub fn run(policy: &Policy, clients: usize, rng: &mut StdRng) -> Run {
    let mut net = Net::new();
    let mut queue = Queue::new();
    let mut state = vec![Client::default(); clients];
    let mut row_version = 0u64;
    let mut result = Run { calls: 0, makespan: 0, finished: 0 };

    for client in 0..clients {
        queue.push(net.hop(rng), Occ::Read { client });
    }
    while let Some((now, event)) = queue.pop() {
        match event {
            Occ::Read { client } => {
                queue.push(now + net.hop(rng), Occ::ReadReply { client, version: row_version });
            }
            Occ::ReadReply { client, version } => {
                queue.push(now + net.hop(rng), Occ::Write { client, version });
            }
            Occ::Write { client, version } => {
                result.calls += 1;
                let ok = version == row_version;
                if ok {
                    row_version += 1;
                }
                queue.push(now + net.hop(rng), Occ::WriteReply { client, ok });
            }
            Occ::WriteReply { client: _, ok: true } => {
                result.finished += 1;
                result.makespan = now;
            }
            Occ::WriteReply { client, ok: false } => {
                let c = &mut state[client];
                c.failures += 1;
                c.previous = policy.delay_with(c.failures, c.previous, rng);
                let backoff = u64::try_from(c.previous.as_nanos()).unwrap_or(u64::MAX);
                // As in Brooker's model, the next read travels after the backoff.
                queue.push(now + net.hop(rng) + backoff, Occ::Read { client });
            }
        }
    }
    result
}

/// The averages of many runs at one point of the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub clients: usize,
    pub algorithm: Algorithm,
    /// Mean write calls per run.
    pub calls: f64,
    /// Mean makespan per run, in milliseconds.
    pub time_ms: f64,
    /// True when every client of every run finished.
    pub all_finished: bool,
}

/// `runs` independent runs of one algorithm at one size. Each run has its own stream
/// derived from `(seed, algorithm, clients, run)`, so any subset of the grid, in any
/// order or on any thread, gives the same numbers.
pub fn point(algorithm: Algorithm, clients: usize, runs: u32, seed: u64) -> Point {
    let policy = algorithm.policy();
    let (mut calls, mut nanos, mut all_finished) = (0u64, 0u64, true);
    for r in 0..runs {
        let mut rng = StdRng::seed_from_u64(stream(seed, algorithm, clients, r));
        let run = run(&policy, clients, &mut rng);
        calls += run.calls;
        nanos += run.makespan;
        all_finished &= run.finished == clients;
    }
    let runs = f64::from(runs.max(1));
    Point { clients, algorithm, calls: calls as f64 / runs, time_ms: nanos as f64 / 1e6 / runs, all_finished }
}

/// A distinct seed per run (`seed_from_u64` scrambles it, so neighbours are unrelated).
fn stream(seed: u64, algorithm: Algorithm, clients: usize, run: u32) -> u64 {
    let index = Algorithm::ALL.iter().position(|a| *a == algorithm).unwrap_or(0) as u64;
    seed ^ (index << 56) ^ ((clients as u64) << 32) ^ u64::from(run)
}
