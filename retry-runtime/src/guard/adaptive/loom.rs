//! Loom models of the adaptive throttle's shared state (one lock over the mirrors, the
//! cubic and the in-flight counts): every interleaving of two or three threads. Run with
//! the other guards' models (`guard_loom` in the name; see `guard/loom.rs`).
//!
//! The clock is frozen: loom does not model time, and these models are about the counts
//! staying consistent, not about refills.

use ::loom::thread;

use super::state::Report;
use super::*;
use crate::timer::Instant;

/// A clock that never moves.
struct Frozen;

impl Clock for Frozen {
    fn now() -> Instant {
        Instant::from_nanos(1)
    }
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// `remaining` requests left of 60, the bucket full again in a minute.
fn requests(remaining: u64) -> Report {
    Report { limit: Some(60), remaining: Some(remaining), reset: Some(Duration::from_secs(60)) }
}

const NONE: Report = Report { limit: None, remaining: None, reset: None };

fn success() -> Verdict {
    Verdict::new(true, false, false, false)
}

fn throttled() -> Verdict {
    Verdict::new(false, true, false, true)
}

#[test]
fn guard_loom_adaptive_lets_through_exactly_what_the_bucket_holds() {
    ::loom::model(|| {
        let throttle = leak(AdaptiveThrottle::new().clock::<Frozen>());
        throttle.learn_reports(requests(2), NONE, None);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                thread::spawn(move || match throttle.admit() {
                    Admit::Now(ticket) => {
                        throttle.record(ticket, success());
                        true
                    }
                    _ => false,
                })
            })
            .collect();
        let admitted = threads.into_iter().map(|t| t.join().unwrap()).filter(|a| *a).count();
        assert_eq!(admitted, 2);
        let state = throttle.snapshot();
        assert_eq!((state.admitted, state.in_flight, state.requests.level), (2, 0, 0.0));
    });
}

#[test]
fn guard_loom_adaptive_learning_beside_calls_counts_each_once() {
    ::loom::model(|| {
        let throttle = leak(AdaptiveThrottle::new().clock::<Frozen>());
        let call = thread::spawn(move || {
            let Admit::Now(ticket) = throttle.cost(10).admit() else { panic!("nothing limits it yet") };
            throttle.record(ticket, success());
        });
        let learn = thread::spawn(move || throttle.learn_reports(requests(5), NONE, None));
        call.join().unwrap();
        learn.join().unwrap();
        let state = throttle.snapshot();
        assert_eq!((state.in_flight, state.in_flight_tokens, state.admitted), (0, 0, 1));
        // Learned before the call (which then took one) or after it (the server's count).
        let level = state.requests.level;
        assert!(level == 4.0 || level == 5.0, "{level}");
    });
}

#[test]
fn guard_loom_adaptive_429s_of_one_epoch_cut_the_rate_once() {
    ::loom::model(|| {
        let throttle = leak(AdaptiveThrottle::new().clock::<Frozen>());
        let tickets: Vec<_> = (0..2)
            .map(|_| match throttle.admit() {
                Admit::Now(ticket) => ticket,
                _ => panic!("nothing limits it yet"),
            })
            .collect();
        let threads: Vec<_> =
            tickets.into_iter().map(|t| thread::spawn(move || throttle.record(t, throttled()))).collect();
        for t in threads {
            t.join().unwrap();
        }
        let state = throttle.snapshot();
        assert_eq!((state.cubic.epoch, state.throttled, state.in_flight), (1, 2, 0));
        assert!(state.cubic.enabled);
    });
}
