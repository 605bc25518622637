//! What `#[retry]` does at run time, key by key, under tokio's paused clock: every sleep is
//! exact and a 60-second backoff costs no wall time.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use steadfast::{retry, testing};
use tokio::time::Instant;

const S: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

fn secs(v: &[u64]) -> Vec<Duration> {
    v.iter().map(|&s| Duration::from_secs(s)).collect()
}

#[derive(Debug, Clone, PartialEq)]
struct Busy(u32);

impl fmt::Display for Busy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "busy #{}", self.0)
    }
}
impl Error for Busy {}

#[derive(Debug, PartialEq)]
struct Fatal;

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fatal")
    }
}
impl Error for Fatal {}

/// An error that wraps another, for `source()` chain matching.
#[derive(Debug)]
struct Wrapped(Busy);

impl fmt::Display for Wrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("request failed")
    }
}
impl Error for Wrapped {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

mod common;
use common::{call, calls};

// ---- attempts and delay shapes (jitter off) ----

#[retry(attempts = 5, backoff = "exp", min = "2s", max = "60s", jitter = "none")]
async fn always_busy() -> Result<(), Busy> {
    Err(Busy(call()))
}

#[tokio::test(start_paused = true)]
async fn attempts_count_every_call_and_the_last_error_is_returned() {
    let sleeps = testing::record_sleeps();
    let start = Instant::now();
    assert_eq!(always_busy().await, Err(Busy(5)));
    assert_eq!(calls(), 5);
    assert_eq!(sleeps.take(), secs(&[2, 4, 8, 16]));
    assert_eq!(start.elapsed(), 30 * S);
}

#[retry(attempts = 10, min = "2s", max = "60s", jitter = "none")]
async fn exp_to_the_cap() -> Result<(), Busy> {
    Err(Busy(call()))
}

#[tokio::test(start_paused = true)]
async fn exponential_doubles_to_max() {
    let sleeps = testing::record_sleeps();
    let _ = exp_to_the_cap().await;
    calls();
    assert_eq!(sleeps.take(), secs(&[2, 4, 8, 16, 32, 60, 60, 60, 60]));
}

#[retry(attempts = 5, base = "1s", min = "2s", max = "60s", jitter = "none")]
async fn tenacity_style() -> Result<(), Busy> {
    Err(Busy(call()))
}

#[tokio::test(start_paused = true)]
async fn base_below_min_matches_tenacity_wait_exponential() {
    // tenacity: wait_exponential(multiplier=1, min=2, max=60) sleeps 2, 2, 4, 8
    let sleeps = testing::record_sleeps();
    let _ = tenacity_style().await;
    calls();
    assert_eq!(sleeps.take(), secs(&[2, 2, 4, 8]));
}

#[retry(attempts = 5, min = "1s", max = "100s", factor = 3, jitter = "none")]
async fn factor_three() -> Result<(), Busy> {
    Err(Busy(call()))
}

#[retry(attempts = 4, backoff = "fixed", min = "3s", jitter = "none")]
async fn fixed() -> Result<(), Busy> {
    Err(Busy(call()))
}

#[retry(attempts = 6, backoff = "linear", base = "1s", step = "2s", max = "8s", jitter = "none")]
async fn linear() -> Result<(), Busy> {
    Err(Busy(call()))
}

#[retry(attempts = 8, backoff = "fibonacci", min = "1s", max = "10s", jitter = "none")]
async fn fibonacci() -> Result<(), Busy> {
    Err(Busy(call()))
}

#[retry(attempts = 4, backoff = "none")]
async fn immediate() -> Result<(), Busy> {
    Err(Busy(call()))
}

#[tokio::test(start_paused = true)]
async fn every_backoff_shape() {
    let sleeps = testing::record_sleeps();
    let _ = factor_three().await;
    assert_eq!(sleeps.take(), secs(&[1, 3, 9, 27]));
    let _ = fixed().await;
    assert_eq!(sleeps.take(), secs(&[3, 3, 3]));
    let _ = linear().await;
    assert_eq!(sleeps.take(), secs(&[1, 3, 5, 7, 8]));
    let _ = fibonacci().await;
    assert_eq!(sleeps.take(), secs(&[1, 1, 2, 3, 5, 8, 10]));
    let start = Instant::now();
    let _ = immediate().await;
    assert_eq!(sleeps.take(), Vec::<Duration>::new(), "backoff = \"none\" never sleeps");
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(calls(), 5 + 4 + 6 + 8 + 4);
}

#[retry]
async fn defaults() -> Result<(), Busy> {
    Err(Busy(call()))
}

#[tokio::test(start_paused = true)]
async fn defaults_are_three_attempts_from_500ms_with_full_jitter() {
    let sleeps = testing::record_sleeps();
    for seed in 0..50 {
        let _seed = testing::seed(seed);
        assert_eq!(defaults().await, Err(Busy(3)));
        calls();
        let taken = sleeps.take();
        assert_eq!(taken.len(), 2);
        // full jitter: [min, min(max, 2 d(n))] with d = 500ms, 1s
        assert!((500 * MS..=S).contains(&taken[0]), "{taken:?}");
        assert!((500 * MS..=2 * S).contains(&taken[1]), "{taken:?}");
    }
}

// ---- jitter ----

#[retry(attempts = 8, min = "1s", max = "20s")]
async fn full_jitter() -> Result<(), Busy> {
    Err(Busy(0))
}

#[retry(attempts = 8, min = "1s", max = "20s", jitter = "equal")]
async fn equal_jitter() -> Result<(), Busy> {
    Err(Busy(0))
}

#[retry(attempts = 8, min = "1s", max = "20s", jitter = "decorrelated")]
async fn decorrelated_jitter() -> Result<(), Busy> {
    Err(Busy(0))
}

/// Runs `f` 200 times and returns the sleeps by retry number.
async fn sample<F, Fut>(f: F) -> Vec<Vec<Duration>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), Busy>>,
{
    let _seed = testing::seed(42);
    let sleeps = testing::record_sleeps();
    let mut by_retry = vec![Vec::new(); 7];
    for _ in 0..200 {
        let _ = f().await;
        for (n, d) in sleeps.take().into_iter().enumerate() {
            by_retry[n].push(d);
        }
    }
    by_retry
}

#[tokio::test(start_paused = true)]
async fn full_jitter_stays_in_its_window_and_spreads() {
    let undithered = [1u64, 2, 4, 8, 16, 20, 20];
    for (n, draws) in sample(full_jitter).await.iter().enumerate() {
        let hi = (2 * undithered[n]).min(20);
        assert!(draws.iter().all(|d| (S..=Duration::from_secs(hi)).contains(d)), "retry {}: {draws:?}", n + 1);
        let distinct: std::collections::BTreeSet<_> = draws.iter().collect();
        assert!(distinct.len() > 150, "retry {}: only {} distinct delays", n + 1, distinct.len());
    }
}

#[tokio::test(start_paused = true)]
async fn equal_jitter_is_at_least_half_the_delay_and_first_retry_is_min() {
    let undithered = [1u64, 2, 4, 8, 16, 20, 20];
    let samples = sample(equal_jitter).await;
    assert!(samples[0].iter().all(|d| *d == S), "with base = min, the first retry is exactly min");
    for (n, draws) in samples.iter().enumerate() {
        let d = undithered[n] * 1000;
        assert!(draws.iter().all(|x| (d / 2 * 1_000_000..=d * 1_000_000).contains(&(x.as_nanos() as u64))));
        assert!(draws.iter().all(|x| *x >= S));
    }
}

#[tokio::test(start_paused = true)]
async fn decorrelated_jitter_stays_in_bounds() {
    let samples = sample(decorrelated_jitter).await;
    assert!(samples[0].iter().all(|d| (S..=3 * S).contains(d)), "first draw is in [base, 3 base]");
    for draws in &samples {
        assert!(draws.iter().all(|d| (S..=20 * S).contains(d)));
    }
    let late: Vec<_> = samples[6].iter().filter(|d| **d > 5 * S).collect();
    assert!(late.len() > 100, "decorrelated delays grow from the previous one");
}

#[tokio::test(start_paused = true)]
async fn a_seed_fixes_the_jitter() {
    let run = |seed| async move {
        let _seed = testing::seed(seed);
        let sleeps = testing::record_sleeps();
        let _ = full_jitter().await;
        sleeps.take()
    };
    assert_eq!(run(7).await, run(7).await);
    assert_ne!(run(7).await, run(8).await);
}

/// The delays of a few seeds, pinned: `testing::seed` promises the same delays for the same
/// seed across releases, which a change of RNG (a `rand` upgrade that changes `StdRng`) or
/// of how a draw becomes a delay would break silently.
#[test]
fn a_seed_gives_the_same_delays_release_after_release() {
    let policy = steadfast::Policy::exponential(Duration::from_millis(100), 10 * S).attempts(6);
    let millis = |seed| {
        let _seed = testing::seed(seed);
        policy.delays().map(|d| d.as_millis() as u64).collect::<Vec<_>>()
    };
    assert_eq!(millis(0), PINNED_0);
    assert_eq!(millis(42), PINNED_42);
    assert_eq!(millis(u64::MAX), PINNED_MAX);
}

// ---- classification ----

#[retry(attempts = 4, min = "1s", jitter = "none", on = Busy)]
async fn only_busy(fatal_on: u32) -> Result<u32, Box<dyn Error + Send + Sync>> {
    let n = call();
    if n == fatal_on {
        return Err(Box::new(Fatal));
    }
    Err(Box::new(Busy(n)))
}

#[tokio::test(start_paused = true)]
async fn on_fails_fast_on_other_errors() {
    let sleeps = testing::record_sleeps();
    let err = only_busy(1).await.unwrap_err();
    assert!(err.is::<Fatal>());
    assert_eq!(calls(), 1);
    assert!(sleeps.take().is_empty());

    let err = only_busy(3).await.unwrap_err();
    assert!(err.is::<Fatal>(), "the error that stopped the retries is returned as is");
    assert_eq!(calls(), 3);
    assert_eq!(sleeps.take(), secs(&[1, 2]));
}

#[retry(attempts = 3, min = "1s", jitter = "none", on = Busy)]
async fn wrapped() -> Result<(), Wrapped> {
    Err(Wrapped(Busy(call())))
}

#[tokio::test(start_paused = true)]
async fn on_matches_the_source_chain() {
    let err = wrapped().await.unwrap_err();
    assert_eq!(err.0, Busy(3));
    assert_eq!(calls(), 3);
}

#[retry(attempts = 3, min = "1s", jitter = "none", on = Busy | std::io::Error)]
async fn anyhow_errors(kind: u32) -> anyhow::Result<()> {
    call();
    match kind {
        0 => Err(anyhow::Error::new(Busy(0)).context("calling the model")),
        1 => Err(std::io::Error::other("reset").into()),
        _ => Err(anyhow::anyhow!("bad request")),
    }
}

#[tokio::test(start_paused = true)]
async fn on_works_with_anyhow_and_type_alternatives() {
    let err = anyhow_errors(0).await.unwrap_err();
    assert_eq!(err.to_string(), "calling the model");
    assert_eq!(calls(), 3);
    let _ = anyhow_errors(1).await;
    assert_eq!(calls(), 3);
    let _ = anyhow_errors(2).await;
    assert_eq!(calls(), 1, "an error of neither type is not retried");
}

#[retry(attempts = 3, min = "1ms", max = "2ms", on = std::io::Error)]
fn blocking_io(fail: bool) -> std::io::Result<u32> {
    let n = call();
    if fail {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad"));
    }
    Ok(n)
}

#[test]
fn on_works_with_io_result_in_a_sync_fn() {
    let _seed = testing::seed(1);
    let sleeps = testing::record_sleeps();
    assert_eq!(blocking_io(false).unwrap(), 1);
    calls();
    // A sync fn sleeps for real, hence the millisecond delays.
    assert!(blocking_io(true).is_err());
    assert_eq!(calls(), 3);
    assert_eq!(sleeps.take().len(), 2);
}

// ---- how the body is re-run ----

struct Session {
    log: Vec<String>,
}

impl Session {
    #[retry(attempts = 3, min = "1s", jitter = "none")]
    async fn send(&mut self, mut message: String, tries: &mut u32) -> Result<usize, Busy> {
        *tries += 1;
        // Each attempt gets a fresh clone: this push is not seen by the next attempt.
        message.push('!');
        self.log.push(message.clone());
        let ok = (*tries == 3).then_some(message.len());
        // `?` ends the attempt, not the loop.
        ok.ok_or(Busy(*tries))?;
        Ok(message.len())
    }
}

#[tokio::test(start_paused = true)]
async fn mut_borrows_are_reborrowed_and_owned_args_cloned() {
    let mut session = Session { log: Vec::new() };
    let mut tries = 0;
    assert_eq!(session.send("hi".to_string(), &mut tries).await, Ok(3));
    assert_eq!(tries, 3);
    assert_eq!(session.log, ["hi!", "hi!", "hi!"]);
}

#[retry(attempts = 3, min = "1s", jitter = "none")]
async fn early_return() -> Result<u32, Busy> {
    let n = call();
    if n < 3 {
        return Err(Busy(n));
    }
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn return_ends_the_attempt() {
    assert_eq!(early_return().await, Ok(3));
    assert_eq!(calls(), 3);
}

#[retry(attempts = 3, min = "1ms", jitter = "none")]
fn blocking_counter(counter: &mut u32) -> Result<u32, Busy> {
    *counter += 1;
    if *counter < 3 {
        Err(Busy(*counter))
    } else {
        Ok(*counter)
    }
}

#[test]
fn sync_fns_retry_with_a_blocking_sleep() {
    let sleeps = testing::record_sleeps();
    let start = std::time::Instant::now();
    let mut counter = 0;
    assert_eq!(blocking_counter(&mut counter), Ok(3));
    assert_eq!(sleeps.take(), [MS, 2 * MS]);
    assert!(start.elapsed() >= 3 * MS);
}

#[tokio::test(start_paused = true)]
async fn the_future_is_send_and_spawnable() {
    let handle = tokio::spawn(async { Session { log: Vec::new() }.send("x".into(), &mut 2).await });
    assert_eq!(handle.await.unwrap(), Ok(2));
}

/// Full jitter from 100ms doubling (each delay in `[100ms, 2 * d(n)]`), as this version draws it.
const PINNED_0: [u64; 5] = [173, 332, 118, 976, 912];
const PINNED_42: [u64; 5] = [152, 262, 545, 708, 206];
const PINNED_MAX: [u64; 5] = [106, 111, 150, 645, 694];
