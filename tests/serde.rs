//! Policies and guards from configuration files (feature `serde`): TOML and JSON read into
//! the policies the builder makes, the attribute's checks as deserialization errors in the
//! attribute's words, every duration form, and guards that behave as their settings say.
//! Under tokio's paused clock where time matters.

#![cfg(feature = "serde")]

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use serde::Deserialize;
use steadfast::{
    retry, testing, Backoff, Breaker, BreakerState, Budget, Elapsed, HintAboveMax, Jitter, Open, Policy, Throttle,
};
use tokio::time::{advance, Instant};

const NS: Duration = Duration::from_nanos(1);
const US: Duration = Duration::from_micros(1);
const MS: Duration = Duration::from_millis(1);
const S: Duration = Duration::from_secs(1);
const MIN: Duration = Duration::from_secs(60);
const H: Duration = Duration::from_secs(3600);

fn read<T: for<'de> Deserialize<'de>>(text: &str) -> T {
    toml::from_str(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The message of the error reading `text`, without TOML's location.
fn toml_error<T: for<'de> Deserialize<'de> + fmt::Debug>(text: &str) -> String {
    toml::from_str::<T>(text).expect_err(text).message().to_owned()
}

/// The same document as JSON (by way of `serde_json::Value`, whose errors carry no position).
fn as_json(text: &str) -> serde_json::Value {
    let table: toml::Table = read(text);
    serde_json::to_value(table).unwrap()
}

fn json_error<T: for<'de> Deserialize<'de> + fmt::Debug>(text: &str) -> String {
    serde_json::from_value::<T>(as_json(text)).expect_err(text).to_string()
}

/// The delays a policy would take, under a fixed seed.
fn delays(policy: &Policy) -> Vec<Duration> {
    let _seed = testing::seed(7);
    policy.delays().collect()
}

/// `read` is the builder's `built`: equal, getter by getter, and sleep by sleep.
fn same(read: &Policy, built: &Policy, context: &str) {
    assert_eq!(read, built, "{context}");
    let getters = |p: &Policy| {
        (
            p.get_attempts(),
            p.get_backoff(),
            p.get_jitter(),
            p.get_min(),
            p.get_base(),
            p.get_max(),
            p.get_step(),
            p.get_factor(),
            p.get_deadline(),
            p.get_timeout(),
            p.get_hint_above_max(),
        )
    };
    assert_eq!(getters(read), getters(built), "{context}");
    assert_eq!(delays(read), delays(built), "{context}");
}

// ---- policies ----

/// Documents and the builder calls they stand for.
fn policies() -> Vec<(&'static str, Policy)> {
    vec![
        ("", Policy::new()),
        (
            // The README's example (less `step`, which only a linear backoff takes).
            r#"
            attempts = 5
            backoff = "exp"
            min = "2s"
            max = "60s"
            base = "1s"
            factor = 2.0
            jitter = "full"
            deadline = "2m"
            timeout = "30s"
            "#,
            Policy::new()
                .attempts(5)
                .backoff(Backoff::Exponential)
                .min(2 * S)
                .max(60 * S)
                .base(S)
                .factor(2.0)
                .jitter(Jitter::Full)
                .deadline(2 * MIN)
                .timeout(30 * S),
        ),
        (
            r#"attempts = 5
            min = "2s"
            max = "60s"
            jitter = "none""#,
            Policy::exponential(2 * S, 60 * S).attempts(5).jitter(Jitter::None),
        ),
        (
            r#"attempts = 6
            factor = 3
            min = "100ms"
            jitter = "equal""#,
            Policy::new().attempts(6).factor(3.0).min(100 * MS).jitter(Jitter::Equal),
        ),
        (
            r#"backoff = "linear"
            min = "1s"
            step = "500ms"
            max = "30s"
            attempts = 4
            jitter = "none""#,
            Policy::linear(S, 500 * MS, 30 * S).attempts(4).jitter(Jitter::None),
        ),
        (
            r#"backoff = "fibonacci"
            min = "1s"
            max = "10s"
            attempts = 8
            jitter = "decorrelated""#,
            Policy::fibonacci(S, 10 * S).attempts(8).jitter(Jitter::Decorrelated),
        ),
        (
            r#"backoff = "fixed"
            min = "1s"
            max = "1s""#,
            Policy::fixed(S),
        ),
        (
            r#"backoff = "none"
            attempts = 4"#,
            Policy::immediate().attempts(4),
        ),
        (r#"base = "250ms""#, Policy::new().base(250 * MS)),
        (r#"max = "100ms""#, Policy::new().max(100 * MS)),
        (r#"max = "1h""#, Policy::new().max(H)),
        (r#"hint_above_max = "clamp""#, Policy::new().hint_above_max(HintAboveMax::Clamp)),
        (r#"hint_above_max = "ignore""#, Policy::new().hint_above_max(HintAboveMax::Ignore)),
        (r#"hint_above_max = "give_up""#, Policy::new()),
    ]
}

#[test]
fn toml_reads_into_the_builders_policy() {
    for (text, built) in policies() {
        same(&read::<Policy>(text), &built, text);
    }
}

#[test]
fn json_reads_into_the_builders_policy() {
    for (text, built) in policies() {
        let policy: Policy = serde_json::from_value(as_json(text)).unwrap_or_else(|e| panic!("{text}: {e}"));
        same(&policy, &built, text);
    }
    let text = r#"{"attempts": 5, "backoff": "linear", "min": "1s", "step": "250ms", "max": "2s", "jitter": "none"}"#;
    let policy: Policy = serde_json::from_str(text).unwrap();
    same(&policy, &Policy::linear(S, 250 * MS, 2 * S).attempts(5).jitter(Jitter::None), text);
    assert_eq!(policy.delays().collect::<Vec<_>>(), [1000 * MS, 1250 * MS, 1500 * MS, 1750 * MS]);
}

#[test]
fn the_delays_are_the_attributes() {
    // tenacity's wait_exponential(multiplier=1, min=2, max=60), as DESIGN.md writes it.
    let policy: Policy = read(
        r#"attempts = 5
        base = "1s"
        min = "2s"
        max = "60s"
        jitter = "none""#,
    );
    assert_eq!(policy.delays().collect::<Vec<_>>(), [2, 2, 4, 8].map(Duration::from_secs));
    let policy: Policy = read(
        r#"attempts = 4
        backoff = "none""#,
    );
    assert_eq!(policy.delays().collect::<Vec<_>>(), [Duration::ZERO; 3]);
}

#[tokio::test(start_paused = true)]
async fn a_policy_from_a_file_drives_retry() {
    #[derive(Deserialize)]
    struct Settings {
        retry: Policy,
    }
    struct Client {
        settings: Settings,
    }
    impl Client {
        #[retry(policy = self.settings.retry)]
        async fn hang(&self) -> Result<(), ApiError> {
            tokio::time::sleep(H).await;
            Ok(())
        }
    }
    let client = Client {
        settings: read(
            r#"
            [retry]
            attempts = 10
            backoff = "fixed"
            min = "1s"
            max = "1s"
            timeout = "2s"
            deadline = "5s"
            "#,
        ),
    };
    let start = Instant::now();
    assert_eq!(client.hang().await, Err(ApiError::TimedOut));
    // 2s, sleep 1s, 2s (t = 5): a sleep now would end past the deadline.
    assert_eq!(start.elapsed(), 5 * S);
}

// ---- the attribute's checks ----

/// Every rule of `retry-macros/src/valid.rs` that applies at run time, in its words.
const RULES: &[(&str, &str)] = &[
    ("attempts = 0", "invalid value for `attempts`: 0; it counts every call including the first, so it must be at least 1"),
    ("attempts = -1", "invalid value for `attempts`: -1; it counts every call including the first, so it must be at least 1"),
    (
        "attempts = 4294967296",
        "invalid value for `attempts`: 4294967296 is too large; the maximum is 4294967295 (use `deadline` to bound a long retry)",
    ),
    ("factor = 1", "invalid value for `factor`: 1; it must be a finite number greater than 1 (each delay grows by it)"),
    ("factor = 0.5", "invalid value for `factor`: 0.5; it must be a finite number greater than 1 (each delay grows by it)"),
    ("factor = -2", "invalid value for `factor`: -2; it must be a finite number greater than 1 (each delay grows by it)"),
    ("factor = inf", "invalid value for `factor`: inf; it must be a finite number greater than 1 (each delay grows by it)"),
    ("factor = nan", "invalid value for `factor`: NaN; it must be a finite number greater than 1 (each delay grows by it)"),
    (
        r#"max = "0s""#,
        r#"invalid value for `max`: "0s"; it must be greater than zero; to retry without sleeping use `backoff = "none"`"#,
    ),
    (r#"timeout = "0ms""#, r#"invalid value for `timeout`: "0ms"; it must be greater than zero"#),
    (r#"deadline = "0h""#, r#"invalid value for `deadline`: "0h"; it must be greater than zero"#),
    (
        r#"min = "2m"
        max = "60s""#,
        r#"invalid value for `min`: "2m" is larger than `max` ("60s")"#,
    ),
    (
        r#"base = "1.5s"
        max = "1s""#,
        r#"invalid value for `base`: "1.5s" is larger than `max` ("1s")"#,
    ),
    (r#"min = "1m""#, r#"invalid value for `min`: "1m" is larger than the default `max` of 30s; raise `max`"#),
    (r#"base = "31s""#, r#"invalid value for `base`: "31s" is larger than the default `max` of 30s; raise `max`"#),
    (
        r#"step = "500ms""#,
        r#"invalid value for `step`: "500ms"; `step` only applies to `backoff = "linear"`, but `backoff` is `"exp"` by default; add `backoff = "linear"`"#,
    ),
    (
        r#"backoff = "fixed"
        step = "1s""#,
        r#"invalid value for `step`: "1s"; `step` only applies to `backoff = "linear"`, but this policy uses `backoff = "fixed"`"#,
    ),
    (
        r#"backoff = "linear"
        factor = 1.5"#,
        r#"invalid value for `factor`: 1.5; `factor` only applies to `backoff = "exp"`, but this policy uses `backoff = "linear"`"#,
    ),
    (
        r#"backoff = "none"
        min = "1s""#,
        r#"invalid value for `min`: "1s"; `min` has no effect with `backoff = "none"`, which retries without sleeping; remove it"#,
    ),
    (
        r#"backoff = "none"
        base = "1s""#,
        r#"invalid value for `base`: "1s"; `base` has no effect with `backoff = "none"`, which retries without sleeping; remove it"#,
    ),
    (
        r#"backoff = "none"
        max = "1s""#,
        r#"invalid value for `max`: "1s"; `max` has no effect with `backoff = "none"`, which retries without sleeping; remove it"#,
    ),
    (
        r#"backoff = "none"
        jitter = "full""#,
        r#"invalid value for `jitter`: "full"; `jitter` has no effect with `backoff = "none"`, which retries without sleeping; remove it"#,
    ),
    // A value that is wrong on its own is reported where it is read, before any check of
    // one key against another; those come in the attribute's order: bounds, then
    // combinations.
    (
        r#"step = "1s"
        min = "1m"
        attempts = 0"#,
        "invalid value for `attempts`: 0; it counts every call including the first, so it must be at least 1",
    ),
    (
        r#"backoff = "none"
        min = "1m""#,
        r#"invalid value for `min`: "1m" is larger than the default `max` of 30s; raise `max`"#,
    ),
];

#[test]
fn every_rule_is_an_error_in_the_attributes_words() {
    for (text, message) in RULES {
        assert_eq!(toml_error::<Policy>(text), *message, "{text}");
        // JSON has no infinity or NaN.
        if !text.contains("inf") && !text.contains("nan") {
            assert_eq!(json_error::<Policy>(text), *message, "{text} as JSON");
        }
    }
}

#[test]
fn what_the_rules_allow_is_accepted() {
    for text in [
        "attempts = 1",
        "attempts = 4294967295",
        "factor = 1.0001",
        r#"min = "30s""#,
        r#"min = "0s""#,
        r#"min = "1s"
        max = "1s""#,
        r#"backoff = "linear"
        step = "0s""#,
        r#"backoff = "none"
        timeout = "1s"
        deadline = "1m""#,
        r#"min = "5m"
        max = "10m""#,
    ] {
        let _: Policy = read(text);
    }
}

#[test]
fn errors_carry_their_place_in_the_file() {
    let error = toml::from_str::<Policy>("attempts = 3\nmin = \"2m\"\nmax = \"60s\"\n").unwrap_err();
    assert!(error.to_string().contains(r#"invalid value for `min`: "2m" is larger than `max` ("60s")"#), "{error}");
    assert!(error.span().is_some());
    // A value wrong on its own is pointed at.
    let text = "attempts = 3\nmax = \"60x\"\n";
    let error = toml::from_str::<Policy>(text).unwrap_err();
    assert_eq!(&text[error.span().unwrap()], "\"60x\"");
    let text = "attempts = 0\n";
    assert_eq!(&text[toml::from_str::<Policy>(text).unwrap_err().span().unwrap()], "0");
    let error = serde_json::from_str::<Policy>("{\n  \"max\": \"60x\"\n}").unwrap_err();
    assert_eq!(error.line(), 2);
    assert!(error.to_string().starts_with("invalid value for `max`: unknown duration unit `x` in `60x`"), "{error}");
}

// ---- durations ----

#[test]
fn every_duration_form_of_the_attribute() {
    for (text, expected) in [
        ("250ms", 250 * MS),
        ("2s", 2 * S),
        ("1.5s", 1500 * MS),
        ("1m", MIN),
        ("1h", H),
        ("1m30s", 90 * S),
        ("1m 30s", 90 * S),
        ("1h30m", 90 * MIN),
        ("500us", 500 * US),
        ("500µs", 500 * US),
        ("750ns", 750 * NS),
        (".5s", 500 * MS),
        ("1.s", S),
        ("0.25m", 15 * S),
        ("1.9ns", NS),
        ("1h 2m 3s 4ms 5us 6ns", 3723 * S + 4 * MS + 5 * US + 6 * NS),
        (" 2s ", 2 * S),
        ("5124095h", 5_124_095 * H),
        ("18446744073709551615ns", Duration::from_nanos(u64::MAX)),
    ] {
        let policy: Policy = read(&format!("timeout = \"{text}\""));
        assert_eq!(policy.get_timeout(), Some(expected), "{text:?}");
        let policy: Policy = serde_json::from_str(&format!("{{\"deadline\": \"{text}\"}}")).unwrap();
        assert_eq!(policy.get_deadline(), Some(expected), "{text:?}");
    }
    let policy: Policy = read(r#"min = "0s""#);
    assert_eq!(policy.get_min(), Duration::ZERO);
}

#[test]
fn every_rejected_duration_names_the_problem() {
    const UNITS: &str = "expected a number followed by one of the units `h`, `m`, `s`, `ms`, `us`, `ns`, e.g. `\"250ms\"`, `\"1.5s\"` or `\"1m30s\"`";
    for (text, problem) in [
        ("", format!("empty duration; {UNITS}")),
        ("   ", format!("empty duration; {UNITS}")),
        ("2x", format!("unknown duration unit `x` in `2x`; {UNITS}")),
        ("2sec", format!("unknown duration unit `sec` in `2sec`; {UNITS}")),
        ("1d", format!("unknown duration unit `d` in `1d`; {UNITS}")),
        ("2S", format!("unknown duration unit `S` in `2S`; {UNITS}")),
        ("1e3ms", format!("unknown duration unit `e` in `1e3ms`; {UNITS}")),
        ("-1s", "duration `-1s` is negative; durations count up from zero".to_owned()),
        ("1.2.3s", format!("duration `1.2.3s` has a malformed number `1.2.3`; {UNITS}")),
        (".s", format!("duration `.s` has a malformed number `.`; {UNITS}")),
        ("s", format!("duration `s` has a unit without a number; {UNITS}")),
        ("+1s", format!("duration `+1s` has a unit without a number; {UNITS}")),
        ("10", format!("duration `10` has no unit; {UNITS}")),
        ("1m30", format!("duration `1m30` has no unit; {UNITS}")),
        ("5124096h", "duration `5124096h` is too large; the largest is about 584 years (`\"5124095h\"`)".to_owned()),
        (
            "18446744073709551616ns",
            "duration `18446744073709551616ns` is too large; the largest is about 584 years (`\"5124095h\"`)"
                .to_owned(),
        ),
        (
            "99999999999999999999999h",
            "duration `99999999999999999999999h` is too large; the largest is about 584 years (`\"5124095h\"`)"
                .to_owned(),
        ),
    ] {
        let document = format!("timeout = \"{text}\"");
        let expected = format!("invalid value for `timeout`: {problem}");
        assert_eq!(toml_error::<Policy>(&document), expected, "{text:?}");
        assert_eq!(json_error::<Policy>(&document), expected, "{text:?} as JSON");
    }
}

// ---- values of the wrong kind, unknown names ----

#[test]
fn a_value_of_the_wrong_kind_gets_the_attributes_fix() {
    for (text, message) in [
        (
            "max = 60",
            r#"expected a duration string for `max`, found the integer `60`; durations are strings with a unit: write `max = "60s"` or `max = "60ms"`"#,
        ),
        (
            "min = 1.5",
            r#"expected a duration string for `min`, found the number `1.5`; durations are strings with a unit: write `min = "1.5s"`"#,
        ),
        ("timeout = true", r#"expected a duration string for `timeout`, found `true`; write e.g. `timeout = "30s"`"#),
        (
            r#"attempts = "5""#,
            r#"expected an integer for `attempts`, found the string `"5"`; write `attempts = 5`, without quotes"#,
        ),
        (
            r#"attempts = "many""#,
            r#"expected an integer for `attempts`, found the string `"many"`; write e.g. `attempts = 5`"#,
        ),
        ("attempts = 2.5", "expected an integer for `attempts`, found the number `2.5`; write e.g. `attempts = 5`"),
        (
            r#"factor = "1.5""#,
            r#"expected a number for `factor`, found the string `"1.5"`; write `factor = 1.5`, without quotes"#,
        ),
        (
            "backoff = 1",
            r#"expected a string for `backoff`, found the integer `1`; write one of: `"exp"`, `"fixed"`, `"linear"`, `"fibonacci"`, `"none"`"#,
        ),
        (
            "jitter = false",
            r#"expected a string for `jitter`, found `false`; write one of: `"full"`, `"equal"`, `"decorrelated"`, `"none"`"#,
        ),
        (
            r#"backoff = "expo""#,
            r#"unknown backoff `"expo"`; expected one of: `"exp"`, `"fixed"`, `"linear"`, `"fibonacci"`, `"none"`; did you mean `"exp"`?"#,
        ),
        (
            r#"backoff = "exponential""#,
            r#"unknown backoff `"exponential"`; expected one of: `"exp"`, `"fixed"`, `"linear"`, `"fibonacci"`, `"none"`; did you mean `"exp"`?"#,
        ),
        (
            r#"jitter = "ful""#,
            r#"unknown jitter `"ful"`; expected one of: `"full"`, `"equal"`, `"decorrelated"`, `"none"`; did you mean `"full"`?"#,
        ),
        (
            r#"hint_above_max = "clip""#,
            r#"unknown hint_above_max `"clip"`; expected one of: `"give_up"`, `"clamp"`, `"ignore"`; did you mean `"clamp"`?"#,
        ),
        (
            r#"jitter = "random""#,
            r#"unknown jitter `"random"`; expected one of: `"full"`, `"equal"`, `"decorrelated"`, `"none"`"#,
        ),
    ] {
        assert_eq!(toml_error::<Policy>(text), message, "{text}");
    }
    // JSON's deserializer refuses a string where a number is asked for before the policy
    // sees it; the message still names the key.
    assert_eq!(
        json_error::<Policy>(r#"attempts = "5""#),
        r#"invalid type: string "5", expected an integer for `attempts`, e.g. `attempts = 5`"#
    );
    assert_eq!(
        json_error::<Policy>("max = 60"),
        r#"expected a duration string for `max`, found the integer `60`; durations are strings with a unit: write `max = "60s"` or `max = "60ms"`"#
    );
}

#[test]
fn unknown_fields_are_refused_with_a_did_you_mean() {
    for (text, message) in [
        ("attempt = 5", "unknown field `attempt`; did you mean `attempts`?"),
        (r#"jiter = "none""#, "unknown field `jiter`; did you mean `jitter`?"),
        (r#"timout = "1s""#, "unknown field `timout`; did you mean `timeout`?"),
        // The attribute's aliases, from tenacity, backon and friends.
        ("retries = 5", "unknown field `retries`; did you mean `attempts`?"),
        ("max_attempts = 5", "unknown field `max_attempts`; did you mean `attempts`?"),
        (r#"max_delay = "1s""#, "unknown field `max_delay`; did you mean `max`?"),
        (r#"multiplier = "1s""#, "unknown field `multiplier`; did you mean `base`?"),
        (r#"stop_after_delay = "1m""#, "unknown field `stop_after_delay`; did you mean `deadline`?"),
        ("exp_base = 3", "unknown field `exp_base`; did you mean `factor`?"),
        (
            r#"colour = "red""#,
            "unknown field `colour` in a `Policy`; expected one of: `attempts`, `backoff`, `min`, `base`, `max`, `factor`, `step`, `jitter`, `deadline`, `timeout`, `hint_above_max`",
        ),
        // The attribute's keys that are not part of a policy.
        (
            r#"log = "warn""#,
            "unknown field `log`: `log` is not part of a `Policy`; give it to `#[retry]` or the builder instead",
        ),
        (
            r#"on = "Timeout""#,
            "unknown field `on`: `on` is not part of a `Policy`; give it to `#[retry]` or the builder instead",
        ),
        (
            "breaker = { failures = 5 }",
            "unknown field `breaker`: a `Policy` holds no guards; read the breaker as a `Breaker` of its own and name it with `breaker = …` on `#[retry]` or `.breaker(…)` on the builder",
        ),
    ] {
        assert_eq!(toml_error::<Policy>(text), message, "{text}");
        assert_eq!(json_error::<Policy>(text), message, "{text} as JSON");
    }
}

#[test]
fn a_key_given_twice_is_refused() {
    // TOML refuses it itself; JSON leaves it to the policy.
    let error = serde_json::from_str::<Policy>(r#"{"attempts": 3, "attempts": 4}"#).unwrap_err();
    assert!(error.to_string().starts_with("duplicate field `attempts`"), "{error}");
    assert!(toml::from_str::<Policy>("attempts = 3\nattempts = 4").is_err());
}

#[test]
fn only_a_table_is_a_policy() {
    let error = serde_json::from_str::<Policy>("5").unwrap_err();
    assert!(error.to_string().starts_with("invalid type: integer `5`, expected a retry policy"), "{error}");
}

#[test]
fn backoff_and_jitter_by_the_attributes_names() {
    let backoffs: Vec<Backoff> = serde_json::from_str(r#"["exp", "fixed", "linear", "fibonacci", "none"]"#).unwrap();
    assert_eq!(backoffs, [Backoff::Exponential, Backoff::Fixed, Backoff::Linear, Backoff::Fibonacci, Backoff::None]);
    let jitters: Vec<Jitter> = serde_json::from_str(r#"["full", "equal", "decorrelated", "none"]"#).unwrap();
    assert_eq!(jitters, [Jitter::Full, Jitter::Equal, Jitter::Decorrelated, Jitter::None]);
    // The Rust names are not the attribute's.
    let error = serde_json::from_str::<Backoff>(r#""Exponential""#).unwrap_err();
    assert!(error.to_string().starts_with(r#"unknown backoff `"Exponential"`; expected one of: `"exp"`"#), "{error}");
    let error = serde_json::from_str::<Jitter>(r#""None""#).unwrap_err();
    assert!(error.to_string().contains(r#"did you mean `"none"`?"#), "{error}");
}

// ---- guards ----

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Unavailable,
    TimedOut,
    Open(Option<&'static str>),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ApiError {}

impl From<Open> for ApiError {
    fn from(open: Open) -> Self {
        ApiError::Open(open.breaker())
    }
}

impl From<Elapsed> for ApiError {
    fn from(_: Elapsed) -> Self {
        ApiError::TimedOut
    }
}

/// A client whose policy and guards all come from one file.
#[derive(Deserialize)]
struct Settings {
    retry: Policy,
    breaker: Breaker,
    throttle: Throttle,
    budget: Budget,
}

struct Client {
    settings: Settings,
    calls: AtomicU32,
}

impl Client {
    fn from_file(text: &str) -> Self {
        Client { settings: read(text), calls: AtomicU32::new(0) }
    }

    #[retry(
        policy = self.settings.retry,
        breaker = self.settings.breaker,
        throttle = self.settings.throttle,
        budget = self.settings.budget
    )]
    async fn call(&self, answer: Result<u32, ApiError>) -> Result<u32, ApiError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        answer
    }

    fn calls(&self) -> u32 {
        self.calls.swap(0, Ordering::Relaxed)
    }
}

const CLIENT: &str = r#"
[retry]
attempts = 5
backoff = "fixed"
min = "1s"
max = "1s"

[breaker]
failures = 3
cooldown = "30s"
probes = 2
name = "payments"

[throttle]
per_second = 10

[budget]
max_tokens = 100
ratio = 0.1
"#;

#[tokio::test(start_paused = true)]
async fn a_client_built_from_a_file_retries_throttles_and_opens_its_breaker_after_failures() {
    let client = Client::from_file(CLIENT);
    let sleeps = testing::record_sleeps();
    // The throttle spaces the calls 100ms apart.
    let start = Instant::now();
    for n in 0..3 {
        assert_eq!(client.call(Ok(n)).await, Ok(n));
    }
    assert_eq!(start.elapsed(), 200 * MS);
    assert_eq!(client.calls(), 3);
    // Three failed attempts (`failures = 3`) open the breaker, which ends the retries.
    assert_eq!(client.call(Err(ApiError::Unavailable)).await, Err(ApiError::Unavailable));
    assert_eq!(client.calls(), 3);
    assert_eq!(sleeps.take(), [S, S]);
    assert_eq!(client.settings.breaker.state(), BreakerState::Open);
    // Turned away by name, without a call.
    assert_eq!(client.call(Ok(1)).await, Err(ApiError::Open(Some("payments"))));
    assert_eq!(client.calls(), 0);
    // After the cooldown, two probes (`probes = 2`) may be in flight at once.
    advance(30 * S).await;
    assert_eq!(client.settings.breaker.state(), BreakerState::HalfOpen);
    let first = client.settings.breaker.try_acquire().unwrap();
    let second = client.settings.breaker.try_acquire().unwrap();
    assert!(first.is_probe() && second.is_probe());
    assert!(client.settings.breaker.try_acquire().is_err());
    first.success();
    drop(second);
    assert_eq!(client.settings.breaker.state(), BreakerState::Closed);
    // Each failed attempt took a token from the budget.
    assert_eq!(client.settings.budget.tokens(), 97.0);
}

#[tokio::test(start_paused = true)]
async fn two_clients_from_one_file_share_nothing_but_the_name() {
    let (a, b) = (Client::from_file(CLIENT), Client::from_file(CLIENT));
    let _ = a.call(Err(ApiError::Unavailable)).await;
    assert_eq!(a.settings.breaker.state(), BreakerState::Open);
    assert_eq!(b.settings.breaker.state(), BreakerState::Closed, "each read builds a fresh guard");
    assert_eq!(b.call(Ok(7)).await, Ok(7));
    // The name is leaked once and shared by every breaker read with it.
    let _ = b.call(Err(ApiError::Unavailable)).await;
    let (Err(ea), Err(eb)) = (a.settings.breaker.try_acquire(), b.settings.breaker.try_acquire()) else {
        panic!("both breakers are open");
    };
    assert!(std::ptr::eq(ea.breaker().unwrap(), eb.breaker().unwrap()));
}

#[test]
fn guards_read_equal_the_guards_built() {
    let debug = |x: &dyn fmt::Debug| format!("{x:?}");
    for (text, built) in [
        ("per_second = 10", debug(&Throttle::per_second(10))),
        ("per_minute = 600\nburst = 10", debug(&Throttle::per_minute(600).burst(10))),
        ("burst = 3\nper_second = 1", debug(&Throttle::per_second(1).burst(3))),
    ] {
        assert_eq!(debug(&read::<Throttle>(text)), built, "{text}");
    }
    for (text, built) in [
        (
            r#"failures = 5
            cooldown = "30s""#,
            debug(&Breaker::new(5, 30 * S)),
        ),
        (
            r#"failures = 5
            cooldown = "1m30s"
            probes = 2
            name = "payments"
            hung_after = "10s""#,
            debug(&Breaker::new(5, 90 * S).probes(2).named("payments").hung_after(10 * S)),
        ),
    ] {
        assert_eq!(debug(&read::<Breaker>(text)), built, "{text}");
    }
    for (text, built) in [
        ("max_tokens = 10\nratio = 0.1", debug(&Budget::new(10, 0.1))),
        ("max_tokens = 0\nratio = 1", debug(&Budget::new(0, 1.0))),
    ] {
        assert_eq!(debug(&read::<Budget>(text)), built, "{text}");
    }
    let json: Breaker =
        serde_json::from_str(r#"{"failures": 2, "cooldown": "5s", "name": "feed", "probes": 3}"#).unwrap();
    assert_eq!(debug(&json), debug(&Breaker::new(2, 5 * S).named("feed").probes(3)));
}

#[tokio::test(start_paused = true)]
async fn a_throttle_read_from_a_file_keeps_its_rate_and_burst() {
    let throttle: Throttle = read("per_minute = 600\nburst = 3");
    let start = Instant::now();
    for _ in 0..3 {
        throttle.acquire().await;
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "a burst of three");
    throttle.acquire().await;
    throttle.acquire().await;
    assert_eq!(start.elapsed(), 200 * MS, "then 600 a minute: 100ms apart");
}

#[test]
fn a_budget_read_from_a_file_spends_and_refills_as_built() {
    let budget: Budget = read("max_tokens = 4\nratio = 0.5");
    assert!(budget.record_failure(), "3 left, more than half of 4");
    assert!(!budget.record_failure(), "2 left: not more than half");
    budget.record_success();
    assert_eq!(budget.tokens(), 2.5);
    let never: Budget = read("max_tokens = 0\nratio = 0.1");
    assert!(!never.record_failure(), "max_tokens = 0: no retry ever");
}

static HUNG: LazyLock<Breaker> = LazyLock::new(|| read("failures = 2\ncooldown = \"1m\"\nhung_after = \"5s\""));

#[retry(attempts = 1, breaker = HUNG)]
async fn hangs() -> Result<(), ApiError> {
    tokio::time::sleep(H).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_breaker_read_with_hung_after_counts_abandoned_attempts() {
    for _ in 0..2 {
        assert!(tokio::time::timeout(10 * S, hangs()).await.is_err());
    }
    assert_eq!(HUNG.state(), BreakerState::Open);
}

#[test]
fn guard_settings_are_checked_in_the_same_style() {
    for (text, message) in [
        ("", "missing field `per_second` or `per_minute`: a `Throttle` needs a rate, e.g. `per_second = 10`"),
        ("burst = 2", "missing field `per_second` or `per_minute`: a `Throttle` needs a rate, e.g. `per_second = 10`"),
        (
            "per_second = 10\nper_minute = 600",
            "invalid value for `per_minute`: 600; give either `per_second` or `per_minute`, not both",
        ),
        ("per_second = 0", "invalid value for `per_second`: 0; it must be at least 1"),
        ("per_minute = -5", "invalid value for `per_minute`: -5; it must be at least 1"),
        (
            "per_second = 4294967296",
            "invalid value for `per_second`: 4294967296 is too large; the maximum is 4294967295",
        ),
        ("per_second = 10\nburst = 0", "invalid value for `burst`: 0; it must be at least 1"),
        ("rps = 10", "unknown field `rps`; did you mean `per_second`?"),
        ("per_secnd = 10", "unknown field `per_secnd`; did you mean `per_second`?"),
        ("rate = 10", "unknown field `rate` in a `Throttle`; expected one of: `per_second`, `per_minute`, `burst`"),
    ] {
        assert_eq!(toml_error::<Throttle>(text), message, "{text}");
        assert_eq!(json_error::<Throttle>(text), message, "{text} as JSON");
    }
    assert_eq!(
        toml_error::<Throttle>(r#"per_second = "10""#),
        r#"expected an integer for `per_second`, found the string `"10"`; write `per_second = 10`, without quotes"#
    );
    for (text, message) in [
        (r#"cooldown = "30s""#, "missing field `failures`"),
        ("failures = 5", "missing field `cooldown`"),
        ("failures = 0\ncooldown = \"30s\"", "invalid value for `failures`: 0; it must be at least 1"),
        ("failures = 5\ncooldown = \"30s\"\nprobes = 0", "invalid value for `probes`: 0; it must be at least 1"),
        ("failures = 5\ncooldown = \"0s\"", r#"invalid value for `cooldown`: "0s"; it must be greater than zero"#),
        (
            "failures = 5\ncooldown = \"30s\"\nhung_after = \"0ms\"",
            r#"invalid value for `hung_after`: "0ms"; it must be greater than zero"#,
        ),
        (
            "failures = 5\ncooldown = \"30 seconds\"",
            "invalid value for `cooldown`: unknown duration unit `seconds` in `30 seconds`; expected a number followed by one of the units `h`, `m`, `s`, `ms`, `us`, `ns`, e.g. `\"250ms\"`, `\"1.5s\"` or `\"1m30s\"`",
        ),
        (
            "failures = 5\ncooldown = 30",
            r#"expected a duration string for `cooldown`, found the integer `30`; durations are strings with a unit: write `cooldown = "30s"` or `cooldown = "30ms"`"#,
        ),
        (
            "failures = 5\ncooldown = \"30s\"\nname = 7",
            r#"expected a string for `name`, found the integer `7`; write e.g. `name = "payments"`"#,
        ),
        ("failure_threshold = 5", "unknown field `failure_threshold`; did you mean `failures`?"),
        (r#"wait_duration_in_open_state = "30s""#, "unknown field `wait_duration_in_open_state`; did you mean `cooldown`?"),
        (r#"cooldwn = "30s""#, "unknown field `cooldwn`; did you mean `cooldown`?"),
        (
            "state = 1",
            "unknown field `state` in a `Breaker`; expected one of: `failures`, `cooldown`, `probes`, `name`, `hung_after`",
        ),
    ] {
        assert_eq!(toml_error::<Breaker>(text), message, "{text}");
        assert_eq!(json_error::<Breaker>(text), message, "{text} as JSON");
    }
    for (text, message) in [
        ("ratio = 0.1", "missing field `max_tokens`"),
        ("max_tokens = 10", "missing field `ratio`"),
        (
            "max_tokens = -1\nratio = 0.1",
            "invalid value for `max_tokens`: -1; it cannot be negative (0 means no retry ever)",
        ),
        (
            "max_tokens = 10\nratio = 0",
            "invalid value for `ratio`: 0; it must be a finite number of at least 0.001 (each success gives back `ratio` of a token, kept to three decimals)",
        ),
        (
            "max_tokens = 10\nratio = -0.1",
            "invalid value for `ratio`: -0.1; it must be a finite number of at least 0.001 (each success gives back `ratio` of a token, kept to three decimals)",
        ),
        ("token_ratio = 0.1", "unknown field `token_ratio`; did you mean `ratio`?"),
        ("maxTokens = 10", "unknown field `maxTokens`; did you mean `max_tokens`?"),
    ] {
        assert_eq!(toml_error::<Budget>(text), message, "{text}");
        assert_eq!(json_error::<Budget>(text), message, "{text} as JSON");
    }
    assert_eq!(
        toml_error::<Budget>("max_tokens = 10\nratio = nan"),
        "invalid value for `ratio`: NaN; it must be a finite number of at least 0.001 (each success gives back `ratio` of a token, kept to three decimals)"
    );
}
