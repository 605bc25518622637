//! Duration strings at run time: `"250ms"`, `"2s"`, `"1.5s"`, `"1m30s"`, the grammar of the
//! attribute's duration keys, for durations that arrive as text (a config file, an
//! environment variable).
//!
//! `retry-macros/src/duration.rs` parses the same grammar at compile time. A proc-macro crate
//! cannot share code with the runtime it expands to, so each crate has its own parser, and
//! the tests on both sides pin the same table of accepted and refused strings, values and
//! messages. Change them together.

use std::fmt;
use std::time::Duration;

/// The accepted units, largest first, with their length in nanoseconds.
const UNITS: &[(&str, u128)] = &[
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("µs", 1_000),
    ("ns", 1),
];

const EXPECTED: &str = "expected a number followed by one of the units `h`, `m`, `s`, `ms`, `us`, `ns`, e.g. `\"250ms\"`, `\"1.5s\"` or `\"1m30s\"`";

/// Parses a duration written as `#[retry(...)]` writes one: `"250ms"`, `"2s"`, `"1.5s"`,
/// `"1m30s"`, `"1h"`, `"500us"`.
///
/// ```
/// use std::time::Duration;
/// use steadfast::policy::parse_duration;
///
/// assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
///
/// // A timeout from the environment, with the attribute's default when it is unset.
/// let timeout = match std::env::var("PAYMENTS_TIMEOUT") {
///     Ok(text) => parse_duration(&text)?,
///     Err(_) => Duration::from_secs(30),
/// };
/// # assert_eq!(timeout, Duration::from_secs(30));
///
/// let error = parse_duration("2 sec").unwrap_err();
/// assert_eq!(error.input(), "2 sec");
/// assert!(error.to_string().starts_with("unknown duration unit `sec` in `2 sec`; expected a number"));
/// # Ok::<(), steadfast::policy::DurationError>(())
/// ```
///
/// The grammar: one or more terms, each a number (digits with at most one `.`, no sign or
/// exponent) and a unit: `h`, `m`, `s`, `ms`, `us` (or `µs`), `ns`. Whitespace is allowed
/// around the whole and between and inside terms (`"1m 30s"`, `"2 s"`). Terms add up in any
/// order, repeats included (`"30s1m"` and `"1h1h"` are accepted). Fractions finer than a
/// nanosecond are truncated. The total must fit in a `u64` of nanoseconds (about 584
/// years), which is what the retry loop computes in.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let fail = |problem| Err(DurationError { input: text.into(), problem });
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return fail(Problem::Empty);
    }
    if trimmed.starts_with('-') {
        return fail(Problem::Negative);
    }
    let is_number = |c: char| c.is_ascii_digit() || c == '.';
    let mut rest = trimmed;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (number, after) = rest.split_at(rest.find(|c| !is_number(c)).unwrap_or(rest.len()));
        let (unit, after) = after.split_at(after.find(is_number).unwrap_or(after.len()));
        let unit = unit.trim();
        // The macro's order of checks, so that a string with two problems names the same one.
        if number.is_empty() {
            return fail(Problem::NoNumber);
        }
        if unit.is_empty() {
            return fail(Problem::NoUnit);
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return fail(Problem::UnknownUnit(unit.into()));
        };
        if number == "." || number.matches('.').count() > 1 {
            return fail(Problem::Malformed(number.into()));
        }
        match scaled(number, scale).and_then(|nanos| total.checked_add(nanos)) {
            Some(sum) => total = sum,
            None => return fail(Problem::TooLarge),
        }
        rest = after.trim_start();
    }
    match u64::try_from(total) {
        Ok(nanos) => Ok(Duration::from_nanos(nanos)),
        Err(_) => fail(Problem::TooLarge),
    }
}

/// `number` (digits with at most one `.`) times `scale` nanoseconds, truncated to whole
/// nanoseconds; `None` on overflow.
fn scaled(number: &str, scale: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut nanos = whole.checked_mul(scale)?;
    let mut place = scale;
    for digit in fraction.chars() {
        place /= 10;
        nanos = nanos.checked_add(u128::from(digit.to_digit(10)?) * place)?;
    }
    Some(nanos)
}

/// A string [`parse_duration`] refused. Its message names the string and says what is
/// expected, in the words `#[retry(...)]` uses for the same mistake.
///
/// ```
/// use steadfast::policy::parse_duration;
///
/// let error = parse_duration("-1s").unwrap_err();
/// assert_eq!(error.to_string(), "duration `-1s` is negative; durations count up from zero");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    input: Box<str>,
    problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Empty,
    Negative,
    NoNumber,
    NoUnit,
    UnknownUnit(Box<str>),
    Malformed(Box<str>),
    TooLarge,
}

impl DurationError {
    /// The refused string, as it was given.
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = &self.input;
        match &self.problem {
            Problem::Empty => write!(f, "empty duration; {EXPECTED}"),
            Problem::Negative => write!(f, "duration `{text}` is negative; durations count up from zero"),
            Problem::NoNumber => write!(f, "duration `{text}` has a unit without a number; {EXPECTED}"),
            Problem::NoUnit => write!(f, "duration `{text}` has no unit; {EXPECTED}"),
            Problem::UnknownUnit(unit) => write!(f, "unknown duration unit `{unit}` in `{text}`; {EXPECTED}"),
            Problem::Malformed(number) => {
                write!(f, "duration `{text}` has a malformed number `{number}`; {EXPECTED}")
            }
            Problem::TooLarge => {
                write!(f, "duration `{text}` is too large; the largest is about 584 years (`\"5124095h\"`)")
            }
        }
    }
}

impl std::error::Error for DurationError {}

/// `d` as a string [`parse_duration`] reads back exactly: whole hours and minutes, then
/// seconds with their fraction (`"1h"`, `"1m30s"`, `"1.5s"`, `"2m0.25s"`); below a second, one
/// number of `ms`, `us` or `ns` (`"250ms"`, `"1.5ms"`, `"750ns"`). Zero parts are left out;
/// zero is `"0s"`. A duration the parser would refuse (above `u64::MAX` nanoseconds) is
/// that refusal.
#[cfg_attr(not(feature = "serde"), allow(dead_code))]
pub(crate) fn format_duration(d: Duration) -> Result<String, DurationError> {
    let text = if d.is_zero() {
        "0s".to_owned()
    } else if d.as_secs() == 0 {
        let nanos = d.subsec_nanos();
        let (scale, unit) = match nanos {
            0..1_000 => (1, "ns"),
            1_000..1_000_000 => (1_000, "us"),
            _ => (1_000_000, "ms"),
        };
        decimal(u64::from(nanos / scale), nanos % scale, scale, unit)
    } else {
        let secs = d.as_secs();
        let mut text = String::new();
        for (amount, unit) in [(secs / 3600, "h"), (secs / 60 % 60, "m")] {
            if amount > 0 {
                text.push_str(&format!("{amount}{unit}"));
            }
        }
        if secs % 60 > 0 || d.subsec_nanos() > 0 {
            text.push_str(&decimal(secs % 60, d.subsec_nanos(), 1_000_000_000, "s"));
        }
        text
    };
    if d.as_nanos() > u128::from(u64::MAX) {
        return Err(DurationError { input: text.into(), problem: Problem::TooLarge });
    }
    Ok(text)
}

/// `whole.fraction` of `unit`, where `fraction` counts `1/scale` of it, without trailing zeros.
fn decimal(whole: u64, fraction: u32, scale: u32, unit: &str) -> String {
    if fraction == 0 {
        return format!("{whole}{unit}");
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}{unit}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const S: Duration = Duration::from_secs(1);

    fn ok(text: &str) -> Duration {
        parse_duration(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    // What each form means. Whether the macro agrees is `retry-macros`' test; this one pins
    // the values, so that both parsers cannot drift together into a wrong answer.
    #[test]
    fn accepted_forms() {
        for (text, expected) in [
            ("250ms", 250 * MS),
            ("2s", 2 * S),
            ("1.5s", 1500 * MS),
            ("1m", 60 * S),
            ("1h", 3600 * S),
            ("1m30s", 90 * S),
            ("1m 30s", 90 * S),
            ("2 s", 2 * S),
            ("  2s\t", 2 * S),
            ("500us", Duration::from_micros(500)),
            ("500µs", Duration::from_micros(500)),
            ("750ns", Duration::from_nanos(750)),
            ("0s", Duration::ZERO),
            (".5s", 500 * MS),
            ("1.s", S),
            ("007s", 7 * S),
            ("1.5ms", Duration::from_micros(1500)),
            ("0.25m", 15 * S),
            ("1h 2m 3s 4ms 5us 6ns", Duration::new(3723, 4_005_006)),
            ("30s1m", 90 * S),
            ("1h1h", 7200 * S),
            ("1.9ns", Duration::from_nanos(1)),
            ("5124095h", Duration::from_secs(5_124_095 * 3600)),
            ("18446744073709551615ns", Duration::from_nanos(u64::MAX)),
            ("18446744073.709551615s", Duration::from_nanos(u64::MAX)),
        ] {
            assert_eq!(ok(text), expected, "{text:?}");
        }
    }

    #[test]
    fn every_refusal_names_the_input_and_what_is_expected() {
        let expected = "expected a number followed by one of the units `h`, `m`, `s`, `ms`, `us`, `ns`, e.g. `\"250ms\"`, `\"1.5s\"` or `\"1m30s\"`";
        for (text, message) in [
            ("", format!("empty duration; {expected}")),
            ("  ", format!("empty duration; {expected}")),
            ("2", format!("duration `2` has no unit; {expected}")),
            ("1m30", format!("duration `1m30` has no unit; {expected}")),
            ("s", format!("duration `s` has a unit without a number; {expected}")),
            ("+1s", format!("duration `+1s` has a unit without a number; {expected}")),
            ("2x", format!("unknown duration unit `x` in `2x`; {expected}")),
            ("2 sec", format!("unknown duration unit `sec` in `2 sec`; {expected}")),
            ("2S", format!("unknown duration unit `S` in `2S`; {expected}")),
            ("1e3ms", format!("unknown duration unit `e` in `1e3ms`; {expected}")),
            ("1.2.3s", format!("duration `1.2.3s` has a malformed number `1.2.3`; {expected}")),
            (".s", format!("duration `.s` has a malformed number `.`; {expected}")),
            ("-1s", "duration `-1s` is negative; durations count up from zero".to_owned()),
            (" -1s", "duration ` -1s` is negative; durations count up from zero".to_owned()),
        ] {
            let error = parse_duration(text).expect_err(text);
            assert_eq!(error.to_string(), message, "{text:?}");
            assert_eq!(error.input(), text);
        }
        for text in ["5124096h", "99999999999999999999h", "18446744073709551616ns", "18446744073709551615ns 1ns"] {
            assert_eq!(
                parse_duration(text).unwrap_err().to_string(),
                format!("duration `{text}` is too large; the largest is about 584 years (`\"5124095h\"`)")
            );
        }
    }

    #[test]
    fn formats_in_the_largest_units_first() {
        for (d, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(750), "750ns"),
            (Duration::from_nanos(1_500), "1.5us"),
            (Duration::from_micros(500), "500us"),
            (250 * MS, "250ms"),
            (Duration::from_micros(1_500), "1.5ms"),
            (Duration::from_nanos(999_999_999), "999.999999ms"),
            (S, "1s"),
            (1500 * MS, "1.5s"),
            (60 * S, "1m"),
            (90 * S, "1m30s"),
            (Duration::new(120, 250_000_000), "2m0.25s"),
            (3600 * S, "1h"),
            (Duration::new(3601, 1), "1h1.000000001s"),
            (5400 * S, "1h30m"),
            (Duration::from_nanos(u64::MAX), "5124095h34m33.709551615s"),
        ] {
            assert_eq!(format_duration(d).as_deref(), Ok(text), "{d:?}");
        }
    }

    #[test]
    fn a_duration_past_the_grammar_is_refused_by_name() {
        let error = format_duration(Duration::from_nanos(u64::MAX) + Duration::from_nanos(1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "duration `5124095h34m33.709551616s` is too large; the largest is about 584 years (`\"5124095h\"`)"
        );
        assert!(format_duration(Duration::MAX).is_err());
    }

    proptest! {
        #[test]
        fn every_duration_round_trips_through_its_string(nanos in any::<u64>()) {
            let d = Duration::from_nanos(nanos);
            let text = format_duration(d).unwrap();
            prop_assert_eq!(parse_duration(&text), Ok(d), "{}", text);
        }

        #[test]
        fn no_string_panics(text in "\\PC{0,24}") {
            let _ = parse_duration(&text);
        }
    }
}
