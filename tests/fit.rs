//! What a codebase needs to fit the crate in: guards owned by a client and borrowed, a
//! run-time policy, timeouts that are and are not retried and how the breaker counts them,
//! a server pacing its clients, cancelled attempts, resetting a guard, a blocking builder,
//! and sync fns on their own clock. Under tokio's paused clock unless said otherwise.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use steadfast::{retry, testing, Breaker, BreakerState, Budget, Elapsed, Jitter, Open, Policy, Throttle};
use tokio::time::{advance, sleep, Instant};

const S: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Unavailable,
    RateLimited,
    TimedOut,
    Open(Option<&'static str>),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ApiError {}

impl From<Open> for ApiError {
    fn from(open: Open) -> Self {
        ApiError::Open(open.breaker())
    }
}

impl From<Elapsed> for ApiError {
    fn from(_: Elapsed) -> Self {
        ApiError::TimedOut
    }
}

/// A client that owns its guards and its policy, as a real one does.
struct Client {
    breaker: Breaker,
    budget: Arc<Budget>,
    throttle: Throttle,
    policy: Policy,
    calls: AtomicU32,
}

impl Client {
    fn new(policy: Policy) -> Self {
        Client {
            breaker: Breaker::new(3, 10 * S).named("llm"),
            budget: Arc::new(Budget::new(100, 0.1)),
            throttle: Throttle::per_second(10),
            policy,
            calls: AtomicU32::new(0),
        }
    }

    #[retry(policy = self.policy, breaker = self.breaker, budget = self.budget, throttle = self.throttle)]
    async fn call(&self, answer: Result<u32, ApiError>) -> Result<u32, ApiError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        answer
    }

    fn calls(&self) -> u32 {
        self.calls.swap(0, Ordering::Relaxed)
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_owns_its_guards_and_policy_and_two_clients_do_not_share_them() {
    let policy = Policy::fixed(S).attempts(5);
    let (a, b) = (Client::new(policy), Client::new(policy));
    let sleeps = testing::record_sleeps();
    // Three failed attempts open `a`'s breaker, whose Open names it; `b` is untouched.
    assert_eq!(a.call(Err(ApiError::Unavailable)).await, Err(ApiError::Unavailable));
    assert_eq!(a.calls(), 3);
    assert_eq!(sleeps.take(), [S, S]);
    assert_eq!(a.breaker.state(), BreakerState::Open);
    assert_eq!(a.call(Ok(1)).await, Err(ApiError::Open(Some("llm"))));
    assert_eq!(a.calls(), 0);
    assert_eq!(b.call(Ok(2)).await, Ok(2));
    assert_eq!(b.breaker.state(), BreakerState::Closed);
    // The policy is a run-time value: another client, other attempts.
    let c = Client::new(Policy::immediate().attempts(2));
    assert_eq!(c.call(Err(ApiError::Unavailable)).await, Err(ApiError::Unavailable));
    assert_eq!(c.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_run_time_policy_carries_timeout_and_deadline() {
    // A policy from a config: 2s per attempt, 5s in all.
    let policy = Policy::fixed(S).attempts(10).timeout(2 * S).deadline(5 * S);
    struct Slow {
        policy: Policy,
    }
    impl Slow {
        #[retry(policy = self.policy)]
        async fn hang(&self) -> Result<(), ApiError> {
            sleep(3600 * S).await;
            Ok(())
        }
    }
    let start = Instant::now();
    assert_eq!(Slow { policy }.hang().await, Err(ApiError::TimedOut));
    // 2s, sleep 1s, 2s (t = 5): a sleep now would end past the deadline.
    assert_eq!(start.elapsed(), 5 * S);

    // `policy = make()`: a temporary lives for the whole call.
    fn make() -> Policy {
        Policy::immediate().attempts(3)
    }
    static TRIES: AtomicU32 = AtomicU32::new(0);
    #[retry(policy = make())]
    async fn fails() -> Result<(), ApiError> {
        TRIES.fetch_add(1, Ordering::Relaxed);
        Err(ApiError::Unavailable)
    }
    assert_eq!(fails().await, Err(ApiError::Unavailable));
    assert_eq!(TRIES.load(Ordering::Relaxed), 3);
}

// ---- timeouts: retried or not, they count for the breaker ----

static NOT_IDEMPOTENT: Breaker = Breaker::new(2, Duration::from_secs(60));
static CHARGES: AtomicU32 = AtomicU32::new(0);

/// A payment must not be sent twice: a timeout is not retried (`when` says so), but it
/// still tells the breaker the service is in trouble.
#[retry(attempts = 3, min = "1s", timeout = "2s", breaker = NOT_IDEMPOTENT, when = |e| *e != ApiError::TimedOut)]
async fn charge() -> Result<(), ApiError> {
    CHARGES.fetch_add(1, Ordering::Relaxed);
    sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timeout_that_is_not_retried_still_counts_towards_opening_the_breaker() {
    assert_eq!(charge().await, Err(ApiError::TimedOut));
    assert_eq!(CHARGES.load(Ordering::Relaxed), 1, "no second charge");
    assert_eq!(NOT_IDEMPOTENT.state(), BreakerState::Closed);
    assert_eq!(charge().await, Err(ApiError::TimedOut));
    assert_eq!(CHARGES.load(Ordering::Relaxed), 2);
    assert_eq!(NOT_IDEMPOTENT.state(), BreakerState::Open, "two timeouts opened it");
}

static UNLESS_TRIES: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, PartialEq)]
enum Timed {
    Out(Elapsed),
}

impl std::fmt::Display for Timed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Timed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let Timed::Out(e) = self;
        Some(e)
    }
}

impl From<Elapsed> for Timed {
    fn from(e: Elapsed) -> Self {
        Timed::Out(e)
    }
}

#[retry(attempts = 3, min = "1s", timeout = "1s", unless = Elapsed)]
async fn not_retried_by_unless() -> Result<(), Timed> {
    UNLESS_TRIES.fetch_add(1, Ordering::Relaxed);
    sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn unless_elapsed_refuses_to_retry_a_timeout() {
    assert!(matches!(not_retried_by_unless().await, Err(Timed::Out(_))));
    assert_eq!(UNLESS_TRIES.load(Ordering::Relaxed), 1);
}

// ---- a server pacing its clients is not an outage ----

static PACED: Breaker = Breaker::new(2, Duration::from_secs(60));
static PACED_TRIES: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 4, min = "1s", max = "10s", breaker = PACED, retry_after = |e| (*e == ApiError::RateLimited).then_some(Duration::from_secs(2)))]
async fn rate_limited_then_ok() -> Result<u32, ApiError> {
    match PACED_TRIES.fetch_add(1, Ordering::Relaxed) {
        0..=2 => Err(ApiError::RateLimited),
        n => Ok(n),
    }
}

#[tokio::test(start_paused = true)]
async fn a_429_with_a_hint_does_not_count_towards_opening_the_breaker() {
    let sleeps = testing::record_sleeps();
    // Three 429s in a row, more than the breaker's two failures: it stays closed.
    assert_eq!(rate_limited_then_ok().await, Ok(3));
    assert_eq!(sleeps.take(), [2 * S, 2 * S, 2 * S]);
    assert_eq!(PACED.state(), BreakerState::Closed);
}

// ---- cancelled attempts ----

static HUNG: Breaker = Breaker::new(2, Duration::from_secs(60)).hung_after(Duration::from_secs(5));
static IMPATIENT: Breaker = Breaker::new(2, Duration::from_secs(60)).hung_after(Duration::from_secs(5));

#[retry(attempts = 1, breaker = HUNG)]
async fn hangs_on_hung() -> Result<(), ApiError> {
    sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[retry(attempts = 1, breaker = IMPATIENT)]
async fn hangs_on_impatient() -> Result<(), ApiError> {
    sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn callers_who_give_up_on_a_hung_service_trip_a_breaker_with_hung_after() {
    // Each caller gives up after 10s, past `hung_after`: two dropped attempts open it.
    for _ in 0..2 {
        assert!(tokio::time::timeout(10 * S, hangs_on_hung()).await.is_err());
    }
    assert_eq!(HUNG.state(), BreakerState::Open);
    // Callers who give up after 1s, before `hung_after`, say nothing about the service.
    for _ in 0..5 {
        assert!(tokio::time::timeout(S, hangs_on_impatient()).await.is_err());
    }
    assert_eq!(IMPATIENT.state(), BreakerState::Closed);
}

// ---- resetting and asking the breaker ----

#[tokio::test(start_paused = true)]
async fn reset_closes_the_breaker_and_reopens_in_says_when() {
    let breaker = Breaker::new(1, 30 * S).named("payments");
    assert_eq!(breaker.reopens_in(), None);
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.reopens_in(), Some(30 * S));
    advance(10 * S).await;
    assert_eq!(breaker.reopens_in(), Some(20 * S));
    let open = breaker.try_acquire().unwrap_err();
    assert_eq!((open.breaker(), open.retry_in()), (Some("payments"), 20 * S));
    assert_eq!(open.to_string(), "circuit breaker `payments` is open");
    advance(20 * S).await;
    assert_eq!(breaker.reopens_in(), Some(Duration::ZERO), "the next call is a probe");
    breaker.reset();
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(breaker.reopens_in(), None);
    assert!(breaker.try_acquire().is_ok_and(|p| !p.is_probe()));
}

// ---- the builder borrows guards from a local ----

#[tokio::test(start_paused = true)]
async fn the_builder_borrows_guards_that_are_not_static() {
    let client = Client::new(Policy::immediate());
    let runs = AtomicU32::new(0);
    let result: Result<u32, ApiError> = Policy::immediate()
        .attempts(5)
        .retry(|| {
            runs.fetch_add(1, Ordering::Relaxed);
            async { Err(ApiError::Unavailable) }
        })
        .breaker(&client.breaker)
        .budget(&*client.budget)
        .throttle(&client.throttle)
        .unless(|e| *e == ApiError::RateLimited)
        .await;
    assert_eq!(result, Err(ApiError::Unavailable));
    assert_eq!(runs.load(Ordering::Relaxed), 3, "the breaker opened after three");
}

// ---- blocking ----

#[test]
fn the_builder_has_a_blocking_form() {
    let _instant = testing::instant_sleeps();
    let sleeps = testing::record_sleeps();
    let mut tries = 0;
    let result: Result<u32, ApiError> = Policy::exponential(S, 10 * S)
        .attempts(4)
        .jitter(Jitter::None)
        .retry_blocking(|| {
            tries += 1;
            if tries < 3 {
                Err(ApiError::Unavailable)
            } else {
                Ok(tries)
            }
        })
        .when(|e| *e == ApiError::Unavailable)
        .call();
    assert_eq!(result, Ok(3));
    assert_eq!(sleeps.take(), [S, 2 * S]);
}

static SYNC_TRIES: AtomicU32 = AtomicU32::new(0);

#[retry(attempts = 100, backoff = "fixed", min = "50ms", jitter = "none", deadline = "120ms")]
fn sync_with_a_deadline() -> Result<(), ApiError> {
    SYNC_TRIES.fetch_add(1, Ordering::Relaxed);
    Err(ApiError::Unavailable)
}

/// A sync fn called inside a paused runtime reads the clock it sleeps on (std's), not
/// tokio's frozen one: its deadline passes in real time.
#[tokio::test(start_paused = true)]
async fn a_sync_fn_in_a_paused_runtime_keeps_its_deadline() {
    let started = std::time::Instant::now();
    assert_eq!(sync_with_a_deadline(), Err(ApiError::Unavailable));
    // Sleeps of 50ms at t = 0 and 50: the next would end at 150 > 120.
    assert_eq!(SYNC_TRIES.load(Ordering::Relaxed), 3);
    assert!(started.elapsed() < Duration::from_millis(500));
}
