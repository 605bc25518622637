//! `steadfast::http` against real servers on 127.0.0.1: wiremock for single behaviours, an
//! axum server for the load test, a raw socket for a body cut short.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use steadfast::http::{self, Failure};
use steadfast::{retry, testing, Attempt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::time::Instant;
use wiremock::{MockServer, ResponseTemplate};

#[path = "common/chat.rs"]
mod chat;

use chat::{client, mount};

#[retry(attempts = 4, min = "10ms", max = "10s", log = "off", when = Failure::is_transient, retry_after = Failure::retry_after)]
async fn complete(client: &reqwest::Client, url: &str) -> Result<String, Failure> {
    let response = http::error_for_status(client.post(url).send().await?).await?;
    Ok(response.text().await?)
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_to_the_millisecond() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(429).insert_header("retry-after-ms", "1234"), 1).await;
    mount(&server, ResponseTemplate::new(503).insert_header("retry-after", "3"), 1).await;
    mount(&server, ResponseTemplate::new(200).set_body_string("done"), 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());

    let sleeps = testing::record_sleeps();
    let start = Instant::now();
    assert_eq!(complete(&client(), &url).await.unwrap(), "done");
    let hinted = [Duration::from_millis(1234), Duration::from_secs(3)];
    assert_eq!(sleeps.take(), hinted);
    // Nothing but the two sleeps moved the paused clock: the hints were kept exactly.
    assert_eq!(start.elapsed(), hinted[0] + hinted[1]);
    server.verify().await;
}

#[tokio::test(start_paused = true)]
async fn a_hint_above_max_ends_the_retries() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(429).insert_header("retry-after", "11"), 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());

    let sleeps = testing::record_sleeps();
    let err = complete(&client(), &url).await.unwrap_err();
    assert_eq!(err.status(), Some(reqwest::StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(11)));
    assert!(sleeps.take().is_empty());
    server.verify().await;
}

#[tokio::test(start_paused = true)]
async fn unauthorized_is_returned_after_one_attempt() {
    let server = MockServer::start().await;
    let body = r#"{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}"#;
    mount(&server, ResponseTemplate::new(401).set_body_string(body), 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());

    let sleeps = testing::record_sleeps();
    let err = complete(&client(), &url).await.unwrap_err();
    assert_eq!(err.status(), Some(reqwest::StatusCode::UNAUTHORIZED));
    assert_eq!(err.body(), body);
    assert!(!err.is_transient() && !err.is_timeout());
    assert_eq!(err.to_string(), "server answered 401 Unauthorized");
    assert!(sleeps.take().is_empty());
    server.verify().await;
}

#[tokio::test(start_paused = true)]
async fn x_should_retry_overrides_the_status() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(400).insert_header("x-should-retry", "true"), 1).await;
    mount(&server, ResponseTemplate::new(503).insert_header("x-should-retry", "false"), 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());

    let err = complete(&client(), &url).await.unwrap_err();
    assert_eq!(err.status(), Some(reqwest::StatusCode::SERVICE_UNAVAILABLE));
    server.verify().await;
}

// Real time: a paused clock would fire the timeout while the socket is read.
#[retry(
    attempts = 3, min = "1ms", max = "5ms", timeout = "200ms", log = "off", when = Failure::is_transient,
    notify = |a: &Attempt<'_, Failure>| if a.error().is_some_and(Failure::is_timeout) { timeouts.fetch_add(1, Ordering::SeqCst); },
)]
async fn complete_in_time(client: &reqwest::Client, url: &str, timeouts: &AtomicU32) -> Result<String, Failure> {
    let response = http::error_for_status(client.post(url).send().await?).await?;
    Ok(response.text().await?)
}

#[tokio::test]
async fn a_hung_response_is_cut_by_timeout_and_retried() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(200).set_delay(Duration::from_secs(60)), 2).await;
    mount(&server, ResponseTemplate::new(200).set_body_string("done"), 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());

    let (start, timeouts) = (std::time::Instant::now(), AtomicU32::new(0));
    assert_eq!(complete_in_time(&client(), &url, &timeouts).await.unwrap(), "done");
    assert_eq!(timeouts.load(Ordering::SeqCst), 2);
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(400) && took < Duration::from_secs(10), "took {took:?}");
    server.verify().await;
}

#[tokio::test]
async fn the_last_timeout_is_the_callers_error() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(200).set_delay(Duration::from_secs(60)), 3).await;
    let url = format!("{}/v1/chat/completions", server.uri());

    let timeouts = AtomicU32::new(0);
    let err = complete_in_time(&client(), &url, &timeouts).await.unwrap_err();
    assert_eq!(timeouts.load(Ordering::SeqCst), 2); // the third is returned, not retried
    assert!(err.is_timeout() && err.is_transient() && err.status().is_none());
    assert_eq!(err.to_string(), "attempt timed out after 200ms");
    assert!(std::error::Error::source(&err).is_some_and(|s| s.is::<steadfast::Elapsed>()));
    server.verify().await;
}

static FLAKY: steadfast::Breaker = steadfast::Breaker::new(2, Duration::from_secs(30));

#[retry(attempts = 2, min = "1ms", log = "off", when = Failure::is_transient, breaker = FLAKY)]
async fn guarded(client: &reqwest::Client, url: &str) -> Result<String, Failure> {
    let response = http::error_for_status(client.post(url).send().await?).await?;
    Ok(response.text().await?)
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_is_a_failure_too() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(503), 2).await;
    let url = format!("{}/v1/chat/completions", server.uri());

    let err = guarded(&client(), &url).await.unwrap_err();
    assert_eq!(err.status(), Some(reqwest::StatusCode::SERVICE_UNAVAILABLE));
    // Two failures in a row opened it: the next call is not made.
    let err = guarded(&client(), &url).await.unwrap_err();
    assert!(err.is_open() && !err.is_transient() && err.status().is_none());
    assert_eq!(err.to_string(), "circuit breaker is open");
    assert!(std::error::Error::source(&err).is_some_and(|s| s.is::<steadfast::Open>()));
    server.verify().await;
}

// ---- a non-idempotent POST: the safe class, and an Idempotency-Key ----

#[retry(attempts = 3, min = "10ms", max = "10s", log = "off", when = Failure::is_unprocessed, retry_after = Failure::retry_after)]
async fn pay(client: &reqwest::Client, url: &str, made: &AtomicU32) -> Result<String, Failure> {
    made.fetch_add(1, Ordering::Relaxed);
    let response = http::error_for_status(client.post(url).send().await?).await?;
    Ok(response.text().await?)
}

#[tokio::test(start_paused = true)]
async fn a_post_retries_only_what_proves_it_was_not_processed() {
    // 429 and 503: turned away before any work, retried.
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(429), 1).await;
    mount(&server, ResponseTemplate::new(503), 1).await;
    mount(&server, ResponseTemplate::new(200).set_body_string("paid"), 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());
    let made = AtomicU32::new(0);
    assert_eq!(pay(&client(), &url, &made).await.unwrap(), "paid");
    assert_eq!(made.load(Ordering::Relaxed), 3);
    server.verify().await;

    // 500, 502 and 504 may come after the work: returned after one attempt, where
    // `Failure::is_transient` would have retried them.
    for status in [500, 502, 504] {
        let server = MockServer::start().await;
        mount(&server, ResponseTemplate::new(status), 1).await;
        let url = format!("{}/v1/chat/completions", server.uri());
        let made = AtomicU32::new(0);
        let err = pay(&client(), &url, &made).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert!(err.is_transient() && !err.is_unprocessed());
        assert_eq!(made.load(Ordering::Relaxed), 1, "{status}");
        server.verify().await;
    }
}

#[tokio::test]
async fn a_refused_connection_is_unprocessed_and_retried() {
    let url = format!("http://127.0.0.1:{}/", closed_port().await);
    let made = AtomicU32::new(0);
    let _instant = testing::instant_sleeps();
    let err = pay(&client(), &url, &made).await.unwrap_err();
    assert!(err.is_unprocessed(), "{err:?}");
    assert_eq!(made.load(Ordering::Relaxed), 3, "every attempt was refused, and each retried");
}

#[retry(attempts = 3, min = "10ms", max = "10s", log = "off", when = Failure::is_transient)]
async fn charge_once(client: &reqwest::Client, url: &str, key: &http::IdempotencyKey) -> Result<String, Failure> {
    let request = client.post(url).header(http::IdempotencyKey::HEADER, key.as_str());
    Ok(http::error_for_status(request.send().await?).await?.text().await?)
}

async fn charge(client: &reqwest::Client, url: &str) -> Result<String, Failure> {
    charge_once(client, url, &http::IdempotencyKey::new()).await
}

#[tokio::test(start_paused = true)]
async fn an_idempotency_key_stays_the_same_across_attempts_and_differs_between_calls() {
    let server = MockServer::start().await;
    let url = format!("{}/v1/chat/completions", server.uri());
    mount(&server, ResponseTemplate::new(502), 2).await;
    mount(&server, ResponseTemplate::new(200).set_body_string("charged"), 1).await;
    assert_eq!(charge(&client(), &url).await.unwrap(), "charged");
    mount(&server, ResponseTemplate::new(200).set_body_string("again"), 1).await;
    assert_eq!(charge(&client(), &url).await.unwrap(), "again");
    let keys: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers.get("idempotency-key").expect("every attempt sends the key").to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 4);
    assert!(keys[0] == keys[1] && keys[1] == keys[2], "one key for the three attempts of a call: {keys:?}");
    assert_ne!(keys[2], keys[3], "a new call, a new key");
}

/// A port on which nothing listens.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn transport_errors_are_classified() {
    // Connect refused: transient.
    let url = format!("http://127.0.0.1:{}/", closed_port().await);
    let err = client().get(&url).send().await.unwrap_err();
    assert!(err.is_connect() && http::is_transient_error(&err), "{err:?}");
    assert!(Failure::from(err).is_transient());

    // A malformed URL: a builder error, the same every time.
    let err = client().get("http://[::1/").send().await.unwrap_err();
    assert!(err.is_builder() && !http::is_transient_error(&err), "{err:?}");

    // reqwest's own status errors: by the status.
    let status = |code: u16| -> reqwest::Error {
        let response = reqwest::Response::from(::http::Response::builder().status(code).body("").unwrap());
        response.error_for_status().unwrap_err()
    };
    assert!(http::is_transient_error(&status(503)));
    assert!(http::is_transient_error(&status(429)));
    assert!(!http::is_transient_error(&status(404)));

    // A body that is not the JSON expected: a decode error, not retried.
    let response = reqwest::Response::from(::http::Response::new("not json"));
    let err = response.json::<serde_json::Value>().await.unwrap_err();
    assert!(err.is_decode() && !http::is_transient_error(&err), "{err:?}");
}

#[tokio::test]
async fn a_body_cut_short_is_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
        socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this").await.unwrap();
        // Dropping the socket ends the body 91 bytes early.
    });
    let response = client().get(&url).send().await.unwrap();
    let err = response.text().await.unwrap_err();
    assert!(http::is_transient_error(&err), "{err:?}");
    server.await.unwrap();
}

#[tokio::test]
async fn error_bodies_are_kept_up_to_4_kib() {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(500).set_body_string("x".repeat(10_000)), 1).await;
    let url = format!("{}/v1/chat/completions", server.uri());
    let response = client().post(&url).send().await.unwrap();
    let err = http::error_for_status(response).await.unwrap_err();
    assert_eq!(err.body().len(), 4096);
    assert_eq!(err.headers().unwrap().get("content-length").unwrap(), "10000");
    let ok = reqwest::Response::from(::http::Response::builder().status(302).body("").unwrap());
    assert!(http::error_for_status(ok).await.is_ok());
}

mod load {
    //! 10,000 calls, 128 in flight at a time on two worker threads, against a server failing
    //! 30% of attempts, reconciled call by call, all through one breaker and one budget.

    use super::*;
    use axum::extract::{Path, State};
    use axum::routing::post;
    use steadfast::guard::{Breaker, Budget};

    const CALLS: u32 = 10_000;
    const ATTEMPTS: u32 = 3;

    /// Whether the server fails this attempt of this call: a fixed 30% of (call, attempt)
    /// pairs, by a hash, so the test knows every outcome in advance.
    fn fails(call: u32, attempt: u32) -> bool {
        let mut x = (u64::from(call) << 32 | u64::from(attempt)).wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (x ^ (x >> 31)) % 100 < 30
    }

    /// What the server served each call, in order: true for a success.
    type Served = Arc<Mutex<Vec<Vec<bool>>>>;

    async fn serve(Path(call): Path<u32>, State(served): State<Served>) -> (axum::http::StatusCode, String) {
        let attempt = {
            let mut served = served.lock().unwrap();
            let attempt = served[call as usize].len() as u32 + 1;
            served[call as usize].push(!fails(call, attempt));
            attempt
        };
        let status = if fails(call, attempt) { 503 } else { 200 };
        (axum::http::StatusCode::from_u16(status).unwrap(), format!("call {call} attempt {attempt}"))
    }

    /// Shared by every call. The breaker needs 20 consecutive failures (at 30%, a chance of
    /// about 5 in 10^7 in the run), so it must stay closed: one that miscounted under contention
    /// (a lost reset on success) would open and turn calls away against the schedule.
    static BREAKER: Breaker = Breaker::new(20, Duration::from_secs(60));
    /// Gives nothing back (ratio 0) and never falls to half, so its tokens after the run are
    /// exactly its size less one per failed attempt, whatever the order of verdicts.
    static BUDGET: Budget = Budget::new(BUDGET_TOKENS, 0.0);
    const BUDGET_TOKENS: u32 = 100_000;

    #[retry(attempts = 3, min = "1ms", max = "2ms", log = "off", when = Failure::is_transient, breaker = BREAKER, budget = BUDGET)]
    async fn call(client: &reqwest::Client, base: &str, id: u32, made: &AtomicU32) -> Result<String, Failure> {
        made.fetch_add(1, Ordering::SeqCst);
        let response = http::error_for_status(client.post(format!("{base}/call/{id}")).send().await?).await?;
        Ok(response.text().await?)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ten_thousand_calls_reconcile_exactly() {
        let served: Served = Arc::new(Mutex::new(vec![Vec::new(); CALLS as usize]));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().route("/call/{id}", post(serve)).with_state(Arc::clone(&served));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let client = client();
        let made: Arc<Vec<AtomicU32>> = Arc::new((0..CALLS).map(|_| AtomicU32::new(0)).collect());
        let permits = Arc::new(tokio::sync::Semaphore::new(128));
        let mut tasks = tokio::task::JoinSet::new();
        for id in 0..CALLS {
            let (client, base, made, permits) = (client.clone(), base.clone(), Arc::clone(&made), Arc::clone(&permits));
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.unwrap();
                (id, call(&client, &base, id, &made[id as usize]).await)
            });
        }
        let mut results: Vec<Option<Result<String, Failure>>> = (0..CALLS).map(|_| None).collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while let Some(joined) = tokio::time::timeout_at(deadline, tasks.join_next()).await.expect("load test hung") {
            let (id, result) = joined.unwrap();
            assert!(results[id as usize].replace(result).is_none(), "call {id} returned twice");
        }
        server.abort();

        let served = served.lock().unwrap();
        let (mut oks, mut errs, mut client_total, mut server_total) = (0, 0, 0, 0);
        for id in 0..CALLS {
            // The schedule says how the call must go: attempts until the first success.
            let expected = (1..=ATTEMPTS).find(|&n| !fails(id, n)).map_or(ATTEMPTS, |n| n);
            let succeeds = !fails(id, expected);
            let made = made[id as usize].load(Ordering::SeqCst);
            let seen = &served[id as usize];
            assert_eq!(made, expected, "call {id}: attempts made");
            assert_eq!(seen.len() as u32, expected, "call {id}: requests the server saw");
            assert_eq!(seen.iter().filter(|&&ok| ok).count(), usize::from(succeeds), "call {id}: successes served");
            let last = format!("call {id} attempt {expected}");
            match results[id as usize].take().unwrap_or_else(|| panic!("call {id} lost")) {
                Ok(body) => {
                    assert!(succeeds, "call {id} succeeded against the schedule");
                    assert_eq!(body, last);
                    oks += 1;
                }
                Err(err) => {
                    assert!(!succeeds, "call {id} failed against the schedule: {err}");
                    assert_eq!(err.status(), Some(reqwest::StatusCode::SERVICE_UNAVAILABLE));
                    assert_eq!(err.body(), last, "call {id}: the final error is the last attempt's");
                    errs += 1;
                }
            }
            client_total += made;
            server_total += seen.len() as u32;
        }
        assert_eq!(oks + errs, CALLS);
        assert_eq!(client_total, server_total);
        // 0.3^3 of the calls fail for good: about 270 of 10,000; both outcomes occur.
        assert!((150..400).contains(&errs), "{errs} calls failed");
        assert!(server_total > CALLS * 13 / 10, "{server_total} requests");
        // Every failed attempt took exactly one token from the shared budget.
        let failed_attempts = server_total - oks;
        assert_eq!(BUDGET.tokens(), f64::from(BUDGET_TOKENS - failed_attempts));
        assert_eq!(BREAKER.state(), steadfast::guard::BreakerState::Closed);
    }
}
