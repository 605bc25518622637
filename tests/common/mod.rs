//! Helpers shared by the integration tests.

use std::cell::Cell;

thread_local! {
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// Counts a call on this thread (tokio's test runtime runs the test on one); returns the
/// count so far.
pub fn call() -> u32 {
    CALLS.with(|c| {
        c.set(c.get() + 1);
        c.get()
    })
}

/// The calls counted since the last reading; resets the count.
pub fn calls() -> u32 {
    CALLS.with(|c| c.replace(0))
}
