//! Retried functions of every shape, built with every warning denied and checked by
//! `cargo clippy --workspace --all-targets -- -D warnings` in CI: the code `#[retry]`
//! generates must add no finding to its user's crate. Compile-only: the behaviour is
//! tested elsewhere.

#![deny(warnings, rust_2018_idioms, unreachable_pub, missing_docs, unused_qualifications)]
#![deny(unused_parens, unused_braces, unused_mut, unused_variables, unused_imports, dead_code)]
#![deny(clippy::all)]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use steadfast::{retry, Breaker, Budget, Elapsed, Error, Open, Policy, Throttle};

/// An error of our own.
#[derive(Debug)]
pub enum E {
    /// The service is busy.
    Busy,
    /// An attempt timed out.
    TimedOut,
    /// A breaker is open.
    Open,
}

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for E {}

impl From<Elapsed> for E {
    fn from(_: Elapsed) -> Self {
        E::TimedOut
    }
}

impl From<Open> for E {
    fn from(_: Open) -> Self {
        E::Open
    }
}

/// One-line bodies: `unused_braces` must not fire (it did, and `cargo fix` then broke the
/// function).
pub mod one_line {
    use super::*;

    /// An error at once.
    #[retry(attempts = 2, min = "1ms")]
    pub async fn fails() -> Result<(), E> {
        Err(E::Busy)
    }

    /// A value at once.
    #[retry]
    pub async fn value() -> Result<u8, E> {
        Ok(1)
    }

    /// The same, blocking.
    #[retry(attempts = 2, backoff = "none")]
    pub fn blocking() -> Result<(), E> {
        Err(E::Busy)
    }

    /// A unit return type.
    #[retry(attempts = 2, min = "1ms")]
    pub async fn unit() -> Result<(), E> {
        Ok(())
    }
}

/// Inner attributes of the body stay on the function, and a `mut` owned argument raises no
/// `unused_mut` (moved here from the UI pass cases, where clippy never ran).
pub mod inner_attributes {
    use super::*;

    /// An inner `allow`, and a reassigned argument.
    #[retry(attempts = 3, min = "1ms", on = E, log = "debug")]
    pub async fn documented(mut n: u32) -> Result<u32, E> {
        #![allow(clippy::needless_return)]
        n += 1;
        return Ok(n);
    }
}

/// `?` and `return` end an attempt.
pub mod control_flow {
    use super::*;

    fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
        text.parse()
    }

    /// `?` through `From`.
    #[retry(attempts = 2, min = "1ms")]
    pub async fn question_mark(text: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
        let n = parse(text)?;
        Ok(n + 1)
    }

    /// An early `return`.
    #[retry(attempts = 2, min = "1ms")]
    pub async fn early(stop: bool) -> Result<u32, E> {
        if stop {
            return Ok(0);
        }
        Err(E::Busy)
    }

    /// Both, blocking.
    #[retry(attempts = 2, backoff = "none")]
    pub fn blocking(text: &str, stop: bool) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
        if stop {
            return Ok(0);
        }
        Ok(parse(text)?)
    }
}

/// Methods with every receiver.
pub mod methods {
    use super::*;

    /// A client that owns its guards and its policy.
    #[derive(Debug)]
    pub struct Client {
        calls: u32,
        breaker: Breaker,
        budget: Arc<Budget>,
        policy: Policy,
    }

    impl Client {
        /// A client.
        pub fn new() -> Self {
            Client {
                calls: 0,
                breaker: Breaker::new(5, Duration::from_secs(30)),
                budget: Arc::new(Budget::new(10, 0.1)),
                policy: Policy::exponential(Duration::from_millis(10), Duration::from_secs(1)).attempts(3),
            }
        }

        /// `&self`, guards from fields.
        #[retry(attempts = 3, min = "1ms", breaker = self.breaker, budget = self.budget)]
        pub async fn get(&self, id: u32) -> Result<u32, E> {
            Ok(id + self.calls)
        }

        /// `&mut self`.
        #[retry(attempts = 3, min = "1ms")]
        pub async fn count(&mut self) -> Result<u32, E> {
            self.calls += 1;
            Ok(self.calls)
        }

        /// A run-time policy.
        #[retry(policy = self.policy)]
        pub async fn configured(&self) -> Result<u32, E> {
            Ok(self.calls)
        }

        /// `&mut self`, blocking.
        #[retry(attempts = 3, backoff = "none")]
        pub fn count_blocking(&mut self) -> Result<u32, E> {
            self.calls += 1;
            Ok(self.calls)
        }
    }

    impl Default for Client {
        fn default() -> Self {
            Self::new()
        }
    }
}

/// Every key, on an async fn.
pub mod every_key {
    use super::*;

    static LIMIT: Throttle = Throttle::per_second(100);
    static BREAKER: LazyLock<Breaker> = LazyLock::new(|| Breaker::new(5, Duration::from_secs(30)).named("api"));
    static BUDGET: Budget = Budget::new(10, 0.1);

    fn hint(e: &E) -> Option<Duration> {
        matches!(e, E::Busy).then_some(Duration::from_millis(5))
    }

    /// All of them.
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
        when = |e| !matches!(e, E::Open),
        if_ok = |v| *v == 0,
        retry_after = hint,
        hint_above_max = "clamp",
        log = "info",
        notify = |a| assert!(a.attempt() > 0),
        throttle = LIMIT,
        breaker = BREAKER,
        budget = BUDGET,
        timer = steadfast::timer::Tokio,
        crate = "::steadfast",
    )]
    pub async fn everything(n: u32) -> Result<u32, E> {
        Ok(n)
    }

    /// Log off, exponential with a factor, full jitter.
    #[retry(attempts = 3, min = "1ms", max = "10ms", factor = 1.5, jitter = "full", log = "off")]
    pub async fn quiet(n: u32) -> Result<u32, E> {
        Ok(n)
    }

    /// Guards on a blocking fn.
    #[retry(attempts = 3, backoff = "fixed", min = "1ms", throttle = LIMIT, breaker = BREAKER, budget = BUDGET)]
    pub fn blocking(n: u32) -> Result<u32, E> {
        Ok(n)
    }
}

/// Adaptive throttles: a static weighted by the call's cost, a scope per key.
pub mod adaptive {
    use super::*;
    use steadfast::{AdaptiveThrottle, AdaptiveThrottles};

    static LIMITS: AdaptiveThrottle = AdaptiveThrottle::new();

    /// A static, weighted by the prompt's length.
    #[retry(attempts = 3, min = "1ms", on = E, throttle = LIMITS.cost(prompt.len() as u64 / 4 + 64))]
    pub async fn weighted(prompt: &str) -> Result<usize, E> {
        Ok(prompt.len())
    }

    /// A client with one throttle per (key, model).
    pub struct Client {
        /// The scopes.
        pub limits: AdaptiveThrottles<(String, String)>,
    }

    impl Client {
        /// The scope's throttle, weighted.
        #[retry(attempts = 3, min = "1ms", on = E, throttle = self.limits.cost(&(key.to_owned(), model.to_owned()), 100))]
        pub async fn scoped(&self, key: &str, model: &str) -> Result<usize, E> {
            Ok(key.len() + model.len())
        }
    }

    /// On a blocking fn.
    #[retry(attempts = 3, min = "1ms", on = E, throttle = LIMITS)]
    pub fn blocking(n: u32) -> Result<u32, E> {
        Ok(n)
    }
}

/// Error types the user does not own, under `wrap`.
pub mod wrapped {
    use super::*;

    /// A timeout and a breaker around `std::io::Error`.
    #[retry(attempts = 3, min = "1ms", timeout = "1s", breaker = methods_breaker(), unless = Elapsed, wrap)]
    pub async fn read() -> Result<String, Error<std::io::Error>> {
        std::fs::read_to_string("/nonexistent")
    }

    /// Blocking.
    #[retry(attempts = 2, backoff = "none", wrap)]
    pub fn read_blocking() -> Result<String, Error<std::io::Error>> {
        std::fs::read_to_string("/nonexistent")
    }
}

/// A breaker built at run time, borrowed by `wrapped::read`.
pub fn methods_breaker() -> &'static Breaker {
    static BREAKER: LazyLock<Breaker> = LazyLock::new(|| Breaker::new(3, Duration::from_secs(10)));
    &BREAKER
}

/// Owned, destructured and `impl Trait` arguments, and generics.
pub mod arguments {
    use super::*;

    /// Owned arguments are cloned for each attempt.
    #[retry(attempts = 2, min = "1ms")]
    pub async fn owned(prompt: String, (a, b): (u32, u32), label: impl std::fmt::Display + Clone) -> Result<String, E> {
        Ok(format!("{prompt}{a}{b}{label}"))
    }

    /// A generic function.
    #[retry(attempts = 2, min = "1ms")]
    pub async fn generic<T: Clone + Send>(value: T) -> Result<T, E> {
        Ok(value)
    }
}

/// Retried streams: the body is the `make` closure of a `RetryStream`.
pub mod streams {
    use super::*;
    use futures::stream;
    use steadfast::stream::Stream;

    /// A one-line body, every stream key, and a borrowed argument.
    #[retry(
        attempts = 3,
        min = "1ms",
        on = E,
        when = |e| matches!(e, E::Busy),
        first_item_timeout = "1s",
        idle_timeout = "1s",
        resume = |last| stream::iter([Ok(last + 1)]),
        // The stream outlives the fn: its guards are places or `'static` ones.
        breaker = *methods_breaker(),
    )]
    pub fn numbers(from: &u32) -> impl Stream<Item = Result<u32, E>> + '_ {
        stream::iter([Ok(*from)])
    }

    /// Owned arguments and a run-time policy.
    #[retry(policy = Policy::new().attempts(2), log = "off")]
    pub fn owned(prompt: String) -> impl Stream<Item = Result<String, E>> + Send {
        stream::iter([Ok(prompt)])
    }
}

/// Hedged fns and fallbacks.
pub mod hedged {
    use super::*;

    static BUDGET: Budget = Budget::new(10, 0.1);
    static BREAKER: LazyLock<Breaker> = LazyLock::new(|| Breaker::new(5, Duration::from_secs(30)));

    fn cached(_: E) -> Result<String, E> {
        Ok(String::new())
    }

    /// A one-line body, owned and borrowed arguments, a fixed delay.
    #[retry(attempts = 3, hedge = "300ms")]
    pub async fn fixed(prompt: String, model: &str) -> Result<String, E> {
        Ok(format!("{model}{prompt}"))
    }

    /// A learned delay, every key a hedged fn takes, and a fallback by path.
    #[retry(
        attempts = 3,
        hedge = "p99.9",
        deadline = "10s",
        timeout = "2s",
        on = E,
        when = |e| !matches!(e, E::Open),
        if_ok = |v| v.is_empty(),
        retry_after = |_| Some(Duration::from_millis(1)),
        log = "info",
        notify = |a| assert!(a.attempt() > 0),
        breaker = BREAKER,
        budget = BUDGET,
        fallback = cached,
    )]
    pub async fn learned(prompt: String) -> Result<String, E> {
        Ok(prompt)
    }

    /// A method through `&self`, under `wrap`, with an async fallback.
    #[derive(Debug, Default)]
    pub struct Client {
        calls: u32,
    }

    impl Client {
        /// Hedged through `&self`.
        #[retry(attempts = 2, hedge = "50ms", timeout = "1s", wrap, fallback = |e| async move { Err(e) })]
        pub async fn read(&self) -> Result<u32, Error<std::io::Error>> {
            Ok(self.calls)
        }

        /// A fallback on a `&mut self` fn that is retried, not hedged, and a sync closure.
        #[retry(attempts = 3, min = "1ms", fallback = |_| Ok(0))]
        pub async fn count(&mut self) -> Result<u32, E> {
            self.calls += 1;
            Ok(self.calls)
        }

        /// A blocking fallback.
        #[retry(attempts = 3, backoff = "none", fallback = |_| Ok(0))]
        pub fn count_blocking(&mut self) -> Result<u32, E> {
            self.calls += 1;
            Ok(self.calls)
        }
    }
}
