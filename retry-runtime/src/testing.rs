//! Exact tests of retrying code: a fixed jitter seed, and the list of sleeps a call took.
//!
//! Both act on the current thread, which is where tokio's default test runtime
//! (`#[tokio::test]`, current-thread) runs everything. With
//! `#[tokio::test(start_paused = true)]` the sleeps take no wall time at all.
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
