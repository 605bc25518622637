//! The keys beyond the delay shape: `timeout`, `deadline`, `unless`, `when`, `if_ok`,
//! `retry_after`, `notify`, and how they combine, under tokio's paused clock.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use steadfast::{retry, testing, Attempt, Elapsed};
use tokio::time::{sleep, Instant};

const S: Duration = Duration::from_secs(1);

fn secs(v: &[u64]) -> Vec<Duration> {
    v.iter().map(|&s| Duration::from_secs(s)).collect()
}

#[derive(Debug, PartialEq)]
enum ApiError {
    Busy,
    Denied,
    TimedOut(Duration),
    Wrapped(Box<ApiError>),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl Error for ApiError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ApiError::Wrapped(inner) => Some(&**inner),
            _ => None,
        }
    }
}

impl From<Elapsed> for ApiError {
    fn from(e: Elapsed) -> Self {
        ApiError::TimedOut(e.limit())
    }
}

mod common;
use common::{call, calls};

thread_local! {
    static NOTES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

// ---- timeout ----

#[retry(attempts = 3, min = "1s", jitter = "none", timeout = "2s", on = std::io::Error)]
async fn hangs() -> Result<(), ApiError> {
    call();
    sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_attempt_is_retried_whatever_on_says() {
    let start = Instant::now();
    assert_eq!(hangs().await, Err(ApiError::TimedOut(2 * S)));
    assert_eq!(calls(), 3);
    // three 2s attempts and sleeps of 1s and 2s
    assert_eq!(start.elapsed(), 9 * S);
}

#[retry(attempts = 3, min = "1s", timeout = "2s")]
async fn slow_then_fast() -> Result<u32, ApiError> {
    let n = call();
    if n == 1 {
        sleep(Duration::from_secs(10)).await;
    }
    sleep(Duration::from_millis(1500)).await;
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn an_attempt_within_its_timeout_completes() {
    assert_eq!(slow_then_fast().await, Ok(2));
    assert_eq!(calls(), 2);
}

// ---- deadline ----

#[retry(attempts = 4, min = "250µs", max = "1000000ns", jitter = "none")]
async fn sub_millisecond() -> Result<(), ApiError> {
    Err(ApiError::Busy)
}

#[tokio::test(start_paused = true)]
async fn microsecond_and_nanosecond_units_reach_the_sleeps() {
    let sleeps = testing::record_sleeps();
    assert_eq!(sub_millisecond().await, Err(ApiError::Busy));
    let micros = [250, 500, 1000].map(Duration::from_micros);
    assert_eq!(sleeps.take(), micros);
}

#[retry(attempts = 10, min = "1s", max = "60s", jitter = "none", deadline = "10s")]
async fn slow_failures() -> Result<(), ApiError> {
    call();
    sleep(S).await;
    Err(ApiError::Busy)
}

#[tokio::test(start_paused = true)]
async fn no_sleep_that_would_end_at_or_past_the_deadline_starts() {
    let sleeps = testing::record_sleeps();
    let start = Instant::now();
    assert_eq!(slow_failures().await, Err(ApiError::Busy));
    // t=1 fail, sleep 1 -> t=2, fail at 3, sleep 2 -> 5, fail at 6; 6 + 4 >= 10: stop
    assert_eq!(sleeps.take(), secs(&[1, 2]));
    assert_eq!(calls(), 3);
    assert_eq!(start.elapsed(), 6 * S);
}

#[retry(attempts = 10, min = "1s", max = "60s", jitter = "none", deadline = "5s", timeout = "3s")]
async fn hangs_under_deadline() -> Result<(), ApiError> {
    call();
    sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn timeout_is_cut_to_what_is_left_of_the_deadline() {
    let start = Instant::now();
    // attempt 1 times out at 3s, sleep 1s, attempt 2 gets the 1s left
    assert_eq!(hangs_under_deadline().await, Err(ApiError::TimedOut(S)));
    assert_eq!(calls(), 2);
    assert_eq!(start.elapsed(), 5 * S);
}

// ---- unless, when, on ----

/// An error `on` retries; with a `fmt::Error` as its source, `unless` matches it too.
#[derive(Debug)]
struct Outer(Option<std::fmt::Error>);

impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("outer")
    }
}

impl Error for Outer {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.as_ref().map(|e| e as &(dyn Error + 'static))
    }
}

#[retry(attempts = 3, min = "1s", on = Outer, unless = std::fmt::Error)]
async fn unless_first(fmt_source: bool) -> Result<(), Outer> {
    call();
    Err(Outer(fmt_source.then_some(std::fmt::Error)))
}

#[retry(attempts = 3, min = "1s", on = ApiError, unless = ApiError)]
async fn unless_beats_on() -> Result<(), ApiError> {
    call();
    Err(ApiError::Busy)
}

#[tokio::test(start_paused = true)]
async fn unless_is_never_retried_and_is_checked_before_on() {
    // `on` and `unless` both match (the source chain holds a `fmt::Error`): not retried
    let _ = unless_first(true).await;
    assert_eq!(calls(), 1);
    // `on` alone matches: retried
    let _ = unless_first(false).await;
    assert_eq!(calls(), 3);
    let _ = unless_beats_on().await;
    assert_eq!(calls(), 1);
}

type BoxError = Box<dyn Error + Send + Sync>;

// `on` and `unless` test the error inside a pointer or behind a `Deref`: `Outer` itself
// (the head of the chain, which `Arc<dyn Error>`, an error in its own right, would hide if
// tested as it is) and its source.

#[retry(attempts = 3, min = "1s", on = Outer, unless = std::fmt::Error)]
async fn boxed(fmt_source: bool) -> Result<(), BoxError> {
    call();
    Err(Box::new(Outer(fmt_source.then_some(std::fmt::Error))))
}

#[retry(attempts = 3, min = "1s", on = Outer, unless = std::fmt::Error)]
async fn shared(fmt_source: bool) -> Result<(), Arc<dyn Error>> {
    call();
    Err(Arc::new(Outer(fmt_source.then_some(std::fmt::Error))))
}

/// Derefs to `dyn Error` without being an `Error`, as `anyhow::Error` does.
struct Report(BoxError);

impl Deref for Report {
    type Target = dyn Error + Send + Sync;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

#[retry(attempts = 3, min = "1s", on = Outer, unless = std::fmt::Error)]
async fn reported(fmt_source: bool) -> Result<(), Report> {
    call();
    Err(Report(Box::new(Outer(fmt_source.then_some(std::fmt::Error)))))
}

#[tokio::test(start_paused = true)]
async fn on_and_unless_test_the_error_behind_a_pointer_or_deref() {
    // `on` matches `Outer`: retried
    let _ = boxed(false).await;
    assert_eq!(calls(), 3);
    let _ = shared(false).await;
    assert_eq!(calls(), 3);
    let _ = reported(false).await;
    assert_eq!(calls(), 3);
    // `unless` matches its source: not retried
    let _ = boxed(true).await;
    assert_eq!(calls(), 1);
    let _ = shared(true).await;
    assert_eq!(calls(), 1);
    let _ = reported(true).await;
    assert_eq!(calls(), 1);
}

fn not_denied(e: &BoxError) -> bool {
    !matches!(e.downcast_ref::<ApiError>(), Some(ApiError::Denied))
}

/// Fails with `Busy` (`on` and `when` both say retry) until call `odd_on`, which fails with
/// `odd`: `Denied` (`on` says retry, `when` says no) or `fmt::Error` (`when` says retry,
/// `on` says no).
#[retry(attempts = 4, min = "1s", on = ApiError, when = not_denied)]
async fn when_and_on(odd_on: u32, odd: fn() -> BoxError) -> Result<(), BoxError> {
    if call() == odd_on {
        return Err(odd());
    }
    Err(Box::new(ApiError::Busy))
}

#[retry(attempts = 4, min = "1s", when = |e: &ApiError| matches!(e, ApiError::Wrapped(inner) if **inner == ApiError::Busy))]
async fn when_closure() -> Result<(), ApiError> {
    call();
    Err(ApiError::Wrapped(Box::new(ApiError::Busy)))
}

#[tokio::test(start_paused = true)]
async fn when_is_anded_with_on() {
    let denied: fn() -> BoxError = || Box::new(ApiError::Denied);
    let foreign: fn() -> BoxError = || Box::new(std::fmt::Error);
    // `when` refuses what `on` accepts
    assert_eq!(when_and_on(2, denied).await.unwrap_err().to_string(), "Denied");
    assert_eq!(calls(), 2);
    // `on` refuses what `when` accepts
    assert!(when_and_on(2, foreign).await.unwrap_err().is::<std::fmt::Error>());
    assert_eq!(calls(), 2);
    // both accept until the attempts run out
    assert_eq!(when_and_on(0, denied).await.unwrap_err().to_string(), "Busy");
    assert_eq!(calls(), 4);
    let _ = when_closure().await;
    assert_eq!(calls(), 4);
}

// ---- if_ok ----

#[retry(attempts = 4, min = "1s", jitter = "none", on = std::io::Error, if_ok = |v: &Vec<u32>| v.is_empty())]
async fn poll_for_results(ready_on: u32) -> Result<Vec<u32>, ApiError> {
    let n = call();
    Ok(if n >= ready_on { vec![n] } else { Vec::new() })
}

#[tokio::test(start_paused = true)]
async fn if_ok_retries_unwanted_values_and_returns_the_last_as_is() {
    let sleeps = testing::record_sleeps();
    assert_eq!(poll_for_results(3).await, Ok(vec![3]));
    assert_eq!(sleeps.take(), secs(&[1, 2]));
    calls();
    // `on` is about errors; the empty values are still retried, and the last is returned
    assert_eq!(poll_for_results(99).await, Ok(vec![]));
    assert_eq!(calls(), 4);
}

// ---- retry_after ----

fn hint(e: &ApiError) -> Option<Duration> {
    match e {
        ApiError::Busy => Some(Duration::from_millis(7_250)),
        ApiError::Denied => Some(Duration::from_secs(120)),
        _ => None,
    }
}

#[retry(attempts = 3, min = "1s", max = "60s", retry_after = hint)]
async fn hinted(error: fn() -> ApiError) -> Result<(), ApiError> {
    call();
    Err(error())
}

#[tokio::test(start_paused = true)]
async fn a_hint_sets_the_sleep_exactly_and_never_adds_attempts() {
    let sleeps = testing::record_sleeps();
    let start = Instant::now();
    assert_eq!(hinted(|| ApiError::Busy).await, Err(ApiError::Busy));
    assert_eq!(calls(), 3, "the hint does not add attempts");
    let hinted_sleep = Duration::from_millis(7_250);
    assert_eq!(sleeps.take(), [hinted_sleep, hinted_sleep], "the hint is not jittered");
    assert_eq!(start.elapsed(), 2 * hinted_sleep);
}

#[tokio::test(start_paused = true)]
async fn a_hint_above_max_ends_the_retries_at_once() {
    let sleeps = testing::record_sleeps();
    assert_eq!(hinted(|| ApiError::Denied).await, Err(ApiError::Denied));
    assert_eq!(calls(), 1);
    assert!(sleeps.take().is_empty());
    // no hint: ordinary backoff
    let _ = hinted(|| ApiError::TimedOut(S)).await;
    assert_eq!(calls(), 3);
}

#[retry(attempts = 3, min = "1s", max = "60s", jitter = "none", retry_after = hint, hint_above_max = "clamp")]
async fn clamped(error: fn() -> ApiError) -> Result<(), ApiError> {
    call();
    Err(error())
}

#[retry(attempts = 3, min = "1s", max = "60s", jitter = "none", retry_after = hint, hint_above_max = "ignore")]
async fn unhinted(error: fn() -> ApiError) -> Result<(), ApiError> {
    call();
    Err(error())
}

#[tokio::test(start_paused = true)]
async fn a_hint_above_max_can_be_clamped_to_max_or_ignored() {
    let sleeps = testing::record_sleeps();
    // 120 s asked, 60 s allowed.
    assert_eq!(clamped(|| ApiError::Denied).await, Err(ApiError::Denied));
    assert_eq!(calls(), 3);
    assert_eq!(sleeps.take(), secs(&[60, 60]), "clamped to max");
    // Ignored: the policy's own backoff, 1 s then 2 s.
    assert_eq!(unhinted(|| ApiError::Denied).await, Err(ApiError::Denied));
    assert_eq!(calls(), 3);
    assert_eq!(sleeps.take(), secs(&[1, 2]), "the hint ignored");
    // A hint within max is taken as is, whatever the choice.
    assert_eq!(unhinted(|| ApiError::Busy).await, Err(ApiError::Busy));
    assert_eq!(sleeps.take(), [Duration::from_millis(7_250); 2]);
}

#[retry(attempts = 5, min = "1s", max = "60s", deadline = "10s", retry_after = |_: &ApiError| Some(Duration::from_secs(6)))]
async fn hint_past_deadline() -> Result<(), ApiError> {
    call();
    Err(ApiError::Busy)
}

#[tokio::test(start_paused = true)]
async fn a_hint_past_the_deadline_ends_the_retries() {
    let start = Instant::now();
    assert_eq!(hint_past_deadline().await, Err(ApiError::Busy));
    // 0 + 6 < 10: sleep; 6 + 6 >= 10: stop
    assert_eq!(calls(), 2);
    assert_eq!(start.elapsed(), 6 * S);
}

// ---- notify ----

fn note(a: &Attempt<'_, ApiError>) {
    let error = a.error().map(|e| e.to_string()).unwrap_or_else(|| "ok value".into());
    NOTES.with(|n| n.borrow_mut().push(format!("{} {:?} {:?} {}", a.attempt(), a.delay(), a.elapsed(), error)));
}

fn notes() -> Vec<String> {
    NOTES.with(|n| n.take())
}

#[retry(attempts = 3, min = "1s", jitter = "none", log = "off", notify = note)]
async fn notified() -> Result<(), ApiError> {
    call();
    sleep(Duration::from_millis(500)).await;
    Err(ApiError::Busy)
}

#[retry(attempts = 2, min = "1s", jitter = "none", notify = note, if_ok = |v: &u32| *v == 1)]
async fn notified_ok() -> Result<u32, ApiError> {
    Ok(call())
}

#[tokio::test(start_paused = true)]
async fn notify_runs_before_each_sleep_and_never_after_the_last_attempt() {
    let _ = notified().await;
    assert_eq!(calls(), 3);
    assert_eq!(notes(), ["1 1s 500ms Busy", "2 2s 2s Busy"], "log = \"off\" does not silence notify");
    assert_eq!(notified_ok().await, Ok(2));
    calls();
    assert_eq!(notes(), ["1 1s 0ns ok value"]);
}

// ---- panics ----

#[retry(attempts = 3, min = "1s")]
async fn panics() -> Result<(), ApiError> {
    call();
    panic!("bug in the body");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_attempt_is_neither_caught_nor_retried() {
    let outcome = std::panic::AssertUnwindSafe(panics()).catch_unwind().await;
    assert!(outcome.is_err());
    assert_eq!(calls(), 1);
}
