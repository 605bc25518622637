//! `RetryLayer::http` as a reqwest-middleware `Middleware`, against an axum server on
//! 127.0.0.1 (sleeps skipped by the test kit, recorded to check the delays).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use steadfast::reqwest_middleware::is_transient;
use steadfast::tower::RetryLayer;
use steadfast::{testing, Breaker, Elapsed, Open, Policy};

/// What the server answers to each request in turn (then 200), and what it saw.
#[derive(Default)]
struct Script {
    answers: Vec<(u16, Option<&'static str>)>,
    /// For each request: the `x-request` header and the body.
    seen: Vec<(Option<String>, String)>,
    /// Requests that get no answer for this long.
    hang: Option<Duration>,
}

type Shared = Arc<Mutex<Script>>;

async fn answer(State(script): State<Shared>, headers: HeaderMap, body: String) -> (StatusCode, HeaderMap, String) {
    let (status, hint, hang) = {
        let mut script = script.lock().unwrap();
        let header = headers.get("x-request").map(|v| v.to_str().unwrap().to_string());
        script.seen.push((header, body.clone()));
        let (status, hint) = script.answers.get(script.seen.len() - 1).copied().unwrap_or((200, None));
        (status, hint, script.hang)
    };
    if let Some(hang) = hang {
        tokio::time::sleep(hang).await;
    }
    let mut out = HeaderMap::new();
    if let Some(hint) = hint {
        out.insert("retry-after", hint.parse().unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), out, format!("echo {body}"))
}

async fn server(answers: Vec<(u16, Option<&'static str>)>) -> (String, Shared) {
    let script = Arc::new(Mutex::new(Script { answers, ..Script::default() }));
    let app = axum::Router::new().route("/v1/chat", axum::routing::post(answer)).with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/v1/chat"), script)
}

fn policy(attempts: u32) -> Policy {
    Policy::exponential(Duration::from_secs(1), Duration::from_secs(10))
        .attempts(attempts)
        .jitter(steadfast::Jitter::None)
}

fn client(layer: impl Middleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new()).with(layer).build()
}

fn seen(script: &Shared) -> Vec<(Option<String>, String)> {
    script.lock().unwrap().seen.clone()
}

#[tokio::test]
async fn statuses_are_retried_honouring_retry_after_with_the_request_sent_again() {
    let _instant = testing::instant_sleeps();
    let sleeps = testing::record_sleeps();
    let (url, script) = server(vec![(503, Some("3")), (429, None)]).await;
    let client = client(RetryLayer::http(policy(4)).when(is_transient));
    let response = client.post(&url).header("x-request", "7").body("prompt").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "echo prompt");
    // The server's hint exactly, then the policy's second delay.
    assert_eq!(sleeps.take(), [Duration::from_secs(3), Duration::from_secs(2)]);
    assert_eq!(seen(&script), vec![(Some("7".to_string()), "prompt".to_string()); 3]);
}

#[tokio::test]
async fn the_last_response_comes_back_when_the_retries_are_spent() {
    let _instant = testing::instant_sleeps();
    let (url, script) = server(vec![(503, None); 5]).await;
    let response = client(RetryLayer::http(policy(3))).post(&url).body("x").send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.unwrap(), "echo x");
    assert_eq!(seen(&script).len(), 3);
}

#[tokio::test]
async fn a_hint_above_max_ends_the_retries_and_a_401_is_not_retried() {
    let _instant = testing::instant_sleeps();
    let sleeps = testing::record_sleeps();
    let (url, script) = server(vec![(429, Some("60"))]).await;
    let response = client(RetryLayer::http(policy(3))).post(&url).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(seen(&script).len(), 1);

    let (url, script) = server(vec![(401, None)]).await;
    let response = client(RetryLayer::http(policy(3))).post(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(seen(&script).len(), 1);
    assert!(sleeps.take().is_empty());
}

#[tokio::test]
async fn a_streamed_body_is_sent_once() {
    let _instant = testing::instant_sleeps();
    let (url, script) = server(vec![(503, None); 5]).await;
    let chunks = futures::stream::iter([Ok::<_, std::io::Error>("stre"), Ok("amed")]);
    let body = reqwest::Body::wrap_stream(chunks);
    let response = client(RetryLayer::http(policy(5))).post(&url).body(body).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(seen(&script), [(None, "streamed".to_string())]);
}

#[tokio::test]
async fn a_refused_connection_is_retried_and_another_middlewares_error_is_not() {
    let _instant = testing::instant_sleeps();
    let sleeps = testing::record_sleeps();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    match client(RetryLayer::http(policy(3)).when(is_transient)).get(&url).send().await {
        Err(reqwest_middleware::Error::Reqwest(e)) => assert!(e.is_connect(), "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sleeps.take().len(), 2);

    // A middleware after this one that fails: not transient, one attempt.
    let (url, script) = server(vec![]).await;
    let calls = Arc::new(Mutex::new(0));
    let refuses = Refuses(calls.clone());
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(RetryLayer::http(policy(3)).when(is_transient))
        .with(refuses)
        .build();
    assert!(matches!(client.get(&url).send().await, Err(reqwest_middleware::Error::Middleware(_))));
    assert_eq!(*calls.lock().unwrap(), 1);
    assert!(seen(&script).is_empty());
}

#[tokio::test]
async fn what_the_loop_produces_is_a_middleware_error() {
    let _instant = testing::instant_sleeps();
    // The policy's timeout (real time: tens of milliseconds) cuts each attempt.
    let (url, script) = server(vec![]).await;
    script.lock().unwrap().hang = Some(Duration::from_secs(5));
    let layer = RetryLayer::http(policy(2).timeout(Duration::from_millis(30)));
    match client(layer).post(&url).send().await {
        Err(reqwest_middleware::Error::Middleware(e)) => assert!(e.downcast_ref::<Elapsed>().is_some(), "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(seen(&script).len(), 2);

    // A breaker opened by three failures turns the next call away before it is sent.
    static BREAKER: Breaker = Breaker::new(3, Duration::from_secs(30));
    let (url, script) = server(vec![(500, None); 10]).await;
    let client = client(RetryLayer::http(policy(3)).breaker(&BREAKER));
    assert_eq!(client.post(&url).send().await.unwrap().status(), 500);
    match client.post(&url).send().await {
        Err(reqwest_middleware::Error::Middleware(e)) => assert!(e.downcast_ref::<Open>().is_some(), "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(seen(&script).len(), 3);
}

/// A middleware that fails every request before it is sent; counts them.
struct Refuses(Arc<Mutex<u32>>);

#[async_trait::async_trait]
impl Middleware for Refuses {
    async fn handle(
        &self,
        _: reqwest::Request,
        _: &mut http::Extensions,
        _: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        *self.0.lock().unwrap() += 1;
        Err(reqwest_middleware::Error::middleware(std::io::Error::other("no token")))
    }
}

/// Puts the attempt number into the extensions, as a middleware after the retry sees it.
struct Stamp(Arc<Mutex<u32>>);

#[derive(Clone, Debug, PartialEq)]
struct Attempt(u32);

#[async_trait::async_trait]
impl Middleware for Stamp {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        assert_eq!(extensions.get::<Attempt>(), None, "each attempt starts from the caller's extensions");
        let n = {
            let mut n = self.0.lock().unwrap();
            *n += 1;
            *n
        };
        extensions.insert(Attempt(n));
        next.run(request, extensions).await
    }
}

#[tokio::test]
async fn extensions_start_fresh_for_each_attempt_and_the_last_comes_back() {
    let _instant = testing::instant_sleeps();
    let (url, _script) = server(vec![(503, None), (503, None)]).await;
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(RetryLayer::http(policy(4)))
        .with(Stamp(Arc::new(Mutex::new(0))))
        .build();
    let request = client.post(&url).build().unwrap();
    let mut extensions = http::Extensions::new();
    let response = client.execute_with_extensions(request, &mut extensions).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(extensions.get::<Attempt>(), Some(&Attempt(3)));
}
