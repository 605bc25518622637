//! Metrics through the [`metrics`](https://docs.rs/metrics) crate's facade (feature
//! `metrics`): install any recorder (a Prometheus exporter, StatsD, OpenTelemetry's
//! bridge) and every retried call reports to it. Without the feature nothing of this is
//! compiled in.
//!
//! ```
//! use metrics_util::debugging::{DebugValue, DebuggingRecorder};
//! use steadfast::retry;
//!
//! #[derive(Debug)]
//! struct Flaky;
//!
//! #[retry(attempts = 3, backoff = "none")]
//! fn fetch(n: &mut u32) -> Result<u32, Flaky> {
//!     *n += 1;
//!     if *n < 2 { Err(Flaky) } else { Ok(*n) }
//! }
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! metrics::with_local_recorder(&recorder, || fetch(&mut 0)).unwrap();
//!
//! // A snapshot takes the values it reads: take one.
//! let snapshot = snapshotter.snapshot().into_vec();
//! let counter = |name: &str| {
//!     snapshot.iter().find_map(|(key, _, _, value)| match value {
//!         DebugValue::Counter(n) if key.key().name() == name => Some(*n),
//!         _ => None,
//!     })
//! };
//! assert_eq!(counter(steadfast::metrics::CALLS), Some(1));
//! assert_eq!(counter(steadfast::metrics::ATTEMPTS), Some(2));
//! assert_eq!(counter(steadfast::metrics::RETRIES), Some(1));
//! ```
//!
//! # Names and labels
//!
//! Every metric of a call carries the label `fn`: the function's name under `#[retry]`,
//! the builder's [`named`](crate::builder::Retry::named) (`"retry"` unless named), a
//! stream's (`"retry_stream"` unless named). The breaker's carry `breaker`, its
//! [`named`](crate::Breaker::named) (`""` when unnamed).
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `steadfast_calls_total` | counter | `fn` | calls started |
//! | `steadfast_attempts_total` | counter | `fn` | attempts that ended (the first included) |
//! | `steadfast_retries_total` | counter | `fn` | retries decided: a sleep (or none, with `backoff = "none"`) then another attempt |
//! | `steadfast_give_ups_total` | counter | `fn`, `reason` | calls that ended with an error, by [`Reason`](crate::Reason) |
//! | `steadfast_sleep_seconds` | histogram | `fn` | each retry's sleep, as the policy chose it (a server's hint included) |
//! | `steadfast_throttle_wait_seconds` | histogram | `fn` | each wait for an in-process throttle's permit |
//! | `steadfast_breaker_transitions_total` | counter | `breaker`, `to` | a breaker's changes of state: `to` is `open`, `half_open` or `closed` |
//!
//! `reason` is [`Reason::as_str`](crate::Reason::as_str): `exhausted`, `deadline`,
//! `hint_too_long`, `breaker_open`, `budget_spent`, `refused` (a guard turned the call
//! away, a breaker found open included under `breaker_open`), `not_retryable`. So the
//! calls that succeeded are `calls − give_ups` (less those in flight or dropped), and
//! `attempts / calls` is the load retries add.
//!
//! # Notes
//!
//! - Counted whatever `log` says: `log = "off"` silences events, not metrics.
//! - A call dropped before it ends (a `select!`, a timeout around it) is counted in
//!   `calls` and in the attempts that ended, and in no give-up.
//! - Sleeps are recorded as chosen, so `testing::instant_sleeps()` still records them.
//! - A Redis-backed throttle waits inside its own round-trip: its waits are not in
//!   `steadfast_throttle_wait_seconds`.
//! - Each report looks its metric up in the recorder (the facade's `counter!`), so the
//!   recorder installed at the time is the one that hears it, a thread-local one in tests
//!   included; with the feature on, a first attempt that succeeds costs two such lookups.

/// `steadfast_calls_total`: calls started (counter; label `fn`).
pub const CALLS: &str = "steadfast_calls_total";
/// `steadfast_attempts_total`: attempts that ended, the first included (counter; `fn`).
pub const ATTEMPTS: &str = "steadfast_attempts_total";
/// `steadfast_retries_total`: retries decided (counter; `fn`).
pub const RETRIES: &str = "steadfast_retries_total";
/// `steadfast_give_ups_total`: calls that ended with an error (counter; `fn`, `reason`).
pub const GIVE_UPS: &str = "steadfast_give_ups_total";
/// `steadfast_sleep_seconds`: each retry's sleep in seconds (histogram; `fn`).
pub const SLEEP_SECONDS: &str = "steadfast_sleep_seconds";
/// `steadfast_throttle_wait_seconds`: each wait for a throttle's permit (histogram; `fn`).
pub const THROTTLE_WAIT_SECONDS: &str = "steadfast_throttle_wait_seconds";
/// `steadfast_breaker_transitions_total`: a breaker's changes of state (counter;
/// `breaker`, `to`).
pub const BREAKER_TRANSITIONS: &str = "steadfast_breaker_transitions_total";
