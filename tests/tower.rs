//! `steadfast::tower::RetryLayer`: on `tower::service_fn` under the paused clock, and
//! `RetryLayer::http` around hyper-util's client against an axum server on 127.0.0.1.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use steadfast::tower::http::{Buffered, ReplayBody};
use steadfast::tower::RetryLayer;
use steadfast::{testing, Breaker, Error, Policy};
use tokio::time::Instant;
use tower::{service_fn, Layer, Service, ServiceExt};

fn policy(attempts: u32) -> Policy {
    Policy::exponential(Duration::from_secs(1), Duration::from_secs(10))
        .attempts(attempts)
        .jitter(steadfast::Jitter::None)
}

#[derive(Debug, Clone, PartialEq)]
enum Fault {
    Busy,
    Denied,
}

/// A service failing with `faults` in turn, then answering its request doubled; counts calls.
fn flaky(faults: Vec<Fault>, calls: Arc<AtomicU32>) -> impl Service<u32, Response = u32, Error = Fault> + Clone {
    service_fn(move |n: u32| {
        let call = calls.fetch_add(1, Ordering::SeqCst) as usize;
        let fault = faults.get(call).cloned();
        async move {
            match fault {
                Some(fault) => Err(fault),
                None => Ok(n * 2),
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn every_error_is_retried_by_default() {
    let calls = Arc::new(AtomicU32::new(0));
    let service = RetryLayer::new(policy(4)).layer(flaky(vec![Fault::Busy, Fault::Denied], calls.clone()));
    let start = Instant::now();
    assert_eq!(service.oneshot(21).await.unwrap(), 42);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(1 + 2)); // exponential, no jitter
}

#[tokio::test(start_paused = true)]
async fn when_narrows_and_the_inner_error_comes_back() {
    let calls = Arc::new(AtomicU32::new(0));
    let service = RetryLayer::new(policy(4))
        .when(|e: &Fault| *e == Fault::Busy)
        .layer(flaky(vec![Fault::Busy, Fault::Denied], calls.clone()));
    match service.oneshot(1).await {
        Err(Error::Inner(Fault::Denied)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn spent_retries_return_the_last_error() {
    let calls = Arc::new(AtomicU32::new(0));
    let service = RetryLayer::new(policy(3)).layer(flaky(vec![Fault::Busy; 10], calls.clone()));
    let sleeps = testing::record_sleeps();
    assert!(matches!(service.oneshot(1).await, Err(Error::Inner(Fault::Busy))));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(sleeps.take(), [Duration::from_secs(1), Duration::from_secs(2)]);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_attempt_is_retried_then_reported() {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let hangs = service_fn(move |_: ()| {
        counted.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, Fault>(())
        }
    });
    let service = RetryLayer::new(policy(2).timeout(Duration::from_secs(5))).layer(hangs);
    let start = Instant::now();
    assert!(service.oneshot(()).await.unwrap_err().is_elapsed());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(5 + 1 + 5));
}

#[tokio::test(start_paused = true)]
async fn the_readied_service_makes_the_first_attempt() {
    // A concurrency limit of one: the readied service, if kept aside, would hold the only
    // permit while the attempt's clone waited for it.
    let calls = Arc::new(AtomicU32::new(0));
    let limited = tower::limit::ConcurrencyLimit::new(flaky(vec![Fault::Busy], calls.clone()), 1);
    let service = RetryLayer::new(policy(3)).layer(limited);
    let result = tokio::time::timeout(Duration::from_secs(60), service.oneshot(5)).await;
    assert_eq!(result.expect("no attempt waits for a permit its own call holds").unwrap(), 10);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

static BREAKER: Breaker = Breaker::new(3, Duration::from_secs(30));

#[tokio::test(start_paused = true)]
async fn guards_work_in_the_layer() {
    let calls = Arc::new(AtomicU32::new(0));
    let service = RetryLayer::new(policy(3)).breaker(&BREAKER).layer(flaky(vec![Fault::Busy; 10], calls.clone()));
    // Three failed attempts open the breaker: the next call is refused before the service.
    assert!(matches!(service.clone().oneshot(1).await, Err(Error::Inner(Fault::Busy))));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    match service.oneshot(1).await {
        Err(Error::Open(open)) => assert!(open.retry_in() > Duration::ZERO),
        other => panic!("{other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// What an HTTP test server saw of each request.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: Method,
    uri: String,
    header: Option<String>,
    extension: Option<&'static str>,
    body: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Tag(&'static str);

/// An HTTP service answering each request with the next of `answers` (then 200), echoing
/// the body; records what it saw.
fn http_server<B>(
    answers: Vec<(u16, Option<&'static str>)>,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> impl Service<Request<B>, Response = Response<Bytes>, Error = Infallible> + Clone
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Debug,
{
    service_fn(move |request: Request<B>| {
        let seen = seen.clone();
        let (status, retry_after) = answers.get(seen.lock().unwrap().len()).copied().unwrap_or((200, None));
        async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            seen.lock().unwrap().push(Seen {
                method: parts.method,
                uri: parts.uri.to_string(),
                header: parts.headers.get("x-request").map(|v| v.to_str().unwrap().to_string()),
                extension: parts.extensions.get::<Tag>().map(|t| t.0),
                body: body.clone(),
            });
            let mut response = Response::builder().status(status);
            if let Some(hint) = retry_after {
                response = response.header("retry-after", hint);
            }
            Ok(response.body(body).unwrap())
        }
    })
}

fn request<B>(body: B) -> Request<B> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("http://127.0.0.1/v1/chat/completions?x=1")
        .header("x-request", "42")
        .body(body)
        .unwrap();
    request.extensions_mut().insert(Tag("kept"));
    request
}

#[tokio::test(start_paused = true)]
async fn statuses_are_retried_with_the_request_rebuilt_and_retry_after_kept() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = http_server::<Full<Bytes>>(vec![(503, Some("3")), (429, None), (200, None)], seen.clone());
    let client = RetryLayer::http(policy(4)).layer(server);
    let sleeps = testing::record_sleeps();
    let response = client.oneshot(request(Full::new(Bytes::from("prompt")))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "prompt");
    // The hint exactly, then the policy's backoff for the attempt after it.
    assert_eq!(sleeps.take(), [Duration::from_secs(3), Duration::from_secs(2)]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    let first = Seen {
        method: Method::POST,
        uri: "http://127.0.0.1/v1/chat/completions?x=1".into(),
        header: Some("42".into()),
        extension: Some("kept"),
        body: Bytes::from("prompt"),
    };
    assert!(seen.iter().all(|s| *s == first), "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn the_last_response_is_returned_when_retries_are_spent() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = http_server::<String>(vec![(503, None); 5], seen.clone());
    let response = RetryLayer::http(policy(3)).layer(server).oneshot(request("hi".to_string())).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.body(), "hi");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_hint_above_max_ends_the_retries_with_that_response() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = http_server::<String>(vec![(429, Some("11")), (200, None)], seen.clone());
    let start = Instant::now();
    let response = RetryLayer::http(policy(3)).layer(server).oneshot(request(String::new())).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_status_not_worth_retrying_is_returned_at_once() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = http_server::<String>(vec![(401, None)], seen.clone());
    let response = RetryLayer::http(policy(3)).layer(server).oneshot(request(String::new())).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// A body that cannot be replayed (a stream read once).
struct OneShotBody(Option<Bytes>);

impl http_body::Body for OneShotBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|data| Ok(http_body::Frame::data(data))))
    }
}

impl ReplayBody for OneShotBody {
    fn replay(&self) -> Option<Self> {
        None
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_that_cannot_be_replayed_is_sent_once() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = http_server::<OneShotBody>(vec![(503, None); 5], seen.clone());
    let client = RetryLayer::http(policy(5)).layer(server);
    let response = client.oneshot(request(OneShotBody(Some(Bytes::from("stream"))))).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_buffered_body_is_replayed_up_to_its_limit() {
    // Under the limit: read into memory, replayed for each attempt.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = http_server::<Buffered<OneShotBody>>(vec![(503, None), (200, None)], seen.clone());
    let body = Buffered::read(OneShotBody(Some(Bytes::from("small"))), 16).await.unwrap();
    assert!(body.is_whole());
    let response = RetryLayer::http(policy(3)).layer(server).oneshot(request(body)).await.unwrap();
    assert_eq!((response.status(), response.body().clone()), (StatusCode::OK, Bytes::from("small")));
    assert_eq!(seen.lock().unwrap().len(), 2);

    // Over it: sent once, whole.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = http_server::<Buffered<OneShotBody>>(vec![(503, None), (200, None)], seen.clone());
    let body = Buffered::read(OneShotBody(Some(Bytes::from("too large for 4"))), 4).await.unwrap();
    assert!(!body.is_whole());
    let response = RetryLayer::http(policy(3)).layer(server).oneshot(request(body)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        seen.lock().unwrap().iter().map(|s| s.body.clone()).collect::<Vec<_>>(),
        [Bytes::from("too large for 4")]
    );
}

#[tokio::test(start_paused = true)]
async fn inner_errors_are_retried_unless_when_says_no() {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let refused = service_fn(move |_: Request<String>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Err::<Response<String>, _>(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)) }
    });
    let client = RetryLayer::http(policy(3)).layer(refused.clone());
    assert!(matches!(client.oneshot(Request::new(String::new())).await, Err(Error::Inner(_))));
    assert_eq!(calls.swap(0, Ordering::SeqCst), 3);

    let client = RetryLayer::http(policy(3))
        .when(|e: &std::io::Error| e.kind() != std::io::ErrorKind::ConnectionRefused)
        .layer(refused);
    assert!(matches!(client.oneshot(Request::new(String::new())).await, Err(Error::Inner(_))));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// An axum server on 127.0.0.1 answering 503 to the first `failures` requests, then
/// echoing the request's body; counts requests.
async fn axum_server(failures: u32) -> (String, Arc<AtomicU32>) {
    let count = Arc::new(AtomicU32::new(0));
    let counted = count.clone();
    let app = axum::Router::new().route(
        "/v1/echo",
        axum::routing::post(move |body: String| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < failures {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "overloaded".to_string())
                } else {
                    (axum::http::StatusCode::OK, body)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/v1/echo"), count)
}

fn fast(attempts: u32) -> Policy {
    Policy::exponential(Duration::from_millis(1), Duration::from_millis(10)).attempts(attempts)
}

fn hyper_client() -> hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>
{
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

#[tokio::test]
async fn hyper_util_client_against_a_local_axum_server() {
    let _instant = testing::instant_sleeps();
    let (url, count) = axum_server(2).await;
    let client = RetryLayer::http(fast(4)).layer(hyper_client());
    let request = Request::post(&url).body(Full::new(Bytes::from("the prompt"))).unwrap();
    let response = client.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "the prompt");
    assert_eq!(count.load(Ordering::SeqCst), 3);

    // Retries spent: the server's last 503 comes back, body and all.
    let (url, count) = axum_server(10).await;
    let client = RetryLayer::http(fast(3)).layer(hyper_client());
    let response = client.oneshot(Request::post(&url).body(Full::new(Bytes::new())).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "overloaded");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    // A port nothing listens on: bound, then closed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let _instant = testing::instant_sleeps();
    let sleeps = testing::record_sleeps();
    let client = RetryLayer::http(fast(3)).layer(hyper_client());
    match client.oneshot(Request::get(&url).body(Full::new(Bytes::new())).unwrap()).await {
        Err(Error::Inner(e)) => assert!(e.is_connect(), "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sleeps.take().len(), 2);
}

/// A request that is not an `http::Request` (as async-openai's `HttpRequestFactory` is
/// not): a prompt, rebuilt into a response by the service.
#[derive(Clone)]
struct Prompt(&'static str);

#[tokio::test(start_paused = true)]
async fn by_status_judges_any_request_by_its_response() {
    let seen = Arc::new(AtomicU32::new(0));
    let counted = seen.clone();
    let answers = [(429, Some("4")), (503, None), (401, None)];
    let server = service_fn(move |prompt: Prompt| {
        let n = counted.fetch_add(1, Ordering::SeqCst) as usize;
        let (status, hint) = answers.get(n).copied().unwrap_or((200, None));
        let mut response = Response::builder().status(status);
        if let Some(hint) = hint {
            response = response.header("retry-after", hint);
        }
        async move { Ok::<_, Infallible>(response.body(prompt.0).unwrap()) }
    });
    let client = RetryLayer::new(policy(5)).by_status().layer(server);
    let sleeps = testing::record_sleeps();
    // 429 with a hint, 503 by the policy, then a 401: not retried, returned as it came.
    let response = client.oneshot(Prompt("hi")).await.unwrap();
    assert_eq!((response.status(), *response.body()), (StatusCode::UNAUTHORIZED, "hi"));
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(sleeps.take(), [Duration::from_secs(4), Duration::from_secs(2)]);
}

#[tokio::test]
async fn by_status_on_reqwest_responses_against_a_local_axum_server() {
    let _instant = testing::instant_sleeps();
    let (url, count) = axum_server(2).await;
    let http = reqwest::Client::new();
    let service = service_fn(move |body: &'static str| {
        let request = http.post(&url).body(body);
        async move { request.send().await }
    });
    let response = RetryLayer::new(fast(4)).by_status().layer(service).oneshot("again").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "again");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn guards_hear_statuses_a_paced_429_not_opening_the_breaker() {
    static PACED: Breaker = Breaker::new(2, Duration::from_secs(30));
    // Three 429s with a hint: the server is pacing, not down; the breaker stays closed.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = http_server::<String>(vec![(429, Some("1")); 3], seen.clone());
    let client = RetryLayer::http(policy(4)).breaker(&PACED).layer(server);
    let response = client.oneshot(request(String::new())).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.lock().unwrap().len(), 4);

    // Two 503s without one open it: the next call is turned away before the server.
    static DOWN: Breaker = Breaker::new(2, Duration::from_secs(30));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = http_server::<String>(vec![(503, None); 10], seen.clone());
    let client = RetryLayer::http(policy(2)).breaker(&DOWN).layer(server);
    let response = client.clone().oneshot(request(String::new())).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(matches!(client.oneshot(request(String::new())).await, Err(Error::Open(_))));
    assert_eq!(seen.lock().unwrap().len(), 2);
}
