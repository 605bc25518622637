//! The runtime of [`steadfast`](https://docs.rs/steadfast): policies, the retry engine,
//! classification, guards and events. Depend on `steadfast`, which re-exports everything
//! here together with the `#[retry]` attribute.
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
// The builder's and the engine's types carry their hooks and guards as type parameters.
#![allow(clippy::type_complexity)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(loom))))]

mod attempt;
mod backoff;
pub mod builder;
mod classify;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub mod config;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod distributed;
mod duration;
mod engine;
mod error;
mod expansion;
pub mod fallback;
pub mod guard;
pub mod hedge;
mod hooks;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
mod observe;
pub mod policy;
#[cfg(feature = "reqwest-middleware")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest-middleware")))]
pub mod reqwest_middleware;
mod rng;
pub mod stream;
pub mod testing;
pub mod timer;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use attempt::Attempt;
pub use classify::caused_by;
pub use error::{Elapsed, Error, Open};
pub use guard::{AdaptiveThrottle, AdaptiveThrottles, Breaker, BreakerState, Budget, Throttle};
pub use observe::{Log, Reason};
pub use policy::{Backoff, HintAboveMax, Jitter, Policy};
