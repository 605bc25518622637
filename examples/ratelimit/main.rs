//! Never hit the limit: a batch of prompts against an API whose rate limits the client is
//! not told, with four ways of pacing it.
//!
//! The server (`server.rs`) is an in-process model on tokio's paused clock: OpenAI's
//! continuous buckets of requests and tokens a minute, charged on admission, answering 429
//! when either is short. It sends OpenAI's `x-ratelimit-*` headers on every response and
//! `retry-after-ms` on a 429, or with `--no-headers` only `Retry-After` in whole seconds.
//! Prompt sizes are drawn from a seeded distribution; the batch runs 16 at a time through
//! `#[retry(attempts = 10, backoff = "exp", min = "1s", max = "60s")]` honouring the hint,
//! under each strategy:
//!
//! - `none`: retries only;
//! - `fixed-low`: a `Throttle` at half the limit (the tighter of the request limit and the
//!   token limit over the batch's mean tokens);
//! - `fixed-high`: a `Throttle` at twice it;
//! - `adaptive`: an `AdaptiveThrottle`, told each call's estimated tokens and fed each
//!   response.
//!
//! It prints CSV: `strategy,requests,rate_limited,completed,lost,wall_s,share`, where
//! `share` is the completions a minute achieved over the best the hidden limits allow for
//! the prompts it completed (buckets start full; 16 at a time bound it too), i.e. the
//! shortest possible wall time over the wall time taken. With `--check` it exits
//! non-zero unless `adaptive` meets its targets: at most 1 % of its requests answered 429
//! with headers (5 % without), `share` at least 0.90 (0.75 without), nothing lost, fewer
//! 429s than `fixed-high` and less wall time than `fixed-low`.
//!
//! ```text
//! cargo run --release --example ratelimit
//! cargo run --release --example ratelimit -- --rpm 120 --tpm 40000 --no-headers --check
//! cargo run --release --example ratelimit -- --plot docs/ratelimit.svg
//! ```
//!
//! Options: `--rpm N` (300), `--tpm N` (150000), `--prompts N` (1000), `--seed S`,
//! `--no-headers`, `--check`, `--plot FILE` (SVG of the completion rate over time).

mod plot;
mod server;

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use server::{Limits, Prompt, Server};
use steadfast::guard::{Fits, Guard, Immediate};
use steadfast::{retry, AdaptiveThrottle, Throttle};
use tokio::time::Instant;

const CONCURRENCY: usize = 16;

struct Options {
    limits: Limits,
    prompts: usize,
    seed: u64,
    headers: bool,
    check: bool,
    plot: Option<PathBuf>,
}

const USAGE: &str =
    "usage: ratelimit [--rpm N] [--tpm N] [--prompts N] [--seed S] [--no-headers] [--check] [--plot FILE]";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut o = Options {
        limits: Limits { rpm: 300, tpm: 150_000 },
        prompts: 1000,
        seed: 14,
        headers: true,
        check: false,
        plot: None,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--rpm" => o.limits.rpm = number(&value("--rpm")?)?,
            "--tpm" => o.limits.tpm = number(&value("--tpm")?)?,
            "--prompts" => o.prompts = number(&value("--prompts")?)?,
            "--seed" => o.seed = number(&value("--seed")?)?,
            "--no-headers" => o.headers = false,
            "--check" => o.check = true,
            "--plot" => o.plot = Some(PathBuf::from(value("--plot")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if o.limits.rpm == 0 || o.limits.tpm < 100 || o.prompts == 0 {
        return Err("--rpm and --prompts must be at least 1, --tpm at least 100".into());
    }
    Ok(o)
}

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("`{s}` is not a valid number"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    None,
    FixedLow,
    FixedHigh,
    Adaptive,
}

impl Strategy {
    const ALL: [Strategy; 4] = [Strategy::None, Strategy::FixedLow, Strategy::FixedHigh, Strategy::Adaptive];

    fn name(self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::FixedLow => "fixed-low",
            Strategy::FixedHigh => "fixed-high",
            Strategy::Adaptive => "adaptive",
        }
    }
}

/// What one strategy achieved.
pub struct Run {
    strategy: Strategy,
    requests: u64,
    rate_limited: u64,
    completed: usize,
    lost: usize,
    wall: Duration,
    share: f64,
    /// Seconds from the start at which each prompt completed.
    completions: Vec<f64>,
    learned: Option<String>,
}

/// The server said 429, and maybe when to come back.
#[derive(Debug)]
struct RateLimited(Option<Duration>);

impl RateLimited {
    /// Every 429 is worth another attempt.
    fn is_transient(&self) -> bool {
        true
    }

    fn retry_after(&self) -> Option<Duration> {
        self.0
    }
}

/// What a call costs: the prompt's tokens (a client counts them with a tokenizer) and the
/// answer's `max_tokens`, as the server counts them.
fn estimate(prompt: Prompt) -> u64 {
    prompt.tokens()
}

/// One prompt under any guard of the throttle's kind; `adaptive` is fed each response.
#[retry(attempts = 10, backoff = "exp", min = "1s", max = "60s", when = RateLimited::is_transient,
        retry_after = RateLimited::retry_after, throttle = guard, log = "off")]
async fn complete<G>(
    server: &Server,
    guard: &G,
    adaptive: Option<&AdaptiveThrottle>,
    prompt: Prompt,
) -> Result<(), RateLimited>
where
    G: Guard<Refusal = Infallible> + Fits<Throttle> + Immediate,
{
    let response = server.complete(prompt).await;
    if let Some(adaptive) = adaptive {
        adaptive.learn(response.status, &response.headers);
    }
    if response.status.is_success() {
        Ok(())
    } else {
        Err(RateLimited(steadfast::http::retry_after(&response.headers)))
    }
}

/// A guard that never waits: the `none` strategy.
struct Unthrottled;

impl Guard for Unthrottled {
    type Refusal = Infallible;
    type Ticket = ();
    fn admit(&self) -> steadfast::guard::Admit<(), Infallible> {
        steadfast::guard::Admit::Now(())
    }
    fn record(&self, _: (), _: steadfast::guard::Verdict) -> steadfast::guard::Record {
        steadfast::guard::Record::Now(true)
    }
}
impl Fits<Throttle> for Unthrottled {}
impl Immediate for Unthrottled {}

/// The batch under one strategy, on a fresh paused clock.
fn run(strategy: Strategy, o: &Options, prompts: &[Prompt], fair_rpm: f64) -> Run {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    runtime.block_on(async {
        let server = Server::new(o.limits, o.headers);
        let fixed = |rpm: f64| Throttle::per_minute(rpm.round().max(1.0) as u32);
        let (low, high) = (fixed(fair_rpm / 2.0), fixed(fair_rpm * 2.0));
        let adaptive = AdaptiveThrottle::new();
        let start = Instant::now();
        let results: Vec<(Prompt, Option<f64>)> = futures::stream::iter(prompts.iter().copied())
            .map(|prompt| {
                let (server, low, high, adaptive) = (&server, &low, &high, &adaptive);
                async move {
                    let result = match strategy {
                        Strategy::None => complete(server, &Unthrottled, None, prompt).await,
                        Strategy::FixedLow => complete(server, low, None, prompt).await,
                        Strategy::FixedHigh => complete(server, high, None, prompt).await,
                        Strategy::Adaptive => {
                            complete(server, &adaptive.cost(estimate(prompt)), Some(adaptive), prompt).await
                        }
                    };
                    (prompt, result.ok().map(|()| start.elapsed().as_secs_f64()))
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let wall = start.elapsed();
        let completions: Vec<f64> = results.iter().filter_map(|r| r.1).collect();
        let completed = completions.len();
        // Against the best for the prompts it completed: a strategy that loses the large
        // prompts is not credited with the tokens it did not spend.
        let done: Vec<Prompt> = results.iter().filter(|r| r.1.is_some()).map(|r| r.0).collect();
        let share = o.limits.best_wall(&done, CONCURRENCY).as_secs_f64() / wall.as_secs_f64();
        let requests = *server.requests.lock().unwrap();
        let rate_limited = *server.rate_limited.lock().unwrap();
        Run {
            strategy,
            requests,
            rate_limited,
            completed,
            lost: prompts.len() - completed,
            wall,
            share,
            completions,
            learned: (strategy == Strategy::Adaptive).then(|| adaptive.learned().to_string()),
        }
    })
}

/// Where `adaptive` misses a target, one line each.
fn misses(runs: &[Run], headers: bool) -> Vec<String> {
    let get = |s: Strategy| runs.iter().find(|r| r.strategy == s).expect("every strategy ran");
    let (adaptive, low, high) = (get(Strategy::Adaptive), get(Strategy::FixedLow), get(Strategy::FixedHigh));
    let (max_429, min_share) = if headers { (0.01, 0.90) } else { (0.05, 0.75) };
    let limited = adaptive.rate_limited as f64 / adaptive.requests.max(1) as f64;
    let mut misses = Vec::new();
    if limited > max_429 {
        misses.push(format!("{:.1}% of its requests were 429s (target ≤ {:.0}%)", limited * 100.0, max_429 * 100.0));
    }
    if adaptive.share < min_share {
        misses.push(format!("share {:.3} (target ≥ {min_share:.2})", adaptive.share));
    }
    if adaptive.lost > 0 {
        misses.push(format!("{} prompts lost", adaptive.lost));
    }
    if adaptive.rate_limited >= high.rate_limited && high.rate_limited > 0 {
        misses.push(format!("{} 429s, fixed-high {}", adaptive.rate_limited, high.rate_limited));
    }
    if adaptive.wall >= low.wall {
        misses.push(format!("wall {:.1}s, fixed-low {:.1}s", adaptive.wall.as_secs_f64(), low.wall.as_secs_f64()));
    }
    misses
}

fn main() -> ExitCode {
    let o = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let prompts = server::prompts(o.prompts, o.seed, o.limits.tpm);
    let mean_tokens = prompts.iter().map(Prompt::tokens).sum::<u64>() as f64 / prompts.len() as f64;
    // The request rate the hidden limits allow in the long run.
    let fair_rpm = (o.limits.rpm as f64).min(o.limits.tpm as f64 / mean_tokens);
    let best = o.limits.best_wall(&prompts, CONCURRENCY);
    eprintln!(
        "{} prompts (mean {mean_tokens:.0} tokens), hidden limits {} requests/min and {} tokens/min \
         ({fair_rpm:.0} requests/min in the long run), {}; best wall {:.1}s",
        prompts.len(),
        o.limits.rpm,
        o.limits.tpm,
        if o.headers { "rate-limit headers" } else { "429 + Retry-After only" },
        best.as_secs_f64(),
    );
    let runs: Vec<Run> = Strategy::ALL.into_iter().map(|s| run(s, &o, &prompts, fair_rpm)).collect();
    println!("strategy,requests,rate_limited,completed,lost,wall_s,share");
    for r in &runs {
        println!(
            "{},{},{},{},{},{:.1},{:.3}",
            r.strategy.name(),
            r.requests,
            r.rate_limited,
            r.completed,
            r.lost,
            r.wall.as_secs_f64(),
            r.share
        );
        if let Some(learned) = &r.learned {
            eprintln!("adaptive learned: {learned}");
        }
    }
    if let Some(path) = &o.plot {
        let best_rpm = prompts.len() as f64 / best.as_secs_f64() * 60.0;
        if let Err(e) = plot::write_svg(&runs, best_rpm, &o, path) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("plot written to {}", path.display());
    }
    if o.check {
        let misses = misses(&runs, o.headers);
        if !misses.is_empty() {
            for m in &misses {
                eprintln!("adaptive misses a target: {m}");
            }
            return ExitCode::FAILURE;
        }
        eprintln!("adaptive meets every target");
    }
    ExitCode::SUCCESS
}
