//! Cancellation at every poll: each scenario's call is polled k times and dropped, for every
//! k from 0 until the call completes, and after each drop the guards must be exactly as a
//! run of only the attempts that finished would leave them:
//!
//! - the breaker's state equals a reference breaker fed those attempts' outcomes, and when
//!   it is half-open its probe slot is free (a dropped probe gives its slot back);
//! - the budget's tokens equal a reference budget fed those outcomes (an attempt dropped
//!   before it finished is recorded as nothing);
//! - the throttle holds as many permits as a shadow throttle that was given one exactly
//!   when each attempt started (a wait dropped before its permit takes none);
//! - nothing panics. (Timers are owned by the call's future and go with it; no task is
//!   spawned, so nothing is left behind to check.)
//!
//! Server hints (`retry_after`) and hedging (`hedge`, a copy every 150ms of a 300ms
//! attempt, so copies overlap and the losers are dropped by the call itself) have
//! scenarios of their own; a hedged call's budget is left out, as hedges spend it when
//! they are sent, which the reference does not model.
//!
//! Streams (`Policy::retry_stream`) run the same scenarios: an attempt is a stream whose
//! first item is the attempt's outcome, and a call is the stream consumed to its end, so it
//! is dropped before, during and after its commit.
//!
//! Polled by hand with a no-op waker on a paused tokio runtime whose clock moves 100ms
//! between polls, so that every await point (an attempt's own yields, a throttle wait, a
//! retry's sleep) is a place the call can be dropped; backoff sleeps are instant
//! (`testing::instant_sleeps`), a throttle wait is not.
#![cfg(feature = "tokio")]

use std::cell::RefCell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::{Stream, StreamExt};
use steadfast::timer::Tokio;
use steadfast::{retry, testing, Breaker, BreakerState, Budget, Elapsed, Jitter, Open, Policy, Throttle};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fail {
    Down,
    TimedOut,
    Open,
}

impl From<Elapsed> for Fail {
    fn from(_: Elapsed) -> Self {
        Fail::TimedOut
    }
}

impl From<Open> for Fail {
    fn from(_: Open) -> Self {
        Fail::Open
    }
}

const COOLDOWN: Duration = Duration::from_secs(30);

/// How far the paused clock moves between two polls.
const STEP: Duration = Duration::from_millis(100);

/// The guards of one run, made afresh for each k, and a log of the attempts that finished.
struct Run {
    breaker: Breaker<Tokio>,
    budget: Budget,
    throttle: Throttle<Tokio>,
    /// A throttle given a permit exactly when an attempt starts: what `throttle` must hold.
    shadow: Throttle<Tokio>,
    /// The outcome of each attempt that finished, in order (`true`: it succeeded).
    finished: RefCell<Vec<bool>>,
    /// How many attempts started.
    started: RefCell<u32>,
    /// The outcomes the body gives, attempt by attempt (then successes).
    script: &'static [bool],
}

/// How a scenario's guards start.
#[derive(Clone, Copy)]
enum Start {
    Closed,
    /// Opened, and its cooldown over: the next call is a probe.
    HalfOpen,
}

impl Run {
    /// The run and a reference with the same guards in the same state, made together so
    /// that the clock is moved once for both.
    async fn pair(start: Start, script: &'static [bool]) -> (Run, Run) {
        let (run, reference) = (Run::fresh(script), Run::fresh(script));
        if let Start::HalfOpen = start {
            for breaker in [&run.breaker, &reference.breaker] {
                for _ in 0..3 {
                    breaker.try_acquire().expect("closed").failure();
                }
                assert_eq!(breaker.state(), BreakerState::Open);
            }
            tokio::time::advance(COOLDOWN).await;
            assert_eq!(run.breaker.state(), BreakerState::HalfOpen);
        }
        (run, reference)
    }

    fn fresh(script: &'static [bool]) -> Run {
        Run {
            breaker: Breaker::new(3, COOLDOWN).clock::<Tokio>(),
            budget: Budget::new(10, 0.5),
            throttle: Throttle::per_second(1).burst(3).clock::<Tokio>(),
            shadow: Throttle::per_second(1).burst(3).clock::<Tokio>(),
            finished: RefCell::new(Vec::new()),
            started: RefCell::new(0),
            script,
        }
    }

    /// One attempt: two await points, then the scripted outcome (see [`scripted`]).
    ///
    /// [`scripted`]: Self::scripted
    async fn attempt(&self) -> Result<u32, Fail> {
        self.scripted(async {
            yield_once().await;
            yield_once().await;
        })
        .await
    }

    /// One attempt of a hedged call: 300ms of the paused clock, so that a hedge sent at
    /// 150ms runs beside it.
    async fn slow_attempt(&self) -> Result<u32, Fail> {
        self.scripted(tokio::time::sleep(Duration::from_millis(300))).await
    }

    /// An attempt doing `work`: counted as started, then the scripted outcome, logged as
    /// finished in the same poll that returns it.
    async fn scripted(&self, work: impl Future<Output = ()>) -> Result<u32, Fail> {
        let n = {
            let mut started = self.started.borrow_mut();
            *started += 1;
            *started
        };
        // Where the throttle is used this always succeeds: the same history, the same time.
        let _ = self.shadow.try_acquire();
        work.await;
        let ok = self.script.get(n as usize - 1).copied().unwrap_or(true);
        self.finished.borrow_mut().push(ok);
        if ok {
            Ok(n)
        } else {
            Err(Fail::Down)
        }
    }
}

impl Run {
    /// One attempt of a stream: its first item is [`attempt`](Self::attempt)'s outcome
    /// (started on the stream's first poll); after an `Ok`, two more items, each behind an
    /// await point, so that a committed stream can be dropped mid-way too.
    fn attempt_stream(&self) -> impl Stream<Item = Result<u32, Fail>> + '_ {
        futures::stream::unfold(0u8, move |state| async move {
            match state {
                0 => {
                    let first = self.attempt().await;
                    let next = if first.is_ok() { 1 } else { 3 };
                    Some((first, next))
                }
                1 | 2 => {
                    yield_once().await;
                    Some((Ok(100), state + 1))
                }
                _ => None,
            }
        })
    }
}

/// Pending once, waking itself: an await point inside an attempt.
fn yield_once() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

#[retry(timer = Tokio, attempts = 4, min = "1s", jitter = "none", breaker = run.breaker)]
async fn with_breaker(run: &Run) -> Result<u32, Fail> {
    run.attempt().await
}

#[retry(timer = Tokio, attempts = 4, min = "1s", jitter = "none", budget = run.budget)]
async fn with_budget(run: &Run) -> Result<u32, Fail> {
    run.attempt().await
}

#[retry(timer = Tokio, attempts = 5, min = "1s", jitter = "none", throttle = run.throttle)]
async fn with_throttle(run: &Run) -> Result<u32, Fail> {
    run.attempt().await
}

#[retry(
    timer = Tokio,
    attempts = 5,
    min = "1s",
    jitter = "none",
    timeout = "10s",
    deadline = "1h",
    breaker = run.breaker,
    budget = run.budget,
    throttle = run.throttle
)]
async fn with_everything(run: &Run) -> Result<u32, Fail> {
    run.attempt().await
}

/// The server's hint, as `retry_after` reads it: every failure asks for 2s.
fn two_seconds(_: &Fail) -> Option<Duration> {
    Some(Duration::from_secs(2))
}

#[retry(
    timer = Tokio,
    attempts = 5,
    min = "1s",
    jitter = "none",
    deadline = "1h",
    retry_after = two_seconds,
    breaker = run.breaker,
    budget = run.budget,
    throttle = run.throttle
)]
async fn with_hints(run: &Run) -> Result<u32, Fail> {
    run.attempt().await
}

/// Hedged: a copy sent after 150ms without an answer, and at once after a failure. The
/// budget is left out: hedges spend it when they are sent, which the reference, fed only
/// the finished attempts, does not model.
#[retry(timer = Tokio, attempts = 3, hedge = "150ms", breaker = run.breaker, throttle = run.throttle)]
async fn hedged(run: &Run) -> Result<u32, Fail> {
    run.slow_attempt().await
}

/// A stream retried with every guard, consumed to its end: the number of items, or the
/// error that ended it.
async fn stream_with_everything(run: &Run) -> Result<u32, Fail> {
    let stream = Policy::exponential(Duration::from_secs(1), Duration::from_secs(60))
        .jitter(Jitter::None)
        .attempts(5)
        .retry_stream(|| run.attempt_stream())
        .timer::<Tokio>()
        .first_item_timeout(Duration::from_secs(10))
        .breaker(&run.breaker)
        .budget(&run.budget)
        .throttle(&run.throttle);
    let mut stream = pin!(stream);
    let mut items = 0;
    while let Some(item) = stream.next().await {
        item?;
        items += 1;
    }
    Ok(items)
}

type Call = for<'a> fn(&'a Run) -> Pin<Box<dyn Future<Output = Result<u32, Fail>> + 'a>>;

struct Scenario {
    name: &'static str,
    /// The guards its call has, which the check compares with their references.
    guards: u8,
    start: Start,
    script: &'static [bool],
    call: Call,
}

const BREAKER: u8 = 1;
const BUDGET: u8 = 2;
const THROTTLE: u8 = 4;
const EVERY: u8 = BREAKER | BUDGET | THROTTLE;

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "breaker: failures open it",
        guards: BREAKER,
        start: Start::Closed,
        script: &[false; 4],
        call: |r| Box::pin(with_breaker(r)),
    },
    Scenario {
        name: "breaker: a probe that fails",
        guards: BREAKER,
        start: Start::HalfOpen,
        script: &[false],
        call: |r| Box::pin(with_breaker(r)),
    },
    Scenario {
        name: "breaker: a probe that succeeds",
        guards: BREAKER,
        start: Start::HalfOpen,
        script: &[],
        call: |r| Box::pin(with_breaker(r)),
    },
    Scenario {
        name: "budget: two failures, then a success",
        guards: BUDGET,
        start: Start::Closed,
        script: &[false, false],
        call: |r| Box::pin(with_budget(r)),
    },
    Scenario {
        name: "budget: spent to the end",
        guards: BUDGET,
        start: Start::Closed,
        script: &[false; 4],
        call: |r| Box::pin(with_budget(r)),
    },
    Scenario {
        name: "throttle: a fourth attempt waits",
        guards: THROTTLE,
        start: Start::Closed,
        script: &[false; 3],
        call: |r| Box::pin(with_throttle(r)),
    },
    Scenario {
        name: "every guard, timeout and deadline",
        guards: EVERY,
        start: Start::Closed,
        script: &[false, false, false],
        call: |r| Box::pin(with_everything(r)),
    },
    Scenario {
        name: "every guard, from half-open",
        guards: EVERY,
        start: Start::HalfOpen,
        script: &[false],
        call: |r| Box::pin(with_everything(r)),
    },
    Scenario {
        name: "every guard, server hints: two failures, each asking for 2s",
        guards: EVERY,
        start: Start::Closed,
        script: &[false, false],
        call: |r| Box::pin(with_hints(r)),
    },
    Scenario {
        name: "breaker and throttle, hedged: the first copy fails, a later one answers",
        guards: BREAKER | THROTTLE,
        start: Start::Closed,
        script: &[false],
        call: |r| Box::pin(hedged(r)),
    },
    Scenario {
        name: "breaker and throttle, hedged: every copy fails",
        guards: BREAKER | THROTTLE,
        start: Start::Closed,
        script: &[false; 3],
        call: |r| Box::pin(hedged(r)),
    },
    Scenario {
        name: "breaker and throttle, hedged from half-open: the probe fails",
        guards: BREAKER | THROTTLE,
        start: Start::HalfOpen,
        script: &[false],
        call: |r| Box::pin(hedged(r)),
    },
    Scenario {
        name: "breaker and throttle, hedged from half-open: the probe answers",
        guards: BREAKER | THROTTLE,
        start: Start::HalfOpen,
        script: &[],
        call: |r| Box::pin(hedged(r)),
    },
    Scenario {
        name: "every guard, a stream: two failed opens, then three items",
        guards: EVERY,
        start: Start::Closed,
        script: &[false, false],
        call: |r| Box::pin(stream_with_everything(r)),
    },
    Scenario {
        name: "every guard, a stream from half-open: the probe fails",
        guards: EVERY,
        start: Start::HalfOpen,
        script: &[false],
        call: |r| Box::pin(stream_with_everything(r)),
    },
    Scenario {
        name: "every guard, a stream from half-open: the probe's first item",
        guards: EVERY,
        start: Start::HalfOpen,
        script: &[],
        call: |r| Box::pin(stream_with_everything(r)),
    },
    Scenario {
        name: "every guard, a stream: spent to the end",
        guards: EVERY,
        start: Start::Closed,
        script: &[false; 5],
        call: |r| Box::pin(stream_with_everything(r)),
    },
];

/// Drops the scenario's call after every number of polls, checking the guards each time;
/// returns how many polls the whole call took.
fn every_drop(scenario: &Scenario) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let _in_runtime = rt.enter();
    let _instant = testing::instant_sleeps();
    let mut cx = Context::from_waker(Waker::noop());
    for k in 0.. {
        let (run, reference) = rt.block_on(Run::pair(scenario.start, scenario.script));
        let mut call = (scenario.call)(&run);
        let mut completed = false;
        for _ in 0..k {
            if call.as_mut().poll(&mut cx).is_ready() {
                completed = true;
                break;
            }
            // Time moves between polls, so that a throttle's wait ends after some of them.
            rt.block_on(tokio::time::advance(STEP));
        }
        drop(call);
        check(scenario, k, &run, &reference);
        if completed {
            return k;
        }
        assert!(k < 1000, "{}: not done after {k} polls", scenario.name);
    }
    unreachable!()
}

fn check(scenario: &Scenario, k: usize, run: &Run, reference: &Run) {
    let at = format!("{} (dropped after {k} polls)", scenario.name);
    let finished = run.finished.borrow().clone();

    // The guards, against the reference fed the finished attempts.
    for &ok in &finished {
        match reference.breaker.try_acquire() {
            Ok(permit) if ok => permit.success(),
            Ok(permit) => permit.failure(),
            Err(_) => {}
        }
        if ok {
            reference.budget.record_success();
        } else {
            reference.budget.record_failure();
        }
    }
    let has = |guard: u8| scenario.guards & guard != 0;
    if has(BREAKER) {
        assert_eq!(run.breaker.state(), reference.breaker.state(), "{at}: breaker state");
        if run.breaker.state() == BreakerState::HalfOpen {
            let probe = run.breaker.try_acquire().unwrap_or_else(|_| panic!("{at}: the probe slot was not given back"));
            assert!(probe.is_probe(), "{at}");
        }
    }
    if has(BUDGET) {
        assert_eq!(run.budget.tokens(), reference.budget.tokens(), "{at}: budget tokens, finished {finished:?}");
    }
    if has(THROTTLE) {
        // Each started attempt took a permit when the shadow did; a dropped wait took none.
        let drain = |throttle: &Throttle<Tokio>| std::iter::from_fn(|| throttle.try_acquire().then_some(())).count();
        let (left, expected) = (drain(&run.throttle), drain(&run.shadow));
        assert_eq!(left, expected, "{at}: permits left after {} attempts started", run.started.borrow());
    }
}

#[test]
fn a_call_dropped_at_any_poll_leaves_every_guard_as_its_finished_attempts_left_it() {
    for scenario in SCENARIOS {
        let polls = every_drop(scenario);
        // Each attempt has at least two await points, so a call of n attempts is dropped
        // in at least 2n places; a scenario that completes at once tests nothing.
        assert!(polls >= 3, "{}: completed after {polls} polls", scenario.name);
    }
}

/// The same harness catches a guard that is wrong: a breaker whose probe is dropped
/// without its slot given back fails the half-open check. Simulated here by holding a
/// probe permit forever (`mem::forget`), which is what a leaked slot looks like.
#[test]
fn the_harness_sees_a_leaked_probe_slot() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let _in_runtime = rt.enter();
    let (run, reference) = rt.block_on(Run::pair(Start::HalfOpen, &[]));
    std::mem::forget(run.breaker.try_acquire().expect("a probe"));
    let scenario = &SCENARIOS[2];
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(scenario, 0, &run, &reference)));
    assert!(caught.is_err(), "a probe slot never given back must fail the check");
}
