//! [`Attempt`]: what a `notify` hook is told before each sleep.

use std::fmt;
use std::time::Duration;

/// A failed attempt about to be retried, as passed to `notify`.
///
/// ```
/// fn report(a: &steadfast::Attempt<'_, std::io::Error>) {
///     if let Some(e) = a.error() {
///         eprintln!("attempt {} failed ({e}); retrying in {:?}", a.attempt(), a.delay());
///     }
/// }
/// ```
pub struct Attempt<'a, E> {
    attempt: u32,
    delay: Duration,
    error: Option<&'a E>,
    elapsed: Duration,
}

impl<'a, E> Attempt<'a, E> {
    #[doc(hidden)]
    pub fn new(attempt: u32, delay: Duration, error: Option<&'a E>, elapsed: Duration) -> Self {
        Attempt { attempt, delay, error, elapsed }
    }

    /// The 1-based number of the attempt that just failed.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The sleep about to start.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The error, or `None` when an `Ok` value rejected by `if_ok` is being retried.
    pub fn error(&self) -> Option<&'a E> {
        self.error
    }

    /// Time since the first attempt started.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
}

impl<E: fmt::Debug> fmt::Debug for Attempt<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("attempt", &self.attempt)
            .field("delay", &self.delay)
            .field("error", &self.error)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}
