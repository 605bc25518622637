//! The adaptive throttle as a user names it: in `throttle = …` with a cost, fed by the
//! body's `error_for_status`; and the permanent 429 (`insufficient_quota`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ::http::{HeaderMap, HeaderValue, StatusCode};
use steadfast::guard::{Admit, Guard};
use steadfast::http::{self, Failure};
use steadfast::{retry, testing, AdaptiveThrottle, AdaptiveThrottles};
use tokio::time::Instant;
use wiremock::{MockServer, ResponseTemplate};

#[path = "common/chat.rs"]
mod chat;

use chat::{client, mount};

static QUOTA: AdaptiveThrottle = AdaptiveThrottle::new();

#[retry(attempts = 4, min = "10ms", max = "10s", log = "off", when = Failure::is_transient,
        retry_after = Failure::retry_after, throttle = QUOTA)]
async fn complete(client: &reqwest::Client, url: &str) -> Result<String, Failure> {
    let response = QUOTA.error_for_status(client.post(url).send().await?).await?;
    Ok(response.text().await?)
}

#[tokio::test(start_paused = true)]
async fn insufficient_quota_is_not_retried_and_a_rate_limit_is() {
    let server = MockServer::start().await;
    let quota = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
    mount(&server, ResponseTemplate::new(429).set_body_string(quota).insert_header("retry-after", "1"), 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());
    let sleeps = testing::record_sleeps();
    let err = complete(&client(), &url).await.unwrap_err();
    assert!(err.is_quota_exhausted() && !err.is_transient());
    assert!(sleeps.take().is_empty(), "a spent quota is not retried");
    server.verify().await;

    let server = MockServer::start().await;
    let rate = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
    mount(&server, ResponseTemplate::new(429).set_body_string(rate).insert_header("retry-after-ms", "20"), 1).await;
    mount(&server, ResponseTemplate::new(200).set_body_string("ok"), 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());
    assert_eq!(complete(&client(), &url).await.unwrap(), "ok");
    assert_eq!(sleeps.take(), [Duration::from_millis(20)]);
    server.verify().await;
}

#[test]
fn quota_classification_needs_the_code_and_a_429() {
    let body = r#"{"error":{"code":"insufficient_quota"}}"#;
    assert!(http::is_quota_exhausted(StatusCode::TOO_MANY_REQUESTS, body));
    assert!(!http::is_quota_exhausted(StatusCode::FORBIDDEN, body));
    assert!(!http::is_quota_exhausted(StatusCode::TOO_MANY_REQUESTS, "check insufficient_quota docs"));
    assert!(!http::is_quota_exhausted(StatusCode::TOO_MANY_REQUESTS, ""));
}

#[tokio::test(start_paused = true)]
async fn error_for_status_teaches_the_throttle() {
    let server = MockServer::start().await;
    let ok = ResponseTemplate::new(200)
        .set_body_string("ok")
        .insert_header("x-ratelimit-limit-requests", "600")
        .insert_header("x-ratelimit-remaining-requests", "590")
        .insert_header("x-ratelimit-reset-requests", "1s")
        .insert_header("x-ratelimit-limit-tokens", "90000")
        .insert_header("x-ratelimit-remaining-tokens", "89000")
        .insert_header("x-ratelimit-reset-tokens", "666ms");
    mount(&server, ok, 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());
    let throttle = AdaptiveThrottle::new();
    let response = client().post(&url).send().await.unwrap();
    assert_eq!(throttle.error_for_status(response).await.unwrap().text().await.unwrap(), "ok");
    let learned = throttle.learned();
    assert!(learned.from_headers);
    // 10 requests back in a second; 1000 tokens in 666ms.
    assert_eq!(learned.requests_per_minute, Some(600.0));
    let tokens = learned.tokens_per_minute.unwrap();
    assert!((tokens - 90_090.09).abs() < 0.1, "{tokens}");
}

/// An in-process API: 5 requests left, one more a second; 400 tokens left, 100 more a
/// second. It answers with OpenAI's headers and counts what it served.
struct FakeApi {
    started: Instant,
    served: AtomicU32,
    tokens: AtomicU32,
    rejected: AtomicU32,
}

impl FakeApi {
    fn new() -> Self {
        FakeApi {
            started: Instant::now(),
            served: AtomicU32::new(0),
            tokens: AtomicU32::new(0),
            rejected: AtomicU32::new(0),
        }
    }

    fn headers(&self) -> HeaderMap {
        let elapsed = self.started.elapsed().as_secs_f64();
        let served = self.served.load(Ordering::SeqCst) as f64;
        let tokens = self.tokens.load(Ordering::SeqCst) as f64;
        let requests_left = (5.0 + elapsed - served).clamp(0.0, 60.0);
        let tokens_left = (400.0 + 100.0 * elapsed - tokens).clamp(0.0, 6000.0);
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            headers.insert(name, HeaderValue::from_str(&value).unwrap());
        };
        put("x-ratelimit-limit-requests", "60".into());
        put("x-ratelimit-remaining-requests", format!("{}", requests_left.floor()));
        put("x-ratelimit-reset-requests", format!("{}ms", ((60.0 - requests_left) * 1000.0).round()));
        put("x-ratelimit-limit-tokens", "6000".into());
        put("x-ratelimit-remaining-tokens", format!("{}", tokens_left.floor()));
        put("x-ratelimit-reset-tokens", format!("{}ms", ((6000.0 - tokens_left) * 10.0).round()));
        headers
    }

    async fn call(&self, tokens: u32) -> Result<(), (StatusCode, HeaderMap)> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let headers = self.headers();
        let left = |name| headers[name].to_str().unwrap().parse::<u32>().unwrap();
        if left("x-ratelimit-remaining-requests") < 1 || left("x-ratelimit-remaining-tokens") < tokens {
            self.rejected.fetch_add(1, Ordering::SeqCst);
            return Err((StatusCode::TOO_MANY_REQUESTS, headers));
        }
        self.served.fetch_add(1, Ordering::SeqCst);
        self.tokens.fetch_add(tokens, Ordering::SeqCst);
        Ok(())
    }
}

#[derive(Debug)]
struct RateLimited;

#[retry(attempts = 10, min = "1s", max = "10s", log = "off", throttle = limits.cost(u64::from(tokens)))]
async fn call(api: &FakeApi, limits: &AdaptiveThrottle, tokens: u32) -> Result<(), RateLimited> {
    match api.call(tokens).await {
        Ok(()) => Ok(()),
        Err((status, headers)) => {
            limits.learn(status, &headers);
            Err(RateLimited)
        }
    }
}

#[tokio::test(start_paused = true)]
async fn weighted_permits_keep_both_limits_without_a_429() {
    let api = FakeApi::new();
    let limits = AdaptiveThrottle::new();
    // Learn from one cheap call first, then 12 calls of 150 tokens, 4 at a time.
    call(&api, &limits, 10).await.unwrap();
    limits.learn(StatusCode::OK, &api.headers());
    let sizes = [150u32; 12];
    for chunk in sizes.chunks(4) {
        let (api, limits) = (&api, &limits);
        let calls = chunk.iter().map(|&t| async move {
            call(api, limits, t).await.unwrap();
            limits.learn(StatusCode::OK, &api.headers());
        });
        futures::future::join_all(calls).await;
    }
    assert_eq!(api.rejected.load(Ordering::SeqCst), 0, "no 429");
    assert_eq!(limits.learned().admitted, 13);
    // 1810 tokens at 100 a second after the first 400: at least ~14s, and not much more.
    let elapsed = api.started.elapsed();
    assert!(elapsed >= Duration::from_secs(14) && elapsed < Duration::from_secs(18), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn scopes_learn_apart() {
    let limits: AdaptiveThrottles<(String, String)> = AdaptiveThrottles::new();
    let api = FakeApi::new();
    let scope = limits.get(&("key".to_owned(), "gpt-4o".to_owned()));
    call(&api, &scope, 10).await.unwrap();
    scope.learn(StatusCode::OK, &api.headers());
    assert!(scope.learned().from_headers);
    let other = limits.get(&("key".to_owned(), "gpt-4o-mini".to_owned()));
    assert_eq!(other.learned().requests_per_minute, None);
}

struct Client {
    limits: AdaptiveThrottles<(String, String)>,
}

impl Client {
    #[retry(attempts = 2, log = "off", throttle = self.limits.cost(&(key.to_owned(), model.to_owned()), 100))]
    async fn complete(&self, key: &str, model: &str) -> Result<(), RateLimited> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_scope_waits_for_its_own_limits_only() {
    let client = Client { limits: AdaptiveThrottles::new() };
    let mut empty = HeaderMap::new();
    for (name, value) in [
        ("x-ratelimit-limit-requests", "60"),
        ("x-ratelimit-remaining-requests", "0"),
        ("x-ratelimit-reset-requests", "60s"),
    ] {
        empty.insert(name, HeaderValue::from_static(value));
    }
    client.limits.get(&("key".to_owned(), "gpt-4o".to_owned())).learn(StatusCode::OK, &empty);
    let start = Instant::now();
    client.complete("key", "gpt-4o-mini").await.unwrap();
    client.complete("other-key", "gpt-4o").await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "other scopes are not held");
    // The empty scope refills at one a second.
    client.complete("key", "gpt-4o").await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(client.limits.scopes().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn ietf_ratelimit_fields_pace_and_a_429_holds_until_its_hint() {
    let throttle = AdaptiveThrottle::new();
    let mut headers = HeaderMap::new();
    headers.insert("ratelimit-policy", HeaderValue::from_static("\"default\";q=100;w=60"));
    // 2 left, the window over in 20 s: the 98 spent come back over those 20 s.
    headers.insert("ratelimit", HeaderValue::from_static("\"default\";r=2;t=20"));
    throttle.learn(StatusCode::OK, &headers);
    assert_eq!(throttle.learned().requests_per_minute, Some(98.0 * 3.0));
    // Two at once, then one every 20/98 s.
    assert!(matches!(throttle.admit(), Admit::Now(_)));
    assert!(matches!(throttle.admit(), Admit::Now(_)));
    let Admit::Wait(wait) = throttle.admit() else { panic!("the bucket is empty") };
    let spacing = Duration::from_secs_f64(20.0 / 98.0);
    assert!(wait.abs_diff(spacing) <= Duration::from_nanos(1), "{wait:?}");
    tokio::time::advance(spacing).await;

    // A 429 with a hint holds every call until it has passed; garbage is ignored.
    let mut limited = HeaderMap::new();
    limited.insert("retry-after", HeaderValue::from_static("3"));
    limited.insert("ratelimit", HeaderValue::from_static("garbage;;"));
    throttle.learn(StatusCode::TOO_MANY_REQUESTS, &limited);
    assert_eq!(throttle.learned().requests_per_minute, Some(98.0 * 3.0), "the garbage changed nothing");
    let Admit::Wait(wait) = throttle.admit() else { panic!("held") };
    assert_eq!(wait, Duration::from_secs(3));
}
