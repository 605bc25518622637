//! One behaviour suite, run on each executor whose feature is on: attempt counts, exact
//! delays, a per-attempt timeout, a deadline, each guard and the builder, every one on the
//! executor's own timer and clock (`timer = …`, `.timer::<T>()`, guards' `.clock::<T>()`).
//!
//! Real time, bounded: backoff sleeps are skipped by `testing::instant_sleeps()` (still
//! recorded), and what must really wait (a timeout, a throttle's spacing, a cooldown) waits
//! a few milliseconds. Each test runs on a thread of its own under a watchdog, so a timer
//! that never fires fails the test instead of hanging the run.

use std::any::type_name;
use std::future::Future;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use steadfast::timer::DefaultTimer;
use steadfast::{Elapsed, Open};

const S: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// How long any one test may take before it counts as hung.
const WATCHDOG: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fail {
    Down,
    TimedOut,
    Open,
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Fail {}

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

/// Runs `test` to completion with `block_on` on a fresh thread (the test kit acts on the
/// thread it is called on, so the whole test runs there), failing if it takes longer than
/// the watchdog allows.
fn bounded<F: Future<Output = ()> + 'static>(block_on: fn(F) -> (), test: impl FnOnce() -> F + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        block_on(test());
        let _ = done.send(());
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => worker.join().expect("the test thread ended"),
        Err(RecvTimeoutError::Disconnected) => std::panic::resume_unwind(worker.join().unwrap_err()),
        Err(RecvTimeoutError::Timeout) => panic!("still running after {WATCHDOG:?}: a timer never fired"),
    }
}

/// The same tests for the timer `$timer` (a name in `steadfast::timer`), each run by
/// `$block_on`, which drives a future on the current thread.
macro_rules! suite {
    ($timer:ident, $block_on:expr) => {
        use std::sync::atomic::{AtomicU32, Ordering};

        use steadfast::timer::{$timer, Clock, Timer};
        use steadfast::{retry, testing, Breaker, BreakerState, Budget, Jitter, Policy, Throttle};

        use super::*;

        fn run<F: Future<Output = ()> + 'static>(test: impl FnOnce() -> F + Send + 'static) {
            fn block_on<F: Future<Output = ()>>(future: F) {
                ($block_on)(future)
            }
            bounded(block_on::<F>, test)
        }

        /// Fails until it has been called `ok_at` times (never if 0).
        fn answer(calls: &AtomicU32, ok_at: u32) -> Result<u32, Fail> {
            let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
            if n == ok_at {
                Ok(n)
            } else {
                Err(Fail::Down)
            }
        }

        #[test]
        fn attempts_and_exact_delays() {
            run(|| async {
                #[retry(timer = $timer, attempts = 4, min = "1s", max = "60s", jitter = "none")]
                async fn flaky(calls: &AtomicU32, ok_at: u32) -> Result<u32, Fail> {
                    answer(calls, ok_at)
                }

                let _instant = testing::instant_sleeps();
                let sleeps = testing::record_sleeps();
                let started = Instant::now();
                let calls = AtomicU32::new(0);
                assert_eq!(flaky(&calls, 3).await, Ok(3));
                assert_eq!(sleeps.take(), [S, 2 * S]);
                calls.store(0, Ordering::Relaxed);
                assert_eq!(flaky(&calls, 0).await, Err(Fail::Down));
                assert_eq!(calls.load(Ordering::Relaxed), 4);
                assert_eq!(sleeps.take(), [S, 2 * S, 4 * S]);
                assert!(started.elapsed() < S, "7s of backoff were skipped, not slept");
            });
        }

        #[test]
        fn a_seed_fixes_the_jitter() {
            run(|| async {
                #[retry(timer = $timer, attempts = 4, min = "1s", max = "60s")]
                async fn down() -> Result<(), Fail> {
                    Err(Fail::Down)
                }

                let _instant = testing::instant_sleeps();
                let sleeps = testing::record_sleeps();
                let mut runs = Vec::new();
                for _ in 0..2 {
                    let _seed = testing::seed(7);
                    assert_eq!(down().await, Err(Fail::Down));
                    runs.push(sleeps.take());
                }
                assert_eq!(runs[0], runs[1]);
                // Full jitter: the n-th delay lies in [min, 2 * min * 2^(n-1)].
                for (n, delay) in runs[0].iter().enumerate() {
                    assert!(S <= *delay && *delay <= S * 2u32.pow(n as u32 + 1), "{n}: {delay:?}");
                }
            });
        }

        #[test]
        fn backoff_sleeps_on_the_timer_and_its_clock() {
            run(|| async {
                // Not skipped: two real sleeps of 3ms, the second on the re-armed timer.
                #[retry(timer = $timer, attempts = 3, backoff = "fixed", min = "3ms", jitter = "none")]
                async fn down(calls: &AtomicU32) -> Result<u32, Fail> {
                    answer(calls, 0)
                }

                let sleeps = testing::record_sleeps();
                let (wall, clock) = (Instant::now(), $timer::now());
                let calls = AtomicU32::new(0);
                assert_eq!(down(&calls).await, Err(Fail::Down));
                assert_eq!(calls.load(Ordering::Relaxed), 3);
                assert_eq!(sleeps.take(), [3 * MS, 3 * MS]);
                assert!(wall.elapsed() >= 6 * MS, "slept {:?}", wall.elapsed());
                let on_clock = $timer::now().saturating_duration_since(clock);
                assert!(on_clock >= 6 * MS, "the clock saw {on_clock:?}");
            });
        }

        #[test]
        fn a_hung_attempt_is_cut_by_its_timeout() {
            run(|| async {
                #[retry(timer = $timer, attempts = 2, min = "1s", jitter = "none", timeout = "20ms")]
                async fn hangs(calls: &AtomicU32) -> Result<(), Fail> {
                    calls.fetch_add(1, Ordering::Relaxed);
                    std::future::pending::<()>().await;
                    Ok(())
                }

                let _instant = testing::instant_sleeps();
                let sleeps = testing::record_sleeps();
                let started = Instant::now();
                let calls = AtomicU32::new(0);
                assert_eq!(hangs(&calls).await, Err(Fail::TimedOut));
                assert_eq!(calls.load(Ordering::Relaxed), 2);
                assert_eq!(sleeps.take(), [S]);
                let took = started.elapsed();
                assert!((40 * MS..S).contains(&took), "two 20ms timeouts took {took:?}");
            });
        }

        #[test]
        fn a_deadline_stops_the_retries() {
            run(|| async {
                // Skipped sleeps count: 1s, 1s, and a third would end at the deadline.
                #[retry(timer = $timer, attempts = 10, backoff = "fixed", min = "1s", jitter = "none", deadline = "3s")]
                async fn down(calls: &AtomicU32) -> Result<u32, Fail> {
                    answer(calls, 0)
                }

                // Read on the timer's clock: the hung attempt's 1s timeout is cut to the
                // 30ms left, and no sleep fits after it.
                #[retry(timer = $timer, attempts = 10, min = "1ms", deadline = "30ms", timeout = "1s")]
                async fn hangs(calls: &AtomicU32) -> Result<(), Fail> {
                    calls.fetch_add(1, Ordering::Relaxed);
                    std::future::pending::<()>().await;
                    Ok(())
                }

                let _instant = testing::instant_sleeps();
                let sleeps = testing::record_sleeps();
                let calls = AtomicU32::new(0);
                assert_eq!(down(&calls).await, Err(Fail::Down));
                assert_eq!(calls.load(Ordering::Relaxed), 3);
                assert_eq!(sleeps.take(), [S, S]);

                let started = Instant::now();
                calls.store(0, Ordering::Relaxed);
                assert_eq!(hangs(&calls).await, Err(Fail::TimedOut));
                assert_eq!(calls.load(Ordering::Relaxed), 1);
                assert!(sleeps.take().is_empty(), "no sleep fits before the deadline");
                let took = started.elapsed();
                assert!((30 * MS..S).contains(&took), "the deadline ended it after {took:?}");
            });
        }

        #[test]
        fn a_throttle_spaces_attempts_on_the_timer() {
            run(|| async {
                // A permit every 10ms.
                static PACED: Throttle<$timer> = Throttle::per_second(100).clock::<$timer>();

                #[retry(timer = $timer, attempts = 2, throttle = PACED)]
                async fn paced(calls: &AtomicU32) -> Result<u32, Fail> {
                    Ok(calls.fetch_add(1, Ordering::Relaxed) + 1)
                }

                // Throttle waits are neither skipped nor recorded.
                let _instant = testing::instant_sleeps();
                let sleeps = testing::record_sleeps();
                let started = Instant::now();
                let calls = AtomicU32::new(0);
                for n in 1..=3 {
                    assert_eq!(paced(&calls).await, Ok(n));
                }
                assert!(sleeps.take().is_empty());
                // The first permit at once, then one each 10ms; 1ms for the clocks' rounding.
                let took = started.elapsed();
                assert!((19 * MS..S).contains(&took), "three permits took {took:?}");
            });
        }

        #[test]
        fn a_breaker_opens_and_cools_down_on_the_clock() {
            run(|| async {
                const COOLDOWN: Duration = Duration::from_millis(20);
                static OUTAGE: Breaker<$timer> = Breaker::new(2, COOLDOWN).clock::<$timer>();

                #[retry(timer = $timer, attempts = 5, min = "1s", jitter = "none", breaker = OUTAGE)]
                async fn call(calls: &AtomicU32, ok_at: u32) -> Result<u32, Fail> {
                    answer(calls, ok_at)
                }

                let _instant = testing::instant_sleeps();
                let sleeps = testing::record_sleeps();
                let calls = AtomicU32::new(0);
                // The second failure opens it: the call stops with attempts left.
                assert_eq!(call(&calls, 0).await, Err(Fail::Down));
                assert_eq!(calls.load(Ordering::Relaxed), 2);
                assert_eq!(sleeps.take(), [S]);
                assert_eq!(OUTAGE.state(), BreakerState::Open);
                assert_eq!(call(&calls, 0).await, Err(Fail::Open));
                assert_eq!(calls.load(Ordering::Relaxed), 2, "an open breaker runs no attempt");

                $timer::sleep(COOLDOWN).await;
                assert_eq!(OUTAGE.state(), BreakerState::HalfOpen);
                calls.store(0, Ordering::Relaxed);
                assert_eq!(call(&calls, 1).await, Ok(1), "the probe goes through");
                assert_eq!(OUTAGE.state(), BreakerState::Closed);
            });
        }

        #[test]
        fn a_budget_stops_retries_once_half_spent() {
            run(|| async {
                static RETRIES: Budget = Budget::new(4, 0.0);

                #[retry(timer = $timer, attempts = 5, min = "1s", jitter = "none", budget = RETRIES)]
                async fn down(calls: &AtomicU32) -> Result<u32, Fail> {
                    answer(calls, 0)
                }

                let _instant = testing::instant_sleeps();
                let sleeps = testing::record_sleeps();
                let calls = AtomicU32::new(0);
                // 4 -> 3 tokens: a retry; 3 -> 2: no more than half left, no retry.
                assert_eq!(down(&calls).await, Err(Fail::Down));
                assert_eq!(calls.load(Ordering::Relaxed), 2);
                assert_eq!(sleeps.take(), [S]);
                // A first attempt is never refused; its failure takes a token too.
                assert_eq!(down(&calls).await, Err(Fail::Down));
                assert_eq!(calls.load(Ordering::Relaxed), 3);
                assert_eq!(RETRIES.tokens(), 1.0);
            });
        }

        #[test]
        fn the_builder_runs_on_the_named_timer() {
            run(|| async {
                static OUTAGE: Breaker<$timer> = Breaker::new(5, Duration::from_secs(60)).clock::<$timer>();

                let _instant = testing::instant_sleeps();
                let sleeps = testing::record_sleeps();
                let started = Instant::now();
                let calls = &AtomicU32::new(0);
                // The first attempt hangs past its 20ms, the second answers.
                let result = Policy::fixed(S)
                    .attempts(3)
                    .jitter(Jitter::None)
                    .retry(move || async move {
                        if calls.fetch_add(1, Ordering::Relaxed) == 0 {
                            std::future::pending::<()>().await;
                        }
                        Ok::<_, Fail>("answer")
                    })
                    .timer::<$timer>()
                    .timeout(20 * MS)
                    .breaker(&OUTAGE)
                    .await;
                assert_eq!(result, Ok("answer"));
                assert_eq!(calls.load(Ordering::Relaxed), 2);
                assert_eq!(sleeps.take(), [S]);
                let took = started.elapsed();
                assert!((20 * MS..S).contains(&took), "one timeout took {took:?}");
                assert_eq!(OUTAGE.state(), BreakerState::Closed);
            });
        }

        #[test]
        fn a_hedge_is_sent_on_the_timer() {
            run(|| async {
                let started = Instant::now();
                let sent = &AtomicU32::new(0);
                // The original hangs; the hedge, sent 10ms later on the timer, answers.
                let result = Policy::new()
                    .attempts(3)
                    .retry(move || async move {
                        let n = sent.fetch_add(1, Ordering::Relaxed) + 1;
                        if n == 1 {
                            std::future::pending::<()>().await;
                        }
                        Ok::<_, Fail>(n)
                    })
                    .timer::<$timer>()
                    .hedge(10 * MS)
                    .await;
                assert_eq!(result, Ok(2));
                assert_eq!(sent.load(Ordering::Relaxed), 2);
                let took = started.elapsed();
                assert!((10 * MS..S).contains(&took), "one hedge delay took {took:?}");
            });
        }

        #[test]
        fn a_hedged_fn_sends_its_hedge_on_the_timer() {
            #[retry(timer = $timer, attempts = 3, hedge = "10ms", fallback = |_| Ok(0))]
            async fn hedged(sent: &AtomicU32) -> Result<u32, Fail> {
                let n = sent.fetch_add(1, Ordering::Relaxed) + 1;
                if n == 1 {
                    std::future::pending::<()>().await;
                }
                Ok(n)
            }
            run(|| async {
                let started = Instant::now();
                let sent = AtomicU32::new(0);
                assert_eq!(hedged(&sent).await, Ok(2));
                assert_eq!(sent.load(Ordering::Relaxed), 2);
                let took = started.elapsed();
                assert!((10 * MS..S).contains(&took), "one hedge delay took {took:?}");
            });
        }

        #[test]
        fn a_stream_is_retried_and_timed_on_the_timer() {
            run(|| async {
                use futures::StreamExt;

                let _instant = testing::instant_sleeps();
                let sleeps = testing::record_sleeps();
                let started = Instant::now();
                let opens = &AtomicU32::new(0);
                // The first open never sends a first item, the second stalls after one.
                let items: Vec<_> = Policy::fixed(S)
                    .attempts(3)
                    .jitter(Jitter::None)
                    .retry_stream(move || {
                        let first = opens.fetch_add(1, Ordering::Relaxed) == 0;
                        futures::stream::unfold(0, move |n| async move {
                            if first || n == 1 {
                                std::future::pending::<()>().await;
                            }
                            Some((Ok::<u32, Fail>(n), n + 1))
                        })
                    })
                    .first_item_timeout(20 * MS)
                    .idle_timeout(20 * MS)
                    .timer::<$timer>()
                    .collect()
                    .await;
                assert_eq!(items, [Ok(0), Err(Fail::TimedOut)]);
                assert_eq!(opens.load(Ordering::Relaxed), 2);
                assert_eq!(sleeps.take(), [S]);
                let took = started.elapsed();
                assert!((40 * MS..S).contains(&took), "two item timeouts took {took:?}");
            });
        }
    };
}

#[cfg(feature = "tokio")]
mod tokio {
    // What `#[tokio::test]` builds: a current-thread runtime, here with real time.
    suite!(Tokio, |future| ::tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
        .block_on(future));
}

#[cfg(feature = "smol")]
mod smol {
    // `smol::block_on` is this function: it drives async-io's reactor while it waits.
    suite!(Smol, async_io::block_on);
}

#[cfg(feature = "futures-timer")]
mod futures_timer {
    suite!(FuturesTimer, futures::executor::block_on);
}

#[cfg(feature = "embassy")]
mod embassy {
    // On embassy-time's std driver (a dev-dependency feature), at 1 MHz.
    suite!(Embassy, futures::executor::block_on);
}

/// `DefaultTimer` is the one timer whose feature is on; with tokio's and another, `TokioOr`
/// that other (the first of smol, futures-timer and embassy). Checked under whichever
/// features this binary was built with; tokio's is always among them, as this package's
/// dev-dependency on the runtime (for `redis`) turns it on. That a build without it has
/// no tokio at all is CI's `cargo tree` check.
#[cfg(any(feature = "tokio", feature = "smol", feature = "futures-timer", feature = "embassy"))]
#[test]
fn the_default_timer_follows_the_feature_rule() {
    let other = if cfg!(feature = "smol") {
        Some("Smol")
    } else if cfg!(feature = "futures-timer") {
        Some("FuturesTimer")
    } else if cfg!(feature = "embassy") {
        Some("Embassy")
    } else {
        None
    };
    let expected = match other {
        Some(other) => format!("TokioOr<{other}>"),
        None => "Tokio".to_owned(),
    };
    // Each path cut to its last segment: `a::TokioOr<b::Smol>` is `TokioOr<Smol>`.
    let full = type_name::<DefaultTimer>();
    let chosen: String =
        full.split_inclusive(['<', '>']).map(|part| part.rsplit("::").next().unwrap_or(part)).collect();
    assert_eq!(chosen, expected, "{full}");
}

/// With tokio and smol on, a retry that names no timer sleeps on tokio's inside a tokio
/// runtime (its paused clock included) and on async-io's outside one, instead of panicking
/// for want of a runtime.
#[cfg(all(feature = "tokio", feature = "smol"))]
mod default_timer_by_context {
    // Not a glob: the `tokio` module above would shadow the crate in `#[tokio::test]`.
    use super::{bounded, DefaultTimer, Fail, Instant, MS, S};
    use steadfast::timer::{Clock, Timer};
    use steadfast::{retry, testing};

    #[retry(attempts = 3, backoff = "fixed", min = "1h", max = "1h", jitter = "none")]
    async fn down() -> Result<(), Fail> {
        Err(Fail::Down)
    }

    #[retry(attempts = 3, backoff = "fixed", min = "3ms", jitter = "none")]
    async fn briefly_down() -> Result<(), Fail> {
        Err(Fail::Down)
    }

    #[tokio::test(start_paused = true)]
    async fn inside_tokio_on_its_paused_clock() {
        let (wall, clock) = (Instant::now(), DefaultTimer::now());
        assert_eq!(down().await, Err(Fail::Down));
        // Two hours on the paused clock, at once.
        assert_eq!(DefaultTimer::now().saturating_duration_since(clock), 2 * 3600 * S);
        assert!(wall.elapsed() < S);
    }

    #[test]
    fn outside_tokio_on_async_io() {
        bounded(async_io::block_on, || async {
            let sleeps = testing::record_sleeps();
            let wall = Instant::now();
            assert_eq!(briefly_down().await, Err(Fail::Down));
            assert_eq!(sleeps.take(), [3 * MS, 3 * MS]);
            assert!(wall.elapsed() >= 6 * MS);
            // The sleep type says which timer it was made on.
            let sleep = DefaultTimer::sleep(MS);
            assert_eq!(format!("{sleep:?}"), "TokioOrSleep(other)");
            sleep.await;
        });
    }
}
