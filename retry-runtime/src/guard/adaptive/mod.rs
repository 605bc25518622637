//! [`AdaptiveThrottle`]: a throttle that learns the server's rate limits from its
//! rate-limit headers and its 429s, weighted by tokens; [`AdaptiveThrottles`]: one per
//! scope (API key × model).

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::time::Duration;

use super::sync::{const_fn, Mutex};
use super::{Admit, Fits, Guard, Immediate, Record, Throttle, Verdict};
use crate::timer::{Clock, DefaultClock};

mod scoped;
pub(crate) mod state;

pub use scoped::AdaptiveThrottles;
use state::{Cubic, Mirror, Report};

/// A throttle that learns the server's rate limits instead of being told a guess: it paces
/// every attempt to stay just under them, by requests and by tokens.
///
/// - **From rate-limit headers** (OpenAI's `x-ratelimit-*`, Anthropic's
///   `anthropic-ratelimit-*`, the IETF `RateLimit` fields; see
///   [`http::rate_limits`](crate::http::rate_limits)), fed to it by
///   [`error_for_status`](Self::error_for_status) or [`learn`](Self::learn): it keeps a
///   copy of the server's buckets (what is left, refilling at `(limit - remaining) / reset`)
///   and lets an attempt through when the copy holds a request and its tokens.
/// - **From 429s alone**, when a server sends no such headers: each throttled attempt (one
///   the server paced: `retry_after` gave a hint) cuts the rate to 70% of what was being
///   sent, then successes climb back along a cubic, after the AWS SDKs' adaptive limiter.
///   Until the first 429 nothing is paced. The hint still decides the throttled call's own
///   sleep, and a 429 seen by [`learn`](Self::learn) holds every call until it has passed.
/// - **Weighted**: [`cost(tokens)`](Self::cost) names the same throttle with a call's
///   estimated tokens; [`settle`](Self::settle) corrects the estimate with the usage.
///
/// It is a guard of the throttle's kind: `throttle = …` in the attribute,
/// [`Retry::throttle`](crate::builder::Retry::throttle), a struct field, a `static`.
///
/// ```
/// use steadfast::{retry, AdaptiveThrottle};
/// use steadfast::http::Failure;
///
/// static OPENAI: AdaptiveThrottle = AdaptiveThrottle::new();
///
/// #[retry(attempts = 6, when = Failure::is_transient, retry_after = Failure::retry_after,
///         throttle = OPENAI.cost(estimate(prompt)))]
/// async fn complete(client: &reqwest::Client, prompt: &str) -> Result<String, Failure> {
///     let response = client.post("http://127.0.0.1:1/v1/chat/completions").body(prompt.to_owned()).send().await?;
///     // Checks the status, and teaches the throttle what the headers say.
///     Ok(OPENAI.error_for_status(response).await?.text().await?)
/// }
///
/// /// About four characters a token, and room for the answer.
/// fn estimate(prompt: &str) -> u64 {
///     prompt.len() as u64 / 4 + 256
/// }
/// ```
pub struct AdaptiveThrottle<C: Clock = DefaultClock> {
    state: Mutex<State>,
    clock: PhantomData<fn() -> C>,
}

/// What one scope knows.
#[derive(Debug, Clone, Copy)]
struct State {
    requests: Mirror,
    tokens: Mirror,
    /// The last response fed to `learn` said how many tokens are left: it counted the
    /// usage already, and `settle` has nothing to correct.
    tokens_told: bool,
    /// No attempt starts before this (a 429's `Retry-After`), in nanoseconds.
    hold_until: u64,
    cubic: Cubic,
    in_flight: u64,
    in_flight_tokens: u64,
    admitted: u64,
    throttled: u64,
}

impl State {
    const NEW: State = State {
        requests: Mirror::UNKNOWN,
        tokens: Mirror::UNKNOWN,
        tokens_told: false,
        hold_until: 0,
        cubic: Cubic::NEW,
        in_flight: 0,
        in_flight_tokens: 0,
        admitted: 0,
        throttled: 0,
    };

    /// Headers have been seen (a mirror is known, and stays so): they alone pace, and the
    /// cubic is left as it was (nothing reads it again).
    fn informed(&self) -> bool {
        self.requests.known || self.tokens.known
    }
}

/// What an [`AdaptiveThrottle`] remembers of an admitted attempt: its tokens, and the rate
/// it was admitted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveTicket {
    tokens: u64,
    epoch: u64,
}

/// What an [`AdaptiveThrottle`] has learned, from [`learned`](AdaptiveThrottle::learned).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Learned {
    /// The request rate it paces to, a minute; `None` while nothing limits it (no header
    /// and no 429 yet).
    pub requests_per_minute: Option<f64>,
    /// The token rate it paces to, a minute; `None` while no header has told it.
    pub tokens_per_minute: Option<f64>,
    /// Whether the rates come from rate-limit headers (else from 429s).
    pub from_headers: bool,
    /// Attempts it let through.
    pub admitted: u64,
    /// Attempts the server throttled (paced with a hint).
    pub throttled: u64,
}

impl fmt::Display for Learned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = if self.from_headers { "from headers" } else { "from 429s" };
        match (self.requests_per_minute, self.tokens_per_minute) {
            (None, None) => f.write_str("no limit seen")?,
            (Some(r), None) => write!(f, "{r:.0} requests/min ({source})")?,
            (None, Some(t)) => write!(f, "{t:.0} tokens/min ({source})")?,
            (Some(r), Some(t)) => write!(f, "{r:.0} requests/min, {t:.0} tokens/min ({source})")?,
        }
        write!(f, "; {} of {} attempts throttled", self.throttled, self.admitted)
    }
}

impl AdaptiveThrottle {
    const_fn! {
        /// A throttle that knows nothing yet: it lets everything through until a response's
        /// headers or a 429 teach it the limits.
        pub fn new() -> Self {
            AdaptiveThrottle { state: Mutex::new(State::NEW), clock: PhantomData }
        }
    }
}

impl Default for AdaptiveThrottle {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock> AdaptiveThrottle<C> {
    /// The same throttle, on the clock `C` instead of the [`DefaultClock`] (what it has
    /// learned is kept).
    pub fn clock<D: Clock>(self) -> AdaptiveThrottle<D> {
        let state = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        AdaptiveThrottle { state: Mutex::new(state), clock: PhantomData }
    }

    /// This throttle, for a call that will spend about `tokens` (the prompt's tokens and
    /// room for the answer): admitted when the server's token bucket holds them too.
    pub fn cost(&self, tokens: u64) -> Weighted<&Self> {
        Weighted::new(self, tokens)
    }

    /// Corrects a call's estimate with its usage (the response's `usage.total_tokens`):
    /// what it over-estimated goes back to the token bucket, what it under-estimated is
    /// taken. For a server that counts the tokens used rather than those asked for: call
    /// it after feeding the response to [`learn`](Self::learn) (or
    /// [`error_for_status`](Self::error_for_status)). When that response said how many tokens
    /// are left, the server's count already holds the usage and this changes nothing.
    pub fn settle(&self, estimated: u64, used: u64) {
        let now = C::now().as_nanos();
        let mut state = self.lock();
        if !state.tokens_told {
            state.tokens.settle(now, estimated as f64 - used as f64);
        }
    }

    /// What it has learned so far.
    pub fn learned(&self) -> Learned {
        let state = *self.lock();
        let per_minute = |m: &Mirror| m.known.then_some(m.rate * 60.0);
        let requests = if state.informed() {
            per_minute(&state.requests)
        } else {
            state.cubic.enabled.then_some(state.cubic.rate * 60.0)
        };
        Learned {
            requests_per_minute: requests,
            tokens_per_minute: per_minute(&state.tokens),
            from_headers: state.informed(),
            admitted: state.admitted,
            throttled: state.throttled,
        }
    }

    /// Teaches the throttle what a response (any status) said: its rate-limit headers
    /// (by [`http::rate_limits`](crate::http::rate_limits)), and for a 429, its
    /// `Retry-After`, before which no call starts.
    ///
    /// [`error_for_status`](Self::error_for_status) calls it for reqwest; call it yourself
    /// with hyper or any other client.
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn learn(&self, status: ::http::StatusCode, headers: &::http::HeaderMap) {
        let limits = crate::http::rate_limits(headers);
        let hold = (status == ::http::StatusCode::TOO_MANY_REQUESTS).then(|| crate::http::retry_after(headers));
        let report = |q: crate::http::Quota| Report { limit: q.limit, remaining: q.remaining, reset: q.reset };
        // Anthropic's token limit is `tokens`; where only the input side is reported, it
        // is the one a prompt spends most of.
        let tokens = if limits.tokens.remaining.is_some() { limits.tokens } else { limits.input_tokens };
        self.learn_reports(report(limits.requests), report(tokens), hold.flatten());
    }

    /// [`learn`](Self::learn) on plain numbers.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    fn learn_reports(&self, requests: Report, tokens: Report, hold: Option<Duration>) {
        let now = C::now().as_nanos();
        let mut state = self.lock();
        if let Some(hold) = hold {
            let until = now.saturating_add(u64::try_from(hold.as_nanos()).unwrap_or(u64::MAX));
            state.hold_until = state.hold_until.max(until);
        }
        state.tokens_told = tokens.remaining.is_some();
        if requests.remaining.is_none() && tokens.remaining.is_none() {
            return;
        }
        // This response's own request is in the server's count; of the others on their
        // way, some were counted and some not: count them all as spent (the cautious side).
        let others = state.in_flight.saturating_sub(1) as f64;
        let others_tokens =
            if state.in_flight == 0 { 0.0 } else { state.in_flight_tokens as f64 * others / state.in_flight as f64 };
        state.requests.learn(requests, now, others);
        state.tokens.learn(tokens, now, others_tokens);
    }

    /// reqwest's `error_for_status` (as [`http::error_for_status`](crate::http::error_for_status)),
    /// teaching the throttle what the response said first ([`learn`](Self::learn)): the
    /// one line of a call's body that feeds it.
    #[cfg(feature = "reqwest")]
    #[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
    pub async fn error_for_status(
        &self,
        response: reqwest::Response,
    ) -> Result<reqwest::Response, crate::http::Failure> {
        self.learn(response.status(), response.headers());
        crate::http::error_for_status(response).await
    }

    fn lock(&self) -> impl std::ops::DerefMut<Target = State> + '_ {
        // The state is plain numbers, valid whatever panicked while it was held.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits an attempt of `tokens`, or says how long to wait.
    fn admit_tokens(&self, tokens: u64) -> Admit<AdaptiveTicket, Infallible> {
        let now = C::now().as_nanos();
        let mut state = self.lock();
        let mut wait = state.hold_until.saturating_sub(now);
        if state.requests.known {
            wait = wait.max(state.requests.wait(now, 1.0));
        }
        if state.tokens.known {
            wait = wait.max(state.tokens.wait(now, tokens.max(1) as f64));
        }
        if !state.informed() {
            wait = wait.max(state.cubic.wait(now));
        }
        if wait > 0 {
            return Admit::Wait(Duration::from_nanos(wait));
        }
        if state.requests.known {
            state.requests.take(now, 1.0);
        }
        if state.tokens.known {
            state.tokens.take(now, tokens as f64);
        }
        if !state.informed() {
            state.cubic.take(now);
        }
        state.in_flight += 1;
        state.in_flight_tokens = state.in_flight_tokens.saturating_add(tokens);
        state.admitted += 1;
        Admit::Now(AdaptiveTicket { tokens, epoch: state.cubic.epoch })
    }

    fn release(state: &mut State, ticket: AdaptiveTicket) {
        state.in_flight = state.in_flight.saturating_sub(1);
        state.in_flight_tokens = state.in_flight_tokens.saturating_sub(ticket.tokens);
    }

    /// The state, for tests.
    #[cfg(test)]
    fn snapshot(&self) -> State {
        *self.lock()
    }
}

impl<C: Clock> Guard for AdaptiveThrottle<C> {
    type Refusal = Infallible;
    type Ticket = AdaptiveTicket;

    /// A request's permit now, or the wait until the server's buckets (as the throttle
    /// knows them) hold one.
    fn admit(&self) -> Admit<AdaptiveTicket, Infallible> {
        self.admit_tokens(0)
    }

    fn record(&self, ticket: AdaptiveTicket, verdict: Verdict) -> Record {
        let now = C::now().as_nanos();
        let mut state = self.lock();
        Self::release(&mut state, ticket);
        if verdict.is_failure() && verdict.paced() {
            state.throttled += 1;
            if !state.informed() {
                state.cubic.throttled(now, ticket.epoch);
            }
        } else if verdict.is_success() && !state.informed() {
            state.cubic.succeeded(now);
        }
        Record::Now(true)
    }

    fn abandon(&self, ticket: AdaptiveTicket, _running: bool) {
        // What it spent stays spent: a request that was sent was counted by the server.
        Self::release(&mut self.lock(), ticket);
    }
}

impl<C: Clock> Fits<Throttle> for AdaptiveThrottle<C> {}
impl<C: Clock> Immediate for AdaptiveThrottle<C> {}

impl<C: Clock> fmt::Debug for AdaptiveThrottle<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveThrottle").field("learned", &self.learned()).finish()
    }
}

/// An [`AdaptiveThrottle`] for a call of a given cost in tokens; a guard of the throttle's
/// kind. From [`AdaptiveThrottle::cost`] (borrowing the throttle) or
/// [`AdaptiveThrottles::cost`] (holding the scope's `Arc`, so that
/// `throttle = self.limits.cost(&key, tokens)` needs no binding of its own).
#[derive(Debug, Clone, Copy)]
pub struct Weighted<T> {
    throttle: T,
    tokens: u64,
}

impl<T> Weighted<T> {
    /// `throttle` (a reference to an [`AdaptiveThrottle`], an `Arc` of one) for a call of
    /// about `tokens`.
    pub const fn new(throttle: T, tokens: u64) -> Self {
        Weighted { throttle, tokens }
    }
}

impl<C: Clock, T: Deref<Target = AdaptiveThrottle<C>>> Guard for Weighted<T> {
    type Refusal = Infallible;
    type Ticket = AdaptiveTicket;

    fn admit(&self) -> Admit<AdaptiveTicket, Infallible> {
        self.throttle.admit_tokens(self.tokens)
    }

    fn record(&self, ticket: AdaptiveTicket, verdict: Verdict) -> Record {
        self.throttle.record(ticket, verdict)
    }

    fn abandon(&self, ticket: AdaptiveTicket, running: bool) {
        self.throttle.abandon(ticket, running)
    }
}

impl<C: Clock, T: Deref<Target = AdaptiveThrottle<C>>> Fits<Throttle> for Weighted<T> {}
impl<C: Clock, T: Deref<Target = AdaptiveThrottle<C>>> Immediate for Weighted<T> {}

#[cfg(all(test, loom))]
mod loom;
#[cfg(test)]
mod tests;
