//! The shared guards under tokio's paused clock: `Throttle`, `Breaker` and `Budget`, through
//! `#[retry]`, through the `Retry` builder, and on their own.
//!
//! Each test declares its own `static` guards: tests run on parallel threads of one
//! process, and a guard is shared by everything that names it.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use steadfast::{retry, Breaker, BreakerState, Budget, Open, Policy, Throttle};
use tokio::time::{advance, Instant};

#[path = "common/capture.rs"]
mod capture;

const MS: Duration = Duration::from_millis(1);
const S: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Unavailable,
    Unauthorized,
    Open,
    TimedOut,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ApiError {}

impl From<Open> for ApiError {
    fn from(_: Open) -> Self {
        ApiError::Open
    }
}

impl From<steadfast::Elapsed> for ApiError {
    fn from(_: steadfast::Elapsed) -> Self {
        ApiError::TimedOut
    }
}

use ApiError::{Unauthorized, Unavailable};

/// Answers each attempt from a list and counts the attempts.
#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Result<u32, ApiError>>>,
    runs: AtomicU32,
}

impl Script {
    fn new(answers: impl IntoIterator<Item = Result<u32, ApiError>>) -> Self {
        Script { answers: Mutex::new(answers.into_iter().collect()), runs: AtomicU32::new(0) }
    }

    /// The same answer for every attempt.
    fn always(answer: Result<u32, ApiError>) -> Self {
        Script::new(std::iter::repeat_n(answer, 10_000))
    }

    fn next(&self) -> Result<u32, ApiError> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.answers.lock().unwrap().pop_front().expect("the script ran out of answers")
    }

    fn runs(&self) -> u32 {
        self.runs.load(Ordering::Relaxed)
    }
}

fn since(start: Instant) -> Duration {
    Instant::now() - start
}

// ---------------------------------------------------------------------------------------
// Throttle

#[tokio::test(start_paused = true)]
async fn throttle_spaces_every_attempt_exactly() {
    static LIMIT: Throttle = Throttle::per_second(10);
    static TIMES: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

    #[retry(attempts = 10, backoff = "none", throttle = LIMIT)]
    async fn always_fails(start: Instant) -> Result<(), ApiError> {
        TIMES.lock().unwrap().push(since(start));
        Err(Unavailable)
    }

    let start = Instant::now();
    assert_eq!(always_fails(start).await, Err(Unavailable));
    // Ten attempts, retries included, 100ms apart: 0.9s in all.
    assert_eq!(since(start), 900 * MS);
    let expected: Vec<Duration> = (0..10).map(|i| i * 100 * MS).collect();
    assert_eq!(*TIMES.lock().unwrap(), expected);
}

#[tokio::test(start_paused = true)]
async fn throttle_burst_lets_a_burst_through_then_paces() {
    static LIMIT: Throttle = Throttle::per_second(10).burst(5);
    let start = Instant::now();
    for _ in 0..5 {
        LIMIT.acquire().await;
    }
    assert_eq!(since(start), Duration::ZERO);
    LIMIT.acquire().await;
    assert_eq!(since(start), 100 * MS);
    assert!(!LIMIT.try_acquire());

    // After a quiet second the whole burst is available again, and no more.
    advance(S).await;
    let quiet = Instant::now();
    for _ in 0..5 {
        assert!(LIMIT.try_acquire());
    }
    assert!(!LIMIT.try_acquire());
    LIMIT.acquire().await;
    assert_eq!(since(quiet), 100 * MS);
}

#[tokio::test(start_paused = true)]
async fn throttle_is_shared_by_every_function_that_names_it() {
    static SHARED: Throttle = Throttle::per_second(10);
    static TIMES: Mutex<Vec<(&str, Duration)>> = Mutex::new(Vec::new());

    #[retry(throttle = SHARED)]
    async fn first(start: Instant) -> Result<(), ApiError> {
        TIMES.lock().unwrap().push(("first", since(start)));
        Ok(())
    }

    #[retry(throttle = SHARED)]
    async fn second(start: Instant) -> Result<(), ApiError> {
        TIMES.lock().unwrap().push(("second", since(start)));
        Ok(())
    }

    let start = Instant::now();
    let (a, b, c, d) = tokio::join!(first(start), second(start), first(start), second(start));
    assert_eq!([a, b, c, d], [Ok(()), Ok(()), Ok(()), Ok(())]);
    let mut times: Vec<Duration> = TIMES.lock().unwrap().iter().map(|(_, t)| *t).collect();
    times.sort();
    assert_eq!(times, [Duration::ZERO, 100 * MS, 200 * MS, 300 * MS]);
    let names: Vec<&str> = TIMES.lock().unwrap().iter().map(|(name, _)| *name).collect();
    assert!(names.contains(&"first") && names.contains(&"second"), "{names:?}");
}

#[tokio::test(start_paused = true)]
async fn throttle_in_a_lazy_lock_and_between_backoff_sleeps() {
    static LIMIT: LazyLock<Throttle> = LazyLock::new(|| Throttle::per_second(2));
    static TIMES: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

    // The backoff sleep (100ms) is shorter than the throttle's spacing (500ms): the
    // throttle decides.
    #[retry(attempts = 3, backoff = "fixed", min = "100ms", max = "100ms", throttle = LIMIT)]
    async fn always_fails(start: Instant) -> Result<(), ApiError> {
        TIMES.lock().unwrap().push(since(start));
        Err(Unavailable)
    }

    let start = Instant::now();
    assert_eq!(always_fails(start).await, Err(Unavailable));
    assert_eq!(*TIMES.lock().unwrap(), [Duration::ZERO, 500 * MS, 1000 * MS]);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_throttle_wait_takes_no_permit() {
    static LIMIT: Throttle = Throttle::per_second(1);
    LIMIT.acquire().await;
    let waiting = tokio::time::timeout(500 * MS, LIMIT.acquire()).await;
    assert!(waiting.is_err(), "the second permit is not due before 1s");
    advance(500 * MS).await;
    // The permit due at 1s is still there: the dropped wait did not take it.
    assert!(LIMIT.try_acquire());
    assert!(!LIMIT.try_acquire());
}

#[tokio::test(start_paused = true)]
async fn throttle_on_the_builder() {
    static LIMIT: Throttle = Throttle::per_second(4);
    let start = Instant::now();
    let calls = AtomicU32::new(0);
    let result: Result<(), ApiError> = Policy::immediate()
        .attempts(4)
        .retry(|| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Err(Unavailable) }
        })
        .throttle(&LIMIT)
        .await;
    assert_eq!(result, Err(Unavailable));
    assert_eq!(calls.load(Ordering::Relaxed), 4);
    assert_eq!(since(start), 750 * MS);
}

#[test]
fn throttle_blocks_a_sync_fn_on_the_real_clock() {
    static LIMIT: Throttle = Throttle::per_second(500);
    static RUNS: AtomicU32 = AtomicU32::new(0);

    #[retry(attempts = 3, backoff = "none", throttle = LIMIT)]
    fn always_fails() -> Result<(), ApiError> {
        RUNS.fetch_add(1, Ordering::Relaxed);
        Err(Unavailable)
    }

    let start = std::time::Instant::now();
    assert_eq!(always_fails(), Err(Unavailable));
    assert_eq!(RUNS.load(Ordering::Relaxed), 3);
    // Three permits 2ms apart.
    assert!(start.elapsed() >= 4 * MS, "{:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------
// Breaker

#[tokio::test(start_paused = true)]
async fn breaker_opens_after_consecutive_retryable_failures_and_turns_calls_away() {
    static BREAKER: Breaker = Breaker::new(3, Duration::from_secs(10));

    #[retry(attempts = 1, breaker = BREAKER)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    let script = Script::always(Err(Unavailable));
    for _ in 0..2 {
        assert_eq!(call(&script).await, Err(Unavailable));
        assert_eq!(BREAKER.state(), BreakerState::Closed);
    }
    assert_eq!(call(&script).await, Err(Unavailable));
    assert_eq!(BREAKER.state(), BreakerState::Open);
    assert_eq!(script.runs(), 3);

    // Open: `E::from(Open)`, and the body does not run.
    assert_eq!(call(&script).await, Err(ApiError::Open));
    assert_eq!(script.runs(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_success_restarts_the_count() {
    static BREAKER: Breaker = Breaker::new(3, Duration::from_secs(10));

    #[retry(attempts = 1, breaker = BREAKER)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    let script = Script::new([Err(Unavailable), Err(Unavailable), Ok(1), Err(Unavailable), Err(Unavailable)]);
    for _ in 0..5 {
        let _ = call(&script).await;
    }
    assert_eq!(BREAKER.state(), BreakerState::Closed);
    let script = Script::always(Err(Unavailable));
    let _ = call(&script).await;
    assert_eq!(BREAKER.state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn errors_that_are_not_retried_neither_count_nor_restart_the_count() {
    static BREAKER: Breaker = Breaker::new(3, Duration::from_secs(10));

    #[retry(attempts = 1, breaker = BREAKER, when = |e| *e != Unauthorized)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    let script = Script::new([Err(Unauthorized), Err(Unavailable), Err(Unauthorized), Err(Unavailable)]);
    for _ in 0..4 {
        let _ = call(&script).await;
    }
    // Two retryable failures: closed, whatever the two 401s around them.
    assert_eq!(BREAKER.state(), BreakerState::Closed);
    let script = Script::new([Err(Unavailable)]);
    let _ = call(&script).await;
    assert_eq!(BREAKER.state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn an_opening_breaker_ends_the_retries_with_the_real_error() {
    static BREAKER: Breaker = Breaker::new(3, Duration::from_secs(10));

    #[retry(attempts = 5, backoff = "none", breaker = BREAKER)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    let script = Script::always(Err(Unavailable));
    // The third failure opens the breaker: no fourth attempt only to be turned away.
    assert_eq!(call(&script).await, Err(Unavailable));
    assert_eq!(script.runs(), 3);
    assert_eq!(BREAKER.state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_finds_the_breaker_opened_by_others_is_turned_away() {
    static BREAKER: Breaker = Breaker::new(2, Duration::from_secs(60));

    #[retry(attempts = 3, backoff = "fixed", min = "1s", max = "1s", breaker = BREAKER)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    // `slow` fails (one failure counted) and sleeps 1s; meanwhile `other` fails and opens
    // the breaker, so `slow`'s retry is turned away.
    let (slow, other) = (Script::always(Err(Unavailable)), Script::always(Err(Unavailable)));
    let (slow_result, other_result) = tokio::join!(call(&slow), async {
        tokio::time::sleep(500 * MS).await;
        call(&other).await
    });
    assert_eq!(other_result, Err(Unavailable));
    assert_eq!(other.runs(), 1);
    assert_eq!(slow_result, Err(ApiError::Open));
    assert_eq!(slow.runs(), 1);
}

#[tokio::test(start_paused = true)]
async fn every_transition_on_the_paused_clock() {
    static BREAKER: Breaker = Breaker::new(2, Duration::from_secs(30));

    #[retry(attempts = 1, breaker = BREAKER)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    let failing = Script::always(Err(Unavailable));
    let healthy = Script::always(Ok(7));

    // closed -> open
    let _ = call(&failing).await;
    let _ = call(&failing).await;
    assert_eq!(BREAKER.state(), BreakerState::Open);

    // open until the cooldown has passed, to the millisecond
    advance(30 * S - MS).await;
    assert_eq!(BREAKER.state(), BreakerState::Open);
    assert_eq!(call(&healthy).await, Err(ApiError::Open));
    assert_eq!(healthy.runs(), 0);
    advance(MS).await;
    assert_eq!(BREAKER.state(), BreakerState::HalfOpen);

    // half-open -> open: the probe failed, and a new cooldown starts now
    assert_eq!(call(&failing).await, Err(Unavailable));
    assert_eq!(failing.runs(), 3);
    assert_eq!(BREAKER.state(), BreakerState::Open);
    advance(30 * S - MS).await;
    assert_eq!(BREAKER.state(), BreakerState::Open);
    advance(MS).await;
    assert_eq!(BREAKER.state(), BreakerState::HalfOpen);

    // half-open -> closed: the probe succeeded
    assert_eq!(call(&healthy).await, Ok(7));
    assert_eq!(BREAKER.state(), BreakerState::Closed);

    // and the count starts from zero again
    let _ = call(&failing).await;
    assert_eq!(BREAKER.state(), BreakerState::Closed);
    let _ = call(&failing).await;
    assert_eq!(BREAKER.state(), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn half_open_lets_through_only_its_probes() {
    static BREAKER: Breaker = Breaker::new(1, Duration::from_secs(5)).probes(2);
    BREAKER.try_acquire().unwrap().failure();
    assert_eq!(BREAKER.state(), BreakerState::Open);
    assert!(BREAKER.try_acquire().is_err());
    advance(5 * S).await;

    let first = BREAKER.try_acquire().unwrap();
    let second = BREAKER.try_acquire().unwrap();
    assert!(first.is_probe() && second.is_probe());
    assert_eq!(BREAKER.try_acquire().unwrap_err().breaker(), None, "turned away by the unnamed breaker");
    assert_eq!(BREAKER.state(), BreakerState::HalfOpen);

    // The first probe to succeed closes the breaker; the other's verdict comes too late
    // to re-open it.
    first.success();
    assert_eq!(BREAKER.state(), BreakerState::Closed);
    second.failure();
    assert_eq!(BREAKER.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_probe_dropped_mid_flight_gives_its_slot_back() {
    static BREAKER: Breaker = Breaker::new(1, Duration::from_secs(5));

    #[retry(attempts = 1, breaker = BREAKER)]
    async fn hangs(script: &Script) -> Result<u32, ApiError> {
        let answer = script.next();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        answer
    }

    #[retry(attempts = 1, breaker = BREAKER)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    let _ = call(&Script::new([Err(Unavailable)])).await;
    advance(5 * S).await;
    assert_eq!(BREAKER.state(), BreakerState::HalfOpen);

    // The probe starts, and the caller gives up on it.
    let probe = Script::always(Ok(1));
    let cancelled = tokio::time::timeout(S, hangs(&probe)).await;
    assert!(cancelled.is_err());
    assert_eq!(probe.runs(), 1, "the probe was let through");

    // Its slot is free again: the breaker is not stuck half-open.
    assert_eq!(BREAKER.state(), BreakerState::HalfOpen);
    let healthy = Script::always(Ok(2));
    assert_eq!(call(&healthy).await, Ok(2));
    assert_eq!(BREAKER.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_probe_in_flight_holds_its_slot_until_polled_out_or_dropped() {
    static BREAKER: Breaker = Breaker::new(1, Duration::from_secs(5));

    #[retry(attempts = 1, breaker = BREAKER)]
    async fn hangs() -> Result<u32, ApiError> {
        std::future::pending::<()>().await;
        Ok(0)
    }

    BREAKER.try_acquire().unwrap().failure();
    advance(5 * S).await;
    let mut probe = Box::pin(hangs());
    assert!(futures::poll!(probe.as_mut()).is_pending());
    // The only probe slot is taken while the probe is in flight.
    assert_eq!(BREAKER.try_acquire().unwrap_err().breaker(), None, "turned away by the unnamed breaker");
    drop(probe);
    let next = BREAKER.try_acquire().expect("the dropped probe gave its slot back");
    assert!(next.is_probe());
}

#[tokio::test(start_paused = true)]
async fn a_permit_from_an_earlier_phase_changes_nothing() {
    static BREAKER: Breaker = Breaker::new(1, Duration::from_secs(5)).probes(2);

    // A closed-path call that ends after the breaker has opened cannot close it.
    let late = BREAKER.try_acquire().unwrap();
    BREAKER.try_acquire().unwrap().failure();
    late.success();
    assert_eq!(BREAKER.state(), BreakerState::Open);

    // A probe of one half-open spell, dropped in the next, frees no slot of the next.
    advance(5 * S).await;
    let old_probe = BREAKER.try_acquire().unwrap();
    BREAKER.try_acquire().unwrap().failure();
    advance(5 * S).await;
    let _first = BREAKER.try_acquire().unwrap();
    drop(old_probe);
    let _second = BREAKER.try_acquire().unwrap();
    assert_eq!(BREAKER.try_acquire().unwrap_err().breaker(), None, "turned away by the unnamed breaker");
}

#[test]
fn breaker_on_a_sync_fn() {
    static BREAKER: Breaker = Breaker::new(2, Duration::from_secs(3600));
    static RUNS: AtomicU32 = AtomicU32::new(0);

    #[retry(attempts = 4, backoff = "none", breaker = BREAKER)]
    fn call() -> Result<(), ApiError> {
        RUNS.fetch_add(1, Ordering::Relaxed);
        Err(Unavailable)
    }

    assert_eq!(call(), Err(Unavailable));
    assert_eq!(RUNS.load(Ordering::Relaxed), 2);
    assert_eq!(call(), Err(ApiError::Open));
    assert_eq!(RUNS.load(Ordering::Relaxed), 2);
}

#[tokio::test(start_paused = true)]
async fn breaker_on_the_builder() {
    static BREAKER: LazyLock<Breaker> = LazyLock::new(|| Breaker::new(2, Duration::from_secs(10)));
    let calls = AtomicU32::new(0);
    let run = || {
        Policy::immediate()
            .attempts(5)
            .retry(|| {
                calls.fetch_add(1, Ordering::Relaxed);
                async { Err::<(), _>(Unavailable) }
            })
            .breaker(&BREAKER)
    };
    assert_eq!(run().await, Err(Unavailable));
    assert_eq!(calls.load(Ordering::Relaxed), 2, "no retry once the breaker opened");
    assert_eq!(run().await, Err(ApiError::Open));
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

#[tokio::test(start_paused = true)]
async fn breaker_events() {
    use tracing::Level;

    static BREAKER: Breaker = Breaker::new(1, Duration::from_secs(5)).named("payments");
    let capture = capture::start();

    BREAKER.try_acquire().unwrap().failure();
    advance(5 * S).await;
    BREAKER.try_acquire().unwrap().failure();
    advance(5 * S).await;
    BREAKER.try_acquire().unwrap().success();

    let seen: Vec<_> =
        capture.events().into_iter().map(|e| (e.level, e.target.clone(), e.message().to_string())).collect();
    let expected = [
        (Level::WARN, "circuit breaker opened"),
        (Level::INFO, "circuit breaker half-open: letting probes through"),
        (Level::WARN, "circuit breaker re-opened: a probe failed"),
        (Level::INFO, "circuit breaker half-open: letting probes through"),
        (Level::INFO, "circuit breaker closed: a probe succeeded"),
    ];
    assert_eq!(seen.len(), expected.len(), "{seen:#?}");
    for ((level, target, message), (want_level, want_message)) in seen.iter().zip(expected) {
        assert_eq!((*level, target.as_str(), message.as_str()), (want_level, "steadfast::breaker", want_message));
    }
}

// ---------------------------------------------------------------------------------------
// Budget

#[tokio::test(start_paused = true)]
async fn a_total_outage_with_a_budget_adds_at_most_a_tenth_to_the_load() {
    static BUDGET: Budget = Budget::new(10, 0.1);
    static WITH_BUDGET: AtomicU32 = AtomicU32::new(0);
    static WITHOUT: AtomicU32 = AtomicU32::new(0);

    #[retry(attempts = 5, budget = BUDGET)]
    async fn guarded() -> Result<(), ApiError> {
        WITH_BUDGET.fetch_add(1, Ordering::Relaxed);
        Err(Unavailable)
    }

    #[retry(attempts = 5)]
    async fn unguarded() -> Result<(), ApiError> {
        WITHOUT.fetch_add(1, Ordering::Relaxed);
        Err(Unavailable)
    }

    const CALLS: u32 = 200;
    for _ in 0..CALLS {
        assert_eq!(guarded().await, Err(Unavailable));
        assert_eq!(unguarded().await, Err(Unavailable));
    }
    let guarded_load = f64::from(WITH_BUDGET.load(Ordering::Relaxed)) / f64::from(CALLS);
    let unguarded_load = f64::from(WITHOUT.load(Ordering::Relaxed)) / f64::from(CALLS);
    assert!(guarded_load <= 1.1, "{guarded_load}x the first-attempt load");
    // Exactly: the first call retries until half the bucket is spent (5 attempts), then
    // every call makes its first attempt only.
    assert_eq!(WITH_BUDGET.load(Ordering::Relaxed), CALLS + 4);
    assert_eq!(unguarded_load, 5.0);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_in_an_outage_stay_within_the_budget() {
    static BUDGET: Budget = Budget::new(10, 0.1);
    static RUNS: AtomicU32 = AtomicU32::new(0);

    #[retry(attempts = 5, min = "100ms", max = "1s", budget = BUDGET)]
    async fn guarded() -> Result<(), ApiError> {
        RUNS.fetch_add(1, Ordering::Relaxed);
        Err(Unavailable)
    }

    const CALLS: u32 = 100;
    let calls: Vec<_> = (0..CALLS).map(|_| tokio::spawn(guarded())).collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), Err(Unavailable));
    }
    // Whatever the interleaving, no more than `max_tokens / 2` retries in all.
    let runs = RUNS.load(Ordering::Relaxed);
    assert!(runs <= CALLS + 5, "{runs} attempts for {CALLS} calls");
    assert!(f64::from(runs) / f64::from(CALLS) <= 1.1);
}

#[tokio::test(start_paused = true)]
async fn the_budget_refills_on_successes() {
    static BUDGET: Budget = Budget::new(10, 0.1);

    #[retry(attempts = 5, backoff = "none", budget = BUDGET)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    // Spend the bucket.
    let failing = Script::always(Err(Unavailable));
    for _ in 0..10 {
        let _ = call(&failing).await;
    }
    assert_eq!(BUDGET.tokens(), 0.0);
    assert!(!BUDGET.allows_retry());

    // 60 successes give back 6 tokens: a failure then leaves 5, not more than half.
    let healthy = Script::always(Ok(1));
    for _ in 0..60 {
        assert_eq!(call(&healthy).await, Ok(1));
    }
    assert_eq!(BUDGET.tokens(), 6.0);
    let once = Script::always(Err(Unavailable));
    let _ = call(&once).await;
    assert_eq!(once.runs(), 1, "first attempts are never refused, the retry is");

    // 11 more make 6.1: the failure leaves 5.1, more than half, so one retry starts.
    for _ in 0..11 {
        let _ = call(&healthy).await;
    }
    assert!((BUDGET.tokens() - 6.1).abs() < 1e-9, "{}", BUDGET.tokens());
    let twice = Script::always(Err(Unavailable));
    let _ = call(&twice).await;
    assert_eq!(twice.runs(), 2);
}

#[tokio::test(start_paused = true)]
async fn successes_never_fill_the_bucket_past_max_and_non_retried_errors_are_free() {
    static BUDGET: Budget = Budget::new(3, 0.5);

    #[retry(attempts = 2, backoff = "none", budget = BUDGET, when = |e| *e != Unauthorized)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    for _ in 0..10 {
        let _ = call(&Script::always(Ok(1))).await;
    }
    assert_eq!(BUDGET.tokens(), 3.0);
    // Below the cap, so that a non-retried error wrongly counted as a success (or as a
    // failure) would show: 3 -> 2 (a retry, 2 is above half), 2 -> 1.
    let _ = call(&Script::always(Err(Unavailable))).await;
    assert_eq!(BUDGET.tokens(), 1.0);
    for _ in 0..10 {
        let _ = call(&Script::always(Err(Unauthorized))).await;
    }
    assert_eq!(BUDGET.tokens(), 1.0, "a non-retried error neither takes nor gives a token");
}

#[tokio::test(start_paused = true)]
async fn budget_on_the_builder() {
    static BUDGET: Budget = Budget::new(4, 0.1);
    let calls = AtomicU32::new(0);
    let result: Result<(), ApiError> = Policy::immediate()
        .attempts(10)
        .retry(|| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Err(Unavailable) }
        })
        .budget(&BUDGET)
        .await;
    assert_eq!(result, Err(Unavailable));
    // 4 -> 3 (retry), 3 -> 2 (2 is not more than half of 4: stop).
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

// ---------------------------------------------------------------------------------------
// Verdicts for timeouts and for `if_ok` rejections

#[tokio::test(start_paused = true)]
async fn a_retried_timeout_is_a_failure_for_the_breaker_and_the_budget() {
    static BREAKER: Breaker = Breaker::new(2, Duration::from_secs(60));
    static BUDGET: Budget = Budget::new(10, 0.0);

    #[retry(attempts = 3, backoff = "none", timeout = "1s", breaker = BREAKER, budget = BUDGET)]
    async fn hangs(script: &Script) -> Result<u32, ApiError> {
        script.runs.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(2 * S).await;
        Ok(1)
    }

    let script = Script::default();
    assert_eq!(hangs(&script).await, Err(ApiError::TimedOut));
    // Two timeouts in a row open the breaker, which ends the retries with one attempt left.
    assert_eq!(script.runs(), 2);
    assert_eq!(BREAKER.state(), BreakerState::Open);
    assert_eq!(BUDGET.tokens(), 8.0, "each retried timeout takes a token");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_not_retried_still_trips_the_breaker_but_costs_no_token() {
    static BREAKER: Breaker = Breaker::new(1, Duration::from_secs(60));
    static BUDGET: Budget = Budget::new(10, 0.0);

    #[retry(attempts = 3, backoff = "none", timeout = "1s", when = |e| *e != ApiError::TimedOut, breaker = BREAKER, budget = BUDGET)]
    async fn hangs(script: &Script) -> Result<u32, ApiError> {
        script.runs.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(2 * S).await;
        Ok(1)
    }

    let script = Script::default();
    assert_eq!(hangs(&script).await, Err(ApiError::TimedOut));
    assert_eq!(script.runs(), 1, "not retried");
    assert_eq!(BREAKER.state(), BreakerState::Open, "a hung service trips the breaker, retried or not");
    assert_eq!(BUDGET.tokens(), 10.0, "an attempt not retried is neither success nor failure for the budget");
}

#[tokio::test(start_paused = true)]
async fn an_ok_rejected_by_if_ok_is_a_failure_for_the_breaker_and_the_budget() {
    static BREAKER: Breaker = Breaker::new(2, Duration::from_secs(60));
    static BUDGET: Budget = Budget::new(10, 0.5);

    #[retry(attempts = 3, backoff = "none", if_ok = |n| *n == 0, breaker = BREAKER, budget = BUDGET)]
    async fn call(script: &Script) -> Result<u32, ApiError> {
        script.next()
    }

    // A rejection then an accepted value: one token taken, half given back; the success
    // restarts the breaker's count, so the next two rejections are needed to open it.
    assert_eq!(call(&Script::new([Ok(0), Ok(7)])).await, Ok(7));
    assert_eq!(BUDGET.tokens(), 9.5);
    assert_eq!(BREAKER.state(), BreakerState::Closed);
    let rejected = Script::always(Ok(0));
    assert_eq!(call(&rejected).await, Ok(0), "the last rejected value is returned as is");
    assert_eq!(rejected.runs(), 2, "the second rejection opened the breaker");
    assert_eq!(BREAKER.state(), BreakerState::Open);
    assert_eq!(BUDGET.tokens(), 7.5);
}

// ---------------------------------------------------------------------------------------
// Together

#[tokio::test(start_paused = true)]
async fn all_three_on_one_function_and_the_future_is_send() {
    static LIMIT: Throttle = Throttle::per_second(10);
    static BREAKER: Breaker = Breaker::new(3, Duration::from_secs(10));
    static BUDGET: Budget = Budget::new(100, 0.1);
    static RUNS: AtomicU32 = AtomicU32::new(0);

    #[retry(attempts = 5, backoff = "none", throttle = LIMIT, breaker = BREAKER, budget = BUDGET)]
    async fn call() -> Result<(), ApiError> {
        RUNS.fetch_add(1, Ordering::Relaxed);
        Err(Unavailable)
    }

    let start = Instant::now();
    assert_eq!(tokio::spawn(call()).await.unwrap(), Err(Unavailable));
    assert_eq!(RUNS.load(Ordering::Relaxed), 3, "the breaker opened at the third failure");
    assert_eq!(since(start), 200 * MS, "each attempt waited for the throttle");
    assert_eq!(BUDGET.tokens(), 97.0);
    // Turned away by the breaker at once: no wait for the throttle, no token, no run.
    assert_eq!(call().await, Err(ApiError::Open));
    assert_eq!(since(start), 200 * MS);
    assert_eq!(RUNS.load(Ordering::Relaxed), 3);
    assert_eq!(BUDGET.tokens(), 97.0);
}

// Generated code names everything by absolute path, and through `crate = …` when given.
#[no_implicit_prelude]
mod absolute_paths {
    pub(super) static LIMIT: ::steadfast::Throttle = ::steadfast::Throttle::per_second(10);
    pub(super) static BREAKER: ::steadfast::Breaker =
        ::steadfast::Breaker::new(3, ::core::time::Duration::from_secs(10));
    pub(super) static BUDGET: ::steadfast::Budget = ::steadfast::Budget::new(10, 0.1);

    #[::steadfast::retry(attempts = 2, backoff = "none", throttle = LIMIT, breaker = BREAKER, budget = BUDGET)]
    pub(super) async fn call() -> ::core::result::Result<(), super::ApiError> {
        ::core::result::Result::Err(super::ApiError::Unavailable)
    }

    #[::steadfast::retry(attempts = 2, backoff = "none", breaker = BREAKER, crate = "super::facade::renamed")]
    pub(super) fn blocking() -> ::core::result::Result<(), super::ApiError> {
        ::core::result::Result::Ok(())
    }
}

mod facade {
    pub use steadfast as renamed;
}

#[tokio::test(start_paused = true)]
async fn guards_through_absolute_paths_and_a_renamed_crate() {
    assert_eq!(absolute_paths::call().await, Err(Unavailable));
    assert_eq!(absolute_paths::BUDGET.tokens(), 8.0);
    assert_eq!(absolute_paths::blocking(), Ok(()));
    assert_eq!(absolute_paths::BREAKER.state(), BreakerState::Closed);
}

// ---------------------------------------------------------------------------------------
// Constructors given 0 or NaN: never rejected, taken as documented

#[tokio::test(start_paused = true)]
async fn zero_and_nan_arguments_are_taken_as_documented() {
    // A rate of 0 is one a second; a burst of 0 is 1.
    let throttle = Throttle::per_second(0);
    assert!(throttle.try_acquire());
    assert!(!throttle.try_acquire());
    advance(999 * MS).await;
    assert!(!throttle.try_acquire());
    advance(MS).await;
    assert!(throttle.try_acquire());
    let per_minute = Throttle::per_minute(0);
    assert!(per_minute.try_acquire());
    advance(59 * S).await;
    assert!(!per_minute.try_acquire());
    let burst = Throttle::per_second(10).burst(0);
    assert!(burst.try_acquire());
    assert!(!burst.try_acquire(), "a burst of 0 lets one through, as 1 does");

    // `failures` of 0 is 1: the first failure opens; `probes` of 0 is 1.
    let breaker = Breaker::new(0, S).probes(0);
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    advance(S).await;
    let probe = breaker.try_acquire().expect("the cooldown has passed");
    assert!(probe.is_probe());
    assert!(breaker.try_acquire().is_err(), "one probe at a time");
    drop(probe);

    // A NaN or negative ratio gives nothing back; 0 tokens never allow a retry.
    for ratio in [f64::NAN, -1.0, f64::NEG_INFINITY] {
        let budget = Budget::new(4, ratio);
        assert!(budget.record_failure());
        budget.record_success();
        assert_eq!(budget.tokens(), 3.0, "ratio {ratio}");
    }
    let empty = Budget::new(0, 1.0);
    assert!(!empty.allows_retry());
    assert!(!empty.record_failure());

    // The policy: 0 attempts is 1, a NaN or sub-1 factor is 1 (no growth).
    assert_eq!(Policy::new().attempts(0).get_attempts(), 1);
    for factor in [f64::NAN, 0.0, -2.0] {
        let flat = Policy::exponential(S, 60 * S).jitter(steadfast::Jitter::None).attempts(4).factor(factor);
        assert_eq!(flat.delays().collect::<Vec<_>>(), [S, S, S], "factor {factor}");
    }
}
