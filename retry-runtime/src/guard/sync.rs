//! The atomics of the breaker and the budget, the adaptive throttle's lock and hedging's
//! `Latencies` (atomic and lock): std's, or loom's when the loom models run
//! (`RUSTFLAGS="--cfg loom"`, see `loom.rs`). Only this crate's own tests see loom's: loom
//! is a dev-dependency, and the facade the tests depend on builds this crate as a library.

#[cfg(all(test, loom))]
pub(crate) use loom::sync::{
    atomic::{AtomicU64, Ordering},
    Mutex,
};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{
    atomic::{AtomicU64, Ordering},
    Mutex,
};

/// A `const fn`, except under loom, whose atomics cannot be built in a constant.
macro_rules! const_fn {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(all(test, loom)))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(all(test, loom))]
        $(#[$attr])* $vis fn $($rest)*
    };
}

pub(crate) use const_fn;
