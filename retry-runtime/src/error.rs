//! Errors the retry loop itself produces, converted into the caller's error type.

use std::error::Error as StdError;
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

impl StdError for Elapsed {}

/// A circuit breaker is open: the call was not made. A function with `breaker = …` needs
/// `E: From<Open>` to report it (or `wrap`).
///
/// It says which breaker refused, so that one error type can tell downstreams apart, and
/// when that breaker lets a probe through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Open {
    breaker: &'static str,
    retry_in: Duration,
}

impl Open {
    pub(crate) const fn new(breaker: &'static str, retry_in: Duration) -> Self {
        Open { breaker, retry_in }
    }

    /// The name of the breaker that refused ([`Breaker::named`](crate::Breaker::named)), or
    /// `None` for an unnamed one.
    pub const fn breaker(&self) -> Option<&'static str> {
        if self.breaker.is_empty() {
            None
        } else {
            Some(self.breaker)
        }
    }

    /// How long after the refusal the breaker lets a probe through (zero once its cooldown
    /// has passed and it is waiting for a probe's verdict).
    pub const fn retry_in(&self) -> Duration {
        self.retry_in
    }
}

impl fmt::Display for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.breaker() {
            Some(name) => write!(f, "circuit breaker `{name}` is open"),
            None => f.write_str("circuit breaker is open"),
        }
    }
}

impl StdError for Open {}

/// The error of a call under `#[retry(wrap)]` (or [`Retry::wrap`](crate::builder::Retry::wrap)):
/// the operation's own error, or what the retry loop produced instead.
///
/// For error types you do not own (`reqwest::Error`, an SDK's error, `io::Error`), which
/// cannot be built from a timeout or a refusal: the body keeps returning its own error,
/// the hooks see it, and the caller gets it wrapped.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, Error};
///
/// #[retry(attempts = 2, min = "1s", timeout = "5s", wrap)]
/// async fn read_config() -> Result<String, Error<std::io::Error>> {
///     tokio::time::sleep(Duration::from_secs(60)).await; // hangs
///     std::fs::read_to_string("config.toml")
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// match read_config().await {
///     Err(Error::Elapsed(elapsed)) => assert_eq!(elapsed.limit(), Duration::from_secs(5)),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error<E> {
    /// The operation's own error: the last attempt's.
    Inner(E),
    /// The last attempt ran past its `timeout`.
    Elapsed(Elapsed),
    /// An open breaker turned the call away.
    Open(Open),
    /// A Redis-backed guard failing closed could not reach Redis.
    #[cfg(feature = "redis")]
    Unavailable(crate::distributed::Unavailable),
}

impl<E> Error<E> {
    /// The operation's own error, if that is what this is.
    pub fn inner(&self) -> Option<&E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// The operation's own error, if that is what this is.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the last attempt timed out.
    pub fn is_elapsed(&self) -> bool {
        matches!(self, Error::Elapsed(_))
    }

    /// Whether an open breaker turned the call away.
    pub fn is_open(&self) -> bool {
        matches!(self, Error::Open(_))
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Inner(e) => e.fmt(f),
            Error::Elapsed(e) => e.fmt(f),
            Error::Open(e) => e.fmt(f),
            #[cfg(feature = "redis")]
            Error::Unavailable(e) => e.fmt(f),
        }
    }
}

/// Transparent: the source of the operation's error is the wrapped error's own.
impl<E: StdError + 'static> StdError for Error<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Inner(e) => e.source(),
            _ => None,
        }
    }
}

#[diagnostic::do_not_recommend]
impl<X> crate::guard::Report<Elapsed> for Error<X> {
    fn report(elapsed: Elapsed) -> Self {
        Error::Elapsed(elapsed)
    }
}

#[diagnostic::do_not_recommend]
impl<X> crate::guard::Report<Open> for Error<X> {
    fn report(open: Open) -> Self {
        Error::Open(open)
    }
}
