//! [`RetryLayer`]: a policy as a [tower](https://docs.rs/tower) layer (feature `tower`), for
//! clients assembled from layers (hyper-util, tonic, async-openai's `with_http_service`).
//!
//! ```
//! use std::time::Duration;
//! use steadfast::{tower::RetryLayer, Policy};
//! use tower::{service_fn, Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let calls = std::sync::atomic::AtomicU32::new(0);
//! let flaky = service_fn(|n: u32| {
//!     let call = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
//!     async move { if call < 2 { Err(std::io::Error::other("busy")) } else { Ok(n * 2) } }
//! });
//! let policy = Policy::exponential(Duration::from_millis(100), Duration::from_secs(5)).attempts(4);
//! let service = RetryLayer::new(policy).when(|e: &std::io::Error| e.kind() == std::io::ErrorKind::Other).layer(flaky);
//! assert_eq!(service.oneshot(21).await.unwrap(), 42); // the third attempt
//! # }
//! ```
//!
//! Each call is one retried call of the engine the attribute and the builder drive: the
//! same backoff, deadline, per-attempt `timeout`, guards and events. An attempt is the
//! inner service readied and called with a clone of the request (so `Req: Clone`): the
//! first on the service `poll_ready` readied, later ones on clones of it (`S: Clone`), as
//! tower's own retry layer does.
//!
//! The service's error is [`steadfast::Error`](crate::Error)`<S::Error>`: the inner
//! service's error as [`Error::Inner`], or what the loop produced
//! instead (a timed-out last attempt, a breaker's refusal). The inner error alone could
//! hold neither, and tower's `BoxError` would make every caller downcast to tell them
//! apart; `Error<E>` implements `std::error::Error` when `E` does, so it converts into a
//! `BoxError` where a stack wants one.
//!
//! Guards are `&'static` (a `static`, a `LazyLock`, or `Box::leak` of one made at start-up):
//! the service's futures own everything they use, as most tower stacks require.
//!
//! With the `http` feature, [`RetryLayer::http`] retries HTTP services by status and
//! honours `Retry-After`, and [`RetryLayer::by_status`] does the same for a service whose
//! request is any `Clone` type (async-openai's); see [`http`].

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::builder::{self, Operation, RetryFuture, Wrapped};
use crate::error::Error;
use crate::guard::set::{Guards, SetRefusal, Slot};
use crate::guard::{Breaker, Budget, Fits, Report, Throttle};
use crate::hooks::{Always, HookSet, Never, NoHint, Predicate, Silent};
use crate::observe::Log;
use crate::policy::Policy;
use crate::timer::{DefaultTimer, Timer};

#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;

/// Retries the calls of the service it wraps under a [`Policy`]: see the [module](self).
///
/// `W` decides which errors are retried ([`when`](Self::when); all by default), `G` holds the
/// guards, `K` is the kind of request ([`Any`], or [`Http`](http::Http) from
/// [`RetryLayer::http`]), `Tm` the timer.
pub struct RetryLayer<W = Always, G = Guards, K = Any, Tm = DefaultTimer> {
    pub(crate) policy: Policy,
    pub(crate) when: W,
    guards: G,
    log: Log,
    name: &'static str,
    kind: PhantomData<fn() -> (K, Tm)>,
}

/// The kind of a [`RetryLayer::new`]: any request that clones, any error retried unless
/// [`when`](RetryLayer::when) says no.
#[derive(Debug, Clone, Copy, Default)]
pub struct Any;

impl<W: Clone, G: Copy, K, Tm> Clone for RetryLayer<W, G, K, Tm> {
    fn clone(&self) -> Self {
        RetryLayer {
            policy: self.policy,
            when: self.when.clone(),
            guards: self.guards,
            log: self.log,
            name: self.name,
            kind: PhantomData,
        }
    }
}

impl<W, G, K, Tm> fmt::Debug for RetryLayer<W, G, K, Tm> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryLayer").field("policy", &self.policy).field("name", &self.name).finish_non_exhaustive()
    }
}

impl RetryLayer {
    /// A layer retrying every error of the inner service under `policy`.
    pub fn new(policy: Policy) -> Self {
        RetryLayer::of(policy)
    }
}

impl<K, Tm> RetryLayer<Always, Guards, K, Tm> {
    pub(crate) fn of(policy: Policy) -> Self {
        RetryLayer { policy, when: Always, guards: Guards::new(), log: Log::Warn, name: "tower", kind: PhantomData }
    }
}

impl<W, G, K, Tm> RetryLayer<W, G, K, Tm> {
    /// Retries only the inner service's errors for which `when` returns true (all by
    /// default); under [`http`](RetryLayer::http) it judges the inner errors (a refused
    /// connection), not the statuses. It is cloned for each call; write its argument's
    /// type (`|e: &MyError| …`), as the layer does not know it yet.
    pub fn when<W2>(self, when: W2) -> RetryLayer<W2, G, K, Tm> {
        RetryLayer { policy: self.policy, when, guards: self.guards, log: self.log, name: self.name, kind: PhantomData }
    }

    /// The level of the events ([`Log::Warn`] by default).
    pub fn log(mut self, log: Log) -> Self {
        self.log = log;
        self
    }

    /// The `fn` field of the events (`"tower"` by default).
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Sleeps and reads the time on `T2` instead of the [`DefaultTimer`].
    pub fn timer<T2: Timer>(self) -> RetryLayer<W, G, K, T2> {
        RetryLayer {
            policy: self.policy,
            when: self.when,
            guards: self.guards,
            log: self.log,
            name: self.name,
            kind: PhantomData,
        }
    }
}

impl<W, G: Copy, K, Tm> RetryLayer<W, G, K, Tm> {
    /// A retried call of `op` with `hooks` and this layer's guards, as the builder runs one.
    pub(crate) fn retry<F, T, E, Wh, H>(
        &self,
        policy: Policy,
        op: F,
        hooks: HookSet<T, E, Always, Never, Wh, Never, H, Silent>,
    ) -> builder::Retry<F, HookSet<T, E, Always, Never, Wh, Never, H, Silent>, G, Tm, Wrapped> {
        builder::Retry::of(policy, op, hooks, self.guards, self.log, self.name)
    }

    /// The policy of a call whose request can be sent again or not: a body that cannot
    /// gets one attempt, whatever the policy says.
    #[cfg(feature = "http")]
    pub(crate) fn policy_for(&self, replayable: bool) -> Policy {
        if replayable {
            self.policy
        } else {
            self.policy.attempts(1)
        }
    }
}

/// Rebuilds a layer with its guards changed by `$change`.
macro_rules! regard {
    ($self:ident, $guards:ident => $change:expr) => {{
        let RetryLayer { policy, when, guards: $guards, log, name, kind } = $self;
        RetryLayer { policy, when, guards: $change, log, name, kind }
    }};
}

impl<W, B, Th, U, K, Tm> RetryLayer<W, Guards<B, Th, U>, K, Tm> {
    /// Lets each attempt through `breaker`; while it is open a call ends at once with
    /// [`Error::Open`].
    pub fn breaker<G: Fits<Breaker> + ?Sized>(
        self,
        breaker: &'static G,
    ) -> RetryLayer<W, Guards<&'static G, Th, U>, K, Tm> {
        regard!(self, guards => guards.breaker(crate::guard::set::fits::<Breaker, G>(breaker)))
    }

    /// Makes every attempt, retries included, wait for a permit of `throttle`.
    pub fn throttle<G: Fits<Throttle> + ?Sized>(
        self,
        throttle: &'static G,
    ) -> RetryLayer<W, Guards<B, &'static G, U>, K, Tm> {
        regard!(self, guards => guards.throttle(crate::guard::set::fits::<Throttle, G>(throttle)))
    }

    /// Stops retrying while `budget` is spent.
    pub fn budget<G: Fits<Budget> + ?Sized>(
        self,
        budget: &'static G,
    ) -> RetryLayer<W, Guards<B, Th, &'static G>, K, Tm> {
        regard!(self, guards => guards.budget(crate::guard::set::fits::<Budget, G>(budget)))
    }
}

impl<S, W: Clone, G: Copy, K, Tm> Layer<S> for RetryLayer<W, G, K, Tm> {
    type Service = Retry<S, W, G, K, Tm>;

    fn layer(&self, inner: S) -> Self::Service {
        Retry { inner, layer: self.clone() }
    }
}

/// The service of a [`RetryLayer`].
pub struct Retry<S, W = Always, G = Guards, K = Any, Tm = DefaultTimer> {
    inner: S,
    layer: RetryLayer<W, G, K, Tm>,
}

impl<S: Clone, W: Clone, G: Copy, K, Tm> Clone for Retry<S, W, G, K, Tm> {
    fn clone(&self) -> Self {
        Retry { inner: self.inner.clone(), layer: self.layer.clone() }
    }
}

impl<S: fmt::Debug, W, G, K, Tm> fmt::Debug for Retry<S, W, G, K, Tm> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry").field("inner", &self.inner).field("layer", &self.layer).finish()
    }
}

impl<S, W, G, K, Tm> Retry<S, W, G, K, Tm> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, for the caller to take back.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The inner services of one call: the one readied by `poll_ready` for its first
    /// attempt (tower's rule), a clone for the later ones; a clone stays for the next call.
    fn take_ready(&mut self) -> Services<S>
    where
        S: Clone,
    {
        let spare = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, spare.clone());
        Services { ready: Some(ready), spare }
    }
}

impl<S, Req, W, B, Th, U, Tm> Service<Req> for Retry<S, W, Guards<B, Th, U>, Any, Tm>
where
    S: Service<Req> + Clone,
    S::Error: fmt::Debug,
    Req: Clone,
    W: Predicate<S::Error> + Clone,
    B: Slot,
    Th: Slot,
    U: Slot,
    Tm: Timer,
    Error<S::Error>: Report<SetRefusal<B, Th, U>>,
{
    type Response = S::Response;
    type Error = Error<S::Error>;
    type Future = ResponseFuture<S, Req, W, B, Th, U, Tm>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Error::Inner)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let op = Calls { services: self.take_ready(), request };
        let hooks = HookSet::new().judged_by(self.layer.when.clone(), NoHint);
        ResponseFuture { inner: self.layer.retry(self.layer.policy, op, hooks).into_future() }
    }
}

pin_project! {
    /// The future of a [`Retry`] service's call.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<S, Req, W, B, Th, U, Tm>
    where
        S: Service<Req>,
        B: Slot,
        Th: Slot,
        U: Slot,
        Tm: Timer,
    {
        #[pin]
        inner: RetryFuture<
            Calls<S, Req>,
            Oneshot<S, Req>,
            HookSet<S::Response, S::Error, Always, Never, W, Never, NoHint, Silent>,
            B, Th, U, Tm, Wrapped,
        >,
    }
}

impl<S, Req, W, B, Th, U, Tm> fmt::Debug for ResponseFuture<S, Req, W, B, Th, U, Tm>
where
    S: Service<Req>,
    B: Slot,
    Th: Slot,
    U: Slot,
    Tm: Timer,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<S, Req, W, B, Th, U, Tm> Future for ResponseFuture<S, Req, W, B, Th, U, Tm>
where
    S: Service<Req> + Clone,
    S::Error: fmt::Debug,
    Req: Clone,
    W: Predicate<S::Error>,
    B: Slot,
    Th: Slot,
    U: Slot,
    Tm: Timer,
    Error<S::Error>: Report<SetRefusal<B, Th, U>>,
{
    type Output = Result<S::Response, Error<S::Error>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// The inner services of one call's attempts.
pub(crate) struct Services<S> {
    /// The service `poll_ready` readied, for the first attempt. Kept for a later one, it
    /// would hold what its readiness reserved (a `ConcurrencyLimit`'s permit) while that
    /// attempt's clone waited for the same.
    ready: Option<S>,
    /// Cloned for each later attempt.
    spare: S,
}

impl<S: Clone> Services<S> {
    /// The service for the next attempt.
    pub(crate) fn next(&mut self) -> S {
        self.ready.take().unwrap_or_else(|| self.spare.clone())
    }
}

/// The attempts of one call: the inner services and the request, cloned for each.
#[doc(hidden)]
pub struct Calls<S, Req> {
    services: Services<S>,
    request: Req,
}

impl<S: Service<Req> + Clone, Req: Clone> Operation for Calls<S, Req> {
    type Attempt = Oneshot<S, Req>;

    fn attempt(&mut self) -> Oneshot<S, Req> {
        Oneshot::new(self.services.next(), self.request.clone())
    }
}

pin_project! {
    /// One attempt: the service readied, then called.
    #[doc(hidden)]
    #[project = OneshotProj]
    pub enum Oneshot<S, Req>
    where
        S: Service<Req>,
    {
        Ready { service: S, request: Option<Req> },
        Called { #[pin] future: S::Future },
    }
}

impl<S: Service<Req>, Req> Oneshot<S, Req> {
    pub(crate) fn new(service: S, request: Req) -> Self {
        Oneshot::Ready { service, request: Some(request) }
    }
}

impl<S: Service<Req>, Req> Future for Oneshot<S, Req> {
    type Output = Result<S::Response, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                OneshotProj::Ready { service, request } => {
                    ready!(service.poll_ready(cx))?;
                    let Some(request) = request.take() else { return Poll::Pending };
                    let future = service.call(request);
                    self.set(Oneshot::Called { future });
                }
                OneshotProj::Called { future } => return future.poll(cx),
            }
        }
    }
}

impl<S, Req> fmt::Debug for Calls<S, Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Calls").finish_non_exhaustive()
    }
}

impl<S: Service<Req>, Req> fmt::Debug for Oneshot<S, Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Oneshot::Ready { .. } => "Oneshot::Ready",
            Oneshot::Called { .. } => "Oneshot::Called",
        })
    }
}
