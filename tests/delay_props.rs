//! Invariants of the delay function, for every configuration and every retry number up to
//! `u32::MAX`: each sleep lies in `[min, max]`, and nothing panics or overflows.

use std::time::Duration;

use proptest::prelude::*;
use steadfast::{Backoff, Jitter, Policy};

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        (0u64..10_000).prop_map(Duration::from_millis),
        any::<u64>().prop_map(Duration::from_nanos),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        Just(Duration::MAX),
    ]
}

fn backoff() -> impl Strategy<Value = Backoff> {
    prop_oneof![
        Just(Backoff::Exponential),
        Just(Backoff::Fixed),
        Just(Backoff::Linear),
        Just(Backoff::Fibonacci),
        Just(Backoff::None),
    ]
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![Just(Jitter::Full), Just(Jitter::Equal), Just(Jitter::Decorrelated), Just(Jitter::None)]
}

prop_compose! {
    fn policy()(
        backoff in backoff(),
        jitter in jitter(),
        min in proptest::option::of(duration()),
        base in proptest::option::of(duration()),
        step in proptest::option::of(duration()),
        max in duration(),
        factor in prop_oneof![Just(2.0), 1.0f64..100.0, any::<f64>()],
    ) -> Policy {
        let mut p = Policy::new().backoff(backoff).jitter(jitter).max(max).factor(factor);
        if let Some(min) = min { p = p.min(min); }
        if let Some(base) = base { p = p.base(base); }
        if let Some(step) = step { p = p.step(step); }
        p
    }
}

fn retry_number() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..100, any::<u32>(), Just(u32::MAX)]
}

/// The bounds every delay must respect, as the runtime reports them (in u64 nanoseconds).
fn bounds(p: &Policy) -> (Duration, Duration) {
    let cap = Duration::from_nanos(u64::MAX);
    (p.get_min().min(cap), p.get_max().min(cap))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn every_delay_lies_in_min_max(p in policy(), n in retry_number(), previous in duration(), draw in any::<u64>()) {
        let d = p.delay_by(n, previous, |lo, hi| lo + draw % (hi - lo).saturating_add(1).max(1));
        if is_none(&p) {
            prop_assert_eq!(d, Duration::ZERO);
        } else {
            let (min, max) = bounds(&p);
            prop_assert!(min <= d && d <= max, "{:?} n={} -> {:?} not in [{:?}, {:?}]", p, n, d, min, max);
        }
    }

    #[test]
    fn extreme_draws_stay_in_bounds(p in policy(), n in retry_number(), previous in duration()) {
        let (min, max) = bounds(&p);
        for draw in [u64::MIN, u64::MAX] {
            // A draw function that ignores its window must still be clamped.
            let d = p.delay_by(n, previous, |_, _| draw);
            if !is_none(&p) {
                prop_assert!(min <= d && d <= max);
            }
        }
    }

    #[test]
    fn undithered_delays_never_shrink(p in policy(), n in 1u32..u32::MAX) {
        let (min, max) = bounds(&p);
        let (a, b) = (p.unjittered(n), p.unjittered(n + 1));
        if !is_none(&p) {
            prop_assert!(min <= a && a <= max);
            prop_assert!(a <= b, "{:?}: d({}) = {:?} > d({}) = {:?}", p, n, a, n + 1, b);
        }
    }

    #[test]
    fn the_real_rng_stays_in_bounds(p in policy(), seed in any::<u64>()) {
        let _seed = steadfast::testing::seed(seed);
        let (min, max) = bounds(&p);
        for d in p.attempts(50).delays() {
            if !is_none(&p) {
                prop_assert!(min <= d && d <= max);
            }
        }
    }
}

fn is_none(p: &Policy) -> bool {
    *p == p.backoff(Backoff::None)
}
