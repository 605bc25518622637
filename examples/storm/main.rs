//! Retry storms, simulated with this crate's own delays.
//!
//! A reproduction of the simulation in Marc Brooker's "Exponential Backoff And Jitter" (AWS
//! Architecture Blog, 2015): N clients start together and each updates one row under
//! optimistic concurrency; a client whose write lost backs off (through
//! `steadfast::Policy::delay_with`) and reads again. It prints, for N = 10, 20, …, 190 and
//! each algorithm, the mean number of write calls and the mean time until the last client
//! succeeds. See docs/BENCHMARKS.md for the figures and how each algorithm maps onto `Policy`.
//!
//! A second scenario, `--scenario outage`, has 100 callers retry with
//! `#[retry(attempts = 5)]`'s policy against a service that fails every call (and, for
//! contrast, 5% of calls), with and without a shared `steadfast::Budget`, and prints the
//! load amplification: calls the service received per first attempt.
//!
//! ```text
//! cargo run --release --example storm > storm.csv                       # the full grid
//! cargo run --release --example storm -- --plot docs/storm.svg > storm.csv
//! cargo run --release --example storm -- --scenario outage
//! cargo run --example storm -- --quick                                  # smoke size for CI
//! ```
//!
//! Options: `--scenario storm|outage`, `--plot FILE` (SVG chart of the storm), `--quick`
//! (N up to 50 and 10 runs), `--max-clients N`, `--runs R`, `--seed S`.

mod outage;
mod plot;
mod sim;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sim::{Algorithm, Point};

/// What the command line asked for.
struct Options {
    scenario: Scenario,
    plot: Option<PathBuf>,
    max_clients: usize,
    runs: u32,
    seed: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Storm,
    Outage,
}

const USAGE: &str =
    "usage: storm [--scenario storm|outage] [--quick] [--max-clients N] [--runs R] [--seed S] [--plot FILE]";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options { scenario: Scenario::Storm, plot: None, max_clients: 190, runs: 100, seed: sim::SEED };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--scenario" => {
                options.scenario = match value("--scenario")?.as_str() {
                    "storm" => Scenario::Storm,
                    "outage" => Scenario::Outage,
                    other => return Err(format!("unknown scenario `{other}`")),
                }
            }
            "--quick" => (options.max_clients, options.runs) = (50, 10),
            "--max-clients" => options.max_clients = number(&value("--max-clients")?)?,
            "--runs" => options.runs = number(&value("--runs")?)?,
            "--seed" => options.seed = number(&value("--seed")?)?,
            "--plot" => options.plot = Some(PathBuf::from(value("--plot")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if options.max_clients < 10 || options.runs == 0 {
        return Err("--max-clients must be at least 10 and --runs at least 1".into());
    }
    if options.scenario == Scenario::Outage && options.plot.is_some() {
        return Err("--plot charts the storm scenario only".into());
    }
    Ok(options)
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("`{text}` is not a valid number"))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("storm: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match options.scenario {
        Scenario::Storm => storm_report(&options),
        Scenario::Outage => outage_report(&options),
    }
}

/// The storm grid as CSV, and the chart if asked for.
fn storm_report(options: &Options) -> ExitCode {
    let points = storm(options);
    println!("clients,algorithm,calls,time_ms");
    for p in &points {
        println!("{},{},{:.1},{:.1}", p.clients, p.algorithm.name(), p.calls, p.time_ms);
    }
    if let Some(path) = &options.plot {
        if let Err(e) = plot::write_svg(&points, path, options.runs) {
            eprintln!("storm: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if points.iter().any(|p| !p.all_finished) {
        eprintln!("storm: some client never finished its update");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Outage and brownout, without and with a budget, as CSV.
fn outage_report(options: &Options) -> ExitCode {
    println!("failure_rate,budget,first_attempts,calls,refused,amplification");
    for failure_rate in [1.0, 0.05] {
        let load = outage::Load { clients: 100, operations: 10, think: Duration::from_millis(100), failure_rate };
        for with_budget in [false, true] {
            let o = outage::total(with_budget, load, options.runs, options.seed);
            let budget = if with_budget { "grpc(10,0.1)" } else { "none" };
            println!("{failure_rate},{budget},{},{},{},{:.3}", o.first_attempts, o.calls, o.refused, o.amplification());
        }
    }
    ExitCode::SUCCESS
}

/// Every (N, algorithm) point of the grid, in CSV order.
fn storm(options: &Options) -> Vec<Point> {
    let jobs: Vec<(usize, Algorithm)> = (10..=options.max_clients)
        .step_by(10)
        .flat_map(|clients| Algorithm::ALL.map(|algorithm| (clients, algorithm)))
        .collect();
    parallel(&jobs, |&(clients, algorithm)| sim::point(algorithm, clients, options.runs, options.seed))
}

/// `f` over `jobs` on every core, results in job order. Each point seeds its own runs, so
/// the output does not depend on the number of threads.
fn parallel<J: Sync, R: Send>(jobs: &[J], f: impl Fn(&J) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(jobs.len()).max(1);
    let next = AtomicUsize::new(0);
    // The largest points are last in the grid: take those first so the threads end together.
    let take = || {
        let taken = next.fetch_add(1, Ordering::Relaxed);
        (taken < jobs.len()).then(|| jobs.len() - 1 - taken)
    };
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while let Some(i) = take() {
                        mine.push((i, f(&jobs[i])));
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a simulation thread panicked")).collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}
