//! The runtime of [`steadfast`](https://docs.rs/steadfast): policies, delay computation,
//! error classification, retry state and events. Depend on `steadfast`, which re-exports
//! everything here together with the `#[retry]` attribute.
//!
//! ```
//! use std::time::Duration;
//! use steadfast::Policy;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let policy = Policy::exponential(Duration::from_millis(100), Duration::from_secs(5)).attempts(4);
//! let answer: Result<u8, std::io::Error> = policy.retry(|| async { Ok(42) }).await;
//! assert_eq!(answer.unwrap(), 42);
//! # }
//! ```

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms, unreachable_pub)]
#![forbid(unsafe_code)]

mod attempt;
mod backoff;
mod classify;
mod clock;
#[cfg(feature = "redis")]
pub mod distributed;
mod error;
mod guard;
#[cfg(feature = "http")]
pub mod http;
mod observe;
mod policy;
mod retrier;
mod retry;
mod rng;
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use attempt::Attempt;
pub use backoff::{delay, undithered, Delays, Schedule};
pub use classify::{caused_by, ErrorChain};
pub use clock::Instant;
pub use error::{Elapsed, Open};
pub use guard::{AsGuard, Breaker, BreakerPermit, BreakerState, Budget, Throttle};
pub use observe::Log;
pub use policy::{Backoff, Jitter, Policy};
pub use retry::{Always, Hint, Never, NoHint, Notify, Predicate, Retry, RetryFuture, Silent};
