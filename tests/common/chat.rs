//! An OpenAI-style chat route on a wiremock server, and a client for it under a paused
//! clock. Include it with `#[path = "common/chat.rs"] mod chat;`.

#![allow(dead_code)] // each test binary uses a part

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A client that arms no timer of its own (no pool idle timeout, no request timeout), so
/// that under a paused clock tokio only advances time for the retry sleeps.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().pool_idle_timeout(None).build().unwrap()
}

/// Answers the next `times` POSTs to `/v1/chat/completions` (after those mounted earlier)
/// with `response`, and expects exactly that many.
pub async fn mount(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(response)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}
