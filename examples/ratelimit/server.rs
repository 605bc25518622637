//! The API whose limits the client is not told: an in-process model on tokio's clock (paused,
//! so minutes of traffic run in a moment), with OpenAI's continuous buckets for requests and
//! tokens, and its headers unless told to send only 429 + `Retry-After`.

use std::sync::Mutex;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

/// Every request's `max_tokens`.
pub const MAX_TOKENS: u64 = 600;

/// One prompt of the batch: what it spends and how long the model takes over it.
#[derive(Debug, Clone, Copy)]
pub struct Prompt {
    pub input: u64,
    pub output: u64,
}

impl Prompt {
    /// Tokens the server charges on admission: the prompt and the answer's `max_tokens`
    /// (as OpenAI counts them), whatever the answer turns out to use.
    pub fn tokens(&self) -> u64 {
        self.input + MAX_TOKENS
    }

    /// How long an answer takes once admitted.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(500 + self.output * 4)
    }
}

/// The batch: most prompts short, a fifth long (documents pasted in), answers of 50 to 600
/// tokens; none charged more than half the token limit (one that never fits is not a rate
/// question).
pub fn prompts(n: usize, seed: u64, tpm: u64) -> Vec<Prompt> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let input = if rng.random_bool(0.8) { rng.random_range(100..1000) } else { rng.random_range(1000..6000) };
            let output = rng.random_range(50..MAX_TOKENS);
            Prompt { input: input.min((tpm / 2).saturating_sub(MAX_TOKENS).max(1)), output }
        })
        .collect()
}

/// The hidden limits, a minute.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub rpm: u64,
    pub tpm: u64,
}

impl Limits {
    /// The shortest time this batch can take: the buckets start full, then refill at the
    /// limits; and 16 at a time can take no less than their latencies allow.
    pub fn best_wall(&self, prompts: &[Prompt], concurrency: usize) -> Duration {
        let n = prompts.len() as f64;
        let tokens: u64 = prompts.iter().map(Prompt::tokens).sum();
        let by_requests = (n - self.rpm as f64).max(0.0) / self.rpm as f64 * 60.0;
        let by_tokens = (tokens as f64 - self.tpm as f64).max(0.0) / self.tpm as f64 * 60.0;
        let busy: Duration = prompts.iter().map(Prompt::latency).sum();
        let by_concurrency = busy.as_secs_f64() / concurrency as f64;
        // An answer's latency comes after the last admission.
        let last = prompts.iter().map(Prompt::latency).min().unwrap_or_default().as_secs_f64();
        Duration::from_secs_f64((by_requests.max(by_tokens) + last).max(by_concurrency))
    }
}

/// A response: 200 with the usage, or 429; with the rate-limit headers, or only
/// `Retry-After`.
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
}

struct Buckets {
    requests: f64,
    tokens: f64,
    at: Instant,
}

/// The server. Counts what it answered.
pub struct Server {
    limits: Limits,
    headers: bool,
    buckets: Mutex<Buckets>,
    pub requests: Mutex<u64>,
    pub rate_limited: Mutex<u64>,
}

impl Server {
    pub fn new(limits: Limits, headers: bool) -> Self {
        let buckets = Buckets { requests: limits.rpm as f64, tokens: limits.tpm as f64, at: Instant::now() };
        Server { limits, headers, buckets: Mutex::new(buckets), requests: Mutex::new(0), rate_limited: Mutex::new(0) }
    }

    /// Answers one request: admitted if both buckets hold it (charged then), else 429.
    pub async fn complete(&self, prompt: Prompt) -> Response {
        *self.requests.lock().unwrap() += 1;
        let (admitted, headers) = {
            let mut b = self.buckets.lock().unwrap();
            let now = Instant::now();
            let dt = now.duration_since(b.at).as_secs_f64();
            let (rpm, tpm) = (self.limits.rpm as f64, self.limits.tpm as f64);
            b.requests = (b.requests + dt * rpm / 60.0).min(rpm);
            b.tokens = (b.tokens + dt * tpm / 60.0).min(tpm);
            b.at = now;
            let cost = prompt.tokens() as f64;
            let admitted = b.requests >= 1.0 && b.tokens >= cost;
            if admitted {
                b.requests -= 1.0;
                b.tokens -= cost;
            }
            // The wait until both buckets would hold this request.
            let wait = ((1.0 - b.requests).max(0.0) / rpm).max((cost - b.tokens).max(0.0) / tpm) * 60.0;
            (admitted, self.headers(&b, (!admitted).then_some(wait)))
        };
        if admitted {
            tokio::time::sleep(prompt.latency()).await;
            Response { status: StatusCode::OK, headers }
        } else {
            *self.rate_limited.lock().unwrap() += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            Response { status: StatusCode::TOO_MANY_REQUESTS, headers }
        }
    }

    /// OpenAI's headers (resets as Go durations in milliseconds), and on a 429 its hint:
    /// `retry-after-ms` with the headers, whole seconds of `retry-after` without.
    fn headers(&self, b: &Buckets, retry_after: Option<f64>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            headers.insert(name, HeaderValue::from_str(&value).expect("ASCII"));
        };
        if self.headers {
            let (rpm, tpm) = (self.limits.rpm as f64, self.limits.tpm as f64);
            let reset_ms = |level: f64, limit: f64| ((limit - level) / limit * 60_000.0).ceil();
            put("x-ratelimit-limit-requests", format!("{}", self.limits.rpm));
            put("x-ratelimit-remaining-requests", format!("{}", b.requests.floor().max(0.0)));
            put("x-ratelimit-reset-requests", format!("{}ms", reset_ms(b.requests, rpm)));
            put("x-ratelimit-limit-tokens", format!("{}", self.limits.tpm));
            put("x-ratelimit-remaining-tokens", format!("{}", b.tokens.floor().max(0.0)));
            put("x-ratelimit-reset-tokens", format!("{}ms", reset_ms(b.tokens, tpm)));
            if let Some(wait) = retry_after {
                put("retry-after-ms", format!("{}", (wait * 1000.0).ceil().max(1.0)));
            }
        } else if let Some(wait) = retry_after {
            put("retry-after", format!("{}", wait.ceil().max(1.0)));
        }
        headers
    }
}
