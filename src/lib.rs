//! `#[retry]`: one attribute turns a fallible function into a retry loop with backoff,
//! jitter, error classification, per-attempt timeouts and tracing.
//!
//! ```
//! use steadfast::retry;
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
//! [`Policy`] gives every behaviour without the attribute, and [`testing`] makes tests of
//! retrying code exact.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(loom))))]

/// Turns a fallible function into a retry loop.
///
/// Each attempt runs the function's body afresh: `?` and `return` end the attempt, not the
/// loop. The caller gets the body's own `Result`: the first `Ok`, or the last `Err` exactly
/// as the body produced it (tenacity's `reraise=True`). Panics are not caught.
///
/// ```
/// # use steadfast::retry;
/// # #[derive(Debug)] struct ApiError;
/// #[retry(attempts = 5, min = "2s", max = "60s")]
/// async fn generate(prompt: &str) -> Result<String, ApiError> {
///     Ok(prompt.to_uppercase())
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() { generate("x").await.unwrap(); }
/// ```
///
/// # Arguments
///
/// All keys are optional, in any order, each at most once. Durations are string literals
/// parsed at compile time: `"250ms"`, `"2s"`, `"1.5s"`, `"1m30s"`, `"1h"`, `"500us"`.
///
/// | key | value | default | meaning |
/// |---|---|---|---|
/// | `attempts` | integer ≥ 1 | 3 | total calls including the first |
/// | `backoff` | `"exp"`, `"fixed"`, `"linear"`, `"fibonacci"`, `"none"` | `"exp"` | shape of the delays |
/// | `min` | duration | 500ms, lowered to `max`; 0 when `base` is given | floor of every delay |
/// | `base` | duration | `min` | the un-jittered first delay (tenacity's `multiplier`) |
/// | `max` | duration | 30s | ceiling of every delay |
/// | `factor` | number > 1 | 2 | growth of `"exp"` |
/// | `step` | duration | `base` | increment of `"linear"` |
/// | `jitter` | `"full"`, `"equal"`, `"decorrelated"`, `"none"` | `"full"` | randomisation, always within `[min, max]` |
/// | `deadline` | duration | none | total budget: no sleep that would end at or past it starts |
/// | `timeout` | duration | none | per-attempt limit (async only); the error is `E::from(`[`Elapsed`]`)` |
/// | `first_item_timeout` | duration | none | a stream fn: an attempt with no first item after this is retried |
/// | `idle_timeout` | duration | none | a stream fn: a gap between items after the first ends (or resumes) it |
/// | `resume` | path or closure `FnMut(&T) -> impl Stream` | none | a stream fn: continue after the last item instead of failing |
/// | `hedge` | duration, or a percentile `"p95"`, `"p99.9"` | none | an async fn: send another copy each time this passes with no answer, up to `attempts`; the first `Ok` wins |
/// | `fallback` | path or closure `FnOnce(E) -> Result<T, E>` (or a future of it) | none | the call's result once the retries or hedges are spent, the deadline passed or a guard refused |
/// | `policy` | expression of type [`Policy`] or `&Policy` | none | the policy at run time, instead of the keys above |
/// | `on` | type, or `A \| B` | every error | retry errors that are, or have in their `source()` chain, one of these |
/// | `unless` | type, or `A \| B` | none | never retry these, timeouts included (checked before `on`) |
/// | `when` | path or closure `FnMut(&E) -> bool` | none | retry only when true (ANDed with `on`; asked about timeouts too) |
/// | `if_ok` | path or closure `FnMut(&T) -> bool` | none | retry an `Ok` value when true |
/// | `retry_after` | path or closure `FnMut(&E) -> Option<Duration>` | none | a server's hint for the next sleep |
/// | `hint_above_max` | `"give_up"`, `"clamp"`, `"ignore"` | `"give_up"` | what a hint longer than `max` does: end the retries, sleep `max`, or back off as if no hint came |
/// | `log` | `"error"`, `"warn"`, `"info"`, `"debug"`, `"trace"`, `"off"` | `"warn"` | level of the retry events |
/// | `fields` | `(name = value, …)`, `%` for Display, `?` for Debug | none | fields added to the events |
/// | `notify` | path or closure `FnMut(&steadfast::Attempt<'_, E>)` | none | called before each sleep |
/// | `throttle` | expression naming a [`Throttle`] (a static, a field, a `LazyLock`, an `Arc`) | none | every attempt waits for a permit |
/// | `breaker` | expression naming a [`Breaker`] | none | an open breaker fails the call with `E::from(`[`Open`]`)` |
/// | `budget` | expression naming a [`Budget`] | none | retries stop while the shared retry budget is spent |
/// | `timer` | path to a [`timer::Timer`] | the crate's [`timer::DefaultTimer`] | what an async fn sleeps on and times with |
/// | `wrap` | (no value) | off | return `Result<T, `[`Error`]`<E>>`, for an error type that cannot report a timeout or a refusal |
/// | `crate` | string path | `"::steadfast"` | where generated code finds this crate |
///
/// ## `attempts`, `backoff`, `min`, `base`, `max`, `factor`, `step`
///
/// For the n-th retry (n = 1 before the second attempt) the un-jittered delay `d(n)` is
/// clamped to `[min, max]`: `exp` is `base * factor^(n-1)`, `fixed` is `base`, `linear` is
/// `base + (n-1) * step`, `fibonacci` is `base * F(n)` with F = 1, 1, 2, 3, 5 …, and `none`
/// never sleeps. Without `base`, `min` is also the first delay.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, testing};
///
/// #[retry(attempts = 5, base = "1s", min = "2s", max = "60s", jitter = "none")]
/// async fn like_tenacity() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// #[retry(attempts = 4, backoff = "linear", min = "1s", step = "500ms", jitter = "none")]
/// async fn linear() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let sleeps = testing::record_sleeps();
/// let _ = like_tenacity().await; // tenacity's wait_exponential(multiplier=1, min=2, max=60)
/// assert_eq!(sleeps.take(), [2, 2, 4, 8].map(Duration::from_secs));
/// let _ = linear().await;
/// assert_eq!(sleeps.take(), [1000, 1500, 2000].map(Duration::from_millis));
/// # }
/// ```
///
/// ## `jitter`
///
/// `full` draws from `[min, min(max, 2 * d(n))]`; `equal` is `d(n)/2 + uniform[0, d(n)/2]`
/// raised to `min` (so with the default `base = min` the first retry waits exactly `min`);
/// `decorrelated` is `min(max, uniform[base, 3 * previous])` raised to `min`; `none` is
/// `d(n)`. [`testing::seed`] fixes the draws of the current thread.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, testing};
///
/// #[retry(attempts = 3, min = "1s", max = "10s")]
/// async fn spread() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let _seed = testing::seed(42);
/// let sleeps = testing::record_sleeps();
/// let _ = spread().await;
/// let taken = sleeps.take();
/// assert!(Duration::from_secs(1) <= taken[0] && taken[0] <= Duration::from_secs(2));
/// assert!(Duration::from_secs(1) <= taken[1] && taken[1] <= Duration::from_secs(4));
/// # }
/// ```
///
/// ## `on`, `unless`, `when`
///
/// `on` matches the error and its whole `source()` chain, for any `E: Error + 'static`,
/// `Box<dyn Error + Send + Sync>` and `anyhow::Error`. Anything not retried returns after
/// that one attempt.
///
/// ```
/// use steadfast::retry;
///
/// #[derive(Debug)]
/// enum ApiError { RateLimited, Overloaded, Unauthorized }
/// impl std::fmt::Display for ApiError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") }
/// }
/// impl std::error::Error for ApiError {}
///
/// fn transient(e: &anyhow::Error) -> bool {
///     !matches!(e.downcast_ref(), Some(ApiError::Unauthorized))
/// }
///
/// #[retry(attempts = 3, min = "1s", on = ApiError, unless = std::fmt::Error, when = transient)]
/// async fn call(fail_with: fn() -> ApiError) -> Result<(), anyhow::Error> {
///     Err(anyhow::Error::new(fail_with()).context("calling the model"))
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let sleeps = steadfast::testing::record_sleeps();
/// assert!(call(|| ApiError::RateLimited).await.is_err());
/// assert_eq!(sleeps.take().len(), 2);
/// assert!(call(|| ApiError::Unauthorized).await.is_err());
/// assert_eq!(sleeps.take().len(), 0);
/// # }
/// ```
///
/// ## `if_ok`
///
/// Retries an `Ok` value the predicate rejects; the last one is returned as is.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use steadfast::retry;
///
/// static POLLS: AtomicU32 = AtomicU32::new(0);
///
/// #[retry(attempts = 5, min = "1s", if_ok = |status: &&str| *status == "pending")]
/// async fn job_status() -> Result<&'static str, std::io::Error> {
///     Ok(if POLLS.fetch_add(1, Ordering::SeqCst) < 2 { "pending" } else { "done" })
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// assert_eq!(job_status().await.unwrap(), "done");
/// assert_eq!(POLLS.load(Ordering::SeqCst), 3);
/// # }
/// ```
///
/// ## `timeout`, `deadline`
///
/// `timeout` limits each attempt (async fns only). A timed-out attempt is judged like an
/// error by `unless` and `when` (not by `on`, which names the body's error types): it is
/// retried unless one of them says no, and if it is the last the caller gets
/// `E::from(`[`Elapsed`]`)`. `deadline` bounds the whole call: no sleep that would end at
/// or past it starts, and each attempt's timeout is cut to what is left of it.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, Elapsed};
/// use tokio::time::Instant;
///
/// #[derive(Debug, PartialEq)]
/// enum ApiError { TimedOut }
/// impl From<Elapsed> for ApiError {
///     fn from(_: Elapsed) -> Self { ApiError::TimedOut }
/// }
///
/// #[retry(attempts = 10, min = "1s", jitter = "none", timeout = "3s", deadline = "5s")]
/// async fn hangs() -> Result<(), ApiError> {
///     tokio::time::sleep(Duration::from_secs(3600)).await;
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = Instant::now();
/// assert_eq!(hangs().await, Err(ApiError::TimedOut));
/// assert_eq!(start.elapsed(), Duration::from_secs(5)); // 3s, a 1s sleep, then the 1s left
/// # }
/// ```
///
/// ## `wrap`
///
/// An error type you do not own (`reqwest::Error`, `std::io::Error`, an SDK's error) has
/// no `From<Elapsed>` or `From<Open>`. With `wrap` the body keeps returning its own
/// `Result<T, E>`, the hooks see `E`, and the function returns `Result<T, `[`Error`]`<E>>`:
/// [`Error::Inner`] for the body's error, [`Error::Elapsed`] and [`Error::Open`] for the
/// crate's. `unless = steadfast::Elapsed` keeps timeouts from being retried.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, Error};
///
/// #[retry(attempts = 2, min = "1s", timeout = "5s", wrap)]
/// async fn fetch() -> Result<String, Error<std::io::Error>> {
///     tokio::time::sleep(Duration::from_secs(60)).await; // hangs
///     Err(std::io::Error::other("unreachable"))
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// assert!(fetch().await.unwrap_err().is_elapsed());
/// # }
/// ```
///
/// ## `policy`
///
/// Any expression of type [`Policy`] (a field, a config value, a function call) replaces
/// the literal keys `attempts` … `timeout`, so one function serves every configuration.
/// It is evaluated once per call; a temporary lives for the whole call. As a run-time
/// policy may carry a timeout, the error type must hold an [`Elapsed`] (or use `wrap`).
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, testing, Elapsed, Policy};
///
/// #[derive(Debug)]
/// enum ApiError { Down, TimedOut }
/// impl From<Elapsed> for ApiError {
///     fn from(_: Elapsed) -> Self { ApiError::TimedOut }
/// }
///
/// struct Client { policy: Policy }
///
/// impl Client {
///     #[retry(policy = self.policy)]
///     async fn call(&self) -> Result<(), ApiError> {
///         Err(ApiError::Down)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let sleeps = testing::record_sleeps();
/// let client = Client { policy: Policy::fixed(Duration::from_secs(2)).attempts(3) };
/// let _ = client.call().await;
/// assert_eq!(sleeps.take(), [Duration::from_secs(2); 2]);
/// # }
/// ```
///
/// ## `retry_after`
///
/// A server's hint (HTTP `Retry-After`) sets the next sleep exactly: it is not jittered and
/// never adds attempts; a hint above `max`, or one that would pass the deadline, ends the
/// retries at once with that error. `hint_above_max = "clamp"` sleeps `max` instead, and
/// `hint_above_max = "ignore"` the policy's own delay.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, testing};
///
/// #[derive(Debug)]
/// struct TooManyRequests { retry_after: Duration }
///
/// #[retry(attempts = 3, min = "1s", max = "60s", retry_after = |e: &TooManyRequests| Some(e.retry_after))]
/// async fn call() -> Result<(), TooManyRequests> {
///     Err(TooManyRequests { retry_after: Duration::from_millis(2500) })
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let sleeps = testing::record_sleeps();
/// let _ = call().await;
/// assert_eq!(sleeps.take(), [Duration::from_millis(2500); 2]);
/// # }
/// ```
///
/// ## `log`, `fields`, `notify`
///
/// Before each sleep a `tracing` event at `log` level (target: the function's module;
/// fields `fn`, `attempt`, `max_attempts`, `delay_ms`, `reason`, `error`), and one on
/// giving up. Argument values are never recorded unless `fields` names them:
/// `fields(model = %self.model, id)` adds `model` by `Display` and `id` by `Value`
/// (`?` for `Debug`). `notify` is called before each sleep, never after the last
/// attempt, whatever `log` says.
///
/// ```
/// use std::sync::Mutex;
/// use steadfast::{retry, Attempt};
///
/// static SEEN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
///
/// fn record(a: &Attempt<'_, std::io::Error>) {
///     SEEN.lock().unwrap().push(a.attempt());
/// }
///
/// #[retry(attempts = 3, min = "1s", log = "off", notify = record)]
/// async fn call() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let _ = call().await;
/// assert_eq!(*SEEN.lock().unwrap(), [1, 2]);
/// # }
/// ```
///
/// ## `throttle`, `breaker`, `budget`
///
/// Guards shared by every call that names the same one: a `static`, a field of a client
/// (`breaker = self.breaker`), an `Arc`, or a Redis-backed guard shared by a fleet. The
/// throttle spaces every attempt, retries included (GCRA); the breaker opens after
/// `failures` consecutive failures (timeouts included, a server's paced 429 not) and fails
/// calls at once with `E::from(`[`Open`]`)` until its cooldown has passed; the budget
/// (gRPC's retry throttling) lets retries start only while enough recent attempts
/// succeeded, so an outage is not multiplied by `attempts`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::{retry, Breaker, Budget, Open, Throttle};
/// use tokio::time::Instant;
///
/// static API_LIMIT: Throttle = Throttle::per_second(10);
/// static API_BREAKER: Breaker = Breaker::new(5, Duration::from_secs(30));
/// static RETRY_BUDGET: Budget = Budget::new(10, 0.1);
///
/// #[derive(Debug, PartialEq)]
/// enum ApiError { Unavailable, CircuitOpen }
/// impl From<Open> for ApiError {
///     fn from(_: Open) -> Self { ApiError::CircuitOpen }
/// }
///
/// #[retry(attempts = 3, min = "10ms", throttle = API_LIMIT, breaker = API_BREAKER, budget = RETRY_BUDGET)]
/// async fn call(up: bool) -> Result<(), ApiError> {
///     if up { Ok(()) } else { Err(ApiError::Unavailable) }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = Instant::now();
/// for _ in 0..10 {
///     call(true).await.unwrap();
/// }
/// assert_eq!(start.elapsed(), Duration::from_millis(900)); // ten permits, 100ms apart
///
/// // Five failed attempts open the breaker; the next call fails at once.
/// assert_eq!(call(false).await, Err(ApiError::Unavailable));
/// assert_eq!(call(false).await, Err(ApiError::Unavailable));
/// assert_eq!(call(true).await, Err(ApiError::CircuitOpen));
/// # }
/// ```
///
/// ## Streams: `first_item_timeout`, `idle_timeout`, `resume`
///
/// A non-async `fn` returning `impl Stream<Item = Result<T, E>>` (any path ending in
/// `Stream`, any `+ 'a`/`+ Send`) is retried as a stream: its body makes one attempt's
/// stream, and is called afresh for each. Errors before the first `Ok` item are retried
/// and never seen; after it the call is committed and never made again; with `resume`, a
/// retryable error after the commit continues from the last item instead. The rules are in
/// [`stream`]; the body is a `move` closure, so the stream borrows every argument it names.
///
/// ```
/// # use std::cell::Cell;
/// use futures::{stream, StreamExt};
/// use steadfast::{retry, stream::Stream};
/// # #[derive(Debug, PartialEq)] struct Busy;
/// # impl From<steadfast::Elapsed> for Busy { fn from(_: steadfast::Elapsed) -> Self { Busy } }
///
/// #[retry(attempts = 3, backoff = "none", first_item_timeout = "10s", resume = |last| stream::iter([Ok(last + 1)]))]
/// fn count<'a>(opens: &'a Cell<u32>) -> impl Stream<Item = Result<u32, Busy>> + 'a {
///     opens.set(opens.get() + 1);
///     // The first open fails before any item; the second fails after one.
///     stream::iter(if opens.get() == 1 { vec![Err(Busy)] } else { vec![Ok(1), Err(Busy)] })
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let opens = Cell::new(0);
/// let items: Vec<_> = count(&opens).collect().await;
/// assert_eq!(items, [Ok(1), Ok(2)]); // retried once, resumed once
/// assert_eq!(opens.get(), 2);
/// # }
/// ```
///
/// `timeout` is an error on a stream fn (use these two), and so are `if_ok`, `wrap`,
/// `fields` and a `&mut` argument; these three keys are errors on any other fn.
///
/// ## Hedging and fallback: `hedge`, `fallback`
///
/// With `hedge`, an `async fn` is not retried after a sleep: its original call goes at
/// once, and another copy each time the delay passes with no answer, up to `attempts`
/// copies; the first `Ok` wins and the other copies are dropped at once. A retryable error
/// sends the next copy at once; an error that is not retried ends the call. Owned arguments
/// are cloned for each copy; a `&mut` argument (or `&mut self`) is an error, since the
/// copies run at the same time. `hedge = "p95"` learns the delay as that percentile of the
/// fn's recent latencies, and sends no hedge during its warm-up (20 calls for p95, 100 for
/// p99). The rules, the guards and the budget are in [`hedge`]; the backoff keys are errors
/// beside `hedge`.
///
/// `fallback` gets the last error once the retries or hedges are spent, the deadline ended
/// them or a guard refused the call, and its result (or the result of the future it returns)
/// is the call's; a success and an error the fn does not retry are returned as they are.
///
/// ```
/// # use std::time::Duration;
/// use steadfast::retry;
/// # #[derive(Debug, PartialEq)] struct Slow;
/// # impl From<steadfast::Elapsed> for Slow { fn from(_: steadfast::Elapsed) -> Self { Slow } }
///
/// // The original hangs; the copy sent 300ms later answers in 10ms.
/// #[retry(attempts = 3, hedge = "300ms", fallback = |_| Ok("cached"))]
/// async fn lookup(replica: std::sync::Arc<std::sync::atomic::AtomicU32>) -> Result<&'static str, Slow> {
///     let n = replica.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     let delay = if n == 0 { Duration::from_secs(60) } else { Duration::from_millis(10) };
///     tokio::time::sleep(delay).await;
///     if n < 2 { Ok("fresh") } else { Err(Slow) }
/// }
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let start = tokio::time::Instant::now();
/// assert_eq!(lookup(Default::default()).await, Ok("fresh"));
/// assert_eq!(start.elapsed(), Duration::from_millis(310));
/// # }
/// ```
///
/// ## `crate`
///
/// Generated code names this crate as `::steadfast`; a crate that re-exports it points
/// the attribute at its re-export.
///
/// ```
/// mod facade {
///     pub(crate) use steadfast as retrying;
/// }
///
/// #[facade::retrying::retry(attempts = 2, crate = "crate::facade::retrying")]
/// fn call() -> Result<(), std::io::Error> {
///     Ok(())
/// }
/// # fn main() { call().unwrap(); }
/// ```
///
/// ## `timer`
///
/// An async retry sleeps and times attempts on the [`timer::DefaultTimer`] (tokio's with
/// the default feature); `timer = T` names another [`timer::Timer`], such as one of the
/// crate's other executor features or your own. Sync fns sleep on the thread.
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use steadfast::{retry, timer};
///
/// static SLEEPS: AtomicU32 = AtomicU32::new(0);
///
/// /// Another executor's timer; here tokio's, counting what it is asked for.
/// struct Counted;
/// impl timer::Clock for Counted {
///     fn now() -> timer::Instant { <timer::Tokio as timer::Clock>::now() }
/// }
/// impl timer::Timer for Counted {
///     type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;
///     fn sleep(duration: Duration) -> Self::Sleep {
///         SLEEPS.fetch_add(1, Ordering::Relaxed);
///         Box::pin(tokio::time::sleep(duration))
///     }
/// }
///
/// #[retry(attempts = 3, min = "1s", timer = Counted)]
/// async fn call() -> Result<(), std::io::Error> {
///     Err(std::io::Error::other("down"))
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let _ = call().await;
/// assert_eq!(SLEEPS.load(Ordering::Relaxed), 2);
/// # }
/// ```
///
/// # Expansion
///
/// The signature is kept. The body is moved, unchanged, into a closure that builds one
/// attempt, and the loop around it is the runtime's engine, the same one the [`Policy`]
/// builder drives: roughly
///
/// ```text
/// let policy = POLICY;                       // a const, or the `policy = …` expression
/// let mut call = Call::new(&policy, guards); // guards: `throttle`, `breaker`, `budget`
/// loop {
///     call.admit().await?;                   // throttle permit, breaker, budget
///     let result = timed(async { /* the body, arguments re-borrowed or cloned */ }).await;
///     match call.after(result, hooks) {      // on / unless / when / if_ok / retry_after
///         Next::Sleep(delay) => sleep(delay).await, // after notify and the event
///         Next::Return(result) => return result,
///     }
/// }
/// ```
///
/// The first attempt starts without reading the clock, drawing a random number or
/// allocating, unless a deadline, a `notify` hook or a guard needs it; docs/DESIGN.md
/// says how the generated code is laid out.
///
/// # Arguments captured by the body
///
/// Owned arguments are cloned for each attempt, so they must be `Clone` (the error points
/// at the argument). `&T`, `&mut T`, `&self` and `&mut self` are re-borrowed for each
/// attempt. A by-value `self` works when the body only borrows it.
///
/// # Limitations
///
/// - A function returning a borrow of a `&mut` argument cannot be retried: each attempt
///   needs a fresh mutable borrow (a borrow-checker limit, rust-lang/rust#54663).
/// - Put `#[retry]` above `#[tracing::instrument]`, so one span covers the whole loop.
/// - `#[async_trait]` rewrites methods before `#[retry]` sees them; use native `async fn`
///   in traits instead.
/// - The happy path costs what a hand-written loop costs (docs/BENCHMARKS.md); the
///   future holds the loop's state next to the body's, 32 bytes for the plain case.
///
/// A mistake in the attribute is a compile error at the offending token:
///
/// ```compile_fail
/// #[steadfast::retry(attempt = 3)] // unknown key `attempt`; did you mean `attempts`?
/// async fn call() -> Result<(), std::io::Error> {
///     Ok(())
/// }
/// ```
#[doc(inline)]
pub use retry_macros::retry;
pub use retry_runtime::*;
