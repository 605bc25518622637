//! Loom models of the breaker's and the budget's atomics: every interleaving of two or
//! three threads, explored exhaustively (the adaptive throttle's are in
//! `adaptive/loom.rs`). Run with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p retry-runtime --release --lib guard_loom
//! ```
//!
//! The breakers here have a cooldown of zero or of an hour: loom does not model time, so a
//! model either never leaves "open" or leaves it at once.

use std::time::Duration;

use loom::thread;

use super::{Breaker, BreakerPermit, BreakerState, Budget};

const HOUR: Duration = Duration::from_secs(3600);

/// A guard the model's threads can borrow; one leaked per explored interleaving (small).
fn leak<T>(guard: T) -> &'static T {
    Box::leak(Box::new(guard))
}

fn acquire_in_thread(breaker: &'static Breaker) -> thread::JoinHandle<Option<BreakerPermit<'static>>> {
    thread::spawn(move || breaker.try_acquire().ok())
}

#[test]
fn guard_loom_concurrent_failures_open_the_breaker_once() {
    loom::model(|| {
        let breaker = leak(Breaker::new(2, HOUR));
        let threads: Vec<_> = (0..2).map(|_| thread::spawn(move || breaker.try_acquire().unwrap().failure())).collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(breaker.raw(), (BreakerState::Open, 0));
        assert!(breaker.try_acquire().is_err());
    });
}

#[test]
fn guard_loom_a_success_between_failures_restarts_the_count() {
    loom::model(|| {
        let breaker = leak(Breaker::new(2, HOUR));
        let failures: Vec<_> =
            (0..2).map(|_| thread::spawn(move || breaker.try_acquire().unwrap().failure())).collect();
        // Turned away if both failures came first.
        let success = thread::spawn(move || breaker.try_acquire().map(|permit| permit.success()).is_ok());
        for t in failures {
            t.join().unwrap();
        }
        let let_through = success.join().unwrap();
        // Success between the failures: closed, one failure counted. Before or after both
        // (a late verdict of a closed-path call is ignored once the breaker has opened), or
        // turned away: open. Never closed with nothing counted, never half-open.
        let state = breaker.raw();
        assert!(state == (BreakerState::Closed, 1) || state == (BreakerState::Open, 0), "{state:?}");
        assert!(let_through || state.0 == BreakerState::Open);
    });
}

#[test]
fn guard_loom_one_probe_slot_goes_to_one_caller_and_comes_back() {
    loom::model(|| {
        let breaker = leak(Breaker::new(1, Duration::ZERO));
        breaker.try_acquire().unwrap().failure();
        let (a, b) = (acquire_in_thread(breaker), acquire_in_thread(breaker));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert!(a.is_some() != b.is_some(), "exactly one probe");
        assert_eq!(breaker.raw(), (BreakerState::HalfOpen, 1));
        drop((a, b));
        assert_eq!(breaker.raw(), (BreakerState::HalfOpen, 0));
        assert!(breaker.try_acquire().unwrap().is_probe());
    });
}

#[test]
fn guard_loom_probe_verdicts_and_a_cancelled_probe() {
    loom::model(|| {
        let breaker = leak(Breaker::new(1, HOUR).probes(3));
        breaker.try_acquire().unwrap().failure();
        // Skip the cooldown: the model cannot wait an hour.
        breaker.reopen_now();
        let probes: Vec<_> = (0..3).map(|_| breaker.try_acquire().unwrap()).collect();
        assert_eq!(breaker.raw(), (BreakerState::HalfOpen, 3));
        let mut probes = probes.into_iter();
        let (success, failure, cancelled) = (probes.next().unwrap(), probes.next().unwrap(), probes.next().unwrap());
        let threads = [
            thread::spawn(move || success.success()),
            thread::spawn(move || failure.failure()),
            thread::spawn(move || drop(cancelled)),
        ];
        for t in threads {
            t.join().unwrap();
        }
        // The first verdict wins; the other verdict and the cancelled probe's slot belong to
        // a phase that is over, so they change nothing.
        let state = breaker.raw();
        assert!(state == (BreakerState::Closed, 0) || state == (BreakerState::Open, 0), "{state:?}");
    });
}

#[test]
fn guard_loom_concurrent_failures_take_one_token_each() {
    loom::model(|| {
        let budget = leak(Budget::new(3, 0.5));
        let threads: Vec<_> = (0..2).map(|_| thread::spawn(move || budget.record_failure())).collect();
        let allowed: Vec<bool> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        // 3 -> 2 (more than 1.5: retry) -> 1 (not): whichever thread came first.
        assert_eq!(allowed.iter().filter(|a| **a).count(), 1);
        assert_eq!(budget.tokens(), 1.0);
    });
}

#[test]
fn guard_loom_successes_and_failures_never_pass_the_cap() {
    loom::model(|| {
        let budget = leak(Budget::new(2, 0.7));
        let failure = thread::spawn(move || budget.record_failure());
        let successes: Vec<_> = (0..2).map(|_| thread::spawn(move || budget.record_success())).collect();
        failure.join().unwrap();
        for t in successes {
            t.join().unwrap();
        }
        // From 2: the failure takes 1; each success gives 0.7 back up to 2. Successes before
        // the failure are lost to the cap.
        let tokens = budget.tokens();
        assert!([1.0, 1.7, 2.0].contains(&tokens), "{tokens}");
    });
}
