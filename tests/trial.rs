//! A new user's trial, as tests: a reqwest client for an OpenAI-compatible API, tested
//! against a wiremock server on 127.0.0.1.
//!
//! What broke for that user, and how these tests avoid it:
//!
//! - **The paused clock against a real server.** Under `#[tokio::test(start_paused =
//!   true)]` tokio moves its clock to the next timer whenever the runtime has nothing to
//!   do, and a test waiting for a mock server's answer has nothing to do: the next timer
//!   is the attempt's `timeout`, so every attempt timed out at once. Here the runtime is a
//!   normal `#[tokio::test]` and `testing::instant_sleeps()` skips only the retry sleeps
//!   (recorded with their exact durations), while each attempt's `timeout` keeps real time.
//! - **A foreign error type.** `reqwest::Error` cannot be built from a timeout or an open
//!   breaker. `wrap` keeps the body on `reqwest::Error` and gives the caller
//!   `steadfast::Error<reqwest::Error>`; `steadfast::http::Failure` is the other way, an
//!   error type that holds a timeout, a refusal and a failed response's headers itself.
//!
//! reqwest's `error_for_status` drops the response's headers, so a hook given a plain
//! `reqwest::Error` cannot read `Retry-After`: the crate has no way to get them back from
//! one. [`Raw::complete`] therefore has no `retry_after` (and sleeps its own backoff on a
//! 429), [`Raw::complete_paced`] keeps the hint beside the error by hand, and [`Llm`]
//! uses `Failure`, which keeps the headers.
//!
//! Every delay is checked exactly: the jitter is seeded, and [`expected`] draws the same
//! delays from the same seed through `Policy::delays`.

#![cfg(feature = "reqwest")]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use steadfast::http::{self, Failure};
use steadfast::{retry, testing, Breaker, Error, Policy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ROUTE: &str = "/v1/chat/completions";
const SEED: u64 = 7;
/// The per-attempt limit of every client here, in real time.
const TIMEOUT: Duration = Duration::from_millis(50);
/// How long a hung response hangs: far past `TIMEOUT`.
const HANG: Duration = Duration::from_secs(10);
/// What "instant" means for a test whose policy would sleep seconds.
const FAST: Duration = Duration::from_millis(500);
const ATTEMPTS: usize = 4;
const S: Duration = Duration::from_secs(1);

/// The policy every client and builder here runs: what the attribute spells
/// `attempts = 4, min = "1s", max = "30s", timeout = "50ms"` (full jitter).
const POLICY: Policy =
    Policy::exponential(Duration::from_secs(1), Duration::from_secs(30)).attempts(ATTEMPTS as u32).timeout(TIMEOUT);

/// The first `n` sleeps `POLICY` takes under `testing::seed(SEED)`.
fn expected(n: usize) -> Vec<Duration> {
    let _seed = testing::seed(SEED);
    POLICY.delays().take(n).collect()
}

/// The body of an OpenAI chat completion request.
fn request(prompt: &str) -> serde_json::Value {
    serde_json::json!({ "model": "gpt-4o-mini", "messages": [{ "role": "user", "content": prompt }] })
}

fn breaker() -> Breaker {
    Breaker::new(5, Duration::from_secs(30)).named("llm")
}

// ---- the clients ----

/// A client on plain `reqwest::Error`, with `wrap`.
struct Raw {
    http: reqwest::Client,
    url: String,
    breaker: Breaker,
}

impl Raw {
    fn new(server: &MockServer) -> Self {
        Raw { http: reqwest::Client::new(), url: format!("{}{ROUTE}", server.uri()), breaker: breaker() }
    }

    /// No `retry_after`: a `reqwest::Error` from `error_for_status` has the status but not
    /// the headers, so a 429 waits for the policy's backoff, not for the server's hint.
    #[retry(
        attempts = 4, min = "1s", max = "30s", timeout = "50ms",
        when = http::is_transient_error, breaker = self.breaker, wrap,
    )]
    async fn complete(&self, prompt: &str) -> Result<String, Error<reqwest::Error>> {
        let response = self.http.post(&self.url).json(&request(prompt)).send().await?;
        response.error_for_status()?.text().await
    }

    /// `complete` with the server's hint, kept by hand: each attempt reads it from the
    /// response's headers before `error_for_status` drops them, and the hook takes it. It
    /// lives in the call (not in the client), so concurrent calls do not see each other's.
    async fn complete_paced(&self, prompt: &str) -> Result<String, Error<reqwest::Error>> {
        self.paced(prompt, &Mutex::new(None)).await
    }

    #[retry(
        attempts = 4, min = "1s", max = "30s", timeout = "50ms", when = http::is_transient_error,
        retry_after = |_: &reqwest::Error| hint.lock().unwrap().take(), breaker = self.breaker, wrap,
    )]
    async fn paced(&self, prompt: &str, hint: &Mutex<Option<Duration>>) -> Result<String, Error<reqwest::Error>> {
        let response = self.http.post(&self.url).json(&request(prompt)).send().await?;
        *hint.lock().unwrap() = http::retry_after(response.headers());
        response.error_for_status()?.text().await
    }
}

/// A client on `steadfast::http::Failure`: it holds the headers, a timeout and a
/// refusal itself, so it needs no `wrap`.
struct Llm {
    http: reqwest::Client,
    url: String,
    breaker: Breaker,
}

impl Llm {
    fn new(server: &MockServer) -> Self {
        Llm { http: reqwest::Client::new(), url: format!("{}{ROUTE}", server.uri()), breaker: breaker() }
    }

    #[retry(
        attempts = 4, min = "1s", max = "30s", timeout = "50ms",
        when = Failure::is_transient, retry_after = Failure::retry_after, breaker = self.breaker,
    )]
    async fn complete(&self, prompt: &str) -> Result<String, Failure> {
        let response = self.http.post(&self.url).json(&request(prompt)).send().await?;
        Ok(http::error_for_status(response).await?.text().await?)
    }
}

/// `Raw::complete_paced` through the builder. The policy carries the timeout: the
/// builder's own `.timeout(d)` needs an error that can hold an `Elapsed`, which
/// `reqwest::Error` cannot, and after `.wrap()` there is no `.timeout` to call.
async fn built_raw(client: &reqwest::Client, url: &str, breaker: &Breaker) -> Result<String, Error<reqwest::Error>> {
    let hint = Mutex::new(None);
    POLICY
        .retry(|| async {
            let response = client.post(url).json(&request("hello")).send().await?;
            *hint.lock().unwrap() = http::retry_after(response.headers());
            response.error_for_status()?.text().await
        })
        .when(http::is_transient_error)
        .retry_after(|_| hint.lock().unwrap().take())
        .breaker(breaker)
        .wrap()
        .await
}

/// `Llm::complete` through the builder; `Failure` holds an `Elapsed`, so `.timeout` works.
async fn built_failure(client: &reqwest::Client, url: &str, breaker: &Breaker) -> Result<String, Failure> {
    Policy::exponential(S, 30 * S)
        .attempts(ATTEMPTS as u32)
        .retry(|| async {
            let response = client.post(url).json(&request("hello")).send().await?;
            Ok(http::error_for_status(response).await?.text().await?)
        })
        .when(Failure::is_transient)
        .retry_after(Failure::retry_after)
        .timeout(TIMEOUT)
        .breaker(breaker)
        .await
}

// ---- the server ----

/// Answers the next `times` requests with `response` (after any mounted earlier).
async fn mount(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST")).and(path(ROUTE)).respond_with(response).up_to_n_times(times).mount(server).await;
}

/// Answers every request (after those mounted earlier) with `response`.
async fn mount_always(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST")).and(path(ROUTE)).respond_with(response).mount(server).await;
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string("a haiku about retries")
}

fn hung() -> ResponseTemplate {
    ok().set_delay(HANG)
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.expect("request recording is on").len()
}

/// What each way of calling the server returns, as one type: the caller's error's status,
/// or which of the loop's own errors it is.
#[derive(Debug, PartialEq)]
enum Seen {
    Ok(String),
    Status(u16),
    Elapsed,
    Open,
}

fn raw(result: Result<String, Error<reqwest::Error>>) -> Seen {
    match result {
        Ok(body) => Seen::Ok(body),
        Err(Error::Inner(e)) => Seen::Status(e.status().expect("a status error").as_u16()),
        Err(Error::Elapsed(elapsed)) => {
            assert_eq!(elapsed.limit(), TIMEOUT);
            Seen::Elapsed
        }
        Err(Error::Open(open)) => {
            assert_eq!(open.breaker(), Some("llm"));
            assert!(open.retry_in() <= Duration::from_secs(30));
            Seen::Open
        }
        Err(other) => panic!("{other:?}"),
    }
}

fn failure(result: Result<String, Failure>) -> Seen {
    match result {
        Ok(body) => Seen::Ok(body),
        Err(e) if e.is_timeout() => Seen::Elapsed,
        Err(e) if e.is_open() => Seen::Open,
        Err(e) => Seen::Status(e.status().expect("a status error").as_u16()),
    }
}

/// Each way of calling the server, on a fresh client (and breaker) for `server`.
#[derive(Debug, Clone, Copy)]
enum Way {
    Attribute,
    AttributePaced,
    AttributeFailure,
    Builder,
    BuilderFailure,
}

const ALL: [Way; 5] = [Way::Attribute, Way::AttributePaced, Way::AttributeFailure, Way::Builder, Way::BuilderFailure];
/// The ways that read the server's `Retry-After`.
const PACED: [Way; 4] = [Way::AttributePaced, Way::AttributeFailure, Way::Builder, Way::BuilderFailure];

/// One client and its breaker, called `calls` times one after another.
async fn run(way: Way, server: &MockServer, calls: usize) -> Vec<Seen> {
    let (raw_client, llm) = (Raw::new(server), Llm::new(server));
    let (client, url, breaker) = (reqwest::Client::new(), format!("{}{ROUTE}", server.uri()), breaker());
    let mut seen = Vec::new();
    for _ in 0..calls {
        seen.push(match way {
            Way::Attribute => raw(raw_client.complete("hello").await),
            Way::AttributePaced => raw(raw_client.complete_paced("hello").await),
            Way::AttributeFailure => failure(llm.complete("hello").await),
            Way::Builder => raw(built_raw(&client, &url, &breaker).await),
            Way::BuilderFailure => failure(built_failure(&client, &url, &breaker).await),
        });
    }
    seen
}

// ---- the scenarios ----

#[tokio::test]
async fn a_429_with_retry_after_sleeps_exactly_the_hint() {
    let _instant = testing::instant_sleeps();
    for way in PACED {
        let server = MockServer::start().await;
        mount(&server, ResponseTemplate::new(429).insert_header("retry-after", "2"), 1).await;
        mount_always(&server, ok()).await;

        let sleeps = testing::record_sleeps();
        let started = Instant::now();
        assert_eq!(run(way, &server, 1).await, [Seen::Ok("a haiku about retries".into())], "{way:?}");
        assert!(started.elapsed() < FAST, "{way:?}: took {:?}", started.elapsed());
        assert_eq!(sleeps.take(), [2 * S], "{way:?}");
        assert_eq!(requests(&server).await, 2, "{way:?}");
    }
}

#[tokio::test]
async fn a_plain_reqwest_error_loses_the_hint() {
    let _instant = testing::instant_sleeps();
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(429).insert_header("retry-after", "2"), 1).await;
    mount_always(&server, ok()).await;

    let sleeps = testing::record_sleeps();
    let _seed = testing::seed(SEED);
    assert_eq!(run(Way::Attribute, &server, 1).await, [Seen::Ok("a haiku about retries".into())]);
    // The policy's first delay, not the server's 2s.
    assert_eq!(sleeps.take(), expected(1));
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_401_is_returned_after_one_request() {
    let _instant = testing::instant_sleeps();
    for way in ALL {
        let server = MockServer::start().await;
        mount_always(&server, ResponseTemplate::new(401).set_body_string(r#"{"error":{"code":"invalid_api_key"}}"#))
            .await;

        let sleeps = testing::record_sleeps();
        assert_eq!(run(way, &server, 1).await, [Seen::Status(401)], "{way:?}");
        assert!(sleeps.take().is_empty(), "{way:?}");
        assert_eq!(requests(&server).await, 1, "{way:?}");
    }
}

/// The caller of `#[retry(wrap)]` matches on `steadfast::Error` itself.
#[tokio::test]
async fn the_401_is_the_inner_reqwest_error() {
    let server = MockServer::start().await;
    mount_always(&server, ResponseTemplate::new(401)).await;
    match Raw::new(&server).complete("hello").await {
        Err(Error::Inner(e)) => assert_eq!(e.status(), Some(reqwest::StatusCode::UNAUTHORIZED)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_hung_attempt_is_cut_by_its_timeout_and_retried() {
    let _instant = testing::instant_sleeps();
    for way in ALL {
        let server = MockServer::start().await;
        mount(&server, hung(), 1).await;
        mount_always(&server, ok()).await;

        let sleeps = testing::record_sleeps();
        let _seed = testing::seed(SEED);
        let started = Instant::now();
        assert_eq!(run(way, &server, 1).await, [Seen::Ok("a haiku about retries".into())], "{way:?}");
        let took = started.elapsed();
        // The hung attempt ran its 50ms in real time; the 1-2s backoff after it did not.
        assert!(took >= TIMEOUT && took < FAST, "{way:?}: took {took:?}");
        assert_eq!(sleeps.take(), expected(1), "{way:?}");
        assert_eq!(requests(&server).await, 2, "{way:?}");
    }
}

#[tokio::test]
async fn a_server_hung_on_every_attempt_ends_in_elapsed() {
    let _instant = testing::instant_sleeps();
    for way in ALL {
        let server = MockServer::start().await;
        mount_always(&server, hung()).await;

        let sleeps = testing::record_sleeps();
        let _seed = testing::seed(SEED);
        let started = Instant::now();
        assert_eq!(run(way, &server, 1).await, [Seen::Elapsed], "{way:?}");
        let took = started.elapsed();
        assert!(took >= TIMEOUT * ATTEMPTS as u32 && took < 2 * FAST, "{way:?}: took {took:?}");
        assert_eq!(sleeps.take(), expected(ATTEMPTS - 1), "{way:?}");
        assert_eq!(requests(&server).await, ATTEMPTS, "{way:?}");
    }
}

/// The breaker opens after five failures in a row (`breaker()`): the first call's four
/// 503s, then the second call's first, which also ends that call's retries; the third
/// call is turned away without a request.
#[tokio::test]
async fn an_outage_opens_the_breaker_and_the_next_call_sends_nothing() {
    let _instant = testing::instant_sleeps();
    for way in ALL {
        let server = MockServer::start().await;
        mount_always(&server, ResponseTemplate::new(503)).await;

        let sleeps = testing::record_sleeps();
        let _seed = testing::seed(SEED);
        let seen = run(way, &server, 3).await;
        assert_eq!(seen, [Seen::Status(503), Seen::Status(503), Seen::Open], "{way:?}");
        assert_eq!(sleeps.take(), expected(ATTEMPTS - 1), "{way:?}: no sleep after the breaker opened");
        assert_eq!(requests(&server).await, ATTEMPTS + 1, "{way:?}");
    }
}

/// A server pacing its clients is not an outage: 429s with `Retry-After` leave the
/// breaker closed, however many there are.
#[tokio::test]
async fn paced_429s_do_not_open_the_breaker() {
    let _instant = testing::instant_sleeps();
    for way in PACED {
        let server = MockServer::start().await;
        mount_always(&server, ResponseTemplate::new(429).insert_header("retry-after", "1")).await;

        let sleeps = testing::record_sleeps();
        assert_eq!(run(way, &server, 2).await, [Seen::Status(429), Seen::Status(429)], "{way:?}");
        assert_eq!(sleeps.take(), [S; 2 * (ATTEMPTS - 1)], "{way:?}");
        assert_eq!(requests(&server).await, 2 * ATTEMPTS, "{way:?}");
    }
}

/// The test the new user wanted: a real server, a `timeout` on every attempt, and a
/// backoff of seconds, finishing in milliseconds.
///
/// Under `#[tokio::test(start_paused = true)]` (and no `instant_sleeps`) the same test
/// fails: while the runtime waits for the server's answer, which comes from wiremock's own
/// thread, it has nothing to run, so the paused clock jumps to the next timer, which is
/// the attempt's 50ms `timeout`. The attempts time out before the server can answer
/// (sometimes before the request even reaches it), and the call returns `Error::Elapsed`
/// after four attempts in no time at all; now and then the server wins the race, so such a
/// test is flaky rather than reliably red. The paused clock is for code whose every wait
/// is a tokio timer; against a socket, keep real time and skip only the sleeps.
#[tokio::test]
async fn instant_sleeps_keep_a_real_server_and_its_timeouts_apart() {
    let _instant = testing::instant_sleeps();
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(503), 2).await;
    mount_always(&server, ok()).await;

    let sleeps = testing::record_sleeps();
    let _seed = testing::seed(SEED);
    let started = Instant::now();
    assert_eq!(Raw::new(&server).complete("hello").await.unwrap(), "a haiku about retries");
    assert!(started.elapsed() < FAST, "took {:?}", started.elapsed());
    let slept = sleeps.take();
    assert_eq!(slept, expected(2));
    assert!(slept.iter().sum::<Duration>() >= 2 * S, "seconds of backoff, none of it slept");
    assert_eq!(requests(&server).await, 3);
}
