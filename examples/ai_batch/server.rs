//! An OpenAI-compatible chat-completions server on 127.0.0.1 that misbehaves on a seeded
//! schedule: 429 with a retry hint, 503, a response that hangs, a short outage, and 401
//! for a revoked key. It also has rate limits it does not publish, only reports on every
//! response in OpenAI's `x-ratelimit-*` headers, and answers 429 to a request over them.
//! Times are scaled down ~10x from what a real API does, so the batch runs in seconds.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// The key the server accepts.
pub const GOOD_KEY: &str = "sk-local-good";
/// A key the server has revoked: every request with it gets 401.
pub const REVOKED_KEY: &str = "sk-local-revoked";

/// How long a hung response hangs: far past the client's timeout, bounded all the same.
const HANG: Duration = Duration::from_secs(10);
/// The outage: every request in this window, from the server's start, gets 503.
const OUTAGE: (Duration, Duration) = (Duration::from_millis(3000), Duration::from_millis(4500));

/// The hidden limits: buckets of requests and tokens (prompt words and `max_tokens`),
/// refilled continuously as OpenAI's are; about 480 requests and 24000 tokens a minute.
const REQUESTS: (f64, f64) = (40.0, 8.0); // (capacity, refill a second)
const TOKENS: (f64, f64) = (1600.0, 400.0);

/// What the server does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    None,
    RateLimited,
    Unavailable,
    OverLimit,
    Hang,
    Outage,
    Unauthorized,
}

impl Fault {
    pub fn label(self) -> &'static str {
        match self {
            Fault::None => "200 ok",
            Fault::RateLimited => "429 rate limited",
            Fault::Unavailable => "503 unavailable",
            Fault::OverLimit => "429 over the limit",
            Fault::Hang => "hung",
            Fault::Outage => "503 outage",
            Fault::Unauthorized => "401 unauthorized",
        }
    }
}

/// What the server did, for the summary to reconcile against.
#[derive(Default)]
pub struct Served {
    pub by_fault: Mutex<HashMap<Fault, u32>>,
    pub requests: AtomicU32,
}

struct Shared {
    seed: u64,
    started: Instant,
    /// Requests seen per prompt: the schedule is by prompt and attempt, so it does not
    /// depend on the order concurrent requests arrive in.
    seen: Mutex<HashMap<String, u32>>,
    served: Arc<Served>,
    limits: Mutex<Buckets>,
}

/// What is left of the hidden limits, as of `at`.
struct Buckets {
    requests: f64,
    tokens: f64,
    at: Instant,
}

impl Buckets {
    /// Charges a request of `tokens` if both buckets hold it; the headers that report
    /// what is left, and when refused, the wait until it would fit.
    fn charge(&mut self, tokens: f64) -> (HeaderMap, Option<Duration>) {
        let now = Instant::now();
        let dt = now.duration_since(self.at).as_secs_f64();
        self.requests = (self.requests + dt * REQUESTS.1).min(REQUESTS.0);
        self.tokens = (self.tokens + dt * TOKENS.1).min(TOKENS.0);
        self.at = now;
        let fits = self.requests >= 1.0 && self.tokens >= tokens;
        let wait = ((1.0 - self.requests).max(0.0) / REQUESTS.1).max((tokens - self.tokens).max(0.0) / TOKENS.1);
        if fits {
            self.requests -= 1.0;
            self.tokens -= tokens;
        }
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            headers.insert(name, HeaderValue::from_str(&value).expect("ASCII"));
        };
        let reset = |left: f64, (capacity, rate): (f64, f64)| format!("{:.0}ms", (capacity - left) / rate * 1000.0);
        put("x-ratelimit-limit-requests", format!("{}", REQUESTS.0));
        put("x-ratelimit-remaining-requests", format!("{}", self.requests.floor()));
        put("x-ratelimit-reset-requests", reset(self.requests, REQUESTS));
        put("x-ratelimit-limit-tokens", format!("{}", TOKENS.0));
        put("x-ratelimit-remaining-tokens", format!("{}", self.tokens.floor()));
        put("x-ratelimit-reset-tokens", reset(self.tokens, TOKENS));
        (headers, (!fits).then(|| Duration::from_secs_f64(wait)))
    }
}

pub struct Server {
    pub url: String,
    pub served: Arc<Served>,
}

/// Starts the server on a free port of 127.0.0.1.
pub async fn start(seed: u64) -> std::io::Result<Server> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    let served = Arc::new(Served::default());
    let shared = Arc::new(Shared {
        seed,
        started: Instant::now(),
        seen: Mutex::new(HashMap::new()),
        served: Arc::clone(&served),
        limits: Mutex::new(Buckets { requests: REQUESTS.0, tokens: TOKENS.0, at: Instant::now() }),
    });
    let app = Router::new().route("/v1/chat/completions", post(complete)).with_state(shared);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Server { url, served })
}

#[derive(Deserialize)]
struct ChatRequest {
    model: String,
    messages: Vec<Message>,
    #[serde(default)]
    max_tokens: u32,
}

#[derive(Deserialize)]
struct Message {
    content: String,
}

async fn complete(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(request): Json<ChatRequest>) -> Response {
    let prompt = request.messages.last().map(|m| m.content.clone()).unwrap_or_default();
    let attempt = {
        let mut seen = shared.seen.lock().unwrap();
        let n = seen.entry(prompt.clone()).or_default();
        *n += 1;
        *n
    };
    let mut draw = Draw::new(shared.seed, &prompt, attempt);
    let since_start = shared.started.elapsed();
    let key = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let mut limits = None;
    let fault = if key != Some(GOOD_KEY) {
        Fault::Unauthorized
    } else if (OUTAGE.0..OUTAGE.1).contains(&since_start) {
        Fault::Outage
    } else {
        let tokens = prompt.split_whitespace().count() as f64 + f64::from(request.max_tokens);
        let (headers, over) = shared.limits.lock().unwrap().charge(tokens);
        let fault = if over.is_some() { Fault::OverLimit } else { draw.fault(attempt) };
        limits = Some((headers, over));
        fault
    };
    shared.served.requests.fetch_add(1, Ordering::SeqCst);
    *shared.served.by_fault.lock().unwrap().entry(fault).or_default() += 1;

    let mut response = respond(fault, &mut draw, &prompt, &request.model).await;
    if let Some((headers, over)) = limits {
        response.headers_mut().extend(headers);
        if let Some(wait) = over {
            let ms = wait.as_millis().max(1) as u64;
            response.headers_mut().insert("retry-after-ms", HeaderValue::from(ms));
        }
    }
    response
}

/// The response to a request of `prompt` that meets `fault`.
async fn respond(fault: Fault, draw: &mut Draw, prompt: &str, model: &str) -> Response {
    match fault {
        Fault::OverLimit => error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", "Rate limit reached."),
        Fault::Unauthorized => {
            let body = json!({"error": {
                "message": "Incorrect API key provided.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }});
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
        Fault::RateLimited => {
            // Both header forms, as real APIs send them; `retry-after-ms` wins.
            let ms = 200 + draw.below(600);
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded", "Rate limit reached.");
            let headers = response.headers_mut();
            headers.insert("retry-after-ms", HeaderValue::from(ms));
            headers.insert("retry-after", HeaderValue::from(ms.div_ceil(1000)));
            response
        }
        Fault::Unavailable | Fault::Outage => {
            error(StatusCode::SERVICE_UNAVAILABLE, "server_overloaded", "The server is overloaded.")
        }
        Fault::Hang => {
            tokio::time::sleep(HANG).await;
            error(StatusCode::GATEWAY_TIMEOUT, "timeout", "Gave up generating.")
        }
        Fault::None => {
            // Generation time: a short prompt still takes a while.
            tokio::time::sleep(Duration::from_millis(80 + draw.below(160))).await;
            let content = reply(draw);
            Json(json!({
                "id": format!("chatcmpl-local-{:016x}", draw.next()),
                "object": "chat.completion",
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt.split_whitespace().count(),
                          "completion_tokens": content.split_whitespace().count()},
            }))
            .into_response()
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "server_error", "code": code}});
    (status, Json(body)).into_response()
}

/// A few words that look like an answer.
fn reply(draw: &mut Draw) -> String {
    const WORDS: &[&str] = &[
        "quiet",
        "rivers",
        "carry",
        "light",
        "through",
        "stone",
        "and",
        "morning",
        "returns",
        "slowly",
        "to",
        "the",
        "open",
        "field",
        "where",
        "nothing",
        "waits",
        "rain",
        "remembers",
    ];
    let words: Vec<&str> = (0..6 + draw.below(6)).map(|_| WORDS[draw.below(WORDS.len() as u64) as usize]).collect();
    let text = words.join(" ");
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| format!("{}{}.", first.to_uppercase(), chars.as_str()))
}

/// A small deterministic generator (SplitMix64) keyed by seed, prompt and attempt.
struct Draw(u64);

impl Draw {
    fn new(seed: u64, prompt: &str, attempt: u32) -> Self {
        // FNV-1a over the prompt: stable across runs and platforms, unlike `DefaultHasher`.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in prompt.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Draw(seed ^ h ^ u64::from(attempt).wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// The schedule: first attempts fail most (24%), later ones less, as load evens out.
    fn fault(&mut self, attempt: u32) -> Fault {
        let (rate_limited, unavailable, hang) = match attempt {
            1 => (12, 8, 4),
            2 => (6, 4, 2),
            _ => (3, 2, 0),
        };
        match self.below(100) {
            p if p < rate_limited => Fault::RateLimited,
            p if p < rate_limited + unavailable => Fault::Unavailable,
            p if p < rate_limited + unavailable + hang => Fault::Hang,
            _ => Fault::None,
        }
    }
}
