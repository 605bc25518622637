//! A batch of 100 prompts through an OpenAI-compatible API that misbehaves.
//!
//! By default it starts a local server (127.0.0.1, no network, no key) that answers on a
//! seeded schedule with 429 + Retry-After, 503, responses that hang past the client's
//! timeout, a short outage, and 401 for a revoked project key. The client's one method
//! carries `#[retry(policy = self.target.policy, …)]`: the policy (with its per-attempt
//! timeout), the throttle and the breaker belong to the client, chosen for the target at
//! run time, with `when` and `retry_after` reading the error.
//! A progress bar shows while it runs (on a terminal); a summary follows.
//!
//! ```text
//! cargo run --example ai_batch
//! cargo run --example ai_batch -- --seed 42 --concurrency 16
//! cargo run --example ai_batch -- --stream
//! OPENAI_API_KEY=sk-... cargo run --example ai_batch -- --endpoint https://api.openai.com/v1
//! ```
//!
//! (An `https` endpoint needs reqwest's `rustls` feature in the dev-dependencies: the
//! default build has no TLS.)
//!
//! Options: `--endpoint URL` (a real API; the key is read from `$OPENAI_API_KEY`, or the
//! variable named by `--key-env`), `--model NAME`, `--prompts N`, `--concurrency N`,
//! `--seed S`, `--stream` (streamed completions, see `streaming.rs`). The exit code is 1 if a prompt was lost: neither completed nor reported
//! failed.

mod client;
mod report;
mod server;
mod streaming;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use steadfast::BreakerState;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use client::{Api, ApiError, Prompt, Target};
use report::{Outcome, Report};

/// How many times one prompt is sent again after the breaker turned it away.
const MAX_REQUEUES: u32 = 100;

const USAGE: &str =
    "usage: ai_batch [--stream] [--endpoint URL] [--key-env VAR] [--model NAME] [--prompts N] [--concurrency N] [--seed S]";

struct Options {
    endpoint: Option<String>,
    key_env: String,
    model: String,
    prompts: usize,
    concurrency: usize,
    seed: u64,
    stream: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        endpoint: None,
        key_env: "OPENAI_API_KEY".into(),
        model: "gpt-4o-mini".into(),
        prompts: 100,
        concurrency: 8,
        seed: 7,
        stream: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("`{name}` needs a value"));
        let number =
            |name: &str, v: String| v.parse::<u64>().map_err(|_| format!("`{name}` takes a number, not `{v}`"));
        match arg.as_str() {
            "--endpoint" => options.endpoint = Some(value("--endpoint")?),
            "--key-env" => options.key_env = value("--key-env")?,
            "--model" => options.model = value("--model")?,
            "--prompts" => options.prompts = number("--prompts", value("--prompts")?)? as usize,
            "--concurrency" => {
                options.concurrency = (number("--concurrency", value("--concurrency")?)? as usize).max(1)
            }
            "--seed" => options.seed = number("--seed", value("--seed")?)?,
            "--stream" => options.stream = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

/// The batch: a hundred small writing tasks, a few from a project whose key was revoked.
fn prompts(n: usize, key: &str, revoked: Option<&str>, rng: &mut StdRng) -> Vec<Prompt> {
    const FORMS: &[&str] = &["Write a haiku about", "Describe in one sentence", "Give a two-line poem about"];
    const TOPICS: &[&str] = &[
        "autumn rain",
        "a lighthouse",
        "the first snow",
        "city traffic",
        "a sleeping cat",
        "morning coffee",
        "an old map",
        "the tide",
        "a paper boat",
        "thunder",
        "a library",
        "spring wind",
        "a lost key",
        "the night bus",
        "mountain fog",
        "a broken clock",
        "fireflies",
        "a train station",
        "desert stars",
        "a garden gate",
    ];
    (0..n)
        .map(|id| {
            let form = FORMS[id % FORMS.len()];
            let topic = TOPICS.choose(rng).unwrap_or(&"rain");
            let key = match revoked {
                Some(revoked) if rng.random_ratio(1, 25) => revoked,
                _ => key,
            };
            Prompt { id, text: format!("{form} {topic} (#{id})."), key: key.to_owned() }
        })
        .collect()
}

/// Completes one prompt; a call the breaker turned away, or cut short by opening, waits
/// for the breaker to let calls through again and goes again (a batch should not lose work
/// to an outage that a breaker saw coming).
async fn complete(api: &Api, prompt: &Prompt) -> Result<String, ApiError> {
    let breaker = &api.target.breaker;
    let mut requeues = 0;
    loop {
        let result = api.complete(prompt).await;
        let turned_away = match &result {
            Err(ApiError::Open(_)) => true,
            Err(e) => e.is_transient() && breaker.state() != BreakerState::Closed,
            Ok(_) => false,
        };
        if !turned_away || requeues == MAX_REQUEUES {
            return result;
        }
        requeues += 1;
        api.stats.requeued.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // The breaker says when it lets a probe through; half-open lets only that probe
        // through, so the others pause even then instead of spinning.
        while let Some(wait) = breaker.reopens_in() {
            tokio::time::sleep(wait.max(api.target.requeue_pause)).await;
            if breaker.state() != BreakerState::Open {
                break;
            }
        }
    }
}

fn progress_bar(len: usize) -> ProgressBar {
    let target =
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    let style = ProgressStyle::with_template("{spinner} {elapsed:>3} [{bar:30}] {pos}/{len} {msg}")
        .expect("the template is valid")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if options.stream {
        if options.endpoint.is_some() {
            eprintln!("error: `--stream` runs against the local server only");
            return ExitCode::from(2);
        }
        return streaming::run(options.prompts as u32, options.concurrency, options.seed).await;
    }
    let mut rng = StdRng::seed_from_u64(options.seed);

    // Where to send the batch, and with which keys.
    let (api, prompts, server) = match &options.endpoint {
        Some(endpoint) => {
            if endpoint.starts_with("https://") {
                // The dev-dependency has no TLS (see Cargo.toml): say so rather than fail
                // every prompt with reqwest's "scheme is not http".
                eprintln!("error: this build has no TLS; add \"rustls\" to reqwest's features in Cargo.toml's [dev-dependencies]");
                return ExitCode::from(2);
            }
            let Ok(key) = std::env::var(&options.key_env) else {
                eprintln!("error: `--endpoint` needs an API key in `${}`", options.key_env);
                return ExitCode::from(2);
            };
            (Api::new(endpoint, &options.model, Target::remote()), prompts(options.prompts, &key, None, &mut rng), None)
        }
        None => {
            let server = match server::start(options.seed).await {
                Ok(server) => server,
                Err(e) => {
                    eprintln!("error: cannot start the local server: {e}");
                    return ExitCode::from(2);
                }
            };
            let prompts = prompts(options.prompts, server::GOOD_KEY, Some(server::REVOKED_KEY), &mut rng);
            (Api::new(&server.url, &options.model, Target::local()), prompts, Some(server))
        }
    };
    let target = options.endpoint.clone().unwrap_or_else(|| "the local flaky server".into());
    println!(
        "ai_batch: {} prompts to {target} ({}), {} at a time, seed {}",
        prompts.len(),
        options.model,
        options.concurrency,
        options.seed
    );

    let api = Arc::new(api);
    let bar = progress_bar(prompts.len());
    let permits = Arc::new(Semaphore::new(options.concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for prompt in &prompts {
        let (api, permits, bar, prompt) = (Arc::clone(&api), Arc::clone(&permits), bar.clone(), prompt.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
            let result = complete(&api, &prompt).await;
            bar.inc(1);
            (prompt.id, result)
        });
    }
    // The counters and the breaker, between completions too (an outage stalls them).
    let ticker = {
        let (api, bar) = (Arc::clone(&api), bar.clone());
        tokio::spawn(async move {
            loop {
                let breaker = match api.target.breaker.state() {
                    BreakerState::Closed => "",
                    BreakerState::Open => " · breaker open",
                    BreakerState::HalfOpen => " · breaker half-open",
                };
                bar.set_message(format!("retries {}{breaker}", api.stats.retries()));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let mut outcomes: Vec<Option<Outcome>> = (0..prompts.len()).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        // A panicked task leaves its prompt without an outcome: it counts as lost.
        let Ok((id, result)) = joined else { continue };
        outcomes[id] = Some(match result {
            Ok(text) => Outcome::Completed(text),
            Err(e) => Outcome::Failed(e.cause()),
        });
    }
    ticker.abort();
    bar.finish_and_clear();

    let report = Report::new(
        &prompts,
        &outcomes,
        &api.stats,
        server.as_ref().map(|s| &*s.served),
        api.target.throttle.learned(),
        started.elapsed(),
    );
    print!("{report}");
    if report.lost > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
