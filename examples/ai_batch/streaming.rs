//! `--stream`: the batch as streamed completions. A local server sends
//! `chat.completion.chunk` server-sent events and misbehaves on a seeded schedule: 429 and
//! 503 before the first chunk, a stall before it, a stall mid-stream and a mid-stream
//! `error` event (Anthropic's `overloaded_error`). The client retries each stream until its
//! first chunk with `Policy::retry_stream`, and after it resumes from the last chunk it got
//! (`starting_after`, as OpenAI's Responses API does). Every text is checked against what
//! the server meant to send, and no chunk may arrive twice.

use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use eventsource_stream::Eventsource;
use futures::stream::{self, BoxStream, StreamExt};
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::json;
use steadfast::{Elapsed, Jitter, Policy};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// Chunks per answer, and the gap between two of them.
const CHUNKS: u32 = 12;
const GAP: Duration = Duration::from_millis(10);
/// How long a stall lasts: past the client's limits, bounded all the same.
const STALL: Duration = Duration::from_secs(3);
const FIRST_ITEM_TIMEOUT: Duration = Duration::from_millis(800);
const IDLE_TIMEOUT: Duration = Duration::from_millis(400);

/// What the server does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    None,
    RateLimited,
    Unavailable,
    StallFirst,
    StallMid(u32),
    ErrorEvent(u32),
}

/// The words of prompt `id`'s answer, chunk by chunk: what the server means to send.
fn answer(seed: u64, id: u32) -> Vec<String> {
    const WORDS: &[&str] =
        &["rain", "on", "the", "old", "tin", "roof", "a", "lantern", "hums", "softly", "tide", "turns"];
    (0..CHUNKS).map(|i| format!("{} ", WORDS[(mix(seed, id, i + 100) % WORDS.len() as u64) as usize])).collect()
}

/// A seeded hash of (prompt, request): the schedule does not depend on arrival order.
fn mix(seed: u64, id: u32, n: u32) -> u64 {
    let mut x = seed ^ (u64::from(id) << 32) ^ u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The fault for request `n` (0-based) of prompt `id`: only the first two go wrong.
fn fault(seed: u64, id: u32, n: u32) -> Fault {
    if n >= 2 {
        return Fault::None;
    }
    let roll = mix(seed, id, n) % 100;
    let at = 1 + (mix(seed, id, n + 50) % u64::from(CHUNKS - 2)) as u32;
    match roll {
        0..12 => Fault::RateLimited,
        12..20 => Fault::Unavailable,
        20..26 => Fault::StallFirst,
        26..36 => Fault::StallMid(at),
        36..46 => Fault::ErrorEvent(at),
        _ => Fault::None,
    }
}

#[derive(Default)]
struct Served {
    requests: AtomicU32,
    by_fault: Mutex<BTreeMap<&'static str, u32>>,
}

struct Shared {
    seed: u64,
    seen: Mutex<BTreeMap<u32, u32>>,
    served: Served,
}

#[derive(Deserialize)]
struct Request {
    prompt_id: u32,
    #[serde(default)]
    starting_after: Option<u32>,
}

async fn chat(State(shared): State<Arc<Shared>>, Json(request): Json<Request>) -> Response {
    let n = {
        let mut seen = shared.seen.lock().expect("not poisoned");
        let n = seen.entry(request.prompt_id).or_insert(0);
        *n += 1;
        *n - 1
    };
    shared.served.requests.fetch_add(1, Ordering::Relaxed);
    let first = request.starting_after.map_or(0, |after| after + 1);
    // A mid-stream fault before where a continuation starts would not fire: none.
    let fault = match fault(shared.seed, request.prompt_id, n) {
        Fault::StallMid(at) | Fault::ErrorEvent(at) if at <= first => Fault::None,
        fault => fault,
    };
    let label = match fault {
        Fault::None => "200 stream",
        Fault::RateLimited => "429 rate limited",
        Fault::Unavailable => "503 unavailable",
        Fault::StallFirst => "stall before the first chunk",
        Fault::StallMid(_) => "stall mid-stream",
        Fault::ErrorEvent(_) => "error event mid-stream",
    };
    *shared.served.by_fault.lock().expect("not poisoned").entry(label).or_insert(0) += 1;
    match fault {
        Fault::RateLimited => {
            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after-ms", "200")], "rate limited").into_response()
        }
        Fault::Unavailable => return (StatusCode::SERVICE_UNAVAILABLE, "overloaded").into_response(),
        _ => {}
    }
    let words = answer(shared.seed, request.prompt_id);
    let events = stream::unfold(first, move |seq| {
        let words = words.clone();
        async move {
            if fault == Fault::StallFirst && seq == first {
                tokio::time::sleep(STALL).await;
            }
            if seq > CHUNKS {
                return None;
            }
            tokio::time::sleep(GAP).await;
            let event = match fault {
                Fault::StallMid(at) if seq == at => {
                    tokio::time::sleep(STALL).await;
                    return None;
                }
                Fault::ErrorEvent(at) if seq == at => {
                    let error =
                        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
                    return Some((
                        Ok::<_, Infallible>(Event::default().event("error").data(error.to_string())),
                        CHUNKS + 1,
                    ));
                }
                _ if seq == CHUNKS => Event::default().data("[DONE]"),
                _ => {
                    let chunk = json!({
                        "object": "chat.completion.chunk",
                        "sequence_number": seq,
                        "choices": [{"index": 0, "delta": {"content": words[seq as usize]}}],
                    });
                    Event::default().data(chunk.to_string())
                }
            };
            Some((Ok(event), seq + 1))
        }
    });
    Sse::new(events).into_response()
}

async fn start(seed: u64) -> std::io::Result<(String, Arc<Shared>)> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}/v1/chat/completions", listener.local_addr()?);
    let shared = Arc::new(Shared { seed, seen: Mutex::default(), served: Served::default() });
    let app = Router::new().route("/v1/chat/completions", post(chat)).with_state(Arc::clone(&shared));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, shared))
}

/// One chunk as the client reads it.
#[derive(Debug, Clone, Deserialize)]
struct Chunk {
    sequence_number: u32,
    choices: Vec<Choice>,
}

#[derive(Debug, Clone, Deserialize)]
struct Choice {
    delta: Delta,
}

#[derive(Debug, Clone, Deserialize)]
struct Delta {
    #[serde(default)]
    content: String,
}

#[derive(Debug)]
enum StreamError {
    Status(u16, Option<Duration>),
    Transport(String),
    /// An `error` event in the stream.
    Event(String),
    TimedOut,
}

impl StreamError {
    fn is_retryable(&self) -> bool {
        match self {
            StreamError::Status(status, _) => *status == 429 || *status >= 500,
            StreamError::Event(data) => data.contains("overloaded_error"),
            StreamError::Transport(_) | StreamError::TimedOut => true,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            StreamError::Status(_, hint) => *hint,
            _ => None,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            StreamError::Status(429, _) => "429",
            StreamError::Status(_, _) => "503",
            StreamError::Transport(_) => "transport",
            StreamError::Event(_) => "error event",
            StreamError::TimedOut => "timed out",
        }
    }
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Status(status, _) => write!(f, "HTTP {status}"),
            StreamError::Transport(e) => write!(f, "transport: {e}"),
            StreamError::Event(data) => write!(f, "error event: {data}"),
            StreamError::TimedOut => f.write_str("timed out"),
        }
    }
}

impl From<Elapsed> for StreamError {
    fn from(_: Elapsed) -> Self {
        StreamError::TimedOut
    }
}

/// One attempt: the request, then its events as chunks; a failed open is a stream whose
/// first item is the error.
fn open(
    http: &reqwest::Client,
    url: &str,
    prompt_id: u32,
    starting_after: Option<u32>,
) -> BoxStream<'static, Result<Chunk, StreamError>> {
    let request =
        http.post(url).json(&json!({"prompt_id": prompt_id, "stream": true, "starting_after": starting_after}));
    stream::once(request.send())
        .flat_map(|response| match response {
            Err(e) => stream::iter([Err(StreamError::Transport(e.to_string()))]).boxed(),
            Ok(response) if !response.status().is_success() => {
                let hint = response
                    .headers()
                    .get("retry-after-ms")
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                    .map(Duration::from_millis);
                stream::iter([Err(StreamError::Status(response.status().as_u16(), hint))]).boxed()
            }
            Ok(response) => response
                .bytes_stream()
                .eventsource()
                .take_while(|event| std::future::ready(!matches!(event, Ok(e) if e.data == "[DONE]")))
                .map(|event| match event {
                    Err(e) => Err(StreamError::Transport(e.to_string())),
                    Ok(event) if event.event == "error" => Err(StreamError::Event(event.data)),
                    Ok(event) => serde_json::from_str::<Chunk>(&event.data)
                        .map_err(|e| StreamError::Transport(format!("a chunk that is not JSON: {e}"))),
                })
                .boxed(),
        })
        .boxed()
}

/// What one prompt's stream came to.
struct Run {
    text: Result<String, String>,
    ttft: Option<Duration>,
    before_first: Vec<&'static str>,
    resumes: u32,
    duplicates: u32,
}

async fn stream_one(http: &reqwest::Client, url: &str, policy: Policy, prompt_id: u32) -> Run {
    let started = Instant::now();
    // Shared with the hooks; a task may move between threads, so atomics and a mutex.
    let got_first = AtomicBool::new(false);
    let before_first = Mutex::new(Vec::new());
    let resumes = AtomicU32::new(0);
    let chunks = policy
        .retry_stream(|| open(http, url, prompt_id, None))
        .when(|e| e.is_retryable())
        .retry_after(|e| e.retry_after())
        .notify(|attempt| {
            if got_first.load(Ordering::Relaxed) {
                resumes.fetch_add(1, Ordering::Relaxed);
            } else {
                let label = attempt.error().map_or("timed out", StreamError::label);
                before_first.lock().expect("not poisoned").push(label);
            }
        })
        .first_item_timeout(FIRST_ITEM_TIMEOUT)
        .idle_timeout(IDLE_TIMEOUT)
        .resume(|last: &Chunk| open(http, url, prompt_id, Some(last.sequence_number)))
        .named("stream_chat");
    let mut chunks = std::pin::pin!(chunks);
    let (mut text, mut seen, mut duplicates, mut ttft, mut failure) = (String::new(), HashSet::new(), 0, None, None);
    while let Some(item) = chunks.next().await {
        match item {
            Ok(chunk) => {
                if !got_first.swap(true, Ordering::Relaxed) {
                    ttft = Some(started.elapsed());
                }
                if !seen.insert(chunk.sequence_number) {
                    duplicates += 1;
                }
                for choice in &chunk.choices {
                    text.push_str(&choice.delta.content);
                }
            }
            Err(e) => failure = Some(e.to_string()),
        }
    }
    Run {
        text: failure.map_or(Ok(text), Err),
        ttft,
        before_first: before_first.into_inner().expect("not poisoned"),
        resumes: resumes.load(Ordering::Relaxed),
        duplicates,
    }
}

fn ms(d: u64) -> String {
    if d >= 1000 {
        format!("{:.2} s", d as f64 / 1000.0)
    } else {
        format!("{d} ms")
    }
}

/// The streamed batch against the local server; the exit code is 1 if a text is wrong, a
/// chunk came twice or a prompt was lost.
pub async fn run(prompts: u32, concurrency: usize, seed: u64) -> ExitCode {
    let (url, shared) = match start(seed).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: cannot start the local server: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "ai_batch --stream: {prompts} streamed prompts to the local flaky server, {concurrency} at a time, seed {seed}"
    );
    let http = reqwest::Client::new();
    let policy =
        Policy::exponential(Duration::from_millis(50), Duration::from_secs(1)).attempts(6).jitter(Jitter::Full);
    let started = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..prompts {
        let (http, url, permits) = (http.clone(), url.clone(), Arc::clone(&permits));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
            (id, stream_one(&http, &url, policy, id).await)
        });
    }
    let mut runs = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        // A panicked task leaves its prompt without a run: it counts as lost.
        if let Ok((id, run)) = joined {
            runs.insert(id, run);
        }
    }
    let wall = started.elapsed();

    let mut ttft = Histogram::<u64>::new(3).expect("3 significant figures is a valid precision");
    let (mut matched, mut wrong, mut failed, mut duplicates, mut resumes) = (0, 0, 0, 0, 0);
    let mut before_first: BTreeMap<&str, u32> = BTreeMap::new();
    for (id, run) in &runs {
        if let Some(t) = run.ttft {
            ttft.saturating_record(t.as_millis() as u64);
        }
        for label in &run.before_first {
            *before_first.entry(label).or_insert(0) += 1;
        }
        resumes += run.resumes;
        duplicates += run.duplicates;
        match &run.text {
            Ok(text) if *text == answer(seed, *id).concat() => matched += 1,
            Ok(_) => wrong += 1,
            Err(e) => {
                failed += 1;
                eprintln!("prompt {id} failed: {e}");
            }
        }
    }
    let lost = prompts as usize - runs.len();
    let served = shared.served.by_fault.lock().expect("not poisoned").clone();
    let mid_stream: u32 = served.iter().filter(|(label, _)| label.contains("mid-stream")).map(|(_, n)| *n).sum();
    let list = |map: &BTreeMap<&str, u32>| map.iter().map(|(k, v)| format!("{k} ×{v}")).collect::<Vec<_>>().join(", ");
    let retries: u32 = before_first.values().sum();
    println!();
    println!("  completed          {matched:>4}  of {prompts}, each text checked against what the server sent");
    println!("  wrong text         {wrong:>4}");
    println!("  failed             {failed:>4}");
    println!("  lost               {lost:>4}");
    println!(
        "  requests           {:>4}  server saw: {}",
        shared.served.requests.load(Ordering::Relaxed),
        list(&served)
    );
    println!(
        "  time to 1st token      p50 {}, p95 {}, max {}",
        ms(ttft.value_at_quantile(0.5)),
        ms(ttft.value_at_quantile(0.95)),
        ms(ttft.max())
    );
    println!("  retries before 1st {retries:>4}  {}", list(&before_first));
    println!(
        "  mid-stream faults  {mid_stream:>4}  resumed {resumes} times from the last chunk received (a resume's own open can fail too)"
    );
    println!("  duplicated chunks  {duplicates:>4}");
    println!("  wall time        {:>6.1} s", wall.as_secs_f64());
    if wrong > 0 || duplicates > 0 || lost > 0 || failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
