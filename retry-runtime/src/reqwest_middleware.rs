//! [`RetryLayer::http`] as a [reqwest-middleware](https://docs.rs/reqwest-middleware)
//! `Middleware` (feature `reqwest-middleware`, reqwest-middleware 0.5 on reqwest 0.13): the
//! same layer, policy, guards and classification as for a tower stack.
//!
//! ```
//! use std::time::Duration;
//! use reqwest_middleware::ClientBuilder;
//! use steadfast::{reqwest_middleware::is_transient, tower::RetryLayer, Policy};
//!
//! let policy = Policy::exponential(Duration::from_secs(1), Duration::from_secs(30)).attempts(5);
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(RetryLayer::http(policy).when(is_transient))
//!     .build();
//! // client.post(url).json(&body).send().await: 408, 409, 429 and 5xx retried, Retry-After
//! // honoured, the last response returned when the retries are spent.
//! # let _ = client;
//! ```
//!
//! - **Statuses** are judged by [`should_retry`](crate::http::should_retry), and
//!   `Retry-After` sets the next sleep under the attribute's rule (a hint above `max`, or
//!   one past the deadline, ends the retries), exactly as for [`RetryLayer::http`]. When the
//!   retries are spent the caller gets the server's last response as `Ok`.
//! - **Errors** of the rest of the chain (`reqwest_middleware::Error`) are retried unless
//!   [`when`](RetryLayer::when) says otherwise, as for the tower layer; [`is_transient`] is
//!   the usual choice (connect errors and timeouts yes, a malformed URL or another
//!   middleware's error no).
//! - **The request is cloned for each attempt** with `reqwest::Request::try_clone`; a
//!   request whose body is a stream cannot be, and is sent once whatever the policy says.
//!   Each attempt starts from the caller's `Extensions`; what the middlewares after this
//!   one put there during the last attempt is what the caller sees.
//! - **What the loop produces itself** (the policy's `timeout` cutting the last attempt, an
//!   open breaker, a Redis guard failing closed) cannot be a `reqwest::Error`, so it is
//!   `reqwest_middleware::Error::Middleware` holding [`Elapsed`](crate::Elapsed),
//!   [`Open`](crate::Open) or `Unavailable`: `err.downcast_ref::<steadfast::Open>()` on the
//!   inner `anyhow::Error` tells them apart.
//! - `reqwest-retry`'s `RetryTransientMiddleware` does not read `Retry-After`; this one
//!   does. Put it before a middleware that should run once per attempt (auth, tracing of
//!   each request) in [`with`](reqwest_middleware::ClientBuilder::with)'s order.

use std::fmt;
use std::sync::Mutex;

use ::http::Extensions;
use ::reqwest_middleware::{Error as ChainError, Middleware, Next};
use reqwest::{Request, Response};

use crate::error::Error;
use crate::guard::set::{Guards, SetRefusal, Slot};
use crate::guard::Report;
use crate::hooks::Predicate;
use crate::timer::Timer;
use crate::tower::http::{Answer, Http, StatusFuture};
use crate::tower::RetryLayer;

/// Whether an error of the middleware chain is worth another attempt: a `reqwest::Error`
/// as [`is_transient_error`](crate::http::is_transient_error) judges it (connect errors,
/// timeouts, a body cut short); an error of another middleware is not. Give it to
/// [`RetryLayer::when`].
pub fn is_transient(e: &ChainError) -> bool {
    match e {
        ChainError::Reqwest(e) => crate::http::is_transient_error(e),
        ChainError::Middleware(_) => false,
    }
}

/// The chain's error for what the loop produced itself.
fn chain_error<R: std::error::Error + Send + Sync + 'static>(refusal: R) -> ChainError {
    ChainError::Middleware(refusal.into())
}

#[async_trait::async_trait]
impl<W, Br, Th, Bu, Tm> Middleware for RetryLayer<W, Guards<Br, Th, Bu>, Http, Tm>
where
    W: Predicate<ChainError> + Clone + Send + Sync + 'static,
    Br: Slot<Held: Send> + Copy + Send + Sync + 'static,
    Th: Slot<Held: Send> + Copy + Send + Sync + 'static,
    Bu: Slot<Held: Send> + Copy + Send + Sync + 'static,
    Tm: Timer<Sleep: Send> + 'static,
    Error<Answer<Response, ChainError>>: Report<SetRefusal<Br, Th, Bu>>,
{
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response, ChainError> {
        let spare = request.try_clone();
        let policy = self.policy_for(spare.is_some());
        let mut first = Some(request);
        let caller = extensions.clone();
        // The extensions of the last attempt that finished, for the caller.
        let last = Mutex::new(None::<Extensions>);
        let attempt = || {
            let request = first.take().or_else(|| spare.as_ref().and_then(Request::try_clone));
            let mut extensions = caller.clone();
            let (next, last) = (next.clone(), &last);
            async move {
                // `try_clone` answered once for this body, so it answers again: `None` is
                // unreachable, and is reported rather than panicking.
                let Some(request) = request else { return Err(ChainError::middleware(Unreplayable)) };
                let result = next.run(request, &mut extensions).await;
                *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(extensions);
                result
            }
        };
        // Judged by status and ended as the tower layer's calls are.
        let outcome = StatusFuture::new(self, policy, attempt).await;
        if let Some(last) = last.into_inner().unwrap_or_else(|e| e.into_inner()) {
            *extensions = last;
        }
        match outcome {
            Ok(response) => Ok(response),
            Err(Error::Inner(e)) => Err(e),
            Err(Error::Elapsed(e)) => Err(chain_error(e)),
            Err(Error::Open(e)) => Err(chain_error(e)),
            #[cfg(feature = "redis")]
            Err(Error::Unavailable(e)) => Err(chain_error(e)),
        }
    }
}

/// A request `try_clone` cloned once and then refused to clone (not expected of reqwest).
#[derive(Debug)]
struct Unreplayable;

impl fmt::Display for Unreplayable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request could not be cloned for another attempt")
    }
}

impl std::error::Error for Unreplayable {}
