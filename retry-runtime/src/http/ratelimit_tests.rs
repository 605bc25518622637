use std::time::{Duration, SystemTime};

use ::http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

use super::*;

/// 2026-12-07T08:00:00Z, the wall clock of the Anthropic cases.
fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_630_400)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn limits(pairs: &[(&'static str, &str)]) -> RateLimits {
    rate_limits_at(&headers(pairs), now)
}

fn quota(limit: Option<u64>, remaining: Option<u64>, reset: Option<Duration>) -> Quota {
    Quota { limit, remaining, reset }
}

#[test]
fn openai_headers() {
    let l = limits(&[
        ("x-ratelimit-limit-requests", "60"),
        ("x-ratelimit-remaining-requests", "59"),
        ("x-ratelimit-reset-requests", "1s"),
        ("x-ratelimit-limit-tokens", "150000"),
        ("x-ratelimit-remaining-tokens", "149984"),
        ("x-ratelimit-reset-tokens", "6m0s"),
    ]);
    assert_eq!(l.requests, quota(Some(60), Some(59), Some(Duration::from_secs(1))));
    assert_eq!(l.tokens, quota(Some(150_000), Some(149_984), Some(Duration::from_secs(360))));
    assert!(l.input_tokens.is_unknown() && l.output_tokens.is_unknown());
    assert!(!l.is_empty());
}

#[test]
fn go_durations() {
    let cases: &[(&str, Option<Duration>)] = &[
        ("0", Some(Duration::ZERO)),
        ("0s", Some(Duration::ZERO)),
        ("1s", Some(Duration::from_secs(1))),
        ("1.5s", Some(Duration::from_millis(1500))),
        ("12ms", Some(Duration::from_millis(12))),
        ("20ms", Some(Duration::from_millis(20))),
        ("6m0s", Some(Duration::from_secs(360))),
        ("1h2m3.5s", Some(Duration::from_millis(3_723_500))),
        ("2h45m", Some(Duration::from_secs(9900))),
        ("300us", Some(Duration::from_micros(300))),
        ("300\u{b5}s", Some(Duration::from_micros(300))),
        ("300\u{3bc}s", Some(Duration::from_micros(300))),
        ("7ns", Some(Duration::from_nanos(7))),
        (".5s", Some(Duration::from_millis(500))),
        ("1.s", Some(Duration::from_secs(1))),
        ("+2s", Some(Duration::from_secs(2))),
        ("1.0000000019s", Some(Duration::from_nanos(1_000_000_001))),
        ("", None),
        ("s", None),
        (".s", None),
        ("1", None),
        ("1x", None),
        ("1.2.3s", None),
        ("-1s", None),
        ("1s-", None),
        ("1 s", None),
        ("ms12", None),
    ];
    for (text, expected) in cases {
        assert_eq!(go_duration(text), *expected, "{text:?}");
    }
}

#[test]
fn resets_as_bare_seconds_and_bounds() {
    let reset = |v: &str| limits(&[("x-ratelimit-reset-requests", v)]).requests.reset;
    assert_eq!(reset(" 17 "), Some(Duration::from_secs(17)));
    assert_eq!(reset("0.25"), Some(Duration::from_millis(250)));
    assert_eq!(reset("24h"), Some(MAX_RETRY_AFTER));
    // Past a day is a mistake, not a reset.
    assert_eq!(reset("24h0m1s"), None);
    assert_eq!(reset("99999999999999999999999h"), None);
    assert_eq!(reset("1."), None);
    assert_eq!(reset("soon"), None);
}

#[test]
fn azure_unknowns_and_garbage_are_absent() {
    let l = limits(&[
        ("x-ratelimit-limit-requests", "0"),
        ("x-ratelimit-remaining-requests", "-1"),
        ("x-ratelimit-limit-tokens", "-1"),
        ("x-ratelimit-remaining-tokens", "0"),
        ("x-ratelimit-reset-tokens", "garbage"),
    ]);
    assert!(l.requests.is_unknown());
    // A remaining count of zero is real: the window is spent.
    assert_eq!(l.tokens, quota(None, Some(0), None));
    let l =
        limits(&[("x-ratelimit-limit-requests", "1e3"), ("x-ratelimit-remaining-requests", "18446744073709551616")]);
    assert!(l.is_empty());
    assert!(limits(&[]).is_empty());
}

#[test]
fn anthropic_headers() {
    let l = limits(&[
        ("anthropic-ratelimit-requests-limit", "50"),
        ("anthropic-ratelimit-requests-remaining", "49"),
        ("anthropic-ratelimit-requests-reset", "2026-12-07T08:00:01Z"),
        ("anthropic-ratelimit-tokens-limit", "80000"),
        ("anthropic-ratelimit-tokens-remaining", "79000"),
        // The same instant with an offset, and with a fraction.
        ("anthropic-ratelimit-tokens-reset", "2026-12-07T09:00:30.5+01:00"),
        ("anthropic-ratelimit-input-tokens-limit", "40000"),
        ("anthropic-ratelimit-input-tokens-remaining", "39500"),
        ("anthropic-ratelimit-input-tokens-reset", "2026-12-07T07:59:00Z"),
        ("anthropic-ratelimit-output-tokens-limit", "8000"),
        ("anthropic-ratelimit-output-tokens-remaining", "7500"),
        ("anthropic-ratelimit-output-tokens-reset", "tomorrow"),
    ]);
    assert_eq!(l.requests, quota(Some(50), Some(49), Some(Duration::from_secs(1))));
    assert_eq!(l.tokens, quota(Some(80_000), Some(79_000), Some(Duration::from_millis(30_500))));
    // A reset already past: full now.
    assert_eq!(l.input_tokens, quota(Some(40_000), Some(39_500), Some(Duration::ZERO)));
    assert_eq!(l.output_tokens, quota(Some(8000), Some(7500), None));
}

#[test]
fn ietf_fields() {
    let l = limits(&[("ratelimit-policy", "\"default\";q=100;w=60"), ("ratelimit", "\"default\";r=42;t=17")]);
    assert_eq!(l.requests, quota(Some(100), Some(42), Some(Duration::from_secs(17))));
    // Two policies: the one leaving the lower rate decides; one counting bytes is not ours.
    let l = limits(&[
        ("ratelimit-policy", "\"burst\";q=100;w=60, \"day\";q=1000;w=86400, \"bytes\";q=10;w=1;qu=\"content-bytes\""),
        ("ratelimit", "\"burst\";r=50;t=30, \"day\";r=20;t=3600, \"bytes\";r=0;t=1"),
    ]);
    assert_eq!(l.requests, quota(Some(1000), Some(20), Some(Duration::from_secs(3600))));
    // Without a policy the limit is unknown; a malformed field is ignored.
    assert_eq!(
        limits(&[("ratelimit", "\"default\";r=5;t=2")]).requests,
        quota(None, Some(5), Some(Duration::from_secs(2)))
    );
    assert!(limits(&[("ratelimit", "\"default\";r=-5;t=2")]).is_empty());
    assert!(limits(&[("ratelimit", "limit=100, remaining=42, reset=17")]).is_empty());
    assert!(limits(&[("ratelimit", "((")]).is_empty());
}

#[test]
fn openai_wins_over_the_others() {
    let l = limits(&[
        ("x-ratelimit-remaining-requests", "7"),
        ("anthropic-ratelimit-requests-remaining", "8"),
        ("anthropic-ratelimit-requests-limit", "9"),
        ("ratelimit", "\"default\";r=1;t=1"),
    ]);
    assert_eq!(l.requests, quota(Some(9), Some(7), Some(Duration::from_secs(1))));
}

proptest! {
    /// What Go's `Duration.String()` prints parses back to the same duration.
    #[test]
    fn go_duration_round_trip(h in 0u64..24, m in 0u64..60, s in 0u64..60, nanos in 0u32..1_000_000_000) {
        let duration = Duration::new(h * 3600 + m * 60 + s, nanos);
        let mut text = String::new();
        if h > 0 {
            text.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            text.push_str(&format!("{m}m"));
        }
        let fraction = format!("{nanos:09}");
        let fraction = fraction.trim_end_matches('0');
        text.push_str(&format!("{s}{}{fraction}s", if fraction.is_empty() { "" } else { "." }));
        prop_assert_eq!(go_duration(&text), Some(duration), "{}", text);
    }

    /// Sub-second forms (`12ms`, `300us`, `7ns`) as Go prints them.
    #[test]
    fn go_duration_small_units(n in 1u64..1000, unit in 0usize..3) {
        let (suffix, nanos) = [("ms", 1_000_000), ("us", 1_000), ("ns", 1)][unit];
        prop_assert_eq!(go_duration(&format!("{n}{suffix}")), Some(Duration::from_nanos(n * nanos)));
    }

    /// Counts round-trip; anything with a sign or a non-digit is absent.
    #[test]
    fn counts(n in any::<u64>(), junk in "[-+a-z.]{1,3}") {
        let l = limits(&[("x-ratelimit-remaining-tokens", &n.to_string()), ("x-ratelimit-limit-tokens", &format!("{n}{junk}"))]);
        prop_assert_eq!(l.tokens.remaining, Some(n));
        prop_assert_eq!(l.tokens.limit, None);
    }

    /// An RFC 3339 reset `secs` after now, written with any offset, is `secs` away.
    #[test]
    fn anthropic_resets(secs in 0u64..86_400, offset_minutes in -720i32..=720) {
        let at = time::OffsetDateTime::from(now() + Duration::from_secs(secs))
            .to_offset(time::UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap());
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
            at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute(), at.second(),
            if offset_minutes < 0 { '-' } else { '+' }, offset_minutes.abs() / 60, offset_minutes.abs() % 60,
        );
        let l = limits(&[("anthropic-ratelimit-tokens-reset", &text)]);
        prop_assert_eq!(l.tokens.reset, Some(Duration::from_secs(secs)), "{}", text);
    }

    /// The IETF fields round-trip for any values.
    #[test]
    fn ietf_round_trip(q in 1u64..1_000_000, r in 0u64..1_000_000, t in 0u64..86_400) {
        let l = limits(&[
            ("ratelimit-policy", &format!("\"p\";q={q};w=60")),
            ("ratelimit", &format!("\"p\";r={r};t={t}")),
        ]);
        prop_assert_eq!(l.requests, quota(Some(q), Some(r), Some(Duration::from_secs(t))));
    }

    /// Whatever bytes a header holds, reading it does not panic.
    #[test]
    fn never_panics(value in proptest::collection::vec(any::<u8>(), 0..40), which in 0usize..8) {
        let name = [
            "x-ratelimit-reset-requests", "x-ratelimit-limit-tokens", "anthropic-ratelimit-tokens-reset",
            "anthropic-ratelimit-requests-remaining", "ratelimit", "ratelimit-policy",
            "x-ratelimit-remaining-requests", "anthropic-ratelimit-output-tokens-limit",
        ][which];
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            let mut map = HeaderMap::new();
            map.insert(name, value.clone());
            map.insert("ratelimit", value);
            let _ = rate_limits_at(&map, now);
        }
    }

    /// Strings made of a Go duration's characters never panic.
    #[test]
    fn go_duration_garbage(text in "[0-9.hmsun\u{b5}+-]{0,16}") {
        let _ = go_duration(&text);
    }
}
