//! Compile cost of `#[retry]`: the same N small async functions written plain, under
//! `#[steadfast::retry]`, and retried by hand with backon closures, each crate checked and
//! release-built again after a one-line edit. The crates live in a throwaway workspace under
//! `<target>/compile-cost/` that shares one lockfile (a copy of this workspace's) and one
//! target dir, so dependencies are built once, untimed, and only the crate itself is timed.
//!
//! `cargo bench --bench compile_cost -- [--fns N] [--runs R]` (defaults: 200 functions, 3 runs)
//!
//! Prints `form,check_s,release_s,check_vs_backon,release_vs_backon` as CSV on stdout (medians
//! of R runs), then, when `cargo expand` is installed, each crate's expanded size. Every
//! command it runs is echoed on stderr. Without `--bench` (`cargo test --benches`) it only
//! says that it skipped: a run takes minutes.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::time::Instant;

const USAGE: &str = "usage: cargo bench --bench compile_cost -- [--fns N] [--runs R]";

/// The root package is the workspace root.
const WORKSPACE: &str = env!("CARGO_MANIFEST_DIR");

struct Args {
    fns: usize,
    runs: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Form {
    Plain,
    Attr,
    Backon,
}

const FORMS: [Form; 3] = [Form::Plain, Form::Attr, Form::Backon];

#[derive(Clone, Copy)]
enum Mode {
    Check,
    Release,
}

const MODES: [Mode; 2] = [Mode::Check, Mode::Release];

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `None` when there is nothing to do: under `cargo test` (no `--bench`), for `--help`, or
/// when `cargo bench FILTER` names some other benchmark (cargo hands every bench the filter).
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args { fns: 200, runs: 3 };
    let (mut bench, mut filtered_out) = (false, false);
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        match flag {
            "--bench" => bench = true,
            "--fns" | "--runs" => {
                let value = inline.or_else(|| argv.next()).ok_or_else(|| format!("{flag} needs a value"))?;
                let n = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("{flag} takes a positive integer, not `{value}`"))?;
                if flag == "--fns" {
                    args.fns = n;
                } else {
                    args.runs = n;
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            _ if flag.starts_with('-') => return Err(format!("unknown option `{arg}`")),
            filter => filtered_out |= !"compile_cost".contains(filter),
        }
    }
    if !bench {
        eprintln!("compile_cost: skipped; it runs only under `cargo bench` (it takes minutes)");
        return Ok(None);
    }
    Ok((!filtered_out).then_some(args))
}

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let workspace = Path::new(WORKSPACE);
    let lockfile = workspace.join("Cargo.lock");
    let lock = fs::read_to_string(&lockfile).map_err(|e| format!("cannot read {}: {e}", lockfile.display()))?;
    let backon = locked_version(&lock, "backon")
        .ok_or_else(|| format!("{} has no backon; it is a dev-dependency of steadfast", lockfile.display()))?;
    let steadfast = workspace.to_str().ok_or_else(|| format!("{} is not UTF-8", workspace.display()))?;

    let scratch = Scratch::create(&target_dir().join("compile-cost"), &lock, args.fns, steadfast, backon)?;
    eprintln!("compile_cost: {} fns per crate, {} runs, in {}", args.fns, args.runs, scratch.root.display());

    // The registry cache is enough when this workspace has been built here (hence the host
    // target only: `cargo fetch` otherwise wants every platform's crates); the online
    // fetch is for a machine whose cache lacks some crate the lockfile names.
    let host = scratch.host()?;
    if let Err(e) = scratch.cargo(&["fetch", "--offline", "--target", &host]) {
        eprintln!("compile_cost: offline fetch failed, fetching from the registry ({})", cargo_error(&e));
        scratch.cargo(&["fetch", "--target", &host])?;
    }

    // Untimed: builds the dependencies, and each crate once so that every timed build is
    // the incremental rebuild after an edit.
    for form in FORMS {
        for mode in MODES {
            scratch.cargo(&mode.args(&form.package()))?;
        }
    }

    // Runs are interleaved so that a drift of the machine's speed spreads over every form.
    let mut times: [[Vec<f64>; 2]; 3] = Default::default();
    let mut edit = 0;
    for _ in 0..args.runs {
        for (f, form) in FORMS.into_iter().enumerate() {
            for (m, mode) in MODES.into_iter().enumerate() {
                edit += 1;
                scratch.edit(form, edit)?;
                times[f][m].push(scratch.time(form, mode)?);
            }
        }
    }

    let medians = times.map(|modes| modes.map(median));
    let backon = medians[2];
    let mut table = String::from("form,check_s,release_s,check_vs_backon,release_vs_backon\n");
    for (form, [check, release]) in FORMS.into_iter().zip(medians) {
        let (vs_check, vs_release) = (check / backon[0], release / backon[1]);
        writeln!(table, "{},{check:.3},{release:.3},{vs_check:.2},{vs_release:.2}", form.name()).unwrap();
    }
    print!("{table}");

    // Last: cargo-expand builds with its own flags, which would have made the timed
    // commands rebuild dependencies.
    scratch.print_expanded_sizes();
    eprintln!("compile_cost: done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `$CARGO_TARGET_DIR` (a relative one taken from the workspace root) or `<workspace>/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        // `join` keeps an absolute path as it is.
        Some(dir) if !dir.is_empty() => Path::new(WORKSPACE).join(dir),
        _ => Path::new(WORKSPACE).join("target"),
    }
}

/// The version of `name` in a `Cargo.lock`, which lists `name` then `version` per package.
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    lines.by_ref().find(|line| *line == wanted)?;
    lines.next()?.strip_prefix("version = \"")?.strip_suffix('"')
}

fn median(mut secs: Vec<f64>) -> f64 {
    secs.sort_by(f64::total_cmp);
    let mid = secs.len() / 2;
    if secs.len() % 2 == 1 {
        secs[mid]
    } else {
        (secs[mid - 1] + secs[mid]) / 2.0
    }
}

/// Cargo's own `error:` line out of a failure's message.
fn cargo_error(failure: &str) -> &str {
    let mut lines = failure.lines();
    let first = lines.next().unwrap_or_default();
    lines.find(|line| line.starts_with("error")).unwrap_or(first)
}

impl Form {
    fn name(self) -> &'static str {
        match self {
            Form::Plain => "plain",
            Form::Attr => "attr",
            Form::Backon => "backon",
        }
    }

    /// Prefixed: a package named `backon` could not depend on backon.
    fn package(self) -> String {
        format!("compile-cost-{}", self.name())
    }

    fn manifest(self, steadfast: &str, backon: &str) -> String {
        let dependency = match self {
            Form::Plain => String::new(),
            Form::Attr => format!("steadfast = {{ path = {} }}\n", toml_string(steadfast)),
            // Pinned to the lockfile's version, which the copied lockfile then keeps.
            Form::Backon => format!("backon = \"={backon}\"\n"),
        };
        format!(
            "[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\n{dependency}",
            self.package()
        )
    }

    /// `lib.rs` with `fns` functions; `edit` goes in a comment so that each rewrite is a
    /// change rustc must re-check.
    fn source(self, fns: usize, edit: usize) -> String {
        let mut src = format!(
            "// compile_cost edit {edit:06}\n\n\
             #[derive(Debug)]\n\
             pub struct MyError;\n\n\
             impl std::fmt::Display for MyError {{\n    \
                 fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        \
                     f.write_str(\"my error\")\n    \
                 }}\n\
             }}\n\n\
             impl std::error::Error for MyError {{}}\n"
        );
        if self == Form::Backon {
            src.push_str("\nuse std::time::Duration;\n\nuse backon::{ExponentialBuilder, Retryable};\n");
        }
        for i in 0..fns {
            // The index in the body makes every function distinct.
            let body = format!("if n % 7 == {} {{ Err(MyError) }} else {{ Ok(format!(\"{{s}}-{i}-{{n}}\")) }}", i % 7);
            let signature = "(s: &str, n: u32) -> Result<String, MyError>";
            src.push('\n');
            match self {
                Form::Plain => writeln!(src, "pub async fn f{i}{signature} {{\n    {body}\n}}"),
                Form::Attr => writeln!(
                    src,
                    "#[steadfast::retry(attempts = 3, min = \"10ms\", max = \"1s\")]\n\
                     pub async fn f{i}{signature} {{\n    {body}\n}}"
                ),
                // `attempts = 3` is the first call and two retries.
                Form::Backon => writeln!(
                    src,
                    "pub async fn f{i}{signature} {{\n    \
                         async fn attempt{signature} {{\n        {body}\n    }}\n    \
                         (|| async move {{ attempt(s, n).await }})\n        \
                             .retry(\n            \
                                 ExponentialBuilder::default()\n                \
                                     .with_min_delay(Duration::from_millis(10))\n                \
                                     .with_max_delay(Duration::from_secs(1))\n                \
                                     .with_max_times(2),\n        \
                             )\n        \
                             .await\n\
                     }}"
                ),
            }
            .unwrap();
        }
        src
    }
}

impl Mode {
    /// Offline: the fetch before the builds brought everything they need.
    fn args(self, package: &str) -> Vec<&str> {
        let mut args = match self {
            Mode::Check => vec!["check"],
            Mode::Release => vec!["build", "--release"],
        };
        args.extend(["-p", package, "--offline"]);
        args
    }
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The generated workspace.
struct Scratch {
    root: PathBuf,
    cargo: OsString,
    fns: usize,
}

impl Scratch {
    fn create(root: &Path, lock: &str, fns: usize, steadfast: &str, backon: &str) -> Result<Scratch, String> {
        let members = FORMS.map(|form| format!("\"{}\"", form.name())).join(", ");
        write(&root.join("Cargo.toml"), &format!("[workspace]\nmembers = [{members}]\nresolver = \"2\"\n"))?;
        // Rewritten every run, so that versions follow this workspace's lockfile.
        write(&root.join("Cargo.lock"), lock)?;
        let scratch =
            Scratch { root: root.to_owned(), cargo: std::env::var_os("CARGO").unwrap_or("cargo".into()), fns };
        for form in FORMS {
            write(&root.join(form.name()).join("Cargo.toml"), &form.manifest(steadfast, backon))?;
            scratch.edit(form, 0)?;
        }
        Ok(scratch)
    }

    fn edit(&self, form: Form, edit: usize) -> Result<(), String> {
        write(&self.root.join(form.name()).join("src/lib.rs"), &form.source(self.fns, edit))
    }

    /// Builds one crate and returns the wall-clock seconds, after checking that cargo
    /// rebuilt that crate and nothing else, so that the time is the crate's own.
    fn time(&self, form: Form, mode: Mode) -> Result<f64, String> {
        let package = form.package();
        let args = mode.args(&package);
        let start = Instant::now();
        let output = self.cargo(&args)?;
        let secs = start.elapsed().as_secs_f64();
        eprintln!("  {secs:.3}s");

        let stderr = String::from_utf8_lossy(&output.stderr);
        let built: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("Compiling ") || line.starts_with("Checking "))
            .collect();
        let own = format!(" {package} v");
        if !built.iter().any(|line| line.contains(&own)) {
            return Err(format!("`{}` did not rebuild {package}:\n{stderr}", self.display(&args)));
        }
        if built.len() > 1 {
            eprintln!(
                "  warning: dependencies were rebuilt too, so this time is inflated:\n    {}",
                built.join("\n    ")
            );
        }
        Ok(secs)
    }

    /// The host target triple, as cargo reports it.
    fn host(&self) -> Result<String, String> {
        let output = self.cargo(&["-vV"])?;
        let version = String::from_utf8_lossy(&output.stdout);
        let host = version.lines().find_map(|line| line.strip_prefix("host: "));
        host.map(str::to_owned).ok_or_else(|| format!("no `host:` line in `cargo -vV`:\n{version}"))
    }

    fn print_expanded_sizes(&self) {
        eprintln!("$ {}", self.display(&["expand", "--version"]));
        if self.command(&["expand", "--version"]).output().map_or(true, |out| !out.status.success()) {
            eprintln!("compile_cost: `cargo expand` is not installed; no expanded sizes");
            return;
        }
        let mut table = String::from("\nform,expanded_lines,expanded_bytes\n");
        for form in FORMS {
            let package = form.package();
            match self.cargo(&["expand", "--lib", "-p", &package, "--offline"]) {
                Ok(output) => {
                    let lines = output.stdout.iter().filter(|&&b| b == b'\n').count();
                    writeln!(table, "{},{lines},{}", form.name(), output.stdout.len()).unwrap();
                }
                // The timings are out already; a missing size is worth a warning, not a failure.
                Err(e) => {
                    eprintln!("compile_cost: warning: no expanded sizes: {e}");
                    return;
                }
            }
        }
        print!("{table}");
    }

    /// Runs cargo in the generated workspace, echoing the command on stderr; an error names
    /// the command and carries its stderr.
    fn cargo(&self, args: &[impl AsRef<str>]) -> Result<Output, String> {
        let shown = self.display(args);
        eprintln!("$ {shown}");
        let output = self.command(args).output().map_err(|e| format!("cannot run `{shown}`: {e}"))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!("`{shown}` failed ({}):\n{}", output.status, stderr.trim_end()));
        }
        Ok(output)
    }

    fn command(&self, args: &[impl AsRef<str>]) -> Command {
        let mut command = Command::new(&self.cargo);
        // The generated workspace's own target dir, even under a `CARGO_TARGET_DIR` meant for
        // this workspace; plain status lines, as `time` reads them.
        command
            .current_dir(&self.root)
            .args(args.iter().map(|arg| arg.as_ref()))
            .env("CARGO_TARGET_DIR", "target")
            .env("CARGO_TERM_COLOR", "never");
        command
    }

    fn display(&self, args: &[impl AsRef<str>]) -> String {
        let mut shown = format!(
            "cd {} && CARGO_TARGET_DIR=target CARGO_TERM_COLOR=never {}",
            shell_quote(&self.root.to_string_lossy()),
            shell_quote(&self.cargo.to_string_lossy())
        );
        for arg in args {
            shown.push(' ');
            shown.push_str(&shell_quote(arg.as_ref()));
        }
        shown
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:+,".contains(&b)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    let dir = path.parent().expect("a file in a directory");
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
