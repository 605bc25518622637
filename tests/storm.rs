//! The retry-storm simulator's core (`examples/storm/sim.rs`, `outage.rs`) at a small size:
//! the model holds its invariants, jitter pays off as Brooker's blog reports, and a budget
//! caps an outage's load.
//!
//! `cargo test --test storm`

#[path = "../examples/storm/outage.rs"]
mod outage;
#[path = "../examples/storm/sim.rs"]
mod sim;

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use sim::{Algorithm, BASE, CAP};

#[test]
fn every_client_finishes_and_writes_at_least_once() {
    for algorithm in Algorithm::ALL {
        for clients in [1, 10, 30] {
            let mut rng = StdRng::seed_from_u64(7);
            let run = sim::run(&algorithm.policy(), clients, &mut rng);
            assert_eq!(run.finished, clients, "{}", algorithm.name());
            assert!(run.calls >= clients as u64, "{}: {} calls for {clients} clients", algorithm.name(), run.calls);
        }
    }
}

#[test]
fn a_lone_client_takes_four_hops_and_one_write() {
    let mut rng = StdRng::seed_from_u64(1);
    let run = sim::run(&Algorithm::Full.policy(), 1, &mut rng);
    assert_eq!(run.calls, 1);
    // read, reply, write, reply: four hops of about 10ms each
    let ms = run.makespan as f64 / 1e6;
    assert!((20.0..60.0).contains(&ms), "{ms}ms");
}

#[test]
fn full_jitter_does_less_work_than_plain_exponential() {
    let exponential = sim::point(Algorithm::Exponential, 50, 20, sim::SEED);
    let full = sim::point(Algorithm::Full, 50, 20, sim::SEED);
    let none = sim::point(Algorithm::None, 50, 20, sim::SEED);
    assert!(full.calls < exponential.calls, "full {} vs exponential {}", full.calls, exponential.calls);
    assert!(exponential.calls < none.calls, "exponential {} vs none {}", exponential.calls, none.calls);
    assert!(full.time_ms < exponential.time_ms, "full {}ms vs exponential {}ms", full.time_ms, exponential.time_ms);
}

#[test]
fn a_point_depends_only_on_its_seed() {
    let a = sim::point(Algorithm::Decorrelated, 20, 5, 42);
    assert_eq!(a, sim::point(Algorithm::Decorrelated, 20, 5, 42));
    assert_ne!(a, sim::point(Algorithm::Decorrelated, 20, 5, 43));
}

/// The policies reproduce Brooker's formulas: checked at the edges of each window.
#[test]
fn policies_match_the_blog_formulas() {
    let ms = Duration::from_millis;
    let lowest = |p: &steadfast::Policy, n, prev| p.delay_by(n, prev, |lo, _| lo);
    let highest = |p: &steadfast::Policy, n, prev| p.delay_by(n, prev, |_, hi| hi);
    // min(cap, base * 2^attempt), attempt from 1
    let expo = |n: u32| (BASE * 2u32.pow(n)).min(CAP);
    for n in 1..=12 {
        let exponential = Algorithm::Exponential.policy();
        assert_eq!(lowest(&exponential, n, Duration::ZERO), expo(n));
        assert_eq!(highest(&exponential, n, Duration::ZERO), expo(n));
        // uniform(0, expo(n))
        let full = Algorithm::Full.policy();
        assert_eq!(lowest(&full, n, Duration::ZERO), Duration::ZERO);
        assert_eq!(highest(&full, n, Duration::ZERO), expo(n));
        // expo/2 + uniform(0, expo/2)
        let equal = Algorithm::Equal.policy();
        assert_eq!(lowest(&equal, n, Duration::ZERO), expo(n) / 2);
        assert_eq!(highest(&equal, n, Duration::ZERO), expo(n));
        assert_eq!(Algorithm::None.policy().delay_with(n, Duration::ZERO, &mut StdRng::seed_from_u64(0)), ms(0));
    }
    // min(cap, uniform(base, 3 * sleep)), sleep starting at base
    let decorrelated = Algorithm::Decorrelated.policy();
    assert_eq!(lowest(&decorrelated, 1, Duration::ZERO), BASE);
    assert_eq!(highest(&decorrelated, 1, Duration::ZERO), ms(15));
    assert_eq!(highest(&decorrelated, 2, ms(15)), ms(45));
    assert_eq!(lowest(&decorrelated, 2, ms(15)), BASE);
    assert_eq!(highest(&decorrelated, 9, ms(1500)), CAP);
}

#[test]
fn a_budget_keeps_a_total_outage_near_one_call_per_operation() {
    let load = outage::Load { clients: 20, operations: 5, think: Duration::from_millis(100), failure_rate: 1.0 };
    let without = outage::total(false, load, 3, sim::SEED);
    assert_eq!(without.first_attempts, 300);
    assert_eq!(without.calls, 5 * 300, "attempts = 5 multiplies an outage's load by 5");
    let with = outage::total(true, load, 3, sim::SEED);
    assert_eq!(with.first_attempts, 300);
    // Budget::new(10, 0.1): retries start while more than 5 tokens are left, and an outage
    // gives none back, so each run has room for exactly 4 retries.
    assert_eq!(with.calls, 300 + 3 * 4);
}

#[test]
fn a_budget_leaves_rare_failures_their_retries() {
    let load = outage::Load { clients: 20, operations: 20, think: Duration::from_millis(100), failure_rate: 0.02 };
    let with = outage::total(true, load, 3, sim::SEED);
    let without = outage::total(false, load, 3, sim::SEED);
    assert!(with.amplification() > 1.0, "{with:?}");
    assert!(with.refused * 10 <= with.calls - with.first_attempts, "the budget refused most retries: {with:?}");
    assert!((with.amplification() - without.amplification()).abs() < 0.01, "{with:?} vs {without:?}");
}
