//! The atomics of the breaker and the budget: std's, or loom's when the loom models run
//! (`RUSTFLAGS="--cfg loom"`, see `loom.rs`).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicI64, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A `const fn`, except under loom, whose atomics cannot be built in a constant.
macro_rules! const_fn {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$attr])* $vis fn $($rest)*
    };
}

pub(crate) use const_fn;
