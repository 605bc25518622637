//! The client: one `#[retry]` method whose policy and guards the client owns (chosen for
//! the target at run time), an error type that knows what is worth retrying, and the
//! counters the summary reads.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use steadfast::http::Failure;
use steadfast::{retry, AdaptiveThrottle, Attempt, Breaker, Elapsed, Open, Policy};
use tokio::time::Instant;

/// How the client retries and paces one target.
pub struct Target {
    pub policy: Policy,
    /// Learns the API's rate limits from its headers (or its 429s): no guess to set.
    pub throttle: AdaptiveThrottle,
    pub breaker: Breaker,
    /// The shortest pause of a call turned away by the breaker before it looks again.
    pub requeue_pause: Duration,
}

impl Target {
    /// The local server: its times are scaled ~10x down, and so are these. Five failed
    /// attempts in a row (any call) open the breaker, and a probe goes through after a
    /// second.
    pub fn local() -> Self {
        Target {
            policy: Policy::exponential(Duration::from_millis(100), Duration::from_secs(2))
                .attempts(6)
                .timeout(Duration::from_secs(1)),
            throttle: AdaptiveThrottle::new(),
            breaker: Breaker::new(5, Duration::from_secs(1)).named("local"),
            requeue_pause: Duration::from_millis(100),
        }
    }

    /// A real endpoint: the same policy at production scale; the throttle learns your
    /// rate-limit tier. A hint above `max` (a quota reset minutes away) ends the retries at
    /// once instead of blocking a worker.
    pub fn remote() -> Self {
        Target {
            policy: Policy::exponential(Duration::from_secs(1), Duration::from_secs(30))
                .attempts(6)
                .timeout(Duration::from_secs(60)),
            throttle: AdaptiveThrottle::new(),
            breaker: Breaker::new(5, Duration::from_secs(30)).named("remote"),
            requeue_pause: Duration::from_secs(1),
        }
    }
}

/// Why a call failed.
#[derive(Debug)]
pub enum ApiError {
    /// The HTTP exchange failed: an error status, the transport, or `timeout`.
    Http(Failure),
    /// The breaker is open: the call was not made.
    Open(Open),
    /// A 200 without a completion in it.
    Empty,
}

/// The answer's length limit, sent with every request: the API counts it against the
/// token limit on admission, with the prompt.
pub const MAX_TOKENS: u64 = 32;

/// A request's tokens as the API counts them: the prompt's (about one a word for English
/// text; a tokenizer such as tiktoken counts them exactly) and `max_tokens`.
fn estimate(prompt: &str) -> u64 {
    prompt.split_whitespace().count() as u64 + MAX_TOKENS
}

impl ApiError {
    /// Retry what the server or the network may get over: 408/409/429/5xx (or what
    /// `x-should-retry` says), timeouts, dropped connections. Never a 401.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Http(failure) => failure.is_transient(),
            ApiError::Open(_) | ApiError::Empty => false,
        }
    }

    /// The server's `retry-after-ms` / `retry-after`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Http(failure) => failure.retry_after(),
            ApiError::Open(_) | ApiError::Empty => None,
        }
    }

    /// A short label for the summary: "429 rate limited", "timed out" …
    pub fn cause(&self) -> String {
        match self {
            ApiError::Http(f) if f.is_timeout() => "timed out".into(),
            ApiError::Http(f) => match f.status() {
                Some(s) => format!("{} {}", s.as_u16(), s.canonical_reason().unwrap_or("").to_lowercase()),
                None => "connection failed".into(),
            },
            ApiError::Open(_) => "breaker open".into(),
            ApiError::Empty => "empty completion".into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Http(failure) => failure.fmt(f),
            ApiError::Open(open) => open.fmt(f),
            ApiError::Empty => f.write_str("the response held no completion"),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Http(failure) => Some(failure),
            ApiError::Open(open) => Some(open),
            ApiError::Empty => None,
        }
    }
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        ApiError::Http(failure)
    }
}

impl From<reqwest::Error> for ApiError {
    fn from(e: reqwest::Error) -> Self {
        ApiError::Http(e.without_url().into())
    }
}

impl From<Open> for ApiError {
    fn from(open: Open) -> Self {
        ApiError::Open(open)
    }
}

impl From<Elapsed> for ApiError {
    fn from(e: Elapsed) -> Self {
        ApiError::Http(e.into())
    }
}

/// One prompt of the batch, with the key of the project it bills to.
#[derive(Clone, Debug)]
pub struct Prompt {
    pub id: usize,
    pub text: String,
    pub key: String,
}

/// Counters shared by every call.
#[derive(Default)]
pub struct Stats {
    pub attempts: AtomicU32,
    pub retries: Mutex<BTreeMap<String, u32>>,
    pub throttle_waits: AtomicU32,
    pub throttled_for: Mutex<Duration>,
    /// Calls the breaker turned away, or cut short by opening, and sent again.
    pub requeued: AtomicU32,
}

impl Stats {
    pub fn retries(&self) -> u32 {
        self.retries.lock().unwrap().values().sum()
    }
}

/// When one call's next attempt could start, to tell the throttle's wait apart from the
/// backoff: the attempt starts later than that only if it waited for a permit.
pub struct Trace {
    ready: Mutex<Instant>,
}

impl Trace {
    pub fn new() -> Self {
        Trace { ready: Mutex::new(Instant::now()) }
    }

    fn attempt_started(&self, stats: &Stats) {
        stats.attempts.fetch_add(1, Ordering::SeqCst);
        let waited = self.ready.lock().unwrap().elapsed();
        // Timers round up to the millisecond and tasks wait their turn: a few
        // milliseconds late is noise, not a throttle.
        if waited >= Duration::from_millis(5) {
            stats.throttle_waits.fetch_add(1, Ordering::SeqCst);
            *stats.throttled_for.lock().unwrap() += waited;
        }
    }

    /// `notify`: counts the retry by cause and notes when the sleep ends.
    fn retrying(&self, stats: &Stats, attempt: &Attempt<'_, ApiError>) {
        *self.ready.lock().unwrap() = Instant::now() + attempt.delay();
        let cause = attempt.error().map_or_else(|| "rejected value".into(), ApiError::cause);
        *stats.retries.lock().unwrap().entry(cause).or_default() += 1;
    }
}

/// An OpenAI-compatible chat-completions client.
pub struct Api {
    client: reqwest::Client,
    url: String,
    model: String,
    pub target: Target,
    pub stats: Stats,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

impl Api {
    /// `base` is the API root, e.g. `https://api.openai.com/v1`.
    pub fn new(base: &str, model: &str, target: Target) -> Self {
        let base = base.trim_end_matches('/');
        let url =
            if base.ends_with("/chat/completions") { base.to_owned() } else { format!("{base}/chat/completions") };
        let client = reqwest::Client::builder()
            .user_agent(concat!("steadfast-ai-batch/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("a client without TLS configuration cannot fail to build");
        Api { client, url, model: model.to_owned(), target, stats: Stats::default() }
    }

    /// Completes one prompt under the target's policy, throttle and breaker.
    pub async fn complete(&self, prompt: &Prompt) -> Result<String, ApiError> {
        self.attempts(prompt, &Trace::new()).await
    }

    #[retry(
        policy = self.target.policy,
        when = ApiError::is_transient, retry_after = ApiError::retry_after,
        throttle = self.target.throttle.cost(estimate(&prompt.text)), breaker = self.target.breaker,
        notify = |a: &Attempt<'_, ApiError>| trace.retrying(&self.stats, a),
    )]
    async fn attempts(&self, prompt: &Prompt, trace: &Trace) -> Result<String, ApiError> {
        trace.attempt_started(&self.stats);
        let body = json!({"model": self.model, "max_tokens": MAX_TOKENS,
                          "messages": [{"role": "user", "content": prompt.text}]});
        let response = self.client.post(&self.url).bearer_auth(&prompt.key).json(&body).send().await?;
        // Checks the status, and teaches the throttle the limits the headers report.
        let completion: Completion = self.target.throttle.error_for_status(response).await?.json().await?;
        let content = completion.choices.into_iter().next().and_then(|c| c.message.content);
        content.filter(|c| !c.is_empty()).ok_or(ApiError::Empty)
    }
}
