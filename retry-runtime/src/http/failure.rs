//! [`Failure`]: a failed reqwest call that keeps what a retry decision needs.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use ::http::{HeaderMap, StatusCode};

use crate::error::{Elapsed, Open};

/// The most of an error response's body kept for [`Failure::body`]: enough for an API's
/// error message, bounded so a misbehaving server cannot make the client buffer much.
const MAX_BODY: usize = 4096;

/// Why a reqwest call failed: the transport (connect, timeout, a broken body …), an
/// error status (with the response's headers and the start of its body), an attempt cut
/// by `timeout`, or a call an open breaker turned away.
///
/// It works with reqwest 0.13 (the `reqwest` feature). A client on reqwest 0.12 gets "`?`
/// couldn't convert the error to `Failure`", and the compiler's help quotes the line of
/// the `From<reqwest::Error>` impl, which says so: move the client to reqwest 0.13.
///
/// `?` converts a `reqwest::Error`, `timeout = "…"` a [`steadfast::Elapsed`](Elapsed) and
/// `breaker = …` a [`steadfast::Open`](Open), so a client method can return
/// `Result<T, Failure>` and name [`Failure::is_transient`] and [`Failure::retry_after`] in
/// its attribute:
///
/// ```no_run
/// use steadfast::{http::{self, Failure}, retry};
///
/// #[retry(attempts = 4, min = "500ms", max = "8s", timeout = "60s",
///         when = Failure::is_transient, retry_after = Failure::retry_after)]
/// async fn models(client: &reqwest::Client) -> Result<String, Failure> {
///     let response = client.get("https://api.example.invalid/v1/models").send().await?;
///     Ok(http::error_for_status(response).await?.text().await?)
/// }
/// ```
#[derive(Debug)]
pub struct Failure {
    repr: Repr,
}

#[derive(Debug)]
enum Repr {
    Transport(reqwest::Error),
    Status { status: StatusCode, headers: Box<HeaderMap>, body: String },
    Elapsed(Elapsed),
    Open(Open),
}

impl Failure {
    /// The failed response's status; `None` when there was no response.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.repr {
            Repr::Status { status, .. } => Some(*status),
            Repr::Transport(e) => e.status(),
            Repr::Elapsed(_) | Repr::Open(_) => None,
        }
    }

    /// The failed response's headers; `None` when there was no response, or when the
    /// error came from reqwest's own `error_for_status`, which drops them.
    pub fn headers(&self) -> Option<&HeaderMap> {
        match &self.repr {
            Repr::Status { headers, .. } => Some(headers),
            _ => None,
        }
    }

    /// The start of the failed response's body (at most 4 KiB, lossily decoded as UTF-8);
    /// empty when there was no response.
    pub fn body(&self) -> &str {
        match &self.repr {
            Repr::Status { body, .. } => body,
            _ => "",
        }
    }

    /// The `reqwest::Error` this failure wraps: a transport error (connect, timeout, a body
    /// cut short), or one from reqwest's own `error_for_status`; `None` for a status kept
    /// by [`error_for_status`](super::error_for_status), a timeout of `timeout = "…"` and an
    /// open breaker.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = reqwest::Client::new().get("not a url").send().await.unwrap_err();
    /// let failure = steadfast::http::Failure::from(err);
    /// assert!(failure.reqwest().is_some_and(reqwest::Error::is_builder));
    /// # }
    /// ```
    pub fn reqwest(&self) -> Option<&reqwest::Error> {
        match &self.repr {
            Repr::Transport(e) => Some(e),
            _ => None,
        }
    }

    /// The wrapped `reqwest::Error`, taken out (see [`reqwest`](Self::reqwest)); the
    /// failure itself when it wraps none.
    pub fn into_reqwest(self) -> Result<reqwest::Error, Self> {
        match self.repr {
            Repr::Transport(e) => Ok(e),
            repr => Err(Failure { repr }),
        }
    }

    /// Whether no answer came in time: reqwest's own timeout, or `timeout = "…"`.
    pub fn is_timeout(&self) -> bool {
        match &self.repr {
            Repr::Transport(e) => e.is_timeout(),
            Repr::Elapsed(_) => true,
            Repr::Status { .. } | Repr::Open(_) => false,
        }
    }

    /// Whether the server refused the call for a spent quota (a 429 with OpenAI's
    /// `insufficient_quota` code, by [`is_quota_exhausted`](super::is_quota_exhausted)), not
    /// for its rate: retrying cannot help.
    pub fn is_quota_exhausted(&self) -> bool {
        match &self.repr {
            Repr::Status { status, body, .. } => super::is_quota_exhausted(*status, body),
            _ => false,
        }
    }

    /// Whether an open breaker turned the call away before it was made.
    pub fn is_open(&self) -> bool {
        matches!(self.repr, Repr::Open(_))
    }

    /// Whether the call is worth retrying: a status by [`should_retry`](super::should_retry)
    /// (so `x-should-retry` has the last word), except a spent quota
    /// ([`is_quota_exhausted`](Self::is_quota_exhausted)), a transport error by
    /// [`is_transient_error`], always after a timeout, never when the breaker was open.
    /// For `when = Failure::is_transient`.
    pub fn is_transient(&self) -> bool {
        match &self.repr {
            Repr::Status { status, headers, body } => {
                !super::is_quota_exhausted(*status, body) && super::should_retry(*status, headers)
            }
            Repr::Transport(e) => is_transient_error(e),
            Repr::Elapsed(_) => true,
            Repr::Open(_) => false,
        }
    }

    /// Whether the call is worth retrying *and* proves the request was not processed, so
    /// that retrying is safe for a non-idempotent call (a POST that charges, sends or
    /// books): a 429 or 503 by [`is_unprocessed`](super::is_unprocessed), or a connection
    /// that was never made (refused, DNS, TLS handshake). A timeout, a dropped connection
    /// or a 500/502/504 may come after the work was done, and is not retried. For
    /// `when = Failure::is_unprocessed`; [`is_transient`](Self::is_transient), the
    /// default class, retries those too, as the AI SDKs do for their POSTs (a completion
    /// generated twice costs tokens, not a double charge). A request sent with an
    /// [`IdempotencyKey`](super::IdempotencyKey) can take the default class again.
    pub fn is_unprocessed(&self) -> bool {
        match &self.repr {
            Repr::Status { status, headers, body } => {
                super::is_unprocessed(*status)
                    && !super::is_quota_exhausted(*status, body)
                    && super::should_retry(*status, headers)
            }
            // `is_transient_error` passes both (a 429 or 503 is transient, a connect error
            // always is), so it need not be asked.
            Repr::Transport(e) => e.status().map_or(e.is_connect(), super::is_unprocessed),
            Repr::Elapsed(_) | Repr::Open(_) => false,
        }
    }

    /// The server's hint, by [`retry_after`](super::retry_after) on the response's
    /// headers. For `retry_after = Failure::retry_after`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.headers().and_then(super::retry_after)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Transport(e) => write!(f, "request failed: {e}"),
            Repr::Status { status, .. } => write!(f, "server answered {status}"),
            Repr::Elapsed(e) => e.fmt(f),
            Repr::Open(e) => e.fmt(f),
        }
    }
}

impl Error for Failure {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.repr {
            Repr::Transport(e) => Some(e),
            Repr::Elapsed(e) => Some(e),
            Repr::Open(e) => Some(e),
            Repr::Status { .. } => None,
        }
    }
}

// The comment shares the impl's line, which rustc quotes when a reqwest 0.12 error fails
// to convert: that user reads why.
#[rustfmt::skip]
impl From<reqwest::Error> for Failure { // reqwest 0.13 (a 0.12 client's errors do not convert: upgrade it)
    fn from(e: reqwest::Error) -> Self {
        Failure { repr: Repr::Transport(e) }
    }
}

impl From<Elapsed> for Failure {
    fn from(e: Elapsed) -> Self {
        Failure { repr: Repr::Elapsed(e) }
    }
}

impl From<Open> for Failure {
    fn from(e: Open) -> Self {
        Failure { repr: Repr::Open(e) }
    }
}

/// reqwest's `error_for_status`, keeping the headers and the start of the body: `Ok` for
/// a status below 400, else a [`Failure`] (reading at most 4 KiB of the body).
///
/// ```no_run
/// # async fn f(client: reqwest::Client) -> Result<(), steadfast::http::Failure> {
/// let response = steadfast::http::error_for_status(client.get("http://127.0.0.1:8080/").send().await?).await?;
/// # let _ = response; Ok(()) }
/// ```
pub async fn error_for_status(mut response: reqwest::Response) -> Result<reqwest::Response, Failure> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let headers = Box::new(std::mem::take(response.headers_mut()));
    let mut body = Vec::new();
    // A body that breaks off is no reason to lose the status: keep what arrived.
    while body.len() < MAX_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(MAX_BODY - body.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    Err(Failure { repr: Repr::Status { status, headers, body } })
}

/// Whether a `reqwest::Error` is worth retrying: timeouts, connect errors, a request that
/// broke off in flight and a body cut short are; builder, redirect, upgrade and decode
/// errors are not (trying again gives the same result); a status error is judged by
/// [`is_transient`](super::is_transient) of its status.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = reqwest::Client::new().get("not a url").send().await.unwrap_err();
/// assert!(!steadfast::http::is_transient_error(&err)); // a builder error
/// # }
/// ```
pub fn is_transient_error(e: &reqwest::Error) -> bool {
    if let Some(status) = e.status() {
        return super::is_transient(status);
    }
    if e.is_timeout() || e.is_connect() {
        return true;
    }
    if e.is_builder() || e.is_redirect() || e.is_upgrade() {
        return false;
    }
    if e.is_request() || e.is_body() {
        return true;
    }
    // `bytes()`, `text()` and `json()` report a body cut short as a decode error; the
    // transport error under it is what decides.
    e.is_decode() && broken_transport_under(e)
}

/// Whether `e`'s `source()` chain holds a body or request error, or an I/O error.
fn broken_transport_under(e: &reqwest::Error) -> bool {
    let mut source = e.source();
    // Bounded: only a cyclic chain could be longer.
    for _ in 0..64 {
        let Some(err) = source else { return false };
        if let Some(inner) = err.downcast_ref::<reqwest::Error>() {
            if inner.is_body() || inner.is_request() {
                return true;
            }
        }
        if err.is::<std::io::Error>() {
            return true;
        }
        source = err.source();
    }
    false
}
