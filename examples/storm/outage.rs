//! The second scenario: a service fails some or all of its calls, and every caller retries
//! with `#[retry(attempts = 5)]`'s policy, alone or under one shared `steadfast::Budget`.
//! It measures the load amplification: calls the service receives per first attempt.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use steadfast::{Budget, Policy};

use crate::sim::{Net, Queue};

/// The callers and their work.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Callers, all sharing the budget (one process, one `static`).
    pub clients: usize,
    /// Operations each caller performs, one after the other.
    pub operations: u32,
    /// Pause between the end of one operation and the start of the next.
    pub think: Duration,
    /// Probability that a call fails (1.0 is a total outage).
    pub failure_rate: f64,
}

/// gRPC's example setting (proposal A6): throttles retries once failures exceed about 10%
/// of successes.
pub const fn grpc_budget() -> Budget {
    Budget::new(10, 0.1)
}

/// `#[retry(attempts = 5)]`: the attribute's defaults otherwise (exponential from 500ms,
/// full jitter, 30s cap).
pub const fn policy() -> Policy {
    Policy::new().attempts(5)
}

/// What the service received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Operations started: one first attempt each.
    pub first_attempts: u64,
    /// Every call that reached the service, first attempts and retries.
    pub calls: u64,
    /// Retries the budget refused.
    pub refused: u64,
}

impl Outcome {
    /// Calls sent per first attempt.
    pub fn amplification(&self) -> f64 {
        self.calls as f64 / self.first_attempts.max(1) as f64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    /// A caller begins an operation.
    Start { client: usize },
    /// An attempt reaches the service.
    Arrive { client: usize },
    /// The attempt's outcome reaches the caller.
    Reply { client: usize, ok: bool },
}

#[derive(Clone, Copy, Default)]
struct Caller {
    /// The attempt in flight (1 for the first).
    attempt: u32,
    /// The last backoff, for decorrelated jitter.
    previous: Duration,
    /// Operations still to start.
    left: u32,
}

/// One run. The retry decision follows the `#[retry]` loop: each failure takes its token
/// from the budget, then a retry starts only if an attempt remains and the budget allows.
pub fn run(policy: &Policy, budget: Option<&Budget>, load: Load, rng: &mut StdRng) -> Outcome {
    let mut net = Net::new();
    let mut queue = Queue::new();
    let mut callers = vec![Caller { left: load.operations, ..Caller::default() }; load.clients];
    let mut outcome = Outcome::default();
    let think = nanos(load.think);

    // Callers start spread over one think time, not in lock-step.
    for client in 0..load.clients {
        queue.push(rng.random_range(0..think.max(1)), Call::Start { client });
    }
    while let Some((now, event)) = queue.pop() {
        match event {
            Call::Start { client } => {
                let c = &mut callers[client];
                if c.left == 0 {
                    continue;
                }
                c.left -= 1;
                (c.attempt, c.previous) = (1, Duration::ZERO);
                outcome.first_attempts += 1;
                queue.push(now + net.hop(rng), Call::Arrive { client });
            }
            Call::Arrive { client } => {
                outcome.calls += 1;
                let ok = !rng.random_bool(load.failure_rate);
                queue.push(now + net.hop(rng), Call::Reply { client, ok });
            }
            Call::Reply { client, ok: true } => {
                if let Some(budget) = budget {
                    budget.record_success();
                }
                queue.push(now + think, Call::Start { client });
            }
            Call::Reply { client, ok: false } => {
                let c = &mut callers[client];
                let allowed = budget.is_none_or(Budget::record_failure);
                if c.attempt < policy.get_attempts() && allowed {
                    c.previous = policy.delay_with(c.attempt, c.previous, rng);
                    c.attempt += 1;
                    queue.push(now + nanos(c.previous) + net.hop(rng), Call::Arrive { client });
                } else {
                    outcome.refused += u64::from(c.attempt < policy.get_attempts());
                    queue.push(now + think, Call::Start { client });
                }
            }
        }
    }
    outcome
}

/// The sum of `runs` runs, each with a fresh budget and its own seeded stream (the same
/// streams with and without the budget).
pub fn total(with_budget: bool, load: Load, runs: u32, seed: u64) -> Outcome {
    let policy = policy();
    let mut sum = Outcome::default();
    for r in 0..runs {
        let mut rng = StdRng::seed_from_u64(seed ^ u64::from(r));
        let budget = grpc_budget();
        let one = run(&policy, with_budget.then_some(&budget), load, &mut rng);
        sum.first_attempts += one.first_attempts;
        sum.calls += one.calls;
        sum.refused += one.refused;
    }
    sum
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
