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
//!
//! Besides the guards alone, the engine's guard gate (`set::Permit`: admission breaker
//! first, verdicts to every guard, tickets given back on drop) is modelled with calls on
//! threads of their own, and the breaker's generation check has models of their own whose
//! end state is the same in every interleaving, so that a verdict or a drop from an
//! earlier phase that wrongly took effect shows (each fails with its check removed).

use std::task::{Context, Poll, Waker};
use std::time::Duration;

use loom::thread;

use super::set::{Admission, Guards, NoGuard, Permit};
use super::{Breaker, BreakerPermit, BreakerState, Budget, Verdict};

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

// ---------------------------------------------------------------------------------------
// The generation check: a verdict or a drop from an earlier phase changes nothing.

/// A breaker of `failures`, opened by that many failures, then half-open with `probe` held,
/// and a permit from before it opened.
fn reopened_with_a_stale_permit(
    failures: u32,
    probes: u32,
) -> (&'static Breaker, BreakerPermit<'static>, BreakerPermit<'static>) {
    let breaker = leak(Breaker::new(failures, HOUR).probes(probes));
    let stale = breaker.try_acquire().unwrap();
    for _ in 0..failures {
        breaker.try_acquire().unwrap().failure();
    }
    assert_eq!(breaker.raw(), (BreakerState::Open, 0));
    breaker.reopen_now();
    let probe = breaker.try_acquire().unwrap();
    assert!(probe.is_probe());
    (breaker, stale, probe)
}

#[test]
fn guard_loom_a_stale_failure_neither_reopens_nor_counts() {
    loom::model(|| {
        let (breaker, stale, probe) = reopened_with_a_stale_permit(2, 1);
        let threads = [thread::spawn(move || probe.success()), thread::spawn(move || stale.failure())];
        for t in threads {
            t.join().unwrap();
        }
        // The probe's success closes the breaker with nothing counted, whichever came first.
        // Without the check: before it, the stale failure re-opens the half-open breaker;
        // after it, it counts one failure against the closed one.
        assert_eq!(breaker.raw(), (BreakerState::Closed, 0));
    });
}

#[test]
fn guard_loom_a_stale_success_never_closes() {
    loom::model(|| {
        let (breaker, stale, probe) = reopened_with_a_stale_permit(1, 1);
        let threads = [thread::spawn(move || probe.failure()), thread::spawn(move || stale.success())];
        for t in threads {
            t.join().unwrap();
        }
        // The probe failed: open. Without the check, a stale success that comes while the
        // breaker is half-open closes it, and the probe's failure is then the stale one.
        assert_eq!(breaker.raw(), (BreakerState::Open, 0));
    });
}

#[test]
fn guard_loom_a_stale_probe_gives_back_no_slot_of_a_later_spell() {
    loom::model(|| {
        // Two probes of the first half-open spell; one fails, re-opening the breaker; the
        // other is still out when the second spell begins.
        let breaker = leak(Breaker::new(1, HOUR).probes(2));
        breaker.try_acquire().unwrap().failure();
        breaker.reopen_now();
        let (old, failing) = (breaker.try_acquire().unwrap(), breaker.try_acquire().unwrap());
        failing.failure();
        breaker.reopen_now();
        let current = breaker.try_acquire().unwrap();
        assert_eq!(breaker.raw(), (BreakerState::HalfOpen, 1));
        let dropped = thread::spawn(move || drop(old));
        let second = thread::spawn(move || breaker.try_acquire().map(std::mem::forget).is_ok());
        dropped.join().unwrap();
        assert!(second.join().unwrap(), "the second slot of this spell was free");
        // Both slots of this spell are held. Without the check the old probe's drop frees one.
        assert_eq!(breaker.raw(), (BreakerState::HalfOpen, 2));
        drop(current);
    });
}

// ---------------------------------------------------------------------------------------
// The engine's guard gate: calls admitted and judged through `set::Permit`.

type Gate = Permit<&'static Breaker, NoGuard, &'static Budget>;

/// Admits one attempt through the gate, as the engine does before each attempt.
fn admit(breaker: &'static Breaker, budget: &'static Budget) -> Option<Gate> {
    let mut permit = Permit::new(Guards::new().breaker(breaker).budget(budget));
    let mut cx = Context::from_waker(Waker::noop());
    match permit.poll_admit(&mut None, &mut cx) {
        Poll::Ready(Admission::Admitted) => Some(permit),
        Poll::Ready(Admission::Refused(_)) => None,
        Poll::Ready(Admission::Wait(_)) | Poll::Pending => unreachable!("in-process guards answer at once"),
    }
}

/// A retryable failure, as the engine reports it.
const FAILURE: Verdict = Verdict::new(false, true, false, false);

#[test]
fn guard_loom_gate_failures_and_a_cancelled_call() {
    loom::model(|| {
        let breaker = leak(Breaker::new(2, HOUR));
        let budget = leak(Budget::new(10, 0.0));
        // Two calls fail, a third is cancelled while its attempt runs.
        let failing: Vec<_> = (0..2)
            .map(|_| {
                thread::spawn(move || {
                    let mut permit = admit(breaker, budget).expect("closed");
                    permit.record(FAILURE, &mut None).is_none()
                })
            })
            .collect();
        let cancelled = thread::spawn(move || drop(admit(breaker, budget)));
        let allowed: Vec<bool> = failing.into_iter().map(|t| t.join().unwrap()).collect();
        cancelled.join().unwrap();
        // The second failure opens the breaker, which refuses its retry; the first allows
        // one unless it reads the breaker after the second opened it. The cancelled call
        // counts as nothing.
        assert!(allowed.iter().filter(|a| **a).count() <= 1, "{allowed:?}");
        assert_eq!(breaker.raw(), (BreakerState::Open, 0));
        assert_eq!(budget.tokens(), 8.0);
        assert!(admit(breaker, budget).is_none(), "open: turned away");
    });
}

#[test]
fn guard_loom_gate_one_probe_and_a_cancelled_one_never_leave_the_slot_taken() {
    loom::model(|| {
        let breaker = leak(Breaker::new(1, HOUR));
        let budget = leak(Budget::new(10, 0.0));
        breaker.try_acquire().unwrap().failure();
        breaker.reopen_now();
        // One call's probe fails; another's is cancelled while it runs (dropped after
        // admission). Each is turned away if the other holds the one slot.
        let failing =
            thread::spawn(move || admit(breaker, budget).map(|mut permit| permit.record(FAILURE, &mut None).is_none()));
        let cancelled = thread::spawn(move || admit(breaker, budget).map(drop).is_some());
        let failed = failing.join().unwrap();
        let cancelled_ran = cancelled.join().unwrap();
        assert!(failed.is_some() || cancelled_ran, "someone got the slot");
        match failed {
            // The probe failed: open for another hour, one token taken, no retry.
            Some(allowed) => {
                assert!(!allowed);
                assert_eq!(breaker.raw(), (BreakerState::Open, 0));
                assert_eq!(budget.tokens(), 9.0);
            }
            // Turned away while the other held the slot, which its drop gave back.
            None => {
                assert_eq!(breaker.raw(), (BreakerState::HalfOpen, 0));
                assert_eq!(budget.tokens(), 10.0);
                assert!(admit(breaker, budget).is_some(), "the slot is free");
            }
        }
    });
}
