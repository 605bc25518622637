//! async-openai 0.43 under steadfast, against a local OpenAI-compatible server on
//! 127.0.0.1 (no network, no key). `cargo run --example async_openai`
//!
//! 1. **`#[retry]` around the client, its own retries off.** async-openai retries 429s and
//!    5xx by itself; under `#[retry(attempts = 5)]` a server stuck on 503 then saw 4 × 5 =
//!    20 requests. `with_http_service(ReqwestService::new(..))` installs its transport with
//!    no retry layer, so `attempts = 5` means 5 requests. Its `OpenAIError` is classified
//!    by status: 429 and 5xx retried, 401 not.
//! 2. **Retry-After, through the tower layer.** `OpenAIError` keeps the status but not the
//!    headers, so a hook on it cannot read `Retry-After`. Below the client the response is
//!    whole: `steadfast::tower::RetryLayer::new(policy).by_status()` wraps the same
//!    transport, judges each response by status and sleeps exactly what `Retry-After`
//!    says. The layer is then the one place that retries (a `#[retry]` around it would
//!    multiply the attempts again).
//!
//! The server's scenarios are chosen by the model name: `flaky` answers 429 with
//! `Retry-After: 1`, then 503, then 200; `down` always 503; `revoked` always 401. The run
//! checks the requests each scenario received, and fails if a count is off.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use async_openai::Client;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use steadfast::tower::RetryLayer;
use steadfast::{retry, Policy};

/// For each model name: the time of each request the server received.
type Seen = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

/// An OpenAI-compatible `/v1/chat/completions` whose answers follow the model's scenario.
async fn completions(State(seen): State<Seen>, Json(request): Json<Value>) -> (StatusCode, HeaderMap, Json<Value>) {
    let model = request["model"].as_str().unwrap_or_default().to_string();
    let n = {
        let mut seen = seen.lock().unwrap();
        let times = seen.entry(model.clone()).or_default();
        times.push(Instant::now());
        times.len()
    };
    let mut headers = HeaderMap::new();
    let error = |status: u16, kind: &str| {
        let body = json!({ "error": { "message": format!("{status} from the local server"), "type": kind, "param": null, "code": null } });
        (StatusCode::from_u16(status).unwrap(), Json(body))
    };
    let (status, body) = match (model.as_str(), n) {
        ("flaky", 1) => {
            headers.insert("retry-after", "1".parse().unwrap());
            error(429, "rate_limit_error")
        }
        ("flaky", 2) | ("down", _) => error(503, "server_error"),
        ("revoked", _) => error(401, "invalid_request_error"),
        _ => {
            let prompt = request["messages"][0]["content"].as_str().unwrap_or_default().to_uppercase();
            let body = json!({
                "id": format!("chatcmpl-{n}"), "object": "chat.completion", "created": 0, "model": model,
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": prompt }, "finish_reason": "stop" }],
            });
            (StatusCode::OK, Json(body))
        }
    };
    (status, headers, Json(body.0))
}

/// Whether async-openai's error is worth another attempt: 429 and 5xx, and transport
/// errors; not a 401, a malformed answer or a bad argument.
fn retryable(e: &OpenAIError) -> bool {
    match e {
        OpenAIError::ApiError(e) => e.status_code.as_u16() == 429 || e.status_code.is_server_error(),
        OpenAIError::Reqwest(e) => steadfast::http::is_transient_error(e),
        _ => false,
    }
}

fn request(model: &str, prompt: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .messages([ChatCompletionRequestUserMessage::from(prompt).into()])
        .build()
        .expect("a valid request")
}

/// Part 1: the whole call retried by `#[retry]`, the client's own retries off.
#[retry(attempts = 5, min = "50ms", max = "400ms", when = retryable, log = "off")]
async fn complete(client: &Client<OpenAIConfig>, model: &str, prompt: &str) -> Result<String, OpenAIError> {
    let response = client.chat().create(request(model, prompt)).await?;
    Ok(response.choices[0].message.content.clone().unwrap_or_default())
}

/// Part 2: the same transport under steadfast's layer, which reads `Retry-After`.
async fn complete_through_the_layer(client: &Client<OpenAIConfig>, model: &str) -> Result<String, OpenAIError> {
    let response = client.chat().create(request(model, "hello")).await?;
    Ok(response.choices[0].message.content.clone().unwrap_or_default())
}

#[tokio::main]
async fn main() -> ExitCode {
    let seen = Seen::default();
    let app =
        axum::Router::new().route("/v1/chat/completions", axum::routing::post(completions)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a local port");
    let base = format!("http://{}/v1", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = OpenAIConfig::new().with_api_base(&base).with_api_key("sk-local");
    let http = reqwest::Client::new();
    let requests = |model: &str| seen.lock().unwrap().get(model).map_or(0, Vec::len);
    let mut wrong = 0;
    // Prints one scenario's count of requests; 1 when it is not the expected one.
    let check = |what: &str, got: usize, want: usize| {
        let verdict = if got == want { "ok" } else { "WRONG" };
        println!("  {what:<64} {got:>2} requests (expected {want}) {verdict}");
        usize::from(got != want)
    };

    println!("1. #[retry(attempts = 5)] around async-openai, its own retries off:");
    let client = Client::with_config(config.clone()).with_http_service(ReqwestService::new(http.clone()));
    let answer = complete(&client, "flaky", "a haiku").await;
    wrong += check(&format!("flaky (429, 503, 200): {answer:?}"), requests("flaky"), 3);
    let answer = complete(&client, "down", "a haiku").await;
    wrong += check(&format!("down (503 each time): {}", short(&answer)), requests("down"), 5);
    let answer = complete(&client, "revoked", "a haiku").await;
    wrong += check(&format!("revoked (401, not retried): {}", short(&answer)), requests("revoked"), 1);

    println!("2. steadfast's tower layer under async-openai, honouring Retry-After:");
    seen.lock().unwrap().clear();
    let policy = Policy::exponential(Duration::from_millis(50), Duration::from_secs(2)).attempts(5);
    let service = tower::ServiceBuilder::new()
        // The client wants its own error back: the server's error as it was, or what the
        // loop made (a timeout, a breaker's refusal) boxed.
        .map_err(|e: steadfast::Error<OpenAIError>| match e {
            steadfast::Error::Inner(e) => e,
            e => OpenAIError::Boxed(e.into()),
        })
        .layer(RetryLayer::new(policy).by_status())
        .service(ReqwestService::new(http));
    let client = Client::with_config(config).with_http_service(service);
    let answer = complete_through_the_layer(&client, "flaky").await;
    wrong += check(&format!("flaky (429 with Retry-After: 1, 503, 200): {answer:?}"), requests("flaky"), 3);
    let times = seen.lock().unwrap()["flaky"].clone();
    let waited = times[1] - times[0];
    println!("  the server's hint was 1 s; the layer waited {waited:.2?} before the next request");
    if waited < Duration::from_secs(1) {
        wrong += 1;
    }
    let answer = complete_through_the_layer(&client, "down").await;
    wrong += check(&format!("down: the last 503 comes back as {}", short(&answer)), requests("down"), 5);
    let answer = complete_through_the_layer(&client, "revoked").await;
    wrong += check(&format!("revoked: {}", short(&answer)), requests("revoked"), 1);

    if wrong == 0 {
        ExitCode::SUCCESS
    } else {
        println!("{wrong} check(s) failed");
        ExitCode::FAILURE
    }
}

/// The answer, or the status of its error.
fn short(answer: &Result<String, OpenAIError>) -> String {
    match answer {
        Ok(text) => format!("Ok({text:?})"),
        Err(OpenAIError::ApiError(e)) => format!("Err(ApiError {})", e.status_code),
        Err(e) => format!("Err({e})"),
    }
}
