use std::time::{Duration, SystemTime};

use ::http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;

use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn hint(pairs: &[(&'static str, &str)]) -> Option<Duration> {
    retry_after(&headers(pairs))
}

#[test]
fn transient_statuses() {
    let transient: Vec<u16> = (100..=999).filter(|&s| is_transient(StatusCode::from_u16(s).unwrap())).collect();
    let expected: Vec<u16> = [408, 409, 429].into_iter().chain(500..=599).collect();
    assert_eq!(transient, expected);
}

#[test]
fn should_retry_lets_the_server_decide() {
    let none = HeaderMap::new();
    assert!(should_retry(StatusCode::TOO_MANY_REQUESTS, &none));
    assert!(!should_retry(StatusCode::NOT_FOUND, &none));
    assert!(should_retry(StatusCode::NOT_FOUND, &headers(&[("x-should-retry", "true")])));
    assert!(should_retry(StatusCode::NOT_FOUND, &headers(&[("x-should-retry", " TRUE ")])));
    assert!(!should_retry(StatusCode::SERVICE_UNAVAILABLE, &headers(&[("x-should-retry", "false")])));
    // Anything else leaves it to the status.
    assert!(should_retry(StatusCode::SERVICE_UNAVAILABLE, &headers(&[("x-should-retry", "maybe")])));
    assert!(!should_retry(StatusCode::BAD_REQUEST, &headers(&[("x-should-retry", "1")])));
}

#[test]
fn delta_seconds() {
    assert_eq!(hint(&[("retry-after", "120")]), Some(Duration::from_secs(120)));
    assert_eq!(hint(&[("retry-after", " 7 ")]), Some(Duration::from_secs(7)));
    assert_eq!(hint(&[("retry-after", "1.5")]), Some(Duration::from_millis(1500)));
    assert_eq!(hint(&[("retry-after", "0.000000001")]), Some(Duration::from_nanos(1)));
    assert_eq!(hint(&[("retry-after", "00042")]), Some(Duration::from_secs(42)));
    assert_eq!(hint(&[("retry-after", "86400")]), Some(MAX_RETRY_AFTER));
}

#[test]
fn milliseconds_win_over_seconds() {
    assert_eq!(hint(&[("retry-after-ms", "250"), ("retry-after", "9")]), Some(Duration::from_millis(250)));
    assert_eq!(hint(&[("retry-after-ms", "0.5")]), Some(Duration::from_micros(500)));
    assert_eq!(hint(&[("retry-after-ms", "1.0000019")]), Some(Duration::from_nanos(1_000_001)));
    // A malformed `retry-after-ms` falls back to `retry-after`.
    assert_eq!(hint(&[("retry-after-ms", "soon"), ("retry-after", "9")]), Some(Duration::from_secs(9)));
    // A well-formed one decides, even when it is no usable hint.
    assert_eq!(hint(&[("retry-after-ms", "0"), ("retry-after", "9")]), None);
}

#[test]
fn garbage_negative_non_finite_and_absurd_give_none() {
    for bad in [
        "",
        " ",
        "-1",
        "+1",
        "1e3",
        "inf",
        "NaN",
        "infinity",
        "1.",
        ".5",
        "1.2.3",
        "0x10",
        "1 2",
        "0",
        "0.0",
        "1700000000",
        "99999999999999999999999999999999999999999999",
    ] {
        assert_eq!(hint(&[("retry-after", bad)]), None, "retry-after: {bad:?}");
        assert_eq!(hint(&[("retry-after-ms", bad)]), None, "retry-after-ms: {bad:?}");
    }
    for absurd in ["86400.000000001", "86401"] {
        assert_eq!(hint(&[("retry-after", absurd)]), None, "retry-after: {absurd:?}");
    }
    for absurd in ["86400000.000001", "86400001"] {
        assert_eq!(hint(&[("retry-after-ms", absurd)]), None, "retry-after-ms: {absurd:?}");
    }
    let mut map = HeaderMap::new();
    map.insert("retry-after", HeaderValue::from_bytes(b"\xff5").unwrap());
    assert_eq!(retry_after(&map), None);
    assert_eq!(retry_after(&HeaderMap::new()), None);
}

#[test]
fn http_dates_are_measured_against_the_wall_clock() {
    let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
    let at = |value: &str| retry_after_at(&headers(&[("retry-after", value)]), || now);
    assert_eq!(at("Sun, 06 Nov 1994 08:51:37 GMT"), Some(Duration::from_secs(120)));
    // The two obsolete forms RFC 9110 still asks recipients to accept.
    assert_eq!(at("Sunday, 06-Nov-94 08:50:37 GMT"), Some(Duration::from_secs(60)));
    assert_eq!(at("Sun Nov  6 08:49:47 1994"), Some(Duration::from_secs(10)));
    // Now or past: no hint. More than a day ahead: absurd.
    assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMT"), None);
    assert_eq!(at("Sat, 05 Nov 1994 08:49:37 GMT"), None);
    assert_eq!(at("Mon, 07 Nov 1994 08:49:38 GMT"), None);
    assert_eq!(at("Mon, 07 Nov 1994 08:49:37 GMT"), Some(MAX_RETRY_AFTER));
    assert_eq!(at("Sun, 06 Nov 1994 25:49:37 GMT"), None);
}

#[test]
fn the_wall_clock_is_read_only_for_a_date() {
    let panics = || -> SystemTime { panic!("read the clock") };
    assert_eq!(retry_after_at(&headers(&[("retry-after", "3")]), panics), Some(Duration::from_secs(3)));
    assert_eq!(retry_after_at(&headers(&[("retry-after", "x")]), panics), None);
}

/// Renders `nanos` as a decimal number of `unit` nanoseconds with exactly `places` digits
/// after the point.
fn render(nanos: u64, unit: u64, places: u32) -> String {
    let fraction = nanos % unit / (unit / 10u64.pow(places));
    if places == 0 {
        format!("{}", nanos / unit)
    } else {
        format!("{}.{:0width$}", nanos / unit, fraction, width = places as usize)
    }
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(
        ms in proptest::collection::vec(any::<u8>(), 0..40),
        secs in proptest::collection::vec(any::<u8>(), 0..40),
        should in proptest::collection::vec(any::<u8>(), 0..10),
        status in 100u16..1000,
    ) {
        let mut map = HeaderMap::new();
        for (name, bytes) in [("retry-after-ms", &ms), ("retry-after", &secs), ("x-should-retry", &should)] {
            if let Ok(value) = HeaderValue::from_bytes(bytes) {
                map.insert(name, value);
            }
        }
        if let Some(hint) = retry_after(&map) {
            prop_assert!(!hint.is_zero() && hint <= MAX_RETRY_AFTER);
        }
        should_retry(StatusCode::from_u16(status).unwrap(), &map);
    }

    #[test]
    fn never_panics_on_number_and_date_lookalikes(value in "[0-9 .,:+-]{0,30}|[A-Za-z]{3}, [0-9]{1,3} [A-Za-z]{3} [0-9]{1,5} [0-9:]{1,9} GMT") {
        retry_after(&headers(&[("retry-after", &value)]));
        retry_after(&headers(&[("retry-after-ms", &value)]));
    }

    #[test]
    fn milliseconds_round_trip(nanos in 1u64..=86_400_000_000_000, places in 0u32..=6) {
        let rendered = render(nanos, 1_000_000, places);
        let kept = nanos - nanos % (1_000_000 / 10u64.pow(places));
        let expected = (kept > 0).then(|| Duration::from_nanos(kept));
        prop_assert_eq!(hint(&[("retry-after-ms", &rendered)]), expected);
    }

    #[test]
    fn seconds_round_trip(nanos in 1u64..=86_400_000_000_000, places in 0u32..=9) {
        let rendered = render(nanos, 1_000_000_000, places);
        let kept = nanos - nanos % (1_000_000_000 / 10u64.pow(places));
        let expected = (kept > 0).then(|| Duration::from_nanos(kept));
        prop_assert_eq!(hint(&[("retry-after", &rendered)]), expected);
    }

    #[test]
    fn dates_round_trip(now_secs in 0u64..=4_000_000_000, ahead in 1u64..=86_400) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(now_secs);
        let date = httpdate::fmt_http_date(now + Duration::from_secs(ahead));
        let got = retry_after_at(&headers(&[("retry-after", &date)]), || now);
        prop_assert_eq!(got, Some(Duration::from_secs(ahead)));
    }

    #[test]
    fn seconds_and_milliseconds_agree(secs in 1u64..=86_400) {
        prop_assert_eq!(
            hint(&[("retry-after", &secs.to_string())]),
            hint(&[("retry-after-ms", &(secs * 1000).to_string())]),
        );
    }
}
