//! Invariants of the delay function, for every configuration and every retry number up to
//! `u32::MAX`: each sleep lies in `[min, max]`, and nothing panics or overflows; and of the
//! sleeps a retried call takes with server hints and a deadline.
//!
//! The bounds are the test's own, computed from what it gave the builder and the documented
//! defaults (min 500ms, max 30s, a min above max lowered to max), never read back from the
//! policy's getters, which would only check the policy against itself.

use std::cell::RefCell;
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

/// A policy, with the bounds its every delay must lie in, from its inputs.
#[derive(Debug, Clone)]
struct Case {
    policy: Policy,
    min: Duration,
    max: Duration,
}

/// The documented defaults of `Policy::new()`.
const DEFAULT_MIN: Duration = Duration::from_millis(500);
const DEFAULT_MAX: Duration = Duration::from_secs(30);

prop_compose! {
    fn policy()(
        backoff in backoff(),
        jitter in jitter(),
        min in proptest::option::of(duration()),
        base in proptest::option::of(duration()),
        step in proptest::option::of(duration()),
        max in proptest::option::of(duration()),
        factor in prop_oneof![Just(2.0), 1.0f64..100.0, any::<f64>()],
    ) -> Case {
        let mut p = Policy::new().backoff(backoff).jitter(jitter).factor(factor);
        if let Some(max) = max { p = p.max(max); }
        if let Some(min) = min { p = p.min(min); }
        if let Some(base) = base { p = p.base(base); }
        if let Some(step) = step { p = p.step(step); }
        // The floor is `min` when given; with only `base` given there is none (tenacity's
        // `multiplier` alone starts at the base, which jitter may go below).
        let floor = match (min, base) {
            (Some(min), _) => min,
            (None, Some(_)) => Duration::ZERO,
            (None, None) => DEFAULT_MIN,
        };
        let max = max.unwrap_or(DEFAULT_MAX);
        // Delays are u64 nanoseconds.
        let cap = Duration::from_nanos(u64::MAX);
        Case { policy: p, min: floor.min(max).min(cap), max: max.min(cap) }
    }
}

fn retry_number() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..100, any::<u32>(), Just(u32::MAX)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn every_delay_lies_in_min_max(c in policy(), n in retry_number(), previous in duration(), draw in any::<u64>()) {
        let Case { policy: p, min, max } = c;
        let d = p.delay_by(n, previous, |lo, hi| lo + draw % (hi - lo).saturating_add(1).max(1));
        if is_none(&p) {
            prop_assert_eq!(d, Duration::ZERO);
        } else {
            prop_assert!(min <= d && d <= max, "{:?} n={} -> {:?} not in [{:?}, {:?}]", p, n, d, min, max);
        }
    }

    #[test]
    fn extreme_draws_stay_in_bounds(c in policy(), n in retry_number(), previous in duration()) {
        let Case { policy: p, min, max } = c;
        for draw in [u64::MIN, u64::MAX] {
            // A draw function that ignores its window must still be clamped.
            let d = p.delay_by(n, previous, |_, _| draw);
            if !is_none(&p) {
                prop_assert!(min <= d && d <= max);
            }
        }
    }

    #[test]
    fn undithered_delays_never_shrink(c in policy(), n in 1u32..u32::MAX) {
        let Case { policy: p, min, max } = c;
        let (a, b) = (p.unjittered(n), p.unjittered(n + 1));
        if !is_none(&p) {
            prop_assert!(min <= a && a <= max);
            prop_assert!(a <= b, "{:?}: d({}) = {:?} > d({}) = {:?}", p, n, a, n + 1, b);
        }
    }

    #[test]
    fn the_real_rng_stays_in_bounds(c in policy(), seed in any::<u64>()) {
        let _seed = steadfast::testing::seed(seed);
        let Case { policy: p, min, max } = c;
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

/// A failure carrying the server's hint for the next sleep, in milliseconds.
#[derive(Debug)]
struct Hinted(Option<u64>);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A call whose every attempt fails with a hint (or none), under a deadline (or none), on
    /// a paused clock: each sleep is the hint exactly when there is one and it is at most
    /// `max`, a jittered delay in `[min, max]` otherwise; a hint above `max` ends the retries;
    /// no sleep that would end at or past the deadline starts; and the call stops early only
    /// for one of those reasons.
    #[test]
    fn hints_and_deadlines_shape_the_sleeps(
        min_ms in 0u64..5_000,
        max_ms in 1u64..10_000,
        attempts in 1u32..8,
        hints in proptest::collection::vec(proptest::option::of(0u64..12_000), 8),
        deadline_ms in proptest::option::of(1u64..40_000),
        seed in any::<u64>(),
    ) {
        let (min, max) = (Duration::from_millis(min_ms), Duration::from_millis(max_ms));
        let floor = min.min(max);
        let deadline = deadline_ms.map(Duration::from_millis);
        let mut policy = Policy::exponential(min, max).attempts(attempts);
        if let Some(deadline) = deadline {
            policy = policy.deadline(deadline);
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let _seed = steadfast::testing::seed(seed);
        // Every delay the policy chose, zero included (a zero delay arms no timer, so the
        // test kit's recorder does not see it), and the time it was chosen at.
        let delays = RefCell::new(Vec::new());
        let calls = RefCell::new(0usize);
        let call = policy
            .retry(|| {
                let n = { let mut c = calls.borrow_mut(); *c += 1; *c };
                let hint = hints[n - 1];
                async move { Err(Hinted(hint)) }
            })
            .retry_after(|e: &Hinted| e.0.map(Duration::from_millis))
            .notify(|a| delays.borrow_mut().push((a.delay(), a.elapsed())));
        let (result, t): (Result<(), Hinted>, _) = runtime.block_on(async {
            let start = tokio::time::Instant::now();
            let result = call.await;
            (result, start.elapsed())
        });
        prop_assert!(result.is_err());
        let sleeps = delays.into_inner();
        let calls = calls.into_inner();
        prop_assert_eq!(calls, sleeps.len() + 1, "one sleep between attempts");
        prop_assert!(calls <= attempts as usize, "{} calls for {} attempts", calls, attempts);
        // The clock moved by the delays chosen (tokio's timer rounds each sleep up to its
        // millisecond tick).
        let total: Duration = sleeps.iter().map(|s| s.0).sum();
        let ticks = Duration::from_millis(sleeps.len() as u64);
        prop_assert!(total <= t && t <= total + ticks, "slept {:?} for delays of {:?}", t, total);

        for (i, &(slept, at)) in sleeps.iter().enumerate() {
            match hints[i].map(Duration::from_millis) {
                Some(hint) => {
                    prop_assert!(hint <= max, "a hint above max ({:?}) ends the retries", hint);
                    prop_assert_eq!(slept, hint, "a hint is slept exactly");
                }
                None => prop_assert!(floor <= slept && slept <= max, "{:?} not in [{:?}, {:?}]", slept, floor, max),
            }
            if let Some(deadline) = deadline {
                prop_assert!(at + slept < deadline, "a sleep ending at {:?} started under a deadline of {:?}", at + slept, deadline);
            }
        }
        // Why it stopped: out of attempts, or the next sleep was not allowed.
        if calls < attempts as usize {
            let next = hints[calls - 1].map(Duration::from_millis);
            let too_long = next.is_some_and(|h| h > max);
            // The next sleep was at most `max`, or the hint: it must have reached the deadline.
            let reaches = |d: Duration| deadline.is_some_and(|deadline| t + d >= deadline);
            let past_deadline = match next {
                Some(h) if h <= max => reaches(h),
                _ => reaches(max),
            };
            prop_assert!(too_long || past_deadline, "stopped after {} of {} attempts: hint {:?}, t {:?}, deadline {:?}", calls, attempts, next, t, deadline);
        }
    }
}
