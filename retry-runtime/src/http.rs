//! HTTP classification and server hints, on the [`http`](https://docs.rs/http) crate's
//! types, so they work with reqwest, hyper and axum alike (feature `http`).
//!
//! ```
//! use std::time::Duration;
//! use http::{HeaderMap, StatusCode};
//! use steadfast::http::{retry_after, should_retry};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("retry-after", "2".parse().unwrap());
//! assert!(should_retry(StatusCode::TOO_MANY_REQUESTS, &headers));
//! assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
//!
//! headers.insert("x-should-retry", "false".parse().unwrap());
//! assert!(!should_retry(StatusCode::TOO_MANY_REQUESTS, &headers));
//! assert!(!should_retry(StatusCode::UNAUTHORIZED, &HeaderMap::new()));
//! ```
//!
//! With the `reqwest` feature, `Failure` is an error type for a reqwest call that keeps
//! what these functions need (the status and headers of a failed response), so a client
//! method can say `when = Failure::is_transient, retry_after = Failure::retry_after`.
//!
//! # What is safe to retry
//!
//! A 429, a 503 or a connection that was never made prove the server did not process the
//! request: retrying is safe for any method ([`is_unprocessed`],
//! `Failure::is_unprocessed`). A timeout, a dropped connection, a 500, 502 or 504, a 408 or
//! a 409 may come after the work was done: retrying a POST then may charge a card twice.
//! The default class, [`is_transient`] (and `Failure::is_transient`), retries both, as the
//! OpenAI and Anthropic SDKs do for their POSTs: generating a completion twice costs
//! tokens, not harm. For a call that must not run twice, say `when =
//! Failure::is_unprocessed` instead, or send an [`IdempotencyKey`] made once per call, so
//! the server deduplicates and the default class is safe again.
//!
//! A server's `Retry-After` above the policy's `max` ends the retries by default; the
//! `hint_above_max` key (and [`Policy::hint_above_max`](crate::Policy::hint_above_max))
//! clamps it to `max` or ignores it instead.
//!
//! # A blocking client: ureq 3
//!
//! ureq 3 speaks the `http` crate's types, so the helpers read its responses as they are
//! (ask for error statuses as responses to keep their headers):
//!
//! ```no_run
//! use std::time::Duration;
//! use steadfast::{http, retry};
//!
//! #[derive(Debug)]
//! enum Error {
//!     Status(::http::StatusCode, Option<Duration>),
//!     Transport(ureq::Error),
//! }
//!
//! impl Error {
//!     fn is_transient(&self) -> bool {
//!         match self {
//!             Error::Status(status, _) => http::is_transient(*status),
//!             Error::Transport(e) => matches!(e, ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed),
//!         }
//!     }
//! }
//!
//! #[retry(attempts = 4, max = "30s", when = Error::is_transient, retry_after = |e: &Error| match e {
//!     Error::Status(_, hint) => *hint,
//!     Error::Transport(_) => None,
//! })]
//! fn models(agent: &ureq::Agent) -> Result<String, Error> {
//!     let mut response = agent.get("http://127.0.0.1:8080/v1/models").call().map_err(Error::Transport)?;
//!     if response.status().as_u16() >= 400 {
//!         return Err(Error::Status(response.status(), http::retry_after(response.headers())));
//!     }
//!     response.body_mut().read_to_string().map_err(Error::Transport)
//! }
//!
//! let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
//! let _ = models(&agent);
//! ```

use std::time::{Duration, SystemTime};

use ::http::{HeaderMap, StatusCode};

#[cfg(feature = "reqwest")]
mod failure;
mod idempotency;
mod ratelimit;
#[cfg(test)]
mod tests;

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use failure::{error_for_status, is_transient_error, Failure};
pub use idempotency::{IdempotencyKey, InvalidKey};
pub use ratelimit::{rate_limits, Quota, RateLimits};

/// The longest hint [`retry_after`] accepts: one day. Anything longer is taken for a
/// mistake (a Unix timestamp sent as delta-seconds, a date years ahead) and ignored.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Whether a response with this status is worth retrying: 408 Request Timeout, 409
/// Conflict, 429 Too Many Requests and every 5xx (the set the OpenAI and Anthropic SDKs
/// retry). Every other status, 4xx included, is not.
///
/// ```
/// use http::StatusCode;
/// assert!(steadfast::http::is_transient(StatusCode::SERVICE_UNAVAILABLE));
/// assert!(!steadfast::http::is_transient(StatusCode::UNAUTHORIZED));
/// ```
pub fn is_transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 409 | 429 | 500..=599)
}

/// Whether a response with this status proves the server did not process the request,
/// so that retrying it is safe whatever its method, a non-idempotent POST included: 429
/// Too Many Requests and 503 Service Unavailable (the request was turned away before any
/// work). Every other status, a 500, 502, 504, 408 or 409 included, may come after the
/// work was done (a payment charged, a message sent).
///
/// ```
/// use http::StatusCode;
/// use steadfast::http::{is_transient, is_unprocessed};
///
/// assert!(is_unprocessed(StatusCode::TOO_MANY_REQUESTS));
/// assert!(is_transient(StatusCode::BAD_GATEWAY) && !is_unprocessed(StatusCode::BAD_GATEWAY));
/// ```
pub fn is_unprocessed(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 503)
}

/// Whether to retry a response: the server's `x-should-retry: true|false` when it sends
/// one (ASCII case ignored), else [`is_transient`] of the status.
///
/// ```
/// use http::{HeaderMap, StatusCode};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-should-retry", "true".parse().unwrap());
/// assert!(steadfast::http::should_retry(StatusCode::BAD_REQUEST, &headers));
/// ```
pub fn should_retry(status: StatusCode, headers: &HeaderMap) -> bool {
    let says = headers.get("x-should-retry").and_then(|v| v.to_str().ok()).map(str::trim);
    match says {
        Some(s) if s.eq_ignore_ascii_case("true") => true,
        Some(s) if s.eq_ignore_ascii_case("false") => false,
        _ => is_transient(status),
    }
}

/// Whether an error response is a spent quota rather than a rate limit: a 429 whose JSON
/// body carries OpenAI's `insufficient_quota` error code (a billing stop: retrying cannot
/// help until someone adds credit). `Failure::is_transient` (feature `reqwest`) refuses it;
/// [`should_retry`] sees no body, so a client that reads the body itself asks this too.
///
/// ```
/// use http::StatusCode;
/// use steadfast::http::is_quota_exhausted;
///
/// let body = r#"{"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}"#;
/// assert!(is_quota_exhausted(StatusCode::TOO_MANY_REQUESTS, body));
/// assert!(!is_quota_exhausted(StatusCode::TOO_MANY_REQUESTS, r#"{"error": {"code": "rate_limit_exceeded"}}"#));
/// ```
pub fn is_quota_exhausted(status: StatusCode, body: &str) -> bool {
    // The code is a JSON string; quoted, so that a message merely mentioning it does not
    // count.
    status == StatusCode::TOO_MANY_REQUESTS && body.contains("\"insufficient_quota\"")
}

/// How long the server asks the client to wait, from the response's headers.
///
/// - `retry-after-ms`: milliseconds, possibly fractional (`"1500"`, `"0.25"`); sent by
///   the OpenAI and Anthropic APIs. A well-formed value wins over `retry-after`.
/// - `retry-after` (RFC 9110 §10.2.3): delta-seconds (`"120"`; a fraction such as
///   `"1.5"` is accepted too, as the AI SDKs do), or an HTTP-date, measured against the
///   wall clock — the one place this crate reads it, since the date is absolute.
///
/// `None` when neither header holds a usable value: garbage, a sign, an exponent,
/// `inf`/`NaN`, more than [`MAX_RETRY_AFTER`], or zero / a date already past. A zero or
/// past hint says "now", which is no better than no hint: the policy's backoff (and its
/// jitter, which keeps a burst of clients apart) applies instead, as in the AI SDKs.
/// Precision is kept to the nanosecond; digits beyond it are dropped.
///
/// ```
/// use std::time::Duration;
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", "Fri, 31 Dec 1999 23:59:59 GMT".parse().unwrap());
/// assert_eq!(steadfast::http::retry_after(&headers), None); // long past
/// headers.insert("retry-after-ms", "1500.5".parse().unwrap());
/// assert_eq!(steadfast::http::retry_after(&headers), Some(Duration::from_micros(1_500_500)));
/// ```
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now)
}

/// [`retry_after`] with the wall clock passed in (read only for an HTTP-date), for tests.
pub(crate) fn retry_after_at(headers: &HeaderMap, now: impl FnOnce() -> SystemTime) -> Option<Duration> {
    const NANOS_PER_MS: u128 = 1_000_000;

    // Surrounding whitespace allowed in either header.
    let hint = match headers.get("retry-after-ms").and_then(|v| decimal(v.to_str().ok()?.trim(), NANOS_PER_MS)) {
        Some(ms) => ms,
        None => {
            let value = headers.get("retry-after")?.to_str().ok()?.trim();
            match decimal(value, NANOS_PER_SECOND) {
                Some(seconds) => seconds,
                None => {
                    let date = httpdate::parse_http_date(value).ok()?;
                    // A date in the past is an `Err` here: "now", so no hint.
                    date.duration_since(now()).ok()?
                }
            }
        }
    };
    (!hint.is_zero() && hint <= MAX_RETRY_AFTER).then_some(hint)
}

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// `1*DIGIT [ "." 1*DIGIT ]` in `unit` nanoseconds (`retry-after`, `retry-after-ms`, a
/// bare-seconds rate-limit reset). `Some` for any well-formed number (even an absurd one,
/// saturated), so that a well-formed `retry-after-ms` always wins; `None` for anything
/// else (whitespace, a sign, `1.`, `.5`).
fn decimal(text: &str, unit: u128) -> Option<Duration> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !fraction.is_none_or(digits) {
        return None;
    }
    Some(nanos_to_duration(decimal_nanos(whole, fraction.unwrap_or(""), unit)))
}

/// `whole.fraction` (ASCII digits, either part possibly empty) units of `unit`
/// nanoseconds, saturating rather than overflowing on long inputs (the callers' one-day
/// cap rejects them anyway); digits below a nanosecond are dropped.
fn decimal_nanos(whole: &str, fraction: &str, unit: u128) -> u128 {
    let mut nanos: u128 = 0;
    for b in whole.bytes() {
        nanos = nanos.saturating_mul(10).saturating_add(u128::from(b - b'0'));
    }
    nanos = nanos.saturating_mul(unit);
    let mut place = unit;
    for b in fraction.bytes() {
        place /= 10;
        if place == 0 {
            break;
        }
        nanos = nanos.saturating_add(u128::from(b - b'0') * place);
    }
    nanos
}

/// Nanoseconds as a `Duration`, its seconds saturated at `u64::MAX`.
fn nanos_to_duration(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / NANOS_PER_SECOND).unwrap_or(u64::MAX);
    // The remainder is below 1e9, so it fits.
    Duration::new(secs, (nanos % NANOS_PER_SECOND) as u32)
}
