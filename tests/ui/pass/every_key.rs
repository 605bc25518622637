//! Every key together, on an async fn.

use std::time::Duration;
use steadfast::retry;

// The hooks match on every variant; the fixture only compiles them.
#[allow(dead_code)]
#[derive(Debug)]
enum E {
    Busy,
    Denied,
    TimedOut,
}

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for E {}

impl From<steadfast::Elapsed> for E {
    fn from(_: steadfast::Elapsed) -> Self {
        E::TimedOut
    }
}

fn hint(e: &E) -> Option<Duration> {
    matches!(e, E::Busy).then_some(Duration::from_millis(5))
}

#[retry(
    attempts = 4,
    backoff = "linear",
    min = "1ms",
    base = "2ms",
    max = "1s",
    step = "3ms",
    jitter = "decorrelated",
    deadline = "10s",
    timeout = "2s",
    on = E,
    unless = std::fmt::Error,
    when = |e: &E| !matches!(e, E::Denied),
    if_ok = |v: &u32| *v == 0,
    retry_after = hint,
    log = "info",
    notify = |a: &steadfast::Attempt<'_, E>| println!("{}", a.attempt()),
)]
async fn everything(n: u32) -> Result<u32, E> {
    Ok(n)
}

pub fn main() {
    drop(everything(1));
}
