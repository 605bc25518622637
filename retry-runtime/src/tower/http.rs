//! [`RetryLayer::http`]: retries an HTTP service (`http::Request<B>` → `http::Response<R>`,
//! such as hyper-util's client) by the answer's status, honouring `Retry-After`.
//!
//! ```
//! use std::time::Duration;
//! use http::{Request, Response, StatusCode};
//! use steadfast::{tower::RetryLayer, Policy};
//! use tower::{service_fn, Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let sent = std::sync::atomic::AtomicU32::new(0);
//! let server = service_fn(|request: Request<String>| {
//!     let n = sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
//!     let status = if n == 0 { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
//!     let answer = Response::builder().status(status).header("retry-after", "2").body(request.into_body());
//!     async move { Ok::<_, std::io::Error>(answer.unwrap()) }
//! });
//! let client = RetryLayer::http(Policy::exponential(Duration::from_millis(100), Duration::from_secs(10)).attempts(3))
//!     .layer(server);
//! let start = tokio::time::Instant::now();
//! let response = client.oneshot(Request::new("hello".to_string())).await.unwrap();
//! assert_eq!((response.status(), response.body().as_str()), (StatusCode::OK, "hello"));
//! assert_eq!(start.elapsed(), Duration::from_secs(2)); // the server's hint, exactly
//! # }
//! ```
//!
//! - **Statuses** are judged by [`should_retry`](crate::http::should_retry): 408, 409, 429
//!   and 5xx, unless the server's `x-should-retry` says otherwise. Any other answer is
//!   returned at once, as an `Ok` response.
//! - **`Retry-After`** (and `retry-after-ms`), read by
//!   [`retry_after`](crate::http::retry_after), sets the next sleep exactly, under the
//!   attribute's rule: a hint above the policy's `max`, or one that would pass its
//!   deadline, ends the retries.
//! - **The last response is returned** when the retries are spent (or a hint ends them):
//!   the caller sees the server's own 503 or 429, headers and body included, not an error.
//! - **Inner errors** (a refused connection, a reset) are retried, unless
//!   [`when`](RetryLayer::when) says otherwise, and end the call as
//!   [`Error::Inner`] when they are the last.
//! - **The request is rebuilt for each attempt**: method, URI, version, headers and
//!   extensions (all of which clone in `http` 1), and a body that [`ReplayBody`] can copy.
//!   A body that cannot be replayed is sent once: the call gets a single attempt, whatever
//!   the policy says. [`Buffered`] reads a streaming body into memory up to a limit of
//!   your choosing, so that it can be replayed.
//! - **Any request that clones**: [`RetryLayer::by_status`] applies these rules (not the
//!   body's) to a service whose request is any `Clone` type and whose response is a
//!   [`StatusResponse`] (`http::Response`, `reqwest::Response`).
//! - **Guards** judge each attempt as everywhere else: a retryable status is a failure to
//!   the budget, and to the breaker unless the server paced it with a hint.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use ::http::{HeaderMap, Request, Response};
use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::{Calls, Oneshot, Retry, RetryLayer, Services};
use crate::builder::{Operation, RetryFuture, Wrapped};
use crate::error::Error;
use crate::guard::set::{Guards, SetRefusal, Slot};
use crate::guard::Report;
use crate::hooks::{Always, Hint, HookSet, Never, Predicate, Silent};
use crate::policy::Policy;
use crate::timer::Timer;

/// The kind of a [`RetryLayer::http`]: HTTP requests, retried by the answer's status.
#[derive(Debug, Clone, Copy, Default)]
pub struct Http;

impl RetryLayer<Always, Guards, Http> {
    /// A layer retrying an HTTP service under `policy`: by status, honouring `Retry-After`,
    /// every inner error retried unless [`when`](RetryLayer::when) says otherwise. See the
    /// [module](self).
    pub fn http(policy: Policy) -> Self {
        RetryLayer::of(policy)
    }
}

/// A request body that can be sent again: [`replay`](Self::replay) makes the copy for the
/// next attempt.
///
/// Implemented for the bodies that clone cheaply or are whole in memory (`String`,
/// `Vec<u8>`, `Bytes`, `&'static str`, `&'static [u8]`, `()`, http-body-util's `Full` and
/// `Empty`) and for [`Buffered`]. A streaming body (hyper's `Incoming`, axum's `Body`) is
/// read once; wrap it in [`Buffered`], or implement this trait returning `None` to send it
/// once.
pub trait ReplayBody: Sized {
    /// A copy of this body for another attempt; `None` when it cannot be replayed, in which
    /// case the request is sent once and never retried. The answer must not change from
    /// one call to the next for the same body.
    fn replay(&self) -> Option<Self>;
}

macro_rules! replay_by_clone {
    ($($body:ty),* $(,)?) => {$(
        impl ReplayBody for $body {
            fn replay(&self) -> Option<Self> {
                Some(self.clone())
            }
        }
    )*};
}

replay_by_clone!(String, Vec<u8>, Bytes, &'static str, &'static [u8], ());

impl<D: Clone> ReplayBody for http_body_util::Full<D> {
    fn replay(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<D> ReplayBody for http_body_util::Empty<D> {
    fn replay(&self) -> Option<Self> {
        Some(http_body_util::Empty::new())
    }
}

/// A body read into memory so that it can be replayed, up to a limit; a longer one is
/// sent once, as it came (its start from memory, the rest streamed), and never retried.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use steadfast::tower::http::{Buffered, ReplayBody};
///
/// let small = Buffered::read(http_body_util::Full::new(bytes::Bytes::from("{}")), 64 * 1024).await.unwrap();
/// assert!(small.replay().is_some());
/// let large = Buffered::read(http_body_util::Full::new(bytes::Bytes::from(vec![0u8; 100])), 10).await.unwrap();
/// assert!(large.replay().is_none()); // sent once
/// # }
/// ```
pub struct Buffered<B> {
    /// What was read, not yet sent by this copy.
    read: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    /// The unread rest of a body over the limit; `None` once the whole body is in `read`.
    rest: Option<B>,
}

impl<B> fmt::Debug for Buffered<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffered")
            .field("buffered", &self.read.iter().map(Bytes::len).sum::<usize>())
            .field("whole", &self.rest.is_none())
            .finish()
    }
}

impl<B: Body + Unpin> Buffered<B>
where
    B::Data: Into<Bytes>,
{
    /// Reads `body` until its end or until more than `limit` bytes have come. Errors of
    /// the body while reading are returned.
    pub async fn read(mut body: B, limit: usize) -> Result<Self, B::Error> {
        let mut read = VecDeque::new();
        let mut size = 0usize;
        let mut trailers = None;
        while size <= limit {
            let frame = body.frame().await;
            let Some(frame) = frame.transpose()? else {
                return Ok(Buffered { read, trailers, rest: None });
            };
            match frame.into_data() {
                Ok(data) => {
                    let data: Bytes = data.into();
                    size = size.saturating_add(data.len());
                    read.push_back(data);
                }
                Err(frame) => {
                    if let Ok(map) = frame.into_trailers() {
                        trailers = Some(map);
                    }
                }
            }
        }
        Ok(Buffered { read, trailers, rest: Some(body) })
    }
}

impl<B> Buffered<B> {
    /// Whether the whole body is in memory (so it can be replayed).
    pub fn is_whole(&self) -> bool {
        self.rest.is_none()
    }
}

impl<B> ReplayBody for Buffered<B> {
    fn replay(&self) -> Option<Self> {
        match self.rest {
            None => Some(Buffered { read: self.read.clone(), trailers: self.trailers.clone(), rest: None }),
            Some(_) => None,
        }
    }
}

impl<B: Body + Unpin> Body for Buffered<B>
where
    B::Data: Into<Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        if let Some(data) = this.read.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(rest) = this.rest.as_mut() {
            return Pin::new(rest).poll_frame(cx).map(|frame| frame.map(|frame| frame.map(|f| f.map_data(Into::into))));
        }
        Poll::Ready(this.trailers.take().map(|trailers| Ok(Frame::trailers(trailers))))
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_empty() && self.trailers.is_none() && self.rest.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let read = self.read.iter().map(Buf::remaining).sum::<usize>() as u64;
        match &self.rest {
            None => SizeHint::with_exact(read),
            Some(rest) => {
                let hint = rest.size_hint();
                let mut sum = SizeHint::new();
                sum.set_lower(hint.lower().saturating_add(read));
                if let Some(upper) = hint.upper() {
                    sum.set_upper(upper.saturating_add(read));
                }
                sum
            }
        }
    }
}

impl<S, ReqB, R, W, Br, Th, Bu, Tm> Service<Request<ReqB>> for Retry<S, W, Guards<Br, Th, Bu>, Http, Tm>
where
    S: Service<Request<ReqB>, Response = Response<R>> + Clone,
    S::Error: fmt::Debug,
    ReqB: ReplayBody,
    W: Predicate<S::Error> + Clone,
    Br: Slot,
    Th: Slot,
    Bu: Slot,
    Tm: Timer,
    Error<Answer<Response<R>, S::Error>>: Report<SetRefusal<Br, Th, Bu>>,
{
    type Response = Response<R>;
    type Error = Error<S::Error>;
    type Future = StatusFuture<HttpCalls<S, ReqB>, Response<R>, S::Error, W, Br, Th, Bu, Tm>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Error::Inner)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let spare = body.replay();
        let policy = self.layer.policy_for(spare.is_some());
        let op = HttpCalls { services: self.take_ready(), parts, first: Some(body), spare };
        StatusFuture::new(&self.layer, policy, op)
    }
}

/// The kind of a [`RetryLayer::by_status`]: any request that clones, answered by a
/// response with an HTTP status.
#[derive(Debug, Clone, Copy, Default)]
pub struct Statuses;

impl<W, G, Tm> RetryLayer<W, G, super::Any, Tm> {
    /// Judges the inner service's responses as [`RetryLayer::http`] does (by status,
    /// honouring `Retry-After`, the last response returned when the retries are spent),
    /// for a service whose request is any `Clone` type and whose response is a
    /// [`StatusResponse`]: `http::Response`, or `reqwest::Response` (feature `reqwest`).
    ///
    /// That is the shape of async-openai's tower stack (`HttpRequestFactory` →
    /// `reqwest::Response`, given to `Client::with_http_service`; see
    /// `examples/async_openai.rs`), where the request is rebuilt from a factory for each
    /// attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use http::{Response, StatusCode};
    /// use steadfast::{tower::RetryLayer, Policy};
    /// use tower::{service_fn, Layer, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let sent = std::sync::atomic::AtomicU32::new(0);
    /// // The request is a prompt, not an `http::Request`: it only has to clone.
    /// let api = service_fn(|prompt: &'static str| {
    ///     let n = sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    ///     let status = if n == 0 { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::OK };
    ///     let answer = Response::builder().status(status).header("retry-after", "3").body(prompt);
    ///     async move { Ok::<_, std::io::Error>(answer.unwrap()) }
    /// });
    /// let policy = Policy::exponential(Duration::from_millis(100), Duration::from_secs(10));
    /// let client = RetryLayer::new(policy).by_status().layer(api);
    /// let start = tokio::time::Instant::now();
    /// assert_eq!(client.oneshot("hi").await.unwrap().status(), StatusCode::OK);
    /// assert_eq!(start.elapsed(), Duration::from_secs(3)); // the server's hint
    /// # }
    /// ```
    pub fn by_status(self) -> RetryLayer<W, G, Statuses, Tm> {
        let RetryLayer { policy, when, guards, log, name, kind: _ } = self;
        RetryLayer { policy, when, guards, log, name, kind: std::marker::PhantomData }
    }
}

impl<S, Req, W, Br, Th, Bu, Tm> Service<Req> for Retry<S, W, Guards<Br, Th, Bu>, Statuses, Tm>
where
    S: Service<Req> + Clone,
    S::Response: StatusResponse,
    S::Error: fmt::Debug,
    Req: Clone,
    W: Predicate<S::Error> + Clone,
    Br: Slot,
    Th: Slot,
    Bu: Slot,
    Tm: Timer,
    Error<Answer<S::Response, S::Error>>: Report<SetRefusal<Br, Th, Bu>>,
{
    type Response = S::Response;
    type Error = Error<S::Error>;
    type Future = StatusFuture<Calls<S, Req>, S::Response, S::Error, W, Br, Th, Bu, Tm>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Error::Inner)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let op = Calls { services: self.take_ready(), request };
        StatusFuture::new(&self.layer, self.layer.policy, op)
    }
}

/// A response with an HTTP status and headers, which [`RetryLayer::http`] and
/// [`RetryLayer::by_status`] judge with [`should_retry`](crate::http::should_retry) and
/// [`retry_after`](crate::http::retry_after).
pub trait StatusResponse {
    /// The response's status.
    fn status(&self) -> ::http::StatusCode;
    /// The response's headers.
    fn headers(&self) -> &HeaderMap;
}

impl<B> StatusResponse for Response<B> {
    fn status(&self) -> ::http::StatusCode {
        Response::status(self)
    }

    fn headers(&self) -> &HeaderMap {
        Response::headers(self)
    }
}

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
impl StatusResponse for reqwest::Response {
    fn status(&self) -> ::http::StatusCode {
        reqwest::Response::status(self)
    }

    fn headers(&self) -> &HeaderMap {
        reqwest::Response::headers(self)
    }
}

/// How an attempt failed, as the hooks see it: a response with a retryable status, or
/// the inner service's error.
#[doc(hidden)]
pub enum Answer<Resp, E> {
    /// A response [`should_retry`](crate::http::should_retry) says to retry.
    Status(Resp),
    /// The inner service's error.
    Failed(E),
}

impl<Resp: StatusResponse, E: fmt::Debug> fmt::Debug for Answer<Resp, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Status(response) => write!(f, "server answered {}", response.status()),
            Answer::Failed(e) => e.fmt(f),
        }
    }
}

/// `when` of the status layers: a retryable status always, an inner error if the user's
/// predicate says so.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct ByStatus<W>(pub(crate) W);

impl<Resp, E, W: Predicate<E>> Predicate<Answer<Resp, E>> for ByStatus<W> {
    fn test(&mut self, answer: &Answer<Resp, E>) -> bool {
        match answer {
            Answer::Status(_) => true,
            Answer::Failed(e) => self.0.test(e),
        }
    }
}

/// `retry_after` of the status layers: the response's `Retry-After`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct ServerHint;

impl<Resp: StatusResponse, E> Hint<Answer<Resp, E>> for ServerHint {
    fn hint(&mut self, answer: &Answer<Resp, E>) -> Option<Duration> {
        match answer {
            Answer::Status(response) => crate::http::retry_after(response.headers()),
            Answer::Failed(_) => None,
        }
    }
}

/// The attempts of one HTTP call: the request's head, cloned for each, and its body.
#[doc(hidden)]
pub struct HttpCalls<S, B> {
    services: Services<S>,
    parts: ::http::request::Parts,
    /// The caller's body, for the first attempt.
    first: Option<B>,
    /// A copy kept for the next attempt; `None` for a body that cannot be replayed.
    spare: Option<B>,
}

impl<S, B> fmt::Debug for HttpCalls<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpCalls")
            .field("method", &self.parts.method)
            .field("uri", &self.parts.uri)
            .finish_non_exhaustive()
    }
}

impl<S, B, R> Operation for HttpCalls<S, B>
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    B: ReplayBody,
{
    type Attempt = Oneshot<S, Request<B>>;

    fn attempt(&mut self) -> Oneshot<S, Request<B>> {
        let body = match self.first.take() {
            Some(body) => body,
            // Retries exist only when the body replayed (the call is one attempt otherwise),
            // and `ReplayBody` answers the same every time.
            None => {
                let spare = self.spare.as_ref().expect("a body that cannot be replayed is sent once");
                spare.replay().expect("ReplayBody::replay answered Some, then None, for one body")
            }
        };
        Oneshot::new(self.services.next(), Request::from_parts(self.parts.clone(), body))
    }
}

/// The attempts of `O`, each judged by its response's status.
#[doc(hidden)]
#[derive(Debug)]
pub struct Judged<O>(O);

impl<O: Operation> Operation for Judged<O> {
    type Attempt = JudgedAttempt<O::Attempt>;

    fn attempt(&mut self) -> Self::Attempt {
        JudgedAttempt { attempt: self.0.attempt() }
    }
}

pin_project! {
    /// One attempt: a response with a retryable status becomes an `Err` for the hooks.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct JudgedAttempt<A> {
        #[pin]
        attempt: A,
    }
}

impl<A, Resp, E> Future for JudgedAttempt<A>
where
    A: Future<Output = Result<Resp, E>>,
    Resp: StatusResponse,
{
    type Output = Result<Resp, Answer<Resp, E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(match ready!(self.project().attempt.poll(cx)) {
            Ok(response) if crate::http::should_retry(response.status(), response.headers()) => {
                Err(Answer::Status(response))
            }
            Ok(response) => Ok(response),
            Err(e) => Err(Answer::Failed(e)),
        })
    }
}

/// The hooks of the status layers.
type StatusHooks<Resp, E, W> = HookSet<Resp, Answer<Resp, E>, Always, Never, ByStatus<W>, Never, ServerHint, Silent>;

pin_project! {
    /// The future of a call through [`RetryLayer::http`] or [`RetryLayer::by_status`].
    #[must_use = "futures do nothing unless polled"]
    pub struct StatusFuture<O, Resp, E, W, Br, Th, Bu, Tm>
    where
        O: Operation,
        Br: Slot,
        Th: Slot,
        Bu: Slot,
        Tm: Timer,
    {
        #[pin]
        inner: RetryFuture<Judged<O>, JudgedAttempt<O::Attempt>, StatusHooks<Resp, E, W>, Br, Th, Bu, Tm, Wrapped>,
    }
}

impl<O, Resp, E, W, Br, Th, Bu, Tm> StatusFuture<O, Resp, E, W, Br, Th, Bu, Tm>
where
    O: Operation<Attempt: Future<Output = Result<Resp, E>>>,
    Resp: StatusResponse,
    E: fmt::Debug,
    W: Predicate<E> + Clone,
    Br: Slot,
    Th: Slot,
    Bu: Slot,
    Tm: Timer,
    Error<Answer<Resp, E>>: Report<SetRefusal<Br, Th, Bu>>,
{
    /// A call of `op` through `layer`: each response judged by its status, the last one
    /// returned when the retries are spent.
    pub(crate) fn new<K>(layer: &RetryLayer<W, Guards<Br, Th, Bu>, K, Tm>, policy: Policy, op: O) -> Self {
        let hooks = HookSet::new().judged_by(ByStatus(layer.when.clone()), ServerHint);
        StatusFuture { inner: layer.retry(policy, Judged(op), hooks).into_future() }
    }
}

impl<O, Resp, E, W, Br, Th, Bu, Tm> fmt::Debug for StatusFuture<O, Resp, E, W, Br, Th, Bu, Tm>
where
    O: Operation,
    Br: Slot,
    Th: Slot,
    Bu: Slot,
    Tm: Timer,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<O, Resp, E, W, Br, Th, Bu, Tm> Future for StatusFuture<O, Resp, E, W, Br, Th, Bu, Tm>
where
    O: Operation<Attempt: Future<Output = Result<Resp, E>>>,
    Resp: StatusResponse,
    E: fmt::Debug,
    W: Predicate<E>,
    Br: Slot,
    Th: Slot,
    Bu: Slot,
    Tm: Timer,
    Error<Answer<Resp, E>>: Report<SetRefusal<Br, Th, Bu>>,
{
    type Output = Result<Resp, Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(match ready!(self.project().inner.poll(cx)) {
            Ok(response) | Err(Error::Inner(Answer::Status(response))) => Ok(response),
            Err(Error::Inner(Answer::Failed(e))) => Err(Error::Inner(e)),
            Err(Error::Elapsed(e)) => Err(Error::Elapsed(e)),
            Err(Error::Open(e)) => Err(Error::Open(e)),
            #[cfg(feature = "redis")]
            Err(Error::Unavailable(e)) => Err(Error::Unavailable(e)),
        })
    }
}
