//! Errors the retry loop itself produces, converted into the caller's error type.

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// An attempt ran past its `timeout`. A function with `timeout = "…"` needs
/// `E: From<Elapsed>` to report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed {
    limit: Duration,
}

impl Elapsed {
    pub(crate) const fn new(limit: Duration) -> Self {
        Elapsed { limit }
    }

    /// The limit the attempt ran past.
    pub const fn limit(&self) -> Duration {
        self.limit
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt timed out after {:?}", self.limit)
    }
}

impl Error for Elapsed {}

/// A circuit breaker is open: the call was not made. A function with `breaker = …` needs
/// `E: From<Open>` to report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Open;

impl fmt::Display for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("circuit breaker is open")
    }
}

impl Error for Open {}
