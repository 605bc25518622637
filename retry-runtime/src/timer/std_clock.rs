//! std's monotonic clock: the clock of sync retries and guards when no timer feature is on,
//! and the one async-io and futures-timer measure their sleeps on.

use std::sync::OnceLock;
use std::time::Duration;

use super::{Clock, Instant};

/// `std::time::Instant`, from an origin a day before the first reading (so that readings
/// taken on other threads just before it stay after the origin).
///
/// Read through web-time, which is std's `Instant` on every target but
/// wasm32-unknown-unknown: there std's clock panics, and web-time reads the browser's
/// `performance.now()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdClock;

impl Clock for StdClock {
    fn now() -> Instant {
        let now = web_time::Instant::now();
        Instant::from_nanos(nanos(now.saturating_duration_since(origin(now))))
    }
}

/// The origin, fixed by the first reading (of this clock or tokio's, which share it).
pub(super) fn origin(now: web_time::Instant) -> web_time::Instant {
    static ORIGIN: OnceLock<web_time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(|| now.checked_sub(SLACK).unwrap_or(now))
}

/// How far before the first reading the origin lies, where the platform allows it.
const SLACK: Duration = Duration::from_secs(24 * 60 * 60);

pub(super) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
