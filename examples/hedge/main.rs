//! Hedged calls against a service with a long tail, on a virtual clock.
//!
//! Each copy of a call takes a lognormal time (median `M`, sigma `S`), or with probability
//! `F` a time uniform in `[A, B]`: a hiccup (a pause, a queue, a bad replica), as in Dean and
//! Barroso's "The Tail at Scale" (CACM 2013). Three strategies, each over the same calls:
//!
//! - `none`: one copy per call;
//! - `fixed`: `Retry::hedge(d)` with `d` the model's true p95 (tuned offline);
//! - `adaptive`: `Retry::hedge(&Latencies::percentile(95.0))`, what `#[retry(hedge = "p95")]`
//!   does: the p95 learned from the calls as they run, no hedge during the warm-up.
//!
//! Hedged calls send up to 3 copies. The calls run one after another on tokio's paused
//! clock, so a run of a million model seconds takes a second or two. CSV on stdout:
//! `strategy,calls,extra_load,p50_ms,p99_ms,p999_ms`, where `extra_load` is the copies sent
//! beyond one per call, per call.
//!
//! ```text
//! cargo run --release --example hedge
//! cargo run --release --example hedge -- --slow-fraction 0.03 --plot docs/hedge.svg
//! cargo run --example hedge -- --calls 20000 --check      # CI: fails if adaptive misses the target
//! ```
//!
//! Options: `--calls N`, `--median-ms M`, `--sigma S`, `--slow-fraction F`,
//! `--slow-min-ms A`, `--slow-max-ms B`, `--seed S`, `--plot FILE` (SVG), `--check` (exit
//! non-zero unless `adaptive` cuts p99.9 at least 10x for at most 6% extra load).

mod plot;
mod sim;

use std::path::PathBuf;
use std::process::ExitCode;

use sim::{Model, Row, Strategy};

struct Options {
    calls: u64,
    model: Model,
    seed: u64,
    plot: Option<PathBuf>,
    check: bool,
}

const USAGE: &str = "usage: hedge [--calls N] [--median-ms M] [--sigma S] [--slow-fraction F] \
                     [--slow-min-ms A] [--slow-max-ms B] [--seed S] [--plot FILE] [--check]";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        calls: 100_000,
        model: Model { median_ms: 10.0, sigma: 0.5, slow_fraction: 0.02, slow_min_ms: 1000.0, slow_max_ms: 2000.0 },
        seed: 1,
        plot: None,
        check: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let m = &mut options.model;
        match arg.as_str() {
            "--calls" => options.calls = number("--calls", &value("--calls")?)?,
            "--median-ms" => m.median_ms = number("--median-ms", &value("--median-ms")?)?,
            "--sigma" => m.sigma = number("--sigma", &value("--sigma")?)?,
            "--slow-fraction" => m.slow_fraction = number("--slow-fraction", &value("--slow-fraction")?)?,
            "--slow-min-ms" => m.slow_min_ms = number("--slow-min-ms", &value("--slow-min-ms")?)?,
            "--slow-max-ms" => m.slow_max_ms = number("--slow-max-ms", &value("--slow-max-ms")?)?,
            "--seed" => options.seed = number("--seed", &value("--seed")?)?,
            "--plot" => options.plot = Some(PathBuf::from(value("--plot")?)),
            "--check" => options.check = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let m = &options.model;
    if options.calls < 1000 {
        return Err("--calls must be at least 1000 (p99.9 needs a thousand calls)".into());
    }
    let finite = m.median_ms.is_finite() && m.sigma.is_finite();
    if !finite || m.median_ms <= 0.0 || m.sigma < 0.0 {
        return Err(format!("--median-ms must be above 0 and --sigma at least 0, not {} and {}", m.median_ms, m.sigma));
    }
    if !(0.0..=1.0).contains(&m.slow_fraction) {
        return Err(format!("--slow-fraction must be in [0, 1], not {}", m.slow_fraction));
    }
    if !(m.slow_min_ms >= 0.0 && m.slow_min_ms <= m.slow_max_ms && m.slow_max_ms.is_finite()) {
        return Err(format!(
            "--slow-min-ms must be at least 0 and at most --slow-max-ms, not {} and {}",
            m.slow_min_ms, m.slow_max_ms
        ));
    }
    Ok(options)
}

fn number<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("{name}: `{text}` is not a valid number"))
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("hedge: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match report(&options).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("hedge: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn report(options: &Options) -> Result<ExitCode, String> {
    let fixed_ms = options.model.percentile(sim::PERCENTILE)?;
    eprintln!("hedge: the model's p{} is {fixed_ms:.2} ms", sim::PERCENTILE);
    let mut rows: Vec<Row> = Vec::new();
    println!("strategy,calls,extra_load,p50_ms,p99_ms,p999_ms");
    for strategy in Strategy::ALL {
        let row = sim::run(strategy, &options.model, options.calls, options.seed, fixed_ms).await?;
        println!(
            "{},{},{:.4},{:.2},{:.2},{:.2}",
            strategy.name(),
            row.calls,
            row.extra_load,
            row.percentile(50.0),
            row.percentile(99.0),
            row.percentile(99.9)
        );
        rows.push(row);
    }
    if let Some(path) = &options.plot {
        plot::write_svg(&rows, &options.model, path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let [none, _, adaptive] = &rows[..] else { unreachable!("three strategies") };
    let cut = none.percentile(99.9) / adaptive.percentile(99.9);
    eprintln!("hedge: adaptive cuts p99.9 {cut:.1}x for {:.2}% extra load", adaptive.extra_load * 100.0);
    if options.check && (cut < 10.0 || adaptive.extra_load > 0.06) {
        eprintln!("hedge: the target is a cut of at least 10x for at most 6% extra load");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
