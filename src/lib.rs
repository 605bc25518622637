//! `#[retry]`: one attribute turns a fallible function into a retry loop with backoff,
//! jitter, error classification and tracing.
//!
//! ```
//! use tenacious::retry;
//!
//! #[derive(Debug)]
//! struct RateLimited;
//! impl std::fmt::Display for RateLimited {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("429 Too Many Requests")
//!     }
//! }
//! impl std::error::Error for RateLimited {}
//!
//! #[retry(attempts = 5, backoff = "exp", min = "2s", max = "60s", on = RateLimited)]
//! async fn generate(prompt: &str) -> Result<String, RateLimited> {
//!     Ok(format!("echo: {prompt}"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert_eq!(generate("hi").await.unwrap(), "echo: hi");
//! # }
//! ```
//!
//! The attribute's keys, defaults and exact delay formulas are documented on [`retry`];
//! [`Policy`] gives every behaviour without the attribute.

#![forbid(unsafe_code)]

#[doc(inline)]
pub use retry_macros::retry;
pub use retry_runtime::*;
