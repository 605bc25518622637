//! Time: the [`Clock`] that deadlines and guards read, and the [`Timer`] that async retries
//! sleep on.
//!
//! One timer is chosen by the crate's features (see [`DefaultTimer`]); a function can name
//! another with `#[retry(timer = MyTimer)]`, the builder with
//! [`Retry::timer`](crate::builder::Retry::timer). A timer for an executor this crate does
//! not know (monoio, glommio, a browser) is one `impl`:
//!
//! ```
//! use std::future::Future;
//! use std::pin::Pin;
//! use std::time::Duration;
//! use steadfast::timer::{Clock, Instant, Timer};
//!
//! /// A timer that never waits, on a clock that never moves: for a model run on a virtual clock.
//! struct Frozen;
//!
//! impl Clock for Frozen {
//!     fn now() -> Instant {
//!         Instant::from_nanos(1)
//!     }
//! }
//!
//! impl Timer for Frozen {
//!     type Sleep = std::future::Ready<()>;
//!
//!     fn sleep(_: Duration) -> Self::Sleep {
//!         std::future::ready(())
//!     }
//! }
//! ```

use std::future::Future;
use std::num::NonZeroU64;
use std::ops::Add;
use std::pin::Pin;
use std::time::Duration;

#[cfg(feature = "tokio")]
mod tokio;
#[cfg(feature = "tokio")]
pub use self::tokio::Tokio;

mod std_clock;
pub use std_clock::StdClock;

/// A point in time on a [`Clock`]: nanoseconds from an origin of the clock's choosing.
///
/// Only instants of the same clock can be compared. Arithmetic saturates: no instant is
/// before the origin, none after about 584 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(NonZeroU64);

impl Instant {
    /// The instant `nanos` after the clock's origin (0 is taken as 1: the origin itself is
    /// never read, so that an `Option<Instant>` costs no more than an `Instant`).
    pub const fn from_nanos(nanos: u64) -> Self {
        match NonZeroU64::new(nanos) {
            Some(n) => Instant(n),
            None => Instant(NonZeroU64::MIN),
        }
    }

    /// Nanoseconds since the clock's origin.
    pub const fn as_nanos(self) -> u64 {
        self.0.get()
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.get().saturating_sub(earlier.0.get()))
    }

    /// `self + duration`, saturating at the end of the clock.
    pub const fn saturating_add(self, duration: Duration) -> Instant {
        let nanos = duration.as_nanos();
        let nanos = if nanos > u64::MAX as u128 { u64::MAX } else { nanos as u64 };
        Instant::from_nanos(self.0.get().saturating_add(nanos))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, duration: Duration) -> Instant {
        self.saturating_add(duration)
    }
}

/// A monotonic clock: what deadlines, breaker cooldowns and throttle schedules are measured
/// on.
pub trait Clock: 'static {
    /// Now. Never goes backwards.
    fn now() -> Instant;
}

/// A timer an async retry sleeps on, with its clock.
///
/// Implemented for [`Tokio`] (feature `tokio`), `Smol` (feature `smol`), `FuturesTimer`
/// (feature `futures-timer`) and `Embassy` (feature `embassy`); implement it for any other
/// executor and name it with `timer = …` or [`Retry::timer`](crate::builder::Retry::timer).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot time an async retry: it is not a `steadfast::timer::Timer`",
    label = "no timer to sleep on",
    note = "enable one of steadfast's features `tokio`, `smol`, `futures-timer` or `embassy`, or implement `steadfast::timer::Timer` for your executor's timer and name it with `timer = …`"
)]
pub trait Timer: Clock {
    /// A sleep in progress.
    type Sleep: Future<Output = ()>;

    /// A sleep that ends `duration` from now.
    fn sleep(duration: Duration) -> Self::Sleep;

    /// Restarts `sleep` to end `duration` from now; timers that can re-arm a sleep in place
    /// override this so that a retried call allocates its timer once.
    fn reset(mut sleep: Pin<&mut Self::Sleep>, duration: Duration) {
        sleep.set(Self::sleep(duration));
    }
}

/// The timer of an async retry that names none: the first of `smol`, `futures-timer` and
/// `embassy` whose feature is on, else [`Tokio`] (the default feature), else none.
///
/// A timer feature other than `tokio` takes precedence over it, so that enabling `smol`
/// without `default-features = false` never makes a retry sleep on tokio's timer outside a
/// tokio runtime (which would panic). With no timer feature an async retry is a compile
/// error that names the features; sync retries sleep on the thread.
#[cfg(feature = "tokio")]
pub type DefaultTimer = Tokio;

/// The timer of an async retry that names none: there is none without a timer feature.
#[cfg(not(feature = "tokio"))]
pub type DefaultTimer = NoTimer;

/// The clock guards read unless built on another: the [`DefaultTimer`]'s, or std's
/// monotonic clock when no timer feature is on.
#[cfg(feature = "tokio")]
pub type DefaultClock = Tokio;

/// The clock guards read unless built on another: std's monotonic clock, as no timer
/// feature is on.
#[cfg(not(feature = "tokio"))]
pub type DefaultClock = StdClock;

/// Stands in for a timer when no timer feature is enabled: async retries do not compile
/// (it implements [`Clock`] only), sync retries sleep on the thread.
#[derive(Debug, Clone, Copy)]
pub struct NoTimer;

impl Clock for NoTimer {
    fn now() -> Instant {
        StdClock::now()
    }
}
