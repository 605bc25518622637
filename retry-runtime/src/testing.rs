//! Exact tests of retrying code: a fixed jitter seed, the list of sleeps a call took, and
//! sleeps that return at once.
//!
//! All three act on the current thread, which is where tokio's default test runtime
//! (`#[tokio::test]`, current-thread) runs everything, tasks it spawns included. A call
//! polled on another thread (a task spawned on a multi-thread runtime, a thread of its own)
//! is not covered.
//!
//! Two ways to make a test of retrying code instant:
//!
//! - **The paused clock** (`#[tokio::test(start_paused = true)]`, tokio's `test-util`
//!   feature): every sleep, timeout and deadline is exact and takes no wall time. Use it for
//!   pure logic. It does not mix with a real server in the same test: while the test waits
//!   for the server's answer, the paused clock jumps ahead and every `timeout` fires.
//! - **[`instant_sleeps`]**: backoff and `retry_after` sleeps return at once, on any
//!   executor and any clock, while the per-attempt `timeout` keeps real time. Use it
//!   against a real (mock) server.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::{retry, testing};
//!
//! #[retry(attempts = 3, min = "1s", max = "10s", jitter = "none")]
//! async fn always_fails() -> Result<(), std::io::Error> {
//!     Err(std::io::Error::other("down"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let _seed = testing::seed(7);
//! let sleeps = testing::record_sleeps();
//! assert!(always_fails().await.is_err());
//! assert_eq!(sleeps.take(), [Duration::from_secs(1), Duration::from_secs(2)]);
//! # }
//! ```

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use rand::rngs::StdRng;

use crate::rng;

/// Fixes the jitter drawn on this thread until the guard is dropped.
///
/// The same seed gives the same delays, release after release of this crate's minor
/// version.
pub fn seed(seed: u64) -> SeedGuard {
    SeedGuard { previous: Some(rng::replace(Some(seed))), _not_send: Default::default() }
}

/// Restores the previous jitter source when dropped; returned by [`seed`].
#[must_use = "the seed is removed when the guard is dropped"]
pub struct SeedGuard {
    previous: Option<Option<StdRng>>,
    _not_send: std::marker::PhantomData<Rc<()>>,
}

impl fmt::Debug for SeedGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedGuard").finish_non_exhaustive()
    }
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            rng::restore(previous);
        }
    }
}

thread_local! {
    static RECORDERS: RefCell<Vec<Rc<RefCell<Vec<Duration>>>>> = const { RefCell::new(Vec::new()) };
}

/// Starts recording every retry sleep that begins on this thread, until the returned
/// [`Sleeps`] is dropped.
pub fn record_sleeps() -> Sleeps {
    let log = Rc::new(RefCell::new(Vec::new()));
    RECORDERS.with(|r| r.borrow_mut().push(Rc::clone(&log)));
    Sleeps { log }
}

/// The sleeps recorded since [`record_sleeps`]; see [`Sleeps::take`].
pub struct Sleeps {
    log: Rc<RefCell<Vec<Duration>>>,
}

impl Sleeps {
    /// The sleeps recorded so far, oldest first, emptying the record.
    pub fn take(&self) -> Vec<Duration> {
        std::mem::take(&mut self.log.borrow_mut())
    }

    /// The total of the sleeps recorded so far.
    pub fn total(&self) -> Duration {
        self.log.borrow().iter().sum()
    }
}

impl fmt::Debug for Sleeps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sleeps").field(&self.log.borrow()).finish()
    }
}

impl Drop for Sleeps {
    fn drop(&mut self) {
        let _ = RECORDERS.try_with(|r| r.borrow_mut().retain(|log| !Rc::ptr_eq(log, &self.log)));
    }
}

/// Called by every retry sleep before it starts.
pub(crate) fn sleeping(delay: Duration) {
    RECORDERS.with(|r| {
        for log in r.borrow().iter() {
            log.borrow_mut().push(delay);
        }
    });
}

thread_local! {
    static INSTANT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Makes every retry sleep that begins on this thread return at once, until the returned
/// guard is dropped; the sleeps are still recorded by [`record_sleeps`], with the exact
/// durations the policy chose.
///
/// Only backoff and `retry_after` sleeps are skipped. A per-attempt `timeout` keeps real
/// time, and a throttle's wait for a permit is not a retry sleep (neither skipped nor
/// recorded). A `deadline` counts the skipped sleeps as if they had been slept, so the
/// retries stop where they would in production.
///
/// ```
/// use std::time::{Duration, Instant};
/// use steadfast::{retry, testing};
///
/// #[retry(attempts = 4, min = "10s", max = "60s", jitter = "none")]
/// fn flaky() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// let _instant = testing::instant_sleeps();
/// let sleeps = testing::record_sleeps();
/// let started = Instant::now();
/// assert!(flaky().is_err());
/// assert_eq!(sleeps.take(), [10, 20, 40].map(Duration::from_secs));
/// assert!(started.elapsed() < Duration::from_secs(1));
/// ```
pub fn instant_sleeps() -> InstantSleeps {
    INSTANT.with(|n| n.set(n.get() + 1));
    InstantSleeps { _not_send: Default::default() }
}

/// Sleeps return at once on this thread while it lives; returned by [`instant_sleeps`].
#[must_use = "sleeps are instant only while the guard is held"]
pub struct InstantSleeps {
    _not_send: std::marker::PhantomData<Rc<()>>,
}

impl fmt::Debug for InstantSleeps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstantSleeps").finish_non_exhaustive()
    }
}

impl Drop for InstantSleeps {
    fn drop(&mut self) {
        let _ = INSTANT.try_with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// Whether retry sleeps on this thread return at once.
pub(crate) fn skips_sleeps() -> bool {
    INSTANT.try_with(|n| n.get() > 0).unwrap_or(false)
}
