//! Time: the [`Clock`] that deadlines and guards read, and the [`Timer`] that async retries
//! sleep on.
//!
//! | executor | feature | timer |
//! |---|---|---|
//! | tokio | `tokio` (default) | `Tokio`: `tokio::time`, paused test clocks included |
//! | smol, async-std, anything on async-io | `smol` | `Smol`: async-io's `Timer` |
//! | `futures::executor`, any other (a timer thread; browsers through futures-timer's `wasm-bindgen`) | `futures-timer` | `FuturesTimer`: futures-timer's `Delay` |
//! | embassy | `embassy` | `Embassy`: embassy-time, on the binary's driver |
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

#[cfg(feature = "embassy")]
mod embassy;
#[cfg(feature = "futures-timer")]
mod futures_timer;
#[cfg(feature = "smol")]
mod smol;
mod std_clock;
#[cfg(feature = "tokio")]
mod tokio;
#[cfg(all(feature = "tokio", any(feature = "smol", feature = "futures-timer", feature = "embassy")))]
mod tokio_or;

#[cfg(feature = "embassy")]
#[cfg_attr(docsrs, doc(cfg(feature = "embassy")))]
pub use self::embassy::Embassy;
#[cfg(feature = "futures-timer")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures-timer")))]
pub use self::futures_timer::FuturesTimer;
#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
pub use self::smol::{Smol, SmolSleep};
pub use self::std_clock::StdClock;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use self::tokio::Tokio;
#[cfg(all(feature = "tokio", any(feature = "smol", feature = "futures-timer", feature = "embassy")))]
#[cfg_attr(
    docsrs,
    doc(cfg(all(feature = "tokio", any(feature = "smol", feature = "futures-timer", feature = "embassy"))))
)]
pub use self::tokio_or::{TokioOr, TokioOrSleep};

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

/// Declares the default timer and clock, so that their docs are written once whichever
/// features pick them.
macro_rules! defaults {
    ($timer:ty, $clock:ty) => {
        /// The timer of an async retry that names none. With one timer feature on, its
        /// timer: `Tokio` (`tokio`, the default), `Smol` (`smol`), `FuturesTimer`
        /// (`futures-timer`) or `Embassy` (`embassy`). With `tokio` and another on,
        /// `TokioOr` that other: tokio's timer inside a tokio runtime, the other's outside
        /// one, so that neither a feature turned on elsewhere in the dependency graph nor a
        /// forgotten `default-features = false` makes a retry panic outside tokio or ignore
        /// tokio's paused test clock. Among the others, the first of `smol`,
        /// `futures-timer` and `embassy` wins.
        ///
        /// With no timer feature it is [`NoTimer`]: an async retry is a compile error that
        /// names the features; sync retries sleep on the thread. A function names another
        /// timer with `timer = …`, the builder with
        /// [`Retry::timer`](crate::builder::Retry::timer).
        pub type DefaultTimer = $timer;

        /// The clock guards read unless built on another: the [`DefaultTimer`]'s, or
        /// [`StdClock`] when no timer feature is on.
        pub type DefaultClock = $clock;
    };
}

// The rule above, spelt out: tokio with another, another alone, tokio alone, none.
#[cfg(all(feature = "tokio", feature = "smol"))]
defaults!(TokioOr<Smol>, TokioOr<Smol>);
#[cfg(all(feature = "tokio", feature = "futures-timer", not(feature = "smol")))]
defaults!(TokioOr<FuturesTimer>, TokioOr<FuturesTimer>);
#[cfg(all(feature = "tokio", feature = "embassy", not(any(feature = "smol", feature = "futures-timer"))))]
defaults!(TokioOr<Embassy>, TokioOr<Embassy>);
#[cfg(all(not(feature = "tokio"), feature = "smol"))]
defaults!(Smol, Smol);
#[cfg(all(not(feature = "tokio"), feature = "futures-timer", not(feature = "smol")))]
defaults!(FuturesTimer, FuturesTimer);
#[cfg(all(not(feature = "tokio"), feature = "embassy", not(any(feature = "smol", feature = "futures-timer"))))]
defaults!(Embassy, Embassy);
#[cfg(all(feature = "tokio", not(any(feature = "smol", feature = "futures-timer", feature = "embassy"))))]
defaults!(Tokio, Tokio);
#[cfg(not(any(feature = "tokio", feature = "smol", feature = "futures-timer", feature = "embassy")))]
defaults!(NoTimer, StdClock);

/// Stands in for a timer when no timer feature is enabled: async retries do not compile
/// (it implements [`Clock`] only), sync retries sleep on the thread.
#[derive(Debug, Clone, Copy)]
pub struct NoTimer;

impl Clock for NoTimer {
    fn now() -> Instant {
        StdClock::now()
    }
}
