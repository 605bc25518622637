//! The one source of jitter: the thread's RNG, or a seeded one installed by
//! [`testing::seed`](crate::testing::seed).

use std::cell::RefCell;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

thread_local! {
    static SEEDED: RefCell<Option<StdRng>> = const { RefCell::new(None) };
}

/// A uniform draw in `lo..=hi` (`lo <= hi`). Only called on the retry path, so the happy
/// path never touches an RNG.
pub(crate) fn draw(lo: u64, hi: u64) -> u64 {
    SEEDED.with(|seeded| match seeded.borrow_mut().as_mut() {
        Some(rng) => rng.random_range(lo..=hi),
        None => rand::rng().random_range(lo..=hi),
    })
}

/// Installs a seeded RNG on this thread; returns the one it replaced.
pub(crate) fn replace(seed: Option<u64>) -> Option<StdRng> {
    SEEDED.with(|seeded| seeded.replace(seed.map(StdRng::seed_from_u64)))
}

/// Puts back what [`replace`] returned.
pub(crate) fn restore(previous: Option<StdRng>) {
    SEEDED.with(|seeded| *seeded.borrow_mut() = previous);
}
